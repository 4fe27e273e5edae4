"""The immutable intermediate representation (IR) that rules build and engines lower.

Every node is a frozen dataclass. Python operators on nodes build new nodes (``a + b`` is ``BinOp``), so
rule bodies read like arithmetic. Nodes compare structurally through :func:`key` (``==`` is overloaded to
build a comparison node, so never put nodes in a ``set`` or use ``in`` on a list of nodes).

Semantics fixed here, for every backend:

- inputs: a null input value, or a missing month of a monthly input, is the input's declared default;
- ``x / 0`` is ``0`` (a ratio with an empty denominator contributes nothing);
- aggregates over an empty set of members: ``sum`` 0, ``count`` 0, ``any`` False, ``all`` True,
  ``max``/``min``/``value_of`` the aggregate's ``default`` (0 unless given);
- ``value_of(role, e)`` takes the member with that role with the smallest ``person_id``;
- ``round_(x, d)`` rounds half away from zero with a 1e-9 tolerance on the scaled value
  (``sign(x) * floor(|x| * 10^d + 0.5 + ROUND_TOLERANCE) / 10^d``), identical on every backend, and the one
  rounding of amounts elsewhere too (``simulate``'s output: ``engine.round_columns``);
- household composition is the one of the evaluated month, also for shifted months.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from typing import Any

from nonrecours.errors import RuleError
from nonrecours.schemas.codes import ROLES as CODE_ROLES
from nonrecours.schemas.codes import UNIT_KINDS

__all__ = [
    "DTYPES",
    "ENTITIES",
    "ROLES",
    "ROUND_TOLERANCE",
    "Agg",
    "BinOp",
    "BoolOp",
    "Cast",
    "Col",
    "Compare",
    "Condition",
    "Expr",
    "Func",
    "IsIn",
    "Lit",
    "MonthStart",
    "Not",
    "Param",
    "Project",
    "Shift",
    "Where",
    "children",
    "distinct",
    "entity_of",
    "key",
    "mapped",
    "template",
    "to_expr",
    "walk",
]

ROUND_TOLERANCE = 1e-9
"""Added to the scaled magnitude before ``round_``'s floor: a value within it of a half (the float noise of a
computed amount, 2.675 being 2.67499999... in binary) rounds as the half, away from zero. Every backend's lowering
reads it here."""

UNIT_ENTITIES: tuple[str, ...] = UNIT_KINDS
"""Units of individus, with their roles: the canonical codes (schemas.codes), so rules and data agree."""
ENTITIES: tuple[str, ...] = ("individu", *UNIT_ENTITIES)
ROLES: dict[str, tuple[str, ...]] = CODE_ROLES
DTYPES: tuple[str, ...] = ("float", "int", "bool", "str", "date")

AGG_KINDS = ("sum", "count", "any", "all", "max", "min", "value_of")
ARITH_OPS = ("add", "sub", "mul", "div")
COMPARE_OPS = ("eq", "ne", "lt", "le", "gt", "ge")
FUNCS = {  # name -> arity
    "minimum": 2, "maximum": 2, "abs": 1, "neg": 1, "floor": 1, "ceil": 1, "round": 1,
    "year": 1, "month": 1, "day": 1,
}


class Expr:
    """Base of every IR node: operator overloading builds new nodes."""

    __slots__ = ()

    # arithmetic
    def __add__(self, o: Any) -> Expr: return BinOp("add", self, to_expr(o))
    def __radd__(self, o: Any) -> Expr: return BinOp("add", to_expr(o), self)
    def __sub__(self, o: Any) -> Expr: return BinOp("sub", self, to_expr(o))
    def __rsub__(self, o: Any) -> Expr: return BinOp("sub", to_expr(o), self)
    def __mul__(self, o: Any) -> Expr: return BinOp("mul", self, to_expr(o))
    def __rmul__(self, o: Any) -> Expr: return BinOp("mul", to_expr(o), self)
    def __truediv__(self, o: Any) -> Expr: return BinOp("div", self, to_expr(o))
    def __rtruediv__(self, o: Any) -> Expr: return BinOp("div", to_expr(o), self)
    def __neg__(self) -> Expr: return Func("neg", (self,))
    def __abs__(self) -> Expr: return Func("abs", (self,))

    # comparisons (build nodes: never use nodes as dict keys or in `in` tests)
    def __eq__(self, o: Any) -> Expr: return Compare("eq", self, to_expr(o))  # type: ignore[override]
    def __ne__(self, o: Any) -> Expr: return Compare("ne", self, to_expr(o))  # type: ignore[override]
    def __lt__(self, o: Any) -> Expr: return Compare("lt", self, to_expr(o))
    def __le__(self, o: Any) -> Expr: return Compare("le", self, to_expr(o))
    def __gt__(self, o: Any) -> Expr: return Compare("gt", self, to_expr(o))
    def __ge__(self, o: Any) -> Expr: return Compare("ge", self, to_expr(o))

    # boolean logic
    def __and__(self, o: Any) -> Expr: return BoolOp("and", self, to_expr(o))
    def __rand__(self, o: Any) -> Expr: return BoolOp("and", to_expr(o), self)
    def __or__(self, o: Any) -> Expr: return BoolOp("or", self, to_expr(o))
    def __ror__(self, o: Any) -> Expr: return BoolOp("or", to_expr(o), self)
    def __invert__(self) -> Expr: return Not(self)

    def __bool__(self) -> bool:
        raise RuleError("an IR expression has no truth value: use &, |, ~ and where(), not and/or/not/if")

    __hash__ = object.__hash__

    def is_in(self, values: Any) -> Expr:
        """Membership in a literal list (no null in the list: nulls never reach rules)."""
        vals = tuple(values)
        if not vals:
            raise RuleError("is_in needs at least one value")
        return IsIn(self, tuple(v.value if isinstance(v, Lit) else v for v in vals))

    def cast(self, dtype: str) -> Expr:
        """Convert to float, int (truncates towards zero) or bool (non-zero is True)."""
        if dtype not in ("float", "int", "bool"):
            raise RuleError(f"cast only to float, int or bool, not {dtype!r}")
        return Cast(self, dtype)


def _node(cls: type) -> type:
    return dataclass(frozen=True, eq=False, repr=True, slots=True)(cls)


@_node
class Col(Expr):
    """A variable (input or rule) of ``entity``, at the month being evaluated."""

    entity: str
    name: str


@_node
class Lit(Expr):
    """A literal value; ``dtype`` is inferred from the Python type."""

    value: Any
    dtype: str


@_node
class Param(Expr):
    """A dated parameter, bound to its value on the first day of the evaluated (possibly shifted) month."""

    name: str


@_node
class MonthStart(Expr):
    """The first day of the evaluated (possibly shifted) month, as a date."""


@_node
class BinOp(Expr):
    op: str
    left: Expr
    right: Expr


@_node
class Compare(Expr):
    op: str
    left: Expr
    right: Expr


@_node
class BoolOp(Expr):
    op: str
    left: Expr
    right: Expr


@_node
class Not(Expr):
    operand: Expr


@_node
class Where(Expr):
    cond: Expr
    then: Expr
    otherwise: Expr


@_node
class Func(Expr):
    """A scalar function of FUNCS; ``digits`` only for ``round``."""

    name: str
    args: tuple[Expr, ...]
    digits: int = 0


@_node
class IsIn(Expr):
    operand: Expr
    values: tuple[Any, ...]


@_node
class Cast(Expr):
    operand: Expr
    dtype: str


@_node
class Agg(Expr):
    """Aggregate over the member individus of a unit ``unit`` (famille, foyer_fiscal, menage).

    ``expr`` and ``where`` are individu-level expressions; ``roles`` filters members by their role in
    ``unit`` (None: every member). ``expr`` is None for ``count``.
    """

    kind: str
    unit: str
    expr: Expr | None
    roles: tuple[str, ...] | None
    where: Expr | None
    default: Any = None


@_node
class Project(Expr):
    """The value of ``expr`` (an expression of entity ``source``) brought to entity ``target``.

    individu <- famille / foyer_fiscal / menage: the value of the individu's unit;
    famille <- menage / foyer_fiscal: the value of the unit of the famille's demandeur.
    """

    source: str
    target: str
    expr: Expr


@_node
class Shift(Expr):
    """``expr`` evaluated ``months`` months away from the evaluated month (negative: the past)."""

    expr: Expr
    months: int


@_node
class Condition(Expr):
    """A labelled legal condition: a boolean that becomes its own output column ``name``."""

    name: str
    label: str
    ref: str | None
    expr: Expr


def to_expr(value: Any) -> Expr:
    """Wrap a Python literal as ``Lit`` (numbers, bools, strings, dates); leave nodes unchanged."""
    if isinstance(value, Expr):
        return value
    if isinstance(value, bool):
        return Lit(value, "bool")
    if isinstance(value, int):
        return Lit(value, "int")
    if isinstance(value, float):
        return Lit(value, "float")
    if isinstance(value, str):
        return Lit(value, "str")
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return Lit(value, "date")
    raise RuleError(f"cannot use a value of type {type(value).__name__} in a rule expression")


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
"""The field names of each node class, in declaration order (``dataclasses.fields`` rebuilds them at each call:
it was a third of the planning time, which walks every flattened expression)."""


def children(node: Expr) -> Iterator[Expr]:
    """Direct sub-expressions of a node."""
    names = _FIELD_NAMES.get(type(node))
    if names is None:
        names = _FIELD_NAMES[type(node)] = tuple(f.name for f in fields(node))  # type: ignore[arg-type]
    for name in names:
        v = getattr(node, name)
        if isinstance(v, Expr):
            yield v
        elif isinstance(v, tuple):
            yield from (x for x in v if isinstance(x, Expr))


def mapped(node: Expr, fn: Callable[[Expr], Expr]) -> Expr:
    """``node`` with each direct sub-expression ``c`` replaced by ``fn(c)``; ``node`` itself when every one is the
    same object (callers memoising by node keep their memo)."""
    names = _FIELD_NAMES.get(type(node))
    if names is None:
        names = _FIELD_NAMES[type(node)] = tuple(f.name for f in fields(node))  # type: ignore[arg-type]
    values: list[Any] = []
    changed = False
    for name in names:
        v = getattr(node, name)
        if isinstance(v, Expr):
            new: Any = fn(v)
            changed = changed or new is not v
        elif isinstance(v, tuple):
            new = tuple(fn(x) if isinstance(x, Expr) else x for x in v)
            changed = changed or any(a is not b for a, b in zip(new, v, strict=True))
        else:
            new = v
        values.append(new)
    return type(node)(*values) if changed else node


def walk(node: Expr) -> Iterator[Expr]:
    """Every node of the tree, pre-order."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(list(children(n))))


def distinct(node: Expr) -> Iterator[Expr]:
    """Every node of the tree once, pre-order: a sub-tree met again (the same object: a rule's expressions
    share them, a helper's result read in several places) is not walked again. What ``walk`` meets, without
    the repeats, in the order it first meets them."""
    seen: set[int] = set()  # the tree holds every node while this runs: identities are not reused
    stack = [node]
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        yield n
        stack.extend(reversed(list(children(n))))


def key(node: Expr) -> str:
    """A structural key: equal for structurally equal trees (used to share work)."""
    return repr(node)


def template(node: Expr, memo: dict[int, tuple[Expr, int, tuple[str, ...]]],
             ids: dict[tuple[Any, ...], int]) -> tuple[int, tuple[str, ...]]:
    """The tree's structure with its columns' names left out, as a number, and those names in pre-order (as
    ``walk`` meets them): two trees are equal, their columns renamed alike, when their numbers and the pattern of
    their names are (what ``key`` of the renamed trees said, without building and printing them: that was half
    the first evaluation of a plan). Numbers are given in ``ids``; ``memo`` keeps each node met (by identity,
    the node held so that its identity is not reused), so a subtree shared by many trees is read once. Values
    (literals, roles...) are told apart by their type and ``repr``, as ``key`` tells them."""
    held = memo.get(id(node))
    if held is not None:
        return held[1], held[2]
    names = _FIELD_NAMES.get(type(node))
    if names is None:
        names = _FIELD_NAMES[type(node)] = tuple(f.name for f in fields(node))  # type: ignore[arg-type]
    parts: list[Any] = []
    occurs: tuple[str, ...] = ()
    for name in names:
        v = getattr(node, name)
        if isinstance(node, Col) and name == "name":
            occurs = (v,)
        elif isinstance(v, Expr):
            number, more = template(v, memo, ids)
            parts.append(number)
            occurs += more
        elif isinstance(v, tuple) and any(isinstance(x, Expr) for x in v):
            inner: list[Any] = []
            for x in v:
                if isinstance(x, Expr):
                    number, more = template(x, memo, ids)
                    inner.append(number)
                    occurs += more
                else:
                    inner.append((type(x), repr(x)))
            parts.append(tuple(inner))
        else:
            parts.append((type(v), repr(v)))
    number = ids.setdefault((type(node), tuple(parts)), len(ids))
    memo[id(node)] = (node, number, occurs)
    return number, occurs


def entity_of(node: Expr) -> str | None:
    """The entity an expression is evaluated at (None for a constant). Raises on a mix of entities."""
    if isinstance(node, Col):
        return node.entity
    if isinstance(node, Agg):
        return node.unit
    if isinstance(node, Project):
        return node.target
    if isinstance(node, Lit | Param | MonthStart):
        return None
    found: str | None = None
    for c in children(node):
        e = entity_of(c)
        if e is not None and found is not None and e != found:
            raise RuleError(
                f"an expression mixes entities {found} and {e}: aggregate members (f.sum(...)) or "
                "project a unit onto its members (i.famille.x)")
        found = found or e
    return found
