"""Smoke run of benchmarks/simulate_speed_bench.py on a few situations, this checkout against itself: both sides
run in their own process, every phase is reported and the JSON texts are compared. No timing assertion."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.benches import load_bench

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_harness_compares_two_checkouts_phase_by_phase(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bench = load_bench("simulate_speed_bench")
    out = tmp_path / "speed.json"
    report = bench.main(["--baseline", str(ROOT), "--n", "30", "--repeats", "1", "--out", str(out)])
    assert json.loads(out.read_text(encoding="utf-8")) == report
    assert report["outputs_identical"] and len(report["sha256"]) == 1
    for side in ("baseline", "this"):
        (run,) = report["runs"][side]
        assert set(run["python_path"]) >= {"validate_s", "engine_s", "records_s", "dumps_s", "engine_cpu_s"}
        assert set(run["command_path"]) >= {"validate_s", "engine_s", "records_and_dumps_s", "total_s"}
        assert run["python_path"]["sha256"] == run["command_path"]["sha256"] == report["sha256"][0]
    assert report["openfisca_recorded"]["run_s_scaled_to_n"] > 0  # OpenFisca's recorded rate, scaled to n
    assert set(report["ratio_to_openfisca_recorded"]["this"]) >= {"command_path", "engine_alone", "engine_again"}
