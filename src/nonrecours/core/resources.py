"""Resources of every reference month from the best source, and the ranges of what no source gives.

Source priority lives in :class:`CoreConfig` (pydantic, defaults below), never in code paths:

- a *monthly* value comes from the first agency of ``monthly_priority[input]`` that has a row for the
  person and month (DRM first: DSN salaries and PASRAU replacement incomes are the state's monthly source);
- a person's monthly input is *observed* (a missing month is a true zero) when some agency *covers* it:
  an exhaustive source for that input (``exhaustive``: the DRM for everything, France Travail for ARE, the
  CNAM for invalidity pensions), an agency that follows the person's famille and declares its resources
  (``followers``: CAF, MSA; the members it lists itself, not one the core added from the DGFiP; of the kinds its
  extract's layout carries, ``follower_kinds``: the MSA's has no alimony, so its silence on it is no zero),
  a pension fund that knows the person (``pension_funds``), or an
  agency that reports that input for that person at all; the DRM declares net pensions only, and answers
  for the gross pension of the persons it covers for net pensions (``gross_zero_from``): 0 in a month it
  lists no pension for, net × ``pension_gross_over_net`` in a month it lists one;
- the provenance names the agency whose rows of the input for the person the values are read from (the CNAM's
  invalidity pension of a person the DRM lists none for), else a covering agency that knows the person, else
  none: an exhaustive source's zero for a person it sent nothing of is observed, sent by no agency (``_COVER_TIERS``);
- an exhaustive source covers the persons it identifies: someone it has no row for in the window while the
  DGFiP's latest year shows that kind of income (stopped, or a row it failed to match to a NIR) is *unknown*
  from 0 (central, uninformed) to the declared level, never an observed 0;
- a follower answers for none of a lasting kind of income (a pension, alimony) no monthly row of the window shows
  for the person while the DGFiP's latest year (N-1 or N-2) declares some (``_follower_silence``): estimated from
  the declaration, net, from the follower's 0 to the declared level and its spread (an exhaustive source silent
  too: its doubt, above);
- otherwise the monthly value is *estimated* from the DGFiP's yearly income (``annual_income``) of the latest
  year the DGFiP knows the person (an income row of any kind, or a foyer fiscal membership: its connector emits
  only non-zero amounts, so a kind with no row that year was declared 0), or *unknown* with a range
  (``unknown_high``), central value 0, for a person the DGFiP does not know;
- the ``*_imposable(s)_n2`` inputs are the DGFiP's yearly amounts of year N-2 of each month; without them
  ``revenus_n2_renseignes`` is unknown (central False: the rules then estimate N-2 from the months).

Months the rules read before the covering agency's first extract month are filled with that agency's
first month and marked estimated (the look-back is derived from the rules: the depths of their plan, see ``lookback``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, field_validator

from nonrecours.schemas.codes import AGENCIES, NET_TO_TAXABLE, RESOURCE_KINDS, agency_of

__all__ = ["KNOWN_PROFIT", "MONTHLY_INPUTS", "N2_INPUTS", "CoreConfig", "known_profit", "lookback", "month_range",
           "monthly_resources", "months_held", "n2_high", "n2_resources", "resource_windows"]

MONTHLY_INPUTS: dict[str, str] = {
    "salary_net": "salary_net",
    "unemployment_benefit": "unemployment",
    "pension_net": "pension_net",
    "pension_gross": "pension_gross",
    "invalidity_pension": "invalidity_pension",
    "alimony": "alimony_received",
    "daily_allowance": "indemnites_journalieres",
    "other": "autres_ressources",
}
"""Canonical resource kind → rule input. ``salary_taxable`` and ``self_employment`` are not monthly rule inputs;
the DGFiP's rows (yearly amounts) are read as yearly income, never as months. The daily allowances (sickness,
maternity, work accident) and the other resources the DRM declares were read and counted by no rule until a
probe of hand-written households (5 December 2026: 900 € of daily allowances, RSA « certain »)."""

N2_INPUTS: dict[str, tuple[str, ...]] = {
    "revenu_activite_imposable_n2": ("salaries", "unemployment"),
    "pensions_imposables_n2": ("pensions", "alimony"),
    "revenus_non_salaries_n2": ("self_employment",),
}
"""Rule input of year N-2 → the ``annual_income`` kinds it sums."""

_ANNUAL_OF_INPUT: dict[str, tuple[str, float]] = {
    "salary_net": ("salaries", 1.0),
    "unemployment": ("unemployment", 1.0),
    "pension_net": ("pensions", 1.0),
    "pension_gross": ("pensions", 1.0),
    "alimony_received": ("alimony", 1.0),
    # the taxable daily allowances are declared among the salaries, the other incomes among the pensions and
    # annuities: the yearly income already estimates them under those inputs, so a person it knows has none of
    # them apart (informed), and no doubt of the DRM's is raised on them
    "indemnites_journalieres": ("salaries", 0.0),
    "autres_ressources": ("pensions", 0.0),
}
"""Monthly input → the yearly kind that estimates it, and the share of it (the gross pension's is replaced by
``CoreConfig.pension_gross_over_net``)."""

_DERIVED_INPUTS: frozenset[tuple[str, str]] = frozenset({("pension_net", "pension_gross")})
"""(resource kind, monthly input) pairs where a layout carrying the kind answers for the input too: the gross
pension follows from the net one (none without a net pension, net × ``pension_gross_over_net`` with one), so a
follower declaring net pensions (the CAF's layout: ``PEN``) answers for the gross pension as well."""

_ROWS, _KNOWS, _SILENT = 0, 1, 2
_COVER_TIERS = {_ROWS: "rows of the person's input", _KNOWS: "knows the person",
                _SILENT: "exhaustive, sent nothing of the person"}
"""How an agency covering a person's monthly input knows it, which decides the agency the provenance names: 0, rows
of that input for the person in the window; 1, the person (a follower, a pension fund, an exhaustive source with rows
of another input of theirs); 2, nothing (an exhaustive source with no row of the person at all, whose silence is a
zero no agency sent: observed, no agency named). The provenance names the best-ranked agency with rows of the input
(``CoreConfig.monthly_priority``: the one whose values are read, the CNAM's invalidity pension of a person the DRM
lists none for), else the best-ranked covering agency of tier 1 (the CAF that follows a person the DRM lists
nothing of, whose zero salary it holds). The covering agency, and its window (the months filled before
its first, the trailing months), stays the best-ranked one whatever its tier: a job seeker's France Travail rows from
May read January to April as the DRM's zero, not as May's benefit carried back. Until 6 December 2026 the covering
agency was named whatever its rows: the DRM, exhaustive and first for every input, for an invalidity pension only
the CNAM sent (a tester's hand-written households, K122 and K145), daily allowances or unemployment benefit."""

_DGFIP_SPREAD_KINDS = {"salary_taxable": "salaries", "alimony": "alimony", "self_employment": "self_employment"}
"""Legacy DGFiP rows spread over 12 months by the connectors: summed back into yearly income."""


class CoreConfig(BaseModel):
    """How the core chooses among sources and bounds what it does not know (every default documented). An unknown
    field is refused (a misspelt setting would otherwise be dropped silently and its default used)."""

    model_config = ConfigDict(extra="forbid")

    targets: tuple[str, ...] = ("rsa", "ppa", "aspa", "css_free", "css_participation",
                                "css_participation_monthly")
    monthly_priority: dict[str, tuple[str, ...]] = Field(default_factory=lambda: {
        "salary_net": ("synth", "drm", "caf", "msa", "france_travail", "cnav", "cnam"),
        "unemployment": ("synth", "drm", "france_travail", "caf", "msa", "cnam", "cnav"),
        "pension_net": ("synth", "drm", "cnav", "msa", "caf", "cnam", "france_travail"),
        # the DRM (PASRAU) declares net pensions only: gross comes from the pension funds (the DRM last: it
        # answers for the gross pension only of a person it covers with no net pension, ``gross_zero_from``)
        "pension_gross": ("synth", "cnav", "msa", "caf", "cnam", "france_travail", "drm"),
        "invalidity_pension": ("synth", "drm", "cnam", "msa", "caf", "cnav", "france_travail"),
        "alimony_received": ("synth", "caf", "msa", "drm", "cnam", "cnav", "france_travail"),
        "indemnites_journalieres": ("synth", "drm", "cnam", "msa", "caf", "cnav", "france_travail"),
        "autres_ressources": ("synth", "drm", "caf", "msa", "cnam", "cnav", "france_travail"),
    })
    exhaustive: dict[str, tuple[str, ...]] = Field(default_factory=lambda: {
        "salary_net": ("synth", "drm"),
        "unemployment": ("synth", "drm", "france_travail"),
        "pension_net": ("synth", "drm"),
        "pension_gross": ("synth",),
        "invalidity_pension": ("synth", "drm", "cnam"),
        "alimony_received": ("synth",),
        # PASRAU declares the daily allowances the CPAM and the MSA pay; the DRM's « other » lines are the other
        # incomes declared through it (its window, as for the salaries)
        "indemnites_journalieres": ("synth", "drm"),
        "autres_ressources": ("synth", "drm"),
    })
    gross_zero_from: tuple[str, ...] = ("drm",)
    """Exhaustive sources of net pensions (``exhaustive["pension_net"]``) that also answer for the gross pension
    of the persons they cover: PASRAU lists every pension paid, and a pension with a gross amount has a net one,
    so a month it lists no pension for has a gross pension of 0 (a month it lists one: net × the ratio, below).
    A person it does not cover for net pensions (absent from it while the DGFiP declares pensions) is left out."""
    followers: tuple[str, ...] = ("caf", "msa")
    follower_kinds: dict[str, tuple[str, ...]] | None = None
    """Agency → the resource kinds (``resources.kind``) its extract's layout carries
    (``connectors.ExtractMapping.resource_kinds``, recorded by ingest in each extract's report and read back by
    ``core.workspace.follower_kinds``): a follower answers for its members' monthly inputs of those kinds only, a
    kind its layout cannot carry (the MSA's default layout: alimony, unemployment benefit, invalidity pension)
    is estimated or unknown as for anyone no agency covers. None, or a follower it does not name: the follower
    answers for every kind (tables handed to ``build_month`` with no record of their layout; a workspace ingested
    before the record existed, with a warning). Kept sorted, without repeats."""
    payment_extracts: tuple[str, ...] | None = None
    """Agencies whose extract in the workspace carries payments (its layout writes ``benefits_paid``, read from the
    workspace's files by ``core.workspace.workspace_core_config``), whether or not it paid anyone: a payer whose
    extract lists no ASPA paid has paid none (a small territory's CNAV file of retirees none of whom draws it), not
    « payments unknown ». Only those of them that sent rows of any table are read so (an exchange-value rerun without
    an agency's extract). None: the payers are those ``benefits_paid`` names."""
    payment_benefits: dict[str, tuple[str, ...]] | None = None
    """Agency → the benefits whose payments its extracts carry (``connectors.ExtractMapping.payment_benefits``,
    recorded by ingest in each extract's report and read back by ``core.workspace.workspace_core_config``): a
    benefit's payments are known only from a payer whose extracts carry them (a CPAM file without ``MONTANT_ASI``
    says nothing of the ASI paid: the ASI's payments are unknown there, not 0). None, or an agency it does not
    name: that agency's extracts carry every benefit it pays (tables handed to ``build_month`` with no record of
    their layout; a workspace ingested before the record existed)."""
    pension_funds: tuple[str, ...] = ("cnav", "msa")
    continuing: tuple[str, ...] = ("pension_net", "pension_gross")
    """Monthly inputs paid for life (a retirement pension): a person's rows of one that stop before the month while
    the source's extract goes on are a late or lost row, seldom a stop (a death, a suspension), so the months after
    are unknown, not 0 (``monthly_resources``). Any other input stops with its rows (a job, a right that ends)."""
    composition_priority: tuple[str, ...] = ("synth", "caf", "msa", "cnav", "dgfip", "cnam", "france_travail",
                                             "drm")
    """Order among agencies for famille and ménage composition when no payment or recency decides."""
    pension_files: tuple[str, ...] = ("cnav", "msa")
    """Agencies whose famille may be a retiree's pension file, not a household composition they assessed: the CNAV
    opens a file per retiree (each spouse's own pension) and assesses a couple only for an ASPA it pays; the MSA,
    the farmers' pension fund, likewise for a retiree's dossier (``pension_files_if_retired``). Two spouses of one
    joint declaration these agencies list in two files (of one fund or of two: a farmer's wife salaried in the
    general scheme draws her pension from the CNAV), each alone, no payment of the file's agency to either, are one
    couple (``core.units._pension_file_couples``). Never the CAF: its dossier is the composition it assesses for
    family benefits, two dossiers of two spouses a separation the DGFiP's last year's declaration predates."""
    pension_files_if_retired: tuple[str, ...] = ("msa",)
    """Of ``pension_files``, the agencies whose dossier is also the composition they assess for family benefits (the
    MSA: farmers and farm workers): their famille counts as a pension file only when its demandeur draws a pension
    of that agency (``pension_net``/``pension_gross``, the MSA's RETNET/RETBRUT lines) in the twelve months to the
    month, a retiree's dossier. Alone in it and paid nothing (no family benefit, RSA, prime d'activité, housing aid
    or ASPA), it assessed no composition."""
    person_priority: tuple[str, ...] = ("synth", "caf", "msa", "cnav", "dgfip", "cnam", "france_travail", "drm")
    stale_months: int = 3
    """A composition from an extract older than this many months before the evaluated month is unknown."""
    housing_months: int = 3
    """A housing row this many months old at most still describes the dwelling of the month."""
    unknown_high: dict[str, float] = Field(default_factory=lambda: {
        "salary_net": 3000.0, "unemployment": 2000.0, "pension_net": 2500.0, "pension_gross": 2800.0,
        "invalidity_pension": 1500.0, "alimony_received": 600.0, "indemnites_journalieres": 1500.0,
        "autres_ressources": 600.0,
    })
    """Upper end of a monthly resource no agency reports (euros per month)."""
    estimate_spread: float = 0.25
    """An estimate from yearly income may be off by this share either way (irregular months)."""
    pension_gross_over_net: float = 1.10
    """Gross pension ≈ net × this (CSG, CRDS, CASA on a full-rate retiree)."""
    rent_typical: float = 450.0
    rent_ceiling: float = 900.0
    """Rent of a ménage the CAF does not know: central typical rent, up to a zone ceiling (euros)."""
    adult_age: tuple[int, int, int] = (18, 45, 95)
    child_age: tuple[int, int, int] = (0, 10, 25)
    """Age range (low, central, high) of someone no agency gives a birth month for."""
    student_age: int = Field(29, ge=16)
    """From this age, a person whose agencies transmit no studies is *estimated* not a student (an informed
    unknown: detection keeps it at its central value for a probable flag). INSEE, « Scolarisation des jeunes de
    18 à 29 ans », France, portrait social (éditions 2019-2025, DEPP/MESR data): the share of a generation still
    in education is about 12 % at 25 (12.2 % at the 2019 school year) and 3 % at 29 (2.6 % to 3.8 % every year
    since 1986). Below this age the studies stay unknown (unfavourable: a student)."""
    rsa_subsidiarity: bool = True
    """The RSA counts each family benefit and the housing aid of the month at the larger of the amount paid and the
    amount due (the rules' ``rsa_subsidiarite``): the RSA is subsidiary, a foyer must claim the benefits it is due
    (CASF art. L262-10), so the RSA of a famille also flagged for an allocation de base, an ASF or a housing aid is
    the one it gets once it claims them all, not an RSA inflated by what it forgoes elsewhere (a lone parent with
    nothing paid: 1,115.80 € read on the payments, 652.65 € once the PAJE, the ASF and the housing aid are
    claimed, as OpenFisca-France computes). False: the RSA on the payments alone (the situation as it stands)."""
    pregnancy_ages: tuple[int, int] = (12, 55)
    """Ages (from, below) at which a woman's pregnancy no agency transmits is unknown. Outside them no pregnancy is
    assumed, not estimated: births to mothers under 13 or aged 55 or more are a few dozen a year in France among
    some 660,000 (INSEE, état civil, births by age of the mother), so asking a woman of 70 whether she is pregnant
    (the RSA's majoration, CASF art. L262-9) would be an absurd question, and so would it be of a man (the NIR's
    sex digit gives the sex an extract leaves out)."""
    invalidity_end_age: int | None = Field(67, ge=18)
    """From this age a person draws no invalidity pension: it ends at the legal retirement age, replaced by the
    retirement pension for unfitness (CSS art. L341-15), and continues past it only for an insured person still
    working, up to the full-rate age, 67 (L341-16, L351-8 1°). An invalidity pension no agency reports is 0 from it,
    a fact of the law, not an estimate (a farmer's widow of 70 the MSA pays a pension of 652 € a month had her
    ASPA « possible », its one deciding unknown an invalidity pension of 0 to 1,500 €: an outside tester, 7 December
    2026); None: unknown at every age."""
    alimony_age: int | None = Field(62, ge=18)
    """From this age, a person no agency declares alimony for (no CAF dossier, no DGFiP income) is *estimated* to
    receive none (an informed unknown: detection keeps it at its central 0 for a probable flag); None: unknown at
    every age. INSEE Analyses Bourgogne-Franche-Comté n° 91 (November 2021, Filosofi 2018): 4 % of households
    receive an alimony, half of them single parents and a third couples with children; the remaining sixth
    (about 0.7 % of households, some 1 % of those without children) mostly young adults helped by their parents,
    and some elderly people helped by their children (Code civil art. 205). Younger, the alimony stays unknown
    (a separated parent's, a student's)."""
    partner_age_gap: int = 15
    """Two adults living without a partner in one dwelling the DGFiP declares could be a couple when their ages
    differ by less than this many years; further apart they are more likely a parent and an adult child (INSEE:
    the partners of a couple are 2 to 3 years apart on average, more than 15 years for a few percent of them)."""
    rfr_unexplained: tuple[float, float] = (1000.0, 0.2)
    """A foyer's revenu fiscal de référence exceeding the declared incomes of its persons in the extract by more
    than these euros and this share of the RFR shows a declarant (or an income) the extract lacks."""
    lookback_months: int | None = None
    """Months of history read before the evaluated month; None: derived from the rules (the depths of their plan)."""

    @field_validator("follower_kinds")
    @classmethod
    def _kinds(cls, v: dict[str, tuple[str, ...]] | None) -> dict[str, tuple[str, ...]] | None:
        if v is None:
            return None
        for agency, kinds in v.items():
            if agency not in AGENCIES:
                raise ValueError(f"unknown agency {agency!r}; known: {', '.join(AGENCIES)}")
            unknown = sorted(set(kinds) - set(RESOURCE_KINDS))
            if unknown:
                raise ValueError(f"unknown resource kind {unknown[0]!r}; known: {', '.join(RESOURCE_KINDS)}")
        return {a: tuple(sorted(set(v[a]))) for a in sorted(v)}

    def follower_answers(self, agency: str, inp: str) -> bool:
        """Whether follower ``agency`` answers for its members' monthly input ``inp`` (``MONTHLY_INPUTS``' value):
        its layout carries a kind of resource read as that input (``follower_kinds``)."""
        if self.follower_kinds is None or agency not in self.follower_kinds:
            return True
        return any(MONTHLY_INPUTS.get(k) == inp or (k, inp) in _DERIVED_INPUTS for k in self.follower_kinds[agency])


def month_range(month: dt.date, back: int) -> list[dt.date]:
    """The ``back`` months before ``month`` and ``month`` itself, oldest first."""
    i = month.year * 12 + month.month - 1
    return [dt.date((i - k) // 12, (i - k) % 12 + 1, 1) for k in range(back, -1, -1)]


def lookback(config: CoreConfig, month: dt.date) -> dict[str, int]:
    """Per monthly input, how many months before ``month`` the targets' plan reads (the deepest shift).

    Derived from the rules, not a constant: CSS adds the ASPA of each of the twelve previous months, and each
    of those reads three months of gross pensions before it (M-15), PPA/RSA quarters read further back. The
    depths of the targets' plan at ``month`` (``engine.plan.input_depths``, kept by the engine: a run asks the
    same month many times), found without building the plan.
    """
    from nonrecours.engine.evaluate import cached_input_depths
    from nonrecours.rules.registry import default_registry

    depth = cached_input_depths(tuple(config.targets), default_registry(), month)
    if config.lookback_months is not None:
        depth = {k: config.lookback_months for k in depth}
    return depth


def _agency(col: str = "source_agency") -> pl.Expr:
    return pl.col(col).cast(pl.String)


def _priority_table(priority: Mapping[str, tuple[str, ...]]) -> pl.DataFrame:
    rows = [(inp, a, r) for inp, order in priority.items() for r, a in enumerate(order)]
    return pl.DataFrame(rows, schema={"input": pl.String, "agency": pl.String, "rank": pl.Int32}, orient="row")


def annual_income(lf: Mapping[str, pl.LazyFrame], years: list[int]) -> tuple[pl.LazyFrame | None, str]:
    """Yearly income (person_id, year, kind, amount, source_agency, extract_date) and where it comes from:
    the ``annual_income`` table, else the DGFiP's legacy yearly rows spread over months, summed back."""
    if "annual_income" in lf:
        a = (lf["annual_income"].filter(pl.col("year").cast(pl.Int32).is_in(years))
             .select("person_id", pl.col("year").cast(pl.Int32), pl.col("kind").cast(pl.String),
                     pl.col("amount").cast(pl.Float64), _agency(), "extract_date"))
        return a, "annual_income"
    if "resources" in lf:
        a = (lf["resources"]
             .filter((_agency() == "dgfip") & pl.col("kind").cast(pl.String).is_in(list(_DGFIP_SPREAD_KINDS))
                     & pl.col("month").dt.year().cast(pl.Int32).is_in(years))
             .group_by("person_id", pl.col("month").dt.year().cast(pl.Int32).alias("year"),
                       pl.col("kind").cast(pl.String).replace_strict(_DGFIP_SPREAD_KINDS).alias("kind"))
             .agg(pl.col("amount").cast(pl.Float64).sum(), pl.lit("dgfip").alias("source_agency"),
                  pl.col("extract_date").max()))
        return a, "resources (dgfip, yearly)"
    return None, "absent"


def _invalidity_means(obs: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """The invalidity pension the months read observe, per person: (person_id, year, ``_inv_y``) the mean of a
    year's months and (person_id, ``_inv_all``) the mean of every month; None when nobody's is observed."""
    inv = obs.filter(pl.col("input") == "invalidity_pension")
    if inv.height == 0:
        return None
    return (inv.group_by("person_id", pl.col("month").dt.year().cast(pl.Int32).alias("year"))
            .agg(pl.col("amount").mean().alias("_inv_y")),
            inv.group_by("person_id").agg(pl.col("amount").mean().alias("_inv_all")))


def _without_invalidity(yearly: pl.DataFrame, invalidity: tuple[pl.DataFrame, pl.DataFrame] | None) -> pl.DataFrame:
    """Yearly income (person_id, year, kind, amount) with the invalidity pension taken out of ``pensions``.

    The DGFiP declares invalidity pensions with the retirement pensions (CGI art. 79 and 158-5: one box of form
    2042, « pensions, retraites, rentes »), while the months read observe the invalidity pension as an input of
    its own (CNAM, DRM, CAF): estimating a retirement pension from the declared pensions of a person whose
    invalidity pension is observed counted it twice (the ASI's, ASPA's, AAH's resources). Taken out: 12 × the mean
    of the months observed in that year (the pension is revalued once a year), else of every month observed
    (a year the window does not reach; ``invalidity``: ``_invalidity_means``), never below 0 (a remainder under
    the declaration's rounding to the euro is 0).

    ``amount_high``: the most the year's income may hold besides the invalidity pension. Where no month of the
    declared year observes the invalidity pension, the declaration cannot tell whether it holds it (a pension
    granted since, or a year before the months read): its pensions are then anything from the remainder
    (``amount``, the central value) to the whole declared amount, a range, not a choice made silently
    (``monthly_resources`` widens the estimate's range and the doubt's to it). Elsewhere it is ``amount``."""
    if invalidity is None or yearly.height == 0:
        return yearly.with_columns(pl.col("amount").alias("amount_high"))
    of_year, of_all = invalidity
    pensions = pl.col("kind") == "pensions"
    return (yearly.with_columns(pl.col("year").cast(pl.Int32), pl.col("amount").cast(pl.Float64))
            .join(of_year, on=["person_id", "year"], how="left").join(of_all, on="person_id", how="left")
            .with_columns(pl.when(pensions)
                          .then(pl.col("amount") - 12 * pl.coalesce("_inv_y", "_inv_all").fill_null(0.0))
                          .otherwise(pl.col("amount")).alias("_rest"))
            # the DGFiP declares whole euros: a remainder under 1 € is that rounding, not a pension
            .with_columns(pl.when(pensions & (pl.col("_rest") < 1.0)).then(0.0).otherwise(pl.col("_rest"))
                          .alias("_rest"))
            .with_columns(pl.when(pensions & pl.col("_inv_y").is_null() & pl.col("_inv_all").is_not_null())
                          .then(pl.col("amount")).otherwise(pl.col("_rest")).alias("amount_high"),
                          pl.col("_rest").alias("amount"))
            .drop("_inv_y", "_inv_all", "_rest"))


def _latest_by_kind(yearly: pl.DataFrame, latest: pl.DataFrame,
                    invalidity: tuple[pl.DataFrame, pl.DataFrame] | None) -> pl.DataFrame:
    """(person_id, kind, amount, amount_high): the yearly income of the year ``latest`` (person_id, year) gives each
    person, summed by kind, the invalidity pension taken out of the pensions (``_without_invalidity``: the most it
    may be where the declaration cannot tell, ``amount_high``)."""
    of_year = (yearly.join(latest.select("person_id", "year"), on=["person_id", "year"], how="semi")
               .group_by("person_id", "year", "kind").agg(pl.col("amount").sum()))
    return (_without_invalidity(of_year, invalidity).group_by("person_id", "kind")
            .agg(pl.col("amount").sum(), pl.col("amount_high").sum()))


def dgfip_declared(lf: Mapping[str, pl.LazyFrame], years: list[int]) -> pl.LazyFrame:
    """(person_id, year, extract_date): the income years ``years`` the DGFiP places the person in a foyer fiscal
    (a declarant or a dependant of a declaration of that year)."""
    schema = {"person_id": pl.String, "year": pl.Int32, "extract_date": pl.Date}
    if "unit_memberships" not in lf:
        return pl.LazyFrame(schema=schema)
    return (lf["unit_memberships"]
            .filter((_agency() == "dgfip") & (pl.col("unit_kind").cast(pl.String) == "foyer_fiscal"))
            .select("person_id", pl.col("valid_from").dt.year().cast(pl.Int32).alias("year"), "extract_date")
            .filter(pl.col("year").is_in(years)).cast(schema))  # type: ignore[arg-type]


def resource_windows(lf: Mapping[str, pl.LazyFrame], month: dt.date, depth: Mapping[str, int]) -> pl.DataFrame:
    """(agency, w_from, w_to, w_holes): the months each agency's monthly resource rows span in the evaluated
    window, and the months inside it none of its rows is of (a month missing from its whole extract: a file lost
    in transfer), over every row of the table (a fact of the extract, the same whichever persons are evaluated: a
    partitioned run computes it once for all partitions). Collected by the streaming engine (the kinds kept
    are listed, not mapped: ``replace_strict`` would send the query back to the in-memory engine, which holds
    every row's ``person_id``: 1.55 GiB at 1 million persons, 0.23 GiB streamed)."""
    inputs = [i for i in MONTHLY_INPUTS.values() if i in depth]
    first = month_range(month, max((depth[i] for i in inputs), default=0))[0]
    schema = {"agency": pl.String, "w_from": pl.Date, "w_to": pl.Date, "w_holes": pl.List(pl.Date)}
    if "resources" not in lf:
        return pl.DataFrame(schema=schema)
    months = (lf["resources"]
              .filter((pl.col("month") >= first) & (pl.col("month") <= month) & (_agency() != "dgfip")
                      & pl.col("kind").cast(pl.String).is_in([k for k, i in MONTHLY_INPUTS.items() if i in inputs])
                      & pl.col("person_id").is_not_null() & (pl.col("person_id") != ""))
              .group_by(_agency().alias("agency"), "month").len()
              .collect(engine="streaming"))
    return months_held(months).cast(schema)  # type: ignore[arg-type]


HOLE_MIN_ROWS = 5
"""The fewest rows the months an agency holds on either side of a month it holds none of must each have for
``months_held`` to read that month as lost from its extract: a follower of two familles with no income that month
(a CAF file of two dossiers whose members earned nothing in July) is as likely as a lost file, and its persons' zero
stays a zero. Five, as ``core.inputs.HOLE_MIN_PAYEES`` judges a payment file. Until 7 December 2026 any month
with no row was a lost file: an outside tester's two CAF dossiers had their months of no income estimated at 1,575
and 825 € from the months around them, a housing aid of 217 € (OpenFisca's) read as 78 € (probe11, run5)."""


def months_held(months: pl.DataFrame) -> pl.DataFrame:
    """(agency, w_from, w_to, w_holes) of the (agency, month, len) rows of an agency's extracts (``len``: its rows
    of the month): its first and last month, and the months between two months it holds, of which it holds no row,
    where the two months on either side each hold ``HOLE_MIN_ROWS`` rows or more (sorted), by agency."""
    schema = {"agency": pl.String, "w_from": pl.Date, "w_to": pl.Date, "w_holes": pl.List(pl.Date)}
    if months.is_empty():
        return pl.DataFrame(schema=schema)
    bounds = months.group_by("agency").agg(pl.col("month").min().alias("w_from"), pl.col("month").max().alias("w_to"))
    gaps = (months.sort("agency", "month")
            .with_columns(pl.col("month").shift(-1).over("agency").alias("_next"),
                          pl.col("len").shift(-1).over("agency").alias("_next_len"))
            .filter(pl.col("_next").is_not_null() & (pl.col("_next") > pl.col("month").dt.offset_by("1mo"))
                    & (pl.col("len") >= HOLE_MIN_ROWS) & (pl.col("_next_len") >= HOLE_MIN_ROWS))
            .select("agency", pl.date_ranges(pl.col("month").dt.offset_by("1mo"), pl.col("_next").dt.offset_by("-1mo"),
                                             "1mo").alias("w_holes"))
            .explode("w_holes").group_by("agency").agg(pl.col("w_holes").sort()))
    return (bounds.join(gaps, on="agency", how="left")
            .with_columns(pl.col("w_holes").fill_null(pl.lit([], dtype=pl.List(pl.Date))))
            .select(list(schema)).cast(schema).sort("agency"))  # type: ignore[arg-type]


_TAXABLE_OVER_NET: dict[str, float] = {
    "salary_net": NET_TO_TAXABLE["salary_net"], "unemployment": NET_TO_TAXABLE["unemployment_benefit"],
    "pension_net": NET_TO_TAXABLE["pension_net"], "pension_gross": NET_TO_TAXABLE["pension_net"]}
"""Monthly input estimated from the DGFiP's yearly income → the taxable / net ratio of its kind (alimony: none,
declared as received; the gross pension's is the net one's, the gross then following from the net): the
declaration is of taxable amounts, CSG and CRDS not deductible added back, the rules' inputs are net. Until 7
December 2026 only a follower's silence was netted: a salary the DGFiP alone declares was read 3.65 % high (an
outside tester's probe15: 22,389 € taxable read as 1,865.75 € a month for 1,800 € net, a prime d'activité of
109.33 € for OpenFisca's 135.73 €)."""
_LASTING_OBLIGATIONS = ("alimony_received",)
"""Incomes that last besides the pensions paid for life (``CoreConfig.continuing``): alimony runs until a judge or
the children's age ends it. A follower's silence on them, against the DGFiP's latest year, is doubted
(``_follower_silence``)."""


def _follower_silence(cover: pl.DataFrame, obs: pl.DataFrame, annual: pl.LazyFrame | None,
                      lf: Mapping[str, pl.LazyFrame], years: list[int], month: dt.date,
                      invalidity: tuple[pl.DataFrame, pl.DataFrame] | None, inputs: list[str],
                      config: CoreConfig) -> pl.DataFrame:
    """(person_id, input): the monthly inputs a follower (``CoreConfig.followers``) covers for a person while no
    monthly row of the window shows any of that kind of income (every month absent or 0) and the DGFiP's latest
    year that knows the person, N-1 or N-2 of the month, declares some (``_latest_by_kind``: the invalidity pension
    the months observe taken out of the pensions).

    A follower's record holds what its allocataire tells it: alimony of 3,600 € a year declared to the DGFiP for
    2024 and 2025, which the CAF paying a housing aid never listed, was read as its certain zero (a prime
    d'activité « certain » at 261.95 € that the alimony brings to 0, a CSS with participation « certain » that is
    not due: a tester's hand-written households, K86, 6 December 2026; a foreign pension, K50b, before it). Left
    out of the follower's cover, the input is estimated from the declaration (``monthly_resources``), from the
    follower's 0 to the declared level; where an exhaustive source is silent too (the DRM on salaries and pensions,
    France Travail on unemployment benefit) its doubt decides: central 0, uninformed.

    Only incomes that last (``CoreConfig.continuing``: a retirement pension, paid for life; alimony, an obligation
    that runs until a judge or the children's age ends it): a salary or an unemployment benefit the latest year
    declares and no month of the window shows most often ended before it (a job lost early in the year, rights
    run out), the follower's zero true, and the exhaustive sources (the DRM, France Travail) say the same.

    A gross pension is silent only with the net one (a follower covering the gross pension while an exhaustive
    source covers the net one leaves it as it was: net 0, gross 0). Kinds estimated inside another (daily
    allowances, other incomes: share 0) are not doubted, as for the exhaustive sources."""
    schema = {"person_id": pl.String, "input": pl.String}
    lasting = {*_LASTING_OBLIGATIONS, *config.continuing}
    kinds = {i: k for i, (k, share) in _ANNUAL_OF_INPUT.items() if i in inputs and share > 0 and i in lasting}
    if annual is None or not kinds:
        return pl.DataFrame(schema=schema)
    fol = (cover.filter(pl.col("cover_agency").is_in(list(config.followers)) & pl.col("input").is_in(list(kinds)))
           .select("person_id", "input"))
    if fol.height == 0:
        return pl.DataFrame(schema=schema)
    who = fol.select("person_id").unique().lazy()
    known = annual.join(who, on="person_id", how="semi")
    # the latest year the DGFiP knows the person (any income row, a foyer fiscal membership), as the estimates read it
    latest = (pl.concat([known.select("person_id", "year"),
                         dgfip_declared(lf, years).join(who, on="person_id", how="semi").select("person_id", "year")])
              .group_by("person_id").agg(pl.col("year").max())
              .filter(pl.col("year").is_between(month.year - 2, month.year - 1)).collect())
    declared = _latest_by_kind(known.filter(pl.col("kind").is_in(list(set(kinds.values())))).collect(), latest,
                               invalidity).filter(pl.col("amount_high") > 0).select("person_id", "kind")
    of_kind = {i: k for i, (k, share) in _ANNUAL_OF_INPUT.items() if share > 0}
    shown = (obs.filter(pl.col("amount") > 0)
             .select("person_id", pl.col("input").replace_strict(of_kind, default=None).alias("kind"))
             .drop_nulls("kind").unique())
    silent = (fol.with_columns(pl.col("input").replace_strict(kinds).alias("kind"))
              .join(declared, on=["person_id", "kind"], how="semi")
              .join(shown, on=["person_id", "kind"], how="anti").select("person_id", "input"))
    if "pension_net" in inputs:
        gross = pl.col("input") == "pension_gross"
        net = silent.filter(pl.col("input") == "pension_net").select("person_id")
        silent = pl.concat([silent.filter(~gross), silent.filter(gross).join(net, on="person_id", how="semi")])
    return silent


def monthly_resources(lf: Mapping[str, pl.LazyFrame], people: pl.DataFrame, month: dt.date,
                      depth: Mapping[str, int], config: CoreConfig, windows: pl.DataFrame | None = None,
                      ) -> tuple[pl.DataFrame | None, pl.DataFrame, pl.DataFrame]:
    """Monthly resource inputs (person_id, month, one column per input + ``__source``), their provenance
    per person and input (month null: it holds for every month read) and their unknowns.

    ``windows``: each agency's window (``resource_windows``), when computed once for a partitioned run.

    ``people``: person_id, ``followed_by`` (agency following the person's famille, or null),
    ``pension_fund`` (a pension fund knowing the person, or null), and optionally ``age`` (at the month, from an
    agency's birth month; null when none gives it): from ``config.alimony_age`` an alimony no source reports is
    estimated nil (informed).
    """
    inputs = [i for i in MONTHLY_INPUTS.values() if i in depth]
    back = max((depth[i] for i in inputs), default=0)
    months = month_range(month, back)
    first = months[0]
    ids = people.select("person_id")
    # Observed rows, ranked by the configured priority; DGFiP rows are yearly amounts, not months.
    if "resources" in lf:
        obs = (lf["resources"]
               .filter((pl.col("month") >= first) & (pl.col("month") <= month) & (_agency() != "dgfip")
                       & pl.col("kind").cast(pl.String).is_in(list(MONTHLY_INPUTS)))
               .select("person_id", "month",
                       pl.col("kind").cast(pl.String).replace_strict(MONTHLY_INPUTS).alias("input"),
                       pl.col("amount").cast(pl.Float64), _agency().alias("agency"))
               .filter(pl.col("input").is_in(inputs))
               .join(ids.lazy(), on="person_id", how="semi")
               .collect())
    else:
        obs = pl.DataFrame(schema={"person_id": pl.String, "month": pl.Date, "input": pl.String,
                                   "amount": pl.Float64, "agency": pl.String})
    prio = _priority_table(config.monthly_priority)
    obs = (obs.join(prio, on=["input", "agency"], how="left").with_columns(pl.col("rank").fill_null(99))
           .sort("rank").unique(subset=["person_id", "month", "input"], keep="first"))
    # Each agency's window: the months its resource rows span (an exhaustive source covers those only); a
    # property of the agency's extract, so read over the whole population (``resource_windows``).
    if windows is None:
        windows = resource_windows(lf, month, depth)
    present = set(windows.get_column("agency").to_list())

    # Yearly income, for the doubts below and the estimates of what no agency covers.
    years = sorted({m.year for m in months} | {month.year - 1, month.year - 2})
    annual, annual_src = annual_income(lf, years)
    # An exhaustive source lists every person it *identifies*: someone it has no row for at all in the window,
    # while the DGFiP's latest year shows that kind of income, may have stopped (a true zero) or may be a row
    # the source failed to match to a NIR. That input is then doubtful, not observed: 0 to the declared level.
    doubt = pl.DataFrame(schema={"person_id": pl.String, "input": pl.String, "agency": pl.String,
                                 "high": pl.Float64})
    invalidity = _invalidity_means(obs)  # taken out of the declared pensions, for the doubts and the estimates
    if annual is not None:
        kinds = {i: k for i, (k, _) in _ANNUAL_OF_INPUT.items() if i in inputs}
        declared = (annual.filter(pl.col("kind").is_in(list(set(kinds.values()))))
                    .join(ids.lazy(), on="person_id", how="semi").collect())
        latest_year = declared.group_by("person_id").agg(pl.col("year").max())
        # up to the most the declaration may hold besides the invalidity pension (``amount_high``)
        declared = _latest_by_kind(declared, latest_year, invalidity).filter(pl.col("amount_high") > 0)
        seen = obs.select("person_id", "agency").unique()
        parts_d = []
        for inp, kind in kinds.items():
            if _ANNUAL_OF_INPUT[inp][1] == 0:  # estimated inside another input's yearly kind
                continue
            for a in config.exhaustive.get(inp, ()):
                if a in present and a != "synth":
                    parts_d.append(declared.filter(pl.col("kind") == kind)
                                   .join(seen.filter(pl.col("agency") == a), on="person_id", how="anti")
                                   .select("person_id", pl.lit(inp).alias("input"), pl.lit(a).alias("agency"),
                                           (pl.col("amount_high") / 12 * (1 + config.estimate_spread)).round(2)
                                           .alias("high")))
        if parts_d:
            doubt = pl.concat(parts_d)

    # Coverage: every (person, input) an agency answers for, best-ranked first (its window the months read), with
    # how it knows the person (``_COVER_TIERS``: which agency the provenance names).
    sent = obs.select("person_id", "agency").unique().with_columns(pl.lit(_KNOWS, dtype=pl.Int8).alias("tier"))

    def exhaustive(part: pl.DataFrame) -> pl.DataFrame:
        """An exhaustive source's cover: tier 1 for the persons it sent rows of, 2 for the others."""
        return (part.join(sent, on=["person_id", "agency"], how="left")
                .with_columns(pl.col("tier").fill_null(_SILENT).cast(pl.Int8)))

    cover_parts = []
    for inp in inputs:
        for a in config.exhaustive.get(inp, ()):
            if a in present:
                cover_parts.append(exhaustive(
                    ids.join(doubt.filter((pl.col("input") == inp) & (pl.col("agency") == a)), on="person_id",
                             how="anti").with_columns(pl.lit(inp).alias("input"), pl.lit(a).alias("agency"))))
        # a follower answers for the kinds its layout carries only (the MSA's: no alimony): silence on another
        # kind is no zero
        answering = [a for a in config.followers if config.follower_answers(a, inp)]
        fol = people.filter(pl.col("followed_by").is_in(answering)).select(
            "person_id", pl.lit(inp).alias("input"), pl.col("followed_by").alias("agency"),
            pl.lit(_KNOWS, dtype=pl.Int8).alias("tier"))
        cover_parts.append(fol)
        if inp in ("pension_net", "pension_gross"):
            cover_parts.append(people.filter(pl.col("pension_fund").is_not_null()).select(
                "person_id", pl.lit(inp).alias("input"), pl.col("pension_fund").alias("agency"),
                pl.lit(_KNOWS, dtype=pl.Int8).alias("tier")))
        if inp == "pension_gross" and "pension_net" in inputs:
            # the persons an exhaustive net-pension source covers (its own doubtful ones left out, as for the net)
            for a in config.gross_zero_from:
                if a in present and a in config.exhaustive.get("pension_net", ()):
                    cover_parts.append(exhaustive(
                        ids.join(doubt.filter((pl.col("input") == "pension_net") & (pl.col("agency") == a)),
                                 on="person_id", how="anti")
                        .with_columns(pl.lit(inp).alias("input"), pl.lit(a).alias("agency"))))
    cover_parts.append(obs.select("person_id", "input", "agency").unique()
                       .with_columns(pl.lit(_ROWS, dtype=pl.Int8).alias("tier")))
    covering = (pl.concat(cover_parts, how="vertical_relaxed")
                .join(prio, on=["input", "agency"], how="left").with_columns(pl.col("rank").fill_null(99))
                .join(windows, on="agency", how="left")
                # an agency with no resource row in the window (a follower whose members have none) covers the
                # months of the evaluated window up to the month itself
                .with_columns(pl.col("w_from").fill_null(pl.lit(month)), pl.col("w_to").fill_null(pl.lit(month))))
    cover = (covering.sort("rank", "tier").unique(subset=["person_id", "input"], keep="first")
             .select("person_id", "input", pl.col("agency").alias("cover_agency"), "w_from", "w_to"))
    # the agency the provenance names (``_COVER_TIERS``): the best-ranked with rows of the person's input, whose
    # values are read, else the best-ranked covering one that knows the person; none where only an exhaustive
    # source's silence on someone it sent nothing of covers them
    named = (covering.filter(pl.col("tier") < _SILENT).sort("tier", "rank").unique(subset=["person_id", "input"],
                                                                              keep="first")
             .select("person_id", "input", pl.col("agency").alias("_named"), pl.col("w_to").alias("_named_to")))
    # A follower silent on a kind of income the DGFiP's latest year declares answers for none of it: estimated below
    silent = _follower_silence(cover, obs, annual, lf, years, month, invalidity, inputs, config)
    cover = cover.join(silent, on=["person_id", "input"], how="anti")

    # Yearly income of the persons no agency covers, for an estimate; the doubtful ones get their own range.
    grid_in = pl.DataFrame({"input": inputs, "depth": [depth[i] for i in inputs]})
    all_pi = ids.join(grid_in, how="cross")
    uncovered = all_pi.join(cover, on=["person_id", "input"], how="anti")
    doubtful = (uncovered.join(doubt.select("person_id", "input", "high"), on=["person_id", "input"], how="inner")
                .unique(["person_id", "input"]))
    uncovered = uncovered.join(doubtful, on=["person_id", "input"], how="anti")
    est = None
    if annual is not None and uncovered.height:
        kinds = {i: k for i, (k, _) in _ANNUAL_OF_INPUT.items() if i in inputs}
        who = uncovered.select("person_id").unique()
        known_years = annual.join(who.lazy(), on="person_id", how="semi")
        yearly = known_years.filter(pl.col("kind").is_in(list(set(kinds.values())))).collect()
        # latest year the DGFiP knows the person: every kind not declared that year is 0. The DGFiP knows the
        # person for a year it sends any income row of (a self-employed person's included) or a foyer fiscal
        # membership of: its connector emits only non-zero amounts, so a declarant or dependant with no row of
        # a kind declared none (as ``n2_resources`` reads year N-2)
        latest = (pl.concat([known_years.select("person_id", "year", "extract_date"),
                             dgfip_declared(lf, years).join(who.lazy(), on="person_id", how="semi")])
                  .group_by("person_id").agg(pl.col("year").max().alias("year"), pl.col("extract_date").max())
                  .collect())
        per_kind = _latest_by_kind(yearly, latest, invalidity)
        factor = {i: (config.pension_gross_over_net if i == "pension_gross" else _ANNUAL_OF_INPUT[i][1])
                  for i in kinds}
        # the declared amount net, as an agency's months would be (the declaration is of taxable amounts, CSG and
        # CRDS not deductible added back)
        net = pl.col("input").replace_strict(_TAXABLE_OVER_NET, default=1.0, return_dtype=pl.Float64)
        est = (uncovered.filter(pl.col("input").is_in(list(kinds)))
               .join(latest, on="person_id", how="inner")
               .join(silent.with_columns(pl.lit(True).alias("_silent")), on=["person_id", "input"], how="left")
               .with_columns(pl.col("input").replace_strict(kinds).alias("kind"),
                             pl.col("input").replace_strict(factor, return_dtype=pl.Float64).alias("_f"),
                             pl.col("_silent").fill_null(False))
               .join(per_kind, on=["person_id", "kind"], how="left")
               .select("person_id", "input", "year", "extract_date", "_silent",
                       *[(pl.col(c).fill_null(0.0).clip(lower_bound=0.0) / 12 * pl.col("_f") / net).round(2)
                         .alias(name) for c, name in (("amount", "central"), ("amount_high", "_high"))]))
    # Values of the months: observed inside a covering window, the window's first month before it.
    grid = pl.DataFrame({"month": months}).with_columns(pl.col("month").cast(pl.Date))
    covered_obs = obs.join(cover, on=["person_id", "input"], how="inner")
    first_val = (covered_obs.sort("month").group_by("person_id", "input")
                 .agg(pl.col("month").first().alias("_m0"), pl.col("amount").first().alias("_a0")))
    early = (cover.join(first_val, on=["person_id", "input"], how="inner")
             .filter(pl.col("_m0") <= pl.col("w_from")).join(grid, how="cross")
             .filter(pl.col("month") < pl.col("w_from"))
             .select("person_id", "month", "input", pl.col("_a0").alias("amount"),
                     pl.col("cover_agency").alias("agency")))
    vals = pl.concat([covered_obs.select("person_id", "month", "input", "amount", "agency"), early],
                     how="vertical_relaxed")
    before = _before_the_window(cover, early, covered_obs, grid, annual, lf, inputs, config)
    holes = _months_missing(windows, cover, covered_obs, grid, config)
    # Months after a person's last row of an input, up to the month, where the last row paid something: a source
    # whose extract ends there (``w_to``: its file is behind the month) says nothing of them, and a pension
    # (``CoreConfig.continuing``) missing from the last months of an extract that goes on is a late or lost row
    # more likely than a stop. Unknown, not 0: the last amount, give or take the estimate's spread (as an estimate
    # from the yearly income; from 0, a file one month behind made every retiree's RSA and CSS possible: 20,282
    # RSA flags against 2,853 on France 100,000), an estimate from the person's own rows (informed), one a month.
    last = (covered_obs.sort("month").group_by("person_id", "input")
            .agg(pl.col("month").last().alias("_m1"), pl.col("amount").last().alias("_a1"),
                 pl.col("agency").last().alias("_ag1"))
            .join(cover.select("person_id", "input", "w_to"), on=["person_id", "input"], how="inner")
            .filter((pl.col("_a1") > 0) & (pl.col("_m1") < pl.lit(month))
                    & (pl.col("input").is_in(list(config.continuing)) | (pl.col("_m1") >= pl.col("w_to")))))
    trailing = (last.join(grid, how="cross").filter(pl.col("month") > pl.col("_m1"))
                .select("person_id", "month", "input", pl.col("_a1").alias("amount"), pl.col("_ag1").alias("agency")))
    # a month whose net pension a row shows paid: its gross follows from it (below), no stop to doubt
    paid_net = vals.filter((pl.col("input") == "pension_net") & (pl.col("amount") > 0)).select(
        "person_id", "month", pl.lit("pension_gross").alias("input"))
    trailing = trailing.join(paid_net, on=["person_id", "month", "input"], how="anti")
    # a missing month after a pension's last row is the trailing months' (the last amount carried on)
    holes = holes.join(trailing, on=["person_id", "month", "input"], how="anti")
    vals = pl.concat([vals, trailing, holes.select("person_id", "month", "input", pl.col("central").alias("amount"),
                                                   pl.col("cover_agency").alias("agency"))], how="vertical_relaxed")
    # A gross pension no row gives for a month where the net pension is observed: net × the configured ratio.
    # The DRM and the CAF declare net pensions only, and a month missing from a pension fund's extract while
    # the DRM shows the pension paid is a lost row, not a stopped pension.
    net_src = pl.DataFrame(schema={"person_id": pl.String, "input": pl.String, "source_agency": pl.String,
                                   "source_month": pl.Date})
    # A net pension above the gross a pension fund gives is pensions of other funds the fund does not hold (a
    # survivor's pension, a complementary scheme's: the DRM lists every pension paid): the gross is then the net
    # × the ratio too (a widow's CNAV gross of 300 € beside 680 € net at the DRM, her ASPA counted on 300 €).
    if "pension_gross" in inputs and "pension_net" in inputs:
        have_gross = vals.filter((pl.col("input") == "pension_gross") & (pl.col("amount") > 0)).select(
            "person_id", "month", pl.col("amount").alias("_gross"))
        from_net = (vals.filter((pl.col("input") == "pension_net") & (pl.col("amount") > 0))
                    .join(have_gross, on=["person_id", "month"], how="left")
                    .filter(pl.col("_gross").is_null() | (pl.col("amount") > pl.col("_gross") + 0.005))
                    .drop("_gross")
                    .with_columns(pl.lit("pension_gross").alias("input"),
                                  (pl.col("amount") * config.pension_gross_over_net).round(2).alias("amount")))
        if from_net.height:
            vals = pl.concat([vals.join(from_net.select("person_id", "month", "input"),
                                        on=["person_id", "month", "input"], how="anti"),
                              from_net.select(vals.columns)], how="vertical_relaxed")
            # a gross pension from a net one the trailing months carry is as unknown as the net
            trailing = pl.concat([trailing, from_net.join(
                trailing.filter(pl.col("input") == "pension_net").select("person_id", "month"),
                on=["person_id", "month"], how="semi").select(trailing.columns)], how="vertical_relaxed")
            # and so is one of a month missing from the net pension's extract
            r = config.pension_gross_over_net
            gross_of_holes = (holes.filter(pl.col("input") == "pension_net")
                              .join(from_net.select("person_id", "month"), on=["person_id", "month"], how="semi")
                              .with_columns(pl.lit("pension_gross").alias("input"),
                                            *[(pl.col(c) * r).round(2) for c in ("low", "central", "high")]))
            holes = pl.concat([holes.join(gross_of_holes.select("person_id", "month", "input"),
                                          on=["person_id", "month", "input"], how="anti"), gross_of_holes])
            net_est = from_net.select("person_id", "input").unique()
            uncovered = uncovered.join(net_est, on=["person_id", "input"], how="anti")
            if est is not None:
                est = est.join(net_est, on=["person_id", "input"], how="anti")
            net_src = (from_net.sort("month").group_by("person_id", "input")
                       .agg(pl.col("agency").last().alias("source_agency"),
                            pl.col("month").max().alias("source_month")))
            # a person with some months estimated is no longer wholly observed by the fund
            prov_drop = net_est
        else:
            prov_drop = None
    else:
        prov_drop = None
    if est is not None and est.height:
        est_rows = (est.filter(pl.col("central") != 0).join(grid, how="cross")
                    .select("person_id", "month", "input", pl.col("central").alias("amount"),
                            pl.lit("dgfip").alias("agency")))
        vals = pl.concat([vals, est_rows], how="vertical_relaxed")
    monthly = None
    if vals.height:
        # the amounts and their agencies in one pivot (columns amount_<input>, then agency_<input>): two pivots
        # joined back grouped the rows three times
        both = vals.pivot("input", index=["person_id", "month"], values=["amount", "agency"],
                          aggregate_function="first")
        monthly = both.rename({c: c.removeprefix("amount_") if c.startswith("amount_")
                               else f"{c.removeprefix('agency_')}__source"
                               for c in both.columns if c not in ("person_id", "month")})
        for name in inputs:
            if name not in monthly.columns:
                monthly = monthly.with_columns(pl.lit(None, dtype=pl.Float64).alias(name))
        monthly = monthly.with_columns([pl.col(n).fill_null(0.0) for n in inputs])

    # Provenance per person and input; unknowns for what is estimated or unknown.
    if prov_drop is not None:
        cover = cover.join(prov_drop, on=["person_id", "input"], how="anti")
    # a person with some months estimated (before the source's window, after their last row) is not wholly observed
    trail_keys = (pl.concat([trailing.select("person_id", "input"), holes.select("person_id", "input")])
                  .unique().with_columns(pl.lit(True).alias("_trail")))
    prov_cov = (cover.join(trail_keys, on=["person_id", "input"], how="left")
                .join(named, on=["person_id", "input"], how="left").select(
        "person_id", "input",
        pl.when((pl.col("w_from") <= pl.lit(first)) & pl.col("_trail").is_null()).then(pl.lit("observed"))
        .otherwise(pl.lit("estimated")).alias("kind"),
        pl.col("_named").alias("source_agency"), pl.col("_named_to").alias("source_month")))
    est_keys = est.select("person_id", "input") if est is not None else pl.DataFrame(
        schema={"person_id": pl.String, "input": pl.String})
    unknown = uncovered.select("person_id", "input").join(est_keys, on=["person_id", "input"], how="anti")
    parts = [prov_cov, net_src.select("person_id", "input", pl.lit("estimated").alias("kind"), "source_agency",
                                      "source_month")]
    unk_parts = []
    if est is not None and est.height:
        parts.append(est.select("person_id", "input", pl.lit("estimated").alias("kind"),
                                pl.lit("dgfip").alias("source_agency"),
                                pl.date(pl.col("year"), 12, 1).alias("source_month")))
        s = config.estimate_spread
        reason = f"aucune source mensuelle: estimé d'après le revenu annuel déclaré ({annual_src})"
        unk_parts.append(est.select(
            "person_id", "input",
            # a follower's silence: from its 0 (the income may have stopped) to the declared level
            pl.when(pl.col("_silent")).then(0.0).otherwise((pl.col("central") * (1 - s)).round(2)).alias("low"),
            "central", (pl.max_horizontal("central", "_high") * (1 + s)).round(2).alias("high"),
            pl.when(pl.col("_silent"))
            .then(pl.lit("l'organisme qui suit la personne ne déclare pas ce revenu, que la DGFiP déclare pour "
                         "la dernière année connue: arrêt ou revenu non déclaré à l'organisme, estimé au revenu "
                         f"annuel déclaré net ({annual_src}), de 0 à ce niveau augmenté de l'écart d'estimation"))
            # the declared pensions of a year no month of which observes the invalidity pension: with it or not
            .when(pl.col("_high") > pl.col("central"))
            .then(pl.lit(f"{reason}, moins la pension d'invalidité observée les autres années, jusqu'aux pensions "
                         "déclarées entières (la déclaration ne dit pas si elle la contient)"))
            .otherwise(pl.lit(reason)).alias("reason"), pl.lit(True).alias("informed")))
    parts.append(unknown.select("person_id", "input", pl.lit("unknown").alias("kind"),
                                pl.lit(None, dtype=pl.String).alias("source_agency"),
                                pl.lit(None, dtype=pl.Date).alias("source_month")))
    high = {i: config.unknown_high[i] for i in inputs}
    no_source = "aucune agence ne déclare cette ressource mensuelle de la personne (ni revenu annuel connu)"
    if "age" in people.columns:
        aged = unknown.join(people.select("person_id", "age"), on="person_id", how="left")
        elder = ((pl.col("input") == "alimony_received") & (pl.col("age") >= config.alimony_age).fill_null(False)
                 if config.alimony_age is not None else pl.lit(False))
        retired = ((pl.col("input") == "invalidity_pension")
                   & (pl.col("age") >= config.invalidity_end_age).fill_null(False)
                   if config.invalidity_end_age is not None else pl.lit(False))
    else:
        aged, elder, retired = unknown, pl.lit(False), pl.lit(False)
    unk_parts.append(aged.select(
        "person_id", "input", pl.lit(0.0).alias("low"), pl.lit(0.0).alias("central"),
        pl.when(retired).then(0.0).otherwise(pl.col("input").replace_strict(high, return_dtype=pl.Float64))
        .alias("high"),
        pl.when(elder).then(pl.lit(f"{no_source}: nulle estimée à {config.alimony_age} ans ou plus (4 % des ménages "
                                   "perçoivent une pension alimentaire, surtout des parents; environ 1 % des "
                                   "ménages sans enfant: INSEE, 2021)"))
        .when(retired).then(pl.lit(f"{no_source}: nulle à {config.invalidity_end_age} ans ou plus, la pension "
                                   "d'invalidité prenant fin à l'âge légal de la retraite, ou à l'âge du taux plein "
                                   "pour qui travaille encore (CSS art. L341-15, L341-16 et L351-8)"))
        .otherwise(pl.lit(no_source)).alias("reason"), (elder | retired).alias("informed")))
    parts.append(doubtful.select("person_id", "input", pl.lit("unknown").alias("kind"),
                                 pl.lit(None, dtype=pl.String).alias("source_agency"),
                                 pl.lit(None, dtype=pl.Date).alias("source_month")))
    unk_parts.append(doubtful.select(
        "person_id", "input", pl.lit(0.0).alias("low"), pl.lit(0.0).alias("central"), "high",
        pl.lit("absente de la source mensuelle exhaustive alors que la DGFiP déclare ce revenu l'année connue: "
               "arrêt ou ligne non rapprochée, de 0 au niveau déclaré").alias("reason"),
        pl.lit(False).alias("informed")))
    prov = pl.concat(parts, how="vertical_relaxed").select(
        pl.lit("individu").alias("entity"), pl.col("person_id").alias("id"), pl.lit(None, dtype=pl.Date).alias("month"),
        "input", "kind", "source_agency", "source_month")
    unk = pl.concat(unk_parts, how="vertical_relaxed").select(
        pl.lit("individu").alias("entity"), pl.col("person_id").alias("id"), pl.lit(None, dtype=pl.Date).alias("month"),
        "input", "low", "central", "high", "reason", "informed")
    if before.height:
        unk = pl.concat([unk, before], how="vertical_relaxed")
    if holes.height:
        unk = pl.concat([unk, holes.select(
            pl.lit("individu").alias("entity"), pl.col("person_id").alias("id"), "month", "input", "low", "central",
            "high", pl.format("mois absent de tout l'extrait {} ({}), entre des mois qui y figurent: estimé d'après "
                              "les mois de la personne qui l'entourent", _agency_of("cover_agency"),
                              pl.col("month").dt.strftime("%m/%Y")).alias("reason"),
            pl.lit(True).alias("informed"))], how="vertical_relaxed")
    if trailing.height:
        unk = pl.concat([unk, trailing.select(
            pl.lit("individu").alias("entity"), pl.col("person_id").alias("id"), pl.col("month").cast(pl.Date),
            "input", (pl.col("amount") * (1 - config.estimate_spread)).round(2).alias("low"),
            pl.col("amount").alias("central"), (pl.col("amount") * (1 + config.estimate_spread)).round(2).alias("high"),
            pl.lit("mois absent de l'extrait après la dernière ligne de la personne (extrait en retard, ligne perdue, "
                   "ou arrêt): estimé au dernier montant").alias("reason"),
            pl.lit(True).alias("informed"))], how="vertical_relaxed")
    return monthly, prov, unk


def _agency_of(column: str) -> pl.Expr:
    """« du DRM de l'Assurance retraite », « de la CAF »: the agency of ``column`` for a reason line."""
    return pl.col(column).replace_strict({a: agency_of(a) for a in AGENCIES}, default=None).fill_null(pl.col(column))


def _months_missing(windows: pl.DataFrame, cover: pl.DataFrame, covered_obs: pl.DataFrame, grid: pl.DataFrame,
                    config: CoreConfig) -> pl.DataFrame:
    """(person_id, input, month, cover_agency, low, central, high): the months missing from the whole extract of
    the agency covering a person's input, between months it holds (``resource_windows``' ``w_holes``), where the
    person's rows around it show an income. Every person's month was read as no income (a DRM file of April lost,
    a wife's 450 € salary read as 0 and the couple's PPA « certain » at 365.90 € for 340.38 €: a tester's
    hand-written households, 6 December 2026). Estimated from the person's rows of the months the extract holds
    on either side (no row: 0, as the source says), their mean, from the lower to the higher give or take the
    estimate's spread."""
    schema = {"person_id": pl.String, "input": pl.String, "month": pl.Date, "cover_agency": pl.String,
              "low": pl.Float64, "central": pl.Float64, "high": pl.Float64}
    holes = (windows.select(pl.col("agency").alias("cover_agency"), pl.col("w_holes").alias("month"))
             .explode("month").drop_nulls("month").join(grid, on="month", how="semi"))
    if holes.height == 0:
        return pl.DataFrame(schema=schema)
    s = config.estimate_spread
    # the extract's months held on either side of each run of missing months
    run = (pl.col("month") != pl.col("month").shift(1).dt.offset_by("1mo")).fill_null(True).cum_sum()
    holes = (holes.sort("cover_agency", "month").with_columns(run.over("cover_agency").alias("_run"))
             .with_columns(pl.col("month").min().over("cover_agency", "_run").dt.offset_by("-1mo").alias("_m_before"),
                           pl.col("month").max().over("cover_agency", "_run").dt.offset_by("1mo").alias("_m_after"))
             .drop("_run"))
    rows = covered_obs.select("person_id", "input", "month", "amount")
    gap = (cover.select("person_id", "input", "cover_agency").join(holes, on="cover_agency")
           .join(rows, on=["person_id", "input", "month"], how="anti")  # another agency's row holds the month
           .join(rows.rename({"month": "_m_before", "amount": "_before"}), on=["person_id", "input", "_m_before"],
                 how="left")
           .join(rows.rename({"month": "_m_after", "amount": "_after"}), on=["person_id", "input", "_m_after"],
                 how="left")
           .with_columns(pl.col("_before", "_after").fill_null(0.0)))
    lo, hi = pl.min_horizontal("_before", "_after"), pl.max_horizontal("_before", "_after")
    return (gap.filter(hi > 0).select(
        "person_id", "input", "month", "cover_agency", (lo * (1 - s)).round(2).alias("low"),
        ((pl.col("_before") + pl.col("_after")) / 2).round(2).alias("central"), (hi * (1 + s)).round(2).alias("high"))
        .cast(schema))  # type: ignore[arg-type]


_RANGED_MONTHS = 12
"""How far before the evaluated month ``_before_the_window`` gives a filled month a range: the rolling year of the
CSS's resources (the twelve months before the month, CSS art. R861-8), the deepest a benefit reads for its own month.
Months before it are read only for the benefits of earlier months (the ASPA of each month the CSS counts, its own
quarter before it): estimated, no range (ranging them tripled the unknowns at 100,000 and cost detection a quarter
of its time for no flag measured)."""

_CONFIRMED = 0.05
"""How near the declared year's rest must come to a month filled before an extract's first to confirm it
(``_before_the_window``): the filled value is then kept as an estimate with no range. A trade of cost for
doubt: the false « certain » CSS flags it was measured on differed by 5 to 8 % from the truth."""


def _before_the_window(cover: pl.DataFrame, early: pl.DataFrame, covered_obs: pl.DataFrame, grid: pl.DataFrame,
                       annual: pl.LazyFrame | None, lf: Mapping[str, pl.LazyFrame], inputs: list[str],
                       config: CoreConfig) -> pl.DataFrame:
    """The unknowns (``_UNKNOWNS``) of the months the rules read before the first month of the extract covering a
    person's input: filled with that month's value (``early``; none where it was 0), they were read as observed,
    and a « certain » CSS rested on a month no extract held (salaried in June, on unemployment benefit from July,
    the first month of the DRM's extract: June counted at the benefit; 11 of the 16 false « certain » CSS flags
    with participation on France 100,000, 6 December 2026). Within the CSS's rolling year (``_RANGED_MONTHS``),
    informed, from the filled value to what the DGFiP's declared income of that year, net, leaves to its months
    before the extract (the year less the months the extract shows, spread over the others); the filled value give
    or take the estimate's spread where the DGFiP does not know the person that year."""
    s = config.estimate_spread
    since = month_range(grid.get_column("month").max(), _RANGED_MONTHS)[0]
    pre = (cover.filter(pl.col("w_from") > grid.get_column("month").min()).join(grid, how="cross")
           .filter((pl.col("month") < pl.col("w_from")) & (pl.col("month") >= since))
           .join(early.select("person_id", "month", "input", pl.col("amount").alias("_fill")),
                 on=["person_id", "month", "input"], how="left")
           .with_columns(pl.col("_fill").fill_null(0.0), pl.col("month").dt.year().cast(pl.Int32).alias("year")))
    rest = pl.lit(None, dtype=pl.Float64)
    ratio = config.pension_gross_over_net
    # the invalidity pension is declared among the pensions (``_without_invalidity``): a declaration that confirms its
    # months before the extract leaves them no range (K145's 500 € of April and May 2025, 375 to 625 € « deciding »
    # her chèque énergie while the DGFiP's 6,000 € for 2025 confirm them). Only to confirm: what a declaration of
    # pensions leaves besides the months shown is a retirement pension's as much as an invalidity pension's (a
    # retiree's taxable pension above the net months made 0 to 144 € of invalidity pension « deciding »: hh20 K131)
    kind = ({i: _ANNUAL_OF_INPUT[i][0] for i in inputs if i in _ANNUAL_OF_INPUT and _ANNUAL_OF_INPUT[i][1] > 0}
            | ({"invalidity_pension": "pensions"} if "invalidity_pension" in inputs else {}))
    if annual is not None and pre.height and kind:
        years = pre.get_column("year").unique().to_list()
        who = pre.select("person_id").unique().lazy()
        known = (pl.concat([annual.select("person_id", "year"), dgfip_declared(lf, years).select("person_id", "year")])
                 .filter(pl.col("year").is_in(years)).join(who, on="person_id", how="semi").unique().collect()
                 .with_columns(pl.lit(True).alias("_known")))
        declared = (annual.filter(pl.col("year").is_in(years) & pl.col("kind").is_in(list(set(kind.values()))))
                    .join(who, on="person_id", how="semi")
                    .group_by("person_id", "year", "kind").agg(pl.col("amount").sum().alias("_declared")).collect())
        # what the months the extracts show hold of each declared kind, net (a gross pension is the net one's)
        of_kind = {i: k for i, (k, _) in _ANNUAL_OF_INPUT.items()} | {"invalidity_pension": "pensions"}
        shown = covered_obs.with_columns(pl.col("month").dt.year().cast(pl.Int32).alias("year"))
        own = (shown.group_by("person_id", "input", "year").agg(
            pl.when(pl.col("input") == "pension_gross").then(pl.col("amount") / ratio).otherwise(pl.col("amount"))
            .sum().alias("_own")))
        by_kind = (shown.filter(pl.col("input") != "pension_gross")
                   .with_columns(pl.col("input").replace_strict(of_kind, default=None).alias("kind"))
                   .group_by("person_id", "year", "kind").agg(pl.col("amount").sum().alias("_kind")))
        # the same pension, net or gross: the gross pension's own months are the net one's
        mine = pl.when(pl.col("input") == "pension_gross").then(pl.lit("pension_net")).otherwise(pl.col("input"))
        pre = (pre.with_columns(pl.col("input").replace_strict(kind, default=None).alias("kind"), mine.alias("_mine"))
               .join(known, on=["person_id", "year"], how="left")
               .join(declared, on=["person_id", "year", "kind"], how="left")
               .join(own.rename({"input": "_mine", "_own": "_own_net"}), on=["person_id", "_mine", "year"],
                     how="left")
               .join(by_kind, on=["person_id", "year", "kind"], how="left"))
        # the year's months before the extract's first (all twelve of a year before its year); the other incomes
        # the declaration holds with this one (a CNAM invalidity pension among the pensions, daily allowances among
        # the salaries) taken out at the rate of the months shown
        unseen = (pl.when(pl.col("w_from").dt.year() > pl.col("year")).then(12)
                  .otherwise(pl.col("w_from").dt.month() - 1))
        others = (pl.col("_kind").fill_null(0.0) - pl.col("_own_net").fill_null(0.0)).clip(lower_bound=0.0)
        # the declaration is of taxable amounts (CSG and CRDS not deductible added back): net, as the months are
        taxable = {"salary_net": NET_TO_TAXABLE["salary_net"], "unemployment": NET_TO_TAXABLE["unemployment_benefit"],
                   "pension_net": NET_TO_TAXABLE["pension_net"], "pension_gross": NET_TO_TAXABLE["pension_net"],
                   "invalidity_pension": NET_TO_TAXABLE["pension_net"]}  # a pension's CSG and CRDS
        net = pl.col("input").replace_strict(taxable, default=1.0, return_dtype=pl.Float64)
        left = (pl.col("_declared").fill_null(0.0) / net - pl.col("_own_net").fill_null(0.0)
                - pl.when(unseen < 12).then(others * 12 / (12 - unseen)).otherwise(0.0))
        rest = (pl.when(pl.col("_known") & pl.col("kind").is_not_null())
                .then(left.clip(lower_bound=0.0) / unseen
                      * pl.when(pl.col("input") == "pension_gross").then(ratio).otherwise(1.0)))
        gap = (rest - pl.col("_fill")).abs()
        confirms = (gap < 1.0) | (gap <= _CONFIRMED * pl.max_horizontal(rest, "_fill"))
        rest = pl.when((pl.col("input") != "invalidity_pension") | confirms).then(rest)
    # from the filled value to the declaration's rest; give or take the estimate's spread without a declaration
    spread = pl.when(pl.col("_rest").is_null()).then(s).otherwise(0.0)
    lo = (pl.min_horizontal("_fill", pl.col("_rest").fill_null(pl.col("_fill"))) * (1 - spread)).round(2)
    hi = (pl.max_horizontal("_fill", pl.col("_rest").fill_null(pl.col("_fill"))) * (1 + spread)).round(2)
    # a declaration that confirms the filled value (within ``_CONFIRMED`` of it, or a euro: its rounding) leaves it
    # estimated, no range
    return (pre.with_columns(rest.alias("_rest")).filter((hi - lo >= 1.0) & (hi - lo > _CONFIRMED * hi)).select(
        pl.lit("individu").alias("entity"), pl.col("person_id").alias("id"), "month", "input",
        lo.alias("low"), pl.col("_fill").alias("central"), hi.alias("high"),
        pl.format("mois antérieur au premier de l'extrait {} ({}): estimé à la valeur de ce premier mois{}",
                  _agency_of("cover_agency"),
                  pl.col("w_from").dt.strftime("%m/%Y"),
                  pl.when(pl.col("_rest").is_not_null())
                  .then(pl.lit(", ou à ce que le revenu de l'année déclaré à la DGFiP laisse aux mois qu'il ne "
                               "montre pas")).otherwise(pl.lit(""))).alias("reason"),
        pl.lit(True).alias("informed")))


_PROVENANCE = {"entity": pl.String, "id": pl.String, "month": pl.Date, "input": pl.String, "kind": pl.String,
               "source_agency": pl.String, "source_month": pl.Date}
_UNKNOWNS = {"entity": pl.String, "id": pl.String, "month": pl.Date, "input": pl.String, "low": pl.Float64,
             "central": pl.Float64, "high": pl.Float64, "reason": pl.String, "informed": pl.Boolean}
"""The provenance and unknowns rows of the yearly inputs (``core.month``'s schemas: that module imports this one)."""


def n2_high(config: CoreConfig) -> dict[str, float]:
    """Upper end of an income of year N-2 the DGFiP does not transmit (euros a year): twelve months of the
    monthly kinds it sums (``N2_INPUTS``), each at the upper end of a monthly resource no agency reports
    (``CoreConfig.unknown_high``). Without it the high corner read no N-2 income at all (a flag on an N-2
    estimated from this year's months was ``certain``, though the year decides the family benefits)."""
    h = config.unknown_high
    return {"revenu_activite_imposable_n2": 12 * (h["salary_net"] + h["unemployment"]),
            "pensions_imposables_n2": 12 * (h["pension_net"] + h["invalidity_pension"] + h["alimony_received"]),
            # a non-salaried profit as high as a salary at the upper end
            "revenus_non_salaries_n2": 12 * h["salary_net"],
            "revenus_n2_renseignes": 1.0}


def n2_resources(lf: Mapping[str, pl.LazyFrame], people: pl.DataFrame, month: dt.date, depth: Mapping[str, int],
                 config: CoreConfig | None = None, births: pl.DataFrame | None = None,
                 ) -> tuple[pl.DataFrame | None, pl.DataFrame, pl.DataFrame]:
    """The yearly taxable amounts of year N-2 of each month the rules read (person_id, month, inputs),
    with ``revenus_n2_renseignes`` true where the DGFiP knows the person for that year; where it does not, the
    inputs are unknown from none (the rules estimate the year from the months) to ``n2_high``. A person born
    after a year (``births``: person_id, birth_month, and the source_agency and extract_date of the row giving
    the birth month) had no income that year: known, zero (a baby is in no declaration of the year before its
    birth; its income of year N-2 counts in the famille's resources), its source the birth month's."""
    high = n2_high(config or CoreConfig())
    names = [n for n in (*N2_INPUTS, "revenus_n2_renseignes") if n in depth]
    empty_prov, empty_unk = pl.DataFrame(schema=_PROVENANCE), pl.DataFrame(schema=_UNKNOWNS)
    if not names:
        return None, empty_prov, empty_unk
    months = month_range(month, max(depth[n] for n in names))
    years = sorted({m.year - 2 for m in months})
    annual, src = (None, "absent") if "annual_income" not in lf else annual_income(lf, years)
    ids = people.select("person_id")
    grid = pl.DataFrame({"month": months}).with_columns(pl.col("month").cast(pl.Date),
                                                        (pl.col("month").dt.year().cast(pl.Int32) - 2).alias("year"))
    if annual is None:
        # Without the DGFiP's yearly table, N-2 is unknown: the rules estimate it from the months.
        prov = ids.select(pl.lit("individu").alias("entity"), pl.col("person_id").alias("id"),
                          pl.lit(None, dtype=pl.Date).alias("month")).join(
            pl.DataFrame({"input": names, "kind": ["estimated" if n in N2_INPUTS else "unknown" for n in names]}),
            how="cross").with_columns(pl.lit(None, dtype=pl.String).alias("source_agency"),
                                      pl.lit(None, dtype=pl.Date).alias("source_month"))
        unk = ids.select(pl.lit("individu").alias("entity"), pl.col("person_id").alias("id"),
                         pl.lit(None, dtype=pl.Date).alias("month")).join(
            pl.DataFrame({"input": names}), how="cross").select(
            "entity", "id", "month", "input", pl.lit(0.0).alias("low"), pl.lit(0.0).alias("central"),
            pl.col("input").replace_strict(high, return_dtype=pl.Float64).alias("high"),
            pl.lit("revenus annuels de la DGFiP absents de l'espace de travail (table annual_income): "
                   "les règles estiment l'année N-2 d'après les mois").alias("reason"),
            pl.lit(False).alias("informed"))
        return None, prov.select(list(empty_prov.columns)), unk.select(list(empty_unk.columns))
    yearly = (annual.join(ids.lazy(), on="person_id", how="semi")
              .group_by("person_id", "year").agg(
                  *[pl.col("amount").filter(pl.col("kind").is_in(kinds)).sum().alias(n)
                    for n, kinds in N2_INPUTS.items()],
                  pl.col("extract_date").max())
              .collect())
    # A person in a DGFiP foyer for a year with no income row declared nothing that year: known, zero (the
    # connector emits only non-zero amounts), not unknown.
    declared = (dgfip_declared(lf, years).join(ids.lazy(), on="person_id", how="semi")
                .group_by("person_id", "year").agg(pl.col("extract_date").max()).collect())
    zero = declared.join(yearly.select("person_id", pl.col("year").cast(pl.Int32)),
                         on=["person_id", "year"], how="anti")
    if zero.height:
        zero = zero.with_columns(*[pl.lit(0.0).alias(n) for n in N2_INPUTS])
        yearly = pl.concat([yearly.with_columns(pl.col("year").cast(pl.Int32)),
                            zero.select(yearly.columns)], how="vertical_relaxed")
    unborn = pl.DataFrame(schema={"person_id": pl.String, "year": pl.Int32})
    if births is not None:
        unborn = (births.join(ids, on="person_id", how="semi").drop_nulls("birth_month")
                  .join(pl.DataFrame({"year": years}, schema={"year": pl.Int32}), how="cross")
                  .filter(pl.col("birth_month").dt.year().cast(pl.Int32) > pl.col("year"))
                  .join(yearly.select("person_id", pl.col("year").cast(pl.Int32)), on=["person_id", "year"],
                        how="anti")
                  .select("person_id", "year"))
        yearly = pl.concat([yearly.with_columns(pl.col("year").cast(pl.Int32)),
                            unborn.with_columns(*[pl.lit(0.0).alias(n) for n in N2_INPUTS],
                                                pl.lit(None, dtype=pl.Date).alias("extract_date"))
                            .select(yearly.columns)], how="vertical_relaxed")
    rows = grid.join(yearly, on="year", how="inner").with_columns(pl.lit(True).alias("revenus_n2_renseignes"))
    monthly = rows.select("person_id", "month", *[n for n in names])
    # Known or unknown year by year: the look-back reaches back into year N-1, whose N-2 an extract of the latest
    # years may not carry for anyone (the ARS of August 2025, judged in June 2026, reads 2023 in August 2025 while
    # the CSS's look-back reads 2022 in 2024); a person the DGFiP declared for the evaluated month's year N-2 is
    # observed there, and unknown only in the months whose year N-2 it did not transmit.
    held = yearly.select("person_id", pl.col("year").cast(pl.Int32)).unique()
    now = held.filter(pl.col("year") == month.year - 2)
    # a zero of a year before the birth: a fact of the birth month, sourced as the row that gave it
    birth_src = (births.select("person_id", pl.col("source_agency").cast(pl.String),
                               pl.col("extract_date").dt.truncate("1mo").alias("source_month"))
                 if births is not None else
                 pl.DataFrame(schema={"person_id": pl.String, "source_agency": pl.String, "source_month": pl.Date}))
    not_born = now.join(unborn, on=["person_id", "year"], how="semi").join(birth_src, on="person_id", how="left")
    prov_parts = [now.join(unborn, on=["person_id", "year"], how="anti").select(
        "person_id", pl.lit("observed").alias("kind"), pl.lit("dgfip").alias("source_agency"),
        pl.date(pl.col("year") + 1, 1, 1).alias("source_month")),
        not_born.select("person_id", pl.lit("observed").alias("kind"), "source_agency", "source_month")]
    missing = ids.join(now, on="person_id", how="anti")
    prov_parts.append(missing.select("person_id", pl.lit("unknown").alias("kind"),
                                     pl.lit(None, dtype=pl.String).alias("source_agency"),
                                     pl.lit(None, dtype=pl.Date).alias("source_month")))
    prov = (pl.concat(prov_parts, how="vertical_relaxed").join(pl.DataFrame({"input": names}), how="cross")
            .select(pl.lit("individu").alias("entity"), pl.col("person_id").alias("id"),
                    pl.lit(None, dtype=pl.Date).alias("month"), "input", "kind", "source_agency", "source_month"))
    # no year held: unknown in every month read (one row); some years held: unknown in the months of the others
    none = ids.join(held, on="person_id", how="anti").select(
        "person_id", pl.lit(None, dtype=pl.Date).alias("month"),
        pl.lit(f"la DGFiP ne transmet pas de revenus de l'année N-2 pour cette personne ({src})").alias("reason"))
    # the (person, year) pairs missing first, then their months: a person × month grid would be the population
    # times the look-back's months
    gaps = (held.select("person_id").unique().join(pl.DataFrame({"year": years}, schema={"year": pl.Int32}),
                                                   how="cross")
            .join(held, on=["person_id", "year"], how="anti").join(grid, on="year", how="inner")
            .select("person_id", "month",
                    pl.format("la DGFiP ne transmet pas les revenus de {} pour cette personne ({})",
                              pl.col("year"), pl.lit(src)).alias("reason")))
    unk = pl.concat([none, gaps]).select(pl.lit("individu").alias("entity"), pl.col("person_id").alias("id"),
                                         "month", "reason").join(
        pl.DataFrame({"input": names}), how="cross").with_columns(
        pl.lit(0.0).alias("low"), pl.lit(0.0).alias("central"),
        pl.col("input").replace_strict(high, return_dtype=pl.Float64).alias("high"), pl.lit(False).alias("informed"))
    return monthly, prov, unk.select(list(empty_unk.columns))


KNOWN_PROFIT = "revenus_non_salaries_connus"
"""Rule input of the last yearly non-salaried profit known (``known_profit``)."""


def known_profit(lf: Mapping[str, pl.LazyFrame], people: pl.DataFrame, month: dt.date, depth: Mapping[str, int],
                 config: CoreConfig | None = None, births: pl.DataFrame | None = None,
                 ) -> tuple[pl.DataFrame | None, pl.DataFrame, pl.DataFrame]:
    """The last yearly non-salaried profit known of each month the rules read (person_id, month, ``KNOWN_PROFIT``):
    the ``annual_income`` ``self_employment`` amount of year N-1 of the month where the DGFiP declares the person
    for it, else of year N-2 (the RSA and the prime d'activité rest on the latest profit known, CASF art. R262-18
    s., CSS art. R844-1; a year the DGFiP declares the person for with no such row is a profit of 0, as
    ``n2_resources`` reads it). A person born after year N-2 had none (known, zero). A person the DGFiP declares
    for neither year: unknown, from 0 (central) to ``n2_high``'s non-salaried profit. Uninformed where the workspace
    holds the DGFiP's yearly income: a person its declarations do not show (a non-filer, a number it failed to
    match) is no evidence of no profit, and among adults whose salaries show nothing the self-employed are many
    (France 100,000: 13 of the 44 RSA flags the central 0 decided were false), so a flag it decides is possible.
    Informed where no yearly income was ingested at all (nobody's profit is known, the central 0 is the estimate
    every flag shares: probable, not certain) and for a person a pension fund knows (``pension_fund``: the pension
    is served once professional activity ends, CSS art. L161-22). One an agency knows as working on their own
    account is capped by detection (``persons.self_employed``). Provenance and unknowns of the evaluated month's
    years."""
    empty_prov, empty_unk = pl.DataFrame(schema=_PROVENANCE), pl.DataFrame(schema=_UNKNOWNS)
    if KNOWN_PROFIT not in depth:
        return None, empty_prov, empty_unk
    high = n2_high(config or CoreConfig())["revenus_non_salaries_n2"]
    months = month_range(month, depth[KNOWN_PROFIT])
    years = sorted({m.year - k for m in months for k in (1, 2)})
    ids = people.select("person_id")
    annual, src = (None, "absent") if "annual_income" not in lf else annual_income(lf, years)
    schema = {"person_id": pl.String, "year": pl.Int32, "amount": pl.Float64, "_src": pl.String,
              "_src_month": pl.Date, "_p": pl.Int32}
    parts = [pl.DataFrame(schema=schema)]
    declared_src = (pl.col("source_agency").cast(pl.String), pl.date(pl.col("year") + 1, 1, 1))
    if annual is not None:
        parts.append(annual.join(ids.lazy(), on="person_id", how="semi")
                     .group_by("person_id", "year", "source_agency")
                     .agg(pl.col("amount").filter(pl.col("kind") == "self_employment").sum())
                     .select("person_id", "year", "amount", declared_src[0].alias("_src"),
                             declared_src[1].alias("_src_month"), pl.lit(0).alias("_p"))
                     .collect().cast(schema))  # type: ignore[arg-type]
        parts.append(dgfip_declared(lf, years).join(ids.lazy(), on="person_id", how="semi")
                     .select("person_id", "year", pl.lit(0.0).alias("amount"), pl.lit("dgfip").alias("_src"),
                             declared_src[1].alias("_src_month"), pl.lit(1).alias("_p"))
                     .collect().cast(schema))  # type: ignore[arg-type]
    if births is not None:
        # a year before the birth: a fact of the birth month, sourced as the row that gave it
        parts.append(births.join(ids, on="person_id", how="semi").drop_nulls("birth_month")
                     .join(pl.DataFrame({"year": years}, schema={"year": pl.Int32}), how="cross")
                     .filter(pl.col("birth_month").dt.year().cast(pl.Int32) > pl.col("year"))
                     .select("person_id", "year", pl.lit(0.0).alias("amount"),
                             pl.col("source_agency").cast(pl.String).alias("_src"),
                             pl.col("extract_date").dt.truncate("1mo").alias("_src_month"), pl.lit(2).alias("_p"))
                     .cast(schema))  # type: ignore[arg-type]
    # a year's profit is its income rows' (a deficit kept; a membership alone, or a birth after it, adds a 0),
    # sourced as its first kind of row: income, membership, birth
    held = (pl.concat(parts).sort("_p").group_by("person_id", "year", maintain_order=True)
            .agg(pl.col("amount").sum(), pl.col("_src").first(), pl.col("_src_month").first()))
    grid = pl.DataFrame({"month": months}).with_columns(pl.col("month").cast(pl.Date))
    # year N-1 of each month where held, else N-2
    per_month = (ids.join(grid, how="cross")
                 .with_columns((pl.col("month").dt.year().cast(pl.Int32) - 1).alias("_n1"))
                 .join(held.rename({"year": "_n1", "amount": "_a1", "_src": "_s1", "_src_month": "_m1"}),
                       on=["person_id", "_n1"], how="left")
                 .with_columns((pl.col("_n1") - 1).alias("_n2"))
                 .join(held.rename({"year": "_n2", "amount": "_a2", "_src": "_s2", "_src_month": "_m2"}),
                       on=["person_id", "_n2"], how="left")
                 .with_columns(pl.coalesce("_a1", "_a2").alias(KNOWN_PROFIT),
                               pl.when(pl.col("_a1").is_not_null()).then(pl.col("_n1"))
                               .when(pl.col("_a2").is_not_null()).then(pl.col("_n2")).alias("_year"),
                               pl.when(pl.col("_a1").is_not_null()).then(pl.col("_s1")).otherwise(pl.col("_s2"))
                               .alias("_src"),
                               pl.when(pl.col("_a1").is_not_null()).then(pl.col("_m1")).otherwise(pl.col("_m2"))
                               .alias("_src_month")))
    monthly = per_month.filter(pl.col("_year").is_not_null()).select("person_id", "month", KNOWN_PROFIT)
    now = per_month.filter(pl.col("month") == month)
    known = now.filter(pl.col("_year").is_not_null())
    prov = pl.concat([
        known.select("person_id", pl.lit("observed").alias("kind"), pl.col("_src").alias("source_agency"),
                     pl.col("_src_month").alias("source_month")),
        now.filter(pl.col("_year").is_null()).select(
            "person_id", pl.lit("unknown").alias("kind"), pl.lit(None, dtype=pl.String).alias("source_agency"),
            pl.lit(None, dtype=pl.Date).alias("source_month"))])
    prov = prov.select(pl.lit("individu").alias("entity"), pl.col("person_id").alias("id"),
                       pl.lit(None, dtype=pl.Date).alias("month"), pl.lit(KNOWN_PROFIT).alias("input"),
                       "kind", "source_agency", "source_month")
    # a retiree a pension fund knows: the pension is served once professional activity ends (CSS art. L161-22)
    retired = (people.filter(pl.col("pension_fund").is_not_null()).select("person_id")
               if "pension_fund" in people.columns else people.clear().select("person_id"))
    gaps = (per_month.filter(pl.col("_year").is_null())
            .join(retired.with_columns(pl.lit(True).alias("_retired")), on="person_id", how="left")
            .with_columns(pl.col("_retired").fill_null(False)))
    # unknown in the months neither year is held (one row for a person held in none of them)
    whole = gaps.group_by("person_id").len().filter(pl.col("len") == len(months)).select("person_id")
    unk = pl.concat([
        whole.join(gaps.select("person_id", "_retired").unique(), on="person_id", how="left")
        .select("person_id", pl.lit(None, dtype=pl.Date).alias("month"), "_retired"),
        gaps.join(whole, on="person_id", how="anti").select("person_id", "month", "_retired")]).select(
        pl.lit("individu").alias("entity"), pl.col("person_id").alias("id"), "month",
        pl.lit(KNOWN_PROFIT).alias("input"), pl.lit(0.0).alias("low"), pl.lit(0.0).alias("central"),
        pl.lit(high).alias("high"),
        pl.format("la DGFiP ne transmet les revenus ni de l'année N-1 ni de l'année N-2 pour cette personne ({}) : "
                  "aucun bénéfice non salarié compté", pl.lit(src)).alias("reason"),
        (pl.lit(annual is None) | pl.col("_retired")).alias("informed"))
    return monthly, prov.select(list(empty_prov.columns)), unk.select(list(empty_unk.columns))
