"""`qualtui report …` and `qualtui codebook export|import` through the command line."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import xmlschema
from click.testing import CliRunner

from tests.samples import HOSTILE, ROOT, xhs_note
from tui.cli import cli
from tui.core.project.events import Event
from tui.core.project.store import Store

XSD = ROOT / "tests" / "data" / "refi-qda" / "Codebook.xsd"
RANSOM, TORTURE, DRUGS = "targeting/financial-instability/ransom", "control/physical-abuse/torture", "control/drugs"
SECTIONS = ("frequencies", "cooccurrence", "saturation", "quotes", "screening")


def run(db: Path, *args: str) -> object:
    # a wide terminal, so table cells are not wrapped across lines
    return CliRunner(env={"COLUMNS": "250"}).invoke(
        cli, ["--db", str(db), "--codebook", str(ROOT / "codebook.yaml"), *args])


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project imported through the CLI, coded by alice and bob, with model scores."""
    src = tmp_path / "notes.json"
    src.write_text(json.dumps([xhs_note(i) for i in range(8)], ensure_ascii=False), encoding="utf-8")
    db = tmp_path / "p.db"
    assert run(db, "import", str(src)).exit_code == 0
    store = Store(db)
    ids = store.post_ids(order="id")
    plan = [(RANSOM, TORTURE), (TORTURE,), (DRUGS, TORTURE), (), (RANSOM,)]
    for i, (pid, codes) in enumerate(zip(ids, plan, strict=False)):
        for coder in ("alice", "bob"):
            at = f"2025-01-01T10:{i:02d}:00.000Z"
            store.record(Event(coder, pid, "relevance", value="1" if codes else "0", at=at, arm="blind"))
            for c in codes:
                store.record(Event(coder, pid, "code_add", code_id=c, at=at, arm="blind"))
            store.record(Event(coder, pid, "done", value="1", at=at, arm="blind"))
        with store.db.conn:
            store.db.conn.execute("INSERT INTO suggestions (post_id, kind, code_id, score) "
                                  "VALUES (?, 'relevance', '', ?)", (pid, 0.9 if i != 1 else 0.1))
    for text in ["被骗到缅北 @张三 小红书号：12345", "=HYPERLINK(\"http://x\")", *HOSTILE]:
        store.record(Event("alice", ids[0], "quote_add", code_id=RANSOM,
                           value=json.dumps({"start": 0, "end": 1, "text": text}, ensure_ascii=False), arm="blind"))
    store.close()
    return db


@pytest.mark.parametrize("section", SECTIONS + ("all",))
def test_every_section_prints_to_the_terminal(project: Path, section: str) -> None:
    result = run(project, "report", section)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output


def test_frequencies_formats(project: Path, tmp_path: Path) -> None:
    result = run(project, "report", "frequencies", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.output)))
    torture = {r["coder"]: int(r["posts"]) for r in rows if r["id"] == TORTURE}
    assert torture == {"alice": 3, "bob": 3, "consensus": 3}
    control = {r["coder"]: int(r["posts"]) for r in rows if r["id"] == "control"}
    assert control["consensus"] == 3  # torture and drugs on one post count once for the category
    md = run(project, "report", "frequencies", "--format", "md").output
    assert "| Level | Path | alice | bob | consensus |" in md
    out = tmp_path / "freq.json"
    assert run(project, "report", "frequencies", "-o", str(out)).exit_code == 0
    assert {r["coder"] for r in json.loads(out.read_text(encoding="utf-8"))["rows"]} == {"alice", "bob", "consensus"}
    tex = run(project, "report", "frequencies", "--format", "latex").output
    assert "\\begin{longtable}" in tex and "Control Mechanisms" in tex


def test_cooccurrence_and_saturation_data(project: Path) -> None:
    pairs = json.loads(run(project, "report", "cooccurrence", "--format", "json").output)["pairs"]
    assert [(p["a"], p["b"], p["both"], round(p["jaccard"], 3)) for p in pairs] == [
        ("control/drugs", "control/physical-abuse", 1, 0.333),  # ties on count: the higher Jaccard first
        ("control/physical-abuse", "targeting/financial-instability", 1, 0.25),
    ]
    matrix = list(csv.reader(io.StringIO(run(project, "report", "cooccurrence", "--matrix", "--format", "csv").output)))
    assert matrix[0][0] == "code" and matrix[1][0] == "control/physical-abuse" and matrix[1][1] == "3"
    sat = json.loads(run(project, "report", "saturation", "--run", "1", "--format", "json").output)
    assert [p["cumulative"] for p in sat["points"]] == [4, 4, 5, 5]
    assert sat["saturated_at"] == 1 and sat["coder"] == "consensus"
    text = run(project, "report", "saturation", "--run", "1").output
    assert "Saturation after post 1 of 4" in " ".join(text.split()) and "\x1b[" not in text


def test_quotes_are_masked_and_untrusted_text_is_literal(project: Path, tmp_path: Path) -> None:
    result = run(project, "report", "quotes")
    assert result.exit_code == 0
    flat = "".join(result.output.split())
    assert "@***" in flat and "小红书号：***" in flat and "12345" not in flat and "张三" not in flat
    # markup in post text is printed as it is (the @ handle inside it is masked), never interpreted
    assert "[@***.quit]x" in flat and "[B]bold" in flat and "[$accent]x" in flat and "[/]" in flat
    assert "[link=<link>]l[/link]" in flat and "\x1b" not in result.output and "nulbyte" in flat
    out = tmp_path / "quotes.csv"
    assert run(project, "report", "quotes", "-o", str(out)).exit_code == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert any(r["Quote"].startswith("'=HYPERLINK") for r in rows)
    assert all(r["Post"].startswith("P-") for r in rows)
    md = run(project, "report", "quotes", "--format", "md").output
    assert "### Recruitment — Targeting › Financial instability › Ransom" in md


def test_screening_scorecard(project: Path) -> None:
    data = json.loads(run(project, "report", "screening", "--format", "json").output)
    assert (data["tp"], data["fp"], data["fn"], data["tn"]) == (3, 1, 1, 0)
    assert data["accuracy"] == pytest.approx(0.6) and data["coder"] == "consensus" and data["threshold"] == 0.5
    low = json.loads(run(project, "report", "screening", "--threshold", "0.05", "--format", "json").output)
    assert low["fn"] == 0 and low["threshold"] == 0.05
    bob = json.loads(run(project, "report", "screening", "--coder", "bob", "--format", "json").output)
    assert bob["coder"] == "bob"


def test_codings_export_long_and_wide(project: Path, tmp_path: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(run(project, "report", "codings").output)))
    assert {"label", "coder", "code_id", "code_path", "category", "relevance"} <= set(rows[0])
    assert all(r["label"].startswith("P-") for r in rows)
    assert sum(1 for r in rows if r["coder"] == "alice" and r["code_id"] == TORTURE) == 3
    out = tmp_path / "wide.json"
    assert run(project, "report", "codings", "--wide", "--coder", "alice", "-o", str(out)).exit_code == 0
    wide = json.loads(out.read_text(encoding="utf-8"))
    assert {r["coder"] for r in wide} == {"alice"} and sum(r["control"] for r in wide) == 3


def test_report_all_markdown_has_every_section(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.md"
    result = run(project, "report", "all", "-o", str(out))
    assert result.exit_code == 0, result.output
    md = out.read_text(encoding="utf-8")
    for heading in ("## Frequencies", "## Co-occurrence", "## Saturation", "## Quotes", "## Screening", "## Codebook"):
        assert heading in md
    assert "```text" in md and "12345" not in md
    assert json.loads(run(project, "report", "all", "--format", "json").output)["screening"]["tp"] == 3


# ---------------------------------------------------------------- bad input


def test_empty_project_fails_clearly_and_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    Store(db).close()
    out = tmp_path / "r.md"
    for section in SECTIONS + ("all", "codings"):
        result = run(db, "report", section, "-o", str(out))
        assert result.exit_code == 1 and "no posts" in result.output and "Traceback" not in result.output
    assert not out.exists()
    assert run(tmp_path / "missing.db", "report", "frequencies").exit_code == 1


def test_coder_without_decisions(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    result = run(project, "report", "frequencies", "--coder", "carol", "-o", str(out))
    assert result.exit_code == 1 and "'carol' has no decisions" in result.output and not out.exists()
    assert run(project, "report", "screening", "--coder", "carol").exit_code == 1
    assert "No code with id" in run(project, "report", "quotes", "--code", "nope").output


def test_no_decisions_at_all(tmp_path: Path) -> None:
    src = tmp_path / "n.json"
    src.write_text(json.dumps([xhs_note(1)]), encoding="utf-8")
    db = tmp_path / "p.db"
    run(db, "import", str(src))
    result = run(db, "report", "saturation")
    assert result.exit_code == 1 and "no decisions" in result.output


# ---------------------------------------------------------------- codebook export / import


def test_codebook_exports(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    md = run(db, "codebook", "export", "--format", "md")
    assert md.exit_code == 0 and md.output.count("| Code | Definition | Sub-code | Sub-code definition |") == 9
    tex = tmp_path / "appendix.tex"
    assert run(db, "codebook", "export", "-o", str(tex)).exit_code == 0
    assert tex.read_text(encoding="utf-8").count("\\begin{longtable}") == 9
    first, second = tmp_path / "a.qdc", tmp_path / "b.qdc"
    assert run(db, "codebook", "export", "--format", "qdc", "-o", str(first)).exit_code == 0
    assert run(db, "codebook", "export", "-o", str(second)).exit_code == 0
    assert first.read_bytes() == second.read_bytes()
    xmlschema.XMLSchema(str(XSD)).validate(str(first))


def test_codebook_import_round_trip(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    qdc = tmp_path / "study.qdc"
    run(db, "codebook", "export", "-o", str(qdc))
    out = tmp_path / "codebook.yaml"
    result = run(db, "codebook", "import", str(qdc), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "9 categories, 52 codes, 91 sub-codes" in result.output
    check = CliRunner().invoke(cli, ["codebook", "check", str(out)])
    assert check.exit_code == 0 and "OK" in check.output
    again = run(db, "codebook", "import", str(qdc), "-o", str(out))
    assert again.exit_code == 1 and "--force" in again.output
    assert run(db, "codebook", "import", str(qdc), "-o", str(out), "--force").exit_code == 0


@pytest.mark.parametrize(("body", "message"), [
    ("not xml", "not well-formed XML"),
    ('<CodeBook xmlns="urn:QDA-XML:codebook:1.0"/>', "no <Codes>"),
    ('<!DOCTYPE a [<!ENTITY b "c">]><CodeBook/>', "DOCTYPE"),
])
def test_codebook_import_bad_files_write_nothing(tmp_path: Path, body: str, message: str) -> None:
    src = tmp_path / "bad.qdc"
    src.write_text(body, encoding="utf-8")
    out = tmp_path / "codebook.yaml"
    result = run(tmp_path / "p.db", "codebook", "import", str(src), "-o", str(out))
    assert result.exit_code == 1 and message in result.output and "Nothing was written" in result.output
    assert not out.exists()
    assert run(tmp_path / "p.db", "codebook", "import", str(tmp_path / "none.qdc")).exit_code == 1


def test_every_report_command_has_help() -> None:
    for args in [["report"], *(["report", s] for s in (*SECTIONS, "codings", "all")), ["codebook", "export"],
                 ["codebook", "import"]]:
        result = CliRunner().invoke(cli, [*args, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output
