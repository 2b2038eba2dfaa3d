"""Sentence spans in post text, so a coder can move sentence by sentence and quote one."""

from __future__ import annotations

import re
from collections.abc import Callable

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


# MediaCrawler appends RedNote's topics to the text as `#反诈[话题]#`; the tags already hold them.
TOPIC = re.compile(r"#[^#\n\[\]]{1,60}\[话题\]#")

# Kinsoku: characters that never start a line, and those that never end one.
NO_START = set("。，、．！？；：）」』】》〉〕”’…‥・ー々〜,.!?;:)]}%")
NO_END = set("（「『【《〈〔“‘([{")


def topic_spans(text: str) -> list[tuple[int, int]]:
    """Spans of MediaCrawler's inline topic markers (`#反诈[话题]#`), not shown as post text."""
    return [m.span() for m in TOPIC.finditer(text)]


def hidden_spans(text: str) -> list[tuple[int, int]]:
    """Sorted, merged spans never drawn: topic markers and terminal control sequences."""
    from tui.core.safe import control_spans  # what `clean` removes

    spans = topic_spans(text) + control_spans(text)
    merged: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def shown_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans, leaving out those that are nothing but topic markers."""
    topics = topic_spans(text)
    if not topics:
        return split_sentences(text)
    masked = list(text)
    for a, b in topics:
        masked[a:b] = " " * (b - a)  # same length: spans stay valid in the stored text
    return split_sentences("".join(masked))


def _cells(ch: str) -> int:
    import unicodedata

    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 1


def wrap_lines(text: str, width: int, hidden: list[tuple[int, int]] | None = None,
               cell_len: Callable[[str], int] = _cells) -> list[tuple[int, int]]:
    """Display lines of `text` as (start, end) spans for a column `width` cells wide.

    Words wrap at spaces, CJK between any two characters, but closing punctuation (。，」…) never
    starts a line and an opening bracket never ends one. Hidden spans take no room.
    """
    width = max(2, width)
    hide = [False] * len(text)
    for a, b in hidden or []:
        hide[a:b] = [True] * (b - a)
    lines: list[tuple[int, int]] = []
    pos = 0
    for m in re.finditer(r"\r\n|\r|\n", text):
        _wrap_paragraph(text, pos, m.start(), width, hide, cell_len, lines)
        pos = m.end()
    _wrap_paragraph(text, pos, len(text), width, hide, cell_len, lines)
    return lines


def _tokens(text: str, start: int, end: int, hide: list[bool],
            cell_len: Callable[[str], int]) -> list[tuple[int, int, int, bool]]:
    """(start, end, cells, is_space) tokens: space runs, words, single wide characters."""
    out: list[tuple[int, int, int, bool]] = []
    i = start
    while i < end:
        if hide[i]:
            i += 1
            continue
        ch = text[i]
        w = cell_len(ch)
        kind = "space" if ch.isspace() else "wide" if w == 2 else "word"
        if out and kind != "wide" and _kind(text, out[-1], cell_len) == kind and _joins(out[-1], i, hide):
            s, _, c, sp = out[-1]
            out[-1] = (s, i + 1, c + w, sp)
        else:
            out.append((i, i + 1, w, kind == "space"))
        i += 1
    return out


def _kind(text: str, tok: tuple[int, int, int, bool], cell_len: Callable[[str], int]) -> str:
    if tok[3]:
        return "space"
    return "wide" if cell_len(text[tok[0]]) == 2 else "word"


def _joins(tok: tuple[int, int, int, bool], i: int, hide: list[bool]) -> bool:
    """Only hidden characters lie between the token and position i."""
    return all(hide[tok[1]:i])


def _wrap_paragraph(text: str, start: int, end: int, width: int, hide: list[bool],
                    cell_len: Callable[[str], int], lines: list[tuple[int, int]]) -> None:
    tokens = _tokens(text, start, end, hide, cell_len)
    line: list[tuple[int, int, int, bool]] = []
    used, first, produced = 0, True, 0

    def flush() -> None:
        nonlocal line, used, first, produced
        while line and line[-1][3]:
            line.pop()
        lines.append((line[0][0], line[-1][1]) if line else (start, start))
        line, used, first, produced = [], 0, False, produced + 1

    for tok in tokens:
        s, e, c, space = tok
        if space:
            if line or first:  # a paragraph keeps its own indent; a wrapped line starts at a word
                line.append(tok)
                used += c
            continue
        if used + c <= width:
            line.append(tok)
            used += c
            continue
        if c > width:  # a word longer than the line: fold it by characters
            for k in range(s, e):
                if hide[k]:
                    continue
                w = cell_len(text[k])
                if used + w > width and line:
                    flush()
                line.append((k, k + 1, w, False))
                used += w
            continue
        carry: list[tuple[int, int, int, bool]] = []
        if text[s] in NO_START:  # take the last character of the line along with the punctuation
            while line and line[-1][3]:
                line.pop()
            if len(line) > 1:
                carry.append(line.pop())
        while len(line) > 1 and not line[-1][3] and text[line[-1][1] - 1] in NO_END:
            carry.insert(0, line.pop())
        flush()
        for t in carry + [tok]:
            line.append(t)
            used += t[2]
    if line or not produced:
        flush()
