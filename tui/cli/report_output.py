"""How `qualtui report` writes its sections: the format chosen, the terminal tables, files written safely."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tui.cli.common import console, fail, text

if TYPE_CHECKING:
    from tui.core.report.writers import Table

FORMATS = ("table", "md", "csv", "json", "latex")
EXTENSIONS = {".md": "md", ".markdown": "md", ".csv": "csv", ".json": "json", ".tex": "latex", ".qdc": "qdc"}


@dataclass
class Section:
    """One report section in every shape it can be written in."""

    title: str
    tables: list[Table]
    data: Any
    csv: Table | None = None
    markdown: str | None = None  # a body that is better than the tables (quotes)
    chart: str = ""


def pick_format(fmt: str | None, output: Path | None, default_file: str = "md") -> str:
    if fmt:
        return fmt
    if output is None:
        return "table"
    return EXTENSIONS.get(output.suffix.lower(), default_file)


def write_out(content: str, output: Path | None) -> None:
    """Print, or write the whole file at once (nothing is written if anything failed before)."""
    from tui.core.files import FileRefused, atomic_write

    if output is None:
        click.echo(content, nl=not content.endswith("\n"))
        return
    try:
        # A temporary file and a rename: a symlink, FIFO or device at the path is refused, not replaced.
        with atomic_write(output, newline="\n") as fh:
            fh.write(content)
    except FileRefused as exc:
        fail(str(exc))
    console(stderr=True).print(text(f"Wrote {output}"))


def check_target(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """Refuse an -o path that is not a regular file or a new path before any work is done."""
    from tui.core.files import FileRefused, check_writable_target

    if value is not None:
        try:
            check_writable_target(value)
        except FileRefused as exc:
            fail(str(exc))
    return value


def rich_table(t: Table) -> Any:
    from rich.table import Table as RichTable

    from tui.core.report.writers import fmt_number

    out = RichTable(title=text(t.title, "bold"), title_justify="left", caption=text(t.note) if t.note else None,
                    caption_justify="left")
    numeric = [all(isinstance(r[i], (int, float)) or r[i] is None for r in t.rows) and bool(t.rows)
               for i in range(len(t.headers))]
    for h, num in zip(t.headers, numeric, strict=False):
        out.add_column(text(h), justify="right" if num else "left", overflow="fold")
    for row in t.rows:
        out.add_row(*(text(fmt_number(c), oneline=True) for c in row))
    return out


def render(sections: list[Section], fmt: str, output: Path | None) -> None:
    from tui.core.report.writers import to_csv, to_json, to_latex, to_markdown
    from tui.core.safe import clean

    if fmt == "table" and output is None:
        out = console()
        for s in sections:
            for t in s.tables:
                out.print(rich_table(t))
            if s.chart:
                out.print(text(s.chart))
        return
    if fmt == "json":
        body = to_json(sections[0].data if len(sections) == 1 else {s.title.lower(): s.data for s in sections})
    elif fmt == "csv":
        if len(sections) != 1 or sections[0].csv is None:
            fail("CSV holds one table; export one section at a time (or use --format md or json).")
        body = to_csv(sections[0].csv)
    elif fmt == "latex":
        body = "\n".join(to_latex(s.tables, label=f"tab:{s.title.lower()}") for s in sections)
    else:
        parts = []
        for s in sections:
            parts.append(f"## {s.title}\n")
            if s.chart:
                parts.append("```text\n" + clean(s.chart).rstrip("\n") + "\n```\n")
            parts.append(s.markdown if s.markdown is not None else to_markdown(s.tables))
        body = "\n".join(parts)
    write_out(body, output)
