"""The run manifest (``manifest.json``): what a run read, under which terms, how, and what it wrote.

Package version, configuration hash, each input file's hash and size, the exchange agreement and its
purpose and retention, key ids (never keys), the parameter values bound per month with their legal
references, row counts per stage, quarantine and exclusion counts, and each output with its hash and size.
No timestamp: a rerun of the same configuration on the same inputs writes the same bytes (the audit log
says when). Paths are relative to the run folder, so a folder can be moved and still verified.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

from nonrecours.atomic import file_sha256
from nonrecours.errors import AuditError

__all__ = ["MANIFEST", "describe_file", "read_manifest", "relative", "unlisted", "verify_outputs"]

MANIFEST = "manifest.json"


def relative(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` when inside it (POSIX separators), else absolute."""
    try:
        return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return str(Path(path).resolve())


def describe_file(path: Path, root: Path, **extra: Any) -> dict[str, Any]:
    """A file's place, size and SHA-256, plus ``extra`` (rows, agency...)."""
    return {"path": relative(path, root), "size": Path(path).stat().st_size, "sha256": file_sha256(path), **extra}


def unlisted(folder: Path, listed: list[str]) -> list[Path]:
    """The files of the folders holding a run's outputs (``rules``, ``detection/YYYY-MM``, ``outputs/YYYY-MM``...:
    each folder of a path in ``listed``, relative to ``folder``) that ``listed`` does not name. The workspace's
    folders are not the run's alone: ingest adds to them extract by extract."""
    names = set(listed)
    return [path for sub in sorted({Path(p).parent for p in listed if Path(p).parts[0] != "workspace"})
            if (folder / sub).is_dir() for path in sorted((folder / sub).iterdir())
            if path.is_file() and (sub / path.name).as_posix() not in names]


def read_manifest(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AuditError(f"{path}: no manifest (not a run folder, or the run did not finish)") from None
    except (OSError, ValueError):
        raise AuditError(f"{path}: unreadable manifest") from None


def verify_outputs(folder: str | Path, *, purged: Collection[str] = (),
                   manifest: dict[str, Any] | None = None) -> int:
    """Check every output listed in the manifest (``manifest``, read from ``folder`` unless given) against its size
    and hash; return how many were checked. An output in ``purged`` (removed by a purge the audit log records) may
    be missing, and is then not counted.

    AuditError names the first file missing or changed."""
    folder = Path(folder)
    if manifest is None:
        manifest = read_manifest(folder)
    checked = 0
    for item in manifest.get("outputs", []):
        path = folder / item["path"]
        if item["path"] in purged and not path.exists():
            continue
        if not path.is_file():
            raise AuditError(f"output {item['path']}: listed in the manifest, missing on disk")
        if path.stat().st_size != item["size"] or file_sha256(path) != item["sha256"]:
            raise AuditError(f"output {item['path']}: its content differs from the manifest's hash (changed)")
        checked += 1
    return checked
