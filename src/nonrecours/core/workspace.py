"""A team's own workspace: canonical Parquet read lazily, the month's entitlements and what is known."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import polars as pl
from pydantic import BaseModel

from nonrecours.core.inputs import build_month
from nonrecours.core.resources import CoreConfig
from nonrecours.errors import SchemaError
from nonrecours.schemas.codes import RESOURCE_KINDS

__all__ = ["file_agency", "follower_kinds", "recorded_member_line_payers", "run_entitlements", "scan_workspace",
           "with_recorded", "workspace_core_config"]

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
        raise SchemaError("workspace is not a folder", table=str(workspace))
    from nonrecours.schemas import TABLES

    kept = None if agencies is None else set(agencies)
    out = {}
    for name in TABLES:
        files = sorted((workspace / name).glob("*.parquet")) if (workspace / name).is_dir() else []
        if kept is not None:
            files = [f for f in files if file_agency(f) in kept]
        if files:
            out[name] = pl.scan_parquet(files)
    return out


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


def follower_kinds(workspace: Path) -> dict[str, tuple[str, ...]] | None:
    """Agency → the resource kinds its extracts in ``workspace`` can carry (``ExtractMapping.resource_kinds``,
    which ingest records in each extract's report; the union over an agency's extracts): the mappings the
    extracts were actually read with, the team's own ones included, for ``CoreConfig.follower_kinds``. None when
    the workspace cannot say: no report, or a report written before ingest recorded it."""
    reports = _reports(workspace)
    if not reports:
        return None
    out: dict[str, set[str]] = {}
    for name, report in reports:
        kinds = report.get("resource_kinds")
        if kinds is None:
            return None
        unknown = sorted(set(kinds) - set(RESOURCE_KINDS))
        if unknown:
            raise SchemaError(f"unknown resource kind {unknown[0]!r} in an ingest report", table=name,
                              column="resource_kinds")
        out.setdefault(str(report["agency"]), set()).update(kinds)
    return {a: tuple(sorted(k)) for a, k in sorted(out.items())}


def workspace_core_config(workspace: Path, config: CoreConfig | None = None) -> CoreConfig:
    """``config`` (default: ``CoreConfig()``) with ``follower_kinds`` read from ``workspace`` (``follower_kinds``):
    every job building the core from a workspace (detect, run, the exchange-value reruns, entitlements) builds it
    with the layouts its extracts were ingested with. A value the configuration sets is kept; a workspace that
    cannot say (ingested before the record existed) leaves every follower answering for every kind, as before,
    with a warning."""
    return with_recorded(config or CoreConfig(), "follower_kinds", lambda: follower_kinds(Path(workspace)),
                         "which resource kinds its extracts' layouts carry", "an agency following a famille is "
                         "taken to declare every kind of its members' resources")


def with_recorded(config: ConfigT, field: str, read: Callable[[], Any], what: str, assumed: str) -> ConfigT:
    """``config`` with ``field`` set to what the workspace's ingest reports record (``read()``): a value the
    configuration sets is kept; a workspace that cannot say (``read()`` None: ingested before the record existed)
    leaves the field as it is, and a warning says ``what`` is not recorded and what is ``assumed`` instead."""
    if getattr(config, field) is not None:
        return config
    value = read()
    if value is None:
        log.warning("the workspace does not record %s (ingested before it was recorded): %s; re-ingest to record "
                    "them", what, assumed)
        return config
    return config.model_copy(update={field: value})


def recorded_member_line_payers(workspace: Path) -> frozenset[str] | None:
    """The agencies whose extract in ``workspace`` was ingested with a layout carrying a dossier's payments on its
    members' lines (``ExtractMapping.famille_payments_on_member_lines``, which ingest records in each extract's
    report): the mappings the extracts were actually read with, the team's own ones included (not the agencies'
    default mappings, ``connectors.member_line_payers``). None when the workspace cannot say: no report, or a
    report written before ingest recorded it (the caller then assumes the agencies' default layouts and says so)."""
    reports = _reports(workspace)
    if not reports:
        return None
    out = set()
    for _, report in reports:
        flag = report.get("famille_payments_on_member_lines")
        if flag is None:
            return None
        if flag:
            out.add(str(report["agency"]))
    return frozenset(out)


def run_entitlements(workspace: Path, month: dt.date, out: Path, *, backend: str = "polars",
                     config: CoreConfig | None = None) -> dict[str, Path]:
    """Evaluate the configured targets for ``month`` on ``workspace`` (``missing_inputs="error"``: every
    input comes from the core, central values for unknowns) and write the results, provenance, unknowns
    and a JSON summary (counts, conflicts, tables absent) under ``out``."""
    from nonrecours.engine import evaluate

    config = workspace_core_config(workspace, config)
    tables = scan_workspace(workspace)
    core = build_month(tables, month, config=config)
    result = evaluate(list(config.targets), core.inputs, month, backend=backend)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tag = f"{month:%Y-%m}"
    paths = {"entitlements": out / f"entitlements-{tag}.parquet", "provenance": out / f"provenance-{tag}.parquet",
             "unknowns": out / f"unknowns-{tag}.parquet", "summary": out / f"core-{tag}.json"}
    result["famille"].write_parquet(paths["entitlements"])
    core.provenance.write_parquet(paths["provenance"])
    core.unknowns.write_parquet(paths["unknowns"])
    from nonrecours.schemas import TABLES

    summary = {
        "month": tag, "backend": backend, "counts": core.counts,
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
