"""Ingest a batch job can trust: replacement on re-ingest, one key per workspace, exit codes, plausibility,
the extract date, clean errors and interrupts."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import signal
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from nonrecours.cli import app
from nonrecours.connectors import default_mapping, ingest
from nonrecours.errors import ConfigError, EmptyExtractError, ExtractError, PrivacyError
from nonrecours.privacy import ExchangeAgreement, load_agreement

from .conftest import EXCHANGE, Territory


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def test_reingest_under_the_same_id_replaces_the_extract(territory: Territory, agreement: ExchangeAgreement,
                                                         tmp_path: Path) -> None:
    first = ingest(territory.extracts["cnav"], default_mapping("cnav"), agreement, tmp_path, extract_id="cnav-06")
    assert pl.read_parquet(first.outputs["persons"]).height > 0
    header_only = _write(tmp_path / "h.csv", _lines(territory.extracts["cnav"])[:1])
    # an empty extract is refused by default (a failed export?): the previous one stays whole
    with pytest.raises(EmptyExtractError):
        ingest(header_only, default_mapping("cnav"), agreement, tmp_path, extract_id="cnav-06")
    assert pl.read_parquet(first.outputs["persons"]).height > 0
    assert not list(tmp_path.glob(".ingest-*"))
    again = ingest(header_only, default_mapping("cnav"), agreement, tmp_path, extract_id="cnav-06",
                   allow_empty=True)
    assert again.rows_read == 0 and again.empty
    assert not (tmp_path / "persons" / "cnav-cnav-06.parquet").exists()
    assert not list(tmp_path.glob("*/cnav-cnav-06.parquet"))[1:]  # only the (empty) quarantine remains
    assert not list(tmp_path.glob(".ingest-*"))


def test_a_workspace_refuses_a_second_exchange_key(territory: Territory, agreement: ExchangeAgreement,
                                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ingest(territory.extracts["caf"], default_mapping("caf"), agreement, tmp_path)
    monkeypatch.setenv("NONRECOURS_EXCHANGE_SECRET", secrets.token_urlsafe(40))
    other = load_agreement(EXCHANGE)
    with pytest.raises(PrivacyError, match="never join"):
        ingest(territory.extracts["cnav"], default_mapping("cnav"), other, tmp_path)
    assert not (tmp_path / "persons" / "cnav-cnav.parquet").exists()


def test_implausible_values_are_quarantined_with_a_reason(territory: Territory, agreement: ExchangeAgreement,
                                                          tmp_path: Path) -> None:
    lines = _lines(territory.extracts["cnav"])
    header = lines[0].split(";")

    def edit(i: int, name: str, value: str) -> None:
        cells = lines[i].split(";")
        cells[header.index(name)] = value
        lines[i] = ";".join(cells)

    edit(1, "DATE_NAISSANCE", "20990101")
    edit(2, "DATE_NAISSANCE", "18000101")
    edit(3, "MOIS_ECHEANCE", "209901")
    edit(4, "NATIONALITE", "ET")
    edit(4, "ANNEES_TITRE_SEJOUR", "300")
    edit(5, "NATIONALITE", "ET")
    edit(5, "ANNEES_TITRE_SEJOUR", "99999")
    report = ingest(_write(tmp_path / "cnav.csv", lines), default_mapping("cnav"), agreement, tmp_path / "o",
                    extract_date=dt.date(2026, 7, 1))
    q = pl.read_parquet(report.outputs["quarantine"])
    got = {(r["line"], r["column"], r["reason"]) for r in q.iter_rows(named=True)}
    assert (2, "DATE_NAISSANCE", "birth date after the extract date") in got
    assert (3, "DATE_NAISSANCE", "date before 1900") in got
    assert (4, "MOIS_ECHEANCE", "date more than a year after the extract date") in got
    assert (5, "ANNEES_TITRE_SEJOUR", "more than 120 years") in got
    assert (6, "ANNEES_TITRE_SEJOUR", "value out of range for canonical column residence_permit_years (Int16)") in got


def test_extract_date_comes_from_the_file_never_the_clock(territory: Territory, agreement: ExchangeAgreement,
                                                         tmp_path: Path) -> None:
    src = tmp_path / "cnav.csv"
    src.write_bytes(territory.extracts["cnav"].read_bytes())
    stamp = dt.datetime(2026, 7, 3, 12, tzinfo=dt.UTC).timestamp()
    os.utime(src, (stamp, stamp))
    report = ingest(src, default_mapping("cnav"), agreement, tmp_path / "a")
    assert (report.extract_date, report.extract_date_source) == ("2026-07-03", "file")
    given = ingest(src, default_mapping("cnav"), agreement, tmp_path / "b", extract_date=dt.date(2026, 6, 30))
    assert (given.extract_date, given.extract_date_source) == ("2026-06-30", "given")
    caf = ingest(territory.extracts["caf"], default_mapping("caf"), agreement, tmp_path / "c")
    assert caf.extract_date_source == "header"


def test_the_command_line_says_where_the_extract_date_comes_from(territory: Territory, tmp_path: Path) -> None:
    """A file's modification date is a weak extract date (a copy made today): the command warns, and the report
    records the source; a date given or read from the header is not warned about."""
    src = tmp_path / "cnav.csv"
    src.write_bytes(territory.extracts["cnav"].read_bytes())
    stamp = dt.datetime(2026, 7, 3, 12, tzinfo=dt.UTC).timestamp()
    os.utime(src, (stamp, stamp))
    runner = CliRunner()

    def ingest_cli(agency: str, path: Path, out: str, *extra: str):  # type: ignore[no-untyped-def]
        return runner.invoke(app, ["ingest", "--agency", agency, "--input", str(path), "--exchange", str(EXCHANGE),
                                   "--out", str(tmp_path / out), *extra])

    res = ingest_cli("cnav", src, "a")
    assert res.exit_code == 0
    assert "warning: cnav.csv: no --extract-date and no date in the file: its modification date 2026-07-03" in (
        " ".join(res.output.split()))
    report = json.loads((tmp_path / "a" / "reports" / "cnav-cnav.json").read_text())
    assert (report["extract_date"], report["extract_date_source"]) == ("2026-07-03", "file")
    given = ingest_cli("cnav", src, "b", "--extract-date", "2026-06-30")
    assert given.exit_code == 0 and "warning" not in given.output
    caf = ingest_cli("caf", territory.extracts["caf"], "c")
    assert caf.exit_code == 0 and "warning" not in caf.output


def test_an_empty_extract_exits_7_unless_allowed(territory: Territory, agreement: ExchangeAgreement,
                                                 tmp_path: Path) -> None:
    """A header-only file, most likely a failed export for an agency of many people: exit 7, nothing written and
    the previous extract of that id kept; ``--allow-empty`` accepts it (the agency had nothing to send)."""
    runner = CliRunner()
    ws = tmp_path / "ws"

    def ingest_cli(path: Path, *extra: str):  # type: ignore[no-untyped-def]
        return runner.invoke(app, ["ingest", "--agency", "cnav", "--input", str(path), "--exchange", str(EXCHANGE),
                                   "--out", str(ws), "--extract-id", "cnav-06", "--extract-date", "2026-07-01",
                                   *extra])

    header_only = _write(tmp_path / "h.csv", [*_lines(territory.extracts["cnav"])[:1], ""])
    res = ingest_cli(header_only)
    assert res.exit_code == 7 and "no record after the header" in res.output
    assert not ws.exists()  # the run created nothing
    assert ingest_cli(territory.extracts["cnav"]).exit_code == 0
    before = pl.read_parquet(ws / "persons" / "cnav-cnav-06.parquet").height
    assert ingest_cli(header_only).exit_code == 7
    assert pl.read_parquet(ws / "persons" / "cnav-cnav-06.parquet").height == before > 0
    allowed = ingest_cli(header_only, "--allow-empty")
    assert allowed.exit_code == 0 and "0 rows read" in allowed.output
    assert not (ws / "persons" / "cnav-cnav-06.parquet").exists()  # replaced by an extract with no row
    assert json.loads((ws / "reports" / "cnav-cnav-06.json").read_text())["empty"] is True


def test_clean_errors_and_no_folder_left(territory: Territory, agreement: ExchangeAgreement, tmp_path: Path) -> None:
    with pytest.raises(ExtractError, match="is a folder"):
        ingest(tmp_path, default_mapping("cnav"), agreement, tmp_path / "o1")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        ingest(territory.extracts["cnav"], default_mapping("cnav"), agreement, tmp_path / "file")
    with pytest.raises(ConfigError, match="no '/'"):
        ingest(territory.extracts["cnav"], default_mapping("cnav"), agreement, tmp_path / "o2", extract_id="a/b")
    broken = _write(tmp_path / "b.csv", ["nothing;here", "1;2"])
    with pytest.raises(ExtractError):
        ingest(broken, default_mapping("cnav"), agreement, tmp_path / "o3")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("o")]


def test_interrupt_leaves_nothing(territory: Territory, agreement: ExchangeAgreement, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    mod = sys.modules["nonrecours.connectors.ingest"]

    def stop(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(mod, "parse_record", stop)
    res = CliRunner().invoke(app, ["ingest", "--agency", "cnav", "--input", str(territory.extracts["cnav"]),
                                   "--exchange", str(EXCHANGE), "--out", str(tmp_path / "ws")])
    assert res.exit_code == 130 and "interrupted" in res.output
    assert not (tmp_path / "ws").exists()


def test_a_ctrl_c_during_the_readers_cleanup_after_an_error_is_raised_not_lost(
        territory: Territory, agreement: ExchangeAgreement, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An error leaves ingest's loop over the CSV reader's batches (a write interrupted by the signal's arrival:
    « Interrupted system call »), and the Ctrl-C's handler runs while the reader removes its temporary files.
    That cleanup is ingest's own (``batches.close()``), so the KeyboardInterrupt reaches the command (130); left to
    the generator's finalizer, it was printed as « Exception ignored in: <generator object iter_batches> » and
    lost (the suite's killed-run test, about 1 Ctrl-C in 12 on a loaded machine)."""
    import sys

    ing, readers = sys.modules["nonrecours.connectors.ingest"], sys.modules["nonrecours.connectors.readers"]

    def eintr(*args: object, **kwargs: object) -> None:
        raise OSError(4, "Interrupted system call")

    real = readers.shutil.rmtree

    def interrupted_rmtree(path: object, *args: object, **kwargs: object) -> None:
        if Path(str(path)).name.startswith(".csv-"):  # the reader's own folder: the handler runs here
            real(path, *args, **kwargs)
            raise KeyboardInterrupt
        real(path, *args, **kwargs)

    monkeypatch.setattr(ing, "parse_record", eintr)
    monkeypatch.setattr(readers.shutil, "rmtree", interrupted_rmtree)
    with pytest.raises(KeyboardInterrupt):
        ingest(territory.extracts["cnav"], default_mapping("cnav"), agreement, tmp_path / "ws")
    assert not (tmp_path / "ws").exists()


def test_a_ctrl_c_a_finalizer_swallowed_still_ends_the_command_as_interrupted(
        territory: Territory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Ctrl-C handler may run inside any finalizer, where Python prints its KeyboardInterrupt and drops it: the
    command (``cli._sigint_remembered``'s ``sys.unraisablehook``) prints nothing of it, goes on, and ends as
    interrupted (130), not as a success the user did not let it reach."""
    import sys

    from nonrecours import cli

    mod = sys.modules["nonrecours.connectors.ingest"]
    real = mod.parse_record

    class Finalized:
        def __del__(self) -> None:
            cli._on_sigint(2, None)  # the handler run at a finalizer's first instruction

    def parse(*args: object, **kwargs: object) -> object:
        Finalized()  # collected at once
        return real(*args, **kwargs)

    monkeypatch.setattr(mod, "parse_record", parse)
    before = sys.unraisablehook
    # Python's own handler, as a terminal gives it: a test run earlier on this worker may have left its own (PySpark
    # sets one), and the command keeps a caller's handler theirs (test_command_line.py)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        res = CliRunner().invoke(app, ["ingest", "--agency", "cnav", "--input", str(territory.extracts["cnav"]),
                                       "--exchange", str(EXCHANGE), "--out", str(tmp_path / "ws")])
    finally:
        signal.signal(signal.SIGINT, previous)
    assert res.exit_code == 130 and "interrupted" in res.output
    assert "Exception ignored" not in res.output and "Traceback" not in res.output
    assert sys.unraisablehook is before  # the command's hook for its time only


_LONG_COPY = "COPY (SELECT sum(i * i) AS s FROM range(10000000000) t(i)) TO '{out}' (FORMAT parquet)"
"""A statement of seconds (tens under load), for the interrupts of the CSV reader's worker."""


def test_an_interrupt_as_the_csv_reader_starts_leaves_no_thread_in_duckdb(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A Ctrl-C while the CSV reader's worker thread starts (``Thread.start`` waits for it): the statement is
    interrupted or never begins, and the worker is done with the connection when the interrupt goes up."""
    import threading

    import duckdb

    from nonrecours.connectors import readers

    start = threading.Thread.start

    def interrupted_start(self: threading.Thread) -> None:
        start(self)
        if self.name == "nonrecours-csv":
            raise KeyboardInterrupt

    monkeypatch.setattr(threading.Thread, "start", interrupted_start)
    con = duckdb.connect()
    out = tmp_path / "sum.parquet"
    with pytest.raises(KeyboardInterrupt):
        readers._interruptible(con, _LONG_COPY.format(out=out))
    con.close()  # refused while a statement runs (« connection is busy »)
    assert not out.exists()


def test_a_ctrl_c_while_the_csv_reader_runs_waits_for_its_worker(tmp_path: Path) -> None:
    """A real SIGINT to the main thread while the worker runs its COPY. The reader waited with
    ``Thread.join``, which Python 3.11 marks stopped when Ctrl-C interrupts it: the reader went on with the
    worker still in DuckDB, and the process aborted at exit as the worker freed the connection (SIGABRT, not
    130: stop 49's CI, test_run.py)."""
    import threading

    import duckdb

    from nonrecours.connectors import readers

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.3, signal.pthread_kill, (threading.main_thread().ident, signal.SIGINT))
    con = duckdb.connect()
    out = tmp_path / "sum.parquet"
    try:
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            readers._interruptible(con, _LONG_COPY.format(out=out))
        con.close()  # refused while a statement runs (« connection is busy »)
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    assert not out.exists()


def test_exit_codes_tell_a_bad_run(territory: Territory, tmp_path: Path) -> None:
    runner = CliRunner()

    def run(agency: str, src: Path, *extra: str) -> int:
        return runner.invoke(app, ["ingest", "--agency", agency, "--input", str(src), "--exchange", str(EXCHANGE),
                                   "--out", str(tmp_path / f"ws-{src.name}"), *extra]).exit_code

    assert run("cnav", territory.extracts["cnav"]) == 0
    caf_lines = territory.extracts["caf"].read_bytes().decode("latin-1").split("\n")
    cut = tmp_path / "caf.dat"
    cut.write_bytes("\n".join(caf_lines[: len(caf_lines) // 2]).encode("latin-1"))
    assert run("caf", cut) == 3  # the trailer is missing: control_ok false
    df = pl.read_parquet(territory.extracts["dgfip"])
    df.with_columns(pl.col("salaires_traitements").cast(pl.String)).write_parquet(tmp_path / "dgfip.parquet")
    assert run("dgfip", tmp_path / "dgfip.parquet") == 0  # amounts as text: read as a CSV's (next test)
    lines = _lines(territory.extracts["cnav"])
    nir = lines[0].split(";").index("NIR")
    bad = [lines[0], *[";".join("" if j == nir else c for j, c in enumerate(x.split(";"))) for x in lines[1:] if x]]
    assert run("cnav", _write(tmp_path / "bad.csv", bad)) == 3  # every row quarantined: a control, exit 3
    assert run("cnav", territory.extracts["cnav"], "--extract-date", "2026-13-01") == 2


def test_a_correction_of_the_same_date_wins_when_ingested_last(territory: Territory, agreement: ExchangeAgreement,
                                                              tmp_path: Path) -> None:
    """Two DRM files of one extract date, the correction ingested after its original: its amount is read, whatever
    the files' names (« a_fix.csv » lost to « drm.csv » by name, the row it corrected kept without a word: found by a
    tester's hand-written household, a salary of 2,500 € corrected to 500 € read as 2,500 €, 6 December 2026)."""
    from nonrecours.core.workspace import scan_workspace

    lines = _lines(territory.extracts["drm"])
    amount = lines[0].split(";").index("MONTANT")
    cells = lines[1].split(";")
    was = float(cells[amount])
    cells[amount] = f"{was + 1234.5:.2f}"
    day = dt.date(2026, 6, 28)
    original = _write(tmp_path / "drm.csv", lines)
    correction = _write(tmp_path / "a_fix.csv", [lines[0], ";".join(cells)])
    ws = tmp_path / "ws"
    reports = [ingest(f, default_mapping("drm"), agreement, ws, extract_date=day) for f in (original, correction)]
    assert [r.sequence for r in reports] == [1, 2]
    key = pl.read_parquet(ws / "resources" / "drm-a_fix.parquet").select("person_id", "month", "kind")
    assert key.height == 1

    def read() -> list[float]:
        return (scan_workspace(ws)["resources"].collect().join(key, on=["person_id", "month", "kind"])
                .get_column("amount").cast(pl.Float64).to_list())

    assert read() == [was + 1234.5]
    # the original sent again after its correction: it is now the latest ingested, its amount read
    assert ingest(original, default_mapping("drm"), agreement, ws, extract_date=day).sequence == 3
    assert read() == [was]


def test_numbers_stored_as_text_in_a_parquet_file_are_read_as_a_csvs(territory: Territory,
                                                                    agreement: ExchangeAgreement,
                                                                    tmp_path: Path) -> None:
    """An export keeping every column as text (pandas' ``dtype=str``, to keep leading zeros) holds the DGFiP's year
    and amounts as strings: each value is read as a CSV's is, the same canonical rows as the typed file; a value that
    is no number is quarantined with its row and column, and the report names the columns read as text. Until
    6 December 2026 this failed a file-level control (exit 3): a batch job stopped on valid data."""
    df = pl.read_parquet(territory.extracts["dgfip"])
    typed = ingest(territory.extracts["dgfip"], default_mapping("dgfip"), agreement, tmp_path / "typed",
                   extract_id="dgfip")
    text = df.with_columns(pl.col("annee_revenus", "salaires_traitements", "revenu_fiscal_reference")
                           .cast(pl.String))
    row = int(text.with_row_index().filter(pl.col("salaires_traitements").is_not_null())["index"][0])
    bad = text.with_columns(pl.when(pl.int_range(pl.len()) == row).then(pl.lit("douze mille"))
                            .otherwise(pl.col("salaires_traitements")).alias("salaires_traitements"))
    text.write_parquet(tmp_path / "text.parquet")
    bad.write_parquet(tmp_path / "bad.parquet")
    read = ingest(tmp_path / "text.parquet", default_mapping("dgfip"), agreement, tmp_path / "text",
                  extract_id="dgfip")
    assert read.controls == []
    assert sorted(a.split(":")[0] for a in read.adaptations) == [
        "column annee_revenus", "column revenu_fiscal_reference", "column salaires_traitements"]
    for table, path in ((t, p) for t, p in typed.outputs.items() if str(p).endswith(".parquet")):
        ours = pl.read_parquet(read.outputs[table]).drop("file", strict=False)  # the quarantine names the file
        theirs = pl.read_parquet(path).drop("file", strict=False)
        assert ours.sort(ours.columns).equals(theirs.sort(ours.columns)), table
    faulty = ingest(tmp_path / "bad.parquet", default_mapping("dgfip"), agreement, tmp_path / "bad",
                    extract_id="dgfip")
    assert faulty.rows_read == faulty.rows_accepted + faulty.rows_quarantined
    assert faulty.rows_quarantined == read.rows_quarantined + 1
    quarantine = pl.read_parquet(faulty.outputs["quarantine"])
    assert quarantine.filter((pl.col("line") == row + 1) & (pl.col("column") == "salaires_traitements")).height == 1


def test_an_optional_amount_nobody_has_typed_null_in_parquet_is_read(territory: Territory,
                                                                     agreement: ExchangeAgreement,
                                                                     tmp_path: Path) -> None:
    """Nobody in the extract declares alimony: the optional column is null on every row, and Polars or pyarrow then
    types it Null. Every box is empty, read as nothing declared; until 6 December 2026 a failed control (« Null
    where numbers are expected », exit 3) stopped the batch job (a tester's hand-written DGFiP file)."""
    df = pl.read_parquet(territory.extracts["dgfip"])
    df.with_columns(pl.lit(None).alias("pensions_alimentaires_recues")).write_parquet(tmp_path / "dgfip.parquet")
    assert pl.read_parquet_schema(tmp_path / "dgfip.parquet")["pensions_alimentaires_recues"] == pl.Null
    report = ingest(tmp_path / "dgfip.parquet", default_mapping("dgfip"), agreement, tmp_path / "ws", extract_id="d")
    assert report.controls == [] and report.adaptations == []
    assert report.rows_read == report.rows_accepted + report.rows_quarantined == df.height
    income = pl.read_parquet(report.outputs["annual_income"])
    assert income.height > 0 and "alimony" not in income.get_column("kind").to_list()
