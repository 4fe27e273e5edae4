"""A person the CPAM stops listing: health insurance covers everyone who works or resides in France, so a file
that goes on listing its insured and drops one, nobody reporting them since, was most likely told of a death, a
departure or a move to another fund that its extract does not carry.

Found probing a territory written from the docs alone (probe hh17, 6 December 2026): a husband who died in
February 2026 (his DRM salary and his CPAM listing stop then, no death date transmitted) became a famille of his
own and was put on the CPAM's outreach list for the RSA; nothing said the CPAM itself no longer listed him. Every
flag of such a famille is now ``possible`` at most, with a reason saying why; a stop of two months, a file whose
own extract ends there, or a person some agency reports since keeps its grade. A listing this month also tells a
pensioner whose pension lines stopped is still there."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from nonrecours.detection import DetectionConfig, core_month, detect
from nonrecours.detection.receipts import listing_stopped, pension_lines_stopped

from .conftest import FIRST, MONTH, MONTHS, Territory

MARCH, APRIL = dt.date(2026, 3, 1), dt.date(2026, 4, 1)
_NAMES = ("steady", "gone", "late", "salary_since")


def _tables(*, listed_until: dict[str, dt.date] | None = None) -> dict[str, pl.DataFrame]:
    """Singles of 40 with no income, tenants, nothing paid (the RSA due in full), each listed by the CPAM:
    ``steady`` every month; ``gone`` until March (April, May, June unlisted); ``late`` until April (two months);
    ``salary_since`` until March, the DRM declaring a salary of 100 € since; ``foreign`` until March, a non-EEA
    national whose years of permit no agency sends. ``pensioner``, 80, paid 500 € by the
    CNAV until March only (``retiree`` to June: the CNAV's file goes on), the CPAM listing them every month.
    ``listed_until``: the file's own last month."""
    t = Territory()
    for name in (*_NAMES, "foreign"):
        t.famille(name)
    # ``foreign``: a non-EEA national whose years of permit no agency sends, possible on them alone, unlisted too
    t.persons[-1]["nationality_group"] = "OTHER"
    for name in ("pensioner", "retiree"):
        t.famille(name, age=80, pension=500.0, agency="cnav")
    t.resources = [r for r in t.resources if r["person_id"] != "p-pensioner" or r["month"] <= MARCH]
    for m in (APRIL, dt.date(2026, 5, 1), MONTH):
        t.resources.append({"person_id": "p-salary_since", "month": m, "kind": "salary_net", "amount": 100.0,
                            "source_agency": "drm"})
    stop = {"p-gone": MARCH, "p-late": APRIL, "p-salary_since": MARCH, "p-foreign": MARCH}
    listed = [{"person_id": f"p-{n}", "month": m, "source_agency": "cnam"}
              for n in (*_NAMES, "foreign", "pensioner", "retiree")
              for m in MONTHS if m <= stop.get(f"p-{n}", MONTH) and m <= (listed_until or {}).get("cnam", MONTH)]
    tables = t.tables()
    tables["listings"] = pl.DataFrame(listed).with_columns(pl.lit("cnam-2026-06").alias("extract_id"),
                                                            pl.lit(dt.date(2026, 6, 28)).alias("extract_date"))
    return tables


@pytest.fixture(scope="module")
def run():  # type: ignore[no-untyped-def]
    tables = _tables()
    return detect(core_month(tables, MONTH), tables, config=FIRST)


def _row(run, name: str, benefit: str) -> dict:  # type: ignore[no-untyped-def]
    return run.units.filter(pl.col("unit_id").str.ends_with(f":f-{name}") & (pl.col("benefit") == benefit)).row(
        0, named=True)


def test_a_person_unlisted_for_three_months_is_possible_at_most(run) -> None:  # type: ignore[no-untyped-def]
    gone = _row(run, "gone", "rsa")
    assert (gone["status"], gone["grade"]) == ("non_take_up", "possible")
    reasons = " ".join(run.flags.filter(pl.col("unit_id").str.ends_with(":f-gone") & (pl.col("benefit") == "rsa"))
                       .row(0, named=True)["reasons"])
    assert "l'Assurance maladie liste un membre du foyer jusqu'en 03/2026 et plus rien depuis" in reasons
    assert "décès" in reasons and "L160-1" in reasons
    assert run.summary["downgraded_by_listing_stopped"]["rsa"] == 1
    assert run.summary["downgraded_by_pension_stopped"]["rsa"] == 0


def test_a_flag_possible_already_says_the_cpam_no_longer_lists_the_person(run) -> None:  # type: ignore[no-untyped-def]
    """The agency that would write to the person no longer lists them: said on a flag possible on its own unknowns
    too, in a line of its own beside the one saying why it is possible (hh17 K60's late husband was on the CPAM's
    list with nothing saying so); counted among the caps only where it moved the grade."""
    row = _row(run, "foreign", "rsa")
    assert (row["status"], row["grade"]) == ("non_take_up", "possible")
    reasons = " ".join(run.flags.filter(pl.col("unit_id").str.ends_with(":f-foreign")
                                        & (pl.col("benefit") == "rsa")).row(0, named=True)["reasons"])
    assert "À vérifier avant tout contact : l'Assurance maladie liste un membre du foyer jusqu'en 03/2026" in reasons
    # its own reason stays: possible on its unknowns alone
    assert "Droit seulement si les données inconnues sont favorables" in reasons
    assert run.summary["downgraded_by_listing_stopped"]["rsa"] == 1  # « gone » alone


def test_a_late_file_or_a_person_reported_since_keeps_its_grade(run) -> None:  # type: ignore[no-untyped-def]
    for name in ("steady", "late", "salary_since"):
        assert _row(run, name, "rsa")["grade"] in ("certain", "probable"), name


def test_a_pensioner_the_cpam_still_lists_is_no_stopped_pension(run) -> None:  # type: ignore[no-untyped-def]
    """The CNAV's lines stop in March, the CPAM lists the pensioner to June: alive and insured, the pension's
    missing months are rows late or lost (the core carries the last amount), not a death."""
    assert _row(run, "pensioner", "aspa")["grade"] in ("certain", "probable")
    tables = _tables()
    core = core_month(tables, MONTH)
    assert pension_lines_stopped(tables, core.inputs.individu, MONTH, ("pension_net",), months=3).is_empty()
    unlisted = {k: v for k, v in tables.items() if k != "listings"}
    assert pension_lines_stopped(unlisted, core.inputs.individu, MONTH, ("pension_net",), months=3).get_column(
        "person_id").to_list() == ["p-pensioner"]


def test_the_stop_is_found_by_the_receipts_function_alone() -> None:
    tables = _tables()
    core = core_month(tables, MONTH)
    rows = listing_stopped(tables, core.inputs.individu, MONTH, months=3)
    assert rows.rows() == [("caf:f-foreign", "p-foreign", "cnam", MARCH), ("caf:f-gone", "p-gone", "cnam", MARCH)]
    # the CPAM's file itself ending in March: no person's stop
    behind = _tables(listed_until={"cnam": MARCH})
    assert listing_stopped(behind, core_month(behind, MONTH).inputs.individu, MONTH, months=3).is_empty()
    # 0: not checked
    off = detect(core, tables, config=DetectionConfig(benefits=FIRST.benefits, listing_stop_months=0))
    assert _row(off, "gone", "rsa")["grade"] in ("certain", "probable")


def test_a_partition_reads_the_reach_of_the_whole_file() -> None:
    """In a partitioned run a part holding only people the CPAM stopped listing in March would see the file reach
    March and nobody gone; the reach is the extract's, over the whole population (``CoreMonth.listings_reach``)."""
    tables = _tables()
    core = core_month(tables, MONTH)
    assert core.listings_reach == {"cnam": MONTH}
    part = {**tables, "listings": tables["listings"].filter(pl.col("person_id") == "p-gone")}
    assert listing_stopped(part, core.inputs.individu, MONTH, months=3).is_empty()  # its own reach: March
    whole = listing_stopped(part, core.inputs.individu, MONTH, months=3, reach=core.listings_reach)
    assert whole.select("person_id", "last").rows() == [("p-gone", MARCH)]
