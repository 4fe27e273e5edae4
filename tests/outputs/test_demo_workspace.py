"""End to end on the demo's pseudonymised workspace: profiles, statistics under secrecy, an outreach list.

Detection is built elsewhere; here a stand-in units table is made from the rules' entitlements and the
payments of the evaluated month (entitled and unpaid = non-take-up, graded certain), only to feed the outputs
with real workspace ids, communes and households.
"""

from __future__ import annotations

import datetime as dt
import secrets

import polars as pl
import pytest

from nonrecours.outputs import (
    build_outreach,
    build_statistics,
    open_outreach,
    territory_table,
    unit_profiles,
    write_table,
)
from nonrecours.privacy import Secret, derive_return_key

from .test_statistics import difference_attack

MONTH = dt.date(2026, 6, 1)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo's detection of the month: its units and flags, and the core's reconciled memberships and
    residence (unit ids qualified by agency, as detection writes them)."""
    from nonrecours.demo import run_demo

    out = tmp_path_factory.mktemp("demo")
    run_demo(out, persons=1500, seed=2)
    det = out / "detection" / f"{MONTH:%Y-%m}"
    read = {"unit_memberships": pl.read_parquet(det / "memberships.parquet"),
            "persons": pl.read_parquet(det / "residence.parquet"),
            "flags": pl.read_parquet(det / "flags.parquet")}
    return read, pl.read_parquet(det / "units.parquet")


def test_statistics_on_the_demo_workspace(demo):
    read, units = demo
    profiles = unit_profiles(read["unit_memberships"], read["persons"], MONTH)
    famille = profiles.filter(pl.col("unit_kind") == "famille")
    assert units.join(famille, on="unit_id", how="anti").height == 0  # every evaluated famille has a profile
    terr = territory_table("cahors")
    # every known commune is a Cahors one; people known only to agencies that give no address have none
    assert famille.drop_nulls("depcom").join(terr, on="depcom", how="anti").height == 0
    table = build_statistics(units, profiles, terr)
    total = table.filter((pl.col("level") == "total") & (pl.col("household_type") == "ensemble"))
    expected = dict(units.group_by("benefit").agg(pl.col("unit_id").n_unique()).iter_rows())
    assert dict(zip(total["benefit"], total["units"], strict=True)) == expected
    assert table.filter(~pl.col("secret")).get_column("units").min() >= 11
    for measure in ("units", "non_take_up_high", "paid"):
        assert difference_attack(table, measure) == set()


def test_outreach_on_the_demo_workspace(demo, tmp_path):
    read, _ = demo
    m = read["unit_memberships"].filter(pl.col("unit_kind") == "famille")
    flags = read["flags"].filter(pl.col("benefit").is_in(["rsa", "ppa"]))  # the CAF's list
    assert flags.height > 0
    records = m.select(pl.lit("caf").alias("agency"), "person_id", pl.col("person_id").alias("record_id")).unique()
    keys = {a: derive_return_key(Secret(secrets.token_urlsafe(40).encode()), a, "demo", "outreach")
            for a in ("caf", "cnam", "cnav", "msa")}
    lists = build_outreach(flags, records=records, keys=keys)
    caf = lists["caf"]
    assert caf.height == flags.get_column("claimant_id").n_unique()
    assert caf.get_column("has_record").all()
    paths = write_table(caf, tmp_path, "outreach_caf")
    opened = open_outreach(paths["csv"], keys["caf"])
    assert set(opened.get_column("record_id")) == set(flags.get_column("claimant_id"))
    assert opened.get_column("questions").str.contains("neuf mois").any()
