"""A member an agency knows as working on their own account (the MSA's farm operator, ``persons.self_employed``)
whom the DGFiP declares for neither of the two years before the month: their profit is unknown, not zero.

Before: the MSA's ``STATUT`` was read and dropped; a farmer the DGFiP does not declare (no return filed yet, a NIR
it failed to match) had no income anywhere, and his famille was flagged « RSA certain » at the full amount. Now
every means-tested flag of his famille is possible at most and says why; a farmer the DGFiP declares (without
profit: none counted, with one: counted, ``test_self_employment.py``) and a farm worker are not capped by it."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from nonrecours.detection import core_month, detect

from .conftest import FIRST, MONTH, Territory, flag_row

SELF_EMPLOYED = {"p-farmer": True, "p-declared": True, "p-worker": False, "p-profit": True, "p-member": True,
                 "p-deficit": True}


@pytest.fixture(scope="module")
def run():  # type: ignore[no-untyped-def]
    t = Territory()
    for name in ("farmer", "declared", "worker", "profit", "member", "deficit"):
        t.famille(name, age=45, agency="msa")
    # the DGFiP declares the farmer of « declared » for 2025 without any income, « profit » with 3,000 € of it
    t.annual.append({"person_id": "p-declared", "year": MONTH.year - 1, "kind": "salaries", "amount": 0.0,
                     "source_agency": "dgfip"})
    t.annual.append({"person_id": "p-profit", "year": MONTH.year - 1, "kind": "self_employment", "amount": 3_000.0,
                     "source_agency": "dgfip"})
    # « member »: in a DGFiP foyer of 2024 and no income row (its connector writes no zero): declared, nothing
    t.members.append({"person_id": "p-member", "unit_kind": "foyer_fiscal", "unit_id": "dgfip-foyer-member",
                      "role": "declarant", "valid_from": dt.date(MONTH.year - 2, 1, 1), "valid_to": None,
                      "source_agency": "dgfip"})
    # « deficit »: a declared loss lowers the resources, no cap of either kind
    t.annual.append({"person_id": "p-deficit", "year": MONTH.year - 1, "kind": "self_employment", "amount": -2_000.0,
                     "source_agency": "dgfip"})
    tables = t.tables()
    tables["persons"] = tables["persons"].with_columns(
        pl.col("person_id").replace_strict(SELF_EMPLOYED, default=None, return_dtype=pl.Boolean)
        .alias("self_employed"))
    return detect(core_month(tables, MONTH), tables, config=FIRST)


@pytest.mark.parametrize("benefit", ["rsa", "css_free"])
def test_an_undeclared_farmer_s_famille_is_possible_at_most_and_told_why(run, benefit: str) -> None:  # type: ignore[no-untyped-def]
    flag = flag_row(run, "farmer", benefit)
    assert flag["status"] == "non_take_up"
    assert flag["grade"] == "possible"
    assert flag["reasons"][1] == (
        "Signalement ramené à « possible » : la MSA connaît un membre du foyer comme travaillant à son compte "
        "(exploitant), et la DGFiP ne transmet sa déclaration de revenus d'aucune des deux années précédentes : ses "
        "revenus non salariés sont inconnus, ce calcul n'en compte aucun ; à vérifier avant tout contact.")


def test_a_declared_farmer_and_a_farm_worker_are_not_capped_by_the_status(run) -> None:  # type: ignore[no-untyped-def]
    for name in ("declared", "worker", "member", "deficit"):
        flag = flag_row(run, name, "rsa")
        assert flag["grade"] in ("certain", "probable"), name
        assert not any("travaillant à son compte" in r for r in flag["reasons"]), name


def test_a_declared_profit_is_counted_not_capped(run) -> None:  # type: ignore[no-untyped-def]
    flag, plain = flag_row(run, "profit", "rsa"), flag_row(run, "declared", "rsa")
    assert flag["grade"] in ("certain", "probable")
    assert flag["amount_central"] == pytest.approx(plain["amount_central"] - 3_000.0 / 12, abs=0.01)
    # no cap line; the profit declared is a fact used (quoted since « Données utilisées » leaves out zeros and states)
    assert not any("non salariés" in r for r in flag["reasons"] if not r.startswith("Données utilisées"))
    assert any(r.startswith("Données utilisées") and "bénéfices non salariés connus (DGFiP" in r
               for r in flag["reasons"])


def test_the_summary_counts_each_cap_apart(run) -> None:  # type: ignore[no-untyped-def]
    undeclared = run.summary["downgraded_by_self_employment_undeclared"]
    assert set(undeclared) == {"rsa", "ppa", "aspa", "css_free", "css_participation"}
    assert undeclared["rsa"] == 1 and undeclared["css_free"] == 1
    assert run.summary["downgraded_by_self_employment"]["rsa"] == 0
