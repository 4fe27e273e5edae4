"""Outputs benchmark: outreach lists and secret statistics for a territory of N persons.

Run: ``python benchmarks/outputs_bench.py [--persons 1000000] [--territory france]
[--out benchmarks/results/outputs.json]``

Return tokens are also timed alone (``tokens``): issuing one per contacted person and agency, and opening
them (``cryptography``'s AES-SIV, one call per record: a maintained implementation rather than a faster
hand-built one; at 1M persons about 107k people are contacted, so tokens cost well under a second).

Detection's tables are generated in bulk with the shapes of FLAGS_SCHEMA and UNITS_SCHEMA (about 0.45 units
per person and benefit, 6 % of units flagged, five facts of provenance per flagged adult), since detection is
built elsewhere; the outputs' own work is what is timed: outreach (lead agency, texts, AES-SIV return
tokens), statistics (every level, secondary suppression and the secrecy audit to a fixed point: wall and CPU
seconds, the audit's rounds logged to stderr), and writing Parquet + French CSV.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import resource
import secrets
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from nonrecours.core.month import PROVENANCE_SCHEMA
from nonrecours.detection.schema import FLAGS_SCHEMA, UNITS_SCHEMA
from nonrecours.outputs import build_outreach, build_statistics, territory_table, write_table
from nonrecours.outputs.law import TARGET_BENEFITS
from nonrecours.outputs.statistics import HOUSEHOLD_TYPES
from nonrecours.privacy import Secret, derive_return_key
from nonrecours.privacy.keys import ReturnTokenKey
from nonrecours.privacy.tokens import issue_return_tokens, open_return_tokens

MONTH = dt.date(2026, 6, 1)


def tables(persons: int, territory: str, seed: int = 1) -> dict[str, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    terr = territory_table(territory)
    from nonrecours.synth import load_territory

    places = load_territory(territory)
    n_units = max(int(persons * 0.45), 10)
    depcom = rng.choice(places.get_column("depcom").to_numpy(), size=n_units,
                        p=places.get_column("weight").to_numpy())
    base = pl.DataFrame({"unit_id": [f"{i:064x}" for i in range(n_units)], "depcom": depcom,
                         "household_type": rng.choice(np.array(HOUSEHOLD_TYPES[:4]), size=n_units)})
    profiles = base.select(pl.lit("famille").alias("unit_kind"), "unit_id", "depcom", "household_type")
    parts = []
    for b in TARGET_BENEFITS:
        draw = rng.random(n_units)
        grade = np.where(draw < 0.02, "certain", np.where(draw < 0.045, "probable",
                                                             np.where(draw < 0.06, "possible", "")))
        paid = rng.random(n_units) < 0.12
        central = rng.uniform(20, 900, n_units).round(2)
        status = np.where(grade != "", np.where(paid, "consistent", "non_take_up"),
                          np.where(paid, "paid_not_entitled", "not_entitled"))
        parts.append(pl.DataFrame({
            "month": [MONTH] * n_units, "unit_kind": "famille", "unit_id": base.get_column("unit_id"),
            "benefit": b, "status": status, "grade": grade, "amount_low": central * 0.8,
            "amount_central": central, "amount_high": central * 1.2,
            "paid": np.where(paid, central, 0.0), "excluded": None, "claimant_id": base.get_column("unit_id"),
            "paid_before": np.where(paid, central * 3, 0.0), "receiving": paid,
            "entitled_low": grade == "certain", "entitled_central": np.isin(grade, ["certain", "probable"]),
            "entitled_high": grade != ""}, schema_overrides=UNITS_SCHEMA)
            .with_columns(pl.when(pl.col("grade") != "").then(pl.col("grade")).alias("grade"),
                          pl.concat_list("claimant_id").alias("adult_ids")))
    units = pl.concat(parts).cast(UNITS_SCHEMA)
    flagged = units.filter(pl.col("status") == "non_take_up")
    flags = flagged.select(
        "month", "unit_kind", "unit_id", pl.col("unit_id").alias("claimant_id"),
        pl.concat_list("unit_id").alias("adult_ids"), "benefit", "status", "grade", "amount_low", "amount_central",
        "amount_high", "paid", pl.lit(0.0).alias("paid_before"),
        pl.when(pl.col("grade") == "certain").then(pl.lit([], dtype=pl.List(pl.String)))
        .otherwise(pl.lit(["rent"])).alias("deciding_unknowns"),
        pl.lit(["ressources inférieures au plafond (CAF)", "âge requis (CNAV)"]).alias("reasons"),
        pl.lit([], dtype=pl.List(pl.String)).alias("linked")).cast(FLAGS_SCHEMA)
    people = flags.select("claimant_id").unique()
    provenance = people.join(pl.DataFrame({"input": ["date_naissance", "salary_net", "unemployment",
                                                     "pension_net", "couple_kind"],
                                           "source_agency": ["caf", "dgfip", "france_travail", "cnav", "caf"]}),
                             how="cross").select(
        pl.lit("individu").alias("entity"), pl.col("claimant_id").alias("id"), pl.lit(MONTH).alias("month"),
        "input", pl.lit("observed").alias("kind"), "source_agency", pl.lit(MONTH).alias("source_month"),
    ).cast(PROVENANCE_SCHEMA)
    records = people.join(pl.DataFrame({"agency": ["caf", "cnam", "cnav", "dgfip"]}), how="cross").select(
        "agency", pl.col("claimant_id").alias("person_id"), pl.col("claimant_id").alias("record_id"))
    return {"units": units, "profiles": profiles, "flags": flags, "provenance": provenance, "records": records,
            "territory": terr}


def token_timings(records: pl.DataFrame, key: ReturnTokenKey) -> dict:
    """Seconds to issue and open the tokens of ``records`` (every record opens back to itself, checked)."""
    frame = records.select("record_id")
    t0 = time.perf_counter()
    issued = issue_return_tokens(frame, "record_id", key, drop_record=False)
    t_issue = time.perf_counter() - t0
    t0 = time.perf_counter()
    opened = open_return_tokens(issued, "return_token", key)
    t_open = time.perf_counter() - t0
    assert opened.get_column("record_id").equals(frame.get_column("record_id"))
    return {"rows": frame.height, "issue_seconds": round(t_issue, 3), "open_seconds": round(t_open, 3),
            "per_record_microseconds": round(1e6 * (t_issue + t_open) / max(frame.height, 1) / 2, 2)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=20_000)
    ap.add_argument("--territory", default="france")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    t0 = time.perf_counter()
    data = tables(args.persons, args.territory)
    gen = time.perf_counter() - t0
    from nonrecours.schemas.benefits import CATALOGUE

    # every agency that leads some benefit contacts people (the DGFiP for the chèque énergie)
    leads = sorted({b.lead for b in CATALOGUE} | {b.members_lead for b in CATALOGUE if b.members_lead})
    keys = {a: derive_return_key(Secret(secrets.token_urlsafe(40).encode()), a, "bench", "outreach")
            for a in leads}
    t0 = time.perf_counter()
    lists = build_outreach(data["flags"], records=data["records"], keys=keys, provenance=data["provenance"])
    t_outreach = time.perf_counter() - t0
    # the secrecy audit's rounds, as they come, on stderr (counts only: never an area or a value)
    log = logging.getLogger("nonrecours.outputs.statistics")
    log.addHandler(logging.StreamHandler())
    log.setLevel(logging.INFO)
    t0, c0 = time.perf_counter(), time.process_time()
    stats = build_statistics(data["units"], data["profiles"], data["territory"])
    t_stats, c_stats = time.perf_counter() - t0, time.process_time() - c0
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        for agency, frame in lists.items():
            write_table(frame, tmp, f"outreach_{agency}")
        write_table(stats, tmp, "statistics")
        t_write = time.perf_counter() - t0
    # the outreach lists' records, and a fixed 100,000 CAF-like record numbers (the size the loop was measured at)
    hundred_k = pl.DataFrame({"record_id": [f"caf-{i:011d}" for i in range(100_000)]})
    tokens = {"outreach_records": token_timings(data["records"], keys["caf"]),
              "records_100k": token_timings(hundred_k, keys["caf"])}
    result = {
        "date": dt.date.today().isoformat(), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_average_1min_at_end": round(os.getloadavg()[0], 1),  # the machine is shared: timings are noisy
        "persons": args.persons, "territory": args.territory, "units": data["units"].height,
        "flags": data["flags"].height, "people_contacted": sum(f.height for f in lists.values()),
        "statistics_cells": stats.height, "secret_cells": int(stats.get_column("secret").sum()),
        "seconds": {"generate_inputs": round(gen, 2), "outreach": round(t_outreach, 2),
                    "statistics": round(t_stats, 2), "statistics_cpu": round(c_stats, 2),
                    "write_parquet_csv": round(t_write, 2)},
        "tokens": tokens,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    text = json.dumps(result, indent=2, ensure_ascii=False)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
