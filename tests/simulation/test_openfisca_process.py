"""The OpenFisca oracle as a subprocess: the checks before it starts, its failures, and that the package never
imports OpenFisca (AGPL). These tests use stand-ins for the oracle's Python and runner; the real oracle is
exercised by tests/synth/test_truth_engine.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from nonrecours.cli import app
from nonrecours.errors import ConfigError, EngineError
from nonrecours.simulation.openfisca_process import (
    OPENFISCA_FRANCE,
    PYTHON_ENV,
    RUNNER_ENV,
    OpenFiscaPool,
    OpenFiscaProcess,
    famille_values,
    open_oracle,
    oracle_python,
    our_benefits,
)

SRC = Path(__file__).resolve().parents[2] / "src" / "nonrecours"


def _fake_python(tmp_path: Path, version: str) -> Path:
    """An interpreter that reports ``version`` of openfisca-france and otherwise runs this Python."""
    path = tmp_path / "python"
    path.write_text(f'#!/bin/sh\nif [ "$1" = "-c" ]; then echo {version}; exit 0; fi\nexec {sys.executable} "$@"\n')
    path.chmod(0o755)
    return path


def test_a_missing_or_wrong_oracle_is_a_clear_configuration_error(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv(PYTHON_ENV, raising=False)
    with pytest.raises(ConfigError, match="--oracle-python"):
        oracle_python(None)
    with pytest.raises(ConfigError, match="does not exist"):
        oracle_python(tmp_path / "nowhere" / "python")
    with pytest.raises(ConfigError, match="no openfisca-france installed"):
        oracle_python(sys.executable)  # the project's own Python: it must not hold OpenFisca
    pinned = f"holds openfisca-france 175.2.0, the oracle is pinned to {OPENFISCA_FRANCE}"
    with pytest.raises(ConfigError, match=pinned):
        oracle_python(_fake_python(tmp_path, "175.2.0"))
    good = _fake_python(tmp_path, OPENFISCA_FRANCE)
    monkeypatch.setenv(PYTHON_ENV, str(good))
    assert oracle_python(None) == good
    monkeypatch.setenv(RUNNER_ENV, str(tmp_path / "no_runner.py"))
    with pytest.raises(ConfigError, match=RUNNER_ENV):
        OpenFiscaProcess()


def test_a_runner_that_fails_or_miscounts_is_an_engine_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    python = _fake_python(tmp_path, OPENFISCA_FRANCE)
    dying = tmp_path / "dying.py"
    dying.write_text("import sys\nsys.stdin.readline(); print('[]', flush=True)\nsys.stdin.readline()\n"
                     "sys.stderr.write('ValueError: a situation the runner cannot read\\n'); sys.exit(3)\n")
    with OpenFiscaProcess(python, dying) as oracle, pytest.raises(EngineError, match=r"exit 3\):\nValueError"):
        oracle([{"individus": {}}])
    short = tmp_path / "short.py"
    short.write_text("import sys\nfor line in sys.stdin:\n    print('[]', flush=True)\n")
    with OpenFiscaProcess(python, short) as oracle:
        assert oracle([]) == []
        with pytest.raises(EngineError, match="0 results for 2 situations"):
            oracle([{}, {}])


def test_a_pool_cuts_each_batch_and_keeps_the_order(tmp_path) -> None:  # type: ignore[no-untyped-def]
    python = _fake_python(tmp_path, OPENFISCA_FRANCE)
    echo = tmp_path / "echo.py"  # answers each situation with its own id and the process that computed it
    echo.write_text("import json, os, sys\nfor line in sys.stdin:\n"
                    "    out = [{'id': s['id'], 'pid': os.getpid()} for s in json.loads(line)]\n"
                    "    print(json.dumps(out), flush=True)\n")
    with open_oracle(python, echo, workers=3) as pool:
        assert isinstance(pool, OpenFiscaPool)
        out = pool([{"id": k} for k in range(7)])
        assert [r["id"] for r in out] == list(range(7))
        assert len({r["pid"] for r in out}) == 3  # every process computed a part
        assert pool([]) == [] and pool.households == 7
    with open_oracle(python, echo) as one:
        assert isinstance(one, OpenFiscaProcess) and one([{"id": 1}]) == [{"id": 1, "pid": one._proc.pid}]


def test_famille_values_read_back_and_named_as_our_benefits() -> None:
    index = pl.DataFrame({"famille_id": ["F1", "F2"], "position": [0, 0], "famille": ["f0", "f1"],
                          "menage": ["m0", "m1"], "period": ["2026-06", "2026-06"]})
    sits = [{"familles": {"f0": {"parents": ["i0"]}, "f1": {"parents": ["i1"], "enfants": ["i2"]}}}]
    results = [{"familles": {
        "f0": {"rsa": {"2026-06": 512.3}, "ppa": {"2026-06": 0.0}, "aspa": {"2026-06": 0.0},
               "cmu_c": {"2026-06": True}, "css_participation_forfaitaire": {"2026-06": 0.0}},
        "f1": {"rsa": {"2026-06": 0.0}, "ppa": {"2026-06": 88.1}, "aspa": {"2026-06": 0.0},
               "cmu_c": {"2026-06": False}, "css_participation_forfaitaire": {"2026-06": 24.0}}}}]
    values = famille_values(index, sits, results,
                            {"familles": ("rsa", "ppa", "aspa", "cmu_c", "css_participation_forfaitaire")})
    named = our_benefits(values)
    assert named.to_dicts() == [
        {"famille_id": "F1", "rsa": 512.3, "ppa": 0.0, "aspa": 0.0, "css_free": True, "css_participation": False,
         "css_participation_monthly": 0.0},
        {"famille_id": "F2", "rsa": 0.0, "ppa": 88.1, "aspa": 0.0, "css_free": False, "css_participation": True,
         "css_participation_monthly": 24.0}]


def test_the_package_never_imports_openfisca() -> None:
    code = ("import sys, nonrecours.cli, nonrecours.synth.extracts, nonrecours.simulation.openfisca_process, "
            "nonrecours.simulation.differential\n"
            "bad = sorted(m for m in sys.modules if m.startswith('openfisca'))\nassert not bad, bad\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": str(SRC.parent)})
    assert done.returncode == 0, done.stderr
    for path in SRC.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "import openfisca" not in text and "from openfisca" not in text, path


def test_synth_truth_engine_options(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv(PYTHON_ENV, raising=False)
    runner = CliRunner()
    base = ["synth", "--out", str(tmp_path / "t"), "--persons", "20"]
    bad = runner.invoke(app, [*base, "--extracts", "--truth-engine", "openfiscaa"])
    assert bad.exit_code == 2 and "rules, openfisca" in bad.output
    alone = runner.invoke(app, [*base, "--truth-engine", "openfisca"])
    assert alone.exit_code == 2 and "needs --extracts" in alone.output
    missing = runner.invoke(app, [*base, "--extracts", "--truth-engine", "openfisca"])
    assert missing.exit_code == 2 and "--oracle-python" in missing.output
    assert not (tmp_path / "t").exists()  # checked before anything is generated
    demo = runner.invoke(app, ["demo", "--out", str(tmp_path / "d"), "--truth-engine", "openfisca"])
    assert demo.exit_code == 2 and "--oracle-python" in demo.output
    assert not (tmp_path / "d").exists()
