"""Allocation de rentrée scolaire (CSS art. L543-1 and R543-1 to D543-2): a yearly amount, paid in August,
for each child at charge who is six to eighteen at the school year's start, by age bracket (6-10, 11-14,
15-18, ages reached in the calendar year), under a ceiling on the resources of year N-2 raised by 30 % per
child at charge. Just above the ceiling a differential amount is paid (CSS art. R543-6-1), nothing below
15 euros (CSS art. D543-2).

The amount is that of the calendar year of the evaluated month: ages in December of that year (a child of
18 stays eligible the first months after the birthday, the 15 September rule), the BMAF and the ceiling of
October, the number of children at charge in October, the resources of year N-2. The charge of a child past
compulsory schooling (its remuneration under the ceiling of L512-3, 2°: CSS art. L543-1, 2nd paragraph, and
R512-2) is judged on the day of the school year's start (CSS art. R543-1): from September the rules read the
child's financial autonomy in September; before September, when the school year has not started, its
autonomy in the evaluated month (the latest known).

Not modelled: whether a child of sixteen to eighteen is still at school or in apprenticeship (no input
says it; every child of that age counts), children placed with a third party, capital income.
"""

from __future__ import annotations

from nonrecours.rules.benefits.common import age_au, au_mois
from nonrecours.rules.dsl import Famille, Individu, condition, maximum, month_of, month_start, param, rule, shift, where

__all__: list[str] = []

ARS = "prestations_familiales.ars"
PF = "prestations_familiales"


@rule(entity="individu", dtype="int", label="âge au 1er décembre de l'année", ref="CSS art. R543-2")
def ars_age_decembre(i: Individu):
    return age_au(i, 12)


@rule(entity="individu", dtype="bool", label="ARS: autonomie financière de l'enfant au jour de la rentrée scolaire",
      ref="CSS art. L543-1, R543-1 et R512-2")
def ars_autonomie_rentree(i: Individu):
    """"[La] charge au jour de la rentrée scolaire" (R543-1): the autonomy of September for a month from
    September to December (September is then one of the months the inputs state); before September the
    school year has not started and the evaluated month's autonomy is the latest known. Not December
    (OpenFisca-France's reading), nor the evaluated month after September."""
    mois = month_of(month_start())
    out = i.autonomie_financiere
    for m in range(10, 13):
        out = where(mois == m, shift(i.autonomie_financiere, 9 - m), out)
    return out


@rule(entity="individu", dtype="bool", label="enfant à charge au sens des prestations familiales en octobre",
      ref="CSS art. L512-3 et R512-2")
def ars_enfant_a_charge_octobre(i: Individu):
    return (i.famille_role == "enfant") & (age_au(i, 10) >= 0) & (age_au(i, 10) < param(f"{PF}.af.age_limite")) \
        & ~i.ars_autonomie_rentree


@rule(entity="individu", dtype="float", label="ARS: taux de l'enfant (en BMAF)", ref="CSS art. R543-2 et D543-1")
def ars_taux_enfant(i: Individu):
    """By the age reached in the calendar year; a child who turns 18 in the last months of the year (before
    the school year's start, 15 September) still counts as a lycéen."""
    age = i.ars_age_decembre
    age_mois = age_au(i, 12, en_mois=True)
    limite = param(f"{ARS}.age_limite")
    a_charge = (i.famille_role == "enfant") & ~i.ars_autonomie_rentree
    dix_huit_ans_a_la_rentree = (age_mois >= 12 * limite) & (age_mois <= 12 * limite + 2)
    primaire = (age >= param(f"{ARS}.age_primaire")) & (age < param(f"{ARS}.age_college"))
    college = (age >= param(f"{ARS}.age_college")) & (age < param(f"{ARS}.age_lycee"))
    lycee = ((age >= param(f"{ARS}.age_lycee")) & (age < limite)) | dix_huit_ans_a_la_rentree
    taux = where(primaire, param(f"{ARS}.taux_primaire"),
                 where(college, param(f"{ARS}.taux_college"), where(lycee, param(f"{ARS}.taux_lycee"), 0.0)))
    return where(a_charge, taux, 0.0)


@rule(entity="famille", dtype="float", label="ARS: plafond de ressources", ref="CSS art. R543-6")
def ars_plafond(f: Famille):
    n = f.count(where=f.members.ars_enfant_a_charge_octobre)
    return au_mois(param(f"{ARS}.plafond_ressources"), 10) * (1 + param(f"{ARS}.majoration_par_enfant") * n)


@rule(entity="famille", dtype="float", label="allocation de rentrée scolaire de l'année (annuelle)",
      ref="CSS art. L543-1, R543-6, R543-6-1, D543-1 et D543-2")
def ars_annuelle(f: Famille):
    """The two conditions are labelled so that a flag's reasons say which held (at the month the payment was
    due, for a flag judged then)."""
    bmaf = au_mois(param(f"{PF}.bmaf"), 10)
    pleine = bmaf * f.sum(f.members.ars_taux_enfant)
    enfant = condition("un enfant à charge de 6 à 18 ans à la rentrée scolaire", pleine > 0,
                       ref="CSS art. L543-1, R543-1 et R543-2")
    montant = maximum(pleine - maximum(f.pf_base_ressources - f.ars_plafond, 0.0), 0.0)
    # with a child, the first term implies the second (the full amount exceeds the minimum): the two together are
    # the rule's own test; without one, the line still says whether the resources are under the ceiling
    ressources = condition("ressources de l'année N-2 sous le plafond, ou allocation différentielle d'au moins 15 €",
                           (f.pf_base_ressources <= f.ars_plafond) | (montant >= param(f"{ARS}.montant_minimum")),
                           ref="CSS art. R543-6, R543-6-1 et D543-2")
    return where(enfant & ressources & (montant >= param(f"{ARS}.montant_minimum")), montant, 0.0)
