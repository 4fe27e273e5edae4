"""The base part of the allocations familiales that RSA and prime d'activité count, read from a payment that
holds no allocation forfaitaire.

RSA and prime d'activité count the allocations familiales paid but not their majorations pour âge nor the
allocation forfaitaire of a child of 20 (CASF art. R262-11, 3°; CSS art. R844-5): the base part, at the modulation
rate by resources (CSS art. D521-1 to D521-3) the payment shows. A famille of three children of whom one is 20
may be paid the allowance of its two younger children only (the allocation forfaitaire is not paid, or not
yet): 32 % of the BMAF is then the base at the full rate, not half of a total that would hold the forfait."""

from __future__ import annotations

import datetime as dt

import pytest

from nonrecours.engine import Inputs, evaluate
from nonrecours.simulation import load_situations

JUNE = dt.date(2026, 6, 1)
MAY = dt.date(2026, 5, 1)
BMAF_2026 = 478.16  # BMAF from 1 April 2026 (parameters.md: bmaf.bmaf)


def _situation(af: float, salary: float = 0.0) -> dict:
    """A couple, children of 4, 10 and 20 (a student without resources), tenant, the AF paid ``af``."""
    return {"id": "forfait", "month": "2026-06", "depcom": "46042", "housing": {"status": "tenant", "rent": 600},
            "couple": "married",
            "persons": [{"role": "parent", "age": 52, "monthly": {"salary_net": salary}},
                        {"role": "parent", "age": 52},
                        {"role": "child", "age": 4}, {"role": "child", "age": 10},
                        {"role": "child", "age": 20, "student": True}],
            "benefits_paid": {"main": {"af": af, "paje_base": 0, "asf": 0, "aide_logement": 0}}}


def _famille(situation: dict, month: dt.date, targets: list[str], backend: str = "polars") -> dict:
    batch = load_situations([situation])
    assert batch.errors == []
    frames = batch.frames_for_month(dt.date.fromisoformat(f"{situation['month']}-01"))
    return evaluate(targets, Inputs(**frames), month, backend=backend)["famille"].row(0, named=True)


@pytest.fixture(scope="module", params=["polars", "duckdb"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_a_payment_without_the_forfait_is_the_base_at_the_full_rate(backend) -> None:
    paid = round(0.32 * BMAF_2026, 2)  # 153.01: two children, no majoration, no allocation forfaitaire
    got = _famille(_situation(paid), MAY, ["af_nb_forfait", "af_base"], backend)
    assert got["af_nb_forfait"] == 1  # the child of 20 could open the allocation forfaitaire
    assert got["af_base"] == pytest.approx(paid, abs=0.01)  # not 76.51, half of the base


@pytest.mark.parametrize("modulation", [1.0, 0.5, 0.25])
def test_a_payment_with_the_forfait_shows_its_modulation(modulation: float) -> None:
    """Paid with the allocation forfaitaire (20.234 % of the BMAF) at the full rate, half or a quarter: the base
    counted is 32 % of the BMAF at that rate, the forfait left out (R262-11, 3°)."""
    paid = round(modulation * (0.32 + 0.20234) * BMAF_2026, 2)
    got = _famille(_situation(paid), MAY, ["af_base"])
    assert got["af_base"] == pytest.approx(modulation * 0.32 * BMAF_2026, abs=0.01)


def test_the_prime_counts_the_base_paid() -> None:
    """The prime d'activité of June (a salary of 1,900 €): the allowance paid in March to May enters its
    resources whole (no majoration nor forfait in it), as OpenFisca-France 176.1.8 counts it."""
    without = _famille(_situation(0.0, 1900.0), JUNE, ["ppa"])["ppa"]
    paid = _famille(_situation(round(0.32 * BMAF_2026, 2), 1900.0), JUNE, ["ppa"])["ppa"]
    # the March allowance is at the March BMAF; 0.32 x the BMAF of each month, the prime's slope 0.61 does not
    # apply to resources other than earnings: the whole base comes off
    assert without - paid == pytest.approx(0.32 * BMAF_2026, abs=1.0)


def _three_children(ages: tuple[int, int, int], af: float, salary: float) -> dict:
    """A married couple of 40 and 39, owners in Cahors, three children, the AF paid ``af`` in October 2025."""
    return {"id": "afq", "month": "2025-10", "depcom": "46042", "housing": {"status": "owner"}, "couple": "married",
            "persons": [{"role": "parent", "age": 40, "monthly": {"salary_net": salary}}, {"role": "parent", "age": 39},
                        *[{"role": "child", "age": a} for a in ages]],
            "benefits_paid_in_month": salary == 0,
            "benefits_paid": {"main": {"af": af, "paje_base": 0.0, "asf": 0.0, "aide_logement": 0.0}}}


@pytest.mark.parametrize(("ages", "af", "salary", "target", "expected"), [
    # the two-child base (151.80 at the 2025 BMAF): the CAF knows two of the three children; not a quarter of the
    # three-child total with one majoration (422.19), which counted 86.57 (PPA 755.92, RSA 1,140.14)
    ((15, 12, 9), 151.80, 1200.0, "ppa", 690.69),
    ((15, 12, 9), 151.80, 0.0, "rsa", 1074.91),
    # the three-child base without its two age majorations: counted whole, not half of a total holding them (669.35)
    ((16, 14, 10), 346.29, 1200.0, "ppa", 496.20),
    # a payment that is no modulated total: counted as paid, at most the base (as OpenFisca-France 176.1.8)
    ((16, 14, 10), 227.70, 1200.0, "ppa", 614.79),
])
def test_a_payment_short_of_its_majorations_or_a_child_is_no_reduced_rate(ages, af, salary, target, expected) -> None:
    """Found by an outside tester (probe5_sit, 6 December 2026): the rate was read as the modulated total nearest
    the amount paid, whatever the distance. The rate a payment shows is read only where it is such a total; the
    resources of year N-2 give it otherwise (here the full rate), and the base counted is at most the payment
    (CASF art. R262-11, 3°; the amounts are OpenFisca-France 176.1.8's, the RSA one by hand: 2.5 x 646.52 - 192.02
    - 151.80 - 197.58)."""
    got = _famille(_three_children(ages, af, salary), dt.date(2025, 10, 1), [target])
    assert got[target] == pytest.approx(expected, abs=0.01)
