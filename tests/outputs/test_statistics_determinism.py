"""The secrecy pattern is a function of the counts only: not of the cells' row order, nor of the order in which
Polars returns what it does not order (joins, ``unique``, ``group_by`` without ``maintain_order``). Two
published runs of the same counts with different patterns would let a reader difference them."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.dataframe.group_by import GroupBy

from nonrecours.errors import SchemaError
from nonrecours.outputs import statistics
from nonrecours.outputs.statistics import cell_counts, suppress, territory_table

from .test_statistics import TYPES, hierarchies, make_units

KEYS = ["benefit", "level", "area", "household_type"]


def unordered(mp: pytest.MonkeyPatch, seed: int) -> None:
    """Within ``mp``, every join, ``unique`` and ``group_by`` whose row order Polars leaves unspecified returns
    its rows shuffled (within Polars' contract: that order "might differ between runs")."""
    join, unique, agg = pl.DataFrame.join, pl.DataFrame.unique, GroupBy.agg
    rng = np.random.default_rng(seed)

    def shuffle(df: pl.DataFrame) -> pl.DataFrame:
        return df[rng.permutation(df.height)] if df.height > 1 else df

    def join_(self, *args, **kwargs):
        out = join(self, *args, **kwargs)
        return out if kwargs.get("maintain_order") not in (None, "none") else shuffle(out)

    def unique_(self, *args, **kwargs):
        out = unique(self, *args, **kwargs)
        return out if kwargs.get("maintain_order") else shuffle(out)

    def agg_(self, *args, **kwargs):
        out = agg(self, *args, **kwargs)
        return out if self.maintain_order else shuffle(out)

    mp.setattr(pl.DataFrame, "join", join_)
    mp.setattr(pl.DataFrame, "unique", unique_)
    mp.setattr(GroupBy, "agg", agg_)


def _pattern(cells: pl.DataFrame) -> list[tuple]:
    return cells.select(*KEYS, "suppressed").sort(KEYS).rows()


def _two_departements() -> pl.DataFrame:
    """Cahors' 59 communes over two départements, three benefits, counts 0-18 (many under the threshold)."""
    base = territory_table("cahors")
    terr = base.with_columns(pl.when(pl.int_range(pl.len()) < base.height // 2).then(pl.lit("46"))
                             .otherwise(pl.lit("47")).alias("departement"))
    communes = terr.get_column("depcom").to_list()
    parts = []
    for b, benefit in enumerate(("rsa", "ppa", "aspa")):
        counts = pl.DataFrame([(c, t, (7 * i + 3 * j + 5 * b * (i % 3)) % 19) for i, c in enumerate(communes)
                               for j, t in enumerate(TYPES)], schema=["depcom", "household_type", "n"], orient="row")
        units, profiles = make_units(counts, benefit=benefit)
        parts.append((units.with_columns(pl.col("unit_id") + f"|{benefit}"),
                      profiles.with_columns(pl.col("unit_id") + f"|{benefit}")))
    units = pl.concat([u for u, _ in parts])
    profiles = pl.concat([p for _, p in parts])
    return cell_counts(units, profiles, terr)


@pytest.mark.parametrize("path", ["whole", "chunked", "split", "bounded"])
def test_the_pattern_does_not_depend_on_row_order(monkeypatch, path):
    """The same cells, in the order ``cell_counts`` gives them, shuffled, and with every unordered Polars result
    shuffled, give one pattern: on the whole audit, on its blocks gathered into several programs
    (``CHUNK_CELLS``), split at the départements (``SPLIT_CELLS``), and split past its ``CELL_SOLVES`` bound as
    on a France-wide table, where each cell the pushing solves leave short is taken as exposed: which cells those
    are follows the optimal vertices the solver returns, and so the order of the program's rows (before the
    canonical program, France at 20,000 persons: a different pattern in two runs of the same frame)."""
    if path == "chunked":
        monkeypatch.setattr(statistics, "CHUNK_CELLS", 100)
    if path in ("split", "bounded"):
        monkeypatch.setattr(statistics, "SPLIT_CELLS", 0)
    if path == "bounded":
        monkeypatch.setattr(statistics, "CELL_SOLVES", 0)
        monkeypatch.setattr(statistics, "UPPER_CELL_SOLVES", 0)
    cells = _two_departements()
    reference = suppress(cells, threshold=11)
    heuristic = suppress(cells, threshold=11, audit=False)
    # the audit has work to do here: cells it hides beyond the heuristic's (otherwise no solver is asked)
    added = (reference.get_column("suppressed").is_not_null() & heuristic.get_column("suppressed").is_null()).sum()
    assert added > 0
    assert _pattern(suppress(cells, threshold=11)) == _pattern(reference), "a second run"
    # runs on the same frame, only what Polars leaves unordered differing (before the canonical program, the
    # bounded path failed here in 3 of 4 pytest runs, the shuffled cells below in the fourth)
    for seed in (4, 5, 6, 7) if path == "bounded" else (4,):
        with pytest.MonkeyPatch.context() as mp:
            unordered(mp, seed)
            again = suppress(cells, threshold=11)
        assert _pattern(again) == _pattern(reference), f"unordered results, seed {seed}"
    for seed in (1, 2):
        shuffled = suppress(cells.sample(fraction=1.0, shuffle=True, seed=seed), threshold=11)
        assert _pattern(shuffled) == _pattern(reference), f"shuffled cells, seed {seed}"


def test_rows_come_back_in_the_order_given():
    cells = _two_departements().sample(fraction=1.0, shuffle=True, seed=11)
    out = suppress(cells, threshold=11)
    assert out.drop("suppressed").equals(cells)


def test_a_cell_given_twice_is_refused():
    """A repeated cell would be numbered by its row order (the pattern would follow it) and read twice by its sums."""
    cells = _two_departements()
    with pytest.raises(SchemaError, match="given twice"):
        suppress(pl.concat([cells, cells.head(1)]), threshold=11)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hierarchies(), st.integers(3, 15), st.integers(0, 2**32 - 1), st.booleans())
def test_pattern_is_a_function_of_the_counts_on_random_hierarchies(data, threshold, seed, split):
    counts, terr = data
    units, profiles = make_units(counts)
    if units.height == 0:
        return
    cells = cell_counts(units, profiles, terr)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(statistics, "SPLIT_CELLS", 0 if split else 10**9)
        reference = suppress(cells, threshold=threshold)
        shuffled = suppress(cells.sample(fraction=1.0, shuffle=True, seed=seed), threshold=threshold)
    assert _pattern(shuffled) == _pattern(reference)
