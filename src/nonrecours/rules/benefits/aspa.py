"""Allocation de solidarité aux personnes âgées (CSS art. L815-1 and following).

A differential allowance: maximum amount (single, or couple when both spouses are entitled) less what
the foyer's resources of the three previous months exceed the ceiling by (CSS art. L815-9, R815-25,
R815-29). Resources are gross: gross pensions, gross salaries after a flat deduction of 0.9 (single)
or 1.5 (couple) monthly SMIC of 1 January per quarter, unemployment, invalidity pension, alimony, and
AAH unless the person is entitled to ASPA or draws an invalidity pension.
A couple of an ASPA holder and an ASI holder is computed as OpenFisca-France does (see ``aspa``).
Not modelled: capital income and assets, the recovery on estates, the exemption from the ten years of
permit of a carte de résident holder who fought for France (CSS art. L816-1).
"""

from __future__ import annotations

from nonrecours.rules.benefits.common import PARENTS
from nonrecours.rules.dsl import (
    Famille,
    Individu,
    condition,
    maximum,
    mean_over,
    minimum,
    param,
    rule,
    sum_over,
    where,
)

__all__: list[str] = []

A = "minima_sociaux.aspa"


@rule(entity="individu", dtype="bool", label="éligibilité individuelle à l'ASPA (âge, séjour)",
      ref="CSS art. L815-1, L816-1, R815-1 et R815-2")
def aspa_eligibilite(i: Individu):
    inapte = (i.disability_rate >= param(f"{A}.taux_incapacite_anticipe")) | i.unfit_for_work
    age = condition("65 ans, ou 62 ans (l'âge de la retraite pour inaptitude) en cas d'inaptitude ou d'incapacité "
                    "d'au moins 50 %",
                    (i.age_mois >= param(f"{A}.age_min")) | ((i.age_mois >= param(f"{A}.age_min_inaptitude")) & inapte),
                    ref="CSS art. L815-1, R815-1 et L351-1-5")
    sejour = condition("nationalité française ou EEE, titre de séjour depuis 10 ans, ou réfugié, protection "
                       "subsidiaire, apatride", i.asi_aspa_condition_sejour, ref="CSS art. L816-1")
    return i.est_parent & age & sejour


@rule(entity="individu", dtype="bool", label="ASPA/ASI: condition de nationalité ou de séjour",
      ref="CSS art. L816-1 (rédaction issue de l'ordonnance n° 2020-1733, en vigueur le 1er mai 2021)",
      start="2021-05-01")
def asi_aspa_condition_sejour(i: Individu):
    """A foreign national outside the EEA needs ten years of a permit allowing work; the condition is not
    opposable to refugees, stateless persons and beneficiaries of subsidiary protection (``ofpra_protection``).
    A carte de résident (``residence_condition_exempt``, which waives the RSA's five years) does not waive
    these ten years unless its holder fought for France, a case not modelled (CSS art. L816-1)."""
    return ((i.nationality_group != "OTHER")
            | (i.residence_permit_years >= param(f"{A}.duree_min_titre_sejour"))
            | i.ofpra_protection)


def _smic_mensuel_1er_janvier():  # type: ignore[no-untyped-def]
    """Monthly gross SMIC in force on 1 January of the evaluated month's year (CSS art. R815-29)."""
    return param("marche_travail.smic.horaire_brut_1er_janvier") * param("marche_travail.smic.heures_mensuelles")


@rule(entity="individu", dtype="float", label="ASPA/ASI: ressources mensuelles moyennes des trois mois précédents, "
      "hors AAH", ref="CSS art. R815-22, R815-25 et R815-29")
def asi_aspa_ressources_hors_aah(i: Individu):
    # a non-salaried worker's last yearly profit known, a twelfth each month (CSS art. R815-22)
    autres = sum_over(i.unemployment + i.pension_gross + i.invalidity_pension + i.alimony_received
                      + i.indemnites_journalieres + i.autres_ressources + i.revenus_non_salaries_mensuels, -3, -1)
    salaires = sum_over(i.salaire_brut, -3, -1)
    taux = where(i.famille.en_couple, param(f"{A}.abattement_salaires.couple"),
                 param(f"{A}.abattement_salaires.personne_seule"))
    abattement = minimum(salaires, taux * _smic_mensuel_1er_janvier())
    return (autres + salaires - abattement) / 3


@rule(entity="individu", dtype="float", label="ASPA: ressources mensuelles moyennes des trois mois précédents",
      ref="CSS art. R815-22, R815-25 et R815-29")
def asi_aspa_base_ressources_individu(i: Individu):
    """The AAH counts unless the person is entitled to ASPA or draws an invalidity pension; the AAH counted is
    the one before the deduction of the ASPA (``aah_percue_hors_aspa``, the AAH of a member not entitled to the
    ASPA): the AAH is reduced by the ASPA (CSS art. L821-1), so the ASPA does not read the AAH itself."""
    aah_comptee = where(i.aspa_eligibilite | (i.invalidity_pension > 0), 0.0,
                        mean_over(i.aah_percue_hors_aspa, -3, -1))
    return i.asi_aspa_ressources_hors_aah + aah_comptee


@rule(entity="famille", dtype="float", label="ASPA: ressources du foyer (mensuelles)", ref="CSS art. L815-9")
def asi_aspa_base_ressources(f: Famille):
    return f.sum(f.members.asi_aspa_base_ressources_individu, role=PARENTS)


@rule(entity="famille", dtype="int", label="nombre de parents éligibles à l'ASPA")
def aspa_nb_eligibles(f: Famille):
    return f.count(role=PARENTS, where=f.members.aspa_eligibilite)


@rule(entity="famille", dtype="float", label="allocation de solidarité aux personnes âgées (mensuelle, foyer)",
      ref="CSS art. L815-1, L815-4, L815-9 et D815-1")
def aspa(f: Famille):
    """A couple whose other member is entitled to the ASI (invalidity pension) counts two allowance holders:
    the ASPA holder gets half the couple amount less half the excess over the couple ceiling (the reading
    of OpenFisca-France, whose ASI of such a couple is nil, as ours: CSS art. L815-9, D815-1, L815-24-1)."""
    un = f.aspa_nb_eligibles == 1
    deux = f.aspa_nb_eligibles == 2
    mixte = un & f.en_couple & (f.count(role=PARENTS, where=f.members.asi_eligibilite) >= 1)
    seul = param(f"{A}.montant_maximum_annuel.personne_seule")
    couple = param(f"{A}.montant_maximum_annuel.couple")
    montant_max = where(mixte, couple / 2, where(un, seul, where(deux, couple, 0.0))) / 12
    plafond = where(un & ~f.en_couple, param(f"{A}.plafond_ressources_annuel.personne_seule"),
                    param(f"{A}.plafond_ressources_annuel.couple")) / 12
    depassement = maximum(f.asi_aspa_base_ressources + montant_max - plafond, 0.0)
    eligible = condition("le demandeur ou son conjoint remplit les conditions d'âge et de séjour", un | deux,
                         ref="CSS art. L815-1")
    montant = where(mixte, montant_max - depassement / 2, montant_max - depassement)
    return where(eligible, maximum(montant, 0.0), 0.0)


@rule(entity="famille", dtype="float", label="ASPA perçue par la famille (mensuelle): l'ASPA versée quand ses "
      "paiements sont connus, sinon l'ASPA calculée", ref="CSS art. R861-8")
def aspa_percue(f: Famille):
    """The CSS counts the resources *received* over its twelve months (CSS art. R861-8): a pensioner of 70 with a
    pension of 500 € who does not take her ASPA up receives 6,000 € a year, under the free CSS's ceiling; counting
    the ASPA due put her in the CSS with participation (30 € a month). The RSA and the prime d'activité still read
    the ASPA due: the RSA is subsidiary, the household having to claim the benefits it is entitled to first (CASF
    art. L262-10), and a pensioner entitled to the ASPA is reached for the ASPA, not for an RSA or a prime it would
    make nil. A regularisation (negative amount) counts as nothing received. Without the
    CNAV's and the MSA's payments (a reference situation, an ablation) the ASPA computed stands in."""
    return where(f.aspa_versee_connue, maximum(f.aspa_versee, 0.0), f.aspa)
