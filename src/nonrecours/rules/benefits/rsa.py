"""Revenu de solidarité active (CASF art. L262-1 and following), mainland France and overseas departments.

RSA = montant forfaitaire (or the majorated amount of an isolated parent) − forfait logement − resources
of the foyer averaged over the three months before the evaluated month; not paid under 6 €.
A non-salaried worker's income is the last yearly profit the DGFiP knows over twelve months (CASF art. R262-18
s.). Not modelled: RSA jeune actif (under 25 with two years of work), the non-salaried worker's turnover
ceilings and the département's own assessment of their income (CASF art. L262-7, R262-23), capital income,
interrupted-resource neutralisation beyond the rule of CASF art. R262-13, Mayotte.
"""

from __future__ import annotations

from nonrecours.rules.benefits.common import PARENTS, taux_montant_forfaitaire, taux_montant_majore_isolement
from nonrecours.rules.dsl import Famille, Individu, condition, maximum, mean_over, param, rule, shift, where

__all__: list[str] = []

R = "minima_sociaux.rsa"


def _neutralise(x, substitution):  # type: ignore[no-untyped-def]
    """A resource that stopped in the evaluated month (none this month, some the month before) is not
    counted when no substitution income started (CASF art. R262-13)."""
    interrompu = (x == 0) & (shift(x, -1) > 0) & ~substitution
    return where(interrompu, 0.0, mean_over(x, -3, -1))


@rule(entity="individu", dtype="bool", label="revenu de substitution perçu dans le mois (chômage, retraite, "
      "indemnités journalières)")
def rsa_ressources_substitution(i: Individu):
    return (i.unemployment + i.pension_net + i.indemnites_journalieres) > 0


@rule(entity="individu", dtype="float", label="RSA: revenus d'activité moyens des trois mois précédents",
      ref="CASF art. R262-6, R262-7 et R262-18 à R262-25")
def rsa_revenu_activite_individu(i: Individu):
    """Salaries over the three months before, and a non-salaried worker's last yearly profit known over twelve
    months (CASF art. R262-18 s.: the profit is assessed on the latest year known, not month by month)."""
    return _neutralise(i.salary_net, i.rsa_ressources_substitution) + i.revenus_non_salaries_mensuels


@rule(entity="individu", dtype="float", label="RSA: autres ressources moyennes des trois mois précédents "
      "(chômage, retraite, invalidité, pension alimentaire, AAH, indemnités journalières, autres ressources)",
      ref="CASF art. R262-6 et R262-11")
def rsa_ressources_individu(i: Individu):
    pros = (_neutralise(i.unemployment, i.rsa_ressources_substitution)
            + _neutralise(i.pension_net, i.rsa_ressources_substitution))
    forfait = 3 * param(f"{R}.montant_de_base")
    non_pros = 0.0
    for x in (i.invalidity_pension, i.alimony_received):
        arrete = (x == 0) & (shift(x, -1) > 0)
        non_pros = non_pros + maximum(3 * mean_over(x, -3, -1) - where(arrete, forfait, 0.0), 0.0) / 3
    # the daily allowances and the other resources the DRM declares: resources of every nature (CASF art. R262-6)
    autres = mean_over(i.indemnites_journalieres + i.autres_ressources, -3, -1)
    return pros + non_pros + mean_over(i.aah_percue + i.caah, -3, -1) + autres


@rule(entity="famille", dtype="bool", label="parent enceinte dans la famille")
def enceinte_fam(f: Famille):
    return f.any(f.members.pregnant, role=PARENTS)


@rule(entity="individu", dtype="bool", label="enfant à charge au sens du RSA", ref="CASF art. L262-2 et R262-3")
def rsa_enfant_a_charge(i: Individu):
    """A child counts while younger than the age limit, not financially autonomous (CSS art. R512-2: a child
    earning 55 % of the SMIC opens no family benefit, CASF art. R262-3, 1°) and while its own resources stay
    under the increase of the montant forfaitaire it brings (CAF practice; OpenFisca-France rule)."""
    base = param(f"{R}.montant_de_base")
    age_pac = param(f"{R}.age_pac")
    fam = i.famille
    autres_enfants = fam.count(role="enfant", where=(fam.members.age_mois < age_pac)
                               & ~fam.members.autonomie_financiere) > 1
    ouvre_majoration = ~i.famille.enceinte_fam & ~i.famille.en_couple & i.famille.recent_isolation & ~autres_enfants
    seuil = where(ouvre_majoration,
                  (param(f"{R}.majoration_isolement.base") - 1 + param(f"{R}.majoration_isolement.par_enfant")) * base,
                  param(f"{R}.majoration.personne_supplementaire") * base)
    ressources = i.rsa_ressources_individu + i.rsa_revenu_activite_individu
    return i.est_enfant & ~i.autonomie_financiere & (i.age_mois < age_pac) & (ressources < seuil)


@rule(entity="famille", dtype="int", label="nombre d'enfants à charge au sens du RSA")
def rsa_nb_enfants(f: Famille):
    return f.count(where=f.members.rsa_enfant_a_charge)


@rule(entity="individu", dtype="bool", label="condition de nationalité ou de séjour du RSA",
      ref="CASF art. L262-4, 2° et L262-6")
def rsa_condition_nationalite(i: Individu):
    """French nationals meet it. A non-EEA national meets it after five years of a permit allowing work, or at once
    as a refugee, a beneficiary of subsidiary protection, a stateless person or the holder of a carte de
    résident (or a title giving equivalent rights) (CASF art. L262-4, 2°): ``residence_condition_exempt``, or
    ``ofpra_protection`` (refugee, protection, statelessness), which also waives the ASPA's ten years. An EEA or
    Swiss national needs a right of residence and three months of residence, a duration not opposable to a
    person in declared professional activity nor to a former worker registered as a jobseeker (CASF art.
    L262-6): the month's salary, or an unemployment benefit (which France Travail pays to a registered jobseeker
    who worked), stands for it. The prime d'activité has the same conditions (CSS art. L842-2, 2°)."""
    eee = i.nationality_group == "EEA_CH"
    residence_eee = eee & (i.residence_permit_years >= param(f"{R}.duree_min_residence_eee"))
    travailleur_eee = eee & ((i.salary_net > 0) | (i.unemployment > 0))
    autre = i.nationality_group == "OTHER"
    titre = autre & ((i.residence_permit_years >= param(f"{R}.duree_min_titre_sejour"))
                     | i.residence_condition_exempt | i.ofpra_protection)
    return (i.nationality_group == "FR") | residence_eee | travailleur_eee | titre


@rule(entity="famille", dtype="bool", label="éligibilité au RSA", ref="CASF art. L262-4")
def rsa_eligibilite(f: Famille):
    m = f.members
    # « assumer la charge d'un ou plusieurs enfants nés ou à naître »: a pregnancy opens it as a child does, in a
    # couple too (the majoration for isolation is another matter, L262-9)
    charge = (f.rsa_nb_enfants > 0) | f.enceinte_fam
    age = condition("le demandeur ou son conjoint a 25 ans ou plus, ou la famille a un enfant à charge, né ou à "
                    "naître", f.any(m.age_mois >= param(f"{R}.age_minimum"), role=PARENTS) | charge,
                    ref="CASF art. L262-4, 1°")
    etudiant = condition("le demandeur ou son conjoint n'est pas étudiant",
                         f.any(~m.student & (m.age_mois >= param(f"{R}.age_minimum")), role=PARENTS)
                         | (charge & f.any(~m.student, role=PARENTS)), ref="CASF art. L262-4, 4°")
    sejour = condition("le demandeur ou son conjoint remplit la condition de nationalité ou de séjour",
                       f.any(m.rsa_condition_nationalite, role=PARENTS), ref="CASF art. L262-4, 2°")
    return age & etudiant & sejour


@rule(entity="famille", dtype="int", label="parents comptés au titre des droits du RSA", ref="CASF art. L262-5")
def rsa_nb_parents(f: Famille):
    """The spouse, cohabitant or PACS partner of a beneficiary is counted in the beneficiary's rights only if
    they meet the nationality or residence condition of L262-4, 2° (CASF art. L262-5, first paragraph): a
    foreign partner without it is left out of the number of persons (montant forfaitaire, forfait logement)
    while their resources, those of a person living in the foyer, still count (rsa_base_ressources, CASF art.
    R262-6). With no parent meeting it the famille has no RSA (rsa_eligibilite): both are kept then."""
    n = f.count(role=PARENTS, where=f.members.rsa_condition_nationalite)
    return where(n >= 1, n, f.nb_parents)


@rule(entity="famille", dtype="int", label="nombre de personnes du foyer RSA", ref="CASF art. L262-5 et R262-3")
def rsa_nb_personnes(f: Famille):
    return f.rsa_nb_parents + f.rsa_nb_enfants


@rule(entity="famille", dtype="float", label="montant forfaitaire du RSA", ref="CASF art. L262-2 et R262-1")
def rsa_socle(f: Famille):
    taux = taux_montant_forfaitaire(R, f.rsa_nb_personnes, f.rsa_nb_parents)
    return where(f.rsa_eligibilite, param(f"{R}.montant_de_base") * taux, 0.0)


@rule(entity="famille", dtype="bool", label="éligibilité au montant majoré pour isolement",
      ref="CASF art. L262-9 et R262-1")
def rsa_majore_eligibilite(f: Famille):
    # « personne isolée » (L262-9): said of everyone outside a couple; a letter to a childless single person
    # listing it among the conditions met must not call him a parent
    isole = condition("personne isolée (ni mariée, ni pacsée, ni en concubinage)", ~f.en_couple,
                      ref="CASF art. L262-9")
    charge = condition("enceinte ou au moins un enfant à charge", f.enceinte_fam | (f.rsa_nb_enfants > 0),
                       ref="CASF art. L262-9")
    # a child already born (``est_enfant``: a member on the month's first day); an unborn child's negative age is
    # not "under 3": before the birth only the pregnancy gives the majoration (L262-9, 2°)
    jeune_enfant = f.any(f.members.est_enfant
                         & (f.members.age_mois < param(f"{R}.majoration_isolement.age_limite_enfant")))
    duree = condition("enfant de moins de 3 ans, isolement de moins de 18 mois ou grossesse",
                      jeune_enfant | f.recent_isolation | f.enceinte_fam, ref="CASF art. R262-1")
    return isole & charge & duree


@rule(entity="famille", dtype="float", label="montant forfaitaire majoré pour isolement",
      ref="CASF art. L262-9 et R262-1")
def rsa_socle_majore(f: Famille):
    taux = taux_montant_majore_isolement(R, f.rsa_nb_enfants)
    # the age and student conditions do not apply to an isolated parent or pregnant woman (CASF L262-4)
    return where(f.rsa_majore_eligibilite, param(f"{R}.montant_de_base") * taux, 0.0)


@rule(entity="famille", dtype="float", label="forfait logement du RSA à taux plein", ref="CASF art. R262-10")
def rsa_forfait_logement_plein(f: Famille):
    n = f.rsa_nb_personnes
    base = param(f"{R}.montant_de_base")
    taux_2p = 1 + param(f"{R}.majoration.deuxieme_personne")
    taux_3p = taux_2p + param(f"{R}.majoration.troisieme_personne")
    return base * where(n <= 1, param(f"{R}.forfait_logement.taux_1_personne"),
                        where(n == 2, param(f"{R}.forfait_logement.taux_2_personnes") * taux_2p,
                              param(f"{R}.forfait_logement.taux_3_personnes_ou_plus") * taux_3p))


@rule(entity="famille", dtype="bool", label="le RSA compte les prestations familiales et l'aide au logement du mois "
      "dues quand elles dépassent celles versées (le foyer doit faire valoir ses droits)", ref="CASF art. L262-10")
def rsa_subsidiarite_appliquee(f: Famille):
    """Where the month's payments are known (an agency's extract) and the run reads the RSA as subsidiary
    (``rsa_subsidiarite``); a reference situation, which states the months before its month only, counts the
    benefits computed for the month anyway (``pf_calculees_minima``)."""
    return f.rsa_subsidiarite & f.aide_logement_du_mois_connue


@rule(entity="famille", dtype="float", label="forfait logement du RSA", ref="CASF art. R262-9 et R262-10")
def rsa_forfait_logement(f: Famille):
    """Deducted when the famille is housed without cost (owner without loan, housed free of charge), or
    up to the housing aid of the month (paid when known, else computed: a reference situation states the
    payments of the months before its month only, SITUATION_FORMAT.md; under ``rsa_subsidiarite`` the aid
    due where it exceeds the one paid: a foyer claiming the RSA must claim its housing aid, CASF art. L262-10).
    Read at the evaluated month only (the RSA of the month before, for the housing aid's R822-17, is recomputed
    there with that month's aid)."""
    forfait = f.rsa_forfait_logement_plein
    al_mois = where(f.rsa_subsidiarite_appliquee, maximum(f.aide_logement_retenue, f.aide_logement),
                    where(f.aide_logement_du_mois_connue, f.aide_logement_retenue, f.aide_logement))
    aide = where(al_mois > 0, al_mois, 0.0)
    montant_al = where(aide < forfait, aide, forfait)
    return maximum(montant_al, where(f.avantage_nature_logement, forfait, 0.0))


@rule(entity="famille", dtype="float", label="base ressources du RSA hors prestations familiales",
      ref="CASF art. R262-6 à R262-9 et R262-11")
def rsa_base_ressources_hors_pf(f: Famille):
    m = f.members
    individuelles = f.sum(m.rsa_ressources_individu + m.rsa_revenu_activite_individu,
                          where=m.est_parent | m.rsa_enfant_a_charge)
    return individuelles + f.aspa + mean_over(f.asi, -3, -1)


@rule(entity="famille", dtype="float", label="base ressources du RSA", ref="CASF art. R262-6 à R262-11")
def rsa_base_ressources(f: Famille):
    """The family benefits of the month: paid when an extract gives that month's payments, else the entitlements
    computed for it (a reference situation states the months before its month only; ``pf_calculees_minima``).
    The RSA of the month before, which the housing aid reads (``al_rsa_mois_precedent``), counts that month's
    payments (``pf_retenues_minima``). Under ``rsa_subsidiarite`` (detection) each benefit counts for the larger
    of the one paid and the one due (``pf_dues_minima``): the RSA is subsidiary, the foyer must claim the family
    benefits it is due (CASF art. L262-10), so an RSA shown beside an allocation de base or an ASF not taken up is
    the RSA the foyer gets once it claims them all, as OpenFisca computes it."""
    prestations = where(f.rsa_subsidiarite_appliquee, f.pf_dues_minima,
                        where(f.aide_logement_du_mois_connue, f.pf_retenues_minima, f.pf_calculees_minima))
    return f.rsa_base_ressources_hors_pf + prestations


@rule(entity="famille", dtype="float", label="revenu de solidarité active", ref="CASF art. L262-2 et R262-39")
def rsa(f: Famille):
    socle = maximum(f.rsa_socle, f.rsa_socle_majore)
    montant = maximum(socle - f.rsa_forfait_logement - f.rsa_base_ressources, 0.0)
    versable = condition("montant au moins égal au seuil de versement",
                         montant >= param(f"{R}.montant_minimum_verse"), ref="CASF art. R262-39")
    return where(versable, montant, 0.0)
