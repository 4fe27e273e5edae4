"""Constant folding of flattened IR expressions, shared by the backends.

The rules compare a shifted month's number with literals (``where(month(month_start) == 12, x__m3, ...)``: about
1,700 such conditions on the project's rules): once the plan has bound the month, those conditions are constants.
:func:`const_folder` tells the constant value of a sub-tree (the SQL lowering writes the taken branch only), and
:func:`fold` rewrites a tree with its constant conditions resolved (the Polars lowering computes the taken branch
only, and two month offsets of a rule whose chains pick equal columns then have the same expression: see
``polars_backend._Values``). Folding changes no value: only operations Python computes exactly as the engines do are
folded. One difference with computing the tree as written: the branch a constant condition leaves out is not lowered,
so a construct a backend cannot compute there raises only in the months that take it (the SQL lowering still lowers
it, and raises).

:func:`common_subtrees` finds the sub-trees a formula repeats, which both lowerings compute once as columns (the SQL
one in every statement, the Polars one for large formulas on small frames).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from nonrecours.rules.ir import BinOp, BoolOp, Cast, Col, Compare, Expr, Func, IsIn, Lit, Not, Where, children, mapped

__all__ = ["UNKNOWN", "common_subtrees", "const_folder", "converted", "fold"]

UNKNOWN = object()
"""Not a constant (see :func:`_const`)."""
_INT64 = (-(2**63), 2**63 - 1)
_EXACT_DOUBLE = 2**53
_PY_COMPARE = {"eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "lt": lambda a, b: a < b,
               "le": lambda a, b: a <= b, "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b}


_PY_TYPES = {"int": int, "bool": bool, "date": dt.date}
"""The Python type of a constant of each dtype an ``is_in`` is folded for."""


def converted(v: Any, have: str, want: str) -> Any:
    """A constant of dtype ``have`` as the same value of dtype ``want`` where the conversion is exact (as DuckDB's and
    Spark's casts give it): bool to a number, an integer to a double below 2**53; else ``UNKNOWN``."""
    if have == want:
        return v
    if have == "bool" and want in ("int", "float"):
        return int(v) if want == "int" else float(v)
    if have == "int" and want == "float" and abs(v) <= _EXACT_DOUBLE:
        return float(v)
    return UNKNOWN


def const_folder(t: Any) -> Any:
    """:func:`_const` memoised by node, the dtypes read through ``t``: each subtree folded once per lowering."""
    consts: dict[int, Any] = {}

    def const(x: Expr) -> Any:
        k = id(x)
        if k not in consts:
            consts[k] = _const(x, const, t)
        return consts[k]

    return const


def _const(x: Expr, const: Any, t: Any) -> Any:
    """The value of ``x`` when it reads no column and only operations whose value Python gives exactly as SQL does
    (the month of a literal date, comparisons of two literals of one dtype, boolean logic, a ``where`` on a constant
    condition, exact integer arithmetic, exact conversions), else ``UNKNOWN``. The rules compare a shifted month's
    number with literals (``where(month(month_start) == 12, x__m3, ...)``, about 1,700 such conditions on the
    project's rules): folded at lowering, those chains are one column. ``const`` and ``t``: the caller's memoised
    recursion and dtypes. Nothing here is null (``Lit(None)`` is not folded)."""
    if isinstance(x, Lit):
        return UNKNOWN if x.value is None or (x.dtype == "float" and x.value != x.value) else x.value
    if isinstance(x, Func) and x.name in ("year", "month", "day"):
        d = const(x.args[0])
        return UNKNOWN if d is UNKNOWN else getattr(d, x.name)
    if isinstance(x, Compare):
        a, b = const(x.left), const(x.right)
        ta = t(x.left)
        if (a is UNKNOWN or b is UNKNOWN or ta != t(x.right)
                or (ta == "str" and x.op not in ("eq", "ne"))):  # string order: the engines' collation
            return UNKNOWN
        return _PY_COMPARE[x.op](a, b)
    if isinstance(x, BoolOp):
        a, b = const(x.left), const(x.right)
        absorbing = x.op == "or"  # FALSE AND e, TRUE OR e: the constant, whatever e is (also NULL)
        if a is absorbing or b is absorbing:
            return absorbing
        return (not absorbing) if a is (not absorbing) and b is (not absorbing) else UNKNOWN
    if isinstance(x, Not):
        a = const(x.operand)
        return UNKNOWN if a is UNKNOWN else not a
    if isinstance(x, Where):
        c = const(x.cond)
        if c is not True and c is not False:
            return UNKNOWN
        branch = x.then if c else x.otherwise
        v = const(branch)
        return UNKNOWN if v is UNKNOWN else converted(v, t(branch), t(x))
    if isinstance(x, BinOp) and x.op in ("add", "sub", "mul"):
        a, b = const(x.left), const(x.right)
        if a is UNKNOWN or b is UNKNOWN or t(x.left) != "int" or t(x.right) != "int":
            return UNKNOWN
        v = a + b if x.op == "add" else a - b if x.op == "sub" else a * b
        return v if _INT64[0] <= v <= _INT64[1] else UNKNOWN  # out of range: the engine's error, not folded
    if isinstance(x, IsIn):
        a = const(x.operand)
        kind = _PY_TYPES.get(t(x.operand))
        # only a list of the operand's own Python type: the engines coerce other values (12.5 to 12, "2025-12-01"
        # to a date), Python's == would not
        if a is UNKNOWN or kind is None or any(type(v) is not kind for v in x.values):
            return UNKNOWN
        return any(a == v for v in x.values)
    if isinstance(x, Cast):
        a = const(x.operand)
        return UNKNOWN if a is UNKNOWN else converted(a, t(x.operand), x.dtype)
    return UNKNOWN


def fold(e: Expr, t: Callable[[Expr], str]) -> Expr:
    """``e`` with every sub-tree of constant value (:func:`const_folder`) that decides a branch resolved: a ``where``
    on a constant condition is its taken branch (cast to the ``where``'s dtype where they differ), ``TRUE AND x`` is
    ``x``, ``FALSE OR x`` is ``x``, and a constant condition, comparison or boolean is its literal. Sub-trees that
    fold to nothing are returned as they are (same nodes: callers memoising by node keep their memo). ``t``: the
    dtype of a node (``plan.dtype_of`` over the plan's column types)."""
    const = const_folder(t)
    done: dict[int, Expr] = {}

    def go(x: Expr) -> Expr:
        k = id(x)
        held = done.get(k)
        if held is None:
            held = done[k] = _fold(x)
        return held

    def boolean(x: Expr) -> bool:
        """Whether ``x``'s operands are booleans (``and``, ``or``, ``not`` of numbers are not folded: the engines
        refuse or compute them bitwise)."""
        if isinstance(x, BoolOp):
            return t(x.left) == "bool" and t(x.right) == "bool"
        return not isinstance(x, Not) or t(x.operand) == "bool"

    def _fold(x: Expr) -> Expr:
        if isinstance(x, Compare | BoolOp | Not | IsIn) and boolean(x):
            v = const(x)
            if v is True or v is False:
                return Lit(v, "bool")
        if isinstance(x, Where):
            c = const(x.cond)
            if c is True or c is False:
                branch = x.then if c else x.otherwise
                out = go(branch)
                return out if t(branch) == t(x) else Cast(out, t(x))
        if isinstance(x, BoolOp) and boolean(x):
            identity = x.op == "and"  # TRUE AND e, FALSE OR e: e
            if const(x.left) is identity:
                return go(x.right)
            if const(x.right) is identity:
                return go(x.left)
        return mapped(x, go)

    return go(e)


def _may_fail(x: Expr, t: Any) -> bool:
    """Whether DuckDB (or Spark) can raise on ``x`` alone: an integer overflow (BIGINT arithmetic, ``abs``/``neg``
    of an integer), a double out of BIGINT's range cast to it. Double arithmetic gives infinities, never an error;
    divisions are guarded (:func:`lower_sql`)."""
    if isinstance(x, BinOp):
        return x.op != "div" and t(x) == "int"
    if isinstance(x, Func):
        return x.name in ("abs", "neg", "minimum", "maximum") and t(x) == "int"
    if isinstance(x, Cast):
        return x.dtype == "int" and t(x.operand) == "float"
    return False


def common_subtrees(roots: list[Expr], t: Any, const: Any = None) -> list[tuple[Expr, list[int]]]:
    """The sub-trees of ``roots`` worth computing once as a column of their own, each with the ids of every node
    structurally equal to it, in an order where a sub-tree comes after those it contains.

    Rules compose amounts by Python functions, so one formula repeats sub-trees (the housing aid: 1,060 nodes, 171
    distinct; eight such formulas in one statement, a third of its text). Seen as a graph of distinct sub-trees,
    a node read from two places or more is computed once (every other node then once too, inside its only
    reader). Not shared: columns, literals and constants (folded by :func:`lower_sql`), a node under a condition
    that could raise where the condition spares it (:func:`_may_fail`: computed for every row once shared, it
    could fail on a row its branch never reaches)."""
    sid_of: dict[int, int] = {}
    table: dict[tuple[Any, ...], int] = {}
    rep: list[Expr] = []
    kids: list[tuple[int, ...]] = []
    failing: list[bool] = []
    members: list[list[int]] = []

    def h(x: Expr) -> int:
        k = id(x)
        sid = sid_of.get(k)
        if sid is not None:
            return sid
        ch = tuple(h(c) for c in children(x))
        attrs = tuple(repr(getattr(x, f)) for f in type(x).__slots__ if not isinstance(getattr(x, f), Expr)
                      and not (isinstance(getattr(x, f), tuple) and getattr(x, f)
                               and isinstance(getattr(x, f)[0], Expr)))
        sig = (type(x), attrs, ch)
        sid = table.get(sig)
        if sid is None:
            sid = table[sig] = len(rep)
            rep.append(x)
            kids.append(ch)
            failing.append(_may_fail(x, t) or any(failing[c] for c in ch))
            members.append([])
        members[sid].append(k)
        sid_of[k] = sid
        return sid

    root_sids = [h(r) for r in roots]
    refs = [0] * len(rep)
    for ch in kids:
        for c in ch:
            refs[c] += 1
    for r in root_sids:
        refs[r] += 1
    out = []
    for sid, x in enumerate(rep):  # children are numbered before their parents
        if (refs[sid] >= 2 and not failing[sid] and kids[sid] and not isinstance(x, Col | Lit)
                and (const is None or const(x) is UNKNOWN)):
            out.append((x, members[sid]))
    return out
