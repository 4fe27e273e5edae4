"""A benefit no agency of the run pays (the ASPA in a run without the pension funds, the chèque énergie sent by the
ASP) has unknown payments: its flags are possible at most, and say that, not « Droit sur les valeurs centrales, mais
certaines ne reposent sur aucune donnée transmise » (the 899 chèque énergie flags of the CI demo naming no unknown
read so: a caseworker looked for an unknown input that does not exist)."""

from __future__ import annotations

import polars as pl

from nonrecours.detection import DetectionConfig, core_month, detect

from .conftest import MONTH, Territory


def test_a_flag_on_unknown_payments_says_the_payments_are_not_observed():
    t = Territory()
    t.famille("retired", age=70, pension=300.0)  # a small pension (CNAV's DRM line); no pension fund's extract
    t.famille("paid")
    t.pay("paid", "rsa", 600.0)
    tables = t.tables()
    run = detect(core_month(tables, MONTH), tables, config=DetectionConfig(benefits=("aspa",)))
    assert run.summary["payments_known"] == {"aspa": False}
    flag = run.flags.filter(pl.col("unit_id").str.ends_with(":f-retired")).row(0, named=True)
    assert (flag["status"], flag["grade"]) == ("non_take_up", "possible")
    text = flag["reasons"]
    assert any("ne transmet les versements de cette prestation" in r for r in text), text
    assert not any("aucune donnée transmise" in r for r in text), text
