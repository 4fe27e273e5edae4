"""The exchange agreement: what may leave each agency, for which purpose, for how long, under which keys.

Data minimisation is declared, not inferred: per agency and per canonical table, the agreement lists the
columns allowed to leave. A connector exports only those (``minimise``) and refuses a mapping that would
export anything else (``check_export`` raises PrivacyError naming the agency, table and column). The
provenance columns (``source_agency``, ``extract_id``, ``extract_date``) are always allowed: they describe
the extract, not a person.

Keys are *pointed to*, never written: ``secret`` (the exchange secret shared by the agencies) and each
agency's ``return_token_key`` are a key file path or an environment variable NAME (see ``KeySource``).
Loaded from TOML (``nonrecours ingest --exchange exchange.toml``); example: examples/exchange.toml.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from nonrecours.errors import ConfigError, KeyMaterialError, PrivacyError
from nonrecours.privacy.keys import (
    KeySource,
    PseudonymKey,
    ReturnTokenKey,
    Secret,
    derive_pseudonym_key,
    derive_return_key,
    load_secret,
)
from nonrecours.schemas.base import PROVENANCE
from nonrecours.schemas.codes import AGENCIES
from nonrecours.schemas.tables import QUALIFIERS, TABLES

__all__ = ["ALWAYS_ALLOWED", "AgencyTerms", "ExchangeAgreement", "load_agreement"]

ALWAYS_ALLOWED: frozenset[str] = frozenset(PROVENANCE)
"""Columns every canonical row carries about its extract; no agreement needs to list them."""


class AgencyTerms(BaseModel):
    """One agency's part: the columns of each canonical table it may export, and its return-token key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tables: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    return_token_key: KeySource | None = None

    @field_validator("tables")
    @classmethod
    def _known_columns(cls, v: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for table, columns in v.items():
            if table not in TABLES:
                raise ValueError(f"unknown canonical table {table}; expected one of {', '.join(TABLES)}")
            schema = TABLES[table].schema
            for col in columns:
                if col not in schema:
                    raise ValueError(f"table {table}: column {col} is not in the canonical schema")
            if len(set(columns)) != len(columns):
                raise ValueError(f"table {table}: a column is listed twice")
        return v


class ExchangeAgreement(BaseModel):
    """An exchange between agencies for one purpose."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    exchange_id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    purpose: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    description: str = ""
    retention_days: int = Field(gt=0, le=3660)
    secret: KeySource
    agencies: dict[str, AgencyTerms]

    @field_validator("agencies")
    @classmethod
    def _known_agencies(cls, v: dict[str, AgencyTerms]) -> dict[str, AgencyTerms]:
        if not v:
            raise ValueError("an exchange names at least one agency")
        for agency in v:
            if agency not in AGENCIES or agency == "synth":
                raise ValueError(f"unknown agency {agency}")
        return v

    @model_validator(mode="after")
    def _distinct_sources(self) -> ExchangeAgreement:
        # An agency's own return-token key must not be the exchange secret: the point is that only it opens.
        for agency, terms in self.agencies.items():
            if terms.return_token_key is not None and terms.return_token_key == self.secret:
                raise ValueError(f"agency {agency}: return_token_key must differ from the exchange secret")
        return self

    # --- minimisation -------------------------------------------------------------------------------

    def _terms(self, agency: str) -> AgencyTerms:
        try:
            return self.agencies[agency]
        except KeyError:
            raise PrivacyError(f"agency {agency} is not a party to exchange {self.exchange_id}") from None

    def allowed_columns(self, agency: str, table: str, exported: Iterable[str] | None = None) -> frozenset[str]:
        """Columns ``agency`` may export in ``table`` (provenance columns included). A table the agreement does
        not list is a PrivacyError; given the columns a mapping ``exported`` there, it says the line to add."""
        terms = self._terms(agency)
        if table not in terms.tables:
            how = ""
            if exported is not None:
                wanted = ", ".join(f'"{c}"' for c in exported if c not in ALWAYS_ALLOWED)
                how = (f", and the mapping exports it: an agreement lists each table an agency sends (add "
                       f"`{table} = [{wanted}]` under [agencies.{agency}.tables], as the default agreement "
                       f"src/nonrecours/connectors/exchange.toml does, or read the extract with a mapping that "
                       f"does not emit it)")
            raise PrivacyError(
                f"agency {agency} may export nothing in table {table} under exchange {self.exchange_id}{how}")
        listed = frozenset(terms.tables[table])
        return listed | ALWAYS_ALLOWED | {q for q, of in QUALIFIERS.items() if of in listed}

    def check_export(self, agency: str, table: str, columns: Iterable[str]) -> None:
        """Raise PrivacyError naming the agency, table and first column the agreement does not list; a table it
        does not list at all, with the line that would list what the mapping exports there."""
        columns = list(columns)
        allowed = self.allowed_columns(agency, table, columns)
        for col in columns:
            if col not in allowed:
                raise PrivacyError(
                    f"agency {agency}, table {table}: column {col} is not listed in exchange "
                    f"{self.exchange_id} (purpose {self.purpose}); it may not leave the agency")

    def minimise(self, frame: pl.DataFrame | pl.LazyFrame, agency: str,
                 table: str) -> pl.DataFrame | pl.LazyFrame:
        """Keep only the allowed columns of ``frame`` (everything else is dropped, in frame order)."""
        allowed = self.allowed_columns(agency, table)
        names = frame.collect_schema().names() if isinstance(frame, pl.LazyFrame) else frame.columns
        return frame.select([c for c in names if c in allowed])

    def retention_until(self, extract_date: Any) -> Any:
        """Last day the exchanged data may be kept: ``extract_date`` + ``retention_days``."""
        import datetime as dt

        return extract_date + dt.timedelta(days=self.retention_days)

    # --- keys --------------------------------------------------------------------------------------

    def pseudonym_key(self) -> PseudonymKey:
        """Load the exchange secret and derive this exchange's pseudonym key for its purpose."""
        return derive_pseudonym_key(load_secret(self.secret, "the agreement's secret"), self.exchange_id,
                                    self.purpose)

    def check_distinct_secrets(self, agencies: Iterable[str], others: dict[str, KeySource] | None = None) -> None:
        """Load the exchange secret, the return-token secret of each of ``agencies`` that has one and ``others``
        (role → source: the run's audit key) and refuse two roles holding one value (``KeyMaterialError`` naming the
        roles, never the value). The agreement's own check compares sources: a copy of the exchange secret in
        another file, one file for two agencies, or the exchange secret as the audit key passed it, and every
        agency holding the exchange secret could then open the return tokens (found probing the outputs from the
        docs alone, 5 December 2026). A key that cannot be read is refused here too, before any ingest."""
        roles: dict[str, KeySource] = {"the exchange secret": self.secret}
        for agency in agencies:
            terms = self.agencies.get(agency)
            if terms is not None and terms.return_token_key is not None:
                roles[f"agency {agency}'s return_token_key"] = terms.return_token_key
        roles.update(others or {})
        loaded: list[tuple[str, Secret]] = []
        for role, source in roles.items():
            secret = load_secret(source, role)
            for seen, earlier in loaded:
                if secret.same_as(earlier):
                    raise KeyMaterialError(f"{role} holds the same secret as {seen}: each must be its own "
                                           "(nonrecours keygen writes one)")
            loaded.append((role, secret))

    def return_key(self, agency: str) -> ReturnTokenKey:
        """Load ``agency``'s own secret and derive its return-token key for this exchange."""
        terms = self._terms(agency)
        if terms.return_token_key is None:
            raise ConfigError(f"agency {agency} has no return_token_key in exchange {self.exchange_id}")
        return derive_return_key(load_secret(terms.return_token_key, f"agency {agency}'s return_token_key"), agency,
                                 self.exchange_id, self.purpose)


def load_agreement(path: str | Path) -> ExchangeAgreement:
    """Read an agreement from TOML; ConfigError names the file and the faulty field.

    Relative key-file paths are resolved against the agreement file's folder.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    try:
        agreement = ExchangeAgreement.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"{path}: field {where}: {err['msg']}") from None

    def _resolve(src: KeySource | None) -> KeySource | None:
        if src is None or src.file is None or src.file.is_absolute():
            return src
        return KeySource(file=(path.parent / src.file))

    agencies = {a: t.model_copy(update={"return_token_key": _resolve(t.return_token_key)})
                for a, t in agreement.agencies.items()}
    return agreement.model_copy(update={"secret": _resolve(agreement.secret), "agencies": agencies})
