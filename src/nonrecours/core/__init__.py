"""The join core: canonical tables → reconciled units, reference-period resources, rule inputs and what is
known of each (``build_month`` → :class:`CoreMonth`). ``scan_workspace`` opens a workspace written by ingest
(one lazy scan per canonical table), the first call of a notebook or a job on a team's own data."""

from nonrecours.core.inputs import PopulationFacts, build_inputs, build_month, payments_reach, population_facts
from nonrecours.core.month import PROVENANCE_SCHEMA, UNKNOWNS_SCHEMA, CoreMonth
from nonrecours.core.partition import Partitions
from nonrecours.core.resources import CoreConfig
from nonrecours.core.workspace import scan_workspace

__all__ = ["PROVENANCE_SCHEMA", "UNKNOWNS_SCHEMA", "CoreConfig", "CoreMonth", "Partitions", "PopulationFacts",
           "build_inputs", "build_month", "payments_reach", "population_facts", "scan_workspace"]
