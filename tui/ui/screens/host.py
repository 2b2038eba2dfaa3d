"""What the coding screen needs from the app that hosts it, as a typed protocol (no import of the app)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from tui.core.wellbeing.state import Status


class CodingHost(Protocol):
    """The well-being, masking and queue services the coding screen asks the app for.

    The screen reads through this protocol and tells the app what it shows by posting messages
    (`CodingScreen.PostShown`, `CodingScreen.PostHidden`); it never calls into the app's private names.
    """

    masking: bool
    revealed: int | None
    prelabel_status: str

    def clock(self) -> float:
        """The current time (injected, so tests run breaks in milliseconds)."""
        ...

    def wellbeing_tick(self) -> Status:
        """The well-being state right now."""
        ...

    def reading_seconds_today(self) -> float:
        """Time spent reading post text today."""
        ...

    def masking_required(self) -> bool:
        """True when the coder's settings or the team require masking (the coder cannot turn it off)."""
        ...

    def mask_spans(self, post: dict[str, Any]) -> list[tuple[int, int]]:
        """Spans of graphic terms to mask in this post."""
        ...

    def masker(self, post_id: Any = None) -> Callable[[str], str]:
        """A function that masks graphic terms in text from this post."""
        ...

    def severity_label(self, post: dict[str, Any]) -> str | None:
        """A short header label for severe posts."""
        ...

    def severe_blocked(self, post: dict[str, Any]) -> bool:
        """True when today's limit on severe posts is reached and this post is severe."""
        ...

    def milder_first(self) -> None:
        """Before moving on: serve a milder post next after several severe ones."""
        ...

    def take_break(self) -> None:
        """Ask, then start a short break of the coder's own."""
        ...
