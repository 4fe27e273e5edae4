"""Household structure, housing and monthly resources shared by several benefits.

Vocabulary of OpenFisca-France: a famille has a demandeur, maybe a conjoint (both "parents") and
enfants. Amounts are euros per month.
"""

from __future__ import annotations

import datetime as dt

from nonrecours.rules.dsl import (
    Expr,
    Famille,
    Individu,
    abs_,
    day_of,
    floor,
    maximum,
    month_of,
    month_start,
    param,
    round_,
    rule,
    shift,
    where,
    year_of,
    years_between,
)
from nonrecours.rules.ir import ROUND_TOLERANCE
from nonrecours.schemas.codes import HOUSEHOLDER_ROLES, NET_TO_TAXABLE, PARENT_ROLES

__all__ = [
    "PARENTS",
    "PENSION_TAXABLE",
    "SALARY_TAXABLE",
    "UNEMPLOYMENT_TAXABLE",
    "age_au",
    "au_mois",
    "round_half_even",
    "taux_montant_forfaitaire",
    "taux_montant_majore_isolement",
]

PARENTS = PARENT_ROLES
HOUSEHOLDERS = HOUSEHOLDER_ROLES


NAISSANCE_INCONNUE = dt.date(1801, 1, 1)
"""Birth dates before this are the input's "unknown" marker (1800-01-01)."""


def au_mois(expr: Expr, mois: int, annees: int = 0) -> Expr:
    """``expr`` as of month ``mois`` (1..12) of the evaluated month's year, moved by ``annees`` years: yearly
    benefits read a fixed month of their year (the October BMAF of the ARS, the January of year N-2 of the
    tax rules) whatever the evaluated month. One shift per possible evaluated month, chosen by its month."""
    m = month_of(month_start())
    out = shift(expr, mois - 12 + 12 * annees)
    for k in range(11, 0, -1):
        out = where(m == k, shift(expr, mois - k + 12 * annees), out)
    return out


def age_au(i: Individu, mois: int, annees: int = 0, en_mois: bool = False) -> Expr:
    """Age (whole years, or whole months with ``en_mois``) on the first day of month ``mois`` of the evaluated
    month's year moved by ``annees`` years, from the birth date; with an unknown birth date, the age of the
    evaluated month (in months: twelve times it)."""
    naissance = i.date_naissance
    annee = year_of(month_start()) + annees
    pas_encore = where(day_of(naissance) > 1, 1, 0)
    if en_mois:
        connu = 12 * (annee - year_of(naissance)) + (mois - month_of(naissance)) - pas_encore
        return where(naissance > NAISSANCE_INCONNUE, connu, 12 * i.age)
    avant = (month_of(naissance) > mois) | ((month_of(naissance) == mois) & (day_of(naissance) > 1))
    connu = annee - year_of(naissance) - where(avant, 1, 0)
    return where(naissance > NAISSANCE_INCONNUE, connu, i.age)


@rule(entity="individu", dtype="bool", label="parent (demandeur ou conjoint) dans sa famille")
def est_parent(i: Individu):
    return i.famille_role.is_in(PARENTS)


@rule(entity="individu", dtype="int", label="âge en années révolues au premier jour du mois (de référence)")
def age_mois(i: Individu):
    """With a known birth date the age is the one of each reference month (a birthday inside the CSS year
    changes it there); otherwise the age of the evaluated month is used for every month."""
    connue = i.date_naissance > dt.date(1801, 1, 1)
    return where(connue, years_between(i.date_naissance, month_start()), i.age)


@rule(entity="individu", dtype="bool", label="enfant (né) dans sa famille")
def est_enfant(i: Individu):
    """In a reference month before its birth a child is not yet a member of the foyer."""
    return (i.famille_role == "enfant") & (i.age_mois >= 0)


@rule(entity="famille", dtype="int", label="nombre de parents (demandeur et conjoint)")
def nb_parents(f: Famille):
    return f.count(role=PARENTS)


@rule(entity="famille", dtype="bool", label="famille en couple")
def en_couple(f: Famille):
    return f.nb_parents == 2


@rule(entity="famille", dtype="bool", label="couple marié", ref="Code civil art. 143")
def maries(f: Famille):
    return f.en_couple & (f.couple_kind == "married")


@rule(entity="famille", dtype="str", label="statut d'occupation du logement de la famille")
def statut_occupation(f: Famille):
    """A famille hosted in another household's dwelling is housed free of charge."""
    return where(f.hosted_free_of_charge, "free", f.menage.housing_status)


@rule(entity="famille", dtype="float", label="loyer (ou mensualité d'accession) payé par la famille")
def loyer_famille(f: Famille):
    return where(f.hosted_free_of_charge, 0.0, f.menage.rent)


@rule(entity="famille", dtype="bool", label="avantage en nature logement (propriétaire sans charge "
      "d'emprunt ou hébergé gratuitement)", ref="CASF art. R262-9; CSS art. R844-3")
def avantage_nature_logement(f: Famille):
    proprietaire = f.statut_occupation.is_in(["owner", "owner_with_loan"]) & (f.loyer_famille <= 0)
    return proprietaire | (f.statut_occupation == "free")


@rule(entity="individu", dtype="float", label="salaire brut estimé (salaire net / 0,78)")
def salaire_brut(i: Individu):
    return i.salary_net / 0.78


@rule(entity="individu", dtype="float", label="ressources de remplacement et pensions nettes du mois "
      "(chômage, retraite, invalidité, pension alimentaire)")
def revenus_remplacement(i: Individu):
    return i.unemployment + i.pension_net + i.invalidity_pension + i.alimony_received


def taux_montant_forfaitaire(bareme: str, n_personnes: Expr, n_parents: Expr) -> Expr:
    """Rate of the montant forfaitaire of a foyer of ``n_personnes`` (RSA, CASF art. R262-1; prime
    d'activité, CSS art. D843-1, same scale): +50 % for the second person, +30 % for the third, then
    +40 % per person, except that the fourth person of a couple brings 30 %. ``bareme`` is the parameter
    folder (``minima_sociaux.rsa`` or ``minima_sociaux.ppa``)."""
    maj = f"{bareme}.majoration"
    return (1 + where(n_personnes >= 2, param(f"{maj}.deuxieme_personne"), 0.0)
            + where(n_personnes >= 3, param(f"{maj}.troisieme_personne"), 0.0)
            + where(n_personnes >= 4, where(n_parents == 1, param(f"{maj}.personne_supplementaire"),
                                            param(f"{maj}.troisieme_personne")), 0.0)
            + maximum(n_personnes - 4, 0) * param(f"{maj}.personne_supplementaire"))


def taux_montant_majore_isolement(bareme: str, n_enfants: Expr) -> Expr:
    """Rate of the montant forfaitaire majorated for an isolated parent or pregnant woman (CASF art.
    L262-9 and R262-1; CSS art. L842-7 and D843-1): the base rate plus a rate per child."""
    return (param(f"{bareme}.majoration_isolement.base")
            + param(f"{bareme}.majoration_isolement.par_enfant") * n_enfants)


def round_half_even(x: Expr) -> Expr:
    """Round to the unit, halves to the even neighbour (the rounding the CSS ceiling decree results show:
    9 719 x 1.5 = 14 578.5 gives 14 578)."""
    bas = floor(x)
    moitie = abs_(x - bas - 0.5) < ROUND_TOLERANCE  # a half within round_'s tolerance
    pair = (bas - 2 * floor(bas / 2)) == 0
    return where(moitie, where(pair, bas, bas + 1), round_(x, 0))


SALARY_TAXABLE = NET_TO_TAXABLE["salary_net"]
UNEMPLOYMENT_TAXABLE = NET_TO_TAXABLE["unemployment_benefit"]
PENSION_TAXABLE = NET_TO_TAXABLE["pension_net"]
"""Net-to-taxable ratios (schemas.codes.NET_TO_TAXABLE), used when the income of the reference tax year
is not supplied."""


@rule(entity="individu", dtype="float", label="salaire imposable du mois, estimé du salaire net (au centime)",
      ref="CGI art. 79 et 83")
def salaire_imposable_estime(i: Individu):
    """A month's taxable salary is a payslip's amount, in cents (as the monthly resources of the DRM give it): the
    net-to-taxable ratio is applied to each month and rounded there, and a year is the sum of twelve such months.
    A base rounded up to the hundred euros, as the housing aid's, can turn on the cent (seed 11800,
    docs/oracle_disagreements.md)."""
    return round_(i.salary_net * SALARY_TAXABLE, 2)


@rule(entity="individu", dtype="float", label="allocation chômage imposable du mois, estimée du net (au centime)",
      ref="CGI art. 79")
def chomage_imposable_estime(i: Individu):
    return round_(i.unemployment * UNEMPLOYMENT_TAXABLE, 2)


@rule(entity="individu", dtype="float", label="pension de retraite imposable du mois, estimée du net (au centime)",
      ref="CGI art. 79")
def retraite_imposable_estimee(i: Individu):
    return round_(i.pension_net * PENSION_TAXABLE, 2)


@rule(entity="individu", dtype="float", label="revenus d'activité et de chômage imposables de l'année N-2 (annuels)",
      ref="CSS art. R532-3")
def revenu_activite_n2(i: Individu):
    estime = 12 * (i.salaire_imposable_estime + i.chomage_imposable_estime)
    return where(i.revenus_n2_renseignes, i.revenu_activite_imposable_n2, estime)


@rule(entity="individu", dtype="float", label="pensions et rentes imposables de l'année N-2 (annuelles)",
      ref="CSS art. R532-3")
def pensions_n2(i: Individu):
    estime = 12 * (i.retraite_imposable_estimee + i.invalidity_pension + i.alimony_received)
    return where(i.revenus_n2_renseignes, i.pensions_imposables_n2, estime)


@rule(entity="individu", dtype="float", label="bénéfices non salariés de l'année N-2 retenus (annuels; un déficit "
      "compte pour zéro)", ref="CSS art. R532-3; CGI art. 1417 IV")
def revenus_non_salaries_n2_retenus(i: Individu):
    """The DGFiP's amount where it declares the year; none where it does not (no monthly input estimates it:
    the year's range, ``core.resources.n2_high``, carries the unknown). A deficit counts for zero: whether it
    lowers the other incomes (CGI art. 156 I, under conditions the inputs do not carry) is left out, the
    unfavourable reading for a detection."""
    return where(i.revenus_n2_renseignes, maximum(i.revenus_non_salaries_n2, 0.0), 0.0)


@rule(entity="individu", dtype="float", label="derniers bénéfices non salariés connus, mensualisés (un déficit compte "
      "pour zéro)", ref="CASF art. R262-18 à R262-25; CSS art. L842-4, R815-22 et R861-15")
def revenus_non_salaries_mensuels(i: Individu):
    """The last yearly profit the DGFiP knows (year N-1 of the month, else N-2) over twelve months: what the RSA and
    the prime d'activité count as a non-salaried worker's monthly activity income (OpenFisca-France's
    ``ppa_rsa_derniers_revenus_tns_annuels_connus``), the ASPA and the ASI as a monthly resource, the CSS twelve
    times, the last declaration known at the claim (CSS art. R861-15; OpenFisca-France reads year N-1's for the
    three). A deficit counts for zero, as for year N-2's (``revenus_non_salaries_n2_retenus``)."""
    return maximum(i.revenus_non_salaries_connus, 0.0) / 12
