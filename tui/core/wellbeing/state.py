"""Well-being values: the persisted state, the status the app renders, log rows, rotation and weights.

Everything here is plain data or a pure function; `tui.core.wellbeing.policy.Wellbeing` is the machine
that moves the state along.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Protocol

__all__ = [
    "LONG", "PAUSE", "SEVERE_WEIGHT", "SHORT", "CheckinAdvice", "LogEntry", "PendingBreak", "PostId",
    "PostponeResult", "RunningBreak", "Status", "WellbeingState", "bigger_break", "day_of",
    "day_start", "needs_milder", "next_post", "post_weight", "state_from_json",
]

SEVERE_WEIGHT = 2.0
"""Posts weighted this much or more are 'severe': pause after them, severe cap, rotation."""
SHORT, LONG, PAUSE = "short", "long", "pause"
STATE_VERSION = 1

PostId = int | str


def day_of(now: float, day_start_hour: int, tz: tzinfo | None = None) -> str:
    """The coder's working day (ISO date) at `now`; a day starts at `day_start_hour` local time."""
    local = datetime.fromtimestamp(now, tz) if tz is not None else datetime.fromtimestamp(now)
    return (local - timedelta(hours=day_start_hour)).date().isoformat()


def day_start(day: str, day_start_hour: int, tz: tzinfo | None) -> float:
    """The moment (seconds since the epoch) a working day begins."""
    d = date.fromisoformat(day)
    return datetime(d.year, d.month, d.day, day_start_hour, tzinfo=tz).timestamp()


def post_weight(
    code_ids: Iterable[str], suggested_code_ids: Iterable[str], severity_of: Callable[[str], float]
) -> float:
    """A post's exposure weight: the highest severity among its codes and pre-labels, at least 1.0."""
    return max([1.0, *(severity_of(c) for c in code_ids), *(severity_of(c) for c in suggested_code_ids)])


class _Rotation(Protocol):
    @property
    def severe_streak(self) -> int: ...

    @property
    def rotation_after(self) -> int: ...


def needs_milder(state: _Rotation) -> bool:
    """True when the coder has seen `rotation_after` severe posts in a row (a `Status` or `Wellbeing`)."""
    return state.severe_streak >= state.rotation_after


def next_post(candidates: list[tuple[PostId, float]], state: _Rotation) -> PostId | None:
    """The post to serve next: the first candidate, or the first milder one when rotation asks for it."""
    if not candidates:
        return None
    if needs_milder(state) or getattr(state, "severe_capped", False):
        for post_id, weight in candidates:
            if weight < SEVERE_WEIGHT:
                return post_id
    return candidates[0][0]


@dataclass(frozen=True)
class CheckinAdvice:
    """What a distress rating suggests; `contacts` are the team's support contacts when stopping is suggested."""

    stop_suggested: bool
    reason: str
    contacts: list[str]


@dataclass(frozen=True)
class PostponeResult:
    """The answer to a postponement request; true when granted, else `reason` says why not."""

    ok: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.ok


@dataclass(frozen=True)
class LogEntry:
    """One wb_log row: exposure minutes, a break taken, a postponement, a check-in, a cap reached."""

    kind: str  # "exposure" | "break" | "postpone" | "checkin" | "cap"
    at: float
    day: str
    minutes: float = 0.0
    weighted: float = 0.0
    value: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Status:
    """Everything the app needs to render the coder's exposure state at one moment."""

    mode: str  # "working" | "break" | "pause" | "capped"
    text_allowed: bool
    break_kind: str | None  # the running break or pause; in gentle mode the break that is due
    break_due: bool  # gentle mode: a break is due (a reminder, text stays allowed)
    seconds_left: float
    break_ends_at: float | None
    can_postpone: bool
    postpone_refusal: str
    accepts_keys: bool
    postponed_until: float | None
    capped: bool
    severe_capped: bool
    cap_reason: str
    warn_cap: bool
    weighted_today: float
    raw_today: float
    severe_today: float
    daily_cap_minutes: float
    daily_severe_cap_minutes: float
    next_break_in: float  # weighted minutes until the next break falls due
    next_break_kind: str
    exposing: bool
    present: bool
    checkin_due: str | None  # "session_start" | "long_break" | None
    stop_suggested: bool
    severe_streak: int
    rotation_after: int
    needs_milder: bool
    day: str
    strictness: str
    can_end_break: bool = False  # the running break may be ended early (the coder started it, or gentle mode)


@dataclass
class RunningBreak:
    """A break or pause on the wall clock, with the settings in force when it started.

    Keeping the settings with it means editing the settings file cannot shorten or soften it.
    """

    kind: str  # "short" | "long" | "pause"
    started_at: float
    ends_at: float
    strictness: str
    postpone_seconds: float
    postpone_window: float
    key_guard_seconds: float
    max_postpones_in_row: int = 2
    postponed: bool = False  # already postponed once
    voluntary: bool = False  # the coder started it


@dataclass
class PendingBreak:
    """A postponed break (or, in gentle mode, a snoozed reminder) and when it comes back."""

    kind: str
    due_at: float
    length_seconds: float


@dataclass
class WellbeingState:
    """Everything the machine remembers, saved as JSON in wb_state (times in seconds since the epoch)."""

    v: int = STATE_VERSION
    day: str = ""
    weighted_today: float = 0.0  # minutes
    raw_today: float = 0.0
    severe_today: float = 0.0
    since_short: float = 0.0  # weighted minutes since the last break
    since_long: float = 0.0  # weighted minutes since the last long break
    last_tick: float | None = None
    has_focus: bool | None = None  # None: the terminal does not report focus
    last_input: float | None = None
    absent_since: float | None = None
    away_credit: int = 0  # 1: this absence counted as a short break, 2: as a long one
    away_reset: bool = False  # the credit reset exposure, so it is logged as a break
    post_id: PostId | None = None
    weight: float = 1.0
    masked: bool = False
    post_exposed: float = 0.0  # seconds counted on the current post
    last_counted_post: PostId | None = None
    last_counted_severe: bool = False
    severe_streak: int = 0
    brk: RunningBreak | None = None
    deferred: PendingBreak | None = None
    due: str | None = None
    postpones_in_row: int = 0
    checkin_due: str | None = None
    ratings_today: list[int] = field(default_factory=list)
    stop_suggested: bool = False
    cap_hit: bool = False
    severe_cap_hit: bool = False
    capped_at: float | None = None
    day_limits: dict[str, Any] | None = None  # the day's caps and strictness, frozen when a limit is reached
    acc: dict[str, Any] | None = None  # exposure not yet written to the log


def state_from_json(text: str) -> WellbeingState:
    """A state saved as JSON; raises ValueError for anything this version did not write."""
    raw = json.loads(text)
    if not isinstance(raw, dict) or raw.get("v") != STATE_VERSION:
        raise ValueError("Unknown well-being state format.")
    known = WellbeingState.__dataclass_fields__
    raw = {k: v for k, v in raw.items() if k in known}
    if raw.get("brk"):
        raw["brk"] = RunningBreak(**raw["brk"])
    if raw.get("deferred"):
        raw["deferred"] = PendingBreak(**raw["deferred"])
    return WellbeingState(**raw)


def bigger_break(a: str | None, b: str | None) -> str | None:
    """The longer of two break kinds (None < short < long)."""
    order = {None: 0, SHORT: 1, LONG: 2}
    return a if order[a] >= order[b] else b
