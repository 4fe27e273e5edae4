"""Rotation: the map needs raw NIRs, the re-keying of tables does not."""

from __future__ import annotations

import secrets

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.privacy.test_nir import valid_nirs

from nonrecours.errors import PrivacyError
from nonrecours.privacy import (
    Secret,
    derive_pseudonym_key,
    merge_rotation_maps,
    pseudonymise,
    rekey,
    rotation_map,
)


def keys():
    old = derive_pseudonym_key(Secret(secrets.token_urlsafe(40).encode()), "ex", "p")
    new = derive_pseudonym_key(Secret(secrets.token_urlsafe(40).encode()), "ex", "p")
    return old, new


@settings(max_examples=25, deadline=None)
@given(st.lists(valid_nirs(), min_size=2, max_size=40, unique=True), st.data())
def test_rekeyed_table_equals_direct_pseudonymisation(nirs: list[str], data: st.DataObject) -> None:
    old, new = keys()
    # a downstream table: several rows per person, some nulls, no raw NIR
    picks = data.draw(st.lists(st.sampled_from([*nirs, None]), min_size=1, max_size=80))
    raw_table = pl.DataFrame({"nir": picks, "amount": list(range(len(picks)))}, schema={"nir": pl.String,
                                                                                         "amount": pl.Int64})
    table = pseudonymise(raw_table, "nir", old, reason_column=None)
    # two agencies each build a map for the people they hold; merged they cover everyone
    half = len(nirs) // 2
    m = merge_rotation_maps(rotation_map(pl.DataFrame({"nir": nirs[:half + 1]}), "nir", old, new),
                            rotation_map(pl.DataFrame({"nir": nirs[half:]}), "nir", old, new))
    assert "nir" not in m.columns and m.height == len(nirs)
    rekeyed, missing = rekey(table, m, "person_id", key_id_column="person_id_key_id")
    direct = pseudonymise(raw_table, "nir", new, reason_column=None)
    assert missing == 0
    assert rekeyed.equals(direct)


def test_rows_missing_from_the_map_raise_or_become_null() -> None:
    old, new = keys()
    nirs = ["295109912611193", "253072B07300470"]
    table = pseudonymise(pl.DataFrame({"nir": nirs}), "nir", old, reason_column=None)
    m = rotation_map(pl.DataFrame({"nir": nirs[:1]}), "nir", old, new)
    with pytest.raises(PrivacyError, match=r"1 row.*first: row 1.*needs the raw identifiers"):
        rekey(table, m)
    out, missing = rekey(table, m, on_missing="null")
    assert missing == 1 and out["person_id"][1] is None and out["person_id"][0] is not None


def test_rows_under_a_third_key_raise_and_new_key_rows_pass() -> None:
    old, new = keys()
    third, _ = keys()
    nirs = ["295109912611193"]
    m = rotation_map(pl.DataFrame({"nir": nirs}), "nir", old, new)
    under_new = pseudonymise(pl.DataFrame({"nir": nirs}), "nir", new, reason_column=None)
    out, missing = rekey(under_new, m, key_id_column="person_id_key_id")
    assert missing == 0 and out.equals(under_new)
    under_third = pseudonymise(pl.DataFrame({"nir": nirs}), "nir", third, reason_column=None)
    with pytest.raises(PrivacyError, match="under a key this map does not cover"):
        rekey(under_third, m, key_id_column="person_id_key_id")


def test_same_key_and_conflicting_maps_are_refused() -> None:
    old, new = keys()
    with pytest.raises(PrivacyError, match="two different keys"):
        rotation_map(pl.DataFrame({"nir": ["295109912611193"]}), "nir", old, old)
    _, other_new = keys()
    a = rotation_map(pl.DataFrame({"nir": ["295109912611193"]}), "nir", old, new)
    b = rotation_map(pl.DataFrame({"nir": ["295109912611193"]}), "nir", old, other_new)
    with pytest.raises(PrivacyError, match="different key pairs"):
        merge_rotation_maps(a, b)
