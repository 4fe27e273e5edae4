"""Allocation de soutien familial (CSS art. L523-1 to L523-3, R523-1 to R523-7, D523-3): a monthly amount per
child at charge (under the family-benefit age limit, CSS art. L512-3) of a parent living alone when the
other parent does not contribute to the child's maintenance, or pays less than the ASF (the differential ASF,
CSS art. L523-1, II): 42.2 % of the BMAF per child since November 2022 (CSS art. R523-7), less the
maintenance received, not paid under 15 euros a month (CSS art. D523-3). It stops when the parent marries,
enters a PACS or lives as a couple (CSS art. L523-2).

Computed here for every child of a lone parent, as the reference model does: whether the other parent pays
nothing, is out of reach, or the child is an orphan, is a condition no data can show, so detection grades
an ASF flag « probable » at most (schemas.benefits) and the letter asks the question.

The amount paid is an input (``asf``); the minima sociaux count a flat amount per child (CASF art.
R262-10-1), capped by the ASF paid when payments are known, by this computed entitlement otherwise.

Not modelled: orphans of both parents and children taken in by another household (the higher rate), the
maintenance the other parent owes but does not pay (the ASF then advances it, CSS art. L581-2), the
four-month provisional ASF before a maintenance ruling, Mayotte, capital income.
"""

from __future__ import annotations

from nonrecours.rules.dsl import Famille, condition, maximum, param, rule, where

__all__: list[str] = []

PF = "prestations_familiales"


@rule(entity="famille", dtype="float", label="allocation de soutien familial (montant du droit, mensuel)",
      ref="CSS art. L523-1, R523-7 et D523-3")
def asf_droit(f: Famille):
    isole = condition("parent isolé (ni marié, ni pacsé, ni en concubinage)", ~f.en_couple,
                      ref="CSS art. L523-1 et L523-2")
    n = f.count(where=f.members.af_enfant)
    enfant = condition("au moins un enfant à charge de moins de 20 ans", n >= 1, ref="CSS art. L512-3 et L523-1")
    pensions = f.sum(f.members.alimony_received)
    montant = maximum(n * param(f"{PF}.bmaf") * param(f"{PF}.asf.taux_orphelin_un_parent") - pensions, 0.0)
    verse = montant >= param(f"{PF}.asf.seuil_versement")
    return where(isole & enfant & verse, montant, 0.0)


@rule(entity="famille", dtype="float", label="ASF retenue pour les autres prestations (versée quand elle est "
      "connue, sinon le droit calculé)", ref="CASF art. R262-10-1; CSS art. R844-4")
def asf_retenue(f: Famille):
    return where(f.prestations_versees_connues, f.asf, f.asf_droit)
