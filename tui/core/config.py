"""The coder's own settings file: default coder, key remapping, suggestions, masking, well-being."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

KNOWN = {"coder", "keys", "show_suggestions", "masking", "wellbeing", "mode", "model", "llm_url"}


class ConfigError(Exception):
    """A settings file that cannot be used; the message names the file and the problem."""


@dataclass
class Config:
    """Settings read from `~/.config/qualtui/config.yaml` (every field optional)."""

    coder: str | None = None
    keys: dict[str, str] = field(default_factory=dict)
    show_suggestions: bool = True
    masking: bool = True
    mode: str = "screening"
    wellbeing: dict[str, Any] = field(default_factory=dict)
    model: str | None = None  # a GGUF file for pre-labels started from the app
    llm_url: str | None = None  # or an OpenAI-compatible server
    path: Path | None = None


def load_config(path: Path) -> Config:
    """Read and check the settings file; a missing file means defaults."""
    if not path.exists():
        return Config(path=path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]}).") from None
    if data is None:
        return Config(path=path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level.")
    unknown = sorted(set(data) - KNOWN)
    if unknown:
        raise ConfigError(f"{path}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(KNOWN))}).")
    cfg = Config(path=path)
    if "coder" in data:
        if not isinstance(data["coder"], str) or not data["coder"].strip():
            raise ConfigError(f"{path}: 'coder' must be a name.")
        cfg.coder = data["coder"]
    keys = data.get("keys") or {}
    if not isinstance(keys, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in keys.items()):
        raise ConfigError(f"{path}: 'keys' must map binding ids to keys, e.g. undo: \"u,ctrl+z\".")
    cfg.keys = dict(keys)
    for name in ("show_suggestions", "masking"):
        if name in data:
            if not isinstance(data[name], bool):
                raise ConfigError(f"{path}: '{name}' must be true or false.")
            setattr(cfg, name, data[name])
    if "mode" in data:
        if data["mode"] not in ("screening", "coding"):
            raise ConfigError(f"{path}: 'mode' must be screening or coding.")
        cfg.mode = data["mode"]
    for name in ("model", "llm_url"):
        if name in data and data[name] is not None:
            if not isinstance(data[name], str) or not data[name].strip():
                raise ConfigError(f"{path}: '{name}' must be a path or URL.")
            setattr(cfg, name, data[name])
    wb = data.get("wellbeing") or {}
    if not isinstance(wb, dict):
        raise ConfigError(f"{path}: 'wellbeing' must be a mapping of settings.")
    from tui.core.wellbeing_settings import SettingsError, settings_from_dict

    try:
        settings_from_dict(wb)  # every field, and the whole (a cap shorter than a break interval...)
    except SettingsError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    cfg.wellbeing = wb
    return cfg
