"""Revenu fiscal de référence of year N-2, as the tax administration would state it for the simple incomes
the inputs carry (CGI art. 1417 IV): taxable salaries and unemployment benefits less the 10 % deduction for
professional expenses (with its floor and ceiling per person, CGI art. 83, 3°), taxable pensions, invalidity
pensions and alimony received less the 10 % abatement (floor per pensioner, ceiling per foyer, CGI art. 158,
5-a), less the special abatement for each declarant aged 65 or more (CGI art. 157 bis). The amounts of the
income year apply, read in January of year N-2.

Non-salaried profits (BIC, BNC, BA) of year N-2 count as the DGFiP declares them, a deficit for zero
(``revenus_non_salaries_n2_retenus``). Not modelled: capital income, real expenses, the abatement for invalid
taxpayers (the inputs do not say who holds an invalidity card).
"""

from __future__ import annotations

from nonrecours.rules.benefits.common import age_au, au_mois
from nonrecours.rules.dsl import FoyerFiscal, Individu, maximum, minimum, param, round_, rule, where

__all__: list[str] = []

IR = "impot_revenu"


def _n2(name: str):  # type: ignore[no-untyped-def]
    """A tax parameter of the income year N-2."""
    return au_mois(param(f"{IR}.{name}"), 1, annees=-2)


@rule(entity="individu", dtype="float", label="salaires et chômage imposables N-2 après déduction de 10 %",
      ref="CGI art. 83, 3°")
def rfr_salaires_nets(i: Individu):
    # the DGFiP's amount of year N-2, else the months' estimate (``revenu_activite_n2``): a person the DGFiP does
    # not report had a zero income of reference here, so every household of the truth (which has no DGFiP
    # table) was entitled to the chèque énergie's first tranche
    brut = i.revenu_activite_n2
    deduction = round_(minimum(maximum(param(f"{IR}.deductions.frais_professionnels_taux") * brut,
                                       _n2("deductions.frais_professionnels_min")),
                               _n2("deductions.frais_professionnels_max")))
    return maximum(brut - deduction, 0.0)


@rule(entity="individu", dtype="float", label="abattement de 10 % sur les pensions N-2 (avant plafond du foyer)",
      ref="CGI art. 158, 5-a")
def rfr_abattement_pensions(i: Individu):
    pensions = i.pensions_n2
    return minimum(round_(maximum(param(f"{IR}.deductions.pensions_taux") * pensions,
                                  _n2("deductions.pensions_min"))), pensions)


@rule(entity="individu", dtype="bool", label="déclarant âgé de 65 ans ou plus au 31 décembre de l'année N-2",
      ref="CGI art. 157 bis")
def rfr_declarant_age(i: Individu):
    """The age reached on 31 December of the income year (the age on 1 December: birth dates are the first of a
    month)."""
    return (i.foyer_fiscal_role == "declarant") & (age_au(i, 12, annees=-2) >= param(f"{IR}.abattement_age.age"))


@rule(entity="foyer_fiscal", dtype="float", label="revenu net global de l'année N-2", ref="CGI art. 156 et 158")
def rfr_revenu_net_global(ff: FoyerFiscal):
    m = ff.members
    abattement = minimum(ff.sum(m.rfr_abattement_pensions), _n2("deductions.pensions_max"))
    return (ff.sum(m.rfr_salaires_nets) + ff.sum(m.pensions_n2) - abattement
            + ff.sum(m.revenus_non_salaries_n2_retenus))


@rule(entity="foyer_fiscal", dtype="float", label="abattement spécial par déclarant âgé ou invalide, selon le "
      "revenu net global de l'année N-2", ref="CGI art. 157 bis")
def rfr_abattement_special_par_personne(ff: FoyerFiscal):
    """The scale's amount for one person of the foyer (the revenu fiscal de référence's abatement for age, and the
    housing aid's for a person born before 1931: ``al_abattement_special``)."""
    rng = ff.rfr_revenu_net_global
    return where(rng <= _n2("abattement_age.plafond_1"), _n2("abattement_age.montant_1"),
                 where(rng <= _n2("abattement_age.plafond_2"), _n2("abattement_age.montant_2"), 0.0))


@rule(entity="foyer_fiscal", dtype="float", label="revenu fiscal de référence de l'année N-2",
      ref="CGI art. 157 bis et 1417 IV")
def rfr_n2(ff: FoyerFiscal):
    rng = ff.rfr_revenu_net_global
    # doubled when both spouses meet the age condition (CGI art. 157 bis, 2nd paragraph)
    abattement = ff.count(where=ff.members.rfr_declarant_age) * ff.rfr_abattement_special_par_personne
    return maximum(rng - minimum(abattement, rng), 0.0)


@rule(entity="foyer_fiscal", dtype="int", label="nombre de déclarants du foyer fiscal", ref="CGI art. 6")
def rfr_nb_declarants(ff: FoyerFiscal):
    return ff.count(role="declarant")
