"""Month arithmetic: scalar and Polars forms agree, and adding months round-trips across years."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from nonrecours.schemas.months import add_months, month_from_index, month_index, month_index_expr, month_of_index_expr


def test_known_values() -> None:
    assert add_months(dt.date(2024, 1, 15), -1) == dt.date(2023, 12, 1)
    assert add_months(dt.date(2024, 12, 1), 1) == dt.date(2025, 1, 1)
    assert add_months(dt.date(2024, 3, 1), -27) == dt.date(2021, 12, 1)
    assert month_from_index(month_index(dt.date(2026, 6, 30))) == dt.date(2026, 6, 1)


@given(d=st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31)), k=st.integers(-600, 600))
def test_add_months_round_trips(d: dt.date, k: int) -> None:
    m = add_months(d, k)
    assert m.day == 1 and add_months(m, -k) == d.replace(day=1)
    assert month_index(m) - month_index(d) == k
    assert (m.year - d.year) * 12 + m.month - d.month == k


@given(ds=st.lists(st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31)), min_size=1, max_size=20))
def test_polars_forms_agree(ds: list[dt.date]) -> None:
    df = pl.DataFrame({"d": ds}).with_columns(month_index_expr("d").alias("i"))
    assert df["i"].to_list() == [month_index(d) for d in ds]
    back = df.select(month_of_index_expr(pl.col("i")).alias("m"))["m"].to_list()
    assert back == [d.replace(day=1) for d in ds]
