"""Writing the codebook changes made while coding back into the codebook file, keeping its comments and layout.

The file is read with ruamel.yaml's round-trip mode, and only the difference between the file's codebook
and the effective one is applied to it: new nodes go at the end of their parent's list with the fields
in the order and style of their siblings; renames, definitions, aliases, keys and severities are edited
in place; moved nodes are taken out and put at the end of their new parent's list; a code merged away
is removed and its id added to the kept code's `former_ids`; a retired node stays with `retired: true`.
Every other line of the file is left as it was. The result is checked with the normal loader.
"""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString, ScalarString
from ruamel.yaml.tokens import CommentToken
from ruamel.yaml.util import load_yaml_guess_indent

from tui.core.codebook.loading import parse_codebook
from tui.core.codebook.model import UNPLACED, Category, Codebook, CodebookError, CodebookNode
from tui.core.codebook.validate import FIELDS

__all__ = ["WriteBackRefused", "fold_into_yaml", "same_codebook", "signature"]

_WIDTH = 96  # where a new folded definition wraps, like the hand-written ones


class WriteBackRefused(Exception):
    """The codebook cannot be written back; the message is one sentence for the user."""


# ---------------------------------------------------------------- what must match after writing


def signature(cb: Codebook) -> dict[str, tuple[Any, ...]]:
    """Every node's content and place, for checking that the written file gives the effective codebook."""
    out: dict[str, tuple[Any, ...]] = {}
    for node in [*cb.nodes(), *cb.retired]:
        if node.id == UNPLACED:
            continue  # written as the top-level codes: list; its codes say where they are
        if isinstance(node, Category):
            out[node.id] = ("category", node.name, node.key, node.description, node.own_severity, node.retired,
                            tuple(sorted(c.id for c in node.codes)))
        else:
            out[node.id] = ("code", node.name, node.key, node.definition, node.aliases, node.own_severity,
                            tuple(sorted(node.former_ids)), node.retired, node.parent_id,
                            tuple(sorted(c.id for c in node.subcodes)))
    return out


def same_codebook(a: Codebook, b: Codebook) -> str | None:
    """None if both codebooks hold the same nodes in the same places; else the id of one that differs."""
    sa, sb = signature(a), signature(b)
    for node_id in sorted(sa.keys() | sb.keys()):
        if sa.get(node_id) != sb.get(node_id):
            return node_id
    return None


# ---------------------------------------------------------------- the YAML tree


def _yaml(text: str) -> tuple[YAML, Any]:
    try:
        _, indent, offset = load_yaml_guess_indent(text)
    except YAMLError:
        indent, offset = 4, 2
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap lines the file already has
    yaml.indent(mapping=max(2, indent - offset) if offset else indent, sequence=indent or 4, offset=offset or 0)
    try:
        return yaml, yaml.load(text)
    except YAMLError as e:
        first = str(e).splitlines()[0]
        raise WriteBackRefused(f"The codebook file cannot be read for writing back: {first}.") from None


class _Tree:
    """The file's nodes by id, and where each one sits."""

    def __init__(self, doc: CommentedMap) -> None:
        self.doc = doc
        self.maps: dict[str, CommentedMap] = {}
        self.holder: dict[str, CommentedSeq] = {}
        self.parent: dict[str, str | None] = {}  # None for a category
        for cat in doc.get("categories") or []:
            self._add(cat, doc["categories"], None, "codes")
        for code in doc.get("codes") or []:
            self._add(code, doc["codes"], UNPLACED, "subcodes")

    def _add(self, node: CommentedMap, seq: CommentedSeq, parent: str | None, below: str) -> None:
        node_id = str(node["id"])
        self.maps[node_id], self.holder[node_id], self.parent[node_id] = node, seq, parent
        for child in node.get(below) or []:
            self._add(child, node[below], node_id, "subcodes")

    def template(self, level: int, near: CommentedSeq | None) -> CommentedMap | None:
        """A sibling to copy the field order and styles from: one in the same list, else any at that level."""
        if near is not None and len(near):
            return near[0]  # type: ignore[no-any-return]
        for node_id, node in self.maps.items():
            if self._level(node_id) == level:
                return node
        return None

    def _level(self, node_id: str) -> int:
        up = self.parent.get(node_id)
        if up is None:
            return 1
        return 2 if up == UNPLACED else 1 + self._level(up)


def _tail_holder(node: Any) -> tuple[Any, Any] | None:
    """Where the comment printed after a node's last line is kept: (holder, slot)."""
    if isinstance(node, CommentedSeq):
        if node.ca.end:
            return node.ca, "end"
        return _tail_holder(node[-1]) if len(node) else None
    if isinstance(node, CommentedMap) and len(node):
        last = list(node.keys())[-1]
        item = node.ca.items.get(last)
        if item and item[2] is not None:
            return item, 2
        return _tail_holder(node[last])
    return None


def _take_tail(seq: CommentedSeq) -> list[CommentToken]:
    """Detach the comment after a list's last item (a blank line, the next section's heading)."""
    found = _tail_holder(seq)
    if found is None:
        return []
    holder, slot = found
    if slot == "end":
        tokens, holder.end = list(holder.end), []
        return tokens
    token = holder[slot]
    value = token.value
    if not value.startswith("\n"):
        # An end-of-line comment stays on its line; only the lines after it move.
        eol, _, rest = value.partition("\n")
        token.value = eol + "\n"
        return [CommentToken(rest, CommentMark(0), None)] if rest else []
    holder[slot] = None
    # A comment after a scalar starts by ending that line; as a list's end comment it must not.
    return [CommentToken(value[1:], CommentMark(0), None)] if value[1:] else []


def _put_tail(seq: CommentedSeq, tokens: list[CommentToken]) -> None:
    if tokens:
        if seq.ca.comment is None:
            seq.ca.comment = [None, None]  # the emitter only prints an end comment where this is set
        seq.ca.end = list(seq.ca.end or []) + tokens


def _blank_separated(seq: CommentedSeq, lines: list[str]) -> bool:
    # Siblings written with a blank line between them get one before a new sibling too.
    if len(seq) < 2:
        return False
    try:
        line = seq.lc.item(len(seq) - 1)[0]
    except (AttributeError, KeyError, TypeError, IndexError):
        return False
    return 0 < line <= len(lines) and not lines[line - 1].strip()


def _append(seq: CommentedSeq, node: CommentedMap, blank: bool) -> None:
    tail = _take_tail(seq)
    seq.append(node)
    if blank:
        seq.ca.items[len(seq) - 1] = [None, [CommentToken("\n", CommentMark(0), None)], None, None]
    _put_tail(seq, tail)


def _remove(seq: CommentedSeq, node: CommentedMap) -> None:
    index = next(i for i, n in enumerate(seq) if n is node)
    last = index == len(seq) - 1
    tail = _take_tail(seq) if last else []
    before = seq.ca.items.pop(index, None)
    del seq[index]
    # Comments kept by position move up with the items after the one removed.
    for i in sorted(k for k in seq.ca.items if isinstance(k, int) and k > index):
        seq.ca.items[i - 1] = seq.ca.items.pop(i)
    if before and index < len(seq) and index not in seq.ca.items:
        seq.ca.items[index] = before
    if last and len(seq):
        own = _take_tail(seq)  # the blank line that separated the new last item from the one removed
        _put_tail(seq, tail if all(not t.value.strip() for t in own) else own + tail)


# ---------------------------------------------------------------- values in the style of the file


def _styled(value: str, like: Any, indent: int) -> Any:
    if isinstance(like, FoldedScalarString):
        out = FoldedScalarString(value)
        out.fold_pos = _folds(value, max(40, _WIDTH - indent))
        return out
    if isinstance(like, (LiteralScalarString, ScalarString)) and not isinstance(like, FoldedScalarString):
        return type(like)(value)
    return value


def _folds(text: str, width: int) -> list[int]:
    """Where a folded scalar breaks its lines (at spaces), so no line is longer than `width`."""
    if "\n" in text:
        return []
    folds: list[int] = []
    start = 0
    while len(text) - start > width:
        cut = text.rfind(" ", start, start + width + 1)
        if cut <= start or text[cut - 1] == " " or text[cut + 1:cut + 2] == " ":
            break
        folds.append(cut)
        start = cut + 1
    return folds


def _styled_list(values: list[str], like: Any) -> CommentedSeq:
    seq = CommentedSeq([_styled(v, like[0] if isinstance(like, list) and len(like) else None, 0) for v in values])
    if isinstance(like, CommentedSeq) and like.fa.flow_style():
        seq.fa.set_flow_style()
    return seq


class _Writer:
    """Applies the difference between two codebooks to the file's YAML tree."""

    def __init__(self, doc: CommentedMap, lines: list[str], base: Codebook, target: Codebook, indent: int) -> None:
        self.doc, self.lines, self.base, self.target, self.indent = doc, lines, base, target, indent
        self.tree = _Tree(doc)
        seqs = {id(q): q for q in self.tree.holder.values()}
        self.blank = {k: _blank_separated(q, lines) for k, q in seqs.items()}  # before anything moves
        self.likes: dict[tuple[int, str], Any] = {}  # (level, field) -> a value of that field in the file
        for node_id, node in self.tree.maps.items():
            for name, value in node.items():
                self.likes.setdefault((self.tree._level(node_id), name), value)

    def _own(self, cb: Codebook, node_id: str) -> CodebookNode | None:
        node = cb.node(node_id)
        return node if node is not None and node.id == node_id else None

    def _parent_of(self, node: CodebookNode) -> str | None:
        return None if isinstance(node, Category) else node.parent_id

    def _seq(self, parent: str | None, level: int) -> CommentedSeq:
        if parent is None or parent == UNPLACED:
            name = "categories" if parent is None else "codes"
            if self.doc.get(name) is None:
                cats = self.doc.get("categories")
                at = list(self.doc.keys()).index("categories") + 1 if cats is not None else len(self.doc)
                # The comment after the categories belongs to what follows them (the screening section).
                tail = _take_tail(cats) if name == "codes" and isinstance(cats, CommentedSeq) and cats else []
                self.doc.insert(at if name == "codes" else len(self.doc), name, CommentedSeq())
                _put_tail(self.doc[name], tail)
                if name == "codes":
                    self.doc.yaml_set_comment_before_after_key(
                        "codes", before="\nCodes made while coding that axial coding has not placed under a category.")
            return self.doc[name]  # type: ignore[no-any-return]
        holder = self.tree.maps[parent]
        name = "codes" if level == 2 else "subcodes"
        if holder.get(name) is None:
            holder[name] = CommentedSeq()
        return holder[name]  # type: ignore[no-any-return]

    def apply(self) -> None:
        """Take out what moved or went, put in what is new or moved, then edit the fields."""
        wanted = [n for n in (*self.target.nodes(), *self.target.retired) if n.id != UNPLACED]
        place = {n.id: self._parent_of(n) for n in wanted}
        moving: set[str] = set()
        for node_id in list(self.tree.maps):
            if node_id not in place or place[node_id] != self.tree.parent[node_id]:
                _remove(self.tree.holder[node_id], self.tree.maps[node_id])
                moving.add(node_id)
        for node in wanted:
            level = 1 if isinstance(node, Category) else (2 if node.parent_id == node.category_id else 3)
            if node.id in self.tree.maps and node.id not in moving:
                continue
            seq = self._seq(place[node.id], level)
            fresh = node.id not in self.tree.maps
            body = self._new(node, level, seq) if fresh else self.tree.maps[node.id]
            _append(seq, body, self.blank.get(id(seq), False))
            self.tree.maps[node.id], self.tree.holder[node.id], self.tree.parent[node.id] = body, seq, place[node.id]
        for node in wanted:
            self._edit(node)
        for body in self.tree.maps.values():
            for name in ("codes", "subcodes"):
                if name in body and not body[name]:
                    del body[name]
        if "codes" in self.doc and not self.doc["codes"]:
            del self.doc["codes"]

    def _fields(self, node: CodebookNode) -> dict[str, Any]:
        if isinstance(node, Category):
            out: dict[str, Any] = {"id": node.id, "name": node.name, "key": node.key, "colour": node.colour,
                                   "description": node.description or None}
        else:
            out = {"id": node.id, "name": node.name, "key": node.key, "definition": node.definition,
                   "aliases": list(node.aliases) or None, "former_ids": list(node.former_ids) or None}
        out["severity"] = node.own_severity
        out["retired"] = True if node.retired else None
        return out

    def _new(self, node: CodebookNode, level: int, seq: CommentedSeq) -> CommentedMap:
        kind = "category" if level == 1 else "code"
        like = self.tree.template(level, seq)
        order = [k for k in (like or {}) if k in FIELDS[kind] or k == "retired"]
        order += [k for k in (*FIELDS[kind], "retired") if k not in order]
        body = CommentedMap()
        values = self._fields(node)
        for name in order:
            if values.get(name) is not None:
                body[name] = self._value(name, values[name], level)
        return body

    def _value(self, name: str, value: Any, level: int) -> Any:
        like = self.likes.get((level, name))
        if like is None and name == "former_ids":
            like = self.likes.get((level, "aliases"))  # a new list looks like the lists the file has
        indent = self.indent * (2 * level)
        if isinstance(value, list):
            return _styled_list(value, like)
        if isinstance(value, str):
            return _styled(value, like, indent)
        return value

    def _edit(self, node: CodebookNode) -> None:
        body = self.tree.maps[node.id]
        old = self._own(self.base, node.id)
        level = 1 if isinstance(node, Category) else (2 if node.parent_id == node.category_id else 3)
        new_values, old_values = self._fields(node), self._fields(old) if old is not None else {}
        for name, value in new_values.items():
            if name == "id" or (old is not None and old_values.get(name) == value):
                continue
            if old is None and name in body:
                continue  # just written from the effective codebook
            if value is None:
                body.pop(name, None)
            elif name in body:
                like = body[name]
                body[name] = _styled_list(value, like) if isinstance(value, list) else (
                    _styled(value, like, self.indent * 2 * level) if isinstance(value, str) else value)
            else:
                at = next((i for i, k in enumerate(body) if k in ("codes", "subcodes")), len(body))
                body.insert(at, name, self._value(name, value, level))


def fold_into_yaml(text: str, file_cb: Codebook, effective: Codebook, source: str = "codebook.yaml") -> str:
    """The codebook file's text with the effective codebook's differences from it applied; WriteBackRefused if
    the result would not be a valid codebook that gives exactly the effective one."""
    draft = next((c for c in effective.codes() if not c.definition), None)
    if draft is not None:
        raise WriteBackRefused(f"'{draft.name}' has no definition yet; write one before writing the codebook.")
    yaml, doc = _yaml(text)
    if not isinstance(doc, CommentedMap):
        raise WriteBackRefused("The codebook file is not a mapping of fields, so nothing can be written into it.")
    try:
        _, indent, _ = load_yaml_guess_indent(text)
    except YAMLError:
        indent = 4
    _Writer(doc, text.splitlines(), file_cb.file_codebook(), effective, max(1, (indent or 4) // 2)).apply()
    out = io.StringIO()
    yaml.dump(doc, out)
    result = out.getvalue()
    try:
        written = parse_codebook(result, source)
    except CodebookError as e:
        first = e.problems[0] if e.problems else None
        reason = f" (line {first.line}: {first.message})" if first and first.line else (
            f" ({first.message})" if first else "")
        raise WriteBackRefused(f"The codebook with the changes folded in would not be valid{reason}; "
                           "nothing was written.") from None
    differs = same_codebook(written, effective)
    if differs is not None:
        raise WriteBackRefused(f"The code {differs!r} could not be written into the file exactly as the project has "
                           "it; nothing was written.")
    return result
