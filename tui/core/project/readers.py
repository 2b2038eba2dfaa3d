"""Readers of files of posts: a JSON array streamed, JSON Lines and CSV, each record bounded in size."""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from tui.core import files
from tui.core.files import MAX_LINE_BYTES
from tui.core.project.errors import ImportError_

CHUNK = 1 << 20
"""Characters read at a time from a JSON array."""
RECORD_LINES = 4
"""A CSV record may span lines (quoted newlines); all of it is bounded at this many times `MAX_LINE_BYTES`."""


def open_text(path: Path) -> TextIO:
    """A file of posts opened as text, for the readers below."""
    # utf-8-sig drops MediaCrawler's BOM; strict errors so a GBK file is refused, not garbled.
    return open(path, encoding="utf-8-sig", errors="strict", newline="")


def sniff(path: Path) -> str:
    """The file's format from its extension, else from its first non-blank character."""
    ext = path.suffix.lower()
    if ext in (".jsonl", ".ndjson"):
        return "jsonl"
    if ext == ".csv":
        return "csv"
    with open(path, "rb") as fh:
        head = fh.read(4096)
    head = head.removeprefix(codecs.BOM_UTF8).lstrip()
    if ext == ".json":
        if head.startswith(b"{") and b"\n{" in head:
            return "jsonl"
        return "json"
    if head.startswith(b"["):
        return "json"
    if head.startswith(b"{"):
        return "jsonl"
    return "csv"


def _limit_text() -> str:
    return files._size(MAX_LINE_BYTES)


def read_json_array(fh: TextIO, on_bytes: Callable[[int], None], start: int = 0) -> Iterator[tuple[int, Any]]:
    """Stream the objects of a JSON array without loading the file whole.

    One record may be up to `MAX_LINE_BYTES` long; anything but whitespace after the closing `]`
    (two arrays concatenated, a crawl cut and restarted) is refused with its byte offset.
    """
    dec = json.JSONDecoder()
    buf = ""
    pos = 0
    eof = False
    dropped = start  # bytes of the file before buf[0] (a BOM the decoder dropped), for offsets in messages

    def fill() -> bool:
        nonlocal buf, pos, eof, dropped
        chunk = fh.read(CHUNK)
        on_bytes(len(chunk.encode("utf-8", "surrogatepass")) if chunk else 0)
        if not chunk:
            eof = True
            return False
        dropped += len(buf[:pos].encode("utf-8", "surrogatepass"))
        buf = buf[pos:] + chunk
        pos = 0
        return True

    def skip_ws() -> None:
        nonlocal pos
        while True:
            while pos < len(buf) and buf[pos] in " \t\r\n":
                pos += 1
            if pos < len(buf) or not fill():
                return

    def end_of_array() -> None:
        # Only whitespace may follow the closing bracket: not a second array, not garbage.
        skip_ws()
        if pos < len(buf):
            offset = dropped + len(buf[:pos].encode("utf-8", "surrogatepass"))
            raise ImportError_(f"unexpected data after the JSON array at byte {offset}")

    skip_ws()
    if pos >= len(buf):
        raise ImportError_("the file is empty")
    if buf[pos] != "[":
        raise ImportError_("it is not a JSON array of posts (it does not start with '[')")
    pos += 1
    n = 0
    skip_ws()
    if pos < len(buf) and buf[pos] == "]":
        pos += 1
        end_of_array()
        return
    while True:
        skip_ws()
        while True:
            try:
                obj, end = dec.raw_decode(buf, pos)
                if end < len(buf) or eof or isinstance(obj, (dict, list, str)):
                    break
                # A number or literal that ends at the buffer's end may go on in the next chunk.
                if not fill():
                    break
            except json.JSONDecodeError as exc:
                if eof:
                    raise ImportError_(f"malformed JSON in record {n + 1} ({exc.msg})") from None
                if len(buf) - pos > MAX_LINE_BYTES:
                    raise ImportError_(
                        f"record {n + 1} is longer than the {_limit_text()} limit for one record, or not valid JSON"
                    ) from None
                fill()
            except UnicodeDecodeError:
                raise  # from fill(): reported for the whole file by import_file
            except (RecursionError, ValueError) as exc:
                # Nesting deeper than Python's stack, or an integer over its digit limit.
                reason = "nested too deeply" if isinstance(exc, RecursionError) else "a number too long"
                raise ImportError_(f"record {n + 1} cannot be read ({reason})") from None
        n += 1
        pos = end
        yield n, obj
        skip_ws()
        if pos >= len(buf):
            raise ImportError_(f"the JSON array is cut off after record {n}")
        if buf[pos] == ",":
            pos += 1
            continue
        if buf[pos] == "]":
            pos += 1
            end_of_array()
            return
        raise ImportError_(f"malformed JSON after record {n} (expected ',' or ']')")


class _Lines:
    """The lines of a text file, each read with a bound so a huge line never fills memory."""

    def __init__(self, fh: TextIO, on_bytes: Callable[[int], None]) -> None:
        self.fh = fh
        self.on_bytes = on_bytes
        self.lineno = 0
        self.record = 0  # bytes since the last complete record (a CSV record may span lines)

    def __iter__(self) -> Iterator[str]:
        limit = MAX_LINE_BYTES
        while True:
            # readline counts characters; a UTF-8 character is at least one byte, so limit + 1
            # characters always tell whether the line is over the byte limit.
            line = self.fh.readline(limit + 1)
            if not line:
                return
            self.lineno += 1
            size = len(line.encode("utf-8", "surrogatepass"))
            if size > limit:
                raise ImportError_(f"line {self.lineno} is longer than the {_limit_text()} limit for one line")
            self.on_bytes(size)
            self.record += size
            if self.record > limit * RECORD_LINES:
                raise ImportError_(
                    f"the record ending on line {self.lineno} is longer than the "
                    f"{files._size(limit * RECORD_LINES)} limit for one record"
                )
            yield line


def read_jsonl(fh: TextIO, on_bytes: Callable[[int], None], bad: list[tuple[int, str]]) -> Iterator[tuple[int, Any]]:
    """Objects of a JSON Lines file; bad lines are reported and skipped, the rest imported."""
    lines = _Lines(fh, on_bytes)
    for line in lines:
        lineno = lines.lineno
        lines.record = 0
        if not line.strip():
            continue
        try:
            yield lineno, json.loads(line)
        except json.JSONDecodeError as exc:
            bad.append((lineno, f"line {lineno}: not valid JSON ({exc.msg})"))
        except RecursionError:
            bad.append((lineno, f"line {lineno}: JSON nested too deeply"))
        except ValueError:
            bad.append((lineno, f"line {lineno}: a number too long"))


def read_csv(fh: TextIO, on_bytes: Callable[[int], None]) -> Iterator[tuple[int, Any]]:
    """Rows of a CSV file as dicts keyed by the header; a line or field over `MAX_LINE_BYTES` is refused."""
    csv.field_size_limit(MAX_LINE_BYTES)
    lines = _Lines(fh, on_bytes)
    reader = csv.DictReader(lines)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            where = f"line {lines.lineno}"
            if "field larger than field limit" in str(exc):
                raise ImportError_(f"{where} has a field longer than the {_limit_text()} limit for one field") from None
            raise ImportError_(f"{where} is not valid CSV ({exc})") from None
        lines.record = 0
        yield reader.line_num, row
