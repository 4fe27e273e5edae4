"""``nonrecours entitlements`` writes its amounts to the cent, as the run's rules stage does (docs/run.md): an
outside tester found 826.4800700000001 there against the run's 826.48 (6 December 2026)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from nonrecours.audit.manifest import read_manifest
from nonrecours.cli import app
from nonrecours.core.resources import CoreConfig


def test_the_command_writes_the_runs_entitlements(demo_result, tmp_path: Path) -> None:
    month = read_manifest(demo_result.out)["config"]["months"][0]
    res = CliRunner().invoke(app, ["entitlements", "--workspace", str(demo_result.out / "workspace"), "--month",
                                   month, "--backend", "duckdb", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    mine = pl.read_parquet(tmp_path / f"entitlements-{month}.parquet")
    runs = pl.read_parquet(demo_result.out / "rules" / f"entitlements-{month}.parquet")
    amounts = [c for c in CoreConfig().targets if c in mine.columns and mine.schema[c].is_float()]
    assert amounts and mine.select(pl.col(amounts).round(2)).equals(mine.select(amounts))  # to the cent
    key = runs.columns[0]
    common = [c for c in runs.columns if c in mine.columns]
    assert_frame_equal(mine.select(common).sort(key), runs.select(common).sort(key))
