"""What each famille is paid, from the canonical ``benefits_paid``: this month and the months before.

Payments arrive keyed by unit (the CAF and MSA pay a famille) or by person (the CNAV pays the ASPA to a
pensioner, the CNAM reports the CSS per insured person); a person's payment is attached to the famille the
person belongs to in the evaluated month. When two agencies report the same benefit for the same famille
and month, the larger of their totals is kept (never the sum: it is one payment seen twice).

A yearly benefit (the ARS paid in August, the chèque énergie: ``period="year"`` in the catalogue) is received
when a payment was made since the payment now due (``Benefit.due_month``: in June 2026, August 2025), up to the
evaluated month; its ``paid`` is then the monthly equivalent of what was paid since (the amount / 12), as
detection's estimates are. A payment before it belongs to the year before and is not counted.
A benefit some agency that does not pay it reports as received (``benefit_receipts``: France Travail's
« bénéficiaire du RSA », amount unknown) is received too: ``receipts_by_famille`` sets ``receiving`` of the
famille one of whose members is so reported this month or in the grace months, and adds nothing to ``paid``
(the payer's amount, 0 when no payer reported one: its status is then ``consistent``, never ``under_payment``).
Whether a benefit's payments are known at all (``payments_known``): some agency that pays it sent
``benefits_paid`` rows; otherwise nothing paid is *unknown*, not zero.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

import polars as pl

from nonrecours.core.inputs import earliest_reach, listings_reach, on_payee_famille, payers_of, reach_month
from nonrecours.core.units import qualified, qualifier
from nonrecours.engine.plan import add_months
from nonrecours.schemas.benefits import CATALOGUE, payers_missing
from nonrecours.schemas.benefits import benefit as catalogue_row
from nonrecours.schemas.codes import PARENT_ROLES
from nonrecours.schemas.tables import UNIDENTIFIED_DESCRIBED, UNIDENTIFIED_NEIGHBOURS, valid_on

__all__ = ["AFFILIATION_PAYERS", "agencies_sent", "allocataire_lost", "listing_stopped", "paid_by_famille",
           "payee_lines_lost", "payer_unknown", "payers_absent", "payers_by_famille", "payment_rows", "payments_known",
           "pension_fund_unknown", "pension_lines_stopped", "receipts_by_famille", "reexamined_by_payer",
           "resource_lines_behind",
           "unattached_payments", "unidentified_paid", "unidentified_payee", "with_receipts"]

_YEAR = 12

AFFILIATION_PAYERS: dict[str, tuple[str, ...]] = {b.code: b.payers for b in CATALOGUE if b.by_affiliation}
"""Benefits paid by the person's own health insurance fund, and the funds whose extracts come (the catalogue's
``by_affiliation`` and ``payers``). Unlike the CAF's allocataires (absent from the CAF: not paid by it), everyone
is insured by some fund: a person no listed fund knows is insured elsewhere (another scheme) or unmatched, so
whether they receive the benefit is unknown."""


def _parents(individu: pl.DataFrame) -> pl.DataFrame:
    """famille_id, person_id of the familles' adults (demandeur and conjoint)."""
    return individu.filter(pl.col("famille_role").is_in(list(PARENT_ROLES))).select("famille_id", "person_id")


def _known_to(tables: Mapping[str, pl.LazyFrame | pl.DataFrame | None], agencies: Iterable[str],
              among: pl.Expr) -> pl.DataFrame:
    """person_id: the persons (of those ``among`` selects) that any of ``agencies`` knows, in any of its persons,
    payments or resources rows."""
    parts = [t.lazy().filter(pl.col("source_agency").cast(pl.String).is_in(list(agencies)) & among)
             .select("person_id")
             for name in ("persons", "benefits_paid", "resources") if (t := tables.get(name)) is not None]
    return pl.concat(parts).unique().collect() if parts else pl.DataFrame(schema={"person_id": pl.String})


_DATED = ("benefits_paid", "resources", "listings")
"""The tables whose rows say in which month an agency knew the person."""


def _known_lately(tables: Mapping[str, pl.LazyFrame | pl.DataFrame | None], individu: pl.DataFrame,
                  agencies: Iterable[str], since: dt.date) -> pl.DataFrame:
    """person_id: the persons any of ``agencies`` knows lately: a dated line of theirs (a payment, a resource, a
    listing) of ``since`` or later; a famille of ``individu`` one of them holds (its dossier is the person's now);
    or, where the agency has no dated line of the person at all (a dossier's member row alone), its persons row.
    A fund whose lines of someone stopped months ago while another agency now holds her famille (a farmer's widow
    gone from the MSA to the CAF) no longer tells whether she receives what it pays."""
    agencies = list(agencies)
    ours = pl.col("source_agency").cast(pl.String).is_in(agencies) & pl.col("person_id").is_not_null()
    dated = [t.lazy().filter(ours).select("person_id", "month") for name in _DATED
             if (t := tables.get(name)) is not None]
    schema = {"person_id": pl.String}
    last = (pl.concat(dated).group_by("person_id").agg(pl.col("month").max()).collect() if dated
            else pl.DataFrame(schema={"person_id": pl.String, "month": pl.Date}))
    parts = [last.filter(pl.col("month") >= since).select("person_id"),
             individu.filter(qualifier("famille_id").is_in(agencies)).select("person_id")]
    if (t := tables.get("persons")) is not None:
        parts.append(t.lazy().filter(ours).select("person_id").unique().collect()
                     .join(last, on="person_id", how="anti"))
    return pl.concat([p.cast(schema) for p in parts]).unique()  # type: ignore[arg-type]


def payer_unknown(tables: dict[str, pl.LazyFrame | pl.DataFrame], individu: pl.DataFrame,
                  benefits: tuple[str, ...], month: dt.date | None = None, *,
                  sent: Iterable[str] | None = None,
                  carried: Mapping[str, tuple[str, ...]] | None = None, lately: int | None = None) -> pl.DataFrame:
    """famille_id, benefit: the familles none of whose adults any fund paying the benefit knows (in any of
    its persons, payments or resources rows), for the benefits of ``AFFILIATION_PAYERS``; and, for a benefit some
    of whose payers sent no extract while another did, the absent ones including its general payer (the first of
    its ``payers``: the CAF, the CNAV; ``payers_missing``: a run with the MSA's extract and not the CAF's), the
    familles none of whose adults is in a dossier of ``month`` of a payer that sent one (that payer's
    ``unit_memberships``): the absent payer may pay them, so what they receive is not observed. A run without the
    CAF read every famille the CAF pays as paid nothing, and flagged their family benefits certain (an outside
    tester, 7 December 2026). The MSA absent alone keeps the verdicts: it pays the farmers only, and the people the
    CAF does not know are the very ones non-take-up is looked for among (the report says its payments are known in
    part). ``sent``: the agencies that sent an extract (``agencies_sent``), of the whole population when ``tables``
    hold one part of it (a part holding no CAF dossier would read the CAF as absent); ``carried``:
    ``CoreConfig.payment_benefits``, a payer whose extracts do not carry the benefit's payments is absent for it.
    ``lately``: a fund knows the person only through lines of the ``lately`` months before ``month`` or later
    (``_known_lately``), not through lines it stopped sending earlier; None: through any of its rows."""
    out = pl.DataFrame(schema={"famille_id": pl.String, "benefit": pl.String})
    adults = _parents(individu)
    sent = set() if month is None else set(sent) if sent is not None else agencies_sent(tables)
    members = tables.get("unit_memberships")
    by_funds: dict[tuple[str, ...], pl.DataFrame] = {}  # the two CSS tiers share their funds: one scan
    for benefit in benefits:
        funds = AFFILIATION_PAYERS.get(benefit)
        missing = (payers_missing(benefit, payers_of(benefit, sent, carried)) if not funds and members is not None
                   else ())
        if catalogue_row(benefit).payers[:1] and catalogue_row(benefit).payers[0] in missing:
            present = [p for p in catalogue_row(benefit).payers if p not in missing]
            known = (members.lazy().filter(pl.col("source_agency").cast(pl.String).is_in(present)
                                           & (pl.col("unit_kind").cast(pl.String) == "famille") & valid_on(month))
                     .select("person_id").unique().collect())
        elif funds:
            if funds not in by_funds:
                by_funds[funds] = (_known_lately(tables, individu, funds, add_months(month, -lately))
                                   if lately is not None and month is not None
                                   else _known_to(tables, funds, pl.col("person_id").is_not_null()))
            known = by_funds[funds]
        else:
            continue
        seen = adults.join(known, on="person_id", how="semi").select("famille_id").unique()
        out = pl.concat([out, adults.select("famille_id").unique().join(seen, on="famille_id", how="anti")
                         .with_columns(pl.lit(benefit).alias("benefit"))])
    return out


def pension_fund_unknown(tables: Mapping[str, pl.LazyFrame | pl.DataFrame | None], individu: pl.DataFrame,
                         benefits: tuple[str, ...], month: dt.date, *, window: int) -> pl.DataFrame:
    """famille_id, benefit: for a benefit served with a pension (the catalogue's ``paid_with``: the ASPA, the
    ASI), the familles with an adult some agency other than the benefit's payers reports drawing that pension in
    the ``window`` months up to ``month`` (the DRM's PASRAU line: a pension is paid, by a fund it does not name)
    and whom no payer knows (in any of its persons, payments or resources rows): the fund paying that pension,
    which would serve the benefit with it to that person, sent no extract (or does not find the person), so
    whether they receive the benefit is not observed."""
    out = pl.DataFrame(schema={"famille_id": pl.String, "benefit": pl.String})
    res = tables.get("resources")
    if res is None:
        return out
    adults = _parents(individu)
    for benefit in benefits:
        row = catalogue_row(benefit)
        if row.paid_with is None or not row.payers:
            continue
        drawn = (res.lazy().filter((pl.col("kind").cast(pl.String) == row.paid_with)
                                   & pl.col("month").is_between(add_months(month, -window), month)
                                   & ~pl.col("source_agency").cast(pl.String).is_in(list(row.payers))
                                   & (pl.col("amount").cast(pl.Float64) > 0))
                 .select("person_id").unique().collect())
        pensioned = adults.join(drawn, on="person_id", how="semi")
        if pensioned.is_empty():
            continue
        known = _known_to(tables, row.payers, pl.col("person_id").is_in(pensioned.get_column("person_id").implode()))
        out = pl.concat([out, pensioned.join(known, on="person_id", how="anti").select("famille_id").unique()
                         .with_columns(pl.lit(benefit).alias("benefit"))])
    return out.sort("famille_id", "benefit")


_DESCRIBED_SCHEMA = {"birth_month": pl.Date, "sex": pl.String, "depcom": pl.String, "benefit": pl.String,
                     "payer": pl.String, "neighbour": pl.String}


def unidentified_paid(tables: Mapping[str, pl.LazyFrame | pl.DataFrame | None], benefits: tuple[str, ...],
                      month: dt.date, *, window: int) -> pl.DataFrame:
    """birth_month, sex, depcom, benefit, payer, neighbour: each demandeur or conjoint a payer of the benefit lists,
    on a line quarantined for an unusable NIR (``unidentified_members``: a mistyped or missing number), in a dossier
    it paid the benefit in the ``window`` months up to ``month`` (a yearly benefit: since the payment judged, its
    ``due_month``, as ``paid_by_famille`` reads it), as the line describes them, once per pseudonym of a
    valid NIR a single slip from the line's (``neighbour``; null when only the key did not fail, or none is valid).
    A line whose birth month or commune failed and that has no neighbour, or a workspace ingested before they were
    kept, describes nobody; a line without a sex, which some layouts do not carry, is described by the others.
    Small: read from the whole population once, and handed to each part of a partitioned run (the dossier and the
    famille it may be need not fall in one part)."""
    out = pl.DataFrame(schema=_DESCRIBED_SCHEMA)
    lost, paid = tables.get("unidentified_members"), tables.get("benefits_paid")
    if lost is None or paid is None or not set(UNIDENTIFIED_DESCRIBED) <= set(lost.lazy().collect_schema()):
        return out
    due = _yearly_due(benefits, month)
    pairs = pl.DataFrame([(b, a, due.get(b, add_months(month, -window))) for b in benefits
                          for a in catalogue_row(b).payers],
                         schema={"benefit": pl.String, "payer": pl.String, "_since": pl.Date}, orient="row")
    if pairs.is_empty():
        return out
    start = pairs.get_column("_since").min()
    # a workspace ingested before the neighbours were kept has none: every line's list is empty
    near = (pl.col(UNIDENTIFIED_NEIGHBOURS) if UNIDENTIFIED_NEIGHBOURS in lost.lazy().collect_schema()
            else pl.lit([], dtype=pl.List(pl.String)))
    dossiers = (lost.lazy().with_columns(near.alias("neighbour"))
                .filter((pl.col("unit_kind").cast(pl.String) == "famille")
                        & pl.col("role").cast(pl.String).is_in(list(PARENT_ROLES))
                        & (pl.col("valid_from").is_null() | (pl.col("valid_from") <= month))
                        & (pl.col("valid_to").is_null() | (pl.col("valid_to") >= start))
                        & ((pl.col("birth_month").is_not_null() & pl.col("depcom").is_not_null())
                           | (pl.col("neighbour").list.len() > 0)))
                .select(pl.col("source_agency").cast(pl.String).alias("payer"), "unit_id", "neighbour",
                        *[pl.col(c).cast(t) for c, t in _DESCRIBED_SCHEMA.items() if c in UNIDENTIFIED_DESCRIBED])
                .explode("neighbour", empty_as_null=True))
    pays = (paid.lazy().filter((pl.col("unit_kind").cast(pl.String) == "famille")
                               & pl.col("month").is_between(start, month) & (pl.col("amount").cast(pl.Float64) > 0))
            .select(pl.col("source_agency").cast(pl.String).alias("payer"), "unit_id",
                    pl.col("benefit").cast(pl.String), "month")
            .join(pairs.lazy(), on=["benefit", "payer"], how="inner").filter(pl.col("month") >= pl.col("_since"))
            .select("payer", "unit_id", "benefit").unique())
    return (dossiers.join(pays, on=["payer", "unit_id"], how="inner").select(*_DESCRIBED_SCHEMA).unique()
            .collect().sort(*_DESCRIBED_SCHEMA, nulls_last=True))


def unidentified_payee(tables: Mapping[str, pl.LazyFrame | pl.DataFrame | None], individu: pl.DataFrame,
                       benefits: tuple[str, ...], month: dt.date, *, window: int,
                       described: pl.DataFrame | None = None) -> pl.DataFrame:
    """famille_id, benefit, payer, by_number: the familles none of whose adults the benefit's payers know (in any of
    their persons, payments or resources rows), with an adult who may be a member ``unidentified_paid`` describes
    (``described``: the whole population's, default read from ``tables``): the payment may be theirs, the identity
    lost on the way, so that they do not receive the benefit is not observed.

    Two ways, told apart by ``by_number``. False: the birth month, sex and commune equal (the sex where both sides
    give it): two or three facts equal, not an identification; ``detect`` says it on the flag, keeping its grade.
    True: the adult's own NIR is a single slip from the line's failing number (their pseudonym is one of its
    neighbours) and no birth month or sex either side gives contradicts it: the number was very likely theirs;
    ``detect`` caps the flag at possible."""
    out = pl.DataFrame(schema={"famille_id": pl.String, "benefit": pl.String, "payer": pl.String,
                               "by_number": pl.Boolean})
    if described is None:
        described = unidentified_paid(tables, benefits, month, window=window)
    persons = tables.get("persons")
    described = described.filter(pl.col("benefit").is_in(list(benefits)))
    if described.is_empty() or persons is None:
        return out
    adults = _parents(individu)
    attrs = (persons.lazy().filter(pl.col("person_id").is_in(adults.get_column("person_id").implode()))
             .select("person_id", *[pl.col(c).cast(_DESCRIBED_SCHEMA[c]) for c in UNIDENTIFIED_DESCRIBED])
             .unique().collect())
    # the sex where both sides give it (the DGFiP's and the CNAM's layouts do not): unknown is not a mismatch
    by_facts = (adults.join(attrs.drop_nulls(["birth_month", "depcom"]), on="person_id")
                .join(described.drop_nulls(["birth_month", "depcom"]).drop("neighbour").unique()
                      .rename({"sex": "_sex"}), on=["birth_month", "depcom"])
                .filter(pl.col("sex").is_null() | pl.col("_sex").is_null() | (pl.col("sex") == pl.col("_sex")))
                .select("famille_id", "benefit", "payer", pl.lit(False).alias("by_number")))
    # the number: a birth month or a sex the line states and no agency gives the adult contradicts it (a slip on the
    # sex digit or the month's gives a neighbour of another sex or month: someone else's number)
    given = attrs.group_by("person_id").agg(pl.col("birth_month").drop_nulls().unique().alias("_months"),
                                            pl.col("sex").drop_nulls().unique().alias("_sexes"))

    def agrees(line: str, known: str) -> pl.Expr:
        return (pl.col(line).is_null() | pl.col(known).is_null() | (pl.col(known).list.len() == 0)
                | pl.col(known).list.contains(pl.col(line)))

    by_number = (adults.join(described.drop_nulls("neighbour")
                             .select("neighbour", "benefit", "payer", "birth_month", "sex"),
                             left_on="person_id", right_on="neighbour")
                 .join(given, on="person_id", how="left")
                 .filter(agrees("birth_month", "_months") & agrees("sex", "_sexes"))
                 .select("famille_id", "benefit", "payer", pl.lit(True).alias("by_number")))
    matched = pl.concat([by_facts, by_number])
    if matched.is_empty():
        return out
    members = adults.join(matched.select("famille_id").unique(), on="famille_id", how="semi")
    parts = []
    for (benefit,), part in matched.partition_by("benefit", as_dict=True).items():  # a few benefits, not rows
        known = _known_to(tables, catalogue_row(benefit).payers,
                          pl.col("person_id").is_in(members.get_column("person_id").implode()))
        seen = members.join(known, on="person_id", how="semi").select("famille_id").unique()
        parts.append(part.join(seen, on="famille_id", how="anti"))
    # the number's payer first where both ways match (its line is the one said), then the first by name
    return (pl.concat(parts).sort(["by_number", "payer"], descending=[True, False])
            .group_by("famille_id", "benefit").agg(pl.col("payer").first(), pl.col("by_number").any())
            .select(out.columns).sort("famille_id", "benefit"))


def allocataire_lost(tables: Mapping[str, pl.LazyFrame | pl.DataFrame | None], month: dt.date) -> pl.DataFrame:
    """famille_id: the agency dossiers whose memberships valid on ``month`` list no demandeur (the allocataire's
    row lost to the extract: the core found the demandeur at the DGFiP, or the famille lists a conjoint or
    children only). An agency carrying its payments on the allocataire's rows (the MSA's layout) then shows none
    for that month, whatever it paid: a stop of payments there is no evidence of non-take-up."""
    t = tables.get("unit_memberships")
    if t is None:
        return pl.DataFrame(schema={"famille_id": pl.String})
    valid = valid_on(month)
    return (t.lazy().filter(valid & (pl.col("unit_kind").cast(pl.String) == "famille"))
            .group_by(pl.col("source_agency").cast(pl.String).alias("source_agency"), "unit_id")
            .agg((pl.col("role").cast(pl.String) == "demandeur").any().alias("_head"))
            .filter(~pl.col("_head")).collect()
            .select(qualified("source_agency", "unit_id").alias("famille_id")))


def payee_lines_lost(tables: Mapping[str, pl.LazyFrame | pl.DataFrame | None], rows: pl.DataFrame | None,
                     month: dt.date, *, window: int) -> pl.DataFrame:
    """famille_id, benefit, extracts: the benefits paid to a person (the CNAV's ASPA with the pension, the CNAM's ASI
    with the invalidity pension, its CSS) in the ``window`` months before ``month``, whose every reporting extract
    carried that person on another line too in those months (a pension, a resource, another benefit, the month's
    listing of a file that lists its people every month: ``listings``) and carries them on no line at all in
    ``month``: the payer's file of the person is missing this month (an extract behind, a person moved to another
    fund), so the stop of the payment is not observed. A stop while the extract still reports the person (the
    pension paid, the ASPA not; the insured listed, the CSS not) stays a stop.

    An extract is an agency's (``source_agency``): the payment's and the other lines' alike. The agency a payment
    row names as paying it (``paying_agency``) is the extract's own in every default mapping; where a mapping
    names another, whether the stop is observed is still the reporting extract's to say (it is the one that would
    show the payment, and the person, this month). ``extracts``: those agencies (sorted; a reason line names them).
    ``rows``: ``payment_rows``."""
    schema = {"famille_id": pl.String(), "benefit": pl.String(), "extracts": pl.List(pl.String())}
    if rows is None:
        return pl.DataFrame(schema=schema)
    first = add_months(month, -window)
    paid = (rows.filter(pl.col("unit_kind").is_null() & pl.col("person_id").is_not_null() & (pl.col("month") < month)
                        & (pl.col("month") >= first)
                        & pl.col("source_agency").is_not_null())
            .select("famille_id", "benefit", "person_id", pl.col("source_agency").alias("extract")).unique())
    if paid.is_empty():
        return pl.DataFrame(schema=schema)
    persons = paid.get_column("person_id").unique().implode()
    parts = []
    for name, what in (("benefits_paid", pl.col("benefit")), ("resources", pl.col("kind")),
                       ("listings", pl.lit("listed"))):
        t = tables.get(name)
        if t is None:
            continue
        parts.append(t.lazy().filter(pl.col("person_id").is_in(persons) & pl.col("month").is_between(first, month))
                     .select("person_id", pl.col("source_agency").cast(pl.String).alias("extract"), "month",
                             what.cast(pl.String).alias("line")).collect())
    if not parts:
        return pl.DataFrame(schema=schema)
    lines = pl.concat(parts)
    now = lines.filter(pl.col("month") == month).select("person_id", "extract").unique()
    # the extract reported the person on a line other than the benefit itself in the months before
    other = (lines.filter(pl.col("month") < month).select("person_id", "extract", "line").unique()
             .join(paid, on=["person_id", "extract"]).filter(pl.col("line") != pl.col("benefit"))
             .select("famille_id", "benefit", "person_id", "extract").unique())
    lost = other.join(now, on=["person_id", "extract"], how="anti").with_columns(pl.lit(True).alias("_lost"))
    return (paid.join(lost, on=["famille_id", "benefit", "person_id", "extract"], how="left")
            .group_by("famille_id", "benefit").agg(pl.col("_lost").fill_null(False).all(),
                                                   pl.col("extract").unique().sort().alias("extracts"))
            .filter(pl.col("_lost")).select(list(schema)).sort("famille_id", "benefit"))


_LAST_LINE_SCHEMA = {"famille_id": pl.String(), "person_id": pl.String(), "source": pl.String(), "last": pl.Date()}
"""A member whose lines at a source stop: their famille, the source and the month of their last line."""


def _monthly_lines(resources: pl.LazyFrame | pl.DataFrame, first: dt.date, month: dt.date) -> pl.LazyFrame:
    """person_id, month, kind, source: the resource lines of the months ``first`` to ``month`` of a person, at the
    sources that report by month (the DGFiP's rows, a year spread over its months by the connectors, report none)."""
    return (resources.lazy().filter(pl.col("month").is_between(first, month) & pl.col("person_id").is_not_null()
                                    & (pl.col("source_agency").cast(pl.String) != "dgfip"))
            .select("person_id", "month", pl.col("kind").cast(pl.String),
                    pl.col("source_agency").cast(pl.String).alias("source")))


def resource_lines_behind(tables: Mapping[str, pl.LazyFrame | pl.DataFrame | None], individu: pl.DataFrame,
                          month: dt.date, sources: Iterable[str], *, behind: int,
                          windows: pl.DataFrame | None = None) -> pl.DataFrame:
    """famille_id, person_id, source, last: the members of the familles of ``individu`` whose resource lines at
    one of ``sources`` (the agencies that declare every salary paid: the DRM) stop at ``last``, one of the
    ``behind`` months before ``month``, while that source's extract goes on after ``last`` for others and no
    agency reports any resource of that person since. The source reads a month without a line as no income; for
    a person who earned until then, the months after may be declarations not yet transmitted (an employer's DSN
    filed late, a line not yet matched to the NIR) as well as an income stopped at once with no replacement
    income reported: what the person earned since is not observed. ``windows``: (agency, w_to) how far each
    source's extract reaches, of the whole population (``CoreMonth.resource_windows``: a partition must not read
    its own, shorter reach); None: read from ``tables``. The DGFiP's rows (a year spread over its months by the
    connectors) report no month: never « reported since »."""
    schema = _LAST_LINE_SCHEMA
    res = tables.get("resources")
    sources = list(sources)
    if res is None or behind <= 0 or not sources:
        return pl.DataFrame(schema=schema)
    lines = _monthly_lines(res, add_months(month, -behind), month).select("person_id", "month", "source").unique()
    lines = lines.collect()
    at = lines.filter(pl.col("source").is_in(sources))
    if windows is None:
        reach = at.group_by("source").agg(pl.col("month").max().alias("_reach"))
    else:
        reach = windows.select(pl.col("agency").alias("source"), pl.col("w_to").alias("_reach")).filter(
            pl.col("source").is_in(sources) & (pl.col("_reach") <= month))
    last = (at.join(individu.select("person_id").unique(), on="person_id", how="semi")
            .group_by("person_id", "source").agg(pl.col("month").max().alias("last"))
            .join(reach, on="source").filter((pl.col("last") < month) & (pl.col("_reach") > pl.col("last"))))
    # any agency's line of the person after the source's last one: the person is reported since
    since = (lines.join(last.select("person_id", "last"), on="person_id")
             .filter(pl.col("month") > pl.col("last")).select("person_id").unique())
    return (last.join(since, on="person_id", how="anti")
            .join(individu.select("person_id", "famille_id").filter(pl.col("famille_id").is_not_null()),
                  on="person_id")
            .select(list(schema)).cast(schema).sort("famille_id", "person_id", "source"))  # type: ignore[arg-type]


def pension_lines_stopped(tables: Mapping[str, pl.LazyFrame | pl.DataFrame | None], individu: pl.DataFrame,
                          month: dt.date, inputs: Iterable[str], *, months: int, window: int = _YEAR,
                          windows: pl.DataFrame | None = None) -> pl.DataFrame:
    """famille_id, person_id, source, last: the members of the familles of ``individu`` whose lines of a pension
    paid for life (``inputs``: ``CoreConfig.continuing``) stop at ``last``, in the ``window`` months before
    ``month`` and at least ``months`` months before it, at every source (the pension fund, the DRM) that reported
    one, while the source of the last line goes on for others ``months`` months past it, and no agency reports any
    line of them since (a resource, a payment, a listing: ``_unreported_since``). A retirement pension is paid
    until death: a fund that stops declaring it has most likely been told of a death (or a departure) that its
    extract does not carry; a file behind (its reach short of that) or lines late by a month or two (a DSN or
    PASRAU declaration not yet in) are not such a stop. ``windows``: (agency, w_to) as in
    :func:`resource_lines_behind`."""
    schema = _LAST_LINE_SCHEMA
    res = tables.get("resources")
    inputs = list(inputs)
    if res is None or months <= 0 or not inputs:
        return pl.DataFrame(schema=schema)
    first = add_months(month, -window)
    lines = (_monthly_lines(res, first, month)
             .join(individu.lazy().select("person_id").unique(), on="person_id", how="semi").collect())
    if windows is None:
        reach = lines.group_by("source").agg(pl.col("month").max().alias("_reach"))
    else:
        reach = windows.select(pl.col("agency").alias("source"), pl.col("w_to").alias("_reach"))
    at = _stopped_at(lines.filter(pl.col("kind").is_in(inputs)), reach, month, months)
    return _unreported_since(tables, at, lines, individu, first, month)


def _stopped_at(lines: pl.DataFrame, reach: pl.DataFrame, month: dt.date, months: int) -> pl.DataFrame:
    """person_id, source, last: the persons whose last line of ``lines`` (person_id, source, month), over every
    source, is at least ``months`` months before ``month``, at the sources of that last line whose extract
    (``reach``: source, _reach) goes on ``months`` months past it (a file behind is no stop of its people)."""
    last = (lines.group_by("person_id").agg(pl.col("month").max().alias("last"))
            .filter(pl.col("last") <= add_months(month, -months)))
    return (lines.join(last, on="person_id").filter(pl.col("month") == pl.col("last"))
            .select("person_id", "source", "last").unique().join(reach, on="source")
            .filter(pl.col("_reach").dt.offset_by(f"-{months}mo") >= pl.col("last")).drop("_reach"))


def _unreported_since(tables: Mapping[str, pl.LazyFrame | pl.DataFrame | None], at: pl.DataFrame,
                      lines: pl.DataFrame, individu: pl.DataFrame, first: dt.date, month: dt.date, *,
                      listed: bool = True) -> pl.DataFrame:
    """famille_id, person_id, source, last (``_LAST_LINE_SCHEMA``): the persons of ``at`` (person_id, source, last:
    where their lines stopped) no agency reports on any line after ``last``, up to ``month``: a monthly resource
    (``lines``), a payment to the person, the month's listing of a file that lists its people every month (not
    read when ``listed`` is False: the stop is the listings' own). The earliest source of a person named; their
    famille in ``individu``."""
    last = at.select("person_id", "last").unique()
    since = [lines.join(last, on="person_id").filter(pl.col("month") > pl.col("last")).select("person_id")]
    for name in ("benefits_paid", *(("listings",) if listed else ())):
        if (t := tables.get(name)) is not None:
            since.append(t.lazy().filter(pl.col("person_id").is_not_null() & pl.col("month").is_between(first, month))
                         .select("person_id", "month").join(last.lazy(), on="person_id")
                         .filter(pl.col("month") > pl.col("last")).select("person_id").collect())
    stopped = (at.join(pl.concat(since).unique(), on="person_id", how="anti").sort("person_id", "source")
               .group_by("person_id", maintain_order=True).agg(pl.col("source").first(), pl.col("last").first()))
    return (stopped.join(individu.select("person_id", "famille_id").filter(pl.col("famille_id").is_not_null())
                         .unique(), on="person_id")
            .select(list(_LAST_LINE_SCHEMA)).cast(_LAST_LINE_SCHEMA)  # type: ignore[arg-type]
            .sort("famille_id", "person_id"))


def listing_stopped(tables: Mapping[str, pl.LazyFrame | pl.DataFrame | None], individu: pl.DataFrame,
                    month: dt.date, *, months: int, window: int = _YEAR,
                    reach: Mapping[str, dt.date] | None = None) -> pl.DataFrame:
    """famille_id, person_id, source, last: the members of the familles of ``individu`` whom every file that lists
    its people every month (``listings``: the CPAM's file of its insured) stops listing at ``last``, in the
    ``window`` months before ``month`` and at least ``months`` months before it, while that file goes on listing
    others ``months`` months past it, and no agency reports any line of them since (``_unreported_since``). Health
    insurance covers every person who works or resides in France (CSS art. L160-1): a fund that stops listing
    someone has most likely been told of a death, a departure abroad or a move to another fund, which its extract
    does not carry; a file behind (its reach short of that) or one or two months late are not such a stop.
    ``reach``: agency → the last month its extract lists anyone in, of the whole population
    (``CoreMonth.listings_reach``: a partition must not read its own, shorter reach); None: read from ``tables``."""
    t = tables.get("listings")
    if t is None or months <= 0:
        return pl.DataFrame(schema=_LAST_LINE_SCHEMA)
    first = add_months(month, -window)
    reach = listings_reach(t, month) if reach is None else reach
    reached = pl.DataFrame({"source": list(reach), "_reach": list(reach.values())},
                           schema={"source": pl.String, "_reach": pl.Date})
    # each person's last month at each file, aggregated before it is collected: one row per person and file
    per = (t.lazy().filter(pl.col("month").is_between(first, month) & pl.col("person_id").is_not_null())
           .join(individu.lazy().select("person_id").unique(), on="person_id", how="semi")
           .group_by("person_id", pl.col("source_agency").cast(pl.String).alias("source"))
           .agg(pl.col("month").max()).collect())
    at = _stopped_at(per, reached, month, months)
    res = tables.get("resources")
    lines = (pl.DataFrame(schema={"person_id": pl.String, "month": pl.Date}) if res is None else
             _monthly_lines(res, first, month).join(at.lazy().select("person_id"), on="person_id", how="semi")
             .select("person_id", "month").collect())
    return _unreported_since(tables, at, lines, individu, first, month, listed=False)


def reexamined_by_payer(benefits_paid: pl.LazyFrame | pl.DataFrame | None, individu: pl.DataFrame,
                        month: dt.date, benefits: tuple[str, ...]) -> pl.DataFrame:
    """famille_id, benefit, _reexam_last: the familles one of its payers paid a benefit of ``benefits`` whose
    payer re-examines the right on its own after a nil re-examination (the catalogue's ``reexamined_months``:
    the housing aid, CCH art. R823-6) in those months before ``month``, with the last month paid. Whether they
    are paid ``month`` is not read here: detection takes the familles not receiving it."""
    schema = {"famille_id": pl.String(), "benefit": pl.String(), "_reexam_last": pl.Date()}
    spans = {b: n for b in benefits if (n := catalogue_row(b).reexamined_months) and not catalogue_row(b).yearly}
    if benefits_paid is None or not spans:
        return pl.DataFrame(schema=schema)
    first = min(add_months(month, -n) for n in spans.values())
    rows = _payment_rows(benefits_paid, individu, first, add_months(month, -1), tuple(spans))
    since = pl.col("benefit").replace_strict({b: add_months(month, -n) for b, n in spans.items()},
                                             return_dtype=pl.Date)
    payers = pl.col("benefit").replace_strict({b: list(catalogue_row(b).payers) for b in spans},
                                              return_dtype=pl.List(pl.String))
    return (rows.filter((pl.col("amount") > 0) & (pl.col("month") >= since) & payers.list.contains(pl.col("payer")))
            .group_by("famille_id", "benefit").agg(pl.col("month").max().alias("_reexam_last"))
            .select(list(schema)).cast(schema))  # type: ignore[arg-type]


def unattached_payments(tables: Mapping[str, pl.LazyFrame | pl.DataFrame | None], rows: pl.DataFrame | None,
                        month: dt.date) -> dict[str, int]:
    """benefit → the dossiers paid it in ``month`` whose memberships valid then list no adult (no demandeur nor
    conjoint): the payer's extract lost the lines of the people it pays there, so no famille we evaluate carries
    that payment. Each may be one of our flags of a famille that payer does not know (a bound on such false
    alarms, not a way to find them: nothing links the payment to a person). ``rows``: ``payment_rows``."""
    t = tables.get("unit_memberships")
    if rows is None or t is None:
        return {}
    valid = valid_on(month)
    adults = (t.lazy().filter(valid & (pl.col("unit_kind").cast(pl.String) == "famille")
                              & pl.col("role").cast(pl.String).is_in(list(PARENT_ROLES)))
              .select(qualified("source_agency", "unit_id").alias("famille_id")).unique().collect())
    # a payment read on its payee's famille (``on_payee_famille``) is attached to someone
    paid = (rows.filter((pl.col("unit_kind") == "famille") & (pl.col("month") == month) & (pl.col("amount") > 0)
                        & (pl.col("famille_id") == pl.col("unit_id")))
            .select("famille_id", "benefit").unique())
    return dict(paid.join(adults, on="famille_id", how="anti").group_by("benefit").len().sort("benefit").iter_rows())


def _yearly_due(benefits: Iterable[str], month: dt.date) -> dict[str, dt.date]:
    """Each yearly benefit of ``benefits`` → the month of the payment judged at ``month`` (``Benefit.due_month``):
    its payments are read from then on, not over the window of the monthly ones."""
    return {b: catalogue_row(b).due_month(month) for b in benefits if catalogue_row(b).yearly}


def _reach_month(reach: Mapping[str, dt.date] | None, month: dt.date) -> pl.Expr:
    """The month a payment row's extract answers for as ``month`` (``core.inputs.reach_month``)."""
    return reach_month(reach, month, pl.col("source_agency"))


def _first_month(month: dt.date, benefits: tuple[str, ...], window: int, grace: int,
                 reach: Mapping[str, dt.date] | None = None) -> dt.date:
    """The first month ``paid_by_famille`` reads: the window, the grace months (before the earliest extract's
    reach when one is behind), each yearly benefit's due month."""
    return min([add_months(earliest_reach(reach, month), -max(window, grace)), *_yearly_due(benefits, month).values()])


def payment_rows(benefits_paid: pl.LazyFrame | pl.DataFrame | None, individu: pl.DataFrame, month: dt.date,
                 benefits: tuple[str, ...], *, window: int, grace: int,
                 reach: Mapping[str, dt.date] | None = None,
                 dossiers: pl.DataFrame | None = None) -> pl.DataFrame | None:
    """The payments ``paid_by_famille`` reads (``benefits`` from its first month to ``month``), each on its
    famille, in one scan of ``benefits_paid``: handed to ``paid_by_famille`` and ``payers_by_famille`` (``rows``),
    which then do not scan it again. None without ``benefits_paid``."""
    if benefits_paid is None:
        return None
    return _payment_rows(benefits_paid, individu, _first_month(month, benefits, window, grace, reach), month,
                         benefits, dossiers)


def paid_by_famille(benefits_paid: pl.LazyFrame | pl.DataFrame | None, individu: pl.DataFrame,
                    month: dt.date, benefits: tuple[str, ...], *, window: int,
                    grace: int, rows: pl.DataFrame | None = None,
                    reach: Mapping[str, dt.date] | None = None,
                    dossiers: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per (famille_id, benefit) with any payment in the window: ``paid`` (this month, 0 when
    none), ``paid_before`` (the ``window`` months before), ``receiving`` (paid this month or in the
    ``grace`` months before). ``rows``: ``payment_rows`` of the same arguments, when already read.
    ``reach``: ``core.payments_reach``, the extracts that stop before the month: their last month stands for it (a
    famille one of them paid then receives; one paid only by extracts that reach the month is judged on it)."""
    schema = {"famille_id": pl.String(), "benefit": pl.String(), "paid": pl.Float64(),
              "paid_before": pl.Float64(), "receiving": pl.Boolean()}
    if benefits_paid is None:
        return pl.DataFrame(schema=schema)
    due = _yearly_due(benefits, month)
    yearly = list(due)
    if rows is None:
        rows = _payment_rows(benefits_paid, individu, _first_month(month, benefits, window, grace, reach), month,
                             benefits, dossiers)
    per_month = (rows.with_columns(_reach_month(reach, month).alias("_until"))
                 .group_by("famille_id", "benefit", "month", "source_agency")
                 .agg(pl.col("amount").sum(), pl.col("_until").first())
                 .group_by("famille_id", "benefit", "month").agg(pl.col("amount").max(), pl.col("_until").max()))
    m = pl.col("month")
    # the month each famille's payments answer for: the evaluated one, or its extracts' last when all are behind
    until = pl.col("_until").max()
    # a yearly benefit's payments since the payment due (one row per benefit: the month it is due)
    year_from = pl.col("benefit").replace_strict(due, default=None, return_dtype=pl.Date)
    is_year = pl.col("benefit").is_in(yearly)
    return per_month.group_by("famille_id", "benefit").agg(
        pl.when(is_year.first()).then(pl.col("amount").filter(m >= year_from.first()).sum().round(2) / _YEAR)
        .otherwise(pl.col("amount").filter(m == until).sum().round(2)).alias("paid"),
        # to the cent: a float sum's last bits depend on the order rows are summed in, which varies between
        # runs (a rerun must write the same bytes)
        pl.col("amount").filter((m < until) & (m >= until.dt.offset_by(f"-{window}mo"))).sum().round(2)
        .alias("paid_before"),
        pl.when(is_year.first()).then((m >= year_from.first()).any())
        .otherwise((m >= until.dt.offset_by(f"-{grace}mo")).any()).alias("receiving"),
    ).select(list(schema))


def receipts_by_famille(benefit_receipts: pl.LazyFrame | pl.DataFrame | None, individu: pl.DataFrame,
                        month: dt.date, benefits: tuple[str, ...], *, grace: int) -> pl.DataFrame:
    """famille_id, benefit, reporters: the familles one of whose members an agency reports as receiving a monthly
    benefit of ``benefits`` (``benefit_receipts``) this month or in the ``grace`` months before, on the famille the
    person belongs to in ``individu``, with the reporting agencies (sorted: a reason line names them, never as
    the payer). A yearly benefit is left out (a receipt says nothing of the payment due)."""
    schema = {"famille_id": pl.String(), "benefit": pl.String(), "reporters": pl.List(pl.String())}
    monthly = [b for b in benefits if not catalogue_row(b).yearly]
    if benefit_receipts is None or not monthly:
        return pl.DataFrame(schema=schema)
    lf = benefit_receipts.lazy() if isinstance(benefit_receipts, pl.DataFrame) else benefit_receipts
    rows = (lf.filter(pl.col("benefit").cast(pl.String).is_in(monthly)
                      & pl.col("month").is_between(add_months(month, -grace), month)
                      & pl.col("person_id").is_not_null())
            .select("person_id", pl.col("benefit").cast(pl.String), pl.col("source_agency").cast(pl.String))
            .unique().collect())
    return (rows.join(individu.select("person_id", "famille_id"), on="person_id")
            .filter(pl.col("famille_id").is_not_null()).group_by("famille_id", "benefit")
            .agg(pl.col("source_agency").drop_nulls().unique().sort().alias("reporters")).cast(schema))


def with_receipts(paid: pl.DataFrame, receipts: pl.DataFrame) -> pl.DataFrame:
    """``paid_by_famille``'s frame with ``receiving`` set for the familles of ``receipts_by_famille``; a famille
    received from no payer gets ``paid`` and ``paid_before`` 0 (no payer reported an amount)."""
    if receipts.is_empty():
        return paid
    receipts = receipts.select("famille_id", "benefit")
    extra = (receipts.join(paid, on=["famille_id", "benefit"], how="anti")
             .with_columns(pl.lit(0.0).alias("paid"), pl.lit(0.0).alias("paid_before"), pl.lit(True).alias("receiving"))
             .select(paid.columns))
    flagged = receipts.with_columns(pl.lit(True).alias("_r"))
    return pl.concat([
        paid.join(flagged, on=["famille_id", "benefit"], how="left")
        .with_columns((pl.col("receiving") | pl.col("_r").fill_null(False)).alias("receiving")).drop("_r"),
        extra.cast(paid.schema),  # type: ignore[arg-type]
    ])


def _payment_rows(benefits_paid: pl.LazyFrame | pl.DataFrame, individu: pl.DataFrame, first: dt.date,
                  month: dt.date, benefits: tuple[str, ...], dossiers: pl.DataFrame | None = None) -> pl.DataFrame:
    """The payments of ``benefits`` from ``first`` to ``month``, each on its famille: a famille payment on its
    payer's famille (the core qualifies a famille id by the agency that holds it; a dossier not held, on its payee's
    or its adults' famille now: ``on_payee_famille``, ``dossiers`` its ``famille_dossiers``), a person's on the
    famille the person belongs to in ``individu``; with ``source_agency`` and ``payer`` (the paying agency)."""
    lf = benefits_paid.lazy() if isinstance(benefits_paid, pl.DataFrame) else benefits_paid
    payer = "paying_agency" if "paying_agency" in lf.collect_schema().names() else "source_agency"
    rows = (lf.filter(pl.col("benefit").cast(pl.String).is_in(list(benefits))
                      & (pl.col("month") >= first) & (pl.col("month") <= month))
            .select(pl.col("unit_kind").cast(pl.String),
                    qualified(payer, "unit_id", "source_agency").alias("unit_id"), "person_id",
                    pl.col("benefit").cast(pl.String), "month", pl.col("amount").cast(pl.Float64),
                    pl.col("source_agency").cast(pl.String), pl.col(payer).cast(pl.String).alias("payer"))
            .collect())
    fam_of = individu.select("person_id", pl.col("famille_id").alias("_fam"))
    rows = (rows.join(fam_of, on="person_id", how="left")
            .with_columns(pl.when(pl.col("unit_kind") == "famille").then(pl.col("unit_id"))
                          .otherwise(pl.col("_fam")).alias("famille_id")).drop("_fam"))
    # a dossier we hold no famille of: on its payee's famille (the MSA's line names him), else its adults' now
    held = individu.get_column("famille_id").drop_nulls().unique()
    members = individu.select(c for c in ("person_id", "famille_id", "famille_role") if c in individu.columns)
    return on_payee_famille(rows, held, members, dossiers).filter(pl.col("famille_id").is_not_null())


def payers_by_famille(benefits_paid: pl.LazyFrame | pl.DataFrame | None, individu: pl.DataFrame,
                      month: dt.date, benefits: tuple[str, ...], *, grace: int,
                      rows: pl.DataFrame | None = None, reach: Mapping[str, dt.date] | None = None) -> pl.DataFrame:
    """famille_id, benefit, payers: the agencies that paid each famille ``benefits`` this month or in the ``grace``
    months before (the payment ``paid_by_famille`` reads as received), sorted; a reason line names them.
    ``rows``: ``payment_rows`` already read (for these months at least, of these benefits or more): filtered
    here instead of a second scan of ``benefits_paid``."""
    schema = {"famille_id": pl.String(), "benefit": pl.String(), "payers": pl.List(pl.String())}
    if benefits_paid is None or not benefits:
        return pl.DataFrame(schema=schema)
    first = add_months(earliest_reach(reach, month), -grace)
    if rows is None:
        rows = _payment_rows(benefits_paid, individu, first, month, benefits)
    else:
        rows = rows.filter(pl.col("benefit").is_in(list(benefits)) & pl.col("month").is_between(first, month))
    # each extract's rows from the grace months before the month it answers for (its last when it is behind)
    rows = rows.filter(pl.col("month") >= _reach_month(reach, month).dt.offset_by(f"-{grace}mo"))
    return (rows.filter(pl.col("payer").is_not_null()).group_by("famille_id", "benefit")
            .agg(pl.col("payer").unique().sort().alias("payers")).cast(schema))  # type: ignore[arg-type]


def payments_known(tables: Mapping[str, pl.LazyFrame | pl.DataFrame | None],
                   benefits: tuple[str, ...], *, sent: Iterable[str] | None = None,
                   carried: Mapping[str, tuple[str, ...]] | None = None) -> dict[str, bool]:
    """benefit → whether its payments are known: an agency the catalogue names as paying it (``payers``) sent an
    extract to the run (its rows in ``persons``, ``unit_memberships`` or ``benefits_paid``: an agency that pays a
    benefit reports every payment of it, so a famille it does not list was paid nothing), or some agency reported
    a payment of it. A benefit nobody in the run pays (the chèque énergie, sent by the ASP; the ASPA in a run
    without the pension funds) has unknown payments, never zero, as has one whose payers' extracts do not carry
    it (``carried``: ``CoreConfig.payment_benefits``; a CPAM file without the ASI's column). ``sent``:
    ``agencies_sent(tables)`` when the caller has it already (one scan of the tables fewer)."""
    if "benefits_paid" not in tables or tables.get("benefits_paid") is None:
        return dict.fromkeys(benefits, False)
    agencies, reported = _agencies_sent(tables, {"benefits_paid"} if sent is not None else None)
    agencies = set(sent) if sent is not None else agencies
    return {b: bool(payers_of(b, agencies, carried)) or b in reported for b in benefits}


def _agencies_sent(tables: Mapping[str, pl.LazyFrame | pl.DataFrame | None],
                   only: set[str] | None = None) -> tuple[set[str], set[str]]:
    """The agencies that sent an extract to the run (their rows in ``persons``, ``unit_memberships`` or
    ``benefits_paid``), and the benefits some agency reported a payment of; ``only``: the tables read (the
    agencies then those of these tables alone). Each table is read once, all its columns in one query."""
    agencies: set[str] = set()
    reported: set[str] = set()
    for name in ("persons", "unit_memberships", "benefits_paid"):
        t = tables.get(name)
        if t is None or (only is not None and name not in only):
            continue
        lf = t.lazy() if isinstance(t, pl.DataFrame) else t
        cols = [c for c in ("source_agency", "paying_agency") if c in lf.collect_schema().names()]
        if name == "benefits_paid":
            cols.append("benefit")
        if not cols:
            continue
        seen = lf.select([pl.col(c).cast(pl.String).unique().implode() for c in cols]).collect(engine="streaming")
        values = {c: {v for v in seen.get_column(c)[0] if v is not None} for c in cols}
        reported |= values.pop("benefit", set())
        for found in values.values():
            agencies |= found
    return agencies, reported


def agencies_sent(tables: Mapping[str, pl.LazyFrame | pl.DataFrame | None]) -> set[str]:
    """The agencies that sent an extract to the run (their rows in ``persons``, ``unit_memberships`` or
    ``benefits_paid``)."""
    return _agencies_sent(tables)[0]


def payers_absent(tables: Mapping[str, pl.LazyFrame | pl.DataFrame | None],
                  benefits: Iterable[str],
                  carried: Mapping[str, tuple[str, ...]] | None = None) -> dict[str, list[str]]:
    """benefit → the agencies paying it (the catalogue's ``payers``) that sent no extract, for the benefits another
    payer of which did: their payments are known in part only. A run without the CNAM's extract counted the free
    CSS the MSA pays its farmers as every CSS paid (8 units paid instead of 86, a rate of 94.8 % instead of
    48.3 %: found probing the monthly operations from the docs alone, 5 December 2026); statistics publish no
    rate on such payments (``outputs.stage``) and the report names the agencies missing. ``carried``:
    ``CoreConfig.payment_benefits``, a payer whose extracts do not carry the benefit's payments is missing for it."""
    agencies, _ = _agencies_sent(tables)
    return {b: list(missing) for b in benefits
            if (missing := payers_missing(b, payers_of(b, agencies, carried)))}
