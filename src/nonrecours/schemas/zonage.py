"""Geographic zones of the aides personnelles au logement (zone 1, 2 or 3 of each commune).

The rent ceilings and several parameters of housing aid depend on the zone of the dwelling's commune
(CCH art. D823-16; arrêté du 17 mars 1978 relatif au classement des communes par zones géographiques,
modifié; arrêté du 27 septembre 2019, art. 7). ``data/zonage_apl.csv`` holds one row per INSEE commune
code: the classification file of the ministry in charge of housing as sent to Etalab on 14 September 2011
(open data, Licence Ouverte), with the arrondissements and communes associées given their parent commune's
zone (INSEE COG 2014). Zone "1bis" (a subdivision used by other housing schemes) counts as zone 1 for
housing aid. The file is the one OpenFisca-France distributes (``assets/apl``), reduced to the two
columns of fact the rules need.

A commune code absent from the table has no known zone: callers flag it, they do not guess one.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import polars as pl

__all__ = ["ZONES", "zonage_communes", "zonage_table", "zone_apl_of"]

ZONES: tuple[int, ...] = (1, 2, 3)


@cache
def zonage_table() -> pl.DataFrame:
    """``depcom`` (str) → ``zone_apl`` (Int8, 1 to 3), loaded once from the package data file."""
    path = resources.files("nonrecours.schemas").joinpath("data/zonage_apl.csv")
    with path.open("rb") as fh:
        raw = pl.read_csv(fh, schema={"depcom": pl.String, "zone": pl.String})
    return raw.select("depcom", pl.col("zone").str.slice(0, 1).cast(pl.Int8).alias("zone_apl"))


@cache
def zonage_communes() -> frozenset[str]:
    """The commune codes the table classifies (to validate a code without a join)."""
    return frozenset(zonage_table()["depcom"].to_list())


def zone_apl_of(depcom: pl.Series) -> pl.Series:
    """The zone of each commune code (null when the code is not in the table), in input order."""
    frame = pl.DataFrame({"depcom": depcom.cast(pl.String)}).with_row_index("_k")
    joined = frame.join(zonage_table(), on="depcom", how="left").sort("_k")
    return joined["zone_apl"].rename("zone_apl")
