"""The tables the wellbeing subpackage owns: each coder's break state and exposure log (never exported unasked)."""

from __future__ import annotations

from tui.core.project.migrations import Step

WELLBEING = Step(1, "wellbeing", (
    "CREATE TABLE wb_state (coder TEXT PRIMARY KEY, state TEXT NOT NULL, updated_at TEXT)",
    """CREATE TABLE wb_log (
        id INTEGER PRIMARY KEY, coder TEXT NOT NULL, kind TEXT NOT NULL, at TEXT NOT NULL,
        day TEXT NOT NULL, minutes REAL NOT NULL DEFAULT 0, weighted REAL NOT NULL DEFAULT 0,
        value REAL, detail TEXT
    )""",
    "CREATE INDEX wb_log_coder_day ON wb_log(coder, day)",
))

STEPS = (WELLBEING,)
