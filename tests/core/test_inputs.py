"""Canonical tables → engine inputs: units of the month, ages, pivoted resources, sources, couples."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from nonrecours.core import build_inputs, build_month
from nonrecours.errors import SchemaError
from nonrecours.schemas import BENEFITS_PAID, HOUSING, PERSONS, RESOURCES, UNIT_MEMBERSHIPS

M = dt.date(2026, 4, 1)


def _frame(spec, rows):
    return spec.validate_frame(pl.DataFrame(rows, schema=spec.polars_schema, orient="row"))


def _prov(agency="caf"):
    return [agency, f"{agency}-x", dt.date(2026, 5, 2)]


UNSAID = [None] * 6  # rsdae, unfit_for_work, recent_isolation, born_in_france, self_employed, birth_month_estimated


@pytest.fixture
def tables():
    persons = _frame(PERSONS, [
        ["a", dt.date(1980, 4, 1), "F", "FR", None, "46042", 0.0, False, False, *UNSAID, *_prov()],
        ["b", dt.date(1979, 5, 1), "M", "FR", None, "46042", 0.0, False, False, *UNSAID, *_prov()],
        ["c", dt.date(2015, 1, 1), "M", "FR", None, "46042", 0.0, False, False, *UNSAID, *_prov()],
        ["g", dt.date(1940, 1, 1), "F", "OTHER", 12, "46042", 0.0, False, False, *UNSAID, *_prov()],
        # z: not born yet
        ["z", dt.date(2026, 9, 1), "F", "FR", None, "46042", 0.0, False, False, *UNSAID, *_prov()],
    ])
    mem = []
    for pid, fam, frole, foy, yrole, men, mrole in [
        ("a", "F1", "demandeur", "T1", "declarant", "M1", "personne_de_reference"),
        ("b", "F1", "conjoint", "T2", "declarant", "M1", "conjoint"),
        ("c", "F1", "enfant", "T1", "personne_a_charge", "M1", "enfant"),
        ("g", "F2", "demandeur", "T3", "declarant", "M1", "autre"),
        ("z", "F1", "enfant", "T1", "personne_a_charge", "M1", "enfant"),
    ]:
        for kind, uid, role in (("famille", fam, frole), ("foyer_fiscal", foy, yrole), ("menage", men, mrole)):
            mem.append([pid, kind, uid, role, dt.date(2024, 1, 1), None, *_prov()])
    # b left F1 before the evaluated month in an older record: only the valid one counts.
    mem.append(["b", "famille", "F9", "demandeur", dt.date(2020, 1, 1), dt.date(2023, 12, 1), *_prov()])
    memberships = _frame(UNIT_MEMBERSHIPS, mem)
    resources = _frame(RESOURCES, [
        ["a", dt.date(2026, 3, 1), "salary_net", Decimal("1200.00"), *_prov("caf")],
        ["a", dt.date(2026, 3, 1), "salary_net", Decimal("1250.00"), *_prov("dgfip")],
        ["b", dt.date(2026, 2, 1), "unemployment_benefit", Decimal("900.50"), *_prov("france_travail")],
        ["g", dt.date(2026, 3, 1), "pension_gross", Decimal("700.00"), *_prov("cnav")],
        ["g", dt.date(2024, 1, 1), "pension_gross", Decimal("650.00"), *_prov("cnav")],  # outside lookback
    ])
    paid = _frame(BENEFITS_PAID, [
        ["famille", "F1", None, "aide_logement", dt.date(2026, 3, 1), Decimal("210.00"), "caf", *_prov()],
        ["famille", "F1", None, "rsa", dt.date(2026, 3, 1), Decimal("100.00"), "caf", *_prov()],
    ])
    housing = _frame(HOUSING, [["M1", M, "tenant", Decimal("640.00"), False, False, None, *_prov()]])
    return {"persons": persons, "unit_memberships": memberships, "resources": resources,
            "benefits_paid": paid, "housing": housing}


def test_units_roles_and_ages_of_the_month(tables):
    inp = build_inputs(tables, M)
    ind = inp.individu.sort("person_id")
    assert ind["person_id"].to_list() == ["a", "b", "c", "g"]          # z is not born yet
    assert ind["famille_id"].to_list() == ["caf:F1", "caf:F1", "caf:F1", "caf:F2"]      # b's old famille is not valid
    assert ind["age"].to_list() == [46, 46, 11, 86]
    assert ind.filter(pl.col("person_id") == "g")["residence_permit_years"].item() == 12.0


def test_resources_pivoted_with_the_preferred_source(tables):
    monthly = build_inputs(tables, M).individu_monthly
    a = monthly.filter((pl.col("person_id") == "a") & (pl.col("month") == dt.date(2026, 3, 1)))
    # the DGFiP's rows are yearly amounts, never a month's salary: the CAF's monthly one is kept
    assert a["salary_net"].item() == 1200.0 and a["salary_net__source"].item() == "caf"
    b = monthly.filter((pl.col("person_id") == "b") & (pl.col("month") == dt.date(2026, 2, 1)))
    assert b["unemployment"].item() == 900.5 and b["salary_net"].item() == 0.0
    g = monthly.filter(pl.col("person_id") == "g")
    assert dt.date(2024, 1, 1) not in g["month"].to_list()              # 2024-01 is beyond the look-back


def test_couple_kind_hosting_payments_and_housing(tables):
    inp = build_inputs(tables, M)
    fam = inp.famille.sort("famille_id")
    assert fam["couple_kind"].to_list() == ["cohabiting", ""]          # two tax returns: cohabiting
    assert fam["hosted_free_of_charge"].to_list() == [False, True]     # g lives in F1's dwelling
    fm = inp.famille_monthly
    assert fm.columns[:2] == ["famille_id", "month"] and "rsa" not in fm.columns
    assert fm["aide_logement_versee"].to_list() == [210.0]
    assert fam["aide_logement_versee_connue"].to_list() == [True, True]  # the payers' table is exhaustive
    men = inp.menage
    assert men["depcom"].to_list() == ["46042"] and men["residence_dom"].to_list() == [False]
    assert men["zone_apl"].to_list() == [3]  # Cahors: zone 3 of housing aid
    assert men["housing_status"].to_list() == ["tenant"] and men["rent"].to_list() == [640.0]


def test_rules_run_on_the_built_inputs(tables):
    from nonrecours.engine import evaluate

    res = evaluate(["rsa", "aspa"], build_inputs(tables, M), M)
    assert set(res["famille"]["famille_id"]) == {"caf:F1", "caf:F2"}


def test_month_must_be_a_first_day(tables):
    with pytest.raises(SchemaError):
        build_inputs(tables, dt.date(2026, 4, 2))
    with pytest.raises(SchemaError):
        build_inputs({"resources": tables["resources"]}, M)


def _with_paid(tables, rows):
    return {**tables, "benefits_paid": _frame(BENEFITS_PAID, rows)}


def test_the_aah_paid_is_read_and_counted_where_an_aah_payer_sent_its_payments(tables):
    from nonrecours.engine import evaluate

    months = [dt.date(2026, m, 1) for m in (1, 2, 3)]
    paid = _with_paid(tables, [["famille", "F1", None, "aah", m, Decimal("500.00"), "caf", *_prov()] for m in months])
    inp = build_inputs(paid, M)
    assert inp.famille.sort("famille_id")["aah_versee_connue"].to_list() == [True, True]
    fm = inp.famille_monthly.filter(pl.col("famille_id") == "caf:F1").sort("month")
    assert fm.filter(pl.col("month").is_in(months))["aah_versee"].to_list() == [500.0] * 3
    ind = evaluate(["aah_percue", "aah"], inp, M)["individu"].sort("person_id")
    # nobody's disability rate opens an AAH here: the dossier's AAH goes to the demandeur (a), as received
    assert ind["aah"].to_list() == [0.0] * 4
    received = evaluate(["rsa_ressources_individu"], inp, M)["individu"].sort("person_id")
    assert received["rsa_ressources_individu"][0] == pytest.approx(500.0)


def test_the_cf_paid_is_read_where_a_cf_payer_sent_its_payments(tables):
    """The CAF's payments say which complément familial a famille receives (none paid: none received, CSS art.
    R861-8); without a CF payer's extract the rules' computed CF stands in."""
    months = [dt.date(2026, m, 1) for m in (1, 2, 3)]
    paid = _with_paid(tables, [["famille", "F1", None, "cf", m, Decimal("188.00"), "caf", *_prov()] for m in months])
    inp = build_inputs(paid, M)
    assert inp.famille.sort("famille_id")["cf_versee_connue"].to_list() == [True, True]
    fm = inp.famille_monthly.sort("famille_id", "month")
    assert fm.filter(pl.col("famille_id") == "caf:F1", pl.col("month").is_in(months))["cf_versee"].to_list() == \
        [188.0] * 3
    assert fm.filter(pl.col("famille_id") == "caf:F2")["cf_versee"].to_list() == [0.0] * fm.filter(
        pl.col("famille_id") == "caf:F2").height  # the other famille: nothing paid, known
    only_cnav = _with_paid(tables, [["famille", "F2", None, "aspa", dt.date(2026, 3, 1), Decimal("100.00"), "cnav",
                                     *_prov("cnav")]])
    assert build_inputs(only_cnav, M).famille["cf_versee_connue"].to_list() == [False, False]


def test_the_aah_paid_is_unknown_without_the_payments_of_an_aah_payer(tables):
    # only the CNAV's ASPA payments came (the CAF and the MSA were left out): the rules compute the AAH
    only_cnav = _with_paid(tables, [["famille", "F2", None, "aspa", dt.date(2026, 3, 1), Decimal("100.00"), "cnav",
                                     *_prov("cnav")]])
    assert build_inputs(only_cnav, M).famille["aah_versee_connue"].to_list() == [False, False]
    without = {k: v for k, v in tables.items() if k != "benefits_paid"}
    assert build_inputs(without, M).famille["aah_versee_connue"].to_list() == [False, False]


def test_the_aspa_paid_to_a_person_is_the_familles_and_the_css_counts_it_received(tables):
    """The CNAV (and the MSA) report the ASPA per person (no famille unit): summed over the famille's members of the
    month, as ``aspa_versee``, known when an ASPA payer sent its payments. The CSS counts the ASPA received (CSS
    art. R861-8): nothing paid, nothing counted, where it counted the ASPA the rules compute (a pensioner of 70
    with 500 € of pension not taking her ASPA up was offered the CSS with participation, the free one being due)."""
    from nonrecours.engine import evaluate

    months = [dt.date(2026, m, 1) for m in (1, 2, 3)]
    paid = _with_paid(tables, [[None, None, "g", "aspa", m, Decimal("300.00"), "cnav", *_prov("cnav")]
                               for m in months])
    inp = build_inputs(paid, M)
    assert inp.famille.sort("famille_id")["aspa_versee_connue"].to_list() == [True, True]
    fm = inp.famille_monthly.filter(pl.col("famille_id") == "caf:F2").sort("month")
    assert fm.filter(pl.col("month").is_in(months))["aspa_versee"].to_list() == [300.0] * 3
    css = evaluate(["css_aspa_retenue", "aspa_percue", "aspa"], inp, M)["famille"].sort("famille_id")
    g = css.filter(pl.col("famille_id") == "caf:F2").row(0, named=True)
    assert g["aspa_percue"] == 0.0 and g["css_aspa_retenue"] == 0.0  # none paid in April: none received
    assert g["aspa"] > 0  # her ASPA due (the non-take-up detection reports)
    only_caf = {**tables}  # the CAF's payments alone: the ASPA paid unknown, the ASPA computed stands in
    assert build_inputs(only_caf, M).famille["aspa_versee_connue"].to_list() == [False, False]



def test_the_asi_paid_to_a_person_is_the_familles_and_the_css_counts_it_received(tables):
    """The CPAM (and the MSA) report the ASI per person, with the invalidity pension it tops up (CSS art. L815-24):
    summed over the famille's members of the month, as ``asi_versee``, known when an ASI payer sent its payments.
    The CSS counts the ASI received (CSS art. R861-8): an invalidity pensioner whose ASI the rules compute but who
    is paid none has none counted; one paid 200 € has 200 € less the 49 € abatement counted, whatever the rules
    compute. Without an ASI payer's payments the ASI computed stands in."""
    from nonrecours.engine import evaluate

    months = [dt.date(2026, m, 1) for m in (1, 2, 3)]
    pension = _frame(RESOURCES, [["b", m, "invalidity_pension", Decimal("600.00"), *_prov("cnam")]
                                 for m in (*months, M)])
    # b, 46, draws an invalidity pension of 600 €; a, his spouse, no income (her salary taken out)
    with_pension = {**tables, "resources": pl.concat([tables["resources"].filter(pl.col("person_id") != "a"),
                                                      pension])}
    paid = _with_paid(with_pension, [[None, None, "b", "asi", m, Decimal("200.00"), "cnam", *_prov("cnam")]
                                     for m in (*months, M)])
    inp = build_inputs(paid, M)
    assert inp.famille.sort("famille_id")["asi_versee_connue"].to_list() == [True, True]
    fm = inp.famille_monthly.filter(pl.col("famille_id") == "caf:F1").sort("month")
    assert fm.filter(pl.col("month").is_in(months))["asi_versee"].to_list() == [200.0] * 3
    targets = ["css_asi_retenue", "asi"]
    got = evaluate(targets, inp, M)["famille"].filter(pl.col("famille_id") == "caf:F1").row(0, named=True)
    assert got["asi"] == pytest.approx(100.5)  # his unemployment benefit of February counts too
    assert got["css_asi_retenue"] == pytest.approx(200.0 - 49.0)
    none_paid = _with_paid(with_pension, [[None, None, "g", "asi", M, Decimal("0.00"), "cnam", *_prov("cnam")]])
    got = evaluate(targets, build_inputs(none_paid, M), M)["famille"].filter(
        pl.col("famille_id") == "caf:F1").row(0, named=True)
    assert got["css_asi_retenue"] == 0.0
    # the CAF's payments alone: the ASI paid unknown, the ASI computed counted (if the rules compute one)
    computed = build_inputs(with_pension, M)
    assert computed.famille["asi_versee_connue"].to_list() == [False, False]
    got = evaluate(targets, computed, M)["famille"].filter(pl.col("famille_id") == "caf:F1").row(0, named=True)
    assert got["css_asi_retenue"] == pytest.approx(got["asi"] - 49.0)


def test_a_payers_extract_that_pays_no_one_says_none_is_paid(tables):
    """A small territory's CNAV file lists retirees none of whom draws the ASPA: its layout carries the ASPA paid
    (the workspace holds its payments file, empty), so the ASPA paid is known, none, and the CSS counts none (two
    widows lost their free CSS to the ASPA the rules compute, a tester's households, 5 December 2026). An agency
    whose extract is not among the tables (an exchange-value rerun without it) is not read so."""
    from nonrecours.core import CoreConfig

    assert build_inputs(tables, M).famille["aspa_versee_connue"].to_list() == [False, False]
    sent = build_inputs(tables, M, config=CoreConfig(payment_extracts=("caf", "cnav")))
    assert sent.famille["aspa_versee_connue"].to_list() == [True, True]
    assert sent.famille_monthly["aspa_versee"].drop_nulls().unique().to_list() == [0.0]
    absent = build_inputs(tables, M, config=CoreConfig(payment_extracts=("caf", "msa")))
    assert absent.famille["aspa_versee_connue"].to_list() == [False, False]


def test_the_aspa_paid_is_unknown_only_where_someone_may_be_of_its_age(tables):
    """Without an ASPA payer's payments, what a famille is paid of the ASPA is unknown only if a member has reached
    its earliest age (the legal retirement age, CSS art. L815-1 and R815-2) or has an unknown birth: the couple of
    46 and 47 with their child is paid none, which no question needs to settle (their RSA's questions asked it)."""
    core = build_month(tables, M)
    assert core.inputs.famille["aspa_versee_connue"].to_list() == [False, False]
    asked = core.unknowns.filter(pl.col("input") == "aspa_versee").get_column("id").to_list()
    assert asked == ["caf:F2"]  # g, born in 1940
    said = core.provenance.filter(pl.col("input") == "aspa_versee").select("id", "kind").sort("id").rows()
    assert said == [("caf:F1", "estimated"), ("caf:F2", "unknown")]


def test_each_payment_known_names_its_own_payers(tables):
    """A payment the core reads as known (an observed zero where no row lists the famille) comes from the payers of
    that benefit that sent their payments, not from every payer of the run: the AAH paid from the CAF, the ASPA
    paid from the CNAV (a caseworker reading « AAH versée (CNAV) » would look for it at the wrong agency)."""
    from nonrecours.core import build_month

    paid = _with_paid(tables, [["famille", "F1", None, "aah", dt.date(2026, 3, 1), Decimal("500.00"), "caf",
                                *_prov()],
                               [None, None, "g", "aspa", dt.date(2026, 3, 1), Decimal("300.00"), "cnav",
                                *_prov("cnav")]])
    prov = build_month(paid, M).provenance.filter(pl.col("entity") == "famille")
    agency = dict(prov.select("input", "source_agency").unique().iter_rows())
    assert agency["aah_versee"] == "caf" and agency["af"] == "caf" and agency["aide_logement_versee"] == "caf"
    assert agency["aspa_versee"] == "cnav"
    assert prov.group_by("input", "id").len()["len"].max() == 1  # one provenance per famille and input


def test_a_hosting_unknown_for_want_of_housing_is_not_said_observed(tables):
    """A fresh CAF composition whose dwelling no agency describes: whether the famille is housed at no cost is an
    unknown (0 / 0 / 1), and its provenance says « unknown », never « observed » by the CAF beside it."""
    from nonrecours.core import build_month

    core = build_month({k: v for k, v in tables.items() if k != "housing"}, M)
    hosted = pl.col("input") == "hosted_free_of_charge"
    unknown = core.unknowns.filter(hosted & (pl.col("id") == "caf:F1"))
    assert unknown.select("low", "central", "high").rows() == [(0.0, 0.0, 1.0)]
    prov = core.provenance.filter(hosted & (pl.col("id") == "caf:F1"))
    assert prov.select("kind", "source_agency").rows() == [("unknown", None)]
    assert core.provenance.filter(hosted & (pl.col("entity") == "famille")).group_by("id").len()["len"].max() == 1


def test_the_drm_is_the_first_source_of_monthly_resources_the_others_fall_back(tables):
    """Issue 12: the DRM (DSN salaries, PASRAU replacement incomes) is the core's first monthly source; the CAF's
    record 50 and France Travail fill a month the DRM has no row for."""
    extra = _frame(RESOURCES, [
        ["a", dt.date(2026, 3, 1), "salary_net", Decimal("1210.00"), *_prov("drm")],       # beside the CAF's 1200
        ["b", dt.date(2026, 3, 1), "unemployment_benefit", Decimal("905.00"), *_prov("drm")],
    ])
    with_drm = dict(tables, resources=pl.concat([tables["resources"], extra]))
    monthly = build_inputs(with_drm, M).individu_monthly

    def at(person: str, month: dt.date, col: str) -> tuple[float, str]:
        row = monthly.filter((pl.col("person_id") == person) & (pl.col("month") == month))
        return row[col].item(), row[f"{col}__source"].item()

    assert at("a", dt.date(2026, 3, 1), "salary_net") == (1210.0, "drm")               # DRM over the CAF
    assert at("b", dt.date(2026, 3, 1), "unemployment") == (905.0, "drm")
    assert at("b", dt.date(2026, 2, 1), "unemployment") == (900.5, "france_travail")    # no DRM row: fallback


def test_the_rsa_received_is_read_from_the_payments_and_the_receipts(tables):
    """CCH art. R822-17 reads the RSA « perçu »: ``rsa_percu`` is true in a month the CAF paid the famille its
    RSA (F1, March) or France Travail reports a member as « bénéficiaire du RSA » without an amount (g, of F2,
    in February); known (``rsa_percu_connu``) as the other payments are, when an RSA payer sent its payments."""
    from nonrecours.core import build_month, population_facts
    from nonrecours.core.inputs import with_payments
    from nonrecours.engine import evaluate
    from nonrecours.schemas import BENEFIT_RECEIPTS

    receipts = _frame(BENEFIT_RECEIPTS, [["g", "rsa", dt.date(2026, 2, 1), *_prov("france_travail")]])
    with_receipts = {**tables, "benefit_receipts": receipts}
    inp = build_inputs(with_receipts, M)
    assert inp.famille.sort("famille_id")["rsa_percu_connu"].to_list() == [True, True]
    received = (inp.famille_monthly.filter(pl.col("rsa_percu")).sort("famille_id")
                .select("famille_id", "month").rows())
    assert received == [("caf:F1", dt.date(2026, 3, 1)), ("caf:F2", dt.date(2026, 2, 1))]
    # F1 received it in March: its housing aid of April neutralises the parents' activity income
    fam = evaluate(["al_rsa_mois_precedent"], inp, M)["famille"].sort("famille_id")
    assert fam["al_rsa_mois_precedent"].to_list() == [True, False]
    # the synthetic truth's path (payments read again) gives the same inputs
    facts = population_facts(with_receipts, M)
    again = with_payments(build_month(tables, M, facts=facts).inputs, with_receipts, M, facts)
    assert again.famille_monthly.filter(pl.col("rsa_percu")).sort("famille_id").select(
        "famille_id", "month").rows() == received
    # no RSA payer's payments (the CNAV's only): unknown, the rules read the RSA they compute
    only_cnav = _with_paid(tables, [["famille", "F2", None, "aspa", dt.date(2026, 3, 1), Decimal("100.00"), "cnav",
                                     *_prov("cnav")]])
    assert build_inputs(only_cnav, M).famille["rsa_percu_connu"].to_list() == [False, False]


def test_a_member_of_62_or_more_makes_the_aspa_paid_unknown(tables):
    """The earliest age of the ASPA is 62, the age of retirement for inaptitude (CSS art. L351-1-5, R815-1), not
    the legal age of the generation (64 for those born from 1969): a member of 63 (born in January 1963) may be
    paid it, unfit for work, so the famille's ASPA paid is unknown; one of 61 leaves it estimated."""
    from nonrecours.core import build_month

    def aspa_paid_kind(born: dt.date) -> str:
        b = pl.col("person_id") == "b"
        birth = pl.when(b).then(pl.lit(born)).otherwise("birth_month").alias("birth_month")
        persons = tables["persons"].with_columns(birth)
        prov = build_month({**tables, "persons": persons}, M).provenance
        return prov.filter((pl.col("input") == "aspa_versee") & (pl.col("id") == "caf:F1"))["kind"].item()

    assert aspa_paid_kind(dt.date(1963, 1, 1)) == "unknown"
    assert aspa_paid_kind(dt.date(1965, 1, 1)) == "estimated"
