"""Keyed pseudonyms: HMAC-SHA256 of the normalised NIR (or of a namespaced local id), vectorised.

The pseudonym is the 64-character lower-case hex HMAC-SHA256 digest; the key id of the key that made it is
stored beside it. HMAC runs in compiled code over whole columns (the ``polars-hash`` plugin, Rust, one
HMAC per row, no Python callback; a batch is sliced over all cores) and is byte-for-byte the HMAC of
Python's ``hmac`` module (tested).
Measured rate: benchmarks/results/pseudonymise.json.

Null in, null out: a missing or invalid NIR gets a null pseudonym *and* a reason code, so the connector
quarantines the row. A null pseudonym is "unknown person", never a person: joins on pseudonyms must drop
nulls first (Polars and DuckDB inner joins do not match null keys by default; never pass
``nulls_equal=True`` / ``IS NOT DISTINCT FROM`` on a pseudonym).

The key enters the plugin call inside a lazy plan that is built and collected within one function call;
neither the expression nor the plan is ever returned, so nothing holding the key can be printed, explained
or serialised by a caller (and the plugin's repr does not show its arguments: tested).
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import polars_hash as plh

from nonrecours.errors import PrivacyError
from nonrecours.privacy.keys import PseudonymKey
from nonrecours.privacy.nir import _kind_of_valid, stage_nir_checks

__all__ = [
    "PSEUDONYM_PATTERN",
    "hmac_hex",
    "pseudonymise",
    "pseudonymise_local_ids",
]

PSEUDONYM_PATTERN = r"^[0-9a-f]{64}$"
"""Shape of every pseudonym (64 lower-case hex characters)."""

_NS_SEP = "\x1f"  # unit separator: cannot appear in a namespace (checked) nor be typed in an extract


def _hmac_expr(column: str, key: PseudonymKey) -> pl.Expr:
    if not isinstance(key, PseudonymKey):
        raise PrivacyError("pseudonyms need a PseudonymKey")
    return plh.col(column).chash.hmac_sha256(key=key._hmac_key)


_PARALLEL_MIN_ROWS = 200_000


def _run(frame: pl.DataFrame, build: Callable[[pl.LazyFrame], pl.LazyFrame]) -> pl.DataFrame:
    """Apply ``build`` to ``frame`` using every core: slices are planned separately and collected
    together (``collect_all`` runs them in parallel), then concatenated in order. Every step is
    row-wise, so slicing changes nothing in the result (tested on large batches)."""
    k = 2 * max(pl.thread_pool_size(), 1)
    if frame.height < _PARALLEL_MIN_ROWS or k <= 2:
        return build(frame.lazy()).collect()
    size = -(-frame.height // k)
    parts = pl.collect_all([build(frame.slice(i * size, size).lazy()) for i in range(k)])
    return pl.concat(parts, how="vertical", rechunk=False)


def hmac_hex(frame: pl.DataFrame, column: str, key: PseudonymKey, *, out: str) -> pl.DataFrame:
    """Add ``out`` = hex HMAC-SHA256 of ``column`` (String or Binary) under ``key``; null stays null."""
    expr = _hmac_expr(column, key).alias(out)
    return _run(frame, lambda lf: lf.with_columns(expr))


def pseudonymise(
    frame: pl.DataFrame,
    column: str,
    key: PseudonymKey,
    *,
    out: str = "person_id",
    key_id_column: str | None = "person_id_key_id",
    reason_column: str | None = "nir_reason",
    kind_column: str | None = None,
    drop_raw: bool = True,
) -> pl.DataFrame:
    """Replace the raw NIR ``column`` by its pseudonym ``out``.

    Adds ``key_id_column`` (the key id, null where the pseudonym is null), ``reason_column`` (a
    :data:`~nonrecours.privacy.nir.NIR_REASONS` code, null when the NIR is valid) and optionally
    ``kind_column`` (``nir``/``temporary``). Pass ``None`` to leave a column out. The raw column is
    dropped unless ``drop_raw=False`` (tests, rotation); it must never leave the connector.
    """
    if not isinstance(frame, pl.DataFrame):
        raise PrivacyError("pseudonymise works on a collected DataFrame batch (stream big files in batches)")
    if column not in frame.columns:
        raise PrivacyError(f"column {column} not in the frame to pseudonymise")
    tmp_norm, tmp_reason = "__nr_norm", "__nr_reason"
    hmac_expr = _hmac_expr(tmp_norm, key).alias(out)
    extra: list[pl.Expr] = []
    if key_id_column:
        extra.append(pl.when(pl.col(out).is_not_null()).then(pl.lit(key.key_id)).alias(key_id_column))
    if reason_column:
        extra.append(pl.col(tmp_reason).alias(reason_column))
    if kind_column:
        extra.append(
            pl.when(pl.col(tmp_norm).is_not_null())
            .then(_kind_of_valid(pl.col(tmp_norm)))
            .cast(pl.Enum(("nir", "temporary"))).alias(kind_column))
    dropped = [tmp_norm, tmp_reason, *([column] if drop_raw and column != out else [])]

    def build(lf: pl.LazyFrame) -> pl.LazyFrame:
        staged = stage_nir_checks(lf, column, norm=tmp_norm, reason=tmp_reason).with_columns(hmac_expr)
        return staged.with_columns(extra).drop(dropped)

    return _run(frame, build)


def pseudonymise_local_ids(
    frame: pl.DataFrame,
    column: str,
    key: PseudonymKey,
    *,
    namespace: str,
    out: str | None = None,
    key_id_column: str | None = None,
) -> pl.DataFrame:
    """Pseudonymise an agency's local identifier (numéro allocataire, foyer id...) in place.

    The HMAC input is ``namespace + "\\x1f" + id`` (ids trimmed, empty → null), so the same local number
    at two agencies, or in two kinds of unit, never gives the same pseudonym. Use a namespace such as
    ``"caf:famille"``. ``out`` defaults to ``column`` (replaced).
    """
    if not namespace or _NS_SEP in namespace:
        raise PrivacyError("a local-id namespace is a non-empty name without control characters")
    if column not in frame.columns:
        raise PrivacyError(f"column {column} not in the frame to pseudonymise")
    out = out or column
    tmp = "__local_id_msg"
    ids = pl.col(column).cast(pl.String).str.strip_chars()
    message = pl.when(ids.str.len_bytes() > 0).then(pl.lit(namespace + _NS_SEP) + ids).alias(tmp)
    hmac_expr = _hmac_expr(tmp, key).alias(out)
    key_id = ([pl.when(pl.col(out).is_not_null()).then(pl.lit(key.key_id)).alias(key_id_column)]
              if key_id_column else [])
    return _run(frame, lambda lf: lf.with_columns(message).with_columns(hmac_expr).drop(tmp)
                .with_columns(key_id))
