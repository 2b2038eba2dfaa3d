"""The coder's own history over a real project file: what is logged, the 14 days, deletion."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from tui.core.project.store import Store
from tui.core.wellbeing import storage as ws
from tui.core.wellbeing.policy import Wellbeing
from tui.core.wellbeing.settings import WellbeingSettings

TZ = timezone(timedelta(hours=8))
DAY1 = datetime(2025, 3, 10, 9, 0, tzinfo=TZ).timestamp()
DAY2 = datetime(2025, 3, 12, 9, 0, tzinfo=TZ).timestamp()


def work_a_day(store: Store, coder: str, start: float) -> Wellbeing:
    """A morning's session: a check-in, 30 min at 2.0 and 20 at 1.0, two breaks, one postponed."""
    wb = ws.load(store, coder, WellbeingSettings(), TZ)
    wb.session_started(start)
    wb.checkin(start + 1, 2)
    wb.focus(start, True)
    wb.post_shown(start, "severe", 2.0, False)
    t = start
    postponed = False
    while True:
        t += 1
        st = wb.tick(t)
        if st.mode == "break" and not postponed and wb.accepts_keys(t):
            assert wb.postpone(t)
            postponed = True
        if st.raw_today >= 30 - 1e-9 and st.mode == "working":
            break
        if t % 15 == 0:
            ws.save(store, coder, wb)
    wb.post_shown(t, "mild", 1.0, False)
    while wb.tick(t).raw_today < 50 - 1e-9:
        t += 1
    wb.checkin(t, 5, moment="session_end")
    wb.session_ended(t)
    ws.save(store, coder, wb)
    return wb


def test_history_summarises_each_day(tmp_path: Path) -> None:
    store = Store(tmp_path / "p.db")
    work_a_day(store, "ana", DAY1)
    work_a_day(store, "ana", DAY2)
    work_a_day(store, "ben", DAY2)
    days = ws.history(store, "ana", today="2025-03-12")
    assert len(days) == 14 and days[-1].day == "2025-03-12" and days[0].day == "2025-02-27"
    d = days[-1]
    assert d.raw_minutes == pytest.approx(50, abs=1e-6)
    assert d.weighted_minutes == pytest.approx(80, abs=1e-6)
    assert d.severe_minutes == pytest.approx(30, abs=1e-6)
    # 25 weighted → postponed short break; 50 → short; 75 → short (the 1.0 post is 20 weighted).
    assert (d.breaks_taken, d.postponements, d.checkins, d.capped) == (3, 1, [2, 5], False)
    assert days[-2].raw_minutes == 0 and days[-3].raw_minutes == pytest.approx(50, abs=1e-6)
    assert ws.history(store, "ana", days=1, today=date(2025, 3, 10))[0].checkins == [2, 5]
    assert ws.history(store, "ana", days=0, today="2025-03-10") == []
    store.close()


def test_time_away_and_caps_are_in_the_history(tmp_path: Path) -> None:
    store = Store(tmp_path / "p.db")
    wb = ws.load(store, "ana", WellbeingSettings(daily_cap_minutes=25), TZ)
    wb.session_started(DAY1)
    wb.focus(DAY1, True)
    wb.post_shown(DAY1, "p", 1.0, False)
    t = DAY1
    while wb.tick(t).mode == "working":
        t += 1
    ws.save(store, "ana", wb)
    d = ws.history(store, "ana", days=1, today="2025-03-10")[0]
    assert d.capped and d.weighted_minutes == pytest.approx(25)
    store.close()


def test_delete_history_removes_only_that_coders_log(tmp_path: Path) -> None:
    store = Store(tmp_path / "p.db")
    work_a_day(store, "ana", DAY1)
    work_a_day(store, "ben", DAY1)
    n_ana = store.db.conn.execute("SELECT count(*) FROM wb_log WHERE coder = 'ana'").fetchone()[0]
    assert n_ana > 0
    assert ws.delete_history(store, "ana") == n_ana
    assert all(d.raw_minutes == 0 and not d.checkins for d in ws.history(store, "ana", today="2025-03-10"))
    assert ws.history(store, "ben", today="2025-03-10")[-1].checkins == [2, 5]
    assert ws.load(store, "ana", tz=TZ).s.ratings_today == []
    assert ws.load(store, "ben", tz=TZ).s.ratings_today == [2, 5]
    assert ws.delete_history(store, "ana") == 0
    store.close()


def test_delete_history_keeps_a_running_break(tmp_path: Path) -> None:
    store = Store(tmp_path / "p.db")
    wb = ws.load(store, "ana", WellbeingSettings(), TZ)
    wb.session_started(DAY1)
    wb.checkin(DAY1, 8)
    wb.focus(DAY1, True)
    wb.post_shown(DAY1, "p", 1.0, False)
    t = DAY1
    while wb.tick(t).mode == "working":
        t += 1
    ws.save(store, "ana", wb)
    ws.delete_history(store, "ana")
    again = ws.load(store, "ana", WellbeingSettings(), TZ)
    again.session_started(t + 60)
    st = again.tick(t + 60)
    assert st.mode == "break" and st.seconds_left == pytest.approx(240)
    assert not st.stop_suggested and again.s.ratings_today == []
    store.close()


def test_saving_writes_each_log_row_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "p.db")
    wb = ws.load(store, "ana", WellbeingSettings(), TZ)
    wb.session_started(DAY1)
    wb.focus(DAY1, True)
    wb.post_shown(DAY1, "p", 1.5, False)
    for i in range(1, 601):
        wb.tick(DAY1 + i)
        if i % 60 == 0:
            ws.save(store, "ana", wb)
    assert ws.save(store, "ana", wb) == 0
    rows = store.db.conn.execute("SELECT minutes, weighted, value, at FROM wb_log WHERE kind = 'exposure'").fetchall()
    assert len(rows) == 10 and sum(r[0] for r in rows) == pytest.approx(10)
    assert sum(r[1] for r in rows) == pytest.approx(15) and {r[2] for r in rows} == {1.5}
    assert rows[0][3] == "2025-03-10T01:00:00.000Z"  # stored as UTC
    store.close()


def test_a_reached_limit_holds_for_the_day_whatever_the_config_says(tmp_path: Path) -> None:
    """Reach the cap, quit, raise the cap (and soften strictness) in the config, reopen: still capped."""
    store = Store(tmp_path / "p.db")
    tight = WellbeingSettings(short_break_after_minutes=30, long_break_after_minutes=90, daily_cap_minutes=30)
    wb = ws.load(store, "ana", tight, TZ)
    wb.session_started(DAY1)
    wb.skip_checkin(DAY1)
    wb.focus(DAY1, True)
    wb.post_shown(DAY1, "p", 1.0, False)
    t = DAY1
    while wb.tick(t).mode != "capped" and t < DAY1 + 3 * 3600:
        t += 1  # through the break that falls due with the cap
    assert wb.tick(t).mode == "capped"
    wb.session_ended(t + 5)
    ws.save(store, "ana", wb)
    for loose in (WellbeingSettings(daily_cap_minutes=300), WellbeingSettings(daily_cap_minutes=300,
                                                                             strictness="gentle")):
        again = ws.load(store, "ana", loose, TZ)
        again.session_started(t + 600)
        again.post_shown(t + 600, "p", 1.0, False)
        st = again.tick(t + 601)
        assert (st.mode, st.text_allowed, st.daily_cap_minutes, st.strictness) == ("capped", False, 30, "firm")
    # The next working day the new settings apply.
    nxt = again.tick(DAY1 + 24 * 3600)
    assert (nxt.mode, nxt.text_allowed, nxt.daily_cap_minutes, nxt.strictness) == ("working", True, 300, "gentle")


def test_log_rows_of_a_failed_save_are_written_by_the_next(tmp_path: Path) -> None:
    store = Store(tmp_path / "p.db")
    wb = ws.load(store, "ana", WellbeingSettings(), TZ)
    wb.session_started(DAY1)
    wb.checkin(DAY1 + 1, 3)
    store.db.conn.execute("ALTER TABLE wb_log RENAME TO wb_log_away")  # the write fails part-way
    with pytest.raises(Exception, match="wb_log"):
        ws.save(store, "ana", wb)
    store.db.conn.execute("ALTER TABLE wb_log_away RENAME TO wb_log")
    assert ws.save(store, "ana", wb) >= 1
    assert store.db.conn.execute("SELECT count(*) FROM wb_log WHERE kind = 'checkin'").fetchone()[0] == 1
    store.close()
