"""The outputs stage alone (``nonrecours.outputs.run_stage``: outreach lists, statistics under secrecy, the three
answers, ``report.html``) of an earlier commit beside this tree, back to back on one finished run folder.

Run: ``PYTHONPATH=src nice -n 10 python benchmarks/outputs_stage_bench.py --run DIR --baseline REV
--workdir SCRATCH [--repeat 1] [--out benchmarks/results/outputs_memory_<date>.json]``

- ``--run DIR``: a run folder whose detection stage is done (``detection/YYYY-MM/``, its ``workspace/``,
  run.toml); it is copied once to ``SCRATCH/run`` (never written in place).
- ``--baseline REV``: that commit's ``src`` (``git archive`` into ``SCRATCH/base_src_REV``), run first, then this
  tree's (``--candidate REV``: that commit's instead); ``--repeat N`` alternates the pair N times. Each run is
  its own process (``run(config, stages={"outputs": ...})``): wall and CPU seconds (every thread), peak RSS
  (``pipeline_bench.Meter``: the high-water mark ``VmHWM``), and the same per phase of the stage (``phases``:
  ``build_outreach``, ``unit_profiles``, ``build_statistics``, the writers; a phase's peak is the process's
  whole footprint during it, what it holds plus what the stage held before it).
- Each run starts from the run folder's ``outputs/`` as copied (``SCRATCH/outputs_at_start``: the ablation
  stage's table, read by the outputs stage when enabled), and its whole ``outputs/`` folder is then kept
  (``SCRATCH/outputs_<label>_<i>``); every file of the
  first baseline run is compared with every file of each later run: byte for byte, and a Parquet file that
  differs in bytes row for row. The results file says which files are identical in bytes, in rows, or differ.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import polars as pl

from commits import commit

_CHILD = """
import json, sys
sys.path.insert(0, sys.argv[2])  # this tree's benchmarks/, for pipeline_bench's Meter (both codes measured alike)
from pipeline_bench import Meter
import nonrecours.outputs.stage as stage
from nonrecours.config import load_config
from nonrecours.run import run, STAGES
config = load_config(sys.argv[1])
meter = Meter()
for attr in ("build_outreach", "unit_profiles", "build_statistics", "write_situations", "write_table",
             "write_answers", "write_report"):
    meter.wrap(stage, attr, "outputs/" + attr)
try:
    with meter.measure("outputs"):
        run(config, stages={"outputs": STAGES["outputs"]})
finally:
    meter.close()
steps = meter.report()
whole = steps.pop("outputs")
print(json.dumps({"wall_seconds": round(whole["wall_s"], 2), "cpu_seconds": round(whole["cpu_s"], 2),
                  "peak_rss_mib": round(whole["peak_rss_mib"]), "peak_method": meter.peak_method,
                  "phases": {k.split("/", 1)[1]: {"calls": v["calls"], "wall_s": round(v["wall_s"], 2),
                                                 "cpu_s": round(v["cpu_s"], 2),
                                                 "peak_rss_mib": round(v["peak_rss_mib"])}
                             for k, v in steps.items()}}))
"""


def _baseline_src(rev: str, scratch: Path) -> Path:
    here = Path(__file__).resolve().parents[1]
    dest = scratch / f"base_src_{rev}"
    if not dest.exists():  # extracted aside, then renamed: an interrupted extraction is never taken for a tree
        blob = subprocess.run(["git", "-C", str(here), "archive", rev, "src"], check=True,
                              capture_output=True).stdout
        aside = scratch / f".partial-base_src_{rev}"
        shutil.rmtree(aside, ignore_errors=True)
        with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
            tar.extractall(aside, filter="data")
        aside.rename(dest)
    return dest / "src"


def _child(src: Path, run_dir: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    load = os.getloadavg()[0]
    done = subprocess.run([sys.executable, "-c", _CHILD, str(run_dir / "run.toml"), str(Path(__file__).parent)],
                          check=True,
                          capture_output=True, text=True, env=env)
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "load_before": round(load, 2),
            "load_after": round(os.getloadavg()[0], 2)}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _compare(ref: Path, other: Path) -> dict[str, list[str]]:
    names = sorted({p.relative_to(ref).as_posix() for p in ref.rglob("*") if p.is_file()}
                   | {p.relative_to(other).as_posix() for p in other.rglob("*") if p.is_file()})
    verdict: dict[str, list[str]] = {"bytes": [], "rows": [], "differ": [], "missing": []}
    for name in names:
        a, b = ref / name, other / name
        if not (a.exists() and b.exists()):
            verdict["missing"].append(name)
        elif _digest(a) == _digest(b):
            verdict["bytes"].append(name)
        elif name.endswith(".parquet") and pl.read_parquet(a).equals(pl.read_parquet(b)):
            verdict["rows"].append(name)
        else:
            verdict["differ"].append(name)
    return verdict


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", type=Path, required=True)
    ap.add_argument("--baseline", required=True, help="git revision of the baseline's src")
    ap.add_argument("--candidate", help="git revision to run instead of this tree's src (so that edits made "
                    "meanwhile do not enter the run)")
    ap.add_argument("--workdir", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--sides", default="baseline,this",
                    help="which codes to run; one side alone leaves its outputs for --compare-with")
    ap.add_argument("--compare-with", type=Path, help="an outputs folder kept by another run of this script")
    ap.add_argument("--label", default="")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    run_dir = args.workdir / "run"
    if not run_dir.exists():
        shutil.copytree(args.run, run_dir, symlinks=True)
    # every run starts from the run folder's outputs as they were (the ablation stage's answer1_exchange_value,
    # which the outputs stage reads when run.toml enables it)
    start = args.workdir / "outputs_at_start"
    if not start.exists():
        shutil.copytree(run_dir / "outputs", start) if (run_dir / "outputs").exists() else start.mkdir()
    here = Path(__file__).resolve().parents[1]
    srcs = {"baseline": _baseline_src(args.baseline, args.workdir),
            "this": _baseline_src(args.candidate, args.workdir) if args.candidate else here / "src"}
    head = args.candidate or commit(here)
    runs = []
    kept: list[Path] = []
    for i in range(args.repeat):
        for label in [s for s in ("baseline", "this") if s in args.sides.split(",")]:
            shutil.rmtree(run_dir / "outputs", ignore_errors=True)
            shutil.copytree(start, run_dir / "outputs")
            figures = _child(srcs[label], run_dir)
            keep = args.workdir / f"outputs_{label}_{i}"
            shutil.rmtree(keep, ignore_errors=True)
            (run_dir / "outputs").rename(keep)
            kept.append(keep)
            runs.append({"code": label, "repeat": i, **figures})
            print(json.dumps(runs[-1]), file=sys.stderr, flush=True)
    if args.compare_with:
        kept.insert(0, args.compare_with)
    comparisons = {k.name: _compare(kept[0], k) for k in kept[1:]}
    summary = {k: {v: len(files) for v, files in c.items()} | {"differ_files": c["differ"],
                                                                    "missing_files": c["missing"]}
               for k, c in comparisons.items()}
    result = {"label": args.label, "run": str(args.run), "baseline": args.baseline, "this": head,
              "python": platform.python_version(), "polars": pl.__version__, "cpus": os.cpu_count(),
              "runs": runs, "compared_with": str(kept[0]), "comparison": summary,
              "rows_identical_files": {k: c["rows"] for k, c in comparisons.items()}}
    text = json.dumps(result, indent=2, ensure_ascii=False)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
