"""The flags that may be paid to an unidentified payee, scored against the synthetic truth (issue 8).

Run: ``python benchmarks/unidentified_payee_quality.py --detection DIR --truth DIR --agreement exchange.toml
--out benchmarks/results/NAME`` (a detection folder as ``nonrecours detect`` writes it, on a workspace ingested
with the members' birth month, sex and commune of the lines quarantined for an unusable NIR).

Detection says on a non-take-up flag that the payment may be theirs when a payer of the benefit, which knows none
of the famille's adults, paid a dossier one of whose adults has an unusable NIR and the birth month, commune (and
sex, where both sides give it) of one of theirs, or a number a typing slip from one of theirs on a flag already
possible (``detection.receipts.unidentified_payee``); the grade is kept.
This counts, per benefit and grade (certain+probable, possible), the flags so marked and the others, and among
each how many the truth says are taken up (false alarms), true non-take-up, or not entitled: what the mark is
worth to a caseworker. Writes ``NAME.json`` and ``NAME.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

import polars as pl

from commits import commit

MARK = r"^À vérifier avant tout contact : .*(au NIR inutilisable|à un chiffre près)"
"""The reason line detection writes on a marked flag (``detection.reasons``): by the birth month, sex and commune,
or by the number a slip from the adult's, on a flag already possible (one this match makes possible says
« Signalement ramené à « possible » » instead, counted apart: ``downgraded_by_payee_number_slip``)."""


def score(detection: Path, truth: Path, agreement: Path) -> pl.DataFrame:
    from nonrecours.detection.evaluate import _truth_to_workspace

    summary = json.loads((detection / "summary.json").read_text(encoding="utf-8"))
    month = dt.date.fromisoformat(summary["month"] + "-01")
    units = pl.read_parquet(detection / "units.parquet")
    mapping = _truth_to_workspace(truth, units, month, agreement)
    from nonrecours.schemas.benefits import CATALOGUE

    yearly = [b.code for b in CATALOGUE if b.yearly]  # their truth is at the payment due, not this month: left out
    flags = (pl.read_parquet(detection / "flags.parquet")
             .filter((pl.col("status") == "non_take_up") & ~pl.col("benefit").is_in(yearly))
             .with_columns(pl.col("reasons").list.eval(pl.element().str.contains(MARK)).list.any().alias("marked"),
                           pl.when(pl.col("grade") == "possible").then(pl.lit("possible"))
                           .otherwise(pl.lit("certain+probable")).alias("grades")))
    take_up = (pl.read_parquet(truth / "take_up.parquet").filter(pl.col("month") == month)
               .join(mapping, left_on="unit_id", right_on="truth_id", suffix="_ws")
               .select(pl.col("unit_id_ws").alias("unit_id"), pl.col("benefit").cast(pl.String), "take_up")
               .unique(["unit_id", "benefit"]))
    return (flags.join(take_up, on=["unit_id", "benefit"], how="left")
            .group_by("benefit", "grades", "marked")
            .agg(pl.len().alias("flags"), (pl.col("take_up") == True).sum().alias("taken_up_in_truth"),  # noqa: E712
                 (pl.col("take_up") == False).sum().alias("true_non_take_up"),  # noqa: E712
                 pl.col("take_up").is_null().sum().alias("not_entitled_in_truth"))
            .with_columns((pl.col("taken_up_in_truth") / pl.col("flags")).round(3).alias("share_taken_up"))
            .sort("benefit", "grades", "marked", descending=[False, False, True]))


def markdown(table: pl.DataFrame, meta: dict) -> str:
    lines = [f"# Flags that may be paid to an unidentified payee ({meta['month']}, {meta['commit']})", "",
             f"Detection `{meta['detection']}`; marked flags per benefit: {meta['marked']}.", "",
             "| benefit | grades | marked | flags | taken up in truth | true non-take-up | not entitled "
             "| share taken up |",
             "|---|---|---|---:|---:|---:|---:|---:|"]
    for r in table.iter_rows(named=True):
        lines.append(f"| {r['benefit']} | {r['grades']} | {'yes' if r['marked'] else 'no'} | {r['flags']:,} | "
                     f"{r['taken_up_in_truth']:,} | {r['true_non_take_up']:,} | {r['not_entitled_in_truth']:,} | "
                     f"{100 * r['share_taken_up']:.1f} % |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--detection", type=Path, required=True)
    ap.add_argument("--truth", type=Path, required=True)
    ap.add_argument("--agreement", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True, help="results path without suffix")
    args = ap.parse_args(argv)
    summary = json.loads((args.detection / "summary.json").read_text(encoding="utf-8"))
    table = score(args.detection, args.truth, args.agreement)
    marked = {b: n for b, n in summary.get("flags_maybe_paid_to_unidentified_payee", {}).items() if n}
    meta = {"commit": commit(changes_in="src"), "month": summary["month"], "detection": str(args.detection),
            "marked": marked}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps({**meta, "rows": table.to_dicts()}, indent=1) + "\n",
                                             encoding="utf-8")
    args.out.with_suffix(".md").write_text(markdown(table, meta), encoding="utf-8")
    print(markdown(table, meta))


if __name__ == "__main__":
    main()
