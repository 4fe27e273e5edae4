"""Progress of long stages, shown once by the command line and logged everywhere.

Library code wraps each long stage in ``with stage("ingest caf.dat", total=n) as advance: ...``. When the
command line has enabled the display (``enable``), a rich progress line shows the stage with its elapsed
time (a bar when ``total`` is known); otherwise the stage is only logged (start, end and duration), so
library callers and tests stay quiet. Labels name files and stages, never data.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

__all__ = ["disable", "enable", "stage"]

log = logging.getLogger("nonrecours.progress")
_console: Console | None = None


def enable(console: Console) -> None:
    """Show stages on ``console`` from now on (called once by the command line). Not on a pipe or a file:
    there the stages are only logged (``--verbose`` shows them), so machine-read streams stay clean."""
    global _console
    _console = console if console.is_terminal else None


def disable() -> None:
    global _console
    _console = None


@contextmanager
def stage(label: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """A long stage: yields ``advance(n)``; shown as a progress line when enabled, logged in any case."""
    start = time.perf_counter()
    log.info("%s: started", label)
    if _console is None:
        yield lambda n=1: None
    else:
        progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), console=_console, transient=True)
        task = progress.add_task(label, total=total)
        with progress:  # an exception propagates from here: the command line prints one error line
            yield lambda n=1: progress.advance(task, n)
        _console.print(f"[green]✓[/green] {label} ({time.perf_counter() - start:.1f} s)", highlight=False)
    log.info("%s: done in %.1f s", label, time.perf_counter() - start)
