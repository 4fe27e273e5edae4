"""The student forfait of the housing aid (CCH art. R822-20, formerly R351-7-2): when the applicant and, where there
is one, the partner pursue studies and the household's resources are below the minimal amount (8,600 € a year in a
rented dwelling in 2025, D822-21), they are deemed equal to it. A floor, not a replacement; only when both members of
a couple are students; whatever the order the partners are listed in. Before, the forfait replaced the resources of
any famille whose demandeur was a student: a student earning 1,500 € a month got 183 €, the same worker 0 €, and a
couple of a student and a worker got 306 € or 0 € depending on who was listed first.

Hand computations for October 2025 in Cahors (zone 3), an unfurnished rent of 450 €: a single person's ceiling
L = 272.12, C = 60.59, L + C = 332.71, P0 = max(8.5 % × 332.71, 39.56) = 39.56, R0 = 5,235, TF = 2.83 %, TL = 0.262 %
(Tp = 3.092 %); aid = L + C − P0 − Tp × (R − R0) − 5 €, minus the CRDS (0.5 %, rounded down to the cent), rounded
down to the euro."""

from __future__ import annotations

from tests.rules.benefits.evaluated import rules_by_situation

MONTH = "2025-10"
RULES = ["aide_logement", "aide_logement_base_ressources"]
HOUSING = {"status": "tenant", "rent": 450}


def _person(age: int, salary: float, student: bool) -> dict:
    return {"role": "parent", "age": age, "monthly": {"salary_net": salary}, **({"student": True} if student else {})}


def _aid(households: dict[str, list[dict]]) -> dict[str, tuple]:
    """Housing aid and its resource base (annual) of each household, tenant in Cahors at 450 €."""
    return rules_by_situation([{"id": k, "month": MONTH, "depcom": "46042", "housing": HOUSING, "persons": persons,
                                **({"couple": "cohabiting"} if len(persons) == 2 else {})}
                               for k, persons in households.items()], RULES, MONTH)


def test_the_student_forfait_is_a_floor_under_the_real_resources() -> None:
    got = _aid({
        "student_0": [_person(22, 0, True)],
        "student_1200": [_person(22, 1200, True)],
        "worker_1200": [_person(22, 1200, False)],
        "student_1500": [_person(22, 1500, True)],
        "worker_1500": [_person(22, 1500, False)],
    })
    # No income: R = 8,600 (the forfait); Pp = 39.56 + 3.092 % × 3,365 = 143.61; 332.71 − 143.61 − 5 = 184.10,
    # CRDS 0.92 -> 183
    assert got["student_0"] == (183.0, 8600.0)
    # 1,200 € net a month: 14,925.96 € taxable over the twelve months less 10 % (1,493) = 13,432.96 -> 13,500 over
    # the forfait, kept; Pp = 39.56 + 3.092 % × 8,265 = 295.11; 332.71 − 295.11 − 5 = 32.60, CRDS 0.16 -> 32
    assert got["student_1200"] == (32.0, 13500.0)
    # 1,500 €: 18,657.48 less 1,866 = 16,791.48 -> 16,800; Pp = 39.56 + 3.092 % × 11,565 = 397.15 > 332.71 -> 0
    assert got["student_1500"] == (0.0, 16800.0)
    # a student earning over the forfait is treated as the same worker
    assert got["student_1200"] == got["worker_1200"]
    assert got["student_1500"] == got["worker_1500"]


def test_a_couple_of_a_student_and_a_worker_is_not_floored_whatever_the_order() -> None:
    """R822-20 asks the applicant and his partner to be students. A student of 24 earning 500 € and a worker of 30
    earning 1,200 €: resources 5,597.12 + 13,432.96 = 19,030.08 -> 19,100 (no double-activity abattement: the
    student's 5,597.12 is under twelve BMAF), over the couple's L + C − P0: no aid, in both orders."""
    student, worker = _person(24, 500, True), _person(30, 1200, False)
    got = _aid({"student_first": [student, worker], "worker_first": [worker, student]})
    assert got["student_first"] == got["worker_first"] == (0.0, 19100.0)


def test_a_couple_of_students_is_floored_whatever_the_order() -> None:
    """Two students without income: the forfait, 8,600 € for the household (not per person); two students earning
    1,000 € and 300 € a month: their real resources (over the forfait) in both orders."""
    got = _aid({
        "both_0": [_person(23, 0, True), _person(24, 0, True)],
        "both_earning_a": [_person(23, 1000, True), _person(24, 300, True)],
        "both_earning_b": [_person(24, 300, True), _person(23, 1000, True)],
    })
    assert got["both_0"][1] == 8600.0 and got["both_0"][0] > 0
    assert got["both_earning_a"] == got["both_earning_b"]
    assert got["both_earning_a"][1] > 8600.0


def test_the_forfait_stops_at_28() -> None:
    """The forfait applies to students under 28 (``etudiant_age_max``): a student of 30 without income is counted
    with no resources, as a non-student."""
    got = _aid({"student_30": [_person(30, 0, True)], "worker_30": [_person(30, 0, False)]})
    assert got["student_30"] == got["worker_30"]
    assert got["student_30"][1] == 0.0
