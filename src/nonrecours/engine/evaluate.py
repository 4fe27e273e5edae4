"""The engine entry points: ``evaluate`` (compute rules on input frames) and ``required_inputs``."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field, fields
from typing import Any

import polars as pl

from nonrecours.engine.inputs import MONTH, Inputs, prepare, unit_months
from nonrecours.engine.plan import ID, Plan, build_plan, build_plans, input_depths
from nonrecours.errors import EngineError, RuleError
from nonrecours.rules.ir import ENTITIES, Agg, Col, distinct
from nonrecours.rules.params import Binding, ParameterStore, default_parameters
from nonrecours.rules.registry import Registry, default_registry

__all__ = ["ALL_BACKENDS", "BACKENDS", "OPTIONAL_BACKENDS", "Result", "check_backend", "evaluate", "evaluate_many",
           "required_inputs"]

BACKENDS = ("polars", "duckdb")
OPTIONAL_BACKENDS = ("spark",)
"""Backends of ``evaluate`` that need an optional extra (``nonrecours[spark]`` and a Java runtime)."""
ALL_BACKENDS = BACKENDS + OPTIONAL_BACKENDS


def check_backend(backend: str) -> None:
    """Raise :class:`EngineError` unless ``backend`` is known and usable here: for Spark, PySpark importable
    and a Java runtime present (the message names the extra and the Debian package to install). Cheap: no
    JVM is started, so configuration and command-line checks call it before any work."""
    if backend not in ALL_BACKENDS:
        raise EngineError(f"unknown backend {backend!r}; expected one of {', '.join(ALL_BACKENDS)}")
    if backend == "spark":
        from nonrecours.engine.spark_backend import require_spark

        require_spark()


@dataclass
class Result:
    """Outputs of one evaluation.

    ``frames[entity]``: the id column, then every rule computed for that entity (targets and their
    dependencies) and every labelled condition column, at the evaluated month, sorted by id.
    ``bindings``: every parameter value used (for any month the rules looked at).
    ``months``: the evaluated months (several when each individu was given its own month).
    """

    month: dt.date
    backend: str
    plan: Plan
    frames: dict[str, pl.DataFrame]
    bindings: list[Binding]
    inputs: Inputs = field(repr=False)
    full: dict[str, pl.DataFrame] = field(repr=False)
    cache: dict[Any, Any] = field(default_factory=dict, repr=False)
    months: tuple[dt.date, ...] = ()

    def __getitem__(self, entity: str) -> pl.DataFrame:
        return self.frames[entity]

    def bindings_manifest(self) -> list[dict[str, Any]]:
        """Parameter bindings as plain dicts, ready for a run manifest."""
        return [b.as_dict() for b in self.bindings]

    def explain(self, entity: str, unit_id: Any, *, targets: list[str] | None = None) -> str:
        """Readable French text: values of the targets, conditions held or not, parameters, inputs."""
        from nonrecours.engine.explain import explain

        if len(self.months) > 1:
            raise EngineError("explanations need an evaluation at one month: evaluate each month apart")
        return explain(self, entity, unit_id, targets=targets)


def _public_frames(plan: Plan, full: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    out: dict[str, pl.DataFrame] = {}
    for entity in ENTITIES:
        cols = [s.name for s in plan.steps.values() if s.public and s.entity == entity]
        idc = ID[entity]
        out[entity] = full[entity].select(idc, *cols).sort(idc, nulls_last=True)
    return out


def _restrict(inputs: Inputs, months: pl.DataFrame, keep: tuple[dt.date, ...]) -> Inputs:
    """The inputs of the individus evaluated at one of ``keep`` (and of their units)."""
    persons = months.filter(pl.col("month").cast(pl.Date).dt.truncate("1mo").is_in(list(keep))).select("person_id")
    ind = inputs.individu.join(persons, on="person_id", how="semi")
    out: dict[str, pl.DataFrame | None] = {"individu": ind}
    for entity in ENTITIES:
        idc = ID[entity]
        ids = persons if entity == "individu" else ind.select(idc).drop_nulls().unique()
        for monthly in (False, True):
            if entity == "individu" and not monthly:
                continue
            f = inputs.frame(entity, monthly)
            out[f"{entity}_monthly" if monthly else entity] = None if f is None else f.join(ids, on=idc, how="semi")
    return Inputs(**out)  # type: ignore[arg-type]


def _run(plan: Plan, inputs: Inputs, backend: str, missing_inputs: str, months: pl.DataFrame | None,
         duckdb_config: dict[str, Any] | None) -> dict[str, pl.DataFrame]:
    frames = prepare(plan, inputs, missing=missing_inputs, months=months)
    if backend == "polars":
        from nonrecours.engine.polars_backend import run_polars

        return run_polars(plan, frames)
    from nonrecours.engine.polars_backend import shared_plan

    plan, values = shared_plan(plan, frames)  # the SQL backends compute the plan as written: equal inputs shared first
    if backend == "spark":
        from nonrecours.engine.spark_backend import run_spark

        return run_spark(plan, frames, config=duckdb_config)
    from nonrecours.engine.sql_backend import run_duckdb

    return run_duckdb(plan, frames, config=duckdb_config, values=values)


_PLANS: dict[tuple[Any, ...], Any] = {}
"""Plans (``cached_plan``) and sets of month plans (``cached_plans``), by what they were built for."""
_PLANS_KEPT = 64


def cached_plan(targets: tuple[str, ...], reg: Registry, params: ParameterStore, month: dt.date) -> Plan:
    """``build_plan``, kept for the project's own rules and parameters: a plan depends only on the targets, the
    rules, the parameters and the month, and is never changed once built, so detection's variants (four or five
    evaluations a month) and the exchange-value reruns (eight detections) plan once. Measured on the 1,500-person
    demo: planning is about a tenth of an evaluation there. Rules or parameters of the caller's own are planned
    each time (they may be changed between calls)."""
    return _kept((targets, month), reg, params, lambda: build_plan(list(targets), reg, params, month))


def _kept(what: tuple[Any, ...], reg: Registry, params: ParameterStore, build: Any,
          store: dict[tuple[Any, ...], Any] = _PLANS) -> Any:
    """``build()`` kept in ``store`` (default ``_PLANS``) under ``what`` for the project's own rules and parameters
    (the oldest dropped past ``_PLANS_KEPT``); built afresh for rules or parameters of the caller's own."""
    if reg is not default_registry() or params is not default_parameters():
        return build()
    key = (*what, id(reg), id(params), len(reg.rules), len(reg.inputs))
    kept = store.get(key)
    if kept is None:
        kept = build()
        if len(store) >= _PLANS_KEPT:
            store.pop(next(iter(store)))
        store[key] = kept
    return kept


_DEPTHS: dict[tuple[Any, ...], dict[str, int]] = {}
"""``input_depths`` of the project's own rules, by targets and month (a few hundred bytes each)."""


def cached_input_depths(targets: tuple[str, ...], reg: Registry, month: dt.date) -> dict[str, int]:
    """``plan.input_depths``, kept for the project's own rules as :func:`cached_plan` keeps plans (they do not
    depend on the parameters): the core asks the depths of a month at each build of it
    (``core.resources.lookback``). Each call gets a dict of its own."""
    month = month.replace(day=1)
    return dict(_kept((targets, month), reg, default_parameters(), lambda: input_depths(targets, reg, month),
                      store=_DEPTHS))


def cached_plans(targets: tuple[str, ...], reg: Registry, params: ParameterStore,
                 months: tuple[dt.date, ...]) -> tuple[Plan, ...]:
    """``build_plans``, kept as :func:`cached_plan` keeps one month's plan (same conditions: the project's own
    rules and parameters only; one month is :func:`cached_plan`'s plan). A process simulating batch after batch
    at the same months (``simulate_batch``, an API serving ``simulate``) plans once: planning simulate's
    targets costs about 0.5 s a set of dated variants on a quiet machine, 17 sets over 2024-01..2026-06."""
    if len(months) == 1:
        return (cached_plan(targets, reg, params, months[0]),)
    return _kept(("months", targets, months), reg, params,
                 lambda: tuple(build_plans(list(targets), reg, params, list(months))))


def evaluate(targets: list[str] | tuple[str, ...] | str, inputs: Inputs, month: dt.date | pl.DataFrame,
             backend: str = "polars", *, registry: Registry | None = None,
             parameters: ParameterStore | None = None, missing_inputs: str = "error",
             duckdb_config: dict[str, Any] | None = None) -> Result:
    """Compute ``targets`` (rule names) and what they need, for every unit of ``inputs``, at ``month``.

    ``month``: the evaluated month, or a frame (``person_id``, ``month``) giving each individu its own month
    (the members of a unit share one): the rules are then planned once for all the months (once per set of
    dated variants) and run in one pass, parameters that differ between the months becoming columns.
    ``backend``: ``"polars"`` (default), ``"duckdb"`` (the same plan lowered to SQL text) or
    ``"spark"`` (that SQL rendered for Spark; optional extra). ``duckdb_config``: settings of the SQL
    backend (DuckDB settings, or Spark settings for the session when the call creates it).
    ``missing_inputs``: ``"error"`` (default) or ``"default"`` to treat an absent input column as its
    default. ``registry`` / ``parameters`` default to the project's rules and YAML parameters.
    """
    if isinstance(targets, str):
        targets = [targets]
    check_backend(backend)
    if missing_inputs not in ("error", "default"):
        raise EngineError("missing_inputs is 'error' or 'default'")
    reg = registry if registry is not None else default_registry()
    params = parameters if parameters is not None else default_parameters()
    if isinstance(month, pl.DataFrame):
        return _evaluate_months(list(targets), inputs, month, backend, reg, params, missing_inputs, duckdb_config)
    month = month.replace(day=1)
    plan = cached_plan(tuple(targets), reg, params, month)
    full = _run(plan, inputs, backend, missing_inputs, None, duckdb_config)
    bindings = sorted(plan.bindings.values(), key=lambda b: (b.name, b.month))
    return Result(month, backend, plan, _public_frames(plan, full), bindings, inputs, full, months=(month,))


STACK_ROWS = 250_000
"""Most individus ``evaluate_many`` stacks into one evaluation: more sets are cut into several stacked runs."""


def _ids(frame: pl.DataFrame) -> list[str]:
    return [c for c in ID.values() if c in frame.columns]


def _stack(many: list[Inputs]) -> Inputs | None:
    """One Inputs holding every set, each id prefixed by its set's tag (None if some id is not a string)."""
    out: dict[str, pl.DataFrame | None] = {}
    for f in fields(Inputs):
        frames = [getattr(inp, f.name) for inp in many]
        if all(x is None for x in frames):
            out[f.name] = None
            continue
        if any(x is None for x in frames):
            return None  # a frame given for one set only: its defaults differ between sets, evaluate apart
        parts = []
        for k, x in enumerate(frames):
            if any(x.schema[c] != pl.String for c in _ids(x)):
                return None
            parts.append(x.with_columns((pl.lit(_tag(k)) + pl.col(c)).alias(c) for c in _ids(x)))
        out[f.name] = pl.concat(parts, how="diagonal_relaxed")
    return Inputs(**out)  # type: ignore[arg-type]


STACK_SETS = 10_000
"""Most sets ``evaluate_many`` stacks into one evaluation: a set's tag (``_tag``) is then of fixed width."""


def _tag(k: int) -> str:
    """The prefix of set ``k``'s ids in a stack: four digits and a bar (``k`` below ``STACK_SETS``)."""
    return f"{k:04d}|"


_TAG_WIDTH = len(_tag(0))


def _unstack(res: Result, inputs: list[Inputs], months: list[dt.date]) -> list[Result]:
    """Each set's own result out of a stacked evaluation: its rows, ids without their tag, at its own month
    (the sets may have been evaluated at different months). Each frame is split once by its ids' tags (one pass,
    each set's rows in their order), not filtered once per set: decisive unknowns stack some fifty sets, each
    filter a scan of the whole stack. The tags are of fixed width: each id's set is its first digits and every id
    loses its tag in one pass (a regular expression, then a strip set by set, cost 2.5 times as much)."""
    def split(frame: pl.DataFrame, entity: str) -> list[pl.DataFrame]:
        idc, tag = ID[entity], "__set"
        parts = (frame.with_columns(pl.col(idc).str.head(_TAG_WIDTH - 1).cast(pl.Int32).alias(tag),
                                    *[pl.col(c).str.slice(_TAG_WIDTH) for c in _ids(frame)])
                 .partition_by(tag, as_dict=True, include_key=False, maintain_order=True))
        empty = frame.clear()
        return [parts.get((k,), empty) for k in range(len(inputs))]

    frames = {e: split(f, e) for e, f in res.frames.items()}
    full = {e: split(f, e) for e, f in res.full.items()}
    return [Result(m, res.backend, res.plan, {e: f[k] for e, f in frames.items()}, res.bindings, inp,
                   {e: f[k] for e, f in full.items()}, months=res.months)
            for k, (inp, m) in enumerate(zip(inputs, months, strict=True))]


def evaluate_many(targets: list[str] | tuple[str, ...], many: list[Inputs], month: dt.date | list[dt.date],
                  backend: str = "polars", *, registry: Registry | None = None,
                  parameters: ParameterStore | None = None, missing_inputs: str = "error",
                  duckdb_config: dict[str, Any] | None = None) -> list[Result]:
    """``evaluate`` on each of ``many`` sets of inputs at one month, in one evaluation when they are small.

    The rules compute each unit from its own rows only (aggregates and projections join on the unit's id), so
    the sets can be stacked, each id prefixed by its set's tag, evaluated once and split back: the same values
    as separate evaluations, with one plan, one SQL generation and one DuckDB planning instead of one each.
    Those fixed costs dominate small evaluations (detection's four or five variants of a month, the exchange-
    value reruns): measured on the 1,500-person demo, four variants stacked cost about a third of four
    evaluations. The sets are stacked in runs of at most ``STACK_ROWS`` individus (in order; a set larger than that
    is evaluated alone): beyond it, memory grows and the fixed costs no longer matter. Until 2026-11-29 sets
    beyond ``STACK_ROWS`` in all were each evaluated apart, so detection's moved sets of decisive unknowns
    (92,000 individus in 69 sets on the 20,000-person France territory, about five times as many individus at
    100,000 persons) cost 69 evaluations there. Sets whose ids are not text, or with a frame given for some of
    them only, are evaluated apart.
    ``month``: one month for every set, or each set's own (a list as long as ``many``: the months of a period
    evaluated in one pass, each set's individus at its month, planned once for the months).
    """
    months = [month] * len(many) if isinstance(month, dt.date) else list(month)
    if len(months) != len(many):
        raise EngineError(f"{len(months)} months for {len(many)} sets of inputs")
    kw: dict[str, Any] = {"registry": registry, "parameters": parameters, "missing_inputs": missing_inputs,
                          "duckdb_config": duckdb_config}
    out: list[Result] = []
    for chunk in _chunks([inp.individu.height for inp in many]):
        out.extend(_evaluate_stacked(targets, [many[k] for k in chunk], [months[k] for k in chunk], backend, kw))
    return out


def _chunks(rows: list[int]) -> list[list[int]]:
    """The sets' indices in order, cut into runs of at most ``STACK_ROWS`` individus (a set larger than that
    alone) and ``STACK_SETS`` sets: each run is one stacked evaluation."""
    chunks: list[list[int]] = []
    held = 0
    for k, n in enumerate(rows):
        if chunks and chunks[-1] and held + n <= STACK_ROWS and len(chunks[-1]) < STACK_SETS:
            chunks[-1].append(k)
            held += n
        else:
            chunks.append([k])
            held = n
    return chunks


def _evaluate_stacked(targets: list[str] | tuple[str, ...], many: list[Inputs], months: list[dt.date],
                      backend: str, kw: dict[str, Any]) -> list[Result]:
    """``many`` in one stacked evaluation, or each apart when they cannot be stacked (one set, ids not text,
    a frame given for some sets only)."""
    stacked = _stack(many) if len(many) > 1 else None
    if stacked is None:
        return [evaluate(targets, inp, m, backend, **kw) for inp, m in zip(many, months, strict=True)]
    at: dt.date | pl.DataFrame = months[0]
    if len(set(months)) > 1:
        at = pl.concat([inp.individu.select((pl.lit(_tag(k)) + pl.col("person_id")).alias("person_id"),
                                            pl.lit(m, dtype=pl.Date).alias("month"))
                        for k, (inp, m) in enumerate(zip(many, months, strict=True))])
    res = evaluate(targets, stacked, at, backend, **kw)
    return _unstack(res, many, [m.replace(day=1) for m in months])


def _evaluate_months(targets: list[str], inputs: Inputs, months: pl.DataFrame, backend: str, reg: Registry,
                     params: ParameterStore, missing_inputs: str,
                     duckdb_config: dict[str, Any] | None) -> Result:
    if "month" not in months.columns or "person_id" not in months.columns:
        raise EngineError("the months frame needs columns person_id and month")
    ind = inputs.individu.select("person_id", *(ID[u] for u in ENTITIES if u != "individu")).join(
        months.select("person_id", pl.col("month").cast(pl.Date).dt.truncate("1mo").alias(MONTH)),
        on="person_id", how="left")
    unit_months(ind)  # members of one unit share its month (checked before any split by month)
    distinct = months.get_column("month").cast(pl.Date).dt.truncate("1mo").unique().drop_nulls().to_list()
    if not distinct:
        raise RuleError("no month given")
    plans = cached_plans(tuple(targets), reg, params, tuple(sorted(distinct)))
    publics, fulls, bindings = [], [], {}
    for plan in plans:
        sub = inputs if len(plans) == 1 else _restrict(inputs, months, plan.months)
        full = _run(plan, sub, backend, missing_inputs, months, duckdb_config)
        publics.append(_public_frames(plan, full))
        fulls.append(full)
        bindings.update(plan.bindings)
    frames = {e: pl.concat([p[e] for p in publics], how="diagonal_relaxed").sort(ID[e], nulls_last=True)
              for e in ENTITIES}
    full = {e: pl.concat([f[e] for f in fulls], how="diagonal_relaxed") for e in ENTITIES}
    ordered = sorted(bindings.values(), key=lambda b: (b.name, b.month))
    all_months = tuple(sorted(m for p in plans for m in p.months))
    return Result(all_months[0], backend, plans[0], frames, ordered, inputs, full, months=all_months)


def amounts_to_the_cent(frame: pl.DataFrame, targets: list[str] | tuple[str, ...]) -> pl.DataFrame:
    """``frame`` with its float columns among ``targets`` (the rules' amounts) rounded to the cent, as the run's
    rules stage writes its entitlements (the file of a run in one pass, of each part, or of detection's parts for
    that stage: one rounding for all). Polars' ``round``, not :func:`round_columns`'s half away from zero."""
    money = [c for c in frame.columns if c in targets and frame.schema[c].is_float()]
    return frame.with_columns(pl.col(money).round(2))


_REQUIRED: dict[tuple[Any, ...], dict[str, frozenset[str]]] = {}
"""``required_inputs`` of the project's own rules, by targets: detection asks it of each rule of each benefit it
explains (33 times a detection, each walking the rules' trees: 0.7 s of a 1,500-person detection's 11)."""


def required_inputs(targets: list[str] | tuple[str, ...] | str, *, registry: Registry | None = None,
                    structural: bool = False, stop: tuple[str, ...] = ()) -> dict[str, set[str]]:
    """Input variables the targets may read, per entity, found statically in the IR of every dated
    variant (whatever the month): the minimal set of columns to ask of the agencies.

    Structural columns (roles in each unit) are left out unless ``structural=True``; the rules ``stop`` names (other
    than the targets) are not walked into (what a benefit reads of its own, not through another's amount). Kept for
    the project's own rules (a registry of the caller's own may change between calls); each call gets sets of its
    own.
    """
    if isinstance(targets, str):
        targets = [targets]
    reg = registry if registry is not None else default_registry()
    kept = _kept((tuple(targets), structural, tuple(stop)), reg, default_parameters(),
                 lambda: {e: frozenset(s) for e, s in _required(targets, reg, structural, stop).items()},
                 store=_REQUIRED)
    return {e: set(s) for e, s in kept.items()}


@functools.cache
def inputs_read(targets: tuple[str, ...], stop: tuple[str, ...] = ()) -> frozenset[str]:
    """Every input variable the project's rules ``targets`` may read, whatever the entity (``required_inputs``
    merged, ``stop`` not walked into): what a benefit's rules read, asked by detection's caps and reasons and by
    synth's labelling."""
    return frozenset(set().union(*required_inputs(targets, stop=stop).values()))


def _required(targets: list[str] | tuple[str, ...], reg: Registry, structural: bool,
              stop: tuple[str, ...] = ()) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {e: set() for e in ENTITIES}
    seen: set[str] = set(stop) - set(targets)
    stack = list(targets)
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in reg.inputs:
            var = reg.inputs[name]
            if structural or not var.structural:
                out[var.entity].add(name)
            continue
        if name not in reg.rules:
            raise RuleError(f"unknown variable {name!r}")
        for variant in reg.rules[name]:
            for node in distinct(variant.expr):
                if isinstance(node, Col):
                    stack.append(node.name)
                elif isinstance(node, Agg) and node.roles is not None and structural:
                    out["individu"].add(f"{node.unit}_role")
    return {e: s for e, s in out.items() if s}
