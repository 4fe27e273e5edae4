"""The demo runs every stage for real, and nothing past the connectors holds a raw identifier."""

from __future__ import annotations

import polars as pl
import pytest

from nonrecours.privacy import find_leaks


@pytest.fixture(scope="module")
def demo(demo_result):  # type: ignore[no-untyped-def]
    """The session's 1,500-person demo (tests/conftest.py): no secret in the environment, so it made key files."""
    return demo_result


def test_every_stage_writes_its_outputs(demo):
    stages = {stage for stage, _, _ in demo.outputs}
    assert {"synth", "extracts", "config", "ingest", "rules", "detection", "evaluation", "audit"} <= stages
    for _, path, _ in demo.outputs:
        assert path.exists() and path.stat().st_size > 0
    listed = {path.relative_to(demo.out).as_posix(): rows for _, path, rows in demo.outputs}
    # every file written is listed: reports, agreement, key files, truth manifest, run configuration, audit
    for name in ("truth/manifest.json", "exchange.toml", "keys/exchange.key", "keys/audit.key", "run.toml",
                 "workspace/reports/caf-caf.json", "manifest.json", "audit/log.jsonl", "run.log"):
        assert name in listed, name
    written = {p.relative_to(demo.out).as_posix() for p in demo.out.rglob("*") if p.is_file()}
    assert written <= set(listed), sorted(written - set(listed))
    # extracts with the rows ingest read from them
    assert all(listed[f"extracts/{name}"] > 0 for name in ("caf.dat", "cnam.csv", "dgfip.parquet", "msa.csv"))
    facts = dict(demo.facts)
    assert "ingest" in facts and " read = " in facts["ingest"]
    entitlements = pl.read_parquet(demo.out / "rules" / "entitlements-2026-06.parquet")
    assert {"famille_id", "rsa", "ppa", "aspa", "css_free"} <= set(entitlements.columns)
    assert entitlements.height > 0


def test_detection_writes_flags_units_summary_and_evaluation(demo):
    import json

    from nonrecours.detection import FLAGS_SCHEMA, GRADES, UNITS_SCHEMA
    from nonrecours.schemas.benefits import BENEFITS

    det = demo.out / "detection" / "2026-06"
    flags = pl.read_parquet(det / "flags.parquet")
    units = pl.read_parquet(det / "units.parquet")
    assert flags.schema == pl.Schema(FLAGS_SCHEMA) and units.schema == pl.Schema(UNITS_SCHEMA)
    assert flags.height > 0 and units.height > flags.height
    assert set(flags["grade"]) <= set(GRADES)
    assert flags["reasons"].list.len().min() >= 2
    summary = json.loads((det / "summary.json").read_text())
    assert set(summary["exclusions"]) >= {"opt_out", "pending_claim", "recent_refusal", "recent_closure"}
    assert sum(n for gs in summary["flags_by_benefit_grade"].values() for n in gs.values()) == flags.height
    score = json.loads((demo.out / "evaluation" / "2026-06" / "evaluation.json").read_text())
    assert set(score["benefits"]) == set(BENEFITS)  # the demo asks for every benefit of the catalogue
    assert score["truth_familles_matched"] > 0
    facts = dict(demo.facts)
    assert any(label.startswith("flags 2026-06") for label in facts)
    assert "| benefit |" in facts["evaluation 2026-06 against the synthetic truth"]


def test_no_raw_identifier_past_the_connectors(demo):
    from nonrecours.simulation.export_openfisca import VOCABULARY

    ids = pl.read_parquet(demo.out / "truth" / "identities.parquet")
    # detection's OpenFisca situations write « marie » (statut_marital), also a first name
    names = {n for n in set(ids["first_name"]) | set(ids["last_name"]) if n.lower() not in VOCABULARY}
    leaks = find_leaks([demo.out / "workspace", demo.out / "rules", demo.out / "detection",
                        demo.out / "evaluation", demo.out / "audit", demo.out / "manifest.json",
                        demo.out / "run.log"], names=names)
    assert not leaks, [str(leak) for leak in leaks[:5]]
    key = (demo.out / "keys" / "exchange.key").read_text().strip()
    assert (demo.out / "keys" / "exchange.key").stat().st_mode & 0o077 == 0
    # the synthetic identities (names, NIRs, addresses) are their owner's only, as the keys are
    private = [demo.out / "truth", demo.out / "extracts", *(demo.out / "truth").rglob("*"),
               *(demo.out / "extracts").rglob("*")]
    assert len(private) > 10 and all(p.stat().st_mode & 0o077 == 0 for p in private)
    assert not find_leaks([demo.out / "workspace", demo.out / "rules", demo.out / "exchange.toml",
                           demo.out / "audit", demo.out / "manifest.json", demo.out / "run.toml"], names=[key])


def test_the_demo_dates_every_extract(demo):
    """The demo knows the day its extracts were made: the CAF's header carries it, run.toml states it for the
    layouts without a header date, so no extract is dated by its file (and no such warning is printed)."""
    import json

    manifest = json.loads((demo.out / "manifest.json").read_text())
    sources = {k: (q["extract_date_source"], q["extract_date"]) for k, q in manifest["quarantine"].items()}
    assert sources.pop("caf/caf.dat") == ("header", "2026-06-28")
    assert len(sources) == 6 and set(sources.values()) == {("given", "2026-06-28")}
    assert (demo.out / "run.toml").read_text().count("extract_date = 2026-06-28") == 6
    assert "modification date" not in (demo.out / "run.log").read_text()
