"""Readable French explanations of one unit's results (filled in below)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nonrecours.engine.evaluate import Result

__all__ = ["explain"]


def explain(result: Result, entity: str, unit_id: Any, *, targets: list[str] | None = None) -> str:
    raise NotImplementedError("explain: coming in the next commit")
