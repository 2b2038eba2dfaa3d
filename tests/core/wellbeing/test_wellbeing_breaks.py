"""Breaks: postponement per strictness, the key guard, gentle mode, voluntary breaks, restarts, settings edits."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.wellbeing_sim import T0, TZ, machine, run
from tui.core.project.store import Store
from tui.core.wellbeing import storage as ws
from tui.core.wellbeing.policy import Status, Wellbeing
from tui.core.wellbeing.settings import WellbeingSettings


def until_break(wb: Wellbeing, t: float) -> tuple[float, Status]:
    return run(wb, t, 4 * 3600, step=1, stop=lambda s: s.mode != "working")


def until_working(wb: Wellbeing, t: float) -> tuple[float, Status]:
    return run(wb, t, 3600, step=1, stop=lambda s: s.mode == "working")


def reading(**overrides: object) -> Wellbeing:
    wb = machine(**overrides)
    wb.session_started(T0)
    wb.skip_checkin(T0)
    wb.focus(T0, True)
    wb.post_shown(T0, "p1", 1.0, False)
    return wb


# ------------------------------------------------------------ firm


def test_firm_allows_one_two_minute_postponement() -> None:
    wb = reading()
    t, st = until_break(wb, T0)
    assert st.break_kind == "short" and not st.can_postpone  # key guard
    assert wb.postpone(t + 2)
    st = wb.tick(t + 2)
    assert st.mode == "working" and st.text_allowed and st.postponed_until == pytest.approx(t + 122)
    assert st.weighted_today == pytest.approx(25)
    t2, st = until_break(wb, t + 2)
    assert t2 == pytest.approx(t + 122) and st.break_kind == "short"
    assert st.seconds_left == pytest.approx(300)  # the whole break, not the rest of it
    refused = wb.postpone(t2 + 5)
    assert not refused and refused.reason == "This break was postponed once already."
    assert not wb.tick(t2 + 5).can_postpone


def test_postponement_only_in_the_first_30_percent() -> None:
    wb = reading()
    t, _ = until_break(wb, T0)
    st = wb.tick(t + 91)
    assert not st.can_postpone and "first 30%" in st.postpone_refusal
    assert not wb.postpone(t + 91)

    wb = reading()
    t, _ = until_break(wb, T0)
    assert wb.tick(t + 90).can_postpone
    assert wb.postpone(t + 90)


def test_long_break_window_scales_with_its_length() -> None:
    wb = reading(long_break_after_minutes=25, short_break_after_minutes=20)
    t, st = until_break(wb, T0)
    t, _ = until_working(wb, t)
    t, st = until_break(wb, t)
    assert st.break_kind == "long"
    assert wb.tick(t + 270).can_postpone  # 30 % of 15 minutes
    assert not wb.tick(t + 271).can_postpone


def test_at_most_two_postponements_in_a_row() -> None:
    wb = reading()
    t = T0
    for _ in range(2):
        t, _ = until_break(wb, t)
        assert wb.postpone(t + 3)
        t, _ = until_break(wb, t + 3)  # the postponed break comes back
        t, _ = until_working(wb, t)
    t, st = until_break(wb, t)
    refused = wb.postpone(t + 3)
    assert not refused and refused.reason == "You postponed the last 2 breaks in a row; take this one."
    t, _ = until_working(wb, t)  # taken without postponing: the count starts again
    t, _ = until_break(wb, t)
    assert wb.postpone(t + 3)


def test_keys_are_ignored_for_the_first_two_seconds() -> None:
    wb = reading()
    t, _ = until_break(wb, T0)
    assert not wb.accepts_keys(t) and not wb.accepts_keys(t + 1.99)
    assert not wb.tick(t + 1).accepts_keys
    refused = wb.postpone(t + 1)
    assert not refused and "first 2 seconds" in refused.reason
    assert wb.accepts_keys(t + 2) and wb.tick(t + 2).accepts_keys
    assert wb.postpone(t + 2)
    assert wb.accepts_keys(t + 2.5)  # no screen, nothing to guard


def test_a_key_guard_of_zero_accepts_keys_at_once() -> None:
    wb = reading(key_guard_seconds=0)
    t, _ = until_break(wb, T0)
    assert wb.accepts_keys(t) and wb.postpone(t)


# ------------------------------------------------------------ strict and gentle


def test_strict_never_postpones() -> None:
    wb = reading(strictness="strict")
    t, st = until_break(wb, T0)
    st = wb.tick(t + 5)
    assert not st.can_postpone and st.postpone_refusal == "In strict mode breaks can't be postponed."
    assert not wb.postpone(t + 5)
    assert wb.tick(t + 299).mode == "break"
    assert wb.tick(t + 300).mode == "working"


def test_gentle_never_hides_text() -> None:
    wb = reading(strictness="gentle")
    t, seen, kinds = T0, [], set()
    while t < T0 + 6 * 3600:
        t += 5
        st = wb.tick(t)
        seen.append(st)
        if st.break_due:
            kinds.add(st.break_kind)
    assert all(s.text_allowed and s.mode == "working" for s in seen)
    assert kinds == {"short", "long"}
    assert seen[-1].capped and seen[-1].weighted_today > 240  # the cap is only a reminder
    wb.post_left(t)  # no pause either
    wb.post_shown(t, "p2", 2.0, False)
    run(wb, t, 60)
    wb.post_left(t + 60)
    assert wb.tick(t + 61).text_allowed


def test_gentle_postpone_snoozes_the_reminder() -> None:
    wb = reading(strictness="gentle")
    _, st = run(wb, T0, 25 * 60)
    assert st.break_due and st.break_kind == "short"
    assert wb.postpone(T0 + 25 * 60)
    st = wb.tick(T0 + 25 * 60 + 1)
    assert not st.break_due and st.text_allowed
    _, st = run(wb, T0 + 25 * 60 + 1, 120)
    assert st.break_due and st.break_kind == "short"


# ------------------------------------------------------------ voluntary breaks


def test_voluntary_break_counts_only_when_complete() -> None:
    wb = reading()
    t, _ = run(wb, T0, 20 * 60)
    assert wb.start_break(t, "short")
    assert not wb.start_break(t + 1, "long")
    st = wb.tick(t + 1)
    assert st.mode == "break" and not st.text_allowed and not st.can_postpone
    assert wb.end_break(t + 60)
    st = wb.tick(t + 61)
    assert st.mode == "working" and st.next_break_in == pytest.approx(5, abs=0.02)
    t, _ = run(wb, t + 61, 60)
    assert wb.start_break(t, "short")
    _, st = run(wb, t, 300)
    assert st.mode == "working" and st.next_break_in == pytest.approx(25)


def test_an_enforced_break_cannot_be_ended() -> None:
    wb = reading()
    t, _ = until_break(wb, T0)
    assert not wb.end_break(t + 10)
    assert wb.tick(t + 10).mode == "break"
    with pytest.raises(ValueError):
        wb.start_break(t, "nap")


# ------------------------------------------------------------ restarts and settings edits


def test_restart_during_a_break_returns_to_the_same_break(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    store = Store(db)
    wb = ws.load(store, "ana", WellbeingSettings(), TZ)
    wb.session_started(T0)
    wb.focus(T0, True)
    wb.post_shown(T0, "p1", 1.0, False)
    t = T0
    while wb.tick(t).mode == "working":
        t += 1
        if int(t) % 10 == 0:
            ws.save(store, "ana", wb)
    ends = wb.tick(t).break_ends_at
    ws.save(store, "ana", wb)
    store.close()  # killed: no session_ended

    store = Store(db)
    again = ws.load(store, "ana", WellbeingSettings(), TZ)
    again.session_started(t + 120)
    st = again.tick(t + 120)
    assert st.mode == "break" and not st.text_allowed
    assert st.break_ends_at == ends and st.seconds_left == pytest.approx(180)
    assert again.tick(ends - 0.5).mode == "break"
    assert again.tick(ends).mode == "working"
    store.close()


def test_editing_settings_during_a_break_does_not_shorten_it() -> None:
    wb = reading(long_break_after_minutes=25)
    t, st = until_break(wb, T0)
    assert st.break_kind == "long"
    looser = replace(WellbeingSettings(), long_break_minutes=1, strictness="gentle", postpone_window=1.0)
    edited = Wellbeing.from_json(wb.to_json(), looser, TZ)
    edited.session_started(t + 300)
    st = edited.tick(t + 300)
    assert st.mode == "break" and not st.text_allowed and st.break_ends_at == t + 900
    assert not st.can_postpone  # a third of the way in: outside the 30 % window it started with
    assert not edited.postpone(t + 300) and not edited.end_break(t + 300)
    assert edited.tick(t + 899).mode == "break"
    assert edited.tick(t + 900).mode == "working"


def test_an_unreadable_state_starts_fresh(tmp_path: Path) -> None:
    store = Store(tmp_path / "p.db")
    with store.db.conn:
        store.db.conn.execute("INSERT INTO wb_state (coder, state) VALUES ('ana', '{not json')")
    wb = ws.load(store, "ana")
    assert wb.tick(T0).mode == "working"
    with pytest.raises(ValueError):
        Wellbeing.from_json('{"v": 99}')
    store.close()


def test_a_long_break_falling_due_during_a_postponement_starts_at_once() -> None:
    wb = reading(short_break_after_minutes=25, long_break_after_minutes=26)
    t, st = until_break(wb, T0)
    assert st.break_kind == "short" and wb.postpone(t + 2)
    t2, st = until_break(wb, t + 2)
    assert st.break_kind == "long" and t2 == pytest.approx(t + 62)  # one more weighted minute
    assert st.seconds_left == pytest.approx(900) and st.can_postpone is False  # key guard first
    assert wb.tick(t2 + 2).can_postpone


def test_a_postponed_break_comes_back_whole_after_a_settings_edit() -> None:
    wb = reading()
    t, _ = until_break(wb, T0)
    assert wb.postpone(t + 2)
    edited = Wellbeing.from_json(wb.to_json(), replace(WellbeingSettings(), short_break_minutes=1), TZ)
    _, st = until_break(edited, t + 2)
    assert st.seconds_left == pytest.approx(300)


def test_postponing_can_be_turned_off() -> None:
    wb = reading(max_postpones_in_row=0)
    t, _ = until_break(wb, T0)
    refused = wb.postpone(t + 3)
    assert not refused and refused.reason == "Your settings allow no postponements."


def test_a_voluntary_break_in_gentle_mode_hides_text_until_the_coder_ends_it() -> None:
    wb = reading(strictness="gentle")
    assert wb.start_break(T0 + 60, "long")
    st = wb.tick(T0 + 61)
    assert st.mode == "break" and not st.text_allowed and st.checkin_due == "long_break"
    assert not wb.postpone(T0 + 62)
    assert wb.end_break(T0 + 62)
    assert wb.tick(T0 + 62).text_allowed


def test_a_post_coded_as_severe_while_on_screen_counts_as_severe() -> None:
    wb = reading()
    run(wb, T0, 60)
    wb.post_shown(T0 + 60, "p1", 2.0, False)  # the coder added a torture code
    st = wb.tick(T0 + 60)
    assert st.severe_streak == 1
    _, st = run(wb, T0 + 60, 60)
    assert st.weighted_today == pytest.approx(3)
    wb.post_left(T0 + 120)
    assert wb.tick(T0 + 120).mode == "pause"


def test_time_away_takes_the_place_of_a_postponed_break() -> None:
    wb = reading(postpone_minutes=10)
    t, _ = until_break(wb, T0)
    assert wb.postpone(t + 2)
    wb.focus(t + 3, False)
    _, st = run(wb, t + 3, 6 * 60)  # away longer than the short break, before it came back
    assert st.postponed_until is None and st.next_break_in == pytest.approx(25)
    wb.focus(t + 3 + 6 * 60, True)
    _, st = run(wb, t + 3 + 6 * 60, 10 * 60)
    assert st.mode == "working"
    assert wb.s.postpones_in_row == 1  # the postponement still counts towards two in a row
