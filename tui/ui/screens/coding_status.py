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


def wellbeing_short(st: Status, now: float, prelabel_status: str) -> str:
    """The well-being figures in a few cells: next break, weighted minutes of today's limit."""
    prelabel = short_prelabel(prelabel_status)
    extra = f" · {prelabel}" if prelabel else ""
    if st.mode == "capped":
        return "limit reached" + extra
    if st.postponed_until is not None:  # the postponed break comes back on the wall clock
        back = max(1, math.ceil((st.postponed_until - now) / 60))
        note = f"postponed {back}m · {st.weighted_today:.0f}/{st.daily_cap_minutes:.0f}m today"
    else:
        note = (f"break in {max(0.0, st.next_break_in):.0f}m · "
                f"{st.weighted_today:.0f}/{st.daily_cap_minutes:.0f}m today")
    return ("break due · " if st.break_due else "") + note + extra
