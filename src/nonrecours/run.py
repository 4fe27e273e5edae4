"""The batch job: a run configuration → stages, each writing atomically, each in the manifest and the log.

``run(config)`` executes the registered stages in order on one run folder (``output`` in run.toml):

=========  ==========================================================================================
ingest     each agency's extracts read, validated, quarantined and pseudonymised (``connectors``) into
           ``workspace/``; each read is an *exchange* entry of the audit log
rules      the benefit rules for each month (``core.build_inputs`` + ``engine.evaluate``) into ``rules/``
detection  ``nonrecours.detection.run_detect`` when the package provides it, into ``detection/YYYY-MM/``
ablation   answer 1's value of each exchange (``outputs.ablation.run_stage``) when run.toml's ``[ablation]``
           enables it: detection rerun without each agency, into ``outputs/YYYY-MM/answer1_exchange_value``
outputs    ``nonrecours.outputs.run_stage`` when the package provides it
=========  ==========================================================================================

With run.toml's ``partitions`` above 1, the rules and detection stages build and evaluate one part of the
population at a time (``core.partition``: households linked by any unit stay together) and merge the parts'
outputs into the files of a run in one pass. With the registered detection stage after it, the rules stage
detects each part too (``detection.detect_parts``: the rules' entitlements are detection's central values), so
each part is built and evaluated once; the detection stage merges what it wrote.

A stage is a function ``(RunContext) -> StageReport``; ``STAGES`` is the registry, in order. A stage whose
package does not provide its entry point yet reports ``not available`` (shown in the summary and recorded in
the manifest: never a silent skip, never a made-up output).

The run folder belongs to one configuration: ``.nonrecours-run.json`` records its hash when a run starts,
and a run with another configuration into the same folder is refused (``RunConflictError``: choose another
folder or remove this one) rather than mixing or versioning outputs, so a folder's manifest always describes
every file in it. Every file is written aside and renamed (``nonrecours.atomic``); an interrupted run leaves
only ``.partial-`` files, removed when the run restarts, and the rerun writes the same bytes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any

import polars as pl

from nonrecours.atomic import clean_partials, file_sha256, write_json, write_parquet
from nonrecours.audit.log import AuditLog
from nonrecours.audit.manifest import MANIFEST, describe_file, read_manifest, relative, unlisted
from nonrecours.config import RunConfig, load_config
from nonrecours.errors import AuditError, ControlError, RunConflictError
from nonrecours.progress import stage
from nonrecours.schemas.benefits import ASKED, CATALOGUE, by_asked

__all__ = ["STAGES", "RunContext", "RunReport", "StageReport", "detection_config", "engine_config", "run", "run_file",
           "source_digest", "validate"]

log = logging.getLogger("nonrecours.run")

MARKER = ".nonrecours-run.json"
LOCK = ".nonrecours-run.lock"
STAGING = ".partial-staging"
PARTITIONS = ".partial-partitions"
TARGETS: dict[str, tuple[str, ...]] = {
    asked: tuple(dict.fromkeys(r for b in CATALOGUE if b.asked == asked for r in b.rules)) for asked in ASKED}
"""Rule targets evaluated for each benefit asked in run.toml (from the catalogue, schemas.benefits)."""


def _rule_targets(cfg: RunConfig) -> list[str]:
    """The rules a run evaluates: those of each benefit run.toml asks for, in its order."""
    return [t for b in cfg.benefits for t in TARGETS[b]]


@dataclass
class StageReport:
    """What one stage did: rows in and out, files written, counts worth a line in the summary."""

    name: str
    status: str = "done"
    rows_in: int | None = None
    rows_out: int | None = None
    outputs: list[Path] = field(default_factory=list)
    counts: dict[str, Any] = field(default_factory=dict)
    note: str = ""


@dataclass
class RunContext:
    """What stages share: the configuration, the run folder, the agreement, the audit log, the manifest."""

    config: RunConfig
    out: Path
    agreement: Any
    audit: AuditLog
    manifest: dict[str, Any]
    month_core: Any = field(default=None, repr=False)
    """The last month's ``CoreMonth`` the rules stage built in one pass, handed to the detection stage, which
    needs the same month of the same workspace: the join (``core.build_month``, about a tenth of a run) is made
    once. One month only, so the memory held stays that of one month; the detection stage drops it at its first
    month (a run of several months joins each month again there)."""
    partitions: Any = field(default=None, repr=False)
    """run.toml's ``partitions`` over the workspace (``core.partition.Partitions``), split by the first stage that
    asks (``_partitions``) and kept for the next: the workspace does not change after ingest, and the split is not
    cheap (10 million persons: 173 CPU s, peak 7.6 GiB, made by the rules and the detection stages each up to
    0dec0fd). Its files are removed by ``close`` at the run's end."""
    stages: dict[str, Any] = field(default_factory=dict, repr=False)
    """The run's stages by name, in order (``run``): the partitioned rules stage detects each part too when the
    registered detection stage follows (``_fused_detection``)."""
    detected: dict[dt.date, Any] = field(default_factory=dict, repr=False)
    """The months the partitioned rules stage has detected part by part (``detection.DetectedParts``), each part
    built and evaluated once for both stages: the detection stage merges them."""

    @property
    def workspace(self) -> Path:
        return self.out / "workspace"

    def close(self) -> None:
        """The run's temporary files removed: the partitions' (their folder only, whatever holds it)."""
        if self.partitions is not None:
            shutil.rmtree(self.partitions.path.parent, ignore_errors=True)
            self.partitions = None


@dataclass
class RunReport:
    out: Path
    config_hash: str
    stages: list[StageReport]
    manifest: Path

    def outputs(self) -> list[tuple[str, Path, int | None]]:
        """(stage, path, rows) of every output, in stage order."""
        rows = {o["path"]: o.get("rows") for o in json.loads(self.manifest.read_text())["outputs"]}
        return [(s.name, p, rows.get(relative(p, self.out))) for s in self.stages for p in s.outputs]


Stage = Callable[[RunContext], StageReport]


# --- stages -------------------------------------------------------------------------------------------

def _ingest_files(ctx: RunContext, key: Any, staging: Path, report: StageReport) -> int:
    """Each extract of the configuration ingested in ``staging`` then moved whole into the workspace, its report,
    manifest entry and audit entry written; the rows quarantined, in all. Stops (ControlError) on a file-level
    control or a share of faulty rows above ``max_quarantined``."""
    from nonrecours.connectors import default_mapping, ingest, load_mapping, next_sequence, return_key_of
    from nonrecours.connectors.ingest import id_of_file

    quarantined = 0
    # the extracts ingested in run.toml's order, after the workspace's others: of two of one agency and one date,
    # the one listed later is read (a rerun numbers its extracts as the run before: the same reports)
    sequence = next_sequence(ctx.workspace, again=[f"{agency}-{id_of_file(file)}" for agency, spec
                                                   in ctx.config.agencies.items() for file in spec.files])
    for agency, spec in ctx.config.agencies.items():
        mapping = load_mapping(spec.mapping) if spec.mapping is not None else default_mapping(agency)
        for file in spec.files:
            shutil.rmtree(staging, ignore_errors=True)
            with stage(f"ingest {agency}: {file.name}"):
                # the configuration's date, else the extract's header, else the file's modification date
                # (ingest says which: never today's date, which would make two runs on the same inputs differ)
                r = ingest(file, mapping, ctx.agreement, staging, key=key, extract_date=spec.extract_date,
                           return_key=return_key_of(ctx.agreement, mapping, required=True),
                           allow_empty=spec.allow_empty)
            if r.control_ok is False:
                declared = r.declared_records if r.declared_records is not None else "no"  # no trailer read
                raise ControlError(f"{file.name}: the trailer declares {declared} records, "
                                   f"{r.rows_read} were read (truncated or altered file?)")
            if r.controls:
                raise ControlError(f"{file.name}: a file-level control failed: " + "; ".join(r.controls))
            outputs = {}
            for name, produced in r.outputs.items():
                if name == "report":
                    continue
                dest = ctx.workspace / Path(produced).relative_to(staging)
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(produced, dest)  # whole files moved into place, each atomically
                outputs[name] = relative(dest, ctx.out)
                report.outputs.append(dest)
            r.outputs = outputs
            r.sequence, sequence = sequence, sequence + 1  # staged alone, it was the first
            rp = write_json(ctx.workspace / "reports" / f"{agency}-{r.extract_id}.json", asdict(r))
            report.outputs.append(rp)
            report.rows_in += r.rows_read
            report.rows_out += r.rows_accepted
            quarantined += r.rows_quarantined
            ctx.manifest["quarantine"][f"{agency}/{file.name}"] = {
                "rows_read": r.rows_read, "rows_accepted": r.rows_accepted,
                "rows_quarantined": r.rows_quarantined, "faults": r.faults, "empty": r.empty,
                "blank_lines": r.blank_lines, "repaired": r.repaired,
                "extract_date": r.extract_date, "extract_date_source": r.extract_date_source}
            ctx.audit.append("exchange", {
                "agency": agency, "file": file.name, "sha256": file_sha256(file), "rows_read": r.rows_read,
                "exchange_id": ctx.agreement.exchange_id, "purpose": ctx.agreement.purpose,
                "pseudonym_key_id": key.key_id, "return_key_id": r.return_key_id,
                "return_tokens": r.return_tokens})
            # as ``nonrecours ingest --max-quarantined``: ingested (its report names the faulty rows), then stop
            share = r.rows_quarantined / r.rows_read if r.rows_read else 0.0
            if share > ctx.config.max_quarantined:
                raise ControlError(f"{file.name}: ingested, but {share:.1%} of the rows were quarantined (limit "
                                   f"{ctx.config.max_quarantined:.1%}, run.toml max_quarantined)")
    return quarantined


def ingest_stage(ctx: RunContext) -> StageReport:
    report = StageReport("ingest", rows_in=0, rows_out=0)
    key = ctx.agreement.pseudonym_key()
    ctx.manifest["keys"]["pseudonym_key_id"] = key.key_id
    staging = ctx.out / STAGING
    # the workspace says its key as ``nonrecours ingest``'s does (a team adds an extract to it with that command;
    # a workspace of another key is refused before anything is written)
    from nonrecours.connectors.ingest import WORKSPACE_FILE, claim_key

    ctx.workspace.mkdir(parents=True, exist_ok=True)
    claim_key(ctx.workspace, key.key_id, created=True)
    report.outputs.append(ctx.workspace / WORKSPACE_FILE)
    # a failed or interrupted ingest leaves no staging behind (a file's pseudonymised tables stayed there until the
    # next run: found probing the monthly operations from the docs alone, 5 December 2026)
    try:
        quarantined = _ingest_files(ctx, key, staging, report)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    report.counts["quarantined"] = quarantined
    same = _same_period_extracts(ctx.workspace) + _months_missing(ctx.workspace)
    if same:
        report.note = "; ".join(same)
        for line in same:
            log.warning("%s", line)
    if report.rows_in != report.rows_out + quarantined:
        raise ControlError(f"ingest: {report.rows_in} rows read but {report.rows_out} accepted + "
                           f"{quarantined} quarantined")
    return report


def _same_period_extracts(workspace: Path) -> list[str]:
    """Two extracts of one agency reporting the same months (payments or resources, the same last month): the later's
    rows (of two of one date, the one ingested last: listed later in run.toml) replace the earlier's key by key, and
    a row the later no longer holds stays as the earlier gave it. A correction listed beside the file it corrects
    under another name kept the payments it withdrew (found probing the monthly operations from the docs alone, 5
    December 2026): said, as the docs say how to replace a file (same name). Monthly files repeating the months
    before end on different months: not said."""
    from nonrecours.core.workspace import ingest_sequences, latest_first, workspace_files

    order = ingest_sequences(workspace)
    found: list[str] = []
    for table in ("benefits_paid", "resources"):
        files = workspace_files(workspace, table, columns=("source_agency", "extract_id", "extract_date", "month"))
        if not files:
            continue
        spans = latest_first(
            pl.scan_parquet(files).group_by(pl.col("source_agency").cast(pl.String), "extract_id")
            .agg(pl.col("extract_date").max(), pl.col("month").max().alias("last")).collect()
            .with_columns((pl.col("source_agency") + "-" + pl.col("extract_id"))
                          .replace_strict(order, default=None, return_dtype=pl.Int64).alias("sequence"))
        ).with_row_index("_rank")
        pairs = (spans.join(spans, on=["source_agency", "last"], suffix="_o")
                 .filter(pl.col("_rank") < pl.col("_rank_o"))  # the first read before the second
                 .sort("source_agency", "extract_id", "extract_id_o"))
        for r in pairs.iter_rows(named=True):
            a, b, up_to = r["extract_id"], r["extract_id_o"], f"report {table} up to {r['last']:%Y-%m}"
            if r["extract_date"] == r["extract_date_o"]:
                said = (f"extracts {a} and {b}, both dated {r['extract_date']:%Y-%m-%d}, {up_to}: the rows of {a}, "
                        f"ingested last (listed later in run.toml), replace {b}'s key by key")
            else:
                said = (f"extracts {a} ({r['extract_date']:%Y-%m-%d}) and {b} ({r['extract_date_o']:%Y-%m-%d}) "
                        f"both {up_to}: the later's rows replace the earlier's key by key")
            found.append(f"{r['source_agency']}: {said}, a row it no longer holds is kept; a correction replaces a "
                         f"file only under its name")
    return list(dict.fromkeys(found))


def _months_missing(workspace: Path) -> list[str]:
    """An agency whose extracts hold no resource row of a month between months they hold (a monthly file lost in
    transfer): said, as the core estimates each person's month from the months around it (``core.resources``),
    where it was read as a month of no income for everyone; and one whose extracts hold no payment row of a month
    between months holding some (``core.inputs.payment_holes``), whose payments the core carries from the month
    before."""
    from nonrecours.core.inputs import payment_holes
    from nonrecours.core.resources import months_held
    from nonrecours.core.workspace import workspace_files

    files = workspace_files(workspace, "resources", columns=("source_agency", "month"))
    held = (pl.scan_parquet(files) if files else pl.LazyFrame(schema={"source_agency": pl.String, "month": pl.Date}))
    held = (held.filter(pl.col("source_agency").cast(pl.String) != "dgfip")
            .group_by(pl.col("source_agency").cast(pl.String).alias("agency"), "month").len().collect())
    holes = months_held(held).filter(pl.col("w_holes").list.len() > 0)
    said = [f"{r['agency']}: its extracts hold no resource row of {', '.join(f'{m:%Y-%m}' for m in r['w_holes'])} "
            f"(between {r['w_from']:%Y-%m} and {r['w_to']:%Y-%m}): each person's month is estimated from the months "
            f"around it, not read as no income (a file missing?)" for r in holes.iter_rows(named=True)]
    # the same for payments: a month an extract of payments lost is not a month nobody was paid
    paid = workspace_files(workspace, "benefits_paid",
                           columns=("source_agency", "month", "benefit", "unit_id", "person_id"))
    if paid:
        last = pl.scan_parquet(paid).select(pl.col("month").max()).collect().item()
        for agency, lost in payment_holes(pl.scan_parquet(paid), last).items():
            said.append(f"{agency}: its extracts hold no payment row of {', '.join(f'{m:%Y-%m}' for m in lost)} "
                        f"between months holding some: each famille's payments of the month before are carried "
                        f"to it, not read as nothing paid (a file missing?)")
    return said


def _tables(workspace: Path) -> dict[str, pl.LazyFrame]:
    from nonrecours.core.workspace import scan_workspace

    return scan_workspace(workspace)


_WARNED: set[tuple[str, ...]] = set()


def engine_config(cfg: RunConfig, *, warn: bool = True) -> dict[str, Any] | None:
    """run.toml's ``memory_limit`` and ``spill_dir`` as DuckDB settings (the spill folder created), for every
    stage that evaluates rules on DuckDB; None for the other backends (Spark keeps its own settings), which say
    once that they do not apply them (``warn``: not for a stage whose backend is its own setting, the ablation's,
    where the run's DuckDB settings were never meant for it)."""
    if cfg.backend != "duckdb":
        # memory_limit has a default (given: set by the file or the environment); the spill folder is given when
        # it is one (the configuration's paths are resolved by a copy that sets it, None or not), and a
        # partitioned run keeps its parts there
        given = [k for k, set_ in (("memory_limit", "memory_limit" in cfg.model_fields_set),
                                   ("spill_dir", cfg.spill_dir is not None and cfg.partitions == 1)) if set_]
        if warn and given and (cfg.backend, *given) not in _WARNED:
            _WARNED.add((cfg.backend, *given))  # once a process, not at each stage
            log.warning("%s %s DuckDB's: the %s backend does not apply %s (bound its memory with partitions)",
                        " and ".join(given), "are" if len(given) > 1 else "is", cfg.backend,
                        "them" if len(given) > 1 else "it")
        return None
    out: dict[str, Any] = {"memory_limit": cfg.memory_limit}
    if cfg.spill_dir is not None:
        cfg.spill_dir.mkdir(parents=True, exist_ok=True)
        out["temp_directory"] = str(cfg.spill_dir)
    return out


def _partitions(ctx: RunContext) -> Any:
    """run.toml's ``partitions`` over the workspace (``core.partition.Partitions``, its files in a hidden folder of
    the spill folder or the run folder), split the first time a stage asks and then the run's
    (``RunContext.partitions``, removed by ``RunContext.close``), or None for a run in one pass."""
    if ctx.config.partitions == 1:
        return None
    if ctx.partitions is None:
        from nonrecours.core import Partitions

        folder = (ctx.config.spill_dir or ctx.out) / PARTITIONS
        shutil.rmtree(folder, ignore_errors=True)
        with stage(f"partitions: {ctx.config.partitions} parts by linked households"):
            ctx.partitions = Partitions(_tables(ctx.workspace), ctx.config.partitions, folder)
    return ctx.partitions


def _parts(partitions: Any) -> list[int]:
    """The parts holding someone (at least the first, so an empty workspace still gives its empty outputs)."""
    return [k for k, n in enumerate(partitions.sizes()) if n or k == 0]


def _rules_of(view: dict[str, pl.LazyFrame], month: dt.date, core_config: Any, facts: Any, targets: list[str],
              backend: str, duckdb_config: dict[str, Any] | None
              ) -> tuple[Any, pl.DataFrame, int, Any, dict[str, int]]:
    """The month's core of ``view`` (the workspace or a part of it) and the rules of ``targets`` on its central
    inputs: (core, famille entitlements with amounts to the cent, persons evaluated, parameters bound, the
    familles and persons left out as living in a territory whose law the rules do not model)."""
    from nonrecours.core import build_month
    from nonrecours.engine import amounts_to_the_cent, evaluate

    core = build_month(view, month, config=core_config, facts=facts)
    inputs = core.inputs  # unknowns at their central estimate
    result = evaluate(targets, inputs, month, backend=backend, missing_inputs="error", duckdb_config=duckdb_config)
    # Mayotte's, Saint-Pierre's: the mainland's amounts there are no law's (``CoreMonth.outside_the_rules``)
    away, away_persons = core.outside_the_rules()
    fam = amounts_to_the_cent(result["famille"].join(away, on="famille_id", how="anti"), targets)
    # persons with a famille and a ménage that month, evaluated
    return (core, fam, inputs.individu.height - away_persons, result.bindings_manifest(),
            {"familles": away.height, "persons": away_persons})


def _rules_part(view: dict[str, pl.LazyFrame], k: int, month: dt.date, core_config: Any, facts: Any,
                targets: list[str], backend: str, duckdb_config: dict[str, Any] | None, aside: Path
                ) -> tuple[int, Any, dict[str, int]]:
    """Part ``k``'s entitlements set aside in ``aside/k.parquet`` (merged by the stage); its persons evaluated,
    parameters bound and familles left out (``_rules_of``). In a child process of its own when the run asks
    (``isolate.run_each``)."""
    _, fam, rows, bindings, away = _rules_of(view, month, core_config, facts, targets, backend, duckdb_config)
    aside.mkdir(parents=True, exist_ok=True)
    fam.write_parquet(aside / f"{k:05d}.parquet")
    return rows, bindings, away


def _fused_detection(ctx: RunContext) -> Callable[..., Any] | None:
    """``detection.detect_parts`` when the run's registered detection stage follows this one: a partitioned run
    then builds and evaluates each part once for both stages (the detection's central values are the rules'),
    not once for each (a tenth of a run: the rules stage's join and evaluation of every part again)."""
    names = list(ctx.stages)
    if "rules" not in names or ctx.stages.get("detection") is not detection_stage \
            or names.index("detection") < names.index("rules"):
        return None
    return _entry_point("nonrecours.detection", "detect_parts")


def _rules_detected(ctx: RunContext, fused: Callable[..., Any], tables: dict[str, pl.LazyFrame], month: dt.date,
                    core_config: Any, targets: list[str], aside: Path
                    ) -> tuple[list[Path], int, list[dict[str, Any]], dict[str, int]]:
    """The month's parts detected (``fused``: ``detection.detect_parts``, kept in ``ctx.detected`` for the
    detection stage), each writing the entitlements of ``targets`` from its central evaluation into ``aside``:
    the parts' files, the persons evaluated, the month's parameters (``Result.bindings_manifest`` of the
    rules' plan, which every part bound) and the familles left out (``_rules_of``, from the parts' summaries)."""
    from nonrecours.core import population_facts
    from nonrecours.detection import RulesAside
    from nonrecours.engine.evaluate import cached_plan
    from nonrecours.rules.params import default_parameters
    from nonrecours.rules.registry import default_registry

    cfg = ctx.config
    facts = population_facts(tables, month, config=core_config)
    plan = cached_plan(tuple(targets), default_registry(), default_parameters(), month)
    columns = tuple(s.name for s in plan.steps.values() if s.public and s.entity == "famille")
    done = fused(ctx.workspace, month, ctx.partitions, backend=cfg.backend, config=detection_config(cfg),
                 engine_config=engine_config(cfg), fresh_processes=cfg.fresh_process_per_part,
                 rules=RulesAside(tuple(targets), columns, aside), facts=facts)
    ctx.detected[month] = done
    bindings = [b.as_dict() for b in sorted(plan.bindings.values(), key=lambda b: (b.name, b.month))]
    away = {k: sum(s["territory_not_modelled"][k] for s in done.summaries) for k in ("familles", "persons")}
    return [aside / f"{k:05d}.parquet" for k in done.numbers], sum(done.rows), bindings, away


def rules_stage(ctx: RunContext) -> StageReport:
    from nonrecours.core import population_facts
    from nonrecours.core.workspace import workspace_core_config
    from nonrecours.isolate import run_each

    cfg = ctx.config
    report = StageReport("rules", rows_in=0, rows_out=0)
    core_config = workspace_core_config(ctx.workspace)  # the layouts the extracts were ingested with
    targets = _rule_targets(cfg)
    duckdb_config = engine_config(cfg)
    tables = _tables(ctx.workspace)
    partitions = _partitions(ctx)
    fused = None if partitions is None else _fused_detection(ctx)
    for month in cfg.months:
        with stage(f"rules {month:%Y-%m} ({cfg.backend}): {', '.join(cfg.benefits)}"
                   + ("" if fused is None else ", each part detected too")):
            ctx.month_core = None  # one month's core held at a time
            aside = None if partitions is None else partitions.path.parent / f"rules-{month:%Y-%m}"
            if partitions is None:
                core, fam, rows_in, bindings, away = _rules_of(tables, month, core_config, None, targets,
                                                               cfg.backend, duckdb_config)
                ctx.month_core = core
                del core
            elif fused is not None:  # each part built, evaluated and detected once, for this stage and the next
                fams, rows_in, bindings, away = _rules_detected(ctx, fused, tables, month, core_config, targets,
                                                                aside)
            else:  # each part built and evaluated alone, its entitlements set aside, merged below
                facts = population_facts(tables, month, config=core_config)
                todo = _parts(partitions)
                jobs = ((f"rules {month:%Y-%m}, part {k} of {partitions.n}",
                         (partitions.tables(k), k, month, core_config, facts, targets, cfg.backend, duckdb_config,
                          aside)) for k in todo)
                done = run_each(_rules_part, jobs, fresh=cfg.fresh_process_per_part)
                fams, bindings, rows_in, away = [], None, 0, {"familles": 0, "persons": 0}
                for i, ((rows, bound, gone), usage) in enumerate(done):
                    log.info("rules %s, part %d of %d (%s persons evaluated): %s", f"{month:%Y-%m}", todo[i],
                             partitions.n, f"{rows:,}", usage.describe(), extra={"part": todo[i], "usage": usage})
                    fams.append(aside / f"{todo[i]:05d}.parquet")
                    rows_in += rows
                    away = {k: away[k] + gone[k] for k in away}
                    if bindings is None:
                        bindings = bound
                    elif bindings != bound:  # parameters are the month's, not a part's
                        raise ControlError(f"rules {month:%Y-%m}: partitions bound different parameters")
        path = ctx.out / "rules" / f"entitlements-{month:%Y-%m}.parquet"
        if aside is None:
            target = write_parquet(path, fam.sort(fam.columns[0]))
            del fam
        else:  # the parts' files merged range by range, a part's rows at a time (core.partition)
            from nonrecours.core.partition import merge_parts

            first = pl.read_parquet_schema(fams[0])
            target = merge_parts(fams, path, [next(iter(first))], duckdb_config=duckdb_config)
            shutil.rmtree(aside)
        lf = pl.scan_parquet(target)
        schema = lf.collect_schema()
        params = write_json(ctx.out / "rules" / f"parameters-{month:%Y-%m}.json", bindings)
        ctx.manifest["parameters"][f"{month:%Y-%m}"] = bindings
        report.outputs += [target, params]
        report.rows_in += rows_in
        counted = lf.select(pl.len().alias("_rows"), *[
            (pl.col(b) > 0 if schema[b].is_numeric() else pl.col(b)).sum().alias(b) for b in targets]).collect()
        report.rows_out += int(counted.item(0, "_rows"))
        report.counts[f"{month:%Y-%m}"] = {b: int(counted.item(0, b)) for b in targets}
        report.counts[f"{month:%Y-%m} territory not modelled"] = away
        if away["familles"]:
            log.warning("rules %s: %d familles (%d persons) live in a territory whose law the rules do not model: "
                        "left out of the entitlements", f"{month:%Y-%m}", away["familles"], away["persons"])
    report.note = "values no agency supplied taken at the core's central estimate (ranges in detection/)"
    return report


def _entry_point(module: str, name: str) -> Callable[..., Any] | None:
    try:
        mod = import_module(module)
    except ModuleNotFoundError as exc:  # the package itself absent; a broken import inside it propagates
        if exc.name != module:
            raise
        return None
    fn = getattr(mod, name, None)
    return fn if callable(fn) else None


def detection_config(cfg: RunConfig) -> Any:
    """The detection package's own configuration with run.toml's benefits, ``[thresholds]`` and ``[detection]``:
    the benefits asked (``css`` asks for ``css_free`` and ``css_participation``), the under-payment share, the
    exclusion windows (a window given for a run.toml name applies to every benefit it asks for), the decisive
    unknowns and the contradicting payments. The run's detection stage and ``nonrecours detect --config`` both
    read it here, so a run's flags are reproduced by ``detect`` alone."""
    cls = getattr(import_module("nonrecours.detection"), "DetectionConfig", None)
    if cls is None:
        return None
    th = cfg.thresholds
    base = cls()
    update: dict[str, Any] = {}
    if "benefits" in cls.model_fields:
        update["benefits"] = by_asked(cfg.benefits)
    if "under_payment_share" in cls.model_fields:
        update["under_payment_share"] = th.under_payment
    opts = cfg.detection
    if "decisive_unknowns" in cls.model_fields:
        update["decisive_unknowns"] = opts.decisive_unknowns
    if "contradicting_payments" in cls.model_fields:
        update["contradicting_payments"] = by_asked(opts.contradicting_payments)
    asked_of = {b.code: b.asked for b in CATALOGUE}
    for name in ("refusal_months", "closure_months"):
        if name in cls.model_fields:
            windows = dict(getattr(base, name))
            for key in windows:
                if asked_of.get(key) in th.exclusion_months:
                    windows[key] = th.exclusion_months[asked_of[key]]
            update[name] = windows
    return base.model_copy(update=update)


def detection_stage(ctx: RunContext) -> StageReport:
    """Calls ``nonrecours.detection.run_detect(workspace, month, out, backend=, config=, engine_config=)`` for
    each month (run.toml's DuckDB memory limit and spill folder reach the detection's evaluations too),
    into ``detection/YYYY-MM/``, when the detection package provides it; with run.toml's ``partitions``
    above 1, part by part (``partitions=``); with the month's core the rules stage built (``core=``,
    ``RunContext.month_core``) rather than joining the month again."""
    run_detect = _entry_point("nonrecours.detection", "run_detect")
    if run_detect is None:
        return StageReport("detection", status="not available",
                           note="nonrecours.detection.run_detect is not in this build")
    report = StageReport("detection", rows_out=0)
    config = detection_config(ctx.config)
    partitions = _partitions(ctx)
    for month in ctx.config.months:
        folder = ctx.out / "detection" / f"{month:%Y-%m}"
        # the rules stage's last month (the first month here in a run of one month); dropped in any case,
        # so two months' cores are never held at once
        built = ctx.month_core if partitions is None and getattr(ctx.month_core, "month", None) == month \
            else None
        ctx.month_core = None
        done = ctx.detected.pop(month, None)  # the parts the rules stage detected: merged only
        with stage(f"detection {month:%Y-%m} ({ctx.config.backend})"
                   + ("" if done is None else ": the parts the rules stage detected, merged")):
            _, paths = run_detect(ctx.workspace, month, folder, backend=ctx.config.backend, config=config,
                                  engine_config=engine_config(ctx.config),
                                  **({} if partitions is None else {
                                      "partitions": partitions,
                                      "fresh_processes": ctx.config.fresh_process_per_part}),
                                  **({} if built is None else {"core": built}),
                                  **({} if done is None else {"done": done}))
        del built
        written = sorted(Path(p) for p in paths.values())
        report.outputs += written
        flags = [p for p in written if p.name == "flags.parquet"]
        if flags:
            report.counts[f"{month:%Y-%m}"] = {"flags": _rows(flags[0])}
            report.rows_out += _rows(flags[0]) or 0
    return report


def _plugged_stage(name: str, module: str) -> Stage:
    """A stage that calls ``module.run_stage(ctx)`` when that module is in the build, else reports it absent."""
    def stage(ctx: RunContext) -> StageReport:
        fn = _entry_point(module, "run_stage")
        if fn is None:
            return StageReport(name, status="not available", note=f"{module}.run_stage is not in this build")
        return fn(ctx)

    stage.__name__ = f"{name}_stage"
    stage.__doc__ = f"Calls ``{module}.run_stage(ctx)`` when provided."
    return stage


outputs_stage = _plugged_stage("outputs", "nonrecours.outputs")
"""Outreach lists, statistics, answers and the report."""
ablation_stage = _plugged_stage("ablation", "nonrecours.outputs.ablation")
"""The value of each agency's exchange."""


STAGES: dict[str, Stage] = {
    "ingest": ingest_stage,
    "rules": rules_stage,
    "detection": detection_stage,
    "ablation": ablation_stage,
    "outputs": outputs_stage,
}
"""The registry, in execution order. A package plugs in by providing the entry point named above (or by
adding a stage here): each stage gets the RunContext and returns its StageReport."""


# --- the run ------------------------------------------------------------------------------------------

def _claim(out: Path, config_hash: str, *, write: bool = True) -> None:
    """Refuse a folder holding another configuration's run; mark it as this configuration's."""
    marker = out / MARKER
    if marker.exists():
        try:
            previous = json.loads(marker.read_text(encoding="utf-8")).get("config_hash")
        except (OSError, ValueError):
            previous = None
        if previous != config_hash:
            # a run that stopped (a month after the extracts, a faulty file) leaves its workspace and no manifest:
            # a corrected configuration is another one, and would mix its extracts with those (found probing the
            # command line from the docs alone, 5 December 2026: the message said « outputs » of a folder with none)
            what = ("the outputs of another run" if (out / MANIFEST).exists()
                    else "the workspace of another configuration's run that did not finish (no output published)")
            raise RunConflictError(
                f"{out} holds {what} (configuration {str(previous)[:12]}, this one is {config_hash[:12]}); runs are "
                "never mixed: choose another output folder or remove that one")
    elif (out / MANIFEST).exists() or (out / "workspace").exists():
        raise RunConflictError(f"{out} holds outputs not written by a run of this configuration; "
                               "choose another output folder or remove that one")
    if write:
        write_json(marker, {"config_hash": config_hash})


def _lock(out: Path) -> Path:
    """One run at a time in a folder: a lock file holding the running process id (a lock left by a process
    that no longer exists, killed, is taken over)."""
    lock = out / LOCK
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            try:
                pid = int(lock.read_text().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            if pid and _alive(pid):
                raise RunConflictError(f"{out}: another run (process {pid}) is writing to this folder") from None
            lock.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, "w") as fh:
            fh.write(f"{os.getpid()}\n")
        return lock
    raise RunConflictError(f"{out}: cannot take the run lock {LOCK}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        return True
    return True


def _log_file(out: Path) -> logging.Handler:
    handler = logging.FileHandler(out / "run.log", mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    root = logging.getLogger("nonrecours")
    root.addHandler(handler)
    if root.getEffectiveLevel() > logging.INFO:
        root.setLevel(logging.INFO)
    return handler


def run(config: RunConfig, *, stages: dict[str, Stage] | None = None) -> RunReport:
    """Execute the stages on ``config``; write the manifest; append the run to the audit log."""
    from nonrecours.privacy import AuditKey, load_secret

    cfg = config
    out = cfg.output
    out.mkdir(parents=True, exist_ok=True)
    config_hash = cfg.digest()
    audit = AuditLog(out, AuditKey(load_secret(cfg.audit_key, "run.toml's audit_key")))
    audit.verify()  # a broken log is never extended
    lock = _lock(out)
    try:
        _claim(out, config_hash)
        left = clean_partials(out)
        shutil.rmtree(out / STAGING, ignore_errors=True)
        return _run(cfg, out, config_hash, audit, left, stages or STAGES)
    finally:
        lock.unlink(missing_ok=True)


_SOURCE_SUFFIXES = frozenset({".py", ".yaml", ".yml", ".toml", ".json", ".html", ".css", ".j2", ".sql"})


def source_digest(root: Path | None = None) -> str:
    """SHA-256 of the package's own files (code, rules' parameters, mappings, templates: each relative path and
    its bytes, in path order): two code states of one version told apart in the manifest and the audit log, with or
    without git (an outside tester: « 0.1.0 » alone named the code, 7 December 2026)."""
    root = root or Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in _SOURCE_SUFFIXES
                       and "__pycache__" not in p.parts):
        digest.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def _run(cfg: RunConfig, out: Path, config_hash: str, audit: AuditLog, left: list[Path],
         stages: dict[str, Stage]) -> RunReport:
    from nonrecours import __version__
    from nonrecours.privacy import load_agreement

    handler = _log_file(out)
    try:
        if left:
            log.info("removed %d partial files of an interrupted run", len(left))
        agreement = load_agreement(cfg.exchange)
        agreement.check_distinct_secrets(cfg.agencies, {"run.toml's audit_key": cfg.audit_key})
        manifest: dict[str, Any] = {
            "package": {"name": "nonrecours", "version": __version__, "source_sha256": source_digest()},
            "config": {"sha256": config_hash, "months": [f"{m:%Y-%m}" for m in cfg.months],
                       "benefits": list(cfg.benefits), "backend": cfg.backend,
                       # not in the hash: a partitioned run's files hold the same rows in other bytes (run.md)
                       "partitions": cfg.partitions,
                       "thresholds": cfg.thresholds.model_dump(mode="json"),
                       "lead_agency": dict(cfg.lead_agency)},
            "agreement": {"exchange_id": agreement.exchange_id, "purpose": agreement.purpose,
                          "retention_days": agreement.retention_days, "file": relative(cfg.exchange, out),
                          "sha256": file_sha256(cfg.exchange)},
            "keys": {"audit_key_id": audit.key.key_id,
                     "audit_key_source": ({"file": relative(cfg.audit_key.file, out)} if cfg.audit_key.file
                                          else {"env": cfg.audit_key.env})},
            "inputs": [describe_file(f, out, agency=a, mapping=relative(s.mapping, out) if s.mapping else "default")
                       for a, s in cfg.agencies.items() for f in s.files],
            "parameters": {}, "quarantine": {}, "stages": [], "outputs": [],
        }
        ctx = RunContext(cfg, out, agreement, audit, manifest, stages=dict(stages))
        reports = []
        try:
            for name, fn in stages.items():
                rep = fn(ctx)
                rep.name = name
                reports.append(rep)
                manifest["stages"].append({"name": name, "status": rep.status, "rows_in": rep.rows_in,
                                           "rows_out": rep.rows_out, "counts": rep.counts, "note": rep.note})
                # a stage that reads no rows of its own (detection reads the workspace's tables): no count, not « None »
                log.info("stage %s: %s, %s", name, rep.status,
                         ", ".join(f"{n:,} rows {w}" for n, w in ((rep.rows_in, "in"), (rep.rows_out, "out"))
                                   if n is not None) or "no rows counted")
        finally:
            ctx.close()
        manifest["outputs"] = [describe_file(p, out, rows=_rows(p)) for r in reports for p in r.outputs]
        _remove_superseded(out, [o["path"] for o in manifest["outputs"]])
        path = write_json(out / MANIFEST, manifest)
        audit.append("run", {"config_sha256": config_hash, "version": __version__,
                             "source_sha256": manifest["package"]["source_sha256"],
                             "manifest_sha256": file_sha256(path), "outputs": len(manifest["outputs"]),
                             "stages": {r.name: r.status for r in reports},
                             "exchange_id": agreement.exchange_id, "purpose": agreement.purpose})
        return RunReport(out, config_hash, reports, path)
    finally:
        logging.getLogger("nonrecours").removeHandler(handler)
        handler.close()


SET_ASIDE = "set_aside"
"""Folder of a run folder where a rerun moves the files it finds among its outputs that no run wrote."""


def _remove_superseded(out: Path, listed: list[str]) -> None:
    """Remove the files an earlier run of this configuration wrote beside this run's outputs (its manifest lists
    them) and this run did not write again (``audit.manifest.unlisted``): they describe other data than this run's
    (an outreach list of an agency no longer flagged), and ``audit verify`` refuses a file there that the manifest
    does not list. A file there that no manifest lists is not the runs' (a team's notes saved beside a list): moved
    to ``set_aside/`` under its path, with a warning, never deleted (it was: found probing the outputs from the docs
    alone, 5 December 2026)."""
    try:
        before = {o["path"] for o in read_manifest(out).get("outputs", [])}
    except AuditError:  # no earlier run finished here
        before = set()
    removed, kept = 0, []
    for path in unlisted(out, listed):
        rel = path.relative_to(out)
        if rel.as_posix() in before:
            path.unlink()
            removed += 1
            continue
        target = out / SET_ASIDE / rel
        n = 1
        while target.exists():
            target = out / SET_ASIDE / rel.with_name(f"{rel.stem}.{n}{rel.suffix}")
            n += 1
        target.parent.mkdir(parents=True, exist_ok=True)
        path.replace(target)
        kept.append(f"{rel.as_posix()} -> {target.relative_to(out).as_posix()}")
    if removed:
        log.info("removed %d files an earlier run wrote beside this run's outputs", removed)
    for move in kept:
        log.warning("a file no run wrote was among the outputs: moved aside (%s)", move)


def _rows(path: Path) -> int | None:
    if path.suffix == ".parquet":
        return int(pl.scan_parquet(path).select(pl.len()).collect().item())
    return None


def run_file(path: str | Path) -> RunReport:
    """``nonrecours run run.toml``."""
    return run(load_config(path))


# --- validate -----------------------------------------------------------------------------------------

@dataclass
class FileCheck:
    agency: str
    file: str
    format: str
    encoding: str
    rows_sampled: int
    rows_faulty: int
    """Rows of the sample ingest would quarantine (a row with several faults counts once)."""
    faults_sampled: dict[str, int]
    """Faults of the sample by column and reason, each once per row and column, as ingest's report counts them."""
    adaptations: list[str] = field(default_factory=list)
    """How the file's header was read (``connectors.fit_to_header``: another separator, names in lower case), as
    ingest will read it."""
    refused: list[str] = field(default_factory=list)
    """What the run would stop on, seen in the sample: no record after the header (without the agency's
    ``allow_empty``), a share of faulty rows above ``max_quarantined``. ``nonrecours validate`` fails on them: it
    said « valid » for extracts the run then refused (found probing extracts written from the docs alone,
    5 December 2026). A fixed-width trailer missing or counting other than the file's records, read from the whole
    file's lines (``_trailer_refusal``)."""


def _months_modelled(cfg: RunConfig) -> None:
    """Each month of ``cfg`` has the rules of its benefits in force (``NotModelledError``, naming the earliest month
    that has them, as the rules stage would raise it after ingest: 2019-01 was valid, then refused minutes later)."""
    from nonrecours.engine.evaluate import cached_plan
    from nonrecours.rules.params import default_parameters
    from nonrecours.rules.registry import default_registry

    for month in cfg.months:  # the rules stage's own plan (kept: the run reuses it)
        cached_plan(tuple(_rule_targets(cfg)), default_registry(), default_parameters(), month)


def validate(path: str | Path, *, sample_bytes: int = 1 << 20) -> list[FileCheck]:
    """Check a configuration and its extracts without running: the configuration and every file it names,
    that the output folder is free or this configuration's, the agreement and its keys, each mapping against
    the agreement, each extract's header, encoding and record types, and a sample of rows parsed as ingest
    would (faults counted by column and reason)."""
    from nonrecours.connectors import default_mapping, load_mapping
    from nonrecours.connectors._ids import check_export
    from nonrecours.connectors.ingest import _split_records, canonical_rows, faults_once
    from nonrecours.connectors.parse import FAULT_SCHEMA, check_rows, fault_frame, parse_record, raw_fields
    from nonrecours.connectors.readers import fit_to_header
    from nonrecours.core.inputs import monthly_bounds
    from nonrecours.privacy import AuditKey, load_agreement, load_secret

    cfg = load_config(path)
    _months_modelled(cfg)
    _claim(cfg.output, cfg.digest(), write=False)  # the run would be refused: say so now
    agreement = load_agreement(cfg.exchange)
    key = agreement.pseudonym_key()
    AuditKey(load_secret(cfg.audit_key, "run.toml's audit_key"))
    agreement.check_distinct_secrets(cfg.agencies, {"run.toml's audit_key": cfg.audit_key})
    checks = []
    reported: list[dict[str, Any]] = []  # the monthly extracts' dates: no month after the latest (as the run)
    for agency, spec in cfg.agencies.items():
        mapping = load_mapping(spec.mapping) if spec.mapping is not None else default_mapping(agency)
        check_export(agreement, mapping.agency, mapping.exported_columns)
        for file in spec.files:
            with stage(f"validate {agency}: {file.name}"):
                fitted, notes = fit_to_header(file, mapping)  # the header as ingest reads it
                sample = _sample(file, fitted, sample_bytes)
                per_record, faults, _ = _split_records(sample, fitted)
                found = [fault_frame(sample, None).cast(FAULT_SCHEMA), faults]
                date = spec.extract_date  # as ingest dates the file: the run's date, its header's, its own
                parsed_records = []
                for rec, rows in per_record:
                    if rows.height:
                        parsed, parse_faults = parse_record(raw_fields(rows, rec, fitted), rec, fitted, key)
                        found.append(parse_faults)
                        parsed_records.append((rec, parsed))
                        ref = fitted.extract_date_from
                        if date is None and ref is not None and rec.name == ref.record:
                            header = parsed.get_column(ref.field).drop_nulls()
                            date = header[0] if header.len() else None
                date = date or dt.datetime.fromtimestamp(file.stat().st_mtime, tz=dt.UTC).date()
                sampled: dict[str, list[pl.DataFrame]] = {}  # the sample's monthly rows: the first month they hold
                for rec, parsed in parsed_records:  # the canonical checks ingest makes (a birth date after the extract)
                    for emit, canon in canonical_rows(parsed, rec):
                        found.append(check_rows(canon, emit, rec, fitted, extract_date=date))
                        if emit.table in ("benefits_paid", "resources"):
                            sampled.setdefault(emit.table, []).append(canon.select(
                                pl.lit(fitted.agency).alias("source_agency"), "month", "benefit")
                                if "benefit" in canon.columns else canon.select(
                                pl.lit(fitted.agency).alias("source_agency"), "month"))
                monthly = {e.table for rec in fitted.records for e in rec.emits} & {"benefits_paid", "resources"}
                if monthly:
                    # a sample of the first records bounds the file's first month from above only (an extract
                    # listing its latest month first): it tells the first month when it holds the whole file
                    whole = sample.height < _SAMPLE_ROWS and file.stat().st_size <= sample_bytes
                    first = monthly_bounds({t: pl.concat(f, how="diagonal_relaxed").lazy()
                                            for t, f in sampled.items()})[1]
                    reported.append({"source_agency": fitted.agency, "extract_date": date, "month": first,
                                     "whole": whole})
                # as ingest counts them: a line once in the rows, a fault once per line and column (the DGFiP's
                # qualite, read for the foyer and the ménage, was « 2 × qualite » on one row: a tester, runB)
                allf = faults_once([f.cast(FAULT_SCHEMA) for f in found])
                counts = {f"{c or 'line'}: {r}": n for c, r, n in allf.select("column", "reason").cast(pl.String)
                          .group_by("column", "reason").len().sort(["len", "column", "reason"],
                                                                   descending=[True, False, False]).iter_rows()}
                faulty = allf.get_column("line").n_unique()
                refused = []
                control = {r.record for r in (fitted.extract_date_from, fitted.record_count_from) if r is not None}
                records = sample.height - sum(rows.height for rec, rows in per_record if rec.name in control)
                if records <= 0 and not spec.allow_empty:
                    refused.append("no record after the header: the run refuses an empty extract (a failed "
                                   "export?) unless the agency's allow_empty is set")
                if records > 0 and faulty / records > cfg.max_quarantined:
                    refused.append(f"{faulty:,} of the {records:,} records sampled are faulty "
                                   f"({faulty / records:.1%}), above max_quarantined ({cfg.max_quarantined:.1%}): "
                                   "the run would stop on this file")
                trailer = _trailer_refusal(file, fitted)
                if trailer is not None:
                    refused.append(trailer)
            checks.append(FileCheck(agency, file.name, fitted.format, fitted.encoding, sample.height, faulty, counts,
                                    notes, refused))
    _months_reported(cfg, reported)
    return checks


def _months_reported(cfg: RunConfig, reported: list[dict[str, Any]]) -> None:
    """Refuse, as the rules stage would after ingest, a month after the latest monthly extract or before the first
    month they hold (``core.inputs.within_the_extracts``): the extracts ``validate`` read (the first month from
    their samples when each sample is its whole file: a sample of a larger one bounds its first month from above
    only, and refusing on it could refuse a month the run accepts), and those a rerun's workspace already holds."""
    from nonrecours.core.inputs import monthly_bounds, refuse_outside

    dates = [r["extract_date"] for r in reported if r["extract_date"] is not None]
    firsts = [r["month"] for r in reported if r["month"] is not None]
    latest, first = max(dates, default=None), min(firsts, default=None)
    if not all(r["whole"] for r in reported):  # a file read in part may hold earlier months: the run's check decides
        first = None
    sampled = first is not None
    if (cfg.output / "workspace").is_dir():
        held_latest, held_first = monthly_bounds(_tables(cfg.output / "workspace"))
        latest = max((d for d in (latest, held_latest) if d is not None), default=None)
        if held_first is not None and (first is None or held_first <= first):
            first, sampled = held_first, False
    for month in cfg.months:
        refuse_outside(month, latest, first, sampled=sampled)


def _trailer_refusal(file: Path, mapping: Any) -> str | None:
    """Why the run's record count control would fail on a fixed-width extract with a trailer (``record_count_from``),
    read from the file's lines without parsing them (``readers.last_record``): no trailer record last, or a count
    that differs from the records (non-blank lines, as ingest counts them); None when it would pass or the layout
    has no trailer."""
    ref = mapping.record_count_from
    if mapping.format != "fixed_width" or ref is None or mapping.record_type_start is None:
        return None
    from nonrecours.connectors.readers import last_record

    rec = next(r for r in mapping.records if r.name == ref.record)
    start, length = mapping.record_type_start - 1, mapping.record_type_length or 0
    records, last = last_record(file, mapping.encoding)
    if last[start:start + length] != rec.code:
        return f"the file does not end with its trailer record (code {rec.code}): the run's record count control fails"
    count = rec.field(ref.field)
    text = last[(count.start or 1) - 1:count.end].strip()
    if not text.isdigit() or int(text) != records:
        declared = f"{int(text):,}" if text.isdigit() else "no"
        return (f"the trailer declares {declared} records, the file holds {records:,}: the run's record count "
                "control fails")
    return None


_SAMPLE_ROWS = 10_000


def _sample(file: Path, mapping: Any, sample_bytes: int) -> pl.DataFrame:
    """The first records of an extract as ingest's reader gives them, up to the first batch of records to parse: the
    CSV reader gives each chunk's unreadable lines (a line too long, a repeated header) first, in a batch of their
    own, and a sample of that batch alone parsed no value (a file ending in a blank line sampled nothing)."""
    from nonrecours.connectors.readers import FAULT, iter_batches

    frames: list[pl.DataFrame] = []
    # closed here, not by the generator's finalizer: a Ctrl-C meanwhile is raised, not printed and lost
    with contextlib.closing(iter_batches(file, mapping, chunk_bytes=sample_bytes, batch_rows=_SAMPLE_ROWS)) as batches:
        for batch in batches:
            frames.append(batch.frame)
            if batch.frame.get_column(FAULT).null_count() or sum(f.height for f in frames) >= _SAMPLE_ROWS:
                break
    return pl.concat(frames, how="diagonal_relaxed")
