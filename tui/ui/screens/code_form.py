"""The short form that creates or refines a code, as a modal screen (the axial screen uses it).

The fields are `CodeFormBody` (tui/ui/widgets/code_form.py); the coding screen shows the same body inline.
"""

from __future__ import annotations

from collections.abc import Callable

from textual import events
from textual.app import ComposeResult
from textual.screen import ModalScreen

from tui.core.codebook.model import Codebook
from tui.ui.widgets.code_form import (
    DRAFT_NOTE,
    FORM_BINDINGS,
    NOT_PLACED,
    CodeFormBody,
    CodeFormValues,
    ParentField,
    changed_fields,
    parent_path,
    refused,
    split_aliases,
)

__all__ = ["DRAFT_NOTE", "NOT_PLACED", "CodeForm", "CodeFormValues", "ParentField", "changed_fields",
           "parent_path", "refused", "split_aliases"]


class CodeForm(ModalScreen[bool]):
    """Create or refine a code; Enter submits, Esc closes without changing anything.

    `submit` makes the change (checked, committed) and returns None, or the one sentence that says
    why it was refused; the form then stays open with what the coder typed.
    """

    BINDINGS = FORM_BINDINGS
    TAKES_BURST = True
    """Keys typed in one burst with the key that opened the form are passed on to it (see key_burst)."""

    def __init__(self, title: str, codebook: Codebook, submit: Callable[[CodeFormValues], str | None], *,
                 values: CodeFormValues | None = None, parent: list[str] | None = None, category: bool = False,
                 propose: Callable[[str, str], str | None] | None = None) -> None:
        super().__init__()
        self.form_title = title
        self.codebook = codebook
        self.submit = submit
        self.values = values
        self.category = category
        self.parent_start = parent  # None: no parent field (editing, or a category)
        self.propose = propose

    def compose(self) -> ComposeResult:
        yield CodeFormBody(self.codebook, self._saved, id="form-box")

    def _saved(self) -> None:
        self.dismiss(True)

    def on_mount(self) -> None:
        self.query_one(CodeFormBody).load(self.form_title, self.codebook, self.submit, values=self.values,
                                          parent=self.parent_start, category=self.category, propose=self.propose)

    def read(self) -> CodeFormValues:
        """The values as typed."""
        return self.query_one(CodeFormBody).read()

    def on_key(self, event: events.Key) -> None:
        """Keys typed before a field had the focus (or passed on by the screen below) go into it."""
        self.query_one(CodeFormBody).take_typed(event)

    def action_save(self) -> None:
        """Make the change; a refusal is told in its one sentence and the form stays open."""
        self.query_one(CodeFormBody).save()

    def action_next_field(self) -> None:
        """The next field."""
        self.query_one(CodeFormBody).focus_field(1)

    def action_previous_field(self) -> None:
        """The previous field."""
        self.query_one(CodeFormBody).focus_field(-1)

    def action_cancel(self) -> None:
        """Close without changing anything."""
        self.dismiss(False)
