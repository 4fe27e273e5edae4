"""Ingest one agency extract: read in batches, validate, quarantine, pseudonymise, write canonical Parquet.

The run writes, under ``out``::

    <table>/<agency>-<extract_id>.parquet     canonical tables (pseudonyms only, provenance columns)
    return_tokens/<agency>-<extract_id>.parquet  person pseudonym → the agency's record number wrapped in a
                                              return token under the agency's own key (when it is given)
    quarantine/<agency>-<extract_id>.parquet  one row per fault: file, line, record, column, reason
    unidentified_members/<agency>-<extract_id>.parquet  what a quarantined membership line with an unusable NIR
                                              still says: its unit (pseudonym), role, months, the NIR's fault
    reports/<agency>-<extract_id>.json        counts: rows_read = rows_accepted + rows_quarantined (records:
                                              blank lines are counted apart); values repaired; whether
                                              the layout carries a dossier's payments on its members' lines;
                                              the resource kinds it can carry

A line is quarantined when any of its cells fails (parse, NIR, canonical check); otherwise all the rows it
emits are kept. Several lines giving the same canonical key (exact duplicates, late updates) keep the last
line, and the report counts the rows dropped that way per table. No raw identifier is written, logged or
raised: faults name the file, line, record and column, never the value.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import re
import shutil
import signal
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb  # at import, never in the middle of work: nonrecours/cli.py, _LOADED_WHOLE
import polars as pl

from nonrecours.connectors._ids import RETURN_TOKEN, check_export
from nonrecours.connectors.mapping import Emit, ExtractMapping, RecordLayout
from nonrecours.connectors.parse import (
    FAULT_SCHEMA,
    KEPT_OBJECTION,
    SUB,
    UNIDENTIFIED_SCHEMA,
    check_rows,
    emit_rows,
    fault_frame,
    parse_record,
    raw_fields,
    repairs,
    unemitted_lines,
    unidentified_members,
    where,
)
from nonrecours.connectors.readers import (
    FAULT,
    LINE,
    TEXT,
    check_not_compressed,
    ends_with_eof_mark,
    fit_to_header,
    iter_batches,
    read_header,
)
from nonrecours.errors import ConfigError, EmptyExtractError, ExtractError, PrivacyError
from nonrecours.privacy import ExchangeAgreement, PseudonymKey, ReturnTokenKey
from nonrecours.privacy.keys import key_id_matches
from nonrecours.schemas import TABLES, UNIDENTIFIED_MEMBERS

__all__ = ["RETURN_TOKENS", "RETURN_TOKENS_SCHEMA", "IngestReport", "ingest", "next_sequence"]

RETURN_TOKENS = "return_tokens"
RETURN_TOKENS_SCHEMA: dict[str, pl.DataType] = {
    "agency": pl.String(), "person_id": pl.String(), "return_token": pl.String(), "return_key_id": pl.String(),
    "extract_id": pl.String(), "extract_date": pl.Date()}
"""The protected table of record numbers: each (person, record) of the agency once, the number only as a
token its own key opens (AES-SIV, ``nonrecours.privacy.tokens``); what an outreach row carries back."""

log = logging.getLogger("nonrecours.connectors")
ROW = "__row"
_EMITS = 64


@dataclass
class TableCount:
    rows_emitted: int = 0
    duplicate_keys_dropped: int = 0
    rows_written: int = 0
    regularisations_netted: int = 0
    """Negative lines added to their key's payment line (``TableSpec.netted``): emitted = written + dropped +
    netted."""
    keys_in_two_units: int = 0
    """Keys whose lines name two units or more (``unit_memberships``: a person one agency lists in two of its
    dossiers from the same month, a child in alternating custody listed by each parent): one line kept, the last,
    and the others among ``duplicate_keys_dropped``, counted here and logged so the agency hears of it."""


@dataclass
class IngestReport:
    """Counts of one ingest run; ``rows_read == rows_accepted + rows_quarantined`` always."""

    agency: str
    file: str
    extract_id: str
    extract_date: str
    key_id: str
    rows_read: int = 0
    """Records read: a blank line is none (``blank_lines``)."""
    rows_accepted: int = 0
    rows_quarantined: int = 0
    blank_lines: int = 0
    """Lines holding nothing but blanks (an extra line end, often the last line): no record, so neither accepted
    nor quarantined, counted here and logged with the first one's number; a trailer's count excludes them."""
    repaired: dict[str, int] = field(default_factory=dict)
    """Values read after a repair that cannot change their meaning, by column and repair (``CODE_COMMUNE: leading
    zero restored (4-digit commune code)``), counted over the records parsed (quarantined ones included)."""
    unidentified_members: int = 0
    """Quarantined lines whose membership (unit, role) was kept without its person (``UNIDENTIFIED_MEMBERS``)."""
    opt_outs_kept_from_quarantined_lines: int = 0
    """Quarantined lines whose objection to contact was whole and kept all the same (``parse.KEPT_OBJECTION``): the
    line stays counted in ``rows_quarantined``, its fault in the quarantine; an objection is never lost to a fault
    elsewhere on its line."""
    faults: dict[str, int] = field(default_factory=dict)
    rows_not_emitted: dict[str, int] = field(default_factory=dict)
    """Accepted rows an emit with ``count_unemitted`` did not write for a blank field the table needs, by table and
    column (``persons: code_commune not given``): the row is accepted, its other tables written, but facts it gave
    that only this table holds (France Travail's nationality without the commune ``persons.depcom`` requires) are
    not kept; counted so that no loss goes unsaid. None is a fault (a jobseeker without a fixed address)."""
    declared_records: int | None = None
    """The record count a trailer declares (when the mapping has one); compared with rows_read."""
    control_ok: bool | None = None
    extract_date_source: str = ""
    """Where the extract date comes from: ``given``, ``header`` (a header record) or ``file`` (the file's
    modification date when neither is available; never the day of the run)."""
    empty: bool = False
    """No record besides a header or trailer (accepted only when allowed: ``allow_empty``)."""
    controls: list[str] = field(default_factory=list)
    """File-level controls that failed (the trailer's count...): a batch job stops on them."""
    tables: dict[str, TableCount] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    return_tokens: int | None = None
    """(person, record) pairs written to ``return_tokens`` (None: no return-token key was given)."""
    return_key_id: str | None = None
    adaptations: list[str] = field(default_factory=list)
    """How the file departed from the mapping and was read anyway: another separator, a column name in another
    case or spacing (``readers.fit_to_header``), fixed-width records whose trailing blanks a transfer removed
    (``trimmed_lengths``), DOS's end-of-file mark (0x1A) as the file's last byte, dropped."""
    famille_payments_on_member_lines: bool | None = None
    """The mapping's ``ExtractMapping.famille_payments_on_member_lines``: the extract carries a dossier's payments
    on its members' lines (the MSA's layout). Detection reads it back from the workspace's reports
    (``core.workspace.recorded_member_line_payers``), so a team's own mapping decides, not the agency's default one.
    None only in a report written before this field existed."""
    resource_kinds: list[str] | None = None
    """The mapping's ``ExtractMapping.resource_kinds``, sorted: the kinds of resource the layout can carry (empty:
    none). The core reads them back from the workspace's reports (``core.workspace.follower_kinds``): an agency
    following a famille answers for its members' resources of these kinds only, as the team's own mapping reads
    them. None only in a report written before this field existed."""
    payment_benefits: list[str] | None = None
    """The benefits whose payments the extract carries (``ExtractMapping.payment_benefits`` of the mapping and the
    file's columns), sorted: the core reads a benefit's payments as known only from payers whose extracts carry
    them (``core.workspace.recorded_layouts``; a CPAM file without ``MONTANT_ASI`` says nothing of the ASI paid).
    None only in a report written before this field existed."""
    optional_columns_absent: list[str] | None = None
    """The layout's optional columns the file's header lacks (CSV, Parquet; sorted), identifiers aside: what they
    carry is not read from this extract, unknown rather than none (a CPAM file without ``DATE_OPPOSITION`` reports
    no objection to contact: its people's objections are not known, not absent). Logged as a warning; an outside
    tester's files (probe12) lost objections, claims and RSA receipts this way without a word. None for a
    fixed-width file (no header) or a report written before this field existed."""
    sequence: int | None = None
    """The extract's place in the order its workspace's extracts were ingested (``next_sequence``): of two extracts
    of one agency with the same extract date, the rows of the one ingested last are read (a correction listed after
    its original in run.toml, whatever their names). None only in a report written before this field existed."""

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False)


_WRITTEN_IN_FULL = ("amount", "int", "float", "year", "date", "month", "nir")
"""Fixed-width field types written in full (numbers right-aligned and zero-padded, dates, NIRs): never with
trailing blanks, so a record that ends inside one was cut, not trimmed."""


def trimmed_lengths(record: RecordLayout) -> list[int]:
    """Lengths short of ``record.length`` at which a record may end once a transfer removed its trailing blanks.

    A mainframe file sent in text mode loses the blanks at the end of its records (z/OS FTP does so by default
    for fixed-length records, ``SITE TRAILINGBLANKS`` off): a record whose last fields are blank (an optional
    flag, a name's padding, the filler after the last field) comes shorter than its LRECL. It is read padded
    back with spaces when it ends where blanks may stand: after a field, or inside a left-aligned alphanumeric
    field (string, code, name). One that ends inside a number, a date or a NIR, which are written in full, was
    cut: it stays a fault (``record length``).
    """
    assert record.length is not None
    inside = {n for f in record.fields if f.type in _WRITTEN_IN_FULL and f.start is not None and f.end is not None
              for n in range(f.start, f.end)}
    return [n for n in range(1, record.length) if n not in inside]


def _split_records(batch: pl.DataFrame, mapping: ExtractMapping) -> tuple[list[tuple[RecordLayout, pl.DataFrame]],
                                                                          pl.DataFrame, int]:
    """Rows of each record layout, faults of lines no layout accepts (unknown type, bad length), and the number of
    records read at their layout's length after their trailing blanks were removed or restored
    (``trimmed_lengths``; blanks beyond the length are dropped)."""
    clean = batch.filter(pl.col(FAULT).is_null())
    if mapping.format != "fixed_width":
        return [(mapping.records[0], clean)], pl.DataFrame(schema=FAULT_SCHEMA), 0
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
    refitted = 0
    for code, rec in by_code.items():
        assert rec.length is not None
        rows = clean.filter(pl.col("__code") == code) if code is not None else clean
        # trailing blanks removed in transfer (padded back) or added beyond the record (dropped)
        trimmed = pl.col("__len").is_in(trimmed_lengths(rec))
        extra = (pl.col("__len") > rec.length) & (pl.col(TEXT).str.slice(rec.length).str.strip_chars(" ") == "")
        refit = rows.select((trimmed | extra).sum()).item()
        if refit:
            refitted += refit
            rows = rows.with_columns(
                pl.when(trimmed).then(pl.col(TEXT).str.pad_end(rec.length))
                .when(extra).then(pl.col(TEXT).str.slice(0, rec.length)).otherwise(pl.col(TEXT)).alias(TEXT),
            ).with_columns(pl.col(TEXT).str.len_chars().alias("__len"))
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
    return out, fault_df, refitted


def faults_once(faults: list[pl.DataFrame]) -> pl.DataFrame:
    """A batch's faults (``FAULT_SCHEMA``), each once per line and column, as the quarantine holds them and the
    report counts them (``nonrecours validate`` counts its sample so too): a column emitted to two tables (the
    DGFiP's ``qualite``, read for the foyer and the ménage) is one fault, and a cell that did not read gives its
    reason, not also that it has no canonical value."""
    fault_df = pl.concat(faults).unique(maintain_order=True)
    empty = pl.col("reason").str.starts_with("no value for canonical column")
    return fault_df.filter(~(empty & (~empty).any().over("line", "column")))


def canonical_rows(parsed: pl.DataFrame, rec: RecordLayout) -> Iterable[tuple[Emit, pl.DataFrame]]:
    """Each emit of a record with the canonical rows it writes from ``parsed``: a line quarantined whose objection to
    contact was whole (``parse.KEPT_OBJECTION``) feeds the objections (``opt_outs``) only, every other emit reads the
    whole lines. What ingest writes and checks, and ``nonrecours validate`` checks on its sample."""
    kept = KEPT_OBJECTION in parsed.columns
    whole = parsed.filter(~pl.col(KEPT_OBJECTION)) if kept else parsed
    for emit in rec.emits:
        yield emit, emit_rows(parsed if kept and emit.table == "opt_outs" else whole, rec, emit)


def _objection_dated(canon: pl.DataFrame, checked: pl.DataFrame, emit: Emit, rec: RecordLayout, mapping: ExtractMapping,
                     extract_date: dt.date, repaired: Counter[str]) -> tuple[pl.DataFrame, pl.Series]:
    """The objections to contact (``opt_outs`` rows) with their date at most the extract's, and the lines whose only
    fault is that date (kept, the line quarantined all the same). An objection reported by an extract of 28 June
    was made by then: a date blank, unreadable or after it (« 20270615 » for « 20260615 ») is a fault of the date,
    not of the objection, which the person made all the same; it counts from the extract date (RGPD art. 21: found
    by a probe of the monthly operations from the docs alone, 5 December 2026, a person who objected was back on
    the CAF's list). The rows with a date after the extract's that is no fault (within the year) are counted in
    ``repaired`` (the report's); one beyond the year is the line's fault, quarantined, not also repaired (a tester
    counted 2 repaired for one, runD, 6 December 2026)."""
    source = emit.columns.get("since")
    if source is None or not canon.height:
        return canon, pl.Series(LINE, [], dtype=pl.Int64)
    since = where(rec.field(source), mapping)
    only_date = (checked.group_by("line").agg((pl.col("column") == since).all().alias("_only"))
                 .filter(pl.col("_only")).get_column("line"))
    dated = canon.filter(pl.col(LINE).is_in(only_date.implode()) & pl.col("person_id").is_not_null())
    late = pl.col("since").is_null() | (pl.col("since") > extract_date)
    # repaired: a date after the extract within the year; beyond it the date is the line's fault, not a repair
    date_faulty = checked.filter(pl.col("column") == since).get_column("line")
    later = int(canon.select(((pl.col("since") > extract_date) & ~pl.col(LINE).is_in(date_faulty.implode()))
                             .sum()).item() or 0)
    if later:
        repaired[f"{since}: objection dated after the extract, counted from the extract date"] += later
    return (canon.with_columns(pl.when(late).then(pl.lit(extract_date)).otherwise(pl.col("since")).alias("since")),
            dated.get_column(LINE))


def _one_extract(mapping: ExtractMapping, control_lines: dict[str, list[int]], last_line: int, file: str) -> None:
    """Refuse a file holding two extracts: a second header record, or a trailer before the last record of a known
    type (a line no layout reads after it stays that line's fault: ``unknown record type``; two CAF
    files joined, ``cat a.dat b.dat``). Read as one, the second extract's rows took the first header's extract date,
    and only the trailer count failed, saying « a file cut short? » (probe hh21 M3). Quarantining the records after
    the second header would instead publish half an extract in place of the previous one: the file is refused,
    naming the line, and nothing is written."""
    found: list[tuple[int, str]] = []
    date_ref, count_ref = mapping.extract_date_from, mapping.record_count_from
    records = {r.name: r for r in mapping.records}
    if date_ref is not None and len(lines := sorted(control_lines.get(date_ref.record, []))) > 1:
        rec = records[date_ref.record]
        found.append((lines[1], f"a second header record ({rec.code or rec.name}; the first is at line {lines[0]}): "
                                 f"two extracts joined in one file? Each has its own extract date: split the file "
                                 f"and ingest each part"))
    if count_ref is not None and (lines := sorted(control_lines.get(count_ref.record, []))):
        rec = records[count_ref.record]
        early = [n for n in lines if n < last_line]
        if early:
            found.append((early[0], f"a trailer record ({rec.code or rec.name}) before the end of the file (records "
                                    f"follow, to line {last_line}): two extracts joined in one file? split the file "
                                    f"and ingest each part"))
    if found:
        line, message = min(found)
        raise ExtractError(message, file=file, line=line)


def ingest(input: str | Path, mapping: ExtractMapping, agreement: ExchangeAgreement, out: str | Path, *,
           key: PseudonymKey | None = None, extract_id: str | None = None,
           extract_date: dt.date | None = None, chunk_bytes: int = 8 << 20,
           batch_rows: int = 250_000, spill_rows: int = 5_000_000,
           return_key: ReturnTokenKey | None = None, allow_empty: bool = False) -> IngestReport:
    """Read ``input`` with ``mapping`` and write canonical tables, quarantine and report under ``out``.

    The agreement is checked first (PrivacyError on a mapping exporting an unlisted column); ``key``
    defaults to the agreement's pseudonym key (exchange secret, HKDF per exchange and purpose). Rows are
    read in chunks of ``chunk_bytes`` (text) or ``batch_rows`` (Parquet); a table of more than
    ``spill_rows`` rows is deduplicated by DuckDB, which spills to disk, instead of Polars in memory.
    ``return_key`` (the agency's own, from its secret) wraps the mapping's ``record_number`` of each person
    into the ``return_tokens`` table; the raw number is never written.

    An extract with no record besides its header (and trailer) raises :class:`EmptyExtractError` before anything
    is written, so the previous extract of the same id stays in place; ``allow_empty`` accepts it (an agency
    that has nothing to send for the period) and it then replaces that extract with no rows.
    """
    path = Path(input)
    out = Path(out)
    check_export(agreement, mapping.agency, mapping.exported_columns)
    key = key or agreement.pseudonym_key()
    if return_key is not None and return_key.agency != mapping.agency:
        raise PrivacyError(f"the return-token key given belongs to agency {return_key.agency}, the extract to "
                           f"{mapping.agency}")
    if return_key is not None and mapping.record_number is None:
        raise ConfigError(f"the {mapping.agency} mapping names no record_number to wrap in return tokens")
    extract_id = extract_id or id_of_file(path)
    _check_paths(path, out, extract_id)
    date_given = extract_date is not None
    date_source = "given" if date_given else "file"
    if extract_date is None:  # the file's own date until a header record gives one; never the clock
        extract_date = dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC).date()
    if mapping.format != "parquet" and path.is_file() and path.stat().st_size:
        check_not_compressed(path)
    mapping, adaptations = fit_to_header(path, mapping)
    if mapping.format != "parquet" and ends_with_eof_mark(path):
        adaptations.append("DOS end-of-file mark (0x1A) as the last byte of the file: dropped")
    for note in adaptations:
        log.warning("%s: %s", path.name, note)
    present = None if mapping.format == "fixed_width" else set(read_header(path, mapping))
    absent = None if present is None else sorted(
        {f.source for rec in mapping.records for f in rec.fields
         if not f.required and f.type not in _NOT_READ and f.source not in present})
    if absent:
        log.warning("%s: optional columns absent, what they carry is not read from this extract (unknown, not "
                    "none): %s", path.name, ", ".join(absent))
    report = IngestReport(agency=mapping.agency, file=path.name, extract_id=extract_id,
                          extract_date=extract_date.isoformat(), key_id=key.key_id,
                          return_key_id=return_key.key_id if return_key is not None else None,
                          adaptations=adaptations,
                          famille_payments_on_member_lines=mapping.famille_payments_on_member_lines,
                          resource_kinds=sorted(mapping.resource_kinds),
                          payment_benefits=sorted(mapping.payment_benefits(present)),
                          optional_columns_absent=absent)
    date_ref, count_ref = mapping.extract_date_from, mapping.record_count_from
    emits = [e for rec in mapping.records for e in rec.emits]
    if len(emits) > _EMITS:
        raise ConfigError(f"a mapping has at most {_EMITS} emits")
    emit_index = {id(e): i for i, e in enumerate(emits)}
    stem = f"{mapping.agency}-{extract_id}"
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    claim_key(out, key.key_id, created)
    _sweep_killed(out)
    work = Path(tempfile.mkdtemp(prefix=_WORK_PREFIX, dir=out))
    owner = _own(work)
    ok = False
    batches = iter_batches(path, mapping, chunk_bytes=chunk_bytes, batch_rows=batch_rows, work=work)
    try:
        _check_parquet_types(path, mapping, report)
        part = 0
        fault_parts: list[Path] = []
        table_parts: dict[str, list[Path]] = {}
        token_parts: list[Path] = []
        unidentified_parts: list[Path] = []
        emitted: Counter[str] = Counter()
        data_rows = 0  # rows of records that carry data: not the header or trailer records
        refitted = 0  # fixed-width records read at their length once trailing blanks were restored or dropped
        first_blank: int | None = None
        repaired: Counter[str] = Counter()
        not_emitted: Counter[str] = Counter()
        control_records = {r.record for r in (date_ref, count_ref) if r is not None}
        control_lines: dict[str, list[int]] = {r: [] for r in control_records}  # where each header/trailer stands
        last_line = 0  # of the last record of a known type: a line no layout reads after the trailer is its fault
        for batch in batches:
            part += 1
            report.rows_read += batch.frame.height
            if batch.blank is not None and batch.blank.len():
                report.blank_lines += batch.blank.len()
                here = int(batch.blank.min())  # type: ignore[arg-type]
                first_blank = here if first_blank is None else min(first_blank, here)  # a CSV's batches: any order
            faults = [fault_frame(batch.frame, None).cast(FAULT_SCHEMA)]  # type: ignore[arg-type]
            per_record, split_faults, refit = _split_records(batch.frame, mapping)
            refitted += refit
            faults.append(split_faults)
            rows_by_table: dict[str, list[pl.DataFrame]] = {}
            tokens: list[pl.DataFrame] = []
            objection_lines: list[pl.Series] = []
            skipped: list[tuple[str, pl.Series]] = []  # (report key, lines) of emits counting what they skip
            for rec, rows in per_record:
                if not rows.height:
                    continue
                data_rows += rows.height if rec.name not in control_records else 0
                last_line = max(last_line, int(rows.get_column(LINE).max()))  # type: ignore[arg-type]
                if rec.name in control_lines:
                    control_lines[rec.name] += rows.get_column(LINE).to_list()
                raw = raw_fields(rows, rec, mapping)
                repaired.update(repairs(raw, rec, mapping))
                parsed, parse_faults = parse_record(raw, rec, mapping, key, return_key=return_key)
                faults.append(parse_faults)
                if parse_faults.height:
                    lost = unidentified_members(raw, rec, mapping, key, parse_faults)
                    if lost.height:
                        up = work / f"{UNIDENTIFIED_MEMBERS}-{part:06d}-{len(unidentified_parts):04d}.parquet"
                        lost.write_parquet(up)
                        unidentified_parts.append(up)
                if RETURN_TOKEN in parsed.columns:  # the person's pseudonym beside the wrapped record number
                    person = next(f.target for f in rec.fields if f.type == "nir")
                    tokens.append(parsed.select(LINE, pl.col(person).alias("person_id"),
                                                pl.col(RETURN_TOKEN).alias("return_token")))
                if date_ref and rec.name == date_ref.record and not date_given and parsed.height:
                    found = parsed.get_column(date_ref.field).drop_nulls()
                    if found.len():  # the header comes first: every row gets the extract's own date
                        extract_date, date_given, date_source = found[0], True, "header"
                        report.extract_date = extract_date.isoformat()
                if count_ref and rec.name == count_ref.record and parsed.height:
                    report.declared_records = int(parsed.get_column(count_ref.field).drop_nulls()[-1])
                kept = (parsed.filter(pl.col(KEPT_OBJECTION)).get_column(LINE) if KEPT_OBJECTION in parsed.columns
                        else None)
                whole = parsed.filter(~pl.col(KEPT_OBJECTION)) if kept is not None else parsed
                for emit, canon in canonical_rows(parsed, rec):
                    objection = kept is not None and emit.table == "opt_outs"
                    if emit.count_unemitted:
                        skipped += [(f"{emit.table}: {where(rec.field(t), mapping)} not given", lines)
                                    for t, lines in unemitted_lines(whole, emit).items() if lines.len()]
                    if objection and kept is not None and kept.len():
                        objection_lines.append(canon.filter(pl.col(LINE).is_in(kept.implode())).get_column(LINE))
                    checked = check_rows(canon, emit, rec, mapping, extract_date=extract_date)
                    faults.append(checked)
                    if emit.table == "opt_outs":
                        canon, dated = _objection_dated(canon, checked, emit, rec, mapping, extract_date, repaired)
                        objection_lines.append(dated)
                    # a unique, ordered row id: line, then emit, then month of a spread year
                    row_id = (pl.col(LINE) * _EMITS + emit_index[id(emit)]) * 16 + pl.col(SUB)
                    rows_by_table.setdefault(emit.table, []).append(canon.select(
                        LINE, row_id.alias(ROW), *TABLES[emit.table].schema.keys() - {
                            "source_agency", "extract_id", "extract_date"}))
            fault_df = faults_once(faults)
            bad_lines = fault_df.get_column("line").unique()
            if fault_df.height:
                fp = work / f"faults-{part:06d}.parquet"
                fault_df.write_parquet(fp)
                fault_parts.append(fp)
            report.rows_quarantined += bad_lines.len()
            for what, lines in skipped:
                not_emitted[what] += lines.filter(~lines.is_in(bad_lines.implode())).len()
            if tokens:
                tp = work / f"{RETURN_TOKENS}-{part:06d}.parquet"
                (pl.concat(tokens).filter(~pl.col(LINE).is_in(bad_lines.implode())).drop(LINE)
                 .drop_nulls().unique().write_parquet(tp))
                token_parts.append(tp)
            objections = (pl.concat(objection_lines).unique() if objection_lines
                          else pl.Series(LINE, [], dtype=pl.Int64))
            objection_lines.clear()
            report.opt_outs_kept_from_quarantined_lines += objections.len()
            for table, frames in rows_by_table.items():
                spec = TABLES[table]
                # a quarantined line's objection to contact is kept when whole (``parse.KEPT_OBJECTION``)
                keep = (~pl.col(LINE).is_in(bad_lines.implode())
                        | (pl.col(LINE).is_in(objections.implode()) if table == "opt_outs" else pl.lit(False)))
                df = pl.concat(frames, how="diagonal_relaxed").filter(keep)
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
        _one_extract(mapping, control_lines, last_line, path.name)
        report.rows_accepted = report.rows_read - report.rows_quarantined
        if report.opt_outs_kept_from_quarantined_lines:
            log.warning("%s: %d quarantined lines' objections to contact kept (whole on their lines)", path.name,
                        report.opt_outs_kept_from_quarantined_lines)
        if report.blank_lines:
            log.warning("%s: %d blank lines skipped (no record; the first is line %d)", path.name, report.blank_lines,
                        first_blank)
        report.repaired = dict(repaired.most_common())
        report.rows_not_emitted = {k: n for k, n in not_emitted.most_common() if n}
        for what, n in report.rows_not_emitted.items():
            log.warning("%s: %s: %d accepted rows without that table's row", path.name, what, n)
        for what, n in report.repaired.items():
            log.warning("%s: %s: %d values", path.name, what, n)
        if refitted:
            note = (f"{refitted} records of another length read at their layout's length: trailing blanks removed "
                    f"in transfer (or added beyond the record)")
            report.adaptations.append(note)
            log.warning("%s: %s", path.name, note)
        report.extract_date_source = date_source
        report.empty = data_rows == 0 and report.rows_quarantined == 0
        if report.empty and not allow_empty:
            raise EmptyExtractError("no record after the header: an empty extract is refused (a failed export?) "
                                    "and the previous one of this id is kept; allow it (--allow-empty, run.toml "
                                    "allow_empty = true) if the agency has nothing to send", file=path.name)
        if report.empty:
            log.warning("%s: no record after the header: an empty extract, accepted as allowed", path.name)
        if date_source == "file":
            log.warning("%s: no extract date given nor in the file: the file's modification date is used",
                        path.name)
        ended = agreement.retention_until(extract_date)
        if ended < dt.datetime.now(dt.UTC).date():  # said, not refused: a team may rerun an old month it still holds
            log.warning("%s: extracted on %s, past the agreement's retention period (%d days, ended %s): exchanged "
                        "data is not to be kept beyond it; `nonrecours audit expired` lists what to purge",
                        path.name, extract_date.isoformat(), agreement.retention_days, ended.isoformat())
        if date_ref is not None and data_rows and not control_lines[date_ref.record]:
            # the header record opens every extract of the layout: records without it are a file whose start was
            # lost (the second part of a split file, a transfer cut at the front), whatever the trailer says
            header = next(r for r in mapping.records if r.name == date_ref.record)
            report.controls.append(f"header: no header record read ({header.code or header.name}): the file's start "
                                   f"lost? (a part of a split file)")
            log.warning("%s: no header record (%s): the file's start lost?", path.name, header.code or header.name)
        if count_ref is not None:
            records = report.rows_read  # blank lines are no records: not counted
            report.control_ok = report.declared_records == records
            if not report.control_ok:
                report.controls.append(
                    "record count: no trailer record (a file cut short?)" if report.declared_records is None
                    else f"record count: the trailer declares {report.declared_records:,} records, "
                         f"{records:,} were read (a file cut short?)")
                log.warning("%s: the trailer declares %s records, %d were read (truncated file?)", path.name,
                            report.declared_records if report.declared_records is not None else "no", records)
        staged = work / "staged"
        staged.mkdir()
        _finish(report, staged, stem, path.name, fault_parts, table_parts, emitted, work, spill_rows)
        _finish_unidentified(report, staged, stem, unidentified_parts, mapping.agency, extract_id, extract_date)
        if return_key is not None:
            _finish_tokens(report, staged, stem, token_parts, return_key, extract_id, extract_date)
        report.sequence = next_sequence(out, again=[stem])
        _publish(report, staged, out, stem)
        ok = True
    finally:
        # the reader's own temporary files removed here, where a Ctrl-C arriving meanwhile is raised: left to the
        # generator's finalizer (an error leaving the loop), its KeyboardInterrupt was printed and lost
        try:
            batches.close()
        finally:
            _cleanup(work, out if created and not ok else None)
            os.close(owner)
    for table, count in report.tables.items():
        if count.keys_in_two_units:
            log.warning("%s: %s: %d memberships (a person and a kind of unit) name two units from the same month (a "
                        "child in alternating custody in each parent's dossier?): the last line kept, the person "
                        "evaluated in that unit alone",
                        path.name, table, count.keys_in_two_units)
    for table in _AMOUNT_TABLES:
        if (count := report.tables.get(table)) is not None and count.duplicate_keys_dropped:
            # routine in monthly exports (a corrected line sent after the first): the run's log, not the console
            log.info("%s: %s: %d lines replaced by a later line of the same key (person or dossier, month, kind): "
                     "the last is kept, as a correction of the earlier (two amounts of one month to be added up "
                     "are summed before the export)", path.name, table, count.duplicate_keys_dropped)
        if count is not None and count.regularisations_netted:
            log.info("%s: %s: %d regularisations added to their month's payment line (the month's net)", path.name,
                     table, count.regularisations_netted)
    log.info("%s: %d read, %d accepted, %d quarantined", path.name, report.rows_read, report.rows_accepted,
             report.rows_quarantined)
    return report


_NOT_READ = ("identity",)
"""Field types no emit reads (names, addresses): their absence loses nothing."""

_AMOUNT_TABLES = ("resources", "benefits_paid")
"""Tables of monthly amounts: a key repeated in one extract is a correction, which the log says (persons and
memberships repeat on every month by design, merged silently)."""


def next_sequence(workspace: Path, again: Iterable[str] = ()) -> int:
    """The ``IngestReport.sequence`` of the next extract ingested into ``workspace``: one more than the highest of
    its reports but those of the extracts ``again`` (``<agency>-<extract_id>``) being ingested anew (1 for the
    first). An extract ingested again after another is the latest; ingested again as it was, it keeps its number
    (a rerun writes the same reports)."""
    skip = set(again)
    highest = 0
    for rp in (Path(workspace) / "reports").glob("*.json"):
        if rp.stem in skip:
            continue
        try:
            seq = json.loads(rp.read_text(encoding="utf-8")).get("sequence")
        except (OSError, ValueError, AttributeError):
            continue  # an unreadable report is the core's to refuse, by name (core.workspace)
        if isinstance(seq, int) and not isinstance(seq, bool):
            highest = max(highest, seq)
    return highest + 1


_EXTRACT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
WORKSPACE_FILE = "workspace.json"


def id_of_file(path: Path) -> str:
    """The extract id a file's name gives when none is: its stem in ASCII letters (« é » is « e »), each run of other
    characters than letters, digits, '.', '_' and '-' written '_' (« CNAV extraction juin 2026.csv » is
    ``CNAV_extraction_juin_2026``: an agency names its files as it likes, and a run naming them in its
    configuration took their stems, refused with a space). Two names that differ only there give one id: the
    second replaces the first extract, as a file of the same name does."""
    ascii_stem = unicodedata.normalize("NFKD", path.stem).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_stem).lstrip("._-")[:100].rstrip("_") or path.stem


def _check_paths(path: Path, out: Path, extract_id: str) -> None:
    """Clean errors for what a new user gets wrong, before anything is written."""
    if not path.exists():
        raise ExtractError("file not found", file=path.name)
    if path.is_dir():
        raise ExtractError("is a folder, not an extract file", file=path.name)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"the output {out.name} is a file, not a workspace folder")
    if not _EXTRACT_ID.match(extract_id):
        raise ConfigError("an extract id is letters, digits, '.', '_' or '-' (no '/'), at most 100 characters, "
                          "a letter or digit first (the file's name gives none: give one, --extract-id)")


def claim_key(out: Path, key_id: str, created: bool) -> None:
    """Record the workspace's key id; refuse tables pseudonymised under another exchange key (they never join)."""
    marker = out / WORKSPACE_FILE
    if marker.exists():
        held = json.loads(marker.read_text(encoding="utf-8")).get("key_id")
        if not key_id_matches(held, key_id):  # a workspace written before key ids had their letter stays readable
            raise PrivacyError(f"the workspace {out} holds tables pseudonymised under key {held}; this exchange's "
                               f"key is {key_id}: their pseudonyms would never join (use another workspace)")
        return
    if not created and any(p.suffix == ".parquet" for p in out.rglob("*.parquet")):
        raise PrivacyError(f"the folder {out} holds tables of unknown key (no {WORKSPACE_FILE}): use a new "
                           "workspace")
    marker.write_text(json.dumps({"key_id": key_id}), encoding="utf-8")


def _publish(report: IngestReport, staged: Path, out: Path, stem: str) -> None:
    """Replace every output of this extract (tables, quarantine, report) by the staged ones.

    A re-ingest under the same extract id leaves none of the previous run's rows: tables the new run does
    not produce are removed. Each file is moved with an atomic rename; SIGINT is held off meanwhile.
    """
    report.outputs = {}
    moves: list[tuple[Path | None, Path]] = []
    for name in [*TABLES, RETURN_TOKENS, UNIDENTIFIED_MEMBERS, "quarantine"]:
        src = staged / name / f"{stem}.parquet"
        moves.append((src if src.exists() else None, out / name / f"{stem}.parquet"))
    rp = staged / "reports" / f"{stem}.json"
    rp.parent.mkdir(parents=True, exist_ok=True)
    final_report = out / "reports" / f"{stem}.json"
    for src, dst in moves:
        if src is not None:
            report.outputs[dst.parent.name] = str(dst)
    report.outputs["report"] = str(final_report)
    rp.write_text(report.to_json(), encoding="utf-8")
    moves.append((rp, final_report))
    with _no_interrupt():
        for src, dst in moves:
            if src is None:
                dst.unlink(missing_ok=True)
                continue
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)


class _no_interrupt:
    """Hold SIGINT off (main thread only) while files are moved or removed, then deliver it."""

    def __enter__(self) -> None:
        self.blocked = hasattr(signal, "pthread_sigmask")
        if self.blocked:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})

    def __exit__(self, *exc: object) -> None:
        if self.blocked:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


_WORK_PREFIX = ".ingest-"
_OWNER = ".owner"
"""A file in an ingest's private folder, locked (``flock``) while the ingest lives: the kernel releases the lock
when the process dies, however it dies."""
_UNLOCKED_GRACE_S = 60.0
"""A private folder without its owner file (killed between creating the folder and locking it) older than this."""


def _own(work: Path) -> int:
    """Lock ``work``'s owner file for this process; the descriptor is closed when the ingest ends."""
    fd = os.open(work / _OWNER, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def _sweep_killed(out: Path) -> None:
    """Remove the private folders of ingests killed outright (SIGKILL, the out-of-memory killer), which no
    ``finally`` cleaned: each holds a raw copy of its extract (names, NIRs) inside the workspace. An outside
    tester's killed CNAM ingest left an 11.8 MB copy there that later ingests and runs kept without a word
    (probe17, 7 December 2026). A folder whose owner file is still locked belongs to a live ingest and stays."""
    for work in out.glob(f"{_WORK_PREFIX}*"):
        if not work.is_dir():
            continue
        try:
            fd = os.open(work / _OWNER, os.O_RDWR)
        except FileNotFoundError:
            if dt.datetime.now().timestamp() - work.stat().st_mtime < _UNLOCKED_GRACE_S:
                continue  # being created by a live ingest, most likely
        else:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # a live ingest writes into the same folder
                continue
            finally:
                os.close(fd)
        with _no_interrupt():
            shutil.rmtree(work, ignore_errors=True)
        log.warning("%s: removed %s, the private folder of an ingest killed before it could clean up (it held "
                    "raw values of its extract)", out.name, work.name)


def _cleanup(work: Path, created_out: Path | None) -> None:
    """Remove the run's private folder (raw values of the CSV copy, part files) and an output folder the
    failed run created, even when interrupted."""
    with _no_interrupt():
        shutil.rmtree(work, ignore_errors=True)
        if created_out is not None:
            marker = created_out / WORKSPACE_FILE
            if marker.exists() and not [p for p in created_out.iterdir() if p != marker]:
                marker.unlink()
            with contextlib.suppress(OSError):  # not empty: something else lives there
                created_out.rmdir()


def _check_parquet_types(path: Path, mapping: ExtractMapping, report: IngestReport) -> None:
    """A Parquet column of text where the layout reads numbers (an export that kept every column as text, as
    many do to keep leading zeros: pandas' ``dtype=str``) is read value by value as a CSV's text is: each value
    a number, or a fault quarantined with its row and column. Nothing is misread, so it is an adaptation the
    report names, not a failed control that would stop a batch job on valid data. A column of the Null type (every
    value missing: how Polars and pyarrow type an optional column nobody's row fills) is what it says."""
    if mapping.format != "parquet":
        return
    try:
        schema = pl.scan_parquet(path).collect_schema()
    except Exception:  # an unreadable file is reported by the reader, with its own message
        return
    for f in mapping.records[0].fields:
        if f.source not in schema or f.type not in ("amount", "int", "float", "year"):
            continue
        if schema[f.source] == pl.Null:  # every value missing (a writer typing an empty column Null): no text
            continue
        if not schema[f.source].is_numeric():
            note = (f"column {f.source}: {schema[f.source]} where numbers are expected: each value read as text, "
                    f"as in a CSV (a value that is not a number is quarantined)")
            report.adaptations.append(note)
            log.warning("%s: %s", path.name, note)


_NETTED = "__netted"
"""The amount of the regularisation netted into a kept line (``TableSpec.netted``), null when none."""


def _last_per_key_lazy(parts: pl.LazyFrame, key: list[str], netted: str | None) -> pl.LazyFrame:
    """Row ids of the last row of each canonical key; with ``netted`` (``TableSpec.netted``) the last non-negative
    row, or the last negative one where the key has none, with ``_NETTED`` the last negative row's value when both
    exist (added to the kept row's)."""
    if netted is None:
        return parts.group_by(key).agg(pl.col(ROW).max()).select(ROW)
    neg = pl.col(netted) < 0
    return (parts.group_by(key)
            .agg(pl.col(ROW).filter(~neg).max().alias("_pos"), pl.col(ROW).filter(neg).max().alias("_neg"),
                 pl.col(netted).filter(neg).sort_by(pl.col(ROW).filter(neg)).last().alias(_NETTED))
            .select(pl.coalesce("_pos", "_neg").alias(ROW),
                    pl.when(pl.col("_pos").is_not_null()).then(pl.col(_NETTED)).alias(_NETTED)))


def _last_per_key(parts: list[Path], key: list[str], work: Path, netted: str | None = None) -> Path:
    """``_last_per_key_lazy``'s rows computed by DuckDB (spills to disk if needed)."""
    out = work / f"winners-{parts[0].stem}.parquet"
    files = ", ".join(f"'{p}'" for p in parts)  # our own temporary paths
    cols = ", ".join(f'"{c}"' for c in key)
    if netted is None:
        query = f"SELECT max({ROW}) AS {ROW} FROM read_parquet([{files}]) GROUP BY {cols}"
    else:
        neg = f'"{netted}" < 0'
        query = (f"SELECT coalesce(_pos, _neg) AS {ROW}, CASE WHEN _pos IS NOT NULL THEN _add END AS {_NETTED} "
                 f"FROM (SELECT max({ROW}) FILTER (WHERE NOT ({neg})) AS _pos, "
                 f"max({ROW}) FILTER (WHERE {neg}) AS _neg, arg_max(\"{netted}\", {ROW}) FILTER (WHERE {neg}) AS _add "
                 f"FROM read_parquet([{files}]) GROUP BY {cols})")
    con = duckdb.connect()
    try:
        con.execute(f"SET temp_directory = '{work / 'duckdb'}'")
        con.execute(f"SET memory_limit = '{_DUCKDB_MEMORY}'")
        con.execute(f"COPY ({query}) TO '{out}' (FORMAT parquet)")
    finally:
        con.close()
    return out


_DUCKDB_MEMORY = "1GB"


def _finish_tokens(report: IngestReport, out: Path, stem: str, parts: list[Path], key: ReturnTokenKey,
                   extract_id: str, extract_date: dt.date) -> None:
    """Each (person, token) once, with the agency and key id: the protected table of record numbers."""
    tdir = out / RETURN_TOKENS
    tdir.mkdir(exist_ok=True)
    tpath = tdir / f"{stem}.parquet"
    frame = (pl.scan_parquet(parts).unique().collect() if parts
             else pl.DataFrame(schema={"person_id": pl.String, "return_token": pl.String}))
    frame = frame.select(pl.lit(key.agency).alias("agency"), "person_id", "return_token",
                         pl.lit(key.key_id).alias("return_key_id"), pl.lit(extract_id).alias("extract_id"),
                         pl.lit(extract_date, dtype=pl.Date).alias("extract_date"))
    frame.cast(RETURN_TOKENS_SCHEMA).sort("person_id", "return_token").write_parquet(tpath)  # type: ignore[arg-type]
    report.return_tokens = frame.height
    report.outputs[RETURN_TOKENS] = str(tpath)


def _finish_unidentified(report: IngestReport, out: Path, stem: str, parts: list[Path], agency: str,
                         extract_id: str, extract_date: dt.date) -> None:
    """The memberships of quarantined lines without their person, with provenance (none: no file)."""
    if not parts:
        return
    frame = pl.read_parquet(parts).cast(UNIDENTIFIED_SCHEMA).unique(maintain_order=True).sort("line")  # type: ignore[arg-type]
    frame = frame.with_columns(pl.lit(agency).cast(TABLES["unit_memberships"].schema["source_agency"])
                               .alias("source_agency"), pl.lit(extract_id).alias("extract_id"),
                               pl.lit(extract_date, dtype=pl.Date).alias("extract_date"))
    udir = out / UNIDENTIFIED_MEMBERS
    udir.mkdir(exist_ok=True)
    upath = udir / f"{stem}.parquet"
    frame.write_parquet(upath)
    report.unidentified_members = frame.height
    report.outputs[UNIDENTIFIED_MEMBERS] = str(upath)


def _finish(report: IngestReport, out: Path, stem: str, file: str, fault_parts: list[Path],
            table_parts: dict[str, list[Path]], emitted: Counter[str], work: Path, spill_rows: int) -> None:
    qdir = out / "quarantine"
    qdir.mkdir(exist_ok=True)  # ``out`` is the staging folder: _publish moves the files in place
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
        netted = 0
        if spec.key:
            if emitted[table] > spill_rows:  # DuckDB spills to disk: the keys need not fit in memory
                winners = pl.scan_parquet(_last_per_key(table_parts[table], list(spec.key), work, spec.netted))
            else:
                winners = _last_per_key_lazy(parts, list(spec.key), spec.netted)
            if spec.netted is None:
                parts = parts.join(winners, on=ROW, how="semi", maintain_order="left")
            else:
                dtype = spec.schema[spec.netted]
                parts = (parts.join(winners, on=ROW, how="inner", maintain_order="left")
                         .with_columns((pl.col(spec.netted) + pl.col(_NETTED).fill_null(0)).cast(dtype))
                         .drop(_NETTED))
                netted = winners.select(pl.col(_NETTED).is_not_null().sum()).collect().item()
        two_units = 0
        if spec.key and "unit_id" in spec.schema and "unit_id" not in spec.key and emitted[table]:
            two_units = (pl.scan_parquet(table_parts[table]).group_by(list(spec.key))
                         .agg(pl.col("unit_id").n_unique()).filter(pl.col("unit_id") > 1).select(pl.len())
                         .collect(engine="streaming").item())
        parts.drop(LINE, ROW).sink_parquet(tpath)
        written = pl.scan_parquet(tpath).select(pl.len()).collect().item()
        report.tables[table] = TableCount(rows_emitted=emitted[table],
                                          duplicate_keys_dropped=emitted[table] - written - netted,
                                          regularisations_netted=netted, rows_written=written,
                                          keys_in_two_units=two_units)
        report.outputs[table] = str(tpath)
