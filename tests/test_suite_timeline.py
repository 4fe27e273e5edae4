"""The suite-timeline bench (benchmarks/suite_timeline.py): its reading of the workers' lines, and a smoke run on two
small test files. No timing assertion (shared machines): only that each figure is there and consistent."""

from __future__ import annotations

import json
from types import ModuleType

from tests.benches import load_bench


def _bench() -> ModuleType:
    return load_bench("suite_timeline")


def test_spans_run_from_the_workers_previous_test_and_idle_is_counted_at_the_end() -> None:
    lines = ["gw0 105.0 tests/a.py::t1", "gw1 101.0 tests/b.py::t1", "gw0 130.0 tests/a.py::t2[x y]",
             "gw1 140.0 tests/c.py::t1", "gw0 131.0 tests/d.py::t1"]
    got = _bench().analyse(lines, start=100.0)
    assert got["workers"] == {"gw0": {"ends_s": 31.0, "idle_at_the_end_s": 9.0, "tests": 3, "files": 2},
                              "gw1": {"ends_s": 40.0, "idle_at_the_end_s": 0.0, "tests": 2, "files": 2}}
    assert got["files"] == 4
    assert got["longest_files"] == [
        {"file": "tests/c.py", "worker": "gw1", "from_s": 1.0, "seconds": 39.0},
        {"file": "tests/a.py", "worker": "gw0", "from_s": 0.0, "seconds": 30.0},
        {"file": "tests/b.py", "worker": "gw1", "from_s": 0.0, "seconds": 1.0},
        {"file": "tests/d.py", "worker": "gw0", "from_s": 30.0, "seconds": 1.0}]


def test_smoke_run_on_two_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "timeline.json"
    files = ["tests/test_atomic.py", "tests/test_config.py"]
    report = _bench().main(["--out", str(out), "--", *files])
    assert json.loads(out.read_text(encoding="utf-8")) == report
    assert set(report["workers"]) == {"gw0", "gw1"}
    assert sum(w["tests"] for w in report["workers"].values()) == int(report["summary_line"].split()[0])
    assert {f["file"] for f in report["longest_files"]} == set(files)
    assert all(0 <= w["ends_s"] <= report["wall_s"] for w in report["workers"].values())
    assert report["cpu_user_s"] > 0 and report["cpu_share_of_workers_x_wall"] > 0
