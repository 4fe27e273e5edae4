"""Household clusters: people linked by any unit (famille, foyer fiscal, ménage), transitively.

A cluster is the partition key for distributed evaluation: every unit lies wholly inside one cluster, so
partitions never need each other. Computed by label propagation in bulk (each round: a unit takes the
smallest label of its members, a person the smallest label of their units) until nothing changes; the
number of rounds is the diameter of the largest cluster, a handful in practice.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from nonrecours.errors import NonRecoursError

__all__ = ["clusters"]

_MAX_ROUNDS = 64


def clusters(units: pl.DataFrame) -> pl.DataFrame:
    """(person_id, cluster_id) for ``units`` (person_id and ``<kind>_id`` columns), a row for each of its rows in
    its order; the cluster id is the smallest person id of the cluster.

    Persons and units are numbered (persons in their ids' order: the smallest number is the smallest id) and the
    labels propagate over those numbers in arrays, each round two segmented minima over the links sorted once;
    joins and minima of text ids each round took 0.6-0.9 s a month for the France 100,000, this 0.23 s."""
    kinds = [c for c in ("famille_id", "foyer_fiscal_id", "menage_id") if c in units.columns]
    persons = units.select(pl.col("person_id").unique().sort()).with_row_index("_p")
    edges = pl.concat([units.select("person_id", pl.lit(k).alias("_kind"), pl.col(k).cast(pl.String).alias("_unit"))
                       .drop_nulls("_unit") for k in kinds], how="vertical")
    numbered = edges.select("_kind", "_unit").unique().with_row_index("_u")
    edges = edges.join(persons, on="person_id").join(numbered, on=["_kind", "_unit"]).select("_p", "_u")
    label = np.arange(persons.height, dtype=np.int64)
    if edges.height:
        e_p = edges.get_column("_p").to_numpy().astype(np.int64)
        e_u = edges.get_column("_u").to_numpy().astype(np.int64)
        by_unit = np.argsort(e_u, kind="stable")
        unit_starts = _starts(e_u[by_unit])
        by_person = np.argsort(e_p, kind="stable")
        person_starts = _starts(e_p[by_person])
        linked = e_p[by_person][person_starts]  # the persons of some unit, in order
        members, units_of = e_p[by_unit], e_u[by_person]
        for _ in range(_MAX_ROUNDS):
            unit_label = np.minimum.reduceat(label[members], unit_starts)  # unit numbers are 0..m-1, all linked
            new = label.copy()
            new[linked] = np.minimum(label[linked], np.minimum.reduceat(unit_label[units_of], person_starts))
            if np.array_equal(new, label):
                break
            label = new
        else:
            raise NonRecoursError("household clusters did not converge: a chain of units longer than expected")
    ids = persons.get_column("person_id")
    cluster = persons.select("_p", ids.gather(label).alias("cluster_id"))
    return (units.select("person_id").join(persons, on="person_id", how="left", maintain_order="left")
            .join(cluster, on="_p", how="left", maintain_order="left").select("person_id", "cluster_id"))


def _starts(sorted_keys: np.ndarray) -> np.ndarray:
    """Where each run of equal keys begins in ``sorted_keys`` (non-empty)."""
    return np.flatnonzero(np.concatenate(([True], sorted_keys[1:] != sorted_keys[:-1])))
