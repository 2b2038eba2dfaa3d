"""Normalising the fields of a post record: times to UTC, tags from every shape crawlers write, valid text."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any

SURROGATE = re.compile("[\ud800-\udfff]")
INLINE_TAG = re.compile(r"#([^#\[\]\n]{1,40})\[话题\]#")
"""RedNote's inline topic marker, `#tag[话题]#`."""


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
        items = [as_text(v) for v in value]
    elif isinstance(value, str) and value.strip():
        raw = value.strip()
        if raw.startswith("["):  # MediaCrawler's sqlite output stores a JSON-encoded string
            try:
                decoded = json.loads(raw)
                items = [as_text(v) for v in decoded] if isinstance(decoded, list) else raw.split(",")
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


def as_text(value: Any) -> str:
    """A field's value as valid UTF-8 text ("" for none); a lone surrogate becomes U+FFFD."""
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
