"""Sentence spans in post text, so a coder can move sentence by sentence and quote one."""

from __future__ import annotations

import re

# A sentence ends at 。！？!?… (and a full stop followed by space or end), plus any closing
# quotes/brackets; a blank line always ends one. Emoji and CJK need no special casing here.
_END = re.compile(r"(?:[。！？!?…]+|\.(?=\s|$))[\"'”’」』）)\]]*|\n\s*\n|\n")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) character spans of the sentences in `text`, whitespace trimmed."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _END.finditer(text):
        _add(text, start, m.end(), spans)
        start = m.end()
    _add(text, start, len(text), spans)
    return spans


def _add(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))
