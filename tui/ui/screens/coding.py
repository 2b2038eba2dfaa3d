"""The coding screen: one post at a time, screened and coded by keyboard."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Static

from tui.core.codebook.model import Code
from tui.core.coding.memo_drafts import discard_draft
from tui.core.coding.session import Session, relevance_by_post
from tui.core.project.store import READONLY_DECISIONS, WriteRefused
from tui.core.safe import clean
from tui.ui.screens.bindings import B
from tui.ui.widgets.code_panel import RECENT_KEYS, CodePanel
from tui.ui.widgets.picker import CodePicker, render_choices
from tui.ui.widgets.post_view import PostView
from tui.ui.widgets.status_bar import Progress, StatusBar, render_status, short_prelabel

if TYPE_CHECKING:
    from tui.ui.app import QualtuiApp

F = TypeVar("F", bound=Callable[..., Any])


def saving(method: F) -> F:
    """Wrap a screen method that records decisions: a write the project refused is told, never shown as done."""

    @functools.wraps(method)
    def wrapper(self: CodingScreen, *args: Any, **kwargs: Any) -> Any:
        before = self.session.saved
        try:
            result = method(self, *args, **kwargs)
        except WriteRefused as exc:
            self.not_saved(exc)
            return None
        if self.unsaved_post is not None and self.session.saved > before:
            self.unsaved_post = None
            self.refresh_decisions()
        return result

    return wrapper  # type: ignore[return-value]


SIDE_MIN_WIDTH = 70
"""Narrower terminals give the post the whole width; `c` brings the panel back."""


class CodingScreen(Screen[None]):
    """Screen and code posts; every decision is committed before the screen changes."""

    BINDINGS = [
        # `?` and `q` come first: a narrow footer cuts keys from the right, and these two must stay.
        B("question_mark", "help", "Keys", "help", "All keys"),
        B("q", "app.quit", "Quit", "quit", "Quit (everything is already saved)"),
        B("1", "relevant", "Relevant", "screen.relevant", "Screening: mark relevant, go to the next post"),
        B("0", "irrelevant", "Not relevant", "screen.irrelevant", "Mark not relevant, go to the next post"),
        B("m", "toggle_mode", "Mode", "mode", "Switch between screening and coding"),
        B("slash", "search", "Search", "search", "Search the codebook by name, definition or alias"),
        B("enter", "finish_post", "Done", "done", "Coding: mark the post done and go to the next one"),
        B("u,ctrl+z", "undo", "Undo", "undo", "Take back the last decision"),
        B("U,ctrl+y", "redo", "Redo", "redo", "Put back what was undone", show=False),
        B("right,l", "next_post", "Next", "next", "Next post", show=False),
        B("left,h", "previous_post", "Prev", "previous", "Previous post", show=False),
        B("g", "next_unfinished", "Next unfinished", "next_unfinished", "Next post not yet finished", show=False),
        B("j,down", "sentence(1)", "Sentence", "sentence_down", "Next sentence", show=False),
        B("k,up", "sentence(-1)", "Sentence up", "sentence_up", "Previous sentence", show=False),
        B("quotation_mark", "quote", "Quote", "quote", "Quote the highlighted sentence for a code"),
        B("e", "memo", "Memo", "memo", "Write a memo on this post"),
        B("f", "flag", "Flag", "flag", "Flag for discussion with the other coder", show=False),
        B("s", "skip", "Skip", "skip", "Skip this post for now", show=False),
        B("d", "defer", "Defer", "defer", "Put this post back in the pool, no reason needed", show=False),
        B("x", "remove_code", "Remove", "remove", "Remove a code (then its number)", show=False),
        B("a", "accept", "Accept", "accept", "Accept the highlighted suggestion", show=False),
        B("r", "reject", "Reject", "reject", "Reject the highlighted suggestion", show=False),
        B("H", "toggle_suggestions", "Hide suggestions", "suggestions", "Show or hide model suggestions",
          show=False),
        B("v", "reveal", "Reveal", "reveal", "Show the masked terms of this post (masking returns on the next)",
          show=False),
        B("V", "toggle_masking", "Masking", "masking", "Turn masking of graphic terms on or off", show=False),
        B("w", "wellbeing", "Well-being", "wellbeing", "Your exposure history (yours only)", show=False),
        B("R", "report", "Report", "report", "Frequencies, co-occurrence, saturation, quotes, screening",
          show=False),
        B("B", "take_break", "Break now", "break_now", "Start a short break now (asks first)", show=False),
        B("c", "toggle_side", "Panel", "side_panel", "Show or hide the side panel (codes, suggestions, quotes)",
          show=False),
    ]

    mode: reactive[str] = reactive("screening", init=False)
    show_suggestions: reactive[bool] = reactive(True, init=False)
    side_panel: reactive[bool | None] = reactive(None, init=False)  # None: shown when the terminal is wide

    def __init__(self, session: Session, *, mode: str = "screening", show_suggestions: bool = True) -> None:
        super().__init__()
        self.session = session
        self.set_reactive(CodingScreen.mode, mode)
        self.set_reactive(CodingScreen.show_suggestions, show_suggestions)
        self.picker: list[str] | None = None  # the path of node ids while picking; [] = categories
        self.pending_prefix: str | None = None  # "x" or "quote" while waiting for a number
        self.text_hidden: str | None = None  # why the post text is hidden (break, cap), if it is
        self.navigable = False  # while hidden: may the coder still move to another post?
        self.unsaved_post: int | None = None  # the post whose last decision the project refused
        self.unsaved_memo: tuple[int, str] | None = None  # a memo that could not be saved, kept to retry
        self._relevance: dict[int, int] = {}  # post id -> this coder's relevance decision, for the counts
        self._walk: set[int] = set()

    @property
    def qapp(self) -> QualtuiApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield Static(id="post-header")
        with Horizontal(id="main"):
            yield PostView(id="post")
            with Vertical(id="side"):
                yield CodePanel(id="panel")
        yield CodePicker(id="picker")
        yield Footer()

    def on_mount(self) -> None:
        self._status = self.query_one(StatusBar)
        self._panel = self.query_one(CodePanel)
        self._header_widget = self.query_one("#post-header", Static)
        self.query_one(PostView).focus()
        self.query_one(CodePicker).display = False
        self._relevance = relevance_by_post(self.session.store, self.session.coder)
        self._fit_side()
        self.refresh_post()

    # ------------------------------------------------------------ rendering

    def watch_mode(self) -> None:
        self.set_class(self.mode == "coding", "coding")
        self.refresh_bindings()
        self.refresh_panel()
        self.refresh_status()
        self.session.save_place(self.mode)

    def watch_side_panel(self) -> None:
        self._fit_side()

    def _fit_side(self) -> None:
        """Below 70 columns the side panel folds away unless the coder opened it (c)."""
        shown = self.side_panel if self.side_panel is not None else self.size.width >= SIDE_MIN_WIDTH
        self.set_class(not shown, "-side-hidden")

    def watch_show_suggestions(self) -> None:
        self.refresh_panel()

    def refresh_post(self, keep_cursor: bool = False) -> None:
        """Redraw everything about the current post."""
        s = self.session
        view = self.query_one(PostView)
        if s.current is None:
            view.hide("No posts in this project yet: run `qualtui import FILE`.")
            self.query_one("#post-header", Static).update("")
            self.refresh_status()
            return
        if self.text_hidden:
            view.hide(self.text_hidden)
            self.query_one("#post-header", Static).update(Text("Post hidden", style="bold"))
        else:
            cur = s.current
            quoted = {(q.start, q.end) for q in cur.state.quotes}
            masked = self.qapp.mask_spans(cur.post)
            cursor = view.cursor if keep_cursor else 0
            view.show(cur.post["text"], cur.sentences, quoted, masked, cursor)
            self.query_one("#post-header", Static).update(self._header())
        self.refresh_panel()
        self.refresh_status()
        s.save_place(self.mode)
        self.qapp.exposure_update(s.current.post, hidden=bool(self.text_hidden))

    def refresh_decisions(self) -> None:
        """Redraw what a decision changes (header, panel, status), not the post text."""
        s = self.session
        if s.current is None:
            return
        if not self.text_hidden:
            self._header_widget.update(self._header())
        self.refresh_panel()
        self.refresh_status()
        self.qapp.exposure_update(s.current.post, hidden=bool(self.text_hidden))

    def _header(self) -> Text:
        post = self.session.current.post  # type: ignore[union-attr]
        out = Text()
        out.append(f" {clean(post['label'], oneline=True)} ", style="bold reverse")
        out.append(f"  {clean(post['platform'], oneline=True)}  {(post.get('posted_at') or '')[:10]}", style="dim")
        severity = self.qapp.severity_label(post)
        if severity:
            out.append(f"  {severity}", style="bold red")
        if self.unsaved_post == post["id"]:
            out.append("  last decision NOT saved", style="bold reverse red")
        mask = self.qapp.masker(post["id"])  # titles and tags are post text too
        if post["title"]:
            out.append("\n")
            out.append(mask(clean(post["title"], oneline=True)), style="bold")
        if post["tags"]:
            out.append("\n")
            out.append(mask(clean("  ".join("#" + t for t in post["tags"]), oneline=True)), style="cyan")
        return out

    def refresh_panel(self) -> None:
        """Redraw the decisions panel."""
        s = self.session
        if s.current is None:
            return
        panel = self._panel
        panel.show(s.codebook, s.current, s.pending_suggestions(), s.recent, self.show_suggestions, mode=self.mode,
                   mask=self.qapp.masker(s.current.post["id"]), text_hidden=bool(self.text_hidden))

    def refresh_status(self) -> None:
        """Redraw the status line."""
        if not hasattr(self, "_status"):
            return
        s = self.session
        self._status.update(render_status(
            s.coder, self._progress(), s.index + 1 if s.total else 0, s.total, self.mode, self.qapp.reading_seconds_today(),
            self.qapp.wellbeing_status(), self._wellbeing_short(), self.size.width))

    def _note_relevance(self) -> None:
        """Keep the relevance tally of the counts in step with the post on screen."""
        cur = self.session.current
        if cur is not None:
            if cur.state.relevance is None:
                self._relevance.pop(cur.post["id"], None)
            else:
                self._relevance[cur.post["id"]] = cur.state.relevance

    def _progress(self) -> Progress:
        """Screening counts posts screened; coding counts posts marked done out of those not screened out."""
        s = self.session
        self._note_relevance()
        relevance = self._relevance
        if s.has_queue:  # only the posts of the coder's queue count
            if len(self._walk) != len(s.posts):
                self._walk = set(s.posts)
            screened = [r for p, r in relevance.items() if p in self._walk]
        else:
            screened = list(relevance.values())
        if self.mode == "screening":
            return Progress(len(screened), s.total, "screened")
        out = screened.count(0)
        return Progress(max(0, s.n_finished - out), s.total - out, "coded")

    def _wellbeing_short(self) -> str:
        """The well-being figures in a few cells: next break, weighted minutes of today's limit."""
        st = self.qapp.wb.tick(self.qapp.clock())
        prelabel = short_prelabel(self.qapp.prelabel_status)
        extra = f" · {prelabel}" if prelabel else ""
        if st.mode == "capped":
            return "limit reached" + extra
        if st.postponed_until is not None:  # the postponed break comes back on the wall clock
            back = max(1, math.ceil((st.postponed_until - self.qapp.clock()) / 60))
            note = f"postponed {back}m · {st.weighted_today:.0f}/{st.daily_cap_minutes:.0f}m today"
        else:
            note = (f"break in {max(0.0, st.next_break_in):.0f}m · "
                    f"{st.weighted_today:.0f}/{st.daily_cap_minutes:.0f}m today")
        return ("break due · " if st.break_due else "") + note + extra

    def _show_picker(self) -> None:
        picker = self.query_one(CodePicker)
        if self.picker is None:
            picker.display = False
            return
        cb = self.session.codebook
        parent = self.picker[-1] if self.picker else None
        title = "Pick a category" if parent is None else cb.path_str(parent)
        picker.update(render_choices(cb, parent, title, max(40, self.size.width - 2)))
        picker.display = True

    # ------------------------------------------------------------ keys

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.text_hidden and action in {"relevant", "irrelevant", "quote", "accept", "reject", "finish_post"}:
            return None
        if self.text_hidden and not self.navigable and action in {
                "next_post", "previous_post", "next_unfinished", "skip", "defer"}:
            return None
        if action == "relevant":
            return self.mode == "screening"  # False hides it from the footer in coding mode
        if action in ("quote", "remove_code", "finish_post") and self.mode != "coding":
            return False
        return True

    async def on_key(self, event: events.Key) -> None:
        """Picker steps, numbered choices and recent codes take their keys before the bindings."""
        key, char = event.key, event.character
        if self.picker is not None:
            event.stop()
            event.prevent_default()
            self._picker_key(key, char)
            return
        if self.pending_prefix is not None:
            event.stop()
            event.prevent_default()
            prefix, self.pending_prefix = self.pending_prefix, None
            self._numbered(prefix, char)
            return
        if self.mode != "coding" or self.text_hidden or self.session.current is None:
            return
        cb = self.session.codebook
        if char and char in RECENT_KEYS:
            event.stop()
            i = RECENT_KEYS.index(char)
            if i < len(self.session.recent):
                self._assign(self.session.recent[i])
            return
        if char and any(c.key == char for c in cb.categories):
            event.stop()
            event.prevent_default()
            cat = next(c for c in cb.categories if c.key == char)
            self.picker = [cat.id]
            self._show_picker()

    def _picker_key(self, key: str, char: str | None) -> None:
        cb = self.session.codebook
        assert self.picker is not None
        if key == "escape":
            self.picker.pop() if self.picker else None
            if not self.picker:
                self.picker = None
            self._show_picker()
            return
        if key == "backspace":
            self.picker = self.picker[:-1] or None
            self._show_picker()
            return
        parent = self.picker[-1] if self.picker else None
        if key == "enter" and parent is not None and isinstance(cb.node(parent), Code):
            self.picker = None
            self._show_picker()
            self._assign(parent)
            return
        child = next((c for c in cb.children(parent) if c.key == char), None) if char else None
        if child is None:
            self.app.bell()
            return
        if isinstance(child, Code) and not child.subcodes:
            self.picker = None
            self._show_picker()
            self._assign(child.id)
            return
        self.picker.append(child.id)
        self._show_picker()

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

    @saving
    def _assign(self, code_id: str) -> None:
        ev = self.session.add_code(code_id)
        self.refresh_decisions()
        if ev is None:
            self.notify(clean(self.session.codebook.path_str(code_id), oneline=True) + " is already assigned.",
                        timeout=2, markup=False)

    # ------------------------------------------------------------ actions

    def _advance(self) -> None:
        s = self.session
        self._note_relevance()  # the decision just made, before the next post replaces it
        self.qapp.milder_first()
        if s.index + 1 < s.total:
            s.next()
        else:
            self.notify("That was the last post of the queue.", timeout=3, markup=False)
            s.load()
        self.qapp.post_changed()
        self.refresh_post()

    @saving
    def action_relevant(self) -> None:
        self.session.set_relevance(1)
        self._advance()

    @saving
    def action_irrelevant(self) -> None:
        if self.session.current is None:
            return
        self.session.set_relevance(0)
        self._advance()

    def action_toggle_mode(self) -> None:
        self.mode = "coding" if self.mode == "screening" else "screening"

    @saving
    def action_finish_post(self) -> None:
        s = self.session
        if s.current is None:
            return
        if self.mode == "coding":
            if s.current.state.relevance is None and not s.current.state.codes:
                self.notify("Give the post a code (a category digit or /), or press 0 if it is not relevant, "
                            "before marking it done.", timeout=3, markup=False)
                return
            s.set_done(True)
        self._advance()

    def action_next_post(self) -> None:
        if self.session.current is not None:
            self.session.next()
            self.qapp.post_changed()
            self.refresh_post()

    def action_previous_post(self) -> None:
        if self.session.current is not None:
            self.session.previous()
            self.qapp.post_changed()
            self.refresh_post()

    def action_next_unfinished(self) -> None:
        if self.session.current is not None:
            self.session.next_unfinished()
            self.qapp.post_changed()
            self.refresh_post()

    def action_sentence(self, step: int) -> None:
        self.query_one(PostView).move(step)

    @saving
    def action_undo(self) -> None:
        before = self.session.current.post["id"] if self.session.current else None
        target = self.session.undo()
        if target is None:
            self.notify("Nothing to undo.", timeout=2, markup=False)
            return
        self._after_history(before)
        self.notify(f"Undone: {target['kind'].replace('_', ' ')}", timeout=2, markup=False)

    @saving
    def action_redo(self) -> None:
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
            self.qapp.post_changed()
        self.refresh_post(keep_cursor=not moved)

    def action_quote(self) -> None:
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
        cursor = self.query_one(PostView).cursor
        self.session.toggle_quote(cursor, code_id)
        cur = self.session.current
        self.query_one(PostView).update_marks({(q.start, q.end) for q in cur.state.quotes},
                                              self.qapp.mask_spans(cur.post))
        self.refresh_decisions()

    def action_remove_code(self) -> None:
        if self.session.current and self.session.current.state.codes:
            self.pending_prefix = "x"
            self.notify("Remove which code? Press its number.", timeout=4, markup=False)

    def action_memo(self) -> None:
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
        if self.session.current is not None:
            self.session.toggle_flag()
            self.refresh_panel()

    @saving
    def action_skip(self) -> None:
        if self.session.current is not None:
            self.session.skip()
            self._advance()

    @saving
    def action_defer(self) -> None:
        s = self.session
        if s.current is None:
            return
        s.defer()
        s.load()
        self.qapp.post_changed()
        self.refresh_post()
        self.notify("Deferred: the post went back to the end of the queue.", timeout=3, markup=False)

    def action_accept(self) -> None:
        self._decide(True)

    def action_reject(self) -> None:
        self._decide(False)

    @saving
    def _decide(self, accept: bool) -> None:
        s = self.session
        if s.current is None or not self.show_suggestions:
            return
        pending = s.pending_suggestions()
        if not pending:
            self.notify("No suggestion to decide on.", timeout=2, markup=False)
            return
        kind, code_id, _ = pending[0]
        s.decide_suggestion("relevance" if kind == "relevance" else code_id, accept)
        self.refresh_decisions()

    def action_toggle_suggestions(self) -> None:
        self.show_suggestions = not self.show_suggestions
        self.notify("Suggestions shown." if self.show_suggestions else "Suggestions hidden.", timeout=2, markup=False)

    def action_search(self) -> None:
        from tui.ui.screens.search import SearchScreen

        def chosen(code_id: str | None) -> None:
            if code_id and self.session.current is not None and not self.text_hidden:
                self._assign(code_id)

        self.app.push_screen(SearchScreen(self.session.codebook, assign=self.mode == "coding"), chosen)

    def action_reveal(self) -> None:
        if self.session.current is not None and not self.text_hidden:
            self.qapp.revealed = self.session.current.post["id"]
            self.refresh_post(keep_cursor=True)

    def action_toggle_masking(self) -> None:
        if self.qapp.masking and self.qapp.wb.settings.masking:
            self.notify("Masking is required by your well-being settings or your team.", timeout=3, markup=False)
            return
        self.qapp.masking = not self.qapp.masking
        self.refresh_post(keep_cursor=True)
        self.notify("Masking on." if self.qapp.masking else "Masking off.", timeout=2, markup=False)

    def action_wellbeing(self) -> None:
        from tui.ui.screens.wellbeing import WellbeingScreen

        self.qapp.exposure_update(None, hidden=True)  # the history screen covers the post
        self.app.push_screen(WellbeingScreen(self.session.store, self.session.coder),
                             lambda _: self.refresh_decisions())

    def action_report(self) -> None:
        from tui.ui.screens.report import ReportScreen

        self.qapp.exposure_update(None, hidden=True)  # the report covers the post
        self.app.push_screen(ReportScreen(self.session.store, self.session.codebook, None),
                             lambda _: self.refresh_decisions())

    def action_take_break(self) -> None:
        self.qapp.take_break()

    def action_help(self) -> None:
        from tui.ui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen())

    def action_toggle_side(self) -> None:
        """Show or hide the side panel; the choice holds until the app closes."""
        shown = not self.has_class("-side-hidden")
        self.side_panel = not shown

    @on(events.Resize)
    def _resized(self) -> None:
        self._fit_side()
        self.refresh_status()
        if self.picker is not None:
            self._show_picker()

    def set_text_hidden(self, reason: str | None, *, navigable: bool = False) -> None:
        """Hide or show the post text (the well-being policy decides); `navigable` keeps moving on possible."""
        self.navigable = navigable
        if reason == self.text_hidden:
            return
        self.text_hidden = reason
        if not self.query(PostView):
            return  # on_mount draws with the right state
        self.picker = None
        self._show_picker()
        self.refresh_bindings()
        self.refresh_post(keep_cursor=True)

    def not_saved(self, exc: WriteRefused) -> None:
        """Tell the coder plainly that a decision was not saved; the screen keeps showing what is saved."""
        message = READONLY_DECISIONS if exc.kind == "readonly" else f"The decision was NOT saved. {exc}"
        self.notify(message, severity="error", timeout=10, markup=False)
        self.unsaved_post = self.session.current.post["id"] if self.session.current else None
        self.refresh_decisions()

    def describe(self) -> dict[str, Any]:
        """What the screen shows, for tests and benchmarks."""
        s = self.session
        return {"label": s.current.post["label"] if s.current else None, "mode": self.mode,
                "picker": list(self.picker) if self.picker is not None else None}
