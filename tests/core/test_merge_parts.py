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
       key=st.sampled_from([["unit_kind", "unit_id", "month"], ["unit_id"], ["month", "unit_kind"]]),
       chunk_bytes=st.sampled_from([1, 300, 256 * 2**20]))
def test_the_merge_is_the_parts_concatenated_and_sorted(tmp_path_factory, rows, parts, nulls_last, key, chunk_bytes):
    """Any rows (text in any script, nulls in the key, dates, lists), keys unique as every output's are, split
    in parts written each sorted, merged in one key range or several (``chunk_bytes``: a part's rows, a few
    rows' bytes, more than they hold): the merged file holds the rows Polars gives by concatenating and sorting
    them, in that order, with the same types; merged again, the same bytes."""
    folder = tmp_path_factory.mktemp("merge")
    frame = pl.DataFrame(rows, schema=_SCHEMA, orient="row").unique(key, keep="first", maintain_order=True)
    files = []
    for k in range(parts):
        f = folder / f"{k:05d}.parquet"
        frame.gather_every(parts, offset=k).sort(key, nulls_last=nulls_last).write_parquet(f)
        files.append(f)
    out = merge_parts(files, folder / "out" / "merged.parquet", key, nulls_last=nulls_last, chunk_bytes=chunk_bytes)
    assert_frame_equal(pl.read_parquet(out), frame.sort(key, nulls_last=nulls_last), check_exact=True)
    again = merge_parts(files, folder / "again.parquet", key, nulls_last=nulls_last, chunk_bytes=chunk_bytes)
    assert file_sha256(again) == file_sha256(out)
    assert [p.name for p in (folder / "out").iterdir()] == ["merged.parquet"]  # no spill or partial file left


@pytest.mark.slow
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
    """A part not sorted by the key asked, merged in a key range per part: the merge cannot be right, and says so
    rather than write it."""
    from nonrecours.errors import NonRecoursError

    files = []
    for k in range(2):
        files.append(tmp_path / f"{k}.parquet")
        pl.DataFrame({"unit_id": [f"{k}{i:03d}" for i in range(200)][::-1]}).write_parquet(files[-1])
    with pytest.raises(NonRecoursError, match="not sorted"):
        merge_parts(files, tmp_path / "merged.parquet", ["unit_id"], chunk_bytes=1)


def test_parts_smaller_than_a_chunk_are_merged_in_one_range(tmp_path):
    """Parts holding less together than a chunk (``MERGE_CHUNK_BYTES``): one key range, read once from each
    part and sorted whole; parts in any order then merge sorted (one range has no border to cross)."""
    files = []
    for k in range(2):
        files.append(tmp_path / f"{k}.parquet")
        pl.DataFrame({"unit_id": [f"{k}{i:03d}" for i in range(200)][::-1]}).write_parquet(files[-1])
    out = merge_parts(files, tmp_path / "merged.parquet", ["unit_id"])
    assert_frame_equal(pl.read_parquet(out), pl.concat([pl.read_parquet(f) for f in files]).sort("unit_id"))


def test_rows_out_of_order_inside_a_range_are_merged_sorted(tmp_path):
    """A part whose rows are out of order only inside one key range: its slice of that range holds exactly that
    range's rows, which the merge sorts; the file is the sorted rows, no error."""
    files = []
    for k in range(3):
        ids = [f"{i:04d}" for i in range(k, 900, 3)]
        if k == 1:
            ids[10], ids[11] = ids[11], ids[10]  # 0031 before 0034 swapped, both far from any range's bound
        files.append(tmp_path / f"{k}.parquet")
        pl.DataFrame({"unit_id": ids, "k": [k] * len(ids)}).write_parquet(files[-1])
    out = merge_parts(files, tmp_path / "merged.parquet", ["unit_id"], chunk_bytes=1)
    expected = pl.concat([pl.read_parquet(f) for f in files]).sort("unit_id")
    assert_frame_equal(pl.read_parquet(out), expected, check_exact=True)


@settings(max_examples=40, deadline=None)
@given(ids=st.lists(st.integers(0, 10_000), min_size=0, max_size=300, unique=True), parts=st.integers(1, 4),
       seed=st.integers(0, 2**32 - 1))
def test_parts_in_any_order_merge_sorted_or_are_refused(tmp_path_factory, ids, parts, seed):
    """What the merge guarantees whatever the parts' order: the file it writes holds every row, sorted (each chunk
    is sorted by Polars, and each chunk's first row is checked against the previous chunk's last), or it writes
    nothing and says a part is not sorted (a part's rows crossing a range's bound)."""
    from nonrecours.errors import NonRecoursError

    folder = tmp_path_factory.mktemp("unsorted")
    frame = pl.DataFrame({"unit_id": [f"{i:05d}" for i in ids]}, schema={"unit_id": pl.String})
    files = []
    for k in range(parts):
        files.append(folder / f"{k}.parquet")
        frame.gather_every(parts, offset=k).sample(fraction=1.0, shuffle=True, seed=seed + k).write_parquet(files[-1])
    try:
        out = merge_parts(files, folder / "merged.parquet", ["unit_id"], chunk_bytes=1)
    except NonRecoursError as exc:
        assert "not sorted" in str(exc)
        assert not (folder / "merged.parquet").exists()
        return
    assert_frame_equal(pl.read_parquet(out), frame.sort("unit_id"), check_exact=True)


def test_no_part_is_refused(tmp_path):
    with pytest.raises(ValueError, match="at least one part"):
        merge_parts([], tmp_path / "merged.parquet", ["unit_id"])


def _python_order(row: tuple, nulls_last: bool) -> tuple:
    """A key row in Polars' sort order, in Python: lexicographic, a null before (or after) every value."""
    return tuple((1,) if v is None and nulls_last else (-1,) if v is None else (0, v) for v in row)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(_ROW, max_size=60), bounds=st.lists(_ROW, min_size=1, max_size=6), nulls_last=st.booleans(),
       key=st.sampled_from([["unit_kind", "unit_id", "month"], ["unit_id"], ["month", "unit_kind"]]))
def test_a_range_starts_after_the_rows_sorting_before_its_bound(rows, bounds, nulls_last, key):
    """Where each range starts in a part: the count of its rows whose key sorts strictly before the bound (a
    row equal to the bound is in the bound's range), in any order of the part's rows, with nulls and repeats
    in the key; counted by one sort, checked here against a comparison of every row with every bound."""
    from nonrecours.core.partition import _counts_before

    part = pl.DataFrame(rows, schema=_SCHEMA, orient="row")
    marks = pl.DataFrame(bounds, schema=_SCHEMA, orient="row").select(key).sort(key, nulls_last=nulls_last)
    expected = [sum(_python_order(r, nulls_last) < _python_order(b, nulls_last)
                    for r in part.select(key).iter_rows()) for b in marks.iter_rows()]
    assert _counts_before(part.lazy(), marks, key, nulls_last) == expected
