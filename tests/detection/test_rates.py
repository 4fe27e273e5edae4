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
    WEIGHT_SCALE,
    grade_chances,
    non_take_up_rate,
    rates_by_benefit,
)

MONTH = dt.date(2026, 6, 1)
STATUSES = ("non_take_up", "consistent", "under_payment", "paid_not_entitled", "not_entitled")
GRADES = ("certain", "probable", "possible", None)

unit = st.tuples(st.sampled_from(("rsa", "ppa", "aspa")), st.sampled_from(("caf", "msa", "core-famille")),
                 st.sampled_from(STATUSES), st.sampled_from(GRADES), st.one_of(st.none(), st.booleans()))


def _units(rows: list[tuple]) -> pl.DataFrame:
    """Units of detection's table: benefit, unit_id (its coverage as prefix), status, grade, receiving."""
    return pl.DataFrame([(b, f"{c}:u{i}", s, g, r) for i, (b, c, s, g, r) in enumerate(rows)],
                        schema={"benefit": pl.String, "unit_id": pl.String, "status": pl.String,
                                "grade": pl.String, "receiving": pl.Boolean}, orient="row")


@settings(max_examples=200, deadline=None)
@given(st.lists(unit, max_size=60))
def test_low_central_high_are_ordered_rates(rows):
    rates = rates_by_benefit(_units(rows))
    for r in rates.iter_rows(named=True):
        value = {e: r[f"non_take_up_rate_{e}"] for e in ESTIMATES}
        for e in ESTIMATES:
            assert value[e] is None or 0.0 <= value[e] <= 1.0
        assert (value["low"] is None) == (r["non_take_up_low"] + r["paid"] == 0)  # nothing to rate: null, never 0
        assert (value["high"] is None) == (r["non_take_up_high"] + r["paid_confirmed"] == 0)
        for a, b in (("low", "central"), ("central", "high"), ("low", "high")):
            if value[a] is not None and value[b] is not None:
                assert value[a] <= value[b] + 1e-12, (a, b)
        # the weighted count: at least the certain+probable flags (each weighs 1 or more)
        assert r["non_take_up_weighted"] >= r["non_take_up_central"] * WEIGHT_SCALE
        assert r["non_take_up_low"] <= r["non_take_up_central"] <= r["non_take_up_high"]
        assert r["paid_confirmed"] <= r["paid"]


def test_each_flag_weighs_the_inverse_chance_of_its_coverage():
    # RSA in the CAF's dossiers: 4 paid, 3 of them certain or probable (chance 3/4); in familles the core built:
    # none paid, so the chance is that coverage's over every benefit (the CSS: 2 paid, 1 confirmed, 1/2)
    rows = [("rsa", "caf", "consistent", "certain", True)] * 2 + [
        ("rsa", "caf", "under_payment", "probable", True), ("rsa", "caf", "consistent", "possible", True),
        ("rsa", "caf", "non_take_up", "certain", False), ("rsa", "caf", "non_take_up", "possible", False),
        ("rsa", "core-famille", "non_take_up", "probable", False),
        ("rsa", "core-famille", "non_take_up", "possible", None),
        ("rsa", "core-famille", "non_take_up", "possible", None),
        ("css_free", "core-famille", "consistent", "probable", True),
        ("css_free", "core-famille", "consistent", "possible", True),
        ("rsa", "msa", "non_take_up", "certain", False)]  # MSA: nothing paid anywhere, weight 1
    units = _units(rows)
    chances = {(r["benefit"], r["coverage"]): r["chance"] for r in grade_chances(units).iter_rows(named=True)}
    assert chances[("rsa", "caf")] == pytest.approx(3 / 4)
    assert chances[("rsa", "core-famille")] == pytest.approx(1 / 2)
    assert chances[("rsa", "msa")] == 1.0
    r = rates_by_benefit(units).filter(pl.col("benefit") == "rsa").row(0, named=True)
    assert (r["paid"], r["paid_confirmed"]) == (4, 3)
    assert (r["non_take_up_low"], r["non_take_up_central"], r["non_take_up_high"]) == (2, 3, 6)
    weighted = 4 / 3 + 2 + 1
    assert r["non_take_up_weighted"] == round(WEIGHT_SCALE * 4 / 3) + 2 * WEIGHT_SCALE + WEIGHT_SCALE
    assert r["non_take_up_rate_low"] == pytest.approx(2 / (2 + 4))  # certain against every paid unit
    assert r["non_take_up_rate_central"] == pytest.approx(weighted / (weighted + 4), abs=1e-6)
    assert r["non_take_up_rate_high"] == pytest.approx(6 / (6 + 3))  # every grade against the confirmed paid
    assert RATE_GRADES["central"] == ("certain", "probable")
    with pytest.raises(ValueError, match="estimate must be one of"):
        non_take_up_rate("median")


def test_the_weighted_count_never_passes_every_flag():
    # one certain flag in a coverage where few paid units are confirmed would stand for 10 units: capped at the
    # flags of every grade (here 2), so central stays under high
    rows = [("rsa", "msa", "consistent", "certain", True)] + [("rsa", "msa", "consistent", "possible", True)] * 9 + [
        ("rsa", "msa", "non_take_up", "certain", False), ("rsa", "msa", "non_take_up", "possible", False)]
    r = rates_by_benefit(_units(rows)).row(0, named=True)
    assert r["non_take_up_weighted"] == 10 * WEIGHT_SCALE
    assert r["non_take_up_rate_central"] == pytest.approx(2 / (2 + 10))
    assert r["non_take_up_rate_central"] <= r["non_take_up_rate_high"]


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
        for cov, c in r["central_chances"].items():  # the weights' chances: the coverage's paid units' share
            assert 0 <= c["paid_confirmed"] <= c["paid"], (b, cov)
            assert 0.0 < c["chance"] <= 1.0, (b, cov)
            if c["paid_confirmed"]:
                assert c["chance"] == pytest.approx(c["paid_confirmed"] / c["paid"], abs=1e-6), (b, cov)
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
