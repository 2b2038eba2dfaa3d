"""Changing the codebook's `assistance:` section (the blind arm's share and seed) in the YAML text itself.

Only that section's lines change: every other line, comments included, stays as it was. The result
is validated like any codebook before a caller writes it.
"""

from __future__ import annotations

import json
import re

from tui.core.codebook.loading import parse_codebook
from tui.core.codebook.model import Codebook

__all__ = ["with_assistance"]

_TOP = re.compile(r"assistance\s*:")


def _block(lines: list[str]) -> tuple[int, int] | None:
    """Where the top-level `assistance:` section is: (first line, line after it), or None."""
    for i, line in enumerate(lines):
        if _TOP.match(line):
            end = i + 1
            # The section goes on while lines are indented (or blank and followed by indented ones).
            while end < len(lines) and (lines[end][:1] in (" ", "\t") or not lines[end].strip()):
                end += 1
            while end > i + 1 and not lines[end - 1].strip():
                end -= 1
            return i, end
    return None


def with_assistance(text: str, source: str, *, share: float | None = None,
                    seed: str | None = None) -> tuple[str, Codebook]:
    """The codebook text with its blind share and/or seed set, and the codebook it now is.

    Raises CodebookError (file:line sentences) if the text, before or after, is not a valid codebook.
    """
    current = parse_codebook(text, source).assistance
    explicit_share = share if share is not None else current.blind_share
    explicit_seed = seed if seed is not None else current.seed
    section = ["assistance:", f"  blind_share: {explicit_share:g}"]
    if explicit_seed:
        section.append(f"  seed: {json.dumps(explicit_seed, ensure_ascii=False)}")  # a JSON string is YAML too
    lines = text.splitlines()
    found = _block(lines)
    if found is None:
        while lines and not lines[-1].strip():
            lines.pop()
        lines += [""] + section
    else:
        lines[found[0]:found[1]] = section
    new = "\n".join(lines) + "\n"
    return new, parse_codebook(new, source)
