"""The connectors' single door to ``nonrecours.privacy``: NIR checks and pseudonyms.

Everything that touches a raw identifier in the connectors goes through here, so the boundary is one small
file to audit. INTERIM: until the privacy package lands, a local vectorised NIR check and a keyed HMAC are
used; they are replaced by calls to ``nonrecours.privacy``.
"""

from __future__ import annotations

import hashlib
import hmac

import polars as pl

__all__ = ["Pseudonymiser", "check_export", "nir_fault", "nir_normalised"]


def nir_normalised(raw: pl.Expr) -> pl.Expr:
    """Upper-case, spaces removed; null when empty."""
    s = raw.str.replace_all(r"[\s.\-]", "").str.to_uppercase()
    return pl.when(s.str.len_chars() > 0).then(s).otherwise(None)


def nir_fault(norm: pl.Expr) -> pl.Expr:
    """Reason a normalised NIR is unusable (null when valid)."""
    shape = norm.str.contains(r"^[12378]\d{2}(0[1-9]|1[0-2]|[2-9]\d)(\d{2}|2[AB])\d{6}\d{2}$")
    body = norm.str.slice(0, 13).str.replace("2A", "19", literal=True).str.replace("2B", "18", literal=True)
    n = body.cast(pl.Int64, strict=False)
    key = norm.str.slice(13, 2).cast(pl.Int64, strict=False)
    return (pl.when(norm.is_null()).then(pl.lit("missing NIR"))
            .when(~shape).then(pl.lit("malformed NIR"))
            .when(97 - n % 97 != key).then(pl.lit("invalid NIR check key"))
            .otherwise(None))


class Pseudonymiser:
    """Keyed pseudonyms of identifiers; the key never appears in a repr."""

    def __init__(self, key: bytes, key_id: str) -> None:
        self._key = key
        self.key_id = key_id

    def __repr__(self) -> str:
        return f"Pseudonymiser(key_id={self.key_id!r})"

    def __call__(self, values: pl.Series, namespace: str) -> pl.Series:
        k = hmac.new(self._key, namespace.encode(), hashlib.sha256).digest()
        uniq = values.unique().drop_nulls()
        mapped = [hmac.new(k, v.encode(), hashlib.sha256).hexdigest()[:32] for v in uniq.to_list()]
        table = dict(zip(uniq.to_list(), mapped, strict=True))
        return values.replace_strict(table, default=None, return_dtype=pl.String)


def check_export(agreement: object, mapping: object) -> None:
    """Raise PrivacyError when the mapping would export a column the agreement does not list."""
    from nonrecours.errors import PrivacyError

    if agreement is None:
        raise PrivacyError("an exchange agreement is required to export anything from a connector")
    allowed: dict[str, list[str]] = agreement  # type: ignore[assignment]
    for table, cols in mapping.exported_columns.items():  # type: ignore[attr-defined]
        for col in cols:
            if col not in allowed.get(table, []):
                raise PrivacyError(f"mapping for {mapping.agency} exports {table}.{col}, "  # type: ignore[attr-defined]
                                   "which the exchange agreement does not list")
