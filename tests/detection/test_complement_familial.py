"""The complément familial (CSS art. L522-1 to L522-3) as a detected benefit, on hand-made familles: a lone
parent earning 1 500 € a month with three children of 3 to 20 whose allocations familiales are paid and the CF
not (a non-take-up), the same famille paid both (consistent), two children only, and a fourth child under 3
whose PAJE allocation de base is paid (no CF with it, CSS art. L532-1). Polars and DuckDB give the same flags."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from nonrecours.detection import DetectionConfig, core_month, detect
from nonrecours.rules.params import default_parameters
from nonrecours.schemas.benefits import benefit
from nonrecours.schemas.codes import NET_TO_TAXABLE

from .conftest import MONTH, Territory

CONFIG = DetectionConfig(benefits=("af", "cf", "paje_base"))


def _children(t: Territory, name: str, births: tuple[dt.date, ...]) -> None:
    for k, born in enumerate(births):
        t.child(name, k, born, since=dt.date(2020, 1, 1))


THREE = (dt.date(2021, 2, 1), dt.date(2018, 5, 1), dt.date(2015, 9, 1))   # 5, 8 and 10 in June 2026
BABY = dt.date(2025, 4, 1)                                                # 1 in June 2026: the PAJE's


@pytest.fixture(scope="module")
def famille_runs():
    t = Territory()
    for name in ("cf_missing", "cf_paid", "two", "baby", "baby_unpaid"):
        t.famille(name, salary=1500.0)
    _children(t, "cf_missing", THREE)
    _children(t, "cf_paid", THREE)
    _children(t, "two", THREE[:2])
    _children(t, "baby", (BABY, *THREE))
    _children(t, "baby_unpaid", (BABY, *THREE))
    for name in ("cf_missing", "cf_paid", "two", "baby", "baby_unpaid"):  # the DGFiP's income of years N-2
        t.declare(name, salaries=round(12 * 1500.0 * NET_TO_TAXABLE["salary_net"]))
    tables = t.tables()
    first = detect(core_month(tables, MONTH), tables, config=CONFIG)
    due = {(u.split(":f-")[1], b): a for u, b, a in first.units.select("unit_id", "benefit", "amount_central")
           .iter_rows()}
    # the CAF pays every famille its allocations familiales; the CF to one of the two entitled, the PAJE to the
    # baby's famille (the CF is then due to nobody there)
    for name in ("cf_missing", "cf_paid", "two", "baby", "baby_unpaid"):
        t.pay(name, "af", due[(name, "af")])
    t.pay("cf_paid", "cf", due[("cf_paid", "cf")])
    t.pay("baby", "paje_base", round(due[("baby", "paje_base")], 2))
    tables = t.tables()
    core = core_month(tables, MONTH)
    return (detect(core, tables, config=CONFIG), detect(core, tables, backend="duckdb", config=CONFIG), due)


def _unit(run, name: str, code: str) -> dict:
    rows = run.units.filter(pl.col("unit_id").str.ends_with(f":f-{name}") & (pl.col("benefit") == code))
    assert rows.height == 1, (name, code)
    return rows.row(0, named=True)


def test_catalogue_row_of_the_complement_familial() -> None:
    """Paid by the CAF (the MSA for its members), both of which report it; an adult dependant counts up to 21."""
    cf = benefit("cf")
    assert (cf.rule, cf.lead, cf.members_lead, cf.payers) == ("cf", "caf", "msa", ("caf", "msa"))
    assert cf.exclusion_months == benefit("af").exclusion_months and not cf.simulated
    limit = default_parameters().bind(cf.young_dependant_age, MONTH).value
    assert limit == 21


def test_unpaid_complement_familial_of_a_known_famille_is_a_certain_non_take_up(famille_runs) -> None:
    run, _, _ = famille_runs
    u = _unit(run, "cf_missing", "cf")
    assert (u["status"], u["grade"], u["receiving"]) == ("non_take_up", "certain", False)
    # resources of a lone parent earning 1 500 € are under half the ceiling: the majorated rate (CSS art. D522-2)
    bmaf = default_parameters().bind("prestations_familiales.bmaf", MONTH).value
    rate = default_parameters().bind("prestations_familiales.cf.taux_majore", MONTH).value
    assert u["amount_central"] == pytest.approx(round(bmaf * rate, 2))
    assert _unit(run, "cf_missing", "af")["status"] == "consistent"
    flag = run.flags.filter(pl.col("unit_id").str.ends_with(":f-cf_missing") & (pl.col("benefit") == "cf"))
    assert flag.height == 1
    reasons = " ".join(flag.get_column("reasons")[0].to_list())
    assert reasons.startswith("Complément familial estimé à ")
    for held in ("au moins trois enfants à charge de 3 à 20 ans", "ressources de l'année de référence sous le plafond",
                 "pas d'allocation de base de la PAJE"):
        assert held in reasons, held


def test_paid_complement_familial_is_consistent_and_others_are_not_entitled(famille_runs) -> None:
    run, _, due = famille_runs
    paid = _unit(run, "cf_paid", "cf")
    assert paid["receiving"] and paid["status"] == "consistent"
    assert _unit(run, "two", "cf")["status"] == "not_entitled"          # two children: no CF
    baby = _unit(run, "baby", "cf")                                     # the PAJE paid replaces it
    assert baby["status"] == "not_entitled" and due[("baby", "cf")] == 0.0
    assert _unit(run, "baby", "paje_base")["status"] == "consistent"
    # the same famille paid its AF only: the allocation de base is due, not the CF beside it (probe14, H3b: both
    # flagged certain)
    assert _unit(run, "baby_unpaid", "cf")["status"] == "not_entitled"
    assert (_unit(run, "baby_unpaid", "paje_base")["status"], _unit(run, "baby_unpaid", "paje_base")["grade"]) == (
        "non_take_up", "certain")
    flagged = set(run.flags.filter(pl.col("benefit") == "cf").get_column("unit_id"))
    assert {u.split(":f-")[1] for u in flagged} == {"cf_missing"}
    assert run.summary["payments_known"]["cf"] is True


def test_duckdb_gives_the_same_complement_familial_flags(famille_runs) -> None:
    polars_run, duckdb_run, _ = famille_runs
    assert_frame_equal(polars_run.flags, duckdb_run.flags, check_exact=False, abs_tol=1e-6)
    assert_frame_equal(polars_run.units, duckdb_run.units, check_exact=False, abs_tol=1e-6)


def test_outreach_tables_say_how_to_claim_the_complement_familial() -> None:
    """Each agency that contacts people about the CF (the lead, the MSA for its members) has a channel; the claim
    fields an agency may hold name engine inputs the rules know; the questions no data answers cite the law."""
    from nonrecours.outputs.law import CHANNELS, claim_fields_frame, questions_frame
    from nonrecours.rules.registry import default_registry

    cf = benefit("cf")
    for agency in (cf.lead, cf.members_lead):
        assert "déclaration de situation" in CHANNELS[("cf", agency)]
    fields = claim_fields_frame().filter(pl.col("benefit") == "cf")
    held = set(fields.get_column("input").drop_nulls())
    assert {"revenu_activite_imposable_n2", "famille_role"} <= held
    assert held <= set(default_registry().inputs)
    questions = questions_frame().filter(pl.col("benefit") == "cf")
    assert questions.height >= 2 and questions.get_column("ref").str.contains("CSS art. L5").all()
