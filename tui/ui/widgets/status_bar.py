"""The status bar: coder, progress, position, mode, time coded today, well-being state."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from tui.core.safe import clean


@dataclass(frozen=True)
class Progress:
    """How far the coder is, in the current mode's terms: `done / of` posts `verb` (screened, coded)."""

    done: int
    of: int
    verb: str


def render_status(coder: str, progress: Progress, position: int, total: int, mode: str, seconds_today: float,
                  wellbeing: str = "", wellbeing_short: str = "", width: int = 0) -> Text:
    """One line of status, built from plain Text so a coder's name can never be markup.

    The well-being figures come last on the line but are never cut: when the line is too narrow,
    the other parts shorten or drop first, then the well-being note takes its short form.
    """
    minutes = int(seconds_today // 60)
    today = f"{minutes // 60}h{minutes % 60:02d}"
    name = clean(coder, oneline=True)
    verbose = [f"{progress.done} / {progress.of} {progress.verb}", f"post {position} of {total}", mode.upper(),
               f"{today} today"]
    brief = [f"{progress.done}/{progress.of} {progress.verb}", f"{position}/{total}", mode.upper(), f"{today} today"]
    wb_short = wellbeing_short or wellbeing
    # From the fullest line to the barest: time coded today goes first, then the position, then
    # the words; the well-being note only ever takes its short form.
    candidates = [(name, verbose, "  ·  ", wellbeing), (name, verbose, " · ", wellbeing),
                  (name, brief, " · ", wellbeing), (name, brief, " · ", wb_short),
                  (name, brief[:3], " · ", wb_short), (name, [brief[0], brief[2]], " · ", wb_short),
                  (name[:10], [f"{progress.done}/{progress.of}", mode[:4].upper()], " ", wb_short),
                  (name[:6], [f"{progress.done}/{progress.of}"], " ", wb_short),
                  ("", [], "", wb_short)]
    for who, parts, sep, wb in candidates:
        out = _line(who, parts, sep, wb, mode)
        if not width or out.cell_len <= width:
            return out
    return out


def _line(who: str, parts: list[str], sep: str, wellbeing: str, mode: str) -> Text:
    out = Text()
    if who:
        out.append(f" {who} ", style="bold reverse")
    for i, part in enumerate(parts):
        out.append(sep if i else "  ")
        if part == mode.upper() or part == mode[:4].upper():
            out.append(part, style="bold green" if mode == "coding" else "bold yellow")
        else:
            out.append(part, style="bold" if i == 0 else "")
    if wellbeing:
        out.append(sep if parts else " ")
        out.append(wellbeing, style="cyan")
    return out


def short_prelabel(status: str) -> str:
    """`pre-labelling 12/200` as `P 12/200`, for a narrow status line."""
    if not status:
        return ""
    return "P " + status.removeprefix("pre-labelling").strip(" :").replace("loading the model", "loading")


class StatusBar(Static):
    """The one-line status at the top of the coding screen."""
