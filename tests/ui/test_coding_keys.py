"""Coding by keyboard with Pilot: every decision lands in the database before the screen shows it."""

from __future__ import annotations

from pathlib import Path

from tests.ui.conftest import screen_text
from tui.core.codebook.model import Codebook
from tui.core.config import Config
from tui.core.project.store import Store
from tui.ui.app import QualtuiApp
from tui.ui.screens.coding import CodingScreen

SIZE = (120, 40)


def _app(project: Path, codebook: Codebook, coder: str = "alice", mode: str = "screening") -> QualtuiApp:
    # Check-ins are tested on their own; here they would take the first key.
    return QualtuiApp(Store(project), codebook, coder, mode=mode, config=Config(wellbeing={"checkins": False}))


def _kinds(project: Path, coder: str = "alice") -> list[tuple[str, str, str]]:
    s = Store(project)
    rows = [(r["kind"], r["code_id"], r["value"]) for r in s.events(coder=coder)]
    s.close()
    return rows


async def test_screening_three_posts(project: Path, codebook: Codebook) -> None:
    app = _app(project, codebook)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        first = app.session.current.post["id"]
        await pilot.press("1", "0", "1")
        assert [k for k, _, _ in _kinds(project)] == ["relevance"] * 3
        assert [v for _, _, v in _kinds(project)] == ["1", "0", "1"]
        s = Store(project)
        assert s.state("alice", first).relevance == 1
        assert app.session.index == 3
        assert "post 4 of 200" in screen_text(app)


async def test_code_subcode_remove_undo_redo(project: Path, codebook: Codebook) -> None:
    app = _app(project, codebook, mode="coding")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        pid = app.session.current.post["id"]
        await pilot.press("4", "p")
        assert isinstance(app.screen, CodingScreen) and app.screen.picker == ["control", "control/physical-abuse"]
        assert "Torture" in screen_text(app)
        await pilot.press("t")
        s = Store(project)
        assert list(s.state("alice", pid).codes) == ["control/physical-abuse/torture"]
        text = screen_text(app)
        assert "● Torture" in text and "in Physical abuse and violence" in text
        await pilot.press("2", "s")  # a code without sub-codes: two keys
        await pilot.press("3", "i", "enter")  # a code with sub-codes, assigned itself with Enter
        assert set(s.state("alice", pid).codes) == {
            "control/physical-abuse/torture", "channels/social-media", "approaches/impersonation"}
        await pilot.press("x", "1")
        assert "control/physical-abuse/torture" not in s.state("alice", pid).codes
        await pilot.press("u")
        assert "control/physical-abuse/torture" in s.state("alice", pid).codes
        await pilot.press("u", "u")
        assert set(s.state("alice", pid).codes) == {"control/physical-abuse/torture"}
        await pilot.press("U")  # redo puts back the last thing undone: social media
        assert set(s.state("alice", pid).codes) == {"control/physical-abuse/torture", "channels/social-media"}
        await pilot.press("ctrl+z")
        assert set(s.state("alice", pid).codes) == {"control/physical-abuse/torture"}
        kinds = [k for k, _, _ in _kinds(project)]
        assert kinds.count("undo") == 4 and kinds.count("redo") == 1


async def test_escape_backs_out_of_the_picker_without_writing(project: Path, codebook: Codebook) -> None:
    app = _app(project, codebook, mode="coding")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("4", "p", "escape", "escape", "escape")
        assert app.screen.picker is None
        await pilot.press("4", "z")  # no such code: a bell, nothing written
        assert _kinds(project) == []


async def test_memo_flag_quote_done_and_resume(project: Path, codebook: Codebook) -> None:
    app = _app(project, codebook, mode="coding")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("right", "right")
        pid = app.session.current.post["id"]
        await pilot.press("5", "f")  # fraud-working scheme has sub-codes
        await pilot.press("enter")
        await pilot.press("e")
        await pilot.press(*"needs [B] discussion")
        await pilot.press("ctrl+s")
        await pilot.press("f", "j", "quotation_mark")
        await pilot.press("enter")  # done → next post
        assert app.session.current.post["id"] != pid
    s = Store(project)
    st = s.state("alice", pid)
    assert st.memo == "needs [B] discussion" and st.flagged and st.done
    assert len(st.quotes) == 1 and st.quotes[0].code_id == "exploitation/fraud-work"
    post = s.post(pid)
    assert st.quotes[0].text in post["text"]
    s.close()
    # Reopen: the app resumes at the post after the last one touched was finished.
    again = _app(project, codebook, mode="coding")
    async with again.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("left")
        assert again.session.current.post["id"] == pid
        text = screen_text(again)
        assert "needs [B] discussion" in text and "Fraud-working scheme" in text


async def test_resume_at_unfinished_post_after_restart(project: Path, codebook: Codebook) -> None:
    app = _app(project, codebook, mode="coding")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("right", "right", "right", "2", "g")
        pid = app.session.current.post["id"]
        label = app.session.current.post["label"]
    again = _app(project, codebook, mode="coding")
    async with again.run_test(size=SIZE, notifications=True):
        assert again.session.current.post["id"] == pid
        assert label in screen_text(again)


async def test_search_and_assign(project: Path, codebook: Codebook) -> None:
    app = _app(project, codebook, mode="coding")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        pid = app.session.current.post["id"]
        await pilot.press("slash")
        await pilot.press(*"赎金")
        await pilot.pause()
        await pilot.press("ctrl+d")
        assert "ransom" in screen_text(app).lower()
        await pilot.press("enter")
        await pilot.pause()
        codes = Store(project).state("alice", pid).codes
        assert len(codes) == 1 and next(iter(codes)).endswith("/ransom")


async def test_recent_code_is_one_key_away(project: Path, codebook: Codebook) -> None:
    app = _app(project, codebook, mode="coding")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("2", "g", "right")
        pid = app.session.current.post["id"]
        await pilot.press("exclamation_mark")
        assert list(Store(project).state("alice", pid).codes) == ["channels/gambling"]


async def test_suggestions_accept_reject_and_hide(project: Path, codebook: Codebook) -> None:
    s = Store(project)
    pid = s.post_ids()[0]
    with s.db.conn:
        s.db.conn.executemany(
            "INSERT INTO suggestions (post_id, kind, code_id, score, source) VALUES (?, ?, ?, ?, 'llm')",
            [(pid, "relevance", "", 0.91), (pid, "code", "control/confinement", 0.8),
             (pid, "code", "channels/gambling", 0.6)])
    app = _app(project, codebook, mode="coding")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        assert app.session.current.post["id"] == pid
        text = screen_text(app)
        assert "91% relevant?" in text and "Confinement" in text
        await pilot.press("a")  # accept relevance
        await pilot.press("a")  # accept confinement
        await pilot.press("r")  # reject gambling
        st = s.state("alice", pid)
        assert st.relevance == 1 and "control/confinement" in st.codes and "channels/gambling" not in st.codes
        assert st.suggestions == {"relevance": "accept", "control/confinement": "accept", "channels/gambling": "reject"}
        await pilot.press("H")
        text = screen_text(app)
        assert "Suggestions hidden." in text and text.count("Suggestions") == 1  # only in the toast


async def test_keys_remap_from_the_config_file(project: Path, codebook: Codebook) -> None:
    cfg = Config(wellbeing={"checkins": False}, keys={"undo": "backspace", "screen.irrelevant": "b"})
    app = QualtuiApp(Store(project), codebook, "alice", config=cfg)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        first = app.session.current.post["id"]
        await pilot.press("b")  # remapped: not relevant
        assert Store(project).state("alice", first).relevance == 0
        await pilot.press("backspace")  # remapped undo
        assert Store(project).state("alice", first).relevance is None
        await pilot.press("question_mark")
        assert "backspace" in screen_text(app)


async def test_three_severe_posts_in_a_row_bring_a_milder_one(project: Path, codebook: Codebook) -> None:
    s = Store(project)
    ids = s.post_ids()
    with s.db.conn:  # the model, learned from the coders, thinks the first five posts are about torture
        s.db.conn.executemany("INSERT INTO suggestions (post_id, kind, code_id, score, source)"
                              " VALUES (?, 'code', ?, 0.9, 'learned')",
                              [(pid, "control/physical-abuse/torture") for pid in ids[:5]])
    s.close()
    cfg = Config(wellbeing={"checkins": False, "severe_pause_seconds": 0})
    app = QualtuiApp(Store(project), codebook, "alice", config=cfg)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("0", "0", "0")  # three severe posts read and screened out
        assert app.session.current.post["id"] == ids[5]  # the milder post was moved up
        assert ids[3] in app.session.posts[app.session.index + 1:]
