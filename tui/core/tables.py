"""Plain tables and their writers: Markdown, LaTeX, CSV and JSON, with spreadsheet formulas neutralised."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "FORMULA_START", "Table", "latex_escape", "md_escape", "neutralise", "to_csv", "to_json",
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
_SPACE = re.compile(r"\s+")


@dataclass
class Table:
    """A titled table of plain values: what every report section renders from."""

    title: str
    headers: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    note: str = ""

    def records(self) -> list[dict[str, Any]]:
        """The rows as dicts keyed by header."""
        return [dict(zip(self.headers, row)) for row in self.rows]


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
    """Text safe inside a LaTeX document: specials escaped in one pass, CJK and other Unicode kept."""
    return _LATEX_RE.sub(lambda m: _LATEX[m.group()], _SPACE.sub(" ", text or "").strip())


def md_escape(text: str) -> str:
    """Text safe inside a Markdown table cell: one line, pipes and markup characters escaped."""
    flat = _SPACE.sub(" ", text or "").strip()
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


def to_csv(table: Table) -> str:
    """CSV with a header row; text cells that a spreadsheet would run are neutralised."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([neutralise(h) for h in table.headers])
    for row in table.rows:
        writer.writerow(["" if c is None else neutralise(c) for c in row])
    return buf.getvalue()


def _neutral(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _neutral(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_neutral(v) for v in obj]
    return neutralise(obj)


def to_json(obj: Any, *, neutral: bool = True) -> str:
    """Pretty JSON, UTF-8 kept; text values neutralised like CSV cells unless `neutral` is False."""
    return json.dumps(_neutral(obj) if neutral else obj, ensure_ascii=False, indent=2) + "\n"
