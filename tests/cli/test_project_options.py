"""`--db` and `--codebook` work after the subcommand as well as before it."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from tests.samples import CODEBOOK, SAMPLE
from tui.cli.main import cli, hoist_global_options
from tui.core.project.store import Store


def run(*args: str) -> object:
    return CliRunner(env={"COLUMNS": "200"}).invoke(cli, list(args), catch_exceptions=False)


def test_db_after_the_subcommand_on_several_commands(tmp_path: Path) -> None:
    db = tmp_path / "after.db"
    result = run("import", str(SAMPLE), "--db", str(db))
    assert result.exit_code == 0, result.output
    assert "imported 200" in result.output
    result = run("sample", "--coder", "me", "--n", "5", f"--db={db}")
    assert result.exit_code == 0, result.output
    result = run("posts", "--db", str(db))
    assert result.exit_code == 0, result.output
    s = Store(db)
    assert s.count_posts() == 200 and len(s.queue("me")) == 5
    s.close()
    assert not (tmp_path / "qualtui.db").exists()


def test_codebook_after_the_subcommand(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("categories: [", encoding="utf-8")
    assert run("lookup", "ransom", "--codebook", str(CODEBOOK)).exit_code == 0
    result = run("lookup", "ransom", "--codebook", str(bad))
    assert result.exit_code != 0 and "bad.yaml" in result.output


def test_hoisting_leaves_other_arguments_alone() -> None:
    assert hoist_global_options(["--db", "a", "import", "x", "--db", "b"]) == ["--db", "a", "--db", "b", "import", "x"]
    assert hoist_global_options(["memo", "--", "--db", "x"]) == ["memo", "--", "--db", "x"]
    assert hoist_global_options(["--help"]) == ["--help"]
