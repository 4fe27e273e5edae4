"""The daily allowances (sickness, maternity, work accident) and the other resources the DRM declares are resources
of the RSA (CASF art. R262-6), the CSS (CSS art. R861-8) and the ASPA (CSS art. R815-22), and of the prime
d'activité: as earned income for a work stoppage's first three months, then as a replacement income (CSS art.
R844-1). Read by ingest and counted by no rule until a tester's households (5 December 2026): a person on 900 €
of sickness allowances a month was flagged RSA « certain » at 573.49 €."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from nonrecours.engine import Inputs, evaluate
from nonrecours.simulation import load_situations

JUNE = dt.date(2026, 6, 1)
MONTHS = [dt.date(2025, m, 1) for m in range(5, 13)] + [dt.date(2026, m, 1) for m in range(1, 7)]
TARGETS = ["rsa", "ppa", "css_cmu_base_ressources", "ij_activite", "asi_aspa_ressources_hors_aah"]


def _alone(monthly: dict[str, dict[dt.date, float]], backend: str, age: int = 40) -> dict:
    sit = {"id": "k39", "month": "2026-06", "depcom": "46042", "housing": {"status": "tenant", "rent": 450},
           "persons": [{"role": "parent", "age": age}]}
    batch = load_situations([sit])
    assert batch.errors == []
    frames = batch.frames_for_month(JUNE)
    pid = frames["individu"]["person_id"][0]
    rows = [{"person_id": pid, "month": m, **{k: v.get(m, 0.0) for k, v in monthly.items()}} for m in MONTHS]
    frames["individu_monthly"] = pl.DataFrame(rows, schema={"person_id": frames["individu"]["person_id"].dtype,
                                                            "month": pl.Date,
                                                            **{k: pl.Float64 for k in monthly}})
    res = evaluate(TARGETS, Inputs(**frames), JUNE, missing_inputs="default", backend=backend)
    return {**res["famille"].row(0, named=True), **res["individu"].row(0, named=True)}


@pytest.mark.parametrize("backend", ["polars", "duckdb"])
def test_sickness_allowances_are_resources(backend: str) -> None:
    none = _alone({}, backend)
    sick = _alone({"indemnites_journalieres": {m: 900.0 for m in MONTHS}}, backend)
    assert none["rsa"] > 500 and sick["rsa"] == 0.0  # 900 € a month is above the RSA's 573.49 €
    assert sick["css_cmu_base_ressources"] - none["css_cmu_base_ressources"] == pytest.approx(12 * 900.0, abs=0.01)
    # a stoppage of a year: a replacement income, no earned income, so no prime d'activité
    assert sick["ij_activite"] == 0.0 and sick["ppa"] == 0.0
    other = _alone({"autres_ressources": {m: 800.0 for m in MONTHS}}, backend)
    assert other["rsa"] == 0.0
    assert other["css_cmu_base_ressources"] - none["css_cmu_base_ressources"] == pytest.approx(12 * 800.0, abs=0.01)


@pytest.mark.parametrize("backend", ["polars", "duckdb"])
def test_a_recent_stoppage_counts_as_earned_income_for_the_prime(backend: str) -> None:
    """A salaried person off work since April: her allowances of April to June are earned income for the prime
    d'activité (the first three months of the stoppage); her salary before counts too."""
    salary = {m: 1200.0 for m in MONTHS if m < dt.date(2026, 4, 1)}
    allowances = {m: 700.0 for m in MONTHS if m >= dt.date(2026, 4, 1)}
    recent = _alone({"salary_net": salary, "indemnites_journalieres": allowances}, backend)
    assert recent["ij_activite"] == 700.0
    assert recent["ppa"] > 0
    long_ago = _alone({"indemnites_journalieres": {m: 700.0 for m in MONTHS}}, backend)
    assert long_ago["ij_activite"] == 0.0 and long_ago["ppa"] == 0.0


@pytest.mark.parametrize("backend", ["polars", "duckdb"])
def test_the_aspa_counts_them(backend: str) -> None:
    none = _alone({"pension_gross": {m: 300.0 for m in MONTHS}}, backend, age=70)
    sick = _alone({"pension_gross": {m: 300.0 for m in MONTHS}, "autres_ressources": {m: 200.0 for m in MONTHS}},
                  backend, age=70)
    assert sick["asi_aspa_ressources_hors_aah"] - none["asi_aspa_ressources_hors_aah"] == pytest.approx(200.0)
