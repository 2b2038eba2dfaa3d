"""The coding screen's status figures: progress in the mode's terms and the short well-being note."""

from __future__ import annotations

import math

from tui.core.coding.session import Session
from tui.core.wellbeing.state import Status
from tui.ui.widgets.status_bar import Progress, short_prelabel


class ProgressTally:
    """This coder's relevance decisions by post, kept in step with the screen, for the progress counts."""

    def __init__(self, relevance: dict[int, int]) -> None:
        self.relevance = relevance  # post id -> this coder's relevance decision
        self._walk: set[int] = set()

    def note(self, session: Session) -> None:
        """Record the relevance decision of the post on screen (or its withdrawal)."""
        cur = session.current
        if cur is not None:
            if cur.state.relevance is None:
                self.relevance.pop(cur.post["id"], None)
            else:
                self.relevance[cur.post["id"]] = cur.state.relevance

    def progress(self, session: Session, mode: str) -> Progress:
        """Screening counts posts screened; coding counts posts marked done out of those not screened out."""
        s = session
        self.note(s)
        if s.has_queue:  # only the posts of the coder's queue count
            if len(self._walk) != len(s.posts):
                self._walk = set(s.posts)
            screened = [r for p, r in self.relevance.items() if p in self._walk]
        else:
            screened = list(self.relevance.values())
        if mode == "screening":
            return Progress(len(screened), s.total, "screened")
        out = screened.count(0)
        return Progress(max(0, s.n_finished - out), s.total - out, "coded")


def wellbeing_notes(st: Status, now: float, prelabel_status: str) -> tuple[str, str]:
    """The well-being note for the status bar, in full and in a few cells: next break, today's weighted minutes."""
    prelabel = short_prelabel(prelabel_status)
    extra, extra_short = (f" · {prelabel_status}" if prelabel_status else ""), (f" · {prelabel}" if prelabel else "")
    if st.mode == "capped":
        return "daily limit reached" + extra, "limit reached" + extra_short
    minutes = f"{st.weighted_today:.0f}/{st.daily_cap_minutes:.0f}"
    if st.postponed_until is not None:  # the postponed break comes back on the wall clock
        back = max(1, math.ceil((st.postponed_until - now) / 60))
        note, short = f"break postponed: back in {back} min · {minutes} today", f"postponed {back}m · {minutes}m today"
    else:
        next_break = f"{max(0.0, st.next_break_in):.0f}"
        note, short = f"next break in {next_break} min · {minutes} today", f"break in {next_break}m · {minutes}m today"
    due = "break due · " if st.break_due else ""
    return due + note + extra, due + short + extra_short
