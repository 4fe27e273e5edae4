"""Smoke run of the harness that times our ``simulate`` beside OpenFisca-France (benchmarks/openfisca_speed_bench.py)
on a few households: it runs end to end and reports both sides. No timing assertion (shared machines)."""

from __future__ import annotations

import json

import pytest
from tests.benches import load_bench
from tests.oracle.environment import OracleUnavailable, ensure_oracle

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("oracle")]  # one OpenFisca runner (pytest -n)



def test_harness_times_both_sides_on_the_same_households(tmp_path) -> None:  # type: ignore[no-untyped-def]
    try:
        ensure_oracle()
    except OracleUnavailable as exc:  # a failure, never a skip: CI must have its oracle
        pytest.fail(f"the OpenFisca oracle could not be installed: {exc}")
    bench = load_bench("openfisca_speed_bench")
    out = tmp_path / "speed.json"
    report = bench.main(["--sizes", "12", "--months", "2025-04", "--out", str(out)])
    assert json.loads(out.read_text(encoding="utf-8")) == report
    (run,) = report["runs"]
    assert run["situations"] == 12
    assert run["households_openfisca"] >= 12  # one web-API situation per ménage
    assert run["ours"]["situations_per_s"] > 0 and run["openfisca"]["situations_per_s"] > 0
    assert run["ratio_of_rates"] > 0
    assert run["ours"]["total_cpu_s"] > 0 and run["openfisca"]["run_cpu_s"] > 0 and run["ratio_of_cpu"] > 0
