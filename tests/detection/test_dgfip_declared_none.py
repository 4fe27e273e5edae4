"""A resource no monthly source covers (the alimony of a person no CAF or MSA follows) is read from the DGFiP's
declaration of the latest year: a declarant with no row of that kind declared none (the connector emits only
non-zero amounts), so the flag rests on an estimate (informed), not on a convention that makes it possible only."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from nonrecours.detection import DetectionConfig, core_month, detect

from .conftest import MONTH, Territory

RSA = DetectionConfig(benefits=("rsa",))


def _tables() -> dict[str, pl.DataFrame]:
    t = Territory()
    for name in ("declared", "self_employed", "unknown_to_dgfip"):
        # known to the CNAM, not followed by a family agency; a salary of 400 € a month since January (DRM)
        t.famille(name, agency="cnam")
        t.resources += [{"person_id": f"p-{name}", "month": dt.date(2026, m, 1), "kind": "salary_net",
                         "amount": 400.0, "source_agency": "drm"} for m in range(1, 7)]
    t.famille("paid")  # the CAF sends its payments: nothing paid to the others is observed
    t.pay("paid", "rsa", 640.0)
    for row in t.members:  # the DGFiP's foyer of income year 2025, for the first two
        if row["unit_kind"] == "foyer_fiscal" and row["person_id"] in ("p-declared", "p-self_employed"):
            row.update(source_agency="dgfip", valid_from=dt.date(2025, 1, 1))
    tables = t.tables()
    tables["annual_income"] = pl.DataFrame(
        [{"person_id": "p-self_employed", "year": 2025, "kind": "self_employment", "amount": 2400.0,
          "source_agency": "dgfip", "extract_id": "dgfip-x", "extract_date": dt.date(2026, 6, 28)}],
        schema_overrides={"year": pl.Int32})
    return tables


@pytest.fixture(scope="module")
def tables():
    return _tables()


@pytest.mark.parametrize("backend", ["polars", "duckdb"])
def test_no_alimony_declared_to_the_dgfip_is_an_estimate_not_a_convention(tables, backend):
    core = core_month(tables, MONTH)
    alimony = core.unknowns.filter(pl.col("input") == "alimony_received")
    informed = dict(zip(alimony["id"], alimony["informed"], strict=True))
    assert informed == {"p-declared": True, "p-self_employed": True, "p-unknown_to_dgfip": False}
    run = detect(core, tables, backend=backend, config=RSA)
    grade = {u.split(":")[-1]: g for u, g in run.flags.filter(pl.col("benefit") == "rsa")
             .select("unit_id", "grade").iter_rows()}
    # 400 € of salary leaves an RSA; an alimony of 600 € (the unknown's high end) would take it away
    assert grade["f-declared"] in ("certain", "probable")
    # the self-employed's alimony is informed too; the 2,400 € of non-salaried income, counted (200 € a month,
    # test_self_employment.py), leaves no RSA at the central values: possible on a favourable rent only, not capped
    assert grade["f-self_employed"] == "possible"
    assert run.summary["downgraded_by_self_employment"]["rsa"] == 0
    assert grade["f-unknown_to_dgfip"] == "possible"
    deciding = run.flags.filter(pl.col("unit_id").str.ends_with(":f-unknown_to_dgfip"))["deciding_unknowns"]
    assert "alimony_received" in deciding.item().to_list()
