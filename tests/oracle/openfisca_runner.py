"""Compute OpenFisca-France web-API situations in bulk: run INSIDE the oracle virtual environment only.

This script is ours (not OpenFisca's code); it imports ``openfisca_france`` (AGPL) and therefore lives
outside the ``nonrecours`` package, which never imports it. It is started as a subprocess by
``tests/oracle/environment.py``.

Input (stdin or ``--input FILE``): a JSON list of OpenFisca web-API situations (``individus``,
``familles``, ``foyers_fiscaux``, ``menages``), the ``/calculate`` shape: a variable whose value is
``null`` at a period is a variable to compute. Output (stdout or ``--output FILE``): a JSON list, one
object per situation, ``{entity plural: {id: {variable: {period: value}}}}`` for the requested
variables only (numbers rounded to the cent, enums as their name).

Situations asking for the same periods are merged into one big simulation (entity ids prefixed with the
situation's position), built column-wise by :func:`build_simulation` (the arrays OpenFisca's vectorised
simulation takes, one ``set_input`` per variable and period) rather than value by value: what makes
thousands of households per second possible. ``--stream`` keeps one process (and one tax-benefit system)
for many batches: one JSON list of situations per input line, one JSON list of results per output line.

Corrections of openfisca-france 176.1.8 are applied (documented in docs/oracle_disagreements.md):
``asi_aspa_condition_nationalite`` passes the ten-year permit test to numpy's ``logical_or`` as its output argument,
so no non-EEA resident meets the condition; the law (code de la sécurité sociale, art. L816-1) is EEA or Swiss
nationality, or a residence permit held for ten years. And ``rsa_condition_nationalite`` (RSA and prime d'activité)
asks every EEA or Swiss national for three months of residence, where the law (CASF art. L262-6; CSS art. L842-2,
2°) opposes no duration to a worker or to a former worker registered as a jobseeker. A third: ``abat_spe`` (the
special abatement of CGI art. 157 bis, which the revenu fiscal de référence, and so the chèque énergie, is computed
after) adds the declarant's and the spouse's conditions as two boolean arrays, a logical OR, and reads their age in
January of the income year; the law doubles the abatement when both spouses meet the condition and reads the age on
31 December of the income year. A fourth: ``rsa_socle`` and ``rsa_forfait_logement`` count every parent of the
famille, where CASF art. L262-5 counts a spouse, cohabitant or PACS partner in the beneficiary's rights only if they
meet the nationality or residence condition of L262-4, 2° (their resources still count, R262-6). A fifth:
``age_en_mois`` converts the days since birth at the mean Gregorian month (one month short for some dates) and
carries the first month computed to every other, so a child of 17 on 15 September can fall out of the ARS (CSS art.
R543-2, OpenFisca's amount then depending on the order variables are asked); the runner counts calendar months. A
sixth: ``ppa_revenu_activite``, ``ppa_ressources_hors_activite`` and the bonuses of ``ppa_fictive`` sum every member
of the famille, a grown-up child not at charge included, while the size counts only the persons at charge; CSS art.
L842-3 and R842-3 take the foyer's members (parents and persons at charge) for all of them. A seventh:
``ppa_eligibilite`` asks its age and its nationality or residence condition of any member of the famille (a French
child opens the prime to parents holding a permit for two years), where CSS art. L842-2 asks them of the beneficiary
(« par le bénéficiaire ») and R842-2 of the partner too: the demandeur or the conjoint here. An eighth:
``aide_logement_base_ressources`` replaces the resources by the student forfait whenever the demandeur alone is a
student, where CCH art. R822-20 makes the forfait a floor (resources below it deemed equal to it) for an applicant
pursuing studies and, where there is one, a partner doing so too; the runner floors OpenFisca's own resources (its
formula with the demandeur read as no student) by OpenFisca's own forfait when every parent is a student under its
age limit. A ninth: ``cmu_nb_pac`` counts a child of 25 and ``cmu_c_plafond`` every child of the famille, where CSS
art. R861-2 counts the children « de moins de vingt-cinq ans » in the foyer whose persons set the ceiling (D861-1).
A tenth: ``aah_base_non_cumulable`` (the advantages the AAH is reduced by) holds the invalidity pension and the ASI
only, where CSS art. L821-1 (loi n° 2016-1917, art. 87) caps the AAH plus the claimant's old-age benefits, the
retirement pension and the ASPA received, at the AAH amount; the runner adds them. That makes ``aah`` read the ASPA
of the month, whose resources read ``ass``, which reads ``aah``: ``ass`` returns its nil without evaluating
OpenFisca's formula when no individual meets ``ass_precondition_remplie`` (never stated by the exporter). An
eleventh, a parameter rather than a formula: ``cs.cmu.plafond_base`` stops at 10,166 € (1 April 2024), where the
free CSS's ceiling for one person is 10,339 € from 1 April 2025 (CSS art. L861-1, 1°, revalued by 1.7 %); the runner
sets it from that date (:data:`CSS_PLAFOND_BASE_2025`; the 1 April 2026 figure is not verified: kept after it).
A twelfth: ``aspa_eligibilite`` opens the ASPA at the legal age for a permanent incapacity above 50 %, where CSS art.
L815-1 and L351-8, 1° bis ask one « au moins égale » to it: the runner compares with ``>=``.
A thirteenth: ``aide_logement_montant_brut`` spares the degressivity of high rents only to a famille with a member
flagged ``handicap`` (an input no situation sets), where CCH art. D823-16 spares it when « le demandeur ou son
conjoint est bénéficiaire de l'allocation aux adultes handicapés »: the runner takes OpenFisca's amount before
degressivity (less its flat minoration) for a famille whose parent receives OpenFisca's own ``aah``. A fourteenth:
``reduction_loyer_solidarite`` applies the RLS in the overseas departments, where CCH art. L442-2-1 puts it on the
dwellings opening the APL, which does not exist there (answer to written question AN n° 24595, 2020): nil there.
A fifteenth: ``rsa_eligibilite`` opens the RSA before 25 for a parent with a child at charge, not for an unborn
child, where CASF art. L262-4, 1° says « enfants nés ou à naître »: the runner opens it to a famille whose parent is
pregnant, with a parent not a student, on OpenFisca's own conditions of nationality and non-salaried turnover.
A sixteenth: ``aspa_eligibilite`` and ``aah_eligible`` read the legal retirement age, 64 from September 2023 (its
``aah.age_legal_retraite``), where the age that opens the ASPA of a person unfit for work or with a 50 % rate and
ends the AAH of a rate under 80 % is the age of retirement for inaptitude, 62 whatever the generation (CSS art.
L351-1-5, R815-1, L821-2): the runner compares with :data:`AGE_RETRAITE_INAPTITUDE`, the AAH due while under it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from typing import Any

import numpy as np
from openfisca_core import periods
from openfisca_core.holders import set_input_dispatch_by_period, set_input_divide_by_period
from openfisca_core.indexed_enums import Enum
from openfisca_core.periods import MONTH, YEAR
from openfisca_core.simulations import Simulation
from openfisca_core.variables import Variable
from openfisca_france import FranceTaxBenefitSystem
from openfisca_france.entities import Famille, FoyerFiscal, Individu
from openfisca_france.model.base import TypesStatutOccupationLogement
from openfisca_france.model.prestations.minima_sociaux.ass import ass as _OPENFISCA_ASS

ENTITIES = ("individus", "familles", "foyers_fiscaux", "menages")
ROLE_KEYS = {"familles": ("parents", "enfants"), "foyers_fiscaux": ("declarants", "personnes_a_charge"),
             "menages": ("personne_de_reference", "conjoint", "enfants", "autres")}


class aspa_eligibilite(Variable):
    """CSS art. L815-1, L351-8 1° bis, R815-1: from 62 (L351-1-5), an incapacity at least equal to the rate."""

    value_type = bool
    entity = Individu
    label = "Éligibilité individuelle à l'ASPA (incapacité au moins égale au taux), CSS art. L815-1"
    definition_period = MONTH
    set_input = set_input_dispatch_by_period

    def formula(individu, period, parameters):  # type: ignore[no-untyped-def]
        aspa = parameters(period).prestations_sociales.solidarite_insertion.minimum_vieillesse.aspa
        age = individu("age", period)
        invalide = (individu("taux_incapacite", period) >= aspa.taux_incapacite_aspa_anticipe) \
            + individu("inapte_travail", period)
        return ((age >= aspa.age_min) + (age >= AGE_RETRAITE_INAPTITUDE) * invalide) \
            * individu("asi_aspa_condition_nationalite", period)


AGE_RETRAITE_INAPTITUDE = 62
"""CSS art. L351-1-5 (loi n° 2023-270, art. 10): the age of retirement of the unfit for work and of a permanent
incapacity of at least 50 %, whatever the generation; the legal age of L161-17-2 before September 2023 (62 for
those born from 1955)."""


class aah_eligible(Variable):
    """CSS art. L821-2 and L351-1-5: the AAH of a rate under 80 % ends at 62, the age of retirement for inaptitude."""

    value_type = bool
    entity = Individu
    label = "Éligibilité à l'AAH (fin à 62 ans sous 80 %, âge de la retraite pour inaptitude)"
    definition_period = MONTH
    set_input = set_input_dispatch_by_period

    def formula(individu, period, parameters):  # type: ignore[no-untyped-def]
        openfisca = _openfisca("aah_eligible", individu, period, parameters)
        aah = parameters(period).prestations_sociales.prestations_etat_de_sante.invalidite.aah
        quatre_vingts = individu("taux_incapacite", period) >= aah.taux_capacite.taux_incapacite
        return openfisca & (quatre_vingts | (individu("age", period) < AGE_RETRAITE_INAPTITUDE))


class asi_aspa_condition_nationalite(Variable):
    """CSS art. L816-1: a national of an EEA state or of Switzerland, or a foreigner holding for at least
    ten years a residence permit authorising work (the duration is OpenFisca's own parameter)."""

    value_type = bool
    default_value = True
    entity = Individu
    label = "Condition de nationalité ou de titre de séjour (ASPA, ASI), CSS art. L816-1"
    definition_period = MONTH

    def formula(individu, period, parameters):  # type: ignore[no-untyped-def]
        eee = individu("ressortissant_eee", period)
        suisse = individu("nationalite", period) == b"CH"
        years = individu("duree_possession_titre_sejour", period)
        minimum = parameters(period).prestations_sociales.solidarite_insertion.minimum_vieillesse.aspa \
            .duree_min_titre_sejour
        return np.logical_or(np.logical_or(eee, suisse), years >= minimum)


class rsa_condition_nationalite(Variable):
    """CASF art. L262-6 (RSA) and CSS art. L842-2, 2° (prime d'activité, which reads this variable): an EEA or
    Swiss national needs three months of residence, a duration not opposable to a person in declared
    professional activity nor to a former worker registered as a jobseeker (here: a net salary or a net
    unemployment benefit in the month). A non-EEA national needs a permit held for five years (CASF art.
    L262-4, 2°). The durations are OpenFisca's own parameters."""

    value_type = bool
    default_value = True
    entity = Individu
    label = "Condition de nationalité ou de séjour (RSA, prime d'activité), CASF art. L262-4, 2° et L262-6"
    definition_period = MONTH

    def formula(individu, period, parameters):  # type: ignore[no-untyped-def]
        nationalite = individu("nationalite", period)
        eee_ou_suisse = np.logical_or(individu("ressortissant_eee", period), nationalite == b"CH")
        years = individu("duree_possession_titre_sejour", period)
        duree = parameters(period).prestations_sociales.solidarite_insertion.minima_sociaux.rsa.rsa_cond \
            .duree_min_titre_sejour
        actif = np.logical_or(individu("salaire_net", period) > 0, individu("chomage_net", period) > 0)
        eee = np.logical_and(eee_ou_suisse, np.logical_or(years >= duree.eee, actif))
        autre = np.logical_and(np.logical_not(eee_ou_suisse), years >= duree.non_eee)
        return np.logical_or(nationalite == b"FR", np.logical_or(eee, autre))


class abat_spe(Variable):
    """CGI art. 157 bis: a taxpayer "âgé de plus de soixante-cinq ans au 31 décembre de l'année d'imposition",
    or meeting an invalidity condition of art. 195 (OpenFisca's ``caseP``, ``caseF``), deducts from the
    revenu net global the amount of the scale (OpenFisca's own parameter); "dans le cas de personnes mariées
    soumises à une imposition commune, la déduction ... est doublée si les deux époux remplissent les
    conditions". The age is that of December of the income year (birth dates are first days of a month in our
    situations, so the age on 1 December is the age on 31 December). The abatement for married children
    attached to the foyer (art. 196 B) is kept as OpenFisca has it. Never above the revenu net global."""

    value_type = float
    entity = FoyerFiscal
    label = "Abattements spéciaux (CGI art. 157 bis, doublé pour deux époux; âge au 31 décembre)"
    definition_period = YEAR

    def formula(foyer_fiscal, period, parameters):  # type: ignore[no-untyped-def]
        december = periods.period(f"{period.start.year}-12")  # core's ``last_month`` is the month before
        rng = foyer_fiscal("rng", period)
        params = parameters(period).impot_revenu.calcul_revenus_imposables.abat_rni
        count = np.zeros(len(rng), dtype=np.int64)
        for who, invalid in ((foyer_fiscal.declarant_principal, "caseP"), (foyer_fiscal.conjoint, "caseF")):
            age = who("age", december)
            present = age > 0
            count += (present & ((age >= 65) | foyer_fiscal(invalid, period))).astype(np.int64)
        per_person = params.contribuable_age_invalide.calc(rng)
        married_children = foyer_fiscal("nbN", period) * params.enfant_marie
        return np.minimum(rng, count * per_person + married_children)


def _rsa_parents_comptes(famille, period):  # type: ignore[no-untyped-def]
    """CASF art. L262-5: the parents counted in the beneficiary's rights, those meeting the nationality or
    residence condition (the variable above); with none meeting it the famille has no RSA, so all are kept."""
    total = famille("nb_parents", period)
    meeting = famille.sum(famille.members("rsa_condition_nationalite", period), role=Famille.PARENT)
    return np.where(meeting >= 1, meeting, total)


class rsa_socle(Variable):
    """CASF art. R262-1 with L262-5: the montant forfaitaire by the number of persons of the foyer, where a
    partner who does not meet the condition of L262-4, 2° (or L262-6) is not counted; +50 % for the second
    person, +30 % for the third, then +40 % each, the fourth of a couple +30 % (OpenFisca's own parameters)."""

    value_type = float
    entity = Famille
    label = "RSA socle (CASF art. R262-1; partenaire hors condition de séjour non compté, L262-5)"
    definition_period = MONTH
    set_input = set_input_divide_by_period

    def formula(famille, period, parameters):  # type: ignore[no-untyped-def]
        parents = _rsa_parents_comptes(famille, period)
        n = parents + famille("rsa_nb_enfants", period)
        rsa = parameters(period).prestations_sociales.solidarite_insertion.minima_sociaux.rsa
        maj = rsa.rsa_maj.maj_montant_max
        fourth = np.where(parents == 1, maj.par_enfant_supplementaire, maj.couple_1_enfant_ou_2e_enfant)
        rate = (1 + (n >= 2) * maj.couples_celibataire_avec_enfant + (n >= 3) * maj.couple_1_enfant_ou_2e_enfant
                + (n >= 4) * fourth + np.maximum(n - 4, 0) * maj.par_enfant_supplementaire)
        return famille("rsa_eligibilite", period) * rsa.rsa_m.montant_de_base_du_rsa * rate


class rsa_forfait_logement(Variable):
    """CASF art. R262-9 and R262-10 with L262-5: the forfait logement (housing aid received, up to the forfait,
    or housing as an owner without a loan or free of charge) by the number of persons counted (a partner who
    does not meet the residence condition is not); OpenFisca's own rates."""

    value_type = float
    entity = Famille
    label = "Forfait logement du RSA (CASF art. R262-10; personnes comptées selon L262-5)"
    definition_period = MONTH
    set_input = set_input_divide_by_period

    def formula(famille, period, parameters):  # type: ignore[no-untyped-def]
        n = _rsa_parents_comptes(famille, period) + famille("rsa_nb_enfants", period)
        aide = famille("aide_logement", period)
        statut = famille.demandeur.menage("statut_occupation_logement", period)
        owner = (statut == TypesStatutOccupationLogement.primo_accedant) \
            | (statut == TypesStatutOccupationLogement.proprietaire)
        free = statut == TypesStatutOccupationLogement.loge_gratuitement
        in_kind = (owner & np.logical_not(famille.demandeur.menage("loyer", period))) \
            | (free & np.logical_not(famille.demandeur.menage("participation_frais", period)))
        rsa = parameters(period).prestations_sociales.solidarite_insertion.minima_sociaux.rsa
        maj = rsa.rsa_maj.maj_montant_max
        fl = rsa.rsa_fl.forfait_logement
        two = 1 + maj.couples_celibataire_avec_enfant
        three = two + maj.couple_1_enfant_ou_2e_enfant
        forfait = rsa.rsa_m.montant_de_base_du_rsa * np.select(
            [n <= 1, n == 2], [fl.taux_1_personne, fl.taux_2_personnes * two], fl.taux_3_personnes_ou_plus * three)
        return np.maximum((aide > 0) * np.minimum(aide, forfait), in_kind * forfait)


class age_en_mois(Variable):
    """The age in completed calendar months on the first day of the month. OpenFisca-France 176.1.8 converts the
    days since birth with numpy's ``timedelta64[M]`` (the mean Gregorian month, 30.436875 days), one month short
    for about one (birth, month) pair in eleven with births on a first day (1 December 2008 to 1 May 2026: 208,
    not 209), and derives every later request from the first month computed, so the error reaches the ARS's
    "18 at the rentrée" window in December (CSS art. R543-2: due for a child "qui n'a pas atteint l'âge de
    dix-huit ans révolus au 15 septembre"), and OpenFisca's amount depends on the order variables are asked."""

    value_type = int
    entity = Individu
    label = "Âge en mois révolus au premier jour du mois (calendaire)"
    definition_period = MONTH
    is_period_size_independent = True
    set_input = set_input_dispatch_by_period

    def formula(individu, period, parameters):  # type: ignore[no-untyped-def]
        born = individu("date_naissance", period)
        months = born.astype("datetime64[M]")
        year, month = months.astype("datetime64[Y]").astype(np.int64) + 1970, months.astype(np.int64) % 12 + 1
        day = (born - months.astype("datetime64[D]")).astype(np.int64) + 1
        start = period.start
        return (start.year - year) * 12 + (start.month - month) - (start.day < day)


def _ppa_membres_foyer(famille, period):  # type: ignore[no-untyped-def]
    """CSS art. R842-3: the prime d'activité's foyer is the beneficiary, the partner and the persons at charge, the
    members OpenFisca counts in its size (``nb_parents`` + ``rsa_nb_enfants``, i.e. ``rsa_enfant_a_charge``)."""
    return famille.members.has_role(Famille.PARENT) | famille.members("rsa_enfant_a_charge", period)


class ppa_revenu_activite(Variable):
    """CSS art. L842-3 (« revenus professionnels des membres du foyer ») and R842-3: the earned income of the foyer's
    members only; OpenFisca-France 176.1.8 sums every member of the famille, a child not at charge included."""

    value_type = float
    entity = Famille
    label = "Revenu d'activité pris en compte pour la PPA (membres du foyer, CSS art. R842-3)"
    definition_period = MONTH
    set_input = set_input_divide_by_period

    def formula(famille, period, parameters):  # type: ignore[no-untyped-def]
        membre = _ppa_membres_foyer(famille, period)
        return famille.sum(famille.members("ppa_revenu_activite_individu", period) * membre)


class ppa_ressources_hors_activite(Variable):
    """CSS art. L842-3 (« les ressources du foyer »), L842-4 and R842-3: the other resources of the foyer's members
    only (ASPA and family benefits are the famille's, as in OpenFisca)."""

    value_type = float
    entity = Famille
    label = "Revenu hors activité pris en compte pour la PPA (membres du foyer, CSS art. R842-3)"
    definition_period = MONTH
    set_input = set_input_divide_by_period

    def formula(famille, period, parameters):  # type: ignore[no-untyped-def]
        membre = _ppa_membres_foyer(famille, period)
        individuelles = famille.members("ass", period) + famille.members("ppa_ressources_hors_activite_individu",
                                                                         period)
        return (famille("aspa", period) + famille("ppa_base_ressources_prestations_familiales", period)
                + famille.sum(individuelles * membre))


class ppa_fictive(Variable):
    """CSS art. L842-3: « Les bonifications [...] sont établies pour chaque travailleur, membre du foyer »: the bonuses
    of the foyer's members only; otherwise OpenFisca's formula."""

    value_type = float
    entity = Famille
    label = "Prime pour l'activité fictive pour un mois (bonifications des membres du foyer, CSS art. L842-3)"
    definition_period = MONTH
    set_input = set_input_divide_by_period

    def formula(famille, period, parameters):  # type: ignore[no-untyped-def]
        forfait_logement = famille("ppa_forfait_logement", period)
        forfaitaire = famille("ppa_fictive_montant_forfaitaire", period)
        bonification = famille.sum(famille.members("ppa_bonification", period) * _ppa_membres_foyer(famille, period))
        montant = (forfaitaire + bonification + famille("ppa_fictive_ressource_activite", period)
                   - np.maximum(famille("ppa_base_ressources", period) + forfait_logement, forfaitaire))
        return famille("ppa_eligibilite", period) * np.maximum(montant, 0)


class ppa_eligibilite(Variable):
    """CSS art. L842-2 (« le droit à la prime d'activité est subordonné au respect, par le bénéficiaire, des conditions
    suivantes : 1° Etre âgé de plus de dix-huit ans ; 2° Etre français ou titulaire depuis au moins cinq ans d'un titre
    de séjour [...] ») and R842-2 (the beneficiary and the partner): the conditions of a parent of the famille, the
    beneficiary being whichever of the couple claims; OpenFisca-France 176.1.8 takes any member's, a child's
    included. The majoration for isolation waives the nationality condition (L842-2, 2°, c), as in OpenFisca."""

    value_type = bool
    entity = Famille
    label = "Eligibilité à la PPA pour un mois (conditions du bénéficiaire, CSS art. L842-2 et R842-2)"
    definition_period = MONTH
    set_input = set_input_dispatch_by_period

    def formula(famille, period, parameters):  # type: ignore[no-untyped-def]
        age_min = parameters(period).prestations_sociales.solidarite_insertion.minima_sociaux.ppa.pa_cond.age_min
        age = famille.any(famille.members("age", period) >= age_min, role=Famille.PARENT)
        sejour = famille.any(famille.members("rsa_condition_nationalite", period), role=Famille.PARENT)
        return age * ((sejour + famille("rsa_majore_eligibilite", period)) > 0)


class _DemandeurSansEtudiant:
    """The famille's demandeur projector, its ``etudiant`` and ``boursier`` read as false (everything else as is)."""

    def __init__(self, projector: Any) -> None:
        self._projector = projector

    def __call__(self, variable: str, period: Any, *args: Any, **kwargs: Any) -> Any:
        value = self._projector(variable, period, *args, **kwargs)
        return np.zeros_like(value) if variable in ("etudiant", "boursier") else value

    def __getattr__(self, name: str) -> Any:
        return getattr(self._projector, name)


class _FamilleSansEtudiant:
    """A famille as OpenFisca's own resource formula sees it, its demandeur never a student: the formula then
    returns the real resources (rounded up to the hundred euros), its student step a no-op."""

    def __init__(self, famille: Any) -> None:
        self._famille = famille

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._famille(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._famille, name)
        return _DemandeurSansEtudiant(value) if name == "demandeur" else value


_AL_BASE_RESSOURCES_OPENFISCA: list[Variable] = []
"""OpenFisca-France's own ``aide_logement_base_ressources``, kept by :func:`tax_benefit_system` before replacing it."""


class aide_logement_base_ressources(Variable):
    """CCH art. R822-20: when the applicant pursues studies and, where there is one, the partner too, and the
    household's resources are below the minimal amount (the student forfait), they are deemed equal to it.
    OpenFisca-France 176.1.8 (its formula of 2021) replaces the resources by the forfait whenever the demandeur alone
    is a student. Here: OpenFisca's own formula with the demandeur read as no student (its resources), floored by
    OpenFisca's own forfait (the scholarship minoration of the demandeur kept) when every parent is a student under
    ``age_max``."""

    value_type = float
    entity = Famille
    label = "Base ressources des allocations logement (forfait étudiant en plancher, CCH art. R822-20)"
    definition_period = MONTH
    unit = "currency"

    def formula(famille, period, parameters):  # type: ignore[no-untyped-def]
        openfisca = _AL_BASE_RESSOURCES_OPENFISCA[0].get_formula(period)
        ressources = openfisca(_FamilleSansEtudiant(famille), period, parameters)
        p = parameters(period).prestations_sociales.aides_logement.allocations_logement.ressources.etudiants
        etudiant = famille.members("etudiant", period) * (famille.members("age", period) < p.age_max)
        menage_etudiant = famille.all(etudiant, role=Famille.PARENT)
        boursier = famille.demandeur("boursier", period)
        statut = famille.demandeur.menage("statut_occupation_logement", period)
        foyer = (statut == TypesStatutOccupationLogement.locataire_foyer) + famille.demandeur.menage("logement_crous",
                                                                                                    period)
        forfait = np.where(foyer,
                           np.maximum(0, p.foyer.dar_11_forfait_ressources_foyer
                                      - boursier * p.foyer.dar_12_minoration_boursier),
                           np.maximum(0, p.locatif.dar_4_forfait_ressources
                                      - boursier * p.locatif.dar_5_minoration_boursier))
        return np.where(menage_etudiant, np.maximum(ressources, np.ceil(forfait / 100) * 100), ressources)


def _css_enfants(famille, period, parameters):  # type: ignore[no-untyped-def]
    """CSS art. R861-2: the children of the foyer are those « de moins de vingt-cinq ans » (born: age 0 or more)."""
    limit = parameters(period).prestations_sociales.solidarite_insertion.minima_sociaux.cs.cmu.age_limite_pac
    age = famille.members("age", period)
    return famille.members.has_role(Famille.ENFANT) * (age >= 0) * (age < limit)


class cmu_nb_pac(Variable):
    """CSS art. R861-2: the foyer's dependants under 25 (OpenFisca counts a child of 25)."""

    value_type = int
    entity = Famille
    label = "Personnes à charge de la CSS: enfants de moins de 25 ans (CSS art. R861-2)"
    definition_period = MONTH

    def formula(famille, period, parameters):  # type: ignore[no-untyped-def]
        return famille.sum(_css_enfants(famille, period, parameters))


class cmu_c_plafond(Variable):
    """CSS art. D861-1 with R861-2: the free CSS's ceiling by the foyer's persons, its children those under 25
    (OpenFisca counts every child of the famille): the second person at its own coefficient, the third and the
    fourth at theirs, each further one at the last (OpenFisca's own parameters); the overseas majoration."""

    value_type = float
    entity = Famille
    label = "Plafond de la CSS gratuite (CSS art. D861-1; enfants de moins de 25 ans, R861-2)"
    definition_period = MONTH
    set_input = set_input_divide_by_period

    def formula(famille, period, parameters):  # type: ignore[no-untyped-def]
        cmu = parameters(period).prestations_sociales.solidarite_insertion.minima_sociaux.cs.cmu
        persons = famille("nb_parents", period) + famille.sum(_css_enfants(famille, period, parameters))
        coefficient = (1 + (persons >= 2) * cmu.coeff_p2 + np.clip(persons - 2, 0, 2) * cmu.coeff_p3_p4
                       + np.maximum(persons - 4, 0) * cmu.coeff_p5_plus)
        dom = 1 + famille("cmu_eligible_majoration_dom", period) * cmu.majoration_dom
        return np.round(cmu.plafond_base * dom * coefficient)
class ass(Variable):
    """OpenFisca-France's ``ass`` (allocation de solidarité spécifique), read by the ASPA's and the ASI's resources
    in the month, asks ``aah`` of the month (an AAH holder cannot cumulate the ASS), which the corrected
    ``aah_base_non_cumulable`` makes read the ASPA of the month: a cycle by name only, since the ASS needs
    ``ass_precondition_remplie`` (five years of work in the last ten), which the exporter never states (our rules
    do not model the ASS): OpenFisca's ASS is nil for every exported situation. The runner returns that nil without
    evaluating the formula when nobody meets the precondition, and OpenFisca's formula otherwise."""

    value_type = float
    label = "Montant de l'ASS pour un individu"
    entity = Individu
    definition_period = MONTH
    set_input = set_input_divide_by_period

    def formula(individu, period, parameters):  # type: ignore[no-untyped-def]
        if not np.any(individu("ass_precondition_remplie", period)):
            return np.zeros(individu.count)
        return _OPENFISCA_ASS.formula(individu, period, parameters)


class aah_base_non_cumulable(Variable):
    """CSS art. L821-1 (as amended by loi n° 2016-1917, art. 87): the AAH "s'ajoute à la prestation sans que le total
    des deux avantages puisse excéder le montant de l'allocation aux adultes handicapés", the advantages being the
    claimant's invalidity and old-age benefits, « cet avantage ou le montant mensuel perçu au titre de l'allocation
    de solidarité aux personnes âgées ». OpenFisca-France 176.1.8 deducts the invalidity pension and the ASI of the
    month before only; the correction adds the net retirement pension of the month and the claimant's share of the
    famille's ASPA (the whole of it for one holder, half when both spouses are entitled, CSS art. D815-1; an
    oracle situation states no ASPA paid, so the ASPA computed is the one received)."""

    value_type = float
    entity = Individu
    label = "Avantages d'invalidité et de vieillesse non cumulables avec l'AAH (CSS art. L821-1)"
    definition_period = MONTH
    set_input = set_input_divide_by_period

    def formula(individu, period):  # type: ignore[no-untyped-def]
        eligible = individu("aspa_eligibilite", period)
        famille = individu.famille
        holders = famille.sum(famille.members("aspa_eligibilite", period))  # projected on the members
        share = np.where(eligible, famille("aspa", period) / np.maximum(holders, 1), 0.0)
        return (individu("pensions_invalidite", period) + individu("asi", period.last_month)
                + individu("retraite_nette", period) + share)


CSS_PLAFOND_BASE_2025 = ("2025-04-01", 10339.0)
"""The free CSS's ceiling for one person in mainland France from 1 April 2025 (CSS art. L861-1, 1°), the value
of our ``minima_sociaux/css/plafond_base.yaml``: openfisca-france 176.1.8 knows 10,166 € (2024-04-01) only."""


_OPENFISCA: dict[str, Variable] = {}
"""OpenFisca-France's own variables that a correction reads before replacing them (:func:`tax_benefit_system`)."""


def _openfisca(name: str, famille: Any, period: Any, parameters: Any) -> Any:
    """OpenFisca's own formula of ``name`` at ``period``, computed (its default value before its first formula)."""
    variable = _OPENFISCA[name]
    formula = variable.get_formula(period)
    if formula is None:
        return np.full(famille.count, variable.default_value)
    # OpenFisca's formulas take the parameters or not (``formula(famille, period)``)
    return formula(*(famille, period, parameters)[:formula.__code__.co_argcount])


class aide_logement_montant_brut(Variable):
    """CCH art. D823-16: no degressivity of high rents where the demandeur or his partner receives the AAH. Where
    a parent of the famille has OpenFisca's ``aah``, the amount before degressivity, rounded to the cent, less the
    flat minoration (what OpenFisca's own exception gives); elsewhere OpenFisca's amount."""

    value_type = float
    entity = Famille
    label = "Aides au logement après dégressivité (sans dégressivité pour un parent bénéficiaire de l'AAH)"
    definition_period = MONTH
    set_input = set_input_divide_by_period

    def formula(famille, period, parameters):  # type: ignore[no-untyped-def]
        openfisca = _openfisca("aide_logement_montant_brut", famille, period, parameters)
        aah = famille.any(famille.members("aah", period) > 0, role=Famille.PARENT)
        minoration = parameters(period).prestations_sociales.aides_logement.allocations_logement.locatif
        avant = np.round(famille("aide_logement_montant_brut_avant_degressivite", period), 2)
        exempt = np.maximum(0, avant - minoration.minoration_forfaitaire)
        return np.where(aah, exempt, openfisca)


class reduction_loyer_solidarite(Variable):
    """CCH art. L442-2-1: the RLS is the dwellings' opening the APL, none overseas (the demandeur's ménage)."""

    value_type = float
    entity = Famille
    label = "Réduction de loyer de solidarité (nulle outre-mer)"
    definition_period = MONTH
    set_input = set_input_divide_by_period

    def formula(famille, period, parameters):  # type: ignore[no-untyped-def]
        openfisca = _openfisca("reduction_loyer_solidarite", famille, period, parameters)
        return np.where(famille.demandeur.menage("residence_dom", period), 0, openfisca)


class rsa_eligibilite(Variable):
    """CASF art. L262-4, 1°: « assumer la charge d'un ou plusieurs enfants nés ou à naître ». OpenFisca's own
    eligibility, or a pregnant parent with a parent not a student (its conditions of nationality and turnover)."""

    value_type = bool
    entity = Famille
    label = "Éligibilité au RSA (enfant à naître compris)"
    definition_period = MONTH
    set_input = set_input_dispatch_by_period

    def formula(famille, period, parameters):  # type: ignore[no-untyped-def]
        openfisca = _openfisca("rsa_eligibilite", famille, period, parameters)
        enceinte = famille.any(famille.members("enceinte", period), role=Famille.PARENT)
        pas_etudiant = famille.any(np.logical_not(famille.members("etudiant", period)), role=Famille.PARENT)
        nationalite = famille.any(famille.members("rsa_condition_nationalite", period), role=Famille.PARENT)
        return openfisca | (enceinte & pas_etudiant & nationalite & famille("rsa_eligibilite_tns", period))


def tax_benefit_system() -> FranceTaxBenefitSystem:
    tbs = FranceTaxBenefitSystem()
    _AL_BASE_RESSOURCES_OPENFISCA[:] = [tbs.variables["aide_logement_base_ressources"]]
    for name in ("aide_logement_montant_brut", "reduction_loyer_solidarite", "rsa_eligibilite", "aah_eligible"):
        _OPENFISCA[name] = tbs.variables[name]
    start, value = CSS_PLAFOND_BASE_2025
    tbs.parameters.prestations_sociales.solidarite_insertion.minima_sociaux.cs.cmu.plafond_base.update(
        start=periods.instant(start), value=value)
    tbs.replace_variable(age_en_mois)
    tbs.replace_variable(asi_aspa_condition_nationalite)
    tbs.replace_variable(aspa_eligibilite)
    tbs.replace_variable(rsa_condition_nationalite)
    tbs.replace_variable(abat_spe)
    tbs.replace_variable(rsa_socle)
    tbs.replace_variable(rsa_forfait_logement)
    tbs.replace_variable(ppa_revenu_activite)
    tbs.replace_variable(ppa_ressources_hors_activite)
    tbs.replace_variable(ppa_fictive)
    tbs.replace_variable(aah_base_non_cumulable)
    tbs.replace_variable(ass)
    tbs.replace_variable(ppa_eligibilite)
    tbs.replace_variable(aide_logement_base_ressources)
    tbs.replace_variable(cmu_nb_pac)
    tbs.replace_variable(cmu_c_plafond)
    tbs.replace_variable(aide_logement_montant_brut)
    tbs.replace_variable(reduction_loyer_solidarite)
    tbs.replace_variable(rsa_eligibilite)
    tbs.replace_variable(aah_eligible)
    return tbs


def _requests(situation: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(entity plural, id, variable, period) of every null value: what the web API would compute."""
    out = []
    for plural in ENTITIES:
        for eid, values in (situation.get(plural) or {}).items():
            for var, per in values.items():
                if isinstance(per, dict):
                    out.extend((plural, eid, var, p) for p, v in per.items() if v is None)
    return out


def _merge(group: list[tuple[int, dict[str, Any]]]) -> dict[str, Any]:
    """One situation holding every situation of ``group``, ids prefixed by the situation's position."""
    merged: dict[str, dict[str, Any]] = {p: {} for p in ENTITIES}
    for pos, sit in group:
        pre = f"s{pos}_"
        for plural in ENTITIES:
            for eid, values in (sit.get(plural) or {}).items():
                entity = {}
                for key, val in values.items():
                    if plural != "individus" and key in ROLE_KEYS[plural]:
                        entity[key] = [pre + m for m in val] if isinstance(val, list) else pre + val
                    elif isinstance(val, dict):
                        entity[key] = {p: v for p, v in val.items() if v is not None}
                    else:
                        entity[key] = val
                merged[plural][pre + eid] = entity
    return merged


def build_simulation(tbs: FranceTaxBenefitSystem, merged: dict[str, Any]) -> Simulation:
    """The simulation of a fully specified situation, built column-wise.

    Same result as ``SimulationBuilder.build_from_entities`` on such a situation (no axes): entities, roles
    (a role's sub-roles by rank), a person left out of a group entity alone in its own instance with the
    first role, every stated value in one array per variable and period (the variable's default elsewhere),
    set smallest periods first. The builder does it value by value with a period parse and a list search
    each, which is quadratic in the number of persons.
    """
    sim = Simulation(tbs, tbs.instantiate_entities())
    persons = merged["individus"]
    pids = list(persons)
    pindex = {p: k for k, p in enumerate(pids)}
    period_cache: dict[str, Any] = {}
    key_cache: dict[str, str] = {}

    def period_of(text: str) -> Any:
        if text not in period_cache:
            period_cache[text] = periods.period(text)
        return period_cache[text]

    def key_of(text: str) -> str:  # "2024-01" and "month:2024-01" are one input
        if text not in key_cache:
            key_cache[text] = str(period_of(text))
        return key_cache[text]

    for population in sim.populations.values():
        entity = population.entity
        plural = entity.plural
        instances = merged.get(plural) or {}
        ids = list(instances)
        if entity.is_person:
            ids, index = pids, pindex
        else:
            index = {e: k for k, e in enumerate(ids)}
            members = np.full(len(pids), -1, dtype=np.int32)
            roles = np.empty(len(pids), dtype=object)
            by_key = {role.plural or role.key: role for role in entity.roles}
            for eid, values in instances.items():
                k = index[eid]
                for key, role in by_key.items():
                    who = values.get(key) or []
                    who = [who] if isinstance(who, str) else who
                    if role.max is not None and len(who) > role.max:
                        raise ValueError(f"{plural} {eid}: at most {role.max} {key}, {len(who)} given")
                    for rank, pid in enumerate(who):
                        members[pindex[pid]] = k
                        roles[pindex[pid]] = role.subroles[rank] if role.subroles else role
            for p in np.flatnonzero(members < 0):  # alone in an instance of their own, as the builder does
                members[p] = len(ids)
                roles[p] = entity.flattened_roles[0]
                ids.append(pids[p])
            population.members_entity_id = members
            population.members_role = roles
        population.count = len(ids)
        population.ids = ids
        columns: dict[str, dict[str, tuple[list[int], list[Any]]]] = defaultdict(dict)
        for eid, values in instances.items():
            k = index[eid]
            for var, per in values.items():
                if not entity.is_person and var in ROLE_KEYS[plural]:
                    continue
                if not isinstance(per, dict):
                    raise ValueError(f"{plural} {eid} {var}: values are given by period")
                for text, v in per.items():
                    if v is None:
                        continue
                    rows, vals = columns[var].setdefault(key_of(text), ([], []))
                    rows.append(k)
                    vals.append(v)
        for var, by_period in columns.items():
            entity.check_variable_defined_for_entity(var)
            holder = population.get_holder(var)
            variable = holder.variable
            for text in sorted(by_period, key=lambda t: periods.key_period_size(period_of(t))):
                rows, vals = by_period[text]
                array = variable.default_array(population.count)
                if variable.value_type == Enum:
                    vals = [variable.possible_values[v].index if isinstance(v, str) else v for v in vals]
                array[np.asarray(rows, dtype=np.int64)] = np.asarray(vals, dtype=variable.dtype)
                per = period_of(text)
                if variable.end is None or per.start.date <= variable.end:
                    holder.set_input(per, array)
    return sim


def _value(v: Any) -> Any:
    if isinstance(v, (np.floating, float)):
        return round(float(v), 2)
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer, int)):
        return int(v)
    return getattr(v, "name", str(v))


def _stated_formulas(situation: dict[str, Any], tbs: FranceTaxBenefitSystem) -> tuple[tuple[str, str], ...]:
    """(variable, period) of every value the situation states for a variable OpenFisca has a formula for (a housing
    aid or a benefit stated as paid): in a simulation of several situations, such a variable stated for one is an
    input for all, and the others' rows take its default, 0, where OpenFisca would have computed it."""
    out = set()
    for plural in ENTITIES:
        for values in (situation.get(plural) or {}).values():
            for var, per in values.items():
                variable = tbs.variables.get(var)
                if isinstance(per, dict) and variable is not None and variable.formulas:
                    out.update((var, p) for p, v in per.items() if v is not None)
    return tuple(sorted(out))


def compute(situations: list[dict[str, Any]], tbs: FranceTaxBenefitSystem | None = None) -> list[dict[str, Any]]:
    """Compute every requested variable of every situation: one simulation per set of requested periods and of
    stated values of variables with a formula (``_stated_formulas``). A situation stating a housing aid beside
    one that does not made OpenFisca read a nil housing aid for the second (its prime d'activité 319.82 € where it
    computes 243.83 € alone): every situation's answer is the one it gets alone."""
    tbs = tbs or tax_benefit_system()
    requests = [_requests(s) for s in situations]
    groups: dict[tuple[Any, ...], list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    for pos, (sit, req) in enumerate(zip(situations, requests, strict=True)):
        groups[(tuple(sorted({r[3] for r in req})), _stated_formulas(sit, tbs))].append((pos, sit))
    results: list[dict[str, Any]] = [{} for _ in situations]
    for _, group in groups.items():
        merged = _merge(group)
        sim = build_simulation(tbs, merged)
        wanted: dict[tuple[str, str, str], list[tuple[int, str]]] = defaultdict(list)
        for pos, _sit in group:
            for plural, eid, var, per in requests[pos]:
                wanted[(plural, var, per)].append((pos, eid))
        for (plural, var, per), targets in wanted.items():
            population = sim.get_population(plural)
            values = sim.calculate(var, per)
            if hasattr(values, "decode_to_str"):
                values = values.decode_to_str()
            index = {eid: k for k, eid in enumerate(population.ids)}
            for pos, eid in targets:
                v = values[index[f"s{pos}_{eid}"]]
                results[pos].setdefault(plural, {}).setdefault(eid, {}).setdefault(var, {})[per] = _value(v)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", help="JSON file of situations (default: stdin)")
    parser.add_argument("--output", help="JSON file to write (default: stdout)")
    parser.add_argument("--stream", action="store_true",
                        help="one JSON list of situations per stdin line, one JSON list of results per stdout line")
    args = parser.parse_args(argv)
    if args.stream:
        tbs = tax_benefit_system()
        for line in sys.stdin:
            if line.strip():
                sys.stdout.write(json.dumps(compute(json.loads(line), tbs)) + "\n")
                sys.stdout.flush()
        return 0
    if args.input:
        with open(args.input, encoding="utf-8") as fh:
            text = fh.read()
    else:
        text = sys.stdin.read()
    out = json.dumps(compute(json.loads(text)))
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(out)
    else:
        sys.stdout.write(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
