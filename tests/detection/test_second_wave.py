"""The second-wave benefits (housing aid, AAH, ASI, allocations familiales, ARS, chèque énergie) on hand-made
familles: statuses, the grade limits of the catalogue, yearly benefits, payments nobody reports."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from nonrecours.detection import DetectionConfig, core_month, detect
from nonrecours.schemas.benefits import CATALOGUE, benefit

from .conftest import MONTH, Territory

SECOND = tuple(b.code for b in CATALOGUE if b.asked not in ("rsa", "ppa", "aspa", "css"))
LAST_AUGUST = dt.date(2025, 8, 1)


def _children(t: Territory, name: str, ages: tuple[int, ...]) -> None:
    for k, age in enumerate(ages):
        pid = f"c-{name}-{k}"
        t.persons.append({"person_id": pid, "birth_month": dt.date(MONTH.year - age - 1, 3, 1), "sex": "M",
                          "nationality_group": "FR", "residence_permit_years": None, "depcom": "46042",
                          "disability_rate": 0.0, "student": False, "pregnant": False, "source_agency": "caf",
                          "death_month": None})
        for kind, role in (("famille", "enfant"), ("menage", "enfant"), ("foyer_fiscal", "personne_a_charge")):
            t.members.append({"person_id": pid, "unit_kind": kind, "unit_id": f"{kind[0]}-{name}", "role": role,
                              "valid_from": dt.date(2020, 1, 1), "valid_to": None, "source_agency": "caf"})


@pytest.fixture(scope="module")
def second():
    t = Territory()
    t.famille("kids")                                  # two school children, no income, tenant: nothing paid
    _children(t, "kids", (8, 12))
    t.declare("kids")                                  # the DGFiP's income of years N-2: none (known, not unknown)
    t.famille("kids_paid")                             # the same, paid everything the CAF pays
    _children(t, "kids_paid", (8, 12))
    t.declare("kids_paid")
    t.famille("no_housing", agency="drm", salary=600.0)  # known from the DRM only: no housing record, rent unknown
    t.housing = [h for h in t.housing if h["menage_id"] != "m-no_housing"]
    t.famille("disabled")                              # a persons row without the disability rate
    t.persons[-1]["disability_rate"] = None
    t.declare("disabled")                              # the rate alone unknown (the AAH reads year N-2 too)
    t.famille("history")                               # the CAF's payments held reach back to August 2025
    t.pay("history", "rsa", 600.0, [LAST_AUGUST])
    tables = t.tables()
    core = core_month(tables, MONTH)
    first = detect(core, tables, config=DetectionConfig(benefits=SECOND))
    due = first.units.filter(pl.col("unit_id").str.ends_with(":f-kids")).select("benefit", "amount_central")
    amounts = dict(due.iter_rows())
    for code in ("af", "aide_logement"):
        t.pay("kids_paid", code, amounts[code])
    t.pay("kids_paid", "ars", amounts["ars"] * 12, [LAST_AUGUST])
    tables = t.tables()
    return detect(core_month(tables, MONTH), tables, config=DetectionConfig(benefits=SECOND)), amounts


def _unit(run, name: str, code: str) -> dict:
    rows = run.units.filter(pl.col("unit_id").str.ends_with(f":f-{name}") & (pl.col("benefit") == code))
    assert rows.height == 1, (name, code)
    return rows.row(0, named=True)


def test_family_benefits_and_housing_aid_of_a_known_famille_are_certain(second):
    run, amounts = second
    for code in ("af", "aide_logement", "ars"):
        u = _unit(run, "kids", code)
        assert (u["status"], u["grade"]) == ("non_take_up", "certain"), code
        assert u["amount_central"] > 0
    # the ARS is yearly: its amounts are monthly equivalents (the year's / 12)
    assert 12 * amounts["ars"] > 300


def test_paid_family_benefits_are_consistent_and_the_august_ars_counts_all_year(second):
    run, amounts = second
    for code in ("af", "aide_logement", "ars"):
        u = _unit(run, "kids_paid", code)
        assert u["receiving"] and u["status"] == "consistent", code
    ars = _unit(run, "kids_paid", "ars")
    assert ars["paid"] == pytest.approx(amounts["ars"])  # paid last August, as a monthly equivalent
    assert run.summary["coherence"]["af"]["rate"] == 1.0


def test_unknown_rent_makes_housing_aid_probable_at_most(second):
    run, _ = second
    u = _unit(run, "no_housing", "aide_logement")
    assert u["grade"] in ("probable", "possible")
    flag = run.flags.filter(pl.col("unit_id").str.ends_with(":f-no_housing")
                            & (pl.col("benefit") == "aide_logement"))
    assert flag.height == 1 and "rent" in flag.get_column("deciding_unknowns")[0].to_list()


def test_unknown_disability_rate_makes_aah_possible_at_most(second):
    run, _ = second
    u = _unit(run, "disabled", "aah")
    assert u["grade"] in (None, "possible")
    assert u["entitled_high"]  # a rate at its high end would open the AAH


def test_payments_nobody_reports_are_unknown_not_zero(second):
    run, _ = second
    assert not benefit("cheque_energie").payers and run.summary["payments_known"]["cheque_energie"] is False
    assert run.summary["payments_known"]["af"] is True
    cheque = run.flags.filter(pl.col("benefit") == "cheque_energie")
    assert cheque.height > 0 and set(cheque.get_column("grade")) == {"possible"}
    assert all(any("non transmis" in line for line in r) for r in cheque.get_column("reasons").to_list())
    estimate = cheque.get_column("reasons")[0][0]
    assert "pour l'année" in estimate  # quoted as the yearly amount in a letter


def test_grade_caps_of_the_catalogue_lower_certain_flags() -> None:
    """A certain estimate becomes probable when the rent is unknown, possible when the disability rate is, and
    possible for a benefit whose payments are unknown; a famille without the unknown keeps its grade."""
    from nonrecours.core import UNKNOWNS_SCHEMA, CoreMonth
    from nonrecours.detection.detect import _cap_grades

    unknowns = pl.DataFrame([
        {"entity": "menage", "id": "m1", "month": None, "input": "rent", "low": 0.0, "central": 400.0,
         "high": 700.0, "reason": "loyer inconnu", "informed": False},
        {"entity": "individu", "id": "p2", "month": None, "input": "disability_rate", "low": 0.0, "central": 0.0,
         "high": 1.0, "reason": "taux inconnu", "informed": False}], schema=UNKNOWNS_SCHEMA)
    individu = pl.DataFrame({"person_id": ["p1", "p2", "p3"], "famille_id": ["f1", "f2", "f3"],
                             "menage_id": ["m1", "m2", "m3"], "foyer_fiscal_id": ["ff1", "ff2", "ff3"]})
    core = CoreMonth(month=MONTH, inputs=None, unknowns=unknowns)  # type: ignore[arg-type]
    grid = pl.DataFrame({"famille_id": ["f1", "f2", "f3"]}).join(
        pl.DataFrame({"benefit": ["aide_logement", "aah", "cheque_energie"]}), how="cross")
    units = grid.with_columns(pl.lit("certain").alias("grade"))
    capped = _cap_grades(units, core, individu, ("aide_logement", "aah", "cheque_energie"),
                         {"aide_logement": True, "aah": True, "cheque_energie": False})
    got = {(f, b): g for f, b, g in capped.select("famille_id", "benefit", "grade").iter_rows()}
    assert got[("f1", "aide_logement")] == "probable" and got[("f3", "aide_logement")] == "certain"
    assert got[("f2", "aah")] == "possible" and got[("f1", "aah")] == "certain"
    assert {got[(f, "cheque_energie")] for f in ("f1", "f2", "f3")} == {"possible"}


def test_asf_is_probable_at_most_whatever_the_data_and_paje_keeps_its_grade() -> None:
    """Whether the other parent contributes is in no agency's data: a certain ASF estimate is capped at
    probable (the catalogue's grade_cap), a possible one stays possible; the PAJE has no such cap."""
    from nonrecours.core import UNKNOWNS_SCHEMA, CoreMonth
    from nonrecours.detection.detect import _cap_grades

    assert benefit("asf").grade_cap is not None and benefit("asf").grade_cap[0] == "probable"
    core = CoreMonth(month=MONTH, inputs=None, unknowns=pl.DataFrame(schema=UNKNOWNS_SCHEMA))  # type: ignore[arg-type]
    individu = pl.DataFrame({"person_id": ["p1", "p2"], "famille_id": ["f1", "f2"], "menage_id": ["m1", "m2"],
                             "foyer_fiscal_id": ["ff1", "ff2"]})
    units = pl.DataFrame({"famille_id": ["f1", "f2", "f1"], "benefit": ["asf", "asf", "paje_base"],
                          "grade": ["certain", "possible", "certain"]})
    capped = _cap_grades(units, core, individu, ("asf", "paje_base"), {"asf": True, "paje_base": True})
    got = {(f, b): g for f, b, g in capped.select("famille_id", "benefit", "grade").iter_rows()}
    assert got == {("f1", "asf"): "probable", ("f2", "asf"): "possible", ("f1", "paje_base"): "certain"}


def test_a_colocataire_is_flagged_on_its_ceiling_and_a_blank_lease_widens_the_estimate():
    """Three single tenants of the CAF without income at the same rent: an ordinary dwelling and a colocataire
    (the CAF's record says so) are certain, the colocataire on its lower ceiling and forfait; a record that
    leaves the kind of lease blank (an extract from before the fields) is unknown: estimated as an ordinary
    dwelling, down to a room in a colocation's aid, and still certain (entitled whatever the lease)."""
    t = Territory()
    for name in ("plain", "shared", "blank"):
        t.famille(name)
    for h in t.housing:
        if h["menage_id"] == "m-shared":
            h["colocation"] = True
        if h["menage_id"] == "m-blank":
            h["colocation"] = h["chambre"] = None
    tables = t.tables()
    run = detect(core_month(tables, MONTH), tables, config=DetectionConfig(benefits=("aide_logement",)))
    plain, shared, blank = (_unit(run, n, "aide_logement") for n in ("plain", "shared", "blank"))
    assert (plain["grade"], shared["grade"]) == ("certain", "certain")
    assert 0 < shared["amount_central"] < plain["amount_central"]
    assert blank["grade"] == "certain" and blank["amount_central"] == plain["amount_central"]
    assert 0 < blank["amount_low"] < shared["amount_central"]  # a room in a colocation: 67.5 % of the ceiling
    assert blank["amount_high"] == plain["amount_central"] and plain["amount_low"] == plain["amount_central"]


def test_an_accedant_is_flagged_by_its_loan_date_and_an_unknown_date_is_only_possible():
    """Three accédants of the CAF without income, repaying 400 EUR a month in Cahors (zone 3), none paid a housing
    aid: a loan signed in 2015 opens the aid in accession (certain); one signed in 2021 opens none (no flag); a
    record that leaves the date blank is unknown: no aid at the centre, the aid of an old loan at the low end, so
    the flag is only possible, with the loan date among its deciding unknowns."""
    t = Territory()
    for name in ("old", "recent", "blank"):
        t.famille(name)
    dates = {"m-old": dt.date(2015, 3, 10), "m-recent": dt.date(2021, 9, 1), "m-blank": None}
    for h in t.housing:
        h.update(status="owner_with_loan", rent=400.0, colocation=None, chambre=None, loan_date=dates[h["menage_id"]])
    tables = t.tables()
    run = detect(core_month(tables, MONTH), tables, config=DetectionConfig(benefits=("aide_logement",)))
    old, blank = _unit(run, "old", "aide_logement"), _unit(run, "blank", "aide_logement")
    assert old["grade"] == "certain" and old["amount_central"] > 0
    assert blank["grade"] == "possible" and blank["amount_central"] == 0
    assert blank["amount_low"] == old["amount_central"] or blank["amount_high"] == old["amount_central"]
    recent = run.units.filter(pl.col("unit_id").str.ends_with(":f-recent") & (pl.col("benefit") == "aide_logement")
                              & pl.col("grade").is_not_null())
    assert recent.height == 0
