"""Housing aid in accession (loi n° 2017-1837 du 30 décembre 2017, art. 126): invariants over generated accédants,
each evaluated with loans signed on each side of the closure, in one vectorised batch."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from nonrecours.engine import Inputs, evaluate
from nonrecours.simulation import load_situations

OPEN = ("2003-02-14", "2017-12-31")
CLOSED = ("2018-01-01", "2019-07-01", "2024-03-15", None)

household = st.fixed_dictionaries({
    "depcom": st.sampled_from(["75056", "69123", "46042", "97411"]),
    "mensualite": st.integers(min_value=80, max_value=1500),
    "couple": st.booleans(),
    "children": st.integers(min_value=0, max_value=7),
    "salary": st.sampled_from([0, 400, 900, 1400, 2000, 3500]),
})


@settings(max_examples=4, deadline=None)
@given(households=st.lists(household, min_size=5, max_size=20),
       month=st.sampled_from(["2024-03", "2025-06", "2025-11", "2026-11"]))
def test_the_aid_follows_the_loan_date_only_through_the_closure(households: list[dict], month: str) -> None:
    """Any loan signed before 1 January 2018 gives the same aid, any loan signed since (or no date) none; the
    mensualité retained never exceeds the ceiling of the zone and household; the aid never exceeds that
    ceiling plus the charges forfait (K < 1, L0 >= 0)."""
    sits = []
    for k, h in enumerate(households):
        persons = [{"role": "parent", "age": 40, "monthly": {"salary_net": h["salary"]}}]
        if h["couple"]:
            persons.append({"role": "parent", "age": 41})
        persons += [{"role": "child", "age": 1 + 2 * c} for c in range(h["children"])]
        for j, loan in enumerate(OPEN + CLOSED):
            housing = {"status": "owner_with_loan", "rent": h["mensualite"], **({"loan_date": loan} if loan else {})}
            sits.append({"id": f"{k}-{j}", "month": month, "depcom": h["depcom"], "housing": housing,
                         "persons": persons, **({"couple": "married"} if h["couple"] else {})})
    batch = load_situations(sits)
    assert not batch.errors
    first = dt.date.fromisoformat(f"{month}-01")
    rules = ["aide_logement", "al_accession", "al_accession_mensualite_plafond", "al_charges"]
    res = evaluate(rules, Inputs(**batch.frames_for_month(first)), first, missing_inputs="default")["famille"]
    out = (res.join(batch.unit_index.select("famille_id", "id"), on="famille_id")
           .with_columns(pl.col("id").str.split("-").list.get(0).alias("k"),
                         pl.col("id").str.split("-").list.get(1).cast(pl.Int64).alias("j")))
    for (_,), g in out.group_by("k"):
        by_j = {r["j"]: r for r in g.iter_rows(named=True)}
        opened = [by_j[j] for j in range(len(OPEN))]
        closed = [by_j[j] for j in range(len(OPEN), len(OPEN) + len(CLOSED))]
        assert all(r["al_accession"] for r in opened) and not any(r["al_accession"] for r in closed)
        assert opened[0]["aide_logement"] == opened[1]["aide_logement"]
        assert all(r["aide_logement"] == 0 for r in closed)
        r = opened[0]
        assert 0 <= r["aide_logement"] <= r["al_accession_mensualite_plafond"] + r["al_charges"]


def test_an_aah_holder_repaying_an_old_loan_gets_the_majoration_pour_la_vie_autonome() -> None:
    """CSS art. L821-1-2: the majoration goes to an AAH holder at 80 % without earnings who receives a housing
    aid; with no payment known, an accédant whose loan (2015) opens the aid in accession counts as receiving it,
    one whose loan (2021) does not, nor does an owner without a loan."""
    sits = [{"id": k, "month": "2025-06", "depcom": "46042", "housing": housing,
             "persons": [{"role": "parent", "age": 45, "disability_rate": 0.8}]}
            for k, housing in (("old", {"status": "owner_with_loan", "rent": 450, "loan_date": "2015-06-01"}),
                               ("recent", {"status": "owner_with_loan", "rent": 450, "loan_date": "2021-06-01"}),
                               ("owner", {"status": "owner", "rent": 0}))]
    batch = load_situations(sits)
    assert not batch.errors
    first = dt.date(2025, 6, 1)
    res = evaluate(["caah", "aide_logement"], Inputs(**batch.frames_for_month(first)), first, missing_inputs="default")
    fam = res["famille"].join(batch.unit_index.select("famille_id", "id"), on="famille_id")
    ind = (res["individu"].join(batch.frames["individu"].select("person_id", "famille_id"), on="person_id")
           .join(batch.unit_index.select("famille_id", "id"), on="famille_id"))
    caah = dict(zip(ind["id"], ind["caah"], strict=True))
    aid = dict(zip(fam["id"], fam["aide_logement"], strict=True))
    assert aid["old"] > 0 and aid["recent"] == 0 and aid["owner"] == 0
    assert caah == {"old": 104.77, "recent": 0.0, "owner": 0.0}
