"""Every solve of the secrecy audit through both drivers of HiGHS: ``statistics._highs_solve`` (the audit's) and
``scipy.optimize.linprog(method="highs")`` (before 2b7437d); the answers must be identical bit for bit.

Run: ``PYTHONPATH=src python benchmarks/highs_direct_check.py CELLS.parquet OUT.parquet`` where CELLS is
``cell_counts``' frame (benchmarks/results/outputs_speed_2026-11-30.md says how it was dumped); OUT gets the
pattern (``suppressed``), to compare with another code's. Prints the number of solves and each driver's CPU s.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import polars as pl
from scipy.optimize import linprog

from nonrecours.outputs import statistics as st


def main() -> None:
    seen = {"solves": 0, "direct_cpu_s": 0.0, "linprog_cpu_s": 0.0}

    def both(a, rhs, objective, cap):
        t0 = time.process_time()
        x = st._highs_solve(a, rhs, objective, cap)
        t1 = time.process_time()
        res = linprog(objective, A_eq=a, b_eq=rhs, bounds=np.column_stack([np.zeros_like(cap), cap]),
                      method="highs")
        seen["direct_cpu_s"] += t1 - t0
        seen["linprog_cpu_s"] += time.process_time() - t1
        if res.status != 0 or not np.array_equal(x, res.x):
            raise AssertionError(f"solve {seen['solves']}: the two drivers differ")
        seen["solves"] += 1
        return x

    st._solve = both
    out = st.suppress(pl.read_parquet(sys.argv[1]), threshold=11)
    out.select("suppressed").write_parquet(sys.argv[2])
    print({k: round(v, 1) for k, v in seen.items()})


if __name__ == "__main__":
    main()
