"""The coder's day at a small terminal: what stays on screen, where the app reopens, what it counts and says."""

from __future__ import annotations

import json
from pathlib import Path

from tests.samples import CODEBOOK, xhs_note
from tests.ui.conftest import screen_text
from tui.core.codebook.loading import load_codebook
from tui.core.codebook.model import Codebook
from tui.core.coding.sentences import NO_START
from tui.core.config import Config
from tui.core.project.ingest import import_file
from tui.core.project.store import Store
from tui.ui.app import QualtuiApp
from tui.ui.screens.coding import CodingScreen
from tui.ui.screens.help import HelpScreen
from tui.ui.screens.search import SearchScreen
from tui.ui.widgets.post_view import PostView

CFG = {"checkins": False}


def _app(project: Path, codebook: Codebook, mode: str | None = "screening", coder: str = "alice") -> QualtuiApp:
    return QualtuiApp(Store(project), codebook, coder, mode=mode, config=Config(wellbeing=CFG))


def _lines(app: QualtuiApp) -> list[str]:
    return screen_text(app).split("\n")


def _notes(app: QualtuiApp) -> list[str]:
    return [n.message for n in app._notifications]


def _project_of(tmp_path: Path, notes: list[dict[str, object]]) -> Path:
    src = tmp_path / "notes.json"
    src.write_text(json.dumps(notes, ensure_ascii=False), encoding="utf-8")
    db = tmp_path / "p.db"
    s = Store(db)
    import_file(s, src)
    s.close()
    return db


# ---------------------------------------------------------------- 1. 80x24 and 60x20


async def test_80x24_keeps_wellbeing_figures_keys_and_post_width(project: Path, codebook: Codebook) -> None:
    app = _app(project, codebook, mode="coding")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.pause()
        lines = _lines(app)
        status, footer = lines[0], lines[-1]
        assert "break in 25" in status and "/240" in status and "today" in status, status
        assert "? Keys" in footer and "q Quit" in footer, footer
        post = app.screen.query_one(PostView)
        assert post.outer_size.width >= 0.6 * 80
        app.prelabel_status = "pre-labelling 12/200"
        app.screen.refresh_status()
        await pilot.pause()
        status = _lines(app)[0]
        assert "P 12/200" in status and "break in 25" in status, status


async def test_60x20_gives_the_post_the_width_and_c_brings_the_panel_back(project: Path, codebook: Codebook) -> None:
    app = _app(project, codebook, mode="coding")
    async with app.run_test(size=(60, 20), notifications=True) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CodingScreen)
        assert not screen.query_one("#side").display
        assert screen.query_one(PostView).outer_size.width == 60
        lines = _lines(app)
        assert "break in" in lines[0] and "? Keys" in lines[-1] and "q Quit" in lines[-1]
        await pilot.press("c")
        await pilot.pause()
        assert screen.query_one("#side").display
        assert screen.query_one(PostView).outer_size.width >= 36
        await pilot.press("c")
        await pilot.pause()
        assert not screen.query_one("#side").display


# ---------------------------------------------------------------- 2. reopening


async def test_reopens_at_the_last_post_viewed_in_the_last_mode(project: Path, codebook: Codebook) -> None:
    app = _app(project, codebook, mode=None)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        assert app.screen.mode == "screening"
        await pilot.press("1")  # a decision on post 1
        await pilot.press("right", "right", "m")  # then only looking, and switching to coding
        await pilot.pause()
        viewed = app.session.current.post["label"]
        assert app.session.index == 3
    again = _app(project, codebook, mode=None)
    async with again.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.pause()
        assert again.session.current.post["label"] == viewed
        assert again.screen.mode == "coding"
    other = _app(project, codebook, mode=None, coder="bob")  # each coder has their own place
    async with other.run_test(size=(120, 40), notifications=True) as pilot:
        assert other.session.index == 0 and other.screen.mode == "screening"


# ---------------------------------------------------------------- 3. counts


async def test_counts_in_the_modes_terms(project: Path, codebook: Codebook) -> None:
    app = _app(project, codebook)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press(*(["1", "0"] * 10))
        await pilot.pause()
        assert "20 / 200 screened" in _lines(app)[0]
        await pilot.press("m")
        await pilot.pause()
        assert "0 / 190 coded" in _lines(app)[0]  # the 10 screened out are not to be coded
        await pilot.press("left", "left")  # a relevant post; code it and mark it done
        await pilot.press("2", "s", "enter")
        await pilot.pause()
        assert "1 / 190 coded" in _lines(app)[0]
        await pilot.press("u", "u")  # undo the done mark and the code
        await pilot.press("m")
        await pilot.pause()
        assert "20 / 200 screened" in _lines(app)[0]


# ---------------------------------------------------------------- 4. hints


async def test_hints_match_the_mode(project: Path, codebook: Codebook) -> None:
    app = _app(project, codebook)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "category digit" not in text and "screening: 1 relevant" in text
        await pilot.press("m")
        await pilot.pause()
        assert "press a category digit" in screen_text(app)
        await pilot.press("enter")  # an unscreened post in coding mode
        await pilot.pause()
        said = " ".join(_notes(app))
        assert "(1 or 0)" not in said and "category digit" in said and "0" in said


# ---------------------------------------------------------------- 5. ctrl+d in search


async def test_ctrl_d_in_search_shows_the_full_definition(project: Path, codebook: Codebook) -> None:
    app = _app(project, codebook, mode="coding")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("slash", *"passport")
        await pilot.pause()
        assert isinstance(app.screen, SearchScreen)
        code_id = app.screen._highlighted()
        node = codebook.node(code_id)
        definition = getattr(node, "definition", "") or getattr(node, "description", "")
        assert definition[:30] not in screen_text(app)
        await pilot.press("ctrl+d")
        await pilot.pause()
        assert " ".join(definition.split())[:30] in " ".join(screen_text(app).split())
        assert app.screen.query_one("#search-results").option_count  # the query text is still there


# ---------------------------------------------------------------- 6. undo an accepted suggestion


async def test_undoing_an_accepted_suggestion_brings_it_back(project: Path, codebook: Codebook) -> None:
    s = Store(project)
    pid = s.post_ids()[0]
    with s.db.conn:
        s.db.conn.execute("INSERT INTO suggestions (post_id, kind, code_id, score, source)"
                          " VALUES (?, 'code', 'control/confinement', 0.8, 'llm')", (pid,))
    app = _app(project, codebook, mode="coding")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        assert "80% Confinement" in screen_text(app)
        await pilot.press("a")
        assert "control/confinement" in s.state("alice", pid).codes
        assert "80% Confinement" not in screen_text(app)
        await pilot.press("u")
        await pilot.pause()
        assert "control/confinement" not in s.state("alice", pid).codes
        assert "80% Confinement" in screen_text(app)
        await pilot.press("r")  # a rejection stays a rejection
        assert "80% Confinement" not in screen_text(app)


# ---------------------------------------------------------------- 7. keys as typed, P


async def test_help_shows_keys_as_typed_and_prelabel(project: Path, codebook: Codebook) -> None:
    app = _app(project, codebook)
    async with app.run_test(size=(120, 60), notifications=True) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for raw in ("slash", "quotation_mark", "question_mark"):
            assert raw not in text, raw
        rows = {line.split("│")[1].strip() for line in text.split("\n") if line.count("│") >= 3}
        assert {"/", '"', "?", "P", "c"} <= rows, rows
        assert "prelabel" in text


# ---------------------------------------------------------------- 8. cursor moves redraw little


async def test_cursor_move_redraws_only_the_lines_that_changed(tmp_path: Path, codebook: Codebook,
                                                              monkeypatch: object) -> None:
    body = "\n".join(f"第{i}段：朋友介绍说去泰国做客服，月薪三万，包机票。到了以后护照被收走，每天要完成诈骗业绩。"
                     for i in range(300))
    db = _project_of(tmp_path, [xhs_note(1, desc=body)])
    app = _app(db, codebook)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await pilot.pause()
        view = app.screen.query_one(PostView)
        drawn: list[int] = []
        original = PostView._line_text

        def counting(self: PostView, y: int) -> object:
            drawn.append(y)
            return original(self, y)

        monkeypatch.setattr(PostView, "_line_text", counting)  # type: ignore[attr-defined]
        for _ in range(5):
            await pilot.press("j")
        await pilot.pause()
        assert view.cursor == 5
        assert 0 < len(drawn) <= 5 * 4, drawn  # two sentences' lines per key, not the 600 lines of the post
        assert "护照被收走" in screen_text(app)


# ---------------------------------------------------------------- 9. topic markers


async def test_topic_markers_are_not_shown_but_stay_stored(tmp_path: Path, codebook: Codebook) -> None:
    desc = "到了以后护照被收走。大家千万别信高薪招聘！#反诈[话题]# #缅北[话题]#"
    db = _project_of(tmp_path, [xhs_note(1, desc=desc, tag_list="反诈,缅北")])
    app = _app(db, codebook)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "[话题]" not in text and "大家千万别信高薪招聘！" in text and "#反诈" in text  # in the header
        await pilot.press("j", "j", "j")
        assert app.screen.query_one(PostView).cursor == 1  # the markers are no sentence to stop on
    assert Store(db).post(Store(db).post_ids()[0])["text"] == desc


# ---------------------------------------------------------------- 10. wrapping


async def test_chinese_punctuation_never_starts_a_line(tmp_path: Path, codebook: Codebook) -> None:
    body = "\n".join("诈" * k + "。后面" for k in range(20, 60))
    db = _project_of(tmp_path, [xhs_note(1, desc=body)])
    app = _app(db, codebook)
    async with app.run_test(size=(80, 60), notifications=True) as pilot:
        await pilot.pause()
        post = [line.split("│")[0].strip() for line in _lines(app)[5:-1]]
        assert sum(1 for line in post if line.startswith("诈")) > 20
        assert not [line for line in post if line[:1] in NO_START], post


async def test_wrapped_suggestion_names_are_indented(project: Path, codebook: Codebook) -> None:
    s = Store(project)
    pid = s.post_ids()[0]
    with s.db.conn:
        s.db.conn.execute("INSERT INTO suggestions (post_id, kind, code_id, score, source)"
                          " VALUES (?, 'code', 'control/physical-abuse/torture', 0.8, 'llm')", (pid,))
    app = _app(project, codebook, mode="coding")
    async with app.run_test(size=(80, 30), notifications=True) as pilot:
        await pilot.pause()
        side = [line.split("│", 1)[1] for line in _lines(app) if "│" in line]
        i = next(n for n, line in enumerate(side) if "80%" in line)
        assert side[i + 1].startswith("       ") and side[i + 1].strip(), side[i:i + 3]


# ---------------------------------------------------------------- 12. the screening labels


def test_screening_labels_have_their_own_definitions() -> None:
    labels = load_codebook(CODEBOOK).screening.labels  # type: ignore[union-attr]
    assert labels["0"].definition != labels["1"].definition
    assert "no specific information" in labels["0"].definition
    assert "concrete information" in labels["1"].definition  # what makes a post relevant, not a code's text
