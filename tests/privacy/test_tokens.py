"""Return tokens: only the owning agency opens them, tampering fails, deterministic."""

from __future__ import annotations

import secrets

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nonrecours.errors import PrivacyError
from nonrecours.privacy import (
    TOKEN_PATTERN,
    Secret,
    derive_return_key,
    issue_return_tokens,
    open_return_tokens,
)

_CAF = derive_return_key(Secret(secrets.token_urlsafe(40).encode()), "caf", "ex", "outreach")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.text(min_size=1, max_size=40), st.none()), max_size=40))
def test_round_trip(ids: list[str | None]) -> None:
    df = pl.DataFrame({"rec": ids, "n": list(range(len(ids)))}, schema={"rec": pl.String, "n": pl.Int64})
    tok = issue_return_tokens(df, "rec", _CAF)
    assert "rec" not in tok.columns
    assert tok["return_token"].drop_nulls().str.contains(TOKEN_PATTERN).all()
    back = open_return_tokens(tok, "return_token", _CAF)
    assert back["record_id"].to_list() == ids


def test_deterministic_and_distinct() -> None:
    df = pl.DataFrame({"rec": ["A1", "A2", "A1"]})
    a = issue_return_tokens(df, "rec", _CAF)["return_token"]
    b = issue_return_tokens(df, "rec", _CAF)["return_token"]
    assert a.to_list() == b.to_list() and a[0] == a[2] and a[0] != a[1]


def test_only_the_owning_agency_exchange_and_purpose_open() -> None:
    tok = issue_return_tokens(pl.DataFrame({"rec": ["CAF-000123"]}), "rec", _CAF)
    cnam = derive_return_key(Secret(secrets.token_urlsafe(40).encode()), "cnam", "ex", "outreach")
    with pytest.raises(PrivacyError, match="row 0: authentication failed"):
        open_return_tokens(tok, "return_token", cnam)
    # the same agency secret under another purpose or exchange cannot open either
    secret = Secret(secrets.token_urlsafe(40).encode())
    mine = derive_return_key(secret, "caf", "ex", "outreach")
    tok2 = issue_return_tokens(pl.DataFrame({"rec": ["CAF-000123"]}), "rec", mine)
    for other in (derive_return_key(secret, "caf", "ex", "statistics"),
                  derive_return_key(secret, "caf", "ex2", "outreach")):
        with pytest.raises(PrivacyError, match="authentication failed"):
            open_return_tokens(tok2, "return_token", other)


@settings(max_examples=60, deadline=None)
@given(st.from_regex(r"[A-Z0-9]{8,24}", fullmatch=True), st.data())  # ids unlike message words
def test_any_change_fails(record: str, data: st.DataObject) -> None:
    tok = issue_return_tokens(pl.DataFrame({"rec": [record]}), "rec", _CAF)["return_token"][0]
    i = data.draw(st.integers(0, len(tok) - 1))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    c = data.draw(st.sampled_from([a for a in alphabet if a != tok[i]]))
    forged = tok[:i] + c + tok[i + 1:]
    with pytest.raises(PrivacyError) as exc:
        open_return_tokens(pl.DataFrame({"t": [forged]}), "t", _CAF)
    assert forged not in str(exc.value) and record not in str(exc.value)


def test_truncated_or_garbage_tokens_fail() -> None:
    tok = issue_return_tokens(pl.DataFrame({"rec": ["CAF-1"]}), "rec", _CAF)["return_token"][0]
    for bad in (tok[:-4], tok[:10], "!!!not base64!!!", "AAAA"):
        with pytest.raises(PrivacyError):
            open_return_tokens(pl.DataFrame({"t": [None, bad]}), "t", _CAF)
