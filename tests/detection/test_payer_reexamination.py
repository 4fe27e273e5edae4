"""Two facts of the payer's own extract that a flag must not contradict (issue 8, precision of the CI demo):

- the housing aid is re-examined by its payer every three months, and for nine months after a re-examination
  that gave nothing, without a new claim (CCH art. R823-6, al. 3): a famille the CAF paid it in those months and
  pays nothing now is no non-take-up, whatever our estimate says (it rests on less data than the CAF's);
- a famille the CAF pays the AAH to has a disabled adult: a member the CAF's extract does not list (a partner
  found on the DGFiP's joint declaration) may be that adult, so their disability rate is unknown, not the
  informed 0 of someone no AAH payer pays anything to.

Both were traced on the CI demo (20,000 persons): a 5 € housing aid the CAF had stopped in May, flagged certain
from a month of resources before the extract's window; a prime d'activité flagged probable while the CAF paid the
famille an AAH that counts in its resources."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from nonrecours.detection import DetectionConfig, core_month, detect
from nonrecours.engine.plan import add_months

from .conftest import MONTH, Territory

HOUSING = DetectionConfig(benefits=("rsa", "aide_logement"))


def _housing_territory() -> dict[str, pl.DataFrame]:
    t = Territory()
    t.famille("never")                               # no income, tenant, never paid: certain non-take-up
    t.famille("stopped")                             # paid the housing aid until March, nothing since
    t.pay("stopped", "aide_logement", 280.0, [add_months(MONTH, -k) for k in (5, 4, 3)])
    t.pay("stopped", "rsa", 600.0, [add_months(MONTH, -k) for k in (5, 4, 3)])
    t.famille("long_ago")                            # last paid in August 2025: ten months before June
    t.pay("long_ago", "aide_logement", 280.0, [dt.date(2025, 8, 1)])
    t.famille("paid")                                # paid this month: consistent
    t.pay("paid", "aide_logement", 280.0, [add_months(MONTH, -1), MONTH])
    return t.tables()


def _unit(run, name: str, code: str) -> dict:
    rows = run.units.filter(pl.col("unit_id").str.ends_with(f":f-{name}") & (pl.col("benefit") == code))
    assert rows.height == 1, (name, code)
    return rows.row(0, named=True)


@pytest.fixture(scope="module")
def housing():
    tables = _housing_territory()
    core = core_month(tables, MONTH)
    return {b: detect(core, tables, backend=b, config=HOUSING) for b in ("polars", "duckdb")}


def test_a_housing_aid_the_payer_stopped_within_nine_months_is_possible(housing):
    run = housing["polars"]
    never, stopped = _unit(run, "never", "aide_logement"), _unit(run, "stopped", "aide_logement")
    assert (never["status"], never["grade"]) == ("non_take_up", "certain")
    # the same situation: entitled on every value, but the CAF itself stopped paying in March
    assert stopped["entitled_low"] and stopped["entitled_central"] and stopped["entitled_high"]
    assert (stopped["status"], stopped["grade"]) == ("non_take_up", "possible")
    line = run.flags.filter(pl.col("unit_id").str.ends_with(":f-stopped")
                            & (pl.col("benefit") == "aide_logement")).row(0, named=True)["reasons"]
    assert any("03/2026" in r and "R823-6" in r for r in line)
    assert run.summary["downgraded_by_payer_reexamination"] == {"aide_logement": 1}


def test_beyond_nine_months_and_for_a_benefit_claimed_anew_the_stop_stays_a_non_take_up(housing):
    run = housing["polars"]
    # the nine months are over: a new claim is needed (R823-6, al. 4), so not claiming is non-take-up again
    assert _unit(run, "long_ago", "aide_logement")["grade"] == "certain"
    # the RSA stopped the same months: its quarterly declaration is the person's to return, so it stays a non-take-up
    # (probable: the DGFiP declares nobody here, the profit is unknown)
    assert (_unit(run, "stopped", "rsa")["status"], _unit(run, "stopped", "rsa")["grade"]) == ("non_take_up",
                                                                                               "probable")
    assert _unit(run, "paid", "aide_logement")["status"] == "consistent"


def test_both_backends_give_the_same_flags(housing):
    cols = ["unit_id", "benefit", "status", "grade", "amount_central"]
    a, b = (housing[k].flags.select(cols).sort("unit_id", "benefit") for k in ("polars", "duckdb"))
    assert a.equals(b)
    assert housing["duckdb"].summary["downgraded_by_payer_reexamination"] == {"aide_logement": 1}


def _aah_territory(aah_paid: bool) -> dict[str, pl.DataFrame]:
    """A working demandeur the CAF lists alone (the conjoint's row lost), the conjoint found on the couple's joint
    declaration at the DGFiP, which sends no disability rate; the CAF pays the famille the AAH or not."""
    t = Territory()
    t.famille("couple", salary=1400.0)
    conjoint = {**t.persons[0], "person_id": "p-couple-b", "sex": "M", "disability_rate": None, "student": None,
                "pregnant": None, "nationality_group": None, "born_in_france": True, "source_agency": "dgfip"}
    t.persons.append(conjoint)
    # the DGFiP's joint declaration, one membership row per income year as its connector writes them
    t.members = [m for m in t.members if not (m["unit_kind"] == "foyer_fiscal" and m["person_id"] == "p-couple")]
    for pid in ("p-couple", "p-couple-b"):
        for year in (2024, 2025):
            t.members.append({"person_id": pid, "unit_kind": "foyer_fiscal", "unit_id": "f-couple", "role": "declarant",
                              "valid_from": dt.date(year, 1, 1), "valid_to": None, "source_agency": "dgfip"})
    t.famille("neighbour")                           # the CAF sends its payments: a famille absent is paid none
    t.pay("neighbour", "rsa", 640.0)
    if aah_paid:
        t.pay("couple", "aah", 1041.59, [add_months(MONTH, -k) for k in range(4, -1, -1)])
    tables = t.tables()
    # the DGFiP's yearly income of the couple's joint declaration (the conjoint declared none: 0, not unknown)
    tables["annual_income"] = pl.DataFrame(
        {"person_id": ["p-couple", "p-couple"], "year": [2024, 2025], "kind": ["salaries", "salaries"],
         "amount": [15500.0, 15600.0], "source_agency": ["dgfip"] * 2, "extract_id": ["dgfip"] * 2,
         "extract_date": [dt.date(2026, 6, 28)] * 2}, schema_overrides={"year": pl.Int16})
    return tables


@pytest.mark.parametrize("aah_paid", [False, True])
def test_a_member_the_aah_payer_does_not_list_in_a_famille_it_pays_the_aah_has_an_unknown_rate(aah_paid):
    core = core_month(_aah_territory(aah_paid), MONTH)
    rate = core.unknowns.filter((pl.col("id") == "p-couple-b") & (pl.col("input") == "disability_rate"))
    assert rate.height == 1
    row = rate.row(0, named=True)
    assert (row["low"], row["central"], row["high"]) == (0.0, 0.0, 1.0)
    # no AAH paid: the rate is an informed 0 (the CAF lists every member of the familles it pays the AAH to);
    # paid: the premise fails, the central 0 is a convention and the reason says why
    assert row["informed"] is (not aah_paid)
    assert ("AAH versée au foyer" in row["reason"]) is aah_paid
    assert core.counts["persons_rate_unknown_in_famille_paid_aah"] == int(aah_paid)
    # the demandeur's rate is the CAF's own (0): never unknown
    assert core.unknowns.filter((pl.col("id") == "p-couple") & (pl.col("input") == "disability_rate")).is_empty()


@pytest.mark.slow
def test_the_prime_d_activite_of_a_famille_paid_the_aah_rests_on_a_convention_on_both_backends():
    """The working demandeur's prime d'activité is due on the central values either way; with no AAH paid the
    conjoint's rate 0 is informed (the flag certain here: no value of the rate takes the right away), with the
    AAH paid to the famille it is a convention (possible: the AAH may be the conjoint's and count in the
    famille's resources)."""
    grades = {}
    for aah_paid in (False, True):
        tables = _aah_territory(aah_paid)
        core = core_month(tables, MONTH)
        runs = {b: detect(core, tables, backend=b, config=DetectionConfig(benefits=("ppa",)))
                for b in ("polars", "duckdb")}
        cols = ["unit_id", "benefit", "status", "grade", "amount_low", "amount_central", "amount_high"]
        a, b = (runs[k].units.select(cols).sort("unit_id") for k in ("polars", "duckdb"))
        assert a.equals(b)
        u = _unit(runs["polars"], "couple", "ppa")
        assert u["status"] == "non_take_up" and u["entitled_central"]
        grades[aah_paid] = u["grade"]
    assert grades == {False: "certain", True: "possible"}
