"""An alimony no agency declares, for a retiree (the CNAV's files carry none, the DGFiP does not know them): from
``CoreConfig.alimony_age`` it is estimated nil from data (informed; INSEE: 4 % of households receive one, mostly
parents, about 1 % of those without children), so an ASPA due on the central values is probable, no longer
possible only; younger, or with the estimate turned off, it stays a convention that only an answer of the person
can settle. The DGFiP's estimate of a person it knows is left as it was."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from nonrecours.core import CoreConfig
from nonrecours.detection import DetectionConfig, core_month, detect

from .conftest import MONTH, Territory, unit_row

ASPA = DetectionConfig(benefits=("aspa",))


def _territory() -> Territory:
    t = Territory()
    t.famille("retiree", age=70, pension=500.0, agency="cnav")  # under the ASPA's ceiling
    t.famille("younger", age=58, pension=500.0, agency="cnav")  # an early pension: no ASPA before 65 anyway
    t.famille("declared", age=70, pension=500.0, agency="cnav")  # the DGFiP knows her: no alimony declared
    t.members = [m for m in t.members  # the DGFiP does not know the others
                 if m["unit_kind"] != "foyer_fiscal" or m["person_id"] == "p-declared"]
    for m in t.members:
        if m["person_id"] == "p-declared" and m["unit_kind"] == "foyer_fiscal":
            m.update(source_agency="dgfip", valid_from=dt.date(2024, 1, 1))
    t.declare("declared", years=(2024, 2025))
    for r in t.resources:  # the DRM (PASRAU) lists the net pension: it answers for salaries, ARE, invalidity too
        if r["kind"] == "pension_net":
            r["source_agency"] = "drm"
    return t


@pytest.fixture(scope="module")
def runs():
    t = _territory()
    tables = t.tables()
    on = core_month(tables, MONTH)
    off = core_month(tables, MONTH, config=CoreConfig(alimony_age=None))
    return on, detect(on, tables, config=ASPA), off, detect(off, tables, config=ASPA)


def _alimony(core, name: str) -> dict:
    rows = core.unknowns.filter((pl.col("id") == f"p-{name}") & (pl.col("input") == "alimony_received")
                                & pl.col("month").is_null())
    assert rows.height == 1
    return rows.row(0, named=True)


def test_a_retirees_alimony_is_estimated_nil_from_the_age(runs):
    on, _, off, _ = runs
    old, young = _alimony(on, "retiree"), _alimony(on, "younger")
    assert old["informed"] is True and old["central"] == 0.0 and old["high"] > 0 and "62 ans" in old["reason"]
    assert young["informed"] is False and young["high"] == old["high"]  # the same range: unknown, not estimated
    assert _alimony(off, "retiree")["informed"] is False
    declared = _alimony(on, "declared")  # the DGFiP's estimate (informed too), neither changed nor counted
    assert declared["informed"] is True and "62 ans" not in declared["reason"] and declared["high"] == 0.0
    assert _alimony(off, "declared") == declared
    assert on.counts["persons_no_alimony_from_age"] == 1


def test_the_aspa_due_on_central_values_is_probable_from_the_age(runs):
    """The retiree's ASPA: due on the central values either way; possible only while the nil alimony is a
    convention (the alimony named as what decides), probable once it is an estimate from data."""
    _, with_age, _, without = runs
    est, conv = unit_row(with_age, "retiree"), unit_row(without, "retiree")
    assert est["status"] == conv["status"] == "non_take_up"
    assert est["amount_central"] == pytest.approx(conv["amount_central"]) and est["amount_central"] > 500
    assert conv["grade"] == "possible" and est["grade"] == "probable"
    flag = without.flags.filter(pl.col("unit_id").str.ends_with(":f-retiree")).row(0, named=True)
    assert "alimony_received" in flag["deciding_unknowns"]
