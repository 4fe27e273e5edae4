"""Detection's estimated amount against the truth's, on the true positives (issue 8), and where the gap comes from.

For each benefit, the non-take-up units of the run (``units.parquet``, every grade, the excluded ones too: the
amounts foregone count them) whose famille holds a true non-take-up of the truth (``truth/take_up.parquet``,
matched as ``nonrecours evaluate`` matches: the famille holding the truth famille's demandeur, else conjoint):
the mean relative gap of ``amount_central`` to the truth's amount, the share of true amounts inside
[amount_low, amount_high], the sums.

With ``--decompose``, the month is built on both sides (``core.build_month``: the truth's tables with the payments
its take-up draw made, as ``synth.extracts.take_up_from_rules`` computed the truth's amount; the workspace's
tables as detection reads them, central values) and the rules' intermediate values of the RSA and the prime
d'activité are compared on the true positives: montant forfaitaire, forfait logement, resources by kind (the
members' monthly inputs, with the workspace value's provenance: observed, estimated or unknown).

    PYTHONPATH=src python benchmarks/amount_gap.py --run RUN --truth TRUTH --workspace WS --agreement X.toml \\
        [--decompose] --out benchmarks/results/amount_gap_X
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl

from nonrecours.detection.evaluate import _truth_to_workspace

GRADES = ("certain", "probable", "possible")


def true_positives(run: Path, truth: Path, agreement: Path, month: dt.date) -> pl.DataFrame:
    """unit_id (workspace), truth_id, benefit, grade, amount_low/central/high, paid, amount_true: the run's
    non-take-up units that are true non-take-up, for the monthly benefits (a yearly one, ARS or chèque énergie, is
    judged on an earlier month's payment and its truth amount is the year's: left out)."""
    from nonrecours.schemas.benefits import CATALOGUE

    yearly = [b.code for b in CATALOGUE if b.yearly]
    units = pl.read_parquet(run / "units.parquet").filter(~pl.col("benefit").is_in(yearly))
    mapping = _truth_to_workspace(truth, units, month, agreement)
    tu = pl.read_parquet(truth / "take_up.parquet").filter((pl.col("month") == month) & ~pl.col("take_up"))
    tu = tu.join(mapping, left_on="unit_id", right_on="truth_id", how="inner", suffix="_ws").select(
        pl.col("unit_id").alias("truth_id"), pl.col("unit_id_ws").alias("unit_id"), "benefit",
        pl.col("amount").alias("amount_true"))
    nt = units.filter(pl.col("status") == "non_take_up").select(
        "unit_id", "benefit", "grade", "excluded", "amount_low", "amount_central", "amount_high", "paid")
    return nt.join(tu, on=["unit_id", "benefit"], how="inner")


def summary(tp: pl.DataFrame, grades: tuple[str, ...]) -> pl.DataFrame:
    """Per benefit: count, sums, mean relative gap of the central, share of the truth inside [low, high]."""
    t = tp.filter(pl.col("grade").is_in(list(grades)) & (pl.col("amount_true") > 0))
    return t.group_by("benefit").agg(
        pl.len().alias("n"),
        pl.col("amount_true").sum().round(2).alias("true_sum"),
        pl.col("amount_central").sum().round(2).alias("central_sum"),
        ((pl.col("amount_central") - pl.col("amount_true")) / pl.col("amount_true")).mean().alias("mean_rel_gap"),
        ((pl.col("amount_central").sum() - pl.col("amount_true").sum()) / pl.col("amount_true").sum())
        .alias("sum_rel_gap"),
        ((pl.col("amount_true") >= pl.col("amount_low") - 0.01)
         & (pl.col("amount_true") <= pl.col("amount_high") + 0.01)).mean().alias("share_in_range"),
        ((pl.col("amount_central") - pl.col("amount_true")).abs() <= 0.01).mean().alias("share_exact"),
        (pl.col("amount_central") > pl.col("amount_true") + 0.01).sum().alias("n_over"),
        (pl.col("amount_central") < pl.col("amount_true") - 0.01).sum().alias("n_under"),
    ).sort("benefit")


# --- decomposition ---------------------------------------------------------------------------------------------

RSA_FAM = ["rsa", "rsa_socle", "rsa_socle_majore", "rsa_forfait_logement", "rsa_base_ressources",
           "pf_retenues_minima", "aspa"]
PPA_FAM = ["ppa_fictive", "ppa_montant_forfaitaire", "ppa_revenu_activite", "ppa_base_ressources",
           "ppa_forfait_logement"]


def truth_core(truth: Path, month: dt.date):  # type: ignore[no-untyped-def]
    """The truth's month as ``take_up_from_rules`` evaluated its last step: the truth's tables, the FEEDING
    benefits' stylised payments replaced by what their drawn takers are paid."""
    from nonrecours.core import build_month, population_facts
    from nonrecours.core.inputs import with_payments
    from nonrecours.synth.extracts import FEEDING, _payments, _truth_tables

    tables = _truth_tables(truth)
    bp = tables["benefits_paid"]
    schema = bp.collect_schema()
    base = bp.filter(~pl.col("benefit").cast(pl.String).is_in(list(FEEDING)))
    drawn = pl.read_parquet(truth / "take_up.parquet").filter(pl.col("benefit").is_in(list(FEEDING)))
    fixed = ("unit_kind", "unit_id", "person_id", "benefit", "month", "amount", "paying_agency", "source_agency")
    paid = _payments(drawn).select(
        pl.col("unit_kind").cast(schema["unit_kind"]), "unit_id", pl.lit(None, dtype=pl.String).alias("person_id"),
        pl.col("benefit").cast(schema["benefit"]), "month", pl.col("amount").cast(schema["amount"]),
        pl.lit("caf").cast(schema["paying_agency"]).alias("paying_agency"),
        pl.lit("synth").cast(schema["source_agency"]).alias("source_agency"),
        *[pl.lit(None, dtype=schema[c]).alias(c) for c in schema.names() if c not in fixed]).select(schema.names())
    tables["benefits_paid"] = base
    facts = population_facts(tables, month)
    core = build_month(tables, month, facts=facts)
    view = {**tables, "benefits_paid": pl.concat([base, paid.lazy()])}
    return core, with_payments(core.inputs, view, month, facts)


def workspace_core(workspace: Path, month: dt.date):  # type: ignore[no-untyped-def]
    """The workspace's month as ``nonrecours detect`` builds it (central values in the inputs)."""
    from nonrecours.core.workspace import recorded_layouts, workspace_core_config
    from nonrecours.detection.detect import core_month, read_workspace

    layouts = recorded_layouts(workspace)
    return core_month(read_workspace(workspace), month, workspace_core_config(workspace, layouts=layouts))


def _components(inputs, month: dt.date) -> dict[str, pl.DataFrame]:  # type: ignore[no-untyped-def]
    """famille_id → (forfait logement, montant forfaitaire, resources) of the RSA (month) and of the prime
    d'activité (means of its three reference months)."""
    from nonrecours.engine.evaluate import evaluate_many
    from nonrecours.engine.plan import add_months

    r = evaluate_many(RSA_FAM, [inputs], month, backend="polars")[0]["famille"]
    rsa = r.select("famille_id", pl.col("rsa_forfait_logement").alias("fl"),
                   pl.max_horizontal("rsa_socle", "rsa_socle_majore").alias("mf"),
                   pl.col("rsa_base_ressources").alias("res"))
    ppa = pl.concat([evaluate_many(PPA_FAM, [inputs], add_months(month, -k), backend="polars")[0]["famille"]
                     .select("famille_id", *PPA_FAM) for k in (1, 2, 3)])
    ppa = ppa.group_by("famille_id").agg(pl.col("ppa_forfait_logement").mean().alias("fl"),
                                         pl.col("ppa_montant_forfaitaire").mean().alias("mf"),
                                         pl.col("ppa_base_ressources").mean().alias("res"))
    return {"rsa": rsa, "ppa": ppa}


def _housing(inputs) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    """famille_id → the demandeur's ménage, its housing status ("hosted" for a famille hosted free of charge)."""
    head = inputs.individu.filter(pl.col("famille_role") == "demandeur").select("famille_id", "menage_id")
    return (head.join(inputs.menage.select("menage_id", "housing_status"), on="menage_id", how="left")
            .join(inputs.famille.select("famille_id", "hosted_free_of_charge"), on="famille_id", how="left")
            .select("famille_id", "menage_id", pl.when(pl.col("hosted_free_of_charge")).then(pl.lit("hosted"))
                    .otherwise(pl.col("housing_status").cast(pl.String)).alias("housing")))


def causes(tp: pl.DataFrame, truth: Path, workspace: Path, month: dt.date) -> pl.DataFrame:
    """The RSA and prime d'activité true positives with the part of each component that differs between the
    truth's situation and the workspace's central values: ``d_housing`` (forfait logement, counted against the
    amount), ``d_composition`` (montant forfaitaire), ``d_resources`` (base ressources, against the amount),
    the truth's housing and the workspace's, whether the workspace's housing is unknown, and the cause."""
    _, tin = truth_core(truth, month)
    wcore = workspace_core(workspace, month)
    win = wcore.inputs
    tc, wc = _components(tin, month), _components(win, month)
    th, wh = _housing(tin), _housing(win)
    unknown_housing = (wcore.unknowns.filter(pl.col("input") == "housing_status")
                       .select(pl.col("id").alias("menage_id"), pl.lit(True).alias("ws_housing_unknown")))
    wh = wh.join(unknown_housing, on="menage_id", how="left").with_columns(pl.col("ws_housing_unknown")
                                                                          .fill_null(False))
    frames = []
    for b in ("rsa", "ppa"):
        x = (tp.filter(pl.col("benefit") == b)
             .join(tc[b].rename({"fl": "fl_t", "mf": "mf_t", "res": "res_t"}), left_on="truth_id",
                   right_on="famille_id", how="left")
             .join(wc[b].rename({"fl": "fl_w", "mf": "mf_w", "res": "res_w"}), left_on="unit_id",
                   right_on="famille_id", how="left")
             .join(th.select("famille_id", pl.col("housing").alias("truth_housing")), left_on="truth_id",
                   right_on="famille_id", how="left")
             .join(wh.select("famille_id", pl.col("housing").alias("ws_housing"), "ws_housing_unknown"),
                   left_on="unit_id", right_on="famille_id", how="left"))
        frames.append(x.with_columns(
            (pl.col("amount_central") - pl.col("amount_true")).alias("gap"),
            (pl.col("fl_t") - pl.col("fl_w")).alias("d_housing"),
            (pl.col("mf_w") - pl.col("mf_t")).alias("d_composition"),
            (pl.col("res_t") - pl.col("res_w")).alias("d_resources")))
    x = pl.concat(frames, how="diagonal_relaxed")
    moved = {c: pl.col(c).abs() > 0.01 for c in ("d_housing", "d_composition", "d_resources")}
    label = pl.concat_str([pl.when(moved["d_housing"]).then(
                               pl.lit("housing (truth ") + pl.col("truth_housing") + pl.lit(", workspace ")
                               + pl.when(pl.col("ws_housing_unknown")).then(pl.lit("unknown → "))
                               .otherwise(pl.lit("")) + pl.col("ws_housing") + pl.lit(") ")).otherwise(pl.lit("")),
                           pl.when(moved["d_composition"]).then(pl.lit("composition ")).otherwise(pl.lit("")),
                           pl.when(moved["d_resources"]).then(pl.lit("resources")).otherwise(pl.lit(""))])
    return x.with_columns(pl.when(pl.col("gap").abs() <= 0.01).then(pl.lit("none (same amount)"))
                          .otherwise(label.str.strip_chars()).alias("cause"))


def cause_table(c: pl.DataFrame) -> pl.DataFrame:
    """Per benefit, grade set and cause: units, over and under the truth, the € of the gap."""
    c = c.with_columns(pl.when(pl.col("grade").is_in(list(GRADES[:2]))).then(pl.lit("certain+probable"))
                       .otherwise(pl.lit("possible")).alias("grades"))
    return (c.group_by("benefit", "grades", "cause")
            .agg(pl.len().alias("units"), (pl.col("gap") > 0.01).sum().alias("over"),
                 (pl.col("gap") < -0.01).sum().alias("under"), pl.col("gap").sum().round(2).alias("gap_eur"))
            .sort("benefit", "grades", "units", descending=[False, False, True]))


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--run", type=Path, required=True)
    ap.add_argument("--truth", type=Path, required=True)
    ap.add_argument("--agreement", type=Path, required=True)
    ap.add_argument("--workspace", type=Path, help="with it, the causes of the RSA's and PPA's gaps")
    ap.add_argument("--out", type=Path, required=True, help="results path without extension (.json)")
    args = ap.parse_args()
    s = json.loads((args.run / "summary.json").read_text(encoding="utf-8"))
    y, m = (int(x) for x in s["month"].split("-"))
    month = dt.date(y, m, 1)
    tp = true_positives(args.run, args.truth, args.agreement, month)
    res: dict[str, Any] = {"month": s["month"], "run": str(args.run)}
    for name, grades in (("certain+probable", GRADES[:2]), ("all", GRADES)):
        res[name] = summary(tp, grades).to_dicts()
    if args.workspace:
        c = causes(tp, args.truth, args.workspace, month)
        c.drop("truth_id", "unit_id").write_parquet(args.out.with_suffix(".causes.parquet"))
        res["causes"] = cause_table(c).to_dicts()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(res, indent=2, default=str, ensure_ascii=False) + "\n",
                                             encoding="utf-8")


if __name__ == "__main__":
    main()
