"""The connectors' single door to ``nonrecours.privacy``: NIR checks, pseudonyms, the agreement check.

Everything in the connectors that touches a raw identifier goes through here, so the boundary is one small
file to audit. The NIR check is an expression (evaluated with the other field checks); pseudonyms are made
in bulk on the accepted rows of a batch, and the raw column is replaced in the same call.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from nonrecours.privacy import (
    ExchangeAgreement,
    PseudonymKey,
    nir_normalised,
    nir_reason,
    pseudonymise,
    pseudonymise_local_ids,
)

__all__ = ["NIR_MESSAGES", "check_export", "nir_fault", "pseudonymise_ids"]

NIR_MESSAGES: Mapping[str, str] = {
    "missing": "missing NIR",
    "characters": "NIR with characters other than digits (or 2A/2B)",
    "length": "NIR of the wrong length",
    "key": "invalid NIR check key",
    "sex": "NIR with an invalid first digit",
    "month": "NIR with an invalid birth month",
}


def nir_fault(raw: pl.Expr, *, required: bool) -> pl.Expr:
    """A readable reason why a raw NIR is unusable (null when valid, or absent and optional)."""
    code = nir_reason(raw).cast(pl.String)
    reason = pl.when(code.is_not_null()).then(code.replace_strict(dict(NIR_MESSAGES), default="unusable NIR"))
    if not required:
        reason = pl.when(nir_normalised(raw).is_null()).then(None).otherwise(reason)
    return reason


def pseudonymise_ids(frame: pl.DataFrame, nir_columns: list[str], local_columns: dict[str, str],
                     key: PseudonymKey) -> pl.DataFrame:
    """Replace each NIR column and each local id column (name → namespace) by its pseudonym, in place."""
    for col in nir_columns:
        frame = pseudonymise(frame, col, key, out=col, key_id_column=None, reason_column=None)
    for col, namespace in local_columns.items():
        frame = pseudonymise_local_ids(frame, col, key, namespace=namespace)
    return frame


def check_export(agreement: ExchangeAgreement, agency: str, exported: Mapping[str, list[str]]) -> None:
    """PrivacyError (naming agency, table, column) when a mapping would export an unlisted column."""
    for table, cols in exported.items():
        agreement.check_export(agency, table, cols)
