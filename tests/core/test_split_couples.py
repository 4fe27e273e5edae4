"""core.units: spouses of one joint declaration whom two agencies list in two familles, each famille missing the
partner the other lists (a CAF dossier and a CNAV file, each having lost one partner's row). Until 30 November
2026 each was a famille of one adult: on the CI demo 6 such couples, an RSA, an ASPA and a CSS with participation
flagged for an allocataire whose pensioned spouse only the CNAV listed, on the France 100,000 territory 20
(docs/detection.md, issue 8)."""

from __future__ import annotations

import datetime as dt

from tests.core.test_units import _conflicts, _core, _in_dossier, _mem, _person, _units


def _joint(pid, foyer, local, menage_role):
    """A DGFiP row pair of a joint declaration: ``pid`` declarant of ``foyer``, in dwelling ``local`` as the
    reference person (DEC1) or the conjoint (DEC2)."""
    return [_mem(pid, "foyer_fiscal", foyer, "declarant", "dgfip"), _mem(pid, "menage", local, menage_role, "dgfip")]


def test_a_pensioned_spouse_the_cnav_lists_alone_joins_the_caf_dossier_of_the_co_declarant():
    """The CAF's dossier F1 lists the demandeur d and a child k, no conjoint; the CNAV's file R1 lists c as a
    conjoint and nobody else; the DGFiP has d and c on one declaration. One couple: c joins F1 as its conjoint,
    in the CAF's ménage, and the CNAV's file is no famille of its own."""
    persons = [_person("d", dt.date(1984, 3, 1), "caf"), _person("k", dt.date(2016, 5, 1), "caf"),
               _person("c", dt.date(1958, 9, 1), "cnav")]
    mems = [*_in_dossier("d", "F1", "demandeur", "caf"), *_in_dossier("k", "F1", "enfant", "caf"),
            *_in_dossier("c", "R1", "conjoint", "cnav"),
            *_joint("d", "T1", "L1", "personne_de_reference"), *_joint("c", "T1", "L1", "conjoint")]
    core = _core(persons, mems)
    units = _units(core)
    assert units["c"] == ("caf:F1", "conjoint", "caf:F1", "conjoint")
    assert units["d"][:2] == ("caf:F1", "demandeur") and units["k"][:2] == ("caf:F1", "enfant")
    assert set(core.inputs.famille["famille_id"]) == {"caf:F1"}
    assert _conflicts(core)["couple_joined_across_agencies"] == 1


def test_a_demandeur_the_cnav_lists_joins_the_caf_dossier_that_lost_its_allocataire():
    """The reverse: the CAF's dossier F2 lists the conjoint c and a child (its allocataire's row lost), the CNAV
    lists d as a demandeur alone; one joint declaration. d is F2's demandeur."""
    persons = [_person("c", dt.date(1979, 3, 1), "caf"), _person("k", dt.date(2015, 5, 1), "caf"),
               _person("d", dt.date(1961, 1, 1), "cnav")]
    mems = [*_in_dossier("c", "F2", "conjoint", "caf"), *_in_dossier("k", "F2", "enfant", "caf"),
            *_in_dossier("d", "R2", "demandeur", "cnav"),
            *_joint("d", "T2", "L2", "personne_de_reference"), *_joint("c", "T2", "L2", "conjoint")]
    units = _units(_core(persons, mems))
    assert units["d"][:2] == ("caf:F2", "demandeur")
    assert units["c"][:2] == ("caf:F2", "conjoint")


def test_two_declarations_or_a_file_holding_others_keep_their_familles():
    """Without a joint declaration (two foyers in one dwelling: flatmates as well as an unmarried couple), or when
    the CNAV's file holds someone else too, nobody moves."""
    persons = [_person("d", dt.date(1984, 3, 1), "caf"), _person("c", dt.date(1958, 9, 1), "cnav"),
               _person("e", dt.date(1980, 3, 1), "caf"), _person("f", dt.date(1957, 9, 1), "cnav"),
               _person("g", dt.date(2008, 9, 1), "cnav")]
    mems = [*_in_dossier("d", "F1", "demandeur", "caf"), *_in_dossier("c", "R1", "conjoint", "cnav"),
            *_joint("d", "T1", "L1", "personne_de_reference"), *_joint("c", "T9", "L1", "personne_de_reference"),
            *_in_dossier("e", "F3", "demandeur", "caf"), *_in_dossier("f", "R3", "conjoint", "cnav"),
            *_in_dossier("g", "R3", "enfant", "cnav"),
            *_joint("e", "T3", "L3", "personne_de_reference"), *_joint("f", "T3", "L3", "conjoint")]
    core = _core(persons, mems)
    units = _units(core)
    assert units["c"][:2] == ("cnav:R1", "conjoint") and units["f"][:2] == ("cnav:R3", "conjoint")
    assert units["d"][0] == "caf:F1" and units["e"][0] == "caf:F3"
    assert _conflicts(core)["couple_joined_across_agencies"] == 0
