"""Month arithmetic, the one place for it: a month is the date of its first day, or its index
``year * 12 + month - 1`` (so that adding k months is adding k)."""

from __future__ import annotations

import datetime as dt

import polars as pl

__all__ = ["add_months", "month_from_index", "month_index", "month_index_expr", "month_of_index_expr"]


def month_index(d: dt.date) -> int:
    """``year * 12 + month - 1`` of a date (its day is ignored)."""
    return d.year * 12 + d.month - 1


def month_from_index(n: int) -> dt.date:
    """The first day of the month of index ``n``."""
    return dt.date(n // 12, n % 12 + 1, 1)


def add_months(d: dt.date, k: int) -> dt.date:
    """The first day of the month ``k`` months after (before, when negative) the month of ``d``."""
    return month_from_index(month_index(d) + k)


def month_index_expr(col: str | pl.Expr) -> pl.Expr:
    """:func:`month_index` of a Polars date column."""
    e = pl.col(col) if isinstance(col, str) else col
    return e.dt.year().cast(pl.Int32) * 12 + e.dt.month().cast(pl.Int32) - 1


def month_of_index_expr(idx: pl.Expr) -> pl.Expr:
    """:func:`month_from_index` of a Polars integer column."""
    return pl.date(idx // 12, idx % 12 + 1, 1)
