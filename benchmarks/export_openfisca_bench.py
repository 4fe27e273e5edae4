"""Detection's OpenFisca export (``flagged_situations``): this tree beside an earlier revision, same inputs.

    PYTHONPATH=src python benchmarks/export_openfisca_bench.py --persons 20000 [--baseline b12124e] [--repeat 3]
    PYTHONPATH=src python benchmarks/export_openfisca_bench.py --frames DIR ...

``--persons`` runs ``nonrecours demo`` on a fresh territory and keeps, instead of finishing the run, the engine
input frames and the flags detection hands to ``flagged_situations`` (``DIR/frames``: one Parquet file per frame,
``flags.parquet``, ``month.txt``); ``--frames`` reuses such a folder. Each implementation then runs ``--repeat``
times in this process (alternating; the best wall time and the best CPU time kept); the tables they return must
be equal, byte for byte (the script fails otherwise). The baseline is the module as it was at ``--baseline``
(``git show``), loaded beside this tree's. Results: a JSON entry appended to ``results/export_openfisca.json``
and a Markdown line printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from commits import commit

ROOT = Path(__file__).resolve().parents[1]
MODULE = "src/nonrecours/simulation/export_openfisca.py"
FRAMES = ("individu", "individu_monthly", "famille", "famille_monthly", "foyer_fiscal", "menage")


class _Captured(Exception):
    """Raised by the patched export once the frames are written: the rest of the run is not needed."""


def capture(persons: int, seed: int, out: Path) -> Path:
    """Run the demo of ``persons`` until detection calls the export; write what it was given under ``out/frames``."""
    import nonrecours.simulation.export_openfisca as export
    from nonrecours.cli import app

    frames_dir = out / "frames"

    def keep(inputs, month, flags):  # type: ignore[no-untyped-def]
        frames_dir.mkdir(parents=True, exist_ok=True)
        for name in FRAMES:
            frame = getattr(inputs, name, None)
            if frame is not None:
                frame.write_parquet(frames_dir / f"{name}.parquet")
        flags.select("claimant_id").write_parquet(frames_dir / "flags.parquet")
        (frames_dir / "month.txt").write_text(month.isoformat())
        raise _Captured

    real, export.flagged_situations = export.flagged_situations, keep
    try:
        app(["demo", "--out", str(out / "run"), "--persons", str(persons), "--seed", str(seed)], standalone_mode=False)
    except _Captured:
        pass
    finally:
        export.flagged_situations = real
    if not (frames_dir / "month.txt").exists():
        raise SystemExit("the demo finished without calling flagged_situations (no flag?)")
    return frames_dir


def load(frames_dir: Path) -> tuple[dict[str, pl.DataFrame], pl.DataFrame, dt.date]:
    frames = {p.stem: pl.read_parquet(p) for p in frames_dir.glob("*.parquet") if p.stem != "flags"}
    return frames, pl.read_parquet(frames_dir / "flags.parquet"), dt.date.fromisoformat(
        (frames_dir / "month.txt").read_text())


def baseline_module(rev: str):  # type: ignore[no-untyped-def]
    """The export module as it was at ``rev``, imported under another name (its imports resolve to this tree)."""
    text = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{MODULE}"], check=True, capture_output=True,
                          text=True).stdout
    path = Path(tempfile.mkdtemp()) / "export_openfisca_baseline.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("export_openfisca_baseline", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--persons", type=int, help="build a demo territory of this size and capture its frames")
    src.add_argument("--frames", type=Path, help="a folder of frames written by an earlier --persons run")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, help="where --persons writes (default: a temporary folder)")
    ap.add_argument("--baseline", default="b12124e", help="git revision of the implementation compared with")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--label", default="")
    args = ap.parse_args()

    import nonrecours.simulation.export_openfisca as current

    frames_dir = args.frames or capture(args.persons, args.seed, args.out or Path(tempfile.mkdtemp()))
    frames, flags, month = load(frames_dir)
    implementations = {"baseline": baseline_module(args.baseline).flagged_situations,
                       "current": current.flagged_situations}
    best = dict.fromkeys(implementations, float("inf"))
    cpu = dict.fromkeys(implementations, float("inf"))
    results = {}
    for _ in range(args.repeat):
        for name, fn in implementations.items():
            t0, c0 = time.perf_counter(), time.process_time()
            results[name] = fn(frames, month, flags)
            best[name] = min(best[name], time.perf_counter() - t0)
            cpu[name] = min(cpu[name], time.process_time() - c0)
    identical = results["baseline"].equals(results["current"])
    if not identical:
        raise SystemExit("the two implementations disagree on these frames")
    persons = frames["individu"].height
    entry = {"label": args.label, "date": dt.date.today().isoformat(), "baseline": args.baseline,
             "commit": commit(),
             "persons_in_month": persons, "flags": flags.height, "situations": results["current"].height,
             "json_bytes": int(results["current"].get_column("situation").str.len_bytes().sum()),
             "baseline_s": round(best["baseline"], 3), "current_s": round(best["current"], 3),
             "ratio": round(best["baseline"] / best["current"], 2), "baseline_cpu_s": round(cpu["baseline"], 3),
             "current_cpu_s": round(cpu["current"], 3), "identical": identical, "repeat": args.repeat,
             "load_average": [round(x, 1) for x in os.getloadavg()]}
    out = ROOT / "benchmarks" / "results" / "export_openfisca.json"
    previous = json.loads(out.read_text()) if out.exists() else []
    out.write_text(json.dumps([*previous, entry], indent=1) + "\n")
    print(f"| {persons:,} | {flags.height:,} | {entry['situations']:,} | {entry['baseline_s']:.2f} | "
          f"{entry['current_s']:.2f} | ×{entry['ratio']} | {entry['baseline_cpu_s']:.2f} | "
          f"{entry['current_cpu_s']:.2f} | "
          f"{'identical' if identical else 'DIFFERENT'} |")


if __name__ == "__main__":
    main()
