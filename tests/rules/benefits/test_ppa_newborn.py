"""A child born during a reference month counts for that month's prime d'activité: the composition of each
reference month is the foyer's on its last day (CSS art. R843-1, II), not on its first day as the RSA takes it."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from nonrecours.engine import Inputs, evaluate
from nonrecours.simulation import load_situations

JUNE = dt.date(2025, 6, 1)
SITUATION = {"id": "newborn", "month": "2025-06", "depcom": "46042", "housing": {"status": "tenant", "rent": 500},
             "persons": [{"role": "parent", "age": 30, "monthly": {"salary_net": 1000}},
                         {"role": "parent", "age": 31, "monthly": {"salary_net": 400}},
                         {"role": "child", "age": 0}],
             "benefits_paid": {"main": {"af": 0, "paje_base": 0, "asf": 0, "aide_logement": 0}}}


@pytest.fixture(scope="module")
def frames() -> dict[str, pl.DataFrame]:
    batch = load_situations([SITUATION])
    assert batch.errors == []
    return batch.frames_for_month(JUNE)


@pytest.fixture(scope="module", params=["polars", "duckdb"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _born(frames: dict[str, pl.DataFrame], birth: dt.date, month: dt.date, targets: list[str],
          backend: str = "polars") -> dict:
    ind = frames["individu"].with_columns(
        pl.when(pl.col("famille_role") == "enfant").then(pl.lit(birth)).otherwise(pl.col("date_naissance"))
        .alias("date_naissance"))
    res = evaluate(targets, Inputs(**{**frames, "individu": ind}), month, backend=backend)
    return res["famille"].row(0, named=True)


def test_a_child_born_mid_month_counts_for_the_prime_of_that_month_not_for_the_rsa(frames, backend) -> None:
    may = dt.date(2025, 5, 1)
    got = _born(frames, dt.date(2025, 5, 15), may, ["ppa_nb_enfants", "rsa_nb_enfants"], backend)
    assert (got["ppa_nb_enfants"], got["rsa_nb_enfants"]) == (1, 0)
    before = _born(frames, dt.date(2025, 5, 15), dt.date(2025, 4, 1), ["ppa_nb_enfants"], backend)
    assert before["ppa_nb_enfants"] == 0  # not yet born on the last day of April


def test_the_prime_is_the_same_for_a_birth_on_the_first_or_the_fifteenth_of_a_reference_month(frames) -> None:
    first = _born(frames, dt.date(2025, 5, 1), JUNE, ["ppa"])["ppa"]
    mid = _born(frames, dt.date(2025, 5, 15), JUNE, ["ppa"])["ppa"]
    after = _born(frames, dt.date(2025, 6, 2), JUNE, ["ppa"])["ppa"]  # born after the reference months
    assert mid == pytest.approx(first, abs=0.01)
    # the child's share of the montant forfaitaire (30 % of the base) for one reference month of three
    assert mid - after == pytest.approx(0.3 * 638.28 / 3, abs=1.0)


def test_an_unborn_child_does_not_give_the_majoration_for_isolation(backend) -> None:
    """A lone parent of a child of 6 whose second child is born on 10 June: in May the baby is not in the foyer,
    and its negative age is not "a child under 3" (CASF art. R262-1); the elder child is over 3 and the isolation
    is not recent, so only a declared pregnancy (L262-9, 2°) would give the majoration then. From July the baby
    is born and under 3: the majoration applies."""
    lone = {**SITUATION, "id": "lone", "persons": [{"role": "parent", "age": 30, "monthly": {"salary_net": 300}},
                                                   {"role": "child", "age": 6}, {"role": "child", "age": 0}]}
    batch = load_situations([lone])
    assert batch.errors == []
    frames = batch.frames_for_month(JUNE)
    ind = frames["individu"]
    baby = ind.filter(pl.col("famille_role") == "enfant").sort("date_naissance").get_column("person_id")[-1]
    ind = ind.with_columns(pl.when(pl.col("person_id") == baby).then(pl.lit(dt.date(2025, 6, 10)))
                           .otherwise(pl.col("date_naissance")).alias("date_naissance"))
    targets = ["rsa_majore_eligibilite", "rsa_nb_enfants"]

    def at(month: dt.date) -> dict:
        return evaluate(targets, Inputs(**{**frames, "individu": ind}), month, backend=backend)["famille"].row(
            0, named=True)

    may, july = at(dt.date(2025, 5, 1)), at(dt.date(2025, 7, 1))
    assert (may["rsa_majore_eligibilite"], may["rsa_nb_enfants"]) == (False, 1)
    assert (july["rsa_majore_eligibilite"], july["rsa_nb_enfants"]) == (True, 2)
