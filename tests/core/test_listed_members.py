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
from nonrecours.schemas.codes import NET_TO_TAXABLE


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


def _salary_range(core, pid: str) -> tuple[float, float, float]:
    row = core.unknowns.filter((pl.col("id") == pid) & (pl.col("input") == "salary_net")).row(0, named=True)
    return row["low"], row["central"], row["high"]


def test_a_conjoint_the_caf_lists_is_followed_by_the_caf():
    """The same couple with the conjoint in the CAF's dossier and no salary row from it: the CAF answers for the
    resources of the familles it follows, so the conjoint's salary is the CAF's zero where the DGFiP's latest year
    declares none. Where it declares some (38,492 € a year here) that no month of the CAF's shows, the CAF's
    silence is no certain zero either (``core.resources._follower_silence``, 6 December 2026; until then it was,
    and the DGFiP's year did not count): estimated from the declaration, net, from the CAF's 0 up, where the spouse
    the CAF does not list gets the usual estimate's range."""
    core = build_month(_tables(partner_in_dossier=True), M)
    kind, agency, amount = _salary(core, "p-par")
    assert (kind, agency) == ("estimated", "dgfip")
    assert amount == round(38492.0 / 12 / NET_TO_TAXABLE["salary_net"], 2)
    assert _salary_range(core, "p-par")[0] == 0.0                            # the CAF's zero: it may have stopped
    low, central, _ = _salary_range(build_month(_tables(partner_in_dossier=False), M), "p-par")
    assert low == round(central * 0.75, 2)                                   # not followed: ± the spread
    # no salary declared for the latest year: the CAF's zero stands, no unknown
    tables = _tables(partner_in_dossier=True)
    tables["annual_income"] = tables["annual_income"].filter(
        (pl.col("person_id") != "p-par") | (pl.col("year") != 2025))
    tables["unit_memberships"] = pl.concat([tables["unit_memberships"], tables["unit_memberships"].filter(
        (pl.col("person_id") == "p-par") & (pl.col("unit_kind") == "foyer_fiscal"))
        .with_columns(pl.lit(dt.date(2025, 1, 1)).alias("valid_from"))])
    core = build_month(tables, M)
    assert _salary(core, "p-par")[1:] == ("caf", 0.0)
    assert core.unknowns.filter((pl.col("id") == "p-par") & (pl.col("input") == "salary_net")).is_empty()
