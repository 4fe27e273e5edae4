"""The CSS's 30 % abatement on the earned income of a member in indemnified total unemployment at the claim.

CSS art. R861-8, second paragraph: the « rémunérations d'activité » of the twelve months of reference of a member
of the foyer who, at the date of the claim, is in total unemployment and receives the unemployment benefit, are
counted for 70 %; only that member's own earnings (lettre-circulaire DSS/2A du 27 décembre 2001). Found on the
OpenFisca-labelled synthetic truth: two familles whose claimant lost their job during the year were refused the
free CSS by our rules and granted it by OpenFisca-France 176.1.8 (docs/oracle_disagreements.md)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from nonrecours.engine import Inputs, evaluate
from nonrecours.simulation import load_situations

JUNE = dt.date(2025, 6, 1)
APRIL = dt.date(2025, 4, 1)
TARGETS = ["css_cmu_base_ressources", "css_free", "css_participation"]


def _frames(persons: list[dict]) -> dict[str, pl.DataFrame]:
    batch = load_situations([{"id": "chomage", "month": "2025-06", "depcom": "46042",
                              "housing": {"status": "tenant", "rent": 450}, "persons": persons,
                              # no housing aid paid: no forfait logement (CSS art. R861-5), the base is the incomes
                              "benefits_paid": {"main": {"af": 0, "paje_base": 0, "asf": 0, "aide_logement": 0}}}])
    assert batch.errors == []
    return batch.frames_for_month(JUNE)


def _job_lost_in_april(frames: dict[str, pl.DataFrame], person: int, *, are: float,
                       salary_kept: float = 0.0, are_stops: dt.date | None = None) -> Inputs:
    """``person`` earned their salary until March 2025, then (April to June) draws ``are`` of unemployment
    benefit (until ``are_stops``, excluded) and earns ``salary_kept``."""
    m = frames["individu_monthly"]
    after = (pl.col("person_id") == person) & (pl.col("month") >= APRIL)
    drawing = after if are_stops is None else after & (pl.col("month") < are_stops)
    m = m.with_columns(pl.when(after).then(pl.lit(salary_kept)).otherwise(pl.col("salary_net")).alias("salary_net"),
                       pl.when(drawing).then(pl.lit(are)).otherwise(pl.col("unemployment")).alias("unemployment"))
    return Inputs(**{**frames, "individu_monthly": m})


@pytest.fixture(scope="module", params=["polars", "duckdb"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _famille(inputs: Inputs, backend: str) -> dict:
    return evaluate(TARGETS, inputs, JUNE, backend=backend)["famille"].row(0, named=True)


def test_a_claimant_in_total_unemployment_counts_70_percent_of_the_salaries_of_the_year(backend) -> None:
    """Salary 1,100 € from June 2024 to March 2025 (ten months), ARE 700 € from April: 12,400 € without the
    abatement (CSS with participation: over the 10,339 € ceiling), 0.7 × 11,000 + 2 × 700 = 9,100 € with it."""
    got = _famille(_job_lost_in_april(_frames([{"role": "parent", "age": 40, "monthly": {"salary_net": 1100}}]), 0,
                                      are=700), backend)
    assert got["css_cmu_base_ressources"] == pytest.approx(9_100.0, abs=0.01)
    assert (got["css_free"], got["css_participation"]) == (True, False)


def test_only_the_unemployed_members_own_salaries_are_abated(backend) -> None:
    """A couple: the claimant lost their job (as above), the partner still earns 500 € a month, unabated."""
    persons = [{"role": "parent", "age": 40, "monthly": {"salary_net": 1100}},
               {"role": "parent", "age": 41, "monthly": {"salary_net": 500}}]
    got = _famille(_job_lost_in_april(_frames(persons), 0, are=700), backend)
    assert got["css_cmu_base_ressources"] == pytest.approx(9_100.0 + 12 * 500, abs=0.01)


@pytest.mark.parametrize("case", ["still_working", "benefit_stopped"])
def test_no_abatement_without_total_indemnified_unemployment_at_the_claim(case: str, backend: str) -> None:
    """A member who still earns in the month of the claim is not in total unemployment; one whose benefit stopped
    before that month is not indemnified at the claim: their salaries count in full."""
    frames = _frames([{"role": "parent", "age": 40, "monthly": {"salary_net": 1100}}])
    if case == "still_working":
        inputs = _job_lost_in_april(frames, 0, are=700, salary_kept=100)
        expected = 10 * 1_100 + 2 * 800
    else:
        inputs = _job_lost_in_april(frames, 0, are=700, are_stops=JUNE)
        expected = 10 * 1_100 + 2 * 700
    assert _famille(inputs, backend)["css_cmu_base_ressources"] == pytest.approx(expected, abs=0.01)
