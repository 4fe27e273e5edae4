"""`nonrecours synth --extracts` then `nonrecours ingest`: the commands users run, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
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


@pytest.mark.slow
def test_synth_extracts_flag(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["synth", "--persons", "150", "--seed", "2", "--out", str(tmp_path),
                                   "--extracts", "--extract-months", "2"])
    assert res.exit_code == 0, res.output
    for name in ("caf.dat", "cnam.csv", "france_travail.csv", "dgfip.parquet", "cnav.csv", "msa.csv", "drm.csv",
                 "manifest.json"):
        assert (tmp_path / "extracts" / name).stat().st_size > 0
    assert (tmp_path / "truth" / "take_up.parquet").exists()


def test_a_tiny_extract_ending_in_a_blank_line_passes_max_quarantined(tmp_path: Path) -> None:
    """Two records, a commune code without its leading zero and the extra line end a Windows tool leaves: before,
    the blank line was one row in three quarantined (over the default 10 %) and the commune a fault, exit 3."""
    from .test_handwritten_extracts import MSA_HEAD, OLD

    row = f"M0003;{OLD};LAFON;Pierre;12/04/1954;M;ASS;FR;;0;N;N;RET;1004;2000-01;2026-05;"
    src = tmp_path / "msa.csv"
    src.write_bytes((MSA_HEAD + "\r\n" + row + "MEMBRE;0;;\r\n" + row + "RETNET;960,10;;\r\n\r\n").encode("cp1252"))
    res = CliRunner().invoke(app, ["ingest", "--agency", "msa", "--input", str(src), "--exchange", str(EXCHANGE),
                                   "--out", str(tmp_path / "ws"), "--extract-date", "2026-06-28"])
    assert res.exit_code == 0, res.output
    assert "2 rows read, 2 accepted, 0 quarantined (1 blank lines skipped: no record)" in res.output
    assert "repaired: CODE_COMMUNE: leading zero restored (4-digit commune code): 2 values" in res.output
