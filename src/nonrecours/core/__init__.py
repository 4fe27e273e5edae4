"""The join core: canonical tables → reconciled units, reference-period resources, rule inputs and what is
known of each (``build_month`` → :class:`CoreMonth`)."""

from nonrecours.core.inputs import build_inputs, build_month
from nonrecours.core.month import PROVENANCE_SCHEMA, UNKNOWNS_SCHEMA, CoreMonth
from nonrecours.core.resources import CoreConfig

__all__ = ["PROVENANCE_SCHEMA", "UNKNOWNS_SCHEMA", "CoreConfig", "CoreMonth", "build_inputs", "build_month"]
