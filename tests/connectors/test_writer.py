"""The mapping-driven writer and the readers agree: what is written in a layout reads back as written."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nonrecours.connectors import default_mapping, ingest
from nonrecours.connectors.writer import fixed_width_lines, render, write_csv
from nonrecours.privacy import ExchangeAgreement

from .conftest import Territory

_NAME = st.text(alphabet=st.sampled_from(list("ABCÉé -';\"\n,")), min_size=1, max_size=12)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(_NAME, min_size=1, max_size=8), cents=st.lists(st.integers(-99_999, 9_999_999), min_size=8,
                                                                     max_size=8))
def test_csv_round_trip_with_quoted_values(names: list[str], cents: list[int], territory: Territory,
                                           agreement: ExchangeAgreement) -> None:
    """Names holding separators, quotes and line breaks are quoted by the writer and read back by DuckDB."""
    ids = territory.identities.filter(pl.col("nir").is_not_null()).head(len(names))
    n = ids.height
    frame = pl.DataFrame({
        "nir": ids.get_column("nir"), "nom": names[:n], "prenoms": names[:n],
        "birth_month": [dt.date(1950, 5, 17)] * n, "sex": ["F"] * n, "nationality_group": ["FR"] * n,
        "dossier": [f"R{i}" for i in range(n)], "valid_from": [dt.date(2020, 1, 1)] * n,
        "role": ["demandeur"] * n, "postcode": ["46000"] * n, "depcom": ["46042"] * n,
        "month": [dt.date(2026, 6, 1)] * n, "gross": [abs(c) / 100 + 1 for c in cents[:n]],
        "net": [abs(c) / 100 + 1 for c in cents[:n]], "aspa": [c / 100 for c in cents[:n]],
    })
    tmp = Path(tempfile.mkdtemp())
    try:
        write_csv(frame, default_mapping("cnav"), tmp / "cnav.csv")
        report = ingest(tmp / "cnav.csv", default_mapping("cnav"), agreement, tmp / "o",
                        extract_date=dt.date(2026, 7, 1))
        assert (report.rows_read, report.rows_quarantined) == (n, 0)
        paid = pl.read_parquet(report.outputs["benefits_paid"]) if "benefits_paid" in report.outputs else None
        want = sorted(Decimal(c).scaleb(-2) for c in cents[:n] if c != 0)
        got = sorted(paid.get_column("amount").to_list()) if paid is not None else []
        assert got == want
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_fixed_width_record_is_laid_out_by_the_mapping() -> None:
    layout = default_mapping("caf")
    frame = pl.DataFrame({"matricule": ["1000001"], "nir": ["255081416802538"], "benefit": ["rsa"],
                          "event": ["refused"], "event_date": [dt.date(2026, 4, 15)]})
    (line,) = fixed_width_lines(frame, layout, "demande").to_list()
    assert len(line) == 120
    assert line[:2] == "60" and line[2:9] == "1000001" and line[9:24] == "255081416802538"
    assert line[24:27] == "RSA" and line[27:30] == "REJ" and line[30:38] == "20260415"
    amounts = render(pl.DataFrame({"matricule": ["1"], "amount": [-12.5]}), layout, "prestation")
    assert amounts.get_column("MONTANT").to_list() == ["-000001250"]
