"""Our ``simulate`` beside OpenFisca-France on the same households: rate and ratio at equal size.

Run: ``PYTHONPATH=src python benchmarks/openfisca_speed_bench.py [--sizes 100000] [--months 2025-03]
[--out benchmarks/results/openfisca_speed.json]`` (``--sizes 100000,1000000,10000000`` for the large runs).

The situations come from the differential generator (``nonrecours.simulation.differential``), all at the
given months; our side is what ``nonrecours simulate`` does after reading the file (validate, one vectorised
engine call, shape the records); the oracle side is OpenFisca-France 176.1.8 in its own environment
(``tests/oracle``, test-only, never imported by the package) on the same households exported to web-API
situations, one simulation per month, timed around the subprocess (it includes loading the tax-benefit
system, about 2 s, reported apart by a run on one situation). Benefits already paid (an input of both) are
stated as zero on both sides. The engine alone is timed too (``evaluate`` of the outputs).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/oracle: the oracle environment lives outside the package (AGPL)

from tests.oracle.environment import OPENFISCA_FRANCE, ensure_oracle, run_oracle  # noqa: E402

from commits import commit  # noqa: E402
from nonrecours.simulation import load_situations  # noqa: E402
from nonrecours.simulation.differential import generate_situations  # noqa: E402
from nonrecours.simulation.export_openfisca import export_situations  # noqa: E402
from nonrecours.simulation.runner import simulate_batch  # noqa: E402
from nonrecours.simulation.situations import BENEFITS_PAID_FIELDS  # noqa: E402


def situations(n: int, months: list[str], seed: int) -> list[dict[str, Any]]:
    sits = generate_situations(n, seed, months=months)
    for s in sits:  # the same stated benefits on both sides (none), so that no oracle call prepares them
        s["benefits_paid"] = {u: dict.fromkeys(BENEFITS_PAID_FIELDS, 0.0) for u in _units(s)}
    return sits


def _units(s: dict[str, Any]) -> list[str]:
    return sorted({p.get("unit", "main") for p in s["persons"]})


def run(n: int, months: list[str], seed: int, backend: str, python: Path) -> dict[str, Any]:
    sits = situations(n, months, seed)
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    c0 = time.process_time()
    batch = load_situations(sits)
    c1 = time.process_time()
    if batch.errors:
        raise ValueError(f"{len(batch.errors)} generated situations are invalid, first: {batch.errors[0]}")
    t1 = time.perf_counter()
    c1b = time.process_time()
    res = simulate_batch(batch, backend=backend)
    t2 = time.perf_counter()
    c2 = time.process_time()
    records = res.records()
    t3 = time.perf_counter()
    ours_cpu = time.process_time() - c0
    web: list[dict[str, Any]] = []
    for month in batch.months:
        web.extend(export_situations(batch.frames_for_month(month), month, benefits_paid=True,
                                     outputs=True).situations)
    t4 = time.perf_counter()
    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = run_oracle(web, python, cache=False)  # timed: never a cached answer
    t5 = time.perf_counter()
    children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    oracle_cpu = (children1.ru_utime + children1.ru_stime) - (children0.ru_utime + children0.ru_stime)
    assert len(out) == len(web) and len(records) == n
    ours_s = t3 - t0
    return {
        "situations": n, "months": months, "households_openfisca": len(web),
        "ours": {"backend": backend, "validate_s": round(t1 - t0, 3), "evaluate_s": round(t2 - t1, 3),
                 "records_s": round(t3 - t2, 3), "total_s": round(ours_s, 3),
                 "validate_cpu_s": round(c1 - c0, 3), "evaluate_cpu_s": round(c2 - c1b, 3),
                 "total_cpu_s": round(ours_cpu, 3),
                 "situations_per_s": round(n / ours_s, 1)},
        "openfisca": {"export_s": round(t4 - t3, 3), "run_s": round(t5 - t4, 3),
                      "run_cpu_s": round(oracle_cpu, 3),
                      "situations_per_s": round(n / (t5 - t4), 1)},
        "ratio_of_rates": round((t5 - t4) / ours_s, 1),
        "ratio_engine_alone": round((t5 - t4) / (t2 - t1), 1),
        # CPU seconds (ours: every thread of this process; OpenFisca: its subprocess), steadier on a shared machine
        "ratio_of_cpu": round(oracle_cpu / ours_cpu, 1),
        "ratio_engine_alone_cpu": round(oracle_cpu / (c2 - c1b), 1),
        "load_average_1min": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100000", help="comma-separated numbers of situations")
    ap.add_argument("--months", default="2025-03", help="comma-separated YYYY-MM (one oracle simulation each)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--backend", default="polars")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "openfisca_speed.json")
    args = ap.parse_args(argv)
    python = ensure_oracle()
    months = args.months.split(",")
    t0 = time.perf_counter()
    run_oracle(export_situations(load_situations(situations(1, months, 0)).frames_for_month(
        dt.date.fromisoformat(months[0] + "-01")), dt.date.fromisoformat(months[0] + "-01"),
        benefits_paid=True, outputs=True).situations, python, cache=False)
    fixed = time.perf_counter() - t0
    report: dict[str, Any] = {
        "benchmark": "simulate beside OpenFisca-France on the same households (benchmarks/openfisca_speed_bench.py)",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": commit(changes_in="src"),
        "oracle": f"openfisca-france {OPENFISCA_FRANCE}",
        "machine": {"cpus": os.cpu_count(), "load_average_1min": round(os.getloadavg()[0], 2),
                    "python": platform.python_version()},
        "openfisca_fixed_cost_one_situation_s": round(fixed, 2),
        "runs": [run(int(n), months, args.seed, args.backend, python) for n in args.sizes.split(",")],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
