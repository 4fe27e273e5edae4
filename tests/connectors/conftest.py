"""Shared fixtures: a small synthetic territory, its six extracts, an exchange agreement and its key."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from nonrecours.privacy import ExchangeAgreement, load_agreement

REPO = Path(__file__).resolve().parents[2]
EXCHANGE = REPO / "src" / "nonrecours" / "connectors" / "exchange.toml"
FILES = {"caf": "caf.dat", "cnam": "cnam.csv", "france_travail": "france_travail.csv",
         "dgfip": "dgfip.parquet", "cnav": "cnav.csv", "msa": "msa.csv", "drm": "drm.csv"}


@dataclass(frozen=True)
class Territory:
    root: Path
    extracts: dict[str, Path]
    identities: pl.DataFrame

    @property
    def names(self) -> list[str]:
        """Every synthetic last and first name (for the leak scans)."""
        return sorted(set(self.identities.get_column("last_name").to_list())
                      | set(self.identities.get_column("first_name").to_list()))


@pytest.fixture(scope="session", autouse=True)
def exchange_secret() -> Iterator[None]:
    mp = pytest.MonkeyPatch()
    mp.setenv("NONRECOURS_EXCHANGE_SECRET", secrets.token_urlsafe(40))
    yield
    mp.undo()


@pytest.fixture(scope="session")
def agreement(exchange_secret: None) -> ExchangeAgreement:
    return load_agreement(EXCHANGE)


@pytest.fixture(scope="session")
def territory(tmp_path_factory: pytest.TempPathFactory) -> Territory:
    from nonrecours.synth import generate
    from nonrecours.synth.extracts import write_extracts

    root = tmp_path_factory.mktemp("territory")
    generate(800, 11, root)
    paths = write_extracts(root / "truth", root / "extracts", seed=11)
    return Territory(root, {a: paths[a] for a in FILES}, pl.read_parquet(root / "truth" / "identities.parquet"))
