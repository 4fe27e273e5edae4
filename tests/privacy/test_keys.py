"""Key loading, derivation, redaction and refusal to pickle."""

from __future__ import annotations

import copy
import os
import pickle
import secrets
from pathlib import Path

import pytest

from nonrecours.errors import KeyMaterialError, PrivacyError
from nonrecours.privacy import (
    KeySource,
    Secret,
    derive_pseudonym_key,
    derive_return_key,
    load_secret,
    write_secret_file,
)


def test_env_source_and_redaction(monkeypatch: pytest.MonkeyPatch) -> None:
    value = secrets.token_urlsafe(40)
    monkeypatch.setenv("NR_TEST_SECRET", value)
    secret = load_secret(KeySource(env="NR_TEST_SECRET"))
    key = derive_pseudonym_key(secret, "ex", "purpose")
    rkey = derive_return_key(secret, "caf", "ex", "purpose")
    for obj in (secret, key, rkey):
        for text in (repr(obj), str(obj), f"{obj}", f"{obj!r}"):
            assert value not in text
            assert "redacted" in text
        assert key._hmac_key not in repr(obj)
        assert rkey._siv_key.hex() not in repr(obj)
    assert len(key.key_id) == 16 and key.key_id in repr(key)


def test_key_file_source(tmp_path) -> None:
    path = write_secret_file(tmp_path / "exchange.key")
    assert (path.stat().st_mode & 0o777) == 0o600
    a = derive_pseudonym_key(load_secret(path), "ex", "p")
    b = derive_pseudonym_key(load_secret(KeySource(file=path)), "ex", "p")
    assert a.key_id == b.key_id
    with pytest.raises(FileExistsError):
        write_secret_file(path)


def test_world_readable_key_file_is_refused(tmp_path) -> None:
    path = tmp_path / "k"
    value = secrets.token_urlsafe(40)
    path.write_text(value)
    os.chmod(path, 0o644)
    with pytest.raises(KeyMaterialError) as exc:
        load_secret(path)
    assert "chmod 600" in str(exc.value) and value not in str(exc.value)


def test_missing_sources_name_the_source_only(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NR_ABSENT", raising=False)
    with pytest.raises(KeyMaterialError, match="environment variable NR_ABSENT: not set"):
        load_secret(KeySource(env="NR_ABSENT"))
    with pytest.raises(KeyMaterialError, match="cannot be read"):
        load_secret(tmp_path / "nope.key")


def test_a_secret_written_where_its_source_goes_is_never_echoed(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``{ env = "<the secret>" }`` or ``{ file = "<the secret>" }``: « is not set » and « cannot be read » printed
    the secret whole (a probe from the docs alone, 5 December 2026). A name that does not read as a variable's, a
    path with neither folder nor extension, is not shown; the message says why."""
    monkeypatch.chdir(tmp_path)
    for _ in range(20):  # generated secrets: letters and digits, some with « _ » (a « - » is refused at parse)
        value = secrets.token_urlsafe(40).replace("-", "x")
        monkeypatch.delenv(value, raising=False)
        # a configuration resolves a relative path from its folder: « cfg/<the secret> » (probe17, 7 December 2026)
        for source in (KeySource(env=value), KeySource(file=value), KeySource(file=tmp_path / "cfg" / value)):
            with pytest.raises(KeyMaterialError) as exc:
                load_secret(source, "run.toml's audit_key")
            text = str(exc.value)
            assert value not in text and "not shown" in text and text.startswith("run.toml's audit_key"), text
    # what reads as a name or a path is still named: the user finds it
    monkeypatch.delenv("NR_KEY_ABSENT", raising=False)
    with pytest.raises(KeyMaterialError, match="environment variable NR_KEY_ABSENT: not set"):
        load_secret(KeySource(env="NR_KEY_ABSENT"))
    with pytest.raises(KeyMaterialError, match=r"key file audit\.key: cannot be read"):
        load_secret(KeySource(file=Path("audit.key")))
    with pytest.raises(KeyMaterialError, match=r"key file keys/caf_return: cannot be read"):
        load_secret(KeySource(file=Path("keys/caf_return")))


def test_short_or_constant_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    short = "s3cr3t-but-much-too-short"
    monkeypatch.setenv("NR_SHORT", short)
    with pytest.raises(KeyMaterialError) as exc:
        load_secret(KeySource(env="NR_SHORT"))
    assert short not in str(exc.value) and "too short" in str(exc.value)
    with pytest.raises(KeyMaterialError, match="distinct bytes"):
        Secret(b"a" * 64)
    assert isinstance(exc.value, PrivacyError) and isinstance(exc.value, KeyError)


def test_key_source_is_a_pointer_never_a_value() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        KeySource()
    with pytest.raises(ValueError, match="exactly one"):
        KeySource(file="a", env="B")
    with pytest.raises(ValueError, match="NAME"):
        KeySource(env="not a variable name = value")


def test_keys_refuse_pickling_and_copy(exchange_secret: Secret, pseudonym_key, caf_return_key) -> None:
    for obj in (exchange_secret, pseudonym_key, caf_return_key):
        with pytest.raises(PrivacyError, match="cannot be pickled"):
            pickle.dumps(obj)
        with pytest.raises(PrivacyError):
            copy.deepcopy(obj)
        with pytest.raises(PrivacyError, match="immutable"):
            obj.key_id = "x"  # type: ignore[misc]


def test_derivation_separates_exchange_purpose_and_use(exchange_secret: Secret) -> None:
    ids = {
        derive_pseudonym_key(exchange_secret, "ex", "rsa").key_id,
        derive_pseudonym_key(exchange_secret, "ex", "aspa").key_id,
        derive_pseudonym_key(exchange_secret, "ex2", "rsa").key_id,
        derive_pseudonym_key(exchange_secret, "e", "xrsa").key_id,
        derive_return_key(exchange_secret, "caf", "ex", "rsa").key_id,
        derive_return_key(exchange_secret, "cnam", "ex", "rsa").key_id,
    }
    assert len(ids) == 6
    same = derive_pseudonym_key(Secret(exchange_secret._material), "ex", "rsa")
    assert same == derive_pseudonym_key(exchange_secret, "ex", "rsa")
