"""`qualtui codebook new|write|history` through the command line: one sentence and nothing written on refusal."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from tui.cli import cli
from tui.core.codebook.loading import load_codebook
from tui.core.coding.open_coding import create_code, edit_code
from tui.core.coding.session import Session
from tui.core.paths import bundled_codebook, skeleton_codebook
from tui.core.project.events import Event
from tui.core.project.store import Store


def run(*args: str, cwd: Path | None = None) -> object:
    """The CLI with a wide terminal."""
    return CliRunner(env={"COLUMNS": "250", "QUALTUI_CODEBOOK": None}).invoke(cli, list(args))


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path]:
    """A project file and the codebook file it uses, with two codebook changes made while coding."""
    book = tmp_path / "codebook.yaml"
    shutil.copyfile(bundled_codebook(), book)
    db = tmp_path / "p.db"
    store = Store(db)
    with store.write() as conn:
        conn.execute("INSERT INTO posts (platform, platform_id, label, text, text_hash) "
                     "VALUES ('xhs', 'n1', 'P-1', 'One. Two.', 'h')")
    s = Session(store, load_codebook(book), "alice")
    create_code(s, "Sold on", definition="Resold to another compound.", parent="targeting")
    edit_code(s, "targeting/overtrust", name="Overtrust")
    store.record(Event("bob", None, "code_edit", code_id="=HYPERLINK(1)\x1b[31m", value='{"name": "X"}',
                       at="2099-01-01T00:00:00.000Z"))
    store.close()
    return db, book


def test_new_starts_from_the_skeleton_and_never_overwrites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("codebook", "new")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "codebook.yaml").read_bytes() == skeleton_codebook().read_bytes()
    assert run("codebook", "check").exit_code == 0  # ./codebook.yaml is now the one in force
    (tmp_path / "codebook.yaml").write_text("mine", encoding="utf-8")
    again = run("codebook", "new", "--study")
    assert again.exit_code == 1 and again.output == (
        "Error: codebook.yaml already exists; choose another path or remove it first.\n")
    assert (tmp_path / "codebook.yaml").read_text(encoding="utf-8") == "mine"
    assert run("codebook", "new", "--study", "study.yaml").exit_code == 0
    assert (tmp_path / "study.yaml").read_bytes() == bundled_codebook().read_bytes()


def test_the_skeleton_holds_the_studys_starting_stages_and_its_screening(tmp_path: Path) -> None:
    cb = load_codebook(skeleton_codebook())
    assert [c.name for c in cb.categories] == ["Recruitment", "Transportation", "Exploitation"]
    assert list(cb.codes()) == []
    study = load_codebook(bundled_codebook())
    assert cb.screening == study.screening and cb.prelabel == study.prelabel
    assert Path(__file__).resolve().parents[2].joinpath("skeleton.yaml").read_bytes() == \
        skeleton_codebook().read_bytes()  # the copy beside the study codebook at the top of the repository


def test_write_folds_the_changes_in_and_check_accepts_the_result(project: tuple[Path, Path]) -> None:
    db, book = project
    result = run("--db", str(db), "--codebook", str(book), "codebook", "write")
    assert result.exit_code == 0, result.output
    assert result.output == (f"Wrote 2 codebook changes into {book} (1 skipped; see `qualtui codebook history`).\n")
    assert "name: Overtrust\n" in book.read_text(encoding="utf-8")
    assert run("codebook", "check", str(book)).exit_code == 0
    again = run("--db", str(db), "--codebook", str(book), "codebook", "write")
    assert again.exit_code == 0 and again.output == f"{book} already holds every codebook change; nothing written.\n"


def test_write_refuses_a_file_changed_on_disk_with_one_sentence(project: tuple[Path, Path]) -> None:
    db, book = project
    edited = book.read_text(encoding="utf-8").replace("name: Debt\n", "name: Debts\n")
    book.write_text(edited, encoding="utf-8")
    result = run("--db", str(db), "--codebook", str(book), "codebook", "write")
    assert result.exit_code == 1
    assert result.output == (f"Error: {book} changed on disk since this project's codebook changes were made against "
                             "it; check it, then run `qualtui codebook write --force` to fold them into it anyway.\n")
    assert book.read_text(encoding="utf-8") == edited
    assert run("--db", str(db), "--codebook", str(book), "codebook", "write", "--force").exit_code == 0


def test_write_never_touches_the_codebook_shipped_with_qualtui(project: tuple[Path, Path],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    db, _ = project
    monkeypatch.chdir(db.parent.parent)
    before = bundled_codebook().read_bytes()
    result = run("--db", str(db), "codebook", "write")
    assert result.exit_code == 1 and result.output.startswith(
        "Error: The codebook in force is the one shipped with qualtui; start your own with `qualtui codebook new")
    assert bundled_codebook().read_bytes() == before


def test_history_as_data_cleans_and_neutralises_every_cell(project: tuple[Path, Path]) -> None:
    db, book = project
    result = run("--db", str(db), "--codebook", str(book), "codebook", "history", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [(r["coder"], r["post"], r["kind"], r["skipped"]) for r in rows] == [
        ("alice", "P-1", "code_create", ""), ("alice", "P-1", "code_edit", ""),
        ("bob", "", "code_edit", "There is no code '=HYPERLINK(1)\\x1b[31m' in the codebook.")]
    assert rows[2]["code"] == "'=HYPERLINK(1)" and "\x1b" not in result.output
    data = json.loads(run("--db", str(db), "--codebook", str(book), "codebook", "history", "--format", "json",
                          "--code", "targeting/overtrust").output)
    assert [(d["kind"], d["change"]) for d in data] == [
        ("code_edit", "renamed 'Over-reliance and overtrust' to 'Overtrust'")]
    shown = run("--db", str(db), "--codebook", str(book), "codebook", "history")
    assert "\x1b" not in shown.output and "skipped: There is no code" in shown.output
