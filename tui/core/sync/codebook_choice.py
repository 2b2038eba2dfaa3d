"""The lead's choice on a codebook difference, recorded as consensus codebook changes through the fold's rules.

Every change is checked against the effective codebook first (`OpenCodebook.check`); a refused choice is
its one sentence and nothing is written. Each change's value names the difference it resolves, so the
difference does not come back; the fold ignores that member.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tui.core.codebook.changes import (
    CODE_EDIT,
    CODE_MERGE,
    CODE_MOVE,
    CODE_RETIRE,
    Change,
    ChangeRefused,
    OpenCodebook,
)
from tui.core.codebook.model import Codebook
from tui.core.project.codebook_log import effective_codebook
from tui.core.project.events import CONSENSUS, UNDO, Event, new_event_id, utcnow
from tui.core.project.store import Store
from tui.core.safe import clean
from tui.core.sync.codebook_diff import EDIT, GONE, PLACE, RESOLVES, SIMILAR, CodebookDiff, codebook_differences
from tui.core.sync.consensus import ConsensusError

SIDE_KEYS = "ab3456789"
"""The key of each side's option, in side order (a and b, then digits for a third coder on)."""
BOTH, TYPED = "o", "e"


@dataclass(frozen=True)
class Option:
    """One way to resolve a difference: the key that picks it and what it does (one line)."""

    key: str
    label: str


def options(diff: CodebookDiff, codebook: Codebook) -> list[Option]:
    """The choices a difference offers, in the order the screen lists them."""
    out: list[Option] = []
    sides = list(zip(SIDE_KEYS, diff.sides, strict=False))
    if diff.kind == SIMILAR:
        for key, side in sides:
            others = [s for s in diff.sides if s is not side]
            out.append(Option(key, f"keep {side.coder}'s '{_name(codebook, side.code_id)}' and merge "
                                   + ", ".join(f"'{_name(codebook, s.code_id)}'" for s in others) + " into it"))
        out.append(Option(BOTH, "keep both: they are different codes"))
    elif diff.kind == PLACE:
        seen: set[object] = set()
        for key, side in sides:
            if side.value not in seen:
                seen.add(side.value)
                out.append(Option(key, f"place under '{_path(codebook, str(side.value))}' ({side.coder}'s)"))
    elif diff.kind == EDIT:
        out += [Option(key, f"{side.coder}'s {diff.field}: {side.says}") for key, side in sides]
        if diff.can_type:
            out.append(Option(TYPED, f"type a new {diff.field}"))
    elif diff.kind == GONE:
        first = diff.sides[0]
        out.append(Option("a", f"confirm: {first.coder} {first.says}"))
        out.append(Option("b", "undo it: the code comes back, with every coding of it"))
    return [Option(o.key, clean(o.label, oneline=True)) for o in out]


def _name(codebook: Codebook, node_id: str) -> str:
    node = codebook.node(node_id)
    return node.name if node is not None else node_id


def _path(codebook: Codebook, node_id: str) -> str:
    return codebook.path_str(node_id) if codebook.node(node_id) is not None else node_id


def _planned(diff: CodebookDiff, key: str, typed: str, codebook: Codebook) -> list[tuple[str, str, dict[str, Any]]]:
    """The consensus changes (kind, code id, value) that the option `key` makes."""
    index = SIDE_KEYS.find(key)
    side = diff.sides[index] if 0 <= index < len(diff.sides) else None
    if diff.kind == SIMILAR:
        if key == BOTH:
            kept = diff.sides[0].code_id
            return [(CODE_EDIT, kept, {"name": _name(codebook, kept)})]
        if side is not None:
            return [(CODE_MERGE, s.code_id, {"into": side.code_id}) for s in diff.sides if s is not side]
    elif diff.kind == PLACE and side is not None:
        parent = str(side.value)
        moved = [(CODE_MOVE, s.code_id, {"parent": parent}) for s in diff.sides
                 if getattr(codebook.node(s.code_id), "parent_id", None) != parent]
        # One code moved two ways and already where the lead wants it: the choice is still recorded.
        return list({c[1]: c for c in moved}.values()) or [(CODE_MOVE, side.code_id, {"parent": parent})]
    elif diff.kind == EDIT:
        if key == TYPED and diff.can_type:
            if not typed.strip():
                raise ConsensusError(f"Type the new {diff.field} first.")
            return [(CODE_EDIT, diff.sides[0].code_id, {diff.field: typed.strip()})]
        if side is not None:
            return [(CODE_EDIT, side.code_id, {diff.field: side.value})]
    elif diff.kind == GONE and key in ("a", "b"):
        first = diff.sides[0]
        if key == "a":
            into = codebook.resolve(first.code_id) or first.code_id
            return [(CODE_MERGE, first.code_id, {"into": into}) if first.says.startswith("merged")
                    else (CODE_RETIRE, first.code_id, {"retired": True})]
        if not first.says.startswith("merged"):
            return [(CODE_RETIRE, first.code_id, {"retired": False})]
        return []  # undoing a merge: the merge itself is taken back (below)
    raise ConsensusError(f"{clean(key, oneline=True)!r} is not one of this difference's choices.")


def choose(store: Store, file_codebook: Codebook, diff: CodebookDiff, key: str, *, typed: str = "", by: str = "",
           coders: list[str] | None = None) -> list[str]:
    """Record the lead's choice on `diff` as consensus codebook changes, all or nothing; what each did.

    Raises ConsensusError with one sentence when the difference is already resolved or the fold refuses
    the change (nothing is then written).
    """
    if diff.key not in {d.key for d in codebook_differences(store, file_codebook, coders)}:
        raise ConsensusError("This codebook difference is already resolved; nothing was recorded.")
    codebook = effective_codebook(store.db.conn, file_codebook)[0]
    planned = _planned(diff, key, typed, codebook)
    work = OpenCodebook(codebook)
    events: list[Event] = []
    said: list[str] = []
    marker = {RESOLVES: diff.key} | ({"by": by} if by else {})
    for kind, code_id, value in planned:
        at, eid = utcnow(), new_event_id()
        change = Change(kind, code_id, {**value, **marker}, CONSENSUS, at, eid, None)
        try:
            work.check(change)
        except ChangeRefused as exc:
            raise ConsensusError(f"{exc} Nothing was recorded.") from None
        said.append(work.apply(change).summary)
        events.append(Event(CONSENSUS, None, kind, code_id=code_id, id=eid, at=at, codebook_hash=codebook.hash,
                            value=json.dumps(change.value, ensure_ascii=False, sort_keys=True)))
    if not planned:  # undo a merge: a consensus undo of the merge event, which then no longer stands
        if store.db.conn.execute("SELECT 1 FROM events WHERE id = ?", (diff.change_id,)).fetchone() is None:
            raise ConsensusError("The merge to undo is no longer in this project; nothing was recorded.")
        # On no post, whatever post the merge was made on: consensus's decisions on posts stay its own.
        events.append(Event(CONSENSUS, None, UNDO, ref=diff.change_id, codebook_hash=codebook.hash))
        said.append(f"took back {clean(diff.sides[0].coder, oneline=True)}'s merge")
    if diff.kind == SIMILAR and key == BOTH:  # recorded as a rename to the same name, which is not news
        said = ["kept both: " + ", ".join(f"'{_name(codebook, s.code_id)}'" for s in diff.sides)]
    store.record_many(events)
    return [clean(s, oneline=True) for s in said]
