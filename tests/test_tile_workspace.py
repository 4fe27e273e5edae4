"""The workspace tiler of the scale benchmarks (benchmarks/tile_workspace.py) and detect_scale_bench.py on the
session's demo territory (1,500 persons): every id made unique per copy and consistent across tables, the tiled
workspace valid to the canonical tables' own checks, its link graph copies times the source's, and a
partitioned detection on it exactly copies times the source's (ids retagged). No timing assertion."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.benches import load_bench

from nonrecours.errors import NonRecoursError, SchemaError
from nonrecours.schemas import TABLES, UNIDENTIFIED_MEMBERS

tile_workspace = load_bench("tile_workspace")

COPIES = 2
"""The copies of the tiled workspace below: copy 0 is the source, copy 1 is retagged (every id and token made new),
as in any further copy (one retag per copy, tested for 1 to 256 copies by the properties above); two copies are
the fewest that check "copies times the source" with ids that must not collide."""

_hex = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)


@given(ids=st.lists(_hex, min_size=1, max_size=40, unique_by=lambda s: s[:62]),
       copies=st.integers(1, tile_workspace.MAX_COPIES))
def test_retag_is_injective_across_copies_keeps_order_and_copy_zero_is_the_source(ids: list[str],
                                                                                  copies: int) -> None:
    frame = pl.DataFrame({"id": ids})
    tagged = pl.concat([frame.select(tile_workspace.retag(pl.col("id"), c)) for c in range(copies)])
    assert tagged.get_column("id").n_unique() == copies * len(ids)
    assert tagged.get_column("id").str.contains(r"^[0-9a-f]{64}$").all()
    assert tagged.head(len(ids)).equals(frame)
    last = tagged.tail(len(ids)).get_column("id")  # the core picks by the smallest id: the same in every copy
    assert last.arg_sort().to_list() == frame.get_column("id").arg_sort().to_list()


@given(tokens=st.lists(st.text(alphabet=tile_workspace._B64, min_size=22, max_size=40), min_size=1, max_size=30,
                       unique_by=lambda s: s[2:]), copies=st.integers(1, tile_workspace.MAX_COPIES))
def test_retag_token_is_injective_across_copies(tokens: list[str], copies: int) -> None:
    frame = pl.DataFrame({"t": tokens})
    tagged = pl.concat([frame.select(tile_workspace.retag_token(pl.col("t"), c)) for c in range(copies)])
    assert tagged.get_column("t").n_unique() == copies * len(tokens)
    assert tagged.head(len(tokens)).equals(frame)


@pytest.fixture(scope="module")
def tiled(demo_result, tmp_path_factory) -> tuple[Path, Path, dict]:  # type: ignore[no-untyped-def]
    source = demo_result.out / "workspace"
    out = tmp_path_factory.mktemp("tiled") / "workspace"
    done = tile_workspace.tile(source, out, COPIES)
    return source, out, done


def test_tiled_workspace_passes_the_tables_checks_and_keeps_copies_apart(tiled) -> None:  # type: ignore[no-untyped-def]
    source, out, _ = tiled
    checks = tile_workspace.check(source, out, COPIES, components=True)
    assert set(checks["tables_validated"]) >= {"persons", "unit_memberships", "benefits_paid", "resources"}
    assert checks["distinct"]["tiled"]["ids"] == COPIES * checks["distinct"]["source"]["ids"] > 0
    assert checks["components"]["tiled"] == COPIES * checks["components"]["source"] > 0
    # copy 0 is the source; a famille of the last copy has its members, payments and dwelling under one new id
    persons = pl.read_parquet(out / "persons" / "caf-caf.parquet")
    src = pl.read_parquet(source / "persons" / "caf-caf.parquet")
    assert persons.head(src.height).equals(src)
    members = pl.read_parquet(source / "unit_memberships" / "caf-caf.parquet")
    famille = members.filter(pl.col("unit_kind") == "famille").get_column("unit_id")[0]
    last = COPIES - 1
    new_id = pl.select(tile_workspace.retag(pl.lit(famille), last)).item()
    tiled_members = pl.read_parquet(out / "unit_memberships" / "caf-caf.parquet")
    expected = members.filter(pl.col("unit_id") == famille).select(tile_workspace.retag(pl.col("person_id"), last))
    got = tiled_members.filter(pl.col("unit_id") == new_id).get_column("person_id")
    assert got.sort().to_list() == expected.to_series().sort().to_list() != []
    housing = pl.read_parquet(source / "housing" / "caf-caf.parquet")
    tiled_housing = pl.read_parquet(out / "housing" / "caf-caf.parquet")
    assert (tiled_housing.filter(pl.col("menage_id") == new_id).height
            == housing.filter(pl.col("menage_id") == famille).height)
    # rows in = accepted + quarantined, copies times
    for rp in (out / "reports").glob("*.json"):
        report = json.loads(rp.read_text(encoding="utf-8"))
        before = json.loads((source / "reports" / rp.name).read_text(encoding="utf-8"))
        assert report["rows_read"] == COPIES * before["rows_read"]
        assert report["rows_read"] == report["rows_accepted"] + report["rows_quarantined"]
        assert report["tiled"]["copies"] == COPIES


def test_a_copy_that_is_not_the_source_retagged_fails_the_check(tiled, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # the check compares each copy with the source retagged, one copy in memory at a time: a value changed in
    # the last copy's rows (here an amount, which no distinct-id count sees) is found
    source, out, _ = tiled
    broken = Path(shutil.copytree(out, tmp_path / "broken"))
    path = broken / "benefits_paid" / "caf-caf.parquet"
    paid = pl.read_parquet(path)
    row = paid.height - 1
    paid.with_columns(pl.when(pl.int_range(pl.len()) == row).then(pl.col("amount") + 1).otherwise(pl.col("amount"))
                      .cast(paid.schema["amount"]).alias("amount")).write_parquet(path)
    with pytest.raises(NonRecoursError, match=f"benefits_paid/caf-caf.parquet: copy {COPIES - 1} is not"):
        tile_workspace.check(source, broken, COPIES)


def test_source_that_cannot_be_tiled_is_refused(demo_result, tmp_path) -> None:  # type: ignore[no-untyped-def]
    source = Path(shutil.copytree(demo_result.out / "workspace", tmp_path / "ws"))
    path = source / "persons" / "caf-caf.parquet"
    persons = pl.read_parquet(path)
    first, second = persons.get_column("person_id")[:2]
    # two ids that differ only in their last byte: copy 1 of one could be copy 0 of the other
    twin = first[:62] + ("00" if first[62:] != "00" else "01")
    persons.with_columns(pl.when(pl.col("person_id") == second).then(pl.lit(twin)).otherwise(pl.col("person_id"))
                         .alias("person_id")).write_parquet(path)
    with pytest.raises(tile_workspace.PreconditionError, match="last 2 characters"):
        tile_workspace.tile(source, tmp_path / "out", 2)
    assert tile_workspace.tile(source, tmp_path / "one", 1)["copies"] == 1  # one copy needs no new id
    persons.with_columns(pl.col("person_id").str.slice(0, 20)).write_parquet(path)
    with pytest.raises(SchemaError, match="person_id"):
        tile_workspace.tile(source, tmp_path / "bad", 2)
    assert not (tmp_path / "out").exists() and not (tmp_path / "bad").exists()


def test_every_table_is_tiled_and_an_unknown_folder_is_refused(demo_result, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # a table left out of the copies changes what detection sees (France Travail's RSA receipts were: 68 RSA
    # payments of the France 100,000 read as non-take-up in each copy)
    assert set(TABLES) | {UNIDENTIFIED_MEMBERS, "return_tokens"} <= set(tile_workspace.ID_COLUMNS)
    source = Path(shutil.copytree(demo_result.out / "workspace", tmp_path / "ws"))
    done = tile_workspace.tile(source, tmp_path / "out", 2)
    folders = {p.name for p in source.iterdir() if p.is_dir()}
    assert "benefit_receipts" in folders
    assert {p.name for p in (tmp_path / "out").iterdir() if p.is_dir()} == folders
    assert any(k.startswith("benefit_receipts/") for k in done["source_rows"])
    (source / "new_table").mkdir()
    pl.DataFrame({"person_id": ["0" * 64]}).write_parquet(source / "new_table" / "x.parquet")
    with pytest.raises(SchemaError, match="does not know") as err:
        tile_workspace.tile(source, tmp_path / "refused", 2)
    assert err.value.table == "new_table" and not (tmp_path / "refused").exists()


@pytest.mark.slow
def test_partitioned_detect_on_the_tiled_workspace_is_copies_times_the_source(demo_result, tiled,
                                                                               tmp_path) -> None:  # type: ignore[no-untyped-def]
    bench = load_bench("detect_scale_bench")
    month = json.loads((demo_result.out / "manifest.json").read_text(encoding="utf-8"))["config"]["months"][0]
    _, out, _ = tiled
    result = tmp_path / "detect.json"
    report = bench.main(["--workspace", str(out), "--config", str(demo_result.out / "run.toml"), "--month", month,
                         "--partitions", "2", "--out-dir", str(tmp_path / "det"), "--result", str(result),
                         "--reference", str(demo_result.out / "detection" / month), "--copies", str(COPIES)])
    assert json.loads(result.read_text(encoding="utf-8")) == report
    assert result.with_suffix(".md").read_text(encoding="utf-8").startswith("# detect at scale")
    for name in ("flags", "units"):
        c = report["comparison"][name]
        assert c["reference_rows"] > 0 and c["rows_are_copies_times_reference"]
        assert c["counts_by_benefit_status_grade_times_copies"] and c["identical_to_retagged_copies"], c
    assert len(report["persons_per_part"]) == 2 and sum(report["persons_per_part"]) == report["persons"]
    steps = report["steps"]
    assert {"detect_total", "split", "facts", "join", "detect", "outputs", "write", "part0", "part0/join",
            "part1/detect"} <= set(steps)
    assert steps["join"]["calls"] == 2 and report["parts_in"] == "a child process each"
    # each part's peak is its child's (a step inside a child has none of its own); the run's steps are metered here
    within = {n for n in steps if n.startswith("part") and "/" in n}
    assert all(steps[n]["peak_rss_mib"] is None for n in within)
    assert all(s["peak_rss_mib"] > 0 for n, s in steps.items() if n not in within)
    assert steps["part0"]["cpu_s"] >= steps["part0/detect"]["cpu_s"] > 0


def test_the_scale_bench_comparison_finds_a_changed_a_lost_or_a_doubled_row(tmp_path) -> None:
    """compare_copies (streamed, on row hashes): K retagged copies of the reference are identical; one amount
    changed, one row lost or one row doubled in K copies is not, and the counts say how many rows differ."""
    bench = load_bench("detect_scale_bench")
    ids = [f"{i:062x}a0" for i in (1, 2, 3)]  # distinct before their last byte, as the tiler requires
    ref = pl.DataFrame({"unit_kind": ["famille"] * 3, "unit_id": [f"caf:{i}" for i in ids], "benefit": ["rsa"] * 3,
                        "status": ["non_take_up", "consistent", "non_take_up"], "grade": ["certain", None, "possible"],
                        "amount": [612.5, 0.0, 88.1], "adult_ids": [[ids[0]], [ids[1]], [ids[2], ids[0]]]})
    (tmp_path / "ref").mkdir()
    ref.write_parquet(tmp_path / "ref" / "flags.parquet")
    ref.write_parquet(tmp_path / "ref" / "units.parquet")
    copies = 3
    tiled = pl.concat([bench.retagged(ref, c) for c in range(copies)])
    assert tiled.get_column("unit_id").n_unique() == 3 * copies

    def compared(got: pl.DataFrame) -> dict:
        (tmp_path / "got").mkdir(exist_ok=True)
        got.write_parquet(tmp_path / "got" / "flags.parquet")
        got.write_parquet(tmp_path / "got" / "units.parquet")
        return bench.compare_copies(tmp_path / "ref", tmp_path / "got", copies)["flags"]

    same = compared(tiled.reverse())
    assert same["identical_to_retagged_copies"] and same["rows_are_copies_times_reference"]
    assert same["counts_by_benefit_status_grade_times_copies"]
    changed = compared(tiled.with_columns(pl.when(pl.int_range(pl.len()) == 7).then(612.51)
                                          .otherwise(pl.col("amount")).alias("amount")))
    assert not changed["identical_to_retagged_copies"]
    assert (changed["rows_not_expected"], changed["expected_rows_missing"]) == (1, 1)
    assert changed["counts_by_benefit_status_grade_times_copies"]  # the counts alone would not see it
    doubled = compared(pl.concat([tiled.head(8), tiled.slice(0, 1)]))
    assert not doubled["identical_to_retagged_copies"] and doubled["rows_are_copies_times_reference"]
    assert (doubled["rows_not_expected"], doubled["expected_rows_missing"]) == (1, 1)
    lost = compared(tiled.head(8))
    assert not lost["rows_are_copies_times_reference"]
    assert (lost["rows_not_expected"], lost["expected_rows_missing"]) == (0, 1)
    # a stopped run's parts (two part files holding some copies' units): the same check on their units only
    for name in ("flags", "units"):
        (tmp_path / "parts" / name).mkdir(parents=True)
        tiled.slice(0, 4).write_parquet(tmp_path / "parts" / name / "00000.parquet")
        tiled.slice(6, 2).write_parquet(tmp_path / "parts" / name / "00001.parquet")
    parted = bench.compare_parts(tmp_path / "parts", tmp_path / "ref", copies)["units"]
    assert parted["rows"] == parted["expected_rows_of_their_units"] == 6 and parted["identical_to_retagged_copies"]
    tiled.slice(6, 2).with_columns(pl.lit(1.0).alias("amount")).write_parquet(
        tmp_path / "parts" / "units" / "00001.parquet")
    parted = bench.compare_parts(tmp_path / "parts", tmp_path / "ref", copies)["units"]
    assert not parted["identical_to_retagged_copies"]
    assert (parted["rows_not_expected"], parted["expected_rows_missing"]) == (2, 2)


def test_the_lists_of_ids_are_retagged_and_an_unknown_list_refused(demo_result, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A quarantined line's NIR neighbours (pseudonyms in a list) are ids of each copy like any other: left as the
    source's, copy 1's neighbours would name copy 0's persons, and its flags differ from copy 0's."""
    source = Path(shutil.copytree(demo_result.out / "workspace", tmp_path / "ws"))
    folder = source / UNIDENTIFIED_MEMBERS
    lost = pl.read_parquet(list(folder.glob("*.parquet")))
    assert lost.height > 0
    someone = pl.read_parquet(source / "persons" / "caf-caf.parquet").get_column("person_id")[0]
    for path in folder.glob("*.parquet"):
        path.unlink()
    lost.with_columns(pl.lit([someone], dtype=pl.List(pl.String)).alias("nir_neighbours")).write_parquet(
        folder / "caf-caf.parquet")
    tile_workspace.tile(source, tmp_path / "out", 2)
    tiled = pl.read_parquet(tmp_path / "out" / UNIDENTIFIED_MEMBERS / "caf-caf.parquet")
    near = tiled.get_column("nir_neighbours").list.first()
    assert near.head(lost.height).unique().to_list() == [someone]
    assert near.tail(lost.height).unique().to_list() == [tile_workspace.retag(pl.lit(someone), 1).alias("x")
                                                         .pipe(pl.select).item()]
    assert tile_workspace.check(source, tmp_path / "out", 2)["copies_compared"] > 0
    lost.with_columns(pl.lit([someone], dtype=pl.List(pl.String)).alias("other_ids")).write_parquet(
        folder / "caf-caf.parquet")
    with pytest.raises(SchemaError, match="other_ids"):
        tile_workspace.tile(source, tmp_path / "refused", 2)
