"""Household situations → engine inputs → benefit amounts: the ``simulate`` command and the oracle.

    from nonrecours.simulation import simulate_file, compare
    records, errors = simulate_file("situations.json", backend="polars")
"""

from nonrecours.simulation.oracle import OracleReport, compare
from nonrecours.simulation.runner import OUTPUT_FIELDS, SimulationResult, simulate, simulate_batch, simulate_file
from nonrecours.simulation.situations import SituationBatch, load_situations, read_situation_file

__all__ = [
    "OUTPUT_FIELDS",
    "OracleReport",
    "SimulationResult",
    "SituationBatch",
    "compare",
    "load_situations",
    "read_situation_file",
    "simulate",
    "simulate_batch",
    "simulate_file",
]
