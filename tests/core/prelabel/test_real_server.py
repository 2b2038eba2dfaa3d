"""Against a real model server on 127.0.0.1: llama-cpp-python's own OpenAI-compatible server with the small model.

It answers one request at a time, so these tests are about correctness, not speed: the same scores as
the in-process model, the cache, Ctrl-C in a real `qualtui prelabel --llm-url` process, and a server
killed mid-run. Slow (each server loads the model), like the other tests of the real model.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.cli.test_prelabel_cli import _project
from tests.cli.test_prelabel_concurrency_cli import ROOT, qualtui
from tests.core.prelabel.helpers import MINI, MODEL, POSTS, add_posts
from tests.core.prelabel.test_llama_backend import KERNEL_NOISE
from tests.llm_servers import LocalServer, free_port, has_llama_cpp_python_server, start_llama_cpp_python
from tui.cli import cli
from tui.core.prelabel.backends.llama import LlamaBackend
from tui.core.prelabel.backends.server import OpenAIBackend
from tui.core.prelabel.prompts import screening_template
from tui.core.prelabel.run import run_prelabel
from tui.core.project.store import Store

pytestmark = pytest.mark.skipif(MODEL is None or not has_llama_cpp_python_server(),
                                reason="needs the small GGUF model and llama-cpp-python[server]")
TEXTS = POSTS + [f"(2) {t}" for t in POSTS]  # 8 posts: llama-cpp-python needs logits_all=True for logprobs (slow)
N = 12  # posts in the runs that are interrupted


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    s = start_llama_cpp_python(MODEL).wait_ready()  # type: ignore[arg-type]
    yield s
    s.stop()


def _count(db: Path, sql: str) -> Any:
    con = sqlite3.connect(db, timeout=10)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _cached(db: Path) -> int:
    return int(_count(db, "SELECT count(*) FROM prelabel_cache")[0][0]) if db.exists() else 0


def _wait_for(db: Path, n: int, child: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while _cached(db) < n:
        assert child.poll() is None and time.monotonic() < deadline, child.communicate()
        time.sleep(0.05)


def _args(db: Path, url: str, *more: str) -> list[str]:
    # The mini codebook's short prompt: the server projects every prompt position onto the vocabulary.
    return ["--db", str(db), "--codebook", str(MINI), "prelabel", "--llm-url", url, "--llm-api", "completions",
            "--no-codes", "--no-learn", *more]


def test_same_scores_as_in_process(server: LocalServer, codebook: Any, backend: LlamaBackend) -> None:
    template = screening_template(codebook)
    remote = OpenAIBackend(server.url, api="completions")
    for post in TEXTS:
        assert remote.probability(template, post) == pytest.approx(backend.probability(template, post),
                                                                   abs=KERNEL_NOISE)


def test_concurrent_run_matches_and_is_cached(tmp_path: Path, server: LocalServer, codebook: Any) -> None:
    stores = []
    for workers in (1, 8):
        store = Store(tmp_path / f"p{workers}.db")
        add_posts(store, TEXTS)
        b = OpenAIBackend(server.url, api="completions")
        summary = run_prelabel(store, codebook, b, codes=False, learn_from_coders=False, concurrency=workers)
        assert (summary.status, summary.n_scored) == ("finished", len(TEXTS))
        stores.append(store)
    one, eight = ({r[0]: r[1] for r in s.db.conn.execute("SELECT text_hash, score FROM prelabel_cache")}
                  for s in stores)
    assert one.keys() == eight.keys()
    # The server reuses the previous prompt's prefix, so the order it sees posts in changes batch shapes only.
    assert max(abs(one[h] - eight[h]) for h in one) <= KERNEL_NOISE
    again = run_prelabel(stores[1], codebook, OpenAIBackend(server.url, api="completions"), codes=False,
                         learn_from_coders=False)
    assert (again.n_scored, again.n_cached) == (0, len(TEXTS))


def test_ctrl_c_in_a_real_process(tmp_path: Path, server: LocalServer) -> None:
    db = _project(tmp_path, n=N)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    child = subprocess.Popen(qualtui(*_args(db, server.url, "--concurrency", "4")), env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(db, 2, child)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 130 and "Traceback" not in err
    assert err.strip().endswith("Interrupted. Every post finished so far is saved; run the same command to resume.")
    [(status, n_scored)] = _count(db, "SELECT status, n_scored FROM prelabel_runs")
    assert status == "interrupted" and 2 <= n_scored < N and _cached(db) == n_scored
    # (a one-slot server still works through the requests Ctrl-C abandoned: ask it for fewer at once)
    again = CliRunner(env={"COLUMNS": "200"}).invoke(cli, _args(db, server.url, "--concurrency", "2"))
    assert again.exit_code == 0, again.output
    assert f"{N} posts: {N - n_scored} scored, {n_scored} from the cache" in again.output


def test_server_killed_mid_run(tmp_path: Path) -> None:
    port = free_port()  # the same port after the restart: the cache is kept per server URL and model
    first = start_llama_cpp_python(MODEL, port=port).wait_ready()  # type: ignore[arg-type]
    db = _project(tmp_path, n=N)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    child = subprocess.Popen(qualtui(*_args(db, first.url, "--concurrency", "4")), env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(db, 2, child)
        first.kill()
        out, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
        first.stop()
    assert child.returncode == 1 and "Traceback" not in err
    [(status, n_scored)] = _count(db, "SELECT status, n_scored FROM prelabel_runs")
    assert status == "failed" and 2 <= n_scored < N and _cached(db) == n_scored
    sentence = err.strip().splitlines()[-1]
    assert re.fullmatch(rf"Error: could not reach {re.escape(first.url)}/v1/completions: .+; the {n_scored} posts "
                        r"scored before that are saved: run the same command to resume\.", sentence), sentence
    second = start_llama_cpp_python(MODEL, port=port).wait_ready()  # type: ignore[arg-type]
    try:
        again = CliRunner(env={"COLUMNS": "200"}).invoke(cli, _args(db, second.url, "--concurrency", "2"))
    finally:
        second.stop()
    assert again.exit_code == 0, again.output
    assert f"{N} posts: {N - n_scored} scored, {n_scored} from the cache" in again.output
