"""The rules a codebook change must keep: names, definitions, aliases, keys, severities, new ids."""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Iterable
from typing import Any

__all__ = [
    "CATEGORY_KEYS", "CODE_KEYS", "ID_SYNTAX", "PALETTE", "ChangeRefused", "check_key", "clean_aliases",
    "clean_definition", "clean_name", "clean_severity", "new_node_id", "propose_key",
]


class ChangeRefused(Exception):
    """A codebook change that cannot be made; the message is one sentence for the coder."""


RESERVED_KEYS = frozenset("quxz")
"""Letters the code picker keeps for itself: never a code's or sub-code's key."""
CODE_KEYS = "abcdefghijklmnoprstvwy" + "ABCDEFGHIJKLMNOPRSTVWY" + "0123456789"
CATEGORY_KEYS = "123456789"
MAX_NAME = 200
MAX_DEFINITION = 5_000
MAX_ALIASES = 50
PALETTE = ("#c2690a", "#2e7d32", "#1565c0", "#6a1b9a", "#ad1457", "#00838f", "#8d6e63", "#5d4037", "#455a64")
ID_SYNTAX = re.compile(r"[a-z0-9][a-z0-9-]*(?:/[a-z0-9][a-z0-9-]*)*\Z")


def slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name).strip("-")[:40].strip("-")


def new_node_id(name: str) -> str:
    """A new, never-clashing id: the name as a slug plus six random hex digits ("debt-bondage-3f9a2c")."""
    return f"{slug(name) or 'code'}-{secrets.token_hex(3)}"


def propose_key(name: str, taken: Iterable[str], category: bool = False) -> str | None:
    """A free key for a new node: a letter of its name if one is free, else the first free one; None if full."""
    used = set(taken)
    allowed = CATEGORY_KEYS if category else CODE_KEYS
    slugged = slug(name)
    words = slugged.split("-")
    for ch in [w[0] for w in words if w] + list(slugged.replace("-", "")) + list(allowed):
        if ch in allowed and ch not in used:
            return ch
    return None


def clean_name(value: Any) -> str:
    name = " ".join(str(value or "").split())
    if not name:
        raise ChangeRefused("A code needs a name.")
    if len(name) > MAX_NAME:
        raise ChangeRefused(f"The name is {len(name)} characters long; a name may have at most {MAX_NAME}.")
    if not name.isprintable():
        raise ChangeRefused("The name contains a control character.")
    return name


def clean_definition(value: Any) -> str:
    text = str(value or "").strip()
    if len(text) > MAX_DEFINITION:
        raise ChangeRefused(f"The definition is {len(text)} characters long; it may have at most {MAX_DEFINITION}.")
    if text.replace("\n", "").isprintable():  # the usual case, without a pass per character
        return text
    return "".join(ch for ch in text if ch.isprintable() or ch == "\n")


def clean_aliases(value: Any) -> list[str]:
    items = value if isinstance(value, list) else str(value or "").split(",")
    out: list[str] = []
    for item in items:
        alias = " ".join(str(item).split())
        if alias and alias not in out and alias.isprintable():
            out.append(alias[:MAX_NAME])
    if len(out) > MAX_ALIASES:
        raise ChangeRefused(f"A code may have at most {MAX_ALIASES} aliases.")
    return out


def check_key(key: str, category: bool) -> None:
    allowed = CATEGORY_KEYS if category else CODE_KEYS
    if len(key) != 1 or key not in allowed:
        what = "1 to 9" if category else "a letter other than q, u, x and z, or a digit"
        raise ChangeRefused(f"The key {key!r} cannot be used; a {'category' if category else 'code'}'s key is {what}.")


def clean_severity(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        severity = float(value)
    except (TypeError, ValueError):
        raise ChangeRefused(f"The severity {value!r} is not a number between 1 and 3.") from None
    if not 1.0 <= severity <= 3.0:
        raise ChangeRefused(f"The severity {severity:g} is not between 1 and 3.")
    return severity
