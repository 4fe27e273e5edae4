"""Planning flattens a sub-expression a rule uses several times once (``plan._Builder.flatten``): the plan's trees
share it, what each rule reads is still recorded for each, and the values are those of the same rule written
without sharing."""

from __future__ import annotations

import datetime as dt

import pytest
from toyrules import small_household, toy_registry

from nonrecours.engine import Inputs, evaluate
from nonrecours.engine.plan import build_plan
from nonrecours.rules.dsl import Famille, param, shift, where
from nonrecours.rules.ir import BinOp, walk

MONTH = dt.date(2024, 5, 1)


def _registry(shared: bool):  # type: ignore[no-untyped-def]
    """The toy rules and two rules reading one helper expression: the same object used three times (``shared``),
    or the helper written again at each use."""
    reg = toy_registry()

    def helper(f: Famille):  # type: ignore[no-untyped-def]
        return param("toy.base") * f.nb_enfants + shift(f.aide, -1)

    @reg.rule(entity="famille", dtype="float", label="aide partagée")
    def partagee(f: Famille):
        base = helper(f)
        again = base if shared else helper(f)
        other = base if shared else helper(f)
        return where(again > 600, again - 600, -other) + shift(f.allocation, -1) * 0

    @reg.rule(entity="famille", dtype="float", label="aide partagée, autre règle")
    def partagee_bis(f: Famille):
        return helper(f) / 2

    return reg


@pytest.mark.parametrize("backend", ["polars", "duckdb"])
def test_a_shared_sub_expression_gives_the_values_of_one_written_again(toy_params, backend) -> None:
    targets = ["partagee", "partagee_bis", "allocation"]
    values = [evaluate(targets, Inputs(**small_household()), MONTH, backend=backend, registry=_registry(shared),
                       parameters=toy_params)["famille"].select("famille_id", *targets).sort("famille_id")
              for shared in (True, False)]
    assert values[0].equals(values[1])
    # famille 10: one child under the age limit, no aide in April: the helper is 520.55 (toy.base, May 2024)
    first = values[0].row(0, named=True)
    assert (first["famille_id"], first["partagee"], first["partagee_bis"]) == (10, -520.55, 260.275)


def test_the_plan_shares_it_and_records_each_rules_parameters(toy_params) -> None:
    plan = build_plan(["partagee", "partagee_bis"], _registry(True), toy_params, MONTH)
    (step,) = [s for s in plan.steps.values() if s.variable == "partagee" and s.offset == 0]
    # the helper's flattened tree is one object wherever the rule reads it
    nodes = [n for n in walk(step.expr) if isinstance(n, BinOp) and n.op == "add"]
    ids = {id(n) for n in nodes}
    assert len(nodes) > len(ids)
    # the parameter the helper reads is recorded for both rules (explanations list each rule's parameters)
    for rule in ("partagee", "partagee_bis"):
        assert ("toy.base", MONTH) in plan.rule_bindings[rule]
