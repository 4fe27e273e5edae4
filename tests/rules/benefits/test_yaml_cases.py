"""YAML cases of our own (OpenFisca test format as a model): one file per benefit under tests/rules/cases.

Each case has ``name``, ``period`` (evaluated month), ``input`` (a situation without id and month) and
``output`` (famille rules and their expected values, amounts within ``absolute_error_margin``, 0.01 by
default). All cases run in one batch per backend, the way ``nonrecours simulate`` runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from nonrecours.simulation import load_situations
from nonrecours.simulation.runner import simulate_batch

CASES_DIR = Path(__file__).resolve().parents[1] / "cases"


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


@pytest.fixture(scope="module", params=["polars", "duckdb"])
def results(request):  # type: ignore[no-untyped-def]
    targets = sorted({k for _, c in CASES for k in c["output"]})
    batch = load_situations([_situation(cid, c) for cid, c in CASES])
    assert batch.errors == []
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
