"""detection.deciding: the individus a moved input can reach, two shared units away, found for many moves at once."""

from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from nonrecours.detection.deciding import _Hops


def _reference(rows: list[dict], start: set[str]) -> set[str]:
    """Two hops by hand: a person reaches whoever shares a famille, a foyer or a ménage with them."""
    def hop(people: set[str]) -> set[str]:
        units = {(k, r[k]) for r in rows if r["person_id"] in people for k in ("famille_id", "foyer_fiscal_id",
                                                                                "menage_id") if r[k] is not None}
        return people | {r["person_id"] for r in rows
                         if any((k, r[k]) in units for k in ("famille_id", "foyer_fiscal_id", "menage_id"))}
    return hop(hop(start & {r["person_id"] for r in rows}))


unit = st.one_of(st.none(), st.sampled_from(["1", "2", "3", "4", "5"]))


@given(st.lists(st.tuples(unit, unit, unit), min_size=1, max_size=25), st.data())
def test_two_hops_are_the_persons_two_shared_units_away(memberships, data) -> None:  # type: ignore[no-untyped-def]
    """Any memberships (unit ids shared across kinds, persons in no unit): the closure of any set of persons,
    and of any familles' members, is the hand-computed one, every row of the frame kept whole."""
    rows = [{"person_id": f"p{i}", "famille_id": f, "foyer_fiscal_id": t, "menage_id": m, "age": i}
            for i, (f, t, m) in enumerate(memberships)]
    individu = pl.DataFrame(rows, schema={"person_id": pl.String, "famille_id": pl.String,
                                          "foyer_fiscal_id": pl.String, "menage_id": pl.String, "age": pl.Int64})
    start = set(data.draw(st.lists(st.sampled_from([r["person_id"] for r in rows] + ["absent"]), max_size=6)))
    hops = _Hops(individu)
    got = hops.closure(pl.DataFrame({"person_id": sorted(start)}, schema={"person_id": pl.String}))
    assert set(got.get_column("person_id").to_list()) == _reference(rows, start)
    assert got.equals(individu.filter(pl.col("person_id").is_in(got.get_column("person_id").implode())))
    fams = set(data.draw(st.lists(st.sampled_from(["1", "2", "3", "9"]), max_size=3)))
    members = {r["person_id"] for r in rows if r["famille_id"] in fams}
    got = hops.of_familles(pl.DataFrame({"famille_id": sorted(fams)}, schema={"famille_id": pl.String}))
    assert set(got.get_column("person_id").to_list()) == _reference(rows, members)
