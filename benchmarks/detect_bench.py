"""Detection benchmark: ``nonrecours detect`` on an ingested workspace, on both backends.

Run: ``python benchmarks/detect_bench.py --workspace DIR --month 2026-06 [--out benchmarks/results/detect.json]``
(a workspace from ``nonrecours demo --persons N --out D``: ``D/workspace``). Each backend runs in its own
process so that its peak memory (``ru_maxrss`` of the child) is its own; wall-clock time is measured there too.
The flags of both backends are compared.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

_CHILD = """
import resource, sys, time
from nonrecours.config import parse_month
from nonrecours.detection.detect import run_detect
t = time.perf_counter()
run, _ = run_detect(sys.argv[1], parse_month(sys.argv[2]), sys.argv[3], backend=sys.argv[4])
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, run.summary["persons"])
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workspace", type=Path, required=True)
    ap.add_argument("--month", default="2026-06")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    results: dict[str, object] = {"machine": platform.platform(), "month": args.month, "backends": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in ("polars", "duckdb"):
            out = Path(tmp) / backend
            done = subprocess.run([sys.executable, "-c", _CHILD, str(args.workspace), args.month, str(out), backend],
                                  check=True, capture_output=True, text=True)
            seconds, rss_kb, persons = done.stdout.split()[-3:]
            results["persons"] = int(persons)
            results["backends"][backend] = {"seconds": round(float(seconds), 2),  # type: ignore[index]
                                            "peak_rss_mb": round(int(rss_kb) / 1024)}
        a = pl.read_parquet(Path(tmp) / "polars" / "flags.parquet")
        b = pl.read_parquet(Path(tmp) / "duckdb" / "flags.parquet")
        try:  # amounts agree to a millionth of a euro (float sums in another order), all else exactly
            assert_frame_equal(a, b, check_exact=False, abs_tol=1e-6)
            results["same_flags"] = True
        except AssertionError:
            results["same_flags"] = False
        results["flags"] = a.height
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
