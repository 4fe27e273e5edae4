"""Messy extracts: each fault gets a clear message naming file, line and column, and loses no row."""

from __future__ import annotations

import datetime as dt
import logging
import re
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from nonrecours.connectors import default_mapping, ingest, load_mapping
from nonrecours.errors import ConfigError, EmptyExtractError, ExtractError, PrivacyError
from nonrecours.privacy import ExchangeAgreement, find_leaks, load_agreement

from .conftest import EXCHANGE, REPO, Territory


def _lines(path: Path, encoding: str = "utf-8") -> list[str]:
    return path.read_bytes().decode(encoding).split("\n")


def _write(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path.write_bytes("\n".join(lines).encode(encoding))
    return path


def _quarantine(report) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    return pl.read_parquet(report.outputs["quarantine"])


def _run(src: Path, agency: str, agreement: ExchangeAgreement, out: Path, **kw):  # type: ignore[no-untyped-def]
    report = ingest(src, default_mapping(agency), agreement, out, **kw)
    assert report.rows_read == report.rows_accepted + report.rows_quarantined
    return report


# --- file-level faults: ExtractError naming file, line and column -------------------------------------------

def test_wrong_encoding_csv(territory: Territory, agreement: ExchangeAgreement, tmp_path: Path) -> None:
    """A latin-1 file where UTF-8 is declared fails on the first line that is not UTF-8."""
    lines = _lines(territory.extracts["cnam"], "utf-8-sig")
    idx = next(i for i, line in enumerate(lines) if any(ch in line for ch in "éèçÉ"))
    src = tmp_path / "cnam_latin1.csv"
    src.write_bytes("\n".join(lines).encode("latin-1", errors="replace"))
    with pytest.raises(ExtractError) as err:
        ingest(src, default_mapping("cnam"), agreement, tmp_path / "out")
    assert err.value.file == "cnam_latin1.csv" and err.value.line == idx + 1
    assert err.value.column in ("NOM_USAGE", "PRENOM")
    assert "utf-8" in str(err.value)


def test_wrong_encoding_fixed_width(territory: Territory, agreement: ExchangeAgreement, tmp_path: Path) -> None:
    """A CAF file re-encoded in UTF-8 is recognised (accented letters read as 'Ã©')."""
    text = territory.extracts["caf"].read_bytes().decode("latin-1")
    first = next(i for i, line in enumerate(text.split("\n")) if any(ch in line for ch in "éèçÉëï"))
    src = tmp_path / "caf_utf8.dat"
    src.write_bytes(text.encode("utf-8"))
    with pytest.raises(ExtractError) as err:
        ingest(src, default_mapping("caf"), agreement, tmp_path / "out")
    assert err.value.line == first + 1 and "UTF-8" in str(err.value)


def test_missing_and_renamed_column(territory: Territory, agreement: ExchangeAgreement, tmp_path: Path) -> None:
    lines = _lines(territory.extracts["cnav"])
    renamed = [lines[0].replace("MOIS_ECHEANCE", "MOIS_ECH"), *lines[1:]]
    with pytest.raises(ExtractError) as err:
        ingest(_write(tmp_path / "cnav.csv", renamed), default_mapping("cnav"), agreement, tmp_path / "o")
    assert err.value.column == "MOIS_ECHEANCE" and err.value.line == 1
    assert "MOIS_ECH" in str(err.value) and "renamed" in str(err.value)
    net = lines[0].split(";").index("MONTANT_NET")
    dropped = [";".join(c for j, c in enumerate(line.split(";")) if j != net) for line in lines]
    with pytest.raises(ExtractError, match="MONTANT_NET: required column is missing"):
        ingest(_write(tmp_path / "cnav2.csv", dropped), default_mapping("cnav"), agreement, tmp_path / "o")


def test_empty_file_and_header_only(agreement: ExchangeAgreement, tmp_path: Path, territory: Territory) -> None:
    for agency, name in (("cnam", "e.csv"), ("caf", "e.dat"), ("dgfip", "e.parquet")):
        (tmp_path / name).write_bytes(b"")
        with pytest.raises(ExtractError, match="empty file") as err:
            ingest(tmp_path / name, default_mapping(agency), agreement, tmp_path / "o")
        assert err.value.file == name
    header = _lines(territory.extracts["france_travail"])[0]
    with pytest.raises(EmptyExtractError, match="no record after the header") as empty:
        ingest(_write(tmp_path / "h.csv", [header, ""]), default_mapping("france_travail"), agreement, tmp_path / "o")
    assert empty.value.file == "h.csv" and not (tmp_path / "o").exists()  # nothing written
    report = _run(tmp_path / "h.csv", "france_travail", agreement, tmp_path / "o", allow_empty=True)
    assert (report.rows_read, report.rows_accepted, report.rows_quarantined, report.empty) == (0, 0, 0, True)
    # a fixed-width extract with its header and trailer only is empty too (its two lines are control records)
    from nonrecours.connectors.writer import fixed_width_lines

    trailer = fixed_width_lines(pl.DataFrame({"record_count": [2]}), default_mapping("caf"), "fin").item()
    caf = _write(tmp_path / "h.dat", [_lines(territory.extracts["caf"], "latin-1")[0], trailer, ""], "latin-1")
    with pytest.raises(EmptyExtractError):
        ingest(caf, default_mapping("caf"), agreement, tmp_path / "o2")
    assert _run(caf, "caf", agreement, tmp_path / "o2", allow_empty=True).control_ok  # the trailer's count holds


def test_duplicated_header_column(territory: Territory, agreement: ExchangeAgreement, tmp_path: Path) -> None:
    lines = _lines(territory.extracts["france_travail"])
    cols = lines[0].split(",")
    cols[3] = "nom"
    with pytest.raises(ExtractError, match="duplicated column name") as err:
        ingest(_write(tmp_path / "ft.csv", [",".join(cols), *lines[1:]]), default_mapping("france_travail"),
               agreement, tmp_path / "o")
    assert err.value.column == "nom" and err.value.line == 1


def test_columns_no_field_reads_and_empty_trailing_names_are_not_the_layouts(territory: Territory,
                                                                            agreement: ExchangeAgreement,
                                                                            tmp_path: Path) -> None:
    """Names the layout does not read may repeat (« FILLER;FILLER », an export's empty trailing columns « ;; »): the
    file was refused as a duplicated column name. A header ending with a separator its rows lack is no column too:
    every row was quarantined « 19 fields where 20 expected ». A value under such a name is a field too many."""
    lines = [x for x in _lines(territory.extracts["cnam"], "utf-8-sig") if x]
    reference = _run(_write(tmp_path / "ref.csv", lines), "cnam", agreement, tmp_path / "ref")
    shapes = {"filler": [lines[0] + ";FILLER;FILLER", *(x + ";a;b" for x in lines[1:])],
              "empty": [lines[0] + ";;", *(x + ";;" for x in lines[1:])],
              "header": [lines[0] + ";", *lines[1:]]}
    for name, shaped in shapes.items():
        report = _run(_write(tmp_path / f"{name}.csv", shaped), "cnam", agreement, tmp_path / name)
        assert (report.rows_accepted, report.rows_quarantined) == (reference.rows_accepted,
                                                                    reference.rows_quarantined), name
    n = len(lines[0].split(";"))
    valued = [lines[0] + ";", lines[1] + ";x", *lines[2:]]
    report = _run(_write(tmp_path / "valued.csv", valued), "cnam", agreement, tmp_path / "valued")
    assert (2, None, f"{n + 1} fields where {n} expected (separator inside a value?)") in {
        tuple(r) for r in _quarantine(report).select("line", "column", "reason").iter_rows()}


def test_a_short_line_says_how_many_fields_it_holds(territory: Territory, agreement: ExchangeAgreement,
                                                    tmp_path: Path) -> None:
    """The count of a short line's fields is its own (DuckDB logs one reject a missing column: the smallest message
    by text, « Found: 10 », was taken for a line of 3 fields)."""
    lines = [x for x in _lines(territory.extracts["cnam"], "utf-8-sig") if x]
    n = len(lines[0].split(";"))
    lines[1] = ";".join(lines[1].split(";")[:3])
    report = _run(_write(tmp_path / "short.csv", lines), "cnam", agreement, tmp_path / "o")
    assert (2, f"3 fields where {n} expected") in set(_quarantine(report).select("line", "reason").iter_rows())


def test_a_repeated_header_with_its_byte_order_mark_is_a_repeated_header(territory: Territory,
                                                                         agreement: ExchangeAgreement,
                                                                         tmp_path: Path) -> None:
    """Two exports joined end to end (``cat``): the second's header starts with its byte-order mark, and was read
    as a record with a fault in each column."""
    lines = [x for x in _lines(territory.extracts["cnam"], "utf-8-sig") if x]
    joined = [*lines[:3], "\ufeff" + lines[0], *lines[3:5]]
    report = _run(_write(tmp_path / "cat.csv", joined), "cnam", agreement, tmp_path / "o")
    assert set(_quarantine(report).select("line", "reason").iter_rows()) == {(4, "repeated header line")}


def test_a_quote_left_open_names_every_line_its_record_takes(territory: Territory, agreement: ExchangeAgreement,
                                                              tmp_path: Path) -> None:
    """A quote opened in a value and never closed on its line makes the CSV reader read the next lines into the same
    record, up to the next quote: one quarantined record, whose reason names them (the valid line between was in
    no list, nor accepted, nor quarantined)."""
    lines = [x for x in _lines(territory.extracts["cnav"]) if x]
    name = lines[0].split(";").index("NOM_NAISSANCE")

    def quoted(line: str, text: str) -> str:
        parts = line.split(";")
        parts[name] = text
        return ";".join(parts)

    lines[2] = quoted(lines[2], '"OPEN')
    lines[4] = quoted(lines[4], 'X"Y')
    report = _run(_write(tmp_path / "cnav.csv", lines), "cnav", agreement, tmp_path / "o")
    reasons = {line: reason for line, reason in _quarantine(report).select("line", "reason").iter_rows()}
    assert reasons[3] == "misplaced or unclosed quote in a value (lines 3 to 5 read as this one record)"
    assert not {4, 5} & set(reasons)


def test_a_quote_opening_a_line_and_closed_on_the_next_names_both_lines(
        territory: Territory, agreement: ExchangeAgreement, tmp_path: Path) -> None:
    """A line starting with a stray quote, closed inside a value of the next line (O"BRIEN): the reader reads the
    two lines as one record of miscounted fields; its reason named only the first line, the second line's person
    in no list (found by an outside test of the CNAM's layout)."""
    lines = [x for x in _lines(territory.extracts["cnam"]) if x]
    name = lines[0].split(";").index("NOM_USAGE") if "NOM_USAGE" in lines[0] else 2
    parts = lines[4].split(";")
    parts[name] = 'O"BRIEN'
    lines[3], lines[4] = '"' + lines[3], ";".join(parts)
    report = _run(_write(tmp_path / "cnam.csv", lines), "cnam", agreement, tmp_path / "o")
    reasons = {line: reason for line, reason in _quarantine(report).select("line", "reason").iter_rows()}
    assert 4 in reasons and 5 not in reasons  # the extract's own noise quarantines later lines
    assert reasons[4].endswith("(lines 4 to 5 read as this one record: a misplaced or unclosed quote?)"), reasons


def test_a_carriage_return_inside_a_value_quarantines_its_record_naming_the_column(
        territory: Territory, agreement: ExchangeAgreement, tmp_path: Path) -> None:
    """A bare carriage return inside a value (quoted or not, on the first or a later line of a quoted value that
    spans lines) quarantines its record once, at the line it starts on, naming the column. Before, the line was
    taken out whole: no column, and a record spanning lines was cut in two (two faults, the second « 16 fields
    where 17 expected ») or, the CR on a continuation line, ran to the end of the file (the whole file refused)."""
    lines = [x for x in _lines(territory.extracts["cnav"]) if x]
    header = lines[0].split(";")
    nom, net = header.index("NOM_NAISSANCE"), header.index("MONTANT_NET")

    def with_cell(line: str, col: int, value: str) -> str:
        cells = line.split(";")
        cells[col] = value
        return ";".join(cells)

    lines[2] = with_cell(lines[2], nom, '"DU\rPONT"')          # file line 3
    lines[4] = with_cell(lines[4], net, "12\r3,45")             # line 5, unquoted
    lines[6] = with_cell(lines[6], nom, '"DU\nPO\rNT"')         # lines 7-8, the CR on the continuation line
    lines[9] = with_cell(lines[9], nom, '"D\rU\nPONT"')         # lines 10-11 (one more above), on the first
    lines[12] = with_cell(lines[12], net, '"\ufffe"')           # a noncharacter of another kind: a value
    src = _write(tmp_path / "cnav.csv", lines)
    report = _run(src, "cnav", agreement, tmp_path / "o")
    q = _quarantine(report)
    got = {(r["line"], r["column"], r["reason"]) for r in q.iter_rows(named=True)}
    cr = "carriage return inside a value"
    assert {(3, "NOM_NAISSANCE", cr), (5, "MONTANT_NET", cr), (7, "NOM_NAISSANCE", cr),
            (11, "NOM_NAISSANCE", cr)} <= got
    assert not {2, 4, 6, 8, 9, 10, 12, 13, 14} & set(q.get_column("line"))  # the others, the continuations
    assert report.rows_read == len(lines) - 1                               # a record each, two over two lines
    # the mark the reader uses for a carriage return, already in the file: a fault of its own, not a CR
    lines[15] = with_cell(lines[15], nom, "DU\uffffPONT")
    report = _run(_write(tmp_path / "cnav2.csv", lines), "cnav", agreement, tmp_path / "o2")
    got = {(r["line"], r["reason"]) for r in _quarantine(report).iter_rows(named=True)}
    assert (18, "noncharacter U+FFFF in the line (not text)") in got
    # two records on one line, parted by a carriage return (a classic Mac file's lines joined to a Unix file's):
    # the line is quarantined for it, not for the fields it miscounts
    joined = [*lines[:20], lines[20] + "\r" + lines[21], *lines[22:]]
    report = _run(_write(tmp_path / "cnav3.csv", joined), "cnav", agreement, tmp_path / "o3")
    got = {(r["line"], r["column"], r["reason"]) for r in _quarantine(report).iter_rows(named=True)}
    assert (23, None, "carriage return inside the line") in got


def test_a_file_whose_lines_end_with_a_lone_carriage_return_is_named_as_such(territory: Territory,
                                                                              agreement: ExchangeAgreement,
                                                                              tmp_path: Path) -> None:
    """Classic Mac OS line ends (a lone CR): the whole file is one line, which was refused as a header holding
    duplicated column names, or read as one record quarantined."""
    lines = [x for x in _lines(territory.extracts["cnav"]) if x]
    src = tmp_path / "cnav.csv"
    src.write_bytes("\r".join(lines).encode("utf-8"))
    with pytest.raises(ExtractError, match="lone carriage return") as err:
        ingest(src, default_mapping("cnav"), agreement, tmp_path / "o")
    assert (err.value.file, err.value.line) == ("cnav.csv", 1)


def test_corrupt_parquet(agreement: ExchangeAgreement, tmp_path: Path) -> None:
    (tmp_path / "d.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(ExtractError, match="Parquet"):
        ingest(tmp_path / "d.parquet", default_mapping("dgfip"), agreement, tmp_path / "o")


# --- row-level faults: quarantined with line and column, nothing lost --------------------------------------

def test_row_faults_are_quarantined_with_line_and_column(territory: Territory, agreement: ExchangeAgreement,
                                                        tmp_path: Path) -> None:
    lines = _lines(territory.extracts["cnam"], "utf-8-sig")
    header = lines[0].split(";")
    col = {name: i for i, name in enumerate(header)}

    def edit(i: int, name: str, value: str) -> None:
        parts = lines[i].split(";")
        parts[col[name]] = value
        lines[i] = ";".join(parts)

    edit(3, "DATE_NAISSANCE", "31/02/1980")        # line 4: no such date
    edit(5, "MONTANT_PENSION_INVALIDITE", "-12,50")  # line 6: negative amount
    nir = lines[7].split(";")[0]
    edit(7, "NIR_BENEFICIAIRE", nir[:-2] + f"{(int(nir[-2:]) + 1) % 97:02d}")  # line 8: wrong key
    edit(9, "TOP_CSS", "7")                            # line 10: unknown code
    lines.insert(12, lines[0])                         # line 13: the header again
    lines.insert(14, "")                               # line 15: blank line
    data = [x for x in lines[1:] if x]
    last_full = len(lines) - 1 if lines[-1] == "" else len(lines)
    if lines[-1] == "":
        lines.pop()
    lines[-1] = lines[-1][: len(lines[-1]) // 2]       # last line truncated mid-way
    src = _write(tmp_path / "cnam.csv", lines)
    report = _run(src, "cnam", agreement, tmp_path / "o")
    q = _quarantine(report)
    got = {(r["line"], r["column"], r["reason"]) for r in q.iter_rows(named=True)}
    assert (4, "DATE_NAISSANCE", "not a month in format %d/%m/%Y") in got
    assert (6, "MONTANT_PENSION_INVALIDITE", "negative amount") in got
    assert (8, "NIR_BENEFICIAIRE", "invalid NIR check key") in got
    assert (10, "TOP_CSS", "unknown code") in got
    assert (13, None, "repeated header line") in got
    assert not any(line == 15 for line, _, _ in got) and report.blank_lines == 1  # no record: counted apart
    assert any(line == last_full and "truncated last line" in reason for line, _, reason in got)
    assert report.rows_read == len(data)  # the repeated header counts as a row read, the blank line does not
    assert report.faults  # counted by column and reason in the report
    assert not find_leaks([tmp_path / "o"], names=territory.names)


def test_fixed_width_faults(territory: Territory, agreement: ExchangeAgreement, tmp_path: Path) -> None:
    lines = _lines(territory.extracts["caf"], "latin-1")
    i20 = next(i for i, x in enumerate(lines) if x.startswith("20"))
    i30 = next(i for i, x in enumerate(lines) if x.startswith("30"))
    lines[i20] = lines[i20][:76] + "32139999" + lines[i20][84:]         # bad birth date
    lines[i30] = lines[i30][:18] + "-000001000" + lines[i30][28:]       # a regularisation: kept
    lines.insert(i30 + 1, "77" + lines[i30][2:])                         # unknown record type
    lines.insert(i30 + 2, lines[i30][:24])                               # record cut inside its amount
    src = _write(tmp_path / "caf.dat", lines, "latin-1")
    report = _run(src, "caf", agreement, tmp_path / "o")
    got = {(r["line"], r["column"], r["reason"]) for r in _quarantine(report).iter_rows(named=True)}
    assert (i20 + 1, "DATE_NAISSANCE (positions 77-84)", "not a month in format %d%m%Y") in got
    assert not any(line == i30 + 1 for line, _, _ in got)
    paid = pl.read_parquet(report.outputs["benefits_paid"])
    assert paid.filter(pl.col("amount") == Decimal("-10.00")).height == 1
    assert (i30 + 2, "record type (positions 1-2)", "unknown record type") in got
    assert any(line == i30 + 3 and column == "record length" for line, column, _ in got)


def test_dgfip_dwelling_becomes_a_menage(territory: Territory, agreement: ExchangeAgreement,
                                        tmp_path: Path) -> None:
    """Foyers sharing an identifiant_local are one ménage (one reference person per foyer); a blank local
    emits no ménage row, and the row is not quarantined for it."""
    df = pl.read_parquet(territory.extracts["dgfip"]).head(6).with_columns(
        pl.when(pl.int_range(pl.len()) < 5).then(pl.lit("4600199999999")).otherwise(None).alias("identifiant_local"))
    df.write_parquet(tmp_path / "d.parquet")
    report = _run(tmp_path / "d.parquet", "dgfip", agreement, tmp_path / "o")
    assert _quarantine(report).height == 0
    members = pl.read_parquet(report.outputs["unit_memberships"])
    men = members.filter(pl.col("unit_kind").cast(pl.String) == "menage")
    assert men.height == 5 and men.get_column("unit_id").n_unique() == 1
    expected = {"DEC1": "personne_de_reference", "DEC2": "conjoint", "PAC": "enfant"}
    roles = sorted(expected[q] for q in df.head(5).get_column("qualite"))
    assert sorted(men.get_column("role").cast(pl.String)) == roles


def test_dgfip_bad_values(territory: Territory, agreement: ExchangeAgreement, tmp_path: Path) -> None:
    df = pl.read_parquet(territory.extracts["dgfip"])
    df = df.with_columns(
        pl.when(pl.int_range(pl.len()) == 2).then(-5).otherwise(pl.col("salaires_traitements"))
        .alias("salaires_traitements"),
        pl.when(pl.int_range(pl.len()) == 4).then(pl.lit("XX")).otherwise(pl.col("qualite")).alias("qualite"),
        pl.when(pl.int_range(pl.len()) == 6).then(-1234).otherwise(pl.col("revenus_non_salaries"))
        .alias("revenus_non_salaries"))
    df.write_parquet(tmp_path / "d.parquet")
    report = _run(tmp_path / "d.parquet", "dgfip", agreement, tmp_path / "o")
    got = {(r["line"], r["column"], r["reason"]) for r in _quarantine(report).iter_rows(named=True)}
    assert (3, "salaires_traitements", "negative amount") in got
    assert (5, "qualite", "unknown code") in got
    # a deficit of a business is income below zero: the foyer's row is kept with it
    assert not any(line == 7 for line, _, _ in got)
    income = pl.read_parquet(report.outputs["annual_income"])
    deficit = income.filter(pl.col("amount") < 0)
    assert deficit.height == 1 and deficit.get_column("kind").cast(pl.String).to_list() == ["self_employment"]
    assert deficit.get_column("amount").to_list() == [Decimal("-1234.00")]
    households = pl.read_parquet(report.outputs["tax_households"])
    members = pl.read_parquet(report.outputs["unit_memberships"])
    foyers = members.filter(pl.col("unit_kind").cast(pl.String) == "foyer_fiscal").select(
        "unit_id", pl.col("valid_from").dt.year().cast(pl.Int16).alias("year")).unique()
    assert households.select("unit_id", "year").sort("unit_id", "year").equals(foyers.sort("unit_id", "year"))
    assert (households.get_column("nb_parts") >= 1).all()


# --- privacy at the boundary ------------------------------------------------------------------------------

def test_agreement_refuses_unlisted_column(territory: Territory, tmp_path: Path) -> None:
    text = EXCHANGE.read_text().replace('"disability_rate", ', "")
    (tmp_path / "x.toml").write_text(text)
    narrow = load_agreement(tmp_path / "x.toml")
    with pytest.raises(PrivacyError, match=r"caf.*persons.*disability_rate"):
        ingest(territory.extracts["caf"], default_mapping("caf"), narrow, tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_errors_and_logs_never_carry_identifiers(territory: Territory, agreement: ExchangeAgreement,
                                                 tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    lines = _lines(territory.extracts["msa"], "cp1252")
    messages = []
    for bad in ([lines[0] + ";NIR", *lines[1:]], [lines[0].replace("NIR", "NIRR"), *lines[1:]]):
        try:
            ingest(_write(tmp_path / "m.csv", bad, "cp1252"), default_mapping("msa"), agreement, tmp_path / "o")
        except ExtractError as exc:
            messages.append(str(exc))
    assert len(messages) == 2
    assert not (tmp_path / "o").exists()  # a failed run leaves no output folder behind
    report = _run(territory.extracts["msa"], "msa", agreement, tmp_path / "o2")
    messages.append(report.to_json())
    messages += [r.getMessage() for r in caplog.records]
    assert not find_leaks(["\n".join(messages), tmp_path / "o2"], names=territory.names)


def test_user_adapted_mapping_from_toml(territory: Territory, agreement: ExchangeAgreement, tmp_path: Path) -> None:
    """A user's own France Travail layout: renamed columns, another separator, no code."""
    lines = _lines(territory.extracts["france_travail"])
    renamed = [lines[0].replace("montant_are", "mt_are").replace(",", "|"), *[x.replace(",", "|") for x in lines[1:]]]
    src = _write(tmp_path / "ft.txt", renamed)
    base = default_mapping("france_travail").model_dump(mode="json", exclude_none=True)
    base["separator"] = "|"
    for f in base["records"][0]["fields"]:
        if f["source"] == "montant_are":
            f["source"] = "mt_are"
    toml = tmp_path / "ft.toml"
    toml.write_text(_to_toml(base))
    mapping = load_mapping(toml)
    report = ingest(src, mapping, agreement, tmp_path / "o")
    reference = ingest(territory.extracts["france_travail"], default_mapping("france_travail"), agreement,
                       tmp_path / "r")
    a, b = (pl.read_parquet(r.outputs["resources"]).drop("extract_id") for r in (report, reference))
    assert a.equals(b)


def test_mapping_validation_messages(tmp_path: Path) -> None:
    base = default_mapping("cnav").model_dump(mode="json", exclude_none=True)
    res = next(i for i, e in enumerate(base["records"][0]["emits"]) if e["table"] == "resources")
    base["records"][0]["emits"][res]["columns"]["amount"] = "nom"
    with pytest.raises(ConfigError, match="direct identifier"):
        type(default_mapping("cnav")).from_dict(base)
    base = default_mapping("cnav").model_dump(mode="json", exclude_none=True)
    del base["records"][0]["emits"][res]["constants"]["kind"]
    with pytest.raises(ConfigError, match="canonical column kind is neither mapped nor constant"):
        type(default_mapping("cnav")).from_dict(base)
    (tmp_path / "m.yaml").write_text("agency: [")
    with pytest.raises(ConfigError, match=r"m\.yaml"):
        load_mapping(tmp_path / "m.yaml")


def _to_toml(data: dict) -> str:  # type: ignore[type-arg]
    """A tiny TOML writer for the test (inline tables for records and fields)."""
    import json

    def val(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(val(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{json.dumps(k)} = {val(x)}" for k, x in v.items()) + "}"
        raise TypeError(type(v))

    return "\n".join(f"{k} = {val(v)}" for k, v in data.items()) + "\n"


def test_example_custom_mapping(territory: Territory, agreement: ExchangeAgreement, tmp_path: Path) -> None:
    """examples/mappings/france_travail_custom.toml reads a pipe-separated regional layout."""
    ft = pl.read_csv(territory.extracts["france_travail"], infer_schema=False)
    custom = ft.select(
        pl.col("identifiant_local").alias("ID_DE"), pl.col("nir").alias("NIR_CERTIFIE"),
        pl.col("nom").alias("NOM"), pl.col("prenom").alias("PRENOM"),
        pl.col("date_naissance").str.to_date().dt.strftime("%d/%m/%Y").alias("DT_NAIS"),
        pl.col("categorie").replace_strict({"A": "1", "B": "2", "C": "3", "D": "4", "E": "5"}).alias("CATEGORIE"),
        (pl.col("mois").str.slice(5, 2) + "/" + pl.col("mois").str.slice(0, 4)).alias("MOIS_PAIEMENT"),
        pl.col("montant_are").str.replace(".", ",", literal=True).alias("MT_ARE"))
    custom.write_csv(tmp_path / "ft.txt", separator="|")
    example = REPO / "examples" / "mappings" / "france_travail_custom.toml"
    report = ingest(tmp_path / "ft.txt", load_mapping(example), agreement, tmp_path / "o")
    reference = ingest(territory.extracts["france_travail"], default_mapping("france_travail"), agreement,
                       tmp_path / "r")
    a, b = (pl.read_parquet(r.outputs["resources"]).drop("extract_id") for r in (report, reference))
    assert a.height > 0 and a.equals(b)


def test_docs_describe_every_column() -> None:
    from nonrecours.connectors import AGENCY_MODULES

    docs = REPO / "docs" / "connectors"
    for agency in AGENCY_MODULES:
        text = (docs / f"{agency}.md").read_text()
        for rec in default_mapping(agency).records:
            for f in rec.fields:
                assert f"| {f.source} |" in text, (agency, f.source)


def test_caf_header_and_trailer_controls(territory: Territory, agreement: ExchangeAgreement, tmp_path: Path,
                                         caplog: pytest.LogCaptureFixture) -> None:
    """The header gives the extract date; the trailer's record count reveals a file cut short."""
    full = _run(territory.extracts["caf"], "caf", agreement, tmp_path / "full")
    header = territory.extracts["caf"].read_bytes().decode("latin-1")[:120]
    declared_date = f"{header[7:11]}-{header[11:13]}-{header[13:15]}"
    assert full.extract_date == declared_date and full.control_ok is True
    persons = pl.read_parquet(full.outputs["persons"])
    assert persons.get_column("extract_date").cast(pl.String).unique().to_list() == [declared_date]
    lines = _lines(territory.extracts["caf"], "latin-1")
    cut = _write(tmp_path / "caf.dat", lines[: len(lines) // 2], "latin-1")
    caplog.set_level(logging.WARNING, logger="nonrecours")
    report = _run(cut, "caf", agreement, tmp_path / "cut")
    assert report.control_ok is False and report.declared_records is None
    assert any("truncated file" in r.getMessage() for r in caplog.records)
    assert report.controls == ["record count: no trailer record (a file cut short?)"]  # not « a count differs »


def test_caf_file_without_its_header_record_fails_a_control(territory: Territory, agreement: ExchangeAgreement,
                                                            tmp_path: Path) -> None:
    """The second part of a split CAF file (no « 00 » record), its trailer's count made right, was accepted
    silently; the records lost with the file's start were unsaid (probe12, 7 December 2026)."""
    lines = [ln for ln in _lines(territory.extracts["caf"], "latin-1") if ln.strip()]
    assert lines[0].startswith("00") and lines[-1].startswith("99")
    start = next(i for i in range(len(lines) // 2, len(lines)) if lines[i].startswith("10"))  # a dossier's first
    body = lines[start:-1]
    trailer = lines[-1][:2] + f"{len(body) + 1:09d}" + lines[-1][11:]
    src = _write(tmp_path / "caf.dat", [*body, trailer], "latin-1")
    report = _run(src, "caf", agreement, tmp_path / "o", extract_date=dt.date(2026, 6, 28))
    assert report.control_ok is True and report.rows_read == report.rows_accepted + report.rows_quarantined
    assert report.controls == ["header: no header record read (00): the file's start lost? (a part of a split file)"]
    whole = _run(territory.extracts["caf"], "caf", agreement, tmp_path / "w")
    assert whole.controls == []


def test_csv_without_header_quotes_nothing(territory: Territory, agreement: ExchangeAgreement,
                                           tmp_path: Path) -> None:
    lines = _lines(territory.extracts["cnav"])
    src = _write(tmp_path / "cnav.csv", lines[1:])
    with pytest.raises(ExtractError, match="without header") as err:
        ingest(src, default_mapping("cnav"), agreement, tmp_path / "o")
    assert err.value.line == 1 and err.value.column is None
    assert not find_leaks(str(err.value), names=territory.names)


def test_negative_regularisation_of_a_payment_is_kept(territory: Territory, agreement: ExchangeAgreement,
                                                       tmp_path: Path) -> None:
    """MONTANT_ASPA=-35.00 is a recovery booked on that month: the ASPA row is kept with its net amount."""
    lines = _lines(territory.extracts["cnav"])
    header = lines[0].split(";")
    col = header.index("MONTANT_ASPA")
    cells = lines[1].split(";")
    cells[col] = "-35.00"
    lines[1] = ";".join(cells)
    report = _run(_write(tmp_path / "cnav.csv", lines), "cnav", agreement, tmp_path / "o")
    assert not _quarantine(report).filter(pl.col("line") == 2).height
    paid = pl.read_parquet(report.outputs["benefits_paid"])
    assert paid.filter(pl.col("amount") == Decimal("-35.00")).height == 1
    # an amount the layout does not allow negative still says why it is refused
    cells[header.index("MONTANT_NET")] = "-1.00"
    lines[1] = ";".join(cells)
    report = _run(_write(tmp_path / "cnav2.csv", lines), "cnav", agreement, tmp_path / "o2")
    got = {(r["line"], r["column"], r["reason"]) for r in _quarantine(report).iter_rows(named=True)}
    assert (2, "MONTANT_NET", "negative amount") in got


@pytest.mark.parametrize("spill_rows", [5_000_000, 0], ids=["polars", "duckdb"])
def test_a_payment_and_its_regularisation_in_one_month_are_netted(territory: Territory, agreement: ExchangeAgreement,
                                                                  tmp_path: Path, spill_rows: int, caplog) -> None:
    """A month's ASPA line of 500.00 € and a recovery line of -30.00 € for the same retiree and month are one row of
    470.00 € (the month's net: the payment kept, read as received), not the last line alone (-30.00 €: read as
    nothing received, a false under-payment). A late update of a payment (two positive lines) still keeps the last;
    a lone regularisation is kept as it is. The same through DuckDB's merge of a large file."""
    lines = [x for x in _lines(territory.extracts["cnav"]) if x]
    header = lines[0].split(";")
    col, month = header.index("MONTANT_ASPA"), header.index("MOIS_ECHEANCE")
    by_month: dict[str, list[int]] = {}
    for i, line in enumerate(lines[1:], start=1):
        by_month.setdefault(line.split(";")[month], []).append(i)
    first = next(rows for rows in by_month.values() if len(rows) >= 3)
    a, b, c = first[:3]

    def with_amount(i: int, value: str) -> str:
        cells = lines[i].split(";")
        cells[col] = value
        return ";".join(cells)

    lines[a] = with_amount(a, "500.00")
    lines[b] = with_amount(b, "100.00")
    lines[c] = with_amount(c, "-12.00")
    lines += [with_amount(a, "-30.00"), with_amount(b, "120.00")]
    with caplog.at_level(logging.INFO, logger="nonrecours"):
        report = _run(_write(tmp_path / "cnav.csv", lines), "cnav", agreement, tmp_path / "o", spill_rows=spill_rows)
    said = [r.getMessage() for r in caplog.records]
    assert any("benefits_paid: 1 regularisations added" in m for m in said), said
    assert any("benefits_paid: 1 lines replaced by a later line" in m for m in said), said
    edited = {a + 1, b + 1, c + 1, len(lines) - 1, len(lines)}  # line numbers (the header is line 1)
    assert not edited & set(_quarantine(report).get_column("line").to_list())
    count = report.tables["benefits_paid"]
    assert count.regularisations_netted == 1
    assert count.rows_emitted == count.rows_written + count.duplicate_keys_dropped + count.regularisations_netted
    paid = pl.read_parquet(report.outputs["benefits_paid"])
    key = ["person_id", "month"]
    assert paid.group_by(key).len().get_column("len").max() == 1
    amounts = set(paid.get_column("amount").to_list())
    assert {Decimal("470.00"), Decimal("120.00"), Decimal("-12.00")} <= amounts
    assert not {Decimal("500.00"), Decimal("-30.00"), Decimal("100.00")} & amounts


def test_a_child_listed_in_two_dossiers_is_counted_and_said(territory: Territory, agreement: ExchangeAgreement,
                                                             tmp_path: Path, caplog) -> None:
    """A child in alternating custody, listed by each parent's dossier from the same month (no layout field says it;
    an outside tester's probe10, H7): one membership is kept by key, the other line is no silent duplicate: the
    report counts the person listed in two units, the log says it."""
    lines = [x for x in _lines(territory.extracts["msa"], "cp1252") if x]
    header = lines[0].split(";")
    lien, nature, dossier = header.index("LIEN"), header.index("NATURE"), header.index("NUM_DOSSIER")
    child = next(i for i, x in enumerate(lines[1:], start=1)
                 if x.split(";")[lien] == "ENF" and x.split(";")[nature] == "MEMBRE")
    other = next(x.split(";")[dossier] for x in lines[1:] if x.split(";")[dossier] != lines[child].split(";")[dossier])
    cells = lines[child].split(";")
    cells[dossier] = other
    lines.append(";".join(cells))
    with caplog.at_level(logging.WARNING, logger="nonrecours"):
        report = _run(_write(tmp_path / "msa.csv", lines, "cp1252"), "msa", agreement, tmp_path / "o")
    # the famille and the ménage (the dossier stands for both)
    assert report.tables["unit_memberships"].keys_in_two_units == 2
    assert any("2 memberships (a person and a kind of unit) name two units" in r.getMessage() for r in caplog.records)
    # the territory's own file lists nobody twice
    clean = _run(territory.extracts["msa"], "msa", agreement, tmp_path / "clean")
    assert clean.tables["unit_memberships"].keys_in_two_units == 0


def test_quoted_values_hold_separators_and_line_breaks(territory: Territory, agreement: ExchangeAgreement,
                                                       tmp_path: Path) -> None:
    """RFC 4180 quoting: "DUPONT; DIT MARTIN" and a quoted line break are valid rows; later lines keep their
    numbers in the quarantine; an unclosed quote is a file-level fault naming its line."""
    lines = _lines(territory.extracts["cnav"])
    header = lines[0].split(";")
    nom, net = header.index("NOM_NAISSANCE"), header.index("MONTANT_NET")

    def set_cell(i: int, col: int, value: str) -> None:
        cells = lines[i].split(";")
        cells[col] = value
        lines[i] = ";".join(cells)

    set_cell(1, nom, '"DUPONT; DIT MARTIN"')
    set_cell(2, nom, '"DUPONT\nDIT MARTIN"')          # lines 3 and 4 of the file: one record
    set_cell(5, net, "x")                              # the 6th record, on line 7 of the file
    data = [x for x in lines if x]
    src = _write(tmp_path / "cnav.csv", lines)
    report = _run(src, "cnav", agreement, tmp_path / "o")
    assert report.rows_read == len(data) - 1           # the header is not a row; the quoted break joins two
    got = {(r["line"], r["column"], r["reason"]) for r in _quarantine(report).iter_rows(named=True)}
    assert (7, "MONTANT_NET", "not an amount") in got
    assert not any(line in (2, 3, 4) for line, _, _ in got)
    # too many fields: a located reject of the CSV reader
    lines2 = list(lines)
    lines2[10] = lines2[10] + ";extra"
    report = _run(_write(tmp_path / "cnav2.csv", lines2), "cnav", agreement, tmp_path / "o2")
    got = {(r["line"], r["reason"]) for r in _quarantine(report).iter_rows(named=True)}
    n = len(header)
    assert (12, f"{n + 1} fields where {n} expected (separator inside a value?)") in got
    # a quote opened and never closed swallows the rest of the file: refused, with the line it starts on
    set_cell(20, nom, '"DUPONT')
    with pytest.raises(ExtractError, match="never closed") as err:
        ingest(_write(tmp_path / "cnav3.csv", lines), default_mapping("cnav"), agreement, tmp_path / "o3")
    assert err.value.line == 22
    assert not find_leaks(str(err.value), names=territory.names)


def test_a_comma_export_of_a_decimal_comma_layout_is_not_read_shifted(territory: Territory,
                                                                      agreement: ExchangeAgreement,
                                                                      tmp_path: Path) -> None:
    """The CPAM's file exported with commas as separators, its decimal commas unquoted: every line with an amount
    holds one field too many, its last empty. Read as a trailing separator on every line, each was shifted by one
    column from the amount on (an invalidity pension of 845,30 € read 845 €, and 30 € of ASI nobody paid: an
    outside tester's probe12). Each such line is quarantined « 18 fields where 17 expected », whatever their
    number; a line whose amounts hold no comma is read."""
    raw = pl.read_csv(territory.extracts["cnam"], separator=";", infer_schema=False).head(12)
    raw = raw.with_columns(pl.lit("845,30").alias("MONTANT_PENSION_INVALIDITE"), pl.lit("0").alias("MONTANT_ASI"),
                           pl.lit("0").alias("MONTANT_PARTICIPATION"),
                           *[pl.lit(None, dtype=pl.String).alias(c) for c in raw.columns[raw.columns.index(
                               "MONTANT_ASI") + 1:]])
    header = ",".join(raw.columns)
    body = [",".join("" if v is None else v for v in row) for row in raw.rows()]
    body[0] = body[0].replace("845,30", "845")  # one line without a decimal comma: its own count of fields
    src = tmp_path / "cnam.csv"
    src.write_text("\n".join([header, *body]) + "\n", encoding="utf-8")
    report = _run(src, "cnam", agreement, tmp_path / "o")
    n = len(raw.columns)
    got = _quarantine(report).filter(pl.col("reason") == f"{n + 1} fields where {n} expected (separator inside a "
                                                           "value?)")
    assert got.height == 11 and report.rows_accepted == 1
    assert "benefits_paid" not in report.tables or report.tables["benefits_paid"].rows_written == 0


def test_an_optional_column_absent_is_said(territory: Territory, agreement: ExchangeAgreement, tmp_path: Path,
                                           caplog) -> None:
    """A CPAM file without its optional ``DATE_OPPOSITION`` and CSS claim columns: read, but the report lists them
    and the log says their content is not read (before: two objections to contact and two claims lost without a
    word, an outside tester's probe12); the territory's own file lacks none."""
    raw = pl.read_csv(territory.extracts["cnam"], separator=";", infer_schema=False)
    gone = ["DATE_OPPOSITION", "CSS_EVENEMENT", "CSS_PRESTATION", "CSS_DATE_EVENEMENT"]
    raw.drop(gone).write_csv(tmp_path / "cnam.csv", separator=";")
    with caplog.at_level(logging.WARNING, logger="nonrecours"):
        report = _run(tmp_path / "cnam.csv", "cnam", agreement, tmp_path / "o")
    assert report.optional_columns_absent == sorted(gone)
    said = [r.getMessage() for r in caplog.records if "optional columns absent" in r.getMessage()]
    assert said and all(c in said[0] for c in gone)
    assert _run(territory.extracts["cnam"], "cnam", agreement, tmp_path / "clean").optional_columns_absent == []


@pytest.mark.parametrize("agency", ["cnam", "msa", "caf"])
def test_a_compressed_extract_is_named_as_such(territory: Territory, agreement: ExchangeAgreement, tmp_path: Path,
                                               agency: str) -> None:
    """A text extract sent gzip-compressed: one clear fault on line 1, the same for every layout (before: « not
    valid utf-8 », « lone carriage returns » or « not valid latin-1 » by agency, an outside tester's probe12)."""
    import gzip

    src = tmp_path / f"{agency}.gz"
    src.write_bytes(gzip.compress(territory.extracts[agency].read_bytes()))
    with pytest.raises(ExtractError, match="a gzip-compressed file: decompress it before ingest") as err:
        ingest(src, default_mapping(agency), agreement, tmp_path / "o")
    assert err.value.line == 1 and not (tmp_path / "o").exists()


def test_eea_residence_years_rsdae_and_unknown_birth_day_are_kept(territory: Territory,
                                                                  agreement: ExchangeAgreement,
                                                                  tmp_path: Path) -> None:
    """An EEA national's years of residence (read by the RSA), an RSDAE flag and a birth date with an
    unknown day are accepted with their meaning; a blank flag stays unknown."""
    lines = _lines(territory.extracts["caf"], "latin-1")
    i20 = next(i for i, x in enumerate(lines) if x.startswith("20"))
    rec = lines[i20]
    rec = rec[:76] + "00031956" + rec[84:85] + "2" + "05" + rec[88:104] + "O" + rec[105:]
    lines[i20] = rec
    report = _run(_write(tmp_path / "caf.dat", lines, "latin-1"), "caf", agreement, tmp_path / "o")
    assert not _quarantine(report).filter(pl.col("line") == i20 + 1).height
    persons = pl.read_parquet(report.outputs["persons"])
    row = persons.filter(pl.col("birth_month") == dt.date(1956, 3, 1), pl.col("nationality_group") == "EEA_CH",
                         pl.col("residence_permit_years") == 5)
    assert row.height == 1 and row.get_column("rsdae").item() is True
    # the CAF gives RSDAE only where an MDPH decision exists (from a 50 % rate): blank, unknown, below it
    below = persons.filter((pl.col("disability_rate") < 0.5) & ~pl.col("rsdae").fill_null(False))  # not ours
    assert below.height and below.get_column("rsdae").null_count() == below.height
    assert persons.get_column("recent_isolation").null_count() == 0  # declared to the CAF: given


def test_csv_lines_are_file_lines_whatever_the_line_ends(territory: Territory, tmp_path: Path) -> None:
    """cp1252 bytes, CRLF line ends, a quoted line break, a blank line, a repeated header and a last line
    without line end: each accepted row carries the line its record starts on, each fault its own line, and
    every line of the file is one row or part of a record."""
    from nonrecours.connectors.readers import FAULT, LINE, iter_batches

    mapping = default_mapping("msa")
    lines = territory.extracts["msa"].read_bytes().decode("cp1252").split("\n")[:30]
    header = lines[0].split(";")
    nom = header.index("NOM")
    cells = lines[4].split(";")
    cells[nom] = '"DURAND\nDIT É"'                       # file lines 5 and 6: one record
    lines[4] = ";".join(cells)
    lines[10:10] = ["", lines[0]]                         # a blank line (12) and a repeated header (13)
    lines[20] = lines[20][:8]                             # a cut record
    src = tmp_path / "msa.csv"
    src.write_bytes("\r\n".join(lines).encode("cp1252"))  # no line end after the last record
    physical = src.read_bytes().decode("cp1252").split("\r\n")
    physical = [x for chunk in physical for x in chunk.split("\n")]
    df = pl.concat([b.frame for b in iter_batches(src, mapping, chunk_bytes=512, work=tmp_path)],
                   how="diagonal_relaxed")
    faults = dict(df.filter(pl.col(FAULT).is_not_null()).select(LINE, FAULT).iter_rows())
    blank = [line for b in iter_batches(src, mapping, chunk_bytes=512, work=tmp_path) if b.blank is not None
             for line in b.blank.to_list()]
    assert blank == [12] and 12 not in faults and faults[13] == "repeated header line"
    assert "fields where" in faults[22]                  # lines[20]: one line below, for the quoted break
    accepted = df.filter(pl.col(FAULT).is_null())
    first = header[0]
    assert all(physical[line - 1].startswith(value) for line, value in accepted.select(LINE, first).iter_rows())
    assert 6 not in set(df.get_column(LINE))             # the second line of the quoted value is no row
    assert df.height == len(physical) - 3                # header, the line the quoted break added, the blank one
    assert 5 in set(accepted.get_column(LINE))           # the record holding the quoted break is valid


def _tables(report) -> dict[str, pl.DataFrame]:  # type: ignore[no-untyped-def]
    """The canonical tables an ingest wrote (not its quarantine), for comparing two spellings of one file."""
    return {name: pl.read_parquet(path) for name, path in report.outputs.items()
            if name not in ("quarantine", "report") and str(path).endswith(".parquet")}


def test_header_spelling_and_separator_of_another_tool_are_read(territory: Territory,
                                                                 agreement: ExchangeAgreement,
                                                                 tmp_path: Path) -> None:
    """The CNAV layout exported with commas, lower-case column names padded with spaces: the same rows and
    values as the layout's own spelling, and the report says what was adapted; a renamed column still fails."""
    lines = _lines(territory.extracts["cnav"])
    (tmp_path / "a").mkdir()
    base = _run(_write(tmp_path / "a" / "cnav.csv", lines), "cnav", agreement, tmp_path / "oa")
    assert base.adaptations == []
    header = ",".join(f" {name.lower()} " for name in lines[0].split(";"))
    other = [header, *(line.replace(";", ",") for line in lines[1:])]   # amounts carry decimal points
    (tmp_path / "b").mkdir()
    report = _run(_write(tmp_path / "b" / "cnav.csv", other), "cnav", agreement, tmp_path / "ob")
    assert report.adaptations[0] == "separator ',' read where the mapping declares ';'"
    assert "column names read ignoring case and spaces (e.g. NIR from 'nir')" in report.adaptations[1]
    assert (report.rows_read, report.rows_accepted, report.rows_quarantined) == \
        (base.rows_read, base.rows_accepted, base.rows_quarantined)
    ours, theirs = _tables(base), _tables(report)
    assert ours.keys() == theirs.keys() and ours
    for name, frame in ours.items():
        assert frame.drop("extract_date", strict=False).equals(theirs[name].drop("extract_date", strict=False)), name
    renamed = [header.replace("mois_echeance", "mois_ech"), *other[1:]]
    (tmp_path / "c").mkdir()
    with pytest.raises(ExtractError, match="renamed"):
        ingest(_write(tmp_path / "c" / "cnav.csv", renamed), default_mapping("cnav"), agreement, tmp_path / "oc")


@pytest.mark.parametrize(("agency", "mark", "other"), [("cnav", ".", ","), ("cnam", ",", ".")])
def test_the_other_decimal_mark_is_read_when_unambiguous(territory: Territory, agreement: ExchangeAgreement,
                                                        tmp_path: Path, agency: str, mark: str, other: str) -> None:
    """Amounts written with the other decimal mark (``1316,73`` in the CNAV's point layout, ``12.50`` in the
    CNAM's comma layout) keep their value: before, the CNAM read ``12.50`` as 1,250 euros (the point taken as a
    thousands separator) and the CNAV quarantined every row."""
    lines = _lines(territory.extracts[agency], "utf-8-sig")
    cells = [line.split(";") for line in lines]
    amount = re.compile(rf"^-?\d+{re.escape(mark)}\d\d$")
    changed = 0
    for row in cells[1:]:
        for j, cell in enumerate(row):
            if amount.match(cell):
                row[j] = cell.replace(mark, other)
                changed += cell.strip("0" + mark + "-") != ""
    assert changed > 20                                  # non-zero amounts were rewritten
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    name = territory.extracts[agency].name
    base = _run(_write(tmp_path / "a" / name, lines), agency, agreement, tmp_path / "oa")
    report = _run(_write(tmp_path / "b" / name, [";".join(r) for r in cells]), agency, agreement, tmp_path / "ob")
    assert report.rows_quarantined == base.rows_quarantined
    ours, theirs = _tables(base), _tables(report)
    for table, frame in ours.items():
        assert frame.drop("extract_date", strict=False).equals(theirs[table].drop("extract_date", strict=False)), table
    # read, and said: the agency learns its export writes the other mark, column by column
    assert not any("decimal mark" in k for k in base.repaired)
    marks = {k: n for k, n in report.repaired.items() if "the other decimal mark read" in k}
    assert marks and sum(marks.values()) >= changed


def test_dates_in_another_delimited_convention_are_read(territory: Territory, agreement: ExchangeAgreement,
                                                        tmp_path: Path) -> None:
    """The CNAM's French dates (``11/09/1959``, month ``06/2025``) rewritten in ISO order keep their value;
    an undelimited date in another order stays a fault."""
    text = territory.extracts["cnam"].read_bytes().decode("utf-8-sig")
    iso = re.sub(r";(\d\d)/(\d{4});", r";\2-\1;", re.sub(r"(\d\d)/(\d\d)/(\d{4})", r"\3-\2-\1", text))
    assert iso != text
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    base = _run(_write(tmp_path / "a" / "cnam.csv", text.split("\n")), "cnam", agreement, tmp_path / "oa")
    report = _run(_write(tmp_path / "b" / "cnam.csv", iso.split("\n")), "cnam", agreement, tmp_path / "ob")
    assert report.rows_quarantined == base.rows_quarantined
    assert not base.repaired  # the layout's own order: nothing to say; ISO order: said by column
    assert report.repaired.get("DATE_NAISSANCE: date in another order or without leading zeros read (1959-09-11, "
                               "1948-2-9)", 0) > 10
    ours, theirs = _tables(base), _tables(report)
    for table, frame in ours.items():
        assert frame.drop("extract_date", strict=False).equals(theirs[table].drop("extract_date", strict=False)), table
    lines = text.split("\n")
    lines[1] = re.sub(r"(\d\d)/(\d\d)/(\d{4})", r"\3\2\1", lines[1], count=1)
    (tmp_path / "c").mkdir()
    report = _run(_write(tmp_path / "c" / "cnam.csv", lines), "cnam", agreement, tmp_path / "oc")
    got = {(r["line"], r["column"]) for r in _quarantine(report).iter_rows(named=True)}
    assert (2, "DATE_NAISSANCE") in got


def test_nirs_written_with_separators_are_read_and_counted(territory: Territory, agreement: ExchangeAgreement,
                                                           tmp_path: Path) -> None:
    """« 1 85 01 46 137 001 18 » or dotted groups are the same NIR: read, and counted among the repairs so the
    agency learns its export departs from the layout (read without a word before; probe12, 7 December 2026)."""
    lines = territory.extracts["cnav"].read_bytes().decode("utf-8-sig").split("\n")
    spaced = lines[:1] + [re.sub(r"^(\d)(\d\d)(\d\d)(\d\d)(\d{3})(\d{3})(\d\d);",
                                 lambda m: " ".join(m.groups()) + ";", ln) for ln in lines[1:11]]
    dotted = [re.sub(r"^(\d)(\d\d)(\d\d)", r"\1.\2.\3", ln) for ln in lines[11:16]]
    changed = sum(a != b for a, b in zip(lines[1:16], spaced[1:] + dotted, strict=True))
    assert changed >= 12
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    base = _run(_write(tmp_path / "a" / "cnav.csv", lines), "cnav", agreement, tmp_path / "oa")
    report = _run(_write(tmp_path / "b" / "cnav.csv", spaced + dotted + lines[16:]), "cnav", agreement,
                  tmp_path / "ob")
    assert not any("NIR" in k for k in base.repaired)
    assert report.repaired == {**base.repaired, "NIR: NIR read without its separators or with Corsica's letter in "
                                                "upper case (1 85 01 …, 2a)": changed}
    assert report.rows_quarantined == base.rows_quarantined
    ours, theirs = _tables(base), _tables(report)
    for table, frame in ours.items():
        assert frame.drop("extract_id", strict=False).equals(theirs[table].drop("extract_id", strict=False)), table


def test_an_ingest_killed_outright_leaves_no_raw_copy_behind(territory: Territory, agreement: ExchangeAgreement,
                                                             tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """SIGKILL or the out-of-memory killer runs no ``finally``: the private folder of such an ingest (its raw CSV
    copy) stayed in the workspace through later ingests and runs (probe17, 7 December 2026). The next ingest into
    the workspace removes it, and says so; the folder of an ingest still alive (its owner file locked) stays."""
    import fcntl
    import os

    out = tmp_path / "ws"
    first = _run(territory.extracts["cnav"], "cnav", agreement, out)
    killed, alive = out / ".ingest-killed", out / ".ingest-alive"
    for work in (killed, alive):
        (work / ".csv-1").mkdir(parents=True)
        (work / ".csv-1" / "copy.csv").write_bytes(territory.extracts["cnav"].read_bytes())
        (work / ".owner").touch()
    fd = os.open(alive / ".owner", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        caplog.set_level(logging.WARNING, logger="nonrecours")
        again = _run(territory.extracts["cnam"], "cnam", agreement, out)
        assert not killed.exists() and alive.exists()
        assert any(".ingest-killed" in r.getMessage() and "killed" in r.getMessage() for r in caplog.records)
    finally:
        os.close(fd)
    assert first.rows_accepted > 0 and again.rows_accepted > 0
    assert not [p for p in out.glob(".ingest-*") if p != alive]  # the ingests' own folders are gone too


def test_parquet_columns_without_text_are_refused_naming_the_column(territory: Territory,
                                                                    agreement: ExchangeAgreement,
                                                                    tmp_path: Path) -> None:
    """A struct column (a NIR nested with a name) crashed as a bug (exit 1) whose --verbose message listed the
    values; bytes not marked as text crashed likewise where they were not UTF-8 (probe17, 7 December 2026).
    Both are refused naming the file and the column, no value quoted; UTF-8 bytes are read as their text."""
    df = pl.read_parquet(territory.extracts["dgfip"]).head(20)
    nirs = df.get_column("nir").drop_nulls().to_list()
    struct = df.with_columns(pl.struct("nir", pl.lit("DUVAL").alias("nom")).alias("nir"))
    struct.write_parquet(tmp_path / "s.parquet")
    with pytest.raises(ExtractError, match="column nir: Struct") as err:
        ingest(tmp_path / "s.parquet", default_mapping("dgfip"), agreement, tmp_path / "o1")
    assert "DUVAL" not in str(err.value) and not any(n in str(err.value) for n in nirs)
    latin = df.with_columns(pl.col("nir").cast(pl.Binary))
    latin = latin.with_columns(pl.when(pl.int_range(pl.len()) == 3).then(pl.lit(b"1\xe9" * 7 + b"1"))
                               .otherwise(pl.col("nir")).alias("nir"))
    latin.write_parquet(tmp_path / "b.parquet")
    with pytest.raises(ExtractError, match="line 4, column nir: binary values that are not UTF-8") as err:
        ingest(tmp_path / "b.parquet", default_mapping("dgfip"), agreement, tmp_path / "o2")
    utf8 = df.with_columns(pl.col("nir").cast(pl.Binary))
    utf8.write_parquet(tmp_path / "u.parquet")
    df.write_parquet(tmp_path / "t.parquet")
    as_bytes = _run(tmp_path / "u.parquet", "dgfip", agreement, tmp_path / "o3")
    as_text = _run(tmp_path / "t.parquet", "dgfip", agreement, tmp_path / "o4")
    assert as_bytes.rows_accepted == as_text.rows_accepted > 0
