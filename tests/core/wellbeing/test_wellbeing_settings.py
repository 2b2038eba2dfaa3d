"""Well-being settings: validation messages, team ceilings, the stricter-of-the-two rule."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tui.core.project.store import Store
from tui.core.wellbeing import storage as ws
from tui.core.wellbeing.settings import (
    SettingsError,
    WellbeingSettings,
    ceiling_rows,
    ceilings_from_rows,
    effective_settings,
    merge_settings,
    settings_from_dict,
)


def test_defaults_are_the_documented_policy() -> None:
    s = settings_from_dict(None)
    assert s == WellbeingSettings()
    assert (s.short_break_after_minutes, s.short_break_minutes) == (25, 5)
    assert (s.long_break_after_minutes, s.long_break_minutes) == (90, 15)
    assert (s.severe_pause_seconds, s.postpone_minutes, s.postpone_window) == (20, 2, 0.3)
    assert (s.max_postpones_in_row, s.key_guard_seconds, s.presence_timeout_seconds) == (2, 2, 90)
    assert (s.daily_cap_minutes, s.cap_warn_fraction, s.daily_severe_cap_minutes) == (240, 0.8, 120)
    assert (s.day_start_hour, s.rotation_after, s.stop_rating, s.stop_rise) == (4, 3, 7, 3)
    assert s.strictness == "firm"


def test_every_field_is_documented() -> None:
    doc = (Path(__file__).parents[3] / "docs" / "wellbeing.md").read_text(encoding="utf-8")
    for name in WellbeingSettings.__dataclass_fields__:
        assert f"`{name}`" in doc, name


def test_a_yaml_config_is_read() -> None:
    text = ("wellbeing:\n  strictness: strict\n  short_break_after_minutes: 20\n"
            "  support_contacts: [Counselling +1 555 0100]\n")
    s = settings_from_dict(yaml.safe_load(text)["wellbeing"])
    assert s.strictness == "strict" and s.short_break_after_minutes == 20.0
    assert s.support_contacts == ("Counselling +1 555 0100",)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"short_break_minutes": 0},
         "Your setting short_break_minutes must be more than 0 (a break of 0 minutes is no break), not 0."),
        ({"long_break_minutes": -5},
         "Your setting long_break_minutes must be more than 0 (a break of 0 minutes is no break), not -5."),
        ({"daily_cap_minutes": 20},
         "daily_cap_minutes (20) is shorter than short_break_after_minutes (25); "
         "the cap must be at least one working interval."),
        ({"strictness": "hard"}, "Your setting strictness 'hard' is not one of gentle, firm, strict."),
        ({"dayly_cap_minutes": 100}, "Unknown well-being setting 'dayly_cap_minutes'; did you mean daily_cap_minutes?"),
        ({"colour": "red"}, "Unknown well-being setting 'colour'; docs/wellbeing.md lists the known settings."),
        ({"short_break_minutes": "5 min"}, "Your setting short_break_minutes must be a number, not the text '5 min'."),
        ({"max_postpones_in_row": True}, "Your setting max_postpones_in_row must be a whole number, not true/false."),
        ({"rotation_after": 2.5}, "Your setting rotation_after must be a whole number, not 2.5."),
        ({"masking": "yes"}, "Your setting masking must be true or false, not the text 'yes'."),
        ({"strictness": 3}, "Your setting strictness must be text, not 3."),
        ({"support_contacts": [1, 2]}, "Your setting support_contacts must be a list of text entries, not a list."),
        ({"day_start_hour": 24}, "Your setting day_start_hour must be a whole hour from 0 to 23, not 24."),
        ({"postpone_window": 1.5},
         "Your setting postpone_window must be a fraction from 0 to 1, such as 0.3, not 1.5."),
        ({"short_break_after_minutes": float("nan")},
         "Your setting short_break_after_minutes must be a finite number, not nan."),
        (["strict"], "The wellbeing settings must be a mapping of names to values, not a list."),
    ],
)
def test_validation_messages(config: object, message: str) -> None:
    with pytest.raises(SettingsError) as err:
        settings_from_dict(config)  # type: ignore[arg-type]
    assert str(err.value) == message


def test_a_coder_cannot_loosen_a_team_ceiling() -> None:
    with pytest.raises(SettingsError) as err:
        effective_settings({"daily_cap_minutes": 300}, {"daily_cap_minutes": 200})
    assert str(err.value) == "The team's ceiling for daily_cap_minutes is 200; your setting 300 would loosen it."
    loosen = [
        ({"short_break_after_minutes": 30}, {"short_break_after_minutes": 25}),
        ({"long_break_minutes": 10}, {"long_break_minutes": 15}),
        ({"strictness": "firm"}, {"strictness": "strict"}),
        ({"strictness": "gentle"}, {"strictness": "firm"}),
        ({"masking": False}, {"masking": True}),
        ({"max_postpones_in_row": 3}, {"max_postpones_in_row": 2}),
        ({"day_start_hour": 6}, {"day_start_hour": 4}),
    ]
    for mine, team in loosen:
        with pytest.raises(SettingsError):
            effective_settings(mine, team)


def test_the_stricter_value_wins_per_field() -> None:
    team = {"short_break_after_minutes": 25, "long_break_minutes": 15, "daily_cap_minutes": 200,
            "strictness": "firm", "masking": True, "support_contacts": ["Team counsellor"],
            "lexicon": ["scam compound"]}
    mine = {"short_break_after_minutes": 20, "long_break_minutes": 20, "daily_cap_minutes": 150,
            "strictness": "strict", "masking": True, "support_contacts": ["My GP"], "lexicon": ["猪仔"]}
    s = effective_settings(mine, team)
    assert (s.short_break_after_minutes, s.long_break_minutes, s.daily_cap_minutes) == (20, 20, 150)
    assert s.strictness == "strict" and s.masking is True
    assert s.support_contacts == ("Team counsellor", "My GP") and s.lexicon == ("scam compound", "猪仔")
    only_team = effective_settings({}, {"daily_cap_minutes": 200, "strictness": "strict"})
    assert only_team.daily_cap_minutes == 200 and only_team.strictness == "strict"
    assert effective_settings({"daily_cap_minutes": 400}, {}).daily_cap_minutes == 400  # no ceiling set


def test_merge_keeps_the_team_value_and_says_so() -> None:
    s, notices = merge_settings({"daily_cap_minutes": 300, "strictness": "gentle"},
                                {"daily_cap_minutes": 200, "strictness": "firm"})
    assert s.daily_cap_minutes == 200 and s.strictness == "firm"
    assert notices == [
        "The team's ceiling for daily_cap_minutes is 200; your setting 300 would loosen it.",
        "The team's ceiling for strictness is firm; your setting gentle would loosen it.",
    ]


def test_team_ceilings_are_validated_too() -> None:
    with pytest.raises(SettingsError, match="^The team's setting long_break_minutes must be more than 0"):
        effective_settings({}, {"long_break_minutes": 0})
    with pytest.raises(SettingsError, match="^Unknown well-being setting 'breaks'"):
        ceiling_rows({"breaks": 3})


def test_ceilings_round_trip_through_project_settings(tmp_path: Path) -> None:
    store = Store(tmp_path / "p.db")
    ws.set_team_ceilings(store, {"daily_cap_minutes": 200, "strictness": "strict",
                                 "support_contacts": ["Counselling service, ext. 4100"]})
    assert store.project_setting("wellbeing.daily_cap_minutes") == "200.0"
    store.set_project_setting("wellbeing.masking", "true")
    store.set_project_setting("unrelated.key", "x")
    assert ws.team_ceilings(store) == {"daily_cap_minutes": 200.0, "strictness": "strict",
                                       "support_contacts": ["Counselling service, ext. 4100"], "masking": True}
    s, notices = ws.settings_for(store, {"daily_cap_minutes": 250})
    assert s.daily_cap_minutes == 200 and s.strictness == "strict" and s.masking and len(notices) == 1
    with pytest.raises(SettingsError):
        ws.set_team_ceilings(store, {"daily_cap_minutes": -1})
    with pytest.raises(SettingsError, match="shorter than short_break_after_minutes"):
        ws.set_team_ceilings(store, {"daily_cap_minutes": 10})
    assert ws.team_ceilings(store)["daily_cap_minutes"] == 200.0  # nothing written on error
    ws.set_team_ceilings(store, {"daily_cap_minutes": None})
    assert "daily_cap_minutes" not in ws.team_ceilings(store)
    store.close()


def test_a_lead_may_type_plain_text_in_project_settings() -> None:
    assert ceilings_from_rows({"wellbeing.strictness": "strict", "other": "1"}) == {"strictness": "strict"}
