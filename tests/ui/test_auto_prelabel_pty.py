"""Quitting while the app pre-labels in the background: exit 0 at once, and a cache with no half-written post."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.ui.test_pty_smoke import ESC, _drain, _finish, _keys, _qualtui, _query, _started, _until, db, env, spawn
from tui.core.prelabel.backends.gguf import default_model_path, model_cache_dir
from tui.core.prelabel.errors import PrelabelError

__all__ = ["db", "env", "spawn"]  # fixtures shared with the smoke tests


@pytest.fixture
def model_env(env: dict[str, str]) -> dict[str, str]:
    """The smoke tests' clean home, finding the default model where it is already assembled."""
    try:
        default_model_path()
    except PrelabelError as exc:
        pytest.skip(str(exc))
    env["QUALTUI_MODEL_DIR"] = str(model_cache_dir())  # the clean home would assemble it again
    return env


def test_quitting_during_pre_labelling_exits_0_and_leaves_a_consistent_cache(
        db: Path, model_env: dict[str, str], spawn: Callable[..., object]) -> None:
    child = spawn(_qualtui(), ["--db", str(db), "code", "--coder", "smoke"])
    _started(db, child)
    _keys(child, ESC, gap=0.6)
    # Pre-labelling started by itself: wait for the first scored posts (the database is the witness).
    _until(lambda: _query(db, "SELECT count(*) FROM suggestions")[0][0] >= 2, child, timeout=300)
    _keys(child, "1")
    _until(lambda: bool(_query(db, "SELECT 1 FROM events WHERE coder = 'smoke'")), child)
    _drain(child, 0.5)
    _keys(child, "q")
    status, seen = _finish(child)
    assert status == 0, seen[-2000:]
    assert "Traceback" not in seen
    assert _query(db, "PRAGMA integrity_check") == [("ok",)]
    runs = _query(db, "SELECT status FROM prelabel_runs ORDER BY id")
    assert runs and runs[-1][0] == "stopped" and all(r[0] in ("stopped", "finished") for r in runs)
    # Every post with a pre-label has its cached score, and nothing was scored without its pre-label.
    labelled = _query(db, "SELECT count(*) FROM suggestions WHERE kind = 'relevance'")[0][0]
    cached = _query(db, "SELECT count(DISTINCT p.id) FROM posts p JOIN prelabel_cache c ON c.text_hash = p.text_hash"
                        " AND c.kind = 'relevance'")[0][0]
    assert 2 <= labelled == cached < 200
    assert _query(db, "SELECT count(*) FROM suggestions s LEFT JOIN prelabel_cache c ON c.kind = 'relevance' AND"
                      " c.text_hash = (SELECT text_hash FROM posts WHERE id = s.post_id)"
                      " WHERE s.kind = 'relevance' AND c.score IS NULL")[0][0] == 0
