"""Property: the project's rules give the same results, bit for bit, whatever the physical layout of the input
frames: rows of every frame in any order, the id columns flagged sorted (Polars ``set_sorted``) or not, on Polars
and on DuckDB, and the two backends the same. An agency's run must not move by a cent with the order of its
extracts, their partitioning or the backend; until the sums over members were taken in fixed point
(``plan.SUM_SCALE``) a float sum followed the order the backend met the members in (one famille of the 50,000
situations of ``benchmarks/simulate_speed_bench.py`` got an RSA of 551.01 or 551.02 with the flags)."""

from __future__ import annotations

import datetime as dt
import re

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from nonrecours.engine import Inputs, evaluate
from nonrecours.engine.plan import ID
from nonrecours.errors import EngineError
from nonrecours.rules.benefits import SIMULATED_RULES
from nonrecours.simulation import load_situations
from nonrecours.simulation.differential import generate_situations

TARGETS = sorted(set(SIMULATED_RULES.values()))
DUCKDB_TARGETS = ["rsa", "aspa", "asi"]
"""Fewer targets on DuckDB (the RSA's plan: 886 steps, 70 sums over members): the SQL of every simulated field
takes 10 to 20 s to build and plan, that of these a few seconds."""
MONTHS = ("2024-03", "2025-04", "2025-10", "2026-01")
"""Months on both sides of the dated changes (the differential test's)."""


def _frames(n: int, seed: int, month: str) -> tuple[dict[str, pl.DataFrame], dt.date]:
    batch = load_situations(generate_situations(n, seed, months=[month]))
    assert not batch.errors
    return {k: v for k, v in batch.frames.items() if v is not None}, batch.months[0]


def _shuffled(frames: dict[str, pl.DataFrame], seed: int) -> dict[str, pl.DataFrame]:
    """Every frame's rows in another order (hence the members of a unit too), no sortedness flag."""
    return {k: f.sample(fraction=1.0, shuffle=True, seed=seed + i) for i, (k, f) in enumerate(frames.items())}


def _flagged(frames: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Every frame sorted by its id (individu by famille, then person), the id columns flagged sorted where they
    are: Polars then takes its sorted fast paths (joins; the aggregates group by a copy of the key without its
    flag, slices costing more than hashed groups, polars_backend._unsorted_key)."""
    out = {}
    for k, f in frames.items():
        keys = {"individu": ["famille_id", "person_id"]}.get(k, [ID[k.removesuffix("_monthly")]])
        f = f.sort([*keys, "month"] if k.endswith("_monthly") else keys)
        flagged = [c for c in dict.fromkeys([keys[0], "person_id", "famille_id"])
                   if c in f.columns and f[c].is_sorted()]
        out[k] = f.with_columns(pl.col(c).set_sorted() for c in flagged)
    return out


def _results(frames: dict[str, pl.DataFrame], month: dt.date, backend: str,
             targets: list[str] = TARGETS) -> dict[str, pl.DataFrame]:
    return evaluate(targets, Inputs(**frames), month, backend=backend).frames


def _assert_identical(a: dict[str, pl.DataFrame], b: dict[str, pl.DataFrame], what: str) -> None:
    assert a.keys() == b.keys()
    for entity in a:
        try:
            assert_frame_equal(a[entity], b[entity], check_exact=True)
        except AssertionError as exc:
            raise AssertionError(f"{what}, {entity}: {exc}") from None


@pytest.mark.slow
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(8, 40), seed=st.integers(0, 10**6), month=st.sampled_from(MONTHS),
       order=st.integers(0, 10**6))
def test_polars_results_do_not_depend_on_row_order_or_sortedness_flags(n: int, seed: int, month: str,
                                                                        order: int) -> None:
    frames, at = _frames(n, seed, month)
    plain = _results(frames, at, "polars")
    _assert_identical(plain, _results(_shuffled(frames, order), at, "polars"), "rows shuffled")
    _assert_identical(plain, _results(_flagged(frames), at, "polars"), "ids flagged sorted")


@pytest.mark.slow
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(8, 40), seed=st.integers(0, 10**6), month=st.sampled_from(MONTHS),
       order=st.integers(0, 10**6))
def test_duckdb_on_rows_in_any_order_equals_polars(n: int, seed: int, month: str, order: int) -> None:
    """DuckDB reads the frames through Arrow (no sortedness flag): its rows shuffled, against Polars."""
    frames, at = _frames(n, seed, month)
    _assert_identical(_results(frames, at, "polars", DUCKDB_TARGETS),
                      _results(_shuffled(frames, order), at, "duckdb", DUCKDB_TARGETS), "DuckDB on shuffled rows")


@pytest.mark.parametrize("backend", ["polars", "duckdb"])
def test_a_sum_beyond_the_fixed_point_is_refused_without_quoting_the_value(backend: str) -> None:
    """A member's amount beyond the 64-bit fixed point (about ±9.2e9) makes an error, never a wrapped sum; the
    error, and what it chains, quotes neither the value nor the data (DuckDB's own message quotes both)."""
    frames, month = _frames(3, 5, "2025-04")
    frames["individu_monthly"] = frames["individu_monthly"].with_columns(
        pl.lit(1.2345678901234e20).alias("salary_net"))
    with pytest.raises(EngineError) as caught:
        _results(frames, month, backend, ["rsa"])
    chain = [caught.value, caught.value.__cause__, caught.value.__context__ if not caught.value.__suppress_context__
             else None]
    text = " ".join(str(e) for e in chain if e is not None).replace("±9.2e9", "")  # the bound, not a value
    assert not re.search(r"\d\.\d+e[+-]?\d+", text), text  # no value, the member's nor a derived one


@pytest.mark.parametrize("values", [[1, 2, 2, 5], [None, 3, 4, 4], ["caf:F1", "caf:F2", "msa:F1", "msa:F2"],
                                    [None, "a", "b", "b"]])
@pytest.mark.parametrize("descending", [False, True])
def test_the_aggregates_key_loses_its_sorted_flag_and_keeps_its_values(values, descending):
    """``polars_backend._unsorted_key``: the key the aggregates group by, without its sortedness flag (Polars would
    group it by slices), the same values and dtype, nulls included; the frame given keeps its flag (joins use it).
    Fails if a Polars upgrade keeps the flag of a Series written to."""
    from nonrecours.engine.polars_backend import _unsorted_key

    key = pl.Series("famille_id", values[::-1] if descending else values).set_sorted(descending=descending)
    frame = pl.DataFrame([key, pl.Series("x", range(len(values)))])
    out = _unsorted_key(frame, "famille_id").get_column("famille_id")
    assert not (out.flags["SORTED_ASC"] or out.flags["SORTED_DESC"])
    assert out.dtype == key.dtype and out.to_list() == key.to_list()
    assert frame.get_column("famille_id").flags["SORTED_DESC" if descending else "SORTED_ASC"]
