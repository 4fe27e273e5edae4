"""Household situations → engine inputs → benefit amounts: the ``simulate`` command and the oracle."""

from nonrecours.simulation.situations import SituationBatch, load_situations, read_situation_file

__all__ = ["SituationBatch", "load_situations", "read_situation_file"]
