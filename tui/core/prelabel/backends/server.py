"""A llama.cpp / vLLM / Ollama server's OpenAI-compatible API: log-probabilities of the answer, and embeddings.

Only the URL the user gave is contacted: no proxies from the environment, no redirects. One backend may be
used by several threads at once (`concurrency` requests in flight); a busy server (HTTP 429 or 503) is
asked again after the time its Retry-After header gives, or after a doubling pause, a bounded number of times.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import http.client
import json
import math
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tui.core.prelabel.backends import LABELS, label_probability
from tui.core.prelabel.errors import PrelabelError
from tui.core.prelabel.prompts import ELLIPSIS, split_template, truncate_middle

__all__ = ["BUSY", "MAX_CONCURRENCY", "OpenAIBackend", "check_url", "check_concurrency", "public_url",
           "retry_after"]

BUSY = {429: "too many requests", 503: "service unavailable"}
"""The answers that mean "ask again later" rather than "this request is wrong"."""
MAX_CONCURRENCY = 64
MAX_WAIT = 60.0  # seconds: a longer Retry-After is cut to this, so one answer cannot stall a run for hours


def check_concurrency(value: object) -> int:
    """Requests in flight at once, if a whole number from 1 to MAX_CONCURRENCY; else PrelabelError (one sentence)."""
    text = str(value).strip()
    try:
        n = int(text)
    except ValueError:
        n = 0
    if not 1 <= n <= MAX_CONCURRENCY or isinstance(value, bool):
        raise PrelabelError(f"--concurrency must be a whole number from 1 to {MAX_CONCURRENCY} (got {text[:20]!r}).")
    return n


def retry_after(header: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or an HTTP date), at most MAX_WAIT; None if absent."""
    if not header:
        return None
    header = header.strip()
    if header.isdigit():
        return min(float(header), MAX_WAIT)
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    wait = when.timestamp() - (time.time() if now is None else now)
    return min(max(wait, 0.0), MAX_WAIT)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect could lead to another host: treat it as an error answer


class _Sockets:
    """The sockets of the requests in flight, so that Ctrl-C can end them at once instead of waiting for answers."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.open: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self.cancelled = threading.Event()

    def add(self, sock: socket.socket) -> None:
        with self.lock:
            self.open.add(sock)
        if self.cancelled.is_set():
            _shut(sock)

    def cancel(self) -> None:
        self.cancelled.set()
        with self.lock:
            socks = list(self.open)
        for sock in socks:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)  # the thread blocked in recv() on it gets an error and ends
    except OSError:
        pass  # already closed


def _handlers(sockets: _Sockets) -> list[urllib.request.BaseHandler]:
    """http and https handlers whose connections report their sockets to `sockets`."""

    class HTTPConnection(http.client.HTTPConnection):
        def connect(self) -> None:
            super().connect()
            sockets.add(self.sock)

    class HTTPSConnection(http.client.HTTPSConnection):
        def connect(self) -> None:
            super().connect()
            sockets.add(self.sock)

    class HTTPHandler(urllib.request.HTTPHandler):
        def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(HTTPConnection, req)

    class HTTPSHandler(urllib.request.HTTPSHandler):
        def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(HTTPSConnection, req, context=self._context)  # type: ignore[attr-defined]

    return [HTTPHandler(), HTTPSHandler()]


def public_url(url: str) -> str:
    """The URL without user name, password, query string or fragment: safe to print and to store."""
    url = url.strip()
    try:
        p = urllib.parse.urlsplit(url)
        host = p.netloc.rpartition("@")[2]
        return urllib.parse.urlunsplit((p.scheme, host, p.path, "", ""))
    except ValueError:
        # Unparseable: drop whatever could be a secret (userinfo, query, fragment) by hand.
        scheme, sep, rest = url.partition("://")
        rest = rest.split("?", 1)[0].split("#", 1)[0]
        auth, at, after = rest.partition("/")[0].rpartition("@")
        if at:
            rest = rest[len(auth) + 1:]
        return scheme + sep + rest


def check_url(url: str) -> urllib.parse.SplitResult:
    """The parsed server URL if it is a usable http(s) URL with a host; PrelabelError (one sentence) otherwise."""
    shown = public_url(url)
    example = "give one such as http://127.0.0.1:8080"
    try:
        parsed = urllib.parse.urlsplit(url.strip())
        host, _ = parsed.hostname, parsed.port  # both raise ValueError on a malformed host or port
    except ValueError as exc:
        raise PrelabelError(f"The server URL {shown!r} is not a valid URL ({exc}); {example}.") from None
    if parsed.scheme not in ("http", "https"):
        raise PrelabelError(f"The server URL {shown!r} is not an http:// or https:// URL; {example}.")
    if not host:
        raise PrelabelError(f"The server URL {shown!r} has no host name; {example}.")
    return parsed


class OpenAIBackend:
    """A llama.cpp / vLLM / Ollama server's OpenAI-compatible API; connects only to the given URL."""

    kind = "openai"

    def __init__(
        self,
        url: str,
        model: str | None = None,
        api_key: str | None = None,
        timeout: float = 120.0,
        *,
        api: str = "chat",
        embedding_model: str | None = None,
        max_post_chars: int = 6000,
        concurrency: int = 8,
        retries: int = 5,
        backoff: float = 1.0,
    ) -> None:
        parsed = check_url(url)
        self.concurrency = check_concurrency(concurrency)
        self.retries = max(0, retries)  # after the first try; then the run stops with one sentence
        self.backoff = backoff  # the first pause without Retry-After; it doubles each time, up to MAX_WAIT
        self._sockets = _Sockets()
        self._cancelled = self._sockets.cancelled
        if api not in ("chat", "completions"):
            raise PrelabelError(f"Unknown API {api!r}: use 'chat' or 'completions'.")
        path = parsed.path.rstrip("/")
        path = path if path.endswith("/v1") else path + "/v1"
        netloc = parsed.netloc.rpartition("@")[2]
        # What is shown, stored and hashed carries no user name, password or query string (they may be secrets);
        # only the requests themselves use them.
        self.base = urllib.parse.urlunsplit((parsed.scheme, netloc, path, "", ""))
        self._query = f"?{parsed.query}" if parsed.query else ""
        self._basic: str | None = None
        if parsed.username is not None:
            user = urllib.parse.unquote(parsed.username)
            password = urllib.parse.unquote(parsed.password or "")
            self._basic = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        self.model = model
        self.api = api
        self.api_key = api_key
        self.timeout = timeout
        self.embedding_model = embedding_model or model
        self.max_post_chars = max_post_chars
        self.model_name = f"{model or 'default model'} at {self.base}"
        self.model_hash = hashlib.sha256(f"openai\x00{self.base}\x00{model or ''}\x00{api}".encode()).hexdigest()[:32]
        embed_key = f"openai-embed\x00{self.base}\x00{self.embedding_model or ''}"
        self.embed_hash = hashlib.sha256(embed_key.encode()).hexdigest()[:32]
        # No proxies from the environment and no redirects: the only host ever contacted is this one.
        # Each connection's socket is noted, so cancel() can end the requests in flight.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect(),
                                                   *_handlers(self._sockets))

    @property
    def loaded(self) -> bool:
        """A server backend holds no model in this process."""
        return False

    def load(self, embeddings: bool = True) -> None:
        """Nothing to load: the server holds the model."""

    def cancel(self) -> None:
        """End every request in flight or pausing before a retry, and send no more (Ctrl-C, or a failed run)."""
        self._sockets.cancel()

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        """One request, asked again while the server answers 429/503, at most `retries` more times."""
        url = self.base + path  # as shown in messages: without credentials or query string
        for attempt in range(self.retries + 1):
            if self._cancelled.is_set():
                raise PrelabelError(f"Stopped before asking the server at {url}.")
            answer = self._post_once(url, body)
            if not isinstance(answer, _Busy):
                return answer
            if attempt == self.retries:
                break
            wait = answer.wait if answer.wait is not None else min(self.backoff * 2 ** attempt, MAX_WAIT)
            if self._cancelled.wait(wait):
                raise PrelabelError(f"Stopped while waiting for the busy server at {url}.")
        tries = self.retries + 1
        said = f" ({answer.detail})" if answer.detail else ""
        raise PrelabelError(
            f"The server at {url} answered HTTP {answer.code} ({BUSY[answer.code]}) {tries} "
            f"time{'s' if tries != 1 else ''} in a row{said}; lower --concurrency or try again later."
        )

    def _post_once(self, url: str, body: dict[str, Any]) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        elif self._basic:
            headers["Authorization"] = f"Basic {self._basic}"
        req = urllib.request.Request(url + self._query, data=json.dumps(body).encode(), headers=headers, method="POST")
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                raw = resp.read(16 * 1024 * 1024)
        except urllib.error.HTTPError as exc:
            detail = exc.read(300).decode("utf-8", "replace").strip().replace("\n", " ")
            shown = f": {detail}" if detail else ""
            if exc.code in BUSY:
                wait = retry_after(exc.headers.get("Retry-After") if exc.headers else None)
                return _Busy(exc.code, detail.rstrip("."), wait)
            raise PrelabelError(f"The server at {url} answered HTTP {exc.code}{shown}.") from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, ConnectionRefusedError):
                why = "connection refused"
            elif isinstance(reason, (socket.timeout, TimeoutError)):
                why = f"no answer within {self.timeout:g} s"
            elif isinstance(reason, socket.gaierror):
                why = "unknown host"
            else:
                why = str(getattr(reason, "strerror", None) or reason)
            raise PrelabelError(f"could not reach {url}: {why}") from None
        except (TimeoutError, socket.timeout):
            raise PrelabelError(f"could not reach {url}: no answer within {self.timeout:g} s") from None
        except (ConnectionError, OSError) as exc:
            raise PrelabelError(f"could not reach {url}: {exc}") from None
        try:
            return json.loads(raw)
        except ValueError:
            raise PrelabelError(f"The server at {url} did not answer with JSON (got {raw[:80]!r}).") from None

    def _cut(self, post: str) -> str:
        post = post.strip()
        cut = truncate_middle(len(post), self.max_post_chars, len(ELLIPSIS))
        return post if cut is None else post[: cut[0]].rstrip() + ELLIPSIS + post[-cut[1]:].lstrip()

    def probability(self, template: str, post: str) -> float:
        """P(the answer is "1") from the server's log-probabilities of its first answer token."""
        before, after = split_template(template)
        prompt = before + self._cut(post) + after
        body: dict[str, Any] = {"max_tokens": 1, "temperature": 0}
        if self.model:
            body["model"] = self.model
        if self.api == "chat":
            body.update(messages=[{"role": "user", "content": prompt}], logprobs=True, top_logprobs=20)
            path = "/chat/completions"
        else:
            if prompt and not prompt[-1].isspace():
                prompt += " "
            body.update(prompt=prompt, logprobs=20)
            path = "/completions"
        answer = self._post(path, body)
        top = _top_logprobs(answer)
        if top is None:
            raise PrelabelError(
                f"The server at {self.base}{path} sent no log-probabilities; it must support "
                "'logprobs' (llama.cpp server, vLLM and Ollama ≥ 0.12 do)."
            )
        best: dict[str, float] = {}
        for token, logprob in top:
            label = token.replace("▁", " ").replace("Ġ", " ").strip()
            if label in LABELS:
                best[label] = max(best.get(label, -math.inf), logprob)
        if not best:
            shown = ", ".join(repr(t) for t, _ in top[:5])
            raise PrelabelError(
                f"The model at {self.base} did not rank '0' or '1' among its likeliest first tokens (it "
                f"preferred {shown}); check the model name and the screening prompt."
            )
        floor = min(lp for _, lp in top)  # a label missing from the list is at most this likely
        return label_probability(best.get("0", floor), best.get("1", floor))

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embeddings from the server's /v1/embeddings endpoint."""
        body: dict[str, Any] = {"input": [self._cut(t) or "(empty)" for t in texts]}
        if self.embedding_model:
            body["model"] = self.embedding_model
        answer = self._post("/embeddings", body)
        try:
            rows = sorted(answer["data"], key=lambda d: d.get("index", 0))
            out = np.asarray([r["embedding"] for r in rows], dtype=np.float32)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise PrelabelError(f"The server at {self.base}/embeddings sent an answer without embeddings.") from None
        if out.ndim != 2 or len(out) != len(texts):
            raise PrelabelError(
                f"The server at {self.base}/embeddings sent {len(out)} embeddings for {len(texts)} texts."
            )
        return out

    def close(self) -> None:
        """Nothing to free."""


class _Busy:
    """A 429/503 answer: its status, what the server said, and how long it asked us to wait."""

    def __init__(self, code: int, detail: str, wait: float | None) -> None:
        self.code, self.detail, self.wait = code, detail, wait


def _top_logprobs(answer: Any) -> list[tuple[str, float]] | None:
    """The first position's top (token, logprob) pairs from a chat or completion answer, in any known shape."""
    try:
        lp = answer["choices"][0]["logprobs"]
    except (KeyError, IndexError, TypeError):
        return None
    if not isinstance(lp, dict):
        return None
    try:
        if isinstance(lp.get("content"), list) and lp["content"]:
            # OpenAI chat shape (and llama.cpp server's completions): content[0].top_logprobs = [{token, logprob}]
            first = lp["content"][0]
            items = first.get("top_logprobs") or [first]
            return [(str(i["token"]), float(i["logprob"])) for i in items]
        if isinstance(lp.get("top_logprobs"), list) and lp["top_logprobs"]:
            # Legacy completions shape (vLLM): top_logprobs[0] = {token: logprob}
            first = lp["top_logprobs"][0]
            return [(str(t), float(v)) for t, v in first.items()]
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    return None
