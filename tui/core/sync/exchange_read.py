"""Reading an exchange file: bounded, streamed, checksummed, every line checked (rules: exchange_lines.py)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from pathlib import Path
from typing import IO, Any

from tui.core.files import MAX_EXCHANGE_BYTES, MAX_LINE_BYTES, FileRefused, check_readable
from tui.core.project.events import MAX_CODER_CHARS, coder_problem, name_problem, utc_time
from tui.core.safe import clean
from tui.core.sync.exchange import FORMAT, VERSION, ExportFile, SyncError
from tui.core.sync.exchange_lines import take_line

_BATCH = 4096
"""Body lines parsed with one json.loads call; much quicker than one call per line."""
_SHA256 = re.compile(r"[0-9a-f]{64}\Z")


def _header(name: str, first: bytes) -> dict[str, Any]:
    """The verified header line of the file called `name`."""
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
        problem = take_line(out, obj, seen)
        if problem:
            return f"line {n}: {problem}"
    return None
