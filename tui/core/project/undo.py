"""Undo and redo: the rules in one place.

A decision is never deleted. Undo appends an `undo` event whose `ref` is the decision's id; redo
appends a `redo` with the same `ref`. A decision stands while the redos of it are at least as many
as the undos (an undo of an undo is a redo). Every reader of the log folds it with `active_events`;
the app asks `undo_target` / `redo_target` what the next key press would take back or put back, and
records the event `compensating` builds.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any

from tui.core.project.events import DEFER, REDO, UNDO, UNDOABLE, Event, utcnow

__all__ = ["active_events", "compensating", "redo_target", "standing", "undo_target"]


def active_events(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The decision events that stand after undo/redo, in canonical (time, id) order."""
    rows = list(rows)
    undone: dict[str, int] = {}
    for r in sorted((r for r in rows if r["kind"] in (UNDO, REDO)), key=lambda r: (r["at"], r["id"])):
        undone[r["ref"]] = undone.get(r["ref"], 0) + (1 if r["kind"] == UNDO else -1)
    return sorted(
        (r for r in rows if r["kind"] in UNDOABLE and undone.get(r["id"], 0) <= 0),
        key=lambda r: (r["at"], r["id"]),
    )


def standing(conn: sqlite3.Connection, coder: str, since: str = "") -> Iterator[dict[str, Any]]:
    """The coder's decisions that still stand, newest first (those recorded at or after `since`).

    A deferral is left out: it moved the post to the end of the walk, which an undo could not put back.
    """
    cur = conn.execute("SELECT * FROM events WHERE coder = ? AND at >= ? ORDER BY seq DESC", (coder, since))
    cols = [d[0] for d in cur.description]
    balance: dict[str, int] = {}
    for raw in cur:
        r = dict(zip(cols, raw, strict=False))
        if r["kind"] == UNDO:
            balance[r["ref"]] = balance.get(r["ref"], 0) + 1
        elif r["kind"] == REDO:
            balance[r["ref"]] = balance.get(r["ref"], 0) - 1
        elif r["kind"] in UNDOABLE and r["kind"] != DEFER and balance.get(r["id"], 0) <= 0:
            yield r


def undo_target(conn: sqlite3.Connection, coder: str, since: str = "") -> dict[str, Any] | None:
    """The coder's most recent decision that still stands (what `undo` would take back)."""
    return next(standing(conn, coder, since), None)


def redo_target(conn: sqlite3.Connection, coder: str) -> dict[str, Any] | None:
    """The most recent undo not yet redone, while the coder has done nothing else since."""
    redone: set[str] = set()
    for kind, ref in conn.execute("SELECT kind, ref FROM events WHERE coder = ? ORDER BY seq DESC", (coder,)):
        if kind == REDO:
            redone.add(ref)
        elif kind == UNDO and ref in redone:
            redone.discard(ref)
        elif kind == UNDO:
            return _event(conn, ref)
        else:
            return None  # a new decision since the last undo: there is nothing to redo
    return None


def compensating(kind: str, target: dict[str, Any], coder: str, codebook_hash: str = "",
                 at: str | None = None) -> Event:
    """The `undo` or `redo` event that takes back or puts back `target` (an events row), made `at` (default now)."""
    if kind not in (UNDO, REDO):
        raise ValueError(f"{kind!r} is neither undo nor redo")
    return Event(coder, target["post_id"], kind, ref=target["id"], codebook_hash=codebook_hash, at=at or utcnow())


def _event(conn: sqlite3.Connection, event_id: str) -> dict[str, Any] | None:
    cur = conn.execute("SELECT * FROM events WHERE id = ?", (event_id,))
    row = cur.fetchone()
    return dict(zip([d[0] for d in cur.description], row, strict=False)) if row else None
