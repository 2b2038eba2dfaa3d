"""The project database: opening it safely, migrations, transactions, and reading posts and events."""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import stat
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

from tui.core.project import migrations as M
from tui.core.project.errors import (
    READONLY_DECISIONS,
    StoreError,
    WriteRefused,
    db_error_kind,
    db_error_sentence,
    describe_db_error,
)
from tui.core.project.events import EVENT_KINDS, RELEVANCE, Event, utcnow
from tui.core.project.opening import check_header, check_is_project, remove_project_file, uri_path
from tui.core.project.posts import new_label, pseudonym, text_hash
from tui.core.project.state import PostState, derive_state
from tui.core.project.undo import active_events
from tui.core.safe import clean

DEFAULT_DB = "qualtui.db"
BUSY_TIMEOUT = 10.0
"""Seconds a write waits for another qualtui command to finish writing before it gives up."""
INTERACTIVE_BUSY_TIMEOUT = 3.0
"""The same wait inside the app, where a longer one would freeze the screen."""

__all__ = [
    "READONLY_DECISIONS", "Store", "StoreError", "WriteRefused", "db_error_kind", "db_error_sentence",
    "describe_db_error", "pseudonym", "remove_project_file", "text_hash",
]
# The errors and post identity live in errors.py and posts.py; they stay importable from here, the
# module every caller opens a project through.



class Store:
    """A qualtui project: one SQLite file opened through sqlite-utils.

    A Store is bound to the thread that opened it (SQLite's rule); workers open their own.
    """

    def __init__(self, path: str | os.PathLike[str] = DEFAULT_DB, *, create: bool = True,
                 readonly: bool = False, busy_timeout: float | None = None) -> None:
        self.path = Path(path)
        shown = clean(os.fspath(path), oneline=True)
        try:
            st = self.path.stat()
        except FileNotFoundError:
            st = None
        except OSError as exc:
            raise StoreError(f"The project {shown} cannot be opened ({exc.strerror}).") from None
        if st is not None and stat.S_ISDIR(st.st_mode):
            raise StoreError(f"{shown} is a directory, not a qualtui project file.")
        if st is not None and not stat.S_ISREG(st.st_mode):
            raise StoreError(f"{shown} is not a regular file, so not a qualtui project; nothing was changed.")
        if st is None and not create:
            raise StoreError(f"No project at {shown}: run `qualtui import FILE` first, or pass --db.")
        if st is None and readonly:
            raise StoreError(f"No project at {shown} to open read-only.")
        if st is not None and st.st_size > 0:
            check_header(self.path, shown)
        # A file this user may not write is opened read-only, so browsing works and nothing is attempted.
        self.readonly = readonly or (st is not None and not os.access(self.path, os.W_OK))
        self.created = st is None  # this Store makes the file: a command that then fails may remove it
        timeout = BUSY_TIMEOUT if busy_timeout is None else busy_timeout
        self.busy_timeout = timeout
        existing = st is not None and st.st_size > 0
        try:
            # An existing file is first looked at through a read-only connection: a file that is not a
            # qualtui project is refused before anything could be written (not even a WAL checkpoint).
            conn = self._connect(timeout, readonly=existing or self.readonly)
            try:
                check_is_project(conn, shown, self.readonly)
                if existing and not self.readonly:
                    conn.close()
                    conn = self._connect(timeout, readonly=False)
            except BaseException:
                conn.close()
                raise
            self.db = sqlite_utils.Database(conn)
            try:
                if not self.readonly:
                    self.db.execute("PRAGMA journal_mode=WAL")
                    # WAL + NORMAL survives a killed process; only power loss could drop the last commits.
                    self.db.execute("PRAGMA synchronous=NORMAL")
                self.db.execute("PRAGMA foreign_keys=ON")
                self.migrate()
            except BaseException:
                self.close()
                raise
        except StoreError:
            self._discard_new()
            raise
        except sqlite3.Error as exc:
            self._discard_new()
            message = describe_db_error(exc, path)
            raise StoreError(message or f"{shown} is not a qualtui project file ({exc}).") from None

    def _connect(self, timeout: float, *, readonly: bool) -> sqlite3.Connection:
        if not readonly:
            return sqlite3.connect(str(self.path), timeout=timeout)
        uri = "file:" + uri_path(self.path) + "?mode=ro"
        wal = Path(f"{self.path}-wal")
        if not (wal.exists() and wal.stat().st_size > 0):
            # Everything is in the main file, so it is read as an unchanging file: SQLite then makes no
            # -shm file, which in a folder others share would belong to this user and could stop the
            # owner's next write, and which a read-only folder would not allow at all.
            uri += "&immutable=1"
        return sqlite3.connect(uri, uri=True, timeout=timeout)

    def _discard_new(self) -> None:
        """Remove the file (and its WAL companions) if this Store created it and failed to set it up."""
        if self.created:
            remove_project_file(self.path)

    # ------------------------------------------------------------ lifecycle

    def migrate(self) -> None:
        """Apply every registered migration not yet applied, in version order, each in its own transaction."""
        conn = self.db.conn
        if self.readonly:
            return  # check_is_project refused a read-only project that needs one
        pending = M.migrations()
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "migrations" in tables and "meta" in tables:
            done = {r[0] for r in conn.execute("SELECT version FROM migrations")}
            if all(m.version in done for m in pending) and self.meta("project_id") is not None:
                return  # nothing to do: opening a project takes no write lock
        conn.execute(
            "CREATE TABLE IF NOT EXISTS migrations (version INTEGER PRIMARY KEY, name TEXT, applied_at TEXT)"
        )
        done = {r[0] for r in conn.execute("SELECT version FROM migrations")}
        for migration in pending:
            if migration.version not in done:
                M.apply(conn, migration, utcnow())
        with conn:
            if self.meta("project_id") is None:
                self.set_meta("project_id", secrets.token_hex(8))
                self.set_meta("salt", secrets.token_hex(16))
                self.set_meta("created_at", utcnow())

    def close(self) -> None:
        """Close the connection."""
        self.db.conn.close()

    def is_empty(self) -> bool:
        """True when the project holds no posts and no events (nothing a user made would be lost)."""
        conn = self.db.conn
        return not any(conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() for table in ("posts", "events"))

    @contextmanager
    def patience(self, seconds: float) -> Iterator[None]:
        """Writes inside wait at most `seconds` for another writer (for saves that will simply retry)."""
        conn = self.db.conn
        conn.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")
        try:
            yield
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, all or nothing.

        The write lock is taken first (`BEGIN IMMEDIATE`), waiting up to the busy timeout for another
        command to finish; a busy, read-only or full project raises `WriteRefused` with one sentence.
        """
        if self.readonly:
            raise WriteRefused(db_error_sentence("readonly", self.path), "readonly")
        conn = self.db.conn
        try:
            if not conn.in_transaction:  # else a caller's open transaction: join it and commit, as before
                conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                # SQLite rolls back by itself on some errors (a full disk); a second rollback would fail.
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            kind, message = db_error_kind(exc), describe_db_error(exc, self.path)
            if kind is None or message is None:
                raise
            raise WriteRefused(message, kind) from exc

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def meta(self, key: str) -> str | None:
        """A project-level value (project id, pseudonym salt...)."""
        row = self.db.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        """Set a project-level value (caller commits)."""
        self.db.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # ------------------------------------------------------------ posts

    def pseudonym(self, raw: str) -> str:
        """A stable per-project pseudonym for an author id; the raw id is never stored."""
        return pseudonym(self.meta("salt") or "", raw)

    def existing_labels(self) -> set[str]:
        """Every post label in use."""
        return {r[0] for r in self.db.conn.execute("SELECT label FROM posts")}

    @staticmethod
    def new_label(taken: set[str]) -> str:
        """A fresh random label `P-xxx` not in `taken` (see `posts.new_label`)."""
        return new_label(taken)

    def count_posts(self, where: str = "", params: Sequence[Any] = ()) -> int:
        """How many posts match."""
        sql = "SELECT count(*) FROM posts" + (f" WHERE {where}" if where else "")
        return int(self.db.conn.execute(sql, params).fetchone()[0])

    def post(self, post_id: int) -> dict[str, Any] | None:
        """One post by its row id."""
        cur = self.db.conn.execute("SELECT * FROM posts WHERE id = ?", (post_id,))
        row = cur.fetchone()
        if row is None:
            return None
        return _post_row(cur.description, row)

    def post_by_label(self, label: str) -> dict[str, Any] | None:
        """One post by its pseudonymous label."""
        row = self.db.conn.execute("SELECT id FROM posts WHERE label = ?", (label,)).fetchone()
        return self.post(row[0]) if row else None

    def posts(self, *, limit: int | None = None, offset: int = 0, where: str = "",
              params: Sequence[Any] = (), order: str = "label") -> list[dict[str, Any]]:
        """Posts in label order (or `order`), for listings."""
        sql = "SELECT * FROM posts" + (f" WHERE {where}" if where else "") + f" ORDER BY {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
        cur = self.db.conn.execute(sql, params)
        return [_post_row(cur.description, r) for r in cur.fetchall()]

    def post_ids(self, where: str = "", params: Sequence[Any] = (), order: str = "label") -> list[int]:
        """Row ids of posts, ordered."""
        sql = "SELECT id FROM posts" + (f" WHERE {where}" if where else "") + f" ORDER BY {order}"
        return [r[0] for r in self.db.conn.execute(sql, params)]

    # ------------------------------------------------------------ events

    def record(self, event: Event) -> Event:
        """Append one event and commit it before returning (nothing shown as done is lost)."""
        if event.kind not in EVENT_KINDS:
            raise StoreError(f"Unknown event kind {event.kind!r}.")
        with self.write() as conn:
            cur = conn.execute(
                "INSERT INTO events (id, coder, post_id, kind, code_id, value, ref, at, codebook_hash, arm)"
                " VALUES (:id, :coder, :post_id, :kind, :code_id, :value, :ref, :at, :codebook_hash, :arm)",
                event.row(),
            )
        return Event(**{**event.__dict__, "seq": cur.lastrowid})

    def record_many(self, events: Iterable[Event]) -> int:
        """Append events in one transaction; all or nothing."""
        rows = [e.row() for e in events]
        with self.write() as conn:
            conn.executemany(
                "INSERT INTO events (id, coder, post_id, kind, code_id, value, ref, at, codebook_hash, arm)"
                " VALUES (:id, :coder, :post_id, :kind, :code_id, :value, :ref, :at, :codebook_hash, :arm)",
                rows,
            )
        return len(rows)

    def events(self, *, coder: str | None = None, post_id: int | None = None) -> list[dict[str, Any]]:
        """Raw event rows, in insertion order."""
        clauses: list[str] = []
        params: list[str | int] = []
        if coder is not None:
            clauses.append("coder = ?")
            params.append(coder)
        if post_id is not None:
            clauses.append("post_id = ?")
            params.append(post_id)
        sql = "SELECT * FROM events" + (" WHERE " + " AND ".join(clauses) if clauses else "") + " ORDER BY seq"
        cur = self.db.conn.execute(sql, params)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=False)) for r in cur.fetchall()]

    def state(self, coder: str, post_id: int) -> PostState:
        """One coder's current decisions on one post."""
        return derive_state(self.events(coder=coder, post_id=post_id))

    def states(self, coder: str) -> dict[int, PostState]:
        """One coder's current decisions on every post they touched."""
        by_post: dict[int, list[dict[str, Any]]] = {}
        for r in self.events(coder=coder):
            if r["post_id"] is not None:  # a codebook change made on no post
                by_post.setdefault(r["post_id"], []).append(r)
        return {pid: derive_state(rows) for pid, rows in by_post.items()}

    def coders(self) -> list[str]:
        """Every coder with at least one event."""
        return [r[0] for r in self.db.conn.execute("SELECT DISTINCT coder FROM events ORDER BY coder")]

    # ------------------------------------------------------------ queue

    def queue(self, coder: str) -> list[int]:
        """The coder's queue of post ids in order (empty: no queue)."""
        return [r[0] for r in self.db.conn.execute(
            "SELECT post_id FROM queue WHERE coder = ? ORDER BY position", (coder,))]

    def set_queue(self, coder: str, post_ids: Sequence[int], seed: int | None = None) -> None:
        """Replace the coder's queue."""
        now = utcnow()
        with self.write() as conn:
            conn.execute("DELETE FROM queue WHERE coder = ?", (coder,))
            conn.executemany(
                "INSERT INTO queue (coder, position, post_id, created_at, seed) VALUES (?, ?, ?, ?, ?)",
                [(coder, i, pid, now, seed) for i, pid in enumerate(post_ids)],
            )

    def finished_posts(self, coder: str) -> set[int]:
        """Posts the coder has finished (screened out, or coded and marked done).

        Reads only the events that decide it, so it stays quick on a large log.
        """
        cur = self.db.conn.execute(
            "SELECT id, post_id, kind, value, ref, at FROM events WHERE coder = ?"
            " AND kind IN ('relevance', 'done', 'undo', 'redo')", (coder,))
        rows = [dict(zip(("id", "post_id", "kind", "value", "ref", "at"), r, strict=False)) for r in cur]
        relevance: dict[int, str] = {}
        done: dict[int, str] = {}
        for r in active_events(rows):
            (relevance if r["kind"] == RELEVANCE else done)[r["post_id"]] = r["value"]
        return {p for p, v in relevance.items() if v == "0"} | {p for p, v in done.items() if v != "0"}

    # ------------------------------------------------------------ settings

    def project_setting(self, key: str) -> str | None:
        """A team-wide setting (e.g. a lead's well-being ceiling)."""
        row = self.db.conn.execute("SELECT value FROM project_settings WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_project_setting(self, key: str, value: str) -> None:
        """Set a team-wide setting and commit."""
        with self.write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO project_settings (key, value) VALUES (?, ?)", (key, value))


def _post_row(description: Any, row: Sequence[Any]) -> dict[str, Any]:
    d = dict(zip([c[0] for c in description], row, strict=False))
    try:
        d["tags"] = json.loads(d.get("tags") or "[]")
    except ValueError:
        d["tags"] = []
    return d
