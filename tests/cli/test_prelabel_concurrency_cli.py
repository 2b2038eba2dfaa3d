"""`qualtui prelabel --llm-url … --concurrency N` from the shell: a bad N, a busy server, Ctrl-C in a real process."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_prelabel_cli import _project, _snapshot, invoke
from tests.core.prelabel.test_prelabel_server import FakeServer
from tests.core.prelabel.test_server_concurrency import Slow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def server() -> Iterator[FakeServer]:
    s = FakeServer()
    yield s
    s.close()


@pytest.mark.parametrize("bad", ["0", "-1", "65", "many"])
def test_a_bad_concurrency_is_one_sentence_and_exit_2(tmp_path: Path, server: FakeServer, bad: str) -> None:
    db = _project(tmp_path)
    before = _snapshot(db)
    r = invoke("--db", str(db), "prelabel", "--llm-url", server.url, "--concurrency", bad)
    assert r.exit_code == 2
    assert r.output == f"Error: --concurrency must be a whole number from 1 to 64 (got {bad!r}).\n"
    assert _snapshot(db) == before and server.requests == []


def test_concurrency_reaches_the_server(tmp_path: Path, server: FakeServer) -> None:
    slow = Slow(server, seconds=0.1)
    db = _project(tmp_path, n=10)
    r = invoke("--db", str(db), "prelabel", "--llm-url", server.url, "--concurrency", "5", "--no-learn")
    assert r.exit_code == 0, r.output
    assert slow.most == 5 and "5 requests at a time" in r.output


def test_a_server_that_stays_busy_ends_in_one_sentence(tmp_path: Path, server: FakeServer) -> None:
    server.answer = lambda *a: (503, b"loading model")  # type: ignore[method-assign]
    db = _project(tmp_path)
    before = _snapshot(db)
    r = invoke("--db", str(db), "prelabel", "--llm-url", server.url, "--no-codes", "--no-learn")
    assert r.exit_code == 1
    # (the blank lines above it are what the progress bar leaves when it is taken down)
    assert r.output.strip() == (
        f"Error: The server at {server.url}/v1/chat/completions answered HTTP 503 (service unavailable) 6 times in a "
        "row (loading model); lower --concurrency or try again later.")
    assert _snapshot(db) == before  # refused before any answer: nothing written


def _run_rows(db: Path) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT status, n_scored FROM prelabel_runs ORDER BY id").fetchall()
    finally:
        con.close()


def _count(db: Path, table: str) -> int:
    con = sqlite3.connect(db, timeout=10)
    try:
        return int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        con.close()


def qualtui(*args: str) -> list[str]:
    """The command line of this checkout's qualtui (the console script's entry point, in a fresh interpreter)."""
    return [sys.executable, "-c", "import sys; from tui.cli import main; sys.argv[0] = 'qualtui'; main()", *args]


def test_ctrl_c_in_a_real_process_keeps_what_was_scored(tmp_path: Path, server: FakeServer) -> None:
    Slow(server, seconds=0.3)
    db = _project(tmp_path, n=40)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    args = ["--db", str(db), "prelabel", "--llm-url", server.url, "--concurrency", "4", "--no-codes", "--no-learn"]
    child = subprocess.Popen(qualtui(*args), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not db.exists() or _count(db, "prelabel_cache") < 4):
            time.sleep(0.05)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 130, (out, err)
    assert err.strip().endswith("Interrupted. Every post finished so far is saved; run the same command to resume.")
    assert "Traceback" not in err
    [(status, n_scored)] = _run_rows(db)
    assert status == "interrupted" and 4 <= n_scored < 40
    assert _count(db, "prelabel_cache") == n_scored  # every finished post, and no half of one
    again = invoke("--db", str(db), "prelabel", "--llm-url", server.url, "--no-codes", "--no-learn")
    assert again.exit_code == 0
    assert f"40 posts: {40 - n_scored} scored, {n_scored} from the cache" in again.output


def test_ctrl_c_does_not_wait_for_a_slow_server(tmp_path: Path, server: FakeServer) -> None:
    slow = Slow(server, seconds=60)
    db = _project(tmp_path, n=10)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    args = ["--db", str(db), "prelabel", "--llm-url", server.url, "--concurrency", "3", "--no-codes", "--no-learn"]
    child = subprocess.Popen(qualtui(*args), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while slow.now < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        t0 = time.monotonic()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=30)
        waited = time.monotonic() - t0
    finally:
        slow.release.set()
        if child.poll() is None:
            child.kill()
    # The three requests in flight are ended, not waited for (the server would take a minute).
    assert child.returncode == 130 and waited < 10, (waited, err)
    assert err.strip().endswith("Interrupted. Every post finished so far is saved; run the same command to resume.")
    assert _run_rows(db) == []  # nothing had been scored: no run row


def test_a_failure_mid_run_says_what_is_kept(tmp_path: Path, server: FakeServer) -> None:
    answer, calls = server.answer, []

    def fails_after_three(path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, Any]:
        calls.append(path)
        return (500, {"error": "gone"}) if len(calls) > 3 else answer(path, body, headers)

    server.answer = fails_after_three  # type: ignore[method-assign]
    db = _project(tmp_path, n=6)
    r = invoke("--db", str(db), "prelabel", "--llm-url", server.url, "--concurrency", "1", "--no-codes", "--no-learn")
    assert r.exit_code == 1
    assert r.output.strip() == (f'Error: The server at {server.url}/v1/chat/completions answered HTTP 500: {{"error": '
                                '"gone"}; the 3 posts scored before that are saved: run the same command to resume.')
    assert _run_rows(db) == [("failed", 3)]
