"""YAML cases of our own (OpenFisca test format as a model): one file per benefit under tests/rules/cases.

Each case has ``name``, ``period`` (evaluated month), ``input`` (a situation without id and month) and
``output`` (famille rules and their expected values, amounts within ``absolute_error_margin``, 0.01 by
default). All cases run in one batch per backend, the way ``nonrecours simulate`` runs.

``aah_versee`` (optional, beside ``input``): the AAH the CAF pays the case's famille every month, as a workspace
gives it (engine inputs ``aah_versee`` and ``aah_versee_connue``). SITUATION_FORMAT.md has no key for it, so it is
not part of the situation: the harness sets those inputs on the batch the situations make.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from nonrecours.simulation import load_situations
from nonrecours.simulation.runner import simulate_batch
from nonrecours.simulation.situations import MONTHS_BACK, SituationBatch

CASES_DIR = Path(__file__).resolve().parents[1] / "cases"
pytestmark = pytest.mark.slow  # the module fixtures' batches: run early (tests/conftest.py)


def _load() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        for k, case in enumerate(yaml.safe_load(path.read_text(encoding="utf-8"))):
            out.append((f"{path.stem}:{k}", case))
    return out


CASES = _load()


def _situation(cid: str, case: dict[str, Any]) -> dict[str, Any]:
    """The case as a situation. The cases of the minima sociaux were computed by hand for a household paid no
    housing aid unless they state one: the situation says so (``benefits_paid.main.aide_logement`` 0, in the
    evaluated month too: ``benefits_paid_in_month``), or
    the rules would compute the aid and the RSA/PPA/CSS would read it. Housing-aid cases state nothing."""
    sit = {"id": cid, "month": str(case["period"]), "depcom": "46042", **case["input"]}
    sit["depcom"] = str(sit["depcom"])
    if not cid.startswith("aide_logement:"):
        paid = {u: dict(v) for u, v in (sit.get("benefits_paid") or {}).items()}
        paid.setdefault("main", {}).setdefault("aide_logement", 0.0)
        sit["benefits_paid"] = paid
        sit.setdefault("benefits_paid_in_month", True)  # paid no aid in the evaluated month either
    return sit


def _with_aah_paid(batch: SituationBatch, paid: dict[str, float]) -> SituationBatch:
    """The AAH paid to each listed case's famille over every month the rules read, known to the rules."""
    fams = batch.unit_index.filter(pl.col("id").is_in(list(paid))).select(
        "famille_id", "month", pl.col("id").replace_strict(paid, return_dtype=pl.Float64).alias("aah"))
    months = fams.join(pl.DataFrame({"k": list(range(-MONTHS_BACK, 1))}), how="cross").select(
        "famille_id", pl.col("month").dt.offset_by(pl.format("{}mo", pl.col("k"))).alias("month"), "aah")
    fm = batch.frames["famille_monthly"]
    fm = fm.join(months, on=["famille_id", "month"], how="full", coalesce=True).with_columns(
        pl.coalesce("aah", "aah_versee").alias("aah_versee")).drop("aah")
    fm = fm.with_columns(pl.col(c).fill_null(0.0) for c in fm.columns if c not in ("famille_id", "month"))
    fam = batch.frames["famille"].with_columns(
        (pl.col("aah_versee_connue") | pl.col("famille_id").is_in(fams["famille_id"].implode())).alias(
            "aah_versee_connue"))
    batch.frames.update(famille=fam, famille_monthly=fm)
    return batch


@pytest.fixture(scope="module", params=["polars", "duckdb"])
def results(request):  # type: ignore[no-untyped-def]
    targets = sorted({k for _, c in CASES for k in c["output"]})
    batch = load_situations([_situation(cid, c) for cid, c in CASES])
    assert batch.errors == []
    batch = _with_aah_paid(batch, {cid: float(c["aah_versee"]) for cid, c in CASES if "aah_versee" in c})
    units = simulate_batch(batch, backend=request.param, targets=tuple(targets)).units
    return {r["id"]: r for r in units.to_dicts()}


def test_there_are_cases_for_every_benefit() -> None:
    stems = {cid.split(":")[0] for cid, _ in CASES}
    assert stems == {"rsa", "ppa", "aspa", "css", "aah_asi", "aide_logement", "af_ars_cheque"}
    assert len(CASES) >= 40


@pytest.mark.parametrize(("cid", "case"), CASES, ids=[f"{cid} {c['name']}" for cid, c in CASES])
def test_case(results, cid: str, case: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    got = results[cid]
    margin = case.get("absolute_error_margin", 0.01)
    for var, expected in case["output"].items():
        if isinstance(expected, bool):
            assert bool(got[var]) is expected, (var, got[var])
        else:
            assert got[var] == pytest.approx(expected, abs=margin), var
