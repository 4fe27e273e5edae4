"""A benefit held in one's own name is claimed by the member who holds it, not by the famille's allocataire.

Found probing a territory written from the docs alone (probe hh19, K90 and K108, 6 December 2026): a couple, the
wife of 60 the CAF's allocataire, the husband of 67 drawing a CNAV pension of 600 €: « ASPA certain 1 020,18 € »
was addressed to the wife (who cannot claim it, CSS art. L815-1), relayed by the CPAM, and the CNAV, which pays
the husband's pension, had no row. The claimant of an ASPA flag is now the parent the rules find of age."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from nonrecours.detection import core_month, detect

from .conftest import FIRST, MONTH, MONTHS, Territory, benefit_row


def _territory() -> dict[str, pl.DataFrame]:
    """Two couples, tenants, nothing paid: in ``wife_first`` the CAF's demandeur is the wife of 60, her husband of 67
    the conjoint; in ``husband_first`` the husband of 67 is the demandeur. Each husband draws 600 € a month from the
    CNAV (net and gross), which knows him alone."""
    t = Territory()
    for name, wife_first in (("wife_first", True), ("husband_first", False)):
        t.famille(name, age=60)
        wife = t.persons[-1]["person_id"]
        husband = f"h-{name}"
        t.persons.append({**t.persons[-1], "person_id": husband, "sex": "M", "source_agency": "cnav",
                          "birth_month": dt.date(MONTH.year - 68, 1, 1)})
        for kind in ("famille", "menage", "foyer_fiscal"):
            t.members.append({"person_id": husband, "unit_kind": kind, "unit_id": f"{kind[0]}-{name}",
                              "role": {"famille": "conjoint", "menage": "conjoint", "foyer_fiscal": "conjoint"}[kind],
                              "valid_from": dt.date(2020, 1, 1), "valid_to": None, "source_agency": "caf"})
        if not wife_first:  # the husband is the CAF's demandeur
            for m in t.members:
                if m["unit_kind"] == "famille" and m["unit_id"] == f"f-{name}":
                    m["role"] = "demandeur" if m["person_id"] == husband else "conjoint"
        for m in MONTHS:
            for kind in ("pension_net", "pension_gross"):
                t.resources.append({"person_id": husband, "month": m, "kind": kind, "amount": 600.0,
                                    "source_agency": "cnav"})
        assert wife == f"p-{name}"
    return t.tables()


@pytest.fixture(scope="module")
def run():  # type: ignore[no-untyped-def]
    tables = _territory()
    return detect(core_month(tables, MONTH), tables, config=FIRST)


@pytest.mark.parametrize("name", ["wife_first", "husband_first"])
def test_the_aspa_is_claimed_by_the_spouse_of_age(run, name: str) -> None:  # type: ignore[no-untyped-def]
    aspa = benefit_row(run, name, "aspa")
    assert aspa["status"] == "non_take_up" and aspa["amount_central"] > 900
    assert aspa["claimant_id"] == f"h-{name}"
    flag = run.flags.filter(pl.col("unit_id").str.ends_with(f":f-{name}") & (pl.col("benefit") == "aspa"))
    assert flag.row(0, named=True)["claimant_id"] == f"h-{name}"
    assert sorted(flag.row(0, named=True)["adult_ids"]) == sorted([f"h-{name}", f"p-{name}"])


def test_the_famille_s_other_benefits_keep_its_demandeur(run) -> None:  # type: ignore[no-untyped-def]
    for benefit in ("css_free", "css_participation", "rsa", "ppa"):
        assert benefit_row(run, "wife_first", benefit)["claimant_id"] == "p-wife_first", benefit
