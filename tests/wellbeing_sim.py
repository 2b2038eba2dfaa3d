"""Simulated time for the well-being tests: a machine in a fixed time zone, and a ticking loop."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from tui.core.wellbeing.policy import Status, Wellbeing
from tui.core.wellbeing.settings import WellbeingSettings

TZ = timezone(timedelta(hours=8))
T0 = datetime(2025, 3, 10, 9, 0, tzinfo=TZ).timestamp()


def machine(**overrides: object) -> Wellbeing:
    """A well-being machine with default settings except `overrides`."""
    return Wellbeing(replace(WellbeingSettings(), **overrides), tz=TZ)


def run(wb: Wellbeing, t: float, seconds: float, step: float = 1.0,
        stop: Callable[[Status], bool] | None = None) -> tuple[float, Status]:
    """Tick from t for `seconds` (or until `stop`); returns the last time and status."""
    end = t + seconds
    st = wb.tick(t)
    while t < end:
        t = min(end, t + step)
        st = wb.tick(t)
        if stop and stop(st):
            break
    return t, st
