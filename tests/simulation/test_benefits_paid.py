"""benefits_paid.af given or not: RSA, PPA and CSS use the allocations familiales paid when the situation states
them, and the allocations familiales we compute when it does not (SITUATION_FORMAT.md, issue 11). Each payment
is known on its own: these situations all state that no housing aid is paid, and the ones stating family benefits
state the ASF this lone parent is computed to get, so that only the AF differ."""

from __future__ import annotations

import copy

from nonrecours.simulation.runner import simulate

BMAF_2025 = 474.37  # from April 2025 (Instruction DSS/2A/2C/2025/32)
AF_BASE_DEUX_ENFANTS = round(0.32 * BMAF_2025, 2)  # CSS art. D521-1: 32 % of the BMAF for two children
ASF_DEUX_ENFANTS = round(2 * 0.422 * BMAF_2025, 2)  # CSS art. R523-7: 42.2 % of the BMAF per child

LONE_PARENT = {
    "id": "lp",
    "month": "2025-06",
    "depcom": "46042",
    "housing": {"status": "tenant", "rent": 450},
    "benefits_paid": {"main": {"aide_logement": 0.0}},
    "persons": [
        {"role": "parent", "age": 35, "monthly": {"salary_net": 300}},
        {"role": "child", "age": 6},
        {"role": "child", "age": 9},
    ],
}


def _run(**changes: object) -> dict:
    s = copy.deepcopy(LONE_PARENT)
    s.update(changes)
    result = simulate([s])
    assert result.errors == []
    return result.records()[0]


def _paid(af: float) -> dict:
    return {"main": {"af": af, "paje_base": 0.0, "asf": ASF_DEUX_ENFANTS, "aide_logement": 0.0}}


def test_computed_af_is_the_two_children_base() -> None:
    rec = _run()
    assert abs(rec["af"] - AF_BASE_DEUX_ENFANTS) < 0.01


def test_without_benefits_paid_the_computed_af_feed_rsa() -> None:
    """No AF stated: RSA counts the AF we compute, exactly as if that amount had been stated as paid."""
    computed = _run()
    stated = _run(benefits_paid=_paid(AF_BASE_DEUX_ENFANTS))
    for field in ("rsa", "ppa", "css_free", "css_participation", "css_participation_monthly"):
        assert computed[field] == stated[field], field
    assert computed["rsa"] > 0


def test_without_benefits_paid_the_computed_asf_feeds_rsa() -> None:
    """No ASF stated: RSA counts the flat ASF of the ASF we compute for a lone parent (CASF art. R262-10-1: 22.5 %
    of the BMAF per child), as OpenFisca does; a situation stating no ASF paid in the month itself
    (``benefits_paid_in_month``) gets an RSA higher by it."""
    computed = _run(benefits_paid_in_month=True)
    no_asf = _run(benefits_paid={"main": {"af": AF_BASE_DEUX_ENFANTS, "paje_base": 0.0, "asf": 0.0,
                                          "aide_logement": 0.0}}, benefits_paid_in_month=True)
    assert abs(no_asf["rsa"] - computed["rsa"] - round(2 * 0.225 * BMAF_2025, 2)) < 0.02


def test_with_benefits_paid_the_paid_amount_is_used() -> None:
    """A situation that states no AF paid, in the month itself too (``benefits_paid_in_month``), gets an RSA
    higher by the AF base it would otherwise count."""
    computed = _run(benefits_paid_in_month=True)
    none_paid = _run(benefits_paid=_paid(0.0), benefits_paid_in_month=True)
    assert abs(none_paid["rsa"] - computed["rsa"] - AF_BASE_DEUX_ENFANTS) < 0.02
    # the af output is the entitlement of the month either way
    assert abs(none_paid["af"] - computed["af"]) < 0.01


def test_the_rsa_of_the_month_counts_the_family_benefits_due_in_it() -> None:
    """The stated payments hold over the months before the month, which is computed (SITUATION_FORMAT.md): a
    lone parent stated as paid no AF and no ASF gets the RSA of one whose benefits are computed, as from
    OpenFisca-France (hand-written situation « paid-all-zero », June 2025: 306.45 EUR both; ours was 671.72,
    higher by the AF base and the ASF forfait)."""
    computed = _run()
    none_paid = _run(benefits_paid={"main": {"af": 0.0, "paje_base": 0.0, "asf": 0.0, "aide_logement": 0.0}})
    assert computed["rsa"] > 0
    assert abs(none_paid["rsa"] - computed["rsa"]) < 0.01


FOYER_COUPLE = {  # d2001-1403 of the differential benchmark (docs/oracle_disagreements.md)
    "id": "d2001-1403", "month": "2026-05", "depcom": "23096", "housing": {"status": "foyer", "rent": 647.46},
    "couple": "married",
    "persons": [{"role": "parent", "age": 53}, {"role": "parent", "age": 22, "monthly": {"salary_net": 853.16}}],
    "benefits_paid": {"main": {"af": 0.0, "paje_base": 0.0, "asf": 0.0, "aide_logement": 308.0}},
}


def test_rsa_forfait_logement_reads_the_housing_aid_of_the_month() -> None:
    """The stated 308 € hold over the months before May: with them the RSA of April is nil, so May's housing aid
    is not neutralised (CCH art. R822-17) and is 112 €; the forfait logement of May is limited to it (CASF art.
    R262-10): 977.54 - 112 - 853.16 = 12.38 € (OpenFisca-France's amount). Stated for May as well, the 308 €
    bring the full forfait of 156.41 € and no RSA."""
    (computed,) = simulate([FOYER_COUPLE]).records()
    assert computed["aide_logement"] == 112.0
    assert abs(computed["rsa"] - 12.38) < 0.01
    (in_month,) = simulate([{**FOYER_COUPLE, "benefits_paid_in_month": True}]).records()
    assert in_month["rsa"] == 0.0
    assert in_month["ppa"] == computed["ppa"]  # the prime reads the months before only


def test_a_stated_asf_alone_is_read_with_the_other_family_benefits_unpaid() -> None:
    """``{"asf": ...}`` without ``af``: the family benefits are known together, the absent ones were not paid (as
    the OpenFisca export states them); the stated ASF was dropped and every family benefit computed before
    (hand-written situation « b2-paid-only-asf »: PPA 275.72 against OpenFisca's 589.27)."""
    alone = _run(benefits_paid={"main": {"asf": ASF_DEUX_ENFANTS}}, benefits_paid_in_month=True)
    spelt = _run(benefits_paid={"main": {"af": 0.0, "paje_base": 0.0, "asf": ASF_DEUX_ENFANTS}},
                 benefits_paid_in_month=True)
    assert alone == spelt
