"""`qualtui export`, `merge`, `agreement` and `codebook orphans` through click's CliRunner."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.samples import CODEBOOK, HOSTILE
from tests.sync_helpers import (
    ADULT,
    AGE,
    CB,
    DEBT,
    DOCS,
    FIRST,
    SCREEN_DISAGREE,
    SCREENED,
    TEEN,
    code,
    counts,
    pid,
    project,
    rewrite,
    screen,
    screening_plans,
    snapshot,
)
from tui.cli import cli
from tui.core.project.store import Store
from tui.core.sync.consensus import KEEP, Choice, apply_choice
from tui.core.sync.exchange_read import read_export


def run(db: Path, *args: str, codebook: Path = CODEBOOK) -> Result:
    """Invoke the CLI on a project file."""
    return CliRunner().invoke(cli, ["--db", str(db), "--codebook", str(codebook), *args], catch_exceptions=False)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """Alice's and Bob's project files and their exports, and an empty lead project."""
    a, b, lead = project(tmp_path, "a"), project(tmp_path, "b"), project(tmp_path, "lead")
    code(a, "alice", {0: (1, [TEEN, FIRST]), 1: (1, [DEBT]), 2: (0, [])})
    code(b, "bob", {0: (1, [ADULT, FIRST]), 1: (1, [DEBT, DOCS]), 2: (1, [AGE])})
    for s in (a, b, lead):
        s.close()
    out = {"a": a.path, "b": b.path, "lead": lead.path, "fa": tmp_path / "alice.qualtui.jsonl",
           "fb": tmp_path / "bob.qualtui.jsonl"}
    assert run(out["a"], "export", "--coder", "alice", "-o", str(out["fa"])).exit_code == 0
    assert run(out["b"], "export", "--coder", "bob", "-o", str(out["fb"])).exit_code == 0
    return out


def test_export_names_file_by_coder_and_date(files: dict[str, Path], tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run(files["a"], "export", "--coder", "alice")
    assert result.exit_code == 0, result.output
    made = list(tmp_path.glob("alice-*.qualtui.jsonl"))
    assert len(made) == 1 and read_export(made[0]).coder == "alice"
    assert "events of alice" in result.output


@pytest.mark.parametrize(("args", "message"), [
    ([], "Say whose work to export"),
    (["--coder", "alice", "--consensus"], "not both"),
    (["--coder", "nobody"], "no events"),
    (["--consensus"], "'consensus' has no events"),
])
def test_export_errors(files: dict[str, Path], args: list[str], message: str) -> None:
    result = run(files["a"], "export", *args, "-o", str(files["a"].parent / "x.jsonl"))
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
    assert not (files["a"].parent / "x.jsonl").exists()


def test_merge_prints_counts_and_agreement_then_nothing_new(files: dict[str, Path]) -> None:
    result = run(files["lead"], "merge", str(files["fa"]), str(files["fb"]))
    assert result.exit_code == 0, result.output
    assert "new" in result.output and "alice" in result.output and "Agreement of alice, bob" in result.output
    assert "relevance" in result.output and "targeting" in result.output
    with Store(files["lead"]) as s:
        before, snap = counts(s), snapshot(s)
    again = run(files["lead"], "merge", str(files["fb"]), str(files["fa"]))
    assert again.exit_code == 0 and " 0 new" in again.output
    with Store(files["lead"]) as s:
        assert counts(s) == before and snapshot(s) == snap


def test_merge_refusal_is_one_sentence_and_writes_nothing(files: dict[str, Path]) -> None:
    raw = files["fb"].read_bytes()
    files["fb"].write_bytes(raw[: len(raw) - 30])
    with Store(files["lead"]) as s:
        before = counts(s)
    result = run(files["lead"], "merge", str(files["fa"]), str(files["fb"]))
    assert result.exit_code == 1
    assert result.output.startswith("Error: bob.qualtui.jsonl is truncated")
    assert result.output.strip().endswith("Nothing was merged.") and "Traceback" not in result.output
    with Store(files["lead"]) as s:
        assert counts(s) == before
    missing = run(files["lead"], "merge", str(files["a"].parent / "nope.jsonl"))
    assert missing.exit_code == 1 and "no such file" in missing.output


def test_merge_as_renames_a_clashing_coder(files: dict[str, Path]) -> None:
    with Store(files["b"]) as s:
        code(s, "alice", {5: (1, [DEBT])})
    clash = run(files["b"], "merge", str(files["fa"]))
    assert clash.exit_code == 1 and "--as NAME" in clash.output
    ok = run(files["b"], "merge", str(files["fa"]), "--as", "alice-a")
    assert ok.exit_code == 0 and "alice-a:" in ok.output


def test_merge_warns_about_another_codebook(files: dict[str, Path], tmp_path: Path) -> None:
    edited = tmp_path / "codebook.yaml"
    edited.write_text(CODEBOOK.read_text(encoding="utf-8").replace(
        "- id: control/seized-documents\n", "- id: control/held-documents\n", 1), encoding="utf-8")
    result = run(files["lead"], "merge", str(files["fa"]), str(files["fb"]), codebook=edited)
    assert result.exit_code == 0
    assert "Warning: bob.qualtui.jsonl was coded with codebook" in result.output
    assert DOCS in result.output
    orphaned = run(files["lead"], "codebook", "orphans", codebook=edited)
    assert orphaned.exit_code == 0 and DOCS in orphaned.output and "bob" in orphaned.output
    with Store(files["lead"]) as s:
        assert s.post(pid(s, 1))["label"] in orphaned.output
    clean = run(files["lead"], "codebook", "orphans")
    assert "Every code" in clean.output


def test_agreement_formats(files: dict[str, Path]) -> None:
    run(files["lead"], "merge", str(files["fa"]), str(files["fb"]))
    table = run(files["lead"], "agreement")
    assert table.exit_code == 0 and "only alice" in table.output and "targeting/age" in table.output
    data = json.loads(run(files["lead"], "agreement", "--format", "json", "--by", "subcode").output)
    assert data["coders"] == ["alice", "bob"] and data["posts"] == 3
    rows = {r["id"]: r for r in data["rows"]}
    assert rows[TEEN]["only"] == {"alice": 1, "bob": 0} and rows["relevance"]["kappa"] is not None
    lines = list(csv.DictReader(io.StringIO(run(files["lead"], "agreement", "--format", "csv", "--by",
                                                "category").output)))
    assert [r["id"] for r in lines][:1] == ["relevance"] and {"only alice", "only bob"} <= set(lines[0])
    rel = run(files["lead"], "agreement", "--by", "relevance", "--format", "json")
    assert [r["id"] for r in json.loads(rel.output)["rows"]] == ["relevance"]
    one = run(files["lead"], "agreement", "--coders", "alice")
    assert one.exit_code == 1 and "at least two coders" in one.output


def test_agreement_notes(files: dict[str, Path]) -> None:
    run(files["lead"], "merge", str(files["fa"]), str(files["fb"]))
    assert "No reconciliation note" in run(files["lead"], "agreement", "--notes").output
    with Store(files["lead"]) as s:
        apply_choice(s, CB, pid(s, 0), Choice(KEEP, coder="alice", type="unclear definition",
                                              note="=1+1 teen or adult?"))
    shown = run(files["lead"], "agreement", "--notes")
    assert "teen or adult?" in shown.output and TEEN in shown.output and ADULT in shown.output
    rows = list(csv.reader(io.StringIO(run(files["lead"], "agreement", "--notes", "--format", "csv").output)))
    assert rows[0][:2] == ["code_id", "name"] and len(rows) == 3
    assert rows[1][4] == "'=1+1 teen or adult?"  # a spreadsheet would run it as a formula
    out = files["lead"].parent / "consensus.qualtui.jsonl"
    exported = run(files["lead"], "export", "--consensus", "-o", str(out))
    assert exported.exit_code == 0 and read_export(out).coder == "consensus"
    merged = run(files["a"], "merge", str(out))
    assert merged.exit_code == 0 and "consensus:" in merged.output


def test_agreement_without_common_finished_posts(tmp_path: Path) -> None:
    s = project(tmp_path, "p")
    code(s, "alice", {0: (1, [TEEN])})
    code(s, "bob", {0: (1, [TEEN])}, done=False)
    s.close()
    result = run(s.path, "agreement")
    assert result.exit_code == 0 and "No post has been finished by all of alice, bob" in result.output


def test_untrusted_names_are_printed_as_text(tmp_path: Path) -> None:
    s = project(tmp_path, "hostile")
    names = [h for h in HOSTILE if "\x00" not in h][:6]
    for i, name in enumerate(names):
        code(s, name, {0: (1, [TEEN]), 1: (1, [DEBT] if i % 2 else [])})
    s.close()
    result = run(s.path, "agreement")
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output
    for literal in ("[@click=app.quit]x", "[B]bold", "[$accent]x"):
        assert literal in result.output.replace("\n", "")  # shown as typed, never run as markup
    csv_out = run(s.path, "agreement", "--format", "csv").output
    assert "\x1b" not in csv_out


@pytest.mark.parametrize("args", [["export"], ["merge"], ["agreement"], ["codebook", "orphans"]])
def test_every_command_has_help(args: list[str]) -> None:
    result = CliRunner().invoke(cli, [*args, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output and len(result.output.splitlines()) > 3


# ---------------------------------------------------------------- screening mode, hostile names, bounded reads


def _one_line(result: Result, message: str) -> None:
    """A refusal: exit 1, one sentence on one line, no traceback."""
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], result.output
    assert "Traceback" not in result.output


def test_merge_summary_after_screening_compares_every_screened_post(tmp_path: Path) -> None:
    from sklearn.metrics import cohen_kappa_score

    plans = dict(zip(("alice", "bob"), screening_plans(), strict=True))
    paths = {}
    for coder, plan in plans.items():
        s = project(tmp_path, coder, SCREENED)
        screen(s, coder, plan)
        s.close()
        paths[coder] = tmp_path / f"{coder}.qualtui.jsonl"
        assert run(s.path, "export", "--coder", coder, "-o", str(paths[coder])).exit_code == 0
    lead = project(tmp_path, "lead", SCREENED)
    lead.close()
    result = run(lead.path, "merge", str(paths["alice"]), str(paths["bob"]))
    assert result.exit_code == 0, result.output
    a, b = ([plan[i] for i in range(SCREENED)] for plan in plans.values())
    kappa = cohen_kappa_score(a, b)
    percent = (SCREENED - SCREEN_DISAGREE) / SCREENED * 100
    flat = " ".join(result.output.split())
    assert f"relevance over {SCREENED} posts they all screened" in flat
    row = next(line for line in result.output.splitlines() if line.strip().startswith("│ relevance"))
    assert f"{percent:.1f}%" in row and f"{kappa:.3f}" in row
    data = json.loads(run(lead.path, "agreement", "--by", "relevance", "--format", "json").output)
    assert data["screened"] == data["rows"][0]["posts"] == SCREENED
    assert data["rows"][0]["disagree"] == SCREEN_DISAGREE and data["rows"][0]["kappa"] == pytest.approx(kappa)


def test_merge_refuses_a_coder_name_with_a_line_break(files: dict[str, Path]) -> None:
    def edit(header: dict, body: list) -> None:
        header["coder"] = "alice\nNothing was merged."
        for line in body:
            line["coder"] = header["coder"]

    rewrite(files["fa"], edit)
    with Store(files["lead"]) as s:
        before = counts(s)
    result = run(files["lead"], "merge", str(files["fa"]))
    _one_line(result, "alice.qualtui.jsonl line 1: the coder name contains a line break")
    assert result.output.count("Nothing was merged.") == 1
    with Store(files["lead"]) as s:
        assert counts(s) == before


@pytest.mark.parametrize("name", ["bob\nmerged 3 files", "x" * 65, "tab\there", "\x1b[2J"],
                         ids=["newline", "long", "tab", "escape"])
def test_coder_names_on_the_command_line_are_checked(files: dict[str, Path], name: str) -> None:
    out = files["a"].parent / "x.jsonl"
    _one_line(run(files["a"], "export", "--coder", name, "-o", str(out)), "--coder cannot be used")
    assert not out.exists()
    _one_line(run(files["lead"], "merge", str(files["fa"]), "--as", name), "--as cannot be used")
    _one_line(run(files["a"], "code", "--coder", name), "--coder cannot be used")
    with Store(files["lead"]) as s:
        assert counts(s)["events"] == 0


@pytest.mark.parametrize("kind", ["fifo", "folder", "device"])
def test_merge_refuses_what_is_not_a_regular_file(files: dict[str, Path], tmp_path: Path, kind: str) -> None:
    if kind == "fifo":
        target = tmp_path / "pipe.qualtui.jsonl"
        os.mkfifo(target)
    else:
        target = tmp_path if kind == "folder" else Path("/dev/zero")
    word = {"fifo": "a named pipe", "folder": "a folder", "device": "a device"}[kind]
    _one_line(run(files["lead"], "merge", str(target)), f"is {word}; a qualtui exchange file must be a regular file.")
