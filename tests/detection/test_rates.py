"""The non-take-up rate's one estimator (detection.rates): its bounds, and the same figures in the published
statistics and in the evaluation against the truth."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nonrecours.detection import evaluate_run
from nonrecours.detection.rates import (
    ESTIMATES,
    RATE_GRADES,
    RATE_PAID,
    non_take_up_rate,
    rate_counts,
    rates_by_benefit,
)

MONTH = dt.date(2026, 6, 1)
STATUSES = ("non_take_up", "consistent", "under_payment", "paid_not_entitled", "not_entitled")
GRADES = ("certain", "probable", "possible", None)

unit = st.tuples(st.sampled_from(("rsa", "ppa", "aspa")), st.sampled_from(STATUSES), st.sampled_from(GRADES),
                 st.one_of(st.none(), st.booleans()))


def _units(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"benefit": pl.String, "status": pl.String, "grade": pl.String,
                                      "receiving": pl.Boolean}, orient="row")


@settings(max_examples=200, deadline=None)
@given(st.lists(unit, max_size=60))
def test_low_central_high_are_ordered_rates(rows):
    rates = rates_by_benefit(_units(rows))
    for r in rates.iter_rows(named=True):
        value = {e: r[f"non_take_up_rate_{e}"] for e in ESTIMATES}
        for e in ESTIMATES:  # nothing to rate: no rate (null), never 0
            assert (value[e] is None) == (r[f"non_take_up_{e}"] + r[RATE_PAID[e]] == 0), e
            assert value[e] is None or 0.0 <= value[e] <= 1.0
        for a, b in (("low", "central"), ("central", "high"), ("low", "high")):
            if value[a] is not None and value[b] is not None:
                assert value[a] <= value[b], (a, b)
        if value["central"] is None:  # no confirmed unit: low counts no non-take-up either
            assert value["low"] in (None, 0.0)
        assert r["non_take_up_low"] <= r["non_take_up_central"] <= r["non_take_up_high"]
        assert r["paid_confirmed"] <= r["paid"]


def test_counts_follow_the_grades_and_the_receipt():
    units = _units([("rsa", "non_take_up", "certain", False), ("rsa", "non_take_up", "probable", False),
                    ("rsa", "non_take_up", "possible", None), ("rsa", "consistent", "possible", True),
                    ("rsa", "paid_not_entitled", None, True), ("rsa", "not_entitled", None, False),
                    ("rsa", "under_payment", "certain", True)])
    r = rate_counts(units).row(0, named=True)
    # paid: detection's receiving verdict, whatever the grade; confirmed: those certain or probable
    assert (r["paid"], r["paid_confirmed"]) == (3, 1)
    assert (r["non_take_up_low"], r["non_take_up_central"], r["non_take_up_high"]) == (1, 2, 3)
    rates = rates_by_benefit(units).row(0, named=True)
    assert rates["non_take_up_rate_low"] == pytest.approx(1 / (1 + 3))  # certain against every paid unit
    assert rates["non_take_up_rate_central"] == pytest.approx(2 / (2 + 1))  # certain+probable on both sides
    assert rates["non_take_up_rate_high"] == pytest.approx(3 / (3 + 1))  # every grade against the confirmed paid
    assert RATE_GRADES["central"] == ("certain", "probable")
    with pytest.raises(ValueError, match="estimate must be one of"):
        non_take_up_rate("median")


@pytest.fixture(scope="module")
def territory(demo_result):  # type: ignore[no-untyped-def]
    """The session's 1,500-person demo run (tests/conftest.py), read only."""
    return demo_result.out


def test_the_evaluation_scores_the_rates_the_statistics_publish(territory):
    """One estimator: the evaluation's estimated rates of each benefit are the published statistics' whole-file
    row, and the true rate lies between the low and the high estimate."""
    run = territory / "detection" / f"{MONTH:%Y-%m}"
    score = evaluate_run(run, territory / "truth", territory / "exchange.toml")
    stats = pl.read_parquet(territory / "outputs" / f"{MONTH:%Y-%m}" / "statistics.parquet").filter(
        (pl.col("level") == "total") & (pl.col("household_type") == "ensemble") & ~pl.col("secret"))
    assert stats.height > 0
    published = {r["benefit"]: r for r in stats.iter_rows(named=True)}
    compared = 0
    for b, r in score["benefits"].items():
        assert r["estimated_rate"] == r["estimated_rate_central"]
        if b in published:
            for e in ESTIMATES:
                want = published[b][f"non_take_up_rate_{e}"]
                assert (r[f"estimated_rate_{e}"] is None) == (want is None), (b, e)
                if want is not None:
                    assert r[f"estimated_rate_{e}"] == pytest.approx(want, abs=5e-5), (b, e)
                    compared += 1
        if r["true_rate"] is not None and r["estimated_rate_high"] is not None and r["estimated_rate_low"] is not None:
            assert r["true_rate_in_range"] is (r["estimated_rate_low"] - 1e-9 <= r["true_rate"]
                                               <= r["estimated_rate_high"] + 1e-9)
    assert compared >= 3 * 4
    in_range = [b for b, r in score["benefits"].items() if r["true_rate_in_range"]]
    assert {"rsa", "ppa", "css_free"} <= set(in_range)
