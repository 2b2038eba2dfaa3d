"""`qualtui reconcile`: the coders' disagreements side by side, decided one post at a time."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from tui.cli.common import Project, app_config, coder_name, console, fail, text

if TYPE_CHECKING:
    from tui.core.codebook.model import Codebook
    from tui.core.sync.codebook_diff import CodebookDiff
    from tui.core.sync.consensus import Disagreement


@click.command("reconcile")
@click.option("--coder", default=None, help="Your name, recorded with each decision [default: from the config file].")
@click.option("--coders", default=None, help="Comma-separated coders to compare [default: all but consensus].")
@click.option("--sort", type=click.Choice(["count", "code"]), default="count", show_default=True,
              help="count: most disagreements first; code: in codebook order of the disputed codes.")
@click.option("--list", "as_list", is_flag=True,
              help="Only list what is to reconcile: codebook differences first, then disputed posts.")
@click.pass_obj
def reconcile_cmd(project: Project, coder: str | None, coders: str | None, sort: str, as_list: bool = False) -> None:
    """Reconcile disagreements: codebook differences first, then posts (keep A, B, both or neither, or the set)."""
    from tui.core.project.events import CONSENSUS
    from tui.core.sync.codebook_diff import codebook_differences
    from tui.core.sync.consensus import (
        ConsensusError,
        default_coders,
        disagreements,
        finished_in_common,
        load_states,
        screened,
        screened_in_common,
    )

    config = app_config()
    name = (coder or getattr(config, "coder", None) or "").strip()
    if not name and not as_list:
        fail("Who is reconciling? Pass --coder NAME (or set `coder:` in the config file).")
    if name == CONSENSUS:
        fail("'consensus' is where the decisions go; pass your own name with --coder.")
    if name:
        coder_name(name)
    store = project.store()
    codebook = project.codebook()
    try:
        chosen = default_coders(store, coders.split(",") if coders else None)
    except ConsensusError as exc:
        fail(str(exc))
    # Codebook differences come first: codes created, moved, renamed or merged differently by the coders.
    diffs = codebook_differences(store, codebook.file_codebook(), chosen)
    if as_list:
        list_differences(diffs, codebook)
    states = load_states(store, chosen)
    # Screening mode leaves posts screened but not done: those relevance decisions are reconciled too.
    with_work = [c for c in chosen if any(screened(st) for st in states[c].values())]
    if as_list:
        try:
            found = disagreements(store, codebook, coders=chosen, sort=sort) if len(with_work) >= 2 else []
        except ConsensusError as exc:
            fail(str(exc))
        list_posts(found)
        return
    if len(with_work) < 2 and not diffs:
        who = f"only {with_work[0]} has" if with_work else f"none of {', '.join(chosen)} has"
        fail(f"Reconciling needs two coders with screened or finished posts; {who} screened any yet.")
    try:
        found = disagreements(store, codebook, coders=chosen, sort=sort) if len(with_work) >= 2 else []
    except ConsensusError as exc:
        fail(str(exc))
    if diffs:
        console().print(text(f"{len(diffs)} codebook difference{'' if len(diffs) == 1 else 's'} to reconcile first."))
    if not found and not diffs:
        common, finished = screened_in_common(states), finished_in_common(states)
        names = ", ".join(chosen[:-1]) + " and " + chosen[-1]
        why = (f"{names} agree on all {len(common)} posts they all screened (relevance) and all {len(finished)} "
               "they all finished (codes)." if common
               else f"no post has been screened by all of {', '.join(chosen)} yet.")
        console().print(text("Nothing to reconcile: " + why))
        return
    still = sum(not d.resolved for d in found)
    console().print(text(f"{len(found)} disputed post{'' if len(found) == 1 else 's'}, {still} still to reconcile."))
    project.close_store()
    from tui.cli.coding import exit_like_app
    from tui.ui.reconcile_app import run_reconcile

    code = run_reconcile(Path(project.db_path), codebook, name, config,
                         coders=chosen, sort=sort)
    exit_like_app(code)


def list_differences(diffs: list[CodebookDiff], codebook: Codebook) -> None:
    """Print the codebook differences, each with the coders' sides and the choices it offers."""
    from tui.core.sync.codebook_choice import options
    from tui.core.sync.codebook_diff import KIND_NAMES

    out = console()
    n = len(diffs)
    out.print(text(f"{n} codebook difference{'' if n == 1 else 's'}" + (":" if n else "."), "bold"))
    for d in diffs:
        out.print(text(f"  {KIND_NAMES[d.kind]}: {d.title}"))
        for side in d.sides:
            out.print(text(f"    {side.coder}: {side.says}"))
        out.print(text("    choices: " + "; ".join(f"{o.key} {o.label}" for o in options(d, codebook))))


def list_posts(found: list[Disagreement]) -> None:
    """Print the disputed posts, each with what is disputed."""
    out = console()
    still = sum(not d.resolved for d in found)
    n = len(found)
    out.print(text(f"{n} disputed post{'' if n == 1 else 's'}, {still} still to reconcile" + (":" if n else "."),
                   "bold"))
    for d in found:
        out.print(text(f"  {d.label}{' (reconciled)' if d.resolved else ''}: "
                       + ", ".join(x.name for x in d.disputed)))


def register(cli: click.Group) -> None:
    """Add this module's commands."""
    cli.add_command(reconcile_cmd)
