"""Bounded reads and safe writes: every file qualtui reads or writes goes through here.

Reads accept regular files only (never a FIFO, a device such as /dev/zero, or a directory) and check
the size before reading. Writes go to a regular file or a new path, through a temporary file in the
same folder and a rename, so a crash leaves either the old file or the new one, and a symlink, FIFO
or device at the path is refused rather than replaced.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Literal, overload

from tui.core.safe import clean

MiB = 1024 * 1024

# Documented limits (docs/limits.md). Large enough for any real study, small enough to refuse a
# mistaken or hostile file before it costs memory.
MAX_CODEBOOK_BYTES = 8 * MiB
"""A codebook file (YAML or REFI-QDA .qdc)."""
MAX_EXCHANGE_BYTES = 1024 * MiB
"""An exchange file from another coder (streamed line by line)."""
MAX_CONFIG_BYTES = 1 * MiB
"""The coder's config file."""
MAX_LINE_BYTES = 16 * MiB
"""One line of a JSON Lines or CSV file, and one CSV field."""


class FileRefused(Exception):
    """A path qualtui will not read or write; the message is one sentence for the user."""


def _shown(path: str | os.PathLike[str]) -> str:
    return clean(os.fspath(path), oneline=True)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def check_readable(path: str | os.PathLike[str], *, what: str = "file", max_bytes: int | None = None) -> int:
    """The size of `path` if it is a regular file within `max_bytes`; else `FileRefused`."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FileRefused(f"No such {what}: {_shown(path)}.") from None
    except OSError as exc:
        raise FileRefused(f"Cannot read {what} {_shown(path)}: {exc.strerror or exc}.") from None
    if not stat.S_ISREG(st.st_mode):
        raise FileRefused(f"{_shown(path)} is {_kind(st.st_mode)}; a {what} must be a regular file.")
    if max_bytes is not None and st.st_size > max_bytes:
        raise FileRefused(
            f"{_shown(path)} is {_size(st.st_size)}, over the {_size(max_bytes)} limit for a {what}."
        )
    return st.st_size


def read_bytes(path: str | os.PathLike[str], *, what: str = "file", max_bytes: int) -> bytes:
    """The whole of a regular file no larger than `max_bytes` (checked before and while reading)."""
    check_readable(path, what=what, max_bytes=max_bytes)
    try:
        with open(path, "rb") as fh:
            # The file may grow between stat and read: never read more than the limit allows.
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise FileRefused(f"Cannot read {what} {_shown(path)}: {exc.strerror or exc}.") from None
    if len(data) > max_bytes:
        raise FileRefused(f"{_shown(path)} is over the {_size(max_bytes)} limit for a {what}.")
    return data


def read_text(path: str | os.PathLike[str], *, what: str = "file", max_bytes: int) -> str:
    """A bounded regular file decoded as UTF-8 (a BOM is dropped)."""
    data = read_bytes(path, what=what, max_bytes=max_bytes)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileRefused(f"{_shown(path)} is not UTF-8 text (byte {exc.start}).") from None


def check_writable_target(path: str | os.PathLike[str], *, what: str = "output file") -> None:
    """Refuse a path that exists and is not a regular file (symlink, FIFO, device, folder)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        parent = Path(path).parent
        if not parent.is_dir():
            raise FileRefused(f"Cannot write {what} {_shown(path)}: its folder does not exist.") from None
        return
    if stat.S_ISLNK(st.st_mode):
        raise FileRefused(f"{_shown(path)} is a symbolic link; write the {what} to a regular file or a new path.")
    if not stat.S_ISREG(st.st_mode):
        raise FileRefused(
            f"{_shown(path)} is {_kind(st.st_mode)}; write the {what} to a regular file or a new path."
        )


@overload
def atomic_write(path: str | os.PathLike[str], *, binary: Literal[False] = ..., what: str = ...,
                 newline: str | None = ...) -> contextlib.AbstractContextManager[IO[str]]: ...
@overload
def atomic_write(path: str | os.PathLike[str], *, binary: Literal[True], what: str = ...,
                 newline: str | None = ...) -> contextlib.AbstractContextManager[IO[bytes]]: ...


def atomic_write(path: str | os.PathLike[str], *, binary: bool = False, what: str = "output file",
                 newline: str | None = None) -> contextlib.AbstractContextManager[IO[str]] | \
        contextlib.AbstractContextManager[IO[bytes]]:
    """Write `path` through a temporary file and a rename; nothing is left behind on failure."""
    return _atomic(path, binary=binary, what=what, newline=newline)


@contextlib.contextmanager
def _atomic(path: str | os.PathLike[str], *, binary: bool, what: str, newline: str | None) -> Iterator[IO]:  # type: ignore[type-arg]
    check_writable_target(path, what=what)
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise FileRefused(f"Cannot write {what} {_shown(path)}: {exc.strerror or exc}.") from None
    try:
        if binary:
            fh: IO = os.fdopen(fd, "wb")  # type: ignore[type-arg]
        else:
            fh = os.fdopen(fd, "w", encoding="utf-8", newline=newline)
        with fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(OSError):
            # Keep the permissions an existing file had; a new file gets the usual 0666 & ~umask.
            if target.exists():
                os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))
            else:
                umask = os.umask(0)
                os.umask(umask)
                os.chmod(tmp, 0o666 & ~umask)
        check_writable_target(path, what=what)  # nothing swapped in while we wrote
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, FileRefused):
            raise FileRefused(f"Cannot write {what} {_shown(path)}: {exc.strerror or exc}.") from None
        raise


def _size(n: int) -> str:
    if n >= 1024 * MiB:
        return f"{n / (1024 * MiB):.1f} GiB"
    if n >= MiB:
        return f"{n / MiB:.1f} MiB"
    if n >= 1024:
        return f"{n / 1024:.0f} KiB"
    return f"{n} bytes"


def format_size(n: int) -> str:
    """A byte count as the limit messages show it: '2.0 MiB', '512 KiB', '100 bytes'."""
    return _size(n)
