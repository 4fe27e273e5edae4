"""CNAM/CPAM (assurance maladie) extract connector.

CSV, ``;`` separated, decimal commas, UTF-8 with a byte-order mark; one row per insured person and
month: NIR, names, birth date, commune, scheme, CSS status (0 none, 1 without participation, 2 with
participation), participation amount, invalidity pension.

Feeds benefits_paid (css_free, css_participation, per person) and resources (invalidity_pension).

The layout is declared in ``mappings/cnam.yaml`` (docs/connectors/cnam.md); adapt a copy of
that file to read another layout, without code.
"""

from __future__ import annotations

from pathlib import Path

from nonrecours.connectors.mapping import ExtractMapping, load_mapping

__all__ = ["AGENCY", "MAPPING_FILE", "mapping"]

AGENCY = "cnam"
MAPPING_FILE = Path(__file__).with_name("mappings") / "cnam.yaml"


def mapping() -> ExtractMapping:
    """The default mapping: the layout ``nonrecours synth --extracts`` writes."""
    return load_mapping(MAPPING_FILE)
