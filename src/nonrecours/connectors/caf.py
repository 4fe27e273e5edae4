"""CAF (caisse d'allocations familiales) extract connector.

Fixed-width, latin-1, 120-character records (LRECL=120) with a record type in positions 1-2:
00 header (extract date), 10 dossier, 20 member (NIR, names, birth date, role, nationality, disability,
student, pregnancy, date of entry), 30 benefit paid for a month (amount in cents), 40 housing and rent
for a month (with the address, never exported), 99 trailer (record count).

Feeds persons, unit_memberships (famille), benefits_paid and housing. The dossier number (matricule)
becomes a pseudonym in the ``caf:matricule`` namespace; it stands for the famille and, for housing, for
the allocataire's ménage.

The layout is declared in ``mappings/caf.yaml`` (docs/connectors/caf.md); adapt a copy of
that file to read another layout, without code.
"""

from __future__ import annotations

from pathlib import Path

from nonrecours.connectors.mapping import ExtractMapping, load_mapping

__all__ = ["AGENCY", "MAPPING_FILE", "mapping"]

AGENCY = "caf"
MAPPING_FILE = Path(__file__).with_name("mappings") / "caf.yaml"


def mapping() -> ExtractMapping:
    """The default mapping: the layout ``nonrecours synth --extracts`` writes."""
    return load_mapping(MAPPING_FILE)
