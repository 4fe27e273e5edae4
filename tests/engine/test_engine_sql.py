"""The SQL lowering: exact literals, snapshots of the text written for DuckDB and for Spark (the text sqlglot
rendered from the trees the lowering built until 2026-11-30, character for character, but for the constants folded
and the integer literals written without a cast since: see ``test_constant_conditions_are_folded_at_lowering``)."""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from nonrecours.engine.inputs import PL_DTYPES
from nonrecours.engine.plan import Step, dtype_of
from nonrecours.engine.polars_backend import lower_polars, with_zero
from nonrecours.engine.sql_backend import (
    _agg_sql,
    _ArrowFrame,
    common_subtrees,
    in_id_order,
    lower_sql,
    run_once,
    sql_literal,
)
from nonrecours.errors import UnsupportedConstructError
from nonrecours.rules.ir import BinOp, BoolOp, Cast, Col, Compare, Expr, Func, IsIn, Lit, Not, Where, walk


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
        'THEN GREATEST("l"."a", 0e+0) ELSE 0e+0 END')  # the integer literal folded to its double
    assert lower_sql(w, {"a": "float"}, table="l", dialect="spark") == (
        "CASE WHEN (`l`.`a` >= 6e+0) THEN GREATEST(`l`.`a`, 0e+0) ELSE 0e+0 END")
    div = lower_sql(BinOp("div", Col("famille", "a"), Col("famille", "b")), {"a": "float", "b": "int"})
    assert div == (
        'CASE WHEN "b" = 0 THEN 0e+0 '  # a plain 0 compared with a column: the column's type (BIGINT)
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


def test_a_client_whose_single_pass_call_changed_reads_a_relation(caplog):
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
    assert "single-pass call is unusable (TypeError)" in caplog.text  # said, not silent
    assert sql_backend._single_pass(con) is True  # this environment's client answers the probe
    with pytest.raises(duckdb.Error):
        sql_backend.run_once(con, "SELECT no_such_column FROM (SELECT 1 AS a)")


MONTH_START = Lit(dt.date(2024, 11, 1), "date")


def _month_is(n: int) -> Compare:
    return Compare("eq", Func("month", (MONTH_START,)), Lit(n, "int"))


def test_constant_conditions_are_folded_at_lowering():
    """The rules pick a shifted month's column by the number of a literal month (``where(month(month_start) ==
    12, x__m3, ...)``): the chain is written as the one column it picks, not a CASE per month."""
    chain = Where(_month_is(12), Col("famille", "x3"), Where(_month_is(11), Col("famille", "x2"),
                                                               Col("famille", "x1")))
    types = {"x1": "float", "x2": "float", "x3": "float", "i": "int", "p": "bool"}
    assert lower_sql(chain, types) == '"x2"'
    # nested CASE merged, trailing branches giving the ELSE value dropped, an integer compared without a cast
    nested = Where(Compare("eq", Col("famille", "i"), Lit(1, "int")), Lit(1470, "int"),
                   Where(Compare("eq", Col("famille", "i"), Lit(2, "int")), Lit(1393, "int"),
                         Where(Col("famille", "p"), Lit(1351, "int"), Lit(1351, "int"))))
    assert lower_sql(nested, types) == (
        'CASE WHEN ("i" = 1) THEN CAST(1470 AS BIGINT) WHEN ("i" = 2) THEN CAST(1393 AS BIGINT) '
        'ELSE CAST(1351 AS BIGINT) END')
    # TRUE AND e is e; FALSE OR e is e; a constant comparison is its value
    both = BoolOp("and", _month_is(11), BoolOp("or", _month_is(3), Col("famille", "p")))
    assert lower_sql(both, types) == '"p"'
    assert lower_sql(BoolOp("and", _month_is(3), Col("famille", "p")), types) == "FALSE"
    assert lower_sql(Cast(Col("famille", "p"), "int") + 0 == Lit(0, "int"), types) == (
        '((CAST("p" AS BIGINT) + 0) = 0)')


def test_an_unsupported_construct_in_a_branch_never_taken_still_raises():
    bad = Cast(Col("famille", "s"), "int")
    for e in (Where(_month_is(11), Col("famille", "i"), bad), BoolOp("and", _month_is(3), bad == Lit(0, "int")),
              Where(Col("famille", "p"), bad, bad)):
        with pytest.raises(UnsupportedConstructError, match="cast from str"):
            lower_sql(e, {"i": "int", "s": "str", "p": "bool"})


_ROWS = pl.DataFrame({"i": [0, 1, -2, 7, 3_000_000_000], "j": [2, 0, -2, 1, 5],
                      "f": [0.0, -1.5, 2.25, 7.0, 1e10], "p": [True, False, True, False, True]})
_TYPES = {"i": "int", "j": "int", "f": "float", "p": "bool"}


@st.composite
def _exprs(draw: st.DrawFn, depth: int = 0) -> Expr:
    """Expressions mixing columns and constant sub-trees (literals, the month of a literal date) under every
    node the folding touches."""
    leaves = st.one_of(
        st.sampled_from([Col("famille", c) for c in _TYPES]),
        st.integers(-3, 13).map(lambda v: Lit(v, "int")),
        st.sampled_from([Lit(2**40, "int"), Lit(0.0, "float"), Lit(-2.5, "float"), Lit(True, "bool"),
                         Lit(False, "bool")]),
        st.sampled_from([1, 11, 12]).map(lambda m: Func("month", (Lit(dt.date(2024, m, 1), "date"),))))
    if depth >= 4 or draw(st.integers(0, 3)) == 0:
        return draw(leaves)
    sub = _exprs(depth + 1)
    kind = draw(st.sampled_from(["bin", "cmp", "bool", "not", "where", "cast", "isin", "minmax"]))
    if kind == "bin":
        return BinOp(draw(st.sampled_from(["add", "sub", "mul", "div"])), draw(sub), draw(sub))
    if kind == "cmp":
        return Compare(draw(st.sampled_from(list(_COMPARE_OPS))), draw(sub), draw(sub))
    if kind == "bool":
        return BoolOp(draw(st.sampled_from(["and", "or"])), _truthy(draw(sub)), _truthy(draw(sub)))
    if kind == "not":
        return Not(_truthy(draw(sub)))
    if kind == "where":
        return Where(_truthy(draw(sub)), draw(sub), draw(sub))
    if kind == "cast":
        return Cast(draw(sub), draw(st.sampled_from(["int", "float", "bool"])))
    if kind == "isin":
        return IsIn(Cast(draw(sub), "int"), tuple(draw(st.lists(st.integers(-2, 12), min_size=1, max_size=3))))
    return Func(draw(st.sampled_from(["minimum", "maximum"])), (draw(sub), draw(sub)))


_COMPARE_OPS = ("eq", "ne", "lt", "le", "gt", "ge")


def _truthy(e: Expr) -> Expr:
    return e if dtype_of(e, _TYPES) == "bool" else Compare("gt", e, Lit(0, "int"))


def _wraps_in_polars(e: Expr) -> bool:
    """Whether an integer sum, difference or product of ``e`` leaves the 64-bit range on a row of ``_ROWS``:
    Polars wraps it without an error (``not (i * 2**40 > 0)`` is true on i = 3e9), DuckDB raises, or folds the
    comparison (``i * c > 0`` is ``i > 0``) and gives the exact answer. Not a case of the rules (amounts in euros),
    so not a disagreement: the same sub-tree in floats says whether it left the range."""
    frame = with_zero(_ROWS)
    for node in walk(e):
        if isinstance(node, BinOp) and node.op != "div" and dtype_of(node, _TYPES) == "int":
            exact = BinOp(node.op, Cast(node.left, "float"), Cast(node.right, "float"))
            try:
                value = frame.select(lower_polars(exact, _TYPES).abs().max()).item()
            except pl.exceptions.ComputeError:
                return True
            if value is not None and value >= 2.0**63:
                return True
    return False


def test_an_integer_beyond_64_bits_is_not_compared():
    """The failing example Hypothesis found (a product of 3e9 by 2**40): recognised as wrapped, and a product
    that stays in range is not."""
    big = Not(Compare("gt", BinOp("mul", Col("famille", "i"), Lit(2**40, "int")), Lit(0, "int")))
    assert _wraps_in_polars(big)
    assert not _wraps_in_polars(Not(Compare("gt", BinOp("mul", Col("famille", "i"), Lit(3, "int")), Lit(0, "int"))))


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(_exprs())
@example(Not(Compare("gt", BinOp("mul", Col("famille", "i"), Lit(2**40, "int")), Lit(0, "int"))))
def test_folded_lowering_gives_polars_values_and_dtypes(e):
    """Whatever is folded or written without a cast, DuckDB computes what Polars does, in the same dtype."""
    want_dtype = dtype_of(e, _TYPES)
    try:
        want = with_zero(_ROWS).with_columns(lower_polars(e, _TYPES).alias("v")).select("v")
    except pl.exceptions.ComputeError:  # an overflow Polars refuses: not a case of the rules
        return
    except pl.exceptions.InvalidOperationError:  # is_in of a constant: Polars does not broadcast it (the rules
        assume(False)  # test a variable's membership)
    if _wraps_in_polars(e):  # Polars wraps an integer product past 2**63 where DuckDB raises or folds it away
        return
    con = duckdb.connect()
    con.register("t", _ArrowFrame(_ROWS))
    try:
        got = run_once(con, f"SELECT {lower_sql(e, _TYPES)} AS v FROM t")
    except duckdb.OutOfRangeException:  # a BIGINT overflow: an error on both lowerings, never a wrapped value
        return
    assert got.schema["v"] == PL_DTYPES[want_dtype] == want.schema["v"]
    x, y = want.get_column("v"), got.get_column("v")
    if want_dtype == "float":
        assert ((x - y).abs() <= 1e-9 * (1 + x.abs())).all() or x.equals(y), (x.to_list(), y.to_list())
    else:
        assert x.equals(y), (x.to_list(), y.to_list())


def test_a_repeated_sub_tree_is_one_column_unless_it_could_fail_where_it_was_spared():
    """``common_subtrees``: a sub-tree read from two places (here two equal trees built apart, as rules build
    amounts by Python functions) is shared; one that could raise (a double cast to an integer, integer
    arithmetic) is not, as computed for every row it could fail on a row its branch never reached."""
    types = {"a": "float", "b": "float", "n": "int", "p": "bool"}
    memo: dict[int, str] = {}

    def t(x: Expr) -> str:
        return dtype_of(x, types, memo)

    def amount() -> Expr:
        return Func("maximum", (BinOp("sub", Col("famille", "a"), BinOp("mul", Lit(0.3, "float"),
                                                                           Col("famille", "b"))), Lit(0.0, "float")))

    first, second = amount(), amount()
    rule = Where(Compare("ge", first, Lit(15.0, "float")), second, Lit(0.0, "float"))
    shared = common_subtrees([rule], t)
    assert [(node is first, sorted(ids)) for node, ids in shared] == [(True, sorted([id(first), id(second)]))]
    names = {k: "__c1" for k in shared[0][1]}
    assert lower_sql(rule, types, shared=names) == 'CASE WHEN ("__c1" >= 1.5e+1) THEN "__c1" ELSE 0e+0 END'
    assert lower_sql(first, types, shared=names).startswith("GREATEST(")  # its own definition
    failing = Cast(Col("famille", "a"), "int")
    counted = BinOp("add", Col("famille", "n"), Lit(1, "int"))
    guarded = Where(Col("famille", "p"), BinOp("add", failing, counted), Lit(0, "int"))
    assert common_subtrees([guarded, Cast(Col("famille", "a"), "int"), BinOp("add", Col("famille", "n"),
                                                                             Lit(1, "int"))], t) == []


@pytest.mark.parametrize("order", [[0, 1, 2, 3, 4], [3, 0, 4, 1, 2], [4, 3, 2, 1, 0]])
def test_a_result_in_runs_of_consecutive_units_is_put_in_id_order(order):
    """``in_id_order``: DuckDB's rows come in a few runs of consecutive units; runs whose ids increase from one
    to the next without being consecutive (block 0 then block 4) are cut apart too."""
    ids = pl.Series("u", [3 * k + 1 for k in range(50)], dtype=pl.Int64)
    frame = pl.DataFrame({"u": ids, "x": [float(k) for k in range(50)], "s": [str(k) for k in range(50)]})
    shuffled = pl.concat([frame.slice(10 * k, 10) for k in order])
    got = in_id_order(shuffled, "u", ids)
    assert got.equals(frame)
    assert got.n_chunks() == 1


def test_a_result_not_in_runs_or_not_the_units_is_sorted():
    ids = pl.Series("u", list(range(0, 40, 2)), dtype=pl.Int64)
    frame = pl.DataFrame({"u": ids, "x": list(range(20))})
    scattered = frame.sample(fraction=1.0, shuffle=True, seed=3)
    assert in_id_order(scattered, "u", ids).equals(frame)  # runs of one unit each
    odd = frame.with_columns(pl.when(pl.col("u") == 10).then(11).otherwise(pl.col("u")).alias("u")).reverse()
    assert in_id_order(odd, "u", ids).equals(odd.sort("u"))  # an id not among the units: sorted (caller raises)
    nulls = frame.with_columns(pl.when(pl.col("u") == 10).then(None).otherwise(pl.col("u")).alias("u")).reverse()
    assert in_id_order(nulls, "u", ids).equals(nulls.sort("u", nulls_last=True))
