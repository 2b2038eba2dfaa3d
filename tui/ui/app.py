"""The qualtui Textual app: wires the coding screen to a project, a codebook and a coder."""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.worker import Worker, WorkerState, get_current_worker

from tui.core.codebook.model import Codebook
from tui.core.coding.session import Session, likely_codes
from tui.core.config import Config
from tui.core.prelabel.auto import (
    has_prelabel,
    learning_due,
    lower_priority,
    needs_prelabels,
    other_model,
    prelabel_in_passes,
    queue_first,
    relearn,
)
from tui.core.project.store import INTERACTIVE_BUSY_TIMEOUT, Store
from tui.core.safe import clean
from tui.core.wellbeing.masking import severity_label
from tui.core.wellbeing.policy import SEVERE_WEIGHT
from tui.core.wellbeing.state import Status
from tui.ui.prelabel_messages import (
    CodebookCommands,
    LearnFinished,
    PrelabelFinished,
    PrelabelProgress,
    prelabel_failure,
)
from tui.ui.screens.checkin import CheckinScreen
from tui.ui.screens.coding import CodingScreen
from tui.ui.wellbeing_app import WellbeingApp

SEVERE_HIDDEN = ("Today's limit on severe posts is reached, so this post stays hidden. "
                 "Press → or g for the next post; milder posts are still open today.")
END_CHECKIN_AFTER = 600.0
"""Ask the end-of-session check-in only after this many seconds of reading in the session."""
BLIND_WARNING = "content warning"
"""The header's warning on a blind post the model rates severe (its own labels would name a category)."""


class QualtuiApp(WellbeingApp):
    """One coder coding one project."""

    CSS_PATH = str(Path(__file__).with_name("app.tcss"))  # absolute, so subclasses elsewhere find it
    TITLE = "qualtui"
    COMMANDS = App.COMMANDS | {CodebookCommands}
    BINDINGS = [
        Binding("ctrl+p", "command_palette", "Palette", show=False, id="palette",
                tooltip="Command palette: codebook search, well-being, reports"),
        Binding("P", "prelabel", "Pre-label", show=False, id="prelabel",
                tooltip="Pre-label posts with the local model in the background (again: stop)"),
    ]

    def __init__(self, store: Store, codebook: Codebook, coder: str, *, config: Config | None = None,
                 mode: str | None = None, clock: Any = time.time, auto_prelabel: bool = False) -> None:
        super().__init__(store, coder, config=config, clock=clock)
        self.session = Session(store, codebook, coder)
        self.start_mode = mode or self.session.last_place()[1] or self.config.mode  # --mode, last mode, config
        self._exposure_at_start = 0.0
        self.prelabel_status = ""
        self.auto_prelabel = auto_prelabel  # pre-label by itself when posts have none (run_app: the config's)
        self._decisions_seen = 0  # session.saved when learning was last considered
        self._learn_pending = False  # learning is due but another background job runs

    @property
    def codebook(self) -> Codebook:
        """The codebook in force now: the session replaces it with every change made while coding."""
        return self.session.codebook

    def on_mount(self) -> None:
        status = self.start_wellbeing()
        self._exposure_at_start = status.raw_today
        self.push_screen(CodingScreen(self.session, self, mode=self.start_mode,
                                      show_suggestions=self.config.show_suggestions))
        self._apply(status)
        if self.auto_prelabel and not self.store.readonly and needs_prelabels(self.store):
            self._start_prelabel(auto=True)
        if status.checkin_due == "session_start" and self.wb.settings.checkins and self._break is None:
            self.push_screen(CheckinScreen("session_start"), partial(self._checked_in, "session_start"))

    def text_screen(self) -> CodingScreen | None:
        """The coding screen, which shows the post."""
        screen: CodingScreen | None = self.first_screen(CodingScreen)
        return screen

    def _apply(self, status: Status) -> None:
        """The shared policy, plus the limit on severe posts, which hides only severe ones."""
        coding = self.text_screen()
        full_cap = status.mode == "capped" and status.weighted_today >= status.daily_cap_minutes - 1e-6
        current = self.session.current.post if self.session.current else None
        if status.mode == "capped" and not full_cap or (status.mode == "working" and current is not None
                                                        and self.severe_blocked(current)):
            # Only severe posts are over for today: hide this one, let the coder move to a milder one.
            self._report_hidden()
            if coding is not None:
                coding.set_text_hidden(SEVERE_HIDDEN, navigable=True)
                coding.refresh_status()
            return
        super()._apply(status)
        if coding is not None:
            coding.refresh_status()

    def severe_blocked(self, post: dict[str, Any]) -> bool:
        """True when today's limit on severe posts is reached and this post is severe."""
        return self.wb.severe_capped and self.post_weight(post) >= SEVERE_WEIGHT

    @on(CodingScreen.PostShown)
    def _post_shown(self, message: CodingScreen.PostShown) -> None:
        """The exposure clock follows the post on screen, weighed by its codes and suggestions."""
        coding = self.text_screen()
        if coding is None or coding.text_hidden:
            return  # hidden since the message was sent: PostHidden or the policy already stopped the clock
        post = message.post
        if self.session.saved != self._decisions_seen:
            self._decisions_seen = self.session.saved
            self.maybe_relearn()
        if self.severe_blocked(post):
            self._apply(self.wellbeing_tick())
            return
        self.report_shown(post["id"], self.post_weight(post))

    @on(CodingScreen.PostHidden)
    def _post_hidden(self) -> None:
        """No post text on screen: the exposure clock stops."""
        self._report_hidden()

    def milder_first(self) -> None:
        """After several severe posts in a row, serve a milder one next when the queue has one."""
        if self.wb.tick(self.clock()).needs_milder or self.wb.severe_capped:
            self.session.promote_milder(self.suggested_weight, SEVERE_WEIGHT)

    def suggested_weight(self, post_id: int) -> float:
        """A post's weight before this coder coded it: from the model's code suggestions."""
        codes = likely_codes(self.store, post_id)
        weights = [self.codebook.severity(c) for c in codes if self.codebook.node(c) is not None]
        return max(weights, default=1.0)

    # ------------------------------------------------------------ pre-labels in the background

    def action_prelabel(self) -> None:
        """Start pre-labelling in a worker thread, or stop the one running."""
        running = [w for w in self.workers if w.group == "prelabel" and w.is_running]
        if running:
            for w in running:
                w.cancel()
            self.notify("Stopping pre-labelling after the current post…", timeout=3, markup=False)
            return
        if self.store.readonly:
            self.notify("This project is open read-only: pre-labels cannot be saved.", severity="error",
                        timeout=6, markup=False)
            return
        self.notify("Pre-labelling in the background; keep working.", timeout=3, markup=False)
        self._start_prelabel(auto=False)

    def _start_prelabel(self, auto: bool) -> None:
        """Pre-label in the background, the coder's walk from the post on screen first."""
        self.prelabel_status = "pre-labelling: loading the model"
        self._prelabel_worker(auto, tuple(queue_first(self.session.posts, self.session.index)))

    @work(thread=True, exclusive=True, exit_on_error=False, group="prelabel")
    def _prelabel_worker(self, auto: bool, first: tuple[int, ...]) -> None:
        # Never touches widgets: it opens its own Store (SQLite objects belong to their thread)
        # and reports by messages. One worker, one model: a Llama is not thread-safe.
        from tui.core.prelabel.backends import Backend
        from tui.core.prelabel.backends.gguf import default_model_path
        from tui.core.prelabel.backends.llama import LlamaBackend
        from tui.core.prelabel.backends.server import OpenAIBackend
        from tui.core.prelabel.errors import PrelabelError

        worker = get_current_worker()
        lower_priority()  # the interface comes first; llama.cpp's threads inherit this
        store = Store(self.store.path)
        backend: Backend | None = None

        def progress(what: str, done: int, total: int) -> None:
            self.post_message(PrelabelProgress(done, total, what))

        try:
            if self.config.llm_url:
                backend = OpenAIBackend(self.config.llm_url)
            else:
                # One core stays free for the interface, and cores busy with other work are left alone:
                # llama.cpp threads busy-wait.
                backend = LlamaBackend(self.config.model or default_model_path(), reserve_cores=1)
            if auto and other_model(store, backend.model_hash):
                self.post_message(PrelabelFinished("", False))  # another model's pre-labels: P replaces them
                return
            done = prelabel_in_passes(store, self.codebook, backend, first=first, progress=progress,
                                      should_stop=lambda: worker.is_cancelled)
            summary = done.run
            if summary is None:
                self.post_message(PrelabelFinished("Pre-labelling stopped before the first post.", False))
                return
            scored = done.n_new or summary.n_scored
            self.post_message(PrelabelFinished(
                f"Pre-labels: {scored} scored, {summary.n_posts - scored} cached, "
                f"{summary.n_relevant} likely relevant ({summary.status}).", False))
        except PrelabelError as exc:
            more = " Coding goes on without them; P tries again." if auto else ""
            self.post_message(PrelabelFinished(f"No pre-labels: {exc}{more}" if auto else str(exc), True))
        except Exception as exc:
            if not worker.is_cancelled:
                raise  # reported by _prelabel_state
            # A cancelled thread's result is awaited by nobody: report its failure here.
            self.post_message(PrelabelFinished(prelabel_failure(exc), True))
        finally:
            if backend is not None:
                backend.close()
            store.close()

    @on(Worker.StateChanged)
    def _prelabel_state(self, event: Worker.StateChanged) -> None:
        """A worker that failed unexpectedly: tell the coder and leave the loading state."""
        if event.worker.group == "prelabel" and event.state == WorkerState.ERROR:
            self.post_message(PrelabelFinished(prelabel_failure(event.worker.error), True))
        elif event.worker.group == "learn" and event.state == WorkerState.ERROR:
            what = clean(f"{type(event.worker.error).__name__}: {event.worker.error}", oneline=True)[:200]
            self.post_message(LearnFinished(f"Learning from the decisions stopped on an unexpected error ({what}). "
                                            "Your coding is saved.", True))

    @on(PrelabelProgress)
    def _prelabel_progress(self, message: PrelabelProgress) -> None:
        self.prelabel_status = f"{message.what} {message.done}/{message.total}"
        self.refresh(repaint=True)  # the model's loader may have silenced the terminal for a moment
        coding = self.text_screen()
        if coding is None:
            return
        cur = self.session.current
        if cur is not None and not any(k == "relevance" for k, _, _ in cur.suggestions) \
                and has_prelabel(self.store, cur.post["id"]):
            self._show_new_suggestions(coding)  # the post on screen was just scored
        else:
            coding.refresh_status()

    def _show_new_suggestions(self, coding: CodingScreen) -> None:
        """Reload the post on screen's suggestions and redraw what they change (header, panel, status)."""
        if self.session.current is not None:
            self.session.load()
            coding.refresh_decisions()

    @on(PrelabelFinished)
    def _prelabel_finished(self, message: PrelabelFinished) -> None:
        self.prelabel_status = ""
        if message.summary:
            self.notify(message.summary, severity="error" if message.error else "information", timeout=8,
                        markup=False)
        coding = self.text_screen()
        if coding is not None and self.session.current is not None:
            self.session.load()  # new suggestions for the post on screen
            coding.refresh_post(keep_cursor=True)
        if self._learn_pending:
            self.maybe_relearn()

    # ------------------------------------------------------------ learning from the coders in the background

    def maybe_relearn(self) -> None:
        """Learn again once enough new decisions came in (`relearn_every`), in the background."""
        if not self.auto_prelabel or self.config.relearn_every <= 0 or self.store.readonly:
            return
        if any(w.group in ("prelabel", "learn") and w.is_running for w in self.workers):
            self._learn_pending = True  # a finishing pre-label run learns too; else we look again after it
            return
        self._learn_pending = False
        if learning_due(self.store, self.config.relearn_every):
            self.prelabel_status = "pre-labelling: learning"
            coding = self.text_screen()
            if coding is not None:
                coding.refresh_status()
            self._learn_worker()

    @work(thread=True, exclusive=True, exit_on_error=False, group="learn")
    def _learn_worker(self) -> None:
        # Its own Store, like the pre-label worker; learning reads cached embeddings, never the model.
        lower_priority()
        store = Store(self.store.path)
        try:
            learned = relearn(store, self.codebook)
        finally:
            store.close()
        self.post_message(LearnFinished("Suggestions updated from the coders' decisions (report: Screening)."
                                        if learned.applied_relevance or learned.applied_codes else ""))

    @on(LearnFinished)
    def _learn_finished(self, message: LearnFinished) -> None:
        self.prelabel_status = ""
        if message.summary:
            self.notify(message.summary, severity="error" if message.error else "information",
                        timeout=8 if message.error else 4, markup=False)
        coding = self.text_screen()
        if coding is not None:
            self._show_new_suggestions(coding)
        if self._learn_pending:
            self.maybe_relearn()

    def on_wellbeing_screen_history_deleted(self, event: Any) -> None:
        """The coder deleted their history: forget the ratings kept in memory too."""
        self.wb.forget_checkins()
        self._save(force=True)

    async def action_quit(self) -> None:
        """Quit; everything is already saved. Offers the optional end-of-session check-in."""
        now = self.clock()
        read = self.wb.tick(now).raw_today - self._exposure_at_start
        if self.wb.settings.checkins and read * 60 >= END_CHECKIN_AFTER and not isinstance(self.screen, CheckinScreen):
            def done(rating: int | None) -> None:
                self._checked_in("session_end", rating)
                self._finish()
            self.push_screen(CheckinScreen("session_end"), done)
            return
        self._finish()

    def _finish(self) -> None:
        self.end_session()

    # ------------------------------------------------------------ hooks used by the screens

    def post_weight(self, post: dict[str, Any]) -> float:
        """Exposure weight: the highest severity among the coder's codes and the model's suggestions."""
        cur = self.session.current
        ids: list[str] = []
        if cur is not None and cur.post["id"] == post["id"]:
            ids = list(cur.state.codes) + cur.likely_codes
        weights = [self.codebook.severity(i) for i in ids if self.codebook.node(i) is not None]
        return max(weights, default=1.0)

    def severity_label(self, post: dict[str, Any]) -> str | None:
        """A short header label for severe posts (not a blocking warning)."""
        cur = self.session.current
        if cur is not None and cur.post["id"] == post["id"] and cur.blind:
            # A blind post names no category the model saw (that would be a suggestion), but a post the
            # model rates severe still gets its warning: well-being comes before the study.
            own = [self.codebook.severity(i) for i in cur.state.codes if self.codebook.node(i) is not None]
            label = severity_label(max(own, default=1.0))
            return label or (BLIND_WARNING if self.post_weight(post) >= SEVERE_WEIGHT else None)
        return severity_label(self.post_weight(post))

    def masking_required(self) -> bool:
        """True when the coder's settings or the team require masking."""
        return bool(self.wb.settings.masking)

    def assign_from_palette(self, code_id: str) -> None:
        """Assign a code chosen in the command palette."""
        screen = self.screen
        if isinstance(screen, CodingScreen) and not screen.text_hidden and self.session.current is not None:
            if screen.mode != "coding":
                screen.mode = "coding"
            screen.assign(code_id)


def run_app(db: Path, codebook: Codebook, coder: str, config: Config, mode: str | None = None) -> int:
    """Open the project and run the app until the coder quits; the app's exit status (1 after a crash)."""
    store = Store(db, create=False, busy_timeout=INTERACTIVE_BUSY_TIMEOUT)
    try:
        app = QualtuiApp(store, codebook, coder, config=config, mode=mode, auto_prelabel=config.auto_prelabel)
        app.run()
    finally:
        store.close()
    return app.return_code or 0
