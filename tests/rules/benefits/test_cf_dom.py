"""Complément familial in the overseas departments (CSS art. L755-16, D755-6): one child aged 3 to 5 opens
it when no child is under 3, under the ARS ceiling. Amounts checked against OpenFisca-France 176.1.8."""

from __future__ import annotations

import datetime as dt

import pytest

from nonrecours.engine import Inputs, evaluate
from nonrecours.simulation import load_situations, simulate

MONTH = "2025-10"
PAID = {"main": {"af": 27.89, "paje_base": 0.0, "asf": 200.18, "aide_logement": 205.0}}


def _situation(depcom: str, child_ages: list[int]) -> dict:
    return {"id": f"{depcom}-{'-'.join(map(str, child_ages))}", "month": MONTH, "depcom": depcom,
            "housing": {"status": "foyer", "rent": 1127.22},
            "persons": [{"role": "parent", "age": 20}, *({"role": "child", "age": a} for a in child_ages)],
            "benefits_paid": PAID}


def _cf(sit: dict) -> float:
    frames = load_situations([sit]).frames_for_month(dt.date(2025, 10, 1))
    res = evaluate(["cf"], Inputs(**frames), dt.date(2025, 10, 1), missing_inputs="default")
    return float(res["famille"]["cf"][0])


@pytest.mark.parametrize(("depcom", "ages", "expected"), [
    ("97209", [3], 296.39),     # Martinique, one child of 3, no resources: majorated CF (62.48 % BMAF)
    ("97411", [4, 8], 296.39),  # La Réunion: a child of 4 opens it, older children do not prevent it
    ("97209", [4, 1], 0.0),     # a child under 3 in the famille: no CF in the DOM
    ("97209", [6], 0.0),        # no child of 3 to 5
    ("46042", [3], 0.0),        # mainland: three children needed
])
def test_cf_in_overseas_departments(depcom: str, ages: list[int], expected: float) -> None:
    assert _cf(_situation(depcom, ages)) == pytest.approx(expected, abs=0.01)


def test_rsa_counts_the_dom_cf_like_openfisca() -> None:
    """d1000-84 of the differential benchmark: OpenFisca's RSA base counts the CF of the reference months."""
    (rec,) = simulate([_situation("97209", [3])]).records()
    assert rec["rsa"] == pytest.approx(482.42, abs=1.0)
