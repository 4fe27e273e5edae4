"""Smoke run of ``benchmarks/planning_bench.py`` (a checkout against itself, one month of the public cases): it runs
both sides in their own processes, compares their outputs and writes its report. No timing assertion."""

from __future__ import annotations

import json
from pathlib import Path

from tests.benches import load_bench

ROOT = Path(__file__).resolve().parents[1]


def test_the_harness_runs_both_checkouts_and_compares_their_records(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bench = load_bench("planning_bench")
    out = tmp_path / "planning.json"
    report = bench.main(["--baseline", str(ROOT), "--months", "2026-04", "--demo-persons", "0", "--out", str(out)])
    assert json.loads(out.read_text(encoding="utf-8")) == report
    (row,) = report["rows"]
    assert row["workload"] == "public_cases" and row["size"] == 28  # the public cases of April 2026
    assert row["before"]["sha256"] == row["after"]["sha256"] and row["outputs_identical"]
    assert row["before"]["cpu_s"] > 0 and row["after"]["cpu_s"] > 0
    assert "| public_cases | 28 |" in out.with_suffix(".md").read_text(encoding="utf-8")
