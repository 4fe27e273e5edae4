"""The ASPA of a person unfit for work or with a permanent incapacity of at least 50 % opens at 62, and the AAH of
a rate under 80 % ends there, whatever the generation: the age of retirement for inaptitude (CSS art. L351-1-5,
R815-1 as written by décret n° 2023-435; L821-2), which loi n° 2023-270 kept at 62 while the legal age of L161-17-2
rose with the generation. Both engines took that legal age, 64 for everyone from September 2023, until 8 December
2026 (docs/oracle_disagreements.md, « The age of retirement for inaptitude »)."""

from __future__ import annotations

from tests.rules.benefits.evaluated import rules_by_situation


def _person(sid: str, month: str, age: int, **more: object) -> dict:
    return {"id": sid, "month": month, "depcom": "46042", "housing": {"status": "tenant", "rent": 400},
            "persons": [{"role": "parent", "age": age, **more}]}


def test_the_aspa_of_the_unfit_opens_at_62_and_the_aah_under_80_percent_ends_there() -> None:
    """June 2026: those of 62 were born in 1963-1964, whose legal age is 62 y 9 m; of 63, in 1962-1963."""
    month = "2026-06"
    got = rules_by_situation([
        _person("unfit_62", month, 62, monthly={"pension": 300}, unfit_for_work=True),
        _person("rate50_63", month, 63, monthly={"pension": 300}, disability_rate=0.5),
        _person("unfit_61", month, 61, monthly={"pension": 300}, unfit_for_work=True),
        _person("rsdae_62", month, 62, disability_rate=0.6, rsdae=True),
        _person("rsdae_61", month, 61, disability_rate=0.6, rsdae=True),
        _person("rate80_63", month, 63, disability_rate=0.8),
        _person("fit_64", month, 64, monthly={"pension": 300}),
    ], ["aspa", "aah_famille", "rsa"], month)
    assert got["unfit_62"][0] > 700 and got["unfit_62"][2] == 0.0  # the ASPA, no RSA beside it
    assert got["rate50_63"][0] == got["unfit_62"][0]
    assert got["unfit_61"][0] == 0.0 and got["unfit_61"][2] > 0
    assert got["rsdae_62"][0] > 1000 and got["rsdae_62"][1] == 0.0  # the AAH ends, the ASPA opens
    assert got["rsdae_61"][0] == 0.0 and got["rsdae_61"][1] > 1000
    # at 80 % the AAH runs on past 62, less the ASPA received (L821-1): nothing left beside a full ASPA
    assert got["rate80_63"][0] > 1000 and got["rate80_63"][1] == 0.0
    assert got["fit_64"][0] == 0.0  # fit for work and under 65: no ASPA


def test_the_age_is_62_before_and_after_the_2023_reform() -> None:
    """62 was the legal age of those born from 1955 before September 2023, and stays the age of the unfit after."""
    for month in ("2024-01", "2025-04", "2026-12"):
        got = rules_by_situation([_person("u", month, 62, monthly={"pension": 300}, unfit_for_work=True)],
                                 ["aspa"], month)
        assert got["u"][0] > 600, month


def test_the_public_cases_parting_from_the_reference_model_on_it() -> None:
    """h00036 (June 2026, 63, a 50 % rate and an invalidity pension: the ASPA, not the ASI) and xh00048 (April
    2024, 63, 85 %: the couple's ASPA, her AAH less her half of it); OpenFisca-France 176.1.8 waits for 64."""
    h36 = {"id": "h00036", "month": "2026-06", "depcom": "13055", "couple": "married",
           "housing": {"status": "social_tenant", "rent": 590.02}, "persons": [
               {"role": "parent", "age": 59, "monthly": {"salary_net": 104.59}},
               {"role": "parent", "age": 63, "monthly": {"invalidity_pension": 846.7}, "disability_rate": 0.5},
               {"role": "child", "age": 0}],
           "benefits_paid": {"main": {"af": 0.0, "paje_base": 199.15, "asf": 0.0, "aide_logement": 353.0}}}
    got = rules_by_situation([h36], ["aspa", "asi"], "2026-06")["h00036"]
    assert (round(got[0], 2), got[1]) == (773.48, 0.0)
    x48 = {"id": "xh00048", "month": "2024-04", "depcom": "33063", "housing": {"status": "tenant", "rent": 732.68},
           "couple": "cohabiting", "persons": [
               {"role": "parent", "age": 63, "monthly": {}, "disability_rate": 0.85},
               {"role": "parent", "age": 65, "monthly": {"pension": 668.13}},
               {"role": "child", "age": 11}],
           "benefits_paid": {"main": {"af": 0.0, "paje_base": 0.0, "asf": 0.0, "aide_logement": 408.0}}}
    got = rules_by_situation([x48], ["aspa", "aah_famille"], "2024-04")["xh00048"]
    assert (round(got[0], 2), round(got[1], 2)) == (849.65, 591.23)
