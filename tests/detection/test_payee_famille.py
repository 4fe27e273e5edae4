"""A dossier's payment on a line naming its payee, the dossier's member lines lost.

The MSA pays the RSA and the prime d'activité on the insured person's line (docs/connectors/msa.md). Found by an
outside tester from the docs alone (probe5_ext, 6 December 2026): three MSA dossiers whose member lines were all
quarantined (a blank STATUT, an impossible birth date) or absent paid their insured person the RSA every month on
lines naming him; the core held no famille of the dossier, the payment was read as nobody's, and the payee (known to
the CPAM) was flagged ``non_take_up probable`` and put on the MSA's own outreach list. The payment now goes to the
famille the core builds for its payee; a line naming nobody (the CAF's record 30) still changes nothing."""

from __future__ import annotations

import polars as pl
import pytest

from nonrecours.core.inputs import on_payee_famille
from nonrecours.detection import core_month, detect

from .conftest import FIRST, MONTH, MONTHS, Territory, benefit_row

RSA_PAID = 573.49


def _tables() -> dict[str, pl.DataFrame]:
    """Singles of 40, no income, tenants, each known to the CPAM only (its famille built from its listing):
    ``named`` paid the RSA by the MSA on dossier MF37 whose member lines are lost, each line naming him; ``nameless``
    paid on dossier MF38 on lines naming nobody; ``unpaid`` paid nothing. ``farmer``: an MSA dossier of its own, paid
    on it (its member lines kept), so the MSA is a payer whose dossiers the core holds."""
    t = Territory()
    for name in ("named", "nameless", "unpaid"):
        t.famille(name, agency="cnam")
    t.famille("farmer", agency="msa")
    # the CPAM lists no famille: the core builds ``named``'s own (its id is none of an agency's dossiers)
    t.members = [m for m in t.members if not (m["person_id"] == "p-named" and m["unit_kind"] == "famille")]
    for m in MONTHS:
        for unit, person in (("MF37", "p-named"), ("MF38", None), ("f-farmer", "p-farmer")):
            t.paid.append({"unit_kind": "famille", "unit_id": unit, "person_id": person, "benefit": "rsa",
                           "month": m, "amount": RSA_PAID, "source_agency": "msa"})
    return t.tables()


@pytest.fixture(scope="module")
def run():  # type: ignore[no-untyped-def]
    tables = _tables()
    return detect(core_month(tables, MONTH), tables, config=FIRST)


def _named(run) -> dict:  # type: ignore[no-untyped-def]
    """The famille the core built for ``named`` (no agency's dossier): found through its claimant."""
    rows = run.units.filter((pl.col("claimant_id") == "p-named") & (pl.col("benefit") == "rsa"))
    assert rows.height == 1
    return rows.row(0, named=True)


def test_the_payee_of_a_dossier_without_members_is_paid(run) -> None:  # type: ignore[no-untyped-def]
    named = _named(run)
    assert named["paid"] == pytest.approx(RSA_PAID)
    assert named["status"] != "non_take_up"
    assert run.flags.filter((pl.col("claimant_id") == "p-named") & (pl.col("benefit") == "rsa")
                            & (pl.col("status") == "non_take_up")).is_empty()


def test_a_line_naming_nobody_still_attaches_to_no_one(run) -> None:  # type: ignore[no-untyped-def]
    for name in ("nameless", "unpaid"):
        row = benefit_row(run, name, "rsa")
        # paid nothing the run sees; the CAF, which pays the RSA to all but the MSA's, sent no extract here, so
        # what they receive is unknown, not 0 (test_payer_absent.py)
        assert (row["status"], row["paid"], row["receiving"]) == ("non_take_up", None, False), name
    # MF38 alone is a dossier paid whose adults nobody knows; MF37's payee is found
    assert run.summary["payments_on_dossiers_without_adults"]["rsa"] == 1


def test_a_dossier_the_core_holds_keeps_its_payments(run) -> None:  # type: ignore[no-untyped-def]
    farmer = benefit_row(run, "farmer", "rsa")
    assert farmer["paid"] == pytest.approx(RSA_PAID) and farmer["status"] != "non_take_up"


def test_on_payee_famille_moves_only_a_dossier_not_held() -> None:
    rows = pl.DataFrame({"famille_id": ["msa:MF37", "msa:MF38", "caf:F1", "caf:F2"],
                         "person_id": ["p1", None, "p2", "p9"]})
    members = pl.DataFrame({"person_id": ["p1", "p2", "p3"], "famille_id": ["cnam:f1", "caf:F9", None]})
    held = pl.Series(["cnam:f1", "caf:F1", "caf:F9"])
    out = on_payee_famille(rows, held, members)
    # MF37 → its payee's famille; MF38 names nobody; F1 is held (its payee's own famille is another);
    # F2 is not held and its payee is in no famille
    assert out.get_column("famille_id").to_list() == ["cnam:f1", "msa:MF38", "caf:F1", "caf:F2"]
    assert out.columns == rows.columns


def _fund_change() -> dict[str, pl.DataFrame]:
    """Two couples of 40 with children of 10 and 12, a salary of 1,500 €, tenants, the AF of two children paid
    every month: ``control`` by the CAF all year on one dossier; ``moved`` by the MSA on its dossier MF-old until
    February 2026, then by the CAF on a new dossier from March (a change of fund), the MSA's member lines of the
    household still in its extract."""
    import datetime as dt

    t = Territory()
    for name in ("control", "moved"):
        t.famille(name, salary=1500.0)
        for k, age in enumerate((10, 12)):
            t.child(name, k, dt.date(MONTH.year - age, 1, 1))
    march = dt.date(2026, 3, 1)
    for m in list(t.members):
        if m["person_id"] in ("p-moved", "c-moved-0", "c-moved-1") and m["unit_kind"] == "famille":
            t.members.append({**m, "unit_id": "MF-old", "source_agency": "msa"})
            m["valid_from"] = march
    for m in MONTHS:
        t.pay("control", "af", 153.01, [m])
        if m < march:
            t.paid.append({"unit_kind": "famille", "unit_id": "MF-old", "person_id": None, "benefit": "af",
                           "month": m, "amount": 153.01, "source_agency": "msa"})
        else:
            t.pay("moved", "af", 153.01, [m])
    return t.tables()


def test_the_allowances_paid_on_the_dossier_a_household_left_still_count() -> None:
    """A household that changed fund (probe6_ext, 6 December 2026: the MSA to the CAF, one CAF to another on a
    move) lost the AF its old dossier paid from the resources of the CSS's twelve months and the prime d'activité's
    three: the free CSS certain instead of the CSS with participation, a prime d'activité 101.60 € too high. The old
    dossier's payments are read on the famille its demandeur is an adult of now: the same figures as one dossier
    paid all year."""
    tables = _fund_change()
    run = detect(core_month(tables, MONTH), tables, config=FIRST)
    for benefit in ("ppa", "css_free", "css_participation"):
        moved, control = benefit_row(run, "moved", benefit), benefit_row(run, "control", benefit)
        assert (moved["status"], moved["amount_central"]) == (control["status"], control["amount_central"]), benefit
