"""Partitioned runs: detection (core, rules, detection, writing) on one workspace in 1 part and in N parts.

Run: ``python benchmarks/partition_bench.py [--persons 100000] [--parts 1,4] [--backend polars]
[--out benchmarks/results/partition.json]``

The workspace is ``core_bench.py``'s canonical Parquet of N persons (households of two: CAF familles with 18
months of resources and payments, CNAV retirees, DGFiP foyers for everyone). Each partition count runs in its
own process (``ru_maxrss`` of the child is its own peak), through ``run_detect(partitions=...)`` as the batch job
runs it; the split itself (``core.partition.Partitions``) is timed apart. The outputs of every count are
compared with the first's: the JSON byte for byte, the Parquet files row for row (same rows, order and types;
a partitioned run's are merged by ``core.partition.merge_parts``, another Parquet writer than a run in one
pass's).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from core_bench import M, write_workspace

_CHILD = """
import resource, sys, time
from pathlib import Path
import polars as pl
from nonrecours.core import Partitions
from nonrecours.core.workspace import scan_workspace
from nonrecours.config import parse_month
from nonrecours.detection.detect import run_detect
ws, month, out, backend, n = sys.argv[1], parse_month(sys.argv[2]), Path(sys.argv[3]), sys.argv[4], int(sys.argv[5])
t = time.perf_counter()
parts = Partitions(scan_workspace(Path(ws)), n, out.parent / (out.name + "-parts")) if n > 1 else None
split = time.perf_counter() - t
run, _ = run_detect(ws, month, out, backend=backend, partitions=parts)
print(time.perf_counter() - t, split, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, run.summary["persons"],
      run.flags.lazy().select(pl.len()).collect().item(),
      " ".join(map(str, parts.sizes() if parts else [run.summary["persons"]])))
"""


def _hashes(folder: Path) -> dict[str, str]:
    """Each file by name: a JSON file's SHA-256, a Parquet file's rows (a hash of every row, in order, and the
    schema: the same for the same rows whatever the writer)."""
    out = {}
    for p in sorted(folder.iterdir()):
        if not p.is_file():
            continue
        if p.suffix == ".parquet":
            frame = pl.read_parquet(p)
            rows = frame.hash_rows(seed=0).to_list() if frame.height else []
            out[p.name] = hashlib.sha256(repr((rows, list(frame.schema.items()))).encode()).hexdigest()
        else:
            out[p.name] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=100_000)
    ap.add_argument("--parts", default="1,4")
    ap.add_argument("--backend", default="polars")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    counts = [int(x) for x in args.parts.split(",")]
    result: dict[str, object] = {"persons": args.persons, "month": f"{M:%Y-%m}", "backend": args.backend,
                                 "python": platform.python_version(), "polars": pl.__version__,
                                 "machine": platform.platform(), "runs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "workspace"
        t0 = time.perf_counter()
        write_workspace(args.persons, ws)
        result["workspace_seconds"] = round(time.perf_counter() - t0, 2)
        first = None
        for n in counts:
            out = Path(tmp) / f"parts-{n}"
            done = subprocess.run([sys.executable, "-c", _CHILD, str(ws), f"{M:%Y-%m}", str(out), args.backend,
                                   str(n)], check=True, capture_output=True, text=True)
            seconds, split, rss_kb, persons, flags, *sizes = done.stdout.split("\n")[-2].split()
            hashes = _hashes(out)
            first = first or hashes
            result["runs"][str(n)] = {  # type: ignore[index]
                "seconds": round(float(seconds), 2), "split_seconds": round(float(split), 2),
                "peak_rss_mb": round(int(rss_kb) / 1024), "persons": int(persons), "flags": int(flags),
                "persons_per_part": [int(s) for s in sizes], "same_files_as_first": hashes == first,
                "load_average_after": round(os.getloadavg()[0], 1)}  # a shared machine: other jobs' load
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
