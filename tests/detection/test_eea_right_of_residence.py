"""An inactive EEA or Swiss national of fewer than five years' residence: the RSA asks, besides three months of
residence, a right of residence (CASF art. L262-6), which an inactive person holds with sufficient resources and
health insurance only (CESEDA art. L233-1, 2°), or as the family member of a worker; after five years the right is
permanent (L234-1). No agency transmits it, and the rules read the three months alone.

Found probing a territory written from the docs alone (probe hh18, K74, 6 December 2026): an EU citizen of two years'
residence, no income, no registration as a jobseeker, was « RSA certain 573.49 € » on the CAF's list. Now possible
at most, with the reason; five years' residence, a salary in the month, or a French partner keep the grade."""

from __future__ import annotations

import polars as pl
import pytest

from nonrecours.detection import core_month, detect

from .conftest import FIRST, MONTH, Territory


def _territory() -> dict[str, pl.DataFrame]:
    """Singles of 40, tenants, nothing paid: ``eu2``, EEA national of two years' residence, no income; ``eu6``, six
    years; ``eu2_worker``, two years, a salary of 300 € every month; ``fr``, French, no income."""
    t = Territory()
    for name, years, salary in (("eu2", 2, 0.0), ("eu6", 6, 0.0), ("eu2_worker", 2, 300.0), ("fr", None, 0.0)):
        t.famille(name, salary=salary)
        if years is not None:
            t.persons[-1].update(nationality_group="EEA_CH", residence_permit_years=years)
    return t.tables()


@pytest.fixture(scope="module")
def run():  # type: ignore[no-untyped-def]
    tables = _territory()
    return detect(core_month(tables, MONTH), tables, config=FIRST)


def _rsa(run, name: str) -> dict:  # type: ignore[no-untyped-def]
    return run.units.filter(pl.col("unit_id").str.ends_with(f":f-{name}") & (pl.col("benefit") == "rsa")).row(
        0, named=True)


def test_an_inactive_eu_citizen_of_two_years_is_possible_at_most(run) -> None:  # type: ignore[no-untyped-def]
    row = _rsa(run, "eu2")
    assert (row["status"], row["grade"]) == ("non_take_up", "possible")
    reasons = " ".join(run.flags.filter(pl.col("unit_id").str.ends_with(":f-eu2") & (pl.col("benefit") == "rsa"))
                       .row(0, named=True)["reasons"])
    assert "droit au séjour (CASF art. L262-6)" in reasons and "L233-1" in reasons
    assert run.summary["downgraded_by_eea_right_of_residence"]["rsa"] == 1
    # the free CSS rests on the resources, not on the right of residence: graded as the French single's
    css = run.units.filter(pl.col("benefit") == "css_free").select(pl.col("unit_id").str.split(":f-").list.last(),
                                                                    "grade")
    grades = dict(css.iter_rows())
    assert grades["eu2"] == grades["fr"]


@pytest.mark.parametrize("name", ["eu6", "eu2_worker", "fr"])
def test_five_years_a_salary_or_french_nationality_keep_the_grade(run, name: str) -> None:  # type: ignore[no-untyped-def]
    row = _rsa(run, name)
    assert row["status"] == "non_take_up" and row["grade"] in ("certain", "probable"), row
