"""``plan.input_depths``: the months before the evaluated one that the targets read of each monthly input, found
without building the plan, are the plan's (the core's look-back reads them: ``core.resources.lookback``)."""

from __future__ import annotations

import datetime as dt

import pytest
from toyrules import ALL_TARGETS

from nonrecours.core.resources import CoreConfig, lookback
from nonrecours.engine.evaluate import cached_input_depths
from nonrecours.engine.plan import build_plan, input_depths
from nonrecours.errors import RuleError
from nonrecours.rules.dsl import Individu, shift
from nonrecours.rules.params import default_parameters
from nonrecours.rules.registry import Registry, default_registry


def _plan_depths(targets, registry, params, month: dt.date) -> dict[str, int]:
    depth: dict[str, int] = {}
    for s in build_plan(targets, registry, params, month).inputs():
        if s.monthly and s.variable is not None:
            depth[s.variable] = max(depth.get(s.variable, 0), -s.offset)
    return depth


@pytest.mark.parametrize("month", [dt.date(2023, 6, 1), dt.date(2024, 5, 1), dt.date(2024, 6, 1),
                                   dt.date(2024, 7, 1), dt.date(2025, 1, 1)])
def test_the_toy_rules_depths_are_their_plans(toy_reg, toy_params, month):
    """Shifts, windows over months, dated variants (a variant reading further back from some month on),
    aggregates, projections and conditions: the depths of each target alone and of all together."""
    for targets in [[t] for t in ALL_TARGETS] + [ALL_TARGETS]:
        assert input_depths(targets, toy_reg, month) == _plan_depths(targets, toy_reg, toy_params, month)
    assert max(input_depths(ALL_TARGETS, toy_reg, month).values()) > 0  # some input read months before


@pytest.mark.parametrize("month", [dt.date(2024, 4, 1), dt.date(2025, 8, 1), dt.date(2026, 1, 1),
                                   dt.date(2026, 6, 1)])
def test_the_cores_look_back_is_the_project_plans(month):
    """Every benefit's targets, at months of law changes (the RSA's April revaluation, the ARS of August, a new
    year): the core's look-back is what the plan of the month reads, without the plan."""
    config = CoreConfig()
    want = _plan_depths(tuple(config.targets), default_registry(), default_parameters(), month)
    assert lookback(config, month) == want and want["pension_gross"] >= 15
    got = cached_input_depths(tuple(config.targets), default_registry(), month)
    got["pension_gross"] = 0  # each call gets a dict of its own
    assert lookback(config, month) == want
    assert lookback(CoreConfig(lookback_months=12), month) == dict.fromkeys(want, 12)


def test_a_recursion_in_time_and_an_unknown_variable_are_refused():
    reg = Registry()
    reg.input_variable("salaire", entity="individu", dtype="float", monthly=True, label="salaire")

    @reg.rule(entity="individu", dtype="float", label="toujours plus loin")
    def back_forever(i: Individu):
        return shift(i.back_forever, -1) + i.salaire

    with pytest.raises(RuleError, match="offset beyond"):
        input_depths(["back_forever"], reg, dt.date(2024, 1, 1))
    with pytest.raises(RuleError, match="unknown variable"):
        input_depths(["nowhere"], reg, dt.date(2024, 1, 1))
