"""The non-take-up rate of a set of units: one estimator, read by the statistics and by the evaluation.

Rate = non-take-up units / (non-take-up units + units paid), at three estimates:

- ``central``: among the units whose entitlement the data establish (grade certain or probable), paid or not:
  non-take-up units so graded / (those + paid units so graded). The grade filters both sides alike;
- ``low``: certain non-take-up units only, against every unit paid (detection's ``receiving`` verdict: paid this
  month or within the grace months), whatever its grade: the fewest non-take-up against the most paid;
- ``high``: non-take-up units of every grade (certain, probable, possible) against the paid units certain or
  probable: the most non-take-up against the paid units our data confirm.

So low <= central <= high whatever the counts, each in [0, 1] (``tests/detection/test_rates.py``); a set with
nothing to rate has no rate (null), never 0. Low and high are bounds under the run's own data: they do not
see a payment no extract carries, nor a non-take-up case no variant entitles (docs/detection.md, « The estimated
non-take-up rate », with the figures).

Known bias of the central estimate: a unit the benefit's payer does not follow has more unknowns, so an entitled
unit not paid falls to ``possible`` more often than one paid, and the central rate is low where possible flags
are many (RSA, prime d'activité, housing aid, AAH: 2 to 5 points under the synthetic truths). Weighting the
possible flags by a probability of entitlement was measured and not adopted (same section).
"""

from __future__ import annotations

import polars as pl

__all__ = ["CONFIRMED", "ESTIMATES", "RATE_GRADES", "RATE_PAID", "non_take_up_rate", "rate_counts", "rate_measures",
           "rates_by_benefit"]

ESTIMATES: tuple[str, ...] = ("low", "central", "high")
RATE_GRADES: dict[str, tuple[str, ...]] = {"low": ("certain",), "central": ("certain", "probable"),
                                           "high": ("certain", "probable", "possible")}
"""The grades each estimate counts as non-take-up (one source: statistics, evaluation, report)."""
CONFIRMED: tuple[str, ...] = ("certain", "probable")
RATE_PAID: dict[str, str] = {"low": "paid", "central": "paid_confirmed", "high": "paid_confirmed"}
"""The count of paid units each estimate divides by: every unit paid (``paid``), or those certain or probable
(``paid_confirmed``)."""


def rate_measures() -> list[pl.Expr]:
    """Per unit (one row of detection's units table): ``paid``, ``paid_confirmed`` and
    ``non_take_up_<estimate>``, 0/1 Int64, so that a set's counts are their sums (additive, as the statistics'
    cells need)."""
    grade, ntu = pl.col("grade"), pl.col("status") == "non_take_up"
    paid = pl.col("receiving").fill_null(False)
    return [paid.cast(pl.Int64).alias("paid"),
            (paid & grade.is_in(list(CONFIRMED))).cast(pl.Int64).alias("paid_confirmed"),
            *[(ntu & grade.is_in(list(RATE_GRADES[e]))).cast(pl.Int64).alias(f"non_take_up_{e}")
              for e in ESTIMATES]]


def non_take_up_rate(estimate: str) -> pl.Expr:
    """The rate at ``estimate`` from summed counts (columns ``non_take_up_<estimate>`` and its ``RATE_PAID``):
    null when both are 0. Named ``non_take_up_rate_<estimate>``."""
    if estimate not in RATE_GRADES:
        raise ValueError(f"estimate must be one of {ESTIMATES}")
    nt, p = pl.col(f"non_take_up_{estimate}"), pl.col(RATE_PAID[estimate])
    # the division sits inside the branch: Polars evaluates every branch, and 0/0 is NaN, not null
    return (pl.when((nt + p) > 0).then(nt / pl.when((nt + p) > 0).then(nt + p))
            .alias(f"non_take_up_rate_{estimate}"))


def rate_counts(units: pl.DataFrame | pl.LazyFrame, by: list[str] | None = None) -> pl.DataFrame:
    """The counts of ``units`` (detection's units table) summed per ``by`` (default: benefit)."""
    by = by or ["benefit"]
    return (units.lazy().select(*by, *rate_measures()).group_by(by).agg(pl.all().sum()).sort(by).collect())


def rates_by_benefit(units: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """Per benefit: the counts and ``non_take_up_rate_low/central/high``."""
    return rate_counts(units).with_columns(non_take_up_rate(e) for e in ESTIMATES)
