"""Plain tables and their writers: Markdown, LaTeX, CSV and JSON, with spreadsheet formulas neutralised.

Every text cell is cleaned of terminal control sequences first (coder names and code ids can come from
another coder's file), then escaped for its format: a report opened with `cat` must not run anything.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tui.core.safe import clean

__all__ = [
    "FORMULA_START", "Table", "cell", "latex_escape", "md_escape", "neutralise", "to_csv", "to_json",
    "to_latex", "to_markdown", "fmt_number",
]

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""A cell starting with one of these is run as a formula by Excel, LibreOffice or Google Sheets."""

_LATEX = {
    "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
    "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}",
    "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}",
}
_LATEX_RE = re.compile("|".join(re.escape(k) for k in _LATEX))
# What `clean` would change in a multi-line cell; most cells have none, so they skip the work.
_UNCLEAN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@dataclass
class Table:
    """A titled table of plain values: what every report section renders from."""

    title: str
    headers: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    note: str = ""

    def records(self) -> list[dict[str, Any]]:
        """The rows as dicts keyed by header."""
        return [dict(zip(self.headers, row, strict=False)) for row in self.rows]


def fmt_number(value: Any, digits: int = 3) -> str:
    """A cell as text: floats rounded, None empty."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def neutralise(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def latex_escape(text: str) -> str:
    """Text safe inside a LaTeX document: cleaned, specials escaped in one pass, CJK and other Unicode kept."""
    return _LATEX_RE.sub(lambda m: _LATEX[m.group()], clean(text or "", oneline=True))


def md_escape(text: str) -> str:
    """Text safe inside a Markdown table cell: cleaned, one line, pipes and markup characters escaped."""
    flat = clean(text or "", oneline=True)
    return re.sub(r"([\\|*_`<>\[\]#])", r"\\\1", flat)


def to_markdown(tables: Iterable[Table], heading: str = "###") -> str:
    """GitHub-flavoured Markdown: a heading and a pipe table per table."""
    parts: list[str] = []
    for t in tables:
        if t.title:
            parts.append(f"{heading} {md_escape(t.title)}\n")
        if t.note:
            parts.append(md_escape(t.note) + "\n")
        parts.append("| " + " | ".join(md_escape(h) for h in t.headers) + " |")
        parts.append("|" + "|".join("---" for _ in t.headers) + "|")
        for row in t.rows:
            parts.append("| " + " | ".join(md_escape(fmt_number(c)) for c in row) + " |")
        parts.append("")
    return "\n".join(parts)


def to_latex(tables: Iterable[Table], widths: Sequence[str] | None = None, label: str = "tab") -> str:
    """A longtable per table (needs \\usepackage{longtable}; CJK text needs xeCJK or ctex)."""
    out = ["% requires \\usepackage{longtable}; compile with XeLaTeX and xeCJK (or ctex) for Chinese text"]
    for i, t in enumerate(tables, 1):
        if widths is not None and len(widths) == len(t.headers):
            spec = "".join(f"p{{{w}}}" for w in widths)
        else:  # long text wraps in a paragraph column; short values stay on one line
            spec = "".join("p{6cm}" if any(len(fmt_number(r[i])) > 40 for r in t.rows) else "l"
                           for i in range(len(t.headers)))
        out.append(f"\\begin{{longtable}}{{{spec}}}")
        if t.title:
            out.append(f"\\caption{{{latex_escape(t.title)}}}\\label{{{label}-{i}}}\\\\")
        head = " & ".join(f"\\textbf{{{latex_escape(h)}}}" for h in t.headers) + " \\\\"
        out += ["\\hline", head, "\\hline", "\\endfirsthead", "\\hline", head, "\\hline", "\\endhead"]
        for row in t.rows:
            out.append(" & ".join(latex_escape(fmt_number(c)) for c in row) + " \\\\")
        out += ["\\hline", "\\end{longtable}", ""]
    return "\n".join(out)


def cell(value: Any) -> Any:
    """A value for an output file: text cleaned of control sequences (newlines kept), anything else as it is."""
    if isinstance(value, str) and _UNCLEAN.search(value):
        return clean(value)
    return value


def to_csv(table: Table) -> str:
    """CSV with a header row; text cells cleaned, and those a spreadsheet would run neutralised."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([neutralise(cell(h)) for h in table.headers])
    for row in table.rows:
        writer.writerow(["" if c is None else neutralise(cell(c)) for c in row])
    return buf.getvalue()


def _safe(obj: Any, neutral: bool) -> Any:
    # Keys too: some payloads are keyed by coder name or code id.
    if isinstance(obj, dict):
        return {cell(k): _safe(v, neutral) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_safe(v, neutral) for v in obj]
    return neutralise(cell(obj)) if neutral else cell(obj)


def to_json(obj: Any, *, neutral: bool = True) -> str:
    """Pretty JSON, UTF-8 kept, text cleaned; text values neutralised like CSV cells unless `neutral` is False."""
    return json.dumps(_safe(obj, neutral), ensure_ascii=False, indent=2) + "\n"
