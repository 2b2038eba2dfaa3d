"""Schema migrations: each subpackage lists the steps that create its own tables; the store applies them.

A migration is a version number. Several subpackages may contribute a step to one version (version 1
created every table at once, before the tables were split by owner); the steps of a version run in
one transaction, in the fixed order of `SCHEMA_MODULES`, and versions run in ascending order. A
version once released never changes: new tables or columns come as a new version.
"""

from __future__ import annotations

import functools
import importlib
import sqlite3
from dataclasses import dataclass

__all__ = ["SCHEMA_MODULES", "Migration", "MigrationError", "Step", "apply", "migrations"]

SCHEMA_MODULES = (
    "tui.core.project.schema",
    "tui.core.coding.schema",
    "tui.core.prelabel.schema",
    "tui.core.wellbeing.schema",
)
"""The modules whose `STEPS` make the schema, in the order their steps run within one version.

They are imported by name when the store first needs them: the subpackages that own tables all
import the store, so a static import from here would make a cycle between sibling packages.
"""


class MigrationError(Exception):
    """A version given twice by one owner (a programming error, never a user's)."""


@dataclass(frozen=True)
class Step:
    """One subpackage's part of one migration version: SQL statements, run in order."""

    version: int
    name: str
    statements: tuple[str, ...]
    needed_to_read: bool = True
    """False when readers cope without it (a read-only project may then open without this step)."""


@dataclass(frozen=True)
class Migration:
    """One schema version: the steps of every owner, in `SCHEMA_MODULES` order."""

    version: int
    name: str
    steps: tuple[Step, ...]

    @property
    def needed_to_read(self) -> bool:
        """True if a project without this version cannot be read."""
        return any(step.needed_to_read for step in self.steps)


# The name recorded in the migrations table for each version, as earlier releases recorded it.
_NAMES = {1: "core schema"}


@functools.lru_cache(maxsize=1)
def migrations() -> tuple[Migration, ...]:
    """Every migration of every schema module, in ascending version order."""
    by_version: dict[int, list[Step]] = {}
    for module in SCHEMA_MODULES:
        steps: tuple[Step, ...] = importlib.import_module(module).STEPS
        versions = [step.version for step in steps]
        if len(set(versions)) != len(versions):
            raise MigrationError(f"{module} gives one migration version twice")
        for step in steps:
            by_version.setdefault(step.version, []).append(step)
    return tuple(Migration(v, _NAMES.get(v) or ", ".join(s.name for s in by_version[v]), tuple(by_version[v]))
                 for v in sorted(by_version))


def apply(conn: sqlite3.Connection, migration: Migration, applied_at: str) -> bool:
    """Run one migration and record it, all in one transaction; False if another process just did."""
    conn.execute("BEGIN IMMEDIATE")  # DDL outside an explicit transaction would commit step by step
    try:
        # Two commands opening a new project at once: the second waits above, then finds the work done.
        if conn.execute("SELECT 1 FROM migrations WHERE version = ?", (migration.version,)).fetchone():
            conn.execute("ROLLBACK")
            return False
        for step in migration.steps:
            for sql in step.statements:
                conn.execute(sql)
        conn.execute("INSERT INTO migrations (version, name, applied_at) VALUES (?, ?, ?)",
                     (migration.version, migration.name, applied_at))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return True
