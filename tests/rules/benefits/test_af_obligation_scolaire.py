"""A child of compulsory school age opens the family benefits whatever it earns (CSS art. L512-3, 1°); the
earnings ceiling of R512-2 (55 % of 169 hours of SMIC) applies only past the end of compulsory schooling, 16
(L512-3, 2°; code de l'éducation art. L131-1). OpenFisca-France 176.1.8 reads it the same way
(``prestations_familiales_enfant_a_charge``: under 16 the child counts whatever ``autonomie_financiere``)."""

from __future__ import annotations

import pytest

from nonrecours.simulation import simulate

MONTH = "2025-10"
AF_TWO_CHILDREN = 151.80  # 32 % of the BMAF of April 2025 (474.37 EUR), CSS art. D521-1


def _situation(age: int, salary: float) -> dict:
    return {"id": f"earning-{age}-{salary}", "month": MONTH, "depcom": "46042",
            "housing": {"status": "tenant", "rent": 600.0},
            "persons": [{"role": "parent", "age": 42, "monthly": {"salary_net": 2400.0}},
                        {"role": "child", "age": age, "monthly": {"salary_net": salary}},
                        {"role": "child", "age": 10}]}


@pytest.mark.parametrize(("age", "salary", "expected"), [
    (15, 1200.0, AF_TWO_CHILDREN),  # under 16: at charge whatever it earns (L512-3, 1°)
    (15, 0.0, AF_TWO_CHILDREN),
    (16, 1200.0, 0.0),              # past compulsory schooling, over 55 % of the SMIC: not at charge (R512-2)
    (16, 900.0, AF_TWO_CHILDREN),   # under the ceiling (55 % x 169 x 11.88 = 1 104.25 EUR in October 2025)
])
def test_af_earnings_ceiling_only_past_compulsory_schooling(age: int, salary: float, expected: float) -> None:
    (rec,) = simulate([_situation(age, salary)]).records()
    assert rec["af"] == pytest.approx(expected, abs=0.01)
