"""Household clusters: people linked by any unit (famille, foyer fiscal, ménage), transitively.

A cluster is the partition key for distributed evaluation: every unit lies wholly inside one cluster, so
partitions never need each other. Computed by label propagation in bulk (each round: a unit takes the
smallest label of its members, a person the smallest label of their units) until nothing changes; the
number of rounds is the diameter of the largest cluster, a handful in practice.
"""

from __future__ import annotations

import polars as pl

from nonrecours.errors import NonRecoursError

__all__ = ["clusters"]

_MAX_ROUNDS = 64


def clusters(units: pl.DataFrame) -> pl.DataFrame:
    """(person_id, cluster_id) for ``units`` (person_id and ``<kind>_id`` columns); the cluster id is the
    smallest person id of the cluster."""
    kinds = [c for c in ("famille_id", "foyer_fiscal_id", "menage_id") if c in units.columns]
    edges = pl.concat([units.select("person_id", (pl.lit(k + ":") + pl.col(k)).alias("unit"))
                       .filter(pl.col("unit").is_not_null()) for k in kinds], how="vertical")
    label = units.select("person_id", pl.col("person_id").alias("label"))
    for _ in range(_MAX_ROUNDS):
        unit_label = edges.join(label, on="person_id").group_by("unit").agg(pl.col("label").min())
        new = (edges.join(unit_label, on="unit").group_by("person_id").agg(pl.col("label").min().alias("new"))
               .join(label, on="person_id", how="right")
               .select("person_id", pl.min_horizontal("label", "new").alias("label")))
        changed = new.join(label, on="person_id", suffix="_old").filter(pl.col("label") != pl.col("label_old"))
        label = new
        if changed.height == 0:
            return label.rename({"label": "cluster_id"})
    raise NonRecoursError("household clusters did not converge: a chain of units longer than expected")
