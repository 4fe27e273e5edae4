"""Canonical tables: Polars schemas, one-row pydantic contracts and bulk validation."""

from nonrecours.schemas.base import AMOUNT, MONTH, PROVENANCE, TableSpec
from nonrecours.schemas.codes import (
    AGENCIES,
    ANNUAL_INCOME_KINDS,
    BENEFITS,
    CLAIM_EVENTS,
    HOUSING_STATUSES,
    NATIONALITY_GROUPS,
    RESOURCE_KINDS,
    ROLES,
    UNIT_KINDS,
)
from nonrecours.schemas.tables import (
    ANNUAL_INCOME,
    BENEFIT_RECEIPTS,
    BENEFITS_PAID,
    CLAIMS,
    HOUSING,
    OPT_OUTS,
    PERSONS,
    RESOURCES,
    TABLES,
    TAX_HOUSEHOLDS,
    UNIT_MEMBERSHIPS,
)

__all__ = [
    "AGENCIES",
    "AMOUNT",
    "ANNUAL_INCOME",
    "ANNUAL_INCOME_KINDS",
    "BENEFITS",
    "BENEFITS_PAID",
    "BENEFIT_RECEIPTS",
    "CLAIMS",
    "CLAIM_EVENTS",
    "HOUSING",
    "HOUSING_STATUSES",
    "MONTH",
    "NATIONALITY_GROUPS",
    "OPT_OUTS",
    "PERSONS",
    "PROVENANCE",
    "RESOURCES",
    "RESOURCE_KINDS",
    "ROLES",
    "TABLES",
    "TAX_HOUSEHOLDS",
    "UNIT_KINDS",
    "UNIT_MEMBERSHIPS",
    "TableSpec",
]
