"""Well-being promises at their edges: no post text after a limit, masking everywhere, check-ins after
breaks, self-started breaks, memo drafts, and the status line."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

import tui
from tests.samples import CODEBOOK
from tests.ui.conftest import screen_text
from tui.core.codebook.model import Codebook
from tui.core.coding import session as session_module
from tui.core.config import Config
from tui.core.project.store import Store
from tui.ui.app import QualtuiApp
from tui.ui.screens.break_screen import BreakScreen
from tui.ui.screens.checkin import CheckinScreen
from tui.ui.screens.coding import CodingScreen
from tui.ui.screens.memo import MemoScreen
from tui.ui.screens.report import ReportScreen
from tui.ui.screens.wellbeing import ConfirmScreen

SIZE = (120, 40)
WINDOW = 12
"""A run of this many characters (spaces aside) shared with a post counts as post text on screen."""


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 1_790_000_000.0

    def __call__(self) -> float:
        return self.t


def _app(project: Path, codebook: Codebook, clock: Clock, masking: bool = False, **wb: object) -> QualtuiApp:
    cfg = Config(wellbeing={"checkins": False, **wb}, masking=masking)
    return QualtuiApp(Store(project), codebook, "alice", mode="coding", config=cfg, clock=clock)


async def _read_for(pilot: Any, app: QualtuiApp, clock: Clock, minutes: int) -> None:
    """Read with the coder present: a key now and then, the app ticking every second."""
    for _ in range(minutes):
        clock.t += 60
        await pilot.press("j")
        app._on_tick()
        if isinstance(app.screen, BreakScreen):
            break
    await pilot.pause()


async def _report_loaded(pilot: Any, app: QualtuiApp) -> None:
    """Wait for the report's worker (the machine is shared: allow it a few seconds)."""
    for _ in range(100):
        await pilot.pause(0.05)
        if not isinstance(app.screen, ReportScreen):
            return  # a break screen kept the key from opening it
        if app.screen.results is not None:
            return
    raise AssertionError("the report did not load")


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _post_windows(project: Path) -> set[str]:
    """Every run of WINDOW characters of every post sentence (of 12+ characters), spaces removed."""
    store = Store(project)
    rows = store.db.execute("SELECT text, title, tags FROM posts").fetchall()
    store.close()
    # The codebook and the app's own words may share a phrase with a post; those are not post text.
    ours = [CODEBOOK, *Path(tui.__file__).parent.rglob("*.py")]
    codebook_text = _squash("".join(p.read_text(encoding="utf-8") for p in ours))
    out: set[str] = set()
    for text, title, tags in rows:
        for piece in (text, title, " ".join(json.loads(tags or "[]"))):
            for sentence in re.split(r"[.!?。！？\n#]", piece or ""):
                if len(sentence.strip()) < 12:
                    continue
                flat = _squash(sentence)
                for i in range(len(flat) - WINDOW + 1):
                    w = flat[i:i + WINDOW]
                    if w not in codebook_text:
                        out.add(w)
    return out


def _leaks(app: QualtuiApp, windows: set[str]) -> list[str]:
    flat = _squash(screen_text(app))
    return sorted({flat[i:i + WINDOW] for i in range(len(flat) - WINDOW + 1)} & windows)


def _quote_and_memo(app: QualtuiApp, codebook: Codebook) -> str:
    """Code the post on screen, quote its first sentence and write a memo quoting it; returns the sentence."""
    s = app.session
    code = "control/physical-abuse/beaten"
    s.add_code(code)
    text = s.current.post["text"]
    i = max(range(len(s.current.sentences)), key=lambda i: len(text[slice(*s.current.sentences[i])].strip()))
    s.toggle_quote(i, code)
    a, b = s.current.sentences[i]
    sentence = text[a:b].strip()
    s.set_memo("The post says: " + sentence)
    app.text_screen().refresh_post()
    return sentence


async def _walk(pilot: Any, app: QualtuiApp, windows: set[str], where: str) -> list[str]:
    """Open every screen and tab a coder can reach and collect what post text shows on each."""
    found: list[str] = []

    async def look(what: str) -> None:
        await pilot.pause()
        leaks = _leaks(app, windows)
        if leaks:
            found.append(f"{where} / {what}: {leaks[:3]}")

    await look("coding screen and side panel")
    await pilot.press("R")
    await _report_loaded(pilot, app)
    for i in range(1, 6):
        await pilot.press(str(i))
        await look(f"report tab {i}")
    await pilot.press("escape")
    await pilot.press("w")
    await look("well-being screen")
    await pilot.press("escape")
    await pilot.press("slash", *"tortur")
    await look("search")
    await pilot.press("ctrl+d")
    await look("search definition")
    await pilot.press("escape")
    await pilot.press("ctrl+p")
    await pilot.press(*"beaten")
    await pilot.pause(0.5)  # the palette searches in the background
    await look("palette")
    await pilot.press("escape")
    await pilot.press("question_mark")
    await look("help")
    await pilot.press("escape")
    await pilot.press("e")
    await look("memo")
    await pilot.press("escape")
    await pilot.pause()
    return found


async def test_no_post_text_anywhere_during_a_break_or_after_the_daily_limit(
        project: Path, codebook: Codebook) -> None:
    clock = Clock()
    windows = _post_windows(project)
    # The cap and a short break fall due together: first the break, then the limit.
    app = _app(project, codebook, clock, short_break_after_minutes=30, daily_cap_minutes=30)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        sentence = _quote_and_memo(app, codebook)
        await pilot.pause()
        assert _squash(sentence)[:WINDOW] in windows
        assert _leaks(app, windows), "the check must see the post while it is allowed"
        await pilot.press("R")
        await _report_loaded(pilot, app)
        await pilot.press("4")
        await pilot.pause()
        assert _squash(sentence)[:WINDOW] in _squash(screen_text(app)), "quotes show before the limit"
        await pilot.press("escape")
        await _read_for(pilot, app, clock, 19)  # 28.5 weighted minutes: the post is coded as violence (1.5)
        # A report left open when a break begins (a postponed break coming back, say).
        await pilot.press("R")
        await _report_loaded(pilot, app)
        await pilot.press("4")
        app.wb._start_break(clock(), "short")
        app._on_tick()
        await pilot.pause()
        assert isinstance(app.screen, BreakScreen) and app.screen.kind == "short"
        assert not _leaks(app, windows)
        report = app.first_screen(ReportScreen)
        assert report is not None, app.screen_stack
        # Under the break screen, the report it covers no longer holds the quotes either.
        assert "hidden" in str(report.query_one("#quotes-body").render())
        found = await _walk(pilot, app, windows, "break")  # keys do nothing here: the break screen stays
        clock.t += 5 * 60 + 3
        app._on_tick()
        await pilot.pause()
        assert isinstance(app.screen, ReportScreen)
        await pilot.press("escape")
        await _read_for(pilot, app, clock, 2)
        assert isinstance(app.screen, BreakScreen) and app.screen.kind == "capped"
        assert not _leaks(app, windows)
        clock.t += 3
        await pilot.press("escape")  # to exposure-free work
        await pilot.pause()
        assert isinstance(app.screen, CodingScreen) and app.screen.text_hidden
        found += await _walk(pilot, app, windows, "after the limit")
        assert not found, "\n".join(found)


async def test_masking_covers_title_tags_quotes_memo_report_and_palette(project: Path, codebook: Codebook) -> None:
    clock = Clock()
    app = _app(project, codebook, clock, masking=True)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        s = app.session
        pid = s.current.post["id"]
        with s.store.db.conn:
            s.store.db.conn.execute(
                "UPDATE posts SET title = ?, tags = ?, text = ? WHERE id = ?",
                ("…I was raped there…", json.dumps(["torture victims"]),
                 "I was raped there. Then they let me go home.", pid))
        s.load()
        s.add_code("control/physical-abuse/beaten")
        s.toggle_quote(0, "control/physical-abuse/beaten")
        s.set_memo("She says she was raped there.")
        app.text_screen().refresh_post()
        await pilot.pause()
        text = screen_text(app)
        assert "raped" not in text and "torture" not in text
        assert "I was █████ there…" in text  # the title
        assert "#███████ victims" in text  # the tags
        assert "“I was █████ there.”" in text  # the side panel's quote
        assert "she was █████ there" in text  # the memo in the side panel
        await pilot.press("v")  # reveals the current post everywhere on the coding screen
        text = screen_text(app)
        assert "…I was raped there…" in text and "#torture victims" in text and "she was raped there" in text
        await pilot.press("R")
        await _report_loaded(pilot, app)
        await pilot.press("4")
        await pilot.pause()
        report = screen_text(app)
        assert "I was █████ there." in report and "raped" not in report
        await pilot.press("escape")
        await pilot.press("ctrl+p", *"sexual")
        await pilot.pause(0.5)  # the palette searches in the background
        palette = screen_text(app)
        assert "The victim is █████ or" in palette and "is raped" not in palette


async def test_session_start_checkin_waits_for_the_break_it_opened_into(project: Path, codebook: Codebook) -> None:
    clock = Clock()
    app = _app(project, codebook, clock, checkins=True)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("s")  # skip the first check-in
        await pilot.press("B", "y")
        await pilot.pause()
        assert isinstance(app.screen, BreakScreen)
        app.end_session()
    clock.t += 60
    again = _app(project, codebook, clock, checkins=True)
    async with again.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        assert isinstance(again.screen, BreakScreen)
        clock.t += 5 * 60
        again._on_tick()
        await pilot.pause()
        assert isinstance(again.screen, CheckinScreen) and again.screen.moment == "session_start"
        await pilot.press("3")
        await pilot.pause()
        assert again.wb.s.checkin_due is None


async def test_long_break_checkin_is_offered_when_the_break_ends(project: Path, codebook: Codebook) -> None:
    clock = Clock()
    app = _app(project, codebook, clock, checkins=True, long_break_after_minutes=25)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("s")
        await _read_for(pilot, app, clock, 26)
        assert isinstance(app.screen, BreakScreen) and app.screen.kind == "long"
        clock.t += 15 * 60 + 1
        app._on_tick()
        await pilot.pause()
        assert isinstance(app.screen, CheckinScreen) and app.screen.moment == "long_break"
        await pilot.press("2")
    store = Store(project)
    rows = store.db.execute("SELECT detail FROM wb_log WHERE coder = 'alice' AND kind = 'checkin'").fetchall()
    store.close()
    assert [json.loads(r[0])["moment"] for r in rows] == ["long_break"]


async def test_break_now_asks_first_and_a_self_started_break_can_be_ended(project: Path, codebook: Codebook) -> None:
    clock = Clock()
    app = _app(project, codebook, clock)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("B")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, CodingScreen) and app.wb.s.brk is None
        await pilot.press("B", "y")
        await pilot.pause()
        assert isinstance(app.screen, BreakScreen)
        clock.t += 3  # past the key guard
        app._on_tick()
        await pilot.pause()
        assert "e end this break" in screen_text(app)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, CodingScreen) and app.wb.s.brk is None
        assert any("does not count" in n.message for n in app._notifications)
        # An enforced break shows no such key, and e does not end it.
        app.wb._start_break(clock(), "short")
        app._on_tick()
        await pilot.pause()
        clock.t += 3
        app._on_tick()
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, BreakScreen) and "end this break" not in screen_text(app)
    store = Store(project)
    breaks = store.db.execute("SELECT count(*) FROM wb_log WHERE coder = 'alice' AND kind = 'break'").fetchone()[0]
    store.close()
    assert breaks == 0  # the break ended early did not count


async def test_escape_keeps_a_memo_draft_and_only_an_explicit_discard_drops_it(
        project: Path, codebook: Codebook, tmp_path: Path) -> None:
    from tui.core.coding.memo_drafts import load_draft

    clock = Clock()
    app = _app(project, codebook, clock)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        pid = app.session.current.post["id"]
        await pilot.press("e", *"half a thought")
        await pilot.pause(0.8)  # the draft is on disk within a second, before any Esc (kill -9 safe)
        other = Store(project)
        assert load_draft(other, "alice", pid) == "half a thought"
        other.close()
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, CodingScreen) and app.session.current.state.memo == ""
        assert any("Draft kept" in n.message for n in app._notifications)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, MemoScreen)
        assert app.screen.query_one("#memo-text").text == "half a thought"
        # Drafts stay out of exports.
        app.session.toggle_flag()
        from tui.core.sync.exchange import export_events
        out = tmp_path / "alice.jsonl"
        export_events(app.store, out, coder="alice", codebook_hash=codebook.hash if hasattr(codebook, "hash")
                      else "", with_text=True, with_wellbeing=True)
        assert "half a thought" not in out.read_text(encoding="utf-8")
        await pilot.press("ctrl+d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, CodingScreen)
        assert load_draft(app.store, "alice", pid) is None
        await pilot.press("e", *"kept", "ctrl+s")
        await pilot.pause()
        assert app.session.current.state.memo == "kept" and load_draft(app.store, "alice", pid) is None


async def test_status_shows_the_postponed_break(project: Path, codebook: Codebook) -> None:
    clock = Clock()
    app = _app(project, codebook, clock)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await _read_for(pilot, app, clock, 26)
        assert isinstance(app.screen, BreakScreen)
        clock.t += 3
        await pilot.press("p")
        app._on_tick()
        await pilot.pause()
        text = screen_text(app)
        assert "break postponed: back in 2 min" in text and "next break in 0 min" not in text


async def test_time_away_does_not_count_as_time_today(project: Path, codebook: Codebook,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()

    class SimDatetime(datetime):
        """The session's idea of now follows the simulated clock too."""

        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return datetime.fromtimestamp(clock.t, tz or timezone.utc)

    monkeypatch.setattr(session_module, "datetime", SimDatetime)
    app = _app(project, codebook, clock, short_break_after_minutes=200, long_break_after_minutes=300)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        app.text_screen().mode = "screening"
        await pilot.press("1")  # a decision
        for _ in range(2):
            clock.t += 30
            await pilot.press("j")
            app._on_tick()
        await pilot.press("1")
        await pilot.pause()
        before = re.search(r"(\d+h\d\d) today", screen_text(app)).group(1)  # type: ignore[union-attr]
        for _ in range(40):  # 20 minutes away, the app ticking
            clock.t += 30
            app._on_tick()
        after_away = re.search(r"(\d+h\d\d) today", screen_text(app)).group(1)  # type: ignore[union-attr]
        await pilot.press("1")  # one key on return
        await pilot.pause()
        after = re.search(r"(\d+h\d\d) today", screen_text(app)).group(1)  # type: ignore[union-attr]
        # At most the presence window (90 s) after the last key counts; the rest of the 20 minutes does not.
        assert before == "0h01" and after_away == "0h02" and after == "0h02", (before, after_away, after)


async def test_a_memo_open_when_the_limit_is_reached_is_hidden_and_kept(project: Path, codebook: Codebook) -> None:
    clock = Clock()
    app = _app(project, codebook, clock, short_break_after_minutes=30, daily_cap_minutes=30)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        s = app.session
        a, b = max(s.current.sentences, key=lambda span: span[1] - span[0])
        sentence = s.current.post["text"][a:b].strip()
        s.set_memo("It says: " + sentence)
        await _read_for(pilot, app, clock, 29)
        await pilot.press("e", *" more")
        await pilot.pause()
        assert _squash(sentence)[:WINDOW] in _squash(screen_text(app))
        clock.t += 120  # the memo covers only part of the post: reading goes on, to the limit
        app._on_tick()
        clock.t += 5 * 60 + 3
        app._on_tick()
        await pilot.pause()
        assert isinstance(app.screen, BreakScreen) and app.screen.kind == "capped"
        clock.t += 3
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MemoScreen)
        assert _squash(sentence)[:WINDOW] not in _squash(screen_text(app))
        await pilot.press(*"added", "ctrl+s")
        await pilot.pause()
        assert s.current.state.memo == "It says: " + sentence + " more\n\nadded"


async def test_raising_the_cap_in_the_config_does_not_reopen_today(project: Path, codebook: Codebook) -> None:
    clock = Clock()
    app = _app(project, codebook, clock, short_break_after_minutes=30, daily_cap_minutes=30)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await _read_for(pilot, app, clock, 31)
        clock.t += 5 * 60 + 3  # the break that fell due with the cap
        app._on_tick()
        await pilot.pause()
        assert isinstance(app.screen, BreakScreen) and app.screen.kind == "capped"
        post = app.session.current.post
        app.end_session()
    clock.t += 60
    again = _app(project, codebook, clock, short_break_after_minutes=30, daily_cap_minutes=600, strictness="gentle")
    async with again.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        assert isinstance(again.screen, BreakScreen) and again.screen.kind == "capped"
        assert post["text"][:12] not in screen_text(again)
        clock.t += 3
        await pilot.press("escape")
        await pilot.pause()
        assert again.text_screen().text_hidden and post["text"][:12] not in screen_text(again)
