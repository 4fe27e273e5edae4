"""Shapes real agency files take that the layouts allow, on the hand-written extracts of
``test_handwritten_extracts``: blank lines (an extra line end after the last record), a DOS end-of-file mark
(0x1A) as the last byte, commune codes whose leading zero a spreadsheet removed. Each is read with the file's
meaning and said in the report; rows read = accepted + quarantined still holds, on records."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from nonrecours.connectors import default_mapping, ingest
from nonrecours.connectors.ingest import id_of_file
from nonrecours.errors import ExtractError
from nonrecours.privacy import ExchangeAgreement

from .test_handwritten_extracts import (
    CNAM_HEAD,
    CNAV_HEAD,
    DAD,
    EXTRACT_DATE,
    FT_HEAD,
    JOB,
    MSA_HEAD,
    MUM,
    OLD,
    OLD2,
    WRITERS,
    _ingest,
    _table,
    caf_member,
    dgfip,
    fw,
)

TEXT_AGENCIES = [a for a in WRITERS if a != "dgfip"]
"""The agencies whose layout is a text file (CSV or fixed width)."""


def _found(report) -> dict[int, str]:  # type: ignore[no-untyped-def]
    q = _table(report, "quarantine")
    return {line: col or "line" for line, col in q.select("line", "column").unique("line").iter_rows()}


@pytest.mark.parametrize("agency", TEXT_AGENCIES)
def test_blank_lines_are_no_records_and_are_counted_apart(agency: str, agreement: ExchangeAgreement, tmp_path,
                                                          caplog) -> None:  # type: ignore[no-untyped-def]
    """A final ``\\r\\n\\r\\n`` (or ``\\n\\n``) and a blank line between records carry no record: they are neither
    accepted nor quarantined, the report counts them (``blank_lines``), and the faults, their lines and the CAF's
    trailer control are those of the file without them."""
    path, bad = WRITERS[agency](tmp_path)
    reference = _ingest(agency, path, agreement, tmp_path / "ref")
    raw = path.read_bytes()
    end = b"\r\n" if b"\r\n" in raw else b"\n"
    ended = raw if raw.endswith(end) else raw + end
    lines = ended.split(end)[:-1]
    lines.insert(2, b"   ")  # a blank line (spaces only) as line 3
    path.write_bytes(end.join(lines) + end + end)  # and a blank line at the end
    report = _ingest(agency, path, agreement, tmp_path / "ws")
    assert report.blank_lines == 2
    assert "2 blank lines skipped (no record; the first is line 3)" in caplog.text
    assert (report.rows_read, report.rows_accepted, report.rows_quarantined) == (
        reference.rows_read, reference.rows_accepted, reference.rows_quarantined)
    assert _found(report) == {line + (line >= 3): col for line, col in bad.items()}
    assert report.control_ok is (True if agency == "caf" else None)


def test_a_tiny_file_ending_in_blank_lines_has_nothing_quarantined(agreement: ExchangeAgreement,
                                                                   tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two valid records and the extra line ends a Windows tool leaves: before, the blank line was one row in three
    quarantined, over any ``max_quarantined``."""
    path = tmp_path / "msa.csv"
    row = f"M0003;{OLD};LAFON;Pierre;12/04/1954;M;ASS;FR;;0;N;N;RET;46042;2000-01;2026-05;"
    path.write_bytes((MSA_HEAD + "\r\n" + row + "MEMBRE;0;;\r\n" + row + "RETNET;960,10;;\r\n\r\n").encode("cp1252"))
    report = _ingest("msa", path, agreement, tmp_path / "ws")
    assert (report.rows_read, report.rows_quarantined, report.blank_lines) == (2, 0, 1)


@pytest.mark.parametrize("inside", ["", ";;", '"";'])
def test_a_blank_line_inside_a_quoted_value_stays_in_the_value(inside: str, agreement: ExchangeAgreement,
                                                               tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "msa.csv"
    row = (f"M0003;{OLD};\"LAFON\r\n{inside}\r\nDIT X\";Pierre;12/04/1954;M;ASS;FR;;0;N;N;RET;46042;2000-01;2026-05;"
           "MEMBRE;0;;")
    path.write_bytes((MSA_HEAD + "\r\n" + row + "\r\n").encode("cp1252"))
    report = _ingest("msa", path, agreement, tmp_path / "ws")
    assert (report.rows_read, report.rows_accepted, report.blank_lines) == (1, 1, 0)


@pytest.mark.parametrize("agency", TEXT_AGENCIES)
@pytest.mark.parametrize("line_end", [False, True])
def test_a_final_dos_end_of_file_mark_is_dropped_and_said(agency: str, line_end: bool, agreement: ExchangeAgreement,
                                                          tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``copy /a`` and old DOS tools end a text file with Ctrl-Z (0x1A): as its last byte, after the last record
    (the CAF's trailer) or after its line end, it is the end of the file, not a record nor part of one."""
    path, bad = WRITERS[agency](tmp_path)
    raw = path.read_bytes()
    end = b"\r\n" if b"\r\n" in raw else b"\n"
    if line_end and not raw.endswith(end):
        raw += end
    elif not line_end:
        raw = raw.removesuffix(end)
    path.write_bytes(raw + b"\x1a")
    report = _ingest(agency, path, agreement, tmp_path / "ws")
    assert _found(report) == bad
    assert report.rows_read == {"caf": 21, "msa": 12, "cnav": 9, "cnam": 9, "france_travail": 8, "drm": 12}[agency]
    assert report.control_ok is (True if agency == "caf" else None)
    assert any("end-of-file mark" in a for a in report.adaptations)


def test_a_dos_end_of_file_mark_elsewhere_stays_a_fault(agreement: ExchangeAgreement,
                                                        tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Only the file's last byte is an end-of-file mark: a 0x1A before it (here followed by a line end) is a line
    of the file, and the trailer's count does not include it."""
    path, bad = WRITERS["caf"](tmp_path)
    path.write_bytes(path.read_bytes() + b"\r\n\x1a\r\n")
    report = _ingest("caf", path, agreement, tmp_path / "ws")
    assert _found(report) == {**bad, 22: "record type (positions 1-2)"}
    assert report.control_ok is False
    assert not any("end-of-file mark" in a for a in report.adaptations)


def test_commune_codes_that_lost_their_leading_zero_are_restored_and_counted(agreement: ExchangeAgreement,
                                                                             tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A spreadsheet reads ``01004`` (Ambérieu-en-Bugey, Ain) as the number 1004 and writes it back so: a commune
    code of four digits can only be one of départements 01 to 09 without its zero. Corsica's ``2A004`` is kept
    (``2a004`` read in upper case), a three-digit code stays a fault."""
    path = tmp_path / "msa.csv"
    row = f"M0003;{OLD};LAFON;Pierre;12/04/1954;M;ASS;FR;;0;N;N;RET;{{}};2000-01;2026-05;MEMBRE;0;;\r\n"
    wife = f"M0003;{OLD2};LAFON;Jeanne;01/03/1956;F;CJT;FR;;0;N;N;RET;{{}};2000-01;2026-05;MEMBRE;0;;\r\n"
    path.write_bytes((MSA_HEAD + "\r\n" + row.format("1004") + wife.format(" 2A004 ") + row.format("104")
                      + row.format("09 004") + wife.format("2a004")).encode("cp1252"))
    report = _ingest("msa", path, agreement, tmp_path / "ws")
    assert _found(report) == {4: "CODE_COMMUNE", 5: "CODE_COMMUNE"}
    assert sorted(_table(report, "persons").get_column("depcom").unique().to_list()) == ["01004", "2A004"]
    assert report.repaired == {"CODE_COMMUNE: leading zero restored (4-digit commune code)": 1,
                               "CODE_COMMUNE: Corsica's letter read in upper case (2a/2b)": 1}


def test_caf_and_parquet_commune_codes_without_their_zero(agreement: ExchangeAgreement,
                                                          tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The same in a fixed-width record (``1004`` left- or right-aligned in its 5 positions) and in a typed
    Parquet file whose commune column became an integer (pandas reading ``01004`` as a number)."""
    lines = [fw(120, (1, "00"), (3, "CAF01"), (8, "20260628")),
             fw(120, (1, "10"), (3, "0012345"), (10, " 1004"), (15, "201901")),
             caf_member("0012345", "01", OLD, "LAFON", "Pierre", "12041954", "1", "1", "  ", "1004 "),
             fw(120, (1, "99"), (3, "000000004"))]
    path = tmp_path / "caf.dat"
    path.write_bytes("\r\n".join(lines).encode("latin-1"))
    report = _ingest("caf", path, agreement, tmp_path / "ws")
    assert (report.rows_quarantined, report.control_ok) == (0, True)
    assert _table(report, "persons").get_column("depcom").to_list() == ["01004"]
    assert report.repaired == {"CODE_COMMUNE (positions 10-14): leading zero restored (4-digit commune code)": 1,
                               "CODE_COMMUNE (positions 100-104): leading zero restored (4-digit commune code)": 1}
    (tmp_path / "p").mkdir()
    pq, bad = dgfip(tmp_path / "p")
    frame = pl.read_parquet(pq)
    frame.with_columns(pl.Series("code_commune", [1004, 46042, 46042, 46102, 46042, 46042])).write_parquet(pq)
    report = _ingest("dgfip", pq, agreement, tmp_path / "ws_p")
    assert _found(report) == bad
    assert "01004" in _table(report, "persons").get_column("depcom").to_list()
    assert report.repaired == {"code_commune: leading zero restored (4-digit commune code)": 1}



@pytest.mark.parametrize("agency", ["msa", "cnav", "cnam", "france_travail", "drm"])
def test_a_spreadsheets_empty_rows_are_blank_lines(agency: str, agreement: ExchangeAgreement, tmp_path,
                                                   caplog) -> None:  # type: ignore[no-untyped-def]
    """A spreadsheet saving a sheet whose empty rows below the data were once formatted writes them as lines of
    separators only (``;;;;``, as many as the header's, sometimes fewer, with empty quotes): no record, like a
    blank line."""
    path, bad = WRITERS[agency](tmp_path)
    reference = _ingest(agency, path, agreement, tmp_path / "ref")
    raw = path.read_bytes()
    end = b"\r\n" if b"\r\n" in raw else b"\n"
    sep = b"," if agency == "france_travail" else b";"
    head = raw.split(end, 1)[0]
    full = sep * head.count(sep)
    phantom = [full, sep * 3, b'""' + full.replace(sep, b" " + sep)]
    path.write_bytes(raw.rstrip(end) + end + end.join(phantom) + end)
    report = _ingest(agency, path, agreement, tmp_path / "ws")
    assert (report.rows_read, report.rows_quarantined, report.blank_lines) == (
        reference.rows_read, reference.rows_quarantined, 3)
    last = len(raw.rstrip(end).split(end))
    assert f"3 blank lines skipped (no record; the first is line {last + 1})" in caplog.text
    assert _found(report) == bad


def test_a_typed_parquet_with_integers_stored_as_floats_is_read(agreement: ExchangeAgreement,
                                                                tmp_path) -> None:  # type: ignore[no-untyped-def]
    """pandas (or R, Spark) stores an integer column as float64 once a value is missing: the year ``2024.0`` and the
    euros ``18000.0`` are read as the numbers they are, NaN as a missing value; a year with a fraction stays a
    fault."""
    path, bad = dgfip(tmp_path)
    reference = _ingest("dgfip", path, agreement, tmp_path / "ref")
    frame = pl.read_parquet(path)
    floats = frame.with_columns(pl.col("annee_revenus", "salaires_traitements", "revenus_non_salaries")
                                .cast(pl.Float64))
    floats.write_parquet(path)
    report = _ingest("dgfip", path, agreement, tmp_path / "ws")
    assert _found(report) == bad
    for table in ("persons", "unit_memberships", "annual_income", "tax_households"):
        assert _table(report, table).drop("extract_id").equals(_table(reference, table).drop("extract_id")), table
    floats.with_columns(pl.Series("annee_revenus", [2024.5, float("nan"), 2024.0, 2024.0, 2024.0, 2024.0]),
                        ).write_parquet(path)
    report = _ingest("dgfip", path, agreement, tmp_path / "ws2")
    q = _table(report, "quarantine").filter(pl.col("column") == "annee_revenus")
    assert set(q.get_column("line")) == {1, 2}
    assert {(1, "not an integer"), (2, "missing value")} <= set(q.select("line", "reason").iter_rows())


def test_typed_parquet_amounts_are_read_to_the_cent_through_a_doubles_noise(agreement: ExchangeAgreement,
                                                                           tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A typed file's amounts stored as doubles (1311.13 is 1311.1300000000001 in binary, a sum 0.30000000000000004)
    or as decimals of a wide scale (Spark's default Decimal(38, 18), cast from a double: 1311.130000000000196608)
    are amounts to the cent: every row was quarantined « amount with more than two decimals ». A value truly between
    two cents (0.125) stays that fault; a decimal of zeros beyond the cents reads as its value."""
    from decimal import Decimal

    path, _ = dgfip(tmp_path)
    frame = pl.read_parquet(path)
    euros = [1311.13, 0.1 + 0.2, 3933.39 + 1e-12, -3200.0, 0.125, 24300.0]
    want = [Decimal("1311.13"), Decimal("0.30"), Decimal("3933.39"), Decimal("-3200.00"), None, Decimal("24300.00")]
    for name, column in (("double", pl.Series("salaires_traitements", euros, dtype=pl.Float64)),
                         ("decimal", pl.Series("salaires_traitements", euros, dtype=pl.Float64)
                          .cast(pl.Decimal(38, 18)))):
        frame.with_columns(column).write_parquet(path)
        report = _ingest("dgfip", path, agreement, tmp_path / name)
        q = _table(report, "quarantine")
        assert set(q.filter(pl.col("column") == "salaires_traitements").select("line", "reason").iter_rows()) == {
            (5, "amount with more than two decimals"), (4, "negative amount")}, name
        got = (_table(report, "annual_income").filter(pl.col("kind") == "salaries").get_column("amount").to_list())
        # lines 5 and 6 hold the fixture's faulty NIRs, line 4 a negative salary: lines 1 to 3 are accepted
        assert sorted(got) == sorted(want[:3]), name
    scaled = frame.with_columns(pl.Series("revenus_non_salaries", [Decimal("-3200.000"), *[Decimal("0.000")] * 5],
                                          dtype=pl.Decimal(12, 3)))
    scaled.write_parquet(path)
    report = _ingest("dgfip", path, agreement, tmp_path / "scale")
    assert not _table(report, "quarantine").filter(pl.col("column") == "revenus_non_salaries").height


def test_a_parquet_column_of_lists_or_durations_is_an_error_naming_it(agreement: ExchangeAgreement,
                                                                    tmp_path) -> None:  # type: ignore[no-untyped-def]
    """No field reads a list or a duration: an ``ExtractError`` naming the file and the column (it was an unexpected
    InvalidOperationError, exit 1); a column of the file's own named like the reader's line number is not read."""
    from nonrecours.errors import ExtractError

    path, bad = dgfip(tmp_path)
    frame = pl.read_parquet(path)
    for column in (pl.Series("salaires_traitements", [[1]] * 6), pl.Series("annee_revenus", [dt.timedelta(1)] * 6)):
        frame.with_columns(column).write_parquet(path)
        with pytest.raises(ExtractError, match=f"{path.name}, column {column.name}: "):
            _ingest("dgfip", path, agreement, tmp_path / column.name)
    frame.with_columns(pl.lit("x").alias("__line"), pl.lit("y").alias("__fault")).write_parquet(path)
    assert _found(_ingest("dgfip", path, agreement, tmp_path / "own")) == bad


def test_parquet_column_names_in_another_case_are_read(agreement: ExchangeAgreement,
                                                       tmp_path) -> None:  # type: ignore[no-untyped-def]
    """As in a CSV header: a Parquet schema whose names keep the layout's but in capitals (or padded) is read, and
    the report says so; a renamed column is still missing."""
    path, bad = dgfip(tmp_path)
    reference = _ingest("dgfip", path, agreement, tmp_path / "ref")
    frame = pl.read_parquet(path)
    frame.rename({c: c.upper() for c in frame.columns}).write_parquet(path)
    report = _ingest("dgfip", path, agreement, tmp_path / "ws")
    assert _found(report) == {line: col.upper() for line, col in bad.items()}
    assert any("ignoring case and spaces" in a for a in report.adaptations)
    for table in ("persons", "unit_memberships", "annual_income", "tax_households"):
        assert _table(report, table).drop("extract_id").equals(_table(reference, table).drop("extract_id")), table
    from nonrecours.errors import ExtractError
    frame.rename({"numero_foyer": "foyer"}).write_parquet(path)
    with pytest.raises(ExtractError, match="required column is missing") as err:
        _ingest("dgfip", path, agreement, tmp_path / "ws2")
    assert err.value.column == "numero_foyer"


@pytest.mark.parametrize("agency", TEXT_AGENCIES)
def test_lines_ended_by_cr_cr_lf_are_read(agency: str, agreement: ExchangeAgreement,
                                          tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A Windows file sent in text mode by a tool that adds a CR before each LF again ends its lines with CR CR LF:
    one line end, not a carriage return inside every line (before, every line was quarantined, the header line
    too)."""
    path, bad = WRITERS[agency](tmp_path)
    reference = _ingest(agency, path, agreement, tmp_path / "ref")
    path.write_bytes(path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\r\n"))
    report = _ingest(agency, path, agreement, tmp_path / "ws")
    assert _found(report) == bad
    assert (report.rows_read, report.rows_accepted) == (reference.rows_read, reference.rows_accepted)


@pytest.mark.parametrize("agency", ["msa", "cnav", "cnam", "france_travail", "drm"])
def test_blank_lines_before_a_csv_header_are_blank_lines(agency: str, agreement: ExchangeAgreement,
                                                         tmp_path) -> None:  # type: ignore[no-untyped-def]
    """An export that starts with empty lines (after the byte-order mark, if any): the header is the first line
    but blank ones, which are counted as any blank line; faults keep their own lines in the file."""
    path, bad = WRITERS[agency](tmp_path)
    reference = _ingest(agency, path, agreement, tmp_path / "ref")
    raw = path.read_bytes()
    bom = b"\xef\xbb\xbf" if raw.startswith(b"\xef\xbb\xbf") else b""
    end = b"\r\n" if b"\r\n" in raw else b"\n"
    path.write_bytes(bom + end + b"  " + end + raw[len(bom):])
    report = _ingest(agency, path, agreement, tmp_path / "ws")
    assert (report.rows_read, report.rows_quarantined, report.blank_lines) == (
        reference.rows_read, reference.rows_quarantined, 2)
    assert _found(report) == {line + 2: col for line, col in bad.items()}
    assert not report.adaptations


def test_a_date_of_zeros_is_no_date(agreement: ExchangeAgreement, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A COBOL numeric date field writes « no date » as ``00000000``: in the CAF's optional ``DATE_PAIEMENT`` it is
    unknown like a blank (before: ``not a date``, the payment quarantined), in a required birth date it is a
    missing value (before: a date before 1900)."""
    lines = [fw(120, (1, "00"), (3, "CAF01"), (8, "20260628")),
             fw(120, (1, "10"), (3, "0012345"), (10, "46042"), (15, "201901")),
             caf_member("0012345", "01", OLD, "LAFON", "Pierre", "12041954", "1", "1", "  ", "46042"),
             caf_member("0012345", "02", OLD2, "LAFON", "Jeanne", "00000000", "2", "1", "  ", "46042"),
             fw(120, (1, "30"), (3, "0012345"), (10, "AF"), (13, "202605"), (19, "0000014000"), (29, "00000000")),
             fw(120, (1, "30"), (3, "0012345"), (10, "AF"), (13, "202604"), (19, "0000014000"), (29, "20260505")),
             fw(120, (1, "99"), (3, "000000007"))]
    path = tmp_path / "caf.dat"
    path.write_bytes("\r\n".join(lines).encode("latin-1"))
    report = _ingest("caf", path, agreement, tmp_path / "ws")
    q = _table(report, "quarantine")
    assert q.select("line", "reason").rows() == [(4, "missing value")]
    paid = _table(report, "benefits_paid").sort("month")
    assert paid.get_column("month").to_list() == [dt.date(2026, 4, 1), dt.date(2026, 5, 1)]
    assert (report.rows_read, report.rows_quarantined, report.control_ok) == (7, 1, True)


# --- shapes a probe of hand-written extracts found misread (4 December 2026) ---------------------------------------

DRM_HEAD = "NIR;MOIS_RATTACHEMENT;NATURE_REVENU;MONTANT;TYPE_DECLARANT"


@pytest.mark.parametrize("agency", ["drm", "cnam"])
def test_a_header_run_into_the_first_record_is_refused_without_quoting_it(agency: str, agreement: ExchangeAgreement,
                                                                          tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A header file without its last line end, then the data appended (``cat header.csv data.csv``): the first
    record sits on the header's line. Its values were taken as column names: the record was neither read nor
    quarantined (the CPAM's last column is optional), or the « renamed? » hint quoted a NIR."""
    if agency == "drm":
        head, rows, column = DRM_HEAD, [f"{DAD};202605;SAL;1234.56;DSN", f"{MUM};202605;CHO;845.10;PASRAU"], \
            "TYPE_DECLARANT"
    else:
        head, column = CNAM_HEAD, "DATE_OPPOSITION"
        rows = [f"{DAD};DUPONT;Jean;12/05/1980;46042;01;0;05/2026;0,00;0,00;0,00;;;;;;",
                f"{MUM};DUPONT;Hélène;03/11/1982;2A004;01;0;05/2026;0,00;0,00;0,00;;;;;;"]
    path = tmp_path / f"{agency}.csv"
    path.write_text(head + "\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(ExtractError) as err:
        ingest(path, default_mapping(agency), agreement, tmp_path / "ws", extract_date=EXTRACT_DATE)
    message = str(err.value)
    assert f"line 1, column {column}: the header runs into the first record" in message
    assert DAD[:7] not in message and "DUPONT" not in message


def test_the_renamed_hint_never_quotes_a_value(agreement: ExchangeAgreement, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A required column missing, the closest name in the header holding digits (a value run into it, here with no
    record after it): the hint says a close name is there, never what it is; a plain renamed column is named."""
    path = tmp_path / "drm.csv"
    path.write_text(DRM_HEAD.replace("TYPE_DECLARANT", f"TYPE_DECLARAN{DAD}") + "\n", encoding="utf-8")
    with pytest.raises(ExtractError, match="found a column of a close name") as err:
        ingest(path, default_mapping("drm"), agreement, tmp_path / "ws", extract_date=EXTRACT_DATE)
    assert DAD[:7] not in str(err.value)
    path.write_text(DRM_HEAD.replace("TYPE_DECLARANT", "TYPE_DECLARANT_X") + "\n", encoding="utf-8")
    with pytest.raises(ExtractError, match="found column TYPE_DECLARANT_X: renamed"):
        ingest(path, default_mapping("drm"), agreement, tmp_path / "ws", extract_date=EXTRACT_DATE)


def test_a_blank_postcode_is_no_fault(agreement: ExchangeAgreement, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A pensioner living abroad, a jobseeker without a fixed address: no postcode. It is never used nor exported
    (docs/connectors/README.md), so the record is accepted; it was quarantined (``missing value``)."""
    cnav = tmp_path / "cnav.csv"
    cnav.write_text(CNAV_HEAD + "\n" + f"{OLD};LAFON;Pierre;19540412;1;FR;;N;A000001;201901;TI;;46042;202605;"
                    "1050.20;960.10;0;;\n", encoding="utf-8")
    ft = tmp_path / "ft.csv"
    ft.write_text(FT_HEAD + "\n" + f"FT00001,{JOB},DIAYE,Awa,1999-08-21,,FR,46042,A,2025-09-01,2026-05,1234.56,31,N\n",
                  encoding="utf-8")
    for agency, path in (("cnav", cnav), ("france_travail", ft)):
        report = _ingest(agency, path, agreement, tmp_path / agency)
        assert (report.rows_read, report.rows_accepted) == (1, 1), agency


def test_a_month_without_its_leading_zero(agreement: ExchangeAgreement, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Undelimited (``%Y%m``), ``20261`` is no month: one digit less shifts the next part (it was read as October
    2026, the day's ``01`` appended); between separators (``%Y-%m``) ``2026-5`` is May 2026 (it was October too)."""
    drm = tmp_path / "drm.csv"
    drm.write_text("\n".join([DRM_HEAD, f"{DAD};202605;SAL;1234.56;DSN", f"{DAD};20261;SAL;1234.56;DSN",
                              f"{MUM};20251;CHO;845.10;PASRAU"]) + "\n", encoding="utf-8")
    report = _ingest("drm", drm, agreement, tmp_path / "drm")
    assert report.rows_accepted == 1
    assert _found(report) == {3: "MOIS_RATTACHEMENT", 4: "MOIS_RATTACHEMENT"}
    assert _table(report, "resources").get_column("month").to_list() == [dt.date(2026, 5, 1)]
    msa = tmp_path / "msa.csv"
    row = f"M0001;{OLD};LAFON;Pierre;12/04/1954;M;ASS;FR;;0;N;N;RET;46042;2010-1;2026-5;AF;141,99;;"
    msa.write_bytes((MSA_HEAD + "\r\n" + row + "\r\n").encode("cp1252"))
    report = _ingest("msa", msa, agreement, tmp_path / "msa")
    assert report.rows_accepted == 1
    assert _table(report, "benefits_paid").get_column("month").to_list() == [dt.date(2026, 5, 1)]


def test_a_cnav_birth_date_one_digit_short_is_a_fault(agreement: ExchangeAgreement, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``1954112`` (``%Y%m%d`` one digit short) could be the 2nd of November or the 12th of January: a fault, never a
    guess (it was read as November 1954)."""
    path = tmp_path / "cnav.csv"
    path.write_text(CNAV_HEAD + "\n" + f"{OLD};LAFON;Pierre;1954112;1;FR;;N;A000001;201901;TI;46000;46042;202605;"
                    "1050.20;960.10;0;;\n", encoding="utf-8")
    report = _ingest("cnav", path, agreement, tmp_path / "ws")
    assert report.rows_quarantined == 1 and _found(report) == {2: "DATE_NAISSANCE"}


@pytest.mark.parametrize("agency", ["msa", "cnav"])
def test_a_utf16_file_is_named_as_such(agency: str, agreement: ExchangeAgreement, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A spreadsheet's « Unicode text » export (UTF-16 with its byte-order mark): named on line 1, where the MSA's
    file seemed to end its lines in lone carriage returns and the CNAV's header was « not valid utf-8 »."""
    path, _ = WRITERS[agency](tmp_path)
    text = path.read_bytes().decode("cp1252" if agency == "msa" else "utf-8-sig")
    path.write_bytes(text.encode("utf-16"))
    with pytest.raises(ExtractError, match=r"line 1: UTF-16 text"):
        ingest(path, default_mapping(agency), agreement, tmp_path / "ws", extract_date=EXTRACT_DATE)


def test_a_file_name_with_spaces_gives_an_extract_id(agreement: ExchangeAgreement, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Agencies name files as they like (« CNAV extraction juin.csv »): the id is the stem in letters, digits,
    ``._-`` (a run of anything else is ``_``); it was refused, and a run naming the file in its configuration
    with it."""
    assert id_of_file(tmp_path / "Extraction CAF été 2026 (v2).csv") == "Extraction_CAF_ete_2026_v2"
    path, _ = WRITERS["drm"](tmp_path)
    named = path.rename(tmp_path / "DRM extraction juin.csv")
    report = _ingest("drm", named, agreement, tmp_path / "ws")
    assert report.extract_id == "DRM_extraction_juin" and report.rows_accepted > 0


def test_a_separator_inside_a_value_on_a_line_ending_blank_is_a_field_too_many(agreement: ExchangeAgreement,
                                                                               tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``1234,56`` unquoted in France Travail's comma file, the line's last fields blank: DuckDB's reader took the
    empty last field for a trailing separator and read the line shifted (1,234 € and 56 days, accepted). A field
    too many, as on a line whose last field is filled. A file whose records all end with a separator (its header
    without) is read as before: that is its convention."""
    awa = f"FT00001,{JOB},DIAYE,Awa,1999-08-21,46000,FR,46042,A,2025-09-01"
    ft = tmp_path / "ft.csv"
    ft.write_text("\n".join([FT_HEAD, f"{awa},2026-05,1234.56,31,", f"{awa},2026-04,1234,56,,",
                             f"{awa},2026-03,0,0,N"]) + "\n", encoding="utf-8")
    report = _ingest("france_travail", ft, agreement, tmp_path / "ft")
    assert (report.rows_read, report.rows_accepted) == (3, 2)
    assert _table(report, "quarantine").select("line", "reason").rows() == [
        (3, "15 fields where 14 expected (separator inside a value?)")]
    drm = tmp_path / "drm.csv"
    drm.write_text("\n".join([DRM_HEAD, f"{DAD};202605;SAL;1234.56;DSN;", f"{MUM};202605;CHO;845.10;PASRAU;"]) + "\n",
                   encoding="utf-8")
    report = _ingest("drm", drm, agreement, tmp_path / "drm")
    assert (report.rows_read, report.rows_accepted) == (2, 2)


def test_msa_payment_and_objection_lines_may_leave_the_members_fields_blank(agreement: ExchangeAgreement,
                                                                            tmp_path) -> None:  # type: ignore[no-untyped-def]
    """docs/connectors/msa.md: the member rows carry the nationality, disability rate, studies and pregnancy; only
    the member line's ``persons`` row reads them. A payment, pension, claim or objection line leaving them blank
    lost its payment, its pension or the objection to a « missing value » (found probing extracts written from the
    docs alone, 5 December 2026); a member line leaving one blank is still a fault."""
    msa = tmp_path / "msa.csv"
    rows = [f"M0001;{OLD};LAFON;Pierre;12/04/1954;M;ASS;FR;;0;N;N;RET;46042;2010-01;2026-05;MEMBRE;0;;",
            f"M0001;{OLD};LAFON;Pierre;12/04/1954;M;ASS;;;;;;RET;46042;2010-01;2026-05;AF;141,99;;",
            f"M0001;{OLD};LAFON;Pierre;12/04/1954;M;ASS;;;;;;RET;46042;2010-01;2026-05;RETNET;845,20;;",
            f"M0001;{OLD};LAFON;Pierre;12/04/1954;M;ASS;;;;;;RET;46042;2010-01;2026-05;OPPOSITION;0;;01/02/2026",
            f"M0001;{OLD};LAFON;Pierre;12/04/1954;M;ASS;;;;;;RET;46042;2010-01;2026-05;DEMANDE;0;ASPA;15/04/2026",
            f"M0002;{DAD};LAFON;Paul;12/04/1980;M;ASS;;;0;N;N;SAL;46042;2010-01;2026-05;MEMBRE;0;;"]
    msa.write_bytes((MSA_HEAD + "\r\n" + "\r\n".join(rows) + "\r\n").encode("cp1252"))
    report = _ingest("msa", msa, agreement, tmp_path / "msa")
    assert (report.rows_read, report.rows_accepted, report.rows_quarantined) == (6, 5, 1)
    assert _found(report) == {7: "NATIONALITE"}  # the member line's own nationality is still needed
    assert _table(report, "benefits_paid").get_column("amount").cast(pl.Float64).to_list() == [141.99]
    assert _table(report, "resources").get_column("amount").cast(pl.Float64).to_list() == [845.20]
    assert _table(report, "opt_outs").height == 1 and _table(report, "claims").height == 1
    assert _table(report, "persons").height == 1


def test_an_objection_on_a_line_quarantined_for_another_field_is_kept(agreement: ExchangeAgreement,
                                                                     tmp_path) -> None:  # type: ignore[no-untyped-def]
    """An objection to contact (RGPD art. 21) is honoured whatever else on its line is faulty: the CNAM line of May
    carries the objection and an invalidity pension of three decimals. The line stays quarantined (rows in =
    accepted + quarantined) and counted; its objection is kept (it was lost while the person stayed in the file
    through April's line: found probing extracts written from the docs alone, 5 December 2026). An objection whose
    own date is faulty (31 February) is kept too, from the extract date: the person objected all the same; so is
    one dated more than a year after the extract (2027 for 2026), its line quarantined and no repair counted, and
    one dated after the extract within the year is read from the extract date, its line accepted and the repair
    counted."""
    path = tmp_path / "cnam.csv"
    path.write_text("\n".join([
        CNAM_HEAD,
        f"{OLD};LAFON;Pierre;12/04/1954;46042;01;1;04/2026;0,00;0,00;0,00;;;;;;",
        f"{OLD};LAFON;Pierre;12/04/1954;46042;01;1;05/2026;0,00;12,345;0,00;;;;;;01/02/2026",
        f"{DAD};LAFON;Paul;12/05/1980;46042;01;1;05/2026;0,00;12,345;0,00;;;;;;31/02/2026",
        f"{MUM};LAFON;Marie;12/11/1982;46042;01;1;05/2026;0,00;0,00;0,00;;;;;;15/06/2027",
        f"{OLD2};LAFON;Jeanne;12/03/1956;46042;01;1;05/2026;0,00;0,00;0,00;;;;;;15/09/2026",
    ]) + "\n", encoding="utf-8")
    report = _ingest("cnam", path, agreement, tmp_path / "cnam")
    assert (report.rows_read, report.rows_accepted, report.rows_quarantined) == (5, 2, 3)
    assert report.opt_outs_kept_from_quarantined_lines == 3
    opt_outs = _table(report, "opt_outs")
    assert opt_outs.get_column("since").to_list() == [dt.date(2026, 2, 1), *[EXTRACT_DATE] * 3]
    persons = _table(report, "persons").get_column("person_id").to_list()  # of the accepted lines: OLD's, OLD2's
    assert opt_outs.get_column("person_id").n_unique() == 4 and set(persons) <= set(opt_outs.get_column("person_id"))
    found = _table(report, "quarantine").select("line", "column", "reason").sort("line", "column").rows()
    assert [(line, column) for line, column, _ in found] == [
        (3, "MONTANT_PENSION_INVALIDITE"), (4, "DATE_OPPOSITION"), (4, "MONTANT_PENSION_INVALIDITE"),
        (5, "DATE_OPPOSITION")]
    # repaired: OLD2's date within the year (line 6), not MUM's of 2027 (line 5), the line's fault and quarantined
    # (counted 2 until an outside tester's CAF objections, runD D05 and D06, 6 December 2026)
    assert report.repaired == {"DATE_OPPOSITION: objection dated after the extract, counted from the extract date": 1}


def test_a_line_of_too_many_fields_says_how_many(agreement: ExchangeAgreement, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The CSV reader's own count stops at the first field too many: lines of 6, 7 and 8 fields were all « 6 fields
    where 5 expected » (found probing extracts written from the docs alone, 5 December 2026). A separator inside a
    quoted value is no field; trailing empty fields are no fault."""
    drm = tmp_path / "drm.csv"
    drm.write_text("\n".join([DRM_HEAD, f"{DAD};202605;SAL;1234.56;DSN", f"{DAD};202604;SAL;1234.56;DSN;X",
                              f"{DAD};202603;SAL;1234.56;DSN;X;Y", f'{DAD};202602;SAL;1234.56;DSN;X;"Y;Z";W',
                              f"{DAD};202601;SAL;1234.56;DSN;;;"]) + "\n", encoding="utf-8")
    report = _ingest("drm", drm, agreement, tmp_path / "drm")
    reasons = dict(_table(report, "quarantine").select("line", "reason").iter_rows())
    assert reasons == {3: "6 fields where 5 expected (separator inside a value?)",
                       4: "7 fields where 5 expected (separator inside a value?)",
                       5: "8 fields where 5 expected (separator inside a value?)"}
    assert report.rows_accepted == 2


def test_a_plus_sign_and_thousands_grouped_by_commas_before_a_decimal_point(agreement: ExchangeAgreement,
                                                                            tmp_path) -> None:  # type: ignore[no-untyped-def]
    """« +141,99 » is 141.99 (a sign some exports write); in a layout of decimal points « 1,050.20 » is 1050.20 (an
    English-language export's thousands), while « 1,050 » alone, whose comma may be a decimal one, stays a fault
    (both were « not an amount »: found probing extracts written from the docs alone, 5 December 2026)."""
    cnav = tmp_path / "cnav.csv"
    cnav.write_text(CNAV_HEAD + "\n" + "\n".join([
        f"{OLD};LAFON;Pierre;19540412;1;FR;;N;A000001;201901;TI;;46042;202605;1,050.20;+960.10;0;;",
        f"{OLD};LAFON;Pierre;19540412;1;FR;;N;A000001;201901;TI;;46042;202604;1,050;960.10;0;;"]) + "\n",
        encoding="utf-8")
    report = _ingest("cnav", cnav, agreement, tmp_path / "cnav")
    assert (report.rows_accepted, report.rows_quarantined) == (1, 1)
    amounts = sorted(_table(report, "resources").get_column("amount").cast(pl.Float64).to_list())
    assert amounts == [960.10, 1050.20]
    msa = tmp_path / "msa.csv"
    row = f"M0001;{OLD};LAFON;Pierre;12/04/1954;M;ASS;FR;;0;N;N;RET;46042;2010-01;2026-05;AF;+141,99;;"
    msa.write_bytes((MSA_HEAD + "\r\n" + row + "\r\n").encode("cp1252"))
    report = _ingest("msa", msa, agreement, tmp_path / "msa")
    assert _table(report, "benefits_paid").get_column("amount").cast(pl.Float64).to_list() == [141.99]


def test_an_iso_date_without_its_leading_zeros_where_the_layout_is_french(agreement: ExchangeAgreement,
                                                                          tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``1948-2-9`` where the CNAM's layout says ``%d/%m/%Y``: the other order is read (``1948-02-09`` was), a day or
    month between separators without its leading zero too, as in the layout's own order (``9/2/1948``)."""
    path = tmp_path / "cnam.csv"
    path.write_text("\n".join([CNAM_HEAD, f"{OLD};LAFON;Pierre;1954-4-2;46042;01;1;05/2026;0,00;0,00;0,00;;;;;;",
                               f"{DAD};LAFON;Paul;2/5/1980;46042;01;1;05/2026;0,00;0,00;0,00;;;;;;"]) + "\n",
                    encoding="utf-8")
    report = _ingest("cnam", path, agreement, tmp_path / "cnam")
    assert report.rows_quarantined == 0
    assert sorted(_table(report, "persons").get_column("birth_month").to_list()) == [dt.date(1954, 4, 1),
                                                                                    dt.date(1980, 5, 1)]


def test_an_extract_past_the_retention_period_is_said(agreement: ExchangeAgreement, tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    """The agreement's retention period starts at the extract date: an extract whose period has ended is ingested
    (a team may rerun an old month it still holds) with a warning naming the dates, never silently (found probing
    the monthly operations from the docs alone, 5 December 2026)."""
    import logging

    path = tmp_path / "cnam.csv"
    path.write_text(CNAM_HEAD + "\n" + f"{OLD};LAFON;Pierre;12/04/1954;46042;01;1;04/2026;0,00;0,00;0,00;;;;;;\n",
                    encoding="utf-8")
    caplog.set_level(logging.WARNING, logger="nonrecours")
    old = dt.date.today() - dt.timedelta(days=agreement.retention_days + 2)
    report = ingest(path, default_mapping("cnam"), agreement, tmp_path / "old", extract_date=old)
    assert report.rows_read == report.rows_accepted + report.rows_quarantined
    said = [r.getMessage() for r in caplog.records if "retention period" in r.getMessage()]
    assert said == [f"cnam.csv: extracted on {old.isoformat()}, past the agreement's retention period "
                    f"({agreement.retention_days} days, ended {agreement.retention_until(old).isoformat()}): exchanged "
                    "data is not to be kept beyond it; `nonrecours audit expired` lists what to purge"]
    caplog.clear()
    ingest(path, default_mapping("cnam"), agreement, tmp_path / "fresh", extract_date=dt.date.today())
    assert not [r for r in caplog.records if "retention period" in r.getMessage()]


def test_france_travail_persons_without_nationality_or_commune(agreement: ExchangeAgreement,
                                                               tmp_path) -> None:  # type: ignore[no-untyped-def]
    """docs/connectors/france_travail.md: a jobseeker's commune without the nationality gives a ``persons`` row whose
    nationality is unknown (null); a nationality without the commune (a jobseeker without a fixed address) cannot
    make one (``persons.depcom`` is required), so the report counts the rows. Both gave no row and no count before
    (probe hh21 M2: ARE kept, birth month and nationality dropped unsaid)."""
    ft = tmp_path / "ft.csv"
    rows = [f"FT00001,{JOB},DIAYE,Awa,1999-08-21,46000,FR,,A,2025-09-01,2026-05,600.00,30,N",
            f"FT00002,{MUM},DUPONT,Hélène,1982-11-03,46000,,46042,A,2025-09-01,2026-05,600.00,30,N",
            f"FT00003,{DAD},DUPONT,Jean,1980-05-12,46000,,,A,2025-09-01,2026-05,600.00,30,N",
            f"FT00003,{DAD},DUPONT,Jean,1980-05-12,46000,XX,,A,2025-09-01,2026-04,600.00,30,N"]
    ft.write_text(FT_HEAD + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    report = _ingest("france_travail", ft, agreement, tmp_path / "ws")
    assert (report.rows_read, report.rows_accepted, report.rows_quarantined) == (4, 3, 1)
    assert report.rows_read == report.rows_accepted + report.rows_quarantined
    persons = _table(report, "persons")
    assert persons.select("depcom", "nationality_group").rows() == [("46042", None)]
    assert report.rows_not_emitted == {"persons: code_commune not given": 2}  # the quarantined line is not counted
    assert _table(report, "resources").height == 3
    # an extract without the optional columns: every row counted, none lost unsaid
    bare = tmp_path / "bare.csv"
    bare.write_text("identifiant_local,nir,nom,prenom,date_naissance,categorie,date_inscription,mois,montant_are,"
                    f"nb_jours_indemnises\nFT00001,{JOB},DIAYE,Awa,1999-08-21,A,2025-09-01,2026-05,600.00,30\n",
                    encoding="utf-8")
    report = _ingest("france_travail", bare, agreement, tmp_path / "bare")
    assert (report.rows_read, report.rows_accepted, report.rows_quarantined) == (1, 1, 0)
    assert report.rows_not_emitted == {"persons: code_commune not given": 1}


@pytest.mark.parametrize("shape", ["joined", "second_header", "two_trailers"])
def test_two_caf_extracts_joined_in_one_file_are_refused_naming_the_line(shape: str, agreement: ExchangeAgreement,
                                                                         tmp_path) -> None:  # type: ignore[no-untyped-def]
    """docs/connectors/caf.md: a second header record (00) or a trailer (99) before the last record is two extracts
    joined (``cat a.dat b.dat``): the file is refused naming the line, nothing written. It was read as one, every
    row under the first header's date, the only signal a trailer count « cut short? » (probe hh21 M3)."""
    path, _ = WRITERS["caf"](tmp_path)
    good = _ingest("caf", path, agreement, tmp_path / "good")  # the file alone is one extract, read whole
    assert good.rows_read == good.rows_accepted + good.rows_quarantined == 21 and good.control_ok
    lines = path.read_bytes().split(b"\r\n")
    header, trailer = lines[0], lines[-1]
    if shape == "joined":  # a January extract, then the June one: 99 at line 21, 00 at 22
        lines = [*lines, header.replace(b"20260628", b"20260115"), *lines[1:]]
        where = 21
    elif shape == "second_header":
        lines = [*lines[:2], header.replace(b"20260628", b"20260115"), *lines[2:]]
        where = 3
    else:
        lines = [*lines, trailer]
        where = 21
    path.write_bytes(b"\r\n".join(lines) + b"\r\n")
    with pytest.raises(ExtractError, match="two extracts joined") as caught:
        _ingest("caf", path, agreement, tmp_path / "ws")
    assert (caught.value.file, caught.value.line) == (path.name, where)
    assert not list((tmp_path / "ws").glob("*/*.parquet")) and not list((tmp_path / "ws").glob("reports/*.json"))


def test_msa_status_is_read_on_the_member_line_only(agreement: ExchangeAgreement,
                                                    tmp_path) -> None:  # type: ignore[no-untyped-def]
    """docs/connectors/msa.md: STATUT is read on the member line (persons.self_employed). A payment, pension, claim or
    objection line leaving it blank lost its amount to « STATUT: missing value » (probe hh21 M1); a blank on the
    member line, or a code that is none on any line, stays a fault."""
    msa = tmp_path / "msa.csv"
    head = f"M0001;{OLD};LAFON;Pierre;12/04/1954;M;ASS;FR;;0;N;N"
    rows = [f"{head};EXP;46042;2010-01;2026-05;MEMBRE;0;;",
            f"{head};;46042;2010-01;2026-05;AF;141,99;;",
            f"{head};;46042;2010-01;2026-05;RSA;300,00;;",
            f"{head};;46042;2010-01;2026-05;RETNET;845,20;;",
            f"{head};;46042;2010-01;2026-05;DEMANDE;0;ASPA;15/04/2026",
            f"{head};;46042;2010-01;2026-05;OPPOSITION;0;;01/02/2026",
            f"M0002;{DAD};LAFON;Paul;12/04/1980;M;ASS;FR;;0;N;N;;46042;2010-01;2026-05;MEMBRE;0;;",
            f"{head};XX;46042;2010-01;2026-04;RETNET;845,20;;"]
    msa.write_bytes((MSA_HEAD + "\r\n" + "\r\n".join(rows) + "\r\n").encode("cp1252"))
    report = _ingest("msa", msa, agreement, tmp_path / "msa")
    assert (report.rows_read, report.rows_accepted, report.rows_quarantined) == (8, 6, 2)
    assert report.rows_read == report.rows_accepted + report.rows_quarantined
    assert _found(report) == {8: "STATUT", 9: "STATUT"}  # the member line's blank, a code that is none
    assert sorted(_table(report, "benefits_paid").get_column("amount").cast(pl.Float64).to_list()) == [141.99, 300.0]
    assert _table(report, "resources").get_column("amount").cast(pl.Float64).to_list() == [845.20]
    assert _table(report, "claims").height == 1 and _table(report, "opt_outs").height == 1
    assert _table(report, "persons").get_column("self_employed").to_list() == [True]
