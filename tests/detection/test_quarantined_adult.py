"""A dossier whose conjoint's line was quarantined at ingest (unusable NIR) is not read as a lone parent: the
couple is unknown and the single parent's flags that depend on it are ``possible`` at most, naming it."""

from __future__ import annotations

import datetime as dt

import polars as pl

from nonrecours.detection import core_month, detect
from nonrecours.schemas import UNIDENTIFIED_MEMBERS

from .conftest import FIRST, MONTH, Territory


def _grade(run, unit: str, benefit: str) -> str | None:
    rows = run.units.filter((pl.col("unit_id") == unit) & (pl.col("benefit") == benefit))
    return rows.get_column("grade")[0] if rows.height else None


def test_a_quarantined_conjoint_line_makes_the_lone_parents_rsa_possible():
    t = Territory()
    t.famille("mother")                      # no resource, nothing paid, a child: RSA non-take-up
    t.child("mother", 1, dt.date(2018, 5, 1))
    t.famille("other")                       # the same situation, nothing quarantined
    t.child("other", 1, dt.date(2018, 5, 1))
    tables = t.tables()
    alone = detect(core_month(tables, MONTH), tables, config=FIRST)
    assert _grade(alone, "caf:f-mother", "rsa") == "probable"
    lost = pl.DataFrame([{"line": 7, "unit_kind": "famille", "unit_id": "f-mother", "role": "conjoint",
                          "valid_from": dt.date(2020, 1, 1), "valid_to": None, "reason": "missing NIR",
                          "source_agency": "caf", "extract_id": "test-extract",
                          "extract_date": dt.date(2026, 6, 28)}], schema_overrides={"valid_to": pl.Date})
    tables = {**tables, UNIDENTIFIED_MEMBERS: lost}
    run = detect(core_month(tables, MONTH), tables, config=FIRST)
    assert _grade(run, "caf:f-mother", "rsa") == "possible"
    flag = run.flags.filter((pl.col("unit_id") == "caf:f-mother") & (pl.col("benefit") == "rsa")).row(0, named=True)
    assert "couple_kind" in flag["deciding_unknowns"]
    assert any("composition du foyer" in r for r in flag["reasons"])
    assert _grade(run, "caf:f-other", "rsa") == "probable"
