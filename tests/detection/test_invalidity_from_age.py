"""An invalidity pension no agency declares is nil from ``CoreConfig.invalidity_end_age`` (67): it ends at the legal
retirement age, replaced by the retirement pension (CSS art. L341-15), and runs past it only for an insured person
still working, up to the full-rate age (L341-16, L351-8 1°). A farmer's widow of 70 whose pension the MSA pays had
her ASPA « possible », its one deciding unknown an invalidity pension of 0 to 1,500 € a month (an outside tester,
7 December 2026); younger, the pension stays unknown."""

from __future__ import annotations

import polars as pl
import pytest

from nonrecours.core import CoreConfig
from nonrecours.detection import DetectionConfig, core_month, detect

from .conftest import MONTH, Territory, unit_row

ASPA = DetectionConfig(benefits=("aspa",))


MSA_KINDS = {"msa": ("pension_gross", "pension_net", "salary_net")}
"""The MSA's default layout: salaries and pensions, no invalidity pension (``CoreConfig.follower_kinds``)."""


def _tables() -> dict[str, pl.DataFrame]:
    """Farmers' pensioners the MSA follows and pays 650 € a month, no other agency declaring their resources: a
    widow of 70 and a pensioner of 63 (an invalidity pension possible at his age for a worker); the DGFiP declares
    their pensions."""
    t = Territory()
    for name, age in (("widow", 70), ("early", 63)):
        t.famille(name, age=age, pension=650.0, agency="msa")
        t.declare(name)
    for r in t.resources:
        r["source_agency"] = "msa"
    for a in t.annual:
        a.update(kind="pensions", amount=7800.0)
    return t.tables()


def _invalidity(core, name: str) -> dict:  # type: ignore[no-untyped-def]
    rows = core.unknowns.filter((pl.col("id") == f"p-{name}") & (pl.col("input") == "invalidity_pension")
                                & pl.col("month").is_null())
    assert rows.height == 1
    return rows.row(0, named=True)


def test_an_invalidity_pension_is_nil_from_67_and_the_aspa_no_longer_hangs_on_it() -> None:
    tables = _tables()
    on = core_month(tables, MONTH, config=CoreConfig(follower_kinds=MSA_KINDS))
    off = core_month(tables, MONTH, config=CoreConfig(follower_kinds=MSA_KINDS, invalidity_end_age=None))
    widow, early = _invalidity(on, "widow"), _invalidity(on, "early")
    assert (widow["low"], widow["central"], widow["high"]) == (0.0, 0.0, 0.0) and widow["informed"] is True
    assert "L341-15" in widow["reason"]
    assert early["high"] == 1500.0 and early["informed"] is False  # 63: still unknown
    assert _invalidity(off, "widow")["high"] == 1500.0
    assert on.counts["persons_no_invalidity_pension_from_age"] == 1
    with_age, without = detect(on, tables, config=ASPA), detect(off, tables, config=ASPA)
    row, before = unit_row(with_age, "widow"), unit_row(without, "widow")
    assert row["status"] == before["status"] == "non_take_up"
    assert row["amount_central"] == pytest.approx(before["amount_central"]) and row["amount_central"] > 300
    assert before["grade"] == "possible" and row["grade"] in ("probable", "certain")
    flag = without.flags.filter(pl.col("unit_id").str.ends_with(":f-widow")).row(0, named=True)
    assert "invalidity_pension" in flag["deciding_unknowns"]
