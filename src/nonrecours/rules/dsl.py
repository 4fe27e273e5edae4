"""The rules DSL: decorators, entity proxies and helper functions that build IR nodes.

A rule is a plain function of one entity proxy returning an expression::

    @rule(entity="famille", dtype="float", label="RSA: montant forfaitaire", ref="CASF art. L262-2",
          start="2024-01-01")
    def rsa_montant_forfaitaire(f: Famille) -> Expr:
        n_enf = f.count(role="enfant")
        return param("minima_sociaux.rsa.montant_de_base") * (1 + 0.5 * where(n_enf > 0, 1, 0))

The function runs once, at import, to build an immutable IR tree; variables are referenced by name and
resolved when a plan is compiled, so modules may reference rules declared later. No engine is imported
here: rules never see Polars or DuckDB.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from typing import Any

from nonrecours.errors import RuleError
from nonrecours.rules.ir import (
    DTYPES,
    ENTITIES,
    ROLES,
    Agg,
    Col,
    Condition,
    Expr,
    Func,
    MonthStart,
    Param,
    Project,
    Shift,
    Where,
    to_expr,
    walk,
)
from nonrecours.rules.registry import _DEFAULT, InputVariable, Registry, RuleVariant, _as_date, zero_of

__all__ = [
    "Expr",
    "Famille",
    "FoyerFiscal",
    "Individu",
    "Menage",
    "abs_",
    "ceil",
    "condition",
    "day_of",
    "floor",
    "input_variable",
    "is_in",
    "lit",
    "maximum",
    "mean_over",
    "minimum",
    "month_of",
    "month_start",
    "param",
    "round_",
    "rule",
    "shift",
    "sum_over",
    "where",
    "year_of",
    "years_between",
]

# --------------------------------------------------------------------------------------------------
# proxies


class _Proxy:
    """Attribute access references a variable of ``_entity``; ``p["name"]`` does the same for names
    that clash with a method (``sum``, ``count``, ``members``...)."""

    _entity: str = ""

    def __getattr__(self, name: str) -> Expr:
        if name.startswith("_"):
            raise AttributeError(name)
        return Col(self._entity, name)

    def __getitem__(self, name: str) -> Expr:
        return Col(self._entity, name)

    def __repr__(self) -> str:
        return f"<{self._entity} proxy>"


class Individu(_Proxy):
    """An individu. ``i.famille.x`` / ``i.menage.x`` / ``i.foyer_fiscal.x``: the value of its unit."""

    _entity = "individu"

    @property
    def famille(self) -> _Projected:
        return _Projected(Famille(), "individu")

    @property
    def menage(self) -> _Projected:
        return _Projected(Menage(), "individu")

    @property
    def foyer_fiscal(self) -> _Projected:
        return _Projected(FoyerFiscal(), "individu")


def _roles_tuple(unit: str, role: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...] | None:
    if role is None:
        return None
    roles = (role,) if isinstance(role, str) else tuple(role)
    for r in roles:
        if r not in ROLES[unit]:
            raise RuleError(f"unknown role {r!r} in {unit}; expected one of {ROLES[unit]}")
    return roles


class _Unit(_Proxy):
    """A unit of individus (famille, foyer fiscal, ménage) with aggregates over its members.

    ``members`` is a proxy of the member individus, to use inside aggregates:
    ``f.sum(f.members.salaire, role=("demandeur", "conjoint"))``.
    """

    @property
    def members(self) -> Individu:
        return Individu()

    def _agg(self, kind: str, expr: Any, role: Any, where: Any, default: Any) -> Expr:
        e = None if expr is None else to_expr(expr)
        w = None if where is None else to_expr(where)
        return Agg(kind, self._entity, e, _roles_tuple(self._entity, role), w, default)

    def sum(self, expr: Any, role: str | tuple[str, ...] | None = None, where: Any = None) -> Expr:
        """Sum over members (0 when none). Booleans count as 0/1."""
        return self._agg("sum", expr, role, where, None)

    def count(self, role: str | tuple[str, ...] | None = None, where: Any = None) -> Expr:
        """Number of members (with that role, satisfying ``where``)."""
        return self._agg("count", None, role, where, None)

    def any(self, cond: Any, role: str | tuple[str, ...] | None = None, where: Any = None) -> Expr:
        """True when ``cond`` holds for at least one member (False when none)."""
        return self._agg("any", cond, role, where, None)

    def all(self, cond: Any, role: str | tuple[str, ...] | None = None, where: Any = None) -> Expr:
        """True when ``cond`` holds for every member (True when none)."""
        return self._agg("all", cond, role, where, None)

    def max(self, expr: Any, role: str | tuple[str, ...] | None = None, where: Any = None,
            default: Any = None) -> Expr:
        """Largest value over members; ``default`` (0 of the dtype unless given) when none."""
        return self._agg("max", expr, role, where, default)

    def min(self, expr: Any, role: str | tuple[str, ...] | None = None, where: Any = None,
            default: Any = None) -> Expr:
        """Smallest value over members; ``default`` (0 of the dtype unless given) when none."""
        return self._agg("min", expr, role, where, default)

    def value_of(self, role: str | tuple[str, ...], expr: Any, default: Any = None) -> Expr:
        """Value of the member with ``role`` (the one with the smallest person_id if several);
        ``default`` (0 / False / "" of the dtype unless given) when the unit has no such member."""
        return self._agg("value_of", expr, role, None, default)


class Famille(_Unit):
    """A famille (CAF household). ``f.menage.x`` / ``f.foyer_fiscal.x``: via its demandeur."""

    _entity = "famille"

    @property
    def menage(self) -> _Projected:
        return _Projected(Menage(), "famille")

    @property
    def foyer_fiscal(self) -> _Projected:
        return _Projected(FoyerFiscal(), "famille")


class FoyerFiscal(_Unit):
    _entity = "foyer_fiscal"


class Menage(_Unit):
    _entity = "menage"


class _Projected:
    """A unit seen from a member (or from a famille): every expression built is projected back."""

    def __init__(self, unit: _Unit, target: str) -> None:
        self._unit, self._target = unit, target

    def _wrap(self, e: Expr) -> Expr:
        return Project(self._unit._entity, self._target, e)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        attr = getattr(self._unit, name)
        if isinstance(attr, Expr):
            return self._wrap(attr)
        if isinstance(attr, _Proxy):  # ``i.famille.members``: the members, used inside an aggregate
            return attr
        if callable(attr):
            return lambda *a, **k: self._wrap(attr(*a, **k))
        raise RuleError(f"{name} cannot be projected from {self._unit._entity}")

    def __getitem__(self, name: str) -> Expr:
        return self._wrap(self._unit[name])


PROXIES: dict[str, type[_Proxy]] = {
    "individu": Individu, "famille": Famille, "foyer_fiscal": FoyerFiscal, "menage": Menage,
}

# --------------------------------------------------------------------------------------------------
# functions


def lit(value: Any) -> Expr:
    """A literal (number, bool, string or date)."""
    return to_expr(value)


def param(name: str) -> Expr:
    """A dated parameter by dotted name (file path below ``rules/parameters`` without ``.yaml``)."""
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]+(\.[a-z0-9_]+)*", name):
        raise RuleError(f"malformed parameter name {name!r}")
    return Param(name)


def where(cond: Any, then: Any, otherwise: Any) -> Expr:
    """``then`` where ``cond`` holds, else ``otherwise`` (both branches are computed: guard them)."""
    return Where(to_expr(cond), to_expr(then), to_expr(otherwise))


def minimum(a: Any, b: Any) -> Expr:
    return Func("minimum", (to_expr(a), to_expr(b)))


def maximum(a: Any, b: Any) -> Expr:
    return Func("maximum", (to_expr(a), to_expr(b)))


def abs_(x: Any) -> Expr:
    return Func("abs", (to_expr(x),))


def floor(x: Any) -> Expr:
    return Func("floor", (to_expr(x),))


def ceil(x: Any) -> Expr:
    return Func("ceil", (to_expr(x),))


def round_(x: Any, digits: int = 0) -> Expr:
    """Round half away from zero to ``digits`` decimals (see the IR docstring for the exact formula)."""
    if not isinstance(digits, int) or not 0 <= digits <= 9:
        raise RuleError("round_ digits must be an int in 0..9")
    return Func("round", (to_expr(x),), digits)


def is_in(x: Any, values: Any) -> Expr:
    return to_expr(x).is_in(values)


def month_start() -> Expr:
    """The first day of the evaluated month (shifted with ``shift``)."""
    return MonthStart()


def year_of(d: Any) -> Expr:
    return Func("year", (to_expr(d),))


def month_of(d: Any) -> Expr:
    return Func("month", (to_expr(d),))


def day_of(d: Any) -> Expr:
    return Func("day", (to_expr(d),))


def years_between(start: Any, end: Any) -> Expr:
    """Whole years from ``start`` to ``end`` (an age: ``years_between(i.date_naissance, month_start())``)."""
    s, e = to_expr(start), to_expr(end)
    before = (month_of(e) < month_of(s)) | ((month_of(e) == month_of(s)) & (day_of(e) < day_of(s)))
    return year_of(e) - year_of(s) - where(before, 1, 0)


def shift(expr: Any, months: int) -> Expr:
    """``expr`` evaluated ``months`` months away (``-1``: the month before the evaluated month)."""
    if not isinstance(months, int):
        raise RuleError("shift months must be an int")
    e = to_expr(expr)
    return e if months == 0 else Shift(e, months)


def sum_over(expr: Any, start: int, end: int) -> Expr:
    """Sum of ``expr`` over months ``start``..``end`` relative to the evaluated month (inclusive)."""
    if not (isinstance(start, int) and isinstance(end, int)) or start > end:
        raise RuleError("sum_over needs int bounds with start <= end")
    e = to_expr(expr)
    total: Expr = shift(e, start)
    for k in range(start + 1, end + 1):
        total = total + shift(e, k)
    return total


def mean_over(expr: Any, start: int, end: int) -> Expr:
    """Mean of ``expr`` over months ``start``..``end`` relative to the evaluated month (inclusive)."""
    return sum_over(expr, start, end) / float(end - start + 1)


# --------------------------------------------------------------------------------------------------
# conditions and declarations

_BUILDING: contextvars.ContextVar[tuple[str, dict[str, int]] | None] = contextvars.ContextVar(
    "_BUILDING", default=None)


def _slug(label: str) -> str:
    s = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode().lower()
    s = re.sub(r"[^a-z0-9]+", "_", s).strip("_")
    return s[:48].rstrip("_") or "condition"


def condition(label: str, expr: Any, ref: str | None = None) -> Expr:
    """A labelled legal condition: a boolean expression that also becomes its own output column
    ``<rule>__<slug of label>``, so results explain which conditions held."""
    if not isinstance(label, str) or not label.strip():
        raise RuleError("a condition needs a non-empty label")
    state = _BUILDING.get()
    if state is None:
        raise RuleError(f"condition {label!r} used outside a rule body")
    rule_name, seen = state
    base = f"{rule_name}__{_slug(label)}"
    n = seen.get(base, 0) + 1
    seen[base] = n
    name = base if n == 1 else f"{base}_{n}"
    return Condition(name, label, ref, to_expr(expr))


def input_variable(name: str, *, entity: str, dtype: str, monthly: bool, label: str,
                   default: Any = None, ref: str | None = None, registry: Registry | None = None) -> None:
    """Declare an input column (so the IR can list the inputs a set of rules needs).

    ``default`` replaces nulls and missing months (0 / 0.0 / False / "" of the dtype unless given).
    """
    if entity not in ENTITIES:
        raise RuleError(f"input {name}: unknown entity {entity!r}")
    if dtype not in DTYPES:
        raise RuleError(f"input {name}: unknown dtype {dtype!r}")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or "__" in name:
        raise RuleError(f"input {name!r}: names are lower_snake_case without a double underscore")
    if isinstance(default, str) and dtype == "date":
        default = dt.date.fromisoformat(default)
    reg = registry if registry is not None else _DEFAULT
    reg.add_input(InputVariable(name, entity, dtype, bool(monthly), label,
                                zero_of(dtype) if default is None else default, ref))


def rule(*, entity: str, dtype: str, label: str, ref: str | None = None,
         start: str | dt.date | None = None, end: str | dt.date | None = None,
         name: str | None = None, registry: Registry | None = None) -> Callable[[Callable[..., Any]], Any]:
    """Register the decorated function as a (dated variant of a) rule of ``entity``.

    Several functions may share a ``name`` with non-overlapping [start, end] (inclusive dates, start on
    the first of a month): the variant in force on the first day of the evaluated month is used. The
    decorated function is returned unchanged, so modules can define ``rsa_2024`` and ``rsa_2025``
    variants under ``name="rsa"``.
    """
    if entity not in ENTITIES:
        raise RuleError(f"rule: unknown entity {entity!r}")
    if dtype not in DTYPES:
        raise RuleError(f"rule: unknown dtype {dtype!r}")
    s, e = _as_date(start, "rule start"), _as_date(end, "rule end")
    reg = registry if registry is not None else _DEFAULT

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        rname = name or fn.__name__
        if not re.fullmatch(r"[a-z][a-z0-9_]*", rname) or "__" in rname:
            raise RuleError(f"rule {rname!r}: names are lower_snake_case without a double underscore")
        token = _BUILDING.set((rname, {}))
        try:
            out = fn(PROXIES[entity]())
        except RuleError as exc:
            raise RuleError(f"rule {rname}: {exc}") from exc
        finally:
            _BUILDING.reset(token)
        if out is None:
            raise RuleError(f"rule {rname}: the function returned nothing")
        expr = to_expr(out)
        conds = tuple(dict.fromkeys(n.name for n in _walk_conditions(expr)))
        reg.add_variant(RuleVariant(rname, entity, dtype, label, ref, s, e, expr, conds,
                                    f"{fn.__module__}.{fn.__qualname__}"))
        return fn

    return deco


def _walk_conditions(expr: Expr) -> list[Condition]:
    return [n for n in walk(expr) if isinstance(n, Condition)]
