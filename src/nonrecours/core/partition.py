"""Partitioned runs: the population split by household cluster, each part evaluated on its own.

Every row of the canonical tables is about a person, a unit, or both; two rows that share a person or a unit
must be evaluated together (a unit's members, a payment to a famille and the famille's members, a claim and
its claimant). The *link graph* has a node per person and per unit and an edge per row naming several (a
membership, a payment or a claim naming both a person and a famille); its connected components are coarser
than the core's household clusters (``core.clusters``: units reconciled for one month are made of the
agencies' raw units, the DGFiP foyers and the persons themselves, all linked here) and do not depend on the
month, so one assignment serves every month of a run.

Nodes are 64-bit hashes of their text (``_node``), not the text: the split holds 8 bytes a node. A component goes
to partition ``hash(component) mod n`` (Polars' hash with a fixed seed: stable within a
Polars version, and the outputs never depend on it, since every part is evaluated whole). The assignment,
one row per person and unit key, is written to a Parquet file; then every table is written once more, each row
in its part's own files (``tables/<table>/part=<k>/``, a row number kept so that a part reads its rows in the
table's order), so a part reads its rows only, never the whole table again: filtering every table's scan on a
part's ids cost each part a pass over the population's files (at 6.4 million persons in 51 parts, a part's join
took 2.6 times and its detection 1.65 times the CPU of the same part size at 1 million: the runs grew as the
square of the population). What the core reads about the extracts as a whole (``PopulationFacts``) is computed
once, on the tables themselves.

The parts' outputs are merged into one file each by :func:`merge_parts`, a range by range merge of the sorted
parts holding about a part's rows at a time, not the population's (a whole-population frame read back and
sorted in memory took 12.3 GiB at 1,000,000 persons, against 7.4 GiB for a part).
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb  # at import, never in the middle of work: nonrecours/cli.py, _LOADED_WHOLE
import polars as pl

from nonrecours.atomic import atomic_path
from nonrecours.core.units import qualified
from nonrecours.errors import NonRecoursError

__all__ = ["MERGE_CHUNK_BYTES", "MERGE_MEMORY_LIMIT", "Partitions", "components", "merge_parts", "unit_key"]

_SEED = 0x6E6F6E72  # fixed: the same ids give the same parts at every run
MERGE_MEMORY_LIMIT = "1GB"
"""DuckDB's memory limit for :func:`merge_parts`'s copy of the chunks when the run gives none (run.toml's
``memory_limit`` applies on the DuckDB backend)."""
MERGE_CHUNK_BYTES = 256 * 2**20
"""The least memory (Polars' estimate of the rows, from the first rows of the largest part) :func:`merge_parts`
gives a key range, unless the parts hold less: each range reads a slice of every part, ranges × parts file reads,
so a small output is merged in one range or a few, not one per part (80 parts of a 100,000-person detection took
90 CPU s to merge with a range per part, at 42d8066: 80 ranges each reading 80 files of each of the 8 outputs,
some of about 700 rows a part); a large one in one range per part, as before. Bytes, not rows: a row of
``situations`` holds kilobytes of JSON, one of ``provenance`` about a hundred bytes (a million rows a range put
2.9 GiB in memory)."""
_PART = "part"
"""The column, and the folder name's key, of a row's part in the tables written by part."""
_ROW = "__row"
"""A row's number in its table, kept beside it in the part's files: a part reads its rows in the table's order."""
_PERSON_TABLES = ("persons", "unit_memberships", "resources", "annual_income", "listings", "opt_outs")
"""Tables whose rows are each about one person (``person_id`` never null)."""


def unit_key(kind: pl.Expr, agency: str, unit_id: str, source: str | None = None) -> pl.Expr:
    """A unit's node in the link graph, as the core names it: ``kind:`` + the id qualified by its agency
    (``core.units.qualified``), except the DGFiP's foyers fiscaux, whose ids are national."""
    return (pl.when(kind == "foyer_fiscal").then(pl.lit("foyer_fiscal:") + pl.col(unit_id))
            .otherwise(kind + pl.lit(":") + qualified(agency, unit_id, source)))


def components(edges: pl.DataFrame) -> pl.DataFrame:
    """(node, label) for every node of the undirected graph ``edges`` (columns ``a`` and ``b``, of one sortable
    type: the split's ``_node`` hashes, or text): the label is the smallest node of the node's connected component.

    The nodes are sorted once and each edge end becomes its
    node's rank (``search_sorted``), so the components are found on two integer arrays in one pass
    (``scipy.sparse.csgraph.connected_components``) instead of rounds of string joins; a component's smallest
    rank is its smallest node, the label the rounds of label propagation gave (and ``hash(label)`` the part)."""
    import numpy as np
    from scipy import sparse
    from scipy.sparse.csgraph import connected_components

    if edges.select(pl.col("a", "b").null_count()).sum_horizontal().item():
        raise ValueError("components: an edge has a null end (a null node would join unrelated components)")
    nodes = pl.concat([edges.get_column("a"), edges.get_column("b")]).unique().sort().rename("node")
    n = nodes.len()
    if n == 0:
        dtype = edges.schema["a"]
        return pl.DataFrame(schema={"node": dtype, "label": dtype})
    a = nodes.search_sorted(edges.get_column("a")).to_numpy()
    b = nodes.search_sorted(edges.get_column("b")).to_numpy()
    graph = sparse.coo_matrix((np.ones(a.size, dtype=np.int8), (a, b)), shape=(n, n)).tocsr()
    _, comp = connected_components(graph, directed=False)
    _, first = np.unique(comp, return_index=True)  # ranks ascending: a component's first rank is its smallest
    return pl.DataFrame({"node": nodes, "label": nodes.gather(first[comp])})


def _lazy(t: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    return t.lazy() if isinstance(t, pl.DataFrame) else t


def _node(prefix: str, text: pl.Expr) -> pl.Expr:
    """A node of the link graph: a 64-bit hash of its text (``p:`` + a person id, ``u:`` + a unit key), null for a
    null id. The graph's strings (qualified unit ids and pseudonyms, 70 bytes and more each) held the split's
    memory (11.6 GiB at 6.4 million persons); 8 bytes a node do not. Two texts of one hash are one node: their
    components merge, a part holds both households, none is split (and at 15 million nodes the chance of any
    such pair is about 6 in a million)."""
    return pl.when(text.is_not_null()).then((pl.lit(prefix) + text).hash(_SEED))


def _unit_of_row(table: str) -> pl.Expr | None:
    """The unit a row of ``table`` is about, as a node (null when none)."""
    kind = pl.col("unit_kind").cast(pl.String)
    if table == "benefits_paid":  # the payer's famille, as the core and detection qualify it
        return pl.when(pl.col("unit_id").is_not_null()).then(unit_key(kind, "paying_agency", "unit_id",
                                                                      "source_agency"))
    if table == "claims":
        return pl.when(pl.col("unit_id").is_not_null()).then(unit_key(kind, "source_agency", "unit_id"))
    if table in ("unit_memberships", "unidentified_members"):
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
        self._schemas = {k: v.collect_schema() for k, v in self.source.items()}
        self._write_parts()

    def _part_of_row(self, name: str, lf: pl.LazyFrame, people: pl.LazyFrame, units: pl.LazyFrame) -> pl.LazyFrame:
        """``lf`` with the part of each row (``_PART``): a person's row follows the person, a row naming only a unit
        follows the unit, a row naming neither goes to the first part; a row of a person table without a person is
        in no part (null: dropped), as the core never reads it."""
        unit = _unit_of_row(name)
        has_person = "person_id" in lf.collect_schema().names()
        out = lf.with_row_index(_ROW)
        if has_person:
            out = out.join(people, left_on=_node("p:", pl.col("person_id")), right_on="node", how="left",
                           maintain_order="left")
        if name in _PERSON_TABLES or unit is None:
            return out.rename({"_pp": _PART}) if has_person else out.with_columns(pl.lit(None, pl.UInt32).alias(_PART))
        out = (out.with_columns(_node("u:", unit).alias("_unit"))
               .join(units, left_on="_unit", right_on="node", how="left", maintain_order="left"))
        first = pl.lit(0, dtype=pl.UInt32)
        part = (pl.when(pl.col("person_id").is_not_null()).then(pl.col("_pp"))
                .when(pl.col("_unit").is_not_null()).then(pl.col("_up")).otherwise(first)) if has_person else \
            pl.when(pl.col("_unit").is_not_null()).then(pl.col("_up")).otherwise(first)
        return out.with_columns(part.alias(_PART)).drop("_unit", "_up", *(["_pp"] if has_person else []))

    def _write_parts(self) -> None:
        """Every table's rows written to their part's files (``tables/<table>/part=<k>/``), one pass a table."""
        assigned = pl.read_parquet(self.path, columns=["kind", "node", "part"])
        people = assigned.filter(pl.col("kind") == "p").select("node", pl.col("part").alias("_pp")).lazy()
        units = assigned.filter(pl.col("kind") == "u").select("node", pl.col("part").alias("_up")).lazy()
        for name, lf in self.source.items():
            rows = self._part_of_row(name, lf, people, units).filter(pl.col(_PART).is_not_null())
            rows.sink_parquet(pl.PartitionBy(self.path.parent / "tables" / name, key=_PART, include_key=False),
                              mkdir=True)

    def _assign(self) -> pl.DataFrame:
        """(kind "p"/"u", node, part, component) for every person id and unit node any table names; nodes are
        ``_node`` hashes."""
        persons, units, edges = [], [], []
        for name, lf in self.source.items():
            cols = lf.collect_schema().names()
            unit = _unit_of_row(name)
            has_person = "person_id" in cols
            person = _node("p:", pl.col("person_id"))
            if has_person:
                persons.append(lf.select(person.alias("node")))
            if unit is None:
                continue
            u = _node("u:", unit)
            units.append(lf.select(u.alias("node")))
            if has_person:
                edges.append(lf.select(person.alias("a"), u.alias("b")))
            if name == "benefits_paid":
                # the core also matches a payment to the payer's own famille rows by their raw id
                raw = _node("u:", pl.col("unit_kind").cast(pl.String) + pl.lit(":")
                            + qualified("paying_agency", "unit_id"))
                units.append(lf.select(raw.alias("node")))
                edges.append(lf.select(u.alias("a"), raw.alias("b")))
        nodes = pl.concat([*(x.select(pl.lit("p").alias("kind"), "node") for x in persons),
                           *(x.select(pl.lit("u").alias("kind"), "node") for x in units)]
                          ).filter(pl.col("node").is_not_null()).unique().collect()
        graph = (pl.concat(edges).filter(pl.col("a").is_not_null() & pl.col("b").is_not_null()).unique().collect()
                 if edges else pl.DataFrame(schema={"a": pl.UInt64, "b": pl.UInt64}))
        label = components(graph) if graph.height else pl.DataFrame(schema={"node": pl.UInt64, "label": pl.UInt64})
        out = (nodes.join(label, on="node", how="left")
               .with_columns(pl.coalesce("label", "node").alias("label"))
               .select("kind", "node", (pl.col("label").hash(_SEED) % self.n).cast(pl.UInt32).alias("part"),
                       pl.col("label").alias("component")))
        return out.sort("kind", "node")

    def sizes(self) -> list[int]:
        """Persons in each part."""
        n = (pl.scan_parquet(self.path).filter(pl.col("kind") == "p").group_by("part").len().collect())
        got = dict(n.iter_rows())
        return [int(got.get(k, 0)) for k in range(self.n)]

    def tables(self, part: int) -> dict[str, pl.LazyFrame]:
        """Every table restricted to the rows of ``part``, in the table's order (lazy: the part's own files only).
        A table keeps its place when none of its rows is in the part (present but empty is not absent to the
        core)."""
        out = {}
        for name, schema in self._schemas.items():
            folder = self.path.parent / "tables" / name / f"{_PART}={part}"
            files = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
            if not files:
                out[name] = pl.LazyFrame(schema=schema)
                continue
            out[name] = (pl.scan_parquet(files, hive_partitioning=False).sort(_ROW).drop(_ROW)
                         .select([pl.col(c).cast(t) for c, t in schema.items()]))
        return out


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _counts_before(part: pl.LazyFrame, bounds: pl.DataFrame, key: Sequence[str], nulls_last: bool) -> list[int]:
    """For each row of ``bounds`` (sorted by ``key``), how many rows of ``part`` sort strictly before it in Polars'
    order (lexicographic, nulls first or last): on a part sorted by ``key``, where the bound's range starts.

    One sort of the part's keys with the bounds among them (a bound before the rows equal to it, the bounds in
    their order), a bound's count being its place less the bounds before it: a pass over the part whatever the
    number of bounds. Counting each bound's rows with a lexicographic comparison over the whole part (as up to
    0dec0fd) cost rows × bounds, and the parts and the bounds both grow with the population."""
    side, rank, at = "__merge_side", "__merge_bound", "__merge_at"
    schema = part.collect_schema()
    marks = pl.concat([
        part.select(key).with_columns(pl.lit(1, pl.UInt8).alias(side), pl.lit(0, pl.UInt32).alias(rank)),
        bounds.lazy().select([pl.col(c).cast(schema[c]) for c in key]).with_columns(
            pl.lit(0, pl.UInt8).alias(side), pl.int_range(pl.len(), dtype=pl.UInt32).alias(rank))])
    got = (marks.sort([*key, side, rank], nulls_last=nulls_last).with_row_index(at)
           .filter(pl.col(side) == 0).select((pl.col(at) - pl.col(rank)).alias(at)).collect())
    return [int(c) for c in got[at]]


def merge_parts(files: Sequence[str | Path], target: str | Path, key: Sequence[str], *, nulls_last: bool = False,
                duckdb_config: Mapping[str, Any] | None = None, chunk_bytes: int = MERGE_CHUNK_BYTES) -> Path:
    """The rows of the Parquet ``files`` (the parts' outputs, one schema, each sorted by ``key``) in one Parquet
    file ``target``, sorted by ``key`` (nulls first, or last with ``nulls_last``), written atomically, holding in
    memory about one part's rows at a time, whatever the population:

    1. key ranges of about the largest part's rows, or of ``chunk_bytes`` in memory if more (one range for small
       outputs), their bounds taken from a sample of every part's keys (every 64th row);
    2. each part's rows in each range are a slice of it (the part is sorted): their offsets are counted on
       the part's key columns (``_counts_before``: one sort of its keys with the bounds), one part at a time;
    3. each range's slices, read from the parts, concatenated and sorted by Polars, are written to a chunk file
       beside ``target``; each chunk's first row is checked against the previous chunk's last: the chunks being
       sorted each, that makes their concatenation sorted, a full check of the output's order;
    4. DuckDB copies the chunks into ``target`` as it reads them (no sort: a row group of 16,384 rows at a
       time), under ``duckdb_config``'s ``memory_limit`` (else ``MERGE_MEMORY_LIMIT``), on one thread unless
       ``threads`` is given.

    The rows, their order and their types are those of the parts concatenated and sorted by Polars; the same
    parts give the same bytes (not those of Polars' writer on the whole frame: another Parquet writer).

    The parts' order is not checked row by row, and need not be: each part's slice of a range has as many rows as
    the part holds in that range whatever their order, so a part sorted only within each range (rows out of order
    between two bounds) gives the same chunks, and the same file. A part whose rows cross a bound puts, in some
    chunk, a row above that bound and, in a later one, a row below it: a border is then out of order and the
    merge raises (``NonRecoursError``: a part is not sorted), writing nothing. Every file written is sorted.
    DuckDB's own out-of-core sort was tried first: it ran out of 1GB on the OpenFisca situations of 400,000
    persons (1.2 GB of JSON text), the copy alone did not."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not files:
        raise ValueError("merge_parts needs at least one part file")
    key = list(key)
    files = [Path(f) for f in files]
    sizes = [pl.scan_parquet(f).select(pl.len()).collect().item() for f in files]
    sample = pl.concat([pl.scan_parquet(f).select(key).gather_every(64).collect() for f in files])
    sample = sample.sort(key, nulls_last=nulls_last)
    # a range: the largest part's rows, or chunk_bytes' worth of rows if more (one range when none is sampled)
    head = pl.scan_parquet(files[sizes.index(max(sizes))]).head(10_000).collect()
    chunk_rows = max(chunk_bytes * head.height // max(head.estimated_size(), 1), *sizes, 1)
    ranges = -(-sum(sizes) // chunk_rows) if sample.height else 1
    bounds = sample.select(pl.all().gather([sample.height * r // ranges for r in range(1, ranges)]))
    # offsets[p][r]: where range r starts in part p (range 0 at 0, and one past the last at the part's end)
    offsets = [[0, *(_counts_before(pl.scan_parquet(f), bounds, key, nulls_last) if bounds.height else []), n]
               for f, n in zip(files, sizes, strict=True)]
    cfg = {k: str(v) for k, v in (duckdb_config or {}).items()}
    cfg.setdefault("memory_limit", MERGE_MEMORY_LIMIT)
    cfg.setdefault("threads", "1")
    cfg["preserve_insertion_order"] = "true"  # the file in the order of the chunks
    with tempfile.TemporaryDirectory(prefix=".partial-merge-", dir=target.parent) as spill:
        chunks, last = [], None
        for r in range(ranges):
            rows = pl.concat([pl.scan_parquet(f).slice(o[r], o[r + 1] - o[r])
                              for f, o in zip(files, offsets, strict=True)]).collect().sort(key, nulls_last=nulls_last)
            if rows.height:
                first = rows.head(1).select(key)
                if last is not None and not pl.concat([last, first]).select(key).equals(
                        pl.concat([last, first]).select(key).sort(key, nulls_last=nulls_last)):
                    raise NonRecoursError("merge_parts: a part's rows are not sorted by the key asked (rows of "
                                          "one key range found in another's slice)")
                last = rows.tail(1).select(key)
            chunks.append(Path(spill) / f"{r:05d}.parquet")
            rows.write_parquet(chunks[-1])
            del rows
        cfg.setdefault("temp_directory", spill)
        con = duckdb.connect(database=":memory:", config=cfg)
        sources = "[" + ", ".join(_sql_string(str(c)) for c in chunks) + "]"
        try:
            with atomic_path(target) as tmp:
                # only file paths in the SQL text, never data
                con.execute(f"COPY (SELECT * FROM read_parquet({sources})) TO {_sql_string(str(tmp))} "
                            "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 16384)")
        finally:
            con.close()
    return target
