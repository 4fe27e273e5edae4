"""A retirement pension whose lines stop: paid for life, so a stop that is neither a file behind nor a declaration a
month or two late most likely follows a death or a departure the extracts do not carry.

Found probing a territory written from the docs alone (5 December 2026): a retiree of 82 whose CNAV pension, DRM
lines and health-fund rows all stop after March 2026, no death date transmitted, was flagged « ASPA certain » and
« free CSS certain » for June and put on the CNAV's outreach list; the core carries the pension at its last amount
(a late or lost row), which says nothing of whether the person is still there. Every flag of such a famille is now
``possible`` at most, with a reason saying why; a stop of two months (a file's last months, the DRM's lag), a
pension another source still reports, or a person some agency reports since keeps its grade."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from nonrecours.detection import DetectionConfig, core_month, detect
from nonrecours.detection.receipts import pension_lines_stopped

from .conftest import FIRST, MONTH, Territory

MARCH, APRIL = dt.date(2026, 3, 1), dt.date(2026, 4, 1)


def _territory() -> Territory:
    """Single pensioners of 80 paid 500 € a month by the CNAV (net and gross), tenants, no ASPA: ``steady`` to the
    month; ``gone`` until March (three months without a line: April, May, June); ``late`` until April (two months);
    ``drm_since`` until March at the CNAV, the DRM declaring the pension since; ``salary_since`` until March, the
    DRM declaring a salary since."""
    t = Territory()
    for name in ("steady", "gone", "late", "drm_since", "salary_since"):
        t.famille(name, age=80, pension=500.0, agency="cnav")
    stop = {"p-gone": MARCH, "p-late": APRIL, "p-drm_since": MARCH, "p-salary_since": MARCH}
    t.resources = [r for r in t.resources if r["person_id"] not in stop or r["month"] <= stop[r["person_id"]]]
    for m in (APRIL, dt.date(2026, 5, 1), MONTH):
        t.resources.append({"person_id": "p-drm_since", "month": m, "kind": "pension_net", "amount": 500.0,
                            "source_agency": "drm"})
        t.resources.append({"person_id": "p-salary_since", "month": m, "kind": "salary_net", "amount": 200.0,
                            "source_agency": "drm"})
    return t


@pytest.fixture(scope="module")
def run():  # type: ignore[no-untyped-def]
    tables = _territory().tables()
    return detect(core_month(tables, MONTH), tables, config=FIRST)


def _aspa(run, name: str) -> dict:  # type: ignore[no-untyped-def]
    return run.units.filter(pl.col("unit_id").str.ends_with(f":f-{name}") & (pl.col("benefit") == "aspa")).row(
        0, named=True)


def test_a_pension_stopped_three_months_ago_everywhere_is_possible_at_most(run) -> None:  # type: ignore[no-untyped-def]
    gone = _aspa(run, "gone")
    assert (gone["status"], gone["grade"]) == ("non_take_up", "possible")
    for benefit in ("aspa", "css_free", "css_participation"):
        row = run.units.filter(pl.col("unit_id").str.ends_with(":f-gone") & (pl.col("benefit") == benefit))
        assert row.get_column("grade").to_list() in ([None], ["possible"]), benefit
    reasons = " ".join(run.flags.filter(pl.col("unit_id").str.ends_with(":f-gone") & (pl.col("benefit") == "aspa"))
                       .row(0, named=True)["reasons"])
    assert "l'Assurance retraite déclare la pension de retraite d'un membre du foyer jusqu'en 03/2026" in reasons
    assert "décès" in reasons
    assert run.summary["downgraded_by_pension_stopped"]["aspa"] == 1


def test_a_late_declaration_or_a_pension_reported_since_keeps_its_grade(run) -> None:  # type: ignore[no-untyped-def]
    for name in ("steady", "late", "drm_since", "salary_since"):
        assert _aspa(run, name)["grade"] in ("certain", "probable"), name


def test_the_stop_is_found_by_the_receipts_function_alone() -> None:
    tables = _territory().tables()
    core = core_month(tables, MONTH)
    rows = pension_lines_stopped(tables, core.inputs.individu, MONTH, ("pension_net", "pension_gross"), months=3)
    assert rows.select("famille_id", "person_id", "source", "last").rows() == [("cnav:f-gone", "p-gone", "cnav", MARCH)]
    # a file behind: the CNAV's extract itself ending in March is no stop of the person's pension
    behind = {k: (v.filter(pl.col("month") <= MARCH) if k == "resources" else v) for k, v in tables.items()}
    assert pension_lines_stopped(behind, core.inputs.individu, MONTH, ("pension_net",), months=3).is_empty()
    # 0: not checked
    off = detect(core, tables, config=DetectionConfig(benefits=FIRST.benefits, pension_stop_months=0))
    assert off.units.filter(pl.col("unit_id").str.ends_with(":f-gone") & (pl.col("benefit") == "aspa")).row(
        0, named=True)["grade"] in ("certain", "probable")
