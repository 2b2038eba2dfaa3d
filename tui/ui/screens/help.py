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
    """A table of every binding of the screen below (and of the app); any of escape, q or ? closes it."""

    BINDINGS = [Binding("escape,q,question_mark", "close", "Close", id="help.close", tooltip="Close")]
    TABLE_TITLE = "Keys (remap them in the config file by id)"
    APP_KEYS = True
    """List the app's own keys (pre-labelling, the palette) after the screen's."""

    def extra_rows(self) -> list[tuple[str, str, str]]:
        """Rows for keys of a follow-up dialog (keys, what they do, id)."""
        return []

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(id="help-table")

    def on_mount(self) -> None:
        below = self.app.screen_stack[-2] if len(self.app.screen_stack) > 1 else self.app.screen
        table = Table(title=self.TABLE_TITLE, expand=True)
        table.add_column("keys", style="bold cyan", no_wrap=True)
        table.add_column("does")
        table.add_column("id", style="dim")
        keymap = getattr(self.app, "_keymap", {}) or {}
        # The screen's own keys, then the app's: the same tables the bindings and the keymap check use.
        bindings = [b for b in below.BINDINGS if isinstance(b, Binding)]
        if self.APP_KEYS:
            bindings += [b for b in self.app.BINDINGS if isinstance(b, Binding) and b.id]
        for keys, does, ids in help_rows(bindings, keymap) + self.extra_rows():
            table.add_row(Text(keys), Text(does), Text(ids))
        self.query_one("#help-table", Static).update(table)

    def action_close(self) -> None:
        """Close the help."""
        self.dismiss(None)


def help_rows(bindings: list[Binding], keymap: dict[str, str]) -> list[tuple[str, str, str]]:
    """(keys as typed, what they do, ids) per binding; neighbours that do the same (category keys) share a row."""
    rows: list[tuple[list[str], str, list[str]]] = []
    for b in bindings:
        keys = typed_keys(keymap.get(b.id, b.key) if b.id else b.key)
        does = b.tooltip or b.description
        if rows and rows[-1][1] == does:
            rows[-1][0].append(keys)
            rows[-1][2].append(b.id or "")
        else:
            rows.append(([keys], does, [b.id or ""]))
    return [(" ".join(keys), does, ids[0] if len(ids) == 1 else f"{ids[0]} … {ids[-1]}") for keys, does, ids in rows]


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
