"""``detect_workspace``: the month detected in memory is the one ``nonrecours detect`` writes, flag for flag."""

from __future__ import annotations

import polars as pl
from polars.testing import assert_frame_equal

from nonrecours.config import load_config
from nonrecours.detection import detect_workspace

KEYS = ["unit_kind", "unit_id", "benefit"]


def test_the_month_detected_in_memory_is_the_files_the_command_wrote(demo_run) -> None:  # type: ignore[no-untyped-def]
    """The demo's Polars run wrote its detection with the layouts ingest recorded; a data team's notebook gets the
    same flags, statuses, grades, amounts to the cent and deciding unknowns in memory (before: the tables alone
    took the default resource kinds, 30 flags of the 1,500-person demo named other deciding unknowns, and 436
    amounts were not rounded as the files are)."""
    month = load_config(demo_run / "run.toml").months[0]
    core, det = detect_workspace(demo_run / "workspace", month, backend="polars")
    assert core.month == month and det.month == month
    folder = demo_run / "detection" / f"{month:%Y-%m}"
    for name, held in (("flags", det.flags), ("units", det.units)):
        written = pl.read_parquet(folder / f"{name}.parquet")
        assert held.height == written.height > 0, name
        assert_frame_equal(held.sort(KEYS).select(written.columns), written.sort(KEYS), check_exact=True)
    money = [c for c, t in det.flags.schema.items() if t == pl.Float64]
    assert money and det.flags.select((pl.col(money) * 100 - (pl.col(money) * 100).round()).abs().max()
                                      ).max_horizontal().item() < 1e-6
