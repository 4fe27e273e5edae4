"""Write an extract in an agency's layout from its mapping: the layout is described once, in the YAML.

``render(frame, mapping, record)`` turns a frame whose columns are named by the mapping's field *targets*
(typed values: dates, amounts, canonical codes, booleans, identifiers in clear) into the text of each
source column, following each field's type, date format, decimal comma, implied decimals, scale and code
table (reversed: the first source code of a canonical value is written). ``write_csv``,
``write_parquet`` and ``fixed_width_lines`` lay the columns out. ``nonrecours synth --extracts`` writes the
agencies' extracts through here, so a mapping change changes the reader and the writer together.

Several fields may read one source column (``QUALITE`` gives the famille role and the ménage role): the
first field of a source column is the one written.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from nonrecours.connectors.mapping import ExtractMapping, FieldMap, RecordLayout

__all__ = ["fixed_width_lines", "render", "write_csv", "write_parquet"]


def _fields(record: RecordLayout) -> list[FieldMap]:
    """The field written for each source column (the first one reading it), in layout order."""
    seen: dict[str, FieldMap] = {}
    for f in record.fields:
        seen.setdefault(f.source, f)
    return list(seen.values())


def _text(f: FieldMap, value: pl.Expr, fixed: bool) -> pl.Expr:
    """The text of one field (null when the value is null)."""
    if f.type in ("date", "month"):
        fmt = f.date_format or "%Y-%m-%d"
        return value.dt.strftime(fmt)
    if f.type in ("code", "bool"):
        assert f.codes is not None
        reverse: dict[str, str] = {}
        for src, canon in f.codes.items():
            reverse.setdefault(canon, src)
        v = value.cast(pl.String)
        if f.type == "bool":
            v = value.cast(pl.Boolean).cast(pl.String)  # "true" / "false"
        if f.type == "code":  # a source code given as such (DEC2 where declarant reads DEC1) is kept
            return v.replace(reverse)
        return v.replace_strict(reverse, default=None, return_dtype=pl.String)
    if f.type == "amount":
        if f.implied_decimals:
            unit = 10 ** f.implied_decimals
            n = (value.cast(pl.Float64) * unit).round(0).cast(pl.Int64)
            if fixed and f.length is not None:
                width = f.length
                return pl.when(n < 0).then(pl.lit("-") + (-n).cast(pl.String).str.pad_start(width - 1, "0")) \
                    .otherwise(n.cast(pl.String).str.pad_start(width, "0"))
            return n.cast(pl.String)
        txt = value.cast(pl.Float64).round(2).cast(pl.Decimal(14, 2)).cast(pl.String)
        return txt.str.replace(".", ",", literal=True) if f.decimal_comma else txt
    if f.type == "float":
        v = value.cast(pl.Float64) / f.scale if f.scale is not None else value.cast(pl.Float64)
        out = v.round(0).cast(pl.Int64).cast(pl.String) if f.scale is not None else v.cast(pl.String)
        return out.str.pad_start(f.length, "0") if fixed and f.length is not None else out
    if f.type in ("int", "year"):
        out = value.cast(pl.Int64).cast(pl.String)
        return out.str.pad_start(f.length, "0") if fixed and f.length is not None else out
    return value.cast(pl.String)


def render(frame: pl.DataFrame, mapping: ExtractMapping, record: RecordLayout | str | None = None) -> pl.DataFrame:
    """One String column per source column of ``record`` (the only record by default), named as in the file.

    A field whose target is not a column of ``frame`` is written empty (optional fields, unknown values).
    """
    rec = _record(mapping, record)
    fixed = mapping.format == "fixed_width"
    cols = []
    for f in _fields(rec):
        text = _text(f, pl.col(f.target), fixed) if f.target in frame.columns else pl.lit(None, dtype=pl.String)
        cols.append(text.alias(f.source))
    return frame.select(cols)


def _record(mapping: ExtractMapping, record: RecordLayout | str | None) -> RecordLayout:
    if isinstance(record, RecordLayout):
        return record
    if record is None:
        return mapping.records[0]
    return next(r for r in mapping.records if r.name == record)


def write_csv(frame: pl.DataFrame, mapping: ExtractMapping, path: str | Path, *, bom: bool = False) -> None:
    """Write a CSV extract: header, separator, encoding of the mapping; values quoted only when needed."""
    text = render(frame, mapping)
    q = mapping.quote or '"'
    sep = mapping.separator
    needs = pl.concat_str([pl.lit("["), pl.lit(sep), pl.lit(q), pl.lit(r"\n\r]")])

    def quoted(c: str) -> pl.Expr:
        v = pl.col(c).fill_null("")
        return pl.when(v.str.contains(needs)).then(pl.lit(q) + v.str.replace_all(q, q + q, literal=True)
                                                  + pl.lit(q)).otherwise(v)

    body = text.select(pl.concat_str([quoted(c) for c in text.columns], separator=sep)).to_series()
    lines = pl.concat([pl.Series([sep.join(text.columns)]), body])
    data = ("\n".join(lines.to_list()) + "\n").encode(mapping.encoding, errors="replace")
    Path(path).write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)


def write_parquet(frame: pl.DataFrame, mapping: ExtractMapping, path: str | Path) -> None:
    """Write a Parquet extract: typed values kept, columns renamed to the layout's source names."""
    rec = mapping.records[0]
    cols = [pl.col(f.target).alias(f.source) if f.target in frame.columns else pl.lit(None).alias(f.source)
            for f in _fields(rec)]
    frame.select(cols).write_parquet(path)


def fixed_width_lines(frame: pl.DataFrame, mapping: ExtractMapping, record: str) -> pl.Series:
    """The lines of one record type of a fixed-width extract (record code, fields at their positions)."""
    rec = _record(mapping, record)
    assert rec.length is not None
    text = render(frame, mapping, rec)
    parts: list[pl.Expr] = []
    pos = 1
    if mapping.record_type_start is not None and rec.code is not None:
        parts.append(pl.lit(rec.code))
        pos = mapping.record_type_start + len(rec.code)
    for f in sorted(_fields(rec), key=lambda f: f.start or 0):
        assert f.start is not None and f.length is not None
        if f.start > pos:
            parts.append(pl.lit(" " * (f.start - pos)))
        parts.append(pl.col(f.source).fill_null("").str.slice(0, f.length).str.pad_end(f.length))
        pos = f.start + f.length
    return text.select(pl.concat_str(parts).str.pad_end(rec.length).alias("l")).to_series()
