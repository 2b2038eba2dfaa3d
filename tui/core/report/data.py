"""The data every report section reads: each coder's derived state per post, and the team's consensus view.

The consensus view is what the team settled on: on a post the coders reconciled, the `consensus`
coder's decisions; on a post every coder who opened it finished with the same relevance and the
same codes, that shared decision; posts still in dispute are left out (and counted in `pending`).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from itertools import groupby

from tui.core.codebook.changes import CODE_CREATE
from tui.core.codebook.model import Category, Codebook
from tui.core.project.codebook_log import codebook_changes
from tui.core.project.events import CONSENSUS
from tui.core.project.state import PostState, derive_state
from tui.core.project.store import Store

__all__ = ["ALL", "CoderPost", "ReportData", "ReportError"]

ALL = "all coders"
"""The pooled view: a post has a code if any coder (not the consensus) applied it."""
_COLS = ("id", "coder", "post_id", "kind", "code_id", "value", "ref", "at")


class ReportError(Exception):
    """A report that cannot be made from this project, in one sentence."""


@dataclass
class CoderPost:
    """One coder's state on one post, with the time of their first event on it (the coding order)."""

    post_id: int
    first_at: str
    state: PostState
    codes: frozenset[str] = frozenset()  # current ids of the codes that stand; none if judged irrelevant


@dataclass
class ReportData:
    """Every coder's derived state per post (plus the consensus view), loaded in one pass over the events."""

    codebook: Codebook
    coders: dict[str, dict[int, CoderPost]]
    labels: dict[int, str]
    n_posts: int
    pending: int = 0  # posts the coders disagree on that nobody has reconciled yet
    created: dict[str, dict[int, list[str]]] = field(default_factory=dict)
    """coder -> post id -> ids of the codes created on that post while coding (open coding), in order."""
    creations: dict[str, tuple[str, str, int | None]] = field(default_factory=dict)
    """code id -> (time, coder, post id or None) of the change that created it while coding."""
    _codings: dict[str, dict[int, tuple[str, frozenset[str]]]] = field(default_factory=dict, repr=False)
    _rollup: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False)
    _resolved: dict[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, store: Store, codebook: Codebook) -> ReportData:
        """Read the events once, grouped by coder and post, derive each state, build the consensus view."""
        conn = store.db.conn
        n_posts = store.count_posts()
        if n_posts == 0:
            raise ReportError("The project has no posts yet: run `qualtui import FILE` first.")
        cur = conn.cursor()
        cur.row_factory = sqlite3.Row
        cur.execute(f"SELECT {', '.join(_COLS)} FROM events WHERE post_id IS NOT NULL ORDER BY coder, post_id")
        coders: dict[str, dict[int, CoderPost]] = {}
        data = cls(codebook, coders, {}, n_posts)
        for (coder, post_id), rows in groupby(cur, key=lambda r: (r[1], r[2])):
            group = list(rows)
            st = derive_state(group)
            coders.setdefault(coder, {})[post_id] = CoderPost(post_id, min(r["at"] for r in group), st,
                                                              data.current(st))
        data.labels = dict(conn.execute("SELECT id, label FROM posts"))
        for ch in codebook_changes(conn):  # the standing ones: an undone creation never happened
            if ch.kind != CODE_CREATE or ch.value.get("category"):
                continue
            data.creations.setdefault(ch.code_id, (ch.at, ch.coder, ch.post_id))
            if ch.post_id is not None:
                data.created.setdefault(ch.coder, {}).setdefault(ch.post_id, []).append(ch.code_id)
        data._build_consensus()
        return data

    def humans(self) -> list[str]:
        """The coders, without the consensus."""
        return sorted(c for c in self.coders if c != CONSENSUS)

    def coder_names(self) -> list[str]:
        """The coders, then the consensus view if there is one."""
        return self.humans() + ([CONSENSUS] if self.coders.get(CONSENSUS) else [])

    def require(self, coder: str) -> None:
        """Fail clearly when there are no decisions at all, or none by this coder."""
        if not self.humans() and not self.coders.get(CONSENSUS):
            raise ReportError("No post has been coded yet: there are no decisions in this project.")
        if coder != ALL and not self.coders.get(coder):
            known = ", ".join(self.coder_names()) or "none"
            what = "no agreed or reconciled posts yet" if coder == CONSENSUS else "no decisions in this project"
            raise ReportError(f"Coder {coder!r} has {what} (coders: {known}).")

    def current(self, st: PostState) -> frozenset[str]:
        """The codes on a state as current ids; none when the post was judged irrelevant."""
        if st.relevance == 0 or not st.codes:
            return frozenset()
        known = self._resolved
        out = []
        for c in st.codes:
            cur = known.get(c)
            if cur is None:
                cur = known[c] = self.codebook.resolve(c) or c
            out.append(cur)
        return frozenset(out)

    def _build_consensus(self) -> None:
        own = self.coders.pop(CONSENSUS, {})
        humans = self.humans()
        if len(humans) < 2 and not own:
            return
        view: dict[int, CoderPost] = {}
        pending = 0
        maps = [self.coders[h] for h in humans]
        for pid in sorted(set(own).union(*maps)):
            took = [m[pid] for m in maps if pid in m]
            mine = own.get(pid)
            first = min(cp.first_at for cp in took) if took else mine.first_at if mine else ""
            if mine is not None and mine.state.n_events:
                codes, rel = mine.codes, mine.state.relevance
                relevance = 0 if rel == 0 else 1 if rel == 1 or codes else rel
            elif len(took) >= 2 and all(cp.state.finished for cp in took):
                verdicts = {(_relevant(cp.state), cp.codes) for cp in took}
                if len(verdicts) > 1:
                    pending += 1
                    continue
                relevant, codes = verdicts.pop()
                relevance = int(relevant)
            else:
                continue
            state = PostState(relevance=relevance, codes=dict.fromkeys(sorted(codes), first), done=True)
            sources = took + [mine] if mine is not None else took
            if any(cp.state.quotes for cp in sources):
                kept = {(q.code_id, q.text): q for cp in sources for q in cp.state.quotes
                        if (self.codebook.resolve(q.code_id) or q.code_id) in codes}
                state.quotes = list(kept.values())
            view[pid] = CoderPost(pid, first, state, codes)
        self.coders[CONSENSUS] = view
        self.pending = pending

    def codings(self, coder: str) -> dict[int, tuple[str, frozenset[str]]]:
        """post id -> (first event time, current code ids) for a coder, the consensus or ALL.

        Posts judged irrelevant, and posts with no code, are left out.
        """
        if coder in self._codings:
            return self._codings[coder]
        self.require(coder)
        out: dict[int, tuple[str, frozenset[str]]] = {}
        for name in self.humans() if coder == ALL else [coder]:
            for pid, cp in self.coders[name].items():
                ids = cp.codes
                if not ids:
                    continue
                if pid in out:
                    first, have = out[pid]
                    out[pid] = (min(first, cp.first_at), have | ids)
                else:
                    out[pid] = (cp.first_at, ids)
        self._codings[coder] = out
        return out

    def rollup(self, code_id: str) -> tuple[str, ...]:
        """The node and its ancestors (sub-code, code, category); the id alone if unknown."""
        found = self._rollup.get(code_id)
        if found is None:
            node = self.codebook.node(code_id)
            found = (code_id,) if node is None else tuple(n.id for n in reversed(self.codebook.lineage(node.id)))
            self._rollup[code_id] = found
        return found

    def code_level(self, code_id: str) -> str:
        """The level-2 code a code or sub-code belongs to (the id itself if unknown or a category)."""
        node = self.codebook.node(code_id)
        if node is None or isinstance(node, Category):
            return code_id
        return node.id if node.level == 2 else node.parent_id

    def label(self, post_id: int) -> str:
        """The pseudonymous label of a post."""
        return self.labels.get(post_id, f"#{post_id}")


def _relevant(st: PostState) -> bool:
    """Relevance as the reconciliation compares it: an explicit decision, else relevant if coded."""
    return st.relevance == 1 or (st.relevance is None and bool(st.codes))
