"""Exchange-value benchmark: the ablation stage (core and detection rerun without each agency, and with the
CAF alone) on a demo run.

Run: ``python benchmarks/ablation_bench.py [--persons 1500] [--seed 4] [--run FOLDER] [--backend duckdb]
[--out benchmarks/results/ablation.json]``

Without ``--run``, a demo of ``--persons`` is built first (``nonrecours demo`` without its own ablation), then
``outputs.ablation.ablation_month`` is timed on it against the demo's truth, as the run's stage calls it. CPU
seconds (every thread of the process) are given beside wall seconds: on a shared machine they are the steadier
figure. ``--label`` names the entry of ``--out`` written (e.g. ``before`` and ``after`` a change), the others kept.

``--without AGENCY`` times one scenario instead (the core and detection without that agency's extract, as the
stage runs it unstacked, ``outputs.ablation.ablation_detection``): at 100,000 persons the whole stage is seven
detections of a few minutes each. ``--flags`` then writes the scenario's flags, to compare two checkouts (each run
with its own ``PYTHONPATH``, alternately; ``commit`` is the measured checkout's).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import time
from pathlib import Path

from commits import commit


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=1_500)
    ap.add_argument("--seed", type=int, default=4)
    ap.add_argument("--run", type=Path, help="an existing demo run folder (else one is built)")
    ap.add_argument("--backend", default="duckdb")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--table", type=Path, help="write the exchange-value table there (to compare versions)")
    ap.add_argument("--label", default="measured", help="the entry of --out this measure goes in (others kept)")
    ap.add_argument("--without", help="time one scenario only: the run without this agency's extract")
    ap.add_argument("--flags", type=Path, help="with --without: write the scenario's flags there")
    args = ap.parse_args()

    import nonrecours
    from nonrecours.config import load_config
    from nonrecours.outputs.ablation import ablation_detection, ablation_month
    from nonrecours.outputs.answers import CONTRIBUTING
    from nonrecours.run import detection_config

    run = args.run
    if run is None:
        import tempfile

        from nonrecours.demo import run_demo

        run = Path(tempfile.mkdtemp(prefix="ablation-bench-"))
        run_demo(run, persons=args.persons, seed=args.seed, ablation=False)
    config = load_config(run / "run.toml")
    month = config.months[0]
    agencies = [a for a in CONTRIBUTING if a in config.agencies]
    if args.without is not None and args.without not in agencies:
        ap.error(f"--without {args.without}: not an agency of the run ({', '.join(agencies)})")
    t0, c0 = time.perf_counter(), time.process_time()
    if args.without is None:
        table = ablation_month(run, month, config, backend=args.backend, truth=run / "truth")
        measured = {"scenarios": int(table.get_column("scenario").n_unique()), "rows": table.height}
    else:
        detect = ablation_detection(run / "workspace", month, backend=args.backend,
                                    config=detection_config(config), agencies=agencies, batch=())
        flags = detect(set(agencies) - {args.without})
        measured = {"without": args.without, "flags": flags.height}
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    # the checkout measured (the one on PYTHONPATH), not necessarily this script's
    source = Path(nonrecours.__file__).resolve().parents[2]
    result = {
        "date": dt.date.today().isoformat(), "commit": commit(source), "source": str(source),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_average_1min_at_end": round(os.getloadavg()[0], 1),
        "persons": args.persons if args.run is None else None, "month": f"{month:%Y-%m}",
        "backend": args.backend, **measured, "wall_seconds": round(wall, 1), "cpu_seconds": round(cpu, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(result, indent=2))
    if args.table and args.without is None:
        table.write_parquet(args.table)
    if args.flags and args.without is not None:
        flags.write_parquet(args.flags)
    if args.out:
        kept = json.loads(args.out.read_text()) if args.out.exists() else {}
        kept[args.label] = result
        args.out.write_text(json.dumps(kept, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
