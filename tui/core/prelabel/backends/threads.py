"""How many threads llama.cpp gets: the cores other programs leave free, measured rather than guessed.

See docs/prelabel.md for the busy-machine figures behind these rules.
"""

from __future__ import annotations

import math
import os
import time

__all__ = ["RECHECK_SECONDS", "SHARED_CORE", "CoreMeter", "busy_cores", "free_threads", "usable_cores"]

RECHECK_SECONDS = 20.0  # how often a run without --threads looks again at how many cores are free
SHARED_CORE = 0.3  # a core that other programs use this much of is not given a llama.cpp thread


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _machine_busy() -> float | None:
    """CPU seconds the whole machine has spent busy since boot (Linux /proc/stat); None where unknown."""
    try:
        with open("/proc/stat", "rb") as fh:
            fields = fh.readline().split()
        ticks = [int(x) for x in fields[1:8]]
        idle = ticks[3] + ticks[4]  # idle and iowait
        return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _own_cpu() -> float:
    t = os.times()
    return t.user + t.system


class CoreMeter:
    """How many cores other programs keep busy: the machine's busy time minus this process's, per second."""

    def __init__(self) -> None:
        self._at = time.monotonic()
        self._busy = _machine_busy()
        self._own = _own_cpu()

    @property
    def available(self) -> bool:
        """False where the system does not say how busy it is (no /proc/stat)."""
        return self._busy is not None

    def others(self) -> float | None:
        """Cores used by other processes since the last call (or since construction); None where unknown."""
        at, busy, own = time.monotonic(), _machine_busy(), _own_cpu()
        if busy is None or self._busy is None or at - self._at < 0.05:
            return None
        used = max(0.0, (busy - self._busy) - (own - self._own)) / (at - self._at)
        self._at, self._busy, self._own = at, busy, own
        return used


def busy_cores(window: float = 0.5) -> float:
    """Cores other programs keep busy now: measured over `window` seconds, else the 1-minute load average.

    The measurement (Linux) sees a job that has just started and forgets one that has just ended,
    including a previous run of this program; the load average (elsewhere) lags a minute behind.
    """
    meter = CoreMeter()
    if not meter.available:
        try:
            return os.getloadavg()[0]
        except (OSError, AttributeError):
            return 0.0
    time.sleep(window)
    return meter.others() or 0.0


def free_threads(busy: float, reserve: int = 0) -> int:
    """Threads for llama.cpp: the cores that `busy` cores of other work (and `reserve`) leave free, at least 1.

    llama.cpp's threads spin while they wait for each other, so a thread that shares its core with
    another busy program holds up all the others: on a busy machine one thread per core is several
    times slower than fewer (see docs/prelabel.md). A core counts as taken once other work uses 0.3
    of it, because giving up a core costs at most its share while sharing one costs far more.
    """
    total = os.cpu_count() or 1
    return max(1, min(usable_cores() - reserve, math.floor(total - reserve - busy + SHARED_CORE)))
