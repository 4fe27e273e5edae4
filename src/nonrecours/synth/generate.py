"""Orchestrates the synthetic territory: chunks of households → canonical truth tables in Parquet.

Memory stays bounded: each chunk is generated, validated and written as a part file; parts are then
streamed into one Parquet file per table. The same seed gives byte-identical files: every chunk draws
from its own generator seeded by (seed, chunk number, stream), independent of anything else.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from nonrecours.errors import ConfigError
from nonrecours.schemas import BENEFITS_PAID, HOUSING, PERSONS, RESOURCES, UNIT_MEMBERSHIPS
from nonrecours.schemas.months import month_from_index
from nonrecours.synth.caf import build_family_benefits
from nonrecours.synth.capacity import draw_work_capacity
from nonrecours.synth.households import (
    COUPLE_KIND_SHARES,
    HOUSEHOLD_TYPES,
    HouseholdChunk,
    PersonKind,
    draw_households,
    take_households,
)
from nonrecours.synth.income import build_housing, build_resources
from nonrecours.synth.people import build_people, finalise_identities, month_index
from nonrecours.synth.territory import TERRITORIES, load_territory

__all__ = ["DEFAULT_END_MONTH", "TRUTH_TABLES", "generate", "tax_window"]

DEFAULT_END_MONTH = dt.date(2026, 6, 1)
"""Last month of the default window: the latest month our dated parameters cover."""


def tax_window(end_month: dt.date) -> int:
    """Months from January of year N-3 to ``end_month``: the DGFiP holds the income years N-3 to N-1 (the avis
    of year N-1 on income N-2, and the one before it), and the rules read year N-2 of every month of their
    look-back (15 months: back into year N-1, whose N-2 is N-3), so the truth covers those years in full for
    the synthetic DGFiP extract to carry them."""
    return 36 + end_month.month


TRUTH_TABLES = ("persons", "unit_memberships", "resources", "housing", "benefits_paid", "identities",
                "households", "registrations")
_SPECS = {"persons": PERSONS, "unit_memberships": UNIT_MEMBERSHIPS, "resources": RESOURCES,
          "housing": HOUSING, "benefits_paid": BENEFITS_PAID}


def _rng(seed: int, chunk_no: int, stream: int) -> np.random.Generator:
    """The generator of one stream of one chunk: chunks never share a random state."""
    return np.random.default_rng([seed, chunk_no, stream])


def _chunk_plan(seed: int, persons: int, chunk_households: int,
                weights: np.ndarray) -> Iterator[tuple[int, HouseholdChunk]]:
    """Yield household chunks until exactly ``persons`` persons are drawn."""
    remaining, chunk_no = persons, 0
    while remaining > 0:
        chunk = draw_households(_rng(seed, chunk_no, 0), chunk_households, weights)
        sizes = np.bincount(chunk.hh, minlength=chunk.n_households)
        cum = np.cumsum(sizes)
        if cum[-1] > remaining:
            k = int(np.searchsorted(cum, remaining, side="right"))
            rest = remaining - (int(cum[k - 1]) if k else 0)
            # Close with single-person households; a tiny chunk without enough of them leaves the rest
            # to the next chunk.
            singles = np.flatnonzero(sizes[k:] == 1)[:rest] + k
            chunk = take_households(chunk, np.concatenate([np.arange(k), singles]))
        remaining -= chunk.n_persons
        if chunk.n_households:
            yield chunk_no, chunk
        chunk_no += 1


@dataclass(frozen=True)
class _ChunkJob:
    seed: int
    chunk_no: int
    chunk: HouseholdChunk
    person_offset: int
    household_offset: int
    end_month: dt.date
    months: int
    territory: str
    provenance: dict[str, object]
    parts_dir: Path


def _write_chunk(job: _ChunkJob) -> None:
    """Build and write every table of one chunk of households (runs in a worker process)."""
    chunk, months = job.chunk, job.months
    communes = load_territory(job.territory)
    end_idx = month_index(job.end_month)
    start_idx = end_idx - months + 1
    window_start = month_from_index(start_idx)

    def rng(stream: int) -> np.random.Generator:
        return _rng(job.seed, job.chunk_no, stream)

    people = build_people(rng(1), chunk, person_offset=job.person_offset, household_offset=job.household_offset,
                          end_month=job.end_month, window_start=window_start, communes=communes,
                          provenance=job.provenance)
    facts = people["person_facts"]
    resources, income, registrations = build_resources(rng(2), facts, window_start=window_start, months=months,
                                        provenance=job.provenance)
    # RSDAE and unfitness for work read the disability, work and retirement just drawn: a stream of their own
    capacity = draw_work_capacity(rng(4), facts, resources)
    # working on one's own account: a self-employment income in any month of the window (a fact, no draw)
    own_account = resources.filter(pl.col("kind").cast(pl.String) == "self_employment").get_column("person_id")
    people["persons"] = people["persons"].drop("rsdae", "unfit_for_work").join(
        capacity, on="person_id", how="left", maintain_order="left").with_columns(
        pl.col("person_id").is_in(own_account.implode()).alias("self_employed")).select(people["persons"].columns)
    sizes = np.bincount(chunk.hh, minlength=chunk.n_households)
    pensioner = chunk.age[chunk.kind == PersonKind.ADULT1] >= 65
    status = np.zeros(chunk.n_households, dtype=np.int64)
    rent = np.zeros((chunk.n_households, months))
    first_adult = chunk.kind == PersonKind.ADULT1
    housing = build_housing(rng(3), chunk.n_households, job.household_offset, pensioner, sizes,
                            window_start=window_start, months=months, provenance=job.provenance,
                            status_out=status, rent_out=rent, age=chunk.age[first_adult],
                            student=facts["student"].to_numpy()[first_adult])
    benefits = build_family_benefits(
        2 * chunk.hh + (chunk.kind == PersonKind.SECOND), chunk.kind, facts["birth_idx"].to_numpy(),
        facts["agricultural"].to_numpy(), income, status, rent,
        m_idx=start_idx + np.arange(months), famille_offset=2 * job.household_offset, provenance=job.provenance)
    households = pl.DataFrame({
        "menage_id": pl.select(pl.lit("M") + pl.Series(job.household_offset + np.arange(chunk.n_households))
                               .cast(pl.String).str.zfill(9)).to_series(),
        "household_type": pl.Series(np.array(HOUSEHOLD_TYPES)[chunk.htype]).cast(pl.Enum(HOUSEHOLD_TYPES)),
        "couple_kind": pl.Series(np.array(list(COUPLE_KIND_SHARES))[chunk.couple_kind])
        .cast(pl.Enum(tuple(COUPLE_KIND_SHARES))),
        "n_adults": chunk.n_adults.astype(np.int8),
        "n_children": chunk.n_children.astype(np.int16),
        "size": sizes.astype(np.int16),
        "depcom": communes["depcom"].to_numpy()[chunk.commune],
    })
    households = households.with_columns(
        pl.when(pl.col("n_adults") == 2).then(pl.col("couple_kind")).alias("couple_kind")).drop("n_adults")
    tables = {"persons": people["persons"], "unit_memberships": people["unit_memberships"],
              "resources": resources, "housing": housing, "benefits_paid": benefits,
              "identities": people["identities"], "households": households, "registrations": registrations}
    for name, frame in tables.items():
        if name in _SPECS:
            # Keys are unique by construction (person × month × kind, ménage × month...); the tests
            # check them on whole tables, the chunk check covers dtypes, codes, ranges and nulls.
            frame = _SPECS[name].validate_frame(frame, check_key=False)
        (job.parts_dir / name).mkdir(exist_ok=True)
        frame.write_parquet(job.parts_dir / name / f"part-{job.chunk_no:05d}.parquet")


def generate(
    persons: int,
    seed: int,
    out: Path | str,
    *,
    territory: str = "cahors",
    end_month: dt.date = DEFAULT_END_MONTH,
    months: int = 24,
    chunk_households: int = 40_000,
    workers: int | None = None,
) -> dict[str, Path]:
    """Write the true situations of ``persons`` synthetic people under ``out/truth/``.

    Returns the path of each table. Tables: the canonical persons, unit_memberships, resources
    (24 months), housing, benefits_paid (family benefits and housing aid), plus two truth-only tables:
    identities (raw NIR, names, birth date, address: for writing agency extracts, never for analysis),
    households (type, couple kind, commune) for scoring and checks, and registrations (the months each person
    is registered at France Travail on their own request, with category and registration date; the RSA
    claimants' registration is added by ``write_extracts``, which draws the take-up). ``workers``: processes
    building chunks (default: one per core); the output does not depend on it.
    """
    if persons <= 0:
        raise ConfigError("persons must be positive")
    if territory not in TERRITORIES:
        raise ConfigError(f"unknown territory {territory!r}; expected one of {', '.join(TERRITORIES)}")
    if end_month.day != 1:
        raise ConfigError("end_month must be the first day of a month")
    out = Path(out)
    truth = out / "truth"
    parts_dir = truth / "_parts"
    if parts_dir.exists():
        shutil.rmtree(parts_dir)
    parts_dir.mkdir(parents=True)
    communes = load_territory(territory)
    weights = communes["weight"].to_numpy()
    end_idx = month_index(end_month)
    start_idx = end_idx - months + 1
    window_start = month_from_index(start_idx)
    extract_date = month_from_index(end_idx + 1)
    provenance = {"source_agency": "synth", "extract_id": f"synth-{territory}-seed{seed}",
                  "extract_date": extract_date}

    # Households are drawn in order here (cheap), so every chunk knows its id offsets; the expensive
    # part (people, resources, housing, payments, Parquet) runs in worker processes when there are
    # several chunks. Each chunk's bytes depend only on (seed, chunk number), so output is identical.
    jobs = []
    person_offset = household_offset = 0
    for chunk_no, chunk in _chunk_plan(seed, persons, chunk_households, weights):
        jobs.append(_ChunkJob(seed=seed, chunk_no=chunk_no, chunk=chunk, person_offset=person_offset,
                              household_offset=household_offset, end_month=end_month, months=months,
                              territory=territory, provenance=provenance, parts_dir=parts_dir))
        person_offset += chunk.n_persons
        household_offset += chunk.n_households
    default_workers = (os.cpu_count() or 1) if len(jobs) >= 4 else 1  # spawning costs ~1 s a worker
    n_workers = min(workers if workers is not None else default_workers, len(jobs))
    if n_workers > 1:
        ctx = multiprocessing.get_context("spawn")  # Polars is not fork-safe
        with ProcessPoolExecutor(n_workers, mp_context=ctx) as pool:
            list(pool.map(_write_chunk, jobs))
    else:
        for job in jobs:
            _write_chunk(job)

    paths: dict[str, Path] = {}
    for name in TRUTH_TABLES:
        lf = pl.scan_parquet(sorted((parts_dir / name).glob("part-*.parquet")))
        if name == "identities":
            lf = finalise_identities(lf)
        target = truth / f"{name}.parquet"
        lf.sink_parquet(target)
        paths[name] = target
    shutil.rmtree(parts_dir)
    manifest = {
        "generator": "nonrecours.synth",
        "seed": seed,
        "territory": territory,
        "persons": person_offset,
        "households": household_offset,
        "window": {"start": window_start.isoformat(), "end": end_month.isoformat(), "months": months},
        "extract_id": provenance["extract_id"],
        "rows": {name: pl.scan_parquet(p).select(pl.len()).collect().item() for name, p in paths.items()},
    }
    (truth / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    paths["manifest"] = truth / "manifest.json"
    return paths
