"""Untrusted text (posts, tags, memos, file names) made safe to put on a terminal."""

from __future__ import annotations

import re

# CSI, OSC (ended by BEL or ST), DCS/SOS/PM/APC strings, and two-character ESC sequences.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|\x1b[@-Z\\-_]"
    r"|\x9b[0-?]*[ -/]*[@-~]"
    r"|\x9d[^\x07\x9c]*[\x07\x9c]?"
)
# Every other C0/C1 control character (tab and newline stay), DEL, and bidi overrides that
# could make a line read differently from what it holds.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean(text: str, *, oneline: bool = False) -> str:
    """`text` without terminal control sequences; stored data is never changed, only its display."""
    if not text:
        return ""
    out = _CONTROLS.sub("", _ESCAPES.sub("", text.replace("\r\n", "\n").replace("\r", "\n")))
    if oneline:
        out = " ".join(out.split())
    return out


def control_spans(text: str) -> list[tuple[int, int]]:
    """Spans of `text` that `clean` removes: control sequences, then stray control characters (may overlap).

    A carriage return is not among them: `clean` turns it into a line break rather than dropping it.
    """
    spans = [m.span() for m in _ESCAPES.finditer(text)]
    spans += [m.span() for m in _CONTROLS.finditer(text) if m.group() != "\r"]
    return spans
