"""Facts the persons rows carry that decide a grade (RSDAE, unfitness, recent isolation, nationality), what a
DGFiP dwelling says of a single declarant's couple, and a DRM absence a DGFiP income contradicts: the causes of
missed non-take-up measured in benchmarks/results/detection_quality.json."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl

from nonrecours.core import build_month
from nonrecours.schemas import (
    ANNUAL_INCOME,
    HOUSING,
    PERSONS,
    RESOURCES,
    TAX_HOUSEHOLDS,
    UNIDENTIFIED_MEMBERS,
    UNIT_MEMBERSHIPS,
)

M = dt.date(2026, 6, 1)


def _p(agency, day=dt.date(2026, 6, 28)):
    return [agency, f"{agency}-x", day]


def _person(pid, birth, agency="caf", *, sex="F", nat="FR", rsdae=None, unfit=None, isolation=None,
            health=(0.0, False, False), born=None, year_only=None):
    return [pid, birth, sex, nat, None, "46042", *health, rsdae, unfit, isolation, born, None, year_only, *_p(agency)]


def _mem(pid, kind, uid, role, agency, since=dt.date(2024, 1, 1)):
    return [pid, kind, uid, role, since, None, *_p(agency)]


def _declared(pid, foyer, dwelling):
    """A declarant alone on foyer fiscal ``foyer``, the reference person of DGFiP dwelling ``dwelling``."""
    return [_mem(pid, "foyer_fiscal", foyer, "declarant", "dgfip"),
            _mem(pid, "menage", dwelling, "personne_de_reference", "dgfip")]


def _caf_parent(parent, child, famille):
    """A lone parent and a child in the CAF's dossier ``famille`` (its famille and its ménage)."""
    return [_mem(parent, "famille", famille, "demandeur", "caf"), _mem(child, "famille", famille, "enfant", "caf"),
            _mem(parent, "menage", famille, "personne_de_reference", "caf"),
            _mem(child, "menage", famille, "enfant", "caf")]


def _frame(spec, rows):
    return spec.validate_frame(pl.DataFrame(rows, schema=spec.polars_schema, orient="row"))


def _unknown(core, pid, inp):
    return core.unknowns.filter((pl.col("id") == pid) & (pl.col("input") == inp))


def _kind(core, pid, inp):
    return core.provenance.filter((pl.col("id") == pid) & (pl.col("input") == inp))["kind"].to_list()


def test_rsdae_unfitness_and_recent_isolation_are_read_from_the_persons_rows():
    """The CAF gives RSDAE and a recent isolation, the CNAV an unfitness for work: observed, not unknown; a
    disabled person whose row gives neither keeps them unknown."""
    persons = [_person("a", dt.date(1990, 1, 1), rsdae=True, isolation=True, health=(0.6, False, False)),
               _person("k", dt.date(2018, 1, 1)),
               _person("r", dt.date(1962, 1, 1), agency="cnav", unfit=True, health=(None, None, None)),
               _person("d", dt.date(1980, 1, 1), health=(0.6, False, False))]
    mems = [*_caf_parent("a", "k", "F1"),
            _mem("r", "famille", "R1", "demandeur", "cnav"), _mem("r", "menage", "R1", "personne_de_reference", "cnav"),
            _mem("d", "famille", "F2", "demandeur", "caf"), _mem("d", "menage", "F2", "personne_de_reference", "caf")]
    core = build_month({"persons": _frame(PERSONS, persons), "unit_memberships": _frame(UNIT_MEMBERSHIPS, mems)}, M)
    ind = core.inputs.individu
    assert ind.filter(pl.col("person_id") == "a")["rsdae"].item() is True
    assert ind.filter(pl.col("person_id") == "r")["unfit_for_work"].item() is True
    assert _kind(core, "a", "rsdae") == ["observed"] and _unknown(core, "a", "rsdae").is_empty()
    assert _kind(core, "r", "unfit_for_work") == ["observed"] and _unknown(core, "r", "unfit_for_work").is_empty()
    # the CNAV does not hold RSDAE: still unknown for its retiree (disability unknown too), and said of the RSDAE
    # alone: the unfitness the CNAV sent is known (a tester's retiree was told neither was sent)
    assert _unknown(core, "r", "rsdae").height == 1
    reason = _unknown(core, "r", "rsdae")["reason"].item()
    assert "RSDAE" in reason and "inaptitude" not in reason
    assert "inaptitude" in _unknown(core, "d", "unfit_for_work")["reason"].item()
    assert _unknown(core, "d", "rsdae").height == 1 and _unknown(core, "d", "unfit_for_work").height == 1
    fam = core.inputs.famille.filter(pl.col("famille_id") == "caf:F1")
    assert fam["recent_isolation"].item() is True
    assert _kind(core, "caf:F1", "recent_isolation") == ["observed"]
    assert _unknown(core, "caf:F1", "recent_isolation").is_empty()


def test_a_persons_row_without_nationality_gives_the_age_and_leaves_the_nationality_unknown():
    """The DGFiP and the CNAM send a birth month and a commune: the age is observed, nationality and residence
    permit are unknown (central FR, no invented observation); sex unknown keeps a pregnancy possible at 36."""
    row = _person("t", dt.date(1990, 3, 1), agency="dgfip", sex=None, nat=None, health=(None, None, None))
    core = build_month({"persons": _frame(PERSONS, [row]),
                        "unit_memberships": _frame(UNIT_MEMBERSHIPS, [
                            _mem("t", "foyer_fiscal", "T1", "declarant", "dgfip")])}, M)
    ind = core.inputs.individu.filter(pl.col("person_id") == "t")
    assert ind["age"].item() == 36 and _kind(core, "t", "age") == ["observed"]
    assert _kind(core, "t", "nationality_group") == ["unknown"]
    assert _unknown(core, "t", "nationality_group").height == 1
    assert _unknown(core, "t", "residence_permit_years")["high"].item() == 10.0
    assert _unknown(core, "t", "pregnant").height == 1


def test_a_single_declarant_alone_in_the_dgfip_dwelling_is_single_by_estimate():
    """s lives alone in dwelling L1: the couple stays unknown, informed (probable at most); u shares L2 with
    another single declarant v, who could be the partner: uninformed (possible at most)."""
    mems = [*_declared("s", "T1", "L1"),
            *_declared("u", "T2", "L2"),
            *_declared("v", "T3", "L2")]
    persons = [_person(p, dt.date(1980, 1, 1), agency="dgfip", sex=None, nat=None, health=(None, None, None))
               for p in ("s", "u", "v")]
    core = build_month({"persons": _frame(PERSONS, persons), "unit_memberships": _frame(UNIT_MEMBERSHIPS, mems)}, M)
    ind = core.inputs.individu
    fam = {p: ind.filter(pl.col("person_id") == p)["famille_id"].item() for p in ("s", "u", "v")}
    couple = core.unknowns.filter(pl.col("input") == "couple_kind")
    informed = dict(zip(couple["id"], couple["informed"], strict=True))
    assert informed[fam["s"]] is True
    assert informed[fam["u"]] is False and informed[fam["v"]] is False
    assert core.counts["familles_single_from_dwelling"] == 1
    assert _kind(core, fam["s"], "couple_kind") == ["estimated"]


def test_a_partner_the_caf_follows_is_counted_in_the_dgfip_dwelling():
    """w is a single declarant only the DGFiP knows, in dwelling L3; x, a mother the CAF follows alone with her
    child (the CAF's dossier: its own ménage), is declared by the DGFiP in L3 too, with a foyer of her own (an
    unmarried couple files two declarations). x could be w's partner: w's couple is unknown, uninformed
    (possible at most), not single by estimate. Until 29 November 2026 the singles were counted per core ménage,
    where x (the CAF's ménage) was not, and w was graded as living alone."""
    mems = [*_declared("w", "T4", "L3"),
            _mem("x", "foyer_fiscal", "T5", "declarant", "dgfip"),
            _mem("k", "foyer_fiscal", "T5", "personne_a_charge", "dgfip"),
            _mem("x", "menage", "L3", "personne_de_reference", "dgfip"),
            _mem("k", "menage", "L3", "enfant", "dgfip"),
            *_caf_parent("x", "k", "F9")]
    persons = [_person("w", dt.date(1984, 1, 1), agency="dgfip", sex=None, nat=None, health=(None, None, None)),
               _person("x", dt.date(1986, 1, 1)), _person("k", dt.date(2016, 1, 1))]
    core = build_month({"persons": _frame(PERSONS, persons), "unit_memberships": _frame(UNIT_MEMBERSHIPS, mems)}, M)
    ind = core.inputs.individu
    fam_w = ind.filter(pl.col("person_id") == "w")["famille_id"].item()
    couple = core.unknowns.filter((pl.col("input") == "couple_kind") & (pl.col("id") == fam_w))
    assert couple["informed"].to_list() == [False]
    assert core.counts["familles_single_from_dwelling"] == 0
    assert _kind(core, fam_w, "couple_kind") == ["unknown"]


def test_a_single_the_caf_follows_sharing_a_dwelling_with_another_single_adult_may_live_in_couple():
    """x, whom the CAF follows alone with her child, is declared by the DGFiP in dwelling L3 where w, a single
    declarant of another foyer, lives too: her dossier may lack a partner (an unmarried couple files two
    declarations). Her couple is unknown, uninformed. y, whom the CAF also follows alone, shares L4 with a
    married couple (two declarants of one foyer, not a possible partner): her composition stays observed; so does
    z's, whose dwelling L5 holds a single declarant 30 years older (more likely her parent than a partner,
    ``CoreConfig.partner_age_gap``)."""
    mems = [*_declared("w", "T4", "L3"),
            *_declared("x", "T5", "L3"),
            *_caf_parent("x", "k", "F9"),
            *_declared("y", "T6", "L4"),
            *_caf_parent("y", "j", "F8"),
            _mem("a", "foyer_fiscal", "T7", "declarant", "dgfip"),
            _mem("b", "foyer_fiscal", "T7", "declarant", "dgfip"),
            _mem("a", "menage", "L4", "personne_de_reference", "dgfip"), _mem("b", "menage", "L4", "conjoint", "dgfip"),
            *_declared("z", "T8", "L5"),
            *_caf_parent("z", "i", "F7"),
            *_declared("g", "T9", "L5")]
    persons = [_person(p, dt.date(1984, 1, 1), agency="dgfip", sex=None, nat=None, health=(None, None, None))
               for p in ("w", "a", "b")]
    persons += [_person("g", dt.date(1958, 1, 1), agency="dgfip", sex=None, nat=None, health=(None, None, None))]
    persons += [_person("x", dt.date(1986, 1, 1)), _person("k", dt.date(2016, 1, 1)),
                _person("y", dt.date(1987, 1, 1)), _person("j", dt.date(2015, 1, 1)),
                _person("z", dt.date(1988, 1, 1)), _person("i", dt.date(2017, 1, 1))]
    core = build_month({"persons": _frame(PERSONS, persons), "unit_memberships": _frame(UNIT_MEMBERSHIPS, mems)}, M)
    couple = core.unknowns.filter((pl.col("input") == "couple_kind")
                                  & pl.col("id").is_in(["caf:F9", "caf:F8", "caf:F7"]))
    assert couple["id"].to_list() == ["caf:F9"] and couple["informed"].to_list() == [False]
    assert core.counts["familles_single_sharing_dwelling"] == 1
    assert _kind(core, "caf:F9", "couple_kind") == ["unknown"]
    assert _kind(core, "caf:F8", "couple_kind") == ["observed"]
    assert _kind(core, "caf:F7", "couple_kind") == ["observed"]


def test_two_single_dossiers_the_caf_records_as_colocataires_are_not_each_others_partner():
    """p and q, of an age, each head a CAF dossier of their own, alone, in DGFiP dwelling L6: the CAF records both
    dossiers' housing as a colocation, so neither is the other's suspected partner, and their compositions stay
    observed. r and s share L7 the same way, but only r's dossier says colocation: both stay suspected (the pair
    is the CAF's declared colocation only when both of its dossiers say so)."""
    mems, persons, housing = [], [], []
    for pid, foyer, loc, coloc in (("p", "T1", "L6", True), ("q", "T2", "L6", True), ("r", "T3", "L7", True),
                                   ("s", "T4", "L7", False)):
        mems += [*_declared(pid, foyer, loc), _mem(pid, "famille", f"D{pid}", "demandeur", "caf"),
                 _mem(pid, "menage", f"D{pid}", "personne_de_reference", "caf")]
        persons.append(_person(pid, dt.date(1990, 1, 1)))
        housing.append([f"D{pid}", dt.date(2026, 5, 1), "tenant", Decimal("300.00"), coloc, False, None, *_p("caf")])
    core = build_month({"persons": _frame(PERSONS, persons), "unit_memberships": _frame(UNIT_MEMBERSHIPS, mems),
                        "housing": _frame(HOUSING, housing)}, M)
    suspected = core.unknowns.filter(pl.col("input") == "couple_kind")["id"].sort().to_list()
    assert suspected == ["caf:Dr", "caf:Ds"]
    assert _kind(core, "caf:Dp", "couple_kind") == ["observed"] and _kind(core, "caf:Dq", "couple_kind") == ["observed"]
    assert core.counts["familles_single_sharing_dwelling"] == 2
    assert core.counts["familles_single_sharing_dwelling_colocataires"] == 2


def test_a_separation_the_caf_records_lifts_the_dwelling_the_dgfip_declared_before_it():
    """u and v, married, declared jointly (foyer T11) in DGFiP dwelling L8; they parted since: each heads a CAF
    dossier of their own, a tenant, the CAF recording a recent isolation on both (probe hh16, K38; a widow whose
    late husband's lines stop, probe hh17, K60). The DGFiP's dwelling is that of the 1st January after the declared
    year, the couple's before it parted: neither is the other's suspected partner nor possibly hosted by them. r
    and s, two CAF single dossiers in dwelling L9 (foyers of their own) recording no isolation, stay suspected, and
    their lease unknown."""
    mems, persons, housing = [], [], []
    for pid, role in (("u", "personne_de_reference"), ("v", "conjoint")):
        mems += [_mem(pid, "foyer_fiscal", "T11", "declarant", "dgfip"), _mem(pid, "menage", "L8", role, "dgfip")]
    for pid, foyer in (("r", "T12"), ("s", "T13")):
        mems += _declared(pid, foyer, "L9")
    for pid in ("u", "v", "r", "s"):
        mems += [_mem(pid, "famille", f"D{pid}", "demandeur", "caf"),
                 _mem(pid, "menage", f"D{pid}", "personne_de_reference", "caf")]
        persons.append(_person(pid, dt.date(1985, 1, 1), isolation=pid in ("u", "v")))
        housing.append([f"D{pid}", dt.date(2026, 5, 1), "tenant", Decimal("400.00"), False, False, None,
                        *_p("caf")])
    core = build_month({"persons": _frame(PERSONS, persons), "unit_memberships": _frame(UNIT_MEMBERSHIPS, mems),
                        "housing": _frame(HOUSING, housing)}, M)
    for f in ("caf:Du", "caf:Dv"):
        assert _kind(core, f, "couple_kind") == ["observed"], f
        assert _unknown(core, f, "hosted_free_of_charge").is_empty(), f
    assert core.unknowns.filter(pl.col("input") == "couple_kind")["id"].sort().to_list() == ["caf:Dr", "caf:Ds"]
    assert core.counts["familles_single_sharing_dwelling"] == 2
    assert core.counts["familles_shared_dwelling_lease_unknown"] == 2
    assert not _unknown(core, "caf:Dr", "hosted_free_of_charge").is_empty()


def test_a_joint_declaration_missing_its_other_declarant_is_no_single():
    """Three declarants alone in their DGFiP dwellings, income year 2025. s is the second declarant (DEC2, the
    ménage's conjoint) of a joint declaration whose first is not in the extract; t declared 20,000 € of salaries
    but the foyer's RFR is 45,000 €: someone's income the extract does not show (the other spouse's). Both may
    live in couple: uninformed (possible at most), not single by estimate. u's RFR, 16,200 €, is what u's
    18,000 € of salaries give: u is single by estimate (probable at most); so is v, self-employed, whose 5,000 €
    deficit gives an RFR of 0 (no RFR is negative: the deficit is no income of someone else)."""
    y = dt.date(2025, 1, 1)
    mems = [_mem("s", "foyer_fiscal", "T1", "declarant", "dgfip", y), _mem("s", "menage", "L1", "conjoint", "dgfip", y),
            _mem("t", "foyer_fiscal", "T2", "declarant", "dgfip", y),
            _mem("t", "menage", "L2", "personne_de_reference", "dgfip", y),
            _mem("u", "foyer_fiscal", "T3", "declarant", "dgfip", y),
            _mem("u", "menage", "L3", "personne_de_reference", "dgfip", y),
            _mem("v", "foyer_fiscal", "T5", "declarant", "dgfip", y),
            _mem("v", "menage", "L5", "personne_de_reference", "dgfip", y)]
    persons = [_person(p, dt.date(1980, 1, 1), agency="dgfip", sex=None, nat=None, health=(None, None, None))
               for p in ("s", "t", "u", "v")]
    annual = [[p, 2025, "salaries", Decimal(a), *_p("dgfip")] for p, a in (("s", "15000.00"), ("t", "20000.00"),
                                                                          ("u", "18000.00"))]
    annual.append(["v", 2025, "self_employment", Decimal("-5000.00"), *_p("dgfip")])
    tax = [[f, 2025, Decimal(r), 1.0, *_p("dgfip")] for f, r in (("T1", "13500.00"), ("T2", "45000.00"),
                                                                  ("T3", "16200.00"), ("T5", "0.00"))]
    core = build_month({"persons": _frame(PERSONS, persons), "unit_memberships": _frame(UNIT_MEMBERSHIPS, mems),
                        "annual_income": _frame(ANNUAL_INCOME, annual),
                        "tax_households": _frame(TAX_HOUSEHOLDS, tax)}, M)
    ind = core.inputs.individu
    fam = {p: ind.filter(pl.col("person_id") == p)["famille_id"].item() for p in ("s", "t", "u", "v")}
    couple = core.unknowns.filter(pl.col("input") == "couple_kind")
    informed = dict(zip(couple["id"], couple["informed"], strict=True))
    assert informed == {fam["s"]: False, fam["t"]: False, fam["u"]: True, fam["v"]: True}
    assert couple.filter(pl.col("id") == fam["t"])["reason"].item().startswith("déclaration commune")
    assert core.counts["familles_declarant_missing"] == 2 and core.counts["familles_single_from_dwelling"] == 2


def test_absent_from_the_drm_while_the_dgfip_shows_salaries_is_doubtful_not_zero():
    """The DRM lists a salary for a, nothing for b nor c. b declared 18,000 € of salaries in the latest year: b's
    salary is unknown from 0 to the declared level (not an observed 0); c declared none: the DRM's 0, which the DRM
    did not send (it lists nothing of c): no agency is named for it (``core.resources._COVER_TIERS``)."""
    persons = [_person(p, dt.date(1985, 1, 1), agency="dgfip", sex=None, nat=None, health=(None, None, None))
               for p in ("a", "b", "c")]
    mems = [_mem(p, "foyer_fiscal", f"T{p}", "declarant", "dgfip") for p in ("a", "b", "c")]
    res = [["a", dt.date(2026, m, 1), "salary_net", Decimal("1500.00"), *_p("drm")] for m in range(1, 7)]
    annual = [["b", 2025, "salaries", Decimal("18000.00"), *_p("dgfip")],
              ["a", 2025, "salaries", Decimal("18000.00"), *_p("dgfip")]]
    core = build_month({"persons": _frame(PERSONS, persons), "unit_memberships": _frame(UNIT_MEMBERSHIPS, mems),
                        "resources": _frame(RESOURCES, res), "annual_income": _frame(ANNUAL_INCOME, annual)}, M)
    b = _unknown(core, "b", "salary_net")
    assert b.height == 1 and b["low"].item() == 0.0 and b["central"].item() == 0.0
    assert b["high"].item() == 1875.0 and b["informed"].item() is False
    assert _kind(core, "b", "salary_net") == ["unknown"]
    assert _unknown(core, "a", "salary_net").is_empty() and _unknown(core, "c", "salary_net").is_empty()
    # covered by the DRM (estimated before its first month, as for anyone it covers), never unknown
    c = core.provenance.filter((pl.col("id") == "c") & (pl.col("input") == "salary_net"))
    assert c["kind"].to_list() != ["unknown"] and c["source_agency"].to_list() == [None]


def test_france_travail_gives_the_nationality_a_preferred_row_lacks():
    """The DGFiP's row (preferred) gives the age but no nationality; France Travail's registration gives it:
    observed from France Travail, with the years of permit still unknown for a non-EEA national."""
    rows = [_person("t", dt.date(1980, 3, 1), agency="dgfip", sex=None, nat=None, health=(None, None, None)),
            _person("t", dt.date(1980, 3, 1), agency="france_travail", sex=None, nat="OTHER",
                    health=(None, None, None)),
            _person("f", dt.date(1982, 3, 1), agency="dgfip", sex=None, nat=None, health=(None, None, None))]
    mems = [_mem("t", "foyer_fiscal", "T1", "declarant", "dgfip"),
            _mem("f", "foyer_fiscal", "T2", "declarant", "dgfip")]
    core = build_month({"persons": _frame(PERSONS, rows), "unit_memberships": _frame(UNIT_MEMBERSHIPS, mems)}, M)
    ind = core.inputs.individu.filter(pl.col("person_id") == "t")
    assert ind["nationality_group"].item() == "OTHER" and ind["age"].item() == 46
    prov = core.provenance.filter((pl.col("id") == "t") & (pl.col("input") == "nationality_group"))
    assert prov["kind"].to_list() == ["observed"] and prov["source_agency"].to_list() == ["france_travail"]
    assert _unknown(core, "t", "nationality_group").is_empty()
    assert _unknown(core, "t", "residence_permit_years").height == 1
    assert _unknown(core, "f", "nationality_group").height == 1  # nobody gave f's


def test_no_aah_paid_informs_an_unknown_disability_rate():
    """The CAF sent its extract and does not know d (a DGFiP declarant): no AAH is paid to d, so d's unknown
    disability rate is an estimate (informed); without any AAH payer's extract it stays a convention."""
    caf = [_person("a", dt.date(1990, 1, 1))]
    caf_mems = [_mem("a", "famille", "F1", "demandeur", "caf")]
    dgfip = [_person("d", dt.date(1985, 1, 1), agency="dgfip", sex=None, nat=None, health=(None, None, None))]
    dgfip_mems = [_mem("d", "foyer_fiscal", "T1", "declarant", "dgfip")]
    with_caf = build_month({"persons": _frame(PERSONS, caf + dgfip),
                            "unit_memberships": _frame(UNIT_MEMBERSHIPS, caf_mems + dgfip_mems)}, M)
    u = _unknown(with_caf, "d", "disability_rate")
    assert u.height == 1 and u["informed"].item() is True and u["high"].item() == 1.0
    alone = build_month({"persons": _frame(PERSONS, dgfip),
                         "unit_memberships": _frame(UNIT_MEMBERSHIPS, dgfip_mems)}, M)
    assert _unknown(alone, "d", "disability_rate")["informed"].item() is False


def test_the_second_declarant_of_a_joint_declaration_whose_partner_is_missing_is_not_alone():
    """j is the DGFiP's second declarant (DEC2: the conjoint of dwelling L3's reference person) of foyer T4, whose
    first declarant no extract shows, with a child: the DGFiP says j has a partner, so the couple is unknown and
    uninformed (possible at most), never "alone in the dwelling" (informed single, probable); s, the first
    declarant alone in L1 with a child, stays single by estimate."""
    mems = [_mem("j", "foyer_fiscal", "T4", "declarant", "dgfip"),
            _mem("k", "foyer_fiscal", "T4", "personne_a_charge", "dgfip"),
            _mem("j", "menage", "L3", "conjoint", "dgfip"), _mem("k", "menage", "L3", "enfant", "dgfip"),
            _mem("s", "foyer_fiscal", "T1", "declarant", "dgfip"),
            _mem("c", "foyer_fiscal", "T1", "personne_a_charge", "dgfip"),
            _mem("s", "menage", "L1", "personne_de_reference", "dgfip"), _mem("c", "menage", "L1", "enfant", "dgfip")]
    persons = [_person(p, b, agency="dgfip", sex=None, nat=None, health=(None, None, None))
               for p, b in (("j", dt.date(1990, 1, 1)), ("k", dt.date(2018, 1, 1)), ("s", dt.date(1990, 1, 1)),
                            ("c", dt.date(2018, 1, 1)))]
    core = build_month({"persons": _frame(PERSONS, persons), "unit_memberships": _frame(UNIT_MEMBERSHIPS, mems)}, M)
    ind = core.inputs.individu
    fam = {p: ind.filter(pl.col("person_id") == p)["famille_id"].item() for p in ("j", "s")}
    assert ind.filter(pl.col("person_id") == "k")["famille_id"].item() == fam["j"]
    couple = core.unknowns.filter(pl.col("input") == "couple_kind")
    by_id = {r["id"]: r for r in couple.iter_rows(named=True)}
    assert by_id[fam["j"]]["informed"] is False and "déclaration commune" in by_id[fam["j"]]["reason"]
    assert by_id[fam["s"]]["informed"] is True
    assert core.counts["familles_declarant_missing"] == 1 and core.counts["familles_single_from_dwelling"] == 1
    assert _kind(core, fam["j"], "couple_kind") == ["unknown"]


def test_a_dgfip_declarant_with_no_row_of_a_kind_declared_none_of_it():
    """The DGFiP connector emits only non-zero amounts. p, a declarant of 2025 with only self-employment income,
    and q, a declarant of 2025 with no income row at all, declared no alimony that year: their monthly alimony
    (which no monthly source covers) is estimated 0 from the DGFiP (informed), like that of r, who declared
    salaries; n, whom the DGFiP does not know, stays unknown from 0 to the ceiling (uninformed)."""
    pids = ("p", "q", "r", "n")
    persons = [_person(p, dt.date(1985, 1, 1), agency="dgfip" if p != "n" else "cnam", sex=None, nat=None,
                       health=(None, None, None)) for p in pids]
    mems = [_mem(p, "foyer_fiscal", f"T{p}", "declarant", "dgfip", since=dt.date(2025, 1, 1)) for p in ("p", "q", "r")]
    annual = [["p", 2025, "self_employment", Decimal("9000.00"), *_p("dgfip")],
              ["r", 2025, "salaries", Decimal("18000.00"), *_p("dgfip")]]
    core = build_month({"persons": _frame(PERSONS, persons), "unit_memberships": _frame(UNIT_MEMBERSHIPS, mems),
                        "annual_income": _frame(ANNUAL_INCOME, annual)}, M)
    for p in ("p", "q", "r"):
        u = _unknown(core, p, "alimony_received")
        assert u.height == 1 and u["informed"].item() is True, p
        assert (u["low"].item(), u["central"].item(), u["high"].item()) == (0.0, 0.0, 0.0)
        prov = core.provenance.filter((pl.col("id") == p) & (pl.col("input") == "alimony_received"))
        assert prov["kind"].to_list() == ["estimated"] and prov["source_agency"].to_list() == ["dgfip"]
    n = _unknown(core, "n", "alimony_received")
    assert n["informed"].item() is False and n["central"].item() == 0.0 and n["high"].item() == 600.0
    assert _kind(core, "n", "alimony_received") == ["unknown"]


def _lost(uid, role, kind="famille", since=dt.date(2024, 1, 1), until=None):
    return {"line": 3, "unit_kind": kind, "unit_id": uid, "role": role, "valid_from": since, "valid_to": until,
            "reason": "invalid NIR check key", **dict(zip(("source_agency", "extract_id", "extract_date"),
                                                          _p("caf"), strict=True))}


def _only_f9_couple_unknown(core, reason: str, count: str) -> None:
    """Of the CAF's dossiers F9, F8 and F7, F9's couple only is unknown (uninformed, its reason saying ``reason``,
    counted in ``count``); F8's and F7's stay observed."""
    couple = core.unknowns.filter(pl.col("input") == "couple_kind")
    assert couple["id"].to_list() == ["caf:F9"] and couple["informed"].to_list() == [False]
    assert reason in couple["reason"].item()
    assert core.counts[count] == 1
    assert _kind(core, "caf:F9", "couple_kind") == ["unknown"]
    assert _kind(core, "caf:F8", "couple_kind") == ["observed"]
    assert _kind(core, "caf:F7", "couple_kind") == ["observed"]


def test_a_dossier_with_a_quarantined_conjoint_line_has_its_couple_unknown():
    """x and y are each the only adult the CAF lists in their dossier, with a child. The CAF's line of F9's
    conjoint was quarantined for its NIR: F9's couple is unknown (uninformed, named, counted), not single. F8's
    quarantined line is a child's, and F7's conjoint line ended before the month: both stay observed singles."""
    mems = [*_caf_parent("x", "k", "F9"), *_caf_parent("y", "j", "F8"), *_caf_parent("z", "i", "F7")]
    persons = [_person(p, b) for p, b in (("x", dt.date(1986, 1, 1)), ("k", dt.date(2016, 1, 1)),
                                          ("y", dt.date(1987, 1, 1)), ("j", dt.date(2015, 1, 1)),
                                          ("z", dt.date(1988, 1, 1)), ("i", dt.date(2017, 1, 1)))]
    lost = pl.DataFrame([_lost("F9", "conjoint"), _lost("F9", "conjoint", "menage"), _lost("F8", "enfant"),
                         _lost("F7", "conjoint", until=dt.date(2025, 1, 1))])
    tables = {"persons": _frame(PERSONS, persons), "unit_memberships": _frame(UNIT_MEMBERSHIPS, mems)}
    before = build_month(tables, M)
    assert _kind(before, "caf:F9", "couple_kind") == ["observed"]
    core = build_month({**tables, UNIDENTIFIED_MEMBERS: lost}, M)
    _only_f9_couple_unknown(core, "NIR inutilisable", "familles_adult_line_quarantined")


def _lost_in_dwelling(dwelling, birth, *, role="personne_de_reference", since=dt.date(2024, 1, 1),
                      neighbours=None):
    """The DGFiP's line of an adult declared in ``dwelling``, quarantined for its NIR."""
    return {**_lost(dwelling, role, "menage", since), "birth_month": birth, "nir_neighbours": neighbours,
            **dict(zip(("source_agency", "extract_id", "extract_date"), _p("dgfip"), strict=True))}


def test_an_adult_the_dgfip_declares_in_the_dwelling_under_an_unusable_nir_may_be_the_partner():
    """The DGFiP declares, in the dwelling of a single adult, another foyer's head whose line was quarantined for
    its NIR: someone lives there whom the core cannot see, who may be the partner (an unmarried couple files two
    declarations). s (DGFiP only, L1: an unseen adult 3 years younger) is no longer single by estimate and x (the
    CAF's lone parent, L4: an unseen adult of unknown age) no longer an observed single: both couples unknown,
    uninformed (possible at most), counted. Unchanged: t (L2: the unseen adult is 30 years older, a parent more
    likely), u (L3: the line's NIR is one slip from u's own: u's own line, mistyped), y (L5: the unseen adult is
    the second declarant of a joint declaration, someone's partner), z (L6: the unseen adult's line is of 2024,
    the dwelling's latest declaration 2025 lists z alone)."""
    mems = [*_declared("s", "T1", "L1"), *_declared("t", "T2", "L2"), *_declared("u", "T3", "L3"),
            *_declared("x", "T4", "L4"), *_caf_parent("x", "k", "F9"),
            *_declared("y", "T5", "L5"), *_caf_parent("y", "j", "F8"),
            _mem("z", "foyer_fiscal", "T6", "declarant", "dgfip", dt.date(2025, 1, 1)),
            _mem("z", "menage", "L6", "personne_de_reference", "dgfip", dt.date(2025, 1, 1))]
    dgfip_only = {"agency": "dgfip", "sex": None, "nat": None, "health": (None, None, None)}
    persons = [_person(p, dt.date(1980, 1, 1), **dgfip_only) for p in ("s", "t", "u", "z")]
    persons += [_person("x", dt.date(1986, 1, 1)), _person("k", dt.date(2016, 1, 1)),
                _person("y", dt.date(1987, 1, 1)), _person("j", dt.date(2015, 1, 1))]
    lost = pl.DataFrame([_lost_in_dwelling("L1", dt.date(1983, 5, 1)), _lost_in_dwelling("L2", dt.date(1950, 1, 1)),
                         _lost_in_dwelling("L3", dt.date(1980, 1, 1), neighbours=["u", "q"]),
                         _lost_in_dwelling("L4", None), _lost_in_dwelling("L5", dt.date(1985, 1, 1), role="conjoint"),
                         _lost_in_dwelling("L6", dt.date(1981, 1, 1))])
    tables = {"persons": _frame(PERSONS, persons), "unit_memberships": _frame(UNIT_MEMBERSHIPS, mems)}
    before = build_month(tables, M)
    core = build_month({**tables, UNIDENTIFIED_MEMBERS: lost}, M)
    fam = {p: core.inputs.individu.filter(pl.col("person_id") == p)["famille_id"].item() for p in "stuz"}
    for c in (before, core):
        assert _kind(c, "caf:F8", "couple_kind") == ["observed"]
        for p in "tuz":
            assert _kind(c, fam[p], "couple_kind") == ["estimated"] and _unknown(c, fam[p], "couple_kind")[
                "informed"].to_list() == [True]
    assert _kind(before, fam["s"], "couple_kind") == ["estimated"]
    assert _kind(before, "caf:F9", "couple_kind") == ["observed"]
    for f in (fam["s"], "caf:F9"):
        assert _kind(core, f, "couple_kind") == ["unknown"]
        assert _unknown(core, f, "couple_kind")["informed"].to_list() == [False]
    assert before.counts["familles_single_from_dwelling"] == 4 and core.counts["familles_single_from_dwelling"] == 3
    assert core.counts["familles_single_sharing_dwelling"] == 1
    assert core.counts["familles_single_dwelling_adult_unidentified"] == 2


def test_a_single_the_caf_follows_whose_joint_declaration_lacks_its_other_declarant_may_live_in_couple():
    """x, y and z are each the only adult the CAF lists in their dossier, with a child, and the DGFiP's
    declarant alone of their foyer (income year 2024), their child its dependant. x declared 20,000 € of
    salaries but the foyer's RFR is 45,000 €: another declarant's income the extract lacks. The dossier and the
    declaration disagree on the couple: x's is unknown, uninformed (possible at most), named and counted. y's
    RFR is what y's 18,000 € give: observed single. z's figures are x's, but the CAF's row records z's recent
    isolation: the separation is known, after the declared year; observed single."""
    mems = [*_caf_parent("x", "k", "F9"), *_caf_parent("y", "j", "F8"), *_caf_parent("z", "i", "F7")]
    for parent, child, foyer, dwelling in (("x", "k", "T1", "L1"), ("y", "j", "T2", "L2"), ("z", "i", "T3", "L3")):
        mems += [*_declared(parent, foyer, dwelling), _mem(child, "foyer_fiscal", foyer, "personne_a_charge", "dgfip"),
                 _mem(child, "menage", dwelling, "enfant", "dgfip")]
    persons = [_person("x", dt.date(1986, 1, 1), isolation=False), _person("k", dt.date(2016, 1, 1)),
               _person("y", dt.date(1987, 1, 1), isolation=False), _person("j", dt.date(2015, 1, 1)),
               _person("z", dt.date(1988, 1, 1), isolation=True), _person("i", dt.date(2017, 1, 1))]
    annual = [[p, 2024, "salaries", Decimal(a), *_p("dgfip")] for p, a in (("x", "20000.00"), ("y", "18000.00"),
                                                                          ("z", "20000.00"))]
    tax = [[f, 2024, Decimal(r), 2.5, *_p("dgfip")] for f, r in (("T1", "45000.00"), ("T2", "16200.00"),
                                                                  ("T3", "45000.00"))]
    tables = {"persons": _frame(PERSONS, persons), "unit_memberships": _frame(UNIT_MEMBERSHIPS, mems),
              "annual_income": _frame(ANNUAL_INCOME, annual)}
    before = build_month(tables, M)  # without the foyers' RFR nothing tells the declaration is joint
    assert before.unknowns.filter(pl.col("input") == "couple_kind").is_empty()
    core = build_month({**tables, "tax_households": _frame(TAX_HOUSEHOLDS, tax)}, M)
    _only_f9_couple_unknown(core, "imposition commune", "familles_single_joint_declaration")


def test_an_allocataire_recently_isolated_is_not_given_back_her_ex_partner():
    """w heads a CAF dossier opened in February 2026 with her child, the CAF recording her recent isolation; the
    DGFiP's latest declaration (2025) is joint with h, whom no agency lists. The separation is known, after the
    declared year (CGI art. 6, 5): h is not added as her conjoint (he was: a certain couple's prime d'activité, her
    RSA majoré lost); v, in the same situation without a recorded isolation, gets her co-declarant as conjoint."""
    y = dt.date(2025, 1, 1)
    mems = [*_caf_parent("w", "c", "F1"), _mem("w", "foyer_fiscal", "T1", "declarant", "dgfip", y),
            _mem("h", "foyer_fiscal", "T1", "declarant", "dgfip", y), _mem("c", "foyer_fiscal", "T1",
                                                                            "personne_a_charge", "dgfip", y),
            *_caf_parent("v", "d", "F2"), _mem("v", "foyer_fiscal", "T2", "declarant", "dgfip", y),
            _mem("g", "foyer_fiscal", "T2", "declarant", "dgfip", y)]
    persons = [_person("w", dt.date(1990, 1, 1), isolation=True), _person("c", dt.date(2018, 1, 1)),
               _person("v", dt.date(1990, 1, 1)), _person("d", dt.date(2018, 1, 1)),
               *[_person(p, dt.date(1988, 1, 1), agency="dgfip", sex="M", nat=None, health=(None, None, None))
                 for p in ("h", "g")]]
    core = build_month({"persons": _frame(PERSONS, persons), "unit_memberships": _frame(UNIT_MEMBERSHIPS, mems)}, M)
    ind = core.inputs.individu
    fam = dict(zip(ind["person_id"], ind["famille_id"], strict=True))
    assert fam["h"] != fam["w"] and fam["g"] == fam["v"]
    assert ind.filter(pl.col("person_id") == "g")["famille_role"].item() == "conjoint"
    assert core.inputs.famille.filter(pl.col("famille_id") == fam["w"])["recent_isolation"].item() is True


def test_a_child_the_caf_still_lists_at_25_is_an_adult_of_his_own():
    """The CAF's dossier of f still lists s, who turned 25 (CASF R262-3: persons under 25 at charge), and t, 24: s is
    left out of the famille and gets one of his own, hosted in the dossier's ménage, so his own RSA is evaluated
    (he was in no famille the rules read); t stays the famille's child."""
    mems = [*_caf_parent("f", "s", "F1"), _mem("t", "famille", "F1", "enfant", "caf"),
            _mem("t", "menage", "F1", "enfant", "caf")]
    persons = [_person("f", dt.date(1970, 1, 1)), _person("s", dt.date(2001, 1, 1)), _person("t", dt.date(2002, 1, 1))]
    core = build_month({"persons": _frame(PERSONS, persons), "unit_memberships": _frame(UNIT_MEMBERSHIPS, mems)}, M)
    ind = {r["person_id"]: r for r in core.inputs.individu.iter_rows(named=True)}
    assert ind["s"]["famille_id"] == "core-famille:s" and ind["s"]["famille_role"] == "demandeur"
    assert ind["s"]["menage_id"] == ind["f"]["menage_id"] == "caf:F1"
    assert ind["t"]["famille_id"] == "caf:F1" and ind["t"]["famille_role"] == "enfant"
    assert dict(core.conflicts.iter_rows())["adult_child_left_famille"] == 1


def test_a_child_the_caf_lists_at_25_is_not_called_unknown_to_the_caf():
    """s, 25, is the CAF's child of his mother's dossier and heads a famille the core built: whether he lives as a
    couple is unknown, but the CAF lists him; his reason said « personne inconnue des CAF et MSA » (probe hh19 K101,
    L1). A person no agency lists as anyone's child keeps that reason."""
    mems = [*_caf_parent("f", "s", "F1"), _mem("u", "foyer_fiscal", "T9", "declarant", "dgfip")]
    persons = [_person("f", dt.date(1970, 1, 1)), _person("s", dt.date(2001, 1, 1)),
               _person("u", dt.date(1980, 7, 1), "dgfip")]
    core = build_month({"persons": _frame(PERSONS, persons), "unit_memberships": _frame(UNIT_MEMBERSHIPS, mems)}, M)
    couple = core.unknowns.filter(pl.col("input") == "couple_kind")
    son = couple.filter(pl.col("id") == "core-famille:s")["reason"].to_list()
    assert son == ["composition reconstituée: personne listée par la CAF comme enfant d'un autre dossier, à 25 ans "
                   "ou plus évaluée dans sa propre famille: vie en couple inconnue"]
    assert "inconnue des CAF et MSA" in couple.filter(pl.col("id") == "core-famille:u")["reason"].item()


def test_a_birth_month_an_agency_states_beats_another_agencys_year_only_birth_date():
    """The CNAV writes a retiree's birth date « 19610000 » (year only: December kept, ``birth_month_estimated``),
    the DGFiP April 1961: the core reads April (65 in June 2026, the ASPA's age), not the convention (64), though the
    CNAV's row is preferred for every other fact (an outside tester's retiree, 6 December 2026)."""
    persons = [_person("r", dt.date(1961, 12, 1), agency="cnav", health=(None, None, None), year_only=True),
               _person("r", dt.date(1961, 4, 1), agency="dgfip", sex=None, nat=None, health=(None, None, None),
                       year_only=False)]
    mems = [_mem("r", "famille", "R1", "demandeur", "cnav"), *_declared("r", "T1", "L1")]
    core = build_month({"persons": _frame(PERSONS, persons), "unit_memberships": _frame(UNIT_MEMBERSHIPS, mems)}, M)
    ind = core.inputs.individu.filter(pl.col("person_id") == "r")
    assert ind["age"].item() == 65 and ind["date_naissance"].item() == dt.date(1961, 4, 1)
    assert _kind(core, "r", "age") == ["observed"] and _unknown(core, "r", "age").is_empty()
    assert core.counts["persons_birth_month_unknown"] == 0


def test_a_birth_date_no_agency_gives_beyond_its_year_is_an_age_range():
    """Every agency gives the year alone: December is kept at the centre and the low end (never older than one can
    be), a birth in January at the high end; the rules read that age, not a December birth date, so the ASPA at 65
    is possible, never certain, in June 2026 for someone born in 1961. In December both readings agree."""
    persons = [_person("r", dt.date(1961, 12, 1), agency="cnav", health=(None, None, None), year_only=True)]
    mems = [_mem("r", "famille", "R1", "demandeur", "cnav")]
    tables = {"persons": _frame(PERSONS, persons), "unit_memberships": _frame(UNIT_MEMBERSHIPS, mems)}
    core = build_month(tables, M)
    ind = core.inputs.individu.filter(pl.col("person_id") == "r")
    assert ind["age"].item() == 64 and ind["date_naissance"].item() < dt.date(1900, 1, 1)  # no date to read
    age = _unknown(core, "r", "age")
    assert age.select("low", "central", "high").row(0) == (64.0, 64.0, 65.0)
    assert "l'année seule" in age["reason"].item()
    assert _kind(core, "r", "age") == ["estimated"] and core.counts["persons_birth_month_unknown"] == 1
    december = build_month(tables, dt.date(2026, 12, 1))
    assert _unknown(december, "r", "age").select("low", "high").row(0) == (65.0, 65.0)
