"""Where the test suite's wall time goes: each pytest-xdist worker's timeline, file by file, and the CPU it used.

Run: ``python benchmarks/suite_timeline.py [--workers 2] [--out FILE] [-- PYTEST ARGS]`` from the project folder →
``benchmarks/results/suite_timeline_<date>.json`` (default), a summary printed.

The README's test command (``pytest -q -n W --dist loadfile``, with ``-p no:cacheprovider`` as a clean checkout has
no cache: the OpenFisca oracle's answers computed again) runs with a small plugin that appends, on each worker, the
time each test finishes. A file's span on its worker runs from the end of the worker's previous test (its fixtures'
setup included, the session's demo builds with them) to the end of its last. What it tells: whether a worker waits
(it ends long before the other, or a file's span holds a wait on another worker's demo build), and which files hold
the time. The CPU seconds are pytest's and every process it started (``RUSAGE_CHILDREN``: workers, the OpenFisca
runner, Spark's JVM); their share of ``workers`` × wall says how much of the machine the suite used: on a saturated
machine only less work shortens it, no reordering nor another worker.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from commits import commit

ROOT = Path(__file__).resolve().parents[1]
LOG_ENV = "NONRECOURS_SUITE_TIMELINE"
PLUGIN = f'''
import os, time

def pytest_runtest_logfinish(nodeid, location):
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        with open(os.environ["{LOG_ENV}"], "a", encoding="utf-8") as f:
            f.write(f"{{worker}} {{time.time():.3f}} {{nodeid}}\\n")
'''


def analyse(lines: list[str], start: float, top: int = 25) -> dict[str, Any]:
    """Each worker's end and number of files, and the files' spans (worker, seconds from the start, seconds),
    longest first, from the plugin's lines ``worker time nodeid`` (in the order written) and the suite's start."""
    last: dict[str, float] = {}
    spans: dict[tuple[str, str], list[float]] = {}
    tests: dict[str, int] = defaultdict(int)
    for line in lines:
        worker, at, node = line.rstrip("\n").split(" ", 2)
        t = float(at)
        key = (worker, node.split("::", 1)[0])
        spans.setdefault(key, [last.get(worker, start), t])[1] = t
        last[worker] = t
        tests[worker] += 1
    end = max(last.values(), default=start)
    workers = {w: {"ends_s": round(t - start, 1), "idle_at_the_end_s": round(end - t, 1), "tests": tests[w],
                   "files": sum(1 for k in spans if k[0] == w)} for w, t in sorted(last.items())}
    files = sorted(({"file": f, "worker": w, "from_s": round(a - start, 1), "seconds": round(b - a, 1)}
                    for (w, f), (a, b) in spans.items()), key=lambda r: -r["seconds"])
    return {"workers": workers, "longest_files": files[:top], "files": len(files)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("pytest_args", nargs="*", help="after --: passed to pytest (default: the whole suite)")
    args = ap.parse_args(argv)
    out = args.out or ROOT / "benchmarks" / "results" / f"suite_timeline_{dt.date.today():%Y-%m-%d}.json"
    with tempfile.TemporaryDirectory(prefix="nonrecours-timeline-") as tmp:
        (Path(tmp) / "_suite_timeline.py").write_text(PLUGIN, encoding="utf-8")
        log = Path(tmp) / "timeline.log"
        # the variables pytest-xdist sets in a worker are not passed on (this bench run from a test, its smoke run):
        # the plugin logs on the workers of the suite it runs only
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}, LOG_ENV: str(log),
               "PYTHONPATH": os.pathsep.join(p for p in (tmp, os.environ.get("PYTHONPATH")) if p)}
        cmd = [sys.executable, "-m", "pytest", "-q", "-n", str(args.workers), "--dist", "loadfile",
               "-p", "no:cacheprovider", "-p", "_suite_timeline", *args.pytest_args]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        load_before = os.getloadavg()[0]
        start = time.time()
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        wall = time.time() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    if done.returncode != 0:
        raise SystemExit(f"pytest exited {done.returncode}:\n" + "\n".join(done.stdout.splitlines()[-15:]))
    if not lines:
        raise SystemExit("no test finished on a worker: is pytest-xdist installed?")
    user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    report = {"commit": commit(changes_in="."), "date": f"{dt.datetime.now():%Y-%m-%d %H:%M}", "command": cmd[1:],
              "workers": args.workers, "cpus": os.cpu_count(), "wall_s": round(wall, 1),
              "cpu_user_s": round(user, 1), "cpu_system_s": round(system, 1),
              "cpu_share_of_workers_x_wall": round((user + system) / (args.workers * wall), 3),
              "load_before": load_before, "load_after": os.getloadavg()[0],
              "summary_line": done.stdout.strip().splitlines()[-1], **analyse(lines, start)}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in report.items() if k != "longest_files"}, indent=2, ensure_ascii=False))
    return report


if __name__ == "__main__":
    main()
