"""The main job on the embedded default: a synthetic territory in a local folder, run by ``nonrecours run``.

1. ``truth/``: the synthetic territory's true situations (``nonrecours.synth``);
2. ``extracts/``: the six agencies' native extracts written from the truth, with noise, benefits paid
   after a take-up draw (``nonrecours.synth.extracts``);
3. ``exchange.toml``, ``keys/``, ``run.toml``: the exchange agreement of the default mappings, its key files
   and the run configuration, as a data team would write them;
4. the batch job itself (``nonrecours.run``) on that configuration, in the same folder: ``workspace/``
   (ingested, quarantined, pseudonymised), ``rules/``, then detection and outputs when available,
   ``manifest.json`` and the audit log.
Every stage runs for real and reports what it wrote; nothing is shown that was not computed.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from nonrecours.schemas.benefits import ASKED, CATALOGUE

__all__ = ["DemoReport", "run_demo", "write_run_config"]

SECRET_ENV = "NONRECOURS_EXCHANGE_SECRET"


@dataclass
class DemoReport:
    """What the demo wrote: one entry per output file (stage, path, rows or None) and computed facts."""

    out: Path
    outputs: list[tuple[str, Path, int | None]] = field(default_factory=list)
    facts: list[tuple[str, str]] = field(default_factory=list)

    def add(self, stage: str, path: Path, rows: int | None = None) -> None:
        if rows is None and path.suffix == ".parquet":
            rows = int(pl.scan_parquet(path).select(pl.len()).collect().item())
        self.outputs.append((stage, path, rows))


def _agreement(out: Path, report: DemoReport) -> Path:
    """The exchange agreement of the default mappings, its secret from the environment or a key file.

    Without ``NONRECOURS_EXCHANGE_SECRET``, a random secret is written to ``keys/exchange.key`` (mode 600)
    and the agreement points at that file: the secret is never in code, output or logs. Likewise each
    contacting agency's own return-token secret (``keys/<agency>-return.key``), the ``--key`` of
    ``nonrecours outreach open``.
    """
    from importlib import resources

    from nonrecours.atomic import write_text
    from nonrecours.privacy import write_secret_file

    template = resources.files("nonrecours.connectors").joinpath("exchange.toml").read_text()
    agreement = out / "exchange.toml"
    keys = out / "keys"
    keys.mkdir(mode=0o700, exist_ok=True)
    # each contacting agency's own secret (opens its outreach rows' tokens): its variable, else a key file
    for agency, env in re.findall(r'^\[agencies\.(\w+)\]\s*\n(?:#.*\n)*return_token_key = \{ env = "(\w+)" \}',
                                  template, flags=re.M):
        if os.environ.get(env):
            continue
        own = keys / f"{agency}-return.key"
        if not own.exists():
            write_secret_file(own)
        report.add("config", own)
        template = template.replace(f'return_token_key = {{ env = "{env}" }}',
                                    f'return_token_key = {{ file = "keys/{agency}-return.key" }}')
    if os.environ.get(SECRET_ENV):
        write_text(agreement, template)
    else:
        key_file = keys / "exchange.key"
        if not key_file.exists():
            write_secret_file(key_file)
        report.add("config", key_file)
        write_text(agreement, template.replace(f'secret = {{ env = "{SECRET_ENV}" }}',
                                               'secret = { file = "keys/exchange.key" }'))
    report.add("config", agreement)
    audit_key = keys / "audit.key"
    if not audit_key.exists():
        write_secret_file(audit_key)
    report.add("config", audit_key)
    return agreement


def _private(*folders: Path) -> None:
    """The synthetic names, NIRs and addresses readable by their owner only (folders 700, files 600), as real
    extracts would be: they were left 644 beside keys of 600 (an outside tester, 7 December 2026)."""
    for folder in folders:
        folder.chmod(0o700)
        for path in folder.rglob("*"):
            path.chmod(0o700 if path.is_dir() else 0o600)


def write_run_config(out: Path, extracts: dict[str, Path], month: str, backend: str, *,
                     ablation: bool = True, extract_date: dt.date | None = None) -> Path:
    """The run.toml a data team would write for these extracts (paths relative to ``out``); ``ablation``:
    answer 1's value of each exchange measured in the run, against the synthetic truth (``truth/``).

    ``extract_date``: the day the extracts were made, stated for each agency whose layout carries no date of its
    own (no header record), as a data team that knows it would: the file's modification date (a copy's) is then
    never used. Without it, those extracts fall back to the file date, with a warning."""
    from nonrecours.atomic import write_text
    from nonrecours.connectors import default_mapping

    lines = [
        "# nonrecours run configuration, written by `nonrecours demo` (see nonrecours.config).",
        f'first_month = "{month}"',
        "benefits = [" + ", ".join(f'"{a}"' for a in ASKED) + "]",
        f'backend = "{backend}"',
        'memory_limit = "2GB"',
        'spill_dir = "spill"',
        'output = "."',
        'exchange = "exchange.toml"',
        'audit_key = { file = "keys/audit.key" }',
        "",
        "[thresholds]",
        "under_payment = 0.2",
        "suppression = 11",
        "",
        "[thresholds.exclusion_months]",
        *[f"{a} = {m}" for a, m in {b.asked: b.exclusion_months for b in CATALOGUE}.items()],
    ]
    if ablation:
        lines += ["", "# answer 1: detection rerun without each agency; the synthetic truth gives precision and recall",
                  "[ablation]", "enabled = true",
                  "backend = \"polars\"  # several times faster than DuckDB at the demo's size", 'truth = "truth"']
    for agency, path in extracts.items():
        lines += ["", f"[agencies.{agency}]", f'files = ["{path.relative_to(out).as_posix()}"]']
        if extract_date is not None and default_mapping(agency).extract_date_from is None:
            lines.append(f"extract_date = {extract_date.isoformat()}")
    return write_text(out / "run.toml", "\n".join(lines) + "\n")


def run_demo(out: Path, *, persons: int = 20_000, seed: int = 1, territory: str = "cahors",
             backend: str = "duckdb", without: tuple[str, ...] = (), truth_engine: str = "rules",
             oracle: object | None = None, ablation: bool = True) -> DemoReport:
    """Build the synthetic territory under ``out``, write its run.toml, and run the batch job on it.

    ``without`` names agencies whose extract is written but left out of the run (to measure what an extract
    brings, e.g. the DRM's monthly resources: issue 12). ``truth_engine``: what labels the truth's entitlement
    (``rules``, or ``openfisca`` through ``oracle``, an ``OpenFiscaProcess``: the score then measures the rules
    too). ``ablation``: measure the value of each exchange in the run (``[ablation]``: eight more core and
    detection passes, against the truth)."""
    from nonrecours.config import load_config
    from nonrecours.progress import stage
    from nonrecours.run import run
    from nonrecours.synth import DEFAULT_END_MONTH, generate, tax_window
    from nonrecours.synth.extracts import Noise, extract_date, write_extracts

    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    report = DemoReport(out=out)
    with stage(f"synth: {persons:,} persons ({territory})"):
        # income years N-3 to N-1 in full: the DGFiP extract carries them (the core reads N-2 as observed)
        paths = generate(persons, seed, out, territory=territory, months=tax_window(DEFAULT_END_MONTH))
    for path in paths.values():
        report.add("synth", path)
    households = pl.read_parquet(paths["households"])
    report.facts.append(("territory", f"{territory}: {households['depcom'].n_unique()} communes, "
                                      f"{households.height:,} households, {persons:,} persons"))
    with stage("extracts: the six agencies' extracts"):
        # 13 months: the CSS reads the 12 months before the evaluated month (CSS art. R861-8), on top of the
        # evaluated month's own rows; with 12, every CSS resource base misses a month (measured at 20,000
        # persons: CSS-with-participation precision 52.7 % with 12 months, 81.7 % with 13)
        written = write_extracts(out / "truth", out / "extracts", seed=seed,
                                 entitlements=truth_engine,  # type: ignore[arg-type]
                                 noise=Noise(months=13), oracle=oracle)
    _private(out / "truth", out / "extracts")
    unknown = set(without) - set(written)
    if unknown:
        raise ValueError(f"--without names no written extract: {sorted(unknown)} (written: {sorted(written)})")
    extracts = {a: p for a, p in written.items() if p.suffix != ".json" and a not in without}
    _agreement(out, report)
    # the extracts are dated the day they were made: the layouts without a header date get it from run.toml
    config = write_run_config(out, extracts, f"{DEFAULT_END_MONTH:%Y-%m}", backend, ablation=ablation,
                              extract_date=extract_date(DEFAULT_END_MONTH))
    report.add("config", config)
    result = run(load_config(config))
    manifest = __import__("json").loads(result.manifest.read_text())
    read = {key.split("/", 1)[1]: q["rows_read"] for key, q in manifest["quarantine"].items()}
    for path in written.values():
        report.add("extracts", path, read.get(path.name))
    for name in ("take_up", "claims", "opt_outs", "jobseekers"):  # what the extract writer draws is truth too
        if (out / "truth" / f"{name}.parquet").exists():
            report.add("extracts", out / "truth" / f"{name}.parquet")
    for stage_name, path, rows in result.outputs():
        report.add(stage_name, path, rows)
    for name in (".nonrecours-run.json", "manifest.json", "audit/log.jsonl", "audit/head.json", "run.log"):
        report.add("audit", out / name)
    report.facts += _facts(out, manifest, result)
    _evaluation(report, manifest)
    return report


def _evaluation(report: DemoReport, manifest: dict) -> None:
    """The synthetic truth is known here: score each month's detection against it (``nonrecours evaluate``)."""
    from nonrecours.detection.evaluate import evaluate_run, render_markdown, write_evaluation
    from nonrecours.detection.stage import summary_facts

    out = report.out
    for month in manifest["config"]["months"]:
        run_dir = out / "detection" / month
        if not (run_dir / "summary.json").exists():
            continue
        report.facts += summary_facts(__import__("json").loads((run_dir / "summary.json").read_text()))
        score = evaluate_run(run_dir, out / "truth", out / "exchange.toml")
        for path in write_evaluation(score, out / "evaluation" / month).values():
            report.add("evaluation", path)
        report.facts.append((f"evaluation {month} against the synthetic truth", "\n" + render_markdown(score)))


def _facts(out: Path, manifest: dict, result: object) -> list[tuple[str, str]]:
    facts = [("ingest", "; ".join(f"{key.split('/')[0]} {q['rows_read']:,} read = {q['rows_accepted']:,} "
                                  f"accepted + {q['rows_quarantined']:,} quarantined"
                                  for key, q in manifest["quarantine"].items()))]
    paid = (pl.scan_parquet(sorted((out / "workspace" / "benefits_paid").glob("*.parquet")))
            .group_by(pl.col("benefit").cast(pl.String), "month").agg(pl.len().alias("n")).collect())
    backend = manifest["config"]["backend"]
    for month in manifest["config"]["months"]:
        fam = pl.read_parquet(out / "rules" / f"entitlements-{month}.parquet")
        paid_n = {b: n for b, m, n in paid.iter_rows() if f"{m:%Y-%m}" == month}
        for b in CATALOGUE:
            if b.rule not in fam.columns:
                continue
            if b.kind == "amount":
                entitled = fam.filter(pl.col(b.rule) > 0)
                per = "a year" if b.yearly else "a month"
                facts.append((f"{b.code} {month} ({backend})",
                              f"{entitled.height:,} of {fam.height:,} familles entitled by the rules "
                              f"({entitled[b.rule].sum():,.2f} EUR {per}); {paid_n.get(b.code, 0):,} "
                              "payments in the extracts"))
            else:
                facts.append((f"{b.code} {month} ({backend})",
                              f"{fam.filter(pl.col(b.rule)).height:,} of {fam.height:,} familles eligible; "
                              f"{paid_n.get(b.code, 0):,} people covered in the extracts"))
    for info in manifest["stages"]:
        if info["status"] != "done":
            facts.append((info["name"], f"{info['status']}: {info['note']}"))
    return facts
