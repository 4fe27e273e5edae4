"""Code lists shared by the canonical tables (one place, so connectors and rules agree)."""

from __future__ import annotations

from nonrecours.schemas.benefits import BENEFITS as _DETECTED

AGENCIES: tuple[str, ...] = ("caf", "cnam", "france_travail", "dgfip", "cnav", "msa", "drm", "synth")
"""Source agencies. ``drm`` is the Dispositif de ressources mensuelles (monthly resources declared through
the DSN and PASRAU); ``synth`` marks the true situations written by the synthetic generator."""

CLAIM_ONLY_AGENCIES: tuple[str, ...] = ("asp",)
"""Agencies a claim goes to that are no party to the exchange: they send no extract and hold no record a list's
token opens. The Agence de services et de paiement (ASP) sends the chèque énergie and takes the claims of the
households left out of it (chequeenergie.gouv.fr): an outreach row names it as ``claim_agency``, and a relay that
holds a record of the person contacts them (``outputs.outreach``)."""

AGENCY_LABELS: dict[str, str] = {
    "caf": "CAF", "cnam": "Assurance maladie", "france_travail": "France Travail", "dgfip": "DGFiP",
    "cnav": "Assurance retraite", "msa": "MSA", "drm": "DRM de l'Assurance retraite", "synth": "données synthétiques",
    "asp": "ASP",
}
"""Each agency's name for people and readers (reason lines, outreach facts, report): the one the public knows it
by. The DRM (dispositif de ressources mensuelles: DSN salaries, PASRAU replacement incomes) is run by the CNAV,
whose public name is the Assurance retraite."""

_ARTICLES: dict[str, str] = {"caf": "la ", "cnam": "l'", "france_travail": "", "dgfip": "la ", "cnav": "l'",
                             "msa": "la ", "drm": "le ", "synth": "les ", "asp": "l'"}


def agency_subject(code: str) -> str:
    """« la CAF », « l'Assurance maladie », « France Travail »: an agency named as a sentence's subject."""
    return _ARTICLES.get(code, "") + AGENCY_LABELS.get(code, code)


def agency_of(code: str) -> str:
    """« de la CAF », « de l'Assurance retraite », « du DRM de l'Assurance retraite », « de France Travail »."""
    article = _ARTICLES.get(code, "")
    de = {"le ": "du ", "les ": "des "}.get(article, "de " + article)
    return de + AGENCY_LABELS.get(code, code)


SEXES = ("F", "M")
NATIONALITY_GROUPS = ("FR", "EEA_CH", "OTHER")
"""FR, a national of the EEA or Switzerland, or another nationality (with residence-permit years)."""

UNIT_KINDS = ("famille", "foyer_fiscal", "menage")
ROLES: dict[str, tuple[str, ...]] = {
    "famille": ("demandeur", "conjoint", "enfant"),
    "foyer_fiscal": ("declarant", "personne_a_charge"),
    "menage": ("personne_de_reference", "conjoint", "enfant", "autre"),
}
PARENT_ROLES: tuple[str, ...] = ROLES["famille"][:2]
"""The parents of a famille (demandeur and conjoint), as opposed to its enfants."""
HOUSEHOLDER_ROLES: tuple[str, ...] = ROLES["menage"][:2]
"""The ménage's householders (its reference person and their partner): whoever else lives there is housed in
someone else's home (an adult child, a hosted adult), and a famille so housed is hosted free of charge."""
ALL_ROLES: tuple[str, ...] = tuple(dict.fromkeys(r for roles in ROLES.values() for r in roles))

RESOURCE_KINDS = (
    "salary_net",
    "salary_taxable",
    "unemployment_benefit",
    "pension_net",
    "pension_gross",
    "invalidity_pension",
    "daily_allowance",
    "alimony",
    "self_employment",
    "other",
)

ANNUAL_INCOME_KINDS = ("salaries", "unemployment", "pensions", "self_employment", "alimony")
"""Kinds of yearly taxable income a foyer declares (DGFiP). Only ``self_employment`` may be negative (a
deficit of a business is income of the year, below zero)."""

NET_TO_TAXABLE: dict[str, float] = {
    "salary_net": 1.036529,
    "unemployment_benefit": 1.031443,
    "pension_net": 1.031317,
}
"""Taxable / net ratio per resource kind, the mes-aides convention (SITUATION_FORMAT.md): the taxable
income of reference estimated from net amounts when DGFiP supplies none (rules, situations, synth)."""

PAID_ONLY_BENEFITS: tuple[str, ...] = ("are",)
"""Benefits an extract may report as paid that detection does not look for: ``are`` (unemployment insurance,
paid by France Travail, a resource of the others), listed so an extract's payments can be kept as paid. (The
PAJE allocation de base and the ASF were here until they became benefits of the catalogue.)"""
BENEFITS: tuple[str, ...] = (*_DETECTED, *(b for b in PAID_ONLY_BENEFITS if b not in _DETECTED))
"""Benefit codes of ``benefits_paid``, claims and opt-outs: the catalogue's (schemas.benefits) then the
paid-only ones."""

HOUSING_STATUSES = (
    "tenant",
    "tenant_furnished",
    "social_tenant",
    "foyer",
    "owner",
    "owner_with_loan",
    "free",
    "homeless",
)
"""The statuses of SITUATION_FORMAT.md."""
FAMILY_BENEFITS_PAID = ("af", "paje_base", "asf")
"""The family benefits whose payments are known together (the rules' ``prestations_versees_connues``): an
extract's payer sends all three, a situation's ``benefits_paid`` states them together."""

SHARED_RENTAL_STATUSES = ("tenant", "tenant_furnished", "social_tenant")
"""The statuses in which a dwelling may be let in colocation or as a room (housing's ``colocation`` and
``chambre``): a renter's lease, not a logement-foyer's (whose rooms have their own scale)."""

RENT_PAYING_STATUSES = (*SHARED_RENTAL_STATUSES, "foyer", "owner_with_loan")
"""The statuses whose dwelling costs its household each month (a rent, a logement-foyer's fee, an accédant's loan
repayment: housing's ``rent``), which the housing aid is computed on."""

CLAIM_EVENTS = ("pending", "refused", "closed")

