"""Household clusters: people linked by any unit (famille, foyer fiscal, ménage), transitively.

A cluster is the partition key for distributed evaluation: every unit lies wholly inside one cluster, so
partitions never need each other. The connected components of the graph linking each person to their units
(``core.partition.components``: one pass over integer arrays).
"""

from __future__ import annotations

import polars as pl

from nonrecours.core.partition import components

__all__ = ["clusters"]


def clusters(units: pl.DataFrame) -> pl.DataFrame:
    """(person_id, cluster_id) for ``units`` (person_id and ``<kind>_id`` columns), a row for each of its rows in its
    order; the cluster id is the smallest person id of the cluster (null for a null person id).

    Rounds of label propagation over the text ids (joins and minima each round) took 0.6-0.9 s a month for the
    France 100,000; the components of the members' links, 0.2-0.3 s."""
    kinds = [c for c in ("famille_id", "foyer_fiscal_id", "menage_id") if c in units.columns]
    # persons numbered in their ids' order (a component's smallest number is its smallest id), every person a node
    # (a person in no unit: their own cluster), each member linked to the smallest member of each of their units
    persons = units.select(pl.col("person_id").drop_nulls().unique().sort()).with_row_index("_p")
    numbered = units.join(persons, on="person_id", how="inner")
    edges = pl.concat([persons.select(pl.col("_p").alias("a"), pl.col("_p").alias("b")),
                       *[numbered.filter(pl.col(k).is_not_null())
                         .select(pl.col("_p").alias("a"), pl.col("_p").min().over(k).alias("b")) for k in kinds]])
    comp = components(edges)
    label = comp.select(pl.col("node").alias("_p"),
                        persons.get_column("person_id").gather(comp.get_column("label")).alias("cluster_id"))
    return (units.select("person_id").join(persons, on="person_id", how="left", maintain_order="left")
            .join(label, on="_p", how="left", maintain_order="left").select("person_id", "cluster_id"))
