"""Allocation supplémentaire d'invalidité (CSS art. L815-24 and following): a ``simulate`` output and a
resource of the other benefits.

Since April 2020 the ASI is the difference between a ceiling (single or couple) and the foyer's
resources of the three previous months, for a person drawing an invalidity pension who is not entitled
to the ASPA (CSS art. L815-24, L815-24-1, D815-19). Resources are those of the ASPA: a spouse's AAH
counts, not the AAH of the claimant (it is itself reduced by the ASI).
A couple whose other member is entitled to the ASPA gets no ASI (the ASPA side counts both; see ``aspa``).
Not modelled: retirees with a disability (ASI after an early pension), capital income and assets.
"""

from __future__ import annotations

from nonrecours.rules.benefits.common import PARENTS
from nonrecours.rules.dsl import Famille, Individu, condition, maximum, param, rule, where

__all__: list[str] = []

S = "prestations_etat_de_sante.asi"


@rule(entity="individu", dtype="bool", label="éligibilité individuelle à l'ASI", ref="CSS art. L815-24 et L816-1")
def asi_eligibilite(i: Individu):
    invalidite = condition("titulaire d'une pension d'invalidité", i.invalidity_pension > 0, ref="CSS art. L815-24")
    sejour = condition("nationalité française ou EEE, titre de séjour depuis 10 ans, ou réfugié, protection "
                       "subsidiaire, apatride", i.asi_aspa_condition_sejour, ref="CSS art. L816-1")
    return i.est_parent & ~i.aspa_eligibilite & invalidite & sejour


def _asi(f: Famille, ressources):  # type: ignore[no-untyped-def]
    n = f.count(role=PARENTS, where=f.members.asi_eligibilite)
    plafond = where(f.en_couple, param(f"{S}.plafond_ressources_annuel.couple"),
                    param(f"{S}.plafond_ressources_annuel.personne_seule")) / 12
    eligible = (n >= 1) & (f.aspa_nb_eligibles == 0)
    return where(eligible, maximum(plafond - ressources, 0.0), 0.0)


@rule(entity="famille", dtype="float", label="ASI sans l'AAH des membres dans les ressources (déduite de l'AAH)",
      ref="CSS art. L815-24-1, D815-19 et L821-1")
def asi_hors_aah(f: Famille):
    """The ASI the AAH is reduced by (the AAH is subsidiary to it, CSS art. L821-1): computed without any AAH,
    which also keeps the two allowances from reading each other."""
    return _asi(f, f.sum(f.members.asi_aspa_ressources_hors_aah, role=PARENTS))


@rule(entity="famille", dtype="int", label="nombre de membres du couple titulaires de l'ASI",
      ref="CSS art. L815-24 et L815-24-1")
def asi_nb_beneficiaires(f: Famille):
    return f.count(role=PARENTS, where=f.members.asi_eligibilite)


@rule(entity="individu", dtype="float", label="ASI sans l'AAH: part du membre (la moitié du montant du couple quand "
      "les deux conjoints en sont titulaires)", ref="CSS art. L815-24-1, D815-19 et L821-1")
def asi_hors_aah_individuelle(i: Individu):
    """The ASI the member holds, which its own AAH is reduced by (CSS art. L821-1: the AAH tops up the
    claimant's own invalidity benefits, not the spouse's). When both spouses hold the ASI, the couple's amount
    is shared in halves, as OpenFisca-France's ``asi`` does (its elig2 and elig3)."""
    part = i.famille.asi_hors_aah / maximum(i.famille.asi_nb_beneficiaires, 1)
    return where(i.asi_eligibilite, part, 0.0)


@rule(entity="individu", dtype="bool", label="titulaire de l'ASI (éligible, le foyer la perçoit)",
      ref="CSS art. L815-24 et L815-24-1")
def asi_titulaire(i: Individu):
    """A holder of the ASI the foyer receives: both spouses when both are eligible (each holds half)."""
    return i.asi_eligibilite & (i.famille.asi > 0)


@rule(entity="individu", dtype="float", label="ASI: part du membre titulaire (la moitié quand les deux conjoints "
      "en sont titulaires)", ref="CSS art. L815-24-1 et D815-19")
def asi_part_individuelle(i: Individu):
    return where(i.asi_titulaire, i.famille.asi / maximum(i.famille.asi_nb_beneficiaires, 1), 0.0)


@rule(entity="famille", dtype="bool", label="ASI versée sans droit calculé: le conjoint plutôt que le demandeur en "
      "est le titulaire présumé")
def asi_versee_au_conjoint(f: Famille):
    """The parent with the larger invalidity pension, which the ASI tops up (the demandeur on a tie)."""
    pension = f.members.invalidity_pension
    return f.value_of("conjoint", pension, default=-1.0) > f.value_of("demandeur", pension, default=-1.0)


@rule(entity="individu", dtype="float", label="ASI perçue: part du membre (versée quand les versements sont "
      "connus, sinon calculée)", ref="CSS art. R861-8")
def asi_percue_individuelle(i: Individu):
    """The CSS counts the resources *received* (CSS art. R861-8), as it reads the ASPA (``aspa_percue``): an
    invalidity pensioner who does not take the ASI up receives his pension alone, and counting the ASI due moved
    him from the free CSS to the CSS with participation, or out of it. The payers (CPAM, MSA) report the ASI per
    person; the core sums it over the famille (``asi_versee``), shared here as the ASI computed is (halves when
    both spouses are entitled), else to the presumed holder (``asi_versee_au_conjoint``). A regularisation
    (negative amount) counts as nothing received. Without the payers' payments (a reference situation, an
    ablation) the ASI computed stands in."""
    f = i.famille
    presume = where(f.asi_versee_au_conjoint, i.famille_role == "conjoint", i.famille_role == "demandeur")
    part = where(f.asi > 0, i.asi_part_individuelle / maximum(f.asi, 0.01), where(presume, 1.0, 0.0))
    return where(f.asi_versee_connue, maximum(f.asi_versee, 0.0) * part, i.asi_part_individuelle)


@rule(entity="famille", dtype="float", label="allocation supplémentaire d'invalidité (mensuelle, foyer)",
      ref="CSS art. L815-24-1, R815-22 et D815-19")
def asi(f: Famille):
    """Resources are the ASPA's (CSS art. R815-22): a spouse's AAH counts, not the AAH of a member entitled to
    the ASI or drawing an invalidity pension (that AAH is itself reduced by the ASI)."""
    return _asi(f, f.asi_aspa_base_ressources)
