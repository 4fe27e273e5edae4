"""A team's own workspace: canonical Parquet read lazily, the month's entitlements and what is known."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import polars as pl
from pydantic import BaseModel

from nonrecours.core.inputs import build_month
from nonrecours.core.resources import CoreConfig
from nonrecours.errors import ConfigError, SchemaError
from nonrecours.schemas.codes import RESOURCE_KINDS

__all__ = ["READ_IF_PRESENT", "Recorded", "RecordedLayouts", "file_agency", "follower_kinds", "ingest_sequences",
           "latest_first", "recorded_layouts", "recorded_member_line_payers", "run_entitlements", "scan_workspace",
           "with_recorded", "workspace_core_config", "workspace_files"]

log = logging.getLogger("nonrecours.core")

ConfigT = TypeVar("ConfigT", bound=BaseModel)

REPORTS = "reports"
"""The folder of a workspace where ingest writes each extract's report (``<agency>-<extract_id>.json``)."""


def file_agency(path: Path) -> str:
    """The agency whose extract wrote a workspace file: ingest names each ``<table>/<agency>-<extract_id>.parquet``
    (agency codes hold no hyphen)."""
    return Path(path).name.split("-", 1)[0]


def scan_workspace(workspace: Path, agencies: Iterable[str] | None = None) -> dict[str, pl.LazyFrame]:
    """One LazyFrame per canonical table folder holding Parquet (nothing is read yet).

    ``agencies``: read only the files those agencies' extracts wrote, so the tables are exactly those of a
    workspace where the other extracts never came (a table no kept agency wrote is absent, not empty: the core
    reads an absent table as unknown, an empty one as "nothing to report")."""
    workspace = Path(workspace)
    if not workspace.is_dir():
        # a path given wrong (exit 2), not data at fault
        raise ConfigError(f"the workspace {workspace} is not a folder" + ("" if workspace.exists() else
                                                                           " (no such path)"))
    from nonrecours.schemas import TABLES, UNIDENTIFIED_MEMBERS

    kept = None if agencies is None else set(agencies)
    out = {}
    for name in [*TABLES, UNIDENTIFIED_MEMBERS]:
        files = workspace_files(workspace, name, agencies=kept)
        if files and name == UNIDENTIFIED_MEMBERS:  # files written before the members' birth month, sex and
            # commune were kept lack them: null there (unknown), not a schema error
            out[name] = pl.concat([pl.scan_parquet(f) for f in files], how="diagonal_relaxed")
        elif files:
            out[name] = _latest_per_key(name, files)
    return out


READ_IF_PRESENT: dict[str, frozenset[str]] = {
    "benefits_paid": frozenset({"paying_agency", "extract_date"}),
    "resources": frozenset({"extract_date"}),
}
"""Required columns of a canonical table that the code reads only where a file has them (workspaces ingested
before they were added): their absence is an older workspace, not a damaged one (``workspace_files``). A missing
nullable column is read as unknown the same way."""


def workspace_files(workspace: Path, name: str, *, agencies: Iterable[str] | None = None,
                    columns: Iterable[str] | None = None) -> list[Path]:
    """The Parquet files of the workspace table ``name`` (of ``agencies``' extracts only, when given), each checked
    against its canonical schema by reading its footer (cheap): a file that is not readable Parquet (truncated,
    overwritten), lacks a required column or holds a column of another type than the canonical one raises
    ``SchemaError`` naming the file (its path in the workspace) and the fault, never a value (exit 3: input data
    invalid). Without it the scan failed later, deep in a plan, as « unexpected ComputeError » (exit 1) naming no
    file or another one (an outside tester, 6 December 2026). A missing nullable column (or one of
    ``READ_IF_PRESENT``) is an older workspace, read as before; a column not in the canonical schema is kept.
    ``columns``: a reader of those columns only (the run's notes on the extracts read) checks those."""
    from nonrecours.connectors.parse import UNIDENTIFIED_SCHEMA
    from nonrecours.schemas import TABLES, UNIDENTIFIED_MEMBERS

    folder = Path(workspace) / name
    files = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
    if agencies is not None:
        kept = set(agencies)
        files = [f for f in files if file_agency(f) in kept]
    spec = TABLES.get(name)
    expected = spec.schema if spec is not None else UNIDENTIFIED_SCHEMA if name == UNIDENTIFIED_MEMBERS else {}
    if columns is not None:
        wanted = set(columns)
        expected = {c: t for c, t in expected.items() if c in wanted}
    required = ([] if spec is None else
                [c for c in expected if c not in spec.nullable and c not in READ_IF_PRESENT.get(name, ())])
    for f in files:
        where = f"workspace file {name}/{f.name}"
        try:
            have = pl.read_parquet_schema(f)
        except Exception as exc:  # any reader failure is the file's: named, with the error's kind
            raise SchemaError(f"{where}: not a readable Parquet file ({type(exc).__name__})") from None
        missing = [c for c in required if c not in have]
        if missing:
            raise SchemaError(f"{where}: missing column {missing[0]}, required in the table {name}")
        for col, dtype in expected.items():
            if col in have and not _same_type(have[col], dtype):
                raise SchemaError(f"{where}: column {col} of type {have[col]} where {dtype} is expected")
    return files


def _same_type(have: pl.DataType, expected: pl.DataType) -> bool:
    """``have`` is of ``expected``'s kind, as the readers cast a column to its canonical type where they read it:
    a number (integer, float or decimal: a workspace a team wrote itself holds floats), a code (enum, of codes
    added since the file was written, categorical or text), a boolean, a date, a list. Text where an amount is
    expected, or a number where a date is, is damage."""
    return have == expected or _kind(have) == _kind(expected)


def _kind(dtype: pl.DataType) -> object:
    if dtype.is_numeric():
        return "number"
    if isinstance(dtype, (pl.Enum, pl.Categorical, pl.String)):
        return "code"
    return dtype.base_type()


def _latest_per_key(name: str, files: list[Path]) -> pl.LazyFrame:
    """The table ``name`` of ``files`` with one row per key (``TableSpec.key``): the latest extract's (``extract_date``,
    then the one ingested last: ``ingest_sequences``, then ``extract_id``), when an agency sent several extracts of it.
    Ingest keeps one row per key within an extract; across extracts (monthly files that repeat the months before, a
    file sent again) each row came once per file: the payments of the months both hold were counted twice. Two files
    of one date (a correction listed after its original in run.toml) were told apart by their names: « a_fix.csv »
    lost to the original it corrects. One extract per agency, the common case: read as it is."""
    from nonrecours.schemas import TABLES

    spec = TABLES.get(name)
    agencies = [file_agency(f) for f in files]
    casts = _casts(files, spec.schema if spec is not None else {})
    if spec is None or not spec.key or len(set(agencies)) == len(agencies):
        if not any(casts.values()):
            return pl.scan_parquet(files)
        return pl.concat([pl.scan_parquet(f).cast(casts[f]) for f in files])  # type: ignore[arg-type]
    order = ingest_sequences(files[0].parent.parent)
    lf = pl.concat([pl.scan_parquet(f).cast(casts[f])  # type: ignore[arg-type]
                    .with_columns(pl.lit(order.get(f.stem), pl.Int64).alias("sequence")) for f in files])
    return latest_first(lf).unique(subset=list(spec.key), keep="first", maintain_order=True).drop("sequence")


def _casts(files: list[Path], schema: dict[str, pl.DataType]) -> dict[Path, dict[str, pl.DataType]]:
    """Per file, its columns of another type than the canonical one but of its kind (``workspace_files`` accepted
    them: a team's own file of floats for amounts, text for codes), cast to it: scanned together with the files
    ingest wrote, Polars refused the mix (« data type mismatch for column role », exit 1: an outside tester's
    probe13, 7 December 2026). Read from the footers ``workspace_files`` read already (cheap)."""
    out: dict[Path, dict[str, pl.DataType]] = {}
    for f in files:
        have = pl.read_parquet_schema(f)
        out[f] = {c: t for c, t in schema.items() if c in have and have[c] != t}
    return out


FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)


def latest_first(frame: FrameT) -> FrameT:
    """``frame``'s rows, of several extracts, the latest extract's first: by ``extract_date``, then the one ingested
    last (its ``sequence``, ``ingest_sequences``; none: before the others), then ``extract_id``. The one order of
    extracts, for the rows read (``scan_workspace``) and for what a run says of them (``run._same_period_extracts``)."""
    return frame.sort("extract_date", "sequence", "extract_id", descending=True, nulls_last=True)


def ingest_sequences(workspace: Path) -> dict[str, int]:
    """``<agency>-<extract_id>`` → the place of that extract in the order ``workspace``'s extracts were ingested
    (``IngestReport.sequence``), for the reports that record it (not those written before it was recorded)."""
    return {Path(name).stem: r["sequence"] for name, r in _reports(workspace)
            if isinstance(r.get("sequence"), int) and not isinstance(r.get("sequence"), bool)}


def _reports(workspace: Path) -> list[tuple[str, dict]]:
    """The ingest reports of ``workspace`` (``reports/*.json``) by file name, in file order."""
    out = []
    for rp in sorted((Path(workspace) / REPORTS).glob("*.json")):
        try:
            report = json.loads(rp.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SchemaError(f"unreadable ingest report ({exc.__class__.__name__})", table=rp.name) from None
        if not isinstance(report, dict) or not isinstance(report.get("agency"), str):
            raise SchemaError("an ingest report names no agency", table=rp.name, column="agency")
        out.append((rp.name, report))
    return out


@dataclass(frozen=True)
class Recorded:
    """One fact of the layouts a workspace's extracts were ingested with, as their ingest reports record it."""

    by_agency: dict[str, Any]
    """Agency → what its reports record (sorted by agency), for the agencies every report of which records it."""
    unrecorded: tuple[str, ...]
    """The agencies with an extract in the workspace (a file it wrote, or a report) for which it is not recorded:
    no ingest report, or a report written before ingest recorded the fact (sorted)."""


@dataclass(frozen=True)
class RecordedLayouts:
    """What a workspace's ingest reports record of the layouts its extracts were read with (``recorded_layouts``:
    the reports read once for every fact)."""

    resource_kinds: Recorded
    """Agency → the resource kinds its extracts' layouts can carry (a sorted tuple, the union over its extracts)."""
    payments_on_member_lines: Recorded
    """Agency → whether a layout it was read with carries a dossier's payments on its members' lines."""
    payment_benefits: Recorded
    """Agency → the benefits whose payments its extracts carry (a sorted tuple, the union over its extracts)."""


def _workspace_agencies(workspace: Path) -> set[str]:
    """The agencies whose extracts wrote a file of a canonical table in ``workspace`` (``file_agency``)."""
    from nonrecours.schemas import TABLES

    return {file_agency(f) for name in TABLES for f in (Path(workspace) / name).glob("*.parquet")}


def recorded_layouts(workspace: Path) -> RecordedLayouts:
    """What the ingest reports of ``workspace`` record of the layouts (``ExtractMapping``) its extracts were read
    with, the team's own mappings included, per agency: the resource kinds each layout can carry
    (``resource_kinds``, for ``CoreConfig.follower_kinds``) and whether it carries a dossier's payments on its
    members' lines (``famille_payments_on_member_lines``, for ``DetectionConfig.member_line_payers``). An agency
    with an extract in the workspace and no report, or a report written before ingest recorded the fact, is
    ``unrecorded`` for it: its callers assume that agency's former behaviour alone and say so, the other
    agencies keep what they record."""
    reports = _reports(workspace)
    agencies = _workspace_agencies(workspace) | {str(r["agency"]) for _, r in reports}
    kinds: dict[str, set[str]] = {}
    payers: dict[str, bool] = {}
    no_kinds: set[str] = set()
    no_payers: set[str] = set()
    carried: dict[str, set[str]] = {}
    no_carried: set[str] = set()
    for name, report in reports:
        agency = str(report["agency"])
        recorded = report.get("resource_kinds")
        if recorded is None:
            no_kinds.add(agency)
        else:
            unknown = sorted(set(recorded) - set(RESOURCE_KINDS))
            if unknown:
                raise SchemaError(f"unknown resource kind {unknown[0]!r} in an ingest report", table=name,
                                  column="resource_kinds")
            kinds.setdefault(agency, set()).update(recorded)
        benefits = report.get("payment_benefits")
        if benefits is None:
            no_carried.add(agency)
        else:
            carried.setdefault(agency, set()).update(str(b) for b in benefits)
        flag = report.get("famille_payments_on_member_lines")
        if flag is None:
            no_payers.add(agency)
        else:
            payers[agency] = payers.get(agency, False) or bool(flag)
    no_kinds |= agencies - set(kinds)
    no_payers |= agencies - set(payers)
    no_carried |= agencies - set(carried)
    return RecordedLayouts(
        Recorded({a: tuple(sorted(k)) for a, k in sorted(kinds.items()) if a not in no_kinds}, tuple(sorted(no_kinds))),
        Recorded({a: f for a, f in sorted(payers.items()) if a not in no_payers}, tuple(sorted(no_payers))),
        Recorded({a: tuple(sorted(b)) for a, b in sorted(carried.items()) if a not in no_carried},
                 tuple(sorted(no_carried))))


def follower_kinds(workspace: Path) -> dict[str, tuple[str, ...]] | None:
    """Agency → the resource kinds its extracts in ``workspace`` can carry (``recorded_layouts``), for the agencies
    whose reports record them; None when no agency's does."""
    return recorded_layouts(workspace).resource_kinds.by_agency or None


def recorded_member_line_payers(workspace: Path) -> frozenset[str] | None:
    """The agencies whose extract in ``workspace`` was ingested with a layout carrying a dossier's payments on its
    members' lines, as its reports record it (``recorded_layouts``: the mappings the extracts were actually read
    with, the team's own ones included, not the agencies' default mappings, ``connectors.member_line_payers``),
    among the agencies whose reports record it; None when no agency's does."""
    recorded = recorded_layouts(workspace).payments_on_member_lines.by_agency
    return frozenset(a for a, flag in recorded.items() if flag) if recorded else None


def workspace_core_config(workspace: Path, config: CoreConfig | None = None,
                          layouts: RecordedLayouts | None = None) -> CoreConfig:
    """``config`` (default: ``CoreConfig()``) with ``follower_kinds`` read from ``workspace`` (``recorded_layouts``;
    ``layouts``: those records already read, by a job that needs them for detection too): every job building the
    core from a workspace (detect, run, the exchange-value reruns, entitlements) builds it with the layouts its
    extracts were ingested with. A value the configuration sets is kept; a follower whose extracts' layouts are
    not recorded (ingested before the record existed, or no report) is left out, so it answers for every kind of
    its members' resources, as before, with a warning naming it. ``payment_extracts``: the agencies whose extract
    wrote a payments file, paying anyone or not."""
    config = config or CoreConfig()

    def read() -> tuple[dict[str, tuple[str, ...]] | None, tuple[str, ...]]:
        kinds = (layouts or recorded_layouts(Path(workspace))).resource_kinds
        return kinds.by_agency or None, tuple(a for a in kinds.unrecorded if a in config.followers)

    config = with_recorded(config, "follower_kinds", read, "which resource kinds its extracts' layouts carry",
                           "following a famille, it is taken to declare every kind of its members' resources")
    if config.payment_benefits is None:  # the benefits each agency's extracts carry the payments of
        recorded = (layouts or recorded_layouts(Path(workspace))).payment_benefits
        if recorded.by_agency:  # an agency not recorded (a report of before) is read as carrying every payment
            config = config.model_copy(update={"payment_benefits": dict(recorded.by_agency)})
    if config.payment_extracts is None:  # the agencies whose layout wrote a payments file, empty or not
        files = (Path(workspace) / "benefits_paid").glob("*.parquet")
        config = config.model_copy(update={"payment_extracts": tuple(sorted({file_agency(f) for f in files}))})
    return config


def with_recorded(config: ConfigT, field: str, read: Callable[[], tuple[Any, tuple[str, ...]]], what: str,
                  assumed: str) -> ConfigT:
    """``config`` with ``field`` set to what the workspace's ingest reports record: ``read()`` gives that value
    (None: no agency's reports record it) and the agencies for which they do not (ingested before the record
    existed, or no report). A value the configuration sets is kept; an agency not recorded gets a warning saying
    ``what`` is not recorded for it and what is ``assumed`` instead, and a value none records leaves the field as
    it is."""
    if getattr(config, field) is not None:
        return config
    value, unrecorded = read()
    if unrecorded:
        log.warning("the workspace does not record %s for %s (no ingest report, or one written before it was "
                    "recorded): %s; re-ingest to record them", what, ", ".join(unrecorded), assumed)
    return config if value is None else config.model_copy(update={field: value})


def run_entitlements(workspace: Path, month: dt.date, out: Path, *, backend: str = "polars",
                     config: CoreConfig | None = None) -> dict[str, Path]:
    """Evaluate the configured targets for ``month`` on ``workspace`` (``missing_inputs="error"``: every
    input comes from the core, central values for unknowns) and write the results, provenance, unknowns
    and a JSON summary (counts, conflicts, tables absent) under ``out``."""
    from nonrecours.engine import amounts_to_the_cent, evaluate

    config = workspace_core_config(workspace, config)
    tables = scan_workspace(workspace)
    core = build_month(tables, month, config=config)
    result = evaluate(list(config.targets), core.inputs, month, backend=backend)
    # a famille living where the rules do not model the law (Mayotte, Saint-Pierre-et-Miquelon...): the mainland's
    # amounts there are no law's, left out and counted as the run's rules stage and detection do (this command
    # wrote them until a probe of a Mayotte household, 5 December 2026)
    away, away_persons = core.outside_the_rules()
    if away.height:
        log.warning("%d familles (%d persons) live in a territory whose law the rules do not model: not evaluated",
                    away.height, away_persons)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tag = f"{month:%Y-%m}"
    paths = {"entitlements": out / f"entitlements-{tag}.parquet", "provenance": out / f"provenance-{tag}.parquet",
             "unknowns": out / f"unknowns-{tag}.parquet", "summary": out / f"core-{tag}.json"}
    # amounts to the cent, as the run's rules stage writes them (docs/run.md): this command wrote 826.4800700000001
    # where the run's file holds 826.48 (an outside tester, 6 December 2026)
    amounts_to_the_cent(result["famille"].join(away, on="famille_id", how="anti"), list(config.targets)).write_parquet(
        paths["entitlements"])
    core.provenance.write_parquet(paths["provenance"])
    core.unknowns.write_parquet(paths["unknowns"])
    from nonrecours.schemas import TABLES

    summary = {
        "month": tag, "backend": backend, "counts": core.counts,
        "territory_not_modelled": {"familles": away.height, "persons": away_persons},
        "conflicts": dict(core.conflicts.iter_rows()),
        "tables_absent": sorted(set(TABLES) - set(tables)),
        "provenance": {f"{e}.{i}.{k}": n for e, i, k, n in
                       core.provenance.group_by("entity", "input", "kind").len().sort("entity", "input", "kind")
                       .iter_rows()},
        "unknowns": {f"{e}.{i}": n for e, i, n in
                     core.unknowns.group_by("entity", "input").len().sort("entity", "input").iter_rows()},
    }
    paths["summary"].write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return paths
