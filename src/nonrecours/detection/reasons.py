"""The reasons of each flag in plain French, computed in bulk for all flags at once.

Each line comes from what the engine already computed: the benefit's labelled legal conditions (one
boolean column each, ``<rule>__<label>``), the estimate range, what was paid, the agencies whose facts the
benefit read for that famille (``<input>__source`` columns of the inputs, or the core's provenance), and the
unknown inputs that decide the grade. No identifier, no per-unit filter: joins and list expressions only.
A flag gets a handful of lines (``DetectionConfig.max_reasons``), short enough for a letter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import polars as pl

from nonrecours.core.inputs import NO_LOAN, SETTING_INPUTS
from nonrecours.core.month import CoreMonth, agency_per_row
from nonrecours.core.resources import KNOWN_PROFIT, N2_INPUTS
from nonrecours.core.resources import MONTHLY_INPUTS as RESOURCE_INPUTS
from nonrecours.core.units import qualifier
from nonrecours.detection.targets import entitled_expr
from nonrecours.engine import Result, inputs_read
from nonrecours.engine.explain import closure
from nonrecours.engine.inputs import SOURCE_SUFFIX
from nonrecours.rules.ir import BoolOp, Col, Expr, Lit, Where, distinct
from nonrecours.rules.registry import default_registry
from nonrecours.schemas.benefits import CATALOGUE
from nonrecours.schemas.benefits import benefit as catalogue_row
from nonrecours.schemas.codes import AGENCY_LABELS, agency_subject

__all__ = ["BENEFIT_FR", "N2_ASKED", "NOT_A_FACT", "fact_sources", "famille_years", "french_integer", "input_labels",
           "reasons", "unknown_years", "with_years"]

BENEFIT_FR = {b.code: b.short if b.kind == "amount" else b.label for b in CATALOGUE}
"""French name of each benefit in a reason line (the catalogue's, schemas.benefits)."""
_STATIC_SOURCES = {"persons__source": ("individu", "age", "âge")}
"""Without the core's provenance, the persons row's agency is only known to have given the age (the birth
month): the other facts of that row may come from another agency's row (a nationality from France Travail)."""
FACT_FR = {"age": "âge", "date_naissance": "date de naissance", "nationality_group": "nationalité",
           "residence_permit_years": "titre de séjour",
           "residence_condition_exempt": "dispense de durée de titre de séjour",
           "ofpra_protection": "protection de l'OFPRA", "student": "études", "pregnant": "grossesse",
           "disability_rate": "taux d'incapacité", "rsdae": "RSDAE", "unfit_for_work": "inaptitude au travail",
           "couple_kind": "composition du foyer", "hosted_free_of_charge": "hébergement gratuit",
           "colocation": "colocation", "chambre": "location d'une chambre",
           "loan_date": "date de signature du prêt d'accession",
           "revenu_activite_imposable_n2": "revenus d'activité imposables N-2",
           "pensions_imposables_n2": "pensions imposables N-2",
           "revenus_non_salaries_n2": "bénéfices non salariés N-2",
           "revenus_non_salaries_connus": "derniers bénéfices non salariés connus", "aah_versee": "AAH versée",
           "aspa_versee": "ASPA versée", "asi_versee": "ASI versée", "cf_versee": "complément familial versé",
           "revenus_n2_renseignes": "déclaration de revenus de l'année N-2 (DGFiP)",
           "prestations_versees_connues": "prestations familiales et aide au logement versées",
           "aide_logement_versee_connue": "aide au logement versée", "aah_versee_connue": "AAH versée",
           "aspa_versee_connue": "ASPA versée", "asi_versee_connue": "ASI versée",
           "cf_versee_connue": "complément familial versé",
           "aide_logement_du_mois_connue": "aide au logement et prestations familiales versées ce mois",
           "rsa_percu": "RSA perçu", "rsa_percu_connu": "RSA perçu"}
"""Short French name of a fact in a reason line, where the registry's label is a definition too long for a
letter; any other input keeps its registry label."""
NOT_A_FACT = frozenset({"date_naissance", "revenus_n2_renseignes", "prestations_versees_connues",
                        "aide_logement_versee_connue", "aah_versee_connue", "aspa_versee_connue", "asi_versee_connue",
                        "cf_versee_connue",
                        "aide_logement_du_mois_connue", "rsa_percu_connu", *SETTING_INPUTS})
"""Inputs that say whether another one is known (or repeat the age): not facts of the person's situation (no
reason line quotes them; an outreach list asks none of them that has no question of its own)."""
_RESOURCES = (*RESOURCE_INPUTS.values(), *N2_INPUTS, KNOWN_PROFIT)
"""The resources an estimate rests on: quoted first among the facts used; one of them quoted, no line says that no
income was transmitted (it did, a farmer's profit declared to the DGFiP: probe5_ext, 6 December 2026)."""
_HOUSEHOLD = ("couple_kind", "recent_isolation", "housing_status", "rent", "hosted_free_of_charge", "colocation",
              "chambre", "loan_date")
"""The foyer and its housing, which the amounts read too: quoted after the resources and the payments, before the
identity facts (age, nationality, permit...) that only open the right."""
MAX_FACTS = 6
"""Facts quoted on the « Données utilisées » line at most (then « et N autres »): a line a letter can hold."""
INCREASE_RULES = frozenset({"rsa_majore_eligibilite"})
"""Rules granting an increase of the amount (the RSA's single-parent majoration), not the right: their conditions
unmet deny nothing, so they are never said « non remplies » (met, they stay among the conditions met: true of the
person as written, « personne isolée »)."""


N2_ASKED = (*N2_INPUTS, "revenus_n2_renseignes")
"""The inputs of the DGFiP's yearly incomes of year N-2 of a month, whose labels and questions say « N-2 »."""


def unknown_years(unknowns: pl.DataFrame | pl.LazyFrame, month: dt.date) -> pl.LazyFrame:
    """entity, id, input, year: the years an unknown of an N-2 input (``N2_ASKED``) leaves unknown, the year N-2 of
    each month it is unknown for (a CSS reading March 2025 misses 2023, not the evaluated month's 2024: a letter
    asked for 2024, which the DGFiP had sent, 6 December 2026); an unknown of every month read (month null), the
    evaluated ``month``'s."""
    return (unknowns.lazy().filter(pl.col("input").is_in(N2_ASKED))
            .select("entity", "id", "input", (pl.coalesce(pl.col("month"), pl.lit(month, dtype=pl.Date)).dt.year()
                                              - 2).cast(pl.Int32).alias("year")).unique())


def famille_years(unknowns: pl.DataFrame, individu: pl.DataFrame, month: dt.date,
                  familles: pl.DataFrame) -> pl.DataFrame:
    """famille_id, input, years (sorted): for the familles of ``familles`` (famille_id), the years of N-2 inputs
    unknown for one of their members (``individu``: person_id, famille_id), as ``unknown_years`` reads them."""
    members = individu.select("person_id", "famille_id").join(familles.select("famille_id").unique(),
                                                              on="famille_id", how="semi")
    return (unknown_years(unknowns.filter(pl.col("entity") == "individu"), month)
            .join(members.lazy(), left_on="id", right_on="person_id")
            .group_by("famille_id", "input").agg(pl.col("year").unique().sort().alias("years")).collect())


def with_years(text: pl.Expr, years: pl.Expr) -> pl.Expr:
    """``text`` with its « N-2 » written as the years of ``years`` (a sorted list of integers): « l'année 2023 »,
    « les années 2023 et 2024 », « imposables 2023 et 2024 »; unchanged where ``years`` is null or empty (the
    outreach list then writes the evaluated month's N-2)."""
    n = years.list.len()
    named = years.list.eval(pl.element().cast(pl.String))
    phrase = pl.when(n > 1).then(named.list.head(n - 1).list.join(", ") + pl.lit(" et ") + named.list.last()) \
        .otherwise(named.list.first())
    several = text.str.replace("de l'année N-2", pl.lit("des années ") + phrase, literal=True) \
        .str.replace("l'année N-2", pl.lit("les années ") + phrase, literal=True)
    return (pl.when(n.fill_null(0) == 0).then(text).when(n > 1).then(several).otherwise(text)
            .str.replace_all("N-2", phrase.fill_null("N-2"), literal=True))


def _payments() -> tuple[str, ...]:
    """The inputs saying what an agency pays the famille (« AAH versée », « allocations familiales versées »)."""
    return tuple(sorted(n for n in default_registry().inputs if n not in NOT_A_FACT
                        and (n in BENEFIT_FR or n.endswith(("_versee", "_percu")))))


def _fact_rank() -> dict[str, int]:
    """Rank of each fact on the « Données utilisées » line: the resources and the payments the amount rests on,
    then the foyer and its housing, then the identity facts (FACT_FR's order); any other input after, by name."""
    order = dict.fromkeys((*_RESOURCES, *_payments(), *_HOUSEHOLD, *FACT_FR))
    return {n: i for i, n in enumerate(order)}


def french_integer(e: pl.Expr) -> pl.Expr:
    """``1 234`` from an integer expression: the thousands apart, as French writes them (the text reversed, a space
    after each three digits, reversed back), in bulk; the reasons' amounts and the outreach lists' share it."""
    grouped = e.cast(pl.String).str.reverse().str.replace_all(r"(\d{3})", "$1 ").str.reverse()
    return grouped.str.strip_chars_start(" ").str.replace("- ", "-", literal=True)


def _euros(e: pl.Expr) -> pl.Expr:
    """``1 234,56 €`` from a float expression (French notation, in bulk)."""
    cents = (e.fill_null(0.0) * 100).round(0).cast(pl.Int64)
    return french_integer(cents // 100) + pl.lit(",") + (cents % 100).cast(pl.String).str.zfill(2) + pl.lit(" €")


def _differ(low: pl.Expr, high: pl.Expr) -> pl.Expr:
    """Whether two amounts read differently to the cent (« de 44,00 € à 44,00 € » is no range)."""
    return (low * 100).round(0) != (high * 100).round(0)


_LEASE_FLAGS = ("hosted_free_of_charge", "colocation", "chambre", "loan_date", "residence_dom")
"""The foyer's housing facts that only adjust an amount where they hold: an ordinary lease (no colocation, no room,
no loan) in mainland France is what almost every record says, not what decided (« logement en Guadeloupe,
Martinique, Guyane ou à La Réunion (DGFiP) » was quoted for a home in the Lot)."""


def _amounts() -> frozenset[str]:
    """The inputs that are amounts (or say a benefit received, an unusual lease, an overseas home, a state: every
    boolean input): an agency's 0 (false, no loan) there is no income, payment or lease sent, and a layout's silence
    read as 0 (a follower's gross pension, the DRM's ARE of a person with none) says nothing; a state quoted false
    reads as held (« parent isolé depuis moins de 18 mois (CAF) » on a single man's RSA)."""
    states = (n for n, v in default_registry().inputs.items() if v.dtype == "bool")
    return frozenset((*_RESOURCES, *_payments(), *_LEASE_FLAGS, *states))


def _nonzero(core: CoreMonth, entity: str, key: str, ids: pl.DataFrame) -> pl.DataFrame:
    """``key``, input: the amounts (``_amounts``) of the ``entity`` rows of ``ids`` the core's inputs give a value
    other than 0 (false, no loan) in some month read."""
    amounts = _amounts()
    parts = []
    for monthly in (False, True):
        frame = core.inputs.frame(entity, monthly)
        cols = [c for c in frame.columns if c in amounts] if frame is not None and key in frame.columns else []
        if cols:
            said = [(pl.col(c) != pl.lit(NO_LOAN) if c == "loan_date" else pl.col(c).cast(pl.Float64) != 0.0)
                    .fill_null(False).alias(c) for c in cols]
            parts.append(frame.join(ids, on=key, how="semi").select(key, *said)
                         .unpivot(index=key, variable_name="input", value_name="_v")
                         .filter(pl.col("_v")).select(key, "input"))
    return (pl.concat(parts).unique() if parts
            else pl.DataFrame(schema={key: ids.schema[key], "input": pl.String}))


def fact_sources(core: CoreMonth, individu: pl.DataFrame, months_from,  # type: ignore[no-untyped-def]
                 familles: pl.DataFrame) -> pl.DataFrame:
    """famille_id, input, agency, month: which agency supplied each input the core read for the members of
    ``familles`` (famille_id: the flagged ones only, so the work scales with the flags, not the territory), and
    the month of its extract: from the core's provenance when it has one (per fact: a nationality France
    Travail sent is named France Travail's even when the DGFiP gave the birth month), else from the
    ``__source`` columns of the inputs (month null). From the provenance, what an agency sent only: a value
    observed, or an amount estimated from its own (the DGFiP's year spread over months), and of the amounts
    (``_amounts``) those not 0 in every month read: a follower answering 0 for a kind of income its layout never
    carries (the CAF's gross pension), an exhaustive source's 0 for an income the person does not have (the DRM's
    ARE, invalidity pension) or the DGFiP's estimate of none are not what a flag rests on (every CAF row quoted
    the same six: two testers' probes, hh18 L1, 6 December 2026); nor is an estimate following another value
    (the permit from the nationality)."""
    fam = individu.select("person_id", "famille_id", "menage_id").join(familles.select("famille_id").unique(),
                                                                      on="famille_id", how="semi")
    parts: list[pl.DataFrame] = []
    schema = {"famille_id": pl.String(), "input": pl.String(), "agency": pl.String(), "month": pl.Date()}
    if core.provenance.height:
        amount = pl.col("input").is_in(sorted(_amounts()))
        p = core.provenance.filter(pl.col("source_agency").is_not_null()
                                   & ((pl.col("kind") == "observed") | ((pl.col("kind") == "estimated") & amount)))
        for entity, key in (("individu", "person_id"), ("famille", "famille_id"), ("menage", "menage_id")):
            ids = fam.select(key).drop_nulls().unique()
            sel = (p.filter(pl.col("entity") == entity).select(pl.col("id").alias(key), "input",
                                                               pl.col("source_agency").alias("agency"),
                                                               pl.col("source_month").alias("month"))
                   .join(ids, on=key, how="semi"))
            sel = pl.concat([sel.filter(~amount), sel.filter(amount).join(_nonzero(core, entity, key, ids),
                                                                          on=[key, "input"], how="semi")])
            link = fam.select(key, "famille_id").unique() if key != "famille_id" else None
            if link is not None:
                sel = sel.join(link, on=key, how="inner")
            parts.append(sel.select(list(schema)))
    else:
        monthly = core.inputs.individu_monthly
        if monthly is not None:
            src_cols = [c for c in monthly.columns if c.endswith(SOURCE_SUFFIX)]
            if src_cols:
                long = (monthly.filter(pl.col("month") >= months_from)
                        .join(fam.select("person_id"), on="person_id", how="semi").select("person_id", *src_cols)
                        .unpivot(index="person_id", variable_name="input", value_name="agency")
                        .filter(pl.col("agency").is_not_null()).unique()
                        .with_columns(pl.col("input").str.replace(f"{SOURCE_SUFFIX}$", ""),
                                      pl.lit(None, dtype=pl.Date).alias("month")))
                parts.append(long.join(fam, on="person_id").select(list(schema)))
        ind = core.inputs.individu
        for col, (_entity, name, _label) in _STATIC_SOURCES.items():
            if col in ind.columns:
                parts.append(ind.select("person_id", pl.lit(name).alias("input"), pl.col(col).alias("agency"),
                                        pl.lit(None, dtype=pl.Date).alias("month"))
                             .join(fam, on="person_id").select(list(schema)))
        men = core.inputs.menage
        if men is not None and f"rent{SOURCE_SUFFIX}" in men.columns:
            parts.append(men.select("menage_id", pl.lit("rent").alias("input"),
                                    pl.col(f"rent{SOURCE_SUFFIX}").alias("agency"),
                                    pl.lit(None, dtype=pl.Date).alias("month"))
                         .join(fam.select("menage_id", "famille_id").unique(), on="menage_id")
                         .select(list(schema)))
    parts = [p.cast(schema).filter(pl.col("agency").is_not_null()) for p in parts]  # type: ignore[arg-type]
    return pl.concat(parts).unique() if parts else pl.DataFrame(schema=schema)


def _conditions(result: Result, benefit: str) -> list[tuple[str, str]]:
    """(column, label) of the famille-level labelled conditions the benefit depends on."""
    cols = set(result["famille"].columns)
    rule = catalogue_row(benefit).rule
    # the benefit's own rule and its eligibility rules, not its dependencies'
    own = {benefit, rule}
    prefixes = (f"{benefit}_", f"{rule}_")
    return [(s.name, s.label or s.name) for s in closure(result, [rule])
            if s.public and s.rule is not None and s.entity == "famille" and s.name in cols
            and (s.rule in own or s.rule.startswith(prefixes))]


def _disjuncts(node: Expr) -> list[Expr]:
    """The operands of a chain of « or » (``a | b | c``)."""
    if isinstance(node, BoolOp) and node.op == "or":
        return [*_disjuncts(node.left), *_disjuncts(node.right)]
    return [node]


def _failing(result: Result, benefit: str, conds: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Each condition of ``conds`` that can deny the right, with its alternatives: the other conditions of an
    either/or it is one side of (« locataire » or « accédant »: a tenant fails the second, yet has the right).
    Left out: a condition that only adjusts a computation (the housing aid's income neutralised after an RSA),
    read neither by a boolean rule nor as the test of a ``where`` whose other branch is zero: false, it denies
    nothing; and the conditions of an increase (``INCREASE_RULES``)."""
    names = {c for c, _ in conds}
    steps = result.plan.steps
    gates: set[str] = set()
    alternatives: dict[str, set[str]] = {c: set() for c in names}
    for rule in {steps[c].rule for c in names} - INCREASE_RULES:
        expr = steps[rule].expr if rule in steps else None
        if expr is None:
            continue
        for node in distinct(expr):  # a sub-tree the plan shares is read once
            if steps[rule].dtype == "bool" and isinstance(node, Col) and node.name in names:
                gates.add(node.name)
            if isinstance(node, Where) and isinstance(node.otherwise, Lit) and not node.otherwise.value:
                gates |= {n.name for n in distinct(node.cond) if isinstance(n, Col) and n.name in names}
            if isinstance(node, BoolOp) and node.op == "or":
                sides = [d.name for d in _disjuncts(node) if isinstance(d, Col) and d.name in names]
                for c in sides:
                    alternatives[c] |= set(sides) - {c}
    return {c: sorted(alternatives[c]) for c, _ in conds if c in gates}


def condition_columns(result: Result, benefits: tuple[str, ...]) -> list[str]:
    """The famille columns of ``benefits``' labelled conditions in ``result``: what a flag's reasons read."""
    return sorted({c for b in benefits for c, _ in _conditions(result, b)})


def _input_label(name: str) -> str:
    if name in FACT_FR:
        return FACT_FR[name]
    reg = default_registry()
    var = reg.inputs.get(name)
    return var.label if var is not None else name


def input_labels() -> dict[str, str]:
    """Each rule input's French label (the rules' own description), as reasons and the report name it."""
    return {name: _input_label(name) for name in default_registry().inputs}


def _agreed(benefit: str, participle: str) -> str:
    """``participle`` agreed with the benefit's name (« estimé », « estimée », « estimées »)."""
    row = catalogue_row(benefit)
    return participle + ("e" if row.feminine else "") + ("s" if row.plural else "")


def _with_article(benefit: str) -> str:
    """The benefit's French name with its definite article (« l'ASPA », « les allocations familiales »)."""
    name = BENEFIT_FR[benefit]
    if catalogue_row(benefit).plural:
        return f"les {name}"
    if name[0].lower() in "aeiouyh":
        return f"l'{name}"
    return f"{'la' if catalogue_row(benefit).feminine else 'le'} {name}"


def _of(benefit: str) -> str:
    """« au » / « à la » / « à l' » + the benefit's name (« le droit au RSA »)."""
    name = _with_article(benefit)
    return ("au " + name[3:] if name.startswith("le ") else "aux " + name[4:] if name.startswith("les ")
            else "à " + name)


_WITH_ARTICLE = {k: agency_subject(k) for k in AGENCY_LABELS}


_SLIP_TAIL = (" verse cette prestation à un dossier dont un adulte a un NIR erroné qui, à un chiffre près (une faute "
              "de frappe), est celui d'un adulte du foyer : le versement est très probablement le sien.")
"""How a flag ends whose famille's adult has the NIR a paid dossier's failing number was most likely meant to be
(``receipts.unidentified_payee``, ``by_number``)."""


def _payer_unseen(part: pl.DataFrame) -> pl.Expr:
    """The flags of a famille whose payer of the benefit sent no extract or does not know it, nothing read as
    received (``detection.receipts.payer_unknown``; detection's ``_pu``): what it receives is not observed."""
    if "_pu" not in part.columns:
        return pl.lit(False)
    return pl.col("_pu").fill_null(False) & ~pl.col("receiving").fill_null(False)


def _unknown_to(payers: tuple[str, ...]) -> str:
    """« ni la CNAV ni la MSA ne la connaissent » (« la CNAV ne la connaît pas » for one): the benefit's paying
    agencies do not know the person, for a reason line."""
    named = [_WITH_ARTICLE.get(p, p) for p in payers]
    if len(named) == 1:
        return f"{named[0]} ne la connaît pas"
    return " ".join(f"ni {n}" for n in named) + " ne la connaissent"


_DELISTED_TAIL = (" ; l'assurance maladie couvre toute personne qui travaille ou réside en France (CSS art. L160-1) : "
                  "un décès, un départ ou un changement de caisse que les extraits ne portent pas est possible, à "
                  "vérifier avant tout contact.")
"""How a line ends whose member every file listing its people each month stopped listing
(``receipts.listing_stopped``)."""


def _column(part: pl.DataFrame, name: str) -> pl.Expr:
    """Column ``name`` of ``part``, or a null text where ``detect`` set none (a run without that kind of cap)."""
    return pl.col(name) if name in part.columns else pl.lit(None, dtype=pl.String)


def _named(agency: pl.Expr, otherwise: str) -> pl.Expr:
    """An agency code as a reason names it, with its article (« la CAF »), else ``otherwise``."""
    return agency.replace_strict(_WITH_ARTICLE, default=None, return_dtype=pl.String).fill_null(pl.lit(otherwise))


def _stopped_line(source: pl.Expr, what: str, last: pl.Expr, tail: str,
                  head: str = "Signalement ramené à « possible » : ") -> pl.Expr:
    """« ramené à possible » because a member's lines at ``source`` stop at ``last``, nobody reporting them since
    (``head``: « À vérifier avant tout contact » on a flag possible on its own unknowns)."""
    return (pl.lit(head) + source + pl.lit(f" {what} jusqu'en ")
            + last + pl.lit(" et plus rien depuis, aucun autre organisme non plus" + tail))


def _contradiction_line(columns: Iterable[str]) -> pl.Expr:
    """For a flag ``detect`` ramène à « possible » (``contradicted``: the benefits paid that our rules deny on
    every value of the unknowns): who pays (``contradicted_payers``, the paying agencies of those payments; else
    the agency qualifying the famille id, which is the payer's own dossier) and what, in plain French. A payment
    no payer reported, only an agency that does not pay it (``contradicted_reporters``: France Travail's
    « bénéficiaire du RSA »), names that agency as reporting it, never as paying it. A famille the core built
    (``core-famille:``, no agency's dossier) is paid through a member: said so."""
    columns = set(columns)
    agency = qualifier("famille_id")
    by_id = agency.replace_strict(_WITH_ARTICLE, default=None, return_dtype=pl.String)

    def named(column: str) -> pl.Expr:
        return pl.col(column).list.eval(pl.element().replace_strict(_WITH_ARTICLE, default=pl.element())
                                        ).list.join(" et ")

    has = {c: (pl.col(c).list.len() > 0).fill_null(False) if c in columns else pl.lit(False)
           for c in ("contradicted_payers", "contradicted_reporters")}
    payer = (pl.when(has["contradicted_payers"]).then(named("contradicted_payers")).otherwise(by_id)
             if "contradicted_payers" in columns else by_id).fill_null(pl.lit("un organisme non identifié"))
    reported = ~has["contradicted_payers"] & has["contradicted_reporters"]
    built = (agency == "core-famille").fill_null(False)
    benefits = pl.col("contradicted").list.eval(
        pl.element().replace_strict({b: _with_article(b) for b in BENEFIT_FR}, default=pl.element())
    ).list.join(" et ")
    member = (pl.when(built).then(pl.lit(" à un membre de cette famille, qu'aucun organisme ne décrit"))
              .otherwise(pl.lit("")))
    said = (pl.when(reported).then(
        (named("contradicted_reporters") if "contradicted_reporters" in columns else pl.lit(""))
        + pl.lit(" signale que cette famille perçoit ") + benefits
        + pl.lit(", qu'aucun organisme payeur ne déclare et"))
        .otherwise(payer + pl.lit(" verse ") + benefits + member + pl.lit(",")))
    return (pl.lit("Signalement ramené à « possible » : ") + said
            + pl.lit(" que nos données n'expliquent pas : la composition du foyer ou ses ressources sont sans doute "
                     "incomplètes."))


SUBSIDIARY_DUE = ("rsa_subsidiarite_appliquee", "paje_base_droit", "paje_base_retenue", "asf_droit", "asf_retenue",
                  "af_droit_base", "af_base", "af_retenues", "cf_non_majore_avant_cumul", "cf_compte_minima",
                  "aide_logement", "aide_logement_retenue", "rsa_forfait_logement_plein")
"""The RSA's columns that say which benefits its amount counts due where the foyer does not receive them (the
rule ``rsa_subsidiarite_appliquee``, CASF art. L262-10): named on its flag, to be claimed with it."""


PPA_HOUSING = ("aide_logement", "aide_logement_retenue", "ppa_forfait_logement_plein", "ppa_forfait_logement")
"""The prime d'activité's columns that say how much it would lose once the housing aid due is received."""


def _ppa_housing_line() -> pl.Expr:
    """« Si l'aide au logement due … est aussi demandée, la prime d'activité baisse … » where the housing aid is due
    above what is paid: the prime d'activité counts the aid received only (CSS art. R844-3), so its estimate is the
    one of a claim alone; claiming both, its forfait logement grows up to the aid due. Two outside testers
    (probe10, probe11) found an outreach row adding both at full: 20 % more than what claiming both gives."""
    c = pl.col
    due = c("aide_logement").clip(lower_bound=0.0)
    less = pl.min_horizontal(pl.min_horizontal(due, c("ppa_forfait_logement_plein")) - c("ppa_forfait_logement"),
                             c("amount_central")).clip(lower_bound=0.0)
    return pl.when((due > c("aide_logement_retenue") + 0.005) & (less > 0.005)).then(
        pl.lit("Si l'aide au logement due (") + _euros(due) + pl.lit(" par mois) est aussi demandée et versée, la "
                                                                    "prime d'activité baisse de son forfait logement : "
                                                                    "jusqu'à ")
        + _euros(less) + pl.lit(" par mois de moins (CSS art. R844-3)."))


PPA_COUNTED = ("af", "cf", "paje_base", "asf")
"""Family benefits the prime d'activité counts among its resources once received (CSS art. R844-5): a flag of one
of them beside a PPA flag, certain or probable, is a resource the PPA's estimate leaves out."""


def family_due(flags: pl.DataFrame) -> pl.DataFrame:
    """famille_id, _fam_due, _fam_names: per famille, the monthly family benefits of ``PPA_COUNTED`` its certain or
    probable flags find due above what is paid, and their names."""
    return (flags.filter(pl.col("benefit").is_in(PPA_COUNTED) & pl.col("grade").is_in(["certain", "probable"])
                         & pl.col("status").is_in(["non_take_up", "under_payment"]))
            .group_by("famille_id")
            .agg((pl.col("amount_central") - pl.col("paid").fill_null(0.0)).clip(lower_bound=0.0).sum()
                 .alias("_fam_due"),
                 pl.col("benefit").cast(pl.String).replace_strict(BENEFIT_FR, return_dtype=pl.String).unique().sort()
                 .alias("_fam_names")))


def _ppa_family_line() -> pl.Expr:
    """« Les prestations familiales dues et non perçues (…) comptent, une fois versées, dans les ressources de la
    prime d'activité … » where the famille's own flags find them due: the PPA's estimate counts the benefits
    received only (its flag is the PPA claimed alone); claimed together, it falls by up to their amount. An outside
    tester's family of seven children (probe14, H3b): PPA 1,573.48 € flagged `certain`, 446.59 € once the AF, the
    CF and the housing aid due are received."""
    c = pl.col
    less = pl.min_horizontal(c("_fam_due"), c("amount_central"))
    return pl.when(c("_fam_due").fill_null(0.0) > 0.005).then(
        pl.lit("Les prestations familiales dues et non perçues (") + c("_fam_names").list.join(", ")
        + pl.lit(" : ") + _euros(c("_fam_due"))
        + pl.lit(" par mois) comptent, une fois versées, dans les ressources de la prime d'activité : demandées "
                 "ensemble, elle baisserait jusqu'à ") + _euros(less) + pl.lit(" par mois (CSS art. R844-5)."))


def _subsidiary_line() -> pl.Expr:
    """« Montant compté avec … dues » where the RSA counts a family benefit or the housing aid due above what is
    paid: the caseworker sees why the amount is below a simulator's run on the payments, and what to claim too."""
    c = pl.col
    counted = [
        pl.when(c("paje_base_droit") > c("paje_base_retenue") + 0.005).then(pl.lit(BENEFIT_FR["paje_base"])),
        pl.when(c("asf_droit") > c("asf_retenue") + 0.005).then(pl.lit(BENEFIT_FR["asf"])),
        pl.when(c("af_droit_base") > pl.min_horizontal("af_base", "af_retenues") + 0.005).then(
            pl.lit(BENEFIT_FR["af"])),
        pl.when((c("cf_non_majore_avant_cumul") > c("cf_compte_minima") + 0.005)
                & (pl.max_horizontal("paje_base_retenue", "paje_base_droit") <= 0)).then(pl.lit(BENEFIT_FR["cf"])),
        pl.when((c("aide_logement") > c("aide_logement_retenue") + 0.005)
                & (c("aide_logement_retenue") < c("rsa_forfait_logement_plein"))).then(
            pl.lit(BENEFIT_FR["aide_logement"])),
    ]
    names = pl.concat_list(counted).list.drop_nulls()
    return pl.when(c("rsa_subsidiarite_appliquee").fill_null(False) & (names.list.len() > 0)).then(
        pl.lit("Montant compté avec ce qui est dû et non perçu (à demander en même temps, le RSA étant subsidiaire, "
               "CASF art. L262-10) : ") + names.list.join(", ") + pl.lit("."))


def _deciding_named(part: pl.DataFrame, years: pl.DataFrame | None) -> pl.DataFrame:
    """_row, _deciding: each flag's deciding unknowns by their French names, in their order, an N-2 income named with
    the years its famille misses (``years``: famille_id, input, years; « pensions imposables 2023 »)."""
    names = pl.col("input").replace_strict(input_labels(), default=pl.col("input"), return_dtype=pl.String)
    long = (part.select("_row", "famille_id", pl.col("deciding_unknowns").alias("input")).explode("input")
            .drop_nulls("input").with_row_index("_at"))
    if years is not None:
        long = long.join(years, on=["famille_id", "input"], how="left")
    else:
        long = long.with_columns(pl.lit(None, dtype=pl.List(pl.Int32)).alias("years"))
    return (long.sort("_at").group_by("_row", maintain_order=True)
            .agg(with_years(names, pl.col("years")).alias("_deciding")))


def reasons(flags: pl.DataFrame, result: Result, sources: pl.DataFrame, max_lines: int,
            payments_unknown: frozenset[str] = frozenset(), max_facts: int = MAX_FACTS,
            years: pl.DataFrame | None = None, family_paid_read: bool = True) -> pl.DataFrame:
    """``flags`` (famille_id, benefit, grade, amounts, paid, deciding_unknowns, linked) with a ``reasons``
    list column added. ``payments_unknown``: benefits whose payments no agency of the run reports (said on the
    flag: what is received is unknown). ``max_facts``: facts quoted on the « Données utilisées » line at most.
    ``years`` (``famille_years``): the years of N-2 incomes each famille misses, named on the deciding unknowns'
    line (without it, « N-2 »). ``family_paid_read``: the rules read the family benefits paid (the core's
    ``prestations_versees_connues``); false, they computed them, and the prime d'activité already counts those due."""
    if flags.is_empty():
        return flags.with_columns(pl.lit(None, dtype=pl.List(pl.String)).alias("reasons"))
    fam = result["famille"]
    out: list[pl.DataFrame] = []
    names = sorted((set(sources.get_column("input").to_list()) | {"age"}) - NOT_A_FACT)
    labels = pl.DataFrame({"input": names, "_label": [_input_label(n) for n in names]},
                          schema={"input": pl.String, "_label": pl.String})  # one per input name, not per unit
    agency = pl.col("agency").replace_strict(AGENCY_LABELS, default=pl.col("agency"), return_dtype=pl.String)
    rank = _fact_rank()
    # each fact with the agency (and extract month) its provenance records, for each member it was read for
    origin = pl.when(pl.col("month").is_not_null()).then(
        agency + pl.lit(" ") + pl.col("month").dt.strftime("%m/%Y")).otherwise(agency)
    # a payments fact names every exhaustive payer ("caf,msa"): one agency each; none named, nothing said
    src = (agency_per_row(sources.join(labels, on="input"), "agency")
           .with_columns(origin.alias("agency"))
           .group_by("famille_id", "input", "_label").agg(pl.col("agency").unique().sort().str.join(", "))
           # what the amount rests on first (a line cut at ``max_facts`` keeps it), then the others by name
           .with_columns(pl.col("input").replace_strict(rank, default=len(rank), return_dtype=pl.Int32)
                         .alias("_rank")))
    for benefit, part in flags.group_by("benefit"):
        benefit = str(benefit[0])
        conds = _conditions(result, benefit)
        needed = set(inputs_read(tuple(catalogue_row(benefit).rules))) | {"age"}
        # the sources of each flag (src holds those of every flag's famille; a famille may have several flags
        # of a benefit, one per person): a deciding unknown of the flag is asked, never quoted as a fact used
        part = part.with_row_index("_row")
        asked = (part.select("_row", pl.col("deciding_unknowns").alias("input")).explode("input")
                 .drop_nulls("input").unique().with_columns(pl.lit(False).alias("_quoted")))
        facts = (src.filter(pl.col("input").is_in(sorted(needed)))
                 .join(part.select("_row", "famille_id"), on="famille_id")
                 .join(asked, on=["_row", "input"], how="left")
                 .sort("_rank", "input").group_by("_row")
                 .agg((pl.col("_label") + pl.lit(" (") + pl.col("agency") + pl.lit(")"))
                      .filter(pl.col("_quoted").fill_null(True)).alias("_facts"),
                      pl.col("input").is_in(list(_RESOURCES)).any().alias("_has_resources")))
        row = catalogue_row(benefit)
        # a coverage another replaces (the CSS with participation, the free CSS): is the other due centrally?
        other = (entitled_expr(row.excludes).alias("_other_central") if row.excludes
                 else pl.lit(False).alias("_other_central"))
        # the RSA's benefits counted due, when its rule set has the subsidiarity
        subsidiary = list(SUBSIDIARY_DUE) if benefit == "rsa" and set(SUBSIDIARY_DUE) <= set(fam.columns) else []
        # the prime d'activité's forfait logement, once the housing aid due is received too
        housing = [c for c in PPA_HOUSING if c not in subsidiary] if (
            benefit == "ppa" and set(PPA_HOUSING) <= set(fam.columns)) else []
        part = part.join(fam.select("famille_id", *[c for c, _ in conds], other, *subsidiary, *housing),
                         on="famille_id", how="left")
        family = benefit == "ppa" and family_paid_read
        if family:  # the family benefits its famille's flags find due, which its estimate does not count
            part = part.join(family_due(flags), on="famille_id", how="left")
        part = part.join(facts, on="_row", how="left").join(_deciding_named(part, years), on="_row", how="left")
        name = BENEFIT_FR[benefit]
        if row.kind == "amount":
            per = 12.0 if row.yearly else 1.0
            ranged = pl.when(_differ(pl.col("amount_low") * per, pl.col("amount_high") * per)).then(
                pl.lit(" (de ") + _euros(pl.col("amount_low") * per) + pl.lit(" à ")
                + _euros(pl.col("amount_high") * per) + pl.lit(" selon les données inconnues)")).otherwise(pl.lit(""))
            word = _agreed(benefit, "estimé")
            # « montant »: a participle after the estimate would agree with the benefit, not with the payment
            period, received = " par mois", pl.lit(" ; montant versé ce mois : ") + _euros(pl.col("paid"))
            if row.yearly:  # the payment judged is the one due (Benefit.due_month): say which year it is
                due = row.due_month(part.get_column("month")[0])
                period = f" pour l'année ({row.due_name(due)})"
                received = pl.lit(f" ; montant versé depuis {due:%m/%Y} : ") + _euros(pl.col("paid") * per)
            if benefit in payments_unknown:
                received = pl.lit(" ; versements non transmis par les organismes (à vérifier)")
            # a famille whose payer sent no extract or does not know it (``payer_unknown``): its ``paid`` is null
            received = pl.when(_payer_unseen(part)).then(pl.lit(
                " ; ce qu'elle en reçoit n'est pas observé (son organisme payeur n'a pas transmis d'extrait ou ne "
                "connaît pas la famille)")).otherwise(received)
            estimate = (pl.lit(f"{name[0].upper()}{name[1:]} {word} à ")
                        + _euros(pl.col("amount_central") * per) + pl.lit(period) + ranged + received + pl.lit("."))
        else:
            estimate = pl.when(_payer_unseen(part)).then(pl.lit(
                f"Droit estimé à la {name} ; sa couverture n'est pas observée (aucune caisse dont l'extrait est "
                "transmis ne connaît la personne).")).otherwise(pl.lit(
                f"Droit estimé à la {name} ; aucune couverture enregistrée ce mois."))
            if row.amount_rule:  # the participation the foyer would pay, over the variants that give it
                # one amount whatever the unknowns: it does not depend on them
                spread = _differ(pl.col("amount_low"), pl.col("amount_high"))
                estimate = pl.when(pl.col("amount_high").is_not_null()).then(
                    pl.lit(f"Droit estimé à la {name} ; participation de ") + _euros(pl.col("amount_low"))
                    + pl.when(spread).then(pl.lit(" à ") + _euros(pl.col("amount_high"))
                                           + pl.lit(" par mois selon les données inconnues"))
                    .otherwise(pl.lit(" par mois"))
                    + pl.when(_payer_unseen(part)).then(pl.lit(
                        " ; sa couverture n'est pas observée (aucune caisse dont l'extrait est transmis ne connaît la "
                        "personne).")).otherwise(pl.lit(" ; aucune couverture enregistrée ce mois."))
                ).otherwise(estimate)
        held = [pl.when(pl.col(c).fill_null(False)).then(pl.lit(lbl)) for c, lbl in conds]
        # a condition that denies the right on the central values: not one side of an either/or whose other
        # side holds (a tenant is no « accédant »), nor an adjustment or an increase (``_failing``)
        labels = dict(conds)
        failed = [pl.when(~pl.any_horizontal(pl.col(c).fill_null(True), *[pl.col(a).fill_null(False) for a in alts]))
                  .then(pl.lit(labels[c])) for c, alts in _failing(result, benefit, conds).items()]
        held_line = (pl.lit("Conditions remplies (valeurs centrales) : ")
                     + pl.concat_list(held).list.drop_nulls().list.join(" ; ") + pl.lit(".")) if held else None
        failed_list = pl.concat_list(failed).list.drop_nulls() if failed else None
        # the lines in the order a letter needs them, so that a list cut at ``max_lines`` drops the least useful:
        # the estimate, what the grade rests on and what to ask, the other benefits it opens (a unit missing the
        # RSA misses the free CSS it brings), the conditions, then the facts used
        lines = [estimate]
        # a possible flag says first on which values it rests: the central values may not give the right at all
        central_gives = (pl.col("amount_central").fill_null(0.0) > 0) if row.kind == "amount" \
            else pl.col("amount_central").is_not_null()
        possible = pl.col("grade") == "possible"
        other = pl.col("_other_central").fill_null(False) & pl.col("amount_central").is_null()
        other_name = BENEFIT_FR[row.excludes] if row.excludes else ""
        # the central values give the other coverage (the two exclude each other): the participation is due on
        # other values of the unknowns (resources above the free coverage's ceiling), not on "favourable" ones
        contradicted = (pl.col("contradicted").list.len() > 0).fill_null(False) if "contradicted" in part.columns \
            else pl.lit(False)
        row_lost = pl.col("_unobserved") if "_unobserved" in part.columns else pl.lit(None, dtype=pl.String)
        dossier = _named(qualifier("famille_id"), "l'organisme")
        payee = _named(_column(part, "_payee"), "l'organisme qui la versait")
        unid_payer = _named(_column(part, "_unid_payer"), "un organisme qui la verse")
        behind_source = _named(_column(part, "_behind_source"), "l'organisme")
        behind_last = (pl.col("_behind_last").dt.strftime("%m/%Y") if "_behind_last" in part.columns
                       else pl.lit(None, dtype=pl.String))
        reexam_last = (pl.col("_reexam_last").dt.strftime("%m/%Y") if "_reexam_last" in part.columns
                       else pl.lit(None, dtype=pl.String))
        offset = pl.col("_aah_offset") if "_aah_offset" in part.columns else pl.lit(None, dtype=pl.Float64)
        aah_offset = _euros(offset)
        aah_gain = _euros((pl.col("amount_central") - offset).clip(lower_bound=0.0))
        self_emp = (pl.col("_self_emp_year").cast(pl.String) + pl.lit(" : ")
                    + _euros(pl.col("_self_emp_amount")) if "_self_emp_year" in part.columns
                    else pl.lit(None, dtype=pl.String))
        self_emp_status = ((pl.col("_self_emp_status") if "_self_emp_status" in part.columns
                            else pl.lit(None, dtype=pl.String))
                           .replace_strict(_WITH_ARTICLE, default=None, return_dtype=pl.String)
                           .fill_null(pl.lit("un organisme")))
        # resting on a granting benefit whose own flag is less sure (``Benefit.granted_with``: the RSA's free CSS)
        granted = row.granted_with
        granted_by = _column(part, "_granted_by").is_not_null()
        granted_line = (pl.lit("Signalement ramené à « ") + pl.col("grade") + pl.lit(
            f" » : {_with_article(benefit)} ne tient ici qu'au droit {_of(granted[0])} ({granted[2]}), dont le "
            "signalement n'est pas plus sûr ; à vérifier avec lui.")) if granted else pl.lit(None, dtype=pl.String)
        # the payer's file of the person missing this month: a cash benefit was paid, a coverage (the CSS) granted
        payee_gone = (" versait cette prestation les mois précédents et ne transmet ce mois aucune ligne pour la "
                      "personne (ni pension, ni ressource, ni autre versement) : l'arrêt peut venir de l'extrait, "
                      "à vérifier avant tout contact." if row.kind == "amount" else
                      " accordait cette couverture les mois précédents et ne transmet ce mois aucune ligne pour la "
                      "personne (ni la couverture, ni une autre ligne de son fichier) : l'arrêt peut venir de "
                      "l'extrait, à vérifier avant tout contact.")
        lines.append(pl.when(possible & contradicted).then(_contradiction_line(part.columns))
                     .when(possible & (row_lost == "insurer")).then(pl.lit(
            f"Signalement ramené à « possible » : {_unknown_to(row.payers)} ; la prestation est servie par la "
            "caisse d'assurance maladie de la personne, dont l'extrait n'est pas transmis (ou qui n'y retrouve pas "
            "la personne) : qu'elle ne la reçoive pas n'est pas observé, à vérifier avant tout contact."))
                     .when(possible & (row_lost == "payer_absent")).then(pl.lit(
            "Signalement ramené à « possible » : un organisme qui verse cette prestation ("
            + " ou ".join(_WITH_ARTICLE.get(p, p) for p in row.payers) + ") n'a pas transmis d'extrait, et la "
            "famille n'est ce mois dans aucun dossier de ceux qui l'ont fait : qu'elle ne la reçoive pas n'est pas "
            "observé, à vérifier avant tout contact."))
                     .when(possible & (row_lost == "slip")).then(
            pl.lit(f"Signalement ramené à « possible » : {_unknown_to(row.payers)}, mais ") + unid_payer
            + pl.lit(_SLIP_TAIL.removesuffix(".") + " ; à vérifier avant tout contact."))
                     .when(possible & (row_lost == "stopped")).then(
            pl.lit("Signalement ramené à « possible » : ") + dossier
            + pl.lit(" ne transmet pas ce mois la ligne de l'allocataire de ce dossier et ses versements "
                     "s'arrêtent avec elle : l'arrêt peut venir de l'extrait, à vérifier avant tout contact."))
                     .when(possible & (row_lost == "unseen")).then(
            pl.lit("Signalement ramené à « possible » : ") + dossier
            + pl.lit(" porte les versements de ce dossier sur la ligne de son allocataire, que son extrait ne "
                     "transmet pas : ce qui lui est versé n'est pas connu, à vérifier avant tout contact."))
                     .when(possible & (row_lost == "payee")).then(
            pl.lit("Signalement ramené à « possible » : ") + payee + pl.lit(payee_gone))
                     .when(possible & (row_lost == "fund")).then(pl.lit(
            f"Signalement ramené à « possible » : une pension est déclarée pour la personne, mais "
            f"{_unknown_to(row.payers)} ; l'allocation est servie avec la pension par la caisse qui la verse, dont "
            "l'extrait n'est pas transmis (ou qui n'y retrouve pas la personne) : à vérifier avant tout contact."))
                     .when(possible & (row_lost == "served")).then(pl.lit(
            "Signalement ramené à « possible » : une pension est déclarée pour une personne du foyer, mais "
            f"{_unknown_to(catalogue_row('aspa').payers)} ; l'ASPA que servirait avec elle la caisse qui la verse, "
            "dont l'extrait n'est pas transmis, compte dans les ressources et n'est pas connue : à vérifier avant tout "
            "contact."))
                     .when(possible & (row_lost == "behind")).then(_stopped_line(
            behind_source, "transmet les ressources d'un membre du foyer", behind_last,
            " : ces mois comptent pour des revenus nuls, mais les déclarations peuvent ne pas être encore parvenues ; "
            "à vérifier avant tout contact."))
                     .when(possible & (row_lost == "gone")).then(_stopped_line(
            behind_source, "déclare la pension de retraite d'un membre du foyer", behind_last,
            " ; une pension de retraite est servie à vie : un décès ou un départ que les extraits ne portent pas est "
            "possible, à vérifier avant tout contact."))
                     .when(possible & (row_lost == "delisted")).then(_stopped_line(
            behind_source, "liste un membre du foyer", behind_last, _DELISTED_TAIL))
                     .when(possible & (row_lost == "reexamined")).then(
            pl.lit("Signalement ramené à « possible » : ") + dossier
            + pl.lit(" a versé cette aide jusqu'en ") + reexam_last
            + pl.lit(" et réexamine le droit tous les trois mois sans nouvelle demande pendant neuf mois après un "
                     "réexamen sans versement (CCH art. R823-6) : l'arrêt est son propre constat, sur ses données, "
                     "et non un défaut de demande ; à vérifier avant tout contact."))
                     .when(possible & (row_lost == "eea_right")).then(pl.lit(
            "Signalement ramené à « possible » : ressortissant européen sans activité, en France depuis moins de cinq "
            f"ans : {_with_article(benefit)} demande un droit au séjour ({row.residence_right}), que donnent des "
            "ressources suffisantes et une assurance maladie (CESEDA art. L233-1) ou le lien avec un travailleur, et "
            "qu'aucun organisme ne transmet ; à vérifier avant tout contact."))
                     .when(possible & (row_lost == "aah_in_place") & (row.code == "aspa")).then(
            pl.lit("Signalement ramené à « possible » : l'ASPA prendrait la place de ") + aah_offset
            + pl.lit(" d'AAH perçue (CSS art. L821-1 : l'AAH s'ajoute à l'ASPA sans que le total des deux dépasse son "
                     "montant), soit un gain net de ") + aah_gain
            + pl.lit(" par mois ; titulaire de l'AAH à 80 % ou plus passé l'âge légal de la retraite, la personne "
                     "n'est pas tenue de la demander, et l'ASPA est récupérable sur la succession (CSS art. L815-13) : "
                     "à proposer, non à exiger."))
                     .when(possible & (row_lost == "aah_in_place")).then(
            pl.lit("Signalement ramené à « possible » : ") + pl.lit(_with_article(row.code))
            + pl.lit(" prendrait la place de ") + aah_offset
            + pl.lit(" d'AAH perçue (CSS art. L821-1 : l'AAH complète les avantages d'invalidité du demandeur jusqu'à "
                     "son montant), soit un gain net de ") + aah_gain
            + pl.lit(" par mois : ce gain, non le montant de l'allocation, est ce qu'une demande apporterait ; à "
                     "vérifier avec l'organisme qui verse l'AAH avant tout contact."))
                     .when(possible & (row_lost == "self_employed")).then(
            pl.lit("Signalement ramené à « possible » : la DGFiP déclare des revenus non salariés d'un membre du foyer "
                   "(") + self_emp
            + pl.lit(" pour l'année), que ce calcul ne compte pas : les ressources retenues sont incomplètes, "
                     "à vérifier avant tout contact."))
                     .when(possible & (row_lost == "self_employed_undeclared")).then(
            pl.lit("Signalement ramené à « possible » : ") + self_emp_status
            + pl.lit(" connaît un membre du foyer comme travaillant à son compte (exploitant), et la DGFiP ne "
                     "transmet sa déclaration de revenus d'aucune des deux années précédentes : ses revenus non "
                     "salariés sont inconnus, ce calcul n'en compte aucun ; à vérifier avant tout contact."))
                     .when(possible & other).then(pl.lit(
            f"Sur les valeurs centrales, c'est la {other_name} qui est due (les deux s'excluent) : la "
            "participation ne vaut que si des données inconnues placent les ressources au-dessus de son plafond."))
            .when(possible & ~central_gives).then(pl.lit(
                "Droit seulement si les données inconnues sont favorables : pas sur les valeurs centrales."))
            .when(possible & granted_by).then(granted_line)
            .when(possible & pl.lit(benefit in payments_unknown)).then(pl.lit(
                "Signalement « possible » au plus : aucun organisme de l'échange ne transmet les versements de "
                "cette prestation, qu'elle soit reçue n'est pas observé ; à vérifier avant tout contact."))
            .when(possible).then(pl.lit(
                "Droit sur les valeurs centrales, mais certaines ne reposent sur aucune donnée transmise.")))
        if "_delisted_last" in part.columns:  # a flag possible already, the CPAM no longer listing a member
            lines.append(pl.when(possible & pl.col("_delisted_last").is_not_null()
                                 & (row_lost.fill_null("") != "delisted")).then(_stopped_line(
                _named(pl.col("_delisted_source"), "l'organisme"), "liste un membre du foyer",
                pl.col("_delisted_last").dt.strftime("%m/%Y"),
                _DELISTED_TAIL, head="À vérifier avant tout contact : ")))
        if granted:  # probable: the line the chain above gives a possible one
            lines.append(pl.when(~possible & granted_by).then(granted_line))
        # the questions that settle the flag, before the facts (a list cut at ``max_lines`` keeps them)
        lines.append(pl.when(pl.col("deciding_unknowns").list.len() > 0).then(
            pl.lit("Données inconnues qui décident : ") + pl.col("_deciding").list.join(", ")
            + pl.lit(" (à vérifier auprès de la personne).")))
        lines.append(pl.when(pl.col("linked").list.len() > 0).then(
            pl.lit("Ouvre aussi droit à : ") + pl.col("linked").list.eval(
                pl.element().replace_strict(BENEFIT_FR, default=pl.element())).list.join(", ") + pl.lit(".")))
        if subsidiary:
            lines.append(_subsidiary_line())
        if family:
            lines.append(_ppa_family_line())
        if housing:
            lines.append(_ppa_housing_line())
        if "_unid_payer" in part.columns:  # a payment that may be theirs, its payee's NIR unusable (``detect``)
            by_number = (pl.col("_unid_number").fill_null(False) if "_unid_number" in part.columns
                         else pl.lit(False))
            tail = pl.when(by_number).then(pl.lit(_SLIP_TAIL)).otherwise(pl.lit(
                " verse cette prestation à un dossier dont un adulte, au NIR inutilisable (erroné ou absent), a le "
                "mois de naissance, le sexe (s'il est connu) et la commune d'un adulte du foyer : le versement est "
                "peut-être le sien."))
            lines.append(pl.when(pl.col("_unid_payer").is_not_null() & (row_lost.fill_null("") != "slip")).then(
                pl.lit(f"À vérifier avant tout contact : {_unknown_to(row.payers)}, mais ") + unid_payer + tail))
        cap = catalogue_row(benefit).grade_cap
        if cap is not None:  # a condition no data shows: said first, the letter asks it
            lines.append(pl.lit(f"À vérifier auprès de la personne : {cap[1]}."))
        if failed_list is not None:  # why the central values give no right: never said where they give it
            lines.append(pl.when(possible & ~central_gives & (failed_list.list.len() > 0)).then(
                pl.lit("Non remplies sur les valeurs centrales : ") + failed_list.list.join(" ; ") + pl.lit(".")))
        if held_line is not None:
            lines.append(pl.when(pl.concat_list(held).list.drop_nulls().list.len() > 0).then(held_line))
        lines.append(pl.when(~pl.col("_has_resources").fill_null(False)).then(
            pl.lit("Aucun revenu transmis par les organismes pour les mois de référence.")))
        more = pl.col("_facts").list.len().cast(pl.Int64) - max_facts  # unsigned: would wrap below zero
        lines.append(pl.when(pl.col("_facts").list.len() > 0).then(
            pl.lit("Données utilisées : ") + pl.col("_facts").list.head(max_facts).list.join(" ; ")
            + pl.when(more > 0).then(pl.lit(" et ") + more.cast(pl.String)
                                     + pl.when(more > 1).then(pl.lit(" autres")).otherwise(pl.lit(" autre")))
            .otherwise(pl.lit("")) + pl.lit(".")))
        part = part.with_columns(pl.concat_list([ln.cast(pl.String) for ln in lines]).list.drop_nulls()
                                 .list.head(max_lines).alias("reasons"))
        out.append(part.select(*flags.columns, "reasons"))
    return pl.concat(out)
