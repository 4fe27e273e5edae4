"""Detection benchmark: ``nonrecours detect`` on an ingested workspace, on both backends, or this tree beside an
earlier commit.

Run: ``python benchmarks/detect_bench.py --workspace DIR --month 2026-06 [--out benchmarks/results/detect.json]``
(a workspace from ``nonrecours demo --persons N --out D``: ``D/workspace``). Each run is its own process, so that
its peak memory (``ru_maxrss`` of the child) is its own; wall-clock and CPU time are measured there too, for the
join of the month (``build_month``) and for detection on it (``detect`` and the writing, as the run's detection
stage does with the rules stage's core).

- Backends (default): the flags of Polars and DuckDB are compared.
- ``--baseline REV`` (a git revision, e.g. ``a433af7``): that commit's ``src`` (a detached git worktree in a
  temporary folder) and this tree's, back to back on ``--backends`` (default polars), alternating ``--repeat``
  times; ``flags.parquet`` and ``units.parquet`` of the two are compared row for row (sorted on their key) and
  must be identical. ``--stack-rows N`` sets the engine's ``STACK_ROWS`` to N in both children: the stacking of
  a territory ``250000 / N`` times larger, on this one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

_CHILD = """
import importlib, os, resource, sys, time
from nonrecours.config import parse_month
if os.environ.get("DETECT_BENCH_STACK_ROWS"):  # --stack-rows: the engine's stacking limit, in both codes
    importlib.import_module("nonrecours.engine.evaluate").STACK_ROWS = int(os.environ["DETECT_BENCH_STACK_ROWS"])
from nonrecours.detection.detect import core_month, read_workspace, run_detect
month = parse_month(sys.argv[2])
t, c = time.perf_counter(), time.process_time()
core = core_month(read_workspace(sys.argv[1]), month)
t1, c1 = time.perf_counter(), time.process_time()
run, _ = run_detect(sys.argv[1], month, sys.argv[3], backend=sys.argv[4], core=core)
t2, c2 = time.perf_counter(), time.process_time()
print(t1 - t, c1 - c, t2 - t1, c2 - c1, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, run.summary["persons"])
"""

_KEY = ["unit_kind", "unit_id", "benefit"]


def _child(src: Path, workspace: Path, month: str, out: Path, backend: str,
           stack_rows: int | None = None) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    if stack_rows:
        env["DETECT_BENCH_STACK_ROWS"] = str(stack_rows)
    done = subprocess.run([sys.executable, "-c", _CHILD, str(workspace), month, str(out), backend],
                          check=True, capture_output=True, text=True, env=env)
    join_s, join_cpu, det_s, det_cpu, rss_kb, persons = done.stdout.split()[-6:]
    return {"join_seconds": round(float(join_s), 2), "join_cpu_seconds": round(float(join_cpu), 2),
            "detect_seconds": round(float(det_s), 2), "detect_cpu_seconds": round(float(det_cpu), 2),
            "peak_rss_mb": round(int(rss_kb) / 1024), "persons": int(persons), "load_after": os.getloadavg()[0]}


def _same(a: Path, b: Path, name: str, *, exact: bool = True) -> bool:
    x = pl.read_parquet(a / f"{name}.parquet").sort(_KEY)
    y = pl.read_parquet(b / f"{name}.parquet").sort(_KEY)
    try:  # across backends, amounts agree to a millionth of a euro (float sums in another order)
        assert_frame_equal(x, y, check_exact=exact, **({} if exact else {"abs_tol": 1e-6}))
    except AssertionError:
        return False
    return True


def _baseline(args: argparse.Namespace, tmp: Path) -> dict[str, object]:
    here = Path(__file__).resolve().parents[1]
    rev, head = _rev(here, args.baseline), _rev(here, "HEAD")  # None outside a git checkout (a src copy)
    base = tmp / "baseline"
    if args.baseline_src is None:
        subprocess.run(["git", "-C", str(here), "worktree", "add", "--detach", str(base), rev], check=True,
                       capture_output=True)
    try:
        srcs = {"baseline": args.baseline_src or base / "src", "this": here / "src"}
        results: dict[str, object] = {"machine": platform.platform(), "month": args.month, "baseline": rev,
                                      "this": head, "workspace": str(args.workspace), "runs": [],
                                      "stack_rows": args.stack_rows}
        for backend in args.backends.split(","):
            for k in range(args.repeat):
                order = ("baseline", "this") if k % 2 == 0 else ("this", "baseline")
                for name in order:
                    out = tmp / f"{name}-{backend}-{k}"
                    row = {"code": name, "backend": backend, "repeat": k,
                           **_child(srcs[name], args.workspace, args.month, out, backend, args.stack_rows)}
                    print(json.dumps(row), flush=True)
                    results["runs"].append(row)  # type: ignore[attr-defined]
                a, b = tmp / f"baseline-{backend}-{k}", tmp / f"this-{backend}-{k}"
                results.setdefault("identical", {})[f"{backend}-{k}"] = {  # type: ignore[index]
                    **{n: _same(a, b, n) for n in ("flags", "units")}, **_same_others(a, b)}
                results["flags"] = pl.scan_parquet(b / "flags.parquet").select(pl.len()).collect().item()
                results["units"] = pl.scan_parquet(b / "units.parquet").select(pl.len()).collect().item()
        return results
    finally:
        if args.baseline_src is None:
            subprocess.run(["git", "-C", str(here), "worktree", "remove", "--force", str(base)], check=False,
                           capture_output=True)


def _rev(here: Path, rev: str) -> str | None:
    done = subprocess.run(["git", "-C", str(here), "rev-parse", rev], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


def _same_others(a: Path, b: Path) -> dict[str, bool]:
    """summary.json parsed and equal, every other Parquet output of the two folders equal row for row (the
    rows sorted on every column: those files are written sorted on their key, which may leave ties)."""
    out = {"summary": json.loads((a / "summary.json").read_text()) == json.loads((b / "summary.json").read_text())}
    for path in sorted(a.glob("*.parquet")):
        if path.stem in ("flags", "units"):
            continue
        x, y = pl.read_parquet(path), pl.read_parquet(b / path.name)
        try:
            cols = [c for c, t in x.schema.items() if not isinstance(t, pl.List | pl.Struct | pl.Array)]
            assert_frame_equal(x.sort(cols, nulls_last=True), y.sort(cols, nulls_last=True), check_exact=True)
            out[path.stem] = True
        except AssertionError:
            out[path.stem] = False
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workspace", type=Path, required=True)
    ap.add_argument("--month", default="2026-06")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--baseline", default=None, help="a git revision run beside this tree")
    ap.add_argument("--baseline-src", type=Path, default=None,
                    help="with --baseline: that revision's src folder already extracted (git archive REV src), used "
                         "instead of a git worktree")
    ap.add_argument("--workdir", type=Path, default=None, help="keep the runs' outputs there (default: a temporary "
                                                               "folder, removed)")
    ap.add_argument("--backends", default="polars", help="with --baseline: comma-separated backends")
    ap.add_argument("--repeat", type=int, default=1, help="with --baseline: pairs run, in alternating order")
    ap.add_argument("--stack-rows", type=int, default=None,
                    help="with --baseline: the engine's STACK_ROWS in both runs (a smaller territory in the stacking "
                         "regime of a larger one: 50000 at 20,000 persons is 250000 at 100,000)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.workdir:
            tmp = str(args.workdir)
            args.workdir.mkdir(parents=True, exist_ok=True)
        if args.baseline:
            results = _baseline(args, Path(tmp))
        else:
            src = Path(__file__).resolve().parents[1] / "src"
            results = {"machine": platform.platform(), "month": args.month, "backends": {}}
            for backend in ("polars", "duckdb"):
                row = _child(src, args.workspace, args.month, Path(tmp) / backend, backend)
                results["persons"] = row.pop("persons")
                results["backends"][backend] = row  # type: ignore[index]
            results["same_flags"] = _same(Path(tmp) / "polars", Path(tmp) / "duckdb", "flags", exact=False)
            results["flags"] = pl.read_parquet(Path(tmp) / "polars" / "flags.parquet").height
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
