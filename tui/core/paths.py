"""Where qualtui finds its files: the project database, the codebook, the sample corpus, the config."""

from __future__ import annotations

import os
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"


def bundled_codebook() -> Path:
    """The study codebook shipped with qualtui."""
    return DATA / "codebook.yaml"


def skeleton_codebook() -> Path:
    """The skeleton for open coding shipped beside the study codebook: categories only, no codes yet."""
    return DATA / "skeleton.yaml"


def sample_corpus() -> Path:
    """The synthetic sample corpus shipped with qualtui."""
    return DATA / "sample_xhs.json"


def default_codebook() -> Path:
    """`$QUALTUI_CODEBOOK`, else ./codebook.yaml, else the bundled study codebook."""
    env = os.environ.get("QUALTUI_CODEBOOK")
    if env:
        return Path(env)
    local = Path("codebook.yaml")
    return local if local.exists() else bundled_codebook()


def config_file() -> Path:
    """The coder's own settings file (keymap, well-being preferences)."""
    env = os.environ.get("QUALTUI_CONFIG")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "qualtui" / "config.yaml"
