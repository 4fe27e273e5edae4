"""A young adult the DGFiP attaches to a parent's foyer fiscal while no family agency lists them (their row of the
CAF dossier lost, or never there): whether they are at the charge of the parent's famille (CASF R262-3, CSS
R861-2: persons under 25) or a foyer of their own is unknown. The core neither moves them into the paying
agency's famille nor trusts the famille it builds for them: both familles carry a composition unknown, and their
flags are ``possible`` for the benefits such a person can change."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from nonrecours.core.inputs import YOUNG_DEPENDANT_MISSING
from nonrecours.detection import core_month, detect

from .conftest import FIRST, MONTH, MONTHS, Territory


def _dependant(t: Territory, name: str, parent: str, age: int, salary: float) -> str:
    """A person only the DGFiP (and the DRM, for the salary) knows: a dependant of ``parent``'s foyer fiscal."""
    pid = f"p-{name}"
    t.persons.append({"person_id": pid, "birth_month": dt.date(MONTH.year - age - 1, 3, 1), "sex": "M",
                      "nationality_group": "FR", "residence_permit_years": None, "depcom": "46042",
                      "disability_rate": None, "student": None, "pregnant": None, "source_agency": "dgfip",
                      "death_month": None})
    t.members.append({"person_id": pid, "unit_kind": "foyer_fiscal", "unit_id": f"f-{parent}",
                      "role": "personne_a_charge", "valid_from": dt.date(2020, 1, 1), "valid_to": None,
                      "source_agency": "dgfip"})
    for m in MONTHS:
        t.resources.append({"person_id": pid, "month": m, "kind": "salary_net", "amount": salary,
                            "source_agency": "drm"})
    return pid


def _territory(with_dependants: bool) -> dict[str, pl.DataFrame]:
    t = Territory()
    # a mother the CAF follows, working part time; her 22-year-old son works and lives with her
    t.famille("mother", age=45, salary=900.0)
    # a pensioner the CNAV follows, with a 20-year-old grandchild attached to her tax return
    t.famille("gran", age=72, pension=600.0, agency="cnav")
    t.famille("alone", age=45, salary=900.0)      # the same situation as the mother, nobody attached
    if with_dependants:
        _dependant(t, "son", "mother", 22, 1960.0)
        _dependant(t, "grandchild", "gran", 20, 1500.0)
    return t.tables()


def _grade(run, unit: str, benefit: str) -> str | None:
    rows = run.units.filter((pl.col("unit_id") == unit) & (pl.col("benefit") == benefit))
    return rows.get_column("grade")[0] if rows.height else None


@pytest.fixture(scope="module")
def runs():
    out = {}
    for with_dependants in (False, True):
        tables = _territory(with_dependants)
        core = core_month(tables, MONTH)
        out[with_dependants] = (core, detect(core, tables, config=FIRST))
    return out


def test_the_dependant_is_not_moved_and_both_familles_are_marked_unknown(runs):
    core, _ = runs[True]
    ind = core.inputs.individu
    son = ind.filter(pl.col("person_id") == "p-son").row(0, named=True)
    # the CAF's famille of the mother is followed as the CAF lists it: the son keeps a famille of his own
    assert son["famille_id"] == "core-famille:p-son" and son["famille_role"] == "demandeur"
    assert ind.filter(pl.col("famille_id") == "caf:f-mother").height == 1
    unknown = core.unknowns.filter(pl.col("input") == "couple_kind")
    assert unknown.filter(pl.col("id") == "caf:f-mother").get_column("reason").to_list() == [YOUNG_DEPENDANT_MISSING]
    assert unknown.filter(pl.col("id") == "cnav:f-gran").get_column("reason").to_list() == [YOUNG_DEPENDANT_MISSING]
    assert unknown.filter(pl.col("id") == "core-famille:p-son").height == 1     # one unknown per famille
    assert core.counts["familles_of_adult_dependant"] == 2
    assert core.counts["familles_hosting_adult_dependant"] == 2
    assert unknown.filter(pl.col("id") == "caf:f-alone").is_empty()


def test_the_parents_flags_become_possible_where_the_dependant_counts(runs):
    _, alone = runs[False]
    _, hosted = runs[True]
    # without the son the mother's prime d'activité is probable (the DGFiP declares nobody here: her profit is
    # unknown); the son may be in her foyer (his salary would count): possible, the estimate unchanged
    assert _grade(alone, "caf:f-mother", "ppa") == "probable"
    assert _grade(hosted, "caf:f-mother", "ppa") == "possible"
    before = alone.units.filter((pl.col("unit_id") == "caf:f-mother") & (pl.col("benefit") == "ppa"))
    after = hosted.units.filter((pl.col("unit_id") == "caf:f-mother") & (pl.col("benefit") == "ppa"))
    assert after["amount_central"][0] == before["amount_central"][0]
    flag = hosted.flags.filter((pl.col("unit_id") == "caf:f-mother") & (pl.col("benefit") == "ppa")).row(0, named=True)
    assert "couple_kind" in flag["deciding_unknowns"]
    assert any("composition du foyer" in r for r in flag["reasons"])
    # the ASPA of the grandmother counts the couple only: a grandchild changes nothing, its grade stays and it
    # names no composition unknown; her CSS counts persons under 25 attached to her tax return: it does
    assert _grade(alone, "cnav:f-gran", "aspa") is not None
    assert _grade(hosted, "cnav:f-gran", "aspa") == _grade(alone, "cnav:f-gran", "aspa")
    gran = {r["benefit"]: r for r in hosted.flags.filter(pl.col("unit_id") == "cnav:f-gran").iter_rows(named=True)}
    assert "couple_kind" not in gran["aspa"]["deciding_unknowns"]
    assert "couple_kind" in gran["css_participation"]["deciding_unknowns"]
    # a neighbour with nobody attached keeps her grade
    assert _grade(hosted, "caf:f-alone", "ppa") == "probable"


def test_the_famille_built_for_the_dependant_is_possible_at_most(runs):
    _, hosted = runs[True]
    own = hosted.units.filter(pl.col("unit_id") == "core-famille:p-son")
    assert own.height > 0
    assert set(own.get_column("grade").drop_nulls()) <= {"possible"}


def test_the_housing_aid_is_capped_for_a_dependant_over_its_charge_age():
    """The housing aid counts a famille member's resources whatever his age (``aide_logement._base_ressources``:
    every ``enfant`` of the famille, over the abattement), not only those of its persons at charge (under 21):
    the 22-year-old son's salary, if he is in his mother's famille, ends her aid. Her flag, certain without him,
    must be possible (France 100,000, issue 8: two false alarms, sons of 22 and 24 earning)."""
    from nonrecours.detection.detect import DetectionConfig

    config = DetectionConfig(benefits=("aide_logement",))
    grades = {}
    for with_dependants in (False, True):
        tables = _territory(with_dependants)
        grades[with_dependants] = _grade(detect(core_month(tables, MONTH), tables, config=config),
                                         "caf:f-mother", "aide_logement")
    assert grades == {False: "certain", True: "possible"}
