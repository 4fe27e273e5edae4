"""The CSS counts the family benefits of its twelve months of reference (CSS art. R861-8): the allocations
familiales and the ASF paid when the payments are known, the computed entitlements when they are not
(SITUATION_FORMAT.md: a situation without ``benefits_paid`` has them computed for every month). Found on
hand-written situations of lone parents without ``benefits_paid``: the ASF input, unknown, was read as 0, so
their CSS resources lacked twelve months of ASF and they got the free CSS that OpenFisca-France refused."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from nonrecours.engine import Inputs, evaluate
from nonrecours.simulation import load_situations

JUNE = dt.date(2025, 6, 1)
REFERENCE_MONTHS = [f"{y}-{m:02d}" for y, m in [(2024, k) for k in range(6, 13)] + [(2025, k) for k in range(1, 6)]]


def _lone_parent(sid: str, month: str, paid: dict | None) -> dict:
    s = {"id": sid, "month": month, "depcom": "46042", "housing": {"status": "tenant", "rent": 550},
         "persons": [{"role": "parent", "age": 36, "monthly": {"salary_net": 1000}},
                     {"role": "child", "age": 4}, {"role": "child", "age": 13}]}
    if paid is not None:
        s["benefits_paid"] = paid
    return s


def _famille(situations: list[dict], targets: list[str], backend: str) -> pl.DataFrame:
    batch = load_situations(situations)
    assert batch.errors == []
    months = batch.frames["individu"].select("person_id", "famille_id").join(
        batch.unit_index.select("famille_id", "month"), on="famille_id").drop("famille_id")
    return evaluate(targets, Inputs(**batch.frames), months, backend=backend)["famille"].sort("famille_id")


@pytest.mark.parametrize("backend", ["polars", "duckdb"])
def test_css_counts_the_computed_af_and_asf_of_the_year_when_payments_are_unknown(backend: str) -> None:
    """The same lone parent evaluated at each of the twelve months before June 2025 gives the AF and ASF
    entitlements of those months (the BMAF revalued in April in between); the CSS of June sums them."""
    months = _famille([_lone_parent(f"m{k}", m, None) for k, m in enumerate(REFERENCE_MONTHS)],
                      ["af_droit", "asf_droit"], backend)
    assert (months["asf_droit"] > 0).all()  # a lone parent of two children, no maintenance received
    expected = float((months["af_droit"] + months["asf_droit"]).sum())
    june = _famille([_lone_parent("june", "2025-06", None)], ["css_af_asf_annuelles"], backend)
    assert june["css_af_asf_annuelles"][0] == pytest.approx(expected, abs=0.02)


@pytest.mark.parametrize("backend", ["polars", "duckdb"])
def test_css_counts_the_payments_stated(backend: str) -> None:
    """Payments known: twelve months of the AF and ASF stated, whatever the entitlements."""
    paid = {"main": {"af": 100.0, "paje_base": 0.0, "asf": 50.0, "aide_logement": 0.0}}
    june = _famille([_lone_parent("june", "2025-06", paid)], ["css_af_asf_annuelles"], backend)
    assert june["css_af_asf_annuelles"][0] == pytest.approx(12 * 150.0, abs=0.01)
