"""Atomic outputs: every file a run writes appears whole or not at all.

A file is written beside its target under a hidden temporary name (``.NAME.partial-PID``), flushed to
disk, then renamed over the target (``os.replace`` is atomic on one file system). A crash or Ctrl-C
leaves at most a ``.partial-`` file, which ``clean_partials`` removes when the run restarts; readers never
see half a file. Writers here are deterministic (no timestamps, sorted keys) so a rerun on the same inputs
gives byte-identical files.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl

__all__ = ["PARTIAL", "atomic_path", "clean_partials", "file_sha256", "write_bytes", "write_json",
           "write_parquet", "write_text"]

PARTIAL = ".partial-"


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it is synced and renamed to ``target``."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}{PARTIAL}{os.getpid()}")
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _sync_dir(target.parent)


def _sync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_bytes(target: str | Path, data: bytes) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def write_text(target: str | Path, text: str) -> Path:
    return write_bytes(target, text.encode("utf-8"))


def write_json(target: str | Path, obj: Any) -> Path:
    """Pretty, sorted, UTF-8 JSON ending with a newline: the same object gives the same bytes."""
    return write_text(target, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n")


def write_parquet(target: str | Path, frame: pl.DataFrame) -> Path:
    with atomic_path(target) as tmp:
        frame.write_parquet(tmp, compression="zstd", statistics=True)
    return Path(target)


def clean_partials(folder: str | Path) -> list[Path]:
    """Remove the temporary files an interrupted run left under ``folder``; return them."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    left = sorted(p for p in folder.rglob(f"*{PARTIAL}*") if p.is_file())
    for p in left:
        p.unlink(missing_ok=True)
    return left


def file_sha256(path: str | Path, *, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, read in chunks (extracts can be large)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()
