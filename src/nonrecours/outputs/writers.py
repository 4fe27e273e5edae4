"""Writing output tables: Parquet for programs, CSV that a French spreadsheet opens as it is.

A French Excel or LibreOffice opens a CSV on double-click only if it is separated by ``;`` (the comma is the
decimal mark), starts with a UTF-8 byte-order mark (otherwise accents come out as ``Ã©``), writes decimals
with a comma and dates as ``dd/mm/yyyy``. Lists (reasons, questions) are joined with `` | `` in one cell.
A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula to a spreadsheet
(a return token « -Xa9… » becomes ``#NOM?`` and is lost on the next save; a cell « =HYPERLINK(…) » from an
extract would run): such a cell is written with a leading apostrophe, the OWASP « CSV injection » defence, and
``read_french_csv`` takes it off again.

Every file is written beside its target under a temporary name and renamed over it (``os.replace`` is atomic
on one file system): a reader never sees a half-written list, and a crash leaves the previous file intact.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from nonrecours.atomic import atomic_path

__all__ = ["LIST_SEPARATOR", "read_french_csv", "write_french_csv", "write_parquet", "write_table"]

LIST_SEPARATOR = " | "
"""How a list cell (reasons, questions, benefits) is written in one CSV cell."""

BOM = b"\xef\xbb\xbf"

FORMULA_START = r"^'*[=+\-@\t\r]"
"""A text cell a spreadsheet reads as a formula (or as a hidden control) when it starts like this; the
apostrophes before it let a cell that already started with one come back as it was."""
_ESCAPED = r"^'+[=+\-@\t\r]"


def _defused(text: pl.Expr) -> pl.Expr:
    return pl.when(text.str.contains(FORMULA_START)).then(pl.lit("'") + text).otherwise(text)


def _atomic(path: Path, write: Callable[[Path], None]) -> Path:
    """Write aside, sync, rename (``nonrecours.atomic``: a killed run leaves a partial file the batch job
    knows how to clean, never a half-written list)."""
    with atomic_path(path) as tmp:
        write(tmp)
    return Path(path)


def write_parquet(frame: pl.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` as Parquet at ``path``, atomically."""
    return _atomic(Path(path), lambda tmp: frame.write_parquet(tmp))


def _french_cell(name: str, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    if isinstance(dtype, pl.List | pl.Array):
        inner = dtype.inner
        element = pl.element()
        if inner.is_float():
            element = element.round(4).cast(pl.String).str.replace(".", ",", literal=True)
        elif isinstance(inner, pl.Date):
            element = element.dt.strftime("%d/%m/%Y")
        elif not isinstance(inner, pl.String):
            element = element.cast(pl.String)
        return _defused(col.list.eval(element).list.join(LIST_SEPARATOR)).alias(name)
    if isinstance(dtype, pl.Boolean):
        return pl.when(col).then(pl.lit("oui")).when(~col).then(pl.lit("non")).alias(name)
    if isinstance(dtype, pl.Date):
        return col.dt.strftime("%d/%m/%Y").alias(name)
    if isinstance(dtype, pl.Datetime):
        return col.dt.strftime("%d/%m/%Y %H:%M").alias(name)
    if isinstance(dtype, pl.Struct | pl.Object):
        raise TypeError(f"column {name}: a {dtype} cannot be written to CSV; flatten it first")
    if dtype.is_float():
        # Two decimals for euros and rates is what a reader checks; more digits only look like noise.
        return col.round(4).alias(name)
    if isinstance(dtype, pl.String | pl.Categorical | pl.Enum):
        return _defused(col.cast(pl.String)).alias(name)
    return col.alias(name)


def write_french_csv(frame: pl.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` as a CSV a French spreadsheet opens: ``;``, UTF-8 BOM, decimal comma, dd/mm/yyyy."""
    flat = frame.select([_french_cell(n, d) for n, d in frame.schema.items()])

    def write(tmp: Path) -> None:  # streamed to the file: never the whole text in memory (statistics: 200 MB)
        with open(tmp, "wb") as fh:
            fh.write(BOM)
            flat.write_csv(fh, separator=";", decimal_comma=True, quote_style="necessary")

    return _atomic(Path(path), write)


def write_table(frame: pl.DataFrame, folder: str | Path, stem: str) -> dict[str, Path]:
    """Write ``frame`` as ``folder/stem.parquet`` and ``folder/stem.csv``; return both paths."""
    folder = Path(folder)
    return {"parquet": write_parquet(frame, folder / f"{stem}.parquet"),
            "csv": write_french_csv(frame, folder / f"{stem}.csv")}


def read_french_csv(path: str | Path) -> pl.DataFrame:
    """Read back a CSV ``write_french_csv`` wrote, every column as text, as the agency's spreadsheet saved it.

    A French Excel saves « CSV (séparateur : point-virgule) » in Windows-1252 without the byte-order mark: a file
    that is not UTF-8 is read as cp1252 (every byte is a character there, so nothing is refused for an accent).
    The apostrophe the writer put before a formula-like cell is taken off.
    """
    raw = Path(path).read_bytes()
    raw = raw.removeprefix(BOM)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raw = raw.decode("cp1252", errors="replace").encode("utf-8")
    frame = pl.read_csv(raw, separator=";", infer_schema=False)
    return frame.with_columns(pl.when(pl.col(pl.String).str.contains(_ESCAPED)).then(pl.col(pl.String).str.slice(1))
                              .otherwise(pl.col(pl.String)))
