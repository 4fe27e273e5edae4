"""The situation generator of the differential harness (no oracle needed): valid, seeded, covering shapes."""

from __future__ import annotations

from collections import Counter

from nonrecours.simulation import load_situations
from nonrecours.simulation.differential import AGE_THRESHOLDS, STATUSES, generate_situations


def test_same_seed_same_situations_and_all_valid() -> None:
    a, b = generate_situations(400, 3), generate_situations(400, 3)
    assert a == b
    assert a != generate_situations(400, 4)
    batch = load_situations(a)
    assert batch.errors == []
    assert len({s["id"] for s in a}) == 400


def test_shapes_the_law_distinguishes_are_all_drawn() -> None:
    sits = generate_situations(1500, 11)
    persons = [p for s in sits for p in s["persons"]]
    ages = Counter(p["age"] for p in persons)
    for t in AGE_THRESHOLDS:
        assert ages[t - 1] and ages[t] and ages[t + 1], t
    assert {s["housing"]["status"] for s in sits} == set(STATUSES)
    assert {s.get("couple") for s in sits} >= {"married", "pacs", "cohabiting"}
    assert {p.get("disability_rate", 0.0) for p in persons} >= {0.0, 0.5, 0.79, 0.8}
    assert any(p.get("rsdae") for p in persons) and any(p.get("unfit_for_work") for p in persons)
    assert any(p.get("pregnant") for p in persons) and any(p.get("student") for p in persons)
    permits = {p.get("residence_permit_years") for p in persons if "residence_permit_years" in p}
    assert {4, 5, 6, 9, 10, 11} <= permits
    assert any(s.get("recent_isolation") for s in sits)
    assert any(len({p.get("unit", "main") for p in s["persons"]}) == 2 for s in sits)
    children = [p for p in persons if p["role"] == "child"]
    assert {c["age"] for c in children} >= set(range(0, 26))
    assert any(c.get("monthly", {}).get("salary_net") for c in children if c["age"] >= 20)
    months = {s["month"] for s in sits}
    assert min(months) == "2024-01" and max(months) == "2026-12"


def test_months_can_be_restricted() -> None:
    sits = generate_situations(50, 1, months=("2025-04",))
    assert {s["month"] for s in sits} == {"2025-04"}


def test_rare_shapes_are_drawn_valid_and_leave_the_seed_alone() -> None:
    from nonrecours.simulation.differential import RARE_SHAPES

    plain, rare = generate_situations(1500, 12), generate_situations(1500, 12, rare=0.6)
    assert generate_situations(1500, 12, rare=0.0) == plain
    assert load_situations(rare).errors == []
    assert {s.get("label") for s in rare} - {None} == set(RARE_SHAPES)
    untouched = [(a, b) for a, b in zip(plain, rare, strict=True) if "label" not in b]
    assert untouched and all(a == b for a, b in untouched)
    second = [[p for p in s["persons"] if p["unit"] == "second"] for s in rare]
    assert any(sum(p["role"] == "parent" for p in ps) == 2 for ps in second)
    assert any(any(p["role"] == "child" for p in ps) for ps in second)


def test_senior_activity_gives_work_after_62_and_leaves_the_seed_alone() -> None:
    plain, senior = generate_situations(800, 13, rare=0.3), generate_situations(800, 13, rare=0.3, senior_activity=0.5)
    assert generate_situations(800, 13, rare=0.3, senior_activity=0.0) == plain
    assert load_situations(senior).errors == []

    def working(sits: list) -> int:
        return sum(1 for s in sits for p in s["persons"] if p["role"] == "parent" and p["age"] >= 62
                   and (p["monthly"].get("salary_net") or p["monthly"].get("unemployment")))

    assert working(senior) > 50 and working(plain) < working(senior)
