"""Differential run against OpenFisca-France 176.1.8: agreement per field on fresh generated situations.

Run: ``python benchmarks/differential_bench.py [--n 10000] [--seed 1000] [--chunk 2000] [--public]
[--out FILE]`` (default FILE: benchmarks/results/differential.json).

The oracle environment (``.oracle-venv``, see tests/oracle/environment.py) is created on first use.
Situations come from ``nonrecours.simulation.differential.generate_situations`` with seeds ``seed``,
``seed + 1``... one per chunk (the CI test uses seed 7 and a few months; this benchmark draws every month
2024-01..2026-12). ``--public`` also runs the 550 public reference cases through the exporter and the
oracle and compares OpenFisca's fresh amounts with the labels (proof of the exporter and of the ASPA/ASI
correction the labels carry; the RSA/PPA residence correction of the oracle parts from the labels on four
documented cases). The results file holds, per field, agreement within 1 euro overall and where
OpenFisca pays, and the first disagreements with OpenFisca's intermediate quantities beside ours.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/oracle: the oracle environment lives outside the package (AGPL)

import polars as pl  # noqa: E402
from tests.oracle.environment import OPENFISCA_FRANCE, REFERENCE_CASES, ensure_oracle, run_oracle  # noqa: E402

from nonrecours.simulation.differential import (  # noqa: E402
    COMPARED_FIELDS,
    L262_5_DIVERGENCE,
    DifferentialReport,
    compare_with_oracle,
    generate_situations,
    public_case_agreement,
)

CASES = REFERENCE_CASES
"""The reference cases beside the checkout (``../shared``, or higher up for a git worktree)."""


def _rsa_outside_l262_5(report: DifferentialReport) -> dict[str, Any]:
    """RSA agreement on the situations where no partner is left out of the foyer (CASF art. L262-5, which
    OpenFisca-France 176.1.8 does not model), and how many were set apart."""
    apart = report.units.filter(L262_5_DIVERGENCE)["id"].unique().to_list()
    s = report.situations.filter(~pl.col("id").is_in(apart))
    pays = s.filter(pl.col("of_rsa") > 0)
    return {"set_apart": len(apart), "n": s.height, "agree": int(s["agree_rsa"].sum()),
            "rate": round(float(s["agree_rsa"].mean()), 4), "n_openfisca_pays": pays.height,
            "agree_where_openfisca_pays": int(pays["agree_rsa"].sum()),
            "rate_where_openfisca_pays": round(float(pays["agree_rsa"].mean()), 4) if pays.height else None}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--chunk", type=int, default=2000, help="situations per oracle call")
    ap.add_argument("--limit", type=int, default=40, help="disagreements written to the results")
    ap.add_argument("--backend", default="polars")
    ap.add_argument("--public", action="store_true", help="also replay the 550 public cases")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "differential.json"))
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    python = ensure_oracle()
    install_s = time.perf_counter() - t0

    def oracle(sits: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return run_oracle(sits, python)

    t0 = time.perf_counter()
    parts: list[DifferentialReport] = []
    done = 0
    seed = args.seed
    while done < args.n:
        size = min(args.chunk, args.n - done)
        parts.append(compare_with_oracle(generate_situations(size, seed), oracle, backend=args.backend))
        done += size
        seed += 1
        print(f"{done}/{args.n} situations compared", file=sys.stderr)
    report = DifferentialReport(units=pl.concat([p.units for p in parts], how="diagonal_relaxed"),
                                situations=pl.concat([p.situations for p in parts], how="diagonal_relaxed"))
    run_s = time.perf_counter() - t0
    result: dict[str, Any] = {
        "oracle": f"openfisca-france {OPENFISCA_FRANCE} (with the ASPA/ASI nationality and the RSA/PPA EEA-worker "
                  "residence corrections)",
        "n": report.n, "seeds": [args.seed, seed - 1], "backend": args.backend, "tolerance_euros": 1.0,
        "agreement": report.summary(),
        "rsa_outside_L262_5": _rsa_outside_l262_5(report),
        "seconds": {"oracle_install_or_check": round(install_s, 1), "generate_compare": round(run_s, 1)},
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "first_disagreements": report.disagreements(args.limit),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
    if args.public:
        cases = json.loads(CASES.read_text(encoding="utf-8"))["cases"]
        t0 = time.perf_counter()
        result["public_cases_through_exporter"] = public_case_agreement(cases, oracle)
        result["seconds"]["public_cases"] = round(time.perf_counter() - t0, 1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
    for f in COMPARED_FIELDS:
        a = result["agreement"][f]
        print(f"{f:28s} {a['rate']:.4f} overall ({a['agree']}/{a['n']}), where OpenFisca pays "
              f"{a['rate_where_openfisca_pays']} ({a['agree_where_openfisca_pays']}/{a['n_openfisca_pays']})")
    print(f"rsa outside CASF L262-5        {result['rsa_outside_L262_5']}")
    return result


if __name__ == "__main__":
    main()
