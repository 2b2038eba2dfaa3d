"""Codebook revisions: codes the codebook no longer knows, and the notes reconciliation left for its authors.

Renaming or moving a code keeps its id, so nothing changes for its events. Merging code B into code A
(A lists B under `former_ids`) re-maps B's events everywhere through `Codebook.resolve`. Removing a
code leaves its events in the log; `orphans` lists where they stand so the team can re-code them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from tui.core.codebook.model import Codebook
from tui.core.project.events import RECONCILE
from tui.core.project.store import Store
from tui.core.project.undo import active_events
from tui.core.sync.consensus import RELEVANCE_ITEM, load_states

UNCLEAR = "unclear definition"


@dataclass(frozen=True)
class Orphan:
    """A code id the codebook does not know (even as a former id), and where it still stands."""

    code_id: str
    coders: tuple[str, ...]
    labels: tuple[str, ...]
    quotes: int


def orphans(store: Store, codebook: Codebook) -> list[Orphan]:
    """Code ids applied (or quoted) in the coders' current decisions that the codebook does not know."""
    states = load_states(store, store.coders())
    labels = dict(store.db.conn.execute("SELECT id, label FROM posts"))
    found: dict[str, tuple[set[str], set[str], list[int]]] = {}
    for coder, by_post in states.items():
        for pid, st in by_post.items():
            ids = [(c, False) for c in st.codes] + [(q.code_id, True) for q in st.quotes if q.code_id]
            for cid, is_quote in ids:
                if codebook.resolve(cid) is not None:
                    continue
                who, where, quotes = found.setdefault(cid, (set(), set(), [0]))
                who.add(coder)
                where.add(labels.get(pid, f"#{pid}"))
                quotes[0] += is_quote
    return [Orphan(cid, tuple(sorted(who)), tuple(sorted(where)), quotes[0])
            for cid, (who, where, quotes) in sorted(found.items())]


@dataclass(frozen=True)
class RevisionNote:
    """A reconciliation reason worth reading when revising the codebook."""

    code_id: str
    name: str
    label: str
    type: str
    note: str
    choice: str
    by: str
    at: str


def revision_notes(store: Store, codebook: Codebook) -> dict[str, list[RevisionNote]]:
    """Reconcile reasons typed 'unclear definition' or carrying a note, grouped by code (codebook order).

    A note on one disputed item belongs to that code; a whole-post note belongs to every code the
    coders disputed on the post ('' when none was).
    """
    conn = store.db.conn
    cur = conn.execute("SELECT e.*, p.label FROM events e JOIN posts p ON p.id = e.post_id "
                       "WHERE e.kind IN (?, 'undo', 'redo')", (RECONCILE,))
    cols = [d[0] for d in cur.description]
    rows = [dict(zip(cols, r, strict=False)) for r in cur.fetchall()]
    groups: dict[str, list[RevisionNote]] = {}
    for r in active_events(rows):
        try:
            value = json.loads(r["value"])
        except ValueError:
            value = {"note": r["value"]}
        if not isinstance(value, dict):
            value = {"note": str(value)}
        kind, note = str(value.get("type") or "other"), str(value.get("note") or "").strip()
        if kind != UNCLEAR and not note:
            continue
        if r["code_id"]:
            items = [r["code_id"]]
        else:
            disputed = value.get("disputed")
            items = [str(x) for x in disputed] if isinstance(disputed, list) and disputed else [""]
        for item in items:
            cid = item if item in ("", RELEVANCE_ITEM) else (codebook.resolve(item) or item)
            if cid == "":
                name = "Whole post"
            elif cid == RELEVANCE_ITEM:
                name = "Relevance"
            else:
                name = codebook.path_str(cid) if codebook.node(cid) else f"{cid} (not in the codebook)"
            groups.setdefault(cid, []).append(RevisionNote(
                cid, name, r["label"], kind, note, str(value.get("choice") or ""), str(value.get("by") or ""),
                r["at"]))
    rank = {node.id: i for i, node in enumerate(codebook.nodes())}
    order = sorted(groups, key=lambda c: (c != RELEVANCE_ITEM, c == "", rank.get(c, len(rank)), c))
    return {c: sorted(groups[c], key=lambda n: (n.at, n.label)) for c in order}
