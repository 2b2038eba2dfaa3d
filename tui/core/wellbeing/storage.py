"""Well-being data in the project database: the machine's state, its log, history, team ceilings.

The data is the coder's own: it lives in `wb_state` and `wb_log`, which an export carries only when the
coder opts in (`exported_rows`) and a merge then adds (`merged_rows`, `insert_merged`).
The team's ceilings live in `project_settings` under keys `wellbeing.<field>`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any

from tui.core.project.events import utcnow
from tui.core.project.store import Store
from tui.core.wellbeing.policy import SEVERE_WEIGHT, LogEntry, Wellbeing, day_of
from tui.core.wellbeing.settings import (
    CEILING_PREFIX,
    WellbeingSettings,
    ceiling_rows,
    ceilings_from_rows,
    merge_settings,
)

__all__ = [
    "LOG_FIELDS", "DaySummary", "delete_history", "exported_rows", "history", "insert_merged", "load",
    "merged_rows", "save", "set_team_ceilings", "settings_for", "team_ceilings",
]

LOG_FIELDS = ("kind", "at", "day", "minutes", "weighted", "value", "detail")
"""The columns of a `wb_log` row that travel in an exchange file (the coder is given separately)."""


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def load(store: Store, coder: str, settings: WellbeingSettings | None = None,
         tz: tzinfo | None = None) -> Wellbeing:
    """The coder's machine as last saved (a fresh one if there is none); call `session_started` next."""
    row = store.db.conn.execute("SELECT state FROM wb_state WHERE coder = ?", (coder,)).fetchone()
    if row is not None:
        try:
            return Wellbeing.from_json(row[0], settings, tz)
        except (ValueError, TypeError):
            pass  # an unreadable state must not keep the coder out of their work
    return Wellbeing(settings, tz=tz)


def save(store: Store, coder: str, wb: Wellbeing) -> int:
    """Write the state and the new log rows in one transaction; returns how many rows were logged.

    Call it on every event and at least every few seconds from the tick: the time since the last
    save is what a crash loses (it counts as time away on the next start).
    """
    rows = wb.drain_log()
    conn = store.db.conn
    with _kept_on_failure(wb, rows), conn:
        conn.execute(
            "INSERT OR REPLACE INTO wb_state (coder, state, updated_at) VALUES (?, ?, ?)",
            (coder, wb.to_json(), utcnow()),
        )
        conn.executemany(
            "INSERT INTO wb_log (coder, kind, at, day, minutes, weighted, value, detail)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(coder, r.kind, _iso(r.at), r.day, r.minutes, r.weighted, r.value,
              json.dumps(r.detail, ensure_ascii=False)) for r in rows],
        )
    return len(rows)


@contextmanager
def _kept_on_failure(wb: Wellbeing, rows: list[LogEntry]) -> Iterator[None]:
    """Put drained log rows back if the write fails (a busy or full project), so the next save has them."""
    try:
        yield
    except BaseException:
        wb.restore_log(rows)
        raise


def team_ceilings(store: Store) -> dict[str, Any]:
    """The team lead's ceilings, as set in the project settings (not yet validated)."""
    rows = store.db.conn.execute(
        "SELECT key, value FROM project_settings WHERE key LIKE ?", (CEILING_PREFIX + "%",)
    ).fetchall()
    return ceilings_from_rows(dict(rows))


def set_team_ceilings(store: Store, ceilings: Mapping[str, Any]) -> None:
    """Validate and store team ceilings (a value of None removes that ceiling)."""
    drop = [k for k, v in ceilings.items() if v is None]
    rows = ceiling_rows({k: v for k, v in ceilings.items() if v is not None})
    kept = {k: v for k, v in team_ceilings(store).items() if k not in drop}
    merge_settings(None, {**kept, **{k: v for k, v in ceilings.items() if v is not None}})
    with store.db.conn:
        store.db.conn.executemany("INSERT OR REPLACE INTO project_settings (key, value) VALUES (?, ?)", rows.items())
        store.db.conn.executemany("DELETE FROM project_settings WHERE key = ?", [(CEILING_PREFIX + k,) for k in drop])


def settings_for(store: Store, coder_settings: Mapping[str, Any] | None) -> tuple[WellbeingSettings, list[str]]:
    """The effective settings for a coder's `wellbeing:` config under this project's ceilings.

    Returns the settings and a notice for each field where the team's ceiling replaced the coder's
    looser value (use `effective_settings` to refuse such a config instead).
    """
    return merge_settings(coder_settings, team_ceilings(store))


@dataclass
class DaySummary:
    """One working day of a coder's exposure, breaks and check-ins."""

    day: str
    weighted_minutes: float = 0.0
    raw_minutes: float = 0.0
    severe_minutes: float = 0.0
    breaks_taken: int = 0
    postponements: int = 0
    checkins: list[int] = field(default_factory=list)
    capped: bool = False


def history(store: Store, coder: str, days: int = 14, today: date | str | None = None, *,
            day_start_hour: int = 4, tz: tzinfo | None = None) -> list[DaySummary]:
    """The last `days` working days up to `today`, oldest first, empty days included (save first)."""
    if today is None:
        today = day_of(time.time(), day_start_hour, tz)
    end = date.fromisoformat(today) if isinstance(today, str) else today
    wanted = [(end - timedelta(days=i)).isoformat() for i in range(days - 1, -1, -1)]
    out = {d: DaySummary(d) for d in wanted}
    if not wanted:
        return []
    cur = store.db.conn.execute(
        "SELECT kind, day, minutes, weighted, value, detail FROM wb_log"
        " WHERE coder = ? AND day >= ? AND day <= ? ORDER BY at, id",
        (coder, wanted[0], wanted[-1]),
    )
    for kind, day, minutes, weighted, value, _detail in cur:
        d = out.get(day)
        if d is None:
            continue
        if kind == "exposure":
            d.raw_minutes += minutes
            d.weighted_minutes += weighted
            if value is not None and value >= SEVERE_WEIGHT:
                d.severe_minutes += minutes
        elif kind == "break":
            d.breaks_taken += 1
        elif kind == "postpone":
            d.postponements += 1
        elif kind == "checkin" and value is not None:
            d.checkins.append(int(value))
        elif kind == "cap":
            d.capped = True
    return [out[d] for d in wanted]


def delete_history(store: Store, coder: str) -> int:
    """Delete the coder's well-being log and stored ratings; returns how many log rows went.

    The running state (today's minutes, a break in progress) stays: it is what keeps a break honest.
    An app holding the machine should also call `Wellbeing.forget_checkins()`.
    """
    conn = store.db.conn
    with conn:
        n = conn.execute("DELETE FROM wb_log WHERE coder = ?", (coder,)).rowcount
        row = conn.execute("SELECT state FROM wb_state WHERE coder = ?", (coder,)).fetchone()
        if row is not None:
            try:
                state = json.loads(row[0])
                state["ratings_today"], state["stop_suggested"] = [], False
                conn.execute("UPDATE wb_state SET state = ?, updated_at = ? WHERE coder = ?",
                             (json.dumps(state, ensure_ascii=False), utcnow(), coder))
            except (ValueError, TypeError):
                pass
    return n


def exported_rows(store: Store, coder: str) -> list[dict[str, Any]]:
    """The coder's state and log as exchange-file rows (`type` wb_state or wb_log), for an opt-in export."""
    conn = store.db.conn
    out: list[dict[str, Any]] = []
    for state, updated_at in conn.execute("SELECT state, updated_at FROM wb_state WHERE coder = ?", (coder,)):
        out.append({"type": "wb_state", "coder": coder, "state": state, "updated_at": updated_at})
    cols = ", ".join(LOG_FIELDS)
    for row in conn.execute(f"SELECT {cols} FROM wb_log WHERE coder = ? ORDER BY id", (coder,)):
        out.append({"type": "wb_log", "coder": coder, **dict(zip(LOG_FIELDS, row, strict=False))})
    return out


def merged_rows(store: Store, coder: str, rows: list[dict[str, Any]],
                seen: set[tuple[Any, ...]]) -> list[tuple[str, dict[str, Any]]]:
    """Rows from an exchange file, filed under `coder`, that the project does not hold yet: (table, row).

    A state replaces the project's only if it is newer; a log row is new unless one with the same
    coder, kind, time and day is here or in `seen` (which this call extends).
    """
    conn = store.db.conn
    out: list[tuple[str, dict[str, Any]]] = []
    for row in rows:
        if row["type"] == "wb_state":
            here = conn.execute("SELECT updated_at FROM wb_state WHERE coder = ?", (coder,)).fetchone()
            if here is None or str(row.get("updated_at") or "") > str(here[0] or ""):
                out.append(("wb_state", {"coder": coder, "state": str(row.get("state") or ""),
                                         "updated_at": row.get("updated_at")}))
            continue
        values = {"coder": coder, **{k: row.get(k) for k in LOG_FIELDS}}
        key = (coder, values["kind"], values["at"], values["day"])
        if key in seen or conn.execute("SELECT 1 FROM wb_log WHERE coder = ? AND kind = ? AND at = ? AND day = ?",
                                       key).fetchone():
            continue
        seen.add(key)
        out.append(("wb_log", values))
    return out


def insert_merged(store: Store, rows: list[tuple[str, dict[str, Any]]]) -> None:
    """Write rows from `merged_rows` inside the caller's open transaction (a merge is all or nothing)."""
    conn = store.db.conn
    for table, row in rows:
        if table not in ("wb_state", "wb_log"):
            raise ValueError(f"not a well-being table: {table}")
        cols = ", ".join(row)
        verb = "INSERT OR REPLACE" if table == "wb_state" else "INSERT"
        conn.execute(f"{verb} INTO {table} ({cols}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
