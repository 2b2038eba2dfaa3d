"""Well-being in the app: breaks hide every post, survive a restart; masking; check-ins."""

from __future__ import annotations

from pathlib import Path

from tests.ui.conftest import screen_text
from tui.core.codebook.model import Codebook
from tui.core.config import Config
from tui.core.project.store import Store
from tui.ui.app import QualtuiApp
from tui.ui.screens.break_screen import BreakScreen
from tui.ui.screens.checkin import AdviceScreen, CheckinScreen

SIZE = (120, 40)


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 1_790_000_000.0

    def __call__(self) -> float:
        return self.t


def _app(project: Path, codebook: Codebook, clock: Clock, **wb: object) -> QualtuiApp:
    cfg = Config(wellbeing={"checkins": False, **wb}, masking=False)
    return QualtuiApp(Store(project), codebook, "alice", mode="coding", config=cfg, clock=clock)


async def _read_for(pilot: object, app: QualtuiApp, clock: Clock, minutes: int) -> None:
    """Read with the coder present: a key now and then, the app ticking every second."""
    for _ in range(minutes):
        clock.t += 60
        await pilot.press("j")  # type: ignore[attr-defined]
        app._on_tick()
        if isinstance(app.screen, BreakScreen):
            break
    await pilot.pause()  # type: ignore[attr-defined]


def _visible_snippets(post: dict) -> list[str]:
    # The first line only: a post whose text breaks within 12 characters would fail by chance.
    return [w for w in (post["title"][:12], post["text"].split("\n")[0][:12]) if w.strip()]


async def test_break_hides_all_post_text_and_blocks_keys(project: Path, codebook: Codebook) -> None:
    clock = Clock()
    app = _app(project, codebook, clock)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        post = app.session.current.post
        assert all(s in screen_text(app) for s in _visible_snippets(post))
        await _read_for(pilot, app, clock, 26)
        assert isinstance(app.screen, BreakScreen)
        text = screen_text(app)
        assert "short break" in text
        assert not any(s in text for s in _visible_snippets(post))
        n_events = len(Store(project).events(coder="alice"))
        await pilot.press("1", "4", "p", "enter", "escape", "right", "e")
        assert len(Store(project).events(coder="alice")) == n_events
        assert isinstance(app.screen, BreakScreen)
        clock.t += 5 * 60 + 1
        app._on_tick()
        await pilot.pause()
        assert not isinstance(app.screen, BreakScreen)
        assert all(s in screen_text(app) for s in _visible_snippets(post))


async def test_restart_in_the_middle_of_a_break_returns_to_it(project: Path, codebook: Codebook) -> None:
    clock = Clock()
    app = _app(project, codebook, clock)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await _read_for(pilot, app, clock, 26)
        assert isinstance(app.screen, BreakScreen)
        post = app.session.current.post
    clock.t += 60  # back after one minute: four minutes of the break are left
    again = _app(project, codebook, clock, short_break_minutes=1)  # editing settings does not shorten it
    async with again.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        assert isinstance(again.screen, BreakScreen)
        assert not any(s in screen_text(again) for s in _visible_snippets(post))
        clock_text = str(again.screen.query_one("#break-clock").render())
        assert clock_text.startswith(("3:", "4:")), clock_text


async def test_postpone_once_in_firm_mode(project: Path, codebook: Codebook) -> None:
    clock = Clock()
    app = _app(project, codebook, clock)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await _read_for(pilot, app, clock, 26)
        clock.t += 3  # past the 2-second key guard
        await pilot.press("p")
        app._on_tick()
        await pilot.pause()
        assert not isinstance(app.screen, BreakScreen)
        await _read_for(pilot, app, clock, 3)
        assert isinstance(app.screen, BreakScreen)
        clock.t += 3
        await pilot.press("p")  # a second postponement in a row is refused
        app._on_tick()
        assert isinstance(app.screen, BreakScreen)


async def test_masking_hides_and_reveals(project: Path, codebook: Codebook) -> None:
    s = Store(project)
    pid = s.db.execute("SELECT id FROM posts WHERE text LIKE '%电棍%' LIMIT 1").fetchone()[0]
    s.close()
    app = QualtuiApp(Store(project), codebook, "alice", mode="coding",
                     config=Config(wellbeing={"checkins": False}))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        app.session.go_post(pid)
        app.screen.refresh_post()
        await pilot.pause()
        text = screen_text(app)
        assert "█" in text and "电棍" not in text
        await pilot.press("v")
        revealed = screen_text(app)
        assert "电棍" in revealed
        await pilot.press("right", "left")
        assert app.session.current.post["id"] == pid
        assert "电棍" not in screen_text(app)


async def test_checkin_at_start_suggests_stopping_with_contacts(project: Path, codebook: Codebook) -> None:
    cfg = Config(wellbeing={"support_contacts": ["Team lead: +00 000 (call any time)"]})
    app = QualtuiApp(Store(project), codebook, "alice", config=cfg)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        assert isinstance(app.screen, CheckinScreen)
        await pilot.press("8")
        await pilot.pause()
        assert isinstance(app.screen, AdviceScreen)
        assert "Team lead: +00 000" in screen_text(app)
        await pilot.press("x")
    rows = Store(project).db.execute(
        "SELECT kind, value FROM wb_log WHERE coder = 'alice' AND kind = 'checkin'").fetchall()
    assert rows and rows[-1][1] == 8


async def test_severe_limit_hides_severe_posts_only(project: Path, codebook: Codebook) -> None:
    clock = Clock()
    s = Store(project)
    ids = s.post_ids()
    with s.db.conn:  # the model, learned from the coders, thinks the first post is about torture; the second is mild
        s.db.conn.execute("INSERT INTO suggestions (post_id, kind, code_id, score, source)"
                          " VALUES (?, 'code', ?, 0.9, 'learned')", (ids[0], "control/physical-abuse/torture"))
    s.close()
    app = _app(project, codebook, clock, daily_severe_cap_minutes=10, daily_cap_minutes=600,
               short_break_after_minutes=500, long_break_after_minutes=500, severe_pause_seconds=0)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        assert app.session.current.post["id"] == ids[0]
        await _read_for(pilot, app, clock, 12)
        assert app.screen.text_hidden and "severe posts" in app.screen.text_hidden
        assert not any(x in screen_text(app) for x in _visible_snippets(app.session.current.post))
        await pilot.press("right")
        assert app.session.current.post["id"] != ids[0]
        assert app.screen.text_hidden is None
        assert any(x in screen_text(app) for x in _visible_snippets(app.session.current.post))
