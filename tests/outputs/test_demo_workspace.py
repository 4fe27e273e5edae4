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

from nonrecours.detection.schema import FLAGS_SCHEMA
from nonrecours.outputs import (
    build_outreach,
    build_statistics,
    open_outreach,
    territory_table,
    unit_profiles,
    write_table,
)
from nonrecours.privacy import Secret, derive_return_key

from .conftest import as_units
from .test_statistics import difference_attack

MONTH = dt.date(2026, 6, 1)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from nonrecours.demo import run_demo

    out = tmp_path_factory.mktemp("demo")
    run_demo(out, persons=1500, seed=2)
    ws = out / "workspace"
    read = {t: pl.read_parquet(ws / t) for t in ("persons", "unit_memberships", "benefits_paid")}
    ent = pl.read_parquet(out / "rules" / f"entitlements-{MONTH:%Y-%m}.parquet")
    paid = (read["benefits_paid"].filter((pl.col("month") == MONTH) & (pl.col("unit_kind") == "famille"))
            .group_by("unit_id", pl.col("benefit").cast(pl.String)).agg(pl.col("amount").cast(pl.Float64).sum()))
    units = pl.concat([
        ent.select(pl.col("famille_id").alias("unit_id"), pl.lit(b).alias("benefit"),
                   pl.col(b).cast(pl.Float64).alias("amount")) for b in ("rsa", "ppa")
    ]).join(paid.rename({"amount": "paid"}), on=["unit_id", "benefit"], how="left").with_columns(
        pl.col("paid").fill_null(0.0))
    entitled, is_paid = pl.col("amount") > 0, pl.col("paid") > 0
    units = as_units(units.select(
        pl.lit(MONTH).alias("month"), pl.lit("famille").alias("unit_kind"), "unit_id", "benefit",
        pl.when(entitled & ~is_paid).then(pl.lit("non_take_up")).when(~entitled & is_paid)
        .then(pl.lit("paid_not_entitled")).when(entitled).then(pl.lit("consistent"))
        .otherwise(pl.lit("not_entitled")).alias("status"),
        pl.when(entitled).then(pl.lit("certain")).alias("grade"),
        pl.col("amount").alias("amount_low"), pl.col("amount").alias("amount_central"),
        pl.col("amount").alias("amount_high"), "paid", pl.lit(None, dtype=pl.String).alias("excluded"),
    ))
    return read, units


def test_statistics_on_the_demo_workspace(demo):
    read, units = demo
    profiles = unit_profiles(read["unit_memberships"], read["persons"], MONTH)
    famille = profiles.filter(pl.col("unit_kind") == "famille")
    assert units.join(famille, on="unit_id", how="anti").height == 0  # every evaluated famille has a profile
    terr = territory_table("cahors")
    assert famille.join(terr, on="depcom", how="anti").height == 0  # all in the Cahors communes
    table = build_statistics(units, profiles, terr)
    total = table.filter((pl.col("level") == "total") & (pl.col("household_type") == "ensemble"))
    assert dict(zip(total["benefit"], total["units"], strict=True)) == {"ppa": 563, "rsa": 563}
    assert table.filter(~pl.col("secret")).get_column("units").min() >= 11
    for measure in ("units", "non_take_up_high", "paid"):
        assert difference_attack(table, measure) == set()


def test_outreach_on_the_demo_workspace(demo, tmp_path):
    read, units = demo
    m = read["unit_memberships"].filter(pl.col("unit_kind") == "famille").with_columns(pl.col("role").cast(pl.String))
    adults = (m.filter(pl.col("role").is_in(["demandeur", "conjoint"])).sort("unit_id", "role", "person_id")
              .group_by("unit_id").agg(pl.col("person_id").unique().sort().alias("adult_ids"),
                                       pl.col("person_id").filter(pl.col("role") == "demandeur").first()
                                       .alias("claimant_id"))
              # Quarantined lines leave a few familles without their demandeur: the partner claims.
              .with_columns(pl.coalesce("claimant_id", pl.col("adult_ids").list.first())))
    unflagged = units.filter(pl.col("status") == "non_take_up").drop("claimant_id", "adult_ids")
    flags = unflagged.join(adults, on="unit_id").select(
        *[pl.col(c) if c in units.columns or c in adults.columns else pl.lit(None).alias(c) for c in FLAGS_SCHEMA]
    ).with_columns(pl.col("paid_before").fill_null(0.0),
                   *[pl.lit([], dtype=pl.List(pl.String)).alias(c) for c in ("deciding_unknowns", "reasons", "linked")]
                   ).cast(FLAGS_SCHEMA)
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
