"""`nonrecours synth --extracts` then `nonrecours ingest`: the commands users run, end to end."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from nonrecours.cli import app
from nonrecours.privacy import find_leaks

from .conftest import EXCHANGE, Territory


def test_ingest_command(territory: Territory, tmp_path: Path) -> None:
    runner = CliRunner()
    for agency, name in (("caf", "caf.dat"), ("cnav", "cnav.csv")):
        res = runner.invoke(app, ["ingest", "--agency", agency, "--input", str(territory.root / "extracts" / name),
                                  "--exchange", str(EXCHANGE), "--out", str(tmp_path / "ws")])
        assert res.exit_code == 0, res.output
        assert "rows read" in res.output
        report = json.loads((tmp_path / "ws" / "reports" / f"{agency}-{Path(name).stem}.json").read_text())
        assert report["rows_read"] == report["rows_accepted"] + report["rows_quarantined"] > 0
    assert not find_leaks([tmp_path / "ws", res.output], names=territory.names)


def test_ingest_command_reports_file_faults(territory: Territory, tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    res = CliRunner().invoke(app, ["ingest", "--agency", "cnam", "--input", str(tmp_path / "empty.csv"),
                                   "--exchange", str(EXCHANGE), "--out", str(tmp_path / "ws")])
    assert res.exit_code == 3  # input data invalid
    assert "nonrecours: error: empty.csv, line 1: empty file" in res.output


def test_synth_extracts_flag(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["synth", "--persons", "150", "--seed", "2", "--out", str(tmp_path),
                                   "--extracts", "--extract-months", "2"])
    assert res.exit_code == 0, res.output
    for name in ("caf.dat", "cnam.csv", "france_travail.csv", "dgfip.parquet", "cnav.csv", "msa.csv", "drm.csv",
                 "manifest.json"):
        assert (tmp_path / "extracts" / name).stat().st_size > 0
    assert (tmp_path / "truth" / "take_up.parquet").exists()
