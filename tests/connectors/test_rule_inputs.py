"""docs/connectors/README.md lists every input the rules read, and the agency fields that carry it."""

from __future__ import annotations

import re

from nonrecours.connectors import AGENCY_MODULES, default_mapping
from nonrecours.engine import required_inputs
from nonrecours.schemas.benefits import CATALOGUE

from .conftest import REPO

RULES = tuple(r for b in CATALOGUE for r in b.rules)
"""Every rule detection evaluates (the benefit catalogue's)."""


def _table() -> dict[str, tuple[str, str, str]]:
    text = (REPO / "docs" / "connectors" / "README.md").read_text()
    section = text.split("## What the rules read, and who carries it\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        assert len(cells) == 5, line
        name = cells[0].strip("`")
        assert name not in rows, f"{name} listed twice"
        rows[name] = (cells[1], cells[2], cells[4])
    return rows


def test_every_rule_input_is_listed_with_its_carrier() -> None:
    rows = _table()
    needed = {(name, entity) for r in RULES for entity, names in required_inputs(r).items() for name in names}
    assert {n for n, _ in needed} == set(rows), "the table and the rules' inputs differ"
    for name, entity in needed:
        assert rows[name][0] == entity, name
    sources = {a: {f.source for rec in default_mapping(a).records for f in rec.fields} for a in AGENCY_MODULES}
    for name, (_, carriers, note) in rows.items():
        refs = re.findall(r"(\w+):(\w+)", carriers)
        assert refs or note, f"{name}: neither a carrier nor a reason"
        for agency, field in refs:
            assert agency in sources, (name, agency)
            assert field in sources[agency], f"{name}: {agency} has no field {field}"


def _claim_benefits(agency: str) -> set[str]:
    """Benefits the agency's default layout can write claim events for: a constant benefit of a claims emit, or
    the canonical codes of the field its benefit column reads."""
    out: set[str] = set()
    for rec in default_mapping(agency).records:
        fields = {f.target: f for f in rec.fields}
        for emit in rec.emits:
            if emit.table != "claims":
                continue
            if "benefit" in emit.constants:
                out.add(str(emit.constants["benefit"]))
            elif "benefit" in emit.columns:
                out |= set((fields[emit.columns["benefit"]].codes or {}).values())
    return out


def test_claim_layouts_of_the_catalogue_are_the_mappings_claims() -> None:
    """The catalogue's ``claim_layouts`` (what the synthetic extracts draw claims for, and docs/connectors/README.md's
    claims table) is exactly what each layout can carry: the ASI at the CNAM and the MSA, no layout for the chèque
    énergie."""
    for agency in AGENCY_MODULES:
        expected = {b.code for b in CATALOGUE if agency in b.claim_layouts}
        assert _claim_benefits(agency) == expected, agency
    asi, cheque = (next(b for b in CATALOGUE if b.code == c) for c in ("asi", "cheque_energie"))
    assert set(asi.claim_layouts) == {"cnam", "msa"} and cheque.claim_layouts == ()
