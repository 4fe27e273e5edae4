"""DuckDB beside Polars on the project's rules, for a baseline checkout and this one, in one run (issue 13).

Run::

    PYTHONPATH=src nice -n 10 python benchmarks/duckdb_speed_bench.py --baseline-src DIR \\
        [--individus 100000,1000000] [--repeats 2] [--out benchmarks/results/duckdb_speed_<date>]

``DIR`` is a baseline's ``src`` (``git archive REV src | tar -x -C DIR/..``). For each size, the public OpenFisca
situations of one month are replicated with shifted ids to about that many individus (as
``engine_bench.py --real-individus``) and every simulate output is evaluated in a fresh child process each:
Polars (this tree), DuckDB (the baseline's src) and DuckDB (this tree), in an order alternated between repeats.
Each child reports the evaluation's wall and CPU seconds (every thread), its peak RSS and the 1-minute load
average before and after, and writes every frame of the result (``Result.full``: inputs and every rule and
condition column) to Parquet; the parent compares them column by column, each DuckDB frame with the Polars one and
this tree's with the baseline's. Writes ``<out>.json`` and ``<out>.md``. On a shared machine compare CPU seconds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
IDS = ("person_id", "famille_id", "foyer_fiscal_id", "menage_id")
ENTITY_IDS = {"individu": "person_id", "famille": "famille_id", "foyer_fiscal": "foyer_fiscal_id",
              "menage": "menage_id"}


def replicated_inputs(n_individus: int) -> tuple[Any, dt.date]:
    """The public situations of their first month, replicated with shifted ids to about ``n_individus``."""
    import polars as pl

    sys.path.insert(0, str(ROOT))  # tests/oracle: the reference cases' place
    from tests.oracle.environment import REFERENCE_CASES

    from nonrecours.engine import Inputs
    from nonrecours.simulation.situations import load_situations, read_situation_file

    batch = load_situations(read_situation_file(json.loads(REFERENCE_CASES.read_text(encoding="utf-8"))))
    month = batch.months[0]
    frames = batch.frames_for_month(month)
    copies = max(1, n_individus // frames["individu"].height)

    def rep(df: pl.DataFrame | None) -> pl.DataFrame | None:
        if df is None:
            return None
        cols = [c for c in IDS if c in df.columns]
        k = pl.int_range(copies, dtype=pl.Int64, eager=True).alias("__copy")
        out = df.join(k.to_frame(), how="cross")
        return out.with_columns([pl.col(c).cast(pl.Int64) + pl.col("__copy") * 100_000_000 for c in cols]) \
            .drop("__copy")

    return Inputs(**{name: rep(df) for name, df in frames.items()}), month


def child(args: argparse.Namespace) -> None:
    from nonrecours.engine import evaluate
    from nonrecours.rules.benefits import OUTPUTS

    inputs, month = replicated_inputs(args.individus)
    load0 = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    res = evaluate(list(OUTPUTS), inputs, month, backend=args.backend, missing_inputs="default",
                   duckdb_config={"memory_limit": args.memory_limit})
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    load1 = os.getloadavg()[0]
    out = Path(args.frames)
    out.mkdir(parents=True, exist_ok=True)
    for entity, frame in res.full.items():
        frame.sort(ENTITY_IDS[entity], nulls_last=True).write_parquet(out / f"{entity}.parquet")
    print(json.dumps({"wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
                      "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                      "individus": inputs.individu.height, "load_1min_before": round(load0, 2),
                      "load_1min_after": round(load1, 2)}))


def compare(a: Path, b: Path) -> dict[str, object]:
    """Every frame of two results, column by column by name (same names, dtypes and values, nulls included; the
    backends order the columns differently)."""
    import polars as pl

    out: dict[str, object] = {"equal": True, "columns": 0, "different": []}
    for entity in ENTITY_IDS:
        fa, fb = pl.read_parquet(a / f"{entity}.parquet"), pl.read_parquet(b / f"{entity}.parquet")
        if sorted(fa.columns) != sorted(fb.columns) or fa.height != fb.height:
            out["equal"] = False
            out["different"].append(f"{entity}: rows or column names")  # type: ignore[union-attr]
            continue
        for c in fa.columns:
            out["columns"] = int(out["columns"]) + 1  # type: ignore[call-overload]
            if fa[c].dtype != fb[c].dtype or not fa[c].equals(fb[c]):
                out["equal"] = False
                out["different"].append(f"{entity}.{c}")  # type: ignore[union-attr]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline-src", type=Path)
    ap.add_argument("--individus", default="100000")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--memory-limit", default="6GB")
    ap.add_argument("--out", type=Path,
                    default=ROOT / "benchmarks" / "results" / f"duckdb_speed_{dt.date.today().isoformat()}")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--backend", help=argparse.SUPPRESS)
    ap.add_argument("--frames", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        args.individus = int(args.individus)
        child(args)
        return
    if args.baseline_src is None:
        ap.error("--baseline-src is required")
    this_src = ROOT / "src"
    sides = {"polars": ("polars", this_src), "duckdb_baseline": ("duckdb", args.baseline_src.resolve()),
             "duckdb_this": ("duckdb", this_src)}
    report: dict[str, object] = {
        "benchmark": "the project's rules (every simulate output) on the public situations of one month replicated "
                     "to N individus: Polars, DuckDB at a baseline and DuckDB at this tree, each evaluation in a "
                     "fresh child process, alternated (benchmarks/duckdb_speed_bench.py)",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "baseline_src": str(args.baseline_src), "cpus": os.cpu_count(), "memory_limit": args.memory_limit,
        "sizes": {},
    }
    with tempfile.TemporaryDirectory(prefix="duckdb-speed-") as tmp:
        for n in [int(x) for x in args.individus.split(",")]:
            runs: dict[str, list[dict[str, object]]] = {k: [] for k in sides}
            for r in range(args.repeats):
                order = list(sides) if r % 2 == 0 else list(reversed(sides))
                for label in order:
                    backend, src = sides[label]
                    frames = Path(tmp) / f"{n}_{label}_{r}"
                    env = {**os.environ, "PYTHONPATH": str(src)}
                    cmd = [sys.executable, __file__, "--child", "--backend", backend, "--individus", str(n),
                           "--frames", str(frames), "--memory-limit", args.memory_limit]
                    done = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
                    rec = json.loads(done.stdout.strip().splitlines()[-1])
                    rec["repeat"] = r
                    runs[label].append(rec)
                    print(n, label, rec, flush=True)
            med = {k: {m: statistics.median(float(x[m]) for x in v) for m in ("wall_s", "cpu_s")}
                   for k, v in runs.items()}
            last = args.repeats - 1
            eq = {f"{a}_vs_{b}": compare(Path(tmp) / f"{n}_{a}_{last}", Path(tmp) / f"{n}_{b}_{last}")
                  for a, b in (("duckdb_this", "polars"), ("duckdb_baseline", "polars"),
                               ("duckdb_this", "duckdb_baseline"))}
            report["sizes"][str(n)] = {  # type: ignore[index]
                "individus": runs["polars"][0]["individus"], "runs": runs, "median": med,
                "duckdb_to_polars_cpu": {k: round(med[k]["cpu_s"] / med["polars"]["cpu_s"], 2)
                                         for k in ("duckdb_baseline", "duckdb_this")},
                "duckdb_to_polars_wall": {k: round(med[k]["wall_s"] / med["polars"]["wall_s"], 2)
                                          for k in ("duckdb_baseline", "duckdb_this")},
                "baseline_to_this_cpu": round(med["duckdb_baseline"]["cpu_s"] / med["duckdb_this"]["cpu_s"], 2),
                "baseline_to_this_wall": round(med["duckdb_baseline"]["wall_s"] / med["duckdb_this"]["wall_s"], 2),
                "outputs_equal": eq,
            }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    lines = ["| individus | side | median CPU s | median wall s | CPU / Polars | wall / Polars | loads |",
             "|---|---|---|---|---|---|---|"]
    for size in report["sizes"].values():  # type: ignore[attr-defined]
        for label in sides:
            m = size["median"][label]
            ratio = size["duckdb_to_polars_cpu"].get(label, 1.0)
            wratio = size["duckdb_to_polars_wall"].get(label, 1.0)
            loads = ", ".join(f"{x['load_1min_before']}-{x['load_1min_after']}" for x in size["runs"][label])
            lines.append(f"| {size['individus']:,} | {label} | {m['cpu_s']:.2f} | {m['wall_s']:.2f} | {ratio} | "
                         f"{wratio} | {loads} |")
        eqs = "; ".join(f"{k}: {'identical' if v['equal'] else 'DIFFERENT ' + str(v['different'][:5])} "
                        f"({v['columns']} columns)" for k, v in size["outputs_equal"].items())
        lines.append(f"\n{size['individus']:,} individus: baseline/this CPU {size['baseline_to_this_cpu']}, wall "
                     f"{size['baseline_to_this_wall']}; outputs: {eqs}\n")
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
