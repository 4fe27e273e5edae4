"""A follower's silence on an income the DGFiP declares is no certain zero (core.resources._follower_silence).

Found by a tester's hand-written households (/work/scratch/probe_hh18, K86, 6 December 2026): a single woman of 45
earning 800 € a month (DRM), her housing aid paid by the CAF (which follows her: its resource record is read as
exhaustive), declaring 3,600 € of alimony received a year to the DGFiP for 2024 and 2025, which the CAF's record
never lists. The core read the CAF's silence as a zero: a prime d'activité « certain » at 261.95 € and a CSS with
participation « certain », neither due with 300 € of alimony a month. The alimony is now estimated from the
declaration, from the CAF's 0 to the declared level; a CAF that lists the alimony keeps its own figure, with no
unknown."""

from __future__ import annotations

import polars as pl
import pytest

from nonrecours.detection import core_month, detect

from .conftest import FIRST, MONTH, MONTHS, Territory


def _territory(*, caf_lists_alimony: bool) -> Territory:
    """K86: ``f-k86``, 45, 800 € a month of salary from the DRM, tenant, her housing aid paid by the CAF, 3,600 € of
    alimony received declared for 2024 and 2025 (with her salaries, net × the taxable ratio); the CAF lists the
    alimony (300 € every month) or not. A neighbour whose alimony the CAF lists makes its extract's resource record
    span the months read (K86's CAF file held other dossiers' lines)."""
    t = Territory()
    t.famille("k86", age=45, salary=800.0, agency="caf")
    t.pay("k86", "aide_logement", 250.0, MONTHS)
    for y in (2023, 2024, 2025):
        t.annual.append({"person_id": "p-k86", "year": y, "kind": "salaries", "amount": 9950.0,
                         "source_agency": "dgfip"})
    for y in (2024, 2025):
        t.annual.append({"person_id": "p-k86", "year": y, "kind": "alimony", "amount": 3600.0,
                         "source_agency": "dgfip"})
    # a neighbour whose alimony the CAF lists every month: its extract's resource record spans the year
    t.famille("other", age=38, agency="caf")
    for m in MONTHS:
        t.resources.append({"person_id": "p-other", "month": m, "kind": "alimony", "amount": 150.0,
                            "source_agency": "caf"})
    if caf_lists_alimony:
        for m in MONTHS:
            t.resources.append({"person_id": "p-k86", "month": m, "kind": "alimony", "amount": 300.0,
                                "source_agency": "caf"})
    return t


@pytest.fixture(scope="module", params=[False, True], ids=["caf_silent", "caf_lists"])
def run(request):  # type: ignore[no-untyped-def]
    tables = _territory(caf_lists_alimony=request.param).tables()
    core = core_month(tables, MONTH)
    return request.param, core, detect(core, tables, config=FIRST)


def _grade(result, benefit: str) -> str | None:  # type: ignore[no-untyped-def]
    rows = result.units.filter(pl.col("unit_id").str.ends_with(":f-k86") & (pl.col("benefit") == benefit))
    return rows.get_column("grade").to_list()[0] if rows.height else None


def test_the_alimony_the_dgfip_declares_and_the_caf_never_lists_is_estimated_not_zero(run) -> None:  # type: ignore[no-untyped-def]
    caf_lists, core, result = run
    alimony = core.unknowns.filter((pl.col("id") == "p-k86") & (pl.col("input") == "alimony_received"))
    prov = core.provenance.filter((pl.col("id") == "p-k86") & (pl.col("input") == "alimony_received")).row(
        0, named=True)
    value = core.inputs.individu_monthly.filter((pl.col("person_id") == "p-k86") & (pl.col("month") == MONTH))
    if caf_lists:
        # the follower reports it: its figure, no unknown, and nothing due
        assert alimony.is_empty()
        assert prov["source_agency"] == "caf"
        assert value.get_column("alimony_received").item() == 300.0
        assert _grade(result, "ppa") is None and _grade(result, "css_participation") is None
        return
    assert alimony.height == 1  # the CAF's silence was a certain zero: no unknown at all
    row = alimony.row(0, named=True)
    assert (row["low"], row["central"], row["high"], row["informed"]) == (0.0, 300.0, 375.0, True)
    assert "ne déclare pas ce revenu" in row["reason"]
    assert (prov["kind"], prov["source_agency"]) == ("estimated", "dgfip")
    assert value.get_column("alimony_received").item() == 300.0
    # on the CAF's 0 alone: PPA and CSS with participation; with the declared alimony neither is due
    assert _grade(result, "ppa") in (None, "possible", "probable")
    assert _grade(result, "css_participation") in (None, "possible")
