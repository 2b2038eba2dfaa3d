"""A zip writer whose memory does not grow with the number of members.

Python's `zipfile` keeps a record of every member in memory until it writes the central directory at
the end; for an archive with one member per post that grows with the posts. This writer appends each
member's central-directory record to a temporary file instead and copies it in at the end. Deflate
only; Zip64 end records when there are more than 65,535 members or the archive passes 4 GiB.
"""

from __future__ import annotations

import shutil
import struct
import time
import zlib
from pathlib import Path
from typing import IO

__all__ = ["ZipStreamWriter"]

_LIMIT32 = 0xFFFFFFFF
_CHUNK = 1 << 16
_UTF8_NAMES = 0x0800


def _dos_time(when: float) -> tuple[int, int]:
    t = time.gmtime(max(when, 315532800))  # zip times start in 1980
    clock = (t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2)
    return clock, ((t.tm_year - 1980) << 9) | (t.tm_mon << 5) | t.tm_mday


class ZipStreamWriter:
    """Write deflated members one after another to a seekable binary file; `close()` ends the archive."""

    def __init__(self, out: IO[bytes], spool: IO[bytes], when: float | None = None) -> None:
        self.out = out
        self.spool = spool  # central-directory records, copied to `out` by close()
        self.count = 0
        self.clock, self.date = _dos_time(time.time() if when is None else when)

    def _local(self, name: bytes, crc: int, csize: int, usize: int) -> bytes:
        return struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, _UTF8_NAMES, 8, self.clock, self.date, crc, csize, usize,
                           len(name), 0) + name

    def _record(self, name: bytes, crc: int, csize: int, usize: int, offset: int) -> None:
        if max(csize, usize) >= _LIMIT32:
            raise ValueError("a member of 4 GiB or more")
        extra = struct.pack("<HHQ", 1, 8, offset) if offset >= _LIMIT32 else b""
        self.spool.write(struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 0x0314, 45 if extra else 20, _UTF8_NAMES, 8, self.clock, self.date,
            crc, csize, usize, len(name), len(extra), 0, 0, 0, 0o100644 << 16, min(offset, _LIMIT32)) + name + extra)
        self.count += 1

    def add(self, name: str, data: bytes) -> None:
        """One member from bytes in memory (a post's text)."""
        raw = name.encode("utf-8")
        comp = zlib.compressobj(6, zlib.DEFLATED, -15)
        body = comp.compress(data) + comp.flush()
        crc = zlib.crc32(data)
        offset = self.out.tell()
        self.out.write(self._local(raw, crc, len(body), len(data)))
        self.out.write(body)
        self._record(raw, crc, len(body), len(data), offset)

    def add_file(self, name: str, path: Path) -> None:
        """One member streamed from a file; its header is completed by seeking back once the sizes are known."""
        raw = name.encode("utf-8")
        offset = self.out.tell()
        self.out.write(self._local(raw, 0, 0, 0))
        comp = zlib.compressobj(6, zlib.DEFLATED, -15)
        crc = usize = csize = 0
        with open(path, "rb") as src:
            while chunk := src.read(_CHUNK):
                crc = zlib.crc32(chunk, crc)
                usize += len(chunk)
                part = comp.compress(chunk)
                csize += len(part)
                self.out.write(part)
        tail = comp.flush()
        csize += len(tail)
        self.out.write(tail)
        if max(csize, usize) >= _LIMIT32:
            raise ValueError("a member of 4 GiB or more")
        end = self.out.tell()
        self.out.seek(offset + 14)
        self.out.write(struct.pack("<III", crc, csize, usize))
        self.out.seek(end)
        self._record(raw, crc, csize, usize, offset)

    def close(self) -> None:
        """Copy the central directory in and write the end records (Zip64 ones when needed)."""
        start = self.out.tell()
        self.spool.flush()
        self.spool.seek(0)
        shutil.copyfileobj(self.spool, self.out, _CHUNK)
        size = self.out.tell() - start
        if self.count > 0xFFFF or start >= _LIMIT32 or size >= _LIMIT32:
            here = self.out.tell()
            self.out.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, self.count, self.count, size,
                                       start))
            self.out.write(struct.pack("<IIQI", 0x07064B50, 0, here, 1))
        n = min(self.count, 0xFFFF)
        self.out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, min(size, _LIMIT32), min(start, _LIMIT32), 0))
