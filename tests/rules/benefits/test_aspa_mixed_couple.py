"""ASPA of a couple whose other member holds an invalidity pension (ASI-eligible): amounts from
OpenFisca-France 176.1.8 on situations of the differential benchmark (seed 1000)."""

from __future__ import annotations

import pytest

from nonrecours.simulation import simulate

ZERO = {"main": {"af": 0.0, "paje_base": 0.0, "asf": 0.0, "aide_logement": 0.0}}


@pytest.mark.parametrize(("month", "couple", "persons", "expected"), [
    ("2026-01", "pacs", [{"role": "parent", "age": 59, "monthly": {"pension": 155.31, "invalidity_pension": 305.32}},
                         {"role": "parent", "age": 77, "monthly": {"pension": 1505.78}}], 165.56),
    ("2025-02", "pacs", [{"role": "parent", "age": 21, "monthly": {"salary_net": 316.1, "invalidity_pension": 938.21}},
                         {"role": "parent", "age": 66, "nationality": "CH",
                          "monthly": {"pension": 884.2, "pension_gross": 951.26}}], 259.57),
    ("2026-01", "pacs", [{"role": "parent", "age": 59, "monthly": {"pension": 155.31}},  # no ASI: one holder
                         {"role": "parent", "age": 77, "monthly": {"pension": 1505.78}}], 0.0),
])
def test_aspa_of_an_aspa_asi_couple(month: str, couple: str, persons: list, expected: float) -> None:
    sit = {"id": "x", "month": month, "depcom": "23096", "housing": {"status": "owner"}, "couple": couple,
           "persons": persons, "benefits_paid": ZERO}
    (rec,) = simulate([sit]).records()
    assert rec["aspa"] == pytest.approx(expected, abs=1.0)
