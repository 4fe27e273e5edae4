"""From canonical tables to the rule engine's inputs for one evaluated month.

The canonical tables are long and agency-shaped (memberships with validity months, resources by kind,
payments by benefit); the engine wants one frame per entity with one column per input variable. This
module does that reshaping in bulk (DuckDB-friendly Polars: joins, pivots, no loop over people):

- units and roles are those valid on the evaluated month;
- age is in whole years on the first day of the month, from the birth month;
- monthly resources are pivoted by kind for the ``lookback`` months before the month and the month itself;
- benefits paid to a famille become its monthly ``af``, ``paje_base``, ``asf``, ``aide_logement``;
- the couple kind comes from the tax household: partners filing together are married or pacsed (the
  rules treat both alike), partners filing apart are cohabiting;
- a famille whose demandeur is neither the ménage's reference person nor its partner is hosted free of
  charge (an adult child or an elderly parent living with a family).

When several agencies report the same fact, the first agency of ``SOURCE_PRIORITY`` wins and the
chosen agency is kept in a ``<column>__source`` column, which explanations quote.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import polars as pl

from nonrecours.errors import SchemaError
from nonrecours.schemas.months import add_months, month_index, month_index_expr

__all__ = ["RESOURCE_INPUTS", "SOURCE_PRIORITY", "build_inputs"]

RESOURCE_INPUTS: dict[str, str] = {
    "salary_net": "salary_net",
    "unemployment_benefit": "unemployment",
    "pension_net": "pension_net",
    "pension_gross": "pension_gross",
    "invalidity_pension": "invalidity_pension",
    "alimony": "alimony_received",
}
"""Canonical resource kind → rule input variable. ``salary_taxable``, ``self_employment`` and ``other``
are not read by the current rules (documented in docs/benefits.md)."""

FAMILY_PAYMENTS = ("af", "paje_base", "asf", "aide_logement")

SOURCE_PRIORITY: dict[str, tuple[str, ...]] = {
    # The agency closest to the fact first: payroll and tax for salaries, the payer for a benefit.
    "salary_net": ("dgfip", "caf", "msa", "france_travail", "cnam", "cnav", "synth"),
    "unemployment": ("france_travail", "caf", "dgfip", "msa", "cnam", "cnav", "synth"),
    "pension_net": ("cnav", "msa", "dgfip", "caf", "cnam", "france_travail", "synth"),
    "pension_gross": ("cnav", "msa", "dgfip", "caf", "cnam", "france_travail", "synth"),
    "invalidity_pension": ("cnam", "msa", "caf", "dgfip", "cnav", "france_travail", "synth"),
    "alimony_received": ("caf", "dgfip", "msa", "cnam", "cnav", "france_travail", "synth"),
    "default": ("caf", "msa", "cnav", "cnam", "dgfip", "france_travail", "synth"),
}


def _rank(column: str) -> pl.Expr:
    order = SOURCE_PRIORITY.get(column, SOURCE_PRIORITY["default"])
    return pl.col("source_agency").cast(pl.String).replace_strict(
        {a: i for i, a in enumerate(order)}, default=len(order), return_dtype=pl.Int32)


_month_index = month_index_expr


def _valid_on(month: dt.date) -> pl.Expr:
    return (pl.col("valid_from") <= month) & (pl.col("valid_to").is_null() | (pl.col("valid_to") >= month))


def build_inputs(
    tables: Mapping[str, pl.DataFrame | pl.LazyFrame],
    month: dt.date,
    *,
    lookback: int = 12,
) -> object:
    """Engine ``Inputs`` for ``month`` from canonical tables (persons, unit_memberships, resources,
    benefits_paid, housing). Persons without a famille and a ménage on that month are left out."""
    from nonrecours.engine import Inputs

    if month.day != 1:
        raise SchemaError("the evaluated month must be the first day of a month", column="month")
    lf = {k: (v.lazy() if isinstance(v, pl.DataFrame) else v) for k, v in tables.items()}
    for needed in ("persons", "unit_memberships"):
        if needed not in lf:
            raise SchemaError("table needed to build the rule inputs", table=needed)
    first = add_months(month, -lookback)
    m_idx = month_index(month)

    members = (
        lf["unit_memberships"].filter(_valid_on(month))
        .sort(_rank("default"))
        .unique(subset=["person_id", "unit_kind"], keep="first", maintain_order=True)
        .select("person_id", pl.col("unit_kind").cast(pl.String), "unit_id", pl.col("role").cast(pl.String))
        .collect()
        .pivot("unit_kind", index="person_id", values=["unit_id", "role"])
    )
    rename = {}
    for kind in ("famille", "foyer_fiscal", "menage"):
        rename[f"unit_id_{kind}"] = f"{kind}_id"
        rename[f"role_{kind}"] = f"{kind}_role"
    members = members.rename({k: v for k, v in rename.items() if k in members.columns})
    for kind in ("famille", "foyer_fiscal", "menage"):
        for col in (f"{kind}_id", f"{kind}_role"):
            if col not in members.columns:
                members = members.with_columns(pl.lit(None, dtype=pl.String).alias(col))
    members = members.filter(pl.col("famille_id").is_not_null() & pl.col("menage_id").is_not_null())

    persons = (
        lf["persons"].sort(_rank("default")).unique(subset=["person_id"], keep="first", maintain_order=True)
        .select(
            "person_id",
            ((m_idx - _month_index("birth_month")) // 12).alias("age"),
            "student", "pregnant", "disability_rate",
            pl.col("nationality_group").cast(pl.String),
            pl.col("residence_permit_years").cast(pl.Float64).fill_null(0.0),
            "depcom",
            pl.col("source_agency").cast(pl.String).alias("persons__source"),
            (_month_index("birth_month") <= m_idx).alias("_born"),
        ).collect()
    )
    individu = members.join(persons, on="person_id", how="inner").filter(pl.col("_born")).drop("_born")
    individu = individu.with_columns(pl.lit(False).alias("rsdae"), pl.lit(False).alias("unfit_for_work"))

    # Monthly resources: one row per person and month, one column per input, with the chosen source.
    monthly = individu.select("person_id")
    resources = None
    if "resources" in lf:
        kinds = list(RESOURCE_INPUTS)
        long = (
            lf["resources"]
            .filter((pl.col("month") >= first) & (pl.col("month") <= month)
                    & pl.col("kind").cast(pl.String).is_in(kinds))
            .with_columns(pl.col("kind").cast(pl.String).replace_strict(RESOURCE_INPUTS).alias("input"))
            .join(monthly.lazy(), on="person_id", how="semi")
            .collect()
        )
        if long.height:
            priority = pl.DataFrame(
                [(name, agency, rank) for name in RESOURCE_INPUTS.values()
                 for rank, agency in enumerate(SOURCE_PRIORITY.get(name, SOURCE_PRIORITY["default"]))],
                schema={"input": pl.String, "_agency": pl.String, "_rank": pl.Int32}, orient="row")
            ranked = (long.with_columns(pl.col("source_agency").cast(pl.String).alias("_agency"))
                      .join(priority, on=["input", "_agency"], how="left")
                      .with_columns(pl.col("_rank").fill_null(len(SOURCE_PRIORITY["default"]))))
            best = (ranked.sort("_rank").unique(subset=["person_id", "month", "input"], keep="first")
                    .with_columns(pl.col("amount").cast(pl.Float64)))
            resources = best.pivot("input", index=["person_id", "month"], values="amount", aggregate_function=None)
            sources = best.select("person_id", "month", "input", pl.col("source_agency").cast(pl.String)).pivot(
                "input", index=["person_id", "month"], values="source_agency", aggregate_function=None)
            sources = sources.rename({c: f"{c}__source" for c in sources.columns if c not in ("person_id", "month")})
            resources = resources.join(sources, on=["person_id", "month"], how="left")
            for name in RESOURCE_INPUTS.values():
                if name not in resources.columns:
                    resources = resources.with_columns(pl.lit(0.0).alias(name))
            resources = resources.with_columns([pl.col(n).fill_null(0.0) for n in RESOURCE_INPUTS.values()])

    # Famille: couple kind, hosted free of charge, and the CAF's monthly payments.
    heads = individu.filter(pl.col("famille_role").is_in(["demandeur", "conjoint"]))
    famille = heads.group_by("famille_id").agg(
        pl.len().alias("_parents"),
        pl.col("foyer_fiscal_id").n_unique().alias("_foyers"),
        pl.col("menage_role").filter(pl.col("famille_role") == "demandeur").first().alias("_head_menage_role"),
    ).select(
        "famille_id",
        pl.when(pl.col("_parents") < 2).then(pl.lit(""))
        .when(pl.col("_foyers") == 1).then(pl.lit("married")).otherwise(pl.lit("cohabiting")).alias("couple_kind"),
        pl.lit(False).alias("recent_isolation"),
        (~pl.col("_head_menage_role").is_in(["personne_de_reference", "conjoint"])).fill_null(False)
        .alias("hosted_free_of_charge"),
    )
    famille_monthly = None
    if "benefits_paid" in lf:
        paid = (
            lf["benefits_paid"]
            .filter((pl.col("unit_kind") == "famille") & pl.col("benefit").cast(pl.String).is_in(FAMILY_PAYMENTS)
                    & (pl.col("month") >= first) & (pl.col("month") <= month))
            .with_columns(pl.col("benefit").cast(pl.String), _rank("default").alias("_rank"))
            .sort("_rank").unique(subset=["unit_id", "month", "benefit"], keep="first")
            .select(pl.col("unit_id").alias("famille_id"), "month", "benefit", pl.col("amount").cast(pl.Float64))
            .join(famille.lazy().select("famille_id"), on="famille_id", how="semi")
            .collect()
        )
        if paid.height:
            famille_monthly = paid.pivot("benefit", index=["famille_id", "month"], values="amount",
                                         aggregate_function=None)
            for name in FAMILY_PAYMENTS:
                if name not in famille_monthly.columns:
                    famille_monthly = famille_monthly.with_columns(pl.lit(0.0).alias(name))
            famille_monthly = famille_monthly.with_columns([pl.col(n).fill_null(0.0) for n in FAMILY_PAYMENTS])

    # Ménage: commune of the reference person, housing status and rent of the month.
    menage = (
        individu.sort(pl.col("menage_role") != "personne_de_reference")
        .unique(subset=["menage_id"], keep="first", maintain_order=True)
        .select("menage_id", "depcom",
                pl.col("depcom").str.slice(0, 3).is_in(["971", "972", "973", "974"]).alias("residence_dom"))
    )
    if "housing" in lf:
        housing = (
            lf["housing"].filter(pl.col("month") == month)
            .with_columns(_rank("default").alias("_rank")).sort("_rank")
            .unique(subset=["menage_id"], keep="first")
            .select("menage_id", pl.col("status").cast(pl.String).alias("housing_status"),
                    pl.col("rent").cast(pl.Float64), pl.col("source_agency").cast(pl.String).alias("rent__source"))
            .collect()
        )
        menage = menage.join(housing, on="menage_id", how="left").with_columns(
            pl.col("housing_status").fill_null("free"), pl.col("rent").fill_null(0.0))
    else:
        menage = menage.with_columns(pl.lit("free").alias("housing_status"), pl.lit(0.0).alias("rent"))

    individu = individu.drop("depcom")
    return Inputs(individu=individu, individu_monthly=resources, famille=famille,
                  famille_monthly=famille_monthly, menage=menage)
