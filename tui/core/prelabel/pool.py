"""Model work on several threads at once, handed back in the order it was asked for.

A server scores several posts at the same time when several requests are in flight; the caller still
sees the answers in the order of its list, so what it writes (and in which order) does not depend on
which request happened to finish first. Only a bounded window of work is ahead of the caller.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

__all__ = ["Ordered"]

T = TypeVar("T")
R = TypeVar("R")


class Ordered(Generic[T, R]):
    """`fn(item)` for every item, `workers` at a time, yielded as (item, result) in the items' order.

    With one worker nothing runs on another thread. After an error or Ctrl-C, `cancel()` drops the work not
    yet started and `finished()` hands back every answer that had already arrived, so none is thrown away.
    """

    def __init__(self, fn: Callable[[T], R], items: Sequence[T], workers: int = 1, ahead: int | None = None) -> None:
        self.fn, self.items, self.workers = fn, items, max(1, workers)
        self.ahead = max(self.workers, ahead if ahead is not None else 2 * self.workers)
        self._pool: ThreadPoolExecutor | None = None
        self._window: deque[tuple[T, Future[R]]] = deque()

    def __iter__(self) -> Iterator[tuple[T, R]]:
        if self.workers == 1:
            for item in self.items:
                yield item, self.fn(item)
            return
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="prelabel")
        todo = iter(self.items)
        for item in todo:
            self._window.append((item, self._pool.submit(self.fn, item)))
            if len(self._window) >= self.ahead:
                break
        while self._window:
            item, fut = self._window[0]
            result = fut.result()  # an error here leaves the item in the window for finished() to skip
            self._window.popleft()
            yield item, result
            for nxt in todo:
                self._window.append((nxt, self._pool.submit(self.fn, nxt)))
                break

    def cancel(self) -> None:
        """Start nothing more; requests already sent finish on their own (their threads end by themselves)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def finished(self) -> list[tuple[T, R]]:
        """The answers that had arrived but were not handed out yet, in the items' order (after cancel())."""
        done = [(item, fut.result()) for item, fut in self._window
                if fut.done() and not fut.cancelled() and fut.exception() is None]
        self._window.clear()
        return done

    def close(self) -> None:
        """Let the threads go without waiting for them."""
        self.cancel()
        self._window.clear()
