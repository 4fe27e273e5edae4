"""The estimate range and the grade follow the unknowns' range (an invariant, checked on drawn ranges)."""

from __future__ import annotations

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nonrecours.core import UNKNOWNS_SCHEMA, CoreMonth
from nonrecours.detection import core_month, detect
from nonrecours.detection.confidence import changed_people, grade_expr, with_unknowns_at

from .conftest import FIRST, MONTH, unknown_salary


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


def test_unfavourable_corner_orients_each_unknown(territory):
    """The unfavourable corner puts a resource or a housing at no cost at its high end but an age or a
    pregnancy at its low end (each lowers the minimum incomes there); a rent stays central."""
    _, core = territory
    unknowns = pl.DataFrame([
        {"entity": "individu", "id": "p-nothing", "month": None, "input": "age", "low": 18.0, "central": 45.0,
         "high": 95.0, "reason": "date de naissance non transmise", "informed": False},
        {"entity": "famille", "id": "caf:f-nothing", "month": None, "input": "hosted_free_of_charge", "low": 0.0,
         "central": 0.0, "high": 1.0, "reason": "hébergement inconnu", "informed": False},
        {"entity": "menage", "id": "caf:m-nothing", "month": None, "input": "rent", "low": 300.0,
         "central": 450.0, "high": 700.0, "reason": "loyer non transmis", "informed": False},
    ], schema=UNKNOWNS_SCHEMA)
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
