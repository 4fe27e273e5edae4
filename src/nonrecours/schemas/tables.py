"""The canonical, agency-neutral tables every connector produces and the core consumes.

Identifiers here are pseudonyms (keyed HMAC, see ``nonrecours.privacy``), never raw NIRs. Months are
``pl.Date`` on the first of the month; amounts are ``Decimal(12, 2)`` euros.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import ClassVar

import polars as pl
from pydantic import field_validator, model_validator

from nonrecours.schemas.base import AMOUNT, MONTH, PROVENANCE, Check, Provenance, TableSpec, amount_ok
from nonrecours.schemas.codes import (
    ANNUAL_INCOME_KINDS,
    BENEFITS,
    CLAIM_EVENTS,
    HOUSING_STATUSES,
    NATIONALITY_GROUPS,
    RESOURCE_KINDS,
    ROLES,
    SEXES,
    SHARED_RENTAL_STATUSES,
    UNIT_KINDS,
)

__all__ = [
    "ANNUAL_INCOME",
    "BENEFITS_PAID",
    "BENEFIT_RECEIPTS",
    "CLAIMS",
    "HOUSING",
    "LISTINGS",
    "OPT_OUTS",
    "PERSONS",
    "QUALIFIERS",
    "RESOURCES",
    "TABLES",
    "TAX_HOUSEHOLDS",
    "UNIT_MEMBERSHIPS",
    "valid_on",
]

_ID = pl.String()
_CENTS = "amounts carry at most two decimals (cents)"


def _first_day(col: str) -> Check:
    return Check(col, pl.col(col).dt.day() == 1, "a month must be the first day of the month")


def _cents(col: str) -> Check:
    # Decimal(12, 2) already holds cents exactly; the check guards frames built from other scales.
    return Check(col, pl.col(col).cast(pl.Float64).mul(100).round(6).mod(1) == 0, _CENTS)


def _month_ok(v: dt.date | None) -> dt.date | None:
    if v is not None and v.day != 1:
        raise ValueError("a month must be the first day of the month")
    return v


def _one_of(value: str, codes: tuple[str, ...], name: str) -> str:
    if value not in codes:
        raise ValueError(f"{name} must be one of {', '.join(codes)}")
    return value


class _Beneficiary(Provenance):
    """Rows about a unit (``unit_kind`` + ``unit_id``) or a person (``person_id``), never both (``_PAYEE``: a
    payment may name both)."""

    unit_kind: str | None = None
    unit_id: str | None = None
    person_id: str | None = None
    _PAYEE: ClassVar[bool] = False

    @model_validator(mode="after")
    def _one_beneficiary(self) -> _Beneficiary:
        if not self._PAYEE and (self.unit_id is None) == (self.person_id is None):
            raise ValueError("exactly one of unit_id and person_id must be set")
        if self.unit_id is None and self.person_id is None:
            raise ValueError("unit_id or person_id must be set")
        if (self.unit_id is None) != (self.unit_kind is None):
            raise ValueError("unit_kind goes with unit_id")
        if self.unit_kind is not None:
            _one_of(self.unit_kind, UNIT_KINDS, "unit_kind")
        return self


_BENEFICIARY_CHECKS = (
    Check("person_id", pl.col("unit_id").is_null() != pl.col("person_id").is_null(),
          "exactly one of unit_id and person_id must be set"),
    Check("unit_kind", pl.col("unit_id").is_null() == pl.col("unit_kind").is_null(),
          "unit_kind goes with unit_id"),
)
_PAYMENT_CHECKS = (
    Check("person_id", pl.col("unit_id").is_not_null() | pl.col("person_id").is_not_null(),
          "unit_id or person_id must be set"),
    _BENEFICIARY_CHECKS[1],
)
"""A payment to a unit may name its payee too (``person_id``): the MSA pays a dossier's RSA on the insured person's
line (docs/connectors/msa.md), which names him when the dossier's member lines are lost."""


# --- persons ---------------------------------------------------------------------------------------

class PersonRow(Provenance):
    person_id: str
    birth_month: dt.date
    sex: str | None = None
    nationality_group: str | None = None
    residence_permit_years: int | None = None
    depcom: str
    disability_rate: float | None = None
    student: bool | None = None
    pregnant: bool | None = None
    rsdae: bool | None = None
    unfit_for_work: bool | None = None
    recent_isolation: bool | None = None
    born_in_france: bool | None = None
    self_employed: bool | None = None
    birth_month_estimated: bool | None = None

    _birth = field_validator("birth_month")(_month_ok)

    @field_validator("sex")
    @classmethod
    def _sex(cls, v: str | None) -> str | None:
        if v is not None and v not in SEXES:
            raise ValueError("sex must be F or M")
        return v

    @field_validator("nationality_group")
    @classmethod
    def _nat(cls, v: str | None) -> str | None:
        return None if v is None else _one_of(v, NATIONALITY_GROUPS, "nationality_group")

    @field_validator("depcom")
    @classmethod
    def _depcom(cls, v: str) -> str:
        if len(v) != 5 or not (v.isdigit() or (v[:2] in ("2A", "2B") and v[2:].isdigit())):
            raise ValueError("depcom must be a 5-character INSEE commune code")
        return v

    @field_validator("disability_rate")
    @classmethod
    def _rate(cls, v: float | None) -> float | None:
        if v is not None and not 0.0 <= v <= 1.0:
            raise ValueError("disability_rate must be between 0 and 1")
        return v

    @model_validator(mode="after")
    def _permit(self) -> PersonRow:
        if self.residence_permit_years is not None:
            if self.nationality_group == "FR":
                raise ValueError("residence_permit_years is not for nationality_group FR")
            if self.residence_permit_years < 0:
                raise ValueError("residence_permit_years must be >= 0")
        return self


PERSONS = TableSpec(
    name="persons",
    schema={
        "person_id": _ID,
        "birth_month": MONTH,
        "sex": pl.Enum(SEXES),
        "nationality_group": pl.Enum(NATIONALITY_GROUPS),
        "residence_permit_years": pl.Int16(),
        "depcom": pl.String(),
        "disability_rate": pl.Float64(),
        "student": pl.Boolean(),
        "pregnant": pl.Boolean(),
        "rsdae": pl.Boolean(),
        "unfit_for_work": pl.Boolean(),
        "recent_isolation": pl.Boolean(),
        "born_in_france": pl.Boolean(),
        "self_employed": pl.Boolean(),
        "birth_month_estimated": pl.Boolean(),
        **PROVENANCE,
    },
    contract=PersonRow,
    key=("person_id", "source_agency"),
    description="One row per person known to an agency (one per person in the truth).",
    # a fact is null when the agency does not hold it: studies, pregnancy and disability (the CNAV), sex and
    # nationality (the CNAM and the DGFiP, which send a birth month and a commune): unknown to the core
    # born_in_france: read from the NIR's birth place at ingest (``privacy.nir.nir_born_in_france``), null when
    # the number cannot tell (Algeria or Morocco before 1968 under 91-96) or when a mapping does not ask for it;
    # birth_month_estimated: the agency's birth date gave the year only (``00/00/1961``, ``19610000``): its month is
    # the 31 December convention, no agency's statement; null where the field cannot say so (a layout without a day)
    # self_employed: the person works on their own account (a farm's operator, the MSA's STATUT EXP), false for a
    # status that says otherwise (a farm worker, a retiree, a dependant), null where no agency sends a status
    nullable=frozenset({"sex", "nationality_group", "residence_permit_years", "disability_rate", "student",
                        "pregnant", "rsdae", "unfit_for_work", "recent_isolation", "born_in_france",
                        "self_employed", "birth_month_estimated"}),
    checks=(
        _first_day("birth_month"),
        Check("depcom", pl.col("depcom").str.contains(r"^(\d{5}|2[AB]\d{3})$"),
              "depcom must be a 5-character INSEE commune code"),
        Check("disability_rate", pl.col("disability_rate").is_between(0.0, 1.0),
              "disability_rate must be between 0 and 1"),
        Check("residence_permit_years",
              pl.col("residence_permit_years").is_null()
              | ((pl.col("nationality_group") != "FR") & (pl.col("residence_permit_years") >= 0)),
              "residence_permit_years is not for nationality_group FR and must be >= 0"),
        Check("pregnant", ~pl.col("pregnant") | (pl.col("sex") == "F"), "pregnant is only for sex F"),
    ),
)


QUALIFIERS: dict[str, str] = {"birth_month_estimated": "birth_month"}
"""Columns that say how another column's value was read, not a fact of their own: an exchange agreement listing
the column qualified lets its qualifier through (``privacy.ExchangeAgreement.allowed_columns``), so an agreement
written before the qualifier existed does not turn a year-only birth date back into a stated December."""


# --- unit memberships -------------------------------------------------------------------------------

class UnitMembershipRow(Provenance):
    person_id: str
    unit_kind: str
    unit_id: str
    role: str
    valid_from: dt.date
    valid_to: dt.date | None = None

    _months = field_validator("valid_from", "valid_to")(_month_ok)

    @model_validator(mode="after")
    def _role_fits_kind(self) -> UnitMembershipRow:
        _one_of(self.unit_kind, UNIT_KINDS, "unit_kind")
        if self.role not in ROLES[self.unit_kind]:
            raise ValueError(f"role not allowed for unit_kind {self.unit_kind}")
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        return self


_ROLE_FITS = pl.lit(False)
for _kind, _roles in ROLES.items():
    _ROLE_FITS = _ROLE_FITS | ((pl.col("unit_kind") == _kind) & pl.col("role").cast(pl.String).is_in(_roles))

UNIT_MEMBERSHIPS = TableSpec(
    name="unit_memberships",
    schema={
        "person_id": _ID,
        "unit_kind": pl.Enum(UNIT_KINDS),
        "unit_id": _ID,
        "role": pl.Enum(tuple(dict.fromkeys(r for rs in ROLES.values() for r in rs))),
        "valid_from": MONTH,
        "valid_to": MONTH,
        **PROVENANCE,
    },
    contract=UnitMembershipRow,
    key=("person_id", "unit_kind", "valid_from", "source_agency"),
    description=("Who belongs to which famille (CAF family), foyer fiscal and ménage, with which role, "
                 "from which month to which month (inclusive; open when valid_to is null)."),
    nullable=frozenset({"valid_to"}),
    checks=(
        _first_day("valid_from"),
        _first_day("valid_to"),
        Check("role", _ROLE_FITS, "role not allowed for this unit_kind"),
        Check("valid_to", pl.col("valid_to").is_null() | (pl.col("valid_to") >= pl.col("valid_from")),
              "valid_to is before valid_from"),
    ),
)


def valid_on(month: dt.date | pl.Expr) -> pl.Expr:
    """The rows of a dated table (``valid_from`` to ``valid_to``, inclusive; open when ``valid_to`` is null) that
    hold on ``month``: one definition for every reader of the memberships, so that the core, detection, the
    outputs and synth agree on who belongs to a unit in a month."""
    return (pl.col("valid_from") <= month) & (pl.col("valid_to").is_null() | (pl.col("valid_to") >= month))


# --- monthly resources ------------------------------------------------------------------------------

class ResourceRow(Provenance):
    person_id: str
    month: dt.date
    kind: str
    amount: Decimal

    _month = field_validator("month")(_month_ok)
    _amount = field_validator("amount")(amount_ok)

    @field_validator("kind")
    @classmethod
    def _kind(cls, v: str) -> str:
        return _one_of(v, RESOURCE_KINDS, "kind")

    @field_validator("amount")
    @classmethod
    def _non_negative(cls, v: Decimal) -> Decimal:
        if v < 0:
            raise ValueError("amount must be >= 0")
        return v


RESOURCES = TableSpec(
    name="resources",
    schema={
        "person_id": _ID,
        "month": MONTH,
        "kind": pl.Enum(RESOURCE_KINDS),
        "amount": AMOUNT,
        **PROVENANCE,
    },
    contract=ResourceRow,
    key=("person_id", "month", "kind", "source_agency"),
    description="Monthly resources of a person by kind, in euros, as the source agency knows them.",
    checks=(
        _first_day("month"),
        Check("amount", pl.col("amount") >= 0, "amount must be >= 0"),
        _cents("amount"),
    ),
)


# --- annual income and tax households (DGFiP) -------------------------------------------------------

class AnnualIncomeRow(Provenance):
    person_id: str
    year: int
    kind: str
    amount: Decimal

    _amount = field_validator("amount")(amount_ok)

    @model_validator(mode="after")
    def _ok(self) -> AnnualIncomeRow:
        _one_of(self.kind, ANNUAL_INCOME_KINDS, "kind")
        if self.amount < 0 and self.kind != "self_employment":
            raise ValueError("amount must be >= 0 (only self_employment may be a deficit)")
        if not 1900 <= self.year <= 2200:
            raise ValueError("year out of range")
        return self


ANNUAL_INCOME = TableSpec(
    name="annual_income",
    schema={
        "person_id": _ID,
        "year": pl.Int16(),
        "kind": pl.Enum(ANNUAL_INCOME_KINDS),
        "amount": AMOUNT,
        **PROVENANCE,
    },
    contract=AnnualIncomeRow,
    key=("person_id", "year", "kind", "source_agency"),
    description=("Yearly taxable income of a person by kind, as declared to the DGFiP for an income year: "
                 "a yearly amount, never spread over invented months. A self-employment deficit is negative."),
    checks=(
        Check("amount", (pl.col("amount") >= 0) | (pl.col("kind") == "self_employment"),
              "amount must be >= 0 (only self_employment may be a deficit)"),
        _cents("amount"),
    ),
)


class TaxHouseholdRow(Provenance):
    unit_id: str
    year: int
    rfr: Decimal
    nb_parts: float

    _amount = field_validator("rfr")(amount_ok)

    @model_validator(mode="after")
    def _ok(self) -> TaxHouseholdRow:
        if self.rfr < 0:
            raise ValueError("rfr must be >= 0")
        if not self.nb_parts >= 1 or (self.nb_parts * 4) % 1:
            raise ValueError("nb_parts must be >= 1, in quarters")
        return self


TAX_HOUSEHOLDS = TableSpec(
    name="tax_households",
    schema={
        "unit_id": _ID,
        "year": pl.Int16(),
        "rfr": AMOUNT,
        "nb_parts": pl.Float64(),
        **PROVENANCE,
    },
    contract=TaxHouseholdRow,
    key=("unit_id", "year", "source_agency"),
    description=("A foyer fiscal (``unit_id`` as in unit_memberships with unit_kind foyer_fiscal) for an income "
                 "year: its revenu fiscal de référence and its number of parts (quotient familial)."),
    checks=(
        Check("rfr", pl.col("rfr") >= 0, "rfr must be >= 0"),
        _cents("rfr"),
        Check("nb_parts", (pl.col("nb_parts") >= 1) & ((pl.col("nb_parts") * 4).mod(1) == 0),
              "nb_parts must be >= 1, in quarters"),
    ),
)


# --- benefits paid ----------------------------------------------------------------------------------

class BenefitPaidRow(_Beneficiary):
    _PAYEE: ClassVar[bool] = True
    benefit: str
    month: dt.date
    amount: Decimal
    paying_agency: str

    _month = field_validator("month")(_month_ok)
    _amount = field_validator("amount")(amount_ok)

    @model_validator(mode="after")
    def _benefit(self) -> BenefitPaidRow:
        _one_of(self.benefit, BENEFITS, "benefit")
        return self


BENEFITS_PAID = TableSpec(
    name="benefits_paid",
    schema={
        "unit_kind": pl.Enum(UNIT_KINDS),
        "unit_id": _ID,
        "person_id": _ID,
        "benefit": pl.Enum(BENEFITS),
        "month": MONTH,
        "amount": AMOUNT,
        "paying_agency": pl.Enum(PROVENANCE["source_agency"].categories.to_list()),
        **PROVENANCE,
    },
    contract=BenefitPaidRow,
    key=("unit_kind", "unit_id", "person_id", "benefit", "month", "source_agency"),
    netted="amount",
    description=("Benefits paid for a month, to a unit (famille, foyer) or to a person (ASPA, AAH...), "
                 "with the agency that paid them. A row says the benefit is in payment that month; its amount "
                 "is the net paid and is negative when a regularisation (recovery of an overpayment of "
                 "earlier months) exceeds the month's due."),
    nullable=frozenset({"unit_kind", "unit_id", "person_id"}),
    checks=(
        _first_day("month"),
        _cents("amount"),
        *_PAYMENT_CHECKS,
    ),
)


class BenefitReceiptRow(Provenance):
    person_id: str
    benefit: str
    month: dt.date

    _month = field_validator("month")(_month_ok)

    @model_validator(mode="after")
    def _benefit(self) -> BenefitReceiptRow:
        _one_of(self.benefit, BENEFITS, "benefit")
        return self


BENEFIT_RECEIPTS = TableSpec(
    name="benefit_receipts",
    schema={
        "person_id": _ID,
        "benefit": pl.Enum(BENEFITS),
        "month": MONTH,
        **PROVENANCE,
    },
    contract=BenefitReceiptRow,
    key=("person_id", "benefit", "month", "source_agency"),
    description=("A person an agency that does not pay the benefit reports as its recipient (claimant or "
                 "partner of the famille paid) for a month, without the amount: France Travail's « bénéficiaire "
                 "du RSA » (every RSA claimant and partner is registered there since 2025, Code du travail "
                 "L5411-1, 2°). The benefit is received; what is paid stays what the payers report."),
    checks=(_first_day("month"),),
)


class ListingRow(Provenance):
    person_id: str
    month: dt.date

    _month = field_validator("month")(_month_ok)


LISTINGS = TableSpec(
    name="listings",
    schema={
        "person_id": _ID,
        "month": MONTH,
        **PROVENANCE,
    },
    contract=ListingRow,
    key=("person_id", "month", "source_agency"),
    description=("The months an agency's extract lists a person, whatever the line says (the CPAM's file of "
                 "its insured, one line a month, with or without a CSS). A file that lists its people every "
                 "month tells a payment stopped (the person listed, nothing paid) from a person its extract "
                 "no longer carries (not listed: the file behind, the person gone elsewhere), where nothing "
                 "is known of the payment."),
    checks=(_first_day("month"),),
)


# --- housing ----------------------------------------------------------------------------------------

class HousingRow(Provenance):
    menage_id: str
    month: dt.date
    status: str
    rent: Decimal
    colocation: bool | None = None
    chambre: bool | None = None
    loan_date: dt.date | None = None

    _month = field_validator("month")(_month_ok)
    _amount = field_validator("rent")(amount_ok)

    @model_validator(mode="after")
    def _status(self) -> HousingRow:
        _one_of(self.status, HOUSING_STATUSES, "status")
        if self.rent < 0:
            raise ValueError("rent must be >= 0")
        if (self.colocation or self.chambre) and self.status not in SHARED_RENTAL_STATUSES:
            raise ValueError("colocation and chambre are a tenant's (status tenant, tenant_furnished or social_tenant)")
        if self.loan_date is not None and self.status != "owner_with_loan":
            raise ValueError("loan_date is an accédant's (status owner_with_loan)")
        return self


HOUSING = TableSpec(
    name="housing",
    schema={
        "menage_id": _ID,
        "month": MONTH,
        "status": pl.Enum(HOUSING_STATUSES),
        "rent": AMOUNT,
        "colocation": pl.Boolean(),
        "chambre": pl.Boolean(),
        "loan_date": pl.Date(),
        **PROVENANCE,
    },
    contract=HousingRow,
    key=("menage_id", "month", "source_agency"),
    description=("Housing status of a ménage for a month and its rent without charges (the loan "
                 "repayment for owner_with_loan; 0 when nothing is paid); colocation: the rent is a colocataire's "
                 "share of a dwelling let to several tenants; chambre: the dwelling let is a room (both null when "
                 "the agency does not say); loan_date: the day an accédant's loan was signed (null when the "
                 "agency does not say)."),
    nullable=frozenset({"colocation", "chambre", "loan_date"}),
    checks=(
        _first_day("month"),
        Check("rent", pl.col("rent") >= 0, "rent must be >= 0"),
        _cents("rent"),
        *(Check(c, ~pl.col(c).fill_null(False) | pl.col("status").cast(pl.String).is_in(SHARED_RENTAL_STATUSES),
                f"{c} is a tenant's (status tenant, tenant_furnished or social_tenant)")
          for c in ("colocation", "chambre")),
        Check("loan_date", pl.col("loan_date").is_null() | (pl.col("status").cast(pl.String) == "owner_with_loan"),
              "loan_date is an accédant's (status owner_with_loan)"),
    ),
)


# --- claims and opt-outs ----------------------------------------------------------------------------

class ClaimRow(_Beneficiary):
    benefit: str
    event: str
    event_date: dt.date

    @model_validator(mode="after")
    def _ok(self) -> ClaimRow:
        _one_of(self.benefit, BENEFITS, "benefit")
        _one_of(self.event, CLAIM_EVENTS, "event")
        return self


CLAIMS = TableSpec(
    name="claims",
    schema={
        "unit_kind": pl.Enum(UNIT_KINDS),
        "unit_id": _ID,
        "person_id": _ID,
        "benefit": pl.Enum(BENEFITS),
        "event": pl.Enum(CLAIM_EVENTS),
        "event_date": pl.Date(),
        **PROVENANCE,
    },
    contract=ClaimRow,
    key=("unit_kind", "unit_id", "person_id", "benefit", "event", "event_date", "source_agency"),
    description=("Pending claims, refusals and closures, with their dates: a person with a pending claim "
                 "or a recent refusal is not a non-take-up case to contact."),
    nullable=frozenset({"unit_kind", "unit_id", "person_id"}),
    checks=_BENEFICIARY_CHECKS,
)


class OptOutRow(Provenance):
    person_id: str
    benefit: str | None = None
    since: dt.date

    @field_validator("benefit")
    @classmethod
    def _benefit(cls, v: str | None) -> str | None:
        return v if v is None else _one_of(v, BENEFITS, "benefit")


OPT_OUTS = TableSpec(
    name="opt_outs",
    schema={
        "person_id": _ID,
        "benefit": pl.Enum(BENEFITS),
        "since": pl.Date(),
        **PROVENANCE,
    },
    contract=OptOutRow,
    key=("person_id", "benefit", "source_agency"),
    description=("People who objected to being contacted (for one benefit, or for all when benefit is "
                 "null): never in an outreach list."),
    nullable=frozenset({"benefit"}),
)



TABLES: dict[str, TableSpec] = {
    t.name: t for t in (PERSONS, UNIT_MEMBERSHIPS, RESOURCES, ANNUAL_INCOME, TAX_HOUSEHOLDS, BENEFITS_PAID,
                        BENEFIT_RECEIPTS, LISTINGS, HOUSING, CLAIMS, OPT_OUTS)
}

UNIDENTIFIED_MEMBERS = "unidentified_members"
"""Workspace folder (not a canonical table: no person) of the memberships quarantined lines state without an
identifiable person: unit_kind, unit_id (pseudonym), role, valid_from, valid_to, the NIR's fault reason, the
member's birth_month, sex and depcom where the line states them (null otherwise, and in files ingested before
they were kept) and the provenance columns (``connectors.parse.unidentified_members``). The core reads a
dossier's adult there as a member it cannot see: the couple is unknown, never single; detection reads a paid
dossier's adult there as a payment that may be a flagged famille's (``detection.receipts.unidentified_payee``)."""

UNIDENTIFIED_NEIGHBOURS = "nir_neighbours"
"""The ``UNIDENTIFIED_MEMBERS`` column of the pseudonyms of the valid NIRs a single typing slip (a digit replaced,
two adjacent swapped) from the line's number, when only its key failed: the number meant is most often among them,
which a person some agency knows under one of them tells (``detection.receipts.unidentified_paid``)."""

UNIDENTIFIED_DESCRIBED = ("birth_month", "sex", "depcom")
"""The ``persons`` columns an ``UNIDENTIFIED_MEMBERS`` row keeps of its member: not enough to identify anyone, enough
for detection to tell that a paid dossier may be a flagged famille's."""
