"""Well-being settings: defaults, validation, and the team lead's ceilings.

A coder's settings come from the `wellbeing:` key of their config file; a team lead's ceilings come
from the project settings (keys `wellbeing.<field>`). A coder can only make a ceiling stricter, so the
effective value of each field is the stricter of the two. Every problem ends in one sentence raised
as `SettingsError`. The basis of every default is in `docs/wellbeing.md`.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

__all__ = [
    "CEILING_PREFIX",
    "STRICTNESS",
    "SettingsError",
    "WellbeingSettings",
    "ceiling_rows",
    "ceilings_from_rows",
    "effective_settings",
    "merge_settings",
    "parse_settings",
    "settings_from_dict",
]

STRICTNESS = ("gentle", "firm", "strict")
"""Strictness levels, from least to most strict."""

CEILING_PREFIX = "wellbeing."
"""Key prefix of a team lead's ceilings in the project_settings table."""


class SettingsError(ValueError):
    """A well-being setting that cannot be used; the message is one sentence a coder can act on."""


@dataclass(frozen=True)
class WellbeingSettings:
    """The exposure policy in force for one coder (all defaults documented in docs/wellbeing.md)."""

    strictness: str = "firm"
    short_break_after_minutes: float = 25.0
    short_break_minutes: float = 5.0
    long_break_after_minutes: float = 90.0
    long_break_minutes: float = 15.0
    severe_pause_seconds: float = 20.0
    postpone_minutes: float = 2.0
    postpone_window: float = 0.30
    max_postpones_in_row: int = 2
    key_guard_seconds: float = 2.0
    presence_timeout_seconds: float = 90.0
    daily_cap_minutes: float = 240.0
    cap_warn_fraction: float = 0.8
    daily_severe_cap_minutes: float = 120.0
    day_start_hour: int = 4
    rotation_after: int = 3
    stop_rating: int = 7
    stop_rise: int = 3
    masking: bool = False
    lexicon: tuple[str, ...] = ()
    checkins: bool = True
    support_contacts: tuple[str, ...] = ()


# How each field is checked and merged. `stricter` says which direction a coder may move from a
# team ceiling: "lower"/"higher" for numbers, "true" for switches that may only be turned on,
# "order" for strictness, "union" for lists (the team's entries stay, the coder may add), "fixed"
# for values with no stricter side (the team's value, when set, holds).
@dataclass(frozen=True)
class _Spec:
    kind: str  # "float" | "int" | "bool" | "str" | "list"
    stricter: str
    low: float | None = None  # smallest allowed value
    low_open: bool = False  # True: the value must be more than `low`
    high: float | None = None
    rule: str = ""  # how to say the bounds in an error message


_POSITIVE = "more than 0"
_SPECS: dict[str, _Spec] = {
    "strictness": _Spec("str", "order"),
    "short_break_after_minutes": _Spec("float", "lower", 0, True, rule=_POSITIVE),
    "short_break_minutes": _Spec("float", "higher", 0, True, rule=_POSITIVE + " (a break of 0 minutes is no break)"),
    "long_break_after_minutes": _Spec("float", "lower", 0, True, rule=_POSITIVE),
    "long_break_minutes": _Spec("float", "higher", 0, True, rule=_POSITIVE + " (a break of 0 minutes is no break)"),
    "severe_pause_seconds": _Spec("float", "higher", 0, False, 600, "from 0 (no pause) to 600"),
    "postpone_minutes": _Spec("float", "lower", 0, True, rule=_POSITIVE),
    "postpone_window": _Spec("float", "lower", 0, False, 1, "a fraction from 0 to 1, such as 0.3"),
    "max_postpones_in_row": _Spec("int", "lower", 0, False, rule="a whole number, 0 or more"),
    "key_guard_seconds": _Spec("float", "higher", 0, False, 30, "from 0 to 30"),
    "presence_timeout_seconds": _Spec("float", "higher", 10, False, 3600, "from 10 to 3600"),
    "daily_cap_minutes": _Spec("float", "lower", 0, True, rule=_POSITIVE),
    "cap_warn_fraction": _Spec("float", "lower", 0, True, 1, "a fraction more than 0 and at most 1, such as 0.8"),
    "daily_severe_cap_minutes": _Spec("float", "lower", 0, True, rule=_POSITIVE),
    "day_start_hour": _Spec("int", "fixed", 0, False, 23, "a whole hour from 0 to 23"),
    "rotation_after": _Spec("int", "lower", 1, False, rule="a whole number, 1 or more"),
    "stop_rating": _Spec("int", "lower", 1, False, 10, "a whole number from 1 to 10"),
    "stop_rise": _Spec("int", "lower", 1, False, 10, "a whole number from 1 to 10"),
    "masking": _Spec("bool", "true"),
    "lexicon": _Spec("list", "union"),
    "checkins": _Spec("bool", "true"),
    "support_contacts": _Spec("list", "union"),
}
assert set(_SPECS) == {f.name for f in fields(WellbeingSettings)}

_TYPE_NAMES = {"float": "a number", "int": "a whole number", "bool": "true or false",
               "str": "text", "list": "a list of text entries"}


def show_value(value: Any) -> str:
    """A value as a coder would write it in YAML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def _what(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if value is None:
        return "empty"
    return repr(value)


def _check_value(name: str, value: Any, who: str) -> Any:
    spec = _SPECS[name]
    bad_type = SettingsError(f"{who} {name} must be {_TYPE_NAMES[spec.kind]}, not {_what(value)}.")
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise bad_type
        return value
    if spec.kind == "str":
        if not isinstance(value, str):
            raise bad_type
        if value not in STRICTNESS:
            raise SettingsError(f"{who} strictness {value!r} is not one of {', '.join(STRICTNESS)}.")
        return value
    if spec.kind == "list":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise bad_type
        return tuple(v.strip() for v in value if v.strip())
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise bad_type
    if spec.kind == "int" and not float(value).is_integer():
        raise bad_type
    if not math.isfinite(value):
        raise SettingsError(f"{who} {name} must be a finite number, not {value}.")
    out: float | int = int(value) if spec.kind == "int" else float(value)
    too_low = spec.low is not None and (out <= spec.low if spec.low_open else out < spec.low)
    too_high = spec.high is not None and out > spec.high
    if too_low or too_high:
        raise SettingsError(f"{who} {name} must be {spec.rule}, not {show_value(value)}.")
    return out


def parse_settings(data: Mapping[str, Any] | None, *, who: str = "Your setting") -> dict[str, Any]:
    """Validate a partial settings mapping (from YAML) and return its values, normalised."""
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise SettingsError(f"The wellbeing settings must be a mapping of names to values, not {_what(data)}.")
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key not in _SPECS:
            close = difflib.get_close_matches(str(key), list(_SPECS), n=1)
            hint = f"; did you mean {close[0]}?" if close else "; docs/wellbeing.md lists the known settings."
            raise SettingsError(f"Unknown well-being setting {key!r}{hint}")
        out[key] = _check_value(key, value, who)
    return out


def _check_whole(s: WellbeingSettings) -> WellbeingSettings:
    if s.daily_cap_minutes < s.short_break_after_minutes:
        raise SettingsError(
            f"daily_cap_minutes ({show_value(s.daily_cap_minutes)}) is shorter than short_break_after_minutes "
            f"({show_value(s.short_break_after_minutes)}); the cap must be at least one working interval."
        )
    return s


def settings_from_dict(data: Mapping[str, Any] | None) -> WellbeingSettings:
    """A coder's settings from their config (`wellbeing:` key), defaults filled in, no ceilings."""
    return _check_whole(replace(WellbeingSettings(), **parse_settings(data)))


def _stricter_or_notice(name: str, team: Any, mine: Any) -> tuple[Any, str]:
    """The value to use for one field set by both, and a notice when the coder's would loosen it."""
    rule = _SPECS[name].stricter
    if rule == "union":
        return tuple(dict.fromkeys((*team, *mine))), ""
    if rule == "lower":
        ok = mine <= team
    elif rule == "higher":
        ok = mine >= team
    elif rule == "true":
        ok = mine or not team
    elif rule == "order":
        ok = STRICTNESS.index(mine) >= STRICTNESS.index(team)
    else:  # fixed
        if mine != team:
            return team, (f"The team has fixed {name} at {show_value(team)}; "
                          f"your setting {show_value(mine)} differs from it.")
        return team, ""
    if ok:
        return mine, ""
    return team, (f"The team's ceiling for {name} is {show_value(team)}; "
                  f"your setting {show_value(mine)} would loosen it.")


def merge_settings(
    coder: Mapping[str, Any] | None, ceilings: Mapping[str, Any] | None
) -> tuple[WellbeingSettings, list[str]]:
    """The effective settings, taking the team's value wherever the coder's would loosen it.

    Returns the settings and one notice per loosened field, for an app that should start anyway.
    Invalid values still raise `SettingsError`.
    """
    mine = parse_settings(coder)
    team = parse_settings(ceilings, who="The team's setting")
    values = {**team, **mine}
    notices = []
    for name in team.keys() & mine.keys():
        values[name], notice = _stricter_or_notice(name, team[name], mine[name])
        if notice:
            notices.append(notice)
    return _check_whole(replace(WellbeingSettings(), **values)), sorted(notices)


def effective_settings(coder: Mapping[str, Any] | None, ceilings: Mapping[str, Any] | None = None) -> WellbeingSettings:
    """The effective settings; a coder's setting that would loosen a team ceiling raises `SettingsError`."""
    settings, notices = merge_settings(coder, ceilings)
    if notices:
        raise SettingsError(notices[0])
    return settings


def ceilings_from_rows(rows: Mapping[str, str]) -> dict[str, Any]:
    """The team's ceilings from project_settings rows (`wellbeing.<field>` -> JSON or plain text)."""
    out: dict[str, Any] = {}
    for key, raw in rows.items():
        if not key.startswith(CEILING_PREFIX):
            continue
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw  # a lead who typed `strict` rather than `"strict"`
        out[key[len(CEILING_PREFIX):]] = value
    return out


def ceiling_rows(ceilings: Mapping[str, Any]) -> dict[str, str]:
    """Validated project_settings rows for the given ceilings."""
    checked = parse_settings(ceilings, who="The team's setting")
    return {
        CEILING_PREFIX + k: json.dumps(list(v) if isinstance(v, tuple) else v, ensure_ascii=False)
        for k, v in checked.items()
    }
