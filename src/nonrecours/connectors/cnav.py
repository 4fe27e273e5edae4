"""CNAV/Carsat (assurance retraite) extract connector.

CSV, ``;`` separated, decimal point, UTF-8; one row per retiree and month of payment: NIR, names,
birth date, postcode, commune, month, gross pension, net pension, ASPA paid.

Feeds resources (pension_gross, pension_net) and benefits_paid (aspa, per person).

The layout is declared in ``mappings/cnav.yaml`` (docs/connectors/cnav.md); adapt a copy of
that file to read another layout, without code.
"""

from __future__ import annotations

from pathlib import Path

from nonrecours.connectors.mapping import ExtractMapping, load_mapping

__all__ = ["AGENCY", "MAPPING_FILE", "mapping"]

AGENCY = "cnav"
MAPPING_FILE = Path(__file__).with_name("mappings") / "cnav.yaml"


def mapping() -> ExtractMapping:
    """The default mapping: the layout ``nonrecours synth --extracts`` writes."""
    return load_mapping(MAPPING_FILE)
