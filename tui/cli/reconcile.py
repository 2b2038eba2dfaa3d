"""`qualtui reconcile`: the coders' disagreements side by side, decided one post at a time."""

from __future__ import annotations

from pathlib import Path

import click

from tui.cli.common import Project, app_config, coder_name, console, fail, text


@click.command("reconcile")
@click.option("--coder", default=None, help="Your name, recorded with each decision [default: from the config file].")
@click.option("--coders", default=None, help="Comma-separated coders to compare [default: all but consensus].")
@click.option("--sort", type=click.Choice(["count", "code"]), default="count", show_default=True,
              help="count: most disagreements first; code: in codebook order of the disputed codes.")
@click.pass_obj
def reconcile_cmd(project: Project, coder: str | None, coders: str | None, sort: str) -> None:
    """Reconcile disagreements: keep A, B, both or neither, or write the set; each choice with a reason."""
    from tui.core.project.events import CONSENSUS
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
    if not name:
        fail("Who is reconciling? Pass --coder NAME (or set `coder:` in the config file).")
    if name == CONSENSUS:
        fail("'consensus' is where the decisions go; pass your own name with --coder.")
    coder_name(name)
    store = project.store()
    codebook = project.codebook()
    try:
        chosen = default_coders(store, coders.split(",") if coders else None)
    except ConsensusError as exc:
        fail(str(exc))
    states = load_states(store, chosen)
    # Screening mode leaves posts screened but not done: those relevance decisions are reconciled too.
    with_work = [c for c in chosen if any(screened(st) for st in states[c].values())]
    if len(with_work) < 2:
        who = f"only {with_work[0]} has" if with_work else f"none of {', '.join(chosen)} has"
        fail(f"Reconciling needs two coders with screened or finished posts; {who} screened any yet.")
    try:
        found = disagreements(store, codebook, coders=chosen, sort=sort)
    except ConsensusError as exc:
        fail(str(exc))
    if not found:
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


def register(cli: click.Group) -> None:
    """Add this module's commands."""
    cli.add_command(reconcile_cmd)
