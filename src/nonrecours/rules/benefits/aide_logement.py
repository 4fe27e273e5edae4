"""Aides personnelles au logement: APL, allocation de logement familiale (ALF) and sociale (ALS)
(Code de la construction et de l'habitation, art. L821-1 and following, R822-1 and following, R823-1 and
following, D823-1 and following; arrêté du 27 septembre 2019 relatif au calcul des aides personnelles au
logement).

Renters (unfurnished, furnished, social housing): aide = loyer retenu (the rent, 2/3 of it when furnished,
within the ceiling of the zone and household) + forfait de charges − participation personnelle, where the
participation is P0 = max(P0 rate × (L + C), P0 forfait) plus Tp × (R − R0), Tp = TF (household size) + TL
(rent over the zone-2 reference rent). Not paid under the minimum amount, reduced for rents above
the degressivity threshold, minus the 5 € flat reduction and, in social housing, 98 % of the reduction of
rent of solidarity (RLS); the CRDS (0.5 %) is withheld and the amount is rounded down to the euro.
Foyers: aide = K × (L + C − L0) with the foyer ceilings and the minimal rent L0 of the E0 scale.
Every scale is a dated parameter, revalued each October (ceilings, forfaits) or January (R0).

Resources (since the 2021 "contemporanéisation"): those of the twelve months ending two months before the
evaluated month, after the CGI deductions (10 % for professional expenses, 10 % on pensions), an abattement
of 30 % on activity income of a retiree or AAH holder without earnings and on unemployment benefit when
the person is retired or holds the AAH (CCH art. R822-13, R822-14); activity and unemployment income of
the parents is neutralised from the month after one in which the foyer received the RSA (R822-17); minus
the double-activity abattement when each of the two members of the couple earned at least twelve BMAF
(R822-7), rounded up to the hundred euros; the resources of a ménage of students (the applicant and, where
there is one, the partner) are at least the student forfait (R822-20).

Colocation and rooms (inputs ``colocation`` and ``chambre`` of the ménage, the CAF's logement record): a
colocataire's ceiling is 75 % of his household's (arrêté du 27 septembre 2019, art. 16, 1°) and his charges
forfait the colocataires' (art. 16, 2°; art. 46 overseas); a room's ceiling is 90 % of a single person's
whatever the household (art. 8); a room in a colocation takes both. The rent is the colocataire's share (the
CAF keeps one dossier per colocataire).

Accession (input ``loan_date`` of the ménage, the CAF's ``DATE_PRET``): an owner repaying a loan signed before
1 January 2018 (loi n° 2017-1837 du 30 décembre 2017 de finances pour 2018, art. 126) gets K × (L + C − L0), L the
mensualité within the accession ceiling (arrêté du 27 septembre 2019, art. 33), C the general forfait, K, N and
L0 the logement-foyer's allocation de logement scale (CCH art. D842-15), the resources at least 16.25 times the
mensualité (CCH art. D842-12).

Not modelled (no input carries it): the room of an elderly or disabled adult hosted for payment by a private
person (75 %, art. 8), Crous housing, scholarship holders, the APL of loans conventionnés in accession and the
loans of 2018-2019 for an « ancien » dwelling in zone 3 (no extract tells the loan's kind nor the dwelling's
state: the core makes such a date unknown), capital income and assets, unindemnified jobseekers (no input tells
them from inactive people), parental leave, Saint-Pierre-et-Miquelon and Mayotte, the special abattement of CGI
art. 157 bis for invalid persons (no input says who holds an invalidity card; the one for persons born before 1931
is deducted: ``al_abattement_special``), the AEEH's exemption from the degressivity of high rents (no input carries
the AEEH; the AAH's is applied: ``al_exempt_loyer_eleve``), dependent ascendants (no input says who is an ascendant
of whom).

A disabled descendant living at home is a dependant (CCH art. R823-4, 3°: ``al_handicape_a_charge``); an ascendant
(R823-4, 2°) is not.

The values of the parameters were transcribed with their legal texts from OpenFisca-France's parameter
files (``parameters/aides_logement``), the commune zones from the ministry's zoning file
(``nonrecours.schemas.zonage``).
"""

from __future__ import annotations

import datetime as dt

from nonrecours.rules.benefits.common import NAISSANCE_INCONNUE, PARENTS, au_mois
from nonrecours.rules.dsl import (
    Famille,
    Individu,
    ceil,
    condition,
    floor,
    maximum,
    minimum,
    month_start,
    param,
    round_,
    rule,
    shift,
    sum_over,
    where,
    year_of,
)

__all__: list[str] = []

AL = "aides_logement"
LOC = f"{AL}.locatif"
ACC = f"{AL}.accession"
FERMETURE_ACCESSION = dt.date(2018, 1, 1)
"""Loans signed from this day open no housing aid in accession (loi n° 2017-1837 du 30 décembre 2017 de finances
pour 2018, art. 126), but for the loans conventionnés for an existing dwelling in zone 3 signed until 31 December
2019, which no input tells apart (their kind and the dwelling's state): the core makes such a loan an unknown."""
FIN_ANCIEN_ZONE_3 = dt.date(2020, 1, 1)
"""Loans conventionnés for an « ancien » dwelling in zone 3 signed before this day (and from
:data:`FERMETURE_ACCESSION`) still opened the aid (loi n° 2017-1837, art. 126)."""
RES = f"{AL}.ressources"
NE_AVANT_1931 = dt.date(1931, 1, 1)
"""The housing aid deducts CGI art. 157 bis's abatement for the persons born before this day (CCH art. R822-4)."""
LOCATAIRES = ("tenant", "tenant_furnished", "social_tenant")

# -- household ---------------------------------------------------------------------------------------------


@rule(entity="individu", dtype="bool", label="enfant à charge au sens des aides au logement (moins de 21 ans, "
      "sans autonomie financière)", ref="CCH art. L823-1 et R823-4; CSS art. R512-2")
def al_enfant_a_charge(i: Individu):
    return i.est_enfant & (i.age_mois < param("prestations_familiales.cf.age_limite")) & ~i.autonomie_financiere


@rule(entity="individu", dtype="bool", label="personne handicapée à charge au sens des aides au logement (un enfant "
      "de la famille hors du 1°, d'une incapacité d'au moins 80 % ou RSDAE, ses ressources au plus 1,25 fois le "
      "plafond individuel de l'ASPA)", ref="CCH art. R823-4, 3°")
def al_handicape_a_charge(i: Individu):
    """A descendant living at home (a child of the famille: an adult one, or one under 21 the 1° does not count)
    whose permanent incapacity is at least 80 % or whose handicap restricts his access to employment (RSDAE), and
    whose own resources (R822-3 to R822-6: the housing aid's, of the twelve months) are at most 1.25 times the
    ASPA's individual ceiling in force on 31 December of the reference year: that of year N-2, the reference year
    of the resources before the 2021 « contemporanéisation » (as OpenFisca-France reads it). A disabled adult on
    the AAH has no such resources (the AAH is no taxable income). OpenFisca-France 176.1.8 counts an incapacity
    over 80 % (strictly) or an unfitness for work (``inapte_travail``), from 21, on the N-2 income of the family
    benefits: the text says « au moins égale à 80 % » and the RSDAE."""
    handicap = (i.disability_rate >= param(f"{AL}.personnes_a_charge.taux_incapacite")) | i.rsdae
    plafond = (au_mois(param("minima_sociaux.aspa.plafond_ressources_annuel.personne_seule"), 12, -2)
               * param(f"{AL}.personnes_a_charge.coefficient_plafond_aspa"))
    return i.est_enfant & ~i.al_enfant_a_charge & handicap & (i.al_revenus_activite + i.al_pensions <= plafond)


@rule(entity="famille", dtype="int", label="nombre de personnes à charge au sens des aides au logement",
      ref="CCH art. R823-4")
def al_nb_personnes_a_charge(f: Famille):
    return f.count(where=f.members.al_enfant_a_charge | f.members.al_handicape_a_charge)


@rule(entity="famille", dtype="bool", label="barème couple des aides au logement (couple, ou femme enceinte isolée)",
      ref="CCH art. R823-4 et D823-16")
def al_couple(f: Famille):
    return f.en_couple | f.enceinte_fam


def _par_composition(f: Famille, seul, couple, pac):  # type: ignore[no-untyped-def]
    """Value for a person alone without dependant, a couple without dependant, else the one with dependants."""
    return where(f.al_nb_personnes_a_charge > 0, pac, where(f.al_couple, couple, seul))


def _par_zone(f: Famille, nom: str):  # type: ignore[no-untyped-def]
    """Parameter ``<nom>`` with ``{zone}`` replaced by the dwelling's zone (1, 2 or 3)."""
    z = f.menage.zone_apl
    return where(z == 1, param(nom.format(zone=1)), where(z == 2, param(nom.format(zone=2)), param(nom.format(zone=3))))


def _bareme_pac(f: Famille, prefixe: str, noms: list[str], suivant: str, au_dela: int):  # type: ignore[no-untyped-def]
    """Value of a scale by number of dependants: ``noms[k]`` for k dependants (the last for k and more),
    plus ``suivant`` per dependant beyond ``au_dela``."""
    n = f.al_nb_personnes_a_charge
    out = param(f"{prefixe}.{noms[-1]}")
    for k in range(len(noms) - 2, 0, -1):
        out = where(n == k, param(f"{prefixe}.{noms[k]}"), out)
    return out + maximum(n - au_dela, 0) * param(f"{prefixe}.{suivant}")


# -- resources -----------------------------------------------------------------------------------------------


@rule(entity="individu", dtype="float", label="aides au logement: salaires imposables des douze mois de référence",
      ref="CCH art. R822-3 et R822-4 (douze mois précédant l'avant-dernier mois)")
def al_salaires(i: Individu):
    return sum_over(i.salaire_imposable_estime, -13, -2)


@rule(entity="individu", dtype="float", label="aides au logement: allocations chômage imposables des douze mois de "
      "référence", ref="CCH art. R822-3 et R822-4")
def al_chomage(i: Individu):
    return sum_over(i.chomage_imposable_estime, -13, -2)


@rule(entity="individu", dtype="float", label="aides au logement: déduction pour frais professionnels",
      ref="CCH art. R822-3; CGI art. 83, 3°")
def al_deduction_frais_professionnels(i: Individu):
    d = f"{RES}.deduction_frais_professionnels"
    assiette = i.al_salaires + i.al_chomage
    return where(assiette > 0, round_(minimum(maximum(param(f"{d}.taux") * assiette, param(f"{d}.minimum")),
                                              param(f"{d}.maximum"))), 0.0)


@rule(entity="individu", dtype="float", label="aides au logement: pensions, rentes et pensions alimentaires des "
      "douze mois de référence après l'abattement de 10 %", ref="CCH art. R822-3; CGI art. 158, 5, a")
def al_pensions(i: Individu):
    brut = (sum_over(i.retraite_imposable_estimee, -13, -2)
            + sum_over(i.invalidity_pension + i.alimony_received, -13, -2))
    a = "impot_revenu.abattement_pensions"
    abattement = round_(minimum(maximum(param(f"{a}.taux") * brut, param(f"{a}.minimum")), param(f"{a}.maximum")))
    return maximum(brut - abattement, 0.0)


@rule(entity="individu", dtype="bool", label="retraité sans revenu d'activité (ni chômage) dans le mois")
def al_retraite(i: Individu):
    return (i.salary_net <= 0) & (i.unemployment <= 0) & (i.pension_net > 0)


@rule(entity="individu", dtype="bool", label="aides au logement: abattement de 30 % sur les revenus d'activité "
      "(chômage indemnisé depuis deux mois, retraite, AAH sans activité)", ref="CCH art. R822-13")
def al_abattement_activite(i: Individu):
    chomeur = [(shift(i.salary_net, -k) <= 0) & (shift(i.unemployment, -k) > 0) for k in (0, 1, 2)]
    return (chomeur[0] & chomeur[1] & chomeur[2]) | i.al_retraite | ((i.aah_percue > 0) & (i.salary_net <= 0))


@rule(entity="individu", dtype="bool", label="aides au logement: abattement de 30 % sur les allocations chômage "
      "(retraite ou AAH sans activité)", ref="CCH art. R822-14")
def al_abattement_chomage(i: Individu):
    return (i.al_retraite | (i.aah_percue > 0)) & (i.salary_net <= 0)


@rule(entity="individu", dtype="float", label="aides au logement: revenus d'activité et de chômage retenus "
      "(neutralisables)", ref="CCH art. R822-3, R822-13 et R822-14")
def al_revenus_activite(i: Individu):
    taux = param(f"{RES}.abattement_chomage")
    net_salaires = i.al_salaires - i.al_deduction_frais_professionnels
    activite = maximum(net_salaires, 0.0) * (1 - taux * where(i.al_abattement_activite, 1.0, 0.0))
    chomage = (i.al_chomage + minimum(net_salaires, 0.0)) * (1 - taux * where(i.al_abattement_chomage, 1.0, 0.0))
    return activite + chomage


@rule(entity="individu", dtype="float", label="aides au logement: abattement spécial de l'article 157 bis du CGI "
      "pour un déclarant né avant le 1er janvier 1931 (année N-2)", ref="CCH art. R822-4, II, 2°; CGI art. 157 bis")
def al_abattement_special(i: Individu):
    """« L'abattement mentionné à l'article 157 bis du code général des impôts pour les personnes nées avant le 1er
    janvier 1931 » is deducted from the resources (décret n° 97-83 fixed the cut-off): the scale's amount on the
    revenu net global of the person's foyer fiscal in year N-2, once per declarant so born. A birth date no agency
    gave reads the age: born before 1931 for certain only from the age the year 1930 gives. The same article's
    abatement for invalid persons is not applied: no input says who holds an invalidity card or a pension of 40 %
    (docs/oracle_disagreements.md)."""
    naissance = i.date_naissance
    avant = where(naissance > NAISSANCE_INCONNUE, naissance < NE_AVANT_1931,
                  i.age >= year_of(month_start()) - 1930)
    return where((i.foyer_fiscal_role == "declarant") & avant, i.foyer_fiscal.rfr_abattement_special_par_personne,
                 0.0)


@rule(entity="famille", dtype="bool", label="aides au logement: biactivité (chacun des deux conjoints a des revenus "
      "professionnels retenus d'au moins douze fois la BMAF sur la période de référence)", ref="CCH art. R822-7")
def al_biactivite(f: Famille):
    """The professional income "pris en compte dans les ressources" is the twelve months' salary after the
    deduction for professional expenses."""
    seuil = 12 * param("prestations_familiales.bmaf")
    m = f.members
    return (f.nb_parents == 2) & f.all(m.al_salaires - m.al_deduction_frais_professionnels >= seuil, role=PARENTS)


def _base_ressources(f: Famille, neutralise):  # type: ignore[no-untyped-def]
    """Resources of the famille, rounded up to the hundred euros, the parents' activity and unemployment income
    neutralised where ``neutralise`` holds."""
    m = f.members
    garde = where(neutralise, 0.0, 1.0)
    parents = maximum(f.sum(m.al_revenus_activite, role=PARENTS) * garde + f.sum(m.al_pensions, role=PARENTS), 0.0)
    parents = maximum(parents - f.sum(m.al_abattement_special, role=PARENTS), 0.0)  # CCH art. R822-4, II, 2°
    enfants_plafond = param(f"{RES}.abattement_ressources_enfant")
    enfants = f.sum(maximum(m.al_revenus_activite + m.al_pensions - enfants_plafond, 0.0), role="enfant")
    ressources = maximum(parents + enfants
                         - where(f.al_biactivite, param(f"{RES}.abattement_double_activite"), 0.0), 0.0)
    # CCH art. R822-20: a floor, not a replacement, and only for a ménage of students (see al_menage_etudiant)
    forfait = where(f.statut_occupation == "foyer", param(f"{RES}.etudiant_forfait_foyer"),
                    param(f"{RES}.etudiant_forfait_locatif"))
    ressources = where(f.al_menage_etudiant, maximum(ressources, forfait), ressources)
    return ceil(round_(ressources, 2) / 100) * 100


@rule(entity="famille", dtype="bool", label="aides au logement: le demandeur et, le cas échéant, son conjoint "
      "poursuivent des études (moins de 28 ans): ressources au moins égales au forfait étudiant",
      ref="CCH art. R822-20 et D822-21")
def al_menage_etudiant(f: Famille):
    """CCH art. R822-20 (formerly R351-7-2): when the applicant pursues studies and, where there is one, his
    spouse, cohabitant or PACS partner too, and the household's resources are below a minimal amount (the
    student forfait of D822-21, fixed by arrêté: 8,600 € in a rented dwelling, 6,600 € in a logement-foyer in
    2025), the resources are deemed equal to that amount. A floor over the real resources (a student earning
    1,500 € a month keeps his salary counted), and only when every parent of the famille is a student, so the
    order in which the partners are listed does not matter. The age limit (under 28, ``etudiant_age_max``) is
    the CAF's since January 2021. Not modelled: the lower amount of a scholarship holder (no input says who
    holds a bourse de l'enseignement supérieur). OpenFisca-France 176.1.8 replaces the resources by the
    forfait whenever the demandeur alone is a student (its formula of 2021: « Seul le statut étudiant du
    demandeur importe »); see docs/oracle_disagreements.md."""
    m = f.members
    etudiant = m.student & (m.age_mois < param(f"{RES}.etudiant_age_max"))
    return condition("le demandeur et, le cas échéant, son conjoint poursuivent des études",
                     f.all(etudiant, role=PARENTS), ref="CCH art. R822-20")


@rule(entity="famille", dtype="bool", label="RSA perçu le mois précédent (le RSA versé ou déclaré perçu quand les "
      "paiements du RSA sont connus; sinon le RSA calculé, son forfait logement avec l'aide au logement versée, "
      "sinon avec l'aide calculée sans neutralisation)", ref="CCH art. R822-17")
def al_rsa_mois_precedent(f: Famille):
    """R822-17 neutralises the income of a famille that « perçoit » the RSA: a famille entitled to it that does
    not claim it (the non-take-up detected here) keeps its income counted. The RSA due stands in for it only
    where no payer's payments say what is received (a reference situation)."""
    al = shift(where(f.aide_logement_versee_connue, f.aide_logement_versee, f.aide_logement_hors_neutralisation), -1)
    plein = shift(f.rsa_forfait_logement_plein, -1)
    forfait = maximum(minimum(maximum(al, 0.0), plein), where(shift(f.avantage_nature_logement, -1), plein, 0.0))
    socle = maximum(shift(f.rsa_socle, -1), shift(f.rsa_socle_majore, -1))
    # that month's family benefits as paid (stated for the months before a reference situation's month)
    montant = maximum(socle - forfait - shift(f.rsa_base_ressources_hors_pf + f.pf_retenues_minima, -1), 0.0)
    du = montant >= shift(param("minima_sociaux.rsa.montant_minimum_verse"), -1)
    return where(f.rsa_percu_connu, shift(f.rsa_percu, -1), du)


@rule(entity="famille", dtype="float", label="base ressources des aides au logement (annuelle)",
      ref="CCH art. R822-3 à R822-17 et D822-20")
def aide_logement_base_ressources(f: Famille):
    neutralise = condition("revenus d'activité et de chômage neutralisés: RSA perçu le mois précédent",
                           f.al_rsa_mois_precedent, ref="CCH art. R822-17")
    return _base_ressources(f, neutralise)


@rule(entity="famille", dtype="float", label="base ressources des aides au logement sans la neutralisation liée "
      "au RSA (annuelle)", ref="CCH art. R822-3 à R822-14 et D822-20")
def aide_logement_base_ressources_hors_neutralisation(f: Famille):
    return _base_ressources(f, False)


# -- renters -----------------------------------------------------------------------------------------------------


@rule(entity="famille", dtype="float", label="aides au logement: loyer plafond (L), réduit pour une chambre ou un "
      "colocataire", ref="CCH art. D823-16, 2°; arrêté du 27 septembre 2019, art. 7, 8 et 16")
def al_loyer_plafond(f: Famille):
    """The zone's ceiling for the household (art. 7). A room: 90 % of a single person's ceiling whatever the
    household (art. 8). A colocataire: 75 % of the ceiling (art. 16, 1°); a room let in a colocation takes both
    reductions. Rounded to the cent, as the arrêté's tables are."""
    p = f"{LOC}.plafond_loyer.zone_{{zone}}"
    n = f.al_nb_personnes_a_charge
    n_plafond = where(f.menage.residence_dom, minimum(n, 6), n)
    famille = _par_zone(f, f"{p}.un_enfant") + maximum(n_plafond - 1, 0) * _par_zone(f, f"{p}.majoration_par_enf_supp")
    seul = _par_zone(f, f"{p}.personnes_seules")
    chambre = condition("le logement loué est une chambre", f.menage.chambre,
                        ref="Arrêté du 27 septembre 2019, art. 8")
    colocation = condition("logement loué en colocation", f.menage.colocation,
                           ref="Arrêté du 27 septembre 2019, art. 16")
    plafond = where(chambre, seul * param(f"{LOC}.chambre.coefficient_plafond"),
                    _par_composition(f, seul, _par_zone(f, f"{p}.couples"), famille))
    return round_(plafond * where(colocation, param(f"{LOC}.colocation.coefficient_plafond"), 1.0), 2)


@rule(entity="famille", dtype="float", label="aides au logement: loyer réel (deux tiers en meublé)",
      ref="CCH art. D823-16 (décret n° 2020-17 du 9 janvier 2020)")
def al_loyer_reel(f: Famille):
    return f.loyer_famille * where(f.statut_occupation == "tenant_furnished", 2 / 3, 1.0)


@rule(entity="famille", dtype="float", label="aides au logement: forfait de charges (C)",
      ref="CCH art. D823-16, 3°; arrêté du 27 septembre 2019, art. 9, 16 (colocataires) et 46 (outre-mer)")
def al_charges(f: Famille):
    """A colocataire's forfait: half of the general one for a person alone, the general one for a couple, plus
    the same majoration per dependant (art. 16, 2°; art. 46 overseas)."""
    n = f.al_nb_personnes_a_charge
    metropole = param(f"{LOC}.forfait_charges.cas_general") + n * param(f"{LOC}.forfait_charges.majoration_par_enfant")
    dom = (param(f"{LOC}.forfait_charges_dom.cas_general")
           + n * param(f"{LOC}.forfait_charges_dom.majoration_par_enfant"))
    c = f"{LOC}.colocation.forfait_charges"
    coloc = (where(f.al_couple, param(f"{c}.couple"), param(f"{c}.beneficiaire_isole"))
             + n * param(f"{c}.majoration_par_personne_a_charge"))
    coloc_dom = (where(f.al_couple, param(f"{c}_dom.couple"), param(f"{c}_dom.beneficiaire_isole"))
                 + n * param(f"{c}_dom.majoration_par_personne_a_charge"))
    colocation = f.menage.colocation
    return where(f.menage.residence_dom, where(colocation, coloc_dom, dom), where(colocation, coloc, metropole))


@rule(entity="famille", dtype="float", label="aides au logement: abattement forfaitaire R0 (annuel)",
      ref="CCH art. D823-17; arrêté du 27 septembre 2019, art. 15")
def al_r0(f: Famille):
    p = f"{LOC}.r0"
    n = f.al_nb_personnes_a_charge
    avec = _bareme_pac(f, p, ["", "taux1pac", "taux2pac", "taux3pac", "taux4pac", "taux5pac", "taux6pac"],
                       "taux_pac_supp", 6)
    avec = where(f.menage.residence_dom & (n == 1), param(f"{LOC}.r0_outre_mer.taux1pac"), avec)
    return _par_composition(f, param(f"{p}.taux_seul"), param(f"{p}.taux_couple"), avec)


@rule(entity="famille", dtype="float", label="aides au logement: taux lié à la taille de la famille (TF)",
      ref="CCH art. D823-17; arrêté du 27 septembre 2019, art. 16")
def al_taux_famille(f: Famille):
    noms = ["", "avec_1_enfant", "avec_2_enfants", "avec_3_enfants", "avec_4_enfants", "avec_5_enfants",
            "avec_6_enfants"]
    metropole = _par_composition(f, param(f"{LOC}.tf.personnes_isolees"), param(f"{LOC}.tf.couples_0_enfant"),
                                 _bareme_pac(f, f"{LOC}.tf", noms, "maj_par_enf_supp", 6))
    dom = _par_composition(f, param(f"{LOC}.tf_dom.personnes_isolees"), param(f"{LOC}.tf_dom.couples_0_enfant"),
                           _bareme_pac(f, f"{LOC}.tf_dom", [*noms, "avec_7_enfants"], "maj_par_enf_supp", 7))
    return where(f.menage.residence_dom, dom, metropole)


@rule(entity="famille", dtype="float", label="aides au logement: taux lié au loyer (TL)",
      ref="CCH art. D823-17; arrêté du 27 septembre 2019, art. 17")
def al_taux_loyer(f: Famille):
    p = f"{LOC}.plafond_loyer.zone_2"
    n = f.al_nb_personnes_a_charge
    n_ref = where(f.menage.residence_dom, minimum(n, 6), n)
    avec = param(f"{p}.un_enfant") + maximum(n_ref - 1, 0) * param(f"{p}.majoration_par_enf_supp")
    reference = _par_composition(f, param(f"{p}.personnes_seules"), param(f"{p}.couples"), avec)
    rl = round_(minimum(f.al_loyer_reel, f.al_loyer_plafond) / reference * 100, 2) / 100
    s1, s2 = param(f"{LOC}.tl.seuil_1"), param(f"{LOC}.tl.seuil_2")
    t2, t3 = param(f"{LOC}.tl.tl_taux_2"), param(f"{LOC}.tl.tl_taux_3")
    tl = where(rl >= s2, t3 * (rl - s2) + t2 * (s2 - s1), maximum(t2 * (rl - s1), 0.0))
    return round_(tl, 5)


@rule(entity="famille", dtype="float", label="aides au logement: coefficient de dégressivité des loyers élevés",
      ref="CCH art. D823-16; arrêté du 27 septembre 2019, art. 8")
def al_coefficient_loyer_eleve(f: Famille):
    p = f"{LOC}.loyer_eleve.zone_{{zone}}"
    degressivite = round_(f.al_loyer_plafond * _par_zone(f, f"{p}.degressivite"), 2)
    suppression = round_(f.al_loyer_plafond * _par_zone(f, f"{p}.suppression"), 2)
    reel = f.al_loyer_reel
    entre = 1 - (reel - degressivite) / maximum(suppression - degressivite, 0.01)
    return where(reel <= degressivite, 1.0, where(reel <= suppression, entre, 0.0))


@rule(entity="famille", dtype="bool", label="aides au logement: pas de dégressivité des loyers élevés, le demandeur "
      "ou son conjoint percevant l'AAH", ref="CCH art. D823-16 (loi n° 2016-1918 du 29 décembre 2016, art. 136)")
def al_exempt_loyer_eleve(f: Famille):
    """D823-16: the reduction for high rents « ne s'applique pas lorsque le demandeur ou son conjoint est
    bénéficiaire de l'allocation aux adultes handicapés [...] ou de l'allocation d'éducation de l'enfant
    handicapé ». The AAH received (``aah_percue``: paid where the payers' extracts are read, else computed) of a
    parent of the famille; the AEEH is in no input (not modelled). OpenFisca-France exempts on its own input
    ``handicap``, which the situations do not set (docs/oracle_disagreements.md)."""
    return f.any(f.members.aah_percue > 0, role=PARENTS)


def _montant_locataire(f: Famille, ressources):  # type: ignore[no-untyped-def]
    """Aid of a renter before the minimum amount, from the famille's resources (annual)."""
    loyer = minimum(f.al_loyer_reel, f.al_loyer_plafond)
    charges = f.al_charges
    p0 = maximum(param(f"{LOC}.p0.taux") * (loyer + charges), param(f"{LOC}.p0.forfait"))
    participation = p0 + (f.al_taux_famille + f.al_taux_loyer) * maximum(ressources - f.al_r0, 0.0)
    return maximum(loyer + charges - participation, 0.0)


# -- foyers ---------------------------------------------------------------------------------------------------


@rule(entity="famille", dtype="float", label="aides au logement en foyer et en accession: nombre de parts (N)",
      ref="CCH art. D832-25 et D842-15; arrêté du 27 septembre 2019, art. 24 (logements-foyers)")
def al_foyer_nb_parts(f: Famille):
    p = f"{AL}.foyer.n_parts"
    avec = _bareme_pac(f, p, ["", "pac_1", "pac_2", "pac_3", "pac_4"], "par_pac_supp", 4)
    return _par_composition(f, param(f"{p}.isole"), param(f"{p}.couple"), avec)


@rule(entity="famille", dtype="float", label="aides au logement en foyer: équivalence de loyer et de charges "
      "plafond (personnes âgées de 62 ans ou plus, sinon chambre réhabilitée)",
      ref="Arrêté du 27 septembre 2019, art. 25 (logements-foyers)")
def al_foyer_plafond(f: Famille):
    p = f"{AL}.foyer.plafond"
    agee = f.value_of("demandeur", f.members.age_mois) >= 62
    couple = f.al_couple
    age = where(couple, param(f"{p}.personnes_agees.couple"), param(f"{p}.personnes_agees.personne_isolee"))
    autre = where(couple, param(f"{p}.etudiants_en_chambre_rehabilitee.couple"),
                  param(f"{p}.etudiants_en_chambre_rehabilitee.personne_isolee"))
    return where(agee, age, autre)


def _k_et_l0(f: Famille, ressources):  # type: ignore[no-untyped-def]
    """The coefficient K and the minimal rent (or mensualité) L0 of the K × (L + C − L0) formula of the
    allocations de logement in a logement-foyer and in accession (the same scale: CCH art. D832-25, D842-6 and
    D842-15; arrêté du 27 septembre 2019, art. 24 to 26 and 33 to 39), from the famille's resources (annual)."""
    n = f.al_foyer_nb_parts
    k = param(f"{AL}.foyer.k_plafond") - ressources / (param(f"{AL}.foyer.k_cm") * n)
    x = ressources / n
    e0 = 0.0
    for t in range(1, 6):
        bas = param(f"{AL}.foyer.e0.seuil_{t}")
        haut = x if t == 5 else minimum(x, param(f"{AL}.foyer.e0.seuil_{t + 1}"))
        tranche = maximum(haut - bas, 0.0)
        e0 = e0 + param(f"{AL}.foyer.e0.taux_{t}") * tranche
    l0 = (e0 * n + param(f"{AL}.foyer.e0_majoration")) / 12
    return k, l0


def _montant_foyer(f: Famille, ressources):  # type: ignore[no-untyped-def]
    """K × (L + C − L0) for a famille in a logement-foyer, from its resources (annual)."""
    k, l0 = _k_et_l0(f, ressources)
    plafond = f.al_foyer_plafond
    return where(plafond > 0, k * maximum(plafond + f.al_charges - l0, 0.0), 0.0)


# -- accession (owners repaying a loan) ------------------------------------------------------------------------


@rule(entity="famille", dtype="bool", label="accédant dont le prêt ouvre les aides au logement (signé avant le "
      "1er janvier 2018)", ref="Loi n° 2017-1837 du 30 décembre 2017 de finances pour 2018, art. 126 (CCH art. "
      "L351-2 et CSS art. L542-2 et L831-1 alors en vigueur); arrêté du 27 février 2018 (maintien dérogatoire de "
      "l'APL accession pour les logements anciens de certaines communes jusqu'au 1er janvier 2020)")
def al_accession(f: Famille):
    """An owner repaying a loan signed before 1 January 2018 (the aid stays open for as long as that loan is
    repaid). The loans conventionnés for an existing dwelling in zone 3 signed in 2018 and 2019 also opened it;
    no input carries the loan's kind nor the dwelling's state, so the rules read such a loan as closed and the
    core marks its date unknown (``core.inputs``), which keeps a flag that would need it from ``certain``."""
    return (f.statut_occupation == "owner_with_loan") & (f.menage.loan_date < FERMETURE_ACCESSION)


@rule(entity="famille", dtype="float", label="aides au logement en accession: mensualité plafond (L)",
      ref="CCH art. D842-6; arrêté du 27 septembre 2019, art. 33")
def al_accession_mensualite_plafond(f: Famille):
    p = f"{ACC}.mensualite_plafond.zone_{{zone}}"
    n = f.al_nb_personnes_a_charge
    noms = ["", "un_pac", "deux_pac", "trois_pac", "quatre_pac", "cinq_pac"]
    avec = _par_zone(f, f"{p}.cinq_pac") + maximum(n - 5, 0) * _par_zone(f, f"{p}.par_pac_supp")
    for k in range(4, 0, -1):
        avec = where(n == k, _par_zone(f, f"{p}.{noms[k]}"), avec)
    return _par_composition(f, _par_zone(f, f"{p}.personne_seule"), _par_zone(f, f"{p}.couple"), avec)


def _montant_accession(f: Famille, ressources):  # type: ignore[no-untyped-def]
    """K × (L + C − L0) for an accédant, from the famille's resources (annual) raised to the floor of 16.25 times
    the mensualité (CCH art. D842-12; arrêté du 27 septembre 2019, art. 39): L is the mensualité within its
    ceiling, C the general charges forfait (the colocataires' one is a tenant's; art. 9 and 46 overseas), K and L0
    those of the allocations de logement in a logement-foyer (CCH art. D842-15)."""
    mensualite = f.loyer_famille
    ressources = maximum(ressources, param(f"{ACC}.plancher_ressources_coefficient") * mensualite)
    k, l0 = _k_et_l0(f, ressources)
    n = f.al_nb_personnes_a_charge
    charges = where(f.menage.residence_dom,
                    param(f"{LOC}.forfait_charges_dom.cas_general")
                    + n * param(f"{LOC}.forfait_charges_dom.majoration_par_enfant"),
                    param(f"{LOC}.forfait_charges.cas_general")
                    + n * param(f"{LOC}.forfait_charges.majoration_par_enfant"))
    mensualite_retenue = minimum(f.al_accession_mensualite_plafond, mensualite)
    return where(mensualite_retenue > 0, k * maximum(mensualite_retenue + charges - l0, 0.0), 0.0)


# -- amount --------------------------------------------------------------------------------------------------------


def _bareme_pac_zone(f: Famille, p: str):  # type: ignore[no-untyped-def]
    """RLS resources ceiling of a famille with dependants, by their number."""
    n = f.al_nb_personnes_a_charge
    out = _par_zone(f, f"{p}.famille_6pac") + maximum(n - 6, 0) * _par_zone(f, f"{p}.majoration_par_pac_supp")
    for k in range(5, 0, -1):
        out = where(n == k, _par_zone(f, f"{p}.famille_{k}pac"), out)
    return out


@rule(entity="famille", dtype="float", label="réduction de loyer de solidarité (logement social conventionné à "
      "l'APL, hors outre-mer)",
      ref="CCH art. L442-2-1; arrêté du 27 février 2018 relatif à la réduction de loyer de solidarité")
def al_reduction_loyer_solidarite(f: Famille):
    """L442-2-1 puts the RLS on the dwellings conventionnés for the APL (CCH art. L831-1), and the APL does not
    exist in the overseas departments (their housing aid is the allocation de logement): a social tenant there
    has no RLS, and his aid is not reduced by 98 % of one (answer to written question AN n° 24595, 24 November
    2020). OpenFisca-France deducts it there too (docs/oracle_disagreements.md)."""
    p = f"{AL}.rls.plafond_ressources.zone_{{zone}}"
    plafond = _par_composition(
        f, _par_zone(f, f"{p}.personnes_seules"), _par_zone(f, f"{p}.couples"),
        _bareme_pac_zone(f, p))
    m = f"{AL}.rls.montant.zone_{{zone}}"
    n = f.al_nb_personnes_a_charge
    montant = _par_composition(f, _par_zone(f, f"{m}.personnes_seules"), _par_zone(f, f"{m}.couples"),
                               _par_zone(f, f"{m}.famille_1pac")
                               + maximum(n - 1, 0) * _par_zone(f, f"{m}.majoration_par_pac_supp"))
    eligible = ((f.statut_occupation == "social_tenant") & ~f.menage.residence_dom
                & (f.aide_logement_base_ressources / 12 < plafond))
    return where(eligible, montant, 0.0)


def _aide(f: Famille, ressources, rls):  # type: ignore[no-untyped-def]
    """The monthly aid paid, from the famille's resources and its reduction of rent of solidarity."""
    statut = f.statut_occupation
    locataire = statut.is_in(LOCATAIRES)
    foyer = statut == "foyer"
    accedant = f.al_accession
    avant_seuil = where(locataire, _montant_locataire(f, ressources),
                        where(foyer, _montant_foyer(f, ressources),
                              where(accedant, _montant_accession(f, ressources), 0.0)))
    seuil = where(statut == "social_tenant", param(f"{AL}.seuil_versement.apl"), param(f"{AL}.seuil_versement.non_apl"))
    montant = where(avant_seuil >= seuil, avant_seuil, 0.0)
    # the degressivity of high rents is a renter's (arrêté du 27 septembre 2019, art. 8), and never one whose
    # claimant or partner receives the AAH (CCH art. D823-16: al_exempt_loyer_eleve)
    coefficient = where(foyer | accedant | f.al_exempt_loyer_eleve, 1.0, f.al_coefficient_loyer_eleve)
    brut = maximum(round_(montant * coefficient, 2) - param(f"{AL}.minoration_forfaitaire"), 0.0)
    brut = maximum(brut - rls * param(f"{AL}.rls.fraction_baisse_apl"), 0.0)
    crds = floor(brut * 100 * param(f"{AL}.taux_crds")) / 100
    return where(locataire | foyer | accedant, floor(brut - crds + 1e-9), 0.0)


@rule(entity="famille", dtype="float", label="aide au logement calculée sans la neutralisation liée au RSA",
      ref="CCH art. L821-1, D823-16 et D823-17")
def aide_logement_hors_neutralisation(f: Famille):
    """Reads no RSA: what the RSA of the month before uses when the aid paid is unknown, which keeps the RSA ↔
    housing aid dependency finite."""
    return _aide(f, f.aide_logement_base_ressources_hors_neutralisation, 0.0)


@rule(entity="famille", dtype="float", label="aide personnelle au logement (APL + ALF + ALS), mensuelle",
      ref="CCH art. L821-1, L823-1, D823-16 et D823-17")
def aide_logement(f: Famille):
    loge = condition("locataire (vide, meublé, HLM) ou résident d'un logement-foyer",
                     f.statut_occupation.is_in([*LOCATAIRES, "foyer"]), ref="CCH art. L822-1 et L831-1")
    accedant = condition("accédant remboursant un prêt signé avant le 1er janvier 2018", f.al_accession,
                         ref="Loi n° 2017-1837 du 30 décembre 2017 de finances pour 2018, art. 126")
    return where(loge | accedant, _aide(f, f.aide_logement_base_ressources, f.al_reduction_loyer_solidarite), 0.0)


@rule(entity="famille", dtype="float", label="aide personnalisée au logement (logement conventionné)",
      ref="CCH art. L821-1, 1° et L831-1")
def apl(f: Famille):
    return where(f.statut_occupation == "social_tenant", f.aide_logement, 0.0)


@rule(entity="famille", dtype="float", label="allocation de logement familiale (personne à charge)",
      ref="CCH art. L821-1, 2° et L841-1")
def alf(f: Famille):
    return where((f.statut_occupation != "social_tenant") & (f.al_nb_personnes_a_charge > 0), f.aide_logement, 0.0)


@rule(entity="famille", dtype="float", label="allocation de logement sociale (sans personne à charge)",
      ref="CCH art. L821-1, 3° et L841-1")
def als(f: Famille):
    return where((f.statut_occupation != "social_tenant") & (f.al_nb_personnes_a_charge == 0), f.aide_logement, 0.0)


# -- what the other benefits read ------------------------------------------------------------------------------


@rule(entity="famille", dtype="float", label="aide au logement retenue par le RSA, la prime d'activité et la CSS: "
      "celle versée quand elle est connue, sinon celle calculée", ref="CASF art. R262-9; CSS art. R844-3 et R861-5")
def aide_logement_retenue(f: Famille):
    return where(f.aide_logement_versee_connue, f.aide_logement_versee, f.aide_logement)


@rule(entity="famille", dtype="bool", label="une aide au logement est perçue (versée; quand le versement est "
      "inconnu: locataire, résident d'un foyer ou accédant dont le prêt ouvre l'aide, payant un loyer ou une "
      "mensualité)", ref="CSS art. L821-1-2")
def aide_logement_percue(f: Famille):
    """What the AAH's majoration pour la vie autonome asks. When the aid paid is unknown it is estimated from
    the housing: the AAH is not a resource of housing aid, so a renter living on it is nearly always paid one.
    Computing the aid there instead would evaluate it for each of the CSS's twelve reference months, which
    doubled the cost of every plan reading the CSS."""
    loue = (f.statut_occupation.is_in([*LOCATAIRES, "foyer"]) | f.al_accession) & (f.loyer_famille > 0)
    return where(f.aide_logement_versee_connue, f.aide_logement_versee > 0, loue)
