"""The command line: ``nonrecours`` (the console script) and ``python -m nonrecours``.

Polars allocates through jemalloc and, when it loads, tells it to hand freed pages back to the system after half
a second (``dirty_decay_ms:500,muzzy_decay_ms:1000``): right for an interactive session, costly for a batch run,
which frees and allocates frames of hundreds of megabytes all the time and then faults the same pages back in.
The command line sets both decays to ten seconds (jemalloc's own default for dirty pages) before Polars loads:
``detect`` at France 100,000, medians of three alternated runs, 103.4 -> 92.9 s wall, 162.5 -> 144.9 CPU s (system
35.9 -> 16.4 s), peak 6.2 -> 7.3 GiB, outputs identical (``benchmarks/allocator_bench.py``,
``benchmarks/results/allocator_detect_100k_2026-12-04.md``). A ``_RJEM_MALLOC_CONF`` already in the environment
is left as it is, so a team short of memory sets its own (``dirty_decay_ms:500,muzzy_decay_ms:1000``: Polars').
"""

from __future__ import annotations

import os

ALLOCATOR = "dirty_decay_ms:10000,muzzy_decay_ms:10000"
"""jemalloc's settings for a batch run (Polars appends them to its own, so they win)."""


def main() -> None:
    """Set the allocator, then run the command line (Polars reads the setting when it is first imported)."""
    os.environ.setdefault("_RJEM_MALLOC_CONF", ALLOCATOR)
    from nonrecours.cli import app

    app()


if __name__ == "__main__":
    main()
