"""Smoke run of the pipeline benchmark (benchmarks/pipeline_bench.py) on the session's small territory: every
stage of the run and every step within it is measured and written to the JSON and the Markdown table; and its
meter gives each step its own peak memory. No timing assertion (shared machines)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from nonrecours.audit import read_manifest
from nonrecours.config import load_config

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "pipeline_bench.py"
FIELDS = {"calls", "wall_s", "cpu_s", "peak_rss_mib", "children_peak_rss_mib", "rss_at_start_mib",
          "load_1min_start", "load_1min_end"}


@pytest.fixture(scope="module")
def bench():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("pipeline_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_stage_of_the_run_is_measured(bench, quick_run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import nonrecours.core
    import nonrecours.outputs.stage

    before = (nonrecours.core.build_month, nonrecours.outputs.stage.write_table)
    manifest = read_manifest(quick_run)
    out = tmp_path / "pipeline.json"
    report = bench.main(["--persons", "600", "--backends", "polars", "--reuse", str(quick_run), "--in-process",
                         "--workdir", str(tmp_path / "work"), "--out", str(out)])
    assert json.loads(out.read_text(encoding="utf-8")) == report
    assert (nonrecours.core.build_month, nonrecours.outputs.stage.write_table) == before  # wrappers removed
    (size,) = report["sizes"]
    assert size["persons"] == 600 and size["synth"]["reused"] == str(quick_run.resolve())
    (run,) = size["runs"]
    assert run["backend"] == "polars"
    assert run["stages"] == {"ingest": "done", "rules": "done", "detection": "done", "ablation": "not asked",
                             "outputs": "done"}
    agencies = list(load_config(quick_run / "run.toml").agencies)
    steps = run["steps"]
    expected = ["run", "ingest", *(f"ingest/{a}" for a in agencies), "rules", "rules/join", "rules/evaluate",
                "detection", "detection/join", "detection/evaluate", "detection/export", "outputs", "outputs/outreach",
                "outputs/statistics", "outputs/writing", "ablation"]
    for name in expected:
        assert set(steps[name]) == FIELDS, name
        assert steps[name]["calls"] >= 1 and steps[name]["wall_s"] >= 0 and steps[name]["cpu_s"] >= 0
        assert steps[name]["peak_rss_mib"] > 0
    assert steps["run"]["peak_rss_mib"] == max(s["peak_rss_mib"] for k, s in steps.items() if k != "finish"
                                               and s["peak_rss_mib"] is not None)
    assert set(steps["finish"]) == {"calls", "wall_s", "cpu_s", "peak_rss_mib"}
    # the run's own counts: every extract row read, the lists written
    read = sum(q["rows_read"] for q in manifest["quarantine"].values())
    assert run["rows"]["ingest_read"] == read
    assert run["rows"]["outreach_rows"] > 0 and run["rows"]["flags"] >= run["rows"]["outreach_rows"] > 0
    (row,) = size["summary"]
    for col in ("ingest", "join", "rules", "detection", "outputs", "finish", "run"):
        assert set(row[col]) == {"wall_s", "cpu_s", "peak_rss_mib"}, col
    assert "target" not in row  # no target at 600 persons
    table = out.with_suffix(".md").read_text(encoding="utf-8")
    assert "| 600 | polars | reused |" in table and "`outputs/outreach`" in table


def test_a_steps_peak_is_its_own_and_reaches_the_step_around_it(bench) -> None:  # type: ignore[no-untyped-def]
    meter = bench.Meter()
    try:
        with meter.measure("outer"):
            with meter.measure("outer/big"):
                block = np.ones(300 * 2**20 // 8)  # 300 MiB, every page written
                assert block.sum() > 0
                del block
            with meter.measure("outer/small"):
                small = np.ones(2**20 // 8)
                del small
    finally:
        meter.close()
    steps = meter.report()
    big, small, outer = steps["outer/big"], steps["outer/small"], steps["outer"]
    assert big["peak_rss_mib"] >= big["rss_at_start_mib"] + 250
    assert outer["peak_rss_mib"] >= big["peak_rss_mib"]
    if meter.resettable:  # Linux: the high-water mark is reset when a step starts
        assert small["peak_rss_mib"] < big["peak_rss_mib"] - 200
