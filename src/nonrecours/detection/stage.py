"""Detection's figures for a printout (the demo's, the batch job's summary)."""

from __future__ import annotations

from typing import Any

__all__ = ["summary_facts"]


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f} %"


def summary_facts(sm: dict[str, Any]) -> list[tuple[str, str]]:
    """What a detection summary (``summary.json``) says, as (label, text) lines."""
    month = sm["month"]
    grades = sm["flags_by_benefit_grade"]
    lines = [f"{b}: " + ", ".join(f"{g} {n:,}" for g, n in gs.items()) for b, gs in grades.items()]
    contra = {b: n for b, n in sm.get("downgraded_by_unexplained_payment", {}).items() if n}
    return [
        ("detection coverage", f"{sm['persons']:,} persons in {sm['familles']:,} familles evaluated; "
         f"{sm['persons_not_evaluated']:,} of the {sm['persons_known']:,} persons the agencies know "
         "are in no famille and are not evaluated"
         + (f"; {away['familles']:,} familles ({away['persons']:,} persons) not evaluated, living in a territory "
            "whose law the rules do not model (Mayotte, Saint-Pierre-et-Miquelon, the overseas collectivities)"
            if (away := sm.get("territory_not_modelled", {})).get("familles") else "")),
        (f"flags {month} by benefit and grade", "; ".join(lines)),
        ("coherence (paid units our rules find entitled)", "; ".join(
            f"{b} {_pct(c['rate'])} of {c['paid_units']:,}" for b, c in sm["coherence"].items())),
        ("flags made possible by a payment our data do not explain (composition or resources incomplete)",
         "; ".join(f"{b} {n:,}" for b, n in contra.items()) or "none"),
    ]
