"""Situations written by hand from SITUATION_FORMAT.md alone, as another author would write them (not drawn by our
generator), with OpenFisca-France 176.1.8's amounts per unit (``data/other_author_situations.json``, its
``generated_with`` and ``note`` give the provenance). ``simulate`` must accept every one, agree with the stored
amounts within 1 euro except on the disagreements docs/oracle_disagreements.md explains, refuse the invalid ones
naming the field, and give equal answers to situations that say the same thing in other words."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nonrecours.simulation import load_situations
from nonrecours.simulation.oracle import FIELDS, compare, documented_disagreements
from nonrecours.simulation.runner import simulate_batch

ROOT = Path(__file__).resolve().parents[2]
DATA = json.loads((Path(__file__).parent / "data" / "other_author_situations.json").read_text(encoding="utf-8"))
CASES = DATA["cases"]
DOC = ROOT / "docs" / "oracle_disagreements.md"


@pytest.fixture(scope="module")
def records() -> dict[str, dict]:
    batch = load_situations([c["situation"] for c in CASES])
    assert [str(e) for e in batch.errors] == []
    assert batch.unit_index.height == sum(len(c["expected"]["by_unit"]) for c in CASES)
    return {r["id"]: r for r in simulate_batch(batch).records()}


def test_every_disagreement_with_openfisca_is_documented(records) -> None:  # type: ignore[no-untyped-def]
    report = compare(records.values(), CASES)
    listed = documented_disagreements(DOC)
    missing = [(d.id, d.field, d.ours, d.expected) for d in report.disagreements if (d.id, d.field) not in listed]
    assert missing == []
    ids = {c["situation"]["id"] for c in CASES}
    stale = {(i, f) for i, f in listed if i in ids} - {(d.id, d.field) for d in report.disagreements}
    assert stale == set()


def test_units_agree_too(records) -> None:  # type: ignore[no-untyped-def]
    listed = documented_disagreements(DOC)
    for case in CASES:
        sid = case["situation"]["id"]
        ours = {u["unit"]: u for u in records[sid]["by_unit"]}
        for exp in case["expected"]["by_unit"]:
            for f in FIELDS:
                if (sid, f) in listed:
                    continue
                a, b = ours[exp["unit"]][f], exp[f]
                assert (a == b) if isinstance(b, bool) else abs(a - b) <= 1.0 + 1e-9, (sid, exp["unit"], f, a, b)


SAME = [("num-int", "num-float"), ("doc-example-no-paid", "doc-example-reversed"),
        ("couple-no-kind", "couple-cohabiting-nokids"),
        *(("omit-unit", f"omit-{f}") for f in ("student", "disability_rate", "rsdae", "unfit_for_work",
                                              "nationality", "residence_permit_years", "pregnant"))]
"""Pairs that say the same thing: ints and floats (ages 38 and 38.0 too), keys and persons in another order,
``couple`` omitted for two cohabiting parents, an optional field omitted or given its default value."""


@pytest.mark.parametrize(("a", "b"), SAME)
def test_the_same_situation_written_otherwise_gives_the_same_amounts(records, a: str, b: str) -> None:  # type: ignore[no-untyped-def]
    assert {f: records[a][f] for f in FIELDS} == {f: records[b][f] for f in FIELDS}


def test_invalid_situations_are_refused_naming_the_field() -> None:
    bad = DATA["invalid"]
    batch = load_situations([CASES[0]["situation"], *(b["situation"] for b in bad)])
    assert batch.unit_index["id"].to_list() == [CASES[0]["situation"]["id"]]  # the valid one still computed
    got = {e.situation_id: e.field for e in batch.errors}
    assert got == {b["situation"]["id"]: b["field"] for b in bad}
    for e in batch.errors:
        assert f"situation {e.situation_id}" in str(e) and e.field in str(e)
