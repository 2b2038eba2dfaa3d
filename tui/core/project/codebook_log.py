"""The codebook changes in a project's log, and the effective codebook they make with the codebook file."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from tui.core.codebook.changes import Applied, Change, change_from_row, fold
from tui.core.codebook.model import Codebook
from tui.core.project.events import CODEBOOK_KINDS

__all__ = ["WRITTEN_KEY", "codebook_changes", "effective_codebook", "with_project_changes", "written_ids"]

WRITTEN_KEY = "codebook.written"
"""project_settings key: the ids of the changes `qualtui codebook write` folded into the file (one per line)."""

_KINDS = tuple(sorted(CODEBOOK_KINDS))
_MARKS = ", ".join("?" * len(_KINDS))


def codebook_changes(conn: sqlite3.Connection) -> list[Change]:
    """Every codebook change that stands (after undo and redo), from every coder, in (time, id) order."""
    rows = conn.execute("SELECT id, coder, post_id, kind, code_id, value, at FROM events WHERE kind IN (" + _MARKS
                        + ")", _KINDS).fetchall()
    # Undo and redo of codebook changes are rare: count them apart, in (time, id) order as active_events does.
    balance: dict[str, int] = {}
    for kind, ref in conn.execute(
            "SELECT kind, ref FROM events WHERE kind IN ('undo', 'redo') AND ref IN (SELECT id FROM events "
            "WHERE kind IN (" + _MARKS + ")) ORDER BY at, id", _KINDS):
        balance[ref] = balance.get(ref, 0) + (1 if kind == "undo" else -1)
    rows.sort(key=lambda r: (r[6], r[0]))
    return [change_from_row({"id": r[0], "coder": r[1], "post_id": r[2], "kind": r[3], "code_id": r[4],
                             "value": r[5], "at": r[6]}) for r in rows if balance.get(r[0], 0) <= 0]


def written_ids(conn: sqlite3.Connection) -> frozenset[str]:
    """The changes already folded into the codebook file by `qualtui codebook write`."""
    row = conn.execute("SELECT value FROM project_settings WHERE key = ?", (WRITTEN_KEY,)).fetchone()
    return frozenset(row[0].split()) if row else frozenset()


def effective_codebook(conn: sqlite3.Connection, file_codebook: Codebook) -> tuple[Codebook, list[Applied]]:
    """The codebook file plus the project's changes not yet written into it, and what each change did."""
    done = written_ids(conn)
    changes = [c for c in codebook_changes(conn) if c.id not in done]
    return fold(file_codebook.file_codebook(), changes)


def with_project_changes(db_path: str | os.PathLike[str], file_codebook: Codebook) -> Codebook:
    """The effective codebook of the project at `db_path`, read without the store (quick, for `qualtui lookup`).

    A path that is not a readable qualtui project gives the file's codebook unchanged: the command that
    opens the project says what is wrong with it.
    """
    path = Path(db_path)
    if not path.is_file():
        return file_codebook
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return file_codebook
    try:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'").fetchone():
            return file_codebook
        return effective_codebook(conn, file_codebook)[0]
    except sqlite3.Error:
        return file_codebook
    finally:
        conn.close()
