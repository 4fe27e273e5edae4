"""PAJE allocation de base (CSS art. L531-1 and L531-3, R531-1, D531-1 and D531-3): a monthly amount for a
famille with a child under three, at the full rate (41.65 % of the BMAF for children born or adopted since
1 April 2018) when the resources of year N-2 are under the full-rate ceiling, half of it under the partial-rate
ceiling, nothing above. Both ceilings are raised by 25 % for each of the first two children at charge, 30 %
from the third, and by a fixed amount for a lone parent or a couple where both earn (CSS art. R531-1, which
takes over the majorations of CSS art. R522-2). Since May 2021 every child under three is under the April
2018 regime. It excludes the complément familial (CSS art. L532-1).

The amount paid is an input (``paje_base``, the CAF extract or a situation's ``benefits_paid``); what the
minima sociaux count is that paid amount when payments are known, this computed entitlement otherwise.

Not modelled: adoption (paid for three years from the adoption), the allocation de naissance, the PreParE
and the complément de libre choix du mode de garde, multiple births (one allocation per child born at
once, CSS art. L531-3), Mayotte, capital income.
"""

from __future__ import annotations

from nonrecours.rules.benefits.common import PARENTS, au_mois
from nonrecours.rules.dsl import Famille, Individu, condition, maximum, minimum, param, rule, where

__all__: list[str] = []

PF = "prestations_familiales"
PAJE = "prestations_familiales.paje"


@rule(entity="individu", dtype="bool", label="enfant de moins de trois ans ouvrant l'allocation de base",
      ref="CSS art. L531-3 et D531-1")
def paje_enfant(i: Individu):
    """Paid up to the month before the third birthday: an age under three on the first day of the month."""
    return i.est_enfant & (i.age_mois < param(f"{PAJE}.age_limite")) & ~i.autonomie_financiere


@rule(entity="famille", dtype="bool", label="couple dont chacun a des revenus professionnels d'au moins 12 BMAF "
      "l'année de référence, ou parent isolé", ref="CSS art. R531-1 et R522-2")
def pf_biactifs_ou_isole(f: Famille):
    """Earnings and unemployment benefit of year N-2 net of the 10 % deduction, against twelve times the BMAF
    in force on 1 January of that year (the reference model's reading of « revenu professionnel »)."""
    seuil_activite = 12 * au_mois(param(f"{PF}.bmaf"), 1, annees=-2)
    n_actifs = f.count(role=PARENTS, where=f.members.pf_revenu_professionnel >= seuil_activite)
    return ~f.en_couple | (n_actifs == 2)


def _plafond(f: Famille, taux: str):  # type: ignore[no-untyped-def]
    n = f.af_nb_enfants
    base = param(f"{PAJE}.{taux}.plafond_base")
    majoration = where(f.pf_biactifs_ou_isole, param(f"{PAJE}.{taux}.majoration_biactifs_isoles"), 0.0)
    return base * (1 + param(f"{PF}.cf.majoration_deux_premiers_enfants") * minimum(n, 2)
                   + param(f"{PF}.cf.majoration_enfant_supplementaire") * maximum(n - 2, 0)) + majoration


@rule(entity="famille", dtype="float", label="allocation de base: plafond de ressources du taux plein",
      ref="CSS art. L531-3 et R531-1")
def paje_plafond_taux_plein(f: Famille):
    return _plafond(f, "taux_plein")


@rule(entity="famille", dtype="float", label="allocation de base: plafond de ressources du taux partiel",
      ref="CSS art. L531-3 et R531-1")
def paje_plafond_taux_partiel(f: Famille):
    return _plafond(f, "taux_partiel")


@rule(entity="famille", dtype="float", label="allocation de base de la PAJE (montant du droit, mensuel)",
      ref="CSS art. L531-3, R531-1 et D531-3", start="2021-05-01")
def paje_base_droit(f: Famille):
    enfant = condition("un enfant de moins de trois ans", f.count(where=f.members.paje_enfant) >= 1,
                       ref="CSS art. L531-3 et D531-1")
    plein = param(f"{PF}.bmaf") * param(f"{PAJE}.taux")
    ressources = f.pf_base_ressources
    montant = where(ressources <= f.paje_plafond_taux_plein, plein,
                    where(ressources <= f.paje_plafond_taux_partiel, plein * param(f"{PAJE}.part_taux_partiel"),
                          0.0))
    return where(enfant, montant, 0.0)


@rule(entity="famille", dtype="float", label="allocation de base retenue pour les autres prestations (versée "
      "quand elle est connue, sinon le droit calculé)", ref="CASF art. R262-10; CSS art. R844-5")
def paje_base_retenue(f: Famille):
    return where(f.prestations_versees_connues, f.paje_base, f.paje_base_droit)
