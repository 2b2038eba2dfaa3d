"""The scorecards from the shell: n and 95 % intervals on every figure, and the learned screen graded out of fold."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.core.prelabel.helpers import MINI, add_posts, learned_project
from tui.cli import cli
from tui.core.codebook.loading import load_codebook
from tui.core.project.events import Event
from tui.core.project.store import Store, text_hash

STUDY = [(1, 0.9)] * 31 + [(0, 0.7)] * 13 + [(1, 0.2)] * 3 + [(0, 0.1)] * 53  # TP, FP, FN, TN at 0.5


def run(db: Path, *args: str) -> object:
    # These projects' decisions were made without arms: every one is counted (the blind arm has its own tests).
    arm = ("--arm", "all") if tuple(args[:2]) in (("prelabel", "eval"), ("report", "screening")) else ()
    return CliRunner(env={"COLUMNS": "120"}).invoke(cli, ["--db", str(db), "--codebook", str(MINI), *args, *arm])


def row(output: str, name: str) -> list[str]:
    """The cells of the table row that starts with `name`."""
    line = next(ln for ln in output.splitlines() if ln.strip("│┃ ").startswith(name))
    return [c.strip() for c in line.strip().strip("│┃").split("│") if c.strip()]


@pytest.fixture
def study(tmp_path: Path) -> Path:
    """The study's 100 validation posts: the model's cached scores, its suggestions, and alice's decisions."""
    db = tmp_path / "p.db"
    store = Store(db)
    texts = [f"post {i}" for i in range(len(STUDY))]
    ids = add_posts(store, texts)
    with store.db.conn as conn:
        for pid, t, (_, p) in zip(ids, texts, STUDY, strict=True):
            conn.execute("INSERT INTO prelabel_cache (text_hash, model_hash, prompt_hash, kind, code_id, score)"
                         " VALUES (?, 'm', 'p', 'relevance', '', ?)", (text_hash("", t), p))
            conn.execute("INSERT INTO suggestions (post_id, kind, code_id, score) VALUES (?, 'relevance', '', ?)",
                         (pid, p))
        for key, value in (("model_hash", "m"), ("prompt_hash", "p"), ("threshold", "0.5")):
            store.set_meta(f"prelabel.{key}", value)
    store.record_many(Event("alice", pid, "relevance", value=str(t)) for pid, (t, _) in zip(ids, STUDY, strict=True))
    store.close()
    return db


@pytest.fixture
def learned(tmp_path: Path) -> Path:
    db = tmp_path / "learned.db"
    store = Store(db)
    learned_project(store, load_codebook(MINI))
    store.close()
    return db


def test_prelabel_eval_prints_084_with_its_interval(study: Path) -> None:
    r = run(study, "prelabel", "eval")
    assert r.exit_code == 0, r.output
    assert row(r.output, "accuracy") == ["accuracy", "0.840", "0.756–0.899", "100", "Wilson"]
    assert row(r.output, "false-negative rate") == ["false-negative rate", "0.088", "0.030–0.230", "34", "Wilson"]
    assert row(r.output, "recall")[3] == "34" and row(r.output, "precision")[3] == "44"
    assert row(r.output, "Cohen's kappa")[1] == "0.667" and row(r.output, "Cohen's kappa")[4] == "bootstrap"
    assert "The model's own scores on 100 decisions" in r.output
    data = json.loads(run(study, "prelabel", "eval", "--format", "json").output)
    acc = next(m for m in data["measures"] if m["name"] == "accuracy")
    assert (acc["lo"], acc["hi"], acc["n"]) == (pytest.approx(0.75580, abs=1e-5), pytest.approx(0.89905, abs=1e-5),
                                                100)


def test_report_screening_prints_the_same_card(study: Path, tmp_path: Path) -> None:
    r = run(study, "report", "screening", "--threshold", "0.5")
    assert r.exit_code == 0, r.output
    assert row(r.output, "accuracy") == ["accuracy", "0.840", "0.756–0.899", "100", "Wilson"]
    out = tmp_path / "card.csv"
    assert run(study, "report", "screening", "--threshold", "0.5", "-o", str(out)).exit_code == 0
    rows = {r["measure"]: r for r in csv.DictReader(out.open(encoding="utf-8"))}
    assert list(rows["accuracy"]) == ["measure", "value", "lo", "hi", "n", "method"]
    assert float(rows["accuracy"]["lo"]) == pytest.approx(0.7558, abs=1e-4) and rows["accuracy"]["n"] == "100"
    data = json.loads(run(study, "report", "screening", "--threshold", "0.5", "--format", "json").output)
    assert data["accuracy"] == 0.84 and {m["name"] for m in data["measures"]} >= {"accuracy", "AUC"}
    assert "own scores" in data["basis"]


def test_the_learned_screen_is_graded_out_of_fold_everywhere(learned: Path) -> None:
    # In-sample, the stored learned scores get all 60 right (1.000); out of fold, 42 (0.700).
    for args in (("prelabel", "eval", "--source", "suggestions"), ("prelabel", "eval", "--source", "learned"),
                 ("report", "screening")):
        r = run(learned, *args)
        assert r.exit_code == 0, r.output
        flat = " ".join(r.output.split())
        assert "Learned screen: 5-fold out-of-fold predictions on the 60 decisions it learned from." in flat, args
        assert row(r.output, "accuracy")[1:4] == ["0.700", "0.575–0.801", "60"], args


def test_undefined_figures_print_n_a(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    store = Store(db)
    ids = add_posts(store, ["a", "b", "c"])
    with store.db.conn:
        store.db.conn.executemany("INSERT INTO suggestions (post_id, kind, code_id, score) "
                                  "VALUES (?, 'relevance', '', 0.2)", [(pid,) for pid in ids])
    store.record_many(Event("alice", pid, "relevance", value="0") for pid in ids)
    store.close()
    r = run(db, "report", "screening")
    assert r.exit_code == 0 and "Traceback" not in r.output
    assert row(r.output, "recall") == ["recall", "n/a", "n/a", "0", "Wilson"]
    assert row(r.output, "accuracy")[1] == "1.000"
