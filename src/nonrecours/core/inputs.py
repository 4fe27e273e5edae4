"""From canonical tables to the rule engine's inputs for one month, and what is known of each value.

``build_month`` reads the workspace lazily (only the columns and months the rules need), reconciles units
(``core.units``), picks resources by configured source priority (``core.resources``), links households
into clusters (``core.clusters``) and returns a :class:`CoreMonth`: engine inputs carrying the central value
of every input, ``provenance`` (observed / estimated / unknown per entity, id and input; ``month`` null on
a monthly input means the kind holds for every month read) and ``unknowns`` (low / central / high and a
reason for every value no agency observed). Nothing is silently defaulted: the property tests check that
every input the rules read is accounted for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from nonrecours.core.clusters import clusters
from nonrecours.core.month import PROVENANCE_SCHEMA, UNKNOWNS_SCHEMA, CoreMonth
from nonrecours.core.resources import (
    CoreConfig,
    known_profit,
    lookback,
    month_range,
    monthly_resources,
    n2_resources,
    resource_windows,
)
from nonrecours.core.units import declarant_missing, dgfip_dwellings, people, qualified, reconcile, shared_dwellings
from nonrecours.errors import SchemaError
from nonrecours.rules.benefits.aide_logement import FERMETURE_ACCESSION, FIN_ANCIEN_ZONE_3
from nonrecours.rules.params import default_parameters
from nonrecours.schemas.benefits import CATALOGUE
from nonrecours.schemas.benefits import benefit as catalogue_row
from nonrecours.schemas.codes import (
    AGENCY_LABELS,
    FAMILY_BENEFITS_PAID,
    HOUSEHOLDER_ROLES,
    PARENT_ROLES,
    SHARED_RENTAL_STATUSES,
    agency_subject,
)
from nonrecours.schemas.months import add_months, month_index, month_index_expr
from nonrecours.schemas.tables import valid_on
from nonrecours.schemas.zonage import overseas_department, zone_apl_of

__all__ = ["BEHIND_MIN_PAYEES", "FAMILY_PAYMENTS", "FOLLOWS_NATIONALITY", "PAYMENT_INPUTS", "PERSON_PAYMENTS",
           "RECEIVED_INPUTS",
           "SETTING_INPUTS", "YOUNG_DEPENDANT_MISSING", "PopulationFacts", "build_inputs", "build_month",
           "earliest_reach", "famille_dossiers", "listings_reach", "monthly_bounds", "on_payee_famille",
           "payers_of", "payments_reach", "population_facts", "reach_month", "refuse_outside", "with_payments",
           "within_the_extracts"]

LEASE_KINDS = ("colocation", "chambre")
"""The housing record's kind of lease (schemas.tables.HOUSING): the rent is a colocataire's share, or the
dwelling let is a room; both lower the housing aid's rent ceiling."""
_LEASE_UNKNOWN = {
    "colocation": ("colocation inconnue (ménage inconnu de la CAF): logement non partagé retenu",
                   "colocation non renseignée pour ce locataire: logement non partagé retenu"),
    "chambre": ("location d'une chambre inconnue (ménage inconnu de la CAF): logement ordinaire retenu",
                "location d'une chambre non renseignée pour ce locataire: logement ordinaire retenu"),
}
NO_LOAN = dt.date(9999, 12, 31)
"""The rules' ``loan_date`` of a ménage without an accédant's loan (their declared default: no aid in accession)."""
_EPOCH = dt.date(1970, 1, 1)
_OLD_LOAN = float((FERMETURE_ACCESSION - dt.timedelta(days=1) - _EPOCH).days)
_NO_LOAN = float((NO_LOAN - _EPOCH).days)
"""An unknown loan date's ends, in days since 1970 (the unknowns' values are numbers; the date input casts them
back): a loan signed before the closure (the aid open) and no loan (no aid), the centre."""
FAMILY_PAYMENTS = ("af", "paje_base", "asf", "cf", "aide_logement", "aah", "aspa", "asi")
PAYMENT_INPUTS: dict[str, str] = {"af": "af", "paje_base": "paje_base", "asf": "asf", "cf": "cf_versee",
                                  "aide_logement": "aide_logement_versee", "aah": "aah_versee", "aspa": "aspa_versee",
                                  "asi": "asi_versee"}
"""Rule input holding each benefit paid to a famille (the housing aid and the AAH paid are distinct from the
``aide_logement`` and ``aah`` the rules compute; the AAH is paid per dossier, and the rules share it among the
members)."""
PERSON_PAYMENTS = ("aspa", "asi")
"""Benefits of ``PAYMENT_INPUTS`` their payers report per person (the CNAV's and the MSA's ASPA rows, the CPAM's
and the MSA's ASI rows: a ``person_id``, no famille unit): summed over the famille's members as it stands in the
month."""
RECEIVED_INPUTS: dict[str, str] = {"rsa": "rsa_percu"}
"""Rule input saying each benefit is received by a famille in a month, not how much: the housing aid's
neutralisation reads whether the RSA is « perçu » (CCH art. R822-17), and an agency that does not pay it reports
it received without an amount (``benefit_receipts``). True when a payer paid it (``benefits_paid``, amount > 0)
or an agency reports a member of the famille (as it stands in the evaluated month) receiving it."""
SETTING_INPUTS = ("rsa_subsidiarite",)
"""Rule inputs the core sets from its configuration (``CoreConfig.rsa_subsidiarity``), not from an extract: a way
of reading the law, never a fact of the person, nor data an agency could send."""
_INPUT_OF: dict[str, str] = {**PAYMENT_INPUTS, **RECEIVED_INPUTS}
_PAYMENT_COLUMNS = tuple(PAYMENT_INPUTS.values())
_PAID_KNOWN: dict[str, tuple[str, ...]] = {
    "prestations_versees_connues": FAMILY_BENEFITS_PAID,
    "aide_logement_versee_connue": ("aide_logement",),
    "aide_logement_du_mois_connue": ("aide_logement", *FAMILY_BENEFITS_PAID),  # the RSA reads both
    "aah_versee_connue": ("aah",),
    "aspa_versee_connue": ("aspa",),
    "asi_versee_connue": ("asi",),
    "cf_versee_connue": ("cf",),
    "rsa_percu_connu": ("rsa",),
}
"""Each famille flag the rules read (true: the benefit paid, false: the one they compute) → the benefits paid it
stands for: true only when a payer of each of them (the catalogue's ``payers``) sent its payments."""
_STATIC = ("age", "date_naissance", "student", "pregnant", "disability_rate", "nationality_group",
           "residence_permit_years")
_BIRTH = ("age", "date_naissance")
_HEALTH = ("student", "pregnant", "disability_rate")
"""Facts a persons row may leave null: an agency that does not hold them (the CNAV) gives no value."""
_HELD = ("rsdae", "unfit_for_work")
"""Facts only some agencies hold (RSDAE: the CAF from the MDPH decision; unfitness for work: the CNAV's
pension award): read from the persons row when it gives them, else unknown for whoever may have them."""
_HELD_UNSENT = {"rsdae": "aucune agence ne transmet la RSDAE de cette personne (décision de la MDPH, que la CAF "
                         "reçoit)",
                "unfit_for_work": "aucune agence ne transmet l'inaptitude au travail de cette personne (reconnue "
                                  "par la caisse de retraite, CNAV ou MSA)"}
"""Why each of :data:`_HELD` is unknown, one fact each: an unfitness the CNAV sends is no RSDAE (a tester's retiree
of 63 was told neither was sent, 6 December 2026)."""
FOLLOWS_NATIONALITY = ("residence_permit_years", "residence_condition_exempt", "ofpra_protection")
"""Inputs estimated from the person's nationality where no agency sends them (a French or EEA national needs no
permit nor exemption): the agency of such an estimate is the nationality's, or the birth place's where the
nationality itself is only estimated from it (born in France), and then no agency supplied either value."""
_UNKNOWN_BIRTH = dt.date(1800, 1, 1)
YOUNG_DEPENDANT_MISSING = ("un jeune adulte à charge fiscale du foyer manque au dossier: à la charge de la famille "
                           "ou famille à part, inconnu")
"""Reason of the composition unknown of a famille a young adult dependant of its declarants may be missing from:
detection caps only the benefits that can count such a person (``Benefit.young_dependant_age``)."""


def _age_at(m_idx: int, birth_month: pl.Expr) -> pl.Expr:
    """Age in whole years at the month of index ``m_idx`` (``schemas.months.month_index``) of a birth month (null:
    unknown)."""
    return (m_idx - month_index_expr(birth_month)) // 12


def _prov(df: pl.DataFrame, entity: str, idc: str, inputs: list[str], kind: pl.Expr, agency: pl.Expr,
          when: pl.Expr) -> pl.DataFrame:
    base = df.select(pl.lit(entity).alias("entity"), pl.col(idc).alias("id"),
                     pl.lit(None, dtype=pl.Date).alias("month"),
                     kind.alias("kind"), agency.cast(pl.String).alias("source_agency"),
                     when.cast(pl.Date).alias("source_month"))
    return base.join(pl.DataFrame({"input": inputs}), how="cross").select(list(PROVENANCE_SCHEMA))


def _unk(df: pl.DataFrame, entity: str, idc: str, inputs: list[str], low: pl.Expr | float | None,
         central: pl.Expr | float, high: pl.Expr | float | None, reason: str, informed: bool = False) -> pl.DataFrame:
    lo, c, hi = (v if isinstance(v, pl.Expr) else pl.lit(v, dtype=pl.Float64) for v in (low, central, high))
    base = df.select(pl.lit(entity).alias("entity"), pl.col(idc).alias("id"),
                     pl.lit(None, dtype=pl.Date).alias("month"),
                     lo.cast(pl.Float64).alias("low"), c.cast(pl.Float64).alias("central"),
                     hi.cast(pl.Float64).alias("high"), pl.lit(reason).alias("reason"),
                     pl.lit(informed).alias("informed"))
    return base.join(pl.DataFrame({"input": inputs}), how="cross").select(list(UNKNOWNS_SCHEMA))


@dataclass(frozen=True)
class PopulationFacts:
    """What ``build_month`` reads about the extracts as a whole rather than about a person: the same for every
    partition of a partitioned run (``core.partition``), so computed once over the whole population.

    ``aah_payers_sent``: an AAH payer (CAF, MSA) sent persons or memberships rows; ``paying_agencies``: the
    agencies ``benefits_paid`` names as payers (None without that table); ``resource_windows``: the months
    each agency's resource rows span (``core.resources.resource_windows``); ``truth``: the tables are the
    synthetic truth's (source ``synth``), which knows every payment, made or not."""

    aah_payers_sent: bool
    paying_agencies: tuple[str, ...] | None
    resource_windows: pl.DataFrame = field(repr=False)
    truth: bool = False
    payments_reach: dict[str, dt.date] = field(default_factory=dict)
    """``payments_reach``: the extracts of payments that stop before the month, and their last month."""
    listings_reach: dict[str, dt.date] = field(default_factory=dict)
    """``listings_reach``: the last month each agency's extract lists anyone in (``listings``, up to the month)."""
    payment_holes: dict[str, tuple[dt.date, ...]] = field(default_factory=dict)
    """``payment_holes``: the months an extract of payments lost (none of its rows, between months holding some)."""
    payment_benefits: dict[str, tuple[str, ...]] | None = None
    """``CoreConfig.payment_benefits``: the benefits whose payments each agency's extracts carry (``payers_of``)."""


def payers_of(benefit: str, agencies: Iterable[str], carried: Mapping[str, tuple[str, ...]] | None) -> set[str]:
    """The payers of ``benefit`` (the catalogue's ``payers``) among ``agencies`` whose extracts carry its payments
    (``carried``: ``CoreConfig.payment_benefits``; an agency it does not name carries every benefit it pays). A
    CPAM file without the ASI's column is no payer of the ASI: a famille it lists is not paid « no ASI »."""
    payers = catalogue_row(benefit).payers
    return {a for a in agencies if a in payers and (carried is None or a not in carried or benefit in carried[a])}


def listings_reach(listings: pl.LazyFrame | pl.DataFrame | None, month: dt.date) -> dict[str, dt.date]:
    """Agency → the last month, up to ``month``, its extract lists anyone in (``listings``): how far a file that
    lists its people every month reaches is a fact of the extract, read on the whole population (a part of a
    partitioned run holding only people it stopped listing would read its own, shorter reach)."""
    if listings is None:
        return {}
    rows = (listings.lazy().filter(pl.col("month") <= month)
            .group_by(pl.col("source_agency").cast(pl.String).alias("agency")).agg(pl.col("month").max())
            .collect(engine="streaming"))
    return dict(rows.iter_rows())


HOLE_MIN_PAYEES = 5
"""The fewest payees (dossiers or persons paid) the months on either side of a month an extract holds none of must
each hold for ``payment_holes`` to read that month as lost: every payee of a payer of a few familles being unpaid
the same month and paid again the next is as likely as a lost file; of five or more, it is not."""

BEHIND_MIN_PAYEES = HOLE_MIN_PAYEES
"""The fewest payees (dossiers or persons paid) an extract's last month must hold for ``payments_reach`` to read it
as a file behind: with fewer, every payee's payments having stopped before the month is as likely (a payer of a
few familles), and the month is read as before (what a file does not hold, not paid); of five or more all
stopping the same month, it is not (``HOLE_MIN_PAYEES``, the same judgement). Until 7 December 2026 it was 20
payments: an outside tester's CAF file of 28 September without September's payments (8 payees, every one paid to
August) read every payee as a non-take-up, a prime d'activité paid 150 € a month `certain` at 495.04 €."""


def _payees_by_month(benefits_paid: pl.LazyFrame | pl.DataFrame, month: dt.date) -> pl.DataFrame:
    """agency, month, len: the payees (dossiers or persons paid) of each extract's monthly benefits each month up to
    ``month``, by the streaming engine: what ``payments_reach`` and ``payment_holes`` judge, read once."""
    monthly = [b.code for b in CATALOGUE if not b.yearly]
    lf = benefits_paid.lazy() if isinstance(benefits_paid, pl.DataFrame) else benefits_paid
    return (lf.filter(pl.col("benefit").cast(pl.String).is_in(monthly) & (pl.col("month") <= month))
            .group_by(pl.col("source_agency").cast(pl.String).alias("agency"), "month")
            .agg(pl.struct("unit_id", "person_id").n_unique().alias("len"))
            .collect(engine="streaming").drop_nulls("agency"))


def payments_reach(benefits_paid: pl.LazyFrame | pl.DataFrame | None, month: dt.date, *,
                   counted: pl.DataFrame | None = None) -> dict[str, dt.date]:
    """source agency → the last month of its ``benefits_paid`` rows of a monthly benefit, for the extracts that stop
    before ``month`` with at least ``BEHIND_MIN_PAYEES`` payees in that month: a file behind (a payer's month is
    paid early the next one, so an extract made at its end may not hold it yet). Its payments of the months after
    are not in the file, not stopped: the core carries the last month's payments to them (``_famille_payments``),
    detection reads that month as the month's (``detection.receipts.paid_by_famille``). Read over the whole
    population (a partition must not read its own, shorter reach). Empty when every extract reaches the month.
    ``counted``: ``_payees_by_month`` of the same arguments, when already read."""
    if benefits_paid is None:
        return {}
    per_month = _payees_by_month(benefits_paid, month) if counted is None else counted
    last = per_month.sort("month").group_by("agency").agg(pl.col("month").last(), pl.col("len").last())
    return {a: m for a, m, n in last.sort("agency").iter_rows()
            if a is not None and m < month and n >= BEHIND_MIN_PAYEES}



def payment_holes(benefits_paid: pl.LazyFrame | pl.DataFrame | None, month: dt.date, *,
                  counted: pl.DataFrame | None = None) -> dict[str, tuple[dt.date, ...]]:
    """source agency → the months, up to ``month``, between two months its ``benefits_paid`` rows of a monthly
    benefit are of, of which it holds no row, the months on either side paying at least ``HOLE_MIN_PAYEES``
    each: a monthly file lost in transfer, not every payment stopped. Read as « paid nothing », the CAF's May
    lost made the family benefits and the AAH of the RSA's and the PPA's reference quarter 0: PPA amounts a third
    of a month's AF higher and an RSA certain for an AAH holder (an outside tester, 7 December 2026). The core
    carries each famille's payments of the month before to them (``_famille_payments``), as it carries a behind
    extract's last month; the run says so (``run._months_missing``). Read over the whole population.
    ``counted``: ``_payees_by_month`` of the same arguments, when already read."""
    if benefits_paid is None:
        return {}
    per_month = _payees_by_month(benefits_paid, month) if counted is None else counted
    out: dict[str, tuple[dt.date, ...]] = {}
    # one row per agency and month held (a few dozen): the gaps between consecutive months held
    gaps = (per_month.sort("agency", "month")
            .with_columns(pl.col("month").shift(-1).over("agency").alias("_next"),
                          pl.col("len").shift(-1).over("agency").alias("_next_len"))
            .filter(pl.col("_next").is_not_null() & (pl.col("_next") > pl.col("month").dt.offset_by("1mo"))
                    & (pl.col("len") >= HOLE_MIN_PAYEES) & (pl.col("_next_len") >= HOLE_MIN_PAYEES)))
    for agency, after, before in gaps.select("agency", "month", "_next").iter_rows():
        lost = month_range(add_months(before, -1), month_index(before) - month_index(after) - 2)
        out[agency] = (*out.get(agency, ()), *lost)
    return {a: tuple(sorted(m)) for a, m in sorted(out.items())}


def reach_month(reach: Mapping[str, dt.date] | None, month: dt.date, agency: pl.Expr) -> pl.Expr:
    """The month a payment row's extract (``agency``: its source agency) answers for as ``month``: its last month
    when ``payments_reach`` reads it as behind, else ``month`` itself. One expression for the core's carried
    payments and detection's reading of what was paid."""
    if not reach:
        return pl.lit(month, dtype=pl.Date)
    return agency.replace_strict(list(reach), list(reach.values()), default=pl.lit(month), return_dtype=pl.Date)


def earliest_reach(reach: Mapping[str, dt.date] | None, month: dt.date) -> dt.date:
    """The earliest month any extract answers for as ``month`` (``reach_month``): the last month of the extract
    furthest behind, else ``month``."""
    return min([month, *(reach or {}).values()])


def _sent_rows(lf: Mapping[str, pl.LazyFrame], agencies: Sequence[str], tables: Sequence[str]) -> bool:
    """Whether one of ``agencies`` sent a row of one of ``tables`` (the first row found ends the read)."""
    parts = [lf[t].filter(pl.col("source_agency").cast(pl.String).is_in(list(agencies))).select("person_id").head(1)
             for t in tables if t in lf]
    return bool(parts) and pl.concat(parts).collect(engine="streaming").height > 0


def population_facts(tables: Mapping[str, pl.DataFrame | pl.LazyFrame], month: dt.date, *,
                     config: CoreConfig | None = None, due: bool = False) -> PopulationFacts:
    """The facts of :class:`PopulationFacts` for ``month``, read from the (whole) tables by the streaming
    engine, so that memory does not follow the country's rows. A month outside the extracts is refused
    (``within_the_extracts``); ``due``: ``month`` is the month a yearly benefit's payment was due, read for a
    later evaluated month, and one before the extracts is that benefit not judged (``detection.detect``'s
    ``history_coverage``), not refused."""
    config = config or CoreConfig()
    lf = {k: (v.lazy() if isinstance(v, pl.DataFrame) else v) for k, v in tables.items()}
    depth = lookback(config, month)  # first: a month before the rules' earliest is refused as such (exit 5)
    within_the_extracts(lf, month, before=not due)
    sent = _sent_rows(lf, catalogue_row("aah").payers, ("persons", "unit_memberships"))
    paying = None
    if "benefits_paid" in lf:
        named = set(lf["benefits_paid"].select(pl.col("paying_agency").cast(pl.String)).unique()
                    .collect(engine="streaming").get_column("paying_agency").to_list())
        # an extract of payments paying no one: its agency paid none, if its extract is among the tables
        named |= {a for a in config.payment_extracts or () if a not in named
                  and _sent_rows(lf, (a,), ("persons", "unit_memberships", "resources"))}
        paying = tuple(sorted(named))
    synth = [lf[t].filter(pl.col("source_agency").cast(pl.String) == "synth").select("person_id").head(1)
             for t in ("persons", "unit_memberships") if t in lf]
    truth = bool(synth) and pl.concat(synth).collect(engine="streaming").height > 0
    paid = lf.get("benefits_paid")
    counted = None if paid is None else _payees_by_month(paid, month)  # the reach and the holes: one scan
    return PopulationFacts(sent, paying, resource_windows(lf, month, depth), truth,
                           payments_reach(paid, month, counted=counted), listings_reach(lf.get("listings"), month),
                           payment_holes(paid, month, counted=counted), config.payment_benefits)


def _monthly_rows(lf: Mapping[str, pl.LazyFrame]) -> list[pl.LazyFrame]:
    """The rows of the agencies reporting monthly: their payments (``benefits_paid``: of a monthly benefit where the
    table names its benefit) and resources but the DGFiP's yearly incomes; each with the columns it has of
    ``extract_date`` and ``month``."""
    monthly = [b.code for b in CATALOGUE if not b.yearly]
    parts = []
    for t in ("benefits_paid", "resources"):
        if t not in lf:
            continue
        names = lf[t].collect_schema().names()
        rows = lf[t].filter(pl.col("source_agency").cast(pl.String) != "dgfip")
        if t == "benefits_paid" and "benefit" in names:
            rows = rows.filter(pl.col("benefit").cast(pl.String).is_in(monthly))
        parts.append(rows.select(*(pl.col(c).cast(pl.Date) for c in ("extract_date", "month") if c in names)))
    return parts


def monthly_bounds(lf: Mapping[str, pl.LazyFrame]) -> tuple[dt.date | None, dt.date | None]:
    """The latest extract date and the first month of the rows of the agencies reporting monthly (``_monthly_rows``),
    None where no such row (or no such column) is."""
    parts = _monthly_rows(lf)
    if not parts:
        return None, None
    def bound(p: pl.LazyFrame, c: str) -> pl.Expr:
        if c not in p.collect_schema().names():
            return pl.lit(None, dtype=pl.Date).alias(c)
        return pl.col(c).max() if c == "extract_date" else pl.col(c).min()

    bounds = [p.select(bound(p, "extract_date"), bound(p, "month")) for p in parts]
    found = pl.concat(bounds).collect(engine="streaming")
    return found.get_column("extract_date").max(), found.get_column("month").min()  # type: ignore[return-value]


def within_the_extracts(lf: Mapping[str, pl.LazyFrame], month: dt.date, *, before: bool = True) -> None:
    """Refuse a month after the latest extract of the agencies reporting monthly (payments, and resources but the
    DGFiP's yearly incomes): no extract could report it, so every agency's silence there is no report yet, not a
    payment nor an income of none, and the core read it as none (a salaried person of June, extracts of 28 June, had
    no resources in July: a « certain » RSA). Read on the workspace's whole tables (a part of a partitioned run may
    hold nobody paid anything).

    ``before``: refuse too a month before the first month those rows are of (the earliest over every agency: a month
    some agency's monthly rows reach is evaluated, each agency's own window then judged by the core as it is), for
    the same reason: extracts holding June 2025 to June 2026 read 2025-05 as nobody paid and nobody earning (3,138
    flags against 758 in 2025-06, 258 RSA « certain », all false alarms: an outside tester, 6 December 2026). The
    reference months of the first month held (the RSA's three before, the CSS's twelve) do not refuse it: the core
    reads an extract's months before its first as unknown within the CSS's year (``core.resources``' months before
    the window), and detection judges no yearly benefit whose payments do not reach back to its month due."""
    refuse_outside(month, *monthly_bounds(lf), before=before)


def refuse_outside(month: dt.date, latest: dt.date | None, first: dt.date | None, *, before: bool = True,
                   sampled: bool = False) -> None:
    """``within_the_extracts``' refusal, from the latest extract date and the first month of the monthly rows
    (``monthly_bounds``); ``sampled``: the first month is read from ``nonrecours validate``'s samples of the extracts
    (their first records), said in the message."""
    if latest is not None and month > latest.replace(day=1):
        raise SchemaError(f"{month:%Y-%m} is after the latest monthly extract (dated {latest:%d/%m/%Y}): no agency "
                          "could report its payments and resources, which would be read as none; evaluate an earlier "
                          "month, or ingest the later extracts", table="benefits_paid")
    if before and first is not None and month < first:
        where = " in the records validate sampled" if sampled else ""
        raise SchemaError(f"{month:%Y-%m} is before the first month the monthly extracts hold ({first:%Y-%m}{where}): "
                          "no agency reports its payments and resources of that month, which would be read as none; "
                          "evaluate a later month, or ingest the earlier extracts", table="benefits_paid")


def _aah_payers_know(lf: Mapping[str, pl.LazyFrame], sent: bool) -> pl.Series | None:
    """person_id of everyone an AAH payer (the catalogue's ``payers`` of the AAH: CAF, MSA) lists in its
    persons or memberships rows; None when no such payer sent an extract (``sent``: then nobody's AAH is
    known)."""
    if not sent:
        return None
    payers = list(catalogue_row("aah").payers)
    parts = [lf[t].filter(pl.col("source_agency").cast(pl.String).is_in(payers)).select("person_id")
             for t in ("persons", "unit_memberships") if t in lf]
    return pl.concat(parts).unique().collect().get_column("person_id")


def _aah_paid_familles(lf: Mapping[str, pl.LazyFrame], month: dt.date, first: dt.date) -> pl.Series:
    """famille_id of the familles an AAH payer (CAF, MSA) paid the AAH to, on a famille row, in a month from
    ``first`` to ``month``: one of their adults has a disability rate giving the AAH (CSS art. L821-1, L821-2),
    whoever the payer's extract lists."""
    if "benefits_paid" not in lf:
        return pl.Series("famille_id", [], dtype=pl.String)
    payers = list(catalogue_row("aah").payers)
    return (lf["benefits_paid"]
            .filter((pl.col("unit_kind").cast(pl.String) == "famille") & (pl.col("benefit").cast(pl.String) == "aah")
                    & pl.col("paying_agency").cast(pl.String).is_in(payers)
                    & (pl.col("month") >= first) & (pl.col("month") <= month) & (pl.col("amount") > 0))
            .select(qualified("paying_agency", "unit_id", "source_agency").alias("famille_id")).unique()
            .collect().get_column("famille_id"))


def build_month(tables: Mapping[str, pl.DataFrame | pl.LazyFrame], month: dt.date, *,
                config: CoreConfig | None = None, facts: PopulationFacts | None = None,
                targets: Sequence[str] | None = None) -> CoreMonth:
    """Engine inputs for ``month`` and what is known of each value (see the module docstring).

    ``facts``: the population's facts (:func:`population_facts`) when ``tables`` hold one partition of it;
    by default read from ``tables``. ``targets``: rules evaluated on this month instead of ``config.targets``
    (detection's yearly benefits, at the month their payment was due): only the inputs they read by month are
    built, each over the look-back ``config.targets`` give it (at least theirs), so that its values are those of
    a core built for ``config.targets``: a month's value depends on the window its sources are read over (a file
    behind, a pension's trailing months; over the chèque énergie's own look-back, April alone, 30 of its units of
    France 100,000 changed)."""
    from nonrecours.engine import Inputs

    config = config or CoreConfig()
    if month.day != 1:
        raise SchemaError("the evaluated month must be the first day of a month", column="month")
    lf = {k: (v.lazy() if isinstance(v, pl.DataFrame) else v) for k, v in tables.items()}
    if "persons" not in lf and "unit_memberships" not in lf:
        raise SchemaError("table needed to build the rule inputs", table="persons")
    if facts is None:  # a yearly benefit's due month (``targets``) before the extracts is not refused
        facts = population_facts(lf, month, config=config, due=targets is not None)
    depth = lookback(config, month)
    if targets is not None:
        own = lookback(config.model_copy(update={"targets": tuple(targets)}), month)
        depth = {k: max(v, depth.get(k, 0)) for k, v in own.items()}
    window = max(depth.values(), default=0)
    m_idx = month.year * 12 + month.month - 1
    ids = people(lf)
    counts: dict[str, int] = {"persons_known": ids.height}

    # Static facts of each person from the preferred persons row.
    order = {a: i for i, a in enumerate(config.person_priority)}
    if "persons" in lf:
        have = lf["persons"].collect_schema().names()
        held = [pl.col(c).cast(pl.Boolean) if c in have else pl.lit(None, dtype=pl.Boolean).alias(c)
                for c in (*_HELD, "recent_isolation", "born_in_france", "birth_month_estimated")]
        ranked = (lf["persons"].select("person_id", "birth_month", pl.col("sex").cast(pl.String), "student",
                                       "pregnant", "disability_rate",
                                       pl.col("nationality_group").cast(pl.String), "residence_permit_years",
                                       "depcom", *held, pl.col("source_agency").cast(pl.String), "extract_date")
                  .with_columns(pl.col("source_agency").replace_strict(order, default=99, return_dtype=pl.Int32)
                                .alias("_o"))
                  .sort(["_o", "extract_date"], descending=[False, True], maintain_order=True)
                  .collect())  # read once: the preferred row, the facts that differ, the first nationality,
        # birth place and stated birth month below are each taken from it
        pers = ranked.unique(subset=["person_id"], keep="first", maintain_order=True).drop("_o")
        # Facts two agencies give differently, counted (the preferred agency's value is read, as documented): a
        # data team sees how often the CAF and France Travail disagree on a nationality (a naturalisation one of
        # them has not seen), or two agencies on a birth month or a commune (a move), which no grade shows
        stated_birth = pl.col("birth_month").filter(~pl.col("birth_month_estimated").fill_null(False))
        differ = (ranked.group_by("person_id")
                  .agg(*[(c.drop_nulls().n_unique() > 1).alias(name) for name, c in (
                      ("persons_nationality_differs", pl.col("nationality_group")),
                      ("persons_sex_differs", pl.col("sex")),
                      ("persons_birth_month_differs", stated_birth),
                      ("persons_commune_differs", pl.col("depcom")))])
                  .select(pl.exclude("person_id").sum()))
        counts.update({k: int(v) for k, v in differ.row(0, named=True).items()})
        # The preferred row may carry no nationality (the CNAM's, the DGFiP's): the first row that gives one
        # (France Travail's registration) supplies it, with its years of permit and its agency.
        nat = (ranked.filter(pl.col("nationality_group").is_not_null())
               .unique(subset=["person_id"], keep="first", maintain_order=True)
               .select("person_id", pl.col("nationality_group").alias("_nat"),
                       pl.col("residence_permit_years").alias("_nat_years"),
                       pl.col("source_agency").alias("_nat_source"), pl.col("extract_date").alias("_nat_date")))
        pers = pers.join(nat, on="person_id", how="left").with_columns(
            pl.coalesce("nationality_group", "_nat").alias("nationality_group"),
            pl.when(pl.col("nationality_group").is_null()).then(pl.col("_nat_years"))
            .otherwise(pl.col("residence_permit_years")).alias("residence_permit_years"),
            pl.when(pl.col("nationality_group").is_null()).then(pl.col("_nat_source"))
            .otherwise(pl.col("source_agency")).alias("_nat_source"),
            pl.when(pl.col("nationality_group").is_null()).then(pl.col("_nat_date"))
            .otherwise(pl.col("extract_date")).alias("_nat_date")).drop("_nat", "_nat_years")
        # The birth place read from the NIR at ingest (any agency's row: every one reads the same number), with
        # the agency and date of the row that gives it, for a nationality estimated from it.
        born = (ranked.filter(pl.col("born_in_france").is_not_null())
                .unique(subset=["person_id"], keep="first", maintain_order=True)
                .select("person_id", pl.col("born_in_france").alias("_born"),
                        pl.col("source_agency").alias("_born_source"), pl.col("extract_date").alias("_born_date")))
        pers = pers.drop("born_in_france").join(born, on="person_id", how="left")
        # A birth month some agency states beats the 31 December convention of another's year-only birth date
        # (``birth_month_estimated``: the CNAV's « 19610000 » beside the DGFiP's April 1961), whichever agency is
        # preferred for the other facts; with no month stated anywhere, December stays and the age is a range
        # (``_month_unknown``, below).
        stated = (ranked.filter(~pl.col("birth_month_estimated").fill_null(False))
                  .unique(subset=["person_id"], keep="first", maintain_order=True)
                  .select("person_id", pl.col("birth_month").alias("_stated")))
        pers = pers.join(stated, on="person_id", how="left").with_columns(
            pl.coalesce("_stated", "birth_month").alias("birth_month"),
            (pl.col("_stated").is_null() & pl.col("birth_month_estimated").fill_null(False)).alias("_month_unknown"),
        ).drop("_stated", "birth_month_estimated")
    else:
        pers = pl.DataFrame(schema={"person_id": pl.String, "birth_month": pl.Date, "sex": pl.String,
                                    "student": pl.Boolean,
                                    "pregnant": pl.Boolean, "disability_rate": pl.Float64,
                                    "nationality_group": pl.String, "residence_permit_years": pl.Int16,
                                    "depcom": pl.String, "rsdae": pl.Boolean, "unfit_for_work": pl.Boolean,
                                    "recent_isolation": pl.Boolean, "source_agency": pl.String,
                                    "extract_date": pl.Date, "_nat_source": pl.String, "_nat_date": pl.Date,
                                    "_born": pl.Boolean, "_born_source": pl.String, "_born_date": pl.Date,
                                    "_month_unknown": pl.Boolean})
    ind = ids.select("person_id").join(pers, on="person_id", how="left").with_columns(
        _age_at(m_idx, pl.col("birth_month")).alias("age"))
    unborn = ind.filter(pl.col("age") < 0).height
    ind = ind.filter(pl.col("age").is_null() | (pl.col("age") >= 0))
    counts["persons_not_born_yet"] = unborn

    # read once: the reconciliation, the couple test and the lease read them
    dwellings = dgfip_dwellings(lf, month)
    margin, share = config.rfr_unexplained
    missing = declarant_missing(lf, month, margin, share)
    units, conflicts, unit_source = reconcile(lf, ind.select("person_id"), month, window, config,
                                              ind.select("person_id", "age"), dwellings, missing)
    # who the famille's agency itself lists (a member the DGFiP added is not in its files: see ``followed``)
    listed = units.select("person_id", "famille_listed_by")
    listed_child = units.filter(pl.col("grown_child_of").is_not_null()).select("person_id", "grown_child_of")
    units = units.drop("famille_listed_by", "grown_child_of")
    counts["persons"] = units.height
    known = pl.col("source_agency").is_not_null()
    child = (pl.col("famille_role").eq("enfant") | pl.col("foyer_fiscal_role").eq("personne_a_charge")).fill_null(False)
    ind = units.join(ind, on="person_id", how="left").with_columns(
        pl.when(known).then(pl.col("age"))
        .when(child).then(pl.lit(config.child_age[1])).otherwise(pl.lit(config.adult_age[1])).alias("age"),
        # a birth month no agency states: no date the rules may read month by month, the age a range (below)
        pl.when(pl.col("_month_unknown").fill_null(False)).then(pl.lit(_UNKNOWN_BIRTH))
        .otherwise(pl.coalesce("birth_month", pl.lit(_UNKNOWN_BIRTH))).alias("date_naissance"),
        *[pl.col(c).is_null().alias(f"_no_{c}") for c in (*_HEALTH, *_HELD, "nationality_group")],
        pl.col("student").fill_null(False), pl.col("pregnant").fill_null(False),
        pl.col("disability_rate").fill_null(0.0),
        pl.col("nationality_group").fill_null("FR"),
        pl.col("residence_permit_years").cast(pl.Float64).fill_null(0.0),
        pl.col("rsdae").fill_null(False), pl.col("unfit_for_work").fill_null(False),
        pl.lit(False).alias("residence_condition_exempt"), pl.lit(False).alias("ofpra_protection"),
        pl.col("source_agency").alias("persons__source"))

    prov: list[pl.DataFrame] = []
    unk: list[pl.DataFrame] = []
    aah_known = _aah_payers_know(lf, facts.aah_payers_sent)
    obs_p = ind.filter(known)
    new_p = ind.filter(~known)
    counts["persons_without_person_row"] = new_p.height
    month_unknown = pl.col("_month_unknown").fill_null(False)
    # the age and birth date: observed, but for a birth month no agency states (an estimate: below)
    prov.append(_prov(obs_p, "individu", "person_id", list(_BIRTH),
                      pl.when(month_unknown).then(pl.lit("estimated")).otherwise(pl.lit("observed")),
                      pl.col("source_agency"), pl.col("extract_date").dt.truncate("1mo")))
    # A birth date every agency gives as a year alone: December is the civil-status convention (the person never
    # taken older than they can be), the age of a birth in January the other end (``UNFAVOURABLE_LOW``: the
    # conditions of age are met at the high end); the same at December, where both readings agree.
    year_only = obs_p.filter(month_unknown)
    counts["persons_birth_month_unknown"] = year_only.height
    unk.append(_unk(year_only, "individu", "person_id", ["age"], pl.col("age"), pl.col("age"),
                    _age_at(m_idx, pl.date(pl.col("birth_month").dt.year(), 1, 1)),
                    "mois de naissance non transmis, l'année seule (décembre retenu)"))
    # A persons row without nationality (the CNAM, the DGFiP send a birth month and a commune only): the
    # nationality and the years of residence permit are unknown, as for someone with no persons row.
    # A person born in France (the NIR's birth place, read at ingest) whom no agency gives a nationality is
    # estimated French, an estimate from data (informed): born in France, one is French at birth when a parent
    # was born in France too (Code civil art. 19-3) and becomes French at majority when residing in France with
    # five years of residence since the age of eleven (art. 21-7); a foreigner born and living in France holds a
    # residence title by then. Their years of permit and the exemptions follow, as for an observed French national.
    # Born abroad (or a birth place the number cannot tell): unknown, FR retenue by convention (uninformed).
    no_nat_any = obs_p.filter(pl.col("_no_nationality_group"))
    nat_est = no_nat_any.filter(pl.col("_born").fill_null(False))
    no_nat = no_nat_any.filter(~pl.col("_born").fill_null(False))
    counts["persons_nationality_from_birth_place"] = nat_est.height
    prov.append(_prov(obs_p.filter(~pl.col("_no_nationality_group")), "individu", "person_id",
                      ["nationality_group", "residence_permit_years"], pl.lit("observed"), pl.col("_nat_source"),
                      pl.col("_nat_date").dt.truncate("1mo")))
    prov.append(_prov(no_nat, "individu", "person_id", ["nationality_group", "residence_permit_years"],
                      pl.lit("unknown"), pl.lit(None), pl.lit(None)))
    unk.append(_unk(no_nat, "individu", "person_id", ["nationality_group"], None, None, None,
                    "nationalité non transmise par l'agence qui connaît la personne (FR retenue)"))
    unk.append(_unk(no_nat, "individu", "person_id", ["residence_permit_years"], 0.0, 0.0, 10.0,
                    "titre de séjour non transmis par l'agence qui connaît la personne"))
    prov.append(_prov(nat_est, "individu", "person_id", ["nationality_group"], pl.lit("unknown"), pl.lit(None),
                      pl.lit(None)))
    prov.append(_prov(nat_est, "individu", "person_id", ["residence_permit_years"], pl.lit("estimated"),
                      pl.col("_born_source"), pl.col("_born_date").dt.truncate("1mo")))
    unk.append(_unk(nat_est, "individu", "person_id", ["nationality_group"], None, None, None,
                    "nationalité non transmise: française estimée, la personne étant née en France (lieu de "
                    "naissance du NIR; Code civil art. 19-3 et 21-7)", informed=True))
    # A persons row from an agency that does not hold a fact (the CNAV: studies, pregnancy, disability) leaves it
    # null: unknown, never the row's invented default.
    for c in _HEALTH:
        prov.append(_prov(obs_p, "individu", "person_id", [c],
                          pl.when(pl.col(f"_no_{c}")).then(pl.lit("unknown")).otherwise(pl.lit("observed")),
                          pl.when(pl.col(f"_no_{c}")).then(pl.lit(None)).otherwise(pl.col("source_agency")),
                          pl.when(pl.col(f"_no_{c}")).then(pl.lit(None))
                          .otherwise(pl.col("extract_date").dt.truncate("1mo"))))
    held = "personne connue d'agences qui ne transmettent pas {}"
    # Studies no agency transmits: unknown below ``config.student_age``; from that age an estimate from data
    # (informed): some 3 % of people are still in education at 29 in France (INSEE, France, portrait social).
    no_student = obs_p.filter(pl.col("_no_student"))
    grown = pl.col("age") >= config.student_age
    unk.append(_unk(no_student.filter(~grown), "individu", "person_id", ["student"], 0.0, 0.0, 1.0,
                    held.format("la situation d'étudiant")))
    unk.append(_unk(no_student.filter(grown), "individu", "person_id", ["student"], 0.0, 0.0, 1.0,
                    held.format("la situation d'étudiant")
                    + f" (non étudiante estimée à {config.student_age} ans ou plus: à 29 ans, environ 3 % des "
                    "jeunes sont encore en études, INSEE)",
                    informed=True))
    counts["persons_not_student_from_age"] = no_student.filter(grown).height
    of_age = pl.col("age").is_between(*config.pregnancy_ages, closed="left").fill_null(True)
    no_pregnant = obs_p.filter(pl.col("_no_pregnant") & pl.col("sex").fill_null("F").eq("F"))
    unk.append(_unk(no_pregnant.filter(of_age), "individu", "person_id", ["pregnant"], 0.0, 0.0, 1.0,
                    held.format("la grossesse")))
    counts["persons_not_pregnant_from_age"] = no_pregnant.filter(~of_age).height
    # A disability rate no agency transmits, for someone no AAH payer (CAF, MSA) whose extract came knows: the
    # payer lists every person of the familles it pays, so no AAH is paid to them. A rate of 80 % or more (or
    # 50 % with RSDAE) would give an AAH that counts as a resource of RSA, PPA and CSS; with none paid, the
    # central 0 is an estimate from data (informed), not a convention (CSS art. L821-1, L821-2).
    # Unless an AAH payer pays the AAH to the famille the core placed the person in (a partner the payer's extract
    # lost, found on the DGFiP's joint declaration): then the AAH may be theirs, and the rate is unknown, as for
    # someone a payer knows (the central 0 a convention).
    aah_seen = pl.col("person_id").is_in(aah_known.implode()) if aah_known is not None else pl.lit(True)
    aah_paid = _aah_paid_familles(lf, month, month_range(month, window)[0])
    paid_unseen = pl.col("famille_id").is_in(aah_paid.implode()).fill_null(False) & ~aah_seen
    counts["persons_rate_unknown_in_famille_paid_aah"] = ind.filter(
        pl.col("_no_disability_rate") & paid_unseen).height
    no_aah = "aucune AAH versée par la CAF ou la MSA, qui ne connaissent pas cette personne"
    paid_aah = "AAH versée au foyer par la CAF ou la MSA, dont l'extrait ne liste pas cette personne"
    no_rate = obs_p.filter(pl.col("_no_disability_rate"))
    unk.append(_unk(no_rate.filter(aah_seen), "individu", "person_id", ["disability_rate"],
                    0.0, 0.0, 1.0, held.format("le taux d'incapacité")))
    unk.append(_unk(no_rate.filter(paid_unseen), "individu", "person_id", ["disability_rate"],
                    0.0, 0.0, 1.0, held.format("le taux d'incapacité") + f" ({paid_aah})"))
    unk.append(_unk(no_rate.filter(~aah_seen & ~paid_unseen), "individu", "person_id", ["disability_rate"],
                    0.0, 0.0, 1.0, held.format("le taux d'incapacité") + f" ({no_aah})", informed=True))
    prov.append(_prov(new_p, "individu", "person_id", list(_STATIC), pl.lit("unknown"), pl.lit(None), pl.lit(None)))
    reason = "personne connue d'une agence qui ne transmet pas {}"
    kids, adults = new_p.filter(child), new_p.filter(~child)
    unk.append(_unk(kids, "individu", "person_id", ["age"], float(config.child_age[0]),
                    float(config.child_age[1]), float(config.child_age[2]), reason.format("la date de naissance")))
    unk.append(_unk(adults, "individu", "person_id", ["age"], float(config.adult_age[0]),
                    float(config.adult_age[1]), float(config.adult_age[2]), reason.format("la date de naissance")))
    unk.append(_unk(new_p, "individu", "person_id", ["date_naissance"], None, None, None,
                    reason.format("la date de naissance (l'âge central vaut pour tous les mois)")))
    unk.append(_unk(new_p, "individu", "person_id", ["student", "pregnant"], 0.0, 0.0, 1.0,
                    reason.format("la situation d'étudiante ou de grossesse")))
    unk.append(_unk(new_p.filter(aah_seen), "individu", "person_id", ["disability_rate"], 0.0, 0.0, 1.0,
                    reason.format("le taux d'incapacité")))
    unk.append(_unk(new_p.filter(paid_unseen), "individu", "person_id", ["disability_rate"], 0.0, 0.0, 1.0,
                    reason.format("le taux d'incapacité") + f" ({paid_aah})"))
    unk.append(_unk(new_p.filter(~aah_seen & ~paid_unseen), "individu", "person_id", ["disability_rate"], 0.0, 0.0, 1.0,
                    reason.format("le taux d'incapacité") + f" ({no_aah})", informed=True))
    unk.append(_unk(new_p, "individu", "person_id", ["nationality_group"], None, None, None,
                    reason.format("la nationalité (FR retenue)")))
    unk.append(_unk(new_p, "individu", "person_id", ["residence_permit_years"], 0.0, 0.0, 10.0,
                    reason.format("le titre de séjour")))
    # RSDAE (the CAF, from the MDPH decision) and unfitness for work (the CNAV's pension award): observed when
    # the persons row gives them. Otherwise a recognised disability makes them possible, and so does a
    # disability no agency transmits: unknown; a person whose agency gives no disability is estimated without.
    maybe = (pl.col("disability_rate") > 0) | pl.col("_no_disability_rate") | ~known
    for c in _HELD:
        seen = known & ~pl.col(f"_no_{c}")
        prov.append(_prov(ind.filter(seen), "individu", "person_id", [c], pl.lit("observed"),
                          pl.col("source_agency"), pl.col("extract_date").dt.truncate("1mo")))
        rest = ind.filter(~seen)
        unk.append(_unk(rest.filter(maybe), "individu", "person_id", [c], 0.0, 0.0, 1.0, _HELD_UNSENT[c]))
        prov.append(_prov(rest.filter(maybe), "individu", "person_id", [c], pl.lit("unknown"), pl.lit(None),
                          pl.lit(None)))
        prov.append(_prov(rest.filter(~maybe), "individu", "person_id", [c], pl.lit("estimated"),
                          pl.col("source_agency"), pl.col("extract_date").dt.truncate("1mo")))
    # A foreign national with no years of permit (non-EEA) or of residence (EEA, Swiss: CASF art. L262-6) given:
    # unknown residence, never zero years.
    noperm = obs_p.filter(pl.col("nationality_group").is_in(["OTHER", "EEA_CH"])
                          & pl.col("residence_permit_years").eq(0.0))
    unk.append(_unk(noperm, "individu", "person_id", ["residence_permit_years"], 0.0, 0.0, 10.0,
                    "années de titre de séjour (hors EEE) ou de résidence (EEE, Suisse) non transmises"))
    # Refugee, subsidiary protection, stateless person, carte de résident (CASF art. L262-4, 2°; CSS art. L842-2,
    # 2°), and the first three alone (CSS art. L816-1, ASPA/ASI): no extract carries them (préfecture, OFPRA);
    # they matter for a non-EEA national (or unknown nationality).
    foreign_or_unknown = ((pl.col("nationality_group") == "OTHER")
                          | (pl.col("_no_nationality_group") & ~pl.col("_born").fill_null(False)))
    exempt_open = pl.concat([obs_p.filter(foreign_or_unknown), new_p])
    for col, what in (("residence_condition_exempt",
                       "statut de réfugié, protection subsidiaire, apatridie ou carte de résident non transmis"),
                      ("ofpra_protection", "statut de réfugié, protection subsidiaire ou apatridie non transmis")):
        prov.append(_prov(exempt_open, "individu", "person_id", [col], pl.lit("unknown"), pl.lit(None),
                          pl.lit(None)))
        unk.append(_unk(exempt_open, "individu", "person_id", [col], 0.0, 0.0, 1.0, what))
        # estimated from the nationality: the agency (and month) that sent the nationality, not the persons row's
        prov.append(_prov(obs_p.filter(~foreign_or_unknown), "individu", "person_id", [col], pl.lit("estimated"),
                          pl.coalesce("_nat_source", "_born_source"),
                          pl.coalesce("_nat_date", "_born_date").dt.truncate("1mo")))

    # Monthly resources and the DGFiP's year N-2.
    fam_src = unit_source.filter(pl.col("entity") == "famille").select(
        pl.col("id").alias("famille_id"), pl.col("source_agency").alias("followed_by"))
    # an agency following a famille declares the resources of the members it lists, not of one the core added
    # from the DGFiP (a spouse, a partner, a parent whose row it lost): its silence on them is not a zero
    followed = (units.select("person_id", "famille_id").join(fam_src, on="famille_id", how="inner")
                .join(listed, on="person_id", how="left")
                .filter(pl.col("followed_by").is_in(list(config.followers))
                        & (pl.col("famille_listed_by") == pl.col("followed_by")).fill_null(False))
                .select("person_id", "followed_by"))
    if "persons" in lf:
        funds = (lf["persons"].filter(pl.col("source_agency").cast(pl.String).is_in(list(config.pension_funds)))
                 .select("person_id", pl.col("source_agency").cast(pl.String).alias("pension_fund"))
                 .unique(subset=["person_id"], keep="first").collect())
    else:
        funds = pl.DataFrame(schema={"person_id": pl.String, "pension_fund": pl.String})
    # the age an agency gives (the central age of someone none dates is a convention, no ground for an estimate)
    who = (ind.select("person_id", pl.when(known).then(pl.col("age")).alias("age"))
           .join(followed, on="person_id", how="left").join(funds, on="person_id", how="left"))
    monthly, p_m, u_m = monthly_resources(lf, who, month, depth, config, facts.resource_windows)
    # estimated nil from the age: an informed unknown of a person no source covers (the DGFiP's estimates are
    # informed too, but their provenance is « estimated »)
    alimony = pl.col("input") == "alimony_received"
    counts["persons_no_alimony_from_age"] = u_m.filter(alimony & pl.col("informed") & pl.col("month").is_null()).join(
        p_m.filter(alimony & (pl.col("kind") == "unknown")), on=["id", "input"], how="semi").height
    invalidity = (pl.col("input") == "invalidity_pension") & pl.col("informed") & (pl.col("high") == 0.0)
    counts["persons_no_invalidity_pension_from_age"] = u_m.filter(invalidity & pl.col("month").is_null()).join(
        p_m.filter(pl.col("kind") == "unknown"), on=["id", "input"], how="semi").height
    births = ind.select("person_id", "birth_month", "source_agency", "extract_date")
    n2, p_n2, u_n2 = n2_resources(lf, who, month, depth, config, births=births)
    profit, p_pr, u_pr = known_profit(lf, who, month, depth, config, births=births)
    prov += [p_m, p_n2, p_pr]
    unk += [u_m, u_n2, u_pr]
    for part in (n2, profit):
        if part is not None:
            monthly = part if monthly is None else monthly.join(part, on=["person_id", "month"], how="full",
                                                                coalesce=True)
    if monthly is None:
        monthly = pl.DataFrame(schema={"person_id": pl.String, "month": pl.Date})
    for name, dtype in (*[(n, pl.Float64) for n in depth if n != "revenus_n2_renseignes"
                          and ind.schema.get(n) is None], ("revenus_n2_renseignes", pl.Boolean)):
        if name not in monthly.columns and name in depth:
            monthly = monthly.with_columns(pl.lit(None, dtype=dtype).alias(name))
    monthly = monthly.with_columns([pl.col(n).fill_null(False if n == "revenus_n2_renseignes" else 0.0)
                                    for n in depth if n in monthly.columns and n not in _PAYMENT_COLUMNS])
    monthly = monthly.drop([n for n in _PAYMENT_COLUMNS if n in monthly.columns])

    # Famille: couple kind, hosting, payments.
    heads = ind.filter(pl.col("famille_role").is_in(["demandeur", "conjoint"]))
    famille = heads.group_by("famille_id").agg(
        pl.len().alias("_parents"),
        pl.col("foyer_fiscal_id").n_unique().alias("_foyers"),
        pl.col("foyer_fiscal_id").null_count().alias("_no_foyer"),
        pl.col("menage_role").filter(pl.col("famille_role") == "demandeur").first().alias("_head_menage_role"),
        (pl.col("famille_role") == "demandeur").any().not_().alias("_no_demandeur"),
        pl.col("recent_isolation").filter(pl.col("famille_role") == "demandeur").first().alias("_isolation"),
        pl.col("persons__source").filter(pl.col("famille_role") == "demandeur").first().alias("_isolation_src"),
    ).select(
        "famille_id", "_no_demandeur", "_isolation", "_isolation_src",
        pl.when(pl.col("_parents") < 2).then(pl.lit(""))
        .when((pl.col("_foyers") == 1) & (pl.col("_no_foyer") == 0)).then(pl.lit("married"))
        .otherwise(pl.lit("cohabiting")).alias("couple_kind"),
        # a couple is not isolated; a single person's recent isolation comes from the demandeur's row (CAF)
        (pl.col("_isolation").fill_null(False) & (pl.col("_parents") < 2)).alias("recent_isolation"),
        (~pl.col("_head_menage_role").is_in(HOUSEHOLDER_ROLES)).fill_null(False)
        .alias("hosted_free_of_charge"),
    )
    src_f = unit_source.filter(pl.col("entity") == "famille").select(pl.col("id").alias("famille_id"),
                                                                     "source_agency", "extract_date")
    famille = famille.join(src_f, on="famille_id", how="left")
    stale_before = month_range(month, config.stale_months)[0]
    stale = pl.col("extract_date") < stale_before
    fresh = famille.filter(pl.col("source_agency").is_not_null() & ~stale)
    old = famille.filter(pl.col("source_agency").is_not_null() & stale)
    built = famille.filter(pl.col("source_agency").is_null())
    counts["familles"] = famille.height
    counts["familles_stale_composition"] = old.height
    counts["familles_built"] = built.height
    comp = ["couple_kind", "hosted_free_of_charge"]
    fresh_prov = len(prov)
    prov.append(_prov(fresh, "famille", "famille_id", comp, pl.lit("observed"), pl.col("source_agency"),
                      pl.col("extract_date").dt.truncate("1mo")))
    prov.append(_prov(pl.concat([old, built]), "famille", "famille_id", ["hosted_free_of_charge"], pl.lit("unknown"),
                      pl.lit(None), pl.lit(None)))
    # The couple: no input value can stand for a partner the extracts do not show (the number of parents
    # comes from the memberships), so its unknown carries no range: it marks the famille, and detection
    # caps its grade at "possible" (COMPOSITION_UNKNOWN). A reconstituted famille with two declarants of one
    # tax foyer is a couple the DGFiP knows (married or PACS); a single declarant may live with a partner.
    built_single = built.filter(pl.col("couple_kind") == "")
    # A single declarant the DGFiP places in a dwelling (the occupants declared for the local: an unmarried
    # partner files a declaration of their own, so shows as another foyer there) where no other adult lives
    # without a partner: nobody there could be the partner. The couple stays unknown (the occupancy may be out
    # of date), but single is an estimate from what the DGFiP sent (informed), not a convention.
    men_src = unit_source.filter((pl.col("entity") == "menage") & pl.col("source_agency").is_not_null()).select(
        pl.col("id").alias("menage_id"), pl.col("source_agency").alias("_msrc"))
    # Who could be the partner: an adult of another famille living without a partner, whom the DGFiP declares in
    # the same dwelling, of an age within ``partner_age_gap`` years. Counted per dwelling the DGFiP declares, not
    # per ménage the core gave the famille: a partner a family agency follows has that agency's ménage (counted
    # per core ménage until 29 November 2026, such a partner was invisible here).
    single_ids = famille.filter(pl.col("couple_kind") == "").select("famille_id")
    single_heads = (ind.filter((pl.col("famille_role") == "demandeur") & (pl.col("age") >= 18))
                    .join(single_ids, on="famille_id", how="semi").select("famille_id", "age", "person_id")
                    .join(dwellings, on="person_id", how="inner"))
    others = single_heads.select(pl.col("famille_id").alias("_other"), pl.col("age").alias("_age"), "_loc")
    pairs = (single_heads.join(others, on="_loc")
             .filter((pl.col("_other") != pl.col("famille_id"))
                     & ((pl.col("age") - pl.col("_age")).abs() < config.partner_age_gap)))
    # Two dossiers a family agency follows, each single and each a colocataire by its housing record, are the
    # agency's declared colocation: each adult heads a dossier of their own (neither is a partner row lost from
    # the other's), and the agency that examined both situations records them sharing a dwelling, not living
    # as a couple. Neither is the other's suspected partner.
    housing = _housing_of_month(lf, month, config)
    coloc = _colocataire_dossiers(housing, fresh, heads)
    coloc_pair = (pl.col("famille_id").is_in(coloc.implode()) & pl.col("_other").is_in(coloc.implode()))
    counts["familles_single_sharing_dwelling_colocataires"] = (
        pairs.filter(coloc_pair).select("famille_id").unique()
        .join(pairs.filter(~coloc_pair).select("famille_id"), on="famille_id", how="anti").height)
    shares = pairs.filter(~coloc_pair).select("famille_id").unique()
    # ... or an adult heading a foyer there whose DGFiP line was quarantined for an unusable NIR: someone lives
    # there the core cannot see, of an age within the gap or unknown (not the head's own line: its NIR one slip
    # from the head's). Counted apart.
    unseen_share = (single_heads.join(_unseen_dwelling_adults(lf, month), on="_loc", how="inner")
                    .filter(((_age_at(m_idx, pl.col("_birth")) - pl.col("age")).abs()
                             < config.partner_age_gap).fill_null(True)
                            & ~pl.col("_neighbours").list.contains(pl.col("person_id")).fill_null(False))
                    .select("famille_id").unique())
    counts["familles_single_dwelling_adult_unidentified"] = unseen_share.join(shares, on="famille_id",
                                                                              how="anti").height
    shares = pl.concat([shares, unseen_share]).unique()
    alone = (built_single.select("famille_id")
             .join(heads.filter(pl.col("famille_role") == "demandeur").select("famille_id", "menage_id"),
                   on="famille_id", how="inner")
             .join(men_src, on="menage_id", how="inner").filter(pl.col("_msrc").eq("dgfip"))
             .join(shares, on="famille_id", how="anti")
             .select("famille_id").unique())
    # A declarant whose joint declaration shows a second declarant the extract lacks (a DEC2 without its DEC1, or
    # an RFR its persons' incomes do not explain) lives in couple as far as the DGFiP knows: not single.
    partner_lost = (ind.filter(pl.col("famille_role") == "demandeur")
                    .join(missing, on="person_id", how="semi")
                    .select("famille_id").join(built_single, on="famille_id", how="semi").unique())
    alone = alone.join(partner_lost, on="famille_id", how="anti")
    counts["familles_declarant_missing"] = partner_lost.height
    # A young adult the DGFiP declares as a dependant of a foyer (18 to the age limit of CASF R262-3 and CSS
    # R861-2) whom no family agency lists: whether they are at the charge of the declarants' famille (RSA, PPA,
    # CSS: persons under 25 at the effective and permanent charge; for the CSS, fiscal attachment is one of the
    # tests) or a foyer of their own (a young worker may claim the prime d'activité alone, attached or not), no
    # data says. No member is moved: the famille built for the dependant (step 4 of core.units) and the
    # declarants' famille (the paying agency's as it lists it, or the one built from the DGFiP) keep theirs,
    # and the composition of both is an unknown that caps their grade (COMPOSITION_UNKNOWN, uninformed).
    dep_age = default_parameters().bind("minima_sociaux.rsa.age_pac", month).value
    young = (ind.filter((pl.col("foyer_fiscal_role") == "personne_a_charge") & (pl.col("famille_role") == "demandeur")
                        & (pl.col("age") >= 18) & (pl.col("age") < dep_age))
             .join(built.select("famille_id"), on="famille_id", how="semi"))
    dependant = young.select("famille_id").unique()
    hosting = (ind.filter(pl.col("foyer_fiscal_role") == "declarant")
               .join(young.select("foyer_fiscal_id").unique(), on="foyer_fiscal_id", how="semi")
               .select("famille_id").unique().join(dependant, on="famille_id", how="anti"))
    counts["familles_of_adult_dependant"] = dependant.height
    counts["familles_hosting_adult_dependant"] = hosting.height
    alone = alone.join(pl.concat([dependant, hosting]), on="famille_id", how="anti")
    counts["familles_single_from_dwelling"] = alone.height
    prov.append(_prov(alone, "famille", "famille_id", ["couple_kind"], pl.lit("estimated"), pl.lit("dgfip"),
                      pl.lit(None)))
    built_single = built_single.join(alone, on="famille_id", how="anti")
    prov.append(_prov(pl.concat([old, built_single]), "famille", "famille_id", ["couple_kind"], pl.lit("unknown"),
                      pl.lit(None), pl.lit(None)))
    built_single = built_single.join(dependant, on="famille_id", how="anti")  # one unknown each: the dependant's
    partner_lost = partner_lost.join(dependant, on="famille_id", how="anti")
    built_single = built_single.join(partner_lost, on="famille_id", how="anti")
    prov.append(_prov(built.filter(pl.col("couple_kind") != ""), "famille", "famille_id",
                      ["couple_kind"], pl.lit("estimated"), pl.lit("dgfip"), pl.lit(None)))
    # a famille whose agency lists no demandeur (the allocataire's row was lost) is incomplete
    no_head = famille.filter(pl.col("_no_demandeur") & pl.col("source_agency").is_not_null())
    counts["familles_without_demandeur"] = no_head.height
    unk.append(_unk(no_head, "famille", "famille_id", ["couple_kind"], None, None, None,
                    "l'allocataire du dossier manque à l'extrait: composition incomplète"))
    unk.append(_unk(old, "famille", "famille_id", ["couple_kind"], None, None, None,
                    f"composition du foyer transmise il y a plus de {config.stale_months} mois"))
    # a child a family agency lists in another dossier at the age limit or above heads a famille the core built
    # (core.units): the agency knows them, only not whether they live as a couple
    of_dossier = (ind.filter(pl.col("famille_role") == "demandeur").select("famille_id", "person_id")
                  .join(built_single.select("famille_id"), on="famille_id", how="semi")
                  .join(listed_child, on="person_id", how="inner"))
    unk.append(_unk(built_single.join(of_dossier, on="famille_id", how="anti"), "famille", "famille_id",
                    ["couple_kind"], None, None, None,
                    "composition reconstituée (personne inconnue des CAF et MSA): vie en couple inconnue"))
    for agency in of_dossier.get_column("grown_child_of").unique().sort():  # the family agencies: two at most
        unk.append(_unk(of_dossier.filter(pl.col("grown_child_of") == agency), "famille", "famille_id",
                        ["couple_kind"], None, None, None,
                        f"composition reconstituée: personne listée par {agency_subject(agency)} comme enfant d'un "
                        f"autre dossier, à {int(dep_age)} ans ou plus évaluée dans sa propre famille: vie en couple "
                        "inconnue"))
    unk.append(_unk(partner_lost, "famille", "famille_id", ["couple_kind"], None, None, None,
                    "déclaration commune à la DGFiP dont l'autre déclarant manque à l'extrait: vie en couple "
                    "probable, conjoint inconnu"))
    unk.append(_unk(alone, "famille", "famille_id", ["couple_kind"], None, None, None,
                    "composition reconstituée: seul adulte sans conjoint du logement déclaré à la DGFiP "
                    "(vie en couple estimée: non)", informed=True))
    unk.append(_unk(dependant, "famille", "famille_id", ["couple_kind"], None, None, None,
                    "personne à charge fiscale d'un autre foyer, inconnue des CAF et MSA: à la charge de ce foyer "
                    "ou famille à part, inconnu"))
    # A famille a family agency or pension fund follows as single (its dossier lists no partner) whose adult the
    # DGFiP declares in a dwelling where another adult living without a partner is declared, with a foyer of
    # their own: an unmarried partner files their own declaration (the reason a lone built declarant there is
    # not taken as single, above), and a dossier may lack a partner (a row lost to the extract, an NIR that
    # failed). The isolation the benefits of a single parent require (CSS art. L523-1 ASF, CASF art. L262-9
    # RSA majoré; and a couple's resources for every other) is then unknown, uninformed: possible at most.
    # Not when the agency's row records a recent isolation (the CAF's « isolement récent »: a separation or a
    # death it knows of, within eighteen months): the DGFiP's dwelling is that of the 1st January after the
    # declared year, most often the couple's before it parted (the flag carries no date: an isolation older than
    # that 1st January, its dwelling then the parted one, is read the same way, an approximation).
    cohabit = (fresh.filter((pl.col("couple_kind") == "") & ~pl.col("_isolation").fill_null(False))
               .select("famille_id").join(shares, on="famille_id", how="semi"))
    # A famille the agency's dossier shows with an adult (demandeur or conjoint) whose line was quarantined for
    # an unusable NIR (``schemas.tables.UNIDENTIFIED_MEMBERS``): the dossier has that member, the core cannot see
    # them, so a famille it reads as single may be a couple (CSS art. L523-1, CASF art. L262-9: isolation is a
    # condition, not a default). Its couple is unknown, uninformed: possible at most; counted.
    unseen = _unseen_adults(lf, month)
    unseen_adult = (famille.filter(pl.col("couple_kind") == "").select("famille_id")
                    .join(unseen, on="famille_id", how="semi")
                    .join(pl.concat([old.select("famille_id"), built_single.select("famille_id"),
                                     no_head.select("famille_id"), cohabit]), on="famille_id", how="anti"))
    # A famille an agency follows as single whose demandeur the DGFiP shows in couple: a declarant of a joint
    # declaration whose other declarant the extract lacks (``declarant_missing``: the DEC2 alone, or an RFR its
    # persons' incomes do not explain). The dossier and the declaration disagree on the couple, and a couple
    # separated during a year files apart for it (CGI art. 6, 5): the dossier may have lost its conjoint (a row
    # lost to the extract), its single status may be out of date, or the foyer holds income no person's row
    # carries. Isolation being a condition (CSS art. L523-1, CASF art. L262-9) and a couple's resources the
    # others', the couple is unknown, uninformed, possible at most; not when the agency's row records a recent
    # isolation (the separation is known, after the declared year).
    joint = (fresh.filter((pl.col("couple_kind") == "") & ~pl.col("_isolation").fill_null(False))
             .select("famille_id")
             .join(ind.filter(pl.col("famille_role") == "demandeur").join(missing, on="person_id", how="semi")
                   .select("famille_id"), on="famille_id", how="semi")
             .join(pl.concat([cohabit, unseen_adult]), on="famille_id", how="anti"))
    counts["familles_adult_line_quarantined"] = unseen_adult.height
    counts["familles_single_sharing_dwelling"] = cohabit.height
    counts["familles_single_joint_declaration"] = joint.height
    for single, reason in (
            (cohabit, "seul adulte du dossier, déclaré à la DGFiP dans un logement où est déclaré aussi un adulte "
                      "sans conjoint d'une autre famille: vie en couple possible"),
            (unseen_adult, "un adulte du dossier (allocataire ou conjoint) écarté à l'intégration (NIR "
                           "inutilisable): vie en couple inconnue"),
            (joint, "seul adulte du dossier, déclarant à la DGFiP d'une imposition commune dont l'autre déclarant "
                    "manque à l'extrait: vie en couple possible")):
        prov[fresh_prov] = prov[fresh_prov].filter(
            (pl.col("input") != "couple_kind") | ~pl.col("id").is_in(single["famille_id"].implode()))
        prov.append(_prov(single, "famille", "famille_id", ["couple_kind"], pl.lit("unknown"), pl.lit(None),
                          pl.lit(None)))
        unk.append(_unk(single, "famille", "famille_id", ["couple_kind"], None, None, None, reason))
    # (a famille whose composition is already unknown keeps that unknown: one per famille)
    hosting = hosting.join(pl.concat([old.select("famille_id"), built_single.select("famille_id"),
                                      no_head.select("famille_id"), cohabit, partner_lost, unseen_adult, joint]),
                           on="famille_id", how="anti")
    unk.append(_unk(hosting, "famille", "famille_id", ["couple_kind"], None, None, None, YOUNG_DEPENDANT_MISSING))
    unk.append(_unk(pl.concat([old, built]), "famille", "famille_id", ["hosted_free_of_charge"], 0.0, 0.0, 1.0,
                    "hébergement inconnu (composition ancienne ou reconstituée)"))
    # Recent isolation: the CAF gives it on the demandeur's row when it knows it; otherwise unknown, and it
    # matters for a single parent only.
    n_children = ind.filter(pl.col("famille_role") == "enfant").group_by("famille_id").len()
    isolation_seen = (pl.col("couple_kind") == "") & pl.col("_isolation").is_not_null()
    prov.append(_prov(famille.filter(isolation_seen), "famille", "famille_id", ["recent_isolation"],
                      pl.lit("observed"), pl.col("_isolation_src"), pl.col("extract_date").dt.truncate("1mo")))
    single_parent = (famille.filter((pl.col("couple_kind") == "") & ~isolation_seen)
                     .join(n_children, on="famille_id", how="semi"))
    prov.append(_prov(single_parent, "famille", "famille_id", ["recent_isolation"], pl.lit("unknown"),
                      pl.lit(None), pl.lit(None)))
    unk.append(_unk(single_parent, "famille", "famille_id", ["recent_isolation"], 0.0, 0.0, 1.0,
                    "isolement récent (moins de 18 mois) non transmis par la CAF"))
    prov.append(_prov(famille.filter(~isolation_seen).join(single_parent, on="famille_id", how="anti"), "famille",
                      "famille_id", ["recent_isolation"], pl.lit("estimated"), pl.lit(None), pl.lit(None)))

    first = month_range(month, window)[0]
    # A benefit's payments are known when one of its payers (CAF, MSA) pays someone in ``benefits_paid`` (over
    # the whole population, ``facts``: the same in every partition); a famille absent from the table was paid
    # none. Without such a payer (no table, an ablation without the CAF and the MSA, or a payer whose payment
    # records did not come) the payments are unknown and the rules compute the benefit (SITUATION_FORMAT.md,
    # issue 11).
    fam_inputs, known_benefits, payer_sent = _payment_inputs(lf, facts, depth)
    known_inputs = [_INPUT_OF[b] for b in known_benefits]
    unknown_inputs = [i for i in fam_inputs if i not in known_inputs]
    famille_monthly = _famille_payments(lf, famille.select("famille_id"),
                                        ind.select("person_id", "famille_id", "famille_role"), month, first,
                                        fam_inputs, known_benefits, facts.payments_reach, facts.payment_holes)
    # A famille no payer lists receives none of their benefits: an observed zero from exhaustive payers, each
    # input named with its own benefit's payers that sent payments (the AAH paid is the CAF's or the MSA's, never
    # the CNAV's), all in one value (``core.month.agency_per_row`` reads them apart).
    paying = tuple(facts.paying_agencies or ())
    by_payers: dict[str, list[str]] = {}
    for b in known_benefits:
        own = sorted(payers_of(b, paying, facts.payment_benefits)) or list(paying)
        by_payers.setdefault(",".join(own), []).append(_INPUT_OF[b])
    for payers, inputs in by_payers.items():
        prov.append(_prov(famille, "famille", "famille_id", inputs, pl.lit("observed"), pl.lit(payers),
                          pl.lit(month)))
    if unknown_inputs:
        def why(name: str) -> str:
            """Each payment's own payers (the ASPA's are the CNAV and the MSA, not the CAF)."""
            row = catalogue_row(next(b for b, i in _INPUT_OF.items() if i == name))
            payers = " ou ".join(AGENCY_LABELS.get(a, a) for a in row.payers)
            return (f"versements inconnus : {row.short} (" + ("table benefits_paid absente" if "benefits_paid" not in lf
                    else f"aucun de ses organismes payeurs, {payers}, n'a transmis ses paiements") + ")")
        # The ASPA is paid from the legal retirement age at the earliest (CSS art. L815-1, R815-2): a famille none
        # of whose members has reached it (nor has an unknown birth) is paid none, which no extract needs to say;
        # its ASPA paid was asked of people of 40 and 55 on the RSA's rows (a caseworker's probe, 5 December 2026)
        aspa_age = default_parameters().bind("minima_sociaux.aspa.age_min_inaptitude", month).value
        of_age = ind.filter((pl.col("age") >= aspa_age) | (pl.col("date_naissance") == _UNKNOWN_BIRTH))
        too_young = famille.join(of_age.select("famille_id").unique(), on="famille_id", how="anti")
        by_age = [i for i in unknown_inputs if i == PAYMENT_INPUTS["aspa"]]
        if by_age:
            prov.append(_prov(too_young, "famille", "famille_id", by_age, pl.lit("estimated"), pl.lit(None),
                              pl.lit(None)))
        others = [i for i in unknown_inputs if i not in by_age]
        for names, who in ((by_age, famille.join(too_young, on="famille_id", how="anti")), (others, famille)):
            if names:
                prov.append(_prov(who, "famille", "famille_id", names, pl.lit("unknown"), pl.lit(None),
                                  pl.lit(None)))
                unk += [_unk(who, "famille", "famille_id", [n], 0.0, 0.0, None, why(n)) for n in names]
    # Known payments are read as received: the rules count the allocations familiales, the housing aid and the
    # AAH paid as resources (CASF R262-6, CSS R844-1, R861-8), else the ones they compute (a situation, an
    # ablation without the CAF and the MSA). The allocations familiales' flag is false when the rules read no payment.
    known = _payments_known(payer_sent, fam_inputs)
    famille = famille.select("famille_id", "couple_kind", "recent_isolation", "hosted_free_of_charge",
                             *[pl.lit(v).alias(flag) for flag, v in known.items()],
                             pl.lit(config.rsa_subsidiarity).alias(SETTING_INPUTS[0]))
    for flag, v in known.items():
        prov.append(_prov(famille, "famille", "famille_id", [flag], pl.lit("observed" if v else "estimated"),
                          pl.lit(None), pl.lit(None)))
    prov.append(_prov(famille, "famille", "famille_id", list(SETTING_INPUTS), pl.lit("setting"), pl.lit(None),
                      pl.lit(None)))

    # Ménage: commune of the reference person, housing of the latest month at most housing_months old.
    # The reference person first, then anyone whose commune is known, then by id: a ménage whose members
    # have no reference person (a DGFiP dwelling) gets the same commune at every run.
    menage = (ind.sort(pl.col("menage_role") != "personne_de_reference", pl.col("depcom").is_null(),
                       "person_id", maintain_order=True)
              .unique(subset=["menage_id"], keep="first", maintain_order=True)
              .select("menage_id", "depcom", pl.col("persons__source").alias("_dsrc"),
                      overseas_department(pl.col("depcom")).alias("residence_dom")))
    no_dep = menage.filter(pl.col("depcom").is_null())
    prov.append(_prov(menage.filter(pl.col("depcom").is_not_null()), "menage", "menage_id",
                      ["depcom", "residence_dom"], pl.lit("observed"), pl.col("_dsrc"), pl.lit(month)))
    prov.append(_prov(no_dep, "menage", "menage_id", ["depcom", "residence_dom"], pl.lit("unknown"), pl.lit(None),
                      pl.lit(None)))
    unk.append(_unk(no_dep, "menage", "menage_id", ["depcom"], None, None, None, "commune du logement inconnue"))
    unk.append(_unk(no_dep, "menage", "menage_id", ["residence_dom"], 0.0, 0.0, 1.0, "commune du logement inconnue"))
    menage = menage.with_columns(zone_apl_of(menage["depcom"]).cast(pl.Int64))
    zone_known = pl.col("zone_apl").is_not_null()
    prov.append(_prov(menage.filter(zone_known), "menage", "menage_id", ["zone_apl"], pl.lit("observed"),
                      pl.col("_dsrc"), pl.lit(month)))
    prov.append(_prov(menage.filter(~zone_known), "menage", "menage_id", ["zone_apl"], pl.lit("unknown"),
                      pl.lit(None), pl.lit(None)))
    unk.append(_unk(menage.filter(~zone_known), "menage", "menage_id", ["zone_apl"], 1.0, 2.0, 3.0,
                    "zone des aides au logement inconnue (commune inconnue ou absente du zonage): zone 2 retenue"))
    menage = menage.with_columns(pl.col("depcom").fill_null(""), pl.col("residence_dom").fill_null(False),
                                 pl.col("zone_apl").fill_null(2))
    menage = menage.join(housing, on="menage_id", how="left")
    h_known = menage.filter(pl.col("housing_status").is_not_null())
    h_unknown = menage.filter(pl.col("housing_status").is_null())
    counts["menages"] = menage.height
    counts["menages_housing_unknown"] = h_unknown.height
    prov.append(_prov(h_known, "menage", "menage_id", ["housing_status", "rent"], pl.lit("observed"),
                      pl.col("_hsrc"), pl.col("month")))
    prov.append(_prov(h_unknown, "menage", "menage_id", ["housing_status", "rent"], pl.lit("unknown"), pl.lit(None),
                      pl.lit(None)))
    # The familles paid a housing aid in the month: each pays a housing expense (CCH art. L821-1), which no
    # hosting variant below may take away; a ménage of unknown housing where one lives is a tenant's or an
    # accédant's (the MSA pays the aid and keeps no housing record in its extract), its rent still unknown.
    housing_cost = housing_aid_paid(famille_monthly, month)
    rent_paid = (ind.filter(pl.col("famille_role") == "demandeur").join(housing_cost, on="famille_id", how="semi")
                 .select("menage_id").unique())
    h_unknown_aid = h_unknown.join(rent_paid, on="menage_id", how="semi")
    h_unknown_no_aid = h_unknown.join(rent_paid, on="menage_id", how="anti")
    unk.append(_unk(h_unknown_no_aid, "menage", "menage_id", ["housing_status"], None, None, None,
                    "statut d'occupation inconnu (ménage inconnu de la CAF): locataire retenu"))
    unk.append(_unk(h_unknown_no_aid, "menage", "menage_id", ["rent"], 0.0, config.rent_typical,
                    config.rent_ceiling,
                    "loyer inconnu (pas d'aide au logement): de 0 au plafond de zone, loyer type au centre"))
    unk.append(_unk(h_unknown_aid, "menage", "menage_id", ["housing_status"], None, None, None,
                    "statut d'occupation inconnu (ménage inconnu de la CAF), aide au logement versée: locataire ou "
                    "accédant, locataire retenu"))
    unk.append(_unk(h_unknown_aid, "menage", "menage_id", ["rent"], 0.0, config.rent_typical, config.rent_ceiling,
                    "loyer ou mensualité d'emprunt inconnus (aide au logement versée, montant du loyer non transmis): "
                    "de 0 au plafond de zone, loyer type au centre"))
    # Colocation and room (they lower the housing aid's rent ceiling): said by the agency for a tenant; no
    # other status is let so (false, from the status); unknown with the housing, or for a tenant whose record
    # leaves them blank (an extract from before the fields): not shared and not a room at the centre.
    tenant = pl.col("housing_status").is_in(SHARED_RENTAL_STATUSES)
    for c in LEASE_KINDS:
        told = h_known.filter(pl.col(c).is_not_null() | ~tenant)
        blank = h_known.filter(pl.col(c).is_null() & tenant)
        counts[f"menages_{c}"] = h_known.filter(pl.col(c).fill_null(False)).height
        counts[f"menages_{c}_unknown"] = h_unknown.height + blank.height
        prov.append(_prov(told, "menage", "menage_id", [c], pl.lit("observed"), pl.col("_hsrc"), pl.col("month")))
        prov.append(_prov(pl.concat([blank.select("menage_id"), h_unknown.select("menage_id")]), "menage",
                          "menage_id", [c], pl.lit("unknown"), pl.lit(None), pl.lit(None)))
        unk.append(_unk(h_unknown, "menage", "menage_id", [c], 0.0, 0.0, 1.0, _LEASE_UNKNOWN[c][0]))
        unk.append(_unk(blank, "menage", "menage_id", [c], 0.0, 0.0, 1.0, _LEASE_UNKNOWN[c][1]))
    # An accédant's loan date (the housing aid in accession: a loan signed before 2018 opens it, loi de finances
    # pour 2018, art. 126): observed when the agency gives it, but a loan of 2018-2019 in zone 3 (still open for a
    # loan conventionné financing an « ancien » dwelling, which no extract tells) is unknown, its date at the
    # centre and the open aid at the low end; a blank date: unknown, no aid at the centre and a loan from
    # before 2018 at the low end, so a flag that needs it is at most possible. Other statuses have no loan (from
    # the status); a ménage of unknown housing has none either, estimated from its status (a tenant's at every
    # variant, its own unknown above): a range there would change no variant, only list the date as deciding.
    accedant = pl.col("housing_status") == "owner_with_loan"
    loan = pl.col("loan_date")
    in_window = ((loan >= FERMETURE_ACCESSION) & (loan < FIN_ANCIEN_ZONE_3)
                 & (pl.col("zone_apl") == 3)).fill_null(False)
    loan_blank = h_known.filter(accedant & loan.is_null())
    loan_window = h_known.filter(accedant & in_window)
    loan_told = h_known.filter(~accedant | (loan.is_not_null() & ~in_window))
    counts["menages_accession_loan_before_2018"] = h_known.filter(
        accedant & (loan < FERMETURE_ACCESSION).fill_null(False)).height
    counts["menages_accession_loan_date_unknown"] = loan_blank.height
    counts["menages_accession_loan_2018_2019_zone_3"] = loan_window.height
    prov.append(_prov(loan_told, "menage", "menage_id", ["loan_date"], pl.lit("observed"), pl.col("_hsrc"),
                      pl.col("month")))
    prov.append(_prov(pl.concat([loan_blank.select("menage_id"), loan_window.select("menage_id")]), "menage",
                      "menage_id", ["loan_date"], pl.lit("unknown"), pl.lit(None), pl.lit(None)))
    prov.append(_prov(h_unknown, "menage", "menage_id", ["loan_date"], pl.lit("estimated"), pl.lit(None),
                      pl.lit(None)))
    unk.append(_unk(loan_blank, "menage", "menage_id", ["loan_date"], _OLD_LOAN, _NO_LOAN, _NO_LOAN,
                    "date de signature du prêt de l'accédant non renseignée: prêt d'après 2017 retenu (pas d'aide en "
                    "accession), prêt d'avant 2018 possible"))
    unk.append(_unk(loan_window, "menage", "menage_id", ["loan_date"], _OLD_LOAN,
                    (loan - pl.lit(_EPOCH)).dt.total_days(), _NO_LOAN,
                    "prêt signé en 2018 ou 2019 en zone 3: aide ouverte pour un prêt conventionné finançant un "
                    "logement ancien, que l'extrait ne dit pas; prêt fermé retenu"))
    # The housing status is text (no low/high value): what it decides is whether the famille is housed at no
    # cost (owner without loan, free housing), which brings the forfait logement of RSA, PPA and CSS. A famille
    # in a ménage of unknown housing may be, unless its hosting is already listed as unknown above.
    h_unknown_fam = (ind.filter(pl.col("famille_role") == "demandeur").select("famille_id", "menage_id")
                     .join(h_unknown.select("menage_id"), on="menage_id", how="semi")
                     .join(pl.concat([old, built]).select("famille_id"), on="famille_id", how="anti").unique())
    unk.append(_unk(h_unknown_fam, "famille", "famille_id", ["hosted_free_of_charge"], 0.0, 0.0, 1.0,
                    "statut d'occupation inconnu: logé sans frais (propriétaire, hébergé) ou non"))
    # its composition's agency said nothing of a dwelling it does not describe: the hosting is unknown, not
    # observed (the provenance of a fresh composition said « observed » beside this unknown)
    prov[fresh_prov] = prov[fresh_prov].filter(
        (pl.col("input") != "hosted_free_of_charge") | ~pl.col("id").is_in(h_unknown_fam["famille_id"].implode()))
    prov.append(_prov(h_unknown_fam, "famille", "famille_id", ["hosted_free_of_charge"], pl.lit("unknown"),
                      pl.lit(None), pl.lit(None)))
    # A dwelling shared with another foyer fiscal (CCH L822-1ff: the aid goes to the household holding the
    # lease). The agency's housing record of the famille is kept for the dwelling, but whether this famille
    # holds the lease is not known: fewer adults than a famille declared there (a single adult in a couple's
    # dwelling, the couple being the reference household, as INSEE takes it) → hosted, estimated from the
    # DGFiP's dwelling (informed); as many → unknown (co-tenants, or one hosts the other); more → the lease
    # holder, unchanged. Only for a famille whose tenancy is otherwise known and not already hosted, and not
    # a colocataire by its agency's record (it holds the lease of its share: the others are its colocataires), nor
    # recording a recent isolation (the DGFiP's dwelling most often the couple's before it parted, as above).
    shared = (shared_dwellings(lf, ind, month, dwellings)
              .join(heads.filter(pl.col("famille_role") == "demandeur").select("famille_id", "menage_id"),
                    on="famille_id", how="inner")
              .join(h_known.filter(~pl.col("colocation").fill_null(False)).select("menage_id"), on="menage_id",
                    how="semi")
              .join(famille.filter(~pl.col("hosted_free_of_charge") & ~pl.col("recent_isolation"))
                    .select("famille_id"), on="famille_id", how="semi")
              .join(pl.concat([old, built]).select("famille_id"), on="famille_id", how="anti")
              .filter(pl.col("other_adults") >= pl.col("own_adults")))
    hosted_est = shared.filter(pl.col("other_adults") > pl.col("own_adults"))
    lease_unknown = shared.filter(pl.col("other_adults") == pl.col("own_adults"))
    counts["familles_shared_dwelling_hosted_estimated"] = hosted_est.height
    counts["familles_shared_dwelling_lease_unknown"] = lease_unknown.height
    unk.append(_unk(hosted_est, "famille", "famille_id", ["hosted_free_of_charge"], 0.0, 1.0, 1.0,
                    "logement partagé avec un couple d'une autre famille (DGFiP), vraisemblablement titulaire "
                    "du bail: hébergé retenu (colocataire possible)", informed=True))
    unk.append(_unk(lease_unknown, "famille", "famille_id", ["hosted_free_of_charge"], 0.0, 0.0, 1.0,
                    "logement partagé avec une autre famille (DGFiP): titulaire du bail inconnu "
                    "(locataire, colocataire ou hébergé)"))
    prov[fresh_prov] = prov[fresh_prov].filter(
        (pl.col("input") != "hosted_free_of_charge") | ~pl.col("id").is_in(shared["famille_id"].implode()))
    prov.append(_prov(hosted_est, "famille", "famille_id", ["hosted_free_of_charge"], pl.lit("estimated"),
                      pl.lit("dgfip"), pl.lit(None)))
    prov.append(_prov(lease_unknown, "famille", "famille_id", ["hosted_free_of_charge"], pl.lit("unknown"),
                      pl.lit(None), pl.lit(None)))
    # A famille whose hosting is unknown otherwise (a composition the core rebuilt or out of date, a ménage no
    # agency describes: above, not hosted at the centre) is judged on the same evidence: the DGFiP declares in
    # its dwelling another famille with more adults (a couple and a single adult: the reference household is the
    # couple's) → hosted, estimated from the DGFiP's dwelling (informed). Its core ménage may be that very dwelling
    # (a ménage built from the DGFiP's local gives every famille a personne de référence: the roles no agency
    # gave). Without it the famille was taken as its dwelling's tenant: no forfait logement for the RSA and the
    # prime d'activité, and a housing aid (on the CI demo, 315 such familles, every one hosted in the truth).
    unsure = pl.concat([old.select("famille_id"), built.select("famille_id"), h_unknown_fam.select("famille_id")])
    hosted_unsure = (shared_dwellings(lf, ind, month, dwellings, own_menage=True)
                     .join(unsure, on="famille_id", how="semi")
                     .join(famille.filter(~pl.col("hosted_free_of_charge")).select("famille_id"), on="famille_id",
                           how="semi")
                     .filter(pl.col("other_adults") > pl.col("own_adults")))
    if hosted_unsure.height:
        ids = hosted_unsure["famille_id"].implode()
        replaced = ((pl.col("entity") == "famille") & (pl.col("input") == "hosted_free_of_charge")
                    & pl.col("id").is_in(ids))
        unk = [u.filter(~replaced) for u in unk]
        prov = [p.filter(~replaced) for p in prov]
    unk.append(_unk(hosted_unsure, "famille", "famille_id", ["hosted_free_of_charge"], 0.0, 1.0, 1.0,
                    "logement déclaré à la DGFiP avec une autre famille comptant plus d'adultes, "
                    "vraisemblablement titulaire du bail ou propriétaire: hébergé retenu", informed=True))
    prov.append(_prov(hosted_unsure, "famille", "famille_id", ["hosted_free_of_charge"], pl.lit("estimated"),
                      pl.lit("dgfip"), pl.lit(None)))
    counts["familles_hosting_unknown_hosted_estimated"] = hosted_unsure.height
    # A famille a payer pays a housing aid in the month pays a rent or a loan: none of the variants above applies
    # to it (one rule for every payer, from the payment, not from the agency's record of the dwelling).
    hosting_input = (pl.col("entity") == "famille") & (pl.col("input") == "hosted_free_of_charge")
    paid_for = pl.col("id").is_in(housing_cost["famille_id"].implode())
    # the payer is the famille's own agency (its payments are keyed by the payer's dossier)
    unsaid = (pl.concat([p.filter(hosting_input & paid_for & (pl.col("kind") != "observed")) for p in prov])
              .select(pl.col("id").alias("famille_id")).unique()
              .join(src_f.select("famille_id", "source_agency"), on="famille_id", how="left"))
    unk = [u.filter(~(hosting_input & paid_for)) for u in unk]
    prov = [p.filter(~(hosting_input & paid_for & (pl.col("kind") != "observed"))) for p in prov]
    prov.append(_prov(unsaid, "famille", "famille_id", ["hosted_free_of_charge"], pl.lit("observed"),
                      pl.col("source_agency"), pl.lit(month)))
    counts["familles_housing_aid_not_hosted"] = unsaid.height
    hosted_ids = (pl.concat([hosted_est.select("famille_id"), hosted_unsure.select("famille_id")])
                  .join(housing_cost, on="famille_id", how="anti")["famille_id"])
    famille = famille.with_columns(
        (pl.col("hosted_free_of_charge") | pl.col("famille_id").is_in(hosted_ids.implode()))
        .alias("hosted_free_of_charge"))
    menage = menage.with_columns(pl.col("housing_status").fill_null("tenant"),
                                 pl.col("rent").fill_null(config.rent_typical),
                                 *[(pl.col(c).fill_null(False) & tenant).alias(c) for c in LEASE_KINDS],
                                 pl.when(pl.col("housing_status") == "owner_with_loan").then(pl.col("loan_date"))
                                 .otherwise(None).fill_null(NO_LOAN).alias("loan_date")).select(
        "menage_id", "depcom", "residence_dom", "zone_apl", "housing_status", "rent", *LEASE_KINDS, "loan_date")

    individu = ind.select("person_id", "famille_id", "famille_role", "foyer_fiscal_id", "foyer_fiscal_role",
                          "menage_id", "menage_role", "age", "date_naissance", "student", "pregnant",
                          "disability_rate", "nationality_group", "residence_permit_years",
                          "residence_condition_exempt", "ofpra_protection", "rsdae", "unfit_for_work",
                          "persons__source")
    cl = clusters(individu)
    counts["clusters"] = cl.get_column("cluster_id").n_unique()
    conflict_df = pl.DataFrame({"kind": list(conflicts), "count": list(conflicts.values())},
                               schema={"kind": pl.String, "count": pl.Int64})
    provenance = pl.concat([p.select(list(PROVENANCE_SCHEMA)).cast(PROVENANCE_SCHEMA) for p in prov])
    unknowns = _vetted_residence(pl.concat([u.select(list(UNKNOWNS_SCHEMA)).cast(UNKNOWNS_SCHEMA) for u in unk]),
                                 lf, month, counts)
    counts["provenance_rows"] = provenance.height
    counts["unknowns_rows"] = unknowns.height
    inputs = Inputs(individu=individu, individu_monthly=monthly, famille=famille, famille_monthly=famille_monthly,
                    menage=menage)
    return CoreMonth(month=month, inputs=inputs, unknowns=unknowns, provenance=provenance, conflicts=conflict_df,
                     counts=counts, clusters=cl, months_read=tuple(month_range(month, window)), config=config,
                     resource_windows=facts.resource_windows, payments_reach=facts.payments_reach,
                     listings_reach=facts.listings_reach, payment_holes=facts.payment_holes)


VETTING_BENEFITS = ("aspa", "asi")
"""Benefits whose payment shows its payee meets the nationality or residence condition of CSS art. L816-1 (EEA or
Swiss national, ten years of a residence permit allowing work, refugee, subsidiary protection, stateless): the
payer checked it when granting them."""
VETTED_MONTHS = 3
"""How recent (months up to the evaluated one) a payment of :data:`VETTING_BENEFITS` must be to vouch for the
condition."""


def _vetted_residence(unknowns: pl.DataFrame, lf: Mapping[str, pl.LazyFrame], month: dt.date,
                      counts: dict[str, int]) -> pl.DataFrame:
    """``unknowns`` with the least favourable (and central) years of residence permit of a person paid the ASPA or
    the ASI in the last :data:`VETTED_MONTHS` months raised to the ten years CSS art. L816-1 asks: the payer (CNAV,
    CPAM, MSA) checked the nationality or residence condition when it granted the allowance, so no variant may read
    it unmet. An ASI holder only the CPAM knows (no nationality sent) read as a non-EEA national without a permit
    had a least favourable ASI of 0 €, so his ASI paid at 80 € against 214.86 € due was « consistent », and his
    AAH's highest estimate left out the ASI the CPAM pays (an outside tester, 7 December 2026). The years of
    permit only: the nationality stays unknown (an EEA national's right of residence for the RSA is another
    condition)."""
    if "benefits_paid" not in lf or unknowns.is_empty():
        return unknowns
    ten = default_parameters().bind("minima_sociaux.aspa.duree_min_titre_sejour", month).value
    first = month_range(month, VETTED_MONTHS - 1)[0]
    vetted = (lf["benefits_paid"]
              .filter(pl.col("person_id").is_not_null()
                      & pl.col("benefit").cast(pl.String).is_in(list(VETTING_BENEFITS))
                      & (pl.col("amount").cast(pl.Float64) > 0) & pl.col("month").is_between(first, month))
              .select(pl.col("person_id").cast(pl.String)).unique().collect())
    raised = (pl.col("input") == "residence_permit_years") & pl.col("id").cast(pl.String).is_in(
        vetted.get_column("person_id").implode()) & (pl.col("entity") == "individu")
    counts["persons_residence_vetted_by_payment"] = unknowns.filter(raised).get_column("id").n_unique()
    return unknowns.with_columns(
        pl.when(raised).then(pl.max_horizontal(pl.col(c), pl.lit(float(ten)))).otherwise(pl.col(c)).alias(c)
        for c in ("low", "central"))


def _unseen_adults(lf: Mapping[str, pl.LazyFrame], month: dt.date) -> pl.DataFrame:
    """famille_id (qualified as the core's) of the familles an agency lists with a demandeur or conjoint whose line
    was quarantined for an unusable NIR, valid on ``month`` (``schemas.tables.UNIDENTIFIED_MEMBERS``)."""
    from nonrecours.schemas import UNIDENTIFIED_MEMBERS

    if UNIDENTIFIED_MEMBERS not in lf:
        return pl.DataFrame(schema={"famille_id": pl.String})
    return (lf[UNIDENTIFIED_MEMBERS]
            .filter((pl.col("unit_kind").cast(pl.String) == "famille")
                    & pl.col("role").cast(pl.String).is_in(["demandeur", "conjoint"])
                    & (pl.col("valid_from") <= month)
                    & (pl.col("valid_to").is_null() | (pl.col("valid_to") >= month)))
            .select(qualified("source_agency", "unit_id").alias("famille_id")).unique().collect())


def _unseen_dwelling_adults(lf: Mapping[str, pl.LazyFrame], month: dt.date) -> pl.DataFrame:
    """(``_loc``, ``_birth``, ``_neighbours``): the adults the DGFiP declares heading a foyer (the ménage's
    reference person) in a dwelling, qualified as ``core.units.dgfip_dwellings`` qualifies it, whose line was
    quarantined for an unusable NIR (``schemas.tables.UNIDENTIFIED_MEMBERS``), in the latest year the DGFiP sent
    for that dwelling: their birth month and the pseudonyms of their NIR's neighbours where the line gave them."""
    from nonrecours.schemas import UNIDENTIFIED_MEMBERS, UNIDENTIFIED_NEIGHBOURS

    schema = {"_loc": pl.String, "_birth": pl.Date, "_neighbours": pl.List(pl.String)}
    if UNIDENTIFIED_MEMBERS not in lf or "unit_memberships" not in lf:
        return pl.DataFrame(schema=schema)
    there = ((pl.col("unit_kind").cast(pl.String) == "menage") & (pl.col("source_agency").cast(pl.String) == "dgfip")
             & valid_on(month))
    source = lf[UNIDENTIFIED_MEMBERS]
    names = source.collect_schema().names()  # files written before the birth month or the neighbours were kept
    lost = source.filter(there & (pl.col("role").cast(pl.String) == HOUSEHOLDER_ROLES[0])).select(
        "unit_id", "valid_from", "source_agency",
        (pl.col("birth_month") if "birth_month" in names else pl.lit(None, dtype=pl.Date)).alias("_birth"),
        (pl.col(UNIDENTIFIED_NEIGHBOURS) if UNIDENTIFIED_NEIGHBOURS in names
         else pl.lit(None, dtype=pl.List(pl.String))).alias("_neighbours"))
    latest = (pl.concat([lf["unit_memberships"].filter(there).select("unit_id", "valid_from"),
                         source.filter(there).select("unit_id", "valid_from")])
              .group_by("unit_id").agg(pl.col("valid_from").max()))
    return (lost.join(latest, on=["unit_id", "valid_from"], how="semi")
            .select(qualified("source_agency", "unit_id").alias("_loc"), "_birth", "_neighbours")
            .collect().cast(schema))  # type: ignore[arg-type]


def _payment_inputs(lf: Mapping[str, pl.LazyFrame], facts: PopulationFacts, depth: Mapping[str, int]):
    """The famille payment inputs the rules read (``depth``), the benefits whose payments are known (a payer
    of each sent ``benefits_paid``, or the table is the synthetic truth's) and that test per benefit."""
    paying = set(facts.paying_agencies or ())

    def payer_sent(benefit: str) -> bool:
        return "benefits_paid" in lf and (facts.truth or bool(payers_of(benefit, paying, facts.payment_benefits)))

    fam_benefits = [b for b in (*FAMILY_PAYMENTS, *RECEIVED_INPUTS) if _INPUT_OF[b] in depth]
    return [_INPUT_OF[b] for b in fam_benefits], [b for b in fam_benefits if payer_sent(b)], payer_sent


def on_payee_famille(rows: pl.DataFrame, held: pl.Series, members: pl.DataFrame,
                     dossiers: pl.DataFrame | None = None) -> pl.DataFrame:
    """``rows`` (famille_id: the paying agency's qualified dossier, person_id: the payee a line names, or null) with
    each payment to a dossier of which no famille is held (``held``: the famille ids evaluated) put on the famille
    its payee is an adult of now (``members``: person_id, famille_id, famille_role), else, from ``dossiers``
    (famille_id, person_id, role: the agencies' famille memberships, any date), on the famille the dossier's
    demandeur (else its conjoint) is an adult of now. A dossier the core holds keeps its payments.

    Two ways a household's payments sit on a dossier the core does not hold. The MSA pays the RSA and the prime
    d'activité on the insured person's line (msa.md): when that dossier's member lines were lost (quarantined,
    missing from the extract), the line still names its payee, who was read as paid nothing and listed by the payer
    itself (probe5_ext, 6 December 2026). A household that changed fund (the MSA to the CAF, one CAF to another on a
    move) was paid the months before on the dossier it left: those allowances fell out of the resources of the CSS's
    twelve months and the prime d'activité's three, both flagged certain on resources too low (probe6_ext)."""
    adults = (members.filter(pl.col("famille_id").is_not_null()
                             & (pl.col("famille_role").is_in(list(PARENT_ROLES)) if "famille_role" in members.columns
                                else pl.lit(True)))
              .unique("person_id", keep="first").select("person_id", pl.col("famille_id").alias("_payee_famille")))
    out = rows.join(adults, on="person_id", how="left", maintain_order="left")
    candidate = pl.col("_payee_famille")
    if dossiers is not None:
        via = (dossiers.filter(pl.col("role").is_in(list(PARENT_ROLES))
                               & ~pl.col("famille_id").is_in(held.implode()))
               .join(adults, on="person_id")
               .sort(pl.col("role") != "demandeur", "person_id")
               .group_by("famille_id", maintain_order=True).agg(pl.col("_payee_famille").first().alias("_via")))
        out = out.join(via, on="famille_id", how="left", maintain_order="left")
        candidate = pl.coalesce("_payee_famille", "_via")
    lost = ~pl.col("famille_id").is_in(held.implode()) & candidate.is_not_null()
    return (out.with_columns(pl.when(lost).then(candidate).otherwise(pl.col("famille_id")).alias("famille_id"))
            .select(rows.columns))


def famille_dossiers(memberships: pl.LazyFrame | pl.DataFrame | None) -> pl.DataFrame | None:
    """famille_id (qualified as a payment's dossier), person_id, role: every famille membership of an agency's
    extract, whatever its dates (a dossier left still names who it paid); ``on_payee_famille``'s ``dossiers``."""
    if memberships is None:
        return None
    return (memberships.lazy().filter(pl.col("unit_kind").cast(pl.String) == "famille")
            .select(qualified("source_agency", "unit_id").alias("famille_id"), "person_id",
                    pl.col("role").cast(pl.String))
            .unique().collect())


def _held_before(hole: dt.date, holes: tuple[dt.date, ...]) -> dt.date:
    """The month before ``hole`` that its extract holds: before the run of lost months ``hole`` is in."""
    before = add_months(hole, -1)
    while before in holes:
        before = add_months(before, -1)
    return before


def _famille_payments(lf: Mapping[str, pl.LazyFrame], familles: pl.DataFrame, members: pl.DataFrame,
                      month: dt.date, first: dt.date, fam_inputs: list[str], known_benefits: list[str],
                      reach: Mapping[str, dt.date] | None = None,
                      holes: Mapping[str, tuple[dt.date, ...]] | None = None) -> pl.DataFrame:
    """``famille_monthly``: each famille's payments of ``known_benefits`` from ``first`` to ``month`` (0 where
    none was paid), one column per payment input, and whether each benefit of ``RECEIVED_INPUTS`` is received
    (paid, or reported received for one of the famille's ``members``: person_id, famille_id); the unknown ones at
    0 (false) on the month (the unknowns say so). ``reach``: the extracts that stop before the month
    (``payments_reach``): a payment of their last month is carried to the months after, which the file does not
    hold yet (read as none, the family benefits of June 2026 fell out of the RSA's resources: 470 false alarms on
    France 100,000 with every June payment taken out). ``holes``: the months an extract lost (``payment_holes``):
    each famille's payments of that extract's month before are carried to them."""
    famille_monthly = None
    # the month before each lost month of the window (``holes``), perhaps before the window: read with it
    lost = pl.DataFrame([(a, h, _held_before(h, hs)) for a, hs in (holes or {}).items() for h in hs
                         if first <= h <= month],
                        schema={"_src": pl.String, "month": pl.Date, "_from": pl.Date}, orient="row")
    start = min([first, *lost.get_column("_from").to_list()])
    if known_benefits:
        rows = (lf["benefits_paid"]
                .filter((pl.col("unit_kind") == "famille") & pl.col("benefit").cast(pl.String).is_in(known_benefits)
                        & (pl.col("month") >= start) & (pl.col("month") <= month))
                .select(qualified("paying_agency", "unit_id", "source_agency").alias("famille_id"),
                        pl.col("person_id").cast(members.schema["person_id"]),
                        "month", pl.col("benefit").cast(pl.String), pl.col("amount").cast(pl.Float64),
                        pl.col("source_agency").cast(pl.String).alias("_src"))
                .collect())
        rows = on_payee_famille(rows, familles.get_column("famille_id"), members,
                                famille_dossiers(lf.get("unit_memberships"))).drop("person_id")
        per_person = [b for b in known_benefits if b in PERSON_PAYMENTS]
        if per_person:  # a person's payments, summed over the famille's members of the month
            person_rows = (lf["benefits_paid"]
                           .filter(pl.col("unit_kind").is_null() & pl.col("person_id").is_not_null()
                                   & pl.col("benefit").cast(pl.String).is_in(per_person)
                                   & (pl.col("month") >= start) & (pl.col("month") <= month))
                           .select(pl.col("person_id").cast(members.schema["person_id"]), "month",
                                   pl.col("benefit").cast(pl.String), pl.col("amount").cast(pl.Float64),
                                   pl.col("source_agency").cast(pl.String).alias("_src"))
                           .collect()
                           .join(members, on="person_id", how="inner")
                           .group_by("famille_id", "month", "benefit", "_src", maintain_order=True)
                           .agg(pl.col("amount").sum()))
            rows = pl.concat([rows, person_rows.select(rows.columns).cast(rows.schema)])
        # a lost month's payments: each famille's of the extract's month before, on it
        if lost.height:
            refilled = (rows.join(lost.rename({"month": "_lost"}), left_on=["_src", "month"],
                                  right_on=["_src", "_from"])
                        .with_columns(pl.col("_lost").alias("month")).select(rows.columns))
            rows = pl.concat([rows.filter(pl.col("month") >= first), refilled])
        # a behind extract's payments of its last month, on each month after it up to the month
        until = reach_month(reach, month, pl.col("_src"))
        carried = (rows.filter((pl.col("month") == until) & (until < pl.lit(month))).rename({"month": "_last"})
                   .join(pl.DataFrame({"month": month_range(
                       month, month_index(month) - month_index(earliest_reach(reach, month)))},
                       schema={"month": pl.Date}), how="cross")
                   .filter(pl.col("month") > pl.col("_last")).select(rows.columns))
        paid = (pl.concat([rows, carried]).group_by("famille_id", "month", "benefit", maintain_order=True)
                .agg(pl.col("amount").first()).join(familles, on="famille_id", how="semi"))
        if paid.height:
            famille_monthly = paid.pivot("benefit", index=["famille_id", "month"], values="amount",
                                         aggregate_function=None)
            famille_monthly = famille_monthly.rename({b: _INPUT_OF[b] for b in known_benefits
                                                      if b in famille_monthly.columns})
    if famille_monthly is None:
        famille_monthly = pl.DataFrame(schema={"famille_id": pl.String, "month": pl.Date})
    reported = _reported_received(lf, familles, members, month, first,
                                  [b for b in RECEIVED_INPUTS if b in known_benefits])
    if reported.height:
        famille_monthly = famille_monthly.join(reported, on=["famille_id", "month"], how="full", coalesce=True)
    if len(known_benefits) < len(fam_inputs) and famille_monthly.is_empty():
        # the unknown payments are monthly inputs: detection sets them on the monthly frame's months
        famille_monthly = familles.select("famille_id", pl.lit(month, dtype=pl.Date).alias("month"))
    have = set(famille_monthly.columns)

    def value(n: str) -> pl.Expr:
        paid = pl.col(n).fill_null(0.0) if n in have else pl.lit(0.0)
        if n not in RECEIVED_INPUTS.values():
            return paid.alias(n)
        return ((paid > 0) | (pl.col(f"_{n}").fill_null(False) if f"_{n}" in have else False)).alias(n)

    return famille_monthly.with_columns(value(n) for n in fam_inputs).drop(
        [c for c in famille_monthly.columns if c.startswith("_")])


def housing_aid_paid(famille_monthly: pl.DataFrame, month: dt.date) -> pl.DataFrame:
    """The familles (famille_id) a payer, CAF or MSA, pays a housing aid in ``month`` (``_famille_payments``' frame).

    The aid is paid only for a housing expense, a rent or a loan's repayments (CCH art. L821-1; R822-1 ff. on
    the expense): such a famille is neither housed free of charge nor an owner without a loan, whatever its
    agency's record of the dwelling says or does not say (the MSA's layout has none), and the CSS counts it the
    housing-aid forfait only (CSS art. R861-5). Empty when the targets read no housing aid paid."""
    col = PAYMENT_INPUTS["aide_logement"]
    if col not in famille_monthly.columns:
        return pl.DataFrame(schema={"famille_id": pl.String})
    return (famille_monthly.filter((pl.col("month") == month) & (pl.col(col) > 0)).select("famille_id")
            .unique())


def _reported_received(lf: Mapping[str, pl.LazyFrame], familles: pl.DataFrame, members: pl.DataFrame,
                       month: dt.date, first: dt.date, benefits: list[str]) -> pl.DataFrame:
    """famille_id, month and ``_<input>`` (true) per benefit of ``benefits``: the famille-months from ``first`` to
    ``month`` one of whose ``members`` (person_id, famille_id) an agency reports receiving it
    (``benefit_receipts``: France Travail's « bénéficiaire du RSA »)."""
    empty = pl.DataFrame(schema={"famille_id": pl.String, "month": pl.Date})
    if "benefit_receipts" not in lf or not benefits:
        return empty
    rows = (lf["benefit_receipts"]
            .filter(pl.col("benefit").cast(pl.String).is_in(benefits) & pl.col("month").is_between(first, month)
                    & pl.col("person_id").is_not_null())
            .select("person_id", "month", pl.col("benefit").cast(pl.String)).unique().collect()
            .join(members.filter(pl.col("famille_id").is_not_null()), on="person_id")
            .join(familles, on="famille_id", how="semi"))
    if rows.is_empty():
        return empty
    return (rows.select("famille_id", "month", pl.lit(True).alias("_r"),
                        pl.concat_str(pl.lit("_"), pl.col("benefit").replace_strict(RECEIVED_INPUTS))
                        .alias("input"))
            .unique().pivot("input", index=["famille_id", "month"], values="_r", aggregate_function=None))


def _housing_of_month(lf: Mapping[str, pl.LazyFrame], month: dt.date, config: CoreConfig) -> pl.DataFrame:
    """Each ménage's latest housing record of the last ``housing_months`` months (menage_id, month,
    housing_status, rent, the ``LEASE_KINDS``, loan_date, ``_hsrc`` its agency); no rows without a housing table.
    Colocation and room are null where the agency does not say (a workspace from before the columns too)."""
    schema = {"menage_id": pl.String, "month": pl.Date, "housing_status": pl.String, "rent": pl.Float64,
              **dict.fromkeys(LEASE_KINDS, pl.Boolean), "loan_date": pl.Date, "_hsrc": pl.String}
    if "housing" not in lf:
        return pl.DataFrame(schema=schema)
    first = month_range(month, config.housing_months)[0]
    cols = lf["housing"].collect_schema().names()
    optional = [pl.col(c).cast(schema[c]) if c in cols else pl.lit(None, dtype=schema[c]).alias(c)
                for c in (*LEASE_KINDS, "loan_date")]
    return (lf["housing"].filter((pl.col("month") >= first) & (pl.col("month") <= month))
            .select(qualified("source_agency", "menage_id").alias("menage_id"), "month",
                    pl.col("status").cast(pl.String).alias("housing_status"), pl.col("rent").cast(pl.Float64),
                    *optional, pl.col("source_agency").cast(pl.String).alias("_hsrc"))
            .sort("month", descending=True).unique(subset=["menage_id"], keep="first").collect()
            .select(list(schema)))


def _colocataire_dossiers(housing: pl.DataFrame, fresh: pl.DataFrame, heads: pl.DataFrame) -> pl.Series:
    """The familles a family agency follows (fresh dossiers) whose demandeur's ménage its latest housing record
    (``_housing_of_month``) says is a colocation: famille ids."""
    coloc = housing.filter(pl.col("colocation").fill_null(False)).select("menage_id")
    return (heads.filter(pl.col("famille_role") == "demandeur").select("famille_id", "menage_id")
            .join(fresh.select("famille_id"), on="famille_id", how="semi")
            .join(coloc, on="menage_id", how="semi").get_column("famille_id").unique())


def with_payments(inputs, tables: Mapping[str, pl.DataFrame | pl.LazyFrame], month: dt.date, facts: PopulationFacts,
                  *, config: CoreConfig | None = None):
    """``inputs`` (``build_month``'s at ``month``, ``facts`` its population facts) with the famille payments read
    again from ``tables``' ``benefits_paid``, the rest unchanged: the inputs ``build_month`` gives on ``tables``
    when they differ from the first ones by their payments only (the synthetic truth's, as each benefit's
    take-up is drawn: ``synth.extracts.take_up_from_rules``), at the cost of one payment read, not a new join.
    The payers are those of the new table. Not read again: ``reconcile``'s preference for a paid famille, which
    decides only for a person with two memberships of one kind in the month (the truth has one)."""
    import dataclasses

    lf = {k: (v.lazy() if isinstance(v, pl.DataFrame) else v) for k, v in tables.items()}
    config = config or CoreConfig()
    if "benefits_paid" in lf:
        paying = tuple(sorted(lf["benefits_paid"].select(pl.col("paying_agency").cast(pl.String)).unique()
                              .collect(engine="streaming").get_column("paying_agency").to_list()))
        facts = dataclasses.replace(facts, paying_agencies=paying)
    depth = lookback(config, month)
    first = month_range(month, max(depth.values(), default=0))[0]
    fam_inputs, known_benefits, payer_sent = _payment_inputs(lf, facts, depth)
    payments = _famille_payments(lf, inputs.famille.select("famille_id"), inputs.individu.select(
        "person_id", "famille_id", "famille_role"), month, first, fam_inputs, known_benefits,
        facts.payments_reach, facts.payment_holes)
    known = _payments_known(payer_sent, fam_inputs)
    famille = inputs.famille.with_columns(pl.lit(v).alias(flag) for flag, v in known.items())
    return dataclasses.replace(inputs, famille=famille, famille_monthly=payments)


def _payments_known(payer_sent, fam_inputs: list[str]) -> dict[str, bool]:
    """The famille flags of ``_PAID_KNOWN``: the rules read the payments (true) or compute the benefits."""
    known = {flag: all(payer_sent(b) for b in benefits) for flag, benefits in _PAID_KNOWN.items()}
    known["prestations_versees_connues"] &= bool(fam_inputs)
    return known


def build_inputs(tables: Mapping[str, pl.DataFrame | pl.LazyFrame], month: dt.date, *,
                 config: CoreConfig | None = None) -> object:
    """The engine inputs of :func:`build_month` (for callers that do not need what is known of them)."""
    return build_month(tables, month, config=config).inputs
