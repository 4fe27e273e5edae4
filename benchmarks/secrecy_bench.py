"""Statistical secrecy benchmark: the pattern heuristic, then the linear-programming audit, on the statistics
table of a synthetic run of N persons.

Run: ``python benchmarks/secrecy_bench.py [--persons 20000] [--territory cahors] [--out FILE]``

Detection's units come from ``outputs_bench.tables`` (about 0.45 units per person and benefit, spread over the
territory's communes by population). Timed: ``cell_counts``, ``suppress(audit=False)`` (the single-sum
heuristic alone) and ``suppress`` (heuristic + audit to a fixed point). Reported: cells, secret cells after
each, the secondary cells the audit added, and per audit round the blocks solved and the cells found exposed
(from the module's log, counts only); the audit's wall and CPU seconds (the machine is shared); the SHA-256 of
the pattern (every cell's benefit, level, area, household type and suppression, sorted, as CSV) to show two
runs hid the same cells.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import platform
import re
import sys
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).parent))
from nonrecours.outputs.statistics import cell_counts, suppress
from outputs_bench import tables


class _Rounds(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.rounds: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        m = re.search(r"round (\d+): (\d+) blocks solved, (\d+) cells exposed", record.getMessage())
        if m:
            self.rounds.append({"round": int(m[1]), "blocks_solved": int(m[2]), "exposed": int(m[3])})
        elif "secrecy audit split:" in record.getMessage():
            self.rounds.append({"split": record.getMessage().split(": ", 1)[1]})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=20_000)
    ap.add_argument("--territory", default="cahors")
    ap.add_argument("--threshold", type=int, default=11)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    data = tables(args.persons, args.territory)
    t0 = time.perf_counter()
    cells = cell_counts(data["units"], data["profiles"], data["territory"])
    t_cells = time.perf_counter() - t0
    t0 = time.perf_counter()
    heuristic = suppress(cells, threshold=args.threshold, audit=False)
    t_heur = time.perf_counter() - t0
    handler = _Rounds()
    log = logging.getLogger("nonrecours.outputs.statistics")
    log.addHandler(handler)
    log.addHandler(logging.StreamHandler())  # the rounds as they come, on stderr (counts only)
    log.setLevel(logging.INFO)
    t0, c0 = time.perf_counter(), time.process_time()
    audited = suppress(cells, threshold=args.threshold)
    t_full, c_full = time.perf_counter() - t0, time.process_time() - c0
    secret_h = heuristic.get_column("suppressed").is_not_null()
    secret_a = audited.get_column("suppressed").is_not_null()
    assert not (secret_h & ~secret_a).any()
    nonzero_secret = int((secret_a & (audited.get_column("units") > 0)).sum())
    keys = ["benefit", "level", "area", "household_type"]
    pattern = hashlib.sha256(audited.select(*keys, "suppressed").sort(keys).write_csv().encode()).hexdigest()
    result = {
        "date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        "persons": args.persons, "territory": args.territory, "threshold": args.threshold,
        "benefits": cells.get_column("benefit").n_unique(), "cells": cells.height,
        "primary": int((audited.get_column("suppressed") == "primary").sum()),
        "secret_after_heuristic": int(secret_h.sum()), "secret_after_audit": int(secret_a.sum()),
        "secret_holding_units_after_audit": nonzero_secret,
        "added_by_audit": int((secret_a & ~secret_h).sum()), "pattern_sha256": pattern,
        "audit_rounds": handler.rounds,
        "seconds": {"cell_counts": round(t_cells, 2), "heuristic_only": round(t_heur, 2),
                    "heuristic_and_audit": round(t_full, 2), "audit_share": round(t_full - t_heur, 2),
                    # CPU time of the process: the machine is shared, wall time follows its load
                    "heuristic_and_audit_cpu": round(c_full, 2)},
    }
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    pl.Config.set_tbl_rows(5)
    main()
