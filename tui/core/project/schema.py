"""The tables the project subpackage owns: meta, imports, posts, events, project_settings.

(The `migrations` table itself is made by the store before any migration runs.)
"""

from __future__ import annotations

import sqlite3

from tui.core.project.migrations import Step

CORE = Step(1, "core schema", (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)",
    """CREATE TABLE imports (
        id INTEGER PRIMARY KEY, path TEXT, file_sha256 TEXT, format TEXT, platform TEXT,
        started_at TEXT, finished_at TEXT, n_read INTEGER DEFAULT 0, n_imported INTEGER DEFAULT 0,
        n_duplicates INTEGER DEFAULT 0, n_filtered INTEGER DEFAULT 0, n_rejected INTEGER DEFAULT 0,
        filters TEXT
    )""",
    """CREATE TABLE posts (
        id INTEGER PRIMARY KEY, platform TEXT NOT NULL, platform_id TEXT NOT NULL,
        label TEXT NOT NULL UNIQUE, title TEXT NOT NULL DEFAULT '', text TEXT NOT NULL DEFAULT '',
        tags TEXT NOT NULL DEFAULT '[]', author TEXT NOT NULL DEFAULT '', posted_at TEXT,
        url TEXT NOT NULL DEFAULT '', source_keyword TEXT NOT NULL DEFAULT '',
        text_hash TEXT NOT NULL, import_id INTEGER REFERENCES imports(id),
        UNIQUE (platform, platform_id)
    )""",
    "CREATE INDEX posts_text_hash ON posts(text_hash)",
    """CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, coder TEXT NOT NULL,
        post_id INTEGER NOT NULL REFERENCES posts(id), kind TEXT NOT NULL,
        code_id TEXT NOT NULL DEFAULT '', value TEXT NOT NULL DEFAULT '', ref TEXT NOT NULL DEFAULT '',
        at TEXT NOT NULL, codebook_hash TEXT NOT NULL DEFAULT '', origin TEXT NOT NULL DEFAULT 'local'
    )""",
    "CREATE INDEX events_coder_post ON events(coder, post_id)",
    "CREATE INDEX events_post ON events(post_id)",
    # Team-wide settings (a lead's well-being ceilings, each coder's last place): the project's, not one module's.
    "CREATE TABLE project_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
))

# Open coding records codebook changes that belong to no post (made on the axial-coding screen): the
# events table is rebuilt with post_id allowed to be NULL. An index on kind keeps reading the codebook
# changes of a large project quick.
CODEBOOK_EVENTS = Step(3, "codebook changes", (
    """CREATE TABLE events_new (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, coder TEXT NOT NULL,
        post_id INTEGER REFERENCES posts(id), kind TEXT NOT NULL,
        code_id TEXT NOT NULL DEFAULT '', value TEXT NOT NULL DEFAULT '', ref TEXT NOT NULL DEFAULT '',
        at TEXT NOT NULL, codebook_hash TEXT NOT NULL DEFAULT '', origin TEXT NOT NULL DEFAULT 'local'
    )""",
    "INSERT INTO events_new (seq, id, coder, post_id, kind, code_id, value, ref, at, codebook_hash, origin)"
    " SELECT seq, id, coder, post_id, kind, code_id, value, ref, at, codebook_hash, origin FROM events",
    "DROP TABLE events",
    "ALTER TABLE events_new RENAME TO events",
    "CREATE INDEX events_coder_post ON events(coder, post_id)",
    "CREATE INDEX events_post ON events(post_id)",
    "CREATE INDEX events_kind ON events(kind)",
), needed_to_read=False)

# The arm of the study a decision was made in: "blind" (no model output on screen), "shown", or ""
# for decisions recorded before arms were (they were made with the suggestions on screen).
ARMS = Step(4, "decision arms", (
    "ALTER TABLE events ADD COLUMN arm TEXT NOT NULL DEFAULT ''",
), needed_to_read=False)  # readers ask arm_column: an old project opened read-only has no arms, all shown


def arm_column(conn: sqlite3.Connection, table: str = "") -> str:
    """What to select for an event's arm: the column, or '' in a project too old to have it (read-only)."""
    names = {row[1] for row in conn.execute("PRAGMA table_info(events)")}
    return f"{table + '.' if table else ''}arm" if "arm" in names else "''"


STEPS = (CORE, CODEBOOK_EVENTS, ARMS)
