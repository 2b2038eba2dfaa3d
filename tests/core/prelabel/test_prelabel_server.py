"""The OpenAI-compatible server backend, against a fake server on 127.0.0.1 started by each test."""

from __future__ import annotations

import base64
import json
import math
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tui.core.codebook.loading import load_codebook
from tui.core.prelabel.backends.server import OpenAIBackend, check_url, public_url
from tui.core.prelabel.errors import PrelabelError
from tui.core.prelabel.prompts import SLOT
from tui.core.prelabel.run import run_prelabel
from tui.core.project.store import Store, text_hash

MINI = Path(__file__).parents[1] / "fixtures" / "prelabel_mini.yaml"
TEMPLATE = f"Is this about trafficking?\nPost:\n{SLOT}\nAnswer (0 or 1):"


class _QuietServer(ThreadingHTTPServer):
    """A client that hangs up mid-answer (Ctrl-C, a refused run) is expected here: no traceback on stderr,
    where it would land in the output a test compares."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class FakeServer:
    """Answers like llama.cpp server / vLLM, or badly, as a test asks."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], Any]] = []
        self.mode = "chat"
        self.require_auth: str | None = None  # an exact Authorization header, else HTTP 401
        self.retry_after = "0"  # sent with a 429/503 answer, so a "busy" answer is asked again at once
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append((self.path, dict(self.headers), body))
                status, payload = fake.answer(self.path, body, dict(self.headers))
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if status in (429, 503) and fake.retry_after is not None:
                    self.send_header("Retry-After", fake.retry_after)
                self.end_headers()
                self.wfile.write(data)

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @staticmethod
    def p_one(text: str) -> float:
        return 0.8 if "scam" in text or "缅甸" in text else 0.3

    def answer(self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, Any]:
        if self.require_auth is not None and (headers or {}).get("Authorization") != self.require_auth:
            return 401, {"error": {"message": "unauthorised"}}
        if self.mode == "no-chat" and not path.split("?")[0].endswith("/embeddings"):
            return 503, {"error": {"message": "the chat endpoint is disabled"}}
        if self.mode == "garbage":
            return 200, b"<html>I am a web page</html>"
        if self.mode == "error":
            return 500, {"error": {"message": "model not loaded"}}
        if self.mode == "no-logprobs":
            return 200, {"choices": [{"message": {"role": "assistant", "content": "1"}}]}
        if self.mode == "words":
            top = [{"token": "Yes", "logprob": -0.1}, {"token": "No", "logprob": -2.5}]
            first = {"token": "Yes", "logprob": -0.1, "top_logprobs": top}
            return 200, {"choices": [{"logprobs": {"content": [first]}}]}
        path = path.split("?")[0]
        if path.endswith("/embeddings"):
            return 200, {"data": [{"index": i, "embedding": [float(len(t)), 1.0, float("scam" in t)]}
                                  for i, t in enumerate(body["input"])]}
        text = body["messages"][0]["content"] if "messages" in body else body["prompt"]
        p1 = self.p_one(text.rsplit("Post:", 1)[-1])
        lp1, lp0 = math.log(p1), math.log(1 - p1)
        if path.endswith("/chat/completions"):
            top = [{"token": "1", "logprob": lp1}, {"token": "0", "logprob": lp0}, {"token": "The", "logprob": -9.0}]
            return 200, {"choices": [{"message": {"content": "1"}, "logprobs": {"content": [
                {"token": "1", "logprob": lp1, "top_logprobs": top}]}}]}
        # legacy completions shape (vLLM)
        return 200, {"choices": [{"text": "1", "logprobs": {"tokens": ["1"], "token_logprobs": [lp1],
                                                             "top_logprobs": [{" 1": lp1, " 0": lp0}]}}]}

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[FakeServer]:
    s = FakeServer()
    yield s
    s.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_chat_logprobs_give_the_probability(server: FakeServer) -> None:
    b = OpenAIBackend(server.url, model="qwen2.5-3b-instruct", api_key="k3y")
    assert b.probability(TEMPLATE, "sold to a scam compound") == pytest.approx(0.8)
    assert b.probability(TEMPLATE, "nice dinner") == pytest.approx(0.3)
    path, headers, body = server.requests[0]
    assert path == "/v1/chat/completions"
    assert headers["Authorization"] == "Bearer k3y"
    assert body["max_tokens"] == 1 and body["logprobs"] is True and body["top_logprobs"] == 20
    assert body["model"] == "qwen2.5-3b-instruct"
    prompt = "Is this about trafficking?\nPost:\nsold to a scam compound\nAnswer (0 or 1):"
    assert body["messages"] == [{"role": "user", "content": prompt}]
    assert not b.loaded


def test_completions_legacy_shape(server: FakeServer) -> None:
    b = OpenAIBackend(server.url + "/v1/", api="completions")
    assert b.probability(TEMPLATE, "被骗到缅甸") == pytest.approx(0.8)
    path, _, body = server.requests[0]
    assert path == "/v1/completions" and body["logprobs"] == 20 and body["max_tokens"] == 1
    assert body["prompt"].endswith("Answer (0 or 1): ") and "model" not in body


def test_server_down_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(PrelabelError) as err:
        OpenAIBackend(url).probability(TEMPLATE, "x")
    assert str(err.value) == f"could not reach {url}/v1/chat/completions: connection refused"


@pytest.mark.parametrize(("mode", "message"), [
    ("garbage", "did not answer with JSON"),
    ("error", "answered HTTP 500: .*model not loaded"),
    ("no-logprobs", "sent no log-probabilities"),
    ("words", "did not rank '0' or '1'.*'Yes'"),
])
def test_bad_answers_are_clear_errors(server: FakeServer, mode: str, message: str) -> None:
    server.mode = mode
    with pytest.raises(PrelabelError, match=message):
        OpenAIBackend(server.url).probability(TEMPLATE, "x")


def test_only_the_given_url_is_contacted(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # A proxy from the environment would send the post elsewhere: it must be ignored.
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")
    assert OpenAIBackend(server.url).probability(TEMPLATE, "scam") == pytest.approx(0.8)
    with pytest.raises(PrelabelError, match="not an http"):
        OpenAIBackend("file:///etc/passwd")


def test_embeddings(server: FakeServer) -> None:
    vecs = OpenAIBackend(server.url, model="m").embed(["ab", "scam!"])
    assert vecs.tolist() == [[2.0, 1.0, 0.0], [5.0, 1.0, 1.0]]
    assert server.requests[0][0] == "/v1/embeddings"


def test_long_post_is_cut_in_the_middle(server: FakeServer) -> None:
    b = OpenAIBackend(server.url, max_post_chars=100)
    b.probability(TEMPLATE, "A" * 500 + "Z")
    sent = server.requests[0][2]["messages"][0]["content"]
    post = sent.split("Post:\n")[1].split("\nAnswer")[0]
    assert len(post) <= 100 and post.startswith("A") and post.endswith("Z") and " … " in post


def test_full_run_through_a_server(tmp_path: Path, server: FakeServer) -> None:
    store = Store(tmp_path / "p.db")
    with store.db.conn:
        for i, t in enumerate(["sold to a scam compound", "nice dinner"]):
            store.db.conn.execute(
                "INSERT INTO posts (platform, platform_id, label, title, text, text_hash)"
                " VALUES ('xhs', ?, ?, '', ?, ?)",
                (f"n{i}", f"P-{i}", t, text_hash("", t)))
    summary = run_prelabel(store, load_codebook(MINI), OpenAIBackend(server.url, model="m"))
    assert (summary.n_scored, summary.n_relevant, summary.model_loaded) == (2, 1, False)
    rows = store.db.conn.execute("SELECT kind, count(*) FROM suggestions GROUP BY kind").fetchall()
    assert dict(rows) == {"relevance": 2, "code": 3 + 1}  # one relevant post: top codes and its sub-code
    server.mode = "garbage"  # cached: the server is not asked again
    again = run_prelabel(store, load_codebook(MINI), OpenAIBackend(server.url, model="m"))
    assert (again.n_scored, again.n_cached) == (0, 2)


# ---------------------------------------------------------------- refusals write nothing, secrets stay out


def _add(store: Store, texts: list[str]) -> None:
    with store.db.conn:
        for t in texts:
            n = store.db.conn.execute("SELECT count(*) FROM posts").fetchone()[0]
            store.db.conn.execute(
                "INSERT INTO posts (platform, platform_id, label, title, text, text_hash)"
                " VALUES ('xhs', ?, ?, '', ?, ?)", (f"n{n}", f"P-{n}", t, text_hash("", t)))


def _written(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    tables = ("prelabel_runs", "prelabel_cache", "embeddings", "suggestions", "meta")
    return {t: sorted(store.db.conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}


@pytest.mark.parametrize("mode", ["down", "error", "no-chat"])
def test_refused_run_writes_nothing(tmp_path: Path, server: FakeServer, mode: str) -> None:
    store = Store(tmp_path / "p.db")
    _add(store, ["sold to a scam compound", "nice dinner"])
    before = _written(store)
    url = f"http://127.0.0.1:{free_port()}" if mode == "down" else server.url
    server.mode = mode
    with pytest.raises(PrelabelError):
        run_prelabel(store, load_codebook(MINI), OpenAIBackend(url, model="m"))
    assert _written(store) == before


def test_refused_run_on_a_partly_cached_project_changes_nothing(tmp_path: Path, server: FakeServer) -> None:
    store = Store(tmp_path / "p.db")
    _add(store, ["sold to a scam compound", "nice dinner"])
    run_prelabel(store, load_codebook(MINI), OpenAIBackend(server.url, model="m"))
    _add(store, ["a third post about a scam"])
    before = _written(store)
    server.mode = "error"
    with pytest.raises(PrelabelError, match="HTTP 500"):
        run_prelabel(store, load_codebook(MINI), OpenAIBackend(server.url, model="m"))
    assert _written(store) == before  # no run row, and the cached posts' suggestions are not rewritten


def test_failure_after_a_scored_post_keeps_the_run(tmp_path: Path, server: FakeServer) -> None:
    store = Store(tmp_path / "p.db")
    _add(store, ["sold to a scam compound", "nice dinner"])
    calls = {"n": 0}
    answer = server.answer

    def second_post_fails(path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, Any]:
        if path.endswith("/chat/completions"):
            calls["n"] += 1
            if calls["n"] == 2:
                return 500, {"error": {"message": "out of memory"}}
        return answer(path, body, headers)

    server.answer = second_post_fails  # type: ignore[method-assign]
    with pytest.raises(PrelabelError, match="out of memory"):
        run_prelabel(store, load_codebook(MINI), OpenAIBackend(server.url, model="m"), codes=False)
    assert store.db.conn.execute("SELECT status, n_scored FROM prelabel_runs").fetchall() == [("failed", 1)]


def test_credentials_and_query_are_sent_but_never_kept(tmp_path: Path, server: FakeServer) -> None:
    server.require_auth = "Basic " + base64.b64encode(b"ann:p@ss w").decode()
    host = server.url.removeprefix("http://")
    b = OpenAIBackend(f"http://ann:p%40ss%20w@{host}/v1/?token=abc123#frag", model="m")
    assert b.base == f"{server.url}/v1" and "abc123" not in b.model_name and "ann" not in b.model_name
    assert b.probability(TEMPLATE, "scam") == pytest.approx(0.8)  # the fake server's fixed answer, exactly
    assert server.requests[0][0] == "/v1/chat/completions?token=abc123"
    # an API key wins over the user name and password: one Authorization header only
    server.require_auth = "Bearer k3y"
    assert OpenAIBackend(f"http://ann:pw@{host}", api_key="k3y").probability(TEMPLATE, "scam") == pytest.approx(0.8)
    store = Store(tmp_path / "p.db")
    _add(store, ["sold to a scam compound"])
    server.require_auth = "Basic " + base64.b64encode(b"ann:p@ss w").decode()
    run_prelabel(store, load_codebook(MINI), b)
    dump = "\n".join(store.db.conn.iterdump())
    assert "abc123" not in dump and "p@ss" not in dump and "ann:" not in dump
    # the model hash is computed from the public URL, so a weak password cannot be guessed from it
    assert b.model_hash == OpenAIBackend(server.url, model="m").model_hash


@pytest.mark.parametrize(("url", "shown"), [
    ("http://user:secret@host:8080/v1?token=abc#x", "http://host:8080/v1"),
    ("https://host/base/", "https://host/base/"),
    ("http://u:p@[::1/x?k=1", "http://[::1/x"),  # unparseable: secrets removed by hand
    ("  http://host  ", "http://host"),
])
def test_public_url(url: str, shown: str) -> None:
    assert public_url(url) == shown


@pytest.mark.parametrize(("url", "why"), [
    ("http://[::1", "not a valid URL"),
    ("http://host:port/", "not a valid URL"),
    ("file:///etc/passwd", "not an http"),
    ("localhost:8080", "not an http"),
    ("https://", "no host name"),
    ("http://u:secret@/v1", "no host name"),
])
def test_bad_urls_are_refused_in_one_sentence(url: str, why: str) -> None:
    with pytest.raises(PrelabelError, match=why) as err:
        check_url(url)
    assert "secret" not in str(err.value) and str(err.value).count(". ") == 0
