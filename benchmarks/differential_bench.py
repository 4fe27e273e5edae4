"""Differential run against OpenFisca-France 176.1.8: agreement per field on fresh generated situations.

Run: ``python benchmarks/differential_bench.py [--n 10000] [--seed 1000] [--chunk 2500] [--public]
[--out FILE] [--resume]`` (default FILE: benchmarks/results/differential.json).

The oracle environment (``.oracle-venv``, see tests/oracle/environment.py) is created on first use.
Situations come from ``nonrecours.simulation.differential.generate_situations`` with seeds ``seed``,
``seed + 1``... one per chunk (the CI test uses seed 7 and a few months; this benchmark draws every month
2024-01..2026-12). ``--public`` also runs the 550 public reference cases through the exporter and the
oracle and compares OpenFisca's fresh amounts with the labels (proof of the exporter and of the ASPA/ASI
correction the labels carry; the RSA/PPA residence correction of the oracle parts from the labels on four
documented cases). The results file holds, per field, agreement within 1 euro overall and where
OpenFisca pays, and the first disagreements with OpenFisca's intermediate quantities beside ours.

Cost: the oracle runs one simulation per month present (36), twice (paid benefits, then the compared values),
and its time is per month and variable, not per situation (both passes: 102 CPU s for 200 situations, 140 for a
chunk of 5,000); our engine plans once per set of dated rule variants. So a chunk costs about the same whatever its
size: keep chunks large. After each chunk the results file is rewritten (``complete``, ``n``) and the chunk's
frames are kept in ``--parts``: an interrupted run still gives honest figures for the chunks done, and
``--resume`` continues it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/oracle: the oracle environment lives outside the package (AGPL)

import polars as pl  # noqa: E402
from tests.oracle.environment import (  # noqa: E402
    _STREAMS,
    OPENFISCA_FRANCE,
    REFERENCE_CASES,
    ensure_oracle,
    run_oracle,
)

from nonrecours.schemas.zonage import zone_apl_of  # noqa: E402
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


def _accession(report: DifferentialReport, chunks: list[tuple[int, int]]) -> dict[str, Any]:
    """Housing-aid agreement on the accédants' situations (status ``owner_with_loan``), by when the loan was signed
    (none given; before 2018, which opens the aid; 2018-2019 in zone 3 and elsewhere; from 2020): the situations
    are drawn again from their chunk's seed and size (the generator is deterministic)."""
    rows = [{"id": sit["id"], "loan_date": sit["housing"].get("loan_date"), "depcom": sit["depcom"]}
            for seed, size in chunks for sit in generate_situations(size, seed)
            if sit["housing"]["status"] == "owner_with_loan"]
    if not rows:
        return {"n": 0}
    loans = pl.DataFrame(rows, schema={"id": pl.String, "loan_date": pl.String, "depcom": pl.String})
    loans = loans.with_columns(pl.col("loan_date").str.to_date(), zone_apl_of(loans["depcom"]).alias("zone"))
    bucket = (pl.when(pl.col("loan_date").is_null()).then(pl.lit("no_loan_date"))
              .when(pl.col("loan_date") < pl.date(2018, 1, 1)).then(pl.lit("before_2018"))
              .when((pl.col("loan_date") < pl.date(2020, 1, 1)) & (pl.col("zone") == 3))
              .then(pl.lit("2018_2019_zone_3"))
              .when(pl.col("loan_date") < pl.date(2020, 1, 1)).then(pl.lit("2018_2019_other_zones"))
              .otherwise(pl.lit("from_2020")))
    s = report.situations.join(loans.with_columns(bucket.alias("loan")), on="id", how="inner")
    out: dict[str, Any] = {}
    for name, part in [("all", s), *sorted(s.group_by("loan"), key=lambda g: str(g[0][0]))]:
        key = name if isinstance(name, str) else str(name[0])
        pays = part.filter(pl.col("of_aide_logement") > 0)
        out[key] = {"n": part.height, "agree_aide_logement": int(part["agree_aide_logement"].sum()),
                    "n_openfisca_pays": pays.height, "n_ours_pays": int((part["aide_logement"] > 0).sum()),
                    "agree_where_openfisca_pays": int(pays["agree_aide_logement"].sum()),
                    "agree_every_field": int(part.select(pl.all_horizontal(
                        pl.col(f"agree_{f}") for f in COMPARED_FIELDS)).to_series().sum())}
    return out


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process (Linux /proc; 0 elsewhere): on a shared machine the wall time
    measures the neighbours too, the CPU time only the work."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


class _TimedOracle:
    """The streamed oracle, its calls timed (wall and the runner's CPU), so a report splits OpenFisca's time
    from ours."""

    def __init__(self, python: Path) -> None:
        self.python = python
        self.wall = 0.0
        self.calls = 0

    def __call__(self, sits: list[dict[str, Any]]) -> list[dict[str, Any]]:
        t0 = time.perf_counter()
        out = run_oracle(sits, self.python)
        self.wall += time.perf_counter() - t0
        self.calls += 1
        return out

    def cpu(self) -> float:
        proc = _STREAMS.get(self.python)
        return _cpu_seconds(proc._proc.pid) if proc is not None else 0.0


def _chunks(n: int, chunk: int, seed: int) -> list[tuple[int, int]]:
    """(seed, size) of each chunk: seed, seed + 1... (a chunk's situations depend on its seed and size only)."""
    out, done = [], 0
    while done < n:
        size = min(chunk, n - done)
        out.append((seed + len(out), size))
        done += size
    return out


def _results(report: DifferentialReport, args: argparse.Namespace, chunks: list[tuple[int, int]],
             seconds: dict[str, Any]) -> dict[str, Any]:
    return {
        "oracle": f"openfisca-france {OPENFISCA_FRANCE} (with the ASPA/ASI nationality, the RSA/PPA EEA-worker "
                  "residence, the CGI art. 157 bis, the CASF art. L262-5 and the age-in-months corrections)",
        "n": report.n, "n_requested": args.n, "complete": report.n == args.n,
        "seeds": [args.seed, chunks[-1][0]] if chunks else [args.seed], "chunk": args.chunk,
        "chunks_done": len(chunks), "backend": args.backend, "rare": args.rare, "senior": args.senior,
        "months": args.months,
        "tolerance_euros": 1.0,
        "agreement": report.summary(),
        # the situations whose paid values stated from OpenFisca never stated themselves (compared all the same)
        "paid_unsettled": report.unsettled,
        "rsa_outside_L262_5": _rsa_outside_l262_5(report),
        "accession": _accession(report, chunks),
        "seconds": seconds,
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "load_average_at_end": [round(x, 2) for x in os.getloadavg()]},
        "first_disagreements": report.disagreements(args.limit),
    }


def _write(path: Path, result: dict[str, Any]) -> None:
    """Written whole then renamed: an interrupted run leaves the previous chunk's complete file, never half one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_suffix(".json.part")
    part.write_text(json.dumps(result, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
    part.replace(path)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--chunk", type=int, default=2500,
                    help="situations per chunk (one seed each; the results file is rewritten after each)")
    ap.add_argument("--limit", type=int, default=40, help="disagreements written to the results")
    ap.add_argument("--backend", default="polars")
    ap.add_argument("--public", action="store_true", help="also replay the 550 public cases")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "differential.json"))
    ap.add_argument("--parts", default=None,
                    help="folder of the per-chunk frames (default: OUT without .json, + .parts)")
    ap.add_argument("--resume", action="store_true",
                    help="reuse the chunks already in --parts (same seed and size) instead of computing them")
    ap.add_argument("--rare", type=float, default=0.0,
                    help="share of situations given a shape the main draws never make (generate_situations' rare)")
    ap.add_argument("--senior", type=float, default=0.0,
                    help="share of situations whose parents of 62+ work or draw an unemployment benefit")
    ap.add_argument("--months", default=None,
                    help="comma-separated YYYY-MM the situations are drawn among (default: every month covered)")
    args = ap.parse_args(argv)
    months = tuple(args.months.split(",")) if args.months else None
    out = Path(args.out)
    parts_dir = Path(args.parts) if args.parts else out.with_name(out.stem + ".parts")
    parts_dir.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    python = ensure_oracle()
    install_s = time.perf_counter() - t0
    oracle = _TimedOracle(python)

    t0 = time.perf_counter()
    cpu0 = time.process_time()
    parts: list[DifferentialReport] = []
    done_chunks: list[tuple[int, int]] = []
    reused = 0
    plan = _chunks(args.n, args.chunk, args.seed)
    for k, (seed, size) in enumerate(plan):
        stem = parts_dir / (f"chunk{k:03d}_seed{seed}_n{size}" + (f"_rare{args.rare:g}" if args.rare else "")
                           + (f"_months{len(months)}" if months else "")
                           + (f"_senior{args.senior:g}" if args.senior else ""))
        units_f, sits_f = stem.with_suffix(".units.parquet"), stem.with_suffix(".situations.parquet")
        if args.resume and units_f.exists() and sits_f.exists():
            parts.append(DifferentialReport(units=pl.read_parquet(units_f), situations=pl.read_parquet(sits_f)))
            reused += 1
        else:
            part = compare_with_oracle(generate_situations(size, seed, rare=args.rare, months=months,
                                                                   senior_activity=args.senior), oracle,
                                       backend=args.backend)
            part.units.write_parquet(units_f)
            part.situations.write_parquet(sits_f)
            parts.append(part)
        done_chunks.append((seed, size))
        report = DifferentialReport(units=pl.concat([p.units for p in parts], how="diagonal_relaxed"),
                                    situations=pl.concat([p.situations for p in parts], how="diagonal_relaxed"))
        wall = time.perf_counter() - t0
        seconds = {"oracle_install_or_check": round(install_s, 1), "generate_compare": round(wall, 1),
                   "oracle_calls_wall": round(oracle.wall, 1), "oracle_calls": oracle.calls,
                   "oracle_runner_cpu": round(oracle.cpu(), 1),
                   "ours_and_harness_cpu": round(time.process_time() - cpu0, 1),
                   "chunks_reused": reused}
        _write(out, _results(report, args, done_chunks, seconds))
        print(f"{report.n}/{args.n} situations compared ({k + 1}/{len(plan)} chunks, {wall:.0f} s, "
              f"oracle {oracle.wall:.0f} s wall, {oracle.cpu():.0f} s CPU)", file=sys.stderr, flush=True)
    result = _results(report, args, done_chunks, seconds)
    if args.public:
        cases = json.loads(CASES.read_text(encoding="utf-8"))["cases"]
        t0 = time.perf_counter()
        result["public_cases_through_exporter"] = public_case_agreement(cases, oracle)
        result["seconds"]["public_cases"] = round(time.perf_counter() - t0, 1)
    _write(out, result)
    for f in COMPARED_FIELDS:
        a = result["agreement"][f]
        print(f"{f:28s} {a['rate']:.4f} overall ({a['agree']}/{a['n']}), where OpenFisca pays "
              f"{a['rate_where_openfisca_pays']} ({a['agree_where_openfisca_pays']}/{a['n_openfisca_pays']})")
    print(f"rsa outside CASF L262-5        {result['rsa_outside_L262_5']}")
    print(f"accession                      {result['accession']}")
    return result


if __name__ == "__main__":
    main()
