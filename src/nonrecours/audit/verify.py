"""Checks of a run folder: the audit chain, the manifest, the outputs; and retention (expired, purge).

``verify_run`` checks the log's chain and head, that the manifest is the one the last run recorded, that
every output still has the hash the manifest gives (outputs purged for retention, as the log records,
are expected to be gone), and that no file was added beside them. ``expired`` lists the outputs past the
agreement's retention period (counted from the extract dates: a workspace file's own, the run's earliest for
the rest); ``purge`` removes them and records it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nonrecours.atomic import file_sha256
from nonrecours.audit.log import AuditLog
from nonrecours.audit.manifest import MANIFEST, read_manifest, relative, unlisted, verify_outputs
from nonrecours.errors import AuditError, ConfigError
from nonrecours.privacy.keys import AuditKey, KeySource, load_secret

__all__ = ["Expired", "expired", "open_log", "purge", "verify_run"]


def open_log(folder: str | Path, key: KeySource | None = None) -> AuditLog:
    """The folder's audit log under its key: ``key`` or the source the manifest names (file or variable)."""
    folder = Path(folder)
    if not (folder / MANIFEST).exists() and not (folder / "audit" / "log.jsonl").exists():
        raise ConfigError(f"{folder}: not a run folder (no manifest.json, no audit/log.jsonl)")
    if key is None:
        src = read_manifest(folder)["keys"]["audit_key_source"]
        if "file" in src:
            path = Path(src["file"])
            key = KeySource(file=path if path.is_absolute() else folder / path)
        else:
            key = KeySource(env=src["env"])
    return AuditLog(folder, AuditKey(load_secret(key)))


def _last_run(entries: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    runs = [(i, e) for i, e in enumerate(entries) if e["kind"] == "run"]
    if not runs:
        raise AuditError("the audit log records no finished run")
    return runs[-1]


def verify_run(folder: str | Path, key: KeySource | None = None) -> dict[str, int]:
    """Chain, manifest and outputs; AuditError names the entry or the file that broke."""
    folder = Path(folder)
    audit = open_log(folder, key)
    entries = audit.verify()
    index, last = _last_run(entries)
    if file_sha256(folder / MANIFEST) != last["data"]["manifest_sha256"]:
        raise AuditError(f"{MANIFEST}: differs from the one recorded by the last run (audit entry {last['seq']})")
    purged = {p for e in entries[index + 1:] if e["kind"] == "purge" for p in e["data"]["paths"]}
    manifest = read_manifest(folder)
    checked = verify_outputs(folder, purged=purged, manifest=manifest)
    # a file beside the outputs the manifest does not list: an outreach list slipped into the run's month folder
    # would otherwise pass for one of its outputs
    added = unlisted(folder, [item["path"] for item in manifest["outputs"]])
    if added:
        raise AuditError(f"{relative(added[0], folder)}: in a folder of the run's outputs but not in its manifest "
                         "(added after the run, or not written by it)")
    return {"entries": len(entries), "outputs": checked, "purged": len(purged)}


@dataclass(frozen=True)
class Expired:
    path: str
    written: dt.datetime
    """When its retention period started: the date of the extract it holds (a workspace file), else the earliest
    extract date of the run (every other output is made from all of them)."""
    retention_days: int


def _extract_dates(folder: Path, manifest: dict[str, Any]) -> tuple[dict[str, dt.date], dt.date | None]:
    """The extract date of each workspace file's extract (``<table>/<agency>-<extract_id>``, from the ingest reports
    the workspace keeps), and the earliest extract date of the files the run read (the manifest's quarantine)."""
    per_extract: dict[str, dt.date] = {}
    for report in (folder / "workspace" / "reports").glob("*.json"):
        try:
            per_extract[report.stem] = dt.date.fromisoformat(json.loads(report.read_text())["extract_date"])
        except (OSError, ValueError, KeyError, TypeError):  # read as the run's earliest below
            continue
    dates = [dt.date.fromisoformat(q["extract_date"]) for q in manifest.get("quarantine", {}).values()
             if isinstance(q, dict) and q.get("extract_date")]
    return per_extract, (min(dates) if dates else None)


def expired(folder: str | Path, *, as_of: dt.datetime | None = None,
            key: KeySource | None = None) -> list[Expired]:
    """Outputs past the agreement's retention period on ``as_of`` (default: now). The period starts at the extract
    date (docs/connectors/README.md: exchanged data may be kept ``retention_days`` from its extraction): a workspace
    file's at its own extract's, every other output at the run's earliest extract's, whatever day the run was made
    (it counted from the last run, so a rerun started the clock again: found probing the monthly operations from
    the docs alone, 5 December 2026). A run whose manifest records no extract date counts from that run."""
    folder = Path(folder)
    entries = open_log(folder, key).verify()
    _, last = _last_run(entries)
    ran = dt.datetime.fromisoformat(last["time"])
    manifest = read_manifest(folder)
    days = int(manifest["agreement"]["retention_days"])
    per_extract, earliest = _extract_dates(folder, manifest)
    now = as_of or dt.datetime.now(dt.UTC)
    out = []
    for item in manifest["outputs"]:
        if not (folder / item["path"]).exists():
            continue
        parts = Path(item["path"]).parts
        own = per_extract.get(Path(parts[-1]).stem) if parts[0] == "workspace" and len(parts) == 3 else None
        start = own or earliest
        written = ran if start is None else dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC)
        if now - written > dt.timedelta(days=days):
            out.append(Expired(item["path"], written, days))
    return out


def purge(folder: str | Path, *, as_of: dt.datetime | None = None, key: KeySource | None = None) -> list[Expired]:
    """Remove the expired outputs and record the purge (paths, count, retention) in the audit log."""
    folder = Path(folder)
    gone = expired(folder, as_of=as_of, key=key)
    if not gone:
        return []
    for item in gone:
        (folder / item.path).unlink(missing_ok=True)
    open_log(folder, key).append("purge", {"paths": [g.path for g in gone], "files": len(gone),
                                           "retention_days": gone[0].retention_days,
                                           "written": gone[0].written.isoformat()}, now=as_of)
    return gone
