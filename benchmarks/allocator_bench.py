"""Polars' allocator settings for a batch run: the same command under several ``_RJEM_MALLOC_CONF``, alternated.

Run: ``python benchmarks/allocator_bench.py --cwd DIR [--repeats 2] [--confs "500,10000,30000"] -- detect
--workspace W --month 2026-06 --out OUT --config run.toml``. Each setting runs the command (this environment's
``nonrecours``) in a child process, in turn, ``--repeats`` times: wall seconds, user and system CPU seconds and the
child's peak RSS (``os.wait4``), the load before and after. A setting ``N`` is ``dirty_decay_ms:N,muzzy_decay_ms:N``
(``500`` is Polars' own interactive setting: ``dirty_decay_ms:500,muzzy_decay_ms:1000``). The outputs of each run
are hashed file by file and must be identical across settings (an allocator changes no result). Writes
``benchmarks/results/allocator_<date>.json`` and a Markdown table beside it (medians, and each setting's ratio to
Polars' own).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from commits import commit

ROOT = Path(__file__).resolve().parents[1]
POLARS_OWN = "dirty_decay_ms:500,muzzy_decay_ms:1000"


def conf_of(setting: str) -> str:
    """The ``_RJEM_MALLOC_CONF`` of a setting: ``500`` is Polars' own, ``N`` both decays at N ms."""
    return POLARS_OWN if setting == "500" else f"dirty_decay_ms:{setting},muzzy_decay_ms:{setting}"


def _digest(folder: Path) -> dict[str, str]:
    """SHA-256 of every Parquet and JSON file under ``folder`` (a command whose outputs carry times, as ``run``'s
    manifest, cannot be compared this way: use ``detect``, ``rules`` or ``simulate``)."""
    out = {}
    for f in sorted(folder.rglob("*")):
        if f.is_file() and f.suffix in (".parquet", ".json"):
            out[str(f.relative_to(folder))] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def run_once(command: list[str], cwd: Path, out: Path, conf: str) -> dict[str, Any]:
    """One run of ``command`` under ``conf``: wall, user and system seconds, peak RSS (MiB) and the load."""
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "_RJEM_MALLOC_CONF": conf}
    load0 = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed under {conf}:\n{err[-2000:]}")
    return {"conf": conf, "wall_s": round(wall, 2), "user_s": round(usage.ru_utime, 2),
            "system_s": round(usage.ru_stime, 2), "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
            "load_1min_start": round(load0, 2), "load_1min_end": round(os.getloadavg()[0], 2),
            "outputs": _digest(out)}


def _table(settings: list[str], runs: dict[str, list[dict[str, Any]]]) -> list[str]:
    def med(s: str, k: str) -> float:
        return statistics.median(r[k] for r in runs[s])
    base = {k: med("500", k) for k in ("wall_s", "user_s", "system_s", "peak_rss_mib")} if "500" in runs else None
    lines = ["| setting | wall s | user s | system s | CPU s | peak RSS MiB | CPU / Polars' own | peak / Polars' own |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for s in settings:
        cpu = med(s, "user_s") + med(s, "system_s")
        ratio = f"{cpu / (base['user_s'] + base['system_s']):.2f}" if base else "—"
        peak = f"{med(s, 'peak_rss_mib') / base['peak_rss_mib']:.2f}" if base else "—"
        lines.append(f"| `{conf_of(s)}` | {med(s, 'wall_s'):.1f} | {med(s, 'user_s'):.1f} | {med(s, 'system_s'):.1f} "
                     f"| {cpu:.1f} | {med(s, 'peak_rss_mib'):,.0f} | {ratio} | {peak} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cwd", type=Path, required=True, help="folder the command runs in")
    ap.add_argument("--output", type=Path, required=True, help="the command's output folder (hashed, then removed)")
    ap.add_argument("--confs", default="500,10000,30000", help="comma-separated decays in ms (500: Polars' own)")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / f"allocator_{dt.date.today()}.json")
    ap.add_argument("command", nargs=argparse.REMAINDER, help="-- then the nonrecours command's arguments")
    args = ap.parse_args()
    command = [str(Path(sys.executable).parent / "nonrecours"), *[a for a in args.command if a != "--"]]
    settings = args.confs.split(",")
    runs: dict[str, list[dict[str, Any]]] = {s: [] for s in settings}
    output = args.output if args.output.is_absolute() else args.cwd / args.output
    for r in range(args.repeats):
        for s in (settings if r % 2 == 0 else settings[::-1]):
            runs[s].append(run_once(command, args.cwd, output, conf_of(s)))
            print(s, {k: v for k, v in runs[s][-1].items() if k != "outputs"}, flush=True)
    outputs = [r.pop("outputs") for rs in runs.values() for r in rs]
    differ = sorted({f for o in outputs for f in o if len({x.get(f) for x in outputs}) > 1})
    result = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "commit": commit(ROOT, changes_in="src"),
              "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
              "command": ["nonrecours", *command[1:]], "outputs_identical": not differ,
              "outputs_differing": differ, "runs": runs}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    md = [f"# Polars' allocator settings ({result['date']}, commit {result['commit']})", "",
          f"`{' '.join(result['command'])}`, {args.repeats} runs per setting alternated; outputs identical across "
          f"settings: {result['outputs_identical']}.", "", *_table(settings, runs)]
    args.out.with_suffix(".md").write_text("\n".join(md) + "\n", encoding="utf-8")
    print("\n".join(md))
    if not result["outputs_identical"]:
        raise SystemExit(f"the outputs differ between settings: {', '.join(differ)}")


if __name__ == "__main__":
    main()
