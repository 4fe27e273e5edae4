"""Rules evaluated on hand-written situations (SITUATION_FORMAT.md), one row of values per situation: the tests of a
rule read its amounts by the situation's id."""

from __future__ import annotations

import datetime as dt

from nonrecours.engine import Inputs, evaluate
from nonrecours.simulation import load_situations


def rules_by_situation(situations: list[dict], rules: list[str], month: str) -> dict[str, tuple]:
    """The values of ``rules`` (famille rules) for each situation of ``month`` (``YYYY-MM``), by id, in the order
    of ``rules``; a situation the loader refuses fails the test."""
    batch = load_situations(situations)
    assert not batch.errors, batch.errors
    first = dt.date.fromisoformat(f"{month}-01")
    res = evaluate(rules, Inputs(**batch.frames_for_month(first)), first, missing_inputs="default")["famille"]
    out = res.join(batch.unit_index.select("famille_id", "id"), on="famille_id").select("id", *rules)
    return {row[0]: tuple(row[1:]) for row in out.iter_rows()}
