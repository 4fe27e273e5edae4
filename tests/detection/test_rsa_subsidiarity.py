"""The RSA of a famille that forgoes other benefits too: the RSA is subsidiary (CASF art. L262-10), the foyer must
claim the family benefits and the housing aid it is due, so the RSA detection shows beside an allocation de base,
an ASF and a housing aid not taken up is the RSA it gets once it has claimed them all, not an RSA inflated by what
it forgoes (a lone mother of a child of 2 with nothing paid: 1,115.80 € on the payments, 652.65 € once they are
claimed, as OpenFisca-France computes it with the month's benefits due)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import polars as pl
import pytest

from nonrecours.core import CoreConfig
from nonrecours.detection import DetectionConfig, core_month, detect
from nonrecours.engine import evaluate

from .conftest import MONTH, Territory

BENEFITS = DetectionConfig(benefits=("rsa", "paje_base", "asf", "aide_logement"))


def _lone_mother() -> Territory:
    """A lone mother of 28, a child of 2, no resources, a tenant at 450 €, in a CAF dossier paid nothing (the CAF
    sends its payments: another famille is paid), her income of the years N-2 declared (none)."""
    t = Territory()
    t.famille("lone", age=28)
    t.child("lone", 1, dt.date(2024, 1, 1), since=dt.date(2024, 1, 1))
    t.declare("lone")
    t.famille("paid")
    t.pay("paid", "rsa", 640.0)
    return t


@pytest.fixture(scope="module")
def lone_mother() -> dict[str, pl.DataFrame]:
    return _lone_mother().tables()


def _flags(tables: dict[str, pl.DataFrame], config: CoreConfig) -> dict[str, dict]:
    run = detect(core_month(tables, MONTH, config), tables, backend="polars", config=BENEFITS)
    return {r["benefit"]: r for r in run.flags.filter(pl.col("unit_id") == "caf:f-lone").to_dicts()}


def test_the_rsa_is_the_one_left_once_the_benefits_due_are_claimed(lone_mother) -> None:
    """Subsidiarity (the default): the RSA flagged equals the RSA the rules give the same famille once it is paid
    the allocation de base, the ASF and the housing aid they compute for it; on the payments alone (the setting
    off) it is higher by their share. The other flags do not move."""
    tables = lone_mother
    claimed_all = _flags(tables, CoreConfig())
    as_paid = _flags(tables, CoreConfig(rsa_subsidiarity=False))
    assert {b: f["status"] for b, f in claimed_all.items()} == dict.fromkeys(
        ("rsa", "paje_base", "asf", "aide_logement"), "non_take_up")
    for b in ("paje_base", "asf", "aide_logement"):
        assert claimed_all[b]["amount_central"] == as_paid[b]["amount_central"] > 0

    core = core_month(tables, MONTH)
    fam = core.inputs.famille_monthly
    due = {"paje_base": claimed_all["paje_base"]["amount_central"], "asf": claimed_all["asf"]["amount_central"],
           "aide_logement_versee": claimed_all["aide_logement"]["amount_central"]}
    assert fam.filter(pl.col("famille_id") == "caf:f-lone").is_empty()  # paid nothing: no row
    row = pl.DataFrame({"famille_id": "caf:f-lone", "month": MONTH, **due}).with_columns(
        pl.lit(None).alias(c) for c in fam.columns if c not in due and c not in ("famille_id", "month"))
    paid = pl.concat([fam, row.select(fam.columns).cast(fam.schema)])
    famille = core.inputs.famille.with_columns(pl.lit(False).alias("rsa_subsidiarite"))
    once_paid = evaluate(["rsa"], dataclasses.replace(core.inputs, famille=famille, famille_monthly=paid),
                         MONTH)["famille"].filter(pl.col("famille_id") == "caf:f-lone")["rsa"].item()
    assert claimed_all["rsa"]["amount_central"] == pytest.approx(once_paid, abs=0.01)
    assert as_paid["rsa"]["amount_central"] - claimed_all["rsa"]["amount_central"] > 200
    # the flag says what its amount counts due, to be claimed with it; on the payments alone it says nothing
    said = [line for line in claimed_all["rsa"]["reasons"] if "dû et non perçu" in line]
    assert said == ["Montant compté avec ce qui est dû et non perçu (à demander en même temps, le RSA étant "
                    "subsidiaire, CASF art. L262-10) : allocation de base de la PAJE, ASF, aide au logement."]
    assert not [line for line in as_paid["rsa"]["reasons"] if "dû et non perçu" in line]


def test_a_benefit_paid_above_the_one_computed_counts_as_paid() -> None:
    """Each benefit counts for the larger of its payment and its entitlement: a housing aid paid above the forfait
    logement already takes all of it, so the RSA differs from the one on the payments alone by the allocation de
    base and the ASF forfait due only (CASF art. R262-10, R262-10-1)."""
    t = _lone_mother()
    t.pay("lone", "aide_logement", 500.0)
    tables = t.tables()
    claimed_all = _flags(tables, CoreConfig())
    as_paid = _flags(tables, CoreConfig(rsa_subsidiarity=False))
    core = core_month(tables, MONTH)
    r = evaluate(["pf_dues_minima", "pf_retenues_minima", "paje_base_droit", "aide_logement"], core.inputs,
                 MONTH)["famille"].filter(pl.col("famille_id") == "caf:f-lone").to_dicts()[0]
    assert r["pf_retenues_minima"] == 0 and r["paje_base_droit"] > 0 and r["aide_logement"] < 500
    assert "aide_logement" not in claimed_all
    assert [line.rsplit(" : ", 1)[1] for line in claimed_all["rsa"]["reasons"] if "dû et non perçu" in line] == [
        "allocation de base de la PAJE, ASF."]  # the housing aid paid above the forfait: not named
    assert as_paid["rsa"]["amount_central"] - claimed_all["rsa"]["amount_central"] == pytest.approx(
        r["pf_dues_minima"], abs=0.01)
