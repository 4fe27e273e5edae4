"""The rules and detection stages of a partitioned run, this tree beside another checkout's ``src``, in one run.

    PYTHONPATH=src python benchmarks/partitioned_stages_bench.py --run DEMO_FOLDER --baseline-src DIR \\
        [--partitions 4] [--backend polars] [--repeat 1] [--out benchmarks/results/partitioned_stages.json]

``--run``: a finished run folder (``nonrecours demo``'s): its run.toml and workspace. Each side runs the two stages
(``run.rules_stage`` then ``run.detection_stage``, as ``nonrecours run`` does, the registered stages given to the
run's context where the checkout knows them) in a child process of its own, on its own copy of the workspace,
with ``--partitions`` parts, each part in a fresh child process (run.toml's default): wall seconds of each stage,
CPU seconds of the process and of its finished children (the parts), the child's peak RSS. Then every file the
stages wrote is compared between the two sides: Parquet row for row, JSON byte for byte. ``--repeat`` pairs run
in alternating order. Why: the partitioned rules stage joined and evaluated every part a second time, which the
detection stage's parts do too (issue 13); this measures what building each part once saves.
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
import tempfile
from pathlib import Path

import polars as pl

from commits import commit

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, os, resource, sys, time
from dataclasses import fields
from pathlib import Path
from nonrecours.config import load_config
from nonrecours.run import RunContext, detection_stage, rules_stage

run, out, parts, backend = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
cfg = load_config(run / "run.toml").model_copy(update={"partitions": parts, "backend": backend, "output": out,
                                                       "spill_dir": out / "spill"})
kw = {}
if "stages" in {f.name for f in fields(RunContext)}:
    kw["stages"] = {"rules": rules_stage, "detection": detection_stage}
ctx = RunContext(cfg, out, None, None, {"parameters": {}}, **kw)

def cpu():
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime

figures = {}
try:
    for name, stage in (("rules", rules_stage), ("detection", detection_stage)):
        w, c = time.perf_counter(), cpu()
        stage(ctx)
        figures[name] = {"wall_s": round(time.perf_counter() - w, 2), "cpu_s": round(cpu() - c, 2)}
finally:
    ctx.close()
figures["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
figures["children_peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
print("FIGURES " + json.dumps(figures))
"""


def _side(src: Path, run: Path, work: Path, parts: int, backend: str) -> dict:
    """One side's two stages in a child process, on a fresh copy of the workspace under ``work``."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    shutil.copytree(run / "workspace", work / "workspace")
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run([sys.executable, "-c", CHILD, str(run), str(work), str(parts), backend], env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{src}: the stages failed:\n{done.stderr[-4000:]}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("FIGURES "))
    return json.loads(line.removeprefix("FIGURES "))


def _files(folder: Path) -> list[Path]:
    return sorted(p.relative_to(folder) for d in ("rules", "detection") for p in (folder / d).rglob("*")
                  if p.is_file())


def _same(a: Path, b: Path) -> dict[str, bool]:
    """Every file of the two sides' stages: Parquet row for row (values and types), the rest byte for byte."""
    names = _files(a)
    if names != _files(b):
        return {"same files": False}
    out = {}
    for p in names:
        if p.suffix == ".parquet":
            out[str(p)] = pl.read_parquet(a / p).equals(pl.read_parquet(b / p))
        else:
            out[str(p)] = (a / p).read_bytes() == (b / p).read_bytes()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", type=Path, required=True, help="a finished run folder: its run.toml and workspace")
    ap.add_argument("--baseline-src", type=Path, required=True, help="another checkout's src folder")
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--backend", default="polars")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--workdir", type=Path, help="keep both sides' folders there (default: a temporary folder)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "partitioned_stages.json")
    a = ap.parse_args()
    if not (a.baseline_src / "nonrecours" / "__init__.py").is_file():  # else the installed package runs silently
        raise SystemExit(f"--baseline-src {a.baseline_src}: no nonrecours package there")
    work = a.workdir or Path(tempfile.mkdtemp(prefix="partitioned-stages-"))
    sides = {"baseline": a.baseline_src.resolve(), "this": (ROOT / "src").resolve()}
    runs = []
    for r in range(a.repeat):
        for code in (("baseline", "this") if r % 2 == 0 else ("this", "baseline")):
            figures = _side(sides[code], a.run.resolve(), work / code, a.partitions, a.backend)
            runs.append({"code": code, "repeat": r, **figures, "load_after": round(os.getloadavg()[0], 2)})
            print(json.dumps(runs[-1]), flush=True)
    same = _same(work / "baseline", work / "this")
    report = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
              "machine": platform.platform(), "cpus": os.cpu_count(), "run": str(a.run),
              "partitions": a.partitions, "backend": a.backend,
              "baseline": {"src": str(sides["baseline"]), "commit": commit(sides["baseline"].parent, short=False)},
              "this": {"commit": commit(short=False)}, "runs": runs, "identical": same,
              "all_identical": bool(same) and all(same.values())}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({"identical": report["all_identical"], "out": str(a.out)}))
    if a.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
