"""The screening scorecard of the report: n and intervals on every figure, and never the learned screen's own fit."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from tests.core.prelabel.helpers import MINI, learned_project
from tui.core.codebook.loading import load_codebook
from tui.core.prelabel.scorecard import evaluate
from tui.core.project.events import Event
from tui.core.project.store import Store
from tui.core.report import analyses as R
from tui.core.report.data import ReportError
from tui.core.report.export import screening_records, screening_tables
from tui.core.report.writers import to_csv, to_json
from tui.core.sync.agreement import binary_scores

SCORE_SQL = "INSERT INTO suggestions (post_id, kind, code_id, score) VALUES (?, 'relevance', '', ?)"
STUDY = [(1, 0.9)] * 31 + [(0, 0.8)] * 13 + [(1, 0.1)] * 3 + [(0, 0.2)] * 53  # TP, FP, FN, TN at 0.5


@pytest.fixture
def cb() -> Any:
    return load_codebook(MINI)


def study_project(tmp_path: Path) -> Store:
    from tests.core.prelabel.helpers import add_posts

    store = Store(tmp_path / "p.db")
    ids = add_posts(store, [f"post {i}" for i in range(len(STUDY))])
    with store.db.conn:
        store.db.conn.executemany(SCORE_SQL, [(pid, p) for pid, (_, p) in zip(ids, STUDY, strict=True)])
    store.record_many(Event("alice", pid, "relevance", value=str(t)) for pid, (t, _) in zip(ids, STUDY, strict=True))
    return store


def test_the_studys_100_posts_print_084_with_its_interval(tmp_path: Path, cb: Any) -> None:
    store = study_project(tmp_path)
    s = R.screening(store, cb, threshold=0.5, arm="all")
    assert (s.scores.tp, s.scores.fp, s.scores.fn, s.scores.tn) == (31, 13, 3, 53)
    confusion, card = screening_tables(s)
    rows = {r[0]: r[1:] for r in card.rows}
    assert rows["accuracy"] == ["0.840", "0.756–0.899", 100, "Wilson"]
    assert rows["false-negative rate"][:3] == ["0.088", "0.030–0.230", 34]
    assert rows["Cohen's kappa"][2:] == [100, "bootstrap"]
    assert "the model's own scores on 100 decisions" in confusion.note.lower()
    data = screening_records(s)
    assert data.headers == ["measure", "value", "lo", "hi", "n", "method"]
    got = {r["measure"]: r for r in csv.DictReader(io.StringIO(to_csv(data)))}
    assert float(got["accuracy"]["lo"]) == pytest.approx(0.75580, abs=1e-5)
    assert float(got["accuracy"]["hi"]) == pytest.approx(0.89905, abs=1e-5)
    first = json.loads(to_json(data.records()))[0]
    assert first["measure"] == "accuracy" and first["value"] == 0.84 and first["n"] == 100
    assert (first["lo"], first["hi"]) == pytest.approx((0.75580, 0.89905), abs=1e-5)


def test_undefined_recall_is_n_a_in_every_format(tmp_path: Path, cb: Any) -> None:
    from tests.core.prelabel.helpers import add_posts

    store = Store(tmp_path / "p.db")
    ids = add_posts(store, ["a", "b", "c"])
    with store.db.conn:
        store.db.conn.executemany(SCORE_SQL, [(pid, 0.2) for pid in ids])
    store.record_many(Event("alice", pid, "relevance", value="0") for pid in ids)
    s = R.screening(store, cb, threshold=0.5, arm="all")
    rows = {r[0]: r[1:] for r in screening_tables(s)[1].rows}
    assert rows["recall"] == ["n/a", "n/a", 0, "Wilson"] and rows["AUC"][:2] == ["n/a", "n/a"]
    got = {r["measure"]: r for r in csv.DictReader(io.StringIO(to_csv(screening_records(s))))}
    assert got["recall"]["value"] == got["recall"]["lo"] == got["recall"]["hi"] == ""  # empty, not 0


def stored_learned(store: Store) -> dict[int, float]:
    return dict(store.db.conn.execute("SELECT post_id, score FROM suggestions WHERE kind = 'relevance' "
                                      "AND source = 'learned'").fetchall())


def test_the_learned_screen_is_graded_out_of_fold_not_on_its_own_fit(tmp_path: Path, cb: Any) -> None:
    store = Store(tmp_path / "p.db")
    truth = learned_project(store, cb)
    stored = stored_learned(store)
    assert set(stored) == set(truth)  # the learned screen now scores every post, the 60 it learned from too
    pids = sorted(truth)
    in_sample = binary_scores([truth[p] for p in pids], [int(stored[p] >= 0.5) for p in pids])
    oof = evaluate(store, cb, source="learned", threshold=0.5, arm="all")
    assert in_sample.accuracy > oof.accuracy + 0.05  # the fit flatters: 1.000 against 0.700 out of fold
    s = R.screening(store, cb, threshold=0.5, arm="all")
    assert (s.scores.tp, s.scores.fp, s.scores.fn, s.scores.tn) == (oof.tp, oof.fp, oof.fn, oof.tn)
    assert s.scores.accuracy == pytest.approx(oof.accuracy)
    assert s.basis == "Learned screen: 5-fold out-of-fold predictions on the 60 decisions it learned from."
    assert s.basis in screening_tables(s)[0].note
    # `prelabel eval --source suggestions` grades what is stored the same way.
    shown = evaluate(store, cb, source="suggestions", threshold=0.5, arm="all")
    assert (shown.tp, shown.fp, shown.fn, shown.tn) == (oof.tp, oof.fp, oof.fn, oof.tn)
    assert shown.basis == s.basis


def test_posts_the_model_scored_alone_keep_its_score(tmp_path: Path, cb: Any) -> None:
    store = Store(tmp_path / "p.db")
    truth = learned_project(store, cb)
    pids = sorted(truth)
    with store.db.conn:  # as if five posts had no embedding: the learned screen never scored them
        store.db.conn.executemany("UPDATE suggestions SET source = 'llm', score = 0.95 WHERE post_id = ? "
                                  "AND kind = 'relevance'", [(p,) for p in pids[:5]])
    s = R.screening(store, cb, threshold=0.5, arm="all")
    assert s.basis == ("Learned screen: 5-fold out-of-fold predictions on the 55 decisions it learned from; "
                       "the model's own scores on 5 decisions.")
    assert s.n_compared == 60


def test_too_few_decisions_for_out_of_fold_leaves_the_learned_posts_out(tmp_path: Path, cb: Any) -> None:
    from tests.core.prelabel.helpers import add_posts

    store = Store(tmp_path / "p.db")
    ids = add_posts(store, ["a", "b", "c"])
    with store.db.conn:  # learned scores, but nothing left to fit a fold on (no embeddings, three decisions)
        store.db.conn.executemany("INSERT INTO suggestions (post_id, kind, code_id, score, source) "
                                  "VALUES (?, 'relevance', '', 0.9, 'learned')", [(pid,) for pid in ids])
    store.record_many(Event("alice", pid, "relevance", value="1") for pid in ids)
    with pytest.raises(ReportError, match="can be graded fairly: 3 decisions the learned screen .* left out"):
        R.screening(store, cb, threshold=0.5, arm="all")
