"""Report sections as plain tables, the saturation chart, codings for R/pandas, and the codebook appendix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from tui.core.codebook.model import Category, Codebook
from tui.core.prelabel.arms import arm_note
from tui.core.prelabel.intervals import interval_text, value_text
from tui.core.report.analyses import Cooccurrence, FirstSeen, FreqRow, QuoteRow, Saturation, Screening
from tui.core.report.data import ReportData
from tui.core.report.writers import Table, latex_escape, md_escape, to_latex, to_markdown
from tui.core.safe import clean

__all__ = [
    "LEVELS", "codebook_latex", "codebook_markdown", "codebook_tables", "codings_long", "codings_wide",
    "cooccurrence_table", "first_seen_table", "frequency_records", "frequency_table", "matrix_table",
    "quotes_markdown", "quotes_table", "saturation_chart", "saturation_summary", "saturation_table",
    "screening_records", "screening_tables", "INTERVAL_NOTE",
]

LEVELS = {0: "unknown", 1: "category", 2: "code", 3: "sub-code"}
APPENDIX_WIDTHS = ("2.8cm", "4.6cm", "2.8cm", "4.6cm")


def frequency_records(rows: Sequence[FreqRow]) -> list[dict[str, Any]]:
    """Long, tidy rows (one per coder and node) for CSV/JSON."""
    return [{**asdict(r), "level": LEVELS[r.level]} for r in rows]


def frequency_table(rows: Sequence[FreqRow], zeros: bool = False) -> Table:
    """Nodes down the side, one column of post counts per coder (nodes nobody used left out unless `zeros`)."""
    coders = list(dict.fromkeys(r.coder for r in rows))
    totals = {r.coder: r.coded for r in rows}
    by_node: dict[str, dict[str, int]] = {}
    meta: dict[str, FreqRow] = {}
    for r in rows:
        by_node.setdefault(r.id, {})[r.coder] = r.posts
        meta.setdefault(r.id, r)
    headers = ["Level", "Path"] + coders
    table = Table("Posts per category, code and sub-code", headers,
                  note="A sub-code also counts for its code and category; a post counts once per row. "
                       + "Coded posts: " + ", ".join(f"{c} {totals.get(c, 0)}" for c in coders) + ".")
    for node_id, counts in by_node.items():
        if zeros or any(counts.values()):
            m = meta[node_id]
            table.rows.append([LEVELS[m.level], m.path] + [counts.get(c, 0) for c in coders])
    return table


def _name(codebook: Codebook, code_id: str) -> str:
    node = codebook.node(code_id)
    return node.name if node is not None else f"{code_id} (not in the codebook)"


def cooccurrence_table(co: Cooccurrence, codebook: Codebook, top: int | None = 20, ids: bool = False) -> Table:
    """The pairs of codes most often on the same post, with Jaccard similarity (and their ids if `ids`)."""
    pairs = co.pairs if top is None else co.pairs[:top]
    note = "Sub-codes count as their code. Jaccard = posts with both / posts with either."
    table = Table(f"Codes on the same post ({co.coder}, {co.n_posts} coded posts)",
                  ["Code A", "Code B", "Together", "Posts A", "Posts B", "Jaccard"]
                  + (["Code A id", "Code B id"] if ids else []),
                  note=note if pairs else "No two codes appear on the same post yet.")
    for p in pairs:
        table.rows.append([_name(codebook, p.a), _name(codebook, p.b), p.both, p.a_posts, p.b_posts,
                           round(p.jaccard, 3)] + ([p.a, p.b] if ids else []))
    return table


def matrix_table(co: Cooccurrence) -> Table:
    """The full code × code count matrix (diagonal: posts with the code)."""
    ids, grid = co.matrix()
    return Table(f"Co-occurrence matrix ({co.coder})", ["code"] + ids,
                 [[a] + row for a, row in zip(ids, grid, strict=False)])


def saturation_table(sat: Saturation) -> Table:
    """One row per coded post in coding order."""
    new = "Codes created" if sat.measure == "created" else "New codes"
    return Table(f"Saturation ({sat.coder})", ["Post #", "Label", new, "Cumulative", "New code ids"],
                 [[p.index, p.label, p.new, p.cumulative, ";".join(p.new_ids)] for p in sat.points],
                 note=saturation_summary(sat))


def first_seen_table(rows: Sequence[FirstSeen]) -> Table:
    """When each code first appeared, in that order."""
    return Table("When each code first appeared", ["First appeared", "How", "Post", "Coder", "Path", "Id"],
                 [[r.at, r.how, r.post, r.coder, r.path, r.id] for r in rows],
                 note="Codes created while coding count from their creation; codes from the codebook file from "
                      "their first use on a post.")


def saturation_summary(sat: Saturation) -> str:
    """One sentence on where saturation was reached, by the documented rule."""
    n = len(sat.points)
    what = "codes and sub-codes" if sat.level == "all" else "codes"
    if not n:
        return "No coded posts yet."
    if sat.measure == "created":
        if sat.saturated_at is None:
            return (f"Not saturated: {sat.total} codes created while coding over {n} posts, and no run of "
                    f"{sat.run} posts in a row without a new one.")
        later = sum(p.new for p in sat.points[sat.saturated_at:])
        return (f"Saturation after post {sat.saturated_at} of {n}: the next {sat.run} posts in a row produced no "
                f"new code ({sat.points[sat.saturated_at - 1].cumulative} of {sat.total} codes created by then; "
                f"{later or 'none'} created later).")
    if sat.saturated_at is None:
        return (f"Not saturated: {sat.total} distinct {what} over {n} posts, and no run of {sat.run} posts "
                "in a row without a new one.")
    later = sum(p.new for p in sat.points[sat.saturated_at:])
    tail = f"; {later} more appeared later" if later else "; none appeared later"
    return (f"Saturation after post {sat.saturated_at} of {n}: the next {sat.run} posts added no new {what} "
            f"({sat.points[sat.saturated_at - 1].cumulative} of {sat.total} seen by then{tail}).")


def saturation_chart(sat: Saturation, width: int = 80, height: int = 20, colour: bool = False) -> str:
    """The cumulative curve drawn as text with plotext; plain characters unless `colour`."""
    import plotext as plt

    plt.clear_figure()
    plt.plotsize(width, height)
    if not sat.points:
        return "(no coded posts)\n"
    xs = [p.index for p in sat.points]
    plt.plot(xs, [p.cumulative for p in sat.points], label="distinct codes")
    if sat.saturated_at is not None:
        plt.vline(sat.saturated_at)
    plt.title(f"Saturation ({clean(sat.coder, oneline=True)})")
    plt.xlabel("posts in coding order")
    if not colour:
        plt.theme("clear")
    out = plt.build()
    plt.clear_figure()
    return (out if colour else clean(plt.uncolorize(out))) + "\n"


def quotes_table(rows: Sequence[QuoteRow], ids: bool = False) -> Table:
    """Quotes as a table: code path, post label, masked text, coders (and the code id if `ids`)."""
    return Table("Quotes per code", ["Code", "Post", "Quote", "Coders"] + (["Code id"] if ids else []),
                 [[r.path, r.label, r.text, ", ".join(r.coders)] + ([r.code_id] if ids else []) for r in rows],
                 note="" if rows else "No quotes yet.")


def quotes_markdown(rows: Sequence[QuoteRow]) -> str:
    """Quotes grouped under a heading per code, each with its post label."""
    out: list[str] = []
    current = None
    for r in rows:
        if r.path != current:
            current = r.path
            out.append(f"\n### {md_escape(r.path)}\n")
        out.append(f"> {md_escape(r.text)} ({md_escape(r.label)})\n")
    return "\n".join(out).lstrip("\n") + ("\n" if out else "No quotes yet.\n")


INTERVAL_NOTE = ("95% intervals: Wilson for accuracy, precision, recall and false-negative rate; a seeded "
                 "bootstrap of the posts for F1, kappa and AUC. n/a: undefined for these decisions.")


def screening_tables(s: Screening) -> list[Table]:
    """The confusion matrix and the scores, each with n and its 95 % interval, of the screen against the coders."""
    b = s.scores
    who = f"human ({s.coder})"
    confusion = Table(f"Screening: model vs {who}, threshold {s.threshold:g}", ["", f"{who}: relevant",
                      f"{who}: irrelevant"], [["model: relevant", b.tp, b.fp], ["model: irrelevant", b.fn, b.tn]],
                      note=f"{s.n_compared} posts with both a model score and a human decision "
                           f"({s.n_scored} scored, {s.n_decided} decided); {arm_note(s.arm, s.n_compared)}. "
                           f"{s.basis}".rstrip())
    rows = [[m.name, value_text(m.value), interval_text(m), m.n, m.method] for m in s.measures]
    return [confusion, Table("Screening scores", ["Measure", "Value", "95% interval", "n", "Interval"], rows,
                             note=INTERVAL_NOTE)]


def screening_records(s: Screening) -> Table:
    """The scores as data for CSV: one row per measure with its value, 95 % interval (lo, hi), n and method."""
    rows: list[list[Any]] = [[m.name, m.value, m.lo, m.hi, m.n, m.method] for m in s.measures]
    return Table("Screening scores", ["measure", "value", "lo", "hi", "n", "method"], rows, note=s.basis)


# ---------------------------------------------------------------- codings for R / pandas


def codings_long(data: ReportData, coders: Sequence[str] | None = None) -> Table:
    """One row per post × coder × applied code (a post with no code gets one row with empty code fields)."""
    cb = data.codebook
    headers = ["label", "coder", "relevance", "finished", "code_id", "code_path", "level", "code",
               "category_id", "category"]
    table = Table("Codings per post", headers)
    for coder in coders or data.coder_names():
        data.require(coder)
        for pid, cp in sorted(data.coders[coder].items(), key=lambda kv: data.labels.get(kv[0], "")):
            st = cp.state
            base = [data.label(pid), coder, st.relevance, int(st.finished)]
            if not st.codes:
                if st.relevance is not None or st.finished:
                    table.rows.append(base + [""] * 6)
                continue
            for raw in st.codes:
                cid = cb.resolve(raw) or raw
                node = cb.node(cid)
                if node is None or isinstance(node, Category):
                    table.rows.append(base + [cid, f"{cid} (not in the codebook)", "", "", "", ""])
                    continue
                cat = cb.node(node.category_id)
                table.rows.append(base + [cid, cb.path_str(cid), LEVELS[node.level], data.code_level(cid),
                                          node.category_id, cat.name if cat else ""])
    return table


def codings_wide(data: ReportData, coders: Sequence[str] | None = None) -> Table:
    """One row per post × coder, one 0/1 column per category, code and sub-code (rolled up)."""
    cb = data.codebook
    ids = [n.id for n in cb.nodes()]
    table = Table("Codings per post (wide)", ["label", "coder", "relevance", "finished"] + ids)
    for coder in coders or data.coder_names():
        data.require(coder)
        for pid, cp in sorted(data.coders[coder].items(), key=lambda kv: data.labels.get(kv[0], "")):
            st = cp.state
            if not st.codes and st.relevance is None and not st.finished:
                continue
            have = {n for c in st.codes for n in data.rollup(cb.resolve(c) or c)}
            table.rows.append([data.label(pid), coder, st.relevance, int(st.finished)]
                              + [int(i in have) for i in ids])
    return table


# ---------------------------------------------------------------- codebook appendix


def codebook_tables(codebook: Codebook, numbered: bool = True) -> list[Table]:
    """One table per category, shaped like the study's appendix: code, definition, sub-code, definition."""
    tables = []
    for i, cat in enumerate(codebook.categories, 1):
        title = f"Table {i}. {cat.name}" if numbered else cat.name
        t = Table(title, ["Code", "Definition", "Sub-code", "Sub-code definition"],
                  note=cat.description)
        for code in cat.codes:
            if not code.subcodes:
                t.rows.append([code.name, code.definition, "—", ""])
            for j, sub in enumerate(code.subcodes):
                first = j == 0
                t.rows.append([code.name if first else "", code.definition if first else "", sub.name,
                               sub.definition])
        tables.append(t)
    return tables


def codebook_markdown(codebook: Codebook) -> str:
    """The codebook appendix in Markdown."""
    cats, codes, subs = codebook.counts()
    head = (f"## Codebook: {md_escape(codebook.name)} (version {md_escape(codebook.version)})\n\n"
            f"{cats} categories, {codes} codes, {subs} sub-codes.\n\n")
    return head + to_markdown(codebook_tables(codebook))


def codebook_latex(codebook: Codebook) -> str:
    """The codebook appendix as LaTeX longtables, specials escaped, CJK text left as it is."""
    head = f"% Codebook: {latex_escape(codebook.name)} (version {latex_escape(codebook.version)})\n"
    # LaTeX numbers the captions itself.
    return head + to_latex(codebook_tables(codebook, numbered=False), APPENDIX_WIDTHS, label="tab:codebook")
