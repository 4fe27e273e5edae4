"""The engine entry points: ``evaluate`` (compute rules on input frames) and ``required_inputs``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from nonrecours.engine.inputs import Inputs, prepare
from nonrecours.engine.plan import ID, Plan, build_plan
from nonrecours.errors import EngineError, RuleError
from nonrecours.rules.ir import ENTITIES, Agg, Col, walk
from nonrecours.rules.params import Binding, ParameterStore, default_parameters
from nonrecours.rules.registry import Registry, default_registry

__all__ = ["BACKENDS", "Result", "evaluate", "required_inputs"]

BACKENDS = ("polars", "duckdb")


@dataclass
class Result:
    """Outputs of one evaluation.

    ``frames[entity]``: the id column, then every rule computed for that entity (targets and their
    dependencies) and every labelled condition column, at the evaluated month, sorted by id.
    ``bindings``: every parameter value used (for any month the rules looked at).
    """

    month: dt.date
    backend: str
    plan: Plan
    frames: dict[str, pl.DataFrame]
    bindings: list[Binding]
    inputs: Inputs = field(repr=False)
    full: dict[str, pl.DataFrame] = field(repr=False)
    cache: dict[Any, Any] = field(default_factory=dict, repr=False)

    def __getitem__(self, entity: str) -> pl.DataFrame:
        return self.frames[entity]

    def bindings_manifest(self) -> list[dict[str, Any]]:
        """Parameter bindings as plain dicts, ready for a run manifest."""
        return [b.as_dict() for b in self.bindings]

    def explain(self, entity: str, unit_id: Any, *, targets: list[str] | None = None) -> str:
        """Readable French text: values of the targets, conditions held or not, parameters, inputs."""
        from nonrecours.engine.explain import explain

        return explain(self, entity, unit_id, targets=targets)


def _public_frames(plan: Plan, full: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    out: dict[str, pl.DataFrame] = {}
    for entity in ENTITIES:
        cols = [s.name for s in plan.steps.values() if s.public and s.entity == entity]
        idc = ID[entity]
        out[entity] = full[entity].select(idc, *cols).sort(idc, nulls_last=True)
    return out


def evaluate(targets: list[str] | tuple[str, ...] | str, inputs: Inputs, month: dt.date,
             backend: str = "polars", *, registry: Registry | None = None,
             parameters: ParameterStore | None = None, missing_inputs: str = "error",
             duckdb_config: dict[str, Any] | None = None) -> Result:
    """Compute ``targets`` (rule names) and what they need, for every unit of ``inputs``, at ``month``.

    ``backend``: ``"polars"`` (default) or ``"duckdb"`` (the same plan lowered to SQL with sqlglot).
    ``missing_inputs``: ``"error"`` (default) or ``"default"`` to treat an absent input column as its
    default. ``registry`` / ``parameters`` default to the project's rules and YAML parameters.
    """
    if isinstance(targets, str):
        targets = [targets]
    if backend not in BACKENDS:
        raise EngineError(f"unknown backend {backend!r}; expected one of {BACKENDS}")
    if missing_inputs not in ("error", "default"):
        raise EngineError("missing_inputs is 'error' or 'default'")
    reg = registry if registry is not None else default_registry()
    params = parameters if parameters is not None else default_parameters()
    month = month.replace(day=1)
    plan = build_plan(list(targets), reg, params, month)
    frames = prepare(plan, inputs, missing=missing_inputs)
    if backend == "polars":
        from nonrecours.engine.polars_backend import run_polars

        full = run_polars(plan, frames)
    else:
        from nonrecours.engine.sql_backend import run_duckdb

        full = run_duckdb(plan, frames, config=duckdb_config)
    bindings = sorted(plan.bindings.values(), key=lambda b: (b.name, b.month))
    return Result(month, backend, plan, _public_frames(plan, full), bindings, inputs, full)


def required_inputs(targets: list[str] | tuple[str, ...] | str, *, registry: Registry | None = None,
                    structural: bool = False) -> dict[str, set[str]]:
    """Input variables the targets may read, per entity, found statically in the IR of every dated
    variant (whatever the month): the minimal set of columns to ask of the agencies.

    Structural columns (roles in each unit) are left out unless ``structural=True``.
    """
    if isinstance(targets, str):
        targets = [targets]
    reg = registry if registry is not None else default_registry()
    out: dict[str, set[str]] = {e: set() for e in ENTITIES}
    seen: set[str] = set()
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
            for node in walk(variant.expr):
                if isinstance(node, Col):
                    stack.append(node.name)
                elif isinstance(node, Agg) and node.roles is not None and structural:
                    out["individu"].add(f"{node.unit}_role")
    return {e: s for e, s in out.items() if s}
