"""The complément familial the other benefits count is the one received when the payers' extracts say it (CSS
art. R861-8: the CSS counts the resources « effectivement perçues »; the prime d'activité and the RSA the benefits
paid, CSS art. R844-5, CASF art. R262-10), the computed one only where the payments are unknown (a reference
situation: SITUATION_FORMAT.md has no key for it). Found by a tester's Guadeloupe famille of three children (5
December 2026): paid its AF and not the CF, it was given a CSS with participation for 3,561 € it never had."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from nonrecours.engine import Inputs, evaluate
from nonrecours.simulation import load_situations

JUNE = dt.date(2026, 6, 1)
TARGETS = ["cf", "cf_retenu", "css_cmu_base_ressources", "css_free", "ppa", "pf_retenues_minima", "pf_dues_minima"]


def _famille(cf_paid: float | None, backend: str) -> dict:
    """A couple in Guadeloupe, children of 10, 7 and 4 (the one of 4 opens the overseas CF), 1,700 € of salary,
    the AF paid; ``cf_paid``: the CF the CAF pays every month (None: the payments of the CF are not known)."""
    sit = {"id": "k28", "month": "2026-06", "depcom": "97101", "housing": {"status": "tenant", "rent": 620},
           "persons": [{"role": "parent", "age": 38, "monthly": {"salary_net": 1700}}, {"role": "parent", "age": 36},
                       {"role": "child", "age": 10}, {"role": "child", "age": 7}, {"role": "child", "age": 4}],
           "benefits_paid": {"main": {"af": 349.06, "paje_base": 0.0, "asf": 0.0, "aide_logement": 120.0}}}
    batch = load_situations([sit])
    assert batch.errors == []
    frames = batch.frames_for_month(JUNE)
    if cf_paid is not None:
        frames["famille"] = frames["famille"].with_columns(pl.lit(True).alias("cf_versee_connue"))
        frames["famille_monthly"] = frames["famille_monthly"].with_columns(pl.lit(cf_paid).alias("cf_versee"))
    res = evaluate(TARGETS, Inputs(**frames), JUNE, missing_inputs="default", backend=backend)
    return res["famille"].row(0, named=True)


@pytest.mark.parametrize("backend", ["polars", "duckdb"])
def test_a_cf_due_and_never_paid_is_no_resource(backend: str) -> None:
    computed = _famille(None, backend)       # payments unknown: the computed CF stands in, as OpenFisca reads it
    unpaid = _famille(0.0, backend)          # the CAF's extract: AF paid, no CF
    assert computed["cf"] > 250             # due: a child of 3 to 5 overseas, under the ceiling
    assert unpaid["cf"] == pytest.approx(computed["cf"])  # still due: the flag of the CF itself
    assert computed["cf_retenu"] == pytest.approx(computed["cf"]) and unpaid["cf_retenu"] == 0.0
    # the CSS's year of resources loses twelve months of a CF never received (revalued in April with the BMAF),
    # and the free CSS follows
    lost = computed["css_cmu_base_ressources"] - unpaid["css_cmu_base_ressources"]
    assert 11.5 * computed["cf"] < lost <= 12 * computed["cf"]
    assert unpaid["css_free"] and not computed["css_free"]
    # the prime d'activité counts the family benefits paid; the RSA under subsidiarity still counts the CF due
    assert unpaid["pf_retenues_minima"] < computed["pf_retenues_minima"]
    assert unpaid["ppa"] > computed["ppa"] + 100
    assert unpaid["pf_dues_minima"] == pytest.approx(computed["pf_dues_minima"])


@pytest.mark.parametrize("backend", ["polars", "duckdb"])
def test_a_cf_paid_counts_as_paid(backend: str) -> None:
    """Paid, the CF counts as paid: the CSS sums the twelve payments; at its computed amount the prime d'activité
    and the RSA count it as before; paid above its base amount (a majorated CF) they count its base amount only
    (CASF art. R262-10-1, CSS art. R844-5)."""
    computed, unpaid = _famille(None, backend), _famille(0.0, backend)
    paid = _famille(computed["cf"], backend)
    assert paid["css_cmu_base_ressources"] - unpaid["css_cmu_base_ressources"] == pytest.approx(
        12 * computed["cf"], abs=0.05)
    for col in ("cf_retenu", "ppa", "pf_retenues_minima"):
        assert paid[col] == pytest.approx(computed[col], abs=0.01), col
    majorated = _famille(computed["cf"] * 1.5, backend)
    assert majorated["pf_retenues_minima"] == pytest.approx(paid["pf_retenues_minima"], abs=0.01)
