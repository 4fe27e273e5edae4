"""Dated law: the AAH spouse-income reform of 2023-10 and the refusal of months before the earliest law."""

from __future__ import annotations

import datetime as dt

import pytest

from nonrecours.engine.plan import add_months, build_plan, earliest_month
from nonrecours.errors import NotModelledError, RuleError
from nonrecours.rules.benefits import SIMULATED_RULES
from nonrecours.rules.params import default_parameters
from nonrecours.rules.registry import default_registry
from nonrecours.simulation import load_situations, situations
from nonrecours.simulation.runner import simulate_batch


def _couple(month: str, salary_conjoint: float, children: int = 0) -> dict:
    persons = [{"role": "parent", "age": 40, "disability_rate": 0.8},
               {"role": "parent", "age": 41, "monthly": {"salary_net": salary_conjoint}}]
    persons += [{"role": "child", "age": 5 + k} for k in range(children)]
    return {"id": f"{month}-{salary_conjoint}-{children}", "month": month, "depcom": "46042",
            "couple": "married", "housing": {"status": "tenant", "rent": 400}, "persons": persons}


@pytest.fixture
def months_from_2023(monkeypatch):  # type: ignore[no-untyped-def]
    """The situation format accepts months from 2024-01 (SITUATION_FORMAT.md); the engine itself goes
    back to the earliest law each rule encodes, which these tests exercise."""
    monkeypatch.setattr(situations, "MIN_MONTH", dt.date(2023, 1, 1))


@pytest.mark.parametrize("backend", ["polars", "duckdb"])
@pytest.mark.usefixtures("months_from_2023")
def test_aah_counts_the_spouse_until_september_2023_only(backend: str) -> None:
    """Couple, the claimant 80 % disabled without income, the spouse earning 1 500 € net a month (year N-2
    estimated at 12 x 1 500 x 1.036529 = 18 657.52 € taxable).

    2023-09 (CSS art. L821-3 and D821-8-1 before loi n° 2022-1158 art. 10): spouse's income counted after
    the 10 % deduction and the 5 000 € abatement: (0.9 x 18 657.522 - 5 000) / 12 = 982.6475 a month;
    ceiling 971.37 x 1.81 = 1 758.1797; AAH = min(971.37, 1 758.1797 - 982.6475) = 775.53.
    With two children: abatement 5 000 + 2 x 1 400 = 7 800, (16 791.7698 - 7 800) / 12 = 749.3142;
    ceiling 971.37 x (1 + 0.81 + 2 x 0.5) = 2 729.5497; AAH = min(971.37, 1 980.24) = 971.37.
    2023-10 (déconjugalisation): own resources only, AAH = 971.37 whatever the spouse earns.
    """
    sits = [_couple("2023-09", 1500), _couple("2023-10", 1500), _couple("2023-09", 1500, children=2),
            _couple("2023-09", 3000)]
    units = simulate_batch(load_situations(sits), backend=backend, targets=("aah_famille",)).units
    got = {r["id"]: r["aah_famille"] for r in units.to_dicts()}
    assert got["2023-09-1500-0"] == pytest.approx(775.53, abs=0.01)
    assert got["2023-10-1500-0"] == pytest.approx(971.37, abs=0.01)
    assert got["2023-09-1500-2"] == pytest.approx(971.37, abs=0.01)
    # 3 000 €: (0.9 x 37 315.044 - 5 000) / 12 = 2 381.9533 > 1 758.1797: no AAH
    assert got["2023-09-3000-0"] == 0


def test_aah_has_no_formula_before_2022() -> None:
    reg = default_registry()
    assert reg.variant("aah_base_ressources", dt.date(2023, 9, 1)).start == dt.date(2022, 1, 1)
    assert reg.variant("aah_base_ressources", dt.date(2023, 10, 1)).start == dt.date(2023, 10, 1)
    with pytest.raises(RuleError, match="no formula in force in 2021-12"):
        reg.variant("aah_base_ressources", dt.date(2021, 12, 1))


@pytest.mark.parametrize("benefit", tuple(SIMULATED_RULES.values()))
def test_every_benefit_refuses_the_month_before_its_earliest_law(benefit: str) -> None:
    """The earliest month is where every parameter and rule the benefit reads, at every reference month,
    is in force: that month builds, the one before is refused with a message naming both."""
    reg, params = default_registry(), default_parameters()
    first = earliest_month(benefit, reg, params, dt.date(2019, 12, 1))
    assert first is not None and dt.date(2021, 1, 1) <= first <= dt.date(2024, 1, 1)
    build_plan([benefit], reg, params, first)
    before = add_months(first, -1)
    with pytest.raises(NotModelledError) as info:
        build_plan([benefit], reg, params, before)
    assert info.value.benefit == benefit and info.value.earliest == first
    assert str(info.value).startswith(f"{benefit}: not modelled in {before:%Y-%m}; the earliest month it "
                                      f"models is {first:%Y-%m} (why: ")


@pytest.mark.usefixtures("months_from_2023")
def test_a_batch_before_the_earliest_law_fails_naming_the_benefit() -> None:
    sit = {"id": "old", "month": "2023-06", "depcom": "46042", "housing": {"status": "tenant", "rent": 400},
           "persons": [{"role": "parent", "age": 30, "monthly": {"salary_net": 1000}}]}
    with pytest.raises(NotModelledError, match=r"^css_free: not modelled in 2023-06; the earliest month it "
                       r"models is 2023-10"):
        simulate_batch(load_situations([sit]), targets=("css_free", "rsa"))
