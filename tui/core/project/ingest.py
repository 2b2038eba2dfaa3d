"""Corpus import: MediaCrawler note files and generic CSV/JSONL, normalised, filtered, deduplicated."""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from tui.core import files
from tui.core.files import MAX_LINE_BYTES, FileRefused, check_readable
from tui.core.project.events import utcnow
from tui.core.project.store import Store, pseudonym, text_hash
from tui.core.safe import clean

CHUNK = 1 << 20
MAX_RECORD_CHARS = MAX_LINE_BYTES
"""Kept for callers of the old name; the limit itself is `MAX_LINE_BYTES` (docs/limits.md)."""
RECORD_LINES = 4
"""A CSV record may span lines (quoted newlines); all of it is bounded at this many times `MAX_LINE_BYTES`."""
SURROGATE = re.compile("[\ud800-\udfff]")

INLINE_TAG = re.compile(r"#([^#\[\]\n]{1,40})\[话题\]#")
COMMENT_FIELDS = {"comment_id", "parent_comment_id", "sub_comment_count"}

Progress = Callable[[int, int], None]
"""Called with (bytes read so far, total bytes)."""


class ImportError_(Exception):
    """An import that cannot go ahead; nothing was written."""


@dataclass(frozen=True)
class Mapping:
    """Which field of a record holds what. MediaCrawler's xhs names are the default."""

    platform: str = "xhs"
    id_col: str = "note_id"
    text_col: str = "desc"
    title_col: str | None = "title"
    time_col: str | None = "time"
    tags_col: str | None = "tag_list"
    url_col: str | None = "note_url"
    author_col: str | None = "creator_hash"
    keyword_col: str | None = "source_keyword"

    @property
    def is_default(self) -> bool:
        """True for MediaCrawler xhs names (the author falls back to user_id there)."""
        return self == Mapping(platform=self.platform)


@dataclass(frozen=True)
class Filters:
    """The study's crawl logic: (any include keyword) AND NOT (any exclude keyword or tag)."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    include_tags: tuple[str, ...] = ()
    exclude_tags: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.include or self.exclude or self.include_tags or self.exclude_tags)

    def accepts(self, title: str, text: str, tags: list[str]) -> bool:
        """Whether a post passes the filters (case-insensitive substring match)."""
        hay = f"{title}\n{text}\n{' '.join(tags)}".casefold()
        tagset = {t.casefold() for t in tags}
        if self.include or self.include_tags:
            hit = any(k.casefold() in hay for k in self.include) or any(
                t.casefold() in tagset for t in self.include_tags
            )
            if not hit:
                return False
        if any(k.casefold() in hay for k in self.exclude):
            return False
        return not any(t.casefold() in tagset for t in self.exclude_tags)

    def describe(self) -> dict[str, list[str]]:
        """A JSON-able record of the filters, kept with the import."""
        return {k: list(v) for k, v in self.__dict__.items() if v}


@dataclass
class ImportReport:
    """What an import did."""

    path: str
    format: str = ""
    read: int = 0
    imported: int = 0
    duplicates: int = 0
    filtered: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    import_id: int | None = None

    @property
    def n_rejected(self) -> int:
        """How many records were refused."""
        return len(self.rejected)


# ---------------------------------------------------------------- readers


def _open_text(path: Path) -> TextIO:
    # utf-8-sig drops MediaCrawler's BOM; strict errors so a GBK file is refused, not garbled.
    return open(path, encoding="utf-8-sig", errors="strict", newline="")


def _sniff(path: Path) -> str:
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


# ---------------------------------------------------------------- normalisation


def parse_time(value: Any) -> str | None:
    """A post time as ISO UTC: ms or s epoch numbers (MediaCrawler) or ISO strings."""
    if value in (None, "", "None"):
        return None
    try:
        num = float(value)
    except (TypeError, ValueError):
        try:
            dt = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        return dt.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    if num > 1e11:  # milliseconds (xhs, weibo) vs seconds (douyin)
        num /= 1000
    try:
        dt = datetime.fromtimestamp(num, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
    return dt.isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_tags(value: Any, text: str = "") -> list[str]:
    """Tags from a comma string or list, plus RedNote's inline `#tag[话题]#` markers."""
    tags: list[str] = []
    if isinstance(value, list):
        items = [_s(v) for v in value]
    elif isinstance(value, str) and value.strip():
        raw = value.strip()
        if raw.startswith("["):  # MediaCrawler's sqlite output stores a JSON-encoded string
            try:
                decoded = json.loads(raw)
                items = [_s(v) for v in decoded] if isinstance(decoded, list) else raw.split(",")
            except (ValueError, RecursionError):
                items = raw.split(",")
        else:
            items = re.split(r"[,，]", raw)
    else:
        items = []
    for t in items + INLINE_TAG.findall(text):
        t = t.strip().strip("#").strip()
        if t and t not in tags:
            tags.append(t)
    return tags


def _s(value: Any) -> str:
    if value is None:
        return ""
    out = value if isinstance(value, str) else str(value)
    if out.isascii():
        return out
    try:
        out.encode("utf-8")  # in C, and faster than a regex search on long CJK text
    except UnicodeEncodeError:
        # JSON can spell a lone surrogate (a \ud800 escape); SQLite and the terminal need valid UTF-8.
        return SURROGATE.sub("\ufffd", out)
    return out


# ---------------------------------------------------------------- import


def check_import_path(path: Path) -> int:
    """The size of a file of posts, refused before any read unless it is a non-empty regular file."""
    if path.is_dir():
        raise ImportError_(f"{_shown(path)} is a folder; give the file inside it (e.g. search_contents_*.json).")
    try:
        total = check_readable(path, what="file of posts")
    except FileRefused as exc:
        # A FIFO or a device is refused here, before open() could block or read forever.
        raise ImportError_(f"{str(exc).removesuffix('.')}; nothing was imported.") from None
    if total == 0:
        raise ImportError_(f"{_shown(path)} is empty; nothing was imported.")
    return total


def _shown(path: Path) -> str:
    return clean(str(path), oneline=True)


def import_file(
    store: Store,
    path: str | os.PathLike[str],
    *,
    mapping: Mapping | None = None,
    filters: Filters | None = None,
    progress: Progress | None = None,
    batch: int = 2000,
) -> ImportReport:
    """Import one file of posts into the project, in one transaction: all or nothing."""
    path = Path(path)
    mapping = mapping or Mapping()
    filters = filters or Filters()
    total = check_import_path(path)
    with open(path, "rb") as fb:
        head = fb.read(4096)
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ImportError_(f"{path.name} is not a text file (it holds NUL bytes); nothing was imported.")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ImportError_(f"{path.name} is UTF-16 text; save it as UTF-8 and import again (nothing was imported).")
    fmt = _sniff(path)
    report = ImportReport(path=str(path), format=fmt)
    done_bytes = 0

    def on_bytes(n: int) -> None:
        nonlocal done_bytes
        done_bytes += n
        if progress:
            progress(min(done_bytes, total), total)

    conn = store.db.conn
    seen = {(p, i) for p, i in conn.execute("SELECT platform, platform_id FROM posts")}
    taken = store.existing_labels()
    salt = store.meta("salt") or ""
    rows: list[tuple[Any, ...]] = []
    checked_columns = False
    try:
        # IMMEDIATE takes the write lock now, waiting (busy timeout) for another import to finish.
        conn.execute("BEGIN IMMEDIATE")
        cur = conn.execute(
            "INSERT INTO imports (path, file_sha256, format, platform, started_at, filters) VALUES (?, ?, ?, ?, ?, ?)",
            (path.name, "", fmt, mapping.platform, utcnow(), json.dumps(filters.describe())),
        )
        import_id = cur.lastrowid
        with _open_text(path) as fh:
            if fmt == "json":
                records = read_json_array(fh, on_bytes, 3 if head.startswith(codecs.BOM_UTF8) else 0)
            elif fmt == "jsonl":
                records = read_jsonl(fh, on_bytes, report.rejected)
            else:
                records = read_csv(fh, on_bytes)
            for n, rec in records:
                report.read += 1
                if not isinstance(rec, dict):
                    report.rejected.append((n, f"record {n}: not an object"))
                    continue
                if not checked_columns:
                    _check_columns(rec, mapping, fmt)
                    checked_columns = True
                row = _normalise(rec, n, mapping, report, store, salt)
                if row is None:
                    continue
                key = (mapping.platform, row["platform_id"])
                if key in seen:
                    report.duplicates += 1
                    continue
                if filters and not filters.accepts(row["title"], row["text"], row["tags_list"]):
                    report.filtered += 1
                    continue
                seen.add(key)
                rows.append((
                    mapping.platform, row["platform_id"], Store.new_label(taken), row["title"], row["text"],
                    json.dumps(row["tags_list"], ensure_ascii=False), row["author"], row["posted_at"],
                    row["url"], row["keyword"], text_hash(row["title"], row["text"]), import_id,
                ))
                if len(rows) >= batch:
                    _flush(conn, rows)
                    report.imported += len(rows)
                    rows.clear()
        if report.read == 0 and fmt != "csv":
            raise ImportError_("it holds no posts")
        if fmt == "csv" and not checked_columns:
            raise ImportError_("the CSV has a header but no rows" if report.read == 0 else "no rows")
        _flush(conn, rows)
        report.imported += len(rows)
        conn.execute(
            "UPDATE imports SET finished_at = ?, n_read = ?, n_imported = ?, n_duplicates = ?, n_filtered = ?,"
            " n_rejected = ?, file_sha256 = ? WHERE id = ?",
            (utcnow(), report.read, report.imported, report.duplicates, report.filtered, report.n_rejected,
             _sha256(path), import_id),
        )
        if report.imported == 0:
            conn.execute("ROLLBACK")  # re-importing the same file changes nothing, not even the log
            return report
        conn.execute("COMMIT")
        report.import_id = import_id
        return report
    except UnicodeDecodeError as exc:
        _rollback(conn)
        raise ImportError_(
            f"{path.name} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} cannot be decoded); "
            "save it as UTF-8 and import again (nothing was imported)."
        ) from None
    except ImportError_ as exc:
        _rollback(conn)
        raise ImportError_(clean(f"{path.name}: {exc}; nothing was imported.", oneline=True)) from None
    except BaseException:
        _rollback(conn)
        raise


def _sha256(path: Path) -> str:
    # Hashed once the file has been read and accepted, so a file refused early is not read to its end.
    sha = hashlib.sha256()
    with open(path, "rb") as fb:
        for block in iter(lambda: fb.read(CHUNK), b""):
            sha.update(block)
    return sha.hexdigest()


def _rollback(conn: Any) -> None:
    # SQLite has already rolled back after some errors (a full disk); a second ROLLBACK would fail and
    # hide the real error behind "no transaction is active".
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _flush(conn: Any, rows: list[tuple[Any, ...]]) -> None:
    if rows:
        conn.executemany(
            "INSERT INTO posts (platform, platform_id, label, title, text, tags, author, posted_at, url,"
            " source_keyword, text_hash, import_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


def _check_columns(rec: dict[str, Any], mapping: Mapping, fmt: str) -> None:
    """Refuse a comments file, or a file without the mapped id/text columns, before anything is written."""
    keys = set(rec)
    if keys & COMMENT_FIELDS or ("comment_id" in keys and "content" in keys):
        raise ImportError_(
            "this is a MediaCrawler comments file (it has comment_id), not posts; "
            "import the matching *_contents_* file instead"
        )
    missing = [c for c in (mapping.id_col, mapping.text_col) if c not in keys]
    if missing:
        # A CSV row longer than its header puts its extra fields under the key None.
        # Column names come from the file: one line each, and short, so the message stays one sentence.
        have = ", ".join(sorted(clean(_s(k), oneline=True)[:40] for k in keys if k is not None)[:12])
        raise ImportError_(
            f"the {fmt.upper()} has no column {missing[0]!r} (columns found: {have}); "
            "name the right one with --id-col / --text-col"
        )


def _normalise(
    rec: dict[str, Any], n: int, m: Mapping, report: ImportReport, store: Store, salt: str
) -> dict[str, Any] | None:
    pid = _s(rec.get(m.id_col)).strip()
    text = _s(rec.get(m.text_col))
    title = _s(rec.get(m.title_col)) if m.title_col else ""
    if not pid:
        report.rejected.append((n, f"record {n}: no {m.id_col}"))
        return None
    if not text.strip() and not title.strip():
        report.rejected.append((n, f"record {n} ({m.id_col} {pid}): no text"))
        return None
    raw_author = _s(rec.get(m.author_col)) if m.author_col else ""
    if not raw_author and m.is_default:
        raw_author = _s(rec.get("user_id"))  # the pre-2026-07 schema
    author = ""
    if raw_author:
        author = pseudonym(salt, raw_author)
    tags_value = rec.get(m.tags_col) if m.tags_col else None
    return {
        "platform_id": pid,
        "title": title,
        "text": text,
        "tags_list": parse_tags(tags_value, text),
        "author": author,
        "posted_at": parse_time(rec.get(m.time_col)) if m.time_col else None,
        "url": _s(rec.get(m.url_col)) if m.url_col else "",
        "keyword": _s(rec.get(m.keyword_col)) if m.keyword_col else "",
    }
