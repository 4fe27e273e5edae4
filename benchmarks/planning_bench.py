"""What a rule plan's fixed costs weigh, before/after a change, back to back in one run, the outputs compared.

Run: ``python benchmarks/planning_bench.py --baseline /path/to/a/checkout [--demo-persons 1500] [--months all]
[--out benchmarks/results/planning.json]`` (the baseline: another checkout of the repository, e.g. a detached
``git worktree``).

Two workloads whose cost is the plans more than the rows, each run in a process of its own per checkout
(``PYTHONPATH=<checkout>/src``), the baseline first then this checkout, so that both see the same machine load:

- ``public_cases``: the 550 public reference cases (``../shared/reference/cases/openfisca_public.json``) through
  ``simulate_batch`` on Polars: 30 months, 17 plans (``tests/simulation/test_oracle.py``'s fixture). Their records
  are hashed (SHA-256) and must be equal across checkouts.
- ``demo``: ``nonrecours.demo.run_demo`` on a synthetic territory (``--demo-persons``, seed 4, no ablation: the
  suite's ``demo_result``; the exchange secret drawn for the run and given to both): the truth's take-up over 13
  months, then the run on DuckDB. Its detection flags and statistics are hashed and must be equal.

Each is timed in wall seconds and in CPU seconds of the process (all its threads: on a loaded machine the CPU
seconds move less with the other jobs). The before/after ratio is the measure; figures are machine-dependent.
Writes the JSON report and a Markdown table beside it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from commits import commit

ROOT = Path(__file__).resolve().parents[1]
_CASES = Path("shared") / "reference" / "cases" / "openfisca_public.json"


def _cases_file() -> Path:
    for p in ROOT.parents:
        if (p / _CASES).exists():
            return p / _CASES
    raise SystemExit(f"planning_bench: {_CASES} not found beside the checkout")


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def child(workload: str, arg: str) -> dict[str, Any]:
    """One workload in this process (the checkout on PYTHONPATH)."""
    w, c = time.perf_counter(), _cpu()
    if workload == "public_cases":
        from nonrecours.simulation import load_situations, read_situation_file
        from nonrecours.simulation.runner import simulate_batch

        cases = json.loads(_cases_file().read_text(encoding="utf-8"))["cases"]
        if arg != "all":
            cases = [x for x in cases if x["situation"]["month"] in arg.split(",")]
        records = simulate_batch(load_situations(read_situation_file({"cases": cases})), backend="polars").records()
        digest = hashlib.sha256(json.dumps(records, sort_keys=True, default=str).encode()).hexdigest()
        size = len(cases)
    else:
        import polars as pl

        from nonrecours.demo import run_demo

        with tempfile.TemporaryDirectory(prefix="planning-bench-") as tmp:
            out = Path(tmp)
            run_demo(out, persons=int(arg), seed=4, ablation=False)
            h = hashlib.sha256()
            for f in sorted(out.glob("detection/*/flags.parquet")) + sorted(out.glob("outputs/*/statistics.parquet")):
                lines = pl.read_parquet(f).write_ndjson().splitlines()  # nested columns: JSON, rows in any order
                h.update("\n".join(sorted(lines)).encode())
            digest = h.hexdigest()
        size = int(arg)
    return {"wall_s": round(time.perf_counter() - w, 2), "cpu_s": round(_cpu() - c, 2), "size": size,
            "sha256": digest}


_SECRET = secrets.token_hex(32)
"""The exchange secret both checkouts' demos pseudonymise with (drawn for this run, never written): without it each
demo draws its own, and their flags could not be compared."""


def _run(checkout: Path, workload: str, arg: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(checkout / "src"), "NONRECOURS_EXCHANGE_SECRET": _SECRET}
    code = (f"import sys, json; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); import planning_bench as b; "
            f"print(json.dumps(b.child({workload!r}, {arg!r})))")
    done = subprocess.run([sys.executable, "-c", code], cwd=checkout, env=env, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise SystemExit(f"planning_bench: {workload} failed in {checkout}:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", type=Path, required=True, help="another checkout of the repository")
    ap.add_argument("--months", default="all", help="the public cases' months (comma-separated), or all")
    ap.add_argument("--demo-persons", type=int, default=1500, help="the demo's persons (0: no demo)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "planning.json")
    args = ap.parse_args(argv)
    workloads = [("public_cases", args.months)] + ([("demo", str(args.demo_persons))] if args.demo_persons else [])
    rows = []
    for workload, arg in workloads:
        before, after = _run(args.baseline.resolve(), workload, arg), _run(ROOT, workload, arg)
        if before["sha256"] != after["sha256"]:
            raise SystemExit(f"planning_bench: {workload}: the outputs differ between the checkouts")
        rows.append({"workload": workload, "size": after["size"], "before": before, "after": after,
                     "cpu_ratio": round(before["cpu_s"] / after["cpu_s"], 2) if after["cpu_s"] else None,
                     "outputs_identical": True})
    machine = {"cpus": os.cpu_count(), "python": platform.python_version(), "load_at_end": os.getloadavg()[0]}
    report = {"date": dt.date.today().isoformat(), "machine": machine,
              "baseline": commit(args.baseline, changes_in="src"), "checkout": commit(ROOT, changes_in="src"),
              "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    lines = ["| workload | size | before CPU s | after CPU s | CPU ratio | before wall s | after wall s | outputs |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    lines += [f"| {r['workload']} | {r['size']} | {r['before']['cpu_s']} | {r['after']['cpu_s']} | {r['cpu_ratio']} | "
              f"{r['before']['wall_s']} | {r['after']['wall_s']} | identical |" for r in rows]
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return report


if __name__ == "__main__":
    main()
