"""Detection quality: precision and recall of the flags against the synthetic truth, per benefit and grade.

Run: ``python benchmarks/detection_quality.py --persons 20000 --seed 1 --label "what changed"`` (runs
``nonrecours demo`` in a temporary folder) or ``--run DIR`` (a finished demo folder: its
``evaluation/<month>/evaluation.json``). The measurement is appended to the ``history`` of
``benchmarks/results/detection_quality.json`` (same seed and size for every entry, so the entries compare);
``latest`` is the last one. Figures per benefit: flags and precision/recall of certain+probable flags, precision
of certain flags, possible flags, true and estimated non-take-up rates, coherence, and why the true cases are
missed and what the false alarms are.

``--truth-engine openfisca`` labels the truth's entitlement with OpenFisca-France 176.1.8 (the oracle
environment of tests/oracle, ``--oracle-python`` or installed/found by ``tests/oracle/environment.py``), so the
score also measures the rules; ``--truth-engine both`` runs the demo twice at the same seed and size (rules,
then OpenFisca) and writes the two evaluations side by side to ``benchmarks/results/detection_quality_engines.json``
with the oracle's rate (households/s) and the agreement of OpenFisca's labels with our rules' on the same truth.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import polars as pl

RESULTS = Path(__file__).parent / "results" / "detection_quality.json"
ENGINES_RESULTS = Path(__file__).parent / "results" / "detection_quality_engines.json"
ROOT = Path(__file__).resolve().parents[1]


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


CAUSE_GROUPS: dict[str, tuple[str, ...]] = {
    "nationality": ("nationality_group", "residence_permit_years", "residence_condition_exempt"),
    "disability": ("disability_rate", "rsdae", "unfit_for_work"),
}
"""Unknowns a possible flag names, grouped; a flag naming several groups counts under the first."""


def miss_causes(run: Path) -> dict[str, dict[str, int]]:
    """Why each true non-take-up unit missed by the certain+probable flags is missed, per benefit, in this order:
    not in the workspace, excluded (claim, refusal, closure, opt-out), not entitled on the workspace's data,
    seen as paid, then the first group of ``CAUSE_GROUPS`` the unit's possible flag names, else other."""
    import datetime as dt

    from nonrecours.detection.evaluate import _truth_to_workspace

    det = sorted((run / "detection").glob("*/units.parquet"))[-1].parent
    month = dt.date.fromisoformat(det.name + "-01")
    units, flags = pl.read_parquet(det / "units.parquet"), pl.read_parquet(det / "flags.parquet")
    truth = run / "truth"
    take_up = pl.read_parquet(truth / "take_up.parquet").filter(pl.col("month") == month)
    mapping = _truth_to_workspace(truth, units, month, run / "exchange.toml")
    group = pl.lit("other")
    for name, inputs in reversed(CAUSE_GROUPS.items()):
        group = pl.when(pl.col("deciding_unknowns").list.eval(pl.element().is_in(list(inputs))).list.any()) \
            .then(pl.lit(name)).otherwise(group)
    out: dict[str, dict[str, int]] = {}
    for b in take_up.get_column("benefit").unique().sort().to_list():
        fb = flags.filter((pl.col("benefit") == b) & (pl.col("status") == "non_take_up"))
        found = fb.filter(pl.col("grade").is_in(["certain", "probable"])).get_column("unit_id")
        ntu = take_up.filter((pl.col("benefit") == b) & ~pl.col("take_up")).select("unit_id").join(
            mapping.rename({"unit_id": "ws"}), left_on="unit_id", right_on="truth_id", how="left")
        missed = ntu.filter(~pl.col("ws").is_in(found.implode()) | pl.col("ws").is_null()).join(
            units.filter(pl.col("benefit") == b).select(pl.col("unit_id").alias("ws"), "status", "grade",
                                                        "excluded"), on="ws", how="left").join(
            fb.filter(pl.col("grade") == "possible").select(pl.col("unit_id").alias("ws"), "deciding_unknowns"),
            on="ws", how="left")
        cause = (pl.when(pl.col("ws").is_null()).then(pl.lit("not_in_workspace"))
                 .when(pl.col("excluded").is_not_null()).then(pl.lit("excluded"))
                 .when(pl.col("grade").is_null()).then(pl.lit("not_entitled_on_data"))
                 .when(pl.col("status").is_in(["consistent", "under_payment"])).then(pl.lit("seen_as_paid"))
                 .when(pl.col("deciding_unknowns").is_not_null()).then(group).otherwise(pl.lit("other")))
        counts = dict(missed.select(cause.alias("c")).get_column("c").value_counts().iter_rows())
        out[b] = {"true": ntu.height, "found": ntu.height - missed.height,
                  **{c: counts.get(c, 0) for c in ("not_in_workspace", "excluded", "not_entitled_on_data",
                                                   "seen_as_paid", *CAUSE_GROUPS, "other")}}
    return out


def _demo(persons: int, seed: int, out: Path, without: list[str]) -> None:
    cmd = [sys.executable, "-c", "from nonrecours.cli import app; app()", "demo", "--out", str(out),
           "--persons", str(persons), "--seed", str(seed)]
    for agency in without:
        cmd += ["--without", agency]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def _openfisca_demo(persons: int, seed: int, out: Path, without: list[str], python: Path | None,
                    workers: int = 1) -> dict[str, Any]:
    """The demo with the truth labelled by OpenFisca-France; the oracle's rate and its labels against ours."""
    import time

    from nonrecours.demo import run_demo
    from nonrecours.simulation.openfisca_process import open_oracle
    from nonrecours.synth.extracts import compare_entitlements, entitlements_from_rules, familles_evaluated

    if python is None:
        sys.path.insert(0, str(ROOT))  # tests/oracle: the oracle environment lives outside the package (AGPL)
        from tests.oracle.environment import ensure_oracle

        python = ensure_oracle()
    started = time.perf_counter()
    with open_oracle(python, workers=workers) as oracle:
        run_demo(out, persons=persons, seed=seed, without=tuple(without), truth_engine="openfisca", oracle=oracle)
    demo_s = time.perf_counter() - started
    truth = out / "truth"
    theirs = pl.read_parquet(truth / "take_up.parquet").select("unit_kind", "unit_id", "benefit", "month", "amount")
    months = sorted(theirs.get_column("month").unique().to_list())
    # OpenFisca labels only the benefits it is asked (rsa, ppa, aspa, css): ours compared on those alone (our
    # rules label every benefit of the catalogue, and a benefit OpenFisca did not label is no disagreement)
    ours = entitlements_from_rules(truth, months).filter(
        pl.col("benefit").is_in(theirs.get_column("benefit").unique().implode()))
    agreement = compare_entitlements(ours, theirs, evaluated=familles_evaluated(truth, months))
    agreement["disagreements"] = agreement["disagreements"][:50]
    return {"workers": workers, "households": oracle.households, "seconds": round(oracle.seconds, 1),
            "households_per_s": round(oracle.households / oracle.seconds, 1) if oracle.seconds else None,
            "load_seconds": round(oracle.load_seconds, 1), "demo_seconds": round(demo_s, 1),
            "label_agreement_with_rules": agreement}


def _evaluation(run: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    files = sorted((run / "evaluation").glob("*/evaluation.json"))
    if not files:
        raise SystemExit(f"no evaluation/*/evaluation.json under {run}")
    return (json.loads(files[-1].read_text(encoding="utf-8")),
            json.loads((run / "truth" / "manifest.json").read_text(encoding="utf-8")))


def _append(path: Path, entry: dict[str, Any]) -> None:
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"history": []}
    data["history"].append(entry)
    data["latest"] = entry
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _both(args: argparse.Namespace) -> None:
    """Rules- and OpenFisca-labelled truths at the same seed and size, side by side."""
    import platform

    with tempfile.TemporaryDirectory() as tmp:
        runs = {"rules": Path(tmp) / "rules", "openfisca": Path(tmp) / "openfisca"}
        _demo(args.persons, args.seed, runs["rules"], args.without)
        oracle = _openfisca_demo(args.persons, args.seed, runs["openfisca"], args.without, args.oracle_python,
                                 args.oracle_workers)
        evaluations = {engine: _evaluation(run) for engine, run in runs.items()}
    (ev_rules, manifest), (ev_of, _) = evaluations["rules"], evaluations["openfisca"]
    entry = {"label": args.label, "commit": args.commit, "month": ev_rules["month"],
             "backend": ev_rules.get("backend"), "persons": manifest.get("persons", args.persons),
             "seed": manifest.get("seed", args.seed), "without": args.without,
             "machine": {"cpus": os.cpu_count(), "load_average_1min": round(os.getloadavg()[0], 2),
                         "python": platform.python_version()},
             "truth_engines": {"rules": ev_rules.get("truth_engine"), "openfisca": ev_of.get("truth_engine")},
             "openfisca_labelling": oracle,
             "rules": summarise(ev_rules), "openfisca": summarise(ev_of)}
    out = args.out if args.out != RESULTS else ENGINES_RESULTS
    _append(out, entry)
    print(f"{'benefit':18} {'truth':8} {'precision c+p':>14} {'recall c+p':>11} {'true rate':>10} {'est. rate':>10}")
    for b in entry["rules"]:
        for engine in ("rules", "openfisca"):
            r = entry[engine][b]
            print(f"{b:18} {engine:8} {r['precision_cp']!s:>14} {r['recall_cp']!s:>11} {r['true_rate']!s:>10} "
                  f"{r['estimated_rate']!s:>10}")
    agree = oracle["label_agreement_with_rules"]
    print(f"openfisca: {oracle['households']:,} households in {oracle['seconds']} s "
          f"({oracle['households_per_s']} households/s); labels agree with our rules on "
          f"{agree['unit_months_evaluated'] - agree['disagree']:,} / {agree['unit_months_evaluated']:,} famille-months "
          f"({100 * agree['rate']:.2f} %), {agree['disagree']} differ")


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
    ap.add_argument("--truth-engine", choices=("rules", "openfisca", "both"), default="rules",
                    help="what labels the truth's entitlement; both: side by side (detection_quality_engines.json)")
    ap.add_argument("--oracle-workers", type=int, default=1, help="OpenFisca processes computing each batch")
    ap.add_argument("--oracle-python", type=Path, default=None,
                    help="the oracle's Python (openfisca-france 176.1.8); default: tests/oracle/environment.py's")
    args = ap.parse_args()
    if args.truth_engine == "both":
        _both(args)
        return
    extra: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        run = args.run
        if run is None:
            run = Path(tmp) / "demo"
            if args.truth_engine == "openfisca":
                extra["openfisca_labelling"] = _openfisca_demo(args.persons, args.seed, run, args.without,
                                                               args.oracle_python, args.oracle_workers)
            else:
                _demo(args.persons, args.seed, run, args.without)
        evaluation, manifest = _evaluation(run)
        causes = miss_causes(run)
    entry = {"label": args.label, "commit": args.commit, "month": evaluation["month"],
             "backend": evaluation.get("backend"), "persons": manifest.get("persons", args.persons),
             "seed": manifest.get("seed", args.seed), "without": args.without,
             "truth_engine": evaluation.get("truth_engine"), **extra, "benefits": summarise(evaluation),
             "miss_causes": causes}
    _append(args.out, entry)
    for b, r in entry["benefits"].items():
        print(f"{b:18} precision c+p {r['precision_cp']} % recall c+p {r['recall_cp']} % "
              f"coherence {r['coherence']} %")


if __name__ == "__main__":
    main()
