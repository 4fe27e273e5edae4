"""The AAH beside the ASI (CSS art. L821-1, L815-24, R821-4): the AAH tops up the claimant's *own* invalidity
benefits (pension and ASI of the month before) up to its amount, and the ASI is no resource of the AAH (the
AAH's resources are the categories of income tax, R821-4 and R532-3; the ASI is outside income tax). Amounts
from the differential runs against OpenFisca-France 176.1.8 (docs/oracle_disagreements.md, "The AAH beside
the ASI")."""

from __future__ import annotations

import pytest

from nonrecours.simulation import simulate


def _records(sit: dict) -> dict:
    (rec,) = simulate([sit]).records()
    return rec


def test_aah_reduced_by_the_claimants_own_half_of_a_couples_asi() -> None:
    """d6101-265: married, both on an invalidity pension and both holding the ASI (987.13 EUR for the couple);
    the claimant of 64 (50 %, RSDAE) gets 1 033.32 - 316.90 - 493.565 (its half of July's ASI) = 222.855 EUR, as
    OpenFisca (which shows 222.85); deducting the couple's whole ASI gave 0. ``simulate`` writes it to the cent
    as the rules round, half away from zero: 222.86."""
    sit = {"id": "d6101-265", "month": "2025-08", "depcom": "75056", "housing": {"status": "tenant", "rent": 844.19},
           "persons": [{"role": "parent", "age": 18, "unit": "main", "nationality": "SN", "residence_permit_years": 10,
                        "monthly": {"salary_net": 633.47, "invalidity_pension": 296.97}},
                       {"role": "parent", "age": 64, "unit": "main", "monthly": {"invalidity_pension": 316.9},
                        "disability_rate": 0.5, "rsdae": True}],
           "couple": "married"}
    rec = _records(sit)
    assert rec["asi"] == pytest.approx(987.13, abs=0.01)
    assert rec["aah"] == 222.86


def test_asi_is_no_resource_of_the_aah() -> None:
    """d6200-1691: a worker (quarterly evaluation) with an invalidity pension of 280.30 and the ASI (122.81 EUR):
    AAH = min(971.37 - 398.20, 971.37 - 280.30 - 122.81) = 568.26 EUR. OpenFisca-France adds the ASI of the
    three months before to the resources as well (450.36 EUR), which counts it twice."""
    sit = {"id": "d6200-1691", "month": "2024-03", "depcom": "13055",
           "housing": {"status": "owner_with_loan", "rent": 1027.04, "loan_date": "2019-03-12"},
           "persons": [{"role": "parent", "age": 34, "unit": "main", "disability_rate": 0.8, "pregnant": True,
                        "monthly": {"salary_net": 634.1, "invalidity_pension": 280.3}},
                       {"role": "parent", "age": 63, "unit": "main", "monthly": {"pension": 1020.36}}],
           "couple": "cohabiting"}
    rec = _records(sit)
    assert rec["asi"] == pytest.approx(122.81, abs=0.01)
    assert rec["aah"] == pytest.approx(568.26, abs=0.01)
