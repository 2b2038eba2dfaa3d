"""Moving through the queue and through the decision history (undo, redo) on the coding screen."""

from __future__ import annotations

from tui.core.coding.session import SessionError
from tui.core.safe import clean
from tui.ui.screens.coding_view import CodingView, saving
from tui.ui.screens.help import typed_keys


class CodingNavigation(CodingView):
    """Queue navigation, decisions that move on (relevance, done, skip, defer), undo and redo."""

    def key_of(self, binding_id: str, default: str) -> str:
        """The key a binding has now, as typed (the coder may have remapped it)."""
        for key, active in self.active_bindings.items():
            if active.binding.id == binding_id:
                return typed_keys(key)
        return default

    def _moved(self) -> None:
        """After moving to another post: masking returns, and a milder post hidden only as severe shows."""
        self.host.revealed = None
        cur = self.session.current
        if self.navigable and self.text_hidden and cur is not None and not self.host.severe_blocked(cur.post):
            self.text_hidden, self.navigable = None, False  # a milder post: refresh_post shows it

    def _advance(self) -> None:
        s = self.session
        self._tally.note(s)  # the decision just made, before the next post replaces it
        self.host.milder_first()
        if s.index + 1 < s.total:
            s.next()
        else:
            self.notify("That was the last post of the queue.", timeout=3, markup=False)
            s.load()
        self._moved()
        self.refresh_post()

    @saving
    def action_relevant(self) -> None:
        """Screening: mark the post relevant and go on."""
        self.session.set_relevance(1)
        self._advance()

    @saving
    def action_irrelevant(self) -> None:
        """Mark the post not relevant and go on."""
        if self.session.current is None:
            return
        self.session.set_relevance(0)
        self._advance()

    @saving
    def action_finish_post(self) -> None:
        """Coding: mark the post done and go on (screening: just go on)."""
        s = self.session
        if s.current is None:
            return
        if self.mode == "coding":
            if s.current.state.relevance is None and not s.current.state.codes:
                zero = "m then 0" if any(c.key == "0" for c in s.codebook.categories) else "0"
                self.notify(f"Give the post a code (a category digit or /), or press {zero} if it is not relevant, "
                            "before marking it done.", timeout=3, markup=False)
                return
            try:
                s.set_done(True)
            except SessionError as exc:  # a code on the post is still a draft
                self.notify(f"{clean(str(exc)).rstrip('.')} (press {self.key_of('edit_code', 'E')} to edit it).",
                            severity="warning", timeout=6, markup=False)
                return
        self._advance()

    def action_next_post(self) -> None:
        """The next post of the queue."""
        if self.session.current is not None:
            self.session.next()
            self._moved()
            self.refresh_post()

    def action_previous_post(self) -> None:
        """The previous post of the queue."""
        if self.session.current is not None:
            self.session.previous()
            self._moved()
            self.refresh_post()

    def action_next_unfinished(self) -> None:
        """The next post not yet finished."""
        if self.session.current is not None:
            self.session.next_unfinished()
            self._moved()
            self.refresh_post()

    @saving
    def action_skip(self) -> None:
        """Skip this post for now."""
        if self.session.current is not None:
            self.session.skip()
            self._advance()

    @saving
    def action_defer(self) -> None:
        """Put this post back at the end of the queue."""
        s = self.session
        if s.current is None:
            return
        s.defer()
        s.load()
        self._moved()
        self.refresh_post()
        self.notify("Deferred: the post went back to the end of the queue.", timeout=3, markup=False)

    @saving
    def action_undo(self) -> None:
        """Take back the last decision (it may be on another post: the screen goes there)."""
        before = self.session.current.post["id"] if self.session.current else None
        target = self.session.undo()
        if target is None:
            self.notify("Nothing to undo.", timeout=2, markup=False)
            return
        self._after_history(before)
        self.notify(f"Undone: {target['kind'].replace('_', ' ')}", timeout=2, markup=False)

    @saving
    def action_redo(self) -> None:
        """Put back what was undone."""
        before = self.session.current.post["id"] if self.session.current else None
        target = self.session.redo()
        if target is None:
            self.notify("Nothing to redo.", timeout=2, markup=False)
            return
        self._after_history(before)
        self.notify(f"Redone: {target['kind'].replace('_', ' ')}", timeout=2, markup=False)

    def _after_history(self, before: int | None) -> None:
        s = self.session
        if s.current is not None:
            s.current.state = s.store.state(s.coder, s.current.post["id"])
        moved = s.current is not None and s.current.post["id"] != before
        if moved:
            self._moved()
        self.refresh_post(keep_cursor=not moved)
