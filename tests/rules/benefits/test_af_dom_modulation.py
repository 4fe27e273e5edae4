"""Overseas (Guadeloupe, Guyane, Martinique, La Réunion): the allowances are due from the first child (CSS art.
L755-12, first paragraph) and L521-1 applies (L755-11), "Toutefois, les quatre derniers alinéas de l'article
L. 521-1 ne sont pas applicables lorsque le ménage ou la personne a un seul enfant à charge" (L755-12, second
paragraph): those paragraphs are the modulation by resources, the ceilings and the complément dégressif. So a
famille of two children or more gets the complément dégressif overseas as in mainland France, and a single child's
allowance is not modulated."""

from __future__ import annotations

import pytest

from nonrecours.simulation import simulate

MONTH = "2024-05"


def _family(depcom: str, children: list[int], salaries: tuple[float, float]) -> dict:
    return {"id": f"af-{depcom}-{len(children)}-{salaries[0]}", "month": MONTH, "depcom": depcom,
            "couple": "pacs", "housing": {"status": "social_tenant", "rent": 472.46},
            "persons": [{"role": "parent", "age": 44, "monthly": {"salary_net": salaries[0]}},
                        {"role": "parent", "age": 42, "monthly": {"salary_net": salaries[1]}},
                        *({"role": "child", "age": a} for a in children)]}


def _af(sit: dict) -> float:
    (rec,) = simulate([sit]).records()
    return rec["af"]


def test_complement_degressif_applies_overseas_from_two_children() -> None:
    """Resources of 2022 just over the first ceiling for three children: half rate plus the complément
    dégressif, in La Réunion as in the Lot (d9400-657 of the differential, without its child of 20)."""
    children, salaries = [13, 11, 11], (3700.0, 3600.0)
    mainland, reunion = _af(_family("46042", children, salaries)), _af(_family("97411", children, salaries))
    full = _af(_family("97411", children, (1500.0, 1400.0)))  # under the ceilings
    assert full / 2 < reunion < full  # modulated to half, then raised by the complément dégressif
    assert reunion == pytest.approx(mainland, abs=0.01)


def test_single_child_overseas_is_not_modulated() -> None:
    low = _af(_family("97411", [8], (1000.0, 0.0)))
    high = _af(_family("97411", [8], (9000.0, 9000.0)))
    assert low > 0
    assert high == pytest.approx(low, abs=0.01)
