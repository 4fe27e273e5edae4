"""Smoke run of the pipeline benchmark (benchmarks/pipeline_bench.py) on the session's small territory: every
stage of the run and every step within it is measured and written to the JSON and the Markdown table; and its
meter gives each step its own peak memory. No timing assertion (shared machines)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.benches import load_bench

from nonrecours.audit import read_manifest
from nonrecours.config import load_config
from nonrecours.schemas.benefits import benefit as catalogue_row
from nonrecours.schemas.benefits import by_asked

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "pipeline_bench.py"
FIELDS = {"calls", "wall_s", "cpu_s", "peak_rss_mib", "children_peak_rss_mib", "rss_at_start_mib",
          "load_1min_start", "load_1min_end"}


@pytest.fixture(scope="module")
def bench():  # type: ignore[no-untyped-def]
    return load_bench("pipeline_bench")


@pytest.mark.slow
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
                "detection", "detection/evaluate", "detection/export", "outputs", "outputs/outreach",
                "outputs/statistics", "outputs/writing", "ablation"]
    # the evaluated month is joined once, by the rules stage; detection joins only the earlier months at which
    # a yearly benefit is judged (its payment due: the ARS of last August, the chèque énergie of April)
    config = load_config(quick_run / "run.toml")
    month = config.last_month or config.first_month
    due = {catalogue_row(b).due_month(month) for b in by_asked(config.benefits)} - {month}
    assert steps.get("detection/join", {"calls": 0})["calls"] == len(due) >= 1
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


_METER_SCRIPT = """
import importlib.util, json, os, sys
import numpy as np
sys.path.insert(0, os.path.dirname(sys.argv[1]))  # the scripts import one another (commits.py)
spec = importlib.util.spec_from_file_location("pipeline_bench", sys.argv[1])
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)
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
print(json.dumps({"steps": meter.report(), "resettable": meter.resettable}))
"""


def test_a_steps_peak_is_its_own_and_reaches_the_step_around_it() -> None:
    """In a fresh process: the meter reads its own process's memory, and a test process that ran others before
    (a pytest-xdist worker) holds freed pages the 300 MiB block may reuse, so its peak rose by less than the block
    once (a worker's RSS reuse)."""
    done = subprocess.run([sys.executable, "-c", _METER_SCRIPT, str(BENCH)], capture_output=True, text=True,
                          check=False, timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    steps = out["steps"]
    big, small, outer = steps["outer/big"], steps["outer/small"], steps["outer"]
    assert big["peak_rss_mib"] >= big["rss_at_start_mib"] + 250
    assert outer["peak_rss_mib"] >= big["peak_rss_mib"]
    if out["resettable"]:  # Linux: the high-water mark is reset when a step starts
        assert small["peak_rss_mib"] < big["peak_rss_mib"] - 200


def _row(persons: int, backend: str, cpu: dict[str, float]) -> dict:  # type: ignore[type-arg]
    cols = {c: {"wall_s": 2 * v, "cpu_s": v, "peak_rss_mib": None} for c, v in cpu.items()}
    return {"persons": persons, "backend": backend, **cols, "peak_rss_mib": 100.0 * persons / 1000}


def _report(rows: list[dict], commit: str = "abc") -> dict:  # type: ignore[type-arg]
    sizes = sorted({r["persons"] for r in rows})
    return {"commit": commit, "date": "2026-11-29", "sizes": [
        {"persons": n, "summary": [r for r in rows if r["persons"] == n]} for n in sizes]}


def test_extrapolation_follows_the_line_through_the_sizes(bench) -> None:  # type: ignore[no-untyped-def]
    """Two sizes: each column on the line through them (a fixed part shows); one size: proportional."""
    def cpu(n: int) -> dict[str, float]:
        stages = {"ingest": 1e-4 * n, "join": 2e-4 * n, "rules": 1e-5 * n, "detection": 5e-4 * n + 3,
                  "outputs": 20.0 + 1e-5 * n, "finish": 1.0}
        return stages | {"run": sum(stages.values())}

    two = bench.extrapolate(_report([_row(20_000, "polars", cpu(20_000)), _row(100_000, "polars", cpu(100_000))]))
    at_1m = next(e for e in two if e["persons"] == 1_000_000)
    assert at_1m["method"] == "line through the sizes" and at_1m["sizes"] == [20_000, 100_000]
    for col, v in cpu(1_000_000).items():
        assert at_1m["columns"][col]["cpu_s"] == pytest.approx(v, abs=0.1)
        assert at_1m["columns"][col]["wall_s"] == pytest.approx(2 * v, abs=0.1)
    assert at_1m["dominant"] == "detection"
    assert at_1m["ratio_to_target_cpu_on_2_cores"] == round(cpu(1_000_000)["run"] / 2 / 60, 1)
    (one, _) = bench.extrapolate(_report([_row(100_000, "polars", cpu(100_000))]))
    assert one["method"] == "proportional to the persons"
    assert one["columns"]["outputs"]["cpu_s"] == pytest.approx(10 * cpu(100_000)["outputs"], abs=0.1)


def test_comparison_gives_before_after_and_ratio(bench) -> None:  # type: ignore[no-untyped-def]
    cols = ("ingest", "join", "rules", "detection", "outputs", "finish", "run")
    before = _report([_row(100_000, "polars", dict.fromkeys(cols, 30.0)),
                      _row(100_000, "duckdb", dict.fromkeys(cols, 40.0))], commit="old")
    after = _report([_row(100_000, "polars", dict.fromkeys(cols, 20.0))], commit="new")
    (c,) = bench.compare(after, before)  # only what both measured
    assert (c["persons"], c["backend"], c["baseline_commit"]) == (100_000, "polars", "old")
    assert c["columns"]["run"]["cpu_s"] == {"before": 30.0, "after": 20.0, "ratio": 1.5}
    assert c["columns"]["detection"]["wall_s"] == {"before": 60.0, "after": 40.0, "ratio": 1.5}
    after["comparison"], after["extrapolation"] = [c], bench.extrapolate(after)
    for key in ("load_average_1min_start", "load_average_1min_end", "territory", "peak_method", "machine"):
        after[key] = "x"
    for size in after["sizes"]:
        size["synth"], size["runs"] = {"steps": {}}, []
    text = bench.markdown(after)
    assert "Before (commit old" in text and "30.0 → 20.0 (×1.5)" in text and "| 1,000,000 | polars |" in text
