"""A small rule set written with the DSL, independent of the real benefits, that exercises every IR
construct: aggregates by role with filters, projections both ways, shifts, windows, dated variants and
parameters changing inside a reference window, guarded division, rounding, dates and conditions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from nonrecours.rules.dsl import (
    Famille,
    FoyerFiscal,
    Individu,
    Menage,
    ceil,
    condition,
    floor,
    maximum,
    mean_over,
    minimum,
    month_start,
    param,
    round_,
    shift,
    sum_over,
    where,
    years_between,
)
from nonrecours.rules.params import ParameterStore
from nonrecours.rules.registry import Registry

PARAMS = {
    "toy/base": """
description: Montant de base
unit: currency
reference: "Code jouet art. 1"
values:
  2023-01-01: {value: 500.0, ref: "Décret 1"}
  2024-04-01: {value: 520.55, ref: "Décret 2"}
""",
    "toy/taux_enfant": """
description: Majoration par enfant
unit: rate
values:
  2020-01-01: 0.3
""",
    "toy/age_max": """
description: Âge maximal d'un enfant à charge
unit: year
values:
  2000-01-01: {value: 25}
""",
}


def write_params(root: Path) -> ParameterStore:
    for name, text in PARAMS.items():
        path = root / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return ParameterStore(root)


def toy_registry() -> Registry:
    reg = Registry()
    iv = reg.input_variable
    iv("salaire", entity="individu", dtype="float", monthly=True, label="salaire net")
    iv("age", entity="individu", dtype="int", monthly=False, label="âge")
    iv("date_naissance", entity="individu", dtype="date", monthly=False, label="date de naissance",
       default=dt.date(1980, 1, 1))
    iv("handicap", entity="individu", dtype="bool", monthly=False, label="handicap")
    iv("statut", entity="individu", dtype="str", monthly=False, label="statut", default="autre")
    iv("heures", entity="individu", dtype="int", monthly=True, label="heures travaillées")
    iv("loyer", entity="menage", dtype="float", monthly=True, label="loyer")
    iv("zone", entity="menage", dtype="int", monthly=False, label="zone", default=2)
    iv("isole", entity="famille", dtype="bool", monthly=False, label="parent isolé")
    iv("aide", entity="famille", dtype="float", monthly=True, label="aide versée")
    iv("revenu_fiscal", entity="foyer_fiscal", dtype="float", monthly=False, label="revenu fiscal")

    @reg.rule(entity="individu", dtype="bool", label="enfant à charge", ref="Code jouet art. 2")
    def enfant_a_charge(i: Individu):
        return condition("Âge inférieur à l'âge maximal", i.age < param("toy.age_max"), ref="art. 2-1") & \
            (i.famille_role == "enfant")

    @reg.rule(entity="individu", dtype="float", label="ressources moyennes")
    def ressources(i: Individu):
        return mean_over(i.salaire, -3, -1) + where(i.handicap, 10, 0)

    @reg.rule(entity="famille", dtype="int", label="nombre d'enfants à charge")
    def nb_enfants(f: Famille):
        return f.count(where=f.members.enfant_a_charge)

    @reg.rule(entity="famille", dtype="float", label="forfait", ref="Code jouet art. 3")
    def forfait(f: Famille):
        return param("toy.base") * (1 + param("toy.taux_enfant") * f.nb_enfants + where(f.isole, 0.5, 0))

    @reg.rule(entity="famille", dtype="float", label="ressources de la famille")
    def ressources_famille(f: Famille):
        return f.sum(f.members.ressources, role=("demandeur", "conjoint")) + shift(f.aide, -1)

    @reg.rule(entity="famille", dtype="float", label="allocation jouet", ref="Code jouet art. 4",
              end="2024-05-31", name="allocation")
    def allocation_avant(f: Famille):
        adulte = condition("Un demandeur est présent", f.count(role="demandeur") >= 1)
        return where(adulte, round_(maximum(f.forfait - f.ressources_famille, 0), 2), 0)

    @reg.rule(entity="famille", dtype="float", label="allocation jouet", ref="Code jouet art. 4 (2024)",
              start="2024-06-01", name="allocation")
    def allocation_apres(f: Famille):
        adulte = condition("Un demandeur est présent", f.count(role="demandeur") >= 1)
        plancher = condition("Au-dessus du plancher", f.forfait - f.ressources_famille >= 6)
        return where(adulte & plancher, round_(f.forfait - f.ressources_famille + f.menage.loyer * 0.1, 2), 0)

    @reg.rule(entity="famille", dtype="float", label="allocation sur trois mois")
    def allocation_trimestre(f: Famille):
        return sum_over(f.allocation, -2, 0)

    @reg.rule(entity="famille", dtype="float", label="indicateurs divers")
    def divers(f: Famille):
        m = f.members
        return (
            f.max(m.salaire, role="enfant", default=-1.0)
            + f.min(m.age, where=m.age > 0)
            + f.value_of("conjoint", m.age, default=-5)
            + where(f.any(m.handicap), 1, 0) + where(f.all(m.handicap, role="enfant"), 100, 0)
            + f.sum(m.heures) / f.count(role="enfant")
            + f.sum(m.statut.is_in(["etudiant", "salarie"]))
            + floor(f.aide / 3) - ceil(f.aide / 7)
            + minimum(f.menage.zone, 3) + f.foyer_fiscal.revenu_fiscal / 1000
        )

    @reg.rule(entity="individu", dtype="float", label="part individuelle")
    def part(i: Individu):
        return round_(i.famille.allocation / i.famille.count(), 2) + i.menage.loyer / 100 \
            + i.foyer_fiscal.revenu_fiscal * 0

    @reg.rule(entity="individu", dtype="int", label="âge calculé")
    def age_calcule(i: Individu):
        return years_between(i.date_naissance, month_start())

    @reg.rule(entity="menage", dtype="float", label="loyer par personne")
    def loyer_pp(m: Menage):
        return m.loyer / m.count() + m.sum(m.members.part) * 0

    @reg.rule(entity="foyer_fiscal", dtype="int", label="nombre de déclarants")
    def nb_declarants(ff: FoyerFiscal):
        return ff.count(role="declarant")

    return reg


ALL_TARGETS = ["allocation", "allocation_trimestre", "divers", "part", "age_calcule", "loyer_pp",
               "nb_declarants"]


def small_household() -> dict[str, pl.DataFrame]:
    """Two familles in two ménages: a couple with two children (one aged 30), a single parent."""
    ind = pl.DataFrame({
        "person_id": [1, 2, 3, 4, 5, 6],
        "famille_id": [10, 10, 10, 10, 20, 20],
        "famille_role": ["demandeur", "conjoint", "enfant", "enfant", "demandeur", "enfant"],
        "foyer_fiscal_id": [100, 100, 100, 101, 200, 200],
        "foyer_fiscal_role": ["declarant", "declarant", "personne_a_charge", "declarant", "declarant",
                              "personne_a_charge"],
        "menage_id": [1000, 1000, 1000, 1000, 2000, 2000],
        "menage_role": ["personne_de_reference", "conjoint", "enfant", "autre", "personne_de_reference",
                        "enfant"],
        "age": [40, 38, 10, 30, 35, None],
        "date_naissance": [dt.date(1984, 6, 15), dt.date(1986, 5, 1), dt.date(2014, 1, 1), None,
                           dt.date(1989, 7, 1), dt.date(2020, 2, 29)],
        "handicap": [False, False, True, None, False, False],
        "statut": ["salarie", "salarie", "etudiant", None, "autre", "autre"],
    })
    months = [dt.date(2024, m, 1) for m in (2, 3, 4, 5)]
    monthly = pl.DataFrame({
        "person_id": [1, 1, 1, 2, 5, 5, 3],
        "month": [months[0], months[1], months[2], months[2], months[1], months[3], months[3]],
        "salaire": [900.0, 1000.0, None, 300.0, 400.0, 200.0, 50.0],
        "heures": [10, 20, None, 5, 7, 8, 1],
    })
    menage_m = pl.DataFrame({"menage_id": [1000, 2000, 1000, 2000],
                             "month": [months[3], months[3], months[2], dt.date(2024, 6, 1)],
                             "loyer": [700.0, 450.0, 690.0, 460.0]})
    famille = pl.DataFrame({"famille_id": [10, 20], "isole": [False, True]})
    famille_m = pl.DataFrame({"famille_id": [20], "month": [months[2]], "aide": [30.0]})
    menage = pl.DataFrame({"menage_id": [1000, 2000], "zone": [4, None]})
    foyer = pl.DataFrame({"foyer_fiscal_id": [100, 101, 200], "revenu_fiscal": [25000.0, None, 9000.0]})
    return {"individu": ind, "individu_monthly": monthly, "menage_monthly": menage_m, "famille": famille,
            "famille_monthly": famille_m, "foyer_fiscal": foyer, "menage": menage}
