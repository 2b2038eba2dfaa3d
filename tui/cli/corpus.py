"""`qualtui import`, `qualtui posts`, `qualtui sample`: getting posts in and choosing what to code."""

from __future__ import annotations

from pathlib import Path

import click

from tui.cli.common import Project, console, fail, text


@click.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--platform", default="xhs", show_default=True, help="Platform name stored with each post.")
@click.option("--id-col", default=None, help="Column/field holding the platform's post id [xhs: note_id].")
@click.option("--text-col", default=None, help="Column/field holding the post text [xhs: desc].")
@click.option("--title-col", default=None, help="Column/field holding the title [xhs: title].")
@click.option("--time-col", default=None, help="Posted time: epoch s/ms or ISO 8601 [xhs: time].")
@click.option("--tags-col", default=None, help="Tags as a comma string or list [xhs: tag_list].")
@click.option("--url-col", default=None, help="Post URL [xhs: note_url].")
@click.option("--author-col", default=None, help="Author id; stored only as a pseudonym [xhs: creator_hash].")
@click.option("--keyword-col", default=None, help="The crawl keyword [xhs: source_keyword].")
@click.option("--include", "include", multiple=True, help="Keep posts containing any of these keywords.")
@click.option("--exclude", "exclude", multiple=True, help="Drop posts containing any of these keywords.")
@click.option("--include-tag", multiple=True, help="Keep posts with any of these tags.")
@click.option("--exclude-tag", multiple=True, help="Drop posts with any of these tags.")
@click.option("--merge", is_flag=True, help=".qdpx: map the file's codes onto this project's codebook by GUID or name.")
@click.pass_obj
def import_cmd(project: Project, files: tuple[Path, ...], platform: str, id_col: str | None,
               text_col: str | None, title_col: str | None, time_col: str | None, tags_col: str | None,
               url_col: str | None, author_col: str | None, keyword_col: str | None,
               include: tuple[str, ...], exclude: tuple[str, ...], include_tag: tuple[str, ...],
               exclude_tag: tuple[str, ...], merge: bool = False) -> None:
    """Import posts from MediaCrawler files (JSON, JSONL, CSV) or any CSV/JSONL with a column mapping.

    Filters follow the study's crawl logic: (any --include or --include-tag) AND NOT (any --exclude
    or --exclude-tag). Posts already in the project (same platform id) are skipped and counted.
    A REFI-QDA project (.qdpx) brings its codebook, codings, quotes and memos too.
    """
    if any(f.suffix.lower() == ".qdpx" for f in files):
        from tui.cli.qdpx import import_qdpx_files

        return import_qdpx_files(project, files, merge)
    from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

    from tui.core.project.ingest import Filters, ImportError_, Mapping, check_import_path, import_file

    generic = any(c is not None for c in (id_col, text_col))
    base = Mapping(platform=platform)
    if generic:
        # A custom mapping names only what it has: unnamed columns are not guessed.
        base = Mapping(platform=platform, id_col="id", text_col="text", title_col=None, time_col=None,
                       tags_col=None, url_col=None, author_col=None, keyword_col=None)
    overrides = {k: v for k, v in {
        "id_col": id_col, "text_col": text_col, "title_col": title_col, "time_col": time_col,
        "tags_col": tags_col, "url_col": url_col, "author_col": author_col, "keyword_col": keyword_col,
    }.items() if v is not None}
    mapping = Mapping(**{**base.__dict__, **overrides})
    filters = Filters(tuple(include), tuple(exclude), tuple(include_tag), tuple(exclude_tag))
    sizes: dict[Path, int] = {}
    for f in files:
        try:
            # Regular, non-empty files only, checked before the project is created or anything read.
            sizes[f] = check_import_path(f)
        except ImportError_ as exc:
            fail(str(exc))
    store = project.store(create=True)
    out = console()
    err = console(stderr=True)
    failed = False
    for f in files:
        with Progress(TextColumn("{task.description}", markup=False), BarColumn(), DownloadColumn(),
                      TimeRemainingColumn(), console=err, transient=True,
                      disable=sizes[f] < 4 << 20) as bar:
            task = bar.add_task(f"importing {f.name}", total=sizes[f])
            try:
                def advance(done: int, total: int, task: TaskID = task) -> None:
                    bar.update(task, completed=done)

                report = import_file(store, f, mapping=mapping, filters=filters, progress=advance)
            except ImportError_ as exc:
                err.print(text(f"Error: {exc}", oneline=True), soft_wrap=True)
                failed = True
                continue
        line = (f"{f.name}: read {report.read}, imported {report.imported}, duplicates {report.duplicates}, "
                f"filtered {report.filtered}, rejected {report.n_rejected}")
        out.print(text(line))
        for _, reason in report.rejected[:20]:
            out.print(text(f"  rejected {reason}"))
        if report.n_rejected > 20:
            out.print(text(f"  … and {report.n_rejected - 20} more rejected records"))
    total = store.count_posts()
    out.print(text(f"{total} posts in {project.db_path}"))
    if failed:
        raise SystemExit(1)


@click.command("posts")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@click.option("--offset", default=0, type=click.IntRange(min=0))
@click.option("--platform", default=None, help="Only this platform.")
@click.option("--contains", default=None, help="Only posts whose title or text contains this.")
@click.pass_obj
def posts_cmd(project: Project, limit: int, offset: int, platform: str | None, contains: str | None) -> None:
    """A table of imported posts: label, platform, date, title (never the author's name)."""
    from rich.table import Table

    store = project.store()
    clauses, params = [], []
    if platform:
        clauses.append("platform = ?")
        params.append(platform)
    if contains:
        clauses.append("(instr(title, ?) OR instr(text, ?))")
        params += [contains, contains]
    where = " AND ".join(clauses)
    rows = store.posts(limit=limit, offset=offset, where=where, params=params)
    total = store.count_posts(where, params)
    table = Table(title=f"{len(rows)} of {total} posts", title_justify="left")
    for col in ("label", "platform", "posted (UTC)", "title"):
        table.add_column(col, overflow="ellipsis", no_wrap=col != "title")
    for r in rows:
        title = r["title"] or r["text"]
        table.add_row(text(r["label"]), text(r["platform"]), text((r["posted_at"] or "")[:10]),
                      text(title[:120], oneline=True))
    console().print(table)


@click.command("sample")
@click.option("--n", "n", default=100, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=7, show_default=True, type=int)
@click.option("--where", "where", default="all", show_default=True,
              type=click.Choice(["relevant", "unscreened", "all"]),
              help="relevant: the model's P(relevant) at or above the threshold; unscreened: no "
                   "relevance decision by this coder yet.")
@click.option("--coder", required=True, help="Whose queue to fill.")
@click.option("--append", is_flag=True, help="Add to the queue instead of replacing it.")
@click.pass_obj
def sample_cmd(project: Project, n: int, seed: int, where: str, coder: str, append: bool) -> None:
    """Fill a coder's queue with a seeded random sample of posts (the same seed gives the same sample)."""
    from tui.core.coding.queue import SampleError, draw_sample

    store = project.store()
    screening = project.codebook().screening
    # A codebook without a `screening:` section still has model scores from earlier runs: use the usual 0.5.
    threshold = screening.threshold if where == "relevant" and screening is not None else 0.5
    try:
        picked = draw_sample(store, coder=coder, n=n, seed=seed, where=where, threshold=threshold,
                             append=append)
    except SampleError as exc:
        fail(str(exc))
    console().print(text(f"{coder}'s queue: {picked.queued} posts ({picked.added} added, seed {seed}, "
                         f"from {picked.pool} {where} posts)"))


def register(cli: click.Group) -> None:
    """Add this module's commands."""
    for cmd in (import_cmd, posts_cmd, sample_cmd):
        cli.add_command(cmd)
