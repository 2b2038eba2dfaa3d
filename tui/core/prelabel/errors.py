"""The one exception pre-labelling raises for problems a user can act on."""

from __future__ import annotations

__all__ = ["PrelabelError"]


class PrelabelError(Exception):
    """A pre-labelling problem a user can act on; the message is one plain sentence."""
