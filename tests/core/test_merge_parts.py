"""core.partition.merge_parts: the parts' files merged into one, streamed, as Polars would concatenate and sort them."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from nonrecours.atomic import file_sha256
from nonrecours.core.partition import merge_parts

_SCHEMA = {"unit_kind": pl.String, "unit_id": pl.String, "month": pl.Date, "amount": pl.Float64,
           "ids": pl.List(pl.String), "paid": pl.Boolean}
_TEXT = st.one_of(st.none(), st.text(max_size=6), st.sampled_from(["famille", "menage", "caf:f-1", "caf:f-10",
                                                                    "é", "Z", "a b", ""]))
_ROW = st.tuples(_TEXT, _TEXT, st.one_of(st.none(), st.dates(dt.date(1990, 1, 1), dt.date(2030, 12, 1))),
                 st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False, width=64)),
                 st.one_of(st.none(), st.lists(st.text(max_size=3), max_size=3)), st.one_of(st.none(), st.booleans()))


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(_ROW, max_size=40), parts=st.integers(1, 4), nulls_last=st.booleans(),
       key=st.sampled_from([["unit_kind", "unit_id", "month"], ["unit_id"], ["month", "unit_kind"]]))
def test_the_merge_is_the_parts_concatenated_and_sorted(tmp_path_factory, rows, parts, nulls_last, key):
    """Any rows (text in any script, nulls in the key, dates, lists), keys unique as every output's are, split
    in parts written each sorted: the merged file holds the rows Polars gives by concatenating and sorting
    them, in that order, with the same types; merged again, the same bytes."""
    folder = tmp_path_factory.mktemp("merge")
    frame = pl.DataFrame(rows, schema=_SCHEMA, orient="row").unique(key, keep="first", maintain_order=True)
    files = []
    for k in range(parts):
        f = folder / f"{k:05d}.parquet"
        frame.gather_every(parts, offset=k).sort(key, nulls_last=nulls_last).write_parquet(f)
        files.append(f)
    out = merge_parts(files, folder / "out" / "merged.parquet", key, nulls_last=nulls_last)
    assert_frame_equal(pl.read_parquet(out), frame.sort(key, nulls_last=nulls_last), check_exact=True)
    again = merge_parts(files, folder / "again.parquet", key, nulls_last=nulls_last)
    assert file_sha256(again) == file_sha256(out)
    assert [p.name for p in (folder / "out").iterdir()] == ["merged.parquet"]  # no spill or partial file left


def test_the_merge_writes_more_rows_than_its_memory_limit_holds(tmp_path):
    """More rows than DuckDB's memory limit holds: the chunks are copied as they are read, and the file is the
    sorted rows."""
    n = 1_500_000  # about 125 MiB in a Polars frame
    frame = pl.DataFrame({"unit_kind": pl.Series(["famille", "menage"] * (n // 2)),
                          "unit_id": pl.int_range(n, eager=True).cast(pl.String).str.zfill(9).str.reverse()}
                         ).with_columns(pl.concat_str([pl.col("unit_id")] * 8).alias("payload"))
    files = []
    for k in range(3):
        files.append(tmp_path / f"{k}.parquet")
        frame.gather_every(3, offset=k).sort("unit_kind", "unit_id").write_parquet(files[-1])
    out = merge_parts(files, tmp_path / "merged.parquet", ["unit_kind", "unit_id"],
                      duckdb_config={"memory_limit": "64MB"})
    assert_frame_equal(pl.read_parquet(out), frame.sort("unit_kind", "unit_id"), check_exact=True)


def test_empty_parts_merge_into_an_empty_file_of_their_schema(tmp_path):
    files = []
    for k in range(3):
        files.append(tmp_path / f"{k}.parquet")
        pl.DataFrame(schema=_SCHEMA).write_parquet(files[-1])
    out = merge_parts(files, tmp_path / "merged.parquet", ["unit_kind", "unit_id"])
    assert_frame_equal(pl.read_parquet(out), pl.DataFrame(schema=_SCHEMA))


def test_parts_not_sorted_by_the_key_are_refused(tmp_path):
    """A part not sorted by the key asked: the merge cannot be right, and says so rather than write it."""
    from nonrecours.errors import NonRecoursError

    files = []
    for k in range(2):
        files.append(tmp_path / f"{k}.parquet")
        pl.DataFrame({"unit_id": [f"{k}{i:03d}" for i in range(200)][::-1]}).write_parquet(files[-1])
    with pytest.raises(NonRecoursError, match="not sorted"):
        merge_parts(files, tmp_path / "merged.parquet", ["unit_id"])


def test_no_part_is_refused(tmp_path):
    with pytest.raises(ValueError, match="at least one part"):
        merge_parts([], tmp_path / "merged.parquet", ["unit_id"])
