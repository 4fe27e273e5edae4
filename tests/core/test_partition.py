"""Partitioned runs (core.partition): no household split across parts, and the outputs of an unpartitioned run."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nonrecours.core import Partitions
from nonrecours.core.partition import components


def _tables(rows: list[tuple[int, str, int, str]]) -> dict[str, pl.DataFrame]:
    """Memberships (person, kind, unit, agency) and a payment to every CAF famille, named by unit only."""
    members = pl.DataFrame([(f"P{p}", kind, f"U{u}", agency) for p, kind, u, agency in rows],
                           schema={"person_id": pl.String, "unit_kind": pl.String, "unit_id": pl.String,
                                   "source_agency": pl.String}, orient="row")
    paid = (members.filter((pl.col("unit_kind") == "famille") & (pl.col("source_agency") == "caf"))
            .select("unit_kind", "unit_id", pl.lit(None, dtype=pl.String).alias("person_id"),
                    pl.lit("caf").alias("paying_agency"), pl.lit("caf").alias("source_agency")).unique())
    persons = pl.DataFrame({"person_id": [f"P{p}" for p in range(40)], "source_agency": "cnav"})
    return {"persons": persons, "unit_memberships": members, "benefits_paid": paid}


_ROW = st.tuples(st.integers(0, 29), st.sampled_from(["famille", "menage", "foyer_fiscal"]), st.integers(0, 12),
                 st.sampled_from(["caf", "msa", "dgfip"]))


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(_ROW, min_size=1, max_size=60), n=st.integers(1, 5))
def test_no_unit_or_linked_household_is_split_across_parts(tmp_path_factory, rows, n):
    tables = _tables(rows)
    parts = Partitions(tables, n, tmp_path_factory.mktemp("parts"))
    views = [{k: v.collect() for k, v in parts.tables(k).items()} for k in range(n)]
    # every row in exactly one part
    for name, t in tables.items():
        assert sum(v[name].height for v in views) == t.height
    # every person in one part, and every unit's members (the core's clusters are made of these units) with them
    part_of = pl.concat([v["persons"].select("person_id", pl.lit(k).alias("part")) for k, v in enumerate(views)])
    assert part_of.get_column("person_id").is_unique().all() and part_of.height == 40
    members = tables["unit_memberships"].join(part_of, on="person_id")
    assert members.group_by("unit_kind", "unit_id", "source_agency").agg(
        pl.col("part").n_unique()).get_column("part").max() == 1
    # a payment naming only its famille lands where the famille's members are
    for v in views:
        fams = v["unit_memberships"].filter(pl.col("unit_kind") == "famille").select("unit_id", "source_agency")
        assert v["benefits_paid"].join(fams, on=["unit_id", "source_agency"], how="anti").height == 0
    assert sum(parts.sizes()) == 40


def test_components_follow_chains():
    edges = pl.DataFrame({"a": ["p:1", "p:2", "p:3", "p:7"], "b": ["u:a", "u:a", "u:b", "u:c"]})
    edges = pl.concat([edges, pl.DataFrame({"a": ["p:2"], "b": ["u:b"]})])
    got = dict(components(edges).iter_rows())
    assert got["p:1"] == got["p:3"] == got["u:b"] == "p:1"
    assert got["p:7"] == got["u:c"] == "p:7"


def test_a_partitioned_run_writes_the_files_of_an_unpartitioned_run(quick_copy, quick_run, caplog):
    """The demo's workspace (tests/conftest.py ``quick_run``) through the rules and detection stages again in 3
    parts: every file they write (entitlements, parameters, flags, units, memberships, residence, provenance,
    unknowns and the summary with its counts) holds what the run in one pass wrote: the same rows in the same
    order with the same types (the parts are merged by another Parquet writer, ``merge_parts``: not the same
    bytes), the JSON files byte for byte. The stages' row counts are the one pass's too. Detection ran each part
    in a child process of its own (the default), each logged here with its persons and its child's costs. The
    population is split once, by the rules stage, and the detection stage reads the same parts; the run's end
    (``RunContext.close``) removes them. The registered detection stage following it, the rules stage detects
    each part too (``run._fused_detection``): each part is built and evaluated once, its entitlements taken from
    detection's central evaluation, and the detection stage merges the parts."""
    import logging

    from polars.testing import assert_frame_equal

    from nonrecours.atomic import file_sha256
    from nonrecours.config import load_config
    from nonrecours.run import RunContext, detection_stage, rules_stage

    cfg = load_config(quick_copy / "run.toml")
    parted = cfg.model_copy(update={"partitions": 3})
    assert parted.digest() == cfg.digest()
    assert parted.fresh_process_per_part
    ctx = RunContext(parted, quick_copy, None, None, {"parameters": {}},
                     stages={"rules": rules_stage, "detection": detection_stage})
    caplog.set_level(logging.INFO, logger="nonrecours")
    reports = [stage(ctx) for stage in (rules_stage, detection_stage)]
    # one job a part, detection's, during the rules stage; none of the rules stage's own
    assert not [r for r in caplog.records if r.name == "nonrecours.run" and hasattr(r, "usage")]
    assert not ctx.detected  # merged by the detection stage
    split = ctx.partitions.path.parent  # the rules stage's, kept for the detection stage
    assert split.is_dir() and split.name == ".partial-partitions"
    ctx.close()
    assert not split.exists() and ctx.partitions is None
    assert [r.getMessage() for r in caplog.records if "parts by linked households: started" in r.getMessage()
            ] == ["partitions: 3 parts by linked households: started"]
    parts = [r for r in caplog.records if r.name == "nonrecours.detection" and hasattr(r, "usage")]
    assert [r.part for r in parts] == sorted(r.part for r in parts) and len(parts) >= 2
    assert all("the rules stage's entitlements written" in r.getMessage() for r in parts)
    # a child's own peak (None for a part run in this process): Polars and the part's frames
    assert all(r.usage.peak_rss_mib is not None and r.usage.peak_rss_mib > 100 for r in parts)
    written = [p for r in reports for p in r.outputs]
    expected = sorted(p.relative_to(quick_run) for d in ("rules", "detection") for p in (quick_run / d).rglob("*")
                      if p.is_file())
    assert sorted(p.relative_to(quick_copy) for p in written) == expected and len(expected) >= 9
    tables = [p for p in expected if p.suffix == ".parquet"]
    assert len(tables) >= 9
    for p in tables:
        assert_frame_equal(pl.read_parquet(quick_copy / p), pl.read_parquet(quick_run / p), check_exact=True)
    assert {str(p): file_sha256(quick_copy / p) for p in expected if p.suffix != ".parquet"} == {
        str(p): file_sha256(quick_run / p) for p in expected if p.suffix != ".parquet"}
    assert not (quick_copy / ".partial-partitions").exists()
    assert not list(quick_copy.rglob(".partial-merge-*"))
    import json

    stages = {s["name"]: s for s in json.loads((quick_run / "manifest.json").read_text())["stages"]}
    for r in reports:
        assert (r.rows_in, r.rows_out, r.counts) == (stages[r.name]["rows_in"], stages[r.name]["rows_out"],
                                                     stages[r.name]["counts"])


def test_a_partitioned_rules_stage_alone_writes_the_files_of_an_unpartitioned_run(quick_copy, quick_run):
    """Without the detection stage after it, the partitioned rules stage evaluates each part itself (here in this
    process): its entitlements and parameters are the one pass's, and nothing is left for a detection stage."""
    from polars.testing import assert_frame_equal

    from nonrecours.atomic import file_sha256
    from nonrecours.config import load_config
    from nonrecours.run import RunContext, rules_stage

    cfg = load_config(quick_copy / "run.toml").model_copy(update={"partitions": 3,
                                                                 "fresh_process_per_part": False})
    ctx = RunContext(cfg, quick_copy, None, None, {"parameters": {}}, stages={"rules": rules_stage})
    report = rules_stage(ctx)
    ctx.close()
    assert not ctx.detected
    written = sorted(p.relative_to(quick_copy) for p in report.outputs)
    assert written == sorted(p.relative_to(quick_run) for p in (quick_run / "rules").iterdir())
    for p in written:
        if p.suffix == ".parquet":
            assert_frame_equal(pl.read_parquet(quick_copy / p), pl.read_parquet(quick_run / p), check_exact=True)
        else:
            assert file_sha256(quick_copy / p) == file_sha256(quick_run / p)


def test_the_core_clusters_of_the_demo_lie_each_in_one_part(quick_run, tmp_path):
    """On the demo's workspace, each part's core holds whole household clusters: together the parts' clusters
    are exactly those of the core built on everyone, and no person is in two parts."""
    import datetime as dt

    from nonrecours.core import build_month, population_facts, scan_workspace

    tables = scan_workspace(quick_run / "workspace")
    month = dt.date(2026, 6, 1)
    whole = build_month(tables, month).clusters
    parts = Partitions(tables, 3, tmp_path)
    facts = population_facts(tables, month)
    got = pl.concat([build_month(parts.tables(k), month, facts=facts).clusters.with_columns(pl.lit(k).alias("part"))
                     for k in range(3)])
    assert got.get_column("person_id").is_unique().all()
    assert got.group_by("cluster_id").agg(pl.col("part").n_unique()).get_column("part").max() == 1
    assert got.drop("part").sort("person_id").equals(whole.sort("person_id"))
    assert got.get_column("part").n_unique() == 3


@settings(max_examples=60, deadline=None)
@given(pairs=st.lists(st.tuples(st.integers(0, 25), st.integers(0, 25)), min_size=1, max_size=40))
def test_components_label_is_the_smallest_node_reachable(pairs):
    """Against a breadth-first search over the same edges: every node's label is the smallest node (as strings
    sort, bytewise) it is connected to, whatever the edges' order or repetitions."""
    edges = pl.DataFrame({"a": [f"p:{x}" for x, _ in pairs], "b": [f"u:{y}" for _, y in pairs]})
    near: dict[str, set[str]] = {}
    for a, b in edges.iter_rows():
        near.setdefault(a, set()).add(b)
        near.setdefault(b, set()).add(a)
    expected = {}
    for start in near:
        seen, todo = {start}, [start]
        while todo:
            for nxt in near[todo.pop()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        expected[start] = min(seen)
    got = components(edges)
    assert got.get_column("node").is_unique().all()
    assert dict(got.iter_rows()) == expected


def test_components_refuses_an_edge_with_a_null_end() -> None:
    """A null node would join unrelated components (it ranks like any node): refused, not labelled."""
    edges = pl.DataFrame({"a": [None, "x"], "b": ["z", "y"]}, schema={"a": pl.String, "b": pl.String})
    with pytest.raises(ValueError, match="null end"):
        components(edges)


def test_a_part_reads_its_own_files_only_in_the_tables_order(quick_run, tmp_path):
    """The tables are written once by part: a part's rows are read from its own files (the workspace removed after
    the split, every part still reads the same rows), in the table's order, with the table's types; together the
    parts hold every row the core reads."""
    import shutil

    from nonrecours.core import scan_workspace

    copy = shutil.copytree(quick_run / "workspace", tmp_path / "workspace")
    tables = scan_workspace(copy)
    source = {name: lf.collect() for name, lf in tables.items()}
    parts = Partitions(tables, 3, tmp_path / "parts")
    shutil.rmtree(copy)  # a part that scanned the whole table again would fail here
    views = [{name: lf.collect() for name, lf in parts.tables(k).items()} for k in range(3)]
    for name, whole in source.items():
        got = [v[name] for v in views]
        assert all(g.schema == whole.schema for g in got), name
        # each part's rows appear in the table's order: the part's rows are a subsequence of the table
        for g in got:
            if g.height:
                at = whole.with_row_index("_i").join(g.with_row_index("_j"), on=whole.columns, how="inner",
                                                     nulls_equal=True)
                assert at.sort("_j").get_column("_i").is_sorted(), name
        person_rows = whole.filter(pl.col("person_id").is_not_null()) if name in ("persons", "resources") else whole
        assert sum(g.height for g in got) == person_rows.height, name
