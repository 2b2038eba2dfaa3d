"""`qualtui code` and `qualtui demo`: open the coding app."""

from __future__ import annotations

import getpass
import os
from pathlib import Path

import click

from tui.cli.common import Project, app_config, coder_name, console, fail, text


def exit_like_app(code: int) -> None:
    """End the command with the app's exit status: after a crash (Textual printed it above) never 0."""
    if code:
        click.echo("qualtui stopped on an unexpected error (above); decisions made before it are saved.", err=True)
        raise SystemExit(code)


AUTO_HELP = ("Do not pre-label posts without pre-labels in the background "
             "(as `auto_prelabel: false` in the config file).")


def _open(project: Project, coder: str, mode: str | None, no_auto: bool = False) -> None:
    from tui.core.coding.session import SessionError
    from tui.ui.app import run_app

    config = app_config()
    if no_auto:
        config.auto_prelabel = False
    codebook = project.codebook()
    if not Path(project.db_path).exists():
        fail(f"No project at {project.db_path}: run `qualtui import FILE` first, or pass --db.")
    try:
        code = run_app(Path(project.db_path), codebook, coder, config, mode=mode)
    except SessionError as exc:
        fail(str(exc))
    exit_like_app(code)


@click.command("code")
@click.option("--coder", default=None, help="Your coder name [default: from the config file].")
@click.option("--mode", type=click.Choice(["screening", "coding"]), default=None,
              help="Start in screening (relevance 0/1) or coding mode.")
@click.option("--no-auto-prelabel", "no_auto", is_flag=True, help=AUTO_HELP)
@click.pass_obj
def code_cmd(project: Project, coder: str | None, mode: str | None, no_auto: bool) -> None:
    """Open the coding app: one post at a time, everything by keyboard, breaks enforced."""
    name = coder or getattr(app_config(), "coder", None)
    if not name:
        fail("Who is coding? Pass --coder NAME (or set `coder:` in the config file).")
    coder_name(name)
    project.store()  # fails clearly when the project does not exist
    project.close_store()
    _open(project, name, mode, no_auto)


@click.command("demo")
@click.option("--coder", default=None, help="Coder name [default: your login name].")
@click.option("--no-auto-prelabel", "no_auto", is_flag=True, help=AUTO_HELP)
@click.pass_obj
def demo_cmd(project: Project, coder: str | None, no_auto: bool) -> None:
    """Import the shipped sample corpus (if the project is empty) and open the app on it."""
    from tui.core.paths import sample_corpus
    from tui.core.project.ingest import ImportError_, import_file

    if coder is not None:
        coder_name(coder)
    store = project.store(create=True)
    if store.count_posts() == 0:
        try:
            report = import_file(store, sample_corpus())
        except ImportError_ as exc:
            fail(str(exc))
        console().print(text(f"Imported {report.imported} sample posts into {project.db_path}."))
    project.close_store()
    name = coder or os.environ.get("QUALTUI_CODER") or getpass.getuser() or "me"
    _open(project, name, None, no_auto)


def register(cli: click.Group) -> None:
    """Add this module's commands."""
    cli.add_command(code_cmd)
    cli.add_command(demo_cmd)
