"""The event log's vocabulary: what a decision is, its kinds, its id, and the state it folds into."""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any

CONSENSUS = "consensus"
"""The coder name under which reconciliation choices are recorded."""


class EventKind(str, Enum):
    """The kinds of events. Every decision a coder makes is one of these, appended, never updated.

    The values are part of the exchange format: never change one. A member is its value (a `str`),
    so rows read back from the database compare equal to it.
    """

    RELEVANCE = "relevance"  # value "0" | "1"
    CODE_ADD = "code_add"  # code_id
    CODE_REMOVE = "code_remove"  # code_id
    MEMO = "memo"  # value: the whole memo text (latest wins)
    QUOTE_ADD = "quote_add"  # code_id (may be ""), value: JSON {"start", "end", "text"}
    QUOTE_REMOVE = "quote_remove"  # ref: the quote_add event id
    FLAG = "flag"  # value "1" | "0"
    SKIP = "skip"
    DONE = "done"  # value "1" | "0": the coder finished coding this post
    SUGGESTION_ACCEPT = "suggestion_accept"  # code_id ("relevance" for the screen)
    SUGGESTION_REJECT = "suggestion_reject"
    DEFER = "defer"
    RECONCILE = "reconcile"  # value: JSON {"choice", "type", "note"}
    UNDO = "undo"  # ref: event id
    REDO = "redo"  # ref: event id
    # Changes to the codebook made while coding (open coding): code_id is the node changed, value a JSON
    # object (tui/core/codebook/changes.py); post_id is the post it was made from, or NULL.
    CODE_CREATE = "code_create"
    CODE_EDIT = "code_edit"
    CODE_MOVE = "code_move"
    CODE_MERGE = "code_merge"
    CODE_RETIRE = "code_retire"

    def __str__(self) -> str:
        # Like Python 3.11's StrEnum: printed, formatted or stored, a kind is its plain value.
        return str(self.value)


# The module-level names callers have always used; each is the enum member itself.
RELEVANCE = EventKind.RELEVANCE
CODE_ADD = EventKind.CODE_ADD
CODE_REMOVE = EventKind.CODE_REMOVE
MEMO = EventKind.MEMO
QUOTE_ADD = EventKind.QUOTE_ADD
QUOTE_REMOVE = EventKind.QUOTE_REMOVE
FLAG = EventKind.FLAG
SKIP = EventKind.SKIP
DONE = EventKind.DONE
SUGGESTION_ACCEPT = EventKind.SUGGESTION_ACCEPT
SUGGESTION_REJECT = EventKind.SUGGESTION_REJECT
DEFER = EventKind.DEFER
RECONCILE = EventKind.RECONCILE
UNDO = EventKind.UNDO
REDO = EventKind.REDO

CODEBOOK_KINDS: frozenset[str] = frozenset(k.value for k in (
    EventKind.CODE_CREATE, EventKind.CODE_EDIT, EventKind.CODE_MOVE, EventKind.CODE_MERGE, EventKind.CODE_RETIRE))
"""The kinds that change the codebook rather than decide about a post."""
ARMS = ("", "blind", "shown")
"""The arm a decision was made in: blind (no model output on screen), shown, or "" (recorded before arms were)."""

EVENT_KINDS: frozenset[str] = frozenset(kind.value for kind in EventKind)
"""Every kind as a plain string (what an exchange file or an events row may hold)."""
UNDOABLE: frozenset[str] = EVENT_KINDS - {UNDO.value, REDO.value}
"""The kinds that are decisions, which an undo can take back (everything but undo and redo)."""


def utcnow() -> str:
    """The current UTC time as ISO 8601 with milliseconds."""
    return utc_stamp(datetime.now(timezone.utc))


def utc_stamp(moment: datetime) -> str:
    """A timezone-aware time in the one shape every stored time has (see below)."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# Times are compared as strings when state is derived, so every stored time has this one shape:
# RFC 3339, UTC, milliseconds, upper-case T and Z ("2026-11-22T10:04:12.311Z"). String order is
# then time order.
_DATE = r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
_CLOCK = r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
TIME_SYNTAX = _DATE + _CLOCK + r"(\.[0-9]{1,9})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
"""What an exchange file may hold as a time: RFC 3339 with seconds, and Z or a numeric offset (unanchored)."""
_TIME = re.compile(TIME_SYNTAX + r"\Z")
_CANONICAL_TIME = re.compile(_DATE + _CLOCK + r"\.[0-9]{3}Z\Z")
_real_days: dict[str, bool] = {}  # "2026-11-22" -> whether that day exists; a file holds few distinct days


def _real_day(day: str) -> bool:
    known = _real_days.get(day)
    if known is None:
        if len(_real_days) > 10_000:
            _real_days.clear()
        try:
            datetime.strptime(day, "%Y-%m-%d")
            known = day[:4] != "0000"
        except ValueError:
            known = False
        _real_days[day] = known
    return known


def utc_time(value: object) -> str | None:
    """`value` as a stored time (UTC, milliseconds, Z) if it is an RFC 3339 time, else None.

    An offset such as -02:00 is converted to UTC, and more than three decimals are cut to
    milliseconds, so that string order stays time order. Leap seconds (:60) are refused.
    """
    if type(value) is not str:
        return None
    if _CANONICAL_TIME.match(value):  # the stored shape already: the pattern checks all but the day
        return value if _real_day(value[:10]) else None
    if not _TIME.match(value) or not _real_day(value[:10]):
        return None
    try:
        utc = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return None  # past year 9999, or before year 1, once in UTC
    return utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")


MAX_CODER_CHARS = 64
"""The longest coder name (and project origin id) qualtui accepts, on the command line or in a merged file."""
MAX_CODE_ID_CHARS = 200
"""The longest code id qualtui accepts from a merged file."""
# C0 and C1 controls, DEL, line and paragraph separators, and bidi overrides: none belongs in a name
# that is printed on a terminal line of its own.
_NAME_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def name_problem(value: str, what: str, limit: int) -> str | None:
    """Why `value` cannot be a coder name, code id or origin (a phrase), or None if it can."""
    if len(value) > limit:
        return f"{what} is {len(value)} characters long, over the limit of {limit}"
    if _NAME_CONTROLS.search(value):
        return f"{what} contains a line break or another control character"
    return None


def coder_problem(name: str) -> str | None:
    """Why `name` cannot be a coder name (a phrase), or None if it can."""
    if not name.strip():
        return "the coder name is empty"
    if name != name.strip():
        return "the coder name starts or ends with a space"
    return name_problem(name, "the coder name", MAX_CODER_CHARS)


_last_id_ms = 0
_id_counter = 0


def new_event_id() -> str:
    """A globally unique event id that sorts in creation order within a process.

    48-bit ms time, a 16-bit counter for events in the same millisecond, 64 random bits.
    """
    global _last_id_ms, _id_counter
    ms = int(time.time() * 1000)
    if ms <= _last_id_ms:
        ms = _last_id_ms
        _id_counter += 1
    else:
        _last_id_ms, _id_counter = ms, 0
    return f"{ms:012x}{_id_counter & 0xFFFF:04x}{secrets.token_hex(8)}"


@dataclass(frozen=True)
class Event:
    """One decision in the append-only log."""

    coder: str
    post_id: int | None
    kind: str
    code_id: str = ""
    value: str = ""
    ref: str = ""
    id: str = field(default_factory=new_event_id)
    at: str = field(default_factory=utcnow)
    codebook_hash: str = ""
    seq: int | None = None
    arm: str = ""  # "blind" | "shown" | "" (see ARMS)

    def row(self) -> dict[str, Any]:
        """The row inserted into the events table."""
        return {
            "id": self.id, "coder": self.coder, "post_id": self.post_id, "kind": self.kind,
            "code_id": self.code_id, "value": self.value, "ref": self.ref, "at": self.at,
            "codebook_hash": self.codebook_hash, "arm": self.arm,
        }
