"""Schema migrations: each subpackage's tables, applied in order, and projects made by older releases."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tui.core.coding.memo_drafts import load_draft, save_draft
from tui.core.project.events import RELEVANCE, Event
from tui.core.project.migrations import SCHEMA_MODULES, migrations
from tui.core.project.store import Store, StoreError

# Migration 1 exactly as the first releases ran it: every table in one script.
OLD_M1 = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE imports (
    id INTEGER PRIMARY KEY, path TEXT, file_sha256 TEXT, format TEXT, platform TEXT,
    started_at TEXT, finished_at TEXT, n_read INTEGER DEFAULT 0, n_imported INTEGER DEFAULT 0,
    n_duplicates INTEGER DEFAULT 0, n_filtered INTEGER DEFAULT 0, n_rejected INTEGER DEFAULT 0,
    filters TEXT
);
CREATE TABLE posts (
    id INTEGER PRIMARY KEY, platform TEXT NOT NULL, platform_id TEXT NOT NULL,
    label TEXT NOT NULL UNIQUE, title TEXT NOT NULL DEFAULT '', text TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '[]', author TEXT NOT NULL DEFAULT '', posted_at TEXT,
    url TEXT NOT NULL DEFAULT '', source_keyword TEXT NOT NULL DEFAULT '',
    text_hash TEXT NOT NULL, import_id INTEGER REFERENCES imports(id),
    UNIQUE (platform, platform_id)
);
CREATE INDEX posts_text_hash ON posts(text_hash);
CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, coder TEXT NOT NULL,
    post_id INTEGER NOT NULL REFERENCES posts(id), kind TEXT NOT NULL,
    code_id TEXT NOT NULL DEFAULT '', value TEXT NOT NULL DEFAULT '', ref TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL, codebook_hash TEXT NOT NULL DEFAULT '', origin TEXT NOT NULL DEFAULT 'local'
);
CREATE INDEX events_coder_post ON events(coder, post_id);
CREATE INDEX events_post ON events(post_id);
CREATE TABLE queue (
    coder TEXT NOT NULL, position INTEGER NOT NULL, post_id INTEGER NOT NULL REFERENCES posts(id),
    created_at TEXT, seed INTEGER, PRIMARY KEY (coder, position)
);
CREATE INDEX queue_coder_post ON queue(coder, post_id);
CREATE TABLE prelabel_cache (
    text_hash TEXT NOT NULL, model_hash TEXT NOT NULL, prompt_hash TEXT NOT NULL,
    kind TEXT NOT NULL, code_id TEXT NOT NULL DEFAULT '', score REAL NOT NULL, created_at TEXT,
    PRIMARY KEY (text_hash, model_hash, prompt_hash, kind, code_id)
);
CREATE TABLE embeddings (
    text_hash TEXT NOT NULL, model_hash TEXT NOT NULL, dim INTEGER NOT NULL, vector BLOB NOT NULL,
    PRIMARY KEY (text_hash, model_hash)
);
CREATE TABLE suggestions (
    post_id INTEGER NOT NULL REFERENCES posts(id), kind TEXT NOT NULL, code_id TEXT NOT NULL DEFAULT '',
    score REAL NOT NULL, source TEXT NOT NULL DEFAULT 'llm', model_hash TEXT, prompt_hash TEXT,
    created_at TEXT, PRIMARY KEY (post_id, kind, code_id)
);
CREATE TABLE prelabel_runs (
    id INTEGER PRIMARY KEY, model TEXT, model_hash TEXT, prompt_hash TEXT, backend TEXT,
    threshold REAL, started_at TEXT, finished_at TEXT, n_posts INTEGER DEFAULT 0,
    n_scored INTEGER DEFAULT 0, n_cached INTEGER DEFAULT 0, status TEXT
);
CREATE TABLE wb_state (coder TEXT PRIMARY KEY, state TEXT NOT NULL, updated_at TEXT);
CREATE TABLE wb_log (
    id INTEGER PRIMARY KEY, coder TEXT NOT NULL, kind TEXT NOT NULL, at TEXT NOT NULL,
    day TEXT NOT NULL, minutes REAL NOT NULL DEFAULT 0, weighted REAL NOT NULL DEFAULT 0,
    value REAL, detail TEXT
);
CREATE INDEX wb_log_coder_day ON wb_log(coder, day);
CREATE TABLE project_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
TABLES = {"meta", "migrations", "imports", "posts", "events", "queue", "prelabel_cache", "embeddings",
          "suggestions", "prelabel_runs", "wb_state", "wb_log", "project_settings", "memo_drafts"}


def _old_project(path: Path, *, draft_table: bool = False) -> None:
    """A project file as migration 1 of an earlier release left it, with one post and one decision."""
    conn = sqlite3.connect(path)
    conn.executescript(OLD_M1)
    conn.executescript(
        "CREATE TABLE IF NOT EXISTS migrations (version INTEGER PRIMARY KEY, name TEXT, applied_at TEXT);"
        "INSERT INTO migrations VALUES (1, 'core schema', '2026-01-01T00:00:00.000Z');"
        "INSERT INTO meta VALUES ('project_id', 'abc'), ('salt', 'pepper'), ('created_at', '2026-01-01');"
        "INSERT INTO posts (platform, platform_id, label, text, text_hash) VALUES ('xhs', 'n1', 'P-abc', 'x', 'h');"
        "INSERT INTO events (id, coder, post_id, kind, value, at)"
        " VALUES ('e1', 'alice', 1, 'relevance', '1', '2026-01-01T00:00:00.000Z');"
    )
    if draft_table:  # earlier releases made it the first time a coder typed a memo
        conn.execute("CREATE TABLE IF NOT EXISTS memo_drafts (coder TEXT NOT NULL, post_id INTEGER NOT NULL,"
                     " text TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (coder, post_id))")
        conn.execute("INSERT INTO memo_drafts VALUES ('alice', 1, 'half a thought', '2026-01-01')")
    conn.commit()
    conn.close()


def _tables(store: Store) -> set[str]:
    return {r[0] for r in store.db.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not r[0].startswith("sqlite_")}


def _columns(store: Store) -> dict[str, list[tuple[object, ...]]]:
    conn = store.db.conn
    return {t: conn.execute(f"PRAGMA table_info({t})").fetchall() for t in sorted(_tables(store))}


def test_versions_run_in_order_and_version_1_keeps_its_name() -> None:
    found = migrations()
    assert [m.version for m in found] == sorted(m.version for m in found) == [1, 2, 3, 4]
    assert found[0].name == "core schema"
    # Within version 1 the owners' steps run in the fixed order of SCHEMA_MODULES.
    assert len(found[0].steps) == len(SCHEMA_MODULES)


@pytest.mark.parametrize("draft_table", [False, True])
def test_a_project_made_by_the_old_single_migration_opens_and_works(tmp_path: Path, draft_table: bool) -> None:
    path = tmp_path / "old.db"
    _old_project(path, draft_table=draft_table)
    with Store(path) as store:
        assert _tables(store) == TABLES
        assert [r[0] for r in store.db.execute("SELECT version FROM migrations ORDER BY version")] == [1, 2, 3, 4]
        assert store.meta("project_id") == "abc"  # nothing made afresh
        assert store.state("alice", 1).relevance == 1
        assert load_draft(store, "alice", 1) == ("half a thought" if draft_table else None)
        save_draft(store, "alice", 1, "a whole thought")
        store.record(Event("alice", 1, RELEVANCE, value="0"))
    with Store(path) as again:  # and it opens a second time without migrating anything
        assert again.db.execute("SELECT count(*) FROM migrations").fetchone()[0] == 4
        # Decisions made before arms were recorded have none: they were made with the suggestions shown.
        assert [r["arm"] for r in again.events(coder="alice")] == ["", ""]
        assert load_draft(again, "alice", 1) == "a whole thought"
        assert again.finished_posts("alice") == {1}


def test_an_upgraded_project_has_the_same_tables_and_columns_as_a_new_one(tmp_path: Path) -> None:
    _old_project(tmp_path / "old.db")
    with Store(tmp_path / "old.db") as old, Store(tmp_path / "new.db") as new:
        assert _columns(old) == _columns(new)
        assert _tables(new) == TABLES


def test_an_old_project_opens_read_only_without_drafts(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _old_project(path)
    with Store(path, readonly=True) as store:  # the drafts table is not needed to read
        assert "memo_drafts" not in _tables(store)
        assert load_draft(store, "alice", 1) is None
        assert store.state("alice", 1).relevance == 1


def test_a_read_only_project_missing_a_table_it_needs_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty-v0.db"
    conn = sqlite3.connect(path)
    conn.executescript("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
                       "CREATE TABLE migrations (version INTEGER PRIMARY KEY, name TEXT, applied_at TEXT);")
    conn.close()
    with pytest.raises(StoreError, match="needs an upgrade"):
        Store(path, readonly=True)


def test_a_failed_migration_leaves_nothing_half_done(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "old.db"
    _old_project(path)
    from tui.core.coding import schema

    broken = schema.MEMO_DRAFTS.__class__(2, "memo drafts", schema.MEMO_DRAFTS.statements + ("NOT SQL",))
    monkeypatch.setattr(schema, "STEPS", (schema.QUEUE, broken))
    migrations.cache_clear()
    try:
        with pytest.raises(StoreError, match="syntax error"):
            Store(path)
    finally:
        migrations.cache_clear()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT max(version) FROM migrations").fetchone()[0] == 1
    assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'memo_drafts'").fetchone()
