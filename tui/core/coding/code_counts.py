"""How many posts carry each code, for one coder and for every coder: the counts of the axial-coding tree."""

from __future__ import annotations

from dataclasses import dataclass

from tui.core.codebook.model import Codebook
from tui.core.project.store import Store

__all__ = ["CodeCount", "code_counts"]


@dataclass(frozen=True)
class CodeCount:
    """Posts carrying a code: the coder's own, and anyone's (each post counted once)."""

    mine: int = 0
    anyone: int = 0


def code_counts(store: Store, codebook: Codebook, coder: str) -> dict[str, CodeCount]:
    """Per current code id (merged ids count for the code kept): posts carrying it, the coder's and anyone's."""
    mine: dict[str, set[int]] = {}
    anyone: dict[str, set[int]] = {}
    for who in store.coders():
        for pid, state in store.states(who).items():
            for code_id in state.codes:
                current = codebook.resolve(code_id) or code_id
                anyone.setdefault(current, set()).add(pid)
                if who == coder:
                    mine.setdefault(current, set()).add(pid)
    return {cid: CodeCount(len(mine.get(cid, ())), len(posts)) for cid, posts in anyone.items()}
