"""Statistical secrecy alone on the statistics' cells of a finished run, and a fresh audit of its pattern.

Run (each step its own process, so that two checkouts can be alternated in one session):

- ``python benchmarks/secrecy_cells_bench.py save --run DIR --month 2026-06-01 --cells CELLS.parquet``: the
  cells before secrecy (``unit_profiles`` + ``cell_counts`` on ``DIR/detection/YYYY-MM``, as the outputs stage
  builds them; never publish this file);
- ``... suppress --cells CELLS.parquet [--pattern-out P.parquet]``: ``suppress`` (heuristic + audit) of the
  ``nonrecours`` on ``PYTHONPATH``: one line ``RESULT`` with wall and CPU seconds, secret cells, secondary
  cells, the pattern's SHA-256 (as ``secrecy_bench.py``) and peak RSS;
- ``... verify --cells CELLS.parquet --pattern P.parquet``: the final pattern audited afresh (every block, every
  short cell solved on its own: ``CELL_SOLVES`` unbounded), the cells it finds exposed asked of the real reader
  (the whole program), the published sums checked for a lone secret cell, and the cells secret in one table and
  published in another table of the same counts (``_twin_tables``).

Counts only are printed, never a cell's area or value.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import resource
import sys
import time
from pathlib import Path

import polars as pl

KEYS = ["benefit", "level", "area", "parent_area", "household_type"]


def save(args: argparse.Namespace) -> None:
    from nonrecours.outputs.statistics import cell_counts, territory_table, unit_profiles

    det = args.run / "detection" / f"{args.month:%Y-%m}"
    profiles = unit_profiles(pl.scan_parquet(det / "memberships.parquet"), pl.scan_parquet(det / "residence.parquet"),
                             args.month)
    territory = territory_table(None, communes=profiles.get_column("depcom"))
    cell_counts(pl.scan_parquet(det / "units.parquet"), profiles, territory).write_parquet(args.cells)


def suppress(args: argparse.Namespace) -> None:
    import nonrecours.outputs.statistics as st

    cells = pl.read_parquet(args.cells)
    t0, c0 = time.perf_counter(), time.process_time()
    out = st.suppress(cells, threshold=args.threshold)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    keys = ["benefit", "level", "area", "household_type"]
    sha = hashlib.sha256(out.select(*keys, "suppressed").sort(keys).write_csv().encode()).hexdigest()
    secret = out.get_column("suppressed").is_not_null()
    print(f"RESULT module {st.__file__} wall {wall:.1f} cpu {cpu:.1f} secret {int(secret.sum())} "
          f"secondary {int((out.get_column('suppressed') == 'secondary').sum())} sha256 {sha} "
          f"peak_rss_mib {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}")
    if args.pattern_out:
        out.select(*KEYS, "suppressed").write_parquet(args.pattern_out)


def verify(args: argparse.Namespace) -> None:
    import nonrecours.outputs.statistics as st

    cells = pl.read_parquet(args.cells).join(pl.read_parquet(args.pattern), on=KEYS, how="left", nulls_equal=True,
                                             maintain_order="left")
    rank = {lv: i for i, lv in enumerate(st.LEVELS)}
    cells = (cells.sort("benefit", pl.col("level").replace_strict(rank), "area", "parent_area", "household_type",
                        nulls_last=True, maintain_order=True).with_columns(pl.int_range(pl.len()).alias("_cell")))
    tier = pl.when(pl.col("level") == "total").then(0).when(pl.col("level") == "departement").then(1).otherwise(2)
    status = cells.select("_cell", pl.col("units").alias("_v"), "suppressed", tier.cast(pl.Int8).alias("_tier"))
    print("published cells under the threshold:",
          status.filter(pl.col("suppressed").is_null() & (pl.col("_v") < args.threshold)).height)
    every_sum = st._relations(cells, st.LEVELS)
    names = every_sum.select("rel").unique().sort("rel").with_columns(pl.int_range(pl.len()).alias("_id"))
    every_sum = every_sum.join(names, on="rel").select(pl.col("_id").alias("rel"), "_cell", "is_total")
    hidden = pl.col("suppressed").is_not_null()
    lone = (every_sum.join(status, on="_cell").group_by("rel")
            .agg(hidden.sum().alias("n"), (hidden & (pl.col("_v") > 0)).sum().alias("nz"), (~hidden).sum().alias("o"))
            .filter(((pl.col("n") == 1) | (pl.col("nz") == 1)) & (pl.col("o") > 0)).height)
    print("published sums holding one secret cell (or one holding units):", lone)
    twin = st._twin_tables(cells, "units")
    shared = (cells.join(twin, on="benefit").group_by("_twin", *KEYS[1:])
              .agg(hidden.any().alias("any"), hidden.all().alias("all"), (pl.col("units") > 0).any().alias("held"))
              .filter(pl.col("any") & ~pl.col("all")))
    print("cells secret in a table and published in another of the same counts:", shared.height,
          "holding units:", shared.filter(pl.col("held")).height)
    held = (every_sum.join(status.filter(pl.col("_v") > 0).select("_cell"), on="_cell", how="semi")
            .select("rel").unique())
    every_sum = every_sum.join(held, on="rel", how="semi")
    st.CELL_SOLVES = 10**9
    c0 = time.process_time()
    exposed = st._audit(every_sum, status, args.threshold)[0]
    print(f"fresh audit: {len(exposed)} cells exposed ({time.process_time() - c0:.1f} CPU s)")
    if exposed:
        only = pl.Series("_cell", exposed, dtype=status.get_column("_cell").dtype)
        still = st._audit(every_sum, status, args.threshold, only=only, whole=True)[0]
        print(f"those asked of the real reader (whole program): {len(still)} exposed to it")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("step", choices=["save", "suppress", "verify"])
    ap.add_argument("--run", type=Path)
    ap.add_argument("--month", type=dt.date.fromisoformat)
    ap.add_argument("--cells", type=Path, required=True)
    ap.add_argument("--pattern", type=Path)
    ap.add_argument("--pattern-out", type=Path)
    ap.add_argument("--threshold", type=int, default=11)
    args = ap.parse_args()
    {"save": save, "suppress": suppress, "verify": verify}[args.step](args)


if __name__ == "__main__":
    sys.exit(main())
