"""A coder's session without the app: navigation, resume, decisions, counts and time today, on a real file."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tui.core.codebook.loading import load_codebook
from tui.core.codebook.model import Codebook
from tui.core.coding.session import IDLE_GAP, Session, SessionError
from tui.core.project.store import Store, WriteRefused

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DEBT = "targeting/financial-instability/debt"
AGE = "targeting/age"
CHINA = timezone(timedelta(hours=8))


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock on."""
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def codebook() -> Codebook:
    """The small two-category test codebook."""
    return load_codebook(FIXTURES / "small.yaml")


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """A project file with four posts (row ids 1 to 4), in label order."""
    file = tmp_path / "session.db"
    with Store(file) as store, store.write() as conn:
        conn.executemany(
            "INSERT INTO posts (platform, platform_id, label, text, text_hash) VALUES ('xhs', ?, ?, ?, 'h')",
            [(f"n{i}", f"P-{i}", f"Post {i} one. Post {i} two.") for i in (1, 2, 3, 4)])
    return file


@pytest.fixture
def store(path: Path) -> Iterator[Store]:
    """The project, open for writing."""
    s = Store(path)
    yield s
    s.close()


@pytest.fixture
def clock() -> FakeClock:
    """Ten in the morning in UTC+8."""
    return FakeClock(datetime(2026, 11, 22, 10, 0, tzinfo=CHINA))


def _session(store: Store, codebook: Codebook, clock: FakeClock, coder: str = "alice") -> Session:
    return Session(store, codebook, coder, clock=clock)


def _post_id(s: Session) -> int:
    assert s.current is not None
    return int(s.current.post["id"])


def test_navigation_moves_clamps_and_wraps(store: Store, codebook: Codebook, clock: FakeClock) -> None:
    s = _session(store, codebook, clock)
    assert (s.total, s.index, _post_id(s)) == (4, 0, 1)
    s.previous()
    assert s.index == 0  # clamped at the start
    s.go(99)
    assert s.index == 3
    s.next()
    assert s.index == 3  # and at the end
    s.go(0)
    s.set_relevance(0)
    s.go(1)
    s.set_relevance(0)
    s.go(3)
    s.next_unfinished()  # wraps past the finished first two
    assert _post_id(s) == 3
    assert s.current is not None and s.current.sentences == [(0, 11), (12, 23)]


def test_a_coder_without_a_name_is_refused(store: Store, codebook: Codebook, clock: FakeClock) -> None:
    with pytest.raises(SessionError, match="coder name"):
        _session(store, codebook, clock, coder="  ")


def test_screening_and_coding_decisions_and_counts(store: Store, codebook: Codebook, clock: FakeClock) -> None:
    s = _session(store, codebook, clock)
    s.set_relevance(0)
    assert s.n_finished == 1 and s.finished == {1}
    s.next()
    assert s.add_code(DEBT) is not None
    assert s.add_code(DEBT) is None  # already there: nothing recorded
    assert s.current is not None
    assert s.current.state.relevance == 1  # coding a post marks it relevant
    assert list(s.current.state.codes) == [DEBT]
    assert s.recent == [DEBT]
    s.add_code(AGE)
    s.remove_code(AGE)
    s.set_memo("debt, not age")
    assert s.set_memo("debt, not age") is None
    s.toggle_quote(1, DEBT)
    s.toggle_flag()
    assert s.n_finished == 1  # relevant but not done
    s.set_done()
    assert s.n_finished == 2 and s.finished == {1, 2}
    st = store.state("alice", 2)
    assert (list(st.codes), st.memo, st.flagged, st.done) == ([DEBT], "debt, not age", True, True)
    assert [q.text for q in st.quotes] == ["Post 2 two."]
    assert s.saved == 9  # screened out; relevance (implied), debt, age, age off, memo, quote, flag, done
    with pytest.raises(SessionError, match="not a code"):
        s.add_code("targeting")  # a category is not a code


def test_undo_and_redo_through_the_session(store: Store, codebook: Codebook, clock: FakeClock) -> None:
    s = _session(store, codebook, clock)
    s.set_relevance(0)
    s.next()
    s.set_relevance(0)
    assert s.n_finished == 2
    assert s.undo() is not None and s.undo() is not None
    assert s.n_finished == 0 and _post_id(s) == 1  # the screen follows the decision taken back
    assert s.redo() is not None
    assert s.finished == {1}
    s.set_relevance(1)  # a new decision: nothing left to redo
    assert s.redo() is None


def test_resume_at_the_saved_place_or_the_last_decision(path: Path, codebook: Codebook, clock: FakeClock) -> None:
    with Store(path) as store:
        s = _session(store, codebook, clock)
        s.go(2)
        s.save_place("coding")
    with Store(path) as store:
        again = _session(store, codebook, clock)
        assert (_post_id(again), again.last_place()) == (3, (3, "coding"))
        # Another coder has no saved place: they resume after the last post they finished.
        bob = _session(store, codebook, clock, coder="bob")
        bob.set_relevance(0)
        bob.next()
        bob.set_relevance(1)
    with Store(path) as store:
        store.set_project_setting("place.bob", "not json")  # a damaged place is ignored
        assert _post_id(_session(store, codebook, clock, coder="bob")) == 2


def test_time_today_counts_gaps_up_to_the_idle_limit(path: Path, codebook: Codebook, clock: FakeClock) -> None:
    with Store(path) as store:
        s = _session(store, codebook, clock)
        assert s.seconds_today == 0
        s.set_relevance(1)
        clock.advance(60)
        s.add_code(DEBT)
        assert s.seconds_today == 60
        clock.advance(3600)  # a long pause counts as the idle limit, not an hour
        s.set_memo("back")
        assert s.seconds_today == 60 + IDLE_GAP
    with Store(path) as store:  # reopened the same day: the same time, from the log
        assert _session(store, codebook, clock).seconds_today == 60 + IDLE_GAP
    clock.now = datetime(2026, 11, 23, 0, 5, tzinfo=CHINA)  # past midnight where the coder is
    with Store(path) as store:
        s = _session(store, codebook, clock)
        assert s.seconds_today == 0
        s.set_relevance(0)
        clock.advance(30)
        s.next()
        s.set_relevance(0)
        assert s.seconds_today == 30


def test_a_refused_write_leaves_the_session_unchanged(path: Path, codebook: Codebook, clock: FakeClock) -> None:
    with Store(path) as store:
        _session(store, codebook, clock).set_relevance(1)
    with Store(path, readonly=True) as store:
        s = _session(store, codebook, clock)
        assert s.current is not None
        before = (s.current.state, set(s.finished), s.saved, s.seconds_today, list(s.recent))
        clock.advance(60)
        for decide in (lambda: s.set_relevance(0), lambda: s.add_code(DEBT), lambda: s.set_done(), s.undo):
            with pytest.raises(WriteRefused, match="read-only"):
                decide()
        assert (s.current.state, set(s.finished), s.saved, s.seconds_today, list(s.recent)) == before
        assert store.events(coder="alice")[-1]["kind"] == "relevance"
