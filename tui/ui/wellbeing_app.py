"""What every qualtui app that shows posts shares: the exposure clock, breaks, check-ins and masking."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from textual import events
from textual.app import App
from textual.screen import Screen

from tui.core.config import Config
from tui.core.project.store import READONLY_DECISIONS, Store, describe_db_error
from tui.core.wellbeing import storage as wellbeing_store
from tui.core.wellbeing.masking import default_lexicon, mask, masked
from tui.core.wellbeing.policy import Wellbeing
from tui.core.wellbeing.state import Status
from tui.ui.screens.break_screen import BreakScreen
from tui.ui.screens.checkin import AdviceScreen, CheckinScreen
from tui.ui.screens.wellbeing import ConfirmScreen


def _unmasked(text: str) -> str:
    return text


SAVE_EVERY = 5.0
"""Seconds between well-being saves while nothing else happens (a crash loses at most this)."""
SAVE_PATIENCE = 0.2
"""Seconds a well-being save waits for another command's write before leaving it to the next save."""


class WellbeingApp(App[None]):
    """Base app: the coder's well-being machine, saved to the project, rendered by break screens.

    A subclass says which screen shows post text (`text_screen`); that screen has
    `set_text_hidden(reason)` and a `text_hidden` attribute.
    """

    def __init__(self, store: Store, coder: str, *, config: Config | None = None, clock: Any = time.time) -> None:
        super().__init__()
        self.store = store
        self.coder = coder
        self.config = config or Config()
        self.clock = clock
        settings, self.settings_notices = wellbeing_store.settings_for(store, self.config.wellbeing)
        self.wb: Wellbeing = wellbeing_store.load(store, coder, settings)
        # Masking can be required by the team (a ceiling); the coder can only add to it.
        self.masking = self.config.masking or settings.masking
        self.revealed: int | None = None  # the post whose masked terms the coder chose to see
        self._lexicon = default_lexicon(tuple(settings.lexicon))
        self._shown: tuple[int, float] | None = None  # (post id, weight) last reported as on screen
        self._saved_at = 0.0
        self._break: BreakScreen | None = None
        self._reminded: str | None = None
        self._save_failed = False
        self.quitting = False  # set once the session ended: later keys must not open screens

    # ------------------------------------------------------------ for subclasses

    def text_screen(self) -> Any:
        """The screen that shows post text (None before it is pushed)."""
        return None

    def start_wellbeing(self) -> Status:
        """Call from on_mount: start the session clock and apply the state found in the project."""
        if self.config.keys:
            self.set_keymap(self.config.keys)
        for notice in self.settings_notices:
            self.notify(notice, severity="warning", timeout=8, markup=False)
        if self.store.readonly:
            self.notify(READONLY_DECISIONS, severity="warning", timeout=10, markup=False)
        now = self.clock()
        self.wb.session_started(now)
        status = self.wb.tick(now)
        self._save(force=True)
        self.set_interval(1.0, self._on_tick)
        return status

    # ------------------------------------------------------------ the clock

    def _save(self, force: bool = False) -> None:
        now = self.clock()
        if self.store.readonly:
            return  # the coder was told at the start that nothing can be saved
        if force or now - self._saved_at >= SAVE_EVERY:
            self._saved_at = now
            try:
                # A short wait only: the screen must not freeze behind another command's write.
                with self.store.patience(SAVE_PATIENCE):
                    wellbeing_store.save(self.store, self.coder, self.wb)
            except sqlite3.Error as exc:
                # Busy or full: the state stays in memory and the next save writes it; say so once.
                message = describe_db_error(exc, self.store.path)
                if message is None:
                    raise
                if not self._save_failed:
                    self.notify(f"Your well-being log is not saved yet. {message}", severity="warning",
                                timeout=8, markup=False)
                self._save_failed = True
                return
            self._save_failed = False

    def wellbeing_tick(self) -> Status:
        """The well-being state right now."""
        return self.wb.tick(self.clock())

    def _on_tick(self) -> None:
        if self.quitting:
            return
        self._apply(self.wellbeing_tick())
        self._save()

    def _apply(self, status: Status) -> None:
        """Make the screen follow the policy: hide text in breaks and after the cap, show it again after."""
        screen = self.text_screen()
        hidden = status.mode in ("break", "pause", "capped")
        for other in self.screen_stack:  # other screens with post text (report quotes) follow too
            if hasattr(other, "set_post_text_hidden"):
                other.set_post_text_hidden(hidden)
        if hidden:
            kind = "capped" if status.mode == "capped" else (status.break_kind or "short")
            if screen is not None:
                screen.set_text_hidden("Post text is hidden: " + ("daily limit reached." if kind == "capped"
                                                                  else "break in progress."))
            self._report_hidden()
            if self._break is None or (self._break.kind != kind and self._break.is_attached):
                if self._break is not None and self._break.is_attached:
                    self._break.dismiss("replaced")
                if kind != "capped" or self._reminded != "capped":
                    self._break = BreakScreen(kind, self.clock())
                    self._reminded = "capped" if kind == "capped" else self._reminded
                    self.push_screen(self._break, self._break_closed)
            if self._break is not None and self._break.is_attached:
                self._break.show(status)
            return
        if self._break is not None and self._break.is_attached:
            self._break.dismiss("over")
            # The long break's check-in, or a session-start one the session opened past, is due now.
            moment = status.checkin_due
            if moment in ("long_break", "session_start") and self.wb.settings.checkins:
                self.push_screen(CheckinScreen(moment), partial(self._checked_in, moment))
        self._break = None
        if screen is not None and screen.text_hidden:
            screen.set_text_hidden(None)
        if status.break_due and self._reminded != status.day + str(status.next_break_kind):
            self._reminded = status.day + str(status.next_break_kind)
            self.notify("A break is due. Take it when you reach a good stopping point.", timeout=10, markup=False)
        elif status.warn_cap and self._reminded != "warn" + status.day:
            self._reminded = "warn" + status.day
            self.notify(f"{status.weighted_today:.0f} of {status.daily_cap_minutes:.0f} weighted minutes read "
                        "today.", timeout=8, markup=False)

    def _break_closed(self, why: str | None) -> None:
        if why == "closed":  # the coder left the daily-cap notice for exposure-free work
            self._break = None

    def _checked_in(self, moment: str, rating: int | None) -> None:
        now = self.clock()
        if rating is None:
            self.wb.skip_checkin(now)
        else:
            advice = self.wb.checkin(now, rating, moment=moment)
            if advice.stop_suggested:
                self.push_screen(AdviceScreen(advice.reason, advice.contacts))
        self._save(force=True)

    def postpone_break(self) -> None:
        """Postpone the running break if the policy allows it (the break screen's `p`)."""
        result = self.wb.postpone(self.clock())
        if not result:
            self.notify(result.reason, timeout=4, markup=False)
        self._save(force=True)
        self._apply(self.wellbeing_tick())

    def take_break(self) -> None:
        """Ask, then start a short break of the coder's own (one stray key must not lock them out)."""
        if self.wb.s.brk is not None:
            return

        def answered(yes: bool | None) -> None:
            if yes and self.wb.start_break(self.clock(), "short"):
                self._save(force=True)
                self._apply(self.wellbeing_tick())

        minutes = f"{self.wb.settings.short_break_minutes:g}"
        self.push_screen(ConfirmScreen(f"Start a {minutes}-minute break now?",
                                       "Post text is hidden while it runs. You can end a break you started "
                                       "yourself with e, but then it does not count as a break taken."),
                         answered)

    def end_break(self) -> None:
        """End a break the coder started (the break screen's `e`); enforced breaks cannot end early."""
        if self.wb.end_break(self.clock()):
            self.notify("Break ended early; it does not count as a break taken.", timeout=4, markup=False)
        else:
            self.notify("This break was not started by you, so it runs its full length.", timeout=4,
                        markup=False)
        self._save(force=True)
        self._apply(self.wellbeing_tick())

    def _report_hidden(self) -> None:
        if self._shown is not None:
            self.wb.post_left(self.clock())
            self._shown = None

    def report_shown(self, post_id: int, weight: float) -> None:
        """Tell the exposure clock a post is on screen with this weight (no-op if nothing changed)."""
        if self._shown != (post_id, weight):
            now = self.clock()
            if self._shown is not None and self._shown[0] != post_id:
                self.wb.post_left(now)
            self.wb.post_shown(now, post_id, weight, masked=False)
            self._shown = (post_id, weight)
            self._save(force=True)
            self._apply(self.wb.tick(now))

    def on_app_focus(self, event: events.AppFocus) -> None:
        self.wb.focus(self.clock(), True)

    def on_app_blur(self, event: events.AppBlur) -> None:
        self.wb.focus(self.clock(), False)

    async def on_event(self, event: events.Event) -> None:
        if self.quitting and isinstance(event, (events.InputEvent, events.Paste)):
            # Keys typed after quit (a coder typing a word into what they thought was a text box)
            # would open screens on an app that is closing down.
            return
        if isinstance(event, (events.Key, events.MouseDown, events.MouseScrollDown, events.MouseScrollUp)):
            self.wb.input(self.clock())
        await super().on_event(event)

    def end_session(self) -> None:
        """Stop the clock, save, and exit."""
        self.quitting = True
        self._report_hidden()
        self.wb.session_ended(self.clock())
        self._save(force=True)
        self.exit()

    # ------------------------------------------------------------ masking

    def mask_spans(self, post: dict[str, Any]) -> list[tuple[int, int]]:
        """Spans of graphic terms to mask in this post (none if masking is off or the post is revealed)."""
        if not self.masking or self.revealed == post["id"]:
            return []
        return mask(post["text"], self._lexicon)

    def masker(self, post_id: Any = None) -> Callable[[str], str]:
        """A function that masks graphic terms in text from post `post_id` (None: no post is revealed)."""
        if not self.masking or (post_id is not None and self.revealed == post_id):
            return _unmasked
        return partial(masked, lexicon=self._lexicon)

    def reading_seconds_today(self) -> float:
        """Time spent reading post text today, from the exposure clock: time away is not reading."""
        return self.wb.status(self.clock()).raw_today * 60

    def post_text_hidden(self) -> bool:
        """True while post text may not be shown (a break, a pause, a daily limit)."""
        return self.wb.status(self.clock()).mode in ("break", "pause", "capped")

    def first_screen(self, kind: type[Screen[Any]]) -> Any:
        """The first screen of this type on the stack, if any."""
        return next((s for s in self.screen_stack if isinstance(s, kind)), None)
