"""Property: on random small households with random (and often null or missing) inputs, the Polars and
the DuckDB lowerings of the same plan give the same results (floats to 1e-9, everything else exactly)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from toyrules import ALL_TARGETS

from nonrecours.engine import Inputs, evaluate

MONTHS = [dt.date(2024, m, 1) for m in range(1, 8)]
maybe = st.none() | st.just("value")


@st.composite
def households(draw: st.DrawFn) -> tuple[Inputs, dt.date]:
    rows: list[dict] = []
    pid = 0
    n_fam = draw(st.integers(1, 4))
    n_men = draw(st.integers(1, n_fam))
    for fam in range(n_fam):
        menage = draw(st.integers(0, n_men - 1))
        roles = ["demandeur"] + (["conjoint"] if draw(st.booleans()) else []) \
            + ["enfant"] * draw(st.integers(0, 3))
        for k, role in enumerate(roles):
            pid += 1
            adult = role != "enfant"
            rows.append({
                "person_id": draw(st.integers(0, 3)) * 100 + pid,  # ids not in insertion order
                "famille_id": fam, "famille_role": role,
                "foyer_fiscal_id": fam * 10 + (k if draw(st.booleans()) else 0),
                "foyer_fiscal_role": "declarant" if adult else "personne_a_charge",
                "menage_id": menage,
                "menage_role": {"demandeur": "personne_de_reference", "conjoint": "conjoint"}.get(
                    role, draw(st.sampled_from(["enfant", "autre"]))),
                "age": draw(st.none() | st.integers(0, 90)),
                "date_naissance": draw(st.none() | st.dates(dt.date(1930, 1, 1), dt.date(2024, 5, 31))),
                "handicap": draw(st.none() | st.booleans()),
                "statut": draw(st.none() | st.sampled_from(["etudiant", "salarie", "autre"])),
            })
    ind = pl.DataFrame(rows, schema_overrides={"age": pl.Int64, "handicap": pl.Boolean,
                                               "statut": pl.String, "date_naissance": pl.Date})
    money = st.none() | st.integers(0, 300_000).map(lambda c: c / 100)
    mrows = []
    for r in rows:
        for m in draw(st.lists(st.sampled_from(MONTHS), unique=True, max_size=5)):
            mrows.append({"person_id": r["person_id"], "month": m, "salaire": draw(money),
                          "heures": draw(st.none() | st.integers(0, 200))})
    monthly = pl.DataFrame(mrows, schema={"person_id": pl.Int64, "month": pl.Date, "salaire": pl.Float64,
                                         "heures": pl.Int64})
    fam_ids = list(range(n_fam)) + ([99] if draw(st.booleans()) else [])  # maybe a famille with nobody
    famille = pl.DataFrame({"famille_id": fam_ids, "isole": [draw(st.none() | st.booleans()) for _ in fam_ids]},
                           schema_overrides={"isole": pl.Boolean})
    famille_m = pl.DataFrame(
        [{"famille_id": f, "month": m, "aide": draw(money)} for f in range(n_fam)
         for m in draw(st.lists(st.sampled_from(MONTHS), unique=True, max_size=3))],
        schema={"famille_id": pl.Int64, "month": pl.Date, "aide": pl.Float64})
    menage = pl.DataFrame({"menage_id": list(range(n_men)),
                           "zone": [draw(st.none() | st.integers(1, 5)) for _ in range(n_men)]},
                          schema_overrides={"zone": pl.Int64})
    menage_m = pl.DataFrame(
        [{"menage_id": x, "month": m, "loyer": draw(money)} for x in range(n_men)
         for m in draw(st.lists(st.sampled_from(MONTHS), unique=True, max_size=4))],
        schema={"menage_id": pl.Int64, "month": pl.Date, "loyer": pl.Float64})
    foyer_ids = sorted(set(ind["foyer_fiscal_id"].to_list()))
    foyer = pl.DataFrame({"foyer_fiscal_id": foyer_ids,
                          "revenu_fiscal": [draw(money) for _ in foyer_ids]},
                         schema_overrides={"revenu_fiscal": pl.Float64})
    month = draw(st.sampled_from([dt.date(2024, 5, 1), dt.date(2024, 6, 1)]))
    return Inputs(individu=ind, individu_monthly=monthly, famille=famille, famille_monthly=famille_m,
                  menage=menage, menage_monthly=menage_m, foyer_fiscal=foyer), month


def _assert_same(a: pl.DataFrame, b: pl.DataFrame, entity: str) -> None:
    assert a.columns == b.columns, entity
    assert a.schema == b.schema, entity
    assert a.height == b.height, entity
    for col in a.columns:
        x, y = a.get_column(col), b.get_column(col)
        if x.dtype == pl.Float64:
            diff = (x - y).abs() <= 1e-9 * (1 + x.abs())
            assert diff.all(), (entity, col, x.to_list(), y.to_list())
        else:
            assert x.equals(y), (entity, col, x.to_list(), y.to_list())


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(households())
def test_backends_agree(toy_reg, toy_params, case):
    inputs, month = case
    a = evaluate(ALL_TARGETS, inputs, month, registry=toy_reg, parameters=toy_params)
    b = evaluate(ALL_TARGETS, inputs, month, backend="duckdb", registry=toy_reg, parameters=toy_params)
    for entity, frame in a.frames.items():
        assert frame.null_count().sum_horizontal().item() == 0, entity  # nulls never leave the engine
        _assert_same(frame, b.frames[entity], entity)
    assert [x.as_dict() for x in a.bindings] == [x.as_dict() for x in b.bindings]
