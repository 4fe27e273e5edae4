"""Key rotation: move pseudonymised tables from an old key to a new one.

HMAC is one-way: nobody can compute HMAC(new, nir) from HMAC(old, nir). So rotation has two sides:

1. **Raw-identifier side** (needs raw NIRs *and* both keys): an agency that holds the NIRs of its
   population builds a translation table ``old pseudonym → new pseudonym`` with :func:`rotation_map`.
   The map holds no raw identifier and is ready to hand over. Several agencies' maps are merged with
   :func:`merge_rotation_maps` (same person, same pair: deduplicated; a conflict raises).
2. **Workspace side** (no raw identifier, no key): :func:`rekey` joins each pseudonymised table to the
   map and swaps the pseudonyms. A row whose old pseudonym is not in the map cannot be re-keyed without
   raw identifiers: it raises (default) or becomes null and is reported, never guessed.

Raw identifiers are needed whenever the pseudonyms themselves change (new exchange secret, new purpose,
compromised key), i.e. for every real rotation: only the *building* of the map needs them, never the
re-keying of the workspace. Rows already under the new key (key id column) pass through unchanged.
The map is as sensitive as a pseudonym table (it links the old and new worlds): delete it after use.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

from nonrecours.errors import PrivacyError
from nonrecours.privacy.keys import PseudonymKey
from nonrecours.privacy.pseudonyms import pseudonymise

__all__ = ["ROTATION_MAP_SCHEMA", "merge_rotation_maps", "rekey", "rotation_map"]

ROTATION_MAP_SCHEMA = pl.Schema({
    "old_pseudonym": pl.String(), "old_key_id": pl.String(),
    "new_pseudonym": pl.String(), "new_key_id": pl.String(),
})


def rotation_map(raw: pl.DataFrame, column: str, old: PseudonymKey, new: PseudonymKey) -> pl.DataFrame:
    """Translation table old → new for the valid NIRs in ``raw[column]`` (raw-identifier side).

    Invalid or missing NIRs have no pseudonym under either key and are left out. One row per person.
    """
    if old.key_id == new.key_id:
        raise PrivacyError("rotation needs two different keys (same key id on both sides)")
    nirs = raw.select(pl.col(column))
    a = pseudonymise(nirs, column, old, out="old_pseudonym", key_id_column="old_key_id",
                     reason_column=None, drop_raw=False)
    b = pseudonymise(a, column, new, out="new_pseudonym", key_id_column="new_key_id",
                     reason_column=None, drop_raw=True)
    return (b.filter(pl.col("old_pseudonym").is_not_null())
            .select(list(ROTATION_MAP_SCHEMA))
            .unique(subset="old_pseudonym", keep="first", maintain_order=True))


def merge_rotation_maps(*maps: pl.DataFrame) -> pl.DataFrame:
    """Union of maps built by several agencies; raises if one old pseudonym maps to two new ones."""
    if not maps:
        raise PrivacyError("no rotation map to merge")
    for m in maps:
        if m.schema != ROTATION_MAP_SCHEMA:
            raise PrivacyError("a rotation map does not have the rotation-map schema")
    merged = pl.concat(maps).unique(maintain_order=True)
    if merged.select(pl.col("old_key_id").n_unique()).item() > 1 or \
            merged.select(pl.col("new_key_id").n_unique()).item() > 1:
        raise PrivacyError("rotation maps of different key pairs cannot be merged")
    dup = merged.select(pl.col("old_pseudonym").is_duplicated().arg_true().first()).item()
    if dup is not None:
        raise PrivacyError(f"rotation maps conflict: row {dup} of the merged map has two new pseudonyms")
    return merged


def rekey(table: pl.DataFrame, mapping: pl.DataFrame, column: str = "person_id", *,
          key_id_column: str | None = None, on_missing: Literal["raise", "null"] = "raise"
          ) -> tuple[pl.DataFrame, int]:
    """Swap the pseudonyms of ``table[column]`` through ``mapping`` (workspace side, no raw identifier).

    Returns the re-keyed table (same rows, same order) and the number of rows whose pseudonym was not
    in the map (0 unless ``on_missing="null"``). With ``key_id_column``, rows already under the new key
    are kept and rows under a third key raise; the column is updated to the new key id.
    Null pseudonyms stay null (they never join anything).
    """
    if mapping.schema != ROTATION_MAP_SCHEMA:
        raise PrivacyError("mapping does not have the rotation-map schema")
    if column not in table.columns:
        raise PrivacyError(f"column {column} not in the table to re-key")
    if mapping.height == 0:
        raise PrivacyError("empty rotation map")
    old_id = mapping.get_column("old_key_id")[0]
    new_id = mapping.get_column("new_key_id")[0]
    idx, hit = "__rekey_row", "__rekey_new"
    t = table.with_row_index(idx)
    if key_id_column is not None:
        if key_id_column not in table.columns:
            raise PrivacyError(f"key id column {key_id_column} not in the table to re-key")
        other = t.filter(pl.col(key_id_column).is_not_null()
                         & ~pl.col(key_id_column).is_in([old_id, new_id])).select(pl.col(idx).first())
        if other.height and other.item() is not None:
            raise PrivacyError(
                f"row {other.item()} of column {column} is under a key this map does not cover")
        already = pl.col(key_id_column) == new_id
    else:
        already = pl.lit(False)
    m = mapping.select(pl.col("old_pseudonym").alias(column), pl.col("new_pseudonym").alias(hit))
    joined = t.join(m, on=column, how="left", nulls_equal=False, maintain_order="left")
    missing = joined.filter(pl.col(column).is_not_null() & pl.col(hit).is_null() & ~already.fill_null(False))
    if missing.height and on_missing == "raise":
        raise PrivacyError(
            f"{missing.height} row(s) of column {column} have no entry in the rotation map (first: row "
            f"{missing.get_column(idx)[0]}); re-keying them needs the raw identifiers")
    out = joined.with_columns(
        pl.when(already.fill_null(False)).then(pl.col(column)).otherwise(pl.col(hit)).alias(column))
    if key_id_column is not None:
        out = out.with_columns(
            pl.when(pl.col(column).is_not_null()).then(pl.lit(new_id)).alias(key_id_column))
    return out.sort(idx).drop(idx, hit), missing.height
