"""One scenario of the exchange-value stage, timed: the core and detection rerun without one agency's extract.

Run: ``python benchmarks/ablation_scenario_bench.py --run FOLDER [--without dgfip] [--backend polars]
[--month 2026-06] --label L [--out benchmarks/results/F.json] [--flags F.parquet]``

``ablation_bench.py`` times every scenario of a run; at 100,000 persons that is seven detections of a few minutes
each, so this times one, as the stage runs it (``outputs.ablation.ablation_detection``, no stacking with the
others). CPU seconds (every thread) beside wall seconds and the peak RSS; ``--flags`` writes the scenario's flags
to compare two checkouts (run each with its own ``PYTHONPATH``, alternately).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", type=Path, required=True, help="a finished run folder (run.toml, workspace)")
    ap.add_argument("--without", default="dgfip", help="the agency left out")
    ap.add_argument("--backend", default="polars")
    ap.add_argument("--month", default=None, help="YYYY-MM; default: the run's first month")
    ap.add_argument("--label", required=True, help="the entry of --out this measure goes in (others kept)")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--flags", type=Path, help="write the scenario's flags there")
    args = ap.parse_args()

    import nonrecours
    from nonrecours.config import load_config
    from nonrecours.outputs.ablation import ablation_detection
    from nonrecours.outputs.answers import CONTRIBUTING
    from nonrecours.run import detection_config

    cfg = load_config(args.run / "run.toml")
    month = dt.date.fromisoformat(f"{args.month}-01") if args.month else cfg.months[0]
    agencies = [a for a in CONTRIBUTING if a in cfg.agencies]
    if args.without not in agencies:
        ap.error(f"--without {args.without}: not an agency of the run ({', '.join(agencies)})")
    t0, r0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    run = ablation_detection(args.run / "workspace", month, backend=args.backend, config=detection_config(cfg),
                             agencies=agencies, batch=())
    flags = run(set(agencies) - {args.without})
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    source = Path(nonrecours.__file__).resolve().parents[2]
    commit = subprocess.run(["git", "-C", str(source), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=False).stdout.strip()
    result = {"date": dt.date.today().isoformat(), "commit": commit, "source": str(source),
              "machine": f"{platform.machine()}, {os.cpu_count()} cores",
              "load_average_1min_at_end": round(os.getloadavg()[0], 1), "month": f"{month:%Y-%m}",
              "backend": args.backend, "without": args.without, "flags": flags.height,
              "wall_seconds": round(time.perf_counter() - t0, 1),
              "cpu_seconds": round(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime, 1),
              "peak_rss_mb": round(r1.ru_maxrss / 1024, 1)}
    if args.flags:
        flags.write_parquet(args.flags)
    if args.out:
        kept = json.loads(args.out.read_text(encoding="utf-8")) if args.out.exists() else {}
        kept[args.label] = result
        args.out.write_text(json.dumps(kept, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
