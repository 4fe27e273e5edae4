"""Checks of a run folder: the audit chain, the manifest, the outputs; and retention (expired, purge).

``verify_run`` checks the log's chain and head, that the manifest is the one the last run recorded, that
every output still has the hash the manifest gives (outputs purged for retention, as the log records,
are expected to be gone), and that no file was added beside them. ``expired`` lists the outputs older than
the agreement's retention period (age counted from the last run that wrote them, as the log records it);
``purge`` removes them and records it.
"""

from __future__ import annotations

import datetime as dt
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
    retention_days: int


def expired(folder: str | Path, *, as_of: dt.datetime | None = None,
            key: KeySource | None = None) -> list[Expired]:
    """Outputs of the last run older than the agreement's retention period on ``as_of`` (default: now)."""
    folder = Path(folder)
    entries = open_log(folder, key).verify()
    _, last = _last_run(entries)
    written = dt.datetime.fromisoformat(last["time"])
    days = int(read_manifest(folder)["agreement"]["retention_days"])
    now = as_of or dt.datetime.now(dt.UTC)
    if now - written <= dt.timedelta(days=days):
        return []
    return [Expired(item["path"], written, days) for item in read_manifest(folder)["outputs"]
            if (folder / item["path"]).exists()]


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
