"""`qualtui export`, `qualtui merge`, `qualtui agreement`, `qualtui codebook orphans`: working as a team."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tui.cli.codebook import codebook_group
from tui.cli.common import Project, coder_name, console, fail, text

if TYPE_CHECKING:
    from tui.core.sync.tables import AgreementTable


def _figure(value: float | None, percent: bool = False) -> str:
    if value is None:
        return "—"
    return f"{value * 100:.1f}%" if percent else f"{value:.3f}"


def _cell(value: Any) -> Any:
    """A CSV cell from untrusted text, with spreadsheet formulas neutralised."""
    from tui.core.report.writers import neutralise
    from tui.core.safe import clean

    return neutralise(clean(value, oneline=True)) if isinstance(value, str) else value


def _default_name(coder: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", coder).strip("._") or "coder"
    from tui.core.sync.exchange import SUFFIX

    return f"{safe}-{date.today().isoformat()}{SUFFIX}"


@click.command("export")
@click.option("--coder", default=None, help="Whose events to export.")
@click.option("--consensus", is_flag=True, help="Export the reconciled decisions (coder 'consensus').")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="The file to write, a regular file or a new path [default: CODER-DATE.qualtui.jsonl].")
@click.option("--with-text", is_flag=True, help="Include post title, text, tags, time, URL and keyword "
              "(never the author), so a project without these posts can merge the file.")
@click.option("--with-wellbeing", is_flag=True, help="Include your well-being records (exposure, breaks); "
              "left out unless you opt in.")
@click.option("--format", "fmt", default="jsonl", show_default=True, type=click.Choice(["jsonl", "qdpx"]),
              help="jsonl: the exchange file for `qualtui merge`; qdpx: the coded project for QualCoder, ATLAS.ti, "
              "NVivo, MAXQDA (all coders unless --coder or --consensus).")
@click.option("--relevant-only", is_flag=True, help="qdpx: only posts a coder judged relevant.")
@click.pass_obj
def export_cmd(project: Project, coder: str | None, consensus: bool, output: Path | None, with_text: bool,
               with_wellbeing: bool, fmt: str = "jsonl", relevant_only: bool = False) -> None:
    """Write one coder's events to an exchange file (JSON Lines with a checksummed header), or the project as .qdpx."""
    if fmt == "qdpx":
        from tui.cli.qdpx import export_qdpx_file

        return export_qdpx_file(project, coder, consensus, output, relevant_only, with_wellbeing)
    from tui.core.files import FileRefused, check_writable_target
    from tui.core.project.events import CONSENSUS
    from tui.core.sync.exchange import SyncError, export_events

    if consensus and coder and coder != CONSENSUS:
        fail("Give either --coder NAME or --consensus, not both.")
    who = CONSENSUS if consensus else (coder or "").strip()
    if not who:
        fail("Say whose work to export: --coder NAME, or --consensus.")
    coder_name(who)
    store = project.store()
    path = output or Path(_default_name(who))
    try:
        # A symlink, FIFO, device or folder at the path is refused, never replaced.
        check_writable_target(path, what="exchange file")
    except FileRefused as exc:
        fail(str(exc))
    try:
        # The codebook file's hash: the changes made while coding travel in the file as events.
        result = export_events(store, path, coder=who, codebook_hash=project.codebook().file_codebook().hash,
                               with_text=with_text, with_wellbeing=with_wellbeing)
    except (SyncError, OSError) as exc:
        fail(str(exc))
    extra = f", {result.posts} posts with text" if with_text else ""
    extra += f", {result.wellbeing} well-being rows" if with_wellbeing else ""
    console().print(text(f"{result.path}: {result.events} events of {who}{extra}"))


@click.command("merge")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--as", "rename", default=None, metavar="NAME",
              help="Merge the file's coder under another name (when a coder here has the same name).")
@click.pass_obj
def merge_cmd(project: Project, files: tuple[Path, ...], rename: str | None) -> None:
    """Merge exchange files into the project (all or nothing), then show agreement."""
    from tui.core.sync.exchange import SyncError
    from tui.core.sync.merge import merge_files

    store = project.store()
    cb = project.codebook()
    try:
        report = merge_files(store, files, resolve=cb.resolve, codebook_hash=cb.file_codebook().hash, rename=rename,
                             file_codebook=cb.file_codebook())
    except SyncError as exc:
        fail(str(exc))
    out, err = console(), console(stderr=True)
    for warning in report.warnings:
        err.print(text(f"Warning: {warning}"))
    names = ", ".join(report.files)
    out.print(text(f"merged {names}: {report.read} events read, {report.added} new, {report.already} already "
                   f"here; {report.posts_added} posts added"
                   + (f", {report.wellbeing_added} well-being rows" if report.wellbeing_added else "")))
    for coder, n in sorted(report.coders.items()):
        out.print(text(f"  {coder}: {n} new events"))
    if report.codebook_changes or report.skipped:
        n = report.codebook_changes
        out.print(text(f"codebook: {n} change{'' if n == 1 else 's'} came in"
                       + (f"; the fold skips {len(report.skipped)}:" if report.skipped else "")))
        for line in report.skipped:
            out.print(text(f"  skipped {line}"))
    project.forget_codebook()  # the merged changes are part of the codebook the agreement summary uses
    _summary(project)


def _summary(project: Project) -> None:
    """Agreement by category after a merge (or why there is none yet)."""
    from tui.core.sync.consensus import ConsensusError
    from tui.core.sync.tables import agreement_table

    try:
        table = agreement_table(project.store(), project.codebook(), by="category")
    except ConsensusError as exc:
        console().print(text(f"No agreement yet: {exc}"))
        return
    _print_table(table)
    console().print(text("Per code: qualtui agreement; per sub-code: qualtui agreement --by subcode."))


def _print_table(table: AgreementTable) -> None:
    from rich.table import Table

    out = console()
    who = ", ".join(table.coders)
    if table.n_screened == 0:
        out.print(text(f"No post has been screened by all of {who} yet, so there is nothing to compare."))
        return
    # Relevance and codes are compared over different posts; the title says over which.
    title = f"Agreement of {who}: relevance over {table.n_screened} posts they all screened"
    if table.by != "relevance":
        title += f", codes over {table.n_posts} posts they all finished"
    grid = Table(title=text(title), title_justify="left")
    two = len(table.coders) == 2
    grid.add_column("code", overflow="fold", min_width=16)
    for col in ("agree", "kappa" if two else "", "alpha", "both"):
        if col:
            grid.add_column(col, justify="right")
    for coder in table.coders:
        grid.add_column(text(f"only {coder}"), justify="right")
    level = ""
    for row in table.rows:
        if level and row.level != level:
            grid.add_section()
        level = row.level
        r = row.result
        cells = [text(row.id), _figure(r.percent, True)]
        if two:
            cells.append(_figure(r.kappa))
        cells += [_figure(r.alpha), str(r.both)] + [str(r.only.get(c, 0)) for c in table.coders]
        grid.add_row(*cells)
    out.print(grid)
    if table.by != "relevance" and table.n_posts == 0:
        out.print(text(f"No post has been finished by all of {who} yet (screened out, or coded and marked done), "
                       "so codes are not compared."))


@click.command("agreement")
@click.option("--by", "by", default="code", show_default=True,
              type=click.Choice(["code", "subcode", "category", "relevance", "all"]),
              help="The level of the rows (relevance is always the first row).")
@click.option("--format", "fmt", default="table", show_default=True, type=click.Choice(["table", "csv", "json"]))
@click.option("--coders", default=None, help="Comma-separated coders to compare [default: all but consensus].")
@click.option("--notes", is_flag=True, help="Show the codebook-revision notes left during reconciliation instead.")
@click.pass_obj
def agreement_cmd(project: Project, by: str, fmt: str, coders: str | None, notes: bool) -> None:
    """Inter-coder agreement: %, kappa, alpha, counts (relevance over screened posts, codes over finished ones)."""
    from tui.core.sync.consensus import ConsensusError
    from tui.core.sync.tables import agreement_table

    store, cb = project.store(), project.codebook()
    if notes:
        _print_notes(project, fmt)
        return
    try:
        table = agreement_table(store, cb, coders=coders.split(",") if coders else None, by=by)
    except ConsensusError as exc:
        fail(str(exc))
    if fmt == "table":
        _print_table(table)
        return
    rows = [row.as_dict() for row in table.rows]
    if fmt == "json":
        click.echo(json.dumps({"coders": list(table.coders), "posts": table.n_posts, "screened": table.n_screened,
                               "by": table.by, "rows": rows}, ensure_ascii=False, indent=1))
        return
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["level", "id", "name", "posts", "percent", "kappa", "alpha", "both"]
               + [_cell(f"only {c}") for c in table.coders] + ["neither", "disagree"])
    for d in rows:
        w.writerow([_cell(d["level"]), _cell(d["id"]), _cell(d["name"]), d["posts"], d["percent"], d["kappa"],
                    d["alpha"], d["both"]] + [d["only"].get(c, 0) for c in table.coders] + [d["neither"],
                                                                                             d["disagree"]])
    click.echo(buf.getvalue(), nl=False)


def _print_notes(project: Project, fmt: str) -> None:
    from dataclasses import asdict

    from tui.core.sync.revisions import revision_notes

    groups = revision_notes(project.store(), project.codebook())
    flat = [asdict(n) for notes in groups.values() for n in notes]
    if fmt == "json":
        click.echo(json.dumps(flat, ensure_ascii=False, indent=1))
        return
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        cols = ["code_id", "name", "label", "type", "note", "choice", "by", "at"]
        w.writerow(cols)
        for n in flat:
            w.writerow([_cell(n[c]) for c in cols])
        click.echo(buf.getvalue(), nl=False)
        return
    out = console()
    if not groups:
        out.print(text("No reconciliation note yet (notes come from reasons typed 'unclear definition' "
                       "or with a written note)."))
        return
    for cid, notes in groups.items():
        out.print(text(f"{notes[0].name}" + (f"  ({cid})" if cid else ""), "bold"))
        for note in notes:
            out.print(text(f"  {note.label}  {note.type}: {note.note or '—'}" + (f"  [{note.by}]" if note.by else "")))


@codebook_group.command("orphans")
@click.pass_obj
def orphans_cmd(project: Project) -> None:
    """Code ids in coders' decisions that the codebook no longer knows: which posts and coders used them."""
    from tui.core.sync.revisions import orphans

    found = orphans(project.store(), project.codebook())
    out = console()
    if not found:
        out.print(text("Every code in the coders' decisions is in the codebook."))
        return
    for o in found:
        out.print(text(f"{o.code_id}: {len(o.labels)} posts, coders {', '.join(o.coders)}"
                       + (f", {o.quotes} quotes" if o.quotes else ""), "bold"))
        out.print(text("  " + " ".join(o.labels)))
    out.print(text("Add the old id under `former_ids` of the code that replaces it, or re-code these posts."))


def register(cli: click.Group) -> None:
    """Add this module's commands."""
    for cmd in (export_cmd, merge_cmd, agreement_cmd):
        cli.add_command(cmd)
