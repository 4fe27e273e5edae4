"""core.inputs: an agency that follows a famille (CAF, MSA) declares the resources of the members it lists; a
member the core added from the DGFiP (a spouse on a joint declaration whose row the CAF lost) is not in its
files, so its silence on that member's salary is not an observed zero. Until 29 November 2026 it was: a couple
earning 6,300 € a month, the CAF's dossier showing the demandeur only, was flagged a certain prime d'activité
non-take-up (docs/detection.md, issue 8)."""

from __future__ import annotations

import datetime as dt

import polars as pl
from tests.core.rows import DAY, MONTHS, M, membership, person, territory

from nonrecours.core import build_month


def _tables(partner_in_dossier: bool) -> dict[str, pl.DataFrame]:
    persons = [person("p-dem", dt.date(1983, 8, 1), "caf"), person("p-dem", dt.date(1983, 8, 1), "dgfip"),
               person("p-par", dt.date(1989, 6, 1), "dgfip")]
    mems = [membership("p-dem", "famille", "F1", "demandeur", "caf"),
            membership("p-dem", "menage", "F1", "personne_de_reference", "caf"),
            membership("p-dem", "foyer_fiscal", "FF1", "declarant", "dgfip"),
            membership("p-par", "foyer_fiscal", "FF1", "declarant", "dgfip"),
            membership("p-dem", "menage", "L1", "personne_de_reference", "dgfip"),
            membership("p-par", "menage", "L1", "conjoint", "dgfip")]
    if partner_in_dossier:
        persons.append(person("p-par", dt.date(1989, 6, 1), "caf"))
        mems += [membership("p-par", "famille", "F1", "conjoint", "caf"),
                 membership("p-par", "menage", "F1", "conjoint", "caf")]
    resources = [["p-dem", m, "salary_net", 3300.0, "caf", "caf", DAY] for m in MONTHS]
    income = [[pid, y, "salaries", amount, "dgfip", "dgfip", DAY]
              for y in (2023, 2024, 2025) for pid, amount in (("p-dem", 40653.0), ("p-par", 38492.0))]
    return territory(persons, mems, resources, income)


def _salary(core, pid: str) -> tuple[str, str, float]:
    """How the core knows ``pid``'s net salary (kind, agency) and its value in the evaluated month."""
    prov = core.provenance.filter((pl.col("id") == pid) & (pl.col("input") == "salary_net")).row(0, named=True)
    monthly = core.inputs.individu_monthly.filter((pl.col("person_id") == pid) & (pl.col("month") == M))
    return prov["kind"], prov["source_agency"], float(monthly.get_column("salary_net").item())


def test_a_spouse_the_dgfip_adds_to_a_caf_famille_keeps_the_dgfip_salary():
    core = build_month(_tables(partner_in_dossier=False), M)
    ind = core.inputs.individu.filter(pl.col("person_id") == "p-par")
    assert ind.get_column("famille_id").to_list() == ["caf:F1"]            # the spouse joined the CAF famille
    assert ind.get_column("famille_role").to_list() == ["conjoint"]
    kind, agency, amount = _salary(core, "p-par")
    assert (kind, agency) == ("estimated", "dgfip")                          # not the CAF's observed zero
    assert 2500.0 < amount < 38492.0 / 12 + 1                                # the declared salaries, a month
    # the demandeur the CAF lists keeps the CAF's monthly salary
    assert _salary(core, "p-dem")[1:] == ("caf", 3300.0)


def test_a_conjoint_the_caf_lists_is_followed_by_the_caf():
    """The same couple with the conjoint in the CAF's dossier and no salary row from it: the CAF declares every
    resource of the familles it follows, so the conjoint's salary is the CAF's zero (the DGFiP's older year does
    not override the follower's monthly view)."""
    core = build_month(_tables(partner_in_dossier=True), M)
    assert _salary(core, "p-par")[1:] == ("caf", 0.0)
    assert core.unknowns.filter((pl.col("id") == "p-par") & (pl.col("input") == "salary_net")).is_empty()
