"""DGFiP (finances publiques) extract connector.

Parquet; one row per person of a foyer fiscal and income year: foyer number, income year, NIR,
names, birth date, address, role (DEC1, DEC2, PAC), yearly taxable incomes by kind in whole euros and
the revenu fiscal de référence.

Feeds unit_memberships (foyer_fiscal) and resources (salary_taxable, self_employment, alimony), the
yearly amounts spread over the twelve months of the income year (rounded to the cent).

The layout is declared in ``mappings/dgfip.yaml`` (docs/connectors/dgfip.md); adapt a copy of
that file to read another layout, without code.
"""

from __future__ import annotations

from pathlib import Path

from nonrecours.connectors.mapping import ExtractMapping, load_mapping

__all__ = ["AGENCY", "MAPPING_FILE", "mapping"]

AGENCY = "dgfip"
MAPPING_FILE = Path(__file__).with_name("mappings") / "dgfip.yaml"


def mapping() -> ExtractMapping:
    """The default mapping: the layout ``nonrecours synth --extracts`` writes."""
    return load_mapping(MAPPING_FILE)
