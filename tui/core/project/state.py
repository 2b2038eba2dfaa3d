"""What one coder has decided about one post, folded from their events."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tui.core.project.events import (
    CODE_ADD,
    CODE_REMOVE,
    CODEBOOK_KINDS,
    DEFER,
    DONE,
    FLAG,
    MEMO,
    QUOTE_ADD,
    QUOTE_REMOVE,
    RECONCILE,
    RELEVANCE,
    SKIP,
    SUGGESTION_ACCEPT,
    SUGGESTION_REJECT,
)
from tui.core.project.undo import active_events


@dataclass
class Quote:
    """A sentence (or span) a coder marked as evidence for a code."""

    event_id: str
    code_id: str
    start: int
    end: int
    text: str


@dataclass
class PostState:
    """What one coder has decided about one post, derived from the events."""

    relevance: int | None = None
    codes: dict[str, str] = field(default_factory=dict)  # code id -> time added, in order
    memo: str = ""
    flagged: bool = False
    skipped: bool = False
    done: bool = False
    deferred: bool = False
    quotes: list[Quote] = field(default_factory=list)
    suggestions: dict[str, str] = field(default_factory=dict)  # code id -> "accept" | "reject"
    reconcile: dict[str, Any] | None = None
    n_events: int = 0

    @property
    def finished(self) -> bool:
        """True when the coder is done with the post: screened out, or coded and marked done."""
        return self.relevance == 0 or self.done


def derive_state(rows: Iterable[dict[str, Any]]) -> PostState:
    """Fold one coder's events for one post into its current state (order-independent)."""
    st = PostState()
    removed_quotes: set[str] = set()
    active = active_events(rows)
    for r in active:
        if r["kind"] == QUOTE_REMOVE:
            removed_quotes.add(r["ref"])
    for r in active:
        kind = r["kind"]
        if kind in CODEBOOK_KINDS:
            continue  # a change to the codebook made while on this post: not a decision about it
        st.n_events += 1
        if kind == RELEVANCE:
            st.relevance = int(r["value"]) if r["value"] in ("0", "1") else None
        elif kind == CODE_ADD:
            st.codes.setdefault(r["code_id"], r["at"])
        elif kind == CODE_REMOVE:
            st.codes.pop(r["code_id"], None)
        elif kind == MEMO:
            st.memo = r["value"]
        elif kind == FLAG:
            st.flagged = r["value"] == "1"
        elif kind == SKIP:
            st.skipped = True
        elif kind == DONE:
            st.done = r["value"] != "0"
        elif kind == DEFER:
            st.deferred = True
        elif kind == QUOTE_ADD and r["id"] not in removed_quotes:
            try:
                q = json.loads(r["value"])
                st.quotes.append(Quote(r["id"], r["code_id"], int(q["start"]), int(q["end"]), str(q["text"])))
            except (ValueError, KeyError, TypeError):
                continue
        elif kind == SUGGESTION_ACCEPT:
            st.suggestions[r["code_id"]] = "accept"
        elif kind == SUGGESTION_REJECT:
            st.suggestions[r["code_id"]] = "reject"
        elif kind == RECONCILE:
            try:
                st.reconcile = json.loads(r["value"])
            except ValueError:
                st.reconcile = {"note": r["value"]}
    return st
