"""Open coding by keyboard on the coding screen: a code created and assigned, refined, refused, and done."""

from __future__ import annotations

from pathlib import Path

from tests.ui.conftest import screen_text
from tui.core.codebook.model import Codebook
from tui.core.config import Config
from tui.core.project.store import Store
from tui.ui.app import QualtuiApp
from tui.ui.screens.coding import CodingScreen
from tui.ui.screens.search import SearchScreen
from tui.ui.widgets.inline_form import InlineCodeForm

SIZE = (120, 40)


def _app(project: Path, codebook: Codebook, mode: str = "coding") -> QualtuiApp:
    return QualtuiApp(Store(project), codebook, "alice", mode=mode, config=Config(wellbeing={"checkins": False}))


def _events(project: Path) -> list[dict[str, object]]:
    s = Store(project)
    rows = s.events(coder="alice")
    s.close()
    return rows


def _toasts(app: QualtuiApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


def _form_open(app: QualtuiApp) -> bool:
    """The code form is open, inline on the coding screen."""
    return isinstance(app.screen, CodingScreen) and app.screen.query_one(InlineCodeForm).is_open


async def _type(pilot: object, text: str) -> None:
    await pilot.press(*["space" if ch == " " else ch for ch in text])  # type: ignore[attr-defined]


async def test_a_code_created_by_keys_is_assigned_and_reachable_by_its_keys_and_search(
        project: Path, codebook: Codebook) -> None:
    app = _app(project, codebook)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        pid = app.session.current.post["id"]
        await pilot.press("n")
        assert _form_open(app)
        await _type(pilot, "Sold on")
        assert "keys to reach it: 0s" in screen_text(app)  # the proposed key, live
        await pilot.press("tab")
        await _type(pilot, "Resold to another compound")
        await pilot.press("tab")
        await _type(pilot, "转卖, resale")
        await pilot.press("enter")
        assert isinstance(app.screen, CodingScreen) and not _form_open(app)
        rows = _events(project)
        create = next(r for r in rows if r["kind"] == "code_create")
        new_id = str(create["code_id"])
        assert create["post_id"] == pid and new_id.startswith("sold-on-")
        assert ("code_add", new_id) in [(r["kind"], r["code_id"]) for r in rows]
        assert app.session.codebook.node(new_id).aliases == ("转卖", "resale")
        assert any("Created and assigned Sold on (keys 0s)" in t for t in _toasts(app))
        assert "● Sold on" in screen_text(app)
        await pilot.press("right", "0", "s")  # the next post: the new code by its keys
        nxt = app.session.current.post["id"]
        assert new_id in Store(project).state("alice", nxt).codes
        await pilot.press("right", "slash")
        assert isinstance(app.screen, SearchScreen)
        await _type(pilot, "resale")
        assert "Sold on" in screen_text(app)
        await pilot.press("enter")
        third = app.session.current.post["id"]
        assert new_id in Store(project).state("alice", third).codes


async def test_a_refused_code_says_why_and_writes_nothing(project: Path, codebook: Codebook) -> None:
    app = _app(project, codebook)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("n", "enter")  # no name
        assert _form_open(app)
        assert "A code needs a name." in _toasts(app)
        assert "A code needs a name." in screen_text(app)
        await pilot.press("escape")
        await pilot.press("4", "p", "plus")  # the picker on Physical abuse: + opens the form there
        assert _form_open(app)
        assert "Control Mechanisms › Physical abuse and violence" in screen_text(app)
        await _type(pilot, "Burnt")
        await pilot.press("tab", "tab", "tab", "tab", "t")  # the parent field: t walks down to Torture
        assert "Physical abuse and violence › Torture" in screen_text(app)
        await pilot.press("enter")
        said = ("'Torture' is a sub-code, and a sub-code cannot have its own; choose its code or a category.")
        assert said in _toasts(app)
        assert _form_open(app)
        await pilot.press("escape")
        assert _events(project) == []
        assert app.session.codebook.node("control/physical-abuse") == codebook.node("control/physical-abuse")


async def test_done_is_refused_for_a_draft_until_its_definition_is_written(project: Path,
                                                                          codebook: Codebook) -> None:
    app = _app(project, codebook)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        pid = app.session.current.post["id"]
        await pilot.press("n")
        await _type(pilot, "Sold on")
        await pilot.press("enter")
        assert any("Its definition is a draft: E edits it." in t for t in _toasts(app))
        await pilot.press("enter")  # done
        assert ("'Sold on' has no definition yet; write one before this post is done (press E to edit it)."
                in _toasts(app))
        assert not Store(project).state("alice", pid).done and app.session.current.post["id"] == pid
        await pilot.press("E")
        assert _form_open(app)
        await pilot.press("tab")
        await _type(pilot, "Resold")
        await pilot.press("enter")
        assert isinstance(app.screen, CodingScreen) and not _form_open(app)
        await pilot.press("enter")
        assert Store(project).state("alice", pid).done
        edits = [r for r in _events(project) if r["kind"] == "code_edit"]
        assert len(edits) == 1 and edits[0]["value"] == '{"definition": "Resold"}'


async def test_untrusted_code_text_is_shown_literally_and_clean(project: Path, codebook: Codebook) -> None:
    app = _app(project, codebook)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("n")
        form = app.screen
        assert _form_open(app)
        form.query_one("#form-name").value = "[bold]Loud[/] \x1b[31mred"
        await pilot.press("enter")
        assert "The name contains a control character." in _toasts(app) and _events(project) == []
        form.query_one("#form-name").value = "[bold]Loud[/] [$accent]x"
        form.query_one("#form-definition").value = "[@click=app.quit]x[/] \x1b]0;title\x07ok"
        await pilot.press("enter")
        assert isinstance(app.screen, CodingScreen) and not _form_open(app)
        assert any("[bold]Loud[/] [$accent]x" in t for t in _toasts(app))
        text = screen_text(app)
        assert "● [bold]Loud[/] [$accent]x" in text and "\x1b" not in text
        await pilot.press("A")
        await pilot.press("end")  # the "not yet placed" bin is last: the cursor on the new code
        text = screen_text(app)
        assert "[bold]Loud[/] [$accent]x" in text and "[@click=app.quit]x[/]" in text and "\x1b" not in text


async def test_a_new_code_is_in_the_palette_and_lookup_and_undo_takes_it_back(project: Path,
                                                                             codebook: Codebook) -> None:
    from click.testing import CliRunner

    from tui.cli import cli

    app = _app(project, codebook)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("n")
        await _type(pilot, "Sold on")
        await pilot.press("tab")
        await _type(pilot, "Resold")
        await pilot.press("enter", "ctrl+p")
        await _type(pilot, "sold on")
        await pilot.pause(0.5)
        assert "Sold on" in screen_text(app)
        await pilot.press("escape")
        new_id = next(str(r["code_id"]) for r in _events(project) if r["kind"] == "code_create")
        found = CliRunner().invoke(cli, ["--db", str(project), "--codebook", codebook.source, "lookup", "sold on"])
        assert found.exit_code == 0 and "Sold on" in found.output
        await pilot.press("u", "u", "u")  # the assignment, the relevance it implied, then the code itself
        assert app.session.codebook.node(new_id) is None
        assert "Undone: code create" in _toasts(app)
        await pilot.press("0")  # no code waits in "not yet placed" any more: 0 is "not relevant" again
        assert app.session.codebook.node(new_id) is None and app.screen.picker is None


async def test_a_busy_project_keeps_the_form_open_and_saves_nothing(project: Path, codebook: Codebook) -> None:
    import sqlite3

    app = QualtuiApp(Store(project, busy_timeout=0.2), codebook, "alice", mode="coding",
                     config=Config(wellbeing={"checkins": False}))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("n")
        await _type(pilot, "Sold on")
        other = sqlite3.connect(project, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")  # another qualtui command writing
        await pilot.press("enter")
        sentence = (f"The decision was NOT saved. The project {project} is busy: another qualtui command "
                    "is writing to it; try again when it finishes.")
        assert sentence in _toasts(app) and _form_open(app)
        other.execute("ROLLBACK")
        other.close()
        assert _events(project) == [] and not any(c.name == "Sold on" for c in app.session.codebook.codes())
        await pilot.press("enter")  # the lock is gone: the same key saves it
        assert isinstance(app.screen, CodingScreen) and not _form_open(app)
        assert [r["kind"] for r in _events(project)] == ["code_create", "relevance", "code_add"]
        assert "last decision NOT saved" not in screen_text(app)


async def test_the_draft_sentence_names_the_key_as_remapped(project: Path, codebook: Codebook) -> None:
    cfg = Config(wellbeing={"checkins": False}, keys={"edit_code": "D"})
    app = QualtuiApp(Store(project), codebook, "alice", mode="coding", config=cfg)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("n")
        await _type(pilot, "Sold on")
        await pilot.press("enter", "enter")
        assert any("Its definition is a draft: D edits it." in t for t in _toasts(app))
        assert ("'Sold on' has no definition yet; write one before this post is done (press D to edit it)."
                in _toasts(app))
        await pilot.press("D")
        assert _form_open(app)


async def test_the_form_is_inline_and_a_new_code_is_committed_before_the_screen_says_so(
        project: Path, codebook: Codebook) -> None:
    from textual import events

    from tui.ui.widgets.post_view import PostView

    app = _app(project, codebook)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = app.screen
        stack = list(app.screen_stack)
        await pilot.press("n")
        assert list(app.screen_stack) == stack and _form_open(app)  # no screen pushed: the form is docked
        assert app.focused is screen.query_one("#form-name")
        said: list[tuple[str, list[object]]] = []
        drawn: list[list[object]] = []
        notify, redraw = screen.notify, screen.refresh_decisions

        def told(message: str, **kwargs: object) -> None:
            said.append((message, [r["kind"] for r in _events(project)]))
            notify(message, **kwargs)  # type: ignore[arg-type]

        def redrawn() -> None:
            drawn.append([r["kind"] for r in _events(project)])
            redraw()

        screen.notify, screen.refresh_decisions = told, redrawn  # type: ignore[method-assign]
        await _type(pilot, "Sold on")
        await pilot.press("enter")
        assert list(app.screen_stack) == stack and not _form_open(app)
        assert drawn == [["code_create", "relevance", "code_add"]]  # committed before the panel shows it
        assert said[0][0].startswith("Created and assigned Sold on") and said[0][1] == drawn[0]
        assert "● Sold on" in screen_text(app) and app.focused is screen.query_one(PostView)
        # A fast typist's burst: n, a name, Tab, a definition, Enter, all read at once.
        await pilot.press("right")
        for ch in "nBeaten\tHit by guards\r":
            app.post_message(events.Key({"\t": "tab", "\r": "enter"}.get(ch, ch), ch))
        await pilot.pause(0.3)
        created = [r["value"] for r in _events(project) if r["kind"] == "code_create"]
        assert len(created) == 2 and '"definition": "Hit by guards", "name": "Beaten"' in str(created[1])
        assert not _form_open(app) and "● Beaten" in screen_text(app)
