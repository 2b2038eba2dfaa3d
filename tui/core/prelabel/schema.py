"""The tables the prelabel subpackage owns: the score cache, embeddings, suggestions and the log of runs."""

from __future__ import annotations

from tui.core.project.migrations import Step

PRELABEL = Step(1, "prelabel", (
    """CREATE TABLE prelabel_cache (
        text_hash TEXT NOT NULL, model_hash TEXT NOT NULL, prompt_hash TEXT NOT NULL,
        kind TEXT NOT NULL, code_id TEXT NOT NULL DEFAULT '', score REAL NOT NULL, created_at TEXT,
        PRIMARY KEY (text_hash, model_hash, prompt_hash, kind, code_id)
    )""",
    """CREATE TABLE embeddings (
        text_hash TEXT NOT NULL, model_hash TEXT NOT NULL, dim INTEGER NOT NULL, vector BLOB NOT NULL,
        PRIMARY KEY (text_hash, model_hash)
    )""",
    """CREATE TABLE suggestions (
        post_id INTEGER NOT NULL REFERENCES posts(id), kind TEXT NOT NULL, code_id TEXT NOT NULL DEFAULT '',
        score REAL NOT NULL, source TEXT NOT NULL DEFAULT 'llm', model_hash TEXT, prompt_hash TEXT,
        created_at TEXT, PRIMARY KEY (post_id, kind, code_id)
    )""",
    """CREATE TABLE prelabel_runs (
        id INTEGER PRIMARY KEY, model TEXT, model_hash TEXT, prompt_hash TEXT, backend TEXT,
        threshold REAL, started_at TEXT, finished_at TEXT, n_posts INTEGER DEFAULT 0,
        n_scored INTEGER DEFAULT 0, n_cached INTEGER DEFAULT 0, status TEXT
    )""",
))

STEPS = (PRELABEL,)
