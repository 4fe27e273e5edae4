"""Lowering of a plan to Polars: element-wise formulas become expressions, aggregates a ``group_by`` + join,
projections a join. No Python work per row.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import numpy as np
import polars as pl

from nonrecours.engine.folding import common_subtrees, const_folder, fold
from nonrecours.engine.inputs import PL_DTYPES, literal
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
    mapped,
    template,
    walk,
)

__all__ = ["lower_polars", "round_columns", "run_polars", "shared_plan"]

BACKEND = "polars"
ZERO = "__zero"
"""A Float64 column of zeros added to every frame while rules run (see the division lowering)."""


def _as(e: pl.Expr, have: str, want: str) -> pl.Expr:
    return e if have == want else e.cast(PL_DTYPES[want])


def with_zero(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with the Float64 column ``ZERO`` of zeros that the lowered expressions divide by, materialised (a
    ``pl.lit`` would be stored as a scalar column and divided as a scalar)."""
    return frame.with_columns(pl.zeros(frame.height, dtype=pl.Float64, eager=True).alias(ZERO))


def round_half_away(value: pl.Expr, digits: int) -> pl.Expr:
    """``value`` rounded to ``digits`` decimals half away from zero, the IR's ``round_`` (``rules.ir``: its formula
    and ``ROUND_TOLERANCE``), as a Polars expression over a frame holding the column ``ZERO`` (``with_zero``): the
    rules' rounding, and ``simulate``'s of its amounts to the cent."""
    f = value.cast(pl.Float64)
    scale = float(10 ** digits)
    sign = pl.when(f < 0).then(pl.lit(-1.0)).otherwise(pl.lit(1.0))
    # divided by a column, as in the division above: by the scalar, Polars multiplies by 0.01 and 25045
    # cents came out 250.45000000000002, not DuckDB's (and IEEE's) 250.45
    return sign * (((f.abs() * scale) + 0.5 + ROUND_TOLERANCE).floor() / (pl.col(ZERO) + scale))


def round_columns(frame: pl.DataFrame, digits: int) -> pl.DataFrame:
    """Every column of ``frame`` (numbers) rounded to ``digits`` decimals as the rules' ``round_`` rounds them
    (``round_half_away``: half away from zero, ``ROUND_TOLERANCE``), as Float64: ``simulate`` rounds its amounts to
    the cent with it, not with Python's ``round``."""
    return with_zero(frame).select(round_half_away(pl.col(c), digits).alias(c) for c in frame.columns)


def lower_polars(e: Expr, coltypes: dict[str, str]) -> pl.Expr:
    """A flattened IR expression as a Polars expression (never null when its columns are not null). It reads the
    column ``ZERO`` (added by :func:`run_polars`) where it divides by a constant: a division and ``round``."""

    types: dict[int, str] = {}

    def t(x: Expr) -> str:  # memoised by node identity, sub-trees included (dtype_of is recursive)
        return dtype_of(x, coltypes, types)

    def num(x: Expr) -> pl.Expr:  # booleans take part in arithmetic as 0/1
        return _as(go(x), t(x), "int") if t(x) == "bool" else go(x)

    lowered: dict[int, tuple[Expr, pl.Expr]] = {}

    def go(x: Expr) -> pl.Expr:  # memoised by node identity: a flattened tree shares sub-trees (plan.flatten)
        held = lowered.get(id(x))
        if held is None:
            held = lowered[id(x)] = (x, lower(x))
        return held[1]

    def lower(x: Expr) -> pl.Expr:
        if isinstance(x, Col):
            return pl.col(x.name)
        if isinstance(x, Lit):
            return literal(x.value, x.dtype)
        if isinstance(x, BinOp):
            a, b = num(x.left), num(x.right)
            if x.op == "add":
                return a + b
            if x.op == "sub":
                return a - b
            if x.op == "mul":
                return a * b
            if x.op == "div":
                # Both branches are computed: the division by zero yields inf, then discarded.
                # Polars divides a column by a scalar as a product with the reciprocal (1 ulp off the
                # IEEE quotient DuckDB computes): a constant divisor is made a column with a zero column.
                den = b.cast(pl.Float64)
                if not any(isinstance(n, Col) for n in walk(x.right)):
                    den = pl.col(ZERO) + den
                return (pl.when(b == 0).then(pl.lit(0.0, dtype=pl.Float64))
                        .otherwise(a.cast(pl.Float64) / den))
        if isinstance(x, Compare):
            a, b = go(x.left), go(x.right)
            ta, tb = t(x.left), t(x.right)
            if "bool" in (ta, tb) and ta != tb:
                a, b = _as(a, ta, "int"), _as(b, tb, "int")
            return {"eq": a.__eq__, "ne": a.__ne__, "lt": a.__lt__, "le": a.__le__, "gt": a.__gt__,
                    "ge": a.__ge__}[x.op](b)
        if isinstance(x, BoolOp):
            return go(x.left) & go(x.right) if x.op == "and" else go(x.left) | go(x.right)
        if isinstance(x, Not):
            return ~go(x.operand)
        if isinstance(x, Where):
            out = t(x)
            return (pl.when(go(x.cond)).then(_as(go(x.then), t(x.then), out))
                    .otherwise(_as(go(x.otherwise), t(x.otherwise), out)))
        if isinstance(x, Func):
            return func(x)
        if isinstance(x, IsIn):
            vals = pl.Series(list(x.values), dtype=PL_DTYPES[t(x.operand)], strict=False)
            return go(x.operand).is_in(vals.implode())
        if isinstance(x, Cast):
            src = t(x.operand)
            inner = go(x.operand)
            if src in ("str", "date"):
                raise UnsupportedConstructError(f"{BACKEND}: cast from {src} (node Cast)")
            if x.dtype == "bool" and src != "bool":
                return inner != 0
            if x.dtype == "int" and src == "float":
                return inner.cast(pl.Int64)  # truncates towards zero
            return _as(inner, src, x.dtype)
        raise UnsupportedConstructError(f"{BACKEND}: no lowering for node {type(x).__name__}")

    def func(x: Func) -> pl.Expr:
        out = t(x)
        if x.name in ("minimum", "maximum"):
            a, b = (_as(num(y), "int" if t(y) == "bool" else t(y), out) for y in x.args)
            return pl.min_horizontal(a, b) if x.name == "minimum" else pl.max_horizontal(a, b)
        a0 = x.args[0]
        if x.name == "abs":
            return num(a0).abs()
        if x.name == "neg":
            return -num(a0)
        if x.name in ("floor", "ceil"):
            f = num(a0).cast(pl.Float64)
            return f.floor() if x.name == "floor" else f.ceil()
        if x.name == "round":
            return round_half_away(num(a0), x.digits)
        if x.name in ("year", "month", "day"):
            d = go(a0)
            return getattr(d.dt, x.name)().cast(pl.Int64)
        raise UnsupportedConstructError(f"{BACKEND}: no lowering for function {x.name} (node Func)")

    return go(e)


def _role_col(unit: str, roles: tuple[str, ...]) -> str:
    """The temporary column holding whether each individu's role in ``unit`` is one of ``roles`` (``_with_roles``)."""
    return f"__roles__{unit}__{'|'.join(roles)}"


def _with_roles(individu: pl.DataFrame, unit: str, steps: list[Step]) -> pl.DataFrame:
    """``individu`` with a column per set of roles the aggregate ``steps`` keep (``_role_col``), each computed once:
    a test of a text column against a list, repeated in each step's mask (197 counts and 138 sums on simulate's
    rules), took 0.21 CPU s for 200 masks on 117,000 individus against 0.014 for the same masks on a boolean column."""
    sets = sorted({s.roles for s in steps if s.roles is not None})
    return individu.with_columns(
        pl.col(ROLE_COL[unit]).is_in(pl.Series(list(r), dtype=pl.String).implode()).alias(_role_col(unit, r))
        for r in sets) if sets else individu


def _mask(s: Step, unit: str) -> pl.Expr | None:
    """The members an aggregate step keeps (its roles, its condition), read from ``_with_roles``' columns."""
    mask: pl.Expr | None = None
    if s.roles is not None:
        mask = pl.col(_role_col(unit, s.roles))
    if s.where_col is not None:
        mask = pl.col(s.where_col) if mask is None else mask & pl.col(s.where_col)
    return mask


def _masked_value(s: Step, unit: str) -> tuple[Expr, dict[str, str]]:
    """The float value of an aggregate step as an IR expression, 0.0 for the members its roles or condition leave
    out (the mask of ``_mask``), with the column types to lower it."""
    assert s.value_col is not None
    value: Expr = Col("individu", s.value_col)
    coltypes = {s.value_col: "float"}
    keep: Expr | None = None
    if s.roles is not None:
        keep = Col("individu", _role_col(unit, s.roles))
        coltypes[keep.name] = "bool"
    if s.where_col is not None:
        cond = Col("individu", s.where_col)
        keep = cond if keep is None else BoolOp("and", keep, cond)
        coltypes[s.where_col] = "bool"
    return (value if keep is None else Where(keep, value, Lit(0.0, "float"))), coltypes


def _agg_plain(s: Step, unit: str) -> tuple[pl.Expr, pl.Expr]:
    """(pre-aggregation column, aggregation): masks are applied in a column before the ``group_by`` so
    that every aggregation is a plain fast-path one (a ``filter`` inside ``agg`` runs group by group)."""
    mask = _mask(s, unit)
    kind = s.agg_kind
    v = pl.col(s.value_col) if s.value_col else None
    tmp = pl.col(s.name)
    if kind == "count":
        pre = (mask if mask is not None else pl.lit(True)).cast(pl.Int64)
        return pre.alias(s.name), tmp.sum()
    assert v is not None
    if kind == "any":
        pre = (v & mask) if mask is not None else v
        return pre.cast(pl.Int8).alias(s.name), tmp.max()
    if kind == "all":
        pre = (v | ~mask) if mask is not None else v
        return pre.cast(pl.Int8).alias(s.name), tmp.min()
    if kind == "sum":
        assert s.value_col is not None
        if s.fixed:
            # a float value summed as integers (plan.SUM_SCALE); in 64 bits only where no total can reach them, else
            # in 128 bits and a total beyond 64 bits fails the cast back (_aggregate, _wide): never a wrapped sum.
            # The mask is applied to the value before its fixed point is taken: a when's branches may be computed
            # on every row (Polars 1.x did; 2.x masks an elementwise branch first, an optimisation it does not
            # promise), and the cast of a masked-out member's value (beyond the fixed point, infinite, NaN) would
            # fail a sum it takes no part in (DuckDB's CASE never evaluates it)
            value, coltypes = _masked_value(s, unit)
            return lower_polars(fixed_point(value), coltypes).alias(s.name), tmp.sum()
        vv = v.cast(PL_DTYPES[s.dtype])
        pre = pl.when(mask).then(vv).otherwise(literal(0, s.dtype)) if mask is not None else vv
        return pre.alias(s.name), tmp.sum()
    if kind in ("max", "min"):
        pre = pl.when(mask).then(v) if mask is not None else v  # null outside the mask: ignored
        return pre.alias(s.name), (tmp.max() if kind == "max" else tmp.min())
    raise UnsupportedConstructError(f"{BACKEND}: no lowering for aggregate {kind} (node Agg)")


_MASK = "__mask"
"""A temporary column: a ``value_of`` aggregate's mask, computed beside its key and value before the filter."""


def _aggregate(individu: pl.DataFrame, unit: str, steps: list[Step], lowered: _Lowered) -> pl.DataFrame:
    """One frame ``<unit>_id, <agg columns>`` for the aggregate steps of one level, one row per unit in no
    particular order: the caller joins it to the unit's frame, whose order the join keeps (sorting it by id cost
    about a third of the aggregates on detection's stacked variants, text ids; detect_speed_2026-11-30.md)."""
    idc = ID[unit]
    individu = _with_roles(individu, unit, steps)
    plain = [s for s in steps if s.agg_kind != "value_of"]
    out: pl.DataFrame | None = None
    if plain:
        pairs = [lowered.aggregation(s, unit) for s in plain]
        pre = _unsorted_key(individu, idc).select(pl.col(idc), *[p for p, _ in pairs])
        wide = _wide(pre, [s.name for s in plain if s.agg_kind == "sum"])
        out = pre.group_by(idc).agg([pl.col(s.name).cast(pl.Int128).sum() if s.name in wide else a
                                     for s, (_, a) in zip(plain, pairs, strict=True)])
    for s in steps:
        if s.agg_kind != "value_of":
            continue
        # the individu frame is sorted by person_id: the first masked row of a unit is its smallest id
        # the key and the value taken before the rows are filtered: a filter of the whole individu frame copied
        # every column it carries (700 on simulate's rules) for each such step
        mask = _mask(s, unit)
        rows = individu.select(pl.col(idc), pl.col(s.value_col).alias(s.name), *([mask.alias(_MASK)] if mask is not
                                                                                 None else []))
        if mask is not None:
            rows = rows.filter(pl.col(_MASK)).drop(_MASK)
        first = rows.unique(subset=[idc], keep="first", maintain_order=True)
        out = first if out is None else out.join(first, on=idc, how="full", coalesce=True)
    assert out is not None
    return out.with_columns([pl.col(s.name).cast(PL_DTYPES[s.dtype]) for s in steps])


SAFE_SUM = 2.0 ** 62
"""Below this sum of the absolute values of a whole column of 64-bit integers (computed in floats: its relative error,
about the number of rows times 1e-16, stays far under the factor 2 to 2**63), no partial sum of any group of its rows
leaves the 64-bit range, so their 64-bit sums are exact."""


def _wide(pre: pl.DataFrame, sums: list[str]) -> set[str]:
    """The integer columns among ``sums`` whose 64-bit group sums could overflow: those are summed in 128 bits (a
    total beyond 64 bits then fails the cast back). A 128-bit sum by group costs Polars about a tenth of all the
    aggregates of simulate's rules (no fast path); one sum of a column's absolute values costs little."""
    if not sums:
        return set()
    row = pre.select([pl.col(c).cast(pl.Float64).abs().sum() for c in sums]).row(0)
    return {c for c, total in zip(sums, row, strict=True) if not total < SAFE_SUM}


def _unsorted_key(individu: pl.DataFrame, idc: str) -> pl.DataFrame:
    """``individu`` with its column ``idc`` rebuilt without a sortedness flag (its values unchanged). Polars groups
    a key flagged sorted by slices, aggregation by aggregation, and the hashed group_by is much cheaper on units of
    a few members: simulate's bulk frames (members numbered famille by famille, flags kept) spent 0.80 CPU s in
    the aggregates of 20,000 situations with the flag against 0.43 without (benchmarks/README.md, fixed-point
    sums). The aggregates do not depend on the path: every sum is of integers (plan.SUM_SCALE), joined to
    the unit's frame in its order after. Polars clears the flags of a Series written to: the key's first value is
    written again into a copy of the column (``scatter``: any dtype, nulls included, the frame given keeps its
    flag; a String key is not copied through NumPy's Python objects)."""
    key = individu.get_column(idc)
    if not (key.flags["SORTED_ASC"] or key.flags["SORTED_DESC"]) or key.is_empty():
        return individu
    return individu.with_columns(key.clone().scatter(0, key[0]))


SHARED_NODES = 200
"""Formulas of more nodes than this are evaluated with Polars' common sub-expression elimination (``_run_level``).
``DataFrame.with_columns`` runs without it, and a large formula repeats sub-trees: the housing aid's 1,060 nodes (its
scales, rents and ceilings written again in each branch) took 82 ms on 56,009 familles, 20 ms with it (same bits).
On the many small formulas the elimination costs more than it saves (each level's formulas at once: 0.27 -> 0.43
CPU s on the level of 150 formulas and 146 aggregates of simulate's 50,000 situations); above 200 nodes (10 of the
plan's 1,794 formulas, the housing aid's variants among them) the levels took 2.0-2.2 CPU s against 2.5-2.6 without
it, 150 or 500 no better (benchmarks/README.md, simulate_speed_bench.py)."""

_LOWERED: dict[int, tuple[Plan, _Lowered]] = {}
_LOWERED_KEPT = 16
"""The Polars expressions of the formula steps of the last plans run (by plan identity, the plan held so that its
identity is not reused): the engine keeps its plans (``evaluate.cached_plan``), and lowering a plan's 1,700
formulas to Polars costs about as much as planning them, so a process evaluating the same months again (batches
of ``simulate``, detection's variants) lowers once. Expressions are immutable."""


HOIST_ROWS = 20_000
"""Frames of at most this many rows compute a large formula (more than ``SHARED_NODES`` nodes) cut at its repeated
sub-trees (``_hoist``), each a temporary column, layer by layer; larger ones through Polars' common sub-expression
elimination (``_run_level``). Polars' own handling of a large expression costs whatever the rows: on simulate's 16
familles the housing aid's 1,055 nodes (166 distinct) took 57-70 ms as one expression, 21-23 ms with the
elimination, 6-7 ms cut at its 10 repeated sub-trees over 4 layers; the 7 large formulas of an evaluation 119 -> 42
ms (same bits). On many rows the elimination computes the same sub-trees once too, and is measured there: it
stays the way."""


@dataclasses.dataclass(frozen=True)
class _Hoisted:
    """A large formula cut at its repeated sub-trees: the temporary columns layer by layer (a layer reads only
    columns of the layers before it), the formula over them, and the temporary columns' names (dropped after)."""

    layers: list[list[pl.Expr]]
    final: pl.Expr
    temps: list[str]


def _hoist(e: Expr, t: Callable[[Expr], str], prefix: str) -> tuple[Expr, list[tuple[str, Expr, int, str]]]:
    """``e`` with each sub-tree it repeats (``folding.common_subtrees``, as the SQL lowering shares them) read from
    a temporary column ``prefix<k>``, and those columns: (name, expression over earlier ones, layer, IR type). Not
    cut, as there: constants (a column of one would be a scalar, divided otherwise), and a sub-tree holding what
    could raise on a row its ``where`` leaves out (a float cast to an integer). Values are those of the whole
    tree, every operation being row by row."""
    const = const_folder(t)
    name_of: dict[int, str] = {}
    defs: list[tuple[str, Expr]] = []
    for node, ids in common_subtrees([e], t, const):
        if not any(isinstance(x, Col) for x in walk(node)):
            continue
        defs.append((f"{prefix}{len(defs)}", node))
        for k in ids:
            name_of[k] = defs[-1][0]
    done: dict[int, Expr] = {}

    def rewrite(n: Expr) -> Expr:
        held = done.get(id(n))
        if held is None:
            name = name_of.get(id(n))
            held = done[id(n)] = (mapped(n, rewrite) if name is None
                                  else Col(next(x.entity for x in walk(n) if isinstance(x, Col)), name))
        return held

    temps: list[tuple[str, Expr, int, str]] = []
    layer_of: dict[str, int] = {}
    for name, node in defs:  # each after the sub-trees it holds
        body = mapped(node, rewrite)
        layer_of[name] = 1 + max((layer_of[x.name] for x in walk(body) if isinstance(x, Col) and x.name in layer_of),
                                 default=0)
        temps.append((name, body, layer_of[name], t(node)))
    return (mapped(e, rewrite) if id(e) in name_of else rewrite(e)), temps


class _Lowered(dict[str, pl.Expr]):
    """A plan's formulas as Polars expressions, each lowered when first run, its constant conditions resolved
    (``folding.fold``: a ``where`` picking a month's column by the number of a literal month is that column): a
    step whose value an earlier column already holds (``_Values``) is never lowered (on simulate's situations,
    about three formulas in five)."""

    def __init__(self, plan: Plan, coltypes: dict[str, str]) -> None:
        super().__init__()
        self.plan, self.coltypes = plan, coltypes
        self.memo: dict[int, str] = {}  # dtypes by node: the plan's nodes and the folded trees, all held alive here
        self.folds: dict[str, Expr] = {}
        self.large: dict[str, bool] = {}
        self.shapes: dict[str, tuple[tuple[object, ...], tuple[str, ...]]] = {}
        self.aggs: dict[str, tuple[pl.Expr, pl.Expr]] = {}
        self.hoists: dict[str, _Hoisted] = {}
        self.templates: dict[int, tuple[Expr, int, tuple[str, ...]]] = {}  # rules.ir.template's, for shape
        self.template_ids: dict[tuple[object, ...], int] = {}

    def t(self, x: Expr) -> str:
        return dtype_of(x, self.coltypes, self.memo)

    def folded(self, name: str) -> Expr:
        """The step's formula with its constant conditions resolved."""
        held = self.folds.get(name)
        if held is None:
            expr = self.plan.steps[name].expr
            assert expr is not None
            held = self.folds[name] = fold(expr, self.t)
        return held

    def __missing__(self, name: str) -> pl.Expr:
        s = self.plan.steps[name]
        e = self.folded(name)
        expr = self[name] = _as(lower_polars(e, self.coltypes), self.t(e), s.dtype).alias(name)
        return expr

    def aggregation(self, s: Step, unit: str) -> tuple[pl.Expr, pl.Expr]:
        """``_agg_plain``'s expressions for the aggregate step ``s``, built once: about a third of the aggregates'
        time on small frames (20 situations: 2 ms a level) was building them again."""
        held = self.aggs.get(s.name)
        if held is None:
            held = self.aggs[s.name] = _agg_plain(s, unit)
        return held

    def hoisted(self, name: str) -> _Hoisted:
        """The large formula of step ``name`` cut at its repeated sub-trees (``_hoist``), lowered, built once."""
        held = self.hoists.get(name)
        if held is None:
            s = self.plan.steps[name]
            e = self.folded(name)
            top, temps = _hoist(e, self.t, f"__h__{name}__")
            coltypes = {**self.coltypes, **{c: dtype for c, _, _, dtype in temps}}
            layers: list[list[pl.Expr]] = [[] for _ in range(max((layer for _, _, layer, _ in temps), default=0))]
            for c, sub, layer, _ in temps:
                layers[layer - 1].append(lower_polars(sub, coltypes).alias(c))
            final = _as(lower_polars(top, coltypes), self.t(e), s.dtype).alias(name)
            held = self.hoists[name] = _Hoisted(layers, final, [c for c, _, _, _ in temps])
        return held

    def is_large(self, name: str) -> bool:
        """Whether the step's formula has more than ``SHARED_NODES`` nodes."""
        held = self.large.get(name)
        if held is None:
            held = self.large[name] = _more_nodes(self.folded(name), SHARED_NODES)
        return held

    def shape(self, name: str) -> tuple[tuple[object, ...], tuple[str, ...]]:
        """What the step's value is a function of besides its dependencies' values, and those dependencies: the
        kind, entity and type, and the (folded) expression with each column written as its position among the
        columns it reads."""
        held = self.shapes.get(name)
        if held is not None:
            return held
        s = self.plan.steps[name]
        deps = s.deps
        if s.kind == "formula":
            number, occurs = template(self.folded(name), self.templates, self.template_ids)
            deps = tuple(dict.fromkeys(occurs))
            # each column named by its position among those the tree reads: one key for the same formula over others
            at = {d: i for i, d in enumerate(deps)}
            body: object = (number, tuple(at[n] for n in occurs))
        elif s.kind == "agg":
            body = (s.agg_kind, s.roles, s.fixed, repr(s.default), s.value_col is not None, s.where_col is not None)
        elif s.kind == "project":
            body = (s.source, repr(s.default))
        else:
            body = s.name  # an input is its own value
        held = self.shapes[name] = ((s.kind, s.entity, s.dtype, body), deps)
        return held


def _lowered(plan: Plan, coltypes: dict[str, str]) -> _Lowered:
    """The plan's formulas as Polars expressions (lowered as they are first asked for)."""
    held = _LOWERED.get(id(plan))
    if held is not None and held[0] is plan:
        return held[1]
    out = _Lowered(plan, coltypes)
    if len(_LOWERED) >= _LOWERED_KEPT:
        _LOWERED.pop(next(iter(_LOWERED)))
    _LOWERED[id(plan)] = (plan, out)
    return out


def _more_nodes(e: Expr | None, limit: int) -> bool:
    """Whether the tree ``e`` has more than ``limit`` nodes (stops counting there)."""
    return e is not None and any(k >= limit for k, _ in enumerate(walk(e)))


def run_polars(plan: Plan, frames: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Compute every step of ``plan`` on the prepared ``frames`` (one per entity).

    A step whose value is already known is not computed again but given the known column (:class:`_Values`):
    the plan computes each rule again at every month offset it is read at, and where the inputs of those months
    are equal (a simulated situation's stable resources, a person's unchanged status) so are the results."""
    frames = {e: with_zero(f) for e, f in frames.items()}
    coltypes = {s.name: s.dtype for s in plan.steps.values()}
    lowered = _lowered(plan, coltypes)
    dead = plan.dead_after()
    values = _Values(plan, frames, lowered)
    pending: dict[str, list[str]] = {}  # dead columns of each entity not dropped yet
    for level in plan.by_level():
        steps = [s for s in level if s.kind != "input"]
        if not steps:
            continue
        compute, known = values.split(steps)
        if compute:
            _run_level(plan, frames, compute, lowered)
        for entity, pairs in known.items():  # a column given again: Polars shares its buffers, nothing is copied
            f = frames[entity]
            frames[entity] = f.hstack([f.get_column(have).alias(name) for name, have in pairs])
        values.learn(compute, frames)
        for d in dead.get(level[0].level, []):  # hidden columns no later step reads: never given again...
            pending.setdefault(d.entity, []).append(d.name)
            values.forget([d.name])
        for entity, names in pending.items():  # ...and dropped by the batch (a query of the frame's width each)
            if len(names) > max(FEW_DROPPED, frames[entity].width // DROP_SHARE):
                frames[entity] = _without(frames[entity], names)
                pending[entity] = []
    return {e: _without(f, [*pending.get(e, []), ZERO]) for e, f in frames.items()}


DROP_SHARE = 8
"""Dead columns wait until they are more than this share of their frame's width (and more than ``FEW_DROPPED``)
before :func:`run_polars` drops them: a frame carries at most an eighth more columns than it needs (their memory
is the price), and a plan's 50-odd drops, each a query of 1-2.5 ms on frames of 300-700 columns whatever the
rows, become a handful (simulate's 20 situations: 80 ms of an evaluation's 700 went to them)."""


def _without(frame: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    """``frame`` without the columns ``names`` (those it holds). ``DataFrame.drop`` is a query, 0.7-1.5 ms on
    frames of 300-700 columns whatever it drops; the frame's own ``drop_in_place`` costs about a twenty-fifth of
    that per column (it searches the names): a few columns (``run_polars``' last drop, a cut formula's temporary
    columns) go that way, the batches of dead columns by ``drop`` (measured on 1,500 rows by 700 columns: 100 names
    1.5 ms by ``drop``, 6.1 by ``drop_in_place``; one name 1.8 against 0.06).
    The frame given is not changed (its clone shares the columns' buffers)."""
    have = set(frame.columns)
    names = [n for n in names if n in have]
    if len(names) > FEW_DROPPED:
        return frame.drop(names)
    out = frame.clone()
    for name in names:
        out.drop_in_place(name)
    return out


FEW_DROPPED = 16
"""Most columns :func:`_without` drops one by one (more: one query)."""


CANDIDATES = 2
"""Distinct values of a variable a new column is compared with: its first, and the latest ones. Compared with all,
a variable read at 16 month offsets that differ (detection's data) costs 120 comparisons of whole columns."""

SHARE = True
"""Whether a step is given an earlier column holding its value (``_Values``: :func:`run_polars`, :func:`shared_plan`
and the DuckDB runner); off, every step is computed (the tests compare both)."""


class _Values:
    """Which steps of a run hold equal values, so that a step is computed once per distinct value.

    Two steps of the same kind, entity and type whose expressions (or aggregate, or projection) are the same
    over dependencies of equal values have equal values: the second is given the first's column (exact, bit
    for bit: every lowering is a deterministic function of its columns). Dependencies are known equal when they
    are the same step or were found equal after they were computed: a rule or input is compared, bit for bit,
    with the first and the latest distinct values of the same variable at its other month offsets
    (``CANDIDATES``; floats on their bits, so -0.0 is not 0.0, nor one NaN another). On simulate's 20,000
    situations (stable resources), 1,505 of the plan's 2,454 steps were given an earlier column; on the CI demo's
    detection, whose months differ, 910 of 4,937, the comparisons costing 0.17 of the rules' 3.5 CPU s."""

    def __init__(self, plan: Plan, frames: dict[str, pl.DataFrame], lowered: _Lowered) -> None:
        self.plan = plan
        self.lowered = lowered
        self.rep: dict[str, str] = {}  # step -> the first step known to hold its value
        self.seen: dict[tuple[object, ...], str] = {}  # shape over representatives -> a live column holding it
        self.distinct: dict[tuple[str, str], list[str]] = {}  # (entity, variable) -> live columns of distinct values
        self.gone: set[str] = set()
        self.learn([s for s in plan.steps.values() if s.kind == "input"], frames)

    def split(self, steps: list[Step]) -> tuple[list[Step], dict[str, list[tuple[str, str]]]]:
        """The steps to compute, and per entity the (step, column) pairs whose value a column already holds."""
        compute: list[Step] = []
        known: dict[str, list[tuple[str, str]]] = {}
        rep = self.rep
        if not SHARE:
            return list(steps), {}
        for s in steps:
            body, deps = self.lowered.shape(s.name)
            shape = (body, *(rep.get(d, d) for d in deps))
            have = self.seen.get(shape)
            if have is None or have in self.gone:
                self.seen[shape] = s.name
                rep[s.name] = s.name
                compute.append(s)
            else:
                rep[s.name] = rep.get(have, have)
                known.setdefault(s.entity, []).append((s.name, have))
                if s.variable is not None:  # its variable's later offsets are compared with it too
                    kin = self.distinct.setdefault((s.entity, s.variable), [])
                    if all(rep.get(o, o) != rep[s.name] for o in kin):
                        kin.append(s.name)
        return compute, known

    def learn(self, steps: list[Step], frames: dict[str, pl.DataFrame]) -> None:
        """Compare each computed rule, condition or input with the distinct values of its variable so far."""
        present: dict[str, set[str]] = {}  # a column known equal may not be computed yet (a SQL runner's later stage)
        for s in steps:
            if s.variable is None or s.param is not None:
                continue
            frame = frames[s.entity]
            cols = present.get(s.entity)
            if cols is None:
                cols = present[s.entity] = set(frame.columns)
            if s.name not in cols:
                continue
            mine = frame.get_column(s.name)
            kin = self.distinct.setdefault((s.entity, s.variable), [])
            live = [o for o in kin if o not in self.gone and o in cols]
            for other in live[:1] + live[len(live) - CANDIDATES + 1:] if len(live) > CANDIDATES else live:
                if _same_bits(frame.get_column(other), mine):
                    self.rep[s.name] = self.rep.get(other, other)
                    break
            else:
                kin.append(s.name)

    def forget(self, names: list[str]) -> None:
        """Columns dropped from the frames, or never stored (a SQL runner's): never given again (their value stays
        known under other names)."""
        self.gone.update(names)


def shared_plan(plan: Plan, frames: dict[str, pl.DataFrame]) -> tuple[Plan, _Values | None]:
    """``plan`` with each step computed once per distinct value that the prepared input ``frames`` make known before
    any step runs, for the backends that compute a plan as written (the SQL lowerings): the input columns of a
    variable at its month offsets are compared bit for bit (as ``_Values`` does), and a step whose shape over equal
    inputs is an earlier step's is not computed: its readers read the earlier column, and a result column (a rule or
    condition of the evaluated month) is a copy of it. Exact, as ``_Values`` is. Also returns what was learnt (no
    step seen yet, the dropped ones never to be given), for a runner that compares its computed columns as they
    arrive (DuckDB's, ``sql_backend._Runner._given``)."""
    if not SHARE:
        return plan, None
    lowered = _lowered(plan, {s.name: s.dtype for s in plan.steps.values()})
    values = _Values(plan, frames, lowered)
    rename: dict[str, str] = {n: r for n, r in values.rep.items() if r != n}  # equal inputs: read the first
    steps: dict[str, Step] = {}

    def level(deps: tuple[str, ...]) -> int:
        return 1 + max((steps[d].level for d in deps), default=0)

    for s in plan.steps.values():
        if s.kind == "input":
            steps[s.name] = s
            continue
        _, known = values.split([s])  # the same shapes as run_polars'
        if known:
            have = known[s.entity][0][1]
            if s.public:  # a result column: a copy of the first
                steps[s.name] = dataclasses.replace(copy_step(s, have), level=level((have,)))
            else:
                rename[s.name] = have
            continue
        new_deps = tuple(dict.fromkeys(rename.get(d, d) for d in s.deps))
        expr = s.expr
        if expr is not None and any(d in rename for d in s.deps):
            expr = _renamed(expr, rename, {})
        steps[s.name] = dataclasses.replace(
            s, expr=expr, deps=new_deps, level=level(new_deps),
            value_col=rename.get(s.value_col, s.value_col) if s.value_col else None,
            where_col=rename.get(s.where_col, s.where_col) if s.where_col else None)
    values.seen.clear()  # the runner asks again, statement by statement, with what it has learnt since
    values.gone.update(rename)  # dropped: never computed, never given
    return dataclasses.replace(plan, steps=steps), values


def copy_step(s: Step, have: str) -> Step:
    """``s`` as a formula reading the column ``have`` of its entity (which holds its value), whatever its kind."""
    return dataclasses.replace(s, kind="formula", expr=Col(s.entity, have), deps=(have,), value_col=None,
                               where_col=None, agg_kind=None, roles=None, source=None, fixed=False)


def _renamed(e: Expr, rename: dict[str, str], memo: dict[int, Expr]) -> Expr:
    """``e`` with its columns renamed (``rename``; the others kept), built on the tree, not on its text (a string
    literal could read like a column there)."""
    k = id(e)
    held = memo.get(k)
    if held is None:
        held = memo[k] = (Col(e.entity, rename.get(e.name, e.name)) if isinstance(e, Col)
                          else mapped(e, functools.partial(_renamed, rename=rename, memo=memo)))
    return held


def _same_bits(a: pl.Series, b: pl.Series) -> bool:
    """Whether two columns hold the same values bit for bit (``Series.equals`` takes -0.0 for 0.0 and a NaN for
    any other: floats are compared on their bits, through NumPy views)."""
    if a.dtype != b.dtype or len(a) != len(b):
        return False
    if a.dtype not in (pl.Float64, pl.Float32):
        return a.equals(b, check_dtypes=True, check_names=False, null_equal=True)
    if a.null_count() or b.null_count():
        if not a.is_null().equals(b.is_null()):
            return False
        a, b = a.fill_null(0.0), b.fill_null(0.0)
    ints = np.int64 if a.dtype == pl.Float64 else np.int32
    return bool(np.array_equal(a.to_numpy().view(ints), b.to_numpy().view(ints)))


def _run_level(plan: Plan, frames: dict[str, pl.DataFrame], steps: list[Step], lowered: _Lowered) -> None:
        aggs: dict[str, list[Step]] = {}
        projs: dict[tuple[str, str], list[Step]] = {}
        forms: dict[str, list[Step]] = {}
        for s in steps:
            if s.kind == "agg":
                aggs.setdefault(s.entity, []).append(s)
            elif s.kind == "project":
                assert s.source is not None
                projs.setdefault((s.source, s.entity), []).append(s)
            else:
                forms.setdefault(s.entity, []).append(s)
        for unit, ss in aggs.items():
            idc = ID[unit]
            try:
                g = _aggregate(frames["individu"], unit, ss, lowered)
            except pl.exceptions.InvalidOperationError as exc:  # the message quotes values: not repeated
                raise EngineError(f"{BACKEND}: an aggregate over {unit} members failed: {type(exc).__name__} (a "
                                  "member's amount or a unit's sum beyond the 64-bit fixed point, about "
                                  "±9.2e9?)") from None
            frames[unit] = frames[unit].join(g, on=idc, how="left", maintain_order="left").with_columns(
                [pl.col(s.name).fill_null(literal(s.default, s.dtype)) for s in ss])
        for (source, target), ss in projs.items():
            idc = ID[source]
            right = frames[source].select(idc, *[pl.col(s.value_col).alias(s.name) for s in ss])
            left_on = idc if target == "individu" else f"__{idc}"
            frames[target] = frames[target].join(right, left_on=left_on, right_on=idc, how="left",
                                                 maintain_order="left", coalesce=True)
            if target != "individu" and idc in frames[target].columns and idc != ID[target]:
                frames[target] = frames[target].drop(idc)
            frames[target] = frames[target].with_columns(
                [pl.col(s.name).fill_null(literal(s.default, s.dtype)) for s in ss])
        for entity, ss in forms.items():
            plain = [lowered[s.name] for s in ss if s.expr is not None and not lowered.is_large(s.name)]
            large = [lowered[s.name] for s in ss if s.expr is not None and lowered.is_large(s.name)]
            if plain:
                frames[entity] = frames[entity].with_columns(plain)
            if large and frames[entity].height <= HOIST_ROWS:  # cut at their repeated sub-trees (HOIST_ROWS)
                cuts = [lowered.hoisted(s.name) for s in ss if s.expr is not None and lowered.is_large(s.name)]
                f = frames[entity]
                for k in range(max(len(h.layers) for h in cuts)):
                    f = f.with_columns([x for h in cuts if k < len(h.layers) for x in h.layers[k]])
                frames[entity] = _without(f.with_columns([h.final for h in cuts]), [c for h in cuts for c in h.temps])
            elif large:
                # through a lazy query: ``DataFrame.with_columns`` runs without common sub-expression elimination
                frames[entity] = frames[entity].lazy().with_columns(large).collect()
