"""The app does not crash on a coder's keys, shows every failure, and a crash never exits 0."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from textual import events
from textual.app import App

import tui
from tests.samples import CODEBOOK
from tests.sync_helpers import ADULT, AGE, CB, DEBT, DOCS, FIRST, NEWS, TEEN, code
from tests.sync_helpers import project as sync_project
from tests.ui.conftest import screen_text
from tui.cli import cli
from tui.core.codebook.loading import parse_codebook
from tui.core.codebook.model import Codebook
from tui.core.config import Config
from tui.core.prelabel.backends import server as llm
from tui.core.project.store import Store
from tui.core.sync.consensus import ConsensusError
from tui.ui.app import QualtuiApp, run_app
from tui.ui.reconcile_app import ReconcileApp
from tui.ui.screens.coding import CodingScreen
from tui.ui.screens.reconcile import ReconcileScreen

SIZE = (120, 40)
TORTURE = "control/physical-abuse/torture"
HOSTILE = "Torture [/] [@click=app.quit]x [B] [$accent]y \x1b[31mred"


def _app(project: Path, codebook: Codebook, mode: str = "coding", **config: Any) -> QualtuiApp:
    return QualtuiApp(Store(project), codebook, "alice", mode=mode,
                      config=Config(wellbeing={"checkins": False}, **config))


def _events(project: Path) -> list[tuple[str, str]]:
    s = Store(project)
    rows = [(r["kind"], r["code_id"]) for r in s.events(coder="alice")]
    s.close()
    return rows


async def _type_fast(app: App[Any], pilot: Any, word: str) -> list[str]:
    """Keys that arrive together, as from a fast typist: none waits for the previous one to be handled.

    Returns the screens pushed meanwhile.
    """
    pushed: list[str] = []
    push = app.push_screen

    def recording(screen: Any, *args: Any, **kwargs: Any) -> Any:
        pushed.append(type(screen).__name__)
        return push(screen, *args, **kwargs)

    app.push_screen = recording  # type: ignore[method-assign]
    for char in word:
        app._driver.send_message(events.Key(char, char))  # type: ignore[union-attr]
    await pilot.pause()
    return pushed


def _toast(shown: str) -> str:
    """The screen with wrapped toast lines (each starts with the toast's left edge) joined again."""
    return shown.replace("\n▌", " ")


def _hostile_codebook() -> Codebook:
    data = yaml.safe_load(CODEBOOK.read_text(encoding="utf-8"))
    control = next(c for c in data["categories"] if c["id"] == "control")
    physical = next(c for c in control["codes"] if c["id"] == "control/physical-abuse")
    next(s for s in physical["subcodes"] if s["id"] == TORTURE)["name"] = HOSTILE
    return parse_codebook(yaml.safe_dump(data, allow_unicode=True), "hostile.yaml")


# ------------------------------------------------------------ toasts


@pytest.mark.parametrize("hostile", [False, True], ids=["study codebook", "code name with markup"])
async def test_assigning_an_assigned_code_says_so_and_keeps_running(project: Path, codebook: Codebook,
                                                                     hostile: bool) -> None:
    app = _app(project, _hostile_codebook() if hostile else codebook)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("4", "p", "t")
        await pilot.press("4", "p", "t")
        await pilot.pause()
        assert app.return_code is None and isinstance(app.screen, CodingScreen)
        toast = _toast(screen_text(app))
        if hostile:  # shown literally, never parsed as markup nor passed to the terminal
            assert "[/] [@click=app.quit]x [B] [$accent]y red is already assigned." in toast and "\x1b" not in toast
        else:
            assert "Control Mechanisms › Physical abuse and violence › Torture is already assigned." in toast
    assert [e for e in _events(project) if e[0] == "code_add"] == [("code_add", TORTURE)]  # once, not twice


async def test_a_refused_reconciliation_is_a_toast_not_a_crash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = _disputed(tmp_path)

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise ConsensusError("Code [b]bold[/b] \x1b[31mis not in the codebook.")

    monkeypatch.setattr("tui.ui.screens.reconcile.apply_choice", refuse)
    app = ReconcileApp(Store(db), CB, "lead", config=Config(wellbeing={"checkins": False}))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("a", "m", "enter")
        await pilot.pause()
        assert app.return_code is None
        assert "Code [b]bold[/b] is not in the codebook." in screen_text(app)


# ------------------------------------------------------------ keys after quit


async def test_typing_after_quit_in_the_coding_app_exits_cleanly(project: Path, codebook: Codebook) -> None:
    app = _app(project, codebook, mode="screening")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        pushed = await _type_fast(app, pilot, "question")  # a coder who thought the search box had focus
    assert pushed == []  # the e opened a memo on the closing app: NoMatches
    assert app.return_code == 0
    assert _events(project) == []


def _disputed(tmp_path: Path) -> Path:
    s = sync_project(tmp_path, "p")
    code(s, "alice", {0: (1, [TEEN, FIRST]), 1: (1, [DEBT]), 2: (0, [])})
    code(s, "bob", {0: (1, [ADULT, FIRST]), 1: (1, [DEBT, DOCS]), 2: (1, [AGE, NEWS])})
    s.close()
    return tmp_path / "p.db"


async def test_typing_after_quit_in_the_reconcile_app_exits_cleanly(tmp_path: Path) -> None:
    db = _disputed(tmp_path)
    app = ReconcileApp(Store(db), CB, "lead", config=Config(wellbeing={"checkins": False}))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        assert isinstance(app.screen, ReconcileScreen)
        pushed = await _type_fast(app, pilot, "question")
    assert pushed == []  # s and o opened dialogs on the closing app
    assert app.return_code == 0
    s = Store(db)
    assert s.events(coder="consensus") == [] and s.events(coder="lead") == []


# ------------------------------------------------------------ background work


async def test_an_unexpected_prelabel_failure_reaches_the_coder(project: Path, codebook: Codebook,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: object, *args: object) -> float:
        raise RuntimeError("the scorer broke")

    monkeypatch.setattr(llm.OpenAIBackend, "probability", broken)
    monkeypatch.setattr(llm.OpenAIBackend, "embed", broken)
    app = _app(project, codebook, mode="screening", llm_url="http://127.0.0.1:9")  # never contacted
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("P")
        for _ in range(100):
            await pilot.pause(0.05)
            if not any(w.is_running for w in app.workers):
                break
        await pilot.pause()
        shown = screen_text(app)
        assert "RuntimeError: the scorer broke" in shown and "Your coding is saved" in shown
        assert app.prelabel_status == "" and "loading the model" not in shown
        assert app.return_code is None
        await pilot.press("1")  # screening goes on
    assert _events(project) == [("relevance", "")]


# ------------------------------------------------------------ exit status


class _Crash(RuntimeError):
    pass


def _headless(monkeypatch: pytest.MonkeyPatch, app_class: type, *, crash: bool) -> None:
    """Run the real app class without a terminal; it crashes on mount, or quits at once."""
    run = app_class.run

    def headless(self: Any, **kwargs: Any) -> Any:
        return run(self, headless=True, size=SIZE)

    def mounted(self: Any) -> None:
        if crash:
            raise _Crash("a bug")
        self.exit()

    monkeypatch.setattr(app_class, "run", headless)
    monkeypatch.setattr(app_class, "on_mount", mounted)


@pytest.mark.parametrize("crash", [True, False], ids=["crash", "quit"])
def test_run_app_returns_the_apps_exit_status(project: Path, codebook: Codebook, crash: bool,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    _headless(monkeypatch, QualtuiApp, crash=crash)
    assert run_app(project, codebook, "alice", Config()) == (1 if crash else 0)


@pytest.mark.parametrize("command", ["code", "demo"])
@pytest.mark.parametrize("crash", [True, False], ids=["crash", "quit"])
def test_the_code_and_demo_commands_exit_with_the_apps_status(project: Path, crash: bool, command: str,
                                                              tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("QUALTUI_CONFIG", raising=False)
    _headless(monkeypatch, QualtuiApp, crash=crash)
    result = CliRunner().invoke(cli, ["--db", str(project), command, "--coder", "alice"])
    assert result.exit_code == (1 if crash else 0), result.output
    assert ("stopped on an unexpected error" in result.output) is crash


@pytest.mark.parametrize("crash", [True, False], ids=["crash", "quit"])
def test_the_reconcile_command_exits_with_the_apps_status(tmp_path: Path, crash: bool,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    db = _disputed(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("QUALTUI_CONFIG", raising=False)
    _headless(monkeypatch, ReconcileApp, crash=crash)
    result = CliRunner().invoke(cli, ["--db", str(db), "--codebook", str(CODEBOOK), "reconcile", "--coder", "lead"])
    assert result.exit_code == (1 if crash else 0), result.output
    assert ("stopped on an unexpected error" in result.output) is crash


# ------------------------------------------------------------ every toast


def test_every_notify_gets_plain_text_without_markup() -> None:
    """A rich Text crashes the toast; markup in a message would parse untrusted text."""
    wrong: list[str] = []
    for path in sorted(Path(tui.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "notify":
                plain = any(k.arg == "markup" and isinstance(k.value, ast.Constant) and k.value.value is False
                            for k in node.keywords)
                text = any(isinstance(a, ast.Call) and getattr(a.func, "id", "") == "Text" for a in node.args)
                if not plain or text:
                    wrong.append(f"{path.name}:{node.lineno}")
    assert wrong == []
