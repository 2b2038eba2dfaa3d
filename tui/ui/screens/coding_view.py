"""What the coding screen draws, and when the well-being policy hides the post text."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Static

from tui.core.coding.queue import relevance_by_post
from tui.core.coding.session import Session
from tui.core.project.store import READONLY_DECISIONS, WriteRefused
from tui.core.safe import clean
from tui.ui.screens.coding_status import ProgressTally, wellbeing_notes
from tui.ui.screens.host import CodingHost
from tui.ui.widgets.code_panel import CodePanel
from tui.ui.widgets.inline_form import InlineCodeForm
from tui.ui.widgets.picker import CodePicker
from tui.ui.widgets.post_view import PostView
from tui.ui.widgets.status_bar import StatusBar, render_status

F = TypeVar("F", bound=Callable[..., Any])

SIDE_MIN_WIDTH = 70
"""Narrower terminals give the post the whole width; `c` brings the panel back."""


def saving(method: F) -> F:
    """Wrap a screen method that records decisions: a write the project refused is told, never shown as done."""

    @functools.wraps(method)
    def wrapper(self: CodingView, *args: Any, **kwargs: Any) -> Any:
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


class CodingView(Screen[None]):
    """The coding screen's state and drawing; every redraw tells the app what post text is on screen."""

    class PostShown(Message):
        """This post's text is on screen (the app's exposure clock weighs it)."""

        def __init__(self, post: dict[str, Any]) -> None:
            super().__init__()
            self.post = post

    class PostHidden(Message):
        """No post text is on screen (hidden, or covered by another screen)."""

    mode: reactive[str] = reactive("screening", init=False)
    show_suggestions: reactive[bool] = reactive(True, init=False)
    side_panel: reactive[bool | None] = reactive(None, init=False)  # None: shown when the terminal is wide

    def __init__(self, session: Session, host: CodingHost, *, mode: str = "screening",
                 show_suggestions: bool = True) -> None:
        super().__init__()
        self.session = session
        self.host = host
        self.set_reactive(CodingView.mode, mode)
        self.set_reactive(CodingView.show_suggestions, show_suggestions)
        self.text_hidden: str | None = None  # why the post text is hidden (break, cap), if it is
        self.navigable = False  # while hidden: may the coder still move to another post?
        self.unsaved_post: int | None = None  # the post whose last decision the project refused
        self.unsaved_memo: tuple[int, str] | None = None  # a memo that could not be saved, kept to retry
        self.pending_prefix: str | None = None  # "x" or "quote" while waiting for a code's number
        self._tally = ProgressTally({})

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield Static(id="post-header")
        with Horizontal(id="main"):
            yield PostView(id="post")
            with Vertical(id="side"):
                yield CodePanel(id="panel")
        yield CodePicker(id="picker")
        yield InlineCodeForm(self.session.codebook, self._form_closed, id="code-form")
        yield Footer()

    def on_mount(self) -> None:
        self._status = self.query_one(StatusBar)
        self._panel = self.query_one(CodePanel)
        self._header_widget = self.query_one("#post-header", Static)
        self._picker = self.query_one(CodePicker)
        self.query_one(PostView).focus()
        self._picker.display = False
        self._form = self.query_one(InlineCodeForm)
        self._form.display = False
        self._tally = ProgressTally(relevance_by_post(self.session.store, self.session.coder))
        self._fit_side()
        self.refresh_post()

    def _form_closed(self) -> None:
        """The inline code form closed: the post takes the keys again.

        The hidden field lets go of the keys at once (they go to the screen's bindings); the post takes the
        focus on the next frame, as its focus tint repaints the whole text: the new code is drawn first.
        """
        self.set_focus(None)
        post = self.query_one(PostView)
        self.call_after_refresh(lambda: self.set_focus(post, scroll_visible=False) if self.focused is None else None)

    @property
    def picker(self) -> list[str] | None:
        """The path of node ids picked so far, or None while the picker is closed."""
        path = self._picker.path if hasattr(self, "_picker") else None
        return list(path) if path is not None else None

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
            masked = self.host.mask_spans(cur.post)
            cursor = view.cursor if keep_cursor else 0
            view.show(cur.post["text"], cur.sentences, quoted, masked, cursor)
            self.query_one("#post-header", Static).update(self._header())
        self.refresh_panel()
        self.refresh_status()
        s.save_place(self.mode)
        self._tell_exposure()

    def refresh_decisions(self) -> None:
        """Redraw what a decision changes (header, panel, status), not the post text."""
        if self.session.current is None:
            return
        if not self.text_hidden:
            self._header_widget.update(self._header())
        self.refresh_panel()
        self.refresh_status()
        self._tell_exposure()  # a new code can make the post weigh more

    def _tell_exposure(self) -> None:
        """Tell the app, by message, what post text is on screen now."""
        cur = self.session.current
        if cur is None or self.text_hidden:
            self.post_message(self.PostHidden())
        else:
            self.post_message(self.PostShown(cur.post))

    def _header(self) -> Text:
        post = self.session.current.post  # type: ignore[union-attr]
        out = Text()
        out.append(f" {clean(post['label'], oneline=True)} ", style="bold reverse")
        out.append(f"  {clean(post['platform'], oneline=True)}  {(post.get('posted_at') or '')[:10]}", style="dim")
        if self.session.current is not None and self.session.current.blind:
            out.append("  blind", style="bold magenta")  # the study shows no model output for this post
        severity = self.host.severity_label(post)
        if severity:
            out.append(f"  {severity}", style="bold red")
        if self.unsaved_post == post["id"]:
            out.append("  last decision NOT saved", style="bold reverse red")
        mask = self.host.masker(post["id"])  # titles and tags are post text too
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
                   mask=self.host.masker(s.current.post["id"]), text_hidden=bool(self.text_hidden))

    def refresh_status(self) -> None:
        """Redraw the status line."""
        if not hasattr(self, "_status"):
            return
        s = self.session
        note, short = wellbeing_notes(self.host.wellbeing_tick(), self.host.clock(), self.host.prelabel_status)
        self._status.update(render_status(
            s.coder, self._tally.progress(s, self.mode), s.index + 1 if s.total else 0, s.total, self.mode,
            self.host.reading_seconds_today(), note, short, self.size.width))

    @on(events.Resize)
    def _resized(self) -> None:
        self._fit_side()
        self.refresh_status()
        if hasattr(self, "_picker"):
            self._picker.redraw()

    # ------------------------------------------------------------ hiding (the well-being policy decides)

    def set_text_hidden(self, reason: str | None, *, navigable: bool = False) -> None:
        """Hide or show the post text (the well-being policy decides); `navigable` keeps moving on possible."""
        self.navigable = navigable
        if reason == self.text_hidden:
            return
        self.text_hidden = reason
        if not self.query(PostView):
            return  # on_mount draws with the right state
        self._picker.close()
        self.refresh_bindings()
        self.refresh_post(keep_cursor=True)

    def hidden_blocks(self, action: str) -> bool:
        """True when hidden text rules this action out (it needs the text, or moving on is not allowed)."""
        if not self.text_hidden:
            return False
        if action in {"relevant", "irrelevant", "quote", "accept", "reject", "finish_post"}:
            return True
        return not self.navigable and action in {"next_post", "previous_post", "next_unfinished", "skip", "defer"}

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
                "picker": self.picker}
