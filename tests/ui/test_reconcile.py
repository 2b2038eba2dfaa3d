"""Reconciliation by keyboard: every choice asks why, lands as consensus events, then the screen moves on."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from textual.app import App

import tui.ui
from tests.samples import xhs_note
from tests.sync_helpers import ADULT, AGE, CB, DEBT, DOCS, FIRST, NEWS, TEEN, code, pid, project
from tests.ui.conftest import screen_text
from tui.core.config import Config
from tui.core.project.events import CONSENSUS, QUOTE_ADD, RECONCILE, Event
from tui.core.project.ingest import import_file
from tui.core.project.store import Store
from tui.ui.reconcile_app import ReconcileApp
from tui.ui.screens.break_screen import BreakScreen
from tui.ui.screens.reconcile import DecisionTypeScreen, ReconciledSetScreen, ReconcileHelpScreen, ReconcileScreen

SIZE = (120, 40)
PLAN_A = {0: (1, [TEEN, FIRST]), 1: (1, [DEBT]), 2: (0, []), 3: (1, [DOCS, NEWS]), 4: (1, [DEBT, NEWS])}
PLAN_B = {0: (1, [ADULT, FIRST]), 1: (1, [DEBT, DOCS]), 2: (1, [AGE]), 3: (1, [DOCS, NEWS]), 4: (1, [DEBT, FIRST])}
# Disputed: note 0 (teen vs adult), 1 (documents), 2 (relevance and age), 4 (news vs first person).


class Host(App[None]):
    """The smallest app around the screen: no well-being hooks, no masking."""

    CSS_PATH = Path(tui.ui.__file__).parent / "app.tcss"

    def __init__(self, store: Store, **kwargs: Any) -> None:
        super().__init__()
        self.store = store
        self.kwargs = kwargs

    def on_mount(self) -> None:
        self.push_screen(ReconcileScreen(self.store, CB, by="lead", **self.kwargs))


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 1_790_000_000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """alice and bob finished the same five posts and disagree on four of them."""
    s = project(tmp_path, "p")
    code(s, "alice", PLAN_A, memo="alice's memo")
    code(s, "bob", PLAN_B)
    s.close()
    return tmp_path / "p.db"


def _screen(app: App[Any]) -> ReconcileScreen:
    screen = next(s for s in app.screen_stack if isinstance(s, ReconcileScreen))
    return screen


def _consensus(db: Path, note: int) -> Any:
    s = Store(db)
    try:
        return s.state(CONSENSUS, pid(s, note))
    finally:
        s.close()


def _reconciles(db: Path) -> list[tuple[str, str, dict[str, Any]]]:
    """Every reconcile event: (platform id, item, decoded value), in order."""
    s = Store(db)
    rows = s.db.conn.execute(
        "SELECT p.platform_id, e.code_id, e.value FROM events e JOIN posts p ON p.id = e.post_id"
        " WHERE e.coder = ? AND e.kind = ? ORDER BY e.seq", (CONSENSUS, RECONCILE)).fetchall()
    s.close()
    return [(p, item, json.loads(v)) for p, item, v in rows]


async def _go_to(pilot: Any, app: App[Any], db: Path, note: int) -> None:
    """Step with n/p until the screen shows the note's post."""
    s = Store(db)
    target = pid(s, note)
    s.close()
    screen = _screen(app)
    ids = [d.post_id for d in screen.items]
    assert target in ids
    while screen.current.post_id != target:  # type: ignore[union-attr]
        await pilot.press("n" if ids.index(target) > screen.index else "p")


async def _decide(pilot: Any, key: str, reason: str = "m", note: str = "") -> None:
    await pilot.press(key)
    assert isinstance(pilot.app.screen, DecisionTypeScreen)
    await pilot.press(reason, *note, "enter")
    await pilot.pause()


async def _decide_open(pilot: Any, reason: str, note: str = "") -> None:
    assert isinstance(pilot.app.screen, DecisionTypeScreen)
    await pilot.press(reason, *note, "enter")
    await pilot.pause()


async def test_keep_a_keep_b_both_and_drop_are_committed_and_move_on(db: Path) -> None:
    app = Host(Store(db))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = _screen(app)
        assert screen.describe()["total"] == 4 and "0 / 4 reconciled" in screen_text(app)
        await _go_to(pilot, app, db, 0)
        await _decide(pilot, "a", "m", "alice saw the school uniform")
        st = _consensus(db, 0)
        assert set(st.codes) == {TEEN, FIRST} and st.relevance == 1 and st.done
        assert screen.current.post_id != pid(Store(db), 0) and not screen.current.resolved  # type: ignore[union-attr]
        assert "1 / 4 reconciled" in screen_text(app)

        await _go_to(pilot, app, db, 4)
        await _decide(pilot, "b", "w")
        assert set(_consensus(db, 4).codes) == {DEBT, FIRST}
        await _go_to(pilot, app, db, 1)
        await _decide(pilot, "o", "u", "documents or not?")
        assert set(_consensus(db, 1).codes) == {DEBT, DOCS}
        await _go_to(pilot, app, db, 2)
        await _decide(pilot, "d", "o")
        st = _consensus(db, 2)
        assert st.relevance == 0 and not st.codes and st.finished  # alice screened it out: not agreed
        assert "4 / 4 reconciled" in screen_text(app)

    values = {p: v for p, _, v in _reconciles(db)}
    first = values[f"{0:024x}"]
    assert (first["choice"], first["coder"], first["type"], first["note"], first["by"]) == (
        "keep", "alice", "missed code", "alice saw the school uniform", "lead")
    assert (values[f"{4:024x}"]["coder"], values[f"{4:024x}"]["type"]) == ("bob", "wrong sub-code")
    assert (values[f"{1:024x}"]["choice"], values[f"{1:024x}"]["type"]) == ("both", "unclear definition")
    assert values[f"{1:024x}"]["note"] == "documents or not?"
    assert (values[f"{2:024x}"]["choice"], values[f"{2:024x}"]["type"]) == ("drop", "other")


async def test_reconciled_set_from_the_numbered_codes(db: Path) -> None:
    app = Host(Store(db))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await _go_to(pilot, app, db, 0)
        await pilot.press("s")
        picker = app.screen
        assert isinstance(picker, ReconciledSetScreen)
        ids = [c for c, _, _ in picker.items]
        assert sorted(ids) == sorted([TEEN, ADULT, FIRST]) and picker.chosen == {FIRST}  # agreed codes ticked
        text = screen_text(app)
        assert "Teenagers" in text and "Adults" in text and "☑" in text
        await pilot.press(str(ids.index(FIRST) + 1), str(ids.index(TEEN) + 1), str(ids.index(ADULT) + 1), "9")
        assert picker.chosen == {TEEN, ADULT}  # 9 lists nothing: a bell, no change
        assert _reconciles(db) == []  # nothing written while picking
        await pilot.press("enter")
        await _decide_open(pilot, "u", "both ages fit")
        st = _consensus(db, 0)
        assert set(st.codes) == {TEEN, ADULT} and st.done
        (_, item, value), = _reconciles(db)
        assert item == "" and value["choice"] == "set" and value["codes"] == sorted([TEEN, ADULT])
        assert value["type"] == "unclear definition" and value["note"] == "both ages fit"


async def test_relevance_decision_then_the_codes(db: Path) -> None:
    app = Host(Store(db))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await _go_to(pilot, app, db, 0)
        await pilot.press("r")  # relevance is not disputed here: nothing happens
        assert _screen(app).pending is None and app.screen is _screen(app)
        await _go_to(pilot, app, db, 2)
        screen = _screen(app)
        await pilot.press("r", "1")
        await _decide_open(pilot, "w", "it is about age")
        st = _consensus(db, 2)
        assert st.relevance == 1 and not st.codes and not st.done  # the age code is still open
        assert screen.current.post_id == pid(Store(db), 2)  # type: ignore[union-attr]
        await pilot.press("b")
        await _decide_open(pilot, "m")
        st = _consensus(db, 2)
        assert st.relevance == 1 and set(st.codes) == {AGE} and st.done
        items = [(item, v["choice"], v["type"]) for _, item, v in _reconciles(db)]
        assert items == [("relevance", "set", "wrong sub-code"), ("", "keep", "missed code")]
        # A relevance of 0 finishes the post on its own.
        await _go_to(pilot, app, db, 2)
        await pilot.press("r", "0")
        await _decide_open(pilot, "o")
        assert _consensus(db, 2).relevance == 0 and _consensus(db, 2).finished


async def test_escape_cancels_the_whole_decision(db: Path) -> None:
    app = Host(Store(db))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = _screen(app)
        before = screen.current.post_id  # type: ignore[union-attr]
        await pilot.press("a", "escape")
        await pilot.press("b", "m", *"half a note", "escape")
        await pilot.press("o", "enter")  # Enter before a reason: refused, the question stays
        assert isinstance(app.screen, DecisionTypeScreen)
        await pilot.press("escape")
        await pilot.press("r", "x")  # relevance prefix then a wrong key: cancelled
        await pilot.press("s", "escape")
        assert app.screen is screen and screen.current.post_id == before  # type: ignore[union-attr]
        await pilot.press("u")  # undo is not offered: a notice, nothing written
    s = Store(db)
    assert s.events(coder=CONSENSUS) == []
    s.close()


async def test_navigation_sort_and_unresolved_first(db: Path) -> None:
    app = Host(Store(db))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = _screen(app)
        assert screen.items[-1].count == 1 and screen.index == 0  # most disagreements first
        await pilot.press("p")
        assert screen.index == 0
        await pilot.press("n", "n", "right")
        assert screen.index == 3 and "disputed post 4 of 4" in screen_text(app)
        await pilot.press("left")
        assert screen.index == 2
        label = screen.current.label  # type: ignore[union-attr]
        await pilot.press("t")
        assert screen.sort == "code" and screen.current.label == label  # type: ignore[union-attr]
        assert "by code" in screen_text(app)
        await _go_to(pilot, app, db, 0)
        await _decide(pilot, "a")
        await pilot.press("t")  # reloading puts the reconciled post last
        assert screen.sort == "count" and screen.items[-1].post_id == pid(Store(db), 0)
        assert [d.resolved for d in screen.items] == [False, False, False, True]
        await pilot.press("question_mark")
        assert isinstance(app.screen, ReconcileHelpScreen)
        assert "reconcile.keep_a" in screen_text(app) and "unclear" in screen_text(app)
        await pilot.press("escape")
        assert app.screen is screen


async def test_three_coders_side_by_side_keep_with_digits(db: Path) -> None:
    s = Store(db)
    code(s, "carol", {0: (1, [AGE]), 1: (1, [DEBT]), 2: (0, []), 3: (1, [DOCS, NEWS]), 4: (1, [DEBT])})
    s.close()
    app = Host(Store(db))
    async with app.run_test(size=(150, 40), notifications=True) as pilot:
        screen = _screen(app)
        assert screen.coders == ["alice", "bob", "carol"]
        text = screen_text(app)
        assert "a·1  alice" in text and "b·2  bob" in text and "3  carol" in text
        await _go_to(pilot, app, db, 0)
        await _decide(pilot, "3", "w")
        assert set(_consensus(db, 0).codes) == {AGE}
        assert _reconciles(db)[0][2]["coders"] == ["alice", "bob", "carol"]
        await pilot.press("4")  # no fourth coder: nothing opens
        assert app.screen is screen


async def test_only_the_chosen_coders_are_compared(db: Path) -> None:
    s = Store(db)
    code(s, "carol", PLAN_A)
    s.close()
    app = Host(Store(db), coders=["alice", "carol"])
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        screen = _screen(app)
        assert screen.coders == ["alice", "carol"] and screen.items == []
        assert "Nothing to reconcile" in screen_text(app)
        await pilot.press("a", "o", "s")
        assert app.screen is screen


HOSTILE_CODERS = ("[@click=app.quit]x", "[B]")


async def test_hostile_names_memos_and_quotes_show_literally(tmp_path: Path) -> None:
    s = project(tmp_path, "h")
    memo = "[$accent]x [@click=app.quit]m \x1b[31mred\x1b[0m [/]"
    code(s, HOSTILE_CODERS[0], PLAN_A, memo=memo)
    code(s, HOSTILE_CODERS[1], PLAN_B)
    s.record(Event(HOSTILE_CODERS[1], pid(s, 0), QUOTE_ADD, code_id=ADULT,
                   value=json.dumps({"start": 0, "end": 4, "text": "[B]quote [@click=app.quit]q"})))
    app = Host(s)
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        await _go_to(pilot, app, tmp_path / "h.db", 0)
        text = screen_text(app)
        for literal in ("[@click=app.quit]x", "[B]", "[$accent]x [@click=app.quit]m red [/]",
                        "“[B]quote [@click=app.quit]q”"):
            assert literal in text, literal
        assert "\x1b" not in text
        await pilot.click("#rc-coder-0")
        await pilot.click("#rc-coder-1")
        assert app.is_running
        await pilot.press("a")
        assert "Keep [@click=app.quit]x's decisions" in screen_text(app)
        await pilot.press("m", *"[@click=app.quit]n", "enter")
        await pilot.pause()
        assert app.is_running
    (_, _, value), = _reconciles(tmp_path / "h.db")
    assert value["coder"] == HOSTILE_CODERS[0] and value["note"] == "[@click=app.quit]n"


def _graphic_project(tmp_path: Path) -> Path:
    notes = [xhs_note(i, desc=f"Post {i}. He was tortured in the compound.") for i in range(3)]
    src = tmp_path / "graphic.json"
    src.write_text(json.dumps(notes, ensure_ascii=False), encoding="utf-8")
    s = Store(tmp_path / "g.db")
    import_file(s, src)
    code(s, "alice", {0: (1, [TEEN]), 1: (1, [DEBT]), 2: (1, [DOCS])})
    code(s, "bob", {0: (1, [ADULT]), 1: (1, [DOCS]), 2: (1, [DEBT])})
    s.close()
    return tmp_path / "g.db"


def _app(db: Path, clock: Clock, coders: Sequence[str] | None = None) -> ReconcileApp:
    return ReconcileApp(Store(db), CB, "lead", coders=coders, clock=clock,
                        config=Config(wellbeing={"checkins": False}))


async def test_masking_and_reveal(tmp_path: Path) -> None:
    db = _graphic_project(tmp_path)
    app = _app(db, Clock())
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        assert "tortured" not in screen_text(app) and "████████" in screen_text(app)
        await pilot.press("v")
        assert "He was tortured in the compound." in screen_text(app)
        await pilot.press("n")
        assert "tortured" not in screen_text(app)  # masking returns on the next post


async def test_breaks_hide_the_text_and_exposure_follows_the_post(tmp_path: Path) -> None:
    db = _graphic_project(tmp_path)
    clock = Clock()
    app = _app(db, clock)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        screen = _screen(app)
        first = screen.current.post_id  # type: ignore[union-attr]
        assert app.wb.s.post_id == first
        await pilot.press("n")
        assert app.wb.s.post_id == screen.current.post_id != first  # type: ignore[union-attr]
        app.wb.start_break(clock(), "short")
        app._on_tick()
        await pilot.pause()
        assert isinstance(app.screen, BreakScreen)
        assert screen.text_hidden and app.wb.s.post_id is None
        assert "compound" not in screen_text(app)
        await pilot.press("a", "m", "enter", "o", "n")  # the break screen swallows keys
        assert Store(db).events(coder=CONSENSUS) == []
        clock.t += 5 * 60 + 1
        app._on_tick()
        await pilot.pause()
        assert not isinstance(app.screen, BreakScreen) and screen.text_hidden is None
        assert "compound" in screen_text(app) and app.wb.s.post_id == screen.current.post_id  # type: ignore[union-attr]
        shown = screen.current.post_id  # type: ignore[union-attr]
        await _decide(pilot, "a")
        s = Store(db)
        assert s.state(CONSENSUS, shown).done and s.state(CONSENSUS, shown).reconcile["by"] == "lead"
        s.close()
    s = Store(db)
    assert s.db.conn.execute("SELECT count(*) FROM wb_state WHERE coder = 'lead'").fetchone()[0] == 1
    s.close()


async def test_text_hidden_while_the_status_forbids_it(tmp_path: Path) -> None:
    db = _graphic_project(tmp_path)
    clock = Clock()
    app = _app(db, clock)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        screen = _screen(app)
        app.wb.start_break(clock(), "short")
        screen.refresh_post()  # before the app's tick: the screen asks the status itself
        await pilot.pause()
        assert "compound" not in screen_text(app) and "Post text is hidden" in screen_text(app)
        assert screen.check_action("keep", (0,)) is None
