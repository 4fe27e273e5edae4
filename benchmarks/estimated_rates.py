"""Estimated non-take-up rates against the truth (issue 8): per benefit, the true rate, the old evaluation's
estimate, the published low / central / high (``detection.rates``), whether the truth lies between low and high,
and the weightings of the possible flags that were measured and not adopted (docs/detection.md, « The
estimated non-take-up rate »).

Run on finished detections (no detection is rerun):

    PYTHONPATH=src python benchmarks/estimated_rates.py \\
        --territory ci_demo=RUN_DIR,TRUTH_DIR,EXCHANGE_TOML --territory ... --out benchmarks/results/estimated_rates_X

Columns, per benefit (rates in %):

- ``old``: what ``evaluate`` scored before ``detection.rates`` (non-take-up units / units, among certain and
  probable units only), recomputed here from ``units.parquet``;
- ``low``, ``central``, ``high``: the run's own estimates, as the statistics publish them;
- ``bayes_all``, ``bayes_central``: the possible flags weighted by a posterior probability of entitlement,
  p = pi R / (pi R + 1 - pi), where non-payment is the evidence (an entitled unit is unpaid with probability R,
  the non-take-up rate itself, a unit not entitled always) and R is the fixed point of the rate so computed;
  prior pi = 1/2 for every possible flag (``bayes_all``), or 1/2 for one entitled on the central values and 0
  for one entitled at a corner only (``bayes_central``). Measured, not adopted: neither holds on every benefit;
- ``transfer``: the central, plus, in a coverage where the benefit has possible flags but no certain or probable
  one, those possible flags at the share the weights imply for the benefit's possible flags elsewhere. Measured,
  not adopted: it mends the housing aid but overshoots the AAH, whose implied share rests on a few flags;
- ``possible_share_needed``: the share of the possible non-take-up flags that would have to count for the
  central estimate to equal the true rate (diagnostic; negative: certain+probable flags already exceed it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from commits import commit
from nonrecours.detection import evaluate_run
from nonrecours.detection.rates import CONFIRMED, coverage, grade_chances

ROOT = Path(__file__).resolve().parents[1]


def _old(units: pl.DataFrame) -> dict[str, float | None]:
    """The evaluation's estimate before detection.rates: non-take-up / units among certain+probable units."""
    sure = units.filter(pl.col("grade").is_in(["certain", "probable"]))
    per = sure.group_by("benefit").agg(pl.len().alias("n"), (pl.col("status") == "non_take_up").sum().alias("nt"))
    return {r["benefit"]: (r["nt"] / r["n"] if r["n"] else None) for r in per.iter_rows(named=True)}


def _fixed_point(sure: int, paid: int, classes: list[tuple[int, float]]) -> float | None:
    """The greatest R with R = (sure + sum n p(pi, R)) / (same + paid), iterated down from 1 (the map is
    increasing and concave in R, so the iteration from the top decreases to its greatest fixed point)."""
    def f(r: float) -> float | None:
        x = sure + sum(n * (pi * r / (pi * r + 1 - pi)) for n, pi in classes if pi > 0)
        return x / (x + paid) if x + paid > 0 else None
    r: float | None = 1.0
    for _ in range(10_000):
        nxt = f(r)  # type: ignore[arg-type]
        if nxt is None or abs(nxt - r) < 1e-12:  # type: ignore[operator]
            return nxt
        r = nxt
    return r


def _bayes(units: pl.DataFrame) -> dict[str, dict[str, float | None]]:
    out: dict[str, dict[str, float | None]] = {}
    for (b,), x in units.group_by("benefit"):
        paid = int(x.get_column("receiving").fill_null(False).sum())
        nt = x.filter(pl.col("status") == "non_take_up")
        sure = nt.filter(pl.col("grade").is_in(["certain", "probable"])).height
        pos = nt.filter(pl.col("grade") == "possible")
        central = pos.filter(pl.col("entitled_central").fill_null(False)).height
        out[str(b)] = {"bayes_all": _fixed_point(sure, paid, [(pos.height, 0.5)]),
                       "bayes_central": _fixed_point(sure, paid, [(central, 0.5)])}
    return out


def _transfer(units: pl.DataFrame) -> dict[str, float | None]:
    """The central with one more step, measured and not adopted: in a coverage where the benefit has possible flags
    but no certain or probable one (nothing to weight), the possible flags count at the share the weights imply
    for the benefit's possible flags elsewhere: (weighted - certain+probable) / possible, over the coverages with
    certain or probable flags."""
    chances = grade_chances(units).select("benefit", "coverage", "chance")
    grade, nt = pl.col("grade"), pl.col("status") == "non_take_up"
    s = (units.with_columns(coverage()).group_by("benefit", "coverage").agg(
        (nt & grade.is_in(list(CONFIRMED))).sum().alias("a"), (nt & (grade == "possible")).sum().alias("m"),
        pl.col("receiving").fill_null(False).sum().alias("p"))
        .join(chances, on=["benefit", "coverage"], how="left")
        .with_columns(pl.min_horizontal(pl.col("a") / pl.col("chance"), pl.col("a") + pl.col("m")).alias("w")))
    implied = (s.filter(pl.col("a") > 0).group_by("benefit")
               .agg(pl.when(pl.col("m").sum() > 0).then((pl.col("w") - pl.col("a")).sum() / pl.col("m").sum())
                    .alias("share")))
    s = s.join(implied, on="benefit", how="left").with_columns(
        pl.when(pl.col("a") > 0).then(pl.col("w")).otherwise(pl.col("m") * pl.col("share").fill_null(0.0)).alias("w"))
    t = s.group_by("benefit").agg(pl.col("w").sum(), pl.col("p").sum())
    return {r["benefit"]: (r["w"] / (r["w"] + r["p"]) if r["w"] + r["p"] > 0 else None)
            for r in t.iter_rows(named=True)}


def score(name: str, run: Path, truth: Path, agreement: Path) -> dict[str, Any]:
    units = pl.read_parquet(run / "units.parquet")
    ev = evaluate_run(run, truth, agreement)
    old, bayes, transfer = _old(units), _bayes(units), _transfer(units)
    counts = (units.group_by("benefit").agg(
        pl.col("receiving").fill_null(False).sum().alias("paid"),
        ((pl.col("status") == "non_take_up") & pl.col("grade").is_in(["certain", "probable"])).sum().alias("cp"),
        ((pl.col("status") == "non_take_up") & (pl.col("grade") == "possible")).sum().alias("pos")))
    counts = {r["benefit"]: r for r in counts.iter_rows(named=True)}
    rows = {}
    for b, r in ev["benefits"].items():
        t, c = r["true_rate"], counts.get(b, {})
        need = None
        if t is not None and t < 1 and c.get("pos"):
            need = (t * c["paid"] / (1 - t) - c["cp"]) / c["pos"]
        row = {"true": t, "old": old.get(b), "low": r["estimated_rate_low"], "central": r["estimated_rate_central"],
               "high": r["estimated_rate_high"], "true_in_range": r["true_rate_in_range"],
               **bayes.get(b, {}), "transfer": transfer.get(b), "possible_share_needed": need}
        rows[b] = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in row.items()}
    return {"territory": name, "run": str(run), "truth_engine": ev["truth_engine"],
            "not_labelled_by_truth": ev["not_labelled_by_truth"], "benefits": rows}


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}"


def markdown(result: dict[str, Any]) -> str:
    lines = [f"# Estimated non-take-up rates against the truth ({result['commit']}, {result['date']})", "",
             "Rates in %. `old`: evaluate before detection.rates (nt/units among certain+probable units); low / "
             "central / high: detection.rates, as published; gap: central − true, points; in: the true rate lies "
             "in [low, high]; bayes_*, transfer: weightings of the possible flags measured and not adopted "
             "(docs/detection.md); needed: share of the possible flags that would have to count.", ""]
    for t in result["territories"]:
        lines += [f"## {t['territory']} (truth: {t['truth_engine']})", "", f"Detection: `{t['run']}`", "",
                  "| benefit | true | old | low | central | high | gap | in | bayes_all | bayes_central | transfer | "
                  "needed |",
                  "|---|---:|---:|---:|---:|---:|---:|:-:|---:|---:|---:|---:|"]
        for b, r in t["benefits"].items():
            gap = (None if r["true"] is None or r["central"] is None else f"{100 * (r['central'] - r['true']):+.1f}")
            need = r["possible_share_needed"]
            inside = {None: "—", True: "yes", False: "**no**"}[r["true_in_range"]]
            lines.append(f"| {b} | {_pct(r['true'])} | {_pct(r['old'])} | {_pct(r['low'])} | {_pct(r['central'])} | "
                         f"{_pct(r['high'])} | {gap or '—'} | {inside} | "
                         f"{_pct(r.get('bayes_all'))} | {_pct(r.get('bayes_central'))} | {_pct(r.get('transfer'))} | "
                         f"{'—' if need is None else f'{100 * need:.1f}'} |")
        if t["not_labelled_by_truth"]:
            lines.append(f"\nNot labelled by this truth: {', '.join(t['not_labelled_by_truth'])}")
        lines.append("")
    return "\n".join(lines)


def score_territories(argv: list[str] | None, doc: str, score: Callable[[str, Path, Path, Path], dict[str, Any]],
                      markdown: Callable[[dict[str, Any]], str]) -> None:
    """The command line of this script and of its siblings (estimated_foregone.py): each ``--territory`` scored
    by ``score``, the results written as JSON and as ``markdown``'s table."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--territory", action="append", default=[], help="NAME=RUN_DIR,TRUTH_DIR,EXCHANGE_TOML")
    ap.add_argument("--out", required=True, type=Path, help="results path without extension (.json and .md)")
    ap.add_argument("--markdown-from", type=Path, help="rewrite the Markdown of a results JSON, nothing scored")
    args = ap.parse_args(argv)
    if args.markdown_from:
        args.out.with_suffix(".md").write_text(markdown(json.loads(args.markdown_from.read_text(encoding="utf-8"))),
                                               encoding="utf-8")
        return
    result: dict[str, Any] = {"commit": commit(), "date": dt.date.today().isoformat(), "load": os.getloadavg()[0],
                              "territories": []}
    for spec in args.territory:
        name, paths = spec.split("=", 1)
        run, truth, agreement = (Path(p) for p in paths.split(","))
        result["territories"].append(score(name, run, truth, agreement))
        print(f"{name}: scored", file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    args.out.with_suffix(".md").write_text(markdown(result), encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    score_territories(argv, __doc__ or "", score, markdown)


if __name__ == "__main__":
    main()
