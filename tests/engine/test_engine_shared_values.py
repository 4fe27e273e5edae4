"""The Polars backend computes a step once per distinct value (``polars_backend._Values``): a rule read at several
month offsets whose inputs are equal there is given the column already computed. These tests check that it is
given only when the values are equal bit for bit, and that it is given at all."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from toyrules import ALL_TARGETS, toy_registry

import nonrecours.engine.polars_backend as pb
from nonrecours.engine import Inputs, evaluate
from nonrecours.engine.inputs import literal
from nonrecours.rules.dsl import Famille, Individu, param, shift, where
from nonrecours.rules.ir import BinOp, Cast, Col, Compare, Func, IsIn, Lit, Where, key, template, walk

JUNE = dt.date(2024, 6, 1)
MONTHS = [dt.date(2024, m, 1) for m in range(1, 7)]


def _household(salaries: dict[int, list[float]]) -> Inputs:
    """One famille per person, each with a salary per month of ``MONTHS`` (stable resources: equal months)."""
    ids = sorted(salaries)
    ind = pl.DataFrame({
        "person_id": ids, "famille_id": ids, "famille_role": ["demandeur"] * len(ids),
        "foyer_fiscal_id": ids, "foyer_fiscal_role": ["declarant"] * len(ids),
        "menage_id": ids, "menage_role": ["personne_de_reference"] * len(ids),
        "age": [40] * len(ids), "date_naissance": [dt.date(1984, 1, 1)] * len(ids),
        "handicap": [False] * len(ids), "statut": ["salarie"] * len(ids)})
    monthly = pl.DataFrame({"person_id": [p for p in ids for _ in MONTHS], "month": MONTHS * len(ids),
                            "salaire": [v for p in ids for v in salaries[p]],
                            "heures": [35] * (len(ids) * len(MONTHS))})
    one = {"month": [JUNE] * len(ids)}
    return Inputs(individu=ind, individu_monthly=monthly,
                  famille=pl.DataFrame({"famille_id": ids, "isole": [False] * len(ids)}),
                  famille_monthly=pl.DataFrame({"famille_id": ids, **one, "aide": [0.0] * len(ids)}),
                  menage=pl.DataFrame({"menage_id": ids, "zone": [2] * len(ids)}),
                  menage_monthly=pl.DataFrame({"menage_id": ids, **one, "loyer": [500.0] * len(ids)}),
                  foyer_fiscal=pl.DataFrame({"foyer_fiscal_id": ids, "revenu_fiscal": [0.0] * len(ids)}))


def _copies_registry():
    reg = toy_registry()

    @reg.rule(entity="individu", dtype="float", label="salaire du mois")
    def salaire_du_mois(i: Individu):
        return i.salaire * 1

    @reg.rule(entity="individu", dtype="float", label="salaire du mois précédent")
    def salaire_precedent(i: Individu):
        return shift(i.salaire, -1) * 1

    return reg


def test_a_zero_and_a_negative_zero_are_not_the_same_value(toy_params):
    """``Series.equals`` takes -0.0 for 0.0: the comparison is on the bits, so the month before keeps its sign."""
    reg = _copies_registry()
    inputs = _household({1: [0.0, 0.0, 0.0, 0.0, -0.0, 0.0], 2: [5.0] * 6})
    res = evaluate(["salaire_du_mois", "salaire_precedent"], inputs, JUNE, registry=reg, parameters=toy_params)
    row = res["individu"].filter(pl.col("person_id") == 1).row(0, named=True)
    assert math.copysign(1.0, row["salaire_du_mois"]) == 1.0
    assert math.copysign(1.0, row["salaire_precedent"]) == -1.0


def test_the_literal_of_a_negative_zero_keeps_its_sign_after_a_zero_was_built():
    """0.0 and -0.0 are equal with one hash: the literals' cache must not give one for the other (1 / -0.0 is -inf)."""
    for first, then in ((0.0, -0.0), (-0.0, 0.0)):
        literal(first, "float")
        out = pl.select(literal(then, "float").alias("x"), (1.0 / literal(then, "float")).alias("inv")).row(0)
        assert math.copysign(1.0, out[0]) == math.copysign(1.0, then)
        assert out[1] == math.copysign(math.inf, then)
    assert pl.select(literal(1, "int")).dtypes == [pl.Int64] and pl.select(literal(1.0, "float")).item() == 1.0


def test_a_rule_read_at_equal_months_is_computed_once(toy_params, monkeypatch):
    """With the same salary every month, the three months of ``ressources`` (and what reads them) are computed once;
    the results are those of DuckDB, which computes every step."""
    computed: list[str] = []
    run_level = pb._run_level

    def spy(plan, frames, steps, lowered):
        computed.extend(s.name for s in steps)
        return run_level(plan, frames, steps, lowered)

    monkeypatch.setattr(pb, "_run_level", spy)
    reg = toy_registry()
    inputs = _household({1: [1200.0] * 6, 2: [300.0, 300.0, 300.0, 300.0, 300.0, 300.0]})
    polars = evaluate(ALL_TARGETS, inputs, JUNE, registry=reg, parameters=toy_params)
    duck = evaluate(ALL_TARGETS, inputs, JUNE, backend="duckdb", registry=reg, parameters=toy_params)
    steps = [s for s in polars.plan.steps.values() if s.kind != "input"]
    assert len(computed) < len(steps)
    assert "ressources__m1" in polars.plan.steps and "ressources__m1" not in computed
    for entity, frame in polars.frames.items():
        assert frame.equals(duck.frames[entity].select(frame.columns)), entity


def test_a_text_that_reads_like_a_column_does_not_make_two_rules_one(toy_params):
    """The shapes are built on the trees, not on their text: a string literal written like a column is a literal."""
    reg = toy_registry()
    reg.input_variable("code", entity="individu", dtype="str", monthly=True, label="code")
    text = "Col(entity='individu', name='code')"

    @reg.rule(entity="individu", dtype="float", label="ra")
    def ra(i: Individu):
        return where(i.code == text, 1.0, 0.0)

    @reg.rule(entity="individu", dtype="float", label="rb")
    def rb(i: Individu):
        return where(shift(i.code, -1) == "Col(entity='individu', name='code__m1')", 1.0, 0.0)

    months = [dt.date(2024, 5, 1), JUNE]
    inputs = Inputs(individu=pl.DataFrame({
        "person_id": [1], "famille_id": [1], "famille_role": ["demandeur"], "foyer_fiscal_id": [1],
        "foyer_fiscal_role": ["declarant"], "menage_id": [1], "menage_role": ["personne_de_reference"]}),
        individu_monthly=pl.DataFrame({"person_id": [1, 1], "month": months, "code": [text, text]}))
    res = evaluate(["ra", "rb"], inputs, JUNE, registry=reg, parameters=toy_params)
    assert res["individu"].select("ra", "rb").row(0) == (1.0, 0.0)


def test_the_sql_backend_shares_what_equal_inputs_make_equal(toy_params, monkeypatch):
    """DuckDB computes the plan as written: ``shared_plan`` drops the steps equal inputs make equal before it runs
    (their readers read the first, a result column is its copy), with the bits of computing every step."""
    from nonrecours.engine.inputs import prepare

    reg = toy_registry()
    inputs = _household({1: [1200.0] * 6, 2: [300.0] * 6})
    shared = evaluate(ALL_TARGETS, inputs, JUNE, backend="duckdb", registry=reg, parameters=toy_params)
    plan = shared.plan
    reduced, _ = pb.shared_plan(plan, prepare(plan, inputs, missing="error"))
    computed = [s for s in reduced.steps.values() if s.kind != "input"]
    assert len(computed) < len([s for s in plan.steps.values() if s.kind != "input"])
    assert "ressources__m1" in plan.steps and "ressources__m1" not in reduced.steps
    assert {s.name for s in plan.steps.values() if s.public} <= set(reduced.steps)
    monkeypatch.setattr(pb, "SHARE", False)
    every = evaluate(ALL_TARGETS, inputs, JUNE, backend="duckdb", registry=reg, parameters=toy_params)
    for entity, frame in shared.frames.items():
        assert frame.columns == every.frames[entity].columns
        for col in frame.columns:
            assert pb._same_bits(frame.get_column(col), every.frames[entity].get_column(col)), (entity, col)


@st.composite
def _salaries(draw: st.DrawFn) -> dict[int, list[float]]:
    """Salaries drawn from a few values (months often equal, person to person or in one person's months)."""
    pool = [0.0, -0.0, 100.0, 100.5, 1e-9, 2000.0]
    persons = range(1, draw(st.integers(1, 5)) + 1)
    return {p: draw(st.lists(st.sampled_from(pool), min_size=6, max_size=6)) for p in persons}


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(salaries=_salaries())
def test_sharing_gives_the_bits_of_computing_every_step(toy_params, salaries, monkeypatch):
    """On salaries where some months are equal and others differ by little (a sign, a nano-euro), every output
    column is the one computed without sharing, bit for bit (the sign of a zero included), on Polars and on DuckDB
    (``shared_plan``), and the two backends agree to 1e-9."""
    reg = _copies_registry()
    targets = [*ALL_TARGETS, "salaire_du_mois", "salaire_precedent"]
    inputs = _household(salaries)
    shared = evaluate(targets, inputs, JUNE, registry=reg, parameters=toy_params)
    duck = evaluate(targets, inputs, JUNE, backend="duckdb", registry=reg, parameters=toy_params)
    monkeypatch.setattr(pb, "SHARE", False)
    every = evaluate(targets, inputs, JUNE, registry=reg, parameters=toy_params)
    duck_every = evaluate(targets, inputs, JUNE, backend="duckdb", registry=reg, parameters=toy_params)
    for entity, frame in shared.frames.items():
        assert frame.columns == every.frames[entity].columns
        for col in frame.columns:
            assert pb._same_bits(frame.get_column(col), every.frames[entity].get_column(col)), (entity, col)
            dcol = duck.frames[entity].get_column(col)
            assert pb._same_bits(dcol, duck_every.frames[entity].get_column(col)), ("duckdb", entity, col)
            a, b = frame.get_column(col).to_list(), dcol.to_list()
            assert a == (pytest.approx(b, abs=1e-9) if frame.schema[col] == pl.Float64 else b), (entity, col)


def _activity_registry():
    """``actif`` stored at two months (a formula and next stage's aggregates read it there), then counted per
    famille at each: where salaries differ but are both positive, the two counts are one value."""
    reg = toy_registry()

    @reg.rule(entity="individu", dtype="bool", label="actif")
    def actif(i: Individu):
        return i.salaire > 0

    @reg.rule(entity="individu", dtype="bool", label="actif deux mois")
    def actif_deux_mois(i: Individu):
        return i.actif & shift(i.actif, -1)

    @reg.rule(entity="famille", dtype="int", label="actifs")
    def nb_actifs(f: Famille):
        return f.count(where=f.members.actif)

    @reg.rule(entity="famille", dtype="int", label="évolution des actifs")
    def evolution_actifs(f: Famille):
        return f.nb_actifs - shift(f.nb_actifs, -1)

    return reg


@pytest.mark.parametrize("may", [(250.0, 0.0), (0.0, 0.0)])
def test_duckdb_gives_a_step_the_column_its_statement_found_equal(toy_params, monkeypatch, may):
    """DuckDB compares the columns each statement stores (``sql_backend._Runner._given``): ``actif`` of May and of
    June are equal though the salaries differ, so May's count is June's, written as a copy in the statement that
    computes both; where May's activity differs, nothing is copied. Bit for bit the values of computing every step."""
    import nonrecours.engine.sql_backend as sb

    copied: list[set[str]] = []
    run = sb._Runner.run

    def spy(self):
        out = run(self)
        copied.append(set(self.copied))
        return out

    monkeypatch.setattr(sb._Runner, "run", spy)
    reg = _activity_registry()
    targets = ["actif_deux_mois", "evolution_actifs"]
    inputs = _household({1: [900.0, 900.0, 900.0, 900.0, 1000.0, 1200.0], 2: [0.0, 0.0, 0.0, 0.0, *may]})
    shared = evaluate(targets, inputs, JUNE, backend="duckdb", registry=reg, parameters=toy_params)
    same = may[0] == may[1]
    assert ("nb_actifs__m1" in copied[-1]) is same
    polars = evaluate(targets, inputs, JUNE, registry=reg, parameters=toy_params)
    monkeypatch.setattr(pb, "SHARE", False)
    every = evaluate(targets, inputs, JUNE, backend="duckdb", registry=reg, parameters=toy_params)
    assert copied[-1] == set()
    for entity, frame in shared.frames.items():
        assert frame.columns == every.frames[entity].columns
        for col in frame.columns:
            assert pb._same_bits(frame.get_column(col), every.frames[entity].get_column(col)), (entity, col)
        assert frame.equals(polars.frames[entity].select(frame.columns)), entity
    assert shared["famille"].sort("famille_id").get_column("evolution_actifs").to_list() == [0, 0 if same else -1]


def _late_copy_registry():
    """``b`` folds to ``a``'s formula (its parameter condition is constant) but its unfolded dependencies reach a
    late stage: its statement comes after the one that stored ``a``, which it is given."""
    reg = toy_registry()

    @reg.rule(entity="individu", dtype="float", label="double du salaire")
    def sal2(i: Individu):
        return i.salaire * 2

    @reg.rule(entity="famille", dtype="float", label="total")
    def tot(f: Famille):
        return f.sum(f.members.sal2)

    @reg.rule(entity="individu", dtype="float", label="profond")
    def deep(i: Individu):
        return i.famille.tot + 1

    @reg.rule(entity="famille", dtype="float", label="plus profond")
    def deeper(f: Famille):
        return f.sum(f.members.deep)

    @reg.rule(entity="famille", dtype="float", label="v")
    def v(f: Famille):
        return where(f.aide >= 0, 1.0, 0.0) + where(f.tot > 1e12, 2.0, 0.0)

    @reg.rule(entity="famille", dtype="float", label="a")
    def a(f: Famille):
        return f.v + 1

    @reg.rule(entity="famille", dtype="float", label="b")
    def b(f: Famille):
        return where(param("toy.base") > 510.0, shift(f.v, -2) + 1, f.v + 1 + f.deeper * 0)

    @reg.rule(entity="famille", dtype="float", label="c")
    def c(f: Famille):
        return f.deeper * 2

    return reg


def test_duckdb_gives_a_step_a_column_an_earlier_statement_stored(toy_params, monkeypatch):
    """A step given a column stored by an earlier statement (``_Runner._given``): set beside the frame under its
    name, with the bits and the column order of computing every step."""
    import nonrecours.engine.sql_backend as sb

    given: list[int] = []
    run = sb._Runner.run

    def spy(self):
        out = run(self)
        given.append(self.ngiven)
        return out

    monkeypatch.setattr(sb._Runner, "run", spy)
    reg = _late_copy_registry()
    targets = ["a", "b", "c"]
    inputs = _household({1: [100.0] * 6, 2: [0.0, 0.0, 0.0, 0.0, 2000.0, 2000.0]})
    shared = evaluate(targets, inputs, JUNE, backend="duckdb", registry=reg, parameters=toy_params)
    assert given[-1] > 0
    monkeypatch.setattr(pb, "SHARE", False)
    every = evaluate(targets, inputs, JUNE, backend="duckdb", registry=reg, parameters=toy_params)
    for entity, frame in shared.full.items():
        assert frame.columns == every.full[entity].columns, entity
        for col in frame.columns:
            assert pb._same_bits(frame.get_column(col), every.full[entity].get_column(col)), (entity, col)


def _printed_shape(e):  # the key the shapes were before rules.ir.template: the renamed tree, printed
    deps = tuple(dict.fromkeys(n.name for n in walk(e) if isinstance(n, Col)))
    return key(pb._renamed(e, {d: f"#{i}" for i, d in enumerate(deps)}, {})), deps


def _numbered_shape(e, memo, ids):
    number, occurs = template(e, memo, ids)
    deps = tuple(dict.fromkeys(occurs))
    return (number, tuple(deps.index(n) for n in occurs)), deps


def test_template_tells_trees_apart_as_their_printed_renamed_trees_do():
    """``rules.ir.template`` (the shapes' key) groups trees as the text of the renamed trees did: the same formula
    over other columns is one shape; the pattern of the columns, a literal's sign or type, a role, an entity are
    not (0.0 and -0.0, 1 and 1.0 and True are equal as dict keys: the values go by type and text)."""
    a, b, c = (Col("famille", n) for n in ("a", "b", "c"))
    trees = [BinOp("add", a, b), BinOp("add", b, c), BinOp("add", a, a), BinOp("add", b, b), BinOp("add", b, a),
             BinOp("mul", a, b), BinOp("add", a, Lit(0.0, "float")), BinOp("add", b, Lit(-0.0, "float")),
             BinOp("add", c, Lit(1, "int")), BinOp("add", a, Lit(1.0, "float")), Compare("eq", a, Lit(True, "bool")),
             Compare("eq", b, Lit(1, "int")), BinOp("add", Col("individu", "a"), b),
             Where(Compare("gt", a, b), BinOp("add", a, b), Cast(c, "int")),
             Where(Compare("gt", c, a), BinOp("add", c, a), Cast(b, "int")),
             Where(Compare("gt", c, a), BinOp("add", c, a), Cast(b, "float")),
             IsIn(a, ("x", "y")), IsIn(b, ("x", "y")), IsIn(b, ("y", "x")),
             Func("round", (BinOp("mul", a, b),), 2), Func("round", (BinOp("mul", c, a),), 2),
             Func("round", (BinOp("mul", c, a),), 1)]
    memo, ids = {}, {}
    printed = [_printed_shape(t) for t in trees]
    numbered = [_numbered_shape(t, memo, ids) for t in trees]
    assert [p[1] for p in printed] == [n[1] for n in numbered]  # the columns read, in the same order
    for i in range(len(trees)):
        for j in range(len(trees)):
            assert (printed[i][0] == printed[j][0]) == (numbered[i][0] == numbered[j][0]), (trees[i], trees[j])
    assert numbered[0][0] == numbered[1][0] and numbered[2][0] == numbered[3][0] != numbered[0][0]


@pytest.mark.slow
def test_template_groups_a_real_plans_formulas_as_the_printed_trees_did():
    """On simulate's plan of a month (1,854 formulas), the shapes of ``_Lowered.shape`` make the same groups as the
    printed renamed trees did, and read the same columns."""
    from nonrecours.engine.evaluate import cached_plan
    from nonrecours.rules.params import default_parameters
    from nonrecours.rules.registry import default_registry
    from nonrecours.simulation.runner import OUTPUT_FIELDS, _rules

    plan = cached_plan(tuple(_rules(OUTPUT_FIELDS)), default_registry(), default_parameters(), JUNE)
    lowered = pb._Lowered(plan, {s.name: s.dtype for s in plan.steps.values()})
    printed: dict[object, set[str]] = {}
    numbered: dict[object, set[str]] = {}
    for s in plan.steps.values():
        if s.kind != "formula":
            continue
        text, deps = _printed_shape(lowered.folded(s.name))
        body, shape_deps = lowered.shape(s.name)
        assert shape_deps == deps, s.name
        printed.setdefault((s.entity, s.dtype, text), set()).add(s.name)
        numbered.setdefault(body, set()).add(s.name)
    assert sorted(map(sorted, printed.values())) == sorted(map(sorted, numbered.values()))
    assert len(numbered) < sum(map(len, numbered.values()))  # some formulas do share a shape
