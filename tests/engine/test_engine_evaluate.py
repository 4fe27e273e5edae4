"""evaluate() on a small household with hand-computed expectations, on both backends."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from toyrules import ALL_TARGETS

from nonrecours.engine import Inputs, evaluate
from nonrecours.errors import EngineError, ParameterError, RuleError, SchemaError
from nonrecours.rules.dsl import Famille, Individu, param, where
from nonrecours.rules.params import ParameterStore
from nonrecours.rules.registry import Registry

MAY, JUNE = dt.date(2024, 5, 1), dt.date(2024, 6, 1)
BACKENDS = ["polars", "duckdb"]


def _row(res, entity: str, unit_id: int) -> dict:
    idc = {"individu": "person_id"}.get(entity, f"{entity}_id")
    return res[entity].filter(pl.col(idc) == unit_id).row(0, named=True)


@pytest.mark.parametrize("backend", BACKENDS)
def test_hand_computed_values_may(backend, toy_reg, toy_params, household):
    res = evaluate(ALL_TARGETS, household, MAY, backend=backend, registry=toy_reg, parameters=toy_params)
    f10, f20 = _row(res, "famille", 10), _row(res, "famille", 20)
    # child 3 (age 10) counts, child 4 (age 30) does not; child 6 has a null age -> default 0 -> counts
    assert (f10["nb_enfants"], f20["nb_enfants"]) == (1, 1)
    assert f10["forfait"] == pytest.approx(520.55 * 1.3)
    assert f20["forfait"] == pytest.approx(520.55 * (1 + 0.3 + 0.5))
    # person 1: salary Feb 900, Mar 1000, Apr null -> (900 + 1000 + 0) / 3 ; person 2: Apr 300 -> 100
    assert f10["ressources_famille"] == pytest.approx(1900 / 3 + 100)
    assert f10["allocation"] == 0.0  # resources above the forfait: max(., 0)
    # famille 20: demandeur Mar 400 -> 133.33, plus the aide paid one month before (April, 30)
    assert f20["ressources_famille"] == pytest.approx(400 / 3 + 30)
    assert f20["allocation"] == round(520.55 * 1.8 - 400 / 3 - 30, 2)
    # conditions are their own columns
    assert f10["allocation__un_demandeur_est_present"] is True
    # individu projections: part = round(allocation / members, 2) + loyer / 100
    assert _row(res, "individu", 5)["part"] == pytest.approx(round(f20["allocation"] / 2, 2) + 4.5)
    assert _row(res, "individu", 1)["part"] == pytest.approx(7.0)
    assert _row(res, "individu", 3)["enfant_a_charge__age_inferieur_a_l_age_maximal"] is True
    assert _row(res, "foyer_fiscal", 100)["nb_declarants"] == 2
    assert _row(res, "menage", 1000)["loyer_pp"] == pytest.approx(700 / 4)


@pytest.mark.parametrize("backend", BACKENDS)
def test_dated_variant_and_window_across_variants(backend, toy_reg, toy_params, household):
    may = evaluate(["allocation"], household, MAY, backend=backend, registry=toy_reg, parameters=toy_params)
    june = evaluate(["allocation_trimestre", "allocation"], household, JUNE, backend=backend,
                    registry=toy_reg, parameters=toy_params)
    # only the June variant has the "plancher" condition, and it adds 10% of the ménage rent
    assert "allocation__au_dessus_du_plancher" not in may["famille"].columns
    assert "allocation__au_dessus_du_plancher" in june["famille"].columns
    f20 = _row(june, "famille", 20)
    # resources: mean of March 400, April 0, May 200 = 200; no aide in May; June rent 460 of its ménage
    assert f20["allocation"] == round(520.55 * 1.8 - 200 - 0 + 460 * 0.1, 2)
    # the window sums April and May (old variant) and June (new variant)
    apr = evaluate(["allocation"], household, dt.date(2024, 4, 1), backend=backend, registry=toy_reg,
                   parameters=toy_params)
    expected = _row(apr, "famille", 20)["allocation"] + _row(may, "famille", 20)["allocation"] \
        + f20["allocation"]
    assert f20["allocation_trimestre"] == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("backend", BACKENDS)
def test_parameter_bound_per_shifted_month(backend, toy_reg, toy_params, household):
    res = evaluate(["allocation_trimestre"], household, MAY, backend=backend, registry=toy_reg,
                   parameters=toy_params)
    used = {(b.name, b.month): b for b in res.bindings}
    assert used[("toy.base", dt.date(2024, 3, 1))].value == 500.0
    assert used[("toy.base", dt.date(2024, 5, 1))].value == 520.55
    assert used[("toy.base", dt.date(2024, 5, 1))].ref == "Décret 2"
    manifest = res.bindings_manifest()
    assert {"name": "toy.base", "month": "2024-03-01", "value": 500.0, "start": "2023-01-01",
            "ref": "Décret 1", "unit": "currency"} in manifest


@pytest.mark.parametrize("backend", BACKENDS)
def test_aggregates_on_empty_and_null_inputs(backend, toy_reg, toy_params, household):
    res = evaluate(["divers"], household, MAY, backend=backend, registry=toy_reg, parameters=toy_params)
    f10, f20 = _row(res, "famille", 10), _row(res, "famille", 20)
    # famille 10: max salary of children in May: child 3 has 50 -> 50; min positive age 10; conjoint 38;
    # any handicap True (child 3); all children handicapped? child 4 null -> False -> 0;
    # hours in May: 1 (child 3) / 2 children; statut in list: 3 members; aide 0 -> floor 0, ceil 0;
    # zone min(4, 3) = 3; revenu fiscal via the demandeur's foyer: 25000 / 1000
    assert f10["divers"] == pytest.approx(50 + 10 + 38 + 1 + 0 + 0.5 + 3 + 0 + 3 + 25)
    # famille 20: child 6 has no salary row -> 0; min positive age 35; no conjoint -> default -5;
    # no handicap; all children handicapped False; hours 8 / 1 child; statut none; zone null -> 2
    assert f20["divers"] == pytest.approx(0 + 35 - 5 + 0 + 0 + 8 + 0 + 0 + 2 + 9)


@pytest.mark.parametrize("backend", BACKENDS)
def test_division_by_zero_is_zero_and_empty_unit_defaults(backend, toy_params):
    reg = Registry()
    reg.input_variable("x", entity="individu", dtype="float", monthly=False, label="x")

    @reg.rule(entity="famille", dtype="float", label="ratio")
    def ratio(f: Famille):
        return f.sum(f.members.x) / f.count(role="enfant")

    @reg.rule(entity="famille", dtype="bool", label="tous")
    def tous(f: Famille):
        return f.all(f.members.x > 0, role="enfant") & ~f.any(f.members.x > 0, role="conjoint")

    @reg.rule(entity="famille", dtype="float", label="max")
    def plus_grand(f: Famille):
        return f.max(f.members.x, role="enfant") + f.value_of("conjoint", f.members.x)

    ind = pl.DataFrame({"person_id": [1], "famille_id": [1], "famille_role": ["demandeur"],
                        "foyer_fiscal_id": [1], "foyer_fiscal_role": ["declarant"], "menage_id": [1],
                        "menage_role": ["personne_de_reference"], "x": [5.0]})
    fam = pl.DataFrame({"famille_id": [1, 2]})  # famille 2 has no member at all
    res = evaluate(["ratio", "tous", "plus_grand"], Inputs(individu=ind, famille=fam), MAY, backend=backend,
                   registry=reg, parameters=toy_params)
    assert res["famille"].sort("famille_id").select("ratio", "tous", "plus_grand").rows() == [
        (0.0, True, 0.0), (0.0, True, 0.0)]


@pytest.mark.parametrize("masked", [1.2345e12, float("inf"), float("nan")])
def test_a_member_masked_out_of_a_sum_is_never_read(toy_params, masked: float):
    """A sum over members by role or condition reads only the members it keeps: a masked-out member's amount beyond
    the fixed point (``plan.SUM_SCALE``: about ±9.2e9), infinite or NaN neither fails the sum nor changes it, on
    Polars as on DuckDB. The fixed point was taken on every member inside a ``when`` on the mask: Polars 1.20 (the
    floor pyproject names) computes that branch on every row and its cast of the masked-out member raised
    (``InvalidOperationError``); Polars 2.1 masks the branch first, an optimisation it does not promise. The mask
    is now applied to the value before its fixed point."""
    reg = Registry()
    reg.input_variable("x", entity="individu", dtype="float", monthly=False, label="x")
    reg.input_variable("kept", entity="individu", dtype="bool", monthly=False, label="kept")

    @reg.rule(entity="famille", dtype="float", label="par rôle")
    def by_role(f: Famille):
        return f.sum(f.members.x, role=("demandeur", "conjoint"))

    @reg.rule(entity="famille", dtype="float", label="par condition")
    def by_condition(f: Famille):
        return f.sum(f.members.x, where=f.members.kept)

    ind = pl.DataFrame({"person_id": [1, 2, 3], "famille_id": [1, 1, 2],
                        "famille_role": ["demandeur", "enfant", "enfant"],
                        "foyer_fiscal_id": [1, 1, 2], "foyer_fiscal_role": ["declarant", "personne_a_charge",
                                                                              "personne_a_charge"],
                        "menage_id": [1, 1, 2], "menage_role": ["personne_de_reference", "enfant", "enfant"],
                        "x": [5.25, masked, masked], "kept": [True, False, False]})
    got = {b: evaluate(["by_role", "by_condition"], Inputs(individu=ind, famille=pl.DataFrame({"famille_id": [1, 2]})),
                       MAY, backend=b, registry=reg, parameters=toy_params)["famille"].sort("famille_id")
           .select("famille_id", "by_role", "by_condition").rows() for b in BACKENDS}
    assert got["polars"] == got["duckdb"]
    assert got["polars"][0] == (1, 5.25, 5.25)
    assert got["polars"][1] == (2, 0.0, 0.0)  # famille 2: its only member, a child, masked out of both


def _sum_of_x(toy_params, backend: str, xs: list[tuple[int, float]]) -> dict[int, float]:
    reg = Registry()
    reg.input_variable("x", entity="individu", dtype="float", monthly=False, label="x")

    @reg.rule(entity="famille", dtype="float", label="total")
    def total(f: Famille):
        return f.sum(f.members.x)

    n = len(xs)
    ind = pl.DataFrame({"person_id": list(range(1, n + 1)), "famille_id": [f for f, _ in xs],
                        "famille_role": ["demandeur"] * n, "foyer_fiscal_id": [1] * n,
                        "foyer_fiscal_role": ["declarant"] * n, "menage_id": [1] * n,
                        "menage_role": ["personne_de_reference"] * n, "x": [x for _, x in xs]})
    fam = pl.DataFrame({"famille_id": sorted({f for f, _ in xs})})
    res = evaluate(["total"], Inputs(individu=ind, famille=fam), MAY, backend=backend, registry=reg,
                   parameters=toy_params)
    return dict(res["famille"].select("famille_id", "total").rows())


@pytest.mark.parametrize("backend", BACKENDS)
def test_sums_near_the_fixed_point_bound_are_exact_and_beyond_it_refused(backend, toy_params):
    """Sums of floats over members are integer sums of nano-units (plan.SUM_SCALE): exact up to the 64-bit range
    (Polars sums a column in 64 bits only when no group's total can leave it), an error beyond, never a wrapped
    total. 3e9 + 2e9 is 5e18 nano-units (2**63 is about 9.22e18); 6e9 + 5e9 is beyond."""
    small = [(1, 0.1), (1, 0.2), (2, 250.45), (2, -250.45)]
    assert _sum_of_x(toy_params, backend, small) == {1: 0.3, 2: 0.0}  # 0.1 + 0.2 in floats is 0.30000000000000004
    # absolute values summing to 4e18 nano-units, under 2**62: the 64-bit path on Polars, exact
    assert _sum_of_x(toy_params, backend, [*small, (3, 2e9), (3, 2e9)]) == {1: 0.3, 2: 0.0, 3: 4e9}
    # 1.4e19 nano-units of absolute values: the 128-bit path, each total within 64 bits, exact
    assert _sum_of_x(toy_params, backend, [*small, (3, 3e9), (3, 2e9), (4, -4.5e9), (4, -4.5e9)]) == {
        1: 0.3, 2: 0.0, 3: 5e9, 4: -9e9}
    with pytest.raises(EngineError) as caught:
        _sum_of_x(toy_params, backend, [*small, (3, 6e9), (3, 5e9)])
    assert "6000000000" not in str(caught.value) and "1.1e" not in str(caught.value)


def test_backends_agree_exactly_on_toy(toy_reg, toy_params, household):
    for month in (MAY, JUNE):
        a = evaluate(ALL_TARGETS, household, month, registry=toy_reg, parameters=toy_params)
        b = evaluate(ALL_TARGETS, household, month, backend="duckdb", registry=toy_reg, parameters=toy_params)
        for entity, frame in a.frames.items():
            assert frame.equals(b.frames[entity]), entity


def test_only_needed_rules_are_computed(toy_reg, toy_params, household):
    res = evaluate(["nb_enfants"], household, MAY, registry=toy_reg, parameters=toy_params)
    assert set(res["famille"].columns) == {"famille_id", "nb_enfants"}
    assert "salaire" not in {s.variable for s in res.plan.steps.values()}
    assert {b.name for b in res.bindings} == {"toy.age_max"}


def test_missing_input_column_errors_or_defaults(toy_reg, toy_params, household):
    ind = household.individu.drop("handicap")
    inp = Inputs(**{**household.__dict__, "individu": ind})
    with pytest.raises(SchemaError, match="handicap"):
        evaluate(["ressources"], inp, MAY, registry=toy_reg, parameters=toy_params)
    res = evaluate(["ressources"], inp, MAY, registry=toy_reg, parameters=toy_params, missing_inputs="default")
    assert _row(res, "individu", 3)["ressources"] == pytest.approx(0.0)


def test_duplicate_month_row_is_an_error(toy_reg, toy_params, household):
    monthly = pl.concat([household.individu_monthly, household.individu_monthly.head(1)])
    inp = Inputs(**{**household.__dict__, "individu_monthly": monthly})
    with pytest.raises(SchemaError, match="two rows"):
        evaluate(["ressources"], inp, MAY, registry=toy_reg, parameters=toy_params)


def test_cycle_names_the_rules(toy_params, household):
    reg = Registry()

    @reg.rule(entity="famille", dtype="float", label="a")
    def a(f: Famille):
        return f.b + 1

    @reg.rule(entity="famille", dtype="float", label="b")
    def b(f: Famille):
        return f.c * 2

    @reg.rule(entity="famille", dtype="float", label="c")
    def c(f: Famille):
        return f.a

    with pytest.raises(RuleError, match="cycle between rules: a -> b -> c -> a"):
        evaluate(["a"], household, MAY, registry=reg, parameters=toy_params)


def test_recursion_in_time_is_bounded(toy_params, household):
    reg = Registry()

    @reg.rule(entity="famille", dtype="float", label="cumul")
    def cumul(f: Famille):
        from nonrecours.rules.dsl import shift

        return shift(f.cumul, -1) + 1

    with pytest.raises(RuleError, match="month offset"):
        evaluate(["cumul"], household, MAY, registry=reg, parameters=toy_params)


def test_rule_errors_name_the_rule(toy_params, household):
    reg = Registry()
    reg.input_variable("x", entity="individu", dtype="float", monthly=False, label="x")

    @reg.rule(entity="famille", dtype="float", label="bad")
    def bad(f: Famille):
        return f.inconnue * 2

    @reg.rule(entity="famille", dtype="float", label="mixed")
    def mixed(f: Famille):
        return f.members.x + 1

    @reg.rule(entity="famille", dtype="float", label="p")
    def p(f: Famille):
        return param("toy.nope")

    @reg.rule(entity="individu", dtype="float", label="early", start="2025-01-01")
    def early(i: Individu):
        return where(i.x > 0, param("toy.base"), 0)

    with pytest.raises(RuleError, match="rule bad: unknown variable 'inconnue'"):
        evaluate(["bad"], household, MAY, registry=reg, parameters=toy_params)
    with pytest.raises(RuleError, match="rule mixed: variable x of individu used in a famille context"):
        evaluate(["mixed"], household, MAY, registry=reg, parameters=toy_params)
    with pytest.raises(ParameterError, match=r"rule p: unknown parameter toy\.nope"):
        evaluate(["p"], household, MAY, registry=reg, parameters=toy_params)
    with pytest.raises(RuleError, match="rule early: no formula in force in 2024-05"):
        evaluate(["early"], household, MAY, registry=reg, parameters=toy_params)
    with pytest.raises(RuleError, match="is not a rule"):
        evaluate(["x"], household, MAY, registry=reg, parameters=toy_params)
    with pytest.raises(EngineError, match="unknown backend"):
        evaluate(["early"], household, MAY, backend="sqlite", registry=reg, parameters=toy_params)


def test_parameter_missing_for_month_names_rule(toy_reg, tmp_path, household):
    (tmp_path / "toy").mkdir()
    (tmp_path / "toy" / "base.yaml").write_text(
        "description: b\nunit: currency\nvalues:\n  2024-05-01: 1.0\n", encoding="utf-8")
    (tmp_path / "toy" / "taux_enfant.yaml").write_text(
        "description: t\nunit: rate\nvalues:\n  2024-05-15: 0.3\n", encoding="utf-8")
    (tmp_path / "toy" / "age_max.yaml").write_text(
        "description: a\nunit: year\nvalues:\n  2000-01-01: 25\n", encoding="utf-8")
    store = ParameterStore(tmp_path)
    with pytest.raises(ParameterError, match=r"rule forfait: parameter toy\.taux_enfant: a value starts on"):
        evaluate(["forfait"], household, MAY, registry=toy_reg, parameters=store)
    with pytest.raises(ParameterError, match=r"rule forfait: parameter toy.base: no value in force in 2024-04"):
        evaluate(["forfait"], household, dt.date(2024, 4, 1), registry=toy_reg, parameters=store)


@pytest.mark.parametrize("backend", BACKENDS)
def test_string_ids_and_value_of_order(backend, toy_params):
    reg = Registry()
    reg.input_variable("x", entity="individu", dtype="float", monthly=False, label="x")

    @reg.rule(entity="famille", dtype="float", label="premier enfant")
    def premier(f: Famille):
        return f.value_of("enfant", f.members.x, default=-1.0)

    @reg.rule(entity="individu", dtype="float", label="du ménage")
    def du_menage(i: Individu):
        return i.famille.premier + i.menage.count()

    ids = ["p-b", "p-a", "p-c", "q-1"]
    ind = pl.DataFrame({"person_id": ids, "famille_id": ["f1", "f1", "f1", "f2"],
                        "famille_role": ["enfant", "enfant", "demandeur", "demandeur"],
                        "foyer_fiscal_id": ["x", "x", "x", "y"],
                        "foyer_fiscal_role": ["personne_a_charge"] * 2 + ["declarant"] * 2,
                        "menage_id": ["m", "m", "m", "m"],
                        "menage_role": ["enfant", "enfant", "personne_de_reference", "autre"],
                        "x": [2.0, 1.0, 9.0, 4.0]})
    res = evaluate(["du_menage"], Inputs(individu=ind), MAY, backend=backend, registry=reg,
                   parameters=toy_params)
    # "p-a" < "p-b": the enfant with the smallest person_id gives its value
    assert res["famille"].rows() == [("f1", 1.0), ("f2", -1.0)]
    assert res["individu"].get_column("du_menage").to_list() == [5.0, 5.0, 5.0, 3.0]


@pytest.mark.parametrize(("column", "value", "message"), [
    ("person_id", None, "null identifier"),
    ("person_id", "", "empty identifier"),
    ("famille_id", "", "empty identifier"),
])
def test_null_or_empty_ids_refused(toy_params, column, value, message):
    reg = Registry()

    @reg.rule(entity="famille", dtype="int", label="n")
    def n(f: Famille):
        return f.count()

    ind = pl.DataFrame({"person_id": ["a", "b"], "famille_id": ["f", "g"], "famille_role": ["demandeur"] * 2,
                        "foyer_fiscal_id": ["x", "y"], "foyer_fiscal_role": ["declarant"] * 2,
                        "menage_id": ["m", "n"], "menage_role": ["personne_de_reference"] * 2})
    ind = ind.with_columns(pl.when(pl.col("person_id") == "b").then(pl.lit(value, dtype=pl.String))
                           .otherwise(pl.col(column)).alias(column))
    with pytest.raises(SchemaError, match=message) as info:
        evaluate(["n"], Inputs(individu=ind), MAY, registry=reg, parameters=toy_params)
    assert f"column {column}" in str(info.value)


def test_individu_without_unit_is_alone(toy_params):
    reg = Registry()

    @reg.rule(entity="famille", dtype="int", label="n")
    def n(f: Famille):
        return f.count()

    @reg.rule(entity="individu", dtype="int", label="taille")
    def taille(i: Individu):
        return i.famille.n

    ind = pl.DataFrame({"person_id": ["a", "b", "c"], "famille_id": ["f", None, None],
                        "famille_role": ["demandeur", None, None], "foyer_fiscal_id": ["x", "y", "z"],
                        "foyer_fiscal_role": ["declarant"] * 3, "menage_id": ["m", "n", "o"],
                        "menage_role": ["personne_de_reference"] * 3})
    for backend in BACKENDS:
        res = evaluate(["taille"], Inputs(individu=ind), MAY, backend=backend, registry=reg, parameters=toy_params)
        # the two individus without a famille are not merged into one famille of two
        assert res["famille"].rows() == [("f", 1)]
        assert res["individu"].get_column("taille").to_list() == [1, 0, 0]


def test_duckdb_large_input_path_agrees(toy_reg, toy_params, household, monkeypatch):
    """Large inputs run on every thread (small ones on one): force that path on small data."""
    from nonrecours.engine import sql_backend

    monkeypatch.setattr(sql_backend, "SMALL_ROWS", 0)
    for month in (MAY, JUNE):
        a = evaluate(ALL_TARGETS, household, month, registry=toy_reg, parameters=toy_params)
        b = evaluate(ALL_TARGETS, household, month, backend="duckdb", registry=toy_reg, parameters=toy_params)
        for entity, frame in a.frames.items():
            assert frame.equals(b.frames[entity]), entity


def _copies(household: Inputs, months: list[dt.date]) -> tuple[Inputs, pl.DataFrame]:
    """The household repeated once per month with shifted ids, and each individu's evaluated month."""
    ids = ("person_id", "famille_id", "foyer_fiscal_id", "menage_id")
    parts: dict[str, list[pl.DataFrame]] = {}
    person_months = []
    for k, m in enumerate(months):
        for name in ("individu", "individu_monthly", "famille", "famille_monthly", "foyer_fiscal",
                     "foyer_fiscal_monthly", "menage", "menage_monthly"):
            df = getattr(household, name)
            if df is None:
                continue
            shifted = df.with_columns([pl.col(c) + 100_000 * k for c in ids if c in df.columns])
            parts.setdefault(name, []).append(shifted)
        person_months.append(parts["individu"][-1].select("person_id", pl.lit(m).alias("month")))
    return (Inputs(**{n: pl.concat(p) for n, p in parts.items()}), pl.concat(person_months))


@pytest.mark.parametrize("backend", BACKENDS)
def test_several_months_in_one_call_equal_one_call_per_month(toy_reg, toy_params, household, backend):
    """Units each at their own month: parameters changing between the months (the base amount in April)
    become columns and a rule with a dated variant (June) splits the plan; results equal one call per
    month."""
    months = [dt.date(2024, 3, 1), MAY, JUNE, dt.date(2024, 9, 1)]
    inputs, person_months = _copies(household, months)
    res = evaluate(ALL_TARGETS, inputs, person_months, backend=backend, registry=toy_reg, parameters=toy_params)
    assert res.months == tuple(months)
    for k, m in enumerate(months):
        alone = evaluate(ALL_TARGETS, household, m, backend=backend, registry=toy_reg, parameters=toy_params)
        for entity, frame in alone.frames.items():
            idc = frame.columns[0]
            got = (res[entity].filter((pl.col(idc) >= 100_000 * k) & (pl.col(idc) < 100_000 * (k + 1)))
                   .with_columns(pl.col(idc) - 100_000 * k).select(frame.columns))
            assert got.equals(frame), (m, entity)
    with pytest.raises(EngineError, match="one month"):
        res.explain("famille", 10)


def test_members_of_one_unit_at_different_months_are_refused(toy_reg, toy_params, household):
    months = household.individu.select("person_id", pl.when(pl.col("person_id") == 2).then(pl.lit(MAY))
                                       .otherwise(pl.lit(JUNE)).alias("month"))
    with pytest.raises(SchemaError, match="different months"):
        evaluate(ALL_TARGETS, household, months, registry=toy_reg, parameters=toy_params)


@pytest.mark.parametrize("backend", ["polars", "duckdb"])
def test_duplicate_month_row_named_only_in_a_month_read(backend, toy_reg, toy_params, household):
    """The monthly rows of a one-month plan are read in one pass by month: two rows for one unit in a month the
    plan reads name that month; in a month it does not read, they change nothing."""
    monthly = household.individu_monthly
    march = monthly.filter(pl.col("month") == dt.date(2024, 3, 1)).head(1)
    with pytest.raises(SchemaError, match="two rows for one unit in 2024-03"):
        evaluate(["ressources"], Inputs(**{**household.__dict__, "individu_monthly": pl.concat([monthly, march])}),
                 MAY, backend, registry=toy_reg, parameters=toy_params)
    unread = march.with_columns(pl.lit(dt.date(2023, 1, 1)).alias("month"))
    twice = pl.concat([monthly, unread, unread])
    res = evaluate(["ressources"], Inputs(**{**household.__dict__, "individu_monthly": twice}), MAY, backend,
                   registry=toy_reg, parameters=toy_params)
    ref = evaluate(["ressources"], household, MAY, backend, registry=toy_reg, parameters=toy_params)
    for entity in ref.frames:
        assert res[entity].equals(ref[entity]), entity


@pytest.mark.parametrize("backend", ["polars", "duckdb"])
def test_monthly_rows_of_units_not_evaluated_change_nothing(backend, toy_reg, toy_params, household):
    """Monthly rows are aligned to the evaluated units by their position (one join of the ids for the whole
    monthly frame): a row of a person no individu row holds, in a month read, and the rows shuffled, give the
    same values as the rows alone."""
    monthly = household.individu_monthly
    stranger = monthly.head(1).with_columns(pl.lit(999, dtype=monthly.schema["person_id"]).alias("person_id"))
    noisy = pl.concat([monthly, stranger]).sample(fraction=1.0, shuffle=True, seed=3)
    res = evaluate(["ressources"], Inputs(**{**household.__dict__, "individu_monthly": noisy}), MAY, backend,
                   registry=toy_reg, parameters=toy_params)
    ref = evaluate(["ressources"], household, MAY, backend, registry=toy_reg, parameters=toy_params)
    for entity in ref.frames:
        assert res[entity].equals(ref[entity]), entity


@pytest.mark.parametrize("hoist_rows", [0, 20_000])
def test_a_large_formula_is_evaluated_with_shared_sub_trees_and_the_same_values(toy_params, household, hoist_rows,
                                                                               monkeypatch):
    """A formula larger than ``SHARED_NODES`` (the housing aid's kind: the same sub-trees in every branch) goes
    through Polars' common sub-expression elimination, or, on a frame of at most ``HOIST_ROWS`` rows, is cut at its
    repeated sub-trees; either way its values are DuckDB's, which computes it as written."""
    from toyrules import toy_registry

    from nonrecours.engine import polars_backend
    from nonrecours.engine.polars_backend import SHARED_NODES, _lowered

    monkeypatch.setattr(polars_backend, "HOIST_ROWS", hoist_rows)
    from nonrecours.rules.dsl import maximum, minimum, round_

    reg = toy_registry()

    @reg.rule(entity="famille", dtype="float", label="grande formule")
    def grande(f: Famille):
        gap = f.forfait - f.ressources_famille
        total = gap * 0
        for k in range(30):
            total = total + where(gap > 10 * k, round_(maximum(gap - 10 * k, 0) * 1.5, 2), minimum(gap, k) / 3)
        return total

    res = {b: evaluate(["grande", "allocation"], household, MAY, backend=b, registry=reg, parameters=toy_params)
           for b in BACKENDS}
    plan = res["polars"].plan
    lowered = _lowered(plan, {s.name: s.dtype for s in plan.steps.values()})
    assert lowered.is_large("grande") and not lowered.is_large("allocation") and SHARED_NODES < 1000
    assert bool(lowered.hoists) == (hoist_rows > 0) and all(h.temps for h in lowered.hoists.values())
    got = {b: r["famille"].sort("famille_id").get_column("grande").to_list() for b, r in res.items()}
    assert got["polars"] == pytest.approx(got["duckdb"], abs=1e-9) and any(v != 0 for v in got["polars"])


def test_a_large_formula_cut_at_its_repeated_sub_trees_gives_the_whole_trees_bits():
    """``polars_backend._hoist`` (small frames' large formulas): a sub-tree met twice becomes a column once, layer
    after layer; a constant sub-tree and one holding a strict cast of a float to an integer stay inline (that cast,
    computed on every row, fails on the infinite value its ``where`` leaves out); the values are the whole tree's,
    bit for bit, on values that are infinite, negative zero or NaN."""
    from nonrecours.engine.polars_backend import ZERO, _hoist, _same_bits, lower_polars
    from nonrecours.rules.ir import BinOp, Cast, Col, Compare, Func, Lit, Where, walk

    x, y = Col("famille", "x"), Col("famille", "y")
    types = {"x": "float", "y": "float"}
    scaled = BinOp("mul", BinOp("add", x, y), Lit(1.5, "float"))  # met in every branch
    truncated = Cast(BinOp("mul", x, Lit(2.0, "float")), "int")  # strict: fails on x = inf
    constant = BinOp("add", Lit(2.0, "float"), Lit(3.0, "float"))
    finite = Compare("lt", Func("abs", (x,)), Lit(1e300, "float"))
    tree: object = Lit(0.0, "float")
    for k in range(6):
        branch = Where(finite, BinOp("add", Cast(truncated, "float"), scaled), BinOp("div", scaled, constant))
        tree = BinOp("add", tree, Where(Compare("gt", scaled, Lit(float(k), "float")), branch,
                                        Func("round", (BinOp("mul", scaled, Lit(0.1, "float")),), 2)))

    def t(e):  # the IR types of this tree's nodes
        from nonrecours.engine.plan import dtype_of
        return dtype_of(e, types)

    top, temps = _hoist(tree, t, "__h")
    assert temps and all(c.startswith("__h") for c, _, _, _ in temps)
    cut = {repr(sub) for _, sub, _, _ in temps}
    assert repr(scaled) in cut and repr(constant) not in cut  # the repeated sum is a column, the constant inline
    assert not any(isinstance(n, Cast) and n.dtype == "int" for _, sub, _, _ in temps for n in walk(sub))
    assert any(isinstance(n, Cast) and n.dtype == "int" for n in walk(top))  # the strict cast stayed in the tree
    coltypes = {**types, **{c: dtype for c, _, _, dtype in temps}}
    frame = pl.DataFrame({"x": [1.25, float("inf"), -0.0, float("nan"), -3.5, 0.0],
                          "y": [2.0, 1.0, 0.0, 1.0, 7.25, -0.0], ZERO: [0.0] * 6})
    whole = frame.with_columns(lower_polars(tree, types).alias("v"))["v"]
    got = frame
    for layer in range(1, max(layer for _, _, layer, _ in temps) + 1):
        got = got.with_columns(lower_polars(sub, coltypes).alias(c) for c, sub, at, _ in temps if at == layer)
    assert _same_bits(got.with_columns(lower_polars(top, coltypes).alias("v"))["v"], whole)


def test_a_duckdb_memory_limit_too_low_says_what_to_do():
    """DuckDB out of its memory limit stops with the remedies named (raise the limit, a spill folder,
    partitions), not the bare exception's name (a probe of the backends from the docs alone, 5 December 2026)."""
    from nonrecours.simulation.situations import load_situations

    situations = [{"id": f"s{i}", "month": "2026-04", "depcom": "46042", "housing": {"status": "tenant", "rent": 400},
                   "persons": [{"role": "parent", "age": 40, "unit": "main", "monthly": {"salary_net": 300 * i}}]}
                  for i in range(3)]
    batch = load_situations(situations)
    with pytest.raises(EngineError, match=r"OutOfMemoryException: the memory limit .* too low.*spill_dir.*partitions"):
        evaluate(["rsa"], Inputs(**batch.frames), batch.person_months, backend="duckdb",
                 duckdb_config={"memory_limit": "1MB"})
