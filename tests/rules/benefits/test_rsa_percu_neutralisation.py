"""CCH art. R822-17: the housing aid neutralises the activity income of a famille that « perçoit » the RSA, from
the month after one in which it received it. A famille entitled to the RSA that does not claim it keeps its
income counted; the RSA computed stands in for the RSA received only where its payments are unknown (a reference
situation: SITUATION_FORMAT.md has no key for it)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from nonrecours.engine import evaluate
from nonrecours.engine.inputs import Inputs
from nonrecours.simulation import load_situations

MONTH = dt.date(2026, 1, 1)
TARGETS = ["al_rsa_mois_precedent", "aide_logement_base_ressources",
           "aide_logement_base_ressources_hors_neutralisation", "aide_logement"]
# a single tenant in Cahors earning 500 EUR a month: entitled to about 69 EUR of RSA, every month
SITUATION = {"id": "seul-500", "month": "2026-01", "depcom": "46042", "housing": {"status": "tenant", "rent": 450.0},
             "persons": [{"role": "parent", "age": 35, "unit": "main", "monthly": {"salary_net": 500.0}}]}


def _housing_aid(received: set[dt.date] | None, backend: str) -> dict:
    """The housing aid's values at ``MONTH``: the RSA received in the months of ``received`` (payments known),
    or, with None, unknown (the situation as ``simulate`` reads it)."""
    frames = dict(load_situations([SITUATION]).frames)
    if received is not None:
        fam = frames["famille"].with_columns(pl.lit(True).alias("rsa_percu_connu"))
        months = pl.date_range(dt.date(2024, 1, 1), MONTH, "1mo", eager=True)
        fm = fam.select("famille_id").join(pl.DataFrame({"month": months}), how="cross").with_columns(
            pl.col("month").is_in(sorted(received)).alias("rsa_percu"))
        base = frames["famille_monthly"]
        fm = fm.with_columns(pl.lit(0.0).alias(c) for c in base.columns if c not in fm.columns).select(base.columns)
        frames.update(famille=fam, famille_monthly=fm.cast(base.schema))  # type: ignore[arg-type]
    res = evaluate(TARGETS, Inputs(**frames), MONTH, backend=backend, missing_inputs="error")
    return res["famille"].select(TARGETS).row(0, named=True)


@pytest.mark.parametrize("backend", ["polars", "duckdb"])
def test_the_rsa_not_received_neutralises_nothing(backend: str) -> None:
    computed = _housing_aid(None, backend)
    # payments unknown: the RSA due the month before (about 69 EUR) neutralises the salaries, as before
    assert computed["al_rsa_mois_precedent"] and computed["aide_logement_base_ressources"] == 0.0
    not_received = _housing_aid(set(), backend)
    # entitled, but its payer paid none: the salaries count (12 x 500 less the 10 % deduction, rounded up)
    assert not not_received["al_rsa_mois_precedent"]
    assert not_received["aide_logement_base_ressources"] == 5600.0
    unneutralised = computed["aide_logement_base_ressources_hors_neutralisation"]
    assert not_received["aide_logement_base_ressources"] == unneutralised
    assert 0 < not_received["aide_logement"] < computed["aide_logement"]
    received = _housing_aid({dt.date(2025, 12, 1)}, backend)
    assert received["al_rsa_mois_precedent"] and received["aide_logement_base_ressources"] == 0.0
    assert received["aide_logement"] == computed["aide_logement"]
    # received in the evaluated month only: the neutralisation starts the month after
    this_month = _housing_aid({MONTH}, backend)
    assert this_month["aide_logement_base_ressources"] == 5600.0
