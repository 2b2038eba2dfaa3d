"""What every command needs: the project, the codebook, a console, and clean failure."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from rich.console import Console

    from tui.core.codebook.model import Codebook
    from tui.core.config import Config
    from tui.core.project.store import Store


class UserError(click.ClickException):
    """An error the user caused: one sentence, no traceback."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        # click declares exit_code on the class; each error sets its own (2 for a broken codebook).
        self.exit_code = exit_code  # type: ignore[misc]

    def show(self, file: Any = None) -> None:
        from tui.core.safe import clean

        click.echo(f"Error: {clean(self.format_message())}", err=True)


def fail(message: str, exit_code: int = 1) -> NoReturn:
    """Stop the command with a clear message and a non-zero exit."""
    raise UserError(message, exit_code)


def coder_name(name: str, option: str = "--coder") -> str:
    """`name` if it can be a coder name; else stop with one sentence saying why."""
    from tui.core.project.events import MAX_CODER_CHARS, coder_problem

    problem = coder_problem(name)
    if problem:
        fail(f"{option} cannot be used: {problem} (a coder name has at most {MAX_CODER_CHARS} characters and no "
             "line breaks or control characters).")
    return name


@dataclass
class Project:
    """The paths given on the command line, opened on demand."""

    db_path: str
    codebook_path: str | None
    _store: Store | None = field(default=None, repr=False)
    _codebook: Codebook | None = field(default=None, repr=False)

    def store(self, *, create: bool = False) -> Store:
        """The project database (an error if it does not exist and `create` is False)."""
        if self._store is None:
            from tui.core.project.store import Store, StoreError

            try:
                self._store = Store(self.db_path, create=create)
            except StoreError as exc:
                fail(str(exc))
        return self._store

    def close_store(self) -> None:
        """Close the project database, so that the app about to run opens its own connection."""
        if self._store is not None:
            self._store.close()
            self._store = None

    def discard_if_new(self) -> None:
        """After a failed command: remove the project file if this command created it and it holds nothing."""
        store, self._store = self._store, None
        if store is None or not store.created:
            return
        from tui.core.project.store import remove_project_file

        try:
            empty = store.is_empty()
        except Exception:  # noqa: BLE001 - unsure whether it holds anything: keep it
            empty = False
        store.close()
        if empty:
            remove_project_file(store.path)

    def codebook_file(self) -> Path:
        """The codebook path in force."""
        from tui.core.paths import default_codebook

        return Path(self.codebook_path) if self.codebook_path else default_codebook()

    def codebook(self) -> Codebook:
        """The codebook in force: the file, validated (exit 2 with file:line messages if it is broken), plus
        the changes coders made to it while coding in this project (open coding)."""
        if self._codebook is None:
            from tui.core.project.codebook_log import with_project_changes

            self._codebook = with_project_changes(self.db_path, load_codebook_or_exit(self.codebook_file()))
        return self._codebook

    def forget_codebook(self) -> None:
        """Fold the codebook again on next use (after a merge brought other coders' codebook changes)."""
        self._codebook = None


def load_codebook_or_exit(path: Path) -> Codebook:
    """Load a codebook or exit 2 listing every problem with file and line."""
    from tui.core.codebook.loading import load_codebook
    from tui.core.codebook.model import CodebookError

    try:
        return load_codebook(path)
    except CodebookError as exc:
        fail(str(exc), exit_code=2)


def console(stderr: bool = False) -> Console:
    """A rich console that never interprets data as markup."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, markup=False, emoji=False)


def text(value: str, style: str = "", *, oneline: bool = False) -> Any:
    """Untrusted text as a rich Text: no markup, no control sequences."""
    from rich.text import Text

    from tui.core.safe import clean

    return Text(clean(value or "", oneline=oneline), style=style)


def app_config() -> Config:
    """The coder's config file, its key remapping checked before an app opens (exit 1 with one sentence)."""
    from tui.core.config import ConfigError, load_config
    from tui.core.paths import config_file
    from tui.ui.keymap import check_keymap

    try:
        config = load_config(config_file())
        check_keymap(config)  # an unknown binding id or a key bound twice stops here, not in the app
    except ConfigError as exc:
        fail(str(exc))
    return config
