"""A pension fund's file behind for some of its retirees (their last months not yet in): their pension goes on,
an estimate with its range, not a stop that makes them entitled to the ASPA."""

from __future__ import annotations

import datetime as dt

import pytest

from nonrecours.detection import DetectionConfig, core_month, detect

from .conftest import MONTH, Territory, unit_row

ASPA = DetectionConfig(benefits=("aspa",))
APRIL = dt.date(2026, 4, 1)


@pytest.fixture(scope="module")
def aspa_run():
    t = Territory()
    t.famille("ontime", age=70, pension=1100.0, agency="cnav")    # above the ASPA's ceiling: nothing due
    t.famille("late", age=70, pension=1100.0, agency="cnav")      # the same, the CNAV's May and June not yet in
    t.famille("poor", age=70, pension=500.0, agency="cnav")       # under it: an ASPA non-take-up
    t.famille("poor_late", age=70, pension=500.0, agency="cnav")  # the same, its May and June not yet in
    t.resources = [r for r in t.resources
                   if not (r["person_id"] in ("p-late", "p-poor_late") and r["month"] > APRIL)]
    tables = t.tables()
    return detect(core_month(tables, MONTH), tables, config=ASPA)


def test_a_pension_missing_from_the_last_months_is_no_stop(aspa_run):
    """Read as 0 (before), May and June made the late retiree's three months' resources a third of the pension: an
    ASPA due on the central values. The months are estimated at the last amount, give or take a quarter: entitled
    only at the low end, possible, and the central estimate is the on-time retiree's, nothing."""
    late, ontime = unit_row(aspa_run, "late"), unit_row(aspa_run, "ontime")
    assert ontime["grade"] is None and ontime["status"] == "not_entitled"
    assert late["grade"] == "possible" and late["amount_central"] == ontime["amount_central"] == 0.0


def test_a_retiree_under_the_ceiling_stays_flagged_when_the_file_is_behind(aspa_run):
    """Its pension estimated at April's, the late retiree under the ceiling keeps the on-time one's flag, grade
    and central amount (possible for both here: the CNAV does not say what else they earn)."""
    poor, late = unit_row(aspa_run, "poor"), unit_row(aspa_run, "poor_late")
    assert poor["status"] == late["status"] == "non_take_up"
    assert late["grade"] == poor["grade"] and late["entitled_central"] and poor["entitled_central"]
    assert late["amount_central"] == pytest.approx(poor["amount_central"])
