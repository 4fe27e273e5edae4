"""Complémentaire santé solidaire (CSS art. L861-1 and following).

Free CSS when the foyer's resources of the twelve months before the evaluated month
are at most the ceiling (by household size, raised 11.3 % in the overseas departments), or when the
foyer receives the RSA; CSS with a financial participation up to the ceiling raised by 35 %, the
participation being a monthly amount per member by age (CSS art. L861-1, L861-2, R861-2 to R861-5,
D861-1 and D861-3). Resources include a forfait logement for owners, people housed free of charge and
housing-aid recipients, family benefits paid, the ASPA, the ASI and the AAH after their abatements; the earned income of
a member in indemnified total unemployment at the claim is counted for 70 % (CSS art. R861-8, 2nd paragraph).
Not modelled: Mayotte, Alsace-Moselle participation amounts, students' own-right CSS, capital income;
of R861-8's abatement, the cases without an input (partial unemployment allowance, allocation d'insertion).
"""

from __future__ import annotations

from nonrecours.rules.benefits.common import PARENTS, age_au, round_half_even
from nonrecours.rules.dsl import Famille, Individu, condition, maximum, minimum, param, rule, sum_over, where

__all__: list[str] = []

C = "minima_sociaux.css"
PREMIER_MOIS, DERNIER_MOIS = -12, -1
"""The rolling year of resources: the twelve months before the evaluated month (CSS art. R861-8)."""


@rule(entity="individu", dtype="bool", label="CSS: enfant compté dans le foyer (moins de 25 ans)",
      ref="CSS art. R861-2")
def css_enfant_a_charge(i: Individu):
    """R861-2 counts the children and dependants « de moins de vingt-cinq ans »: a child of 25 is out of the
    foyer (OpenFisca-France 176.1.8 counts him up to 25 included: docs/oracle_disagreements.md)."""
    return i.est_enfant & (i.age_mois < param(f"{C}.age_limite_pac"))


@rule(entity="famille", dtype="int", label="CSS: nombre de personnes du foyer", ref="CSS art. R861-2")
def css_nb_personnes(f: Famille):
    return f.nb_parents + f.count(where=f.members.css_enfant_a_charge)


@rule(entity="famille", dtype="float", label="plafond de ressources de la CSS gratuite (annuel)",
      ref="CSS art. L861-1, 1°, D861-1 et R861-3")
def cmu_c_plafond(f: Famille):
    """The ceiling grows with the foyer's persons (D861-1): its children are those R861-2 counts
    (``css_enfant_a_charge``), as its size and its resources read them; a grown-up son the unit lists raised the
    ceiling though neither he nor his resources counted (an outside tester's situation: parent earning 1,500 €, son
    of 26, CSS with participation on a two-person ceiling). OpenFisca-France 176.1.8 counts every child of the
    famille here: docs/oracle_disagreements.md."""
    n = f.count(where=f.members.css_enfant_a_charge)
    p2 = param(f"{C}.coefficient.deuxieme_personne")
    p34 = param(f"{C}.coefficient.troisieme_quatrieme")
    p5 = param(f"{C}.coefficient.cinquieme_et_plus")
    couple = 1 + p2 + p34 * minimum(n, 2) + p5 * maximum(n - 2, 0)
    isole = 1 + where(n >= 1, p2, 0.0) + p34 * minimum(maximum(n - 1, 0), 2) + p5 * maximum(n - 3, 0)
    outre_mer = 1 + where(f.menage.residence_dom, param(f"{C}.majoration_dom"), 0.0)
    return round_half_even(param(f"{C}.plafond_base") * outre_mer * where(f.en_couple, couple, isole))


@rule(entity="famille", dtype="float", label="plafond de ressources de la CSS avec participation (annuel)",
      ref="CSS art. L861-1, 2°")
def acs_plafond(f: Famille):
    return f.cmu_c_plafond * (1 + param(f"{C}.majoration_plafond_participation"))


def _forfait(f: Famille, variante: str):  # type: ignore[no-untyped-def]
    """Twelve months of the foyer's RSA montant forfaitaire (at most three persons) times the rate."""
    n = f.css_nb_personnes
    rsa = param("minima_sociaux.rsa.montant_de_base") * (
        1 + where(n >= 2, param("minima_sociaux.rsa.majoration.deuxieme_personne"), 0.0)
        + where(n >= 3, param("minima_sociaux.rsa.majoration.troisieme_personne"), 0.0))
    fl = f"{C}.forfait_logement.{variante}"
    taux = where(n <= 1, param(f"{fl}.taux_1_personne"),
                 where(n == 2, param(f"{fl}.taux_2_personnes"), param(f"{fl}.taux_3_personnes_ou_plus")))
    return 12 * rsa * taux


@rule(entity="famille", dtype="float", label="CSS: forfait logement (annuel)", ref="CSS art. R861-5")
def css_forfait_logement(f: Famille):
    """One forfait, never both: the owner's or the person's housed free of charge when no housing aid is received,
    else the housing aid's, up to the aid (R861-5 names the owner « ne bénéficiant pas d'aide personnelle au
    logement »; an aid is paid only for a rent or a loan, CCH art. L821-1). Both at once came from a variant of
    unknown housing making an MSA member paid its AL housed free (probe hh19 K111)."""
    al = f.aide_logement_retenue
    sans_charge = f.statut_occupation.is_in(["owner", "free"]) & (al <= 0)
    base = where(sans_charge, _forfait(f, "sans_aide_logement"), 0.0)
    aide = where(al > 0, minimum(12 * al, _forfait(f, "avec_aide_logement")), 0.0)
    return base + aide


@rule(entity="individu", dtype="float", label="CSS: ressources individuelles du mois", ref="CSS art. R861-8 et R861-10")
def css_ressources_individu(i: Individu):
    aah = maximum(i.aah_percue - param(f"{C}.abattement_aah"), 0.0)
    return (i.salary_net + i.unemployment + i.pension_net + i.invalidity_pension + i.alimony_received
            + aah + i.caah + i.indemnites_journalieres + i.autres_ressources)


@rule(entity="famille", dtype="float", label="CSS: ASPA retenue après abattement (mensuelle)",
      ref="Instruction interministérielle n° DSS/SD2A/2021/71 du 30 mars 2021")
def css_aspa_retenue(f: Famille):
    abattement = where(f.en_couple, param(f"{C}.abattement_aspa.couple"), param(f"{C}.abattement_aspa.personne_seule"))
    return where(f.aspa_percue > 0, maximum(f.aspa_percue - abattement, 0.0), 0.0)


@rule(entity="individu", dtype="float", label="CSS: ASI retenue après abattement, part du membre (mensuelle)",
      ref="Instruction interministérielle n° DSS/SD2A/2021/71 du 30 mars 2021")
def css_asi_retenue_individu(i: Individu):
    """Each holder's share of the ASI received (``asi_percue_individuelle``: halves when both spouses hold it)
    less its abatement: the single amount, half the couple's when both spouses receive the ASI, none for a
    holder who also receives the AAH (its own abatement applies)."""
    f = i.famille
    part = i.asi_percue_individuelle
    deux = f.count(role=PARENTS, where=f.members.asi_percue_individuelle > 0) >= 2
    par_titulaire = where(deux, param(f"{C}.abattement_asi.couple") / 2, param(f"{C}.abattement_asi.personne_seule"))
    abattement = where(i.aah_percue > 0, 0.0, par_titulaire)
    return where(part > 0, maximum(part - abattement, 0.0), 0.0)


@rule(entity="famille", dtype="float", label="CSS: ASI retenue après abattement (mensuelle)",
      ref="Instruction interministérielle n° DSS/SD2A/2021/71 du 30 mars 2021")
def css_asi_retenue(f: Famille):
    return f.sum(f.members.css_asi_retenue_individu)


@rule(entity="famille", dtype="float", label="CSS: complément familial, ASPA et ASI du mois", ref="CSS art. R861-8")
def css_ressources_famille(f: Famille):
    """The complément familial received (``cf_retenu``: paid when known; it is not paid together with the PAJE
    allocation de base, CSS art. L532-1, which the ``cf`` rule reads paid in each month)."""
    return f.cf_retenu + f.css_aspa_retenue + f.css_asi_retenue


@rule(entity="famille", dtype="float", label="CSS: allocations familiales et ASF des douze mois de référence",
      ref="CSS art. R861-8")
def css_af_asf_annuelles(f: Famille):
    """The amounts paid in each of the twelve months, as the paying agency reports them month by month (the
    computed allowances, the ASF as the AF, when the payments are not known)."""
    return sum_over(f.af_retenues + f.asf_retenue, PREMIER_MOIS, DERNIER_MOIS)


@rule(entity="individu", dtype="bool", label="CSS: en chômage total indemnisé à la date de la demande",
      ref="CSS art. R861-8, 2e alinéa")
def css_chomage_indemnise(i: Individu):
    """Total unemployment with the unemployment benefit in the month of the claim (the evaluated month): the
    benefit paid that month and no salary. A member who still earns is not in total unemployment; one whose
    benefit stopped before is not indemnified at the claim."""
    return (i.unemployment > 0) & (i.salary_net <= 0)


@rule(entity="individu", dtype="float", label="CSS: abattement de 30 % sur les rémunérations d'activité (chômage)",
      ref="CSS art. R861-8, 2e alinéa; lettre-circulaire DSS/2A du 27 décembre 2001")
def css_abattement_chomage(i: Individu):
    """The member's own earnings of the twelve months of reference, abated when that member is in indemnified
    total unemployment at the claim (the circular: their earnings only, not their other resources nor the other
    members')."""
    return where(i.css_chomage_indemnise,
                 param(f"{C}.abattement_chomage") * sum_over(i.salary_net, PREMIER_MOIS, DERNIER_MOIS), 0.0)


@rule(entity="famille", dtype="float", label="CSS: ressources des douze mois de référence",
      ref="CSS art. R861-4, R861-5, R861-8 et R861-15")
def css_cmu_base_ressources(f: Famille):
    """A non-salaried worker's profit is the one of the last declaration known at the claim (CSS art. R861-15), the
    evaluated month's last yearly profit known, once: not the twelve months' own."""
    m = f.members
    individuelles = f.sum(sum_over(m.css_ressources_individu, PREMIER_MOIS, DERNIER_MOIS) - m.css_abattement_chomage
                          + 12 * m.revenus_non_salaries_mensuels,
                          where=m.est_parent | m.css_enfant_a_charge)
    return (f.css_forfait_logement + f.css_af_asf_annuelles
            + sum_over(f.css_ressources_famille, PREMIER_MOIS, DERNIER_MOIS) + individuelles)


@rule(entity="famille", dtype="bool", label="CSS: foyer pouvant demander en son nom (âge, indépendance)",
      ref="CSS art. L861-1 et R861-2")
def css_cmu_acs_eligibilite(f: Famille):
    m = f.members
    independant = ~(m.foyer_fiscal_role == "personne_a_charge") & (
        sum_over(m.alimony_received, PREMIER_MOIS, DERNIER_MOIS) <= 0)
    return ((f.css_nb_personnes > f.nb_parents) | f.any(m.age_mois >= param(f"{C}.age_limite_pac"))
            | f.all(independant))


@rule(entity="famille", dtype="bool", label="CSS: ressources au plus égales au plafond sans participation",
      ref="CSS art. L861-1, 1°")
def css_ressources_sous_plafond(f: Famille):
    """The free CSS's own route, apart from the RSA's (detection grades a flag resting on the RSA alone with it)."""
    return f.css_cmu_base_ressources <= f.cmu_c_plafond


@rule(entity="famille", dtype="bool", label="complémentaire santé solidaire sans participation",
      ref="CSS art. L861-1, 1° et L861-2")
def css_free(f: Famille):
    ressources = condition("ressources au plus égales au plafond", f.css_ressources_sous_plafond,
                           ref="CSS art. L861-1, 1°")
    rsa = condition("droit au RSA", f.rsa > 0, ref="CSS art. L861-2")
    return f.css_cmu_acs_eligibilite & (ressources | rsa)


@rule(entity="famille", dtype="bool", label="complémentaire santé solidaire avec participation financière",
      ref="CSS art. L861-1, 2°")
def css_participation(f: Famille):
    ressources = condition("ressources au plus égales au plafond majoré de 35 %",
                           f.css_cmu_base_ressources <= f.acs_plafond, ref="CSS art. L861-1, 2°")
    return f.css_cmu_acs_eligibilite & ~f.css_free & ressources


@rule(entity="individu", dtype="float",
      label="CSS: participation mensuelle d'une personne selon son âge au 1er janvier de l'année d'attribution",
      ref="CSS art. L861-1, 2° et D861-3; arrêté du 21 juin 2019, art. 1")
def css_participation_individu(i: Individu):
    """The arrêté's table reads the age « au 1er janvier de l'année d'attribution »: a claim made in the evaluated
    month is attributed that year, so a person of 30 in September born in March owes the 29-year-old's amount
    (OpenFisca-France reads the age of the month: docs/oracle_disagreements.md)."""
    a = age_au(i, 1)
    return where(a < 30, param(f"{C}.participation.moins_30_ans"),
                 where(a <= 49, param(f"{C}.participation.de_30_a_49_ans"),
                       where(a <= 59, param(f"{C}.participation.de_50_a_59_ans"),
                             where(a <= 69, param(f"{C}.participation.de_60_a_69_ans"),
                                   param(f"{C}.participation.70_ans_et_plus")))))


@rule(entity="famille", dtype="float", label="CSS: participation financière mensuelle du foyer",
      ref="CSS art. L861-1, 2° et D861-3")
def css_participation_monthly(f: Famille):
    return where(f.css_participation, f.sum(f.members.css_participation_individu), 0.0)
