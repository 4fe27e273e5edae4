"""A famille living where the rules do not model the law (Mayotte, Saint-Pierre-et-Miquelon, the overseas
collectivities: ``schemas.zonage.UNMODELLED_TERRITORIES``) is not evaluated: the mainland's RSA there is no law's
(Mayotte's is adapted by CASF art. L542-6 and R541-1). It is counted in the summary, never flagged. An overseas
department (La Réunion) is evaluated with its own ceilings, and a commune no agency gives is no evidence either way."""

from __future__ import annotations

import polars as pl
import pytest

from nonrecours.detection import DetectionConfig, core_month, detect
from nonrecours.detection.detect import merge_summaries
from nonrecours.detection.stage import summary_facts
from nonrecours.schemas.zonage import unmodelled_territory

from .conftest import MONTH, Territory

RSA = DetectionConfig(benefits=("rsa",))
COMMUNES = {"cahors": "46042", "mamoudzou": "97611", "saint_pierre": "97502", "saint_denis": "97411",
            "unknown": None}


@pytest.fixture(scope="module")
def run():
    t = Territory()
    for name in COMMUNES:
        t.famille(name)  # no resource, nothing paid: the RSA's non-take-up, certain on the mainland
    t.child("mamoudzou", 1, MONTH.replace(year=2019))
    for p in t.persons:
        p["depcom"] = COMMUNES[p["person_id"].split("-")[1]]
    tables = t.tables()
    return detect(core_month(tables, MONTH), tables, config=RSA)


def _units(run, name: str) -> pl.DataFrame:
    return run.units.filter(pl.col("unit_id").str.ends_with(f":f-{name}"))


def test_a_famille_in_an_unmodelled_territory_is_neither_evaluated_nor_flagged(run):
    for name in ("mamoudzou", "saint_pierre"):
        assert _units(run, name).height == 0
        assert run.flags.filter(pl.col("unit_id").str.ends_with(f":f-{name}")).height == 0
    assert run.summary["territory_not_modelled"] == {"familles": 2, "persons": 3}  # the child counts


def test_the_mainland_an_overseas_department_and_an_unknown_commune_are_evaluated(run):
    for name in ("cahors", "saint_denis", "unknown"):
        rows = _units(run, name)
        assert rows.height == 1 and rows.row(0, named=True)["status"] == "non_take_up"
    # the persons evaluated and those in no famille leave out the territory's, counted apart
    assert (run.summary["familles"], run.summary["persons"]) == (3, 3)
    assert (run.summary["persons_known"], run.summary["persons_not_evaluated"]) == (6, 0)


def test_the_summary_says_who_was_not_evaluated(run):
    coverage = dict(summary_facts(run.summary))["detection coverage"]
    assert "2 familles (3 persons) not evaluated" in coverage and "Mayotte" in coverage


def test_the_territories_are_read_from_the_commune_codes_prefixes():
    codes = pl.Series(["97611", "97502", "97701", "97801", "98735", "97411", "97101", "2A004", "46042", None])
    got = pl.select(unmodelled_territory(pl.lit(codes))).to_series().to_list()
    assert got == [True, True, True, True, True, False, False, False, False, None]


def test_a_partitioned_runs_summary_sums_the_territorys_counts(run):
    merged = merge_summaries([run.summary, run.summary])  # two parts alike
    assert merged["territory_not_modelled"] == {"familles": 4, "persons": 6}
    assert (merged["persons"], merged["persons_known"], merged["persons_not_evaluated"]) == (6, 12, 0)


def test_the_entitlements_command_leaves_them_out_too(tmp_path):
    """``nonrecours entitlements`` (``run_entitlements``) evaluates a workspace for a team: a Mayotte famille there
    had the mainland's RSA (573.49 €) without a word, where the run and detection leave it out (a tester's
    household, 5 December 2026). Now the same familles are left out, counted in its summary."""
    import json

    from nonrecours.core.workspace import run_entitlements

    t = Territory()
    for name in COMMUNES:
        t.famille(name)
    t.child("mamoudzou", 1, MONTH.replace(year=2019))
    for p in t.persons:
        p["depcom"] = COMMUNES[p["person_id"].split("-")[1]]
    ws = tmp_path / "ws"
    for name, table in t.tables().items():
        table = table.collect() if isinstance(table, pl.LazyFrame) else table
        if "source_agency" not in table.columns or table.is_empty():
            continue
        (ws / name).mkdir(parents=True)
        table.write_parquet(ws / name / "caf-x.parquet")
    paths = run_entitlements(ws, MONTH, tmp_path / "out")
    ids = pl.read_parquet(paths["entitlements"]).get_column("famille_id").to_list()
    assert not [i for i in ids if i.endswith(("f-mamoudzou", "f-saint_pierre"))]
    assert sorted(i.rsplit("-", 1)[1] for i in ids) == ["cahors", "saint_denis", "unknown"]
    summary = json.loads(paths["summary"].read_text(encoding="utf-8"))
    assert summary["territory_not_modelled"] == {"familles": 2, "persons": 3}
