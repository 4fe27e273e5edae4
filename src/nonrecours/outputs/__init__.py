"""Outputs: what agencies act on and what deciders read, from detection's flags and units.

- ``build_outreach``: one list per contacting agency, one row per person (return tokens, facts held,
  questions, channels, priority); ``open_outreach``: an agency opens its own list.
- ``build_statistics``: non-take-up by benefit, territory and household type under statistical secrecy.
- ``answers``: the experiment's three answers (data to exchange, simplification margin, automation).
- ``write_situations`` / ``read_situation``: the OpenFisca situation of each list row, to replay it (built by
  ``simulation.export_openfisca``).
- ``write_report``: ``report.html``, the self-contained French page for deciders, from the tables above.
- ``write_table``: Parquet and a CSV a French spreadsheet opens (``;``, BOM, decimal comma), atomically.
"""

from nonrecours.outputs.answers import (
    automation_scenarios,
    claim_fields_held,
    data_to_exchange,
    exchange_value,
    write_answers,
)
from nonrecours.outputs.outreach import OUTREACH_SCHEMA, OutreachConfig, build_outreach, open_outreach
from nonrecours.outputs.report import build_report, write_report
from nonrecours.outputs.situations import read_situation, situation_entries, write_situations
from nonrecours.outputs.stage import run_stage
from nonrecours.outputs.statistics import StatisticsConfig, build_statistics, territory_table, unit_profiles
from nonrecours.outputs.writers import write_french_csv, write_parquet, write_table

__all__ = [
    "OUTREACH_SCHEMA",
    "OutreachConfig",
    "StatisticsConfig",
    "automation_scenarios",
    "build_outreach",
    "build_report",
    "build_statistics",
    "claim_fields_held",
    "data_to_exchange",
    "exchange_value",
    "open_outreach",
    "read_situation",
    "run_stage",
    "situation_entries",
    "territory_table",
    "unit_profiles",
    "write_answers",
    "write_french_csv",
    "write_parquet",
    "write_report",
    "write_situations",
    "write_table",
]
