"""The code form docked in the coding screen: opening and closing it repaints no other screen."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical

from tui.core.codebook.model import Codebook
from tui.ui.widgets.code_form import FORM_BINDINGS, CodeFormBody, CodeFormValues


class InlineCodeForm(Vertical):
    """The code form on the coding screen, hidden (`display = False`) while closed.

    A pushed screen costs a repaint of the whole coding screen when it is dismissed (about 100 ms on a
    big project); this widget only hides. It takes the focus for its fields while open, and `closed`
    gives it back to the screen's post.
    """

    BINDINGS = FORM_BINDINGS

    def __init__(self, codebook: Codebook, closed: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.form_codebook = codebook
        self.when_closed = closed

    def compose(self) -> ComposeResult:
        yield CodeFormBody(self.form_codebook, self.close, id="form-box")

    @property
    def is_open(self) -> bool:
        """True while the form is shown and taking keys."""
        return bool(self.display)

    @property
    def body(self) -> CodeFormBody:
        """The fields."""
        return self.query_one(CodeFormBody)

    def open(self, title: str, codebook: Codebook, submit: Callable[[CodeFormValues], str | None], *,
             values: CodeFormValues | None = None, parent: list[str] | None = None,
             propose: Callable[[str, str], str | None] | None = None) -> None:
        """Show the form filled for one code (None values: a new one), the focus on its name."""
        self.display = True
        self.body.load(title, codebook, submit, values=values, parent=parent, propose=propose)

    def close(self) -> None:
        """Hide the form (whether saved or not) and give the focus back."""
        if not self.display:
            return
        self.display = False
        self.when_closed()

    def take_key(self, event: events.Key) -> bool:
        """While open, a printable key that reached the screen (typed before a field had the focus) goes into it."""
        if not self.is_open:
            return False
        self.body.take_typed(event)
        return True

    def action_next_field(self) -> None:
        """The next field."""
        self.body.focus_field(1)

    def action_previous_field(self) -> None:
        """The previous field."""
        self.body.focus_field(-1)

    def action_cancel(self) -> None:
        """Close without changing anything."""
        self.close()
