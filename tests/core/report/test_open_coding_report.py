"""Saturation as the study measured it (codes created per post while coding) and when each code first appeared."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from tui.cli import cli
from tui.core.codebook.loading import load_codebook
from tui.core.paths import skeleton_codebook
from tui.core.project.codebook_log import effective_codebook
from tui.core.project.events import Event
from tui.core.project.store import Store
from tui.core.report.analyses import saturation
from tui.core.report.export import saturation_summary

# post number -> codes alice created on it (every created code is also applied to the post)
CREATED = {1: ["a", "b"], 2: ["c"], 4: ["d"], 16: ["e"]}
N_POSTS = 17


def at(post: int, second: int = 0) -> str:
    """The time alice worked on a post: one minute per post, in post order."""
    return f"2025-01-01T10:{post:02d}:{second:02d}.000Z"


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    """alice codes 17 posts from the skeleton, creating codes on posts 1, 2, 4 and 16; post 3 reuses 'a'."""
    db = tmp_path / "p.db"
    store = Store(db)
    with store.write() as conn:
        conn.executemany(
            "INSERT INTO posts (platform, platform_id, label, text, text_hash) VALUES ('xhs', ?, ?, 'x', 'h')",
            [(f"n{i}", f"P-{i:02d}") for i in range(1, N_POSTS + 1)])
    ids = store.post_ids(order="id")
    first: dict[str, str] = {}
    for n, pid in enumerate(ids, 1):
        store.record(Event("alice", pid, "relevance", value="1", at=at(n)))
        for k, name in enumerate(CREATED.get(n, []), 1):
            code = f"{name}-00000{k}"
            first[name] = code
            store.record(Event("alice", pid, "code_create", code_id=code, at=at(n, k),
                               value=json.dumps({"name": name.upper(), "definition": "d", "parent": "recruitment"})))
            store.record(Event("alice", pid, "code_add", code_id=code, at=at(n, k)))
        if n not in CREATED:  # an already known code: it is used, but it is not new
            store.record(Event("alice", pid, "code_add", code_id=first["a"], at=at(n, 30)))
    store.close()
    yield db


def test_created_per_post_the_curve_and_the_point_of_saturation(project: Path) -> None:
    store = Store(project)
    cb = effective_codebook(store.db.conn, load_codebook(skeleton_codebook()))[0]
    sat = saturation(store, cb, "alice", run=10)
    assert sat.measure == "created"  # the default once codes were created while coding
    assert [p.new for p in sat.points] == [2, 1, 0, 1] + [0] * 11 + [1, 0]
    assert [p.cumulative for p in sat.points][:5] == [2, 3, 3, 4, 4] and sat.total == 5
    assert sat.saturated_at == 4
    assert saturation_summary(sat) == ("Saturation after post 4 of 17: the next 10 posts in a row produced no new "
                                       "code (4 of 5 codes created by then; 1 created later).")
    assert saturation(store, cb, "alice", run=12).saturated_at is None  # only 11 quiet posts follow post 4
    store.close()


def test_first_used_is_still_there_on_request(project: Path) -> None:
    store = Store(project)
    cb = effective_codebook(store.db.conn, load_codebook(skeleton_codebook()))[0]
    sat = saturation(store, cb, "alice", run=10, measure="first-used")
    assert sat.measure == "first-used"
    assert [p.new for p in sat.points][:4] == [2, 1, 0, 1] and sat.saturated_at == 4
    store.close()


def test_the_cli_exports_the_curve_as_data(project: Path) -> None:
    run = CliRunner(env={"COLUMNS": "250"}).invoke(
        cli, ["--db", str(project), "--codebook", str(skeleton_codebook()), "report", "saturation",
              "--window", "3", "--format", "json"])
    assert run.exit_code == 0, run.output
    data = json.loads(run.output)
    assert (data["measure"], data["run"], data["saturated_at"]) == ("created", 3, 4)
    assert [p["new"] for p in data["points"]][:5] == [2, 1, 0, 1, 0]
    csv_out = CliRunner().invoke(
        cli, ["--db", str(project), "--codebook", str(skeleton_codebook()), "report", "saturation",
              "--measure", "first-used", "--format", "csv"])
    assert csv_out.exit_code == 0 and csv_out.output.splitlines()[0] == (
        "Post #,Label,New codes,Cumulative,New code ids")


def test_each_code_first_appeared_when_created_or_first_used(project: Path, tmp_path: Path) -> None:
    from tui.core.report.analyses import first_appeared

    store = Store(project)
    store.record(Event("bob", store.post_ids(order="id")[5], "code_add", code_id="a-000001", at=at(0, 5)))
    cb = effective_codebook(store.db.conn, load_codebook(skeleton_codebook()))[0]
    rows = first_appeared(store, cb)
    # a created code counts from its creation even if bob used it earlier (after a merge of his file, say)
    assert [(r.id, r.at, r.how, r.post, r.coder) for r in rows] == [
        ("a-000001", at(1, 1), "created", "P-01", "alice"),
        ("b-000002", at(1, 2), "created", "P-01", "alice"),
        ("c-000001", at(2, 1), "created", "P-02", "alice"),
        ("d-000001", at(4, 1), "created", "P-04", "alice"),
        ("e-000001", at(16, 1), "created", "P-16", "alice"),
    ]
    store.close()
    study = tmp_path / "s.db"
    s = Store(study)
    with s.write() as conn:
        conn.executemany("INSERT INTO posts (platform, platform_id, label, text, text_hash) "
                         "VALUES ('xhs', ?, ?, 'x', 'h')", [("n1", "P-1"), ("n2", "P-2")])
    p1, p2 = s.post_ids(order="id")
    s.record(Event("bob", p2, "code_add", code_id="targeting/financial-instability/debt", at=at(3)))
    s.record(Event("alice", p1, "code_add", code_id="targeting/financial-instability/debt", at=at(2)))
    from tui.core.paths import bundled_codebook

    rows = first_appeared(s, load_codebook(bundled_codebook()))
    assert (rows[0].id, rows[0].at, rows[0].how, rows[0].post, rows[0].coder) == (
        "targeting/financial-instability/debt", at(2), "first used", "P-1", "alice")
    assert {r.how for r in rows[1:]} == {"not used yet"} and rows[1].at == ""
    s.close()
