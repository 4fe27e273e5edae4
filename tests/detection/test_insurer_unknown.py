"""A benefit the person's own health insurance fund serves (the CSS), for a famille no fund whose extract came
knows: whether it receives the CSS is not observed, so its flag is possible at most, and says why. Before, such a
flag read « Droit sur les valeurs centrales, mais certaines ne reposent sur aucune donnée transmise », naming no
unknown (20 CSS flags of the CI demo, people the CAF alone lists): a caseworker looked for an unknown input that
does not exist."""

from __future__ import annotations

import polars as pl
import pytest

from nonrecours.detection import DetectionConfig, core_month, detect

from .conftest import MONTH, Territory

CSS = DetectionConfig(benefits=("css_free", "css_participation"))


@pytest.fixture(scope="module")
def run():
    t = Territory()
    t.famille("caf_only")                 # no resource, listed by the CAF only: no health fund's extract has them
    t.famille("insured", agency="cnam")   # the same, known to the CNAM
    t.famille("covered", agency="cnam")   # the CNAM reports its CSS: the fund's payments are observed
    t.pay("covered", "css_free", 0.0)
    t.paid[-1]["source_agency"] = "cnam"
    tables = t.tables()
    return detect(core_month(tables, MONTH), tables, config=CSS)


def _flag(run, name: str) -> dict:
    rows = run.flags.filter(pl.col("unit_id").str.ends_with(f":f-{name}") & (pl.col("benefit") == "css_free"))
    return rows.row(0, named=True)


def test_a_famille_no_fund_knows_is_possible_and_told_why(run):
    flag = _flag(run, "caf_only")
    assert (flag["status"], flag["grade"]) == ("non_take_up", "possible")
    why = [r for r in flag["reasons"] if r.startswith("Signalement ramené")]
    assert why and "ni l'Assurance maladie ni la MSA ne la connaissent" in why[0], flag["reasons"]
    assert "n'est pas observé" in why[0]
    assert not any("aucune donnée transmise" in r for r in flag["reasons"])


def test_the_same_famille_known_to_its_fund_is_graded_on_its_own_unknowns(run):
    flag = _flag(run, "insured")  # no source of its resources: possible on them, named
    assert flag["status"] == "non_take_up"
    assert not any(r.startswith("Signalement ramené") for r in flag["reasons"]), flag["reasons"]
    assert "salary_net" in flag["deciding_unknowns"]


def test_the_summary_counts_the_flags_it_caps(run):
    # caf_only alone: certain or probable on its values, made possible by the cap
    assert run.summary["downgraded_by_insurer_unknown"] == {"css_free": 1, "css_participation": 0}
    assert run.summary["familles_unknown_to_benefit_payer"]["css_free"] >= 1
