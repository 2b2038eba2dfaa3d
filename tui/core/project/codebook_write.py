"""`qualtui codebook write` and `qualtui codebook history`: the project's codebook changes into the file, and
the record of every change.

Protecting a file edited by hand: the first time a codebook change is recorded (and after each write)
the project keeps the content hash of the codebook file the change was made against (FILE_KEY).
Writing refuses while the file on disk has other content, unless forced: the changes would otherwise
be folded over edits nobody folded them against, and could undo them silently.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from tui.core.codebook.changes import Applied, fold
from tui.core.codebook.loading import MAX_BYTES, parse_codebook
from tui.core.codebook.model import Codebook, CodebookError
from tui.core.codebook.yaml_write import WriteBackRefused, fold_into_yaml
from tui.core.files import FileRefused, atomic_write, read_bytes
from tui.core.project.codebook_log import WRITTEN_KEY, codebook_changes, effective_codebook, written_ids
from tui.core.project.store import Store
from tui.core.safe import clean

__all__ = ["FILE_KEY", "HISTORY_KEY", "HistoryRow", "WriteBackRefused", "WriteResult", "codebook_history",
           "note_file_read", "write_codebook"]

FILE_KEY = "codebook.read"
"""project_settings key: the content hash of the codebook file the project's unwritten changes were made against."""
HISTORY_KEY = "codebook.history"
"""project_settings key: what each written change did (JSON {change id: [summary, problem]}), for the history."""


def _setting(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM project_settings WHERE key = ?", (key,)).fetchone()
    return str(row[0]) if row else None


def _set(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("INSERT OR REPLACE INTO project_settings (key, value) VALUES (?, ?)", (key, value))


def note_file_read(conn: sqlite3.Connection, file_hash: str) -> None:
    """Remember which codebook file a change was made against, unless one is remembered already."""
    conn.execute("INSERT OR IGNORE INTO project_settings (key, value) VALUES (?, ?)", (FILE_KEY, file_hash))


@dataclass(frozen=True)
class WriteResult:
    """What `write_codebook` did: the file written, the changes folded in, and those skipped."""

    path: Path
    written: int
    skipped: int
    recorded: bool  # False when written elsewhere (--to): the project's own file still lacks the changes


def _read(path: Path) -> tuple[str, Codebook]:
    shown = clean(str(path), oneline=True)
    try:
        text = read_bytes(path, what="codebook", max_bytes=MAX_BYTES).decode("utf-8-sig")
    except FileRefused as e:
        raise WriteBackRefused(str(e)) from None
    except UnicodeDecodeError:
        raise WriteBackRefused(f"{shown} is not UTF-8 text, so nothing can be written into it.") from None
    try:
        return text, parse_codebook(text, str(path))
    except CodebookError as e:
        first = e.problems[0]
        raise WriteBackRefused(f"{shown} is not a valid codebook ({clean(str(first), oneline=True)}); "
                           "fix it with `qualtui codebook check` first.") from None


def write_codebook(store: Store, path: Path, *, to: Path | None = None, force: bool = False) -> WriteResult:
    """Fold the project's unwritten codebook changes into the file at `path` (or a copy at `to`).

    Raises WriteBackRefused with one sentence, writing nothing, if the file changed since the changes were
    made against it (unless `force`), or if the result would not be a valid codebook.
    """
    text, file_cb = _read(path)
    conn = store.db.conn
    read = _setting(conn, FILE_KEY)
    if read is not None and read != file_cb.hash and not force:
        raise WriteBackRefused(f"{clean(str(path), oneline=True)} changed on disk since this project's codebook "
                               "changes were made against it; check it, then run `qualtui codebook write --force` to "
                               "fold them into it anyway.")
    effective, applied = effective_codebook(conn, file_cb)
    target = to or path
    if not applied:
        return WriteResult(target, 0, 0, to is None)
    result = fold_into_yaml(text, file_cb, effective, str(target))
    new_hash = parse_codebook(result, str(target)).hash
    try:
        with store.write() as tx:
            if to is None:
                # In the same transaction as the file's rename: if either fails, neither counts.
                done = written_ids(tx) | {a.change.id for a in applied if a.change.id}
                _set(tx, WRITTEN_KEY, "\n".join(sorted(done)))
                history = _history_kept(tx)
                history.update({a.change.id: [a.summary, a.problem] for a in applied if a.change.id})
                _set(tx, HISTORY_KEY, json.dumps(history, ensure_ascii=False, sort_keys=True))
                _set(tx, FILE_KEY, new_hash)
            with atomic_write(target, what="codebook", newline="") as fh:
                fh.write(result)
    except FileRefused as e:
        raise WriteBackRefused(str(e)) from None
    skipped = sum(1 for a in applied if a.problem)
    return WriteResult(target, len(applied) - skipped, skipped, to is None)


def _history_kept(conn: sqlite3.Connection) -> dict[str, list[str | None]]:
    try:
        kept = json.loads(_setting(conn, HISTORY_KEY) or "{}")
    except ValueError:
        return {}
    return kept if isinstance(kept, dict) else {}


@dataclass(frozen=True)
class HistoryRow:
    """One codebook change as the history lists it."""

    at: str
    coder: str
    post: str  # the post's label, "" for a change made on no post
    kind: str
    code_id: str
    summary: str
    problem: str  # why it was skipped, "" if it applied
    written: bool  # already folded into the codebook file
    id: str


def codebook_history(conn: sqlite3.Connection, file_cb: Codebook, code: str | None = None) -> list[HistoryRow]:
    """Every codebook change that stands, oldest first; `code` keeps those about that code (or merged into it)."""
    done = written_ids(conn)
    kept = _history_kept(conn)
    changes = codebook_changes(conn)
    effective, applied = fold(file_cb.file_codebook(), [c for c in changes if c.id not in done])
    said: dict[str, Applied] = {a.change.id: a for a in applied}
    post_ids = sorted({c.post_id for c in changes if c.post_id is not None})
    labels: dict[int, str] = {}
    for i in range(0, len(post_ids), 500):
        chunk = post_ids[i:i + 500]
        labels.update(conn.execute(f"SELECT id, label FROM posts WHERE id IN ({', '.join('?' * len(chunk))})",
                                   chunk).fetchall())
    wanted = (effective.resolve(code) or code) if code else None
    rows: list[HistoryRow] = []
    for ch in sorted(changes, key=lambda c: (c.at, c.id)):
        if ch.id in said:
            summary, problem = said[ch.id].summary, said[ch.id].problem or ""
        else:
            old = kept.get(ch.id) or ["", None]
            summary, problem = str(old[0] or "written into the codebook file"), str(old[1] or "")
        if wanted is not None:
            about = {ch.code_id, str(ch.value.get("into") or "")}
            if wanted not in about and wanted not in {effective.resolve(i) for i in about if i}:
                continue
        rows.append(HistoryRow(ch.at, ch.coder, str(labels.get(ch.post_id, "")) if ch.post_id is not None else "",
                               ch.kind, ch.code_id, summary, problem, ch.id in done, ch.id))
    return rows

