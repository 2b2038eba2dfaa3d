"""The relevance scores a scorecard may grade: never the learned screen's fit on the decisions it learned from.

Once learning has run, the stored suggestion of a post the coders decided is the learned model's
prediction for a post it was fitted on: graded against that same decision it looks better than it
is (0.92 in-sample where the same model scored 0.86 on posts it had not seen). Those posts are
graded by out-of-fold predictions instead: the decisions are split into folds and each fold is
predicted by a model fitted on the others, as `prelabel eval --source learned` does. Posts whose
suggestion is the model's own score keep it: the model learned nothing from the coders.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from tui.core.prelabel.dataset import Dataset
from tui.core.project.store import Store

__all__ = ["Graded", "graded_relevance", "learned_basis"]


@dataclass
class Graded:
    """Scores to grade (post id -> P(relevant)) and, for the card, where they came from."""

    scores: dict[int, float] = field(default_factory=dict)
    n_model: int = 0  # decided posts graded on the model's own score
    n_oof: int = 0  # decided posts graded on the learned screen's out-of-fold prediction
    n_left_out: int = 0  # decided posts with a learned suggestion but no out-of-fold prediction
    folds: int = 0

    def basis(self) -> str:
        """One sentence for the card: which scores were graded, on how many decisions."""
        parts = []
        if self.n_oof:
            parts.append(learned_basis(self.folds, self.n_oof))
        if self.n_model:
            parts.append(f"the model's own scores on {self.n_model} decision{'s' if self.n_model != 1 else ''}")
        if self.n_left_out:
            parts.append(f"{self.n_left_out} decision{'s' if self.n_left_out != 1 else ''} the learned screen was "
                         "fitted on left out (too few decisions for out-of-fold predictions)")
        text = "; ".join(parts) or "no scores to grade"
        return text[0].upper() + text[1:] + "."


def learned_basis(folds: int, n: int) -> str:
    """How the learned screen is graded, in the words the card uses."""
    return f"learned screen: {folds}-fold out-of-fold predictions on the {n} decisions it learned from"


def out_of_fold(proj: Dataset, folds: int = 5, seed: int = 0, at: float | None = None) -> tuple[dict[int, float], int]:
    """post id -> the learned screen's out-of-fold P(relevant) for every decided post, and the folds used."""
    idx, y = proj.relevance_set()
    n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
    if min(n_pos, n_neg) < 2:
        return {}, 0
    k = min(folds, n_pos, n_neg)
    oof = proj.oof_relevance(idx, y, k, seed, at=at)
    return {proj.ids[int(i)]: float(p) for i, p in zip(idx, oof, strict=False)}, k


def graded_relevance(store: Store, codebook: Any, decided: Collection[int], *, folds: int = 5,
                     seed: int = 0) -> Graded:
    """The stored relevance suggestions, with the learned screen's own fit replaced on posts in `decided`."""
    rows: list[tuple[int, float, str]] = store.db.conn.execute(
        "SELECT post_id, score, source FROM suggestions WHERE kind = 'relevance'").fetchall()
    out = Graded()
    learned = []
    for pid, score, source in rows:
        if source == "learned" and pid in decided:
            learned.append(pid)
        else:
            out.scores[pid] = score
            out.n_model += pid in decided
    if learned:
        # The labels the learned screen is fitted on by default: consensus, else the coders' majority.
        oof, out.folds = out_of_fold(Dataset(store, codebook, None), folds, seed)
        for pid in learned:
            if pid in oof:
                out.scores[pid] = oof[pid]
                out.n_oof += 1
            else:
                out.n_left_out += 1
    return out
