"""The `qualtui` command line: thin click commands over tui.core."""

from __future__ import annotations

import sqlite3
from typing import Any

import click

from tui.commands import (
    codebook_cmds, coding_cmds, common, corpus, prelabel_cmds, reconcile_cmds, report_cmds, sync_cmds,
    wellbeing_cmds,
)


class QualtuiGroup(click.Group):
    """The command group; SQLite's own errors (busy, read-only, disk full) become one sentence here."""

    def invoke(self, ctx: click.Context) -> Any:
        from tui.core.store import StoreError, describe_db_error

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


for module in (corpus, codebook_cmds, coding_cmds, prelabel_cmds, sync_cmds, reconcile_cmds, report_cmds,
               wellbeing_cmds):
    module.register(cli)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="qualtui")
