"""Allocation supplémentaire d'invalidité (CSS art. L815-24 and following): a ``simulate`` output and a
resource of the other benefits.

Since April 2020 the ASI is the difference between a ceiling (single or couple) and the foyer's
resources of the three previous months, for a person drawing an invalidity pension who is not entitled
to the ASPA (CSS art. L815-24, L815-24-1, D815-19). Resources are those of the ASPA without the AAH.
A couple whose other member is entitled to the ASPA gets no ASI (the ASPA side counts both; see ``aspa``).
Not modelled: retirees with a disability (ASI after an early pension).
"""

from __future__ import annotations

from nonrecours.rules.benefits.common import PARENTS
from nonrecours.rules.dsl import Famille, Individu, condition, maximum, param, rule, where

__all__: list[str] = []

S = "prestations_etat_de_sante.asi"


@rule(entity="individu", dtype="bool", label="éligibilité individuelle à l'ASI", ref="CSS art. L815-24 et L816-1")
def asi_eligibilite(i: Individu):
    invalidite = condition("titulaire d'une pension d'invalidité", i.invalidity_pension > 0, ref="CSS art. L815-24")
    sejour = (i.nationality_group != "OTHER") | (
        i.residence_permit_years >= param("minima_sociaux.aspa.duree_min_titre_sejour"))
    return i.est_parent & ~i.aspa_eligibilite & invalidite & sejour


@rule(entity="famille", dtype="float", label="allocation supplémentaire d'invalidité (mensuelle, foyer)",
      ref="CSS art. L815-24-1 et D815-19")
def asi(f: Famille):
    n = f.count(role=PARENTS, where=f.members.asi_eligibilite)
    plafond = where(f.en_couple, param(f"{S}.plafond_ressources_annuel.couple"),
                    param(f"{S}.plafond_ressources_annuel.personne_seule")) / 12
    ressources = f.sum(f.members.asi_aspa_ressources_hors_aah, role=PARENTS)
    eligible = (n >= 1) & (f.aspa_nb_eligibles == 0)
    return where(eligible, maximum(plafond - ressources, 0.0), 0.0)
