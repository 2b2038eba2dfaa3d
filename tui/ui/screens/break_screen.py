"""The break screen: no post text anywhere, a countdown on the wall clock, and little else to press."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

if TYPE_CHECKING:
    from tui.core.wellbeing.state import Status

TITLES = {"short": "Time for a short break", "long": "Time for a longer break",
          "pause": "A short pause after a hard post", "capped": "That's enough exposure for today"}
ADVICE = {
    "short": "Stand up, look at something far away, drink some water.",
    "long": "Step away from the screen: a walk, a chat with someone, something unrelated.",
    "pause": "Take a breath before the next post.",
    "capped": "Post text stays hidden until tomorrow. Codebook browsing, memos, agreement and exports "
              "still work: close this and carry on with those, or stop for the day.",
}


KEY_GUARD = 2.0
"""Seconds a break screen ignores keys, so typing at speed cannot dismiss or postpone it by accident."""


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds + 0.999))
    return f"{seconds // 60}:{seconds % 60:02d}"


class BreakScreen(ModalScreen[str]):
    """Covers the app during a break; keys do nothing for the first seconds, then only a few do."""

    BINDINGS = [
        Binding("p", "postpone", "Postpone 2 min", id="break.postpone", tooltip="Postpone this break once"),
        Binding("e", "end_break", "End break", id="break.end",
                tooltip="End a break you started yourself (it then does not count as a break taken)"),
        Binding("q", "quit_app", "Quit", id="break.quit", tooltip="Quit (the break keeps running)"),
    ]

    def __init__(self, kind: str, opened_at: float) -> None:
        super().__init__()
        self.kind = kind
        self.opened_at = opened_at  # on the app's clock: keys wait KEY_GUARD seconds from here
        self._pending: Status | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="break-box"):
            yield Static(Text(TITLES.get(self.kind, "Break"), style="bold"), id="break-title")
            yield Static(id="break-clock")
            yield Static(Text(ADVICE.get(self.kind, "")), id="break-advice")
            yield Static(id="break-keys")

    def on_mount(self) -> None:
        if self._pending is not None:
            self.show(self._pending)

    def show(self, status: Status) -> None:
        """Redraw from the well-being state (called every second by the app)."""
        self._pending = status
        if not self.query("#break-clock"):
            return  # not composed yet: on_mount draws it
        clock = Text()
        if self.kind == "capped":
            clock.append(status.cap_reason or "Daily limit reached.", style="bold")
        else:
            clock.append(_clock(status.seconds_left), style="bold")
            clock.append(" left", style="dim")
        self.query_one("#break-clock", Static).update(clock)
        keys = Text()
        if not status.accepts_keys or self.app.clock() - self.opened_at < KEY_GUARD:  # type: ignore[attr-defined]
            keys.append("…", style="dim")
        else:
            if status.can_end_break:
                keys.append("e", style="bold cyan")
                keys.append(" end this break (it won't count as one taken)   ")
            elif status.can_postpone:
                keys.append("p", style="bold cyan")
                keys.append(" postpone 2 minutes   ")
            elif status.postpone_refusal and self.kind != "capped":
                keys.append(status.postpone_refusal + "   ", style="dim")
            if self.kind == "capped":
                keys.append("escape", style="bold cyan")
                keys.append(" back to exposure-free work   ")
            keys.append("q", style="bold cyan")
            keys.append(" quit")
        self.query_one("#break-keys", Static).update(keys)

    def _guarded(self) -> bool:
        """True once keys may act: the policy allows it and the screen has been up long enough."""
        now = self.app.clock()  # type: ignore[attr-defined]
        status = self.app.wellbeing_tick()  # type: ignore[attr-defined]
        return bool(now - self.opened_at >= KEY_GUARD and status.accepts_keys)

    async def on_key(self, event: events.Key) -> None:
        # Nothing behind this screen may receive a key: stop everything we do not handle.
        handled = {"p", "q", "e"} | ({"escape"} if self.kind == "capped" else set())
        if event.key not in handled or not self._guarded():
            event.stop()
            event.prevent_default()
            return
        if event.key == "escape":
            event.stop()
            self.dismiss("closed")

    def action_postpone(self) -> None:
        if self._guarded():
            self.app.postpone_break()  # type: ignore[attr-defined]

    def action_end_break(self) -> None:
        if self._guarded() and self.kind != "capped":
            self.app.end_break()  # type: ignore[attr-defined]

    def action_quit_app(self) -> None:
        if self._guarded():
            self.app.exit()
