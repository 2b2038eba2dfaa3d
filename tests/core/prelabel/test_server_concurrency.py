"""Several requests in flight, busy servers (429/503) and interruptions, against a stdlib HTTP server on 127.0.0.1."""

from __future__ import annotations

import email.utils
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.core.prelabel.helpers import add_posts
from tests.core.prelabel.test_prelabel_server import MINI, TEMPLATE, FakeServer
from tui.core.codebook.loading import load_codebook
from tui.core.prelabel.backends.server import OpenAIBackend, check_concurrency, retry_after
from tui.core.prelabel.errors import PrelabelError
from tui.core.prelabel.pool import Ordered
from tui.core.prelabel.run import run_prelabel
from tui.core.project.store import Store

TEXTS = [f"post {i}: {'sold to a scam compound' if i % 3 == 0 else 'a nice dinner'} " + "x" * (i * 7 % 50)
         for i in range(12)]


class Slow:
    """Wraps a FakeServer's answers: each request takes a while (later posts less), and is counted in flight."""

    def __init__(self, server: FakeServer, seconds: float = 0.15) -> None:
        self.server, self.inner, self.seconds = server, server.answer, seconds
        self.lock = threading.Lock()
        self.release = threading.Event()  # set: answer at once
        self.now = self.most = 0
        server.answer = self  # type: ignore[method-assign]

    def __call__(self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, Any]:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            text = str(body.get("messages", body.get("input", "")))
            found = re.findall(r"post (\d+):", text)
            n = int(found[-1]) if found else 0
            self.release.wait(self.seconds * (1 + (12 - n) % 5) / 5)  # answers come back out of order
            return self.inner(path, body, headers)
        finally:
            with self.lock:
                self.now -= 1


@pytest.fixture
def server() -> Iterator[FakeServer]:
    s = FakeServer()
    yield s
    s.close()


def _state(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """What a run wrote, without the times it wrote it at."""
    conn = store.db.conn
    return {
        "cache": conn.execute("SELECT text_hash, model_hash, prompt_hash, kind, code_id, score FROM prelabel_cache"
                              " ORDER BY text_hash, kind, code_id").fetchall(),
        "embeddings": conn.execute("SELECT text_hash, model_hash, vector FROM embeddings ORDER BY text_hash")
        .fetchall(),
        "suggestions": conn.execute("SELECT post_id, kind, code_id, score, source, model_hash, prompt_hash"
                                    " FROM suggestions ORDER BY rowid").fetchall(),
    }


# ---------------------------------------------------------------- a busy server is asked again


def test_busy_server_is_asked_again_after_its_retry_after(server: FakeServer) -> None:
    answer, calls = server.answer, []

    def busy_once(path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, Any]:
        calls.append(time.monotonic())
        return (429, {"error": {"message": "slow down"}}) if len(calls) == 1 else answer(path, body, headers)

    server.answer = busy_once  # type: ignore[method-assign]
    server.retry_after = "1"
    assert OpenAIBackend(server.url).probability(TEMPLATE, "scam") == pytest.approx(0.8)
    assert len(calls) == 2 and calls[1] - calls[0] >= 0.9


def test_without_retry_after_the_pause_doubles(server: FakeServer) -> None:
    answer, calls = server.answer, []

    def busy_twice(path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, Any]:
        calls.append(time.monotonic())
        return (503, b"") if len(calls) <= 2 else answer(path, body, headers)

    server.answer = busy_twice  # type: ignore[method-assign]
    server.retry_after = None
    assert OpenAIBackend(server.url, backoff=0.2).probability(TEMPLATE, "scam") == pytest.approx(0.8)
    assert len(calls) == 3
    assert calls[1] - calls[0] >= 0.2 and calls[2] - calls[1] >= 0.4


def test_a_server_busy_for_too_long_ends_in_one_sentence(server: FakeServer) -> None:
    server.answer = lambda *a: (429, {"error": {"message": "slow down"}})  # type: ignore[method-assign]
    host = server.url.removeprefix("http://")
    b = OpenAIBackend(f"http://ann:s3cret@{host}/?token=abc", retries=2)
    with pytest.raises(PrelabelError) as err:
        b.probability(TEMPLATE, "scam")
    assert str(err.value) == (
        f"The server at {server.url}/v1/chat/completions answered HTTP 429 (too many requests) 3 times in a row "
        '({"error": {"message": "slow down"}}); lower --concurrency or try again later.')
    assert len(server.requests) == 3  # the first try and two more; no user name, password or token in the sentence


def test_other_errors_are_not_asked_again(server: FakeServer) -> None:
    server.mode = "error"
    with pytest.raises(PrelabelError, match="answered HTTP 500"):
        OpenAIBackend(server.url).probability(TEMPLATE, "scam")
    assert len(server.requests) == 1


def test_retry_after_header() -> None:
    assert retry_after(None) is None and retry_after("") is None and retry_after("soon") is None
    assert retry_after("3") == 3.0 and retry_after("86400") == 60.0  # at most a minute per pause
    now = time.time()
    assert retry_after(email.utils.formatdate(now + 5, usegmt=True), now=now) == pytest.approx(5, abs=1)
    assert retry_after(email.utils.formatdate(now - 50, usegmt=True), now=now) == 0.0


@pytest.mark.parametrize("bad", ["0", "-3", "65", "abc", "2.5", ""])
def test_concurrency_is_checked(bad: str) -> None:
    with pytest.raises(PrelabelError) as err:
        check_concurrency(bad)
    assert str(err.value) == f"--concurrency must be a whole number from 1 to 64 (got {bad!r})."
    assert check_concurrency(" 8 ") == 8 and check_concurrency(1) == 1


# ---------------------------------------------------------------- several in flight, same results


def test_ordered_pool_keeps_the_order_and_a_bounded_window() -> None:
    started: list[int] = []

    def slow(i: int) -> int:
        started.append(i)
        time.sleep(0.01 * ((7 - i) % 4))
        return i * i

    pool = Ordered(slow, list(range(20)), workers=4, ahead=6)
    seen = []
    for i, sq in pool:
        assert len(started) <= i + 1 + 6  # never more than the window ahead of the caller
        seen.append((i, sq))
    assert seen == [(i, i * i) for i in range(20)]


def test_concurrent_run_writes_what_a_one_at_a_time_run_writes(tmp_path: Path, server: FakeServer) -> None:
    slow = Slow(server)
    states, most = [], []
    for workers in (1, 6):
        store = Store(tmp_path / f"p{workers}.db")
        add_posts(store, TEXTS)
        slow.most = 0
        summary = run_prelabel(store, load_codebook(MINI), OpenAIBackend(server.url, model="m"), concurrency=workers)
        assert (summary.status, summary.n_scored) == ("finished", len(TEXTS))
        states.append(_state(store))
        most.append(slow.most)
        store.close()
    assert most[0] == 1 and most[1] >= 4
    assert states[0] == states[1]  # same scores, vectors and suggestions, in the same rows


def test_the_backend_concurrency_is_the_default(tmp_path: Path, server: FakeServer) -> None:
    slow = Slow(server, seconds=0.1)
    store = Store(tmp_path / "p.db")
    add_posts(store, TEXTS)
    run_prelabel(store, load_codebook(MINI), OpenAIBackend(server.url, concurrency=3), codes=False,
                 learn_from_coders=False)
    assert slow.most == 3


def test_ctrl_c_keeps_the_answers_that_arrived_and_resumes(tmp_path: Path, server: FakeServer) -> None:
    Slow(server, seconds=0.1)
    store = Store(tmp_path / "p.db")
    add_posts(store, TEXTS)

    def interrupt(done: int, total: int, cached: int) -> None:
        if done == 3:
            time.sleep(0.3)  # let more answers arrive behind the one being written
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_prelabel(store, load_codebook(MINI), OpenAIBackend(server.url, model="m"), concurrency=4,
                     codes=False, learn_from_coders=False, progress=interrupt)
    conn = store.db.conn
    status, n_scored = conn.execute("SELECT status, n_scored FROM prelabel_runs").fetchone()
    cached = conn.execute("SELECT count(*) FROM prelabel_cache").fetchone()[0]
    with_suggestions = conn.execute("SELECT count(DISTINCT post_id) FROM suggestions").fetchone()[0]
    # The 3rd post's transaction was committed before the interrupt; answers that had arrived are kept too.
    assert status == "interrupted" and 3 < n_scored < len(TEXTS) and cached == with_suggestions == n_scored
    again = run_prelabel(store, load_codebook(MINI), OpenAIBackend(server.url, model="m"), codes=False,
                         learn_from_coders=False)
    assert (again.status, again.n_cached, again.n_scored) == ("finished", n_scored, len(TEXTS) - n_scored)


def test_a_failed_request_mid_run_keeps_the_others(tmp_path: Path, server: FakeServer) -> None:
    slow = Slow(server, seconds=0.05)
    inner = slow.inner

    def one_fails(path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, Any]:
        if "post 5:" in str(body):
            return 500, {"error": {"message": "out of memory"}}
        return inner(path, body, headers)

    slow.inner = one_fails  # type: ignore[assignment]
    store = Store(tmp_path / "p.db")
    add_posts(store, TEXTS)
    with pytest.raises(PrelabelError, match="out of memory"):
        run_prelabel(store, load_codebook(MINI), OpenAIBackend(server.url, model="m"), concurrency=4,
                     codes=False, learn_from_coders=False)
    conn = store.db.conn
    status, n_scored = conn.execute("SELECT status, n_scored FROM prelabel_runs").fetchone()
    assert status == "failed" and n_scored >= 5
    assert conn.execute("SELECT count(*) FROM prelabel_cache").fetchone()[0] == n_scored
    slow.inner = inner  # type: ignore[assignment]
    again = run_prelabel(store, load_codebook(MINI), OpenAIBackend(server.url, model="m"), codes=False,
                         learn_from_coders=False)
    assert (again.status, again.n_scored + again.n_cached) == ("finished", len(TEXTS))
