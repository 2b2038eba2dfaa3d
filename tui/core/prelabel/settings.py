"""What the last pre-labelling run used, kept in the project so learning and the scorecard read the same cache."""

from __future__ import annotations

from tui.core.project.store import Store

__all__ = ["CODE_METHODS", "KEYS", "TARGET_FNR", "TOP_K", "last_settings", "remember_settings"]

CODE_METHODS = ("embed", "yesno")
TARGET_FNR = 0.088  # the learned screen's default target false-negative rate: the study's screen (3 of 34)
TOP_K = 5  # code suggestions kept per post and level (codes, sub-codes)
KEYS = ("model_hash", "prompt_hash", "embed_hash", "code_method", "threshold", "top_k")


def remember_settings(store: Store, *, model_hash: str, prompt_hash: str, embed_hash: str, code_method: str,
                      threshold: float, top_k: int) -> None:
    """Record what a run used (model, prompt, embeddings, code method, threshold, top-k) in the caller's transaction."""
    values = (model_hash, prompt_hash, embed_hash, code_method, repr(threshold), str(top_k))
    for key, value in zip(KEYS, values, strict=True):
        store.set_meta(f"prelabel.{key}", value)


def last_settings(store: Store) -> dict[str, str]:
    """The last run's settings by key ('' where no run has recorded one)."""
    return {k: store.meta(f"prelabel.{k}") or "" for k in KEYS}
