"""Fixtures of the pre-labelling tests: the small real model (loaded once per module) and the mini codebook."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.core.prelabel.helpers import MINI, MODEL, THREADS
from tui.core.codebook.loading import load_codebook
from tui.core.prelabel.backends.llama import LlamaBackend


@pytest.fixture(scope="module")
def backend() -> Iterator[LlamaBackend]:
    """The small model with one thread, or a skip where none is installed."""
    if MODEL is None:
        pytest.skip("no small GGUF model installed")
    b = LlamaBackend(MODEL, n_ctx=1024, n_threads=THREADS)
    yield b
    b.close()


@pytest.fixture(scope="module")
def codebook() -> Any:
    """The mini codebook the pre-labelling tests share."""
    return load_codebook(MINI)
