"""A payment of the ASPA or the ASI vouches for its payee's nationality or residence condition (CSS art. L816-1):
the payer checked it when granting the allowance. An ASI holder only the CPAM knows (its file sends no nationality)
was read, at the least favourable end, as a non-EEA national without a permit: an ASI of 0 € there, so an ASI paid
at 80 € against 214.86 € due came out « consistent » instead of an under-payment (an outside tester, 7 December
2026). The years of permit of a person paid either allowance in the last three months are at least ten in every
variant (``core.inputs._vetted_residence``)."""

from __future__ import annotations

import polars as pl
import pytest

from nonrecours.detection import DetectionConfig, core_month, detect

from .conftest import MONTH, MONTHS, Territory, benefit_row


def _territory(asi_paid: float | None) -> dict[str, pl.DataFrame]:
    """A single of 50 the CPAM alone knows (no nationality, no permit), a tenant with an invalidity pension of 700 €
    a month, paid ``asi_paid`` of ASI each month (None: no ASI row), and another insured person the CPAM pays an
    ASI of 50 €, so that its payments are in the run."""
    t = Territory()
    for name in ("inval", "other"):
        t.famille(name, age=50, agency="cnam")
        t.persons[-1]["nationality_group"] = None
        t.declare(name)
        t.resources += [{"person_id": f"p-{name}", "month": m, "kind": "invalidity_pension", "amount": 700.0,
                         "source_agency": "cnam"} for m in MONTHS]
    paid = {"inval": asi_paid, "other": 50.0}
    t.paid += [{"unit_kind": None, "unit_id": None, "person_id": f"p-{name}", "benefit": "asi", "month": m,
                "amount": amount, "source_agency": "cnam"}
               for name, amount in paid.items() if amount is not None for m in MONTHS]
    return t.tables()


def test_an_asi_paid_vouches_for_the_residence_condition_and_its_under_payment_shows() -> None:
    tables = _territory(80.0)
    core = core_month(tables, MONTH)
    permit = core.unknowns.filter((pl.col("input") == "residence_permit_years") & (pl.col("id") == "p-inval"))
    assert permit.select("low", "central", "high").rows() == [(10.0, 10.0, 10.0)]
    assert core.counts["persons_residence_vetted_by_payment"] == 2
    run = detect(core, tables, config=DetectionConfig(benefits=("asi",)))
    row = benefit_row(run, "inval", "asi")
    assert row["amount_low"] == pytest.approx(214.86, abs=0.01)  # 914.86 € less the pension, at every end
    assert row["status"] == "under_payment", row


def test_without_a_payment_the_residence_condition_stays_unknown() -> None:
    """Paid no ASI, the same person's permit stays unknown (0 at the least favourable end): the ASI is possible."""
    tables = _territory(None)
    core = core_month(tables, MONTH)
    permit = core.unknowns.filter((pl.col("input") == "residence_permit_years") & (pl.col("id") == "p-inval"))
    assert permit.get_column("low").to_list() == [0.0]
    row = benefit_row(detect(core, tables, config=DetectionConfig(benefits=("asi",))), "inval", "asi")
    assert row["amount_low"] == 0.0 and row["status"] == "non_take_up"
