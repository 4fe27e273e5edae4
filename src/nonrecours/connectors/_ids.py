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
    ReturnTokenKey,
    issue_return_tokens,
    nir_normalised,
    nir_reason,
    pseudonymise,
    pseudonymise_local_ids,
)

__all__ = ["NIR_MESSAGES", "RETURN_TOKEN", "check_export", "nir_fault", "pseudonymise_ids", "wrap_record_numbers"]

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


RETURN_TOKEN = "__return_token"
"""Column ``parse_record`` adds: the agency's record number as a return token (the raw number never leaves)."""


def wrap_record_numbers(frame: pl.DataFrame, column: str, key: ReturnTokenKey) -> pl.DataFrame:
    """Add ``RETURN_TOKEN``: ``column`` (the agency's own record number, raw) wrapped under the agency's key.

    Each distinct number is encrypted once (AES-SIV is deterministic; a dossier has several members and
    months), then joined back; the raw column itself is left for the pseudonymisation that follows.
    """
    numbers = frame.select(pl.col(column).cast(pl.String).alias("__number")).drop_nulls().unique()
    tokens = issue_return_tokens(numbers, "__number", key, out=RETURN_TOKEN, key_id_column=None,
                                 drop_record=False)
    return frame.join(tokens, left_on=pl.col(column).cast(pl.String), right_on="__number", how="left",
                      maintain_order="left").drop("__number", strict=False)


def check_export(agreement: ExchangeAgreement, agency: str, exported: Mapping[str, list[str]]) -> None:
    """PrivacyError (naming agency, table, column) when a mapping would export an unlisted column."""
    for table, cols in exported.items():
        agreement.check_export(agency, table, cols)
