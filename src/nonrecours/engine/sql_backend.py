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
SMALL_ROWS = 50_000
FINAL = 1 << 30
SQL_TYPES = {"float": "DOUBLE", "int": "BIGINT", "bool": "BOOLEAN", "str": "VARCHAR", "date": "DATE"}


def _ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def _col(name: str, table: str | None = None) -> exp.Column:
    return exp.Column(this=_ident(name), table=_ident(table) if table else None)


_DT = {"float": exp.DataType.Type.DOUBLE, "int": exp.DataType.Type.BIGINT, "bool": exp.DataType.Type.BOOLEAN,
       "str": exp.DataType.Type.VARCHAR, "date": exp.DataType.Type.DATE}


def _cast(e: exp.Expression, dtype: str) -> exp.Expression:
    # DataType nodes built directly: DataType.build() parses its argument, which is slow on big plans
    return exp.Cast(this=e, to=exp.DataType(this=_DT[dtype], nested=False))


def sql_literal(value: Any, dtype: str) -> exp.Expression:
    """A typed literal; floats in 17-digit scientific notation so DuckDB reads the exact same double."""
    if value is None:
        return _cast(exp.Null(), dtype)
    if dtype == "float":
        v = float(value)
        if v != v or v in (float("inf"), float("-inf")):
            raise UnsupportedConstructError(f"{BACKEND}: non-finite literal (node Lit)")
        # scientific notation: read as DOUBLE by DuckDB (a plain decimal would be a DECIMAL); the sign is a
        # separate node because Literal.number re-formats a negative number and loses the exponent
        lit = exp.Literal(this=f"{abs(v):.17e}", is_string=False)
        return exp.Paren(this=exp.Neg(this=lit)) if v < 0 else lit
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


def lower_sql(e: Expr, coltypes: dict[str, str], table: str | None = None,
              memo: dict[int, str] | None = None) -> exp.Expression:
    """A flattened IR expression as a sqlglot expression tree (same semantics as the Polars lowering).

    ``table`` qualifies column references; ``memo`` caches node dtypes (by node identity) across calls.
    """
    types: dict[int, str] = memo if memo is not None else {}

    def t(x: Expr) -> str:
        k = id(x)
        if k not in types:
            types[k] = dtype_of(x, coltypes)
        return types[k]

    def num(x: Expr) -> exp.Expression:
        return _cast(go(x), "int") if t(x) == "bool" else go(x)

    def go(x: Expr) -> exp.Expression:
        if isinstance(x, Col):
            return _col(x.name, table)
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
                        .when(exp.EQ(this=b, expression=sql_literal(0, "int")), sql_literal(0.0, "float"),
                              copy=False)
                        .else_(exp.Div(this=_cast(a, "float"), expression=_cast(b.copy(), "float")),
                               copy=False))
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
            return (exp.Case().when(go(x.cond), _as(go(x.then), t(x.then), out), copy=False)
                    .else_(_as(go(x.otherwise), t(x.otherwise), out), copy=False))
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
            # values are never null here: plain GREATEST/LEAST (no null-propagation wrapper)
            return cls(this=a, expressions=[b], ignore_nulls=True)
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

            def scale() -> exp.Expression:
                return sql_literal(float(10 ** x.digits), "float")

            sign = exp.Case().when(exp.LT(this=f, expression=sql_literal(0.0, "float")),
                                   sql_literal(-1.0, "float"), copy=False) \
                .else_(sql_literal(1.0, "float"), copy=False)
            scaled = exp.Add(this=exp.Add(this=exp.Mul(this=exp.Abs(this=f.copy()), expression=scale()),
                                          expression=sql_literal(0.5, "float")),
                             expression=sql_literal(ROUND_EPS, "float"))
            return exp.Paren(this=exp.Mul(this=sign, expression=exp.Div(
                this=exp.Floor(this=exp.Paren(this=scaled)), expression=scale())))
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
    mask = exp.and_(*conds, copy=False) if conds else None
    v = _col(s.value_col) if s.value_col else None
    kind = s.agg_kind

    def masked(e: exp.Expression) -> exp.Expression:
        return e if mask is None else exp.Case().when(mask, e, copy=False)

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


STRUCTURAL = {
    "individu": ("person_id", "famille_id", "famille_role", "foyer_fiscal_id", "foyer_fiscal_role", "menage_id",
                 "menage_role"),
    "famille": ("famille_id", "__menage_id", "__foyer_fiscal_id"),
    "foyer_fiscal": ("foyer_fiscal_id",),
    "menage": ("menage_id",),
}
"""Columns every table of an entity carries: ids, roles and the demandeur's unit links."""


class _Runner:
    """Runs a plan level by level. Each entity has a *chain* table carrying only its structural columns and
    the columns a later level still reads; a finished result column (a rule or condition of the evaluated
    month that no later step reads) moves to a narrow *side* table, so wide tables are never rewritten at
    every level. Inputs stay in the prepared Polars frames, which the results are assembled onto."""

    def __init__(self, plan: Plan, frames: dict[str, pl.DataFrame], config: dict[str, Any] | None) -> None:
        self.plan = plan
        self.frames = frames
        # small inputs (situations) run faster on one thread: statements are dominated by planning
        small = frames["individu"].height < SMALL_ROWS
        self.small = small
        # results are re-ordered by id when fetched: insertion order need not be kept (a large saving)
        cfg: dict[str, Any] = {"threads": 1 if small else (os.cpu_count() or 1),
                               "preserve_insertion_order": "false"}
        cfg.update(config or {})
        cfg.setdefault("temp_directory", tempfile.gettempdir())
        self.tmp = str(cfg["temp_directory"])
        self.con = duckdb.connect(database=":memory:", config={k: str(v) for k, v in cfg.items()})
        self.version: dict[str, int] = {}
        self.current: dict[str, str] = {}
        self.columns: dict[str, list[str]] = {}
        self.sides: dict[str, list[tuple[str, list[str]]]] = {e: [] for e in frames}
        self.moved: set[str] = set()
        self.last = plan.last_use()
        self.public = {st.name for st in plan.steps.values() if st.public}
        for entity, df in frames.items():
            self.columns[entity] = list(df.columns)
            name = f"in_{entity}"
            # Arrow C stream (no pyarrow needed), copied into a DuckDB table: internal name, no data in SQL
            self.con.from_arrow(df.__arrow_c_stream__()).create(name)
            self.current[entity] = name
            self.version[entity] = 0

    def _execute(self, stmt: exp.Expression, entity: str) -> None:
        try:
            self.con.execute(stmt.sql(dialect=DIALECT))
        except duckdb.Error as exc:  # the message may quote SQL with rule names only, never data
            raise EngineError(f"{BACKEND}: step on {entity} failed: {type(exc).__name__}") from exc

    def _new_table(self, entity: str, query: exp.Select, prefix: str = "t") -> str:
        """Create the next table of ``entity``; the caller swaps it in once the whole level is built (the
        other entities of the level still read the previous tables)."""
        self.version[entity] += 1
        name = f"{prefix}_{entity}_{self.version[entity]}"
        self._execute(exp.Create(this=exp.Table(this=_ident(name)), kind="TABLE", expression=query), entity)
        return name

    def _swap(self, entity: str, name: str) -> None:
        drop = exp.Drop(tables=[exp.Table(this=_ident(self.current[entity]))], kind="TABLE")
        self._execute(drop, entity)
        self.current[entity] = name

    def _table(self, entity: str, alias: str | None = None) -> exp.Table:
        return exp.Table(this=_ident(self.current[entity]), alias=exp.TableAlias(this=_ident(alias))
                         if alias else None)

    def _move_finished(self, entity: str, level: int) -> None:
        if self.small and level < FINAL:  # small tables: copying is cheap, statements are not
            return
        done = [c for c in self.columns[entity]
                if c in self.public and c not in self.moved and self.last.get(c, 0) <= level]
        if not done:
            return
        q = exp.select(*[_col(c) for c in (ID[entity], *done)], copy=False) \
            .from_(self._table(entity), copy=False)
        self.sides[entity].append((self._new_table(entity, q, prefix="s"), done))
        self.moved.update(done)

    def run(self) -> dict[str, pl.DataFrame]:
        coltypes = {s.name: s.dtype for s in self.plan.steps.values()}
        for level in self.plan.by_level():
            steps = [s for s in level if s.kind != "input"]
            if not steps:
                continue
            by_entity: dict[str, list[Step]] = {}
            for s in steps:
                by_entity.setdefault(s.entity, []).append(s)
            level_no = level[0].level
            created = {entity: self._level(entity, ss, coltypes, level_no) for entity, ss in by_entity.items()}
            for entity, name in created.items():
                self._swap(entity, name)
            for entity in self.current:  # a column may be read last by another entity's step
                self._move_finished(entity, level_no)
        for entity in self.current:
            self._move_finished(entity, FINAL)
        out: dict[str, pl.DataFrame] = {}
        # Results leave DuckDB as Parquet files in a private temporary directory (the Arrow export of the
        # Python client leaks type objects at exit; only the file path enters the SQL text).
        with tempfile.TemporaryDirectory(dir=self.tmp) as tmp:
            for entity, base in self.frames.items():
                idc = ID[entity]
                parts = [base]
                for name, cols in self.sides[entity]:
                    path = os.path.join(tmp, f"{name}.parquet")
                    q = exp.select(*[_col(c) for c in (idc, *cols)], copy=False) \
                        .from_(exp.Table(this=_ident(name)), copy=False)
                    copy = exp.Copy(this=exp.Subquery(this=q), kind=False, files=[exp.Literal.string(path)],
                                    params=[exp.CopyParameter(this=exp.Var(this="FORMAT"),
                                                              expression=exp.Var(this="parquet"))])
                    self._execute(copy, entity)
                    parts.append(pl.read_parquet(path).sort(idc).drop(idc))
                # ids are unique and every table keeps every unit: sorted by id, the parts align row by row
                out[entity] = pl.concat(parts, how="horizontal") if len(parts) > 1 else base
        self.con.close()
        return out

    def _level(self, entity: str, ss: list[Step], coltypes: dict[str, str], level: int) -> str:
        structural = STRUCTURAL[entity]
        keep = [c for c in self.columns[entity]
                if c in structural or (c not in self.moved and self.last.get(c, 0) > level)
                or (c in self.public and c not in self.moved)]
        select: list[exp.Expression] = [_col(c, "l") for c in keep]
        joins: list[tuple[exp.Expression, exp.Expression]] = []
        aggs = [s for s in ss if s.kind == "agg"]
        if aggs:
            idc = ID[entity]
            sub = exp.select(_col(idc), *[exp.alias_(_agg_sql(s, entity), s.name, quoted=True, copy=False)
                                          for s in aggs], copy=False) \
                .from_(self._table("individu"), copy=False).group_by(_col(idc), copy=False)
            joins.append((exp.Subquery(this=sub, alias=exp.TableAlias(this=_ident("a"))),
                          exp.EQ(this=_col(idc, "l"), expression=_col(idc, "a"))))
            select += [exp.alias_(exp.Coalesce(this=_col(s.name, "a"),
                                               expressions=[sql_literal(s.default, s.dtype)]),
                                  s.name, quoted=True, copy=False) for s in aggs]
        sources = sorted({s.source for s in ss if s.kind == "project" and s.source})
        for k, source in enumerate(sources):
            alias = f"r{k}"
            idc = ID[source]
            left_key = idc if entity == "individu" else f"__{idc}"
            joins.append((self._table(source, alias),
                          exp.EQ(this=_col(left_key, "l"), expression=_col(idc, alias))))
            select += [exp.alias_(exp.Coalesce(this=_col(s.value_col, alias),
                                               expressions=[sql_literal(s.default, s.dtype)]),
                                  s.name, quoted=True, copy=False)
                       for s in ss if s.kind == "project" and s.source == source]
        memo: dict[int, str] = {}
        for s in ss:
            if s.kind == "formula" and s.expr is not None:
                sql = lower_sql(s.expr, coltypes, table="l", memo=memo)
                select.append(exp.alias_(_as(sql, dtype_of(s.expr, coltypes), s.dtype), s.name, quoted=True,
                                         copy=False))
        q = exp.select(*select, copy=False).from_(self._table(entity, "l"), copy=False)
        for table, on in joins:
            q = q.join(table, on=on, join_type="left", copy=False)
        name = self._new_table(entity, q)
        self.columns[entity] = keep + [s.name for s in ss]
        return name


def run_duckdb(plan: Plan, frames: dict[str, pl.DataFrame],
               config: dict[str, Any] | None = None) -> dict[str, pl.DataFrame]:
    """Compute every step of ``plan`` on DuckDB. ``config``: DuckDB settings (``memory_limit``,
    ``threads``, ``temp_directory``: spilling goes to the system temp dir unless given)."""
    return _Runner(plan, frames, config).run()
