"""Ingest one agency extract: read in batches, validate, quarantine, pseudonymise, write canonical Parquet.

The run writes, under ``out``::

    <table>/<agency>-<extract_id>.parquet     canonical tables (pseudonyms only, provenance columns)
    quarantine/<agency>-<extract_id>.parquet  one row per fault: file, line, record, column, reason
    reports/<agency>-<extract_id>.json        counts: rows_read = rows_accepted + rows_quarantined

A line is quarantined when any of its cells fails (parse, NIR, canonical check); otherwise all the rows it
emits are kept. Several lines giving the same canonical key (exact duplicates, late updates) keep the last
line, and the report counts the rows dropped that way per table. No raw identifier is written, logged or
raised: faults name the file, line, record and column, never the value.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import polars as pl

from nonrecours.connectors._ids import check_export
from nonrecours.connectors.mapping import ExtractMapping, RecordLayout
from nonrecours.connectors.parse import (
    FAULT_SCHEMA,
    SUB,
    check_rows,
    emit_rows,
    fault_frame,
    parse_record,
    raw_fields,
)
from nonrecours.connectors.readers import FAULT, LINE, TEXT, iter_batches
from nonrecours.errors import ConfigError
from nonrecours.privacy import ExchangeAgreement, PseudonymKey
from nonrecours.schemas import TABLES

__all__ = ["IngestReport", "ingest"]

log = logging.getLogger("nonrecours.connectors")
ROW = "__row"
_EMITS = 64


@dataclass
class TableCount:
    rows_emitted: int = 0
    duplicate_keys_dropped: int = 0
    rows_written: int = 0


@dataclass
class IngestReport:
    """Counts of one ingest run; ``rows_read == rows_accepted + rows_quarantined`` always."""

    agency: str
    file: str
    extract_id: str
    extract_date: str
    key_id: str
    rows_read: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    declared_records: int | None = None
    """The record count a trailer declares (when the mapping has one); compare with rows_read."""
    control_ok: bool | None = None
    tables: dict[str, TableCount] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False)


def _split_records(batch: pl.DataFrame, mapping: ExtractMapping) -> tuple[list[tuple[RecordLayout, pl.DataFrame]],
                                                                          pl.DataFrame]:
    """Rows of each record layout, and faults of lines no layout accepts (unknown type, bad length)."""
    clean = batch.filter(pl.col(FAULT).is_null())
    if mapping.format != "fixed_width":
        return [(mapping.records[0], clean)], pl.DataFrame(schema=FAULT_SCHEMA)
    faults = []
    out = []
    if len(mapping.records) == 1:
        codes = pl.lit(mapping.records[0].code)
        by_code = {mapping.records[0].code: mapping.records[0]}
    else:
        assert mapping.record_type_start is not None and mapping.record_type_length is not None
        codes = pl.col(TEXT).str.slice(mapping.record_type_start - 1, mapping.record_type_length)
        by_code = {r.code: r for r in mapping.records}
    clean = clean.with_columns(codes.alias("__code"), pl.col(TEXT).str.len_chars().alias("__len"))
    for code, rec in by_code.items():
        rows = clean.filter(pl.col("__code") == code) if code is not None else clean
        bad_len = rows.filter(pl.col("__len") != rec.length)
        if bad_len.height:
            faults.append(bad_len.select(
                pl.col(LINE).alias("line"), pl.lit(rec.name).alias("record"),
                pl.lit("record length").alias("column"),
                pl.format("{} characters where {} expected (truncated or wrong encoding?)",
                          pl.col("__len"), pl.lit(rec.length)).alias("reason")))
        out.append((rec, rows.filter(pl.col("__len") == rec.length)))
    if len(mapping.records) > 1:
        unknown = clean.filter(~pl.col("__code").is_in([c for c in by_code if c is not None]))
        if unknown.height:
            faults.append(unknown.select(
                pl.col(LINE).alias("line"), pl.lit(None, dtype=pl.String).alias("record"),
                pl.lit(f"record type (positions {mapping.record_type_start}-"
                       f"{mapping.record_type_start + mapping.record_type_length - 1})").alias("column"),
                pl.lit("unknown record type").alias("reason")))
    fault_df = pl.concat([f.cast(FAULT_SCHEMA) for f in faults]) if faults else pl.DataFrame(schema=FAULT_SCHEMA)
    return out, fault_df


def ingest(input: str | Path, mapping: ExtractMapping, agreement: ExchangeAgreement, out: str | Path, *,
           key: PseudonymKey | None = None, extract_id: str | None = None,
           extract_date: dt.date | None = None, chunk_bytes: int = 8 << 20,
           batch_rows: int = 250_000, spill_rows: int = 5_000_000) -> IngestReport:
    """Read ``input`` with ``mapping`` and write canonical tables, quarantine and report under ``out``.

    The agreement is checked first (PrivacyError on a mapping exporting an unlisted column); ``key``
    defaults to the agreement's pseudonym key (exchange secret, HKDF per exchange and purpose). Rows are
    read in chunks of ``chunk_bytes`` (text) or ``batch_rows`` (Parquet); a table of more than
    ``spill_rows`` rows is deduplicated by DuckDB, which spills to disk, instead of Polars in memory.
    """
    path = Path(input)
    out = Path(out)
    check_export(agreement, mapping.agency, mapping.exported_columns)
    key = key or agreement.pseudonym_key()
    extract_id = extract_id or path.stem
    date_given = extract_date is not None
    extract_date = extract_date or dt.date.today()
    report = IngestReport(agency=mapping.agency, file=path.name, extract_id=extract_id,
                          extract_date=extract_date.isoformat(), key_id=key.key_id)
    date_ref, count_ref = mapping.extract_date_from, mapping.record_count_from
    emits = [e for rec in mapping.records for e in rec.emits]
    if len(emits) > _EMITS:
        raise ConfigError(f"a mapping has at most {_EMITS} emits")
    emit_index = {id(e): i for i, e in enumerate(emits)}
    stem = f"{mapping.agency}-{extract_id}"
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".ingest-", dir=out))
    try:
        part = 0
        fault_parts: list[Path] = []
        table_parts: dict[str, list[Path]] = {}
        emitted: Counter[str] = Counter()
        for batch in iter_batches(path, mapping, chunk_bytes=chunk_bytes, batch_rows=batch_rows, work=work):
            part += 1
            report.rows_read += batch.frame.height
            faults = [fault_frame(batch.frame, None).cast(FAULT_SCHEMA)]  # type: ignore[arg-type]
            per_record, split_faults = _split_records(batch.frame, mapping)
            faults.append(split_faults)
            rows_by_table: dict[str, list[pl.DataFrame]] = {}
            for rec, rows in per_record:
                if not rows.height:
                    continue
                raw = raw_fields(rows, rec, mapping)
                ok, parse_faults = parse_record(raw, rec, mapping, key)
                faults.append(parse_faults)
                if date_ref and rec.name == date_ref.record and not date_given and ok.height:
                    found = ok.get_column(date_ref.field).drop_nulls()
                    if found.len():  # the header comes first: every row gets the extract's own date
                        extract_date, date_given = found[0], True
                        report.extract_date = extract_date.isoformat()
                if count_ref and rec.name == count_ref.record and ok.height:
                    report.declared_records = int(ok.get_column(count_ref.field).drop_nulls()[-1])
                for emit in rec.emits:
                    canon = emit_rows(ok, rec, emit)
                    faults.append(check_rows(canon, emit, rec, mapping))
                    # a unique, ordered row id: line, then emit, then month of a spread year
                    row_id = (pl.col(LINE) * _EMITS + emit_index[id(emit)]) * 16 + pl.col(SUB)
                    rows_by_table.setdefault(emit.table, []).append(canon.select(
                        LINE, row_id.alias(ROW), *TABLES[emit.table].schema.keys() - {
                            "source_agency", "extract_id", "extract_date"}))
            fault_df = pl.concat(faults)
            bad_lines = fault_df.get_column("line").unique()
            if fault_df.height:
                fp = work / f"faults-{part:06d}.parquet"
                fault_df.write_parquet(fp)
                fault_parts.append(fp)
            report.rows_quarantined += bad_lines.len()
            for table, frames in rows_by_table.items():
                spec = TABLES[table]
                df = pl.concat(frames, how="diagonal_relaxed").filter(~pl.col(LINE).is_in(bad_lines.implode()))
                df = df.with_columns(
                    pl.lit(mapping.agency).cast(spec.schema["source_agency"]).alias("source_agency"),
                    pl.lit(extract_id).alias("extract_id"),
                    pl.lit(extract_date).alias("extract_date"),
                )
                # only what the agreement lists leaves; unfilled nullable columns come back as nulls
                kept = agreement.minimise(df.drop(LINE, ROW), mapping.agency, table).columns
                df = df.select(LINE, ROW, *[pl.col(c) if c in kept else pl.lit(None, dtype=d).alias(c)
                                       for c, d in spec.schema.items()])
                emitted[table] += df.height
                tp = work / f"{table}-{part:06d}.parquet"
                df.write_parquet(tp)
                table_parts.setdefault(table, []).append(tp)
            log.info("%s: batch %d, %d lines read so far", path.name, part, report.rows_read)
        report.rows_accepted = report.rows_read - report.rows_quarantined
        if count_ref is not None:
            report.control_ok = report.declared_records == report.rows_read
            if not report.control_ok:
                log.warning("%s: the trailer declares %s records, %d were read (truncated file?)", path.name,
                            report.declared_records if report.declared_records is not None else "no",
                            report.rows_read)
        _finish(report, out, stem, path.name, fault_parts, table_parts, emitted, work, spill_rows)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rp = out / "reports" / f"{stem}.json"
    rp.parent.mkdir(parents=True, exist_ok=True)
    report.outputs["report"] = str(rp)
    rp.write_text(report.to_json(), encoding="utf-8")
    log.info("%s: %d read, %d accepted, %d quarantined", path.name, report.rows_read, report.rows_accepted,
             report.rows_quarantined)
    return report


def _last_per_key(parts: list[Path], key: list[str], work: Path) -> Path:
    """Row ids of the last row of each canonical key, computed by DuckDB (spills to disk if needed)."""
    import duckdb

    out = work / f"winners-{parts[0].stem}.parquet"
    files = ", ".join(f"'{p}'" for p in parts)  # our own temporary paths
    cols = ", ".join(f'"{c}"' for c in key)
    con = duckdb.connect()
    try:
        con.execute(f"SET temp_directory = '{work / 'duckdb'}'")
        con.execute(f"SET memory_limit = '{_DUCKDB_MEMORY}'")
        con.execute(f"COPY (SELECT max({ROW}) AS {ROW} FROM read_parquet([{files}]) GROUP BY {cols}) "
                    f"TO '{out}' (FORMAT parquet)")
    finally:
        con.close()
    return out


_DUCKDB_MEMORY = "1GB"


def _finish(report: IngestReport, out: Path, stem: str, file: str, fault_parts: list[Path],
            table_parts: dict[str, list[Path]], emitted: Counter[str], work: Path, spill_rows: int) -> None:
    qdir = out / "quarantine"
    qdir.mkdir(exist_ok=True)
    qpath = qdir / f"{stem}.parquet"
    qschema = {"file": pl.String, **FAULT_SCHEMA}
    if fault_parts:
        q = pl.scan_parquet(fault_parts).select(pl.lit(file).alias("file"), *FAULT_SCHEMA).sort("line")
        q.sink_parquet(qpath)
        counts = pl.scan_parquet(qpath).group_by("column", "reason").len().collect()
        report.faults = {f"{r['column'] or 'line'}: {r['reason']}": int(r["len"])
                         for r in counts.sort("len", descending=True).iter_rows(named=True)}
    else:
        pl.DataFrame(schema=qschema).write_parquet(qpath)
    report.outputs["quarantine"] = str(qpath)
    for table in TABLES:
        if table not in table_parts:
            continue
        spec = TABLES[table]
        tdir = out / table
        tdir.mkdir(exist_ok=True)
        tpath = tdir / f"{stem}.parquet"
        parts = pl.scan_parquet(table_parts[table])
        if spec.key:
            if emitted[table] > spill_rows:  # DuckDB spills to disk: the keys need not fit in memory
                winners = pl.scan_parquet(_last_per_key(table_parts[table], list(spec.key), work))
            else:
                winners = parts.group_by(list(spec.key)).agg(pl.col(ROW).max()).select(ROW)
            parts = parts.join(winners, on=ROW, how="semi", maintain_order="left")
        parts.drop(LINE, ROW).sink_parquet(tpath)
        written = pl.scan_parquet(tpath).select(pl.len()).collect().item()
        report.tables[table] = TableCount(rows_emitted=emitted[table],
                                          duplicate_keys_dropped=emitted[table] - written,
                                          rows_written=written)
        report.outputs[table] = str(tpath)
