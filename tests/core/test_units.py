"""core.units: a famille an agency lists without its demandeur (the allocataire's row lost) and the adult the
DGFiP knows for it. Until 29 November 2026 that adult got a famille of their own (step 4), single by estimate,
with the child the DGFiP declares as their dependant: the couple's partner was in the agency's famille, and
the built famille was flagged (docs/detection.md, issue 8)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from nonrecours.core import build_month
from nonrecours.schemas import PERSONS, UNIT_MEMBERSHIPS

M = dt.date(2026, 6, 1)


def _p(agency, day=dt.date(2026, 6, 28)):
    return [agency, f"{agency}-x", day]


def _person(pid, birth, agency):
    return [pid, birth, "F", "FR", None, "46042", 0.0, False, False, None, None, None, None, None, None, *_p(agency)]


def _mem(pid, kind, uid, role, agency, since=dt.date(2025, 1, 1)):
    return [pid, kind, uid, role, since, None, *_p(agency)]


def _in_dossier(pid, fam, role, agency):
    """A member of an agency's dossier ``fam``: its famille and its ménage (same id, the agency's custom)."""
    return [_mem(pid, "famille", fam, role, agency),
            _mem(pid, "menage", fam, {"demandeur": "personne_de_reference"}.get(role, role), agency)]


def _declared(pid, foyer, local, role):
    """A DGFiP row pair: ``pid`` in foyer fiscal ``foyer`` and in the dwelling (local) ``local``."""
    menage_role = {"declarant": "personne_de_reference", "personne_a_charge": "enfant"}[role]
    return [_mem(pid, "foyer_fiscal", foyer, role, "dgfip"), _mem(pid, "menage", local, menage_role, "dgfip")]


def _core(persons, mems):
    def frame(spec, rows):
        return spec.validate_frame(pl.DataFrame(rows, schema=spec.polars_schema, orient="row"))
    return build_month({"persons": frame(PERSONS, persons), "unit_memberships": frame(UNIT_MEMBERSHIPS, mems)}, M)


def _units(core) -> dict[str, tuple[str, str, str, str]]:
    ind = core.inputs.individu
    return {r["person_id"]: (r["famille_id"], r["famille_role"], r["menage_id"], r["menage_role"])
            for r in ind.iter_rows(named=True)}


def _couple_unknown(core) -> set[str]:
    u = core.unknowns.filter((pl.col("entity") == "famille") & (pl.col("input") == "couple_kind"))
    return set(u["id"])


def _conflicts(core) -> dict[str, int]:
    return dict(core.conflicts.iter_rows())


def test_the_demandeur_the_caf_lost_joins_its_famille_through_the_child_the_dgfip_declares():
    """The CAF's dossier F1 lists the conjoint c and the toddler k (the allocataire d's rows were lost). The DGFiP
    knows d, declaring alone (an unmarried couple files two declarations) with k as dependant, and c's own
    declaration, both in dwelling L1. d is F1's demandeur in the CAF's ménage, with c and k: one famille, a
    couple (cohabiting: two foyers), and no famille built for d."""
    persons = [_person("c", dt.date(1991, 4, 1), "caf"), _person("k", dt.date(2024, 9, 1), "caf"),
               _person("d", dt.date(1989, 2, 1), "dgfip")]
    mems = [*_in_dossier("c", "F1", "conjoint", "caf"), *_in_dossier("k", "F1", "enfant", "caf"),
            *_declared("d", "T1", "L1", "declarant"), *_declared("k", "T1", "L1", "personne_a_charge"),
            *_declared("c", "T2", "L1", "declarant")]
    core = _core(persons, mems)
    units = _units(core)
    assert units["d"] == ("caf:F1", "demandeur", "caf:F1", "personne_de_reference")
    assert units["c"][:2] == ("caf:F1", "conjoint") and units["k"][:2] == ("caf:F1", "enfant")
    fam = core.inputs.famille
    assert fam["famille_id"].to_list() == ["caf:F1"]
    assert fam["couple_kind"].item() == "cohabiting"
    assert "caf:F1" not in _couple_unknown(core)
    assert core.counts["familles_without_demandeur"] == 0 and core.counts["familles_built"] == 0
    assert _conflicts(core)["demandeur_added_from_tax_household"] == 1


def test_the_demandeur_a_pension_fund_lost_joins_its_famille_through_the_dwelling():
    """The CNAV's dossier R1 lists the conjoint c only (it lists no children). The DGFiP declares d alone with a
    child k no agency lists, in the dwelling L2 where it declares c, three years older than d: d is R1's
    demandeur and k its child. In dwelling L3 two single declarants e and f of an age with the CNAV's conjoint g
    could each be g's lost partner: no evidence for either, nobody joins R2 (its couple stays unknown)."""
    persons = [_person("c", dt.date(1986, 1, 1), "cnav"), _person("d", dt.date(1989, 1, 1), "dgfip"),
               _person("k", dt.date(2023, 5, 1), "dgfip"), _person("g", dt.date(1960, 1, 1), "cnav"),
               _person("e", dt.date(1958, 1, 1), "dgfip"), _person("f", dt.date(1963, 1, 1), "dgfip")]
    mems = [*_in_dossier("c", "R1", "conjoint", "cnav"),
            *_declared("d", "T1", "L2", "declarant"), *_declared("k", "T1", "L2", "personne_a_charge"),
            *_declared("c", "T2", "L2", "declarant"),
            *_in_dossier("g", "R2", "conjoint", "cnav"), *_declared("g", "T3", "L3", "declarant"),
            *_declared("e", "T4", "L3", "declarant"), *_declared("f", "T5", "L3", "declarant")]
    core = _core(persons, mems)
    units = _units(core)
    assert units["d"] == ("cnav:R1", "demandeur", "cnav:R1", "personne_de_reference")
    assert units["k"][:2] == ("cnav:R1", "enfant")
    assert units["e"][:2] == ("core-famille:e", "demandeur") and units["f"][:2] == ("core-famille:f", "demandeur")
    assert "cnav:R1" not in _couple_unknown(core) and "cnav:R2" in _couple_unknown(core)
    assert _conflicts(core)["demandeur_added_from_tax_household"] == 1
    # nobody in two familles, and every famille has its members
    ind = core.inputs.individu
    assert ind["person_id"].is_unique().all()
    assert set(core.inputs.famille["famille_id"]) == set(ind["famille_id"])


def test_a_declarant_too_far_in_age_from_the_conjoint_is_no_lost_demandeur():
    """The CAF lists the conjoint c (35) of a dossier; the DGFiP declares in c's dwelling a declarant m of 62 with
    no child of the dossier: more likely a parent than the partner (``partner_age_gap``): m keeps a famille of
    their own, and the dossier stays without its demandeur (couple unknown)."""
    persons = [_person("c", dt.date(1991, 1, 1), "caf"), _person("m", dt.date(1964, 1, 1), "dgfip")]
    mems = [*_in_dossier("c", "F1", "conjoint", "caf"), *_declared("c", "T1", "L1", "declarant"),
            *_declared("m", "T2", "L1", "declarant")]
    core = _core(persons, mems)
    units = _units(core)
    assert units["m"][:2] == ("core-famille:m", "demandeur")
    assert "caf:F1" in _couple_unknown(core)
    assert _conflicts(core)["demandeur_added_from_tax_household"] == 0


def test_a_lone_parents_partner_is_the_declarant_whose_joint_declaration_lost_the_parent():
    """The CAF follows p alone with two children (its dossier F2: no conjoint row). The DGFiP's extract has no
    declaration of p, but a joint declaration T1 of which it holds the second declarant q only (qualité DEC2: the
    conjoint of the declaration's dwelling), with p's children as dependants: q is p's partner, the conjoint of
    F2 in the CAF's ménage, not a single adult of a famille of their own."""
    persons = [_person("p", dt.date(1990, 6, 1), "caf"), _person("k1", dt.date(2017, 3, 1), "caf"),
               _person("k2", dt.date(2020, 8, 1), "caf"), _person("q", dt.date(1988, 2, 1), "dgfip")]
    mems = [*_in_dossier("p", "F2", "demandeur", "caf"), *_in_dossier("k1", "F2", "enfant", "caf"),
            *_in_dossier("k2", "F2", "enfant", "caf"),
            _mem("q", "foyer_fiscal", "T1", "declarant", "dgfip"), _mem("q", "menage", "L1", "conjoint", "dgfip"),
            *_declared("k1", "T1", "L1", "personne_a_charge"), *_declared("k2", "T1", "L1", "personne_a_charge")]
    core = _core(persons, mems)
    units = _units(core)
    assert units["q"] == ("caf:F2", "conjoint", "caf:F2", "conjoint")
    assert units["p"][:2] == ("caf:F2", "demandeur")
    assert core.inputs.famille["famille_id"].to_list() == ["caf:F2"]
    assert core.inputs.famille["couple_kind"].item() != ""
    assert "caf:F2" not in _couple_unknown(core)
    assert _conflicts(core)["partner_added_from_joint_declaration"] == 1
    assert core.counts["familles_declarant_missing"] == 0


def test_a_lone_parent_with_a_declaration_of_their_own_keeps_the_dossier():
    """The same dossier, but the DGFiP has p's own declaration T2: p is not the declarant T1 lacks (the children
    are on T1, declared by q with someone else: another parent's household), so q is no partner of p's: q keeps a
    famille of their own, whose couple is unknown (the declaration's missing declarant)."""
    persons = [_person("p", dt.date(1990, 6, 1), "caf"), _person("k1", dt.date(2017, 3, 1), "caf"),
               _person("q", dt.date(1988, 2, 1), "dgfip")]
    mems = [*_in_dossier("p", "F2", "demandeur", "caf"), *_in_dossier("k1", "F2", "enfant", "caf"),
            *_declared("p", "T2", "L2", "declarant"),
            _mem("q", "foyer_fiscal", "T1", "declarant", "dgfip"), _mem("q", "menage", "L1", "conjoint", "dgfip"),
            *_declared("k1", "T1", "L1", "personne_a_charge")]
    core = _core(persons, mems)
    units = _units(core)
    assert units["q"][:2] == ("core-famille:q", "demandeur")
    assert "core-famille:q" in _couple_unknown(core)
    assert _conflicts(core)["partner_added_from_joint_declaration"] == 0


def _opened(pid, fam, agency, since, day=dt.date(2026, 6, 28)):
    """A single demandeur's dossier ``fam`` opened at ``since``: its famille and ménage, in an extract of ``day``."""
    return [[pid, kind, fam, role, since, None, agency, f"{agency}-x", day]
            for kind, role in (("famille", "demandeur"), ("menage", "personne_de_reference"))]


def test_a_dossier_the_caf_pays_nothing_keeps_its_dwelling_against_an_older_declaration():
    """A worker's CAF dossier opened in 2019, nothing paid (his prime d'activité not claimed), listed in the June
    2026 extract with its housing, and his 2024 income declaration naming a dwelling: the CAF's news is of June
    2026, the declaration's of January 2025. Until 4 December 2026 the declaration's later start (January 2024)
    won, and the CAF's housing record (status, rent) was lost to an estimate."""
    persons = [_person("w", dt.date(1995, 7, 1), "caf"), _person("w", dt.date(1995, 7, 1), "dgfip")]
    mems = [*_opened("w", "D1", "caf", dt.date(2019, 1, 1)),
            _mem("w", "foyer_fiscal", "F1", "declarant", "dgfip", since=dt.date(2024, 1, 1)),
            _mem("w", "menage", "L1", "personne_de_reference", "dgfip", since=dt.date(2024, 1, 1))]
    assert _units(_core(persons, mems))["w"][2] == "caf:D1"


def test_a_declaration_newer_than_a_dossiers_last_extract_gives_the_dwelling():
    """The other way round: a CAF extract of May 2025 (the dossier's last news) and a declaration of 2025 income
    (its dwelling of January 2026): the DGFiP's news is the more recent."""
    persons = [_person("w", dt.date(1995, 7, 1), "caf"), _person("w", dt.date(1995, 7, 1), "dgfip")]
    mems = [*_opened("w", "D1", "caf", dt.date(2019, 1, 1), day=dt.date(2025, 5, 28)),
            _mem("w", "foyer_fiscal", "F1", "declarant", "dgfip", since=dt.date(2025, 1, 1)),
            _mem("w", "menage", "L1", "personne_de_reference", "dgfip", since=dt.date(2025, 1, 1))]
    assert _units(_core(persons, mems))["w"][2] == "dgfip:L1"


def test_a_couple_the_caf_lists_and_the_dgfip_declares_is_not_split_by_a_later_dossier_of_one_of_them():
    """A wife's CAF dossier (2019, nothing paid) lists her husband as conjoint and their child; the MSA lists him
    alone in a dossier of his own opened in 2025 (his affiliation as a farm worker); one joint declaration. The
    MSA's famille is belied by the declaration: he stays his wife's conjoint (until 4 December 2026 the later
    start won, and she was a lone parent)."""
    persons = [_person(p, b, "caf") for p, b in (("h", dt.date(1985, 3, 1)), ("w", dt.date(1987, 5, 1)),
                                                  ("c", dt.date(2018, 9, 1)))]
    since = dt.date(2019, 1, 1)
    mems = [_mem("w", "famille", "D1", "demandeur", "caf", since), _mem("h", "famille", "D1", "conjoint", "caf", since),
            _mem("c", "famille", "D1", "enfant", "caf", since),
            *_opened("h", "M1", "msa", dt.date(2025, 1, 1)),
            *_declared("h", "F1", "L1", "declarant"), *_declared("w", "F1", "L1", "declarant"),
            *_declared("c", "F1", "L1", "personne_a_charge")]
    units = _units(_core(persons, mems))
    assert units["h"][:2] == ("caf:D1", "conjoint") and units["w"][:2] == ("caf:D1", "demandeur")
    # and he lives where she does (the couple's declared dwelling), not in the MSA dossier's
    assert units["h"][2] == units["w"][2] == "dgfip:L1"
    # without the declaration the later dossier still wins: nothing belies it
    alone = _units(_core(persons, [m for m in mems if m[6] != "dgfip"]))
    assert alone["h"][:2] == ("msa:M1", "demandeur")


def test_a_deficit_the_rfr_does_not_deduct_is_no_missing_declarant():
    """A lone declarant (1 part): 7,200 € of salaries and a non-salaried deficit of 5,000 €, RFR 6,480 € (the
    deficit of a non-professional activity is not deducted from the global income, CGI art. 156 I 2°). The RFR above
    the incomes less the deficit made her « a joint declaration whose other declarant is missing »; what the
    incomes explain is read without the deficit. A lone declarant whose RFR her incomes do not explain still is."""
    from decimal import Decimal

    from nonrecours.core.units import declarant_missing
    from nonrecours.schemas import ANNUAL_INCOME, TAX_HOUSEHOLDS

    def frame(spec, rows):
        return spec.validate_frame(pl.DataFrame(rows, schema=spec.polars_schema, orient="row")).lazy()

    mems = [*_declared("d", "T1", "L1", "declarant"), *_declared("e", "T2", "L2", "declarant")]
    income = [["d", 2025, "salaries", Decimal("7200.00"), *_p("dgfip")],
              ["d", 2025, "self_employment", Decimal("-5000.00"), *_p("dgfip")],
              ["e", 2025, "salaries", Decimal("7200.00"), *_p("dgfip")]]
    tax = [["T1", 2025, Decimal("6480.00"), 1.0, *_p("dgfip")], ["T2", 2025, Decimal("26480.00"), 1.0, *_p("dgfip")]]
    lf = {"unit_memberships": frame(UNIT_MEMBERSHIPS, mems), "annual_income": frame(ANNUAL_INCOME, income),
          "tax_households": frame(TAX_HOUSEHOLDS, tax)}
    from nonrecours.core.resources import CoreConfig

    assert declarant_missing(lf, M, *CoreConfig().rfr_unexplained)["person_id"].to_list() == ["e"]
