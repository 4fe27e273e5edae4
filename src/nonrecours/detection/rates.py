"""The non-take-up rate of a set of units: one estimator, read by the statistics and by the evaluation.

Rate = non-take-up units / (non-take-up units + units paid). The units paid are detection's ``receiving``
verdict (paid this month or within the grace months), whatever their grade; the non-take-up units are those of
status ``non_take_up`` whose grade is among ``RATE_GRADES[estimate]``:

- ``low``: certain flags only;
- ``central``: certain and probable flags;
- ``high``: every grade (certain, probable, possible).

The three share one denominator's paid units, so low <= central <= high whatever the counts, each in [0, 1]
(``tests/detection/test_rates.py``); a set with no non-take-up and no paid unit has no rate (null), never 0.

Known bias of the central estimate (docs/detection.md, « The estimated non-take-up rate »): it counts no
``possible`` flag, and a unit the benefit's payer does not follow has more unknowns, so an entitled unit not
paid falls to ``possible`` more often than one paid: the central rate is low where possible flags are many
(RSA, prime d'activité, housing aid, AAH: 2 to 4 points under the synthetic truth). Weighting possible flags
by a probability of entitlement was measured and not adopted (same section): none derived from the run's own
data held on every benefit.
"""

from __future__ import annotations

import polars as pl

__all__ = ["ESTIMATES", "RATE_GRADES", "non_take_up_rate", "rate_counts", "rate_measures", "rates_by_benefit"]

ESTIMATES: tuple[str, ...] = ("low", "central", "high")
RATE_GRADES: dict[str, tuple[str, ...]] = {"low": ("certain",), "central": ("certain", "probable"),
                                           "high": ("certain", "probable", "possible")}
"""The grades each estimate counts as non-take-up (one source: statistics, evaluation, report)."""


def rate_measures() -> list[pl.Expr]:
    """Per unit (one row of detection's units table): ``paid`` and ``non_take_up_<estimate>``, 0/1 Int64, so
    that a set's counts are their sums (additive, as the statistics' cells need)."""
    grade, ntu = pl.col("grade"), pl.col("status") == "non_take_up"
    return [pl.col("receiving").fill_null(False).cast(pl.Int64).alias("paid"),
            *[(ntu & grade.is_in(list(RATE_GRADES[e]))).cast(pl.Int64).alias(f"non_take_up_{e}")
              for e in ESTIMATES]]


def non_take_up_rate(estimate: str, *, non_take_up: str | None = None, paid: str = "paid") -> pl.Expr:
    """The rate at ``estimate`` from summed counts (columns ``non_take_up_<estimate>`` and ``paid``): null when
    both are 0. Named ``non_take_up_rate_<estimate>``."""
    if estimate not in RATE_GRADES:
        raise ValueError(f"estimate must be one of {ESTIMATES}")
    nt, p = pl.col(non_take_up or f"non_take_up_{estimate}"), pl.col(paid)
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
