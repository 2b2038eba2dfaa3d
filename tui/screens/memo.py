"""The memo editor: free text on one post, saved with ctrl+s, kept literal."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static, TextArea

from tui.core.safe import clean


class MemoScreen(ModalScreen[str | None]):
    """Edit a post's memo; ctrl+s saves (dismisses with the text), escape cancels (None)."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="memo.save", tooltip="Save the memo"),
        Binding("escape", "cancel", "Cancel", id="memo.cancel", tooltip="Close without saving"),
    ]

    def __init__(self, label: str, memo: str) -> None:
        super().__init__()
        self.label = label
        self.memo = memo

    def compose(self) -> ComposeResult:
        with Vertical(id="memo-box"):
            yield Static(Text("Memo on " + clean(self.label, oneline=True) + "   ctrl+s save · esc cancel",
                              style="bold"))
            yield TextArea(self.memo, id="memo-text", soft_wrap=True, show_line_numbers=False)

    def on_mount(self) -> None:
        area = self.query_one(TextArea)
        area.focus()
        area.move_cursor(area.document.end)

    def action_save(self) -> None:
        self.dismiss(self.query_one(TextArea).text)

    def action_cancel(self) -> None:
        self.dismiss(None)
