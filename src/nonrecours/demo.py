"""The main job on the embedded default: a synthetic territory in a local folder, run end to end.

Each stage that exists runs for real and reports what it wrote; nothing is shown that was not computed.
"""

from __future__ import annotations

import datetime as dt
import json
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


TARGETS = ("rsa", "ppa", "aspa", "css_free", "css_participation", "css_participation_monthly")


def run_demo(out: Path, *, persons: int = 20_000, seed: int = 1, territory: str = "cahors",
             backend: str = "duckdb") -> DemoReport:
    """Build the synthetic territory under ``out`` and run every pipeline stage available on it."""
    from nonrecours.synth import DEFAULT_END_MONTH, generate

    report = DemoReport(out=out)
    paths = generate(persons, seed, out, territory=territory)
    for path in paths.values():
        if path.suffix == ".parquet":
            report.add("synth", path)
    households = pl.read_parquet(paths["households"])
    report.facts.append(("territory", f"{territory}: {households['depcom'].n_unique()} communes, "
                                      f"{households.height} households, {persons} persons"))
    _entitlements(report, paths, DEFAULT_END_MONTH, backend)
    return report


def _entitlements(report: DemoReport, paths: dict[str, Path], month: dt.date, backend: str) -> None:
    """Evaluate the benefit rules on the true situations of ``month`` (what each famille is entitled to)."""
    from nonrecours.core import build_inputs
    from nonrecours.engine import evaluate

    tables = {name: pl.scan_parquet(paths[name])
              for name in ("persons", "unit_memberships", "resources", "benefits_paid", "housing")}
    result = evaluate(list(TARGETS), build_inputs(tables, month), month, backend=backend, missing_inputs="default")
    rules_dir = report.out / "rules"
    rules_dir.mkdir(parents=True, exist_ok=True)
    target = rules_dir / f"entitlements-{month:%Y-%m}.parquet"
    result["famille"].write_parquet(target)
    report.add("rules", target)
    bindings = rules_dir / f"parameters-{month:%Y-%m}.json"
    bindings.write_text(json.dumps(result.bindings_manifest(), indent=2, default=str) + "\n")
    report.outputs.append(("rules", bindings, 0))
    fam = result["famille"]
    for benefit in ("rsa", "ppa", "aspa"):
        paid = fam.filter(pl.col(benefit) > 0)
        report.facts.append((f"{benefit} {month:%Y-%m} ({backend})",
                             f"{paid.height} of {fam.height} familles entitled, "
                             f"{paid[benefit].sum():,.2f} EUR for the month"))
    for benefit in ("css_free", "css_participation"):
        report.facts.append((f"{benefit} {month:%Y-%m} ({backend})",
                             f"{fam.filter(pl.col(benefit)).height} of {fam.height} familles eligible"))
