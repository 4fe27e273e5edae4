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

Normalisation removes spaces, tabs, line breaks, no-break spaces, dots and dashes and upper-cases
``2a``/``2b``. Reason codes, first failing wins: ``missing`` (null/empty), ``characters`` (anything but digits, with
``2A``/``2B`` only at positions 6-7), ``length`` (not 15 characters), ``key``, ``sex``, ``month``.
A NIR is *valid* when it has no reason. ``stdnum.fr.nir.is_valid`` equals "no reason among missing,
characters, length, key" (property-tested).
"""

from __future__ import annotations

import polars as pl

__all__ = [
    "NIR_REASONS",
    "check_nirs",
    "nir_born_in_france",
    "nir_kind",
    "nir_neighbours",
    "nir_normalised",
    "nir_reason",
    "nir_sex",
    "stage_nir_checks",
]

NIR_REASONS: tuple[str, ...] = ("missing", "characters", "length", "key", "sex", "month")
"""Reason codes for an unusable NIR, in the order they are tested."""

_SEPARATORS: tuple[str, ...] = (" ", ".", "-", "\t", "\r", "\n", "\u00a0", "\u202f")
"""Removed by normalisation: space, dot, dash, tab, CR, LF, no-break and narrow no-break spaces."""
_CHARS = r"^(?:[0-9]{5}(?:[0-9]{2}|2[AB]))?[0-9]*$"
_SEX_NIR = (1, 2)
_SEX_TEMPORARY = (3, 4, 7, 8)


def _as_expr(nir: str | pl.Expr) -> pl.Expr:
    return pl.col(nir) if isinstance(nir, str) else nir


def nir_normalised(nir: str | pl.Expr) -> pl.Expr:
    """Strip spaces, dots and dashes (see ``_SEPARATORS``), upper-case ``2a``/``2b``; null when empty.

    No validity check here: combine with :func:`nir_reason` (a normalised string is not a valid NIR).
    Literal multi-pattern replacement, not a regex: several times faster on 10 million rows.
    """
    # Spaces first with the fast single-literal path (the usual separator: halves the cost on spaced
    # numbers), then one Aho-Corasick pass for the other separators that also upper-cases a/b (the only
    # letters a valid NIR holds, in 2A/2B; any other letter makes it invalid, so its case does not matter).
    rest = _SEPARATORS[1:]
    s = (_as_expr(nir).cast(pl.String).str.replace_all(" ", "", literal=True)
         .str.replace_many([*rest, "a", "b"], [""] * len(rest) + ["A", "B"]))
    return s.replace("", None)


def _number(norm: pl.Expr) -> pl.Expr:
    """The 15 characters as one Int64 with 2A→19 and 2B→18 (null unless all digits after that).

    On a string that passed the character check, 2A/2B can only sit at the department, so a plain
    replacement is exact. 15 digits < 10**15: far from the Int64 limit, so no overflow anywhere below.
    One cast of the whole string is ~10x cheaper than slicing and casting the parts.
    """
    return norm.str.replace_many(["2A", "2B"], ["19", "18"]).cast(pl.Int64, strict=False)


def _reason(norm: pl.Expr, whole: pl.Expr) -> pl.Expr:
    """Reason code from the normalised string and its :func:`_number` (pass columns: both are reused)."""
    number, key = whole // 100, whole % 100  # the 13-digit number N and the 2-digit key
    sex = whole // 10**14
    month = (whole // 10**10) % 100
    month_ok = month.is_between(1, 12) | month.is_between(20, 42) | month.is_between(50, 99)
    return (
        pl.when(norm.is_null()).then(pl.lit("missing"))
        .when(~norm.str.contains(_CHARS)).then(pl.lit("characters"))
        .when(norm.str.len_bytes() != 15).then(pl.lit("length"))
        .when((97 - number % 97) != key).then(pl.lit("key"))
        .when(~sex.is_in([*_SEX_NIR, *_SEX_TEMPORARY])).then(pl.lit("sex"))
        .when(~month_ok).then(pl.lit("month"))
        .otherwise(None)
        .cast(pl.Enum(NIR_REASONS))
    )


def stage_nir_checks(frame: pl.LazyFrame, column: str, *, norm: str, reason: str) -> pl.LazyFrame:
    """Add the normalised NIR (null unless valid) as ``norm`` and its reason code as ``reason``.

    Each intermediate is a column computed once, so the whole check costs a few passes over the data.
    """
    whole = f"__{norm}_number"
    return (frame.with_columns(nir_normalised(column).alias(norm))
            .with_columns(_number(pl.col(norm)).alias(whole))
            .with_columns(_reason(pl.col(norm), pl.col(whole)).alias(reason))
            .with_columns(pl.when(pl.col(reason).is_null()).then(pl.col(norm)).alias(norm))
            .drop(whole))


def _staged(values: pl.Series) -> pl.DataFrame:
    """Normalised NIR (null unless valid) and reason of a whole Series, each intermediate computed once."""
    return stage_nir_checks(values.to_frame("raw").lazy(), "raw", norm="norm", reason="reason").collect()


def nir_reason(nir: str | pl.Expr, *, normalised: bool = False) -> pl.Expr:
    """Reason code (see :data:`NIR_REASONS`) of an unusable NIR; null for a valid one.

    Given a column name, the result keeps that name; given an expression, name it yourself.
    On raw input the check runs once per batch over the whole column (``map_batches``: vectorised, no
    Python per row), so the normalisation is not repeated in every branch. ``normalised=True`` takes a
    column already normalised by :func:`nir_normalised` and stays a pure expression.
    """
    if normalised:
        norm = _as_expr(nir)
        reason = _reason(norm, _number(norm))
    else:
        reason = _as_expr(nir).map_batches(lambda s: _staged(s).get_column("reason"),
                                           return_dtype=pl.Enum(NIR_REASONS), is_elementwise=True)
    return reason.alias(nir) if isinstance(nir, str) else reason


def _kind_of_valid(norm: pl.Expr) -> pl.Expr:
    sex = norm.str.slice(0, 1)
    return pl.when(sex.is_in(["1", "2"])).then(pl.lit("nir")).otherwise(pl.lit("temporary"))


def nir_kind(nir: str | pl.Expr, *, normalised: bool = False) -> pl.Expr:
    """``nir`` (sex digit 1/2) or ``temporary`` (3/4/7/8); null when the number is not valid."""
    kinds = pl.Enum(("nir", "temporary"))
    if normalised:
        norm = _as_expr(nir)
        out = pl.when(nir_reason(norm, normalised=True).is_null()).then(_kind_of_valid(norm)).cast(kinds)
    else:
        def kind_of(values: pl.Series) -> pl.Series:
            norm = _staged(values).get_column("norm")
            return norm.to_frame().select(pl.when(pl.col("norm").is_not_null())
                                          .then(_kind_of_valid(pl.col("norm"))).cast(kinds)).to_series()

        out = _as_expr(nir).map_batches(kind_of, return_dtype=kinds, is_elementwise=True)
    return out.alias(nir) if isinstance(nir, str) else out


def check_nirs(frame: pl.DataFrame | pl.LazyFrame, column: str, *,
               prefix: str | None = None) -> pl.DataFrame | pl.LazyFrame:
    """Add ``<prefix>_norm`` (normalised, null unless valid), ``<prefix>_valid``, ``<prefix>_reason``
    and ``<prefix>_kind`` beside ``column`` (``prefix`` defaults to the column name).

    The raw column is kept: the caller decides when to drop it (before anything leaves the connector).
    """
    p = prefix or column
    lazy = stage_nir_checks(frame.lazy(), column, norm=f"{p}_norm", reason=f"{p}_reason").with_columns(
        pl.col(f"{p}_reason").is_null().alias(f"{p}_valid"),
        pl.when(pl.col(f"{p}_norm").is_not_null()).then(_kind_of_valid(pl.col(f"{p}_norm")))
        .cast(pl.Enum(("nir", "temporary"))).alias(f"{p}_kind"),
    ).select([*frame.collect_schema().names(), f"{p}_norm", f"{p}_valid", f"{p}_reason", f"{p}_kind"])
    return lazy if isinstance(frame, pl.LazyFrame) else lazy.collect()


_SLIPS = pl.DataFrame(
    [("sub", p, str(d)) for p in range(15) for d in range(10)] + [("swap", p, "") for p in range(14)],
    schema={"_slip": pl.String, "_pos": pl.Int64, "_digit": pl.String}, orient="row")
"""Every single typing slip on 15 characters: a digit replaced at a position, or two adjacent characters swapped."""


def nir_neighbours(frame: pl.DataFrame | pl.LazyFrame, column: str, *, out: str) -> pl.LazyFrame:
    """``frame``'s rows whose raw NIR ``column`` fails only its key, each repeated once per valid NIR (normalised, in
    ``out``) a single slip away: one digit replaced, or two adjacent digits swapped.

    The key (97 − N mod 97) detects every such slip, so a number whose key fails was most often typed with one;
    the number meant is then among these (on average about one and a half per number: of the 149 slips, each gives
    a valid key with a chance of 1 in 97, and the structure checks drop some). Which one it was, only a register
    tells: a caller compares their pseudonyms with the people it knows. ``2A``/``2B`` are kept as they are. The
    raw number stays in ``column``: the caller drops it before anything leaves the connector.
    """
    norm, reason, whole = "__nb_norm", "__nb_reason", "__nb_number"
    staged = (frame.lazy().with_columns(nir_normalised(column).alias(norm))
              .with_columns(_number(pl.col(norm)).alias(whole))
              .with_columns(_reason(pl.col(norm), pl.col(whole)).alias(reason))
              .filter(pl.col(reason) == "key").drop(whole, reason))
    s, pos = pl.col(norm), pl.col("_pos")
    here, after = s.str.slice(pos, 1), s.str.slice(pos + 1, 1)
    digit = r"^[0-9]$"
    variant = (pl.when((pl.col("_slip") == "sub") & here.str.contains(digit) & (here != pl.col("_digit")))
               .then(s.str.slice(0, pos) + pl.col("_digit") + s.str.slice(pos + 1))
               .when((pl.col("_slip") == "swap") & here.str.contains(digit) & after.str.contains(digit)
                     & (here != after))
               .then(s.str.slice(0, pos) + after + here + s.str.slice(pos + 2)))
    tried = (staged.join(_SLIPS.lazy(), how="cross").with_columns(variant.alias(out))
             .drop("_slip", "_pos", "_digit").drop_nulls(out))
    checked = stage_nir_checks(tried, out, norm=out, reason=reason)
    return checked.filter(pl.col(reason).is_null()).drop(reason, norm).unique(maintain_order=True)


_LATE_DEPARTMENTS = ("91", "92", "93", "94", "95")
"""Codes of the Île-de-France départements created in 1968 (loi du 10 juillet 1964); before 1968 INSEE gave
91-94 to births in Algeria, 95 to Morocco and 96 to Tunisia (protectorates and départements of the time)."""


def nir_born_in_france(nir: str | pl.Expr) -> pl.Expr:
    """Whether the holder of a *normalised, valid* NIR (see :func:`stage_nir_checks`) was born in France.

    ``true``: born in a French département, Corsica (``2A``/``2B``, ``20`` before 1976), overseas (``97``:
    départements and Saint-Pierre-et-Miquelon, Mayotte, ...; ``98``: the overseas collectivities of the
    Pacific); ``false``: born abroad (département ``99`` followed by the country code) or holder of a
    temporary number (sex digit 3/4/7/8: given to people born abroad awaiting registration); null (unknown):
    no valid NIR, ``96`` (never a French département code: Tunisia before 1968), or ``91``-``95`` with a
    birth year ``YY`` below 68 (1968 or later: Île-de-France; before, Algeria or Morocco, and the two year
    digits cannot tell 1920 from 2020, so every such number is unknown).

    Only the sex digit, the two year digits and the two département characters are read: the fact is coarser
    than the NIR's birth fields (a boolean), so it identifies nobody. A null NIR gives null.
    """
    norm = _as_expr(nir)
    sex, yy, dep = norm.str.slice(0, 1), norm.str.slice(1, 2).cast(pl.Int32, strict=False), norm.str.slice(5, 2)
    return (
        pl.when(norm.is_null()).then(None)
        .when(sex.is_in(["3", "4", "7", "8"])).then(pl.lit(False))
        .when(dep == "99").then(pl.lit(False))
        .when(dep == "96").then(None)
        .when(dep.is_in(list(_LATE_DEPARTMENTS)) & (yy < 68)).then(None)
        .when(dep.is_in(["2A", "2B"]) | dep.str.contains(r"^[0-9]{2}$") & (dep != "00")).then(pl.lit(True))
        .otherwise(None)
        .cast(pl.Boolean)
    )


def nir_sex(nir: str | pl.Expr) -> pl.Expr:
    """The sex (``M``/``F``, the canonical codes) of the holder of a *normalised, valid* NIR, from its first digit:
    1 and 2 (registered), 3 and 4 and 7 and 8 (temporary numbers: born abroad, awaiting registration), odd for a
    man and even for a woman (INSEE's numbering). Null for a null number. One character of the NIR, coarser than
    its birth fields: it identifies nobody, and spares asking a man whether he is pregnant when his extract
    carries no sex field (the CPAM's, the DGFiP's, France Travail's)."""
    digit = _as_expr(nir).str.slice(0, 1)
    return (pl.when(digit.is_in(["1", "3", "7"])).then(pl.lit("M"))
            .when(digit.is_in(["2", "4", "8"])).then(pl.lit("F")))
