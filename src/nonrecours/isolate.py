"""Tasks run one at a time, each in a fresh child process: its memory goes back to the system when it ends.

Why: a partitioned run's parts, evaluated one after another in one process, cost more the later they run. At
10 million persons (80 parts) part 36 took 272.6 CPU s in the run and 153.5 alone in a new process, its rows
identical; the run's process had spent 2,152 s in the kernel for 5,225 in user code: the allocator's pages
(``benchmarks/results/detect_10m_141fcad.md``), not the rules. A part in its own process starts on a clean heap.

The child is spawned, not forked (a fork copies Polars' thread pool in whatever state it is in and can
deadlock); a task's arguments and result are pickled (a part's lazy scans, facts and summary: small). Its log
records are handled by this process's loggers (the run's log file gets them as before), and an exception it
raises is raised here, of the same class with the same attributes (``NonRecoursError.__reduce__``); a child
that dies without a result (killed by the system for memory, a signal) raises ``ControlError``. As with any
spawned process, the script that started the run is imported again in the child: its code must be guarded by
``if __name__ == "__main__":`` (the ``nonrecours`` command is).
"""

from __future__ import annotations

import logging
import logging.handlers
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from nonrecours.errors import ControlError

__all__ = ["Usage", "metered", "run_each"]

T = TypeVar("T")
_LOGGERS = ("", "nonrecours")
"""The loggers whose level a child takes from this process (the root and the package's)."""


@dataclass(frozen=True)
class Usage:
    """What a task cost: wall and CPU seconds (user and system), and, in a child of its own, the child's peak
    resident memory (None when run in this process: its peak is the process's since it started, not the task's)."""

    wall_s: float
    user_s: float
    system_s: float
    peak_rss_mib: float | None

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.system_s

    def describe(self) -> str:
        peak = "" if self.peak_rss_mib is None else f", peak {self.peak_rss_mib / 1024:.1f} GiB"
        return f"{self.wall_s:.1f} s, CPU {self.user_s:.1f} s user + {self.system_s:.1f} s system{peak}"


def _peak_mib() -> float | None:
    """This process's peak resident memory (``getrusage``: Unix; None elsewhere)."""
    try:
        import resource
    except ImportError:
        return None
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


@contextmanager
def metered(into: dict[str, Usage], name: str) -> Iterator[None]:
    """``into[name]``: what the block cost (wall and CPU; no peak: a step's is not the process's)."""
    c0, t0 = os.times(), time.perf_counter()
    yield
    c1 = os.times()
    into[name] = Usage(round(time.perf_counter() - t0, 3), round(c1.user - c0.user, 3),
                       round(c1.system - c0.system, 3), None)


def _measured(fn: Callable[..., T], args: tuple[Any, ...], child: bool) -> tuple[T, Usage]:
    cost: dict[str, Usage] = {}
    with metered(cost, "task"):
        out = fn(*args)
    return out, replace(cost["task"], peak_rss_mib=_peak_mib() if child else None)


def _child_measured(fn: Callable[..., T], args: tuple[Any, ...]) -> tuple[T, Usage]:
    return _measured(fn, args, True)


def _child_logging(queue: Any, levels: dict[str, int]) -> None:
    """In the child: every record goes to ``queue`` (this process's loggers handle it), at the parent's levels."""
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(logging.handlers.QueueHandler(queue))
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


class _Forward(logging.Handler):
    """A child's record handed to the logger of its name here, as if it had been logged in this process."""

    def emit(self, record: logging.LogRecord) -> None:
        logger = logging.getLogger(record.name)
        if logger.isEnabledFor(record.levelno):
            logger.handle(record)


def run_each(fn: Callable[..., T], jobs: Iterable[tuple[str, tuple[Any, ...]]], *,
             fresh: bool = True) -> Iterator[tuple[T, Usage]]:
    """``fn(*args)`` for each job ``(name, args)`` in turn, with what it cost; each in a new spawned child process
    when ``fresh`` (``fn`` and the args must then be picklable: ``fn`` a module's function), else here. Results
    come in the jobs' order, one task at a time (memory follows one task); ``name`` says which task in an error."""
    if not fresh:
        for _, args in jobs:
            yield _measured(fn, args, False)
        return
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    listener = logging.handlers.QueueListener(queue, _Forward())
    levels = {name: logging.getLogger(name).getEffectiveLevel() for name in _LOGGERS}
    listener.start()
    try:
        for name, args in jobs:
            # a pool of one worker that serves one task: a new process per task, ended with it
            with ProcessPoolExecutor(max_workers=1, mp_context=ctx, initializer=_child_logging,
                                     initargs=(queue, levels), max_tasks_per_child=1) as pool:
                future = pool.submit(_child_measured, fn, args)
                try:
                    out = future.result()
                except BrokenProcessPool as e:
                    raise ControlError(
                        f"{name}: its process ended without a result: stopped by a signal, or by the system for "
                        "lack of memory (more partitions make each part smaller), or it could not start (a script "
                        "calling nonrecours must guard its code with `if __name__ == \"__main__\":`, which a new "
                        "process imports again; its error is above)") from e
            yield out
    finally:
        listener.stop()
        queue.close()
