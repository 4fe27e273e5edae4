"""Fixtures of the engine tests: the toy rule set (tests/engine/toyrules.py) and its parameters."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from toyrules import small_household, toy_registry, write_params

from nonrecours.engine import Inputs
from nonrecours.rules.params import ParameterStore
from nonrecours.rules.registry import Registry


@pytest.fixture(scope="session")
def toy_reg() -> Registry:
    return toy_registry()


@pytest.fixture(scope="session")
def toy_params(tmp_path_factory: pytest.TempPathFactory) -> ParameterStore:
    return write_params(tmp_path_factory.mktemp("params"))


@pytest.fixture()
def household() -> Inputs:
    return Inputs(**small_household())
