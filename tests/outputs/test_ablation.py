"""The exchange-value scenarios read the workspace as a run would whose left-out extracts never came.

On the session's Polars demo run (``demo_run``, read only: a test that changes it copies it first). Only the
core and the payment check run here (about a second each), never a whole detection.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from nonrecours.audit import read_manifest
from nonrecours.config import load_config
from nonrecours.core.workspace import file_agency, scan_workspace
from nonrecours.detection.detect import core_month
from nonrecours.detection.receipts import payers_absent, payments_known
from nonrecours.outputs.answers import CONTRIBUTING
from nonrecours.schemas import TABLES


def _month(run: Path):
    return load_config(run / "run.toml").months[0]


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(sorted(frame.columns)).sort(pl.all(), nulls_last=True)


def test_each_workspace_file_is_one_agencys_extract(demo_run):
    """The scenarios select files by the agency their name gives: every row of a file is that agency's."""
    files = [f for f in (demo_run / "workspace").glob("*/*.parquet") if f.parent.name in TABLES]
    assert {file_agency(f) for f in files} == set(CONTRIBUTING)
    for f in files:
        agencies = pl.read_parquet(f, columns=["source_agency"]).get_column("source_agency").cast(pl.String)
        assert set(agencies.unique().to_list()) <= {file_agency(f)}, f.name


@pytest.mark.parametrize("left_out", ["dgfip", "caf"])
def test_a_scenario_is_the_run_whose_extract_never_came(demo_run, tmp_path, left_out):
    """Without the DGFiP (the only one to send incomes and tax households) or the CAF (the only one to send
    housing), the scenario's tables are those of a workspace where that extract was never ingested: the table
    only it wrote is absent, not present and empty, and the core reads the same inputs, unknowns and sources."""
    month = _month(demo_run)
    never = Path(shutil.copytree(demo_run / "workspace", tmp_path / "ws",
                                 ignore=lambda _d, names: [n for n in names if n.startswith(f"{left_out}-")]))
    kept = [a for a in CONTRIBUTING if a != left_out]
    scenario = scan_workspace(demo_run / "workspace", kept)
    absent = {"dgfip": {"annual_income", "tax_households"}, "caf": {"housing"}}[left_out]
    assert set(scenario) == set(scan_workspace(never))
    assert not absent & set(scenario) and absent <= set(scan_workspace(demo_run / "workspace"))
    a, b = core_month(scenario, month), core_month(scan_workspace(never), month)
    assert _sorted(a.unknowns).equals(_sorted(b.unknowns))
    assert _sorted(a.provenance).equals(_sorted(b.provenance))
    assert _sorted(a.inputs.individu).equals(_sorted(b.inputs.individu))
    # nothing the left-out agency sent is read: no value comes from it
    assert left_out not in set(a.provenance.get_column("source_agency").drop_nulls().to_list())


def test_without_the_paying_agencies_payments_are_unknown(demo_run):
    """The ASPA is paid by the CNAV and the MSA: without both, "not paid" is unknown for it (detection then
    grades it possible at most), while the CAF's benefits stay known; with every agency it is known."""
    ws = demo_run / "workspace"
    benefits = ("aspa", "rsa", "css_free")
    assert payments_known(scan_workspace(ws), benefits) == dict.fromkeys(benefits, True)
    without = scan_workspace(ws, [a for a in CONTRIBUTING if a not in ("cnav", "msa")])
    assert payments_known(without, benefits) == {"aspa": False, "rsa": True, "css_free": True}
    # the CAF alone: no health fund, so the CSS's payments are unknown too
    caf = scan_workspace(ws, ["caf"])
    assert set(caf) < set(scan_workspace(ws))
    assert payments_known(caf, benefits) == {"aspa": False, "rsa": True, "css_free": False}
    # known in part: a payer sent its extract, another did not (the MSA pays its farmers' CSS, the CNAM everyone
    # else's): the statistics publish no rate on such payments, the report names the agency missing
    assert payers_absent(scan_workspace(ws), benefits) == {}
    no_cnam = scan_workspace(ws, [a for a in CONTRIBUTING if a != "cnam"])
    assert payments_known(no_cnam, benefits)["css_free"] is True
    assert payers_absent(no_cnam, benefits) == {"css_free": ["cnam"]}
    # the ASPA's payers all absent: unknown, not « in part »; the MSA pays the RSA and the CSS of its members too
    assert payers_absent(without, benefits) == {"rsa": ["msa"], "css_free": ["msa"]}
    assert payers_absent(caf, benefits) == {"rsa": ["msa"]}


def test_without_the_caf_and_the_msa_the_family_payments_are_unknown(demo_run):
    """The housing aid's, the AAH's and the allocations familiales' payers are the CAF and the MSA: without both,
    the payments table still comes (the CNAV's, the CNAM's) but holds none of theirs, so the payments are unknown
    (not an observed 0) and the rules read the benefits they compute; with either payer they are known."""
    ws, month = demo_run / "workspace", _month(demo_run)
    flags = ["prestations_versees_connues", "aide_logement_versee_connue", "aide_logement_du_mois_connue",
             "aah_versee_connue"]
    paid = ["af", "aide_logement_versee", "aah_versee"]

    def known(agencies: list[str]) -> tuple[set[bool], set[str], set[str], bool]:
        """The flags' values over every famille, their provenance kinds, the payments' kinds, whether the
        payments table came."""
        tables = scan_workspace(ws, agencies)
        core = core_month(tables, month)
        values = set(core.inputs.famille.select(flags).unpivot().get_column("value").to_list())
        kinds = set(core.provenance.filter(pl.col("input").is_in(flags)).get_column("kind").to_list())
        payments = set(core.provenance.filter(pl.col("input").is_in(paid)).get_column("kind").to_list())
        return values, kinds, payments, "benefits_paid" in tables

    assert known(list(CONTRIBUTING)) == ({True}, {"observed"}, {"observed"}, True)
    assert known([a for a in CONTRIBUTING if a != "caf"]) == ({True}, {"observed"}, {"observed"}, True)
    without = [a for a in CONTRIBUTING if a not in ("caf", "msa")]
    assert known(without) == ({False}, {"estimated"}, {"unknown"}, True)
    reasons = core_month(scan_workspace(ws, without), month).unknowns.filter(pl.col("input") == "af")
    assert set(reasons["reason"]) == {"versements inconnus : allocations familiales (aucun de ses organismes "
                                      "payeurs, CAF ou MSA, n'a transmis ses paiements)"}


def test_the_ablation_detects_each_scenario_on_its_agencies_files_once(demo_run, monkeypatch):
    """``ablation_detection`` hands detection each scenario's own tables (the left-out agency's absent), reuses
    the run's flags for every agency, detects the scenarios together on the first one asked (small run), and a
    scenario reading the same files as another only once."""
    from importlib import import_module
    from types import SimpleNamespace

    from nonrecours.outputs.ablation import ablation_detection

    detect_module = import_module("nonrecours.detection.detect")  # the module (the package exports ``detect``)
    seen: list[set[str]] = []

    def detect_many(cases, **_):
        return [(seen.append(set(tables)), SimpleNamespace(flags=pl.DataFrame({"n": [len(seen)]})))[1]
                for _core, tables in cases]

    monkeypatch.setattr(detect_module, "core_month", lambda tables, month, config=None: SimpleNamespace(
        inputs=SimpleNamespace(individu=pl.DataFrame({"person_id": ["a"]}))))
    monkeypatch.setattr(detect_module, "detect_many", detect_many)
    full = pl.DataFrame({"n": [0]})
    run = ablation_detection(demo_run / "workspace", _month(demo_run), full_flags=full,
                             agencies=(*CONTRIBUTING, "synth"))  # an agency that wrote nothing
    assert run({*CONTRIBUTING, "synth"}) is full and run(set(CONTRIBUTING)) is full and not seen
    without = run({a for a in CONTRIBUTING if a != "dgfip"})
    # the seven other scenarios (without each agency that wrote files, the CAF alone) came in the same batch
    assert len(seen) == len(CONTRIBUTING) + 1
    assert not {"annual_income", "tax_households"} & seen[0] and "persons" in seen[0]
    assert run({a for a in CONTRIBUTING if a != "dgfip"} | {"synth"}) is without
    assert run({"caf"}).item() == len(seen) and len(seen) == len(CONTRIBUTING) + 1
    # a caller asking one scenario only (batch=()): that scenario's tables alone go to detection
    seen.clear()
    alone = ablation_detection(demo_run / "workspace", _month(demo_run), batch=())
    alone(set(CONTRIBUTING))
    assert len(seen) == 1 and {"annual_income", "persons"} <= seen[0]


@pytest.mark.slow
def test_scenarios_detected_together_equal_each_detected_alone(demo_run, demo_result):
    """``detect_many`` (every scenario's variants in one stacked evaluation) gives each scenario the flags and
    units its own detection gives (the polars backend: the fastest at this size; the run's detection settings
    without the decisive unknowns, as the ablation stage uses: ``scenario_config``). The scenario with every
    agency, detected alone on the files of every agency's extract, gives the flags of the session's DuckDB demo
    run (``demo_result``: the same extracts and keys), and the scenarios the ablation stage stored are these
    detections'."""

    from nonrecours.core.workspace import workspace_core_config
    from nonrecours.detection.detect import detect, detect_many
    from nonrecours.outputs.ablation import scenario_config, stored_scenarios
    from nonrecours.run import detection_config

    month = _month(demo_run)
    ws = demo_run / "workspace"
    run_config = detection_config(load_config(demo_run / "run.toml"))
    config = scenario_config(run_config)
    assert run_config.decisive_unknowns and not config.decisive_unknowns
    # the core as the run builds it: with the resource kinds ingest recorded for each extract's layout
    core_config = workspace_core_config(ws)
    cases = []
    for used in (CONTRIBUTING, [a for a in CONTRIBUTING if a != "dgfip"], ["caf"]):
        tables = scan_workspace(ws, used)
        cases.append((core_month(tables, month, core_config), tables))
    together = detect_many(cases, backend="polars", config=config)
    for (core, tables), got in zip(cases, together, strict=True):
        alone = detect(core, tables, backend="polars", config=config)
        assert got.flags.equals(alone.flags) and got.units.equals(alone.units)
        assert got.summary == alone.summary
    assert together[0].flags.height != together[2].flags.height  # the scenarios do differ
    # every agency's files, on Polars, against the DuckDB run's detection of the same workspace: the same flags
    key = ["unit_id", "benefit", "status", "grade"]
    duckdb_run = pl.read_parquet(demo_result.out / "detection" / f"{month:%Y-%m}" / "flags.parquet")
    assert read_manifest(demo_result.out)["config"]["backend"] == "duckdb"
    assert together[0].flags.height > 0
    assert together[0].flags.select(key).sort(key).equals(duckdb_run.select(key).sort(key))
    # without the decisive unknowns, the flags the table counts are the run's own (Polars, the same workspace:
    # its flags.parquet, amounts written in cents), grade, people and amounts alike; each flag names every
    # unknown its benefit reads, the decisive ones the run named among them
    order = ["benefit", "unit_id"]
    run_flags = pl.read_parquet(demo_run / "detection" / f"{month:%Y-%m}" / "flags.parquet").sort(order)
    mine = together[0].flags.sort(order)
    same = ["unit_id", "unit_kind", "claimant_id", "adult_ids", "benefit", "status", "grade", "linked"]
    assert mine.select(same).equals(run_flags.select(same))
    for amount in ("amount_low", "amount_central", "amount_high", "paid"):
        assert (mine.get_column(amount) - run_flags.get_column(amount)).abs().max() <= 0.005 + 1e-9, amount
    named = mine.select("deciding_unknowns").with_columns(run_flags.get_column("deciding_unknowns").alias("decisive"))
    assert named.filter(pl.col("decisive").list.len() > 0).height > 0
    assert named.filter(pl.col("decisive").list.set_difference("deciding_unknowns").list.len() > 0).is_empty()
    # the flags the run's ablation stage stored for two of these scenarios (read by ``nonrecours ablation``)
    # are these fresh detections'
    stored = stored_scenarios(demo_run, month, load_config(demo_run / "run.toml"))
    for got, used in zip(together[1:], ([a for a in CONTRIBUTING if a != "dgfip"], ["caf"]), strict=True):
        assert stored[frozenset(used)].equals(got.flags)


def test_a_rerun_of_the_stage_on_the_same_workspace_detects_nothing_again(demo_run, tmp_path, monkeypatch):
    """The ablation stage run again on a copy of the run (same configuration, workspace and flags, as in a
    restart after a crash) reads the scenarios the run stored: no core built, no detection, and it writes the
    same table and scenario files byte for byte, with its audit entry."""
    from importlib import import_module
    from types import SimpleNamespace

    from nonrecours.atomic import file_sha256
    from nonrecours.outputs.ablation import run_stage
    from nonrecours.privacy import load_agreement

    run = Path(shutil.copytree(demo_run, tmp_path / "run", symlinks=False))
    month = _month(run)
    det = run / "detection" / f"{month:%Y-%m}"
    written = [*sorted((det / "ablation").glob("*.parquet")), det / "exchange_value.parquet"]
    before = {p: file_sha256(p) for p in written}
    detect_module = import_module("nonrecours.detection.detect")

    def no_detection(*_args, **_kwargs):
        raise AssertionError("a scenario was detected again")

    for name in ("core_month", "detect", "detect_many"):
        monkeypatch.setattr(detect_module, name, no_detection)
    entries: list[tuple[str, dict]] = []
    cfg = load_config(run / "run.toml")
    ctx = SimpleNamespace(config=cfg, out=run, agreement=load_agreement(cfg.exchange),
                          audit=SimpleNamespace(append=lambda kind, data: entries.append((kind, data))))
    report = run_stage(ctx)
    assert sorted(report.outputs) == sorted(written) and len(written) == len(CONTRIBUTING) + 1 + 1
    assert {p: file_sha256(p) for p in written} == before
    assert [kind for kind, _ in entries] == ["ablation"]
