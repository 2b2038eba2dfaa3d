"""Exchange files: the format, exporting one coder's events, reading and verifying a file (merging: merge.py)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tui.core.files import MAX_EXCHANGE_BYTES, MAX_LINE_BYTES, FileRefused, check_readable
from tui.core.project.events import (
    CODE_ADD,
    CODE_REMOVE,
    DEFER,
    DONE,
    EVENT_KINDS,
    FLAG,
    MAX_CODE_ID_CHARS,
    MAX_CODER_CHARS,
    MEMO,
    QUOTE_ADD,
    QUOTE_REMOVE,
    RECONCILE,
    REDO,
    RELEVANCE,
    SKIP,
    SUGGESTION_ACCEPT,
    SUGGESTION_REJECT,
    UNDO,
    coder_problem,
    name_problem,
    utc_time,
    utcnow,
)
from tui.core.project.store import Store
from tui.core.safe import clean

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
            lines.append(_dump({"type": "wb_log", "coder": coder, **dict(zip(WB_LOG_FIELDS, row, strict=False))}))
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
    except (ValueError, RecursionError):  # RecursionError: a hostile, deeply nested line
        raise SyncError(f"{name} is not a qualtui export: its first line is not valid JSON.") from None
    if not isinstance(header, dict) or "format" not in header:
        raise SyncError(f"{name} is not a qualtui export: its first line has no format name.")
    if header["format"] != FORMAT:
        raise SyncError(f"{name} has the unknown format {clean(str(header['format'])[:40], oneline=True)!r}; "
                        f"qualtui reads {FORMAT!r} files only.")
    if header.get("version") != VERSION:
        raise SyncError(f"{name} is format version {clean(str(header.get('version'))[:20], oneline=True)}, which "
                        f"this qualtui cannot read (it reads version {VERSION}); update qualtui on this machine.")
    for key in ("events", "posts", "wellbeing"):
        if type(header.get(key)) is float and header[key].is_integer():
            header[key] = int(header[key])  # 5.0 is an integer to JSON Schema, so it is one here too
    if "with_text" in header and type(header["with_text"]) is not bool:
        raise SyncError(f"{name} has a malformed header: 'with_text' is not true or false.")
    for key, kind in (("coder", str), ("origin", str), ("codebook_hash", str), ("body_sha256", str),
                      ("created_at", str), ("events", int), ("posts", int), ("wellbeing", int)):
        if not isinstance(header.get(key), kind) or isinstance(header.get(key), bool) or header.get(key) == "":
            raise SyncError(f"{name} has a malformed header: {key!r} is missing or not a {kind.__name__}.")
    if min(header["events"], header["posts"], header["wellbeing"]) < 0:
        raise SyncError(f"{name} has a malformed header: a negative count.")
    problem = (coder_problem(header["coder"]) or name_problem(header["origin"], "the origin", MAX_CODER_CHARS)
               or name_problem(header["codebook_hash"], "the codebook hash", MAX_CODER_CHARS))
    if problem:
        raise SyncError(f"{name} line 1: {problem}.")
    if utc_time(header["created_at"]) is None:
        raise SyncError(f"{name} line 1: 'created_at' is not an RFC 3339 time such as 2026-11-22T10:04:12.311Z.")
    if not _SHA256.match(header["body_sha256"]):
        raise SyncError(f"{name} line 1: 'body_sha256' is not 64 lower-case hex digits.")
    return header


def _str_fields(obj: dict[str, Any], keys: Sequence[str]) -> str | None:
    for key in keys:
        if not isinstance(obj.get(key), str):
            return key
    return None


def read_export(path: str | os.PathLike[str]) -> ExportFile:
    """Read an exchange file line by line and verify format, version, completeness, checksum and every line.

    Bounded: the path must be a regular file within MAX_EXCHANGE_BYTES, no line may exceed
    MAX_LINE_BYTES, and the checksum is computed while reading, so a FIFO, a device or a huge
    file is refused without being read whole.
    """
    path = Path(path)
    if not os.path.lexists(path):
        raise SyncError(f"{clean(str(path), oneline=True)}: no such file.")
    try:
        check_readable(path, what="qualtui exchange file", max_bytes=MAX_EXCHANGE_BYTES)
        # O_NONBLOCK: should a FIFO be swapped in after the check, opening it must not wait for a writer.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except FileRefused as exc:
        raise SyncError(str(exc)) from None
    except OSError as exc:
        raise SyncError(f"Cannot read {clean(str(path), oneline=True)}: {exc.strerror or exc}.") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise SyncError(f"{clean(str(path), oneline=True)} is not a regular file; an exchange file must be one.")
        try:
            return _read(path, fh)
        except OSError as exc:
            raise SyncError(f"Cannot read {clean(str(path), oneline=True)}: {exc.strerror or exc}.") from None


def _read(path: Path, fh: IO[bytes]) -> ExportFile:
    """Stream the file: header, then body lines parsed in batches and hashed as they come."""
    name = clean(path.name, oneline=True)
    limit, size_limit = MAX_LINE_BYTES, MAX_EXCHANGE_BYTES  # read at call time: tests lower them
    first = fh.readline(limit + 1)
    if not first.strip():
        if not first or not fh.read(limit).strip():
            raise SyncError(f"{name} is empty.")
        raise SyncError(f"{name} is not a qualtui export: its first line is empty.")
    if len(first) > limit:
        raise SyncError(f"{name} line 1 is longer than the {limit:,}-byte limit for one line.")
    header = _header(name, first)
    expected = header["events"] + header["posts"] + header["wellbeing"]
    truncated = SyncError(f"{name} is truncated: its header announces {header['events']} events but the file ends "
                          "early (the copy was cut off); copy the file again.")
    if not first.endswith(b"\n"):
        raise truncated
    out = ExportFile(path, header)
    digest = hashlib.sha256()
    total = len(first)
    n = 1  # the number of the last line read
    batch: list[bytes] = []
    problem: str | None = None  # the first bad line, reported only once the checksum holds
    seen: set[str] = set()
    while True:
        line = fh.readline(limit + 1)
        if not line:
            break
        n += 1
        total += len(line)
        if total > size_limit:
            raise SyncError(f"{name} grew past the {size_limit:,}-byte limit for an exchange file while being read.")
        if not line.endswith(b"\n"):
            if len(line) > limit:
                raise SyncError(f"{name} line {n} is longer than the {limit:,}-byte limit for one line.")
            raise truncated
        digest.update(line)
        if problem is None and n - 1 <= expected:
            batch.append(line)
            if len(batch) >= _BATCH:
                problem = _take_batch(out, batch, n - len(batch) + 1, seen)
                batch = []
    if n - 1 < expected:
        raise truncated
    if n - 1 > expected:
        raise SyncError(f"{name} has {n - 1 - expected} more lines than its header announces; "
                        "the file was edited after export.")
    if digest.hexdigest() != header["body_sha256"]:
        raise SyncError(f"{name} is damaged: its checksum does not match its content (it was changed or "
                        "corrupted after export); ask for a fresh export.")
    if problem is None and batch:
        problem = _take_batch(out, batch, n - len(batch) + 1, seen)
    if problem:
        raise SyncError(f"{name} {problem}.")
    counts = (len(out.events), len(out.posts), len(out.wellbeing))
    if counts != (header["events"], header["posts"], header["wellbeing"]):
        raise SyncError(f"{name} holds {counts[0]} events, {counts[1]} posts and {counts[2]} well-being rows, "
                        f"not the {header['events']}, {header['posts']} and {header['wellbeing']} its header "
                        "announces.")
    return out


_BATCH = 4096
"""Body lines parsed with one json.loads call; much quicker than one call per line."""
_SHA256 = re.compile(r"[0-9a-f]{64}\Z")


def _take_batch(out: ExportFile, lines: list[bytes], first_n: int, seen: set[str]) -> str | None:
    """File a batch of body lines (the first numbered `first_n`); 'line N: the problem' for the first bad one."""
    objs: list[Any] | None = None
    try:
        objs = json.loads(b"[" + b",".join(lines) + b"]")
    except (ValueError, RecursionError):  # deeply nested: parsed line by line below
        pass
    if objs is None or len(objs) != len(lines) or not all(type(o) is dict for o in objs):
        objs = []
        for n, raw in enumerate(lines, start=first_n):
            try:
                obj = json.loads(raw)
            except (ValueError, RecursionError):
                return f"line {n} is not valid JSON"
            if not isinstance(obj, dict):
                return f"line {n} is not a JSON object"
            objs.append(obj)
        if len(objs) != len(lines):  # pragma: no cover - one json.loads per line gives one value per line
            return f"line {first_n} is not one JSON object"
    for n, obj in enumerate(objs, start=first_n):
        problem = _take_line(out, obj, seen)
        if problem:
            return f"line {n}: {problem}"
    return None


_ID = re.compile(r"[0-9A-Za-z_-]{1,64}\Z")
ID_PATTERN = "^[0-9A-Za-z_-]{1,64}$"
"""An event id: 1 to 64 letters, digits, '-' or '_' (qualtui writes 32 hex digits)."""
_TEXT_HASH = re.compile(r"(?:[0-9a-f]{32})?\Z")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
# What each event kind holds in code_id, value and ref (docs/sync.md and docs/exchange.schema.json say
# the same): "" must be empty, "code" a code id, "code?" a code id or empty, "bit" "0" or "1", "text"
# any text, "id" another event's id.
KIND_RULES: dict[str, tuple[str, str, str]] = {
    RELEVANCE: ("", "bit", ""),
    CODE_ADD: ("code", "", ""),
    CODE_REMOVE: ("code", "", ""),
    MEMO: ("", "text", ""),
    QUOTE_ADD: ("code?", "text", ""),
    QUOTE_REMOVE: ("", "", "id"),
    FLAG: ("", "bit", ""),
    SKIP: ("", "", ""),
    DONE: ("", "bit", ""),
    SUGGESTION_ACCEPT: ("code", "", ""),
    SUGGESTION_REJECT: ("code", "", ""),
    DEFER: ("", "", ""),
    RECONCILE: ("code?", "text", ""),
    UNDO: ("", "", "id"),
    REDO: ("", "", "id"),
}
_code_ok: dict[str, str | None] = {}  # code id -> its problem; a file uses few distinct ids


def _rule_problem(obj: dict[str, Any]) -> str | None:
    """What is wrong with an event's code_id, value or ref for its kind, if anything."""
    code_rule, value_rule, ref_rule = KIND_RULES[obj["kind"]]
    code_id, value, ref = obj["code_id"], obj["value"], obj["ref"]
    kind = obj["kind"]
    if code_id:
        if not code_rule:
            return f"a {kind} event has a code_id, which it must leave empty"
        if code_id not in _code_ok:
            if len(_code_ok) > 10_000:
                _code_ok.clear()  # a hostile file with many distinct ids must not grow the memo without end
            _code_ok[code_id] = name_problem(code_id, "the code id", MAX_CODE_ID_CHARS)
        if _code_ok[code_id]:
            return _code_ok[code_id]
    elif code_rule == "code":
        return f"a {kind} event needs a code_id"
    if value_rule == "bit":
        if value != "0" and value != "1":
            return f"a {kind} event's value must be \"0\" or \"1\""
    elif not value_rule and value:
        return f"a {kind} event has a value, which it must leave empty"
    if ref_rule:
        if not _ID.match(ref):
            return f"a {kind} event's ref must be the id of the event it refers to"
    elif ref:
        return f"a {kind} event has a ref, which it must leave empty"
    return None


_short_ok: dict[tuple[str, str], str | None] = {}  # origins and codebook hashes repeat on every line


def _short_id_problem(value: str, what: str) -> str | None:
    """What is wrong with an event's origin or codebook hash, if anything (remembered per value)."""
    key = (value, what)
    if key not in _short_ok:
        if len(_short_ok) > 10_000:
            _short_ok.clear()
        _short_ok[key] = name_problem(value, f"the event's {what}", MAX_CODER_CHARS)
    return _short_ok[key]


def _take_line(out: ExportFile, obj: dict[str, Any], seen: set[str]) -> str | None:
    """File one body line under events, posts or well-being rows; the problem with it, if any."""
    kind = obj.get("type")
    if kind == "event":
        if set(map(type, map(obj.get, _EVENT_TEXT))) != {str}:  # all text; map keeps the check in C
            return f"the event's {_str_fields(obj, _EVENT_TEXT)!r} is missing or not text"
        if not obj["platform"] or not obj["platform_id"]:
            return "the event has an empty platform or platform id"
        if not _ID.match(obj["id"]):
            return "the event's id is not 1 to 64 letters, digits, '-' or '_'"
        if obj["coder"] != out.header["coder"]:
            return "the event's coder differs from the coder in the header"
        if obj["kind"] not in EVENT_KINDS:
            return f"unknown event kind {clean(obj['kind'][:40], oneline=True)!r}"
        at = utc_time(obj["at"])
        if at is None:
            return "the event's time 'at' is not an RFC 3339 time such as 2026-11-22T10:04:12.311Z"
        obj["at"] = at
        problem = _rule_problem(obj) or _short_id_problem(obj["origin"], "origin") \
            or _short_id_problem(obj["codebook_hash"], "codebook hash")
        if problem:
            return problem
        if not _TEXT_HASH.match(obj["text_hash"]):
            return "the event's text_hash is not 32 lower-case hex digits"
        if obj["id"] in seen:
            return f"event {obj['id']} appears twice in the file"
        seen.add(obj["id"])
        out.events.append(obj)
    elif kind == "post":
        bad = _str_fields(obj, ("platform", "platform_id", "title", "text", "url", "keyword"))
        if bad or not isinstance(obj.get("tags"), list) or not all(isinstance(t, str) for t in obj["tags"]):
            return f"the post's {bad or 'tags'!r} is missing or malformed"
        if obj.get("posted_at") is not None and not isinstance(obj["posted_at"], str):
            return "the post's 'posted_at' is not text"
        if "text_hash" in obj and not isinstance(obj["text_hash"], str):
            return "the post's 'text_hash' is not text"
        if not obj["platform"] or not obj["platform_id"]:
            return "the post has an empty platform or platform id"
        out.posts[(obj["platform"], obj["platform_id"])] = obj
    elif kind in ("wb_state", "wb_log"):
        if obj.get("coder") != out.coder:
            return "the well-being row belongs to another coder than the header's"
        problem = _wellbeing_problem(obj)
        if problem:
            return problem
        out.wellbeing.append(obj)
    else:
        return f"unknown line type {clean(str(kind)[:40], oneline=True)!r}"
    return None


def _number(value: Any) -> bool:
    return type(value) in (int, float)


def _wellbeing_problem(obj: dict[str, Any]) -> str | None:
    """What is wrong with a well-being row (the columns it fills are typed and mostly NOT NULL)."""
    if obj["type"] == "wb_state":
        if not isinstance(obj.get("state"), str):
            return "the well-being state is missing or not text"
        at = utc_time(obj.get("updated_at"))
        if at is None:
            return "the well-being state's 'updated_at' is not an RFC 3339 time"
        obj["updated_at"] = at
        return None
    at = utc_time(obj.get("at"))
    if at is None:
        return "the well-being row's 'at' is not an RFC 3339 time"
    obj["at"] = at
    if not isinstance(obj.get("kind"), str) or not obj["kind"] or len(obj["kind"]) > MAX_CODER_CHARS:
        return "the well-being row's 'kind' is missing or malformed"
    if not isinstance(obj.get("day"), str) or not _DAY.match(obj["day"]):
        return "the well-being row's 'day' is not a date such as 2026-11-22"
    if not _number(obj.get("minutes")) or not _number(obj.get("weighted")):
        return "the well-being row's 'minutes' or 'weighted' is not a number"
    if obj.get("value") is not None and not _number(obj["value"]):
        return "the well-being row's 'value' is not a number"
    if obj.get("detail") is not None and not isinstance(obj["detail"], str):
        return "the well-being row's 'detail' is not text"
    return None
