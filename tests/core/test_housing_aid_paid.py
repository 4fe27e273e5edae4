"""core.inputs: a housing aid is paid only for a housing expense, a rent or a loan (CCH art. L821-1), so a famille a
payer (CAF or MSA) pays one in the month is neither housed free of charge nor an owner without a loan, whatever the
dwelling's record says or does not say. Until 6 December 2026 an MSA member paid the MSA's AL (the MSA's layout has
no housing record) got the uninformed « hébergé gratuitement » variant: its high end added the forfait logement of
the people housed free to the housing-aid one, and a single farm worker earning 692 € a month lost his certain free
CSS (probe hh19 K111, K106: 8,304 + 2 × 938.43 > 10,166); the same rule now holds for a CAF dossier the DGFiP's
dwelling makes look hosted."""

from __future__ import annotations

import datetime as dt

import polars as pl
from tests.core.rows import DAY, MONTHS, M, frame, membership, person

from nonrecours.core import build_month
from nonrecours.schemas import BENEFITS_PAID, HOUSING, PERSONS, RESOURCES, UNIT_MEMBERSHIPS


def _paid(dossier: str, amount: float, agency: str) -> list[list[object]]:
    """The housing aid of ``amount`` ``agency`` pays dossier ``dossier`` every month of the year to June 2026."""
    return [["famille", dossier, None, "aide_logement", m, amount, agency, agency, agency, DAY] for m in MONTHS]


def _hosting(core, famille_id: str) -> tuple[bool, pl.DataFrame, pl.DataFrame]:
    """The famille's hosting as the rules read it, its unknowns and its provenance."""
    fam = core.inputs.famille.filter(pl.col("famille_id") == famille_id)
    of = (pl.col("id") == famille_id) & (pl.col("input") == "hosted_free_of_charge")
    return fam["hosted_free_of_charge"].item(), core.unknowns.filter(of), core.provenance.filter(of)


def _farm_workers() -> dict[str, pl.DataFrame]:
    """Two single farm workers of the MSA earning 692 € a month, each his own dossier (the MSA's layout: famille
    and ménage, no housing record); the MSA pays the first (dossier D1) a housing aid of 150 € every month."""
    persons = [person("w1", dt.date(1990, 4, 1), "msa"), person("w2", dt.date(1991, 9, 1), "msa")]
    mems = [membership(p, kind, d, role, "msa") for p, d in (("w1", "D1"), ("w2", "D2"))
            for kind, role in (("famille", "demandeur"), ("menage", "personne_de_reference"))]
    resources = [[p, m, "salary_net", 692.0, "msa", "msa", DAY] for p in ("w1", "w2") for m in MONTHS]
    paid = _paid("D1", 150.0, "msa") + _paid("F0", 200.0, "caf")  # the CAF pays its own dossiers
    return {"persons": frame(PERSONS, persons), "unit_memberships": frame(UNIT_MEMBERSHIPS, mems),
            "resources": frame(RESOURCES, resources), "benefits_paid": frame(BENEFITS_PAID, paid)}


def test_an_msa_member_paid_a_housing_aid_is_not_housed_free_in_any_variant():
    core = build_month(_farm_workers(), M)
    hosted, unk, prov = _hosting(core, "msa:D1")
    assert hosted is False and unk.is_empty()
    assert prov.select("kind", "source_agency").rows() == [("observed", "msa")]   # from the MSA's payment
    assert core.counts["familles_housing_aid_not_hosted"] == 1
    # the control, paid no housing aid, may be an owner or housed free: the uninformed variant stays
    hosted, unk, prov = _hosting(core, "msa:D2")
    assert hosted is False
    assert unk.select("low", "central", "high", "informed").rows() == [(0.0, 0.0, 1.0, False)]
    assert prov["kind"].to_list() == ["unknown"]


def test_the_housing_of_an_msa_member_paid_a_housing_aid_is_said_a_tenants_or_an_accedants():
    # the ménage's status and rent stay unknown (the MSA does not say which, nor the rent), but its reasons no
    # longer say « pas d'aide au logement » nor offer the owner's or the housed-free answer
    core = build_month(_farm_workers(), M)
    reason = dict(core.unknowns.filter((pl.col("entity") == "menage") & (pl.col("id") == "msa:D1"))
                  .select("input", "reason").iter_rows())
    assert "aide au logement versée: locataire ou accédant" in reason["housing_status"]
    assert "pas d'aide au logement" not in reason["rent"] and "aide au logement versée" in reason["rent"]
    control = dict(core.unknowns.filter((pl.col("entity") == "menage") & (pl.col("id") == "msa:D2"))
                   .select("input", "reason").iter_rows())
    assert control["housing_status"] == "statut d'occupation inconnu (ménage inconnu de la CAF): locataire retenu"


def test_a_caf_dossier_paid_a_housing_aid_in_a_couples_dwelling_is_not_hosted_by_estimate():
    # a couple the DGFiP declares in dwelling L1 and a single adult of 30 declared there too, whose CAF dossier
    # gives a tenancy: hosted by estimate (tests/core/test_shared_dwelling.py), unless the CAF pays it a housing
    # aid, which it pays only to whoever bears the rent (a sub-tenant, a co-tenant)
    persons = [person("p", dt.date(1980, 2, 1), "dgfip"), person("q", dt.date(1982, 5, 1), "dgfip"),
               person("a", dt.date(1996, 3, 1), "caf")]
    mems = [membership("p", "foyer_fiscal", "T1", "declarant", "dgfip"),
            membership("p", "menage", "L1", "personne_de_reference", "dgfip"),
            membership("q", "foyer_fiscal", "T1", "declarant", "dgfip"),
            membership("q", "menage", "L1", "conjoint", "dgfip"),
            membership("a", "foyer_fiscal", "T2", "declarant", "dgfip"),
            membership("a", "menage", "L1", "personne_de_reference", "dgfip"),
            membership("a", "famille", "F9", "demandeur", "caf"),
            membership("a", "menage", "M9", "personne_de_reference", "caf")]
    housing = frame(HOUSING, [["M9", M, "tenant", 650.0, False, False, None, "caf", "caf", DAY]])
    resources = frame(RESOURCES, [["a", m, "salary_net", 0.0, "caf", "caf", DAY] for m in MONTHS])
    tables = {"persons": frame(PERSONS, persons), "unit_memberships": frame(UNIT_MEMBERSHIPS, mems),
              "housing": housing, "resources": resources}
    unpaid = build_month({**tables, "benefits_paid": frame(BENEFITS_PAID, _paid("F0", 100.0, "caf"))}, M)
    assert _hosting(unpaid, "caf:F9")[0] is True                       # the estimate without the aid
    core = build_month({**tables, "benefits_paid": frame(BENEFITS_PAID, _paid("F9", 180.0, "caf"))}, M)
    hosted, unk, prov = _hosting(core, "caf:F9")
    assert hosted is False and unk.is_empty()
    assert prov.select("kind", "source_agency").rows() == [("observed", "caf")]
