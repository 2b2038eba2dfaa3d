"""The axial-coding screen by keyboard: the tree with counts, move, merge, rename, retire, split and undo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.ui.conftest import screen_text
from tui.core.codebook.loading import load_codebook
from tui.core.codebook.model import Codebook
from tui.core.config import Config
from tui.core.project.store import Store
from tui.ui.app import QualtuiApp
from tui.ui.screens.axial import AxialScreen
from tui.ui.screens.code_form import CodeForm
from tui.ui.screens.coding import CodingScreen

SIZE = (120, 40)
SMALL = Path(__file__).resolve().parents[1] / "core" / "fixtures" / "small.yaml"
AGE = "targeting/age"
DEBT = "targeting/financial-instability/debt"
RANSOM = "targeting/financial-instability/ransom"


@pytest.fixture
def small() -> Codebook:
    """The two-category test codebook."""
    return load_codebook(SMALL)


def _app(project: Path, codebook: Codebook) -> QualtuiApp:
    return QualtuiApp(Store(project), codebook, "alice", mode="coding", config=Config(wellbeing={"checkins": False}))


def _changes(project: Path) -> list[tuple[str, str, dict[str, object], object]]:
    s = Store(project)
    rows = [(r["kind"], r["code_id"], json.loads(r["value"]), r["post_id"]) for r in s.events(coder="alice")
            if r["kind"].startswith("code_") and r["kind"] not in ("code_add", "code_remove")]
    s.close()
    return rows


def _toasts(app: QualtuiApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def _to(pilot: object, app: QualtuiApp, node_id: str) -> None:
    """Walk the cursor with j and k to a line of the tree."""
    screen = app.screen
    assert isinstance(screen, AxialScreen)
    ids = [screen.tree_list.get_option_at_index(i).id for i in range(screen.tree_list.option_count)]
    step = ids.index(node_id) - (screen.tree_list.highlighted or 0)
    await pilot.press(*(["j"] * step if step > 0 else ["k"] * -step))  # type: ignore[attr-defined]
    assert screen.cursor == node_id


async def _type(pilot: object, text: str) -> None:
    await pilot.press(*["space" if ch == " " else ch for ch in text])  # type: ignore[attr-defined]


async def _two_posts_with_age(pilot: object, app: QualtuiApp) -> tuple[int, int]:
    first = app.session.current.post["id"]
    await pilot.press("1", "a", "enter", "right", "1", "a", "enter")  # type: ignore[attr-defined]
    return first, app.session.current.post["id"]


async def test_the_tree_shows_counts_and_move_merge_rename_retire_by_keys(project: Path, small: Codebook) -> None:
    app = _app(project, small)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await _two_posts_with_age(pilot, app)
        await pilot.press("A")
        assert isinstance(app.screen, AxialScreen)
        text = screen_text(app)
        assert "Age  2 · 2" in text and "Not yet placed" in text
        await _to(pilot, app, AGE)
        await pilot.press("e", "ctrl+u")
        assert isinstance(app.screen, CodeForm)
        await _type(pilot, "Age group")
        await pilot.press("enter")
        assert "Age group  2 · 2" in screen_text(app)
        await pilot.press("m")
        await _to(pilot, app, "exploitation")
        await pilot.press("enter")
        assert app.session.codebook.parent(AGE).id == "exploitation"
        assert app.screen.cursor == AGE and "Exploitation › Age group" in screen_text(app)
        await _to(pilot, app, DEBT)
        await pilot.press("M")
        await _to(pilot, app, RANSOM)
        await pilot.press("enter")
        assert app.session.codebook.resolve(DEBT) == RANSOM
        tree = app.screen.tree_list
        assert DEBT not in [tree.get_option_at_index(i).id for i in range(tree.option_count)]
        await pilot.press("t")  # retire Ransom: it is in use by no post
        assert app.session.codebook.is_retired(RANSOM) and "Ransom" not in screen_text(app).split("Exploitation")[0]
        await pilot.press("T")
        assert "retired" in screen_text(app)
        assert [(k, c, v, p) for k, c, v, p in _changes(project)] == [
            ("code_edit", AGE, {"name": "Age group"}, None),
            ("code_move", AGE, {"parent": "exploitation"}, None),
            ("code_merge", DEBT, {"into": RANSOM}, None),
            ("code_retire", RANSOM, {"retired": True}, None),
        ]
        await pilot.press("u")  # the retirement taken back
        assert not app.session.codebook.is_retired(RANSOM)
        assert "Undone: code retire" in _toasts(app)
        await pilot.press("escape")
        assert isinstance(app.screen, CodingScreen)


async def test_refused_changes_say_why_and_write_nothing(project: Path, small: Codebook) -> None:
    app = _app(project, small)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("A")
        await _to(pilot, app, AGE)
        await pilot.press("M", "enter")  # into itself
        assert "'Age' cannot be merged into itself." in _toasts(app)
        await pilot.press("escape")
        await _to(pilot, app, "targeting/age/teenagers")
        await pilot.press("n")
        await _type(pilot, "Minors")
        await pilot.press("enter")
        assert ("'Teenagers' is a sub-code, and a sub-code cannot have its own; choose its code or a category."
                in _toasts(app))
        await pilot.press("escape")
        await _to(pilot, app, "targeting")
        await pilot.press("t")
        assert "'Recruitment — Targeting' still has codes in use; retire, move or merge them first." in _toasts(app)
        assert _changes(project) == []


async def test_a_split_walks_the_posts_of_the_code_and_each_choice_is_a_decision(project: Path,
                                                                                small: Codebook) -> None:
    app = _app(project, small)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        first, second = await _two_posts_with_age(pilot, app)
        await pilot.press("A")
        await _to(pilot, app, AGE)
        await pilot.press("s")
        assert isinstance(app.screen, CodeForm)
        await _type(pilot, "Young adults")
        await pilot.press("tab")
        await _type(pilot, "Eighteen to twenty-five")
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, AxialScreen) and screen.mode == "split"
        new_id = next(c for k, c, _, _ in _changes(project) if k == "code_create")
        post = app.session.store.post(first)
        assert "Split: post 1 of 2" in screen_text(app) and post["label"] in screen_text(app)
        await pilot.press("2")  # the first post moves to the new code
        await pilot.press("3")  # the second carries both
        assert "Split done: 1 moved, 1 with both, 0 kept." in _toasts(app)
        s = Store(project)
        assert list(s.state("alice", first).codes) == [new_id]
        assert set(s.state("alice", second).codes) == {AGE, new_id}
        assert app.session.current.post["id"] == second  # back where the coder was
        await pilot.press("u")  # a split's choice is undone like any decision
        assert set(s.state("alice", second).codes) == {AGE}
        assert [k for k, _, _, p in _changes(project)] == ["code_create"]


async def test_a_split_shows_no_post_text_while_the_policy_hides_it(project: Path, small: Codebook,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app(project, small)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        first, _ = await _two_posts_with_age(pilot, app)
        coding = app.text_screen()
        await pilot.press("A")
        await _to(pilot, app, AGE)
        await pilot.press("s")
        await _type(pilot, "Young adults")
        await pilot.press("enter")
        assert " ".join(app.session.store.post(first)["text"].split())[:30] in " ".join(screen_text(app).split())

        def limit_reached(self: QualtuiApp, status: object) -> None:  # the policy's verdict on the next tick
            coding.set_text_hidden("Post text is hidden: daily limit reached.")

        monkeypatch.setattr(QualtuiApp, "_apply", limit_reached)
        app._on_tick()
        app.screen.recheck_hidden()  # the screen's own once-a-second look
        await pilot.pause()
        text = screen_text(app)
        snippet = " ".join(app.session.store.post(first)["text"].split())[:30]
        assert "Post text is hidden: daily limit reached." in text and snippet not in " ".join(text.split())
        before = Store(project).events(coder="alice")
        await pilot.press("2")  # choosing needs the text: nothing is written
        assert Store(project).events(coder="alice") == before


async def test_a_new_category_and_code_made_on_no_post_retired_and_brought_back(project: Path,
                                                                               small: Codebook) -> None:
    app = _app(project, small)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("A", "C")
        assert isinstance(app.screen, CodeForm)
        await _type(pilot, "Aftermath")
        await pilot.press("enter")
        cat = next(c for c in app.session.codebook.categories if c.name == "Aftermath")
        assert app.screen.cursor == cat.id and cat.key not in [c.key for c in small.categories]
        await pilot.press("n")
        await _type(pilot, "Trauma")
        await pilot.press("tab")
        await _type(pilot, "Lasting harm")
        await pilot.press("enter")
        code = app.session.codebook.children(cat.id)[0]
        assert code.name == "Trauma" and app.screen.cursor == code.id
        assert "Trauma  0 · 0" in screen_text(app)
        await pilot.press("t")
        assert app.session.codebook.is_retired(code.id) and "Trauma" not in screen_text(app)
        await pilot.press("T")
        await _to(pilot, app, code.id)
        await pilot.press("t")  # brought back
        assert not app.session.codebook.is_retired(code.id)
        assert [(k, p) for k, _, _, p in _changes(project)] == [
            ("code_create", None), ("code_create", None), ("code_retire", None), ("code_retire", None)]
        assert Store(project).states("alice") == {}  # no post was decided
