"""The partition split alone (``core.partition.Partitions``: the link graph of every person and unit, its
connected components, the assignment file) of an earlier commit beside this tree, on one workspace.

Run: ``PYTHONPATH=src nice -n 10 python benchmarks/split_bench.py --workspace WS --parts 16 --baseline REV
--workdir SCRATCH [--candidate REV] [--out benchmarks/results/split_<...>.json]``

Each split is its own process (that commit's ``src``, ``git archive`` into ``SCRATCH``; this tree's unless
``--candidate``), baseline first: wall and CPU seconds, peak RSS (``ru_maxrss``), persons per part; the two
``assignment.parquet`` files are compared byte for byte, then row for row, then by their components' sizes (how
many components of each size, persons and units counted): the same graph cut into the same households even where
the files name nodes differently (text before 4dd4f31, hashes since).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl

from outputs_stage_bench import _baseline_src

_CHILD = """
import json, resource, sys, time
from nonrecours.core.partition import Partitions
from nonrecours.core.workspace import scan_workspace
t, c = time.perf_counter(), time.process_time()
parts = Partitions(scan_workspace(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
wall, cpu = time.perf_counter() - t, time.process_time() - c
print(json.dumps({"wall_seconds": round(wall, 2), "cpu_seconds": round(cpu, 2),
                  "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                  "persons_per_part": parts.sizes()}))
"""


def _sizes(path: Path) -> pl.DataFrame:
    """How many components of each size (persons and units) an assignment file holds."""
    return (pl.read_parquet(path, columns=["component"]).group_by("component").len()
            .group_by("len").agg(pl.len().alias("components")).sort("len"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workspace", type=Path, required=True)
    ap.add_argument("--parts", type=int, default=16)
    ap.add_argument("--baseline", required=True)
    ap.add_argument("--candidate")
    ap.add_argument("--workdir", type=Path, required=True)
    ap.add_argument("--label", default="")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    here = Path(__file__).resolve().parents[1]
    srcs = {"baseline": _baseline_src(args.baseline, args.workdir),
            "this": _baseline_src(args.candidate, args.workdir) if args.candidate else here / "src"}
    runs = {}
    for label, src in srcs.items():
        folder = args.workdir / f"split_{label}"
        load = os.getloadavg()[0]
        done = subprocess.run([sys.executable, "-c", _CHILD, str(args.workspace), str(args.parts), str(folder)],
                              check=True, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(src)})
        runs[label] = {**json.loads(done.stdout.strip().splitlines()[-1]), "load_before": round(load, 2),
                       "load_after": round(os.getloadavg()[0], 2)}
        print(json.dumps({label: runs[label]}), file=sys.stderr, flush=True)
    a, b = (args.workdir / f"split_{k}" / "assignment.parquet" for k in ("baseline", "this"))
    digest = {k: hashlib.sha256(p.read_bytes()).hexdigest() for k, p in (("baseline", a), ("this", b))}
    result = {"label": args.label, "workspace": str(args.workspace), "parts": args.parts,
              "baseline": args.baseline, "this": args.candidate or "working tree", "runs": runs,
              "assignment_sha256": digest, "assignment_bytes_identical": digest["baseline"] == digest["this"],
              "assignment_rows_identical": pl.read_parquet(a).equals(pl.read_parquet(b)),
              "assignment_rows": pl.scan_parquet(a).select(pl.len()).collect().item(),
              "component_sizes_identical": _sizes(a).equals(_sizes(b))}
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
