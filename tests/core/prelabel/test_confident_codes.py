"""Code suggestions that mean nothing must not act: only confident ones set a post's exposure weight."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tests.core.prelabel.helpers import add_posts
from tui.core.codebook.loading import load_codebook
from tui.core.coding.session import likely_codes
from tui.core.prelabel.prompts import code_text
from tui.core.prelabel.run import run_prelabel
from tui.core.prelabel.suggestions import LEARNED_FLOOR, YESNO_FLOOR, confident_codes
from tui.core.project.store import Store
from tui.core.wellbeing.masking import severity_label
from tui.core.wellbeing.state import post_weight

CODEBOOK = Path(__file__).parents[3] / "codebook.yaml"
ADVERT = "Ink cartridges for all printers, 40% off this week only! Free delivery on orders over $30."


class Undiscerning:
    """A weak zero-shot model: calls everything relevant, and embeds every post like the severest code."""

    kind, model_name, model_hash, embed_hash = "fake", "undiscerning", "u" * 32, "v" * 32
    loaded = False

    def __init__(self, codebook: Any) -> None:
        self.severest = max((c for c in codebook.codes() if c.level in (2, 3)), key=lambda c: c.severity)
        self.target = code_text(codebook, self.severest)

    def probability(self, template: str, post: str) -> float:
        return 0.97

    def embed(self, texts: Any) -> np.ndarray:
        def vec(t: str) -> np.ndarray:
            return np.random.default_rng(sum(map(ord, t))).normal(size=16)

        return np.array([vec(self.target if t == ADVERT else t) for t in texts], dtype=np.float32)

    def close(self) -> None:
        pass


def test_an_off_topic_post_is_not_made_severe_by_a_zero_shot_code(tmp_path: Path) -> None:
    cb = load_codebook(CODEBOOK)
    store = Store(tmp_path / "p.db")
    (pid,) = add_posts(store, [ADVERT])
    backend = Undiscerning(cb)
    run_prelabel(store, cb, backend, learn_from_coders=False)
    top = store.db.conn.execute("SELECT code_id, score, source FROM suggestions WHERE post_id = ? AND kind = 'code'"
                                " ORDER BY score DESC LIMIT 1", (pid,)).fetchone()
    # The zero-shot similarity ranks the severest code first, with a score of 1.0 ...
    assert top[0] == backend.severest.id and top[1] > 0.99 and top[2] == "llm" and cb.severity(top[0]) >= 2.0
    # ... but a similarity is no judgement: the advert keeps the weight of ordinary content and no label.
    codes = likely_codes(store, pid)
    assert codes == []
    weight = post_weight([], codes, cb.severity)
    assert weight == 1.0 and severity_label(weight) is None


def test_confident_codes_floors() -> None:
    rows = [("a", 0.99, "llm"), ("b", LEARNED_FLOOR, "learned"), ("c", LEARNED_FLOOR - 0.01, "learned"),
            ("d", YESNO_FLOOR, "llm"), ("e", YESNO_FLOOR - 0.01, "llm")]
    assert confident_codes(rows, "embed") == ["b"]  # similarities never count, learned ones from the floor
    assert confident_codes(rows, "yesno") == ["b", "a", "d"]  # the model's own yes/no only when clearly yes
    assert confident_codes([], "yesno") == []
