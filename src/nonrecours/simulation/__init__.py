"""Household situations → engine inputs → benefit amounts: the ``simulate`` command and the oracle; and back,
engine inputs → OpenFisca situations (``export_openfisca``), to replay a case.

    from nonrecours.simulation import simulate_file, compare
    records, errors = simulate_file("situations.json", backend="polars")
"""

from nonrecours.simulation.export_openfisca import Export, export_situations, flagged_situations
from nonrecours.simulation.oracle import OracleReport, compare
from nonrecours.simulation.runner import OUTPUT_FIELDS, SimulationResult, simulate, simulate_batch, simulate_file
from nonrecours.simulation.situations import SituationBatch, load_situations, read_situation_file

__all__ = [
    "OUTPUT_FIELDS",
    "Export",
    "OracleReport",
    "SimulationResult",
    "SituationBatch",
    "compare",
    "export_situations",
    "flagged_situations",
    "load_situations",
    "read_situation_file",
    "simulate",
    "simulate_batch",
    "simulate_file",
]
