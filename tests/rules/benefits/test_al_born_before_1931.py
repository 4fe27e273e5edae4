"""The housing aid deducts CGI art. 157 bis's abatement for each declarant born before 1 January 1931 (CCH art.
R822-4, II, 2°), on the revenu net global of his foyer fiscal in year N-2. Before, it was not deducted: an outside
tester's person of 95, tenant in Cahors with a pension of 1,100 €, got 55 € where OpenFisca-France 176.1.8 pays
135 € (probe16, 7 December 2026). The amounts below are OpenFisca-France's for the same situations."""

from __future__ import annotations

import datetime as dt

import polars as pl
from tests.rules.benefits.evaluated import rules_by_situation

from nonrecours.engine import Inputs, evaluate
from nonrecours.rules.benefits.common import NAISSANCE_INCONNUE
from nonrecours.simulation import load_situations


def _alone(sid: str, month: str, age: int, housing: dict, depcom: str, pension: float) -> dict:
    return {"id": sid, "month": month, "depcom": depcom, "housing": housing,
            "persons": [{"role": "parent", "age": age, "monthly": {"pension": pension}}]}


def _aid(situations: list[dict]) -> dict[str, float]:
    return {k: v[0] for s in situations for k, v in rules_by_situation([s], ["aide_logement"], s["month"]).items()}


def test_a_person_born_before_1931_has_the_abatement_deducted_and_one_born_after_does_not() -> None:
    # ``simulate`` places a birthday six months before the month's age: 95 in January 2024 is born in July 1928,
    # 93 in June 2024 in December 1930, 94 in April 2026 in October 1931, 95 in October 2026 in April 1931
    got = _aid([
        _alone("tenant_95", "2024-01", 95, {"status": "tenant", "rent": 600}, "46042", 1100),
        _alone("foyer_95", "2024-01", 95, {"status": "foyer", "rent": 1500}, "46042", 1100),
        _alone("born_dec_1930", "2024-06", 93, {"status": "tenant", "rent": 550}, "69123", 1000),
        _alone("born_oct_1931", "2026-04", 94, {"status": "tenant", "rent": 550}, "69123", 1000),
        _alone("born_apr_1931_foyer", "2026-10", 95, {"status": "foyer", "rent": 1400}, "13055", 1050),
    ])
    assert got == {"tenant_95": 135.0, "foyer_95": 44.0, "born_dec_1930": 185.0, "born_oct_1931": 118.0,
                   "born_apr_1931_foyer": 19.0}


def test_each_spouse_born_before_1931_has_his_own_abatement() -> None:
    """A married couple of 96 and 88, social tenants in Paris, pensions of 1,300 and 500 €: one abatement (the
    husband's), OpenFisca's 16 €; both born before 1931, the aid grows (two abatements)."""
    couple = {"id": "c", "month": "2025-03", "depcom": "75056", "couple": "married",
              "housing": {"status": "social_tenant", "rent": 600},
              "persons": [{"role": "parent", "age": 96, "monthly": {"pension": 1300}},
                          {"role": "parent", "age": 88, "monthly": {"pension": 500}}]}
    assert _aid([couple]) == {"c": 16.0}
    both = {**couple, "id": "both", "persons": [{**couple["persons"][0]}, {**couple["persons"][1], "age": 95}]}
    assert _aid([both])["both"] > 16.0


def test_an_unknown_birth_date_reads_the_age_and_gives_the_abatement_only_when_certain() -> None:
    """No agency gave the birth date: born before 1931 for certain from the age 1930 gives in the evaluated year
    (95 in 2025), not at 94 (born in 1930 or in 1931): unknown, so not deducted."""
    month = dt.date(2025, 3, 1)
    sits = [_alone(str(age), "2025-03", age, {"status": "tenant", "rent": 600}, "46042", 1100) for age in (94, 95)]
    batch = load_situations(sits)
    frames = batch.frames_for_month(month)
    known = evaluate(["al_abattement_special"], Inputs(**frames), month, missing_inputs="default")["individu"]
    frames["individu"] = frames["individu"].with_columns(pl.lit(NAISSANCE_INCONNUE).alias("date_naissance"))
    unknown = evaluate(["al_abattement_special"], Inputs(**frames), month, missing_inputs="default")["individu"]
    # born September 1930 and 1929 by simulate's convention: both deducted when the date is known
    assert known.get_column("al_abattement_special").min() > 0
    by_age = dict(unknown.join(frames["individu"].select("person_id", "age"), on="person_id")
                  .select("age", "al_abattement_special").iter_rows())
    assert by_age[94] == 0.0 and by_age[95] == known.get_column("al_abattement_special").max()
