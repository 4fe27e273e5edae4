"""``simulate``'s phases before/after a change, back to back in one run, with the outputs compared byte for byte.

Run: ``python benchmarks/simulate_speed_bench.py --baseline /path/to/a/checkout [--n 50000] [--repeats 2]
[--out benchmarks/results/simulate_speed.json]`` (the baseline: another checkout of the repository, e.g. a
detached ``git worktree`` of main).

The situations are those of ``benchmarks/openfisca_speed_bench.py`` (the differential generator, seed 11, month
2025-03, benefits paid stated as zero). Each repeat runs the baseline then this checkout, each in its own
process (``PYTHONPATH=<checkout>/src``), so both see the same machine load; the report gives every timing and
the ratios of the medians. Timed in each process, after a warm-up on 50 situations:

- the Python path of ``openfisca_speed_bench.py``: ``load_situations`` on the list of dicts (validate), one
  ``simulate_batch`` (engine; the warm-up was at another month, so it plans, as a command does), ``records``
  (shaping), ``dumps`` (the JSON text); then ``simulate_batch`` again on the same batch (``engine_again``: a
  process serving batch after batch at the same month; not in the total);
- the command's path (what ``nonrecours simulate FILE`` does after reading the file): ``load_situation_json`` on
  the file's bytes, ``simulate_batch``, ``records`` and ``dumps``.

Each phase is timed in wall seconds and in CPU seconds of the process (all its threads): on a loaded machine
the CPU seconds move less with the other jobs than the wall seconds.

Both paths' JSON texts are hashed (SHA-256) and must be equal across checkouts. The OpenFisca-France side is not
rerun: its rate is read from ``results/openfisca_speed_50k.json`` (same situations, quiet machine), so the ratio to
it is only indicative on a loaded machine; the before/after ratio is the measure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from commits import commit

ROOT = Path(__file__).resolve().parents[1]
OPENFISCA = ROOT / "benchmarks" / "results" / "openfisca_speed_50k.json"


def child(n: int) -> dict[str, Any]:
    """One measure in this process (the checkout on PYTHONPATH; cwd its root)."""
    sys.path.insert(0, os.getcwd())
    from benchmarks.openfisca_speed_bench import situations

    from nonrecours.simulation import load_situations
    from nonrecours.simulation.runner import dumps, simulate_batch
    from nonrecours.simulation.situations import load_situation_json

    sits = situations(n, ["2025-03"], 11)
    raw = json.dumps(sits).encode("utf-8")
    # warm-up (imports, parameter files) at another month: the timed engine call plans its month, as a command does
    simulate_batch(load_situations(situations(50, ["2024-06"], 1))).records()
    clock = _Clock()
    batch = load_situations(sits)
    validate = clock.lap()
    res = simulate_batch(batch)
    engine = clock.lap()
    simulate_batch(batch)  # again in the same process: what a process serving batch after batch pays
    warm = clock.lap()
    records = res.records()
    shape = clock.lap()
    text = dumps(records)
    write = clock.lap()
    assert not batch.errors and len(records) == n
    del batch, res, records
    clock = _Clock()
    fbatch = load_situation_json(raw)
    fvalidate = clock.lap()
    fres = simulate_batch(fbatch)
    fengine = clock.lap()
    ftext = dumps(fres.records())
    fwrite = clock.lap()
    python_path = {"validate": validate, "engine": engine, "records": shape, "dumps": write}
    again = _flat({"engine_again": warm})
    command_path = {"validate": fvalidate, "engine": fengine, "records_and_dumps": fwrite}
    return {"python_path": {**_flat(python_path), **again, "sha256": hashlib.sha256(text).hexdigest()},
            "command_path": {**_flat(command_path), "sha256": hashlib.sha256(ftext).hexdigest()},
            "load_average_1min": os.getloadavg()[0]}


class _Clock:
    """Wall and CPU seconds (every thread of the process: Polars runs on several) since the last lap."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def lap(self) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        out = (wall - self.wall, cpu - self.cpu)
        self.wall, self.cpu = wall, cpu
        return out


def _flat(phases: dict[str, tuple[float, float]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, (wall, cpu) in phases.items():
        out[f"{name}_s"], out[f"{name}_cpu_s"] = wall, cpu
    if "engine_again" in phases:
        return out
    out["total_s"] = sum(w for w, _ in phases.values())
    out["total_cpu_s"] = sum(c for _, c in phases.values())
    return out


def measure(checkout: Path, n: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(checkout / "src")}
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", "--n", str(n)], cwd=checkout,
                         env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _median(runs: list[dict[str, Any]], path: str, key: str) -> float:
    return round(statistics.median(r[path][key] for r in runs), 3)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline", type=Path, help="another checkout of the repository (required)")
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "simulate_speed.json")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.n)))
        return {}
    if args.baseline is None:
        ap.error("--baseline is required")
    runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "this": []}
    for _ in range(args.repeats):  # interleaved: both sides see the same load
        runs["baseline"].append(measure(args.baseline.resolve(), args.n))
        runs["this"].append(measure(ROOT, args.n))
    hashes = {r[p]["sha256"] for side in runs.values() for r in side for p in ("python_path", "command_path")}
    medians = {side: {p: {k: _median(rs, p, k) for k in rs[0][p] if k != "sha256"}
                      for p in ("python_path", "command_path")} for side, rs in runs.items()}
    of = json.loads(OPENFISCA.read_text(encoding="utf-8"))["runs"][0]
    of_run = of["openfisca"]["run_s"] * args.n / of["situations"]
    this, base = medians["this"], medians["baseline"]
    report = {
        "benchmark": "simulate's phases before/after, back to back (benchmarks/simulate_speed_bench.py)",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "situations": args.n, "months": ["2025-03"], "repeats": args.repeats,
        "baseline": str(args.baseline), "baseline_commit": commit(args.baseline), "this_commit": commit(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average_1min_during": [round(r["load_average_1min"], 1) for side in runs.values()
                                                 for r in side]},
        "outputs_identical": len(hashes) == 1, "sha256": sorted(hashes),
        "median_s": medians,
        "speedup_this_over_baseline": {
            p: {k: round(base[p][k] / this[p][k], 2) for k in this[p] if this[p][k] > 0} for p in this},
        "openfisca_recorded": {"source": "benchmarks/results/openfisca_speed_50k.json (quiet machine, not rerun)",
                               "run_s_scaled_to_n": round(of_run, 2)},
        "ratio_to_openfisca_recorded": {
            side: {"command_path": round(of_run / m["command_path"]["total_s"], 1),
                   "python_path": round(of_run / m["python_path"]["total_s"], 1),
                   "engine_alone": round(of_run / m["python_path"]["engine_s"], 1),
                   "engine_alone_cpu": round(of_run / m["python_path"]["engine_cpu_s"], 1),
                   "engine_again": round(of_run / m["python_path"]["engine_again_s"], 1)}
            for side, m in medians.items()},
        "runs": {side: [{p: {k: (round(v, 3) if isinstance(v, float) else v) for k, v in r[p].items()}
                         for p in ("python_path", "command_path")} for r in rs] for side, rs in runs.items()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))
    if not report["outputs_identical"]:
        raise SystemExit("the outputs differ between the checkouts")
    return report


if __name__ == "__main__":
    main()
