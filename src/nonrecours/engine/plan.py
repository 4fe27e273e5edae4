"""Compile rules into a plan of named steps, shared by every backend.

Flattening turns each rule's IR into steps that a backend lowers with a small vocabulary:

- ``input``: a column read from the caller's frames (monthly inputs at a month offset);
- ``formula``: an element-wise expression over columns of the same entity (only ``Col``, ``Lit``,
  ``BinOp``, ``Compare``, ``BoolOp``, ``Not``, ``Where``, ``Func``, ``IsIn``, ``Cast``; parameters are
  already bound to literals and ``shift`` resolved to month offsets);
- ``agg``: a column of a unit aggregated from individu columns (``value``, ``where``) by role;
- ``project``: a unit column brought to its member individus, or a ménage / foyer fiscal column brought
  to a famille through its demandeur.

Steps are created after their dependencies, so the plan order is a topological order; ``level`` groups
steps that can be computed together.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from nonrecours.errors import NotInForceError, NotModelledError, ParameterError, RuleError
from nonrecours.rules.ir import (
    UNIT_ENTITIES,
    Agg,
    BinOp,
    BoolOp,
    Cast,
    Col,
    Compare,
    Condition,
    Expr,
    Func,
    IsIn,
    Lit,
    MonthStart,
    Not,
    Param,
    Project,
    Shift,
    Where,
    children,
    key,
)
from nonrecours.rules.params import Binding, ParameterStore
from nonrecours.rules.registry import Registry, zero_of
from nonrecours.schemas.months import add_months

__all__ = ["MONTH_START", "SUM_SCALE", "Plan", "Step", "add_months", "build_plan", "build_plans", "column_name",
           "dtype_of", "earliest_month", "fixed_point", "input_depths"]

MAX_OFFSET = 120
MONTH_START = "__month_start"
"""``Step.param`` of a column holding the first day of each unit's evaluated month (shifted by the offset)."""

SUM_SCALE = 1e9
"""Fixed point of the sums of decimal values over a unit's members: each member's term is rounded to the nearest
``1 / SUM_SCALE`` (a nano-euro on amounts), the integers summed exactly, the total divided back. A float sum depends
on the order of its terms (the order a backend meets the members in: the frames' layout, their sortedness flags,
DuckDB's threads), and an amount computed one ulp apart can round to another cent; a sum of integers does not. The
terms and the totals are 64-bit integers: a term or a total beyond about ±9.2e9 is refused (an error, never a
wrapped sum)."""


class _Split(Exception):
    """Raised while planning several months at once when a rule has different dated variants in them."""

    def __init__(self, name: str, offset: int) -> None:
        super().__init__(name)
        self.name, self.offset = name, offset


ID = {"individu": "person_id", **{unit: f"{unit}_id" for unit in UNIT_ENTITIES}}
ROLE_COL = {unit: f"{unit}_role" for unit in UNIT_ENTITIES}


def column_name(name: str, offset: int) -> str:
    """Column of a variable at a month offset: ``x`` at 0, ``x__m3`` three months before, ``x__p1`` after."""
    if offset == 0:
        return name
    return f"{name}__{'m' if offset < 0 else 'p'}{abs(offset)}"


@dataclass(frozen=True, slots=True)
class Step:
    """One column to compute on one entity."""

    name: str
    entity: str
    kind: str  # input | formula | agg | project
    dtype: str
    level: int
    deps: tuple[str, ...] = ()
    expr: Expr | None = None  # formula
    variable: str | None = None  # input / rule / condition name
    offset: int = 0
    monthly: bool = False  # input
    default: Any = None  # input / agg
    agg_kind: str | None = None
    fixed: bool = False  # agg "sum" of a float value: an integer sum of fixed_point(value) (see SUM_SCALE)
    roles: tuple[str, ...] | None = None
    value_col: str | None = None  # agg value / project source column
    where_col: str | None = None
    source: str | None = None  # project source entity
    public: bool = False  # a rule or condition at offset 0: goes to the result
    label: str | None = None
    ref: str | None = None
    rule: str | None = None  # for conditions: the rule that declared it
    param: str | None = None  # input built from the evaluated month: a parameter name, or MONTH_START


@dataclass
class Plan:
    """The steps (in dependency order) needed for a set of targets at one month."""

    month: dt.date
    targets: tuple[str, ...]
    months: tuple[dt.date, ...] = ()
    """Evaluated months: one (the usual plan), or several when each unit has its own month (a parameter
    whose value differs between them is then a column, ``Step.param``)."""
    steps: dict[str, Step] = field(default_factory=dict)
    bindings: dict[tuple[str, dt.date], Binding] = field(default_factory=dict)
    rule_bindings: dict[str, set[tuple[str, dt.date]]] = field(default_factory=dict)
    rule_conditions: dict[str, list[str]] = field(default_factory=dict)

    def by_level(self) -> list[list[Step]]:
        levels: dict[int, list[Step]] = {}
        for s in self.steps.values():
            levels.setdefault(s.level, []).append(s)
        return [levels[k] for k in sorted(levels)]

    def inputs(self) -> list[Step]:
        return [s for s in self.steps.values() if s.kind == "input" and s.param is None]

    def month_inputs(self) -> list[Step]:
        """Columns built from each unit's evaluated month: parameters varying between months, month starts."""
        return [s for s in self.steps.values() if s.param is not None]

    @property
    def multi_month(self) -> bool:
        return len(self.months) > 1

    def last_use(self) -> dict[str, int]:
        """Per column, the highest level of a step that reads it (absent: never read)."""
        last: dict[str, int] = {}
        for s in self.steps.values():
            for d in s.deps:
                last[d] = max(last.get(d, 0), s.level)
        return last

    def dead_after(self) -> dict[int, list[Step]]:
        """Per level, the hidden columns (temporaries, shifted rule values) no later step reads: backends
        drop them after that level to keep tables narrow. Rules and conditions of the evaluated month
        and inputs are kept (results and explanations read them)."""
        last = self.last_use()
        out: dict[int, list[Step]] = {}
        for s in self.steps.values():
            if s.public or s.kind == "input":
                continue
            out.setdefault(last.get(s.name, s.level), []).append(s)
        return out

    def needs_unit_link(self) -> set[str]:
        """Unit entities a famille must be linked to through its demandeur (famille -> menage...)."""
        return {s.source for s in self.steps.values()
                if s.kind == "project" and s.entity == "famille" and s.source}


def dtype_of(e: Expr, coltypes: dict[str, str], memo: dict[int, str] | None = None) -> str:
    """Static dtype of a flattened expression. ``memo`` (node id -> dtype), when given, keeps the dtype of every
    node met: a caller typing each node of a tree (the Polars lowering) then types each node once instead of
    again under every ancestor."""
    if memo is None:
        return _dtype_of(e, coltypes, None)
    k = id(e)
    t = memo.get(k)
    if t is None:
        t = memo[k] = _dtype_of(e, coltypes, memo)
    return t


def _dtype_of(e: Expr, coltypes: dict[str, str], memo: dict[int, str] | None) -> str:
    if isinstance(e, Col):
        return coltypes[e.name]
    if isinstance(e, Lit):
        return e.dtype
    if isinstance(e, BinOp):
        if e.op == "div":
            return "float"
        a, b = dtype_of(e.left, coltypes, memo), dtype_of(e.right, coltypes, memo)
        for t in (a, b):
            if t in ("str", "date"):
                raise RuleError(f"arithmetic on a {t} value")
        return "float" if "float" in (a, b) else "int"
    if isinstance(e, Compare | BoolOp | Not | IsIn):
        return "bool"
    if isinstance(e, Where):
        return _unify(dtype_of(e.then, coltypes, memo), dtype_of(e.otherwise, coltypes, memo))
    if isinstance(e, Func):
        if e.name in ("year", "month", "day"):
            return "int"
        if e.name in ("floor", "ceil", "round"):
            return "float"
        ts = [dtype_of(a, coltypes, memo) for a in e.args]
        t = ts[0] if len(ts) == 1 else _unify(*ts)
        return "int" if t == "bool" else t
    if isinstance(e, Cast):
        return e.dtype
    raise RuleError(f"unexpected node {type(e).__name__} in a flattened expression")


def _unify(a: str, b: str) -> str:
    if a == b:
        return a
    nums = {"bool", "int", "float"}
    if a in nums and b in nums:
        return "float" if "float" in (a, b) else "int"
    raise RuleError(f"branches of different types {a} and {b}")


class _Builder:
    def __init__(self, registry: Registry, params: ParameterStore, months: tuple[dt.date, ...],
                 targets: tuple[str, ...]) -> None:
        self.reg, self.params = registry, params
        self.months = months
        self.bound: dict[tuple[str, dt.date], Binding] = {}  # a month's value serves every offset reaching it
        self.plan = Plan(month=months[0], targets=targets, months=months)
        self.coltypes: dict[str, str] = {}
        self.entities: dict[str, str] = {}
        self.memo: dict[tuple[str, str], str] = {}
        self.in_progress: list[tuple[str, int]] = []
        self.current_rule: list[str] = []
        self.ntemp = 0
        self.flattened: dict[tuple[int, str, int, str | None], tuple[Expr, Expr]] = {}

    # -- steps -------------------------------------------------------------------------------------
    def _add(self, step: Step) -> str:
        self.plan.steps[step.name] = step
        self.coltypes[step.name] = step.dtype
        self.entities[step.name] = step.entity
        return step.name

    def _level(self, deps: tuple[str, ...]) -> int:
        return 1 + max((self.plan.steps[d].level for d in deps), default=0)

    def variable(self, name: str, offset: int) -> str:
        """Column of variable ``name`` at ``offset``, creating its steps on first use."""
        if abs(offset) > MAX_OFFSET:
            raise RuleError(f"rule {name}: month offset beyond {MAX_OFFSET} months (recursion in time?)")
        if name in self.reg.inputs:
            var = self.reg.inputs[name]
            off = offset if var.monthly else 0
            col = column_name(name, off)
            if col not in self.plan.steps:
                self._add(Step(col, var.entity, "input", var.dtype, 0, variable=name, offset=off,
                               monthly=var.monthly, default=var.default, label=var.label, ref=var.ref))
            return col
        if name not in self.reg.rules:
            where = f"rule {self.current_rule[-1]}: " if self.current_rule else ""
            raise RuleError(f"{where}unknown variable {name!r}")
        col = column_name(name, offset)
        if col in self.plan.steps:
            return col
        if (name, offset) in self.in_progress:
            chain = [n for n, _ in self.in_progress[self.in_progress.index((name, offset)):]] + [name]
            raise RuleError("cycle between rules: " + " -> ".join(chain))
        month = add_months(self.plan.month, offset)
        variant = self.reg.variant(name, month)
        if any(self.reg.variant(name, add_months(m, offset)) is not variant for m in self.months[1:]):
            raise _Split(name, offset)
        self.in_progress.append((name, offset))
        self.current_rule.append(name)
        try:
            expr = self.flatten(variant.expr, variant.entity, offset)
            t = dtype_of(expr, self.coltypes)
            if t != variant.dtype:
                if {t, variant.dtype} <= {"int", "float", "bool"}:
                    expr = Cast(expr, variant.dtype)
                else:
                    raise RuleError(f"rule {name}: returns {t}, declared {variant.dtype}")
            deps = _cols(expr)
            self._add(Step(col, variant.entity, "formula", variant.dtype, self._level(deps), deps, expr,
                           variable=name, offset=offset, public=offset == 0, label=variant.label,
                           ref=variant.ref))
        finally:
            self.in_progress.pop()
            self.current_rule.pop()
        if offset == 0:
            self.plan.rule_conditions[name] = list(variant.conditions)
        return col

    def temp(self, expr: Expr, entity: str) -> str:
        """Materialise a flattened expression as a hidden column (shared when structurally equal)."""
        if isinstance(expr, Col):
            return expr.name
        k = (entity, key(expr))
        if k not in self.memo:
            self.ntemp += 1
            deps = _cols(expr)
            t = dtype_of(expr, self.coltypes)
            self.memo[k] = self._add(Step(f"__t{self.ntemp}", entity, "formula", t, self._level(deps), deps,
                                          expr))
        return self.memo[k]

    def bind(self, name: str, offset: int, entity: str) -> Expr:
        """The parameter's value: a literal when it is the same in every evaluated month, else a column."""
        values = []
        for m in self.months:
            month = add_months(m, offset)
            b = self.bound.get((name, month))
            if b is None:
                try:
                    b = self.bound[(name, month)] = self.params.bind(name, month)
                except ParameterError as exc:
                    rule = self.current_rule[-1] if self.current_rule else "?"
                    raise type(exc)(f"rule {rule}: {exc}") from exc
            self.plan.bindings[(name, month)] = b
            if self.current_rule:
                self.plan.rule_bindings.setdefault(self.current_rule[-1], set()).add((name, month))
            values.append(b.value)
        kinds = {"int" if isinstance(v, int) else "float" for v in values}
        dtype = "float" if "float" in kinds else "int"
        if len(set(values)) == 1 and len(kinds) == 1:
            return Lit(values[0], dtype)
        return Col(entity, self._month_input(name, offset, entity, dtype))

    def _month_input(self, param: str, offset: int, entity: str, dtype: str) -> str:
        k = (entity, f"month_input:{param}:{offset}")
        if k not in self.memo:
            self.ntemp += 1
            self.memo[k] = self._add(Step(f"__m{self.ntemp}", entity, "input", dtype, 0, offset=offset,
                                          param=param, label=param))
        return self.memo[k]

    # -- flattening --------------------------------------------------------------------------------
    def flatten(self, e: Expr, entity: str, offset: int) -> Expr:
        """``e`` with its variables as the plan's columns at ``offset`` and its parameters bound, for the rule
        being planned. Memoised by the node's identity (held, so that it is not reused), entity, offset and rule:
        the rules' expressions share sub-trees (a helper's result used in several places), which were flattened
        again at each use, 852,505 calls for 33,959 distinct ones in a month's plan of every benefit; the
        flattened trees now share them too, so that what walks them by identity (``rules.ir.template``, the
        folding) reads each once. The rule is in the key because ``bind`` records the parameters each rule
        reads."""
        k = (id(e), entity, offset, self.current_rule[-1] if self.current_rule else None)
        held = self.flattened.get(k)
        if held is not None:
            return held[1]
        out = self._flatten(e, entity, offset)
        self.flattened[k] = (e, out)
        return out

    def _flatten(self, e: Expr, entity: str, offset: int) -> Expr:
        rule = self.current_rule[-1] if self.current_rule else "?"
        if isinstance(e, Col):
            if e.name not in self.reg:
                raise RuleError(f"rule {rule}: unknown variable {e.name!r} (used on {e.entity})")
            actual = self.reg.entity_of(e.name)
            if actual != e.entity:
                raise RuleError(f"rule {rule}: variable {e.name} belongs to {actual}, not {e.entity}")
            if e.entity != entity:
                raise RuleError(f"rule {rule}: variable {e.name} of {e.entity} used in a {entity} context: "
                                "aggregate members or project the unit")
            return Col(entity, self.variable(e.name, offset))
        if isinstance(e, Lit):
            return e
        if isinstance(e, Param):
            if e.name not in self.params:
                raise ParameterError(f"rule {rule}: unknown parameter {e.name}")
            return self.bind(e.name, offset, entity)
        if isinstance(e, MonthStart):
            if len(self.months) > 1:
                return Col(entity, self._month_input(MONTH_START, offset, entity, "date"))
            return Lit(add_months(self.plan.month, offset), "date")
        if isinstance(e, Shift):
            return self.flatten(e.expr, entity, offset + e.months)
        if isinstance(e, Condition):
            col = column_name(e.name, offset)
            if col not in self.plan.steps:
                inner = self.flatten(e.expr, entity, offset)
                t = dtype_of(inner, self.coltypes)
                if t != "bool":
                    raise RuleError(f"rule {rule}: condition {e.label!r} is not a boolean ({t})")
                deps = _cols(inner)
                self._add(Step(col, entity, "formula", "bool", self._level(deps), deps, inner,
                               variable=e.name, offset=offset, public=offset == 0, label=e.label,
                               ref=e.ref, rule=rule))
            elif self.plan.steps[col].entity != entity:
                raise RuleError(f"rule {rule}: condition {e.label!r} used on two entities")
            return Col(entity, col)
        if isinstance(e, Agg):
            if e.unit != entity:
                raise RuleError(f"rule {rule}: aggregate over {e.unit} members used in a {entity} context")
            value_col = where_col = None
            vt = "int"
            if e.expr is not None:
                v = self.flatten(e.expr, "individu", offset)
                vt = dtype_of(v, self.coltypes)
                value_col = self.temp(v, "individu")
            if e.where is not None:
                w = self.flatten(e.where, "individu", offset)
                if dtype_of(w, self.coltypes) != "bool":
                    raise RuleError(f"rule {rule}: aggregate filter is not a boolean")
                where_col = self.temp(w, "individu")
            if e.kind in ("any", "all") and vt != "bool":
                raise RuleError(f"rule {rule}: {e.kind}() needs a boolean")
            if e.kind == "count":
                t = "int"
            elif e.kind in ("any", "all"):
                t = "bool"
            elif e.kind == "sum":
                t = "int"  # a sum of floats is an integer sum of their fixed points, divided back below
                if vt in ("str", "date"):
                    raise RuleError(f"rule {rule}: sum of {vt}")
            else:
                t = vt
            default = e.default
            if e.kind in ("sum", "count"):
                default = zero_of(t)
            elif e.kind == "any":
                default = False
            elif e.kind == "all":
                default = True
            elif default is None:
                default = zero_of(t)
            elif t == "float":
                default = float(default)
            fixed = e.kind == "sum" and vt == "float"
            k = (entity, f"agg:{e.kind}:{e.roles}:{value_col}:{where_col}:{default!r}")
            if k not in self.memo:
                self.ntemp += 1
                deps = tuple(c for c in (value_col, where_col) if c)
                self.memo[k] = self._add(Step(
                    f"__a{self.ntemp}", entity, "agg", t, self._level(deps), deps, agg_kind=e.kind,
                    roles=e.roles, value_col=value_col, where_col=where_col, default=default, fixed=fixed))
            if fixed:  # back to a float, inlined in the readers (no step, hence no level, of its own)
                return BinOp("div", Col(entity, self.memo[k]), Lit(SUM_SCALE, "float"))
            return Col(entity, self.memo[k])
        if isinstance(e, Project):
            if e.target != entity:
                raise RuleError(f"rule {rule}: projection to {e.target} used in a {entity} context")
            if not ((e.target == "individu" and e.source != "individu")
                    or (e.target == "famille" and e.source in ("menage", "foyer_fiscal"))):
                raise RuleError(f"rule {rule}: no projection from {e.source} to {e.target}")
            src = self.temp(self.flatten(e.expr, e.source, offset), e.source)
            t = self.coltypes[src]
            k = (entity, f"proj:{e.source}:{src}")
            if k not in self.memo:
                self.ntemp += 1
                self.memo[k] = self._add(Step(
                    f"__p{self.ntemp}", entity, "project", t, self._level((src,)), (src,),
                    value_col=src, source=e.source, default=zero_of(t)))
            return Col(entity, self.memo[k])
        if isinstance(e, BinOp | Compare | BoolOp):
            return type(e)(e.op, self.flatten(e.left, entity, offset), self.flatten(e.right, entity, offset))
        if isinstance(e, Not):
            return Not(self.flatten(e.operand, entity, offset))
        if isinstance(e, Where):
            return Where(*(self.flatten(x, entity, offset) for x in (e.cond, e.then, e.otherwise)))
        if isinstance(e, Func):
            return Func(e.name, tuple(self.flatten(a, entity, offset) for a in e.args), e.digits)
        if isinstance(e, IsIn):
            return IsIn(self.flatten(e.operand, entity, offset), e.values)
        if isinstance(e, Cast):
            return Cast(self.flatten(e.operand, entity, offset), e.dtype)
        raise RuleError(f"rule {rule}: unknown IR node {type(e).__name__}")


def fixed_point(value: Expr) -> Expr:
    """The integer a float ``value`` counts in ``1 / SUM_SCALE`` (see :data:`SUM_SCALE`): ``|value| * SUM_SCALE``
    rounded half away from zero, with the sign of ``value``, so that ``x`` and ``-x`` cancel exactly. An IR expression
    that every backend lowers as it lowers the rules (same operations, hence the same integers everywhere); a value
    out of the 64-bit range fails the backend's cast to an integer."""
    magnitude = Cast(BinOp("add", BinOp("mul", Func("abs", (value,)), Lit(SUM_SCALE, "float")), Lit(0.5, "float")),
                     "int")  # truncation of a non-negative value: its floor
    return Where(Compare("lt", value, Lit(0.0, "float")), Func("neg", (magnitude,)), magnitude)


def _cols(e: Expr) -> tuple[str, ...]:
    """The columns ``e`` reads, in the order a pre-order walk first meets them (``distinct``: a sub-tree the
    flattened trees share, ``_Builder.flatten``, is walked once)."""
    from nonrecours.rules.ir import distinct

    return tuple(dict.fromkeys(n.name for n in distinct(e) if isinstance(n, Col)))


def input_depths(targets: list[str] | tuple[str, ...], registry: Registry, month: dt.date) -> dict[str, int]:
    """Per monthly input the targets read at ``month``, the most months before it read (0: none before): the
    depths of the inputs of :func:`build_plan`'s plan at ``month``, found by following the rules' variables and
    month shifts alone. A plan also types, flattens and shares every expression and binds every parameter (0.5 s
    for every benefit's targets); the core asks the depths of each month it builds (the 13 months of a synthetic
    truth), most of them months no evaluation of every target then plans. Whose variables reach which input does
    not depend on the parameters' values (both branches of a condition are planned), so the depths are the plan's.

    A month before the earliest law a target encodes is refused as the plan refuses it (``NotModelledError``, naming
    the benefit and the earliest month it models, exit 5), not as the rule variant missing (« rule aah_plafond: no
    formula in force in 2019-01 », which did not say the month was the problem: an outside tester)."""
    month = month.replace(day=1)
    try:
        return _input_depths(targets, registry, month)
    except NotInForceError as exc:
        if isinstance(exc, NotModelledError):
            raise
        from nonrecours.rules.params import default_parameters

        _build(targets, registry, default_parameters(), (month,))  # raises NotModelledError for the first target out
        raise


def _input_depths(targets: list[str] | tuple[str, ...], registry: Registry, month: dt.date) -> dict[str, int]:
    depth: dict[str, int] = {}
    seen: set[tuple[str, int]] = set()
    # (node, offset) met: a sub-tree a rule shares is followed once (the demo's calls 2.3 → 0.2 s each)
    met: set[tuple[int, int]] = set()
    todo = [(t, 0) for t in targets]
    while todo:
        name, offset = todo.pop()
        if (name, offset) in seen:
            continue
        seen.add((name, offset))
        if abs(offset) > MAX_OFFSET:
            raise RuleError(f"rule {name}: month offset beyond {MAX_OFFSET} months (recursion in time?)")
        var = registry.inputs.get(name)
        if var is not None:
            if var.monthly:
                depth[name] = max(depth.get(name, 0), -offset)
            continue
        if name not in registry.rules:
            raise RuleError(f"unknown variable {name!r}")
        exprs: list[tuple[Expr, int]] = [(registry.variant(name, add_months(month, offset)).expr, offset)]
        while exprs:
            e, off = exprs.pop()
            if (id(e), off) in met:  # the registry holds every node: identities are not reused meanwhile
                continue
            met.add((id(e), off))
            if isinstance(e, Col):
                todo.append((e.name, off))
            elif isinstance(e, Shift):
                exprs.append((e.expr, off + e.months))
            else:
                exprs.extend((c, off) for c in children(e))
    return depth


def build_plan(targets: list[str] | tuple[str, ...], registry: Registry, params: ParameterStore,
               month: dt.date) -> Plan:
    """Steps needed to compute ``targets`` (rule names) at ``month``, in dependency order."""
    return _build(targets, registry, params, (month.replace(day=1),))


def build_plans(targets: list[str] | tuple[str, ...], registry: Registry, params: ParameterStore,
                months: list[dt.date] | tuple[dt.date, ...]) -> list[Plan]:
    """As few plans as possible covering ``months`` (units each evaluated at one of them): one plan unless
    a rule the targets need has different dated variants in some of the months, then one per variant set.
    Planning costs about as much as running the rules on a few thousand units, so simulations spread over
    many months plan once instead of once per month."""
    ms = tuple(sorted({m.replace(day=1) for m in months}))
    if not ms:
        raise RuleError("no month given")
    try:
        return [_build(targets, registry, params, ms)]
    except _Split as split:
        groups: dict[int, list[dt.date]] = {}
        for m in ms:
            groups.setdefault(id(registry.variant(split.name, add_months(m, split.offset))), []).append(m)
        return [p for g in groups.values() for p in build_plans(targets, registry, params, g)]


def _build(targets: list[str] | tuple[str, ...], registry: Registry, params: ParameterStore,
           months: tuple[dt.date, ...]) -> Plan:
    if not targets:
        raise RuleError("no target rule given")
    params.warn_past_checked(months)
    b = _Builder(registry, params, months, tuple(targets))
    for t in targets:
        if t not in registry.rules:
            raise RuleError(f"target {t!r} is not a rule" + (" (it is an input)" if t in registry.inputs
                                                            else ""))
        try:
            b.variable(t, 0)
        except NotInForceError as exc:
            if isinstance(exc, NotModelledError):
                raise
            month = min(months)  # the earliest evaluated month is the first one out of the law's range
            earliest = earliest_month(t, registry, params, month)
            since = (f"the earliest month it models is {earliest:%Y-%m}" if earliest is not None
                     else f"no month of the {EARLIEST_SCAN} following is modelled either")
            raise NotModelledError(f"{t}: not modelled in {month:%Y-%m}; {since} (why: {exc})",
                                   benefit=t, month=month, earliest=earliest) from exc
    return b.plan


EARLIEST_SCAN = 240
"""Months scanned forward for the first one a refused target can be computed in (error path only)."""


def earliest_month(target: str, registry: Registry, params: ParameterStore, after: dt.date) -> dt.date | None:
    """First month from ``after`` on whose plan for ``target`` binds every parameter and rule variant it
    reads, reference months included (None if none within :data:`EARLIEST_SCAN` months)."""
    for k in range(1, EARLIEST_SCAN + 1):
        m = add_months(after, k)
        try:
            _Builder(registry, params, (m,), (target,)).variable(target, 0)
        except RuleError:  # not in force yet, or a parameter changing mid-month: not computable either
            continue
        return m
    return None
