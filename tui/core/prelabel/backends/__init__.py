"""Language-model backends for pre-labelling: a local GGUF model in this process, or an OpenAI-compatible server.

Both answer the same two questions: "what is P(the next token is "1" rather than "0") after this
prompt?" and "what is the embedding of this text?". Neither parses generated text.
`llama` holds the in-process llama-cpp-python backend (with `gguf` for model files and `threads` for
how many cores it uses), `server` the client of an OpenAI-compatible server.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

__all__ = ["LABELS", "Backend", "label_probability"]

LABELS = ("0", "1")
"""The two answers a prompt asks for: irrelevant / relevant, or code does not / does apply."""


class Backend(Protocol):
    """What the pre-labeller needs from a model; constructing one must not load the model."""

    kind: str
    model_name: str
    model_hash: str
    embed_hash: str

    @property
    def loaded(self) -> bool:
        """True once a model has been loaded into this process."""
        ...

    def probability(self, template: str, post: str) -> float:
        """P(the answer is "1") for the post put into the template's slot."""
        ...

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """One vector per text."""
        ...

    def close(self) -> None:
        """Free whatever the backend holds."""
        ...


def label_probability(zero: float, one: float) -> float:
    """Softmax over the two label logits (or log-probabilities): P("1")."""
    d = zero - one
    if d > 0:
        e = math.exp(-d)
        return e / (1.0 + e)
    return 1.0 / (1.0 + math.exp(d))
