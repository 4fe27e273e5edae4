"""Detection quality: precision and recall of the flags against the synthetic truth, per benefit and grade.

Run: ``python benchmarks/detection_quality.py --persons 20000 --seed 1 --label "what changed"`` (runs
``nonrecours demo`` in a temporary folder) or ``--run DIR`` (a finished demo folder: its
``evaluation/<month>/evaluation.json``). The measurement is appended to the ``history`` of
``benchmarks/results/detection_quality.json`` (same seed and size for every entry, so the entries compare);
``latest`` is the last one. Figures per benefit: flags and precision/recall of certain+probable flags, precision
of certain flags, possible flags, true and estimated non-take-up rates, coherence, and why the true cases are
missed and what the false alarms are.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "detection_quality.json"


def _pct(v: float | None) -> float | None:
    return None if v is None else round(100 * v, 1)


def summarise(evaluation: dict[str, Any]) -> dict[str, Any]:
    """The figures a reader compares, per benefit, from an ``evaluation.json``."""
    out: dict[str, Any] = {}
    for b, r in evaluation["benefits"].items():
        cp, cert, pos = r["grades"]["certain+probable"], r["grades"]["certain"], r["grades"]["possible"]
        out[b] = {
            "flags_cp": cp["flags"], "precision_cp": _pct(cp["precision"]), "recall_cp": _pct(cp["recall"]),
            "precision_certain": _pct(cert["precision"]), "flags_possible": pos["flags"],
            "precision_all": _pct(r["grades"]["all"]["precision"]), "recall_all": _pct(r["grades"]["all"]["recall"]),
            "true_non_take_up": r["true_non_take_up"], "true_rate": _pct(r["true_rate"]),
            "estimated_rate": _pct(r["estimated_rate"]), "coherence": _pct(r["coherence"]),
            "misses": r["misses"], "false_alarms": r["false_alarms"],
        }
    return out


def _demo(persons: int, seed: int, out: Path, without: list[str]) -> None:
    cmd = [sys.executable, "-c", "from nonrecours.cli import app; app()", "demo", "--out", str(out),
           "--persons", str(persons), "--seed", str(seed)]
    for agency in without:
        cmd += ["--without", agency]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--run", type=Path, default=None, help="a finished demo folder (else the demo is run)")
    ap.add_argument("--label", required=True, help="what this measurement is (the change it follows)")
    ap.add_argument("--commit", default=None)
    ap.add_argument("--without", action="append", default=[],
                    help="an agency's extract left out of the run (repeatable; e.g. drm)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = args.run
        if run is None:
            run = Path(tmp) / "demo"
            _demo(args.persons, args.seed, run, args.without)
        files = sorted((run / "evaluation").glob("*/evaluation.json"))
        if not files:
            raise SystemExit(f"no evaluation/*/evaluation.json under {run}")
        evaluation = json.loads(files[-1].read_text(encoding="utf-8"))
        manifest = json.loads((run / "truth" / "manifest.json").read_text(encoding="utf-8"))
    entry = {"label": args.label, "commit": args.commit, "month": evaluation["month"],
             "backend": evaluation.get("backend"), "persons": manifest.get("persons", args.persons),
             "seed": manifest.get("seed", args.seed), "without": args.without, "benefits": summarise(evaluation)}
    data = json.loads(args.out.read_text(encoding="utf-8")) if args.out.exists() else {"history": []}
    data["history"].append(entry)
    data["latest"] = entry
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    for b, r in entry["benefits"].items():
        print(f"{b:18} precision c+p {r['precision_cp']} % recall c+p {r['recall_cp']} % "
              f"coherence {r['coherence']} %")


if __name__ == "__main__":
    main()
