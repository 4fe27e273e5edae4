"""Colocation and rooms (arrêté du 27 septembre 2019, art. 8 and 16): invariants over generated households, each
in an ordinary dwelling, in colocation, in a room and both, evaluated in one vectorised batch."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from nonrecours.engine import Inputs, evaluate
from nonrecours.simulation import load_situations

KINDS = {"plain": {}, "coloc": {"colocation": True}, "room": {"chambre": True},
         "both": {"colocation": True, "chambre": True}}
RULES = ["aide_logement", "al_loyer_plafond", "al_charges"]

household = st.fixed_dictionaries({
    "depcom": st.sampled_from(["75056", "69123", "46042", "97411"]),
    "status": st.sampled_from(["tenant", "tenant_furnished", "social_tenant"]),
    "rent": st.integers(min_value=100, max_value=900),
    "couple": st.booleans(),
    "children": st.integers(min_value=0, max_value=4),
    "salary": st.sampled_from([0, 400, 900, 1400, 2000]),
})


@settings(max_examples=4, deadline=None)
@given(households=st.lists(household, min_size=5, max_size=25),
       month=st.sampled_from(["2024-03", "2025-06", "2025-11", "2026-11"]))
def test_a_share_or_a_room_lowers_the_ceiling_as_the_arrete_says_and_never_raises_the_aid(
        households: list[dict], month: str) -> None:
    """The colocataire's ceiling is 75 % of the ordinary one, the room's 90 % of a single person's whatever the
    household, a room in a colocation 75 % of that; the colocataire's charges forfait is never above the general
    one; and none of them raises the housing aid."""
    sits = []
    for k, h in enumerate(households):
        parents = [{"role": "parent", "age": 30, "monthly": {"salary_net": h["salary"]}}]
        if h["couple"]:
            parents.append({"role": "parent", "age": 31})
        persons = parents + [{"role": "child", "age": 2 + 3 * c} for c in range(h["children"])]
        single = {"role": "parent", "age": 30, "monthly": {"salary_net": h["salary"]}}
        for kind, flags in KINDS.items():
            housing = {"status": h["status"], "rent": h["rent"], **flags}
            sits.append({"id": f"{k}-{kind}", "month": month, "depcom": h["depcom"], "housing": housing,
                         "persons": persons, **({"couple": "married"} if h["couple"] else {})})
        sits.append({"id": f"{k}-single", "month": month, "depcom": h["depcom"],
                     "housing": {"status": h["status"], "rent": h["rent"]}, "persons": [single]})
    batch = load_situations(sits)
    assert not batch.errors
    first = dt.date.fromisoformat(f"{month}-01")
    res = evaluate(RULES, Inputs(**batch.frames_for_month(first)), first, missing_inputs="default")["famille"]
    out = (res.join(batch.unit_index.select("famille_id", "id"), on="famille_id")
           .with_columns(pl.col("id").str.split("-").list.get(0).alias("k"),
                         pl.col("id").str.split("-").list.get(1).alias("kind"))
           .pivot("kind", index="k", values=RULES))
    for row in out.iter_rows(named=True):
        plain, single = row["al_loyer_plafond_plain"], row["al_loyer_plafond_single"]
        assert abs(row["al_loyer_plafond_coloc"] - 0.75 * plain) <= 0.0051
        assert abs(row["al_loyer_plafond_room"] - 0.9 * single) <= 0.0051
        assert abs(row["al_loyer_plafond_both"] - 0.675 * single) <= 0.0051
        assert row["al_charges_coloc"] <= row["al_charges_plain"] + 1e-9
        assert row["al_charges_room"] == row["al_charges_plain"]
        for kind in ("coloc", "room", "both"):
            assert row[f"aide_logement_{kind}"] <= row["aide_logement_plain"] + 1e-9, (kind, row)
