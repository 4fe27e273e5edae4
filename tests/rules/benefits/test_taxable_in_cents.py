"""A month's taxable salary estimated from the net one is a payslip's amount, in cents (CGI art. 79 and 83; the
DRM's monthly resources are in cents): the ratio is applied to each month and rounded there, half away from zero
as the rules round, and a yearly base sums those months. The housing aid's base is rounded up to the hundred euros
(CCH art. D822-20), so it can turn on the cent: seed 11800 of the differential run against OpenFisca-France
176.1.8 (docs/oracle_disagreements.md, "Fresh situations, seed 11800 at 10,000")."""

from __future__ import annotations

import datetime as dt

import pytest

from nonrecours.engine import Inputs, evaluate
from nonrecours.simulation import load_situations, simulate
from nonrecours.simulation.export_openfisca import export_situations


def _d11800_892(salary: float) -> dict:
    """A married couple of 29 and 20 in Guadeloupe repaying a loan of 2016 (459.76 EUR a month); the younger
    spouse earns ``salary`` net a month."""
    return {"id": "d11800-892", "month": "2024-12", "depcom": "97105", "couple": "married",
            "housing": {"status": "owner_with_loan", "rent": 459.76, "loan_date": "2016-10-01"},
            "persons": [{"role": "parent", "age": 29},
                        {"role": "parent", "age": 20, "monthly": {"salary_net": salary}}],
            "benefits_paid": {"main": {"af": 0.0, "paje_base": 0.0, "asf": 0.0, "aide_logement": 137.0}}}


def _evaluate(sits: list[dict], rules: list[str], entity: str):  # type: ignore[no-untyped-def]
    batch = load_situations(sits)
    assert not batch.errors
    first = dt.date.fromisoformat(f"{sits[0]['month']}-01")
    return batch, evaluate(rules, Inputs(**batch.frames_for_month(first)), first, missing_inputs="error")[entity]


def test_the_housing_aids_base_sums_twelve_payslips_in_cents() -> None:
    """812.89 EUR net is 842.58 EUR taxable a month (x 1.036529 = 842.584..., to the cent): 10,110.96 EUR over the
    twelve months, less the 10 % deduction (1,011 EUR) 9,099.96 EUR, rounded up to 9,100 EUR, and an aid of 137
    EUR, as OpenFisca-France computes it from the same monthly amounts (and as a declaration in whole euros gives
    it: 10,111 - 1,011). The unrounded product over the year (10,111.0087 EUR) gave 9,100.01 EUR, rounded up to
    9,200 EUR, and 135 EUR."""
    _, fam = _evaluate([_d11800_892(812.89)], ["aide_logement_base_ressources", "aide_logement"], "famille")
    row = fam.row(0, named=True)
    assert row["aide_logement_base_ressources"] == 9100.0
    assert row["aide_logement"] == 137.0
    (rec,) = simulate([_d11800_892(812.89)]).records()
    assert rec["aide_logement"] == 137.0


@pytest.mark.parametrize(("net", "taxable"), [(812.89, 842.58), (819.0, 848.92), (1234.57, 1279.67),
                                              (5000.0, 5182.65)])  # 5 182.645: a half cent, rounded up
def test_each_months_taxable_salary_is_rounded_to_the_cent(net: float, taxable: float) -> None:
    """The rules' estimate, the N-2 income a situation states for the family benefits (CSS art. R532-3) and the
    amount sent to OpenFisca-France are the same payslip, rounded the same way."""
    batch, ind = _evaluate([_d11800_892(net)], ["salaire_imposable_estime", "revenu_activite_n2"], "individu")
    earner = ind.sort("salaire_imposable_estime")[-1:]  # the spouse who earns
    assert earner["salaire_imposable_estime"].to_list() == [taxable]
    assert earner["revenu_activite_n2"].to_list() == [pytest.approx(12 * taxable, abs=1e-6)]
    export = export_situations(batch.frames_for_month(dt.date(2024, 12, 1)), dt.date(2024, 12, 1))
    (situation,) = export.situations
    sent = [p["salaire_imposable"] for p in situation["individus"].values() if "salaire_imposable" in p]
    assert sent and set(sent[0].values()) == {taxable}
