"""Pre-labels a new coder sees in the first minute: the app scores posts by itself and learns again as they decide."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.core.prelabel.helpers import Fake
from tests.samples import SAMPLE
from tests.ui.conftest import screen_text
from tui.core.codebook.loading import load_codebook
from tui.core.codebook.model import Codebook
from tui.core.config import Config
from tui.core.prelabel.auto import learning_note
from tui.core.prelabel.backends.gguf import default_model_path
from tui.core.prelabel.errors import PrelabelError
from tui.core.prelabel.run import run_prelabel
from tui.core.project.events import Event
from tui.core.project.ingest import import_file
from tui.core.project.store import Store
from tui.ui.app import QualtuiApp

MINI = Path(__file__).parents[1] / "core" / "fixtures" / "prelabel_mini.yaml"
WAIT = 3000
"""Polls of 0.1 s at most: a bound for a busy machine, never a measure of speed."""


@pytest.fixture(scope="module")
def mini() -> Codebook:
    """A codebook of four codes: the model embeds every code before suggesting any."""
    return load_codebook(MINI)


@pytest.fixture(scope="module")
def default_model() -> Path:
    """The shipped default model, or a skip where it is not installed."""
    try:
        return default_model_path()
    except PrelabelError as exc:
        pytest.skip(str(exc))


def _tiny(tmp_path: Path, n: int = 3) -> Path:
    notes = json.loads(SAMPLE.read_text(encoding="utf-8"))[:n]
    src = tmp_path / "tiny.json"
    src.write_text(json.dumps(notes, ensure_ascii=False), encoding="utf-8")
    db = tmp_path / "p.db"
    s = Store(db)
    import_file(s, src)
    s.close()
    return db


def _app(db: Path, codebook: Codebook, *, auto: bool, every: int = 20) -> QualtuiApp:
    cfg = Config(wellbeing={"checkins": False}, relearn_every=every)
    return QualtuiApp(Store(db), codebook, "alice", config=cfg, auto_prelabel=auto)


async def _until(pilot: Pilot[Any], check: Callable[[], bool], seen: Callable[[], None] = lambda: None) -> None:
    for _ in range(WAIT):
        seen()
        if check():
            return
        await pilot.pause(0.1)
    raise AssertionError("the app did not get there")


def _suggested(app: QualtuiApp) -> bool:
    cur = app.session.current
    return cur is not None and any(kind == "relevance" for kind, _, _ in cur.suggestions)


def _idle(app: QualtuiApp) -> bool:
    return not any(w.is_running for w in app.workers) and app.prelabel_status == ""


async def test_a_suggestion_appears_on_the_post_on_screen_without_a_key(tmp_path: Path, mini: Codebook,
                                                                       default_model: Path) -> None:
    db = _tiny(tmp_path)
    app = _app(db, mini, auto=True)
    statuses: list[str] = []
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.pause()
        assert "relevant?" not in screen_text(app)
        await _until(pilot, lambda: _suggested(app), lambda: statuses.append(app.prelabel_status))
        # It landed while the worker went on (codes and embeddings come after): as it was scored, not at the end.
        assert statuses[-1].startswith("pre-labelling")
        await pilot.pause()
        assert "relevant?" in screen_text(app)  # the side panel redrew with the new score
        await _until(pilot, lambda: _idle(app))
        await pilot.pause()
        shown = screen_text(app)
        assert "Pre-labels: 3 scored" in shown and "pre-labelling" not in shown
    s = Store(db)
    assert s.events(coder="alice") == []  # the coder pressed nothing
    assert s.db.execute("SELECT count(*) FROM suggestions WHERE kind = 'relevance'").fetchone()[0] == 3
    assert [r[0] for r in s.db.execute("SELECT status FROM prelabel_runs ORDER BY id")] == ["finished", "finished"]


async def test_turned_off_nothing_runs_in_the_background(tmp_path: Path, mini: Codebook,
                                                         default_model: Path) -> None:
    db = _tiny(tmp_path)
    app = _app(db, mini, auto=False)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.pause()
        await pilot.press("1")
        await pilot.pause()
        assert list(app.workers) == [] and app.prelabel_status == ""
        assert not _suggested(app) and "relevant?" not in screen_text(app)
    s = Store(db)
    assert s.db.execute("SELECT count(*) FROM suggestions").fetchone()[0] == 0
    assert s.db.execute("SELECT count(*) FROM prelabel_runs").fetchone()[0] == 0


async def test_after_n_decisions_the_app_learns_again(tmp_path: Path, mini: Codebook, default_model: Path) -> None:
    db = _tiny(tmp_path)
    app = _app(db, mini, auto=True, every=2)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await _until(pilot, lambda: _idle(app) and _suggested(app))
        assert learning_note(app.store).startswith("Learned screen: not fitted after 0 decisions")
        await pilot.press("1")  # one decision: not yet
        await pilot.pause()
        assert learning_note(app.store).startswith("Learned screen: not fitted after 0 decisions")
        await pilot.press("0")
        await _until(pilot, lambda: "after 2 decisions" in learning_note(app.store) and _idle(app))
        await pilot.press("R")
        await _until(pilot, lambda: "view:" in screen_text(app))
        await pilot.press("5")
        await _until(pilot, lambda: "Learned screen: not fitted after 2 decisions" in screen_text(app))


def _labelled_project(tmp_path: Path, codebook: Codebook) -> tuple[Path, list[int]]:
    """30 posts pre-labelled (by a stand-in model) and 22 screening decisions by another coder."""
    texts = [f"{'被骗到缅甸 scam ' if i % 2 else '今天的晚饭 '}{'x' * i}" for i in range(30)]
    db = tmp_path / "p.db"
    s = Store(db)
    with s.db.conn:
        ids = [s.db.conn.execute("INSERT INTO posts (platform, platform_id, label, title, text, text_hash) VALUES"
                                 " ('xhs', ?, ?, '', ?, ?)", (f"n{i}", f"P-{i:03d}", t, f"h{i}")).lastrowid
               for i, t in enumerate(texts)]
    run_prelabel(s, codebook, Fake(), learn_from_coders=False)
    for pid, text in zip(ids[8:], texts[8:], strict=True):
        s.record(Event("bob", pid, "relevance", value=str(int("scam" in text))))
    s.close()
    return db, ids


async def test_the_report_shows_the_cross_validated_figures_of_the_last_learning(tmp_path: Path,
                                                                                mini: Codebook) -> None:
    db, ids = _labelled_project(tmp_path, mini)
    app = _app(db, mini, auto=True, every=3)  # every post has a pre-label: no model is loaded
    undecided = ",".join(map(str, ids[1:8]))
    learned = f"SELECT count(*) FROM suggestions WHERE source = 'learned' AND post_id IN ({undecided})"
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.pause()
        assert list(app.workers) == [] and learning_note(app.store) == ""
        await pilot.press("1")  # 23 decisions since the app last learned (none so far)
        await _until(pilot, lambda: "after 23 decisions" in learning_note(app.store) and _idle(app))
        assert learning_note(app.store).startswith("Learned screen refreshed after 23 decisions: 5-fold")
        # The stand-in model's scores separate the two kinds of post: the learned screen is used for the others.
        assert app.store.db.execute(learned).fetchone()[0] == 7
        assert any("Suggestions updated" in n.message for n in app._notifications)
        await pilot.press("R")
        await _until(pilot, lambda: "view:" in screen_text(app))
        await pilot.press("5")
        await _until(pilot, lambda: "after 23 decisions" in screen_text(app))
        assert "5-fold cross-validated accuracy" in screen_text(app)


async def test_without_a_model_one_toast_says_so_and_coding_goes_on(tmp_path: Path, mini: Codebook) -> None:
    db = _tiny(tmp_path)
    cfg = Config(wellbeing={"checkins": False}, relearn_every=1, model=str(tmp_path / "missing.gguf"))
    app = QualtuiApp(Store(db), mini, "alice", config=cfg, auto_prelabel=True)

    def told() -> list[str]:
        return [n.message for n in app._notifications if "pre-label" in n.message.lower()]

    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await _until(pilot, lambda: _idle(app) and bool(told()))
        await pilot.press("1", "0", "1")  # every decision could start learning: there is nothing to learn beside
        await _until(pilot, lambda: _idle(app))
        await pilot.pause()
        assert told() == [f"No pre-labels: Model file {tmp_path / 'missing.gguf'} does not exist. "
                          "Coding goes on without them; P tries again."]
        assert app.return_code is None and app.prelabel_status == ""
    s = Store(db)
    assert [e["kind"] for e in s.events(coder="alice")] == ["relevance"] * 3
    assert s.db.execute("SELECT count(*) FROM prelabel_runs").fetchone()[0] == 0
    assert learning_note(s) == ""
