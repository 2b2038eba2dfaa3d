"""Distress check-ins: when one is due, and when the advice is to stop for the day."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from tui.core.wellbeing.policy import Wellbeing
from tui.core.wellbeing.settings import WellbeingSettings, effective_settings

TZ = timezone(timedelta(hours=8))
T0 = datetime(2025, 3, 10, 9, 0, tzinfo=TZ).timestamp()
CONTACTS = ("University counselling, +1 555 0100", "Team lead Mei, Signal")


def machine(**overrides: object) -> Wellbeing:
    return Wellbeing(replace(WellbeingSettings(support_contacts=CONTACTS), **overrides), tz=TZ)


def test_checkin_due_at_session_start_and_cleared_by_answer_or_skip() -> None:
    wb = machine()
    wb.session_started(T0)
    assert wb.tick(T0).checkin_due == "session_start"
    advice = wb.checkin(T0 + 5, 2)
    assert not advice.stop_suggested and advice.contacts == [] and advice.reason == ""
    assert wb.tick(T0 + 5).checkin_due is None
    wb.session_ended(T0 + 60)
    wb.session_started(T0 + 120)
    wb.skip_checkin(T0 + 121)
    assert wb.tick(T0 + 121).checkin_due is None
    logged = [(e.value, e.detail["moment"]) for e in wb.drain_log() if e.kind == "checkin"]
    assert logged == [(2, "session_start")]


def test_no_checkins_when_turned_off() -> None:
    wb = machine(checkins=False)
    wb.session_started(T0)
    assert wb.tick(T0).checkin_due is None


def test_checkin_due_during_each_long_break() -> None:
    wb = machine(short_break_after_minutes=10, long_break_after_minutes=10)
    wb.session_started(T0)
    wb.skip_checkin(T0)
    wb.focus(T0, True)
    wb.post_shown(T0, "p", 1.0, False)
    t = T0
    while (st := wb.tick(t)).mode == "working":
        t += 1
    assert st.break_kind == "long" and st.checkin_due == "long_break"
    # Still due when the break ends, so the app can offer it then; skipping it clears it.
    assert wb.tick(t + 900).checkin_due == "long_break"
    wb.skip_checkin(t + 901)
    assert wb.tick(t + 902).checkin_due is None


def test_session_start_checkin_stays_due_through_a_break_it_opened_into() -> None:
    wb = machine()
    wb.session_started(T0)
    wb.skip_checkin(T0)
    wb.start_break(T0, "short")
    wb.session_ended(T0 + 10)
    wb.session_started(T0 + 60)  # reopened during the break
    assert wb.tick(T0 + 60).mode == "break"
    assert wb.tick(T0 + 5 * 60 + 1).checkin_due == "session_start"


@pytest.mark.parametrize("rating", [7, 8, 10])
def test_a_high_rating_suggests_stopping_with_the_team_contacts(rating: int) -> None:
    wb = machine()
    wb.session_started(T0)
    advice = wb.checkin(T0, rating)
    assert advice.stop_suggested and advice.contacts == list(CONTACTS)
    assert advice.reason == f"You rated your distress {rating} of 10; it may be time to stop for today."
    assert wb.tick(T0).stop_suggested


def test_a_rating_of_six_alone_does_not() -> None:
    wb = machine()
    wb.session_started(T0)
    assert not wb.checkin(T0, 6).stop_suggested


def test_a_rise_of_three_within_the_day_suggests_stopping() -> None:
    wb = machine()
    wb.session_started(T0)
    wb.checkin(T0, 3)
    wb.checkin(T0 + 3600, 1)
    assert not wb.checkin(T0 + 7200, 3).stop_suggested  # a rise of 2 from the lowest
    advice = wb.checkin(T0 + 9000, 4, moment="session_end")
    assert advice.stop_suggested
    assert advice.reason == "Your distress rose from 1 to 4 today; it may be time to stop for today."
    assert [e.detail for e in wb.drain_log() if e.kind == "checkin"][-1] == {"moment": "session_end",
                                                                              "stop_suggested": True}


def test_a_rise_across_days_does_not_count() -> None:
    wb = machine()
    wb.session_started(T0)
    wb.checkin(T0, 1)
    st = wb.tick(T0 + 86400)
    assert st.day == "2025-03-11" and not st.stop_suggested
    assert not wb.checkin(T0 + 86400, 4).stop_suggested


def test_thresholds_and_contacts_come_from_settings() -> None:
    settings = effective_settings({"stop_rating": 5, "support_contacts": ["My GP"]},
                                  {"support_contacts": ["Team counsellor"]})
    wb = Wellbeing(settings, tz=TZ)
    wb.session_started(T0)
    advice = wb.checkin(T0, 5)
    assert advice.stop_suggested and advice.contacts == ["Team counsellor", "My GP"]


@pytest.mark.parametrize("rating", [-1, 11, 3.5, True, "7"])
def test_a_rating_is_a_whole_number_from_0_to_10(rating: object) -> None:
    wb = machine()
    with pytest.raises(ValueError, match="0 to 10"):
        wb.checkin(T0, rating)  # type: ignore[arg-type]
