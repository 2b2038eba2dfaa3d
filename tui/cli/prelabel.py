"""`qualtui prelabel`: local-model relevance screening and code suggestions, and how good they are."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from typing import Any

import click

from tui.cli.common import Project, console, fail, text


def make_backend(model: str | None, llm_url: str | None, llm_model: str | None, api_key_env: str | None,
                 threads: int | None, n_ctx: int, concurrency: int = 8, llm_api: str = "chat") -> Any:
    """The backend the options ask for: a server URL, a GGUF file, or the bundled default model."""
    from tui.core.prelabel.backends.gguf import default_model_path
    from tui.core.prelabel.backends.llama import LlamaBackend
    from tui.core.prelabel.backends.server import OpenAIBackend
    from tui.core.prelabel.errors import PrelabelError

    try:
        if llm_url:
            key = os.environ.get(api_key_env) if api_key_env else None
            return OpenAIBackend(llm_url, model=llm_model, api_key=key, concurrency=concurrency, api=llm_api)
        path = model or default_model_path()
        return LlamaBackend(path, n_threads=threads, n_ctx=n_ctx)
    except PrelabelError as exc:
        fail(str(exc))


def _concurrency(ctx: click.Context, param: click.Parameter, value: str) -> int:
    """--concurrency as a number, or one sentence and exit status 2 (a usage error)."""
    from tui.core.prelabel.backends.server import check_concurrency
    from tui.core.prelabel.errors import PrelabelError

    try:
        return check_concurrency(value)
    except PrelabelError as exc:
        fail(str(exc), exit_code=2)


def _check_where(project: Project, where: str) -> None:
    try:
        project.store().count_posts(f"({where})")
    except sqlite3.Error as exc:
        fail(f"--where {where!r} is not a valid condition on posts ({exc}); e.g. --where 'platform = \"xhs\"'.")


@click.group("prelabel", invoke_without_command=True)
@click.option("--model", type=click.Path(dir_okay=False), default=None,
              help="A GGUF model file [default: the bundled Gemma 3 270M, demo quality].")
@click.option("--llm-url", default=None, help="An OpenAI-compatible server instead (llama.cpp, vLLM, Ollama).")
@click.option("--llm-model", default=None, help="The model name to ask the server for.")
@click.option("--api-key-env", default=None, help="Name of an environment variable holding the server's API key.")
@click.option("--llm-api", type=click.Choice(["chat", "completions"]), default="chat", show_default=True,
              help="The server endpoint: chat (instruction-tuned models) or completions (base models).")
@click.option("--concurrency", default="8", callback=_concurrency, metavar="N", show_default=True,
              help="Requests to the server in flight at once (1-64); a server with parallel slots answers them "
                   "together.")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="CPU threads [default: the cores other work leaves free, looked at again during the run].")
@click.option("--ctx", "n_ctx", type=click.IntRange(min=256), default=2048, show_default=True,
              help="Context size; longer posts are shortened in the middle.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many posts.")
@click.option("--where", default=None, help="An SQL condition on posts, e.g. 'platform = \"xhs\"'.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=None,
              help="P(relevant) at or above this counts as relevant [default: the codebook's].")
@click.option("--codes/--no-codes", default=True,
              help="Also suggest codes for relevant posts (one more model pass per post to embed it); --no-codes "
                   "skips embedding, and learning then uses the posts' text and the model's score.")
@click.option("--code-method", type=click.Choice(["embed", "yesno"]), default="embed", show_default=True,
              help="embed: post vs code-definition embeddings (fast); yesno: one yes/no prompt per code.")
@click.option("--learn/--no-learn", default=True,
              help="Improve the pre-labels from the coders' decisions (needs no extra model work).")
@click.option("--refresh", is_flag=True, help="Ignore cached results and score again.")
@click.pass_context
def prelabel_group(ctx: click.Context, model: str | None, llm_url: str | None, llm_model: str | None,
                   api_key_env: str | None, llm_api: str, concurrency: int, threads: int | None, n_ctx: int,
                   limit: int | None, where: str | None,
                   threshold: float | None, codes: bool, code_method: str, learn: bool, refresh: bool) -> None:
    """Screen posts for relevance with a local model and suggest codes (cached, resumable).

    Without a sub-command it scores every post that has no result for this model and prompt yet.
    """
    if ctx.invoked_subcommand is not None:
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        Task,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    from tui.core.prelabel.backends.server import check_url
    from tui.core.prelabel.errors import PrelabelError
    from tui.core.prelabel.run import rate_text, run_prelabel

    if llm_url:
        try:
            check_url(llm_url)  # before anything is opened, so a typo costs nothing
        except PrelabelError as exc:
            fail(str(exc))
    project: Project = ctx.obj
    store = project.store()
    codebook = project.codebook()
    if codebook.screening is None:
        fail(f"{project.codebook_file()} has no `screening:` section, so there is no prompt to screen with.")
    if where:
        _check_where(project, where)
    if store.count_posts() == 0:
        fail("The project has no posts yet: run `qualtui import FILE` first.")
    backend = make_backend(model, llm_url, llm_model, api_key_env, threads, n_ctx, concurrency, llm_api)
    err = console(stderr=True)

    class RateColumn(ProgressColumn):
        """Posts scored per minute since scoring began, worked out at every refresh (not only when a post ends)."""

        def render(self, task: Task) -> Text:
            scored, since = task.fields.get("scored", 0), task.fields.get("since")
            if scored and since is not None:
                return Text(rate_text(scored, time.monotonic() - since))
            return Text("cached" if task.total and task.completed >= task.total else "")

    with Progress(TextColumn("pre-labelling"), BarColumn(), MofNCompleteColumn(), RateColumn(),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=err, transient=True) as bar:
        task = bar.add_task("posts", total=None, scored=0, since=None)
        saved = [0]  # posts scored and written in this run, for the sentence after a failure

        def progress(done: int, total: int, cached: int) -> None:
            # Only posts the model scored count towards the rate: cached ones cost no model time.
            saved[0] = max(0, done - cached)
            since = bar.tasks[0].fields["since"]
            bar.update(task, completed=done, total=total, scored=max(0, done - cached),
                       since=time.monotonic() if since is None else since)

        try:
            summary = run_prelabel(store, codebook, backend, where=where or "", limit=limit, threshold=threshold,
                                   codes=codes, code_method=code_method, refresh=refresh,
                                   learn_from_coders=learn, progress=progress)
        except KeyboardInterrupt:
            bar.stop()
            err.print(text("Interrupted. Every post finished so far is saved; run the same command to resume."))
            raise SystemExit(130) from None
        except PrelabelError as exc:
            bar.stop()
            if saved[0]:  # e.g. the server went away mid-run: say what is kept and how to go on
                n = saved[0]
                fail(f"{str(exc).rstrip('.')}; the {n} post{'s' if n != 1 else ''} scored before that "
                     f"{'are' if n != 1 else 'is'} saved: run the same command to resume.")
            fail(str(exc))
        finally:
            backend.close()
    out = console()
    # The same rate as the progress bar (from the first post on), and the whole run's time beside it.
    rate = rate_text(summary.n_scored, summary.scoring_seconds)
    out.print(text(f"{summary.n_posts} posts: {summary.n_scored} scored, {summary.n_cached} from the cache"
                   f"{f', {rate}' if rate else ''} ({summary.seconds:.0f} s in all); {summary.n_relevant} at or above "
                   f"P(relevant) {summary.threshold:g}."))
    n_threads = getattr(backend, "n_threads", None)
    threads_note = f", {n_threads} thread{'s' if n_threads != 1 else ''}" if summary.model_loaded and n_threads else ""
    if llm_url and summary.n_scored:
        threads_note = f", {concurrency} request{'s' if concurrency != 1 else ''} at a time"
    out.print(text(f"model {summary.model} ({summary.model_hash[:12]}), prompt {summary.prompt_hash[:12]}{threads_note}"
                   + ("" if summary.model_loaded or llm_url else "; the model was not loaded: everything was cached")))
    if summary.learned is not None:
        for line in summary.learned.lines():
            out.print(text("Learning from the coders: " + line))


@prelabel_group.command("eval")
@click.option("--coder", default=None, help="Compare with this coder [default: consensus, else the coders' majority].")
@click.option("--threshold", type=click.FloatRange(0, 1), default=None)
@click.option("--source", type=click.Choice(["llm", "learned", "suggestions"]), default="llm", show_default=True,
              help="llm: the model's own scores; learned: cross-validated scores of the learned model; "
                   "suggestions: what coders are shown, learned ones graded out of fold.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--arm", type=click.Choice(["blind", "shown", "all"]), default="blind", show_default=True,
              help="blind: only posts coded with no suggestion on screen; shown, all: influenced by the suggestions.")
@click.pass_obj
def eval_cmd(project: Project, coder: str | None, threshold: float | None, source: str, fmt: str, arm: str) -> None:
    """The model against the coders: confusion matrix, accuracy, precision, recall, FNR, kappa, per-code P/R."""
    from dataclasses import asdict

    from rich.table import Table

    from tui.core.prelabel.scorecard import evaluate

    store = project.store()
    from tui.core.prelabel.arms import arm_note

    report = evaluate(store, project.codebook(), coder=coder, threshold=threshold, source=source, arm=arm)
    if report.n == 0 and arm != "all":
        fail(f"Nothing to compare on {arm} posts: no {arm} post has both a model score and a human relevance "
             "decision (--arm all counts every post).")
    if report.n == 0:
        fail("Nothing to compare: no post has both a model score and a human relevance decision "
             "(run `qualtui prelabel`, then screen some posts).")
    if fmt == "json":
        click.echo(json.dumps(asdict(report), ensure_ascii=False, indent=1))
        return
    out = console()

    def pct(v: float | None, digits: int = 3) -> str:
        return "n/a" if v is None else f"{v:.{digits}f}"

    out.print(text(f"Model vs {report.labels_from} on {report.n} posts (threshold {report.threshold:g}, "
                   f"source {report.source})", "bold"))
    out.print(text(f"Decisions compared: {arm_note(arm, report.n)}."))
    cm = Table(title="confusion matrix", title_justify="left")
    cm.add_column("")
    cm.add_column("human relevant", justify="right")
    cm.add_column("human irrelevant", justify="right")
    cm.add_row("model relevant", str(report.tp), str(report.fp))
    cm.add_row("model irrelevant", str(report.fn), str(report.tn))
    out.print(cm)
    out.print(text(report.basis))
    out.print(measures_table(report.measures))
    if report.per_code:
        t = Table(title=f"code suggestions: top {report.k} per post on {report.n_coded} coded posts",
                  title_justify="left")
        for col in ("code", "posts", "suggested", "hits", "precision", "recall"):
            t.add_column(col, justify="left" if col == "code" else "right")
        for c in report.per_code:
            t.add_row(text(c.name, oneline=True), str(c.support), str(c.predicted), str(c.tp),
                      pct(c.precision, 2), pct(c.recall, 2))
        out.print(t)


def measures_table(measures: list[Any]) -> Any:
    """Every figure of a scorecard with its n and 95 % interval, as a rich table."""
    from rich.table import Table

    from tui.core.prelabel.intervals import interval_text, value_text

    t = Table(caption=text("95% intervals: Wilson for proportions; seeded bootstrap for F1, kappa and AUC. "
                           "n: posts the figure is a share of."), caption_justify="left")
    for col in ("measure", "value", "95% interval", "n", "interval"):
        t.add_column(col, justify="left" if col in ("measure", "interval") else "right")
    for m in measures:
        t.add_row(m.name, value_text(m.value), interval_text(m), str(m.n), m.method)
    return t


@prelabel_group.command("learn")
@click.option("--coder", default=None, help="Learn from this coder [default: consensus, else the majority].")
@click.pass_obj
def learn_cmd(project: Project, coder: str | None) -> None:
    """Fit the small model on the coders' decisions now and report its cross-validated gain."""
    from tui.core.prelabel.learn import learn

    summary = learn(project.store(), project.codebook(), coder=coder)
    for line in summary.lines():
        console().print(text(line))


def register(cli: click.Group) -> None:
    """Add this module's commands."""
    cli.add_command(prelabel_group)
