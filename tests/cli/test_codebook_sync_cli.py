"""Codebook changes through `qualtui export`, `merge` and `reconcile --list` (CliRunner): the exact lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tests.samples import CODEBOOK
from tests.sync_helpers import CB, DOCS, FIRST, counts, project, rewrite
from tui.cli import cli
from tui.core.coding.open_coding import create_code, edit_code, retire_code
from tui.core.coding.session import Session
from tui.core.project.store import Store


def run(db: Path, *args: str) -> Result:
    """Invoke the CLI on a project file with an isolated (absent) config file."""
    env = {"QUALTUI_CONFIG": str(db.parent / "no-config.yaml"), "COLUMNS": "200"}
    return CliRunner().invoke(cli, ["--db", str(db), "--codebook", str(CODEBOOK), *args], env=env,
                              catch_exceptions=False)


@pytest.fixture
def two(tmp_path: Path) -> dict[str, Any]:
    """Alice and Bob, each in a project of their own, created alike codes and renamed one two ways."""
    pa, pb = project(tmp_path, "a"), project(tmp_path, "b")
    b = Session(pb, CB, "bob")
    b.go(0)
    bob = create_code(b, "Debt bondge", definition="Owes the boss.", parent="control")
    create_code(b, "Survivor account", definition="Told by a survivor.", parent=FIRST, assign=False, on_post=False)
    edit_code(b, DOCS, name="Documents taken", on_post=False)
    a = Session(pa, CB, "alice")
    a.go(0)
    alice = create_code(a, "Debt bondage", definition="Owes the compound.", parent="control", assign=False,
                        on_post=False)
    edit_code(a, DOCS, name="Seized papers", on_post=False)
    retire_code(a, FIRST, on_post=False)
    pa.close()
    pb.close()
    return {"a": pa.path, "b": pb.path, "alice": alice, "bob": bob, "fa": tmp_path / "alice.qualtui.jsonl",
            "fb": tmp_path / "bob.qualtui.jsonl"}


def test_export_and_merge_say_how_many_codebook_changes_came_in_and_which_the_fold_skips(
        two: dict[str, Any]) -> None:
    out = run(two["a"], "export", "--coder", "alice", "-o", str(two["fa"]))
    assert out.exit_code == 0 and out.output == f"{two['fa']}: 3 events of alice\n"
    assert run(two["b"], "export", "--coder", "bob", "-o", str(two["fb"])).exit_code == 0
    merged = run(two["b"], "merge", str(two["fa"]))
    assert merged.exit_code == 0, merged.output
    retire = json.loads(two["fa"].read_text(encoding="utf-8").splitlines()[-1])
    assert retire["kind"] == "code_retire"
    assert merged.output.splitlines()[:4] == [
        "merged alice.qualtui.jsonl: 3 events read, 3 new, 0 already here; 0 posts added",
        "  alice: 3 new events",
        "codebook: 3 changes came in; the fold skips 1:",
        f"  skipped alice's code_retire of '{FIRST}' at {retire['at']}: 'First-person experience' still has codes "
        "in use; retire, move or merge them first.",
    ]
    again = run(two["b"], "merge", str(two["fa"]))
    assert again.output.splitlines()[0] == ("merged alice.qualtui.jsonl: 3 events read, 0 new, 3 already here; "
                                            "0 posts added")
    assert "codebook:" not in again.output
    back = run(two["a"], "merge", str(two["fb"]))
    # Bob gave First-person a sub-code before alice retired it: her own retire, in force until now, is skipped.
    assert back.output.splitlines()[2:4] == merged.output.splitlines()[2:4]


def test_a_bad_codebook_change_refuses_the_merge_in_one_sentence(two: dict[str, Any]) -> None:
    run(two["a"], "export", "--coder", "alice", "-o", str(two["fa"]))
    rewrite(two["fa"], lambda h, b: b[-1].update(value="[]"))
    with Store(two["b"]) as s:
        before = counts(s)
    result = run(two["b"], "merge", str(two["fa"]))
    assert result.exit_code == 1
    assert result.output == ("Error: alice.qualtui.jsonl line 4: a code_retire event's value is not a JSON object. "
                             "Nothing was merged.\n")
    with Store(two["b"]) as s:
        assert counts(s) == before


def test_reconcile_list_shows_codebook_differences_before_posts(two: dict[str, Any]) -> None:
    run(two["a"], "export", "--coder", "alice", "-o", str(two["fa"]))
    run(two["b"], "merge", str(two["fa"]))
    result = run(two["b"], "reconcile", "--list")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "2 codebook differences:",
        "  similar codes: Two new codes look alike (names 96% alike)",
        "    alice: Control Mechanisms › Debt bondage: Owes the compound.",
        "    bob: Control Mechanisms › Debt bondge: Owes the boss.",
        "    choices: a keep alice's 'Debt bondage' and merge 'Debt bondge' into it; b keep bob's 'Debt bondge' "
        "and merge 'Debt bondage' into it; o keep both: they are different codes",
        "  conflicting edits: The name of 'Control Mechanisms › Seized papers' was edited differently",
        "    alice: Seized papers",
        "    bob: Documents taken",
        "    choices: a alice's name: Seized papers; b bob's name: Documents taken; e type a new name",
        "0 disputed posts, 0 still to reconcile.",
    ]


def test_reconcile_opens_on_codebook_differences_alone(two: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Before, reconciling needed two coders with screened posts: alice screened none, so it refused."""
    calls: list[str] = []

    def fake(db: Path, codebook: object, coder: str, config: object, **kwargs: Any) -> int:
        calls.append(coder)
        return 0

    monkeypatch.setattr("tui.ui.reconcile_app.run_reconcile", fake)
    run(two["a"], "export", "--coder", "alice", "-o", str(two["fa"]))
    run(two["b"], "merge", str(two["fa"]))
    result = run(two["b"], "reconcile", "--coder", "lead")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:2] == ["2 codebook differences to reconcile first.",
                                              "0 disputed posts, 0 still to reconcile."]
    assert calls == ["lead"]
