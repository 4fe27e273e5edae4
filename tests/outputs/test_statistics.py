"""Statistics: measures per cell, and secrecy that resists an attacker differencing the published sums."""

from __future__ import annotations

import datetime as dt
import itertools
import re

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nonrecours.outputs.statistics import (
    ALL_TYPES,
    LEVELS,
    SUB_COUNTS,
    StatisticsConfig,
    build_statistics,
    cell_counts,
    territory_table,
    unit_profiles,
)

from .conftest import as_units

TYPES = ("personne seule", "couple sans enfant", "famille monoparentale", "couple avec enfants")
STATUS_CYCLE = [("non_take_up", "certain"), ("consistent", "probable"), ("non_take_up", "possible"),
                ("not_entitled", None), ("under_payment", "probable"), ("paid_not_entitled", None),
                ("non_take_up", "probable")]
# the measures an attacker differences along the published sums (the central amount foregone is the weighted
# amount capped at the high one: additive wherever the cap does not bite, attacked as if it were everywhere)
ADDITIVE = ("units", "excluded", "entitled_certain", "entitled_probable", "entitled_possible", "paid",
            "paid_confirmed", "paid_entitled", "non_take_up_low", "non_take_up_central", "non_take_up_high",
            "under_payment",
            "monthly_foregone_low", "monthly_foregone_central", "monthly_foregone_high")


def make_units(counts: pl.DataFrame, benefit: str = "rsa") -> tuple[pl.DataFrame, pl.DataFrame]:
    """Units (UNITS_SCHEMA) and profiles from counts per (depcom, household_type): statuses cycle."""
    rows = (counts.filter(pl.col("n") > 0).with_columns(pl.int_ranges(0, "n").alias("i")).explode("i")
            .with_columns(pl.format("{}|{}|{}", "depcom", "household_type", "i").alias("unit_id"),
                          (pl.int_range(pl.len()) % len(STATUS_CYCLE)).alias("k")))
    cycle = pl.DataFrame({"k": range(len(STATUS_CYCLE)), "status": [s for s, _ in STATUS_CYCLE],
                          "grade": [g for _, g in STATUS_CYCLE]}, schema_overrides={"k": pl.Int64})
    rows = rows.join(cycle, on="k")
    paid = pl.when(pl.col("status").is_in(["consistent", "paid_not_entitled"])).then(500.0) \
        .when(pl.col("status") == "under_payment").then(200.0).otherwise(0.0)
    units = as_units(rows.select(
        pl.lit(dt.date(2026, 6, 1)).alias("month"), pl.lit("famille").alias("unit_kind"), "unit_id",
        pl.lit(benefit).alias("benefit"), "status", "grade",
        (400.0 + pl.col("i")).alias("amount_low"), (500.0 + pl.col("i")).alias("amount_central"),
        (650.0 + pl.col("i")).alias("amount_high"), paid.alias("paid"), (paid > 0).alias("receiving"),
        pl.when(pl.col("i") % 9 == 4).then(pl.lit("pending_claim")).alias("excluded")))
    profiles = rows.select(pl.lit("famille").alias("unit_kind"), "unit_id", "depcom", "household_type")
    return units, profiles


@pytest.fixture
def cahors_counts() -> pl.DataFrame:
    communes = territory_table("cahors").get_column("depcom").to_list()[:10]
    sizes = [40, 3, 15, 0, 12, 7, 60, 25, 2, 11]
    return pl.DataFrame([(c, t, (s * (j + 1)) % 23 + (s > 30) * 20) for c, s in zip(communes, sizes, strict=True)
                         for j, t in enumerate(TYPES)], schema=["depcom", "household_type", "n"], orient="row")


def test_measures_of_a_cell(cahors_counts):
    units, profiles = make_units(cahors_counts)
    table = build_statistics(units, profiles, territory_table("cahors"))
    total = table.filter((pl.col("level") == "total") & (pl.col("household_type") == ALL_TYPES)).row(0, named=True)
    assert total["units"] == units.height and not total["secret"]
    st_ = units.get_column("status")
    ntu = units.filter(st_ == "non_take_up")
    assert total["non_take_up_high"] == ntu.height
    assert total["non_take_up_low"] == ntu.filter(pl.col("grade") == "certain").height
    assert total["paid"] == units.filter(pl.col("receiving")).height
    assert total["paid_confirmed"] == units.filter(pl.col("receiving")
                                                   & pl.col("grade").is_in(["certain", "probable"])).height
    # the central: certain+probable flags weighted by the inverse chance of their coverage's (here every unit's
    # id has none: one coverage, chance = confirmed paid / paid), capped at every flag, against every paid unit
    chance = total["paid_confirmed"] / total["paid"]
    central = min(total["non_take_up_central"] / chance, total["non_take_up_high"])
    assert total["non_take_up_estimated"] == pytest.approx(central, abs=0.05)
    assert total["non_take_up_rate_central"] == pytest.approx(central / (central + total["paid"]), abs=1e-4)
    assert total["non_take_up_rate_low"] == pytest.approx(
        total["non_take_up_low"] / (total["non_take_up_low"] + total["paid"]), abs=1e-4)
    assert total["non_take_up_rate_high"] == pytest.approx(
        total["non_take_up_high"] / (total["non_take_up_high"] + total["paid_confirmed"]), abs=1e-4)
    assert total["non_take_up_rate_low"] <= total["non_take_up_rate_central"] <= total["non_take_up_rate_high"]
    # every published cell, whatever its few units: ordered bounds, the central count between its flags' counts
    shown = table.filter(~pl.col("secret") & pl.col("non_take_up_rate_central").is_not_null())
    assert shown.height > 1
    assert shown.filter((pl.col("non_take_up_rate_low") > pl.col("non_take_up_rate_central") + 1e-9)
                        | (pl.col("non_take_up_rate_central") > pl.col("non_take_up_rate_high") + 1e-9)).height == 0
    assert shown.filter((pl.col("non_take_up_estimated") < pl.col("non_take_up_central") - 0.05)
                        | (pl.col("non_take_up_estimated") > pl.col("non_take_up_high") + 0.05)).height == 0
    paid = units.filter(pl.col("receiving"))
    assert total["coherence_rate"] == pytest.approx(paid.filter(pl.col("grade").is_not_null()).height / paid.height,
                                                    abs=1e-4)
    gap = units.filter(pl.col("status").is_in(["non_take_up", "under_payment"]) & pl.col("grade").is_not_null())
    expected = (gap.get_column("amount_high") - gap.get_column("paid")).sum()
    assert total["monthly_foregone_high"] == pytest.approx(expected)
    assert total["yearly_foregone_high"] == pytest.approx(12 * expected)
    sure = gap.filter(pl.col("grade").is_in(["certain", "probable"]))
    # the central amount: the certain and probable flags' gap at the central amount, each weighted as the central
    # count (one coverage here: 1 / chance), rounded to the cent per unit, capped at the high amount
    weight = round(1_000_000 / chance)
    cents = ((sure.get_column("amount_central") - sure.get_column("paid")) * 100).round(0).cast(pl.Int64)
    weighted = int(((cents * weight + 500_000) // 1_000_000).sum()) / 100
    assert weighted > (sure.get_column("amount_central") - sure.get_column("paid")).sum()  # the weights bite here
    assert total["monthly_foregone_central"] == pytest.approx(min(weighted, expected), abs=0.005)
    assert total["yearly_foregone_central"] == pytest.approx(12 * total["monthly_foregone_central"], abs=0.06)
    certain = gap.filter(pl.col("grade") == "certain")
    assert total["monthly_foregone_low"] == pytest.approx((certain.get_column("amount_low")
                                                           - certain.get_column("paid")).clip(lower_bound=0).sum())
    assert shown.filter((pl.col("monthly_foregone_low") > pl.col("monthly_foregone_central") + 0.005)
                        | (pl.col("monthly_foregone_central") > pl.col("monthly_foregone_high") + 0.005)).height == 0
    assert total["excluded"] == units.get_column("excluded").is_not_null().sum()
    assert set(table.get_column("level").unique()) == set(LEVELS)
    # Secrecy: no published cell has fewer than 11 units, and secret cells publish nothing.
    assert table.filter(~pl.col("secret")).get_column("units").min() >= 11
    assert table.filter(pl.col("secret")).select(pl.col("units").is_null().all()).item()
    assert table.filter(pl.col("secret")).height > 0


def test_the_table_does_not_depend_on_the_units_order(cahors_counts):
    """Every measure, the weighted amount foregone included, is a sum of integers per unit: the units in
    another order (and scanned lazily, as the stage reads them) give the same table, value for value."""
    units, profiles = make_units(cahors_counts)
    terr = territory_table("cahors")
    reference = build_statistics(units, profiles, terr)
    for seed in (1, 2):
        shuffled = units.sample(fraction=1.0, shuffle=True, seed=seed)
        assert build_statistics(shuffled.lazy(), profiles, terr).equals(reference), seed


def _relations(table: pl.DataFrame) -> list[tuple[int, list[int]]]:
    """The sums an attacker reads off the published table's structure: (total cell, component cells)."""
    t = table.with_row_index("cell")
    rels: list[tuple[int, list[int]]] = []
    for _, g in t.group_by("benefit", "level", "area"):
        total = g.filter(pl.col("household_type") == ALL_TYPES).get_column("cell").to_list()
        rels.append((total[0], g.filter(pl.col("household_type") != ALL_TYPES).get_column("cell").to_list()))
    for upper, lower in itertools.pairwise(LEVELS):
        parents = t.filter(pl.col("level") == upper)
        kids = t.filter(pl.col("level") == lower)
        pairs = parents.join(kids, left_on=["benefit", "area", "household_type"],
                             right_on=["benefit", "parent_area", "household_type"], suffix="_kid")
        for (parent,), g in pairs.group_by("cell"):
            rels.append((parent, g.get_column("cell_kid").to_list()))
    return rels


def difference_attack(table: pl.DataFrame, measure: str) -> set[int]:
    """The secret cells holding units whose ``measure`` single-cell differences along every sum recover, iterated
    until no progress. A cell the attack shows empty (its units recovered at 0) discloses no one: an empty secret
    cell may be shown empty (as to the solver of ``assert_lp_cannot_pin``), and protecting it alone hid, for the
    whole file, the household types of thousands of units (``test_a_lone_empty_secret_cell_hides_no_large_cell``)."""
    shown_empty = {c for c, v in _recover(table, "units").items() if v == 0}
    # a measure recovered at 0 (no flag in a secret cell) tells of nobody either: a published 0 tells as much of
    # the secret cells of its sum (docs/outputs.md, known limit), and a count's own pattern publishes its zeros
    return {c for c, v in _recover(table, measure).items() if v != 0} - shown_empty


def _recover(table: pl.DataFrame, measure: str) -> dict[int, float]:
    """Secret cell → the value of ``measure`` single-cell differences along every sum recover."""
    values = dict(enumerate(table.get_column(measure).to_list()))
    secret = set(hidden_cells(table, measure))
    # a published null (a paid count where no extract reports payments: unknown, not 0) is unknown to the attacker
    known = {i: v for i, v in values.items() if i not in secret and v is not None}
    rels = _relations(table)
    recovered: set[int] = set()
    progress = True
    while progress:
        progress = False
        for total, parts in rels:
            cells = [total, *parts]
            unknown = [c for c in cells if c not in known]
            if len(unknown) != 1:
                continue
            (c,) = unknown
            known[c] = (sum(known[p] for p in parts if p != c) if c == total
                        else known[total] - sum(known[p] for p in parts if p != c))
            recovered.add(c)
            progress = True
    return {c: known[c] for c in recovered}


def hidden_cells(table: pl.DataFrame, measure: str) -> list[int]:
    """The cells whose ``measure`` a reader does not see: the secret cells, and the published ones whose measure is
    secret on its own (a count of 1 to 10 units, or what would give one back: ``secret_measures``)."""
    told = (table.get_column("secret_measures").to_list() if "secret_measures" in table.columns
            else [[]] * table.height)
    return [i for i, (s, t) in enumerate(zip(table.get_column("secret").to_list(), told, strict=True))
            if s or measure in t]


def lp_attack(table: pl.DataFrame, measure: str = "units") -> dict[int, tuple[float, float]]:
    """Tightest bounds of each secret count of ``measure`` under every published sum and counts >= 0."""
    import numpy as np
    from scipy.optimize import linprog

    values = table.get_column(measure).to_list()
    secret = hidden_cells(table, measure)
    index = {c: j for j, c in enumerate(secret)}
    rows, rhs = [], []
    for total, parts in _relations(table):
        coef = np.zeros(len(secret))
        residual = 0.0
        for c, sign in [(total, 1.0), *((p, -1.0) for p in parts)]:
            if c in index:
                coef[index[c]] += sign
            else:
                residual -= sign * values[c]
        if coef.any():
            rows.append(coef)
            rhs.append(residual)
    bounds: dict[int, tuple[float, float]] = {}
    if not rows:  # nothing published ties the secret cells: nothing to bound
        return {c: (0.0, float("inf")) for c in secret}
    a_eq, b_eq = np.array(rows), np.array(rhs)
    for c, j in index.items():
        obj = np.zeros(len(secret))
        obj[j] = 1.0
        lo = linprog(obj, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        hi = linprog(-obj, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        # The true values are a solution; status 3: unbounded above.
        assert lo.status == 0 and hi.status in (0, 3), (lo.message, hi.message)
        bounds[c] = (lo.fun, -hi.fun if hi.status == 0 else float("inf"))
    return bounds


KEYS = ["benefit", "level", "area", "household_type"]


def true_units(table: pl.DataFrame, units: pl.DataFrame, profiles: pl.DataFrame, terr: pl.DataFrame) -> list[int]:
    """The unit count behind every cell of ``table`` (what the attacker is after)."""
    full = cell_counts(units, profiles, terr)
    return (table.select(KEYS).join(full.select(*KEYS, "units"), on=KEYS, how="left",
                                    maintain_order="left").get_column("units").to_list())


def assert_lp_cannot_pin(table: pl.DataFrame, truth: list[int], threshold: int | None = None) -> None:
    """No secret cell holding units is pinned to one value. An empty secret cell may be shown empty: that
    says nothing about anyone (and publishing empty cells would instead tell that secret ones hold >= 1).
    With ``threshold``, the audit's criterion too: a cell under it may, for the solver, hold the threshold."""
    for cell, (lo, hi) in lp_attack(table).items():
        assert lo - 1e-6 <= truth[cell] <= hi + 1e-6
        if truth[cell] > 0:
            assert hi - lo >= 1 - 1e-6, f"cell {cell} ({truth[cell]} units) pinned to [{lo}, {hi}]"
        if threshold is not None and 0 < truth[cell] < threshold:
            assert hi >= threshold - 1e-6, f"cell {cell} ({truth[cell]} units) shown under {threshold}: {hi}"


def assert_count_not_pinned(table: pl.DataFrame, truth: pl.DataFrame, count: str, threshold: int = 11) -> None:
    """``assert_lp_cannot_pin`` for one count of the cells (``truth``: the cells' true counts, in ``table``'s
    order): no hidden cell holding some is pinned, none under ``threshold`` is shown under it."""
    real = truth.get_column(count).to_list()
    for cell, (lo, hi) in lp_attack(table, count).items():
        assert lo - 1e-6 <= real[cell] <= hi + 1e-6, (count, cell)
        if real[cell] > 0:
            assert hi - lo >= 1 - 1e-6, f"{count} of cell {cell} ({real[cell]}) pinned to [{lo}, {hi}]"
        if 0 < real[cell] < threshold:
            assert hi >= threshold - 1e-6, f"{count} of cell {cell} ({real[cell]}) shown under {threshold}: {hi}"


def test_suppression_resists_differencing_and_linear_programming(cahors_counts):
    units, profiles = make_units(cahors_counts)
    terr = territory_table("cahors")
    table = build_statistics(units, profiles, terr)
    for measure in ADDITIVE:
        assert difference_attack(table, measure) == set(), measure
    assert_lp_cannot_pin(table, true_units(table, units, profiles, terr), threshold=11)


def test_no_published_figure_tells_of_fewer_households_than_the_threshold(cahors_counts):
    """A published cell of 17 familles showed « 1 non-take-up », nobody paid, and that household's yearly RSA
    (found probing the demo's outputs from the docs alone, 5 December 2026). Every count of units a published cell
    shows is 0 or at least the threshold, every amount foregone sums at least that many households' money, and
    neither differencing the published sums nor a linear-programming solver gives a hidden one back."""
    units, profiles = make_units(cahors_counts)
    terr = territory_table("cahors")
    table = build_statistics(units, profiles, terr)
    truth = table.select(KEYS).join(cell_counts(units, profiles, terr), on=KEYS, how="left", maintain_order="left")
    shown = table.with_columns(truth.select(pl.col("^owed_.*$"))).filter(~pl.col("secret"))
    for count in SUB_COUNTS:
        if count.startswith("owed_"):
            continue
        values = shown.get_column(count)
        assert values.filter((values > 0) & (values < 11)).len() == 0, count
        # the rule bites on this table: some published cells hide the count, and say so
        hidden = shown.filter(pl.col("secret_measures").list.contains(count))
        assert hidden.height > 0 and hidden.get_column(count).null_count() == hidden.height, count
    for estimate in ("low", "central", "high"):
        amount = shown.filter(pl.col(f"monthly_foregone_{estimate}").is_not_null()).get_column(f"owed_{estimate}")
        assert amount.filter(amount < 11).len() == 0, estimate
    # differencing every measure: test_suppression_resists_differencing_and_linear_programming (same table);
    # the solver on three of the counts (two programs a hidden cell: every count took a minute)
    for count in ("non_take_up_low", "paid", "under_payment"):
        assert_count_not_pinned(table, truth, count)


def test_attacker_recovers_cells_without_secondary_suppression(cahors_counts):
    """The attack is real: with primary suppression only, it recovers secret cells."""
    units, profiles = make_units(cahors_counts)
    table = build_statistics(units, profiles, territory_table("cahors"), config=StatisticsConfig(threshold=11))
    full = cell_counts(units, profiles, territory_table("cahors"))
    primary_only = full.with_columns((pl.col("units") < 11).alias("secret"))
    assert difference_attack(primary_only, "units")
    assert table.get_column("secret").sum() > primary_only.get_column("secret").sum()


@st.composite
def hierarchies(draw):
    """Random départements ⊃ EPCIs ⊃ communes with small, often tiny, cell counts."""
    rows, terr = [], []
    for d in range(draw(st.integers(1, 2))):
        for e in range(draw(st.integers(1, 3))):
            for c in range(draw(st.integers(1, 3))):
                depcom = f"{10 + d}{e}{c:02d}"
                terr.append((depcom, f"EPCI {d}-{e}", str(10 + d)))
                for t in draw(st.lists(st.sampled_from(TYPES), min_size=1, max_size=4, unique=True)):
                    rows.append((depcom, t, draw(st.one_of(st.integers(1, 12), st.integers(0, 40)))))
    return (pl.DataFrame(rows, schema=["depcom", "household_type", "n"], orient="row"),
            pl.DataFrame(terr, schema=["depcom", "epci", "departement"], orient="row"))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hierarchies(), st.integers(3, 15))
def test_no_secret_cell_recovered_on_random_hierarchies(data, threshold):
    counts, terr = data
    units, profiles = make_units(counts)
    if units.height == 0:
        return
    table = build_statistics(units, profiles, terr, config=StatisticsConfig(threshold=threshold))
    published = table.filter(~pl.col("secret"))
    assert published.height == 0 or published.get_column("units").min() >= threshold
    for measure in ("units", "non_take_up_high", "monthly_foregone_central"):
        assert difference_attack(table, measure) == set()
    assert_lp_cannot_pin(table, true_units(table, units, profiles, terr), threshold)


# The example the pattern heuristic alone left exposed (hypothesis seed 184831919483170405848776961714861982624):
# at threshold 5, the RSA cell « département 10, couple sans enfant » (72 units) lies in three published sums
# (the département's household types, the type over the whole extract, the type over the département's EPCIs);
# together, with the empty secret cells at their bound 0, they pin it.
PINNED_COUNTS = [
    ("10000", "couple avec enfants", 11), ("10000", "couple sans enfant", 31), ("10000", "personne seule", 12),
    ("10000", "famille monoparentale", 1), ("10001", "couple avec enfants", 8), ("10001", "famille monoparentale", 12),
    ("10100", "famille monoparentale", 8), ("10100", "couple avec enfants", 15), ("10100", "couple sans enfant", 21),
    ("10100", "personne seule", 23), ("10200", "famille monoparentale", 12), ("10200", "couple sans enfant", 12),
    ("10200", "couple avec enfants", 38), ("10200", "personne seule", 10), ("10201", "couple avec enfants", 5),
    ("10201", "personne seule", 10), ("10201", "couple sans enfant", 8), ("10202", "famille monoparentale", 39),
    ("11000", "personne seule", 6), ("11100", "personne seule", 7), ("11100", "couple sans enfant", 21),
    ("11100", "famille monoparentale", 9), ("11101", "personne seule", 16), ("11101", "couple avec enfants", 20),
    ("11101", "famille monoparentale", 22), ("11101", "couple sans enfant", 39)]
PINNED_TERRITORY = [("10000", "EPCI 0-0", "10"), ("10001", "EPCI 0-0", "10"), ("10100", "EPCI 0-1", "10"),
                    ("10200", "EPCI 0-2", "10"), ("10201", "EPCI 0-2", "10"), ("10202", "EPCI 0-2", "10"),
                    ("11000", "EPCI 1-0", "11"), ("11100", "EPCI 1-1", "11"), ("11101", "EPCI 1-1", "11")]


def test_audit_protects_the_cell_three_published_sums_pinned():
    from nonrecours.outputs.statistics import _publish, suppress

    counts = pl.DataFrame(PINNED_COUNTS, schema=["depcom", "household_type", "n"], orient="row")
    terr = pl.DataFrame(PINNED_TERRITORY, schema=["depcom", "epci", "departement"], orient="row")
    units, profiles = make_units(counts)
    cells = cell_counts(units, profiles, terr)
    cell = (pl.col("level") == "departement") & (pl.col("area") == "10") & (pl.col("household_type")
                                                                            == "couple sans enfant")
    # the heuristic alone (as it was when the case was found: it protected lone empty cells too, and hid this
    # one): the cell is secret, yet a solver pins it to its 72 units
    heuristic = _publish(_suppress_every_sum(cells, 5, lone_empty=True))
    assert heuristic.select(KEYS).equals(_publish(suppress(cells, threshold=5, audit=False)).select(KEYS))
    (k,) = heuristic.with_row_index("k").filter(cell).get_column("k").to_list()
    assert heuristic.row(k, named=True)["secret"]
    assert lp_attack(heuristic)[k] == (pytest.approx(72.0), pytest.approx(72.0))
    # with the audit: nothing holding units is pinned, and every primary cell may hold the threshold
    table = build_statistics(units, profiles, terr, config=StatisticsConfig(threshold=5))
    truth = true_units(table, units, profiles, terr)
    assert_lp_cannot_pin(table, truth, threshold=5)


def test_an_audit_beyond_its_cell_solves_hides_more_never_less(monkeypatch):
    """Past ``CELL_SOLVES`` short cells, the audit takes every cell its pushing solves leave short as exposed
    (bounded time on a France-wide table): the pattern hides every cell the exact audit hides, and the attack
    still pins nothing."""
    from nonrecours.outputs import statistics

    counts = pl.DataFrame(PINNED_COUNTS, schema=["depcom", "household_type", "n"], orient="row")
    terr = pl.DataFrame(PINNED_TERRITORY, schema=["depcom", "epci", "departement"], orient="row")
    units, profiles = make_units(counts)
    cells = cell_counts(units, profiles, terr)
    exact = statistics.suppress(cells, threshold=5)
    monkeypatch.setattr(statistics, "CELL_SOLVES", 0)
    bounded = statistics.suppress(cells, threshold=5)
    hidden = pl.col("suppressed").is_not_null()
    assert bounded.filter(hidden).height >= exact.filter(hidden).height
    assert exact.with_row_index("k").filter(hidden).join(
        bounded.with_row_index("k").filter(hidden), on="k", how="anti").is_empty()
    table = build_statistics(units, profiles, terr, config=StatisticsConfig(threshold=5))
    assert_lp_cannot_pin(table, true_units(table, units, profiles, terr), threshold=5)


def _suppress_every_sum(cells: pl.DataFrame, threshold: int, *, lone_empty: bool = False) -> pl.DataFrame:
    """The secondary suppression as first written: every published sum joined at each round, those whose cells
    are all secret from the start included (``suppress`` leaves them out). ``lone_empty``: a lone empty secret
    cell exposes its sum too, the heuristic's rule until 5 December 2026 (the patterns the audit's regression
    cases were found on)."""
    from nonrecours.outputs.statistics import _relations

    cells = cells.with_columns(pl.int_range(pl.len()).alias("_cell"))
    rel = _relations(cells, LEVELS)
    status = cells.select("_cell", pl.col("units").alias("_v"),
                          pl.when(pl.col("units") < threshold).then(pl.lit("primary")).alias("suppressed"))
    while True:
        joined = rel.join(status, on="_cell")
        hidden = pl.col("suppressed").is_not_null()
        lone = (pl.col("_n") == 1) if lone_empty else pl.lit(False)
        exposed = (joined.group_by("rel")
                   .agg(hidden.sum().alias("_n"), (hidden & (pl.col("_v") > 0)).sum().alias("_nz"),
                        hidden.not_().sum().alias("_open"))
                   .filter((lone | (pl.col("_nz") == 1)) & (pl.col("_open") > 0)).select("rel"))
        if exposed.height == 0:
            break
        picks = (joined.join(exposed, on="rel").filter(pl.col("suppressed").is_null())
                 .sort("rel", "is_total", "_v", "_cell").group_by("rel").agg(pl.col("_cell").first())
                 .select("_cell").unique())
        status = status.with_columns(
            pl.when(pl.col("_cell").is_in(picks.get_column("_cell").implode()) & pl.col("suppressed").is_null())
            .then(pl.lit("secondary")).otherwise(pl.col("suppressed")).alias("suppressed"))
    return cells.join(status.select("_cell", "suppressed"), on="_cell").drop("_cell")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hierarchies(), st.integers(3, 15))
def test_sums_secret_from_the_start_left_out_change_no_cell(data, threshold):
    """``suppress``'s pattern heuristic skips the sums whose cells are all secret before it starts (most of them
    for an extract spanning France): the same cells come out secret as when every sum is examined at each
    round. The audit after it only adds secret cells (it never publishes one the heuristic hid)."""
    from nonrecours.outputs.statistics import suppress

    counts, terr = data
    units, profiles = make_units(counts)
    if units.height == 0:
        return
    cells = cell_counts(units, profiles, terr)
    reference = _suppress_every_sum(cells, threshold)
    assert suppress(cells, threshold=threshold, audit=False).equals(reference)
    audited = suppress(cells, threshold=threshold)
    assert audited.select(KEYS).equals(reference.select(KEYS))
    was, now = reference.get_column("suppressed"), audited.get_column("suppressed")
    assert not (was.is_not_null() & now.is_null()).any()
    assert (now.is_not_null() & was.is_null()).sum() == (now == "secondary").sum() - (was == "secondary").sum()


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hierarchies(), st.integers(3, 15))
def test_a_count_s_pattern_leaves_out_the_secret_cells_without_it_changing_nothing(data, threshold):
    """A count's own pattern is computed without the cells the units' pattern hides that hold no unit
    (``_sub_count_patterns``: millions of empty communes for an extract spanning France): the same cells come out
    hidden as with every cell in (those holding units but none of the count are unknowns either way)."""
    from nonrecours.outputs.statistics import suppress

    counts, terr = data
    units, profiles = make_units(counts)
    if units.height == 0:
        return
    cells = suppress(cell_counts(units, profiles, terr), threshold=threshold).with_columns(
        pl.col("suppressed").is_not_null().alias("_secret")).with_columns(
        (pl.col("_secret") & (pl.col("units") > 0)).alias("_unknown"))
    for count in ("non_take_up_high", "paid", "under_payment"):
        whole = suppress(cells.select(*KEYS, "parent_area", count, "_secret", "_unknown"), threshold=threshold,
                         value=count, hidden="_secret", unknown="_unknown")
        kept = (~pl.col("_secret") | (pl.col(count) > 0) | (pl.col("units") > 0)).alias("_kept")
        part = suppress(cells.filter(kept).select(*KEYS, "parent_area", count, "_secret", "_unknown"),
                        threshold=threshold, value=count, hidden="_secret", unknown="_unknown")
        whole = whole.with_columns(cells.select(kept))
        assert whole.filter("_kept").get_column("suppressed").equals(part.get_column("suppressed")), count
        assert whole.filter(~pl.col("_kept")).get_column("suppressed").is_not_null().all()  # secret either way


def test_unit_profiles_from_canonical_tables():
    m = dt.date(2026, 6, 1)
    memberships = pl.DataFrame([
        ("a", "famille", "f1", "demandeur"), ("b", "famille", "f1", "conjoint"), ("c", "famille", "f1", "enfant"),
        ("d", "famille", "f2", "demandeur"), ("e", "famille", "f2", "enfant"),
        ("g", "famille", "f3", "demandeur"),
    ], schema=["person_id", "unit_kind", "unit_id", "role"], orient="row").with_columns(
        pl.lit(dt.date(2020, 1, 1)).alias("valid_from"), pl.lit(None, dtype=pl.Date).alias("valid_to"))
    persons = pl.DataFrame({"person_id": ["a", "b", "c", "d", "e", "g"],
                            "depcom": ["46042", "46042", "46042", "46102", "46102", "46007"]})
    prof = unit_profiles(memberships, persons, m).sort("unit_kind", "unit_id")
    famille = dict(zip(prof.filter(pl.col("unit_kind") == "famille").get_column("unit_id"),
                       prof.filter(pl.col("unit_kind") == "famille").get_column("household_type"), strict=True))
    assert famille == {"f1": "couple avec enfants", "f2": "famille monoparentale", "f3": "personne seule"}
    ind = prof.filter((pl.col("unit_kind") == "individu") & (pl.col("unit_id") == "d")).row(0, named=True)
    assert ind["household_type"] == "famille monoparentale" and ind["depcom"] == "46102"


def test_a_free_css_received_counts_as_paid_though_its_amount_is_zero(cahors_counts):
    """The free CSS is a coverage: its paid amount is 0, detection says it is received (``receiving``)."""
    units, profiles = make_units(cahors_counts, benefit="css_free")
    units = units.with_columns(pl.when(pl.col("receiving")).then(0.0).otherwise(pl.col("paid")).alias("paid"))
    table = build_statistics(units, profiles, territory_table("cahors"))
    total = table.filter((pl.col("level") == "total") & (pl.col("household_type") == ALL_TYPES)).row(0, named=True)
    received = units.filter(pl.col("receiving")).height
    assert received > 0 and total["paid"] == received
    assert total["non_take_up_rate_central"] < 1.0


def test_payments_no_extract_reports_give_no_paid_count_nor_rate(cahors_counts):
    """The chèque énergie's payments come from no extract: its cells published paid 0 and a high rate of 100 %
    (every flag over no unit paid). Unknown is not zero: its paid counts, rates and coherence are null; its flags'
    counts stay; another benefit's cells are as they were."""
    rsa, profiles = make_units(cahors_counts)
    chq = rsa.with_columns(pl.lit("cheque_energie").alias("benefit"), pl.lit(False).alias("receiving"),
                           pl.lit(0.0).alias("paid"))
    both = pl.concat([rsa, chq])
    plain = build_statistics(both, profiles, territory_table("cahors"))
    table = build_statistics(both, profiles, territory_table("cahors"), payments_unknown=("cheque_energie",))
    assert table.filter(pl.col("benefit") == "rsa").equals(plain.filter(pl.col("benefit") == "rsa"))
    shown = table.filter((pl.col("benefit") == "cheque_energie") & ~pl.col("secret"))
    before = plain.filter((pl.col("benefit") == "cheque_energie") & ~pl.col("secret"))
    assert shown.height and (before.get_column("non_take_up_rate_high") == 1.0).any()
    for c in ("paid", "paid_confirmed", "non_take_up_rate_low", "non_take_up_rate_central", "non_take_up_rate_high",
              "coherence_rate", "non_take_up_estimated", "monthly_foregone_central", "yearly_foregone_central"):
        assert shown.get_column(c).null_count() == shown.height, c
    for c in ("non_take_up_high", "non_take_up_low", "monthly_foregone_high", "monthly_foregone_low"):
        assert shown.get_column(c).equals(before.get_column(c)), c


def test_payments_detection_left_unknown_are_unknown_without_saying_so(cahors_counts):
    """Detection writes ``paid`` null on every unit of a benefit no extract reports the payments of: called on such
    units without ``payments_unknown`` (the data team's notebook), the table is the run's, which passes it (the
    notebook published the chèque énergie's paid 0 and 100 % again)."""
    rsa, profiles = make_units(cahors_counts)
    chq = rsa.with_columns(pl.lit("cheque_energie").alias("benefit"), pl.lit(False).alias("receiving"),
                           pl.lit(None, dtype=pl.Float64).alias("paid"))
    both = pl.concat([rsa, chq])
    said = build_statistics(both, profiles, territory_table("cahors"), payments_unknown=("cheque_energie",))
    inferred = build_statistics(both.lazy(), profiles, territory_table("cahors"))
    assert inferred.equals(said)
    shown = inferred.filter((pl.col("benefit") == "cheque_energie") & ~pl.col("secret"))
    assert shown.height and shown.get_column("non_take_up_rate_high").null_count() == shown.height
    assert inferred.filter(pl.col("benefit") == "rsa").get_column("paid").null_count() < \
        inferred.filter(pl.col("benefit") == "rsa").height
    # said explicitly, an empty list is the caller's: nothing inferred (the rates divide by a paid count again)
    plain = build_statistics(both, profiles, territory_table("cahors"), payments_unknown=()).filter(
        (pl.col("benefit") == "cheque_energie") & ~pl.col("secret"))
    assert plain.get_column("non_take_up_rate_high").null_count() < plain.height


def test_a_lone_empty_secret_cell_hides_no_large_cell():
    """An area whose units are all of one household type: its other types are empty, secret, and its row tells they
    hold 0. Protecting them hid, for the whole file, the types of the thousands living elsewhere (the demo's
    « département inconnu »: three household types of four secret for every benefit at the top two levels); here
    eleven single people in Paris beside a Cahors territory."""
    counts = pl.DataFrame([("46042", "couple avec enfants", 40), ("46042", "couple sans enfant", 35),
                           ("46042", "personne seule", 60), ("46042", "famille monoparentale", 25),
                           ("75056", "personne seule", 11)], schema=["depcom", "household_type", "n"], orient="row")
    units, profiles = make_units(counts)
    table = build_statistics(units, profiles, territory_table("cahors"))
    top = table.filter(pl.col("level").is_in(["total", "departement"]) & (pl.col("area") != "75"))
    assert top.height == 10 and not top.get_column("secret").any()
    paris = {r["household_type"]: r["secret"] for r in
             table.filter((pl.col("level") == "departement") & (pl.col("area") == "75")).iter_rows(named=True)}
    assert not paris["personne seule"] and paris["couple avec enfants"]  # 11 published, the empty types secret
    for measure in ("units", "non_take_up_high"):
        assert difference_attack(table, measure) == set(), measure


def test_units_of_unknown_commune_sit_in_an_unknown_departement(cahors_counts):
    """A unit no agency placed in a commune is counted, in the unknown commune of an unknown département (not
    in a "département in" made of the first letters of "inconnu")."""
    units, profiles = make_units(cahors_counts)
    profiles = profiles.with_columns(pl.when(pl.int_range(pl.len()) % 7 == 0).then(None)
                                     .otherwise(pl.col("depcom")).alias("depcom"))
    table = build_statistics(units, profiles, territory_table("cahors"))
    deps = set(table.filter(pl.col("level") == "departement").get_column("area").to_list())
    assert deps == {"46", "inconnu"}


def test_one_unit_of_unknown_area_hides_no_whole_file_count():
    """One famille without a commune (no flag, nothing paid) made a « département inconnu » of one unit: in the
    counts' patterns the audit took its cell as known to hold none of them, so the known département's count
    (secret for the units) was pinned against the whole file's, and the whole file's counts were hidden (the
    5,000-person demo: 13 of the 14 benefits' whole-file rows without a rate). The whole-file row shows what it
    shows without that famille, and the tiny cell resists differencing and the solver."""
    communes = territory_table("cahors").get_column("depcom").to_list()[:6]
    counts = pl.DataFrame([(c, t, 30 + 7 * i + 3 * j) for i, c in enumerate(communes) for j, t in enumerate(TYPES)],
                          schema=["depcom", "household_type", "n"], orient="row")
    units, profiles = make_units(counts)
    terr = territory_table("cahors")
    alone = build_statistics(units, profiles, terr)
    lost = units.head(1).with_columns(pl.lit("lost").alias("unit_id"), pl.lit("not_entitled").alias("status"),
                                      pl.lit(None, dtype=pl.String).alias("grade"), pl.lit(0.0).alias("paid"),
                                      pl.lit(False).alias("receiving"), pl.lit(None, dtype=pl.String).alias("excluded"))
    units = pl.concat([units, lost])
    profiles = pl.concat([profiles, pl.DataFrame({"unit_kind": ["famille"], "unit_id": ["lost"], "depcom": [None],
                                                  "household_type": ["personne seule"]},
                                                 schema=profiles.schema)])
    table = build_statistics(units, profiles, terr)
    whole = pl.col("level") == "total"
    assert table.filter(whole & pl.col("secret")).height == 0
    assert (table.filter(whole).get_column("secret_measures").to_list()
            == alone.filter(whole).get_column("secret_measures").to_list())
    assert table.filter(whole & (pl.col("household_type") == ALL_TYPES)).get_column("non_take_up_rate_central")[0] \
        is not None
    assert table.filter((pl.col("area") == "inconnu") & (pl.col("household_type") == ALL_TYPES)).get_column(
        "secret").all()
    for measure in ADDITIVE:
        assert difference_attack(table, measure) == set(), measure
    assert_lp_cannot_pin(table, true_units(table, units, profiles, terr), threshold=11)
    truth = table.select(KEYS).join(cell_counts(units, profiles, terr), on=KEYS, how="left", maintain_order="left")
    for count in ("paid", "non_take_up_high"):
        assert_count_not_pinned(table, truth, count)


def test_every_territory_synth_makes_has_its_epcis():
    """The EPCIs come from the national table (Etalab decoupage-administratif), not from Cahors alone."""
    from nonrecours.outputs.statistics import NO_EPCI, epci_table

    france = territory_table("france")
    # every mainland commune has its EPCI but the four islands the law leaves out of any
    assert sorted(france.filter(pl.col("epci") == NO_EPCI).get_column("depcom")) == ["22016", "29083", "29155",
                                                                                       "85113"]
    assert epci_table().get_column("depcom").is_unique().all()
    assert territory_table("cahors").get_column("epci").unique().sort().to_list() == [
        "CA du Grand Cahors", "CC du Pays de Lalbenque-Limogne"]
    # a run whose communes lie outside Cahors: the départements they fall in, with their EPCIs
    annecy, bonneville, cahors = "74010", "74042", "46042"
    terr = territory_table(None, communes=pl.Series([annecy, bonneville, cahors, None]))
    assert set(terr.get_column("departement")) == {"46", "74"}
    assert dict(terr.filter(pl.col("depcom").is_in([annecy, bonneville])).select("depcom", "epci").iter_rows()) == {
        annecy: "CA du Grand Annecy", bonneville: "CC Faucigny - Glières"}
    assert territory_table(None, communes=pl.Series([cahors])).height == 59  # all in Cahors: the Cahors table
    counts = pl.DataFrame([(c, t, 14) for c in (annecy, bonneville) for t in TYPES[:2]],
                          schema=["depcom", "household_type", "n"], orient="row")
    units, profiles = make_units(counts)
    cells = cell_counts(units, profiles, terr).filter((pl.col("level") == "epci") & (pl.col("units") > 0)
                                                     & (pl.col("household_type") == ALL_TYPES))
    assert dict(cells.select("area", "units").iter_rows()) == {"74 / CA du Grand Annecy": 28,
                                                                "74 / CC Faucigny - Glières": 28}
    published = build_statistics(units, profiles, terr).filter((pl.col("level") == "epci") & ~pl.col("secret"))
    assert published.height and published.get_column("parent_area").is_in(["46", "74"]).all()


# The split audit (``SPLIT_CELLS``): on France-wide tables the cells below the départements are audited with the
# top two levels known, the top two levels against points each département's program reaches. Forced here on
# small hierarchies (threshold 0 cells), the real reader (every secret cell unknown, empty ones too) must still
# pin nothing and see no small cell as small.


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hierarchies(), st.integers(3, 15))
def test_split_audit_protects_random_hierarchies(data, threshold):
    from unittest import mock

    from nonrecours.outputs import statistics

    counts, terr = data
    units, profiles = make_units(counts)
    if units.height == 0:
        return
    with mock.patch.object(statistics, "SPLIT_CELLS", 0):
        table = build_statistics(units, profiles, terr, config=StatisticsConfig(threshold=threshold))
    for measure in ("units", "non_take_up_high"):
        assert difference_attack(table, measure) == set()
    assert_lp_cannot_pin(table, true_units(table, units, profiles, terr), threshold)


def test_split_audit_catches_the_cell_pinned_through_the_sums_below_it(monkeypatch):
    """The département cell of the regression case is pinned through a sum below it (the type over the
    département's EPCIs) with two at the top: the split audit's upper part must see the sums below, through
    the points of the département's program, or it would leave the cell pinned."""
    from nonrecours.outputs import statistics

    counts = pl.DataFrame(PINNED_COUNTS, schema=["depcom", "household_type", "n"], orient="row")
    terr = pl.DataFrame(PINNED_TERRITORY, schema=["depcom", "epci", "departement"], orient="row")
    units, profiles = make_units(counts)
    cells = cell_counts(units, profiles, terr)
    monkeypatch.setattr(statistics, "SPLIT_CELLS", 0)
    status = cells.with_columns(pl.int_range(pl.len()).alias("_cell"))
    heuristic = _suppress_every_sum(cells, 5, lone_empty=True)  # the pattern the case was found on
    every_sum = statistics._relations(status, LEVELS)
    tier = pl.col("level").replace_strict({"total": 0, "departement": 1}, default=2).cast(pl.Int8)
    st_ = heuristic.with_columns(pl.int_range(pl.len()).alias("_cell")).select(
        "_cell", pl.col("units").alias("_v"), "suppressed", tier.alias("_tier"))
    exposed, _ = statistics.audit(every_sum, st_, 5)
    cell = (pl.col("level") == "departement") & (pl.col("area") == "10") & (pl.col("household_type")
                                                                            == "couple sans enfant")
    (k,) = status.filter(cell).get_column("_cell").to_list()
    assert k in exposed
    table = build_statistics(units, profiles, terr, config=StatisticsConfig(threshold=5))
    assert_lp_cannot_pin(table, true_units(table, units, profiles, terr), threshold=5)


def test_split_audit_on_a_territory_of_two_departements(monkeypatch):
    """Cahors' communes spread over two départements (so the split has two départements to tie at the top):
    every measure resists differencing and the solver pins nothing, split or whole, and the split's stronger
    readers cost few suppressions more than the whole audit (none on this table)."""
    from nonrecours.outputs import statistics

    base = territory_table("cahors")
    half = base.height // 2
    terr = base.with_columns(pl.when(pl.int_range(pl.len()) < half).then(pl.lit("46")).otherwise(pl.lit("47"))
                             .alias("departement"))
    communes = terr.get_column("depcom").to_list()
    counts = pl.DataFrame([(c, t, (7 * i + 3 * j) % 19) for i, c in enumerate(communes) for j, t in enumerate(TYPES)],
                          schema=["depcom", "household_type", "n"], orient="row")
    units, profiles = make_units(counts)
    whole = build_statistics(units, profiles, terr, config=StatisticsConfig(threshold=11))
    monkeypatch.setattr(statistics, "SPLIT_CELLS", 0)
    split = build_statistics(units, profiles, terr, config=StatisticsConfig(threshold=11))
    truth = true_units(split, units, profiles, terr)
    for table in (whole, split):
        assert difference_attack(table, "units") == set()
        assert_lp_cannot_pin(table, truth, threshold=11)
    assert split.get_column("secret").sum() <= whole.get_column("secret").sum() + 5



def _benefits(counts: dict[str, pl.DataFrame], terr: pl.DataFrame) -> pl.DataFrame:
    """cell_counts of one table per benefit (counts per depcom and household type)."""
    made = [make_units(c, benefit=b) for b, c in counts.items()]
    units = pl.concat([u.with_columns(pl.col("unit_id") + "|" + pl.col("benefit")) for u, _ in made])
    profiles = pl.concat([p.with_columns(pl.col("unit_id") + f"|{b}") for b, (_, p) in zip(counts, made,
                                                                                           strict=True)])
    return cell_counts(units, profiles, terr)


def test_benefits_counting_the_same_units_share_one_audited_pattern(monkeypatch):
    """Two benefits whose tables hold the same counts (every benefit of one unit kind counts the same units)
    get one pattern, audited once: the same cells secret in both (two patterns on the same counts would tell,
    in one table, a cell secret in the other), and the solver asked no more than for one of them."""
    from nonrecours.outputs import statistics

    counts = pl.DataFrame(PINNED_COUNTS, schema=["depcom", "household_type", "n"], orient="row")
    terr = pl.DataFrame(PINNED_TERRITORY, schema=["depcom", "epci", "departement"], orient="row")
    other = counts.with_columns((pl.col("n") * 3 + 1) % 17)
    statistics._highs()  # probed before counting (the probe solves a program of its own)
    solves = []
    solve = statistics._Program.solve
    monkeypatch.setattr(statistics._Program, "solve", lambda *a: solves.append(1) or solve(*a))
    pair = statistics.suppress(_benefits({"rsa": counts, "ppa": counts, "aspa": other}, terr), threshold=5)
    n_pair = len(solves)
    solves.clear()
    alone = statistics.suppress(_benefits({"ppa": counts, "aspa": other}, terr), threshold=5)
    assert n_pair == len(solves) > 0
    key = ["level", "area", "parent_area", "household_type"]

    def pattern(table: pl.DataFrame, benefit: str) -> list[tuple]:
        return table.filter(pl.col("benefit") == benefit).select(*key, "suppressed").sort(key, nulls_last=True).rows()

    assert pattern(pair, "rsa") == pattern(pair, "ppa") == pattern(alone, "ppa")
    assert pattern(pair, "aspa") == pattern(alone, "aspa")
    assert (pair.get_column("suppressed") == "secondary").any()


def test_a_benefit_unlike_another_in_one_cell_is_audited_on_its_own():
    """A table the same as another but for one cell's count is protected on its own: its cell of 3 units is
    secret where the other's 23 is published, and the solver pins nothing in either."""
    counts = pl.DataFrame(PINNED_COUNTS, schema=["depcom", "household_type", "n"], orient="row")
    terr = pl.DataFrame(PINNED_TERRITORY, schema=["depcom", "epci", "departement"], orient="row")
    changed = (pl.col("depcom") == "10100") & (pl.col("household_type") == "personne seule")
    made = {"rsa": counts, "ppa": counts.with_columns(pl.when(changed).then(3).otherwise(pl.col("n")).alias("n"))}
    units = pl.concat([make_units(c, benefit=b)[0].with_columns(pl.col("unit_id") + f"|{b}") for b, c in made.items()])
    profiles = pl.concat([make_units(c, benefit=b)[1].with_columns(pl.col("unit_id") + f"|{b}")
                          for b, c in made.items()])
    table = build_statistics(units, profiles, terr, config=StatisticsConfig(threshold=5))
    cell = table.filter((pl.col("level") == "commune") & (pl.col("area") == "10100")
                        & (pl.col("household_type") == "personne seule"))
    assert dict(cell.select("benefit", "secret").rows()) == {"rsa": False, "ppa": True}
    assert_lp_cannot_pin(table, true_units(table, units, profiles, terr), threshold=5)


def test_split_audit_loop_leaves_no_exposed_cell_unjudged(monkeypatch):
    """Cahors' communes over two départements, few single-parent familles in the second (its département cell
    is secret, under the threshold): the split's lower part, which knows that cell, finds its EPCIs' and
    communes' single-parent cells exposed whatever is hidden below, and their picks end at the top two levels
    or in another block, which the next round's lower part does not solve again. Every cell a fresh audit of
    the final pattern finds exposed must have been asked of the real reader during the loop, and be
    protected from it (before, none of them was asked)."""
    import numpy as np

    from nonrecours.outputs import statistics

    monkeypatch.setattr(statistics, "SPLIT_CELLS", 0)
    base = territory_table("cahors")
    half = base.height // 2
    terr = base.with_columns(pl.when(pl.int_range(pl.len()) < half).then(pl.lit("46")).otherwise(pl.lit("47"))
                             .alias("departement"))
    rng = np.random.default_rng(1)
    rows = []
    for i, c in enumerate(terr.get_column("depcom").to_list()):
        for t in TYPES:
            if t == "famille monoparentale" and i >= half:
                n = int(rng.random() < 0.12)
            else:
                n = int(rng.integers(0, 30)) if rng.random() < 0.6 else int(rng.integers(0, 4))
            rows.append((c, t, n))
    units, profiles = make_units(pl.DataFrame(rows, schema=["depcom", "household_type", "n"], orient="row"))
    cells = cell_counts(units, profiles, terr)
    asked: set[int] = set()
    audit_ = statistics._audit

    def spy(every_sum, status, threshold, **kwargs):
        if kwargs.get("whole"):
            asked.update(kwargs["only"].to_list())
        return audit_(every_sum, status, threshold, **kwargs)

    monkeypatch.setattr(statistics, "_audit", spy)
    final = statistics.suppress(cells, threshold=11)
    monkeypatch.setattr(statistics, "_audit", audit_)
    # the loop's program, rebuilt on the final pattern, audited afresh (every block, every short cell solved)
    rank = {lv: i for i, lv in enumerate(LEVELS)}
    numbered = (final.sort("benefit", pl.col("level").replace_strict(rank), "area", "parent_area", "household_type",
                           nulls_last=True, maintain_order=True).with_columns(pl.int_range(pl.len()).alias("_cell")))
    tier = pl.when(pl.col("level") == "total").then(0).when(pl.col("level") == "departement").then(1).otherwise(2)
    status = numbered.select("_cell", pl.col("units").alias("_v"), "suppressed", tier.cast(pl.Int8).alias("_tier"))
    every_sum = statistics._relations(numbered, LEVELS)
    names = every_sum.select("rel").unique().sort("rel").with_columns(pl.int_range(pl.len()).alias("_id"))
    every_sum = every_sum.join(names, on="rel").select(pl.col("_id").alias("rel"), "_cell", "is_total")
    monkeypatch.setattr(statistics, "CELL_SOLVES", 10**9)
    exposed = statistics.audit(every_sum, status, 11)[0]
    assert exposed  # the lower part's reader does find some (the case this test is about)
    assert set(exposed) <= asked
    only = pl.Series("_cell", exposed, dtype=status.get_column("_cell").dtype)
    assert statistics._audit(every_sum, status, 11, only=only, whole=True)[0] == []

def _program(sums: dict[str, list[tuple[str, bool]]], cells: dict[str, tuple[int, int, str | None]]):
    """every_sum and status frames for ``audit`` from named cells: name -> (tier, true value, suppressed),
    and named sums: name -> [(cell, is_total)]."""
    ids = {c: k for k, c in enumerate(cells)}
    every_sum = pl.DataFrame([(r, ids[c], t) for r, members in sums.items() for c, t in members],
                             schema={"rel": pl.String, "_cell": pl.Int64, "is_total": pl.Boolean}, orient="row")
    status = pl.DataFrame([(ids[c], v, s, t) for c, (t, v, s) in cells.items()],
                          schema={"_cell": pl.Int64, "_v": pl.Int64, "suppressed": pl.String, "_tier": pl.Int8},
                          orient="row")
    return every_sum, status, ids


# T (the whole extract) = D1 + D2 (départements); D1 = C1 + C2 (the cells below D1).
TWO_LEVEL_SUMS = {"top": [("T", True), ("D1", False), ("D2", False)],
                  "below": [("D1", True), ("C1", False), ("C2", False)]}


@pytest.mark.parametrize("split", [False, True])
def test_split_lower_part_keeps_what_the_top_tells(monkeypatch, split):
    """C1 is pinned only through the top: D1 = T - D2 (both published), then C1 = D1 - C2. The lower part,
    which takes D1 known at its true value, sees it; one that dropped the sums through secret second-level
    cells instead would leave C1 free."""
    from nonrecours.outputs import statistics

    monkeypatch.setattr(statistics, "SPLIT_CELLS", 0 if split else 10**9)
    every_sum, status, ids = _program(TWO_LEVEL_SUMS, {
        "T": (0, 20, None), "D1": (1, 10, "secondary"), "D2": (1, 10, None),
        "C1": (2, 4, "primary"), "C2": (2, 6, None)})
    exposed, _ = statistics.audit(every_sum, status, 11)
    assert exposed == sorted([ids["D1"], ids["C1"]])


@pytest.mark.parametrize("split", [False, True])
def test_split_upper_part_keeps_what_the_sums_below_tell(monkeypatch, split):
    """D1 is pinned only from below (D1 = C1 + C2, both published), and with it T = D1 + D2. The upper part
    sees it through the points of D1's local program; one that left the second-level cells free of the sums
    below them would find both protected."""
    from nonrecours.outputs import statistics

    monkeypatch.setattr(statistics, "SPLIT_CELLS", 0 if split else 10**9)
    every_sum, status, ids = _program(TWO_LEVEL_SUMS, {
        "T": (0, 55, "secondary"), "D1": (1, 25, "secondary"), "D2": (1, 30, None),
        "C1": (2, 12, None), "C2": (2, 13, None)})
    exposed, _ = statistics.audit(every_sum, status, 11)
    assert exposed == sorted([ids["T"], ids["D1"]])


@pytest.mark.parametrize("split", [False, True])
def test_split_audit_finds_what_protects(monkeypatch, split):
    """With C1 and C2 secret, D1 can move (so T can), and C1, C2 can trade against each other under D1 known:
    nothing exposed, split or whole (the split's stronger readers do not cost a suppression here)."""
    from nonrecours.outputs import statistics

    monkeypatch.setattr(statistics, "SPLIT_CELLS", 0 if split else 10**9)
    every_sum, status, _ = _program(TWO_LEVEL_SUMS, {
        "T": (0, 55, "secondary"), "D1": (1, 25, "secondary"), "D2": (1, 30, None),
        "C1": (2, 5, "primary"), "C2": (2, 20, "secondary")})
    exposed, _ = statistics.audit(every_sum, status, 11)
    assert exposed == []


# C1, C2, C3 below the département D1 (T = D1 + D2 at the top), tied by three sums whose totals are published:
# C1 + C2 = D1, C1 + C3 = E, C2 + C3 = F, so all three are pinned once D1 is known.
TRIANGLE_SUMS = {"top": [("T", True), ("D1", False), ("D2", False)],
                 "below": [("D1", True), ("C1", False), ("C2", False)],
                 "row": [("E", True), ("C1", False), ("C3", False)],
                 "col": [("F", True), ("C2", False), ("C3", False)]}
TRIANGLE_CELLS = {"T": (0, 30, None), "D1": (1, 12, None), "D2": (1, 18, None), "C1": (2, 3, "primary"),
                  "C2": (2, 9, "secondary"), "C3": (2, 10, "secondary"), "E": (2, 13, None), "F": (2, 19, None)}


def test_split_audit_mends_a_lower_exposure_below_the_departements(monkeypatch):
    """The lower part (the top two levels known) finds C1, C2, C3 pinned. Hiding D1 (the cheapest total of a sum
    through C1 and C2) cannot help that reader, who knows D1: the extra suppressions must be E and F, below the
    départements, and the top two levels stay published; the real reader then pins nothing either."""
    from nonrecours.outputs import statistics

    monkeypatch.setattr(statistics, "SPLIT_CELLS", 0)
    every_sum, status, ids = _program(TRIANGLE_SUMS, TRIANGLE_CELLS)
    exposed, _ = statistics.audit(every_sum, status, 5)
    assert exposed == sorted([ids["C1"], ids["C2"], ids["C3"]])
    done = statistics._audit_loop(every_sum, every_sum, status, 5)
    secret = set(done.filter(pl.col("suppressed").is_not_null()).get_column("_cell").to_list())
    assert secret == {ids[c] for c in ("C1", "C2", "C3", "E", "F")}
    monkeypatch.setattr(statistics, "SPLIT_CELLS", 10**9)
    assert statistics.audit(every_sum, done, 5)[0] == []


def test_audit_loop_asks_the_real_reader_when_nothing_is_left_to_hide(monkeypatch, caplog):
    """C1 + C2 = D1 with D1 known to the lower part (4 units, under the threshold 5): that stronger reader sees C1
    and C2 unable to reach 5, and every cell around them is secret, so no suppression can help. The real reader
    (D1 unknown, T too) sees them reach 5: the loop must ask it (the whole audit of those cells) and stop, the
    pattern unchanged."""
    import logging

    from nonrecours.outputs import statistics

    monkeypatch.setattr(statistics, "SPLIT_CELLS", 0)
    every_sum, status, ids = _program(TWO_LEVEL_SUMS, {
        "T": (0, 30, "secondary"), "D1": (1, 4, "primary"), "D2": (1, 26, "secondary"),
        "C1": (2, 2, "primary"), "C2": (2, 2, "primary")})
    assert statistics.audit(every_sum, status, 5)[0] == sorted([ids["C1"], ids["C2"]])
    with caplog.at_level(logging.INFO, logger="nonrecours.outputs.statistics"):
        done = statistics._audit_loop(every_sum, every_sum, status, 5)
    assert done.equals(status)
    assert "2 cells with nothing left to hide, 0 exposed to the whole audit" in caplog.text


def test_audit_loop_fails_past_its_round_limit(monkeypatch):
    """The triangle needs a second round to certify its pattern: with one round allowed, the loop must fail,
    never return the pattern its first round found exposed."""
    from nonrecours.outputs import statistics

    monkeypatch.setattr(statistics, "SPLIT_CELLS", 0)
    monkeypatch.setattr(statistics, "MAX_ROUNDS", 1)
    every_sum, status, _ = _program(TRIANGLE_SUMS, TRIANGLE_CELLS)
    with pytest.raises(RuntimeError, match="still exposed after 1 rounds"):
        statistics._audit_loop(every_sum, every_sum, status, 5)


# Two départements of one commune each (threshold 15): the heuristic's pattern leaves the top two levels' cells
# free to move through trades between the départements that the split's upper part, knowing each département's
# program through a few points (each cell pushed no further than it needs), cannot make.
TRADE_COUNTS = [("10000", "couple sans enfant", 7), ("10000", "personne seule", 10),
                ("11000", "couple avec enfants", 24), ("11000", "personne seule", 7),
                ("11000", "couple sans enfant", 18)]
TRADE_TERRITORY = [("10000", "EPCI 0-0", "10"), ("11000", "EPCI 1-0", "11")]


def test_split_upper_part_suppresses_only_for_what_the_real_reader_narrows(monkeypatch, caplog):
    """In its second round the split audit's upper part finds cells of the top two levels short that the real
    reader (the whole program) lets move: they must be asked of it and not reported exposed (before, each got
    one more suppression, and on France at 20,000 persons hiding more never mended them: 225-243 a round, no
    fixed point). On every pattern the loop audits, the split audit reports at the top two levels exactly what
    the whole audit reports, and the final pattern resists both attacks."""
    import logging

    from nonrecours.outputs import statistics

    counts = pl.DataFrame(TRADE_COUNTS, schema=["depcom", "household_type", "n"], orient="row")
    terr = pl.DataFrame(TRADE_TERRITORY, schema=["depcom", "epci", "departement"], orient="row")
    units, profiles = make_units(counts)
    cells = cell_counts(units, profiles, terr)
    audited = []
    real_audit = statistics._audit

    def recording(every_sum, status, threshold, **kw):
        if not kw.get("whole"):
            audited.append((every_sum, status))
        return real_audit(every_sum, status, threshold, **kw)

    monkeypatch.setattr(statistics, "_audit", recording)
    monkeypatch.setattr(statistics, "SPLIT_CELLS", 0)
    with caplog.at_level(logging.INFO, logger="nonrecours.outputs.statistics"):
        statistics.suppress(cells, threshold=15)
    found = [(int(m[1]), int(m[3])) for m in re.finditer(
        r"upper part .* (\d+) exposed, (\d+) asked of the whole program, (\d+) exposed to it", caplog.text)]
    assert any(points > real for points, real in found)  # the case at hand: the points alone call some exposed
    assert len(audited) >= 2
    for every_sum, status in audited:
        upper = set(status.filter(pl.col("_tier") < 2).get_column("_cell").to_list())
        monkeypatch.setattr(statistics, "SPLIT_CELLS", 10**9)
        whole = set(real_audit(every_sum, status, 15)[0])
        monkeypatch.setattr(statistics, "SPLIT_CELLS", 0)
        assert set(real_audit(every_sum, status, 15)[0]) & upper == whole & upper
    table = build_statistics(units, profiles, terr, config=StatisticsConfig(threshold=15))
    for measure in ("units", "non_take_up_high"):
        assert difference_attack(table, measure) == set()
    assert_lp_cannot_pin(table, true_units(table, units, profiles, terr), threshold=15)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.integers(2, 12), st.integers(1, 6))
def test_direct_highs_and_linprog_fallback_give_one_vertex(seed, n, m):
    """A fresh solve through scipy's HiGHS bindings (``_highs_solve``, a private scipy module) and through
    ``linprog`` (the fallback when the module is missing) return the same vertex (the later solves of a program
    kept warm, ``_Program``, may stop at another: docs/outputs.md)."""
    import numpy as np

    from nonrecours.outputs import statistics

    if statistics._highs() is None:
        pytest.fail("scipy's HiGHS bindings are missing or changed: the direct path is not exercised")
    rng = np.random.default_rng(seed)
    a = (rng.random((m, n)) < 0.5).astype(np.float64)
    truth = rng.integers(0, 50, n).astype(np.float64)  # feasible: the true values meet every sum
    cap = np.where(rng.random(n) < 0.3, np.inf, truth + rng.integers(0, 20, n))
    # bounded, as the audit's programs are: a cell without a cap is never pushed up
    objective = rng.choice([-1.0, 1.0], n) * (rng.random(n) < 0.7)
    objective = np.where(np.isinf(cap), np.abs(objective), objective)
    rhs = a @ truth
    direct = statistics._highs_solve(a, rhs, objective, cap)
    saved = statistics._HIGHS
    try:
        statistics._HIGHS = None
        fallback = statistics._solve(a, rhs, objective, cap)
    finally:
        statistics._HIGHS = saved
    assert np.array_equal(direct, fallback)



@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.integers(2, 12), st.integers(1, 6))
def test_a_program_kept_warm_answers_each_solve_as_a_fresh_one(seed, n, m):
    """The pushing solves and a block's own solves keep their program in HiGHS and change only the costs and
    caps (``_Program``): each answer is a point of the program under that solve's caps, as optimal as a fresh
    solve's (the vertex may differ: any feasible point is a certificate). A program that kept an earlier cap
    or cost would answer otherwise."""
    import numpy as np

    from nonrecours.outputs import statistics

    if statistics._highs() is None:
        pytest.fail("scipy's HiGHS bindings are missing or changed: the warm path is not exercised")
    rng = np.random.default_rng(seed)
    a = (rng.random((m, n)) < 0.5).astype(np.float64)
    truth = rng.integers(0, 50, n).astype(np.float64)
    rhs = a @ truth
    program = statistics._Program(a, rhs)
    for _ in range(4):
        cap = np.where(rng.random(n) < 0.3, np.inf, truth + rng.integers(0, 20, n))
        objective = rng.choice([-1.0, 1.0], n) * (rng.random(n) < 0.7)
        objective = np.where(np.isinf(cap), np.abs(objective), objective)
        warm = program.solve(objective, cap)
        fresh = statistics._highs_solve(a, rhs, objective, cap)
        assert np.abs(a @ warm - rhs).max() <= 1e-9
        assert ((warm >= -1e-9) & (warm <= cap + 1e-9)).all()
        assert objective @ warm == pytest.approx(objective @ fresh, abs=1e-7)


def test_a_warm_solve_that_fails_is_solved_again_fresh(monkeypatch):
    """A warm solve whose run fails or whose answer fails the feasibility check is never trusted nor fatal: the
    program is passed to HiGHS again and solved fresh, as ``_highs_solve`` would."""
    import numpy as np

    from nonrecours.outputs import statistics

    if statistics._highs() is None:
        pytest.fail("scipy's HiGHS bindings are missing or changed: the warm path is not exercised")
    a = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]])
    rhs, cap = np.array([3.0, 5.0]), np.array([2.0, np.inf, 4.0])
    program = statistics._Program(a, rhs)
    program.solve(np.array([-1.0, 1.0, -1.0]), cap)
    first = program.highs
    run = statistics._Program._run
    calls = []

    def failing_once(self, cap_):
        calls.append(self.highs is first)
        return None if len(calls) == 1 else run(self, cap_)

    monkeypatch.setattr(statistics._Program, "_run", failing_once)
    objective = np.array([1.0, -1.0, 1.0])
    x = program.solve(objective, cap)
    assert calls == [True, False]  # the warm run, then a fresh model's
    assert np.array_equal(x, statistics._highs_solve(a, rhs, objective, cap))

def test_changed_highs_bindings_fall_back_to_linprog(monkeypatch, caplog):
    """scipy's ``_highspy`` is private: bindings that changed (here, every name still there but the model's
    constructor taking other arguments) must leave the audit on ``linprog``, the same vertex, instead of failing in
    the middle of a run."""
    import sys
    import types

    import numpy as np

    from nonrecours.outputs import statistics

    def changed(*args: object) -> None:
        raise TypeError("HighsLp(): incompatible constructor arguments")

    fake = types.ModuleType("scipy.optimize._highspy")
    fake._core = types.SimpleNamespace(  # type: ignore[attr-defined]
        kHighsInf=np.inf, _Highs=changed, HighsLp=changed, simplex_constants=None)
    monkeypatch.setitem(sys.modules, "scipy.optimize._highspy", fake)
    monkeypatch.setattr(statistics, "_HIGHS", statistics._UNPROBED)
    assert statistics._highs() is None
    assert "HiGHS bindings unusable (TypeError)" in caplog.text  # said, not silent
    a = np.array([[1.0, 1.0, 1.0]])
    x = statistics._solve(a, np.array([6.0]), np.array([-1.0, 0.0, 0.0]), np.array([4.0, np.inf, np.inf]))
    assert x[0] == 4.0 and x.sum() == 6.0
