"""What is paid of a benefit whose payments no extract reports is unknown, not 0: ``paid`` and ``paid_before`` are
null there in flags.parquet and units.parquet (an outside tester, 6 December 2026: the chèque énergie's 341 flags,
and every flag of a workspace without benefits_paid, carried 0.0), and the outputs read them as before."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from nonrecours.audit.manifest import read_manifest
from nonrecours.cli import app
from nonrecours.outputs.answers import write_answers
from nonrecours.outputs.outreach import build_outreach


def _det(run: Path) -> Path:
    return run / "detection" / read_manifest(run)["config"]["months"][0]


def _check(det: Path) -> dict[str, bool]:
    known = json.loads((det / "summary.json").read_text())["payments_known"]
    for name in ("flags", "units"):
        frame = pl.read_parquet(det / f"{name}.parquet")
        unknown = frame.filter(pl.col("benefit").is_in([b for b, k in known.items() if not k]))
        others = frame.filter(pl.col("benefit").is_in([b for b, k in known.items() if k]))
        assert unknown.height == 0 or (unknown["paid"].null_count() == unknown["paid_before"].null_count()
                                       == unknown.height), name
        # a benefit whose payments are known: null only where the famille's own payer is unknown (no health fund
        # knows it, for the CSS; its benefit's general payer sent no extract), never where a payment was read
        unseen = others.filter(pl.col("paid").is_null())
        assert unseen["paid_before"].null_count() == unseen.height, name
        assert name == "flags" or not unseen["receiving"].any()  # never a unit a payment was read for
        assert others.filter(pl.col("paid").is_not_null())["paid_before"].null_count() == 0, name
        if name == "flags":
            assert all(any("pas observé" in r for r in rs[:1]) for rs in unseen["reasons"]), name
    return known


def test_the_cheque_energie_paid_is_null(demo_result) -> None:
    det = _det(demo_result.out)
    known = _check(det)
    assert known["cheque_energie"] is False and known["rsa"] is True
    flags = pl.read_parquet(det / "flags.parquet")
    assert flags.filter(pl.col("benefit") == "cheque_energie").height > 0
    assert flags.filter(pl.col("benefit") == "rsa")["paid"].null_count() == 0


def test_without_benefits_paid_every_paid_is_null(demo_result, tmp_path: Path) -> None:
    ws = Path(shutil.copytree(demo_result.out / "workspace", tmp_path / "ws"))
    shutil.rmtree(ws / "benefits_paid")
    month = read_manifest(demo_result.out)["config"]["months"][0]
    res = CliRunner().invoke(app, ["detect", "--workspace", str(ws), "--month", month, "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    known = _check(tmp_path / "o")
    assert not any(known.values())
    assert pl.read_parquet(tmp_path / "o" / "units.parquet")["paid"].null_count() > 0


def test_the_outputs_read_a_null_paid_as_before(demo_result, tmp_path: Path) -> None:
    """The outreach lists' missing amounts and priorities, and the answers, are those of the 0.0 written before."""
    det = _det(demo_result.out)
    flags, units = pl.read_parquet(det / "flags.parquet"), pl.read_parquet(det / "units.parquet")
    assert flags["paid"].null_count() > 0
    zero = [pl.col("paid").fill_null(0.0), pl.col("paid_before").fill_null(0.0)]
    records = pl.DataFrame(schema={"agency": pl.String, "person_id": pl.String, "return_token": pl.String,
                                   "return_key_id": pl.String})
    new, old = (build_outreach(f, records=records) for f in (flags, flags.with_columns(zero)))
    assert new.keys() == old.keys() and new
    for agency in new:
        assert_frame_equal(new[agency], old[agency])
    provenance, due = pl.read_parquet(det / "provenance.parquet"), pl.read_parquet(det / "provenance_due.parquet")
    # the run's statistics publish the benefits whose answers are compared (without, every figure is secret)
    stats = pl.read_parquet(demo_result.out / "outputs" / f"{det.name}" / "statistics.parquet")
    a = write_answers(tmp_path / "new", flags=flags, units=units, provenance=provenance, due_provenance=due,
                      statistics_table=stats)
    b = write_answers(tmp_path / "old", flags=flags.with_columns(zero), units=units.with_columns(zero),
                      provenance=provenance, due_provenance=due, statistics_table=stats)
    assert [p.name for p in a.values()] == [p.name for p in b.values()]
    for p, q in zip(a.values(), b.values(), strict=True):
        assert p.read_bytes() == q.read_bytes(), p.name
