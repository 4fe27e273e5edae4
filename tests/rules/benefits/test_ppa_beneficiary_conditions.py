"""The prime d'activité's conditions of age and of nationality or residence are the beneficiary's (CSS art. L842-2:
« le droit à la prime d'activité est subordonné au respect, par le bénéficiaire, des conditions suivantes »), and
his partner's (R842-2), not any member's: a French child does not open the prime to parents who hold a residence
permit for fewer than five years (probe hh18, tester's note on ``ppa_eligibilite``). The beneficiary is whichever
of the couple claims it, so a couple one of whom meets them stays eligible (as the RSA reads CASF L262-4)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from nonrecours.engine import Inputs, evaluate
from nonrecours.simulation import load_situations

JUNE = dt.date(2026, 6, 1)
TARGETS = ["ppa", "ppa_eligibilite"]


def _couple(key: str, mother: dict) -> dict:
    """Couple 40/38 in Cahors, tenant with no housing aid, the father a non-EU national with a permit held for two
    years earning 1 200 € net, their son of 10 a French national."""
    return {"id": key, "month": "2026-06", "depcom": "46042", "housing": {"status": "tenant", "rent": 500},
            "couple": "married",
            "persons": [{"role": "parent", "age": 40, "nationality": "MA", "residence_permit_years": 2,
                         "monthly": {"salary_net": 1200}},
                        {"role": "parent", "age": 38, **mother},
                        {"role": "child", "age": 10, "nationality": "FR"}],
            "benefits_paid": {"main": {"af": 0, "paje_base": 0, "asf": 0, "aide_logement": 0}}}


def _june(situation: dict, backend: str) -> dict:
    batch = load_situations([situation])
    assert batch.errors == []
    frames: dict[str, pl.DataFrame] = batch.frames_for_month(JUNE)
    return evaluate(TARGETS, Inputs(**frames), JUNE, backend=backend)["famille"].row(0, named=True)


@pytest.mark.parametrize("backend", ["polars", "duckdb"])
def test_a_french_child_does_not_open_the_prime_to_parents_without_five_years_of_permit(backend: str) -> None:
    """Both parents hold a permit for two years (CSS art. L842-2, 2°: five years needed, no exemption of a) to c):
    not EEA, not refugees, a couple has no majoration for isolation): no prime, though their son is French.
    Before the fix any member's nationality opened it: 788.10 € a month."""
    june = _june(_couple("no_parent", {"nationality": "MA", "residence_permit_years": 2}), backend)
    assert june["ppa_eligibilite"] is False
    assert june["ppa"] == 0.0


@pytest.mark.parametrize("backend", ["polars", "duckdb"])
def test_a_couple_one_of_whom_meets_the_condition_stays_eligible(backend: str) -> None:
    """The mother is French: she may be the beneficiary (the condition is the beneficiary's, whoever of the couple
    claims), the prime is due."""
    june = _june(_couple("french_mother", {"nationality": "FR"}), backend)
    assert june["ppa_eligibilite"] is True
    assert june["ppa"] > 0.0
