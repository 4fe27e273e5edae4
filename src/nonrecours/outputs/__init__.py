"""outputs: what leaves the library (today: the OpenFisca web-API export of a household, for replay)."""

from nonrecours.outputs.export_openfisca import Export, export_situations

__all__ = ["Export", "export_situations"]
