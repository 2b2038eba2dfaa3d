"""`qualtui report …` and `qualtui codebook export|import`: findings, appendix and exchange files."""

from __future__ import annotations

import shutil
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import click

from tui.cli.common import Project, console, fail, text

if TYPE_CHECKING:
    from tui.core.report.analyses import ReportData

from tui.cli.report_output import EXTENSIONS, FORMATS, Section, check_target, pick_format, render, write_out


def _data(project: Project) -> ReportData:
    from tui.core.report.data import ALL, ReportData, ReportError

    try:
        data = ReportData.load(project.store(), project.codebook())
        data.require(ALL)
    except ReportError as exc:
        fail(str(exc))
    return data


def _guard(fn: Callable[[], Any]) -> Any:
    from tui.core.report.analyses import ReportError

    try:
        return fn()
    except ReportError as exc:
        fail(str(exc))


# ---------------------------------------------------------------- sections


def frequencies_section(data: ReportData, coder: str | None, zeros: bool = False) -> Section:
    """Frequencies per coder and for the consensus."""
    from tui.core.report.analyses import frequencies
    from tui.core.report.export import frequency_records, frequency_table
    from tui.core.report.writers import Table

    rows = frequencies(data, data.codebook, coder)
    records = frequency_records(rows)
    long = Table("frequencies", list(records[0]) if records else [], [list(r.values()) for r in records])
    return Section("Frequencies", [frequency_table(rows, zeros)], {"rows": records}, long)


def cooccurrence_section(data: ReportData, coder: str | None, top: int, matrix: bool = False) -> Section:
    """Code pairs on the same post."""
    from tui.core.report.analyses import cooccurrence
    from tui.core.report.export import cooccurrence_table, matrix_table

    co = cooccurrence(data, data.codebook, coder)
    table = matrix_table(co) if matrix else cooccurrence_table(co, data.codebook, top or None)
    flat = table if matrix else cooccurrence_table(co, data.codebook, top or None, ids=True)
    payload = {"coder": co.coder, "n_posts": co.n_posts, "counts": co.counts,
               "pairs": [asdict(p) for p in (co.pairs[:top] if top else co.pairs)]}
    if matrix:
        payload["matrix"] = {"codes": table.headers[1:], "rows": [r[1:] for r in table.rows]}
    return Section("Co-occurrence", [table], payload, flat)


def saturation_section(data: ReportData, coder: str | None, run: int, level: str, per_post: bool = True,
                       colour: bool = False, measure: str | None = None) -> Section:
    """The saturation curve, its summary and the chart."""
    from tui.core.report.analyses import saturation
    from tui.core.report.export import saturation_chart, saturation_summary, saturation_table
    from tui.core.report.writers import Table

    sat = saturation(data, data.codebook, coder, run=run, level=level, measure=measure)
    width = max(40, min(100, shutil.get_terminal_size((100, 24)).columns - 2))
    table = saturation_table(sat)
    summary = Table("Saturation", ["Coder", "Posts", "Distinct", "Run", "Saturated at"],
                    [[sat.coder, len(sat.points), sat.total, sat.run, sat.saturated_at]],
                    note=saturation_summary(sat))
    payload = {"coder": sat.coder, "measure": sat.measure, "level": sat.level, "run": sat.run,
               "saturated_at": sat.saturated_at, "total": sat.total, "summary": saturation_summary(sat),
               "points": [asdict(p) for p in sat.points]}
    return Section("Saturation", [summary, table] if per_post else [summary], payload, table,
                   chart=saturation_chart(sat, width=width, height=18, colour=colour))


def quotes_section(data: ReportData, coder: str | None, code: str | None) -> Section:
    """Quotes per code under post labels, masked."""
    from tui.core.report.analyses import quotes
    from tui.core.report.export import quotes_markdown, quotes_table

    rows = quotes(data, data.codebook, coder, code)
    return Section("Quotes", [quotes_table(rows)], [asdict(r) for r in rows], quotes_table(rows, ids=True),
                   markdown=quotes_markdown(rows))


def screening_section(project: Project, data: ReportData, coder: str | None, threshold: float | None,
                      arm: str = "blind") -> Section:
    """The model-vs-human screening scorecard (decisions on blind posts only, unless `arm` says otherwise)."""
    from tui.core.report.analyses import screening
    from tui.core.report.export import screening_records, screening_tables

    s = screening(data, data.codebook, project.store(), coder, threshold, arm)
    payload = {"coder": s.coder, "threshold": s.threshold, "n_scored": s.n_scored, "n_decided": s.n_decided,
               "n_compared": s.n_compared, "basis": s.basis, "arm": s.arm, **asdict(s.scores),
               "measures": [asdict(m) for m in s.measures]}
    return Section("Screening", screening_tables(s), payload, screening_records(s))


def anchoring_section(project: Project, data: ReportData, threshold: float | None) -> Section:
    """Blind against shown posts: do the suggestions move the coders' decisions?"""
    from tui.core.report.anchoring import anchoring, anchoring_payload, anchoring_tables

    a = anchoring(project.store(), data.codebook, data, threshold)
    tables = anchoring_tables(a)
    return Section("Anchoring", tables, anchoring_payload(a), tables[0])


# ---------------------------------------------------------------- commands

_coder = click.option("--coder", default=None, help="Whose decisions (default: consensus if any, else all coders).")
_fmt = click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
                    help="Output format [default: table on the terminal, else from the -o extension].")
_arm = click.option("--arm", type=click.Choice(["blind", "shown", "all"]), default="blind", show_default=True,
                    help="blind: only posts coded with no suggestion on screen; shown, all: influenced by the "
                         "suggestions.")
_out = click.option("-o", "--output", type=click.Path(path_type=Path), default=None, callback=check_target,
                    help="Write to this file instead of the terminal (a regular file or a new path).")


@click.group("report")
def report_group() -> None:
    """Findings for the write-up: frequencies, co-occurrence, saturation, quotes, screening, anchoring."""


@report_group.command("frequencies")
@_coder
@click.option("--zeros", is_flag=True, help="Also list codes nobody used.")
@_fmt
@_out
@click.pass_obj
def frequencies_cmd(project: Project, coder: str | None, zeros: bool, fmt: str | None, output: Path | None) -> None:
    """Posts per category, code and sub-code, for each coder and the consensus."""
    data = _data(project)
    render([_guard(lambda: frequencies_section(data, coder, zeros))], pick_format(fmt, output), output)


@report_group.command("cooccurrence")
@_coder
@click.option("--top", default=20, show_default=True, type=click.IntRange(min=0), help="Pairs to list (0: all).")
@click.option("--matrix", is_flag=True, help="The full code × code matrix instead of the pairs.")
@_fmt
@_out
@click.pass_obj
def cooccurrence_cmd(project: Project, coder: str | None, top: int, matrix: bool, fmt: str | None,
                     output: Path | None) -> None:
    """Which codes appear together on the same post, with counts and Jaccard similarity."""
    data = _data(project)
    render([_guard(lambda: cooccurrence_section(data, coder, top, matrix))], pick_format(fmt, output), output)


@report_group.command("saturation")
@_coder
@click.option("--window", "--run", "run", default=10, show_default=True, type=click.IntRange(min=1),
              help="Posts in a row without a new code that count as saturation.")
@click.option("--measure", type=click.Choice(["created", "first-used"]), default=None,
              help="A new code is one created on the post while coding, or one applied for the first time "
                   "[default: created if codes were created while coding, else first-used].")
@click.option("--level", type=click.Choice(["all", "code"]), default="all", show_default=True,
              help="With first-used: count codes and sub-codes, or codes only.")
@_fmt
@_out
@click.pass_obj
def saturation_cmd(project: Project, coder: str | None, run: int, measure: str | None, level: str,
                   fmt: str | None, output: Path | None) -> None:
    """New codes per post in coding order, the cumulative curve, and where saturation was reached."""
    data = _data(project)
    chosen = pick_format(fmt, output)
    colour = chosen == "table" and output is None and sys.stdout.isatty()
    section = _guard(lambda: saturation_section(data, coder, run, level, per_post=chosen != "table", colour=colour,
                                                measure=measure))
    render([section], chosen, output)


@report_group.command("codes")
@_fmt
@_out
@click.pass_obj
def codes_cmd(project: Project, fmt: str | None, output: Path | None) -> None:
    """When each code first appeared: created while coding, or first used (codes from the codebook file)."""
    data = _data(project)
    render([_guard(lambda: first_seen_section(data))], pick_format(fmt, output), output)


def first_seen_section(data: ReportData) -> Section:
    """When each code first appeared."""
    from tui.core.report.analyses import first_appeared
    from tui.core.report.export import first_seen_table

    rows = first_appeared(data, data.codebook)
    table = first_seen_table(rows)
    return Section("First appeared", [table], {"codes": [asdict(r) for r in rows]}, table)


@report_group.command("quotes")
@_coder
@click.option("--code", default=None, help="Only this code id (its sub-codes included).")
@_fmt
@_out
@click.pass_obj
def quotes_cmd(project: Project, coder: str | None, code: str | None, fmt: str | None, output: Path | None) -> None:
    """Quoted sentences per code, with pseudonymous post labels; handles and contacts masked."""
    data = _data(project)
    if code and data.codebook.node(code) is None:
        fail(f"No code with id {code!r} in the codebook (try `qualtui lookup`).")
    render([_guard(lambda: quotes_section(data, coder, code))], pick_format(fmt, output), output)


@report_group.command("screening")
@click.option("--coder", default=None, help="Compare with this coder's decisions (default: the consensus).")
@click.option("--threshold", type=click.FloatRange(0, 1), default=None,
              help="P(relevant) at or above this counts as relevant [default: the codebook's].")
@_arm
@_fmt
@_out
@click.pass_obj
def screening_cmd(project: Project, coder: str | None, threshold: float | None, arm: str, fmt: str | None,
                  output: Path | None) -> None:
    """The LLM screen against human relevance decisions: confusion matrix, accuracy, FNR, kappa."""
    data = _data(project)
    render([_guard(lambda: screening_section(project, data, coder, threshold, arm))], pick_format(fmt, output), output)


@report_group.command("anchoring")
@click.option("--threshold", type=click.FloatRange(0, 1), default=None,
              help="P(relevant) at or above this is the model's 'relevant' [default: the codebook's].")
@_fmt
@_out
@click.pass_obj
def anchoring_cmd(project: Project, threshold: float | None, fmt: str | None, output: Path | None) -> None:
    """Blind against shown posts, per coder and pooled: agreement with the model, codes, time, coder agreement."""
    data = _data(project)
    render([_guard(lambda: anchoring_section(project, data, threshold))], pick_format(fmt, output), output)


@report_group.command("codings")
@click.option("--coder", "coders", multiple=True, help="Only these coders (repeatable; default all).")
@click.option("--wide", is_flag=True, help="One row per post and coder, one 0/1 column per code.")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default=None, help="[default: csv]")
@_out
@click.pass_obj
def codings_cmd(project: Project, coders: tuple[str, ...], wide: bool, fmt: str | None, output: Path | None) -> None:
    """Codings per post for R or pandas: post label, coder, code id and path, category, relevance."""
    from tui.core.report.export import codings_long, codings_wide
    from tui.core.report.writers import to_csv, to_json

    data = _data(project)
    table = _guard(lambda: (codings_wide if wide else codings_long)(data, list(coders) or None))
    chosen = fmt or (EXTENSIONS.get(output.suffix.lower()) if output else None) or "csv"
    write_out(to_json(table.records()) if chosen == "json" else to_csv(table), output)


@report_group.command("all")
@_coder
@click.option("--run", default=10, show_default=True, type=click.IntRange(min=1), help="Saturation run.")
@click.option("--top", default=20, show_default=True, type=click.IntRange(min=0), help="Co-occurring pairs.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=None, help="Screening threshold.")
@click.option("--format", "fmt", type=click.Choice(["table", "md", "json", "latex"]), default=None,
              help="[default: table on the terminal, else from the -o extension]")
@_out
@click.pass_obj
def all_cmd(project: Project, coder: str | None, run: int, top: int, threshold: float | None, fmt: str | None,
            output: Path | None) -> None:
    """Every section in one document, with the codebook as an appendix (Markdown, JSON or LaTeX)."""
    from tui.core.report.analyses import ReportError
    from tui.core.report.export import codebook_tables

    data = _data(project)
    chosen = pick_format(fmt, output)
    sections = _guard(lambda: [
        frequencies_section(data, None),
        cooccurrence_section(data, coder, top),
        saturation_section(data, coder, run, "all", per_post=False, colour=False),
        quotes_section(data, coder, None),
        first_seen_section(data),
    ])
    from tui.core.report.writers import Table

    makers: list[tuple[str, Callable[[], Section]]] = [
        ("Screening", lambda: screening_section(project, data, coder, threshold)),
        ("Anchoring", lambda: anchoring_section(project, data, threshold)),
    ]
    for title, make in makers:
        try:
            sections.append(make())
        except ReportError as exc:
            sections.append(Section(title, [Table(title, ["Note"], [[str(exc)]])], {"note": str(exc)}))
    if chosen != "table":
        cb = data.codebook
        sections.append(Section("Codebook", codebook_tables(cb), {"name": cb.name, "version": cb.version,
                                                                 "hash": cb.hash}))
    render(sections, chosen, output)


# ---------------------------------------------------------------- codebook export / import


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(["md", "latex", "qdc"]), default=None,
              help="[default: from the -o extension, else md]")
@_out
@click.pass_obj
def export_cmd(project: Project, fmt: str | None, output: Path | None) -> None:
    """The codebook as an appendix (Markdown, LaTeX) or as a REFI-QDA .qdc file for other QDA tools."""
    from tui.core.codebook.qdc import export_qdc
    from tui.core.report.export import codebook_latex, codebook_markdown

    chosen = fmt or (EXTENSIONS.get(output.suffix.lower()) if output else None) or "md"
    cb = project.codebook()
    writer = {"md": codebook_markdown, "latex": codebook_latex, "qdc": export_qdc}[chosen]
    write_out(writer(cb), output)


@click.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None, callback=check_target,
              help="The YAML codebook to write (default: print it).")
@click.option("--name", default=None, help="The codebook's name [default: the file name].")
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
def import_cmd(file: Path, output: Path | None, name: str | None, force: bool) -> None:
    """Convert a REFI-QDA .qdc codebook (QualCoder, NVivo, ATLAS.ti, MAXQDA) to a qualtui codebook."""
    from tui.core.codebook.qdc import QdcError, import_qdc

    if not file.exists():
        fail(f"{file}: no such file.")
    if output is not None and output.exists() and not force:
        fail(f"{output} already exists; pass --force to overwrite it.")
    try:
        result = import_qdc(file, name)
    except QdcError as exc:
        fail(f"{exc} Nothing was written.")
    write_out(result.yaml_text, output)
    err = console(stderr=True)
    cats, codes, subs = result.codebook.counts()
    err.print(text(f"{file.name}: {cats} categories, {codes} codes, {subs} sub-codes"))
    for note in result.notes:
        err.print(text(f"  note: {note}"))


def register(cli: click.Group) -> None:
    """Add this module's commands (and `codebook export|import` to the codebook group)."""
    from tui.cli.codebook import codebook_group

    cli.add_command(report_group)
    codebook_group.add_command(export_cmd)
    codebook_group.add_command(import_cmd)
