"""Rows of the canonical tables for the core's hand-made cases, in their columns' order: a person, a unit
membership, validated frames. One place for the layout, shared by the tests that build a small territory row by
row (``test_follower_kinds``, ``test_listed_members``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from nonrecours.schemas import ANNUAL_INCOME, PERSONS, RESOURCES, UNIT_MEMBERSHIPS

M = dt.date(2026, 6, 1)
"""The month evaluated."""
DAY = dt.date(2026, 6, 28)
"""The extracts' date."""
MONTHS = [dt.date(2025, 6 + k, 1) if k < 7 else dt.date(2026, k - 6, 1) for k in range(13)]
"""The thirteen months June 2025 to June 2026 (the month and the twelve before)."""


def person(pid: str, birth: dt.date, agency: str) -> list[Any]:
    """A ``persons`` row: a woman of French nationality living in Cahors (46042), as ``agency`` describes her."""
    unsaid = [None] * 6  # rsdae, unfit_for_work, recent_isolation, born_in_france, self_employed, birth_month_estimated
    return [pid, birth, "F", "FR", None, "46042", 0.0, False, False, *unsaid, agency, agency, DAY]


def membership(pid: str, kind: str, uid: str, role: str, agency: str) -> list[Any]:
    """A ``unit_memberships`` row, since January 2023 and still open."""
    return [pid, kind, uid, role, dt.date(2023, 1, 1), None, agency, agency, DAY]


def frame(spec: Any, rows: list[list[Any]]) -> pl.DataFrame:
    """``rows`` as a frame of table ``spec``, validated."""
    return spec.validate_frame(pl.DataFrame(rows, schema=spec.polars_schema, orient="row"))


def territory(persons: list[list[Any]], memberships: list[list[Any]], resources: list[list[Any]],
           income: list[list[Any]]) -> dict[str, pl.DataFrame]:
    """The four tables of a small territory, validated."""
    return {"persons": frame(PERSONS, persons), "unit_memberships": frame(UNIT_MEMBERSHIPS, memberships),
            "resources": frame(RESOURCES, resources), "annual_income": frame(ANNUAL_INCOME, income)}
