"""Join-core benchmark: ``build_month`` on a canonical workspace of N persons, time and peak memory.

Run: ``python benchmarks/core_bench.py [--persons 1000000] [--out benchmarks/results/core.json]``

The workspace is written as canonical Parquet (no extract parsing, no pseudonymisation: those have their
own benchmarks) with the shapes that cost in the core: CAF familles and ménages with 18 months of monthly
resources and payments, CNAV retirees with gross and net pensions, DGFiP foyers for everyone (yearly
income), people known only to France Travail or the DGFiP, and ménages the CAF does not know. Peak memory
is the process's maximum resident set size (``ru_maxrss``), measured after the workspace is written in a
child process so that it counts the core alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import platform
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

M = dt.date(2026, 6, 1)
MONTHS = [dt.date(2025 + (i // 12), i % 12 + 1, 1) for i in range(18)]  # 2025-01 .. 2026-06


def _prov(df: pl.DataFrame, agency: str) -> pl.DataFrame:
    return df.with_columns(pl.lit(agency).alias("source_agency"), pl.lit(f"{agency}-bench").alias("extract_id"),
                           pl.lit(dt.date(2026, 6, 28)).alias("extract_date"))


def write_workspace(n: int, root: Path, seed: int = 1) -> None:
    """Canonical tables of ``n`` persons in households of two (half followed by the CAF, a fifth retired)."""
    from nonrecours.schemas import TABLES

    rng = np.random.default_rng(seed)
    pid = pl.Series("person_id", [f"p{i:08d}" for i in range(n)])
    hh = np.arange(n) // 2
    kind = rng.random(n // 2 + 1)[hh]                       # per household: caf < .5, cnav < .7, else none
    first = (np.arange(n) % 2 == 0)
    birth = np.where(kind < 0.5, rng.integers(1960, 2000, n), np.where(kind < 0.7, rng.integers(1935, 1960, n),
                                                                       rng.integers(1950, 2004, n)))
    base = pl.DataFrame({"person_id": pid, "hh": hh, "kind": kind, "first": first,
                         "birth_month": [dt.date(int(y), 1, 1) for y in birth]})
    caf = base.filter(pl.col("kind") < 0.5)
    cnav = base.filter((pl.col("kind") >= 0.5) & (pl.col("kind") < 0.7))
    persons = pl.concat([_prov(caf, "caf"), _prov(cnav, "cnav")]).select(
        "person_id", "birth_month", pl.lit("F").alias("sex"), pl.lit("FR").alias("nationality_group"),
        pl.lit(None, dtype=pl.Int16).alias("residence_permit_years"), pl.lit("46042").alias("depcom"),
        pl.lit(0.0).alias("disability_rate"), pl.lit(False).alias("student"), pl.lit(False).alias("pregnant"),
        "source_agency", "extract_id", "extract_date")
    mems = []
    for df, agency in ((caf, "caf"), (cnav, "cnav")):
        role_f = pl.when(pl.col("first")).then(pl.lit("demandeur")).otherwise(pl.lit("conjoint"))
        role_m = pl.when(pl.col("first")).then(pl.lit("personne_de_reference")).otherwise(pl.lit("conjoint"))
        for k, role in (("famille", role_f), ("menage", role_m)):
            mems.append(_prov(df.select("person_id", pl.lit(k).alias("unit_kind"),
                                        (pl.lit(k[0]) + pl.col("hh").cast(pl.String)).alias("unit_id"),
                                        role.alias("role")), agency))
    mems.append(_prov(base.select("person_id", pl.lit("foyer_fiscal").alias("unit_kind"),
                                  (pl.lit("t") + pl.col("hh").cast(pl.String)).alias("unit_id"),
                                  pl.lit("declarant").alias("role")), "dgfip"))
    mem = pl.concat(mems).with_columns(pl.lit(dt.date(2024, 1, 1)).alias("valid_from"),
                                       pl.lit(None, dtype=pl.Date).alias("valid_to"))
    months = pl.DataFrame({"month": MONTHS})
    res = [
        _prov(caf.join(months, how="cross").select("person_id", "month", pl.lit("salary_net").alias("kind"),
                                                   pl.lit(1100.0).alias("amount")), "caf"),
        _prov(cnav.join(months, how="cross").select("person_id", "month", pl.lit("pension_gross").alias("kind"),
                                                     pl.lit(900.0).alias("amount")), "cnav"),
        _prov(cnav.join(months, how="cross").select("person_id", "month", pl.lit("pension_net").alias("kind"),
                                                     pl.lit(820.0).alias("amount")), "cnav"),
        _prov(base.filter(pl.col("kind") > 0.9).join(months, how="cross").select(
            "person_id", "month", pl.lit("unemployment_benefit").alias("kind"), pl.lit(950.0).alias("amount")),
            "france_travail"),
    ]
    paid = _prov(caf.filter(pl.col("first")).join(months.filter(pl.col("month") >= dt.date(2025, 7, 1)),
                                                   how="cross").select(
        pl.lit("famille").alias("unit_kind"), (pl.lit("f") + pl.col("hh").cast(pl.String)).alias("unit_id"),
        pl.lit(None, dtype=pl.String).alias("person_id"), pl.lit("aide_logement").alias("benefit"), "month",
        pl.lit(250.0).alias("amount"), pl.lit("caf").alias("paying_agency")), "caf")
    housing = _prov(caf.filter(pl.col("first")).join(months.filter(pl.col("month") >= dt.date(2025, 7, 1)),
                                                      how="cross").select(
        (pl.lit("m") + pl.col("hh").cast(pl.String)).alias("menage_id"), "month", pl.lit("tenant").alias("status"),
        pl.lit(520.0).alias("rent"), pl.lit(False).alias("colocation"), pl.lit(False).alias("chambre")), "caf")
    annual = _prov(base.join(pl.DataFrame({"year": [2023, 2024, 2025]}, schema={"year": pl.Int16}), how="cross")
                   .select("person_id", "year", pl.lit("salaries").alias("kind"), pl.lit(13200.0).alias("amount")),
                   "dgfip")
    frames = {"persons": persons, "unit_memberships": mem, "resources": pl.concat(res), "benefits_paid": paid,
              "housing": housing, "annual_income": annual}
    for name, df in frames.items():
        spec = TABLES[name]
        out = root / name
        out.mkdir(parents=True, exist_ok=True)
        df.select([pl.col(c).cast(t) if c in df.columns else pl.lit(None, dtype=t).alias(c)
                   for c, t in spec.polars_schema.items()]).write_parquet(out / "part-0.parquet")


def _measure(root: str, queue: mp.Queue) -> None:
    from nonrecours.core import build_month
    from nonrecours.core.workspace import scan_workspace

    t0 = time.perf_counter()
    core = build_month(scan_workspace(Path(root)), M)
    seconds = time.perf_counter() - t0
    queue.put({"seconds": round(seconds, 2), "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                                                   / 1024, 1),
               "counts": core.counts})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=100_000)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        write_workspace(args.persons, Path(tmp))
        written = time.perf_counter() - t0
        ctx = mp.get_context("spawn")
        q = ctx.Queue()
        p = ctx.Process(target=_measure, args=(tmp, q))
        p.start()
        result = q.get()
        p.join()
    result.update({"persons": args.persons, "workspace_seconds": round(written, 2), "month": f"{M:%Y-%m}",
                   "python": platform.python_version(), "polars": pl.__version__,
                   "machine": f"{platform.machine()} {mp.cpu_count()} cpu"})
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
