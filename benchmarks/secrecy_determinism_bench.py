"""Is the secrecy pattern a function of the counts only? Runs the statistics' secrecy (heuristic + audit) on the
same synthetic table several times, and on its rows shuffled, and compares the patterns' SHA-256.

Run: ``python benchmarks/secrecy_determinism_bench.py [--persons 20000] [--territory france]
[--base FILE] [--out FILE]``

``--base``: another ``statistics.py`` (say the parent commit's, ``git show REV:src/nonrecours/outputs/statistics.py``)
run the same way in the same process, after this tree's, so that the two are compared under the same load.
Per module: ``suppress`` on the cells as ``cell_counts`` gives them, twice, then on the same cells in a shuffled
row order (``--shuffles`` seeds); the cells are also recomputed from the units table shuffled (they must be
equal, ``cell_counts`` sorts them). Reported per run: the pattern's SHA-256 (every cell's benefit, level, area,
household type and suppression, sorted, as CSV), the secret cells, and wall and CPU seconds (the machine is
shared: CPU seconds are the figure to compare).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).parent))
from nonrecours.outputs import statistics as this_tree
from outputs_bench import tables

KEYS = ["benefit", "level", "area", "household_type"]


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pattern(audited: pl.DataFrame) -> str:
    return hashlib.sha256(audited.select(*KEYS, "suppressed").sort(KEYS).write_csv().encode()).hexdigest()


def _run(module, cells: pl.DataFrame, threshold: int, label: str) -> dict:
    t0, c0 = time.perf_counter(), time.process_time()
    audited = module.suppress(cells, threshold=threshold)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    secret = audited.get_column("suppressed").is_not_null()
    out = {"run": label, "pattern_sha256": _pattern(audited), "secret": int(secret.sum()),
           "secret_holding_units": int((secret & (audited.get_column("units") > 0)).sum()),
           "seconds": round(wall, 2), "cpu_seconds": round(cpu, 2)}
    print(json.dumps(out), file=sys.stderr, flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=20_000)
    ap.add_argument("--territory", default="france")
    ap.add_argument("--threshold", type=int, default=11)
    ap.add_argument("--shuffles", type=int, default=1)
    ap.add_argument("--base", type=Path, help="a baseline statistics.py, run after this tree's")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    data = tables(args.persons, args.territory)
    cells = this_tree.cell_counts(data["units"], data["profiles"], data["territory"])
    again = this_tree.cell_counts(data["units"].sample(fraction=1.0, shuffle=True, seed=7),
                                  data["profiles"].sample(fraction=1.0, shuffle=True, seed=8),
                                  data["territory"].sample(fraction=1.0, shuffle=True, seed=9))
    modules = [("this_tree", this_tree)]
    if args.base:
        modules.append(("base", _load(args.base, "nonrecours_statistics_base")))
    result = {
        "date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "persons": args.persons, "territory": args.territory, "threshold": args.threshold,
        "cells": cells.height, "cells_equal_from_shuffled_units": cells.equals(again), "modules": {},
    }
    for name, module in modules:
        runs = [_run(module, cells, args.threshold, f"{name} 1"), _run(module, cells, args.threshold, f"{name} 2")]
        for s in range(args.shuffles):
            shuffled = cells.sample(fraction=1.0, shuffle=True, seed=100 + s)
            runs.append(_run(module, shuffled, args.threshold, f"{name} shuffled seed {100 + s}"))
        result["modules"][name] = {"runs": runs,
                                   "distinct_patterns": len({r["pattern_sha256"] for r in runs}),
                                   "cpu_seconds_total": round(sum(r["cpu_seconds"] for r in runs), 2)}
    result["load_average_1min_at_end"] = round(os.getloadavg()[0], 2)
    result["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
