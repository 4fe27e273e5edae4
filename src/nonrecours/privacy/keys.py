"""Key material: read a secret from a file or an environment variable, derive one key per use with HKDF.

Why this shape:
- the secret never lives in code or configuration, only a *pointer* to it (file path or variable name);
- one exchange secret, shared by the agencies of an exchange, gives the same pseudonym for the same person
  at every agency, while HKDF with (exchange, purpose) in ``info`` makes pseudonyms of different purposes
  unlinkable (a leaked table for one purpose cannot be joined to another purpose's tables);
- every key object prints as a redaction, refuses pickling (so it cannot end up in a log, a cache or a
  worker queue by accident) and carries a *key id*: a short fingerprint that says which key made a
  pseudonym without revealing anything usable about it;
- errors say which source failed (file path or variable name) and never quote key material.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import stat
from pathlib import Path
from typing import Any, NoReturn

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import BaseModel, ConfigDict, model_validator

from nonrecours.errors import KeyMaterialError, PrivacyError

__all__ = [
    "MIN_SECRET_BYTES",
    "AuditKey",
    "KeySource",
    "PseudonymKey",
    "ReturnTokenKey",
    "Secret",
    "derive_pseudonym_key",
    "derive_return_key",
    "key_id_matches",
    "load_secret",
    "write_secret_file",
]

MIN_SECRET_BYTES = 32
"""Shortest secret accepted (bytes after stripping surrounding whitespace): 256 bits if random."""

_SALT = b"nonrecours/hkdf/v1"


def _refuse_pickle(obj: object) -> NoReturn:
    raise PrivacyError(f"{type(obj).__name__} holds key material and cannot be pickled or copied out")


class _Redacted:
    """Base of key objects: redacted repr/str, no pickling, no copy, no equality on the material."""

    __slots__ = ()

    def __reduce__(self) -> NoReturn:
        _refuse_pickle(self)

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        _refuse_pickle(self)

    def __copy__(self) -> NoReturn:
        _refuse_pickle(self)

    def __deepcopy__(self, memo: Any) -> NoReturn:
        _refuse_pickle(self)

    def __str__(self) -> str:
        return repr(self)


class KeySource(BaseModel):
    """Where a secret comes from: exactly one of ``file`` (a path) or ``env`` (a variable NAME).

    Never the secret itself: a TOML agreement or a run configuration can be shared and logged safely.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: Path | None = None
    env: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> KeySource:
        if (self.file is None) == (self.env is None):
            raise ValueError("a key source names exactly one of 'file' or 'env'")
        if self.env is not None and not self.env.replace("_", "").isalnum():
            raise ValueError("'env' is the NAME of an environment variable (letters, digits, underscores)")
        return self

    def describe(self) -> str:
        """Safe to log: the file path or the variable name, when it reads as one. A secret written where its
        source goes (``{ env = "<the secret>" }``, ``{ file = "<the secret>" }``) was echoed whole by « is not set »
        and « cannot be read » (a probe from the docs alone, 5 December 2026): a name that is not upper case with
        an underscore (``NONRECOURS_AUDIT_KEY``), a path whose name has no extension and either no folder or 20
        characters or more, is not shown."""
        if self.file is not None:
            text, name = str(self.file), Path(self.file).name
            # a configuration's relative path is resolved from its folder: the name alone tells a pasted secret
            # (« cfg/SUPERSECRETKEY0123… », an outside tester, 7 December 2026)
            if "." in name or ("/" in text and len(name) < _SECRET_LIKE_NAME):
                return f"key file {text}"
            return ("a key file whose name reads as a secret (no extension, and no folder or 20 characters or more: "
                    "a secret written where its file goes?), not shown")
        if _VARIABLE.fullmatch(self.env or ""):
            return f"environment variable {self.env}"
        return ("an environment variable whose name reads as no variable name (upper case with an underscore, as "
                "NONRECOURS_AUDIT_KEY: a secret written where its name goes?), not shown")


_SECRET_LIKE_NAME = 20
"""A key file's name without an extension this long or longer reads as a secret pasted where the path goes."""
_VARIABLE = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")
"""How an environment variable holding a key is named (``NONRECOURS_CAF_RETURN_SECRET``): the only names an error
shows."""


class Secret(_Redacted):
    """A root secret (exchange secret or an agency's own secret). Only derived keys are ever used."""

    __slots__ = ("_material", "origin")

    def __init__(self, material: bytes, *, origin: str = "in-memory secret") -> None:
        if not isinstance(material, bytes | bytearray):
            raise KeyMaterialError(f"{origin}: a secret is bytes")
        material = bytes(material).strip()
        if len(material) < MIN_SECRET_BYTES:
            raise KeyMaterialError(
                f"{origin}: secret too short ({len(material)} bytes, at least {MIN_SECRET_BYTES} required)")
        if len(set(material)) < 8:
            raise KeyMaterialError(f"{origin}: secret has too few distinct bytes to be random")
        object.__setattr__(self, "_material", material)
        object.__setattr__(self, "origin", origin)

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise PrivacyError("key objects are immutable")

    def __repr__(self) -> str:
        return f"Secret(<redacted>, origin={self.origin!r})"

    def _derive(self, info: bytes, length: int) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=length, salt=_SALT, info=info).derive(self._material)

    def same_as(self, other: Secret) -> bool:
        """Whether two secrets hold one value (compared through a derived digest, in constant time): two roles given
        one key (an agency's return-token key copied from the exchange secret into another file) defeat their
        separation whatever the files."""
        info = b"nonrecours:same-secret-check"
        return hmac.compare_digest(self._derive(info, 32), other._derive(info, 32))


def load_secret(source: KeySource | str | Path, role: str | None = None) -> Secret:
    """Read a secret from its source. A ``str``/``Path`` is a key file path.

    A key file must not be readable by group or others (like an SSH key): a world-readable secret is
    not a secret. Use :func:`write_secret_file` to create one. ``role`` (« run.toml's audit_key ») begins
    the error, so a missing variable names the setting that asks for it.
    """
    if not isinstance(source, KeySource):
        source = KeySource(file=Path(source))
    where = source.describe() if role is None else f"{role}: {source.describe()}"
    if source.env is not None:
        value = os.environ.get(source.env)
        if value is None or not value.strip():
            raise KeyMaterialError(f"{where}: not set")
        return Secret(value.encode("utf-8"), origin=where)
    path = Path(source.file)  # type: ignore[arg-type]
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise KeyMaterialError(f"{where}: cannot be read ({exc.strerror})") from None
    if not stat.S_ISREG(mode):
        raise KeyMaterialError(f"{where}: not a regular file")
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyMaterialError(f"{where}: readable by group or others; chmod 600 it")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyMaterialError(f"{where}: cannot be read ({exc.strerror})") from None
    return Secret(data, origin=where)


def write_secret_file(path: str | Path, *, nbytes: int = 48) -> Path:
    """Create a new random secret file (URL-safe base64 text, mode 600); refuses to overwrite."""
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_urlsafe(max(nbytes, MIN_SECRET_BYTES)) + "\n")
    return path


def _info(*parts: str) -> bytes:
    """Length-prefixed parts: ('ab', 'c') and ('a', 'bc') never give the same info."""
    out = bytearray()
    for part in parts:
        raw = part.encode("utf-8")
        out += len(raw).to_bytes(2, "big") + raw
    return bytes(out)


KEY_ID_PREFIX = "k"
"""Every key id starts with this letter: 16 hex characters were all decimal digits about once in 2,000 keys, and
a (truncated) print of such an id has a NIR's shape, which the leak scanner rightly reports."""


def _fingerprint(kind: bytes, material: bytes) -> str:
    return hashlib.sha256(b"nonrecours/key-id/v1\x00" + kind + b"\x00" + material).hexdigest()


def _key_id(kind: bytes, material: bytes) -> str:
    # A 60-bit fingerprint of a 256+-bit random key behind a letter: names the key, reveals nothing usable
    # about it, and never reads as a number
    return KEY_ID_PREFIX + _fingerprint(kind, material)[:15]


def key_id_matches(held: str | None, key_id: str) -> bool:
    """Whether a key id stored earlier (a workspace's ``workspace.json``) names the key of id ``key_id``: the
    same id, or the id written before ids had their letter (16 hex characters, whose first 15 follow it)."""
    if held is None:
        return False
    if held == key_id:
        return True
    legacy = len(held) == 16 and all(c in "0123456789abcdef" for c in held)
    return legacy and key_id.startswith(KEY_ID_PREFIX) and key_id[len(KEY_ID_PREFIX):] == held[:15]


class PseudonymKey(_Redacted):
    """The HMAC key of one (exchange, purpose). ``key_id`` is stored beside every pseudonym it makes."""

    __slots__ = ("_hmac_key", "exchange", "key_id", "purpose")

    def __init__(self, secret: Secret, exchange: str, purpose: str) -> None:
        if not exchange or not purpose:
            raise KeyMaterialError("a pseudonym key needs a non-empty exchange and purpose")
        raw = secret._derive(_info("pseudonym", exchange, purpose), 32)
        # The HMAC key is the lower-case hex text of the derived 32 bytes (64 ASCII bytes, <= the
        # SHA-256 block, so HMAC uses it as is). Hex because the vectorised HMAC takes a text key.
        object.__setattr__(self, "_hmac_key", raw.hex())
        object.__setattr__(self, "exchange", exchange)
        object.__setattr__(self, "purpose", purpose)
        object.__setattr__(self, "key_id", _key_id(b"pseudonym", raw))

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise PrivacyError("key objects are immutable")

    def __repr__(self) -> str:
        return (f"PseudonymKey(<redacted>, exchange={self.exchange!r}, purpose={self.purpose!r}, "
                f"key_id={self.key_id!r})")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PseudonymKey) and other.key_id == self.key_id

    def __hash__(self) -> int:
        return hash(self.key_id)

    def hmac_key_bytes(self) -> bytes:
        """The HMAC key as bytes, for the reference implementation in tests. Never log it."""
        return self._hmac_key.encode("ascii")


class ReturnTokenKey(_Redacted):
    """An agency's own AES-SIV key for return tokens of one (exchange, purpose)."""

    __slots__ = ("_siv_key", "agency", "exchange", "key_id", "purpose")

    def __init__(self, secret: Secret, agency: str, exchange: str, purpose: str) -> None:
        if not agency or not exchange or not purpose:
            raise KeyMaterialError("a return-token key needs a non-empty agency, exchange and purpose")
        raw = secret._derive(_info("return-token", agency, exchange, purpose), 64)  # AES-256-SIV
        object.__setattr__(self, "_siv_key", raw)
        object.__setattr__(self, "agency", agency)
        object.__setattr__(self, "exchange", exchange)
        object.__setattr__(self, "purpose", purpose)
        object.__setattr__(self, "key_id", _key_id(b"return-token", raw))

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise PrivacyError("key objects are immutable")

    def __repr__(self) -> str:
        return (f"ReturnTokenKey(<redacted>, agency={self.agency!r}, exchange={self.exchange!r}, "
                f"purpose={self.purpose!r}, key_id={self.key_id!r})")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ReturnTokenKey) and other.key_id == self.key_id

    def __hash__(self) -> int:
        return hash(self.key_id)

    def associated_data(self) -> list[bytes]:
        """What a token is bound to: opening it under another agency/exchange/purpose fails."""
        return [b"nonrecours/return-token/v1", self.agency.encode(), self.exchange.encode(),
                self.purpose.encode()]


def derive_pseudonym_key(secret: Secret, exchange: str, purpose: str) -> PseudonymKey:
    """The pseudonym key of (exchange, purpose) from the exchange secret."""
    return PseudonymKey(secret, exchange, purpose)


def derive_return_key(secret: Secret, agency: str, exchange: str, purpose: str) -> ReturnTokenKey:
    """An agency's return-token key from that agency's own secret (never the exchange secret)."""
    return ReturnTokenKey(secret, agency, exchange, purpose)


class AuditKey(_Redacted):
    """The HMAC key that chains an audit log's entries: derived from a secret of its own (not the exchange
    secret), so whoever holds the data cannot rewrite the log of what was done with it."""

    __slots__ = ("_mac_key", "key_id")

    def __init__(self, secret: Secret) -> None:
        raw = secret._derive(_info("audit-log", "v1"), 32)
        object.__setattr__(self, "_mac_key", raw)
        object.__setattr__(self, "key_id", _key_id(b"audit-log", raw))

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise PrivacyError("key objects are immutable")

    def __repr__(self) -> str:
        return f"AuditKey(<redacted>, key_id={self.key_id!r})"

    def mac(self, data: bytes) -> str:
        """HMAC-SHA256 of ``data``, hex."""
        import hmac

        return hmac.new(self._mac_key, data, hashlib.sha256).hexdigest()
