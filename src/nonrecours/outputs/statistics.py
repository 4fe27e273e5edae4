"""Statistics of non-take-up by benefit, territory and household type, under statistical secrecy.

Cells: benefit × area × household type, where the area runs down the hierarchy whole extract ⊃ département ⊃
EPCI ⊃ commune, and the household type includes ``ensemble`` (all types). Each cell gives the units evaluated,
the units entitled by grade, the units paid, the non-take-up counts and rate with its range (certain only ..
certain, probable and possible), the monthly and yearly amounts foregone, and the coherence rate (share of the
paid units our rules also find entitled: the only precision signal real data gives).

Rates (``detection.rates``, the one estimator the evaluation scores too). Non-take-up rate = non-take-up units /
(non-take-up units + units paid): low the certain flags against every unit paid, high the flags of every grade
against the paid units certain or probable (``paid_confirmed``), central the certain and probable flags weighted
by the inverse of the chance that an entitled unit of their coverage is so graded, against every unit paid
(``non_take_up_estimated``; the chances are the whole file's, so every cell uses the same). Amounts foregone
(``detection.rates.FOREGONE``, ``amount_foregone``): the missing monthly amount (estimate minus what is paid, for
non-take-up and under-payment), low the certain flags at ``amount_low``, high every grade at ``amount_high``,
central the certain and probable flags at ``amount_central`` each times the central count's weight, capped at the
high; yearly = 12 × monthly. A coverage (the CSS) has no amount foregone: null, « sans objet » (its flags' amounts
are the participation the foyer would pay, ``detection.targets.cash``).

Secrecy. Every commune of the territory × every household type met is a cell, empty ones included (a reader must not
learn from a secret cell's mere presence that it holds a unit). A cell of fewer than ``threshold`` units (11 by
default; empty cells too) is suppressed with every measure in it (primary). Then, as long as some published sum (a
row: the household types of an area and their total; a column: the children of an area in one household type, and
the area) holds exactly one secret cell holding units, alone or among empty secret ones (a solver knows counts are
at least 0 and would pin it against them), the smallest other cell of that sum is suppressed too (secondary), a
detail cell before a total; repeated until no sum is exposed. A sum whose secret cells are all empty tells a reader
only that they are empty, as the audit's reader is assumed to know. That heuristic misses combinations of sums, so
the pattern is then audited as a reader's solver would attack it (``audit``): the feasible interval of each secret
cell under every published sum and counts >= 0, by linear programming (HiGHS), block by independent block. A primary
cell holding units must be able to reach the threshold (a reader cannot tell it is a small cell), any other secret
cell holding units must not be pinned (interval at least one unit wide); each cell failing gets one more
suppression, the cheapest published cell of a sum through it, and the audit runs again until none fails
(docs/outputs.md). Past ``SPLIT_CELLS`` secret cells holding units (a France-wide table) the audit is split at the
départements, against two stronger readers than the real one (``_split_audit``), so that its blocks stay no larger
than a département's; a cell of the top two levels the second of them finds exposed is asked of the real reader (the
whole program) before it gets a suppression. Benefits whose tables hold the same counts in every cell (every benefit
of one unit kind counts the same units) share one pattern, audited once (``_twin_tables``).
Only ``secret`` is published, not primary/secondary (that would tell below or above the threshold).
Inside a published cell, each count of units (``SUB_COUNTS``: flags, units paid, excluded...; and the households
each amount foregone sums) has a pattern of its own, started from the units' one, with the cells where it is 1 to
``threshold`` - 1 as primary, then the same heuristic and audit (``_sub_count_patterns``); a measure resting on
a hidden count is null there and named in ``secret_measures`` (``GUARDS``). The counts a cell's others give
back (``TIED``: entitled certain + probable = paid confirmed + non-take-up central...) share one pattern. A
published 0 (no non-take-up in a row) tells the secret cells of that row hold 0 too. Tests attack the tables by
iterated differencing on every measure and with a linear-programming solver on the unit counts and on counts
inside the cells.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from nonrecours.detection.rates import (
    ESTIMATES,
    MISSING,
    RATE_GRADES,
    amount_foregone,
    estimated_non_take_up,
    grade_chances,
    non_take_up_rate,
    with_rate_measures,
)
from nonrecours.detection.targets import cash
from nonrecours.errors import SchemaError
from nonrecours.schemas.tables import valid_on

__all__ = ["ALL_TYPES", "GUARDS", "HOUSEHOLD_TYPES", "LEVELS", "NO_EPCI", "SUB_COUNTS", "StatisticsConfig",
           "build_statistics", "cell_counts", "epci_table", "published_benefits", "suppress", "territory_table",
           "unit_profiles"]

LEVELS: tuple[str, ...] = ("total", "departement", "epci", "commune")
"""Territorial levels, each nested in the one before."""
HOUSEHOLD_TYPES: tuple[str, ...] = ("personne seule", "couple sans enfant", "famille monoparentale",
                                    "couple avec enfants", "inconnu")
ALL_TYPES = "ensemble"
UNKNOWN_AREA = "inconnu"

_COUNTS = ("units", "excluded", "entitled_certain", "entitled_probable", "entitled_possible", "paid",
           "paid_confirmed", "paid_entitled", "non_take_up_low", "non_take_up_central", "non_take_up_high",
           "non_take_up_weighted", "under_payment", "owed_low", "owed_central", "owed_high")
_AMOUNTS = ("monthly_foregone_low", "monthly_foregone_weighted", "monthly_foregone_high")
"""The cells' money missing in euros (``detection.rates.FOREGONE`` / 100); published: ``amount_foregone``'s low,
central (the weighted capped at the high) and high."""
_OWED = ("owed_low", "owed_central", "owed_high")
"""The units whose money missing each amount foregone sums (low, central, high; never published): an amount is
published only where its pattern shows at least ``threshold`` of them, never one household's amount."""
SUB_COUNTS: tuple[str, ...] = ("excluded", "entitled_certain", "entitled_probable", "entitled_possible", "paid",
                               "paid_confirmed", "paid_entitled", "non_take_up_low", "non_take_up_central",
                               "non_take_up_high", "under_payment", *_OWED)
"""The counts of units inside a cell that get a secrecy pattern of their own (``_sub_count_patterns``): a cell of
40 familles published with « 1 non-take-up » and its amount told one household's situation and money."""
GUARDS: dict[str, tuple[str, ...]] = {
    **{c: (c,) for c in SUB_COUNTS if c not in _OWED},
    "non_take_up_estimated": ("non_take_up_central", "non_take_up_high"),  # the weighted flags capped at high
    "non_take_up_rate_low": ("non_take_up_low", "paid"),
    "non_take_up_rate_central": ("non_take_up_central", "non_take_up_high", "paid"),
    "non_take_up_rate_high": ("non_take_up_high", "paid_confirmed"),
    "coherence_rate": ("paid_entitled", "paid"),
    **{f"{p}_foregone_low": ("owed_low",) for p in ("monthly", "yearly")},
    # the central amount is the weighted one capped at the high one: where capped, it is the high amount
    **{f"{p}_foregone_central": ("owed_central", "owed_high") for p in ("monthly", "yearly")},
    **{f"{p}_foregone_high": ("owed_high",) for p in ("monthly", "yearly")},
}
"""Each published measure → the sub-counts whose patterns hide it (a rate hides with its numerator or its
denominator: one of them and the rate give the other)."""


class StatisticsConfig(BaseModel):
    """Secrecy threshold and which levels to publish."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    threshold: int = Field(11, ge=1, description="cells of fewer units are suppressed")
    levels: tuple[str, ...] = LEVELS


def published_benefits(table: pl.DataFrame | None) -> set[str]:
    """Benefits whose whole-extract cell (all household types) is published with its count of flags
    (``non_take_up_high``): the one test of whether any count of a benefit's flags may be published beside the
    statistics (the answers' tables and the report). No table: none."""
    if table is None or not table.height:
        return set()
    whole = table.filter((pl.col("level") == "total") & (pl.col("household_type") == ALL_TYPES))
    told = (pl.col("secret_measures").list.contains("non_take_up_high") if "secret_measures" in whole.columns
            else pl.lit(False))
    return set(whole.filter(~pl.col("secret") & ~told).get_column("benefit"))


NO_EPCI = "commune isolée (hors EPCI)"
"""The EPCI of a commune that belongs to none (four islands of mainland France, CGCT art. L5210-1-1)."""


def epci_table() -> pl.DataFrame:
    """depcom → epci_code, epci (name), epci_type for every commune member of an EPCI à fiscalité propre.

    Etalab ``decoupage-administratif`` 6.0.0 (the DGCL's EPCIs), shipped as ``synth/data/epci.csv.gz``;
    origin and how it was made in ``synth/data/SOURCES.md``.
    """
    import gzip
    from importlib import resources

    raw = gzip.decompress(resources.files("nonrecours.synth").joinpath("data", "epci.csv.gz").read_bytes())
    return pl.read_csv(raw, schema={"depcom": pl.String, "epci_code": pl.String, "epci": pl.String,
                                    "epci_type": pl.String})


def territory_table(name: str | None = "cahors", *, communes: pl.Series | None = None) -> pl.DataFrame:
    """depcom → epci, departement for the communes of a synthetic territory (``cahors``, ``france``).

    ``name=None`` with ``communes`` (the codes seen in the data): the smallest shipped territory holding
    them: Cahors when every one is a Cahors commune, else every commune of the départements they fall in.
    EPCIs come from the national table (``epci_table``); a commune in no EPCI gets ``NO_EPCI``.
    """
    from nonrecours.synth import load_territory

    if name is None:
        seen = (communes if communes is not None else pl.Series([], dtype=pl.String)).drop_nulls().unique()
        cahors = load_territory("cahors").get_column("depcom")
        if seen.is_in(cahors.implode()).all():
            name = "cahors"
        else:
            france = load_territory("france")
            deps = france.filter(pl.col("depcom").is_in(seen.implode())).get_column("departement").unique()
            base = france.filter(pl.col("departement").is_in(deps.implode())).select("depcom", "departement")
            return _with_epci(base)
    return _with_epci(load_territory(name).select("depcom", "departement"))


def _with_epci(base: pl.DataFrame) -> pl.DataFrame:
    return (base.join(epci_table().select("depcom", "epci"), on="depcom", how="left")
            .with_columns(pl.col("epci").fill_null(NO_EPCI)).select("depcom", "epci", "departement"))


def _departement(depcom: pl.Expr) -> pl.Expr:
    """The département of a commune code (INSEE COG: three characters overseas, two elsewhere, Corsica 2A/2B);
    null for anything that is not a commune code (the unknown area stays unknown, never a "département in")."""
    is_code = depcom.str.contains(r"^(?:\d{5}|2[AB]\d{3})$")
    return (pl.when(~is_code).then(None)
            .when(depcom.str.starts_with("97")).then(depcom.str.slice(0, 3))
            .otherwise(depcom.str.slice(0, 2)))


def unit_profiles(memberships: pl.DataFrame | pl.LazyFrame, persons: pl.DataFrame | pl.LazyFrame,
                  month: dt.date) -> pl.DataFrame:
    """Per unit valid on ``month`` (famille, foyer fiscal, ménage, and each person as ``individu``): the commune
    of its first adult and its household type, from the canonical tables (first source wins on conflicts).
    A person's ``individu`` profile is that of their famille."""
    m = memberships.lazy().filter(valid_on(month))
    m = (m.with_columns(pl.col("unit_kind").cast(pl.String), pl.col("role").cast(pl.String))
         .unique(["person_id", "unit_kind", "unit_id"]))
    adult = pl.col("role").is_in(["demandeur", "conjoint", "declarant", "personne_de_reference"])
    child = pl.col("role").is_in(["enfant", "personne_a_charge"])
    where = persons.lazy().select("person_id", "depcom").drop_nulls().unique("person_id", keep="first")
    units = (m.join(where, on="person_id", how="left").sort("unit_kind", "unit_id", ~adult, "person_id")
             .group_by("unit_kind", "unit_id", maintain_order=True)
             .agg(adult.sum().alias("_a"), child.sum().alias("_c"), pl.col("depcom").drop_nulls().first()))
    kind = (pl.when(pl.col("_a") == 1).then(pl.when(pl.col("_c") == 0).then(pl.lit("personne seule"))
                                            .otherwise(pl.lit("famille monoparentale")))
            .when(pl.col("_a") >= 2).then(pl.when(pl.col("_c") == 0).then(pl.lit("couple sans enfant"))
                                          .otherwise(pl.lit("couple avec enfants")))
            .otherwise(pl.lit("inconnu")))
    units = units.select("unit_kind", "unit_id", "depcom", kind.alias("household_type"))
    individu = (m.filter(pl.col("unit_kind") == "famille").select("person_id", "unit_id")
                .join(units.filter(pl.col("unit_kind") == "famille"), on="unit_id")
                .select(pl.lit("individu").alias("unit_kind"), pl.col("person_id").alias("unit_id"), "depcom",
                        "household_type"))
    return pl.concat([units, individu]).unique(["unit_kind", "unit_id"], keep="first").collect()


def _measures(units: pl.LazyFrame, chances: pl.DataFrame) -> pl.LazyFrame:
    """One row per unit: its additive counts (Int64) and its money missing in whole cents (Int64, ``_AMOUNTS``
    suffixed ``_cents``, ``detection.rates.FOREGONE``): integers add up exactly in any order, so the cells' sums do
    not depend on how the query engine chunks the units or schedules its threads (amounts are cents: detection's
    rounding; the weighted one is rounded to the cent per unit). ``chances``: ``detection.rates.grade_chances`` of
    the whole units table (the central rate's weights, which the central amount foregone uses too)."""
    grade, status = pl.col("grade"), pl.col("status")
    # Receiving is detection's verdict (paid this month or within the grace months), not "amount > 0": the free
    # CSS is a coverage whose amount is 0, and a payment in the grace months still counts.
    paid = pl.col("receiving").fill_null(False)
    owed = status.is_in(list(MISSING)) & cash()  # the units ``with_rate_measures`` counts money missing of
    own = units.select(
        "unit_kind", "unit_id", "benefit", "status", "grade", "receiving", "paid", "amount_low", "amount_central",
        "amount_high",
        pl.lit(1, dtype=pl.Int64).alias("units"),
        pl.col("excluded").is_not_null().cast(pl.Int64).alias("excluded"),
        *[(grade == g).cast(pl.Int64).alias(f"entitled_{g}") for g in ("certain", "probable", "possible")],
        # entitled on some variant, or the other tier of the CSS due (detection's ``consistent``, not a self-check)
        (paid & (status != "paid_not_entitled")).cast(pl.Int64).alias("paid_entitled"),
        (status == "under_payment").cast(pl.Int64).alias("under_payment"),
        *[(owed & grade.is_in(list(RATE_GRADES[e]))).cast(pl.Int64).alias(f"owed_{e}") for e in ESTIMATES],
    )
    # one source (detection.rates): the rates' counts paid, paid_confirmed, non_take_up_low/central/high/weighted,
    # and the money missing of the non-take-up and under-payment flags at low, weighted and high
    return (with_rate_measures(own, chances, foregone=MISSING)
            .drop("status", "grade", "receiving", "amount_low", "amount_central", "amount_high"))


def build_statistics(units: pl.DataFrame | pl.LazyFrame, profiles: pl.DataFrame,
                     territory: pl.DataFrame | None = None, *,
                     config: StatisticsConfig | None = None,
                     payments_unknown: Iterable[str] | None = None) -> pl.DataFrame:
    """The published table: one row per benefit × level × area × household type, secrecy applied.

    ``payments_unknown``: the benefits whose payments no extract reports (detection's summary, ``payments_known``
    false: the chèque énergie, sent by the ASP; the run adds those a payer of which sent no extract): what is paid
    there is unknown, not none, so their paid counts, the rates and the coherence that divide by them are null (a
    high rate of 100 % was published on an assumed 0). None (the default): the benefits whose ``paid`` is null on
    every unit, as detection writes them when no extract reports their payments (a notebook calling this on
    detection's units published the chèque énergie's 100 % again).

    ``units``: detection's units table, or a lazy scan of it (``units.parquet``: only the finest cells'
    sums are collected, so memory follows the cells, not the units); ``profiles``: unit_kind, unit_id, depcom,
    household_type (``unit_profiles``); ``territory``: depcom, epci, departement (``territory_table``; départements of
    communes it lacks come from the commune code).
    """
    config = config or StatisticsConfig()
    if payments_unknown is None:
        payments_unknown = (units.lazy().group_by("benefit").agg(pl.col("paid").is_null().all().alias("_unknown"))
                            .filter(pl.col("_unknown")).select("benefit").collect().get_column("benefit").to_list())
    cells = cell_counts(units, profiles, territory, levels=config.levels)
    cells = suppress(cells, threshold=config.threshold, levels=config.levels)
    cells = _sub_count_patterns(cells, threshold=config.threshold, levels=config.levels)
    return _unpaid_unknown(_publish(cells), tuple(payments_unknown))


TIED: tuple[str, ...] = ("paid_confirmed", "paid_entitled", "non_take_up_low", "non_take_up_central",
                         "non_take_up_high")
"""The counts a cell's other counts give back, hidden together (one pattern, ``_sub_count_patterns``). A unit
entitled certain or probable is paid or not taken up, one of any grade is paid entitled or not taken up: in every
cell ``entitled_certain + entitled_probable = paid_confirmed + non_take_up_central`` and ``entitled_certain +
entitled_probable + entitled_possible = paid_entitled + non_take_up_high``, and a published 0 closes the gaps
between them (``entitled_probable`` 0: ``non_take_up_low`` = ``non_take_up_central``). With a pattern each, a whole
file's AAH showed 35 entitled certain, 0 probable, 31 paid confirmed and hid 4 non-take-up (an outside tester, 7
December 2026: 76 hidden non-take-up counts given back on the 3,000-person demo). Hidden together, each identity
keeps two unknowns wherever one of its terms is hidden."""
TIED_BY: tuple[str, ...] = ("entitled_certain", "entitled_probable", "entitled_possible")
"""The other terms of those identities: where one is hidden, ``TIED`` is hidden too (they would give it back)."""


def _sub_count_patterns(cells: pl.DataFrame, *, threshold: int, levels: tuple[str, ...]) -> pl.DataFrame:
    """``cells`` (with the units' ``suppressed``) and ``_hide_<count>`` for every count of ``SUB_COUNTS``: the
    cells where that count is secret. Each starts from the units' pattern and adds the published cells where the
    count is 1 to ``threshold`` - 1, then its own secondary suppressions and audit (``suppress(hidden=...)``),
    so that no published sum gives it back. A count never 1 to ``threshold`` - 1 in any cell keeps the units'
    pattern (no cell of it needs protecting). The ``TIED`` counts share one pattern, hiding also wherever a count of
    ``TIED_BY`` is hidden (``_tied_pattern``), and ``paid`` with them where few units are not entitled."""
    base = cells.with_columns(pl.col("suppressed").is_not_null().alias("_secret"), pl.int_range(pl.len()).alias("_row"))
    hides = {}
    for count in (c for c in SUB_COUNTS if c not in (*TIED, "paid")):
        hides[count] = _count_pattern(base, count, "_secret", threshold=threshold, levels=levels)
    tied_start = base.select(pl.any_horizontal("_secret", *(hides[c] for c in TIED_BY))).to_series()
    tied, paid = _tied_pattern(base, tied_start, threshold=threshold, levels=levels)
    hides.update({c: tied for c in TIED}, paid=paid)
    return base.with_columns(hides[c].alias(f"_hide_{c}") for c in SUB_COUNTS).drop("_secret", "_row")


def _count_pattern(base: pl.DataFrame, count: str, start: str, *, threshold: int,
                   levels: tuple[str, ...]) -> pl.Series:
    """The cells of ``base`` hiding ``count``: those of ``start``, the published ones where it is 1 to ``threshold``
    - 1, and the secondary suppressions and audit that protect them (a boolean Series in ``base``'s row order)."""
    key = ["benefit", "level", "area", "parent_area", "household_type"]
    # nothing to protect: no cell holds 1 to threshold - 1 of the count, and the start is the units' pattern
    # (audited); a start hiding more (``_tied_pattern``) is audited for the count like any pattern
    if not base.select((((pl.col(count) > 0) & (pl.col(count) < threshold))
                        | (pl.col(start) & ~pl.col("_secret"))).any()).item():
        return base.get_column(start)
    # A cell hidden from the start that holds none of the count is left out of its pattern, exactly as the
    # audit's reader takes it (known to hold none: a stronger reader than the real one), and only a published
    # cell is ever picked. An extract spanning France is millions of such cells (every commune without a unit):
    # France at 2,000 persons took 101 CPU s with them for the thirteen counts, against 10 for the units' pattern
    # alone.
    pattern = _kept_pattern(base, count, start, key, threshold=threshold, levels=levels, unknown=False)
    # That reader cost the whole file once: the « département inconnu » of one famille with no flag, « known »
    # to hold none, pinned the known département's count (secret for the units) against the whole file's, the
    # one published cell of that sum, which the heuristic hid (5,000-person demo: 13 of the 14 benefits'
    # whole-file rows without a rate until 7 December 2026). Where that reader hides a whole-file cell neither
    # the start nor its own count (1 to threshold - 1) hides, the count's pattern is made again with every hidden
    # cell holding units an unknown (the real reader does not know it holds none). Not always: on France at
    # 2,000 persons that took ten times as long (22 -> 232 CPU s).
    small = (pl.col(count) > 0) & (pl.col(count) < threshold)
    whole = base.select((pl.col("level") == levels[0]) & ~pl.col(start) & ~small).to_series()
    if (pattern & whole).any():
        pattern = _kept_pattern(base, count, start, key, threshold=threshold, levels=levels, unknown=True)
    return pattern


def _kept_pattern(base: pl.DataFrame, count: str, start: str, key: list[str], *, threshold: int,
                  levels: tuple[str, ...], unknown: bool) -> pl.Series:
    """``_count_pattern``'s suppression, without the cells hidden from the start that hold none of the count
    (``unknown``: but with those holding units, unknowns of the audit, ``suppress(unknown=...)``)."""
    held = (pl.col(start) & (pl.col("units") > 0)) if unknown else pl.lit(False)
    sub = base.filter(~pl.col(start) | (pl.col(count) > 0) | held).with_columns(held.alias("_unknown"))
    pattern = suppress(sub.select(*key, count, start, "_unknown"), threshold=threshold, levels=levels,
                       value=count, hidden=start, unknown="_unknown")
    shown = sub.filter(pattern.get_column("suppressed").is_null()).get_column("_row")
    return ~base.get_column("_row").is_in(shown.implode())


def _tied_pattern(base: pl.DataFrame, start: pl.Series, *, threshold: int,
                  levels: tuple[str, ...]) -> tuple[pl.Series, pl.Series]:
    """One pattern for every count of ``TIED`` from ``start``, and ``paid``'s: each count's own pattern
    (``_count_pattern``) from the union of the last round's, until none adds a cell. A cell secret for one is then
    secret for all, and the pattern protects each across the cells (every count's audit passed on the final
    union). Where fewer than ``threshold`` units of a cell are not entitled, ``paid`` shares that pattern too:
    the units paid not entitled are at most those, and where there are none ``paid`` = ``paid_entitled`` (a whole
    file of 7 units all entitled certain, 5 paid: 2 non-take-up, found by the property test)."""
    few = base.select((pl.col("units") - pl.col("entitled_certain") - pl.col("entitled_probable")
                       - pl.col("entitled_possible")) < threshold).to_series()
    secret = base.get_column("_secret")
    paid = secret
    while True:
        union = start | (paid & few)
        for count in TIED:
            union = union | _count_pattern(base.with_columns(union.alias("_start")), count, "_start",
                                           threshold=threshold, levels=levels)
        paid_now = _count_pattern(base.with_columns((secret | (union & few)).alias("_start")), "paid", "_start",
                                  threshold=threshold, levels=levels)
        if union.equals(start) and paid_now.equals(paid):
            return start, paid
        start, paid = union, paid_now


_ON_PAYMENTS = ("paid", "paid_confirmed", "paid_entitled", "non_take_up_rate_low", "non_take_up_rate_central",
                "non_take_up_rate_high", "coherence_rate", "non_take_up_estimated", "monthly_foregone_central",
                "yearly_foregone_central")
"""The published measures that count or divide by the units paid, or weigh the flags by chances read on them (the
central estimate: where no payment is known every flag is « possible », and a central of 0 € was published for the
chèque énergie beside a high of 502,884 €; the low and high ends, counts of flags, stay)."""


def _unpaid_unknown(table: pl.DataFrame, benefits: tuple[str, ...]) -> pl.DataFrame:
    """``table`` with the measures on payments null for ``benefits`` (their payments no extract reports)."""
    if not benefits:
        return table
    unknown = pl.col("benefit").is_in(list(benefits))
    return table.with_columns(pl.when(~unknown).then(pl.col(c)).alias(c) for c in _ON_PAYMENTS if c in table.columns)


def cell_counts(units: pl.DataFrame | pl.LazyFrame, profiles: pl.DataFrame, territory: pl.DataFrame | None = None, *,
                levels: tuple[str, ...] = LEVELS) -> pl.DataFrame:
    """The additive measures of every cell before any secrecy (never publish this frame).

    The units are summed by the query engine (Polars' streaming engine on a lazy scan) to the finest cells
    (benefit × commune × household type); the levels above are sums of those. Amounts are summed in whole
    cents, so every sum is exact, whatever the order."""
    units = units.lazy()
    names = units.collect_schema().names()
    for col in ("unit_kind", "unit_id", "benefit", "status", "grade", "amount_low", "amount_central",
                "amount_high", "paid", "receiving", "excluded"):
        if col not in names:
            raise SchemaError("missing column of the units table", table="units", column=col)
    terr = territory if territory is not None else pl.DataFrame(
        schema={"depcom": pl.String, "epci": pl.String, "departement": pl.String})
    cents = [f"{c}_cents" for c in _AMOUNTS]
    measured = (_measures(units, grade_chances(units))
                .join(profiles.lazy().select("unit_kind", "unit_id", "depcom", "household_type"),
                      on=["unit_kind", "unit_id"], how="left")
                .with_columns(pl.col("household_type").fill_null("inconnu"), pl.col("depcom").fill_null(UNKNOWN_AREA))
                .group_by("benefit", "depcom", "household_type").agg(pl.col(*_COUNTS, *cents).sum())
                .collect(engine="streaming"))
    # Every commune of the territory (and any seen) × every household type is a cell, empty ones too: a reader
    # must not learn from a secret cell's mere presence that it holds at least one unit.
    places = (pl.concat([terr.select("depcom"), measured.select("depcom")]).unique()
              .join(terr.select("depcom", pl.col("epci").alias("_epci"), pl.col("departement").alias("_dep")),
                    on="depcom", how="left"))
    dep = pl.coalesce("_dep", _departement(pl.col("depcom"))).fill_null(UNKNOWN_AREA)
    places = places.select(
        "depcom", pl.col("depcom").alias("commune"), dep.alias("departement"),
        # An EPCI is named within its département: communes always nest in EPCIs, EPCIs in départements.
        (dep + pl.lit(" / ") + pl.col("_epci").fill_null("EPCI inconnu")).alias("epci"),
        pl.lit("ensemble du fichier").alias("total"))
    # The household types met in the extract (any benefit): a type nobody has would only add empty secret
    # cells, and each would cost a secondary suppression in its row.
    seen = set(measured.get_column("household_type").unique().to_list())
    types = pl.DataFrame({"household_type": [t for t in HOUSEHOLD_TYPES if t in seen]
                          + sorted(seen - set(HOUSEHOLD_TYPES))}, schema={"household_type": pl.String})
    benefits = measured.select("benefit").unique()
    # The finest cells (benefit × commune × household type): every one, the measured ones' sums joined on, the
    # others 0. Each level above is summed from the one below it (EPCI × type from the communes', ...), not from
    # the finest again: the counts and cents are integers, so every sum is the same, in a fraction of the work
    # (at 100,000 persons over France, 2.3 million rows are joined once instead of grouped eight times).
    added = [pl.col(c).sum() for c in (*_COUNTS, *cents)]
    below = (benefits.join(places, how="cross").join(types, how="cross")
             .join(measured, on=["benefit", "depcom", "household_type"], how="left")
             .with_columns(pl.col(*_COUNTS, *cents).fill_null(0))
             .select("benefit", "household_type", *LEVELS, *_COUNTS, *cents))
    by_type: dict[str, pl.DataFrame] = {LEVELS[-1]: below}
    for i in range(len(LEVELS) - 2, -1, -1):
        below = by_type[LEVELS[i]] = below.group_by("benefit", "household_type", *LEVELS[:i + 1]).agg(added)
    parent = {"total": None, "departement": "total", "epci": "departement", "commune": "epci"}
    euros = [(pl.col(f"{c}_cents") / 100).alias(c) for c in _AMOUNTS]
    parts = []
    for level in levels:
        up = parent[level]
        keys = ["benefit", level] + ([up] if up else [])
        for htype in ("household_type", None):
            typed = by_type[level]
            g = ((typed if htype else typed.group_by(keys).agg(added))
                 .with_columns(pl.lit(level).alias("level"), pl.col(level).alias("area"),
                               (pl.col(up) if up else pl.lit(None, dtype=pl.String)).alias("parent_area"),
                               (pl.col("household_type") if htype else pl.lit(ALL_TYPES)).alias("household_type"),
                               *euros))
            parts.append(g.select("benefit", "level", "area", "parent_area", "household_type", *_COUNTS, *_AMOUNTS))
    cells = pl.concat(parts)
    # Sorted by benefit, level, area and household type: each string replaced by its rank among the column's
    # values (Polars' own order of them), as sorting 2.5 million rows by four integers is several times faster.
    def rank(col: str) -> pl.Expr:
        values = cells.get_column(col).unique().sort()
        return pl.col(col).replace_strict(values, pl.int_range(len(values), eager=True), default=None)

    return cells.sort(rank("benefit"), pl.col("level").replace_strict({lv: i for i, lv in enumerate(LEVELS)}),
                      rank("area"), rank("household_type"))


def _publish(cells: pl.DataFrame) -> pl.DataFrame:
    secret = pl.col("suppressed").is_not_null()
    out = cells.with_columns(
        *[non_take_up_rate(e) for e in ESTIMATES],
        # the central estimate's count of non-take-up units (weighted flags, capped at the high count)
        estimated_non_take_up().round(1).alias("non_take_up_estimated"),
        pl.when(pl.col("paid") > 0).then(pl.col("paid_entitled") / pl.col("paid")).alias("coherence_rate"),
        # the central amount: the certain and probable flags' money weighted as the central count, capped at high
        *[amount_foregone(e) for e in ESTIMATES],
    ).with_columns(
        *[(pl.col(f"monthly_foregone_{e}") * 12).alias(f"yearly_foregone_{e}") for e in ESTIMATES],
    ).with_columns(
        *[pl.col(c).round(2) for c in ("monthly_foregone_low", "monthly_foregone_central", "monthly_foregone_high",
                                       "yearly_foregone_low", "yearly_foregone_central", "yearly_foregone_high")],
        # six decimals: a rate shown to a tenth of a point (the report) rounded again from four was 0.1 point off the
        # evaluation's (8/38 = 21.05 %: 0.2105, then 21.0 %; found probing the outputs from the docs alone, 5 December
        # 2026); the CSV writers keep four
        *[pl.col(f"non_take_up_rate_{e}").round(6) for e in ("low", "central", "high")],
        pl.col("coherence_rate").round(6))
    internal = {"suppressed", "non_take_up_weighted", "monthly_foregone_weighted", *_OWED,
                *(f"_hide_{c}" for c in SUB_COUNTS)}
    measures = [c for c in out.columns if c not in ("benefit", "level", "area", "parent_area", "household_type",
                                                   *internal)]

    def hidden(measure: str) -> pl.Expr:
        guards = [pl.col(f"_hide_{g}") for g in GUARDS.get(measure, ()) if f"_hide_{g}" in out.columns]
        return pl.any_horizontal(secret, *guards)

    # Published: only whether a cell is secret, and in a published cell which measures are. Saying "primary"
    # would tell a reader the cell holds fewer than ``threshold`` units, and "secondary" that it holds at least
    # that many.
    # the columns in the cells' order, the central amount where the cells hold the weighted one
    order = [("monthly_foregone_central" if c == "monthly_foregone_weighted" else c) for c in cells.columns
             if c not in internal or c == "monthly_foregone_weighted"]
    order += [c for c in out.columns if c not in order and c not in internal]
    told = pl.concat_list([pl.when(~secret & hidden(c)).then(pl.lit(c)) for c in measures]).list.drop_nulls()
    return (out.with_columns(told.alias("secret_measures"))
            .with_columns([pl.when(hidden(c)).then(None).otherwise(pl.col(c)).alias(c) for c in measures])
            .with_columns(secret.alias("secret")).select([*order, "secret", "secret_measures"]))


def _relations(cells: pl.DataFrame, levels: tuple[str, ...]) -> pl.DataFrame:
    """Published sums: (relation, cell, is_total). Rows: an area's types and its ``ensemble``; columns: an area's
    children in one household type (or ensemble) and that area."""
    cell = cells.select("_cell", "benefit", "level", "area", "parent_area", "household_type")
    row = cell.select(pl.format("r|{}|{}|{}", "benefit", "level", "area").alias("rel"), "_cell",
                      (pl.col("household_type") == ALL_TYPES).alias("is_total"))
    child_of = {levels[i + 1]: levels[i] for i in range(len(levels) - 1)}
    col_parts = []
    for child, par in child_of.items():
        kids = cell.filter(pl.col("level") == child).select(
            pl.format("c|{}|{}|{}|{}", "benefit", pl.lit(par), "parent_area", "household_type").alias("rel"),
            "_cell", pl.lit(False).alias("is_total"))
        tot = cell.filter(pl.col("level") == par).select(
            pl.format("c|{}|{}|{}|{}", "benefit", pl.lit(par), "area", "household_type").alias("rel"),
            "_cell", pl.lit(True).alias("is_total"))
        col_parts += [kids, tot]
    return pl.concat([row, *col_parts])


def suppress(cells: pl.DataFrame, *, threshold: int = 11, levels: tuple[str, ...] = LEVELS,
             value: str = "units", audit: bool = True, hidden: str | None = None,
             unknown: str | None = None) -> pl.DataFrame:
    """Add ``suppressed`` (null, ``primary`` or ``secondary``) to hierarchical cells.

    ``cells``: benefit, level, area, parent_area, household_type (with ``ensemble`` rows) and ``value``.
    ``audit=False`` stops after the pattern heuristic (the audit's starting point, kept apart for its tests).
    ``hidden``: a boolean column of the cells another pattern hides already (a sub-count's pattern starts from the
    units' one, ``_sub_count_patterns``): they stay secret, primary where ``value`` is under ``threshold`` (so
    its interval must reach it), secondary elsewhere; a cell it does not hide is primary only where ``value`` is
    1 to ``threshold`` - 1 (a count of 0 units tells nothing about anyone, and is published).
    ``unknown``: a boolean column of the secret cells a reader does not know though they hold none of ``value``
    (a sub-count's cells hidden from the start that hold units): unknowns of the audit, never protected. Without
    it, a secret cell holding none of ``value`` is taken as known to be empty (a stronger reader, ``_audit``).

    The pattern is a function of the cells' values only, not of their row order nor of the order in which the
    query engine returns unordered results (joins, ``unique``, ``group_by``): the cells are numbered in a
    canonical order (benefit, level down the hierarchy, area, parent area, household type), every tie of the
    picks is broken by that number, and the audit's programs list their unknowns and sums in a canonical order
    (``_audit``), so the solver is given the same program. Two runs, or the same table in another row order,
    give the same pattern: two patterns of the same counts would let a reader difference them. The rows come
    back in the order given.
    """
    rank = {lv: i for i, lv in enumerate(levels)}
    # one row per cell: a repeated key would be numbered by its row order, and a table's sums read it twice
    key = ["benefit", "level", "area", "parent_area", "household_type"]
    if cells.select(pl.struct(key).is_duplicated().any()).item():
        raise SchemaError("a cell is given twice (benefit, level, area, parent area, household type)",
                          table="statistics")
    twin = _twin_tables(cells, [value, *(c for c in (hidden, unknown) if c)])
    if (twin.get_column("benefit") != twin.get_column("_twin")).any():
        # Benefits whose tables hold the same cells with the same values (every benefit of one unit kind
        # counts the same units evaluated) get one pattern: the first of them (by name) is protected, the
        # others copy it. Their programs are the same, so what protects the one protects the others; and two
        # patterns on the same counts would tell a reader, in one table, the value of a cell secret in the
        # other (France at 100,000 persons, 12 benefits counting the familles: 80 such cells before).
        first = suppress(cells.join(twin.filter(pl.col("benefit") == pl.col("_twin")).select("benefit"),
                                    on="benefit", how="semi"), threshold=threshold, levels=levels, value=value,
                         audit=audit, hidden=hidden, unknown=unknown)
        return (cells.join(twin, on="benefit", how="left", maintain_order="left")
                .join(first.select(pl.col("benefit").alias("_twin"), *key[1:], "suppressed"),
                      on=["_twin", *key[1:]], how="left", nulls_equal=True, maintain_order="left")
                .drop("_twin"))
    cells = (cells.with_columns(pl.int_range(pl.len()).alias("_given"))
             .sort("benefit", pl.col("level").replace_strict(rank, default=len(rank), return_dtype=pl.Int64), "level",
                   "area", "parent_area", "household_type", nulls_last=True, maintain_order=True)
             .with_columns(pl.int_range(pl.len()).alias("_cell")))
    # the tier of a cell's level (0: the top, 1: the second, 2: below), for the split audit
    tier = pl.when(pl.col("level") == levels[0]).then(0).when(pl.col("level") == (levels[1:] or ("",))[0]
                                                             ).then(1).otherwise(2)
    small = pl.col(value) < threshold
    if hidden is None:
        primary = pl.when(small).then(pl.lit("primary"))
    else:
        primary = (pl.when(pl.col(hidden) & small).then(pl.lit("primary"))
                   .when(pl.col(hidden)).then(pl.lit("secondary"))
                   .when(small & (pl.col(value) > 0)).then(pl.lit("primary")))
    open_to = (pl.col(value) > 0) | (pl.col(unknown).fill_null(False) if unknown else pl.lit(False))
    status = cells.select("_cell", pl.col(value).alias("_v"), primary.alias("suppressed"),
                          tier.cast(pl.Int8).alias("_tier"), open_to.alias("_u"))
    every_sum = _relations(cells, levels)
    # Each sum's name as an integer, numbered in name order (the audit's programs break ties by name): the
    # loop joins the sums every round, and a join on integers costs a fraction of one on names.
    names = every_sum.select("rel").unique().sort("rel").with_columns(pl.int_range(pl.len()).alias("_id"))
    every_sum = every_sum.join(names, on="rel").select(pl.col("_id").alias("rel"), "_cell", "is_total")
    # A sum whose cells are all secret from the start is never exposed (suppression only hides more cells):
    # left out, since the empty communes of an extract spanning France make most of the sums (at 100,000
    # persons, 2.35 million cells almost all secret), and each round of the loop joins every sum kept.
    open_sums = (every_sum.join(status.filter(pl.col("suppressed").is_null()).select("_cell"), on="_cell",
                                how="semi").select("rel").unique())
    rel = every_sum.join(open_sums, on="rel", how="semi")
    status = _single_sum_heuristic(rel, status)
    if audit:
        # The audit reads only the sums holding a cell with units: its unknowns are the secret cells holding
        # units (``_audit``), the cells it judges and the picks' sums go through those, so a sum of empty cells
        # holds nothing it reads (at 100,000 persons over France, a third of the sums' rows).
        held = (every_sum.join(status.filter(_unknowns(status)).select("_cell"), on="_cell", how="semi")
                .select("rel").unique())
        status = _audit_loop(every_sum.join(held, on="rel", how="semi"), rel, status, threshold)
    return (cells.join(status.select("_cell", "suppressed"), on="_cell").sort("_given")
            .drop("_cell", "_given"))


def _twin_tables(cells: pl.DataFrame, values: list[str]) -> pl.DataFrame:
    """benefit → ``_twin``: the first benefit (in name order) whose table is the same as this one's, every cell
    (level, area, parent area, household type) with the same ``values``; a benefit's own name when none is
    before it. Compared whole, not by a hash: a table merely like another is protected on its own."""
    key = ["level", "area", "parent_area", "household_type"]
    tables = {b: t.drop("benefit") for (b,), t in
              cells.select("benefit", *key, *values).sort("benefit", *key, nulls_last=True)
              .partition_by("benefit", maintain_order=True, as_dict=True).items()}
    firsts: list[str] = []
    twin: dict[str, str] = {}
    for b in sorted(tables):
        twin[b] = next((f for f in firsts if tables[f].equals(tables[b])), b)
        if twin[b] == b:
            firsts.append(b)
    return pl.DataFrame({"benefit": list(twin), "_twin": list(twin.values())},
                        schema={"benefit": cells.schema["benefit"], "_twin": cells.schema["benefit"]})


def _single_sum_heuristic(rel: pl.DataFrame, status: pl.DataFrame) -> pl.DataFrame:
    """Suppress the cheapest other cell of every sum exposed on its own, until none is."""
    while True:
        joined = rel.join(status, on="_cell")
        hidden = pl.col("suppressed").is_not_null()
        # A sum is exposed when it holds one secret cell holding units, alone or among empty secret ones: those
        # sit at their bound (0) and give a reader's solver no room to move. A sum whose secret cells are all
        # empty tells only that they are (the audit's reader knows it too, docs/outputs.md): protecting a lone
        # empty cell hid, for the whole file, the household types of the thousands of units living where one
        # type is missing (the 20,000-person demo's « département inconnu » of 11 units living alone: three of
        # the four types secret for every benefit at the top two levels).
        # A secret cell a reader does not know that holds none of the count (``suppress(unknown=...)``) is an
        # unknown too: beside it, the cell holding units is not pinned.
        exposed = (joined.group_by("rel")
                   .agg((hidden & (pl.col("_v") > 0)).sum().alias("_nz"),
                        (hidden & _unknowns(joined)).sum().alias("_unknown"), hidden.not_().sum().alias("_open"))
                   .filter((pl.col("_nz") == 1) & (pl.col("_unknown") == 1) & (pl.col("_open") > 0)).select("rel"))
        if exposed.height == 0:
            return status
        # In each exposed sum, the cheapest other cell: detail cells before the total, smallest value first, but a
        # cell of 0 last (hidden, the audit's reader still knows it: a sub-count's pattern publishes its zeros).
        picks = (joined.join(exposed, on="rel").filter(pl.col("suppressed").is_null())
                 .sort("rel", "is_total", pl.col("_v") == 0, "_v", "_cell").group_by("rel").agg(pl.col("_cell").first())
                 .select("_cell").unique())
        status = _mark_secondary(status, picks.get_column("_cell"))


def _unknowns(status: pl.DataFrame) -> pl.Expr:
    """The cells a reader does not know once secret: those holding some of the count, and those ``suppress``
    was told of (``_u``)."""
    return pl.col("_u") if "_u" in status.columns else pl.col("_v") > 0


def _mark_secondary(status: pl.DataFrame, picks: pl.Series) -> pl.DataFrame:
    return status.with_columns(
        pl.when(pl.col("_cell").is_in(picks.implode()) & pl.col("suppressed").is_null())
        .then(pl.lit("secondary")).otherwise(pl.col("suppressed")).alias("suppressed"))


def _audit_loop(every_sum: pl.DataFrame, rel: pl.DataFrame, status: pl.DataFrame, threshold: int) -> pl.DataFrame:
    """Audit the pattern as a reader's solver would, suppress one more cell per exposed cell, until none is.

    More suppression only loosens a reader's constraints (a published value becomes a free one), so a cell
    found protected stays protected: each round audits only the blocks holding a cell suppressed since. An
    exposed cell whose block the round's suppressions do not reach (``_unreached``: none left around it, a
    pick at the top two levels for a cell the split's lower part judged, whose reader knows those, or a pick in
    another block the cell shares only under the upper part) would never be audited again: it is asked of the
    real reader (``_audit(whole=True)``) on the round's new pattern, and stays exposed for the next round if
    that reader narrows it.
    """
    log = logging.getLogger(__name__)
    touched: pl.Series | None = None  # None: audit every block
    certified: set[int] = set()  # cells the real reader was found not to narrow (the split's upper part)
    asked: set[int] = set()  # cells the picks could not reach that the real reader was found not to narrow
    carried: list[int] = []  # such cells the real reader still narrows: exposed in the next round too

    def ask_whole(cells: list[int], why: str) -> list[int]:
        """The cells the real reader narrows (their blocks solved whole); the others join ``asked``."""
        still = _audit(every_sum, status, threshold, only=pl.Series("_cell", cells, dtype=status.get_column(
            "_cell").dtype), whole=True)[0]
        # counts only: never a cell's area or value
        log.info("secrecy audit: %d cells %s, %d exposed to the whole audit", len(cells), why, len(still))
        asked.update(set(cells) - set(still))
        return still

    rounds = 0
    while True:
        exposed, blocks, split = _audit(every_sum, status, threshold, only=touched, certified=certified)
        exposed = sorted((set(exposed) - asked) | set(carried))
        rounds += 1
        # counts only: never a cell's area or value
        log.info("secrecy audit round %d: %d blocks solved, %d cells exposed", rounds,
                 blocks.get_column("_block").n_unique(), len(exposed))
        if not exposed:
            return status
        if rounds >= MAX_ROUNDS:
            raise RuntimeError(f"secrecy audit: {len(exposed)} cells still exposed after {rounds} rounds "
                               "(MAX_ROUNDS): the pattern is not certified")
        before = status.get_column("suppressed").is_not_null()
        status = _mark_secondary(status, _audit_picks(every_sum, status, exposed, blocks, lower=split))
        status = _single_sum_heuristic(rel, status)
        now = status.get_column("suppressed").is_not_null()
        if not (now & ~before).any():
            # Nothing left to hide around these cells. Under the split, the stronger readers may see a cell
            # exposed that the real reader does not (a commune cell capped by its département's secret cell,
            # which the lower part knows): these cells alone are audited against the real reader, whole.
            stuck = [c for c in exposed if c not in asked]
            if stuck and ask_whole(stuck, "with nothing left to hide"):
                raise RuntimeError("secrecy audit: cells stay exposed with no published cell left to suppress "
                                   "around them")
            return status
        touched = status.filter(now & ~before).get_column("_cell")
        unreached = _unreached(every_sum, status, touched, exposed, blocks, split=split)
        carried = ask_whole(unreached, "the picks do not reach") if unreached else []


def _audit_picks(every_sum: pl.DataFrame, status: pl.DataFrame, exposed: list[int],
                 block: pl.DataFrame, *, lower: bool = False) -> pl.Series:
    """For each exposed cell, the cheapest published cell of a sum through it (a detail cell before a total,
    smallest value first); when every sum through it is secret already, the cheapest published cell of a sum
    through any secret cell of its block.

    ``lower``: the audit was split (``_split_audit``). A cell below the top two levels was then found exposed by
    the lower part, whose reader knows every cell of the top two levels: hiding one of those cannot help it, so
    its pick is made among the published cells below the top two levels first (the same two choices), and only
    when there is none among every published cell."""
    if lower and "_tier" in status.columns:
        tiers = status.filter(pl.col("_cell").is_in(exposed)).select("_cell", "_tier")
        low = tiers.filter(pl.col("_tier") == 2).get_column("_cell").to_list()
        if low:
            picks, unserved = _cheapest(every_sum, status.filter(pl.col("_tier") == 2), low, block)
            rest = sorted(set(exposed) - set(low) | set(unserved))
            if rest:
                picks = pl.concat([picks, _cheapest(every_sum, status, rest, block)[0].cast(picks.dtype)])
            return picks.unique()
    return _cheapest(every_sum, status, exposed, block)[0]


def _unreached(every_sum: pl.DataFrame, status: pl.DataFrame, new: pl.Series, exposed: list[int],
               blocks: pl.DataFrame, *, split: bool) -> list[int]:
    """The exposed cells the next round would not audit: those whose block (the one whose reader found them
    exposed) has no sum through its cells holding a cell of ``new`` (this round's suppressions). Under the
    split, a cell below the top two levels is judged by the lower part, whose blocks only a new cell below the
    top two levels reaches (that reader knows the top two levels whatever is hidden there); any other cell by
    the upper part (its blocks and their groups, which any new cell of their sums joins)."""
    tier = status.select("_cell", pl.col("_tier") if "_tier" in status.columns else pl.lit(2).alias("_tier"))
    # _low: judged by the split's lower part (reached only by a new cell below the top two levels)
    low = (pl.col("_tier") == 2) if split else pl.lit(False)
    judged = (blocks.join(tier, on="_cell").filter(pl.col("_cell").is_in(exposed))
              .filter(pl.when(low).then(pl.col("_part") == 0).otherwise(pl.col("_part") == int(split)))
              .select("_cell", "_block", low.alias("_low")))
    wanted = judged.select("_block", "_low").unique()
    # every sum through a cell of those blocks (block labels are distinct across the two parts)
    sums = every_sum.join(blocks.join(wanted.select("_block"), on="_block"), on="_cell").select("rel", "_block")
    fresh = every_sum.join(tier.filter(pl.col("_cell").is_in(new.implode())), on="_cell").select("rel", "_tier")
    reached = (sums.unique().join(wanted, on="_block").join(fresh, on="rel")
               .filter(~pl.col("_low") | (pl.col("_tier") == 2)).select("_block").unique())
    kept = set(judged.join(reached, on="_block", how="semi").get_column("_cell").to_list())
    return sorted(c for c in exposed if c not in kept)


def _cheapest(every_sum: pl.DataFrame, status: pl.DataFrame, exposed: list[int],
              block: pl.DataFrame) -> tuple[pl.Series, list[int]]:
    """``_audit_picks``' two choices among the cells of ``status``: (picks, the exposed cells given none)."""
    published = status.filter(pl.col("suppressed").is_null())

    def open_in(sums: pl.DataFrame) -> pl.DataFrame:
        """The published cells of these sums (only those sums joined, not every sum)."""
        return every_sum.join(sums.select("rel").unique(), on="rel", how="semi").join(published, on="_cell")

    through = every_sum.filter(pl.col("_cell").is_in(exposed)).select("rel", pl.col("_cell").alias("_exposed"))
    direct = (open_in(through).join(through, on="rel").sort("_exposed", "is_total", pl.col("_v") == 0, "_v", "_cell")
              .group_by("_exposed").agg(pl.col("_cell").first()))
    left = sorted(set(exposed) - set(direct.get_column("_exposed").to_list()))
    picks = direct.get_column("_cell")
    if left:
        wanted = block.filter(pl.col("_cell").is_in(left)).select("_block").unique()
        members = block.join(wanted, on="_block")
        rels = every_sum.join(members, on="_cell").select("rel", "_block").unique()
        far = (open_in(rels).join(rels, on="rel").sort("_block", "is_total", pl.col("_v") == 0, "_v", "_cell")
               .group_by("_block").agg(pl.col("_cell").first()))
        picks = pl.concat([picks, far.get_column("_cell").cast(picks.dtype)])
        served = set(block.join(far.select("_block"), on="_block").get_column("_cell").to_list())
        left = [c for c in left if c not in served]
    return picks.unique(), left


CELL_SOLVES = 400
"""Most cells the audit solves one by one in a round (two programs each, 0.2 s apiece on a large block): a
cell the pushing solves leave short may still be protected, which only its own solves can tell. Beyond this
many, each short cell is taken as exposed and gets one more suppression: more cells hidden than the exact
audit would hide (a France-wide table, almost all secret, loses little), in bounded time; the criterion
holds either way, since every cell that fails it is among the short ones."""


MAX_ROUNDS = 30
"""Most rounds of the audit loop. Each round hides at least one more cell, so the loop ends, but a table whose
audit keeps finding cells exposed (France at 20,000 persons under the split, before the upper part asked the
real reader: the few known points per département) would run for hours; past this many rounds it fails, never
returning an uncertified pattern. Every table measured so far needed 2 to 3 rounds (docs/outputs.md)."""


UPPER_CELL_SOLVES = 5_000
"""``CELL_SOLVES`` for the split's upper part, whose program is small (the top two levels' secret cells and a
few weights per département: about 500 unknowns a benefit at 20,000 persons over France), so a cell solved
alone costs milliseconds. With the bound at 400 there, every short cell taken as exposed hid more cells of
the top two levels, which left more short: France at 20,000 persons went past 9 rounds, 515 to 773 upper
cells exposed each; with it, 225 to 243 a round from round 3 on, which only the real reader's check of those
cells (``_split_audit``) settled (docs/outputs.md)."""


SPLIT_CELLS = 20_000
"""Above this many secret cells holding units, the audit is split at the second level (départements): the
cells below it are audited with the cells of the top two levels known to the reader, and the cells of the top
two levels against an inner bound of what each département's cells allow (docs/outputs.md, "Split audit").
Both are stronger readers than the real one, so what they find protected is protected; at or below this
many cells (a territory such as Cahors) the program is solved whole, as a reader would."""


def audit(every_sum: pl.DataFrame, status: pl.DataFrame, threshold: int, *,
          only: pl.Series | None = None) -> tuple[list[int], pl.DataFrame]:
    """Secret cells a reader's linear-programming solver narrows below the protection criterion.

    ``every_sum``: (rel, _cell, is_total), a sum being total = its parts; ``status``: _cell, _v (the true
    value), suppressed, and ``_tier`` (0: the top level, 1: the second, 2: below; needed to split the audit).
    Unknowns: the secret cells, each >= 0; every published value is a constant. The unknowns split into
    independent blocks (connected through the sums they share); only blocks holding a secret cell with units
    (and, with ``only``, one of those cells) are solved. Criterion (docs/outputs.md): a primary cell holding
    units must be able to reach ``threshold`` (upper bound >= threshold, so a reader cannot tell it is a small
    cell), any other secret cell holding units must not be pinned (upper - lower >= 1). Past ``SPLIT_CELLS``
    cells the audit is split (``_split_audit``). Returns the exposed cells and the block of every secret cell
    of a solved block (_cell, _block).
    """
    exposed, blocks, _ = _audit(every_sum, status, threshold, only=only)
    return exposed, blocks.drop("_part")


def _audit(every_sum: pl.DataFrame, status: pl.DataFrame, threshold: int, *,
           only: pl.Series | None = None, whole: bool = False,
           certified: set[int] | None = None) -> tuple[list[int], pl.DataFrame, bool]:
    """``audit``, and whether it was split. ``whole``: never split, and only the cells of ``only`` are judged
    (their blocks solved whole, as the real reader would). ``certified``: cells (``_cell``) the real reader was
    found not to narrow in an earlier round of the same pattern's loop (the split's upper part does not ask
    again of them; it adds those it finds)."""
    import numpy as np
    import scipy.sparse as sp

    # Empty secret cells are taken as known to the reader (0): a stronger reader than the real one, whose
    # intervals can only be narrower, so a cell protected here is protected from the real reader. It keeps
    # the program to the cells holding units: an extract spanning France has millions of empty secret cells
    # (every commune without a unit), and with them as unknowns one benefit's block held about a million.
    has_tier = "_tier" in status.columns
    # (and those ``suppress(unknown=...)`` names: unknowns needing no protection, ``target`` below)
    secret_df = (status.filter(pl.col("suppressed").is_not_null() & _unknowns(status))
                 .select("_cell", "_v", "suppressed", pl.col("_tier") if has_tier else pl.lit(0).alias("_tier")))
    n = secret_df.height
    if n == 0:
        return [], pl.DataFrame(schema={"_cell": pl.Int64, "_block": pl.Int64, "_part": pl.Int64}), False
    # A canonical program: unknowns in cell order, sums in the order of the first unknown they hold, then by
    # name (``unique`` and the joins return rows in any order, run to run, and the solver's answer, one
    # optimal vertex among many, follows the order of its rows: past ``CELL_SOLVES`` the cells taken as
    # exposed follow that vertex, and the pattern varied by a few cells between runs on the same counts).
    secret_df = secret_df.sort("_cell").with_columns(pl.int_range(pl.len()).alias("_j"))
    # sums holding a secret cell: total - parts = 0, published values moved to the right-hand side (found from
    # the unknowns' rows first: only those sums' rows are then joined to the cells' values)
    live = (every_sum.join(secret_df.select("_cell", "_j"), on="_cell").group_by("rel")
            .agg(pl.col("_j").min().alias("_first"))
            .sort("_first", "rel").select("rel").with_columns(pl.int_range(pl.len()).alias("_r")))
    entries = every_sum.join(live, on="rel").join(
        status.select("_cell", "_v", pl.col("_tier") if has_tier else pl.lit(0).alias("_tier")), on="_cell").join(
        secret_df.select("_cell", "_j"), on="_cell", how="left").with_columns(
        pl.when(pl.col("is_total")).then(1.0).otherwise(-1.0).alias("_coef"))
    rhs_df = (entries.filter(pl.col("_j").is_null()).group_by("_r")
              .agg((-(pl.col("_coef") * pl.col("_v"))).sum().alias("_b")))
    # a sum is of the top when it holds a cell of the top level (published or not): the top level's rows and
    # the columns of its children
    top_df = entries.group_by("_r").agg((pl.col("_tier") == 0).any().alias("_top"))
    m = live.height
    rhs = np.zeros(m)
    rhs[rhs_df.get_column("_r").to_numpy()] = rhs_df.get_column("_b").to_numpy()
    top_sum = np.zeros(m, dtype=bool)
    top_sum[top_df.get_column("_r").to_numpy()] = top_df.get_column("_top").to_numpy()
    var = entries.filter(pl.col("_j").is_not_null())
    a = sp.csr_matrix((var.get_column("_coef").to_numpy(), (var.get_column("_r").to_numpy(),
                                                            var.get_column("_j").to_numpy())), shape=(m, n))
    a.sort_indices()  # each row's entries by column, whatever order the join gave them in
    value = secret_df.get_column("_v").to_numpy().astype(float)
    primary = secret_df.get_column("suppressed").to_numpy() == "primary"
    cell_id = secret_df.get_column("_cell").to_numpy()
    tier = secret_df.get_column("_tier").to_numpy()
    touched = np.isin(cell_id, only.to_numpy()) if only is not None else np.ones(n, dtype=bool)
    # what each cell must reach: a primary cell the threshold, any other one more unit
    need_hi = np.where(primary, float(threshold), value + 1.0)
    target = value > 0
    if whole:
        target &= touched
    if whole or n <= SPLIT_CELLS or not has_tier:
        exposed, solved, label = _audit_program(a, rhs, value, need_hi, primary, target, touched,
                                                cell_solves=n if whole else None)
        blocks = pl.DataFrame({"_cell": cell_id[solved], "_block": label[solved], "_part": 0}).cast(pl.Int64)
        return sorted(int(cell_id[k]) for k in exposed), blocks, False
    exposed, block_cell, block_label, n_lower = _split_audit(a, rhs, top_sum, tier, value, need_hi, primary, target,
                                                    touched, cell_id, set() if certified is None else certified)
    # the part whose reader judged the cell: 0 the lower part's blocks, 1 the upper part's (with their groups)
    part = np.zeros(block_cell.size, dtype=np.int64)
    part[n_lower:] = 1
    blocks = pl.DataFrame({"_cell": cell_id[block_cell], "_block": block_label, "_part": part}).cast(pl.Int64)
    return sorted(int(cell_id[k]) for k in exposed), blocks, True


def _components(a):
    """Connected components of a program's unknowns and sums (one bipartite graph): (cell labels, sum labels)."""
    import numpy as np
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    m, n = a.shape
    graph = sp.bmat([[sp.csr_matrix((n, n)), a.T.tocsr()], [a, sp.csr_matrix((m, m))]]).tocsr()
    graph.data = np.ones_like(graph.data)
    _, label = connected_components(graph, directed=False)
    return label[:n], label[n:]


def _audit_program(a, rhs, value, need_hi, primary, target, touched, cell_solves=None):
    """The audit of one program (a x = rhs, x >= 0; the true ``value`` a solution): the indices of the
    ``target`` cells failing the criterion, the mask of the cells of the blocks solved (those holding a
    target cell that is ``touched``), and every cell's block label."""
    import numpy as np

    n = a.shape[1]
    if n == 0:
        return [], np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int64)
    cell_block, sum_block = _components(a)
    wanted = np.unique(cell_block[target & touched])
    solved = np.isin(cell_block, wanted)
    # Phase 1, every wanted block in one program (they share no sum, so one solve is each block's solve):
    # push every unsettled cell up to what it needs at once, again while that settles some. Each feasible
    # point is a certificate for every cell it moves far enough.
    cols = np.flatnonzero(solved)
    rows = np.flatnonzero(np.isin(sum_block, wanted))
    hi_seen, lo_seen = value.copy(), value.copy()  # the true values are a feasible point
    _push(a[rows][:, cols], rhs[rows], value[cols], need_hi[cols], primary[cols], target[cols], hi_seen,
          lo_seen, cols, cell_block[cols], sum_block[rows])
    # Phase 2: each cell still short gets its own solves, within its block; beyond CELL_SOLVES cells, every
    # short cell is taken as exposed (one more suppression each).
    short = np.flatnonzero(solved & target & ~_settled(hi_seen, lo_seen, need_hi, primary))
    bound = CELL_SOLVES if cell_solves is None else cell_solves
    if short.size > bound:
        logging.getLogger(__name__).info("secrecy audit: %d cells short after the pushing solves, above %d: "
                                         "each taken as exposed", short.size, bound)
        return short.tolist(), solved, cell_block
    exposed: list[int] = []
    nb = int(cell_block.max()) + 2
    by_block_cells = np.argsort(cell_block, kind="stable")
    cell_starts = np.searchsorted(cell_block[by_block_cells], np.arange(nb))
    by_block_sums = np.argsort(sum_block, kind="stable")
    sum_starts = np.searchsorted(sum_block[by_block_sums], np.arange(nb))
    for b in np.unique(cell_block[short]):
        cols = by_block_cells[cell_starts[b]:cell_starts[b + 1]]
        rows = by_block_sums[sum_starts[b]:sum_starts[b + 1]]
        bad = _audit_block(a[rows][:, cols], rhs[rows], value[cols], need_hi[cols], primary[cols], target[cols],
                           hi_seen[cols], lo_seen[cols])
        exposed += [int(cols[k]) for k in bad]
    return exposed, solved, cell_block


def _split_audit(a, rhs, top_sum, tier, value, need_hi, primary, target, touched, cell_id, certified):
    """The audit split at the second level (docs/outputs.md, "Split audit"); same criterion, same returns as
    ``audit`` but as indices: (exposed, cells of the solved blocks, their block labels, how many of those come
    first from the lower part).

    Lower part: the cells below the second level, with every cell of the top two levels known to the reader
    at its true value. Nothing but those cells links two départements, so the program falls into blocks no
    larger than a département's. Upper part: the cells of the top two levels, where each group of second-level
    cells tied through the sums below them (a département's, the "local" program) may take any convex
    combination of points that program is known to reach (the true values, and each second-level cell pushed
    up to what it needs and down to its least): a subset of what the real reader allows, so again what is
    found protected is protected. A cell the upper part finds exposed is then asked of the real reader (the
    whole program, ``_audit_program`` on the blocks holding it) unless ``certified`` (cell ids) holds it, and
    only those the real reader narrows are returned; the others join ``certified``.
    """
    import numpy as np
    import scipy.sparse as sp

    n = a.shape[1]
    low, up = tier == 2, tier < 2
    # Lower part: the top two levels' values to the right-hand side.
    low_cols = np.flatnonzero(low)
    a_low = a[:, low_cols]
    rhs_low = rhs - a[:, np.flatnonzero(up)] @ value[up]
    low_rows = np.flatnonzero(np.diff(a_low.tocsr().indptr) > 0)
    exposed_l, solved_l, label_l = _audit_program(a_low[low_rows], rhs_low[low_rows], value[low], need_hi[low],
                                                  primary[low], target[low], touched[low])
    exposed = [int(low_cols[k]) for k in exposed_l]
    block_cell = [low_cols[solved_l]]
    block_label = [label_l[solved_l]]
    offset = int(label_l.max()) + 1 if label_l.size else 0
    # Local programs: the second level and below, through the sums that hold no top-level cell.
    loc_cols = np.flatnonzero(tier >= 1)
    loc_rows = np.flatnonzero(~top_sum)
    a_loc = a[loc_rows][:, loc_cols].tocsr()
    keep = np.diff(a_loc.indptr) > 0
    loc_rows, a_loc = loc_rows[keep], a_loc[keep]
    loc_cell, loc_sum = _components(a_loc)
    group = np.full(n, -1)
    group[loc_cols] = loc_cell
    second = np.flatnonzero(tier == 1)
    # Which upper blocks need solving: the structure alone (upper cells, top sums, one node per group).
    up_cols = np.flatnonzero(up)
    top_rows = np.flatnonzero(top_sum)
    a_top = a[top_rows][:, up_cols]
    n_groups = int(loc_cell.max()) + 1 if loc_cell.size else 0
    pos = np.full(n, -1)
    pos[up_cols] = np.arange(up_cols.size)
    link = sp.csr_matrix((np.ones(second.size), (group[second], pos[second])), shape=(n_groups, up_cols.size))
    struct_cell, _ = _components(sp.vstack([a_top, link]).tocsr())
    group_block = np.full(n_groups, -1)
    group_block[group[second]] = struct_cell[pos[second]]
    in_group = loc_cols[group[loc_cols] >= 0]
    hit = np.zeros(struct_cell.max() + 1 if struct_cell.size else 0, dtype=bool)
    hit[struct_cell[touched[up_cols] & target[up_cols]]] = True
    touched_groups = np.unique(group[in_group[touched[in_group]]])
    touched_groups = touched_groups[group_block[touched_groups] >= 0]
    hit[group_block[touched_groups]] = True
    # every upper block holding a target is solved when touched (a touched group counts for its block)
    has_target = np.zeros_like(hit)
    has_target[struct_cell[target[up_cols]]] = True
    hit &= has_target
    if not hit.any():
        # counts only (the upper part has no block holding a cell to judge)
        logging.getLogger(__name__).info("secrecy audit split: lower part %d cells solved, %d exposed; upper part "
                                         "nothing to solve", int(solved_l.sum()), len(exposed_l))
        return exposed, np.concatenate(block_cell), np.concatenate(block_label), block_cell[0].size
    u_cols = up_cols[hit[struct_cell]]  # upper cells solved
    groups = np.flatnonzero((group_block >= 0) & hit[np.maximum(group_block, 0)])
    # Points of each group's local program: one batched program per rank of second-level cell in the group.
    g_cols = loc_cols[np.isin(loc_cell, groups)]
    g_rows = loc_rows[np.isin(loc_sum, groups)]
    a_g = a[g_rows][:, g_cols]
    sec_g = second[np.isin(group[second], groups)]
    order = np.lexsort((sec_g, group[sec_g]))
    sec_g = sec_g[order]
    first = np.searchsorted(group[sec_g], group[sec_g], side="left")
    rank = np.arange(sec_g.size) - first
    at = np.full(n, -1)
    at[g_cols] = np.arange(g_cols.size)
    points = [value[sec_g]]  # the true values
    for r in range(int(rank.max()) + 1 if rank.size else 0):
        pick = sec_g[rank == r]
        for sign in (-1.0, 1.0):
            obj = np.zeros(g_cols.size)
            obj[at[pick]] = sign
            cap = np.full(g_cols.size, np.inf)
            if sign < 0:
                cap[at[pick]] = need_hi[pick]
            x = _solve_chunks(a_g, rhs[g_rows], obj, cap, loc_cell[np.isin(loc_cell, groups)],
                              loc_sum[np.isin(loc_sum, groups)])
            points.append(x[at[sec_g]])
    # Upper program: the solved upper cells, then one weight per (group, point); rows: the top sums, one link
    # row per second-level cell (cell - sum of weight x point = 0), one row per group (weights sum to 1).
    k_points = len(points)
    g_of = group[sec_g]
    g_index = np.searchsorted(groups, g_of)
    nu = u_cols.size
    upos = np.full(n, -1)
    upos[u_cols] = np.arange(nu)
    lam = nu + g_index[:, None] * k_points + np.arange(k_points)[None, :]  # weight columns per sec cell
    n_var = nu + groups.size * k_points
    # the top sums through the solved cells (a block is whole: every unknown of such a sum is solved)
    a_t = a[top_rows][:, u_cols].tocsr()
    keep_t = np.diff(a_t.indptr) > 0
    t_rows, a_t = top_rows[keep_t], a_t[keep_t]
    pts = np.column_stack(points)  # sec cell x point
    rows_l = np.repeat(np.arange(sec_g.size), 1 + k_points)
    cols_l = np.column_stack([upos[sec_g], lam]).ravel()
    vals_l = np.column_stack([np.ones(sec_g.size), -pts]).ravel()
    link_m = sp.csr_matrix((vals_l, (rows_l, cols_l)), shape=(sec_g.size, n_var))
    conv = sp.csr_matrix((np.ones(groups.size * k_points),
                          (np.repeat(np.arange(groups.size), k_points), nu + np.arange(groups.size * k_points))),
                         shape=(groups.size, n_var))
    a_up = sp.vstack([sp.hstack([a_t, sp.csr_matrix((t_rows.size, n_var - nu))]), link_m, conv]).tocsr()
    rhs_up = np.concatenate([rhs[t_rows], np.zeros(sec_g.size), np.ones(groups.size)])
    true_lam = np.zeros(groups.size * k_points)
    true_lam[np.arange(groups.size) * k_points] = 1.0
    v_up = np.concatenate([value[u_cols], true_lam])
    t_up = np.concatenate([target[u_cols], np.zeros(true_lam.size, dtype=bool)])
    need_up = np.concatenate([need_hi[u_cols], np.full(true_lam.size, np.inf)])
    prim_up = np.concatenate([primary[u_cols], np.zeros(true_lam.size, dtype=bool)])
    exposed_u, solved_u, label_u = _audit_program(a_up, rhs_up, v_up, need_up, prim_up, t_up,
                                                  np.ones(n_var, dtype=bool), cell_solves=UPPER_CELL_SOLVES)
    # The upper part's reader knows each group through a few points only, so it may call a cell exposed that
    # the real reader protects by trading between départements' local solutions (France at 20,000 persons:
    # 225-243 such cells a round, never mended by hiding more). Each one is asked of the real reader (the
    # whole program, its blocks solved whole) before it gets a suppression; one found protected is
    # ``certified`` (more suppression only loosens a reader, so it stays protected in later rounds).
    up_exp = [int(u_cols[k]) for k in exposed_u if k < nu]
    ask = np.array(sorted(k for k in up_exp if int(cell_id[k]) not in certified), dtype=np.int64)
    real: list[int] = []
    if ask.size:
        mask = np.zeros(n, dtype=bool)
        mask[ask] = True
        real = [int(k) for k in _audit_program(a, rhs, value, need_hi, primary, target & mask, mask,
                                               cell_solves=n)[0]]
        certified.update(int(cell_id[k]) for k in set(ask.tolist()) - set(real))
    exposed += real
    # counts only: never a cell's area or value
    logging.getLogger(__name__).info(
        "secrecy audit split: lower part %d cells solved, %d exposed; upper part %d cells, %d groups, %d points "
        "each, %d exposed, %d asked of the whole program, %d exposed to it", int(solved_l.sum()), len(exposed_l),
        nu, groups.size, k_points, len(up_exp), int(ask.size), len(real))
    # blocks: an upper block's cells, with the cells of its groups (a pick may fall in either)
    label_u = label_u + offset
    block_cell.append(u_cols[solved_u[:nu]])
    block_label.append(label_u[:nu][solved_u[:nu]])
    ub = np.full(groups.size, -1)
    ub[g_index] = label_u[upos[sec_g]]
    members = g_cols[group[g_cols] >= 0]
    lab = ub[np.searchsorted(groups, group[members])]
    block_cell.append(members[lab >= 0])
    block_label.append(lab[lab >= 0])
    return exposed, np.concatenate(block_cell), np.concatenate(block_label), block_cell[0].size


def _settled(hi_seen, lo_seen, need_hi, primary):
    tol = 1e-7
    return (hi_seen >= need_hi - tol) | (~primary & (hi_seen - lo_seen >= 1.0 - tol))


def _solve(a, rhs, objective, cap):
    """min objective . x, a x = rhs, 0 <= x <= cap: the vertex ``linprog(method="highs")`` returns.

    HiGHS is driven as ``linprog`` drives it (``_highs_solve``), without its Python epilogue: ``linprog`` walks
    every column in Python for the bounds' multipliers, which the audit never reads (France at 100,000
    persons: about 7,000 solves of up to 5,000 unknowns, a quarter of the outputs stage's CPU)."""
    if _highs() is None:
        return _linprog_solve(a, rhs, objective, cap)
    return _highs_solve(a, rhs, objective, cap)


def _linprog_solve(a, rhs, objective, cap):
    import numpy as np
    from scipy.optimize import linprog

    res = linprog(objective, A_eq=a, b_eq=rhs, bounds=np.column_stack([np.zeros_like(cap), cap]), method="highs")
    if res.status != 0:  # the true values are feasible and every objective is bounded: a solver failure
        raise RuntimeError(f"secrecy audit: the solver failed ({res.message})")
    return res.x


_UNPROBED = object()
_HIGHS: object = _UNPROBED
"""scipy's HiGHS bindings once probed (``_highs``), None when they are missing or answer otherwise."""


def _highs():
    """scipy's HiGHS bindings (``scipy.optimize._highspy``, scipy >= 1.15), or None (``_solve`` then calls
    ``linprog``, the same solver). The module is private: it is used only if it solves a small program as
    ``linprog`` does (probed once, on first use); a scipy whose bindings changed falls back, whatever the probe
    raised, and a real program's failure is never caught."""
    global _HIGHS
    if _HIGHS is _UNPROBED:
        core = None
        try:
            import numpy as np
            from scipy.optimize._highspy import _core

            a = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]])
            rhs, cap = np.array([3.0, 5.0]), np.array([2.0, np.inf, 4.0])
            objective = np.array([-1.0, 1.0, -1.0])
            if np.array_equal(_highs_solve(a, rhs, objective, cap, _core), _linprog_solve(a, rhs, objective, cap)):
                core = _core
            else:
                logging.getLogger(__name__).warning(
                    "secrecy audit: scipy's HiGHS bindings answer otherwise than linprog; linprog is used")
        except Exception as e:  # a changed private module, whatever it raises, means "do not use it"
            logging.getLogger(__name__).warning("secrecy audit: scipy's HiGHS bindings unusable (%s); linprog is used",
                                                type(e).__name__)
        _HIGHS = core
    return _HIGHS


def _highs_solve(a, rhs, objective, cap, h=None):
    """``_solve`` through scipy's HiGHS bindings (``h``, the probed module by default): the model and options
    ``linprog(method="highs")`` passes (its defaults: presolve on, dual simplex strategy, no output), and its
    feasibility check of the answer."""
    return _Program(a, rhs, h).solve(objective, cap)


class _Program:
    """One program ``a x = rhs, x >= 0`` solved for several objectives and caps, kept in HiGHS between solves:
    each solve after the first changes only the costs and the upper bounds and starts from the last optimal
    basis (the pushing solves of a block differ by a few cells' costs and caps: half the time of a fresh
    solve). The first solve is ``linprog(method="highs")``'s (``_highs_solve``); without the bindings every
    solve is ``linprog``'s. Every answer is checked feasible, as ``linprog`` checks it: a point the reader's
    program admits, whichever vertex the solver stops at."""

    def __init__(self, a, rhs, h=None) -> None:
        import numpy as np

        self.a, self.rhs = a, np.asarray(rhs, dtype=np.float64)
        self.h = h if h is not None else _highs()
        self.highs = None

    def solve(self, objective, cap):
        import numpy as np

        if self.h is None:
            return _linprog_solve(self.a, self.rhs, objective, cap)
        h = self.h
        n = objective.size
        ub = np.where(np.isinf(cap), h.kHighsInf, cap).astype(np.float64)
        cost = np.asarray(objective, dtype=np.float64)
        if self.highs is not None:
            every = np.arange(n, dtype=np.int32)
            if (self.highs.changeColsCost(n, every, cost) != h.HighsStatus.kError
                    and self.highs.changeColsBounds(n, every, np.zeros(n), ub) != h.HighsStatus.kError):
                x = self._run(cap)
                if x is not None:
                    return x
            # a warm solve that fails (or whose answer fails the check) is solved again fresh, never trusted
        self.highs = self._model(cost, ub)
        x = self._run(cap)
        if x is None:
            status = self.highs.getModelStatus()
            raise RuntimeError(f"secrecy audit: the solver failed ({self.highs.modelStatusToString(status)}, or "
                               "its answer breaks the program's constraints)")
        return x

    def _run(self, cap):
        """Run the program as it stands: its answer, or None when the solver fails or the answer breaks the
        program's constraints (linprog's check, tolerance 1e-9: bounds held, every sum met)."""
        import numpy as np

        h = self.h
        if self.highs.run() == h.HighsStatus.kError or self.highs.getModelStatus() != h.HighsModelStatus.kOptimal:
            return None
        x = np.array(self.highs.getSolution().col_value)
        tol = 1e-9
        if (np.isnan(x).any() or not ((x >= -tol) & (x <= cap + tol)).all()
                or (np.abs(self.rhs - self.a @ x) > tol).any()):
            return None
        return x

    def _model(self, cost, ub):
        import numpy as np
        import scipy.sparse as sp

        h = self.h
        n, m = cost.size, self.rhs.size
        csc = sp.csc_array(self.a)
        lp = h.HighsLp()
        lp.num_col_, lp.num_row_ = n, m
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n, m
        lp.a_matrix_.format_ = h.MatrixFormat.kColwise
        lp.col_cost_ = cost
        lp.col_lower_ = np.zeros(n)
        lp.col_upper_ = ub
        lp.row_lower_ = self.rhs
        lp.row_upper_ = self.rhs
        lp.a_matrix_.start_ = csc.indptr
        lp.a_matrix_.index_ = csc.indices
        lp.a_matrix_.value_ = csc.data
        highs = h._Highs()
        options = h.HighsOptions()
        options.presolve = "on"
        options.highs_debug_level = h.HighsDebugLevel.kHighsDebugLevelNone
        options.log_to_console = False
        options.output_flag = False
        options.simplex_strategy = h.simplex_constants.SimplexStrategy.kSimplexStrategyDual
        if highs.passOptions(options) == h.HighsStatus.kError or highs.passModel(lp) == h.HighsStatus.kError:
            raise RuntimeError("secrecy audit: the solver failed (passing the program)")
        return highs


CHUNK_CELLS = 5_000
"""The pushing solves gather independent blocks into programs of about this many unknowns: one program per
block pays the solver's overhead thousands of times on a France-wide table, one program for all of them
(190,000 unknowns at 20,000 persons) costs more than its parts, the solver's time growing faster than its
size. A table of this many cells or fewer (Cahors) is one program, as before."""

PUSH_GAIN = 0.05
"""The pushing solves go on while one settles at least this share of the cells still unsettled (at least one):
past that, each further solve of a France-wide program (seconds) settles a handful, which the cells' own
solves or the ``CELL_SOLVES`` bound handle."""


def _among(labels, chosen):
    """``np.isin(labels, chosen)`` for block labels (small non-negative integers), by a lookup table: the
    pushing solves ask it of every cell once per chunk, which ``isin`` answered by sorting."""
    import numpy as np

    table = np.zeros(int(max(labels.max(initial=-1), chosen.max(initial=-1))) + 1, dtype=bool)
    table[chosen] = True
    return table[labels]


def _solve_chunks(a, rhs, objective, cap, cell_block, sum_block):
    """``_solve`` on a program of independent blocks (labels of its columns and rows), the blocks gathered into
    programs of about ``CHUNK_CELLS`` unknowns."""
    import numpy as np

    x = np.zeros(a.shape[1])
    live = np.unique(cell_block)
    size = np.bincount(cell_block)
    chunk = np.cumsum(size[live]) // CHUNK_CELLS
    for c in np.unique(chunk):
        part = live[chunk == c]
        cols = np.flatnonzero(_among(cell_block, part))
        rows = np.flatnonzero(_among(sum_block, part))
        x[cols] = _solve(a[rows][:, cols], rhs[rows], objective[cols], cap[cols])
    return x


def _push(a, rhs, value, need_hi, primary, target, hi_seen, lo_seen, at, cell_block, sum_block) -> None:
    """Maximise the sum of the unsettled cells, each capped at what it needs, while that settles enough
    (``PUSH_GAIN``); then once minimise the sum of the unsettled cells that need not reach the threshold (one
    unit down settles them as well as one up). The points found widen ``hi_seen``/``lo_seen`` (full-size
    arrays, this program's cells at ``at``). Blocks (``cell_block``, ``sum_block``: labels of the columns and
    rows) share no sum; they are gathered once into programs of about ``CHUNK_CELLS`` unknowns, each kept
    warm between its solves (``_Program``), and each solve holds only the programs with a cell still
    unsettled."""
    import numpy as np

    live = np.unique(cell_block)
    size = np.bincount(cell_block)
    chunk_of = np.full(size.size, -1)
    chunk_of[live] = np.cumsum(size[live]) // CHUNK_CELLS
    cell_chunk, sum_chunk = chunk_of[cell_block], chunk_of[sum_block]
    n_chunks = int(cell_chunk.max()) + 1 if cell_chunk.size else 0
    by_cell, by_sum = np.argsort(cell_chunk, kind="stable"), np.argsort(sum_chunk, kind="stable")
    cell_starts = np.searchsorted(cell_chunk[by_cell], np.arange(n_chunks + 1))
    sum_starts = np.searchsorted(sum_chunk[by_sum], np.arange(n_chunks + 1))
    programs: dict[int, tuple[np.ndarray, _Program]] = {}

    def unsettled():
        return target & ~_settled(hi_seen[at], lo_seen[at], need_hi, primary)

    def solve(pending, sign):
        objective = sign * pending.astype(float)
        cap = np.where(pending, need_hi, np.inf) if sign < 0 else np.full(pending.size, np.inf)
        for c in np.unique(cell_chunk[pending]):
            if c not in programs:
                cols = by_cell[cell_starts[c]:cell_starts[c + 1]]
                rows = by_sum[sum_starts[c]:sum_starts[c + 1]]
                programs[c] = (cols, _Program(a[rows][:, cols], rhs[rows]))
            cols, program = programs[c]
            x = program.solve(objective[cols], cap[cols])
            hi_seen[at[cols]] = np.maximum(hi_seen[at[cols]], x)
            lo_seen[at[cols]] = np.minimum(lo_seen[at[cols]], x)

    pending = unsettled()
    while pending.any():
        solve(pending, -1.0)
        left = unsettled()
        if pending.sum() - left.sum() < max(1.0, PUSH_GAIN * pending.sum()):
            break
        pending = left
    down = unsettled() & ~primary
    if down.any():
        solve(down, 1.0)


def _audit_block(a, rhs, value, need_hi, primary, target, hi_seen, lo_seen) -> list[int]:
    """Indices of the block's cells holding units that fail the criterion, each short cell solved on its own
    (upper bound, then lower bound for a secondary one); every point found also certifies the others."""
    import numpy as np

    hi_seen, lo_seen = hi_seen.copy(), lo_seen.copy()
    todo = target
    free = np.full(value.shape, np.inf)
    program = _Program(a, rhs)  # one block, many objectives: each solve starts from the last one's basis

    def see(x: np.ndarray) -> None:
        np.maximum(hi_seen, x, out=hi_seen)
        np.minimum(lo_seen, x, out=lo_seen)

    for k in np.flatnonzero(todo & ~_settled(hi_seen, lo_seen, need_hi, primary)):
        if _settled(hi_seen[k], lo_seen[k], need_hi[k], primary[k]):
            continue
        obj = np.zeros(value.shape)
        obj[k] = -1.0
        cap = free.copy()
        cap[k] = need_hi[k]
        see(program.solve(obj, cap))
        if not _settled(hi_seen[k], lo_seen[k], need_hi[k], primary[k]) and not primary[k]:
            obj[k] = 1.0
            see(program.solve(obj, free))
    return np.flatnonzero(todo & ~_settled(hi_seen, lo_seen, need_hi, primary)).tolist()
