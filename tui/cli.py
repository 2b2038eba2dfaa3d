"""The `qualtui` command line: thin click commands over tui.core."""

from __future__ import annotations

import click

from tui.commands import (
    codebook_cmds, coding_cmds, common, corpus, prelabel_cmds, reconcile_cmds, report_cmds, sync_cmds,
    wellbeing_cmds,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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
