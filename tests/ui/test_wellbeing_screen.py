"""The well-being screen with Pilot: the coder's own 14 days, today against the cap, deleting the history."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from pathlib import Path

from textual.app import App
from textual.widgets import DataTable
from textual_plotext import PlotextPlot

from tests.ui.conftest import screen_text
from tui.core.project.store import Store
from tui.core.wellbeing import storage as ws
from tui.core.wellbeing.policy import Wellbeing, day_of
from tui.core.wellbeing.settings import WellbeingSettings
from tui.ui.screens.wellbeing import ConfirmScreen, WellbeingScreen

SMALL, BIG = (80, 24), (120, 40)
HOSTILE_NAMES = ["[@click=app.quit]x", "[B]", "[$accent]x", "\x1b[31mred\x1b[0m"]


class Host(App[None]):
    """Just the well-being screen, on a store the test opened."""

    def __init__(self, store: Store, coder: str, **kw: object) -> None:
        super().__init__()
        self.store, self.coder, self.kw = store, coder, kw
        self.deleted: list[tuple[str, int]] = []

    def on_mount(self) -> None:
        self.push_screen(WellbeingScreen(self.store, self.coder, **self.kw))  # type: ignore[arg-type]

    def on_wellbeing_screen_history_deleted(self, message: WellbeingScreen.HistoryDeleted) -> None:
        self.deleted.append((message.coder, message.rows))


def log(store: Store, coder: str, day: str, kind: str, minutes: float = 0, weighted: float = 0,
        value: float | None = None) -> None:
    """One wb_log row, as `wellbeing_store.save` writes it."""
    with store.db.conn:
        store.db.conn.execute(
            "INSERT INTO wb_log (coder, kind, at, day, minutes, weighted, value, detail)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, '{}')", (coder, kind, day + "T09:00:00.000Z", day, minutes, weighted, value))


def a_week(store: Store, coder: str, today: str) -> None:
    """Today: 30 min at 2.0 plus 20 at 1.0, 2 breaks, a postponement, check-ins 2 and 5; 3 days ago: 12 min."""
    log(store, coder, today, "exposure", 30, 60, 2.0)
    log(store, coder, today, "exposure", 20, 20, 1.0)
    log(store, coder, today, "break")
    log(store, coder, today, "break")
    log(store, coder, today, "postpone")
    log(store, coder, today, "checkin", value=2)
    log(store, coder, today, "checkin", value=5)
    earlier = (date.fromisoformat(today) - timedelta(days=3)).isoformat()
    log(store, coder, earlier, "exposure", 12, 18, 1.5)


def rows(store: Store, coder: str) -> int:
    return store.db.conn.execute("SELECT count(*) FROM wb_log WHERE coder = ?", (coder,)).fetchone()[0]


async def test_fourteen_days_today_against_the_cap_and_whose_data_it_is(project: Path) -> None:
    store = Store(project)
    today = day_of(time.time(), 4)
    a_week(store, "alice", today)
    log(store, "bob", today, "exposure", 100, 200, 2.0)  # someone else's day is not shown
    app = Host(store, "alice")
    async with app.run_test(size=BIG, notifications=True) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, WellbeingScreen)
        text = screen_text(app)
        assert "Your well-being, last 14 days" in text and "alice" in text
        assert "your own data" in text and "never exported or merged" in text
        assert f"Today ({today}): 80 of 240 weighted minutes" in text
        assert "50 minutes reading · 30 of 120 on severe posts · 2 breaks · 1 postponed" in text
        assert "check-ins 2, 5" in text
        table = app.screen.query_one(DataTable)
        assert table.row_count == 14
        first = [str(c) for c in table.get_row_at(0)]
        assert first[0].endswith("today") and first[1:] == ["80", "50", "30", "2", "1", "2, 5"]
        three_ago = [str(c) for c in table.get_row_at(3)]
        assert three_ago[1:4] == ["18", "12", "0"]
        assert app.screen.query_one(PlotextPlot).display
    store.close()


async def test_it_fits_a_small_terminal_and_says_when_there_is_nothing(project: Path) -> None:
    store = Store(project)
    app = Host(store, "alice")
    async with app.run_test(size=SMALL, notifications=True) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "No reading time recorded in these 14 days." in text
        assert "0 of 240 weighted minutes" in text
        assert "Delete my history" in text  # the footer is on screen at 80×24
        assert not app.screen.query_one(PlotextPlot).display
    store.close()


async def test_the_team_ceiling_is_the_cap_shown(project: Path) -> None:
    store = Store(project)
    ws.set_team_ceilings(store, {"daily_cap_minutes": 100})
    today = day_of(time.time(), 4)
    log(store, "alice", today, "exposure", 45, 90, 2.0)
    app = Host(store, "alice")
    async with app.run_test(size=BIG, notifications=True) as pilot:
        await pilot.pause()
        assert "90 of 100 weighted minutes" in screen_text(app)
    store.close()


async def test_delete_asks_first_then_deletes_only_this_coders_history(project: Path) -> None:
    store = Store(project)
    today = day_of(time.time(), 4)
    a_week(store, "alice", today)
    a_week(store, "bob", today)
    app = Host(store, "alice")
    async with app.run_test(size=SMALL, notifications=True) as pilot:
        await pilot.pause()
        await pilot.press("D")
        assert isinstance(app.screen, ConfirmScreen)
        assert "Delete your whole well-being history?" in screen_text(app)
        await pilot.press("n")  # changed their mind: nothing happens
        assert isinstance(app.screen, WellbeingScreen)
        assert rows(store, "alice") == 8 and app.deleted == []
        await pilot.press("D")
        await pilot.press("escape")
        assert rows(store, "alice") == 8
        await pilot.press("D", "y")
        await pilot.pause()
        assert isinstance(app.screen, WellbeingScreen)
        assert rows(store, "alice") == 0 and rows(store, "bob") == 8
        assert app.deleted == [("alice", 8)]
        text = screen_text(app)
        assert "No reading time recorded" in text and "check-ins" not in text
    other = Store(project)  # the deletion is committed, not just shown
    assert rows(other, "alice") == 0
    other.close()
    store.close()


async def test_today_keeps_the_running_minutes_after_a_deletion(project: Path) -> None:
    store = Store(project)
    start = datetime(2025, 3, 12, 9, 0).timestamp()  # local time, like the screen
    wb = Wellbeing(WellbeingSettings())
    wb.session_started(start)
    wb.focus(start, True)
    wb.post_shown(start, "p", 2.0, False)
    for t in range(1, 601):  # ten minutes on a severe post, ticked as the app does: twenty weighted
        wb.tick(start + t)
    wb.checkin(start + 600, 6)
    ws.save(store, "alice", wb)
    app = Host(store, "alice", today="2025-03-12")
    async with app.run_test(size=BIG, notifications=True) as pilot:
        await pilot.pause()
        assert "20 of 240 weighted minutes" in screen_text(app)
        await pilot.press("D", "y")
        await pilot.pause()
        text = screen_text(app)
        # The log is gone, but the minutes that keep a break honest still count towards the cap.
        assert rows(store, "alice") == 0 and "20 of 240 weighted minutes" in text and "check-ins 6" not in text
    assert ws.load(store, "alice").s.ratings_today == []
    store.close()


async def test_escape_and_q_close(project: Path) -> None:
    store = Store(project)
    for key in ("escape", "q"):
        app = Host(store, "alice")
        async with app.run_test(size=SMALL, notifications=True) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, WellbeingScreen)
            await pilot.press(key)
            assert not isinstance(app.screen, WellbeingScreen)
    store.close()


async def test_hostile_coder_names_show_literally(project: Path) -> None:
    store = Store(project)
    today = day_of(time.time(), 4)
    for name in HOSTILE_NAMES:
        a_week(store, name, today)
        app = Host(store, name)
        async with app.run_test(size=BIG, notifications=True) as pilot:
            await pilot.pause()
            text = screen_text(app)
            shown = name.replace("\x1b[31m", "").replace("\x1b[0m", "")
            assert f"coder {shown}" in text and "\x1b" not in text
            await pilot.press("D", "y")
            await pilot.pause()
            assert app.is_running and isinstance(app.screen, WellbeingScreen)
            assert rows(store, name) == 0
    store.close()
