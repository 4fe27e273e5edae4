"""Lowering of a plan to SQL text, run on DuckDB (and, written for ``dialect="spark"``, on Spark).

The text is written directly from the plan's IR (see :func:`lower_sql`), never parsed back; identifiers and
string literals are quoted and escaped by sqlglot. Data never enters SQL text: input frames are registered as
DuckDB relations under internal table names; only column names of rules, role codes, parameter values and
dates appear as literals. Unsupported constructs raise :class:`UnsupportedConstructError` naming the backend
and the node.

The plan runs in *stages* (a new stage only where it fans out: aggregates, projections), one statement per
stage and entity, each giving a narrow result (id + the columns it computed that something reads later), set
beside the entity's frame in id order; see :class:`_Runner`. Tables move between Polars and DuckDB through the
Arrow C stream interface: inputs and stored columns are Polars frames registered in DuckDB (scanned in place,
never copied into DuckDB).
"""

from __future__ import annotations

import functools
import logging
import os
import tempfile
from decimal import Decimal
from typing import Any

import duckdb
import polars as pl
from sqlglot import exp

from nonrecours.engine import polars_backend as _pb
from nonrecours.engine.folding import UNKNOWN as _UNKNOWN
from nonrecours.engine.folding import common_subtrees
from nonrecours.engine.folding import const_folder as _const_folder
from nonrecours.engine.folding import converted as _converted
from nonrecours.engine.plan import ID, ROLE_COL, Plan, Step, dtype_of, fixed_point
from nonrecours.errors import EngineError, UnsupportedConstructError
from nonrecours.rules.ir import (
    ROUND_TOLERANCE,
    BinOp,
    BoolOp,
    Cast,
    Col,
    Compare,
    Expr,
    Func,
    IsIn,
    Lit,
    Not,
    Where,
    children,
)

__all__ = ["lower_sql", "run_duckdb"]

BACKEND = "duckdb"
log = logging.getLogger(__name__)
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
    relation runs when read; DuckDB 2's Python client) is used where it answers a probe as expected (it is
    private: a client whose call changed falls back to the relation instead of failing); elsewhere the relation
    is read."""
    if not _single_pass(con):
        return pl.DataFrame(con.sql(text))
    return pl.DataFrame(_Stream(con._submit(text, None, "stream")))  # type: ignore[attr-defined]


_SINGLE_PASS: dict[type, bool] = {}
"""Per client class: whether its private single-pass call answered the probe (probed once per process)."""


def _single_pass(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether ``con._submit`` runs a statement and streams its rows as ``run_once`` reads them. Probed once per
    client class on a constant query: only the probe's failure is caught, never a real statement's."""
    kind = type(con)
    if kind not in _SINGLE_PASS:
        probe = "SELECT 1::BIGINT AS x, 'a' AS y"
        try:
            got = pl.DataFrame(_Stream(con._submit(probe, None, "stream")))  # type: ignore[attr-defined]
            ok = got.rows() == [(1, "a")] and got.columns == ["x", "y"]
        except Exception as e:  # a changed private call, whatever it raises, means "do not use it"
            logging.getLogger(__name__).warning("duckdb: the client's single-pass call is unusable (%s); statements "
                                                "are read through con.sql", type(e).__name__)
            ok = False
        _SINGLE_PASS[kind] = ok
    return _SINGLE_PASS[kind]


_TYPES = {"duckdb": {**SQL_TYPES, "str": "TEXT"}, "spark": {**SQL_TYPES, "str": "STRING"}}
"""SQL type of each dtype as written in each dialect (DuckDB's ``TEXT`` is its ``VARCHAR``)."""


@functools.lru_cache(maxsize=65536)
def _quoted(name: str, dialect: str) -> str:
    """An identifier quoted for ``dialect``: quoting and escaping are sqlglot's (one rendering per name)."""
    return exp.to_identifier(name, quoted=True).sql(dialect=dialect)


@functools.lru_cache(maxsize=4096)
def _string(value: str, dialect: str) -> str:
    """A string literal for ``dialect``, escaped by sqlglot (role codes and the rules' text constants only)."""
    return exp.Literal.string(value).sql(dialect=dialect)


def _col(name: str, table: str | None = None, dialect: str = DIALECT) -> str:
    return f"{_quoted(table, dialect)}.{_quoted(name, dialect)}" if table else _quoted(name, dialect)


def _cast(e: str, dtype: str, dialect: str = DIALECT) -> str:
    return f"CAST({e} AS {_TYPES[dialect][dtype]})"


def _neg(e: str) -> str:
    return f"(- {e})" if e.startswith("-") else f"(-{e})"  # "--" would open a comment


def double_text(v: float) -> str:
    """A finite non-negative double in scientific notation with the fewest digits that read back as the same double
    (Python's shortest round-trip ``repr``): ``646.52`` is ``6.4652e+2``, not the 17 digits
    ``6.46519999999999982e+02`` written until 2026-11-30. Both are read as the same DOUBLE (parsers round
    correctly); the shorter text is less to build, render, tokenise, parse and bind in every statement (about
    6,000 literals in the largest one on the project's rules)."""
    return format(Decimal(repr(v)).normalize(), "e")


def sql_literal(value: Any, dtype: str, dialect: str = DIALECT) -> str:
    """A typed literal; floats in scientific notation (:func:`double_text`) so DuckDB reads the exact same double."""
    if value is None:
        return _cast("NULL", dtype, dialect)
    if dtype == "float":
        v = float(value)
        if v != v or v in (float("inf"), float("-inf")):
            raise UnsupportedConstructError(f"{BACKEND}: non-finite literal (node Lit)")
        # scientific notation: read as DOUBLE by DuckDB (a plain decimal would be a DECIMAL)
        text = double_text(abs(v))  # -0.0 written as 0e+0
        return _neg(text) if v < 0 else text
    if dtype == "int":
        return _cast(str(int(value)), "int", dialect)
    if dtype == "bool":
        return "TRUE" if value else "FALSE"
    if dtype == "str":
        return _string(str(value), dialect)
    if dtype == "date":
        return _cast(_string(value.isoformat(), dialect), "date", dialect)
    raise UnsupportedConstructError(f"{BACKEND}: literal of dtype {dtype} (node Lit)")


_COMPARE = {"eq": "=", "ne": "<>", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
_ARITH = {"add": "+", "sub": "-", "mul": "*"}


def lower_sql(e: Expr, coltypes: dict[str, str], table: str | None = None,
              memo: dict[int, str] | None = None, dialect: str = DIALECT,
              shared: dict[int, str] | None = None) -> str:
    """A flattened IR expression as SQL text for ``dialect`` (same semantics as the Polars lowering).

    Written directly as text: the sqlglot trees built and rendered until 2026-11-30 were only ever printed,
    and cost about 1.8 of the 5.3 CPU s of an evaluation of the project's rules on 2,000 individus. The text
    is the one sqlglot rendered from those trees (``tests/engine/test_engine_sql.py`` holds sqlglot's renderings
    as snapshots) but for what changes no value: constants folded (``folding.const_folder``; the sub-trees not read are
    still lowered, so an unsupported construct there raises), a chain of ``where`` one ``CASE`` (the inner ``where``),
    integer literals beside a number column without their ``CAST``; identifiers and string literals are still
    quoted by sqlglot.
    ``table`` qualifies column references; ``memo`` caches node dtypes (by node identity) across calls.
    ``dialect``: the few constructs whose functions differ (``"duckdb"`` or ``"spark"``) are written for it:
    truncation of a double (DuckDB's ``TRUNC``; Spark's is a date function, its cast truncates) and
    ``FLOOR``/``CEIL`` (a BIGINT in Spark, cast back to DOUBLE). ``shared``: sub-trees (by node identity) already
    computed as columns (:func:`common_subtrees`), written as a reference to that column (``e`` itself excepted).
    """
    if dialect not in ("duckdb", "spark"):
        raise UnsupportedConstructError(f"sql: no lowering for dialect {dialect!r}")
    types: dict[int, str] = memo if memo is not None else {}
    spark = dialect == "spark"
    subst = shared or {}

    def t(x: Expr) -> str:
        k = id(x)
        if k not in types:  # the memo passed down: each node of a tree typed once, not again under each ancestor
            types[k] = dtype_of(x, coltypes, types)
        return types[k]

    def lit(v: Any, dtype: str) -> str:
        return sql_literal(v, dtype, dialect)

    def cast(x: str, dtype: str) -> str:
        return _cast(x, dtype, dialect)

    def as_(x: str, have: str, want: str) -> str:
        return x if have == want else cast(x, want)

    const = _const_folder(t)

    def arm(x: Expr, want: str) -> str:
        """``x`` as a value of dtype ``want`` (a branch of a CASE, an argument of GREATEST...)."""
        v = const(x)
        if v is not _UNKNOWN:
            v = _converted(v, t(x), want)
            if v is not _UNKNOWN:
                return lit(v, want)
        return as_(go(x), t(x), want)

    def bare(x: Expr, other: Expr) -> str | None:
        """A non-negative integer constant ``x`` written without its CAST, when ``other`` (the other operand of
        an arithmetic or a comparison) is not constant and a number: DuckDB (and Spark) then give the plain
        literal the other operand's type, BIGINT or DOUBLE, as they did the BIGINT cast (the same values; an
        overflow of BIGINT stays an error). None where the cast stays."""
        v = const(x)
        if (v is _UNKNOWN or t(x) != "int" or isinstance(v, bool) or not 0 <= v < 2**31 or const(other) is not _UNKNOWN
                or t(other) not in ("int", "float", "bool")):
            return None
        return str(v)

    def num(x: Expr, other: Expr | None = None) -> str:
        if other is not None:
            b = bare(x, other)
            if b is not None:
                return b
        return arm(x, "int") if t(x) == "bool" else go(x)

    def go(x: Expr) -> str:
        if isinstance(x, Col):
            return _col(x.name, table, dialect)
        if subst and x is not e and id(x) in subst:
            return _col(subst[id(x)], table, dialect)
        if isinstance(x, Lit):
            return lit(x.value, x.dtype)
        v = const(x)
        if v is not _UNKNOWN:  # folded; a part not read (``FALSE AND e``) is still lowered: unsupported, it raises
            for c in children(x):
                if const(c) is _UNKNOWN:
                    go(c)
            return lit(v, t(x))
        if isinstance(x, BinOp):
            if x.op in _ARITH:
                return f"({num(x.left, x.right)} {_ARITH[x.op]} {num(x.right, x.left)})"
            if x.op == "div":
                a, r = num(x.left), x.right
                if (isinstance(r, Lit) and r.dtype in ("int", "float") and r.value is not None
                        and float(r.value) != 0.0):  # a divisor known not zero: no guard (the same double)
                    return f"({cast(a, 'float')} / {lit(float(r.value), 'float')})"
                b = num(r)
                zero = "0" if const(r) is _UNKNOWN else lit(0, "int")  # a plain 0 takes b's type (see bare)
                return (f"CASE WHEN {b} = {zero} THEN {lit(0.0, 'float')} "
                        f"ELSE {cast(a, 'float')} / {cast(b, 'float')} END")
        if isinstance(x, Compare):
            ta, tb = t(x.left), t(x.right)
            if "bool" in (ta, tb) and ta != tb:  # both sides as integers, as on Polars (a double truncated, as
                # Cast truncates: DuckDB's CAST alone rounds, which gave -0.5 = FALSE where Polars gives TRUE)
                a, b = (bare(y, z) or as_(go(y) if t(y) != "float" or spark else f"TRUNC({go(y)})", t(y), "int")
                        for y, z in ((x.left, x.right), (x.right, x.left)))
            else:
                a = bare(x.left, x.right) or go(x.left)
                b = bare(x.right, x.left) or go(x.right)
            return f"({a} {_COMPARE[x.op]} {b})"
        if isinstance(x, BoolOp):
            left, right = const(x.left), const(x.right)
            neutral = x.op == "and"  # TRUE AND e, FALSE OR e: e (also a NULL e); FALSE AND e, TRUE OR e: the constant
            for c, other in ((left, x.right), (right, x.left)):
                if c is neutral:
                    return go(other)
            return f"({go(x.left)} {'AND' if x.op == 'and' else 'OR'} {go(x.right)})"
        if isinstance(x, Not):  # parenthesised: NOT binds less tightly than a comparison (NOT a <= b)
            return f"(NOT ({go(x.operand)}))"
        if isinstance(x, Where):
            return where(x)
        if isinstance(x, Func):
            return func(x)
        if isinstance(x, IsIn):
            ot = t(x.operand)
            values = (str(v) if ot == "int" and not isinstance(v, bool) and isinstance(v, int) and 0 <= v < 2**31
                      and const(x.operand) is _UNKNOWN else lit(v, ot) for v in x.values)
            return f"({go(x.operand)} IN ({', '.join(values)}))"
        if isinstance(x, Cast):
            src = t(x.operand)
            if src in ("str", "date"):
                raise UnsupportedConstructError(f"{BACKEND}: cast from {src} (node Cast)")
            inner = go(x.operand)
            if x.dtype == "bool" and src != "bool":
                return f"({inner} <> {lit(0, 'int')})"
            if x.dtype == "int" and src == "float":  # CAST(DOUBLE AS BIGINT) rounds in DuckDB: truncate
                # Spark's cast truncates towards zero (its TRUNC is for dates)
                return cast(inner if spark else f"TRUNC({inner})", "int")
            return as_(inner, src, x.dtype)
        raise UnsupportedConstructError(f"{BACKEND}: no lowering for node {type(x).__name__}")

    def where(x: Where) -> str:
        """One CASE for a chain of ``where`` nested in their ``otherwise`` (of the same dtype): branches under a
        constant condition taken or dropped, trailing branches giving the ``ELSE`` value dropped, a CASE whose
        every branch is the ``ELSE`` value written as that value. Dropped branches are still lowered (an
        unsupported construct there raises as before)."""
        out = t(x)
        arms: list[tuple[str, str]] = []
        cur: Expr = x
        while isinstance(cur, Where) and t(cur) == out and (cur is e or id(cur) not in subst):
            c = const(cur.cond)
            if c is True or c is False:
                go(cur.otherwise if c else cur.then)  # not written, but lowerable
                cur = cur.then if c else cur.otherwise
                continue
            arms.append((go(cur.cond), arm(cur.then, out)))
            cur = cur.otherwise
        otherwise = arm(cur, out)
        while arms and arms[-1][1] == otherwise:
            arms.pop()
        if not arms:
            return otherwise
        return f"CASE {' '.join(f'WHEN {c} THEN {v}' for c, v in arms)} ELSE {otherwise} END"

    def func(x: Func) -> str:
        out = t(x)
        if x.name in ("minimum", "maximum"):
            a, b = (arm(y, out) if const(y) is not _UNKNOWN else as_(num(y), "int" if t(y) == "bool" else t(y), out)
                    for y in x.args)
            # values are never null here: plain GREATEST/LEAST (no null-propagation wrapper)
            return f"{'LEAST' if x.name == 'minimum' else 'GREATEST'}({a}, {b})"
        a0 = x.args[0]
        if x.name == "abs":
            return f"ABS({num(a0)})"
        if x.name == "neg":
            return _neg(num(a0))
        if x.name in ("floor", "ceil"):
            fc = f"{x.name.upper()}({cast(num(a0), 'float')})"
            return cast(fc, "float") if spark else fc
        if x.name == "round":
            f = cast(num(a0), "float")
            scale = lit(float(10 ** x.digits), "float")
            sign = f"CASE WHEN {f} < {lit(0.0, 'float')} THEN {lit(-1.0, 'float')} ELSE {lit(1.0, 'float')} END"
            fl = f"FLOOR((ABS({f}) * {scale} + {lit(0.5, 'float')} + {lit(ROUND_TOLERANCE, 'float')}))"
            return f"({sign} * {cast(fl, 'float') if spark else fl} / {scale})"
        if x.name in ("year", "month", "day"):
            return cast(f"{x.name.upper()}({go(a0)})", "int")
        raise UnsupportedConstructError(f"{BACKEND}: no lowering for function {x.name} (node Func)")

    return go(e)


def _agg_sql(s: Step, unit: str, dialect: str = DIALECT) -> str:
    conds: list[str] = []
    if s.roles is not None:
        roles = ", ".join(_string(r, dialect) for r in s.roles)
        conds.append(f"{_col(ROLE_COL[unit], dialect=dialect)} IN ({roles})")
    if s.where_col is not None:
        conds.append(_col(s.where_col, dialect=dialect))
    mask = " AND ".join(conds) if conds else None
    v = _col(s.value_col, dialect=dialect) if s.value_col else None
    kind = s.agg_kind

    def masked(e: str) -> str:
        return e if mask is None else f"CASE WHEN {mask} THEN {e} END"

    if kind == "count":
        e = f"COUNT_IF({mask})" if mask is not None else "COUNT(*)"
    elif kind in ("any", "all"):
        assert v is not None
        name = "BOOL_OR" if kind == "any" else "BOOL_AND"
        e = f"{name}({masked(v)})" if dialect == "spark" else f"{name}({_cast(masked(v), 'bool', dialect)})"
    elif kind in ("sum", "max", "min"):
        assert v is not None and s.value_col is not None
        val = _cast(v, s.dtype, dialect) if kind == "sum" else v
        if kind == "sum" and s.fixed:  # a float value summed as integers (plan.SUM_SCALE); the HUGEINT (DuckDB) or
            # long (Spark, ANSI) total cast to BIGINT below: beyond 64 bits an error, never a wrapped sum
            val = lower_sql(fixed_point(Col("individu", s.value_col)), {s.value_col: "float"}, dialect=dialect)
        e = f"{kind.upper()}({masked(val)})"
    elif kind == "value_of":
        assert v is not None
        e = f"{'MIN_BY' if dialect == 'spark' else 'ARG_MIN'}({v}, {_col('person_id', dialect=dialect)})"
        if mask is not None:
            e = f"{e} FILTER(WHERE {mask})"
    else:
        raise UnsupportedConstructError(f"{BACKEND}: no lowering for aggregate {kind} (node Agg)")
    return _cast(e, s.dtype, dialect)


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
    (:meth:`_sink`). A step whose value a stored column holds, known from comparing the stored columns as they
    arrive, is not computed again (:meth:`_given`)."""

    dialect = DIALECT
    backend = BACKEND
    aligned = True
    """Each entity's stored columns are kept in one frame aligned row by row with its base (see
    :meth:`_materialise`): a statement reads them by one scan, never by joins on the id. Spark's runner keeps
    one table per stage, gathered by joins."""

    ncommon = 0
    """Shared sub-trees written as columns so far (``__c<n>``, see :meth:`_nest`)."""

    def __init__(self, plan: Plan, frames: dict[str, pl.DataFrame], config: dict[str, Any] | None,
                 values: _pb._Values | None = None) -> None:
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
        # what ``shared_plan`` learnt of the inputs; the stored columns are Polars frames here, compared as they
        # arrive (Spark's are not: it shares what the inputs make equal only)
        self.values = values if self.aligned else None
        self.ngiven = 0  # steps given a column stored before their statement (:meth:`_given`)
        self.copied: set[str] = set()  # steps written as a copy of a column their own statement computes
        self.aliases: list[tuple[str, str]] = []  # (step, column) set beside the frame after this statement

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

    def _materialise(self, name: str, q: str, what: str) -> None:
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
        wide = self.wide[entity]
        df = in_id_order(df, idc, wide.get_column(idc))
        if df.height != wide.height or not df.get_column(idc).equals(wide.get_column(idc)):
            raise EngineError(f"{BACKEND}: {what} does not give one row per unit")
        self.wide[entity] = wide = pl.concat([wide, df.drop(idc)], how="horizontal")
        self.stage_frames[name] = wide
        self.con.register(name, _ArrowFrame(wide))

    def _fetch(self, q: str, what: str) -> pl.DataFrame:
        """The rows of ``q`` as a Polars frame through the Arrow C stream interface (no pyarrow needed).
        Measured at 400k rows × 192 columns: 1.4 s, against 6.1 s through a Parquet file."""
        try:
            return run_once(self.con, q)
        except duckdb.Error as exc:  # the message quotes SQL and, since the fixed-point sums, a value out of
            # range (a cast of a member's amount): not chained, as on Polars
            hint = (": the memory limit (run.toml's memory_limit) is too low for this population; raise it, give "
                    "a spill_dir, or split the run (partitions)" if isinstance(exc, duckdb.OutOfMemoryException)
                    else "")
            raise EngineError(f"{BACKEND}: {what} failed: {type(exc).__name__}{hint}") from None

    def _result(self, name: str, cols: list[str], what: str) -> pl.DataFrame:
        """The columns ``cols`` (the id first) of the stage table ``name``."""
        return self.stage_frames[name].select(cols)

    def _close(self) -> None:
        self.con.close()

    def _q(self, name: str) -> str:
        return _quoted(name, self.dialect)

    def _c(self, name: str, table: str | None = None) -> str:
        return _col(name, table, self.dialect)

    def _gather(self, entity: str, cols: list[str]) -> str:
        """``SELECT id, cols`` of ``entity``: the base table joined by id to the narrow tables holding cols."""
        idc = ID[entity]
        cols = [c for c in dict.fromkeys(cols) if c != idc]
        b = self._q("b")
        if self.aligned:  # every stored column is in the entity's latest frame
            latest = self.where.get((entity, idc), self.base[entity])
            return f"SELECT {', '.join(self._c(c, 'b') for c in [idc, *cols])} FROM {self._q(latest)} AS {b}"
        aliases: dict[str, str] = {self.base[entity]: "b"}
        for c in cols:
            t = self.where[(entity, c)]
            aliases.setdefault(t, f"j{len(aliases)}")
        picked = [self._c(idc, "b"), *[self._c(c, aliases[self.where[(entity, c)]]) for c in cols]]
        q = f"SELECT {', '.join(picked)} FROM {self._q(self.base[entity])} AS {b}"
        for t, alias in aliases.items():
            if alias != "b":
                q += (f" LEFT JOIN {self._q(t)} AS {self._q(alias)}"
                      f" ON {self._c(idc, 'b')} = {self._c(idc, alias)}")
        return q

    def _nest(self, q: str, ss: list[Step], inside: set[str]) -> str:
        """``q`` wrapped in one ``SELECT *, <formulas>`` per dependency depth of the formulas of ``ss``; a sub-tree
        repeated in them (:func:`common_subtrees`) is a column ``__c<n>`` of its own, at the depth after what it
        reads, and every formula reads that column: on the project's rules the 13 statements' text went from
        1.0 to 0.66 MB (the housing aid's famille statement 412 to 136 KB), each repeated amount computed once
        (benchmarks/README.md, *DuckDB's literals, constant conditions and repeated sub-trees*)."""
        memo: dict[int, str] = {}
        formulas = [s for s in ss if s.kind == "formula" and s.expr is not None]

        def t(x: Expr) -> str:
            return dtype_of(x, self.coltypes, memo)

        const = _const_folder(t)

        shared: dict[int, str] = {}
        defs: list[tuple[str, Expr]] = []
        for node, ids in common_subtrees([s.expr for s in formulas if s.expr is not None], t, const):
            self.ncommon += 1
            name = f"__c{self.ncommon}"
            defs.append((name, node))
            for k in ids:
                shared[k] = name

        def reads(x: Expr, own: bool) -> list[str]:
            """Columns (stage formulas, shared sub-trees) ``x`` reads directly, not through a shared sub-tree
            (``own``: ``x`` is itself the shared sub-tree being defined)."""
            found: list[str] = []
            stack = list(children(x)) if own else [x]
            while stack:
                n = stack.pop()
                if isinstance(n, Col):
                    found.append(n.name)
                elif id(n) in shared:
                    found.append(shared[id(n)])
                else:
                    stack.extend(children(n))
            return found

        depth: dict[str, int] = {}
        items: list[tuple[str, Expr, str | None]] = [(name, node, None) for name, node in defs]
        items += [(s.name, s.expr, s.dtype) for s in formulas if s.expr is not None and s.name in inside]
        local = {name for name, _, _ in items}  # what is computed here (the rest is read from q)
        read = {name: [d for d in reads(node, dtype is None) if d in local] for name, node, dtype in items}
        for name, _, _ in items:  # each column one depth after the deepest it reads (iteratively: long chains)
            stack = [name]
            while stack:
                n = stack[-1]
                todo = [d for d in read[n] if d not in depth]
                if todo:
                    stack.extend(todo)
                    continue
                stack.pop()
                depth[n] = 1 + max((depth[d] for d in read[n]), default=0)
        for d in range(1, max(depth.values(), default=0) + 1):
            cols = ["*"]
            for name, node, dtype in items:
                if depth[name] != d:
                    continue
                try:
                    # unqualified: the nested select reads one subquery, so every name is its column (the
                    # qualifier was a sixth of the largest statements' text)
                    sql = (lower_sql(node, self.coltypes, memo=memo, dialect=self.dialect, shared=shared)
                           if dtype is None or id(node) not in shared else self._q(shared[id(node)]))
                except UnsupportedConstructError as exc:
                    step = self.plan.steps.get(name)
                    rule = (step.rule or step.variable or step.name) if step else name
                    raise UnsupportedConstructError(f"rule {rule}: {exc}") from None
                if dtype is not None and t(node) != dtype:
                    sql = _cast(sql, dtype, self.dialect)
                cols.append(f"{sql} AS {self._q(name)}")
            q = f"SELECT {', '.join(cols)} FROM ({q}) AS {self._q('l')}"
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

    def _agg_source(self, need: list[str]) -> str:
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
        select = [self._c(c, "g") for c in gcols]
        joins = ""
        if aggs:
            need = [ID[entity], ROLE_COL[entity], "person_id"]
            need += [c for s in aggs for c in (s.value_col, s.where_col) if c]
            computed = [self._c(idc), *(f"{_agg_sql(s, entity, self.dialect)} AS {self._q(s.name)}" for s in aggs)]
            sub = (f"SELECT {', '.join(computed)} FROM ({self._agg_source(need)}) AS {self._q('src')}"
                   f" GROUP BY {self._c(idc)}")
            joins += f" LEFT JOIN ({sub}) AS {self._q('a')} ON {self._c(idc, 'g')} = {self._c(idc, 'a')}"
            select += [f"COALESCE({self._c(s.name, 'a')}, {sql_literal(s.default, s.dtype, self.dialect)})"
                       f" AS {self._q(s.name)}" for s in aggs]
        for n, source in enumerate(sources):
            alias = f"r{n}"
            mine = [s for s in projs if s.source == source]
            right = self._gather(source, [s.value_col for s in mine if s.value_col])
            joins += (f" LEFT JOIN ({right}) AS {self._q(alias)}"
                      f" ON {self._c(keys[source], 'g')} = {self._c(ID[source], alias)}")
            select += [f"COALESCE({self._c(s.value_col, alias)}, {sql_literal(s.default, s.dtype, self.dialect)})"
                       f" AS {self._q(s.name)}" for s in mine]
        q = f"SELECT {', '.join(select)} FROM ({g}) AS {self._q('g')}{joins}"
        q = self._nest(q, ss, inside)
        aliases, self.aliases = dict(self.aliases), []
        keep = [s.name for s in ss if s.name in self.stored and s.name not in aliases]
        if not keep:
            return
        q = f"SELECT {', '.join(self._c(c) for c in [idc, *keep])} FROM ({q}) AS {self._q('l')}"
        name = f"s{k}_{entity}"
        self.materialising = entity
        self._materialise(name, q, f"stage {k} on {entity}")
        self._named(entity, name, aliases)
        for c in keep:
            self.where[(entity, c)] = name
        if self.aligned:
            self.where[(entity, idc)] = name
        self.parts[entity].append((name, [s.name for s in ss if s.name in self.public
                                          and (s.name in aliases or s.name in self.stored)]))

    def _named(self, entity: str, table: str, aliases: dict[str, str]) -> None:
        """Each column of ``aliases`` (name -> column held) set beside the entity's frame, registered as ``table``:
        Polars shares the buffers, nothing is copied."""
        if not aliases:
            return
        self.wide[entity] = self.stage_frames[table] = wide = self.wide[entity].with_columns(
            pl.col(have).alias(c) for c, have in aliases.items())
        self.con.register(table, _ArrowFrame(wide))
        for c in aliases:
            self.where[(entity, c)] = table

    def _given(self, entity: str, ss: list[Step]) -> list[Step]:
        """The steps of a stage left to compute once those whose value a stored column holds are given it (see
        ``polars_backend._Values``: the stored columns of the stages before were compared as they arrived, so a step
        over columns found equal is an earlier step again). A step given a column stored before is set beside the
        entity's frame under its own name (Polars shares the buffer: nothing is copied, nothing computed); a step
        given one this statement computes becomes a copy of it in the statement."""
        assert self.values is not None
        compute, known = self.values.split(ss)
        pairs = known.get(entity, [])
        if not pairs:
            return ss
        wide = self.wide[entity]
        here = {s.name for s in compute}
        cols = set(wide.columns)
        before = [(name, have) for name, have in pairs if have in cols]
        copies = {name: have for name, have in pairs if have in here}
        if before:
            latest = self.where.get((entity, ID[entity]), self.base[entity])
            self._named(entity, latest, dict(before))
            self.parts[entity].append((latest, [name for name, _ in before if name in self.public]))
            self.ngiven += len(before)
        given = {name for name, _ in before}
        out: list[Step] = []
        for s in ss:
            have = copies.get(s.name)
            if have is not None:  # computed by this statement: read there
                out.append(_pb.copy_step(s, have))
            elif s.name not in given:
                out.append(s)
        for name, have in copies.items():
            if name in self.stored:  # a name for the column once fetched, not a second column fetched
                self.stored.add(have)
                self.aliases.append((name, have))
        self.copied.update(copies)
        return out

    def run(self) -> dict[str, pl.DataFrame]:
        by_stage: dict[tuple[int, str], list[Step]] = {}
        for s in self.plan.steps.values():
            if s.kind != "input" and s.name not in self.sunk:
                by_stage.setdefault((self.stage[s.name], s.entity), []).append(s)
        stages_in_order = sorted(by_stage.items(), key=lambda kv: (kv[0][0], ENTITY_ORDER[kv[0][1]]))
        for (k, entity), ss in stages_in_order:
            if self.values is None:
                self._stage(entity, ss, k)
                continue
            ss = self._given(entity, ss)
            if ss:
                self._stage(entity, ss, k)
            # what this statement stored is compared with its variable's other values; what it did not store
            # cannot be given again
            self.values.forget([s.name for s in ss if s.name not in self.stored])
            self.values.learn([s for s in ss if s.name in self.stored and s.name not in self.copied], self.wide)
        log.debug("%s: %d steps given a stored column, %d copied in their statement", self.backend, self.ngiven,
                  len(self.copied))
        out: dict[str, pl.DataFrame] = {}
        if self.aligned:  # the base's columns then each stage's public ones, in the order of the stages' steps
            order = {name: n for n, name in enumerate(s.name for _, ss in stages_in_order for s in ss)}
            for entity, base in self.frames.items():
                public = sorted((c for _, cols in self.parts[entity] for c in cols), key=lambda c: order.get(c, -1))
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


MAX_RUNS = 1024
"""At most this many runs of consecutive units put back in order by slices (:func:`in_id_order`); more: a sort."""


def in_id_order(df: pl.DataFrame, idc: str, ids: pl.Series) -> pl.DataFrame:
    """The rows of ``df`` in the order of ``ids`` (the entity's ids, sorted; ``df`` has each once, in any order).

    DuckDB gives a statement's rows in a few runs of consecutive units (its threads scan the entity's frame in row
    groups; at 1 million individus 1 to 8 runs per statement, one of 933): each run is cut out (a slice, no copy),
    the runs put in the order of their first unit and copied once into one chunk, instead of a sort gathering every
    column row by row (1 million rows x 306 columns: about 1 CPU s sorted, 0.2 s by runs). Any other case (a null
    id, an id not in ``ids``, too many runs) is sorted; the caller checks the ids equal ``ids`` row by row."""
    got = df.get_column(idc)
    if got.null_count() == 0 and ids.null_count() == 0 and got.len() == ids.len() and got.len() > 0:
        pos = ids.search_sorted(got)  # each row's place among the entity's units
        starts = [0, *(pos.diff() != 1).arg_true().to_list()]  # a run breaks where the next row is not the next unit
        if len(starts) <= MAX_RUNS:
            if len(starts) == 1:
                return df.rechunk()
            ends = [*starts[1:], df.height]
            runs = sorted(zip(pos.gather(starts).to_list(), starts, ends, strict=True))
            out = pl.concat([df.slice(s, e - s) for _, s, e in runs], rechunk=True)
            if out.get_column(idc).equals(ids):
                return out
    return df.sort(idc, nulls_last=True)


ENTITY_ORDER = {"individu": 0, "famille": 1, "foyer_fiscal": 2, "menage": 3}


def run_duckdb(plan: Plan, frames: dict[str, pl.DataFrame], config: dict[str, Any] | None = None,
               values: _pb._Values | None = None) -> dict[str, pl.DataFrame]:
    """Compute every step of ``plan`` on DuckDB. ``config``: DuckDB settings (``memory_limit``,
    ``threads``, ``temp_directory``: spilling goes to the system temp dir unless given). ``values``: what
    ``shared_plan`` learnt when it made ``plan``, to give a step a stored column found to hold its value."""
    return _Runner(plan, frames, config, values).run()
