"""Exchange files: the format, exporting one coder's events, reading and verifying a file (merging: merge.py)."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.core.store import EVENT_KINDS, Store, utcnow

FORMAT = "qualtui-events"
VERSION = 1
SUFFIX = ".qualtui.jsonl"
EVENT_FIELDS = ("id", "coder", "kind", "code_id", "value", "ref", "at", "codebook_hash", "origin")
POST_FIELDS = ("title", "text", "tags", "posted_at", "url", "keyword")
"""Post fields an export may carry with --with-text; never the author or any user name."""
WB_LOG_FIELDS = ("kind", "at", "day", "minutes", "weighted", "value", "detail")
CODE_KINDS = frozenset({"code_add", "code_remove", "quote_add", "suggestion_accept", "suggestion_reject",
                        "reconcile"})
"""Event kinds whose code_id names a codebook code (when not empty or 'relevance')."""
_EVENT_TEXT = EVENT_FIELDS + ("platform", "platform_id", "text_hash")


class SyncError(Exception):
    """A file that cannot be exported or merged; the message is one clear sentence."""


_dump = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
"""One compact JSON line; a shared encoder, since json.dumps with options builds a new one per call."""


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
        " p.platform, p.platform_id, p.text_hash FROM events e JOIN posts p ON p.id = e.post_id"
        " WHERE e.coder = ? ORDER BY e.seq", (coder,))
    lines: list[str] = []
    events: list[str] = []
    for eid, c, kind, code_id, value, ref, at, cbh, ev_origin, platform, platform_id, th in cur:
        events.append(_dump({
            "type": "event", "id": eid, "coder": c, "kind": kind, "code_id": code_id, "value": value, "ref": ref,
            "at": at, "codebook_hash": cbh, "origin": origin if ev_origin == "local" else ev_origin,
            "platform": platform, "platform_id": platform_id, "text_hash": th,
        }))
    if not events:
        raise SyncError(f"Coder {coder!r} has no events in this project, so there is nothing to export.")
    if with_text:
        # Only these columns: the author (even as a pseudonym) never leaves the project.
        for platform, platform_id, th, title, body_text, tags, posted_at, url, keyword in conn.execute(
            "SELECT platform, platform_id, text_hash, title, text, tags, posted_at, url, source_keyword FROM posts"
            " WHERE id IN (SELECT DISTINCT post_id FROM events WHERE coder = ?) ORDER BY id", (coder,)):
            lines.append(_dump({
                "type": "post", "platform": platform, "platform_id": platform_id, "text_hash": th, "title": title,
                "text": body_text, "tags": _tags(tags), "posted_at": posted_at, "url": url, "keyword": keyword,
            }))
    n_posts = len(lines)
    if with_wellbeing:
        for state, updated_at in conn.execute("SELECT state, updated_at FROM wb_state WHERE coder = ?", (coder,)):
            lines.append(_dump({"type": "wb_state", "coder": coder, "state": state, "updated_at": updated_at}))
        cols = ", ".join(WB_LOG_FIELDS)
        for row in conn.execute(f"SELECT {cols} FROM wb_log WHERE coder = ? ORDER BY id", (coder,)):
            lines.append(_dump({"type": "wb_log", "coder": coder, **dict(zip(WB_LOG_FIELDS, row))}))
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
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise SyncError(f"Cannot write {path}: the folder {folder} does not exist.")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------- read and verify


@dataclass
class ExportFile:
    """A verified exchange file: its header, events, and any post text or well-being rows it carries."""

    path: Path
    header: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)
    posts: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    wellbeing: list[dict[str, Any]] = field(default_factory=list)

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


def _header(name: str, first: bytes) -> dict[str, Any]:
    try:
        header = json.loads(first)
    except ValueError:
        raise SyncError(f"{name} is not a qualtui export: its first line is not valid JSON.") from None
    if not isinstance(header, dict) or "format" not in header:
        raise SyncError(f"{name} is not a qualtui export: its first line has no format name.")
    if header["format"] != FORMAT:
        raise SyncError(f"{name} has the unknown format {str(header['format'])[:40]!r}; "
                        f"qualtui reads {FORMAT!r} files only.")
    if header.get("version") != VERSION:
        raise SyncError(f"{name} is format version {str(header.get('version'))[:20]}, which this qualtui "
                        f"cannot read (it reads version {VERSION}); update qualtui on this machine.")
    for key, kind in (("coder", str), ("origin", str), ("codebook_hash", str), ("body_sha256", str),
                      ("events", int), ("posts", int), ("wellbeing", int)):
        if not isinstance(header.get(key), kind) or isinstance(header.get(key), bool) or header.get(key) == "":
            raise SyncError(f"{name} has a malformed header: {key!r} is missing or not a {kind.__name__}.")
    if min(header["events"], header["posts"], header["wellbeing"]) < 0:
        raise SyncError(f"{name} has a malformed header: a negative count.")
    return header


def _str_fields(obj: dict[str, Any], keys: Sequence[str]) -> str | None:
    for key in keys:
        if not isinstance(obj.get(key), str):
            return key
    return None


def read_export(path: str | os.PathLike[str]) -> ExportFile:
    """Read an exchange file and verify format, version, completeness, checksum and every line."""
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise SyncError(f"{path}: no such file." if not path.exists() else f"{path} is not a file.")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SyncError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    if not data.strip():
        raise SyncError(f"{name} is empty.")
    first, sep, body = data.partition(b"\n")
    header = _header(name, first)
    expected = header["events"] + header["posts"] + header["wellbeing"]
    n_lines = body.count(b"\n")
    if not sep or (body and not body.endswith(b"\n")) or n_lines < expected:
        raise SyncError(f"{name} is truncated: its header announces {header['events']} events but the file ends "
                        f"early (the copy was cut off); copy the file again.")
    if n_lines > expected:
        raise SyncError(f"{name} has {n_lines - expected} more lines than its header announces; "
                        "the file was edited after export.")
    if hashlib.sha256(body).hexdigest() != header["body_sha256"]:
        raise SyncError(f"{name} is damaged: its checksum does not match its content (it was changed or "
                        "corrupted after export); ask for a fresh export.")
    out = ExportFile(path, header)
    seen: set[str] = set()
    for n, obj in enumerate(_parse_lines(name, body), start=2):
        problem = _take_line(out, obj, seen)
        if problem:
            raise SyncError(f"{name} line {n}: {problem}.")
    counts = (len(out.events), len(out.posts), len(out.wellbeing))
    if counts != (header["events"], header["posts"], header["wellbeing"]):
        raise SyncError(f"{name} holds {counts[0]} events, {counts[1]} posts and {counts[2]} well-being rows, "
                        f"not the {header['events']}, {header['posts']} and {header['wellbeing']} its header "
                        "announces.")
    return out


def _parse_lines(name: str, body: bytes) -> list[dict[str, Any]]:
    """Every body line as a JSON object; one parse for the whole body, line by line only to name a bad line."""
    lines = body.splitlines()
    try:
        objs = json.loads(b"[" + b",".join(lines) + b"]")
        if len(objs) == len(lines) and all(type(o) is dict for o in objs):
            return objs
    except ValueError:
        pass
    for n, raw in enumerate(lines, start=2):
        try:
            obj = json.loads(raw)
        except ValueError:
            raise SyncError(f"{name} line {n} is not valid JSON.") from None
        if not isinstance(obj, dict):
            raise SyncError(f"{name} line {n} is not a JSON object.")
    raise SyncError(f"{name} has a line that is not one JSON object.")  # e.g. two objects on one line


def _take_line(out: ExportFile, obj: dict[str, Any], seen: set[str]) -> str | None:
    """File one body line under events, posts or well-being rows; the problem with it, if any."""
    kind = obj.get("type")
    if kind == "event":
        if set(map(type, map(obj.get, _EVENT_TEXT))) != {str}:  # all text; map keeps the check in C
            return f"the event's {_str_fields(obj, _EVENT_TEXT)!r} is missing or not text"
        if not obj["id"] or not obj["platform"] or not obj["platform_id"]:
            return "the event has an empty id, platform or platform id"
        if obj["coder"] != out.coder:
            return "the event's coder differs from the coder in the header"
        if obj["kind"] not in EVENT_KINDS:
            return f"unknown event kind {obj['kind'][:40]!r}"
        if obj["id"] in seen:
            return f"event {obj['id'][:40]} appears twice in the file"
        seen.add(obj["id"])
        out.events.append(obj)
    elif kind == "post":
        bad = _str_fields(obj, ("platform", "platform_id", "title", "text", "url", "keyword"))
        if bad or not isinstance(obj.get("tags"), list) or not all(isinstance(t, str) for t in obj["tags"]):
            return f"the post's {bad or 'tags'!r} is missing or malformed"
        if obj.get("posted_at") is not None and not isinstance(obj["posted_at"], str):
            return "the post's 'posted_at' is not text"
        out.posts[(obj["platform"], obj["platform_id"])] = obj
    elif kind in ("wb_state", "wb_log"):
        if obj.get("coder") != out.coder:
            return "the well-being row belongs to another coder than the header's"
        out.wellbeing.append(obj)
    else:
        return f"unknown line type {str(kind)[:40]!r}"
    return None
