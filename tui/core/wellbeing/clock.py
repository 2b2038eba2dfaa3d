"""The exposure clock under the well-being machine: it moves the state from one moment to the next.

`advance(now)` walks from the last moment seen to `now` in segments, cutting wherever anything can
change (a threshold crossed, a break ending, presence lapsing, the working day turning), so a late
tick lands exactly where a per-second tick would. `tui.core.wellbeing.policy.Wellbeing` is the public API.
"""

from __future__ import annotations

import math
from datetime import date, timedelta, tzinfo
from typing import Any

from tui.core.wellbeing.settings import WellbeingSettings
from tui.core.wellbeing.state import (
    LONG,
    PAUSE,
    SEVERE_WEIGHT,
    SHORT,
    LogEntry,
    RunningBreak,
    WellbeingState,
    bigger_break,
    day_of,
    day_start,
)

__all__ = ["ExposureClock"]

EPS = 1e-6
"""Minutes; absorbs float error at thresholds."""


class ExposureClock:
    """Exposure accounting, break timing, time away, caps and the working day (no public events)."""

    def __init__(self, settings: WellbeingSettings | None = None, state: WellbeingState | None = None,
                 tz: tzinfo | None = None) -> None:
        self.settings = settings or WellbeingSettings()
        self.s = state or WellbeingState()
        self.tz = tz  # None: the machine's local time zone
        self._log: list[LogEntry] = []

    # Once a daily limit is reached, the day's limits and strictness are frozen in the state (like
    # a running break's settings), so editing the config file cannot lift a limit until the day ends.

    @property
    def cap_minutes(self) -> float:
        """Today's daily cap in weighted minutes (frozen once a limit is reached)."""
        frozen = self.s.day_limits
        return float(frozen["daily_cap_minutes"]) if frozen else self.settings.daily_cap_minutes

    @property
    def severe_cap_minutes(self) -> float:
        """Today's cap on severe minutes (frozen once a limit is reached)."""
        frozen = self.s.day_limits
        return float(frozen["daily_severe_cap_minutes"]) if frozen else self.settings.daily_severe_cap_minutes

    @property
    def strictness(self) -> str:
        """Today's strictness (frozen once a limit is reached)."""
        frozen = self.s.day_limits
        return str(frozen["strictness"]) if frozen else self.settings.strictness

    def _freeze_day(self) -> None:
        if self.s.day_limits is None:
            cfg = self.settings
            self.s.day_limits = {"daily_cap_minutes": cfg.daily_cap_minutes,
                                 "daily_severe_cap_minutes": cfg.daily_severe_cap_minutes,
                                 "strictness": cfg.strictness}

    @property
    def severe_capped(self) -> bool:
        """True once today's severe minutes reached their cap."""
        return self.s.severe_today >= self.severe_cap_minutes - EPS

    def _cap_reason(self) -> str:
        s = self.s
        if s.weighted_today >= self.cap_minutes - EPS:
            return f"Today's exposure limit of {self.cap_minutes:g} weighted minutes is reached."
        if self.severe_capped and s.post_id is not None and s.weight >= SEVERE_WEIGHT:
            return f"Today's limit of {self.severe_cap_minutes:g} minutes on severe posts is reached."
        return ""

    def _text_allowed(self) -> bool:
        if self.s.brk is not None:  # in gentle mode only a break the coder chose, and may end
            return False
        return self.strictness == "gentle" or not self._cap_reason()

    def _present_until(self, t: float, horizon: float) -> float:
        """Until when the coder counts as present, judged at `t`; nothing is vouched for past `horizon`."""
        s = self.s
        if s.has_focus is True:
            end = math.inf
        elif s.has_focus is None and s.last_input is not None:
            end = s.last_input + self.settings.presence_timeout_seconds
        else:
            end = -math.inf
        return min(end, horizon)

    def _exposing(self, t: float, horizon: float = math.inf) -> bool:
        s = self.s
        return (s.post_id is not None and not s.masked and self._text_allowed()
                and self._present_until(t, horizon) > t)

    # ------------------------------------------------------------ the clock

    def _advance(self, now: float) -> None:
        s = self.s
        if s.last_tick is None:
            s.last_tick = now
            self._roll_day(now)
            return
        if now < s.last_tick:  # the clock went back: grant nothing, end nothing
            s.last_tick = now
            if s.absent_since is not None and s.absent_since > now:
                s.absent_since = now
            return
        t = s.last_tick
        horizon = t + self.settings.presence_timeout_seconds
        while True:
            self._roll_day(t)
            if self._present_until(t, horizon) <= t:
                self._absent(t)
            elif s.absent_since is not None:  # still focused after a gap (a laptop woken up)
                self._present(t)
            self._settle(t)
            if t >= now:
                break
            exposing = self._exposing(t, horizon)
            stops = [now, self._next_day(), *self._timers(t, horizon)]
            if exposing:
                stops.append(t + self._seconds_to_threshold())
            t_next = min(x for x in stops if x > t)
            if exposing:
                self._expose(t, t_next)
            t = t_next
        s.last_tick = now

    def _timers(self, t: float, horizon: float) -> list[float]:
        s, cfg = self.s, self.settings
        out = [self._present_until(t, horizon)]
        if s.brk is not None:
            out.append(s.brk.ends_at)
        elif s.absent_since is not None:
            out += [s.absent_since + cfg.short_break_minutes * 60, s.absent_since + cfg.long_break_minutes * 60]
        if s.deferred is not None:
            out.append(s.deferred.due_at)
        return [x for x in out if x > t]

    def _seconds_to_threshold(self) -> float:
        s, cfg = self.s, self.settings
        rate = s.weight / 60  # weighted minutes per second
        left = [(cfg.short_break_after_minutes - s.since_short) / rate,
                (cfg.long_break_after_minutes - s.since_long) / rate,
                (self.cap_minutes - s.weighted_today) / rate]
        if s.weight >= SEVERE_WEIGHT:
            left.append((self.severe_cap_minutes - s.severe_today) * 60)
        return min((x for x in left if x > EPS * 60), default=math.inf)

    def _expose(self, t0: float, t1: float) -> None:
        s = self.s
        minutes = (t1 - t0) / 60
        weighted = minutes * s.weight
        s.raw_today += minutes
        s.weighted_today += weighted
        if s.weight >= SEVERE_WEIGHT:
            s.severe_today += minutes
        s.since_short += weighted
        s.since_long += weighted
        s.post_exposed += t1 - t0
        if s.acc and (s.acc["weight"] != s.weight or s.acc["day"] != s.day):
            self._flush()
        if not s.acc:
            s.acc = {"day": s.day, "weight": s.weight, "minutes": 0.0, "weighted": 0.0, "at": t0}
        s.acc["minutes"] += minutes
        s.acc["weighted"] += weighted

    def _settle(self, t: float) -> None:
        """Apply whatever falls due at `t`: a break ending, a postponed break, time away, thresholds, caps."""
        s, cfg = self.s, self.settings
        if s.brk is not None and t >= s.brk.ends_at:
            self._finish_break(s.brk.ends_at)
        if s.deferred is not None and s.brk is None and t >= s.deferred.due_at:
            d, s.deferred = s.deferred, None
            if self.strictness == "gentle":
                s.due = bigger_break(s.due, d.kind)
            else:
                self._start_break(t, d.kind, postponed=True, length=d.length_seconds)
        if s.brk is None and s.absent_since is not None:
            away = t - s.absent_since
            if away >= cfg.long_break_minutes * 60 and s.away_credit < 2:
                self._credit(LONG)
            elif away >= cfg.short_break_minutes * 60 and s.away_credit < 1:
                self._credit(SHORT)
        if s.brk is None:
            kind = (LONG if s.since_long >= cfg.long_break_after_minutes - EPS
                    else SHORT if s.since_short >= cfg.short_break_after_minutes - EPS else None)
            waiting = s.deferred.kind if s.deferred else None
            if kind and bigger_break(waiting, kind) != waiting:
                if self.strictness == "gentle":
                    s.due = bigger_break(s.due, kind)
                else:
                    s.deferred = None
                    self._start_break(t, kind)
        if not s.cap_hit and s.weighted_today >= self.cap_minutes - EPS:
            self._freeze_day()
            s.cap_hit, s.capped_at = True, t
            self._emit("cap", t, detail={"cap": "daily"})
        if not s.severe_cap_hit and self.severe_capped:
            self._freeze_day()
            s.severe_cap_hit = True
            self._emit("cap", t, detail={"cap": "severe"})

    def _start_break(self, t: float, kind: str, *, postponed: bool = False, voluntary: bool = False,
                     length: float = 0.0) -> None:
        s, cfg = self.s, self.settings
        self._flush()
        # A postponed break comes back at full length, however the settings changed meanwhile.
        length = max(length, {SHORT: cfg.short_break_minutes * 60, LONG: cfg.long_break_minutes * 60,
                              PAUSE: cfg.severe_pause_seconds}[kind])
        s.brk = RunningBreak(kind, t, t + length, self.strictness, cfg.postpone_minutes * 60, cfg.postpone_window,
                             cfg.key_guard_seconds, cfg.max_postpones_in_row, postponed=postponed,
                             voluntary=voluntary)
        if kind != PAUSE:
            s.due = None
        if kind == LONG and cfg.checkins:
            s.checkin_due = "long_break"

    def _finish_break(self, t: float) -> None:
        s = self.s
        b, s.brk = s.brk, None
        assert b is not None
        if b.kind == PAUSE:
            return
        # A long break's check-in stays due until the app has offered it, when the break ends.
        self._reset(b.kind, postponed=b.postponed)
        self._emit("break", t, minutes=(b.ends_at - b.started_at) / 60,
                   detail={"kind": b.kind, "how": "voluntary" if b.voluntary else "break"})

    def _reset(self, kind: str, *, postponed: bool) -> None:
        s = self.s
        s.since_short = 0.0
        if kind == LONG:
            s.since_long = 0.0
        if s.due == SHORT or kind == LONG:
            s.due = None
        if s.deferred and bigger_break(s.deferred.kind, kind) == kind:
            postponed = True
            s.deferred = None
        if not postponed:
            s.postpones_in_row = 0

    def _credit(self, kind: str) -> None:
        """Time away as long as a break counts as that break."""
        s = self.s
        if s.since_short > EPS or (kind == LONG and s.since_long > EPS):
            s.away_reset = True
        s.away_credit = 2 if kind == LONG else 1
        self._reset(kind, postponed=False)

    def _leave(self, now: float) -> None:
        s, cfg = self.s, self.settings
        if s.post_id is None:
            return
        severe_read = s.weight >= SEVERE_WEIGHT and s.post_exposed > 0
        self._flush()
        s.post_id, s.post_exposed = None, 0.0
        if severe_read and s.brk is None and self.strictness != "gentle" and cfg.severe_pause_seconds > 0:
            self._start_break(now, PAUSE)

    def _present(self, now: float) -> None:
        s = self.s
        # Time away that reset an interval is logged as a break taken; a night off is not.
        if (s.absent_since is not None and s.away_credit and s.away_reset
                and day_of(s.absent_since, self.settings.day_start_hour, self.tz) == s.day):
            kind = LONG if s.away_credit == 2 else SHORT
            self._emit("break", now, minutes=(now - s.absent_since) / 60, detail={"kind": kind, "how": "away"})
        s.absent_since, s.away_credit, s.away_reset = None, 0, False

    def _absent(self, now: float) -> None:
        if self.s.absent_since is None:
            self.s.absent_since = now

    def _next_day(self) -> float:
        nxt = (date.fromisoformat(self.s.day) + timedelta(days=1)).isoformat()
        return day_start(nxt, self.settings.day_start_hour, self.tz)

    def _roll_day(self, t: float) -> None:
        s = self.s
        day = day_of(t, self.settings.day_start_hour, self.tz)
        if day <= s.day:
            return  # never back to an earlier day, even if the clock goes back
        self._flush()
        fresh = WellbeingState()
        s.day = day
        for name in ("weighted_today", "raw_today", "severe_today", "ratings_today", "stop_suggested",
                     "cap_hit", "severe_cap_hit", "capped_at", "day_limits"):
            setattr(s, name, getattr(fresh, name))

    # ------------------------------------------------------------ log

    def _flush(self) -> None:
        acc = self.s.acc
        if acc and acc["minutes"] > 0:
            self._log.append(LogEntry("exposure", acc["at"], acc["day"], acc["minutes"], acc["weighted"],
                                      acc["weight"]))
        self.s.acc = None

    def _emit(self, kind: str, at: float, *, minutes: float = 0.0, value: float | None = None,
              detail: dict[str, Any] | None = None) -> None:
        self._log.append(LogEntry(kind, at, self.s.day, minutes, 0.0, value, detail or {}))
