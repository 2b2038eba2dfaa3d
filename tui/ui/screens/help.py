"""All keys of the screen below, with what they do (and their ids, for remapping)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.keys import KEY_DISPLAY_ALIASES, format_key
from textual.screen import ModalScreen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    """A table of every binding; any of escape, q or ? closes it."""

    BINDINGS = [Binding("escape,q,question_mark", "close", "Close", id="help.close", tooltip="Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(id="help-table")

    def on_mount(self) -> None:
        below = self.app.screen_stack[-2] if len(self.app.screen_stack) > 1 else self.app.screen
        table = Table(title="Keys (remap them in the config file by id)", expand=True)
        table.add_column("keys", style="bold cyan", no_wrap=True)
        table.add_column("does")
        table.add_column("id", style="dim")
        keymap = getattr(self.app, "_keymap", {}) or {}
        for b in below.BINDINGS:  # type: ignore[union-attr]
            if isinstance(b, Binding):
                keys = keymap.get(b.id, b.key) if b.id else b.key
                table.add_row(Text(typed_keys(keys)), Text(b.tooltip or b.description), Text(b.id or ""))
        table.add_row(Text("1–9 (coding)"), Text("Open a category; then a code letter; then a sub-code letter"),
                      Text(""))
        table.add_row(Text("! @ # $ %"), Text("Assign one of the recently used codes"), Text(""))
        table.add_row(Text("ctrl+p"), Text("Command palette: codebook search, well-being, reports"), Text(""))
        for b in self.app.BINDINGS:  # the app's own keys (pre-labelling in the background)
            if isinstance(b, Binding) and b.id and b.id != "palette":
                keys = keymap.get(b.id, b.key)
                table.add_row(Text(typed_keys(keys)), Text(b.tooltip or b.description), Text(b.id))
        self.query_one("#help-table", Static).update(table)

    def action_close(self) -> None:
        """Close the help."""
        self.dismiss(None)


def typed_keys(keys: str) -> str:
    """Binding keys as a coder types them: `slash,ctrl+z` -> `/, ctrl+z`."""
    out = []
    for key in keys.split(","):
        key = key.strip()
        modifiers, _, name = key.rpartition("+")
        char = format_key(name) if len(name) > 1 and name not in KEY_DISPLAY_ALIASES else name
        shown = char if len(char) == 1 and char.isprintable() and not char.isspace() else name
        out.append(f"{modifiers}+{shown}" if modifiers else shown)
    return ", ".join(out)
