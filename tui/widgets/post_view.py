"""The post itself: header, tags and text, with a sentence cursor, quotes and masked terms."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.widgets import Static

from tui.core.masking import apply_mask
from tui.core.safe import clean

MASK = "█"


def render_body(text: str, sentences: list[tuple[int, int]], cursor: int, quoted: set[tuple[int, int]],
                masked: list[tuple[int, int]]) -> Text:
    """The post text as a rich Text: the cursor sentence highlighted, quotes marked, masks applied.

    Spans refer to the stored text; each piece is cleaned separately so control characters never
    shift a highlight onto the wrong words.
    """
    cuts = {0, len(text)}
    for a, b in sentences:
        cuts.update((a, b))
    for a, b in masked:
        cuts.update((a, b))
    points = sorted(c for c in cuts if 0 <= c <= len(text))
    cur = sentences[cursor] if 0 <= cursor < len(sentences) else None
    out = Text()
    for a, b in zip(points, points[1:]):
        piece = text[a:b]
        style = ""
        span = next(((s, e) for s, e in sentences if s <= a and b <= e), None)
        if span is not None and span in quoted:
            style = "underline"
        if cur is not None and cur[0] <= a and b <= cur[1]:
            style = (style + " reverse").strip()
        if any(s <= a and b <= e for s, e in masked):
            out.append(apply_mask(clean(piece), [(0, len(piece))], MASK), style=(style + " dim").strip())
        else:
            out.append(clean(piece), style=style)
    return out


class PostView(VerticalScroll, can_focus=True):
    """A scrollable post; sentence by sentence with j/k."""

    cursor: reactive[int] = reactive(0, init=False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._text = ""
        self._sentences: list[tuple[int, int]] = []
        self._quoted: set[tuple[int, int]] = set()
        self._masked: list[tuple[int, int]] = []

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(id="post-body")

    def show(self, text: str, sentences: list[tuple[int, int]], quoted: set[tuple[int, int]],
             masked: list[tuple[int, int]], cursor: int = 0) -> None:
        """Display a post's text (untrusted: rendered as plain Text, never markup)."""
        self._text, self._sentences, self._quoted, self._masked = text, sentences, quoted, masked
        self.set_reactive(PostView.cursor, max(0, min(cursor, len(sentences) - 1)))
        self._render_body()
        self.scroll_home(animate=False)

    def hide(self, message: str) -> None:
        """Show no post text at all (breaks, daily cap)."""
        self._text, self._sentences, self._quoted, self._masked = "", [], set(), []
        self.query_one("#post-body", Static).update(Text(message, style="italic"))

    def update_marks(self, quoted: set[tuple[int, int]], masked: list[tuple[int, int]]) -> None:
        """Redraw after quotes or masking changed."""
        self._quoted, self._masked = quoted, masked
        self._render_body()

    def watch_cursor(self) -> None:
        self._render_body()
        self._scroll_to_cursor()

    def move(self, step: int) -> None:
        """Move the sentence cursor."""
        if self._sentences:
            self.cursor = max(0, min(self.cursor + step, len(self._sentences) - 1))

    def _render_body(self) -> None:
        body = render_body(self._text, self._sentences, self.cursor, self._quoted, self._masked)
        self.query_one("#post-body", Static).update(body)

    def _scroll_to_cursor(self) -> None:
        if not self._sentences or self.size.width <= 2:
            return
        start = self._sentences[self.cursor][0]
        before = Text(clean(self._text[:start]))
        lines = before.wrap(self.app.console, max(1, self.scrollable_content_region.width)) if start else []
        y = max(0, len(lines) - 1)
        if y < self.scroll_y or y >= self.scroll_y + self.scrollable_content_region.height - 1:
            self.scroll_to(y=max(0, y - 2), animate=False)
