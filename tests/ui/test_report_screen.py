"""The report screen with Pilot: computed in a worker with its own connection, every tab, hostile text."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import DataTable, TabbedContent

from tests.samples import HOSTILE
from tests.ui.conftest import screen_text
from tui.core.codebook.model import Codebook
from tui.core.project.events import Event
from tui.core.project.store import Store
from tui.ui.screens import report as report_screen
from tui.ui.screens.report import ReportScreen

SIZE, SMALL = (120, 40), (80, 24)
RANSOM, TORTURE, DRUGS = "targeting/financial-instability/ransom", "control/physical-abuse/torture", "control/drugs"
BOB = "[@click=app.quit]x"  # a coder name that would be an action if it were ever read as markup


class Host(App[None]):
    """Just the report screen, on a store the test opened."""

    def __init__(self, store: Store, codebook: Codebook, coder: str | None = None) -> None:
        super().__init__()
        self.store, self.codebook, self.coder = store, codebook, coder

    def on_mount(self) -> None:
        self.push_screen(ReportScreen(self.store, self.codebook, self.coder))


def code_five_posts(store: Store, scores: bool = True, coders: tuple[str, ...] = ("alice", BOB)) -> list[int]:
    """Two coders agree on five posts; the model scored them; alice quoted hostile text."""
    ids = store.post_ids(order="id")[:5]
    plan = [(RANSOM, TORTURE), (TORTURE,), (DRUGS, TORTURE), (), (RANSOM,)]
    for i, (pid, codes) in enumerate(zip(ids, plan, strict=False)):
        at = f"2025-01-01T10:{i:02d}:00.000Z"
        for coder in coders:
            store.record(Event(coder, pid, "relevance", value="1" if codes else "0", at=at, arm="blind"))
            for c in codes:
                store.record(Event(coder, pid, "code_add", code_id=c, at=at, arm="blind"))
            store.record(Event(coder, pid, "done", value="1", at=at, arm="blind"))
        if scores:
            with store.db.conn:
                store.db.conn.execute("INSERT INTO suggestions (post_id, kind, code_id, score) "
                                      "VALUES (?, 'relevance', '', ?)", (pid, 0.9 if i != 1 else 0.1))
    for text in HOSTILE:
        store.record(Event("alice", ids[0], "quote_add", code_id=RANSOM,
                           value=json.dumps({"start": 0, "end": 1, "text": text}, ensure_ascii=False), arm="blind"))
    return ids


async def loaded(app: App[None], pilot: object) -> ReportScreen:
    """Wait for the report worker and the message it posts."""
    await pilot.pause()  # type: ignore[attr-defined]
    await app.workers.wait_for_complete()
    await pilot.pause()  # type: ignore[attr-defined]
    screen = app.screen
    assert isinstance(screen, ReportScreen)
    return screen


async def test_every_tab_from_a_worker_with_its_own_connection(project: Path, codebook: Codebook,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(project)
    code_five_posts(store)
    opened: list[tuple[int, Store]] = []

    class Recording(Store):
        def __init__(self, *a: object, **kw: object) -> None:
            super().__init__(*a, **kw)  # type: ignore[arg-type]
            opened.append((threading.get_ident(), self))

    monkeypatch.setattr(report_screen, "Store", Recording)
    app = Host(store, codebook)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await loaded(app, pilot)
        # The worker opened its own connection, in its own thread, and closed it.
        assert len(opened) == 1 and opened[0][0] != threading.get_ident()
        with pytest.raises(sqlite3.ProgrammingError):  # closed
            opened[0][1].db.conn.execute("SELECT 1")
        assert not screen.query_one(TabbedContent).loading
        text = screen_text(app)
        assert "view: consensus" in text and "200 posts" in text
        freq = screen.query_one("#frequencies-table", DataTable)
        headers = [str(c.label) for c in freq.columns.values()]
        assert headers == [BOB, "alice", "consensus", "Level", "Path"]
        torture = next(r for r in (freq.get_row_at(i) for i in range(freq.row_count)) if str(r[-1]).endswith("Torture"))
        assert [str(c) for c in torture[:3]] == ["3", "3", "3"]
        await pilot.press("2")
        assert "Physical abuse and violence" in screen_text(app)
        await pilot.press("3")
        text = screen_text(app)
        assert "Not saturated: 5 distinct codes and sub-codes over 4 posts" in text
        assert "Distinct codes (cumulative)" in text
        await pilot.press("5")
        text = screen_text(app)
        assert "accuracy" in text and "0.600" in text and "Cohen's kappa" in text
        assert "model: relevant" in text
    store.close()


async def test_quotes_and_names_are_shown_literally(project: Path, codebook: Codebook) -> None:
    store = Store(project)
    ids = code_five_posts(store)
    label = store.post(ids[0])["label"]
    app = Host(store, codebook, coder="alice")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await loaded(app, pilot)
        await pilot.press("4")
        text = screen_text(app)
        assert "view: alice" in text
        assert "Recruitment — Targeting › Financial instability › Ransom" in text
        for shown in ("“[/]”", "“[B]bold”", "“[$accent]x”", "“red”", "“osc”"):
            assert shown in text
        assert f"“[$accent]x”  {label}  alice" in text
        assert "\x1b" not in text
        await pilot.press("1")
        assert f"Coded posts: {BOB} 4, alice" in screen_text(app)  # the note under the frequencies
        for view in ("consensus", "all coders", BOB, "alice"):  # one of them named like an action
            await pilot.press("v")
            await loaded(app, pilot)
            assert f"view: {view}  ·" in screen_text(app)
        await pilot.press("v", "v", "v")  # quick presses while a view loads still step on
        await loaded(app, pilot)
        assert f"view: {BOB}  ·" in screen_text(app)
        assert app.is_running
    store.close()


async def test_a_project_nobody_has_coded_says_so_in_every_tab(project: Path, codebook: Codebook) -> None:
    store = Store(project)
    app = Host(store, codebook)
    async with app.run_test(size=SMALL, notifications=True) as pilot:
        screen = await loaded(app, pilot)
        for key in "12345":
            await pilot.press(key)
            assert "No post has been coded yet" in screen_text(app)
        assert not screen.query_one(TabbedContent).loading
    store.close()


async def test_screening_explains_what_is_missing(project: Path, codebook: Codebook) -> None:
    store = Store(project)
    code_five_posts(store, scores=False)
    app = Host(store, codebook)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await loaded(app, pilot)
        await pilot.press("5")
        assert "No post has a model relevance score yet: run `qualtui prelabel` first." in screen_text(app)
    store.close()
    other = Store(project)
    with other.db.conn:
        other.db.conn.execute("DELETE FROM events")
    code_five_posts(other, coders=("alice",))
    with other.db.conn:
        other.db.conn.execute("DELETE FROM events WHERE kind IN ('relevance', 'code_add')")
    app = Host(other, codebook)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await loaded(app, pilot)
        await pilot.press("5")
        assert "has made no relevance decision yet" in screen_text(app)
    other.close()


async def test_a_failing_worker_ends_in_a_sentence(project: Path, codebook: Codebook,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*a: object, **kw: object) -> None:
        raise RuntimeError("disk [B] on fire")

    monkeypatch.setattr(report_screen, "build_report", broken)
    store = Store(project)
    app = Host(store, codebook)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await loaded(app, pilot)
        assert "The report could not be made: disk [B] on fire" in screen_text(app)
        assert not screen.query_one(TabbedContent).loading and app.is_running
    store.close()


async def test_escape_and_q_close(project: Path, codebook: Codebook) -> None:
    store = Store(project)
    for key in ("escape", "q"):
        app = Host(store, codebook)
        async with app.run_test(size=SMALL, notifications=True) as pilot:
            await loaded(app, pilot)
            await pilot.press(key)
            assert not isinstance(app.screen, ReportScreen)
    store.close()


@pytest.mark.parametrize("size", [SIZE, SMALL])
async def test_screening_tab_grades_the_learned_screen_out_of_fold_with_intervals(tmp_path: Path,
                                                                               size: tuple[int, int]) -> None:
    from tests.core.prelabel.helpers import MINI, learned_project
    from tui.core.codebook.loading import load_codebook

    mini = load_codebook(MINI)
    store = Store(tmp_path / "learned.db")
    learned_project(store, mini)  # the stored learned scores get 1.000 right in-sample, 0.700 out of fold
    with store.db.conn:  # decided with no suggestion on screen: the card's default arm
        store.db.conn.execute("UPDATE events SET arm = 'blind'")
    app = Host(store, mini)
    async with app.run_test(size=size, notifications=True) as pilot:
        screen = await loaded(app, pilot)
        await pilot.press("5")
        await pilot.pause()
        text = " ".join(screen_text(app).split())
        assert "out-of-fold predictions on the 60 decisions it learned from" in text
        scores = screen.query_one("#screening-scores", DataTable)
        assert [str(c.label) for c in scores.columns.values()] == ["Measure", "Value", "95% interval", "n",
                                                                   "Interval"]
        rows = {str(r[0]): [str(c) for c in r[1:]] for r in (scores.get_row_at(i) for i in range(scores.row_count))}
        assert rows["accuracy"] == ["0.700", "0.575–0.801", "60", "Wilson"]
        assert rows["Cohen's kappa"][3] == "bootstrap"
        assert "0.700" in text and "1.000" not in text.split("accuracy")[1][:40]
        assert not app._notifications  # nothing went wrong on the way
    store.close()


async def test_the_codebook_tab_shows_when_each_code_first_appeared(project: Path, codebook: Codebook) -> None:
    store = Store(project)
    code_five_posts(store)
    app = Host(store, codebook)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await loaded(app, pilot)
        await pilot.press("6")
        assert "first use on a post" in screen_text(app)
        table = screen.query_one("#codes-table", DataTable)
        first = [str(c) for c in table.get_row_at(0)]
        assert first[:3] == ["2025-01-01T10:00:00.000Z", "first used", store.post(store.post_ids(order="id")[0])
                             ["label"]]
        assert first[-1] in (RANSOM, TORTURE)
    store.close()
