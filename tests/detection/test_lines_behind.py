"""Resource lines behind: a member whose lines at the DRM stop a month or two before the month while the DRM goes
on for others, and whom no agency reports since, may have declarations not yet transmitted (an employer's DSN
filed late): the months read as no income are not observed.

Found tracing the CI demo's false alarms of the prime d'activité « not entitled in truth » (docs/detection.md,
issue 8): 6 of 16 were a member whose DRM salary lines stop in April while the truth pays the salary through June
(the reference quarter then reads May as no income); at 100,000 persons 50 of the 113. A stop while another agency
reports the person since (France Travail's unemployment benefit after a job lost), a stop long before the month,
or a stop whose missing months fall outside the benefit's reference period stays a non-take-up."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from pydantic import ValidationError

from nonrecours.core.resources import CoreConfig
from nonrecours.detection import core_month, detect
from nonrecours.detection.receipts import resource_lines_behind
from nonrecours.engine.plan import add_months

from .conftest import FIRST, MONTH, MONTHS, Territory, flag_row


def _territory(last_line: dict[str, dt.date], unemployment_since: tuple[str, ...] = ()) -> dict[str, pl.DataFrame]:
    """Single CAF allocataires earning 1,100 € a month at the DRM, tenants; ``last_line``: the month each one's
    DRM lines stop at (the others' go on to the month); ``unemployment_since``: those France Travail reports an
    unemployment benefit for in the months after their last DRM line."""
    t = Territory()
    for name in ("steady", *last_line):
        t.famille(name, age=35, salary=1100.0)
    t.resources = [r for r in t.resources
                   if not (r["person_id"].removeprefix("p-") in last_line
                           and r["month"] > last_line[r["person_id"].removeprefix("p-")])]
    for name in unemployment_since:
        m = add_months(last_line[name], 1)
        while m <= MONTH:
            t.resources.append({"person_id": f"p-{name}", "month": m, "kind": "unemployment_benefit",
                                "amount": 700.0, "source_agency": "france_travail"})
            m = add_months(m, 1)
    return t.tables()


def _unit(run, name: str, benefit: str) -> dict:  # type: ignore[no-untyped-def]
    rows = run.units.filter(pl.col("unit_id").str.ends_with(f":f-{name}") & (pl.col("benefit") == benefit))
    assert rows.height == 1
    return rows.row(0, named=True)


APRIL = dt.date(2026, 4, 1)


@pytest.fixture(scope="module")
def behind() -> tuple[dict[str, pl.DataFrame], object]:
    tables = _territory({"april": APRIL, "may": dt.date(2026, 5, 1), "february": dt.date(2026, 2, 1),
                         "jobless": APRIL}, unemployment_since=("jobless",))
    return tables, detect(core_month(tables, MONTH), tables, config=FIRST)


def test_a_member_whose_drm_lines_stop_two_months_before_is_possible_at_most(behind):
    _, run = behind
    flag = flag_row(run, "april", "ppa")
    assert flag["status"] == "non_take_up"
    assert flag["grade"] == "possible"
    assert flag["reasons"][1] == (
        "Signalement ramené à « possible » : le DRM de l'Assurance retraite transmet les ressources d'un membre du "
        "foyer jusqu'en 04/2026 et plus rien depuis, aucun autre organisme non plus : ces mois comptent pour des "
        "revenus nuls, mais les déclarations peuvent ne pas être encore parvenues ; à vérifier avant tout contact.")
    assert run.summary["downgraded_by_resource_lines_behind"]["ppa"] == 1
    # the twelve months of the CSS: one month missing weighs a twelfth, the grade stands (its own caps aside)
    assert "css_free" in run.summary["downgraded_by_resource_lines_behind"]
    assert run.summary["downgraded_by_resource_lines_behind"]["css_free"] == 0


def test_without_the_rule_the_same_famille_is_not_capped(behind):
    tables, _ = behind
    run = detect(core_month(tables, MONTH), tables, config=FIRST.model_copy(update={"lines_behind_months": 0}))
    assert flag_row(run, "april", "ppa")["grade"] == "probable"
    assert run.summary["downgraded_by_resource_lines_behind"]["ppa"] == 0


def test_the_share_of_the_period_is_configured(behind):
    """``DetectionConfig.lines_behind_share`` (a third): April missing from the prime d'activité's quarter weighs a
    third, capped; asked for a half, the same famille is not capped. A share of 0 or above 1 is refused."""
    tables, _ = behind
    assert FIRST.lines_behind_share == pytest.approx(1 / 3)
    run = detect(core_month(tables, MONTH), tables, config=FIRST.model_copy(update={"lines_behind_share": 0.5}))
    assert flag_row(run, "april", "ppa")["grade"] == "probable"
    assert run.summary["downgraded_by_resource_lines_behind"]["ppa"] == 0
    for share in (0.0, 1.5):
        with pytest.raises(ValidationError, match="lines_behind_share"):
            type(FIRST)(lines_behind_share=share)


@pytest.mark.parametrize(("name", "benefit"), [("steady", "ppa"), ("may", "ppa"), ("february", "rsa"),
                                               ("jobless", "ppa")])
def test_a_stop_outside_the_reference_period_or_reported_since_stays(behind, name: str, benefit: str):
    """``may``: the missing month is the month itself, outside the quarter read; ``february``: a stop four
    months old is a stop (no activity in the quarter: the RSA, not the prime d'activité); ``jobless``: France
    Travail reports an unemployment benefit since."""
    _, run = behind
    unit = _unit(run, name, benefit)
    assert (unit["status"], unit["grade"]) == ("non_take_up", "probable")


def test_the_persons_behind_are_those_of_the_last_months_with_nobody_reporting_them_since(behind):
    tables, _ = behind
    core = core_month(tables, MONTH)
    sources = [a for a in CoreConfig().exhaustive["salary_net"] if a != "synth"]
    rows = resource_lines_behind(tables, core.inputs.individu, MONTH, sources, behind=2)
    assert rows.select("person_id", "source", "last").rows() == [
        ("p-april", "drm", APRIL), ("p-may", "drm", dt.date(2026, 5, 1))]
    assert resource_lines_behind(tables, core.inputs.individu, MONTH, sources, behind=0).is_empty()


@pytest.mark.slow
def test_duckdb_caps_the_same_flags(behind):
    tables, run = behind
    other = detect(core_month(tables, MONTH), tables, backend="duckdb", config=FIRST)
    key = ["unit_id", "benefit"]
    assert other.flags.select(*key, "grade").sort(key).equals(run.flags.select(*key, "grade").sort(key))
    assert other.summary["downgraded_by_resource_lines_behind"] == run.summary["downgraded_by_resource_lines_behind"]


def test_a_partition_reads_the_reach_of_the_whole_extract(behind):
    """In a partitioned run a part holding only people whose DRM lines stop in April would see the DRM reach April
    and nobody behind; the reach is the extract's, over the whole population (``CoreMonth.resource_windows``)."""
    tables, _ = behind
    core = core_month(tables, MONTH)
    sources = ["drm"]
    part = {**tables, "resources": tables["resources"].filter(pl.col("person_id") == "p-april")}
    alone = resource_lines_behind(part, core.inputs.individu, MONTH, sources, behind=2)
    assert alone.is_empty()  # the part's own reach is April: nothing behind, the fact the windows bring back
    whole = resource_lines_behind(part, core.inputs.individu, MONTH, sources, behind=2,
                                  windows=core.resource_windows)
    assert whole.select("person_id", "last").rows() == [("p-april", APRIL)]


def test_the_dgfips_yearly_rows_spread_over_months_do_not_report_the_person_since(behind):
    """The connectors spread a DGFiP yearly amount over twelve months: such a row says nothing of the months after
    the last DRM line (in January or February, the year N-1's rows would otherwise hide every stop)."""
    tables, _ = behind
    core = core_month(tables, MONTH)
    spread = pl.DataFrame({"person_id": ["p-april"] * 2, "month": [dt.date(2026, 5, 1), MONTH],
                           "kind": ["salary_taxable"] * 2, "amount": [1200.0] * 2,
                           "source_agency": ["dgfip"] * 2})
    res = tables["resources"]
    with_dgfip = {**tables, "resources": pl.concat([res, spread], how="diagonal_relaxed")}
    rows = resource_lines_behind(with_dgfip, core.inputs.individu, MONTH, ["drm"], behind=2)
    assert ("p-april", APRIL) in rows.select("person_id", "last").rows()



def _invalidity_territory() -> dict[str, pl.DataFrame]:
    """CAF familles with no DRM line for the invalidity pensions the CNAM reports. ``inval``: a couple, the
    demandeur earning 1,100 € at the DRM, the conjoint drawing 700 € of invalidity pension whose CNAM lines stop
    in April, nothing since; ``retired``: a single pensioner whose CNAM lines stop in April and whom the CNAV
    reports a pension for since (the invalidity pension becomes a retirement pension at the legal age);
    ``aredone``: a single person whose unemployment benefit, France Travail's, stops in April (the rights
    ended: unemployment is not checked); ``steady``: an invalidity pensioner whose CNAM lines go on (the CNAM's
    extract reaches June)."""
    t = Territory()
    t.famille("inval", age=40, salary=1100.0)
    for name in ("retired", "aredone", "steady"):
        t.famille(name, age=55)
    t.persons.append({**t.persons[0], "person_id": "p-inval-c"})
    t.members += [{**m, "person_id": "p-inval-c", "role": {"famille": "conjoint", "menage": "conjoint"}
                   .get(m["unit_kind"], m["role"])} for m in t.members if m["person_id"] == "p-inval"]
    for m in MONTHS:
        t.resources.append({"person_id": "p-steady", "month": m, "kind": "invalidity_pension", "amount": 700.0,
                            "source_agency": "cnam"})
        if m <= APRIL:
            for pid in ("p-inval-c", "p-retired"):
                t.resources.append({"person_id": pid, "month": m, "kind": "invalidity_pension", "amount": 700.0,
                                    "source_agency": "cnam"})
            t.resources.append({"person_id": "p-aredone", "month": m, "kind": "unemployment_benefit",
                                "amount": 700.0, "source_agency": "france_travail"})
        else:
            for kind in ("pension_net", "pension_gross"):
                t.resources.append({"person_id": "p-retired", "month": m, "kind": kind, "amount": 700.0,
                                    "source_agency": "cnav"})
    return t.tables()


@pytest.fixture(scope="module")
def invalidity() -> tuple[dict[str, pl.DataFrame], object]:
    tables = _invalidity_territory()
    return tables, detect(core_month(tables, MONTH), tables, config=FIRST)


def test_invalidity_pension_lines_stopping_at_the_cnam_are_lines_behind(invalidity):
    """The CNAM declares every invalidity pension it pays (``CoreConfig.exhaustive``): the conjoint's lines
    stopping in April with nothing since read May as no income, and the couple's prime d'activité appears. Found
    at 100,000 persons: a couple whose invalidity pension only the CNAM reported, until April, flagged a probable
    prime d'activité the truth denies."""
    _, run = invalidity
    flag = flag_row(run, "inval", "ppa")
    assert (flag["status"], flag["grade"]) == ("non_take_up", "possible")
    assert flag["reasons"][1].startswith("Signalement ramené à « possible » : l'Assurance maladie transmet les "
                                         "ressources d'un membre du foyer jusqu'en 04/2026 et plus rien depuis")
    assert run.summary["downgraded_by_resource_lines_behind"]["ppa"] == 1


def test_a_successor_income_or_an_unemployment_benefit_ending_stays(invalidity):
    """``retired``: the CNAV reports a pension since, no line behind; ``aredone``: an unemployment benefit ends with
    the rights, the stop a minimum income follows (``DetectionConfig.lines_behind_inputs`` leaves it out): its
    RSA stays probable."""
    tables, run = invalidity
    core = core_month(tables, MONTH)
    rows = resource_lines_behind(tables, core.inputs.individu, MONTH, ["drm", "cnam"], behind=2)
    assert rows.get_column("person_id").to_list() == ["p-inval-c"]
    unit = _unit(run, "aredone", "rsa")
    assert (unit["status"], unit["grade"]) == ("non_take_up", "probable")


def test_the_inputs_checked_are_configured(invalidity):
    tables, _ = invalidity
    assert FIRST.lines_behind_inputs == ("salary_net", "invalidity_pension")
    run = detect(core_month(tables, MONTH), tables,
                 config=FIRST.model_copy(update={"lines_behind_inputs": ("salary_net",)}))
    assert _unit(run, "inval", "ppa")["grade"] == "probable"


def test_a_line_missing_in_the_month_itself_caps_the_rsa_that_sets_the_salary_aside(behind):
    """``may``: 1,100 € a month until May, June's line not in (a DSN declared late, a seasonal worker between two
    contracts): the RSA sets aside a salary stopped in the month itself (CASF art. R262-13), so its whole quarter
    goes with June's missing line and a salaried person gets the full RSA, possible at most (found probing a
    territory written from the docs alone, probe hh18: a seasonal worker « RSA certain 573.49 »). The prime
    d'activité, which sets nothing aside, keeps its grade (above)."""
    _, run = behind
    unit = _unit(run, "may", "rsa")
    assert (unit["status"], unit["grade"]) == ("non_take_up", "possible")
    assert run.summary["downgraded_by_resource_lines_behind"]["rsa"] == 1
    assert flag_row(run, "may", "rsa")["reasons"][1].startswith(
        "Signalement ramené à « possible » : le DRM de l'Assurance retraite transmet les ressources d'un membre du "
        "foyer jusqu'en 05/2026 et plus rien depuis")
