"""Pseudonyms: equal to Python's hmac, same across agencies, different across purposes, nulls stay null."""

from __future__ import annotations

import hashlib
import hmac
import secrets

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.privacy.test_nir import valid_nirs, with_key

from nonrecours.privacy import (
    PSEUDONYM_PATTERN,
    Secret,
    derive_pseudonym_key,
    pseudonymise,
    pseudonymise_local_ids,
)
from nonrecours.privacy.pseudonyms import hmac_hex

_KEY = derive_pseudonym_key(Secret(secrets.token_urlsafe(40).encode()), "ex", "p")


def ref(key, msg: bytes) -> str:
    return hmac.new(key.hmac_key_bytes(), msg, hashlib.sha256).hexdigest()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=80), st.none()), max_size=50))
def test_vectorised_hmac_is_python_hmac(values: list[str | None]) -> None:
    df = hmac_hex(pl.DataFrame({"m": values}, schema={"m": pl.String}), "m", _KEY, out="h")
    expected = [None if v is None else ref(_KEY, v.encode("utf-8")) for v in values]
    assert df["h"].to_list() == expected


@settings(max_examples=30, deadline=None)
@given(st.lists(st.binary(max_size=100), min_size=1, max_size=30))
def test_vectorised_hmac_on_binary(values: list[bytes]) -> None:
    df = hmac_hex(pl.DataFrame({"m": values}, schema={"m": pl.Binary}), "m", _KEY, out="h")
    assert df["h"].to_list() == [ref(_KEY, v) for v in values]


def test_large_batch_keeps_row_order() -> None:
    n = 300_000
    df = pl.DataFrame({"m": pl.int_range(n, eager=True).cast(pl.String)})
    out = hmac_hex(df, "m", _KEY, out="h")
    for i in (0, 1, 65_535, 65_536, 123_457, n - 1):
        assert out["h"][i] == ref(_KEY, str(i).encode())


@settings(max_examples=30, deadline=None)
@given(st.lists(valid_nirs(), min_size=1, max_size=30))
def test_same_secret_same_pseudonym_at_two_agencies(nirs: list[str]) -> None:
    raw = secrets.token_urlsafe(40).encode()
    caf_key = derive_pseudonym_key(Secret(raw), "ex", "outreach")
    cnam_key = derive_pseudonym_key(Secret(raw), "ex", "outreach")
    other_purpose = derive_pseudonym_key(Secret(raw), "ex", "statistics")
    caf = pseudonymise(pl.DataFrame({"NIR": nirs}), "NIR", caf_key)
    # CNAM writes its NIRs with spaces: normalisation makes them meet
    spaced = [f"{n[0]} {n[1:3]} {n[3:5]} {n[5:7]} {n[7:10]} {n[10:13]} {n[13:]}" for n in nirs]
    cnam = pseudonymise(pl.DataFrame({"nss": spaced}), "nss", cnam_key)
    stats = pseudonymise(pl.DataFrame({"NIR": nirs}), "NIR", other_purpose)
    assert caf["person_id"].to_list() == cnam["person_id"].to_list()
    assert not set(caf["person_id"].to_list()) & set(stats["person_id"].to_list())
    assert caf["person_id"].to_list() == [ref(caf_key, n.encode()) for n in nirs]


def test_invalid_nirs_get_null_pseudonym_reason_and_no_key_id(pseudonym_key) -> None:
    good = with_key("1850578006084")
    df = pl.DataFrame({"nir": [good, good[:-1] + ("0" if good[-1] != "0" else "1"), None, "", "abc", good],
                       "amount": [1, 2, 3, 4, 5, 6]})
    out = pseudonymise(df, "nir", pseudonym_key, kind_column="nir_kind")
    assert "nir" not in out.columns
    assert out["person_id"].null_count() == 4
    assert out["person_id"][0] == out["person_id"][5]
    assert out["person_id"].drop_nulls().str.contains(PSEUDONYM_PATTERN).all()
    reasons = out["nir_reason"].cast(pl.String).to_list()
    assert reasons == [None, "key", "missing", "missing", "characters", None]
    assert out["person_id_key_id"].to_list() == [pseudonym_key.key_id, None, None, None, None,
                                                 pseudonym_key.key_id]
    assert out["nir_kind"].cast(pl.String).to_list()[0] == "nir"
    # null pseudonyms never join each other (the trap the architecture notes warn about)
    joined = out.join(out, on="person_id", how="inner")
    assert joined.height == 4 and joined["person_id"].null_count() == 0


def test_local_ids_are_namespaced(pseudonym_key) -> None:
    df = pl.DataFrame({"id": ["0012345", " 0012345 ", "", None]})
    fam = pseudonymise_local_ids(df, "id", pseudonym_key, namespace="caf:famille")
    foy = pseudonymise_local_ids(df, "id", pseudonym_key, namespace="dgfip:foyer_fiscal")
    assert fam["id"][0] == fam["id"][1] == ref(pseudonym_key, b"caf:famille\x1f0012345")
    assert fam["id"][0] != foy["id"][0]
    assert fam["id"][2] is None and fam["id"][3] is None


def test_key_never_shows_in_expression_or_plan(pseudonym_key) -> None:
    from nonrecours.privacy.pseudonyms import _hmac_expr

    expr = _hmac_expr("m", pseudonym_key)
    plan = pl.LazyFrame({"m": ["x"]}).with_columns(expr.alias("h"))
    secret_text = pseudonym_key.hmac_key_bytes().decode()
    for text in (str(expr), repr(expr), plan.explain(), str(plan)):
        assert secret_text not in text
