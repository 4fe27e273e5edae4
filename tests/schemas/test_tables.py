"""Canonical tables: contracts reject broken rows naming the column; bulk validation names row and column."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nonrecours.errors import SchemaError
from nonrecours.schemas import BENEFITS_PAID, CLAIMS, HOUSING, PERSONS, RESOURCES, TABLES, UNIT_MEMBERSHIPS

PROV = {"source_agency": "caf", "extract_id": "caf-2026-06", "extract_date": dt.date(2026, 7, 3)}

PERSON = {
    "person_id": "x" * 43, "birth_month": dt.date(1980, 5, 1), "sex": "F", "nationality_group": "FR",
    "residence_permit_years": None, "depcom": "46042", "disability_rate": 0.0, "student": False,
    "pregnant": False, **PROV,
}
MEMBERSHIP = {"person_id": "p1", "unit_kind": "famille", "unit_id": "f1", "role": "demandeur",
              "valid_from": dt.date(2025, 1, 1), "valid_to": None, **PROV}
RESOURCE = {"person_id": "p1", "month": dt.date(2026, 3, 1), "kind": "salary_net",
            "amount": Decimal("1520.35"), **PROV}


@pytest.mark.parametrize(
    ("base", "spec", "field", "value"),
    [
        (PERSON, PERSONS, "birth_month", dt.date(1980, 5, 14)),
        (PERSON, PERSONS, "sex", "X"),
        (PERSON, PERSONS, "nationality_group", "US"),
        (PERSON, PERSONS, "depcom", "4604"),
        (PERSON, PERSONS, "disability_rate", 1.5),
        (PERSON, PERSONS, "source_agency", "pole_emploi"),
        (PERSON, PERSONS, "extract_id", " "),
        (MEMBERSHIP, UNIT_MEMBERSHIPS, "valid_from", dt.date(2025, 1, 2)),
        (RESOURCE, RESOURCES, "amount", Decimal("-3.00")),
        (RESOURCE, RESOURCES, "amount", Decimal("3.001")),
        (RESOURCE, RESOURCES, "kind", "lottery"),
        (RESOURCE, RESOURCES, "month", dt.date(2026, 3, 31)),
    ],
)
def test_contract_rejects_a_broken_field_naming_it(base, spec, field, value):
    spec.validate_row(base)  # the base row is valid
    with pytest.raises(SchemaError) as err:
        spec.validate_row({**base, field: value})
    assert err.value.column == field
    assert field in str(err.value)


def test_contract_checks_relations_between_fields():
    with pytest.raises(SchemaError, match="role not allowed"):
        UNIT_MEMBERSHIPS.validate_row({**MEMBERSHIP, "unit_kind": "foyer_fiscal", "role": "demandeur"})
    with pytest.raises(SchemaError, match="not for nationality_group FR"):
        PERSONS.validate_row({**PERSON, "residence_permit_years": 3})
    # an EEA national's years of residence are what the RSA's right-of-residence test reads: kept
    PERSONS.validate_row({**PERSON, "nationality_group": "EEA_CH", "residence_permit_years": 3})
    paid = {"unit_kind": "famille", "unit_id": "f", "person_id": "p", "benefit": "rsa",
            "month": dt.date(2026, 1, 1), "amount": Decimal(600), "paying_agency": "msa", **PROV}
    # a payment to a unit may name its payee (the MSA's line of the insured person, docs/connectors/msa.md)
    BENEFITS_PAID.validate_row(paid)
    with pytest.raises(SchemaError, match="unit_id or person_id must be set"):
        BENEFITS_PAID.validate_row({**paid, "unit_kind": None, "unit_id": None, "person_id": None})
    with pytest.raises(SchemaError, match="exactly one of unit_id and person_id"):
        CLAIMS.validate_row({"unit_kind": "famille", "unit_id": "f", "person_id": "p", "benefit": "rsa",
                             "event": "pending", "event_date": dt.date(2026, 1, 1), **PROV})


def test_contract_errors_never_quote_the_identifier():
    secret = "1800546042123" + "45"
    with pytest.raises(SchemaError) as err:
        PERSONS.validate_row({**PERSON, "person_id": secret, "sex": "?"})
    assert secret not in str(err.value)


def _resources(n: int) -> pl.DataFrame:
    return pl.DataFrame({
        "person_id": [f"p{i}" for i in range(n)],
        "month": [dt.date(2026, 1 + i % 12, 1) for i in range(n)],
        "kind": pl.Series(["salary_net"] * n, dtype=RESOURCES.schema["kind"]),
        "amount": pl.Series([Decimal("100.50")] * n, dtype=RESOURCES.schema["amount"]),
        "source_agency": pl.Series(["caf"] * n, dtype=RESOURCES.schema["source_agency"]),
        "extract_id": ["e"] * n,
        "extract_date": [dt.date(2026, 7, 1)] * n,
    })


def test_validate_frame_accepts_valid_and_reorders_columns():
    df = _resources(5)
    out = RESOURCES.validate_frame(df.select(reversed(df.columns)))
    assert out.columns == list(RESOURCES.schema)


@pytest.mark.parametrize(
    ("mutate", "column", "message"),
    [
        (lambda df: df.drop("amount"), "amount", "missing column"),
        (lambda df: df.with_columns(extra=pl.lit(1)), "extra", "not in the canonical schema"),
        (lambda df: df.with_columns(pl.col("amount").cast(pl.Float64)), "amount", "dtype"),
        (lambda df: df.with_columns(pl.col("month").dt.offset_by("3d")), "month", "first day"),
    ],
)
def test_validate_frame_names_the_column(mutate, column, message):
    with pytest.raises(SchemaError, match=message) as err:
        RESOURCES.validate_frame(mutate(_resources(4)))
    assert err.value.column == column


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 30), data=st.data())
def test_validate_frame_reports_the_first_bad_row(n, data):
    """Corrupting any one row (negative amount, null id or duplicated key) is located exactly."""
    bad = data.draw(st.integers(0, n - 1))
    fault = data.draw(st.sampled_from(["negative", "null", "duplicate"]))
    df = _resources(n).with_columns(pl.col("month").alias("month"))
    df = df.with_columns(pl.Series("month", [dt.date(2000 + i, 1, 1) for i in range(n)]))  # unique keys
    idx = pl.int_range(pl.len()) == bad
    if fault == "negative":
        df = df.with_columns(pl.when(idx).then(-pl.col("amount")).otherwise(pl.col("amount")).alias("amount"))
        column = "amount"
    elif fault == "null":
        df = df.with_columns(pl.when(idx).then(None).otherwise(pl.col("person_id")).alias("person_id"))
        column = "person_id"
    else:
        if bad == 0:
            bad = 1
        df = df.with_columns(
            pl.when(pl.int_range(pl.len()) == bad).then(pl.col("person_id").first()).otherwise(pl.col("person_id"))
            .alias("person_id"),
            pl.when(pl.int_range(pl.len()) == bad).then(pl.col("month").first()).otherwise(pl.col("month"))
            .alias("month"),
        )
        column = "person_id"
    with pytest.raises(SchemaError) as err:
        RESOURCES.validate_frame(df)
    assert err.value.column == column
    assert err.value.row == (0 if fault == "duplicate" else bad)


def test_every_table_has_provenance_and_an_empty_frame_validates():
    for spec in TABLES.values():
        assert {"source_agency", "extract_id", "extract_date"} <= set(spec.schema)
        spec.validate_frame(spec.empty())


def test_housing_rejects_negative_rent_and_unknown_status():
    with pytest.raises(SchemaError, match="rent"):
        HOUSING.validate_row({"menage_id": "m", "month": dt.date(2026, 1, 1), "status": "tenant",
                              "rent": Decimal("-1"), **PROV})
    with pytest.raises(SchemaError, match="status"):
        HOUSING.validate_row({"menage_id": "m", "month": dt.date(2026, 1, 1), "status": "castle",
                              "rent": Decimal("1"), **PROV})


def test_housing_colocation_and_room_are_a_tenants():
    """A colocataire's share or a room is let to a tenant: the row contract and the bulk check refuse them for
    another status; unknown (null) is accepted for every status."""
    row = {"menage_id": "m", "month": dt.date(2026, 1, 1), "status": "tenant_furnished", "rent": Decimal("300"),
           **PROV}
    HOUSING.validate_row({**row, "colocation": True, "chambre": False})
    HOUSING.validate_row({**row, "status": "owner", "rent": Decimal("0")})
    for flag in ("colocation", "chambre"):
        with pytest.raises(SchemaError, match=flag[:5]):
            HOUSING.validate_row({**row, "status": "owner", "rent": Decimal("0"), flag: True})
    frame = pl.DataFrame({**{k: [v, v] for k, v in row.items()}, "status": ["social_tenant", "foyer"],
                          "colocation": [True, None], "chambre": [None, True], "loan_date": [None, None]}).cast(
        {c: t for c, t in HOUSING.schema.items()})
    with pytest.raises(SchemaError) as err:
        HOUSING.validate_frame(frame)
    assert err.value.column == "chambre"


def test_housing_loan_date_is_an_accedants():
    """The loan's signature date belongs to an accédant (owner_with_loan): refused for another status by the row
    contract and the bulk check; unknown (null) is accepted for every status."""
    row = {"menage_id": "m", "month": dt.date(2026, 1, 1), "status": "owner_with_loan", "rent": Decimal("520"),
           **PROV}
    HOUSING.validate_row({**row, "loan_date": dt.date(2016, 3, 1)})
    HOUSING.validate_row({**row, "status": "tenant", "loan_date": None})
    with pytest.raises(SchemaError, match="loan_date"):
        HOUSING.validate_row({**row, "status": "owner", "rent": Decimal("0"), "loan_date": dt.date(2016, 3, 1)})
    frame = pl.DataFrame({**{k: [v, v] for k, v in row.items()}, "status": ["owner_with_loan", "tenant"],
                          "colocation": [None, None], "chambre": [None, None],
                          "loan_date": [dt.date(2015, 1, 1), dt.date(2015, 1, 1)]}).cast(
        {c: t for c, t in HOUSING.schema.items()})
    with pytest.raises(SchemaError) as err:
        HOUSING.validate_frame(frame)
    assert err.value.column == "loan_date" and err.value.row == 1


def test_claims_and_payments_share_the_beneficiary_rule():
    from nonrecours.schemas import CLAIMS

    base = {"benefit": "rsa", "event": "pending", "event_date": dt.date(2026, 2, 3), **PROV}
    CLAIMS.validate_row({**base, "person_id": "p"})
    CLAIMS.validate_row({**base, "unit_kind": "famille", "unit_id": "f"})
    with pytest.raises(SchemaError, match="unit_kind goes with unit_id"):
        CLAIMS.validate_row({**base, "unit_id": "f"})
    with pytest.raises(SchemaError, match="exactly one"):
        CLAIMS.validate_row(base)
    bad = pl.DataFrame({**{k: [v] for k, v in base.items()}, "unit_kind": [None], "unit_id": ["f"],
                        "person_id": [None]}).cast({c: t for c, t in CLAIMS.schema.items()})
    with pytest.raises(SchemaError) as err:
        CLAIMS.validate_frame(bad)
    assert err.value.column == "unit_kind"


def test_annual_income_keeps_a_deficit_only_for_self_employment():
    from nonrecours.schemas import ANNUAL_INCOME, TAX_HOUSEHOLDS

    row = {"person_id": "p", "year": 2025, "kind": "self_employment", "amount": Decimal("-1234.00"), **PROV}
    ANNUAL_INCOME.validate_row(row)
    with pytest.raises(SchemaError, match="deficit"):
        ANNUAL_INCOME.validate_row({**row, "kind": "salaries"})
    frame = pl.DataFrame([row, {**row, "kind": "salaries", "amount": Decimal("-1.00")}]).with_columns(
        pl.col("year").cast(pl.Int16), pl.col("kind").cast(ANNUAL_INCOME.schema["kind"]),
        pl.col("amount").cast(pl.Decimal(12, 2)), pl.col("source_agency").cast(ANNUAL_INCOME.schema["source_agency"]))
    with pytest.raises(SchemaError) as err:
        ANNUAL_INCOME.validate_frame(frame)
    assert err.value.row == 1 and err.value.column == "amount"
    TAX_HOUSEHOLDS.validate_row({"unit_id": "f", "year": 2025, "rfr": Decimal("18000.00"), "nb_parts": 2.5, **PROV})
    with pytest.raises(SchemaError, match="nb_parts"):
        TAX_HOUSEHOLDS.validate_row({"unit_id": "f", "year": 2025, "rfr": Decimal("0"), "nb_parts": 0.5, **PROV})
