"""A disabled descendant living at home is a dependant of the housing aid (CCH art. R823-4, 3°): an incapacity of at
least 80 % or an RSDAE, resources at most 1.25 times the ASPA's individual ceiling of 31 December N-2. Before, only
the children under 21 were counted: a parent earning 1,700 € in Lyon with his son of 23 on the AAH got no aid where
OpenFisca-France pays 123 €."""

from __future__ import annotations

import datetime as dt

import polars as pl
from tests.rules.benefits.evaluated import rules_by_situation

from nonrecours.engine import Inputs, evaluate
from nonrecours.simulation import load_situations

RULES = ["aide_logement", "al_nb_personnes_a_charge"]
MONTH = "2026-04"


def _aid(children: dict[str, dict]) -> dict[str, tuple]:
    """Housing aid and dependants of a parent of 52 earning 1,700 € a month, tenant in Lyon (650 €), with one
    child of each description."""
    return rules_by_situation([{"id": k, "month": MONTH, "depcom": "69123",
                                "housing": {"status": "tenant", "rent": 650},
                                "persons": [{"role": "parent", "age": 52, "monthly": {"salary_net": 1700}},
                                            {"role": "child", **child}]}
                               for k, child in children.items()], RULES, MONTH)


def test_a_disabled_adult_child_is_a_dependant_of_the_housing_aid() -> None:
    got = _aid({
        "ten": {"age": 10},
        "aah_23_85": {"age": 23, "disability_rate": 0.85},
        "aah_35_80": {"age": 35, "disability_rate": 0.8},  # « au moins égale à 80 % » (OpenFisca: over 80 %)
        "rsdae_30_60": {"age": 30, "disability_rate": 0.6, "rsdae": True},
        "plain_23": {"age": 23},
        "earning_23_85": {"age": 23, "disability_rate": 0.85, "monthly": {"salary_net": 1600}},
    })
    assert got["ten"][1] == 1 and got["ten"][0] > 100
    for k in ("aah_23_85", "aah_35_80", "rsdae_30_60"):  # the same aid as with a child of ten: one dependant, no income
        assert got[k] == got["ten"], k
    # not disabled, or resources over the ceiling (1,600 € a month: over 1.25 × 12,144.27 € a year): no dependant
    assert got["plain_23"][1] == 0 and got["earning_23_85"][1] == 0
    assert got["plain_23"][0] == 0.0


def test_the_resource_ceiling_is_the_aspa_ceiling_of_december_n_2() -> None:
    """1.25 × the ASPA's ceiling for a single person in force on 31 December 2024 (12,144.27 €): 15,180.34 € a year
    for April 2026; December 2025's (12,411.44 €) would allow 15,514.30. Children of 25 at 90 % earning 1,250 to
    1,450 € a month: counted exactly when their own resources are at most the first, some between the two."""
    first = dt.date.fromisoformat(f"{MONTH}-01")
    sits = [{"id": str(s), "month": MONTH, "depcom": "69123", "housing": {"status": "tenant", "rent": 650},
             "persons": [{"role": "parent", "age": 52, "monthly": {"salary_net": 1700}},
                         {"role": "child", "age": 25, "disability_rate": 0.9, "monthly": {"salary_net": s}}]}
            for s in range(1250, 1451, 5)]
    batch = load_situations(sits)
    res = evaluate(["al_handicape_a_charge", "al_revenus_activite", "al_pensions"],
                   Inputs(**batch.frames_for_month(first)), first, missing_inputs="default")["individu"]
    child = res.filter(pl.col("al_revenus_activite") > 0).join(
        batch.frames_for_month(first)["individu"].select("person_id", "famille_role"), on="person_id").filter(
        pl.col("famille_role") == "enfant")
    assert child.height == len(sits)
    own = child.get_column("al_revenus_activite") + child.get_column("al_pensions")
    assert child.get_column("al_handicape_a_charge").to_list() == (own <= 15_180.34).to_list()
    assert ((own > 15_180.34) & (own <= 15_514.30)).any() and (own <= 15_180.34).any()
