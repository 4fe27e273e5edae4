"""Household clusters: people linked by any unit, transitively (the partition key)."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from nonrecours.core.clusters import clusters

_KINDS = ("famille_id", "foyer_fiscal_id", "menage_id")


def _reference(rows: list[tuple[str, str | None, str | None, str | None]]) -> dict[str, str]:
    """Union-find over the persons sharing a unit of one kind: each person's smallest linked person id."""
    parent = {p: p for p, *_ in rows}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    first: dict[tuple[int, str], str] = {}
    for p, *units in rows:
        for k, u in enumerate(units):
            if u is None:
                continue
            q = first.setdefault((k, u), p)
            a, b = find(p), find(q)
            if a != b:
                parent[max(a, b)] = min(a, b)
    return {p: find(p) for p in parent}


unit = st.one_of(st.none(), st.sampled_from([f"u{i}" for i in range(12)]))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(unit, unit, unit), min_size=0, max_size=40), st.randoms(use_true_random=False))
def test_each_person_is_labelled_with_the_smallest_person_id_it_is_linked_to(units, rnd) -> None:  # type: ignore[no-untyped-def]
    """Whatever the links (one unit id shared by several kinds is not a link: a famille u1 and a ménage u1 are two
    units), chains included: the cluster is the smallest person id reachable through shared units, one row per
    input row in its order."""
    ids = [f"p{n:03d}" for n in rnd.sample(range(1000), len(units))]
    rows = [(p, *u) for p, u in zip(ids, units, strict=True)]
    frame = pl.DataFrame(rows, schema={"person_id": pl.String, **{k: pl.String for k in _KINDS}}, orient="row")
    got = clusters(frame)
    assert got.get_column("person_id").to_list() == ids
    assert dict(got.iter_rows()) == _reference(rows)


def test_a_long_chain_converges_and_persons_without_units_are_their_own_cluster() -> None:
    """A chain of 30 persons each sharing a famille with the next and a ménage with the one after: one cluster,
    named by its smallest id; a person in no unit, and one with only null units, alone."""
    n = 30
    frame = pl.DataFrame({
        "person_id": [f"p{i:02d}" for i in range(n)] + ["q1", "q2"],
        "famille_id": [f"f{i // 2}" for i in range(n)] + [None, None],
        "menage_id": [f"m{(i + 1) // 2}" for i in range(n)] + [None, "m99"],
    })
    got = dict(clusters(frame).iter_rows())
    assert {got[f"p{i:02d}"] for i in range(n)} == {"p00"}
    assert got["q1"] == "q1" and got["q2"] == "q2"
