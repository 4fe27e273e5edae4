"""The join core: canonical tables → units, reference-period resources and rule inputs."""

from nonrecours.core.inputs import RESOURCE_INPUTS, SOURCE_PRIORITY, build_inputs
from nonrecours.core.month import PROVENANCE_SCHEMA, UNKNOWNS_SCHEMA, CoreMonth

__all__ = ["PROVENANCE_SCHEMA", "RESOURCE_INPUTS", "SOURCE_PRIORITY", "UNKNOWNS_SCHEMA", "CoreMonth", "build_inputs"]
