"""Constant folding of flattened expressions (``engine.folding.fold``): the conditions a bound month makes constant
are resolved, nothing else changes, and the folded tree computes the same values."""

from __future__ import annotations

import datetime as dt

import polars as pl

from nonrecours.engine.folding import fold
from nonrecours.engine.plan import dtype_of
from nonrecours.engine.polars_backend import lower_polars, with_zero
from nonrecours.rules.ir import BoolOp, Cast, Col, Compare, Func, IsIn, Lit, Not, Where

TYPES = {"a": "float", "b": "float", "n": "int", "flag": "bool"}
DECEMBER = Lit(dt.date(2025, 12, 1), "date")


def _t(x):
    return dtype_of(x, TYPES)


def _month_is(k: int) -> Compare:
    return Compare("eq", Func("month", (DECEMBER,)), Lit(k, "int"))


def test_a_chain_picking_a_month_by_a_literal_date_is_the_column_it_picks():
    a, b = Col("individu", "a"), Col("individu", "b")
    chain = Where(_month_is(11), a, Where(_month_is(12), b, a))
    assert fold(chain, _t) is b


def test_a_taken_branch_of_another_type_is_cast_to_the_where_s():
    n = Col("individu", "n")
    folded = fold(Where(_month_is(12), n, Col("individu", "a")), _t)
    assert isinstance(folded, Cast) and folded.dtype == "float" and folded.operand is n


def test_boolean_identities_and_untouched_trees():
    flag = Col("individu", "flag")
    assert fold(BoolOp("and", _month_is(12), flag), _t) is flag
    assert fold(BoolOp("or", _month_is(1), flag), _t) is flag
    assert repr(fold(BoolOp("and", _month_is(1), flag), _t)) == repr(Lit(False, "bool"))
    plain = Where(flag, Col("individu", "a"), Lit(0.0, "float"))
    assert fold(plain, _t) is plain  # nothing constant: the same nodes


def test_the_folded_tree_computes_the_values_of_the_tree():
    a, b, n, flag = (Col("individu", c) for c in ("a", "b", "n", "flag"))
    tree = Where(BoolOp("and", _month_is(12), flag), a + n, Where(_month_is(3), b, a * 2)) + Where(_month_is(12), n, b)
    frame = with_zero(pl.DataFrame({"a": [1.5, -0.0, 3.0], "b": [2.0, 4.0, -1.0], "n": [1, 2, 3],
                                    "flag": [True, False, True]}))
    got = frame.select(lower_polars(fold(tree, _t), TYPES).alias("x")).get_column("x").to_list()
    want = frame.select(lower_polars(tree, TYPES).alias("x")).get_column("x").to_list()
    assert got == want == [3.5, 2.0, 9.0]


def test_what_the_engines_would_coerce_or_refuse_is_not_folded():
    """A list of another type than its operand (the engines coerce 12.5 to 12, a text to a date) and ``and``,
    ``or``, ``not`` of numbers (refused, or bitwise) are left to the backend."""
    month = Func("month", (DECEMBER,))
    for tree in (IsIn(month, (12.5,)), IsIn(Lit(True, "bool"), (2,)), IsIn(DECEMBER, ("2025-12-01",))):
        assert fold(tree, _t) is tree
    n = Col("individu", "n")
    assert isinstance(fold(BoolOp("and", _month_is(12), n), _t), BoolOp)  # not the int column alone
    assert fold(Not(Lit(5, "int")), _t) is not None and not isinstance(fold(Not(Lit(5, "int")), _t), Lit)
    assert repr(fold(IsIn(month, (11, 12)), _t)) == repr(Lit(True, "bool"))
