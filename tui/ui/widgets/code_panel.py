"""The panel beside the post: its codes with their paths, suggestions, quotes, memo, flags."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static

from tui.core.codebook.model import Category, Codebook
from tui.core.coding.sentences import wrap_lines
from tui.core.coding.session import Current
from tui.core.safe import clean

RECENT_KEYS = "!@#$%"


def category_colour(codebook: Codebook, node_id: str) -> str:
    """The colour of the category a code or sub-code belongs to (its own, for a category)."""
    top = codebook.lineage(node_id)[0]
    return top.colour if isinstance(top, Category) else ""


def _same(text: str) -> str:
    return text


def _node_line(codebook: Codebook, code_id: str, width: int = 40) -> Text:
    node = codebook.node(code_id)
    if node is None:
        return Text(clean(f"{code_id} (not in this codebook)", oneline=True), style="red")
    lineage = codebook.lineage(code_id)
    line = Text("● ", style=category_colour(codebook, code_id))
    line.append(_indented(clean(node.name, oneline=True), width, 5), style="bold")
    if len(lineage) > 2:
        line.append("\n     in ", style="dim")
        line.append(_indented(clean(lineage[1].name, oneline=True), width - 3, 5), style="dim")
    return line


def _indented(text: str, width: int, indent: int) -> str:
    """`text` wrapped to `width` cells, continuation lines indented by `indent` (CJK-aware)."""
    room = max(8, width - indent)
    lines = wrap_lines(text, room, None, cell_len)
    return ("\n" + " " * indent).join(text[a:b] for a, b in lines) if lines else text


def render_panel(codebook: Codebook, current: Current, pending: list[tuple[str, str, float]],
                 recent: list[str], show_suggestions: bool, width: int = 40, mode: str = "coding", *,
                 mask: Callable[[str], str] = _same, text_hidden: bool = False) -> Text:
    """Everything the coder has decided on this post, as plain Text (no markup from data).

    Quotes and the memo carry post text: `mask` blacks out graphic terms in them, and while the
    post text is hidden (a break, a daily limit) they are left out altogether.
    """
    st = current.state
    out = Text()
    rel = {None: "not screened", 1: "relevant", 0: "not relevant"}[st.relevance]
    out.append("Relevance: ", style="bold")
    out.append(rel, style={"relevant": "green", "not relevant": "red"}.get(rel, "dim"))
    if st.done:
        out.append("  ✓ done", style="green")
    if st.flagged:
        out.append("  ⚑ flagged", style="yellow")
    out.append("\n\nCodes", style="bold")
    out.append("  (x + number removes)\n" if mode == "coding" else "\n", style="dim")
    if not st.codes and mode == "coding":
        out.append(_indented("  none yet — press a category digit or /", width, 2) + "\n", style="dim")
    elif not st.codes:
        out.append(_indented("  none yet — screening: 1 relevant, 0 not relevant; m codes", width, 2) + "\n",
                   style="dim")
    for i, code_id in enumerate(st.codes, 1):
        out.append(f" {i} " if i < 10 else "   ", style="bold cyan")
        out.append_text(_node_line(codebook, code_id, width))
        out.append("\n")
    if show_suggestions and current.blind:
        out.append("\nBlind post\n", style="bold magenta")
        out.append(_indented("  no model suggestions here, by the study's design", width, 2) + "\n", style="dim")
    elif show_suggestions and pending:
        out.append("\nSuggestions", style="bold italic magenta")
        out.append("  (a accept · r reject)\n", style="dim")
        for n, (kind, code_id, score) in enumerate(pending[:5]):
            marker = "▶ " if n == 0 else "  "
            label = "relevant?" if kind == "relevance" else " › ".join(codebook.path(code_id)[1:])
            out.append(f"{marker}{score:4.0%} ", style="italic magenta")
            # Wrapped names continue under the name, not at column 0.
            out.append(_indented(clean(label, oneline=True), width, 7), style="italic magenta")
            out.append("\n")
    if text_hidden and (st.quotes or st.memo):
        out.append("\nQuotes and memo are hidden with the post text.\n", style="dim italic")
    elif st.quotes:
        out.append("\nQuotes\n", style="bold")
        for q in st.quotes:
            quoted = codebook.node(q.code_id) if q.code_id else None
            name = quoted.name if quoted is not None else "—"
            snippet = mask(clean(q.text, oneline=True))
            snippet = snippet if len(snippet) <= width else snippet[: width - 1] + "…"
            out.append(" “", style="dim")
            out.append(snippet)
            out.append("” ", style="dim")
            out.append(clean(name, oneline=True) + "\n", style="cyan")
    if st.memo and not text_hidden:
        out.append("\nMemo\n", style="bold")
        out.append(mask(clean(st.memo)) + "\n")
    if recent:
        out.append("\nRecent", style="bold")
        out.append("  (one key)\n", style="dim")
        for key, code_id in zip(RECENT_KEYS, recent, strict=False):
            node = codebook.node(code_id)
            if node is not None:
                out.append(f" {key} ", style="bold cyan")
                out.append(clean(node.name, oneline=True) + "\n")
    return out


class CodePanel(Static):
    """Shows the coder's decisions on the current post, wrapped to the panel's own width."""

    _args: tuple[Any, ...] | None = None
    _kwargs: dict[str, Any] = {}

    def show(self, *args: Any, **kwargs: Any) -> None:
        """Draw `render_panel(*args, **kwargs)` at this panel's width (redrawn when the width changes)."""
        self._args, self._kwargs = args, kwargs
        self._draw()

    def _draw(self) -> None:
        if self._args is not None:
            width = self.size.width - 1 if self.size.width > 0 else 38
            self.update(render_panel(*self._args, **{**self._kwargs, "width": max(16, width)}))

    def on_resize(self) -> None:
        self._draw()
