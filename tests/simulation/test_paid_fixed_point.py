"""The paid values the differential harness states from OpenFisca are a fixed point (``_state_paid``): with
nothing stated, OpenFisca breaks its housing aid's loop through the RSA of the month before at 0 and gives an aid
the stated history contradicts (d11300-1169: 253 €, then 139 € with 253 € stated, 139 € again). A fake oracle
with that behaviour stands in for OpenFisca (its web-API situations in, its values out)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from nonrecours.simulation import differential
from nonrecours.simulation.differential import compare_with_oracle, generate_situations


def _oracle(aid: Callable[[float | None], float]) -> Callable[[list[dict[str, Any]]], list[dict[str, Any]]]:
    """An oracle whose housing aid of the month is ``aid(the aid stated for the month before, or None)``, every
    other value 0, with the calls' stated aids recorded in ``calls``."""
    calls: list[list[float | None]] = []

    def run(situations: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out, seen = [], []
        for sit in situations:
            res: dict[str, Any] = {}
            for entity, members in sit.items():
                res[entity] = {}
                for key, unit in members.items():
                    res[entity][key] = {}
                    for var, by_period in unit.items():
                        if not isinstance(by_period, dict):
                            continue
                        asked = [p for p, v in by_period.items() if v is None]
                        before = sorted(p for p, v in by_period.items() if v is not None and p[:1].isdigit())
                        value = 0.0
                        if var == "aide_logement" and asked:
                            stated = by_period[before[-1]] if before else None
                            seen.append(stated)
                            value = aid(stated)
                        res[entity][key][var] = {p: value for p in asked}
            out.append(res)
        calls.append(seen)
        return out

    run.calls = calls  # type: ignore[attr-defined]
    return run


@pytest.fixture
def situations() -> list[dict[str, Any]]:
    sits = generate_situations(6, 11, months=["2026-06"])
    for s in sits:
        s["housing"] = {"status": "tenant", "rent": 500.0}
    return sits


def _paid(sits: list[dict[str, Any]]) -> set[float]:
    return {u["aide_logement"] for s in sits for u in s["benefits_paid"].values()}


def test_the_stated_housing_aid_is_the_one_openfisca_gives_back(situations) -> None:
    oracle = _oracle(lambda before: {None: 253.0, 253.0: 139.0}.get(before, 139.0))
    stated, unsettled = differential._state_paid(situations, oracle)
    assert _paid(stated) == {139.0} and unsettled == []
    assert oracle.calls[0] == [None] * len(oracle.calls[0])  # nothing stated first, then 253, then 139
    assert set(oracle.calls[1]) == {253.0} and set(oracle.calls[2]) == {139.0} and len(oracle.calls) == 3
    # a situation that states its own payments is left as it is, never asked
    mine = {**situations[0], "id": "own", "benefits_paid": {"main": {"af": 0.0, "paje_base": 0.0, "asf": 0.0,
                                                                      "aide_logement": 42.0}}}
    stated, _ = differential._state_paid([mine], oracle)
    assert stated == [mine] and len(oracle.calls) == 3


def test_a_housing_aid_that_never_states_itself_is_reported_unsettled(situations) -> None:
    oracle = _oracle(lambda before: 100.0 if before in (None, 200.0) else 200.0)  # 100, 200, 100...
    report = compare_with_oracle(situations, oracle)
    assert sorted(report.unsettled) == sorted(s["id"] for s in situations)
    assert report.n == len(situations)  # compared all the same
    assert len(oracle.calls) == 1 + differential.STATE_ROUNDS + 1  # the first pass, the rounds, the comparison
