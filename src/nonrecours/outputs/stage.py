"""The batch job's outputs stage: detection's flags and units → outreach lists, statistics, the three answers,
and ``report.html`` (``outputs.report``) built from those tables.

Reads each month's ``detection/YYYY-MM/`` and the workspace, writes ``outputs/YYYY-MM/`` (Parquet and French
CSV, atomically). Return tokens come from the workspace's ``return_tokens`` table (issued at the agency under
its own key); when the workspace has none, the lists say so per row (``has_record`` false) instead of
inventing a way back.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import polars as pl

from nonrecours.core.month import PROVENANCE_SCHEMA
from nonrecours.detection.receipts import payers_absent
from nonrecours.outputs.ablation import RAW_EXCHANGE_VALUE
from nonrecours.outputs.answers import write_answers
from nonrecours.outputs.outreach import OutreachConfig, PayerRule, build_outreach
from nonrecours.outputs.report import write_report
from nonrecours.outputs.situations import write_situations
from nonrecours.outputs.statistics import StatisticsConfig, build_statistics, territory_table, unit_profiles
from nonrecours.outputs.writers import write_table
from nonrecours.schemas.benefits import BENEFITS, by_asked
from nonrecours.schemas.tables import valid_on

__all__ = ["run_stage"]

log = logging.getLogger(__name__)

_NO_TOKENS = pl.DataFrame(schema={"agency": pl.String, "person_id": pl.String, "return_token": pl.String,
                                  "return_key_id": pl.String})


def _table(workspace: Path, name: str) -> pl.LazyFrame | None:
    """The workspace table ``name``, its files checked as every reader of a workspace checks them
    (``core.workspace.workspace_files``: a damaged file is named, exit 3)."""
    from nonrecours.core.workspace import workspace_files

    files = workspace_files(workspace, name)
    return pl.scan_parquet(files) if files else None


def _outreach_config(lead: dict[str, str]) -> OutreachConfig:
    """run.toml's lead agencies (run.toml name → agency; ``css`` covers both CSS) over the catalogue's."""
    base = OutreachConfig()
    payers = dict(base.payers)
    for benefit, agency in lead.items():
        for name in by_asked([benefit]):
            payers[name] = PayerRule(agency=agency)
    return base.model_copy(update={"payers": payers})


def _covered_by(memberships: pl.LazyFrame | None, agency: str, month: Any) -> pl.DataFrame | None:
    """person_id, agency: the people ``agency``'s own extract lists in one of its dossiers in ``month`` (the
    workspace's unit memberships it sent): those it covers, whose claims go to it (``OutreachConfig.member_agency``:
    a farm worker's prime d'activité is claimed at the MSA, not the CAF). None without memberships."""
    if memberships is None:
        return None
    return (memberships.filter((pl.col("source_agency").cast(pl.String) == agency) & valid_on(month))
            .select("person_id", pl.lit(agency).alias("agency")).unique().collect())


def _dossier_members(records: pl.DataFrame, persons: pl.LazyFrame | None, memberships: pl.LazyFrame | None,
                     month: Any) -> pl.DataFrame:
    """``records`` with ``record_role`` and ``birth_year``: the person's place in the agency's own dossier in
    ``month`` (its famille memberships: demandeur, conjoint, enfant) and birth year, as that agency sent them. A
    record number is the dossier's, shared by its members: a son of 25 flagged in his own famille opens to his
    mother's CAF matricule, so the row says whom it is about (a caseworker probing the lists, 5 December 2026).
    Null where the agency sent none (the CNAM's and France Travail's records are the person's own)."""
    out = records.with_columns(pl.col("agency").cast(pl.String))
    if memberships is not None:
        latest = [pl.col("valid_from"), pl.col("extract_date").fill_null(pl.date(1900, 1, 1))]
        roles = (memberships.filter((pl.col("unit_kind").cast(pl.String) == "famille") & valid_on(month))
                 .select(pl.col("source_agency").cast(pl.String).alias("agency"), "person_id",
                         pl.col("role").cast(pl.String).alias("record_role"), *latest)
                 # one place a person: the latest membership, then the dossier's parents before its children
                 .sort(["agency", "person_id", "valid_from", "extract_date", "record_role"],
                       descending=[False, False, True, True, False])
                 .unique(["agency", "person_id"], keep="first").select("agency", "person_id", "record_role"))
        out = out.join(roles.collect(), on=["agency", "person_id"], how="left")
    if persons is not None:
        years = (persons.select(pl.col("source_agency").cast(pl.String).alias("agency"), "person_id",
                                pl.col("birth_month").dt.year().cast(pl.Int32).alias("birth_year"),
                                pl.col("extract_date").fill_null(pl.date(1900, 1, 1)))
                 .sort(["agency", "person_id", "extract_date"], descending=[False, False, True])
                 .unique(["agency", "person_id"], keep="first").select("agency", "person_id", "birth_year"))
        out = out.join(years.collect(), on=["agency", "person_id"], how="left")
    return out


def run_stage(ctx: Any) -> Any:
    """Outreach lists, statistics and answers for every month the detection stage wrote."""
    from nonrecours.core.workspace import recorded_layouts
    from nonrecours.run import StageReport

    report = StageReport("outputs", rows_out=0)
    ws = ctx.workspace
    persons, memberships = _table(ws, "persons"), _table(ws, "unit_memberships")
    tokens = _table(ws, "return_tokens")
    records = tokens.collect() if tokens is not None else _NO_TOKENS
    if tokens is None:
        report.note = "no return tokens in the workspace: lists carry has_record = false"
    # the manifest names the keys the lists' tokens were issued under (ids only, never a key)
    ctx.manifest["keys"]["return_key_ids"] = {
        str(a): sorted(ids) for a, ids in records.group_by("agency").agg(
            pl.col("return_key_id").drop_nulls().unique()).iter_rows()}
    outreach_config = _outreach_config({str(k): str(v) for k, v in ctx.config.lead_agency.items()})
    stats_config = StatisticsConfig(threshold=ctx.config.thresholds.suppression)
    if stats_config.threshold < StatisticsConfig().threshold:  # allowed, but a weaker secrecy than the default's
        log.warning("statistical secrecy under %d units (thresholds.suppression), below the default of %d: cells "
                    "of %d units and more are published", stats_config.threshold, StatisticsConfig().threshold,
                    stats_config.threshold)
    # the payers that sent no extract: the workspace's, the same for every month
    absent_payers = payers_absent({"persons": persons, "unit_memberships": memberships,
                                   "benefits_paid": _table(ws, "benefits_paid")}, BENEFITS,
                                  recorded_layouts(ws).payment_benefits.by_agency or None)
    for month in ctx.config.months:
        det = ctx.out / "detection" / f"{month:%Y-%m}"
        if not (det / "flags.parquet").exists():
            continue
        # The flags become the lists' rows and are read whole; the units (every unit × benefit of the month, about
        # 7 rows a person) are only ever summed or filtered, so they stay a lazy scan: the query engine reads the
        # columns and rows each aggregation needs (statistics, answers 2 and 3), never the whole table.
        flags, units = pl.read_parquet(det / "flags.parquet"), pl.scan_parquet(det / "units.parquet")
        unpaid_unknown: tuple[str, ...] = ()
        if (det / "summary.json").exists():  # the manifest's exclusion counts, beside its quarantine counts
            summary = json.loads((det / "summary.json").read_text(encoding="utf-8"))
            ctx.manifest.setdefault("exclusions", {})[f"{month:%Y-%m}"] = summary["exclusions"]
            # benefits whose payments no extract reports: what is paid there is unknown, not none; and those a payer
            # of which sent no extract: known in part, so no rate (``detection.receipts.payers_absent``)
            unpaid_unknown = tuple(b for b, known in summary.get("payments_known", {}).items() if not known)
            absent = {b: m for b, m in absent_payers.items() if b in summary.get("payments_known", {})}
            ctx.manifest.setdefault("payers_absent", {})[f"{month:%Y-%m}"] = absent
            unpaid_unknown += tuple(b for b in absent if b not in unpaid_unknown)
        provenance = (pl.read_parquet(det / "provenance.parquet") if (det / "provenance.parquet").exists()
                      else pl.DataFrame(schema=PROVENANCE_SCHEMA))
        folder = ctx.out / "outputs" / f"{month:%Y-%m}"
        written: list[Path] = []
        # the core's reconciled units of the month (ids qualified by agency, people of one agency included)
        members = (pl.scan_parquet(det / "memberships.parquet") if (det / "memberships.parquet").exists()
                   else memberships)
        residence = pl.scan_parquet(det / "residence.parquet") if (det / "residence.parquet").exists() else persons
        month_members = None
        if members is not None:
            month_members = (members.filter(valid_on(month))
                             .select("person_id", "unit_id", "role").unique().collect())
        situations = (pl.read_parquet(det / "situations.parquet") if (det / "situations.parquet").exists()
                      else None)
        # the facts behind the flags of a yearly benefit judged at an earlier month (the ARS due last August)
        due_provenance = (pl.read_parquet(det / "provenance_due.parquet")
                          if (det / "provenance_due.parquet").exists() else None)
        lists = build_outreach(flags, records=_dossier_members(records, persons, memberships, month),
                               provenance=provenance, memberships=month_members,
                               config=outreach_config, situations=situations, with_claimant=True,
                               due_provenance=due_provenance,
                               unknowns=(pl.scan_parquet(det / "unknowns.parquet")
                                         if (det / "unknowns.parquet").exists() else None),
                               affiliations=_covered_by(memberships, outreach_config.member_agency, month))
        for agency, frame in sorted(lists.items()):
            if situations is not None:
                written.append(write_situations(frame, situations, folder / "openfisca" / f"{agency}.jsonl"))
            frame = frame.drop("claimant_id")
            written += write_table(frame, folder, f"outreach_{agency}").values()
            report.counts[f"{month:%Y-%m} outreach {agency}"] = frame.height
            report.rows_out += frame.height
        # who is contacted by a relay (the claim's agency holds no record of them), and who by nobody's record
        rows = pl.concat([f.select("agency", "claim_agency", "has_record") for f in lists.values()]) if lists \
            else pl.DataFrame(schema={"agency": pl.String, "claim_agency": pl.String, "has_record": pl.Boolean})
        report.counts[f"{month:%Y-%m} outreach relayed"] = rows.filter(
            pl.col("has_record") & (pl.col("agency") != pl.col("claim_agency"))).height
        report.counts[f"{month:%Y-%m} outreach without any record"] = rows.filter(~pl.col("has_record")).height
        if situations is not None:  # rows whose famille spans several dwellings have no situation to replay
            report.counts[f"{month:%Y-%m} outreach without an OpenFisca situation"] = sum(
                f.get_column("situation_id").null_count() for f in lists.values())
        statistics = None
        if residence is not None and members is not None:
            profiles = unit_profiles(members, residence, month)
            # the shipped territory the data's communes fall in (Cahors, else their départements)
            territory = territory_table(None, communes=profiles.get_column("depcom"))
            statistics = build_statistics(units, profiles, territory, config=stats_config,
                                          payments_unknown=unpaid_unknown)
            written += write_table(statistics, folder, "statistics").values()
        # answer 1's exchange value, when the ablation stage measured it this run: published here under secrecy
        # (the headline's recall with the CAF alone comes from it)
        value = det / f"{RAW_EXCHANGE_VALUE}.parquet"
        exchange = pl.read_parquet(value) if ctx.config.ablation.enabled and value.exists() else None
        written += write_answers(folder, flags=flags, units=units, provenance=provenance,
                                 due_provenance=due_provenance, statistics_table=statistics, exchange=exchange,
                                 members=month_members, threshold=stats_config.threshold).values()
        # The report reads only what was just written (and the run's own records), never the frames above.
        written.append(write_report(ctx.out, month, run_info=ctx.manifest))
        report.outputs += written
    return report
