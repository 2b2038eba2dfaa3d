"""The report inside the app: frequencies, co-occurrence, saturation, quotes, the screening scorecard, anchoring.

The numbers are the same as `qualtui report`: both render the tables of `tui.core.report.export`.
They are computed in a thread worker with its own connection to the project file, so the app never
waits on them. No post text appears here except quotes: handles and ids are masked by the report API,
graphic terms by the app's masking, and the quotes are hidden while post text is (breaks, daily limits).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState, get_current_worker
from textual_plotext import PlotextPlot

from tui.core.codebook.model import Codebook
from tui.core.prelabel.auto import learning_note
from tui.core.project.events import CONSENSUS
from tui.core.project.store import Store
from tui.core.report.analyses import (
    ALL,
    QuoteRow,
    ReportData,
    ReportError,
    Saturation,
    cooccurrence,
    first_appeared,
    frequencies,
    pick_coder,
    quotes,
    saturation,
    screening,
)
from tui.core.report.anchoring import anchoring, anchoring_tables
from tui.core.report.export import (
    cooccurrence_table,
    first_seen_table,
    frequency_table,
    saturation_summary,
    screening_tables,
)
from tui.core.report.writers import Table, fmt_number
from tui.core.safe import clean

ANCHORING_PARTS = ("arms", "codes", "coders")
"""The anchoring tab's tables: figures per coder and arm, the shift in codes, coder-coder agreement per arm."""
QUOTES_HIDDEN = "Quotes are post text, so they are hidden during a break and after today's limit."
SECTIONS = ("frequencies", "cooccurrence", "saturation", "quotes", "screening", "codes", "anchoring")
TITLES = {"frequencies": "Frequencies", "cooccurrence": "Co-occurrence", "saturation": "Saturation",
          "quotes": "Quotes", "screening": "Screening", "codes": "Codebook", "anchoring": "Anchoring"}


@dataclass
class ReportResults:
    """Every section of the report for one view, as plain data (made in a worker, shown by the screen)."""

    view: str  # whose decisions co-occurrence, saturation, quotes and screening show
    views: list[str] = field(default_factory=list)  # every view there is, in cycling order
    n_posts: int = 0
    pending: int = 0
    frequencies: Table | None = None
    cooccurrence: Table | None = None
    saturation: Saturation | None = None
    quotes: list[QuoteRow] = field(default_factory=list)
    screening: list[Table] = field(default_factory=list)
    codes: Table | None = None  # when each code first appeared
    anchoring: list[Table] = field(default_factory=list)  # blind against shown posts (report.anchoring)
    notes: dict[str, str] = field(default_factory=dict)  # section -> why it is empty, in one sentence
    learning: str = ""  # when the learned screen was last refreshed, with its cross-validated figures


def build_report(store: Store, codebook: Codebook, view: str | None,
                 cancelled: Callable[[], bool] = lambda: False) -> ReportResults | None:
    """Compute every section for `view` (None: consensus if any, else all coders); None if cancelled."""
    try:
        data = ReportData.load(store, codebook)
        data.require(ALL)
    except ReportError as exc:
        return ReportResults(view or ALL, notes=dict.fromkeys(SECTIONS, str(exc)))
    out = ReportResults(view or ALL, data.coder_names() + [ALL], data.n_posts, data.pending,
                        learning=learning_note(store))
    try:
        out.view = pick_coder(data, view)
    except ReportError as exc:
        out.notes.update(dict.fromkeys([n for n in SECTIONS if n not in ("frequencies", "codes")], str(exc)))
        out.view = view or ALL
    # Quotes and screening read one coder's decisions; the pooled view has none of its own.
    own = None if out.view == ALL else out.view
    if own is None and not data.coders.get(CONSENSUS) and len(data.humans()) > 1:
        out.notes["screening"] = ("There is no consensus yet: press v to compare the model with one coder's "
                                  "decisions.")
    steps: list[tuple[str, Callable[[], None]]] = [
        ("frequencies", lambda: setattr(out, "frequencies",
                                        counts_first(frequency_table(frequencies(data, codebook))))),
        ("cooccurrence", lambda: setattr(out, "cooccurrence",
                                         cooccurrence_table(cooccurrence(data, codebook, out.view), codebook))),
        ("saturation", lambda: setattr(out, "saturation", saturation(data, codebook, out.view))),
        ("quotes", lambda: setattr(out, "quotes", quotes(data, codebook, own))),
        ("screening", lambda: setattr(out, "screening", screening_tables(screening(data, codebook, store, own)))),
        ("codes", lambda: setattr(out, "codes", first_seen_table(first_appeared(data, codebook)))),
        ("anchoring", lambda: setattr(out, "anchoring", anchoring_tables(anchoring(store, codebook, data)))),
    ]
    for name, step in steps:
        if cancelled():
            return None
        if name in out.notes:
            continue
        try:
            step()
        except ReportError as exc:
            out.notes[name] = str(exc)
    return out


def counts_first(table: Table) -> Table:
    """The frequency table with the coders' counts before the long code paths, so they fit at 80 columns."""
    keep = [i for i, h in enumerate(table.headers) if h not in ("Level", "Path")]
    order = keep + [i for i in range(len(table.headers)) if i not in keep]
    return Table(table.title, [table.headers[i] for i in order], [[r[i] for i in order] for r in table.rows],
                 table.note)


def fill_table(widget: DataTable[Text], table: Table) -> None:
    """Show a report table; every header and cell is plain Text, never markup."""
    widget.clear(columns=True)
    numeric = [bool(table.rows) and all(isinstance(r[i], (int, float)) or r[i] is None for r in table.rows)
               for i in range(len(table.headers))]
    for header in table.headers:
        widget.add_column(Text(clean(header, oneline=True)))
    for row in table.rows:
        widget.add_row(*(Text(clean(fmt_number(c), oneline=True), justify="right" if num else "left")
                         for c, num in zip(row, numeric, strict=False)))


def _same(text: str) -> str:
    return text


def render_quotes(rows: list[QuoteRow], mask: Callable[[str], str] = _same) -> Text:
    """Quotes under a heading per code, each with its post label and who quoted it (`mask` blacks out terms)."""
    out = Text()
    current = None
    for r in rows:
        if r.path != current:
            current = r.path
            if out:
                out.append("\n")
            out.append(clean(r.path, oneline=True) + "\n", style="bold")
        out.append("  “")
        out.append(mask(clean(r.text, oneline=True)))
        out.append("”  ")
        out.append(clean(r.label, oneline=True), style="bold cyan")
        out.append("  " + clean(", ".join(r.coders), oneline=True) + "\n", style="dim")
    return out


class ReportScreen(Screen[None]):
    """The report, one tab per section; `v` switches whose decisions the sections show."""

    # Kept with the screen so it lays out the same wherever it is pushed; app.tcss may override.
    DEFAULT_CSS = """
    #report-status { height: auto; padding: 0 1; background: $panel; }
    #report-tabs { height: 1fr; }
    .report-note { height: auto; padding: 0 1; color: $text-muted; }
    #saturation-chart { height: 1fr; min-height: 8; }
    #report-tabs DataTable { height: 1fr; }
    #report-tabs #screening DataTable { height: auto; margin: 0 0 1 0; }
    #report-tabs #anchoring DataTable { height: auto; margin: 0 0 1 0; }
    """

    BINDINGS = [
        Binding("escape,q", "close", "Close", id="report.close", tooltip="Close the report"),
        Binding("v", "next_view", "Whose view", id="report.view",
                tooltip="Switch between each coder, the consensus and all coders pooled"),
        *(Binding(str(i), f"show_tab('{name}')", TITLES[name], show=False, id=f"report.tab{i}",
                  tooltip=f"Show the {TITLES[name].lower()} tab") for i, name in enumerate(SECTIONS, 1)),
    ]

    class Loaded(Message):
        """The worker finished computing the report."""

        def __init__(self, results: ReportResults) -> None:
            super().__init__()
            self.results = results

    def __init__(self, store: Store, codebook: Codebook, coder: str | None = None) -> None:
        super().__init__()
        self.path = Path(store.path)  # only the path: the store's connection belongs to the main thread
        self.codebook = codebook
        self.view = coder
        self.results: ReportResults | None = None
        self.text_hidden = False  # post text is hidden (a break, a daily limit): so are the quotes

    def compose(self) -> ComposeResult:
        yield Static(Text("Loading the report…"), id="report-status")
        with TabbedContent(id="report-tabs"):
            for name in SECTIONS:
                with TabPane(TITLES[name], id=name):
                    yield Static(classes="report-note", id=f"{name}-note")
                    if name == "saturation":
                        yield PlotextPlot(id="saturation-chart")
                    elif name == "quotes":
                        with VerticalScroll():
                            yield Static(id="quotes-body")
                    elif name == "screening":
                        yield DataTable(id="screening-confusion", cursor_type="row")
                        yield DataTable(id="screening-scores", cursor_type="row")
                    elif name == "anchoring":
                        with VerticalScroll():
                            for part in ANCHORING_PARTS:
                                yield DataTable(id=f"anchoring-{part}", cursor_type="row")
                    else:
                        yield DataTable(id=f"{name}-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        hidden = getattr(self.app, "post_text_hidden", None)
        self.text_hidden = bool(hidden()) if hidden is not None else False
        self.query_one(TabbedContent).loading = True
        self.load(self.view)

    @work(thread=True, exclusive=True, exit_on_error=False, group="report")
    def load(self, view: str | None) -> None:
        """Compute the report in a thread, with a connection of its own, and post it back."""
        worker = get_current_worker()
        store = Store(self.path, create=False)
        try:
            results = build_report(store, self.codebook, view, lambda: worker.is_cancelled)
        finally:
            store.close()
        if results is not None and not worker.is_cancelled:
            self.post_message(self.Loaded(results))

    # ------------------------------------------------------------ results

    @on(Loaded)
    def show_results(self, message: Loaded) -> None:
        """Fill every tab from the worker's results."""
        r = self.results = message.results
        self.query_one(TabbedContent).loading = False
        status = Text("Report  ", style="bold")
        status.append("view: ")
        status.append(clean(r.view, oneline=True), style="bold reverse")
        status.append(f"  ·  {r.n_posts} posts")
        if r.pending:
            status.append(f"  ·  {r.pending} posts disputed, not yet reconciled")
        if len(r.views) > 1:
            status.append("  ·  v: next view", style="dim")
        self.query_one("#report-status", Static).update(status)
        if r.frequencies is not None:
            fill_table(self.query_one("#frequencies-table", DataTable), r.frequencies)
        if r.cooccurrence is not None:
            fill_table(self.query_one("#cooccurrence-table", DataTable), r.cooccurrence)
        self._saturation(r.saturation)
        self._show_quotes()
        if r.codes is not None:
            fill_table(self.query_one("#codes-table", DataTable), r.codes)
        if r.screening:
            fill_table(self.query_one("#screening-confusion", DataTable), r.screening[0])
            fill_table(self.query_one("#screening-scores", DataTable), r.screening[1])
        for part, found in zip(ANCHORING_PARTS, r.anchoring, strict=False):
            fill_table(self.query_one(f"#anchoring-{part}", DataTable), found)
        notes = {
            "frequencies": r.frequencies.note if r.frequencies else "",
            "cooccurrence": r.cooccurrence.note if r.cooccurrence else "",
            "saturation": saturation_summary(r.saturation) if r.saturation else "",
            "quotes": "" if r.quotes else "No quotes yet.",
            "screening": r.screening[0].title + ". " + r.screening[0].note if r.screening else "",
            "codes": r.codes.note if r.codes else "",
            "anchoring": r.anchoring[0].note if r.anchoring else "",
        }
        for name in SECTIONS:
            note = r.notes.get(name) or notes[name]
            if name == "screening" and r.learning:
                note = f"{note}\n{r.learning}" if note else r.learning
            self.query_one(f"#{name}-note", Static).update(Text(clean(note)))
            for table in self.query_one(f"#{name}", TabPane).query(DataTable):
                table.display = name not in r.notes
        self.query_one("#saturation-chart").display = "saturation" not in r.notes and bool(
            r.saturation and r.saturation.points)

    def set_post_text_hidden(self, hidden: bool) -> None:
        """Hide or show the quotes, which are post text (the app calls this as breaks and limits come and go)."""
        if hidden != self.text_hidden:
            self.text_hidden = hidden
            self._show_quotes()

    def _show_quotes(self) -> None:
        if not self.query("#quotes-body"):
            return  # not composed yet: show_results draws them
        body = self.query_one("#quotes-body", Static)
        if self.text_hidden:
            body.update(Text(QUOTES_HIDDEN, style="italic"))
            return
        # Quotes come from many posts: every one is masked, whatever post was revealed elsewhere.
        masker = getattr(self.app, "masker", None)
        body.update(render_quotes(self.results.quotes if self.results else [],
                                  masker(None) if masker is not None else _same))

    def _saturation(self, sat: Saturation | None) -> None:
        plot = self.query_one(PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        if sat is not None and sat.points:
            plt.plot([p.index for p in sat.points], [p.cumulative for p in sat.points], marker="braille")
            # Whole numbers on both axes: there is no such thing as half a post or half a code.
            plt.yticks(_whole_ticks(sat.total))
            plt.xticks(_whole_ticks(len(sat.points), start=1))
            if sat.saturated_at is not None:
                plt.vline(sat.saturated_at)
            # The coder's name is shown above in plain Text; plotext output is parsed for ANSI codes.
            plt.title("Distinct codes (cumulative)")
            plt.xlabel("posts in coding order")
        plot.refresh()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A failure the report API did not foresee still ends in a sentence, not a crash."""
        if event.worker.group == "report" and event.state == WorkerState.ERROR:
            self.query_one(TabbedContent).loading = False
            error = event.worker.error
            self.query_one("#report-status", Static).update(
                Text("The report could not be made: " + clean(str(error), oneline=True), style="bold red"))

    # ------------------------------------------------------------ actions

    def action_close(self) -> None:
        self.dismiss(None)

    def action_next_view(self) -> None:
        r = self.results
        if r is None or len(r.views) < 2:
            return
        # Count from the view last asked for, so quick presses step on even while a view still loads.
        current = self.view if self.view in r.views else r.view
        i = r.views.index(current) if current in r.views else -1
        self.view = r.views[(i + 1) % len(r.views)]
        self.query_one(TabbedContent).loading = True
        self.load(self.view)

    def action_show_tab(self, name: str) -> None:
        self.query_one(TabbedContent).active = name


def _whole_ticks(top: int, start: int = 0, most: int = 6) -> list[float]:
    step = max(1, -(-(top - start) // (most - 1)))
    ticks: list[float] = list(range(start, top + 1, step))  # ints: plotext labels them without ".0"
    return ticks
