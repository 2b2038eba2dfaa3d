"""The UI's shape: screens never import the app, every key is a binding with an id, the picker owns its keys."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import tui.ui
from tests.ui.conftest import screen_text
from tui.core.codebook.model import Codebook
from tui.core.config import Config, ConfigError
from tui.core.project.store import Store
from tui.ui.app import QualtuiApp
from tui.ui.keymap import check_keymap
from tui.ui.screens.coding import CodingScreen
from tui.ui.screens.help import HelpScreen
from tui.ui.widgets.picker import CodePicker

UI = Path(tui.ui.__file__).parent
APPS = {"tui.ui.app", "tui.ui.wellbeing_app", "tui.ui.reconcile_app"}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


@pytest.mark.parametrize("path", sorted([*(UI / "screens").glob("*.py"), *(UI / "widgets").glob("*.py")]),
                         ids=lambda p: p.name)
def test_screens_and_widgets_never_import_an_app(path: Path) -> None:
    assert not _imports(path) & APPS  # not even under TYPE_CHECKING: the screen gets a typed host instead


@pytest.mark.parametrize("path", sorted(UI.rglob("*.py")), ids=lambda p: p.name)
def test_ui_files_stay_readable(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 400


def test_every_coding_key_is_a_binding_with_an_id() -> None:
    ids = [b.id for b in CodingScreen._merge_bindings().key_to_bindings.get("exclamation_mark", [])]
    assert ids == ["recent_1"]
    ids = [b.id for b in CodingScreen._merge_bindings().key_to_bindings.get("4", [])]
    assert ids == ["category_4"]


def test_the_keymap_check_knows_the_recent_code_keys() -> None:
    # Before, `!` was read in a key handler: remapping a binding onto it was accepted and broke one of the two.
    with pytest.raises(ConfigError, match="Key ! is bound twice"):
        check_keymap(Config(keys={"flag": "!"}))


async def test_help_rows_come_from_the_bindings_only(project: Path, codebook: Codebook) -> None:
    app = QualtuiApp(Store(project), codebook, "alice", mode="coding", config=Config(wellbeing={"checkins": False}))
    async with app.run_test(size=(140, 80), notifications=True) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        rows = [[c.strip() for c in line.split("│")[1:4]] for line in screen_text(app).split("\n")
                if line.count("│") >= 4]
        rows = [r for r in rows if r[0] or r[2]]
        assert rows and all(r[2] for r in rows if r[0]), [r for r in rows if r[0] and not r[2]]
        assert any(r[2].startswith("category_1") for r in rows) and any(r[2].startswith("recent_1") for r in rows)


async def test_the_picker_holds_the_keys_and_posts_the_chosen_code(project: Path, codebook: Codebook) -> None:
    app = QualtuiApp(Store(project), codebook, "alice", mode="coding", config=Config(wellbeing={"checkins": False}))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = app.screen
        assert isinstance(screen, CodingScreen)
        picker = screen.query_one(CodePicker)
        await pilot.press("4")
        assert picker.is_open and screen.picker == ["control"]
        assert not picker.has_focus  # the post keeps the focus: moving it restyles the whole screen
        await pilot.press("p", "t")
        await pilot.pause()
        assert not picker.is_open and screen.picker is None
        assert app.session.current is not None and "control/physical-abuse/torture" in app.session.current.state.codes


def test_the_keymap_check_knows_the_disagreement_type_keys() -> None:
    # Before, m w u o were read in a key handler: Enter remapped onto `m` was accepted and one of the two lost.
    with pytest.raises(ConfigError, match="Key m is bound twice"):
        check_keymap(Config(keys={"decision.confirm": "m"}))


async def test_keys_typed_in_one_burst_reach_the_picker(project: Path, codebook: Codebook) -> None:
    # A fast typist's `4pt4pt` arrives before any deferred focus change could run: every key must count.
    from textual import events

    app = QualtuiApp(Store(project), codebook, "alice", mode="coding", config=Config(wellbeing={"checkins": False}))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.pause()
        post_id = app.session.current.post["id"]
        for char in "4pt":
            app._driver.send_message(events.Key(char, char))  # type: ignore[union-attr]
        await pilot.pause()
        await pilot.pause()
        assert "control/physical-abuse/torture" in app.store.state("alice", post_id).codes
        assert app.screen.focused is not app.screen.query_one(CodePicker)
        for char in "x1":  # the same for a prefix key and its number
            app._driver.send_message(events.Key(char, char))  # type: ignore[union-attr]
        await pilot.pause()
        await pilot.pause()
        assert "control/physical-abuse/torture" not in app.store.state("alice", post_id).codes
