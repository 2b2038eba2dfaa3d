"""Post titles, text, tags and memos are shown literally: markup and escapes never act."""

from __future__ import annotations

import json
from pathlib import Path

from tests.samples import HOSTILE, xhs_note
from tests.ui.conftest import screen_text
from tui.core.codebook.model import Codebook
from tui.core.config import Config
from tui.core.project.ingest import import_file
from tui.core.project.store import Store
from tui.ui.app import QualtuiApp
from tui.ui.screens.memo import MemoScreen

VISIBLE = ["[@click=app.quit]x", "[/]", "[B]bold", "[$accent]x", "[link=https://x.invalid]l[/link]"]


def _hostile_project(tmp_path: Path) -> Path:
    body = "  ".join(HOSTILE) + "。第二句 [bold]not bold[/bold]！"
    notes = [xhs_note(1, title="[@click=app.quit]x [B]bold", desc=body, tag_list="[/],[$accent]x,\x1b[31mred")]
    src = tmp_path / "hostile.json"
    src.write_text(json.dumps(notes, ensure_ascii=False), encoding="utf-8")
    db = tmp_path / "h.db"
    s = Store(db)
    import_file(s, src)
    s.close()
    return db


async def test_every_view_of_post_data_is_literal(tmp_path: Path, codebook: Codebook) -> None:
    db = _hostile_project(tmp_path)
    app = QualtuiApp(Store(db), codebook, "[B]coder", mode="coding", config=Config(wellbeing={"checkins": False}))
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        text = screen_text(app)
        for s in VISIBLE + ["[bold]not", "bold[/bold]", "#[/]", "#[$accent]x", "[B]coder"]:
            assert s in text, s
        assert "\x1b" not in text
        # Click actions in the text must not run, even when clicked.
        await pilot.click("#post")
        await pilot.press("j", "j")
        assert app.is_running
        # Memo with markup: edited literally, shown literally in the panel.
        await pilot.press("e")
        assert isinstance(app.screen, MemoScreen)
        await pilot.press(*"[@click=app.quit]m [$accent]y [/]")
        await pilot.press("ctrl+s")
        assert "[@click=app.quit]m [$accent]y [/]" in screen_text(app)
        # A quote of a hostile sentence, then the panel lists it literally.
        await pilot.press("2", "s", "k", "k", "quotation_mark")
        assert app.is_running and "“[@click=app.quit]x" in screen_text(app)
        await pilot.press("slash", *"[B]", "escape")
        assert app.is_running
    s = Store(db)
    st = s.state("[B]coder", s.post_ids()[0])
    assert st.memo == "[@click=app.quit]m [$accent]y [/]"
