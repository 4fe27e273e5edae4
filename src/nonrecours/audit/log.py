"""The append-only audit log of a run folder: runs, exchanges read, purges, each entry chained by HMAC.

``audit/log.jsonl`` holds one JSON entry per line. Each entry carries its sequence number, the MAC of the
entry before it (``prev``) and its own ``mac`` = HMAC-SHA256(audit key, canonical JSON of the entry without
``mac``). ``audit/head.json`` holds the number of entries and the last MAC, itself MACed. So:

- editing an entry breaks its MAC;
- removing or reordering entries breaks a ``seq`` or a ``prev``;
- truncating the log (dropping the last entries) disagrees with the head.

Crash safety: an entry is appended (one write, synced) before the head is rewritten. A crash between the two
leaves valid entries beyond the head, which only the key holder can have written: they are accepted and the
head catches up at the next append. A crash in the middle of the write leaves an unterminated last line
beyond the head: it is dropped at the next append. Fewer entries than the head records is a truncation.

Rolling back the log *and* the head together to an older pair is not detected here; keep a copy of the
head elsewhere (the run's manifest is not enough: it is part of the data folder). The audit key is a secret
of its own (``audit_key`` in run.toml: a key file or an environment variable), never the exchange secret.
Entries name agencies, files, purposes, agreements, key ids and counts: never an identifier or a pseudonym.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nonrecours.atomic import write_json
from nonrecours.errors import AuditError
from nonrecours.privacy.keys import AuditKey

__all__ = ["AuditLog", "Entry", "verify_chain"]

GENESIS = "0" * 64
_FORBIDDEN_KEYS = frozenset({"person_id", "unit_id", "nir", "pseudonym", "token", "name", "secret", "key"})


def _canonical(entry: dict[str, Any]) -> bytes:
    return json.dumps({k: v for k, v in entry.items() if k != "mac"}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, default=str).encode("utf-8")


@dataclass(frozen=True)
class Entry:
    seq: int
    kind: str
    data: dict[str, Any]


class AuditLog:
    """The log of one run folder. ``append`` adds an entry; ``verify`` checks the whole chain."""

    def __init__(self, folder: str | Path, key: AuditKey) -> None:
        self.folder = Path(folder) / "audit"
        self.path = self.folder / "log.jsonl"
        self.head = self.folder / "head.json"
        self.key = key

    def _head_mac(self, entries: int, last: str) -> str:
        return self.key.mac(f"head|{entries}|{last}".encode())

    def append(self, kind: str, data: dict[str, Any], *, now: dt.datetime | None = None) -> dict[str, Any]:
        """Add one entry (after checking the chain so far: a broken log is never extended)."""
        _check_no_identifier(data)
        entries = self.verify()
        self._drop_torn_tail()
        prev = entries[-1]["mac"] if entries else GENESIS
        when = (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
        entry = {"seq": len(entries) + 1, "time": when, "kind": kind, "key_id": self.key.key_id,
                 "prev": prev, **{"data": data}}
        entry["mac"] = self.key.mac(_canonical(entry))
        self.folder.mkdir(parents=True, exist_ok=True)
        line = json.dumps(entry, sort_keys=True, ensure_ascii=False, default=str) + "\n"
        with open(self.path, "a", encoding="utf-8") as fh:  # append-only: one write, synced
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
        write_json(self.head, {"entries": entry["seq"], "last": entry["mac"],
                               "mac": self._head_mac(entry["seq"], entry["mac"])})
        return entry

    def _read(self) -> tuple[list[dict[str, Any]], bool]:
        """The entries, and whether an unterminated, unreadable last line (a torn write) was left out."""
        if not self.path.exists():
            return [], False
        text = self.path.read_bytes().decode("utf-8", errors="replace")
        lines = text.split("\n")
        tail, lines = lines[-1], lines[:-1]  # text after the last newline: empty unless a write was torn
        out = []
        for n, line in enumerate(lines, start=1):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                raise AuditError(f"audit entry {n}: not a JSON entry (edited or truncated)") from None
        return out, bool(tail)

    def entries(self) -> list[dict[str, Any]]:
        return self._read()[0]

    def _drop_torn_tail(self) -> None:
        if self.path.exists():
            data = self.path.read_bytes()
            if data and not data.endswith(b"\n"):
                with open(self.path, "r+b") as fh:
                    fh.truncate(data.rfind(b"\n") + 1)

    def verify(self) -> list[dict[str, Any]]:
        """Return the entries if the chain and the head hold; AuditError names the first broken entry."""
        entries, torn = self._read()  # a torn tail forges nothing: it is dropped at the next append
        verify_chain(entries, self.key)
        if not self.head.exists():
            if len(entries) > 1 or torn:
                raise AuditError("audit head is missing while the log has entries")
            return entries  # none yet, or a crash before the first head was written
        try:
            head = json.loads(self.head.read_text(encoding="utf-8"))
            n, last, mac = int(head["entries"]), str(head["last"]), str(head["mac"])
        except (OSError, ValueError, KeyError, TypeError):
            raise AuditError("audit head is unreadable") from None
        if mac != self._head_mac(n, last):
            raise AuditError("audit head: MAC mismatch (edited, or another audit key)")
        if n > len(entries):
            raise AuditError(f"audit log holds {len(entries)} entries where the head records {n}: "
                             f"entries {len(entries) + 1} to {n} were removed (truncated log)")
        if n and entries[n - 1]["mac"] != last:
            raise AuditError(f"audit entry {n}: is not the entry the head records (replaced log)")
        return entries


def verify_chain(entries: Iterable[dict[str, Any]], key: AuditKey) -> None:
    """Check sequence numbers, links and MACs, in order; AuditError names the first entry that breaks."""
    prev = GENESIS
    for n, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or "mac" not in entry:
            raise AuditError(f"audit entry {n}: malformed")
        if entry.get("seq") != n:
            raise AuditError(f"audit entry {n}: sequence number {entry.get('seq')} where {n} expected "
                             "(an entry was removed or the entries reordered)")
        if entry.get("prev") != prev:
            raise AuditError(f"audit entry {n}: does not follow entry {n - 1} (removed or reordered entries)")
        if key.mac(_canonical(entry)) != entry["mac"]:
            raise AuditError(f"audit entry {n}: MAC mismatch (the entry was edited, or another audit key)")
        prev = entry["mac"]


def _check_no_identifier(data: Any, path: str = "data") -> None:
    if isinstance(data, dict):
        for k, v in data.items():
            if str(k).lower() in _FORBIDDEN_KEYS:
                raise AuditError(f"audit entry field {path}.{k}: identifiers and keys never enter the audit log")
            _check_no_identifier(v, f"{path}.{k}")
    elif isinstance(data, list | tuple):
        for i, v in enumerate(data):
            _check_no_identifier(v, f"{path}[{i}]")
