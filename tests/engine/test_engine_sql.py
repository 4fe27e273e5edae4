"""The SQL lowering: exact literals, snapshots of the text written for DuckDB and for Spark (the text sqlglot
rendered from the trees the lowering built until 2026-11-30, character for character)."""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nonrecours.engine.plan import Step
from nonrecours.engine.sql_backend import _agg_sql, lower_sql, sql_literal
from nonrecours.rules.ir import BinOp, Cast, Col, Compare, Func, IsIn, Lit, Where


@given(st.floats(allow_nan=False, allow_infinity=False, width=64))
def test_float_literals_read_back_exactly(v):
    sql = sql_literal(v, "float")
    got, kind = duckdb.sql(f"SELECT {sql}, typeof({sql})").fetchall()[0]
    assert kind == "DOUBLE"
    assert got == v


@pytest.mark.parametrize(("value", "dtype", "expected"), [
    (-1.0, "float", "(-1e+0)"),
    (635.71, "float", "6.3571e+2"),
    (1e9, "float", "1e+9"),
    (0.1 + 0.2, "float", "3.0000000000000004e-1"),
    (-3, "int", "CAST(-3 AS BIGINT)"),
    (True, "bool", "TRUE"),
    ("enfant", "str", "'enfant'"),
])
def test_literals(value, dtype, expected):
    assert sql_literal(value, dtype) == expected


def test_snapshots_duckdb_and_spark():
    w = Where(Compare("ge", Col("famille", "a"), Lit(6.0, "float")),
              Func("maximum", (Col("famille", "a"), Lit(0, "int"))), Lit(0.0, "float"))
    assert lower_sql(w, {"a": "float"}, table="l") == (
        'CASE WHEN ("l"."a" >= 6e+0) '
        'THEN GREATEST("l"."a", CAST(CAST(0 AS BIGINT) AS DOUBLE)) ELSE 0e+0 END')
    assert lower_sql(w, {"a": "float"}, table="l", dialect="spark") == (
        "CASE WHEN (`l`.`a` >= 6e+0) THEN GREATEST(`l`.`a`, CAST(CAST(0 AS BIGINT) AS DOUBLE)) ELSE 0e+0 END")
    div = lower_sql(BinOp("div", Col("famille", "a"), Col("famille", "b")), {"a": "float", "b": "int"})
    assert div == (
        'CASE WHEN "b" = CAST(0 AS BIGINT) THEN 0e+0 '
        'ELSE CAST("a" AS DOUBLE) / CAST("b" AS DOUBLE) END')
    # a divisor known not zero needs no guard; a literal zero keeps it (the quotient is then 0)
    by_three = lower_sql(BinOp("div", Col("famille", "a"), Lit(3, "int")), {"a": "float"})
    assert by_three == '(CAST("a" AS DOUBLE) / 3e+0)'
    by_zero = lower_sql(BinOp("div", Col("famille", "a"), Lit(0.0, "float")), {"a": "float"})
    assert by_zero.startswith("CASE WHEN 0e+0 = CAST(0 AS BIGINT) THEN 0e+0")
    value_of = Step("__a1", "famille", "agg", "float", 1, agg_kind="value_of", roles=("demandeur",),
                    value_col="__t1", default=0.0)
    assert _agg_sql(value_of, "famille") == (
        'CAST(ARG_MIN("__t1", "person_id") FILTER(WHERE "famille_role" IN (\'demandeur\')) AS DOUBLE)')
    assert _agg_sql(value_of, "famille", "spark") == (
        "CAST(MIN_BY(`__t1`, `person_id`) FILTER(WHERE `famille_role` IN ('demandeur')) AS DOUBLE)")
    count = Step("__a2", "famille", "agg", "int", 1, agg_kind="count", roles=("enfant",), where_col="__t2",
                 default=0)
    assert _agg_sql(count, "famille") == (
        'CAST(COUNT_IF("famille_role" IN (\'enfant\') AND "__t2") AS BIGINT)')


@given(st.floats(allow_nan=False, allow_infinity=False, width=64),
       st.one_of(st.floats(allow_nan=False, allow_infinity=False, width=64).filter(bool),
                 st.integers(-10**6, 10**6).filter(bool)))
def test_division_by_a_literal_is_the_guarded_division(a, b):
    """Unguarded when the divisor is a literal other than zero: the same double as the guarded form (which
    divides the same operands once it knows the divisor is not zero), bit for bit."""
    import struct

    kind = "float" if isinstance(b, float) else "int"
    fast = lower_sql(BinOp("div", Col("famille", "a"), Lit(b, kind)), {"a": "float"})
    guarded = lower_sql(BinOp("div", Col("famille", "a"), Col("famille", "b")),
                        {"a": "float", "b": kind})
    sa, sb = sql_literal(a, "float"), sql_literal(b, kind)
    x, y = duckdb.sql(f"SELECT {fast}, {guarded} FROM (SELECT {sa} AS a, {sb} AS b)").fetchall()[0]
    assert x is not None and struct.pack("d", x) == struct.pack("d", y)


@given(st.floats(-1e7, 1e7, allow_nan=False), st.integers(0, 4))
def test_round_half_away_from_zero_matches_python_formula(x, digits):
    import math

    got = duckdb.sql(f"SELECT {lower_sql(Func('round', (Lit(x, 'float'),), digits), {})}").fetchall()[0][0]
    scale = float(10 ** digits)
    expected = (-1.0 if x < 0 else 1.0) * (math.floor(abs(x) * scale + 0.5 + 1e-9) / scale)
    assert got == expected


def test_stages_cut_the_plan_only_where_it_fans_out(toy_reg, toy_params):
    """Aggregates and projections read columns materialised in an earlier stage; formulas never start a
    stage of their own (so the SQL plan has far fewer statements than levels)."""
    import datetime as dt

    from toyrules import ALL_TARGETS

    from nonrecours.engine.plan import build_plan
    from nonrecours.engine.sql_backend import stages

    plan = build_plan(ALL_TARGETS, toy_reg, toy_params, dt.date(2024, 6, 1))
    stage = stages(plan)
    for s in plan.steps.values():
        if s.kind in ("agg", "project"):
            assert all(stage[d] < stage[s.name] for d in s.deps), s.name
        elif s.kind == "formula":
            assert stage[s.name] == max([1, *(stage[d] for d in s.deps)]), s.name
    assert len(set(stage.values())) < len(plan.by_level())


def test_each_statement_is_parsed_and_bound_once(toy_reg, toy_params, household, monkeypatch):
    """A lazy relation (``con.sql``) parses and binds its statement to learn its columns, then again when it is
    read: the runner runs each stage's statement once, never through a relation; the same frames as Polars."""
    import datetime as dt

    from toyrules import ALL_TARGETS

    from nonrecours.engine import evaluate

    calls = {"sql": 0, "bind": 0}
    sql, bind = duckdb.DuckDBPyConnection.sql, duckdb.DuckDBPyConnection._bind

    def spy_sql(self, *a, **kw):  # type: ignore[no-untyped-def]
        calls["sql"] += 1
        return sql(self, *a, **kw)

    def spy_bind(self, *a, **kw):  # type: ignore[no-untyped-def]
        calls["bind"] += 1
        return bind(self, *a, **kw)

    monkeypatch.setattr(duckdb.DuckDBPyConnection, "sql", spy_sql)
    monkeypatch.setattr(duckdb.DuckDBPyConnection, "_bind", spy_bind)
    month = dt.date(2024, 6, 1)
    got = evaluate(ALL_TARGETS, household, month, backend="duckdb", registry=toy_reg, parameters=toy_params)
    assert calls == {"sql": 0, "bind": 0}
    want = evaluate(ALL_TARGETS, household, month, registry=toy_reg, parameters=toy_params)
    for entity, frame in want.frames.items():
        assert frame.equals(got.frames[entity]), entity


@pytest.mark.parametrize(("expr", "duck", "spark"), [
    (Func("round", (Col("famille", "a"),), 2),
     '(CASE WHEN CAST("a" AS DOUBLE) < 0e+0 THEN (-1e+0) ELSE 1e+0 END * '
     'FLOOR((ABS(CAST("a" AS DOUBLE)) * 1e+2 + 5e-1 + 1e-9)) / 1e+2)',
     "(CASE WHEN CAST(`a` AS DOUBLE) < 0e+0 THEN (-1e+0) ELSE 1e+0 END * "
     "CAST(FLOOR((ABS(CAST(`a` AS DOUBLE)) * 1e+2 + 5e-1 + 1e-9)) AS DOUBLE) / 1e+2)"),
    (Cast(Col("famille", "a"), "int"), 'CAST(TRUNC("a") AS BIGINT)', "CAST(`a` AS BIGINT)"),
    (Func("ceil", (Col("famille", "p"),)), 'CEIL(CAST(CAST("p" AS BIGINT) AS DOUBLE))',
     "CAST(CEIL(CAST(CAST(`p` AS BIGINT) AS DOUBLE)) AS DOUBLE)"),
    (Func("neg", (Func("neg", (Col("famille", "a"),)),)), '(-(-"a"))', "(-(-`a`))"),
    (IsIn(Col("famille", "s"), ("a", "b'c")), "(\"s\" IN ('a', 'b''c'))", "(`s` IN ('a', 'b\\'c'))"),
    (Where(Col("famille", "p"), Col("famille", "s"), Lit(None, "str")),
     'CASE WHEN "p" THEN "s" ELSE CAST(NULL AS TEXT) END', "CASE WHEN `p` THEN `s` ELSE CAST(NULL AS STRING) END"),
    (BinOp("add", Col("famille", 'we"ird`'), Lit(-0.0, "float")), '("we""ird`" + 0e+0)', "(`we\"ird``` + 0e+0)"),
])
def test_snapshots_of_the_dialects(expr, duck, spark):
    """Text as sqlglot rendered it from the trees built until 2026-11-30 (quoting and escaping still sqlglot's)."""
    types = {"a": "float", "p": "bool", "s": "str", 'we"ird`': "float"}
    assert lower_sql(expr, types) == duck
    assert lower_sql(expr, types, dialect="spark") == spark


def test_boolean_aggregates_of_each_dialect():
    step = Step("__a3", "famille", "agg", "bool", 1, agg_kind="any", roles=None, value_col="__t3", default=False)
    assert _agg_sql(step, "famille") == 'CAST(BOOL_OR(CAST("__t3" AS BOOLEAN)) AS BOOLEAN)'
    assert _agg_sql(step, "famille", "spark") == "CAST(BOOL_OR(`__t3`) AS BOOLEAN)"


def test_a_client_without_the_single_pass_call_reads_a_relation():
    """``run_once`` on a DuckDB client without ``_submit`` (older clients): the relation of ``con.sql``, read once
    by Polars; the same frame as the single-pass call."""
    from nonrecours.engine.sql_backend import run_once

    con = duckdb.connect()

    class Older:
        def sql(self, text: str):  # type: ignore[no-untyped-def]
            return con.sql(text)

    text = "SELECT 1::BIGINT AS a, 'x' AS b, 2.5e+0 AS c"
    assert run_once(Older(), text).equals(run_once(con, text))  # type: ignore[arg-type]
    assert run_once(con, text).rows() == [(1, "x", 2.5)]


def test_a_client_whose_single_pass_call_changed_reads_a_relation():
    """``_submit`` is private: a client whose call takes other arguments (or returns another object) must fall
    back to the public relation, not fail, and a real statement's error must still surface."""
    from nonrecours.engine import sql_backend

    con = duckdb.connect()

    class Changed:
        def _submit(self, text: str) -> None:  # one argument: the project's three-argument call raises TypeError
            raise AssertionError("not reached")

        def sql(self, text: str):  # type: ignore[no-untyped-def]
            return con.sql(text)

    text = "SELECT 1::BIGINT AS a, 'x' AS b"
    assert sql_backend.run_once(Changed(), text).rows() == [(1, "x")]  # type: ignore[arg-type]
    assert sql_backend._SINGLE_PASS[Changed] is False
    assert sql_backend._single_pass(con) is True  # this environment's client answers the probe
    with pytest.raises(duckdb.Error):
        sql_backend.run_once(con, "SELECT no_such_column FROM (SELECT 1 AS a)")
