"""The coder's key remapping checked against every screen's bindings before an app opens.

Textual applies a keymap silently: an unknown binding id is ignored, and of two bindings given the
same key only one still works. Both are refused here, in one sentence, so `qualtui code` stops before
the app opens.
"""

from __future__ import annotations

from typing import Any

from textual.app import App
from textual.keys import _character_to_key
from textual.screen import Screen

from tui.core.config import Config, check_keys


def _apps() -> dict[type[App[Any]], tuple[type[Screen[Any]], ...]]:
    """Each app and the screens it shows (a screen's keys and its app's keys share one key space)."""
    from tui.ui.app import QualtuiApp
    from tui.ui.reconcile_app import ReconcileApp
    from tui.ui.screens.axial import AxialScreen
    from tui.ui.screens.break_screen import BreakScreen
    from tui.ui.screens.code_form import CodeForm
    from tui.ui.screens.coding import CodingScreen
    from tui.ui.screens.help import HelpScreen
    from tui.ui.screens.memo import MemoScreen
    from tui.ui.screens.reconcile import ReconcileScreen
    from tui.ui.screens.reconcile_codebook import CodebookDiffScreen
    from tui.ui.screens.reconcile_dialogs import DecisionTypeScreen, ReconciledSetScreen, ReconcileHelpScreen
    from tui.ui.screens.report import ReportScreen
    from tui.ui.screens.search import SearchScreen
    from tui.ui.screens.wellbeing import ConfirmScreen, WellbeingScreen

    shared = (BreakScreen, ConfirmScreen, WellbeingScreen)
    return {
        QualtuiApp: (CodingScreen, HelpScreen, MemoScreen, SearchScreen, ReportScreen, AxialScreen, CodeForm,
                     *shared),
        ReconcileApp: (ReconcileScreen, CodebookDiffScreen, DecisionTypeScreen, ReconciledSetScreen,
                       ReconcileHelpScreen, *shared),
    }


def screens() -> list[type[Screen[Any]]]:
    """Every screen whose bindings the config file may remap."""
    return list(dict.fromkeys(s for group in _apps().values() for s in group))


def _bindings(cls: type) -> tuple[dict[str, str], dict[str, str]]:
    """(id -> keys, built-in action -> keys) for one class, its bases' bindings included."""
    ids: dict[str, list[str]] = {}
    fixed: dict[str, list[str]] = {}
    for key, bindings in cls._merge_bindings().key_to_bindings.items():  # type: ignore[attr-defined]
        for b in bindings:
            if b.id:
                ids.setdefault(b.id, []).append(key)
            else:
                fixed.setdefault(f"{b.action} (built in)", []).append(key)
    return ({k: ",".join(v) for k, v in ids.items()}, {k: ",".join(v) for k, v in fixed.items()})


def binding_scopes() -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    """For each (app, screen): the remappable bindings and the built-in ones, id or action -> keys."""
    scopes: dict[str, dict[str, str]] = {}
    fixed: dict[str, dict[str, str]] = {}
    for app, group in _apps().items():
        app_ids, app_fixed = _bindings(app)
        for screen in group:
            ids, built_in = _bindings(screen)
            name = f"{app.__name__}/{screen.__name__}"
            scopes[name] = {**app_ids, **ids}
            fixed[name] = {**app_fixed, **built_in}
    return scopes, fixed


def normalize_key(key: str) -> str:
    """A key as written in the config ("?", " n") as the app matches it ("question_mark", "n")."""
    key = key.strip()
    return _character_to_key(key) if len(key) == 1 else key


def check_keymap(config: Config) -> None:
    """Refuse unknown binding ids and keys bound twice; write the keys the way the app matches them."""
    if not config.keys:
        return
    scopes, fixed = binding_scopes()
    check_keys(config.keys, scopes, config.path or "the config file", normalize=normalize_key, fixed=fixed)
    config.keys = {bid: ",".join(normalize_key(k) for k in spec.split(",") if k.strip())
                   for bid, spec in config.keys.items()}
