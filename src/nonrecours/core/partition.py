"""Partitioned runs: the population split by household cluster, each part evaluated on its own.

Every row of the canonical tables is about a person, a unit, or both; two rows that share a person or a unit
must be evaluated together (a unit's members, a payment to a famille and the famille's members, a claim and
its claimant). The *link graph* has a node per person and per unit and an edge per row naming several (a
membership, a payment or a claim naming both a person and a famille); its connected components are coarser
than the core's household clusters (``core.clusters``: units reconciled for one month are made of the
agencies' raw units, the DGFiP foyers and the persons themselves, all linked here) and do not depend on the
month, so one assignment serves every month of a run.

A component goes to partition ``hash(component) mod n`` (Polars' hash with a fixed seed: stable within a
Polars version, and the outputs never depend on it, since every part is evaluated whole). The assignment,
one row per person and unit key, is written to a Parquet file; a part reads back only its own ids and
filters each lazy table scan on them (``is_in``, evaluated by the Parquet reader), so only its own rows are
ever materialised. What the core reads about the extracts as a whole (``PopulationFacts``) is computed once.

The parts' outputs are merged into one file each by :func:`merge_parts`: DuckDB's sort, which spills to disk
beyond its memory limit, reads the part files and writes the sorted file as it goes, so the merge's memory is
bounded by that limit, not by the population (a whole-population frame read back and sorted in memory took
12.3 GiB at 1,000,000 persons, against 7.4 GiB for a part).
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from nonrecours.atomic import atomic_path
from nonrecours.core.units import qualified
from nonrecours.errors import NonRecoursError

__all__ = ["MERGE_MEMORY_LIMIT", "Partitions", "components", "merge_parts", "unit_key"]

_MAX_ROUNDS = 64
_SEED = 0x6E6F6E72  # fixed: the same ids give the same parts at every run
MERGE_MEMORY_LIMIT = "1GB"
"""DuckDB's memory limit for :func:`merge_parts` when the run gives none (run.toml's ``memory_limit`` applies on
the DuckDB backend): beyond it the sort spills to disk."""
_PERSON_TABLES = ("persons", "unit_memberships", "resources", "annual_income", "opt_outs")
"""Tables whose rows are each about one person (``person_id`` never null)."""


def unit_key(kind: pl.Expr, agency: str, unit_id: str, source: str | None = None) -> pl.Expr:
    """A unit's node in the link graph, as the core names it: ``kind:`` + the id qualified by its agency
    (``core.units.qualified``), except the DGFiP's foyers fiscaux, whose ids are national."""
    return (pl.when(kind == "foyer_fiscal").then(pl.lit("foyer_fiscal:") + pl.col(unit_id))
            .otherwise(kind + pl.lit(":") + qualified(agency, unit_id, source)))


def components(edges: pl.DataFrame) -> pl.DataFrame:
    """(node, label) for every node of the undirected graph ``edges`` (columns ``a`` and ``b``): the label is
    the smallest node of the node's connected component. Label propagation in bulk, as ``core.clusters``: each
    round a node takes the smallest label of its neighbours; the rounds are the diameter of a component."""
    both = pl.concat([edges.select("a", "b"), edges.select(pl.col("b").alias("a"), pl.col("a").alias("b"))]
                     ).unique()
    label = both.select(pl.col("a").alias("node")).unique().with_columns(pl.col("node").alias("label"))
    for _ in range(_MAX_ROUNDS):
        near = (both.join(label, left_on="b", right_on="node").group_by("a")
                .agg(pl.col("label").min().alias("near")))
        new = (label.join(near, left_on="node", right_on="a", how="left")
               .with_columns(pl.min_horizontal("label", "near").alias("new")))
        if new.filter(pl.col("new") != pl.col("label")).height == 0:
            return label
        label = new.select("node", pl.col("new").alias("label"))
    raise NonRecoursError("linked households did not converge: a chain of units longer than expected")


def _lazy(t: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    return t.lazy() if isinstance(t, pl.DataFrame) else t


def _unit_of_row(table: str) -> pl.Expr | None:
    """The unit a row of ``table`` is about, as a node (null when none)."""
    kind = pl.col("unit_kind").cast(pl.String)
    if table == "benefits_paid":  # the payer's famille, as the core and detection qualify it
        return pl.when(pl.col("unit_id").is_not_null()).then(unit_key(kind, "paying_agency", "unit_id",
                                                                      "source_agency"))
    if table == "claims":
        return pl.when(pl.col("unit_id").is_not_null()).then(unit_key(kind, "source_agency", "unit_id"))
    if table == "unit_memberships":
        return unit_key(kind, "source_agency", "unit_id")
    if table == "housing":
        return pl.lit("menage:") + qualified("source_agency", "menage_id")
    if table == "tax_households":
        return pl.lit("foyer_fiscal:") + pl.col("unit_id")
    return None


class Partitions:
    """The assignment of every person and unit of ``tables`` to one of ``n`` parts, kept in
    ``folder/assignment.parquet``; :meth:`tables` gives a part's own rows of every table, lazily."""

    def __init__(self, tables: Mapping[str, pl.DataFrame | pl.LazyFrame], n: int, folder: str | Path) -> None:
        if n < 1:
            raise ValueError("partitions must be at least 1")
        self.n = n
        self.source = {k: _lazy(v) for k, v in tables.items()}
        self.path = Path(folder) / "assignment.parquet"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._assign().write_parquet(self.path)

    def _assign(self) -> pl.DataFrame:
        """(kind "p"/"u", id, part, component) for every person id and unit node any table names."""
        persons, units, edges = [], [], []
        for name, lf in self.source.items():
            cols = lf.collect_schema().names()
            unit = _unit_of_row(name)
            has_person = "person_id" in cols
            if has_person:
                persons.append(lf.filter(pl.col("person_id").is_not_null()).select(pl.col("person_id").alias("id")))
            if unit is None:
                continue
            u = pl.lit("u:") + unit
            units.append(lf.select(unit.alias("id")).filter(pl.col("id").is_not_null()))
            if has_person:
                edges.append(lf.select((pl.lit("p:") + pl.col("person_id")).alias("a"), u.alias("b")))
            if name == "benefits_paid":
                # the core also matches a payment to the payer's own famille rows by their raw id
                raw = pl.col("unit_kind").cast(pl.String) + pl.lit(":") + qualified("paying_agency", "unit_id")
                units.append(lf.select(raw.alias("id")).filter(pl.col("id").is_not_null()))
                edges.append(lf.select(u.alias("a"), (pl.lit("u:") + raw).alias("b")))
        nodes = pl.concat([*(x.select((pl.lit("p:") + pl.col("id")).alias("node")) for x in persons),
                           *(x.select((pl.lit("u:") + pl.col("id")).alias("node")) for x in units)]
                          ).unique().collect()
        graph = (pl.concat(edges).filter(pl.col("a").is_not_null() & pl.col("b").is_not_null()).unique().collect()
                 if edges else pl.DataFrame(schema={"a": pl.String, "b": pl.String}))
        label = components(graph) if graph.height else pl.DataFrame(schema={"node": pl.String, "label": pl.String})
        out = (nodes.join(label, on="node", how="left")
               .with_columns(pl.coalesce("label", "node").alias("label"))
               .select(pl.col("node").str.slice(0, 1).alias("kind"), pl.col("node").str.slice(2).alias("id"),
                       (pl.col("label").hash(_SEED) % self.n).cast(pl.UInt32).alias("part"),
                       pl.col("label").alias("component")))
        return out.sort("kind", "id")

    def ids(self, part: int) -> tuple[pl.Series, pl.Series]:
        """(person ids, unit nodes) of ``part``, read from the assignment file (only that part's rows)."""
        own = pl.scan_parquet(self.path).filter(pl.col("part") == part).select("kind", "id").collect()
        return (own.filter(pl.col("kind") == "p").get_column("id"),
                own.filter(pl.col("kind") == "u").get_column("id"))

    def sizes(self) -> list[int]:
        """Persons in each part."""
        n = (pl.scan_parquet(self.path).filter(pl.col("kind") == "p").group_by("part").len().collect())
        got = dict(n.iter_rows())
        return [int(got.get(k, 0)) for k in range(self.n)]

    def tables(self, part: int) -> dict[str, pl.LazyFrame]:
        """Every table restricted to the rows of ``part`` (lazy: the filter runs in the Parquet reader). A table
        keeps its place when none of its rows is in the part (present but empty is not absent to the core)."""
        people, units = self.ids(part)
        people_in = pl.col("person_id").is_in(people.implode())
        out = {}
        for name, lf in self.source.items():
            unit = _unit_of_row(name)
            if name in _PERSON_TABLES or unit is None:
                keep = people_in
            else:
                unit_in = unit.is_in(units.implode())
                if "person_id" in lf.collect_schema().names():
                    # a row naming a person follows the person (linked to its unit); one naming neither a
                    # person nor a unit is about nobody evaluated: the first part keeps it
                    keep = (pl.when(pl.col("person_id").is_not_null()).then(people_in)
                            .when(unit.is_not_null()).then(unit_in).otherwise(pl.lit(part == 0)))
                else:
                    keep = unit_in.fill_null(part == 0)
            out[name] = lf.filter(keep)
        return out


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def merge_parts(files: Sequence[str | Path], target: str | Path, key: Sequence[str], *, nulls_last: bool = False,
                duckdb_config: Mapping[str, Any] | None = None) -> Path:
    """The rows of the Parquet ``files`` (the parts' outputs, one schema) in one Parquet file ``target``, sorted
    by ``key`` (nulls first, or last with ``nulls_last``; text in byte order, as Polars sorts it), written
    atomically. DuckDB reads the parts, sorts out of core and writes the file as it goes: its memory stays under
    ``memory_limit`` (``duckdb_config``, the run's DuckDB settings, else ``MERGE_MEMORY_LIMIT``), spilling to its
    ``temp_directory`` (else a hidden folder beside ``target``, removed afterwards), whatever the population; on
    one thread unless ``duckdb_config`` says ``threads``.
    The same parts give the same bytes; the rows, their order and their types are those of the parts' frames
    concatenated and sorted by Polars (not the same bytes as Polars' writer: another Parquet writer)."""
    import duckdb

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not files:
        raise ValueError("merge_parts needs at least one part file")
    nulls = "NULLS LAST" if nulls_last else "NULLS FIRST"
    order = ", ".join(f'"{c}" ASC {nulls}' for c in key)
    sources = "[" + ", ".join(_sql_string(str(f)) for f in files) + "]"
    cfg = {k: str(v) for k, v in (duckdb_config or {}).items()}
    cfg.setdefault("memory_limit", MERGE_MEMORY_LIMIT)
    # one thread unless told: each thread's sort and write buffers count against the limit (2 threads over 64MB
    # ran out of memory where one spilled), and the merge is a small share of a run
    cfg.setdefault("threads", "1")
    cfg["preserve_insertion_order"] = "true"  # the file in the order of the sort
    with tempfile.TemporaryDirectory(prefix=".partial-merge-", dir=target.parent) as spill:
        cfg.setdefault("temp_directory", spill)
        con = duckdb.connect(database=":memory:", config=cfg)
        try:
            with atomic_path(target) as tmp:
                # only file paths and column names in the SQL text, never data
                con.execute(f"COPY (SELECT * FROM read_parquet({sources}) ORDER BY {order}) TO "
                            f"{_sql_string(str(tmp))} (FORMAT parquet, COMPRESSION zstd)")
        finally:
            con.close()
    return target
