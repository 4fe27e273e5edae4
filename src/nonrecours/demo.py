"""The main job on the embedded default: a synthetic territory in a local folder, run end to end.

Each stage that exists runs for real and reports what it wrote; nothing is shown that was not computed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

__all__ = ["DemoReport", "run_demo"]


@dataclass
class DemoReport:
    """What the demo wrote: one entry per output file (stage, path, rows)."""

    out: Path
    outputs: list[tuple[str, Path, int]] = field(default_factory=list)
    facts: list[tuple[str, str]] = field(default_factory=list)

    def add(self, stage: str, path: Path) -> None:
        rows = pl.scan_parquet(path).select(pl.len()).collect().item() if path.suffix == ".parquet" else 0
        self.outputs.append((stage, path, rows))


def run_demo(out: Path, *, persons: int = 20_000, seed: int = 1, territory: str = "cahors") -> DemoReport:
    """Build the synthetic territory under ``out`` and run every pipeline stage available on it."""
    from nonrecours.synth import generate

    report = DemoReport(out=out)
    paths = generate(persons, seed, out, territory=territory)
    for path in paths.values():
        if path.suffix == ".parquet":
            report.add("synth", path)
    households = pl.read_parquet(paths["households"])
    report.facts.append(("territory", f"{territory}: {households['depcom'].n_unique()} communes, "
                                      f"{households.height} households, {persons} persons"))
    return report
