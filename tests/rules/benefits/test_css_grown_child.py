"""A child of 25 or more a situation lists in its unit is out of the CSS's foyer: neither its size nor its ceiling.

CSS art. R861-2 counts the children and dependants « de moins de vingt-cinq ans »; the ceiling grows with the
foyer's persons (D861-1). Found by an outside tester writing situations from SITUATION_FORMAT.md (6 December 2026):
a parent earning 1,500 € a month with a son of 25 or 26 listed as a child got a CSS with participation of 29 € a
month on the two-person ceiling (15,249 €), though neither the son nor his resources counted; the parent alone,
18,000 € a year against 13,724.10 € (10,166 × 1.35), has no CSS. OpenFisca-France 176.1.8 counts every child of the
famille in the ceiling and a child of 25 in the foyer (docs/oracle_disagreements.md). The situations are of May
2026: the ceiling of 1 April 2025 holds, 10,339 € (15,508 € for two, 13,957.65 € with participation)."""

from __future__ import annotations

import logging

import pytest

from nonrecours.simulation import load_situations
from nonrecours.simulation.runner import simulate_batch


def _situation(sid: str, child_age: int, child_salary: float = 0.0) -> dict:
    return {"id": sid, "month": "2026-05", "depcom": "46042", "housing": {"status": "tenant", "rent": 450},
            "persons": [{"role": "parent", "age": 55, "monthly": {"salary_net": 1500}},
                        {"role": "child", "age": child_age, "monthly": {"salary_net": child_salary}}],
            "benefits_paid": {"main": {"af": 0.0, "paje_base": 0.0, "asf": 0.0, "aide_logement": 0.0}}}


@pytest.fixture(scope="module", params=["polars", "duckdb"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _units(situations: list[dict], backend: str) -> dict[str, dict]:
    batch = load_situations(situations)
    assert batch.errors == []
    units = simulate_batch(batch, backend=backend, targets=("css_free", "css_participation", "cmu_c_plafond")).units
    return {r["id"]: r for r in units.iter_rows(named=True)}


def test_a_child_of_25_or_more_raises_neither_the_ceiling_nor_the_size(backend: str) -> None:
    got = _units([_situation("son25", 25), _situation("son26", 26), _situation("son30", 30),
                  _situation("son24", 24)], backend)
    for sid in ("son25", "son26", "son30"):
        assert got[sid]["cmu_c_plafond"] == pytest.approx(10_339.0), sid  # one person (the 2025 value, in force)
        assert (got[sid]["css_free"], got[sid]["css_participation"]) == (False, False), sid
    # a son of 24 without income is the foyer's second person: 10,339 × 1.5 = 15,508 €, 1.35 × it = 20,935.80 €;
    # the parent's 18,000 € are between the two: the CSS with participation
    assert got["son24"]["cmu_c_plafond"] == pytest.approx(15_508.0)
    assert (got["son24"]["css_free"], got["son24"]["css_participation"]) == (False, True)


def test_simulate_warns_of_a_child_of_25_or_more_listed_in_a_unit(caplog: pytest.LogCaptureFixture) -> None:
    batch = load_situations([_situation("son26", 26), _situation("son24", 24)])
    assert batch.grown_children == ["son26"]
    with caplog.at_level(logging.WARNING):
        simulate_batch(batch)
    assert any("son26" in r.getMessage() and "25 or more" in r.getMessage() for r in caplog.records)
    assert not any("son24" in r.getMessage() for r in caplog.records)
