"""Exchange files: the format and exporting one coder's events (reading: exchange_read.py, merging: merge.py)."""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.core.files import FileRefused, atomic_write
from tui.core.project.events import utcnow
from tui.core.project.schema import arm_column
from tui.core.project.store import Store
from tui.core.wellbeing.storage import exported_rows

FORMAT = "qualtui-events"
VERSION = 1
SUFFIX = ".qualtui.jsonl"
EVENT_FIELDS = ("id", "coder", "kind", "code_id", "value", "ref", "at", "codebook_hash", "origin")
POST_FIELDS = ("title", "text", "tags", "posted_at", "url", "keyword")
"""Post fields an export may carry with --with-text; never the author or any user name."""
CODE_KINDS = frozenset({"code_add", "code_remove", "quote_add", "suggestion_accept", "suggestion_reject",
                        "reconcile"})
"""Event kinds whose code_id names a codebook code (when not empty or 'relevance')."""


class SyncError(Exception):
    """A file that cannot be exported or merged; the message is one clear sentence."""


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
# JSON escapes C0 controls itself; DEL, C1 controls, bidi overrides and line separators would reach a
# terminal that `cat`s the file, so they are written as \uXXXX (the data read back is the same).
_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _dump(obj: object) -> str:
    """One compact JSON line, with no character a terminal would act on."""
    line = _encode(obj)
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", line) if _UNSAFE.search(line) else line


# ---------------------------------------------------------------- export


@dataclass(frozen=True)
class ExportResult:
    """What `export_events` wrote."""

    path: Path
    coder: str
    events: int
    posts: int
    wellbeing: int
    body_sha256: str


def export_events(store: Store, path: str | os.PathLike[str], *, coder: str, codebook_hash: str,
                  with_text: bool = False, with_wellbeing: bool = False) -> ExportResult:
    """Write one coder's events (and opt-in post text / well-being rows) to an exchange file, atomically."""
    origin = store.meta("project_id") or ""
    conn = store.db.conn
    cur = conn.execute(
        "SELECT e.id, e.coder, e.kind, e.code_id, e.value, e.ref, e.at, e.codebook_hash, e.origin,"
        f" p.platform, p.platform_id, p.text_hash, {arm_column(conn, 'e')} FROM events e LEFT JOIN posts p"
        " ON p.id = e.post_id WHERE e.coder = ? ORDER BY e.seq", (coder,))
    lines: list[str] = []
    events: list[str] = []
    # A codebook change made on no post (and its undo or redo) names no post: empty platform, id and hash.
    for eid, c, kind, code_id, value, ref, at, cbh, ev_origin, platform, platform_id, th, arm in cur:
        events.append(_dump({
            "type": "event", "id": eid, "coder": c, "kind": kind, "code_id": code_id, "value": value, "ref": ref,
            "at": at, "codebook_hash": cbh, "origin": origin if ev_origin == "local" else ev_origin,
            "platform": platform or "", "platform_id": platform_id or "", "text_hash": th or "", "arm": arm,
        }))
    if not events:
        raise SyncError(f"Coder {coder!r} has no events in this project, so there is nothing to export.")
    if with_text:
        # Only these columns: the author (even as a pseudonym) never leaves the project.
        for platform, platform_id, th, title, body_text, tags, posted_at, url, keyword in conn.execute(
            "SELECT platform, platform_id, text_hash, title, text, tags, posted_at, url, source_keyword FROM posts"
            " WHERE id IN (SELECT DISTINCT post_id FROM events WHERE coder = ? AND post_id IS NOT NULL)"
            " ORDER BY id", (coder,)):
            lines.append(_dump({
                "type": "post", "platform": platform, "platform_id": platform_id, "text_hash": th, "title": title,
                "text": body_text, "tags": _tags(tags), "posted_at": posted_at, "url": url, "keyword": keyword,
            }))
    n_posts = len(lines)
    if with_wellbeing:
        lines.extend(_dump(row) for row in exported_rows(store, coder))
    n_wb = len(lines) - n_posts
    lines.extend(events)
    # Should a lone surrogate ever reach a string, it is written as its JSON escape: the file stays
    # valid UTF-8 and reads back to the same string, instead of the export failing.
    body = ("\n".join(lines) + "\n").encode("utf-8", "backslashreplace")
    digest = hashlib.sha256(body).hexdigest()
    header = {
        "format": FORMAT, "version": VERSION, "coder": coder, "origin": origin, "codebook_hash": codebook_hash,
        "created_at": utcnow(), "events": len(events), "posts": n_posts, "wellbeing": n_wb,
        "with_text": with_text, "body_sha256": digest,
    }
    _write_atomic(Path(path), (_dump(header) + "\n").encode("utf-8", "backslashreplace") + body)
    return ExportResult(Path(path), coder, len(events), n_posts, n_wb, digest)


def _tags(raw: str) -> list[str]:
    try:
        tags = json.loads(raw or "[]")
    except ValueError:
        return []
    return [str(t) for t in tags] if isinstance(tags, list) else []


def _write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, flush it to disk, then rename it over `path`."""
    try:
        with atomic_write(path, binary=True, what="exchange file") as fh:
            fh.write(data)
    except FileRefused as exc:
        raise SyncError(str(exc)) from None


@dataclass
class ExportFile:
    """A verified exchange file: its header, events, and any post text or well-being rows it carries."""

    path: Path
    header: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)
    posts: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    wellbeing: list[dict[str, Any]] = field(default_factory=list)
    codebook_changes: set[str] = field(default_factory=set)
    """The ids of the codebook changes in the file."""
    outside_refs: set[str] = field(default_factory=set)
    """What undo and redo events made on no post refer to outside the file (each must be a codebook change)."""

    @property
    def coder(self) -> str:
        """The coder whose events the file holds."""
        return str(self.header["coder"])

    @property
    def origin(self) -> str:
        """The id of the project that exported the file."""
        return str(self.header["origin"])

    @property
    def codebook_hash(self) -> str:
        """The hash of the codebook the exporting project used."""
        return str(self.header["codebook_hash"])
