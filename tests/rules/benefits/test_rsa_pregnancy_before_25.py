"""CASF art. L262-4, 1°: « être âgé de plus de vingt-cinq ans ou assumer la charge d'un ou plusieurs enfants nés ou à
naître ». A couple under 25 expecting a child had no RSA (probe21, 7 December 2026: both engines)."""

from __future__ import annotations

from tests.rules.benefits.evaluated import rules_by_situation


def _couple(sid: str, pregnant: bool, student: bool = False) -> dict:
    return {"id": sid, "month": "2026-04", "depcom": "69123", "housing": {"status": "tenant", "rent": 600},
            "couple": "pacs",
            "persons": [{"role": "parent", "age": 23, "pregnant": pregnant, "student": student},
                        {"role": "parent", "age": 24, "monthly": {"salary_net": 300}, "student": student}]}


def test_a_child_to_be_born_opens_the_rsa_before_25_in_a_couple() -> None:
    got = rules_by_situation([_couple("expecting", True), _couple("not", False), _couple("students", True, True)],
                             ["rsa", "rsa_eligibilite", "rsa_socle_majore"], "2026-04")
    assert got["expecting"][1] is True and round(got["expecting"][0], 2) == 521.13
    assert got["expecting"][2] == 0.0  # a couple: no majoration for isolation (L262-9)
    assert got["not"][:2] == (0.0, False)
    assert got["students"][:2] == (0.0, False)  # L262-4, 4°: students, without a child at charge yet
