"""The rules: a DSL over entity proxies building an immutable IR, dated YAML parameters, and the benefit
modules. Nothing here imports an engine (Polars, DuckDB): rules are pure descriptions."""

from nonrecours.rules.params import Binding, ParameterStore, default_parameters
from nonrecours.rules.registry import InputVariable, Registry, RuleVariant, default_registry

__all__ = ["Binding", "InputVariable", "ParameterStore", "Registry", "RuleVariant", "default_parameters",
           "default_registry"]
