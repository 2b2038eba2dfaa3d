"""The coding screen: one post at a time, screened and coded by keyboard."""

from __future__ import annotations

import functools
from collections.abc import Callable

from textual import events, on
from textual.binding import NoBinding

from tui.core.coding.memo_drafts import discard_draft
from tui.core.safe import clean
from tui.ui.screens.coding_keys import CODING_BINDINGS
from tui.ui.screens.coding_open import CodingOpenCoding
from tui.ui.screens.coding_view import SIDE_MIN_WIDTH, saving
from tui.ui.screens.key_burst import hold_burst, open_in_turn, pass_on
from tui.ui.widgets.picker import CodePicker
from tui.ui.widgets.post_view import PostView

__all__ = ["SIDE_MIN_WIDTH", "CodingScreen"]

SCREEN_OPENERS = ("action_new_code", "action_edit_code", "action_axial")
"""Keys that open another screen (a form, axial coding): run in turn with the keys typed before them."""


class CodingScreen(CodingOpenCoding):
    """Screen and code posts; every decision is committed before the screen changes.

    A code assignment takes four hops: a key binding (or the picker's `CodeChosen`), this screen's
    action, the session's write to the project, this screen's redraw. The redraw posts `PostShown`,
    which the app's exposure clock handles on its own time.
    """

    BINDINGS = CODING_BINDINGS

    # ------------------------------------------------------------ keys

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.hidden_blocks(action) or action == "new_code" and self.text_hidden:
            return None
        if getattr(self, "_form", None) is not None and self._form.is_open:
            return False  # the code form's keys only (a key it leaves unbound must not act on the post)
        if action == "relevant":
            return self.mode == "screening"  # False hides it from the footer in coding mode
        if action in ("quote", "remove_code", "finish_post") and self.mode != "coding":
            return False
        if action in ("open_category", "assign_recent"):
            if self.mode != "coding" or self.text_hidden or self.session.current is None:
                return False
            if action == "open_category":
                return any(c.key == parameters[0] for c in self.session.codebook.categories)
        return True

    def on_key(self, event: events.Key) -> None:
        """A code's number after `x` or `"`; a category key that is not a digit (the codebook's choice)."""
        if getattr(self.app, "quitting", False):  # read before quit, handled after it: nothing may open now
            event.stop()
            event.prevent_default()
            return
        if hold_burst(self, event):  # a form is about to open: keys typed after its key wait for it
            return
        if self._form.take_key(event):  # the inline code form is open: its keys, bound or typed, are its own
            return
        # While the picker is open every key is its own (it never takes the focus).
        if self._picker.is_open and event.key == "plus":  # a new code under the picker's node
            event.stop()
            event.prevent_default()
            open_in_turn(self, functools.partial(self.action_new_code, self.picker))
            return
        if self._picker.take_key(event) or pass_on(self, event):
            return
        if self.pending_prefix is not None:
            event.stop()
            event.prevent_default()
            prefix, self.pending_prefix = self.pending_prefix, None
            self._numbered(prefix, event.character)
            return
        # A key that opens a modal step (a category, `x`, `"`) runs here rather than as a binding, which
        # Textual checks only after the key has bubbled: the keys typed right after it are already
        # queued behind it and must find the step open. The table of bindings still decides which key.
        opener = self._modal_opener(event.key)
        if opener is not None:
            event.stop()
            event.prevent_default()
            if isinstance(opener, str):  # it opens another screen: after the keys typed before it
                open_in_turn(self, getattr(self, opener))
            else:
                opener()
            return
        char = event.character
        if char and not char.isdigit() and self.check_action("open_category", (char,)):
            event.stop()
            event.prevent_default()
            self.action_open_category(char)

    def _modal_opener(self, key: str) -> Callable[[], None] | str | None:
        """The action of this screen's binding for `key` if it opens a modal step and may run now."""
        try:
            bindings = self._bindings.get_bindings_for_key(key)
        except NoBinding:
            return None
        for binding in bindings:
            name, _, arg = binding.action.partition("(")
            if name == "open_category":
                category = arg.rstrip(")").strip("'\"")
                if self.check_action(name, (category,)):
                    return functools.partial(self.action_open_category, category)
            elif name in ("remove_code", "quote") and self.check_action(name, ()):
                return self.action_remove_code if name == "remove_code" else self.action_quote
            elif f"action_{name}" in SCREEN_OPENERS and self.check_action(name, ()):
                return f"action_{name}"
        return None

    def action_open_category(self, key: str) -> None:
        """Open the code picker on the category with this key; the picker takes the next keys."""
        category = next(c for c in self.session.codebook.categories if c.key == key)
        if self.session.current is not None:
            self.category_context = (self.session.current.post["id"], category.id)
        self._picker.open(self.session.codebook, category.id)

    def action_assign_recent(self, i: int) -> None:
        """Assign the i-th recently used code."""
        if i < len(self.session.recent):
            self.assign(self.session.recent[i])

    @on(CodePicker.CodeChosen)
    def _code_chosen(self, message: CodePicker.CodeChosen) -> None:
        message.stop()
        self.assign(message.code_id)

    @saving
    def _numbered(self, prefix: str, char: str | None) -> None:
        s = self.session
        if s.current is None or not char or not char.isdigit():
            self.notify("Cancelled.", timeout=2, markup=False)
            return
        n = int(char)
        codes = list(s.current.state.codes)
        if prefix == "x":
            if 1 <= n <= len(codes):
                s.remove_code(codes[n - 1])
                self.refresh_decisions()
            else:
                self.app.bell()
        elif prefix == "quote":
            code_id = codes[n - 1] if 1 <= n <= len(codes) else ""
            self._quote(code_id)
        elif prefix == "edit":
            if 1 <= n <= len(codes):
                self.open_edit(codes[n - 1])
            else:
                self.app.bell()

    @saving
    def assign(self, code_id: str) -> None:
        """Assign a code to the post on screen (saying so if it already has it)."""
        if self.session.current is None or self.text_hidden:
            return
        ev = self.session.add_code(code_id)
        self.refresh_decisions()
        if ev is None:
            self.notify(clean(self.session.codebook.path_str(code_id), oneline=True) + " is already assigned.",
                        timeout=2, markup=False)

    # ------------------------------------------------------------ actions

    def action_toggle_mode(self) -> None:
        """Switch between screening and coding."""
        self.mode = "coding" if self.mode == "screening" else "screening"

    def action_sentence(self, step: int) -> None:
        """Move the sentence cursor."""
        self.query_one(PostView).move(step)

    def action_quote(self) -> None:
        """Quote the highlighted sentence; with several codes, ask which one it supports."""
        s = self.session
        if s.current is None or not s.current.sentences:
            return
        cursor = self.query_one(PostView).cursor
        span = s.current.sentences[cursor]
        if any((q.start, q.end) == span for q in s.current.state.quotes) or len(s.current.state.codes) <= 1:
            self._quote(next(iter(s.current.state.codes), ""))
            return
        self.pending_prefix = "quote"
        self.notify("Quote supports which code? Press its number (0: none).", timeout=4, markup=False)

    @saving
    def _quote(self, code_id: str) -> None:
        cur = self.session.current
        if cur is None:
            return
        cursor = self.query_one(PostView).cursor
        self.session.toggle_quote(cursor, code_id)
        self.query_one(PostView).update_marks({(q.start, q.end) for q in cur.state.quotes},
                                              self.host.mask_spans(cur.post))
        self.refresh_decisions()

    def action_remove_code(self) -> None:
        """Remove a code: the next key is its number."""
        if self.session.current and self.session.current.state.codes:
            self.pending_prefix = "x"
            self.notify("Remove which code? Press its number.", timeout=4, markup=False)

    def action_memo(self) -> None:
        """Write a memo on this post."""
        from tui.ui.screens.memo import MemoScreen

        s = self.session
        if s.current is None:
            return

        post_id = s.current.post["id"]

        def saved(text: str | None) -> None:
            if text is not None:
                self._save_memo(text)

        memo = s.current.state.memo
        if self.unsaved_memo and self.unsaved_memo[0] == post_id:
            memo = self.unsaved_memo[1]  # what the coder wrote last time, which the project refused
        self.app.push_screen(MemoScreen(s.current.post["label"], memo, store=s.store, coder=s.coder,
                                        post_id=post_id, hidden=bool(self.text_hidden)), saved)

    @saving
    def _save_memo(self, text: str) -> None:
        assert self.session.current is not None
        pid = self.session.current.post["id"]
        self.unsaved_memo = (pid, text)
        self.session.set_memo(text)
        self.unsaved_memo = None
        discard_draft(self.session.store, self.session.coder, pid)  # only once the memo is committed
        self.refresh_panel()

    @saving
    def action_flag(self) -> None:
        """Flag for discussion with the other coder."""
        if self.session.current is not None:
            self.session.toggle_flag()
            self.refresh_panel()

    def action_accept(self) -> None:
        """Accept the highlighted suggestion."""
        self._decide(True)

    def action_reject(self) -> None:
        """Reject the highlighted suggestion."""
        self._decide(False)

    @saving
    def _decide(self, accept: bool) -> None:
        s = self.session
        if s.current is None or not self.show_suggestions:
            return
        if s.current.blind:
            self.notify("This post is blind: it shows no suggestions, by the study's design.", timeout=3, markup=False)
            return
        pending = s.pending_suggestions()
        if not pending:
            self.notify("No suggestion to decide on.", timeout=2, markup=False)
            return
        kind, code_id, _ = pending[0]
        s.decide_suggestion("relevance" if kind == "relevance" else code_id, accept)
        self.refresh_decisions()

    def action_toggle_suggestions(self) -> None:
        """Show or hide model suggestions."""
        self.show_suggestions = not self.show_suggestions
        self.notify("Suggestions shown." if self.show_suggestions else "Suggestions hidden.", timeout=2, markup=False)

    def action_search(self) -> None:
        """Search the codebook; in coding mode the chosen code is assigned."""
        from tui.ui.screens.search import SearchScreen

        def chosen(code_id: str | None) -> None:
            if code_id:
                self.assign(code_id)

        self.app.push_screen(SearchScreen(self.session.codebook, assign=self.mode == "coding"), chosen)

    def action_reveal(self) -> None:
        """Show the masked terms of this post until the next one."""
        if self.session.current is not None and not self.text_hidden:
            self.host.revealed = self.session.current.post["id"]
            self.refresh_post(keep_cursor=True)

    def action_toggle_masking(self) -> None:
        """Turn masking on or off, unless the settings or the team require it."""
        if self.host.masking and self.host.masking_required():
            self.notify("Masking is required by your well-being settings or your team.", timeout=3, markup=False)
            return
        self.host.masking = not self.host.masking
        self.refresh_post(keep_cursor=True)
        self.notify("Masking on." if self.host.masking else "Masking off.", timeout=2, markup=False)

    def action_wellbeing(self) -> None:
        """Open the coder's exposure history."""
        from tui.ui.screens.wellbeing import WellbeingScreen

        self.post_message(self.PostHidden())  # the history screen covers the post
        self.app.push_screen(WellbeingScreen(self.session.store, self.session.coder),
                             lambda _: self.refresh_decisions())

    def action_report(self) -> None:
        """Open the report screen."""
        from tui.ui.screens.report import ReportScreen

        self.post_message(self.PostHidden())  # the report covers the post
        self.app.push_screen(ReportScreen(self.session.store, self.session.codebook, None),
                             lambda _: self.refresh_decisions())

    def action_take_break(self) -> None:
        """Start a short break now (the app asks first)."""
        self.host.take_break()

    def action_help(self) -> None:
        """All keys."""
        from tui.ui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen())

    def action_toggle_side(self) -> None:
        """Show or hide the side panel; the choice holds until the app closes."""
        shown = not self.has_class("-side-hidden")
        self.side_panel = not shown
