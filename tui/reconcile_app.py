"""The reconciliation app: the reconcile screen with masking and the reconciler's own break policy."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from textual import events
from textual.app import App

from tui.core import wellbeing_store
from tui.core.codebook import Codebook
from tui.core.config import Config
from tui.core.masking import default_lexicon, mask
from tui.core.store import Store
from tui.core.wellbeing import Wellbeing
from tui.core.wellbeing_state import Status
from tui.screens.break_screen import BreakScreen
from tui.screens.reconcile import ReconcileScreen

SAVE_EVERY = 5.0
"""Seconds between well-being saves while nothing else happens (a crash loses at most this)."""


class ReconcileApp(App[None]):
    """One person reconciling the coders' disagreements; reading posts counts as exposure."""

    CSS_PATH = "app.tcss"
    TITLE = "qualtui reconcile"

    def __init__(self, store: Store, codebook: Codebook, coder: str, *, coders: Sequence[str] | None = None,
                 sort: str = "count", config: Config | None = None, clock: Any = time.time) -> None:
        super().__init__()
        self.store = store
        self.codebook = codebook
        self.coder = coder
        self.coders = list(coders) if coders else None
        self.sort = sort
        self.config = config or Config()
        self.clock = clock
        settings, self.settings_notices = wellbeing_store.settings_for(store, self.config.wellbeing)
        self.wb: Wellbeing = wellbeing_store.load(store, coder, settings)
        self.masking = self.config.masking or settings.masking
        self.revealed: int | None = None  # the post whose masked terms the reconciler chose to see
        self._lexicon = default_lexicon(tuple(settings.lexicon))
        self._shown: tuple[int, float] | None = None  # (post id, weight) last reported as on screen
        self._saved_at = 0.0
        self._break: BreakScreen | None = None
        self._reminded: str | None = None

    def on_mount(self) -> None:
        if self.config.keys:
            self.set_keymap(self.config.keys)
        for notice in self.settings_notices:
            self.notify(notice, severity="warning", timeout=8)
        now = self.clock()
        self.wb.session_started(now)
        status = self.wb.tick(now)
        self._save(force=True)
        self.push_screen(ReconcileScreen(self.store, self.codebook, coders=self.coders, sort=self.sort,
                                         by=self.coder))
        self._apply(status)
        self.set_interval(1.0, self._on_tick)

    # ------------------------------------------------------------ well-being

    def _save(self, force: bool = False) -> None:
        now = self.clock()
        if force or now - self._saved_at >= SAVE_EVERY:
            wellbeing_store.save(self.store, self.coder, self.wb)
            self._saved_at = now

    def wellbeing_tick(self) -> Status:
        """The well-being state right now."""
        return self.wb.tick(self.clock())

    def _on_tick(self) -> None:
        self._apply(self.wellbeing_tick())
        self._save()

    def _screen(self) -> ReconcileScreen | None:
        return next((s for s in self.screen_stack if isinstance(s, ReconcileScreen)), None)

    def _apply(self, status: Status) -> None:
        """Hide the text during breaks and after the daily cap, as the coding app does; show it again after."""
        screen = self._screen()
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
        self._break = None
        if screen is not None and screen.text_hidden:
            screen.set_text_hidden(None)
        if status.break_due and self._reminded != status.day + str(status.next_break_kind):
            self._reminded = status.day + str(status.next_break_kind)
            self.notify("A break is due. Take it when you reach a good stopping point.", timeout=10)

    def _break_closed(self, why: str | None) -> None:
        if why == "closed":  # left the daily-cap notice for exposure-free work
            self._break = None

    def postpone_break(self) -> None:
        """Postpone the running break if the policy allows it (the break screen's `p`)."""
        result = self.wb.postpone(self.clock())
        if not result:
            self.notify(result.reason, timeout=4)
        self._save(force=True)
        self._apply(self.wellbeing_tick())

    def _report_hidden(self) -> None:
        if self._shown is not None:
            self.wb.post_left(self.clock())
            self._shown = None

    def exposure_update(self, post: dict[str, Any] | None, hidden: bool, weight: float = 1.0) -> None:
        """Tell the exposure clock which post is on screen, and how heavy its codes are."""
        if post is None or hidden:
            self._report_hidden()
            return
        if self._shown != (post["id"], weight):
            now = self.clock()
            if self._shown is not None and self._shown[0] != post["id"]:
                self.wb.post_left(now)
            self.wb.post_shown(now, post["id"], weight, masked=False)
            self._shown = (post["id"], weight)
            self._save(force=True)
            self._apply(self.wb.tick(now))

    def on_app_focus(self, event: events.AppFocus) -> None:
        self.wb.focus(self.clock(), True)

    def on_app_blur(self, event: events.AppBlur) -> None:
        self.wb.focus(self.clock(), False)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown, events.MouseScrollDown, events.MouseScrollUp)):
            self.wb.input(self.clock())
        await super().on_event(event)

    async def action_quit(self) -> None:
        """Quit; every decision is already saved."""
        self._report_hidden()
        self.wb.session_ended(self.clock())
        self._save(force=True)
        self.exit()

    # ------------------------------------------------------------ hooks used by the screen

    def mask_spans(self, post: dict[str, Any]) -> list[tuple[int, int]]:
        """Spans of graphic terms to mask in this text (none if masking is off or the post is revealed)."""
        if not self.masking or self.revealed == post["id"]:
            return []
        return mask(post["text"], self._lexicon)

    def post_changed(self) -> None:
        """Called after the screen moved to another post: masking returns."""
        self.revealed = None


def run_reconcile(db: Path, codebook: Codebook, coder: str, config: Config, *, coders: Sequence[str] | None = None,
                  sort: str = "count") -> None:
    """Open the project and run the reconciliation app until the user quits."""
    store = Store(db, create=False)
    try:
        ReconcileApp(store, codebook, coder, coders=coders, sort=sort, config=config).run()
    finally:
        store.close()
