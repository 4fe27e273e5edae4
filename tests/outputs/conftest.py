"""Fixtures for the outputs: flags, units and provenance frames in detection's and the core's schemas.

Ids are 64-hex pseudonyms as the workspace holds them (never raw ids); secrets are fresh random bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import polars as pl
import pytest

from nonrecours.core.month import PROVENANCE_SCHEMA
from nonrecours.detection.schema import FLAGS_SCHEMA
from nonrecours.privacy import Secret, derive_return_key

MONTH = dt.date(2026, 6, 1)
EXCHANGE, PURPOSE = "cahors-2026", "non-take-up-outreach"


def pid(name: str) -> str:
    """A stable 64-hex pseudonym for a test person or unit."""
    return hashlib.sha256(f"test/{name}".encode()).hexdigest()


def flag(person: str, benefit: str, grade: str, central: float, *, status: str = "non_take_up",
         paid: float = 0.0, adults: tuple[str, ...] = (), unit: str | None = None,
         unknowns: tuple[str, ...] = (), reasons: tuple[str, ...] = (), linked: tuple[str, ...] = ()) -> dict:
    spread = {"certain": 0.05, "probable": 0.25, "possible": 0.6}[grade]
    low = 0.0 if grade == "possible" else round(central * (1 - spread), 2)
    unit_kind = "individu" if benefit == "aspa" else "famille"
    return {
        "month": MONTH, "unit_kind": unit_kind, "unit_id": pid(unit or f"{person}/{unit_kind}"),
        "claimant_id": pid(person), "adult_ids": [pid(person), *(pid(a) for a in adults)], "benefit": benefit,
        "status": status, "grade": grade, "amount_low": low, "amount_central": central,
        "amount_high": round(central * (1 + spread), 2), "paid": paid, "paid_before": paid * 3,
        "deciding_unknowns": list(unknowns), "reasons": list(reasons), "linked": list(linked),
    }


FLAG_ROWS = [
    # Élodie: RSA certain at the CAF, with the CSS it brings; a couple.
    flag("elodie", "rsa", "certain", 612.5, adults=("rene",),
         reasons=("ressources du foyer inférieures au montant forfaitaire (salaires : DGFiP)",
                  "âge d'au moins 25 ans (date de naissance : CAF)"), linked=("css_free",)),
    flag("elodie", "css_free", "probable", 0.0, adults=("rene",), unknowns=("rent",),
         reasons=("bénéficiaire du RSA (estimé)",)),
    # Jérôme, an MSA member: RSA probable goes to the MSA.
    flag("jerome", "rsa", "probable", 310.0, unknowns=("rent", "housing_status"),
         reasons=("ressources inférieures au montant forfaitaire (salaires : MSA)",)),
    # Françoise, 71: ASPA certain at the CNAV and CSS with participation possible at the CNAM (25 € a month: what
    # she would pay, detection's amount of a CSS with participation; the free CSS's is 0).
    flag("francoise", "aspa", "certain", 402.3, reasons=("âge d'au moins 65 ans (CNAV)",
                                                          "pension inférieure au plafond (CNAV)")),
    flag("francoise", "css_participation", "possible", 25.0, unknowns=("alimony_received",),
         reasons=("ressources sous le plafond majoré (CNAV)",)),
    # Noël: CSS gratuite probable only (CPAM).
    flag("noel", "css_free", "probable", 0.0, unknowns=("salary_net",), reasons=("ressources sous le plafond",)),
    # Gaëlle: paid PPA 100 € where 250 € are due.
    flag("gaelle", "ppa", "certain", 250.0, status="under_payment", paid=100.0,
         reasons=("revenus d'activité déclarés (DGFiP)",)),
    # Anaïs: PPA possible and RSA probable; RSA is larger, so the CAF leads.
    flag("anais", "ppa", "possible", 90.0, unknowns=("salary_net",)),
    flag("anais", "rsa", "probable", 180.0, unknowns=("salary_net",)),
    # Loïc is known to France Travail only: the CAF has no record of him.
    flag("loic", "rsa", "probable", 635.0, reasons=("aucun revenu d'activité connu (France Travail)",)),
    # Hélène, MSA member, ASPA possible at the MSA.
    flag("helene", "aspa", "possible", 150.0, unknowns=("pension_gross",)),
]


@pytest.fixture
def flags() -> pl.DataFrame:
    return pl.DataFrame(FLAG_ROWS, schema=FLAGS_SCHEMA)


@pytest.fixture
def affiliations() -> pl.DataFrame:
    rows = [("elodie", "caf"), ("rene", "caf"), ("jerome", "msa"), ("francoise", "cnav"), ("francoise", "cnam"),
            ("noel", "cnam"), ("gaelle", "caf"), ("anais", "caf"), ("loic", "france_travail"),
            ("helene", "msa")]
    return pl.DataFrame([(pid(p), a) for p, a in rows], schema=["person_id", "agency"], orient="row")


@pytest.fixture
def records(affiliations: pl.DataFrame) -> pl.DataFrame:
    """Record numbers per agency: pseudonyms stand in for them until ingest keeps tokens (see outreach)."""
    return affiliations.with_columns(pl.col("person_id").alias("record_id"))


@pytest.fixture
def provenance() -> pl.DataFrame:
    m = dt.date(2026, 5, 1)
    rows = [
        ("individu", pid("elodie"), None, "date_naissance", "observed", "caf", m),
        ("individu", pid("elodie"), MONTH, "salary_net", "observed", "dgfip", dt.date(2026, 4, 1)),
        ("individu", pid("rene"), MONTH, "unemployment", "observed", "france_travail", m),
        ("famille", pid("elodie/famille"), None, "couple_kind", "observed", "caf", m),
        ("menage", pid("elodie/famille"), None, "rent", "unknown", None, None),
        ("individu", pid("francoise"), MONTH, "pension_gross", "observed", "cnav", m),
        ("individu", pid("francoise"), None, "date_naissance", "observed", "cnav", m),
        ("individu", pid("jerome"), MONTH, "salary_net", "estimated", "dgfip", dt.date(2025, 1, 1)),
    ]
    return pl.DataFrame(rows, schema=PROVENANCE_SCHEMA, orient="row")


def agency_secret() -> Secret:
    return Secret(secrets.token_urlsafe(40).encode(), origin="test agency secret")


@pytest.fixture
def return_keys():
    return {a: derive_return_key(agency_secret(), a, EXCHANGE, PURPOSE)
            for a in ("caf", "cnam", "cnav", "msa", "france_travail")}


def as_units(frame: pl.DataFrame) -> pl.DataFrame:
    """A units frame in detection's full schema: the columns a test gives, the others null."""
    from nonrecours.detection.schema import UNITS_SCHEMA

    return frame.with_columns(pl.lit(None, dtype=t).alias(c) for c, t in UNITS_SCHEMA.items()
                              if c not in frame.columns).select(list(UNITS_SCHEMA)).cast(UNITS_SCHEMA)
