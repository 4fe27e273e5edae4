"""A payer's file of payments that stops before the month (its June paid early July, not yet in a June extract):
its last month stands for the month, its payees are not non-take-up for a payment the file cannot hold yet."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from nonrecours.core.inputs import BEHIND_MIN_PAYEES, payments_reach
from nonrecours.detection import DetectionConfig, core_month, detect

from .conftest import MONTH, MONTHS, Territory, unit_row

RSA = DetectionConfig(benefits=("rsa",))
MAY = dt.date(2026, 5, 1)


def _payees(t: Territory, last: dt.date) -> None:
    """``BEHIND_MIN_PAYEES`` familles paid the RSA every month up to ``last``: the CAF's file runs to there (fewer
    payees in its last month, and every payee's having stopped is as likely as a file behind)."""
    for k in range(BEHIND_MIN_PAYEES):
        t.famille(f"payee{k}")
        t.pay(f"payee{k}", "rsa", 640.0, [m for m in MONTHS if m <= last])


def _territory(last: dt.date) -> dict[str, pl.DataFrame]:
    """Familles entitled to the RSA, no resource: ``paid`` and the payees paid every month up to ``last`` (the
    CAF's file ends there), ``stopped`` paid until March, ``never`` never paid."""
    t = Territory()
    for name in ("paid", "stopped", "never"):
        t.famille(name)
    t.pay("paid", "rsa", 640.0, [m for m in MONTHS if m <= last])
    t.pay("stopped", "rsa", 640.0, [m for m in MONTHS if m <= dt.date(2026, 3, 1)])
    _payees(t, last)
    return t.tables()


@pytest.fixture(scope="module")
def behind():
    tables = _territory(MAY)
    return detect(core_month(tables, MONTH), tables, config=RSA)


def test_the_reach_of_each_payment_file():
    assert payments_reach(_territory(MAY)["benefits_paid"], MONTH) == {"caf": MAY}
    assert payments_reach(_territory(MONTH)["benefits_paid"], MONTH) == {}
    assert payments_reach(None, MONTH) == {}
    # a file whose last month holds one payee too few: payments that stopped, read against the month
    few = _territory(MAY)["benefits_paid"].filter(
        ~((pl.col("unit_id") == "f-payee0") & (pl.col("month") == MAY)) & (pl.col("unit_id") != "f-paid"))
    assert payments_reach(few, MONTH) == {}


def test_a_famille_paid_in_the_file_s_last_month_receives(behind):
    """Read against June, « paid » was a non-take-up of 640 € a month (every payee of a file behind was): it is
    paid May's amount, consistent; the famille whose payments stopped in March stays a non-take-up, as the one
    never paid; the summary names the file and its last month."""
    paid = unit_row(behind, "paid")
    assert paid["receiving"] and paid["status"] == "consistent" and paid["paid"] == 640.0
    assert unit_row(behind, "stopped")["status"] == "non_take_up"
    assert unit_row(behind, "never")["status"] == "non_take_up"
    assert behind.summary["payments_behind"] == {"caf": "2026-05"}


def test_a_file_that_reaches_the_month_is_read_as_before():
    """The same territory with June in the file: the same verdicts, nothing behind."""
    tables = _territory(MONTH)
    run = detect(core_month(tables, MONTH), tables, config=RSA)
    assert [unit_row(run, n)["status"] for n in ("paid", "stopped", "never")] == ["consistent", "non_take_up",
                                                                                "non_take_up"]
    assert run.summary["payments_behind"] == {}


def test_the_core_carries_the_file_s_last_payments_to_the_months_it_does_not_hold():
    """The allocations familiales the CAF paid in May, its file's last month, are the famille's June resources for
    the RSA (read as none, they fell out of them: a higher RSA, a false alarm); the file reaching June, June's own."""
    def june_af(last: dt.date) -> float:
        t = Territory()
        t.famille("kids")
        t.child("kids", 1, dt.date(2015, 3, 1))
        t.child("kids", 2, dt.date(2017, 3, 1))
        t.pay("kids", "af", 151.8, [m for m in MONTHS if m <= last])
        _payees(t, last)
        fm = core_month(t.tables(), MONTH).inputs.famille_monthly
        return fm.filter(pl.col("famille_id").str.ends_with(":f-kids") & (pl.col("month") == MONTH))["af"].item()

    assert june_af(MAY) == 151.8
    assert june_af(MONTH) == 151.8
