"""Prime d'activité (CSS art. L841-1 and following).

For each of the three months before the evaluated month, a "fictive" prime is computed with that
month's resources, composition and parameters:

    montant forfaitaire (majorated for an isolated parent) + fraction of earned income
    + individual bonuses − max(resources + forfait logement, montant forfaitaire)

The prime of the evaluated month is the mean of the three, paid when at least 15 € (CSS art. L842-3,
D843-1 to D843-3).
The foyer is the beneficiary, the partner and the persons at charge (CSS art. R842-3): its size, its earned
income, its resources and its bonuses are all taken over those members (``ppa_membre_foyer``); a grown-up child
of the famille who is not at charge is out of it, with his resources (he may claim the prime himself).
The earned-income fraction went from 61 % to 59.85 % on 2025-04-01 and the bonus parameters changed
on 2026-04-01: both are parameters, bound per month.
A non-salaried worker's income is the last yearly profit known over twelve months (CSS art. R844-1).
Not modelled: apprentices' specific floor, capital income, ASI.
"""

from __future__ import annotations

from nonrecours.rules.benefits.common import PARENTS, taux_montant_forfaitaire, taux_montant_majore_isolement
from nonrecours.rules.dsl import (
    Famille,
    Individu,
    condition,
    day_of,
    maximum,
    mean_over,
    minimum,
    month_of,
    month_start,
    param,
    round_,
    rule,
    shift,
    where,
    year_of,
)

__all__: list[str] = []

P = "minima_sociaux.ppa"


def _smic_horaire():  # type: ignore[no-untyped-def]
    return param("marche_travail.smic.horaire_brut")


@rule(entity="individu", dtype="float", label="prime d'activité: indemnités journalières comptées comme revenus "
      "d'activité (arrêt de moins de trois mois, ou salaire dans le mois)", ref="CSS art. R844-1")
def ij_activite(i: Individu):
    """The daily allowances of a work stoppage count as earned income for its first three months (CSS art. R844-1),
    then as a replacement income. The DRM gives neither the kind nor the stoppage's date: a stoppage is recent when
    no allowance was paid three months before, or when the person still earns a salary that month (OpenFisca-France
    reads the same two signs without a date)."""
    recent = (shift(i.indemnites_journalieres, -3) <= 0) | (i.salary_net > 0)
    return where(recent, i.indemnites_journalieres, 0.0)


@rule(entity="individu", dtype="float", label="prime d'activité: revenus d'activité du mois (AAH comprise au-delà "
      "de 29 heures de SMIC)", ref="CSS art. L842-4, R844-1 et D843-4")
def ppa_revenu_activite_individu(i: Individu):
    """The month's salary and a non-salaried worker's last yearly profit known over twelve months (CSS art. L842-4,
    R844-1; OpenFisca-France's ``ppa_rsa_derniers_revenus_tns_annuels_connus``)."""
    seuil_aah = param(f"{P}.seuil_aah_activite") * _smic_horaire()
    activite = i.salary_net + i.revenus_non_salaries_mensuels + i.ij_activite
    return activite + where(activite >= seuil_aah, i.aah_percue, 0.0)


@rule(entity="individu", dtype="float", label="prime d'activité: autres ressources du mois",
      ref="CSS art. L842-4 et R843-1")
def ppa_ressources_hors_activite_individu(i: Individu):
    seuil_aah = param(f"{P}.seuil_aah_activite") * _smic_horaire()
    activite = i.salary_net + i.revenus_non_salaries_mensuels + i.ij_activite
    return (i.unemployment + i.pension_net + i.invalidity_pension + i.alimony_received + i.caah
            + i.indemnites_journalieres - i.ij_activite + i.autres_ressources
            + where(activite < seuil_aah, i.aah_percue, 0.0))


@rule(entity="individu", dtype="float", label="bonification individuelle de la prime d'activité",
      ref="CSS art. L842-3, 2° et D843-2")
def ppa_bonification(i: Individu):
    smic = _smic_horaire()
    seuil = param(f"{P}.bonification.seuil") * smic
    seuil_max = param(f"{P}.bonification.seuil_max") * smic
    bonif_max = round_(param(f"{P}.bonification.taux_max") * param(f"{P}.montant_de_base"), 2)
    bonif = bonif_max * (i.ppa_revenu_activite_individu - seuil) / (seuil_max - seuil)
    return minimum(maximum(bonif, 0.0), bonif_max)


@rule(entity="individu", dtype="bool", label="enfant né dans le mois, après son premier jour")
def ppa_enfant_ne_dans_le_mois(i: Individu):
    """Not yet a member on the first day of the month (``est_enfant``), a member on its last day."""
    naissance, debut = i.date_naissance, month_start()
    return ((i.famille_role == "enfant") & (year_of(naissance) == year_of(debut))
            & (month_of(naissance) == month_of(debut)) & (day_of(naissance) > 1))


@rule(entity="individu", dtype="bool", label="prime d'activité: enfant ou personne à charge au dernier jour du mois",
      ref="CSS art. R842-3 et R843-1, II")
def ppa_enfant_a_charge(i: Individu):
    """A child at charge as the RSA counts it (``rsa_enfant_a_charge``: age, financial autonomy, own resources
    under the increase it brings), or born during the month: for each reference month the composition is the
    foyer's on the last day of that month (CSS art. R843-1, II), so a child born during the month counts for it,
    though the RSA's count (the first day) leaves it out. A newborn has no resource and is not autonomous."""
    return i.rsa_enfant_a_charge | i.ppa_enfant_ne_dans_le_mois


@rule(entity="individu", dtype="bool", label="membre du foyer de la prime d'activité",
      ref="CSS art. L842-3 et R842-3")
def ppa_membre_foyer(i: Individu):
    """The foyer is the beneficiary, the partner and the children and persons at charge (CSS art. R842-3). Its
    size (``ppa_nb_enfants``), the earned income of « membres du foyer », the bonus of each « travailleur, membre du
    foyer » and « les ressources du foyer » (CSS art. L842-3) are all taken over it: a child of the famille who is
    not at charge (e.g. a son of 22 earning 1 300 €) is neither counted nor his resources (he may claim the prime
    in his own right). OpenFisca-France 176.1.8 sums every member of the famille: docs/oracle_disagreements.md."""
    return i.est_parent | i.ppa_enfant_a_charge


@rule(entity="famille", dtype="int", label="prime d'activité: enfants à charge au dernier jour du mois",
      ref="CSS art. R842-3 et R843-1, II")
def ppa_nb_enfants(f: Famille):
    return f.count(where=f.members.ppa_enfant_a_charge)


@rule(entity="famille", dtype="float", label="prime d'activité: revenus d'activité du foyer",
      ref="CSS art. L842-3, L842-4 et R842-3")
def ppa_revenu_activite(f: Famille):
    m = f.members
    return f.sum(m.ppa_revenu_activite_individu, where=m.ppa_membre_foyer)


@rule(entity="famille", dtype="float", label="prime d'activité: base ressources du foyer",
      ref="CSS art. L842-4, R842-3, R843-1 à R843-4 et R844-4")
def ppa_base_ressources(f: Famille):
    m = f.members
    return (f.ppa_revenu_activite + f.sum(m.ppa_ressources_hors_activite_individu, where=m.ppa_membre_foyer)
            + f.pf_retenues_minima + f.aspa + f.asi)


@rule(entity="famille", dtype="float", label="prime d'activité: montant forfaitaire (majoré pour un parent isolé)",
      ref="CSS art. L842-3, L842-7, R843-1 et D843-1")
def ppa_montant_forfaitaire(f: Famille):
    base = param(f"{P}.montant_de_base")
    taux = taux_montant_forfaitaire(P, f.nb_parents + f.ppa_nb_enfants, f.nb_parents)
    majore = base * taux_montant_majore_isolement(P, f.ppa_nb_enfants)
    return where(f.rsa_majore_eligibilite, majore, base * taux)


@rule(entity="famille", dtype="float", label="forfait logement de la prime d'activité à taux plein",
      ref="CSS art. R844-3")
def ppa_forfait_logement_plein(f: Famille):
    """The forfait a housing aid of at least its amount brings: computed on the montant forfaitaire of at most three
    persons. What a famille's prime d'activité loses once the housing aid it is due is received."""
    n = f.nb_parents + f.ppa_nb_enfants
    base = param(f"{P}.montant_de_base") * (
        1 + where(n >= 2, param(f"{P}.majoration.deuxieme_personne"), 0.0)
        + where(n >= 3, param(f"{P}.majoration.troisieme_personne"), 0.0))
    return base * where(n <= 1, param(f"{P}.forfait_logement.taux_1_personne"),
                        where(n == 2, param(f"{P}.forfait_logement.taux_2_personnes"),
                              param(f"{P}.forfait_logement.taux_3_personnes_ou_plus")))


@rule(entity="famille", dtype="float", label="forfait logement de la prime d'activité", ref="CSS art. R844-3")
def ppa_forfait_logement(f: Famille):
    """Up to the housing aid received (or the whole forfait for a famille housed without cost)."""
    forfait = f.ppa_forfait_logement_plein
    aide = where(f.aide_logement_retenue > 0, f.aide_logement_retenue, 0.0)
    return maximum(minimum(aide, forfait), where(f.avantage_nature_logement, forfait, 0.0))


@rule(entity="famille", dtype="bool", label="prime d'activité: conditions d'âge et de séjour",
      ref="CSS art. L842-1, L842-2 et R842-2")
def ppa_eligibilite(f: Famille):
    """The conditions are the beneficiary's (CSS art. L842-2: « par le bénéficiaire ») and his partner's (R842-2),
    not any member's: a French child, or a grown-up child not at charge, does not open the prime to parents who
    do not meet them. The beneficiary is whichever of the couple claims, so one parent meeting them suffices, as
    the RSA reads CASF L262-4 (``rsa_eligibilite``); whether a partner who does not meet them still counts in the
    foyer is not modelled (docs/benefits.md). A person entitled to the majoration for isolation (L842-7), such
    as an isolated pregnant woman, needs only a lawful residence (L842-2, 2°, c; CSS art. L512-2)."""
    m = f.members
    age = condition("le demandeur ou son conjoint a 18 ans ou plus",
                    f.any(m.age_mois >= param(f"{P}.age_min"), role=PARENTS), ref="CSS art. L842-2, 1°")
    sejour = condition("le demandeur ou son conjoint remplit la condition de nationalité ou de séjour, ou la "
                       "famille a droit à la majoration pour isolement",
                       f.any(m.rsa_condition_nationalite, role=PARENTS) | f.rsa_majore_eligibilite,
                       ref="CSS art. L842-2, 2° et L842-7")
    return age & sejour


@rule(entity="famille", dtype="float", label="prime d'activité calculée pour un mois de référence",
      ref="CSS art. L842-3")
def ppa_fictive(f: Famille):
    forfaitaire = f.ppa_montant_forfaitaire
    # one bonus per « travailleur, membre du foyer » (CSS art. L842-3)
    montant = (forfaitaire + f.sum(f.members.ppa_bonification, where=f.members.ppa_membre_foyer)
               + param(f"{P}.fraction_revenus_activite") * f.ppa_revenu_activite
               - maximum(f.ppa_base_ressources + f.ppa_forfait_logement, forfaitaire))
    return where(f.ppa_eligibilite, maximum(montant, 0.0), 0.0)


@rule(entity="famille", dtype="bool", label="prime d'activité: activité professionnelle sur le trimestre de référence "
      "(étudiants: revenus au-dessus du plancher chaque mois)", ref="CSS art. L842-1 et L842-2")
def ppa_eligibilite_etudiants(f: Famille):
    m = f.members
    plancher = param(f"{P}.plancher_etudiant_heures") * _smic_horaire() * param(f"{P}.plancher_etudiant_taux")
    revenus = [shift(m.ppa_revenu_activite_individu, k) for k in (-1, -2, -3)]
    non_etudiant = ~m.student & ((revenus[0] > 0) | (revenus[1] > 0) | (revenus[2] > 0))
    etudiant = (revenus[0] > plancher) & (revenus[1] > plancher) & (revenus[2] > plancher)
    return f.rsa_majore_eligibilite | f.any(non_etudiant | etudiant, role=PARENTS)


@rule(entity="famille", dtype="float", label="prime d'activité", ref="CSS art. L842-3 et D843-1")
def ppa(f: Famille):
    montant = mean_over(f.ppa_fictive, -3, -1)
    activite = condition("activité professionnelle (ou plancher étudiant) sur le trimestre de référence",
                         f.ppa_eligibilite_etudiants, ref="CSS art. L842-1 et L842-2")
    versable = condition("montant au moins égal au seuil de versement",
                         montant >= param(f"{P}.montant_minimum_verse"), ref="CSS art. D843-1")
    return where(activite & versable, montant, 0.0)
