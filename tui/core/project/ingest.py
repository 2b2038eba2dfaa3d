"""Corpus import: MediaCrawler note files and generic CSV/JSONL, normalised, filtered, deduplicated."""

from __future__ import annotations

import codecs
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.core.files import MAX_LINE_BYTES, FileRefused, check_readable
from tui.core.project.errors import ImportError_
from tui.core.project.events import utcnow
from tui.core.project.normalise import as_text, parse_tags, parse_time
from tui.core.project.posts import pseudonym, text_hash
from tui.core.project.readers import CHUNK, open_text, read_csv, read_json_array, read_jsonl, sniff
from tui.core.project.store import Store
from tui.core.safe import clean

__all__ = [
    "MAX_RECORD_CHARS", "Filters", "ImportError_", "ImportReport", "Mapping", "Progress", "check_import_path",
    "import_file", "parse_tags", "parse_time",
]
# ImportError_ and the readers and normalisers live in errors.py, readers.py and normalise.py; the
# error and the two parsers stay importable from here, where callers of the import look for them.

MAX_RECORD_CHARS = MAX_LINE_BYTES
"""Kept for callers of the old name; the limit itself is `MAX_LINE_BYTES` (docs/limits.md)."""
COMMENT_FIELDS = {"comment_id", "parent_comment_id", "sub_comment_count"}

Progress = Callable[[int, int], None]
"""Called with (bytes read so far, total bytes)."""


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
    fmt = sniff(path)
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
        with open_text(path) as fh:
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
        have = ", ".join(sorted(clean(as_text(k), oneline=True)[:40] for k in keys if k is not None)[:12])
        raise ImportError_(
            f"the {fmt.upper()} has no column {missing[0]!r} (columns found: {have}); "
            "name the right one with --id-col / --text-col"
        )


def _normalise(
    rec: dict[str, Any], n: int, m: Mapping, report: ImportReport, store: Store, salt: str
) -> dict[str, Any] | None:
    pid = as_text(rec.get(m.id_col)).strip()
    text = as_text(rec.get(m.text_col))
    title = as_text(rec.get(m.title_col)) if m.title_col else ""
    if not pid:
        report.rejected.append((n, f"record {n}: no {m.id_col}"))
        return None
    if not text.strip() and not title.strip():
        report.rejected.append((n, f"record {n} ({m.id_col} {pid}): no text"))
        return None
    raw_author = as_text(rec.get(m.author_col)) if m.author_col else ""
    if not raw_author and m.is_default:
        raw_author = as_text(rec.get("user_id"))  # the pre-2026-07 schema
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
        "url": as_text(rec.get(m.url_col)) if m.url_col else "",
        "keyword": as_text(rec.get(m.keyword_col)) if m.keyword_col else "",
    }
