"""The backend agreement benchmark's comparison (benchmarks/backend_agreement.py): what it calls a difference."""

from __future__ import annotations

import polars as pl
from tests.benches import load_bench

differing = load_bench("backend_agreement").differing


def test_identical_frames_have_no_difference_whatever_their_row_order() -> None:
    a = pl.DataFrame({"famille_id": [1, 2, 3], "rsa": [0.0, None, 512.3], "eligible": [True, None, False]})
    assert differing(a, a.reverse(), "famille_id") == {}


def test_floats_within_the_tolerance_agree_and_beyond_it_differ_naming_the_ids() -> None:
    a = pl.DataFrame({"famille_id": [1, 2, 3], "rsa": [100.0, 200.0, 300.0]})
    b = pl.DataFrame({"famille_id": [1, 2, 3], "rsa": [100.0 + 1e-12, 200.01, 300.0]})
    assert differing(a, b, "famille_id") == {"rsa": {"count": 1, "first": ["2"]}}


def test_a_null_differs_from_a_value_and_equals_only_a_null() -> None:
    a = pl.DataFrame({"person_id": ["p1", "p2"], "statut": ["salarie", None], "age": [40, None]})
    b = pl.DataFrame({"person_id": ["p1", "p2"], "statut": [None, None], "age": [40, 0]})
    out = differing(a, b, "person_id")
    assert out == {"statut": {"count": 1, "first": ["p1"]}, "age": {"count": 1, "first": ["p2"]}}


def test_missing_rows_and_columns_are_differences_not_silently_dropped() -> None:
    a = pl.DataFrame({"menage_id": [1, 2], "x": [1, 2], "only_polars": [0, 0]})
    b = pl.DataFrame({"menage_id": [1, 3], "x": [1, 2], "only_other": [0, 0]})
    out = differing(a, b, "menage_id")
    assert out["only_polars"]["only_in"] == "polars" and out["only_other"]["only_in"] == "other"
    assert out["menage_id"] == {"count": 2, "only_in": "rows"}
    assert out["x"]["count"] == 2  # the unmatched row on each side
