"""Synthetic territory: reproducible households, resources and housing with their ground truth."""

from nonrecours.synth.generate import DEFAULT_END_MONTH, TRUTH_TABLES, generate, tax_window
from nonrecours.synth.territory import TERRITORIES, load_territory

__all__ = ["DEFAULT_END_MONTH", "TERRITORIES", "TRUTH_TABLES", "generate", "load_territory", "tax_window"]
