"""Fixtures for the privacy tests: fresh random secrets, never constants in code."""

from __future__ import annotations

import secrets

import pytest

from nonrecours.privacy import Secret, derive_pseudonym_key, derive_return_key


@pytest.fixture
def exchange_secret() -> Secret:
    return Secret(secrets.token_urlsafe(40).encode(), origin="test exchange secret")


@pytest.fixture
def pseudonym_key(exchange_secret: Secret):
    return derive_pseudonym_key(exchange_secret, "test-exchange", "outreach")


@pytest.fixture
def caf_return_key():
    return derive_return_key(Secret(secrets.token_urlsafe(40).encode()), "caf", "test-exchange", "outreach")
