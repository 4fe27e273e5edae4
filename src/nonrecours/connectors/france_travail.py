"""France Travail extract connector.

CSV, ``,`` separated, decimal point, UTF-8; one row per jobseeker and month: local id, NIR, names,
birth date, postcode, registration category (A-E), registration date, month, ARE paid, days paid.

Feeds resources (unemployment_benefit).

The layout is declared in ``mappings/france_travail.yaml`` (docs/connectors/france_travail.md); adapt a copy of
that file to read another layout, without code.
"""

from __future__ import annotations

from pathlib import Path

from nonrecours.connectors.mapping import ExtractMapping, load_mapping

__all__ = ["AGENCY", "MAPPING_FILE", "mapping"]

AGENCY = "france_travail"
MAPPING_FILE = Path(__file__).with_name("mappings") / "france_travail.yaml"


def mapping() -> ExtractMapping:
    """The default mapping: the layout ``nonrecours synth --extracts`` writes."""
    return load_mapping(MAPPING_FILE)
