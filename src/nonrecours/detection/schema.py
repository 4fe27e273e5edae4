"""The detection outputs' columns: one place, read by detection, outputs and tests alike."""

from __future__ import annotations

import polars as pl

from nonrecours.core.month import PROVENANCE_SCHEMA

__all__ = ["DUE_PROVENANCE_SCHEMA", "FLAGS_SCHEMA", "GRADES", "STATUSES", "UNITS_SCHEMA"]

STATUSES: tuple[str, ...] = ("non_take_up", "under_payment", "consistent", "paid_not_entitled", "not_entitled")
"""non_take_up: entitled, nothing paid; under_payment: paid clearly less than the least favourable estimate;
consistent: paid and entitled (or neither); paid_not_entitled: a self-check on our data, never a contact."""

GRADES: tuple[str, ...] = ("certain", "probable", "possible")
"""certain: entitled whatever the unknowns; probable: on the central values; possible: only on favourable
values."""

FLAGS_SCHEMA: dict[str, pl.DataType] = {
    "month": pl.Date(),
    "unit_kind": pl.String(),
    "unit_id": pl.String(),
    "claimant_id": pl.String(),                 # person_id (pseudonym) of the claimant
    "adult_ids": pl.List(pl.String()),          # person_ids of the unit's adults
    "benefit": pl.String(),
    "status": pl.String(),                      # non_take_up | under_payment
    "grade": pl.String(),                       # certain | probable | possible
    "amount_low": pl.Float64(),                 # monthly euros, least favourable unknowns (a coverage, the
    "amount_central": pl.Float64(),             # CSS: the participation the foyer would pay, 0 if free)
    "amount_high": pl.Float64(),
    "paid": pl.Float64(),                       # paid this month (0 when nothing; null: payments unknown)
    "paid_before": pl.Float64(),                # paid over the months before (window of the run; null: unknown)
    "deciding_unknowns": pl.List(pl.String()),  # inputs whose value decides the grade
    "reasons": pl.List(pl.String()),            # plain French, each with the agency of the fact used
    "linked": pl.List(pl.String()),             # other benefits this flag brings (RSA -> css_free)
}
"""flags.parquet: one row per flagged unit and benefit (non-take-up and under-payment only)."""

UNITS_SCHEMA: dict[str, pl.DataType] = {
    "month": pl.Date(),
    "unit_kind": pl.String(),
    "unit_id": pl.String(),
    "benefit": pl.String(),
    "status": pl.String(),
    "grade": pl.String(),                       # null when not entitled on any value
    "amount_low": pl.Float64(),
    "amount_central": pl.Float64(),
    "amount_high": pl.Float64(),
    "paid": pl.Float64(),                       # paid this month (0 when nothing; null: payments unknown)
    "excluded": pl.String(),                    # null, or the exclusion that applies (pending_claim, ...)
    "claimant_id": pl.String(),                 # person_id (pseudonym) of the claimant
    "adult_ids": pl.List(pl.String()),          # person_ids of the unit's adults (to score against a truth)
    "paid_before": pl.Float64(),                # paid over the months before (window of the run; null: unknown)
    "receiving": pl.Boolean(),                  # paid this month (or within the grace months)
    "entitled_low": pl.Boolean(),               # entitled with every unknown at its low end
    "entitled_central": pl.Boolean(),
    "entitled_high": pl.Boolean(),
}
"""units.parquet: every evaluated unit and benefit, so rates can be computed."""

DUE_PROVENANCE_SCHEMA: dict[str, pl.DataType] = {
    "unit_id": pl.String(),     # the flag's unit (the famille of the evaluated month, where the person is contacted)
    "benefit": pl.String(),     # a yearly benefit judged at an earlier month (its payment due: the ARS of August)
    "due_month": pl.Date(),     # the month it was judged at
    **PROVENANCE_SCHEMA,        # the due month's provenance of that famille then: members, famille, ménage, foyer
}
"""provenance_due.parquet: where each fact came from at the month a flag of a yearly benefit was judged at
(``Benefit.due_month`` before the evaluated month), for the flags of such benefits only. The outreach lists quote
these as the facts already held for that benefit, never the evaluated month's ``provenance.parquet``."""
