"""Bindings as the house style wants them: every one with an id (remappable) and a tooltip."""

from __future__ import annotations

from textual.binding import Binding


def B(key: str, action: str, description: str, binding_id: str, tooltip: str, show: bool = True) -> Binding:
    """A binding with an id (remappable from the config file) and a tooltip."""
    return Binding(key, action, description, show=show, id=binding_id, tooltip=tooltip)
