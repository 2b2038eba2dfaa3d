"""The coders' decisions that learning and the scorecard use: one coder's, or consensus, else the majority."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tui.core.project.events import CONSENSUS
from tui.core.project.store import Store

__all__ = ["HumanLabels", "human_labels"]


@dataclass
class HumanLabels:
    """The coders' decisions the learner and the scorecard use."""

    relevance: dict[int, int] = field(default_factory=dict)  # post id -> 0 | 1
    codes: dict[int, set[str]] = field(default_factory=dict)  # relevant, coded post -> code ids (parents added)
    source: str = ""


def _vote(values: Sequence[int]) -> int:
    # Majority; a tie counts as relevant / applied (with two coders: the union), as a screen should err.
    return int(2 * sum(values) >= len(values))


def human_labels(store: Store, codebook: Any, coder: str | None = None) -> HumanLabels:
    """Labels from one coder, else 'consensus' where it exists and the majority of the other coders elsewhere."""
    if coder is not None:
        primary, others = store.states(coder), {}
        what = coder
    else:
        coders = store.coders()
        primary = store.states(CONSENSUS) if CONSENSUS in coders else {}
        others = {c: store.states(c) for c in coders if c != CONSENSUS}
        what = ("consensus, else " if primary else "") + ("majority of " + ", ".join(others) if others else "")
    out = HumanLabels(source=what.removesuffix(", else ") or "nobody")
    for pid, st in primary.items():
        if st.relevance is not None:
            out.relevance[pid] = st.relevance
        if st.relevance == 1 and (st.done or st.codes):
            out.codes[pid] = _rolled_up(codebook, st.codes)
    rel_votes: dict[int, list[int]] = {}
    code_votes: dict[int, list[set[str]]] = {}
    for states in others.values():
        for pid, st in states.items():
            if pid in primary:
                continue
            if st.relevance is not None:
                rel_votes.setdefault(pid, []).append(st.relevance)
            if st.relevance == 1 and (st.done or st.codes):
                code_votes.setdefault(pid, []).append(_rolled_up(codebook, st.codes))
    for pid, votes in rel_votes.items():
        out.relevance[pid] = _vote(votes)
    for pid, sets in code_votes.items():
        if out.relevance.get(pid) == 1:
            # Majority over the coders who coded the post; a tie keeps the code (two coders: the union).
            out.codes[pid] = {c for c in set().union(*sets) if 2 * sum(c in s for s in sets) >= len(sets)}
    return out


def _rolled_up(codebook: Any, codes: Iterable[str]) -> set[str]:
    """Current code ids, each sub-code also counting for its parent code; unknown ids dropped."""
    found: set[str] = set()
    for raw in codes:
        node = codebook.node(raw)
        if node is None or getattr(node, "level", 1) < 2:
            continue
        found.add(node.id)
        if node.level == 3:
            found.add(node.parent_id)
    return found
