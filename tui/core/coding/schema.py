"""The tables the coding subpackage owns: each coder's queue, and unsaved memo drafts."""

from __future__ import annotations

from tui.core.project.migrations import Step

QUEUE = Step(1, "queue", (
    """CREATE TABLE queue (
        coder TEXT NOT NULL, position INTEGER NOT NULL, post_id INTEGER NOT NULL REFERENCES posts(id),
        created_at TEXT, seed INTEGER, PRIMARY KEY (coder, position)
    )""",
    "CREATE INDEX queue_coder_post ON queue(coder, post_id)",
))

MEMO_DRAFTS = Step(2, "memo drafts", (
    # IF NOT EXISTS: earlier releases made this table on first use, so a project may have it already.
    """CREATE TABLE IF NOT EXISTS memo_drafts (
        coder TEXT NOT NULL, post_id INTEGER NOT NULL, text TEXT NOT NULL, updated_at TEXT NOT NULL,
        PRIMARY KEY (coder, post_id))""",
), needed_to_read=False)  # load_draft reads a project without it as one without drafts

STEPS = (QUEUE, MEMO_DRAFTS)
