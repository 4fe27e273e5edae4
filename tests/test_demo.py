"""The demo runs every stage for real, and nothing past the connectors holds a raw identifier."""

from __future__ import annotations

import polars as pl
import pytest

from nonrecours.demo import run_demo
from nonrecours.privacy import find_leaks


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as mp:  # no secret in the environment: the demo makes a key file
        mp.delenv("NONRECOURS_EXCHANGE_SECRET", raising=False)
        return run_demo(out, persons=1_500, seed=4)


def test_every_stage_writes_its_outputs(demo):
    stages = {stage for stage, _, _ in demo.outputs}
    assert {"synth", "extracts", "config", "ingest", "rules", "audit"} <= stages
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


def test_no_raw_identifier_past_the_connectors(demo):
    ids = pl.read_parquet(demo.out / "truth" / "identities.parquet")
    names = set(ids["first_name"]) | set(ids["last_name"])
    leaks = find_leaks([demo.out / "workspace", demo.out / "rules", demo.out / "audit", demo.out / "manifest.json",
                        demo.out / "run.log"], names=names)
    assert not leaks, [str(leak) for leak in leaks[:5]]
    key = (demo.out / "keys" / "exchange.key").read_text().strip()
    assert (demo.out / "keys" / "exchange.key").stat().st_mode & 0o077 == 0
    assert not find_leaks([demo.out / "workspace", demo.out / "rules", demo.out / "exchange.toml",
                           demo.out / "audit", demo.out / "manifest.json", demo.out / "run.toml"], names=[key])
