"""What every qualtui app that shows posts shares: the exposure clock, breaks, check-ins and masking."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from textual import events
from textual.app import App
from textual.screen import Screen

from tui.core import wellbeing_store
from tui.core.config import Config
from tui.core.masking import default_lexicon, mask
from tui.core.store import Store
from tui.core.wellbeing import Wellbeing
from tui.core.wellbeing_state import Status
from tui.screens.break_screen import BreakScreen
from tui.screens.checkin import AdviceScreen, CheckinScreen

SAVE_EVERY = 5.0
"""Seconds between well-being saves while nothing else happens (a crash loses at most this)."""


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
        now = self.clock()
        self.wb.session_started(now)
        status = self.wb.tick(now)
        self._save(force=True)
        self.set_interval(1.0, self._on_tick)
        return status

    # ------------------------------------------------------------ the clock

    def _save(self, force: bool = False) -> None:
        now = self.clock()
        if force or now - self._saved_at >= SAVE_EVERY:
            wellbeing_store.save(self.store, self.coder, self.wb)
            self._saved_at = now

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
        if status.mode in ("break", "pause", "capped"):
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
            if status.checkin_due == "long_break" and self.wb.settings.checkins:
                self.push_screen(CheckinScreen("long_break"), partial(self._checked_in, "long_break"))
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

    def first_screen(self, kind: type[Screen[Any]]) -> Any:
        """The first screen of this type on the stack, if any."""
        return next((s for s in self.screen_stack if isinstance(s, kind)), None)
