"""A dossier whose allocataire's row the agency's extract lost this month (the MSA carries its payments on
that row): its payments stop with the row, which is no evidence of non-take-up. Found on the France 100,000
territory: every one of the 30 false allocations familiales alarms was an MSA dossier whose assuré's rows
stopped two months before the extract, the payments with them (docs/detection.md, issue 8)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import polars as pl

from nonrecours.detection import core_month, detect
from nonrecours.detection.receipts import allocataire_lost

from .conftest import FIRST, MONTH, MONTHS, Territory


def _territory(row_lost: bool) -> dict[str, pl.DataFrame]:
    """Two adults of the dossier f-lost, the demandeur and the conjoint, no income, paid the RSA until April;
    ``row_lost``: the extract lists the demandeur in the famille until April only (the core then finds them on
    the couple's joint declaration, so the famille is whole)."""
    t = Territory()
    t.famille("lost")
    t.famille("plain")                                    # a neighbour never paid: a certain non-take-up
    t.persons.append({**t.persons[0], "person_id": "p-lost-b"})
    for kind, role in (("famille", "conjoint"), ("menage", "conjoint"), ("foyer_fiscal", "declarant")):
        t.members.append({"person_id": "p-lost-b", "unit_kind": kind, "unit_id": f"{kind[0]}-lost", "role": role,
                          "valid_from": dt.date(2020, 1, 1), "valid_to": None, "source_agency": "caf"})
    for m in t.members:  # the couple's joint declaration is the DGFiP's (it declares no income: 0, not unknown)
        if m["person_id"] in ("p-lost", "p-lost-b") and m["unit_kind"] == "foyer_fiscal":
            m["source_agency"] = "dgfip"
    if row_lost:
        for m in t.members:
            if m["person_id"] == "p-lost" and m["unit_kind"] == "famille":
                m["valid_to"] = dt.date(2026, 4, 30)
    t.pay("lost", "rsa", 900.0, months=[m for m in MONTHS if dt.date(2026, 2, 1) <= m <= dt.date(2026, 4, 1)])
    tables = t.tables()
    # the DGFiP's year 2025 for the couple and the neighbour: nothing declared
    tables["annual_income"] = pl.DataFrame(
        {"person_id": ["p-lost", "p-lost-b", "p-plain"], "year": [2025] * 3, "kind": ["salaries"] * 3,
         "amount": [0.0] * 3, "source_agency": ["dgfip"] * 3, "extract_id": ["dgfip"] * 3,
         "extract_date": [dt.date(2026, 6, 28)] * 3}, schema_overrides={"year": pl.Int16})
    return tables


def _core(tables: dict[str, pl.DataFrame]):  # type: ignore[no-untyped-def]
    """The month's core, the invalidity pension of the demandeur the core added taken as known (no health
    fund in this territory: the grade would be possible for that alone, which is not the question here)."""
    core = core_month(tables, MONTH)
    return replace(core, unknowns=core.unknowns.filter(
        ~((pl.col("id") == "p-lost") & (pl.col("input") == "invalidity_pension"))))


def _flag(run, name: str) -> dict:
    rows = run.flags.filter(pl.col("unit_id").str.ends_with(f":f-{name}") & (pl.col("benefit") == "rsa"))
    assert rows.height == 1
    return rows.row(0, named=True)


def test_the_dossier_without_its_allocataire_this_month_is_found():
    assert allocataire_lost(_territory(True), MONTH).get_column("famille_id").to_list() == ["caf:f-lost"]
    assert allocataire_lost(_territory(False), MONTH).is_empty()
    # in April the demandeur is still listed
    assert allocataire_lost(_territory(True), dt.date(2026, 4, 1)).is_empty()


def test_a_stop_of_payments_with_the_allocataires_row_is_possible_at_most():
    tables = _territory(True)
    run = detect(_core(tables), tables, config=FIRST)
    lost = _flag(run, "lost")
    assert lost["grade"] == "possible" and lost["status"] == "non_take_up"
    assert lost["reasons"][1].startswith("Signalement ramené à « possible » : la CAF ne transmet pas ce mois la "
                                         "ligne de l'allocataire de ce dossier")
    assert _flag(run, "plain")["grade"] == "certain"          # never paid: the lost row is not the question
    assert run.summary["downgraded_by_allocataire_row_lost"]["rsa"] == 1


def test_a_stop_of_payments_with_the_allocataire_listed_stays_a_non_take_up():
    """The same stop while the extract still lists the demandeur: a real interruption (a quarterly
    declaration not sent), the case outreach is for."""
    tables = _territory(False)
    run = detect(_core(tables), tables, config=FIRST)
    assert _flag(run, "lost")["grade"] == "certain"
    assert run.summary["downgraded_by_allocataire_row_lost"]["rsa"] == 0
