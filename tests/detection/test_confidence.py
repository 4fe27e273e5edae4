"""The estimate range and the grade follow the unknowns' range (an invariant, checked on drawn ranges)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nonrecours.core import UNKNOWNS_SCHEMA, CoreMonth
from nonrecours.detection import core_month, detect
from nonrecours.detection.confidence import changed_people, grade_expr, with_unknowns_at

from .conftest import FIRST, MONTH, Territory, unknown_salary


@pytest.mark.slow
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.floats(0.0, 4000.0, allow_nan=False), min_size=3, max_size=3).map(sorted), st.booleans())
def test_range_and_grade_follow_the_unknowns(territory, ends, informed):
    tables, core = territory
    low, central, high = ends
    unknowns = unknown_salary("p-nothing", low, central, high, informed=informed)
    # the inputs carry the central value, as the core's contract says
    at_central = with_unknowns_at(CoreMonth(MONTH, core.inputs, unknowns.with_columns(pl.col("central")
                                                                                      .alias("low"))), "low")
    run = detect(CoreMonth(MONTH, at_central, unknowns), tables, config=FIRST)
    u = run.units.filter((pl.col("unit_id") == "caf:f-nothing") & (pl.col("benefit") == "rsa")).row(0, named=True)
    assert u["amount_low"] <= u["amount_central"] <= u["amount_high"]
    expected = ("certain" if u["entitled_low"] and u["entitled_central"] and u["entitled_high"]
                else "probable" if u["entitled_central"] and informed
                else "possible" if u["entitled_low"] or u["entitled_central"] or u["entitled_high"] else None)
    assert u["grade"] == expected
    # RSA falls as the salary rises: entitled at the low end whenever entitled at all
    assert u["entitled_low"] or not u["entitled_high"]


def test_static_and_unit_level_unknowns_are_applied(territory):
    _, core = territory
    unknowns = pl.DataFrame([
        {"entity": "famille", "id": "caf:f-nothing", "month": None, "input": "recent_isolation", "low": 0.0,
         "central": 0.0, "high": 1.0, "reason": "date de séparation inconnue"},
        {"entity": "menage", "id": "caf:m-nothing", "month": None, "input": "rent", "low": 300.0,
         "central": 450.0, "high": 700.0, "reason": "loyer non transmis"},
    ], schema=UNKNOWNS_SCHEMA)
    high = with_unknowns_at(CoreMonth(MONTH, core.inputs, unknowns), "high")
    assert high.famille is not None and high.menage is not None
    fam = high.famille.filter(pl.col("famille_id") == "caf:f-nothing")
    assert fam["recent_isolation"].to_list() == [True]
    assert high.menage.filter(pl.col("menage_id") == "caf:m-nothing")["rent"].to_list() == [700.0]
    assert high.menage.filter(pl.col("menage_id") == "caf:m-paid")["rent"].to_list() == [450.0]
    assert high.famille.height == core.inputs.famille.height  # type: ignore[union-attr]


def test_grade_table():
    """Every combination of the variants: certain needs the central one and every corner, probable the
    central one and the uninformed unfavourable corner, possible any entitlement at all."""
    rows = [(lo, ce, hi, unf, uunf) for lo in (False, True) for ce in (False, True) for hi in (False, True)
            for unf in (False, True) for uunf in (False, True)]
    df = pl.DataFrame(rows, schema=["lo", "ce", "hi", "unf", "uunf"], orient="row")
    got = df.with_columns(grade_expr("lo", "ce", "hi", "unf", "uunf").alias("g")).iter_rows()
    for lo, ce, hi, unf, uunf, g in got:
        expected = ("certain" if lo and ce and hi and unf else "probable" if ce and uunf
                    else "possible" if lo or ce or hi else None)
        assert g == expected, (lo, ce, hi, unf, uunf)


_AGE = ("individu", "p-nothing", "age", 18.0, 45.0, 95.0)
_HOSTED = ("famille", "caf:f-nothing", "hosted_free_of_charge", 0.0, 0.0, 1.0)


def _unknowns(*rows: tuple[str, str, str, float, float, float]) -> pl.DataFrame:
    """The core's unknowns, static and uninformed: (entity, id, input, low, central, high) each."""
    return pl.DataFrame([{"entity": e, "id": i, "month": None, "input": inp, "low": lo, "central": c, "high": hi,
                          "reason": "non transmis", "informed": False} for e, i, inp, lo, c, hi in rows],
                        schema=UNKNOWNS_SCHEMA)


def test_unfavourable_corner_orients_each_unknown(territory):
    """The unfavourable corner puts a resource or a housing at no cost at its high end but an age or a
    pregnancy at its low end (each lowers the minimum incomes there); a rent stays central."""
    _, core = territory
    unknowns = _unknowns(_AGE, _HOSTED, ("menage", "caf:m-nothing", "rent", 300.0, 450.0, 700.0))
    nat = pl.DataFrame([{"entity": "individu", "id": "p-nothing", "month": None, "input": "nationality_group",
                         "low": None, "central": None, "high": None, "reason": "nationalité non transmise",
                         "informed": False}], schema=UNKNOWNS_SCHEMA)
    unf = with_unknowns_at(CoreMonth(MONTH, core.inputs, pl.concat([unknowns, nat])), "unfavourable")
    assert unf.individu.filter(pl.col("person_id") == "p-nothing")["age"].to_list() == [18]
    # a nationality no agency gives is non-EEA at the unfavourable corner (the residence test decides)
    assert unf.individu.filter(pl.col("person_id") == "p-nothing")["nationality_group"].to_list() == ["OTHER"]
    assert unf.individu.filter(pl.col("person_id") == "p-paid")["nationality_group"].to_list() == ["FR"]
    assert unf.famille.filter(pl.col("famille_id") == "caf:f-nothing")["hosted_free_of_charge"].to_list() == [True]  # type: ignore[union-attr]
    before = core.inputs.menage.filter(pl.col("menage_id") == "caf:m-nothing")["rent"].to_list()  # type: ignore[union-attr]
    assert unf.menage.filter(pl.col("menage_id") == "caf:m-nothing")["rent"].to_list() == before  # type: ignore[union-attr]


def test_low_corner_is_favourable_to_the_minimum_incomes(territory):
    """The all-low corner puts the resources at their low end and the conditions of the minimum incomes
    (``UNFAVOURABLE_LOW``: an age, years of residence, an exemption) at their high end, the mirror of the
    unfavourable corner: at their low end there, the right was taken away whatever the resources."""
    _, core = territory
    unknowns = _unknowns(_AGE, ("individu", "p-nothing", "residence_permit_years", 0.0, 0.0, 10.0), _HOSTED)
    low = with_unknowns_at(CoreMonth(MONTH, core.inputs, unknowns), "low")
    person = low.individu.filter(pl.col("person_id") == "p-nothing")
    assert person["age"].to_list() == [95] and person["residence_permit_years"].to_list() == [10]
    assert low.famille.filter(pl.col("famille_id") == "caf:f-nothing")["hosted_free_of_charge"].to_list() == [False]  # type: ignore[union-attr]


def test_a_non_eea_person_of_unknown_resources_and_residence_is_possible_for_the_rsa():
    """A non-EEA jobseeker France Travail alone knows: years of residence, disability and resources unknown. The
    RSA is due if the permit is old enough and nothing is earned: possible. Before, the all-low corner held the
    years at 0 (no RSA) and the all-high one every resource and the disability's AAH at their top (no RSA): never
    flagged (found probing extracts written from the docs, 5 December 2026)."""
    t = Territory()
    t.famille("m", age=40, agency="france_travail")
    for person in t.persons:
        person.update(nationality_group="OTHER", residence_permit_years=None, disability_rate=None)
    for member in t.members:
        member["source_agency"] = "france_travail"
    tables = t.tables()
    core = core_month(tables, MONTH)
    permit = core.unknowns.filter(pl.col("input") == "residence_permit_years")
    assert permit.select("low", "central", "high").row(0) == (0.0, 0.0, 10.0)
    rsa = detect(core, tables, config=FIRST).units.filter(pl.col("benefit") == "rsa").row(0, named=True)
    assert (rsa["status"], rsa["grade"]) == ("non_take_up", "possible")
    assert rsa["entitled_low"] and not rsa["entitled_central"] and not rsa["entitled_high"]
    assert rsa["amount_low"] == 0.0 and rsa["amount_high"] > 600.0


def test_monthly_unknown_given_once_moves_every_month(territory):
    """The core gives an unknown monthly resource once (month null: every month read): the variants must set
    it on each month of the monthly frame, not on the static frame the engine never reads for it."""
    _, core = territory
    unknowns = pl.DataFrame([{"entity": "individu", "id": "p-nothing", "month": None, "input": "salary_net",
                              "low": 0.0, "central": 0.0, "high": 2000.0, "reason": "salaire non transmis",
                              "informed": False}], schema=UNKNOWNS_SCHEMA)
    for end in ("high", "unfavourable", "uninformed_unfavourable"):
        m = with_unknowns_at(CoreMonth(MONTH, core.inputs, unknowns), end).individu_monthly
        assert m is not None
        months = core.inputs.individu_monthly.get_column("month").unique()  # type: ignore[union-attr]
        got = m.filter(pl.col("person_id") == "p-nothing")
        assert got.height == months.len() and (got["salary_net"] == 2000.0).all()
    # informed unknowns stay at their central value in the uninformed variants
    informed = unknowns.with_columns(pl.lit(True).alias("informed"))
    assert with_unknowns_at(CoreMonth(MONTH, core.inputs, informed), "uninformed_unfavourable") is core.inputs


def test_refugee_status_no_agency_gives_stays_unknown_in_the_aspa_grade():
    """CSS art. L816-1: a non-EEA pensioner with four years of permit gets the ASPA only as a refugee, a
    beneficiary of subsidiary protection or a stateless person, a status no extract carries. The core marks
    ``ofpra_protection`` unknown for them (never a silent no) and for nobody of French nationality; graded with
    that unknown alone (the core's other unknowns of this one-agency territory, e.g. salaries the CNAV does not
    see, are left out here), the ASPA flag is possible: entitled at the high end only, never certain."""
    from .conftest import Territory

    t = Territory()
    t.famille("foreign", age=70, pension=400.0, agency="cnav")
    t.famille("french", age=70, pension=400.0, agency="cnav")
    t.persons[0].update(nationality_group="OTHER", residence_permit_years=4)
    tables = t.tables()
    core = core_month(tables, MONTH)
    status = core.unknowns.filter(pl.col("input") == "ofpra_protection")
    assert status["id"].to_list() == ["p-foreign"]
    assert status.select("low", "central", "high").row(0) == (0.0, 0.0, 1.0)
    assert core.inputs.individu.filter(pl.col("person_id") == "p-foreign")["ofpra_protection"].to_list() == [False]
    units = detect(CoreMonth(MONTH, core.inputs, status), tables, config=FIRST).units
    grade = {u["unit_id"].split(":")[-1]: u for u in units.filter(pl.col("benefit") == "aspa").iter_rows(named=True)}
    assert grade["f-foreign"]["grade"] == "possible"
    assert not grade["f-foreign"]["entitled_central"] and grade["f-foreign"]["entitled_high"]
    assert grade["f-french"]["grade"] == "certain"


def test_changed_people_sees_rows_either_variant_lacks(territory):
    """The uninformed corner leaves an informed unknown salary where the core has no row at all (no resource),
    the all-unknowns corner adds rows for it: the person differs between them (a row of one side only counts)."""
    _, core = territory
    unfavourable = with_unknowns_at(core, "unfavourable")
    uninformed = with_unknowns_at(core, "uninformed_unfavourable")
    changed = set(changed_people(unfavourable, uninformed, ["salary_net"]).get_column("person_id").to_list())
    assert changed == {"p-probable", "p-possible"}
    assert set(changed_people(core.inputs, unfavourable, ["salary_net"]).get_column("person_id").to_list()) == {
        "p-probable", "p-possible", "p-conventional"}
    # p-possible's low end moves its rows; the others' low end is their central 0, on rows the core does not have
    # (no resource): added with a value, counted (conservative: what an absent row reads is the engine's default)
    low = with_unknowns_at(core, "low")
    assert set(changed_people(core.inputs, low, ["salary_net"]).get_column("person_id").to_list()) == {
        "p-probable", "p-possible", "p-conventional"}
    assert changed_people(low, low, ["salary_net"]).is_empty()


def test_changed_people_by_input_are_each_inputs_moved_alone(demo_run):
    """Every unknown input moved at once, the people changed by each input are those changed when that input
    alone is moved (``detection.deciding`` finds each input's reach so): at each end, on the unknowns of the
    session's demo workspace (1,500 persons: inputs of every entity, static and monthly), the monthly rows
    another input adds included."""
    import dataclasses

    from nonrecours.config import load_config
    from nonrecours.core.workspace import workspace_core_config
    from nonrecours.detection.detect import read_workspace

    ws = demo_run / "workspace"
    core = core_month(read_workspace(ws), load_config(demo_run / "run.toml").months[0], workspace_core_config(ws))
    names = sorted(set(core.unknowns.get_column("input").to_list()))
    assert len(names) >= 10 and len(set(core.unknowns.get_column("entity").to_list())) >= 3
    for end in ("low", "high", "unfavourable"):
        together = changed_people(core.inputs, with_unknowns_at(core, end), names, by_input=True)
        assert together.columns == ["input", "person_id"] and not together.is_empty()
        for name in names:
            alone = with_unknowns_at(dataclasses.replace(
                core, unknowns=core.unknowns.filter(pl.col("input") == name)), end)
            want = set(changed_people(core.inputs, alone, [name]).get_column("person_id").to_list())
            got = set(together.filter(pl.col("input") == name).get_column("person_id").to_list())
            assert got == want, (end, name)


def test_corners_evaluated_on_the_households_they_change_equal_whole_evaluations(territory):
    """Each corner is evaluated on the households where its inputs differ from its base variant's only
    (``detect._variant_sets``): its famille frame must be the evaluation of the whole corner, row for row."""
    from nonrecours.detection.detect import _evaluate_variants, _targets
    from nonrecours.engine.evaluate import evaluate

    _, core = territory
    results = _evaluate_variants(core, "polars", FIRST.benefits)
    for v in ("low", "central", "high", "unfavourable", "uninformed_unfavourable"):
        whole = evaluate(_targets(FIRST.benefits), with_unknowns_at(core, v), MONTH)
        assert results[v]["famille"].equals(whole["famille"]), v


def _joined_changes(old: pl.DataFrame, new: pl.DataFrame, keys: list[str], cols: list[str]) -> set[tuple]:
    """The keys ``changed_people``'s full join finds differing (its definition, written out)."""
    j = old.join(new, on=keys, how="full", coalesce=True, suffix="_new")
    return set(j.filter(pl.any_horizontal(pl.col(f"{c}_new").ne_missing(pl.col(c)) for c in cols))
               .select(keys).iter_rows())


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([None, 0.0, 1.0, 2.5]), st.sampled_from([None, 0.0, 1.0, 2.5]),
                          st.sampled_from([None, True, False]), st.sampled_from([None, True, False])),
                min_size=0, max_size=12),
       st.integers(0, 4), st.integers(0, 4), st.booleans())
def test_aligned_changes_equal_the_join(rows, old_extra, new_extra, swap):
    """Two variants of a monthly frame (``with_unknowns_at``: the core's rows in order, each variant's added rows
    after them, a value or null anywhere): the keys found without the join are the join's, row for row, both
    frames' added rows included (joined apart); frames whose keys repeat are left to the join (None)."""
    from nonrecours.detection.confidence import _aligned_changes

    n = len(rows)
    keys = ["individu_id", "month"]
    base = {"individu_id": [f"p{i // 2}" for i in range(n)], "month": [i % 2 for i in range(n)]}
    old = pl.DataFrame({**base, "a": [r[0] for r in rows], "b": [r[2] for r in rows]},
                       schema={"individu_id": pl.String, "month": pl.Int32, "a": pl.Float64, "b": pl.Boolean})
    new = pl.DataFrame({**base, "a": [r[1] for r in rows], "b": [r[3] for r in rows]}, schema=old.schema)
    extra = pl.DataFrame({"individu_id": [f"x{i}" for i in range(8)], "month": [0] * 8,
                          "a": [None, 1.0, None, 0.0, None, 3.0, None, 4.0],
                          "b": [None, None, True, None, False, None, None, True]}, schema=old.schema)
    old = pl.concat([old, extra.head(old_extra)])
    # the new frame's added rows: some of the old one's among them, in another order, a value changed
    new = pl.concat([new, extra.slice(2, new_extra).reverse().with_columns(pl.col("b").not_())])
    if swap:
        old, new = new, old
    found = _aligned_changes(old, new, keys, {"a": pl.Float64(), "b": pl.Boolean()})
    assert found is not None
    assert set(found.iter_rows()) == _joined_changes(old, new, keys, ["a", "b"])
    assert found.height == len(set(found.iter_rows()))
    dup = pl.concat([old, old.tail(1)]) if old.height else old
    if old.height and old.height >= new.height:
        assert _aligned_changes(dup, new, keys, {"a": pl.Float64(), "b": pl.Boolean()}) is None


def test_aligned_changes_compare_a_column_one_frame_lacks():
    """A column one variant lacks reads null there (``changed_people``'s join: the default), positionally too."""
    from nonrecours.detection.confidence import _aligned_changes

    old = pl.DataFrame({"individu_id": ["p1", "p2", "p3"]})
    new = old.with_columns(pl.Series("a", [None, 1.0, 0.0]))
    found = _aligned_changes(old, new, ["individu_id"], {"a": pl.Float64()})
    assert found is not None and sorted(found.get_column("individu_id").to_list()) == ["p2", "p3"]


def test_aligned_changes_leave_a_null_key_to_the_join():
    """The join matches no null key: two rows with a null id are two rows, not one compared with itself."""
    from nonrecours.detection.confidence import _aligned_changes

    old = pl.DataFrame({"individu_id": ["p1", None], "a": [1.0, 2.0]})
    assert _aligned_changes(old, old, ["individu_id"], {"a": pl.Float64()}) is None


def test_unknowns_of_months_no_rule_reads_are_not_moved(territory):
    """The variants move a monthly unknown only at the months the evaluated rules read (``detect._read_unknowns``:
    the plan's offsets); the corners' results are still those of every unknown moved, at every month."""
    from dataclasses import replace

    from nonrecours.detection.detect import _evaluate_variants, _read_unknowns, _targets
    from nonrecours.engine.evaluate import cached_plan, evaluate
    from nonrecours.engine.plan import add_months
    from nonrecours.rules.params import default_parameters
    from nonrecours.rules.registry import default_registry

    _, core = territory
    targets = _targets(FIRST.benefits)
    plan = cached_plan(tuple(targets), default_registry(), default_parameters(), MONTH)
    read = {add_months(MONTH, s.offset) for s in plan.inputs() if s.variable == "salary_net"}
    unread = dt.date(2023, 1, 1)  # before every month the rules read: its salary moves nothing
    assert unread not in read and min(read) > unread
    old = unknown_salary("p-nothing", 0.0, 0.0, 9000.0, informed=False).head(1).with_columns(
        pl.lit(unread).alias("month"))
    core = replace(core, unknowns=pl.concat([core.unknowns, old]))
    held = core.unknowns.filter(pl.col("input") == "salary_net")
    kept = _read_unknowns(core, targets).unknowns.filter(pl.col("input") == "salary_net")
    assert unread not in set(kept.get_column("month").to_list())
    assert kept.height == held.filter(pl.col("month").is_in(sorted(read))).height == held.height - 1
    # a month-less unknown (every month held) is spelled out at the months read only
    every = replace(core, unknowns=held.filter(pl.col("id") == "p-possible").with_columns(
        pl.lit(None, dtype=pl.Date).alias("month")).unique())
    months = set(_read_unknowns(every, targets).unknowns.get_column("month").to_list())
    assert months and months <= read
    results = _evaluate_variants(core, "polars", FIRST.benefits)
    for v in ("low", "high", "unfavourable", "uninformed_unfavourable"):
        whole = evaluate(targets, with_unknowns_at(core, v), MONTH)
        assert results[v]["famille"].equals(whole["famille"]), v


_IDS = st.sampled_from(["p1", "p2", "p3", "p4", "é5", "p10"])
_MONTHS = st.sampled_from([dt.date(2026, 4, 1), dt.date(2026, 5, 1), dt.date(2026, 6, 1)])


@settings(max_examples=120, deadline=None)
@given(base_rows=st.lists(st.tuples(_IDS, _MONTHS, st.none() | st.floats(-1e6, 1e6), st.none() | st.booleans()),
                          unique_by=lambda r: r[:2], max_size=12),
       wide_rows=st.lists(st.tuples(_IDS, _MONTHS, st.none() | st.floats(-1e6, 1e6), st.none() | st.booleans()),
                          unique_by=lambda r: r[:2], max_size=12),
       full=st.booleans())
def test_the_unknowns_update_is_polars_update(base_rows, wide_rows, full):
    """``with_unknowns_at``'s update (the keys joined, not the whole frame) gives Polars' ``update``: the frame's
    rows in order with each non-null value given replacing its own, and with ``full`` the rows given it lacks
    (appended in the given order, where Polars' hash join has its own: compared as a set)."""
    from unittest import mock

    from nonrecours.detection import confidence
    from nonrecours.detection.confidence import _update, _update_joined

    schema = {"person_id": pl.String, "month": pl.Date, "salary": pl.Float64, "flag": pl.Boolean}
    base = pl.DataFrame(base_rows, schema=schema, orient="row").with_columns(pl.int_range(pl.len()).alias("other"))
    wide = pl.DataFrame(wide_rows, schema=schema, orient="row")
    want = base.update(wide, on=["person_id", "month"], how="full" if full else "left")
    n = base.height
    # matched on the keys' hash; by joins; and with every key of one hash (a collision: checked, then joined)
    with mock.patch.object(confidence, "_key_hash", lambda keys: pl.struct(keys).hash(1) * 0 + 7):
        collided = _update(base, wide, ["person_id", "month"], full=full)
    for got in (_update(base, wide, ["person_id", "month"], full=full),
                _update_joined(base, wide, ["person_id", "month"], full=full), collided):
        assert got.schema == want.schema
        assert got.height == want.height and got.head(n).equals(want.head(n))
        assert got.slice(n).sort(got.columns).equals(want.slice(n).sort(want.columns))
