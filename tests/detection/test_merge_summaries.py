"""A partitioned detection's summary (detection.detect.merge_summaries): counts summed, rates from the sums,
population-wide facts required equal."""

from __future__ import annotations

import pytest

from nonrecours.detection.detect import merge_summaries
from nonrecours.errors import SchemaError


def _part(paid: int, entitled: int, central: int, persons: int, known: int, **extra) -> dict:
    return {"month": "2026-06", "config": {"max_reasons": 3}, "persons": persons, "persons_known": known,
            "persons_not_evaluated": max(known - persons, 0), "payments_known": {"rsa": True},
            "exclusions": {"opt_out": {"count": 1, "checked": True}, "deceased_or_gone": {"count": None,
                                                                                         "checked": False}},
            "coherence": {"rsa": {"paid_units": paid, "entitled": entitled, "entitled_central": central,
                                  "rate": round(entitled / paid, 6) if paid else None}},
            **extra}


def test_counts_are_summed_and_rates_recomputed():
    got = merge_summaries([_part(3, 1, 1, 10, 12, familles_unknown_to_benefit_payer={"css_free": 2}),
                           _part(0, 0, 0, 5, 4), _part(4, 4, 3, 7, 7)])
    assert got["persons"] == 22 and got["persons_known"] == 23 and got["persons_not_evaluated"] == 1
    assert got["coherence"]["rsa"] == {"paid_units": 7, "entitled": 5, "entitled_central": 4,
                                       "rate": round(5 / 7, 6), "rate_central": round(4 / 7, 6)}
    assert got["exclusions"] == {"opt_out": {"count": 3, "checked": True},
                                 "deceased_or_gone": {"count": None, "checked": False}}
    assert got["config"] == {"max_reasons": 3} and got["familles_unknown_to_benefit_payer"] == {"css_free": 2}


def test_parts_disagreeing_on_a_population_fact_are_refused():
    other = _part(1, 1, 1, 1, 1)
    other["payments_known"] = {"rsa": False}
    with pytest.raises(SchemaError, match="payments_known"):
        merge_summaries([_part(1, 1, 1, 1, 1), other])
