"""A damaged workspace file (truncated, overwritten, a column dropped or retyped) is input data invalid (exit 3),
named by its path in the workspace and its fault, never a value; an older workspace lacking a nullable column is
read as before (an outside tester, 6 December 2026: « unexpected ComputeError … report it », exit 1, and with
--verbose Polars named another file)."""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from nonrecours.cli import app
from nonrecours.core.workspace import scan_workspace
from nonrecours.errors import SchemaError
from nonrecours.schemas import BENEFITS_PAID


def _paid(folder: Path, agency: str) -> Path:
    frame = pl.DataFrame([("famille", "F1", None, "rsa", dt.date(2026, 6, 1), Decimal("500.00"), agency, agency,
                           agency, dt.date(2026, 6, 28))], schema=BENEFITS_PAID.polars_schema, orient="row")
    out = folder / "benefits_paid"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{agency}-{agency}.parquet"
    BENEFITS_PAID.validate_frame(frame).write_parquet(path)
    return path


def _fault(ws: Path) -> str:
    with pytest.raises(SchemaError) as err:
        scan_workspace(ws)
    return str(err.value)


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    _paid(tmp_path, "caf")
    path = _paid(tmp_path, "msa")
    path.write_bytes(path.read_bytes()[:300])  # truncated
    msg = _fault(tmp_path)
    assert msg.startswith("workspace file benefits_paid/msa-msa.parquet: not a readable Parquet file"), msg
    path.write_bytes(b"\x00garbage" * 500)
    assert "benefits_paid/msa-msa.parquet: not a readable Parquet file" in _fault(tmp_path)


def test_a_missing_required_column_or_another_type_is_named(tmp_path: Path) -> None:
    _paid(tmp_path, "caf")
    path = _paid(tmp_path, "msa")
    pl.read_parquet(path).drop("amount").write_parquet(path)
    assert _fault(tmp_path) == "workspace file benefits_paid/msa-msa.parquet: missing column amount, required in the " \
                               "table benefits_paid"
    pl.read_parquet(_paid(tmp_path, "msa")).with_columns(pl.col("amount").cast(pl.String)).write_parquet(path)
    msg = _fault(tmp_path)
    assert msg == ("workspace file benefits_paid/msa-msa.parquet: column amount of type String where "
                   f"{BENEFITS_PAID.schema['amount']} is expected"), msg
    assert "500" not in msg


def test_an_older_workspace_lacking_a_nullable_or_late_column_is_read(tmp_path: Path) -> None:
    """Nullable person_id and paying_agency (read only where a file has it) missing from every file: read as
    before, not damage."""
    for agency in ("caf", "msa"):
        path = _paid(tmp_path, agency)
        pl.read_parquet(path).drop("person_id", "paying_agency").write_parquet(path)
    assert scan_workspace(tmp_path)["benefits_paid"].collect().height == 2


@pytest.fixture
def damaged(demo_result, tmp_path) -> Path:
    return Path(shutil.copytree(demo_result.out / "workspace", tmp_path / "ws"))


@pytest.mark.parametrize(("table", "damage", "said"), [
    ("persons", "truncate", "persons/caf-caf.parquet: not a readable Parquet file (ComputeError)"),
    ("claims", "garbage", "claims/caf-caf.parquet: not a readable Parquet file (ComputeError)"),
    ("persons", "drop", "persons/caf-caf.parquet: missing column birth_month, required in the table persons"),
    ("benefits_paid", "retype", "benefits_paid/caf-caf.parquet: column amount of type String where"),
])
@pytest.mark.parametrize("backend", ["polars", "duckdb"])
def test_detect_names_the_damaged_file_exit_3(damaged: Path, tmp_path: Path, table: str, damage: str, said: str,
                                              backend: str) -> None:
    path = damaged / table / "caf-caf.parquet"
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:3000])
    elif damage == "garbage":
        path.write_bytes(bytes(range(256)) * 20)
    elif damage == "drop":
        pl.read_parquet(path).drop("birth_month").write_parquet(path)
    else:
        pl.read_parquet(path).with_columns(pl.col("amount").cast(pl.String)).write_parquet(path)
    res = CliRunner().invoke(app, ["detect", "--workspace", str(damaged), "--month", "2026-06", "--backend", backend,
                                   "--out", str(tmp_path / "out")])
    assert res.exit_code == 3, res.output
    assert f"workspace file {said}" in res.output, res.output
    assert "unexpected" not in res.output


def test_a_workspace_path_that_is_no_folder_is_a_usage_error(tmp_path: Path) -> None:
    """``--workspace nowhere``: the path given wrong, exit 2 naming it (before: exit 3, « table nowhere: workspace
    is not a folder », as if data were at fault)."""
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    for given, tail in ((tmp_path / "nowhere", "(no such path)"), (tmp_path / "afile", "is not a folder")):
        res = CliRunner().invoke(app, ["detect", "--workspace", str(given), "--month", "2026-06",
                                       "--out", str(tmp_path / "out")])
        assert res.exit_code == 2, res.output
        assert f"the workspace {given} is not a folder" in res.output and tail in res.output


def test_a_file_of_another_type_of_the_same_kind_is_read_as_the_canonical_type(tmp_path: Path) -> None:
    """A team's own file of amounts as floats or as wide decimals, beside the ones ingest wrote: each is read cast to
    the canonical type (scanned together, Polars refused the mix: « data type mismatch », exit 1, an outside tester's
    probe13)."""
    _paid(tmp_path, "caf")
    for agency, dtype in (("msa", pl.Float64), ("cnav", pl.Decimal(38, 2))):
        path = _paid(tmp_path, agency)
        pl.read_parquet(path).with_columns(pl.col("amount").cast(dtype)).write_parquet(path)
    got = scan_workspace(tmp_path)["benefits_paid"].collect()
    assert got.height == 3 and got.schema["amount"] == BENEFITS_PAID.schema["amount"]
    assert got.get_column("amount").to_list() == [Decimal("500.00")] * 3


def test_detect_reads_a_code_column_written_as_text(damaged: Path, tmp_path: Path) -> None:
    """The tester's ws_a: the CAF's memberships with ``role`` as text instead of its code type: read, the same flags
    as the workspace ingest wrote (before: exit 1, « unexpected SchemaError »)."""
    path = damaged / "unit_memberships" / "caf-caf.parquet"
    args = ["detect", "--workspace", str(damaged), "--month", "2026-06", "--out"]
    clean = CliRunner().invoke(app, [*args, str(tmp_path / "clean")])
    assert clean.exit_code == 0, clean.output
    pl.read_parquet(path).with_columns(pl.col("role").cast(pl.String)).write_parquet(path)
    res = CliRunner().invoke(app, [*args, str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    flags = [pl.read_parquet(tmp_path / d / "flags.parquet") for d in ("clean", "out")]
    assert flags[0].height > 0 and flags[0].equals(flags[1])
