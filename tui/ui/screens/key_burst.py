"""Keys typed in one burst with a key that opens a screen (a form, axial coding) reach that screen, in order.

Textual hands each key to the widget focused when the key is read, and checks a key's bindings only
after it has bubbled up to the app. A screen opened at once by a key would therefore have the keys
typed before it checked against itself (a `q` typed just before `n` would be lost), and the keys
typed after it, already on their way to the screen below, would act there (`s` would skip the post).
So the opening waits its turn behind the keys before it, the keys after it wait for it, and all of
them are then handed to the app again in the order they were typed.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from textual import events
from textual.screen import Screen

__all__ = ["hold_burst", "open_in_turn", "pass_on"]

_HELD: weakref.WeakKeyDictionary[Screen[Any], list[tuple[str, str | None]]] = weakref.WeakKeyDictionary()
"""Per screen: the keys typed after a key that is about to open a screen."""


def _again(screen: Screen[Any], keys: list[tuple[str, str | None]]) -> None:
    """Hand keys to the app as if just typed: it gives each to the widget focused when it reads it."""
    for key, char in keys:
        screen.app.post_message(events.Key(key, char))


def hold_burst(screen: Screen[Any], event: events.Key) -> bool:
    """While a screen is about to open (`open_in_turn`), the keys typed after its key wait for it."""
    held = _HELD.get(screen)
    if held is None:
        return False
    event.stop()
    event.prevent_default()
    held.append((event.key, event.character))
    return True


def open_in_turn(screen: Screen[Any], opener: Callable[[], None]) -> None:
    """Open a screen once the keys typed before its key have done their work; then the keys after it."""
    _HELD[screen] = []

    def flush() -> None:
        _again(screen, _HELD.pop(screen, []))

    def run() -> None:
        if getattr(screen.app, "quitting", False) or screen.app.screen is not screen:
            _HELD.pop(screen, None)  # quit, or a screen opened by an earlier key: nothing opens now
            return
        opener()
        top = screen.app.screen
        if top is screen:
            flush()  # nothing pushed (the coding screen's inline code form): its field has the focus already
        else:
            top.call_after_refresh(flush)  # drawn: its fields are there and one has the focus

    screen.app.call_later(run)


def pass_on(screen: Screen[Any], event: events.Key) -> bool:
    """A key that reached this screen after it opened another one (typed in the same burst) goes there."""
    top = screen.app.screen
    if top is screen or not getattr(top, "TAKES_BURST", False):
        return False
    event.stop()
    event.prevent_default()
    _again(screen, [(event.key, event.character)])
    return True
