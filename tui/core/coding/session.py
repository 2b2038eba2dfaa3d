"""One coder's working session: the queue, the current post, and every decision as a committed event."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from tui.core.codebook.changes import Applied, Change, ChangeRefused, OpenCodebook
from tui.core.codebook.model import Codebook
from tui.core.coding.queue import resume_index, work_list
from tui.core.coding.sentences import shown_sentences
from tui.core.prelabel.arms import BLIND, arm_of
from tui.core.prelabel.suggestions import confident_codes
from tui.core.project.codebook_log import effective_codebook
from tui.core.project.codebook_write import note_file_read
from tui.core.project.events import CODEBOOK_KINDS, Event, EventKind, new_event_id, utc_stamp
from tui.core.project.state import PostState
from tui.core.project.store import Store, WriteRefused
from tui.core.project.undo import compensating, redo_target, undo_target

RECENT = 5
PLACE_KEY = "place."
"""project_settings key prefix (+ coder name) for the post last viewed and the mode."""
IDLE_GAP = 300.0
"""Seconds between two decisions beyond which the gap is not counted as coding time."""

Clock = Callable[[], datetime]
"""What a Session reads the time from: returns the current time, timezone-aware."""


def system_clock() -> datetime:
    """The real current time, in the machine's local time zone."""
    return datetime.now().astimezone()


class SessionError(Exception):
    """A decision that cannot be made (unknown code, nothing to undo...)."""


@dataclass
class Current:
    """The post on screen and this coder's decisions on it."""

    post: dict[str, Any]
    state: PostState
    sentences: list[tuple[int, int]]
    suggestions: list[tuple[str, str, float]] = field(default_factory=list)  # (kind, code id, score)
    likely_codes: list[str] = field(default_factory=list)  # suggested codes that count for exposure weight
    arm: str = ""  # "blind": the study shows no model output for this post; "shown"

    @property
    def blind(self) -> bool:
        """True when no relevance pre-label, code suggestion or anything made from them may be shown."""
        return self.arm == BLIND


class Session:
    """Walks a coder through their queue; every decision is committed before it returns."""

    def __init__(self, store: Store, codebook: Codebook, coder: str, *, clock: Clock = system_clock) -> None:
        if not coder.strip():
            raise SessionError("A coder name is needed (--coder NAME).")
        self.store = store
        # The codebook file plus the changes coders made while coding (open coding), unless given already.
        self.codebook = codebook if codebook.origin is not None else effective_codebook(store.db.conn, codebook)[0]
        self.coder = coder
        self.clock = clock  # injected so tests can move time (the time-today rule) without waiting
        self.posts = work_list(store, coder)
        self.has_queue = bool(store.queue(coder))
        self.finished = store.finished_posts(coder) & set(self.posts) if self.has_queue else store.finished_posts(coder)
        self.index = self._resume_index()
        self.recent: list[str] = self._recent_codes()
        self.seconds_today, self._last_event_at = self._time_today()
        self.current: Current | None = None
        self.saved = 0  # decisions committed in this session (a screen tells a refused write by it)
        self._saved_place: str | None = None
        self._file_noted = False
        if self.posts:
            self.load()

    # ------------------------------------------------------------ where the coder was

    def _place_key(self) -> str:
        return PLACE_KEY + self.coder

    def last_place(self) -> tuple[int | None, str | None]:
        """The post this coder last viewed and the mode they were in, as saved in the project."""
        raw = self.store.project_setting(self._place_key())
        try:
            data = json.loads(raw) if raw else {}
            post = data.get("post")
            mode = data.get("mode")
        except (ValueError, AttributeError):
            return None, None
        return (post if isinstance(post, int) else None,
                mode if mode in ("screening", "coding") else None)

    def _resume_index(self) -> int:
        """Reopen at the post last viewed; without one, where the coder last decided something."""
        post, _ = self.last_place()
        if post is not None and post in self.posts:
            return self.posts.index(post)
        return resume_index(self.store, self.coder, self.posts)

    def save_place(self, mode: str) -> None:
        """Remember the post on screen and the mode, so reopening comes back to them."""
        if self.current is None:
            return
        value = json.dumps({"post": self.current.post["id"], "mode": mode})
        if value != self._saved_place and not self.store.readonly:
            try:
                self.store.set_project_setting(self._place_key(), value)
            except WriteRefused:
                # The place is a convenience, not a decision: a busy project costs only where reopening lands.
                return
            self._saved_place = value

    # ------------------------------------------------------------ navigation

    @property
    def total(self) -> int:
        """Posts in the queue (or the project)."""
        return len(self.posts)

    @property
    def n_finished(self) -> int:
        """Posts of the queue the coder has finished."""
        return len(self.finished)

    def load(self) -> Current:
        """Read the post at `index` and this coder's state on it."""
        pid = self.posts[self.index]
        post = self.store.post(pid) or {"id": pid, "label": "?", "title": "", "text": "", "tags": []}
        state = self.store.state(self.coder, pid)
        rows = self.store.db.conn.execute(
            "SELECT kind, code_id, score, source FROM suggestions WHERE post_id = ? ORDER BY kind DESC, score DESC",
            (pid,),
        ).fetchall()
        suggestions = [(k, c, s) for k, c, s, _ in rows if k == "relevance" or self.codebook.node(c) is not None]
        arm = self.arm(post)
        # A blind post keeps its likely codes: they weigh its exposure (well-being first), never shown.
        self.current = Current(post, state, shown_sentences(post["text"]), [] if arm == BLIND else suggestions,
                               likely_codes(self.store, pid), arm)
        return self.current

    def arm(self, post: dict[str, Any] | int) -> str:
        """The study arm of a post (a row or an id): blind or shown, from the codebook's seed and share."""
        if isinstance(post, int):
            if self.current is not None and self.current.post["id"] == post:
                return self.current.arm
            post = self.store.post(post) or {}
        return arm_of(post, self.codebook)

    def go(self, index: int) -> Current:
        """Move to a post by position (clamped)."""
        self.index = max(0, min(index, len(self.posts) - 1))
        return self.load()

    def next(self) -> Current:
        """The next post in the queue."""
        return self.go(self.index + 1)

    def previous(self) -> Current:
        """The previous post in the queue."""
        return self.go(self.index - 1)

    def next_unfinished(self) -> Current:
        """The next post not yet finished (wrapping), or the next post if all are."""
        n = len(self.posts)
        for step in range(1, n + 1):
            i = (self.index + step) % n
            if self.posts[i] not in self.finished:
                return self.go(i)
        return self.next()

    def go_post(self, post_id: int) -> Current:
        """Show a given post (added to the walk if it is not in it)."""
        if post_id not in self.posts:
            self.posts.append(post_id)
        return self.go(self.posts.index(post_id))

    def promote_milder(self, weight_of: Any, severe: float) -> bool:
        """Move the first unfinished post lighter than `severe` (within the next 50) up to be next."""
        nxt = self.index + 1
        ahead = [i for i in range(nxt, min(len(self.posts), nxt + 50)) if self.posts[i] not in self.finished]
        if not ahead or weight_of(self.posts[ahead[0]]) < severe:
            return False
        for i in ahead[1:]:
            if weight_of(self.posts[i]) < severe:
                self.posts.insert(nxt, self.posts.pop(i))
                if self.has_queue:
                    self.store.set_queue(self.coder, self.posts)
                return True
        return False

    # ------------------------------------------------------------ decisions

    def _record(self, kind: str, *, code_id: str = "", value: str = "", ref: str = "",
                post_id: int | None = None) -> Event:
        assert self.current is not None
        pid = post_id if post_id is not None else self.current.post["id"]
        return self._commit(Event(self.coder, pid, kind, code_id=code_id, value=value, ref=ref,
                                  at=utc_stamp(self.clock()), codebook_hash=self.codebook.hash, arm=self.arm(pid)))

    def _commit(self, event: Event) -> Event:
        assert self.current is not None
        # Raises WriteRefused (busy, read-only, disk full) before anything here changes: not saved, not shown.
        ev = self.store.record(event)
        self.saved += 1
        self._count_time()
        pid = ev.post_id
        if pid is not None and pid == self.current.post["id"]:
            self.current.state = self.store.state(self.coder, pid)
            if self.current.state.finished:
                self.finished.add(pid)
            else:
                self.finished.discard(pid)
        return ev

    def set_relevance(self, value: int) -> Event:
        """Screen the post as relevant (1) or not (0)."""
        return self._record(EventKind.RELEVANCE, value=str(int(bool(value))))

    def add_code(self, code_id: str) -> Event | None:
        """Assign a code or sub-code (a no-op if it is already there); marks the post relevant."""
        node = self.codebook.node(code_id)
        if node is None or node.level == 1:
            raise SessionError(f"{code_id!r} is not a code of this codebook.")
        assert self.current is not None
        if node.id in self.current.state.codes:
            return None
        if self.current.state.relevance is None:
            self._record(EventKind.RELEVANCE, value="1")
        ev = self._record(EventKind.CODE_ADD, code_id=node.id)
        self.recent = [node.id] + [c for c in self.recent if c != node.id][: RECENT - 1]
        return ev

    def remove_code(self, code_id: str) -> Event | None:
        """Take a code off the post."""
        assert self.current is not None
        if code_id not in self.current.state.codes:
            return None
        return self._record(EventKind.CODE_REMOVE, code_id=code_id)

    def set_memo(self, text: str) -> Event | None:
        """Replace the post's memo (nothing is recorded if it did not change)."""
        assert self.current is not None
        if text == self.current.state.memo:
            return None
        return self._record(EventKind.MEMO, value=text)

    def toggle_flag(self) -> Event:
        """Flag the post for discussion with the other coder, or unflag it."""
        assert self.current is not None
        return self._record(EventKind.FLAG, value="0" if self.current.state.flagged else "1")

    def skip(self) -> Event:
        """Skip the post for now."""
        return self._record(EventKind.SKIP)

    def defer(self) -> Event:
        """Put the post back in the pool (no reason needed) and move it to the end of the walk."""
        assert self.current is not None
        ev = self._record(EventKind.DEFER)
        pid = self.current.post["id"]
        self.posts.remove(pid)
        self.posts.append(pid)
        if self.has_queue:
            self.store.set_queue(self.coder, self.posts)
        self.index = min(self.index, len(self.posts) - 1)
        return ev

    def set_done(self, done: bool = True) -> Event | None:
        """Mark the post as finished (or not); refused while a code on it has no definition yet."""
        assert self.current is not None
        if self.current.state.done == done:
            return None
        if done:
            for code_id in self.current.state.codes:
                node = self.codebook.node(code_id)
                if node is not None and node.level > 1 and not getattr(node, "definition", "x"):
                    raise SessionError(f"'{node.name}' has no definition yet; write one before this post is done.")
        return self._record(EventKind.DONE, value="1" if done else "0")

    def toggle_quote(self, sentence: int, code_id: str = "") -> Event | None:
        """Quote sentence number `sentence` as evidence for `code_id`, or unquote it if quoted."""
        assert self.current is not None
        if not 0 <= sentence < len(self.current.sentences):
            return None
        start, end = self.current.sentences[sentence]
        for q in self.current.state.quotes:
            if q.start == start and q.end == end:
                return self._record(EventKind.QUOTE_REMOVE, ref=q.event_id)
        text = self.current.post["text"][start:end]
        value = json.dumps({"start": start, "end": end, "text": text}, ensure_ascii=False)
        return self._record(EventKind.QUOTE_ADD, code_id=code_id, value=value)

    def decide_suggestion(self, code_id: str, accept: bool) -> Event:
        """Accept (assign) or reject a model suggestion; both are recorded so acceptance can be measured."""
        if self.current is not None and self.current.blind:
            raise SessionError("This post is blind: it shows no suggestion to accept or reject.")
        ev = self._record(EventKind.SUGGESTION_ACCEPT if accept else EventKind.SUGGESTION_REJECT, code_id=code_id)
        if accept and code_id != "relevance":
            self.add_code(code_id)
        elif accept:
            self.set_relevance(1)
        return ev

    def pending_suggestions(self) -> list[tuple[str, str, float]]:
        """Suggestions the coder has neither accepted, rejected nor already applied."""
        assert self.current is not None
        st = self.current.state
        out = []
        for kind, code_id, score in self.current.suggestions:
            key = "relevance" if kind == "relevance" else code_id
            applied = kind == "code" and code_id in st.codes or kind == "relevance" and st.relevance is not None
            # An accepted suggestion whose code was taken back again (undo) is open again.
            if not applied and st.suggestions.get(key) != "reject":
                out.append((kind, code_id, score))
        return out

    # ------------------------------------------------------------ the codebook (open coding)

    def change_codebook(self, kind: str, code_id: str, value: dict[str, Any], *, on_post: bool = True) -> Applied:
        """Change the codebook (create, edit, move, merge, retire): checked (SessionError, nothing written), committed,
        then in force."""
        work = OpenCodebook(self.codebook)
        post_id = self.current.post["id"] if on_post and self.current is not None else None
        change = Change(kind, code_id, value, self.coder, utc_stamp(self.clock()), new_event_id(), post_id)
        try:
            work.check(change)
        except ChangeRefused as e:
            raise SessionError(str(e)) from None
        self.store.record(Event(self.coder, post_id, kind, code_id=code_id, id=change.id, at=change.at,
                                value=json.dumps(value, ensure_ascii=False, sort_keys=True),
                                codebook_hash=self.codebook.hash))
        self.saved += 1
        self._note_file_read()
        applied = work.apply(change)
        self.codebook = work.build()
        return applied

    def _note_file_read(self) -> None:
        # Which codebook file the changes were made against, so `codebook write` can tell a hand edit.
        if not self._file_noted:
            try:
                with self.store.write() as conn:
                    note_file_read(conn, self.codebook.file_codebook().hash)
            except WriteRefused:
                return  # the change itself is saved; the note is tried again with the next one
            self._file_noted = True

    def reload_codebook(self) -> None:
        """Fold the project's codebook changes again (after undo, redo or a merge of another coder's file)."""
        self.codebook = effective_codebook(self.store.db.conn, self.codebook.file_codebook())[0]

    # ------------------------------------------------------------ undo / redo

    def undo(self) -> dict[str, Any] | None:
        """Take back the coder's last decision (a compensating event); shows its post."""
        return self._compensate(EventKind.UNDO, undo_target(self.store.db.conn, self.coder))

    def redo(self) -> dict[str, Any] | None:
        """Put back the decision last undone, if nothing else happened since."""
        return self._compensate(EventKind.REDO, redo_target(self.store.db.conn, self.coder))

    def _compensate(self, kind: EventKind, target: dict[str, Any] | None) -> dict[str, Any] | None:
        if target is None:
            return None
        # Recorded first: if the project refuses the write, the screen stays where it was.
        event = compensating(kind, target, self.coder, self.codebook.hash, at=utc_stamp(self.clock()))
        if target["kind"] in CODEBOOK_KINDS:
            self.store.record(event)
            self.saved += 1
            self.reload_codebook()
            if target["post_id"] is None:
                return target
        else:
            self._commit(replace(event, arm=self.arm(target["post_id"])))
        self._show_for(target["post_id"])
        self._refresh_finished(target["post_id"])
        return target

    def _show_for(self, post_id: int) -> None:
        if self.current is None or self.current.post["id"] != post_id:
            self.go_post(post_id)

    def _refresh_finished(self, post_id: int) -> None:
        st = self.store.state(self.coder, post_id)
        (self.finished.add if st.finished else self.finished.discard)(post_id)

    def _recent_codes(self) -> list[str]:
        rows = self.store.db.conn.execute(
            "SELECT code_id FROM events WHERE coder = ? AND kind = ? ORDER BY seq DESC LIMIT 50",
            (self.coder, EventKind.CODE_ADD),
        )
        recent: list[str] = []
        for (cid,) in rows:
            current = self.codebook.resolve(cid)
            if current and current not in recent:
                recent.append(current)
            if len(recent) == RECENT:
                break
        return recent

    def _time_today(self) -> tuple[float, datetime | None]:
        # "Today" begins at midnight where the clock says it is (the real clock: the machine's time zone).
        now = self.clock()
        since = utc_stamp(now.replace(hour=0, minute=0, second=0, microsecond=0))
        rows = self.store.db.conn.execute(
            "SELECT at FROM events WHERE coder = ? AND at >= ? ORDER BY at", (self.coder, since)
        ).fetchall()
        total, last = 0.0, None
        for (at,) in rows:
            t = _parse(at, now)
            if last is not None:
                total += min((t - last).total_seconds(), IDLE_GAP)
            last = t
        return total, last

    def _count_time(self) -> None:
        now = self.clock().astimezone(timezone.utc)
        if self._last_event_at is not None:
            gap = (now - self._last_event_at).total_seconds()
            if 0 < gap:
                self.seconds_today += min(gap, IDLE_GAP)
        self._last_event_at = now


def likely_codes(store: Store, post_id: int) -> list[str]:
    """The suggested codes that count towards a post's exposure weight before anyone coded it.

    Only confident suggestions (`tui.core.prelabel.suggestions.confident_codes`): a zero-shot
    similarity means nothing on its own (on off-topic text one code came first for most posts).
    """
    rows = store.db.conn.execute(
        "SELECT code_id, score, source FROM suggestions WHERE post_id = ? AND kind = 'code' ORDER BY score DESC",
        (post_id,)).fetchall()
    return confident_codes(rows, store.meta("prelabel.code_method") or "") if rows else []


def _parse(at: str, now: datetime) -> datetime:
    try:
        return datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        return now - timedelta(days=1)
