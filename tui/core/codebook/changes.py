"""Open coding: the changes coders make to the codebook while coding, folded over the codebook file.

A change is one event in the project's log (kinds below; `code_id` is the node changed, `value` a JSON
object). The effective codebook is the file plus every change that stands, applied in (time, id)
order. The fold is deterministic, so two projects holding the same events build the same codebook;
a change that no longer fits (its code was merged away, its key was taken by the other coder's new
code) is skipped or adjusted the same way everywhere, and said so in the history.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tui.core.codebook.change_rules import (
    ID_SYNTAX,
    PALETTE,
    ChangeRefused,
    check_key,
    clean_aliases,
    clean_definition,
    clean_name,
    clean_severity,
    new_node_id,
    propose_key,
)
from tui.core.codebook.model import UNPLACED, UNPLACED_DATA, UNPLACED_KEY, Category, Code, Codebook, CodebookNode

__all__ = [
    "CHANGE_KINDS", "CODE_CREATE", "CODE_EDIT", "CODE_MERGE", "CODE_MOVE", "CODE_RETIRE", "Change", "Applied",
    "ChangeRefused", "OpenCodebook", "change_from_row", "fold", "new_node_id", "propose_key",
]

CODE_CREATE = "code_create"  # code_id: the new id; value {"name", "definition", "aliases", "parent", "key", "category"}
CODE_EDIT = "code_edit"  # value: any of {"name", "definition", "aliases", "key", "severity"}
CODE_MOVE = "code_move"  # value {"parent": id or "" (not yet placed), "key"?}
CODE_MERGE = "code_merge"  # code_id: the code merged away; value {"into": id}
CODE_RETIRE = "code_retire"  # value {"retired": true | false}
CHANGE_KINDS: frozenset[str] = frozenset({CODE_CREATE, CODE_EDIT, CODE_MOVE, CODE_MERGE, CODE_RETIRE})
"""The event kinds that change the codebook (the values are part of the exchange format)."""

_EDITABLE = ("name", "definition", "aliases", "key", "severity")


@dataclass(frozen=True)
class Change:
    """One codebook change as recorded in the log."""

    kind: str
    code_id: str
    value: Mapping[str, Any]
    coder: str = ""
    at: str = ""
    id: str = ""
    post_id: int | None = None


@dataclass(frozen=True)
class Applied:
    """What one change did to the codebook (its history line), or why it was skipped."""

    change: Change
    summary: str
    problem: str | None = None


def change_from_row(row: Mapping[str, Any]) -> Change:
    """A Change from an events row (a malformed value reads as empty, and the fold then skips it)."""
    try:
        value = json.loads(row["value"]) if row["value"] else {}
    except ValueError:
        value = {}
    return Change(row["kind"], row["code_id"], value if isinstance(value, dict) else {}, row.get("coder", ""),
                  row.get("at", ""), row.get("id", ""), row.get("post_id"))


@dataclass
class _Node:
    id: str
    name: str
    key: str
    category: bool
    parent: str | None  # None for a category
    definition: str = ""
    aliases: list[str] = field(default_factory=list)
    colour: str = ""
    description: str = ""
    own_severity: float | None = None
    former_ids: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    retired: bool = False
    created_at: str = ""


class OpenCodebook:
    """A codebook being changed: the file's tree plus the changes applied so far."""

    def __init__(self, base: Codebook) -> None:
        self.base = base
        self.nodes: dict[str, _Node] = {}
        self.top: list[str] = []
        self.merged: dict[str, str] = {}  # an id merged away -> the id it went into
        self.applied: list[Applied] = []
        self._ids: list[str] = []
        for cat in base.categories:
            self._add_category(cat)
        if UNPLACED not in self.nodes:
            self.nodes[UNPLACED] = _Node(UNPLACED, UNPLACED_DATA["name"], UNPLACED_KEY, True, None,
                                         colour=UNPLACED_DATA["colour"], description=UNPLACED_DATA["description"])
            self.top.append(UNPLACED)
        for node in base.retired:  # an effective codebook folded further: its retired nodes keep their place
            if node.id in self.nodes:
                continue
            if isinstance(node, Category):
                self._add_category(node)
                continue
            parent = node.parent_id if node.parent_id in self.nodes else UNPLACED
            self.nodes[node.id] = self._from_code(node, parent)
            self.nodes[parent].children.append(node.id)

    def _add_category(self, cat: Category) -> None:
        self.nodes[cat.id] = _Node(cat.id, cat.name, cat.key, True, None, colour=cat.colour,
                                   description=cat.description, own_severity=cat.own_severity,
                                   children=[c.id for c in cat.codes], retired=cat.retired)
        self.top.append(cat.id)
        for code in cat.codes:
            self._add_code(code, cat.id)

    def _from_code(self, code: Code, parent: str) -> _Node:
        return _Node(code.id, code.name, code.key, False, parent, definition=code.definition,
                     aliases=list(code.aliases), own_severity=code.own_severity, former_ids=list(code.former_ids),
                     children=[s.id for s in code.subcodes], retired=code.retired)

    def _add_code(self, code: Code, parent: str) -> None:
        self.nodes[code.id] = self._from_code(code, parent)
        for sub in code.subcodes:
            self._add_code(sub, code.id)

    # ------------------------------------------------------------ lookups

    def resolve(self, node_id: str) -> str | None:
        """The current id of a node, following merges and former ids; None if unknown."""
        seen = 0
        while node_id in self.merged and seen < 1000:
            node_id, seen = self.merged[node_id], seen + 1
        if node_id in self.nodes:
            return node_id
        current = self.base.resolve(node_id)
        return current if current in self.nodes else None

    def _get(self, node_id: str, what: str = "code") -> _Node:
        current = self.resolve(node_id) if node_id else None
        if current is None:
            raise ChangeRefused(f"There is no {what} {node_id!r} in the codebook.")
        return self.nodes[current]

    def level(self, node: _Node) -> int:
        """1 for a category, 2 for a code, 3 for a sub-code."""
        return 1 if node.category else 1 + self.level(self.nodes[node.parent or UNPLACED])

    def active_children(self, node_id: str | None) -> list[_Node]:
        """The nodes in use directly under a node (None: the categories)."""
        ids = self.top if node_id is None else self.nodes[node_id].children
        return [self.nodes[i] for i in ids if not self.nodes[i].retired]

    def taken_keys(self, parent: str | None, but: str = "") -> set[str]:
        """The keys used among a parent's children in use (and "0" among the categories)."""
        taken = {n.key for n in self.active_children(parent) if n.id != but}
        return taken | {UNPLACED_KEY} if parent is None else taken

    def _label(self, node_id: str) -> str:
        node = self.nodes.get(node_id)
        return f"'{node.name}'" if node else repr(node_id)

    # ------------------------------------------------------------ changes

    def apply(self, change: Change) -> Applied:
        """Apply one change; a change that cannot apply is skipped and its reason kept."""
        try:
            handler = {CODE_CREATE: self._create, CODE_EDIT: self._edit, CODE_MOVE: self._move,
                       CODE_MERGE: self._merge, CODE_RETIRE: self._retire}.get(change.kind)
            if handler is None:
                raise ChangeRefused(f"{change.kind!r} is not a codebook change.")
            done = Applied(change, handler(change))
        except ChangeRefused as e:
            done = Applied(change, "skipped", str(e))
        self.applied.append(done)
        if done.problem is None and change.id:
            self._ids.append(change.id)
        return done

    def check(self, change: Change) -> None:
        """Raise ChangeRefused with the reason if the change cannot be made now; changes nothing."""
        trial = OpenCodebook.__new__(OpenCodebook)
        trial.base, trial.merged, trial.applied, trial._ids = self.base, dict(self.merged), [], []
        trial.nodes = {k: dataclasses.replace(v, aliases=list(v.aliases), former_ids=list(v.former_ids),
                                              children=list(v.children)) for k, v in self.nodes.items()}
        trial.top = list(self.top)
        done = trial.apply(change)
        if done.problem:
            raise ChangeRefused(done.problem)

    def _parent_for(self, parent_id: str, child_is_category: bool) -> _Node:
        if child_is_category:
            raise ChangeRefused("A category has no parent; leave the parent empty.")
        parent = self._get(parent_id or UNPLACED, "parent")
        if parent.retired:
            raise ChangeRefused(f"{self._label(parent.id)} was retired; choose a parent in use.")
        if self.level(parent) >= 3:
            raise ChangeRefused(f"{self._label(parent.id)} is a sub-code, and a sub-code cannot have its own; "
                                "choose its code or a category.")
        return parent

    def _key_for(self, wanted: str, name: str, parent: str | None, category: bool, but: str = "") -> str:
        taken = self.taken_keys(parent, but)
        if wanted:
            check_key(wanted, category)
            if wanted not in taken:
                return wanted
        key = propose_key(name, taken, category)
        if key is None:
            where = "the categories" if parent is None else f"the codes under {self._label(parent)}"
            raise ChangeRefused(f"Every key among {where} is taken; place the code elsewhere or retire one.")
        return key

    def _create(self, ch: Change) -> str:
        v = ch.value
        if not ID_SYNTAX.match(ch.code_id) or len(ch.code_id) > 200:
            raise ChangeRefused(f"{ch.code_id!r} is not a valid code id (lower-case letters, digits, '-', '/').")
        if self.resolve(ch.code_id) is not None:
            existing = self.nodes[self.resolve(ch.code_id) or ""]
            if existing.name == v.get("name"):
                return f"{self._label(existing.id)} is already in the codebook file"  # written back: a no-op
            raise ChangeRefused(f"The id {ch.code_id!r} is already used by {self._label(existing.id)}.")
        name = clean_name(v.get("name"))
        category = bool(v.get("category"))
        parent = None if category else self._parent_for(str(v.get("parent") or ""), False).id
        key = self._key_for(str(v.get("key") or ""), name, parent, category)
        node = _Node(ch.code_id, name, key, category, parent, definition=clean_definition(v.get("definition", "")),
                     aliases=clean_aliases(v.get("aliases", [])), created_at=ch.at,
                     colour=PALETTE[len(self.top) % len(PALETTE)] if category else "")
        self.nodes[node.id] = node
        if parent is None:
            self.top.insert(len(self.top) - (1 if self.top and self.top[-1] == UNPLACED else 0), node.id)
        else:
            self.nodes[parent].children.append(node.id)
        where = "as a category" if category else (
            "not yet placed" if parent == UNPLACED else f"under {self._label(parent or '')}")
        moved = "" if not v.get("key") or v.get("key") == key else f" (key '{v.get('key')}' was taken)"
        return f"created {self._label(node.id)} {where}, key '{key}'{moved}"

    def _edit(self, ch: Change) -> str:
        node = self._get(ch.code_id)
        v = {k: ch.value[k] for k in _EDITABLE if k in ch.value}
        if not v:
            raise ChangeRefused("The change names nothing to edit.")
        said = []
        if "name" in v:
            old, node.name = node.name, clean_name(v["name"])
            said.append(f"renamed '{old}' to '{node.name}'")
        if "definition" in v:
            if node.category:
                node.description = clean_definition(v["definition"])
            else:
                node.definition = clean_definition(v["definition"])
            said.append(f"edited the definition of {self._label(node.id)}")
        if "aliases" in v:
            node.aliases = clean_aliases(v["aliases"])
            said.append(f"set the aliases of {self._label(node.id)}")
        if "key" in v:
            key = str(v["key"])
            check_key(key, node.category)
            if key in self.taken_keys(node.parent, node.id):
                raise ChangeRefused(f"The key '{key}' is already used next to {self._label(node.id)}.")
            node.key = key
            said.append(f"gave {self._label(node.id)} the key '{key}'")
        if "severity" in v:
            node.own_severity = clean_severity(v["severity"])
            said.append(f"set the severity of {self._label(node.id)}")
        return "; ".join(said)

    def _move(self, ch: Change) -> str:
        node = self._get(ch.code_id)
        if node.category:
            raise ChangeRefused("A category stays at the top; move its codes instead.")
        parent = self._parent_for(str(ch.value.get("parent") or ""), False)
        if parent.id == node.parent:
            return f"{self._label(node.id)} is already there"
        up: str | None = parent.id
        while up is not None:
            if up == node.id:
                raise ChangeRefused(f"{self._label(node.id)} cannot move under itself or one of its own sub-codes.")
            up = self.nodes[up].parent
        if self.level(parent) == 2 and node.children:  # retired ones too: the tree stays three levels deep
            raise ChangeRefused(f"{self._label(node.id)} has sub-codes, and a sub-code cannot have its own; "
                                "move or merge them first.")
        key = self._key_for(str(ch.value.get("key") or node.key), node.name, parent.id, False)
        self._detach(node)
        node.parent, node.key = parent.id, key
        parent.children.append(node.id)
        where = "out of its category (not yet placed)" if parent.id == UNPLACED else f"under {self._label(parent.id)}"
        return f"moved {self._label(node.id)} {where}, key '{key}'"

    def _merge(self, ch: Change) -> str:
        gone = self._get(ch.code_id)
        into = self._get(str(ch.value.get("into") or ""), "code to merge into")
        if gone.id == into.id and gone.id != ch.code_id:
            return f"'{ch.code_id}' is already part of {self._label(into.id)}"  # written back to the file
        if gone.id == into.id:
            raise ChangeRefused(f"{self._label(gone.id)} cannot be merged into itself.")
        if gone.category or into.category:
            raise ChangeRefused("Only codes can be merged; move a category's codes instead.")
        if into.retired:
            raise ChangeRefused(f"{self._label(into.id)} was retired; merge into a code in use.")
        up: str | None = into.id
        while up is not None:
            if up == gone.id:
                raise ChangeRefused(f"{self._label(gone.id)} cannot be merged into one of its own sub-codes.")
            up = self.nodes[up].parent
        kids = [self.nodes[c] for c in gone.children]  # retired ones go along, so they keep a place in the tree
        if kids and self.level(into) >= 3:
            raise ChangeRefused(f"{self._label(gone.id)} has sub-codes, and {self._label(into.id)} is a sub-code; "
                                "move them first.")
        for kid in kids:
            if not kid.retired:
                kid.key = self._key_for(kid.key, kid.name, into.id, False)
            kid.parent = into.id
            into.children.append(kid.id)
        gone.children = []
        self._detach(gone)
        del self.nodes[gone.id]
        self.merged[gone.id] = into.id
        into.former_ids += [i for i in [gone.id, *gone.former_ids] if i not in into.former_ids]
        into.aliases += [a for a in [gone.name, *gone.aliases] if a not in into.aliases and a != into.name]
        return f"merged '{gone.name}' into {self._label(into.id)}"

    def _retire(self, ch: Change) -> str:
        node = self._get(ch.code_id)
        if node.id == UNPLACED:
            raise ChangeRefused("The codes not yet placed cannot be retired; retire or move each code.")
        if ch.value.get("retired", True) is False:
            if not node.retired:
                return f"{self._label(node.id)} is in use"
            if node.parent is not None and self.nodes[node.parent].retired:
                raise ChangeRefused(f"{self._label(node.parent)} was retired; bring it back first.")
            node.key = self._key_for(node.key, node.name, node.parent, node.category, node.id)
            node.retired = False
            return f"brought {self._label(node.id)} back into use, key '{node.key}'"
        if node.retired:
            return f"{self._label(node.id)} was already retired"
        if self.active_children(node.id):
            raise ChangeRefused(f"{self._label(node.id)} still has codes in use; retire, move or merge them first.")
        node.retired = True
        return f"retired {self._label(node.id)}"

    def _detach(self, node: _Node) -> None:
        if node.parent is None:
            self.top.remove(node.id)
        else:
            self.nodes[node.parent].children.remove(node.id)

    # ------------------------------------------------------------ the result

    def build(self) -> Codebook:
        """The effective codebook: the same dataclasses the file gives, with the changes in them."""
        cats: list[Category] = []
        retired: list[CodebookNode] = []
        for cid in self.top:
            cat = self.nodes[cid]
            built = self._category(cat)
            if cat.retired:
                retired.append(built)
            elif cid != UNPLACED or built.codes:
                cats.append(built)
            retired.extend(self._retired_under(cid))
        digest = self.base.hash
        for change_id in self._ids:  # a chain, so folding one more change onto a result gives the full fold's hash
            digest = hashlib.sha256(f"{digest}|{change_id}".encode()).hexdigest()[:16]
        return dataclasses.replace(self.base, categories=tuple(cats), retired=tuple(retired), hash=digest,
                                   origin=self.base.file_codebook())

    def _category(self, cat: _Node) -> Category:
        severity = 1.0 if cat.own_severity is None else cat.own_severity
        codes = tuple(self._code(self.nodes[c], severity, cat.id, 2) for c in cat.children
                      if not self.nodes[c].retired)
        return Category(cat.id, cat.name, cat.key, cat.colour, cat.description, severity, codes,
                        own_severity=cat.own_severity, retired=cat.retired)

    def _code(self, node: _Node, inherited: float, category_id: str, level: int) -> Code:
        severity = inherited if node.own_severity is None else node.own_severity
        subs = tuple(self._code(self.nodes[s], severity, category_id, 3) for s in node.children
                     if not self.nodes[s].retired) if level == 2 else ()
        return Code(node.id, node.name, node.key, node.definition, tuple(node.aliases), severity,
                    tuple(node.former_ids), subs, node.parent or category_id, category_id, level,
                    own_severity=node.own_severity, retired=node.retired)

    def _retired_under(self, node_id: str) -> list[CodebookNode]:
        out: list[CodebookNode] = []
        node = self.nodes[node_id]
        cat = node if node.category else None
        for cid in node.children:
            child = self.nodes[cid]
            if child.retired and not child.category:
                top = cat.id if cat else self._category_of(child)
                out.append(self._code(child, 1.0, top, self.level(child)))
            out.extend(self._retired_under(cid))
        return out

    def _category_of(self, node: _Node) -> str:
        while node.parent is not None:
            node = self.nodes[node.parent]
        return node.id


def fold(base: Codebook, changes: Iterable[Change]) -> tuple[Codebook, list[Applied]]:
    """The effective codebook from the file's codebook and the changes that stand, in (time, id) order."""
    work = OpenCodebook(base)
    for change in sorted(changes, key=lambda c: (c.at, c.id)):
        work.apply(change)
    return work.build(), work.applied
