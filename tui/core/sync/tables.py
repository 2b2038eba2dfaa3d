"""The project's agreement table: relevance, post types, categories, codes and sub-codes, from the event log."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tui.core.codebook.model import Category, Codebook
from tui.core.project.state import PostState
from tui.core.project.store import Store
from tui.core.sync.agreement import CodeAgreement, code_agreement
from tui.core.sync.consensus import (
    current_codes,
    default_coders,
    finished_in_common,
    is_relevant,
    load_states,
    screened_in_common,
)

POST_TYPES = "post-types"
BY = ("code", "subcode", "category", "relevance", "all")
LEVELS = {
    "relevance": ("relevance",),
    "code": ("relevance", "post-type", "code"),
    "subcode": ("relevance", "post-type", "subcode"),
    "category": ("relevance", "category"),
    "all": ("relevance", "post-type", "category", "code", "subcode"),
}
"""Which row levels each `--by` shows, in order."""


@dataclass(frozen=True)
class AgreementRow:
    """One line of the table: relevance, a post type, a category, a code or a sub-code."""

    level: str
    id: str
    name: str
    result: CodeAgreement

    def as_dict(self) -> dict[str, Any]:
        """The row as plain data (for JSON and CSV)."""
        r = self.result
        return {
            "level": self.level, "id": self.id, "name": self.name, "posts": r.n_posts, "percent": r.percent,
            "kappa": r.kappa, "alpha": r.alpha, "both": r.both, "only": dict(r.only), "neither": r.neither,
            "disagree": r.disagree,
        }


@dataclass(frozen=True)
class AgreementTable:
    """Agreement between `coders`: relevance over the `n_screened` posts they all screened, codes over the
    `n_posts` posts they all finished."""

    coders: tuple[str, ...]
    n_posts: int
    by: str
    rows: tuple[AgreementRow, ...]
    n_screened: int = 0


def _mappers(codebook: Codebook) -> dict[str, Callable[[str], str | None]]:
    """Current id -> the id it counts under at each level (None: not counted at that level)."""

    def code(cid: str) -> str | None:
        node = codebook.node(cid)
        if node is None:
            return cid  # unknown ids stay visible at code level; `codebook orphans` explains them
        if isinstance(node, Category):
            return None
        return node.parent_id if node.level == 3 else node.id

    def category(cid: str) -> str | None:
        node = codebook.node(cid)
        return None if node is None else (node.id if isinstance(node, Category) else node.category_id)

    return {"code": code, "subcode": lambda cid: cid, "category": category}


def _codings(states: Mapping[str, Mapping[int, PostState]], posts: set[int],
             codebook: Codebook) -> dict[str, dict[str, set[str]]]:
    out: dict[str, dict[str, set[str]]] = {}
    for coder, by_post in states.items():
        out[coder] = {str(pid): current_codes(by_post[pid], codebook) for pid in posts}
    return out


def _rollup(codings: dict[str, dict[str, set[str]]], fn: Callable[[str], str | None]) -> dict[str, dict[str, set[str]]]:
    memo: dict[str, str | None] = {}
    out: dict[str, dict[str, set[str]]] = {}
    for coder, by_post in codings.items():
        mapped: dict[str, set[str]] = {}
        for pid, ids in by_post.items():
            keep = set()
            for cid in ids:
                if cid not in memo:
                    memo[cid] = fn(cid)
                if memo[cid] is not None:
                    keep.add(memo[cid])
            mapped[pid] = keep  # type: ignore[assignment]
        out[coder] = mapped
    return out


def agreement_table(store: Store, codebook: Codebook, *, coders: Sequence[str] | None = None,
                    by: str = "code") -> AgreementTable:
    """Percent agreement, kappa (two coders), alpha and counts per row.

    The relevance row covers the posts all coders screened (a standing relevance decision, or
    finished); code rows cover the posts all coders finished (screened out, or coded and done).
    """
    if by not in BY:
        raise ValueError(f"Unknown --by {by!r}: use {', '.join(BY)}.")
    chosen = default_coders(store, coders)
    states = load_states(store, chosen)
    posts = finished_in_common(states)
    screened = screened_in_common(states)
    rows: list[AgreementRow] = []
    rel = {c: {str(pid): ({"relevant"} if is_relevant(states[c][pid]) else set()) for pid in screened}
           for c in chosen}
    rows.append(AgreementRow("relevance", "relevance", "Relevance",
                             code_agreement(rel, codes=["relevant"])[0]))
    levels = LEVELS[by]
    if len(levels) > 1:
        rank = {node.id: i for i, node in enumerate(codebook.nodes())}
        leaf = _codings(states, posts, codebook)
        mappers = _mappers(codebook)
        rolled: dict[str, dict[str, dict[str, set[str]]]] = {"subcode": leaf}
        for level in levels[1:]:
            basis = "code" if level == "post-type" else level
            if basis not in rolled:
                rolled[basis] = _rollup(leaf, mappers[basis])
            results = code_agreement(rolled[basis])
            picked = []
            for r in results:
                node = codebook.node(r.code_id)
                is_type = node is not None and not isinstance(node, Category) and node.category_id == POST_TYPES
                if level == "post-type" and not is_type:
                    continue
                if level in ("code", "subcode") and is_type:
                    continue  # shown in their own post-type rows
                name = codebook.path_str(r.code_id) if node is not None else f"{r.code_id} (not in the codebook)"
                picked.append(AgreementRow(level, r.code_id, name, r))
            picked.sort(key=lambda row: (rank.get(row.id, len(rank)), row.id))
            rows.extend(picked)
    return AgreementTable(tuple(chosen), len(posts), by, tuple(rows), len(screened))
