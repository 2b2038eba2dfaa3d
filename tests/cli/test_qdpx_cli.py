"""`qualtui export --format qdpx` and `qualtui import FILE.qdpx` through click's CliRunner."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.qdpx_helpers import XSD, atlas_qdpx, by_platform_id, coded_project, write_zip
from tests.samples import CODEBOOK
from tests.sync_helpers import snapshot
from tui.cli import cli
from tui.core.project.store import Store
from tui.core.report.qdpx import source_guid


def run(db: Path, *args: str, codebook: Path = CODEBOOK) -> Result:
    """Invoke the CLI on a project file."""
    return CliRunner().invoke(cli, ["--db", str(db), "--codebook", str(codebook), *args], catch_exceptions=False)


@pytest.fixture
def team(tmp_path: Path) -> Path:
    """The team's project file, closed."""
    store = coded_project(tmp_path)
    store.close()
    return store.path


def test_export_then_import_round_trip(team: Path, tmp_path: Path) -> None:
    out = tmp_path / "study.qdpx"
    res = run(team, "export", "--format", "qdpx", "-o", str(out))
    assert res.exit_code == 0, res.output
    said = " ".join(res.output.split())
    assert "4 posts, 6 codings, 4 quotes, 2 memos by alice, bob" in said
    with zipfile.ZipFile(out) as zf:
        xmlschema = pytest.importorskip("xmlschema")
        xmlschema.XMLSchema(str(XSD)).validate(zf.read("project.qde").decode("utf-8"))
    fresh = tmp_path / "fresh.db"
    res = run(fresh, "import", str(out))
    assert res.exit_code == 0, res.output
    assert "4 posts imported" in " ".join(res.output.split())
    with Store(team) as a, Store(fresh) as b:
        before = {(c, source_guid("xhs", k)): v[0] for (c, k), v in by_platform_id(a).items()}
        assert {k: v[0] for k, v in by_platform_id(b).items()} == before


def test_export_options(team: Path, tmp_path: Path) -> None:
    res = run(team, "export", "--format", "qdpx", "--coder", "bob", "--relevant-only", "-o", str(tmp_path / "b.qdpx"))
    assert res.exit_code == 0 and "2 posts" in res.output and "by bob" in " ".join(res.output.split())
    res = run(team, "export", "--format", "qdpx", "--consensus", "-o", str(tmp_path / "c.qdpx"))
    assert res.exit_code == 1 and "nothing to export" in res.output and not (tmp_path / "c.qdpx").exists()


def test_export_refuses_well_being(team: Path, tmp_path: Path) -> None:
    res = run(team, "export", "--format", "qdpx", "--with-wellbeing", "-o", str(tmp_path / "w.qdpx"))
    assert res.exit_code == 1 and "Well-being records never leave" in res.output
    assert not (tmp_path / "w.qdpx").exists()


def test_import_an_atlas_ti_file_writes_its_codebook(tmp_path: Path) -> None:
    db, book = tmp_path / "p.db", tmp_path / "atlas-codebook.yaml"
    res = run(db, "import", str(atlas_qdpx(tmp_path / "atlas.qdpx")), codebook=book)
    assert res.exit_code == 0, res.output
    said = " ".join(res.output.split())
    assert "1 posts imported" in said and "external" in said and book.exists()
    res = run(db, "codebook", "check", codebook=book)
    assert res.exit_code == 0, res.output


def test_import_refuses_a_different_codebook_over_codings(team: Path, tmp_path: Path) -> None:
    with Store(team) as s:
        before = snapshot(s)
    res = run(team, "import", str(atlas_qdpx(tmp_path / "atlas.qdpx")))
    assert res.exit_code == 1 and "--merge" in res.output
    assert res.output.count("\n") == 1 and "Traceback" not in res.output
    with Store(team) as s:
        assert snapshot(s) == before


def test_a_hostile_file_creates_no_project(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    bad = write_zip(tmp_path / "evil.qdpx", {"project.qde": "<Project name='x'/>", "../../evil": "x"})
    res = run(db, "import", str(bad))
    assert res.exit_code == 1 and res.output.startswith("Error: ") and res.output.count("\n") == 1
    assert "points outside the archive" in res.output
    assert not db.exists() and not (tmp_path / "evil").exists()


def test_qdpx_and_other_files_are_not_mixed(tmp_path: Path) -> None:
    other = tmp_path / "x.json"
    other.write_text("[]", encoding="utf-8")
    res = run(tmp_path / "p.db", "import", str(atlas_qdpx(tmp_path / "a.qdpx")), str(other))
    assert res.exit_code == 1 and "on their own" in res.output
