"""The project's errors, and SQLite's own failures (busy, read-only, full...) told in one sentence each."""

from __future__ import annotations

import os
import sqlite3

from tui.core.safe import clean


class StoreError(Exception):
    """A problem with the project database a user can act on."""


class WriteRefused(StoreError):
    """A write the project did not take (busy, read-only, disk full); nothing of it was written.

    `kind` is what `db_error_kind` says ("busy", "readonly", "full", "io", ...).
    """

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


# SQLite's primary result codes (the low byte of an extended code) that a user can act on.
_KINDS = {5: "busy", 6: "busy", 8: "readonly", 13: "full", 10: "io", 14: "cantopen", 11: "corrupt", 26: "notadb"}
_MESSAGES = (  # for errors raised without a code (older Pythons, wrapped errors)
    ("database is locked", "busy"), ("database table is locked", "busy"), ("busy", "busy"),
    ("readonly database", "readonly"), ("disk is full", "full"), ("disk i/o error", "io"),
    ("unable to open database file", "cantopen"), ("malformed", "corrupt"), ("file is not a database", "notadb"),
)


def db_error_kind(exc: BaseException) -> str | None:
    """What kind of SQLite failure `exc` is: busy, readonly, full, io, cantopen, corrupt, notadb, or None."""
    if not isinstance(exc, sqlite3.Error):
        return None
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int) and (code & 0xFF) in _KINDS:
        return _KINDS[code & 0xFF]
    text = str(exc).lower()
    return next((kind for needle, kind in _MESSAGES if needle in text), None)


def describe_db_error(exc: BaseException, path: str | os.PathLike[str]) -> str | None:
    """One sentence for a SQLite failure a user can act on (None for any other error, which is a bug)."""
    kind = db_error_kind(exc)
    return db_error_sentence(kind, path) if kind else None


def db_error_sentence(kind: str, path: str | os.PathLike[str]) -> str:
    """The sentence for a kind of SQLite failure (see `db_error_kind`) on the project at `path`."""
    name = clean(os.fspath(path), oneline=True)
    return {
        "busy": f"The project {name} is busy: another qualtui command is writing to it; "
                "try again when it finishes.",
        "readonly": f"The project {name} is read-only: nothing was written.",
        "full": f"The disk is full: nothing was written to {name}.",
        "io": f"The disk reported an error while writing {name}: nothing was written; check the disk and try again.",
        "cantopen": f"The project {name} cannot be opened: check that its folder exists and that you may write there.",
        "corrupt": f"The project {name} is damaged (SQLite reports a malformed database); "
                   "restore it from a copy or an export.",
        "notadb": f"{name} is not a qualtui project (it is not an SQLite database); nothing was changed.",
    }[kind]


class ImportError_(Exception):
    """An import that cannot go ahead; nothing was written."""


READONLY_DECISIONS = "This project is open read-only: decisions cannot be saved."
