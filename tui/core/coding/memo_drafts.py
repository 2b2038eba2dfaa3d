"""Unsaved memo drafts: what a coder typed but has not saved yet, kept until saved or discarded.

A draft belongs to the coder, like their well-being data: it lives in its own table, which no
export or merge reads. It is written as the coder types (the memo screen saves it at most a second
after a change), so closing the editor, a crash or kill -9 loses at most that last second.
"""

from __future__ import annotations

from tui.core.project.events import utcnow
from tui.core.project.store import Store

__all__ = ["discard_draft", "load_draft", "save_draft"]

_SCHEMA = """CREATE TABLE IF NOT EXISTS memo_drafts (
    coder TEXT NOT NULL, post_id INTEGER NOT NULL, text TEXT NOT NULL, updated_at TEXT NOT NULL,
    PRIMARY KEY (coder, post_id))"""


def _ensure(store: Store) -> None:
    # Created on first use, so projects made before drafts existed need no migration step.
    store.db.conn.execute(_SCHEMA)


def save_draft(store: Store, coder: str, post_id: int, text: str) -> None:
    """Keep the coder's unsaved memo text for this post (replacing an older draft)."""
    conn = store.db.conn
    with conn:
        _ensure(store)
        conn.execute("INSERT OR REPLACE INTO memo_drafts (coder, post_id, text, updated_at) VALUES (?, ?, ?, ?)",
                     (coder, post_id, text, utcnow()))


def load_draft(store: Store, coder: str, post_id: int) -> str | None:
    """The coder's unsaved memo text for this post, if there is one."""
    conn = store.db.conn
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'memo_drafts'").fetchone()
    if not exists:
        return None
    row = conn.execute("SELECT text FROM memo_drafts WHERE coder = ? AND post_id = ?", (coder, post_id)).fetchone()
    return None if row is None else str(row[0])


def discard_draft(store: Store, coder: str, post_id: int) -> None:
    """Forget the draft (after the memo was saved, or the coder discarded it)."""
    if load_draft(store, coder, post_id) is None:
        return
    conn = store.db.conn
    with conn:
        conn.execute("DELETE FROM memo_drafts WHERE coder = ? AND post_id = ?", (coder, post_id))
