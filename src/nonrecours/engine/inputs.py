"""The caller's input frames and their preparation into one frame per entity (shared by every backend).

Preparation fixes the null semantics of inputs before any rule runs: declared dtypes are enforced, a null
value or a missing month of a monthly input becomes the input's declared default, and each monthly input
needed at a month offset becomes a column ``x`` (evaluated month), ``x__m1`` (one month before)...
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass, fields
from typing import Any

import polars as pl

from nonrecours.engine.plan import ID, MONTH_START, ROLE_COL, Plan, add_months
from nonrecours.errors import SchemaError
from nonrecours.rules.ir import UNIT_ENTITIES

__all__ = ["MONTH", "PL_DTYPES", "Inputs", "literal", "prepare", "unit_months"]

PL_DTYPES: dict[str, pl.DataType] = {
    "float": pl.Float64(), "int": pl.Int64(), "bool": pl.Boolean(), "str": pl.String(), "date": pl.Date(),
}


@functools.lru_cache(maxsize=1 << 16)
def _cached_literal(value: object, kind: type, negative: bool, dtype: str) -> pl.Expr:
    return pl.lit(value, dtype=PL_DTYPES[dtype])


def literal(value: object, dtype: str) -> pl.Expr:
    """``pl.lit(value)`` of the rules' type ``dtype``, built once per (value, type, sign, dtype): Polars expressions
    are immutable, plans repeat the same values thousands of times (parameters, inputs' defaults) and ``pl.lit``
    costs microseconds each. The sign is in the key because 0.0 and -0.0 are equal with one hash: a cache keyed on
    the value alone would give whichever came first (a product's sign, ``1 / x``'s infinity)."""
    negative = isinstance(value, float) and math.copysign(1.0, value) < 0
    try:
        return _cached_literal(value, type(value), negative, dtype)
    except TypeError:  # an unhashable value
        return pl.lit(value, dtype=PL_DTYPES[dtype])


SOURCE_SUFFIX = "__source"
"""An input frame may carry ``<column>__source`` (the agency a value comes from): explanations quote it."""

MONTH = "__month"
"""Column of each unit's evaluated month in the prepared frames of a several-month evaluation."""

INDIVIDU_STRUCTURE = ("person_id", "famille_id", "famille_role", "foyer_fiscal_id", "foyer_fiscal_role",
                      "menage_id", "menage_role")


@dataclass(frozen=True)
class Inputs:
    """Input frames for one evaluation (see the engine docs for the columns of each frame).

    ``individu`` is required; a unit frame absent is built from the distinct ids of ``individu``; a monthly
    frame absent means every monthly input of that entity is at its default. ``month`` columns are
    ``pl.Date`` on the first of the month.
    """

    individu: pl.DataFrame
    individu_monthly: pl.DataFrame | None = None
    famille: pl.DataFrame | None = None
    famille_monthly: pl.DataFrame | None = None
    foyer_fiscal: pl.DataFrame | None = None
    foyer_fiscal_monthly: pl.DataFrame | None = None
    menage: pl.DataFrame | None = None
    menage_monthly: pl.DataFrame | None = None

    def __repr__(self) -> str:  # never print data
        parts = [f"{f.name}={getattr(self, f.name).shape}" for f in fields(self)
                 if getattr(self, f.name) is not None]
        return f"Inputs({', '.join(parts)})"

    def frame(self, entity: str, monthly: bool) -> pl.DataFrame | None:
        return getattr(self, f"{entity}_monthly" if monthly else entity)


def _check_ids(df: pl.DataFrame, column: str, table: str, nulls_allowed: bool) -> None:
    """Null or empty identifiers would merge strangers in a join: refuse them (null unit ids of an
    individu are allowed: the individu then belongs to no such unit)."""
    col = df.get_column(column)
    if not nulls_allowed and col.null_count():
        raise SchemaError("null identifier", table=table, column=column)
    if col.dtype == pl.String and (col == "").any():
        raise SchemaError("empty identifier", table=table, column=column)


def _unit_frame(inputs: Inputs, entity: str) -> pl.DataFrame:
    idc = ID[entity]
    df = inputs.frame(entity, False)
    if df is None:
        ids = inputs.individu.select(pl.col(idc)).filter(pl.col(idc).is_not_null())
        return ids.unique(maintain_order=True)
    if idc not in df.columns:
        raise SchemaError("missing id column", table=entity, column=idc)
    _check_ids(df, idc, entity, nulls_allowed=False)
    if df.get_column(idc).n_unique() != df.height:
        raise SchemaError("duplicated unit id", table=entity, column=idc)
    return df


def unit_months(individu: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Per unit entity, each unit's evaluated month (``MONTH``) taken from its members' (``individu`` holds
    the unit ids and ``MONTH``); members at different months are refused."""
    out = {}
    for u in UNIT_ENTITIES:
        idc = ID[u]
        um = individu.filter(pl.col(idc).is_not_null()).group_by(idc).agg(
            pl.col(MONTH).min(), pl.col(MONTH).n_unique().alias("__n"))
        if (um.get_column("__n") > 1).any():
            raise SchemaError(f"members of one {u} evaluated at different months", table="months",
                              column="month")
        out[u] = um.drop("__n")
    return out


def _unit_months(frames: dict[str, pl.DataFrame], months: pl.DataFrame) -> None:
    """Add each unit's evaluated month (``MONTH``) to the prepared frames, from its members' months."""
    if not {"person_id", "month"} <= set(months.columns):
        raise SchemaError("missing column", table="months", column="person_id, month")
    pm = months.select(pl.col("person_id"), pl.col("month").cast(pl.Date).dt.truncate("1mo").alias(MONTH))
    if pm.get_column("person_id").n_unique() != pm.height:
        raise SchemaError("two months for one person", table="months", column="person_id")
    ind = frames["individu"].join(pm, on="person_id", how="left", maintain_order="left")
    if ind.get_column(MONTH).null_count():
        raise SchemaError("an individu has no evaluated month", table="months", column="month")
    frames["individu"] = ind
    for u, um in unit_months(ind).items():
        idc = ID[u]
        frames[u] = frames[u].join(um, on=idc, how="left", maintain_order="left")
        if frames[u].get_column(MONTH).null_count():
            raise SchemaError(f"a {u} has no member, hence no evaluated month", table=u, column=idc)


def _rows_by_offset(src: pl.DataFrame, units: pl.DataFrame, idc: str, entity: str,
                    offsets: set[int]) -> dict[int, pl.DataFrame]:
    """A monthly frame's rows split by their offset from each unit's evaluated month (one join for every
    offset the plan reads, instead of one per offset)."""
    rows = src.with_columns(pl.col("month").cast(pl.Date))
    if rows.select(idc, "month").is_duplicated().any():
        raise SchemaError("two rows for one unit and month", table=f"{entity}_monthly", column=idc)
    index = pl.col("month").dt.year() * 12 + pl.col("month").dt.month()
    unit_index = pl.col(MONTH).dt.year() * 12 + pl.col(MONTH).dt.month()
    tagged = (rows.join(units.select(idc, MONTH), on=idc, how="inner")
              .with_columns((index.cast(pl.Int32) - unit_index.cast(pl.Int32)).alias("__offset"))
              .filter(pl.col("__offset").is_in(sorted(offsets))).drop(MONTH))
    return {k[0]: part.drop("__offset") for k, part in tagged.partition_by("__offset", as_dict=True).items()}


def _rows_by_month(src: pl.DataFrame, idc: str, plan: Plan,
                   steps: list[Any]) -> dict[dt.date, tuple[pl.DataFrame, bool]]:
    """A monthly frame's rows of every month a one-month plan reads (``plan.month`` and its offsets), in one
    pass over the frame, by month: the columns any of ``steps`` reads (a monthly frame is wide: every input
    and its source, each month), and whether some unit has two rows that month. One filter of the whole
    frame per month offset read (up to 19) cost more than the rest of the preparation on detection's
    stacked variants (``benchmarks/results/detect_speed_2026-11-30.md``)."""
    months = sorted({add_months(plan.month, s.offset) for s in steps})
    read = [s.variable for s in steps if s.variable in src.columns]
    pos = [_POS] if _POS in src.columns else []
    rows = (src.lazy().select(*dict.fromkeys([idc, *pos, *read]), pl.col("month").cast(pl.Date).alias("__month"))
            .filter(pl.col("__month").is_in(pl.lit(pl.Series(months, dtype=pl.Date)).implode())).collect())
    out: dict[dt.date, tuple[pl.DataFrame, bool]] = {}
    for (month,), part in rows.partition_by("__month", as_dict=True, maintain_order=True).items():
        part = part.drop("__month")
        out[month] = (part, part.get_column(idc).n_unique() != part.height)
    return out


def _month_inputs(plan: Plan, frames: dict[str, pl.DataFrame]) -> None:
    """Columns of the parameters that differ between the evaluated months, and of month starts."""
    months = list(plan.months)
    for s in plan.month_inputs():
        f = frames[s.entity]
        if s.param == MONTH_START:
            col = pl.col(MONTH).dt.offset_by(f"{s.offset}mo").alias(s.name)
            frames[s.entity] = f.with_columns(col)
            continue
        values = [plan.bindings[(s.param, add_months(m, s.offset))].value for m in months]
        table = pl.DataFrame({MONTH: months, s.name: values}, schema={MONTH: pl.Date, s.name: PL_DTYPES[s.dtype]},
                             strict=False)
        frames[s.entity] = f.join(table, on=MONTH, how="left", maintain_order="left")


_POS = "__pos"
"""The column of a source frame's row's position in the evaluated frame (``_positions``)."""


def _positions(src: pl.DataFrame, frame: pl.DataFrame, idc: str) -> pl.DataFrame:
    """``src`` with ``_POS``: the row of ``frame`` (ids unique) holding each row's unit, null for a unit ``frame``
    lacks. One join on the text ids for the whole source frame: each part of it is then joined to the evaluated
    frame on these integers (``_beside``), where a join on the ids for each of a plan's some 35 parts hashed the
    frame's 500,000 text ids again each time (100,000 persons' stacked variants in detection)."""
    rows = frame.select(idc).with_row_index(_POS)
    return src.with_columns(src.select(idc).join(rows, on=idc, how="left", maintain_order="left")
                            .get_column(_POS))


def _beside(frame: pl.DataFrame, part: pl.DataFrame | None, idc: str, entity: str,
            fills: list[tuple[str, Any, str]]) -> pl.DataFrame:
    """``frame`` with the input columns ``fills`` (name, default, dtype) added: ``part``'s left-joined on ``idc``
    in ``frame``'s order, a unit without a row (or a null) given the default, then those ``part`` lacks, the
    default. The join reads the key column only and the defaults are filled in the narrow joined frame, so
    ``frame``'s columns are kept as they are (a join of the whole frame gathered each of them again; a fill of the
    whole frame cost a query of its width, about a millisecond, for each of a plan's 40-odd input groups).
    ``part`` holding two rows for one unit raises (a join of the whole frame duplicated that unit's rows
    silently). A ``part`` with ``_POS`` (``_positions``) is joined on it instead of ``idc``."""
    key = _POS if part is not None and _POS in part.columns else idc
    keys = frame.select(idc).with_row_index(_POS).select(_POS) if key == _POS else frame.select(idc)
    present = set() if part is None else set(part.columns) - {key}
    if part is not None:
        keys = keys.join(part, on=key, how="left", maintain_order="left")
        if keys.height != frame.height:
            raise SchemaError("two input rows for one unit", table=entity, column=idc)
    added = keys.select(pl.col(key), *[pl.col(n).fill_null(literal(d, t)) for n, d, t in fills if n in present],
                        *[literal(d, t).alias(n) for n, d, t in fills if n not in present])
    return frame.hstack(added.get_columns()[1:])


def prepare(plan: Plan, inputs: Inputs, missing: str = "error",
            months: pl.DataFrame | None = None) -> dict[str, pl.DataFrame]:
    """One frame per entity holding its id, structural columns and every input column the plan reads.

    ``missing="error"`` raises when a needed input column is absent from its frame; ``"default"`` fills it
    with the declared default instead (useful for partial situations). ``months`` (``person_id``,
    ``month``): each individu's evaluated month, for a plan of several months (units take their members'
    month); monthly inputs are then read at each unit's own month and offsets.
    """
    # frames built by concatenation can hold thousands of chunks: every later pass would pay for them
    inputs = Inputs(**{f.name: (None if getattr(inputs, f.name) is None else getattr(inputs, f.name).rechunk())
                       for f in fields(inputs)})
    ind = inputs.individu
    for c in INDIVIDU_STRUCTURE:
        if c not in ind.columns:
            raise SchemaError("missing structural column", table="individu", column=c)
    _check_ids(ind, "person_id", "individu", nulls_allowed=False)
    for u in UNIT_ENTITIES:
        _check_ids(ind, ID[u], "individu", nulls_allowed=True)
    if ind.get_column("person_id").n_unique() != ind.height:
        raise SchemaError("duplicated person id", table="individu", column="person_id")
    # Frames are sorted by id: joins of sorted keys are several times faster, and results come sorted.
    frames: dict[str, pl.DataFrame] = {
        "individu": ind.select(INDIVIDU_STRUCTURE).with_columns(
            [pl.col(c).cast(pl.String).fill_null("") for c in ROLE_COL.values()]).sort("person_id")}
    for u in UNIT_ENTITIES:
        frames[u] = _unit_frame(inputs, u).select(ID[u]).sort(ID[u])
    if plan.multi_month:
        if months is None:
            raise SchemaError("a plan of several months needs each individu's month", table="months")
        _unit_months(frames, months)
    by_entity: dict[tuple[str, bool, int], list] = {}
    for s in plan.inputs():
        if s.variable in ROLE_COL.values():
            continue
        by_entity.setdefault((s.entity, s.monthly, s.offset), []).append(s)
    by_offset: dict[str, dict[int, pl.DataFrame]] = {}  # monthly rows of each unit's month offsets
    by_month: dict[str, dict[dt.date, tuple[pl.DataFrame, bool]]] = {}  # a one-month plan's monthly rows by month
    offsets: dict[str, set[int]] = {}
    for entity, monthly, offset in by_entity:
        if monthly:
            offsets.setdefault(entity, set()).add(offset)
    for (entity, monthly, offset), steps in sorted(by_entity.items(), key=lambda kv: (kv[0][0], kv[0][1],
                                                                                          kv[0][2])):
        idc = ID[entity]
        src = inputs.frame(entity, monthly) if (entity != "individu" or monthly) else ind
        if entity != "individu" and not monthly:
            src = _unit_frame(inputs, entity)
        cols, fills, read = [], [], []
        for s in steps:
            assert s.variable is not None
            present = src is not None and s.variable in src.columns
            if not present and missing == "error":
                table = f"{entity}_monthly" if monthly else entity
                raise SchemaError(f"input {s.variable} needed by the rules is missing", table=table,
                                  column=s.variable)
            if present:
                cols.append(pl.col(s.variable).cast(PL_DTYPES[s.dtype], strict=True).alias(s.name))
                read.append(s.variable)
            fills.append((s.name, s.default, s.dtype))
        part: pl.DataFrame | None = None
        if cols:
            assert src is not None
            part = src
            if monthly:
                if "month" not in src.columns:
                    raise SchemaError("missing month column", table=f"{entity}_monthly", column="month")
                if plan.multi_month:
                    if entity not in by_offset:
                        by_offset[entity] = _rows_by_offset(src, frames[entity], idc, entity, offsets[entity])
                    part = by_offset[entity].get(offset, src.clear())
                else:
                    target = add_months(plan.month, offset)
                    if entity not in by_month:
                        by_month[entity] = _rows_by_month(
                            _positions(src, frames[entity], idc), idc, plan,
                            [s for k, ss in by_entity.items() if k[0] == entity and k[1] for s in ss])
                    part, twice = by_month[entity].get(target, (None, False))
                    if part is None:  # no row that month
                        part = src.clear().select(idc, *read).with_columns(pl.lit(None, pl.get_index_type())
                                                                           .alias(_POS))
                    if twice:
                        raise SchemaError(f"two rows for one unit in {target:%Y-%m}",
                                          table=f"{entity}_monthly", column=idc)
            try:
                part = part.select(pl.col(_POS) if _POS in part.columns else pl.col(idc), *cols)
            except pl.exceptions.InvalidOperationError as exc:
                raise SchemaError("input column of the wrong type", table=entity) from exc
        # the right side unsorted: the rows keep the left's order, and sorting each part (500,000 text ids for
        # detection's stacked variants, some 35 parts) cost more than every join it was meant to speed. Joined to
        # the ids alone and the new columns added beside: a join of the whole frame gathered every column already
        # added again, part after part (some 35 parts a frame growing to 300 columns)
        frames[entity] = _beside(frames[entity], part, idc, entity, fills)
    if plan.multi_month:
        _month_inputs(plan, frames)
    for u in plan.needs_unit_link():
        link = (frames["individu"].filter(pl.col("famille_role") == "demandeur")
                .sort("person_id").group_by("famille_id", maintain_order=True)
                .agg(pl.col(ID[u]).first().alias(f"__{ID[u]}")))
        frames["famille"] = frames["famille"].join(link, on="famille_id", how="left", maintain_order="left")
    return frames
