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

__all__ = ["AGENCY_LABELS", "BENEFIT_LABELS", "CHANNELS", "CLAIM_FIELDS", "INPUT_QUESTIONS", "QUESTIONS",
           "TARGET_BENEFITS", "claim_fields_frame", "input_question", "questions_frame"]

TARGET_BENEFITS: tuple[str, ...] = ("rsa", "ppa", "aspa", "css_free", "css_participation")
"""The benefits detection flags and outputs report on."""

BENEFIT_LABELS: dict[str, str] = {
    "rsa": "revenu de solidarité active (RSA)",
    "ppa": "prime d'activité",
    "aspa": "allocation de solidarité aux personnes âgées (ASPA)",
    "css_free": "complémentaire santé solidaire sans participation",
    "css_participation": "complémentaire santé solidaire avec participation",
}

AGENCY_LABELS: dict[str, str] = {
    "caf": "CAF", "cnam": "Assurance maladie", "france_travail": "France Travail", "dgfip": "DGFiP",
    "cnav": "Assurance retraite", "msa": "MSA", "synth": "données synthétiques",
}

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
)
"""(benefit, question in plain French, legal reference): conditions no agency's extract can show."""

_IDENTITY = ("date_naissance", "Date de naissance", ("date_naissance", "age"))
_NATIONALITY = ("nationalite", "Nationalité", ("nationality_group",))
_PERMIT = ("titre_sejour", "Titre de séjour (hors EEE et Suisse)", ("residence_permit_years",
                                                                 "residence_condition_exempt"))
_COUPLE = ("situation_couple", "Situation de couple", ("couple_kind",))
_CHILDREN = ("enfants_a_charge", "Enfants et personnes à charge", ("famille_role",))
_HOUSING = ("logement_statut", "Statut d'occupation du logement", ("housing_status",))
_RENT = ("loyer", "Loyer ou mensualité d'emprunt", ("rent",))
_SALARY = ("salaires", "Salaires des derniers mois", ("salary_net",))
_UNEMPLOYMENT = ("chomage", "Allocations chômage", ("unemployment",))
_PENSIONS = ("pensions", "Pensions de retraite et d'invalidité", ("pension_net", "invalidity_pension"))
_ALIMONY = ("pensions_alimentaires", "Pensions alimentaires reçues", ("alimony_received",))
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
            _SALARY, _UNEMPLOYMENT, _PENSIONS, _ALIMONY, _FAMILY, _ASSETS, _RESIDENCE,
            ("conge", "Congé parental, sabbatique, sans solde ou disponibilité", ()), _BANK),
    # Demande de prime d'activité en ligne (caf.fr, msa.fr): trimestrial resources.
    "ppa": (_IDENTITY, _NATIONALITY, _PERMIT, _COUPLE, _CHILDREN, ("etudes", "Études ou apprentissage",
                                                                   ("student",)),
            _HOUSING, _RENT, _SALARY, _UNEMPLOYMENT, _PENSIONS, _ALIMONY, _FAMILY, _ASSETS, _RESIDENCE, _BANK),
    # Demande d'allocation de solidarité aux personnes âgées, cerfa n° 13710.
    "aspa": (_IDENTITY, _NATIONALITY, _PERMIT, _COUPLE,
             ("pensions_retraite", "Pensions de retraite (montants bruts)", ("pension_gross", "pension_net")),
             _SALARY, ("invalidite", "Pension d'invalidité, inaptitude", ("invalidity_pension",
                                                                          "unfit_for_work")),
             _ALIMONY, ("biens", "Biens immobiliers et mobiliers, donations depuis dix ans", ()),
             _RESIDENCE, _BANK),
    # Demande de complémentaire santé solidaire, cerfa n° 12504.
    "css_free": (_IDENTITY, _CHILDREN, _HOUSING, _SALARY, _UNEMPLOYMENT, _PENSIONS, _ALIMONY, _FAMILY,
                 ("patrimoine", "Revenus du patrimoine des douze derniers mois", ()),
                 ("organisme", "Organisme gestionnaire choisi", ()), _RESIDENCE),
}
CLAIM_FIELDS["css_participation"] = (*CLAIM_FIELDS["css_free"], ("participation", "Accord sur la participation "
                                                                 "et mode de paiement", ()))
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
}
"""(benefit, paying agency) → where and how to claim."""

INPUT_QUESTIONS: dict[str, str] = {
    "rent": "Quel est votre loyer mensuel hors charges (ou votre mensualité d'emprunt) ?",
    "housing_status": "Êtes-vous locataire, propriétaire, hébergé(e) gratuitement ou sans logement ?",
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
    "disability_rate": "Un taux d'incapacité vous a-t-il été reconnu (MDPH) ?",
    "unfit_for_work": "Avez-vous été reconnu(e) inapte au travail ?",
    "rsdae": "Une restriction substantielle et durable d'accès à l'emploi vous a-t-elle été reconnue ?",
}
"""Engine input → how to ask for it when it stayed unknown. Others fall back on the input's label."""


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
