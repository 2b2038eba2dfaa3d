"""The `qualtui` command line: thin click commands over tui.core."""

from tui.cli.main import cli, main

__all__ = ["cli", "main"]
