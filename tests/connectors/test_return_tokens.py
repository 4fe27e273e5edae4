"""Ingest wraps each agency's own record number in a return token only that agency's key opens."""

from __future__ import annotations

import secrets

import polars as pl
import pytest

from nonrecours.connectors import default_mapping, ingest
from nonrecours.errors import PrivacyError
from nonrecours.privacy import Secret, derive_return_key, open_return_tokens


def _key(agency: str):  # type: ignore[no-untyped-def]
    return derive_return_key(Secret(secrets.token_urlsafe(40).encode()), agency, "cahors-2026",
                             "non-take-up-outreach")


@pytest.mark.parametrize(("agency", "pattern"), [("caf", r"^\d{7}$"), ("cnav", r"^\S+$"), ("cnam", r"^[0-9AB]{15}$")])
def test_record_numbers_become_tokens_only_the_agency_opens(territory, agreement, tmp_path, agency, pattern):
    key = _key(agency)
    report = ingest(territory.extracts[agency], default_mapping(agency), agreement, tmp_path / "ws", return_key=key)
    table = pl.read_parquet(tmp_path / "ws" / "return_tokens" / f"{agency}-{territory.extracts[agency].stem}.parquet")
    assert report.return_tokens == table.height > 0 and report.return_key_id == key.key_id
    assert table.get_column("agency").unique().to_list() == [agency]
    assert table.select("person_id", "return_token").is_unique().all()
    persons = pl.concat([pl.read_parquet(p).select("person_id") for p in (tmp_path / "ws").glob("*/*.parquet")
                         if "person_id" in pl.read_parquet_schema(p) and "return_tokens" not in str(p)])
    # the workspace's own pseudonyms (the CPAM also holds a record of insured people whose rows emit nothing
    # canonical: no CSS, pension nor claim)
    assert table.join(persons, on="person_id", how="semi").height > 0
    if agency != "cnam":
        assert table.join(persons, on="person_id", how="anti").height == 0
    opened = open_return_tokens(table, "return_token", key)
    assert opened.get_column("record_id").str.contains(pattern).all()
    # nothing in the workspace holds a raw record number: no cell of any file equals one
    numbers = set(opened.get_column("record_id"))
    for path in (tmp_path / "ws").rglob("*.parquet"):
        frame = pl.read_parquet(path)
        for col, dtype in frame.schema.items():
            if dtype == pl.String:
                assert not numbers & set(frame.get_column(col).drop_nulls().to_list()), (path.name, col)
    with pytest.raises(PrivacyError, match="authentication failed"):
        open_return_tokens(table, "return_token", _key(agency))  # same agency name, another secret
    other = "cnav" if agency != "cnav" else "caf"
    with pytest.raises(PrivacyError, match="belongs to agency"):
        ingest(territory.extracts[agency], default_mapping(agency), agreement, tmp_path / "ws2",
               return_key=_key(other))


def test_reingest_without_a_key_leaves_no_stale_tokens(territory, agreement, tmp_path):
    ws = tmp_path / "ws"
    ingest(territory.extracts["caf"], default_mapping("caf"), agreement, ws, return_key=_key("caf"))
    assert list((ws / "return_tokens").glob("*.parquet"))
    report = ingest(territory.extracts["caf"], default_mapping("caf"), agreement, ws)
    assert report.return_tokens is None and not list((ws / "return_tokens").glob("*.parquet"))
