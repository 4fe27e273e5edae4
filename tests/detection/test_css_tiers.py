"""The CSS is one right in two tiers (free, with participation), awarded for a year on the resources of the twelve
months before the claim (CSS art. L861-5, R861-8): a famille receiving one tier while its resources now give the
other receives its CSS. It is neither a non-take-up of the other tier nor a payment our rules cannot justify."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from nonrecours.detection import DetectionConfig, core_month, detect

from .conftest import MONTH, Territory

CSS = DetectionConfig(benefits=("css_free", "css_participation"))


@pytest.fixture(scope="module")
def tiers():
    t = Territory()
    t.famille("low_paid_part", salary=300.0)      # resources of the free CSS, paid the CSS with participation
    t.pay("low_paid_part", "css_participation", 8.0)
    t.famille("mid_paid_free", salary=1000.0)     # resources of the participation band, paid the free CSS
    t.pay("mid_paid_free", "css_free", 0.0)
    t.famille("low_unpaid", salary=300.0)         # the free CSS, nothing paid: a non-take-up all the same
    t.famille("rich_paid", salary=4000.0)         # paid the CSS, no tier due on any value: a self-check
    t.pay("rich_paid", "css_participation", 30.0)
    tables = t.tables()
    return detect(core_month(tables, MONTH), tables, backend="polars", config=CSS)


def _status(run, name: str) -> dict[str, str]:
    return dict(run.units.filter(pl.col("unit_id") == f"caf:f-{name}").select("benefit", "status").iter_rows())


def test_one_tier_paid_while_the_other_is_due_is_consistent_both_ways(tiers):
    assert _status(tiers, "low_paid_part") == {"css_free": "consistent", "css_participation": "consistent"}
    assert _status(tiers, "mid_paid_free") == {"css_free": "consistent", "css_participation": "consistent"}
    flagged = set(tiers.flags.get_column("unit_id"))
    assert "caf:f-low_paid_part" not in flagged and "caf:f-mid_paid_free" not in flagged


def test_a_famille_paid_no_tier_is_still_a_non_take_up_and_a_tier_due_on_no_value_still_a_self_check(tiers):
    assert _status(tiers, "low_unpaid")["css_free"] == "non_take_up"
    assert _status(tiers, "rich_paid")["css_participation"] == "paid_not_entitled"


def test_the_summary_counts_the_other_tier_and_coherence_reads_the_right_not_the_tier(tiers):
    s = tiers.summary
    assert s["receiving_other_tier"] == {"css_free": 1, "css_participation": 1}
    part = s["coherence"]["css_participation"]
    assert (part["paid_units"], part["entitled"], part["entitled_at_other_tier"]) == (2, 1, 1)
    free = s["coherence"]["css_free"]
    assert (free["paid_units"], free["entitled"], free["entitled_at_other_tier"]) == (1, 1, 1)


# A claim event of one tier is one of the CSS: one form (cerfa 12504), the CPAM decides the tier from the
# resources (CSS art. L861-1, L861-5). Found by an outside tester (probe2_ext runF F02, F03; runC C06): a claim
# pending for the CSS with participation, or a refusal of it last month, left the free CSS flagged.
CLAIMS = DetectionConfig(benefits=("rsa", "css_free", "css_participation"))


@pytest.fixture(scope="module")
def claimed():
    t = Territory()
    for name in ("pending_part", "refused_part", "closed_part", "old_refusal_part", "pending_free", "unclaimed"):
        t.famille(name, salary=300.0)   # resources of the free CSS (and of the RSA), nothing paid
    t.claim("pending_part", "css_participation", "pending", dt.date(2026, 6, 1))
    t.claim("refused_part", "css_participation", "refused", dt.date(2026, 5, 1))
    t.claim("closed_part", "css_participation", "closed", dt.date(2026, 4, 15))
    t.claim("old_refusal_part", "css_participation", "refused", dt.date(2025, 11, 1))  # beyond the 3 months
    t.claim("pending_free", "css_free", "pending", dt.date(2026, 6, 1))
    tables = t.tables()
    return detect(core_month(tables, MONTH), tables, backend="polars", config=CLAIMS)


def _excluded(run, name: str) -> dict[str, str | None]:
    return dict(run.units.filter(pl.col("unit_id") == f"caf:f-{name}").select("benefit", "excluded").iter_rows())


def test_a_claim_pending_refused_or_closed_for_one_css_tier_excludes_the_other_tier(claimed):
    assert _excluded(claimed, "pending_part")["css_free"] == "pending_claim"
    assert _excluded(claimed, "refused_part")["css_free"] == "recent_refusal"
    assert _excluded(claimed, "closed_part")["css_free"] == "recent_closure"
    assert _excluded(claimed, "pending_free")["css_free"] == "pending_claim"
    flagged = set(claimed.flags.filter(pl.col("benefit").str.starts_with("css")).get_column("unit_id"))
    assert flagged == {"caf:f-old_refusal_part", "caf:f-unclaimed"}


def test_a_css_claim_leaves_the_rsa_alone_and_the_summary_counts_each_exclusion_once(claimed):
    rsa = claimed.flags.filter(pl.col("benefit") == "rsa").get_column("unit_id")
    assert set(rsa) == {f"caf:f-{n}" for n in ("pending_part", "refused_part", "closed_part", "old_refusal_part",
                                                "pending_free", "unclaimed")}
    assert _excluded(claimed, "pending_part")["rsa"] is None
    # the free CSS is the tier due: one excluded non-take-up per famille (its other tier is not_entitled)
    counts = {e: v["count"] for e, v in claimed.summary["exclusions"].items() if v["checked"]}
    assert (counts["pending_claim"], counts["recent_refusal"], counts["recent_closure"]) == (2, 1, 1)
