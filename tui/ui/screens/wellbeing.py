"""The coder's own well-being history: the last 14 days, today against the cap, and deleting it all."""

from __future__ import annotations

import sqlite3
import time
from datetime import date

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Static
from textual_plotext import PlotextPlot

from tui.core.project.store import Store, describe_db_error
from tui.core.safe import clean
from tui.core.wellbeing import storage as ws
from tui.core.wellbeing.policy import day_of
from tui.core.wellbeing.settings import SettingsError, WellbeingSettings

PRIVACY = ("This is your own data: it is kept under your name in this project file and is never exported or "
           "merged (unless you export it yourself with --with-wellbeing).")
COLUMNS = ("Day", "Weighted", "Raw", "Severe", "Breaks", "Postponed", "Check-ins")


def minutes(value: float) -> str:
    """Minutes as a whole number, or one decimal below ten (so a short session does not read as 0)."""
    return f"{value:.1f}" if 0 < value < 10 else f"{value:.0f}"


def meter(value: float, cap: float, width: int = 20) -> Text:
    """A bar of `width` cells filled to value / cap (red once the cap is reached)."""
    share = 0.0 if cap <= 0 else max(0.0, min(1.0, value / cap))
    filled = round(share * width)
    style = "bold red" if share >= 1 else "yellow" if share >= 0.8 else "green"
    return Text.assemble(("█" * filled, style), ("░" * (width - filled), "dim"), f" {share:.0%}")


class ConfirmScreen(ModalScreen[bool]):
    """Ask one yes/no question; `y` answers yes, `n` or escape answers no."""

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    #confirm-box { width: 70; max-width: 95%; height: auto; border: thick $error; background: $surface;
                   padding: 1 2; }
    #confirm-detail { margin: 1 0; }
    """

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes", tooltip="Yes, go ahead"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no", tooltip="No, leave everything as it is"),
    ]

    def __init__(self, question: str, detail: str = "") -> None:
        super().__init__()
        self.question = question
        self.detail = detail

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(Text(self.question, style="bold"), id="confirm-question")
            if self.detail:
                yield Static(Text(self.detail), id="confirm-detail")
            yield Static(Text("y yes · n or esc no", style="dim"))

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class WellbeingScreen(ModalScreen[None]):
    """The last 14 days of the coder's exposure, breaks and check-ins; `D` deletes the history."""

    # Kept with the screen so it lays out the same wherever it is pushed; app.tcss may override.
    # Opaque, unlike most modals: the post underneath should not be read while looking at the history.
    DEFAULT_CSS = """
    WellbeingScreen { align: center middle; background: $background; }
    #wb-box { width: 100%; max-width: 110; height: 100%; border: thick $accent; background: $surface;
              padding: 0 1; }
    #wb-privacy { color: $text-muted; }
    #wb-today { margin: 1 0 0 0; }
    #wb-scroll { height: 1fr; }
    #wb-chart { height: 10; min-height: 6; }
    #wb-table { height: auto; }
    """

    BINDINGS = [
        Binding("escape,q", "close", "Close", id="wellbeing.close", tooltip="Close the well-being history"),
        Binding("D", "delete_history", "Delete my history", id="wellbeing.delete",
                tooltip="Delete your well-being log and ratings (asks first)"),
    ]

    class HistoryDeleted(Message):
        """The coder deleted their history; an app holding the machine should call `forget_checkins()`."""

        def __init__(self, coder: str, rows: int) -> None:
            super().__init__()
            self.coder = coder
            self.rows = rows

    def __init__(self, store: Store, coder: str, *, day_start_hour: int = 4,
                 settings: WellbeingSettings | None = None, today: date | str | None = None) -> None:
        super().__init__()
        self.store = store
        self.coder = coder
        self.day_start_hour = day_start_hour
        self.settings = settings
        self.today = today
        self.days: list[ws.DaySummary] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="wb-box"):
            yield Static(id="wb-title")
            yield Static(Text(PRIVACY), id="wb-privacy")
            yield Static(id="wb-today")
            with VerticalScroll(id="wb-scroll"):
                yield Static(id="wb-empty")
                yield PlotextPlot(id="wb-chart")
                yield DataTable(id="wb-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.settings = self.settings or self._settings()
        table = self.query_one(DataTable)
        for name in COLUMNS:
            table.add_column(Text(name), key=name)
        # The table is read, not navigated: arrow keys scroll the chart and table together.
        table.can_focus = False
        self.reload()
        self.query_one("#wb-scroll").focus()

    def _settings(self) -> WellbeingSettings:
        """The coder's effective settings (their config under the team's ceilings), for the caps."""
        config = getattr(self.app, "config", None)
        for mine in (getattr(config, "wellbeing", None), None):
            try:
                return ws.settings_for(self.store, mine)[0]
            except SettingsError:
                continue  # a broken setting must not keep the coder from seeing their own history
        return WellbeingSettings()

    # ------------------------------------------------------------ rendering

    def reload(self) -> None:
        """Read the history again and redraw everything."""
        today = self.today or day_of(time.time(), self.day_start_hour)
        self.days = ws.history(self.store, self.coder, 14, today, day_start_hour=self.day_start_hour)
        title = Text("Your well-being, last 14 days", style="bold")
        title.append("  ·  coder ")
        title.append(clean(self.coder, oneline=True), style="bold reverse")
        self.query_one("#wb-title", Static).update(title)
        self.query_one("#wb-today", Static).update(self._today())
        self._chart()
        self._table()

    def _today(self) -> Text:
        """Today's totals against the daily limits (the running state counts: it is what the cap uses)."""
        assert self.settings is not None
        day = self.days[-1] if self.days else ws.DaySummary(str(self.today))
        weighted, raw, severe = day.weighted_minutes, day.raw_minutes, day.severe_minutes
        state = ws.load(self.store, self.coder, self.settings).s
        if state.day == day.day:
            weighted, raw, severe = (max(weighted, state.weighted_today), max(raw, state.raw_today),
                                     max(severe, state.severe_today))
        cap, severe_cap = self.settings.daily_cap_minutes, self.settings.daily_severe_cap_minutes
        if state.day == day.day and state.day_limits:  # a limit was reached: today's limits are frozen
            cap, severe_cap = state.day_limits["daily_cap_minutes"], state.day_limits["daily_severe_cap_minutes"]
        out = Text("Today ", style="bold")
        out.append(f"({day.day}): {minutes(weighted)} of {minutes(cap)} weighted minutes  ")
        out.append_text(meter(weighted, cap))
        out.append(f"\n  {minutes(raw)} minutes reading · {minutes(severe)} of {minutes(severe_cap)} on severe "
                   f"posts · {_count(day.breaks_taken, 'break')} · {day.postponements} postponed")
        if day.checkins:
            out.append(" · check-ins " + ", ".join(str(r) for r in day.checkins))
        if weighted >= cap or severe >= severe_cap:
            out.append("\n  A daily limit is reached: post text stays hidden until tomorrow.", style="bold red")
        return out

    def _chart(self) -> None:
        plot = self.query_one(PlotextPlot)
        empty = self.query_one("#wb-empty", Static)
        values = [round(d.weighted_minutes, 1) for d in self.days]
        has_data = any(values)
        empty.display = not has_data
        empty.update(Text("No reading time recorded in these 14 days.", style="italic") if not has_data else "")
        plot.display = has_data
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        if has_data:
            # Day of the month only: fourteen full dates do not fit under the bars at 80 columns.
            labels = [d.day[-2:] for d in self.days]
            plt.bar(labels, values, marker="hd")
            plt.title("Weighted minutes per day")
        plot.refresh()

    def _table(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        last = self.days[-1].day if self.days else ""
        for d in reversed(self.days):  # newest first: today is the row a coder looks for
            label = Text(_weekday(d.day) + " " + d.day[5:])  # the year is in the line above
            if d.day == last:
                label.append(" today", style="bold")
            if d.capped:
                label.append(" limit", style="red")
            table.add_row(
                label, Text(minutes(d.weighted_minutes), justify="right"),
                Text(minutes(d.raw_minutes), justify="right"), Text(minutes(d.severe_minutes), justify="right"),
                Text(str(d.breaks_taken), justify="right"), Text(str(d.postponements), justify="right"),
                Text(", ".join(str(r) for r in d.checkins)), key=d.day)

    # ------------------------------------------------------------ actions

    def action_close(self) -> None:
        self.dismiss(None)

    def action_delete_history(self) -> None:
        detail = ("This removes your exposure log, breaks, postponements and check-in ratings. It cannot be "
                  "undone. A running break and today's minutes stay, because they are what keeps a break "
                  "honest.")
        self.app.push_screen(ConfirmScreen("Delete your whole well-being history?", detail), self._confirmed)

    def _confirmed(self, yes: bool | None) -> None:
        if not yes:
            return
        try:
            rows = ws.delete_history(self.store, self.coder)
        except sqlite3.Error as exc:  # busy, read-only or full: nothing was deleted, and the coder is told
            message = describe_db_error(exc, self.store.path)
            if message is None:
                raise
            self.notify(f"Nothing was deleted. {message}", title="Well-being", severity="error", markup=False)
            return
        self.reload()
        self.notify(f"Deleted your well-being history ({rows} records).", title="Well-being", markup=False)
        self.post_message(self.HistoryDeleted(self.coder, rows))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _weekday(day: str) -> str:
    try:
        return date.fromisoformat(day).strftime("%a")
    except ValueError:
        return ""
