"""`clean` and `control_spans` agree on what untrusted text loses before it reaches a terminal."""

from __future__ import annotations

import pytest

from tui.core.safe import clean, control_spans

HOSTILE = [
    "plain text",
    "red \x1b[31mtext\x1b[0m here",
    "title \x1b]0;pwned\x07 and \x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\",
    "bell\x07 null\x00 del\x7f c1\x9b31m",
    "bidi \u202eevil\u202c and \u2066isolate\u2069",
    "tab\tand\nnewline stay",
    "dcs \x1bPq#0;2;0;0;0\x1b\\ done",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_removing_the_spans_gives_what_clean_gives(text: str) -> None:
    keep = [True] * len(text)
    for a, b in control_spans(text):
        keep[a:b] = [False] * (b - a)
    assert "".join(c for c, k in zip(text, keep, strict=True) if k) == clean(text)


def test_a_carriage_return_is_not_a_control_span() -> None:
    assert control_spans("a\rb") == [] and clean("a\rb") == "a\nb"
