"""Unsaved memo drafts: what a coder typed but has not saved yet, kept until saved or discarded.

A draft belongs to the coder, like their well-being data: it lives in its own table (`memo_drafts`,
made by migration 2 in `coding/schema.py`), which no export or merge reads. It is written as the
coder types (the memo screen saves it at most a second after a change), so closing the editor, a
crash or kill -9 loses at most that last second.
"""

from __future__ import annotations

from tui.core.project.events import utcnow
from tui.core.project.store import Store

__all__ = ["discard_draft", "load_draft", "save_draft"]


def save_draft(store: Store, coder: str, post_id: int, text: str) -> None:
    """Keep the coder's unsaved memo text for this post (replacing an older draft)."""
    conn = store.db.conn
    with conn:
        conn.execute("INSERT OR REPLACE INTO memo_drafts (coder, post_id, text, updated_at) VALUES (?, ?, ?, ?)",
                     (coder, post_id, text, utcnow()))


def load_draft(store: Store, coder: str, post_id: int) -> str | None:
    """The coder's unsaved memo text for this post, if there is one."""
    conn = store.db.conn
    # A project made before drafts had a table and opened read-only (so not migrated) has no drafts.
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
