"""What the law and the official claim forms say beyond our rules: one table each, read by outreach and answers.

- ``QUESTIONS``: per benefit, the conditions no agency's data can show (residence, assets, leave...), to ask
  the person; each with its legal reference.
- ``CLAIM_FIELDS``: per benefit, the fields of the official claim (RSA cerfa n° 15481, the prime d'activité
  online claim on caf.fr/msa.fr, ASPA cerfa n° 13710, CSS cerfa n° 12504), each with the engine inputs that
  answer it. A field with no input (bank details, assets) is never held by an agency: it stays a question.
- ``CHANNELS``: how to claim each benefit at each paying agency.
- ``INPUT_QUESTIONS``: how to ask for an engine input that stayed unknown (a deciding unknown of a flag).

Cerfa numbers and articles as in force in 2026; update here, nowhere else.
"""

from __future__ import annotations

from functools import cache

import polars as pl

from nonrecours.core.inputs import FOLLOWS_NATIONALITY
from nonrecours.schemas.benefits import BENEFITS, CATALOGUE
from nonrecours.schemas.benefits import benefit as catalogue_row

__all__ = ["BENEFIT_LABELS", "CHANNELS", "CLAIM_FIELDS", "INPUT_QUESTIONS", "QUESTIONS",
           "TARGET_BENEFITS", "claim_fields_frame", "fact_ids", "held_fact", "held_facts", "input_question",
           "judged_earlier", "questions_frame"]

TARGET_BENEFITS: tuple[str, ...] = BENEFITS
"""The benefits detection flags and outputs report on (the catalogue's, schemas.benefits)."""

BENEFIT_LABELS: dict[str, str] = {b.code: b.label for b in CATALOGUE}



def held_fact() -> pl.Expr:
    """On provenance rows: a fact an agency already holds (observed, or estimated from its data), what a claim
    form need not ask again (the outreach list's facts, answer 2's shares)."""
    return pl.col("kind").is_in(["observed", "estimated"]) & pl.col("source_agency").is_not_null()


def held_facts(provenance: pl.DataFrame, by: tuple[str, ...] = ("id",)) -> pl.DataFrame:
    """The rows of ``provenance`` an agency holds (``held_fact``), but for an estimate that follows the nationality
    (``core.inputs.FOLLOWS_NATIONALITY``: the years of permit, the refugee or resident exemptions) of a person whose
    nationality no agency holds (``by``: the columns naming one person's facts): a nationality estimated from the
    NIR's birth place is no agency's answer, nor is the permit it implies (a tester's CPAM row, hh17 K70, said
    « Titre de séjour (hors EEE et Suisse) : DGFiP », which sends no nationality, and asked « Quelle est votre
    nationalité ? »)."""
    held = provenance.filter(held_fact())
    follows = (pl.col("kind") == "estimated") & pl.col("input").is_in(FOLLOWS_NATIONALITY)
    nationality = held.filter(pl.col("input") == "nationality_group").select(*by).unique()
    return pl.concat([held.filter(~follows), held.filter(follows).join(nationality, on=list(by), how="semi")])


def fact_ids(flags: pl.DataFrame, keys: list[str], memberships: pl.DataFrame | None = None) -> pl.DataFrame:
    """``keys``, id: the ids a flag's facts hang on (provenance ``id``): its unit, the unit's adults and the
    claimant, and with ``memberships`` (person_id, unit_id of the month) the other units those people belong
    to (their ménage: rent, housing status; their foyer fiscal). The outreach list's facts already held and
    answer 2's shares read the same ids."""
    ids = (flags.select(*keys, pl.concat_list("adult_ids", "claimant_id", "unit_id").alias("id"))
           .explode("id").drop_nulls("id").unique())
    if memberships is None:
        return ids
    other = ids.join(memberships.select(pl.col("person_id").alias("id"), pl.col("unit_id").alias("_unit")),
                     on="id").select(*keys, pl.col("_unit").alias("id"))
    return pl.concat([ids, other]).unique()


def judged_earlier(flags: pl.DataFrame) -> pl.Expr:
    """Whether a flag's benefit was judged at an earlier month than the flag's ``month``: a yearly benefit judged
    on the payment already due (the catalogue's ``Benefit.due_month``, as detection judges it: in June 2026 the
    ARS of August 2025). Such flags' facts are that month's (detection's ``provenance_due.parquet``), never the
    evaluated month's ``provenance.parquet``."""
    pairs = flags.select("benefit", "month").unique()
    earlier = sorted({b for b, m in pairs.iter_rows() if catalogue_row(b).due_month(m) != m})
    return pl.col("benefit").is_in(earlier)

_RSA_RESIDENCE = ("Résidez-vous en France au moins neuf mois par an (séjours hors de France de trois mois "
                  "au plus sur l'année civile) ?", "CASF art. L262-2 et R262-5")
QUESTIONS: tuple[tuple[str, str, str], ...] = (
    ("rsa", *_RSA_RESIDENCE),
    ("rsa", "Êtes-vous en congé parental, sabbatique, sans solde ou en disponibilité ?", "CASF art. L262-4, 4°"),
    ("rsa", "Avez-vous des capitaux, placements ou biens non loués (leurs revenus comptent dans les "
            "ressources) ?", "CASF art. R262-6 et R132-1"),
    ("rsa", "Avez-vous demandé les pensions alimentaires et autres prestations auxquelles vous pouvez "
            "prétendre ?", "CASF art. L262-10"),
    ("ppa", "Résidez-vous en France de manière stable et effective ?", "CSS art. L842-1"),
    ("ppa", "Quels revenus professionnels et quels revenus du patrimoine avez-vous eus ces trois derniers "
            "mois ?", "CSS art. L842-4 et R843-1"),
    ("aspa", "Résidez-vous en France de manière stable et régulière ?", "CSS art. L815-1 et R115-6"),
    ("aspa", "Possédez-vous des biens immobiliers autres que votre résidence principale, des placements, "
             "ou avez-vous fait des donations depuis dix ans ?", "CSS art. R815-22 et R815-25"),
    ("aspa", "Information à donner : l'ASPA peut être récupérée sur la succession au-delà d'un seuil d'actif "
             "net.", "CSS art. L815-13"),
    ("css_free", "Résidez-vous en France de manière stable et régulière ?", "CSS art. L160-1 et L861-1"),
    ("css_free", "Quelles ressources, y compris du patrimoine, votre foyer a-t-il eues ces douze derniers "
                 "mois ?", "CSS art. L861-1 et R861-4"),
    ("css_free", "Quel organisme doit gérer votre complémentaire (votre caisse ou un organisme "
                 "complémentaire inscrit) ?", "CSS art. L861-4"),
    ("css_participation", "Résidez-vous en France de manière stable et régulière ?",
     "CSS art. L160-1 et L861-1"),
    ("css_participation", "Quelles ressources, y compris du patrimoine, votre foyer a-t-il eues ces douze "
                          "derniers mois ?", "CSS art. L861-1 et R861-4"),
    ("css_participation", "Quel organisme doit gérer votre complémentaire (votre caisse ou un organisme "
                          "complémentaire inscrit) ?", "CSS art. L861-4"),
    ("css_participation", "Acceptez-vous la participation financière mensuelle et son prélèvement ?",
     "CSS art. L861-1, 2° et D861-3"),
    ("aide_logement", "Le logement est-il votre résidence principale, occupée au moins huit mois par an ?",
     "CCH art. L822-1 et suivants (résidence principale)"),
    # the rent is no such condition: the CAF's extract may hold it (said held), else it is asked when it decides
    ("aide_logement", "Le logement est-il décent (surface, équipements, sécurité et santé des occupants) ?",
     "CCH art. L822-9 ; loi n° 89-462 du 6 juillet 1989, art. 6 (décence)"),
    ("aide_logement", "Le logement vous est-il loué par un parent (ascendant ou descendant) ?",
     "CCH art. L822-1 et suivants"),
    ("aide_logement", "Votre patrimoine (hors résidence principale et biens professionnels) dépasse-t-il "
                      "30 000 € ?", "CCH art. L822-5"),
    ("aah", "La commission des droits et de l'autonomie (CDAPH, saisie par la MDPH) vous a-t-elle reconnu un "
            "taux d'incapacité d'au moins 80 %, ou de 50 à 79 % avec une restriction substantielle et durable "
            "d'accès à l'emploi ?", "CSS art. L821-1, L821-2 et D821-1"),
    ("aah", "Résidez-vous en France de manière permanente ?", "CSS art. L821-1 et R821-1"),
    ("aah", "Avez-vous demandé les avantages de vieillesse ou d'invalidité auxquels vous pouvez prétendre "
            "(l'AAH vient en complément) ?", "CSS art. L821-1"),
    ("asi", "Résidez-vous en France de manière stable et régulière ?", "CSS art. L815-24 et L816-1"),
    ("asi", "Possédez-vous des biens immobiliers autres que votre résidence principale ou des placements ?",
     "CSS art. L815-24-1 et R815-25"),
    ("asi", "Information à donner : l'ASI peut être récupérée sur la succession au-delà d'un seuil d'actif net.",
     "CSS art. L815-28"),
    ("af", "Résidez-vous en France de manière stable avec vos enfants ?", "CSS art. L512-1 et R512-1"),
    ("af", "Assumez-vous la charge effective et permanente des enfants (et leurs revenus éventuels sont-ils "
           "inférieurs à 55 % du SMIC) ?", "CSS art. L513-1, L512-3 et R512-2"),
    ("cf", "Résidez-vous en France de manière stable avec vos enfants ?", "CSS art. L512-1 et R512-1"),
    ("cf", "Assumez-vous la charge effective et permanente de vos trois enfants ou plus de 3 à 20 ans (et leurs "
           "revenus éventuels sont-ils inférieurs à 55 % du SMIC) ?", "CSS art. L513-1, L522-1 et R512-2"),
    ("asf", "L'autre parent de l'enfant ne participe-t-il pas à son entretien (pension alimentaire non fixée, "
            "non versée ou inférieure à l'ASF), ou est-il décédé, ou l'enfant n'a-t-il pas été reconnu par lui ?",
     "CSS art. L523-1 et R523-1 à R523-3"),
    ("asf", "Vivez-vous seul(e), sans conjoint, partenaire de PACS ni concubin ?", "CSS art. L523-2"),
    ("paje_base", "Résidez-vous en France de manière stable avec votre enfant de moins de trois ans ?",
     "CSS art. L512-1 et R512-1"),
    ("paje_base", "Les examens médicaux obligatoires de l'enfant ont-ils été passés (certificats des 8 jours, "
                  "9e et 24e mois) ?", "CSS art. D532-2 ; code de la santé publique, art. L2132-2"),
    ("ars", "Vos enfants de 16 à 18 ans sont-ils encore scolarisés ou en apprentissage à la rentrée ?",
     "CSS art. L543-1 et R543-2"),
    ("ars", "Assumez-vous la charge effective et permanente des enfants ?", "CSS art. L513-1 et L543-1"),
    ("cheque_energie", "Occupez-vous le logement comme résidence principale et y payez-vous l'énergie "
                       "(hors hébergement et logement-foyer sans contrat) ?", "Code de l'énergie art. L124-1 et "
                                                                             "R124-1"),
    ("cheque_energie", "Avez-vous déposé votre déclaration de revenus (le revenu fiscal de référence décide "
                       "du droit) ?", "Code de l'énergie art. R124-2"),
)
"""(benefit, question in plain French, legal reference): conditions no agency's extract can show."""

_IDENTITY = ("date_naissance", "Date de naissance", ("date_naissance", "age"))
_NATIONALITY = ("nationalite", "Nationalité", ("nationality_group",))
_PERMIT = ("titre_sejour", "Titre de séjour (hors EEE et Suisse)", ("residence_permit_years",
                                                                 "residence_condition_exempt",
                                                                 "ofpra_protection"))
_COUPLE = ("situation_couple", "Situation de couple", ("couple_kind",))
_CHILDREN = ("enfants_a_charge", "Enfants et personnes à charge", ("famille_role",))
_HOUSING = ("logement_statut", "Statut d'occupation du logement", ("housing_status",))
_RENT = ("loyer", "Loyer ou mensualité d'emprunt", ("rent",))
_SALARY = ("salaires", "Salaires des derniers mois", ("salary_net",))
_UNEMPLOYMENT = ("chomage", "Allocations chômage", ("unemployment",))
_PENSIONS = ("pensions", "Pensions de retraite et d'invalidité", ("pension_net", "invalidity_pension"))
_ALIMONY = ("pensions_alimentaires", "Pensions alimentaires reçues", ("alimony_received",))
_SELF_EMPLOYED = ("revenus_non_salaries", "Revenus d'une activité non salariée (derniers bénéfices connus)",
                  ("revenus_non_salaries_connus",))
_FAMILY = ("prestations", "Prestations familiales et aide au logement", ("af", "asf", "paje_base",
                                                                           "aide_logement_versee"))
_ASSETS = ("patrimoine", "Capitaux, placements et biens (revenus du patrimoine)", ())
_BANK = ("coordonnees_bancaires", "Coordonnées bancaires", ())
_RESIDENCE = ("residence_france", "Résidence en France", ())

CLAIM_FIELDS: dict[str, tuple[tuple[str, str, tuple[str, ...]], ...]] = {
    # Demande de revenu de solidarité active, cerfa n° 15481.
    "rsa": (_IDENTITY, _NATIONALITY, _PERMIT, _COUPLE, _CHILDREN,
            ("grossesse", "Grossesse", ("pregnant",)), ("etudes", "Études ou formation", ("student",)),
            _HOUSING, _RENT, ("hebergement", "Hébergement à titre gratuit", ("hosted_free_of_charge",)),
            _SALARY, _SELF_EMPLOYED, _UNEMPLOYMENT, _PENSIONS, _ALIMONY, _FAMILY, _ASSETS, _RESIDENCE,
            ("conge", "Congé parental, sabbatique, sans solde ou disponibilité", ()), _BANK),
    # Demande de prime d'activité en ligne (caf.fr, msa.fr): trimestrial resources.
    "ppa": (_IDENTITY, _NATIONALITY, _PERMIT, _COUPLE, _CHILDREN, ("etudes", "Études ou apprentissage",
                                                                   ("student",)),
            _HOUSING, _RENT, _SALARY, _SELF_EMPLOYED, _UNEMPLOYMENT, _PENSIONS, _ALIMONY, _FAMILY, _ASSETS,
            _RESIDENCE, _BANK),
    # Demande d'allocation de solidarité aux personnes âgées, cerfa n° 13710.
    "aspa": (_IDENTITY, _NATIONALITY, _PERMIT, _COUPLE,
             ("pensions_retraite", "Pensions de retraite (montants bruts)", ("pension_gross", "pension_net")),
             _SALARY, _SELF_EMPLOYED, ("invalidite", "Pension d'invalidité, inaptitude", ("invalidity_pension",
                                                                          "unfit_for_work")),
             _ALIMONY, ("biens", "Biens immobiliers et mobiliers, donations depuis dix ans", ()),
             _RESIDENCE, _BANK),
    # Demande de complémentaire santé solidaire, cerfa n° 12504.
    "css_free": (_IDENTITY, _CHILDREN, _HOUSING, _SALARY, _SELF_EMPLOYED, _UNEMPLOYMENT, _PENSIONS, _ALIMONY, _FAMILY,
                 ("patrimoine", "Revenus du patrimoine des douze derniers mois", ()),
                 ("organisme", "Organisme gestionnaire choisi", ()), _RESIDENCE),
}
CLAIM_FIELDS["css_participation"] = (*CLAIM_FIELDS["css_free"], ("participation", "Accord sur la participation "
                                                                 "et mode de paiement", ()))
_DISABILITY = ("handicap", "Taux d'incapacité reconnu par la CDAPH", ("disability_rate", "rsdae"))
# Demande d'aide au logement en ligne (caf.fr, msa.fr): logement, loyer, ressources des douze derniers mois.
CLAIM_FIELDS["aide_logement"] = (_IDENTITY, _NATIONALITY, _PERMIT, _COUPLE, _CHILDREN, _HOUSING, _RENT,
                                 ("type_location", "Colocation ou location d'une chambre", ("colocation",
                                                                                           "chambre")),
                                 ("pret", "Date de signature du prêt (accédant à la propriété)", ("loan_date",)),
                                 ("commune", "Adresse du logement", ("depcom",)), _SALARY, _UNEMPLOYMENT,
                                 _PENSIONS, _ALIMONY, ("bail", "Bail et attestation de loyer du bailleur", ()),
                                 _ASSETS, _BANK)
# Demande à la MDPH (cerfa n° 15692), qui transmet la décision à la CAF ou à la MSA.
CLAIM_FIELDS["aah"] = (_IDENTITY, _NATIONALITY, _PERMIT, _COUPLE, _DISABILITY, _SALARY, _PENSIONS,
                       ("certificat", "Certificat médical (cerfa n° 15695)", ()), _RESIDENCE, _BANK)
# Demande d'allocation supplémentaire d'invalidité (formulaire de l'Assurance maladie, ou de la MSA).
CLAIM_FIELDS["asi"] = (_IDENTITY, _NATIONALITY, _PERMIT, _COUPLE,
                       ("pension_invalidite", "Pension d'invalidité", ("invalidity_pension",)),
                       _SALARY, _SELF_EMPLOYED, _PENSIONS, _ALIMONY,
                       ("biens", "Biens immobiliers et placements", ()),
                       _RESIDENCE, _BANK)
# Déclaration de situation pour les prestations familiales (caf.fr, msa.fr).
CLAIM_FIELDS["af"] = (_IDENTITY, _NATIONALITY, _PERMIT, _COUPLE, _CHILDREN, _RESIDENCE, _BANK)
_N2_INCOME = ("revenu_activite_imposable_n2", "pensions_imposables_n2", "revenus_non_salaries_n2")
"""The DGFiP's incomes of year N-2 a famille's family benefits (and its revenu fiscal de référence) rest on."""
# Le complément familial n'a pas de formulaire propre: la CAF (la MSA) l'examine sur la déclaration de situation
# et les revenus de l'année N-2, qu'elle reçoit de la DGFiP.
CLAIM_FIELDS["cf"] = (_IDENTITY, _NATIONALITY, _PERMIT, _COUPLE, _CHILDREN,
                      ("revenus_n2", "Revenus de l'année N-2 (transmis par la DGFiP)",
                       _N2_INCOME),
                      _RESIDENCE, _BANK)
# Demande d'allocation de soutien familial, cerfa n° 12038, avec la déclaration de situation (cerfa n° 11423).
CLAIM_FIELDS["asf"] = (_IDENTITY, _NATIONALITY, _PERMIT, _COUPLE, _CHILDREN, _ALIMONY,
                       ("autre_parent", "Situation de l'autre parent (décès, non-reconnaissance, pension non versée)",
                        ()), _RESIDENCE, _BANK)
# L'allocation de base de la PAJE suit la déclaration de grossesse (ou l'adoption) et la déclaration de situation;
# la CAF (la MSA) l'examine sur les revenus de l'année N-2, qu'elle reçoit de la DGFiP.
CLAIM_FIELDS["paje_base"] = (_IDENTITY, _NATIONALITY, _PERMIT, _COUPLE, _CHILDREN,
                             ("revenus_n2", "Revenus de l'année N-2 (transmis par la DGFiP)",
                              _N2_INCOME),
                             _RESIDENCE, _BANK)
CLAIM_FIELDS["ars"] = (_IDENTITY, _COUPLE, _CHILDREN, _SALARY, _UNEMPLOYMENT, _PENSIONS,
                       ("scolarite", "Scolarité des enfants de 16 à 18 ans", ()), _BANK)
# Réclamation en ligne sur chequeenergie.gouv.fr: numéro fiscal et revenu fiscal de référence.
CLAIM_FIELDS["cheque_energie"] = (_IDENTITY, _COUPLE, _HOUSING,
                                  ("revenu_fiscal", "Revenu fiscal de référence et parts",
                                   _N2_INCOME),
                                  ("commune", "Adresse du logement", ("depcom",)))
"""benefit → (field code, label on the form, engine inputs that answer it)."""

CHANNELS: dict[tuple[str, str], str] = {
    ("rsa", "caf"): "demande en ligne sur caf.fr, ou formulaire cerfa n° 15481 (CAF, département)",
    ("rsa", "msa"): "demande en ligne sur msa.fr, ou formulaire cerfa n° 15481 (MSA)",
    ("ppa", "caf"): "demande en ligne sur caf.fr (la prime d'activité se demande en ligne)",
    ("ppa", "msa"): "demande en ligne sur msa.fr (la prime d'activité se demande en ligne)",
    ("aspa", "cnav"): "demande en ligne sur lassuranceretraite.fr, ou formulaire cerfa n° 13710 (Carsat)",
    ("aspa", "msa"): "demande en ligne sur msa.fr, ou formulaire cerfa n° 13710 (MSA)",
    ("css_free", "cnam"): "demande en ligne sur ameli.fr, ou formulaire cerfa n° 12504 (CPAM)",
    ("css_free", "msa"): "demande en ligne sur msa.fr, ou formulaire cerfa n° 12504 (MSA)",
    ("css_participation", "cnam"): "demande en ligne sur ameli.fr, ou formulaire cerfa n° 12504 (CPAM)",
    ("css_participation", "msa"): "demande en ligne sur msa.fr, ou formulaire cerfa n° 12504 (MSA)",
    ("aide_logement", "caf"): "demande d'aide au logement en ligne sur caf.fr (CAF)",
    ("aide_logement", "msa"): "demande d'aide au logement en ligne sur msa.fr (MSA)",
    ("aah", "caf"): "demande à la MDPH (formulaire cerfa n° 15692 et certificat médical cerfa n° 15695), "
                    "qui transmet la décision à la CAF",
    ("aah", "msa"): "demande à la MDPH (formulaire cerfa n° 15692 et certificat médical cerfa n° 15695), "
                    "qui transmet la décision à la MSA",
    ("asi", "cnam"): "demande d'allocation supplémentaire d'invalidité auprès de la CPAM qui verse la pension "
                     "d'invalidité (formulaire sur ameli.fr)",
    ("asi", "msa"): "demande d'allocation supplémentaire d'invalidité auprès de la MSA",
    ("af", "caf"): "déclaration de situation en ligne sur caf.fr (les allocations familiales n'ont pas de "
                   "formulaire propre)",
    ("af", "msa"): "déclaration de situation en ligne sur msa.fr",
    ("cf", "caf"): "versé sans demande propre quand la CAF connaît les enfants et les revenus ; sinon déclaration "
                   "de situation en ligne sur caf.fr (le complément familial n'a pas de formulaire propre)",
    ("cf", "msa"): "versé sans demande propre quand la MSA connaît les enfants et les revenus ; sinon déclaration "
                   "de situation en ligne sur msa.fr",
    ("asf", "caf"): "demande d'allocation de soutien familial en ligne sur caf.fr, ou formulaire cerfa n° 12038 "
                    "avec la déclaration de situation cerfa n° 11423 (CAF)",
    ("asf", "msa"): "demande d'allocation de soutien familial auprès de la MSA (formulaire de demande et "
                    "déclaration de situation)",
    ("paje_base", "caf"): "déclaration de grossesse (ou de l'adoption) et déclaration de situation sur caf.fr ; "
                          "l'allocation de base n'a pas de formulaire propre",
    ("paje_base", "msa"): "déclaration de grossesse (ou de l'adoption) et déclaration de situation sur msa.fr",
    ("ars", "caf"): "versée sans demande aux allocataires ; sinon déclaration de situation sur caf.fr",
    ("ars", "msa"): "versée sans demande aux allocataires ; sinon déclaration de situation sur msa.fr",
    ("cheque_energie", "asp"): "demande en ligne sur chequeenergie.gouv.fr (guichet de l'ASP, sur le revenu "
                               "fiscal de référence de la DGFiP)",
}
"""(benefit, paying agency) → where and how to claim."""

INPUT_QUESTIONS: dict[str, str] = {
    "rent": "Quel est votre loyer mensuel hors charges (ou votre mensualité d'emprunt) ?",
    "housing_status": "Êtes-vous locataire, propriétaire, hébergé(e) gratuitement ou sans logement ?",
    "colocation": "Louez-vous votre logement en colocation (le loyer indiqué est-il votre part) ?",
    "chambre": "Le logement que vous louez est-il une chambre ?",
    "loan_date": "Vous remboursez un prêt pour votre logement : à quelle date l'avez-vous signé ?",
    "salary_net": "Quels salaires nets avez-vous perçus ces derniers mois ?",
    "unemployment": "Percevez-vous des allocations chômage, et de quel montant ?",
    "pension_net": "Quel est le montant net de vos pensions de retraite ?",
    "pension_gross": "Quel est le montant brut de vos pensions de retraite ?",
    "invalidity_pension": "Percevez-vous une pension d'invalidité, et de quel montant ?",
    "alimony_received": "Recevez-vous une pension alimentaire, et de quel montant ?",
    "couple_kind": "Vivez-vous en couple (mariage, Pacs ou union libre) ?",
    "recent_isolation": "Vivez-vous seul(e) avec vos enfants depuis moins de dix-huit mois ?",
    "hosted_free_of_charge": "Êtes-vous hébergé(e) gratuitement chez un autre foyer ?",
    "student": "Êtes-vous étudiant(e) ou en formation ?",
    "pregnant": "Êtes-vous enceinte ?",
    "nationality_group": "Quelle est votre nationalité ?",
    "residence_permit_years": "Depuis combien d'années détenez-vous un titre de séjour autorisant à travailler ?",
    "residence_condition_exempt": "Êtes-vous réfugié(e), bénéficiaire de la protection subsidiaire, apatride ou "
                                  "titulaire d'une carte de résident ?",
    "ofpra_protection": "Êtes-vous réfugié(e), bénéficiaire de la protection subsidiaire ou apatride ?",
    "disability_rate": "Un taux d'incapacité vous a-t-il été reconnu (MDPH) ?",
    "unfit_for_work": "Avez-vous été reconnu(e) inapte au travail ?",
    "rsdae": "Une restriction substantielle et durable d'accès à l'emploi vous a-t-elle été reconnue ?",
    "date_naissance": "Quelle est votre date de naissance ?",
    "age": "Quelle est votre date de naissance ?",
    "revenu_activite_imposable_n2": "Quels salaires et allocations chômage imposables avez-vous déclarés aux "
                                    "impôts pour l'année N-2 (votre avis d'impôt les indique) ?",
    "pensions_imposables_n2": "Quelles pensions, retraites, rentes et pensions alimentaires imposables avez-vous "
                              "déclarées aux impôts pour l'année N-2 (votre avis d'impôt les indique) ?",
    "revenus_non_salaries_n2": "Quels bénéfices non salariés (BIC, BNC, BA) avez-vous déclarés aux impôts pour "
                               "l'année N-2 (votre avis d'impôt les indique) ?",
    "revenus_non_salaries_connus": "Exercez-vous une activité non salariée, et quels bénéfices (BIC, BNC, BA) "
                                   "avez-vous déclarés aux impôts pour l'an dernier ?",
    "aspa_versee": "Une personne de votre foyer perçoit-elle l'allocation de solidarité aux personnes âgées "
                   "(minimum vieillesse), et de quel montant ?",
    "asi_versee": "Une personne de votre foyer perçoit-elle l'allocation supplémentaire d'invalidité, et de quel "
                  "montant ?",
    "aah_versee": "Une personne de votre foyer perçoit-elle l'allocation aux adultes handicapés, et de quel "
                  "montant ?",
    "cf_versee": "Percevez-vous le complément familial, et de quel montant ?",
    "zone_apl": "Dans quelle commune se trouve votre logement ?",
    "residence_dom": "Dans quelle commune se trouve votre logement ?",
}
"""Engine input → how to ask for it when it stayed unknown (one wording for the inputs one answer settles: the
age and the birth date, the commune's zone and whether it is overseas). Others fall back on the input's label;
the flags saying whether another input is known (detection.reasons.NOT_A_FACT) without a wording here are not
asked."""


@cache
def _input_labels() -> dict[str, str]:
    from nonrecours.rules.registry import default_registry

    return {name: var.label for name, var in default_registry().inputs.items()}


def input_question(name: str) -> str:
    """The question asking for engine input ``name`` (its registry label when no wording is given)."""
    if name in INPUT_QUESTIONS:
        return INPUT_QUESTIONS[name]
    label = _input_labels().get(name, name.replace("_", " "))
    return f"Pouvez-vous préciser : {label} ?"


def questions_frame() -> pl.DataFrame:
    """QUESTIONS as a frame: benefit, question, ref, ``text`` (question and ref), ``order`` (as declared)."""
    return pl.DataFrame(list(QUESTIONS), schema=["benefit", "question", "ref"], orient="row").with_columns(
        pl.format("{} ({})", "question", "ref").alias("text"), pl.int_range(pl.len()).alias("order"))


def claim_fields_frame() -> pl.DataFrame:
    """CLAIM_FIELDS long: benefit, field, label, input (null for a field no data answers)."""
    rows = [(b, code, label, list(inputs)) for b, fields in CLAIM_FIELDS.items() for code, label, inputs in fields]
    return (pl.DataFrame(rows, schema={"benefit": pl.String, "field": pl.String, "label": pl.String,
                                       "inputs": pl.List(pl.String)}, orient="row")
            .with_columns(pl.when(pl.col("inputs").list.len() > 0).then("inputs").otherwise(pl.lit([None])))
            .explode("inputs").rename({"inputs": "input"}))
