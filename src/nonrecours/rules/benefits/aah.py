"""Allocation aux adultes handicapés, modelled only as a *resource* of RSA, prime d'activité, ASPA and CSS.

The situation inputs carry no AAH paid, so it is computed (CSS art. L821-1 to L821-3, individual
"deconjugalised" resources since October 2023): a person at least 80 % disabled, or 50 % with a
restriction substantielle et durable d'accès à l'emploi until the legal retirement age, receives the
maximum amount less her own resources, the ceiling being raised by half the amount per child; a
pension d'invalidité is deducted first. Workers are assessed on the three previous months (times
four), others on the taxable income of year N-2 (inputs ``*_imposable(s)_n2``). Earned
income is reduced by 80 % up to 30 % of the annual SMIC and 40 % beyond (CSS art. D821-9).
AAH is not a simulate output; the complement (majoration pour la vie autonome) is counted where the
law counts it.
"""

from __future__ import annotations

from nonrecours.rules.dsl import Famille, Individu, condition, maximum, minimum, param, rule, shift, sum_over, where

__all__: list[str] = []

A = "prestations_etat_de_sante.aah"


@rule(entity="individu", dtype="bool", label="éligibilité à l'AAH (handicap, âge)", ref="CSS art. L821-1 et L821-2")
def aah_eligible(i: Individu):
    taux = condition("taux d'incapacité d'au moins 80 %, ou d'au moins 50 % avec RSDAE avant l'âge légal de retraite",
                     (i.disability_rate >= param(f"{A}.taux_incapacite"))
                     | ((i.disability_rate >= param(f"{A}.taux_incapacite_rsdae")) & i.rsdae
                        & (i.age_mois <= param(f"{A}.age_legal_retraite"))), ref="CSS art. L821-1 et L821-2")
    age = condition("20 ans ou plus (16 ans sans ouvrir droit aux prestations familiales)",
                    (i.age_mois >= param(f"{A}.age_minimal"))
                    | ((i.age_mois >= param(f"{A}.age_fin_obligation_scolaire")) & ~i.af_enfant), ref="CSS art. R821-1")
    return taux & age


def _assiette_activite(revenus_annuels, smic_annuel):  # type: ignore[no-untyped-def]
    tranche = minimum(param(f"{A}.tranche_smic") * smic_annuel, revenus_annuels)
    return ((1 - param(f"{A}.abattement_tranche")) * tranche
            + (1 - param(f"{A}.abattement_au_dela")) * maximum(revenus_annuels - tranche, 0.0))


@rule(entity="individu", dtype="float", label="AAH: base ressources mensuelle (ressources propres)",
      ref="CSS art. L821-3, R821-4 et D821-9")
def aah_base_ressources(i: Individu):
    smic_annuel = 12 * param("marche_travail.smic.horaire_brut") * param("marche_travail.smic.heures_mensuelles")
    en_activite = i.salary_net > 0
    trimestre_activite = 4 * sum_over(i.salary_net + i.unemployment, -3, -1)
    trimestre_autres = 4 * sum_over(i.alimony_received + i.invalidity_pension + i.pension_net, -3, -1)
    trimestrielle = maximum(_assiette_activite(trimestre_activite, smic_annuel) + trimestre_autres, 0.0)
    annuelle = _assiette_activite(i.revenu_activite_n2, smic_annuel) + i.pensions_n2
    return where(en_activite, trimestrielle, annuelle) / 12


@rule(entity="individu", dtype="float", label="allocation aux adultes handicapés (mensuelle)",
      ref="CSS art. L821-1, L821-3 et D821-2")
def aah(i: Individu):
    montant = param(f"{A}.montant")
    plafond = montant * (1 + param(f"{A}.majoration_plafond_par_enfant") * i.famille.af_nb_enfants)
    differentielle = minimum(montant, maximum(plafond - i.aah_base_ressources, 0.0))
    asi_du_mois_precedent = where(i.asi_eligibilite, shift(i.famille.asi, -1), 0.0)
    apres_invalidite = maximum(montant - i.invalidity_pension - asi_du_mois_precedent, 0.0)
    return where(i.aah_eligible, minimum(differentielle, apres_invalidite), 0.0)


@rule(entity="individu", dtype="float", label="majoration pour la vie autonome (complément de l'AAH)",
      ref="CSS art. L821-1-2 et D821-3")
def caah(i: Individu):
    logement_independant = i.menage_role.is_in(["personne_de_reference", "conjoint"]) & (
        i.famille.statut_occupation != "foyer")
    eligible = ((i.disability_rate >= param(f"{A}.taux_incapacite")) & (i.aah > 0) & logement_independant
                & (i.salary_net <= 0) & (i.famille.aide_logement > 0))
    return where(eligible, param(f"{A}.majoration_vie_autonome"), 0.0)


@rule(entity="famille", dtype="float", label="AAH des membres de la famille (mensuelle)", ref="CSS art. L821-1")
def aah_famille(f: Famille):
    return f.sum(f.members.aah)
