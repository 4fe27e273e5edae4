"""Speed and memory of the synthetic generator: 1 million persons (figures → results/synth.json).

Run: .venv/bin/python benchmarks/synth_bench.py [--persons 1000000]
Each size runs in a fresh process so peak memory (ru_maxrss) is that run's own; chunks are built in
worker processes, whose CPU time and largest peak are reported apart from the parent's.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "synth.json"

_CHILD = """
import resource, sys, time, json
from nonrecours.synth import generate
t0 = time.perf_counter(); c0 = time.process_time()
generate(int(sys.argv[1]), 7, sys.argv[2])
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall_s": time.perf_counter() - t0,
                  "cpu_s_parent": time.process_time() - c0, "cpu_s_workers": kids.ru_utime + kids.ru_stime,
                  "peak_rss_mib_parent": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "peak_rss_mib_largest_worker": kids.ru_maxrss / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, nargs="*", default=[100_000, 1_000_000])
    args = parser.parse_args()
    runs = []
    for n in args.persons:
        with tempfile.TemporaryDirectory() as tmp:
            out = subprocess.run([sys.executable, "-c", _CHILD, str(n), tmp], check=True, capture_output=True,
                                 text=True)
            figures = json.loads(out.stdout.strip().splitlines()[-1])
            size = sum(p.stat().st_size for p in Path(tmp, "truth").glob("*.parquet"))
        figures |= {"persons": n, "persons_per_s": n / figures["wall_s"], "parquet_mib": size / 2**20}
        runs.append(figures)
        print(json.dumps(figures))
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"machine": platform.machine(), "python": platform.python_version(),
                                   "loadavg_at_end": load, "date": time.strftime("%Y-%m-%d %H:%M"),
                                   "runs": runs}, indent=2) + "\n")


if __name__ == "__main__":
    main()
