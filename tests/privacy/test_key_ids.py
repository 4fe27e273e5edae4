"""Key ids never have a NIR's shape, and a workspace recorded under an id of the earlier form stays readable."""

from __future__ import annotations

import json
import secrets

import pytest
from tests.privacy.test_nir import with_key

from nonrecours.connectors.ingest import WORKSPACE_FILE, claim_key
from nonrecours.errors import PrivacyError
from nonrecours.privacy import Secret, derive_pseudonym_key, derive_return_key, find_leaks
from nonrecours.privacy.keys import AuditKey, key_id_matches


def _secret() -> Secret:
    return Secret(secrets.token_urlsafe(40).encode(), origin="test secret")


def test_key_ids_start_with_a_letter_and_never_read_as_a_nir() -> None:
    """Before, 16 hex characters were all digits about once in 2,000 keys; a print cut after 15 of them was a
    NIR to the leak scanner. Every kind of key id now starts with a letter, so no print of it, whole or cut,
    has a NIR's shape (the scanner wants no letter or digit just before the number)."""
    for _ in range(300):
        s = _secret()
        for key_id in (derive_pseudonym_key(s, "ex", "p").key_id, derive_return_key(s, "caf", "ex", "p").key_id,
                       AuditKey(s).key_id):
            assert len(key_id) == 16 and key_id[0] == "k" and not key_id[0].isdigit()
            for cut in (key_id, key_id[:15] + "…", f"│ {key_id[:-1]}… │"):
                assert not find_leaks(cut), cut
    # what the old form risked, and the new one avoids: an all-digit id cut to 15 characters is a NIR to the
    # scanner; the same digits behind the letter are not
    nir = with_key("1850578006084")
    assert find_leaks(f"│ {nir}… │") and not find_leaks(f"│ k{nir}… │")


def test_a_workspace_recorded_under_an_old_key_id_is_still_accepted(tmp_path) -> None:
    key = derive_pseudonym_key(_secret(), "ex", "p")
    legacy = key.key_id[1:] + "7"  # the earlier form: 16 hex characters, the first 15 of the fingerprint
    assert key_id_matches(legacy, key.key_id) and key_id_matches(key.key_id, key.key_id)
    (tmp_path / WORKSPACE_FILE).write_text(json.dumps({"key_id": legacy}), encoding="utf-8")
    claim_key(tmp_path, key.key_id, created=False)  # accepted: the same key
    other = derive_pseudonym_key(_secret(), "ex", "p")
    assert not key_id_matches(other.key_id[1:] + "7", key.key_id) and not key_id_matches(None, key.key_id)
    with pytest.raises(PrivacyError, match="pseudonymised under key"):
        claim_key(tmp_path, other.key_id, created=False)
