"""Codebook search inside the app: the same ranked search as `qualtui lookup`."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from tui.core.codebook.lookup import search
from tui.core.codebook.model import Category, Codebook
from tui.core.safe import clean


class SearchScreen(ModalScreen[str | None]):
    """Type to search; Enter assigns the highlighted code, ctrl+d shows its full definition."""

    BINDINGS = [
        Binding("escape", "cancel", "Close", id="search.close", tooltip="Close the search"),
        # Priority: the focused Input would otherwise take ctrl+d (delete right) and tab (focus).
        Binding("ctrl+d,tab", "define", "Definition", id="search.define",
                tooltip="Show the full definition without assigning", priority=True),
        Binding("down", "cursor(1)", "Down", show=False, id="search.down", tooltip="Next result"),
        Binding("up", "cursor(-1)", "Up", show=False, id="search.up", tooltip="Previous result"),
    ]

    def __init__(self, codebook: Codebook, *, assign: bool = True) -> None:
        super().__init__()
        self.codebook = codebook
        self.assign = assign

    def compose(self) -> ComposeResult:
        with Vertical(id="search-box"):
            hint = "Enter assigns · ctrl+d definition · esc close" if self.assign else \
                "ctrl+d definition · esc close (switch to coding mode with m to assign)"
            yield Static(Text("Search the codebook   " + hint, style="bold"))
            yield Input(placeholder="ransom, 赎金, torture, passport…", id="search-input")
            yield OptionList(id="search-results")
            yield Static(id="search-definition")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        results = self.query_one(OptionList)
        results.clear_options()
        hits = search(self.codebook, event.value, limit=30)
        for h in hits:
            line = Text()
            line.append(f"{self.codebook.keys(h.node.id):>4} ", style="bold cyan")
            line.append(clean(self.codebook.path_str(h.node.id), oneline=True))
            results.add_option(Option(line, id=h.node.id))
        if hits:
            results.highlighted = 0
        self.query_one("#search-definition", Static).update("")

    def action_cursor(self, step: int) -> None:
        results = self.query_one(OptionList)
        if results.option_count:
            current = results.highlighted or 0
            results.highlighted = max(0, min(results.option_count - 1, current + step))

    def _highlighted(self) -> str | None:
        results = self.query_one(OptionList)
        if results.highlighted is None or not results.option_count:
            return None
        return results.get_option_at_index(results.highlighted).id

    def action_define(self) -> None:
        code_id = self._highlighted()
        if code_id is None:
            return
        node = self.codebook.node(code_id)
        if node is None:
            return
        body = node.description if isinstance(node, Category) else node.definition
        out = Text(clean(self.codebook.path_str(code_id)) + "\n", style="bold")
        masker = getattr(self.app, "masker", None)  # graphic terms masked here as in the palette
        out.append(masker()(clean(body)) if masker is not None else clean(body))
        if not isinstance(node, Category) and node.aliases:
            out.append("\naliases: " + clean(", ".join(node.aliases)), style="dim")
        self.query_one("#search-definition", Static).update(out)

    @on(Input.Submitted)
    def _submitted(self) -> None:
        code_id = self._highlighted()
        node = self.codebook.node(code_id) if code_id else None
        if node is None:
            return
        if isinstance(node, Category) or not self.assign:
            self.action_define()
            return
        self.dismiss(code_id)

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.option_list.highlighted = event.option_index
        self._submitted()

    def action_cancel(self) -> None:
        self.dismiss(None)
