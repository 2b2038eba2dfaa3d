"""`qualtui lookup` and `qualtui codebook …`: the codebook from the shell."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from tui.cli.common import Project, console, fail, load_codebook_or_exit, text

if TYPE_CHECKING:
    from tui.core.codebook.model import CodebookNode


@click.command("lookup")
@click.argument("query", nargs=-1, required=True)
@click.option("--limit", default=10, show_default=True, type=click.IntRange(min=1))
@click.option("--plain", is_flag=True, help="Tab-separated lines: id, keys, path (for scripts).")
@click.pass_obj
def lookup_cmd(project: Project, query: tuple[str, ...], limit: int, plain: bool) -> None:
    """Find codes and sub-codes by name, definition, alias or id (English or Chinese, typos forgiven)."""
    from tui.core.codebook.lookup import search

    cb = project.codebook()
    q = " ".join(query)
    hits = search(cb, q, limit=limit)
    if not hits:
        click.echo(f"No code matches {q!r}.", err=True)
        raise SystemExit(1)
    if plain:
        from tui.core.safe import clean

        for h in hits:
            # YAML escapes such as "\e" can put control characters in a codebook: never print them.
            fields = (h.node.id, cb.keys(h.node.id), cb.path_str(h.node.id))
            click.echo("\t".join(clean(f, oneline=True) for f in fields))
        return
    from rich.text import Text

    out = console()
    for h in hits:
        node = h.node
        line = Text()
        line.append(f"{cb.keys(node.id):>4}  ", style="bold cyan")
        line.append_text(text(cb.path_str(node.id), "bold"))
        line.append(f"  ({node.id})", style="dim")
        out.print(line)
        definition = getattr(node, "definition", "") or getattr(node, "description", "")
        if definition:
            out.print(text("      " + definition))


@click.group("codebook")
def codebook_group() -> None:
    """Check, show, start, write back and trace the codebook."""


@codebook_group.command("check")
@click.argument("file", required=False, type=click.Path(path_type=Path))
@click.pass_obj
def check_cmd(project: Project, file: Path | None) -> None:
    """Validate a codebook; exit 2 with file:line and a reason for each problem."""
    path = file or project.codebook_file()
    if not path.exists():
        fail(f"{path}: no such file.", exit_code=2)
    cb = load_codebook_or_exit(path)
    cats, codes, subs = cb.counts()
    console().print(text(f"{path}: OK — {cats} categories, {codes} codes, {subs} sub-codes; "
                         f"version {cb.version}, hash {cb.hash}"))


@codebook_group.command("show")
@click.option("--counts/--no-counts", default=True, help="Posts coded with each code (all coders).")
@click.option("--definitions", is_flag=True, help="Show every definition.")
@click.pass_obj
def show_cmd(project: Project, counts: bool, definitions: bool) -> None:
    """The tree: categories → codes → sub-codes, with their keys and how often each is used."""
    from rich.text import Text
    from rich.tree import Tree

    from tui.core.codebook.model import Code

    cb = project.codebook()
    used: dict[str, int] = {}
    if counts and Path(project.db_path).exists():
        used = coded_counts(project)
    cats, codes, subs = cb.counts()
    root = Tree(text(f"{cb.name} — version {cb.version} — {cats} categories, {codes} codes, "
                     f"{subs} sub-codes — hash {cb.hash}", "bold"))

    def label(node: CodebookNode, style: str = "") -> Text:
        t = Text()
        t.append(f"[{cb.keys(node.id)}] ", style="bold cyan")
        t.append_text(text(node.name, style))
        n = used.get(node.id, 0)
        if counts and n:
            t.append(f"  {n}", style="green")
        definition = node.definition if isinstance(node, Code) else ""  # a category has a description
        if definitions and definition:
            t.append("\n")
            t.append_text(text(definition, "dim"))
        return t

    for cat in cb.categories:
        branch = root.add(label(cat, f"bold {cat.colour}"))
        for code in cat.codes:
            sub = branch.add(label(code))
            for leaf in code.subcodes:
                sub.add(label(leaf))
    console().print(root)
    share = cb.assistance.blind_share
    where = "the codebook's seed" if cb.assistance.seed else "made from the codebook's name"
    console().print(text(f"Blind arm: {share:.0%} of posts show no model output (study seed {cb.study_seed!r}, "
                         f"{where}); the codebook's assistance section sets both.", oneline=True))


@codebook_group.command("assistance")
@click.option("--blind-share", "share", default=None, metavar="SHARE",
              help="The share of posts shown with no model output, from 0 to 1 (0 turns the blind arm off).")
@click.option("--seed", default=None, help="The study seed that picks the blind posts (any text).")
@click.pass_obj
def assistance_cmd(project: Project, share: str | None, seed: str | None) -> None:
    """Show the blind arm's share and seed, or set them in the codebook file (other lines stay as they are)."""
    from tui.core.codebook.assistance import with_assistance
    from tui.core.codebook.model import CodebookError
    from tui.core.files import MAX_CODEBOOK_BYTES, FileRefused, atomic_write, read_text
    from tui.core.paths import bundled_codebook
    from tui.core.prelabel.arms import share_problem
    from tui.core.project.events import name_problem

    path = project.codebook_file()
    if share is None and seed is None:
        cb = load_codebook_or_exit(path)
        console().print(text(f"{path}: {cb.assistance.blind_share:.0%} of posts are blind; study seed "
                             f"{cb.study_seed!r}.", oneline=True))
        return
    value: float | None = None
    if share is not None:
        try:
            value = float(share)
        except ValueError:
            value = None
        problem = share_problem(value if value is not None else share)
        if problem:
            fail(problem[0].upper() + problem[1:] + "; nothing was changed.", exit_code=2)
    if seed is not None:
        problem = "the seed is empty" if not seed.strip() else name_problem(seed, "the seed", 200)
        if problem:
            fail(problem[0].upper() + problem[1:] + "; nothing was changed.", exit_code=2)
    if path.resolve() == bundled_codebook().resolve():
        fail("The codebook in force is the one shipped with qualtui; copy it to ./codebook.yaml (or pass "
             "--codebook FILE) and change that one.", exit_code=2)
    load_codebook_or_exit(path)
    try:
        old = read_text(path, what="codebook", max_bytes=MAX_CODEBOOK_BYTES)
        new, cb = with_assistance(old, str(path), share=value, seed=seed)
        with atomic_write(path, newline="\n", what="codebook") as fh:
            fh.write(new)
    except (FileRefused, CodebookError) as exc:
        fail(f"{exc} Nothing was changed.", exit_code=2)
    console().print(text(f"{path}: {cb.assistance.blind_share:.0%} of posts are blind; study seed "
                         f"{cb.study_seed!r}. Give every coder this codebook: their projects pick the blind posts "
                         "from it.", oneline=True))


@codebook_group.command("new")
@click.argument("file", required=False, default="codebook.yaml", type=click.Path(path_type=Path))
@click.option("--skeleton/--study", default=True, show_default=True,
              help="Start from the skeleton for open coding (the stages of trafficking as categories, no codes) "
                   "or from a copy of the full study codebook.")
def new_cmd(file: Path, skeleton: bool) -> None:
    """Start a codebook of your own (default ./codebook.yaml), which every command then uses."""
    from tui.core.files import FileRefused, atomic_write, read_text
    from tui.core.paths import bundled_codebook, skeleton_codebook

    if file.exists() or file.is_symlink():
        fail(f"{file} already exists; choose another path or remove it first.")
    source = skeleton_codebook() if skeleton else bundled_codebook()
    try:
        content = read_text(source, what="codebook", max_bytes=8 * 1024 * 1024)
        with atomic_write(file, what="codebook", newline="") as fh:
            fh.write(content)
    except FileRefused as exc:
        fail(str(exc))
    kind = "skeleton codebook" if skeleton else "study codebook"
    console().print(text(f"Wrote the {kind} to {file}; qualtui uses it when run in this folder (or with "
                         "--codebook). Codes you create while coding go into it with `qualtui codebook write`."))


@codebook_group.command("write")
@click.option("--to", "to", type=click.Path(path_type=Path),
              help="Write the result to this file instead; the project then still counts the changes as unwritten.")
@click.option("--force", is_flag=True, help="Write even though the codebook file changed since the changes were made.")
@click.pass_obj
def write_cmd(project: Project, to: Path | None, force: bool) -> None:
    """Fold the codebook changes made while coding into the codebook file, keeping its comments and layout."""
    from tui.core.paths import bundled_codebook
    from tui.core.project.codebook_write import WriteBackRefused, write_codebook

    path = project.codebook_file()
    if to is None and path.resolve() == bundled_codebook().resolve():
        fail("The codebook in force is the one shipped with qualtui; start your own with `qualtui codebook new "
             "--study` (or give --to PATH) and write into that.")
    if not Path(project.db_path).exists():
        fail(f"No project at {project.db_path}; there are no codebook changes to write.")
    try:
        result = write_codebook(project.store(), path, to=to, force=force)
    except WriteBackRefused as exc:
        fail(str(exc))
    if not result.written and not result.skipped:
        console().print(text(f"{path} already holds every codebook change; nothing written."))
        return
    skipped = f" ({result.skipped} skipped; see `qualtui codebook history`)" if result.skipped else ""
    where = "" if result.recorded else "; the project's own codebook file is unchanged"
    console().print(text(f"Wrote {result.written} codebook change{'s' * (result.written != 1)} into "
                         f"{result.path}{skipped}{where}."))


@codebook_group.command("history")
@click.option("--code", "code", help="Only the changes to this code (id or former id).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.pass_obj
def history_cmd(project: Project, code: str | None, fmt: str) -> None:
    """Every codebook change: when, who, on which post, what it did, and why any was skipped."""
    from tui.core.project.codebook_write import codebook_history
    from tui.core.report.writers import Table, to_csv, to_json

    file_cb = load_codebook_or_exit(project.codebook_file())
    rows = codebook_history(project.store().db.conn, file_cb, code)
    if code and not rows and project.codebook().node(code) is None:
        fail(f"There is no code {code!r} in the codebook or its history.")
    headers = ["at", "coder", "post", "kind", "code", "change", "skipped", "written"]
    table = Table("Codebook history", headers, [[r.at, r.coder, r.post, r.kind, r.code_id, r.summary, r.problem,
                                                 "yes" if r.written else "no"] for r in rows])
    if fmt == "csv":
        click.echo(to_csv(table), nl=False)
        return
    if fmt == "json":
        click.echo(to_json(table.records()), nl=False)
        return
    if not rows:
        console().print(text("No codebook changes yet."))
        return
    for r in rows:
        line = text(f"{r.at}  {r.coder}  {r.post or '-'}  ", "dim", oneline=True)
        line.append_text(text(f"skipped: {r.problem}" if r.problem else r.summary, "yellow" if r.problem else "",
                              oneline=True))
        console().print(line)


def coded_counts(project: Project) -> dict[str, int]:
    """Posts per code id over every coder's current decisions (a category counts its codes' posts)."""
    store = project.store()
    cb = project.codebook()
    posts: dict[str, set[int]] = {}
    for coder in store.coders():
        for pid, st in store.states(coder).items():
            for cid in st.codes:
                current = cb.resolve(cid) or cid
                node = cb.node(current)
                while node is not None:
                    posts.setdefault(node.id, set()).add(pid)
                    parent = getattr(node, "parent_id", None) or getattr(node, "category_id", None)
                    node = cb.node(parent) if parent and parent != node.id else None
    return {k: len(v) for k, v in posts.items()}


def register(cli: click.Group) -> None:
    """Add this module's commands."""
    cli.add_command(lookup_cmd)
    cli.add_command(codebook_group)
