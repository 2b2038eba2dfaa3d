"""Checks made before a file is opened as a project, and removing a project file a failed command made."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

from tui.core.project import migrations as M
from tui.core.project.errors import StoreError

SQLITE_HEADER = b"SQLite format 3\x00"


def remove_project_file(path: Path) -> None:
    """Delete a project file and its WAL companions (only for a file a failed command just created)."""
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        try:
            p.unlink()
        except FileNotFoundError:
            pass


def check_is_project(conn: sqlite3.Connection, shown: str, readonly: bool) -> None:
    """Refuse another program's SQLite database, or a project from a newer qualtui, only reading."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not tables:
        if readonly:
            raise StoreError(f"{shown} is an empty SQLite database, not a qualtui project; nothing was changed.")
        return  # a new (or empty) file: ours to set up
    if not {"migrations", "meta"} <= tables:
        raise StoreError(f"{shown} is an SQLite database but not a qualtui project; nothing was changed.")
    done = {r[0] for r in conn.execute("SELECT version FROM migrations")}
    newest = max(done, default=0)
    known = M.migrations()
    if newest > max(m.version for m in known):
        raise StoreError(f"{shown} was made by a newer qualtui (schema {newest}); "
                         "update qualtui to open it. Nothing was changed.")
    if readonly and any(m.needed_to_read for m in known if m.version not in done):
        raise StoreError(f"The project {shown} is read-only and needs an upgrade that writes to it; "
                         "open it once with write access.")


def check_header(path: Path, shown: str) -> None:
    """Refuse a file that is not an SQLite database, reading only its first bytes."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise StoreError(f"The project {shown} cannot be read ({exc.strerror}).") from None
    if head != SQLITE_HEADER:
        raise StoreError(f"{shown} is not a qualtui project (it is not an SQLite database); nothing was changed.")


def uri_path(path: Path) -> str:
    """A path quoted for an SQLite `file:` URI (`?` and `#` in a name would otherwise end it)."""
    return quote(str(path.absolute()), safe="/")
