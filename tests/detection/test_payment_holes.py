"""A month an agency's extract of payments lost (no payment row of it, between months holding some): its payments
are carried from the month before, not read as nothing paid, and the run says so. The CAF's May lost made the family
benefits of the RSA's and the PPA's reference quarter 0: PPA amounts a third of a month's AF higher, and an RSA
certain for an AAH holder (an outside tester, 7 December 2026)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from nonrecours.core.inputs import HOLE_MIN_PAYEES, payment_holes
from nonrecours.detection import DetectionConfig, core_month, detect

from .conftest import MONTH, MONTHS, Territory

RSA_PPA = DetectionConfig(benefits=("rsa", "ppa"))
LOST = dt.date(2026, 5, 1)  # in the RSA's and the PPA's reference quarter (March to May) of June


def _tables(n: int, *, lost: bool) -> dict[str, pl.DataFrame]:
    """``n`` lone parents of two children, a salary of 1,500 €, the CAF paying each the AF and a housing aid every month
    (but ``LOST``)."""
    t = Territory()
    for i in range(n):
        name = f"parent{i}"
        t.famille(name, salary=1500.0)
        for k in (1, 2):
            t.child(name, k, dt.date(2014 + k, 5, 1))
        t.declare(name, 18000.0)
        for benefit, amount in (("af", 153.01), ("aide_logement", 250.0)):
            t.pay(name, benefit, amount, months=[m for m in MONTHS if not (lost and m == LOST)])
    return t.tables()


def _run(tables):
    return detect(core_month(tables, MONTH), tables, config=RSA_PPA)


@pytest.fixture(scope="module")
def runs():
    return _run(_tables(HOLE_MIN_PAYEES, lost=False)), _run(_tables(HOLE_MIN_PAYEES, lost=True))


def test_a_lost_month_is_found_and_said(runs):
    _, with_hole = runs
    assert with_hole.summary["payment_months_lost"] == {"caf": ["2026-05"]}
    assert runs[0].summary["payment_months_lost"] == {}


def test_its_payments_are_carried_from_the_month_before_not_read_as_none(runs):
    whole, with_hole = runs
    cols = ["unit_id", "benefit", "status", "grade", "amount_low", "amount_central", "amount_high"]
    a = whole.units.select(cols).sort("unit_id", "benefit")
    b = with_hole.units.select(cols).sort("unit_id", "benefit")
    assert a.height == 2 * HOLE_MIN_PAYEES and a.equals(b)


def test_a_few_payees_unpaid_the_same_month_are_not_a_lost_file():
    """Under ``HOLE_MIN_PAYEES`` payees a month, every payee unpaid one month is as likely as a lost file: read
    as it is (nothing paid)."""
    few = _tables(HOLE_MIN_PAYEES - 1, lost=True)
    assert payment_holes(few["benefits_paid"], MONTH) == {}
    assert payment_holes(_tables(HOLE_MIN_PAYEES, lost=True)["benefits_paid"], MONTH) == {"caf": (LOST,)}
    # two months lost in a row, and the evaluated month's own payments missing: a file behind, not a hole
    paid = _tables(HOLE_MIN_PAYEES, lost=False)["benefits_paid"]
    two = paid.filter(~pl.col("month").is_in([dt.date(2026, 2, 1), dt.date(2026, 3, 1)]))
    assert payment_holes(two, MONTH) == {"caf": (dt.date(2026, 2, 1), dt.date(2026, 3, 1))}
    assert payment_holes(paid.filter(pl.col("month") < MONTH), MONTH) == {}
