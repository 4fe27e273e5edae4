"""The merge of a partitioned detection's parts, before and after issue 13: peak memory, wall and CPU, and the
merged files compared row for row.

Run: ``python benchmarks/detect_merge_bench.py --parts DIR [--parts DIR ...] --work DIR
--result benchmarks/results/detect_merge_memory_<date>.json``

Each ``--parts`` is a partitioned run's parts folder (``detection-YYYY-MM/<output>/<part>.parquet``), as
``detect_scale_bench.py --keep-parts`` copies it before the merge. Each way of merging runs alone in a fresh
child process (its peak RSS is its own: ``VmHWM``, with ``ru_maxrss`` beside it), on the same files, one after
the other:

- ``eager``: the merge up to 34261ed, quoted here as it was in ``detection.detect._run_partitioned``: every part
  of an output read back (``pl.read_parquet``), sorted in memory, written by Polars, the merged ``flags`` and
  ``units`` kept for the returned ``Detection``;
- ``streamed``: ``detection.detect._merge_outputs`` (``core.partition.merge_parts``: range by range, each range's
  slices of the parts sorted by Polars into a chunk, the chunks copied into the file by DuckDB, its memory limit
  ``MERGE_MEMORY_LIMIT`` unless ``--memory-limit``), the returned ``Detection`` holding lazy scans.

``--base SRC``: another tree's ``src`` folder (a git worktree of an earlier commit): its streamed merge runs too,
on the same files, after this tree's, and the two merges' files are compared row for row (``streamed_base``,
``comparison_base``).

``--tile K``: the parts of a run on K times the population, without running it: each part file replaced by K
copies of itself, the ids of copy c retagged as ``tile_workspace.py`` tiles a workspace (what a partitioned run
on the tiled workspace writes in its parts, each copy's households in the same part), sorted as ``_outputs``
sorts them. ``--only streamed``: the eager merge not run (its peak grows with the population: 12.3 GiB at
1,000,000 persons, beyond what a shared machine allows).

Then every output of the two is compared (``polars.testing.assert_frame_equal``, exact): the same rows, in the
same order, with the same types. No timing assertion anywhere; a shared machine: the load is recorded.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl

from commits import commit

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, os, resource, sys, time
from pathlib import Path
import polars as pl

how, parts, out, limit = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]


def status_kib(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return None


rss0 = status_kib("VmRSS")
w0, c0 = time.perf_counter(), time.process_time()
if how == "eager":  # detection.detect._run_partitioned's merge at 34261ed, as it was
    from nonrecours.atomic import write_parquet
    from nonrecours.detection.detect import _SORTS

    merged = {}
    for name, (key, nulls_last) in _SORTS.items():
        frame = pl.read_parquet(sorted((parts / name).glob("*.parquet"))).sort(key, nulls_last=nulls_last)
        write_parquet(out / f"{name}.parquet", frame)
        if name in ("flags", "units"):
            merged[name] = frame
        del frame
    held = {k: v.height for k, v in merged.items()}
else:
    import importlib

    det = importlib.import_module("nonrecours.detection.detect")  # the module, not the function of that name

    paths = det._merge_outputs(parts, out, {"memory_limit": limit} if limit else None)
    merged = {k: pl.scan_parquet(paths[k]) for k in ("flags", "units")}
    held = {k: v.select(pl.len()).collect().item() for k, v in merged.items()}
print("RESULT " + json.dumps({
    "wall_s": round(time.perf_counter() - w0, 2), "cpu_s": round(time.process_time() - c0, 2),
    "peak_rss_mib": round(status_kib("VmHWM") / 1024, 1),
    "ru_maxrss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    "rss_before_mib": round(rss0 / 1024, 1), "rows": held}))
"""


def _merge(how: str, parts: Path, out: Path, limit: str, src: Path = ROOT / "src") -> dict[str, Any]:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")])}
    load = os.getloadavg()[0]
    done = subprocess.run([sys.executable, "-c", _CHILD, how, str(parts), str(out), limit], env=env,
                          capture_output=True, text=True)
    if done.returncode:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"the {how} merge failed ({done.returncode})")
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT "):]) | {"load_1min_start": round(load, 2),
                                                 "load_1min_end": round(os.getloadavg()[0], 2)}


def _tile(parts: Path, copies: int, to: Path) -> Path:
    """``parts`` with each part file replaced by ``copies`` retagged copies of its rows, sorted as before."""
    sys.path.insert(0, str(ROOT / "src"))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from detect_scale_bench import retagged
    from nonrecours.detection.detect import _SORTS

    shutil.rmtree(to, ignore_errors=True)
    for name, (key, nulls_last) in _SORTS.items():
        (to / name).mkdir(parents=True)
        for f in sorted((parts / name).glob("*.parquet")):
            frame = pl.read_parquet(f)
            pl.concat([retagged(frame, c) for c in range(copies)]).sort(key, nulls_last=nulls_last).write_parquet(
                to / name / f.name)
    return to


def _compare(a: Path, b: Path) -> dict[str, Any]:
    from polars.testing import assert_frame_equal

    out: dict[str, Any] = {}
    for f in sorted(a.glob("*.parquet")):
        x, y = pl.read_parquet(f), pl.read_parquet(b / f.name)
        try:
            assert_frame_equal(x, y, check_exact=True)
            out[f.stem] = {"rows": x.height, "identical_rows": True}
        except AssertionError as exc:
            out[f.stem] = {"rows": x.height, "identical_rows": False, "difference": str(exc).splitlines()[0][:300]}
        del x, y
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", type=Path, action="append", required=True, help="a kept parts folder")
    ap.add_argument("--work", type=Path, required=True, help="where the merged files are written")
    ap.add_argument("--result", type=Path, required=True)
    ap.add_argument("--memory-limit", default="", help="DuckDB's memory limit for the streamed merge")
    ap.add_argument("--tile", type=int, default=1, help="the parts of a run on K times the population")
    ap.add_argument("--only", choices=["eager", "streamed"], help="run one way only")
    ap.add_argument("--base", type=Path, help="another tree's src folder (e.g. a git worktree of an earlier "
                    "commit): its streamed merge run too, on the same files, and compared with this tree's")
    ap.add_argument("--label", default="")
    args = ap.parse_args(argv)
    report: dict[str, Any] = {
        "benchmark": "merge of a partitioned detection's parts (benchmarks/detect_merge_bench.py)",
        "label": args.label, "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "commit": commit(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
                   f"Polars {pl.__version__}",
        "memory_limit": args.memory_limit or "MERGE_MEMORY_LIMIT", "runs": {}}
    report["tile"] = args.tile
    for source in args.parts:
        parts = source if args.tile == 1 else _tile(source, args.tile, args.work / f"{source.name}-x{args.tile}")
        entry: dict[str, Any] = {"parts": str(source), "tile": args.tile,
                                 "part_files": len(list((parts / "flags").glob("*.parquet"))),
                                 "parts_mib": round(sum(f.stat().st_size for f in parts.rglob("*.parquet")) / 2**20, 1)}
        for how in ("eager", "streamed"):
            if args.only in (None, how):
                entry[how] = _merge(how, parts, args.work / parts.name / how, args.memory_limit)
        if args.base is not None:
            entry["base"] = {"src": str(args.base), "commit": commit(args.base)}
            entry["streamed_base"] = _merge("streamed", parts, args.work / parts.name / "streamed-base",
                                            args.memory_limit, args.base)
            entry["comparison_base"] = _compare(args.work / parts.name / "streamed-base",
                                                args.work / parts.name / "streamed")
        if args.only is None:
            entry["comparison"] = _compare(args.work / parts.name / "eager", args.work / parts.name / "streamed")
        entry["rows"] = {n: pl.scan_parquet(args.work / parts.name / (args.only or "streamed") / f"{n}.parquet")
                         .select(pl.len()).collect().item() for n in ("flags", "units", "provenance")}
        report["runs"][parts.name] = entry
        print(json.dumps({parts.name: entry}, indent=2))
    args.result.parent.mkdir(parents=True, exist_ok=True)
    args.result.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return report


if __name__ == "__main__":
    main()
