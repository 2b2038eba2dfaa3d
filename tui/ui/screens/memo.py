"""The memo editor: free text on one post, saved with ctrl+s, kept literal; a draft survives Esc."""

from __future__ import annotations

import sqlite3

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Static, TextArea

from tui.core.coding.memo_drafts import discard_draft, load_draft, save_draft
from tui.core.project.store import Store, describe_db_error
from tui.core.safe import clean

DRAFT_DELAY = 0.5
"""Seconds after a change before the draft is written (so at most this much typing is ever lost)."""
ADDED = "\n\n"
"""What joins text written while post text is hidden to the memo it is added to."""


class MemoScreen(ModalScreen[str | None]):
    """Edit a post's memo; ctrl+s saves (dismisses with the text); escape keeps a draft; ctrl+d discards it.

    With `store`, `coder` and `post_id` the text is kept as a draft while it is typed, and the next
    `e` on the post restores it. With `hidden` (post text is hidden: a break or a daily limit) the
    memo, which may quote the post, is not shown: what is typed is added to its end.
    """

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="memo.save", tooltip="Save the memo"),
        Binding("escape", "close", "Close (keep draft)", id="memo.cancel",
                tooltip="Close; what you typed is kept as a draft that e reopens"),
        # Before the editor's own ctrl+d (delete right; the Delete key still does that).
        Binding("ctrl+d", "discard", "Discard draft", id="memo.discard",
                tooltip="Throw away what you typed since the last save (asks first)", priority=True),
    ]

    def __init__(self, label: str, memo: str, *, store: Store | None = None, coder: str = "",
                 post_id: int | None = None, hidden: bool = False) -> None:
        super().__init__()
        self.label = label
        self.memo = memo
        self.store, self.coder, self.post_id = store, coder, post_id
        self.hidden = hidden
        draft = load_draft(store, coder, post_id) if store is not None and post_id is not None else None
        self.restored = draft is not None
        # The saved memo plus what has been typed since: the draft, if one was left behind.
        self.base = draft if draft is not None else memo
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="memo-box"):
            yield Static(Text("Memo on " + clean(self.label, oneline=True)
                              + "   ctrl+s save · esc close (keeps a draft) · ctrl+d discard", style="bold"))
            note = Static(Text("Your memo on this post is hidden while post text is (it may quote the post). "
                               "What you write here is added to its end.", style="italic"), id="memo-hidden")
            note.display = self.hidden
            yield note
            yield TextArea("" if self.hidden else self.base, id="memo-text", soft_wrap=True,
                           show_line_numbers=False)

    def on_mount(self) -> None:
        area = self.query_one(TextArea)
        area.focus()
        area.move_cursor(area.document.end)
        if self.restored:
            self.notify("Your unsaved draft is kept, hidden with the post text: what you write is added to it."
                        if self.hidden else "Your unsaved draft is back. ctrl+s saves it, ctrl+d discards it.",
                        timeout=4, markup=False)

    def set_post_text_hidden(self, hidden: bool) -> None:
        """A break or a daily limit began while the editor was open: the memo may quote the post, so hide it."""
        if not hidden or self.hidden or not self.query("#memo-text"):
            return  # once hidden it stays so until the editor closes; the next `e` shows it all again
        self.base = self._full_text()
        self.write_draft()
        self.hidden = True
        self.query_one("#memo-hidden").display = True
        self.query_one(TextArea).load_text("")

    def _full_text(self) -> str:
        typed = self.query_one(TextArea).text
        if not self.hidden:
            return typed
        if not typed.strip():
            return self.base
        return self.base + ADDED + typed if self.base else typed

    @on(TextArea.Changed)
    def _changed(self) -> None:
        if self._timer is None:  # at most DRAFT_DELAY after the first change of a burst
            self._timer = self.set_timer(DRAFT_DELAY, self.write_draft)

    def write_draft(self) -> bool | None:
        """Keep what is typed as a draft; True if there is one, None if the project refused to keep it."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if self.store is None or self.post_id is None:
            return False
        text = self._full_text()
        try:
            if text == self.memo:
                discard_draft(self.store, self.coder, self.post_id)
                return False
            save_draft(self.store, self.coder, self.post_id, text)
        except sqlite3.Error as exc:
            reason = describe_db_error(exc, self.store.path) or "the project could not be written"
            self.notify(f"The draft was NOT kept: {reason}", severity="error", timeout=6, markup=False)
            return None
        return True

    def action_save(self) -> None:
        # The draft is discarded by the caller once the memo is committed, never before.
        self.write_draft()
        self.dismiss(self._full_text())

    def action_close(self) -> None:
        kept = self.write_draft()
        if kept is None:
            # Closing now would lose the text: the editor stays open until it is saved or discarded.
            return
        if kept:
            self.notify("Draft kept: press e on this post to go on with it.", timeout=4, markup=False)
        self.dismiss(None)

    def action_discard(self) -> None:
        from tui.ui.screens.wellbeing import ConfirmScreen

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            if self._timer is not None:
                self._timer.stop()
                self._timer = None
            if self.store is not None and self.post_id is not None:
                discard_draft(self.store, self.coder, self.post_id)
            self.notify("Draft discarded.", timeout=3, markup=False)
            self.dismiss(None)

        self.app.push_screen(ConfirmScreen("Discard what you typed since the memo was last saved?"), answered)
