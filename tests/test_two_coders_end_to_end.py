"""Two coders, two machines: code by keyboard, exchange files, measure agreement, reconcile, share the consensus."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from tests.samples import CODEBOOK, SAMPLE
from tests.sync_helpers import counts, derived, snapshot
from tests.ui.conftest import screen_text
from tui.cli import cli
from tui.core.codebook.loading import load_codebook
from tui.core.config import Config
from tui.core.project.events import CONSENSUS
from tui.core.project.store import Store
from tui.core.sync.consensus import disagreements
from tui.ui.app import QualtuiApp
from tui.ui.reconcile_app import ReconcileApp
from tui.ui.screens.break_screen import BreakScreen
from tui.ui.screens.reconcile import DecisionTypeScreen, ReconcileScreen

CB = load_codebook(CODEBOOK)
SIZE = (120, 40)
TEEN, ADULT, AGE = "targeting/age/teenagers", "targeting/age/adults", "targeting/age"
DEBT, SOCIAL = "targeting/financial-instability/debt", "channels/social-media"
FIRST, NEWS = "post-types/first-person", "post-types/news-awareness"
KEYS = {TEEN: "1at", ADULT: "1aa", AGE: "1a\n", DEBT: "1fd", SOCIAL: "2s", FIRST: "9f", NEWS: "9n"}
"""The coding screen's keys: category digit, code letter, then a sub-code letter or Enter for the code itself."""
IRRELEVANT = None
ALICE = [[TEEN, FIRST], [DEBT], IRRELEVANT, [SOCIAL, NEWS], [AGE, FIRST], IRRELEVANT, [SOCIAL, TEEN], [NEWS]]
BOB = [[ADULT, FIRST], [DEBT], [SOCIAL], [SOCIAL, NEWS], [AGE, NEWS], IRRELEVANT, [SOCIAL, TEEN], [NEWS, FIRST]]
DISPUTED = {0, 2, 4, 7}  # queue positions


def qualtui(db: Path, *args: str) -> Result:
    """Run a command on a project file, as a coder would from the shell."""
    result = CliRunner().invoke(cli, ["--db", str(db), "--codebook", str(CODEBOOK), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def keys(code_id: str) -> list[str]:
    return ["enter" if k == "\n" else k for k in KEYS[code_id]]


def platform_ids(db: Path, coder: str) -> list[str]:
    s = Store(db)
    try:
        return [r[0] for r in s.db.conn.execute(
            "SELECT p.platform_id FROM queue q JOIN posts p ON p.id = q.post_id WHERE q.coder = ? ORDER BY q.position",
            (coder,))]
    finally:
        s.close()


def copy_queue(db: Path, coder: str, queue: list[str]) -> None:
    """Give a coder on another machine the same posts, matched by platform id (row ids and labels differ)."""
    s = Store(db)
    ids = [s.db.conn.execute("SELECT id FROM posts WHERE platform_id = ?", (p,)).fetchone()[0] for p in queue]
    s.set_queue(coder, ids, seed=11)
    s.close()


async def code_by_keyboard(db: Path, coder: str, plan: list[list[str] | None]) -> None:
    """One coder works through the queue in the coding app: codes then Enter, or 0 for not relevant."""
    app = QualtuiApp(Store(db), CB, coder, mode="coding", config=Config(wellbeing={"checkins": False}))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        for i, codes in enumerate(plan):
            assert app.session.index == i
            if codes is IRRELEVANT:
                await pilot.press("0")
                continue
            for code_id in codes:
                await pilot.press(*keys(code_id))
            assert set(app.session.current.state.codes) == set(codes)  # type: ignore[union-attr]
            await pilot.press("enter")
        assert not isinstance(app.screen, BreakScreen)
    s = Store(db)
    assert len(s.finished_posts(coder)) == len(plan)
    s.close()


def position_of(db: Path, post_id: int, queue: list[str]) -> int:
    s = Store(db)
    platform_id = s.post(post_id)["platform_id"]  # type: ignore[index]
    s.close()
    return queue.index(platform_id)


async def reconcile_by_keyboard(db: Path, queue: list[str]) -> dict[int, str]:
    """The lead decides every disputed post: keep alice, relevance then bob, both, drop."""
    plan = {0: ["a"], 2: ["r", "1", "b"], 4: ["o"], 7: ["d"]}
    reasons = iter("mwuo")
    done: dict[int, str] = {}
    app = ReconcileApp(Store(db), CB, "lead", config=Config(wellbeing={"checkins": False}))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        screen = next(s for s in app.screen_stack if isinstance(s, ReconcileScreen))
        assert screen.describe()["total"] == len(DISPUTED)
        while screen.n_resolved < len(screen.items):
            pos = position_of(db, screen.current.post_id, queue)  # type: ignore[union-attr]
            assert pos in DISPUTED and pos not in done
            reason = next(reasons)
            for key in plan[pos]:
                await pilot.press(key)
                if isinstance(app.screen, DecisionTypeScreen):
                    await pilot.press(reason, *f"post {pos}", "enter")
                    await pilot.pause()
            done[pos] = reason
        assert "4 / 4 reconciled" in screen_text(app)
    return done


async def test_two_coders_end_to_end(tmp_path: Path) -> None:
    a, b, third = tmp_path / "alice.db", tmp_path / "bob.db", tmp_path / "third.db"
    for db in (a, b, third):
        qualtui(db, "import", str(SAMPLE))
    qualtui(a, "sample", "--n", "8", "--seed", "11", "--coder", "alice")
    queue = platform_ids(a, "alice")
    copy_queue(b, "bob", queue)
    assert platform_ids(b, "bob") == queue

    await code_by_keyboard(a, "alice", ALICE)
    await code_by_keyboard(b, "bob", BOB)

    # Exchange files, twice: the second round adds nothing anywhere.
    fa, fb = tmp_path / "alice.qualtui.jsonl", tmp_path / "bob.qualtui.jsonl"
    qualtui(a, "export", "--coder", "alice", "-o", str(fa))
    qualtui(b, "export", "--coder", "bob", "-o", str(fb))
    qualtui(a, "merge", str(fb))
    qualtui(b, "merge", str(fa))
    before = {db: (counts(Store(db)), snapshot(Store(db))) for db in (a, b)}
    qualtui(a, "export", "--coder", "alice", "-o", str(fa))
    qualtui(b, "export", "--coder", "bob", "-o", str(fb))
    again = qualtui(a, "merge", str(fb))
    assert " 0 new" in again.output
    qualtui(b, "merge", str(fa))
    assert {db: (counts(Store(db)), snapshot(Store(db))) for db in (a, b)} == before
    same = [row[:-1] for row in snapshot(Store(a))]  # the same log on both machines, origin aside
    assert same == [row[:-1] for row in snapshot(Store(b))]
    assert derived(Store(a), ["alice", "bob"]) == derived(Store(b), ["alice", "bob"])

    # Agreement per code, the same on both machines.
    table = json.loads(qualtui(a, "agreement", "--format", "json").output)
    assert json.loads(qualtui(b, "agreement", "--format", "json").output) == table
    assert table["coders"] == ["alice", "bob"] and table["posts"] == 8
    rows = {r["id"]: r for r in table["rows"]}
    expect = {  # (both, only alice, only bob) over the 8 posts
        "relevance": (6, 0, 1), AGE: (3, 0, 0), "targeting/financial-instability": (1, 0, 0),
        SOCIAL: (2, 0, 1), FIRST: (1, 1, 1), NEWS: (2, 0, 1),
    }
    for code_id, (both, only_a, only_b) in expect.items():
        r = rows[code_id]
        assert (r["both"], r["only"]["alice"], r["only"]["bob"]) == (both, only_a, only_b), code_id
        assert r["percent"] == (8 - only_a - only_b) / 8
    assert rows[AGE]["kappa"] == 1.0

    # Reconcile every disagreement by keyboard on alice's machine.
    reasons = await reconcile_by_keyboard(a, queue)
    assert set(reasons) == DISPUTED
    s = Store(a)
    assert all(d.resolved for d in disagreements(s, CB))
    by_pos = {queue.index(s.post(p)["platform_id"]): st for p, st in s.states(CONSENSUS).items()}  # type: ignore[index]
    assert set(by_pos) == DISPUTED
    assert set(by_pos[0].codes) == {TEEN, FIRST}  # kept alice
    assert by_pos[2].relevance == 1 and set(by_pos[2].codes) == {SOCIAL}  # relevant, then bob's codes
    assert set(by_pos[4].codes) == {AGE, FIRST, NEWS}  # both
    assert set(by_pos[7].codes) == {NEWS} and by_pos[7].done  # drop: only what both agreed
    for pos, st in by_pos.items():
        assert st.reconcile["type"] == {"m": "missed code", "w": "wrong sub-code", "u": "unclear definition",
                                        "o": "other"}[reasons[pos]]
        assert st.reconcile["note"] == f"post {pos}" and st.reconcile["by"] == "lead"
    s.close()

    # The consensus travels to a third project; merging it twice changes nothing.
    fc = tmp_path / "consensus.qualtui.jsonl"
    qualtui(a, "export", "--consensus", "-o", str(fc))
    qualtui(third, "merge", str(fc))
    once = snapshot(Store(third))
    qualtui(third, "merge", str(fc))
    assert snapshot(Store(third)) == once
    assert derived(Store(third), [CONSENSUS]) == derived(Store(a), [CONSENSUS])
    assert Store(third).coders() == [CONSENSUS]
