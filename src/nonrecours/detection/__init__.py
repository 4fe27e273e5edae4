"""Detection: engine results and payments → graded, explained non-take-up flags."""

from nonrecours.detection.schema import FLAGS_SCHEMA, GRADES, STATUSES, UNITS_SCHEMA

__all__ = ["FLAGS_SCHEMA", "GRADES", "STATUSES", "UNITS_SCHEMA"]
