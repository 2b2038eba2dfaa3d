"""Codebook differences between coders: what reconciliation shows before the posts they disagree on.

Four kinds, each found in the project's standing codebook changes (every coder's, merged):
- `similar`: two codes created independently by different coders with alike names, aliases or definitions
  (offered as a merge: keep one id, or keep both);
- `place`: the same name under different parents, or one code moved to different parents by two coders
  (offered as a move: choose the parent);
- `edit`: one code's name, definition, aliases or key set differently by two coders since the last
  consensus change to it (side by side: pick one, or type a new name or definition);
- `gone`: a code one coder merged away or retired that another coder still uses on posts (confirm or undo).
The choices are recorded by codebook_choice.py as consensus codebook changes; each carries the key of the
difference it resolves, so a resolved difference does not come back.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from tui.core.codebook.changes import CODE_CREATE, CODE_EDIT, CODE_MERGE, CODE_MOVE, CODE_RETIRE, Change, fold
from tui.core.codebook.model import Code, Codebook
from tui.core.project.codebook_log import codebook_changes, written_ids
from tui.core.project.events import CONSENSUS
from tui.core.project.store import Store
from tui.core.safe import clean
from tui.core.sync.consensus import load_states

SIMILAR, PLACE, EDIT, GONE = "similar", "place", "edit", "gone"
DIFF_KINDS = (SIMILAR, PLACE, EDIT, GONE)
KIND_NAMES = {SIMILAR: "similar codes", PLACE: "same name, different place", EDIT: "conflicting edits",
              GONE: "merged or retired but still used"}
RESOLVES = "resolves"
"""The member of a consensus change's value naming the difference it resolves (the fold ignores it)."""
NAME_RATIO = 0.8
"""Names at least this alike (difflib's ratio, case and spacing ignored) make two new codes similar."""
DEFINITION_RATIO = 0.75
"""Definitions at least this alike (their first 200 words) make two new codes similar."""
FIELDS = ("name", "definition", "aliases", "key")


@dataclass(frozen=True)
class Side:
    """One coder's side of a difference: whose, about which code, and what they made of it (one line)."""

    coder: str
    code_id: str
    says: str
    value: object = None  # edit: the value this coder gave; place: the parent id; similar: the code id


@dataclass(frozen=True)
class CodebookDiff:
    """One codebook difference between coders; `key` is stable, so a resolution can name it."""

    kind: str
    key: str
    title: str
    sides: tuple[Side, ...]
    field: str = ""  # edit: which field
    change_id: str = ""  # gone: the merge or retire change

    @property
    def can_type(self) -> bool:
        """True when the lead may type a new value instead of picking a side (a name or a definition)."""
        return self.kind == EDIT and self.field in ("name", "definition")


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def _bag(items: Sequence[str]) -> frozenset[tuple[str, int]]:
    """A multiset as a set, each item numbered by its repeat, so a set intersection is the multiset's (in C)."""
    return frozenset((item, k) for item, n in Counter(items).items() for k in range(n))


def _alike(a: Sequence[str], b: Sequence[str], bag_a: frozenset[tuple[str, int]], bag_b: frozenset[tuple[str, int]],
           floor: float) -> float:
    """difflib's ratio of two sequences, or 0.0 as soon as a cheap upper bound says it is under `floor`.

    The bounds (lengths, then shared items: difflib's quick_ratio, from counts made once per code)
    keep comparing every pair of new codes quick.
    """
    total = len(a) + len(b)
    if not a or not b or 2 * min(len(a), len(b)) / total < floor:
        return 0.0
    if 2 * len(bag_a & bag_b) / total < floor:
        return 0.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


@dataclass(frozen=True)
class _Profile:
    """What two codes are compared by, normalised once: the name, every name and alias, the definition."""

    name: str
    names: frozenset[str]
    definition: tuple[str, ...]
    name_chars: frozenset[tuple[str, int]]
    definition_words: frozenset[tuple[str, int]]


# Definitions are compared word by word (a Chinese character counts as a word): quicker than by
# character, and two unrelated texts in one alphabet no longer look alike.
_WORD = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\W\u3400-\u9fff\uf900-\ufaff]+")


def _profile(code: Code) -> _Profile:
    name, words = _norm(code.name), tuple(_WORD.findall(_norm(code.definition)))[:200]
    return _Profile(name, frozenset({name, *(_norm(x) for x in code.aliases)}), words, _bag(name), _bag(words))


def _similar(a: _Profile, b: _Profile) -> str | None:
    if a.names & b.names:
        return "the same name or alias"
    if min(len(a.name), len(b.name)) >= 2 and (a.name in b.name or b.name in a.name):
        return "one name contains the other"
    ratio = _alike(a.name, b.name, a.name_chars, b.name_chars, NAME_RATIO)
    if ratio >= NAME_RATIO:
        return f"names {ratio:.0%} alike"
    ratio = _alike(a.definition, b.definition, a.definition_words, b.definition_words, DEFINITION_RATIO)
    if ratio >= DEFINITION_RATIO:
        return f"definitions {ratio:.0%} alike"
    return None


def similarity(a: Code, b: Code) -> str | None:
    """Why two codes look like one (a phrase), or None: a shared name or alias, alike names or definitions."""
    return _similar(_profile(a), _profile(b))


def _shown(text: object, limit: int = 120) -> str:
    """A value on one line, cleaned and cut (names and definitions come from other coders' files)."""
    if isinstance(text, list):
        text = ", ".join(str(x) for x in text) or "(none)"
    out = clean(str(text), oneline=True)
    return out if len(out) <= limit else out[:limit - 1] + "…"


class _Finder:
    """The state the four searches share: the effective codebook, the changes, who compares."""

    def __init__(self, store: Store, file_codebook: Codebook, coders: Sequence[str]) -> None:
        self.store = store
        self.coders = list(coders)
        self.file = file_codebook.file_codebook()
        self.changes = codebook_changes(store.db.conn)
        self.by_code: dict[str, list[Change]] = {}  # current id -> its changes, in fold order
        written = written_ids(store.db.conn)  # what effective_codebook does, without reading the changes twice
        self.cb, applied = fold(self.file, [c for c in self.changes if c.id not in written])
        self.ok: set[str] = {a.change.id for a in applied if a.problem is None}
        self.resolved = {str(c.value.get(RESOLVES)) for c in self.changes
                         if c.coder == CONSENSUS and c.value.get(RESOLVES)}
        self.rank = {c: i for i, c in enumerate(self.coders)}
        for c in self.changes:
            self.by_code.setdefault(self.cb.resolve(c.code_id) or c.code_id, []).append(c)

    def path(self, node_id: str) -> str:
        return self.cb.path_str(node_id) if self.cb.node(node_id) is not None else node_id

    def name_of(self, code_id: str) -> str:
        """A code's name even once merged away: as created, as in the file, else its id."""
        for c in self.changes:
            if c.kind == CODE_CREATE and c.code_id == code_id and c.value.get("name"):
                return str(c.value["name"])
        node = self.file.node(code_id)
        return node.name if node is not None else code_id

    def active_code(self, node_id: str) -> Code | None:
        node = self.cb.node(node_id)
        if not isinstance(node, Code) or node.retired or self.cb.resolve(node_id) != node_id:
            return None
        return node

    def mine(self, c: Change) -> bool:
        """A compared coder's change that the fold applied."""
        return c.coder in self.rank and c.id in self.ok

    def created(self) -> list[tuple[Change, Code]]:
        out = []
        for c in self.changes:
            code = self.active_code(c.code_id) if c.kind == CODE_CREATE and self.mine(c) else None
            if code is not None:
                out.append((c, code))
        return out

    def pairs(self) -> list[CodebookDiff]:
        """Similar new codes and same-named ones in different places, one per pair of different coders' codes."""
        out: list[CodebookDiff] = []
        made = self.created()
        profiles = {code.id: _profile(code) for _, code in made}
        for i, first in enumerate(made):
            for second in made[i + 1:]:
                if first[0].coder == second[0].coder:
                    continue
                (ca, a), (cb_, b) = sorted((first, second), key=lambda p: (self.rank[p[0].coder], p[1].id))
                ids = f"{a.id}|{b.id}"
                if profiles[a.id].name == profiles[b.id].name and a.parent_id != b.parent_id:
                    out.append(CodebookDiff(PLACE, f"{PLACE}:{ids}", f"'{_shown(a.name, 60)}' is under two parents",
                                            tuple(Side(c.coder, x.id, "under " + _shown(self.path(x.parent_id)),
                                                       x.parent_id) for c, x in ((ca, a), (cb_, b)))))
                    continue
                why = _similar(profiles[a.id], profiles[b.id])
                if why:
                    out.append(CodebookDiff(SIMILAR, f"{SIMILAR}:{ids}", f"Two new codes look alike ({why})",
                                            tuple(Side(c.coder, x.id, _shown(self.path(x.id)) + ": "
                                                       + _shown(x.definition or "(no definition yet)"), x.id)
                                                  for c, x in ((ca, a), (cb_, b)))))
        return out

    def since_consensus(self, code_id: str, what: str) -> list[Change]:
        """The compared coders' changes to one code (and `what`) since consensus last changed it."""
        mine: list[Change] = []
        for c in self.by_code.get(code_id, ()):
            touches = (c.kind == CODE_MOVE) if what == "parent" else (c.kind == CODE_EDIT and what in c.value)
            if c.coder == CONSENSUS and (touches or c.kind == CODE_MERGE):
                mine = []  # the last common state: what consensus settled
            elif touches and self.mine(c):
                mine.append(c)
        return mine

    def conflicts(self) -> list[CodebookDiff]:
        """One code's field, or its place, set differently by two coders since consensus last settled it."""
        out: list[CodebookDiff] = []
        touched = {(self.cb.resolve(c.code_id) or "", k) for c in self.changes if self.mine(c)
                   for k in ([*c.value] if c.kind == CODE_EDIT else ["parent"] if c.kind == CODE_MOVE else [])
                   if k in FIELDS or k == "parent"}
        for code_id, what in sorted(touched):
            if self.active_code(code_id) is None:
                continue
            last: dict[str, Change] = {}
            for c in self.since_consensus(code_id, what):
                last[c.coder] = c
            if len(last) < 2:
                continue
            values = {c.coder: (self.cb.resolve(str(c.value.get("parent") or "")) or str(c.value.get("parent")))
                      if what == "parent" else c.value[what] for c in last.values()}
            if len({repr(v) for v in values.values()}) < 2:
                continue
            ids = "|".join(sorted(c.id for c in last.values()))
            coders = sorted(last, key=self.rank.__getitem__)
            name = _shown(self.cb.path_str(code_id), 80)
            if what == "parent":
                out.append(CodebookDiff(PLACE, f"{PLACE}:{code_id}:{ids}", f"'{name}' was moved to two places",
                                        tuple(Side(k, code_id, "moved under " + _shown(self.path(str(values[k]))),
                                                   values[k]) for k in coders)))
            else:
                out.append(CodebookDiff(EDIT, f"{EDIT}:{code_id}:{what}:{ids}",
                                        f"The {what} of '{name}' was edited differently",
                                        tuple(Side(k, code_id, _shown(values[k], 300), values[k]) for k in coders),
                                        field=what))
        return out

    def gone(self) -> list[CodebookDiff]:
        """Codes one coder merged away or retired while another coder still has them on posts."""
        targets = [c for c in self.changes if self.mine(c) and (
            c.kind == CODE_MERGE or (c.kind == CODE_RETIRE and c.value.get("retired", True) is not False
                                     and self.cb.is_retired(c.code_id)))]
        if not targets:
            return []
        states = load_states(self.store, self.coders)
        uses: dict[tuple[str, str], int] = {}
        for coder, by_post in states.items():
            for st in by_post.values():
                for code_id in st.codes if st.relevance != 0 else ():
                    uses[(coder, code_id)] = uses.get((coder, code_id), 0) + 1
        out: list[CodebookDiff] = []
        for c in targets:
            users = [k for k in self.coders if k != c.coder and uses.get((k, c.code_id))]
            if not users:
                continue
            name = _shown(self.name_of(c.code_id), 80)
            did = (f"merged it into '{_shown(self.path(str(c.value.get('into'))), 80)}'" if c.kind == CODE_MERGE
                   else "retired it")
            sides = (Side(c.coder, c.code_id, did),
                     *(Side(k, c.code_id, f"still has it on {uses[(k, c.code_id)]} posts") for k in users))
            verb = "merged away" if c.kind == CODE_MERGE else "retired"
            out.append(CodebookDiff(GONE, f"{GONE}:{c.id}", f"'{name}' was {verb} but is still used", sides,
                                    change_id=c.id))
        return out


def codebook_differences(store: Store, file_codebook: Codebook, coders: Sequence[str] | None = None
                         ) -> list[CodebookDiff]:
    """The codebook differences between the coders (all but consensus by default) not yet resolved."""
    chosen = list(coders) if coders else [c for c in store.coders() if c != CONSENSUS]
    finder = _Finder(store, file_codebook, chosen)
    found = finder.pairs() + finder.conflicts() + finder.gone()
    return [d for d in found if d.key not in finder.resolved]

