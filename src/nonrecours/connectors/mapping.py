"""Declarative mappings from an agency's native extract to the canonical tables.

A mapping says, without code, how to read one extract layout: the file format and encoding, the record
layouts (one for CSV/Parquet, several for a multi-record fixed-width file), and for each field its source
column (or fixed-width position), its type, decimal comma, date format and code translation table. Each
record then *emits* rows into canonical tables: ``columns`` maps a canonical column to a field, ``constants``
fill the rest. A user adapts the YAML/TOML file to their own layout; the model checks it at load time
(unknown field, missing canonical column, identity field exported...) and raises ``ConfigError``.

Field types that carry identifiers: ``nir`` (normalised, validated, replaced by a keyed pseudonym),
``local_id`` (an agency-local number such as the CAF matricule, replaced by a pseudonym in the agency's
namespace) and ``identity`` (names, addresses, exact birth dates: documented, never parsed, never emitted).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from nonrecours.errors import ConfigError
from nonrecours.schemas import TABLES
from nonrecours.schemas.codes import AGENCIES, BENEFITS, RESOURCE_KINDS

__all__ = ["NIR_FACT_COLUMNS", "Emit", "ExtractMapping", "FieldMap", "FieldRef", "RecordLayout", "load_mapping"]

FieldType = Literal["string", "commune", "int", "amount", "float", "date", "month", "year", "bool", "code",
                    "nir", "local_id", "identity"]
_PROVENANCE = ("source_agency", "extract_id", "extract_date")
NIR_FACT_COLUMNS = ("born_in_france", "sex")
"""The persons columns a nir field may fill besides the pseudonym: facts read from the number at ingest
(``connectors.parse.NIR_FACTS``)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldMap(_Model):
    """One source column (or fixed-width slice) read into a typed field named ``target``."""

    source: str = Field(description="column name in the extract (a label for fixed-width fields)")
    target: str = Field(description="field name used by emits; usually the canonical column name")
    type: FieldType = "string"
    required: bool = True
    start: int | None = Field(None, ge=1, description="fixed-width: 1-based first position")
    length: int | None = Field(None, ge=1, description="fixed-width: number of characters")
    decimal_comma: bool = False
    implied_decimals: int = Field(0, ge=0, le=6, description="amounts written without a point, in cents...")
    scale: float | None = Field(None, description="multiply a float field (e.g. 0.01 for a percentage)")
    date_format: str | None = Field(None, description="strftime format of date/month fields")
    codes: dict[str, str] | None = Field(None, description="translation table: source code → canonical")
    allow_negative: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> FieldMap:
        if (self.start is None) != (self.length is None):
            raise ValueError(f"field {self.target}: start and length go together")
        if self.type in ("date", "month") and not self.date_format:
            raise ValueError(f"field {self.target}: a date or month field needs date_format")
        if self.type == "code" and not self.codes:
            raise ValueError(f"field {self.target}: a code field needs a codes table")
        if self.type == "bool" and not self.codes:
            raise ValueError(f"field {self.target}: a bool field needs codes mapping to 'true'/'false'")
        if self.type == "bool" and self.codes and set(self.codes.values()) - {"true", "false"}:
            raise ValueError(f"field {self.target}: bool codes must map to 'true' or 'false'")
        return self

    @property
    def end(self) -> int | None:
        return None if self.start is None or self.length is None else self.start + self.length - 1


class Emit(_Model):
    """Rows of one canonical table made from the accepted rows of a record."""

    table: str
    columns: dict[str, str] = Field(default_factory=dict, description="canonical column → field target")
    constants: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
    when: dict[str, list[str]] = Field(default_factory=dict,
                                       description="emit only rows whose field (after translation) is listed")
    when_nonzero: list[str] = Field(default_factory=list, description="emit only rows where these are not 0")
    when_present: list[str] = Field(default_factory=list, description="emit only rows where these are given")
    when_absent: list[str] = Field(default_factory=list, description="emit only rows where these are blank (a CSS "
                                   "claim event whose tier the CPAM has not decided: read for both tiers)")
    count_unemitted: bool = Field(False, description="count in the report the accepted rows this emit skips for a "
                                  "blank when_present field: facts the table cannot hold without it")
    spread_year: str | None = Field(None, description="a year field: emit 12 monthly rows, amount / 12")

    @model_validator(mode="after")
    def _table(self) -> Emit:
        if self.table not in TABLES:
            raise ValueError(f"unknown canonical table {self.table}; expected one of {', '.join(TABLES)}")
        spec = TABLES[self.table]
        both = set(self.columns) & set(self.constants)
        if both:
            raise ValueError(f"table {self.table}: column {sorted(both)[0]} is both mapped and constant")
        for col in [*self.columns, *self.constants]:
            if col not in spec.schema or col in _PROVENANCE:
                raise ValueError(f"table {self.table}: {col} is not a canonical column a mapping may fill")
        generated = {"month"} if self.spread_year else set()
        missing = [c for c in spec.schema if c not in _PROVENANCE and c not in spec.nullable
                   and c not in self.columns and c not in self.constants and c not in generated]
        if missing:
            raise ValueError(f"table {self.table}: canonical column {missing[0]} is neither mapped nor constant")
        if self.spread_year and "amount" not in self.columns:
            raise ValueError(f"table {self.table}: spread_year needs an amount column")
        return self

    @property
    def canonical_columns(self) -> list[str]:
        """Canonical columns this emit fills (the columns leaving the connector)."""
        return [c for c in TABLES[self.table].schema if c in self.columns or c in self.constants
                or (c == "month" and self.spread_year)]


class RecordLayout(_Model):
    """One kind of row: the only one in a CSV or Parquet file, one record type in a fixed-width file."""

    name: str
    code: str | None = Field(None, description="record type code (fixed-width multi-record files)")
    length: int | None = Field(None, ge=1, description="fixed-width record length (LRECL)")
    fields: list[FieldMap] = Field(default_factory=list)
    emits: list[Emit] = Field(default_factory=list)

    @model_validator(mode="after")
    def _fields(self) -> RecordLayout:
        targets = [f.target for f in self.fields]
        dup = {t for t in targets if targets.count(t) > 1}
        if dup:
            raise ValueError(f"record {self.name}: field {sorted(dup)[0]} defined twice")
        by_target = {f.target: f for f in self.fields}
        for emit in self.emits:
            refs = [*emit.columns.values(), *emit.when, *emit.when_nonzero, *emit.when_present, *emit.when_absent]
            refs += [emit.spread_year] if emit.spread_year else []
            for ref in refs:
                if ref not in by_target:
                    raise ValueError(f"record {self.name}: emit to {emit.table} uses unknown field {ref}")
                if by_target[ref].type == "identity":
                    raise ValueError(f"record {self.name}: field {ref} is a direct identifier and may not "
                                     "be exported")
            for col, ref in emit.columns.items():
                ftype = by_target[ref].type
                id_col = col in ("person_id", "unit_id", "menage_id")
                if id_col and ftype not in ("nir", "local_id"):
                    raise ValueError(f"record {self.name}: {emit.table}.{col} must come from a nir or "
                                     "local_id field (it holds a pseudonym)")
                if col == "born_in_france" and ftype not in ("nir", "bool"):
                    raise ValueError(f"record {self.name}: {emit.table}.{col} comes from a nir field (the "
                                     "birth place read from the number) or a bool field")
                from_nir = col in NIR_FACT_COLUMNS and ftype == "nir"
                if not id_col and not from_nir and ftype in ("nir", "local_id"):
                    raise ValueError(f"record {self.name}: identifier field {ref} may only fill an id "
                                     "column (or born_in_france or sex, from a nir)")
        return self

    def field(self, target: str) -> FieldMap:
        return next(f for f in self.fields if f.target == target)


class FieldRef(_Model):
    """A field of one record layout (e.g. the extract date of a header record)."""

    record: str
    field: str


class ExtractMapping(_Model):
    """How to read one agency extract layout and turn it into canonical tables."""

    agency: str
    description: str = ""
    format: Literal["csv", "fixed_width", "parquet"]
    encoding: Literal["utf-8", "latin-1", "cp1252"] = "utf-8"
    separator: str = ";"
    quote: str | None = '"'
    record_type_start: int | None = Field(None, ge=1, description="fixed-width: position of the record code")
    record_type_length: int | None = Field(None, ge=1)
    records: list[RecordLayout]
    extract_date_from: FieldRef | None = Field(
        None, description="a date field (header record) giving the extract date when none is passed")
    record_count_from: FieldRef | None = Field(
        None, description="an int field (trailer record) with the number of records the file should hold")
    record_number: str | None = Field(
        None, description="the field (a local_id, or the nir where the agency files people by NIR) holding the "
                          "agency's own record number: wrapped at ingest in a return token only it can open")

    @model_validator(mode="after")
    def _layout(self) -> ExtractMapping:
        if self.record_number is not None:
            carriers = [r for r in self.records
                        if any(f.target == self.record_number and f.type in ("local_id", "nir") for f in r.fields)
                        and any(f.type == "nir" for f in r.fields)]
            if not carriers:
                raise ValueError(f"record_number {self.record_number}: no record has it as a local_id or nir "
                                 "field beside the person's nir")
        for ref, kinds in ((self.extract_date_from, ("date",)), (self.record_count_from, ("int",))):
            if ref is None:
                continue
            rec = next((r for r in self.records if r.name == ref.record), None)
            f = next((f for f in rec.fields if f.target == ref.field), None) if rec else None
            if f is None or f.type not in kinds:
                raise ValueError(f"{ref.record}.{ref.field}: no {kinds[0]} field of that name in that record")
        if self.agency not in AGENCIES or self.agency == "synth":
            raise ValueError(f"unknown agency {self.agency}")
        if not self.records:
            raise ValueError("a mapping needs at least one record layout")
        if self.format == "fixed_width":
            multi = len(self.records) > 1
            if multi and (self.record_type_start is None or self.record_type_length is None):
                raise ValueError("a multi-record fixed-width layout needs record_type_start and _length")
            for rec in self.records:
                if multi and rec.code is None:
                    raise ValueError(f"record {rec.name}: a record type code is required")
                if rec.length is None:
                    raise ValueError(f"record {rec.name}: fixed-width records need a length")
                for f in rec.fields:
                    if f.start is None:
                        raise ValueError(f"record {rec.name}: field {f.target} needs start and length")
                    if f.end is not None and f.end > rec.length:
                        raise ValueError(f"record {rec.name}: field {f.target} ends after the record")
        else:
            if len(self.records) != 1:
                raise ValueError(f"a {self.format} mapping has exactly one record layout")
            if self.format == "csv" and len(self.separator) != 1:
                raise ValueError("the CSV separator is one character")
            if self.format == "csv" and self.quote is not None and len(self.quote) != 1:
                raise ValueError("the CSV quote is one character")
        return self

    @property
    def famille_payments_on_member_lines(self) -> bool:
        """Whether a dossier's payments arrive on its members' lines: a record carrying a person's NIR emits
        famille payments (the MSA's layout: one line per member and nature, the payments on the assuré's),
        rather than on a record of the dossier (the CAF's record 30, keyed by the matricule alone). A dossier
        of such an agency whose allocataire's line is missing from the extract then shows none of its payments."""
        return any(any(f.type == "nir" for f in rec.fields)
                   and any(e.table == "benefits_paid" and e.constants.get("unit_kind") == "famille"
                           for e in rec.emits)
                   for rec in self.records)

    @property
    def resource_kinds(self) -> frozenset[str]:
        """The kinds of resource (``resources.kind``) this layout can carry: a constant kind, or those of the field
        mapped to ``kind`` (a code field's translations; any kind from a field read as it is written), narrowed by
        the emit's ``when`` on that field. Empty for a layout emitting no resources. Ingest records it in each
        extract's report (``IngestReport.resource_kinds``): an agency that follows a famille declares its
        members' resources of these kinds only, its silence on another kind is no zero
        (``core.CoreConfig.follower_kinds``; the MSA's default layout carries salaries and pensions, no alimony,
        unemployment benefit nor invalidity pension)."""
        return self._emitted("resources", "kind", RESOURCE_KINDS)

    def payment_benefits(self, present: set[str] | None = None) -> frozenset[str]:
        """The benefits whose payments (``benefits_paid``) this layout carries: a constant benefit, or those of the
        field mapped to ``benefit`` (a code field's translations), narrowed by the emit's ``when`` on it. ``present``:
        the column names of a file with a header (CSV, Parquet); an emit whose amount comes from an optional column
        the file does not have carries nothing (a CPAM file without ``MONTANT_ASI`` reports no ASI paid: the ASI's
        payments are unknown, not 0). Ingest records it in each extract's report (``IngestReport.payment_benefits``),
        and the core reads a benefit's payments as known only from payers whose extracts carry them."""
        return self._emitted("benefits_paid", "benefit", BENEFITS, present)

    def _emitted(self, table: str, column: str, universe: tuple[str, ...],
                 present: set[str] | None = None) -> frozenset[str]:
        """The values of ``column`` the emits of ``table`` can write: a constant, or those of the field mapped to it
        (a code field's translations; any of ``universe`` from a field read as it is written), narrowed by the emit's
        ``when`` on that field. ``present``: a file's column names, an emit whose amount is an optional column the
        file does not have writing nothing (``payment_benefits``)."""
        out: set[str] = set()
        for rec in self.records:
            for emit in rec.emits:
                if emit.table != table:
                    continue
                amount = emit.columns.get("amount")
                if amount is not None and present is not None and self.format != "fixed_width":
                    source = rec.field(amount)
                    if not source.required and source.source not in present:
                        continue
                if column in emit.constants:
                    out.add(str(emit.constants[column]))
                    continue
                target = emit.columns[column]  # a non-null canonical column: mapped when not constant
                field = rec.field(target)
                can = set(field.codes.values()) if field.type == "code" and field.codes else set(universe)
                if target in emit.when:
                    can &= set(emit.when[target])
                out |= can
        return frozenset(out & set(universe))

    @property
    def exported_columns(self) -> dict[str, list[str]]:
        """Canonical table → columns this mapping would export (for the exchange agreement check)."""
        out: dict[str, list[str]] = {}
        for rec in self.records:
            for emit in rec.emits:
                cols = out.setdefault(emit.table, [])
                cols += [c for c in emit.canonical_columns if c not in cols]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, origin: str = "mapping") -> ExtractMapping:
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            raise ConfigError(f"{origin}: {loc}: {err['msg']}") from None


def load_mapping(path: str | Path) -> ExtractMapping:
    """Read a mapping from a YAML or TOML file (the format follows the suffix)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{p.name}: cannot read the mapping ({exc.strerror})") from None
    try:
        data = tomllib.loads(text) if p.suffix == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{p.name}: not valid {'TOML' if p.suffix == '.toml' else 'YAML'}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{p.name}: a mapping file holds a table/object at top level")
    return ExtractMapping.from_dict(data, origin=p.name)
