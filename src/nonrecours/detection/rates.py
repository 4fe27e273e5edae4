"""The non-take-up rate of a set of units: one estimator, read by the statistics and by the evaluation.

Rate = non-take-up units / (non-take-up units + units paid). Units paid: detection's ``receiving`` verdict (paid
this month or within the grace months), whatever their grade. Three estimates:

- ``low``: certain non-take-up flags against every unit paid;
- ``high``: non-take-up flags of every grade (certain, probable, possible) against the paid units certain or
  probable (``paid_confirmed``, the paid units our data confirm);
- ``central``: the certain and probable non-take-up flags, each weighted by the inverse of the chance that an
  entitled unit of its *coverage* is graded certain or probable, against every unit paid (capped at the high
  estimate's count).

Why the weights (docs/detection.md, « The estimated non-take-up rate »). A flag is certain or probable when the
data establish the entitlement; an entitled unit the benefit's payer does not follow has more unknowns and is
more often only ``possible``. Counting certain and probable flags alone therefore misses more of the unpaid
entitled units than of the paid ones, and a rate so computed is low (2.8 to 4.3 points for the RSA and the
prime d'activité on the synthetic truths). Within one coverage, the units whose familles the same agency's dossier
defines (the prefix of the unit id, ``core.units.qualified``: ``caf``, ``msa``, ``cnav``, or ``core-famille``
for a famille the core built because no agency's dossier holds it), the data are of the same kind whether the
unit is paid or not. So the chance that an entitled unit is graded certain or probable is estimated, per
benefit and coverage, on the units paid there (entitled by the payer's own decision): ``paid_confirmed /
paid``; where none of the benefit's paid units in a coverage is certain or probable (none paid there, or the
housing aid of the MSA's dossiers, whose dwelling is never known), on that coverage's paid units of every benefit
(pooled); where the coverage has no paid unit certain or probable, 1 (no weight). Each certain or probable flag
of that benefit and coverage then stands for 1 / chance entitled units (inverse probability weighting of the
complete cases). Assumption: within a coverage, being paid does not change how often the data establish an
entitlement. What it cannot see: entitled units a coverage's data never establish (no certain or probable flag
there: the housing aid of familles the CAF does not follow, whose dwelling no extract describes; an AAH with no
disability rate sent); those lie between central and high.

The amount foregone (``FOREGONE``, ``amount_foregone``) has the same three estimates: the gap (estimate minus what
is paid) of the certain flags at ``amount_low``, of the certain and probable flags at ``amount_central`` each
times its central weight (capped at the high amount), of every flag at ``amount_high``; the statistics' of the
non-take-up and under-payment flags (``MISSING``), the evaluation's of the non-take-up flags alone. A coverage (the
CSS) has none: its amounts are the participation the foyer would pay, so it adds no money and its amounts foregone
are null (« sans objet »), not 0 (``detection.targets.cash``).

low <= central <= high whatever the counts, each in [0, 1] (``tests/detection/test_rates.py``); a set with
nothing to rate has no rate (null), never 0. The weights are whole numbers of millionths (``WEIGHT_SCALE``), so
a cell's sum does not depend on the order in which the query engine adds its units.
"""

from __future__ import annotations

import polars as pl

from nonrecours.core.units import qualifier
from nonrecours.detection.schema import GRADES
from nonrecours.detection.targets import cash

__all__ = ["CONFIRMED", "ESTIMATES", "FOREGONE", "GRADE_COUNTS_SCHEMA", "MISSING", "RATE_GRADES", "WEIGHT_SCALE",
           "amount_foregone", "coverage", "estimated_non_take_up", "grade_chances", "grade_counts", "non_take_up_rate",
           "rate_counts", "rates_by_benefit", "with_rate_measures"]

ESTIMATES: tuple[str, ...] = ("low", "central", "high")
RATE_GRADES: dict[str, tuple[str, ...]] = {"low": ("certain",), "central": ("certain", "probable"),
                                           "high": ("certain", "probable", "possible")}
"""The grades of the non-take-up flags each estimate counts (one source: statistics, evaluation, report)."""
CONFIRMED: tuple[str, ...] = ("certain", "probable")
WEIGHT_SCALE = 1_000_000
"""The central estimate's weights are Int64 millionths of a unit: exact sums in any order."""
COUNTS: tuple[str, ...] = ("paid", "paid_confirmed", "non_take_up_low", "non_take_up_central", "non_take_up_high",
                           "non_take_up_weighted")
"""The additive counts of a set of units from which its rates follow (``non_take_up_weighted`` in millionths)."""
FOREGONE: tuple[str, ...] = ("monthly_foregone_low_cents", "monthly_foregone_weighted_cents",
                             "monthly_foregone_high_cents")
"""The additive money missing of a set of units, in whole cents (Int64: exact sums in any order), from which its
amounts foregone follow (``amount_foregone``): at the low estimate the certain flags' gap at ``amount_low``; at
the high estimate the gap of the flags of every grade at ``amount_high``; weighted, the certain and probable flags'
gap at ``amount_central``, each times its central weight (the rate's: 1 / chance of its benefit and coverage),
rounded to the cent per unit."""
MISSING: tuple[str, ...] = ("non_take_up", "under_payment")
"""The statuses whose gap (estimate minus what is paid) is money foregone: the statistics' default."""

GRADE_COUNTS_SCHEMA = {"benefit": pl.String, "grade": pl.String, "flags": pl.Int64, "excluded": pl.Int64}
"""``grade_counts``' table: the flags and the excluded would-be flags of a benefit and grade."""


def grade_counts(flags: pl.DataFrame | pl.LazyFrame, units: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """The flags and the excluded would-be flags (units of a ``MISSING`` status and a grade that an exclusion keeps
    from contact) of each benefit of ``units`` and each grade, 0 where none (``GRADE_COUNTS_SCHEMA``, sorted).
    Detection's summary writes them (``flags_by_benefit_grade``, ``excluded_flags_by_benefit_grade``); the secrecy
    of the published flags reads them (``outputs.answers.flag_grade_pattern``: beside the statistics' counts, the
    flags give the excluded back). One count for both, from the detection's own files."""
    units = units.lazy()
    excluded = (units.filter(pl.col("status").is_in(list(MISSING)) & pl.col("excluded").is_not_null()
                             & pl.col("grade").is_not_null())
                .group_by("benefit", "grade").agg(pl.len().cast(pl.Int64).alias("excluded")))
    shown = flags.lazy().group_by("benefit", "grade").agg(pl.len().cast(pl.Int64).alias("flags"))
    every = (units.select(pl.col("benefit").cast(pl.String)).unique()
             .join(pl.LazyFrame({"grade": list(GRADES)}), how="cross"))
    return (every.join(shown.with_columns(pl.col("benefit", "grade").cast(pl.String)), on=["benefit", "grade"],
                       how="left")
            .join(excluded.with_columns(pl.col("benefit", "grade").cast(pl.String)), on=["benefit", "grade"],
                  how="left")
            .with_columns(pl.col("flags", "excluded").fill_null(0)).cast(GRADE_COUNTS_SCHEMA)  # type: ignore[arg-type]
            .sort("benefit", "grade").collect())


def coverage() -> pl.Expr:
    """The coverage of a unit: the agency whose dossier defines it, the prefix of its id (``core.units.qualified``:
    ``caf:...``, ``core-famille:...``); ``unknown`` for an id without one."""
    return qualifier("unit_id").fill_null("unknown").alias("coverage")


def _paid() -> pl.Expr:
    return pl.col("receiving").fill_null(False)


def grade_chances(units: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """Per benefit and coverage of ``units`` (detection's whole units table): the units paid, those certain or
    probable, and ``chance``, the estimated share of entitled units graded certain or probable there (module
    docstring: the benefit's own paid units, else the coverage's of every benefit, else 1)."""
    paid, grade = _paid(), pl.col("grade")
    own = (units.lazy().select("benefit", coverage(), paid.alias("_p"), (paid & grade.is_in(list(CONFIRMED)))
                               .alias("_c"))
           .group_by("benefit", "coverage").agg(pl.col("_p").sum().cast(pl.Int64).alias("paid"),
                                                pl.col("_c").sum().cast(pl.Int64).alias("paid_confirmed"))
           .collect())
    pooled = own.group_by("coverage").agg(pl.col("paid").sum().alias("_pp"), pl.col("paid_confirmed").sum()
                                          .alias("_pc"))
    chance = (pl.when(pl.col("paid_confirmed") > 0).then(pl.col("paid_confirmed") / pl.col("paid"))
              .when(pl.col("_pc") > 0).then(pl.col("_pc") / pl.col("_pp"))
              .otherwise(1.0))
    return (own.join(pooled, on="coverage", how="left").with_columns(chance.alias("chance"))
            .drop("_pp", "_pc").sort("benefit", "coverage"))


def with_rate_measures(units: pl.DataFrame | pl.LazyFrame, chances: pl.DataFrame, *,
                       foregone: tuple[str, ...] | None = None) -> pl.LazyFrame:
    """``units`` (lazy) with, per unit, the 0/1 Int64 counts ``paid``, ``paid_confirmed``,
    ``non_take_up_<estimate>`` and ``non_take_up_weighted`` (the central weight in millionths, 0 off the certain
    and probable flags), so that a set's counts are their sums (additive, as the statistics' cells need).
    ``chances``: ``grade_chances`` of the whole units table. With ``foregone`` (statuses, e.g. ``MISSING``), the
    ``FOREGONE`` cents too, of the units of those statuses (needs ``amount_low/central/high`` and ``paid``): the
    weighted one uses the very weight the rate does."""
    grade, ntu, paid = pl.col("grade"), pl.col("status") == "non_take_up", _paid()
    weight = (pl.lit(WEIGHT_SCALE, dtype=pl.Float64) / pl.col("_chance")).round(0).cast(pl.Int64)
    confirmed = grade.is_in(list(RATE_GRADES["central"]))
    money = []
    if foregone is not None:
        missing = pl.col("status").is_in(list(foregone)) & cash()  # a coverage's participation is no money missing
        gap = {e: ((pl.col(f"amount_{e}") - pl.col("paid").fill_null(0.0)).clip(lower_bound=0.0) * 100).round(0)
               .cast(pl.Int64) for e in ESTIMATES}
        # cents x millionths rounded half up to the cent, in integers: the same on every engine and in any order
        weighted = (gap["central"] * weight + WEIGHT_SCALE // 2) // WEIGHT_SCALE
        money = [pl.when(missing & grade.is_in(list(RATE_GRADES["low"]))).then(gap["low"]).otherwise(0)
                 .alias("monthly_foregone_low_cents"),
                 pl.when(missing & confirmed).then(weighted).otherwise(0).alias("monthly_foregone_weighted_cents"),
                 pl.when(missing & grade.is_in(list(RATE_GRADES["high"]))).then(gap["high"]).otherwise(0)
                 .alias("monthly_foregone_high_cents")]
    return (units.lazy().with_columns(coverage().alias("_coverage"))
            .join(chances.lazy().select("benefit", pl.col("coverage").alias("_coverage"),
                                        pl.col("chance").alias("_chance")),
                  on=["benefit", "_coverage"], how="left")
            .with_columns(paid.cast(pl.Int64).alias("paid"),
                          (paid & grade.is_in(list(CONFIRMED))).cast(pl.Int64).alias("paid_confirmed"),
                          *[(ntu & grade.is_in(list(RATE_GRADES[e]))).cast(pl.Int64).alias(f"non_take_up_{e}")
                            for e in ESTIMATES],
                          pl.when(ntu & confirmed).then(weight).otherwise(0).alias("non_take_up_weighted"),
                          *money)
            .drop("_coverage", "_chance"))


def amount_foregone(estimate: str) -> pl.Expr:
    """The monthly amount foregone at ``estimate``, in euros, from a set's summed ``monthly_foregone_low``,
    ``monthly_foregone_weighted`` and ``monthly_foregone_high`` (euros: the ``FOREGONE`` cents / 100): the central
    is the weighted amount capped at the high one, as the central count is capped at every flag, so
    low <= central <= high. Null for a coverage (``detection.targets.cash``: the CSS pays no money; its amounts are
    the participation the foyer would pay), never 0. Named ``monthly_foregone_<estimate>``; needs ``benefit``."""
    if estimate not in RATE_GRADES:
        raise ValueError(f"estimate must be one of {ESTIMATES}")
    if estimate == "central":
        value = pl.min_horizontal(pl.col("monthly_foregone_weighted"), pl.col("monthly_foregone_high"))
    else:
        value = pl.col(f"monthly_foregone_{estimate}")
    return pl.when(cash()).then(value).alias(f"monthly_foregone_{estimate}")


def estimated_non_take_up() -> pl.Expr:
    """The central estimate's count of non-take-up units of a set, from its summed ``COUNTS``: the weighted
    certain and probable flags, capped at the flags of every grade (so the central rate stays under the high)."""
    return pl.min_horizontal(pl.col("non_take_up_weighted") / WEIGHT_SCALE, pl.col("non_take_up_high"))


def non_take_up_rate(estimate: str) -> pl.Expr:
    """The rate at ``estimate`` from a set's summed ``COUNTS``: null when there is nothing to rate. Named
    ``non_take_up_rate_<estimate>``."""
    if estimate not in RATE_GRADES:
        raise ValueError(f"estimate must be one of {ESTIMATES}")
    if estimate == "central":
        nt = estimated_non_take_up()
        p = pl.col("paid")
    else:
        nt = pl.col(f"non_take_up_{estimate}").cast(pl.Float64)
        p = pl.col("paid" if estimate == "low" else "paid_confirmed")
    # the division sits inside the branch: Polars evaluates every branch, and 0/0 is NaN, not null
    return pl.when((nt + p) > 0).then(nt / pl.when((nt + p) > 0).then(nt + p)).alias(f"non_take_up_rate_{estimate}")


def rate_counts(units: pl.DataFrame | pl.LazyFrame, by: list[str] | None = None, *,
                foregone: tuple[str, ...] | None = None) -> pl.DataFrame:
    """The ``COUNTS`` of ``units`` (detection's whole units table) summed per ``by`` (default: benefit); with
    ``foregone`` (statuses), the ``FOREGONE`` cents too."""
    by = by or ["benefit"]
    sums = [*COUNTS, *(FOREGONE if foregone is not None else ())]
    return (with_rate_measures(units, grade_chances(units), foregone=foregone).select(*by, *sums).group_by(by)
            .agg(pl.all().sum()).sort(by).collect())


def rates_by_benefit(units: pl.DataFrame | pl.LazyFrame, *, foregone: tuple[str, ...] | None = None) -> pl.DataFrame:
    """Per benefit: the ``COUNTS`` and ``non_take_up_rate_low/central/high``; with ``foregone`` (statuses), the
    ``FOREGONE`` cents and ``monthly_foregone_low/central/high`` in euros (``amount_foregone``)."""
    out = rate_counts(units, foregone=foregone).with_columns(non_take_up_rate(e) for e in ESTIMATES)
    if foregone is None:
        return out
    euros = out.with_columns(pl.col(c).cast(pl.Float64).truediv(100).alias(c.removesuffix("_cents")) for c in FOREGONE)
    return euros.with_columns(amount_foregone(e) for e in ESTIMATES).drop("monthly_foregone_weighted")
