"""A workspace holding several extracts of one agency (monthly files repeating the months before, a file sent
again): each table reads one row per key, the latest extract's."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import polars as pl

from nonrecours.core.workspace import scan_workspace
from nonrecours.schemas import BENEFITS_PAID


def _paid(folder: Path, agency: str, extract: str, day: dt.date, rows: list[tuple[str, dt.date, str]]) -> None:
    frame = pl.DataFrame([("famille", "F1", None, "rsa", month, Decimal(amount), agency, agency, extract, day)
                          for _, month, amount in rows],
                         schema=BENEFITS_PAID.polars_schema, orient="row")
    out = folder / "benefits_paid"
    out.mkdir(parents=True, exist_ok=True)
    BENEFITS_PAID.validate_frame(frame).write_parquet(out / f"{agency}-{extract}.parquet")


def test_the_latest_extract_gives_each_row_once(tmp_path: Path) -> None:
    """Two CAF extracts (May's with March to May, June's with April to June, April corrected): each month once, the
    latest extract's amount (the payments of the months both held were summed twice by detection)."""
    m = [dt.date(2026, k, 1) for k in (3, 4, 5, 6)]
    _paid(tmp_path, "caf", "caf-2026-05", dt.date(2026, 5, 28), [("", m[0], "500.00"), ("", m[1], "500.00"),
                                                                  ("", m[2], "510.00")])
    _paid(tmp_path, "caf", "caf-2026-06", dt.date(2026, 6, 28), [("", m[1], "505.00"), ("", m[2], "510.00"),
                                                                  ("", m[3], "520.00")])
    _paid(tmp_path, "msa", "msa-2026-06", dt.date(2026, 6, 28), [("", m[3], "300.00")])
    got = scan_workspace(tmp_path)["benefits_paid"].collect()
    by = {(r["source_agency"], r["month"]): (r["amount"], r["extract_id"]) for r in got.iter_rows(named=True)}
    assert got.height == len(by) == 5
    assert by[("caf", m[0])] == (Decimal("500.00"), "caf-2026-05")
    assert by[("caf", m[1])] == (Decimal("505.00"), "caf-2026-06")  # corrected by the later extract
    assert by[("caf", m[2])][1] == "caf-2026-06" and by[("caf", m[3])] == (Decimal("520.00"), "caf-2026-06")
    assert by[("msa", m[3])] == (Decimal("300.00"), "msa-2026-06")
    # one extract per agency: read as written
    single = tmp_path / "single"
    _paid(single, "caf", "caf-2026-06", dt.date(2026, 6, 28), [("", m[1], "505.00"), ("", m[3], "520.00")])
    assert scan_workspace(single)["benefits_paid"].collect().equals(
        pl.read_parquet(single / "benefits_paid" / "caf-caf-2026-06.parquet"))
