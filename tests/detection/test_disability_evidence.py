"""An AAH flag needs some evidence of a disability: a rate only unknown (0 to 100 %) is no case."""

from __future__ import annotations

import polars as pl
import pytest

from nonrecours.detection import DetectionConfig, core_month, detect

from .conftest import MONTH, MONTHS, Territory

AAH = DetectionConfig(benefits=("aah",))


@pytest.fixture(scope="module")
def aah_run():
    t = Territory()
    # known to the CNAM only (no AAH payer knows them): the rate is unknown, the AAH is computed at 100 %
    t.famille("no_evidence", agency="cnam", salary=300.0)
    t.famille("invalid", agency="cnam", salary=300.0)   # the same, with an invalidity pension the CNAM pays
    t.resources += [{"person_id": "p-invalid", "month": m, "kind": "invalidity_pension", "amount": 350.0,
                     "source_agency": "cnam"} for m in MONTHS]
    t.famille("rsdae", agency="caf", salary=300.0)       # the CAF knows an RSDAE, not the rate
    t.famille("rated", salary=300.0)                     # the CAF transmits a rate of 85 %, nothing paid
    for p in t.persons:
        if p["person_id"] in ("p-no_evidence", "p-invalid", "p-rsdae"):
            p["disability_rate"] = None
        if p["person_id"] == "p-rated":
            p["disability_rate"] = 0.85
        p["rsdae"] = True if p["person_id"] == "p-rsdae" else None
    tables = t.tables()
    return detect(core_month(tables, MONTH), tables, config=AAH)


def _unit(run, name: str) -> dict:
    rows = run.units.filter(pl.col("unit_id").str.ends_with(f":f-{name}"))
    assert rows.height == 1
    return rows.row(0, named=True)


def test_an_unknown_rate_alone_makes_no_aah_flag(aah_run):
    u = _unit(aah_run, "no_evidence")
    assert u["entitled_high"] and not u["entitled_central"]  # only a rate at its high end would give it
    assert u["grade"] is None and u["status"] == "not_entitled"
    assert not aah_run.flags.filter(pl.col("unit_id").str.ends_with(":f-no_evidence")).height
    assert aah_run.summary["without_disability_evidence"] == {"aah": 1}


@pytest.mark.parametrize("name", ["invalid", "rsdae"])
def test_evidence_of_a_disability_keeps_the_possible_flag(aah_run, name):
    u = _unit(aah_run, name)
    assert u["grade"] == "possible" and u["status"] == "non_take_up"


def test_a_transmitted_rate_is_flagged_above_possible(aah_run):
    assert _unit(aah_run, "rated")["grade"] in ("certain", "probable")
