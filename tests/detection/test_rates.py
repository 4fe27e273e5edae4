"""The non-take-up rate's one estimator (detection.rates): its bounds, and the same figures in the published
statistics and in the evaluation against the truth."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nonrecours.detection import evaluate_run
from nonrecours.detection.rates import (
    ESTIMATES,
    MISSING,
    RATE_GRADES,
    WEIGHT_SCALE,
    amount_foregone,
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


def _with_amounts(units: pl.DataFrame, cents: list[int], paid: list[int]) -> pl.DataFrame:
    """``units`` with amounts: central ``cents`` / 100 euros, low 20 % under it, high 30 % over, ``paid`` cents."""
    c = pl.Series(cents, dtype=pl.Int64) / 100
    return units.with_columns((c * 0.8).round(2).alias("amount_low"), c.alias("amount_central"),
                              (c * 1.3).round(2).alias("amount_high"),
                              (pl.Series(paid, dtype=pl.Int64) / 100).alias("paid"))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(unit, st.integers(0, 300_000), st.integers(0, 300_000)), max_size=60))
def test_amounts_foregone_are_ordered_and_the_central_weighs_as_the_rate(rows):
    units = _with_amounts(_units([u for u, _, _ in rows]), [c for _, c, _ in rows], [p for _, _, p in rows])
    rates = rates_by_benefit(units, foregone=MISSING)
    weights = {(r["benefit"], r["coverage"]): round(WEIGHT_SCALE / r["chance"])
               for r in grade_chances(units).iter_rows(named=True)}
    for r in rates.iter_rows(named=True):
        low, central, high = (r[f"monthly_foregone_{e}"] for e in ESTIMATES)
        assert 0.0 <= low <= central + 1e-9 and central <= high + 1e-9
        # the central before its cap: each certain or probable flag's gap at its central amount, times the weight
        # of its benefit and coverage (the rate's), rounded to the cent per unit
        sure = units.filter((pl.col("benefit") == r["benefit"]) & pl.col("status").is_in(list(MISSING))
                            & pl.col("grade").is_in(list(RATE_GRADES["central"])))
        want = sum((round(max(a - p, 0.0) * 100) * weights[(r["benefit"], uid.split(":")[0])] + WEIGHT_SCALE // 2)
                   // WEIGHT_SCALE for a, p, uid in sure.select("amount_central", "paid", "unit_id").iter_rows())
        assert r["monthly_foregone_weighted_cents"] == want
        assert central == pytest.approx(min(want / 100, high), abs=1e-9)
        assert r["monthly_foregone_weighted_cents"] >= sum(round(max(a - p, 0.0) * 100) for a, p in
                                                           sure.select("amount_central", "paid").iter_rows())
    assert "monthly_foregone_central" not in rates_by_benefit(units).columns  # asked for, or not computed


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
    with pytest.raises(ValueError, match="estimate must be one of"):
        amount_foregone("median")
    # the amounts: 100 € missing per flag (an under-payment: 60 € paid of 160 €), every flag at the same amount
    amounts = _with_amounts(units, [10_000] * 2 + [16_000] + [10_000] * 9, [0] * 2 + [6_000] + [0] * 9)
    m = rates_by_benefit(amounts, foregone=MISSING).filter(pl.col("benefit") == "rsa").row(0, named=True)
    # low: the certain flags at 80 €; high: the six non-take-up flags at 130 €, the under-payment 208 - 60 = 148 €
    assert m["monthly_foregone_low"] == pytest.approx(2 * 80)
    assert m["monthly_foregone_high"] == pytest.approx(130 * 6 + 148)
    # central: the CAF's certain flag weighs 4/3, the under-payment (paid, CAF) too, the core's probable flag 2,
    # the MSA's certain flag 1
    assert m["monthly_foregone_central"] == pytest.approx(round(100 * 4 / 3, 2) * 2 + 200 + 100)
    ntu = rates_by_benefit(amounts, foregone=("non_take_up",)).filter(pl.col("benefit") == "rsa").row(0, named=True)
    assert ntu["monthly_foregone_central"] == pytest.approx(round(100 * 4 / 3, 2) + 200 + 100)


def test_the_weighted_count_never_passes_every_flag():
    # one certain flag in a coverage where few paid units are confirmed would stand for 10 units: capped at the
    # flags of every grade (here 2), so central stays under high
    rows = [("rsa", "msa", "consistent", "certain", True)] + [("rsa", "msa", "consistent", "possible", True)] * 9 + [
        ("rsa", "msa", "non_take_up", "certain", False), ("rsa", "msa", "non_take_up", "possible", False)]
    r = rates_by_benefit(_units(rows)).row(0, named=True)
    assert r["non_take_up_weighted"] == 10 * WEIGHT_SCALE
    assert r["non_take_up_rate_central"] == pytest.approx(2 / (2 + 10))
    assert r["non_take_up_rate_central"] <= r["non_take_up_rate_high"]
    # the amount likewise: 10 × 100 € weighted, capped at both flags' 130 € (high)
    m = rates_by_benefit(_with_amounts(_units(rows), [10_000] * 12, [0] * 12), foregone=MISSING).row(0, named=True)
    assert m["monthly_foregone_weighted_cents"] == 10 * 10_000
    assert m["monthly_foregone_central"] == pytest.approx(m["monthly_foregone_high"]) == pytest.approx(260)


@pytest.fixture(scope="module")
def territory(demo_result):  # type: ignore[no-untyped-def]
    """The session's 1,500-person demo run (tests/conftest.py), read only."""
    return demo_result.out


def test_a_coverage_has_no_amount_foregone_never_a_zero_nor_its_participation():
    """The CSS's amounts are the participation the foyer would pay (0 for the free CSS): no money foregone. Its
    rate is rated as any benefit's; its amounts foregone are null (« sans objet »), the cash benefits' unchanged."""
    rows = [(b, "caf", "non_take_up", g, False) for b in ("rsa", "css_participation", "css_free")
            for g in ("certain", "probable", "possible")] + [(b, "caf", "consistent", "certain", True)
                                                            for b in ("rsa", "css_participation", "css_free")]
    units = _with_amounts(_units(rows), [30_000, 30_000, 30_000, 2_500, 2_500, 2_500, 0, 0, 0, 0, 0, 0], [0] * 12)
    out = {r["benefit"]: r for r in rates_by_benefit(units, foregone=MISSING).iter_rows(named=True)}
    for b in ("css_participation", "css_free"):
        assert out[b]["non_take_up_rate_low"] == pytest.approx(0.5)
        assert all(out[b][f"monthly_foregone_{e}"] is None for e in ESTIMATES), b
        assert out[b]["monthly_foregone_high_cents"] == 0
    assert out["rsa"]["monthly_foregone_low"] == pytest.approx(240.0)
    assert out["rsa"]["monthly_foregone_high"] == pytest.approx(3 * 390.0)


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
                if f"non_take_up_rate_{e}" in published[b]["secret_measures"]:
                    continue  # secret: a count of 1 to 10 flags or paid units under it (docs/outputs.md)
                want = published[b][f"non_take_up_rate_{e}"]
                assert (r[f"estimated_rate_{e}"] is None) == (want is None), (b, e)
                if want is not None:
                    assert r[f"estimated_rate_{e}"] == pytest.approx(want, abs=5e-5), (b, e)
                    compared += 1
        if r["true_rate"] is not None and r["estimated_rate_high"] is not None and r["estimated_rate_low"] is not None:
            assert r["true_rate_in_range"] is (r["estimated_rate_low"] - 1e-9 <= r["true_rate"]
                                               <= r["estimated_rate_high"] + 1e-9)
    # three benefits' three rates at least: since 7 December 2026 a whole file with an entitled count of 1 to 10
    # hides its non-take-up counts and rates too (statistics.TIED: they would give it back)
    assert compared >= 3 * 3
    # the amounts foregone: the statistics' whole-file row is the estimator's on the run's units (non-take-up and
    # under-payment); the evaluation's, of the non-take-up flags alone, are ordered, the central at least the
    # certain and probable flags' gap unweighted (what the evaluation reported before the weights)
    units = pl.read_parquet(run / "units.parquet")
    amounts = {r["benefit"]: r for r in rates_by_benefit(units, foregone=MISSING).iter_rows(named=True)}
    unpaid_unknown = {b for b, known in json.loads((run / "summary.json").read_text())["payments_known"].items()
                      if not known}
    assert unpaid_unknown  # the chèque énergie: no extract reports it paid
    for b, r in published.items():
        for e in ESTIMATES:
            if e == "central" and b in unpaid_unknown:  # weights read on the units paid: no central, nor scored
                assert r["monthly_foregone_central"] is None
                assert score["benefits"][b].get("amount_foregone_estimated_central", None) is None
                continue
            if f"monthly_foregone_{e}" in r["secret_measures"]:  # of fewer than 11 households: secret
                assert r[f"monthly_foregone_{e}"] is None
                continue
            assert r[f"monthly_foregone_{e}"] == pytest.approx(amounts[b][f"monthly_foregone_{e}"], abs=0.006), (b, e)
    weighted_more = 0
    for b, r in score["benefits"].items():
        if "amount_foregone_true" not in r:
            continue
        low, central, high = (r[f"amount_foregone_estimated_{e}"] for e in ESTIMATES)
        assert r["amount_foregone_estimated"] == central
        if central is None:  # no payment known: low and high only
            assert b in unpaid_unknown and 0.0 <= low <= high + 1e-6, b
            continue
        assert 0.0 <= low <= central + 1e-6 and central <= high + 1e-6, b
        sure = units.filter((pl.col("benefit") == b) & (pl.col("status") == "non_take_up")
                            & pl.col("grade").is_in(list(RATE_GRADES["central"])))
        unweighted = float((sure.get_column("amount_central") - sure.get_column("paid").fill_null(0.0))
                           .clip(lower_bound=0.0).sum())
        assert central >= min(unweighted, high) - 0.01, b
        weighted_more += central > unweighted + 0.01
    assert weighted_more >= 1
    in_range = [b for b, r in score["benefits"].items() if r["true_rate_in_range"]]
    assert {"rsa", "ppa", "css_free"} <= set(in_range)
