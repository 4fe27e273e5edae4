"""Detection of one month: engine results on three variants of the unknowns, payments, exclusions →
``units`` (every famille and benefit with its status) and ``flags`` (the non-take-up and under-payment
cases to act on, graded and explained), plus a summary with every count.

    core = core_month(tables, month)          # the join core's CoreMonth (adapter until core.build_month)
    run = detect(core, tables, backend="duckdb")
    write_detection(run, out_dir)             # flags.parquet, units.parquet, summary.json
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl

from nonrecours.atomic import write_json, write_parquet
from nonrecours.core.clusters import clusters
from nonrecours.core.inputs import PAYMENT_INPUTS, famille_dossiers
from nonrecours.core.month import CoreMonth
from nonrecours.core.partition import Partitions, merge_parts
from nonrecours.core.resources import KNOWN_PROFIT, CoreConfig, annual_income, dgfip_declared
from nonrecours.core.units import qualifier
from nonrecours.core.workspace import RecordedLayouts
from nonrecours.detection.confidence import (
    ALL_VARIANTS,
    COMPOSITION_UNKNOWN,
    UNINFORMED_AT_HIGH,
    UNINFORMED_VARIANTS,
    VARIANTS,
    changed_people,
    composition_unknown,
    dated_unknowns,
    grade_expr,
    restricted,
    with_unknowns_at,
    young_dependant_caps,
)
from nonrecours.detection.deciding import decisive_unknowns
from nonrecours.detection.exclusions import EXCLUSIONS, exclusions
from nonrecours.detection.rates import grade_counts
from nonrecours.detection.reasons import condition_columns, fact_sources, famille_years, reasons
from nonrecours.detection.receipts import (
    AFFILIATION_PAYERS,
    agencies_sent,
    allocataire_lost,
    listing_stopped,
    paid_by_famille,
    payee_lines_lost,
    payer_unknown,
    payers_by_famille,
    payment_rows,
    payments_known,
    pension_fund_unknown,
    pension_lines_stopped,
    receipts_by_famille,
    reexamined_by_payer,
    resource_lines_behind,
    unattached_payments,
    unidentified_paid,
    unidentified_payee,
    with_receipts,
)
from nonrecours.detection.schema import DUE_PROVENANCE_SCHEMA, FLAGS_SCHEMA, GRADES, STATUSES, UNITS_SCHEMA
from nonrecours.detection.targets import (
    AMOUNT_BENEFITS,
    DetectionConfig,
    amount_expr,
    cash,
    entitled_expr,
)
from nonrecours.engine import Inputs, Result, amounts_to_the_cent, inputs_read
from nonrecours.engine.evaluate import cached_plan, evaluate_many
from nonrecours.engine.inputs import INDIVIDU_STRUCTURE
from nonrecours.engine.plan import ID, add_months
from nonrecours.errors import SchemaError
from nonrecours.isolate import Usage, metered, run_each
from nonrecours.rules.params import default_parameters
from nonrecours.rules.registry import default_registry
from nonrecours.schemas.benefits import CATALOGUE
from nonrecours.schemas.benefits import benefit as catalogue_row
from nonrecours.schemas.codes import PARENT_ROLES, UNIT_KINDS
from nonrecours.schemas.zonage import UNMODELLED_TERRITORIES

log = logging.getLogger("nonrecours.detection")

__all__ = [
    "DetectedParts",
    "Detection",
    "RulesAside",
    "core_month",
    "core_units",
    "detect",
    "detect_many",
    "detect_parts",
    "merge_summaries",
    "read_workspace",
    "run_detect",
    "workspace_config",
    "write_detection",
]

def read_workspace(workspace: str | Path, agencies: Any = None) -> dict[str, pl.LazyFrame]:
    """The workspace's canonical tables as lazy scans (``nonrecours.core.workspace.scan_workspace``: every
    table of the canonical model, a table absent from the workspace left out; ``agencies``: only the files of
    those agencies' extracts)."""
    from nonrecours.core.workspace import scan_workspace

    ws = Path(workspace)
    out = scan_workspace(ws, agencies)
    missing = [t for t in ("persons", "unit_memberships") if t not in out]
    if missing:
        raise SchemaError(f"the workspace {ws} has no {missing[0]} table (no extract ingested into it carries "
                          "one): nobody could be detected", table=missing[0])
    return out


def workspace_config(config: DetectionConfig | None, workspace: str | Path,
                     layouts: RecordedLayouts | None = None) -> DetectionConfig:
    """``config`` (default: ``DetectionConfig()``) with ``member_line_payers`` read from ``workspace``, where ingest
    recorded the layout each extract was read with (``core.workspace.recorded_layouts``; ``layouts``: those records
    already read, by a job that builds the core from them too): the mappings a team ingested with decide, whenever
    detection runs. A value the configuration sets is kept; an agency whose layout is not recorded (ingested
    before the record existed, or no report) is taken with its default mapping's (``connectors``), with a warning
    naming it, the others with theirs."""
    from nonrecours.core.workspace import recorded_layouts, with_recorded

    def read() -> tuple[tuple[str, ...] | None, tuple[str, ...]]:
        recorded = (layouts or recorded_layouts(Path(workspace))).payments_on_member_lines
        if not recorded.by_agency:  # none recorded: every agency's default layout (``_member_line_payers``)
            return None, recorded.unrecorded
        payers = {a for a, flag in recorded.by_agency.items() if flag}
        if recorded.unrecorded:
            from nonrecours.connectors import member_line_payers

            payers |= set(recorded.unrecorded) & member_line_payers()
        return tuple(sorted(payers)), recorded.unrecorded

    return with_recorded(config or DetectionConfig(), "member_line_payers", read,
                         "which layouts carry a dossier's payments on its members' lines",
                         "its default mapping is assumed")


def _member_line_payers(config: DetectionConfig) -> tuple[str, ...]:
    """``config.member_line_payers``, or when None the agencies' default layouts' (``connectors``: the one place
    that reads the mappings; imported here only for tables that come with no record of their layout)."""
    if config.member_line_payers is not None:
        return config.member_line_payers
    from nonrecours.connectors import member_line_payers

    return tuple(sorted(member_line_payers()))


def core_month(tables: dict[str, pl.LazyFrame | pl.DataFrame], month: dt.date,
               config: CoreConfig | None = None) -> CoreMonth:
    """The join core's month: engine inputs with the unknowns and where each value comes from. ``config``: the
    core's (``core.workspace.workspace_core_config`` for a workspace: the layouts its extracts were read with)."""
    from nonrecours.core import build_month

    return build_month(tables, month, config=config)


@dataclass
class Detection:
    """One month's detection: units, flags, summary and the central engine result (for explanations).

    ``units`` and ``flags`` are frames in memory after ``detect`` (and a run in one pass); after a partitioned
    ``run_detect`` they are lazy scans of the merged ``units.parquet`` and ``flags.parquet`` it wrote, so the
    population's rows are never held at once (collect them, or a filtered part, when needed)."""

    month: dt.date
    units: pl.DataFrame | pl.LazyFrame
    flags: pl.DataFrame | pl.LazyFrame
    summary: dict[str, Any]
    result: Result | None = field(repr=False)
    """The central engine result; None after a partitioned run (each part's was dropped with the part)."""
    due_provenance: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=DUE_PROVENANCE_SCHEMA),
                                         repr=False)
    """``DUE_PROVENANCE_SCHEMA``: the facts behind each flag of a yearly benefit judged at an earlier month."""
    due_situations: pl.DataFrame | None = field(default=None, repr=False)
    """The OpenFisca situations (``SITUATIONS_SCHEMA``) of the flags of a yearly benefit judged at an earlier
    month, at that month (taken in ``detect``, where that month's core is at hand); None after a partitioned
    run."""

    def __repr__(self) -> str:
        return f"Detection({self.month:%Y-%m}, units={_height(self.units)}, flags={_height(self.flags)})"


def _height(frame: pl.DataFrame | pl.LazyFrame) -> int:
    """Rows of a frame, or of a lazy scan (counted by the reader, nothing materialised)."""
    return frame.height if isinstance(frame, pl.DataFrame) else int(frame.select(pl.len()).collect().item())


def _read_unknowns(core: CoreMonth, targets: list[str]) -> CoreMonth:
    """``core`` with the unknowns of the inputs the rules of ``targets`` read at its month only (the columns the
    engine prepares for their plan, ``engine.prepare``): a value no rule evaluated reads cannot move a result, and
    setting it at each end cost most of an earlier month's variants (the ARS's rules read a few of the inputs
    the core lists unknown)."""
    plan = cached_plan(tuple(targets), default_registry(), default_parameters(), core.month)
    steps = [s for s in plan.inputs() if s.variable is not None]
    read = sorted({s.variable for s in steps} | set(INDIVIDU_STRUCTURE))
    unknowns = core.unknowns.filter(pl.col("input").is_in(read))
    # a monthly input is read at the plan's month offsets only (``engine.prepare`` takes each offset's rows): its
    # unknowns of other months move nothing (the ARS's month lists its N-2 incomes unknown in every month held)
    monthly = {s.variable for s in steps if s.monthly} - {s.variable for s in steps if not s.monthly}
    if plan.multi_month or not monthly:
        return replace(core, unknowns=unknowns)
    unknowns = dated_unknowns(unknowns, core.inputs, core.months_read)
    months = pl.DataFrame([(s.variable, add_months(plan.month, s.offset)) for s in steps if s.variable in monthly],
                          schema={"input": pl.String, "month": unknowns.schema["month"]}, orient="row").unique()
    dated = pl.col("input").is_in(sorted(monthly)) & pl.col("month").is_not_null()
    return replace(core, unknowns=pl.concat([unknowns.filter(~dated),
                                             unknowns.filter(dated).join(months, on=["input", "month"], how="semi")]))


_BASE = {"low": "central", "high": "central", "unfavourable": "central", "uninformed_unfavourable": "unfavourable"}
"""The variant each corner is evaluated against (``_variant_sets``): the uninformed unknowns' corner differs from
every unknown's on the households with an informed unknown only."""


def _variant_sets(core: CoreMonth) -> dict[str, Inputs | None]:
    """The engine inputs of each variant to evaluate: the central values, all unknowns low, all high, at their
    unfavourable end, and (when some unknown is informed) the uninformed ones at it; none but the central one
    when nothing is unknown (``core``: its unknowns those the rules evaluated read, ``_read_unknowns``).

    A corner holds only the households (``core.clusters``: people linked by any unit) where some value differs
    from its base variant's (``_BASE``), and the units no one belongs to; None when there are none: the rules
    compute each unit from its household's rows (``engine.evaluate_many`` stacks sets on it), so every other
    household's result is its base's (``_variant_results``). On the 20,000-person demo a corner reaches the
    households of 60 to 70 % of the people, the uninformed corner 52 % beside the unfavourable one; the ARS's
    month (its N-2 incomes unknown) every person at the high ends."""
    u = core.unknowns
    informed = (u.get_column("informed").fill_null(False).any() if "informed" in u.columns and u.height
                else False)
    # the uninformed corner differs from the unfavourable one where an unknown is informed (held central there),
    # or where it moves an input the unfavourable one holds central
    distinct = informed or bool(u.height and u.get_column("input").is_in(list(UNINFORMED_AT_HIGH)).any())
    wanted = [v for v in ALL_VARIANTS if v != "central" and not u.is_empty()
              and (v not in UNINFORMED_VARIANTS or distinct)]
    out: dict[str, Inputs | None] = {"central": core.inputs}
    if not wanted:
        return out
    ind = core.inputs.individu
    cl = core.clusters  # built by the core from these inputs' individus; a core without them gets them here
    if cl.is_empty() or not ind.join(cl, on="person_id", how="anti").is_empty():
        cl = clusters(ind)
    orphans = _memberless(core.inputs)
    moved_inputs = u.get_column("input").unique().to_list()
    whole: dict[str, Inputs] = {"central": core.inputs}
    for v in wanted:
        moved = with_unknowns_at(core, v)
        if v in _BASE.values():
            whole[v] = moved
        people = changed_people(whole[_BASE[v]], moved, moved_inputs)
        if people.is_empty() and not any(o.height for o in orphans.values()):
            out[v] = None
            continue
        households = cl.join(cl.join(people, on="person_id", how="semi").select("cluster_id").unique(),
                             on="cluster_id", how="semi")
        out[v] = restricted(moved, ind.join(households, on="person_id", how="semi"), orphans)
    return out


def _memberless(inputs: Inputs) -> dict[str, pl.DataFrame]:
    """Per unit entity, the ids of its frame's units no individu belongs to (evaluated in every corner: no
    household holds them)."""
    out = {}
    for u in UNIT_KINDS:
        frame, idc = inputs.frame(u, False), ID[u]
        if frame is not None and idc in inputs.individu.columns:
            out[u] = frame.select(idc).join(inputs.individu.select(idc).drop_nulls(), on=idc, how="anti")
    return out


def _variant_results(sets: dict[str, Inputs | None], evaluated: Any) -> dict[str, Result]:
    """Every variant's result from ``_variant_sets``' and the evaluations of those not None, in order
    (``evaluated``: an iterator): a corner's public frames are its base's with the rows of the households it holds
    replaced (its ``full`` frames: the same public frames; the corners' other columns are not kept)."""
    out: dict[str, Result] = {}
    for v, inputs in sets.items():
        if v == "central":
            out[v] = next(evaluated)
        elif inputs is None:
            out[v] = out[_BASE[v]]
        else:
            out[v] = _merged(out[_BASE[v]], next(evaluated))
    return _complete(out)


def _merged(base: Result, part: Result) -> Result:
    """``base``'s public frames with every unit ``part`` evaluated taken from ``part`` (sorted by id, as
    ``engine.evaluate`` returns them)."""
    frames = {}
    for entity, frame in base.frames.items():
        idc = ID[entity]
        mine = part.frames[entity]
        frames[entity] = (pl.concat([frame.join(mine.select(idc), on=idc, how="anti"), mine], how="vertical")
                          .sort(idc, nulls_last=True))
    return replace(part, frames=frames, full=frames)


def _targets(benefits: tuple[str, ...]) -> list[str]:
    return list(dict.fromkeys(r for b in benefits for r in catalogue_row(b).rules))


def _complete(results: dict[str, Result]) -> dict[str, Result]:
    """Every variant's result: one not evaluated is the one it equals."""
    for v in (*VARIANTS, "unfavourable"):
        results.setdefault(v, results["central"])
    for v in UNINFORMED_VARIANTS:
        results.setdefault(v, results[v.removeprefix("uninformed_")])
    return results


def _evaluate_variants(core: CoreMonth, backend: str, benefits: tuple[str, ...],
                       engine_config: dict[str, Any] | None = None) -> dict[str, Result]:
    """The rules of ``benefits`` on each variant of the unknowns (``_variant_sets``), stacked in one evaluation
    (``engine.evaluate_many``: the same values, the fixed costs of an evaluation paid once)."""
    targets = _targets(benefits)
    sets = _variant_sets(_read_unknowns(core, targets))
    asked = [inputs for inputs in sets.values() if inputs is not None]
    return _variant_results(sets, iter(evaluate_many(targets, asked, core.month, backend=backend,
                                                     missing_inputs="error", duckdb_config=engine_config)))


def detect_many(cases: list[tuple[CoreMonth, dict[str, Any]]], *, backend: str = "polars",
                config: DetectionConfig | None = None,
                engine_config: dict[str, Any] | None = None) -> list[Detection]:
    """``detect`` on several (core, tables) of one month, every variant of every core stacked in one evaluation
    (the exchange-value scenarios: one evaluation instead of one per scenario; the same flags, each unit being
    computed from its own rows). Beyond the engine's ``STACK_ROWS`` individus in all, each is evaluated apart."""
    config = config or DetectionConfig()
    months = {core.month for core, _ in cases}
    if len(months) > 1:
        raise SchemaError("detect_many takes cores of one month", table="core")
    targets = _targets(config.benefits)
    asked = [_variant_sets(_read_unknowns(core, targets)) for core, _ in cases]
    flat = [inputs for a in asked for inputs in a.values() if inputs is not None]
    results = iter(evaluate_many(targets, flat, months.pop(), backend=backend,
                                 missing_inputs="error", duckdb_config=engine_config) if flat else [])
    out = []
    for (core, tables), a in zip(cases, asked, strict=True):
        out.append(detect(core, tables, backend=backend, config=config, results=_variant_results(a, results)))
    return out


def _estimates(results: dict[str, Result], benefits: tuple[str, ...]) -> pl.DataFrame:
    """famille_id, benefit, entitled_<v> for every variant, the amount range over every variant evaluated.

    The range is over the unfavourable corners too: all unknowns low and all high each move some unknowns the
    way that raises the benefit (a pregnancy, an isolation at their high end; a resource at its low end), so
    neither need be the least favourable amount. Over the three main variants only (until 30 November 2026),
    a famille whose housing no agency describes got no forfait logement at any of them but the all-high one,
    where its other unknowns raised the RSA more (CI demo: the truth's amount below ``amount_low`` for 30 of
    the 46 certain or probable RSA true positives whose gap involves the housing)."""
    frames = []
    for benefit in benefits:
        cols = None
        granted = catalogue_row(benefit).granted_with
        for v in ALL_VARIANTS:
            own = ((entitled_expr(benefit) & pl.col(granted[1]).fill_null(False)) if granted
                   else pl.lit(None, dtype=pl.Boolean))
            f = results[v]["famille"].select(
                "famille_id", entitled_expr(benefit).alias(f"entitled_{v}"),
                amount_expr(benefit).alias(f"_amount_{v}"), own.alias(f"_own_{v}"))
            cols = f if cols is None else cols.join(f, on="famille_id", how="full", coalesce=True)
        assert cols is not None
        zero = 0.0 if benefit in AMOUNT_BENEFITS else None
        amounts = [pl.col(f"_amount_{v}").fill_null(zero) if zero is not None else pl.col(f"_amount_{v}")
                   for v in ALL_VARIANTS]
        frames.append(cols.select(
            "famille_id", pl.lit(benefit).alias("benefit"),
            *[pl.col(f"entitled_{v}").fill_null(False) for v in ALL_VARIANTS],
            pl.min_horizontal(amounts).alias("amount_low"),
            (pl.col("_amount_central").fill_null(zero) if zero is not None else pl.col("_amount_central"))
            .alias("amount_central"),
            pl.max_horizontal(amounts).alias("amount_high"),
            # the grade of its own route, apart from the benefit granting it (``Benefit.granted_with``)
            (grade_expr(*(f"_own_{v}" for v in VARIANTS), "_own_unfavourable", "_own_uninformed_unfavourable")
             if granted else pl.lit(None, dtype=pl.String)).alias("_own_grade")))
    return pl.concat(frames)


def _history_covers(tables: dict[str, Any], due: dt.date, benefits: tuple[str, ...]) -> bool:
    """Whether the payments held reach back to ``due``: some ``benefits_paid`` row of a payer of ``benefits``
    (of any agency when none is named: the chèque énergie) in ``due`` or before. Otherwise what was paid for
    that payment cannot be seen, and the benefit is not judged."""
    bp = tables.get("benefits_paid")
    if bp is None:
        return False
    payers = sorted({a for b in benefits for a in catalogue_row(b).payers})
    lf = bp.lazy()
    if payers:
        lf = lf.filter(pl.col("paying_agency" if "paying_agency" in lf.collect_schema().names()
                              else "source_agency").cast(pl.String).is_in(payers))
    first = lf.select(pl.col("month").min()).collect(engine="streaming").item()
    return first is not None and first <= due


def _earlier_dues(benefits: tuple[str, ...], month: dt.date) -> dict[dt.date, tuple[str, ...]]:
    """The yearly benefits judged at an earlier month than ``month`` (their payment due), by that month."""
    dues: dict[dt.date, list[str]] = {}
    for b in benefits:
        row = catalogue_row(b)
        if row.yearly and row.due_month(month) != month:
            dues.setdefault(row.due_month(month), []).append(b)
    return {d: tuple(bs) for d, bs in sorted(dues.items())}


def history_coverage(tables: dict[str, Any], month: dt.date, benefits: tuple[str, ...]) -> dict[dt.date, bool]:
    """For each earlier month a yearly benefit of ``benefits`` is judged at, whether the payments of ``tables``
    reach back to it (``_history_covers``): read once on the whole population for a partitioned run."""
    return {due: _history_covers(tables, due, bs) for due, bs in _earlier_dues(benefits, month).items()}


@dataclass
class Earlier:
    """A month before the evaluated one at which yearly benefits (``benefits``) were judged (their payment due):
    its core and ``famille_now`` (famille_id then → famille_now, where the flag is)."""

    due: dt.date
    benefits: tuple[str, ...]
    core: CoreMonth = field(repr=False)
    famille_now: pl.DataFrame = field(repr=False)
    conditions: pl.DataFrame = field(repr=False)
    """famille_id (now), then the benefits' labelled conditions on that month's central values (``_conditions_now``)."""


def _famille_now(earlier: pl.DataFrame, individu: pl.DataFrame) -> pl.DataFrame:
    """famille_id (of the earlier month) → famille_now: the famille its demandeur (else its conjoint) belongs
    to in the evaluated month, where the outreach finds them."""
    ranked = (earlier.filter(pl.col("famille_role").is_in(["demandeur", "conjoint"]))
              .select("famille_id", "person_id", (pl.col("famille_role") != "demandeur").alias("_rank")))
    return (ranked.join(individu.select("person_id", pl.col("famille_id").alias("famille_now")), on="person_id",
                        how="inner")
            .sort("famille_id", "_rank", "famille_now").unique("famille_id", keep="first")
            .select("famille_id", "famille_now"))


def _conditions_now(central: Result, benefits: tuple[str, ...], famille_now: pl.DataFrame) -> pl.DataFrame:
    """The labelled conditions of ``benefits`` at the month they were judged, carried to the famille now: two
    familles then in one now hold a condition when either held it (their amounts add up, ``_judged_earlier``)."""
    cols = condition_columns(central, benefits)
    return (central["famille"].select("famille_id", *cols).join(famille_now, on="famille_id", how="inner")
            .group_by("famille_now").agg(pl.col(cols).any()).rename({"famille_now": "famille_id"}))


def _judged_earlier(core: CoreMonth, tables: dict[str, Any], est: pl.DataFrame, paid: pl.DataFrame,
                    individu: pl.DataFrame, config: DetectionConfig, backend: str,
                    engine_config: dict[str, Any] | None, due_facts: dict[dt.date, Any] | None,
                    history: dict[dt.date, bool] | None = None, dossiers: pl.DataFrame | None = None
                    ) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, Any], list[Earlier]]:
    """A yearly benefit judged on the payment already due, at its month (``Benefit.due_month``): in June 2026,
    the ARS due in August 2025, with the ages, composition and resources of August 2025 (the month's own core,
    built from the same tables), against what was paid since. The ARS the evaluated month's rules give is the
    one paid next August: not yet due, never compared with last year's payment (that made every newly eligible
    famille a non-take-up and every change of age band an under-payment); it is counted (``not_yet_due``).
    When the payments held do not reach back to the month due, the benefit is not judged (no unit), and said.

    The earlier month's familles are carried to this month's by their demandeur (else conjoint); two of them now
    in one famille add up. Returns ``est`` and ``paid`` with those benefits replaced, the summary's
    ``yearly`` entry of each yearly benefit, and each earlier month's core (``Earlier``: the facts and the
    OpenFisca situation of its flags are that month's). ``dossiers``: ``core.inputs.famille_dossiers`` of the
    tables, read once by ``detect``."""
    from nonrecours.core import build_month

    month = core.month
    info: dict[str, Any] = {}
    kept: list[Earlier] = []
    for b in config.benefits:
        row = catalogue_row(b)
        if not row.yearly:
            continue
        due = row.due_month(month)
        coming = est.filter((pl.col("benefit") == b) & pl.col("entitled_central")).height
        info[b] = {"due_month": f"{due:%Y-%m}", "due": row.due_name(due), "judged": True,
                   "not_yet_due": coming if due != month else 0, "not_in_month": 0}
    for due, bs in _earlier_dues(config.benefits, month).items():
        est = est.filter(~pl.col("benefit").is_in(bs))
        paid = paid.filter(~pl.col("benefit").is_in(bs))
        if not (history[due] if history is not None else _history_covers(tables, due, bs)):
            for b in bs:
                info[b]["judged"] = False
                info[b]["reason"] = (f"payments held start after {due:%Y-%m}: the payment due then cannot be "
                                     "checked; not judged")
            continue
        # the inputs those benefits read only (the run's targets read eighteen, the ARS and the chèque énergie nine)
        earlier = build_month(tables, due, config=core.config, facts=(due_facts or {}).get(due),
                              targets=_targets(bs))
        results = _evaluate_variants(earlier, backend, bs, engine_config)
        e = _estimates(results, bs)
        ind = earlier.inputs.individu.select("person_id", "famille_id", "famille_role")
        p = paid_by_famille(tables.get("benefits_paid"), ind, month, bs, window=config.paid_window,
                            grace=config.grace_months, dossiers=dossiers)
        now = _famille_now(ind, individu)
        kept.append(Earlier(due, bs, earlier, now, _conditions_now(results["central"], bs, now)))
        del results
        e = e.join(now, on="famille_id", how="left")
        for b, n in (e.filter(pl.col("famille_now").is_null() & pl.col("entitled_high"))
                     .group_by("benefit").len().iter_rows()):
            info[b]["not_in_month"] = int(n)  # entitled then, nobody of the famille evaluated now: counted
        ent = [c for c in e.columns if c.startswith("entitled_")]
        e = (e.filter(pl.col("famille_now").is_not_null())
             .group_by(pl.col("famille_now").alias("famille_id"), "benefit")
             .agg(*[pl.col(c).any() for c in ent],
                  *[pl.col(c).sum() for c in ("amount_low", "amount_central", "amount_high")])
             .with_columns(pl.lit(None, dtype=pl.String).alias("_own_grade")))  # no yearly benefit is granted
        # a payment to a famille id of no earlier famille (its payer's own unit) keeps that id
        p = (p.join(now, on="famille_id", how="left")
             .group_by(pl.coalesce("famille_now", "famille_id").alias("famille_id"), "benefit")
             .agg(pl.col("paid").sum(), pl.col("paid_before").sum(), pl.col("receiving").any()))
        est = pl.concat([est, e.select(est.columns)], how="vertical_relaxed")
        paid = pl.concat([paid, p.select(paid.columns)], how="vertical_relaxed")
    return est, paid, info, kept


def _earlier_flags(earlier: Earlier, flags: pl.DataFrame) -> pl.DataFrame:
    """famille_id (of the earlier month), unit_id, claimant_id, benefit: the flags of ``earlier``'s benefits and
    the familles of that month they were judged on (two then, one now: both)."""
    f = flags.filter(pl.col("benefit").is_in(earlier.benefits)).select("unit_id", "claimant_id", "benefit")
    return earlier.famille_now.join(f, left_on="famille_now", right_on="unit_id", how="inner").select(
        "famille_id", pl.col("famille_now").alias("unit_id"), "claimant_id", "benefit")


@dataclass
class _DueFacts:
    """What the flags of ``benefits`` (judged at an earlier month) quote and export, taken from that month's core:
    ``sources`` (``fact_sources``, on the famille now), ``provenance`` (``DUE_PROVENANCE_SCHEMA``),
    ``situations`` (``SITUATIONS_SCHEMA``, at that month) and ``conditions`` (``Earlier.conditions`` of the
    flagged familles: the conditions their reasons say held or failed)."""

    benefits: tuple[str, ...]
    sources: pl.DataFrame
    provenance: pl.DataFrame
    situations: pl.DataFrame
    conditions: pl.DataFrame
    years: pl.DataFrame
    """famille_id (now), input, years: the N-2 incomes unknown then (``reasons.famille_years``)."""


def _due_facts(e: Earlier, flags: pl.DataFrame, paid_window: int) -> _DueFacts:
    """For the flags of ``e``'s benefits, from ``e``'s core: the sources their reasons name, the provenance of the
    famille judged then (its members', the famille's, their ménages' and foyers': the facts that decided the flag,
    with the agency and extract month they came from) and its OpenFisca situation at that month (the claimant must
    have been in that famille: a famille now led by someone else is not it)."""
    from nonrecours.simulation.export_openfisca import flagged_situations

    judged = _earlier_flags(e, flags)
    fam = judged.select("famille_id", "unit_id").unique()
    then = e.core.inputs.individu
    sources = (fact_sources(e.core, then.select("person_id", "famille_id", "menage_id"),
                            add_months(e.due, -paid_window), fam)
               .join(fam, on="famille_id").drop("famille_id").rename({"unit_id": "famille_id"}).unique())
    ind = then.join(fam.select("famille_id"), on="famille_id", how="semi")
    ids = pl.concat([ind.select(pl.lit(entity).alias("entity"), pl.col(key).alias("id"), "famille_id")
                     for entity, key in (("individu", "person_id"), ("famille", "famille_id"),
                                         ("menage", "menage_id"), ("foyer_fiscal", "foyer_fiscal_id"))
                     if key in ind.columns]).drop_nulls("id").unique()
    provenance = (e.core.provenance.join(ids, on=["entity", "id"], how="inner")
                  .join(judged.select("famille_id", "unit_id", "benefit").unique(), on="famille_id")
                  .with_columns(pl.lit(e.due).alias("due_month"))
                  .select(list(DUE_PROVENANCE_SCHEMA)).cast(DUE_PROVENANCE_SCHEMA).unique())  # type: ignore[arg-type]
    claimants = judged.join(then.select(pl.col("person_id").alias("claimant_id"), "famille_id"),
                            on=["claimant_id", "famille_id"], how="semi")
    conditions = e.conditions.join(fam.select(pl.col("unit_id").alias("famille_id")).unique(), on="famille_id",
                                   how="semi")
    years = (famille_years(e.core.unknowns, then, e.due, fam).join(fam, on="famille_id").drop("famille_id")
             .rename({"unit_id": "famille_id"}).group_by("famille_id", "input")
             .agg(pl.col("years").list.explode(keep_nulls=False, empty_as_null=False).unique().sort()))
    return _DueFacts(e.benefits, sources, provenance, flagged_situations(e.core.inputs, e.due, claimants), conditions,
                     years)


def _adults(individu: pl.DataFrame) -> pl.DataFrame:
    return individu.filter(pl.col("famille_role").is_in(["demandeur", "conjoint"])).select(
        "famille_id", "person_id", pl.col("famille_role"))


def _deciding(core: CoreMonth, individu: pl.DataFrame, benefits: tuple[str, ...], composition: pl.DataFrame,
              young: pl.DataFrame, wanted: pl.DataFrame | None = None) -> pl.DataFrame:
    """famille_id, benefit, deciding_unknowns: the famille's unknown inputs that the benefit reads, and the
    composition unknown (``composition``: ``composition_unknown``; ``young``: ``young_dependant_caps``).
    ``wanted`` (famille_id, benefit): those pairs only, the same lists (the flags, which alone read them: every
    unit with an unknown was a group of its own, France 100,000's 770,000 units against its 53,000 flags)."""
    schema = {"famille_id": pl.String(), "benefit": pl.String(), "deciding_unknowns": pl.List(pl.String())}
    u = core.unknowns
    if u.is_empty():
        return pl.DataFrame(schema=schema)
    own = u.filter(pl.col("entity") == "famille").select(pl.col("id").alias("famille_id"), "input")
    if wanted is not None:  # a famille's lists read its own rows and its members' links only
        familles = wanted.select("famille_id").unique()
        individu = individu.join(familles, on="famille_id", how="semi")
        own = own.join(familles, on="famille_id", how="semi")
    parts = [own]
    for entity, key in (("individu", "person_id"), ("menage", "menage_id"), ("foyer_fiscal", "foyer_fiscal_id")):
        link = individu.select(key, "famille_id").filter(pl.col(key).is_not_null()).unique()
        parts.append(u.filter(pl.col("entity") == entity).select(pl.col("id").alias(key), "input")
                     .join(link, on=key, how="inner").select("famille_id", "input"))
    found = pl.concat(parts).unique()
    reads = pl.DataFrame([(b, i) for b in benefits for i in sorted(_inputs_read(b))],
                         schema={"benefit": pl.String, "input": pl.String}, orient="row")
    # a composition unknown caps every benefit (a young dependant's, those that can count them) whether or not
    # its rules read the input: it is named on each
    comp = composition.filter(~pl.col("young_dependant"))
    named = pl.concat([
        comp.join(pl.DataFrame({"benefit": list(benefits)}, schema={"benefit": pl.String}), how="cross")
        .select("famille_id", "benefit"), young]).with_columns(
        pl.lit(COMPOSITION_UNKNOWN).alias("input"))
    pairs = pl.concat([found.join(reads, on="input", how="inner").select("famille_id", "benefit", "input"), named])
    if wanted is not None:
        pairs = pairs.join(wanted, on=["famille_id", "benefit"], how="semi")
    return (pairs.group_by("famille_id", "benefit").agg(pl.col("input").unique().sort().alias("deciding_unknowns"))
            .cast(schema))  # type: ignore[arg-type]


def _deciding_of_earlier(earlier: list[Earlier], deciding: pl.DataFrame, composition: pl.DataFrame,
                         young: pl.DataFrame, wanted: pl.DataFrame | None = None) -> pl.DataFrame:
    """``deciding`` with the benefits judged at an earlier month (``Earlier``) given that month's unknowns: their
    range and grade come from that month's core (the ARS of August 2025 reads the resources unknown then, not
    June 2026's), carried to the famille now; the composition unknown stays the evaluated month's, which capped
    their grade (``detect``). ``wanted`` (famille_id now, benefit): those pairs only (``_deciding``)."""
    if not earlier:
        return deciding
    judged_then = [b for e in earlier for b in e.benefits]
    flat = deciding.explode("deciding_unknowns").rename({"deciding_unknowns": "input"}).drop_nulls("input")
    parts = [flat.filter(~pl.col("benefit").is_in(judged_then) | (pl.col("input") == COMPOSITION_UNKNOWN))]
    for e in earlier:
        then = e.core.inputs.individu.select("person_id", "famille_id", "foyer_fiscal_id", "menage_id")
        asked = (None if wanted is None else  # the familles then of the pairs wanted now
                 e.famille_now.join(wanted.rename({"famille_id": "famille_now"}), on="famille_now")
                 .select("famille_id", "benefit"))
        read = _deciding(e.core, then, e.benefits, composition.clear(), young.clear(), asked)
        parts.append(read.join(e.famille_now, on="famille_id", how="inner")
                     .select(pl.col("famille_now").alias("famille_id"), "benefit",
                             pl.col("deciding_unknowns").alias("input")).explode("input").drop_nulls("input"))
    return (pl.concat(parts).group_by("famille_id", "benefit")
            .agg(pl.col("input").unique().sort().alias("deciding_unknowns")).cast(deciding.schema))


_GRADE_RANK = {g: i for i, g in enumerate(GRADES)}


def _cap_grades(units: pl.DataFrame, core: CoreMonth, individu: pl.DataFrame, benefits: tuple[str, ...],
                known: dict[str, bool]) -> pl.DataFrame:
    """The catalogue's limits on a grade (schemas.benefits): a famille whose value of a capped input is unknown
    (the rent of a famille without housing aid, a disability rate no agency transmits) gets at most the
    benefit's cap for it; a benefit whose payments nobody in the run reports is ``possible`` at most (whether
    it is received is unknown); a benefit with a condition no data shows (``grade_cap``: the ASF's absence of
    maintenance from the other parent) gets at most its cap."""
    caps = [(b, inp, g) for b in benefits for inp, g in catalogue_row(b).unknown_caps]
    caps += [(b, None, "possible") for b in benefits if not known[b]]
    caps += [(b, None, row.grade_cap[0]) for b in benefits if (row := catalogue_row(b)).grade_cap]
    if not caps:
        return units
    u = core.unknowns
    parts = []
    for b, inp, grade in caps:
        if inp is None:
            fams = units.filter(pl.col("benefit") == b).select("famille_id")
        else:
            fams = _unknown_familles(u, individu, inp)
        parts.append(fams.with_columns(pl.lit(b).alias("benefit"), pl.lit(_GRADE_RANK[grade]).alias("_cap")))
    cap = pl.concat(parts).group_by("famille_id", "benefit").agg(pl.col("_cap").max())
    rank = pl.col("grade").replace_strict(_GRADE_RANK, default=None, return_dtype=pl.Int32)
    worst = pl.max_horizontal(rank, pl.col("_cap"))
    return (units.join(cap, on=["famille_id", "benefit"], how="left")
            .with_columns(pl.when(pl.col("grade").is_not_null() & pl.col("_cap").is_not_null())
                          .then(worst.replace_strict({i: g for g, i in _GRADE_RANK.items()}, return_dtype=pl.String))
                          .otherwise(pl.col("grade")).alias("grade"))
            .drop("_cap"))


def _unknown_familles(u: pl.DataFrame, individu: pl.DataFrame, inp: str) -> pl.DataFrame:
    """famille_id of the familles with an unknown value of input ``inp`` (on the famille, a member or its
    ménage)."""
    rows = u.filter(pl.col("input") == inp)
    parts = [rows.filter(pl.col("entity") == "famille").select(pl.col("id").alias("famille_id"))]
    for entity, key in (("individu", "person_id"), ("menage", "menage_id"), ("foyer_fiscal", "foyer_fiscal_id")):
        link = individu.select(key, "famille_id").filter(pl.col(key).is_not_null()).unique()
        parts.append(rows.filter(pl.col("entity") == entity).select(pl.col("id").alias(key))
                     .join(link, on=key, how="inner").select("famille_id"))
    return pl.concat([p.cast({"famille_id": pl.String}) for p in parts]).unique()


def _period(benefit: str, month: dt.date) -> int | None:
    """The months of resources ``benefit`` rests on when judged at ``month`` (None for a yearly benefit judged
    at an earlier month, or one whose rule reads the year N-2 or the revenu fiscal de référence)."""
    row = catalogue_row(benefit)
    return row.resource_months if row.due_month(month) == month else None


def _lines_behind(tables: dict[str, Any], individu: pl.DataFrame, core: CoreMonth,
                  config: DetectionConfig) -> pl.DataFrame:
    """famille_id, benefit, _behind_source, _behind_last: the familles a member of which has resource lines at a
    source declaring every payment of an input of ``config.lines_behind_inputs`` (``CoreConfig.exhaustive``: the
    DRM for salaries, the DRM and the CNAM for invalidity pensions) stopping in the
    ``lines_behind_months`` before the month, nobody reporting them since (``receipts.resource_lines_behind``),
    for the benefits judged at the month whose reference period those missing months cover for at least
    ``config.lines_behind_share``, or whose rules set aside a resource stopped in the month itself
    (``Benefit.stop_set_aside``) when only the month's line is missing; the earliest stop and its source (a reason
    line names them)."""
    schema = {"famille_id": pl.String(), "benefit": pl.String(), "_behind_source": pl.String(),
              "_behind_last": pl.Date()}
    month = core.month
    periods = {b: k for b in config.benefits if (k := _period(b, month))}
    if not periods or config.lines_behind_months <= 0:
        return pl.DataFrame(schema=schema)
    # the core's own exhaustive sources of the inputs checked; the synthetic truth's ``synth`` is what was paid,
    # never a line behind
    sources = list(dict.fromkeys(a for i in config.lines_behind_inputs for a in core.config.exhaustive.get(i, ())
                                 if a != "synth"))
    rows = resource_lines_behind(tables, individu, month, sources, behind=config.lines_behind_months,
                                 windows=core.resource_windows)
    if rows.is_empty():
        return pl.DataFrame(schema=schema)
    now = month.year * 12 + month.month - 1
    after = pl.col("last").dt.year().cast(pl.Int32) * 12 + pl.col("last").dt.month().cast(pl.Int32)
    k = pl.col("_k")
    # months of the period (the k months before the month) after the last line
    missing = pl.lit(now) - pl.max_horizontal(after, pl.lit(now) - k)
    # a benefit setting aside a resource stopped in the month itself (the RSA, CASF art. R262-13) reads the month's
    # missing line as that stop: the whole period's resources go with it
    set_aside = [b for b in periods if catalogue_row(b).stop_set_aside]
    return (rows.join(pl.DataFrame({"benefit": list(periods), "_k": list(periods.values())},
                                   schema={"benefit": pl.String, "_k": pl.Int32}), how="cross")
            .filter((missing.cast(pl.Float64) / k.cast(pl.Float64) >= config.lines_behind_share)
                    | (pl.col("benefit").is_in(set_aside) & (after == now)))
            .sort("last", "source").group_by("famille_id", "benefit", maintain_order=True)
            .agg(pl.col("source").first().alias("_behind_source"), pl.col("last").first().alias("_behind_last"))
            .cast(schema))  # type: ignore[arg-type]


def _eea_right_unshown(core: CoreMonth) -> pl.DataFrame:
    """famille_id: the familles every parent of which is an EEA or Swiss national of fewer years of residence than
    the permanent right of residence asks (CESEDA art. L234-1: five), neither working nor drawing an unemployment
    benefit in the month. CASF art. L262-6 asks such a person, besides three months of residence (which the rules
    read), a right of residence: an inactive one holds it with sufficient resources and health insurance only
    (CESEDA art. L233-1, 2°), which a person the RSA would be due to lacks, or as the family member of a worker or
    of a French national. No agency transmits it: the RSA is ``possible`` at most (a tester's inactive EU citizen of
    two years' residence was « RSA certain », 6 December 2026). A parent meeting the condition otherwise (French, a
    worker, a permit) keeps the famille out."""
    month = core.month
    permanent = default_parameters().bind("minima_sociaux.rsa.duree_droit_sejour_permanent_eee", month).value
    parents = core.inputs.individu.filter(pl.col("famille_role").is_in(list(PARENT_ROLES)))
    monthly = core.inputs.individu_monthly
    active = (pl.col("salary_net").fill_null(0.0) > 0) | (pl.col("unemployment").fill_null(0.0) > 0)
    working = (monthly.filter((pl.col("month") == month) & active).select("person_id") if monthly is not None
               else pl.DataFrame(schema={"person_id": pl.String}))
    # the working parents joined, not tested with ``is_in`` inside the aggregation: a literal list there is
    # repeated for every famille (France 100,000: 24 GB before the process was killed)
    short = ((pl.col("nationality_group") == "EEA_CH") & (pl.col("residence_permit_years").fill_null(0.0) < permanent)
             & pl.col("_working").is_null())
    return (parents.join(working.unique().with_columns(pl.lit(True).alias("_working")), on="person_id", how="left")
            .with_columns(short.alias("_short")).group_by("famille_id").agg(pl.col("_short").all())
            .filter(pl.col("_short")).select(pl.col("famille_id").cast(pl.String)))


AAH_REPLACED_BY = {"aspa": "aah_remplacee_par_aspa", "asi": "aah_remplacee_par_asi"}
"""The benefits a claim of which would take the place of AAH received (CSS art. L821-1: the AAH tops the
claimant's own old-age and invalidity benefits up to its amount), and the rule giving that AAH."""


def _aah_in_place(central: Result, benefits: tuple[str, ...]) -> pl.DataFrame:
    """famille_id, benefit (the ASPA, the ASI), _aah_offset: the AAH received the benefit due would take the place
    of (``AAH_REPLACED_BY``), where it is above 0."""
    schema = {"famille_id": pl.String, "benefit": pl.String, "_aah_offset": pl.Float64}
    fam = central["famille"]
    parts = [fam.lazy().filter(pl.col(rule) > 0)
             .select(pl.col("famille_id").cast(pl.String), pl.lit(b).alias("benefit"),
                     pl.col(rule).cast(pl.Float64).alias("_aah_offset"))
             for b, rule in AAH_REPLACED_BY.items() if b in benefits and rule in fam.columns]
    return pl.concat(parts).collect() if parts else pl.DataFrame(schema=schema)


def _self_employed(tables: dict[str, Any], individu: pl.DataFrame, month: dt.date) -> pl.DataFrame:
    """famille_id, _self_emp_year, _self_emp_amount, _self_emp_status: the familles a member of which the DGFiP
    declares non-salaried income (``annual_income``'s ``self_employment``, above zero) for the latest of the two years
    before the month's that it knows them in (year and amount), or that an agency knows as working on their own
    account (``persons.self_employed``: the MSA's farm operator) while the DGFiP declares them for neither year
    (``_self_emp_status``, that agency; their profit is unknown, not zero). A benefit whose rules count the profit
    of its period (``_profit_read``) is not capped for a declared one; the others' estimates rest on resources
    short of a known one: not a certain nor a probable case. A deficit lowers the resources: no cap. The latest
    year only: an activity the person has stopped declaring is not counted; a self-employed person the DGFiP
    declares without profit has none."""
    schema = {"famille_id": pl.String(), "_self_emp_year": pl.Int32(), "_self_emp_amount": pl.Float64(),
              "_self_emp_status": pl.String()}
    years = [month.year - 2, month.year - 1]
    lf = {k: v.lazy() for k in ("annual_income", "resources", "unit_memberships")
          if (v := tables.get(k)) is not None}
    members = individu.select("person_id", "famille_id").filter(pl.col("famille_id").is_not_null()).unique()
    yearly, _ = annual_income(lf, years)
    out = []
    if yearly is not None:
        yearly = yearly.join(members.lazy().select("person_id"), on="person_id", how="semi").collect()
        latest = yearly.group_by("person_id").agg(pl.col("year").max())
        own = (yearly.join(latest, on=["person_id", "year"], how="semi")
               .filter(pl.col("kind") == "self_employment")
               .group_by("person_id", "year").agg(pl.col("amount").sum())
               .filter(pl.col("amount") > 0))
        out.append(own.join(members, on="person_id", how="inner")
                   .group_by("famille_id").agg(pl.col("year").max().alias("_self_emp_year"),
                                               pl.col("amount").sum().alias("_self_emp_amount")))
    persons = tables["persons"].lazy() if tables.get("persons") is not None else None
    if persons is not None and "self_employed" in persons.collect_schema().names():
        status = (persons.filter(pl.col("self_employed").fill_null(False))
                  .join(members.lazy().select("person_id"), on="person_id", how="semi")
                  .group_by("person_id").agg(pl.col("source_agency").cast(pl.String).min()).collect())
        if status.height:
            declared = dgfip_declared(lf, years).select("person_id")
            if yearly is not None:
                declared = pl.concat([declared, yearly.lazy().select("person_id")])
            undeclared = status.join(declared.collect(), on="person_id", how="anti")
            out.append(undeclared.join(members, on="person_id", how="inner")
                       .group_by("famille_id").agg(pl.col("source_agency").min().alias("_self_emp_status")))
    if not out:
        return pl.DataFrame(schema=schema)
    frame = out[0] if len(out) == 1 else out[0].join(out[1], on="famille_id", how="full", coalesce=True)
    return pl.concat([pl.DataFrame(schema=schema), frame], how="diagonal_relaxed").cast(schema)  # type: ignore[arg-type]


def _inputs_read(benefit: str) -> frozenset[str]:
    """The engine inputs the rules of ``benefit`` read (its catalogue rules and what they depend on)."""
    return inputs_read(tuple(catalogue_row(benefit).rules))


def _profit_read(benefit: str) -> str | None:
    """The non-salaried profit input the rules of ``benefit`` read of their own (not through another benefit's
    computed amount: the AAH reads the ASPA's and the ASI's), the one
    of its reference period: year N-2's for a benefit on that year (no ``resource_months``: the family benefits'
    resources, CSS art. R532-3; the chèque énergie's revenu fiscal de référence), the last yearly profit known
    (``core.resources.KNOWN_PROFIT``) for one on recent months (the RSA, the prime d'activité, the ASPA, the ASI,
    the CSS: CASF art. R262-18 s., CSS art. R844-1, R815-22, R861-15). None: the rules count no such profit (the
    AAH). The housing aid's resources count none either, but its rules read the RSA's base of resources of the month
    before to tell whether the RSA neutralises them (CCH art. R822-17), the profit in it: found as reading it, so
    not capped (left: on France 100,000 its c+p flags went 277 → 333, 3 false alarms before and after)."""
    row = catalogue_row(benefit)
    name = "revenus_non_salaries_n2" if row.resource_months is None else KNOWN_PROFIT
    others = tuple(sorted({r.rule for r in CATALOGUE if r.code != benefit} - set(row.rules)))
    return name if name in inputs_read(tuple(row.rules), others) else None


def _served_readers(benefits: tuple[str, ...]) -> dict[str, list[str]]:
    """Each benefit served with a pension (the catalogue's ``paid_with``) whose payment an input holds → the
    benefits of ``benefits`` whose rules read that payment and that another replaces when due (the catalogue's
    ``excludes``): the ASPA → the free CSS. The ASPA tops resources up to its ceiling (CSS art. L815-9), above the
    free CSS's and below the CSS with participation's (CSS art. L861-1): an ASPA received unseen can turn a free
    CSS into one with participation, never take the latter away."""
    better = {row.excludes for row in CATALOGUE if row.excludes}
    out = {}
    for row in CATALOGUE:
        read = PAYMENT_INPUTS.get(row.code)
        if row.paid_with and read:
            out[row.code] = [b for b in benefits if b in better and read in _inputs_read(b)]
    return out


def _served_unobserved(unknown: pl.DataFrame, readers: dict[str, list[str]]) -> pl.DataFrame:
    """famille_id, benefit, _served: the ``readers`` (``_served_readers``) of a benefit served with a pension for
    the familles whose receiving it is not observed (``unknown``: ``receipts.pension_fund_unknown`` of the served
    benefits, a pensioner no payer of it knows)."""
    rows = []
    for code, reading in readers.items():
        fams = unknown.filter(pl.col("benefit") == code).select("famille_id")
        rows += [fams.with_columns(pl.lit(b).alias("benefit")) for b in reading]
    schema = {"famille_id": pl.String(), "benefit": pl.String(), "_served": pl.Boolean()}
    if not rows:
        return pl.DataFrame(schema=schema)
    return pl.concat(rows).unique().with_columns(pl.lit(True).alias("_served")).cast(schema)  # type: ignore[arg-type]


DISABILITY_BENEFITS = ("aah",)
"""Benefits whose right rests on a disability: a flag needs some evidence of one (see ``_disability_evidence``)."""


def _disability_evidence(core: CoreMonth, individu: pl.DataFrame) -> pl.DataFrame:
    """famille_id of the familles with some evidence of an adult's disability: a disability rate an agency
    transmits (above 0), a recognised RSDAE, an invalidity pension in a month the core read. Without any (and no
    AAH paid), an AAH that only the favourable end of an unknown rate (0 to 100 %) gives is noise for an
    outreach list: every adult no AAH payer knows would be a case (CSS art. L821-1, L821-2 need a rate the
    CDAPH sets)."""
    adults = _adults(individu).select("famille_id", "person_id")
    ind = core.inputs.individu
    cond = [pl.col(c).fill_null(0.0) > 0 if c == "disability_rate" else pl.col(c).fill_null(False)
            for c in ("disability_rate", "rsdae") if c in ind.columns]
    parts = [ind.filter(pl.any_horizontal(cond)).select("person_id")] if cond else []
    monthly = core.inputs.individu_monthly
    if monthly is not None and "invalidity_pension" in monthly.columns:
        parts.append(monthly.filter(pl.col("invalidity_pension").fill_null(0.0) > 0).select("person_id"))
    if not parts:
        return pl.DataFrame(schema={"famille_id": pl.String()})
    seen = pl.concat([p.cast({"person_id": pl.String}) for p in parts]).unique()
    return adults.join(seen, on="person_id", how="semi").select("famille_id").unique()


def _granted_cap(units: pl.DataFrame, benefits: tuple[str, ...]) -> pl.DataFrame:
    """``units`` with the grade of a benefit another one grants (``Benefit.granted_with``: the free CSS to the
    RSA's beneficiaries, CSS art. L861-2) at most the better of its own route's grade (``_own_grade``) and the
    granting benefit's grade on its right, when that benefit is not received: the engine gives the free CSS
    wherever it gives the RSA, but detection caps the RSA for what the data cannot show of the right
    (``_right_doubted``: a member gone, a resource line behind, a right of residence, a resource not counted), and
    a free CSS resting on that RSA alone rests on the same doubt. The granting benefit's grade on its right is the
    one before the catalogue's caps (``_right_grade``: a payment no extract reports leaves the right as sure; the
    RSA has no input or condition cap of its own, a granting benefit with one would need them too).
    ``_granted_by``: the granting benefit where the grade was lowered (the reason's line, the summary's count)."""
    def rank(col: pl.Expr) -> pl.Expr:
        return col.replace_strict(_GRADE_RANK, default=len(GRADES), return_dtype=pl.Int8)

    units = units.with_columns(pl.lit(None, dtype=pl.String).alias("_granted_by"))
    for b in benefits:
        granted = catalogue_row(b).granted_with
        if granted is None or granted[0] not in benefits:
            continue
        doubted = pl.col("_right_doubted").fill_null(False)
        other = units.filter(pl.col("benefit") == granted[0]).select(
            "famille_id", pl.when(doubted).then(pl.lit(_GRADE_RANK["possible"], dtype=pl.Int8))
            .otherwise(rank(pl.col("_right_grade"))).alias("_g_rank"), pl.col("receiving").alias("_g_receiving"))
        best = pl.min_horizontal(rank(pl.col("_own_grade")), pl.col("_g_rank"),
                                 pl.lit(_GRADE_RANK["possible"], dtype=pl.Int8))
        lowered = (pl.col("benefit") == b) & ~pl.col("_g_receiving").fill_null(True) & (rank(pl.col("grade")) < best)
        units = (units.join(other, on="famille_id", how="left")
                 .with_columns(pl.when(lowered).then(best.replace_strict({i: g for g, i in _GRADE_RANK.items()},
                                                                         return_dtype=pl.String))
                               .otherwise(pl.col("grade")).alias("grade"),
                               pl.when(lowered).then(pl.lit(granted[0])).otherwise(pl.col("_granted_by"))
                               .alias("_granted_by"))
                 .drop("_g_rank", "_g_receiving"))
    return units


def _own_claimants(units: pl.DataFrame, central: Result, individu: pl.DataFrame,
                   benefits: tuple[str, ...]) -> pl.DataFrame:
    """``units`` whose ``claimant_id``, for a benefit held in one's own name (``Benefit.claimed_by``), is a parent
    of the famille the rule marks on the central values (the demandeur first): the ASPA of a couple only the
    husband of 67 can hold is his, and goes to the pension fund that knows him, not to his wife of 60, the CAF's
    allocataire (hh19 K90, K108). A famille with no such member keeps its demandeur."""
    parts = []
    for b in benefits:
        rule = catalogue_row(b).claimed_by
        if rule is None:
            continue
        parts.append(central["individu"].select("person_id", pl.col(rule).fill_null(False).alias("_holds"))
                     .filter("_holds").join(individu, on="person_id")
                     .filter(pl.col("famille_role").is_in(PARENT_ROLES))
                     .sort(pl.col("famille_role") != "demandeur", "person_id")
                     .group_by("famille_id").agg(pl.col("person_id").first().alias("_holder"))
                     .with_columns(pl.lit(b).alias("benefit")))
    if not parts:
        return units
    holders = pl.concat(parts).select(pl.col("famille_id").cast(units.schema["famille_id"]), "benefit", "_holder")
    return (units.join(holders, on=["famille_id", "benefit"], how="left")
            .with_columns(pl.coalesce("_holder", "claimant_id").alias("claimant_id")).drop("_holder"))


_TIERS: dict[str, str] = {b.code: b.excludes for b in CATALOGUE if b.excludes}
"""Tiers of one right (the CSS with participation → the free CSS it gives way to, ``Benefit.excludes``)."""


def _other_tier(units: pl.DataFrame, benefits: tuple[str, ...]) -> pl.DataFrame:
    """``units`` with ``_other_tier_paid`` (the famille receives the other tier of the same right),
    ``_other_tier_due`` and ``_other_tier_central`` (the other tier is due on some value of the unknowns / on the
    central ones). The CSS is one right awarded for a year on the resources of the twelve months before the
    claim (CSS art. L861-5, R861-8): a famille paid the CSS with participation whose resources now give the free
    CSS (or the reverse) receives its CSS; the tier is revised at renewal. Neither a non-take-up of the other
    tier nor a payment our rules cannot justify: counted in the summary (``receiving_other_tier``)."""
    pairs = [(a, b) for a, b in _TIERS.items() if a in benefits and b in benefits]
    schema = {"famille_id": pl.String(), "benefit": pl.String(), "_other_tier_paid": pl.Boolean(),
              "_other_tier_due": pl.Boolean(), "_other_tier_central": pl.Boolean()}
    parts = [pl.DataFrame(schema=schema)]
    for a, b in pairs:
        for this, other in ((a, b), (b, a)):
            parts.append(units.filter(pl.col("benefit") == other).select(
                pl.col("famille_id").cast(pl.String), pl.lit(this).alias("benefit"),
                pl.col("receiving").alias("_other_tier_paid"),
                pl.col("grade").is_not_null().alias("_other_tier_due"),
                pl.col("entitled_central").fill_null(False).alias("_other_tier_central")))
    other = pl.concat(parts, how="vertical_relaxed")
    return (units.join(other, on=["famille_id", "benefit"], how="left")
            .with_columns(pl.col("_other_tier_paid", "_other_tier_due", "_other_tier_central").fill_null(False)))


def detect(core: CoreMonth, tables: dict[str, Any], *, backend: str = "polars",
           config: DetectionConfig | None = None, results: dict[str, Result] | None = None,
           engine_config: dict[str, Any] | None = None, paid_known: dict[str, bool] | None = None,
           due_facts: dict[dt.date, Any] | None = None, history: dict[dt.date, bool] | None = None,
           unidentified: pl.DataFrame | None = None, sent: frozenset[str] | None = None) -> Detection:
    """Units, flags and summary for ``core.month`` (see the module docstring). ``results``: the engine's result
    of each variant, when already evaluated (``detect_many``). ``engine_config``: settings of the SQL backend
    (run.toml's ``memory_limit`` and ``spill_dir`` for DuckDB), passed to every evaluation. ``paid_known``:
    ``payments_known`` of the whole population when ``tables`` hold one partition of it; ``due_facts``: the
    population's facts (``core.population_facts``) of each earlier month a yearly benefit is judged at, likewise;
    ``history``: ``history_coverage`` of the whole population, whether the payments held reach back to each such
    month (a part holding no payment that old would otherwise leave the benefit unjudged in that part only).
    ``unidentified``: ``receipts.unidentified_paid`` of the whole population, likewise; ``sent``:
    ``receipts.agencies_sent`` of the whole population, likewise (which payers sent an extract).

    A yearly benefit is judged on the payment already due (``Benefit.due_month``), at that month: see
    ``_judged_earlier``."""
    config = config or DetectionConfig()
    month = core.month
    if results is None:
        results = _evaluate_variants(core, backend, config.benefits, engine_config)
    central = results["central"]
    individu = core.inputs.individu.select("person_id", "famille_id", "famille_role", "foyer_fiscal_id",
                                           "menage_id")
    est = _estimates(results, config.benefits)
    # the other variants' results (each a copy of every rule's column) are read for the estimates only: released
    # before the earlier months are built and evaluated
    del results
    # the month's payments, read once: what each famille is paid, and who paid a contradicted payment (below)
    # an extract of payments that stops before the month (a file behind): its last month stands for the month
    # (``core.payments_reach``, read with the core's population facts)
    reach = core.payments_reach
    for agency, last in reach.items():  # a right opened since cannot be seen paid: said, once per extract
        log.warning("the payments extract of %s ends in %s, before %s: its last month stands for the month (a "
                    "right opened since is not seen paid)", agency, f"{last:%Y-%m}", f"{month:%Y-%m}")
    # a dossier the core holds no famille of (its member lines lost, a household gone to another fund): its
    # payments on its payee's or its adults' famille now (``core.inputs.on_payee_famille``)
    dossiers = famille_dossiers(tables.get("unit_memberships"))
    pay_rows = payment_rows(tables.get("benefits_paid"), individu, month, config.benefits,
                            window=config.paid_window, grace=config.grace_months, reach=reach, dossiers=dossiers)
    paid = paid_by_famille(tables.get("benefits_paid"), individu, month, config.benefits,
                           window=config.paid_window, grace=config.grace_months, rows=pay_rows, reach=reach)
    # received without an amount (France Travail's « bénéficiaire du RSA »): receiving, paid what payers report
    reported = receipts_by_famille(tables.get("benefit_receipts"), individu, month, config.benefits,
                                   grace=config.grace_months)
    reported_only = reported.join(paid.filter(pl.col("receiving")), on=["famille_id", "benefit"], how="anti")
    paid = with_receipts(paid, reported)
    est, paid, yearly, earlier = _judged_earlier(core, tables, est, paid, individu, config, backend,
                                                 engine_config, due_facts, history, dossiers)
    # a famille living where the rules do not model the law (Mayotte, Saint-Pierre-et-Miquelon, the collectivités
    # of Constitution art. 74): the mainland's amounts would be no law's, so it is not evaluated (counted, said)
    away, away_persons = core.outside_the_rules()
    if away.height:
        log.warning("%d familles (%d persons) live in a territory whose law the rules do not model (commune codes "
                    "%s): not evaluated", away.height, away_persons, ", ".join(f"{p}…" for p in UNMODELLED_TERRITORIES))
        est = est.join(away, on="famille_id", how="anti")
    adults = _adults(individu)
    heads = adults.sort(pl.col("famille_role") != "demandeur", "person_id").group_by("famille_id").agg(
        pl.col("person_id").first().alias("claimant_id"), pl.col("person_id").alias("adult_ids"))
    excl, checked = exclusions(tables, adults.select("famille_id", "person_id"), month, config)
    order = {e: i for i, e in enumerate(EXCLUSIONS)}
    first_excl = (excl.with_columns(pl.col("exclusion").replace_strict(order, return_dtype=pl.Int32).alias("_o"))
                  .sort("_o").group_by("famille_id", "benefit").agg(pl.col("exclusion").first().alias("excluded")))

    units = (est.join(paid, on=["famille_id", "benefit"], how="left")
             .with_columns(pl.col("paid").fill_null(0.0), pl.col("paid_before").fill_null(0.0),
                           pl.col("receiving").fill_null(False),
                           grade_expr("entitled_low", "entitled_central", "entitled_high",
                                      "entitled_unfavourable", "entitled_uninformed_unfavourable")
                           .alias("grade")))
    # a partner the extracts may not show decides every benefit: possible at most; probable at most when the
    # DGFiP's dwelling shows nobody who could be the partner (an informed estimate)
    couple = composition_unknown(core)
    guessed = couple.filter(~pl.col("informed") & ~pl.col("young_dependant")).get_column("famille_id").implode()
    estimated = couple.filter(pl.col("informed")).get_column("famille_id").implode()
    # a young adult dependant the famille may be missing: possible for the benefits that can count them
    young_caps = young_dependant_caps(core, config.benefits, couple)
    young = young_caps.with_columns(pl.lit(True).alias("_young"))
    units = units.join(young, on=["famille_id", "benefit"], how="left").with_columns(
        pl.when(pl.col("grade").is_not_null() & pl.col("famille_id").is_in(guessed)).then(pl.lit("possible"))
        .when(pl.col("grade").is_not_null() & pl.col("_young").fill_null(False)).then(pl.lit("possible"))
        .when((pl.col("grade") == "certain") & pl.col("famille_id").is_in(estimated)).then(pl.lit("probable"))
        .otherwise(pl.col("grade")).alias("grade")).drop("_young")
    if sent is None:  # which payers sent an extract: read once, for ``payments_known`` and ``payer_unknown``
        sent = frozenset(agencies_sent(tables))
    if paid_known is None:
        paid_known = payments_known(tables, config.benefits, sent=sent, carried=core.config.payment_benefits)
    # the grade on the right alone, before the caps on whether the benefit is received (``_granted_cap``)
    units = units.with_columns(pl.col("grade").alias("_right_grade"))
    units = _cap_grades(units, core, individu, config.benefits, paid_known)
    # a benefit the person's own health insurance fund pays, and no fund whose extract came knows the person:
    # not receiving it is not observed, so a non-take-up there is possible at most
    # (first of the kinds below, so that a flag it caps is counted and explained by it alone)
    unpaid_unknown = (payer_unknown(tables, individu, config.benefits, month, sent=sent,
                                    carried=core.config.payment_benefits, lately=config.listing_stop_months or None)
                      .with_columns(pl.lit(True).alias("_pu")))
    units = units.join(unpaid_unknown, on=["famille_id", "benefit"], how="left")
    # a dossier whose allocataire's row the agency's extract lost this month, paid the benefit in the months
    # before and not now: the stop came with the lost row (the MSA carries its payments on it), so it is no
    # evidence of non-take-up: possible at most
    # An agency whose layout carries a dossier's payments on its members' lines (the MSA's) shows none of them
    # when the allocataire's line is missing, even those of the months before: what such a dossier is paid is
    # not observed at all, possible at most too.
    # A benefit paid to a person (the CNAV's ASPA, the CNAM's CSS) in the months before by an agency whose
    # extract then reported them on other lines too (the pension; the CPAM's monthly listing of its insured) and
    # this month on none: the payer's file of the person is missing, not the payment stopped; possible at most.
    # A coverage's rows are its grant whatever their amount (the free CSS's is 0).
    lost = allocataire_lost(tables, month).get_column("famille_id").implode()
    capped = pl.col("grade").is_in(["certain", "probable"]) & ~pl.col("receiving")
    stopped = capped & pl.col("famille_id").is_in(lost) & (pl.col("paid_before") > 0)
    unseen = (capped & pl.col("famille_id").is_in(lost)
              & qualifier("famille_id").is_in(list(_member_line_payers(config))).fill_null(False))
    payee = payee_lines_lost(tables, pay_rows, month, window=config.paid_window).select(
        "famille_id", "benefit", pl.lit(True).alias("_payee_lost"), pl.col("extracts").list.first().alias("_payee"))
    units = units.join(payee, on=["famille_id", "benefit"], how="left")
    payee_gone = capped & ((pl.col("paid_before") > 0) | ~cash()) & pl.col("_payee_lost").fill_null(False)
    # A benefit served with a pension (the ASPA, the ASI) to a pensioner whose pension another agency reports
    # (the DRM) and no payer of the benefit knows: the fund paying the pension sent no extract; not observed.
    readers = _served_readers(config.benefits)
    fund = pension_fund_unknown(tables, individu, tuple(dict.fromkeys((*config.benefits, *readers))), month,
                                window=config.paid_window)
    units = units.join(fund.with_columns(pl.lit(True).alias("_fund")), on=["famille_id", "benefit"], how="left")
    fund_unknown = capped & pl.col("_fund").fill_null(False)
    # What such a pensioner receives of it is a resource of the benefits that read it paid (the CSS counts the ASPA
    # received, CSS art. R861-5): not observed either, so their estimate rests on none received; possible at most.
    units = units.join(_served_unobserved(fund, readers), on=["famille_id", "benefit"], how="left")
    served_unknown = capped & pl.col("_served").fill_null(False)
    # A famille no payer of the benefit knows, an adult of which has the birth month, sex and commune of a demandeur
    # or conjoint a payer lists without a usable NIR in a dossier it paid the benefit: the payment may be theirs.
    # Said on the flag (a reason line, and counted), its grade kept: on Cahors 100,000 such a match is a flag taken
    # up in a third of cases, and a cap would move twice as many true non-take-ups out of certain and probable as
    # false alarms (docs/detection.md, « A payment whose payee's NIR was unusable »).
    # When that line's number failed its key and the adult's own NIR is a single slip from it (one digit replaced,
    # two swapped), the number was very likely theirs, mistyped: their payment is not observed, possible at most.
    unid = unidentified_payee(tables, individu, config.benefits, month, window=config.paid_window,
                              described=unidentified)
    units = units.join(unid.rename({"payer": "_unid_payer", "by_number": "_unid_number"}),
                       on=["famille_id", "benefit"], how="left")
    slip = capped & pl.col("_unid_number").fill_null(False)
    # A member whose lines at the source declaring every salary (the DRM) stop a month or two before, no agency
    # reporting them since: those months read as no income may be declarations not yet in; where they make a
    # large share of the benefit's reference period, possible at most.
    behind = _lines_behind(tables, individu, core, config)
    units = units.join(behind, on=["famille_id", "benefit"], how="left")
    lines_behind = capped & pl.col("_behind_last").is_not_null()
    # A member whose retirement pension stopped months ago at every source declaring it, the source going on and
    # nobody reporting them since: a death or a departure the extracts do not carry is the likely cause (a
    # pension is paid for life). Every flag of the famille possible at most, checked before any contact.
    gone = (pension_lines_stopped(tables, individu, month, core.config.continuing, months=config.pension_stop_months,
                                  windows=core.resource_windows)
            .sort("last", "source").group_by("famille_id", maintain_order=True)
            .agg(pl.col("source").first().alias("_gone_source"), pl.col("last").first().alias("_gone_last")))
    units = units.join(gone, on="famille_id", how="left")
    pension_gone = capped & pl.col("_gone_last").is_not_null()
    # A member every file listing its people each month (the CPAM's insured) stopped listing months ago, the file
    # going on and nobody reporting them since: health insurance covers everyone who resides in France, so a
    # death, a departure or a move to another fund the extracts do not carry is the likely cause. The same cap; on a
    # flag already possible its own line says it too (``reasons``: the fund that would write to the person no
    # longer lists them; a widow's late husband, possible on his unknowns, was on the CPAM's list, nothing saying so).
    delisted = (listing_stopped(tables, individu, month, months=config.listing_stop_months,
                                reach=core.listings_reach or None)
                .sort("last", "source").group_by("famille_id", maintain_order=True)
                .agg(pl.col("source").first().alias("_delisted_source"),
                     pl.col("last").first().alias("_delisted_last")))
    units = units.join(delisted, on="famille_id", how="left")
    listing_gone = capped & pl.col("_delisted_last").is_not_null()
    # A benefit whose payer re-examines the right on its own after a nil re-examination (the housing aid, CCH art.
    # R823-6: nine months without a new claim), paid to the famille in those months and not now: the payer's own
    # re-examination, on data it holds in full, found nothing to pay; no claim is missing. Possible at most.
    reexam = reexamined_by_payer(tables.get("benefits_paid"), individu, month, config.benefits)
    units = units.join(reexam, on=["famille_id", "benefit"], how="left")
    reexamined = capped & pl.col("_reexam_last").is_not_null()
    # A means-tested benefit whose rules count no non-salaried profit (``_profit_read``: the AAH)
    # of a famille a member of which the DGFiP declares some for: the estimate rests on resources short of a
    # declared one. Possible at most, paid or not: an under-payment may be the payer counting that income, and a
    # paid unit so graded is not one our data confirm (the rates' weights, ``detection.rates``, read the paid
    # units' grades: capping the unpaid alone would lower the estimated rate by the self-employed's share).
    # An undeclared one (a member an agency knows as self-employed, whom the DGFiP declares for neither year) caps
    # every means-tested benefit, its profit unknown, not the central 0; those on year N-2 are possible at most
    # already, that year unknown and uninformed (``confidence.UNINFORMED_AT_HIGH``).
    # An inactive EEA or Swiss national of fewer than five years' residence: the RSA's right of residence is not shown
    eea = _eea_right_unshown(core).get_column("famille_id").implode()
    residence_right = [b for b in config.benefits if catalogue_row(b).residence_right]
    eea_right = capped & pl.col("benefit").is_in(residence_right) & pl.col("famille_id").is_in(eea)
    # The ASPA an AAH already pays: the AAH received that the ASPA due would take the place of (CSS art. L821-1: the
    # two never add up beyond the AAH amount; ``aah_remplacee_par_aspa``). A holder at 80 % past the legal
    # retirement age need not claim the ASPA; where what a claim would add (the ASPA less that AAH) is not clearly
    # more than nothing, by the under-payment's own thresholds, no money is foregone: possible at most, the gain said
    # (CI demo, 2026-06: three certain ASPA flags of about 400 € whose claim would remove as much AAH). The ASI
    # likewise: the AAH tops the claimant's own invalidity benefits up to its amount, so the ASI due takes the place
    # of the AAH received above the AAH computed with it (``aah_remplacee_par_asi``).
    units = units.join(_aah_in_place(central, config.benefits), on=["famille_id", "benefit"], how="left")
    offset = pl.col("_aah_offset").fill_null(0.0)
    gain = pl.col("amount_central").fill_null(0.0) - offset
    aah_in_place = capped & (offset > 0) & ~((gain > pl.col("amount_central") * config.under_payment_share)
                                             & (gain >= config.under_payment_min))
    means_tested = [b for b in config.benefits if catalogue_row(b).means_tested]
    uncounted = [b for b in means_tested if _profit_read(b) is None]
    not_on_n2 = [b for b in means_tested if _profit_read(b) != "revenus_non_salaries_n2"]
    units = units.join(_self_employed(tables, individu, month), on="famille_id", how="left")
    capped_self = pl.col("grade").is_in(["certain", "probable"])
    self_employed = capped_self & pl.col("benefit").is_in(uncounted) & pl.col("_self_emp_year").is_not_null()
    self_employed_undeclared = (capped_self & pl.col("benefit").is_in(not_on_n2)
                                & pl.col("_self_emp_status").is_not_null())
    insurer_unknown = capped & pl.col("_pu").fill_null(False) & pl.col("benefit").is_in(list(AFFILIATION_PAYERS))
    # a benefit whose general payer (the CAF, the CNAV) sent no extract, of a famille no payer that sent one has in
    # a dossier this month (``payer_unknown``)
    payer_absent = capped & pl.col("_pu").fill_null(False) & ~pl.col("benefit").is_in(list(AFFILIATION_PAYERS))
    unobserved = (pl.when(pension_gone).then(pl.lit("gone")).when(listing_gone).then(pl.lit("delisted"))
                  .when(insurer_unknown).then(pl.lit("insurer")).when(payer_absent).then(pl.lit("payer_absent"))
                  .when(slip).then(pl.lit("slip"))
                  .when(stopped).then(pl.lit("stopped")).when(unseen).then(pl.lit("unseen"))
                  .when(payee_gone).then(pl.lit("payee")).when(fund_unknown).then(pl.lit("fund"))
                  .when(served_unknown).then(pl.lit("served"))
                  .when(lines_behind).then(pl.lit("behind")).when(reexamined).then(pl.lit("reexamined"))
                  .when(eea_right).then(pl.lit("eea_right")).when(aah_in_place).then(pl.lit("aah_in_place"))
                  .when(self_employed).then(pl.lit("self_employed"))
                  .when(self_employed_undeclared).then(pl.lit("self_employed_undeclared"))
                  .otherwise(pl.lit(None, dtype=pl.String)))
    # the kind computed once, then read: ``DataFrame.with_columns`` eliminates no common sub-expression, and the
    # eight tests of the kind below each computed its whole chain again (France 100,000: 770,000 units)
    # ``_right_doubted``: the caps that doubt the right itself, whichever kind comes first (an RSA whose payer's row
    # is lost is ``stopped``, its right of residence unshown still): what a right it grants inherits (``_granted_cap``)
    right_doubted = (pension_gone | listing_gone | served_unknown | lines_behind | eea_right | self_employed
                     | self_employed_undeclared)
    units = units.with_columns(unobserved.alias("_unobserved"), right_doubted.fill_null(False).alias("_right_doubted"))
    unobserved = pl.col("_unobserved")
    units = units.with_columns(pl.when(payee_gone).then(pl.col("_payee")).alias("_payee"),
                               pl.when(unobserved == "behind").then(pl.col("_behind_source"))
                               .when(unobserved == "gone").then(pl.col("_gone_source"))
                               .when(unobserved == "delisted").then(pl.col("_delisted_source"))
                               .alias("_behind_source"),
                               pl.when(unobserved == "behind").then(pl.col("_behind_last"))
                               .when(unobserved == "gone").then(pl.col("_gone_last"))
                               .when(unobserved == "delisted").then(pl.col("_delisted_last"))
                               .alias("_behind_last"),
                               pl.when(unobserved == "reexamined").then(pl.col("_reexam_last")).alias("_reexam_last"),
                               *(pl.when(unobserved == "self_employed").then(pl.col(c)).alias(c)
                                 for c in ("_self_emp_year", "_self_emp_amount")),
                               pl.when(unobserved == "self_employed_undeclared").then(pl.col("_self_emp_status"))
                               .alias("_self_emp_status")
                               ).drop("_payee_lost", "_fund", "_served", "_gone_source", "_gone_last")
    # counted here before the status; the non-salaried income's cap, on paid units too, is counted on flags below
    n_capped: dict[str, dict[str, int]] = {kind: {} for kind in ("gone", "delisted", "insurer", "payer_absent",
                                                                 "slip", "stopped",
                                                                 "unseen", "payee", "fund", "served", "behind",
                                                                 "reexamined", "eea_right", "aah_in_place")}
    for kind, benefit, n in (units.filter(pl.col("_unobserved").is_in(list(n_capped)))
                             .group_by("_unobserved", "benefit").len().iter_rows()):
        n_capped[kind][benefit] = n
    units = units.with_columns(pl.when(pl.col("_unobserved").is_not_null()).then(pl.lit("possible"))
                               .otherwise(pl.col("grade")).alias("grade"))
    # a right another benefit grants (the free CSS with the RSA), resting on that benefit alone: its final grade
    units = _granted_cap(units, config.benefits)
    # a disability benefit with no evidence of a disability and nothing paid: only an unknown rate at its
    # favourable end gives it, for anyone no AAH payer knows; not a case (counted in the summary)
    evidence = _disability_evidence(core, individu).get_column("famille_id").implode()
    no_evidence = (pl.col("benefit").is_in(list(DISABILITY_BENEFITS)) & pl.col("grade").is_not_null()
                   & ~pl.col("receiving") & (pl.col("paid_before") <= 0) & ~pl.col("famille_id").is_in(evidence))
    dropped = units.filter(no_evidence).group_by("benefit").len()
    units = units.with_columns(pl.when(no_evidence).then(pl.lit(None, dtype=pl.String))
                               .otherwise(pl.col("grade")).alias("grade"))
    units = _other_tier(units, config.benefits)
    amount_benefit = pl.col("benefit").is_in(list(AMOUNT_BENEFITS))
    under = (amount_benefit & (pl.col("paid") > 0)
             & (pl.col("paid") < pl.col("amount_low") * (1 - config.under_payment_share))
             & (pl.col("amount_low") - pl.col("paid") >= config.under_payment_min))
    status = (pl.when(~pl.col("receiving")).then(
                  pl.when(pl.col("grade").is_null()).then(pl.lit("not_entitled"))
                  .when(pl.col("_other_tier_paid")).then(pl.lit("consistent"))
                  .otherwise(pl.lit("non_take_up")))
              .when(pl.col("grade").is_null() & ~pl.col("_other_tier_due")).then(pl.lit("paid_not_entitled"))
              .when(pl.col("grade").is_null()).then(pl.lit("consistent"))
              .when(under).then(pl.lit("under_payment"))
              .otherwise(pl.lit("consistent")))
    units = units.with_columns(status.alias("status"))
    n_self_emp = {kind: dict(units.filter((pl.col("_unobserved") == kind)
                                          & pl.col("status").is_in(["non_take_up", "under_payment"]))
                             .group_by("benefit").len().iter_rows())
                  for kind in ("self_employed", "self_employed_undeclared")}
    # a payment our rules cannot justify on any value of the unknowns shows an incomplete view of the famille
    # (a partner's or a resource's row missing): its other flags rest on contradicted data, possible at most
    contra_rows = units.filter((pl.col("status") == "paid_not_entitled")
                               & pl.col("benefit").is_in(list(config.contradicting_payments)))
    # who pays it, for the reason line (a famille the core built has no payer of its own: its member's is named)
    payers = payers_by_famille(tables.get("benefits_paid"), individu, month, tuple(config.contradicting_payments),
                               grace=config.grace_months, rows=pay_rows, reach=reach).join(
        contra_rows.select("famille_id", "benefit"), on=["famille_id", "benefit"], how="semi")
    # a payment no payer reported, only a receipt (France Travail's « bénéficiaire du RSA »): its reporter is
    # named as such, never as the payer
    reporters = (reported.join(contra_rows.select("famille_id", "benefit"), on=["famille_id", "benefit"], how="semi")
                 .join(payers, on=["famille_id", "benefit"], how="anti"))
    contra = (contra_rows.group_by("famille_id").agg(pl.col("benefit").sort().alias("contradicted"))
              .join(payers.explode("payers").group_by("famille_id")
                    .agg(pl.col("payers").drop_nulls().unique().sort().alias("contradicted_payers")),
                    on="famille_id", how="left")
              .join(reporters.explode("reporters").group_by("famille_id")
                    .agg(pl.col("reporters").drop_nulls().unique().sort().alias("contradicted_reporters")),
                    on="famille_id", how="left"))
    downgraded = (pl.col("contradicted").is_not_null() & pl.col("grade").is_in(["certain", "probable"])
                  & pl.col("status").is_in(["non_take_up", "under_payment"]))
    units = units.join(contra, on="famille_id", how="left")
    units = (units.with_columns(pl.when(downgraded).then(pl.lit("possible")).otherwise(pl.col("grade")).alias("grade"),
                                pl.when(downgraded).then(pl.col("contradicted")).alias("contradicted"),
                                pl.when(downgraded).then(pl.col("contradicted_payers")).alias("contradicted_payers"),
                                pl.when(downgraded).then(pl.col("contradicted_reporters"))
                                .alias("contradicted_reporters"))
             .join(first_excl, on=["famille_id", "benefit"], how="left")
             .join(heads, on="famille_id", how="left")
             .with_columns(pl.lit(month).alias("month"), pl.lit("famille").alias("unit_kind"),
                           pl.col("famille_id").alias("unit_id")))
    units = _own_claimants(units, central, individu, config.benefits)  # the ASPA's holder, not the allocataire
    actionable = pl.col("status").is_in(["non_take_up", "under_payment"])
    # exclusions only matter for cases we would act on; elsewhere they are not recorded on the unit
    units = units.with_columns(pl.when(actionable).then(pl.col("excluded")).alias("excluded"))

    # links: a famille missing the RSA also misses the free CSS the RSA brings (CSS art. L861-2)
    css_missing = units.filter((pl.col("benefit") == "css_free") & ~pl.col("receiving")
                               & ~pl.col("_other_tier_paid")).select("famille_id")
    linked = css_missing.with_columns(pl.lit("rsa").alias("benefit"),
                                      pl.lit(["css_free"], dtype=pl.List(pl.String)).alias("linked"))
    flagged = units.filter(actionable & pl.col("excluded").is_null())
    wanted = flagged.select("famille_id", "benefit")  # the deciding unknowns are read on the flags only
    deciding = _deciding_of_earlier(earlier, _deciding(core, individu, config.benefits, couple, young_caps, wanted),
                                    couple, young_caps, wanted)
    flags = (flagged
             .join(linked, on=["famille_id", "benefit"], how="left")
             .join(deciding, on=["famille_id", "benefit"], how="left")
             .with_columns(
                 pl.when(pl.col("status") == "non_take_up").then(pl.col("linked"))
                 .otherwise(pl.lit([], dtype=pl.List(pl.String))).fill_null(pl.lit([], dtype=pl.List(pl.String)))
                 .alias("linked"),
                 pl.when(pl.col("grade") == "certain").then(pl.lit([], dtype=pl.List(pl.String)))
                 .otherwise(pl.col("deciding_unknowns")).fill_null(pl.lit([], dtype=pl.List(pl.String)))
                 .alias("deciding_unknowns")))
    # a yearly benefit judged at an earlier month: what its flags quote and export is that month's, taken now so
    # that month's core is released before the rest (decisive unknowns, reasons, the outputs)
    due = [_due_facts(e, flags, config.paid_window) for e in earlier]
    del earlier
    n_contra = dict(flags.filter(pl.col("contradicted").is_not_null()).group_by("benefit").len().iter_rows())
    # a yearly benefit judged at an earlier month (its payment due) rests on that month's core, not this one's
    now = [b for b in config.benefits if catalogue_row(b).due_month(month) == month]
    # moved only where the rules of the month's evaluation read them (``_read_unknowns``): another value moves no
    # flag, and each of its moves cost a pass over the unknowns and the households it touched. Those rules, not
    # those of the flags' benefits only: the same targets reuse the month's plan and its Polars expressions (two
    # plans more, built and lowered, cost about a fifth of the detection of 1,500 persons); a value only the other
    # benefits read moves no flag of these, so the verdicts are the same
    targets = _targets(config.benefits)
    decisive = (decisive_unknowns(_read_unknowns(core, targets), flags.filter(pl.col("benefit").is_in(now)),
                                  backend=backend, engine_config=engine_config, targets=targets)
                if config.decisive_unknowns and now else None)
    if decisive is not None:
        flags = (flags.join(decisive, on=["famille_id", "benefit"], how="left")
                 .with_columns(pl.coalesce("decisive", "deciding_unknowns").alias("deciding_unknowns"))
                 .drop("decisive"))
    unreported = frozenset(b for b, k in paid_known.items() if not k)
    judged_now = flags.filter(pl.col("benefit").is_in(now))
    read = core.inputs.famille
    family_paid_read = ("prestations_versees_connues" not in read.columns
                        or bool(read.get_column("prestations_versees_connues").any()))
    parts = [reasons(judged_now, central, fact_sources(core, individu, add_months(month, -config.paid_window),
                                                       judged_now), config.max_reasons, unreported,
                     years=famille_years(core.unknowns, individu, month, judged_now),
                     family_paid_read=family_paid_read)]
    for d in due:  # a benefit judged at an earlier month names that month's sources and conditions (famille now)
        then = replace(central, frames={**central.frames, "famille": d.conditions})
        parts.append(reasons(flags.filter(pl.col("benefit").is_in(d.benefits)), then, d.sources,
                             config.max_reasons, unreported, years=d.years))
    flags = pl.concat(parts, how="vertical_relaxed")
    n_unid = dict(flags.filter(pl.col("_unid_payer").is_not_null() & (pl.col("_unobserved").fill_null("") != "slip"))
                  .group_by("benefit").len().iter_rows())
    n_granted = dict(flags.filter(pl.col("_granted_by").is_not_null()).group_by("benefit").len().iter_rows())
    # what is paid of a benefit whose payments no extract reports is unknown, not 0 (« Payments nobody reports are
    # unknown, not zero »): null in the files, as in the statistics; a team filtering on paid == 0 read the chèque
    # énergie's 0.0 as « not paid » (an outside tester, 6 December 2026). The reasons above say « versements non
    # transmis » already; the readers of these columns take a null as nothing paid where they need a number.
    # so is what a famille is paid whose payer sent no extract, or whose health insurance fund none did
    # (``payer_unknown``), where no payment of it was read
    unknown_paid = pl.col("benefit").is_in(sorted(unreported)) | (pl.col("_pu").fill_null(False)
                                                                  & ~pl.col("receiving").fill_null(False))
    unpaid = {c: pl.when(unknown_paid).then(None).otherwise(pl.col(c)).alias(c) for c in ("paid", "paid_before")}
    flags = flags.select([unpaid.get(c, pl.col(c)).cast(t) for c, t in FLAGS_SCHEMA.items()]).sort("benefit", "unit_id")
    units_out = units.select([unpaid.get(c, pl.col(c)).cast(t) for c, t in UNITS_SCHEMA.items()]).sort("benefit",
                                                                                                       "unit_id")
    summary = _summary(core, units, flags, excl, checked, backend, config)
    summary["payments_known"] = paid_known
    summary["payments_behind"] = {a: f"{m:%Y-%m}" for a, m in reach.items()}
    # the months an extract of payments lost, whose payments the core carried from the month before
    summary["payment_months_lost"] = {a: [f"{m:%Y-%m}" for m in ms] for a, ms in core.payment_holes.items()}
    # and the months an agency's resource rows lost, each person's estimated from the months around it
    windows = core.resource_windows
    summary["resource_months_estimated"] = {} if windows is None or "w_holes" not in windows.columns else {
        a: [f"{m:%Y-%m}" for m in ms] for a, ms in windows.filter(pl.col("w_holes").list.len() > 0)
        .select("agency", "w_holes").sort("agency").iter_rows()}
    if tables.get("benefit_receipts") is not None:
        # familles received only on an agency's report (no payer's row this month nor in the grace months)
        n_reported = dict(reported_only.group_by("benefit").len().iter_rows())
        summary["received_reported_only"] = {b: int(n_reported.get(b, 0)) for b in config.benefits
                                             if not catalogue_row(b).yearly}
    summary["yearly"] = yearly
    # the persons evaluated: not those of a territory the rules do not model, counted apart
    summary["persons"] -= away_persons
    summary["territory_not_modelled"] = {"familles": away.height, "persons": away_persons}
    n_dropped = dict(dropped.iter_rows())
    summary["without_disability_evidence"] = {b: int(n_dropped.get(b, 0)) for b in DISABILITY_BENEFITS
                                              if b in config.benefits}
    if decisive is not None:
        # per benefit, how many flags each unknown decides alone: the data whose exchange would settle them
        per = decisive.explode("decisive").group_by("benefit", "decisive").len().sort("benefit", "decisive")
        summary["decided_by_one_unknown"] = {
            b: {str(i): int(n) for _, i, n in part.iter_rows()} for (b,), part in per.group_by("benefit")}
        summary["flags_with_decisive_unknowns"] = decisive.height
    summary["downgraded_by_unexplained_payment"] = {b: int(n_contra.get(b, 0)) for b in config.benefits}
    summary["downgraded_by_pension_stopped"] = {b: int(n_capped["gone"].get(b, 0)) for b in config.benefits}
    summary["downgraded_by_listing_stopped"] = {b: int(n_capped["delisted"].get(b, 0)) for b in config.benefits}
    summary["downgraded_with_granting_benefit"] = {b: int(n_granted.get(b, 0)) for b in config.benefits
                                                   if catalogue_row(b).granted_with}
    summary["downgraded_by_eea_right_of_residence"] = {b: int(n_capped["eea_right"].get(b, 0))
                                                       for b in config.benefits}
    summary["downgraded_by_aah_in_place"] = {b: int(n_capped["aah_in_place"].get(b, 0)) for b in AAH_REPLACED_BY
                                             if b in config.benefits}
    summary["downgraded_by_allocataire_row_lost"] = {b: int(n_capped["stopped"].get(b, 0)) for b in config.benefits}
    summary["downgraded_by_allocataire_line_missing"] = {b: int(n_capped["unseen"].get(b, 0))
                                                         for b in config.benefits}
    summary["downgraded_by_payee_lines_lost"] = {b: int(n_capped["payee"].get(b, 0)) for b in config.benefits}
    summary["downgraded_by_resource_lines_behind"] = {b: int(n_capped["behind"].get(b, 0))
                                                      for b in config.benefits if _period(b, month)}
    summary["downgraded_by_payer_reexamination"] = {b: int(n_capped["reexamined"].get(b, 0)) for b in config.benefits
                                                    if catalogue_row(b).reexamined_months}
    summary["downgraded_by_self_employment"] = {b: int(n_self_emp["self_employed"].get(b, 0)) for b in config.benefits
                                                if catalogue_row(b).means_tested}
    summary["downgraded_by_self_employment_undeclared"] = {
        b: int(n_self_emp["self_employed_undeclared"].get(b, 0)) for b in config.benefits
        if catalogue_row(b).means_tested}
    n_unattached = unattached_payments(tables, pay_rows, month)
    summary["payments_on_dossiers_without_adults"] = {b: int(n_unattached.get(b, 0)) for b in config.benefits
                                                      if not catalogue_row(b).yearly}
    summary["downgraded_by_pension_fund_unknown"] = {b: int(n_capped["fund"].get(b, 0)) for b in config.benefits
                                                     if catalogue_row(b).paid_with}
    summary["downgraded_by_pension_benefit_unknown"] = {
        b: int(n_capped["served"].get(b, 0)) for b in dict.fromkeys(r for rs in readers.values() for r in rs)}
    summary["flags_maybe_paid_to_unidentified_payee"] = {b: int(n_unid.get(b, 0)) for b in config.benefits
                                                         if catalogue_row(b).payers}
    summary["downgraded_by_payee_number_slip"] = {b: int(n_capped["slip"].get(b, 0)) for b in config.benefits
                                                  if catalogue_row(b).payers}
    summary["downgraded_by_insurer_unknown"] = {b: int(n_capped["insurer"].get(b, 0)) for b in config.benefits
                                                if b in AFFILIATION_PAYERS}
    summary["downgraded_by_payer_absent"] = {b: int(n_capped["payer_absent"].get(b, 0)) for b in config.benefits
                                             if b not in AFFILIATION_PAYERS and catalogue_row(b).payers}
    summary["familles_unknown_to_benefit_payer"] = {
        b: int(n) for b, n in unpaid_unknown.group_by("benefit").len().iter_rows()}
    # people an agency knows (in any table the core reads) but who are in no evaluated famille: never flagged
    known = core.counts.get("persons_known")
    if known is None:
        known = pl.concat([tables[t].lazy().select(pl.col("person_id")) for t in ("persons", "unit_memberships",
                                                                                "resources") if t in tables]
                          ).filter(pl.col("person_id").is_not_null()).select(pl.col("person_id").n_unique()
                                                                             ).collect().item()
    summary["persons_known"] = int(known)
    summary["persons_not_evaluated"] = _in_no_famille(summary)
    due_provenance = pl.concat([pl.DataFrame(schema=DUE_PROVENANCE_SCHEMA), *[d.provenance for d in due]])
    from nonrecours.simulation.export_openfisca import SITUATIONS_SCHEMA

    due_situations = pl.concat([pl.DataFrame(schema=SITUATIONS_SCHEMA), *[d.situations for d in due]])
    # amounts to the cent here, not only in the files: the Detection a caller holds in memory is the one written
    cents = pl.col(pl.Float64).round(2)
    return Detection(month, units_out.with_columns(cents), flags.with_columns(cents), summary, central,
                     due_provenance, due_situations)


def _summary(core: CoreMonth, units: pl.DataFrame, flags: pl.DataFrame, excl: pl.DataFrame,
             checked: dict[str, bool], backend: str, config: DetectionConfig) -> dict[str, Any]:
    candidates = units.filter(pl.col("status").is_in(["non_take_up", "under_payment"])).select(
        "famille_id", "benefit")
    hit = excl.join(candidates, on=["famille_id", "benefit"], how="semi")
    counts = dict(hit.group_by("exclusion").len().iter_rows())
    exclusions_out = {e: {"count": int(counts.get(e, 0)) if checked[e] else None, "checked": checked[e]}
                      for e in EXCLUSIONS}
    coherence = {}
    for b in config.benefits:
        paid = units.filter((pl.col("benefit") == b) & pl.col("receiving"))
        n = paid.height
        ok = paid.filter(pl.col("grade").is_not_null() | pl.col("_other_tier_due")).height
        ok_central = paid.filter(pl.col("entitled_central") | pl.col("_other_tier_central")).height
        other = paid.filter(pl.col("grade").is_null() & pl.col("_other_tier_due")).height
        coherence[b] = _rates({"paid_units": n, "entitled": ok, "entitled_central": ok_central,
                               "entitled_at_other_tier": other})
    other_paid = dict(units.filter(~pl.col("receiving") & pl.col("grade").is_not_null()
                                   & pl.col("_other_tier_paid")).group_by("benefit").len().iter_rows())
    # the flags and the units a flag would be but an exclusion keeps from contact, by grade (the published flags'
    # secrecy reads both: ``rates.grade_counts``)
    by_grade = {b: {g: 0 for g in GRADES} for b in config.benefits}
    excluded_by_grade = {b: {g: 0 for g in GRADES} for b in config.benefits}
    for b, g, n, x in grade_counts(flags, units).iter_rows():
        by_grade[b][g], excluded_by_grade[b][g] = n, x
    statuses = {b: {s: 0 for s in STATUSES} for b in config.benefits}
    for b, s, n in units.group_by("benefit", "status").len().iter_rows():
        statuses[b][s] = n
    flag_status = {b: {s: 0 for s in ("non_take_up", "under_payment")} for b in config.benefits}
    for b, s, n in flags.group_by("benefit", "status").len().iter_rows():
        flag_status[b][s] = n
    return {
        "month": f"{core.month:%Y-%m}",
        "backend": backend,
        "config": config.model_dump(),
        "follower_kinds": core.config.follower_kinds,
        "familles": int(units.get_column("famille_id").n_unique()),
        "persons": int(core.inputs.individu.height),
        "unknowns": {"values": int(core.unknowns.height),
                     "units": int(core.unknowns.select("entity", "id").unique().height)},
        "conflicts": {str(k): int(v) for k, v in core.conflicts.iter_rows()},
        "core_counts": dict(core.counts),
        "exclusions": exclusions_out,
        "coherence": coherence,
        "receiving_other_tier": {b: int(other_paid.get(b, 0)) for b in config.benefits
                                 if b in _TIERS or b in _TIERS.values()},
        "flags_by_benefit_grade": by_grade,
        "excluded_flags_by_benefit_grade": excluded_by_grade,
        "flags_by_benefit_status": flag_status,
        "units_by_benefit_status": statuses,
        "flags": int(flags.height),
        "monotonicity": ("estimate range taken at the all-low and all-high corners of the unknowns; the grade at "
                         "their unfavourable corner (each unknown at the end that lowers the benefits)"),
    }


def _rates(c: dict[str, Any]) -> dict[str, Any]:
    """A coherence entry's rates from its counts."""
    n = c["paid_units"]
    return {**c, "rate": round(c["entitled"] / n, 6) if n else None,
            "rate_central": round(c["entitled_central"] / n, 6) if n else None}


def _add(a: Any, b: Any, where: str) -> Any:
    """Two partitions' summary values merged: counts summed (None where a check could not be made), mappings
    merged key by key, anything else (month, backend, configuration, checks made) equal in every part."""
    if where == "summary.config":  # the detection's settings, not counts
        if a != b:
            raise SchemaError("partitions ran with different detection settings", table="summary")
        return a
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: (_add(a[k], b[k], f"{where}.{k}") if k in a and k in b else a.get(k, b.get(k)))
                for k in dict.fromkeys([*a, *b])}
    if isinstance(a, int) and isinstance(b, int) and not isinstance(a, bool) and not isinstance(b, bool):
        return a + b
    if a == b:
        return a
    raise SchemaError(f"partitions disagree on a population-wide fact of the summary ({where})", table="summary")


def _in_no_famille(summary: dict[str, Any]) -> int:
    """The persons an agency knows whom no famille holds (never evaluated): the known less the evaluated and those
    of a territory the rules do not model (in a famille, not evaluated)."""
    away = summary.get("territory_not_modelled", {}).get("persons", 0)
    return max(summary["persons_known"] - summary["persons"] - away, 0)


def merge_summaries(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """The summary of the whole population from its partitions' (``run_detect`` with ``partitions``): counts
    are sums, since every famille and person lies in one partition; the rates are recomputed from the sums."""
    def counts(s: dict[str, Any]) -> dict[str, Any]:
        return {**s, "coherence": {b: {k: v for k, v in c.items() if not k.startswith("rate")}
                                   for b, c in s["coherence"].items()}}

    out = counts(summaries[0])
    for s in summaries[1:]:
        out = _add(out, counts(s), "summary")
    out["coherence"] = {b: _rates({k: v for k, v in c.items() if not k.startswith("rate")})
                        for b, c in out["coherence"].items()}
    out["persons_not_evaluated"] = _in_no_famille(out)
    return out


def write_detection(run: Detection, out: str | Path) -> dict[str, Path]:
    """flags.parquet, units.parquet and summary.json under ``out``, each written atomically."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"flags": out / "flags.parquet", "units": out / "units.parquet", "summary": out / "summary.json"}
    # sorted by key and amounts to the cent: a rerun on the same inputs writes the same bytes (sums of floats
    # in another order differ in the last bits)
    key = ["unit_kind", "unit_id", "benefit"]
    cents = pl.col(pl.Float64).round(2)
    write_parquet(paths["flags"], run.flags.lazy().sort(key).with_columns(cents).collect())
    write_parquet(paths["units"], run.units.lazy().sort(key).with_columns(cents).collect())
    write_json(paths["summary"], run.summary)
    return paths


def core_units(core: CoreMonth) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The month's reconciled units as canonical-like tables, for the outputs (the core qualifies unit ids by
    agency, so profiles and facts must be read from here, not from the raw workspace memberships):
    ``memberships`` (person_id, unit_kind, unit_id, role, valid_from, valid_to) and ``residence``
    (person_id, depcom of the person's ménage)."""
    ind = core.inputs.individu
    parts = [ind.select("person_id", pl.lit(kind).alias("unit_kind"), pl.col(f"{kind}_id").alias("unit_id"),
                        pl.col(f"{kind}_role").alias("role"))
             for kind in UNIT_KINDS]
    members = (pl.concat(parts).filter(pl.col("unit_id").is_not_null())
               .with_columns(pl.lit(core.month).alias("valid_from"), pl.lit(core.month).alias("valid_to"))
               .sort("unit_kind", "unit_id", "person_id"))
    menage = core.inputs.menage
    residence = (ind.select("person_id", "menage_id").join(menage.select("menage_id", "depcom"), on="menage_id",
                                                           how="left")
                 # an unknown commune is an empty code in the engine inputs: null here
                 .select("person_id", pl.when(pl.col("depcom") != "").then(pl.col("depcom")).alias("depcom"))
                 .sort("person_id")) if menage is not None else \
        pl.DataFrame(schema={"person_id": pl.String, "depcom": pl.String})
    return members, residence


_KEY = ["unit_kind", "unit_id", "benefit"]
_ORDER = ["entity", "id", "input", "month"]
_SORTS: dict[str, tuple[list[str], bool]] = {
    "flags": (_KEY, False), "units": (_KEY, False), "memberships": (["unit_kind", "unit_id", "person_id"], False),
    "residence": (["person_id"], False), "provenance": (_ORDER, True), "unknowns": (_ORDER, True),
    "situations": (["claimant_id", "month"], False),
    "provenance_due": (["unit_id", "benefit", *_ORDER], True)}
"""Each Parquet output of ``run_detect`` and its order (key columns, nulls last): one order, so the merge of a
partitioned run's parts writes the rows of an unpartitioned run in the same order."""


def _outputs(run: Detection, core: CoreMonth) -> dict[str, pl.DataFrame]:
    """Every Parquet output of ``run_detect``, sorted (``_SORTS``); flags and units hold amounts to the cent since
    ``detect`` (a rerun on the same inputs writes the same bytes: sums of floats in another order differ in the
    last bits).
    ``situations``: each flagged claimant's dwelling as an OpenFisca web-API situation (the outputs stage links
    them to the outreach rows), made here where the month's engine inputs are at hand: the month's for the flags
    judged at the month, and for a yearly benefit judged at an earlier month (its payment due), that month's, of
    the famille it was judged on (``Detection.due_situations``, taken in ``detect`` from that month's core).
    ``provenance_due``: the facts behind the latter flags (``_due_facts``)."""
    from nonrecours.simulation.export_openfisca import flagged_situations

    members, residence = core_units(core)
    now = [b for b in run.flags.get_column("benefit").unique().to_list()
           if catalogue_row(b).due_month(run.month) == run.month]
    situations = [flagged_situations(core.inputs, core.month, run.flags.filter(pl.col("benefit").is_in(now)))]
    if run.due_situations is not None:
        situations.append(run.due_situations)
    frames = {"flags": run.flags, "units": run.units,  # amounts to the cent since ``detect``
              "memberships": members, "residence": residence, "provenance": core.provenance,
              "unknowns": core.unknowns, "situations": pl.concat(situations),
              "provenance_due": run.due_provenance}
    return {name: _sorted(f, *_SORTS[name]) for name, f in frames.items()}


def _sorted(frame: pl.DataFrame, keys: list[str], nulls_last: bool) -> pl.DataFrame:
    """``frame.sort(keys)``, each text key sorted as its rank among the column's distinct values (an Enum of them
    in order): the same rows in the same order, without comparing strings row by row (the 3.1 million provenance
    rows of 100,000 persons sorted on their text keys took about 2.8 CPU s more in a helper's profile)."""
    ranks = [pl.col(k).cast(pl.Enum(frame.get_column(k).drop_nulls().unique().sort()))
             if frame.schema[k] == pl.String else pl.col(k) for k in keys]
    return frame.sort(ranks, nulls_last=nulls_last, maintain_order=True)  # ties in input order: same bytes


@dataclass(frozen=True)
class RulesAside:
    """What a partitioned run's rules stage asks of each part it has detected (``detect_parts``): the central
    entitlements it would have evaluated itself, ``targets`` on the core's central values, taken from the
    detection's own central evaluation (the same rules: the stacked evaluation gives each set the values it gives
    alone), in the columns ``columns`` of the rules stage's file (its plan's public famille columns, in its
    order), amounts to the cent, written to ``folder/<part>.parquet``."""

    targets: tuple[str, ...]
    columns: tuple[str, ...]
    folder: Path


@dataclass
class DetectedParts:
    """A month detected part by part and not merged yet (``detect_parts``): ``run_detect(..., done=)`` merges it.
    ``parts``: the folder of the parts' outputs; ``summaries``: each part's summary; ``rows``: each part's persons
    evaluated (the rules stage's count); ``numbers``: the parts run, in order."""

    month: dt.date
    parts: Path
    summaries: list[dict[str, Any]]
    rows: list[int]
    numbers: list[int]


def run_detect(workspace: str | Path, month: dt.date, out: str | Path, *, backend: str = "polars",
               config: DetectionConfig | None = None, engine_config: dict[str, Any] | None = None,
               partitions: Partitions | None = None, core: CoreMonth | None = None,
               fresh_processes: bool = True, done: DetectedParts | None = None) -> tuple[Detection, dict[str, Path]]:
    """The ``nonrecours detect`` job: read the workspace lazily, build the month, detect, write (with the core's
    provenance and unknowns, which the outreach lists quote as the facts already held). The core is built with
    the resource kinds each extract's layout carries, as ingest recorded them in the workspace's reports
    (``core.workspace.workspace_core_config``: a follower's silence is a zero only for those kinds).

    ``core``: this workspace's month already built (``core.build_month`` of the same tables, as the run's rules
    stage builds it), used instead of joining the month again.

    ``partitions`` (``core.partition.Partitions`` over this workspace's tables): build, evaluate and detect one
    part of the population at a time, each part's outputs written to the partitions' folder and merged at the
    end (``core.partition.merge_parts``: range by range, about a part's rows in memory at a time, not the
    population's), the summary the sum of the parts'; each part in a new child process of its own unless
    ``fresh_processes`` is False (``nonrecours.isolate``: one process's heap grew part after part); the
    files hold the rows of an unpartitioned run, row for row, in the same order (not the same bytes: another
    Parquet writer). The returned Detection then holds lazy scans of the merged units and flags, the summary,
    and no engine result. ``done``: the parts already detected (``detect_parts``, by the run's rules stage),
    merged only."""
    if core is not None and (partitions is not None or core.month != month):
        raise SchemaError("a core given to run_detect is the month's own, for a run in one pass", table="core")
    if done is not None:
        if done.month != month:
            raise SchemaError(f"parts detected for {done.month:%Y-%m} given for {month:%Y-%m}", table="partitions")
        return _merged_parts(done, Path(out), engine_config)
    from nonrecours.core.workspace import recorded_layouts, workspace_core_config

    # the layouts the workspace's extracts were ingested with, as their reports record them (read once): detection's
    # configuration and the core's (a core given: its own)
    layouts = recorded_layouts(Path(workspace))
    config = workspace_config(config, workspace, layouts)
    core_config = workspace_core_config(Path(workspace), layouts=layouts) if core is None else core.config
    if partitions is not None:
        return _run_partitioned(partitions, month, Path(out), backend=backend, config=config,
                                engine_config=engine_config, core_config=core_config,
                                fresh_processes=fresh_processes)
    core, run = _detect_read(workspace, month, backend=backend, config=config, engine_config=engine_config,
                             core_config=core_config, core=core)
    paths = {}
    for name, frame in _outputs(run, core).items():
        paths[name] = write_parquet(Path(out) / f"{name}.parquet", frame)
    paths["summary"] = write_json(Path(out) / "summary.json", run.summary)
    return run, paths


def detect_workspace(workspace: str | Path, month: dt.date, *, backend: str = "polars",
                     config: DetectionConfig | None = None, engine_config: dict[str, Any] | None = None
                     ) -> tuple[CoreMonth, Detection]:
    """``nonrecours detect``'s month in memory, nothing written: the month's core and its Detection, built as the
    command builds them, with the layouts ingest recorded for each extract (``core.workspace.recorded_layouts``:
    which resource kinds a follower's silence makes zero, which layouts carry payments on member lines). The
    flags, amounts and deciding unknowns are the files' of ``run_detect``; ``core_month`` and ``detect`` on the
    workspace's tables alone take every agency's default layout instead."""
    from nonrecours.core.workspace import recorded_layouts, workspace_core_config

    layouts = recorded_layouts(Path(workspace))
    return _detect_read(workspace, month, backend=backend, config=workspace_config(config, workspace, layouts),
                        engine_config=engine_config,
                        core_config=workspace_core_config(Path(workspace), layouts=layouts))


def _detect_read(workspace: str | Path, month: dt.date, *, backend: str, config: DetectionConfig,
                 engine_config: dict[str, Any] | None, core_config: CoreConfig,
                 core: CoreMonth | None = None) -> tuple[CoreMonth, Detection]:
    """The workspace read lazily, the month built (unless ``core`` is given) and detected, in one pass."""
    tables = read_workspace(workspace)
    if core is None:
        core = core_month(tables, month, core_config)
    return core, detect(core, tables, backend=backend, config=config, engine_config=engine_config)


def detect_parts(workspace: str | Path, month: dt.date, partitions: Partitions, *, backend: str = "polars",
                 config: DetectionConfig | None = None, engine_config: dict[str, Any] | None = None,
                 fresh_processes: bool = True, rules: RulesAside | None = None,
                 facts: Any = None) -> DetectedParts:
    """``run_detect``'s parts of a partitioned month, each built, evaluated and detected in its own process, not
    merged (``run_detect(..., done=)`` merges them). ``rules``: each part also writes the rules stage's
    entitlements from its central evaluation (``RulesAside``), so that a run's rules and detection stages build
    and evaluate each part once, not twice. ``facts``: the population's facts of the month when the caller has
    them (``core.population_facts``)."""
    from nonrecours.core.workspace import recorded_layouts, workspace_core_config

    layouts = recorded_layouts(Path(workspace))
    config = workspace_config(config, workspace, layouts)
    core_config = workspace_core_config(Path(workspace), layouts=layouts)
    return _detect_parts(partitions, month, backend=backend, config=config, engine_config=engine_config,
                         core_config=core_config, fresh_processes=fresh_processes, rules=rules, facts=facts)


def _run_partitioned(partitions: Partitions, month: dt.date, out: Path, *, backend: str,
                     config: DetectionConfig | None, engine_config: dict[str, Any] | None,
                     core_config: CoreConfig, fresh_processes: bool = True) -> tuple[Detection, dict[str, Path]]:
    done = _detect_parts(partitions, month, backend=backend, config=config, engine_config=engine_config,
                         core_config=core_config, fresh_processes=fresh_processes)
    return _merged_parts(done, out, engine_config)


def _detect_parts(partitions: Partitions, month: dt.date, *, backend: str, config: DetectionConfig | None,
                  engine_config: dict[str, Any] | None, core_config: CoreConfig, fresh_processes: bool = True,
                  rules: RulesAside | None = None, facts: Any = None) -> DetectedParts:
    from nonrecours.core import population_facts

    config = config or DetectionConfig()
    if facts is None:
        facts = population_facts(partitions.source, month, config=core_config)
    sent = frozenset(agencies_sent(partitions.source))
    paid_known = payments_known(partitions.source, config.benefits, sent=sent, carried=core_config.payment_benefits)
    due_facts = {d: population_facts(partitions.source, d, config=core_config, due=True)
                 for d in _earlier_dues(config.benefits, month)}
    history = history_coverage(partitions.source, month, config.benefits)
    unidentified = unidentified_paid(partitions.source, config.benefits, month, window=config.paid_window)
    parts = partitions.path.parent / f"detection-{month:%Y-%m}"
    summaries = []
    sizes = partitions.sizes()
    todo = [k for k, n in enumerate(sizes) if n or k == 0]  # a part holding nobody adds nothing
    jobs = ((f"detection {month:%Y-%m}, part {k} of {partitions.n}",
             (partitions.tables(k), k, month, parts, backend, config, engine_config, core_config, facts, paid_known,
              due_facts, history, unidentified, rules, sent)) for k in todo)
    rows = []
    for i, ((summary, steps, persons), usage) in enumerate(run_each(_detect_part, jobs, fresh=fresh_processes)):
        log.info("detection %s, part %d of %d (%s persons%s): %s (join %.1f s, detection %.1f s, outputs %.1f s)",
                 f"{month:%Y-%m}", todo[i], partitions.n, f"{sizes[todo[i]]:,}",
                 "" if rules is None else ", the rules stage's entitlements written", usage.describe(),
                 *(steps[s].wall_s for s in ("join", "detect", "outputs")),
                 extra={"part": todo[i], "usage": usage, "steps": steps})
        summaries.append(summary)
        rows.append(persons)
    return DetectedParts(month, parts, summaries, rows, todo)


def _merged_parts(done: DetectedParts, out: Path, engine_config: dict[str, Any] | None
                  ) -> tuple[Detection, dict[str, Path]]:
    """The parts' outputs merged into ``out`` (``_merge_outputs``), their folder removed, the summaries summed."""
    paths = _merge_outputs(done.parts, out, engine_config)
    shutil.rmtree(done.parts)
    summary = merge_summaries(done.summaries)
    paths["summary"] = write_json(out / "summary.json", summary)
    return (Detection(done.month, pl.scan_parquet(paths["units"]), pl.scan_parquet(paths["flags"]), summary, None),
            paths)


def _detect_part(tables: dict[str, pl.LazyFrame], k: int, month: dt.date, parts: Path, backend: str,
                 config: DetectionConfig, engine_config: dict[str, Any] | None, core_config: CoreConfig,
                 facts: Any, paid_known: dict[str, bool], due_facts: dict[dt.date, Any],
                 history: dict[dt.date, bool], unidentified: pl.DataFrame, rules: RulesAside | None = None,
                 sent: frozenset[str] | None = None) -> tuple[dict[str, Any], dict[str, Usage], int]:
    """Part ``k`` of a partitioned run (its ``tables``) built, detected and written to ``parts/<output>/k.parquet``
    (``rules``: the rules stage's entitlements too, ``RulesAside``); returns its summary, what each step cost
    (``join``: the month's core; ``detect``, the earlier months a yearly benefit is judged at joined inside it;
    ``outputs``: sorted and written) and its persons evaluated. In a child process of its own when the run asks
    (``isolate.run_each``)."""
    from nonrecours.core import build_month

    steps: dict[str, Usage] = {}
    with metered(steps, "join"):
        core = build_month(tables, month, config=core_config, facts=facts)
    with metered(steps, "detect"):
        results = None
        if rules is not None:
            results = _evaluate_variants(core, backend, config.benefits, engine_config)
            _write_rules(results["central"], rules, k, core.outside_the_rules()[0])
        # handed over, no reference kept here: ``detect`` releases the variants once it has read their estimates
        held = [results]
        del results
        run = detect(core, tables, backend=backend, config=config, engine_config=engine_config, results=held.pop(),
                     paid_known=paid_known, due_facts=due_facts, history=history, unidentified=unidentified,
                     sent=sent)
    with metered(steps, "outputs"):
        for name, frame in _outputs(run, core).items():
            (parts / name).mkdir(parents=True, exist_ok=True)
            frame.write_parquet(parts / name / f"{k:05d}.parquet")
    return run.summary, steps, run.summary["persons"]


def _write_rules(central: Result, rules: RulesAside, k: int, away: pl.DataFrame) -> None:
    """The rules stage's entitlements of part ``k`` (``RulesAside``) from detection's central result, without the
    familles ``away`` (``CoreMonth.outside_the_rules``)."""
    fam = central["famille"].join(away, on="famille_id", how="anti")
    missing = [c for c in rules.columns if c not in fam.columns]
    if missing:  # the rules stage asked for a rule detection does not evaluate: never a silent gap
        raise SchemaError(f"the rules stage's column {missing[0]} is not among detection's results", table="famille",
                          column=missing[0])
    rules.folder.mkdir(parents=True, exist_ok=True)
    amounts_to_the_cent(fam.select("famille_id", *rules.columns), rules.targets).write_parquet(
        rules.folder / f"{k:05d}.parquet")


def _merge_outputs(parts: Path, out: Path, engine_config: dict[str, Any] | None) -> dict[str, Path]:
    """Each output's part files (``parts/<name>/<part>.parquet``) merged into ``out/<name>.parquet`` in its
    order (``_SORTS``), one file at a time, streamed (``core.partition.merge_parts``)."""
    return {name: merge_parts(sorted((parts / name).glob("*.parquet")), out / f"{name}.parquet", key,
                              nulls_last=nulls_last, duckdb_config=engine_config)
            for name, (key, nulls_last) in _SORTS.items()}
