"""Non-salaried income the DGFiP declares: the RSA, the prime d'activité and the CSS count the last yearly profit
known over twelve months, so such a famille's flags are graded on it like any other resource.

Found writing a territory by hand (5 December 2026): a farmer the MSA follows without any payment, whose 2025
declaration shows 36,000 € of agricultural profit, was flagged « RSA certain, 573.49 € a month » and « free CSS
certain »: no rule read that income, which the RSA's, the prime d'activité's and the CSS's resources count (CASF art.
R262-18 s., CSS art. R844-1 and R861-8). Capped at « possible » first (stop 61); since the profit is an engine input
(``revenus_non_salaries_connus``: year N-1's, else N-2's), counted."""

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
    for name in ("farmer", "paid_farmer", "paid_in_full", "plain", "stopped", "deficit", "older"):
        t.famille(name, age=45)
    _declared(t, "farmer", {2024: 30_000.0, 2025: 36_000.0})
    # the CAF counts the profit and pays 100 € of RSA
    _declared(t, "paid_farmer", {2024: 5_400.0, 2025: 5_400.0})
    t.pay("paid_farmer", "rsa", 100.0)
    _declared(t, "paid_in_full", {2025: 2_400.0})
    t.pay("paid_in_full", "rsa", 600.0)
    _declared(t, "plain", {2024: 0.0, 2025: 0.0})
    _declared(t, "stopped", {2024: 12_000.0, 2025: 0.0})  # the activity stopped: its latest year declares none
    _declared(t, "deficit", {2025: -4_000.0})  # a loss counts for zero
    _declared(t, "older", {2024: 3_600.0})  # year N-1 not declared: N-2's profit is the last known
    tables = t.tables()
    return detect(core_month(tables, MONTH), tables, config=FIRST)


def _unit(run, name: str, benefit: str) -> dict:  # type: ignore[no-untyped-def]
    return run.units.filter(pl.col("unit_id").str.ends_with(f":f-{name}") & (pl.col("benefit") == benefit)).row(
        0, named=True)


def test_a_profit_above_the_ceilings_takes_the_rsa_and_the_css_away(run) -> None:  # type: ignore[no-untyped-def]
    for benefit in ("rsa", "ppa", "css_free"):
        assert _unit(run, "farmer", benefit)["status"] == "not_entitled", benefit
    assert run.flags.filter(pl.col("unit_id").str.ends_with(":f-farmer")).is_empty()


@pytest.mark.parametrize(("name", "monthly"), [("paid_farmer", 450.0), ("paid_in_full", 200.0), ("older", 300.0),
                                               ("stopped", 0.0), ("deficit", 0.0)])
def test_the_last_yearly_profit_known_counts_a_twelfth_a_month(run, name: str, monthly: float) -> None:  # type: ignore[no-untyped-def]
    """The RSA falls by the profit over twelve months (no other resource; the same housing), whatever the grade."""
    plain = _unit(run, "plain", "rsa")["amount_central"]
    unit = _unit(run, name, "rsa")
    assert unit["amount_central"] == pytest.approx(plain - monthly, abs=0.01)
    assert unit["amount_low"] == unit["amount_central"]  # the profit is known: no range
    assert unit["grade"] in ("certain", "probable")


def test_a_payment_that_counts_the_profit_is_consistent(run) -> None:  # type: ignore[no-untyped-def]
    assert _unit(run, "paid_farmer", "rsa")["status"] == "consistent"
    assert _unit(run, "paid_in_full", "rsa")["status"] == "consistent"
    assert run.flags.filter(pl.col("unit_id").str.ends_with(":f-paid_in_full") & (pl.col("benefit") == "rsa")
                            ).is_empty()


def test_the_prime_d_activite_of_a_non_salaried_worker(run) -> None:  # type: ignore[no-untyped-def]
    """The profit is activity income (CSS art. L842-4): a prime d'activité, on the same profit in each of the three
    months; none without activity."""
    flag = flag_row(run, "paid_farmer", "ppa")
    assert flag["status"] == "non_take_up" and flag["grade"] in ("certain", "probable")
    assert flag["amount_central"] > 0
    assert _unit(run, "plain", "ppa")["status"] == "not_entitled"


def test_no_cap_on_the_benefits_that_count_the_profit(run) -> None:  # type: ignore[no-untyped-def]
    assert set(run.summary["downgraded_by_self_employment"]) == {"rsa", "ppa", "aspa", "css_free",
                                                                 "css_participation"}
    assert sum(run.summary["downgraded_by_self_employment"].values()) == 0
    assert not any("revenus non salariés" in r for rs in run.flags.get_column("reasons").to_list() for r in rs)


def test_a_flag_resting_on_a_declared_profit_never_says_no_income_was_sent(run) -> None:  # type: ignore[no-untyped-def]
    """The prime d'activité of a farmer whose only income is the DGFiP's profit said « Aucun revenu transmis par les
    organismes pour les mois de référence » beside « Données utilisées : derniers bénéfices non salariés connus
    (DGFiP) » (probe5_ext, 6 December 2026): a profit is a resource transmitted."""
    reasons = " ".join(flag_row(run, "paid_farmer", "ppa")["reasons"])
    assert "derniers bénéfices non salariés connus (DGFiP" in reasons
    assert "Aucun revenu transmis" not in reasons
