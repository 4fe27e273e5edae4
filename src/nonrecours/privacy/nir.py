"""NIR normalisation and validation as Polars expressions (no Python per row).

A NIR (numéro d'inscription au répertoire) is 13 characters plus a 2-digit key:
``S YY MM DD CCC OOO KK`` with S the sex digit, YY MM the birth year and month, DD CCC the birth place
(``2A``/``2B`` for Corsica), OOO an order number and KK = 97 - (N mod 97) with N the 13-digit number
in which ``2A`` is read as ``19`` and ``2B`` as ``18`` (the rule of ``stdnum.fr.nir``, checked against it
in the tests). N < 10**13 fits an Int64 with room to spare, so ``mod 97`` never overflows.

Beyond the key, the structure is checked because a typo can keep a valid key only by chance (1 in 97),
while a sex digit or a month out of range tells at once that a column was shifted or misread:

- sex digit 1 or 2: a NIR certified by INSEE (RNIPP);
- sex digit 3/4 or 7/8: a *temporary* number (numéro provisoire given by an agency while a person born
  abroad waits for registration; 7/8 is the common convention in extracts, 3/4 appears in older ones).
  Kind ``temporary``. A NIA (numéro d'immatriculation d'attente, SANDIA) is built *exactly like* a NIR
  (same digits, same key), so it cannot be told apart from the string alone: an extract that carries a
  certification flag should map it, and such numbers are kind ``nir`` here;
- month 01-12, or 20-42 / 50-99, the fictitious months given when the civil record has no birth month.

Reason codes, first failing wins: ``missing`` (null/empty), ``characters`` (anything but digits, with
``2A``/``2B`` only at positions 6-7), ``length`` (not 15 characters), ``key``, ``sex``, ``month``.
A NIR is *valid* when it has no reason. ``stdnum.fr.nir.is_valid`` equals "no reason among missing,
characters, length, key" (property-tested).
"""

from __future__ import annotations

import polars as pl

__all__ = [
    "NIR_REASONS",
    "check_nirs",
    "nir_kind",
    "nir_normalised",
    "nir_reason",
]

NIR_REASONS: tuple[str, ...] = ("missing", "characters", "length", "key", "sex", "month")
"""Reason codes for an unusable NIR, in the order they are tested."""

_SEPARATORS = r"[\s.\-]"
_CHARS = r"^(?:[0-9]{5}(?:[0-9]{2}|2[AB]))?[0-9]*$"
_MONTH = r"^(?:0[1-9]|1[0-2]|[23][0-9]|4[0-2]|[5-9][0-9])$"
_NIR_SEX = r"^[12]"
_TEMP_SEX = r"^[3478]"


def _as_expr(nir: str | pl.Expr) -> pl.Expr:
    return pl.col(nir) if isinstance(nir, str) else nir


def nir_normalised(nir: str | pl.Expr) -> pl.Expr:
    """Strip spaces, dots and dashes, upper-case; null when nothing is left.

    No validity check here: combine with :func:`nir_reason` (a normalised string is not a valid NIR).
    """
    s = _as_expr(nir).cast(pl.String).str.replace_all(_SEPARATORS, "").str.to_uppercase()
    return pl.when(s.str.len_bytes() > 0).then(s)


def _key_matches(norm: pl.Expr) -> pl.Expr:
    body = (norm.str.slice(0, 5)
            + norm.str.slice(5, 2).replace({"2A": "19", "2B": "18"})
            + norm.str.slice(7, 6))
    n = body.cast(pl.Int64, strict=False)
    key = norm.str.slice(13, 2).cast(pl.Int64, strict=False)
    return (97 - n % 97) == key


def nir_reason(nir: str | pl.Expr, *, normalised: bool = False) -> pl.Expr:
    """Reason code (see :data:`NIR_REASONS`) of an unusable NIR; null for a valid one.

    Given a column name, the result keeps that name; given an expression, name it yourself.

    ``normalised=True`` skips normalisation when the input already went through :func:`nir_normalised`.
    """
    norm = _as_expr(nir) if normalised else nir_normalised(nir)
    month = norm.str.slice(3, 2)
    reason = (
        pl.when(norm.is_null()).then(pl.lit("missing"))
        .when(~norm.str.contains(_CHARS)).then(pl.lit("characters"))
        .when(norm.str.len_bytes() != 15).then(pl.lit("length"))
        .when(~_key_matches(norm)).then(pl.lit("key"))
        .when(~(norm.str.contains(_NIR_SEX) | norm.str.contains(_TEMP_SEX))).then(pl.lit("sex"))
        .when(~month.str.contains(_MONTH)).then(pl.lit("month"))
        .otherwise(None)
        .cast(pl.Enum(NIR_REASONS))
    )
    return reason.alias(nir) if isinstance(nir, str) else reason


def nir_kind(nir: str | pl.Expr, *, normalised: bool = False) -> pl.Expr:
    """``nir`` (sex digit 1/2) or ``temporary`` (3/4/7/8); null when the number is not valid."""
    norm = _as_expr(nir) if normalised else nir_normalised(nir)
    kind = pl.when(norm.str.contains(_NIR_SEX)).then(pl.lit("nir")).otherwise(pl.lit("temporary"))
    out = pl.when(nir_reason(norm, normalised=True).is_null()).then(kind).cast(pl.Enum(("nir", "temporary")))
    return out.alias(nir) if isinstance(nir, str) else out


def check_nirs(frame: pl.DataFrame | pl.LazyFrame, column: str, *,
               prefix: str | None = None) -> pl.DataFrame | pl.LazyFrame:
    """Add ``<prefix>_norm`` (normalised, null unless valid), ``<prefix>_valid``, ``<prefix>_reason``
    and ``<prefix>_kind`` beside ``column`` (``prefix`` defaults to the column name).

    The raw column is kept: the caller decides when to drop it (before anything leaves the connector).
    """
    p = prefix or column
    tmp = f"__{p}_normalised"
    return (
        frame.with_columns(nir_normalised(column).alias(tmp))
        .with_columns(nir_reason(pl.col(tmp), normalised=True).alias(f"{p}_reason"))
        .with_columns(
            pl.col(f"{p}_reason").is_null().alias(f"{p}_valid"),
            pl.when(pl.col(f"{p}_reason").is_null()).then(pl.col(tmp)).alias(f"{p}_norm"),
            pl.when(pl.col(f"{p}_reason").is_null())
            .then(pl.when(pl.col(tmp).str.contains(_NIR_SEX)).then(pl.lit("nir")).otherwise(pl.lit("temporary")))
            .cast(pl.Enum(("nir", "temporary"))).alias(f"{p}_kind"),
        )
        .drop(tmp)
    )
