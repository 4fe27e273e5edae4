"""Territories for the synthetic population: real INSEE commune codes and populations.

Data: Etalab ``decoupage-administratif`` 6.0.0 (Licence Ouverte), population municipale.
- ``cahors``: the Cahors basin, taken as the communes of the CA du Grand Cahors and of the CC du Pays de
  Lalbenque-Limogne (59 communes, 51,348 inhabitants). INSEE's zone d'emploi is wider; this is the
  commuting core around Cahors, which is what an outreach pilot in the Lot would start with.
- ``france``: every commune of mainland France with its département (34,740 communes).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Literal

import polars as pl

__all__ = ["TERRITORIES", "Territory", "load_territory"]

Territory = Literal["cahors", "france"]
TERRITORIES: tuple[str, ...] = ("cahors", "france")

_FILES = {"cahors": "cahors.csv", "france": "france.csv.gz"}


@cache
def load_territory(name: str) -> pl.DataFrame:
    """Communes of a territory: depcom, name, postcode, departement, population, weight (sums to 1)."""
    if name not in _FILES:
        from nonrecours.errors import ConfigError

        raise ConfigError(f"unknown territory {name!r}; expected one of {', '.join(TERRITORIES)}")
    data = resources.files("nonrecours.synth").joinpath("data", _FILES[name]).read_bytes()
    if name == "france":
        import gzip

        data = gzip.decompress(data)
    df = pl.read_csv(data, schema_overrides={"depcom": pl.String, "postcode": pl.String,
                                             "departement": pl.String})
    if "departement" not in df.columns:
        df = df.with_columns(pl.col("depcom").str.slice(0, 2).alias("departement"))
    return df.select(
        "depcom", "name", "postcode", "departement", "population",
        (pl.col("population") / pl.col("population").sum()).alias("weight"),
    ).sort("depcom")
