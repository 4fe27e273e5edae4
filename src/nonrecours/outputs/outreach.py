"""Outreach lists: one per contacting agency, one row per person to contact, whatever the benefits missed.

The lead agency of a person is the one paying the largest missing benefit (configurable, ``OutreachConfig``):
RSA and prime d'activité by the CAF, ASPA by the CNAV (Carsat), CSS by the CNAM (CPAM), and each by the MSA for
its members. The claim goes to it (``claim_agency``); the contact comes from it when it holds a record of the
person, else from the first agency of ``OutreachConfig.relay_order`` that does (the relay: most people flagged
for RSA are unknown to the CAF, which is the point, but known to the CPAM), so every row carries a token an
agency can open; a person no agency holds a record of stays with the lead agency, without a token, and counted.
A row says what the person may get (monthly range), how sure we are, why (plain French), what the
administration already knows for the claim with the agency and month of each fact ("dites-le nous une fois":
never ask it again), what is left to ask (the deciding unknowns and the conditions no data can show), where to
claim, and a priority (missing amount × a weight per grade). Money missing is that of the cash benefits: a
coverage (the CSS) costs the person its participation, said in its detail line, and adds nothing to the amounts
or the priority (``detection.targets.cash``).

Return tokens. A row carries a token only its agency can open (AES-SIV under that agency's own key, see
``nonrecours.privacy.tokens``) wrapping the agency's own record number: the CAF matricule, the CNAV ASPA
dossier, the MSA dossier, the France Travail identifier, and for the CNAM the NIR (the CPAM files insured
people by it); the mapping's ``record_number`` names the field. Ingest wraps the number where it is read,
under the agency's own key, into the workspace's ``return_tokens`` table (agency, person_id, return_token,
return_key_id, extract): the raw number is never written, and the pseudonym never leaves with a list.
``build_outreach`` takes that table (``records`` with ``return_token``) or record numbers (``records`` with
``record_id``, tokenised here under ``keys``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, field_validator

from nonrecours.core.month import agency_per_row
from nonrecours.detection.reasons import NOT_A_FACT, french_integer, unknown_years, with_years
from nonrecours.detection.schema import GRADES
from nonrecours.detection.targets import cash
from nonrecours.errors import ConfigError, PrivacyError, SchemaError
from nonrecours.outputs.law import (
    BENEFIT_LABELS,
    CHANNELS,
    INPUT_QUESTIONS,
    claim_fields_frame,
    fact_ids,
    held_facts,
    input_question,
    judged_earlier,
    questions_frame,
)
from nonrecours.outputs.writers import read_french_csv
from nonrecours.privacy.keys import ReturnTokenKey
from nonrecours.privacy.tokens import issue_return_tokens, open_return_tokens
from nonrecours.schemas.benefits import CATALOGUE
from nonrecours.schemas.codes import AGENCIES, AGENCY_LABELS, CLAIM_ONLY_AGENCIES

__all__ = ["OUTREACH_SCHEMA", "OutreachConfig", "PayerRule", "build_outreach", "open_outreach"]

GRADE_LABELS = {"certain": "certain", "probable": "probable", "possible": "possible"}
_GRADE_RANK = {g: i for i, g in enumerate(GRADES)}
_YEARLY = sorted(b.code for b in CATALOGUE if b.yearly)
"""Benefits paid once a year: detection's amounts are monthly equivalents (a twelfth), a detail line says the
year's amount."""
_NOT_ASKED = sorted(NOT_A_FACT - set(INPUT_QUESTIONS))
"""Engine flags saying whether another input is known (detection.reasons): no question of their own, the inputs
they stand for are asked."""
_MEMBER = {"record_role": pl.String, "birth_year": pl.Int32}
"""Which member of the agency's dossier a row is about (``records``' optional columns; null where not given)."""


_DOSSIER_BENEFITS = frozenset(b.code for b in CATALOGUE if set(b.payers) == {"caf", "msa"})
"""Benefits the family payers (the CAF, or the MSA for its members) pay on a famille's dossier: claimed where the
famille's dossier of the month is."""


class PayerRule(BaseModel):
    """Who pays a benefit: ``agency``, or ``msa_members`` for people the MSA covers (None: no exception)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    agency: str
    msa_members: str | None = "msa"

    @field_validator("agency", "msa_members")
    @classmethod
    def _known(cls, v: str | None) -> str | None:
        if v is not None and (v not in (*AGENCIES, *CLAIM_ONLY_AGENCIES) or v == "synth"):
            raise ValueError(f"unknown agency {v}")
        return v


class OutreachConfig(BaseModel):
    """Who contacts whom, and how a flag's grade weighs in the priority."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    payers: dict[str, PayerRule] = Field(default_factory=lambda: {
        b.code: PayerRule(agency=b.lead, msa_members=b.members_lead) for b in CATALOGUE})
    """benefit → who pays it and contacts people about it (the catalogue's lead agencies, schemas.benefits)."""
    grade_weights: dict[str, float] = Field(default_factory=lambda: {
        "certain": 1.0, "probable": 0.6, "possible": 0.25})
    statuses: tuple[str, ...] = ("non_take_up", "under_payment")
    member_agency: str = "msa"
    """The agency whose members are contacted by it for every benefit it pays (``PayerRule.msa_members``)."""
    max_questions: int = Field(12, ge=1, le=100)
    """Questions a row asks at most: the deciding unknowns first (they decide the grade), then the law's conditions
    no data can show, most valuable benefit first. A letter is answered when it is short: a tester's CPAM row asked
    25 (room, colocation, rent, the income of two years, RSDAE, unfitness...), 6 December 2026. The flags keep
    every deciding unknown."""
    relay_order: tuple[str, ...] = ("msa", "cnam", "caf", "cnav", "france_travail")
    """Who contacts a person the claim's agency holds no record of: the first of these that does (the MSA for
    its members, then the CPAM, which files every insured person)."""

    @field_validator("relay_order")
    @classmethod
    def _agencies(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [a for a in v if a not in AGENCIES or a == "synth"]
        if bad:
            raise ValueError(f"unknown agency {bad[0]} in relay_order")
        if len(set(v)) != len(v):
            raise ValueError("relay_order names an agency twice")
        return v

    @field_validator("grade_weights")
    @classmethod
    def _every_grade(cls, v: dict[str, float]) -> dict[str, float]:
        if set(v) != set(GRADES):
            raise ValueError(f"grade_weights needs exactly the grades {', '.join(GRADES)}")
        if any(not 0 <= w <= 1 for w in v.values()):
            raise ValueError("grade weights are between 0 and 1")
        return v


OUTREACH_SCHEMA: dict[str, pl.DataType] = {
    "agency": pl.String(),              # the agency that contacts the person (the claim's, else a relay)
    "claim_agency": pl.String(),        # the agency the claim goes to (pays the largest missing benefit)
    "return_token": pl.String(),        # opens to the agency's record number, with its key only
    "return_key_id": pl.String(),
    "has_record": pl.Boolean(),         # false: no agency holds a record of the person (no token)
    "record_role": pl.String(),         # the person's place in the agency's dossier (demandeur, conjoint, enfant)
    "birth_year": pl.Int32(),           # as the agency holds it: with the role, which member of a dossier
    "known_to": pl.List(pl.String()),   # agencies holding a record of the person
    "month": pl.Date(),
    "benefits": pl.List(pl.String()),
    "lead_benefit": pl.String(),
    "grade": pl.String(),               # grade of the lead benefit
    "best_grade": pl.String(),          # the best grade among the row's benefits (a certain CSS under a possible lead)
    "amount_low": pl.Float64(),         # monthly euros missing, summed over the cash benefits (0: a CSS only)
    "amount_central": pl.Float64(),
    "amount_high": pl.Float64(),
    "detail": pl.List(pl.String()),     # per benefit: amount range and grade, in French
    "reasons": pl.List(pl.String()),
    "known_facts": pl.List(pl.String()),  # claim facts held, with agency and month: not to ask again
    "questions": pl.List(pl.String()),
    "channels": pl.List(pl.String()),
    "linked": pl.List(pl.String()),
    "priority": pl.Float64(),
    "situation_id": pl.String(),        # the row's OpenFisca situation in openfisca/<agency>.jsonl (null: none)
}
"""Columns of every outreach list (Parquet; the CSV joins lists with `` | ``)."""


def _check_flags(flags: pl.DataFrame) -> None:
    from nonrecours.detection.schema import FLAGS_SCHEMA

    for col in FLAGS_SCHEMA:
        if col not in flags.columns:
            raise SchemaError("missing column of the flags table", table="flags", column=col)
    bad = flags.select(pl.col("claimant_id").is_null().arg_true()).to_series()
    if len(bad):
        raise SchemaError("a flag without claimant cannot be contacted", table="flags", column="claimant_id",
                          row=int(bad[0]))


def _euros(expr: pl.Expr) -> pl.Expr:
    """« 870 € », « 1 173 € » (the thousands apart, as the reasons write them), or « montant inconnu » (unknown is
    not zero, and a null would drop the whole line)."""
    return (pl.when(expr.is_null()).then(pl.lit("montant inconnu"))
            .otherwise(french_integer(expr.round(0).cast(pl.Int64)) + pl.lit(" €")))


def _sum_unknown_if_any(name: str) -> pl.Expr:
    """A person's total over the cash benefits (``_cash``): unknown when one of their amounts is unknown (never that
    part as 0); a coverage (the CSS) adds nothing, its amounts being the participation the person would pay."""
    return (pl.when((pl.col(name).is_null() & pl.col("_cash")).any()).then(None)
            .otherwise(pl.col(name).filter(pl.col("_cash")).sum()))


def _month_fr(expr: pl.Expr) -> pl.Expr:
    return expr.dt.strftime("%m/%Y")


def build_outreach(flags: pl.DataFrame, *, records: pl.DataFrame, keys: Mapping[str, ReturnTokenKey] | None = None,
                   provenance: pl.DataFrame | None = None, affiliations: pl.DataFrame | None = None,
                   memberships: pl.DataFrame | None = None, config: OutreachConfig | None = None,
                   situations: pl.DataFrame | None = None, with_claimant: bool = False,
                   due_provenance: pl.DataFrame | None = None,
                   unknowns: pl.DataFrame | pl.LazyFrame | None = None) -> dict[str, pl.DataFrame]:
    """Outreach lists (agency → frame in ``OUTREACH_SCHEMA``, sorted by priority) from detection's flags.

    ``records``: agency, person_id, and ``record_id`` (tokenised here under ``keys[agency]``) or
    ``return_token``/``return_key_id`` (issued at the agency); optional ``record_role`` and ``birth_year``, the
    person's place in that agency's dossier and birth year as the agency holds them: a record number is a
    dossier's, shared by its members (a son of 25 in his mother's CAF dossier is flagged in his own famille), so a
    row says which member it is about. ``provenance``: ``CoreMonth.provenance`` (the
    claim facts already held). ``affiliations``: person_id, agency (who covers whom; MSA members go to the MSA).
    ``memberships``: person_id, unit_id of the month, so facts held on the claimant's other units (the ménage's
    rent, the foyer fiscal's income) are found too. ``situations``: the claimants (``claimant_id``) whose
    OpenFisca situation the run exports; their rows get a ``situation_id``, the agency and the row's rank in its
    list (``caf-000012``: neither a pseudonym nor a record number, it only finds the row's line in
    ``openfisca/<agency>.jsonl``). ``with_claimant``: keep ``claimant_id`` first, for the run to link each row to
    its situation (never written with a list). ``due_provenance``: detection's ``provenance_due.parquet``
    (``DUE_PROVENANCE_SCHEMA``), the facts behind the flags of a yearly benefit judged at an earlier month (the ARS
    due last August): those flags quote them, never the evaluated month's ``provenance`` (none when not given).
    ``unknowns``: detection's ``unknowns.parquet`` (``CoreMonth.unknowns``): a question on a deciding income of year
    N-2 asks for the years the person's unknowns miss (``detection.reasons.unknown_years``), else for the evaluated
    month's N-2.
    """
    config = config or OutreachConfig()
    _check_flags(flags)
    unknown = set(flags.get_column("benefit").unique().to_list()) - set(config.payers)
    if unknown:
        raise ConfigError(f"no paying agency configured for benefit {sorted(unknown)[0]}")
    flags = flags.filter(pl.col("status").is_in(config.statuses))
    member = config.member_agency
    members = (affiliations.filter(pl.col("agency").cast(pl.String) == member).select("person_id").unique()
               .with_columns(pl.lit(True).alias("_member"))
               if affiliations is not None else pl.DataFrame(schema={"person_id": pl.String, "_member": pl.Boolean}))
    payers = pl.DataFrame([(b, r.agency, r.msa_members) for b, r in config.payers.items()],
                          schema={"benefit": pl.String, "_payer": pl.String, "_member_payer": pl.String},
                          orient="row")
    paid = pl.col("paid").fill_null(0.0)
    # a benefit paid on a family payer's dossier goes to the famille's dossier's payer of the month, whatever an MSA
    # membership says: a mother whose dossier moved from the MSA to the CAF in the window (the MSA's member lines of
    # January, its memberships carrying no end) was put on the MSA's list, to claim at the MSA (probe9_msa, H6)
    dossier = pl.col("unit_id").cast(pl.String).str.split(":").list.first()
    on_dossier = pl.col("benefit").is_in(list(_DOSSIER_BENEFITS)) & (dossier == pl.col("_payer")).fill_null(False)
    # a famille whose dossier of the month is the member agency's is its member, whoever of it the MSA's file
    # names: a claimant known from the DGFiP alone, the MSA holding the dossier through a child, was put on the
    # CAF's list without a record (an outside tester, probe18, 7 December 2026)
    member_dossier = (dossier == member).fill_null(False)
    f = (flags.join(payers, on="benefit", how="left")
         .join(members, left_on="claimant_id", right_on="person_id", how="left")
         .with_columns(
             pl.when((pl.col("_member").fill_null(False) | member_dossier) & pl.col("_member_payer").is_not_null()
                     & ~on_dossier)
             .then(pl.col("_member_payer")).otherwise(pl.col("_payer")).alias("payer"),
             cash().alias("_cash"),
             # money missing: a coverage's amounts are the participation the person would pay, never money missing
             *[pl.when(cash()).then((pl.col(f"amount_{e}") - paid).clip(lower_bound=0.0)).alias(f"miss_{e}")
               for e in ("low", "central", "high")],
             pl.col("grade").replace_strict(config.grade_weights, return_dtype=pl.Float64).alias("_weight"),
             pl.col("benefit").replace_strict(BENEFIT_LABELS, default=pl.col("benefit")).alias("_label"))
         .with_columns((pl.col("miss_central") * pl.col("_weight")).alias("_score")))
    # The lead: the benefit with the largest missing amount (ties: better grade, then benefit code).
    f = f.with_columns(pl.col("grade").replace_strict(_GRADE_RANK, return_dtype=pl.Int32).alias("_grank"))
    # (a benefit whose central amount is unknown comes after those whose amount is known)
    lead = (f.sort(["claimant_id", "miss_central", "_grank", "benefit"], descending=[False, True, False, False],
                   nulls_last=True)
            .group_by("claimant_id", maintain_order=True)
            .agg(pl.col("payer").first().alias("claim_agency"), pl.col("benefit").first().alias("lead_benefit"),
                 pl.col("grade").first().alias("grade"),
                 # the lead is the most money, not the surest: a team keeping its certain and probable rows on
                 # ``grade`` lost a certain CSS under a possible chèque énergie (found probing a territory
                 # written from the docs alone, 5 December 2026)
                 pl.col("grade").sort_by("_grank").first().alias("best_grade")))
    # a coverage not due on the central values (the CSS with participation where the free CSS is due there)
    # has a range over the other variants but no central amount: said, never shown as an unknown amount
    # A coverage (the CSS) says what it would cost the person: its participation, or none. A yearly benefit says
    # the year's amount (its flags carry the monthly equivalent, as the person's totals do).
    yearly = pl.col("benefit").is_in(_YEARLY)
    per = pl.when(yearly).then(12.0).otherwise(1.0)
    amount = {e: pl.when(pl.col("_cash")).then(pl.col(f"miss_{e}")).otherwise(pl.col(f"amount_{e}")) * per
              for e in ("low", "central", "high")}
    what = pl.when(pl.col("_cash")).then(pl.lit("")).otherwise(pl.lit("participation de "))
    period = pl.when(yearly).then(pl.lit(" pour l'année")).otherwise(pl.lit(" par mois"))
    low, high = _euros(amount["low"]), _euros(amount["high"])
    one = low == high  # « de 44 € à 44 € » is no range: the one amount, whatever the unknowns
    free = ~pl.col("_cash") & (pl.max_horizontal(*amount.values()).fill_null(0.0) == 0)
    detail = (pl.when(free).then(pl.format("{} : sans participation à payer, {}", "_label", pl.col("grade")))
              .when(amount["central"].is_null() & amount["high"].is_not_null())
              .then(pl.col("_label") + pl.lit(" : pas due sur les valeurs centrales ; ") + what
                    + pl.when(one).then(low).otherwise(low + pl.lit(" à ") + high) + period
                    + pl.lit(" selon les données inconnues, ") + pl.col("grade"))
              .otherwise(pl.col("_label") + pl.lit(" : ") + what + _euros(amount["central"]) + period
                         + pl.when(one).then(pl.lit("")).otherwise(pl.lit(" (de ") + low + pl.lit(" à ") + high
                                                                   + pl.lit(")"))
                         + pl.lit(", ") + pl.col("grade")))
    channel_map = {f"{b}|{a}": f"{BENEFIT_LABELS.get(b, b)} : {text}" for (b, a), text in CHANNELS.items()}
    per_person = (
        f.sort(["claimant_id", "_score"], descending=[False, True], nulls_last=True)
        .with_columns(detail.alias("_detail"),
                      pl.concat_str("benefit", "payer", separator="|")
                      .replace_strict(channel_map, default=None).alias("_channel"))
        .group_by("claimant_id", maintain_order=True)
        .agg(pl.col("month").max(), pl.col("benefit").alias("benefits"),
             *[_sum_unknown_if_any(f"miss_{e}").alias(f"amount_{e}") for e in ("low", "central", "high")],
             pl.col("_detail").alias("detail"),
             pl.col("_channel").drop_nulls().unique(maintain_order=True).alias("channels"),
             pl.col("linked").list.explode(keep_nulls=False, empty_as_null=False).unique(maintain_order=True)
             .alias("linked"),
             pl.col("_score").sum().round(2).alias("priority")))  # over the benefits whose amount is known
    reasons = (f.select("claimant_id", "_label", "_score", pl.col("reasons")).explode("reasons")
               .drop_nulls("reasons").sort(["claimant_id", "_score"], descending=[False, True], nulls_last=True)
               .group_by("claimant_id", maintain_order=True)
               .agg(pl.format("{} : {}", "_label", "reasons").unique(maintain_order=True).alias("reasons")))
    questions = _questions(f, config.max_questions, _years_missing(f, unknowns, memberships))
    facts = _known_facts(f, provenance, memberships, due_provenance)
    out = (lead.join(per_person, on="claimant_id", how="left")
           .join(reasons, on="claimant_id", how="left").join(questions, on="claimant_id", how="left")
           .join(facts, on="claimant_id", how="left")
           .with_columns([pl.col(c).fill_null(pl.lit([], dtype=pl.List(pl.String)))
                          for c in ("reasons", "questions", "known_facts")]))
    out = _tokens(_years_written(out), records, keys, config.relay_order, _unit_members(flags, memberships))
    out = out.sort(["agency", "priority", "amount_central"], descending=[False, True, True], nulls_last=True,
                   maintain_order=True)  # ties keep the claimants' order: a rerun numbers the rows alike
    rank = (pl.int_range(1, pl.len() + 1).over("agency")).cast(pl.String).str.zfill(6)
    exported = (pl.col("claimant_id").is_in(situations.get_column("claimant_id").implode())
                if situations is not None else pl.lit(False))
    out = out.with_columns(pl.when(exported).then(pl.concat_str("agency", pl.lit("-"), rank)).alias("situation_id"))
    out = out.select(*(["claimant_id"] if with_claimant else []), *OUTREACH_SCHEMA).cast(
        OUTREACH_SCHEMA)  # type: ignore[arg-type]
    return {agency: frame for (agency,), frame in out.partition_by("agency", as_dict=True).items()}


def _years_written(out: pl.DataFrame) -> pl.DataFrame:
    """« N-2 » and « N-1 » in a row's texts (the registry's labels of the DGFiP's yearly incomes, which are relative
    to the evaluated month) written as the years they are for the row's month: a letter asks for « l'année 2024 »,
    not « l'année N-2 » (a caseworker's probe of the lists, 5 December 2026)."""
    texts = [c for c in ("detail", "reasons", "known_facts", "questions") if c in out.columns]
    for month in out.get_column("month").drop_nulls().unique().to_list():
        here = pl.col("month") == month
        out = out.with_columns(
            pl.when(here).then(pl.col(c).list.eval(
                pl.element().str.replace_all(r"\bN-2\b", str(month.year - 2))
                .str.replace_all(r"\bN-1\b", str(month.year - 1)))).otherwise(pl.col(c)).alias(c)
            for c in texts)
    return out


def _years_missing(f: pl.DataFrame, unknowns: pl.DataFrame | pl.LazyFrame | None,
                   memberships: pl.DataFrame | None) -> pl.DataFrame | None:
    """claimant_id, input, years: the years of the N-2 incomes unknown for the ids a claimant's flags judged at the
    month hang on (``law.fact_ids``); None without ``unknowns``."""
    now = f.filter(~judged_earlier(f))
    if unknowns is None or now.is_empty():
        return None
    ids = fact_ids(now, ["claimant_id"], memberships)
    month = now.get_column("month").max()
    return (unknown_years(unknowns, month).join(ids.lazy(), on="id").group_by("claimant_id", "input")
            .agg(pl.col("year").unique().sort().alias("years")).collect())


def _questions(f: pl.DataFrame, most: int, years: pl.DataFrame | None = None) -> pl.DataFrame:
    unknowns = f.select("claimant_id", "_score", pl.col("deciding_unknowns").alias("input")).explode("input") \
        .drop_nulls("input").filter(~pl.col("input").is_in(_NOT_ASKED))
    names = unknowns.get_column("input").unique().to_list()
    if years is not None:  # an income of year N-2 asked for the years missing (« pour l'année 2023 »)
        unknowns = unknowns.join(years, on=["claimant_id", "input"], how="left")
    else:
        unknowns = unknowns.with_columns(pl.lit(None, dtype=pl.List(pl.Int32)).alias("years"))
    asked = unknowns.with_columns(with_years(pl.col("input").replace_strict(
        {n: input_question(n) for n in names}, return_dtype=pl.String), pl.col("years")).alias("q"))
    law = f.select("claimant_id", "_score", "benefit").join(
        questions_frame().select("benefit", pl.col("text").alias("q"), "order"), on="benefit")
    # Deciding unknowns first (they decide the grade), then the law's conditions, most valuable benefit first.
    first = pl.lit(0, dtype=pl.Int64).alias("order")
    both = pl.concat([asked.select("claimant_id", pl.lit(0).alias("_k"), "_score", first, "q"),
                      law.select("claimant_id", pl.lit(1).alias("_k"), "_score", "order", "q")])
    return (both.sort(["claimant_id", "_k", "_score", "order"], descending=[False, False, True, False],
                      nulls_last=True)
            .group_by("claimant_id", maintain_order=True).agg(pl.col("q").unique(maintain_order=True).head(most)
                                                              .alias("questions")))


def _known_facts(f: pl.DataFrame, provenance: pl.DataFrame | None, memberships: pl.DataFrame | None,
                 due_provenance: pl.DataFrame | None = None) -> pl.DataFrame:
    """claimant_id, known_facts: the claim form's fields whose answer an agency already holds, with the agencies
    and the extract month; for a benefit judged at an earlier month, that month's facts (``due_provenance``). A
    field one of whose inputs decides a flag of the person (``deciding_unknowns``) is asked (``_questions``),
    never said held: an estimate from an agency's data is not the person's answer."""
    empty = pl.DataFrame(schema={"claimant_id": pl.String, "known_facts": pl.List(pl.String)})
    fields = claim_fields_frame().drop_nulls("input").select("benefit", "field", "label", "input")
    found_schema = {"claimant_id": pl.String, "field": pl.String, "label": pl.String, "source_agency": pl.String,
                    "source_month": pl.Date}
    parts = [pl.DataFrame(schema=found_schema)]
    earlier = judged_earlier(f)
    now = f.filter(~earlier)
    if provenance is not None and provenance.height and now.height:
        ids = fact_ids(now, ["claimant_id", "benefit"], memberships)
        held = held_facts(provenance).select("id", "input", pl.col("source_agency").cast(pl.String),
                                                           "source_month")
        parts.append(ids.join(fields, on="benefit").join(held, on=["id", "input"])
                     .select(list(found_schema)))
    if due_provenance is not None and due_provenance.height:
        # the famille as it was at the month judged: detection linked its facts to the flag's unit already
        held = held_facts(due_provenance, ("unit_id", "benefit", "id")).select(
            "unit_id", "benefit", "input", pl.col("source_agency").cast(pl.String), "source_month")
        parts.append(f.filter(earlier).select("claimant_id", "unit_id", "benefit")
                     .join(held, on=["unit_id", "benefit"]).join(fields, on=["benefit", "input"])
                     .select(list(found_schema)))
    asked = (f.select("claimant_id", pl.col("deciding_unknowns").alias("input")).explode("input")
             .join(fields.select("field", "input").unique(), on="input").select("claimant_id", "field").unique())
    # a payments fact names every payer reporting for the run ("caf,msa"): each agency by its name
    found = (agency_per_row(pl.concat(parts).join(asked, on=["claimant_id", "field"], how="anti"))
             .group_by("claimant_id", "field", "label", "source_agency").agg(pl.col("source_month").max()))
    if found.is_empty():
        return empty
    agency = pl.col("source_agency").replace_strict(AGENCY_LABELS, default=pl.col("source_agency"))
    month = (pl.when(pl.col("source_month").is_not_null()).then(_month_fr(pl.col("source_month")))
             .otherwise(pl.lit("mois inconnu")))
    # one line a field: « Salaires des derniers mois : DGFiP (04/2026) », the agencies of one extract month together
    return (found.sort(["claimant_id", "field", "label", "source_agency"])
            .group_by("claimant_id", "field", "label", month.alias("_month"), maintain_order=True)
            .agg(agency.str.join(", ").alias("_agencies"))
            .group_by("claimant_id", "field", "label", maintain_order=True)
            .agg(pl.format("{} ({})", "_agencies", "_month").str.join(", ").alias("_held"))
            .group_by("claimant_id", maintain_order=True)
            .agg(pl.format("{} : {}", "label", "_held").alias("known_facts")))


def _unit_members(flags: pl.DataFrame, memberships: pl.DataFrame | None) -> pl.DataFrame:
    """(claimant_id, person_id): the other members of the units a claimant is flagged in, whose record of the
    dossier may stand for the claimant's (``_tokens``)."""
    if memberships is None:
        return pl.DataFrame(schema={"claimant_id": pl.String, "person_id": pl.String})
    units = flags.select("claimant_id", pl.col("unit_id").cast(pl.String)).unique()
    # no unique() over the month's memberships (millions of rows at scale): the join's own rows are made unique
    return (units.join(memberships.select(pl.col("unit_id").cast(pl.String), "person_id"), on="unit_id")
            .filter(pl.col("person_id") != pl.col("claimant_id")).select("claimant_id", "person_id").unique())


def _tokens(out: pl.DataFrame, records: pl.DataFrame, keys: Mapping[str, ReturnTokenKey] | None,
            relay_order: tuple[str, ...], unit_members: pl.DataFrame | None = None) -> pl.DataFrame:
    """Each row's contacting agency and the record it is reached by: the claimant's own at the claim's agency, else
    at the first relay holding one; where the claimant has none anywhere, another member's record of the same
    unit at the claim's agency (a record number is a dossier's: ``record_role`` says whose it is)."""
    need = {"agency", "person_id"}
    if not need <= set(records.columns) or not ({"record_id", "return_token"} & set(records.columns)):
        raise SchemaError("records need agency, person_id and record_id (or return_token)", table="records")
    recs = records.with_columns(pl.col("agency").cast(pl.String)).filter(pl.col("person_id").is_not_null())
    known_to = recs.group_by("person_id").agg(pl.col("agency").unique().sort().alias("known_to"))
    value = "return_token" if "return_token" in recs.columns else "record_id"
    extra = ["return_key_id"] if value == "return_token" and "return_key_id" in recs.columns else []
    member = [c for c in _MEMBER if c in recs.columns]
    # a person with several records at the agency: the latest extract's, then a fixed order
    latest = [pl.col("extract_date").fill_null(pl.date(1900, 1, 1))] if "extract_date" in recs.columns else []
    first = (recs.sort(["agency", "person_id", *latest, value], descending=[False, False, *[True] * len(latest), False])
             .unique(["agency", "person_id"], keep="first", maintain_order=True))
    # the contacting agency: the claim's if it holds a record of the person, else the first relay that does
    knows = pl.col("known_to").list
    contact = pl.when(knows.contains(pl.col("claim_agency"))).then(pl.col("claim_agency"))
    for agency in relay_order:
        contact = contact.when(knows.contains(pl.lit(agency))).then(pl.lit(agency))
    out = (out.join(known_to, left_on="claimant_id", right_on="person_id", how="left")
           .with_columns(pl.col("known_to").fill_null(pl.lit([], dtype=pl.List(pl.String))))
           .with_columns(contact.otherwise(pl.col("claim_agency")).alias("agency"))
           .join(first.select("agency", "person_id", value, *extra, *member), left_on=["agency", "claimant_id"],
                 right_on=["agency", "person_id"], how="left")
           .with_columns(*[pl.lit(None, dtype=t).alias(c) for c, t in _MEMBER.items() if c not in member]))
    if unit_members is not None and unit_members.height:
        # the dossier's parents before its children, then a fixed order: a rerun picks the same member
        order = [pl.col("record_role").replace_strict(_ROLE_ORDER, default=len(_ROLE_ORDER), return_dtype=pl.Int32)
                 ] if "record_role" in member else []
        theirs = (unit_members.join(first.select("agency", "person_id", value, *extra, *member), on="person_id")
                  .sort(["claimant_id", "agency", *order, "person_id"])
                  .unique(["claimant_id", "agency"], keep="first", maintain_order=True)
                  .select("claimant_id", "agency", *[pl.col(c).alias(f"_m_{c}") for c in (value, *extra, *member)]))
        none = pl.col(value).is_null() & (pl.col("known_to").list.len() == 0)
        out = (out.join(theirs, on=["claimant_id", "agency"], how="left")
               .with_columns(pl.when(none & pl.col(f"_m_{value}").is_not_null()).then(pl.col(f"_m_{c}"))
                             .otherwise(pl.col(c)).alias(c) for c in (value, *extra, *member))
               .drop([f"_m_{c}" for c in (value, *extra, *member)]))
    out = out.with_columns(pl.col(value).is_not_null().alias("has_record"))
    if value == "return_token":
        return out if extra else out.with_columns(pl.lit(None, dtype=pl.String).alias("return_key_id"))
    parts = []
    for (agency,), part in out.partition_by("agency", as_dict=True).items():
        key = (keys or {}).get(str(agency))
        if key is None:
            raise ConfigError(f"no return-token key for agency {agency}, which has people to contact")
        if key.agency != agency:
            raise PrivacyError(f"the return-token key given for agency {agency} belongs to agency {key.agency}")
        parts.append(issue_return_tokens(part, "record_id", key))
    if not parts:
        return out.drop("record_id").with_columns(pl.lit(None, dtype=pl.String).alias("return_token"),
                                                  pl.lit(None, dtype=pl.String).alias("return_key_id"))
    return pl.concat(parts, how="vertical_relaxed")


_ROLE_ORDER = {"demandeur": 0, "conjoint": 1}
"""Whose record stands for a claimant without one: a parent of the dossier first (any other member after)."""


def _ends_a_line(path: Path) -> bool:
    """Whether the file's last line ends (trailing blanks aside): its last bytes only, the list is read once."""
    with path.open("rb") as fh:
        fh.seek(max(path.stat().st_size - 64, 0))
        return fh.read().rstrip(b" \t").endswith(b"\n")


def open_outreach(path: str | Path, key: ReturnTokenKey, *, out_column: str = "record_id") -> pl.DataFrame:
    """An agency opens its own list (Parquet or the French CSV): ``record_id`` in place of ``return_token``.

    Refuses a list addressed to another agency, and a list none of whose tokens its key issued (PrivacyError
    naming the first row, never the token). A row whose token alone fails (a cell damaged by hand) is kept,
    ``record_id`` empty and the reason in ``token_error`` with the row's place: the other rows still open, and
    the rows out are the rows in. The CSV may come back as a French spreadsheet saved it (cp1252, no BOM).
    """
    path = Path(path)
    if path.suffix != ".parquet" and not _ends_a_line(path):
        # the writer and a spreadsheet end every line; a list cut short keeps its last row with cells cut off
        raise SchemaError("the list's last line has no line end: a file cut short (copy it again)", table=path.name)
    frame = pl.read_parquet(path) if path.suffix == ".parquet" else read_french_csv(path)
    for col in ("agency", "return_token"):
        if col not in frame.columns:
            raise SchemaError("not an outreach list", table=path.name, column=col)
    others = frame.filter(pl.col("agency") != key.agency).height
    if others:
        raise PrivacyError(f"{path.name}: {others} {'row is' if others == 1 else 'rows are'} addressed to another "
                           f"agency than {key.agency}")
    # where a bad token is, as the agency's team finds it: the CSV's line (its header is line 1), the Parquet's row
    locate = ((lambda i: f"{path.name}, row {i} (from 0), column return_token") if path.suffix == ".parquet"
              else (lambda i: f"{path.name}, line {i + 2}, column return_token"))
    opened = open_return_tokens(frame, "return_token", key, out=out_column, locate=locate, failures="token_error")
    if "has_record" in opened.columns:  # a row with a record whose token was emptied: not « no record », a failure
        held = pl.col("has_record").cast(pl.String).str.to_lowercase().is_in(["true", "oui"])
        emptied = held & (pl.col("return_token").is_null() | (pl.col("return_token").str.strip_chars() == ""))
        opened = opened.with_columns(pl.when(emptied & pl.col("token_error").is_null())
                                     .then(pl.lit("no token on a row that has a record (has_record)"))
                                     .otherwise(pl.col("token_error")).alias("token_error"))
    failed = opened.select(pl.col("token_error").is_not_null().arg_true()).to_series()
    if len(failed) and opened.get_column(out_column).is_not_null().sum() == 0:
        first = int(failed[0])
        raise PrivacyError(f"return token at {locate(first)}: {opened.item(first, 'token_error')}; "
                           f"no token of the list opens with agency {key.agency}'s key")
    if len(failed):  # the few rows that failed, named by ``locate`` as the refusal above names them
        reasons = opened.get_column("token_error").gather(failed).to_list()
        named = pl.Series([f"{locate(int(i))}: {r}" for i, r in zip(failed, reasons, strict=True)], dtype=pl.String)
        opened = opened.with_columns(opened.get_column("token_error").scatter(failed, named))
    return opened.select(out_column, pl.exclude(out_column, "return_token", "return_key_id"))

