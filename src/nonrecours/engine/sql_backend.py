"""Lowering of a plan to SQL expression trees (sqlglot), run on DuckDB.

The tree is built node by node and rendered with ``dialect="duckdb"``; SQL text is never parsed back.
Data never enters SQL text: input frames are registered as DuckDB relations under internal table names;
only column names of rules, role codes, parameter values and dates appear as literals. Unsupported
constructs raise :class:`UnsupportedConstructError` naming the backend and the node.

The plan runs in *stages* (a new stage only where it fans out: aggregates, projections), one statement per
stage and entity, each giving a narrow result (id + the columns it computed that something reads later), set
beside the entity's frame in id order; see :class:`_Runner`. Tables move between Polars and DuckDB through the
Arrow C stream interface: inputs and stored columns are Polars frames registered in DuckDB (scanned in place,
never copied into DuckDB).
"""

from __future__ import annotations

import os
import tempfile
from decimal import Decimal
from typing import Any

import duckdb
import polars as pl
from sqlglot import exp

from nonrecours.engine.plan import ID, ROLE_COL, Plan, Step, dtype_of, fixed_point
from nonrecours.errors import EngineError, UnsupportedConstructError
from nonrecours.rules.ir import ROUND_TOLERANCE, BinOp, BoolOp, Cast, Col, Compare, Expr, Func, IsIn, Lit, Not, Where

__all__ = ["lower_sql", "run_duckdb"]

BACKEND = "duckdb"
DIALECT = "duckdb"
SMALL_ROWS = 50_000
SQL_TYPES = {"float": "DOUBLE", "int": "BIGINT", "bool": "BOOLEAN", "str": "VARCHAR", "date": "DATE"}


class _ArrowFrame:
    """A Polars frame seen by DuckDB only through ``__arrow_c_stream__`` (DuckDB's Python client would
    convert a Polars frame through pyarrow, not installed): each scan asks for a fresh stream."""

    __slots__ = ("df",)

    def __init__(self, df: pl.DataFrame) -> None:
        self.df = df

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        return self.df.__arrow_c_stream__(requested_schema)


class _Stream:
    """A result being read once, seen by Polars through ``__arrow_c_stream__``."""

    __slots__ = ("result",)

    def __init__(self, result: Any) -> None:
        self.result = result

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        return self.result.arrow_capsule()


def run_once(con: duckdb.DuckDBPyConnection, text: str) -> pl.DataFrame:
    """The rows of the SELECT ``text`` as a Polars frame, the statement parsed, bound and run once.

    ``con.sql(text)`` makes a lazy relation: DuckDB's Python client parses and binds the statement to learn
    its columns (and scans the text for parameter markers in Python), then parses, binds, optimises and runs it
    again when Polars reads it. Measured on 2,000 individus of the project's rules (13 statements, 1.3 MB of
    text): 1.4 of 5.3 CPU s went to that first pass. The client's own single-pass call (``_submit``, what a
    relation runs when read; DuckDB 2's Python client) is used where it exists; elsewhere the relation is read."""
    submit = getattr(con, "_submit", None)
    if submit is None:
        return pl.DataFrame(con.sql(text))
    return pl.DataFrame(_Stream(submit(text, None, "stream")))


def _ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def _col(name: str, table: str | None = None) -> exp.Column:
    return exp.Column(this=_ident(name), table=_ident(table) if table else None)


_DT = {"float": exp.DataType.Type.DOUBLE, "int": exp.DataType.Type.BIGINT, "bool": exp.DataType.Type.BOOLEAN,
       "str": exp.DataType.Type.VARCHAR, "date": exp.DataType.Type.DATE}


def _cast(e: exp.Expression, dtype: str) -> exp.Expression:
    # DataType nodes built directly: DataType.build() parses its argument, which is slow on big plans
    return exp.Cast(this=e, to=exp.DataType(this=_DT[dtype], nested=False))


def double_text(v: float) -> str:
    """A finite non-negative double in scientific notation with the fewest digits that read back as the same double
    (Python's shortest round-trip ``repr``): ``646.52`` is ``6.4652e+2``, not the 17 digits
    ``6.46519999999999982e+02`` written until 2026-11-30. Both are read as the same DOUBLE (parsers round
    correctly); the shorter text is less to build, render, tokenise, parse and bind in every statement (about
    6,000 literals in the largest one on the project's rules)."""
    return format(Decimal(repr(v)).normalize(), "e")


def sql_literal(value: Any, dtype: str) -> exp.Expression:
    """A typed literal; floats in scientific notation (:func:`double_text`) so DuckDB reads the exact same double."""
    if value is None:
        return _cast(exp.Null(), dtype)
    if dtype == "float":
        v = float(value)
        if v != v or v in (float("inf"), float("-inf")):
            raise UnsupportedConstructError(f"{BACKEND}: non-finite literal (node Lit)")
        # scientific notation: read as DOUBLE by DuckDB (a plain decimal would be a DECIMAL); the sign is a
        # separate node because Literal.number re-formats a negative number and loses the exponent
        lit = exp.Literal(this=double_text(abs(v)), is_string=False)
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
              memo: dict[int, str] | None = None, dialect: str = DIALECT) -> exp.Expression:
    """A flattened IR expression as a sqlglot expression tree (same semantics as the Polars lowering).

    ``table`` qualifies column references; ``memo`` caches node dtypes (by node identity) across calls.
    ``dialect``: the few constructs whose functions differ (``"duckdb"`` or ``"spark"``) are built for it:
    truncation of a double (DuckDB's ``TRUNC``; Spark's is a date function, its cast truncates) and
    ``FLOOR``/``CEIL`` (a BIGINT in Spark, cast back to DOUBLE).
    """
    if dialect not in ("duckdb", "spark"):
        raise UnsupportedConstructError(f"sql: no lowering for dialect {dialect!r}")
    types: dict[int, str] = memo if memo is not None else {}

    def t(x: Expr) -> str:
        k = id(x)
        if k not in types:  # the memo passed down: each node of a tree typed once, not again under each ancestor
            types[k] = dtype_of(x, coltypes, types)
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
                r = x.right
                if (isinstance(r, Lit) and r.dtype in ("int", "float") and r.value is not None
                        and float(r.value) != 0.0):  # a divisor known not zero: no guard (the same double)
                    return exp.Paren(this=exp.Div(this=_cast(a, "float"),
                                                  expression=sql_literal(float(r.value), "float")))
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
                if dialect == "spark":  # Spark's cast truncates towards zero (its TRUNC is for dates)
                    return _cast(inner, "int")
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
            fc = exp.Floor(this=f) if x.name == "floor" else exp.Ceil(this=f)
            return _cast(fc, "float") if dialect == "spark" else fc
        if x.name == "round":
            f = _cast(num(a0), "float")

            def scale() -> exp.Expression:
                return sql_literal(float(10 ** x.digits), "float")

            sign = exp.Case().when(exp.LT(this=f, expression=sql_literal(0.0, "float")),
                                   sql_literal(-1.0, "float"), copy=False) \
                .else_(sql_literal(1.0, "float"), copy=False)
            scaled = exp.Add(this=exp.Add(this=exp.Mul(this=exp.Abs(this=f.copy()), expression=scale()),
                                          expression=sql_literal(0.5, "float")),
                             expression=sql_literal(ROUND_TOLERANCE, "float"))
            fl: exp.Expression = exp.Floor(this=exp.Paren(this=scaled))
            if dialect == "spark":
                fl = _cast(fl, "float")
            return exp.Paren(this=exp.Mul(this=sign, expression=exp.Div(this=fl, expression=scale())))
        if x.name in ("year", "month", "day"):
            cls3 = {"year": exp.Year, "month": exp.Month, "day": exp.Day}[x.name]
            return _cast(cls3(this=go(a0)), "int")
        raise UnsupportedConstructError(f"{BACKEND}: no lowering for function {x.name} (node Func)")

    return go(e)


def _agg_sql(s: Step, unit: str, dialect: str = DIALECT) -> exp.Expression:
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
        assert v is not None and s.value_col is not None
        val = _cast(v, s.dtype) if kind == "sum" else v
        if kind == "sum" and s.fixed:  # a float value summed as integers (plan.SUM_SCALE); the HUGEINT (DuckDB) or
            # long (Spark, ANSI) total cast to BIGINT below: beyond 64 bits an error, never a wrapped sum
            val = lower_sql(fixed_point(Col("individu", s.value_col)), {s.value_col: "float"}, dialect=dialect)
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


def stages(plan: Plan) -> dict[str, int]:
    """Stage of each computed step: a new stage starts only where the plan fans out (an aggregate reads
    individu columns, a projection reads another entity's columns), so everything an aggregate or a
    projection reads is materialised in an earlier stage; formulas join the stage of their latest input."""
    out: dict[str, int] = {}
    for s in plan.steps.values():
        if s.kind == "input":
            out[s.name] = 0
            continue
        m = max((out[d] for d in s.deps), default=0)
        out[s.name] = m + 1 if s.kind in ("agg", "project") else max(m, 1)
    return out


class _Runner:
    """Runs a plan stage by stage (see :func:`stages`) on DuckDB.

    Physical design: each entity has a *base* table (its id, structural columns and prepared inputs, sorted by
    id). Each stage's statement returns a *narrow* result holding only the id and the columns that stage
    computed and something reads later (a later stage, the results); on DuckDB (``aligned``) it is sorted by
    id and set beside the entity's frame (see :meth:`_materialise`), so every stored column of an entity is in
    one registered frame and a statement reads what it needs by one scan. (Spark keeps one table per stage,
    gathered by a join on the id.) Aggregates and projections are joined in, then the formulas are computed in
    nested ``SELECT *, <formulas> FROM (...)`` (one nesting per dependency depth inside the stage, never
    materialised). So no wide table is rewritten at each level: every computed column is written once, and
    individu formulas read only by the aggregates of one later statement are not written at all
    (:meth:`_sink`)."""

    dialect = DIALECT
    backend = BACKEND
    aligned = True
    """Each entity's stored columns are kept in one frame aligned row by row with its base (see
    :meth:`_materialise`): a statement reads them by one scan, never by joins on the id. Spark's runner keeps
    one table per stage, gathered by joins."""

    def __init__(self, plan: Plan, frames: dict[str, pl.DataFrame], config: dict[str, Any] | None) -> None:
        self.plan = plan
        if self.aligned:  # sorted by id: each stage's rows, sorted the same way, align with them
            frames = {e: df.sort(ID[e], nulls_last=True).rechunk() for e, df in frames.items()}
        self.frames = frames
        self.where: dict[tuple[str, str], str] = {}  # (entity, column) -> table holding it
        self.parts: dict[str, list[tuple[str, list[str]]]] = {e: [] for e in frames}
        self.base = {e: f"in_{e}" for e in frames}
        self.stage_frames: dict[str, pl.DataFrame] = {}
        self.wide = dict(frames)  # aligned: the entity's base and every column stored so far, in one frame
        self._connect(config)
        for entity, df in frames.items():
            self._load(self.base[entity], df)
            for c in df.columns:
                self.where[(entity, c)] = self.base[entity]
        self.stage = stages(plan)
        readers: dict[str, int] = {}
        for s in plan.steps.values():
            for d in s.deps:
                readers[d] = max(readers.get(d, 0), self.stage[s.name])
        self.stored = {s.name for s in plan.steps.values() if s.kind != "input"
                       and (s.public or readers.get(s.name, 0) > self.stage[s.name])}
        self.coltypes = {s.name: s.dtype for s in plan.steps.values()}
        self.public = {s.name for s in plan.steps.values() if s.public}
        self._sink()

    def _connect(self, config: dict[str, Any] | None) -> None:
        # small inputs (situations) run faster on one thread: statements are dominated by planning
        small = self.frames["individu"].height < SMALL_ROWS
        # results are re-ordered by id when fetched: insertion order need not be kept (a large saving)
        cfg: dict[str, Any] = {"threads": 1 if small else (os.cpu_count() or 1),
                               "preserve_insertion_order": "false"}
        cfg.update(config or {})
        cfg.setdefault("temp_directory", tempfile.gettempdir())
        self.con = duckdb.connect(database=":memory:", config={k: str(v) for k, v in cfg.items()})

    def _load(self, name: str, df: pl.DataFrame) -> None:
        # registered, not copied: DuckDB scans the frame's Arrow buffers through the Arrow C stream interface
        # (no pyarrow needed) with projection pushdown, at each statement that reads it. Measured at 400k
        # individus: copying the 197 input columns into a table cost 2.1 s, scans of the frame cost
        # milliseconds. Internal name, no data in SQL.
        self.con.register(name, _ArrowFrame(df))

    def _materialise(self, name: str, q: exp.Select, what: str) -> None:
        """Keep the result of ``q``: its rows sorted by id, its columns set beside the entity's frame, the whole
        registered in DuckDB as ``name`` (see :meth:`_load`). Measured at 200k individus on the project's rules:
        Polars frames cost 22% less CPU than DuckDB tables (``CREATE TABLE AS`` writes row groups with
        statistics; exporting the public columns at the end then cost another copy); one aligned frame instead of
        one frame per stage gathered by joins on the id: at 1 million individus 68.1 -> 49.1 CPU s for the whole
        evaluation (``benchmarks/results/duckdb_speed_2026-11-30.json``, with the shorter SQL text), results
        identical. DuckDB's ``memory_limit`` bounds its working memory (joins, aggregates, spilled to
        ``temp_directory``); the stored columns live with the inputs and the results, in Polars."""
        df = self._fetch(q, what)
        entity = self.materialising
        idc = ID[entity]
        # the stage's rows sorted by id, as the entity's frame is (ids unique, every unit kept): its columns join
        # the entity's frame side by side, so later statements read them by a scan of one frame, not by a hash
        # join on the id per stage table (at 1 million individus those joins cost more than the sort)
        df = df.sort(idc, nulls_last=True)
        wide = self.wide[entity]
        if df.height != wide.height or not df.get_column(idc).equals(wide.get_column(idc)):
            raise EngineError(f"{BACKEND}: {what} does not give one row per unit")
        self.wide[entity] = wide = pl.concat([wide, df.drop(idc)], how="horizontal")
        self.stage_frames[name] = wide
        self.con.register(name, _ArrowFrame(wide))

    def _fetch(self, q: exp.Select, what: str) -> pl.DataFrame:
        """The rows of ``q`` as a Polars frame through the Arrow C stream interface (no pyarrow needed).
        Measured at 400k rows × 192 columns: 1.4 s, against 6.1 s through a Parquet file. ``q`` is built for
        this statement alone and dropped after it: rendered in place (``copy=False``), sqlglot's default deep
        copy of the tree first was a sixth of a small evaluation's time."""
        try:
            return run_once(self.con, q.sql(dialect=self.dialect, copy=False))
        except duckdb.Error as exc:  # the message quotes SQL and, since the fixed-point sums, a value out of
            # range (a cast of a member's amount): not chained, as on Polars
            raise EngineError(f"{BACKEND}: {what} failed: {type(exc).__name__}") from None

    def _result(self, name: str, cols: list[str], what: str) -> pl.DataFrame:
        """The columns ``cols`` (the id first) of the stage table ``name``."""
        return self.stage_frames[name].select(cols)

    def _close(self) -> None:
        self.con.close()

    def _gather(self, entity: str, cols: list[str]) -> exp.Select:
        """``SELECT id, cols`` of ``entity``: the base table joined by id to the narrow tables holding cols."""
        idc = ID[entity]
        cols = [c for c in dict.fromkeys(cols) if c != idc]
        if self.aligned:  # every stored column is in the entity's latest frame
            latest = self.where.get((entity, idc), self.base[entity])
            return exp.select(_col(idc, "b"), *[_col(c, "b") for c in cols], copy=False) \
                .from_(exp.Table(this=_ident(latest), alias=exp.TableAlias(this=_ident("b"))), copy=False)
        aliases: dict[str, str] = {self.base[entity]: "b"}
        for c in cols:
            t = self.where[(entity, c)]
            aliases.setdefault(t, f"j{len(aliases)}")
        q = exp.select(_col(idc, "b"), *[_col(c, aliases[self.where[(entity, c)]]) for c in cols],
                       copy=False).from_(exp.Table(this=_ident(self.base[entity]),
                                                   alias=exp.TableAlias(this=_ident("b"))), copy=False)
        for t, alias in aliases.items():
            if alias == "b":
                continue
            q = q.join(exp.Table(this=_ident(t), alias=exp.TableAlias(this=_ident(alias))),
                       on=exp.EQ(this=_col(idc, "b"), expression=_col(idc, alias)), join_type="left", copy=False)
        return q

    def _nest(self, q: exp.Select, ss: list[Step], inside: set[str]) -> exp.Select:
        """``q`` wrapped in one ``SELECT *, <formulas>`` per dependency depth of the formulas of ``ss``."""
        depth: dict[str, int] = {}
        for s in ss:
            if s.kind == "formula":
                depth[s.name] = 1 + max((depth.get(d, 0) for d in s.deps if d in inside), default=0)
        memo: dict[int, str] = {}
        for d in range(1, max(depth.values(), default=0) + 1):
            cols: list[exp.Expression] = [exp.Star()]
            for s in ss:
                if depth.get(s.name) != d or s.expr is None:
                    continue
                try:
                    # unqualified: the nested select reads one subquery, so every name is its column (the
                    # qualifier was a sixth of the largest statements' text)
                    sql = lower_sql(s.expr, self.coltypes, memo=memo, dialect=self.dialect)
                except UnsupportedConstructError as exc:
                    raise UnsupportedConstructError(f"rule {s.rule or s.variable or s.name}: {exc}") from None
                cols.append(exp.alias_(_as(sql, dtype_of(s.expr, self.coltypes, memo), s.dtype), s.name, quoted=True,
                                       copy=False))
            q = exp.select(*cols, copy=False).from_(exp.Subquery(this=q, alias=exp.TableAlias(this=_ident("l"))),
                                                    copy=False)
        return q

    def _closure(self, cols: list[str]) -> list[Step]:
        """The individu formulas (in plan order) to recompute for ``cols``: those not stored anywhere."""
        need: set[str] = set()
        stack = [c for c in cols if ("individu", c) not in self.where]
        while stack:
            c = stack.pop()
            if c not in need:
                need.add(c)
                stack += [d for d in self.plan.steps[c].deps if ("individu", d) not in self.where]
        return [s for s in self.plan.steps.values() if s.name in need]

    def _agg_source(self, need: list[str]) -> exp.Select:
        """The individu rows the aggregates read: gathered columns, plus the *sunk* formulas (read only by
        these aggregates, never written: computed here from what is stored, see :meth:`_sink`)."""
        comp = self._closure(need)
        if not comp:
            return self._gather("individu", need)
        names = {s.name for s in comp}
        leaves = [c for c in need if c not in names]
        leaves += [d for s in comp for d in s.deps if d not in names]
        return self._nest(self._gather("individu", leaves), comp, names)

    def _sink(self) -> None:
        """Individu formulas read only by the aggregates of one later statement are not written: that
        statement computes them (and their unwritten inputs) in its aggregate source. Measured: writing a
        stage's 300 columns costs about 4 times computing them; 131 of them are such formulas."""
        readers: dict[str, list[Step]] = {}
        for s in self.plan.steps.values():
            for d in s.deps:
                readers.setdefault(d, []).append(s)
        self.sunk: set[str] = set()
        for s in self.plan.steps.values():
            rs = readers.get(s.name, [])
            if (s.kind == "formula" and s.entity == "individu" and not s.public and rs
                    and all(r.kind == "agg" for r in rs)
                    and len({(self.stage[r.name], r.entity) for r in rs}) == 1):
                self.sunk.add(s.name)
        self.stored -= self.sunk
        # a sunk formula is computed only where it is read (never in its own stage): what it reads is stored
        # or an individu formula recomputed with it; an aggregate or a projection it reads is stored
        seen: set[str] = set()
        stack = list(self.sunk)
        while stack:
            for d in self.plan.steps[stack.pop()].deps:
                step = self.plan.steps[d]
                if d in seen or step.kind == "input" or d in self.stored:
                    continue
                seen.add(d)
                if step.kind == "formula" and step.entity == "individu":
                    stack.append(d)
                else:
                    self.stored.add(d)

    def _stage(self, entity: str, ss: list[Step], k: int) -> None:
        """One statement computing the steps ``ss`` of ``entity`` in stage ``k`` (see the class doc)."""
        idc = ID[entity]
        inside = {s.name for s in ss}
        outside: list[str] = []
        for s in ss:
            if s.kind == "formula":
                outside += [d for d in s.deps if d not in inside]
        aggs = [s for s in ss if s.kind == "agg"]
        projs = [s for s in ss if s.kind == "project"]
        sources = sorted({s.source for s in projs if s.source})
        keys = {src: (ID[src] if entity == "individu" else f"__{ID[src]}") for src in sources}
        outside += list(keys.values())
        g = self._gather(entity, outside)
        gcols = [idc, *[c for c in dict.fromkeys(outside) if c != idc]]
        select: list[exp.Expression] = [_col(c, "g") for c in gcols]
        q_joins: list[tuple[exp.Expression, exp.Expression]] = []
        if aggs:
            need = [ID[entity], ROLE_COL[entity], "person_id"]
            need += [c for s in aggs for c in (s.value_col, s.where_col) if c]
            src = exp.Subquery(this=self._agg_source(need), alias=exp.TableAlias(this=_ident("src")))
            sub = exp.select(_col(idc), *[exp.alias_(_agg_sql(s, entity, self.dialect), s.name, quoted=True, copy=False)
                                          for s in aggs], copy=False) \
                .from_(src, copy=False).group_by(_col(idc), copy=False)
            q_joins.append((exp.Subquery(this=sub, alias=exp.TableAlias(this=_ident("a"))),
                            exp.EQ(this=_col(idc, "g"), expression=_col(idc, "a"))))
            select += [exp.alias_(exp.Coalesce(this=_col(s.name, "a"),
                                               expressions=[sql_literal(s.default, s.dtype)]),
                                  s.name, quoted=True, copy=False) for s in aggs]
        for n, source in enumerate(sources):
            alias = f"r{n}"
            mine = [s for s in projs if s.source == source]
            right = self._gather(source, [s.value_col for s in mine if s.value_col])
            q_joins.append((exp.Subquery(this=right, alias=exp.TableAlias(this=_ident(alias))),
                            exp.EQ(this=_col(keys[source], "g"), expression=_col(ID[source], alias))))
            select += [exp.alias_(exp.Coalesce(this=_col(s.value_col, alias),
                                               expressions=[sql_literal(s.default, s.dtype)]),
                                  s.name, quoted=True, copy=False) for s in mine]
        q = exp.select(*select, copy=False).from_(exp.Subquery(this=g, alias=exp.TableAlias(this=_ident("g"))),
                                                  copy=False)
        for table, on in q_joins:
            q = q.join(table, on=on, join_type="left", copy=False)
        q = self._nest(q, ss, inside)
        keep = [s.name for s in ss if s.name in self.stored]
        if not keep:
            return
        q = exp.select(_col(idc), *[_col(c) for c in keep], copy=False) \
            .from_(exp.Subquery(this=q, alias=exp.TableAlias(this=_ident("l"))), copy=False)
        name = f"s{k}_{entity}"
        self.materialising = entity
        self._materialise(name, q, f"stage {k} on {entity}")
        for c in keep:
            self.where[(entity, c)] = name
        if self.aligned:
            self.where[(entity, idc)] = name
        self.parts[entity].append((name, [c for c in keep if c in self.public]))

    def run(self) -> dict[str, pl.DataFrame]:
        by_stage: dict[tuple[int, str], list[Step]] = {}
        for s in self.plan.steps.values():
            if s.kind != "input" and s.name not in self.sunk:
                by_stage.setdefault((self.stage[s.name], s.entity), []).append(s)
        for (k, entity), ss in sorted(by_stage.items(), key=lambda kv: (kv[0][0], ENTITY_ORDER[kv[0][1]])):
            self._stage(entity, ss, k)
        out: dict[str, pl.DataFrame] = {}
        if self.aligned:  # the base's columns then each stage's public ones, as the parts below would give
            for entity, base in self.frames.items():
                public = [c for _, cols in self.parts[entity] for c in cols]
                out[entity] = self.wide[entity].select(*base.columns, *public) if public else base
            self._close()
            return out
        for entity, base in self.frames.items():
            idc = ID[entity]
            parts = [base]
            for name, cols in self.parts[entity]:
                if cols:
                    part = self._result(name, [idc, *cols], f"export of {entity}")
                    parts.append(part.sort(idc, nulls_last=True).drop(idc))
            # ids are unique and every table keeps every unit: sorted by id, the parts align row by row
            if len(parts) > 1:
                base = base.sort(idc, nulls_last=True)
            out[entity] = pl.concat(parts, how="horizontal") if len(parts) > 1 else base
        self._close()
        return out


ENTITY_ORDER = {"individu": 0, "famille": 1, "foyer_fiscal": 2, "menage": 3}


def run_duckdb(plan: Plan, frames: dict[str, pl.DataFrame],
               config: dict[str, Any] | None = None) -> dict[str, pl.DataFrame]:
    """Compute every step of ``plan`` on DuckDB. ``config``: DuckDB settings (``memory_limit``,
    ``threads``, ``temp_directory``: spilling goes to the system temp dir unless given)."""
    return _Runner(plan, frames, config).run()
