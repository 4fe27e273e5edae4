"""The main job on the embedded default: a synthetic territory in a local folder, run end to end.

1. ``truth/``: the synthetic territory's true situations (``nonrecours.synth``);
2. ``extracts/``: the six agencies' native extracts written from the truth, with noise, benefits paid
   after a take-up draw (``nonrecours.synth.extracts``);
3. ``workspace/``: each extract ingested, validated, quarantined and pseudonymised under an exchange
   agreement (``nonrecours.connectors``);
4. ``rules/``: the benefit rules evaluated on the DuckDB engine from the pseudonymised workspace alone
   (``nonrecours.core`` + ``nonrecours.engine``), with the parameter values used.
Every stage runs for real and reports what it wrote; nothing is shown that was not computed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

__all__ = ["TARGETS", "DemoReport", "run_demo"]

TARGETS = ("rsa", "ppa", "aspa", "css_free", "css_participation", "css_participation_monthly")
SECRET_ENV = "NONRECOURS_EXCHANGE_SECRET"
_CANONICAL = ("persons", "unit_memberships", "resources", "benefits_paid", "housing")


@dataclass
class DemoReport:
    """What the demo wrote: one entry per output file (stage, path, rows) and computed facts."""

    out: Path
    outputs: list[tuple[str, Path, int]] = field(default_factory=list)
    facts: list[tuple[str, str]] = field(default_factory=list)

    def add(self, stage: str, path: Path) -> None:
        rows = pl.scan_parquet(path).select(pl.len()).collect().item() if path.suffix == ".parquet" else 0
        self.outputs.append((stage, path, rows))


def run_demo(out: Path, *, persons: int = 20_000, seed: int = 1, territory: str = "cahors",
             backend: str = "duckdb") -> DemoReport:
    """Build the synthetic territory under ``out`` and run every pipeline stage available on it."""
    from nonrecours.synth import DEFAULT_END_MONTH, generate

    out = Path(out)
    report = DemoReport(out=out)
    paths = generate(persons, seed, out, territory=territory)
    for path in paths.values():
        if path.suffix == ".parquet":
            report.add("synth", path)
    households = pl.read_parquet(paths["households"])
    report.facts.append(("territory", f"{territory}: {households['depcom'].n_unique()} communes, "
                                      f"{households.height} households, {persons} persons"))
    extracts = _extracts(report, out, seed)
    workspace = _ingest(report, out, extracts)
    _entitlements(report, workspace, DEFAULT_END_MONTH, backend)
    return report


def _extracts(report: DemoReport, out: Path, seed: int) -> dict[str, Path]:
    from nonrecours.synth.extracts import write_extracts

    paths = write_extracts(out / "truth", out / "extracts", seed=seed, entitlements="rules")
    for path in paths.values():
        report.outputs.append(("extracts", path, 0))
    take_up = out / "truth" / "take_up.parquet"
    if take_up.exists():
        report.add("extracts", take_up)
    return {a: p for a, p in paths.items() if p.suffix != ".json"}


def _agreement(out: Path) -> Path:
    """The exchange agreement of the default mappings, its secret from the environment or a key file.

    Without ``NONRECOURS_EXCHANGE_SECRET``, a random secret is written to ``keys/exchange.key`` (mode 600)
    and the agreement points at that file: the secret is never in code, output or logs.
    """
    from importlib import resources

    from nonrecours.privacy import write_secret_file

    template = resources.files("nonrecours.connectors").joinpath("exchange.toml").read_text()
    agreement = out / "exchange.toml"
    if os.environ.get(SECRET_ENV):
        agreement.write_text(template)
        return agreement
    keys = out / "keys"
    keys.mkdir(mode=0o700, exist_ok=True)
    key_file = keys / "exchange.key"
    if not key_file.exists():
        write_secret_file(key_file)
    agreement.write_text(template.replace(f'secret = {{ env = "{SECRET_ENV}" }}',
                                          'secret = { file = "keys/exchange.key" }'))
    return agreement


def _ingest(report: DemoReport, out: Path, extracts: dict[str, Path]) -> Path:
    from nonrecours.connectors import ingest_extract

    agreement = _agreement(out)
    workspace = out / "workspace"
    lines = []
    for agency, path in extracts.items():
        r = ingest_extract(agency, path, agreement, workspace)
        lines.append(f"{agency} {r.rows_read:,} read = {r.rows_accepted:,} accepted + "
                     f"{r.rows_quarantined:,} quarantined")
    for path in sorted(workspace.rglob("*.parquet")):
        report.add("ingest", path)
    report.facts.append(("ingest", "; ".join(lines)))
    return workspace


def _entitlements(report: DemoReport, workspace: Path, month: dt.date, backend: str) -> None:
    """Evaluate the benefit rules for ``month`` on the pseudonymised workspace (agencies' data only)."""
    from nonrecours.core import build_inputs
    from nonrecours.engine import evaluate

    tables = {name: pl.scan_parquet(sorted((workspace / name).glob("*.parquet")))
              for name in _CANONICAL if (workspace / name).is_dir()}
    result = evaluate(list(TARGETS), build_inputs(tables, month), month, backend=backend)
    rules_dir = report.out / "rules"
    rules_dir.mkdir(parents=True, exist_ok=True)
    target = rules_dir / f"entitlements-{month:%Y-%m}.parquet"
    result["famille"].write_parquet(target)
    report.add("rules", target)
    bindings = rules_dir / f"parameters-{month:%Y-%m}.json"
    bindings.write_text(json.dumps(result.bindings_manifest(), indent=2, default=str) + "\n")
    report.outputs.append(("rules", bindings, 0))
    fam = result["famille"]
    paid = (tables["benefits_paid"].filter(pl.col("month") == month)
            .group_by(pl.col("benefit").cast(pl.String)).agg(pl.len().alias("n")).collect())
    paid_n = dict(paid.iter_rows())
    for benefit in ("rsa", "ppa", "aspa"):
        entitled = fam.filter(pl.col(benefit) > 0)
        report.facts.append((f"{benefit} {month:%Y-%m} ({backend})",
                             f"{entitled.height:,} of {fam.height:,} familles entitled by the rules "
                             f"({entitled[benefit].sum():,.2f} EUR); {paid_n.get(benefit, 0):,} payments "
                             "in the extracts"))
    for benefit in ("css_free", "css_participation"):
        report.facts.append((f"{benefit} {month:%Y-%m} ({backend})",
                             f"{fam.filter(pl.col(benefit)).height:,} of {fam.height:,} familles eligible; "
                             f"{paid_n.get(benefit, 0):,} people covered in the extracts"))
