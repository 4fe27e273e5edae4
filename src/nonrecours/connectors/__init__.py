"""Connectors: agency extracts in, validated, quarantined and pseudonymised at the boundary.

Each agency's native extract is described once, by a declarative mapping in ``mappings/<agency>.yaml``
(caf, cnam, france_travail, dgfip, cnav, msa, drm); the generic machinery (readers, parser, ingest) is
shared. ``ingest_extract`` is the one call most users need.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from pathlib import Path
from typing import Any

from nonrecours.connectors.ingest import IngestReport, ingest, next_sequence
from nonrecours.connectors.mapping import Emit, ExtractMapping, FieldMap, RecordLayout, load_mapping
from nonrecours.errors import ConfigError, KeyMaterialError

log = logging.getLogger("nonrecours.connectors")

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
    "member_line_payers",
    "next_sequence",
    "return_key_of",
]

AGENCY_MODULES: tuple[str, ...] = ("caf", "cnam", "france_travail", "dgfip", "cnav", "msa", "drm")
"""Agencies with a default mapping (``mappings/<agency>.yaml``), in the order ``synth --extracts`` writes them."""
MAPPINGS = Path(__file__).with_name("mappings")


def default_mapping(agency: str) -> ExtractMapping:
    """The mapping of the agency's native extract as ``nonrecours synth --extracts`` writes it."""
    if agency not in AGENCY_MODULES:
        raise ConfigError(f"unknown agency {agency}; expected one of {', '.join(AGENCY_MODULES)}")
    return load_mapping(MAPPINGS / f"{agency}.yaml")


@functools.cache
def member_line_payers() -> frozenset[str]:
    """The agencies whose default mapping carries a dossier's payments on its members' lines
    (``ExtractMapping.famille_payments_on_member_lines``: the MSA): detection cannot see what such a dossier is
    paid when the extract lacks its allocataire's line. Detection takes this only for tables that come with no
    record of their layout; a workspace's ingest reports say which mappings its extracts were read with
    (``core.workspace.recorded_member_line_payers``, ``DetectionConfig.member_line_payers``)."""
    return frozenset(a for a in AGENCY_MODULES if default_mapping(a).famille_payments_on_member_lines)


def return_key_of(agreement: Any, mapping: ExtractMapping, *, required: bool) -> Any:
    """The agency's own return-token key when its agreement names one and the mapping a record number.

    ``required``: a key the agreement names but that cannot be loaded is an error (the batch run, whose
    outreach lists need it); otherwise the ingest goes on without tokens and says so (log and report).
    """
    terms = agreement.agencies.get(mapping.agency)
    if terms is None or terms.return_token_key is None or mapping.record_number is None:
        return None
    try:
        return agreement.return_key(mapping.agency)
    except KeyMaterialError as exc:
        if required:
            raise
        log.warning("%s: no return tokens issued, the agency's own key is unavailable (%s)", mapping.agency, exc)
        return None


def ingest_extract(agency: str, input: str | Path, exchange: str | Path, out: str | Path, *,
                   mapping: str | Path | None = None, extract_id: str | None = None,
                   extract_date: dt.date | None = None, allow_empty: bool = False) -> IngestReport:
    """Ingest one extract: the agency's default mapping (or ``mapping``), the agreement read from TOML.

    Return tokens are issued when the agency's own key (``return_token_key``) can be loaded; an extract with
    no record is refused unless ``allow_empty`` (:func:`~nonrecours.connectors.ingest.ingest`).
    """
    from nonrecours.privacy import load_agreement

    m = load_mapping(mapping) if mapping is not None else default_mapping(agency)
    if m.agency != agency:
        raise ConfigError(f"the mapping is for agency {m.agency}, not {agency}")
    agreement = load_agreement(exchange)
    return ingest(input, m, agreement, out, extract_id=extract_id, extract_date=extract_date,
                  return_key=return_key_of(agreement, m, required=False), allow_empty=allow_empty)
