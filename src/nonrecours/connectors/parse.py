"""Typed parsing of raw fields and emission of canonical rows, all as Polars expressions.

``parse_record`` turns the raw text of one record layout into typed fields, one fault reason per cell
(``missing value``, ``not a date in format %d/%m/%Y``, ``negative amount``, ``invalid NIR check key``...)
and replaces identifier fields by pseudonyms at once: the raw NIR does not outlive the function.
``emit_rows`` builds canonical rows from accepted records and ``check_rows`` runs the canonical table checks
on them, so a row that would break the canonical contract is quarantined with its line, not lost.
"""

from __future__ import annotations

import datetime as dt
import re

import polars as pl

from nonrecours.connectors._ids import NIR_MESSAGES, pseudonymise_ids, wrap_record_numbers
from nonrecours.connectors.mapping import NIR_FACT_COLUMNS, Emit, ExtractMapping, FieldMap, RecordLayout
from nonrecours.connectors.readers import FAULT, FAULT_COLUMN, LINE, TEXT
from nonrecours.privacy import (
    PseudonymKey,
    ReturnTokenKey,
    check_nirs,
    nir_born_in_france,
    nir_neighbours,
    nir_normalised,
    nir_sex,
    pseudonymise,
)
from nonrecours.schemas import TABLES, UNIDENTIFIED_DESCRIBED, UNIDENTIFIED_NEIGHBOURS

__all__ = ["BORN_IN_FRANCE", "FAULT_SCHEMA", "KEPT_OBJECTION", "NIR_FACTS", "SUB", "UNIDENTIFIED_SCHEMA", "born_column",
           "check_rows", "emit_rows", "parse_record", "raw_fields", "repairs", "unemitted_lines",
           "unidentified_members"]

FAULT_SCHEMA = {"line": pl.Int64, "record": pl.String, "column": pl.String, "reason": pl.String}
SUB = "__sub"
"""Rank of a row among those one emit makes from one line (the month of a spread year, else 0)."""
GIVEN = "__given_"
"""Prefix of ``parse_record``'s columns telling, for a field an emit reads ``when_present``, that its text was given
(whether or not it reads): the emit's row is made, and a value that failed is the line's fault, not no row."""
KEPT_OBJECTION = "__kept_objection"
"""Column of ``parse_record``'s rows: a line quarantined for a fault elsewhere whose objection to contact
(``opt_outs``) is whole and kept (``_objection_whole``); no other table reads it."""
BORN_IN_FRANCE = "born_in_france"
BIRTH_MONTH_ESTIMATED = "birth_month_estimated"
NIR_FACTS = dict(zip(NIR_FACT_COLUMNS, (nir_born_in_france, nir_sex), strict=True))
"""The persons columns a nir field may fill: the facts read from the number before it becomes a pseudonym (born
in France or abroad, ``privacy.nir.nir_born_in_france``; the sex digit, ``privacy.nir.nir_sex``), the only facts
of the digits that leave the connector."""


def born_column(nir_target: str, fact: str = BORN_IN_FRANCE) -> str:
    """Name of the column ``parse_record`` adds beside each nir field for one of ``NIR_FACTS`` (``fact``)."""
    return f"__born:{nir_target}" if fact == BORN_IN_FRANCE else f"__{fact}:{nir_target}"


_AMOUNT_RE = r"^-?\d+(\.\d+)?$"
_CENTS_RE = r"^-?\d+(\.\d{1,2})?$"
_OTHER_MARK_POINT = r"^-?\d+\.\d{1,2}$"
_OTHER_MARK_COMMA = r"^-?\d+,\d{1,2}$"
_GROUPED_BY_POINTS = r"^-?[1-9]\d{0,2}(\.\d{3})+(,\d*)?$"
"""Thousands grouped by points, in a layout with decimal commas: « 1.234.567,89 », « 44.000 »."""
_GROUPED_BY_COMMAS = r"^-?[1-9]\d{0,2}(,\d{3})+\.\d{1,2}$"
"""Thousands grouped by commas before a decimal point, in a layout with decimal points: « 1,253.49 » (an
English-language export); without the decimal point (« 1,253 ») the comma may be a decimal one: left a fault."""
_NO_NUMBER = "?"
"""Text no number pattern matches: a cell whose points cannot be groups of thousands is reported as no number."""


def _decimal_comma(s: pl.Expr) -> pl.Expr:
    """Text of a layout with decimal commas in the point notation: points removed only where they group thousands
    (« 1.234,5 »); a point anywhere else (« 1.2345 », « 0.125 », « 12.5.0 ») makes the cell no number rather than a
    value a thousand times too large."""
    return (pl.when(s.str.contains(_GROUPED_BY_POINTS)).then(s.str.replace_all(".", "", literal=True))
            .when(s.str.contains(".", literal=True)).then(pl.lit(_NO_NUMBER))
            .otherwise(s).str.replace(",", ".", literal=True))


def where(f: FieldMap, mapping: ExtractMapping) -> str:
    """How a fault names a field: the agency's column name (and positions for fixed width)."""
    if mapping.format == "fixed_width" and f.start is not None:
        return f"{f.source} (positions {f.start}-{f.end})"
    return f.source


def raw_fields(batch: pl.DataFrame, record: RecordLayout, mapping: ExtractMapping) -> pl.DataFrame:
    """Select the raw text of each non-identity field, named by its target."""
    cols = []
    for f in record.fields:
        if f.type == "identity":
            continue
        if mapping.format == "fixed_width":
            assert f.start is not None and f.length is not None
            expr = pl.col(TEXT).str.slice(f.start - 1, f.length)
        elif f.source in batch.columns:
            expr = pl.col(f.source)
        else:
            expr = pl.lit(None, dtype=pl.String)
        cols.append(expr.str.strip_chars().alias(f.target))
    dates = {f.target for f in record.fields if f.type in ("date", "month")}

    def given(c: str) -> pl.Expr:
        filled = pl.col(c).str.len_chars() > 0
        return filled & ~pl.col(c).str.contains(_ZERO_DATE) if c in dates else filled

    return batch.select(pl.col(LINE), *cols).with_columns(
        [pl.when(given(c)).then(pl.col(c)).otherwise(None).alias(c)
         for c in [f.target for f in record.fields if f.type != "identity"]])


_ZERO_DATE = r"^0+([-/. ]0+)*$"
"""A date of zeros only (``00000000``, ``00/00/0000``, ``0000-00-00``): how a COBOL file's numeric date field
(PIC 9(8)) and many exports write « no date », which cannot be a day. Read as a blank: absent, so unknown in an
optional field and ``missing value`` in a required one (a birth date of zeros gives no year to keep either)."""


_LOST_ZERO = r"^\d{4}$"
"""A commune code of four digits: an INSEE code of départements 01 to 09 (``01004``) whose leading zero a
spreadsheet removed, reading it as a number. No other code has four characters (``2A004`` has five, and a
three-digit one would need two zeros: it stays a fault, like any other shape)."""
LOST_ZERO_REPAIR = "leading zero restored (4-digit commune code)"
_LOWER_CORSICA = r"^2[ab]\d{3}$"
"""A Corsican commune code whose letter is in lower case (``2a004``): read in upper case, the one spelling."""
UPPER_CASE_REPAIR = "Corsica's letter read in upper case (2a/2b)"
_REPAIRS = ((_LOST_ZERO, LOST_ZERO_REPAIR), (_LOWER_CORSICA, UPPER_CASE_REPAIR))


def _commune(raw: pl.Expr) -> pl.Expr:
    """A commune field's code, its lost leading zero restored (``_LOST_ZERO``) and Corsica's letter read in upper
    case (``2a004`` is ``2A004``: nothing else has a letter); checked by the canonical table."""
    return pl.when(raw.str.contains(_LOST_ZERO)).then(pl.lit("0") + raw).otherwise(raw.str.to_uppercase())


OTHER_MARK_REPAIR = "the other decimal mark read (12.50 for 12,50, or the reverse)"
THOUSANDS_REPAIR = "commas between thousands read (1,253.49)"
OTHER_ORDER_REPAIR = "date in another order or without leading zeros read (1959-09-11, 1948-2-9)"
CASE_REPAIR = "code read ignoring its case (fr for FR)"
NIR_SHAPE_REPAIR = "NIR read without its separators or with Corsica's letter in upper case (1 85 01 …, 2a)"


def repairs(raw: pl.DataFrame, record: RecordLayout, mapping: ExtractMapping) -> dict[str, int]:
    """Values of ``raw`` (from ``raw_fields``) that ``parse_record`` reads only after a repair or in a shape
    other than the layout's, by column and kind: what the ingest report counts (``IngestReport.repaired``) so the
    agency learns its export departs from the layout (a commune code that lost its zero, the other decimal mark,
    a date in ISO order, a code in lower case). Counted on the shapes, before parsing: a shape that still fails
    (« 2026-13-45 ») is counted beside its fault."""
    checks: list[tuple[str, pl.Expr]] = []
    for f in record.fields:
        col, name = pl.col(f.target), where(f, mapping)
        if f.type == "commune":
            checks += [(f"{name}: {label}", col.str.contains(shape)) for shape, label in _REPAIRS]
        elif f.type in ("amount", "float"):
            text = _number_text(col)
            if f.decimal_comma:
                checks.append((f"{name}: {OTHER_MARK_REPAIR}", text.str.contains(_OTHER_MARK_POINT)))
            else:
                checks += [(f"{name}: {OTHER_MARK_REPAIR}", text.str.contains(_OTHER_MARK_COMMA)),
                           (f"{name}: {THOUSANDS_REPAIR}", text.str.contains(_GROUPED_BY_COMMAS))]
        elif f.type in ("date", "month") and f.date_format:
            others = [col.str.contains(shape) for fmt, shape in _OTHER_DATE_SHAPES[f.type] if fmt != f.date_format]
            if others:
                checks.append((f"{name}: {OTHER_ORDER_REPAIR}",
                               ~col.str.contains(_shape(f.date_format)) & pl.any_horizontal(others)))
        elif f.type == "nir":  # spaces, dots, dashes between its groups: a real export's way, but not the layout's
            checks.append((f"{name}: {NIR_SHAPE_REPAIR}", col != nir_normalised(col)))
        elif f.type in ("code", "bool") and f.codes and (folded := _folded_codes(f.codes)) is not None:
            checks.append((f"{name}: {CASE_REPAIR}", ~col.is_in(list(f.codes))
                           & col.str.to_lowercase().is_in(list(folded))))
    if not checks or not raw.height:
        return {}
    counts = raw.select([e.fill_null(False).sum().alias(str(k)) for k, (_, e) in enumerate(checks)]).row(0)
    return {label: int(n) for (label, _), n in zip(checks, counts, strict=True) if n}


_SPACE = "[ \u00a0\u202f]"
_GROUPED_BY_SPACES = rf"^[-+]?[1-9]\d{{0,2}}({_SPACE}\d{{3}})+([.,]\d*)?$"
"""Thousands grouped by spaces (plain, no-break, narrow no-break), the French way: « 1 234,56 », « 12 000 »."""


def _number_text(raw: pl.Expr) -> pl.Expr:
    """A number's text without its spaces and the « + » of a sign written (« +12,50 » is the number itself): what
    both the parser and the repairs' count read. Spaces are read only where they group thousands: « 1 0000,00 »
    or « 10 00,00 » is no number (a fault), not 10 000 € or 1 000 € read from a misplaced separator."""
    spaced = raw.str.contains(_SPACE)
    bare = raw.str.replace_many([" ", "\u00a0", "\u202f"], ["", "", ""]).str.strip_prefix("+")
    return pl.when(spaced & ~raw.str.contains(_GROUPED_BY_SPACES)).then(pl.lit(_NO_NUMBER)).otherwise(bare)


def _prepared(f: FieldMap) -> pl.Expr | None:
    """Stage 1: the raw text cleaned for numeric parsing (spaces, decimal comma, implied decimals).

    The other decimal mark is read too when it cannot be a thousands separator (one or two digits after it,
    and no other mark): ``30.50`` in a layout with decimal commas is 30.50, not 3,050 with a dot between
    thousands, and ``30,50`` in a layout with decimal points is 30.50, not a fault. Groups of thousands
    always have three digits, so a mark followed by three is read by the layout's convention, and only there
    (``_decimal_comma``: ``1.2345`` is no amount, never 12,345).
    """
    if f.type not in ("amount", "float", "int", "year"):
        return None
    s = _number_text(pl.col(f.target))
    if f.type in ("amount", "float"):
        if f.decimal_comma:
            s = pl.when(s.str.contains(_OTHER_MARK_POINT)).then(s).otherwise(_decimal_comma(s))
        else:
            s = (pl.when(s.str.contains(_OTHER_MARK_COMMA)).then(s.str.replace(",", ".", literal=True))
                 .when(s.str.contains(_GROUPED_BY_COMMAS)).then(s.str.replace_all(",", "", literal=True))
                 .otherwise(s))
    elif f.decimal_comma:
        s = _decimal_comma(s)
    if f.implied_decimals:
        d = f.implied_decimals
        neg = s.str.starts_with("-")
        digits = s.str.strip_prefix("-").str.zfill(d + 1)
        s = pl.when(s.str.contains(r"^-?\d+$")).then(
            pl.when(neg).then(pl.lit("-")).otherwise(pl.lit(""))
            + digits.str.slice(0, digits.str.len_chars() - d) + "." + digits.str.slice(-d)
        ).otherwise(s)
    return s


def _flags(f: FieldMap, s: pl.Expr) -> list[pl.Expr]:
    """Stage 2 helpers for amounts: the two shape checks, computed once."""
    if f.type != "amount":
        return []
    return [s.str.contains(_AMOUNT_RE).alias("a"), s.str.contains(_CENTS_RE).alias("c")]


_WIDTHS = {"%Y": 4, "%m": 2, "%d": 2, "%y": 2}


def _positions(fmt: str) -> dict[str, int] | None:
    """Character offset of each directive in text written with ``fmt`` (None if a width varies)."""
    out: dict[str, int] = {}
    pos = i = 0
    while i < len(fmt):
        if fmt[i] == "%":
            d = fmt[i:i + 2]
            if d not in _WIDTHS:
                return None
            out[d] = pos
            pos += _WIDTHS[d]
            i += 2
        else:
            pos += 1
            i += 1
    return out


UNKNOWN_PARTS = ("00", "99")
"""How a date's unknown day or month is written: zeros (INSEE's civil-status files, ``19190500``) or nines (a
filler some systems write for an unknown part; no text fixes it). Neither can be a day nor a month, so reading
them as unknown misreads no real date."""


def _unknown_day_month(raw: pl.Expr, fmt: str) -> pl.Expr:
    """A month field's text with an unknown day (``00`` or ``99``) read as the 1st and an unknown month as
    December.

    Civil status often lacks the day (``00031956``, ``19560300``, ``00/03/1956``, ``99/03/1956``) for people born
    abroad: the month is all the canonical ``birth_month`` keeps, so the day does not matter. When the month is
    unknown too, December of the year is kept (the French civil-status convention for an unknown date is
    the 31st of December: instruction générale relative à l'état civil of 2 November 2004): the person is never
    taken as older than they can be, so no age condition (ASPA at 65, RSA at 25) is met early.
    """
    pos = _positions(fmt)
    if pos is None or "%d" not in pos:
        return raw
    d = pos["%d"]
    day_unknown = raw.str.slice(d, 2).is_in(UNKNOWN_PARTS)
    text = pl.when(day_unknown).then(raw.str.slice(0, d) + "01" + raw.str.slice(d + 2)).otherwise(raw)
    if "%m" in pos:
        m = pos["%m"]
        month_unknown = day_unknown & raw.str.slice(m, 2).is_in(UNKNOWN_PARTS)
        text = pl.when(month_unknown).then(text.str.slice(0, m) + "12" + text.str.slice(m + 2)).otherwise(text)
    return text


_UNKNOWN_MONTH_SHAPES = (r"^\d{4}$", r"^\d{4}-(00|99)-(00|99)$", r"^(00|99)/(00|99)/\d{4}$")
"""Texts of a birth date whose month is unknown in any shape a month field reads (``_partial_month``,
``_OTHER_DATE_SHAPES``): a year alone, ISO or French order with the day and month written as unknown."""


def _month_unknown_column(target: str) -> str:
    """Name of the column ``parse_record`` adds beside each month field whose layout writes a day (a birth date):
    true where the text gave the year only and December was kept (``_unknown_day_month``, ``_partial_month``)."""
    return f"__month_unknown:{target}"


def _month_unknown(raw: pl.Expr, fmt: str) -> pl.Expr:
    """True where a birth date's text gives no month (``00/00/1961``, ``19610000``, ``1961``): the value read is the
    31 December convention, a month no agency stated, which the core must not prefer to one another agency
    states (an outside tester's CNAV ``19610000`` beside the DGFiP's April 1961 made a retiree of 65 read 64 and
    lost his ASPA, 6 December 2026)."""
    shapes = [raw.str.contains(shape) for shape in _UNKNOWN_MONTH_SHAPES]
    pos = _positions(fmt)
    if pos is not None and "%d" in pos and "%m" in pos:
        shapes.append(raw.str.contains(_shape(fmt)) & raw.str.slice(pos["%d"], 2).is_in(UNKNOWN_PARTS)
                      & raw.str.slice(pos["%m"], 2).is_in(UNKNOWN_PARTS))
    return pl.any_horizontal(shapes)


def _without_day(fmt: str) -> str | None:
    """The layout's date format with its day left out (``%Y%m%d`` → ``%Y%m``, ``%d/%m/%Y`` → ``%m/%Y``): how a
    system that holds no day writes a birth date in that layout (``195603`` for ``%Y%m%d``). None without a day."""
    if "%d" not in fmt:
        return None
    i = fmt.index("%d")
    before, after = fmt[:i], fmt[i + 2:]
    if after[:1] and after[:1] != "%":
        after = after[1:]
    elif before and not before.endswith(("%Y", "%m", "%y")):
        before = before[:-1]
    return before + after


_OTHER_DATE_SHAPES = {
    "date": (("%Y-%m-%d", r"^\d{4}-\d{1,2}-\d{1,2}$"), ("%d/%m/%Y", r"^\d{1,2}/\d{1,2}/\d{4}$")),
    "month": (("%Y-%m-%d", r"^\d{4}-\d{1,2}-\d{1,2}$"), ("%d/%m/%Y", r"^\d{1,2}/\d{1,2}/\d{4}$"),
              ("%Y-%m", r"^\d{4}-\d{1,2}$"), ("%m/%Y", r"^\d{1,2}/\d{4}$")),
}
"""Dates written in another layout's convention that cannot be misread (the separators tell ISO from French
order), read when the layout's own format fails: an export tool that wrote ``1959-09-11`` where the layout says
``%d/%m/%Y``, or ``1948-2-9`` (a day or month between separators may drop its leading zero, as in the layout's
own format: ``_BETWEEN_SEPARATORS``). Undelimited forms (``%Y%m%d`` against ``%d%m%Y``) are ambiguous and stay
faults."""


_DIRECTIVE_SHAPES = {"%Y": r"\d{4}", "%y": r"\d{2}", "%m": r"\d{2}", "%d": r"\d{2}"}
_BETWEEN_SEPARATORS = {"%m": r"\d{1,2}", "%d": r"\d{1,2}"}
"""A day or month may drop its leading zero only between separators (``1/3/1956``, ``2026-1``): undelimited, one
digit less shifts the next part (``20261`` is no month of ``%Y%m``; read, it was October 2026)."""


def _shape(fmt: str) -> str:
    """The text ``fmt`` writes, as an anchored pattern: a year of ``%Y`` has four digits (the parser read « 13/12/94 »
    as the year 94, then a date before 1900, where it is no date in that format), a day or a month two digits unless
    separators surround it (``_BETWEEN_SEPARATORS``)."""
    parts = [p for p in re.split(r"(%[a-zA-Z])", fmt) if p]

    def alone(i: int) -> bool:
        return all(not (0 <= j < len(parts)) or not parts[j].startswith("%") for j in (i - 1, i + 1))

    return "^" + "".join((_BETWEEN_SEPARATORS.get(part) if alone(i) else None) or _DIRECTIVE_SHAPES.get(part)
                         or re.escape(part) for i, part in enumerate(parts)) + "$"


def _date(raw: pl.Expr, fmt: str, kind: str) -> pl.Expr:
    text = _unknown_day_month(raw, fmt) if kind == "month" else raw
    # a month's day after a separator of its own: ``2026-1`` + ``01`` would read as October the 1st
    value = text.str.to_date(fmt, strict=False) if "%d" in fmt else \
        (text + "|01").str.to_date(fmt + "|%d", strict=False)
    value = pl.when(text.str.contains(_shape(fmt))).then(value)
    return value.dt.month_start() if kind == "month" else value


def _partial_month(raw: pl.Expr, fmt: str) -> pl.Expr:
    """A month field whose layout writes a day (a birth date) written without it in the layout's own order
    (``195603`` where the layout says ``%Y%m%d``), or as a year alone (``1956``: December of that year, the
    31st of December convention of ``_unknown_day_month``); null otherwise. A field whose layout holds no day
    (a payment's ``%Y%m``) keeps its format: ``2026`` is no month there."""
    short = _without_day(fmt)
    if short is None:
        return pl.lit(None, dtype=pl.Date)
    year_only = pl.when(raw.str.contains(r"^\d{4}$")).then((raw + "1201").str.to_date("%Y%m%d", strict=False))
    if short in {f for f, _ in _OTHER_DATE_SHAPES["month"]}:  # already read there (``%m/%Y``, ``%Y-%m``)
        return year_only.otherwise(None)
    return year_only.otherwise(_date(raw, short, "month"))


def _value(f: FieldMap, s: pl.Expr, flags: dict[str, pl.Expr]) -> pl.Expr:
    """Stage 3: the typed value (null when absent or unparseable)."""
    raw = pl.col(f.target)
    if f.type in ("string", "local_id"):
        return raw
    if f.type == "commune":
        return _commune(raw)
    if f.type == "amount":
        return pl.when(flags["c"]).then(s).otherwise(None).cast(pl.Decimal(12, 2), strict=False)
    if f.type == "float":
        value = s.cast(pl.Float64, strict=False)
        return value * f.scale if f.scale is not None else value
    if f.type in ("int", "year"):
        return s.cast(pl.Int64, strict=False)
    if f.type in ("date", "month"):  # the layout's own format; the other shapes later (``_other_shapes``)
        return _date(raw, f.date_format or "", f.type)
    assert f.codes is not None  # code and bool: translation table
    folded = _folded_codes(f.codes)
    if folded is None:  # two codes differ by case alone: the exact spelling decides
        value = raw.replace_strict(f.codes, default=None, return_dtype=pl.String)
    else:  # ``o`` for ``O``, ``fr`` for ``FR``: one lookup in lower case reads the exact spellings too
        value = raw.str.to_lowercase().replace_strict(folded, default=None, return_dtype=pl.String)
    return value == "true" if f.type == "bool" else value


def _other_shapes(f: FieldMap, raw: pl.Expr) -> pl.Expr:
    """A date or month field's value read from the shapes its layout's own format does not write
    (``_OTHER_DATE_SHAPES``; for a month, the partial dates of ``_partial_month``), first that reads; null when
    none does. Only for the cells whose own format failed (``_with_other_shapes``)."""
    value = pl.lit(None, dtype=pl.Date)
    for fmt, shape in _OTHER_DATE_SHAPES[f.type]:
        if fmt != f.date_format:
            value = pl.when(value.is_null() & raw.str.contains(shape)).then(_date(raw, fmt, f.type)).otherwise(value)
    if f.type == "month":
        value = pl.when(value.is_null()).then(_partial_month(raw, f.date_format or "")).otherwise(value)
    return value


def _with_other_shapes(frame: pl.DataFrame, dates: dict[int, FieldMap]) -> pl.DataFrame:
    """``frame`` (the values stage, ``__v{i}``) with each date or month cell its layout's format could not read
    read again in the other shapes (``_other_shapes``), on those rows only: Polars computes every branch of a
    ``when`` over the whole column, and the five other readings of every date cell took about 40 % of the
    CAF's ingest (13.6 s against 8.1 at 100,000 persons) where a real extract has a few such cells."""
    for i, f in dates.items():
        failed = pl.col(f"__v{i}").is_null() & pl.col(f.target).is_not_null()
        rows = frame.select(pl.col(f.target), failed.alias("__failed")).with_row_index("__k").filter(pl.col("__failed"))
        if rows.height == 0:  # the usual case: planning the other readings costs ~40 ms even over no row
            continue
        again = rows.select("__k", _other_shapes(f, pl.col(f.target)).alias("__v"))
        frame = frame.with_columns(frame.get_column(f"__v{i}").scatter(again.get_column("__k"),
                                                                       again.get_column("__v")))
    return frame


def _folded_codes(codes: dict[str, str]) -> dict[str, str] | None:
    """The code table keyed in lower case, or None when two codes differ by case alone (then case decides).

    A file written by hand or by another tool may spell a layout's codes in lower case; where the table cannot
    be misread that way, the code is read as its upper-case spelling would be."""
    folded = {k.lower(): v for k, v in codes.items()}
    return folded if len(folded) == len(codes) else None


def _needed(record: RecordLayout, fields: list[FieldMap], mapping: ExtractMapping) -> dict[int, pl.Expr]:
    """Field index → where a required field must be given: on the rows of the emits that read it (their ``when`` on
    the translated values, ``__v<j>``), for a field only such emits read. A field an emit tests (``when``,
    ``when_nonzero``, ``when_present``), the record number, a NIR or a field no emit reads is needed on every row
    (absent from the result). An MSA payment or objection line leaves the member's nationality, disability rate,
    studies and pregnancy blank: only the member line's ``persons`` rows read them, and the line lost its payment
    or its objection to a « missing value » (found probing extracts written from the docs alone, 5 December 2026)."""
    index = {f.target: j for j, f in enumerate(fields)}
    tested = {t for e in record.emits for t in (*e.when, *e.when_nonzero, *e.when_present, *e.when_absent)}
    out: dict[int, pl.Expr] = {}
    for i, f in enumerate(fields):
        if not f.required or f.type == "nir" or f.target in tested or f.target == mapping.record_number:
            continue
        readers = [e for e in record.emits if f.target in e.columns.values()]
        if not readers or any(not e.when or any(t not in index for t in e.when) for e in readers):
            continue
        out[i] = pl.any_horizontal([pl.all_horizontal([pl.col(f"__v{index[t]}").cast(pl.String).is_in(values)
                                                       for t, values in e.when.items()]) for e in readers])
    return out


def _objection_whole(record: RecordLayout, fields: list[FieldMap]) -> pl.Expr | None:
    """Where a line's objection to contact is whole: every field its ``opt_outs`` emits read or test (the NIR, the
    benefit, the line's nature; not its date) without a fault. An objection (RGPD art. 21) is honoured whatever else on
    its line is faulty: a CNAM line quarantined for its invalidity pension's amount lost the insured person's
    objection, who stayed in the file through another line (found probing extracts written from the docs alone,
    5 December 2026). None: the record emits no objection."""
    emits = [e for e in record.emits if e.table == "opt_outs"]
    if not emits:
        return None
    index = {f.target: i for i, f in enumerate(fields)}
    used = {t for e in emits for t in (*e.columns.values(), *e.when, *e.when_nonzero, *e.when_present,
                                       *e.when_absent)}
    if any(t not in index for t in used):
        return None
    # the objection's date may fail: the objection stands, from the extract date (ingest's ``_objection_dated``)
    used -= {e.columns["since"] for e in emits if "since" in e.columns}
    return pl.all_horizontal([pl.col(f"__r{index[t]}").is_null() for t in sorted(used)])


def _reason(f: FieldMap, value: pl.Expr, flags: dict[str, pl.Expr], needed: pl.Expr | None = None) -> pl.Expr:
    """Stage 4: why the cell is unusable (null when fine); reads materialised columns only. ``needed``: where a
    required field must be given (``_needed``; every row when None)."""
    present = pl.col(f.target).is_not_null()
    missing = ((pl.lit("missing value") if needed is None else pl.when(needed.fill_null(True))
                .then(pl.lit("missing value"))) if f.required else None)
    chain = pl.when(~present).then(missing)
    if f.type in ("string", "commune", "local_id"):
        return chain.otherwise(None)
    if f.type == "amount":
        chain = (chain.when(~flags["a"]).then(pl.lit("not an amount"))
                 .when(~flags["c"]).then(pl.lit("amount with more than two decimals"))
                 .when(value.is_null()).then(pl.lit("amount out of range")))
    elif f.type == "float":
        chain = chain.when(value.is_null()).then(pl.lit("not a number"))
    elif f.type in ("int", "year"):
        chain = chain.when(value.is_null()).then(pl.lit("not an integer"))
        if f.type == "year":
            chain = chain.when(~value.is_between(1900, 2100)).then(pl.lit("not a year"))
    elif f.type in ("date", "month"):
        chain = chain.when(value.is_null()).then(pl.lit(f"not a {f.type} in format {f.date_format}"))
    else:
        chain = chain.when(value.is_null()).then(pl.lit("unknown code"))
    if f.type in ("amount", "float", "int") and not f.allow_negative:
        chain = chain.when(value < 0).then(pl.lit("negative amount" if f.type == "amount" else "negative number"))
    return chain.otherwise(None)


def parse_record(raw: pl.DataFrame, record: RecordLayout, mapping: ExtractMapping,
                 key: PseudonymKey, *, return_key: ReturnTokenKey | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Typed, pseudonymised fields of the accepted rows, and the faults (line, record, column, reason).

    With ``return_key`` (the agency's own), a record carrying the mapping's ``record_number`` beside a nir
    gets ``RETURN_TOKEN``: that number wrapped before the identifiers become pseudonyms.

    Built in stages of materialised columns (cleaned text, shape flags, values, reasons), so each costly
    string operation runs once per cell whatever the number of branches that read it.
    """
    fields = [f for f in record.fields if f.type != "identity"]
    lf = raw.lazy()
    prepared = {i: e for i, f in enumerate(fields) if (e := _prepared(f)) is not None}
    if prepared:
        lf = lf.with_columns([e.alias(f"__s{i}") for i, e in prepared.items()])
    sources = {i: pl.col(f"__s{i}") if i in prepared else pl.col(f.target) for i, f in enumerate(fields)}
    flag_cols = [e.name.prefix(f"__f{i}_") for i, f in enumerate(fields) for e in _flags(f, sources[i])]
    if flag_cols:
        lf = lf.with_columns(flag_cols)
    flags = {i: {"a": pl.col(f"__f{i}_a"), "c": pl.col(f"__f{i}_c")} for i, f in enumerate(fields)
             if f.type == "amount"}
    nir_reasons: dict[int, str] = {}
    for i, f in enumerate(fields):
        if f.type == "nir":  # the privacy package's staged checks: normalised (null unless valid) + reason
            lf = check_nirs(lf, f.target, prefix=f"__n{i}")
            nir_reasons[i] = f"__n{i}_reason"
            # the facts kept from the digits (NIR_FACTS: born in France or abroad, the sex digit), read before
            # the pseudonym replaces the number
            lf = lf.with_columns(derive(pl.col(f"__n{i}_norm")).alias(born_column(f.target, fact))
                                 for fact, derive in NIR_FACTS.items())
    values = []
    for i, f in enumerate(fields):
        if f.type == "nir":
            values.append(pl.col(f"__n{i}_norm").alias(f"__v{i}"))
        else:
            values.append(_value(f, sources[i], flags.get(i, {})).alias(f"__v{i}"))
    lf = lf.with_columns(values)
    dates = {i: f for i, f in enumerate(fields) if f.type in ("date", "month")}
    if dates:
        lf = _with_other_shapes(lf.collect(), dates).lazy()
    reasons = []
    needed = _needed(record, fields, mapping)
    for i, f in enumerate(fields):
        if f.type == "nir":
            code = pl.col(nir_reasons[i]).cast(pl.String)
            reason = pl.when(code.is_not_null()).then(
                code.replace_strict(dict(NIR_MESSAGES), default="unusable NIR"))
            if not f.required:
                reason = pl.when(pl.col(f.target).is_null()).then(None).otherwise(reason)
        else:
            reason = _reason(f, pl.col(f"__v{i}"), flags.get(i, {}), needed.get(i))
        reasons.append(reason.cast(pl.String).alias(f"__r{i}"))
    # a field an emit asks to be present (``when_present``) counts as given by its text, read or not: a CNAM line
    # objects by giving a date, and « 31/02/2026 » is an objection whose date fails (``GIVEN``)
    present = sorted({t for e in record.emits for t in (*e.when_present, *e.when_absent)}
                     & {f.target for f in fields})
    typed = lf.select(pl.col(LINE), *[pl.col(f"__v{i}").alias(f.target) for i, f in enumerate(fields)],
                      *[born_column(f.target, fact) for f in fields if f.type == "nir" for fact in NIR_FACTS],
                      *[(pl.col(f"__v{i}").is_not_null() & _month_unknown(pl.col(f.target), f.date_format or ""))
                        .alias(_month_unknown_column(f.target)) for i, f in enumerate(fields)
                        if f.type == "month" and "%d" in (f.date_format or "")],
                      *[pl.col(t).is_not_null().alias(GIVEN + t) for t in present],
                      *reasons).collect()
    reason_cols = [f"__r{i}" for i in range(len(fields))]
    faults = _faults(typed, reason_cols, [where(f, mapping) for f in fields], record.name)
    clean = pl.all_horizontal(pl.col(r).is_null() for r in reason_cols) if reason_cols else pl.lit(True)
    whole = _objection_whole(record, fields)
    if whole is None:
        ok = typed.filter(clean)
    else:
        ok = typed.filter(clean | whole).with_columns((~clean).alias(KEPT_OBJECTION))
    ok = ok.drop(reason_cols)
    # identifiers become pseudonyms here, in place: the raw values do not outlive this function
    nirs = [f.target for f in fields if f.type == "nir"]
    local = {f.target: f"{mapping.agency}:{f.target}" for f in fields if f.type == "local_id"}
    if return_key is not None and mapping.record_number is not None and nirs \
            and any(f.target == mapping.record_number for f in fields):
        ok = wrap_record_numbers(ok, mapping.record_number, return_key)
    return pseudonymise_ids(ok, nirs, local, key), faults


def _faults(typed: pl.DataFrame, reasons: list[str], names: list[str], record: str) -> pl.DataFrame:
    if not reasons:
        return pl.DataFrame(schema=FAULT_SCHEMA)
    long = typed.select(pl.col(LINE).alias("line"), *reasons).unpivot(
        index="line", variable_name="__r", value_name="reason").drop_nulls("reason")
    lookup = pl.DataFrame({"__r": reasons, "column": names})
    return long.join(lookup, on="__r", how="left").select(
        "line", pl.lit(record).alias("record"), "column", "reason").cast(FAULT_SCHEMA)  # type: ignore[arg-type]


def _emitted(ok: pl.DataFrame, emit: Emit, *, skipped_lines: bool = False
             ) -> tuple[pl.DataFrame, dict[str, pl.Series]]:
    """The rows an emit writes (its ``when``, ``when_nonzero``, ``when_present``, ``when_absent`` conditions), and,
    asked (``skipped_lines``: not on the path writing the rows of every batch), the lines it skips for a blank
    ``when_present`` field though the others hold, by the first such field."""
    df = ok
    for field, values in emit.when.items():
        df = df.filter(pl.col(field).cast(pl.String).is_in(values))
    for field in emit.when_nonzero:
        df = df.filter(pl.col(field).cast(pl.Float64) != 0)  # a negative regularisation is kept
    for field in emit.when_absent:  # blank text: a value given that failed is the line's fault, not this row
        df = df.filter(~(pl.col(GIVEN + field) if GIVEN + field in df.columns else pl.col(field).is_not_null()))
    skipped: dict[str, pl.Series] = {}
    for field in emit.when_present:
        given = pl.col(GIVEN + field) if GIVEN + field in df.columns else pl.col(field).is_not_null()
        if skipped_lines:
            skipped[field] = df.filter(~given).get_column(LINE)
        df = df.filter(given)
    return df, skipped


def unemitted_lines(ok: pl.DataFrame, emit: Emit) -> dict[str, pl.Series]:
    """Lines an emit skips for a blank ``when_present`` field though its ``when`` and ``when_nonzero`` hold, by the
    first such field: what ``Emit.count_unemitted`` counts, so a fact the table cannot hold is never lost silently
    (a France Travail jobseeker without a fixed address: no commune, so no ``persons`` row for the nationality)."""
    return _emitted(ok, emit, skipped_lines=True)[1]


def emit_rows(ok: pl.DataFrame, record: RecordLayout, emit: Emit) -> pl.DataFrame:
    """Canonical rows (without provenance) of one emit, keeping ``__line``."""
    spec = TABLES[emit.table]
    df = _emitted(ok, emit)[0]
    if emit.spread_year:
        df = df.with_columns(pl.int_ranges(1, 13).alias("__m")).explode("__m").with_columns(
            pl.date(pl.col(emit.spread_year), pl.col("__m"), 1).alias("__month"))
        amount_field = emit.columns["amount"]
        df = df.with_columns((pl.col(amount_field).cast(pl.Float64) / 12).round(2).alias(amount_field))
    cols: list[pl.Expr] = [pl.col(LINE), (pl.col("__m") if emit.spread_year else pl.lit(0)).cast(pl.Int64)
                           .alias(SUB)]
    for col, dtype in spec.schema.items():
        if col in ("source_agency", "extract_id", "extract_date"):
            continue
        if col in NIR_FACTS and col in emit.columns and record.field(emit.columns[col]).type == "nir":
            expr = pl.col(born_column(emit.columns[col], col))  # a fact parse_record read from the number
        elif col == BIRTH_MONTH_ESTIMATED:
            # the December of a year-only birth date; null when the field cannot say (a layout without a day)
            marker = _month_unknown_column(emit.columns.get("birth_month", ""))
            expr = pl.col(marker) if marker in df.columns else pl.lit(None)
        elif col in emit.columns:
            expr = pl.col(emit.columns[col])
        elif col in emit.constants:
            expr = pl.lit(emit.constants[col])
        elif col == "month" and emit.spread_year:
            expr = pl.col("__month")
        else:
            expr = pl.lit(None)
        cols.append(expr.cast(dtype, strict=False).alias(col))
    # keep the pre-cast values of mapped enum and numeric columns to tell an untranslated code or a value
    # out of the canonical type's range (an Int16 overflow) from a null
    raw = [pl.col(emit.columns[c]).cast(pl.String).alias(f"__raw_{c}") for c, d in spec.schema.items()
           if c in emit.columns and (isinstance(d, pl.Enum) or d.is_numeric())]
    return df.select(*cols, *raw)


_EARLIEST = dt.date(1900, 1, 1)
_MAX_YEARS = 120


def _plausible(col: str, dtype: pl.DataType, extract_date: dt.date | None) -> list[tuple[str, pl.Expr, str]]:
    """Checks of a value against the extract date and common sense: never a silent null or a year 2099."""
    out: list[tuple[str, pl.Expr, str]] = []
    c = pl.col(col)
    if dtype == pl.Date and col != "extract_date":
        out.append((col, c >= _EARLIEST, "date before 1900"))
        if extract_date is not None:
            if col == "birth_month":
                out.append((col, c <= extract_date, "birth date after the extract date"))
            else:
                limit = dt.date(extract_date.year + 1, extract_date.month, 1)
                out.append((col, c <= limit, "date more than a year after the extract date"))
    if col == "residence_permit_years":
        out.append((col, c <= _MAX_YEARS, f"more than {_MAX_YEARS} years"))
    if col == "year" and extract_date is not None:
        out.append((col, c.is_between(1900, extract_date.year), "year outside 1900 to the extract's year"))
    return out


def check_rows(rows: pl.DataFrame, emit: Emit, record: RecordLayout, mapping: ExtractMapping, *,
               extract_date: dt.date | None = None) -> pl.DataFrame:
    """Faults of canonical rows against the table's checks and the extract date, blamed on the source column."""
    spec = TABLES[emit.table]
    checks: list[tuple[str, pl.Expr, str]] = []
    for col, dtype in spec.schema.items():
        if isinstance(dtype, pl.Enum) and col in emit.columns:
            checks.append((col, pl.col(f"__raw_{col}").is_null() | pl.col(col).is_not_null(),
                           f"code not allowed in canonical column {col}"))
        elif dtype.is_numeric() and col in emit.columns:
            checks.append((col, pl.col(f"__raw_{col}").is_null() | pl.col(col).is_not_null(),
                           f"value out of range for canonical column {col} ({dtype})"))
        if col in emit.columns:
            checks += _plausible(col, dtype, extract_date)
    for col in spec.schema:
        if col in ("source_agency", "extract_id", "extract_date") or col in spec.nullable:
            continue
        checks.append((col, pl.col(col).is_not_null(), f"no value for canonical column {col}"))
    checks += [(c.column, c.expr, c.message) for c in spec.checks]
    if not rows.height:
        return pl.DataFrame(schema=FAULT_SCHEMA)

    def blame(col: str) -> str:
        src = emit.columns.get(col)
        if src is None:
            return f"{emit.table}.{col}"
        return where(record.field(src), mapping)

    flags = rows.select(pl.col(LINE).alias("line"),
                        *[pl.when(expr.fill_null(True)).then(None).otherwise(pl.lit(f"{msg}"))
                          .alias(f"__c{i}") for i, (_, expr, msg) in enumerate(checks)])
    names = [blame(c) for c, _, _ in checks]
    long = flags.rename({f"__c{i}": f"{i}" for i in range(len(checks))}).unpivot(
        index="line", variable_name="__i", value_name="reason").drop_nulls("reason")
    lookup = pl.DataFrame({"__i": [str(i) for i in range(len(checks))], "column": names})
    return long.join(lookup, on="__i", how="left").select(
        "line", pl.lit(record.name).alias("record"), "column", "reason").cast(FAULT_SCHEMA)  # type: ignore[arg-type]


UNIDENTIFIED_SCHEMA: dict[str, pl.DataType] = {
    "line": pl.Int64(), "unit_kind": TABLES["unit_memberships"].schema["unit_kind"],
    "unit_id": pl.String(), "role": TABLES["unit_memberships"].schema["role"],
    "valid_from": pl.Date(), "valid_to": pl.Date(), "reason": pl.String(),
    **{c: TABLES["persons"].schema[c] for c in UNIDENTIFIED_DESCRIBED},
    UNIDENTIFIED_NEIGHBOURS: pl.List(pl.String())}
"""A quarantined membership line whose person cannot be identified: its unit (pseudonym) and role, the member's
birth month, sex and commune where the line states them (null where it does not, or they fail), and the pseudonyms
of the valid NIRs a single slip away from a number whose key failed (empty otherwise)."""


def unidentified_members(raw: pl.DataFrame, record: RecordLayout, mapping: ExtractMapping, key: PseudonymKey,
                         faults: pl.DataFrame) -> pl.DataFrame:
    """The membership a line states although its NIR is unusable: unit id (pseudonymised as the accepted rows'
    are), role, months and the NIR's fault reason, for each ``unit_memberships`` emit whose person is a nir field.

    The line stays quarantined; this keeps what it validly says, that the unit has a member in that role (a
    dossier's conjoint whose number failed), so the core does not read the dossier as a lone parent. Only the
    cells the emit reads besides the person are parsed and checked (canonical checks too); the raw NIR is
    neither read nor kept here.
    """
    out = []
    near: dict[str, pl.DataFrame] = {}  # per nir field: a line's famille and ménage emits read the same number
    for emit in record.emits:
        person = emit.columns.get("person_id")
        nir = next((f for f in record.fields if f.target == person and f.type == "nir"), None)
        if emit.table != "unit_memberships" or nir is None:
            continue
        lost = (faults.filter(pl.col("column") == where(nir, mapping))
                .select(pl.col("line").alias(LINE), "reason").unique(LINE, keep="first"))
        if not lost.height:
            continue
        needed = ({s for c, s in emit.columns.items() if c != "person_id"} | set(emit.when)
                  | set(emit.when_present) | set(emit.when_absent) | set(emit.when_nonzero))
        sub = record.model_copy(update={"fields": [f for f in record.fields if f.target in needed]})
        rows = raw.join(lost, on=LINE, how="semi").select(LINE, *[f.target for f in sub.fields])
        ok, _ = parse_record(rows, sub, mapping, key)
        canon = emit_rows(ok.with_columns(pl.lit(None, dtype=pl.String).alias(nir.target)), sub, emit)
        bad = check_rows(canon, emit, record, mapping).filter(pl.col("column") != where(nir, mapping))
        canon = canon.filter(~pl.col(LINE).is_in(bad.get_column("line").implode()))
        lines = raw.join(lost, on=LINE, how="semi")
        described = _described(lines, record, nir.target, mapping, key)
        canon = canon.join(described, on=LINE, how="left")
        if nir.target not in near:
            near[nir.target] = _neighbours(lines, nir.target, key)
        canon = canon.join(near[nir.target], on=LINE, how="left")
        out.append(canon.join(lost, on=LINE, how="inner").select(
            pl.col(LINE).alias("line"),
            *[c for c in UNIDENTIFIED_SCHEMA if c not in ("line", "reason", *UNIDENTIFIED_DESCRIBED,
                                                         UNIDENTIFIED_NEIGHBOURS)],
            "reason", *UNIDENTIFIED_DESCRIBED, pl.col(UNIDENTIFIED_NEIGHBOURS).fill_null([])))
    if not out:
        return pl.DataFrame(schema=UNIDENTIFIED_SCHEMA)
    return pl.concat([o.cast(UNIDENTIFIED_SCHEMA) for o in out])  # type: ignore[arg-type]


def _neighbours(rows: pl.DataFrame, nir: str, key: PseudonymKey) -> pl.DataFrame:
    """LINE and ``UNIDENTIFIED_NEIGHBOURS``: the pseudonyms of the valid NIRs a single slip from the line's number,
    where only its key failed (``privacy.nir_neighbours``; a missing or malformed number has none). The raw number
    and its neighbours are dropped here: only their pseudonyms leave, as a valid number's would."""
    near = nir_neighbours(rows.select(LINE, nir), nir, out="__near").select(LINE, "__near").collect()
    return (pseudonymise(near, "__near", key, out="__pseudonym", key_id_column=None, reason_column=None)
            .group_by(LINE)
            .agg(pl.col("__pseudonym").unique().sort().alias(UNIDENTIFIED_NEIGHBOURS)))


def _described(rows: pl.DataFrame, record: RecordLayout, nir: str, mapping: ExtractMapping,
               key: PseudonymKey) -> pl.DataFrame:
    """LINE and ``UNIDENTIFIED_DESCRIBED`` of the member each line names by ``nir``, from the record's ``persons``
    emit of that person, parsed on their own: a cell that fails leaves that value null (unknown), never the
    membership lost."""
    emit = next((e for e in record.emits if e.table == "persons" and e.columns.get("person_id") == nir), None)
    sources = {c: emit.columns[c] for c in UNIDENTIFIED_DESCRIBED if emit is not None and c in emit.columns}
    fields = {f.target: f for f in record.fields if f.target in sources.values()}
    values = []
    for column, source in sources.items():
        if source not in fields:
            continue
        sub = record.model_copy(update={"fields": [fields[source]]})
        ok, _ = parse_record(rows.select(LINE, source), sub, mapping, key)
        values.append(ok.select(LINE, pl.col(source).cast(UNIDENTIFIED_SCHEMA[column]).alias(column)))
    out = rows.select(LINE)
    for v in values:
        out = out.join(v, on=LINE, how="left")
    return out.with_columns(pl.lit(None, dtype=UNIDENTIFIED_SCHEMA[c]).alias(c) for c in UNIDENTIFIED_DESCRIBED
                            if c not in out.columns).select(LINE, *UNIDENTIFIED_DESCRIBED)


def fault_frame(batch: pl.DataFrame, record: str | None) -> pl.DataFrame:
    """Line-level faults flagged by the reader (blank line, wrong number of fields...)."""
    column = pl.col(FAULT_COLUMN) if FAULT_COLUMN in batch.columns else pl.lit(None, dtype=pl.String)
    return batch.filter(pl.col(FAULT).is_not_null()).select(
        pl.col(LINE).alias("line"), pl.lit(record, dtype=pl.String).alias("record"),
        column.alias("column"), pl.col(FAULT).alias("reason"))
