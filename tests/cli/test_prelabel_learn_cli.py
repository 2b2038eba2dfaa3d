"""What `qualtui prelabel` and `qualtui prelabel learn` say learning did for relevance, not only for codes."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.core.prelabel.test_prelabel_server import FakeServer
from tests.samples import ROOT, SAMPLE
from tui.cli import cli
from tui.core.project.events import CONSENSUS, Event
from tui.core.project.store import Store

RELEVANCE_LINE = re.compile(
    r"Relevance screen learned from 40 decisions \(consensus\): accuracy \d\.\d\d → \d\.\d\d cross-validated, "
    r"threshold \d\.\d\d for FNR ≤ 8\.8 % \(cross-validated FNR \d\.\d\d → \d\.\d\d\)"
    r"(; on the \d+ blind posts alone: accuracy \S+ → \S+|; no blind post decided yet)"
    r"; (applied to the remaining posts|not applied: the model alone agrees better with the coders)\.")


@pytest.fixture
def server() -> Iterator[FakeServer]:
    s = FakeServer()
    yield s
    s.close()


def _project(tmp_path: Path, n: int = 60, labelled: int = 40) -> Path:
    """n sample posts imported; the consensus coder screened the first `labelled` of them (sample_gold.csv)."""
    notes = json.loads(SAMPLE.read_text(encoding="utf-8"))[:n]
    src = tmp_path / "few.json"
    src.write_text(json.dumps(notes, ensure_ascii=False), encoding="utf-8")
    db = tmp_path / "p.db"
    assert CliRunner().invoke(cli, ["--db", str(db), "import", str(src)]).exit_code == 0
    with open(ROOT / "data" / "sample_gold.csv", encoding="utf-8") as fh:
        gold = {row["note_id"]: row["relevant"] for row in csv.DictReader(fh)}
    store = Store(db)
    ids = dict(store.db.conn.execute("SELECT platform_id, id FROM posts"))
    store.record_many(Event(CONSENSUS, ids[x["note_id"]], "relevance", value=gold[x["note_id"]])
                      for x in notes[:labelled])
    store.close()
    return db


def invoke(*args: str) -> object:
    return CliRunner(env={"COLUMNS": "300"}).invoke(cli, list(args))


def test_prelabel_and_learn_say_what_learning_did_for_relevance(tmp_path: Path, server: FakeServer) -> None:
    db = _project(tmp_path)
    r = invoke("--db", str(db), "prelabel", "--llm-url", server.url, "--no-codes")
    assert r.exit_code == 0, r.output
    lines = [" ".join(line.split()) for line in r.output.splitlines()]
    assert any(RELEVANCE_LINE.search(line) for line in lines), r.output
    # The code sentence is said as well, after the relevance one, never instead of it.
    assert any("Code suggestions are not learned: no code embeddings yet" in line for line in lines), r.output
    r = invoke("--db", str(db), "prelabel", "learn")
    assert r.exit_code == 0, r.output
    out = [" ".join(line.split()) for line in r.output.splitlines()]
    assert RELEVANCE_LINE.search(out[0]), r.output


def test_learn_before_enough_decisions_says_so(tmp_path: Path, server: FakeServer) -> None:
    db = _project(tmp_path, n=12, labelled=6)
    assert invoke("--db", str(db), "prelabel", "--llm-url", server.url).exit_code == 0
    r = invoke("--db", str(db), "prelabel", "learn")
    assert r.exit_code == 0
    text = " ".join(r.output.split())
    assert "Not enough screening decisions to learn from yet: 6 posts" in text
    assert "Code suggestions are learned once 10 relevant posts are coded" in text
