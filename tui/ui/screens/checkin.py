"""The optional distress check-in: one key, 0–10, or skip."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

PROMPTS = {
    "session_start": "Before you start: how distressed do you feel right now?",
    "session_end": "Before you go: how distressed do you feel right now?",
    "long_break": "During this break: how distressed do you feel right now?",
}


class CheckinScreen(ModalScreen[int | None]):
    """Rate 0–9 with a digit, 10 with `t`; escape or s skips. Optional, never required."""

    def __init__(self, moment: str) -> None:
        super().__init__()
        self.moment = moment

    def compose(self) -> ComposeResult:
        with Vertical(id="checkin-box"):
            yield Static(Text(PROMPTS.get(self.moment, "How distressed do you feel?"), style="bold"))
            yield Static(Text("0 = not at all … 10 = extremely.  Press 0–9, or t for 10.  "
                              "Escape or s skips (it is optional)."))

    def on_key(self, event: events.Key) -> None:
        event.stop()
        event.prevent_default()
        if event.character and event.character.isdigit():
            self.dismiss(int(event.character))
        elif event.key == "t":
            self.dismiss(10)
        elif event.key in ("escape", "s"):
            self.dismiss(None)


class AdviceScreen(ModalScreen[None]):
    """Shown when a rating suggests stopping for the day, with the team's support contacts."""

    def __init__(self, reason: str, contacts: list[str]) -> None:
        super().__init__()
        self.reason = reason
        self.contacts = contacts

    def compose(self) -> ComposeResult:
        from tui.core.safe import clean

        body = Text()
        body.append("It may be a good moment to stop for today.\n\n", style="bold")
        body.append(clean(self.reason) + "\n\n")
        if self.contacts:
            body.append("Support your team set up:\n", style="bold")
            for c in self.contacts:
                body.append("  • " + clean(c, oneline=True) + "\n")
        else:
            body.append("Talk to your team lead or someone you trust.\n")
        body.append("\nAny key closes this. Your work is saved.", style="dim")
        with Vertical(id="checkin-box"):
            yield Static(body)

    def on_key(self, event: events.Key) -> None:
        event.stop()
        self.dismiss(None)
