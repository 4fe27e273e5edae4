"""Where declared input variables and rules live, and how a dated rule variant is picked for a month.

A :class:`Registry` is a plain container. The decorators of :mod:`nonrecours.rules.dsl` write into the
default registry (the one the benefits modules fill); tests build their own ``Registry()`` and use its
``rule`` / ``input_variable`` methods, so toy rules never leak into the real rule set.
"""

from __future__ import annotations

import datetime as dt
import importlib
from dataclasses import dataclass
from typing import Any

from nonrecours.errors import NotInForceError, RuleError
from nonrecours.rules.ir import DTYPES, ENTITIES, UNIT_ENTITIES, Expr

__all__ = ["InputVariable", "Registry", "RuleVariant", "default_registry"]

STRUCTURAL_COLUMNS: dict[str, str] = {f"{unit}_role": "str" for unit in UNIT_ENTITIES}
"""Individu columns every ``individu`` frame carries (roles in each unit), readable by rules."""

_ZERO: dict[str, Any] = {"float": 0.0, "int": 0, "bool": False, "str": "", "date": None}


def zero_of(dtype: str) -> Any:
    """The default of a dtype when nothing else is declared (0, 0.0, False, empty string, null date)."""
    return _ZERO[dtype]


@dataclass(frozen=True, slots=True)
class InputVariable:
    """A column supplied by the caller (from agency data or a situation file)."""

    name: str
    entity: str
    dtype: str
    monthly: bool
    label: str
    default: Any
    ref: str | None = None
    structural: bool = False


@dataclass(frozen=True, slots=True)
class RuleVariant:
    """One dated formula of a rule: in force for months whose first day is in [start, end]."""

    name: str
    entity: str
    dtype: str
    label: str
    ref: str | None
    start: dt.date | None
    end: dt.date | None
    expr: Expr
    conditions: tuple[str, ...]
    origin: str

    def in_force(self, day: dt.date) -> bool:
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)


def _as_date(value: str | dt.date | None, what: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise RuleError(f"{what}: not an ISO date") from exc


class Registry:
    """Input variables and dated rule variants, by name."""

    def __init__(self) -> None:
        self.inputs: dict[str, InputVariable] = {}
        self.rules: dict[str, list[RuleVariant]] = {}
        for col, dtype in STRUCTURAL_COLUMNS.items():
            self.inputs[col] = InputVariable(col, "individu", dtype, False, f"rôle dans {col[:-5]}",
                                             "", structural=True)

    # -- declaration -------------------------------------------------------------------------------
    def add_input(self, var: InputVariable) -> None:
        if var.entity not in ENTITIES:
            raise RuleError(f"input {var.name}: unknown entity {var.entity!r}")
        if var.dtype not in DTYPES:
            raise RuleError(f"input {var.name}: unknown dtype {var.dtype!r}")
        if var.name in self.rules:
            raise RuleError(f"input {var.name}: a rule already has this name")
        old = self.inputs.get(var.name)
        if old is not None and old != var:
            raise RuleError(f"input {var.name}: declared twice with different definitions")
        self.inputs[var.name] = var

    def add_variant(self, var: RuleVariant) -> None:
        if var.entity not in ENTITIES:
            raise RuleError(f"rule {var.name}: unknown entity {var.entity!r}")
        if var.dtype not in DTYPES:
            raise RuleError(f"rule {var.name}: unknown dtype {var.dtype!r}")
        if var.name in self.inputs:
            raise RuleError(f"rule {var.name}: an input variable already has this name")
        if var.start is not None and var.start.day != 1:
            raise RuleError(f"rule {var.name}: start must be the first day of a month")
        variants = self.rules.setdefault(var.name, [])
        for other in variants:
            if other.origin == var.origin and other.start == var.start:
                variants.remove(other)  # module reloaded: replace, do not duplicate
                break
        for other in variants:
            if (other.entity, other.dtype) != (var.entity, var.dtype):
                raise RuleError(f"rule {var.name}: dated variants disagree on entity or dtype")
            lo = max(other.start or dt.date.min, var.start or dt.date.min)
            hi = min(other.end or dt.date.max, var.end or dt.date.max)
            if lo <= hi:
                raise RuleError(f"rule {var.name}: dated variants overlap from {lo}")
        variants.append(var)
        variants.sort(key=lambda v: v.start or dt.date.min)

    def rule(self, **kwargs: Any) -> Any:
        """Decorator registering a rule in this registry (see :func:`nonrecours.rules.dsl.rule`)."""
        from nonrecours.rules.dsl import rule as _rule

        return _rule(registry=self, **kwargs)

    def input_variable(self, name: str, **kwargs: Any) -> None:
        """Declare an input in this registry (see :func:`nonrecours.rules.dsl.input_variable`)."""
        from nonrecours.rules.dsl import input_variable as _iv

        _iv(name, registry=self, **kwargs)

    # -- lookup ------------------------------------------------------------------------------------
    def entity_of(self, name: str) -> str:
        if name in self.inputs:
            return self.inputs[name].entity
        if name in self.rules:
            return self.rules[name][0].entity
        raise RuleError(f"unknown variable {name!r}")

    def dtype_of(self, name: str) -> str:
        if name in self.inputs:
            return self.inputs[name].dtype
        if name in self.rules:
            return self.rules[name][0].dtype
        raise RuleError(f"unknown variable {name!r}")

    def variant(self, name: str, month: dt.date) -> RuleVariant:
        """The variant of rule ``name`` in force on the first day of ``month``."""
        if name not in self.rules:
            raise RuleError(f"unknown rule {name!r}")
        day = month.replace(day=1)
        for v in self.rules[name]:
            if v.in_force(day):
                return v
        raise NotInForceError(f"rule {name}: no formula in force in {day:%Y-%m}")

    def label_of(self, name: str) -> str:
        if name in self.inputs:
            return self.inputs[name].label
        return self.rules[name][-1].label

    def __contains__(self, name: object) -> bool:
        return name in self.inputs or name in self.rules


_DEFAULT = Registry()
_LOADED = False


def default_registry() -> Registry:
    """The registry of the project's rules, importing the input and benefit modules on first use."""
    global _LOADED
    if not _LOADED:
        _LOADED = True
        for mod in ("nonrecours.rules.inputs", "nonrecours.rules.benefits"):
            try:
                importlib.import_module(mod)
            except ModuleNotFoundError as exc:  # a module not written yet; any other import error raises
                if exc.name != mod:
                    raise
    return _DEFAULT
