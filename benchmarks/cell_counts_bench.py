"""The statistics' cell counts alone (``outputs.statistics.cell_counts``: every unit of the month summed into
every cell, before secrecy) as the outputs stage calls them, an earlier commit beside this tree.

Run: ``PYTHONPATH=src nice -n 10 python benchmarks/cell_counts_bench.py --detection DIR --baseline REV
--workdir SCRATCH [--candidate REV] [--out FILE]`` (``DIR``: a detection month folder, ``units.parquet``,
``memberships.parquet``, ``residence.parquet``).

The baseline reads ``units.parquet`` whole (``pl.read_parquet``, as the stage did before the units became a
lazy scan); this tree passes the scan. Each side is its own process: wall and CPU seconds, peak RSS
(``ru_maxrss``) of the whole process (the profiles, the territory and the counts), and the cells, written to
``SCRATCH``, compared row for row.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl

from outputs_stage_bench import _baseline_src

_CHILD = """
import datetime as dt, json, resource, sys, time
import polars as pl
from nonrecours.outputs.statistics import cell_counts, territory_table, unit_profiles
det, out, lazy = sys.argv[1], sys.argv[2], sys.argv[3] == "lazy"
t, c = time.perf_counter(), time.process_time()
units = pl.scan_parquet(det + "/units.parquet") if lazy else pl.read_parquet(det + "/units.parquet")
profiles = unit_profiles(pl.scan_parquet(det + "/memberships.parquet"), pl.scan_parquet(det + "/residence.parquet"),
                         dt.date(2026, 6, 1))
cells = cell_counts(units, profiles, territory_table(None, communes=profiles.get_column("depcom")))
wall, cpu = time.perf_counter() - t, time.process_time() - c
cells.write_parquet(out)
print(json.dumps({"wall_seconds": round(wall, 2), "cpu_seconds": round(cpu, 2), "cells": cells.height,
                  "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--detection", type=Path, required=True)
    ap.add_argument("--baseline", required=True)
    ap.add_argument("--candidate")
    ap.add_argument("--workdir", type=Path, required=True)
    ap.add_argument("--sides", default="baseline,this", help="which to run (both to compare the cells)")
    ap.add_argument("--label", default="")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    here = Path(__file__).resolve().parents[1]
    sides = {"baseline": (_baseline_src(args.baseline, args.workdir), "whole"),
             "this": (_baseline_src(args.candidate, args.workdir) if args.candidate else here / "src", "lazy")}
    runs = {}
    for label, (src, mode) in sides.items():
        if label not in args.sides.split(","):
            continue
        load = os.getloadavg()[0]
        done = subprocess.run([sys.executable, "-c", _CHILD, str(args.detection),
                               str(args.workdir / f"cells_{label}.parquet"), mode],
                              check=True, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(src)})
        runs[label] = {"units": mode, **json.loads(done.stdout.strip().splitlines()[-1]),
                       "load_before": round(load, 2), "load_after": round(os.getloadavg()[0], 2)}
        print(json.dumps({label: runs[label]}), file=sys.stderr, flush=True)
    result = {"label": args.label, "detection": str(args.detection), "baseline": args.baseline,
              "this": args.candidate or "working tree", "runs": runs,
              "units_rows": pl.scan_parquet(args.detection / "units.parquet").select(pl.len()).collect().item()}
    if len(runs) == 2:
        a, b = (pl.read_parquet(args.workdir / f"cells_{k}.parquet") for k in ("baseline", "this"))
        common = [c for c in a.columns if c in b.columns]
        amounts = [c for c in common if c.startswith("monthly_foregone")]
        result["cells_rows_identical"] = a.equals(b)
        # the baseline summed floats in the engine's order; this tree sums whole cents: equal once rounded to the
        # cent, as published (on the columns both sides have, when a measure was added or replaced)
        result["columns_only_baseline"] = [c for c in a.columns if c not in b.columns]
        result["columns_only_this"] = [c for c in b.columns if c not in a.columns]
        result["cells_identical_amounts_rounded_to_cents"] = a.select(common).with_columns(
            pl.col(amounts).round(2)).equals(b.select(common).with_columns(pl.col(amounts).round(2)))
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
