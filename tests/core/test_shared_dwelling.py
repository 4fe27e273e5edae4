"""A family agency's dossier in a dwelling the DGFiP shows shared with another foyer fiscal: the aid of CCH
L822-1ff goes to the household holding the lease, which the dossier's housing record alone does not say."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl

from nonrecours.core import build_month
from nonrecours.engine import evaluate
from nonrecours.schemas import HOUSING, PERSONS, RESOURCES, UNIT_MEMBERSHIPS

M = dt.date(2026, 6, 1)


def _frame(spec, rows):
    return spec.validate_frame(pl.DataFrame(rows, schema=spec.polars_schema, orient="row"))


def _p(agency):
    return [agency, f"{agency}-x", dt.date(2026, 6, 28)]


def _person(pid, birth, agency="caf"):
    return [pid, birth, "F", "FR", None, "46042", 0.0, False, False, None, None, None, None, None, None, *_p(agency)]


def _mem(pid, kind, uid, role, agency, since=dt.date(2025, 1, 1)):
    return [pid, kind, uid, role, since, None, *_p(agency)]


def _dossier(pid, fam, men):
    """A single allocataire's CAF dossier: its famille and the ménage the CAF keeps its housing record on."""
    return [_mem(pid, "famille", fam, "demandeur", "caf"), _mem(pid, "menage", men, "personne_de_reference", "caf")]


def _declared(pid, foyer, local, role):
    """A DGFiP declarant of ``foyer`` placed in dwelling ``local`` (DEC1 → personne_de_reference)."""
    return [_mem(pid, "foyer_fiscal", foyer, "declarant", "dgfip"), _mem(pid, "menage", local, role, "dgfip")]


def _core(persons, mems, housing):
    # a month of RSA-level income for every CAF allocataire, so the housing aid's resources are known
    res = [[p[0], mo, "salary_net", Decimal("0.00"), *_p("caf")] for p in persons if p[-3] == "caf"
           for mo in (dt.date(2026, m, 1) for m in range(1, 7))]
    t = {"persons": _frame(PERSONS, persons), "unit_memberships": _frame(UNIT_MEMBERSHIPS, mems),
         "housing": _frame(HOUSING, housing), "resources": _frame(RESOURCES, res)}
    return build_month(t, M)


def _hosting(core, famille_id):
    fam = core.inputs.famille.filter(pl.col("famille_id") == famille_id)
    unk = core.unknowns.filter((pl.col("id") == famille_id) & (pl.col("input") == "hosted_free_of_charge"))
    prov = core.provenance.filter((pl.col("id") == famille_id) & (pl.col("input") == "hosted_free_of_charge"))
    return fam["hosted_free_of_charge"].item(), unk, prov


def test_single_adult_in_a_couples_dwelling_is_hosted_by_estimate_not_the_tenant():
    # a couple renting a flat (known to the DGFiP only) and a 30-year-old living with them, on the RSA: the
    # CAF's dossier of the third adult carries the dwelling's tenancy and rent
    persons = [_person("p", dt.date(1980, 2, 1), "dgfip"), _person("q", dt.date(1982, 5, 1), "dgfip"),
               _person("a", dt.date(1996, 3, 1))]
    mems = [*_declared("p", "T1", "L1", "personne_de_reference"), *_declared("q", "T1", "L1", "conjoint"),
            *_declared("a", "T2", "L1", "personne_de_reference"), *_dossier("a", "F9", "M9")]
    core = _core(persons, mems, [["M9", M, "tenant", Decimal("650.00"), False, False, None, *_p("caf")]])
    hosted, unk, prov = _hosting(core, "caf:F9")
    assert hosted is True
    assert unk.select("low", "central", "high", "informed").row(0) == (0.0, 1.0, 1.0, True)
    assert "titulaire du bail" in unk["reason"].item()
    assert prov.select("kind", "source_agency").rows() == [("estimated", "dgfip")]
    assert core.counts["familles_shared_dwelling_hosted_estimated"] == 1
    # the rules then give no housing aid on the central values (hosted free of charge: statut "free")
    res = evaluate(["aide_logement"], core.inputs, M)["famille"]
    assert res.filter(pl.col("famille_id") == "caf:F9")["aide_logement"].item() == 0.0


def _flatmates(rent: str, colocation: bool):
    """Two single adults the DGFiP declares in one dwelling, each with a CAF dossier giving a tenancy of ``rent``
    whose record says ``colocation`` or not."""
    persons = [_person("a", dt.date(1996, 3, 1)), _person("b", dt.date(1994, 8, 1))]
    mems = [*_declared("a", "T1", "L1", "personne_de_reference"), *_declared("b", "T2", "L1", "personne_de_reference"),
            *_dossier("a", "F1", "M1"), *_dossier("b", "F2", "M2")]
    return _core(persons, mems, [[m, M, "tenant", Decimal(rent), colocation, False, None, *_p("caf")]
                                 for m in ("M1", "M2")])


def test_two_single_adults_sharing_a_dwelling_leave_the_lease_unknown():
    # two flatmates, each with a CAF dossier giving the tenancy: co-tenants, or one hosts the other
    core = _flatmates("600.00", colocation=False)
    for fam in ("caf:F1", "caf:F2"):
        hosted, unk, prov = _hosting(core, fam)
        assert hosted is False                      # the agency's record stays the central value
        assert unk.select("low", "central", "high", "informed").row(0) == (0.0, 0.0, 1.0, False)
        assert prov["kind"].to_list() == ["unknown"]
    assert core.counts["familles_shared_dwelling_lease_unknown"] == 2


def _couple_renting_with_an_adult_of_the_dgfip():
    """A CAF couple p, q renting dwelling L1 (ménage M1), and an adult a declared in L1 whom only the DGFiP knows."""
    persons = [_person("p", dt.date(1980, 2, 1)), _person("q", dt.date(1982, 5, 1)),
               _person("a", dt.date(1996, 3, 1), "dgfip")]
    mems = [*_declared("p", "T1", "L1", "personne_de_reference"), *_declared("q", "T1", "L1", "conjoint"),
            *_declared("a", "T2", "L1", "personne_de_reference"),
            *_dossier("p", "F1", "M1"), _mem("q", "famille", "F1", "conjoint", "caf"),
            _mem("q", "menage", "M1", "conjoint", "caf")]
    return _core(persons, mems, [["M1", M, "tenant", Decimal("700.00"), False, False, None, *_p("caf")]])


def test_couple_hosting_a_single_adult_keeps_its_tenancy():
    # the CAF couple holds the lease; the adult it hosts is known to the DGFiP only
    core = _couple_renting_with_an_adult_of_the_dgfip()
    hosted, unk, prov = _hosting(core, "caf:F1")
    assert hosted is False and unk.is_empty()
    assert prov.select("kind", "source_agency").rows() == [("observed", "caf")]


def test_colocataires_by_the_cafs_record_each_hold_their_share_of_the_lease():
    # the same two flatmates, whose CAF records say colocation (each pays its share): each is the tenant of
    # its share, no unknown about the lease; the housing aid is computed on the colocataire's ceiling
    core = _flatmates("300.00", colocation=True)
    for fam in ("caf:F1", "caf:F2"):
        hosted, unk, prov = _hosting(core, fam)
        assert hosted is False and unk.is_empty()
        assert prov.select("kind", "source_agency").rows() == [("observed", "caf")]
    assert core.counts["familles_shared_dwelling_lease_unknown"] == 0
    res = evaluate(["al_loyer_plafond", "aide_logement"], core.inputs, M)["famille"]
    assert res["al_loyer_plafond"].to_list() == [204.09, 204.09]  # 75 % of Cahors's 272.12 (October 2025)
    assert (res["aide_logement"] > 0).all()


def test_single_adult_the_caf_does_not_know_in_a_couples_dwelling_is_hosted_by_estimate():
    # a CAF couple renting a flat, and a 30-year-old living with them whom only the DGFiP knows: the core builds
    # the adult's famille and a ménage from the DGFiP's local, whose housing no agency describes. Taken as that
    # dwelling's tenant until 30 November 2026 (no forfait logement for the RSA and the prime d'activité, a
    # housing aid), it is hosted on the same evidence as a dossier whose tenancy the CAF gives (the test above)
    core = _couple_renting_with_an_adult_of_the_dgfip()
    fam = core.inputs.individu.filter(pl.col("person_id") == "a")["famille_id"].item()
    hosted, unk, prov = _hosting(core, fam)
    assert hosted is True
    assert unk.select("low", "central", "high", "informed").rows() == [(0.0, 1.0, 1.0, True)]
    assert prov.select("kind", "source_agency").rows() == [("estimated", "dgfip")]
    assert core.counts["familles_hosting_unknown_hosted_estimated"] == 1
    # the couple holding the lease keeps its tenancy, and the hosted adult brings the RSA's forfait logement
    assert _hosting(core, "caf:F1")[0] is False
    res = evaluate(["rsa_forfait_logement", "aide_logement"], core.inputs, M)["famille"]
    mine = res.filter(pl.col("famille_id") == fam)
    assert mine["rsa_forfait_logement"].item() > 0 and mine["aide_logement"].item() == 0.0


def test_adult_alone_in_a_dwelling_no_agency_describes_stays_unknown_not_hosted():
    # the same adult alone in the DGFiP's local: nothing says hosted, the hosting stays unknown (not hosted at the
    # centre, uninformed)
    persons = [_person("a", dt.date(1996, 3, 1), "dgfip")]
    core = _core(persons, [*_declared("a", "T2", "L1", "personne_de_reference")], [])
    fam = core.inputs.individu.filter(pl.col("person_id") == "a")["famille_id"].item()
    hosted, unk, _ = _hosting(core, fam)
    assert hosted is False
    assert unk.select("low", "central", "high", "informed").rows() == [(0.0, 0.0, 1.0, False)]
    assert core.counts["familles_hosting_unknown_hosted_estimated"] == 0
