"""Every command has `--help`, every group's help lists its commands, and the docs name every command."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from tui.cli import cli

ROOT = Path(__file__).parents[2]


def _commands(group: click.Group = cli, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    """Every command and sub-command, as (path of names, command), groups before their children."""
    out: list[tuple[tuple[str, ...], click.Command]] = []
    for name, cmd in sorted(group.commands.items()):
        out.append(((*prefix, name), cmd))
        if isinstance(cmd, click.Group):
            out += _commands(cmd, (*prefix, name))
    return out


COMMANDS = _commands()


def _help(*args: str) -> str:
    result = CliRunner(env={"COLUMNS": "200"}).invoke(cli, [*args, "--help"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _listed(help_text: str) -> set[str]:
    """The command names in the 'Commands:' section of a help page."""
    section = help_text.split("\nCommands:\n", 1)[1] if "\nCommands:\n" in help_text else ""
    return {m.group(1) for m in re.finditer(r"^  (\S+)", section, re.M)}


def test_the_cli_has_the_commands_of_a_researchers_day() -> None:
    # Guards the tests below against an empty walk.
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"import", "sample", "code", "export", "merge", "reconcile", "report all", "lookup"} <= names


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=" ".join)
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    cmd = dict(COMMANDS)[path]
    assert (cmd.help or "").strip(), f"qualtui {' '.join(path)} has no help text"
    out = _help(*path)
    assert out.startswith(f"Usage: cli {' '.join(path)} ") or out.startswith(f"Usage: qualtui {' '.join(path)} ")


def test_top_level_help_lists_every_command() -> None:
    assert _listed(_help()) == set(cli.commands)


@pytest.mark.parametrize("path", [p for p, c in COMMANDS if isinstance(c, click.Group)], ids=" ".join)
def test_every_group_help_lists_its_commands(path: tuple[str, ...]) -> None:
    group = dict(COMMANDS)[path]
    assert isinstance(group, click.Group)
    assert _listed(_help(*path)) == set(group.commands)


def test_the_docs_name_every_command() -> None:
    """As in sqlite-utils' test_docs: a command nobody documented is one nobody will find."""
    docs = (ROOT / "README.md").read_text(encoding="utf-8")
    docs += "".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.md")))
    missing = [" ".join(path) for path, _ in COMMANDS if f"qualtui {' '.join(path)}" not in docs
               and not (len(path) == 2 and re.search(rf"qualtui {path[0]} [^\n`]*\b{path[1]}\b", docs))]
    assert missing == []


def test_the_console_script_lists_every_command() -> None:
    script = Path(sys.executable).parent / "qualtui"
    if not script.exists():
        pytest.skip("the qualtui console script is not installed in this environment")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Usage: qualtui ")
    assert _listed(done.stdout) == set(cli.commands)
