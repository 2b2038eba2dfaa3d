"""Property-based: damaged exchange files are refused cleanly (nothing written) or merged correctly."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.samples import CODEBOOK
from tests.sync_helpers import ADULT, CB, DEBT, TEEN, code, counts, project
from tui.cli import cli
from tui.core.project.store import Store
from tui.core.sync.exchange import SyncError, export_events
from tui.core.sync.exchange_read import read_export
from tui.core.sync.merge import NOTHING, merge_files


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[bytes, Path]]:
    """A valid export (with post text, so lines of every type) and an empty project with the same posts."""
    folder = tmp_path_factory.mktemp("fuzz")
    a = project(folder, "alice")
    code(a, "alice", {0: (1, [TEEN]), 1: (0, []), 2: (1, [DEBT, ADULT])}, memo="memo 缅北")
    export_events(a, folder / "alice.qualtui.jsonl", coder="alice", codebook_hash=CB.hash, with_text=True)
    a.close()
    lead = project(folder, "lead")
    lead.close()
    yield (folder / "alice.qualtui.jsonl").read_bytes(), folder / "lead.db"


def _reseal(data: bytes) -> bytes:
    """Recompute the header's checksum over a (damaged) body, so the line checks are what is tested."""
    first, sep, body = data.partition(b"\n")
    try:
        header = json.loads(first)
        header["body_sha256"] = hashlib.sha256(body).hexdigest()
    except (ValueError, TypeError, KeyError):
        return data
    return json.dumps(header).encode() + sep + body


@st.composite
def damaged(draw: st.DrawFn, data: bytes) -> bytes:
    """One to three of: truncate, flip, insert or delete a byte, duplicate or drop a line, change the checksum."""
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "duplicate", "drop", "checksum",
                                   "reseal"]))
        if op == "truncate":
            data = data[:draw(st.integers(0, len(data)))]
        elif op in ("flip", "insert", "delete", "reseal") and data:
            i = draw(st.integers(0, len(data) - 1))
            if op == "flip" or op == "reseal":
                data = data[:i] + bytes([data[i] ^ (1 << draw(st.integers(0, 7)))]) + data[i + 1:]
                if op == "reseal":
                    data = _reseal(data)
            elif op == "insert":
                data = data[:i] + bytes([draw(st.integers(0, 255))]) + data[i:]
            else:
                data = data[:i] + data[i + 1:]
        elif op in ("duplicate", "drop"):
            lines = data.split(b"\n")
            i = draw(st.integers(0, max(0, len(lines) - 2)))
            if op == "duplicate":
                lines.insert(i, lines[i])
            else:
                del lines[i]
            data = b"\n".join(lines)
            if draw(st.booleans()):
                data = _reseal(data)
        elif op == "checksum":
            digest = draw(st.text("0123456789abcdef", min_size=64, max_size=64))
            data = _reseal(data)
            first, sep, body = data.partition(b"\n")
            data = first.replace(hashlib.sha256(body).hexdigest().encode(), digest.encode()) + sep + body
    return data


def _stored(store: Store) -> set[tuple[Any, ...]]:
    return set(store.db.conn.execute("SELECT id, coder, kind, code_id, value, ref, at FROM events"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_files_are_refused_cleanly_or_merged_correctly(source: tuple[bytes, Path], data: st.DataObject) -> None:
    original, template = source
    raw = data.draw(damaged(original))
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        path = folder / "alice.qualtui.jsonl"
        path.write_bytes(raw)
        db, cli_db = folder / "lead.db", folder / "cli.db"
        shutil.copy(template, db)
        shutil.copy(template, cli_db)
        with Store(db) as store:
            before = counts(store)
            try:
                report = merge_files(store, [path], resolve=CB.resolve, codebook_hash=CB.hash)
            except SyncError as exc:
                message = str(exc)
                assert "\n" not in message and "\r" not in message and message.endswith(NOTHING)
                assert counts(store) == before  # nothing written
                refused = True
            else:
                refused = False
                parsed = read_export(path)  # what the reader accepted is exactly what was stored
                want = {(e["id"], e["coder"], e["kind"], e["code_id"], e["value"], e["ref"], e["at"])
                        for e in parsed.events}
                assert report.added == len(want) and _stored(store) == want
        result = CliRunner().invoke(cli, ["--db", str(cli_db), "--codebook", str(CODEBOOK), "merge", str(path)],
                                    catch_exceptions=False)
        if refused:
            lines = [line for line in result.output.splitlines() if line.strip()]
            assert result.exit_code == 1 and len(lines) == 1 and lines[0].startswith("Error: "), result.output
            assert "Traceback" not in result.output
        else:
            assert result.exit_code == 0, result.output
