"""Hand-made canonical tables for one month: a few familles whose status and grade are known in advance."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from nonrecours.core import UNKNOWNS_SCHEMA, CoreMonth
from nonrecours.detection import DetectionConfig, core_month
from nonrecours.engine.plan import add_months
from nonrecours.schemas.benefits import CATALOGUE

MONTH = dt.date(2026, 6, 1)
FIRST = DetectionConfig(benefits=tuple(b.code for b in CATALOGUE if b.asked in ("rsa", "ppa", "aspa", "css")))
"""The first four benefits only: the hand-made territory below is about them (and each benefit more is another
evaluation of its rules); the second wave has its own territory (test_second_wave.py)."""
MONTHS = [add_months(MONTH, -k) for k in range(12, -1, -1)]


class Territory:
    """Builds canonical tables one famille at a time (one adult, tenant, own ménage and foyer)."""

    def __init__(self) -> None:
        self.persons: list[dict] = []
        self.members: list[dict] = []
        self.resources: list[dict] = []
        self.paid: list[dict] = []
        self.housing: list[dict] = []
        self.claims: list[dict] = []
        self.opt_outs: list[dict] = []
        self.annual: list[dict] = []

    def famille(self, name: str, *, age: int = 40, salary: float = 0.0, pension: float = 0.0,
                agency: str = "caf", death_month: dt.date | None = None) -> str:
        pid = f"p-{name}"
        birth = dt.date(MONTH.year - age - 1, 1, 1)
        self.persons.append({"person_id": pid, "birth_month": birth, "sex": "F", "nationality_group": "FR",
                             "residence_permit_years": None, "depcom": "46042", "disability_rate": 0.0,
                             "student": False, "pregnant": False, "source_agency": agency,
                             "death_month": death_month})
        for kind, role in (("famille", "demandeur"), ("menage", "personne_de_reference"),
                           ("foyer_fiscal", "declarant")):
            self.members.append({"person_id": pid, "unit_kind": kind, "unit_id": f"{kind[0]}-{name}",
                                 "role": role, "valid_from": dt.date(2020, 1, 1), "valid_to": None,
                                 "source_agency": agency})
        for m in MONTHS:
            if salary:
                self.resources.append({"person_id": pid, "month": m, "kind": "salary_net", "amount": salary,
                                       "source_agency": "drm"})
            if pension:
                for kind in ("pension_net", "pension_gross"):
                    self.resources.append({"person_id": pid, "month": m, "kind": kind, "amount": pension,
                                           "source_agency": "cnav"})
            self.housing.append({"menage_id": f"m-{name}", "month": m, "status": "tenant", "rent": 450.0,
                                 "colocation": False, "chambre": False, "source_agency": "caf"})
        return f"f-{name}"

    def child(self, name: str, k: int, born: dt.date, *, since: dt.date = dt.date(2015, 1, 1)) -> None:
        """The famille ``name``'s child number ``k`` (the CAF's): in its famille, ménage and foyer fiscal."""
        pid = f"c-{name}-{k}"
        self.persons.append({"person_id": pid, "birth_month": born, "sex": "F", "nationality_group": "FR",
                             "residence_permit_years": None, "depcom": "46042", "disability_rate": 0.0,
                             "student": False, "pregnant": False, "source_agency": "caf", "death_month": None})
        for kind, role in (("famille", "enfant"), ("menage", "enfant"), ("foyer_fiscal", "personne_a_charge")):
            self.members.append({"person_id": pid, "unit_kind": kind, "unit_id": f"{kind[0]}-{name}", "role": role,
                                 "valid_from": since, "valid_to": None, "source_agency": "caf"})

    def declare(self, name: str, salaries: float = 0.0, years: tuple[int, ...] = (2022, 2023, 2024)) -> None:
        """The DGFiP's yearly income for ``years`` (the years N-2 of the months the rules read) of the famille
        ``name``'s adult (``salaries``) and of its children added so far (none): without it the income of year N-2
        is unknown, and the family benefits are not certain."""
        people = [p["person_id"] for p in self.persons
                  if p["person_id"] == f"p-{name}" or p["person_id"].startswith(f"c-{name}-")]
        for pid in people:
            for y in years:
                self.annual.append({"person_id": pid, "year": y, "kind": "salaries",
                                    "amount": salaries if pid == f"p-{name}" else 0.0, "source_agency": "dgfip"})

    def pay(self, name: str, benefit: str, amount: float, months: list[dt.date] | None = None) -> None:
        for m in months or [MONTH]:
            self.paid.append({"unit_kind": "famille", "unit_id": f"f-{name}", "person_id": None,
                              "benefit": benefit, "month": m, "amount": amount, "source_agency": "caf"})

    def claim(self, name: str, benefit: str, event: str, when: dt.date) -> None:
        self.claims.append({"unit_kind": "famille", "unit_id": f"f-{name}", "person_id": None,
                            "benefit": benefit, "event": event, "event_date": when, "source_agency": "caf"})

    def opt_out(self, name: str, benefit: str | None) -> None:
        self.opt_outs.append({"person_id": f"p-{name}", "benefit": benefit, "since": dt.date(2025, 1, 1),
                              "source_agency": "caf"})

    def tables(self) -> dict[str, pl.DataFrame]:
        out = {
            "persons": pl.DataFrame(self.persons, schema_overrides={"residence_permit_years": pl.Int16,
                                                                    "death_month": pl.Date}),
            "unit_memberships": pl.DataFrame(self.members, schema_overrides={"valid_to": pl.Date}),
            "resources": pl.DataFrame(self.resources, schema={"person_id": pl.String, "month": pl.Date,
                                                             "kind": pl.String, "amount": pl.Float64,
                                                             "source_agency": pl.String}),
            "benefits_paid": pl.DataFrame(self.paid, schema={
                "unit_kind": pl.String, "unit_id": pl.String, "person_id": pl.String, "benefit": pl.String,
                "month": pl.Date, "amount": pl.Float64, "source_agency": pl.String}).with_columns(
                pl.col("source_agency").alias("paying_agency")),
            "housing": pl.DataFrame(self.housing),
        }
        if self.claims:
            out["claims"] = pl.DataFrame(self.claims, schema_overrides={"person_id": pl.String})
        if self.opt_outs:
            out["opt_outs"] = pl.DataFrame(self.opt_outs)
        if self.annual:
            out["annual_income"] = pl.DataFrame(self.annual, schema={
                "person_id": pl.String, "year": pl.Int16, "kind": pl.String, "amount": pl.Float64,
                "source_agency": pl.String})
        # every canonical row says which extract it comes from and its date (the core ranks sources by it)
        extract = [pl.lit("test-extract").alias("extract_id"), pl.lit(dt.date(2026, 6, 28)).alias("extract_date")]
        return {name: frame.with_columns(e for e in extract if e.meta.output_name() not in frame.columns)
                for name, frame in out.items()}


def unit_row(run, name: str) -> dict:  # type: ignore[no-untyped-def]
    """The one ``units`` row of the famille ``name`` (a single benefit's run)."""
    rows = run.units.filter(pl.col("unit_id").str.ends_with(f":f-{name}"))
    assert rows.height == 1
    return rows.row(0, named=True)


def benefit_row(run, name: str, benefit: str) -> dict:  # type: ignore[no-untyped-def]
    """The one ``units`` row of the famille ``name`` for ``benefit``."""
    rows = run.units.filter(pl.col("unit_id").str.ends_with(f":f-{name}") & (pl.col("benefit") == benefit))
    assert rows.height == 1, (name, benefit, rows)
    return rows.row(0, named=True)


def flag_row(run, name: str, benefit: str) -> dict:  # type: ignore[no-untyped-def]
    """The one ``flags`` row of the famille ``name`` for ``benefit``."""
    rows = run.flags.filter(pl.col("unit_id").str.ends_with(f":f-{name}") & (pl.col("benefit") == benefit))
    assert rows.height == 1, (name, benefit, rows)
    return rows.row(0, named=True)


def unknown_salary(person: str, low: float, central: float, high: float, *, informed: bool = True
                   ) -> pl.DataFrame:
    """A salary no agency supplied, for every month the rules read (``informed``: its central value is
    estimated from a declared yearly income; else a conventional value)."""
    return pl.DataFrame([{"entity": "individu", "id": person, "month": m, "input": "salary_net", "low": low,
                          "central": central, "high": high, "reason": "salaire non transmis",
                          "informed": informed}
                         for m in MONTHS], schema=UNKNOWNS_SCHEMA)


@pytest.fixture(scope="module")
def territory() -> tuple[dict[str, pl.DataFrame], CoreMonth]:
    t = Territory()
    t.famille("nothing")                          # no resource, nothing paid: RSA non-take-up, certain
    t.famille("probable")                         # salary unknown, central 0 from a declared income: probable
    t.famille("conventional")                     # salary unknown, conventional central 0: possible only
    t.famille("possible", salary=2500.0)          # salary unknown, central 2500: possible only
    t.famille("paid")
    t.pay("paid", "rsa", 640.0)
    t.pay("paid", "css_free", 0.0)
    t.famille("under")
    t.pay("under", "rsa", 100.0)
    t.famille("rich", salary=3500.0)
    t.pay("rich", "rsa", 300.0)                   # paid but not entitled: a self-check
    t.famille("pending")
    t.claim("pending", "rsa", "pending", dt.date(2026, 5, 20))
    t.famille("refused")
    t.claim("refused", "rsa", "refused", dt.date(2026, 3, 2))
    t.famille("old_refusal")
    t.claim("old_refusal", "rsa", "refused", dt.date(2024, 3, 2))
    t.famille("closed")
    t.claim("closed", "rsa", "closed", dt.date(2026, 5, 2))
    t.famille("optout_all")
    t.opt_out("optout_all", None)
    t.famille("optout_rsa")
    t.opt_out("optout_rsa", "rsa")
    t.famille("dead", death_month=dt.date(2026, 4, 1))
    t.famille("retiree", age=70, pension=400.0, agency="cnav")   # ASPA non-take-up
    tables = t.tables()
    core = core_month(tables, MONTH)
    unknowns = pl.concat([unknown_salary("p-probable", 0.0, 0.0, 3000.0),
                          unknown_salary("p-possible", 0.0, 2500.0, 3000.0),
                          unknown_salary("p-conventional", 0.0, 0.0, 3000.0, informed=False)])
    return tables, CoreMonth(month=MONTH, inputs=core.inputs, unknowns=unknowns)
