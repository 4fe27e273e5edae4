"""Explanations (conditions, parameters, inputs with their source) and the static list of inputs."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from toyrules import ALL_TARGETS

from nonrecours.engine import Inputs, evaluate, required_inputs
from nonrecours.engine.sql_backend import lower_sql
from nonrecours.errors import EngineError, UnsupportedConstructError
from nonrecours.rules.ir import Cast, Col, Func

JUNE = dt.date(2024, 6, 1)


def _with_sources(h: Inputs) -> Inputs:
    ind = h.individu.with_columns(pl.lit("caf").alias("age__source"))
    monthly = h.individu_monthly.with_columns(
        pl.when(pl.col("month") == dt.date(2024, 3, 1)).then(pl.lit("dgfip")).otherwise(pl.lit("france_travail"))
        .alias("salaire__source"))
    return Inputs(**{**h.__dict__, "individu": ind, "individu_monthly": monthly})


@pytest.mark.parametrize("backend", ["polars", "duckdb"])
def test_explain_famille(backend, toy_reg, toy_params, household):
    res = evaluate(["allocation"], _with_sources(household), JUNE, backend=backend, registry=toy_reg,
                   parameters=toy_params)
    text = res.explain("famille", 20)
    assert "Famille — mois évalué 2024-06" in text
    assert "Composition : demandeur, enfant" in text
    assert "allocation jouet (allocation) = 782,99 [Code jouet art. 4 (2024)]" in text
    assert "remplie : Un demandeur est présent (règle allocation)" in text
    assert "remplie : Au-dessus du plancher (règle allocation)" in text
    assert "toy.base = 520,55 pour 2024-06 (en vigueur depuis le 2024-04-01 ; Décret 2)" in text
    assert "salaire net (salaire), demandeur : 2024-03 : 400,00 (dgfip)" in text
    assert "2024-05 : 200,00 (france_travail)" in text
    assert "âge (age), enfant : 0 (non fourni : valeur par défaut)" in text
    assert "âge (age), demandeur : 35 (caf)" in text
    # members are named by role, never by identifier
    assert "person_id" not in text and " 5 " not in text


def test_explain_failed_condition_and_individu(toy_reg, toy_params, household):
    res = evaluate(ALL_TARGETS, household, JUNE, registry=toy_reg, parameters=toy_params)
    text = res.explain("individu", 4)
    assert text.startswith("Individu — mois évalué 2024-06")
    assert "part individuelle (part)" in text
    assert "loyer (loyer) : niveau ménage : 2024-06 : 0,00 (non fourni : valeur par défaut)" in text
    text = res.explain("famille", 20)
    assert "loyer (loyer) : niveau ménage (celui du demandeur) : 2024-06 : 460,00" in text
    assert "revenu fiscal (revenu_fiscal) : niveau foyer fiscal (celui du demandeur) : 9 000,00" in text
    text = res.explain("famille", 10, targets=["nb_enfants"])
    assert "nombre d'enfants à charge (nb_enfants) = 1" in text
    assert "Âge inférieur à l'âge maximal : non" in text and "Âge inférieur à l'âge maximal : oui" in text
    assert "enfant 1" in text and "enfant 2" in text
    assert "allocation" not in text
    with pytest.raises(EngineError, match="no single famille"):
        res.explain("famille", 12345)


def test_required_inputs_static(toy_reg):
    assert required_inputs(["nb_enfants"], registry=toy_reg) == {"individu": {"age"}}
    need = required_inputs(["allocation"], registry=toy_reg)
    # the union over the dated variants: the June variant reads the ménage rent
    assert need == {"individu": {"age", "salaire", "handicap"}, "famille": {"isole", "aide"},
                    "menage": {"loyer"}}
    with_roles = required_inputs(["nb_enfants"], registry=toy_reg, structural=True)
    assert with_roles == {"individu": {"age", "famille_role"}}
    assert required_inputs(["divers"], registry=toy_reg, structural=True)["individu"] >= {
        "famille_role", "salaire", "heures", "statut", "handicap", "age"}


def test_required_inputs_of_the_project_rules_are_kept_and_each_call_gets_its_own_sets():
    """The project's rules' answer is kept (detection asks it for each rule it explains): the same as a walk of a
    registry holding the same rules, and a caller changing what it got changes nobody else's answer."""
    from nonrecours.engine.evaluate import _required
    from nonrecours.rules.registry import default_registry

    first = required_inputs(["rsa"])
    assert first == _required(["rsa"], default_registry(), False) and "age" in first["individu"]
    first["individu"].clear()
    assert "age" in required_inputs(["rsa"])["individu"]
    assert required_inputs(["rsa"], structural=True)["individu"] >= {"famille_role", "age"}


def test_unsupported_constructs_name_backend_and_node():
    with pytest.raises(UnsupportedConstructError, match="duckdb: no lowering for function sqrt"):
        lower_sql(Func("sqrt", (Col("famille", "x"),)), {"x": "float"})
    with pytest.raises(UnsupportedConstructError, match="duckdb: cast from str"):
        lower_sql(Cast(Col("famille", "s"), "int"), {"s": "str"})
    from nonrecours.engine.polars_backend import lower_polars

    with pytest.raises(UnsupportedConstructError, match="polars: no lowering for function sqrt"):
        lower_polars(Func("sqrt", (Col("famille", "x"),)), {"x": "float"})


def test_sql_is_written_without_data(toy_reg, toy_params, household):
    from nonrecours.engine.plan import build_plan

    plan = build_plan(["allocation"], toy_reg, toy_params, JUNE)
    coltypes = {s.name: s.dtype for s in plan.steps.values()}
    step = plan.steps["allocation"]
    sql = lower_sql(step.expr, coltypes)
    assert '"forfait"' in sql and '"ressources_famille"' in sql
    assert "CASE WHEN" in sql


def test_unsupported_construct_in_a_rule_names_the_rule_and_backend(toy_params, household):
    """A rule the SQL lowering cannot render fails on DuckDB naming the rule and the backend (never a
    silent fallback); Polars has its own lowering of the same node."""
    from nonrecours.rules.registry import Registry

    reg = Registry()
    reg.input_variable("nom", entity="individu", dtype="str", monthly=False, label="nom")

    @reg.rule(entity="individu", dtype="int", label="nom en nombre")
    def nom_en_nombre(i):  # type: ignore[no-untyped-def]
        return Cast(Col("individu", "nom"), "int")

    ind = household.individu.with_columns(nom=pl.lit("x"))
    with pytest.raises(UnsupportedConstructError, match=r"rule nom_en_nombre: duckdb: cast from str"):
        evaluate(["nom_en_nombre"], Inputs(individu=ind), JUNE, backend="duckdb", registry=reg,
                 parameters=toy_params)
