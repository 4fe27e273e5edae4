"""The DSL builds the intended immutable IR and refuses malformed rules early."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from nonrecours.errors import RuleError
from nonrecours.rules import dsl
from nonrecours.rules.dsl import Famille, Individu, condition, mean_over, param, shift, sum_over, where
from nonrecours.rules.ir import (
    Agg,
    BinOp,
    Col,
    Compare,
    Condition,
    Func,
    Lit,
    Param,
    Project,
    Shift,
    Where,
    entity_of,
    key,
    mapped,
    walk,
)
from nonrecours.rules.registry import Registry


def test_operators_build_nodes():
    f = Famille()
    e = (f.a + 1) * 2 >= param("x.y")
    assert isinstance(e, Compare) and e.op == "ge"
    assert isinstance(e.left, BinOp) and e.left.op == "mul"
    assert key(e.left.left) == key(BinOp("add", Col("famille", "a"), Lit(1, "int")))
    assert isinstance(e.right, Param) and e.right.name == "x.y"
    assert key(2 - f.a) == key(BinOp("sub", Lit(2, "int"), Col("famille", "a")))


def test_mapped_rebuilds_only_what_changes():
    a, b = Col("individu", "a"), Col("individu", "b")
    tree = Func("minimum", (a, BinOp("add", a, Lit(1, "int"))))
    assert mapped(tree, lambda x: x) is tree  # nothing changed: the same node
    swapped = mapped(tree, lambda x: b if x is a else x)
    assert swapped is not tree and swapped.name == "minimum"
    assert swapped.args[0] is b and swapped.args[1] is tree.args[1]
    where = Where(Compare("gt", a, Lit(0, "int")), a, b)
    assert key(mapped(where, lambda x: b if x is a else x)) == key(Where(where.cond, b, b))


def test_nodes_are_frozen():
    node = Col("famille", "a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        node.name = "b"  # type: ignore[misc]


def test_truth_value_refused():
    f = Famille()
    with pytest.raises(RuleError, match="no truth value"):
        bool(f.a > 1)
    with pytest.raises(RuleError):
        _ = f.a > 1 and f.b > 2


def test_aggregates_and_roles():
    f = Famille()
    e = f.count(role="enfant", where=f.members.age < 25)
    assert isinstance(e, Agg) and e.kind == "count" and e.roles == ("enfant",) and e.unit == "famille"
    assert entity_of(e) == "famille" and entity_of(e.where) == "individu"
    s = f.sum(f.members.salaire, role=("demandeur", "conjoint"))
    assert s.roles == ("demandeur", "conjoint")
    with pytest.raises(RuleError, match="unknown role 'declarant' in famille"):
        f.count(role="declarant")


def test_projections():
    i = Individu()
    p = i.famille.rsa
    assert isinstance(p, Project) and (p.source, p.target) == ("famille", "individu")
    q = i.famille.count(role="enfant")
    assert isinstance(q, Project) and isinstance(q.expr, Agg)
    r = Famille().menage.loyer
    assert isinstance(r, Project) and (r.source, r.target) == ("menage", "famille")
    assert entity_of(p + 1) == "individu"
    with pytest.raises(RuleError, match="mixes entities"):
        entity_of(i.x + Famille().y)


def test_item_access_for_clashing_names():
    f = Famille()
    assert key(f["sum"]) == key(Col("famille", "sum"))


def test_shift_and_windows():
    i = Individu()
    assert isinstance(shift(i.x, -1), Shift)
    assert key(shift(i.x, 0)) == key(i.x)
    total = sum_over(i.x, -3, -1)
    assert sorted(n.months for n in walk(total) if isinstance(n, Shift)) == [-3, -2, -1]
    mean = mean_over(i.x, -12, -1)
    assert isinstance(mean, BinOp) and mean.op == "div" and mean.right.value == 12.0
    with pytest.raises(RuleError):
        sum_over(i.x, 0, -1)


def test_where_and_literals():
    w = where(Famille().a > 0, 0.5, 0)
    assert isinstance(w, Where) and w.then.dtype == "float" and w.otherwise.dtype == "int"
    assert dsl.lit(dt.date(2024, 1, 1)).dtype == "date"
    with pytest.raises(RuleError, match="cannot use a value"):
        dsl.lit([1, 2])


def test_rule_registers_variants_and_conditions():
    reg = Registry()

    @reg.rule(entity="famille", dtype="float", label="A", start="2024-01-01", end="2024-12-31", name="a")
    def a_2024(f: Famille):
        c = condition("Une personne à charge", f.count(role="enfant") > 0, ref="art. 1")
        c2 = condition("Une personne à charge", f.count(role="conjoint") > 0)
        return where(c & c2, 1.0, 0.0)

    @reg.rule(entity="famille", dtype="float", label="A", start="2025-01-01", name="a")
    def a_2025(f: Famille):
        return 2.0

    assert reg.variant("a", dt.date(2024, 7, 1)).origin.endswith("a_2024")
    assert reg.variant("a", dt.date(2025, 3, 1)).origin.endswith("a_2025")
    with pytest.raises(RuleError, match="no formula in force in 2023-12"):
        reg.variant("a", dt.date(2023, 12, 1))
    v = reg.variant("a", dt.date(2024, 1, 1))
    assert v.conditions == ("a__une_personne_a_charge", "a__une_personne_a_charge_2")
    conds = [n for n in walk(v.expr) if isinstance(n, Condition)]
    assert conds[0].ref == "art. 1" and conds[0].label == "Une personne à charge"


def test_overlapping_variants_refused():
    reg = Registry()

    @reg.rule(entity="famille", dtype="float", label="A", start="2024-01-01", name="a")
    def a1(f: Famille):
        return 1.0

    with pytest.raises(RuleError, match="overlap"):
        @reg.rule(entity="famille", dtype="float", label="A", start="2025-01-01", name="a")
        def a2(f: Famille):
            return 2.0


def test_malformed_declarations():
    reg = Registry()
    with pytest.raises(RuleError, match="unknown entity"):
        reg.rule(entity="foyer", dtype="float", label="x")
    with pytest.raises(RuleError, match="unknown dtype"):
        reg.input_variable("x", entity="famille", dtype="decimal", monthly=False, label="x")
    with pytest.raises(RuleError, match="double underscore"):
        reg.input_variable("x__y", entity="famille", dtype="float", monthly=False, label="x")
    with pytest.raises(RuleError, match="first day of a month"):
        @reg.rule(entity="famille", dtype="float", label="x", start="2024-01-15")
        def x(f: Famille):
            return 1.0
    with pytest.raises(RuleError, match="returned nothing"):
        @reg.rule(entity="famille", dtype="float", label="y")
        def y(f: Famille):
            pass
    with pytest.raises(RuleError, match="outside a rule body"):
        condition("x", Famille().a > 1)
    reg.input_variable("z", entity="famille", dtype="float", monthly=False, label="z")
    with pytest.raises(RuleError, match="input variable already has this name"):
        @reg.rule(entity="famille", dtype="float", label="z")
        def z(f: Famille):
            return 1.0


def test_cast_and_is_in():
    i = Individu()
    assert i.statut.is_in(["a", "b"]).values == ("a", "b")
    with pytest.raises(RuleError):
        i.statut.is_in([])
    with pytest.raises(RuleError, match="cast only"):
        i.x.cast("str")
