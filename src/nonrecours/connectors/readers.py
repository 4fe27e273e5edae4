"""Generic readers: CSV, fixed-width and Parquet extracts, read in batches of raw text.

Every reader yields ``RawBatch`` frames: ``__line`` (the physical line number in the file, 1-based, or the
row number for Parquet), ``__fault`` (a line-level reason, or null) and one String column per source column
(CSV/Parquet) or the whole record in ``__text`` (fixed-width). Nothing is typed here: the parser turns text
into values so that every bad cell becomes a located fault instead of a failed read.

Text files are read in byte chunks cut at a line end and split into Polars string columns: memory stays
bounded by the chunk size whatever the file size, and there is no Python loop over rows. File-level faults
(empty file, wrong encoding, missing or duplicated header column) raise ``ExtractError`` naming the file, the
line and the column; they never quote the content of a line.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from nonrecours.connectors.mapping import ExtractMapping
from nonrecours.errors import ExtractError

__all__ = ["RawBatch", "iter_batches", "read_header"]

LINE = "__line"
FAULT = "__fault"
TEXT = "__text"
_MOJIBAKE = r"[ÃÂ][\x80-\xBF]"
"""UTF-8 bytes of accented letters decoded as latin-1 ("Ã©" for "é"): a UTF-8 file read as latin-1."""


@dataclass(frozen=True)
class RawBatch:
    frame: pl.DataFrame
    last: bool


def _codec(encoding: str) -> str:
    return {"utf-8": "utf-8", "latin-1": "latin-1", "cp1252": "cp1252"}[encoding]


def _iter_line_chunks(path: Path, encoding: str, chunk_bytes: int) -> Iterator[tuple[int, list[str], bool]]:
    """Yield (number of the first line, lines, is_last) over a text file, cut at line ends."""
    codec = _codec(encoding)
    line_no = 1
    rest = b""
    with path.open("rb") as fh:
        while True:
            block = fh.read(chunk_bytes)
            eof = not block
            data = rest + block
            if not eof:
                cut = data.rfind(b"\n")
                if cut < 0:
                    rest = data
                    continue
                data, rest = data[: cut + 1], data[cut + 1:]
            else:
                rest = b""
            if not data:
                if eof:
                    return
                continue
            text = data.decode(codec, errors="replace")
            lines = text.split("\n")
            if lines and lines[-1] == "":
                lines.pop()  # the line end of the last complete line
            yield line_no, lines, eof
            line_no += len(lines)
            if eof:
                return


def _frame(first: int, lines: list[str]) -> pl.DataFrame:
    return pl.DataFrame({
        LINE: pl.int_range(first, first + len(lines), eager=True, dtype=pl.Int64),
        TEXT: pl.Series(lines, dtype=pl.String).str.strip_suffix("\r"),
    })


def _check_encoding(df: pl.DataFrame, path: Path, encoding: str, split: pl.Expr | None,
                    names: list[str] | None) -> None:
    """Raise on the first line that shows the file is not in the declared encoding."""
    bad = pl.col(TEXT).str.contains("\ufffd", literal=True)
    hint = "is the file latin-1 or cp1252?"
    if encoding != "utf-8":
        bad = pl.col(TEXT).str.contains(_MOJIBAKE)
        hint = "it looks UTF-8 encoded"
    hits = df.filter(bad)
    if hits.height:
        row = hits.row(0, named=True)
        column = None
        if split is not None and names is not None:
            parts = hits.head(1).select(split.alias("p")).to_series().to_list()[0]
            pattern = "\ufffd" if encoding == "utf-8" else None
            for i, part in enumerate(parts or []):
                if i < len(names) and ((pattern and pattern in part) or (not pattern and _looks_utf8(part))):
                    column = names[i]
                    break
        raise ExtractError(f"not valid {encoding} text ({hint})", file=path.name, line=row[LINE],
                           column=column)


def _looks_utf8(part: str) -> bool:
    return pl.Series([part]).str.contains(_MOJIBAKE)[0]


def _unquote(expr: pl.Expr, quote: str | None) -> pl.Expr:
    expr = expr.str.strip_chars(" ")
    if not quote:
        return expr
    q = quote
    inner = expr.str.strip_prefix(q).str.strip_suffix(q).str.replace_all(q + q, q, literal=True)
    return pl.when(expr.str.starts_with(q) & expr.str.ends_with(q) & (expr.str.len_chars() >= 2)) \
        .then(inner).otherwise(expr)


def read_header(path: Path, mapping: ExtractMapping) -> list[str]:
    """Return the column names of a CSV or Parquet extract, after checking them against the mapping."""
    if not path.exists():
        raise ExtractError("file not found", file=path.name)
    if path.stat().st_size == 0:
        raise ExtractError("empty file (no header, no record)", file=path.name, line=1)
    record = mapping.records[0]
    if mapping.format == "parquet":
        try:
            names = list(pl.scan_parquet(path).collect_schema().names())
        except Exception as exc:  # polars raises several kinds for a corrupt file
            raise ExtractError(f"not a readable Parquet file ({type(exc).__name__})", file=path.name) from None
        line = None
    elif mapping.format == "csv":
        with path.open("rb") as fh:
            first = fh.readline()
        try:
            text = first.decode(_codec(mapping.encoding))
        except UnicodeDecodeError:
            raise ExtractError(f"header is not valid {mapping.encoding} text", file=path.name, line=1) from None
        text = text.lstrip("\ufeff").rstrip("\r\n")
        if not text.strip():
            raise ExtractError("empty header line", file=path.name, line=1)
        names = pl.select(_unquote(pl.lit(text).str.split(mapping.separator).explode(), mapping.quote)
                          ).to_series().to_list()
        line = 1
    else:
        return []
    known = {f.source for f in record.fields}
    if not known & set(names):
        # most likely a file without header: its first line is data, so quote nothing from it
        raise ExtractError("the first line holds none of the expected column names (a file without header?)",
                           file=path.name, line=line)
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            shown = name if name in known else f"number {i + 1}"
            raise ExtractError("duplicated column name in the header", file=path.name, line=line, column=shown)
        seen.add(name)
    unknown = [n for n in names if n not in known]
    for f in record.fields:
        if f.type != "identity" and f.required and f.source not in seen:
            close = difflib.get_close_matches(f.source, unknown, n=1, cutoff=0.6)
            hint = f"; found column {close[0]}: renamed? adapt the mapping" if close else ""
            raise ExtractError(f"required column is missing{hint}", file=path.name, line=line, column=f.source)
    return names


def iter_batches(path: Path, mapping: ExtractMapping, *, chunk_bytes: int = 8 << 20,
                 batch_rows: int = 250_000) -> Iterator[RawBatch]:
    """Yield raw batches of an extract, following the mapping's format."""
    if mapping.format == "parquet":
        yield from _parquet_batches(path, mapping, batch_rows)
    elif mapping.format == "csv":
        yield from _csv_batches(path, mapping, chunk_bytes)
    else:
        yield from _fixed_width_batches(path, mapping, chunk_bytes)


def _parquet_batches(path: Path, mapping: ExtractMapping, batch_rows: int) -> Iterator[RawBatch]:
    names = read_header(path, mapping)
    wanted = [f.source for f in mapping.records[0].fields if f.type != "identity" and f.source in names]
    wanted = list(dict.fromkeys(wanted))
    lf = pl.scan_parquet(path).with_row_index(LINE, offset=1).select(
        pl.col(LINE).cast(pl.Int64),
        pl.lit(None, dtype=pl.String).alias(FAULT),
        *[pl.col(c).cast(pl.String) for c in wanted],
    )
    empty = True
    for df in lf.collect_batches(chunk_size=batch_rows):
        empty = False
        yield RawBatch(df, last=False)
    if empty:
        yield RawBatch(lf.head(0).collect(), last=True)


def _csv_batches(path: Path, mapping: ExtractMapping, chunk_bytes: int) -> Iterator[RawBatch]:
    names = read_header(path, mapping)
    sep = mapping.separator
    header_len = len(names)
    wanted = {f.source for f in mapping.records[0].fields if f.type != "identity"}
    positions = {n: i for i, n in enumerate(names) if n in wanted}
    split = pl.col(TEXT).str.split(sep)
    header_text = sep.join(names)
    for first, lines, last in _iter_line_chunks(path, mapping.encoding, chunk_bytes):
        df = _frame(first, lines)
        if first == 1:
            df = df.slice(1)  # the header line
        _check_encoding(df, path, mapping.encoding, split, names)
        parts = split.alias("__parts")
        n = pl.col("__parts").list.len()
        unquoted_text = pl.col(TEXT).str.replace_all(mapping.quote or "\x00", "", literal=True)
        fault = (
            pl.when(pl.col(TEXT).str.strip_chars().str.len_chars() == 0).then(pl.lit("blank line"))
            .when(unquoted_text == header_text).then(pl.lit("repeated header line"))
            .when(n < header_len).then(
                pl.format("{} fields where {} expected" + (" (truncated last line?)" if last else ""),
                          n, pl.lit(header_len)))
            .when(n > header_len).then(pl.format("{} fields where {} expected (separator inside a value?)",
                                                 n, pl.lit(header_len)))
            .otherwise(None)
        )
        df = df.with_columns(parts).with_columns(fault.alias(FAULT))
        cols = [_unquote(pl.col("__parts").list.get(i, null_on_oob=True), mapping.quote).alias(name)
                for name, i in positions.items()]
        yield RawBatch(df.select(LINE, FAULT, *cols), last=last)


def _fixed_width_batches(path: Path, mapping: ExtractMapping, chunk_bytes: int) -> Iterator[RawBatch]:
    if not path.exists():
        raise ExtractError("file not found", file=path.name)
    if path.stat().st_size == 0:
        raise ExtractError("empty file (no record)", file=path.name, line=1)
    any_line = False
    for first, lines, last in _iter_line_chunks(path, mapping.encoding, chunk_bytes):
        df = _frame(first, lines)
        _check_encoding(df, path, mapping.encoding, None, None)
        any_line = any_line or df.height > 0
        blank = pl.col(TEXT).str.strip_chars().str.len_chars() == 0
        yield RawBatch(df.with_columns(pl.when(blank).then(pl.lit("blank line")).otherwise(None).alias(FAULT))
                       .select(LINE, FAULT, TEXT), last=last)
    if not any_line:
        raise ExtractError("empty file (no record)", file=path.name, line=1)
