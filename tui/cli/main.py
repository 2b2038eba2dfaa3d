"""The `qualtui` command line: thin click commands over tui.core."""

from __future__ import annotations

import sqlite3
from typing import Any

import click

from tui.cli import (
    codebook,
    coding,
    common,
    corpus,
    prelabel,
    reconcile,
    report,
    sync,
    wellbeing,
)

GLOBAL_OPTIONS = ("--db", "--codebook")
"""Project options a user may also type after the subcommand (`qualtui import x.json --db p.db`)."""

class QualtuiGroup(click.Group):
    """The command group: project options after the subcommand too; SQLite's own errors as one sentence."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Move `--db`/`--codebook` given after the subcommand to just before it."""
        return super().parse_args(ctx, hoist_global_options(args))

    def invoke(self, ctx: click.Context) -> Any:
        from tui.core.project.errors import StoreError, describe_db_error  # light: no sqlite-utils

        try:
            return super().invoke(ctx)
        except (sqlite3.Error, StoreError) as exc:
            project = ctx.obj if isinstance(ctx.obj, common.Project) else None
            message = str(exc) if isinstance(exc, StoreError) else describe_db_error(
                exc, project.db_path if project else "qualtui.db")
            if project is not None:
                project.discard_if_new()
            if message is None:
                raise  # not something the user can act on: a bug, shown as such
            raise common.UserError(message) from None
        except (click.exceptions.Exit, SystemExit) as exc:
            code = exc.exit_code if isinstance(exc, click.exceptions.Exit) else exc.code
            if code not in (0, None) and isinstance(ctx.obj, common.Project):
                ctx.obj.discard_if_new()
            raise
        except BaseException:
            # A command that fails leaves no new, empty project file behind.
            if isinstance(ctx.obj, common.Project):
                ctx.obj.discard_if_new()
            raise


def hoist_global_options(args: list[str]) -> list[str]:
    """`args` with the project options that follow the subcommand name moved in front of it."""
    i = 0
    while i < len(args) and args[i].startswith("-") and args[i] != "--":
        i += 2 if args[i] in GLOBAL_OPTIONS else 1
    if i >= len(args):
        return list(args)
    head, rest, moved = list(args[:i]), [], []
    j = i
    while j < len(args):
        arg = args[j]
        if arg == "--":
            rest.extend(args[j:])
            break
        if arg in GLOBAL_OPTIONS and j + 1 < len(args):
            moved.extend(args[j:j + 2])
            j += 2
            continue
        if arg.split("=", 1)[0] in GLOBAL_OPTIONS and "=" in arg:
            moved.append(arg)
        else:
            rest.append(arg)
        j += 1
    return head + moved + rest


@click.group(cls=QualtuiGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--db", "db_path", default="qualtui.db", envvar="QUALTUI_DB", show_default=True,
    type=click.Path(dir_okay=True), help="The project file.",
)
@click.option(
    "--codebook", "codebook_path", default=None, envvar="QUALTUI_CODEBOOK",
    type=click.Path(dir_okay=True), help="The codebook (default: ./codebook.yaml, else the study codebook).",
)
@click.version_option(package_name="qualtui")
@click.pass_context
def cli(ctx: click.Context, db_path: str, codebook_path: str | None) -> None:
    """qualtui: code distressing social-media posts offline, by keyboard, with breaks that protect you."""
    ctx.obj = common.Project(db_path=db_path, codebook_path=codebook_path)


for module in (corpus, codebook, coding, prelabel, sync, reconcile, report,
               wellbeing):
    module.register(cli)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="qualtui")
