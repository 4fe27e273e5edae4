"""Each agency's ``nonrecours ingest`` by an earlier checkout and by this one, alternated in one run, outputs compared.

Run: ``python benchmarks/ingest_ab_bench.py --territory DIR --baseline /path/to/a/checkout [--rounds 2]
[--out benchmarks/results/ingest_ab.json]``. ``DIR`` holds ``extracts/`` (the seven raw extracts a ``synth`` or
``nonrecours demo`` wrote) and ``exchange.toml``; the baseline is another checkout of the repository (e.g. a
detached ``git worktree``), run with ``PYTHONPATH=<checkout>/src`` by this environment's ``nonrecours`` command.

Each round ingests every extract by the baseline then by this checkout, each in a child process (wall seconds,
and the child's user + system CPU seconds: steadier than wall on a shared machine). The workspaces of the last
round are compared file by file, row for row (``DataFrame.equals``): a change of speed must not change a row.
Writes the JSON and a Markdown table beside it (medians over the rounds, and the ratio baseline / this).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl

from commits import commit

ROOT = Path(__file__).resolve().parents[1]
AGENCIES = {"caf": "caf.dat", "cnam": "cnam.csv", "france_travail": "france_travail.csv", "dgfip": "dgfip.parquet",
            "cnav": "cnav.csv", "msa": "msa.csv", "drm": "drm.csv"}


def _ingest(checkout: Path, agency: str, extract: Path, exchange: Path, out: Path) -> dict[str, float]:
    """One ``nonrecours ingest`` of ``checkout`` in a child process: wall and CPU seconds."""
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": str(checkout / "src")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "nonrecours"), "-q", "ingest", "--agency", agency, "--input",
                    str(extract), "--exchange", str(exchange), "--out", str(out)], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2)}


def _same(a: Path, b: Path) -> dict[str, Any]:
    """Every Parquet file of workspace ``a`` equal row for row to ``b``'s (and the same files)."""
    files = sorted(p.relative_to(a) for p in a.rglob("*.parquet"))
    other = sorted(p.relative_to(b) for p in b.rglob("*.parquet"))
    differ = [str(f) for f in files if f in other and not pl.read_parquet(a / f).equals(pl.read_parquet(b / f))]
    return {"files": len(files), "same_files": files == other, "differ": differ}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser()
    ap.add_argument("--territory", type=Path, required=True)
    ap.add_argument("--baseline", type=Path, required=True)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--work", type=Path, default=Path("/tmp/ingest-ab"))
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "ingest_ab.json")
    args = ap.parse_args(argv)
    sides = {"baseline": args.baseline.resolve(), "this": ROOT}
    runs: dict[str, dict[str, list[dict[str, float]]]] = {s: {a: [] for a in AGENCIES} for s in sides}
    loads = []
    for _ in range(args.rounds):
        for agency, name in AGENCIES.items():
            for side, checkout in sides.items():
                loads.append(round(os.getloadavg()[0], 2))
                runs[side][agency].append(_ingest(checkout, agency, args.territory / "extracts" / name,
                                                  args.territory / "exchange.toml", args.work / side / agency))
    compared = _same(args.work / "baseline", args.work / "this")
    median = {s: {a: {k: statistics.median(r[k] for r in rs) for k in ("wall_s", "cpu_s")}
                  for a, rs in per.items()} for s, per in runs.items()}
    total = {s: {k: round(sum(m[k] for m in per.values()), 2) for k in ("wall_s", "cpu_s")}
             for s, per in median.items()}
    result = {
        "benchmark": "each agency's ingest, an earlier checkout against this one (benchmarks/ingest_ab_bench.py)",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "territory": str(args.territory), "baseline": str(sides["baseline"]),
        "baseline_commit": commit(sides["baseline"]), "this_commit": commit(ROOT), "rounds": args.rounds,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_average_1min": loads},
        "outputs_compared": compared, "median": median, "total_of_medians": total,
        "ratio_baseline_over_this": {k: round(total["baseline"][k] / total["this"][k], 2) for k in ("wall_s", "cpu_s")},
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    lines = [f"# Ingest, {result['baseline_commit']} against {result['this_commit']} ({result['date']})", "",
             f"Territory `{args.territory}`, {args.rounds} rounds alternated, medians; load {min(loads)}-{max(loads)}. "
             f"Outputs: {compared['files']} Parquet files, "
             + ("every one equal row for row." if compared["same_files"] and not compared["differ"]
                else f"DIFFERENT: {compared['differ'] or 'not the same files'}."), "",
             "| agency | baseline wall s | this wall s | baseline CPU s | this CPU s |", "|---|---:|---:|---:|---:|"]
    for a in AGENCIES:
        b, t = median["baseline"][a], median["this"][a]
        lines.append(f"| {a} | {b['wall_s']:.2f} | {t['wall_s']:.2f} | {b['cpu_s']:.2f} | {t['cpu_s']:.2f} |")
    b, t = total["baseline"], total["this"]
    lines.append(f"| **all** | **{b['wall_s']:.2f}** | **{t['wall_s']:.2f}** | **{b['cpu_s']:.2f}** | "
                 f"**{t['cpu_s']:.2f}** |")
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    return result


if __name__ == "__main__":
    main()
