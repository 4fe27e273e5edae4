"""Lowering of a plan to SQL expression trees (sqlglot), run on DuckDB.

The tree is built node by node and rendered with ``dialect="duckdb"``; SQL text is never parsed back.
Data never enters SQL text: input frames are registered as DuckDB relations under internal table names;
only column names of rules, role codes, parameter values and dates appear as literals. Unsupported
constructs raise :class:`UnsupportedConstructError` naming the backend and the node.

Each level of the plan creates, per entity, a new table ``SELECT *, <formulas> FROM <previous>`` (and a
``LEFT JOIN`` on a ``GROUP BY`` for aggregates, a ``LEFT JOIN`` on the unit table for projections).
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import duckdb
import polars as pl
from sqlglot import exp

from nonrecours.engine.plan import ID, ROLE_COL, Plan, Step, dtype_of
from nonrecours.errors import EngineError, UnsupportedConstructError
from nonrecours.rules.ir import BinOp, BoolOp, Cast, Col, Compare, Expr, Func, IsIn, Lit, Not, Where

__all__ = ["lower_sql", "run_duckdb"]

BACKEND = "duckdb"
DIALECT = "duckdb"
ROUND_EPS = 1e-9
SQL_TYPES = {"float": "DOUBLE", "int": "BIGINT", "bool": "BOOLEAN", "str": "VARCHAR", "date": "DATE"}


def _ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def _col(name: str, table: str | None = None) -> exp.Column:
    return exp.Column(this=_ident(name), table=_ident(table) if table else None)


def _cast(e: exp.Expression, dtype: str) -> exp.Expression:
    return exp.Cast(this=e, to=exp.DataType.build(SQL_TYPES[dtype]))


def sql_literal(value: Any, dtype: str) -> exp.Expression:
    """A typed literal; floats in 17-digit scientific notation so DuckDB reads the exact same double."""
    if value is None:
        return _cast(exp.Null(), dtype)
    if dtype == "float":
        v = float(value)
        if v != v or v in (float("inf"), float("-inf")):
            raise UnsupportedConstructError(f"{BACKEND}: non-finite literal (node Lit)")
        return _cast(exp.Literal.number(f"{v:.17e}"), "float")
    if dtype == "int":
        return _cast(exp.Literal.number(str(int(value))), "int")
    if dtype == "bool":
        return exp.Boolean(this=bool(value))
    if dtype == "str":
        return exp.Literal.string(str(value))
    if dtype == "date":
        return _cast(exp.Literal.string(value.isoformat()), "date")
    raise UnsupportedConstructError(f"{BACKEND}: literal of dtype {dtype} (node Lit)")


def _as(e: exp.Expression, have: str, want: str) -> exp.Expression:
    return e if have == want else _cast(e, want)


def lower_sql(e: Expr, coltypes: dict[str, str]) -> exp.Expression:
    """A flattened IR expression as a sqlglot expression tree (same semantics as the Polars lowering)."""

    def t(x: Expr) -> str:
        return dtype_of(x, coltypes)

    def num(x: Expr) -> exp.Expression:
        return _cast(go(x), "int") if t(x) == "bool" else go(x)

    def go(x: Expr) -> exp.Expression:
        if isinstance(x, Col):
            return _col(x.name)
        if isinstance(x, Lit):
            return sql_literal(x.value, x.dtype)
        if isinstance(x, BinOp):
            a, b = num(x.left), num(x.right)
            if x.op == "add":
                return exp.Paren(this=exp.Add(this=a, expression=b))
            if x.op == "sub":
                return exp.Paren(this=exp.Sub(this=a, expression=b))
            if x.op == "mul":
                return exp.Paren(this=exp.Mul(this=a, expression=b))
            if x.op == "div":
                return (exp.Case()
                        .when(exp.EQ(this=b, expression=sql_literal(0, "int")), sql_literal(0.0, "float"))
                        .else_(exp.Div(this=_cast(a, "float"), expression=_cast(b, "float"))))
        if isinstance(x, Compare):
            a, b = go(x.left), go(x.right)
            ta, tb = t(x.left), t(x.right)
            if "bool" in (ta, tb) and ta != tb:
                a, b = _as(a, ta, "int"), _as(b, tb, "int")
            cls = {"eq": exp.EQ, "ne": exp.NEQ, "lt": exp.LT, "le": exp.LTE, "gt": exp.GT,
                   "ge": exp.GTE}[x.op]
            return exp.Paren(this=cls(this=a, expression=b))
        if isinstance(x, BoolOp):
            cls2 = exp.And if x.op == "and" else exp.Or
            return exp.Paren(this=cls2(this=go(x.left), expression=go(x.right)))
        if isinstance(x, Not):
            return exp.Not(this=exp.Paren(this=go(x.operand)))
        if isinstance(x, Where):
            out = t(x)
            return (exp.Case().when(go(x.cond), _as(go(x.then), t(x.then), out))
                    .else_(_as(go(x.otherwise), t(x.otherwise), out)))
        if isinstance(x, Func):
            return func(x)
        if isinstance(x, IsIn):
            ot = t(x.operand)
            return exp.Paren(this=exp.In(this=go(x.operand),
                                         expressions=[sql_literal(v, ot) for v in x.values]))
        if isinstance(x, Cast):
            src = t(x.operand)
            inner = go(x.operand)
            if src in ("str", "date"):
                raise UnsupportedConstructError(f"{BACKEND}: cast from {src} (node Cast)")
            if x.dtype == "bool" and src != "bool":
                return exp.Paren(this=exp.NEQ(this=inner, expression=sql_literal(0, "int")))
            if x.dtype == "int" and src == "float":  # CAST(DOUBLE AS BIGINT) rounds in DuckDB: truncate
                return _cast(exp.Anonymous(this="TRUNC", expressions=[inner]), "int")
            return _as(inner, src, x.dtype)
        raise UnsupportedConstructError(f"{BACKEND}: no lowering for node {type(x).__name__}")

    def func(x: Func) -> exp.Expression:
        out = t(x)
        if x.name in ("minimum", "maximum"):
            a, b = (_as(num(y), "int" if t(y) == "bool" else t(y), out) for y in x.args)
            cls = exp.Least if x.name == "minimum" else exp.Greatest
            return cls(this=a, expressions=[b])
        a0 = x.args[0]
        if x.name == "abs":
            return exp.Abs(this=num(a0))
        if x.name == "neg":
            return exp.Paren(this=exp.Neg(this=num(a0)))
        if x.name in ("floor", "ceil"):
            f = _cast(num(a0), "float")
            return exp.Floor(this=f) if x.name == "floor" else exp.Ceil(this=f)
        if x.name == "round":
            f = _cast(num(a0), "float")
            scale = sql_literal(float(10 ** x.digits), "float")
            sign = exp.Case().when(exp.LT(this=f, expression=sql_literal(0.0, "float")),
                                   sql_literal(-1.0, "float")).else_(sql_literal(1.0, "float"))
            scaled = exp.Add(this=exp.Add(this=exp.Mul(this=exp.Abs(this=f), expression=scale),
                                          expression=sql_literal(0.5, "float")),
                             expression=sql_literal(ROUND_EPS, "float"))
            return exp.Paren(this=exp.Mul(this=sign, expression=exp.Div(
                this=exp.Floor(this=exp.Paren(this=scaled)), expression=scale)))
        if x.name in ("year", "month", "day"):
            cls3 = {"year": exp.Year, "month": exp.Month, "day": exp.Day}[x.name]
            return _cast(cls3(this=go(a0)), "int")
        raise UnsupportedConstructError(f"{BACKEND}: no lowering for function {x.name} (node Func)")

    return go(e)


def _agg_sql(s: Step, unit: str) -> exp.Expression:
    conds: list[exp.Expression] = []
    if s.roles is not None:
        conds.append(exp.In(this=_col(ROLE_COL[unit]), expressions=[exp.Literal.string(r) for r in s.roles]))
    if s.where_col is not None:
        conds.append(_col(s.where_col))
    mask = exp.and_(*conds) if conds else None
    v = _col(s.value_col) if s.value_col else None
    kind = s.agg_kind

    def masked(e: exp.Expression) -> exp.Expression:
        return e if mask is None else exp.Case().when(mask.copy(), e)

    if kind == "count":
        e: exp.Expression = exp.CountIf(this=mask) if mask is not None else exp.Count(this=exp.Star())
    elif kind == "any":
        assert v is not None
        e = exp.LogicalOr(this=masked(v))
    elif kind == "all":
        assert v is not None
        e = exp.LogicalAnd(this=masked(v))
    elif kind in ("sum", "max", "min"):
        assert v is not None
        val = _cast(v, s.dtype) if kind == "sum" else v
        cls = {"sum": exp.Sum, "max": exp.Max, "min": exp.Min}[kind]
        e = cls(this=masked(val))
    elif kind == "value_of":
        assert v is not None
        e = exp.ArgMin(this=v, expression=_col("person_id"))
        if mask is not None:
            e = exp.Filter(this=e, expression=exp.Where(this=mask))
    else:
        raise UnsupportedConstructError(f"{BACKEND}: no lowering for aggregate {kind} (node Agg)")
    return _cast(e, s.dtype)


class _Runner:
    def __init__(self, plan: Plan, frames: dict[str, pl.DataFrame], config: dict[str, Any] | None) -> None:
        self.plan = plan
        cfg = {"threads": os.cpu_count() or 1}
        cfg.update(config or {})
        cfg.setdefault("temp_directory", tempfile.gettempdir())
        self.con = duckdb.connect(database=":memory:", config={k: str(v) for k, v in cfg.items()})
        self.version: dict[str, int] = {}
        self.current: dict[str, str] = {}
        for entity, df in frames.items():
            name = f"in_{entity}"
            # Arrow C stream (no pyarrow needed), copied into a DuckDB table: internal name, no data in SQL
            self.con.from_arrow(df.__arrow_c_stream__()).create(name)
            self.current[entity] = name
            self.version[entity] = 0

    def _new_table(self, entity: str, query: exp.Select) -> None:
        self.version[entity] += 1
        name = f"t_{entity}_{self.version[entity]}"
        stmt = exp.Create(this=exp.Table(this=_ident(name)), kind="TABLE", expression=query)
        try:
            self.con.execute(stmt.sql(dialect=DIALECT))
        except duckdb.Error as exc:  # the message may quote SQL with rule names only, never data
            raise EngineError(f"{BACKEND}: step on {entity} failed: {type(exc).__name__}") from exc
        old = self.current[entity]
        if old != name:
            drop = exp.Drop(tables=[exp.Table(this=_ident(old))], kind="TABLE")
            self.con.execute(drop.sql(dialect=DIALECT))
        self.current[entity] = name

    def _table(self, entity: str, alias: str | None = None) -> exp.Table:
        return exp.Table(this=_ident(self.current[entity]), alias=exp.TableAlias(this=_ident(alias))
                         if alias else None)

    def run(self) -> dict[str, pl.DataFrame]:
        coltypes = {s.name: s.dtype for s in self.plan.steps.values()}
        for level in self.plan.by_level():
            steps = [s for s in level if s.kind != "input"]
            aggs: dict[str, list[Step]] = {}
            projs: dict[tuple[str, str], list[Step]] = {}
            forms: dict[str, list[Step]] = {}
            for s in steps:
                if s.kind == "agg":
                    aggs.setdefault(s.entity, []).append(s)
                elif s.kind == "project":
                    assert s.source is not None
                    projs.setdefault((s.source, s.entity), []).append(s)
                else:
                    forms.setdefault(s.entity, []).append(s)
            for unit, ss in aggs.items():
                idc = ID[unit]
                aggs_sql = [exp.alias_(_agg_sql(s, unit), s.name, quoted=True) for s in ss]
                sub = exp.select(_col(idc), *aggs_sql) \
                    .from_(self._table("individu")).group_by(_col(idc))
                q = exp.select(exp.Column(this=exp.Star(), table=_ident("u")),
                               *[exp.alias_(exp.Coalesce(this=_col(s.name, "a"),
                                                         expressions=[sql_literal(s.default, s.dtype)]),
                                            s.name, quoted=True) for s in ss]) \
                    .from_(self._table(unit, "u")) \
                    .join(exp.Subquery(this=sub, alias=exp.TableAlias(this=_ident("a"))),
                          on=exp.EQ(this=_col(idc, "u"), expression=_col(idc, "a")), join_type="left")
                self._new_table(unit, q)
            for (source, target), ss in projs.items():
                idc = ID[source]
                left_key = idc if target == "individu" else f"__{idc}"
                q = exp.select(exp.Column(this=exp.Star(), table=_ident("l")),
                               *[exp.alias_(exp.Coalesce(this=_col(s.value_col, "r"),
                                                         expressions=[sql_literal(s.default, s.dtype)]),
                                            s.name, quoted=True) for s in ss]) \
                    .from_(self._table(target, "l")) \
                    .join(self._table(source, "r"),
                          on=exp.EQ(this=_col(left_key, "l"), expression=_col(idc, "r")), join_type="left")
                self._new_table(target, q)
            for entity, ss in forms.items():
                q = exp.select(exp.Star(), *[
                    exp.alias_(_as(lower_sql(s.expr, coltypes), dtype_of(s.expr, coltypes), s.dtype),
                               s.name, quoted=True) for s in ss if s.expr is not None]) \
                    .from_(self._table(entity))
                self._new_table(entity, q)
        out: dict[str, pl.DataFrame] = {}
        for entity in self.current:
            q = exp.select(exp.Star()).from_(self._table(entity))
            out[entity] = pl.DataFrame(self.con.sql(q.sql(dialect=DIALECT)))
        self.con.close()
        return out


def run_duckdb(plan: Plan, frames: dict[str, pl.DataFrame],
               config: dict[str, Any] | None = None) -> dict[str, pl.DataFrame]:
    """Compute every step of ``plan`` on DuckDB. ``config``: DuckDB settings (``memory_limit``,
    ``threads``, ``temp_directory``: spilling goes to the system temp dir unless given)."""
    return _Runner(plan, frames, config).run()
