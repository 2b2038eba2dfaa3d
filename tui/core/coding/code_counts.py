"""How many posts carry each code, for one coder and for every coder: the counts of the axial-coding tree.

Reading the codings is the slow part (one pass over the code events); counting them under the codebook
in force is quick, so a screen reads the codings once and counts again after each codebook change.
"""

from __future__ import annotations

from dataclasses import dataclass

from tui.core.codebook.model import Codebook
from tui.core.project.events import CODE_ADD, CODE_REMOVE, REDO, UNDO
from tui.core.project.store import Store

__all__ = ["CodeCount", "Codings", "code_counts", "count_codes", "read_codings"]

Codings = dict[str, dict[str, set[int]]]
"""coder -> code id as recorded -> the posts on which that code stands."""


@dataclass(frozen=True)
class CodeCount:
    """Posts carrying a code: the coder's own, and anyone's (each post counted once)."""

    mine: int = 0
    anyone: int = 0


def read_codings(store: Store) -> Codings:
    """Every coder's codes that stand on every post (after undo and redo), as `derive_state` folds them."""
    rows = store.db.conn.execute(
        "SELECT id, coder, post_id, kind, code_id, ref, at FROM events"
        " WHERE post_id IS NOT NULL AND kind IN (?, ?, ?, ?)", (CODE_ADD, CODE_REMOVE, UNDO, REDO)).fetchall()
    balance: dict[str, int] = {}
    decisions = []
    for event_id, coder, post_id, kind, code_id, ref, at in rows:
        if kind == UNDO:
            balance[ref] = balance.get(ref, 0) + 1
        elif kind == REDO:
            balance[ref] = balance.get(ref, 0) - 1
        else:
            decisions.append((at, event_id, coder, post_id, kind, code_id))
    decisions.sort()
    out: Codings = {}
    for _, event_id, coder, post_id, kind, code_id in decisions:
        if balance.get(event_id, 0) > 0:
            continue  # undone
        posts = out.setdefault(coder, {}).setdefault(code_id, set())
        if kind == CODE_ADD:
            posts.add(post_id)
        else:
            posts.discard(post_id)
    return out


def count_codes(codings: Codings, codebook: Codebook, coder: str) -> dict[str, CodeCount]:
    """Per current code id (merged ids count for the code kept): posts carrying it, the coder's and anyone's."""
    mine: dict[str, set[int]] = {}
    anyone: dict[str, set[int]] = {}
    for who, by_code in codings.items():
        for code_id, posts in by_code.items():
            if not posts:
                continue
            current = codebook.resolve(code_id) or code_id
            anyone.setdefault(current, set()).update(posts)
            if who == coder:
                mine.setdefault(current, set()).update(posts)
    return {cid: CodeCount(len(mine.get(cid, ())), len(posts)) for cid, posts in anyone.items()}


def code_counts(store: Store, codebook: Codebook, coder: str) -> dict[str, CodeCount]:
    """Read the codings and count them under `codebook`."""
    return count_codes(read_codings(store), codebook, coder)
