"""Compare ``simulate`` output with reference amounts (the OpenFisca-France cases) field by field.

Amounts agree within 1 euro, booleans must be equal. The report gives, per field, the share of
situations that agree and the list of disagreements; ``documented_disagreements`` reads the table of
``docs/oracle_disagreements.md`` so a test can require every disagreement to be explained there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nonrecours.rules.benefits import SIMULATED_OUTPUTS

__all__ = ["Disagreement", "OracleReport", "compare", "documented_disagreements"]

FIELDS: tuple[str, ...] = SIMULATED_OUTPUTS
TOLERANCE = 1.0


@dataclass(frozen=True, slots=True)
class Disagreement:
    id: str
    field: str
    ours: Any
    expected: Any


@dataclass
class OracleReport:
    """Agreement per field over ``n`` situations (a situation missing from our output disagrees)."""

    n: int
    disagreements: list[Disagreement] = field(default_factory=list)

    def count(self, fld: str) -> int:
        return sum(d.field == fld for d in self.disagreements)

    def agreement(self, fld: str) -> float:
        return 1.0 - self.count(fld) / self.n if self.n else 1.0

    def summary(self) -> dict[str, dict[str, float | int]]:
        return {f: {"agree": self.n - self.count(f), "n": self.n, "rate": round(self.agreement(f), 4)}
                for f in FIELDS}


def _agree(ours: Any, expected: Any) -> bool:
    if isinstance(expected, bool) or isinstance(ours, bool):
        return bool(ours) == bool(expected)
    return abs(float(ours) - float(expected)) <= TOLERANCE + 1e-9


def compare(records: Iterable[Mapping[str, Any]], cases: Sequence[Mapping[str, Any]],
            fields: Sequence[str] = FIELDS) -> OracleReport:
    """Compare our records (``simulate`` JSON) with ``cases`` (``{"situation": ..., "expected": ...}``)."""
    ours = {r["id"]: r for r in records}
    report = OracleReport(n=len(cases))
    for case in cases:
        sid = case["situation"]["id"]
        expected = case["expected"]
        mine = ours.get(sid)
        for fld in fields:
            if mine is None:
                report.disagreements.append(Disagreement(sid, fld, None, expected[fld]))
            elif not _agree(mine[fld], expected[fld]):
                report.disagreements.append(Disagreement(sid, fld, mine[fld], expected[fld]))
    return report


_ROW = re.compile(r"^\|\s*`?(?P<id>[A-Za-z0-9_-]+)`?\s*\|\s*`?(?P<field>[a-z_]+)`?\s*\|")


def documented_disagreements(path: str | Path) -> set[tuple[str, str]]:
    """(situation id, field) pairs listed in the tables of the disagreements document."""
    out: set[tuple[str, str]] = set()
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        m = _ROW.match(line)
        if m and m.group("field") in FIELDS:
            out.add((m.group("id"), m.group("field")))
    return out
