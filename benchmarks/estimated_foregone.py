"""The monthly amount foregone estimated against the truth (issue 8): per benefit whose truth has an amount, the
true amount of the true non-take-up, the old evaluation's estimate, and the low / central / high that ``evaluate``
now reports (``detection.rates``: the statistics' estimates of the non-take-up flags, the central weighted as the
central rate). Beside them, the statistics' whole-file central (non-take-up and under-payment) before and after
the weights.

Run on finished detections (no detection is rerun):

    PYTHONPATH=src python benchmarks/estimated_foregone.py \\
        --territory ci_demo=RUN_DIR,TRUTH_DIR,EXCHANGE_TOML --territory ... \\
        --out benchmarks/results/estimated_foregone_X

Columns, per benefit (monthly euros):

- ``true``: the truth's non-take-up amount (``evaluate``'s ``amount_foregone_true``);
- ``old``: what ``evaluate`` reported before the weights: the certain and probable non-take-up flags'
  ``amount_central``, unweighted, of ``flags.parquet`` (the excluded units, opt-out or claim pending, left out;
  the rates, the statistics and now the amounts count them, as the truth does);
- ``low``, ``central``, ``high``: ``evaluate``'s ``amount_foregone_estimated_<estimate>`` (certain flags at
  ``amount_low``; certain and probable at ``amount_central``, each times the central rate's weight, capped at the
  high; every grade at ``amount_high``), each of the gap estimate minus what is paid;
- ``stats_old``, ``stats_central``: the published whole-file ``monthly_foregone_central`` (non-take-up and
  under-payment) before the weights (certain and probable gaps unweighted) and now.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from estimated_rates import score_territories
from nonrecours.detection import evaluate_run
from nonrecours.detection.rates import ESTIMATES, MISSING, RATE_GRADES, rates_by_benefit


def _old_evaluation(flags: pl.DataFrame) -> dict[str, float]:
    """The evaluation's estimate before the weights: the certain and probable non-take-up flags' amount_central,
    read off ``flags.parquet`` (the outreach list: the units excluded, opt-out or claim pending, left out)."""
    sure = flags.filter((pl.col("status") == "non_take_up") & pl.col("grade").is_in(list(RATE_GRADES["central"])))
    return {r["benefit"]: r["a"] for r in sure.group_by("benefit").agg(pl.col("amount_central").sum().alias("a"))
            .iter_rows(named=True)}


def _old_statistics(units: pl.DataFrame) -> dict[str, float]:
    """The statistics' central before the weights: the certain and probable non-take-up and under-payment flags'
    gap (amount_central minus what is paid, at least 0), summed in cents."""
    gap = ((pl.col("amount_central") - pl.col("paid").fill_null(0.0)).clip(lower_bound=0.0) * 100).round(0)
    sure = units.filter(pl.col("status").is_in(list(MISSING)) & pl.col("grade").is_in(list(RATE_GRADES["central"])))
    return {r["benefit"]: r["c"] / 100 for r in sure.group_by("benefit").agg(gap.cast(pl.Int64).sum().alias("c"))
            .iter_rows(named=True)}


def score(name: str, run: Path, truth: Path, agreement: Path) -> dict[str, Any]:
    units = pl.read_parquet(run / "units.parquet")
    ev = evaluate_run(run, truth, agreement)
    old, stats_old = _old_evaluation(pl.read_parquet(run / "flags.parquet")), _old_statistics(units)
    stats = {r["benefit"]: r["monthly_foregone_central"]
             for r in rates_by_benefit(units, foregone=MISSING).iter_rows(named=True)}
    rows = {}
    for b, r in ev["benefits"].items():
        if "amount_foregone_true" not in r:
            continue
        row = {"true": r["amount_foregone_true"], "old": old.get(b, 0.0),
               **{e: r[f"amount_foregone_estimated_{e}"] for e in ESTIMATES},
               "true_in_range": r["amount_foregone_estimated_low"] - 0.005 <= r["amount_foregone_true"]
               <= r["amount_foregone_estimated_high"] + 0.005,
               "stats_old": stats_old.get(b, 0.0), "stats_central": stats.get(b)}
        rows[b] = {k: (round(v, 2) if isinstance(v, float) else v) for k, v in row.items()}
    return {"territory": name, "run": str(run), "truth_engine": ev["truth_engine"], "benefits": rows}


def _eur(x: float | None) -> str:
    return "—" if x is None else f"{x:,.0f}"


def _gap(x: float | None, true: float | None) -> str:
    return "—" if x is None or not true else f"{100 * (x - true) / true:+.1f} %"


def markdown(result: dict[str, Any]) -> str:
    lines = [f"# Estimated monthly amount foregone against the truth ({result['commit']}, {result['date']})", "",
             "Monthly euros. true: the truth's non-take-up amount; old: evaluate before the weights (certain and "
             "probable non-take-up flags' amount_central, unweighted, excluded units left out); "
             "low / central / high: evaluate now "
             "(detection.rates, the statistics' estimates of the non-take-up flags, the central weighted as the "
             "central rate); gap: (estimate − true) / true; in: true in [low, high]; stats old → new: the published "
             "whole-file central (non-take-up and under-payment) before and after the weights.", ""]
    for t in result["territories"]:
        lines += [f"## {t['territory']} (truth: {t['truth_engine']})", "", f"Detection: `{t['run']}`", "",
                  "| benefit | true | old | gap old | low | central | high | gap central | in | stats old → new |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|:-:|---:|"]
        for b, r in t["benefits"].items():
            inside = {True: "yes", False: "**no**"}[r["true_in_range"]]
            lines.append(f"| {b} | {_eur(r['true'])} | {_eur(r['old'])} | {_gap(r['old'], r['true'])} | "
                         f"{_eur(r['low'])} | {_eur(r['central'])} | {_eur(r['high'])} | "
                         f"{_gap(r['central'], r['true'])} | {inside} | "
                         f"{_eur(r['stats_old'])} → {_eur(r['stats_central'])} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    score_territories(argv, __doc__ or "", score, markdown)


if __name__ == "__main__":
    main()
