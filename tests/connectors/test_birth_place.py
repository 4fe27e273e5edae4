"""The NIR's birth place becomes one boolean of the persons table at ingest (born in France, abroad, unknown), and its
sex digit the sex of an extract without a sex field, read before the number becomes a pseudonym: no digit of the
number survives."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from stdnum.fr.nir import calc_check_digits

from nonrecours.connectors import default_mapping, ingest
from nonrecours.connectors.mapping import ExtractMapping
from nonrecours.connectors.writer import write_csv
from nonrecours.errors import ConfigError
from nonrecours.privacy import ExchangeAgreement, find_leaks


def _with_key(body13: str) -> str:
    return body13 + calc_check_digits(body13)


# (13-digit body, birth month, commune the row is told apart by, born in France?)
CASES = [
    ("1850146042012", dt.date(1985, 1, 1), "46001", True),    # Lot
    ("2900597105123", dt.date(1990, 5, 1), "46002", True),    # Guadeloupe: overseas is France
    ("2750699350077", dt.date(1975, 6, 1), "46003", False),   # born abroad (99, Maroc)
    ("7850146042012", dt.date(1985, 1, 1), "46004", False),   # a temporary number: born abroad
    ("1550393012004", dt.date(1955, 3, 1), "46005", None),    # 93 before 1968: Algeria, unknown
    ("1850393066004", dt.date(1985, 3, 1), "46006", True),    # 93 from 1968: Seine-Saint-Denis
    ("18506" + "2A" + "004001", dt.date(1985, 6, 1), "46007", True),  # Corse-du-Sud
]


def _cnam(path: Path) -> None:
    n = len(CASES)
    frame = pl.DataFrame({
        "nir": [_with_key(b) for b, *_ in CASES], "nom": ["DURAND"] * n, "prenom": ["CAMILLE"] * n,
        "birth_month": [m for _, m, _, _ in CASES], "depcom": [c for *_, c, _ in CASES], "regime": ["01"] * n,
        "css": ["none"] * n, "month": [dt.date(2026, 6, 1)] * n, "participation": [0.0] * n,
        "invalidity": [0.0] * n,
    })
    write_csv(frame, default_mapping("cnam"), path)


def test_birth_place_is_read_from_the_nir_and_no_digit_survives(agreement: ExchangeAgreement,
                                                                 tmp_path: Path) -> None:
    _cnam(tmp_path / "cnam.csv")
    report = ingest(tmp_path / "cnam.csv", default_mapping("cnam"), agreement, tmp_path / "ws",
                    extract_date=dt.date(2026, 6, 28))
    assert (report.rows_read, report.rows_quarantined) == (len(CASES), 0)
    persons = pl.read_parquet(report.outputs["persons"])
    got = dict(zip(persons.get_column("depcom"), persons.get_column("born_in_france"), strict=True))
    assert got == {c: want for *_, c, want in CASES}
    assert persons.schema["born_in_france"] == pl.Boolean
    # nothing but the canonical columns leaves: no working column of the number
    assert not [c for c in persons.columns if "born:" in c or "__sex" in c or "nir" in c.lower()]
    # the CPAM's file has no sex field: the sex digit gives it (1, 7 a man; 2 a woman), for every number
    sexes = dict(zip(persons.get_column("depcom"), persons.get_column("sex").cast(pl.String), strict=True))
    assert sexes == {c: ("F" if b[0] in "24" else "M") for b, _, c, _ in CASES}
    # no number, nor its 13 digits without the key, in any output file
    leaks = find_leaks([tmp_path / "ws"])
    assert not leaks, [str(leak) for leak in leaks]
    blobs = b"".join(p.read_bytes() for p in (tmp_path / "ws").rglob("*") if p.is_file())
    for body, *_ in CASES:
        assert body.encode() not in blobs


def test_an_agreement_without_the_column_refuses_a_mapping_that_exports_it(agreement: ExchangeAgreement,
                                                                            tmp_path: Path) -> None:
    """Data minimisation: the birth place leaves only when the exchange agreement lists it."""
    from nonrecours.errors import PrivacyError
    from nonrecours.privacy import load_agreement

    text = (Path(__file__).resolve().parents[2] / "src" / "nonrecours" / "connectors" / "exchange.toml").read_text()
    narrowed = text.replace('persons = ["person_id", "birth_month", "sex", "depcom", "born_in_france"]\nbenefits_paid',
                            'persons = ["person_id", "birth_month", "sex", "depcom"]\nbenefits_paid', 1)
    assert narrowed != text
    (tmp_path / "exchange.toml").write_text(narrowed)
    _cnam(tmp_path / "cnam.csv")
    with pytest.raises(PrivacyError, match="born_in_france"):
        ingest(tmp_path / "cnam.csv", default_mapping("cnam"), load_agreement(tmp_path / "exchange.toml"),
               tmp_path / "ws", extract_date=dt.date(2026, 6, 28))


def test_born_in_france_comes_from_a_nir_or_a_bool_field_only() -> None:
    data = default_mapping("cnam").model_dump(mode="json")
    emit = data["records"][0]["emits"][0]
    assert emit["table"] == "persons"
    emit["columns"]["born_in_france"] = "depcom"
    with pytest.raises(ConfigError, match="born_in_france"):
        ExtractMapping.from_dict(data)
