"""The column-at-once AES-SIV gives the bytes of ``cryptography``'s AESSIV, and opens only what it issued."""

from __future__ import annotations

import os

from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from hypothesis import given, settings
from hypothesis import strategies as st

from nonrecours.privacy.siv import siv_decrypt, siv_encrypt

messages = st.lists(st.one_of(st.none(), st.binary(min_size=0, max_size=70)), max_size=40)
associated = st.lists(st.binary(max_size=40), min_size=1, max_size=4)


@settings(max_examples=60, deadline=None)
@given(key=st.sampled_from([32, 48, 64]).map(os.urandom), msgs=messages, ad=associated)
def test_same_bytes_as_aessiv_and_back(key, msgs, ad):
    reference = [None if m is None else AESSIV(key).encrypt(m, ad) for m in msgs]
    assert siv_encrypt(key, msgs, ad) == reference
    plain, bad = siv_decrypt(key, reference, ad)
    assert plain == msgs and bad is None


@settings(max_examples=40, deadline=None)
@given(msgs=st.lists(st.binary(min_size=1, max_size=40), min_size=1, max_size=20), data=st.data())
def test_any_altered_token_or_other_binding_fails_at_its_row(msgs, data):
    key, ad = os.urandom(64), [b"nonrecours/return-token/v1", b"caf", b"exchange", b"purpose"]
    tokens = siv_encrypt(key, msgs, ad)
    row = data.draw(st.integers(0, len(tokens) - 1))
    pos = data.draw(st.integers(0, len(tokens[row]) - 1))
    bit = data.draw(st.integers(0, 7))
    altered = list(tokens)
    altered[row] = tokens[row][:pos] + bytes([tokens[row][pos] ^ (1 << bit)]) + tokens[row][pos + 1:]
    assert siv_decrypt(key, altered, ad)[1] == row
    assert siv_decrypt(key, tokens, [b"nonrecours/return-token/v1", b"cnav", b"exchange", b"purpose"])[1] == 0
    assert siv_decrypt(os.urandom(64), tokens, ad)[1] == 0
    short = list(tokens)
    short[row] = tokens[row][:15]
    assert siv_decrypt(key, short, ad)[1] == row


@settings(max_examples=40, deadline=None)
@given(key=st.sampled_from([32, 48, 64]).map(os.urandom),
       texts=st.lists(st.one_of(st.none(), st.text(min_size=1, max_size=30)),
                      max_size=30), ad=associated)
def test_whole_columns_match_aessiv_in_base64url(key, texts, ad):
    import base64

    import polars as pl

    from nonrecours.privacy.siv import decrypt_column, encrypt_column

    column = pl.Series("v", texts, dtype=pl.String).cast(pl.Binary)
    tokens = encrypt_column(key, column, ad)
    expected = [None if t is None else base64.urlsafe_b64encode(AESSIV(key).encrypt(t.encode(), ad)).decode()
                .rstrip("=") for t in texts]
    assert tokens.to_list() == expected
    raw = pl.Series([None if t is None else AESSIV(key).encrypt(t.encode(), ad) for t in texts], dtype=pl.Binary)
    plain, bad = decrypt_column(key, raw, ad)
    assert bad is None and plain.to_list() == texts
    if any(t is not None for t in texts):
        row = next(i for i, t in enumerate(texts) if t is not None)
        altered = raw.to_list()
        altered[row] = altered[row][:-1] + bytes([altered[row][-1] ^ 0x40])
        assert decrypt_column(key, pl.Series(altered, dtype=pl.Binary), ad)[1] == row
