"""The post itself: header, tags and text, with a sentence cursor, quotes and masked terms."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Any

from rich.cells import cell_len
from rich.segment import Segment
from rich.text import Text
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.core.coding.sentences import hidden_spans, wrap_lines
from tui.core.safe import clean
from tui.core.wellbeing.masking import apply_mask

MASK = "█"


def render_body(text: str, sentences: list[tuple[int, int]], cursor: int, quoted: set[tuple[int, int]],
                masked: list[tuple[int, int]]) -> Text:
    """The whole post text as one rich Text (what the view drew before it drew line by line)."""
    cuts = {0, len(text)}
    for a, b in sentences:
        cuts.update((a, b))
    for a, b in masked:
        cuts.update((a, b))
    points = sorted(c for c in cuts if 0 <= c <= len(text))
    cur = sentences[cursor] if 0 <= cursor < len(sentences) else None
    out = Text()
    for a, b in zip(points, points[1:], strict=False):
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


def _char_cells(ch: str) -> int:
    return 1 if ch == "\t" else cell_len(ch)  # a tab is drawn as one space


class PostView(ScrollView, can_focus=True):
    """A scrollable post; sentence by sentence with j/k.

    The text is wrapped once per width into display lines (spans of the stored text); each line is
    drawn on demand and cached, so moving the cursor redraws only the lines of two sentences.
    Spans refer to the stored text; each piece is cleaned separately so control characters never
    shift a highlight onto the wrong words, and topic markers (`#话题[话题]#`) are not drawn.
    """

    cursor: reactive[int] = reactive(0, init=False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._text = ""
        self._sentences: list[tuple[int, int]] = []
        self._starts: list[int] = []
        self._quoted: set[tuple[int, int]] = set()
        self._masked: list[tuple[int, int]] = []
        self._hidden: list[tuple[int, int]] = []
        self._message = False  # showing a notice instead of a post
        self._lines: list[tuple[int, int]] = []
        self._line_starts: list[int] = []
        self._width = -1
        self._strips: dict[int, Strip] = {}

    def show(self, text: str, sentences: list[tuple[int, int]], quoted: set[tuple[int, int]],
             masked: list[tuple[int, int]], cursor: int = 0) -> None:
        """Display a post's text (untrusted: drawn as plain Text, never markup)."""
        self._set(text, sentences, quoted, masked, hidden_spans(text), message=False)
        self.set_reactive(PostView.cursor, max(0, min(cursor, len(sentences) - 1)))
        self.scroll_home(animate=False)

    def hide(self, message: str) -> None:
        """Show no post text at all (breaks, daily cap)."""
        self._set(message, [], set(), [], [], message=True)
        self.set_reactive(PostView.cursor, 0)
        self.scroll_home(animate=False)

    def _set(self, text: str, sentences: list[tuple[int, int]], quoted: set[tuple[int, int]],
             masked: list[tuple[int, int]], hidden: list[tuple[int, int]], *, message: bool) -> None:
        same_text = (text, hidden, message) == (self._text, self._hidden, self._message)
        self._text, self._sentences, self._quoted, self._masked = text, sentences, quoted, sorted(masked)
        self._starts = [a for a, _ in sentences]
        self._hidden, self._message = hidden, message
        if not same_text:  # the same post redrawn (undo, reveal) keeps its wrapped lines
            self._width = -1
        self._relayout()

    def update_marks(self, quoted: set[tuple[int, int]], masked: list[tuple[int, int]]) -> None:
        """Redraw after quotes or masking changed."""
        self._quoted, self._masked = quoted, sorted(masked)
        self._strips.clear()
        self.refresh()

    @property
    def body_text(self) -> str:
        """The text as drawn, line by line (for tests)."""
        self._ensure_lines()
        return "\n".join(self._line_text(y).plain for y in range(len(self._lines)))

    # ------------------------------------------------------------ layout

    def _content_width(self) -> int:
        return self.scrollable_content_region.width

    def _ensure_lines(self) -> bool:
        width = self._content_width()
        if width <= 0 or width == self._width:
            return False
        self._width = width
        self._lines = wrap_lines(self._text, width, self._hidden, _char_cells)
        self._line_starts = [a for a, _ in self._lines]
        self._strips.clear()
        return True

    def _relayout(self) -> None:
        self._ensure_lines()
        self._strips.clear()
        self.virtual_size = Size(max(1, self._width), len(self._lines))
        self.refresh()

    def on_resize(self) -> None:
        if self._content_width() != self._width:
            self._relayout()
            self._scroll_to_cursor()

    def _line_range(self, span: tuple[int, int]) -> range:
        """The display lines a stored-text span falls on."""
        if not self._lines:
            return range(0)
        first = max(0, bisect_right(self._line_starts, span[0]) - 1)
        last = max(first, bisect_right(self._line_starts, max(span[0], span[1] - 1)) - 1)
        return range(first, last + 1)

    # ------------------------------------------------------------ the cursor

    def watch_cursor(self, old: int, new: int) -> None:
        for i in (old, new):
            if 0 <= i < len(self._sentences):
                lines = self._line_range(self._sentences[i])
                for y in lines:
                    self._strips.pop(y, None)
                if lines:
                    self.refresh_lines(lines.start, len(lines))
        self._scroll_to_cursor()

    def move(self, step: int) -> None:
        """Move the sentence cursor."""
        if self._sentences:
            self.cursor = max(0, min(self.cursor + step, len(self._sentences) - 1))

    def _scroll_to_cursor(self) -> None:
        if not self._sentences or not self._lines or self.cursor >= len(self._sentences):
            return
        lines = self._line_range(self._sentences[self.cursor])
        height = self.scrollable_content_region.height
        if not lines or height <= 0:
            return
        y = lines.start
        if y < self.scroll_y or y >= self.scroll_y + height - 1:
            self.scroll_to(y=max(0, y - 2), animate=False)

    # ------------------------------------------------------------ drawing

    def _line_text(self, y: int) -> Text:
        a, b = self._lines[y]
        if self._message:
            return Text(clean(self._text[a:b]).replace("\t", " "), style="italic")
        cuts = {a, b}
        first = max(0, bisect_right(self._starts, a) - 1)
        for spans in (self._sentences[first:], self._masked, self._hidden):
            for s, e in spans:
                if s >= b and spans is not self._masked and spans is not self._hidden:
                    break
                if e > a and s < b:
                    cuts.update(c for c in (s, e) if a < c < b)
        points = sorted(cuts)
        cur = self._sentences[self.cursor] if 0 <= self.cursor < len(self._sentences) else None
        out = Text()
        for p, q in zip(points, points[1:], strict=False):
            if _inside(self._hidden, p, q):
                continue
            piece = clean(self._text[p:q]).replace("\t", " ")
            style = ""
            i = bisect_right(self._starts, p) - 1
            if i >= 0 and self._sentences[i][1] >= q and self._sentences[i] in self._quoted:
                style = "underline"
            if cur is not None and cur[0] <= p and q <= cur[1]:
                style = (style + " reverse").strip()
            if _inside(self._masked, p, q):
                out.append(apply_mask(piece, [(0, len(piece))], MASK), style=(style + " dim").strip())
            else:
                out.append(piece, style=style)
        return out

    def render_line(self, y: int) -> Strip:
        """One display line, drawn once and kept until the cursor, the marks or the width change."""
        if self._ensure_lines():
            self.call_later(self._relayout)
        width = max(0, self._content_width())
        line = y + self.scroll_offset.y
        if not 0 <= line < len(self._lines):
            return Strip.blank(width, self.rich_style)
        strip = self._strips.get(line)
        if strip is None:
            segments = [Segment(s.text, s.style) for s in self._line_text(line).render(self.app.console)]
            strip = Strip(segments).extend_cell_length(width).crop(0, width).apply_style(self.rich_style)
            self._strips[line] = strip
        return strip


def _inside(spans: list[tuple[int, int]], a: int, b: int) -> bool:
    """[a, b) lies within one of the sorted, non-overlapping `spans`."""
    i = bisect_left(spans, (a + 1, a + 1)) - 1
    return i >= 0 and spans[i][0] <= a and b <= spans[i][1]
