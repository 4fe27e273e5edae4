"""benchmarks/unidentified_payee_quality.py on the session's DuckDB demo (tests/conftest.py ``demo_result``)."""

from __future__ import annotations

import json

import polars as pl
import pytest
from tests.benches import load_bench


@pytest.mark.slow
def test_every_monthly_non_take_up_flag_is_counted_once_against_the_truth(demo_result, tmp_path):
    bench = load_bench("unidentified_payee_quality")
    out = demo_result.out
    detection = out / "detection" / "2026-06"
    bench.main(["--detection", str(detection), "--truth", str(out / "truth"), "--agreement",
                str(out / "exchange.toml"), "--out", str(tmp_path / "q")])
    written = json.loads((tmp_path / "q.json").read_text(encoding="utf-8"))
    table = pl.DataFrame(written["rows"])
    every = pl.read_parquet(detection / "flags.parquet").filter(~pl.col("benefit").is_in(["ars", "cheque_energie"]))
    flags = every.filter(pl.col("status") == "non_take_up")
    assert table["flags"].sum() == flags.height > 0
    assert (table["taken_up_in_truth"] + table["true_non_take_up"] + table["not_entitled_in_truth"]
            == table["flags"]).all()
    marked = flags.filter(pl.col("reasons").list.eval(pl.element().str.contains(bench.MARK)).list.any())
    assert table.filter(pl.col("marked"))["flags"].sum() == marked.height
    summary = json.loads((detection / "summary.json").read_text(encoding="utf-8"))
    said = {b: n for b, n in summary["flags_maybe_paid_to_unidentified_payee"].items()
            if n and b in set(table["benefit"])}
    said_on = every.filter(pl.col("reasons").list.eval(pl.element().str.contains(bench.MARK)).list.any())
    assert said == {b: n for b, n in said_on.group_by("benefit").len().iter_rows()}
    assert (tmp_path / "q.md").read_text(encoding="utf-8").startswith("# Flags that may be paid to an unidentified")
