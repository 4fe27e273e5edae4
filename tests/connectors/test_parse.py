"""Field parsing against Python's own Decimal and datetime, on generated values."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nonrecours.connectors.mapping import ExtractMapping, FieldMap, RecordLayout
from nonrecours.connectors.parse import CASE_REPAIR, _prepared, _reason, _value, _with_other_shapes, repairs


def _parse(f: FieldMap, values: list[str | None]) -> tuple[list[object], list[str | None]]:
    df = pl.DataFrame({f.target: values}, schema={f.target: pl.String}).lazy()
    prep = _prepared(f)
    src = pl.col("__s") if prep is not None else pl.col(f.target)
    if prep is not None:
        df = df.with_columns(prep.alias("__s"))
    flags = {}
    if f.type == "amount":
        df = df.with_columns(src.str.contains(r"^-?\d+(\.\d+)?$").alias("__a"),
                             src.str.contains(r"^-?\d+(\.\d{1,2})?$").alias("__c"))
        flags = {"a": pl.col("__a"), "c": pl.col("__c")}
    df = df.with_columns(_value(f, src, flags).alias("__v0"))
    if f.type in ("date", "month"):  # as parse_record: the other shapes, where the layout's own format failed
        df = _with_other_shapes(df.collect(), {0: f}).lazy()
    out = df.select("__v0", _reason(f, pl.col("__v0"), flags).alias("__r")).collect()
    return out["__v0"].to_list(), out["__r"].to_list()


@settings(max_examples=60, deadline=None)
@given(cents=st.integers(-10**11 + 1, 10**11 - 1), comma=st.booleans(), thousands=st.booleans())
def test_amounts_match_decimal(cents: int, comma: bool, thousands: bool) -> None:
    d = Decimal(cents) / 100
    text = f"{d:,.2f}" if thousands else f"{d:.2f}"
    if comma:  # French: 1 234,56 (thousands by a no-break space)
        text = text.replace(",", "\u00a0").replace(".", ",")
    elif thousands:
        text = text.replace(",", " ")
    f = FieldMap(source="M", target="m", type="amount", decimal_comma=comma)
    (value,), (reason,) = _parse(f, [text])
    assert value == d
    assert reason == ("negative amount" if cents < 0 else None)


@settings(max_examples=60, deadline=None)
@given(cents=st.integers(0, 10**10), width=st.integers(11, 12))
def test_implied_decimals(cents: int, width: int) -> None:
    f = FieldMap(source="M", target="m", type="amount", implied_decimals=2, start=1, length=width)
    (value,), (reason,) = _parse(f, [str(cents).zfill(width)])
    assert value == Decimal(cents) / 100 and reason is None


def test_amount_faults() -> None:
    f = FieldMap(source="M", target="m", type="amount")
    values, reasons = _parse(f, ["12.345", "1e3", "abc", None, "-0.01", "7"])
    assert reasons == ["amount with more than two decimals", "not an amount", "not an amount",
                       "missing value", "negative amount", None]
    assert values[-1] == Decimal("7.00")


@settings(max_examples=100, deadline=None)
@given(cents=st.integers(-10**11 + 1, 10**11 - 1))
def test_points_group_thousands_in_a_decimal_comma_layout(cents: int) -> None:
    """« 1.234.567,89 » is read as grouped thousands, as the agencies write it in a decimal-comma layout."""
    d = Decimal(cents) / 100
    text = f"{d:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    (value,), (reason,) = _parse(FieldMap(source="M", target="m", type="amount", decimal_comma=True,
                                          allow_negative=True), [text])
    assert value == d and reason is None, text


def test_a_point_that_groups_no_thousands_is_no_amount_in_a_decimal_comma_layout() -> None:
    """Points were dropped whatever stood between them: « 1.2345 » read as 12,345 €, « 0.125 » as 125 €. Only a
    grouping of thousands (or a point with one or two decimals, ``_prepared``) is a number."""
    f = FieldMap(source="M", target="m", type="amount", decimal_comma=True)
    texts = ["1.2345", "0.125", "12.5.0", "1234.567", "1.234.56,7", "-1.2345", "44.000", "1.234.567,8", "44.00",
             "0,125", "12,5"]
    values, reasons = _parse(f, texts)
    assert reasons[:6] == ["not an amount"] * 5 + ["not an amount"]
    assert values[6:9] == [Decimal("44000.00"), Decimal("1234567.80"), Decimal("44.00")]
    assert reasons[9:] == ["amount with more than two decimals", None] and values[10] == Decimal("12.50")
    ints, why = _parse(FieldMap(source="N", target="n", type="int", decimal_comma=True), ["1.234", "1.2345"])
    assert ints[0] == 1234 and why == [None, "not an integer"]


@pytest.mark.parametrize("comma", [True, False])
def test_a_space_that_groups_no_thousands_is_no_amount(comma: bool) -> None:
    """Every space was dropped whatever stood between: « 1 0000,00 » read as 10 000 € and « 10 00,00 » as 1 000 €
    (probe5_ext, an MSA salary), nothing quarantined nor counted. Spaces group thousands or the cell is a fault."""
    mark = "," if comma else "."
    f = FieldMap(source="M", target="m", type="amount", decimal_comma=comma)
    texts = [f"1 0000{mark}00", f"10 00{mark}00", f"1 00{mark}00", f" 1 000 0{mark}5", f"0 500{mark}00",
             f"1 000{mark}00", f"1\u00a0000{mark}00", "1 000", f"12\u202f345\u202f678{mark}9", f"-1 234{mark}56",
             f"+2 500{mark}00", f"7{mark}50"]
    values, reasons = _parse(f, texts)
    assert reasons[:5] == ["not an amount"] * 5
    assert values[5:] == [Decimal("1000.00"), Decimal("1000.00"), Decimal("1000.00"), Decimal("12345678.90"),
                          Decimal("-1234.56"), Decimal("2500.00"), Decimal("7.50")]
    assert reasons[5:] == [None, None, None, None, "negative amount", None, None]
    ints, why = _parse(FieldMap(source="N", target="n", type="int"), ["12 000", "1 20"])
    assert ints[0] == 12000 and why == [None, "not an integer"]


@settings(max_examples=60, deadline=None)
@given(day=st.dates(dt.date(1900, 1, 1), dt.date(2099, 12, 31)),
       fmt=st.sampled_from(["%d/%m/%Y", "%Y%m%d", "%d%m%Y", "%Y-%m-%d"]))
def test_dates_and_months(day: dt.date, fmt: str) -> None:
    text = day.strftime(fmt)
    (d,), _ = _parse(FieldMap(source="D", target="d", type="date", date_format=fmt), [text])
    (m,), _ = _parse(FieldMap(source="D", target="d", type="month", date_format=fmt), [text])
    assert d == day and m == day.replace(day=1)


def test_bad_dates_and_codes() -> None:
    values, reasons = _parse(FieldMap(source="D", target="d", type="date", date_format="%d/%m/%Y"),
                             ["31/02/2024", "20240102", "2024-02-31", "2024-01-02", "01/01/2024"])
    # an ISO date cannot be misread (its dashes tell the order): read; undelimited or impossible: faults
    assert reasons == ["not a date in format %d/%m/%Y"] * 3 + [None, None]
    assert values[3:] == [dt.date(2024, 1, 2), dt.date(2024, 1, 1)]
    values, reasons = _parse(FieldMap(source="M", target="m", type="month", date_format="%Y%m"),
                             ["202406", "06/2024", "2024-06", "062024"])
    assert values == [dt.date(2024, 6, 1)] * 3 + [None] and reasons[3] == "not a month in format %Y%m"
    # a year of two digits is no year of four (it was read as the year 94, then « date before 1900 »)
    for kind in ("date", "month"):
        values, reasons = _parse(FieldMap(source="B", target="b", type=kind, date_format="%d/%m/%Y"),
                                 ["13/12/94", "13/12/1994", "1/2/1994"])
        assert values[0] is None and reasons[0] == f"not a {kind} in format %d/%m/%Y", kind
        assert values[1:] == ([dt.date(1994, 12, 13), dt.date(1994, 2, 1)] if kind == "date"
                              else [dt.date(1994, 12, 1), dt.date(1994, 2, 1)]), kind
    values, reasons = _parse(FieldMap(source="C", target="c", type="code", codes={"1": "css_free"}),
                             ["1", "9", None])
    assert values == ["css_free", None, None] and reasons == [None, "unknown code", "missing value"]


def test_codes_in_another_case_are_read_unless_case_tells_codes_apart() -> None:
    values, reasons = _parse(FieldMap(source="F", target="f", type="bool", codes={"O": "true", "N": "false"}),
                             ["o", "N", "x"])
    assert values == [True, False, None] and reasons == [None, None, "unknown code"]
    # a team's layout where case matters: only the exact spelling
    values, reasons = _parse(FieldMap(source="C", target="c", type="code", codes={"a": "A", "A": "B"}),
                             ["a", "A"])
    assert values == ["A", "B"] and reasons == [None, None]
    values, reasons = _parse(FieldMap(source="C", target="c", type="code", codes={"ab": "A", "AB": "B"}), ["Ab"])
    assert values == [None] and reasons == ["unknown code"]
    # the ingest report counts the codes read ignoring their case, by column: neither the exact ones nor a fault
    f = FieldMap(source="NAT", target="nat", type="code", codes={"FR": "FR", "UE": "EEA"})
    layout = RecordLayout(name="r", fields=[f])
    mapping = ExtractMapping(agency="cnav", format="csv", records=[layout])
    raw = pl.DataFrame({"nat": ["fr", "FR", "ue", "xx", None]})
    assert repairs(raw, layout, mapping) == {f"NAT: {CASE_REPAIR}": 2}


def test_optional_field_may_be_empty() -> None:
    f = FieldMap(source="A", target="a", type="int", required=False)
    values, reasons = _parse(f, [None, "12", "x"])
    assert values == [None, 12, None] and reasons == [None, None, "not an integer"]


def test_fixed_width_layout_checks() -> None:
    rec = RecordLayout(name="r", code="01", length=10,
                       fields=[FieldMap(source="X", target="x", start=5, length=8)])
    with pytest.raises(ValueError, match="ends after the record"):
        ExtractMapping(agency="caf", format="fixed_width", records=[rec], record_type_start=1,
                       record_type_length=2)


@pytest.mark.parametrize(("fmt", "texts"), [
    ("%d%m%Y", ["00031956", "00001956", "15031956", "99031956", "99991956", "031956", "1956"]),
    ("%Y%m%d", ["19560300", "19560000", "19560315", "19560399", "19569999", "195603", "1956"]),
    ("%d/%m/%Y", ["00/03/1956", "00/00/1956", "15/03/1956", "99/03/1956", "99/99/1956", "03/1956", "1956"]),
    ("%Y-%m-%d", ["1956-03-00", "1956-00-00", "1956-03-15", "1956-03-99", "1956-99-99", "1956-03", "1956"]),
])
def test_birth_month_with_unknown_day_or_month(fmt: str, texts: list[str]) -> None:
    """An unknown day (00 or 99, or no day at all) keeps the month; an unknown month too (or a year alone) keeps
    December of the year (31/12 convention). Valid real-world values, never quarantined."""
    values, reasons = _parse(FieldMap(source="D", target="d", type="month", date_format=fmt), texts)
    march, december = dt.date(1956, 3, 1), dt.date(1956, 12, 1)
    assert values == [march, december, march, march, december, march, december]
    assert reasons == [None] * len(texts)
    # a full date keeps its strictness: an unknown day is not a date
    _, reasons = _parse(FieldMap(source="D", target="d", type="date", date_format=fmt), texts[:1])
    assert reasons == [f"not a date in format {fmt}"]
    # an unknown month with a known day is not a civil-status convention: still refused, as is a day or a month
    # that is neither one nor an unknown's filler, and a partial date in another order than the layout's
    day = dt.date(1956, 3, 15).strftime(fmt)
    bad = [day.replace("03", "00"), day.replace("03", "99"), day.replace("15", "32"), day.replace("03", "13"),
           "195" if "%Y" in fmt[:2] else "1956031", "561956" if fmt.startswith("%Y") else "195603"]
    _, reasons = _parse(FieldMap(source="D", target="d", type="month", date_format=fmt), bad)
    assert reasons == [f"not a month in format {fmt}"] * len(bad)
    # a month field whose layout writes no day (a payment's month) reads no year alone
    _, reasons = _parse(FieldMap(source="M", target="m", type="month", date_format="%Y%m"), ["2026", "202606"])
    assert reasons == ["not a month in format %Y%m", None]
