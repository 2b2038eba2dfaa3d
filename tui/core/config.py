"""The coder's own settings file: default coder, key remapping, suggestions, masking, well-being."""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tui.core.files import MAX_CONFIG_BYTES, FileRefused, read_text
from tui.core.safe import clean

KNOWN = {"coder", "keys", "show_suggestions", "masking", "wellbeing", "mode", "model", "llm_url", "auto_prelabel",
         "relearn_every"}


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
    auto_prelabel: bool = True  # the app pre-labels a project without pre-labels by itself
    relearn_every: int = 20  # new decisions after which the app learns from the coders again (0: never)
    path: Path | None = None


def load_config(path: Path) -> Config:
    """Read and check the settings file; a missing file means defaults."""
    if not os.path.lexists(path):
        return Config(path=path)
    try:
        # A regular file within MAX_CONFIG_BYTES: a FIFO or /dev/zero named here never blocks the app.
        raw = read_text(path, what="config file", max_bytes=MAX_CONFIG_BYTES)
    except FileRefused as exc:
        raise ConfigError(str(exc)) from None
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        first = (str(exc).strip().splitlines() or ["unreadable"])[0]
        raise ConfigError(f"{path}: not valid YAML ({first}).") from None
    except (ValueError, RecursionError, OverflowError) as exc:
        # PyYAML lets an impossible date (2026-02-30) or very deep nesting escape as a plain error.
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc).splitlines()[0]
        raise ConfigError(f"{path}: not valid YAML ({reason}).") from None
    if data is None:
        return Config(path=path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level.")
    # YAML keys may be numbers, dates or null: compare and sort them as text.
    unknown = sorted(repr(k) for k in data if k not in KNOWN)
    if unknown:
        raise ConfigError(f"{path}: unknown setting {unknown[0]} (known: {', '.join(sorted(KNOWN))}).")
    cfg = Config(path=path)
    if "coder" in data:
        if not isinstance(data["coder"], str) or not data["coder"].strip():
            raise ConfigError(f"{path}: 'coder' must be a name.")
        cfg.coder = data["coder"]
    keys = data.get("keys") or {}
    if not isinstance(keys, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in keys.items()):
        raise ConfigError(f"{path}: 'keys' must map binding ids to keys, e.g. undo: \"u,ctrl+z\".")
    cfg.keys = dict(keys)
    for name in ("show_suggestions", "masking", "auto_prelabel"):
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
    if "relearn_every" in data:
        every = data["relearn_every"]
        if isinstance(every, bool) or not isinstance(every, int) or not 0 <= every <= 1_000_000:
            raise ConfigError(f"{path}: 'relearn_every' must be a whole number of decisions (0 turns it off).")
        cfg.relearn_every = every
    wb = data.get("wellbeing") or {}
    if not isinstance(wb, dict):
        raise ConfigError(f"{path}: 'wellbeing' must be a mapping of settings.")
    from tui.core.wellbeing.settings import SettingsError, settings_from_dict

    try:
        settings_from_dict(wb)  # every field, and the whole (a cap shorter than a break interval...)
    except SettingsError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    cfg.wellbeing = wb
    return cfg


def check_keys(keys: Mapping[str, str], scopes: Mapping[str, Mapping[str, str]], path: Path | str,
               normalize: Callable[[str], str] = str.strip,
               fixed: Mapping[str, Mapping[str, str]] | None = None) -> None:
    """Refuse a remapped binding id that no screen has, or one key given to two bindings of one screen.

    `scopes` maps each screen to its bindings (id -> default keys, comma-separated); `fixed` to the
    bindings that cannot be remapped (name -> keys); `normalize` turns a key as written ("?") into
    the name the app matches ("question_mark").
    """
    known = sorted({bid for scope in scopes.values() for bid in scope})
    for bid, spec in keys.items():
        if bid not in known:
            close = difflib.get_close_matches(bid, known, n=1, cutoff=0.0)
            hint = f"; the closest binding id is {close[0]!r}" if close else ""
            raise ConfigError(f"{path}: unknown key binding {bid!r} under 'keys'{hint}.")
        if not [k for k in spec.split(",") if k.strip()]:
            raise ConfigError(f"{path}: the binding {bid!r} under 'keys' has no key.")
    for scope, defaults in scopes.items():
        # The coder's bindings first, in file order, so a clash names them as written.
        entries = [(bid, keys[bid], "mine") for bid in keys if bid in defaults]
        entries += [(bid, spec, "default") for bid, spec in defaults.items() if bid not in keys]
        entries += [(name, spec, "fixed") for name, spec in (fixed or {}).get(scope, {}).items()]
        owner: dict[str, tuple[str, str, str]] = {}
        for bid, spec, origin in entries:
            for raw in spec.split(","):
                raw = raw.strip()
                if not raw:
                    continue
                first = owner.setdefault(normalize(raw), (bid, origin, raw))
                if first[0] == bid or "mine" not in (origin, first[1]):
                    continue  # the same binding twice, or two of the app's own: not the coder's doing
                tail = " (its default key)" if origin == "default" else ""
                shown = clean(first[2], oneline=True)
                raise ConfigError(f"Key {shown} is bound twice in {path}: {first[0]} and {bid}{tail}.")
