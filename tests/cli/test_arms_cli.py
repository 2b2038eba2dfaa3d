"""The blind arm on the command line: scorecards on blind posts by default, `report anchoring`, `codebook show`."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.samples import CODEBOOK, xhs_note
from tui.cli import cli
from tui.core.codebook.loading import load_codebook
from tui.core.coding.session import Session
from tui.core.prelabel.arms import BLIND
from tui.core.project.store import Store

DEBT, DOCS = "targeting/financial-instability/debt", "control/seized-documents"


def run(db: Path, book: Path, *args: str) -> object:
    return CliRunner(env={"COLUMNS": "250"}).invoke(cli, ["--db", str(db), "--codebook", str(book), *args])


class Clock:
    """A clock that moves 20 s (blind posts: 40 s) per reading, so time per post is known."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 22, 9, 0, tzinfo=timezone.utc)
        self.step = 20

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=self.step)
        return self.now


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path]:
    """40 posts, half of them blind; the model says relevant on even posts and suggests DEBT there.

    On shown posts both coders follow the model; on blind posts alice calls every post relevant and
    bob follows the model on 3 posts in 4.
    """
    book = tmp_path / "codebook.yaml"
    book.write_text(CODEBOOK.read_text(encoding="utf-8") + '\nassistance:\n  blind_share: 0.5\n  seed: "t"\n',
                    encoding="utf-8")
    src = tmp_path / "notes.json"
    src.write_text(json.dumps([xhs_note(i) for i in range(40)], ensure_ascii=False), encoding="utf-8")
    db = tmp_path / "p.db"
    assert run(db, book, "import", str(src)).exit_code == 0
    store = Store(db)
    ids = store.post_ids(order="id")
    with store.db.conn:
        for i, pid in enumerate(ids):
            store.db.conn.execute("INSERT INTO suggestions (post_id, kind, code_id, score) VALUES (?, 'relevance', '',"
                                  " ?), (?, 'code', ?, 0.8)", (pid, 0.9 if i % 2 == 0 else 0.1, pid, DEBT))
    cb = load_codebook(book)
    for coder in ("alice", "bob"):
        clock = Clock()
        s = Session(store, cb, coder, clock=clock)
        for i, pid in enumerate(ids):
            cur = s.go_post(pid)
            clock.step = 40 if cur.blind else 20
            model = i % 2 == 0
            if cur.blind:
                relevant = True if coder == "alice" else (model if i % 4 else not model)
            else:
                relevant = model
            if relevant:
                s.add_code(DEBT if model else DOCS)
            else:
                s.set_relevance(0)
    store.close()
    return db, book


def _blind_count(db: Path) -> int:
    s = Store(db)
    n = s.db.execute("SELECT count(DISTINCT post_id) FROM events WHERE arm = ?", (BLIND,)).fetchone()[0]
    s.close()
    return int(n)


def test_prelabel_eval_counts_blind_posts_by_default_and_says_so(project: tuple[Path, Path]) -> None:
    db, book = project
    n_blind = _blind_count(db)
    assert 10 < n_blind < 30
    r = run(db, book, "prelabel", "eval", "--source", "suggestions", "--coder", "alice")
    assert r.exit_code == 0, r.output
    assert f"Decisions compared: blind posts only (n = {n_blind}): no suggestion was on screen" in r.output
    blind = json.loads(run(db, book, "prelabel", "eval", "--source", "suggestions", "--coder", "alice",
                           "--format", "json").output)
    assert blind["arm"] == "blind" and blind["tp"] + blind["fp"] + blind["fn"] + blind["tn"] == n_blind
    assert blind["fp"] == 0 and blind["fn"] > 0  # alice called every blind post relevant
    shown = run(db, book, "prelabel", "eval", "--source", "suggestions", "--coder", "alice", "--arm", "shown")
    assert f"posts shown with suggestions only (n = {40 - n_blind}), influenced by the suggestions" in shown.output
    assert re.search(r"accuracy\W+1\.000", shown.output)  # anchored: the shown posts follow the model exactly
    every = run(db, book, "prelabel", "eval", "--source", "suggestions", "--coder", "alice", "--arm", "all")
    assert "all posts (n = 40), influenced by the suggestions where they were shown" in every.output


def test_a_bad_arm_is_one_sentence_and_exit_2(project: tuple[Path, Path]) -> None:
    db, book = project
    r = run(db, book, "prelabel", "eval", "--arm", "hidden")
    assert r.exit_code == 2 and "Invalid value for '--arm': 'hidden' is not one of 'blind', 'shown', 'all'." in r.output
    r = run(db, book, "report", "screening", "--arm", "none")
    assert r.exit_code == 2 and "Invalid value for '--arm'" in r.output and "Traceback" not in r.output


def test_nothing_blind_to_compare_is_one_sentence(tmp_path: Path, project: tuple[Path, Path]) -> None:
    db, book = project
    off = tmp_path / "off.yaml"
    off.write_text(book.read_text(encoding="utf-8").replace("blind_share: 0.5", "blind_share: 0"), encoding="utf-8")
    fresh = tmp_path / "fresh.db"
    store = Store(fresh)
    store.close()
    Path(fresh).unlink()
    src = tmp_path / "notes.json"
    assert run(fresh, off, "import", str(src)).exit_code == 0
    store = Store(fresh)
    s = Session(store, load_codebook(off), "alice")
    with store.db.conn:
        store.db.conn.execute("INSERT INTO suggestions (post_id, kind, code_id, score)"
                              " VALUES (?, 'relevance', '', 0.9)", (s.current.post["id"],))
    s.set_relevance(1)
    store.close()
    r = run(fresh, off, "prelabel", "eval", "--source", "suggestions")
    assert r.exit_code == 1
    assert r.output.strip() == ("Error: Nothing to compare on blind posts: no blind post has both a model score "
                                "and a human relevance decision (--arm all counts every post).")
    r = run(fresh, off, "report", "screening", "--coder", "alice")
    assert r.exit_code == 1
    assert r.output.strip() == ("Error: No blind post has both a model score and a relevance decision by 'alice' yet "
                                "(--arm all counts every post).")
    assert run(fresh, off, "report", "screening", "--coder", "alice", "--arm", "all").exit_code == 0
    r = run(fresh, off, "report", "anchoring")
    assert r.exit_code == 0, r.output
    assert ("Nothing to compare yet: 0 blind and 1 shown decisions have a model score (the blind arm is off: the "
            "codebook's blind_share is 0); both arms need some.") in " ".join(r.output.split())


def test_report_screening_says_which_posts_it_compared(project: tuple[Path, Path]) -> None:
    db, book = project
    n_blind = _blind_count(db)
    data = json.loads(run(db, book, "report", "screening", "--coder", "bob", "--format", "json").output)
    assert data["arm"] == "blind" and data["n_compared"] == n_blind
    md = run(db, book, "report", "screening", "--coder", "bob", "--format", "md").output
    assert f"blind posts only (n = {n_blind})" in md
    shown = json.loads(run(db, book, "report", "screening", "--coder", "bob", "--arm", "shown",
                           "--format", "json").output)
    assert shown["n_compared"] == 40 - n_blind and shown["accuracy"] == 1.0


def test_report_anchoring(project: tuple[Path, Path], tmp_path: Path) -> None:
    db, book = project
    n_blind = _blind_count(db)
    r = run(db, book, "report", "anchoring", "--format", "json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    rows = {(f["coder"], f["arm"]): f for f in data["figures"]}
    assert set(rows) == {(w, a) for w in ("alice", "bob", "all coders") for a in ("blind", "shown")}
    assert rows[("alice", "shown")]["agreement"] == 1.0 and rows[("alice", "shown")]["kappa"] == 1.0
    assert rows[("alice", "blind")]["relevance_rate"] == 1.0 and rows[("alice", "blind")]["posts"] == n_blind
    # The clock moves twice as fast on blind posts: the coders took longer there.
    assert rows[("alice", "blind")]["median_seconds"] > 1.5 * rows[("alice", "shown")]["median_seconds"] > 0
    assert rows[("alice", "shown")]["acceptance"] == 1.0
    assert rows[("all coders", "blind")]["posts"] == 2 * n_blind
    assert data["difference"] > 0 and data["p"] < 0.05
    assert data["sentence"].startswith(f"On {2 * n_blind} blind and {2 * (40 - n_blind)} shown decisions the coders "
                                       "agreed with the model's screen on ")
    assert "would be detected (α = 0.05, power 0.8)" in data["sentence"]
    pairs = {(p["pair"], p["arm"]): p for p in data["pairs"]}
    assert pairs[("alice – bob", "shown")]["kappa"] == 1.0 and pairs[("alice – bob", "blind")]["posts"] == n_blind
    codes = {c["who"]: c for c in data["codes"]}
    assert codes["alice"]["tvd"] > 0 and codes["alice"]["df"] == 1
    table = run(db, book, "report", "anchoring")
    assert table.exit_code == 0 and "Anchoring: blind against shown posts" in table.output
    whole = run(db, book, "report", "all", "--format", "md")
    assert whole.exit_code == 0 and "## Anchoring" in whole.output and data["sentence"][:40] in whole.output
    out = tmp_path / "anchoring.csv"
    assert run(db, book, "report", "anchoring", "-o", str(out)).exit_code == 0
    assert out.read_text(encoding="utf-8").splitlines()[0].startswith("Coder,Arm,Posts")


def test_codebook_show_tells_the_blind_share_and_seed(project: tuple[Path, Path]) -> None:
    db, book = project
    r = run(db, book, "codebook", "show", "--no-counts")
    assert r.exit_code == 0
    assert ("Blind arm: 50% of posts show no model output (study seed 't', the codebook's seed); the codebook's "
            "assistance section sets both.") in " ".join(r.output.split())


def test_a_bad_share_in_the_codebook_stops_every_command_with_its_line(project: tuple[Path, Path]) -> None:
    db, book = project
    text = book.read_text(encoding="utf-8")
    for bad in ("1.5", "abc"):
        book.write_text(text.replace("blind_share: 0.5", f"blind_share: {bad}"), encoding="utf-8")
        line = book.read_text(encoding="utf-8").splitlines().index(f"  blind_share: {bad}") + 1
        before = Path(db).read_bytes()
        r = run(db, book, "report", "anchoring")
        assert r.exit_code != 0 and "Traceback" not in r.output
        assert f"codebook.yaml:{line}: the assistance blind_share should be a number from 0.0 to 1.0, not {bad}" \
            in r.output
        assert Path(db).read_bytes() == before


def _book(tmp_path: Path, extra: str = "") -> Path:
    book = tmp_path / "mine.yaml"
    book.write_text("# the team's codebook\n" + CODEBOOK.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return book


def test_codebook_assistance_sets_share_and_seed_and_keeps_the_rest(tmp_path: Path) -> None:
    book = _book(tmp_path)
    db = tmp_path / "none.db"
    shown = run(db, book, "codebook", "assistance")
    assert shown.exit_code == 0 and "20% of posts are blind" in shown.output
    r = run(db, book, "codebook", "assistance", "--blind-share", "0.1", "--seed", 'rednote "2026"')
    assert r.exit_code == 0, r.output
    assert "10% of posts are blind; study seed 'rednote \"2026\"'." in " ".join(r.output.split())
    text = book.read_text(encoding="utf-8")
    assert text.startswith("# the team's codebook\n") and text.endswith(
        'assistance:\n  blind_share: 0.1\n  seed: "rednote \\"2026\\""\n')
    cb = load_codebook(book)
    assert (cb.assistance.blind_share, cb.study_seed) == (0.1, 'rednote "2026"')
    # Setting one keeps the other, and the section is replaced, not added twice.
    assert run(db, book, "codebook", "assistance", "--blind-share", "0").exit_code == 0
    again = book.read_text(encoding="utf-8")
    assert again.count("assistance:") == 1 and again.replace("blind_share: 0\n", "blind_share: 0.1\n") == text
    assert not db.exists()


@pytest.mark.parametrize(("args", "sentence"), [
    (("--blind-share", "1.5"), "Error: The blind share must be a number from 0 to 1, not 1.5; nothing was changed."),
    (("--blind-share", "abc"), "Error: The blind share must be a number from 0 to 1, not 'abc'; nothing was changed."),
    (("--blind-share", "nan"), "Error: The blind share must be a number from 0 to 1, not 'nan'; nothing was changed."),
    (("--seed", " "), "Error: The seed is empty; nothing was changed."),
    (("--seed", "a\x1bb"), "Error: The seed contains a line break or another control character; nothing was "
                           "changed."),
])
def test_codebook_assistance_refuses_bad_values_and_writes_nothing(tmp_path: Path, args: tuple[str, ...],
                                                                   sentence: str) -> None:
    book = _book(tmp_path)
    before = book.read_bytes()
    r = run(tmp_path / "none.db", book, "codebook", "assistance", *args)
    assert r.exit_code == 2 and r.output.strip() == sentence
    assert book.read_bytes() == before


def test_codebook_assistance_never_edits_the_shipped_codebook(tmp_path: Path) -> None:
    from tui.core.paths import bundled_codebook

    before = bundled_codebook().read_bytes()
    r = run(tmp_path / "none.db", bundled_codebook(), "codebook", "assistance", "--blind-share", "0.3")
    assert r.exit_code == 2 and "copy it to ./codebook.yaml" in r.output
    assert bundled_codebook().read_bytes() == before
