"""Connectors: agency extracts in, validated, quarantined and pseudonymised at the boundary.

Each agency's native extract is described once, by a declarative mapping in ``mappings/<agency>.yaml``
(caf, cnam, france_travail, dgfip, cnav, msa, drm); the generic machinery (readers, parser, ingest) is
shared. ``ingest_extract`` is the one call most users need.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from nonrecours.connectors.ingest import IngestReport, ingest
from nonrecours.connectors.mapping import Emit, ExtractMapping, FieldMap, RecordLayout, load_mapping
from nonrecours.errors import ConfigError

__all__ = [
    "AGENCY_MODULES",
    "MAPPINGS",
    "Emit",
    "ExtractMapping",
    "FieldMap",
    "IngestReport",
    "RecordLayout",
    "default_mapping",
    "ingest",
    "ingest_extract",
    "load_mapping",
]

AGENCY_MODULES: tuple[str, ...] = ("caf", "cnam", "france_travail", "dgfip", "cnav", "msa", "drm")
"""Agencies with a default mapping (``mappings/<agency>.yaml``), in the order ``synth --extracts`` writes them."""
MAPPINGS = Path(__file__).with_name("mappings")


def default_mapping(agency: str) -> ExtractMapping:
    """The mapping of the agency's native extract as ``nonrecours synth --extracts`` writes it."""
    if agency not in AGENCY_MODULES:
        raise ConfigError(f"unknown agency {agency}; expected one of {', '.join(AGENCY_MODULES)}")
    return load_mapping(MAPPINGS / f"{agency}.yaml")


def ingest_extract(agency: str, input: str | Path, exchange: str | Path, out: str | Path, *,
                   mapping: str | Path | None = None, extract_id: str | None = None,
                   extract_date: dt.date | None = None) -> IngestReport:
    """Ingest one extract: the agency's default mapping (or ``mapping``), the agreement read from TOML."""
    from nonrecours.privacy import load_agreement

    m = load_mapping(mapping) if mapping is not None else default_mapping(agency)
    if m.agency != agency:
        raise ConfigError(f"the mapping is for agency {m.agency}, not {agency}")
    return ingest(input, m, load_agreement(exchange), out, extract_id=extract_id, extract_date=extract_date)
