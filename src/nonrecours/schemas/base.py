"""Table specifications: a Polars schema, a pydantic row contract and vectorised checks.

A ``TableSpec`` is the single source for a canonical table. ``validate_frame`` checks a whole frame in
bulk (dtypes, nulls, code lists, ranges, relations between columns) and raises ``SchemaError`` naming the
table, the first failing row and the column; it never quotes a value, since columns may hold pseudonyms.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from nonrecours.errors import SchemaError
from nonrecours.schemas.codes import AGENCIES

__all__ = [
    "AMOUNT",
    "MONTH",
    "PROVENANCE",
    "Check",
    "Provenance",
    "RowContract",
    "TableSpec",
    "first_of_month",
]

AMOUNT = pl.Decimal(12, 2)
"""Euros with cents, exact. Rules cast to Float64 when they compute."""
MONTH = pl.Date
"""A month is the date of its first day; bulk tables never carry ``YYYY-MM`` strings."""

PROVENANCE: dict[str, pl.DataType] = {
    "source_agency": pl.Enum(AGENCIES),
    "extract_id": pl.String(),
    "extract_date": pl.Date(),
}


def first_of_month(value: dt.date) -> bool:
    return value.day == 1


class RowContract(BaseModel):
    """Base of every one-row contract: strict fields, no extra column, frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class Provenance(RowContract):
    source_agency: str
    extract_id: str
    extract_date: dt.date

    @field_validator("source_agency")
    @classmethod
    def _known_agency(cls, v: str) -> str:
        if v not in AGENCIES:
            raise ValueError(f"unknown agency; expected one of {', '.join(AGENCIES)}")
        return v

    @field_validator("extract_id")
    @classmethod
    def _non_empty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be empty")
        return v


def amount_ok(v: Decimal | float | None) -> Decimal | float | None:
    """Amounts carry at most cents."""
    if v is None:
        return v
    d = Decimal(str(v))
    if d != d.quantize(Decimal("0.01")):
        raise ValueError("amounts carry at most two decimals (cents)")
    return v


@dataclass(frozen=True)
class Check:
    """A vectorised rule over a frame: ``expr`` is True on valid rows; ``column`` is blamed."""

    column: str
    expr: pl.Expr
    message: str


@dataclass(frozen=True)
class TableSpec:
    """A canonical table: name, Polars schema, row contract, key and bulk checks."""

    name: str
    schema: dict[str, pl.DataType]
    contract: type[RowContract]
    key: tuple[str, ...]
    description: str
    nullable: frozenset[str] = field(default_factory=frozenset)
    checks: tuple[Check, ...] = ()
    netted: str | None = None
    """A column whose negative values are regularisations booked in the key's period: of several lines with one key
    in an extract, the last non-negative line (a later version corrects an earlier one) and the last negative line
    are both kept, as one row holding their sum (a payment and the recovery booked beside it are the month's net),
    instead of the last line alone."""

    @property
    def polars_schema(self) -> pl.Schema:
        return pl.Schema(self.schema)

    def empty(self) -> pl.DataFrame:
        return pl.DataFrame(schema=self.polars_schema)

    def validate_row(self, row: dict[str, Any]) -> RowContract:
        """Validate one row with the pydantic contract; the error names the column, not the value."""
        try:
            return self.contract.model_validate(row)
        except ValidationError as exc:
            err = exc.errors()[0]
            column = ".".join(str(p) for p in err["loc"]) or None
            raise SchemaError(err["msg"], table=self.name, column=column) from None

    def validate_frame(self, frame: pl.DataFrame | pl.LazyFrame, *, check_key: bool = True) -> pl.DataFrame:
        """Check a whole frame and return it (collected) with columns in canonical order.

        ``check_key=False`` skips the uniqueness of the key: for producers whose keys are unique by
        construction (the generator's chunk checks), where it is the most expensive check.
        """
        df = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
        missing = [c for c in self.schema if c not in df.columns]
        if missing:
            raise SchemaError("missing column", table=self.name, column=missing[0])
        extra = [c for c in df.columns if c not in self.schema]
        if extra:
            raise SchemaError("column not in the canonical schema", table=self.name, column=extra[0])
        for col, dtype in self.schema.items():
            if df.schema[col] != dtype:
                raise SchemaError(f"dtype {df.schema[col]} where {dtype} is expected",
                                  table=self.name, column=col)
        df = df.select(list(self.schema))
        required = [c for c in self.schema if c not in self.nullable]
        checks = [Check(c, pl.col(c).is_not_null(), "null value in a required column") for c in required]
        checks += list(self.checks)
        if df.height and checks:
            flags = df.select([c.expr.fill_null(True).alias(f"__{i}") for i, c in enumerate(checks)])
            bad = flags.select([(~pl.col(f"__{i}")).arg_true().first().alias(f"__{i}")
                                for i in range(len(checks))]).row(0)
            failures = [(row, checks[i]) for i, row in enumerate(bad) if row is not None]
            if failures:
                row, check = min(failures, key=lambda f: f[0])
                raise SchemaError(check.message, table=self.name, column=check.column, row=row)
        if check_key and self.key and df.height and self._has_duplicate_key(df):
            dup = df.select(pl.struct(list(self.key)).is_duplicated().arg_true().first()).item()
            if dup is not None:  # the hash pre-check can only err towards looking
                raise SchemaError(f"duplicate key ({', '.join(self.key)})", table=self.name,
                                  column=self.key[0], row=int(dup))
        return df

    def _has_duplicate_key(self, df: pl.DataFrame) -> bool:
        """Cheap pre-check on a 64-bit hash of the key; the exact check runs only when it fires."""
        return bool(df.select(pl.struct(list(self.key)).hash(seed=0).is_duplicated().any()).item())
