"""MSA (mutualité sociale agricole) extract connector.

CSV, ``;`` separated, decimal commas, Windows-1252; one row per member (nature MEMBRE) and one per
payment: dossier, NIR, names, birth date, sex, link to the insured (ASS, CJT, ENF), status (EXP, SAL,
RET), commune, affiliation month, period, nature (AF, PAJE, ASF, AL, ASPA, CSS, CSSP, RETNET, RETBRUT)
and amount.

Feeds unit_memberships (famille), benefits_paid (family benefits per famille; ASPA and CSS per person)
and resources (pension_net, pension_gross).

The layout is declared in ``mappings/msa.yaml`` (docs/connectors/msa.md); adapt a copy of
that file to read another layout, without code.
"""

from __future__ import annotations

from pathlib import Path

from nonrecours.connectors.mapping import ExtractMapping, load_mapping

__all__ = ["AGENCY", "MAPPING_FILE", "mapping"]

AGENCY = "msa"
MAPPING_FILE = Path(__file__).with_name("mappings") / "msa.yaml"


def mapping() -> ExtractMapping:
    """The default mapping: the layout ``nonrecours synth --extracts`` writes."""
    return load_mapping(MAPPING_FILE)
