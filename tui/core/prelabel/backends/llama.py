"""A local GGUF model in this process through llama-cpp-python: next-token answers and last-token embeddings."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tui.core.prelabel.backends import LABELS, label_probability, threads
from tui.core.prelabel.backends.gguf import check_gguf, model_file_hash
from tui.core.prelabel.errors import PrelabelError
from tui.core.prelabel.prompts import ELLIPSIS, split_template, truncate_middle

__all__ = ["EMBED_CTX", "EMBED_PROMPT", "LlamaBackend"]

EMBED_CTX = 512
EMBED_PROMPT = ('This post: "', '" means in one word:"')


def _quiet_load(path: Path, kwargs: dict[str, Any]) -> Any:
    """Load a Llama with llama.cpp's load-time chatter on stdout/stderr silenced (Textual draws there)."""
    import llama_cpp
    from llama_cpp._utils import suppress_stdout_stderr

    with suppress_stdout_stderr(disable=False):
        return llama_cpp.Llama(str(path), **kwargs)


def _context(llm: Any) -> int:
    """Usable context: llama.cpp may round n_ctx up, but the Python token buffer keeps the requested size."""
    return min(int(llm.n_ctx()), len(llm.input_ids))


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
        recipe = (f"eol-last-token:{EMBED_PROMPT[0]}|{EMBED_PROMPT[1]}|{EMBED_CTX}"
                  f":{model_file_hash(self.embedding_path)}")
        self.embed_hash = hashlib.sha256(recipe.encode()).hexdigest()[:32]
        self.n_ctx = n_ctx
        # None: chosen from the free cores when the model loads, and looked at again during a run.
        self.auto_threads = n_threads is None
        self.reserve_cores = reserve_cores
        self.n_threads: int | None = n_threads
        self.n_threads_batch: int | None = n_threads_batch or n_threads
        self._meter: threads.CoreMeter | None = None
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
            self.n_threads = self.n_threads_batch = threads.free_threads(threads.busy_cores(), self.reserve_cores)
            self._meter, self._checked = threads.CoreMeter(), time.monotonic()
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
        if not self.auto_threads or self._meter is None or time.monotonic() - self._checked < threads.RECHECK_SECONDS:
            return
        import llama_cpp

        self._checked = time.monotonic()
        others = self._meter.others()  # this process's own (spinning) threads are not counted
        if others is None:
            return
        n = threads.free_threads(others, self.reserve_cores)
        if n != self.n_threads:
            self.n_threads = self.n_threads_batch = n
            for llm in (self._llm, self._emb):
                if llm is not None:
                    llama_cpp.llama_set_n_threads(llm.ctx, n, n)

    def _tok(self, llm: Any, text: str, special: bool) -> list[int]:
        # A lone surrogate (a broken emoji in crawled text) becomes "?" rather than invalid UTF-8.
        tokens: list[int] = llm.tokenize(text.encode("utf-8", "replace"), add_bos=False, special=special)
        return tokens

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
                prefix = self._with_bos(llm, self._tok(llm, prep.before, True))
                tokens = prefix + plain + self._tok(llm, prep.after, True)
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
            return label_probability(float(logits[prep.zero]), float(logits[prep.one]))

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
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
