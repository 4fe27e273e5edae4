"""Non-salaried income the DGFiP declares: no rule reads it, so a means-tested flag of a famille that has some is
possible at most, and says why.

Found writing a territory by hand (5 December 2026): a farmer the MSA follows without any payment, whose 2024
declaration shows 36,000 € of agricultural profit, was flagged « RSA certain, 573.49 € a month » and « free CSS
certain »; a self-employed man of 30,000 € a year known to the DGFiP and the CNAM only, « RSA probable ». The RSA's,
the prime d'activité's and the CSS's resources count that income (CASF art. R262-6 and R262-18 s., CSS art. R844-1
s. and R861-8); our rules do not model it, so the estimate rests on resources short of one the administration
declares."""

from __future__ import annotations

import polars as pl
import pytest

from nonrecours.detection import core_month, detect

from .conftest import FIRST, MONTH, Territory, flag_row


def _declared(t: Territory, name: str, self_employment: dict[int, float]) -> None:
    """The DGFiP's declaration of the famille ``name``'s adult: no salary, the non-salaried income given per year
    (a year given as 0 declares the person without it)."""
    for year, amount in self_employment.items():
        t.annual.append({"person_id": f"p-{name}", "year": year, "kind": "salaries", "amount": 0.0,
                         "source_agency": "dgfip"})
        if amount:
            t.annual.append({"person_id": f"p-{name}", "year": year, "kind": "self_employment", "amount": amount,
                             "source_agency": "dgfip"})


@pytest.fixture(scope="module")
def run():  # type: ignore[no-untyped-def]
    t = Territory()
    for name in ("farmer", "paid_farmer", "paid_in_full", "plain", "stopped", "deficit"):
        t.famille(name, age=45)
    _declared(t, "farmer", {2024: 30_000.0, 2025: 36_000.0})
    # the CAF counts the profit and pays 100 € of RSA: our estimate, without it, is higher
    _declared(t, "paid_farmer", {2024: 5_400.0, 2025: 5_400.0})
    t.pay("paid_farmer", "rsa", 100.0)
    _declared(t, "paid_in_full", {2025: 2_400.0})
    t.pay("paid_in_full", "rsa", 600.0)
    _declared(t, "plain", {2024: 0.0, 2025: 0.0})
    _declared(t, "stopped", {2024: 12_000.0, 2025: 0.0})  # the activity stopped: its latest year declares none
    _declared(t, "deficit", {2025: -4_000.0})  # a loss lowers the resources: the estimate is not too high
    tables = t.tables()
    return detect(core_month(tables, MONTH), tables, config=FIRST)


def test_a_famille_with_declared_non_salaried_income_is_possible_at_most_and_told_why(run) -> None:  # type: ignore[no-untyped-def]
    flag = flag_row(run, "farmer", "rsa")
    assert flag["status"] == "non_take_up"
    assert flag["grade"] == "possible"
    assert flag["reasons"][1] == (
        "Signalement ramené à « possible » : la DGFiP déclare des revenus non salariés d'un membre du foyer (2025 : "
        "36 000,00 € pour l'année), que ce calcul ne compte pas : les ressources retenues sont incomplètes, à "
        "vérifier avant tout contact.")
    assert run.summary["downgraded_by_self_employment"]["rsa"] == 2


def test_an_under_payment_of_such_a_famille_is_possible_at_most_too(run) -> None:  # type: ignore[no-untyped-def]
    flag = flag_row(run, "paid_farmer", "rsa")
    assert flag["status"] == "under_payment"
    assert flag["paid"] == 100.0
    assert flag["grade"] == "possible"
    assert flag["reasons"][1].startswith("Signalement ramené à « possible » : la DGFiP déclare des revenus non "
                                         "salariés d'un membre du foyer (2025 : 5 400,00 € pour l'année)")


def test_a_paid_unit_of_such_a_famille_is_not_confirmed_and_not_counted(run) -> None:  # type: ignore[no-untyped-def]
    """The rates weigh each coverage's flags by the share of its paid units our data confirm (certain or
    probable, ``detection.rates``): a paid unit whose resources miss the declared income is not one of them."""
    unit = run.units.filter(pl.col("unit_id").str.ends_with(":f-paid_in_full") & (pl.col("benefit") == "rsa")).row(
        0, named=True)
    assert unit["status"] == "consistent" and unit["grade"] == "possible"
    rsa = run.flags.filter(pl.col("benefit") == "rsa")
    assert rsa.filter(pl.col("unit_id").str.ends_with(":f-paid_in_full")).is_empty()


@pytest.mark.parametrize("name", ["plain", "stopped", "deficit"])
def test_no_cap_without_positive_non_salaried_income_in_the_latest_year(run, name: str) -> None:  # type: ignore[no-untyped-def]
    flag = flag_row(run, name, "rsa")
    assert flag["grade"] in ("certain", "probable")
    assert not any("revenus non salariés" in r for r in flag["reasons"])


def test_the_count_covers_the_means_tested_benefits_only(run) -> None:  # type: ignore[no-untyped-def]
    assert set(run.summary["downgraded_by_self_employment"]) == {"rsa", "ppa", "aspa", "css_free",
                                                                 "css_participation"}
    # the CSS's payments are not in this territory (possible at most already: not counted again)
    assert sum(run.summary["downgraded_by_self_employment"].values()) == 2
