"""Privacy at the agency boundary: NIR checks, keyed pseudonyms, keys, rotation, return tokens, minimisation.

Nothing here logs, prints or raises an identifier, a pseudonym or key material. See docs/privacy.md.
"""

from nonrecours.privacy.agreement import ALWAYS_ALLOWED, AgencyTerms, ExchangeAgreement, load_agreement
from nonrecours.privacy.keys import (
    MIN_SECRET_BYTES,
    AuditKey,
    KeySource,
    PseudonymKey,
    ReturnTokenKey,
    Secret,
    derive_pseudonym_key,
    derive_return_key,
    load_secret,
    write_secret_file,
)
from nonrecours.privacy.leaks import Leak, find_leaks
from nonrecours.privacy.nir import (
    NIR_REASONS,
    check_nirs,
    nir_born_in_france,
    nir_kind,
    nir_neighbours,
    nir_normalised,
    nir_reason,
    nir_sex,
    stage_nir_checks,
)
from nonrecours.privacy.pseudonyms import PSEUDONYM_PATTERN, pseudonymise, pseudonymise_local_ids
from nonrecours.privacy.rotation import merge_rotation_maps, rekey, rotation_map
from nonrecours.privacy.tokens import TOKEN_PATTERN, issue_return_tokens, open_return_tokens

__all__ = [
    "ALWAYS_ALLOWED",
    "MIN_SECRET_BYTES",
    "NIR_REASONS",
    "PSEUDONYM_PATTERN",
    "TOKEN_PATTERN",
    "AgencyTerms",
    "AuditKey",
    "ExchangeAgreement",
    "KeySource",
    "Leak",
    "PseudonymKey",
    "ReturnTokenKey",
    "Secret",
    "check_nirs",
    "derive_pseudonym_key",
    "derive_return_key",
    "find_leaks",
    "issue_return_tokens",
    "load_agreement",
    "load_secret",
    "merge_rotation_maps",
    "nir_born_in_france",
    "nir_kind",
    "nir_neighbours",
    "nir_normalised",
    "nir_reason",
    "nir_sex",
    "open_return_tokens",
    "pseudonymise",
    "pseudonymise_local_ids",
    "rekey",
    "rotation_map",
    "stage_nir_checks",
    "write_secret_file",
]
