"""Ingest throughput and peak memory of the six connectors on a synthetic territory.

    python benchmarks/ingest_bench.py --persons 100000 --work /tmp/ingest-bench

Writes benchmarks/results/ingest.json. Each ingest runs in its own process so that its peak resident
memory (VmHWM) is its own; the CNAM extract is also read with small chunks to show that memory follows
the chunk size, not the file size.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import subprocess
import sys
import time
from pathlib import Path

FILES = {"caf": "caf.dat", "cnam": "cnam.csv", "france_travail": "france_travail.csv",
         "dgfip": "dgfip.parquet", "cnav": "cnav.csv", "msa": "msa.csv"}
REPO = Path(__file__).resolve().parents[1]

CHILD = """
import json, re, sys, time
from nonrecours.connectors import default_mapping, ingest
from nonrecours.privacy import load_agreement
agency, src, out, chunk = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
t = time.perf_counter()
r = ingest(src, default_mapping(agency), load_agreement(sys.argv[5]), out, chunk_bytes=chunk)
dt = time.perf_counter() - t
print(json.dumps({"seconds": round(dt, 3), "rows_read": r.rows_read, "rows_quarantined": r.rows_quarantined,
                  "rows_per_second": round(r.rows_read / dt), "peak_rss_mib": round(int(re.search(
                      r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) / 1024, 1)}))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work", type=Path, default=Path("/tmp/ingest-bench"))
    args = ap.parse_args()
    from nonrecours.synth import generate
    from nonrecours.synth.extracts import write_extracts

    env = dict(os.environ, NONRECOURS_EXCHANGE_SECRET=secrets.token_urlsafe(40))
    t = time.perf_counter()
    generate(args.persons, args.seed, args.work)
    gen_s = time.perf_counter() - t
    t = time.perf_counter()
    write_extracts(args.work / "truth", args.work / "extracts", seed=args.seed)
    ext_s = time.perf_counter() - t
    exchange = REPO / "src" / "nonrecours" / "connectors" / "exchange.toml"  # the default mappings' agreement
    runs = []
    plan = [(a, 8 << 20) for a in FILES] + [("cnam", 32 << 20), ("cnam", 1 << 20)]
    for agency, chunk in plan:
        src = args.work / "extracts" / FILES[agency]
        out = args.work / f"ws-{chunk}"
        res = subprocess.run([sys.executable, "-c", CHILD, agency, str(src), str(out), str(chunk), str(exchange)],
                             capture_output=True, text=True, env=env, check=True)
        row = {"agency": agency, "file_mib": round(src.stat().st_size / 2**20, 1), "chunk_mib": chunk / 2**20,
               **json.loads(res.stdout.strip().splitlines()[-1])}
        runs.append(row)
        print(row)
    result = {"persons": args.persons, "machine": f"{platform.machine()}, {os.cpu_count()} cores",
              "load_average_1min_at_end": round(os.getloadavg()[0], 2),
              "note": "the machine is shared with other jobs: compare runs with their load average",
              "generate_seconds": round(gen_s, 1), "write_extracts_seconds": round(ext_s, 1), "ingest": runs}
    path = REPO / "benchmarks" / "results" / "ingest.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
