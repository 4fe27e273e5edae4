"""The batch job: run and validate on the demo's configuration, rerun identity, refusal to mix runs,
restart after a kill, and the command line's exit codes."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from tests.conftest import output_hashes
from typer.testing import CliRunner

from nonrecours.audit import read_manifest, verify_run
from nonrecours.cli import app
from nonrecours.config import load_config
from nonrecours.errors import ExtractError, RunConflictError
from nonrecours.run import LOCK, STAGES, STAGING, StageReport, _claim, run, run_file, source_digest, validate

SRC = str(Path(__file__).resolve().parents[1] / "src")


def test_the_run_records_every_stage(demo_run):
    manifest = read_manifest(demo_run)
    # the code's own digest beside its version: two states of one version told apart (probe18, 7 December 2026)
    assert manifest["package"]["source_sha256"] == source_digest() and len(source_digest()) == 64
    stages = {s["name"]: s for s in manifest["stages"]}
    assert [s["name"] for s in manifest["stages"]] == list(STAGES) == ["ingest", "rules", "detection", "ablation",
                                                                       "outputs"]
    ingest = stages["ingest"]
    assert ingest["rows_in"] == ingest["rows_out"] + ingest["counts"]["quarantined"] > 0
    # where each extract's date comes from: the CAF's header record, the others' run.toml (the file date is the
    # run's last resort: test_a_run_stops_on_an_empty_extract); one day for all, the CAF's
    sources = {k: (q["extract_date_source"], q["empty"]) for k, q in manifest["quarantine"].items()}
    assert sources.pop("caf/caf.dat") == ("header", False) and set(sources.values()) == {("given", False)}
    assert {q["extract_date"] for q in manifest["quarantine"].values()} == {"2026-06-28"}
    assert {q["rows_read"] for q in manifest["quarantine"].values()} and len(manifest["inputs"]) == 7  # DRM too
    assert manifest["parameters"]["2026-06"] and all("name" in b for b in manifest["parameters"]["2026-06"])
    assert manifest["keys"]["pseudonym_key_id"] and manifest["agreement"]["purpose"] == "non-take-up-outreach"
    paths = {o["path"] for o in manifest["outputs"]}
    assert "rules/entitlements-2026-06.parquet" in paths and "workspace/reports/caf-caf.json" in paths
    import polars as pl

    fam = pl.read_parquet(demo_run / "rules" / "entitlements-2026-06.parquet")
    assert (fam["rsa"] * 100).round(6).equals((fam["rsa"] * 100).round(0))  # amounts to the cent
    # a stage whose package has no entry point yet says so; it does not invent outputs
    for name in ("detection", "ablation", "outputs"):
        stage = stages[name]
        assert stage["status"] in ("done", "not available")
        if stage["status"] == "not available":
            assert "not in this build" in stage["note"]


@pytest.mark.slow
def test_rerun_gives_identical_outputs(demo_result, tmp_path):
    """On a copy of the session's DuckDB demo (1,500 persons, no ablation: tests/conftest.py): DuckDB's
    parallel execution must not change a byte of any output."""
    folder = Path(shutil.copytree(demo_result.out, tmp_path / "run", symlinks=False))
    before = output_hashes(folder)
    assert before == output_hashes(demo_result.out)
    assert read_manifest(folder)["config"]["backend"] == "duckdb"
    run_file(folder / "run.toml")
    assert output_hashes(folder) == before
    verify_run(folder)
    # the parts a run was cut into, not in the configuration's hash, are in its manifest (a partitioned rerun's
    # files hold the same rows in other bytes: the manifest says why)
    assert read_manifest(folder)["config"]["partitions"] == 1



def test_an_unfinished_run_of_another_configuration_is_named_so(tmp_path):
    """A run that stopped (a month after the extracts) leaves its marker and workspace, no manifest: a corrected
    configuration is refused there (it would mix its extracts with those) with a message saying no output was
    published, not « the outputs of another run »."""
    from nonrecours.run import MARKER, _claim

    (tmp_path / "workspace").mkdir()
    (tmp_path / MARKER).write_text(json.dumps({"config_hash": "a" * 64}))
    with pytest.raises(RunConflictError, match="the workspace of another configuration's run that did not finish"):
        _claim(tmp_path, "b" * 64)


def test_another_configuration_is_refused(run_copy):
    before = output_hashes(run_copy)
    text = (run_copy / "run.toml").read_text().replace('"2026-06"', '"2026-05"')
    (run_copy / "other.toml").write_text(text)
    with pytest.raises(RunConflictError, match="holds the outputs of another run"):
        run(load_config(run_copy / "other.toml"))
    with pytest.raises(RunConflictError, match="holds the outputs of another run"):
        validate(run_copy / "other.toml")
    assert output_hashes(run_copy) == before
    res = CliRunner().invoke(app, ["run", str(run_copy / "other.toml")])
    assert res.exit_code == 2 and "runs are never mixed" in res.output


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT, signal.SIGTERM])
def test_a_killed_run_restarts_cleanly(quick_copy, quick_run, sig):
    """On the Polars run without the ablation (tests/conftest.py ``quick_run``): restarting is the run's
    business, not a backend's."""
    run_copy = quick_copy
    expected = output_hashes(quick_run)
    for name in ("workspace", "rules"):  # the run will have to write them again
        for p in (run_copy / name).rglob("*.parquet"):
            p.unlink()
    code = ("import signal; signal.signal(signal.SIGINT, signal.default_int_handler)\n"  # Ctrl-C even if the
            "from nonrecours.cli import app; app()")  # test runs where it is ignored (a shell's background job)
    proc = subprocess.Popen([sys.executable, "-X", "faulthandler", "-c", code, "--quiet", "run",
                             str(run_copy / "run.toml")], env={**os.environ, "PYTHONPATH": SRC},
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list((run_copy / "workspace").rglob("*.parquet")) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    if sig == signal.SIGINT and proc.returncode != 0:  # (the run may have finished before the signal)
        # an abort prints every thread's Python stack (``-X faulthandler``): that is how DuckDB's import cut by the
        # Ctrl-C was found (SIGABRT, once in CI, once in 140 here under load: ``cli._load_whole``)
        assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err, (proc.returncode,
                                                                                               err[-4000:])
    if sig == signal.SIGTERM and proc.returncode != 0:  # a scheduler's stop: the same cleanup, said, exit 143
        assert proc.returncode == 143 and "interrupted (SIGTERM)" in err and "Traceback" not in err, err[-4000:]
        assert not (run_copy / LOCK).exists() and not list(run_copy.glob(".partial*")), list(run_copy.iterdir())
    run_file(run_copy / "run.toml")
    assert not list(run_copy.rglob("*.partial-*"))
    assert output_hashes(run_copy) == expected
    verify_run(run_copy)


def test_validate_checks_layouts_without_running(run_copy):
    checks = validate(run_copy / "run.toml")
    assert {c.agency for c in checks} == {"caf", "cnam", "france_travail", "dgfip", "cnav", "msa", "drm"}
    assert all(c.rows_sampled > 0 for c in checks)
    cnam = run_copy / "extracts" / "cnam.csv"
    lines = cnam.read_text(encoding="utf-8").splitlines(keepends=True)
    cnam.write_text(lines[0].replace("NIR_BENEFICIAIRE", "NIR_BENEF") + "".join(lines[1:]), encoding="utf-8")
    with pytest.raises(ExtractError, match=r"cnam\.csv, line 1, column NIR_BENEFICIAIRE: required column"):
        validate(run_copy / "run.toml")
    res = CliRunner().invoke(app, ["validate", str(run_copy / "run.toml")])
    assert res.exit_code == 3 and "NIR_BENEFICIAIRE" in res.output


def test_validate_fails_on_what_the_run_would_stop_on(run_copy):
    """An extract holding its header only (the run refuses it unless allowed: a failed export?) and one whose
    sampled rows are mostly faulty (above ``max_quarantined``: the run stops after ingesting it) were « valid »
    (found probing extracts written from the docs alone, 5 December 2026): validate now fails on them, exit 3."""
    cnam = run_copy / "extracts" / "cnam.csv"
    lines = cnam.read_text(encoding="utf-8").splitlines(keepends=True)
    cnam.write_text(lines[0], encoding="utf-8")
    refused = {c.agency: c.refused for c in validate(run_copy / "run.toml")}
    assert refused["cnam"] and "no record after the header" in refused["cnam"][0]
    assert not refused["caf"]
    res = CliRunner().invoke(app, ["validate", str(run_copy / "run.toml")])
    assert res.exit_code == 3 and "the run would stop: cnam.csv: no record after the header" in res.output
    bad = [lines[0]] + [line.replace(line.split(";")[0], "1" * 15, 1) if k % 2 else line
                        for k, line in enumerate(lines[1:60])]
    cnam.write_text("".join(bad), encoding="utf-8")
    (refusal,) = next(c.refused for c in validate(run_copy / "run.toml") if c.agency == "cnam")
    assert "above max_quarantined (10.0%)" in refusal


def test_validate_reads_a_fixed_width_trailer(run_copy):
    """The CAF's trailer (record 99) declares the file's records: a file cut before it, or whose count differs, was
    « valid » and the run then stopped on its control (exit 3); validate reads the file's lines for it now."""
    caf = next((run_copy / "extracts").glob("caf*.dat"))
    raw = caf.read_bytes()
    lines = raw.decode("latin-1").splitlines(keepends=True)
    assert lines[-1].startswith("99")
    assert not next(c.refused for c in validate(run_copy / "run.toml") if c.agency == "caf")
    caf.write_bytes(raw + b"\x1a")  # a DOS end-of-file mark after the trailer: read as ingest reads it, no record
    assert not next(c.refused for c in validate(run_copy / "run.toml") if c.agency == "caf")
    caf.write_bytes("".join(lines[:-1]).encode("latin-1"))
    (cut,) = next(c.refused for c in validate(run_copy / "run.toml") if c.agency == "caf")
    assert "does not end with its trailer record (code 99)" in cut
    caf.write_bytes("".join(lines[:-2] + lines[-1:]).encode("latin-1"))
    (short,) = next(c.refused for c in validate(run_copy / "run.toml") if c.agency == "caf")
    assert f"the trailer declares {len(lines):,} records, the file holds {len(lines) - 1:,}" in short


def test_validate_refuses_a_month_the_rules_do_not_model(run_copy):
    """A month the rules do not model (2019-01: no SMIC in the parameters) was valid, then refused by the rules
    stage after ingest; validate says so first, naming the earliest month modelled (exit 5)."""
    text = (run_copy / "run.toml").read_text()
    month = re.search(r'first_month = "(\d{4}-\d{2})"', text)
    assert month is not None
    old = run_copy / "old.toml"
    old.write_text(text.replace(month.group(0), 'first_month = "2019-01"', 1))
    res = CliRunner().invoke(app, ["validate", str(old)])
    assert res.exit_code == 5 and "not modelled in 2019-01; the earliest month it models is" in res.output


def test_validate_refuses_a_month_after_the_extracts(run_copy):
    """A month after the latest monthly extract (payments and resources, dated 28 June) was valid, then refused by
    the rules stage after ingest: validate refuses it first (exit 3), from the extracts it reads (the dates the
    run gives, the CAF's header) or, on a rerun, those the workspace already holds."""
    text = (run_copy / "run.toml").read_text()
    month = re.search(r'first_month = "(\d{4}-\d{2})"', text)
    assert month is not None and month.group(1) == "2026-06"
    july = text.replace(month.group(0), 'first_month = "2026-07"', 1).replace('output = "."', 'output = "july"', 1)
    assert 'output = "july"' in july
    (run_copy / "july.toml").write_text(july)
    res = CliRunner().invoke(app, ["validate", str(run_copy / "july.toml")])
    assert res.exit_code == 3, res.output
    assert "2026-07 is after the latest monthly extract (dated 28/06/2026)" in res.output
    # the extracts a rerun's workspace already holds count: a July extract ingested before makes July valid
    (run_copy / "july").mkdir()
    _claim(run_copy / "july", load_config(run_copy / "july.toml").digest())  # a stopped run of this configuration
    held = run_copy / "july" / "workspace" / "benefits_paid"
    held.mkdir(parents=True)
    # a canonical file (the workspace's files are checked against their table, core.workspace.workspace_files)
    from nonrecours.schemas import BENEFITS_PAID

    july_extract = pl.DataFrame([("famille", "F1", None, "rsa", dt.date(2026, 7, 1), Decimal("500.00"), "caf", "caf",
                                  "x", dt.date(2026, 7, 28))], schema=BENEFITS_PAID.polars_schema, orient="row")
    july_extract.write_parquet(held / "caf-x.parquet")
    assert validate(run_copy / "july.toml")
    june = text.replace('output = "."', 'output = "june"', 1)
    (run_copy / "june.toml").write_text(june)
    assert CliRunner().invoke(app, ["validate", str(run_copy / "june.toml")]).exit_code == 0


def _first_month_held(workspace: Path) -> dt.date:
    """The first month of the monthly rows (resources but the DGFiP's yearly incomes), read here without the code
    under test."""
    return (pl.scan_parquet(workspace / "resources" / "*.parquet")
            .filter(pl.col("source_agency").cast(pl.String) != "dgfip").select(pl.col("month").min()).collect().item())


def test_validate_refuses_a_month_before_the_extracts(run_copy):
    """A month before the first month the monthly extracts hold (June 2025 to June 2026: May 2025) was valid, and the
    run then wrote outreach lists and statistics of nobody paid and nobody earning (an outside tester: CAF 422 rows,
    295 « certain », 100 % non-take-up); validate refuses it (exit 3) from the first month its samples hold when each
    is its whole file. The first month held is valid: its reference months before it are the core's to range, not a
    refusal. A sample of part of a file bounds its first month from above only (an extract listing its latest month
    first): validate then leaves that month to the run's own check (below), never refusing a month the run accepts."""
    from nonrecours.errors import SchemaError
    from nonrecours.run import _months_reported

    assert _first_month_held(run_copy / "workspace") == dt.date(2025, 6, 1)
    text = (run_copy / "run.toml").read_text()
    month = re.search(r'first_month = "(\d{4}-\d{2})"', text)
    assert month is not None and month.group(1) == "2026-06"
    for first, out in (("2025-05", "may"), ("2024-01", "y2024"), ("2025-06", "june")):
        (run_copy / f"{out}.toml").write_text(text.replace(month.group(0), f'first_month = "{first}"', 1)
                                              .replace('output = "."', f'output = "{out}"', 1))
    partial = CliRunner().invoke(app, ["validate", str(run_copy / "may.toml")])  # the demo's CAF extract: > 1 MiB
    assert partial.exit_code == 0, partial.output
    read = {"source_agency": "caf", "extract_date": dt.date(2026, 6, 28), "month": dt.date(2025, 6, 1)}
    for out in ("may", "y2024"):
        with pytest.raises(SchemaError) as err:
            _months_reported(load_config(run_copy / f"{out}.toml"), [read | {"whole": True}])
        assert ("is before the first month the monthly extracts hold (2025-06 in the records validate sampled): no "
                "agency reports its payments and resources of that month") in str(err.value)
        _months_reported(load_config(run_copy / f"{out}.toml"), [read | {"whole": False}])  # the run decides
    _months_reported(load_config(run_copy / "june.toml"), [read | {"whole": True}])


def test_detect_and_run_refuse_a_month_before_the_extracts(run_copy):
    """``detect --month 2024-01`` on extracts of June 2025 to June 2026 exited 0 with 3,033 flags (252 RSA
    « certain » whose reasons said « montant versé ce mois : 0,00 € » and « Aucun revenu transmis ») and ``run`` wrote
    outreach lists of it: both refuse a month before the first month held (exit 3, naming it and why), as the month
    after. The first month held is evaluated; a month before the rules' first modelled month is said so (exit 5), not
    « rule aah_plafond: no formula in force »."""
    ws = run_copy / "workspace"
    assert _first_month_held(ws) == dt.date(2025, 6, 1)
    runner = CliRunner()

    def detect(month: str) -> object:
        return runner.invoke(app, ["detect", "--workspace", str(ws), "--month", month, "--backend", "polars",
                                   "--out", str(run_copy / f"d-{month}")])

    res = detect("2025-05")
    assert res.exit_code == 3, res.output
    assert ("2025-05 is before the first month the monthly extracts hold (2025-06): no agency reports its payments "
            "and resources of that month, which would be read as none") in " ".join(res.output.split())
    assert not (run_copy / "d-2025-05" / "flags.parquet").exists()
    res = detect("2019-01")
    assert res.exit_code == 5, res.output
    assert "not modelled in 2019-01; the earliest month it models is" in " ".join(res.output.split())
    res = detect("2025-06")  # the first month held; the yearly benefits due before it are not judged, not refused
    assert res.exit_code == 0, res.output
    yearly = json.loads((run_copy / "d-2025-06" / "summary.json").read_text())["yearly"]
    assert yearly["ars"]["judged"] is False and "payments held start after 2024-08" in yearly["ars"]["reason"]
    text = (run_copy / "run.toml").read_text()
    (run_copy / "may.toml").write_text(text.replace('first_month = "2026-06"', 'first_month = "2025-05"', 1)
                                       .replace('output = "."', 'output = "may"', 1))
    res = runner.invoke(app, ["run", str(run_copy / "may.toml")])
    assert res.exit_code == 3, res.output
    assert "2025-05 is before the first month the monthly extracts hold (2025-06)" in " ".join(res.output.split())
    assert not (run_copy / "may" / "outputs").exists() or not any((run_copy / "may" / "outputs").rglob("*.parquet"))


def test_a_key_from_a_missing_variable_names_the_setting(run_copy, monkeypatch):
    """``audit_key = { env = "X" }`` with X unset said « environment variable X is not set »: which setting asked
    for it was left to guess; now the error begins with run.toml's key (exit 4), and an agreement's key with its
    role."""
    monkeypatch.delenv("NR_ABSENT_AUDIT", raising=False)
    text = (run_copy / "run.toml").read_text()
    assert 'audit_key = { file = "keys/audit.key" }' in text
    (run_copy / "env.toml").write_text(text.replace('audit_key = { file = "keys/audit.key" }',
                                                    'audit_key = { env = "NR_ABSENT_AUDIT" }', 1)
                                       .replace('output = "."', 'output = "env"', 1))
    res = CliRunner().invoke(app, ["validate", str(run_copy / "env.toml")])
    assert res.exit_code == 4
    assert "run.toml's audit_key: environment variable NR_ABSENT_AUDIT: not set" in " ".join(res.output.split())


def test_validate_notes_a_payer_without_extract(run_copy):
    """An agency paying a benefit left out of run.toml while another payer of it sends: validate says its
    payments will be known in part (the run publishes no rate on them), and the configuration is still valid."""
    text = (run_copy / "run.toml").read_text()
    start = text.index("[agencies.cnam]")
    end = text.index("[agencies.", start + 1)
    (run_copy / "nocnam.toml").write_text((text[:start] + text[end:]).replace('output = "."', 'output = "nocnam"', 1))
    res = CliRunner().invoke(app, ["validate", str(run_copy / "nocnam.toml")])
    assert res.exit_code == 0, res.output
    out = " ".join(res.output.split())
    assert "note: no extract of cnam, which pays css_free too: its payments will be known in part" in out
    assert "which pays rsa" not in out  # the CAF's and the MSA's extracts came
    full = CliRunner().invoke(app, ["validate", str(run_copy / "run.toml")])
    assert "note: no extract" not in full.output


def test_a_correction_beside_the_file_it_corrects_is_said(tmp_path):
    """A CNAM correction listed beside its original under another name, both reporting payments up to June: the
    later's rows replace the earlier's key by key and a payment it withdrew stays; the run says so (its ingest note
    and log). The CAF's monthly files of May and June (ending on different months) are the usual series: not said."""
    from nonrecours.run import _same_period_extracts

    folder = tmp_path / "workspace" / "benefits_paid"
    folder.mkdir(parents=True)
    for agency, extract, date, last in (("cnam", "cnam_orig", dt.date(2026, 6, 20), dt.date(2026, 6, 1)),
                                        ("cnam", "cnam_fix", dt.date(2026, 6, 28), dt.date(2026, 6, 1)),
                                        ("caf", "caf_mai", dt.date(2026, 5, 28), dt.date(2026, 5, 1)),
                                        ("caf", "caf_juin", dt.date(2026, 6, 28), dt.date(2026, 6, 1))):
        pl.DataFrame({"source_agency": [agency], "extract_id": [extract], "extract_date": [date],
                      "month": [last]}).write_parquet(folder / f"{agency}-{extract}.parquet")
    assert _same_period_extracts(tmp_path / "workspace") == [
        "cnam: extracts cnam_fix (2026-06-28) and cnam_orig (2026-06-20) both report benefits_paid up to 2026-06: the "
        "later's rows replace the earlier's key by key, a row it no longer holds is kept; a correction replaces a "
        "file only under its name"]


def test_a_correction_of_the_same_date_is_said_with_the_one_read(tmp_path):
    """Two DRM files of one date reporting resources up to June (a correction listed after its original in
    run.toml, named so that it sorts first): the run says which one's rows are read, the one ingested last."""
    from nonrecours.run import _same_period_extracts

    ws = tmp_path / "workspace"
    (ws / "resources").mkdir(parents=True)
    (ws / "reports").mkdir()
    for seq, extract in ((1, "drm"), (2, "a_fix")):
        pl.DataFrame({"source_agency": ["drm"], "extract_id": [extract], "extract_date": [dt.date(2026, 6, 28)],
                      "month": [dt.date(2026, 6, 1)]}).write_parquet(ws / "resources" / f"drm-{extract}.parquet")
        (ws / "reports" / f"drm-{extract}.json").write_text(json.dumps({"agency": "drm", "sequence": seq}))
    assert _same_period_extracts(ws) == [
        "drm: extracts a_fix and drm, both dated 2026-06-28, report resources up to 2026-06: the rows of a_fix, "
        "ingested last (listed later in run.toml), replace drm's key by key, a row it no longer holds is kept; a "
        "correction replaces a file only under its name"]


def test_command_line_run_and_validate(run_copy):
    res = CliRunner().invoke(app, ["validate", str(run_copy / "run.toml")])
    assert res.exit_code == 0, res.output
    assert "layouts are valid" in res.output
    bad = run_copy / "bad.toml"
    text = (run_copy / "run.toml").read_text()
    assert 'backend = "polars"' in text  # the session's run (tests/conftest.py demo_run)
    bad.write_text(text.replace('backend = "polars"', 'backend = "sparkle"', 1))  # the run's, line 4
    for command in ("run", "validate"):
        res = CliRunner().invoke(app, [command, str(bad)])
        assert res.exit_code == 2
        assert "bad.toml, line 4, column 11: key backend: Input should be 'polars', 'duckdb' or 'spark'" in res.output


def test_duckdb_settings_reach_every_stage(quick_copy):
    """run.toml's ``memory_limit`` and ``spill_dir`` become the DuckDB settings of every stage that evaluates
    rules (rules, detection), the spill folder created; the other backends get none."""
    from nonrecours.run import engine_config

    cfg = load_config(quick_copy / "run.toml")
    assert engine_config(cfg) is None  # polars
    duck = cfg.model_copy(update={"backend": "duckdb", "memory_limit": "3GB", "spill_dir": quick_copy / "spill"})
    assert engine_config(duck) == {"memory_limit": "3GB", "temp_directory": str(quick_copy / "spill")}
    assert (quick_copy / "spill").is_dir()


def test_duckdb_settings_given_to_another_backend_are_said_not_applied(quick_copy, caplog, monkeypatch):
    """A memory limit given for Polars or Spark is not applied: said once, not silently ignored (a user could
    believe the run's memory bounded); a spill folder serves a partitioned run's parts, so it is said only when
    the run is not partitioned."""
    import logging

    from nonrecours import run
    from nonrecours.run import engine_config

    monkeypatch.setattr(run, "_WARNED", set())  # said once a process: this test's process may have said it
    cfg = load_config(quick_copy / "run.toml").model_copy(update={"spill_dir": None})
    cfg.__pydantic_fields_set__.discard("memory_limit")
    assert "spill_dir" in cfg.model_fields_set  # as load_config's paths resolved: set, to None
    with caplog.at_level(logging.WARNING, logger="nonrecours.run"):
        assert engine_config(cfg) is None and "not apply" not in caplog.text  # polars, nothing given
    given = cfg.model_copy(update={"memory_limit": "1MB", "spill_dir": quick_copy / "spill"})
    given.__pydantic_fields_set__.update({"memory_limit", "spill_dir"})
    with caplog.at_level(logging.WARNING, logger="nonrecours.run"):
        assert engine_config(given) is None and engine_config(given) is None
    said = [r.getMessage() for r in caplog.records if "does not apply" in r.getMessage()]
    assert said == ["memory_limit and spill_dir are DuckDB's: the polars backend does not apply them (bound its "
                    "memory with partitions)"]
    parted = given.model_copy(update={"partitions": 2})
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="nonrecours.run"):
        engine_config(parted)
    assert [r.getMessage() for r in caplog.records] == [
        "memory_limit is DuckDB's: the polars backend does not apply it (bound its memory with partitions)"]
    # the ablation's own backend (polars beside a DuckDB run): the run's settings were never meant for it
    monkeypatch.setattr(run, "_WARNED", set())
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="nonrecours.run"):
        assert engine_config(given, warn=False) is None
    assert not caplog.records


def test_registered_stages_and_the_detection_entry_point(quick_copy, monkeypatch):
    """A package plugs in through the registry: the detection stage calls ``run_detect`` when the package
    has it, with the month's core the rules stage built (not joined twice), and every file it writes is in
    the manifest with its hash."""
    import polars as pl

    import nonrecours.detection as detection
    from nonrecours.detection.schema import FLAGS_SCHEMA

    calls = []

    def run_detect(workspace, month, out, *, backend, config=None, engine_config=None, core=None):
        calls.append((workspace, month, backend, engine_config, core.month, core.inputs.individu.height > 0))
        out.mkdir(parents=True, exist_ok=True)
        pl.DataFrame(schema=FLAGS_SCHEMA).write_parquet(out / "flags.parquet")
        return None, {"flags": out / "flags.parquet"}

    monkeypatch.setattr(detection, "run_detect", run_detect, raising=False)
    seen = []

    def extra(ctx):
        seen.append(ctx.workspace)
        return StageReport("extra", note="plugged")

    run_copy = quick_copy
    # (the ablation stage reruns detection itself: left out here, where detection is a stand-in)
    stages = {name: fn for name, fn in STAGES.items() if name != "ablation"}
    report = run(load_config(run_copy / "run.toml"), stages={**stages, "extra": extra})
    # the configuration's backend; Polars takes no DuckDB settings (test_duckdb_settings_reach_every_stage)
    assert calls == [(run_copy / "workspace", dt.date(2026, 6, 1), "polars", None, dt.date(2026, 6, 1), True)]
    assert seen == [run_copy / "workspace"]
    manifest = read_manifest(run_copy)
    stages = {s["name"]: s for s in manifest["stages"]}
    assert stages["detection"]["status"] == "done" and stages["detection"]["counts"] == {"2026-06": {"flags": 0}}
    assert stages["extra"]["note"] == "plugged" and [s.name for s in report.stages][-1] == "extra"
    assert "detection/2026-06/flags.parquet" in {o["path"] for o in manifest["outputs"]}
    # the earlier run's detection files this stand-in did not write again are gone, not left beside its flags
    assert sorted(p.name for p in (run_copy / "detection" / "2026-06").iterdir() if p.is_file()) == ["flags.parquet"]
    verify_run(run_copy)


def test_one_run_at_a_time_and_a_polars_rerun_gives_identical_outputs(quick_copy, quick_run):
    """A live run's lock refuses a second run; a killed run's lock is taken over, and that rerun (on Polars:
    tests/conftest.py ``quick_run``) gives outputs identical to the first run's (one rerun serves both)."""
    run_copy = quick_copy
    before = output_hashes(run_copy)
    assert before == output_hashes(quick_run)
    lock = run_copy / ".nonrecours-run.lock"
    lock.write_text(f"{os.getppid()}\n")  # a live process holds the folder
    with pytest.raises(RunConflictError, match=r"another run \(process \d+\) is writing to this folder"):
        run_file(run_copy / "run.toml")
    assert output_hashes(run_copy) == before
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock.write_text(f"{dead.pid}\n")  # left by a killed run: taken over
    # a team's own file saved beside a list: no run wrote it, so the rerun moves it aside, never deletes it (it was
    # deleted, found probing the outputs from the docs alone, 5 December 2026); the audit still verifies
    month_folder = next(p for p in (run_copy / "outputs").iterdir() if p.is_dir())
    (month_folder / "mes_notes.xlsx").write_bytes(b"notes")
    run_file(run_copy / "run.toml")
    assert not lock.exists()
    assert output_hashes(run_copy) == before
    verify_run(run_copy)
    assert not (month_folder / "mes_notes.xlsx").exists()
    assert (run_copy / "set_aside" / "outputs" / month_folder.name / "mes_notes.xlsx").read_bytes() == b"notes"


def test_the_ablation_stage_is_in_the_manifest_and_the_audit_log(demo_run):
    """The demo enables ``[ablation]``: its table is an output with its hash, one audit entry per month says
    which agencies' data was read again and under which agreement (no identifier), and the headline's recall
    with the CAF alone is that table's."""
    import polars as pl

    from nonrecours.atomic import file_sha256

    manifest = read_manifest(demo_run)
    stage = {s["name"]: s for s in manifest["stages"]}["ablation"]
    assert stage["status"] == "done" and stage["counts"]["2026-06"]["reference"] == "vérité synthétique"
    listed = {o["path"]: o["sha256"] for o in manifest["outputs"]}
    # as measured, in detection/ (hidden counts included); published by the outputs stage under secrecy
    table_path = demo_run / "detection" / "2026-06" / "exchange_value.parquet"
    assert listed["detection/2026-06/exchange_value.parquet"] == file_sha256(table_path)
    shown_path = demo_run / "outputs" / "2026-06" / "answer1_exchange_value.parquet"
    assert listed["outputs/2026-06/answer1_exchange_value.parquet"] == file_sha256(shown_path)
    entries = [json.loads(line) for line in (demo_run / "audit" / "log.jsonl").read_text().splitlines()]
    ablation = [e for e in entries if e["kind"] == "ablation"]
    assert len(ablation) == 1 and ablation[0]["data"]["exchange_id"] == manifest["agreement"]["exchange_id"]
    assert ablation[0]["data"]["outputs"] == {"exchange_value.parquet": file_sha256(table_path)}
    assert ablation[0]["data"]["agencies"] == ["caf", "cnam", "france_travail", "dgfip", "cnav", "msa", "drm"]
    table = pl.read_parquet(table_path)
    assert set(table["scenario"]) == {"toutes", "CAF seule", *(f"sans {a}" for a in ablation[0]["data"]["agencies"])}
    full = table.filter(pl.col("scenario") == "toutes")
    assert (full["flags_lost"] == 0).all() and (full["amount_change"] == 0).all()
    head = pl.read_parquet(demo_run / "outputs" / "2026-06" / "headline.parquet")
    # the recall as answer 1 publishes it: none where its CAF-alone row is secret, named so in the headline
    shown = pl.read_parquet(shown_path).filter(pl.col("scenario") == "CAF seule")
    caf = dict(shown.select("benefit", "recall").iter_rows())
    secret = dict(head.select("benefit", "secret").iter_rows())  # a benefit the statistics keep secret shows none
    assert dict(head.select("benefit", "recall_caf_only").iter_rows()) == {
        b: None if secret[b] else caf.get(b) for b in head["benefit"]}
    hidden = set(shown.filter(pl.col("secret")).get_column("benefit"))
    for r in head.filter(~pl.col("secret")).iter_rows(named=True):
        assert ("recall_caf_only" in r["secret_measures"]) == (r["benefit"] in hidden), r


def test_a_run_without_ablation_says_so():
    from types import SimpleNamespace

    from nonrecours.config import AblationConfig
    from nonrecours.outputs.ablation import run_stage

    report = run_stage(SimpleNamespace(config=SimpleNamespace(ablation=AblationConfig())))
    assert report.status == "not asked" and "[ablation] enabled = true" in report.note and not report.outputs


def _cnav_only_run(demo_run: Path, out: Path, extract: bytes, month: str) -> Path:
    """A run folder with the demo's keys and exchange agreement and one CNAV extract (``extract``'s bytes): its
    run.toml, as the demo writes it for that extract alone."""
    from nonrecours.demo import write_run_config

    shutil.copytree(demo_run / "keys", out / "keys")
    shutil.copy2(demo_run / "exchange.toml", out / "exchange.toml")
    (out / "extracts").mkdir()
    (out / "extracts" / "cnav.csv").write_bytes(extract)
    return write_run_config(out, {"cnav": out / "extracts" / "cnav.csv"}, month, "polars", ablation=False)


def test_validate_reads_the_header_and_samples_as_ingest_does(demo_run, tmp_path):
    """A CNAV extract with its header in lower case (ingest reads it, ``fit_to_header``), one amount that is no
    amount and a blank line at its end: validate read the header as the layout's and refused the file, and with a
    blank line sampled nothing (the reader gives each chunk's unreadable lines first, in a batch of their own);
    it now says what ingest will do: the adapted header, the fault."""
    month = read_manifest(demo_run)["config"]["months"][0]
    lines = (demo_run / "extracts" / "cnav.csv").read_text(encoding="utf-8-sig").split("\n")
    names = lines[0].split(";")
    fields = lines[1].split(";")
    fields[names.index("MONTANT_NET")] = "douze"
    # one faulty row of twenty: under max_quarantined (10 %), which a run stops above (so does validate)
    text = "\n".join([lines[0].lower(), *lines[1:20], ";".join(fields)]) + "\n\n"
    config = _cnav_only_run(demo_run, tmp_path / "v", text.encode("utf-8"), month)
    (check,) = validate(config)
    assert check.rows_sampled == 20 and check.faults_sampled == {"montant_net: not an amount": 1}  # as spelt there
    assert not check.refused
    assert any("read ignoring case and spaces" in note for note in check.adaptations)
    res = CliRunner().invoke(app, ["validate", str(config)])
    out = " ".join(res.output.split())
    assert res.exit_code == 0 and "(read so at ingest)" in out and "1 × montant_net: not an amount" in out


def test_a_run_stops_on_an_empty_extract(demo_run, tmp_path):
    """A header-only extract in run.toml stops the run at ingest with exit 7 (most likely a failed export) unless
    its agency says ``allow_empty = true``; the manifest then records the extract as empty, and where its date
    comes from."""

    month = read_manifest(demo_run)["config"]["months"][0]
    header = (demo_run / "extracts" / "cnav.csv").read_text().split("\n")[0] + "\n"

    def folder(name: str, allow_empty: bool) -> Path:
        config = _cnav_only_run(demo_run, tmp_path / name, header.encode(), month)
        if allow_empty:
            config.write_text(config.read_text().replace('files = ["extracts/cnav.csv"]',
                                                         'files = ["extracts/cnav.csv"]\nallow_empty = true'))
        return config

    res = CliRunner().invoke(app, ["run", str(folder("refused", False))])
    assert res.exit_code == 7 and "cnav.csv: no record after the header" in " ".join(res.output.split())
    assert not (tmp_path / "refused" / "workspace" / "persons").exists()
    # allowed: ingest goes through (the later stages need some persons: only ingest is run here)
    run(load_config(folder("allowed", True)), stages={"ingest": STAGES["ingest"]})
    quarantine = read_manifest(tmp_path / "allowed")["quarantine"]["cnav/cnav.csv"]
    assert quarantine["empty"] is True and quarantine["rows_read"] == 0
    assert quarantine["extract_date_source"] == "file"
    assert "cnav.csv: no extract date given nor in the file: the file's modification date is used" in (
        tmp_path / "allowed" / "run.log").read_text()


def test_a_run_stops_when_too_many_rows_are_quarantined(demo_run, tmp_path):
    """run.toml's ``max_quarantined`` is ``ingest --max-quarantined``: an extract with a larger share of its rows
    quarantined is ingested (its report names the rows), then the run stops with exit 3; a higher limit lets it
    through. A CNAV extract whose amounts are letters on every fourth row: about 25 % quarantined."""
    import re

    month = read_manifest(demo_run)["config"]["months"][0]
    header, *rows = [line for line in (demo_run / "extracts" / "cnav.csv").read_bytes().split(b"\n") if line]
    column = header.split(b";").index(b"MONTANT_BRUT")

    def broken(row: bytes) -> bytes:
        fields = row.split(b";")
        fields[column] = b"abc"
        return b";".join(fields)

    text = b"\n".join([header, *(broken(r) if i % 4 == 0 else r for i, r in enumerate(rows))]) + b"\n"

    def folder(name: str, limit: float | None) -> Path:
        config = _cnav_only_run(demo_run, tmp_path / name, text, month)
        if limit is not None:
            config.write_text(config.read_text().replace('backend = "polars"',
                                                         f'backend = "polars"\nmax_quarantined = {limit}'))
        return config

    res = CliRunner().invoke(app, ["run", str(folder("refused", None))])
    message = " ".join(res.output.split())
    found = re.search(r"cnav\.csv: ingested, but (\d+\.\d)% of the rows were quarantined \(limit 10\.0%, run\.toml "
                      r"max_quarantined\)", message)
    assert res.exit_code == 3 and found, res.output
    report = json.loads((tmp_path / "refused" / "workspace" / "reports" / "cnav-cnav.json").read_text())
    assert report["rows_read"] == len(rows) and report["rows_quarantined"] >= len(rows[::4])
    assert found.group(1) == f"{100 * report['rows_quarantined'] / report['rows_read']:.1f}"
    assert not (tmp_path / "refused" / "rules").exists()  # stopped at ingest
    assert not (tmp_path / "refused" / STAGING).exists()  # its staging removed, not left to the next run
    # a limit above the share: the run goes through ingest, with the same counts
    run(load_config(folder("allowed", 0.5)), stages={"ingest": STAGES["ingest"]})
    quarantine = read_manifest(tmp_path / "allowed")["quarantine"]["cnav/cnav.csv"]
    assert (quarantine["rows_read"], quarantine["rows_quarantined"]) == (report["rows_read"],
                                                                        report["rows_quarantined"])
    with pytest.raises(Exception, match="less than or equal to 1"):
        load_config(folder("wrong", 1.5))


def test_a_run_stops_when_a_file_level_control_fails(demo_run, tmp_path):
    """A CAF extract cut short (its trailer record lost: « a file cut short? ») fails its file-level control: the run
    stops at ingest with exit 3 and writes no table of it. (Numbers stored as text in a Parquet file were such a
    control until 6 December 2026: each value is now read as a CSV's, tests/connectors/test_batch.py.)"""
    from nonrecours.demo import write_run_config

    month = read_manifest(demo_run)["config"]["months"][0]
    out = tmp_path / "cut"
    shutil.copytree(demo_run / "keys", out / "keys")
    shutil.copy2(demo_run / "exchange.toml", out / "exchange.toml")
    (out / "extracts").mkdir()
    file = out / "extracts" / "caf.dat"
    lines = (demo_run / "extracts" / "caf.dat").read_bytes().split(b"\n")
    file.write_bytes(b"\n".join(line for line in lines if not line.startswith(b"99")))
    config = write_run_config(out, {"caf": file}, month, "polars", ablation=False)
    res = CliRunner().invoke(app, ["run", str(config)])
    assert res.exit_code == 3 and "the trailer declares no records" in " ".join(res.output.split()), res.output
    assert not (out / "workspace" / "persons").exists()


def test_the_run_builds_its_core_with_the_resource_kinds_ingest_recorded(demo_run):
    """Ingest records in each extract's report the resource kinds its mapping carries; the rules stage builds the
    month's core with them and the detection reuses that core: the summary names the kinds (the MSA's without
    alimony), so a follower's silence on another kind was no zero."""
    from nonrecours.core.workspace import follower_kinds

    kinds = follower_kinds(demo_run / "workspace")
    assert kinds is not None and kinds["msa"] == ("pension_gross", "pension_net", "salary_net")
    assert "alimony" in kinds["caf"]
    summary = json.loads((demo_run / "detection" / "2026-06" / "summary.json").read_text())
    assert summary["follower_kinds"] == {a: list(k) for a, k in kinds.items()}


@pytest.mark.slow
def test_the_rules_stage_leaves_out_a_territory_the_rules_do_not_model(quick_run, tmp_path):
    """The demo's workspace with one commune's persons moved to Mamoudzou (Mayotte: its RSA is adapted by CASF art.
    L542-6, which the rules do not model). The rules stage's entitlements hold none of the familles living there
    (``CoreMonth.outside_the_rules``), count them, and the persons evaluated leave them out; a partitioned run whose
    rules stage detects each part too writes the same file and counts as the one pass."""
    import polars as pl
    from polars.testing import assert_frame_equal

    from nonrecours.core import build_month, scan_workspace
    from nonrecours.core.workspace import workspace_core_config
    from nonrecours.run import RunContext, detection_stage, rules_stage

    one = Path(shutil.copytree(quick_run, tmp_path / "one", symlinks=False))
    for f in sorted((one / "workspace" / "persons").glob("*.parquet")):  # every agency's rows of the commune
        pl.read_parquet(f).with_columns(pl.col("depcom").replace({"46148": "97611"})).write_parquet(f)
    parted = Path(shutil.copytree(one, tmp_path / "parted", symlinks=False))
    cfg = load_config(one / "run.toml")
    month = cfg.months[-1]
    core = build_month(scan_workspace(one / "workspace"), month, config=workspace_core_config(one / "workspace"))
    away, away_persons = core.outside_the_rules()
    assert away.height > 0 and away_persons >= away.height

    report = rules_stage(RunContext(cfg, one, None, None, {"parameters": {}}, stages={"rules": rules_stage}))
    key = f"{month:%Y-%m}"
    entitled = pl.read_parquet(one / "rules" / f"entitlements-{key}.parquet")
    assert entitled.join(away, on="famille_id", how="semi").height == 0
    assert entitled.height + away.height == core.inputs.famille.height
    assert report.counts[f"{key} territory not modelled"] == {"familles": away.height, "persons": away_persons}
    assert report.rows_in == core.inputs.individu.height - away_persons

    ctx = RunContext(cfg.model_copy(update={"partitions": 3, "fresh_process_per_part": False}), parted, None, None,
                     {"parameters": {}}, stages={"rules": rules_stage, "detection": detection_stage})
    parts = rules_stage(ctx)
    detection = detection_stage(ctx)
    ctx.close()
    assert_frame_equal(pl.read_parquet(parted / "rules" / f"entitlements-{key}.parquet"), entitled, check_exact=True)
    assert (parts.rows_in, parts.counts) == (report.rows_in, report.counts)
    summary = json.loads((parted / "detection" / key / "summary.json").read_text())
    assert summary["territory_not_modelled"] == {"familles": away.height, "persons": away_persons}
    assert detection.rows_out is not None


def test_a_month_missing_from_an_agency_s_extracts_is_said(tmp_path):
    """The DRM's extracts hold no row of April 2026 between July 2025 and June 2026 (a monthly file lost): the run
    says so (its ingest note and log); the DGFiP's yearly rows, an agency with every month and one with too few rows
    around its empty month (``HOLE_MIN_ROWS``: nobody's income that month is as likely) are not said."""
    from nonrecours.core.resources import HOLE_MIN_ROWS
    from nonrecours.run import _months_missing

    ws = tmp_path / "workspace"
    (ws / "resources").mkdir(parents=True)
    months = [dt.date(2025, 7 + k, 1) if k < 6 else dt.date(2026, k - 5, 1) for k in range(12)]
    held_but_april = [m for m in months if m != dt.date(2026, 4, 1)]
    for agency, held in (("drm", held_but_april * HOLE_MIN_ROWS), ("caf", months * HOLE_MIN_ROWS),
                         ("msa", held_but_april * (HOLE_MIN_ROWS - 1)),
                         ("dgfip", [dt.date(2025, 1, 1), dt.date(2025, 12, 1)])):
        pl.DataFrame({"source_agency": [agency] * len(held), "month": held}).write_parquet(
            ws / "resources" / f"{agency}-x.parquet")
    assert _months_missing(ws) == [
        "drm: its extracts hold no resource row of 2026-04 (between 2025-07 and 2026-06): each person's month is "
        "estimated from the months around it, not read as no income (a file missing?)"]


def test_a_runs_workspace_takes_an_extract_ingested_by_hand(run_copy):
    """The run's workspace says its key as ``nonrecours ingest``'s does: a team adds an extract to it with the
    command under the same agreement (before: refused, « tables of unknown key »), and a run's workspace is part of
    its outputs (the audit covers the marker)."""
    marker = run_copy / "workspace" / "workspace.json"
    assert json.loads(marker.read_text(encoding="utf-8"))["key_id"].startswith("k")
    assert "workspace/workspace.json" in {o["path"] for o in read_manifest(run_copy)["outputs"]}
    res = CliRunner().invoke(app, ["ingest", "--agency", "cnam", "--input", str(run_copy / "extracts" / "cnam.csv"),
                                   "--exchange", str(run_copy / "exchange.toml"), "--out",
                                   str(run_copy / "workspace"), "--extract-date", "2026-06-28",
                                   "--extract-id", "cnam_by_hand"])
    assert res.exit_code == 0, res.output
    assert (run_copy / "workspace" / "persons" / "cnam-cnam_by_hand.parquet").exists()


def test_evaluate_on_a_runs_detection_writes_outside_its_audited_folders(quick_copy):
    """``nonrecours evaluate --run <run>/detection/2026-06`` wrote its two files into that audited folder: ``audit
    verify`` then failed (« in a folder of the run's outputs but not in its manifest ») and the next run set them
    aside (an outside tester, 6 December 2026). They go to the run's ``evaluation/2026-06``, as the demo's."""
    det = quick_copy / "detection" / "2026-06"
    before = sorted(p.name for p in det.iterdir())
    res = CliRunner().invoke(app, ["evaluate", "--run", str(det), "--truth", str(quick_copy / "truth"),
                                   "--agreement", str(quick_copy / "exchange.toml")])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in det.iterdir()) == before
    assert {p.name for p in (quick_copy / "evaluation" / "2026-06").iterdir()} == {"evaluation.md",
                                                                                   "evaluation.json"}
    verify_run(quick_copy)


def test_a_month_missing_from_an_agency_s_payments_is_said(tmp_path):
    """The CAF's extracts hold no payment of May 2026 between months paying five dossiers each (a monthly file lost):
    the run says so, as the core carries each famille's April payments to it (``core.inputs.payment_holes``)."""
    from nonrecours.run import _months_missing

    ws = tmp_path / "workspace"
    (ws / "benefits_paid").mkdir(parents=True)
    months = [dt.date(2025, 7 + k, 1) if k < 6 else dt.date(2026, k - 5, 1) for k in range(12)]
    rows = [{"source_agency": "caf", "month": m, "benefit": "af", "unit_id": f"D{k}", "person_id": None}
            for m in months if m != dt.date(2026, 5, 1) for k in range(5)]
    pl.DataFrame(rows, schema={"source_agency": pl.String, "month": pl.Date, "benefit": pl.String,
                               "unit_id": pl.String, "person_id": pl.String}).write_parquet(
        ws / "benefits_paid" / "caf-x.parquet")
    assert _months_missing(ws) == [
        "caf: its extracts hold no payment row of 2026-05 between months holding some: each famille's payments of "
        "the month before are carried to it, not read as nothing paid (a file missing?)"]


def test_the_source_digest_follows_every_file_of_the_code(tmp_path: Path) -> None:
    """A changed rule parameter or module changes the digest; a compiled cache does not."""
    import shutil

    root = tmp_path / "nonrecours"
    shutil.copytree(Path(SRC) / "nonrecours", root, ignore=shutil.ignore_patterns("__pycache__"))
    base = source_digest(root)
    assert base == source_digest(Path(SRC) / "nonrecours")
    (root / "__pycache__").mkdir(exist_ok=True)
    (root / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"compiled")
    assert source_digest(root) == base
    yaml = next(root.rglob("age_min.yaml"))
    yaml.write_text(yaml.read_text() + "\n")
    assert source_digest(root) != base
