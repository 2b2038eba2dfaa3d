"""The exposure policy as a pure state machine: exposure clock, breaks, daily caps, rotation, check-ins.

Time is always a float of seconds since the epoch (UTC), passed in by the caller, so hours of
simulated time run in milliseconds. The app reports what happens (`post_shown`, `focus`, `input`...)
and calls `tick(now)` about once a second; it renders the returned `Status`. The machine never reads
a clock, a file or a database: `wellbeing_store` persists `to_json()` and the rows from `drain_log()`.

Exposure counts only while post text is shown unmasked, text is allowed, and the coder is present
(terminal focus where reported, else input within `presence_timeout_seconds`). A step between two
calls longer than that window is not vouched for: the rest of it is time away. A clock that goes
backwards counts nothing and ends nothing.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from datetime import tzinfo

from tui.core.wellbeing.clock import ExposureClock
from tui.core.wellbeing.settings import WellbeingSettings
from tui.core.wellbeing.state import (
    LONG,
    PAUSE,
    SEVERE_WEIGHT,
    SHORT,
    CheckinAdvice,
    LogEntry,
    PendingBreak,
    PostId,
    PostponeResult,
    Status,
    WellbeingState,
    day_of,
    needs_milder,
    next_post,
    post_weight,
    state_from_json,
)

__all__ = [
    "SEVERE_WEIGHT", "CheckinAdvice", "LogEntry", "PostponeResult", "Status", "Wellbeing",
    "WellbeingState", "day_of", "needs_milder", "next_post", "post_weight",
]


class Wellbeing(ExposureClock):
    """One coder's exposure state machine. Every method takes `now` (seconds since the epoch).

    `Wellbeing(settings, state=None, tz=None)`: `tz` decides where the working day starts (None is
    the computer's local time zone).
    """

    # ------------------------------------------------------------ persistence

    def to_json(self) -> str:
        """The state as JSON (the log is drained separately)."""
        return json.dumps(asdict(self.s), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str, settings: WellbeingSettings | None = None,
                  tz: tzinfo | None = None) -> Wellbeing:
        """A machine restored from `to_json()`; a running break keeps its end time and settings."""
        return cls(settings, state_from_json(text), tz)

    def drain_log(self) -> list[LogEntry]:
        """The log rows produced since the last call, exposure so far included."""
        self._flush()
        out, self._log = self._log, []
        return out

    def restore_log(self, rows: list[LogEntry]) -> None:
        """Put rows from `drain_log()` back in front (saving them failed), so the next drain returns them."""
        self._log[:0] = rows

    # ------------------------------------------------------------ events

    def session_started(self, now: float) -> None:
        """The app opened: time since the state was last saved counts as time away; a running break resumes."""
        s = self.s
        # After a crash the saved state may still say "post shown, focused": nobody vouches for the gap.
        s.post_id, s.has_focus, s.last_input = None, None, None
        self._advance(now)
        self._present(now)
        s.last_input = now
        if self.settings.checkins:
            self.s.checkin_due = "session_start"

    def session_ended(self, now: float) -> None:
        """The app is closing (ask for the end-of-session check-in before calling this)."""
        self._advance(now)
        self.s.post_id = None
        self.s.has_focus, self.s.last_input = None, None
        self.s.checkin_due = None
        self._absent(now)
        self._flush()

    def post_shown(self, now: float, post_id: PostId, weight: float, masked: bool) -> None:
        """A post's text is on screen (`masked`: graphic terms hidden, which the clock does not count)."""
        if not (isinstance(weight, (int, float)) and math.isfinite(weight) and weight > 0):
            raise ValueError(f"A post's weight must be a positive number, not {weight!r}.")
        self._advance(now)
        s = self.s
        if s.post_id is not None and s.post_id != post_id:
            self._leave(now)
        if s.post_id != post_id:
            s.post_exposed = 0.0
        s.post_id, s.weight, s.masked = post_id, float(weight), masked
        severe = weight >= SEVERE_WEIGHT
        if post_id != s.last_counted_post:
            s.severe_streak = s.severe_streak + 1 if severe else 0
            s.last_counted_post, s.last_counted_severe = post_id, severe
        elif severe and not s.last_counted_severe:  # coded as severe while on screen
            s.severe_streak += 1
            s.last_counted_severe = True

    def post_left(self, now: float) -> None:
        """The coder moved off the post (a severe post they read is followed by a short pause)."""
        self._advance(now)
        self._leave(now)

    def mask_changed(self, now: float, masked: bool) -> None:
        """The coder masked or revealed the graphic terms of the current post."""
        self._advance(now)
        self.s.masked = masked

    def focus(self, now: float, has_focus: bool) -> None:
        """The terminal reported focus gained or lost (Textual's AppFocus / AppBlur)."""
        self._advance(now)
        self.s.has_focus = has_focus
        if has_focus:
            self._present(now)
        else:
            self._absent(now)

    def input(self, now: float) -> None:
        """The coder pressed a key or used the mouse."""
        self._advance(now)
        self.s.last_input = now
        if self.s.has_focus is False:  # the terminal missed a focus-in; a key press proves presence
            self.s.has_focus = True
        self._present(now)

    def tick(self, now: float) -> Status:
        """Advance the clock to `now` and return the state to render."""
        self._advance(now)
        return self.status(now)

    def postpone(self, now: float) -> PostponeResult:
        """Postpone the running break (firm), or snooze a break reminder (gentle)."""
        self._advance(now)
        s, b = self.s, self.s.brk
        if b is None:
            if s.due and self.strictness == "gentle":
                s.deferred = PendingBreak(s.due, now + self.settings.postpone_minutes * 60, 0.0)
                s.due = None
                self._emit("postpone", now, detail={"kind": s.deferred.kind, "snooze": True})
                return PostponeResult(True)
            return PostponeResult(False, "There is no break to postpone.")
        refusal = self._refusal(now)
        if refusal:
            return PostponeResult(False, refusal)
        s.deferred = PendingBreak(b.kind, now + b.postpone_seconds, b.ends_at - b.started_at)
        s.brk = None
        s.postpones_in_row += 1
        if s.checkin_due == "long_break":
            s.checkin_due = None
        self._emit("postpone", now, detail={"kind": b.kind})
        return PostponeResult(True)

    def start_break(self, now: float, kind: str = SHORT) -> bool:
        """The coder takes a break of their own accord; it counts once it has run its full length."""
        if kind not in (SHORT, LONG):
            raise ValueError(f"A break is 'short' or 'long', not {kind!r}.")
        self._advance(now)
        if self.s.brk is not None:
            return False
        self._start_break(now, kind, voluntary=True)
        return True

    def end_break(self, now: float) -> bool:
        """End a break the coder started, or any break in gentle mode; enforced breaks cannot end early."""
        self._advance(now)
        b = self.s.brk
        if b is None or not (b.voluntary or b.strictness == "gentle"):
            return False
        self.s.brk = None
        if self.s.checkin_due == "long_break":
            self.s.checkin_due = None
        return True

    def checkin(self, now: float, rating: int, moment: str | None = None) -> CheckinAdvice:
        """Record a 0–10 distress rating; 7+ or a rise of 3+ within the day suggests stopping."""
        if isinstance(rating, bool) or not isinstance(rating, int) or not 0 <= rating <= 10:
            raise ValueError(f"A distress rating is a whole number from 0 to 10, not {rating!r}.")
        self._advance(now)
        s, cfg = self.s, self.settings
        moment = moment or s.checkin_due or "other"
        low = min(s.ratings_today) if s.ratings_today else None
        reason = ""
        if rating >= cfg.stop_rating:
            reason = f"You rated your distress {rating} of 10; it may be time to stop for today."
        elif low is not None and rating - low >= cfg.stop_rise:
            reason = f"Your distress rose from {low} to {rating} today; it may be time to stop for today."
        s.ratings_today.append(rating)
        s.checkin_due = None
        s.stop_suggested = s.stop_suggested or bool(reason)
        self._emit("checkin", now, value=rating, detail={"moment": moment, "stop_suggested": bool(reason)})
        return CheckinAdvice(bool(reason), reason, list(cfg.support_contacts) if reason else [])

    def skip_checkin(self, now: float) -> None:
        """The coder declined the check-in that is due."""
        self._advance(now)
        self.s.checkin_due = None

    def forget_checkins(self) -> None:
        """Drop today's ratings from the state (after the coder deleted their history)."""
        self.s.ratings_today = []
        self.s.stop_suggested = False

    # ------------------------------------------------------------ reading

    @property
    def severe_streak(self) -> int:
        """Severe posts shown in a row."""
        return self.s.severe_streak

    @property
    def rotation_after(self) -> int:
        """How many severe posts in a row make the queue serve a milder one."""
        return self.settings.rotation_after

    def accepts_keys(self, now: float) -> bool:
        """False for the first seconds of a break or cap screen, so a key typed mid-flow does nothing."""
        b = self.s.brk
        if b is not None:
            since, guard = now - b.started_at, b.key_guard_seconds
        elif self.s.capped_at is not None and self._cap_reason() and self.strictness != "gentle":
            since, guard = now - self.s.capped_at, self.settings.key_guard_seconds
        else:
            return True
        return not 0 <= since < guard

    def status(self, now: float) -> Status:
        """The state at `now` without advancing the clock."""
        s, cfg = self.s, self.settings
        b = s.brk
        gentle = self.strictness == "gentle"
        cap_reason = self._cap_reason()
        if b is not None:
            mode = PAUSE if b.kind == PAUSE else "break"
        else:
            mode = "capped" if cap_reason and not gentle else "working"
        no_break = "" if gentle and s.due else "There is no break to postpone."
        refusal = self._refusal(now) if b is not None else no_break
        to_short = cfg.short_break_after_minutes - s.since_short
        to_long = cfg.long_break_after_minutes - s.since_long
        warn = (s.weighted_today >= cfg.cap_warn_fraction * self.cap_minutes
                or s.severe_today >= cfg.cap_warn_fraction * self.severe_cap_minutes)
        return Status(
            mode=mode,
            text_allowed=self._text_allowed(),
            break_kind=b.kind if b is not None else s.due,
            break_due=b is None and s.due is not None,
            seconds_left=max(0.0, b.ends_at - now) if b is not None else 0.0,
            break_ends_at=b.ends_at if b is not None else None,
            can_postpone=not refusal,
            postpone_refusal=refusal,
            accepts_keys=self.accepts_keys(now),
            postponed_until=s.deferred.due_at if s.deferred else None,
            capped=bool(cap_reason),
            severe_capped=self.severe_capped,
            cap_reason=cap_reason,
            warn_cap=warn and not cap_reason,
            weighted_today=s.weighted_today,
            raw_today=s.raw_today,
            severe_today=s.severe_today,
            daily_cap_minutes=self.cap_minutes,
            daily_severe_cap_minutes=self.severe_cap_minutes,
            next_break_in=max(0.0, min(to_short, to_long)),
            next_break_kind=LONG if to_long <= to_short else SHORT,
            exposing=self._exposing(now),
            present=self._present_until(now, math.inf) > now,
            checkin_due=s.checkin_due,
            stop_suggested=s.stop_suggested,
            severe_streak=s.severe_streak,
            rotation_after=cfg.rotation_after,
            needs_milder=needs_milder(self),
            day=s.day,
            strictness=self.strictness,
            can_end_break=b is not None and b.kind != PAUSE and (b.voluntary or b.strictness == "gentle"),
        )

    # ------------------------------------------------------------ policy

    def _refusal(self, now: float) -> str:
        b = self.s.brk
        assert b is not None
        length = b.ends_at - b.started_at
        if b.kind == PAUSE:
            return "A pause between severe posts can't be postponed."
        if b.voluntary or b.strictness == "gentle":
            return "You started this break yourself; press e to end it instead of postponing it."
        if b.strictness == "strict":
            return "In strict mode breaks can't be postponed."
        if not self.accepts_keys(now):
            return f"Keys are ignored for the first {b.key_guard_seconds:g} seconds of a break."
        if b.postponed:
            return "This break was postponed once already."
        if not 0 <= now - b.started_at <= b.postpone_window * length:
            return f"A break can only be postponed in its first {b.postpone_window:.0%}."
        if b.max_postpones_in_row == 0:
            return "Your settings allow no postponements."
        if self.s.postpones_in_row >= b.max_postpones_in_row:
            return f"You postponed the last {b.max_postpones_in_row} breaks in a row; take this one."
        return ""
