"""The ARS of a child past compulsory schooling whose remuneration exceeds 55 % of the SMIC (CSS art. L543-1,
2nd paragraph; R512-2): the charge is judged on the day of the school year's start (CSS art. R543-1), so from
September the rules read the child's autonomy in September, not in the evaluated month."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from nonrecours.engine import Inputs, evaluate
from nonrecours.simulation import load_situations

NOV = dt.date(2025, 11, 1)
SEPT = dt.date(2025, 9, 1)
# a parent on 1 500 € and a child of 16 (born May 2009) on 1 200 € net a month, over 55 % of the SMIC
# (0.55 x 11.88 x 169 = 1 104.22 €); the child started working in 2025 (no income in year N-2)
SITUATION = {"id": "ars16", "month": "2025-11", "depcom": "46042", "housing": {"status": "tenant", "rent": 500},
             "persons": [{"role": "parent", "age": 45, "monthly": {"salary_net": 1500}},
                         {"role": "child", "age": 16, "monthly": {"salary_net": 1200}}],
             "benefits_paid": {"main": {"af": 0, "paje_base": 0, "asf": 0, "aide_logement": 0}}}


@pytest.fixture(scope="module")
def frames() -> dict[str, pl.DataFrame]:
    batch = load_situations([SITUATION])
    assert batch.errors == []
    return batch.frames_for_month(NOV)


def _ars(frames: dict[str, pl.DataFrame], *, until: dt.date | None, since: dt.date | None, month: dt.date,
         backend: str) -> float:
    """The ARS with the child's salary paid only before ``until`` or only from ``since``."""
    child = pl.col("person_id") == frames["individu"].filter(pl.col("famille_role") == "enfant")["person_id"][0]
    paid = pl.lit(True)
    if until is not None:
        paid = paid & (pl.col("month") < until)
    if since is not None:
        paid = paid & (pl.col("month") >= since)
    im = frames["individu_monthly"].with_columns(
        pl.when(child & ~paid).then(0.0).otherwise(pl.col("salary_net")).alias("salary_net"),
        pl.when(child).then(0.0).otherwise(pl.col("revenu_activite_imposable_n2")).alias("revenu_activite_imposable_n2"))
    res = evaluate(["ars_annuelle"], Inputs(**{**frames, "individu_monthly": im}), month, backend=backend)
    return float(res["famille"]["ars_annuelle"][0])


@pytest.mark.parametrize("backend", ["polars", "duckdb"])
def test_a_child_earning_until_the_school_start_is_not_at_charge_for_that_years_ars(frames, backend) -> None:
    """Earning 1 200 € from March to August and nothing since: autonomous on the day of the rentrée (the mean of
    the six months before September), so no ARS for the year, though by November the mean of May–October (800 €)
    is under the threshold. The evaluated month's reading paid the lycée rate, 0.9795 x 474.37 = 464.65 €."""
    assert _ars(frames, until=SEPT, since=None, month=NOV, backend=backend) == 0.0
    assert _ars(frames, until=SEPT, since=None, month=SEPT, backend=backend) == 0.0


@pytest.mark.parametrize("backend", ["polars", "duckdb"])
def test_a_child_under_the_threshold_on_the_school_start_stays_at_charge_for_that_years_ars(frames,
                                                                                               backend) -> None:
    """Earning from May only: on the day of the rentrée the mean of March–August is 800 €, under the threshold,
    so the child is at charge and the lycée rate is due; by November the mean of May–October (1 200 €) is over
    it, and the evaluated month's reading paid nothing."""
    assert _ars(frames, until=None, since=dt.date(2025, 5, 1), month=NOV, backend=backend) == pytest.approx(
        0.9795 * 474.37, abs=0.01)


def test_before_the_school_start_the_evaluated_months_autonomy_is_read(frames) -> None:
    """In August the rentrée has not come: the latest known autonomy (the six months before August) decides."""
    assert _ars(frames, until=None, since=None, month=dt.date(2025, 8, 1), backend="polars") == 0.0
    assert _ars(frames, until=dt.date(2025, 2, 1), since=None, month=dt.date(2025, 8, 1),
                backend="polars") == pytest.approx(0.9795 * 474.37, abs=0.01)
