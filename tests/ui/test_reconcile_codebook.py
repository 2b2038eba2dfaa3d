"""Codebook differences on the reconciliation screen: shown before the posts, resolved by keys, recorded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from textual.app import App

import tui.ui
from tests.sync_helpers import CB, DOCS, TEEN, code, project
from tests.ui.conftest import screen_text
from tui.core.coding.open_coding import create_code, edit_code
from tui.core.coding.session import Session
from tui.core.project.codebook_log import effective_codebook
from tui.core.project.events import CONSENSUS
from tui.core.project.store import Store
from tui.ui.screens.reconcile import ReconcileScreen
from tui.ui.screens.reconcile_codebook import CodebookDiffScreen

SIZE = (120, 40)


class Host(App[None]):
    """The smallest app around the screen."""

    CSS_PATH = Path(tui.ui.__file__).parent / "app.tcss"

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.codebook = CB

    def on_mount(self) -> None:
        self.push_screen(ReconcileScreen(self.store, CB, by="lead"))


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """alice and bob each created a debt code, renamed one code two ways, and disagree on one post."""
    s = project(tmp_path, "p")
    code(s, "alice", {0: (1, [TEEN])})
    code(s, "bob", {0: (1, [])})
    a, b = Session(s, CB, "alice"), Session(s, CB, "bob")
    create_code(a, "Debt bondage", definition="Owes the compound.", parent="control", assign=False, on_post=False)
    create_code(b, "Debt [bold]bondge[/] [@click=app.quit]x [$accent]y [B]", definition="Owes the compound!",
                parent="control", assign=False, on_post=False)
    edit_code(a, DOCS, name="Seized papers", on_post=False)
    edit_code(b, DOCS, name="Documents taken", on_post=False)
    s.close()
    return tmp_path / "p.db"


def _messages(app: App[Any]) -> list[tuple[str, str, bool]]:
    return [(n.message, n.severity, n.markup) for n in app._notifications]


def _consensus(db: Path) -> list[tuple[str, str, dict[str, Any]]]:
    s = Store(db)
    rows = s.db.conn.execute("SELECT kind, code_id, value FROM events WHERE coder = ? AND post_id IS NULL"
                             " ORDER BY seq", (CONSENSUS,)).fetchall()
    s.close()
    return [(k, c, json.loads(v)) for k, c, v in rows]


async def test_codebook_differences_come_first_and_are_resolved_by_keys(db: Path) -> None:
    app = Host(Store(db))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CodebookDiffScreen) and len(screen.diffs) == 2
        shown = screen_text(app)
        assert "Codebook difference 1 of 2" in shown
        assert "Debt [bold]bondge[/] [@click=app.quit]x [$accent]y [B]" in shown  # as text, not markup
        first = screen.current
        assert first is not None and first.kind == "similar"
        await pilot.press("a")
        assert "Enter records: keep alice's 'Debt bondage'" in screen_text(app)
        assert _consensus(db) == []  # nothing until Enter
        await pilot.press("enter")
        await pilot.pause()
        kind, gone, value = _consensus(db)[0]
        assert kind == "code_merge" and value["into"].startswith("debt-bondage-") and value["by"] == "lead"
        assert value["resolves"] == first.key
        assert screen.current is not None and screen.current.kind == "edit"
        await pilot.press("e", "enter")  # typed nothing: refused, one sentence, nothing written
        assert ("Type the new name first.", "error", False) in _messages(app)
        assert len(_consensus(db)) == 1
        await pilot.press(*"Seized documents", "enter")
        await pilot.pause()
        assert ("Every codebook difference is reconciled; now the disputed posts.", "information",
                False) in _messages(app)
        assert isinstance(app.screen, ReconcileScreen)
        assert app.screen.codebook.node(DOCS).name == "Seized documents"  # the posts use the new codebook
        assert "disputed post 1 of 1" in screen_text(app)
        await pilot.press("c")
        assert ("No codebook difference is left to reconcile.", "information", False) in _messages(app)
    s = Store(db)
    assert effective_codebook(s.db.conn, CB)[0].node(DOCS).name == "Seized documents"
    s.close()


async def test_escape_cancels_the_choice_then_leaves_for_the_posts_and_c_comes_back(db: Path) -> None:
    app = Host(Store(db))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        assert "Codebook difference keys" in screen_text(app) and "codebook_diff.both" in screen_text(app)
        await pilot.press("escape", "b", "escape")
        assert ("Cancelled: nothing was recorded.", "information", False) in _messages(app)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ReconcileScreen)
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, CodebookDiffScreen) and len(app.screen.diffs) == 2
    assert _consensus(db) == []


class Watching(Host):
    """The host, noting which post text the screen says is shown (what the exposure clock counts)."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.shown: list[int] = []

    def on_reconcile_screen_post_shown(self, message: ReconcileScreen.PostShown) -> None:
        self.shown.append(message.post["id"])


async def test_no_post_text_counts_as_shown_while_the_codebook_differences_cover_it(db: Path) -> None:
    app = Watching(Store(db))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, CodebookDiffScreen)
        app.screen_stack[-2].refresh_post()  # e.g. a break ended underneath: the post is redrawn, not shown
        await pilot.pause()
        assert app.shown == []
        await pilot.press("escape")
        await pilot.pause()
        assert len(app.shown) == 1
