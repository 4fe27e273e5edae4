"""Synth speed before and after a change, in one run: the same territories built by two commits, compared file by file.

Run: PYTHONPATH=src python benchmarks/synth_speed_bench.py --persons 5000,20000 --baseline b12124e [--label NAME]

For each size, ``synth`` builds the territory as ``nonrecours demo`` and ``pipeline_bench.py`` do (``generate``
with the tax window, then ``write_extracts`` with the rules' take-up and 13 months), once with the sources of
``--baseline`` (``git archive`` of its ``src``) and once with this checkout's, each in a fresh child process
(wall and CPU seconds, children included, and peak RSS are that build's own). Then every file of the two folders
is hashed: equal files are byte-identical; a differing file is compared again as a multiset of rows (Parquet: the
frame sorted on every column; text: the sorted lines), which tells a changed row order from changed content.
Writes ``results/synth_speed_<label>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from commits import commit

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results"

_CHILD = """
import json, resource, sys, time
from pathlib import Path
from nonrecours.synth import DEFAULT_END_MONTH, generate, tax_window
from nonrecours.synth.extracts import Noise, write_extracts
persons, seed, out = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
def cpu():
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime
t0, c0 = time.perf_counter(), cpu()
generate(persons, seed, out, territory="cahors", months=tax_window(DEFAULT_END_MONTH))
t1, c1 = time.perf_counter(), cpu()
write_extracts(out / "truth", out / "extracts", seed=seed, entitlements="rules", noise=Noise(months=13))
t2, c2 = time.perf_counter(), cpu()
print(json.dumps({"wall_s": t2 - t0, "cpu_s": c2 - c0, "truth_wall_s": t1 - t0, "truth_cpu_s": c1 - c0,
                  "extracts_wall_s": t2 - t1, "extracts_cpu_s": c2 - c1,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "peak_rss_mib_largest_worker": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def _build(src: Path, persons: int, seed: int, out: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src)}
    load = os.getloadavg()[0]
    done = subprocess.run([sys.executable, "-c", _CHILD, str(persons), str(seed), str(out)], env=env, check=True,
                          capture_output=True, text=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return figures | {"persons_per_s": persons / figures["wall_s"], "persons_per_cpu_s": persons / figures["cpu_s"],
                      "load_1min_start": load, "load_1min_end": os.getloadavg()[0]}


def _rows(path: Path) -> object:
    if path.suffix == ".parquet":
        frame = pl.read_parquet(path)
        return frame.sort(frame.columns, nulls_last=True)
    return sorted(path.read_bytes().splitlines())


def compare(a: Path, b: Path) -> dict:
    """Every file of two territories: byte-identical, or else the same rows in another order, or different."""
    names = sorted({p.relative_to(a) for p in a.rglob("*") if p.is_file()}
                   | {p.relative_to(b) for p in b.rglob("*") if p.is_file()})
    files = {}
    for name in names:
        pa, pb = a / name, b / name
        if not (pa.exists() and pb.exists()):
            files[str(name)] = "missing in " + ("before" if not pa.exists() else "after")
            continue
        if hashlib.sha256(pa.read_bytes()).digest() == hashlib.sha256(pb.read_bytes()).digest():
            files[str(name)] = "identical"
            continue
        ra, rb = _rows(pa), _rows(pb)
        same = ra.equals(rb) if isinstance(ra, pl.DataFrame) else ra == rb
        files[str(name)] = "same rows, other order" if same else "different"
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", default="5000,20000")
    parser.add_argument("--baseline", required=True, help="git revision whose sources are measured first")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--label", default=time.strftime("%Y-%m-%d"))
    args = parser.parse_args()
    sizes = [int(x) for x in args.persons.split(",")]
    head = commit()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        base_src = Path(tmp, "baseline")
        base_src.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.baseline, "src"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(base_src)], input=archive, check=True)
        for n in sizes:
            before = _build(base_src / "src", n, args.seed, Path(tmp, f"before_{n}"))
            after = _build(ROOT / "src", n, args.seed, Path(tmp, f"after_{n}"))
            files = compare(Path(tmp, f"before_{n}"), Path(tmp, f"after_{n}"))
            run = {"persons": n, "before": before, "after": after,
                   "ratio_cpu": before["cpu_s"] / after["cpu_s"], "ratio_wall": before["wall_s"] / after["wall_s"],
                   "files": files, "identical": all(v == "identical" for v in files.values())}
            runs.append(run)
            print(json.dumps({k: v for k, v in run.items() if k != "files"}), flush=True)
    result = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": platform.machine(), "cpus": os.cpu_count(),
              "python": platform.python_version(), "polars": pl.__version__, "baseline": args.baseline,
              "after": head, "seed": args.seed, "runs": runs}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"synth_speed_{args.label}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (RESULTS / f"synth_speed_{args.label}.md").write_text(render(result), encoding="utf-8")


def render(result: dict) -> str:
    lines = [f"# Synth speed: {result['baseline']} → {result['after']} ({result['date']}, seed {result['seed']})", "",
             "Territory as `nonrecours demo` builds it (truth, then the seven extracts with the rules' take-up, 13 "
             "months); each build a fresh process; CPU seconds include worker processes.", "",
             "| persons | build | wall s | CPU s | persons / CPU s | extracts CPU s | peak RSS MiB | load |",
             "|---:|---|---:|---:|---:|---:|---:|---|"]
    for r in result["runs"]:
        for side in ("before", "after"):
            f = r[side]
            lines.append(f"| {r['persons']:,} | {side} | {f['wall_s']:.1f} | {f['cpu_s']:.1f} | "
                         f"{f['persons_per_cpu_s']:.0f} | {f['extracts_cpu_s']:.1f} | {f['peak_rss_mib']:.0f} | "
                         f"{f['load_1min_start']:.1f}–{f['load_1min_end']:.1f} |")
        lines.append(f"| | ratio | ×{r['ratio_wall']:.2f} | ×{r['ratio_cpu']:.2f} | | | | |")
    lines += ["", "Files compared (before vs after, same seed):", ""]
    for r in result["runs"]:
        kinds: dict[str, list[str]] = {}
        for name, verdict in r["files"].items():
            kinds.setdefault(verdict, []).append(name)
        lines.append(f"- {r['persons']:,} persons: " + "; ".join(
            f"{verdict}: {len(names)}" + ("" if verdict == "identical" else f" ({', '.join(names)})")
            for verdict, names in sorted(kinds.items())))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
