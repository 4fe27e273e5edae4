"""core.units: spouses of one joint declaration whom two agencies list in two familles, each famille missing the
partner the other lists (a CAF dossier and a CNAV file, each having lost one partner's row). Until 30 November
2026 each was a famille of one adult: on the CI demo 6 such couples, an RSA, an ASPA and a CSS with participation
flagged for an allocataire whose pensioned spouse only the CNAV listed, on the France 100,000 territory 20
(docs/detection.md, issue 8)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
from tests.core.test_units import M, _conflicts, _core, _in_dossier, _mem, _person, _units


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


def _cnav_couple(local_f="L5"):
    """Two retirees of one joint declaration (m DEC1, f DEC2), each the titulaire of a CNAV file of their own (the
    CNAV pays each spouse's pension; no ASPA): m's file R6, f's R5, the DGFiP's dwelling L5 for m, ``local_f`` for
    f."""
    persons = [_person("m", dt.date(1952, 5, 1), "cnav"), _person("f", dt.date(1953, 8, 1), "cnav")]
    mems = [*_in_dossier("m", "R6", "demandeur", "cnav"), *_in_dossier("f", "R5", "demandeur", "cnav"),
            *_joint("m", "T5", "L5", "personne_de_reference"), *_joint("f", "T5", local_f, "conjoint")]
    return persons, mems


def _build(persons, mems, paid=()):
    from nonrecours.core import build_month
    from nonrecours.schemas import BENEFITS_PAID, PERSONS, UNIT_MEMBERSHIPS

    def frame(spec, rows):
        return spec.validate_frame(pl.DataFrame(rows, schema=spec.polars_schema, orient="row"))
    tables = {"persons": frame(PERSONS, persons), "unit_memberships": frame(UNIT_MEMBERSHIPS, mems)}
    if paid:
        tables["benefits_paid"] = frame(BENEFITS_PAID, list(paid))
    return build_month(tables, M)


def test_spouses_the_cnav_lists_in_two_files_of_their_own_are_one_couple_in_the_first_declarants_file():
    """CSS art. L815-1, L815-9: a married couple's ASPA is assessed on the couple's resources against the couple's
    ceiling. The CNAV pays each retiree's pension from a file of their own: two spouses of one joint declaration,
    each alone in a file (no ASPA paid), are one famille of two adults: the file of the declaration's DEC1 (m's R6,
    though R5 is the smaller id), f its conjoint, in its ménage as the reference person's conjoint. Until 6 December
    2026 each was a single retiree (850 € each: an ASPA flagged twice, a tester's hand-written extracts)."""
    core = _build(*_cnav_couple())
    units = _units(core)
    assert units["m"] == ("cnav:R6", "demandeur", "cnav:R6", "personne_de_reference")
    assert units["f"] == ("cnav:R6", "conjoint", "cnav:R6", "conjoint")
    assert set(core.inputs.famille["famille_id"]) == {"cnav:R6"}
    counts = _conflicts(core)
    assert counts["couple_joined_within_agency"] == 1 and counts["couple_joined_across_agencies"] == 0


def test_spouses_of_two_files_stay_apart_in_two_dwellings_or_when_the_cnav_pays_one_an_aspa():
    """The same two files, but the DGFiP declares f in another dwelling (L7): two familles. Or in one dwelling, but
    the CNAV pays m an ASPA: it assessed m's household as it lists it, a single person (a payer's composition
    first, rule 1): two familles."""
    core = _build(*_cnav_couple(local_f="L7"))
    units = _units(core)
    assert units["m"][:2] == ("cnav:R6", "demandeur") and units["f"][:2] == ("cnav:R5", "demandeur")
    assert _conflicts(core)["couple_joined_within_agency"] == 0
    aspa = [None, None, "m", "aspa", dt.date(2026, 5, 1), Decimal("193.60"), "cnav", "cnav", "cnav-x",
            dt.date(2026, 6, 28)]
    core = _build(*_cnav_couple(), paid=[aspa])
    units = _units(core)
    assert units["m"][:2] == ("cnav:R6", "demandeur") and units["f"][:2] == ("cnav:R5", "demandeur")
    assert _conflicts(core)["couple_joined_within_agency"] == 0


def test_spouses_in_two_caf_dossiers_stay_apart():
    """Two CAF dossiers of the two declarants of one joint declaration in one dwelling: the CAF assesses the
    composition of its dossiers (a separation after the declared year: CGI art. 6, 5), so no pension file's join
    applies, with or without a recorded isolation; nor does a CNAV file whose titulaire the CAF records as
    recently isolated join the spouse's."""
    persons = [_person("a", dt.date(1980, 5, 1), "caf"), _person("b", dt.date(1982, 8, 1), "caf")]
    mems = [*_in_dossier("a", "F5", "demandeur", "caf"), *_in_dossier("b", "F6", "demandeur", "caf"),
            *_joint("a", "T5", "L5", "personne_de_reference"), *_joint("b", "T5", "L5", "conjoint")]
    core = _core(persons, mems)
    units = _units(core)
    assert units["a"][:2] == ("caf:F5", "demandeur") and units["b"][:2] == ("caf:F6", "demandeur")
    assert _conflicts(core)["couple_joined_within_agency"] == 0
    persons, mems = _cnav_couple()
    isolated = _person("f", dt.date(1953, 8, 1), "caf")
    isolated[11] = True  # recent_isolation
    core = _build([*persons, isolated], mems)
    units = _units(core)
    assert units["m"][0] == "cnav:R6" and units["f"][0] == "cnav:R5"
    assert _conflicts(core)["couple_joined_within_agency"] == 0


def _pension_lines(pid, gross, agency):
    """A year of a retiree's pension lines (the MSA's RETNET and RETBRUT, the CNAV's MONTANT_NET and
    MONTANT_BRUT), to the month."""
    months = [dt.date(2025 + (k + 6) // 12, (k + 6) % 12 + 1, 1) for k in range(12)]
    net = (Decimal(gross) * Decimal("0.92")).quantize(Decimal("0.01"))
    return [[pid, m, kind, amount, agency, f"{agency}-x", dt.date(2026, 6, 28)]
            for m in months for kind, amount in (("pension_net", net), ("pension_gross", Decimal(gross)))]


def _farm_couple(*, husband_dec1=True, wife_fund="cnav", wife_file="RX", foyer_w="TX", husband_pension=True):
    """The tester's couple (probe3, t2, 6 December 2026): h, a retired farmer alone in the MSA's dossier MX (his
    pension lines only, 650 € gross), and w, his wife, titulaire of the CNAV's file RX (500 € gross), neither paid
    anything; the DGFiP declares them DEC1 (h, unless ``husband_dec1`` is false) and DEC2 of the joint declaration
    TX, in the dwelling LX. Variants: w in another fund's file (``wife_fund``), on a declaration of her own
    (``foyer_w``), h's dossier without a pension line (a farmer's, not a retiree's: ``husband_pension``)."""
    persons = [_person("h", dt.date(1949, 9, 1), "msa"), _person("w", dt.date(1951, 11, 1), wife_fund)]
    dec1, dec2 = ("h", "w") if husband_dec1 else ("w", "h")
    mems = [*_in_dossier("h", "MX", "demandeur", "msa"), *_in_dossier("w", wife_file, "demandeur", wife_fund),
            *_joint(dec1, "TX" if dec1 == "h" else foyer_w, "LX", "personne_de_reference"),
            *_joint(dec2, "TX" if dec2 == "h" else foyer_w, "LX", "conjoint")]
    resources = [*(_pension_lines("h", "650.00", "msa") if husband_pension else []),
                 *_pension_lines("w", "500.00", wife_fund)]
    return persons, mems, resources


def _build_with(persons, mems, resources, paid=()):
    from nonrecours.core import build_month
    from nonrecours.schemas import BENEFITS_PAID, PERSONS, RESOURCES, UNIT_MEMBERSHIPS

    def frame(spec, rows):
        return spec.validate_frame(pl.DataFrame(rows, schema=spec.polars_schema, orient="row"))
    tables = {"persons": frame(PERSONS, persons), "unit_memberships": frame(UNIT_MEMBERSHIPS, mems),
              "resources": frame(RESOURCES, resources)}
    if paid:
        tables["benefits_paid"] = frame(BENEFITS_PAID, list(paid))
    return build_month(tables, M)


def test_a_retired_farmer_in_an_msa_dossier_and_his_wife_in_a_cnav_file_are_one_couple_in_the_first_declarants_file():
    """CSS art. L815-1, D815-1: the couple's ASPA, on the couple's resources against the couple's ceiling. A
    retiree's MSA dossier holding him alone, the MSA paying it nothing, is a pension file as the CNAV's is: h (DEC1)
    and w are one famille, the MSA's dossier MX, w its conjoint and the reference person's conjoint in its ménage.
    Until 6 December 2026 they were two single retirees, an ASPA flagged on each fund's list (393.60 € on the MSA's,
    543.60 € on the CNAV's; the couple is due 470.18 €). With w the DEC1, her CNAV file stays."""
    core = _build_with(*_farm_couple())
    units = _units(core)
    assert units["h"] == ("msa:MX", "demandeur", "msa:MX", "personne_de_reference")
    assert units["w"] == ("msa:MX", "conjoint", "msa:MX", "conjoint")
    assert set(core.inputs.famille["famille_id"]) == {"msa:MX"}
    counts = _conflicts(core)
    assert counts["couple_joined_across_pension_funds"] == 1
    assert counts["couple_joined_within_agency"] == 0 and counts["couple_joined_across_agencies"] == 0
    units = _units(_build_with(*_farm_couple(husband_dec1=False)))
    assert units["w"] == ("cnav:RX", "demandeur", "cnav:RX", "personne_de_reference")
    assert units["h"] == ("cnav:RX", "conjoint", "cnav:RX", "conjoint")


def test_two_retired_farmers_each_alone_in_an_msa_dossier_are_one_couple():
    """Two MSA dossiers of two spouses, each a retiree's (pension lines) holding nobody else, the MSA paying
    neither anything: the chef d'exploitation's pension and the conjoint collaboratrice's, no composition the MSA
    assessed. One couple in the DEC1's dossier, counted within one agency."""
    core = _build_with(*_farm_couple(wife_fund="msa", wife_file="MW"))
    units = _units(core)
    assert units["h"][:2] == ("msa:MX", "demandeur") and units["w"][:2] == ("msa:MX", "conjoint")
    counts = _conflicts(core)
    assert counts["couple_joined_within_agency"] == 1 and counts["couple_joined_across_pension_funds"] == 0


def test_an_msa_dossier_the_msa_pays_or_that_draws_no_msa_pension_keeps_its_composition():
    """The MSA paying the husband's dossier something in the window (a housing aid on the dossier, or his own
    ASPA) assessed its composition: a man alone, two familles. So does a dossier with no MSA pension line in the
    year (a farmer's or a farm worker's dossier, the composition the MSA assesses for family benefits)."""
    al = ["famille", "MX", None, "aide_logement", dt.date(2026, 5, 1), Decimal("80.00"), "msa", "msa", "msa-x",
          dt.date(2026, 6, 28)]
    aspa = [None, None, "h", "aspa", dt.date(2026, 4, 1), Decimal("120.00"), "msa", "msa", "msa-x",
            dt.date(2026, 6, 28)]
    for core in (_build_with(*_farm_couple(), paid=[al]), _build_with(*_farm_couple(), paid=[aspa]),
                 _build_with(*_farm_couple(husband_pension=False))):
        units = _units(core)
        assert units["h"][:2] == ("msa:MX", "demandeur") and units["w"][:2] == ("cnav:RX", "demandeur")
        counts = _conflicts(core)
        assert counts["couple_joined_across_pension_funds"] == 0 and counts["couple_joined_within_agency"] == 0


def test_an_msa_dossier_and_a_cnav_file_without_a_joint_declaration_stay_apart():
    """The same two files in one dwelling, w on a declaration of her own (TW: unmarried partners, or flatmates):
    no joint declaration, no couple."""
    core = _build_with(*_farm_couple(foyer_w="TW"))
    units = _units(core)
    assert units["h"][:2] == ("msa:MX", "demandeur") and units["w"][:2] == ("cnav:RX", "demandeur")
    assert _conflicts(core)["couple_joined_across_pension_funds"] == 0


def test_a_caf_dossier_and_a_cnav_file_of_two_spouses_stay_apart():
    """A CAF dossier holding its allocataire alone (the CAF assessed that composition) and the CNAV file of the
    co-declarant in the same dwelling: the CAF's dossier is no pension file, two familles."""
    persons = [_person("a", dt.date(1958, 5, 1), "caf"), _person("w", dt.date(1951, 11, 1), "cnav")]
    mems = [*_in_dossier("a", "F7", "demandeur", "caf"), *_in_dossier("w", "RX", "demandeur", "cnav"),
            *_joint("a", "TX", "LX", "personne_de_reference"), *_joint("w", "TX", "LX", "conjoint")]
    core = _build_with(persons, mems, _pension_lines("w", "500.00", "cnav"))
    units = _units(core)
    assert units["a"][:2] == ("caf:F7", "demandeur") and units["w"][:2] == ("cnav:RX", "demandeur")
    counts = _conflicts(core)
    assert counts["couple_joined_across_pension_funds"] == 0 and counts["couple_joined_within_agency"] == 0
    assert counts["couple_joined_across_agencies"] == 0
