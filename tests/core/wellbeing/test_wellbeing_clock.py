"""The exposure clock: intervals, weights, presence, masking, caps, the working day, clock jumps, time away."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from tests.wellbeing_sim import T0, TZ, machine, run
from tui.core.wellbeing.policy import Status, Wellbeing, day_of, needs_milder, next_post, post_weight


def reading(wb: Wellbeing, t: float, weight: float = 1.0, post: str = "p1", focus: bool | None = True) -> None:
    """Open a session and show one post, unmasked."""
    wb.session_started(t)
    wb.skip_checkin(t)
    if focus is not None:
        wb.focus(t, focus)
    wb.post_shown(t, post, weight, False)


def not_working(st: Status) -> bool:
    return st.mode != "working"


# ------------------------------------------------------------ intervals and weights


def test_short_break_after_25_weighted_minutes() -> None:
    wb = machine()
    reading(wb, T0)
    _, st = run(wb, T0, 25 * 60 - 1)
    assert st.mode == "working" and st.text_allowed and st.exposing
    assert st.next_break_in == pytest.approx(1 / 60)
    t, st = run(wb, T0 + 25 * 60 - 1, 5, stop=not_working)
    assert t == T0 + 25 * 60
    assert (st.mode, st.break_kind, st.text_allowed) == ("break", "short", False)
    assert st.seconds_left == pytest.approx(300)
    assert st.weighted_today == pytest.approx(25)


def test_break_starts_at_the_exact_crossing_even_between_ticks() -> None:
    wb = machine()
    reading(wb, T0)
    run(wb, T0, 25 * 60 - 10)
    st = wb.tick(T0 + 25 * 60 + 30)  # a late tick
    assert st.mode == "break"
    assert st.break_ends_at == pytest.approx(T0 + 30 * 60)
    assert st.weighted_today == pytest.approx(25)  # the 30 s after the crossing were not exposure


def test_three_short_breaks_then_a_long_one_at_90() -> None:
    wb = machine()
    reading(wb, T0)
    t, kinds = T0, []
    while len(kinds) < 4:
        t, st = run(wb, t, 4 * 3600, stop=not_working)
        kinds.append((st.break_kind, round(st.weighted_today, 6)))
        t, st = run(wb, t, 3600, stop=lambda s: s.mode == "working")
    assert kinds == [("short", 25), ("short", 50), ("short", 75), ("long", 90)]
    assert st.next_break_in == pytest.approx(25)


@pytest.mark.parametrize(("weight", "seconds"), [(2.0, 750), (1.5, 1000), (1.0, 1500)])
def test_severity_weight_brings_the_break_forward(weight: float, seconds: int) -> None:
    wb = machine()
    reading(wb, T0, weight)
    t, st = run(wb, T0, 3600, stop=not_working)
    assert t == T0 + seconds
    assert st.weighted_today == pytest.approx(25)
    assert st.raw_today == pytest.approx(seconds / 60)


def test_post_weight_is_the_highest_of_codes_and_prelabels() -> None:
    sev = {"a": 1.0, "b": 1.5, "c": 2.0, "low": 0.5}.__getitem__
    assert post_weight(["a"], ["c"], sev) == 2.0
    assert post_weight(["b", "a"], [], sev) == 1.5
    assert post_weight([], [], sev) == 1.0
    assert post_weight(["low"], [], sev) == 1.0


def test_a_bad_weight_is_refused() -> None:
    wb = machine()
    with pytest.raises(ValueError, match="positive number"):
        wb.post_shown(T0, "p", 0, False)


# ------------------------------------------------------------ presence and masking


def test_focus_loss_stops_the_clock_and_focus_gain_restarts_it() -> None:
    wb = machine()
    reading(wb, T0)
    run(wb, T0, 600)
    wb.focus(T0 + 600, False)
    _, st = run(wb, T0 + 600, 200)
    assert st.raw_today == pytest.approx(10)
    assert not st.exposing and not st.present
    wb.focus(T0 + 800, True)
    _, st = run(wb, T0 + 800, 60)
    assert st.raw_today == pytest.approx(11)


def test_without_focus_reporting_input_keeps_the_clock_for_90_seconds() -> None:
    wb = machine()
    reading(wb, T0, focus=None)  # the terminal never reports focus
    _, st = run(wb, T0, 600)
    assert st.raw_today == pytest.approx(1.5)  # 90 s after the last input (session start)
    wb.input(T0 + 600)
    _, st = run(wb, T0 + 600, 60)
    assert st.raw_today == pytest.approx(2.5)
    # Reading steadily with a key every 60 s: the break comes at 25 minutes of reading.
    t = T0 + 660
    while True:
        wb.input(t)
        t, st = run(wb, t, 60, stop=not_working)
        if st.mode != "working":
            break
    # The 8.5 minutes without a key at the start counted as a short break, so the interval restarted.
    assert st.break_kind == "short" and st.raw_today == pytest.approx(26.5)
    assert t == pytest.approx(T0 + 660 + 24 * 60)


def test_masked_text_does_not_count() -> None:
    wb = machine()
    wb.session_started(T0)
    wb.focus(T0, True)
    wb.post_shown(T0, "p1", 2.0, True)
    _, st = run(wb, T0, 1800)
    assert st.raw_today == 0 and not st.exposing and st.mode == "working"
    wb.mask_changed(T0 + 1800, False)
    _, st = run(wb, T0 + 1800, 60)
    assert st.raw_today == pytest.approx(1) and st.weighted_today == pytest.approx(2)


def test_no_post_shown_counts_nothing() -> None:
    wb = machine()
    wb.session_started(T0)
    wb.focus(T0, True)
    _, st = run(wb, T0, 3600, step=10)
    assert st.weighted_today == 0
    wb.post_shown(T0 + 3600, "p", 1.0, False)
    wb.post_left(T0 + 3660)
    _, st = run(wb, T0 + 3660, 600, step=10)
    assert st.raw_today == pytest.approx(1)


# ------------------------------------------------------------ caps and the working day


def take_breaks_until(wb: Wellbeing, t: float, seconds: float, step: float = 5.0,
                      stop: Callable[[Status], bool] | None = None) -> tuple[float, Status, list[Status]]:
    """Read for `seconds`, sitting out every break; returns time, status and every status seen."""
    end, seen = t + seconds, []
    st = wb.tick(t)
    while t < end:
        t = min(end, t + step)
        st = wb.tick(t)
        seen.append(st)
        if stop and stop(st):
            break
    return t, st, seen


def test_daily_cap_with_warning_at_80_percent() -> None:
    wb = machine()
    reading(wb, T0)
    t, st, seen = take_breaks_until(wb, T0, 10 * 3600, stop=lambda s: s.capped)
    warned = [s.weighted_today for s in seen if s.warn_cap]
    assert min(warned) == pytest.approx(192, abs=0.1)
    assert not any(s.warn_cap for s in seen if s.weighted_today < 191.9)
    assert st.capped and st.mode == "capped" and not st.text_allowed and not st.warn_cap
    assert st.weighted_today == pytest.approx(240)
    assert "240 weighted minutes" in st.cap_reason
    assert not wb.accepts_keys(t) and wb.accepts_keys(t + 2)
    _, st, _ = take_breaks_until(wb, t, 3600)
    assert st.weighted_today == pytest.approx(240) and st.capped


def test_severe_minutes_cap_at_120_raw_minutes() -> None:
    wb = machine(daily_cap_minutes=1000)
    reading(wb, T0, weight=2.0)
    t, st, _ = take_breaks_until(wb, T0, 10 * 3600, stop=lambda s: s.capped)
    assert st.severe_today == pytest.approx(120) and st.weighted_today == pytest.approx(240)
    assert st.mode == "capped" and not st.text_allowed and st.severe_capped
    assert "severe posts" in st.cap_reason
    assert next_post([("s1", 2.0), ("m1", 1.0)], st) == "m1"
    wb.post_shown(t, "m1", 1.0, False)
    assert wb.tick(t).mode == "pause"  # leaving the severe post
    t, st = run(wb, t, 20)
    assert st.mode == "working" and st.text_allowed and not st.capped and st.severe_capped
    _, st = run(wb, t, 60)
    assert st.raw_today == pytest.approx(121)
    wb.post_shown(t + 60, "s2", 2.5, False)
    st = wb.tick(t + 60)
    assert st.mode == "capped" and not st.text_allowed


def test_day_rolls_over_at_the_configured_hour() -> None:
    late = datetime(2025, 3, 11, 2, 0, tzinfo=TZ).timestamp()  # 02:00, still 10 March's working day
    four = datetime(2025, 3, 11, 4, 0, tzinfo=TZ).timestamp()
    wb = machine(short_break_after_minutes=100, long_break_after_minutes=100, daily_cap_minutes=100)
    reading(wb, late)
    t, st = run(wb, late, 3 * 3600, step=5, stop=lambda s: s.capped)
    assert st.day == "2025-03-10" and t == late + 100 * 60 and not st.text_allowed
    st = wb.tick(four - 1)
    assert st.capped and st.day == "2025-03-10"
    st = wb.tick(four)
    assert not st.capped and st.text_allowed and st.day == "2025-03-11" and st.weighted_today == 0


def test_day_start_hour_is_configurable() -> None:
    wb = machine(day_start_hour=6)
    six = datetime(2025, 3, 11, 6, 0, tzinfo=TZ).timestamp()
    assert day_of(six - 1, 6, TZ) == "2025-03-10" and day_of(six, 6, TZ) == "2025-03-11"
    assert day_of(six - 2 * 3600, 4, TZ) == "2025-03-11"
    reading(wb, six - 600)
    run(wb, six - 600, 1200)
    days = {e.day: round(e.minutes, 6) for e in wb.drain_log() if e.kind == "exposure"}
    assert days == {"2025-03-10": 10, "2025-03-11": 10}  # exposure split at the boundary


# ------------------------------------------------------------ clock jumps and time away


def test_clock_going_back_grants_nothing_and_ends_no_break() -> None:
    wb = machine()
    reading(wb, T0)
    run(wb, T0, 600)
    st = wb.tick(T0 - 3000)
    assert st.raw_today == pytest.approx(10)
    _, st = run(wb, T0 - 3000, 60)
    assert st.raw_today == pytest.approx(11)  # real elapsed time only

    wb2 = machine()
    reading(wb2, T0)
    start, st = run(wb2, T0, 3600, stop=not_working)
    ends = st.break_ends_at
    wb2.tick(start + 100)
    st = wb2.tick(start - 500)
    assert st.mode == "break" and st.break_ends_at == ends and st.seconds_left == pytest.approx(800)
    assert wb2.tick(ends - 1).mode == "break"
    assert wb2.tick(ends).mode == "working"


def test_forward_jump_counts_at_most_one_presence_window_then_time_away() -> None:
    wb = machine()
    reading(wb, T0)
    run(wb, T0, 20 * 60)
    st = wb.tick(T0 + 20 * 60 + 2 * 3600)  # laptop suspended with the post open and focus "on"
    assert st.raw_today == pytest.approx(21.5)
    assert st.next_break_in == pytest.approx(25)  # two hours away count as a (long) break
    assert st.mode == "working"

    wb2 = machine()
    reading(wb2, T0, focus=None)
    wb2.input(T0 + 30)
    st = wb2.tick(T0 + 3600)
    assert st.raw_today == pytest.approx(2)  # until 90 s after the last key


def test_app_closed_during_a_break_for_longer_than_it_counts_as_taken() -> None:
    wb = machine()
    reading(wb, T0)
    t, st = run(wb, T0, 3600, stop=not_working)
    wb.session_ended(t + 5)
    wb2 = Wellbeing.from_json(wb.to_json(), wb.settings, TZ)
    wb2.session_started(t + 600)
    st = wb2.tick(t + 600)
    assert st.mode == "working" and st.next_break_in == pytest.approx(25)
    breaks = [e.detail for e in wb.drain_log() + wb2.drain_log() if e.kind == "break"]
    assert breaks == [{"kind": "short", "how": "break"}]


def test_time_away_before_a_break_is_due_resets_the_interval() -> None:
    wb = machine()
    reading(wb, T0)
    run(wb, T0, 20 * 60)
    wb.focus(T0 + 20 * 60, False)
    st = wb.tick(T0 + 24 * 60)
    assert st.next_break_in == pytest.approx(5)  # 4 minutes away is not a break
    st = wb.tick(T0 + 25 * 60)
    assert st.next_break_in == pytest.approx(25)
    wb.focus(T0 + 26 * 60, True)
    assert [e.detail for e in wb.drain_log() if e.kind == "break"] == [{"kind": "short", "how": "away"}]


def test_twenty_minutes_away_covers_a_long_break() -> None:
    wb = machine()
    reading(wb, T0)
    t = T0
    for _ in range(3):  # 75 weighted minutes with three short breaks
        t, _ = run(wb, t, 3600, step=5, stop=not_working)
        t, _ = run(wb, t, 3600, step=5, stop=lambda s: s.mode == "working")
    t, st = run(wb, t, 13 * 60, step=5)
    assert st.next_break_in == pytest.approx(2) and st.next_break_kind == "long"
    wb.session_ended(t)
    wb.session_started(t + 20 * 60)
    wb.post_shown(t + 20 * 60, "p2", 1.0, False)
    st = wb.tick(t + 20 * 60)
    assert st.mode == "working" and st.next_break_in == pytest.approx(25)
    assert st.weighted_today == pytest.approx(88)


def test_gentle_reminder_is_cleared_by_time_away() -> None:
    wb = machine(strictness="gentle")
    reading(wb, T0)
    _, st = run(wb, T0, 26 * 60)
    assert st.break_due and st.break_kind == "short" and st.text_allowed
    wb.session_ended(T0 + 26 * 60)
    wb.session_started(T0 + 36 * 60)
    st = wb.tick(T0 + 36 * 60)
    assert not st.break_due and st.next_break_in == pytest.approx(25)


# ------------------------------------------------------------ pauses and rotation


def test_pause_after_leaving_a_severe_post() -> None:
    wb = machine()
    reading(wb, T0, weight=2.0)
    run(wb, T0, 60)
    wb.post_left(T0 + 60)
    st = wb.tick(T0 + 60)
    assert (st.mode, st.break_kind, st.text_allowed, st.can_postpone) == ("pause", "pause", False, False)
    wb.post_shown(T0 + 61, "p2", 1.0, False)
    assert wb.tick(T0 + 79.9).mode == "pause"
    st = wb.tick(T0 + 80)
    assert st.mode == "working" and st.raw_today == pytest.approx(1)
    wb.post_shown(T0 + 90, "p3", 2.0, False)  # showing the next post also leaves p2 (mild: no pause)
    assert wb.tick(T0 + 90).mode == "working"


@pytest.mark.parametrize(("weight", "masked", "strictness"), [(1.5, False, "firm"), (2.0, True, "firm"),
                                                              (2.0, False, "gentle")])
def test_no_pause_for_mild_unread_or_gentle(weight: float, masked: bool, strictness: str) -> None:
    wb = machine(strictness=strictness)
    wb.session_started(T0)
    wb.focus(T0, True)
    wb.post_shown(T0, "p", weight, masked)
    run(wb, T0, 60)
    wb.post_left(T0 + 60)
    assert wb.tick(T0 + 61).mode == "working"


def test_rotation_after_three_severe_posts_in_a_row() -> None:
    wb = machine()
    wb.session_started(T0)
    t = T0
    for i, w in enumerate([2.0, 2.0, 1.0, 2.0, 2.0]):
        wb.post_shown(t, f"p{i}", w, True)
        t += 1
    assert not needs_milder(wb.tick(t))
    wb.post_shown(t, "p4", 2.0, True)  # the same post again is not another one
    assert not needs_milder(wb)
    wb.post_shown(t, "p5", 3.0, True)
    st = wb.tick(t)
    assert needs_milder(st) and st.needs_milder and needs_milder(wb)
    assert next_post([("a", 2.0), ("b", 2.5), ("c", 1.5), ("d", 1.0)], st) == "c"
    assert next_post([("a", 2.0), ("b", 2.5)], st) == "a"
    assert next_post([], st) is None
    wb.post_shown(t, "p6", 1.0, True)
    st = wb.tick(t)
    assert not needs_milder(st)
    assert next_post([("a", 2.0), ("c", 1.5)], st) == "a"


def test_clock_going_back_across_the_day_start_does_not_reopen_the_old_day() -> None:
    four = datetime(2025, 3, 11, 4, 0, tzinfo=TZ).timestamp()
    wb = machine(short_break_after_minutes=100, long_break_after_minutes=100, daily_cap_minutes=100)
    reading(wb, four - 600)
    run(wb, four - 600, 1200)
    st = wb.tick(four - 3600)  # back into 10 March
    assert st.day == "2025-03-11" and st.raw_today == pytest.approx(10)
    _, st = run(wb, four - 3600, 600)
    assert st.day == "2025-03-11" and st.raw_today == pytest.approx(20)


def test_focus_lost_just_after_a_key_stops_the_clock_at_once() -> None:
    wb = machine()
    reading(wb, T0)
    run(wb, T0, 100)
    wb.input(T0 + 100)
    wb.focus(T0 + 101, False)
    _, st = run(wb, T0 + 101, 60)
    assert st.raw_today == pytest.approx(101 / 60)
    wb.input(T0 + 161)  # a key press proves presence even if the terminal missed the focus-in
    _, st = run(wb, T0 + 161, 60)
    assert st.raw_today == pytest.approx(161 / 60) and st.present


def test_reading_on_after_a_short_gap_is_not_time_away() -> None:
    wb = machine()
    reading(wb, T0)
    t, _ = run(wb, T0, 10 * 60)
    # The app did not tick for 7 minutes, focus still on: 90 s count as reading, 330 s as a short break.
    st = wb.tick(t + 7 * 60)
    assert st.raw_today == pytest.approx(11.5) and st.next_break_in == pytest.approx(25)
    t, st = run(wb, t + 7 * 60, 3600, stop=not_working)
    # The break comes 25 minutes after the gap: reading on is presence, not more time away.
    assert st.break_kind == "short" and t == T0 + 17 * 60 + 25 * 60
    assert [e.detail for e in wb.drain_log() if e.kind == "break"] == [{"kind": "short", "how": "away"}]
