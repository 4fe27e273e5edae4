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

The territories of a commune code (its first characters) are facts of the same code: the overseas departments
whose law is the mainland's with amounts or ceilings of their own (``residence_dom``), and those whose law the
rules do not model at all.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import polars as pl

__all__ = ["OVERSEAS_DEPARTMENTS", "UNMODELLED_TERRITORIES", "ZONES", "overseas_department", "unmodelled_territory",
           "zonage_communes", "zonage_table", "zone_apl_of"]

ZONES: tuple[int, ...] = (1, 2, 3)

OVERSEAS_DEPARTMENTS: tuple[str, ...] = ("971", "972", "973", "974")
"""Guadeloupe, Martinique, Guyane, La Réunion (the commune code's first three characters): the mainland's rules,
with the amounts or ceilings the law gives them (the CSS's raised ceiling, the housing aid's and the family
benefits' own scales: the rules' ``residence_dom``)."""

UNMODELLED_TERRITORIES: tuple[str, ...] = ("975", "976", "977", "978", "98")
"""Commune code prefixes of the territories whose law the rules do not model: Saint-Pierre-et-Miquelon (975, its
own social security fund), Mayotte (976: the RSA as adapted by CASF art. L542-6 and R541-1, with fifteen years of
residence permit and its own scale and amounts; its own health insurance régime), Saint-Barthélemy and
Saint-Martin (977, 978: collectivités of Constitution art. 74 with competences of their own), and the other
overseas collectivities and New Caledonia (98). The mainland's rules there would compute amounts no law pays:
``simulate`` refuses such a situation and detection does not evaluate a famille living there (counted)."""


def overseas_department(depcom: pl.Expr) -> pl.Expr:
    """Whether a commune code (text) is in an overseas department of ``OVERSEAS_DEPARTMENTS`` (null stays null)."""
    return depcom.str.slice(0, 3).is_in(OVERSEAS_DEPARTMENTS)


def unmodelled_territory(depcom: pl.Expr) -> pl.Expr:
    """Whether a commune code (text) is in a territory of ``UNMODELLED_TERRITORIES`` (null stays null)."""
    return pl.any_horizontal([depcom.str.starts_with(p) for p in UNMODELLED_TERRITORIES])


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
