"""The revenu fiscal de référence of a person the DGFiP does not report for year N-2 is estimated from the months,
as every other N-2 resource (``revenu_activite_n2``, ``pensions_n2``), never taken as zero. It was zero: the
synthetic truth (which has no DGFiP yearly table) then found every household occupying its dwelling entitled to
the chèque énergie's first tranche (on a 300-person demo, seed 4, every truth amount, 134 familles × 13 months,
was 194, 240 or 277 €),
and detection found a person the DGFiP does not know entitled whatever their salary."""

from __future__ import annotations

import pytest
from tests.detection.conftest import MONTH, Territory

from nonrecours.detection import core_month
from nonrecours.engine import evaluate
from nonrecours.rules.benefits.common import SALARY_TAXABLE


@pytest.mark.parametrize("salary", [0.0, 900.0, 2500.0])
def test_the_rfr_without_the_dgfips_year_is_the_months_estimate(salary):
    t = Territory()
    t.famille("worker", salary=salary)
    tables = t.tables()
    assert "annual_income" not in tables  # no DGFiP yearly amounts: revenus_n2_renseignes is false
    core = core_month(tables, MONTH)
    fam = evaluate(["cheque_energie_rfr", "cheque_energie_annuel"], core.inputs, MONTH, backend="polars",
                   missing_inputs="error")["famille"].row(0, named=True)
    taxable = 12 * salary * SALARY_TAXABLE
    # less the 10 % deduction for professional expenses (its floor and ceiling: within 500 € of 10 % here)
    expected = taxable * 0.9
    assert fam["cheque_energie_rfr"] == pytest.approx(expected, abs=500.0)
    if salary >= 2500:  # 2 500 € a month alone: about 28 000 € of RFR per unit, far over the ceiling
        assert fam["cheque_energie_annuel"] == 0.0
    else:
        assert fam["cheque_energie_annuel"] > 0.0
