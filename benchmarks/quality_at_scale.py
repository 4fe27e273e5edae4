"""Detection quality at scale (issue 8): a territory built as ``nonrecours demo`` builds it, run, then scored.

Run: ``python benchmarks/quality_at_scale.py --territory /work/data/terr/persons-100000 --persons 100000
--backend polars --out benchmarks/results/detection_quality_100k.json``

1. ``synth`` (``pipeline_bench.py``'s step, in a child process): the France territory of ``--persons`` at
   ``--seed`` with its truth, the seven extracts and their noise, the agreement and keys; skipped when
   ``--territory`` holds a truth already (its figures, kept in ``pipeline_synth.json``, are reported).
2. ``nonrecours run`` on it (``pipeline_bench.py``'s metered run, a child process: every stage's wall and CPU
   seconds and peak memory) into ``run-<backend>``; ``--reuse-run`` keeps a finished one.
3. ``nonrecours evaluate`` (``detection.evaluate_run``, timed here) against the truth, into
   ``evaluation/<month>``; ``detection_quality.summarise`` and ``miss_causes`` give the table written to
   ``--out`` (and a Markdown table beside it): per benefit the flags, precision and recall of the certain and
   probable flags, estimated and true non-take-up rates, coherence, with the commit and the load.

``--territory`` may also be a finished ``nonrecours demo`` folder (``detection/`` and ``run.toml`` at its top,
e.g. a demo whose truth OpenFisca-France labelled): it is then only scored (``--label`` says what it is).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import detection_quality  # noqa: E402
import pipeline_bench  # noqa: E402
from commits import commit  # noqa: E402

ISSUE8 = {"precision_cp": 95.0, "recall_cp": 90.0, "rate_gap_points": 2.0}
"""Issue 8's targets at 100,000 persons: precision of certain+probable flags ≥ 95 %, recall ≥ 90 % for each
benefit, estimated non-take-up rates within 2 points of the truth."""


def _layout(territory: Path, backend: str) -> tuple[Path, Path]:
    """(the run folder holding ``detection/``, the folder the evaluation is written under)."""
    if (territory / "detection").is_dir() and (territory / "run.toml").exists():  # a demo folder
        return territory, territory
    return territory / f"run-{backend}", territory


def evaluate(territory: Path, run: Path, month: str) -> dict[str, Any]:
    """``nonrecours evaluate`` of the month's detection against the territory's truth, timed."""
    from nonrecours.detection.evaluate import evaluate_run, write_evaluation

    load0 = os.getloadavg()[0]
    w0, c0 = time.perf_counter(), time.process_time()
    score = evaluate_run(run / "detection" / month, territory / "truth", territory / "exchange.toml")
    write_evaluation(score, territory / "evaluation" / month)
    return {"wall_s": round(time.perf_counter() - w0, 2), "cpu_s": round(time.process_time() - c0, 2),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "load_1min_start": round(load0, 2), "load_1min_end": round(os.getloadavg()[0], 2)}


def targets(benefits: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each benefit against issue 8's targets (None where a figure is undefined: no flag, or no true case)."""
    out = {}
    for b, r in benefits.items():
        gap = (None if r["estimated_rate"] is None or r["true_rate"] is None
               else round(abs(r["estimated_rate"] - r["true_rate"]), 1))
        out[b] = {"precision_cp_ok": None if r["precision_cp"] is None else r["precision_cp"] >= ISSUE8["precision_cp"],
                  "recall_cp_ok": None if r["recall_cp"] is None else r["recall_cp"] >= ISSUE8["recall_cp"],
                  "rate_gap_points": gap,
                  "rate_ok": None if gap is None else gap <= ISSUE8["rate_gap_points"]}
    return out


def markdown(r: dict[str, Any]) -> str:
    lines = [f"# Detection quality: {r['persons']:,} persons ({r['truth_engine']} truth)", "",
             f"{r['date']}, commit {r['commit']}, {r['machine']}. Territory {r['territory_name']}, seed {r['seed']}, "
             f"month {r['month']}, backend {r['backend']}. {r['label']}", "",
             "| benefit | flags c+p | precision c+p % | recall c+p % | precision certain % | possible flags | "
             "true non-take-up | true rate % | estimated rate % | gap (points) | coherence % |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]

    def f(v: Any) -> str:
        return "—" if v is None else (f"{v:,}" if isinstance(v, int) else f"{v}")

    for b, x in r["benefits"].items():
        t = r["targets"][b]
        mark = {True: "", False: " ✗", None: ""}
        lines.append(f"| {b} | {f(x['flags_cp'])} | {f(x['precision_cp'])}{mark[t['precision_cp_ok']]} | "
                     f"{f(x['recall_cp'])}{mark[t['recall_cp_ok']]} | {f(x['precision_certain'])} | "
                     f"{f(x['flags_possible'])} | {f(x['true_non_take_up'])} | {f(x['true_rate'])} | "
                     f"{f(x['estimated_rate'])} | {f(t['rate_gap_points'])}{mark[t['rate_ok']]} | "
                     f"{f(x['coherence'])} |")
    lines += ["", "✗: below issue 8's target (precision ≥ 95 %, recall ≥ 90 %, estimated rate within 2 points).",
              "", "## Stages", "", "| stage | wall s | CPU s | peak RSS MiB | load (1 min) start → end |",
              "|---|---:|---:|---:|---|"]
    for name, s in r["stages"].items():
        peak = s.get("peak_rss_mib")
        load = (f"{s['load_1min_start']:.1f} → {s['load_1min_end']:.1f}" if s.get("load_1min_start") is not None
                else "")
        lines.append(f"| {name} | {s['wall_s']:,.1f} | {s['cpu_s']:,.1f} | "
                     f"{'' if peak is None else f'{peak:,.0f}'} | {load} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--territory", type=Path, required=True, help="the territory's folder (built if empty)")
    ap.add_argument("--persons", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--territory-name", default="france")
    ap.add_argument("--backend", default="polars")
    ap.add_argument("--memory-limit", default="8GB")
    ap.add_argument("--reuse-run", action="store_true", help="score the finished run-<backend> as it is")
    ap.add_argument("--label", default="")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    territory = args.territory.resolve()
    report: dict[str, Any] = {
        "benchmark": "detection quality at scale (benchmarks/quality_at_scale.py)", "label": args.label,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "commit": commit(changes_in="src"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average_1min_start": round(os.getloadavg()[0], 2), "territory": str(territory),
        "backend": args.backend, "issue8_targets": ISSUE8}
    stages: dict[str, Any] = {}
    run, _ = _layout(territory, args.backend)
    demo_folder = run == territory
    if not demo_folder:
        if not (territory / "truth").is_dir():
            territory.mkdir(parents=True, exist_ok=True)
            pipeline_bench._child("synth", {"root": str(territory), "persons": args.persons, "seed": args.seed,
                                            "territory": args.territory_name}, in_process=False)
        figures = territory / pipeline_bench.SYNTH_FIGURES
        built = json.loads(figures.read_text(encoding="utf-8"))
        if "synth" in built["steps"]:
            stages["synth (not part of the run)"] = built["steps"]["synth"]
        month = built["month"]
        if not (args.reuse_run and (run / "detection" / month / "flags.parquet").exists()):
            ran = pipeline_bench._child("pipeline", {"root": str(territory), "backend": args.backend,
                                                     "extracts": built["extracts"], "month": month,
                                                     "memory_limit": args.memory_limit}, in_process=False)
            (territory / f"pipeline-{args.backend}.json").write_text(json.dumps(ran, indent=2), encoding="utf-8")
        measured = territory / f"pipeline-{args.backend}.json"
        if measured.exists():
            ran = json.loads(measured.read_text(encoding="utf-8"))
            report["run_rows"] = ran["rows"]
            report["peak_method"] = ran["peak_method"]
            for name in ("run", "ingest", "rules", "rules/join", "rules/evaluate", "detection", "detection/join",
                         "detection/evaluate", "detection/export", "outputs"):
                if name in ran["steps"]:
                    stages[name] = ran["steps"][name]
        else:
            report["run_note"] = "the run was made before, not by this benchmark: its stages were not measured"
        detection = territory / "detection"  # the demo layout detection_quality reads: a link to the run's
        if not detection.exists():
            detection.symlink_to(run / "detection", target_is_directory=True)
    else:
        month = sorted(p.name for p in (run / "detection").iterdir() if p.is_dir())[-1]
    stages["evaluate"] = evaluate(territory, run, month)
    evaluation, manifest = detection_quality._evaluation(territory)
    report |= {"month": evaluation["month"], "persons": manifest.get("persons", args.persons),
               "seed": manifest.get("seed", args.seed),
               "territory_name": manifest.get("territory", args.territory_name),
               "truth_engine": evaluation.get("truth_engine") or "rules"}
    if (territory / "openfisca_labelling.json").exists():
        report["openfisca_labelling"] = json.loads((territory / "openfisca_labelling.json").read_text("utf-8"))
    report["benefits"] = detection_quality.summarise(evaluation)
    report["targets"] = targets(report["benefits"])
    report["miss_causes"] = detection_quality.miss_causes(territory)
    report["stages"] = stages
    report["load_average_1min_end"] = round(os.getloadavg()[0], 2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    args.out.with_suffix(".md").write_text(markdown(report), encoding="utf-8")
    print(markdown(report))
    return report


if __name__ == "__main__":
    main()
