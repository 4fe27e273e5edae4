"""evaluate_many: several sets of inputs stacked in one evaluation give each set's own evaluation, exactly."""

from __future__ import annotations

import datetime as dt
import importlib
from dataclasses import fields

import polars as pl
import pytest
from toyrules import ALL_TARGETS

from nonrecours.engine import Inputs, evaluate
from nonrecours.engine.evaluate import evaluate_many
from nonrecours.engine.plan import ID

MAY = dt.date(2024, 5, 1)


def _text_ids(inputs: Inputs) -> Inputs:
    """The household with text ids, as the workspace's pseudonyms are."""
    out = {}
    for f in fields(Inputs):
        frame = getattr(inputs, f.name)
        out[f.name] = None if frame is None else frame.with_columns(
            pl.col(c).cast(pl.String) for c in ID.values() if c in frame.columns)
    return Inputs(**out)


def _variants(household: Inputs) -> list[Inputs]:
    """Three sets sharing ids, as detection's variants of the unknowns do: salaries as given, doubled, and a
    rent and a fiscal income changed."""
    base = _text_ids(household)
    doubled = Inputs(**{**{f.name: getattr(base, f.name) for f in fields(Inputs)},
                        "individu_monthly": base.individu_monthly.with_columns(pl.col("salaire") * 2)})
    other = Inputs(**{**{f.name: getattr(base, f.name) for f in fields(Inputs)},
                      "menage_monthly": base.menage_monthly.with_columns(pl.col("loyer") + 300),
                      "foyer_fiscal": base.foyer_fiscal.with_columns(pl.col("revenu_fiscal").fill_null(1.0) * 3)})
    return [base, doubled, other]


@pytest.mark.parametrize("backend", ["polars", "duckdb"])
@pytest.mark.parametrize("text_ids", [True, False])
def test_stacked_sets_equal_separate_evaluations(backend, text_ids, toy_reg, toy_params, household):
    sets = _variants(household) if text_ids else [household, household]
    many = evaluate_many(ALL_TARGETS, sets, MAY, backend, registry=toy_reg, parameters=toy_params)
    assert len(many) == len(sets)
    for got, inputs in zip(many, sets, strict=True):
        alone = evaluate(ALL_TARGETS, inputs, MAY, backend, registry=toy_reg, parameters=toy_params)
        assert got.inputs is inputs
        for entity, frame in alone.frames.items():
            assert got[entity].equals(frame), (entity, backend)
    if text_ids:  # the sets differ, and so do their results: no set reads another's rows
        assert not many[0]["famille"].equals(many[1]["famille"])


@pytest.mark.parametrize("backend", ["polars", "duckdb"])
def test_sets_at_their_own_months_equal_separate_evaluations(backend, toy_reg, toy_params, household):
    """Each set at its own month (a period evaluated in one pass, as the synthetic truth's months are): a parameter
    changing in April and a rule's variant in June are read at each set's month."""
    sets = _variants(household)
    months = [dt.date(2024, 3, 1), MAY, dt.date(2024, 6, 1)]
    many = evaluate_many(ALL_TARGETS, sets, months, backend, registry=toy_reg, parameters=toy_params)
    for got, inputs, month in zip(many, sets, months, strict=True):
        alone = evaluate(ALL_TARGETS, inputs, month, backend, registry=toy_reg, parameters=toy_params)
        assert got.month == month
        for entity, frame in alone.frames.items():
            assert got[entity].select(frame.columns).equals(frame), (entity, backend, month)
    with pytest.raises(Exception, match="2 months for 3 sets"):
        evaluate_many(ALL_TARGETS, sets, months[:2], backend, registry=toy_reg, parameters=toy_params)


def test_sets_beyond_stack_rows_are_stacked_in_runs(toy_reg, toy_params, household, monkeypatch):
    """More individus than ``STACK_ROWS`` in all: the sets are cut into stacked runs (in order, at most
    ``STACK_ROWS`` individus each), and each set still gets its own evaluation's values."""
    evaluate_module = importlib.import_module("nonrecours.engine.evaluate")

    sets = _variants(household) * 2
    n = sets[0].individu.height
    monkeypatch.setattr(evaluate_module, "STACK_ROWS", 2 * n)  # two sets a run: three runs
    assert evaluate_module._chunks([s.individu.height for s in sets]) == [[0, 1], [2, 3], [4, 5]]
    assert evaluate_module._chunks([n, 3 * n, n]) == [[0], [1], [2]]  # a set beyond the limit alone
    stacked: list[int] = []
    real = evaluate_module.evaluate

    def counting(targets, inputs, *args, **kwargs):
        stacked.append(inputs.individu.height)
        return real(targets, inputs, *args, **kwargs)

    monkeypatch.setattr(evaluate_module, "evaluate", counting)
    many = evaluate_many(ALL_TARGETS, sets, MAY, "polars", registry=toy_reg, parameters=toy_params)
    assert stacked == [2 * n] * 3
    for got, inputs in zip(many, sets, strict=True):
        alone = real(ALL_TARGETS, inputs, MAY, "polars", registry=toy_reg, parameters=toy_params)
        for entity, frame in alone.frames.items():
            assert got[entity].equals(frame), entity


def test_a_dozen_sets_stacked_and_at_most_stack_sets_a_run(toy_reg, toy_params, household, monkeypatch):
    """Twelve sets in one stack (tags 0000| to 0011|: each id's set read from its tag's digits) give each set its
    own evaluation's values, ids untagged; past ``STACK_SETS`` sets a new run starts (the tags' width is fixed)."""
    evaluate_module = importlib.import_module("nonrecours.engine.evaluate")

    sets = _variants(household) * 4
    many = evaluate_many(ALL_TARGETS, sets, MAY, "polars", registry=toy_reg, parameters=toy_params)
    for got, inputs in zip(many, sets, strict=True):
        alone = evaluate(ALL_TARGETS, inputs, MAY, "polars", registry=toy_reg, parameters=toy_params)
        for entity, frame in alone.frames.items():
            assert got[entity].equals(frame), entity
    monkeypatch.setattr(evaluate_module, "STACK_SETS", 5)
    assert evaluate_module._chunks([1] * 12) == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11]]
