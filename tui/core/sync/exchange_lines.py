"""What a valid body line of an exchange file holds: events per kind, post text, well-being rows."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from tui.core.project.events import (
    ARMS,
    CODE_ADD,
    CODE_REMOVE,
    CODEBOOK_KINDS,
    DEFER,
    DONE,
    EVENT_KINDS,
    FLAG,
    MAX_CODE_ID_CHARS,
    MAX_CODER_CHARS,
    MEMO,
    QUOTE_ADD,
    QUOTE_REMOVE,
    RECONCILE,
    REDO,
    RELEVANCE,
    SKIP,
    SUGGESTION_ACCEPT,
    SUGGESTION_REJECT,
    UNDO,
    name_problem,
    utc_time,
)
from tui.core.safe import clean
from tui.core.sync.exchange import EVENT_FIELDS, ExportFile

_EVENT_TEXT = EVENT_FIELDS + ("platform", "platform_id", "text_hash")


def _str_fields(obj: dict[str, Any], keys: Sequence[str]) -> str | None:
    """The first of `keys` whose value is missing or not text."""
    for key in keys:
        if not isinstance(obj.get(key), str):
            return key
    return None


_ID = re.compile(r"[0-9A-Za-z_-]{1,64}\Z")
ID_PATTERN = "^[0-9A-Za-z_-]{1,64}$"
"""An event id: 1 to 64 letters, digits, '-' or '_' (qualtui writes 32 hex digits)."""
_TEXT_HASH = re.compile(r"(?:[0-9a-f]{32})?\Z")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
# What each event kind holds in code_id, value and ref (docs/sync.md and docs/exchange.schema.json say
# the same): "" must be empty, "code" a code id, "code?" a code id or empty, "bit" "0" or "1", "text"
# any text, "object" a JSON object's text (a codebook change), "id" another event's id.
KIND_RULES: dict[str, tuple[str, str, str]] = {
    RELEVANCE: ("", "bit", ""),
    CODE_ADD: ("code", "", ""),
    CODE_REMOVE: ("code", "", ""),
    MEMO: ("", "text", ""),
    QUOTE_ADD: ("code?", "text", ""),
    QUOTE_REMOVE: ("", "", "id"),
    FLAG: ("", "bit", ""),
    SKIP: ("", "", ""),
    DONE: ("", "bit", ""),
    SUGGESTION_ACCEPT: ("code", "", ""),
    SUGGESTION_REJECT: ("code", "", ""),
    DEFER: ("", "", ""),
    RECONCILE: ("code?", "text", ""),
    UNDO: ("", "", "id"),
    REDO: ("", "", "id"),
    **{kind: ("code", "object", "") for kind in sorted(CODEBOOK_KINDS)},
}
MAX_CHANGE_VALUE_CHARS = 32_000
"""The longest value of a codebook change (a definition may have 5,000 characters, 50 aliases 200 each)."""
NO_POST_KINDS = CODEBOOK_KINDS | {UNDO.value, REDO.value}
"""The kinds an event made on no post may have (an undo or redo only of a codebook change)."""
_code_ok: dict[str, str | None] = {}  # code id -> its problem; a file uses few distinct ids


def _rule_problem(obj: dict[str, Any]) -> str | None:
    """What is wrong with an event's code_id, value or ref for its kind, if anything."""
    code_rule, value_rule, ref_rule = KIND_RULES[obj["kind"]]
    code_id, value, ref = obj["code_id"], obj["value"], obj["ref"]
    kind = obj["kind"]
    if code_id:
        if not code_rule:
            return f"a {kind} event has a code_id, which it must leave empty"
        if code_id not in _code_ok:
            if len(_code_ok) > 10_000:
                _code_ok.clear()  # a hostile file with many distinct ids must not grow the memo without end
            _code_ok[code_id] = name_problem(code_id, "the code id", MAX_CODE_ID_CHARS)
        if _code_ok[code_id]:
            return _code_ok[code_id]
    elif code_rule == "code":
        return f"a {kind} event needs a code_id"
    if value_rule == "bit":
        if value != "0" and value != "1":
            return f"a {kind} event's value must be \"0\" or \"1\""
    elif value_rule == "object":
        problem = _object_problem(value)
        if problem:
            return f"a {kind} event's value {problem}"
    elif not value_rule and value:
        return f"a {kind} event has a value, which it must leave empty"
    if ref_rule:
        if not _ID.match(ref):
            return f"a {kind} event's ref must be the id of the event it refers to"
    elif ref:
        return f"a {kind} event has a ref, which it must leave empty"
    return None


def _object_problem(value: str) -> str | None:
    """Why `value` is not the text of a JSON object of bounded size (a phrase), or None."""
    if len(value) > MAX_CHANGE_VALUE_CHARS:
        return f"is {len(value):,} characters long, over the limit of {MAX_CHANGE_VALUE_CHARS:,}"
    # The first and last characters are what the schema can check; the parse is what it cannot.
    if not value.startswith("{") or not value.endswith("}"):
        return "is not a JSON object"
    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError):
        return "is not valid JSON"
    return None if isinstance(parsed, dict) else "is not a JSON object"


def _no_post_problem(obj: dict[str, Any], out: ExportFile) -> str | None:
    """What is wrong with an event that names no post, if anything (only codebook changes are made on none)."""
    if obj["platform"] or obj["platform_id"] or obj["text_hash"]:
        return "the event has an empty platform or platform id"
    kind = obj["kind"]
    if kind not in NO_POST_KINDS:
        return f"a {kind} event names no post (an empty platform), which only codebook changes may"
    if kind not in CODEBOOK_KINDS and obj["ref"] not in out.codebook_changes:
        out.outside_refs.add(obj["ref"])  # the merge checks it is a codebook change in the project (or a file)
    return None


_short_ok: dict[tuple[str, str], str | None] = {}  # origins and codebook hashes repeat on every line


def _short_id_problem(value: str, what: str) -> str | None:
    """What is wrong with an event's origin or codebook hash, if anything (remembered per value)."""
    key = (value, what)
    if key not in _short_ok:
        if len(_short_ok) > 10_000:
            _short_ok.clear()
        _short_ok[key] = name_problem(value, f"the event's {what}", MAX_CODER_CHARS)
    return _short_ok[key]


def take_line(out: ExportFile, obj: dict[str, Any], seen: set[str]) -> str | None:
    """File one parsed body line under `out`'s events, posts or well-being rows; the problem with it, if any.

    `seen` holds the event ids filed so far, so an id given twice is refused.
    """
    kind = obj.get("type")
    if kind == "event":
        if set(map(type, map(obj.get, _EVENT_TEXT))) != {str}:  # all text; map keeps the check in C
            return f"the event's {_str_fields(obj, _EVENT_TEXT)!r} is missing or not text"
        if not _ID.match(obj["id"]):
            return "the event's id is not 1 to 64 letters, digits, '-' or '_'"
        if obj["coder"] != out.header["coder"]:
            return "the event's coder differs from the coder in the header"
        if obj["kind"] not in EVENT_KINDS:
            return f"unknown event kind {clean(obj['kind'][:40], oneline=True)!r}"
        at = utc_time(obj["at"])
        if at is None:
            return "the event's time 'at' is not an RFC 3339 time such as 2026-11-22T10:04:12.311Z"
        obj["at"] = at
        problem = _rule_problem(obj) or _short_id_problem(obj["origin"], "origin") \
            or _short_id_problem(obj["codebook_hash"], "codebook hash")
        if problem:
            return problem
        if not _TEXT_HASH.match(obj["text_hash"]):
            return "the event's text_hash is not 32 lower-case hex digits"
        if obj.setdefault("arm", "") not in ARMS:  # optional: files from before arms were recorded have none
            return "the event's arm must be \"blind\", \"shown\" or empty"
        if not obj["platform"] or not obj["platform_id"]:
            problem = _no_post_problem(obj, out)
            if problem:
                return problem
        if obj["id"] in seen:
            return f"event {obj['id']} appears twice in the file"
        seen.add(obj["id"])
        if obj["kind"] in CODEBOOK_KINDS:
            out.codebook_changes.add(obj["id"])
        out.events.append(obj)
    elif kind == "post":
        bad = _str_fields(obj, ("platform", "platform_id", "title", "text", "url", "keyword"))
        if bad or not isinstance(obj.get("tags"), list) or not all(isinstance(t, str) for t in obj["tags"]):
            return f"the post's {bad or 'tags'!r} is missing or malformed"
        if obj.get("posted_at") is not None and not isinstance(obj["posted_at"], str):
            return "the post's 'posted_at' is not text"
        if "text_hash" in obj and not isinstance(obj["text_hash"], str):
            return "the post's 'text_hash' is not text"
        if not obj["platform"] or not obj["platform_id"]:
            return "the post has an empty platform or platform id"
        out.posts[(obj["platform"], obj["platform_id"])] = obj
    elif kind in ("wb_state", "wb_log"):
        if obj.get("coder") != out.coder:
            return "the well-being row belongs to another coder than the header's"
        problem = _wellbeing_problem(obj)
        if problem:
            return problem
        out.wellbeing.append(obj)
    else:
        return f"unknown line type {clean(str(kind)[:40], oneline=True)!r}"
    return None


def _number(value: Any) -> bool:
    return type(value) in (int, float)


def _wellbeing_problem(obj: dict[str, Any]) -> str | None:
    """What is wrong with a well-being row (the columns it fills are typed and mostly NOT NULL)."""
    if obj["type"] == "wb_state":
        if not isinstance(obj.get("state"), str):
            return "the well-being state is missing or not text"
        at = utc_time(obj.get("updated_at"))
        if at is None:
            return "the well-being state's 'updated_at' is not an RFC 3339 time"
        obj["updated_at"] = at
        return None
    at = utc_time(obj.get("at"))
    if at is None:
        return "the well-being row's 'at' is not an RFC 3339 time"
    obj["at"] = at
    if not isinstance(obj.get("kind"), str) or not obj["kind"] or len(obj["kind"]) > MAX_CODER_CHARS:
        return "the well-being row's 'kind' is missing or malformed"
    if not isinstance(obj.get("day"), str) or not _DAY.match(obj["day"]):
        return "the well-being row's 'day' is not a date such as 2026-11-22"
    if not _number(obj.get("minutes")) or not _number(obj.get("weighted")):
        return "the well-being row's 'minutes' or 'weighted' is not a number"
    if obj.get("value") is not None and not _number(obj["value"]):
        return "the well-being row's 'value' is not a number"
    if obj.get("detail") is not None and not isinstance(obj["detail"], str):
        return "the well-being row's 'detail' is not text"
    return None
