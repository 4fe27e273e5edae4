"""The project's rules on Polars and on the SQL backends, every column compared, on generated rare situations.

Run: ``python benchmarks/backend_agreement.py [--n 10000] [--seed 12100] [--rare 1.0] [--senior 0.5]
[--backends duckdb,spark] [--out FILE]`` (default FILE: ``benchmarks/results/backend_agreement.json``).

The suite compares the backends on toy rules (hypothesis) and on the real rules for a few targets and tens of
households (``tests/engine/test_engine_order_property.py``: the SQL of every field takes long to plan); this
script is the wide check: every simulated field (``SIMULATED_RULES``) of situations drawn by
``generate_situations`` (``rare``: the shapes the main draws never make), each at its own month from 2024-01 to
2026-12, in one engine call per backend, as ``simulate`` and the differential do. Every column the engine returns
(rules, conditions, inputs carried) of every entity is compared with Polars' on the entity's id: floats within
``TOLERANCE``, everything else exactly (nulls equal only to nulls). The results file gives, per backend, the
seconds, the columns and rows compared and each differing column with its count and first ids; a backend that
cannot run here (Spark without Java) is reported with its error, not skipped in silence.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl

from commits import commit
from nonrecours.engine import Inputs, evaluate
from nonrecours.engine.plan import ID
from nonrecours.simulation import load_situations
from nonrecours.simulation.differential import OUTPUT_FIELDS, SIMULATED_RULES, generate_situations

ROOT = Path(__file__).resolve().parents[1]
TOLERANCE = 1e-9
"""Floats agree within this (the engine's fixed-point sums make the backends' totals exact; the rest is IEEE)."""


def differing(a: pl.DataFrame, b: pl.DataFrame, key: str) -> dict[str, dict[str, Any]]:
    """Each column of ``a`` whose values differ from ``b``'s on the same ``key``: its count and first keys. A column
    or row one side lacks counts as differing."""
    out: dict[str, dict[str, Any]] = {}
    for col in sorted((set(a.columns) ^ set(b.columns)) - {key}):
        out[col] = {"count": None, "only_in": "polars" if col in a.columns else "other"}
    both = a.join(b, on=key, how="full", suffix="__b", coalesce=True, nulls_equal=True)
    if both.height != a.height or both.height != b.height:
        out[key] = {"count": abs(both.height - a.height) + abs(both.height - b.height), "only_in": "rows"}
    for col in sorted(set(a.columns) & set(b.columns) - {key}):
        x, y = pl.col(col), pl.col(f"{col}__b")
        if a.schema[col].is_float() or b.schema[col].is_float():
            x, y = x.cast(pl.Float64), y.cast(pl.Float64)
            same = ((x - y).abs() <= TOLERANCE) | (x.is_null() & y.is_null()) | (x.is_nan() & y.is_nan())
        else:
            same = x.cast(pl.String).eq_missing(y.cast(pl.String))
        bad = both.filter(~same.fill_null(False))
        if bad.height:
            out[col] = {"count": bad.height, "first": bad.get_column(key).head(3).cast(pl.String).to_list()}
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=12_100)
    ap.add_argument("--rare", type=float, default=1.0)
    ap.add_argument("--senior", type=float, default=0.5)
    ap.add_argument("--backends", default="duckdb,spark")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "backend_agreement.json"))
    args = ap.parse_args(argv)
    batch = load_situations(generate_situations(args.n, args.seed, rare=args.rare, senior_activity=args.senior))
    if batch.errors:
        raise ValueError(f"{len(batch.errors)} generated situations are invalid, first: {batch.errors[0]}")
    rules = sorted({SIMULATED_RULES.get(f, f) for f in OUTPUT_FIELDS})
    results: dict[str, Any] = {
        "commit": commit(changes_in="src"), "n": args.n, "seed": args.seed, "rare": args.rare,
        "senior": args.senior, "targets": rules, "tolerance": TOLERANCE, "backends": {},
        "machine": {"python": platform.python_version(), "platform": platform.platform()}}
    full: dict[str, dict[str, pl.DataFrame]] = {}
    for backend in ["polars", *[b for b in args.backends.split(",") if b]]:
        start = time.perf_counter()
        try:
            full[backend] = evaluate(rules, Inputs(**batch.frames), batch.person_months, backend=backend,
                                     missing_inputs="error").full
        except Exception as exc:  # a backend that cannot run here (Spark without Java) is reported, not hidden
            results["backends"][backend] = {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
            print(f"{backend}: {type(exc).__name__}", file=sys.stderr, flush=True)
            continue
        seconds = round(time.perf_counter() - start, 1)
        entry: dict[str, Any] = {"seconds": seconds}
        if backend != "polars":
            entry["entities"] = {}
            for entity, frame in full["polars"].items():
                diff = differing(frame, full[backend][entity], ID[entity])
                entry["entities"][entity] = {"rows": frame.height, "columns": frame.width - 1, "differing": diff}
            entry["identical"] = not any(e["differing"] for e in entry["entities"].values())
        results["backends"][backend] = entry
        print(f"{backend}: {seconds} s" + (f", identical: {entry['identical']}" if "identical" in entry else ""),
              file=sys.stderr, flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    return results


if __name__ == "__main__":
    main()
