"""`qualtui reconcile` through click's CliRunner: clear errors, a friendly exit when nothing is disputed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tests.samples import CODEBOOK
from tests.sync_helpers import (
    ADULT,
    DEBT,
    FIRST,
    SCREEN_DISAGREE,
    SCREENED,
    TEEN,
    code,
    pid,
    project,
    screen,
    screening_plans,
)
from tui.cli import cli
from tui.core.project.events import FLAG, Event


def run(db: Path, *args: str, config: Path | None = None) -> Result:
    """Invoke the CLI on a project file with an isolated (absent) config file."""
    env = {"QUALTUI_CONFIG": str(config or db.parent / "no-config.yaml"), "COLUMNS": "200"}
    return CliRunner().invoke(cli, ["--db", str(db), "--codebook", str(CODEBOOK), "reconcile", *args], env=env,
                              catch_exceptions=False)


def _db(tmp_path: Path, **plans: dict[int, tuple[int, list[str]]]) -> Path:
    s = project(tmp_path, "p")
    for coder, plan in plans.items():
        code(s, coder, plan)
    s.close()
    return tmp_path / "p.db"


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Calls that would have opened the app, recorded instead."""
    calls: list[dict[str, Any]] = []

    def fake(db: Path, codebook: object, coder: str, config: object, *, coders: Any = None,
             sort: str = "count") -> None:
        calls.append({"db": db, "coder": coder, "coders": coders, "sort": sort})

    monkeypatch.setattr("tui.ui.reconcile_app.run_reconcile", fake)
    return calls


def _fails(result: Result, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert message in result.output and "Traceback" not in result.output
    assert len([line for line in result.output.splitlines() if line.strip()]) == 1


def test_no_project(tmp_path: Path, opened: list[dict[str, Any]]) -> None:
    _fails(run(tmp_path / "missing.db", "--coder", "lead"), "No project at")
    assert not (tmp_path / "missing.db").exists() and opened == []


def test_who_is_reconciling(tmp_path: Path, opened: list[dict[str, Any]]) -> None:
    db = _db(tmp_path, alice={0: (1, [TEEN])}, bob={0: (1, [ADULT])})
    _fails(run(db), "Who is reconciling? Pass --coder NAME")
    _fails(run(db, "--coder", "consensus"), "pass your own name")
    config = tmp_path / "config.yaml"
    config.write_text("coder: lead\n", encoding="utf-8")
    assert run(db, config=config).exit_code == 0
    assert opened[-1]["coder"] == "lead"


def test_fewer_than_two_coders(tmp_path: Path, opened: list[dict[str, Any]]) -> None:
    db = _db(tmp_path, alice={0: (1, [TEEN])})
    _fails(run(db, "--coder", "lead"), "Comparing needs at least two coders; this project has alice.")
    _fails(run(db, "--coder", "lead", "--coders", "alice,carol"), "Coder 'carol' has no events")
    assert opened == []


def test_two_coders_but_only_one_screened_anything(tmp_path: Path, opened: list[dict[str, Any]]) -> None:
    s = project(tmp_path, "p")
    code(s, "alice", {0: (1, [TEEN]), 1: (1, [DEBT])})
    s.record(Event("bob", pid(s, 0), FLAG, value="1"))  # bob has not decided anything yet
    s.close()
    _fails(run(tmp_path / "p.db", "--coder", "lead"),
           "two coders with screened or finished posts; only alice has screened any yet.")
    assert opened == []


def test_screening_disagreements_are_reconciled(tmp_path: Path, opened: list[dict[str, Any]]) -> None:
    """Screening mode records relevance and no `done`: the 43 different decisions are still disputed."""
    s = project(tmp_path, "p", SCREENED)
    a, b = screening_plans()
    screen(s, "alice", a)
    screen(s, "bob", b)
    s.close()
    result = run(tmp_path / "p.db", "--coder", "lead")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{SCREEN_DISAGREE} disputed posts, {SCREEN_DISAGREE} still to reconcile."
    assert opened and opened[-1]["coders"] == ["alice", "bob"]


def test_reconcile_coder_name_is_checked(tmp_path: Path, opened: list[dict[str, Any]]) -> None:
    db = _db(tmp_path, alice={0: (1, [TEEN])}, bob={0: (1, [ADULT])})
    _fails(run(db, "--coder", "lead\nNothing to reconcile."), "--coder cannot be used: the coder name contains a line")
    _fails(run(db, "--coder", "x" * 65), "the coder name is 65 characters long, over the limit of 64")
    assert opened == []


def test_nothing_to_reconcile_is_not_an_error(tmp_path: Path, opened: list[dict[str, Any]]) -> None:
    db = _db(tmp_path, alice={0: (1, [TEEN, FIRST]), 1: (0, [])}, bob={0: (1, [TEEN, FIRST]), 1: (0, [])})
    result = run(db, "--coder", "lead")
    assert result.exit_code == 0
    assert result.output.strip() == ("Nothing to reconcile: alice and bob agree on all 2 posts they all screened "
                                     "(relevance) and all 2 they all finished (codes).")
    assert opened == []


def test_nothing_finished_in_common(tmp_path: Path, opened: list[dict[str, Any]]) -> None:
    db = _db(tmp_path, alice={0: (1, [TEEN])}, bob={1: (1, [ADULT])})
    result = run(db, "--coder", "lead")
    assert result.exit_code == 0 and "Nothing to reconcile: no post has been screened by all of alice, bob" in \
        result.output
    assert opened == []


def test_opens_the_app_with_the_chosen_coders_and_sort(tmp_path: Path, opened: list[dict[str, Any]]) -> None:
    db = _db(tmp_path, alice={0: (1, [TEEN]), 1: (1, [DEBT])}, bob={0: (1, [ADULT]), 1: (1, [DEBT])},
             carol={0: (1, [TEEN]), 1: (1, [FIRST])})
    result = run(db, "--coder", "lead", "--coders", "alice,bob", "--sort", "code")
    assert result.exit_code == 0, result.output
    assert "1 disputed post, 1 still to reconcile." in result.output
    assert opened == [{"db": db, "coder": "lead", "coders": ["alice", "bob"], "sort": "code"}]
    assert run(db, "--coder", "lead").exit_code == 0
    assert opened[-1]["coders"] == ["alice", "bob", "carol"] and opened[-1]["sort"] == "count"
    bad = run(db, "--coder", "lead", "--sort", "label")
    assert bad.exit_code == 2 and "'label' is not one of" in bad.output


def test_help_lists_the_options() -> None:
    result = CliRunner().invoke(cli, ["reconcile", "--help"])
    assert result.exit_code == 0
    for option in ("--coder", "--coders", "--sort"):
        assert option in result.output
