"""Input variables the benefit rules read: what an agency extract (or a situation file) must supply.

Declaring them lets the IR list, per benefit, the minimal set of columns each agency has to share.
Monthly inputs are read for the evaluated month and the reference months before it (a missing month
is the declared default, 0 for amounts). Amounts are euros per month. The ``ref`` names the agency
that normally holds the column.
"""

from __future__ import annotations

from nonrecours.rules.dsl import input_variable

__all__ = ["COUPLE_KINDS", "HOUSING_STATUSES", "MONTHLY_INDIVIDU_AMOUNTS", "NATIONALITY_GROUPS"]

HOUSING_STATUSES: tuple[str, ...] = (
    "tenant", "tenant_furnished", "social_tenant", "foyer", "owner", "owner_with_loan", "free", "homeless",
)
COUPLE_KINDS: tuple[str, ...] = ("", "married", "pacs", "cohabiting")
NATIONALITY_GROUPS: tuple[str, ...] = ("FR", "EEA_CH", "OTHER")
MONTHLY_INDIVIDU_AMOUNTS: tuple[str, ...] = (
    "salary_net", "unemployment", "pension_net", "pension_gross", "invalidity_pension", "alimony_received",
)

# -- individu, static over the reference period ------------------------------------------------------
input_variable("age", entity="individu", dtype="int", monthly=False,
               label="âge en années révolues au premier jour du mois évalué", ref="cnav/caf: date de naissance")
input_variable("date_naissance", entity="individu", dtype="date", monthly=False, default="1800-01-01",
               label="date de naissance, quand elle est connue (l'âge de chaque mois de référence en découle; "
                     "1800-01-01: inconnue, l'âge du mois évalué vaut pour tous les mois)", ref="cnav/caf")
input_variable("student", entity="individu", dtype="bool", monthly=False,
               label="étudiant", ref="caf")
input_variable("pregnant", entity="individu", dtype="bool", monthly=False,
               label="enceinte", ref="cnam/caf")
input_variable("disability_rate", entity="individu", dtype="float", monthly=False,
               label="taux d'incapacité permanente reconnu (0 à 1)", ref="mdph via caf")
input_variable("rsdae", entity="individu", dtype="bool", monthly=False,
               label="restriction substantielle et durable d'accès à l'emploi reconnue", ref="mdph via caf")
input_variable("unfit_for_work", entity="individu", dtype="bool", monthly=False,
               label="reconnu inapte au travail", ref="cnav")
input_variable("nationality_group", entity="individu", dtype="str", monthly=False, default="FR",
               label="nationalité: FR, EEA_CH (EEE ou Suisse) ou OTHER", ref="caf/cnav")
input_variable("residence_permit_years", entity="individu", dtype="float", monthly=False,
               label="années de détention d'un titre de séjour autorisant à travailler (hors EEE)",
               ref="caf/cnav")
input_variable("residence_condition_exempt", entity="individu", dtype="bool", monthly=False, default=False,
               label="hors EEE, dispensé de la durée de titre de séjour: réfugié, bénéficiaire de la protection "
                     "subsidiaire, apatride, titulaire d'une carte de résident ou d'un titre conférant des droits "
                     "équivalents (CASF art. L262-4, 2°; CSS art. L842-2, 2°)",
               ref="préfecture (AGDREF/ANEF), OFPRA; la CAF le constate à la demande")
input_variable("ofpra_protection", entity="individu", dtype="bool", monthly=False, default=False,
               label="hors EEE, réfugié, bénéficiaire de la protection subsidiaire ou apatride (statuts que l'OFPRA "
                     "reconnaît): dispensé des dix ans de titre de l'ASPA et de l'ASI (CSS art. L816-1), et des cinq "
                     "ans du RSA et de la prime d'activité; la carte de résident seule n'en dispense pas",
               ref="OFPRA, préfecture (AGDREF/ANEF); la CAF ou la caisse de retraite le constate à la demande")

# -- individu, monthly amounts (euros per month) ---------------------------------------------------------
input_variable("salary_net", entity="individu", dtype="float", monthly=True,
               label="salaire net", ref="dgfip (DSN) / caf")
input_variable("unemployment", entity="individu", dtype="float", monthly=True,
               label="allocation chômage nette (ARE)", ref="france_travail")
input_variable("pension_net", entity="individu", dtype="float", monthly=True,
               label="pension de retraite nette", ref="cnav")
input_variable("pension_gross", entity="individu", dtype="float", monthly=True,
               label="pension de retraite brute", ref="cnav")
input_variable("invalidity_pension", entity="individu", dtype="float", monthly=True,
               label="pension d'invalidité", ref="cnam")
input_variable("alimony_received", entity="individu", dtype="float", monthly=True,
               label="pension alimentaire reçue", ref="caf/dgfip")
input_variable("indemnites_journalieres", entity="individu", dtype="float", monthly=True,
               label="indemnités journalières de sécurité sociale (maladie, maternité, accident du travail)",
               ref="drm")
input_variable("autres_ressources", entity="individu", dtype="float", monthly=True,
               label="autres ressources déclarées (DRM)", ref="drm")

# -- individu, income of the reference tax year (N-2 of each month), annual taxable amounts ----------------
input_variable("revenu_activite_imposable_n2", entity="individu", dtype="float", monthly=True,
               label="salaires et allocations chômage imposables de l'année N-2 du mois (annuel)", ref="dgfip")
input_variable("pensions_imposables_n2", entity="individu", dtype="float", monthly=True,
               label="pensions, rentes et pensions alimentaires imposables de l'année N-2 du mois (annuel)",
               ref="dgfip")
input_variable("revenus_non_salaries_n2", entity="individu", dtype="float", monthly=True,
               label="bénéfices non salariés (BIC, BNC, BA) imposables de l'année N-2 du mois (annuel; un déficit "
                     "est négatif)", ref="dgfip")
input_variable("revenus_non_salaries_connus", entity="individu", dtype="float", monthly=True,
               label="derniers bénéfices non salariés (BIC, BNC, BA) connus: ceux de l'année N-1 du mois, sinon de "
                     "l'année N-2 (annuels; un déficit est négatif)", ref="dgfip")
input_variable("revenus_n2_renseignes", entity="individu", dtype="bool", monthly=True,
               label="les revenus de l'année N-2 du mois sont fournis (sinon ils sont estimés sur le mois)",
               ref="dgfip")

# -- famille ----------------------------------------------------------------------------------------
input_variable("couple_kind", entity="famille", dtype="str", monthly=False, default="",
               label="nature du couple: married, pacs, cohabiting, vide pour une personne seule", ref="caf")
input_variable("recent_isolation", entity="famille", dtype="bool", monthly=False,
               label="isolement (séparation, veuvage, abandon) depuis moins de 18 mois", ref="caf")
input_variable("hosted_free_of_charge", entity="famille", dtype="bool", monthly=False,
               label="famille hébergée gratuitement dans le logement d'un autre foyer", ref="caf")
input_variable("prestations_versees_connues", entity="famille", dtype="bool", monthly=False, default=True,
               label="les prestations familiales et l'aide au logement versées sont fournies (sinon les "
                     "allocations familiales sont calculées)", ref="caf")
input_variable("af", entity="famille", dtype="float", monthly=True,
               label="allocations familiales versées", ref="caf")
input_variable("paje_base", entity="famille", dtype="float", monthly=True,
               label="allocation de base de la PAJE versée", ref="caf")
input_variable("asf", entity="famille", dtype="float", monthly=True,
               label="allocation de soutien familial versée", ref="caf")
input_variable("cf_versee", entity="famille", dtype="float", monthly=True,
               label="complément familial versé", ref="caf/msa")
input_variable("cf_versee_connue", entity="famille", dtype="bool", monthly=False, default=False,
               label="le complément familial versé est connu (extraits de la CAF et de la MSA: oui; situations de "
                     "référence: non, SITUATION_FORMAT.md n'a pas de clé pour lui, et les autres prestations lisent "
                     "alors le complément calculé)", ref="caf/msa")
input_variable("aide_logement_versee", entity="famille", dtype="float", monthly=True,
               label="aide au logement versée (APL, ALF, ALS)", ref="caf")
input_variable("aide_logement_versee_connue", entity="famille", dtype="bool", monthly=False, default=True,
               label="l'aide au logement versée est connue (sinon RSA, prime d'activité, CSS et AAH lisent l'aide "
                     "calculée par les règles)", ref="caf")
input_variable("aah_versee", entity="famille", dtype="float", monthly=True,
               label="AAH versée à la famille (CAF, MSA: le dossier, sans le bénéficiaire)", ref="caf/msa")
input_variable("aah_versee_connue", entity="famille", dtype="bool", monthly=False, default=False,
               label="l'AAH versée est connue (extraits de la CAF et de la MSA: oui; situations de référence: non, "
                     "SITUATION_FORMAT.md n'a pas de clé pour elle, et RSA, prime d'activité, ASPA et CSS lisent "
                     "alors l'AAH calculée)", ref="caf/msa")
input_variable("aspa_versee", entity="famille", dtype="float", monthly=True,
               label="ASPA versée à la famille (CNAV, MSA: à chacun de ses bénéficiaires, sommée sur la famille)",
               ref="cnav/msa")
input_variable("aspa_versee_connue", entity="famille", dtype="bool", monthly=False, default=False,
               label="l'ASPA versée est connue (extraits de la CNAV et de la MSA: oui; situations de référence: non, "
                     "SITUATION_FORMAT.md n'a pas de clé pour elle, et la CSS lit alors l'ASPA calculée)",
               ref="cnav/msa")
input_variable("asi_versee", entity="famille", dtype="float", monthly=True,
               label="ASI versée à la famille (CPAM, MSA: à chacun de ses titulaires, sommée sur la famille)",
               ref="cnam/msa")
input_variable("asi_versee_connue", entity="famille", dtype="bool", monthly=False, default=False,
               label="l'ASI versée est connue (extraits de la CPAM et de la MSA: oui; situations de référence: non, "
                     "SITUATION_FORMAT.md n'a pas de clé pour elle, et la CSS lit alors l'ASI calculée)",
               ref="cnam/msa")
input_variable("rsa_percu", entity="famille", dtype="bool", monthly=True,
               label="RSA perçu par la famille ce mois (versé par la CAF ou la MSA, ou l'un de ses membres déclaré "
                     "bénéficiaire par France Travail): un fait, non un montant, la neutralisation des aides au "
                     "logement ne dépendant que de la perception et France Travail n'en donnant pas le montant",
               ref="caf/msa/france_travail")
input_variable("rsa_percu_connu", entity="famille", dtype="bool", monthly=False, default=False,
               label="le RSA perçu est connu (extraits de la CAF et de la MSA: oui; situations de référence: non, "
                     "SITUATION_FORMAT.md n'a pas de clé pour lui, et les aides au logement lisent alors le RSA "
                     "calculé par les règles)", ref="caf/msa")
input_variable("aide_logement_du_mois_connue", entity="famille", dtype="bool", monthly=False, default=True,
               label="l'aide au logement et les prestations familiales versées pour le mois évalué lui-même sont "
                     "connues (extraits de la CAF: oui; situations de référence: non, elles ne fixent que les douze "
                     "mois qui le précèdent, et le forfait logement et les prestations familiales du RSA du mois "
                     "lisent alors l'aide et les prestations calculées)", ref="caf")

input_variable("rsa_subsidiarite", entity="famille", dtype="bool", monthly=False, default=False,
               label="le RSA compte, de chaque prestation familiale et de l'aide au logement du mois, la plus grande "
                     "de celle versée et de celle due: le foyer doit faire valoir ses droits à celles qu'il ne "
                     "perçoit pas (détection: oui; situations de référence: non, elles disent ce qui est versé)",
               ref="CASF art. L262-10")

# -- ménage -------------------------------------------------------------------------------------------
input_variable("depcom", entity="menage", dtype="str", monthly=False,
               label="code INSEE de la commune du logement", ref="caf/dgfip")
input_variable("residence_dom", entity="menage", dtype="bool", monthly=False,
               label="logement en Guadeloupe, Martinique, Guyane ou à La Réunion (code commune 971 à 974)",
               ref="derived from depcom")
input_variable("zone_apl", entity="menage", dtype="int", monthly=False, default=2,
               label="zone géographique des aides au logement de la commune (1, 2 ou 3)",
               ref="derived from depcom (schemas.zonage, arrêté du 17 mars 1978)")
input_variable("housing_status", entity="menage", dtype="str", monthly=False, default="tenant",
               label="statut d'occupation du logement", ref="caf")
input_variable("rent", entity="menage", dtype="float", monthly=False,
               label="loyer mensuel hors charges (mensualité d'emprunt pour un accédant)", ref="caf")
input_variable("colocation", entity="menage", dtype="bool", monthly=False, default=False,
               label="logement loué en colocation (le loyer est la part du colocataire)", ref="caf")
input_variable("chambre", entity="menage", dtype="bool", monthly=False, default=False,
               label="le logement loué est une chambre", ref="caf")
input_variable("loan_date", entity="menage", dtype="date", monthly=False, default="9999-12-31",
               label="date de signature du prêt d'un accédant (statut owner_with_loan); 9999-12-31: aucune date "
                     "connue, pas d'aide en accession (la date inconnue d'un extrait est une inconnue du cœur)",
               ref="caf")
