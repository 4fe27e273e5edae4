"""A free CSS resting on the RSA alone (CSS art. L861-2) is no surer than the RSA's own flag.

The engine gives the free CSS wherever it gives the RSA; detection then caps the RSA for what the data cannot show
(a salary line of the month behind, an EEA national's right of residence, a member no longer listed). Found probing a
territory written from the docs alone (probe hh18, K79, 6 December 2026): a seasonal worker's RSA, capped at
« possible » because June's salary line was missing, left « CSS sans participation certain » on the CPAM's list,
resting on nothing but that RSA. Now the free CSS takes the RSA's grade where its own resources do not give it,
with the reason; a free CSS its resources give keeps its grade."""

from __future__ import annotations

import polars as pl
import pytest

from nonrecours.detection import core_month, detect

from .conftest import FIRST, MONTH, MONTHS, Territory, benefit_row


def _territory() -> dict[str, pl.DataFrame]:
    """Singles of 40, tenants, nothing paid, no income in the last quarter nor in the month. ``eu_worked`` and
    ``fr_worked`` earned 1,300 € a month until four months before, their employer's declarations saying 0 since
    (twelve months' resources above the free CSS's ceiling: the free CSS only through the RSA); ``eu_idle`` earned
    nothing (the free CSS on its resources). The ``eu_`` ones are EEA nationals of two years' residence: the RSA's
    right of residence is not shown. All known to the CNAM, which reports the CSS it grants (``covered``), the CAF
    reporting the RSA it pays."""
    t = Territory()
    for name, eea, worked in (("eu_worked", True, True), ("fr_worked", False, True), ("eu_idle", True, False)):
        t.famille(name, agency="cnam")
        t.declare(name, salaries=15600.0 if worked else 0.0, years=(2024, 2025))
        if eea:
            t.persons[-1].update(nationality_group="EEA_CH", residence_permit_years=2)
        if worked:
            t.resources.extend({"person_id": f"p-{name}", "month": m, "kind": "salary_net",
                                "amount": 1300.0 if m < MONTHS[-4] else 0.0, "source_agency": "drm"} for m in MONTHS)
    t.famille("covered", agency="cnam")  # the CNAM reports its CSS: the fund's payments are observed
    t.pay("covered", "css_free", 0.0)
    t.paid[-1]["source_agency"] = "cnam"
    t.pay("covered", "rsa", 573.49)  # and the CAF its RSA
    return t.tables()


@pytest.fixture(scope="module")
def run():  # type: ignore[no-untyped-def]
    tables = _territory()
    return detect(core_month(tables, MONTH), tables, config=FIRST)


def test_a_free_css_resting_on_a_capped_rsa_takes_its_grade(run) -> None:  # type: ignore[no-untyped-def]
    assert benefit_row(run, "eu_worked", "rsa")["grade"] == "possible"
    css = benefit_row(run, "eu_worked", "css_free")
    assert (css["status"], css["grade"]) == ("non_take_up", "possible")
    reasons = " ".join(run.flags.filter(pl.col("unit_id").str.ends_with(":f-eu_worked")
                                        & (pl.col("benefit") == "css_free")).row(0, named=True)["reasons"])
    assert "ne tient ici qu'au droit au RSA (CSS art. L861-2)" in reasons
    assert run.summary["downgraded_with_granting_benefit"] == {"css_free": 1}


def test_the_same_free_css_with_a_sure_rsa_stays_sure(run) -> None:  # type: ignore[no-untyped-def]
    rsa, css = benefit_row(run, "fr_worked", "rsa"), benefit_row(run, "fr_worked", "css_free")
    assert rsa["grade"] in ("certain", "probable") and css["grade"] == rsa["grade"]


def test_a_payment_not_observed_leaves_the_right_as_sure() -> None:
    """The RSA's payments reported by no extract: the RSA is possible (whether it is received is not observed),
    its right no less sure; the free CSS, whose grant the CNAM reports, keeps its grade."""
    tables = _territory()
    tables["benefits_paid"] = tables["benefits_paid"].filter(pl.col("benefit") != "rsa")
    run = detect(core_month(tables, MONTH), tables, config=FIRST)
    assert benefit_row(run, "fr_worked", "rsa")["grade"] == "possible"
    assert benefit_row(run, "fr_worked", "css_free")["grade"] in ("certain", "probable")


def test_a_free_css_its_resources_give_keeps_its_grade(run) -> None:  # type: ignore[no-untyped-def]
    assert benefit_row(run, "eu_idle", "rsa")["grade"] == "possible"
    assert benefit_row(run, "eu_idle", "css_free")["grade"] == benefit_row(run, "fr_worked", "css_free")["grade"]


def test_a_right_doubted_under_another_cap_is_inherited_too() -> None:
    """An RSA whose payer's row is lost (capped as ``stopped``, first of the kinds) and whose right of residence is
    unshown too: the free CSS resting on it takes its grade, whichever kind the RSA's flag is counted under (the
    review found the single kind hid the doubt on the right, 6 December 2026)."""
    from nonrecours.detection.detect import _granted_cap

    units = pl.DataFrame({
        "famille_id": ["f1", "f1", "f2", "f2"], "benefit": ["rsa", "css_free", "rsa", "css_free"],
        "grade": ["possible", "certain", "possible", "certain"], "receiving": [False] * 4,
        "_own_grade": [None, None, None, None], "_right_grade": ["certain", "certain", "certain", "certain"],
        "_unobserved": ["stopped", None, "stopped", None], "_right_doubted": [True, False, False, False]},
        schema_overrides={"_own_grade": pl.String})
    out = dict(_granted_cap(units, ("rsa", "css_free")).filter(pl.col("benefit") == "css_free")
               .select("famille_id", "grade").iter_rows())
    assert out == {"f1": "possible", "f2": "certain"}  # f2: only whether its RSA is received is in doubt
