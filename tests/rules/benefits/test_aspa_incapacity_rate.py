"""The ASPA from the legal retirement age for a person whose permanent incapacity is « au moins égale » to 50 %
(CSS art. L815-1, L351-8 1° bis, R815-2): at exactly 50 %, not above it only (OpenFisca-France 176.1.8 asks more
than 50 %; an outside tester's situations, probe19, 7 December 2026)."""

from __future__ import annotations

import pytest

from nonrecours.simulation import simulate

ZERO = {"main": {"af": 0.0, "paje_base": 0.0, "asf": 0.0, "aide_logement": 0.0}}


def _single(rate: float, age: int = 64) -> dict:
    return {"id": f"r{rate}-{age}", "month": "2025-06", "depcom": "46042", "housing": {"status": "owner"},
            "persons": [{"role": "parent", "age": age, "disability_rate": rate}], "benefits_paid": ZERO}


def test_the_aspa_opens_at_exactly_fifty_percent_from_the_legal_age() -> None:
    at50, at51, under, young, at63 = simulate([_single(0.5), _single(0.51), _single(0.49), _single(0.5, 61),
                                               _single(0.5, 63)]).records()
    assert at51["aspa"] == pytest.approx(1034.29, abs=1.0)  # OpenFisca-France's amount at 51 %
    assert at50["aspa"] == pytest.approx(at51["aspa"], abs=0.01) and at50["rsa"] == 0.0
    assert under["aspa"] == 0.0 and under["rsa"] == pytest.approx(568.94, abs=1.0)  # OpenFisca's RSA at 50 %
    assert young["aspa"] == 0.0  # 61: under 62, the age of retirement for inaptitude (CSS art. L351-1-5, R815-1)
    # 63: over it, whatever the generation's legal age (the reference model waits for 64 since September 2023:
    # docs/oracle_disagreements.md)
    assert at63["aspa"] == pytest.approx(at50["aspa"], abs=0.01)
