"""NIR normalisation and validation, checked against python-stdnum on generated and corrupted numbers."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.fr import nir as stdnum_nir
from stdnum.fr.nir import calc_check_digits

from nonrecours.privacy import (
    NIR_REASONS,
    check_nirs,
    nir_born_in_france,
    nir_kind,
    nir_neighbours,
    nir_normalised,
    nir_reason,
)

STRUCTURAL = {"missing", "characters", "length", "key"}


def with_key(body13: str) -> str:
    return body13 + calc_check_digits(body13)


@st.composite
def valid_nirs(draw: st.DrawFn) -> str:
    sex = draw(st.sampled_from("123478"))
    year = draw(st.integers(0, 99))
    month = draw(st.sampled_from([*range(1, 13), *range(20, 43), *range(50, 100)]))
    dept = draw(st.sampled_from(["2A", "2B", "99", "97", "75", "01", "95", "20"]))
    rest = draw(st.text("0123456789", min_size=6, max_size=6))
    return with_key(f"{sex}{year:02d}{month:02d}{dept}{rest}")


@st.composite
def corrupted(draw: st.DrawFn) -> str:
    s = list(draw(valid_nirs()))
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["sub", "del", "ins", "swap", "case"]))
        i = draw(st.integers(0, max(len(s) - 1, 0)))
        if op == "sub" and s:
            s[i] = draw(st.sampled_from("0123456789ABCab"))
        elif op == "del" and s:
            del s[i]
        elif op == "ins":
            s.insert(i, draw(st.sampled_from("0123456789AB")))
        elif op == "swap" and len(s) > i + 1:
            s[i], s[i + 1] = s[i + 1], s[i]
        elif op == "case" and s:
            s[i] = s[i].lower()
    return "".join(s)


@st.composite
def decorated(draw: st.DrawFn, inner: st.SearchStrategy[str]) -> str:
    """Insert the separators stdnum also strips (spaces, dots) at random places."""
    s = draw(inner)
    out = []
    for ch in s:
        out.append(ch)
        if draw(st.integers(0, 5)) == 0:
            out.append(draw(st.sampled_from([" ", ".", "  "])))
    return "".join(out)


def reasons(values: list[str | None]) -> list[str | None]:
    return pl.DataFrame({"n": values}, schema={"n": pl.String}).select(
        nir_reason("n").cast(pl.String)).to_series().to_list()


nir_samples = st.lists(st.one_of(decorated(valid_nirs()), decorated(corrupted()),
                                 st.text("0123456789ABab .", max_size=18)), min_size=1, max_size=60)


@settings(max_examples=150, deadline=None)
@given(nir_samples)
def test_checksum_agrees_with_stdnum(values: list[str]) -> None:
    got = reasons(values)
    for value, reason in zip(values, got, strict=True):
        assert stdnum_nir.is_valid(value) == (reason not in STRUCTURAL), (value, reason)


@settings(max_examples=100, deadline=None)
@given(st.lists(valid_nirs(), min_size=1, max_size=40))
def test_generated_valid_numbers_are_valid_and_normalised(values: list[str]) -> None:
    df = check_nirs(pl.DataFrame({"nir": [" " + v[:3] + "." + v[3:].lower() + " " for v in values]}), "nir")
    assert df["nir_valid"].all()
    assert df["nir_norm"].to_list() == [stdnum_nir.compact(v) for v in values]
    assert df["nir_reason"].null_count() == len(values)


@settings(max_examples=100, deadline=None)
@given(st.lists(valid_nirs(), min_size=1, max_size=40), st.data())
def test_any_single_substitution_is_caught(values: list[str], data: st.DataObject) -> None:
    # mod 97 catches every single-character substitution among digits
    broken = []
    for v in values:
        i = data.draw(st.sampled_from([i for i in range(15) if v[i].isdigit() and i not in (5, 6)]))
        d = data.draw(st.sampled_from([c for c in "0123456789" if c != v[i]]))
        broken.append(v[:i] + d + v[i + 1:])
    got = reasons(broken)
    assert all(r is not None for r in got)
    assert all(stdnum_nir.is_valid(b) == (r in {"sex", "month"}) for b, r in zip(broken, got, strict=True))


def _one_slip(a: str, b: str) -> bool:
    """Whether ``b`` is ``a`` with one character replaced or two adjacent ones swapped."""
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    return len(a) == len(b) and (len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                                    and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]))


@settings(max_examples=100, deadline=None)
@given(st.lists(valid_nirs(), min_size=1, max_size=30, unique=True), st.data())
def test_the_number_meant_is_among_the_neighbours_of_a_slip(values: list[str], data: st.DataObject) -> None:
    slipped = []
    for v in values:
        digits = [i for i in range(15) if v[i].isdigit()]
        if data.draw(st.booleans()):
            i = data.draw(st.sampled_from(digits))
            s = v[:i] + data.draw(st.sampled_from([c for c in "0123456789" if c != v[i]])) + v[i + 1:]
        else:
            pairs = [i for i in digits if i + 1 in digits and v[i] != v[i + 1]]
            i = data.draw(st.sampled_from(pairs))
            s = v[:i] + v[i + 1] + v[i] + v[i + 2:]
        slipped.append(s)
    frame = pl.DataFrame({"row": range(len(values)), "raw": [f" {s[:7]} {s[7:]}" for s in slipped]})
    near = nir_neighbours(frame, "raw", out="near").collect()
    for row, (v, s, r) in enumerate(zip(values, slipped, reasons(slipped), strict=True)):
        found = near.filter(pl.col("row") == row).get_column("near").to_list()
        if r != "key":  # a swap keeping the key valid, or moving 2A/2B's letter: not a key slip, no neighbours
            assert found == []
            continue
        assert v in found
        assert all(stdnum_nir.is_valid(n) and _one_slip(s, n) for n in found)
        assert len(found) == len(set(found)) <= 8


def test_neighbours_only_of_a_failing_key() -> None:
    good = with_key("1850578006084")
    frame = pl.DataFrame({"raw": [good, None, "12345", good[:7] + "X" + good[8:], good[:-1] + "0"]})
    near = nir_neighbours(frame, "raw", out="near").collect()
    # a valid number, a missing, short or mangled one has none; the key slip gets the number meant back
    assert near.get_column("raw").unique().to_list() == [good[:-1] + "0"]
    assert good in near.get_column("near").to_list()


@pytest.mark.parametrize(("value", "reason"), [
    ("2 95 10 99 126 111 93", None),
    ("295109912611193", None),
    ("295-10-99-126-111-93", None),
    ("253072B07300470", None),
    ("253072a07300443", None),
    ("295109912611199", "key"),
    ("253072C07300443", "characters"),
    ("2951099126111", "length"),
    ("29510991261119300", "length"),
    ("", "missing"),
    ("  . ", "missing"),
    (None, "missing"),
    ("X95109912611193", "characters"),
])
def test_examples(value: str | None, reason: str | None) -> None:
    assert reasons([value]) == [reason]


def test_structure_reasons_sex_and_month() -> None:
    sex5 = with_key("5951099126111")
    month13 = with_key("2951399126111")
    month00 = with_key("2950099126111")
    month45 = with_key("2954599126111")
    # stdnum checks the key only
    assert all(stdnum_nir.is_valid(v) for v in (sex5, month13, month00, month45))
    assert reasons([sex5, month13, month00, month45]) == ["sex", "month", "month", "month"]


def test_corsica_key_uses_19_and_18() -> None:
    a, b = with_key("153072A073004"), with_key("153072B073004")
    assert a[-2:] != b[-2:]
    assert reasons([a, b, a[:5] + "2B" + a[7:]]) == [None, None, "key"]


def test_kind_temporary_numbers() -> None:
    nums = [with_key("1951099126111"), with_key("7951099126111"), with_key("8951099126111"),
            with_key("3951099126111"), "795109912611100"]
    kinds = pl.DataFrame({"n": nums}).select(nir_kind("n").cast(pl.String)).to_series().to_list()
    assert kinds == ["nir", "temporary", "temporary", "temporary", None]


def test_largest_thirteen_digit_body_does_not_overflow() -> None:
    top = with_key("9999999999999")  # sex 9 is structurally invalid but the key must still compute
    assert stdnum_nir.is_valid(top)
    assert reasons([top]) == ["sex"]


def test_reason_dtype_is_the_code_list() -> None:
    dtype = pl.DataFrame({"n": ["1"]}).select(nir_reason("n")).schema["n"]
    assert dtype == pl.Enum(NIR_REASONS)


def test_normalised_is_an_expression_without_python_per_row() -> None:
    lf = pl.LazyFrame({"n": ["1 2.3-4"]}).select(nir_normalised("n"))
    assert "map" not in lf.explain().lower()
    assert lf.collect().item() == "1234"


def test_separators_and_lazy_frames() -> None:
    nir = with_key("253072B073004")
    messy = f"\u00a0{nir[:3]}\t{nir[3:5]}-{nir[5:7].lower()}\u202f{nir[7:]}\r\n"
    lf = check_nirs(pl.LazyFrame({"nir": [messy, None]}), "nir")
    assert isinstance(lf, pl.LazyFrame)
    df = lf.collect()
    assert df.columns == ["nir", "nir_norm", "nir_valid", "nir_reason", "nir_kind"]
    assert df["nir_norm"].to_list() == [nir, None]
    assert df["nir_valid"].to_list() == [True, False]


def test_reason_on_raw_expression_matches_staged_checks_on_big_batches() -> None:
    n = 250_000
    body = (pl.int_range(n) * 7919 + 1_850_578_000_000).cast(pl.String)
    keys = (pl.int_range(n) % 100).cast(pl.String).str.zfill(2)  # about 1 in 97 keys happens to be right
    lf = pl.LazyFrame().select((body + keys).alias("nir"))
    via_expr = lf.select(nir_reason(pl.col("nir").str.slice(0, 15)).alias("r"), nir_kind("nir").alias("k"))
    staged = check_nirs(lf, "nir").select(pl.col("nir_reason").alias("r"), pl.col("nir_kind").alias("k"))
    for engine in ("in-memory", "streaming"):
        got = via_expr.collect(engine=engine)
        assert got.equals(staged.collect())
        assert 0 < got["r"].null_count() < n


BIRTH_PLACES = [  # (13-digit body, born in France?)
    ("1850146042012", True),    # Lot (46), 1985
    ("2900597105123", True),    # Guadeloupe (971): overseas is France
    ("2920198712001", True),    # Polynésie française (987): an overseas collectivity
    ("2750699350077", False),   # born abroad: 99 then the country (350, Maroc)
    ("7850146042012", False),   # a temporary number: given to people born abroad
    ("3850146042012", False),   # the older temporary convention
    ("1550393012004", None),    # 93 in 1955: Algeria before 1968 (or 2055: the two digits cannot tell)
    ("1200991210003", None),    # 91 in 1920 or 2020: Algeria or Essonne
    ("1850393066004", True),    # 93 in 1985: Seine-Saint-Denis
    ("1600196001002", None),    # 96: Tunisia, never a French département
    ("18506" + "2A" + "004001", True),   # Corse-du-Sud
    ("16006" + "20" + "004001", True),   # Corsica before 1976
]


def test_born_in_france_reads_the_birth_place() -> None:
    nirs = [with_key(body) for body, _ in BIRTH_PLACES]
    checked = check_nirs(pl.DataFrame({"nir": nirs}), "nir")
    assert checked.get_column("nir_valid").all()
    got = checked.select(nir_born_in_france(pl.col("nir_norm"))).to_series().to_list()
    assert got == [want for _, want in BIRTH_PLACES]
    # an invalid number (normalised to null) tells nothing
    bad = check_nirs(pl.DataFrame({"nir": ["1850146042012 00", None]}), "nir")
    assert bad.select(nir_born_in_france(pl.col("nir_norm"))).to_series().to_list() == [None, None]


_MONTHS = [*range(1, 13), *range(20, 43), *range(50, 100)]


@settings(max_examples=200, deadline=None)
@given(valid_nirs(), st.sampled_from(_MONTHS), st.text("0123456789", min_size=6, max_size=6))
def test_born_in_france_reads_only_the_sex_year_and_birth_department(nir: str, month: int, place_order: str) -> None:
    """Another birth month, commune or country and order number (so another key) never change the fact: it is a
    boolean of the sex digit, the two year digits and the département, coarser than the NIR's birth fields."""
    body = nir[:13]  # S YY MM DD CCC OOO
    twin = with_key(f"{body[:3]}{month:02d}{body[5:7]}{place_order}")
    checked = check_nirs(pl.DataFrame({"nir": [nir, twin]}), "nir")
    assert checked.get_column("nir_valid").all()
    a, b = checked.select(nir_born_in_france(pl.col("nir_norm"))).to_series().to_list()
    assert a == b
    if body[0] in "3478" or body[5:7] == "99":
        assert a is False
    elif body[5:7] in ("2A", "2B", "97", "75", "01", "20"):
        assert a is True
