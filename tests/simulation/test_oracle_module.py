"""The comparison itself: tolerance, booleans, missing situations, the disagreement table parser."""

from __future__ import annotations

import pytest

from nonrecours.simulation.oracle import compare, documented_disagreements

EXPECTED = {"rsa": 100.0, "ppa": 0.0, "aspa": 0.0, "css_free": True, "css_participation": False,
            "css_participation_monthly": 0.0, "aide_logement": 0.0, "aah": 0.0, "asi": 0.0, "af": 151.8,
            "ars_annual": 0.0, "cheque_energie_annual": 194.0}


def _case(sid: str) -> dict:
    return {"situation": {"id": sid}, "expected": dict(EXPECTED)}


def test_one_euro_tolerance_and_exact_booleans() -> None:
    cases = [_case("a"), _case("b"), _case("c")]
    records = [
        {"id": "a", **EXPECTED, "rsa": 100.99},
        {"id": "b", **EXPECTED, "rsa": 98.5, "css_free": False},
    ]
    report = compare(records, cases)
    got = {(d.id, d.field) for d in report.disagreements}
    assert ("a", "rsa") not in got
    assert {("b", "rsa"), ("b", "css_free")} <= got
    assert {f for i, f in got if i == "c"} == set(EXPECTED)  # missing situation disagrees everywhere
    assert report.agreement("rsa") == pytest.approx(1 / 3)
    assert report.summary()["aspa"] == {"agree": 2, "n": 3, "rate": 0.6667}


def test_table_parser_reads_id_and_field_columns(tmp_path) -> None:  # type: ignore[no-untyped-def]
    doc = tmp_path / "d.md"
    doc.write_text("| id | field | ours |\n|---|---|---|\n| h1 | ppa | 1 |\n| `x-2` | `css_free` | true |\n"
                   "| h3 | not_a_field | 2 |\ntext | h4 | rsa |\n", encoding="utf-8")
    assert documented_disagreements(doc) == {("h1", "ppa"), ("x-2", "css_free")}
