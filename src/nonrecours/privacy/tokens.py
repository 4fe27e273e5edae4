"""Return tokens: the way back from an outreach row to the agency's own record, for that agency only.

A token is AES-SIV (RFC 5297, deterministic authenticated encryption) of the agency's local record id
under a key derived from *that agency's own secret* (never the exchange secret), with associated data
binding the token to (agency, exchange, purpose). So:

- only the owning agency can open it; another agency, or the same agency under another exchange or
  purpose, gets an authentication failure, not a wrong record;
- any change to a token (one bit) fails authentication;
- the same record gives the same token (deterministic), which lets lists be deduplicated but also tells
  that two rows concern the same record: do not publish tokens beyond the agency they return to.
- the token's length follows the record id's length (ids of an agency usually have one length).

Text form: ``base64url`` without padding of (16-byte SIV tag || ciphertext). The AES-SIV call of the
``cryptography`` library works on one message at a time, so encryption is a tight Python loop over each
batch (measured in benchmarks/results/pseudonymise.json); the encoding around it is vectorised.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

from nonrecours.errors import PrivacyError
from nonrecours.privacy.keys import ReturnTokenKey

__all__ = ["TOKEN_PATTERN", "issue_return_tokens", "open_return_tokens"]

TOKEN_PATTERN = r"^[A-Za-z0-9_-]{22,}$"
"""Shape of a token (base64url, no padding; 16-byte tag + at least one byte)."""

_BATCH = 262_144


def _check_key(key: object) -> ReturnTokenKey:
    if not isinstance(key, ReturnTokenKey):
        raise PrivacyError("return tokens need a ReturnTokenKey (the owning agency's own key)")
    return key


def _to_b64url(binary: pl.Expr) -> pl.Expr:
    return (binary.bin.encode("base64").str.replace_all("+", "-", literal=True)
            .str.replace_all("/", "_", literal=True).str.strip_chars_end("="))


def _from_b64url(text: pl.Expr) -> pl.Expr:
    std = text.str.replace_all("-", "+", literal=True).str.replace_all("_", "/", literal=True)
    pad = pl.lit("=").repeat_by((4 - text.str.len_bytes() % 4) % 4).list.join("")
    return (std + pad).str.decode("base64", strict=False)


def issue_return_tokens(frame: pl.DataFrame, record_column: str, key: ReturnTokenKey, *,
                        out: str = "return_token", key_id_column: str | None = "return_key_id",
                        drop_record: bool = True) -> pl.DataFrame:
    """Add ``out`` = the agency's token of ``record_column`` (null stays null) and the key id.

    ``drop_record`` removes the local record id so it does not travel with the list.
    """
    key = _check_key(key)
    if record_column not in frame.columns:
        raise PrivacyError(f"column {record_column} not in the frame to tokenise")
    siv = AESSIV(key._siv_key)
    ad = key.associated_data()
    values = frame.get_column(record_column).cast(pl.String)
    parts: list[pl.Series] = []
    for start in range(0, max(len(values), 1), _BATCH):
        chunk = values.slice(start, _BATCH).to_list()
        enc = siv.encrypt
        parts.append(pl.Series(out, [None if v is None or v == "" else enc(v.encode("utf-8"), ad)
                                     for v in chunk], dtype=pl.Binary))
    tokens = pl.concat(parts) if parts else pl.Series(out, [], dtype=pl.Binary)
    result = frame.with_columns(tokens.alias(out)).with_columns(_to_b64url(pl.col(out)).alias(out))
    if key_id_column:
        result = result.with_columns(
            pl.when(pl.col(out).is_not_null()).then(pl.lit(key.key_id)).alias(key_id_column))
    return result.drop(record_column) if drop_record and record_column != out else result


def open_return_tokens(frame: pl.DataFrame, token_column: str, key: ReturnTokenKey, *,
                       out: str = "record_id", locate: Callable[[int], str] | None = None,
                       failures: str | None = None) -> pl.DataFrame:
    """Add ``out`` = the local record id behind each token (null stays null).

    Raises PrivacyError naming the first row whose token fails authentication (tampered, truncated,
    or issued by another agency, exchange or purpose): ``locate(i)`` says where row ``i`` of ``frame`` is (the
    file and line the frame was read from), by default "row i". The token itself is never quoted.
    With ``failures`` (a column name), such a row is kept instead, ``out`` null and the reason in that column
    (null on every row that opened or had no token): one damaged cell does not lose the rest of a list.
    """
    where = locate or (lambda i: f"row {i}")
    key = _check_key(key)
    if token_column not in frame.columns:
        raise PrivacyError(f"column {token_column} not in the frame of tokens")
    decoded = frame.select(
        pl.col(token_column).cast(pl.String).alias("t"),
        _from_b64url(pl.col(token_column).cast(pl.String)).alias("b"),
    ).with_columns(_to_b64url(pl.col("b")).alias("canonical"))
    # Canonical encoding only: a token string that differs from the issued one never opens, even when
    # the difference sits in base64 padding bits that the decoder would ignore.
    bad = pl.col("t").is_not_null() & (pl.col("b").is_null() | (pl.col("canonical") != pl.col("t")))
    bad_encoding = decoded.select(bad.arg_true()).to_series()
    if len(bad_encoding) and failures is None:
        raise PrivacyError(f"return token at {where(int(bad_encoding[0]))}: not a token (bad encoding)")
    raw = decoded.select(pl.when(bad).then(None).otherwise(pl.col("b"))).to_series()
    siv = AESSIV(key._siv_key)
    ad = key.associated_data()
    dec = siv.decrypt
    opened: list[str | None] = []
    failed: list[str | None] = [None] * len(raw)
    for i in bad_encoding.to_list():
        failed[i] = "not a token (bad encoding)"
    refused = (f"authentication failed (tampered, or not issued by agency {key.agency} for exchange "
               f"{key.exchange}, purpose {key.purpose})")
    base = 0
    for start in range(0, max(len(raw), 1), _BATCH):
        chunk = raw.slice(start, _BATCH).to_list()
        for i, tok in enumerate(chunk):
            if tok is None:
                opened.append(None)
                continue
            try:
                opened.append(dec(tok, ad).decode("utf-8"))
            except (InvalidTag, ValueError):
                if failures is None:
                    raise PrivacyError(f"return token at {where(base + i)}: {refused}") from None
                opened.append(None)
                failed[base + i] = refused
        base += len(chunk)
    result = frame.with_columns(pl.Series(out, opened, dtype=pl.String))
    return result if failures is None else result.with_columns(pl.Series(failures, failed, dtype=pl.String))
