"""Allocation aux adultes handicapés: a ``simulate`` output (summed over the famille) and a resource of RSA,
prime d'activité, ASPA and CSS.

Those benefits count the resources received (CASF art. R262-6; CSS art. R844-1, R815-22, R861-8): where the
payers' extracts are read (``aah_versee_connue``), they read the AAH paid (``aah_percue``), as they read the
family benefits and the housing aid paid; otherwise, and always for a reference situation (SITUATION_FORMAT.md
has no key for an AAH paid), they read the AAH computed here. The entitlement (``aah``, ``aah_famille``) is
always computed (CSS art. L821-1 to L821-3): a person at
least 80 % disabled, or 50 % with a restriction substantielle et durable d'accès à l'emploi until the
legal retirement age, receives the maximum amount less her resources, the ceiling being raised by half
the amount per child; the AAH is subsidiary to the claimant's invalidity and old-age benefits (invalidity
pension, ASI, retirement pension, ASPA received: CSS art. L821-1 as amended by loi n° 2016-1917, art. 87), the
total never exceeding the AAH amount (``aah``, ``aah_aspa_deduite``). Workers are assessed on the three
previous months (times four), others on the taxable income of year N-2 (inputs ``*_imposable(s)_n2``).
Earned income is reduced by 80 % up to 30 % of the annual SMIC and 40 % beyond (CSS art. D821-9), then by
30 % when the activity stopped or a replacement income is received (CSS art. R532-5).

Dated law: since 2023-10-01 only the claimant's own resources count ("déconjugalisation", loi
n° 2022-1158 du 16 août 2022, art. 10). Before, from 2022-01-01, the spouse's resources counted too,
after the 10 % deduction for expenses and an annual abatement of 5 000 € plus 1 400 € per child
(CSS art. D821-8-1, décret n° 2022-42), against a ceiling raised by 81 % for a couple (CSS art. D821-2).
The transitional option of those paid on 2023-10-01 to keep the former computation (décret
n° 2022-1694) is not modelled. Earlier months are refused (no formula in force).
The complement (majoration pour la vie autonome) is counted where the law counts it.

Not modelled: the transitional option of décret n° 2022-1694, the reduction after sixty days in a hospital,
a specialised home or prison (CSS art. R821-8), the CDAPH's decision itself (the disability rate is an
input), capital income.
"""

from __future__ import annotations

from nonrecours.rules.benefits.common import HOUSEHOLDERS, PARENTS
from nonrecours.rules.dsl import Famille, Individu, condition, maximum, minimum, param, rule, shift, sum_over, where

DECONJUGALISATION = "2023-10-01"
"""Loi n° 2022-1158 du 16 août 2022, art. 10: the spouse's resources no longer count from this month."""
CONJUGALISEE = ("2022-01-01", "2023-09-30")
"""The spouse-counting rule with a flat abatement (décret n° 2022-42), the earliest AAH law encoded."""

__all__: list[str] = []

A = "prestations_etat_de_sante.aah"
FIN_OBLIGATION_SCOLAIRE = "prestations_familiales.autonomie_financiere.age_fin_obligation_scolaire"
"""One fact with the family benefits' at-charge age (R821-1 refers to L512-3 1°)."""


@rule(entity="individu", dtype="bool", label="éligibilité à l'AAH (handicap, âge)", ref="CSS art. L821-1 et L821-2")
def aah_eligible(i: Individu):
    taux = condition("taux d'incapacité d'au moins 80 %, ou d'au moins 50 % avec RSDAE avant l'âge de la retraite "
                     "pour inaptitude (62 ans)",
                     (i.disability_rate >= param(f"{A}.taux_incapacite"))
                     | ((i.disability_rate >= param(f"{A}.taux_incapacite_rsdae")) & i.rsdae
                        & (i.age_mois < param(f"{A}.age_legal_retraite"))), ref="CSS art. L821-1, L821-2 et L351-1-5")
    age = condition("20 ans ou plus (16 ans sans ouvrir droit aux prestations familiales)",
                    (i.age_mois >= param(f"{A}.age_minimal"))
                    | ((i.age_mois >= param(FIN_OBLIGATION_SCOLAIRE)) & ~i.af_enfant), ref="CSS art. R821-1")
    return taux & age


def _assiette_activite(revenus_annuels, smic_annuel):  # type: ignore[no-untyped-def]
    tranche = minimum(param(f"{A}.tranche_smic") * smic_annuel, revenus_annuels)
    return ((1 - param(f"{A}.abattement_tranche")) * tranche
            + (1 - param(f"{A}.abattement_au_dela")) * maximum(revenus_annuels - tranche, 0.0))


@rule(entity="individu", dtype="bool", label="AAH: évaluation trimestrielle (activité dans le mois)",
      ref="CSS art. R821-4")
def aah_evaluation_trimestrielle(i: Individu):
    return i.salary_net > 0


@rule(entity="individu", dtype="float", label="AAH: ressources propres annuelles (après abattements sur l'activité)",
      ref="CSS art. L821-3, R821-4 et D821-9")
def aah_ressources_propres(i: Individu):
    smic_annuel = 12 * param("marche_travail.smic.horaire_brut") * param("marche_travail.smic.heures_mensuelles")
    trimestre_activite = 4 * sum_over(i.salary_net + i.unemployment, -3, -1)
    trimestre_autres = 4 * sum_over(i.alimony_received + i.invalidity_pension + i.pension_net, -3, -1)
    # 30 % less on earned income when the activity stopped (no salary now, not a student) or a replacement income
    # (unemployment, pension, invalidity pension) was received the month before (CSS art. R532-5)
    substitution = shift(i.unemployment + i.pension_net + i.invalidity_pension, -1) > 0
    cessation = (~i.aah_evaluation_trimestrielle & ~i.student) | substitution
    coefficient = 1 - where(cessation, param(f"{A}.abattement_cessation_activite"), 0.0)
    trimestrielle = maximum(coefficient * _assiette_activite(trimestre_activite, smic_annuel) + trimestre_autres, 0.0)
    annuelle = coefficient * _assiette_activite(i.revenu_activite_n2, smic_annuel) + i.pensions_n2
    return where(i.aah_evaluation_trimestrielle, trimestrielle, annuelle)


@rule(entity="individu", dtype="float", label="AAH: base ressources mensuelle (ressources propres)",
      ref="CSS art. L821-3 (loi n° 2022-1158, art. 10), R821-4 et D821-9", start=DECONJUGALISATION,
      name="aah_base_ressources")
def aah_base_ressources_deconjugalisee(i: Individu):
    return i.aah_ressources_propres / 12


@rule(entity="individu", dtype="float", label="AAH: ressources brutes des trois mois précédents, fois quatre",
      ref="CSS art. R821-4")
def aah_ressources_brutes_trimestrielles(i: Individu):
    return 4 * sum_over(i.salary_net + i.unemployment + i.alimony_received + i.invalidity_pension + i.pension_net,
                        -3, -1)


@rule(entity="individu", dtype="float", label="AAH: ressources brutes imposables de l'année N-2",
      ref="CSS art. R821-4 et R532-3")
def aah_ressources_brutes_annuelles(i: Individu):
    return i.revenu_activite_n2 + i.pensions_n2


@rule(entity="individu", dtype="float", label="AAH: base ressources mensuelle (ressources propres et du conjoint "
      "après abattement forfaitaire)", ref="CSS art. L821-3, R821-4, D821-8-1 et D821-9 (rédaction antérieure "
      "au 1er octobre 2023)", start=CONJUGALISEE[0], end=CONJUGALISEE[1], name="aah_base_ressources")
def aah_base_ressources_conjugalisee(i: Individu):
    """The spouse's resources are taken over the claimant's period of assessment (the three months before
    when the claimant works, year N-2 otherwise), less the 10 % deduction for expenses of the revenu net
    catégoriel, then less 5 000 € plus 1 400 € per child (D821-8-1)."""
    fam = i.famille
    mode_trimestriel = i.aah_evaluation_trimestrielle
    trimestre = fam.sum(fam.members.aah_ressources_brutes_trimestrielles, role=PARENTS)
    annee = fam.sum(fam.members.aah_ressources_brutes_annuelles, role=PARENTS)
    propres_brutes = where(mode_trimestriel, i.aah_ressources_brutes_trimestrielles, i.aah_ressources_brutes_annuelles)
    conjoint = where(i.est_parent, where(mode_trimestriel, trimestre, annee) - propres_brutes, 0.0)
    abattement = (param(f"{A}.abattement_conjoint.forfaitaire")
                  + param(f"{A}.abattement_conjoint.par_enfant") * fam.af_nb_enfants)
    retenu = maximum((1 - param("prestations_familiales.base_ressources.abattement_frais")) * maximum(conjoint, 0.0)
                     - abattement, 0.0)
    return (i.aah_ressources_propres + retenu) / 12


@rule(entity="individu", dtype="float", label="AAH: plafond de ressources mensuel (sans le conjoint)",
      ref="CSS art. D821-2", start=DECONJUGALISATION, name="aah_plafond")
def aah_plafond_deconjugalise(i: Individu):
    return param(f"{A}.montant") * (1 + param(f"{A}.majoration_plafond_par_enfant") * i.famille.af_nb_enfants)


@rule(entity="individu", dtype="float", label="AAH: plafond de ressources mensuel (majoré pour un couple)",
      ref="CSS art. D821-2 (rédaction antérieure au 1er octobre 2023)", start=CONJUGALISEE[0], end=CONJUGALISEE[1],
      name="aah_plafond")
def aah_plafond_conjugalise(i: Individu):
    couple = where(i.famille.en_couple, param(f"{A}.majoration_plafond_couple"), 0.0)
    return param(f"{A}.montant") * (1 + couple + param(f"{A}.majoration_plafond_par_enfant") * i.famille.af_nb_enfants)


def _aah(i: Individu, aspa, asi=True):  # type: ignore[no-untyped-def]
    """The AAH with ``aspa`` as the claimant's ASPA: the differential amount, at most the AAH amount less the
    claimant's own invalidity and old-age benefits (CSS art. L821-1); without the ASI due when ``asi`` is false."""
    montant = param(f"{A}.montant")
    differentielle = minimum(montant, maximum(i.aah_plafond - i.aah_base_ressources, 0.0))
    asi_du_mois_precedent = shift(i.asi_hors_aah_individuelle, -1) if asi else 0.0  # the claimant's own ASI
    avantages = i.invalidity_pension + asi_du_mois_precedent + i.pension_net + aspa
    return where(i.aah_eligible, minimum(differentielle, maximum(montant - avantages, 0.0)), 0.0)


@rule(entity="individu", dtype="float", label="AAH avant la déduction de l'ASPA (lue par les ressources de l'ASPA)",
      ref="CSS art. L821-1, L821-3 et D821-2")
def aah_hors_aspa(i: Individu):
    """The AAH of a member who receives no ASPA, which is every member whose AAH the ASPA's and the ASI's
    resources count (``asi_aspa_base_ressources_individu``: not the AAH of a member entitled to the ASPA): it
    keeps the AAH and the ASPA from reading each other, as ``asi_hors_aah`` does for the ASI."""
    return _aah(i, 0.0)


@rule(entity="individu", dtype="float", label="ASPA déduite de l'AAH (part du membre: perçue, ou due sous 80 %)",
      ref="CSS art. L821-1 (loi n° 2016-1917 du 29 décembre 2016, art. 87), L815-1 et D815-1")
def aah_aspa_deduite(i: Individu):
    """The claimant's ASPA the AAH is reduced by: "lorsque cet avantage ou le montant mensuel perçu au titre de
    l'allocation de solidarité aux personnes âgées ... est d'un montant inférieur à celui de l'allocation aux
    adultes handicapés, celle-ci s'ajoute à la prestation sans que le total des deux avantages puisse excéder le
    montant de l'allocation aux adultes handicapés" (CSS art. L821-1 as amended by loi n° 2016-1917, art. 87).
    The ASPA *received* (``aspa_percue``: paid where the CNAV's and the MSA's payments are read, else the ASPA
    computed, as in a reference situation): since that law a claimant at 80 % or more past the legal retirement
    age need not claim the ASPA first (the ASPA is excluded from the old-age benefits L821-1 makes the AAH
    subsidiary to), so an ASPA not taken up does not reduce the AAH. Below 80 % (RSDAE, whose AAH ends at the
    legal retirement age, L821-2) the ASPA remains an old-age benefit to claim first: the larger of the one
    received and the one due, as the RSA reads what the foyer must claim (``rsa_subsidiarite``). The share of a
    member is the famille's ASPA for a single holder, half of it when both spouses are entitled (CSS art. D815-1:
    "le montant est servi par moitié à chacun des deux allocataires")."""
    f = i.famille
    parts = maximum(f.aspa_nb_eligibles, 1)
    percue = f.aspa_percue / parts
    due = f.aspa / parts
    a_demander = i.disability_rate < param(f"{A}.taux_incapacite")
    return where(i.aspa_eligibilite, where(a_demander, maximum(percue, due), percue), 0.0)


@rule(entity="individu", dtype="float", label="allocation aux adultes handicapés (mensuelle)",
      ref="CSS art. L821-1 (loi n° 2016-1917, art. 87), L821-3 et D821-2")
def aah(i: Individu):
    """The differential amount (resources against the ceiling, L821-3, D821-2), at most the AAH amount less the
    claimant's own invalidity and old-age benefits of the month (CSS art. L821-1: the AAH "s'ajoute à la
    prestation sans que le total des deux avantages puisse excéder le montant de l'allocation"): the invalidity
    pension, the ASI of the month before, the retirement pension received (net) and the ASPA
    (``aah_aspa_deduite``). So an AAH and an ASPA never add up to more than the AAH amount (plus the pension)."""
    return _aah(i, i.aah_aspa_deduite)


@rule(entity="individu", dtype="float", label="majoration pour la vie autonome (complément de l'AAH ou de l'ASI)",
      ref="CSS art. L821-1-2 et D821-3")
def caah(i: Individu):
    """An AAH holder at 80 %, or an ASI holder at 80 % (L821-1-2, fourth paragraph: the ASI often leaves no AAH
    to draw, its amount being deducted from the AAH), in independent housing with a housing aid, without earnings."""
    logement_independant = i.menage_role.is_in(list(HOUSEHOLDERS)) & (
        i.famille.statut_occupation != "foyer")
    titulaire = (i.aah_percue > 0) | i.asi_titulaire
    eligible = ((i.disability_rate >= param(f"{A}.taux_incapacite")) & titulaire & logement_independant
                & (i.salary_net <= 0) & i.famille.aide_logement_percue)
    return where(eligible, param(f"{A}.majoration_vie_autonome"), 0.0)


@rule(entity="famille", dtype="float", label="AAH des membres de la famille (mensuelle)", ref="CSS art. L821-1")
def aah_famille(f: Famille):
    return f.sum(f.members.aah)


@rule(entity="individu", dtype="float", label="AAH du membre si l'ASPA due était perçue",
      ref="CSS art. L821-1 (loi n° 2016-1917, art. 87) et D815-1")
def aah_si_aspa_percue(i: Individu):
    """The AAH once the member's share of the ASPA due is received (``aah_aspa_deduite``'s share, the ASPA due in
    place of the ASPA received): what a claim of the ASPA would leave of the AAH."""
    f = i.famille
    due = f.aspa / maximum(f.aspa_nb_eligibles, 1)
    return _aah(i, where(i.aspa_eligibilite, maximum(i.aah_aspa_deduite, due), 0.0))


@rule(entity="famille", dtype="float", label="AAH perçue que l'ASPA due, une fois perçue, remplacerait (mensuelle)",
      ref="CSS art. L821-1 (loi n° 2016-1917, art. 87)")
def aah_remplacee_par_aspa(f: Famille):
    """The AAH received (``aah_percue``: paid where the payers' extracts are read) that the ASPA due would take the
    place of: the AAH « s'ajoute à la prestation sans que le total des deux avantages puisse excéder le montant de
    l'allocation aux adultes handicapés » (CSS art. L821-1). A holder at 80 % past the legal retirement age need not
    claim the ASPA (``aah_aspa_deduite``), so an ASPA he does not take up leaves his AAH whole: claiming it gains
    the ASPA less this amount only (detection, « the ASPA an AAH already pays »): the AAH computed less the AAH
    computed with the ASPA due, at most the AAH received (0 for a famille receiving none, so that a payment above
    our computation is not read as an AAH the ASPA would remove)."""
    reduction = maximum(f.aah_famille - f.sum(f.members.aah_si_aspa_percue), 0.0)
    return minimum(reduction, maximum(f.sum(f.members.aah_percue), 0.0))


@rule(entity="famille", dtype="float", label="AAH perçue que l'ASI due, une fois perçue, remplacerait (mensuelle)",
      ref="CSS art. L821-1 et L815-24")
def aah_remplacee_par_asi(f: Famille):
    """The AAH received (``aah_percue``) that the ASI due would take the place of: the AAH tops the claimant's own
    invalidity benefits up to its amount (CSS art. L821-1), so a holder who does not draw the ASI he is due is paid
    more AAH than the rules compute (they deduct the ASI due), and claiming it gains the ASI less the AAH it
    removes (detection, « the ASI an AAH already pays »; an outside tester's invalidity pensioner of 300 € with an
    AAH of 741.59 € was flagged 614.86 € of ASI « certain », a claim that would leave his income unchanged). The
    AAH received above the AAH computed with the ASI due, at most the AAH that ASI removes (the AAH computed
    without it less the AAH computed); 0 where the AAH received is the one computed (its payments unknown)."""
    retiree = maximum(f.sum(f.members.aah_sans_asi) - f.aah_famille, 0.0)
    au_dessus = maximum(f.sum(f.members.aah_percue) - f.aah_famille, 0.0)
    return minimum(retiree, au_dessus)


@rule(entity="individu", dtype="float", label="AAH du membre sans l'ASI due (lue par l'AAH que l'ASI remplacerait)",
      ref="CSS art. L821-1")
def aah_sans_asi(i: Individu):
    return _aah(i, i.aah_aspa_deduite, asi=False)


@rule(entity="famille", dtype="bool", label="AAH versée sans droit calculé: le conjoint plutôt que le demandeur "
      "en est le bénéficiaire présumé")
def aah_versee_au_conjoint(f: Famille):
    """The parent with the higher disability rate (the demandeur on a tie or when no rate is known)."""
    taux = f.members.disability_rate
    return f.value_of("conjoint", taux, default=-1.0) > f.value_of("demandeur", taux, default=-1.0)


def _percue(i: Individu, calculee_individu, calculee_famille):  # type: ignore[no-untyped-def]
    """The AAH received by the member: the famille's payment shared in proportion to the AAH computed for each
    member (``calculee_individu`` of ``calculee_famille``), else the presumed beneficiary's; the AAH computed where
    no payment is known. A regularisation (negative amount) counts as nothing received."""
    f = i.famille
    presume = where(f.aah_versee_au_conjoint, i.famille_role == "conjoint", i.famille_role == "demandeur")
    part = where(calculee_famille > 0, calculee_individu / maximum(calculee_famille, 0.01),
                 where(presume, 1.0, 0.0))
    return where(f.aah_versee_connue, maximum(f.aah_versee, 0.0) * part, calculee_individu)


@rule(entity="individu", dtype="float", label="AAH perçue (versée quand les versements sont connus, sinon calculée)",
      ref="CASF art. R262-6; CSS art. R844-1, R815-22 et R861-8")
def aah_percue(i: Individu):
    """The paying agency reports the AAH per dossier (famille), not per beneficiary: the paid amount is shared
    in proportion to the AAH computed for each member; when the rules compute none (a disability rate no
    agency gave) it goes to the presumed beneficiary."""
    return _percue(i, i.aah, i.famille.aah_famille)


@rule(entity="individu", dtype="float", label="AAH perçue avant la déduction de l'ASPA (ressource de l'ASPA et de "
      "l'ASI)", ref="CSS art. R815-22 et L821-1")
def aah_percue_hors_aspa(i: Individu):
    """``aah_percue`` with the AAH before the deduction of the ASPA (``aah_hors_aspa``): what the ASPA's and the
    ASI's resources count for a member not entitled to the ASPA, whose AAH is the same. The paid amount is shared
    in proportion to the members' AAH before that deduction: different from ``aah_percue`` only for a couple
    with both an ASPA holder and another member drawing the AAH, under payments read from an extract."""
    f = i.famille
    return _percue(i, i.aah_hors_aspa, f.sum(f.members.aah_hors_aspa))
