"""The last yearly non-salaried profit known (``core.resources.known_profit``): year N-1 of each month where the DGFiP
declares the person for it, else N-2; a year declared without such income is 0; a baby born after the year had
none; a person the DGFiP declares for neither year is unknown, informed, 0 to the upper end; sourced as the row
that gave it."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from nonrecours.core.resources import KNOWN_PROFIT, CoreConfig, known_profit, n2_high

MONTH = dt.date(2026, 6, 1)
PEOPLE = ["p-n1", "p-n2", "p-zero", "p-deficit", "p-member", "p-baby", "p-none", "p-retired"]


def _tables() -> dict[str, pl.LazyFrame]:
    rows = [("p-n1", 2024, "self_employment", 6_000.0), ("p-n1", 2025, "self_employment", 9_000.0),
            ("p-n2", 2024, "self_employment", 4_800.0),             # 2025 not declared: 2024's is the last known
            ("p-zero", 2024, "self_employment", 12_000.0), ("p-zero", 2025, "salaries", 20_000.0),  # stopped
            ("p-deficit", 2025, "self_employment", -3_000.0)]
    annual = pl.DataFrame(rows, schema=["person_id", "year", "kind", "amount"], orient="row").with_columns(
        pl.lit("dgfip").alias("source_agency"), pl.lit(dt.date(2026, 5, 28)).alias("extract_date"))
    members = pl.DataFrame({"person_id": ["p-member"], "unit_kind": ["foyer_fiscal"], "unit_id": ["ff-1"],
                            "role": ["declarant"], "valid_from": [dt.date(2025, 1, 1)], "source_agency": ["dgfip"],
                            "extract_date": [dt.date(2026, 5, 28)]})
    return {"annual_income": annual.lazy(), "unit_memberships": members.lazy()}


@pytest.fixture(scope="module")
def profit() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    births = pl.DataFrame({"person_id": ["p-baby"], "birth_month": [dt.date(2026, 2, 1)], "source_agency": ["caf"],
                           "extract_date": [dt.date(2026, 6, 28)]})
    people = pl.DataFrame({"person_id": PEOPLE, "pension_fund": [None] * 7 + ["cnav"]})
    monthly, prov, unk = known_profit(_tables(), people, MONTH, {KNOWN_PROFIT: 15}, CoreConfig(), births=births)
    assert monthly is not None
    return monthly, prov, unk


def _value(monthly: pl.DataFrame, person: str, month: dt.date) -> float | None:
    row = monthly.filter((pl.col("person_id") == person) & (pl.col("month") == month))
    return None if row.is_empty() else row.item(0, KNOWN_PROFIT)


def test_year_n1_of_each_month_else_n2(profit) -> None:  # type: ignore[no-untyped-def]
    monthly, _, _ = profit
    assert _value(monthly, "p-n1", MONTH) == 9_000.0               # 2025 for the months of 2026
    assert _value(monthly, "p-n1", dt.date(2025, 8, 1)) == 6_000.0  # 2024 for those of 2025
    assert _value(monthly, "p-n2", MONTH) == 4_800.0
    assert _value(monthly, "p-zero", MONTH) == 0.0                 # the latest year declares none
    assert _value(monthly, "p-deficit", MONTH) == -3_000.0          # kept: the rules count it for zero
    assert _value(monthly, "p-member", MONTH) == 0.0               # in a foyer of 2025, no income row
    assert _value(monthly, "p-baby", MONTH) == 0.0                 # born after both years
    assert _value(monthly, "p-none", MONTH) is None


def test_provenance_names_the_row_that_gave_it(profit) -> None:  # type: ignore[no-untyped-def]
    _, prov, _ = profit
    got = {r["id"]: (r["kind"], r["source_agency"], r["source_month"]) for r in prov.iter_rows(named=True)}
    assert got["p-n1"] == ("observed", "dgfip", dt.date(2026, 1, 1))
    assert got["p-n2"] == ("observed", "dgfip", dt.date(2025, 1, 1))
    assert got["p-baby"] == ("observed", "caf", dt.date(2026, 6, 1))
    assert got["p-none"] == ("unknown", None, None)
    assert set(got) == set(PEOPLE)


def test_a_person_the_dgfip_declares_for_neither_year_is_an_unknown(profit) -> None:  # type: ignore[no-untyped-def]
    """Uninformed: the DGFiP's extract is there and does not show the person (its central 0 decides no probable
    flag); informed for a retiree a pension fund knows (the pension is served once activity ends)."""
    _, _, unk = profit
    whole = unk.filter(pl.col("month").is_null())                 # unknown in every month read: one row
    assert dict(zip(whole["id"], whole["informed"], strict=True)) == {"p-none": False, "p-retired": True}
    row = whole.filter(pl.col("id") == "p-none").row(0, named=True)
    assert (row["low"], row["central"]) == (0.0, 0.0)
    assert row["high"] == n2_high(CoreConfig())["revenus_non_salaries_n2"] > 0
    assert "ni de l'année N-1 ni de l'année N-2" in row["reason"]


def test_a_month_whose_two_years_are_not_declared_is_unknown_that_month(profit) -> None:  # type: ignore[no-untyped-def]
    """Declared for 2025 only: the months of 2026 read it; those of 2025 (years 2024 and 2023) are unknown."""
    monthly, _, unk = profit
    months = unk.filter(pl.col("id") == "p-deficit").get_column("month").to_list()
    assert months and all(m.year == 2025 for m in months)
    assert _value(monthly, "p-deficit", dt.date(2025, 12, 1)) is None


def test_without_any_yearly_income_the_unknown_is_informed() -> None:
    """No DGFiP extract ingested: nobody's profit is known, the central 0 is every flag's estimate (probable)."""
    _, prov, unk = known_profit({}, pl.DataFrame({"person_id": ["p-a"]}), MONTH, {KNOWN_PROFIT: 3}, CoreConfig())
    assert unk.select("id", "month", "informed").rows() == [("p-a", None, True)]
    assert prov.select("id", "kind").rows() == [("p-a", "unknown")]
