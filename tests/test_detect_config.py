"""``nonrecours detect --config run.toml`` reads the run's benefits, ``[thresholds]`` and ``[detection]`` through the
run configuration's own models (``run.detection_config``): a run with non-default settings is reproduced by
``detect`` alone, flag for flag. Without it, ``detect`` used the defaults and wrote other flags."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from nonrecours.audit import read_manifest
from nonrecours.cli import app

runner = CliRunner()
NON_DEFAULT = """
[detection]
decisive_unknowns = false
contradicting_payments = []
"""


@pytest.fixture(scope="module")
def tuned_run(demo_result, run_again, tmp_path_factory) -> Path:
    """The demo's extracts, agreement and keys run on Polars with non-default ``[detection]`` and
    ``[thresholds]`` settings (no decisive unknowns, no contradicting payments, an under-payment share of 5 %)."""
    def tune(text: str) -> str:
        assert "under_payment = 0.2\n" in text
        return text.replace("under_payment = 0.2\n", "under_payment = 0.05\n") + NON_DEFAULT

    return run_again(demo_result.out, tmp_path_factory.mktemp("tuned-run"), "polars", ablation=False, edit=tune)


@pytest.mark.slow
def test_detect_with_the_runs_config_writes_the_runs_flags(tuned_run, tmp_path):
    month = read_manifest(tuned_run)["config"]["months"][0]
    ran = pl.read_parquet(tuned_run / "detection" / month / "flags.parquet")
    args = ["detect", "--workspace", str(tuned_run / "workspace"), "--month", month]
    done = runner.invoke(app, [*args, "--out", str(tmp_path / "with"), "--config", str(tuned_run / "run.toml")])
    assert done.exit_code == 0, done.output
    assert_frame_equal(pl.read_parquet(tmp_path / "with" / "flags.parquet"), ran)
    # the settings matter: detect on the defaults names fewer deciding unknowns (the decisive ones only)
    default = runner.invoke(app, [*args, "--out", str(tmp_path / "without")])
    assert default.exit_code == 0, default.output
    plain = pl.read_parquet(tmp_path / "without" / "flags.parquet")
    assert not plain.equals(ran)
    count = pl.col("deciding_unknowns").list.len().sum()
    assert plain.select(count).item() < ran.select(count).item()


def test_a_bad_config_is_a_clear_error_before_any_work(tmp_path):
    """A run.toml that does not validate stops ``detect`` with exit 2, naming the key and its line, before the
    workspace is read (there is none here); so does a file that cannot be read."""
    bad = tmp_path / "run.toml"
    bad.write_text('first_month = "2026-06"\noutput = "."\nexchange = "exchange.toml"\n'
                   'audit_key = { file = "keys/audit.key" }\n[agencies.caf]\nfiles = ["caf.dat"]\n'
                   '[detection]\ndecisive_unknowns = "sometimes"\n', encoding="utf-8")
    args = ["detect", "--workspace", str(tmp_path / "ws"), "--month", "2026-06", "--out", str(tmp_path / "out")]
    done = runner.invoke(app, [*args, "--config", str(bad)])
    assert done.exit_code == 2, done.output
    assert "detection.decisive_unknowns" in done.output and "line 8" in done.output, done.output
    assert not (tmp_path / "out").exists()
    missing = runner.invoke(app, [*args, "--config", str(tmp_path / "absent.toml")])
    assert missing.exit_code == 2 and "absent.toml" in missing.output, missing.output
