"""The small dialogs of the reconciliation screen: why coders disagreed, a reconciled set, the keys."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from tui.core.safe import clean
from tui.core.sync.consensus import DISAGREEMENT_TYPES
from tui.ui.screens.bindings import B
from tui.ui.screens.help import HelpScreen, help_rows

TYPE_KEYS = dict(zip("mwuo", DISAGREEMENT_TYPES, strict=False))
"""One key per disagreement type: missed code, wrong sub-code, unclear definition, other."""
TYPE_HELP = ("Why the coders disagreed: " + ", ".join(f"{k} {name}" for k, name in TYPE_KEYS.items())
             + "; then an optional note and Enter")
SET_KEYS = "123456789abcdefghijklmnopqrstuvwxyz"
"""The keys that toggle the codes listed in the reconciled-set picker, in order."""


class DecisionTypeScreen(ModalScreen[tuple[str, str] | None]):
    """Why the coders disagreed (one key) and an optional note; Enter confirms, Escape cancels the decision."""

    BINDINGS = [
        *(B(key, f"choose_type('{key}')", name.capitalize(), "decision." + name.replace(" ", "_").replace("-", "_"),
            TYPE_HELP, show=False) for key, name in TYPE_KEYS.items()),
        B("enter", "confirm", "Confirm", "decision.confirm", "Record the decision", show=False),
        B("escape", "cancel", "Cancel", "decision.cancel", "Cancel the whole decision"),
    ]

    def __init__(self, what: Text) -> None:
        super().__init__()
        self.what = what
        self.kind: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="decision-box"):
            yield Static(self.what, id="decision-what")
            yield Static(self._types(), id="decision-types")
            yield Input(placeholder="Optional one-line note · Enter confirms · Escape cancels",
                        id="decision-note", disabled=True)

    def _types(self) -> Text:
        out = Text("Why did the coders disagree?  ")
        for key, name in TYPE_KEYS.items():
            chosen = name == self.kind
            out.append(key, style="bold reverse" if chosen else "bold cyan")
            out.append(" " + name + ("  ✓" if chosen else "") + "   ", style="bold" if chosen else "")
        return out

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "choose_type":
            return self.kind is None  # once chosen, the keys write the note
        return True

    def action_choose_type(self, key: str) -> None:
        """Record why the coders disagreed, then take the optional note."""
        self.kind = TYPE_KEYS[key]
        self.query_one("#decision-types", Static).update(self._types())
        note = self.query_one(Input)
        note.disabled = False
        note.focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_confirm()

    def action_confirm(self) -> None:
        if self.kind is None:
            self.app.bell()
            self.notify("First press m, w, u or o: why did the coders disagree?", timeout=3, markup=False)
            return
        self.dismiss((self.kind, self.query_one(Input).value.strip()))

    def action_cancel(self) -> None:
        self.dismiss(None)


class ReconciledSetScreen(ModalScreen[frozenset[str] | None]):
    """Every code the coders used, numbered; keys toggle them, Enter confirms the set, Escape cancels."""

    BINDINGS = [
        B("enter", "confirm", "Confirm", "set.confirm", "Use the ticked codes as the consensus"),
        B("escape", "cancel", "Cancel", "set.cancel", "Back without deciding"),
    ]

    def __init__(self, label: str, items: Sequence[tuple[str, str, str]], chosen: set[str]) -> None:
        super().__init__()
        self.label = label
        self.items = list(items)[:len(SET_KEYS)]  # (code id, name, who chose it)
        self.chosen = set(chosen)

    def compose(self) -> ComposeResult:
        with Vertical(id="set-box"):
            yield Static(Text("Reconciled codes for " + clean(self.label, oneline=True)
                              + ": press a key to tick or untick, Enter confirms (nothing ticked: not relevant)",
                              style="bold"), id="set-title")
            yield Static(self._rows(), id="set-list")

    def _rows(self) -> Text:
        out = Text()
        for key, (code_id, name, who) in zip(SET_KEYS, self.items, strict=False):
            ticked = code_id in self.chosen
            out.append(f" {key} ", style="bold cyan")
            out.append("☑ " if ticked else "☐ ", style="bold green" if ticked else "dim")
            out.append(clean(name, oneline=True), style="bold" if ticked else "")
            out.append("  " + clean(who, oneline=True) + "\n", style="dim")
        return out

    async def on_key(self, event: events.Key) -> None:
        char = event.character
        if not char or char not in SET_KEYS:
            return
        event.stop()
        event.prevent_default()
        i = SET_KEYS.index(char)
        if i >= len(self.items):
            self.app.bell()
            return
        self.chosen ^= {self.items[i][0]}
        self.query_one("#set-list", Static).update(self._rows())

    def action_confirm(self) -> None:
        self.dismiss(frozenset(self.chosen))

    def action_cancel(self) -> None:
        self.dismiss(None)


class ReconcileHelpScreen(HelpScreen):
    """The reconciliation keys, then the keys of the dialog that asks why the coders disagreed."""

    TABLE_TITLE = "Reconciliation keys (remap them in the config file by id)"
    APP_KEYS = False

    def extra_rows(self) -> list[tuple[str, str, str]]:
        """The keys of the dialog that follows each decision, from that dialog's bindings."""
        keymap = getattr(self.app, "_keymap", {}) or {}
        types = [b for b in DecisionTypeScreen.BINDINGS if isinstance(b, Binding) and b.action.startswith("choose")]
        return [("then " + keys, does, ids) for keys, does, ids in help_rows(types, keymap)]
