"""Yearly benefits are judged on the payment already due (``Benefit.due_month``): in June 2026, the ARS due
in August 2025 (school year 2025-2026), with the children's ages then, against what was paid since; the ARS of
August 2026 is not yet due, only counted. Judging the coming payment against last year's made newly eligible
familles non-take-up and a second child turning six an under-payment."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from nonrecours.detection import DetectionConfig, core_month, detect
from nonrecours.schemas.benefits import CATALOGUE, benefit

from .conftest import MONTH, Territory

ARS = DetectionConfig(benefits=("ars",))
AUGUST_2025 = dt.date(2025, 8, 1)


def _child(t: Territory, name: str, k: int, born: dt.date) -> None:
    t.child(name, k, born)


def _territory(*, payments_from: dt.date = dt.date(2025, 6, 1)) -> Territory:
    t = Territory()
    t.famille("turns_six")            # only child 5 in 2025, 6 in 2026: first entitled to the August 2026 ARS
    _child(t, "turns_six", 0, dt.date(2020, 3, 1))
    t.famille("second_six")           # a child of 8 paid for in August 2025; a second one turns 6 in 2026
    _child(t, "second_six", 0, dt.date(2017, 3, 1))
    _child(t, "second_six", 1, dt.date(2020, 3, 1))
    t.famille("last_year")            # only child 17 in 2025 (lycée), 18 long before the 2026 school year
    _child(t, "last_year", 0, dt.date(2008, 3, 1))
    t.declare("last_year")            # its income of 2023 (N-2 of August 2025) declared: none
    t.famille("undeclared", salary=900.0)  # a child of 8 in 2025; the parent's income of 2023 no DGFiP row gives
    _child(t, "undeclared", 0, dt.date(2017, 3, 1))
    t.famille("old_payment")          # a child of 8, an ARS paid in July 2025: the school year before
    _child(t, "old_payment", 0, dt.date(2017, 3, 1))
    t.pay("old_payment", "ars", 420.0, [dt.date(2025, 7, 1)])
    t.famille("history", salary=900.0)  # the payer's history: an allocation paid every month held
    t.pay("history", "rsa", 600.0, [m for m in (dt.date(2025, 6 + k, 1) if k < 7 else dt.date(2026, k - 6, 1)
                                                for k in range(13))])
    t.paid = [p for p in t.paid if p["month"] >= payments_from]  # the payments the extracts hold
    return t


@pytest.fixture(scope="module")
def judged():
    t = _territory()
    # what the CAF paid in August 2025 for the child of 8 then: 89 % of the BMAF of April 2025 (478,16 €)
    t.pay("second_six", "ars", 425.60, [AUGUST_2025])
    tables = t.tables()
    return detect(core_month(tables, MONTH), tables, config=ARS)


def _unit(run, name: str) -> dict | None:
    rows = run.units.filter(pl.col("unit_id").str.ends_with(f":f-{name}") & (pl.col("benefit") == "ars"))
    return rows.row(0, named=True) if rows.height else None


def test_due_month_is_the_last_payment_month_at_or_before_the_month() -> None:
    ars = benefit("ars")
    assert ars.due_month(dt.date(2026, 6, 1)) == AUGUST_2025
    assert ars.due_month(dt.date(2026, 8, 1)) == dt.date(2026, 8, 1)
    assert ars.due_month(dt.date(2026, 12, 1)) == dt.date(2026, 8, 1)
    assert benefit("cheque_energie").due_month(dt.date(2026, 3, 1)) == dt.date(2025, 4, 1)
    assert benefit("rsa").due_month(MONTH) == MONTH
    assert all(b.payment_month for b in CATALOGUE if b.yearly)


def test_a_child_turning_six_next_school_year_is_not_yet_due(judged):
    u = _unit(judged, "turns_six")
    assert u is None or u["status"] == "not_entitled"  # no ARS was due in August 2025
    assert judged.flags.filter(pl.col("unit_id").str.ends_with(":f-turns_six")).is_empty()
    yearly = judged.summary["yearly"]["ars"]
    assert yearly["due_month"] == "2025-08" and yearly["judged"]
    assert yearly["not_yet_due"] >= 2  # turns_six and second_six are entitled to the August 2026 payment


def test_a_second_child_turning_six_is_not_an_under_payment(judged):
    u = _unit(judged, "second_six")
    assert u["receiving"] and u["status"] == "consistent"


def test_the_school_year_started_is_judged_with_last_years_ages(judged):
    u = _unit(judged, "last_year")  # 17 at the 2025 school year: the ARS due in August 2025, never paid
    assert (u["status"], u["grade"]) == ("non_take_up", "certain")
    flag = judged.flags.filter(pl.col("unit_id").str.ends_with(":f-last_year")).row(0, named=True)
    assert flag["month"] == MONTH  # contacted now, in this month's famille
    text = " ".join(flag["reasons"])
    assert "rentrée scolaire 2025-2026" in text and "versé depuis 08/2025 : 0,00 €" in text


def test_the_conditions_a_yearly_flag_names_are_those_of_the_month_it_was_judged_at(judged):
    """The child of 17 at the 2025 school year is 18 long before the 2026 one: June 2026's central values fail the
    ARS's child condition, August 2025's hold it, and the flag (judged on August 2025) must say it held."""
    from nonrecours.engine import evaluate

    flag = judged.flags.filter(pl.col("unit_id").str.ends_with(":f-last_year")).row(0, named=True)
    held = [r for r in flag["reasons"] if r.startswith("Conditions remplies")]
    assert held and "un enfant à charge de 6 à 18 ans à la rentrée scolaire" in held[0], flag["reasons"]
    assert "ressources de l'année N-2 sous le plafond" in held[0]
    # the same famille on June 2026's values: the child condition fails (why the due month's must be read)
    tables = _territory().tables()
    june = evaluate(["ars_annuelle"], core_month(tables, MONTH).inputs, MONTH, backend="polars",
                    missing_inputs="error")["famille"]
    col = next(c for c in june.columns if c.startswith("ars_annuelle__un_enfant"))
    assert june.filter(pl.col("famille_id").str.ends_with(":f-last_year")).item(0, col) is False


def test_an_ars_on_an_income_of_year_n2_no_agency_gives_is_possible_at_most(judged):
    """The ARS's ceiling is on the resources of year N-2 (CSS art. R543-6, R532-3). Estimated from 2025's salary
    (900 € a month) the famille is far under it, but the parent's income of 2023, which the DGFiP does not
    transmit, could be anything: the months' estimate is no transmitted fact, so possible (« probable » until 5
    December 2026: on France 100,000, 18 of the ARS's 54 probable flags so estimated were false); the famille with
    the DGFiP's 2023 is certain."""
    u = _unit(judged, "undeclared")
    assert (u["status"], u["grade"]) == ("non_take_up", "possible")
    assert u["entitled_central"] and not u["entitled_high"]
    flag = judged.flags.filter(pl.col("unit_id").str.ends_with(":f-undeclared")).row(0, named=True)
    assert "revenu_activite_imposable_n2" in flag["deciding_unknowns"]


def test_a_payment_before_the_month_due_belongs_to_the_year_before(judged):
    u = _unit(judged, "old_payment")
    assert not u["receiving"] and u["status"] == "non_take_up"


def test_without_payments_back_to_the_month_due_the_benefit_is_said_not_judged():
    tables = _territory(payments_from=dt.date(2025, 10, 1)).tables()
    run = detect(core_month(tables, MONTH), tables, config=ARS)
    yearly = run.summary["yearly"]["ars"]
    assert not yearly["judged"] and "2025-08" in yearly["reason"]
    assert yearly["not_yet_due"] >= 2  # counted, not dropped
    assert run.units.filter(pl.col("benefit") == "ars").is_empty()


def test_a_part_without_old_payments_is_judged_on_the_whole_populations_history():
    """One part of a partitioned run holds nobody paid back in August 2025: the history of the whole population
    (``history``) says whether the payment due then can be checked, so the part judges the ARS as a run in one
    pass does, instead of saying it cannot."""
    part = _territory(payments_from=dt.date(2025, 10, 1)).tables()
    whole = _territory().tables()
    from nonrecours.detection.detect import history_coverage

    history = history_coverage(whole, MONTH, ARS.benefits)
    assert history == {AUGUST_2025: True}
    run = detect(core_month(part, MONTH), part, config=ARS, history=history)
    assert run.summary["yearly"]["ars"]["judged"]
    u = _unit(run, "last_year")
    assert (u["status"], u["grade"]) == ("non_take_up", "certain")


def test_a_yearly_flag_names_the_unknowns_of_the_month_it_was_judged_at():
    """A parent the CNAM knows, whose salary the DRM reports from January 2026 only: in August 2025 their
    resources were unknown (no source then), in June 2026 they are not. The ARS due in August 2025 is judged on
    August 2025's values, so the unknowns that decide its flag are August 2025's (the salary among them), not
    June 2026's (before: 106 of the CI demo's 190 ARS flags named other unknowns, 20 possible ones none)."""
    t = Territory()
    t.famille("cnam_only", agency="cnam")
    t.child("cnam_only", 0, dt.date(2012, 3, 1))
    for row in t.members:  # the CNAM's famille, the child with the parent
        if row["person_id"] == "c-cnam_only-0":
            row["source_agency"] = "cnam"
    t.resources += [{"person_id": "p-cnam_only", "month": dt.date(2026, m, 1), "kind": "salary_net", "amount": 300.0,
                     "source_agency": "drm"} for m in range(1, 7)]
    t.famille("history")  # the CAF's payments reach back to the month due
    t.pay("history", "rsa", 600.0, [dt.date(2025, 6, 1)])
    tables = t.tables()
    now = core_month(tables, MONTH)
    then = core_month(tables, AUGUST_2025)
    salary = pl.col("input") == "salary_net"
    # June 2026: the DRM covers the salary, its months before January 2026 (its first) estimated from it
    pre = now.unknowns.filter(salary & (pl.col("id") == "p-cnam_only"))
    assert pre["month"].max() < dt.date(2026, 1, 1) and pre["reason"].str.starts_with("mois antérieur").all()
    assert not then.unknowns.filter(salary & (pl.col("id") == "p-cnam_only")
                                    & ~pl.col("reason").str.starts_with("mois antérieur")).is_empty()
    run = detect(now, tables, config=ARS)
    flag = run.flags.filter(pl.col("unit_id") == "cnam:f-cnam_only").row(0, named=True)
    assert (flag["status"], flag["grade"]) == ("non_take_up", "possible")
    assert {"salary_net", "pension_net", "unemployment"} <= set(flag["deciding_unknowns"]), flag["deciding_unknowns"]
    assert "salaire net" in next(r for r in flag["reasons"] if r.startswith("Données inconnues qui décident"))
