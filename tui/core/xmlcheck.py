"""One expat pass over untrusted XML before it is parsed for real: no DOCTYPE, no entities, well-formed.

ElementTree expands internal entities (a "billion laughs" grows without limit) and would pass a DOCTYPE
through; REFI-QDA files never need either, so both are refused before any tree is built.
"""

from __future__ import annotations

from typing import Any
from xml.parsers import expat

__all__ = ["DECLARES_ENTITIES", "UNKNOWN_ENCODING", "xml_problem"]

DECLARES_ENTITIES = "declares a DOCTYPE or entities"
UNKNOWN_ENCODING = "declares a text encoding that is not known"


class _Refused(Exception):
    pass


def xml_problem(raw: bytes) -> str | None:
    """Why `raw` may not be parsed (a phrase to follow the file's name), or None if it is plain XML."""
    parser = expat.ParserCreate()

    def refuse(*_: Any) -> int:
        raise _Refused

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    try:
        parser.Parse(raw, True)
    except _Refused:
        return DECLARES_ENTITIES
    except expat.ExpatError as exc:
        return f"is not well-formed XML ({expat.ErrorString(exc.code)}, line {exc.lineno})"
    except (LookupError, ValueError):
        # An XML declaration naming an encoding Python does not know (`encoding="tf-8"`).
        return UNKNOWN_ENCODING
    return None
