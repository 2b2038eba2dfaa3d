"""`qualtui export --format qdpx` and `qualtui import FILE.qdpx`: the coded project to and from other QDA tools."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from tui.cli.common import Project, coder_name, console, fail, load_codebook_or_exit, text


def export_qdpx_file(project: Project, coder: str | None, consensus: bool, output: Path | None,
                     relevant_only: bool, with_wellbeing: bool) -> None:
    """Write the project's coded posts, quotes and memos as a REFI-QDA `.qdpx` archive."""
    from tui.core.files import FileRefused, check_writable_target
    from tui.core.project.events import CONSENSUS
    from tui.core.report.qdpx import SUFFIX, QdpxExportError, export_qdpx

    if with_wellbeing:
        fail("Well-being records never leave in a .qdpx file; export them with the default format instead.")
    if consensus and coder and coder != CONSENSUS:
        fail("Give either --coder NAME or --consensus, not both.")
    who = CONSENSUS if consensus else (coder or "").strip()
    if who:
        coder_name(who)
    store = project.store()
    cb = project.codebook()
    path = output or Path(f"{Path(project.db_path).stem}-{date.today().isoformat()}{SUFFIX}")
    try:
        check_writable_target(path, what=".qdpx file")
        result = export_qdpx(store, cb, path, coders=[who] if who else None, relevant_only=relevant_only,
                             name=Path(project.db_path).stem)
    except (QdpxExportError, FileRefused) as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"Cannot write {path}: {exc.strerror or exc}.")
    console().print(text(f"{result.path}: {result.sources} posts, {result.codings} codings, {result.quotes} quotes, "
                         f"{result.notes} memos by {', '.join(result.users)}"))
    if result.unknown_codes:
        console(stderr=True).print(text(f"Warning: {len(result.unknown_codes)} code id(s) in the decisions are not in "
                                        "the codebook and were left out (see `qualtui codebook orphans`)."))


def import_qdpx_files(project: Project, files: tuple[Path, ...], merge: bool) -> None:
    """Import REFI-QDA `.qdpx` archives: posts, codings, quotes and memos, each file all or nothing."""
    from tui.core.coding.sentences import shown_sentences
    from tui.core.paths import bundled_codebook
    from tui.core.project.qdpx import QdpxImportError, import_qdpx

    if not all(f.suffix.lower() == ".qdpx" for f in files):
        fail("Import .qdpx files on their own, not together with other files.")
    given = Path(project.codebook_path) if project.codebook_path else None
    # A --codebook path that does not exist yet is where the file's codebook will be written.
    current = project.codebook() if given is None or given.exists() else load_codebook_or_exit(bundled_codebook())
    out_path = given or Path("codebook.yaml")
    store = project.store(create=True)
    out, err = console(), console(stderr=True)
    for f in files:
        try:
            result = import_qdpx(store, f, codebook=current, sentences=shown_sentences, codebook_out=out_path,
                                 merge=merge)
        except QdpxImportError as exc:
            project.discard_if_new()
            fail(str(exc))
        current = result.codebook or current
        who = ", ".join(f"{c} {n}" for c, n in sorted(result.coders.items())) or "none"
        out.print(text(f"{f.name}: {result.posts} posts imported, {result.already} already here; "
                       f"{result.events} events ({who})"))
        for line in result.skipped[:20]:
            err.print(text(f"  skipped {line}"))
        if len(result.skipped) > 20:
            err.print(text(f"  … and {len(result.skipped) - 20} more skipped"))
        for note in result.notes:
            err.print(text(f"Note: {note}"))
        if result.codebook_path is not None:
            hint = "" if project.codebook_path or result.codebook_path == Path("codebook.yaml") else \
                f"; use it with --codebook {result.codebook_path}"
            out.print(text(f"The file's codebook was written to {result.codebook_path}{hint}."))
    out.print(text(f"{store.count_posts()} posts in {project.db_path}"))
