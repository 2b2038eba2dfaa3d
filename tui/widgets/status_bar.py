"""The status bar: coder, progress, position, mode, time coded today, well-being state."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.core.safe import clean


def render_status(coder: str, finished: int, total: int, position: int, mode: str, seconds_today: float,
                  wellbeing: str = "") -> Text:
    """One line of status, built from plain Text so a coder's name can never be markup."""
    out = Text()
    out.append(f" {clean(coder, oneline=True)} ", style="bold reverse")
    out.append(f"  {finished} / {total} coded", style="bold")
    out.append(f"  ·  post {position} of {total}")
    out.append("  ·  ")
    out.append(mode.upper(), style="bold green" if mode == "coding" else "bold yellow")
    minutes = int(seconds_today // 60)
    out.append(f"  ·  {minutes // 60}h{minutes % 60:02d} today")
    if wellbeing:
        out.append("  ·  " + wellbeing, style="cyan")
    return out


class StatusBar(Static):
    """The one-line status at the top of the coding screen."""
