"""docs/connectors/<agency>.md is the contract another team writes extracts from: its layout tables must say what
the default mapping reads (positions, date formats, codes, optional fields, negative amounts, and the canonical
columns each field becomes)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nonrecours.connectors import AGENCY_MODULES, default_mapping
from nonrecours.connectors.mapping import NIR_FACT_COLUMNS, FieldMap, RecordLayout

DOCS = Path(__file__).resolve().parents[2] / "docs" / "connectors"


def _rows(agency: str, record: RecordLayout) -> list[list[str]]:
    """The cells of the layout table of one record (a `### Record `CODE`` or `### Columns (name)` section)."""
    text = (DOCS / f"{agency}.md").read_text(encoding="utf-8")
    layout = text.split("## Layout", 1)[1]
    heading = f"Record `{record.code}`" if record.code is not None else f"({record.name})"
    section = next(s for s in re.split(r"^### ", layout, flags=re.M) if heading in s.split("\n", 1)[0])
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in section.split("\n")
            if line.startswith("|")]
    return [r for r in rows[2:] if r]  # the header row and its rule


def _cases() -> list[tuple[str, RecordLayout]]:
    return [(a, r) for a in AGENCY_MODULES for r in default_mapping(a).records]


def _field_rows(rows: list[list[str]], f: FieldMap, fixed: bool) -> list[list[str]]:
    return [r for r in rows if r[1 if fixed else 0] == f.source]


@pytest.mark.parametrize(("agency", "record"), _cases(), ids=lambda x: x if isinstance(x, str) else x.name)
def test_layout_tables_say_what_the_mapping_reads(agency: str, record: RecordLayout) -> None:
    mapping = default_mapping(agency)
    fixed = mapping.format == "fixed_width"
    rows = _rows(agency, record)
    problems = []
    sources = {f.source for f in record.fields}
    problems += [f"documented column {r[1 if fixed else 0]} is not read" for r in rows
                 if r[1 if fixed else 0] not in sources]
    for f in record.fields:
        mine = _field_rows(rows, f, fixed)
        twins = [g for g in record.fields if g.source == f.source]
        if len(twins) > 1 and len(mine) == len(twins):  # one source read twice (STATUT: a code, a flag): in order
            mine = [mine[next(i for i, g in enumerate(twins) if g is f)]]
        if not mine:
            problems.append(f"{f.source}: no row")
            continue
        for r in mine:
            pos, typ, fmt = (r[0], r[2], r[3]) if fixed else (None, r[1], r[2])
            if fixed:
                want = {f"{f.start}-{f.end}"} | ({f"{f.start}"} if f.length == 1 else set())
                if pos not in want:
                    problems.append(f"{f.source}: positions {pos} in the doc, {f.start}-{f.end} in the mapping")
            if f.type == "identity":
                continue
            if f.date_format and f.type in ("date", "month") and f.type in typ and f.date_format not in fmt:
                problems.append(f"{f.source}: date format {f.date_format} not in the doc ({fmt})")
            if f.type == "code" and f.codes and "as record" not in fmt:
                problems += [f"{f.source}: code {k} not in the doc" for k in f.codes if f"`{k}`" not in fmt]
            if not f.required and "optional" not in typ:
                problems.append(f"{f.source}: optional in the mapping, not in the doc")
            if f.required and "optional" in typ:
                problems.append(f"{f.source}: required in the mapping, optional in the doc")
            if f.allow_negative and "negative" not in " ".join(r):
                problems.append(f"{f.source}: a negative amount is accepted, the doc does not say so")
    for emit in record.emits:
        for column, target in emit.columns.items():
            if column in NIR_FACT_COLUMNS and record.field(target).type == "nir":
                continue  # the persons table's facts of the NIR (birth place, sex digit): the doc says them once
            source = record.field(target).source
            becomes = " ".join(r[-1] for r in _field_rows(rows, record.field(target), fixed))
            if f"{emit.table}.{column}" not in becomes:
                problems.append(f"{source}: becomes {emit.table}.{column}, the doc says '{becomes}'")
    for r in rows:
        source = r[1 if fixed else 0]
        targets = {f.target for f in record.fields if f.source == source}
        emitted = {f"{e.table}.{c}" for e in record.emits for c, t in e.columns.items() if t in targets}
        named = set(re.findall(r"\b([a-z_]+\.[a-z_]+)\b", r[-1]))
        problems += [f"{source}: the doc says it becomes {n}, the mapping does not" for n in named - emitted]
    assert not problems, "\n".join(problems)


def test_the_default_agreement_lists_exactly_what_the_default_mappings_export() -> None:
    """exchange.toml says it lists exactly the columns each default mapping fills: a column listed that no
    mapping fills is a column the agreement would let leave for nothing (data minimisation, RGPD art. 5 1 c)."""
    import tomllib

    terms = tomllib.loads((Path(__file__).resolve().parents[2] / "src" / "nonrecours" / "connectors"
                           / "exchange.toml").read_text(encoding="utf-8"))["agencies"]
    for agency in AGENCY_MODULES:
        exported = {t: set(c) for t, c in default_mapping(agency).exported_columns.items()}
        assert {t: set(c) for t, c in terms[agency]["tables"].items()} == exported, agency
