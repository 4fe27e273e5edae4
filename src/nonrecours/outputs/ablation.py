"""The value of each exchange, measured: detection rerun on the workspace without each agency's data.

Answer 1 of the experiment says which agreement to sign. ``exchange_value`` (``outputs.answers``) compares
detection with every agency, without each one and with the CAF alone; this module gives it the real pipeline:
the run's workspace without the files of the agencies left out (each table file is one agency's extract:
a table only they wrote is then absent, so what only they report is unknown, exactly as in a run their
extract never reached), then the core (``core.build_month``) and detection (``detection.detect``) again. The run
with every agency is not recomputed: its flags are the ones the detection stage wrote. Each other scenario
changes the core's inputs, so the core and detection run again, nothing else (no ingest, no outputs).

Reference for precision and recall: the synthetic truth when there is one (``truth_non_take_up``: the adults
of every famille the truth says does not take a benefit up, pseudonymised under the run's key), else the full
run's flags (then "recall" is the share of the full run's flags a scenario keeps, and what a real agency reads
is the flags lost and gained and the monthly amounts they carry).

In a run, ``run_stage`` is the ``ablation`` stage (``[ablation] enabled = true`` in run.toml): after detection,
before the outputs stage, it writes the table as measured, its hidden counts with it, to
``detection/YYYY-MM/exchange_value.parquet`` (``RAW_EXCHANGE_VALUE``, beside the flags: never published), logs
one audit entry per month, and stores each scenario's flags (``write_scenarios``). The outputs stage publishes it
as ``outputs/YYYY-MM/answer1_exchange_value`` under the statistics' secrecy (``answers.secret_answers``: it
published counts of 1 to 10 flags lost or gained, and the figures of benefits the statistics keep secret).
``nonrecours ablation`` calls the same ``ablation_month`` on a finished run, reusing those flags while the
workspace is unchanged (``stored_scenarios``).

Why the core is rebuilt for each scenario rather than reused: it chooses among sources per agency over the
whole population (an agency's resource window, the DRM as exhaustive source when present), so a core without
an agency is not the full core with that agency's values removed. Each scenario's rerun is faithful; the
workspace is reused (no ingest), and the run with every agency reuses the detection stage's flags.

What is shared without changing a flag: the engine's plan (built once per targets and month), and, in a small
run, the rule evaluation: every scenario's core is built apart, then all their variants of the unknowns go
through the engine in one stacked evaluation (``detection.detect_many``; each unit is computed from its own
rows, so stacking after the core gives each scenario its own flags, unlike stacking the extracts before it).
On the 1,500-person demo: 21 s CPU instead of 283, the same table (``benchmarks/results/ablation.json``).
Not done in a scenario's rerun: naming each flag's decisive unknowns (``scenario_config``), which the table never
reads (Polars, the 1,500-person quick run: 74.7 → 48.2 CPU s, the same table:
``benchmarks/results/ablation_without_decisive.json``; one scenario at 100,000 persons: 278 → 219 CPU s,
``ablation_scenario_100k.json``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import polars as pl

from nonrecours.outputs.answers import CONTRIBUTING, EXCHANGE_VALUE, exchange_value
from nonrecours.schemas.benefits import benefit as catalogue_row
from nonrecours.schemas.tables import valid_on

__all__ = ["EXCHANGE_VALUE", "RAW_EXCHANGE_VALUE", "ablation_detection", "ablation_month", "run_ablation", "run_stage",
           "scenario_config", "stored_scenarios", "truth_non_take_up"]

RAW_EXCHANGE_VALUE = "exchange_value"
"""The table as measured, hidden counts included, in ``detection/YYYY-MM/`` (Parquet): what the outputs stage
and ``nonrecours ablation`` publish under secrecy."""
REFERENCES = {"truth": "vérité synthétique", "run": "traitement avec tous les organismes"}
"""What precision and recall are measured against (the table's ``reference`` column, in French)."""


def ablation_detection(workspace: str | Path, month: dt.date, *, backend: str = "duckdb", config: Any = None,
                       full_flags: pl.DataFrame | None = None, agencies: Iterable[str] = CONTRIBUTING,
                       engine_config: dict[str, Any] | None = None,
                       batch: Iterable[Iterable[str]] | None = None,
                       stored: dict[frozenset[str], pl.DataFrame] | None = None) -> Callable[[set[str]], pl.DataFrame]:
    """``run_detection(agencies) -> flags`` on ``workspace`` restricted to the files of those agencies' extracts.
    ``engine_config``: the SQL backend's settings (run.toml's memory limit and spill folder for DuckDB).

    ``full_flags``: the flags of the run with every agency (``agencies``), reused instead of recomputed;
    ``stored``: other scenarios' flags (by agencies kept) detected on this same workspace, reused likewise.
    ``batch``: the scenarios detected together on the first one asked, when small enough to stack (default:
    exchange_value's, without each agency and the CAF alone; ``()`` for a caller that asks one scenario only).
    Each set of workspace files is detected once (memoised).
    """
    from nonrecours.core.workspace import file_agency, recorded_layouts, workspace_core_config
    from nonrecours.detection.confidence import ALL_VARIANTS
    from nonrecours.detection.detect import core_month, detect, detect_many, read_workspace, workspace_config
    from nonrecours.engine.evaluate import STACK_ROWS
    from nonrecours.schemas import TABLES

    layouts = recorded_layouts(Path(workspace))  # the layouts the workspace's extracts were ingested with
    config = scenario_config(workspace_config(config, workspace, layouts))
    core_config = workspace_core_config(Path(workspace), layouts=layouts)

    files = sorted(f for f in Path(workspace).glob("*/*.parquet") if f.parent.name in TABLES)

    def read(used: frozenset[str]) -> frozenset[Path]:
        """The workspace files a scenario reads: two scenarios reading the same files detect the same flags
        (without an agency that wrote nothing, detection is the full run's)."""
        return frozenset(f for f in files if file_agency(f) in used)

    every = frozenset(agencies)
    # exchange_value's scenarios: detected together on the first one asked, when small enough to stack
    batch = ([every - {a} for a in every] + [frozenset({"caf"}) & every] if batch is None
             else [frozenset(b) for b in batch])
    done: dict[frozenset[Path], pl.DataFrame] = {}
    if full_flags is not None:
        done[read(every)] = full_flags
    for used, flags in (stored or {}).items():
        done.setdefault(read(used), flags)

    def run(used: set[str]) -> pl.DataFrame:
        key = read(frozenset(used))
        if key in done:
            return done[key]
        # the files of the kept agencies' extracts only: a table only a left-out agency wrote is absent, as
        # in a run its extract never reached (its payments, resources, housing become unknown, not zero)
        tables = read_workspace(workspace, sorted(used))
        core = core_month(tables, month, core_config)
        pending: dict[frozenset[Path], frozenset[str]] = {}
        for other in batch:
            if other and read(other) not in done and read(other) != key:
                pending.setdefault(read(other), other)
        if core.inputs.individu.height * (1 + len(pending)) * len(ALL_VARIANTS) > STACK_ROWS:
            done[key] = detect(core, tables, backend=backend, config=config, engine_config=engine_config).flags
            return done[key]
        # small: every pending scenario's variants in one evaluation (detect_many), the same flags as one by one
        cases = [(core, tables)]
        for other in pending.values():
            t = read_workspace(workspace, sorted(other))
            cases.append((core_month(t, month, core_config), t))
        detections = detect_many(cases, backend=backend, config=config, engine_config=engine_config)
        for k, det in zip([key, *pending], detections, strict=True):
            done[k] = det.flags
        return done[key]

    return run


def scenario_config(config: Any) -> Any:
    """The detection settings of a scenario's rerun: the run's, without naming each flag's decisive unknowns.

    The table counts a scenario's flags by grade, person and amount; which unknown decides a flag alone changes
    none of these (``detect``: it only names them, after the grades are set) and costs one more evaluation of the
    flagged familles, a third of a scenario's detection on the 1,500-person demo, a fifth at 100,000 persons. A
    scenario's flags (stored for ``nonrecours ablation``) name every unknown their benefit reads instead, in
    ``deciding_unknowns`` and the reasons' line listing them, as ``decisive_unknowns = false`` does in a run."""
    return config.model_copy(update={"decisive_unknowns": False})


def truth_non_take_up(truth: str | Path, month: dt.date, agreement: str | Path) -> pl.DataFrame:
    """unit_id (truth famille), person_id (workspace pseudonym of each adult), benefit: the true non-take-up
    of ``month`` in the synthetic truth folder, keyed as the workspace is (the run's exchange key). A yearly
    benefit's is that of the payment detection judges (``Benefit.due_month``: in June 2026 the ARS due in August
    2025), with the adults of that month, as ``nonrecours evaluate`` scores it: read at the evaluated month, answer 1
    scored the ARS's flags at 87.2 % precision and 66.7 % recall where the evaluation said 92.3 % and 73.5 %."""
    from nonrecours.privacy import load_agreement
    from nonrecours.privacy.pseudonyms import pseudonymise

    truth = Path(truth)
    not_taken = (pl.read_parquet(truth / "take_up.parquet").filter(~pl.col("take_up"))
                 .with_columns(pl.col("benefit").cast(pl.String), pl.col("month").cast(pl.Date)))
    due = {b: catalogue_row(b).due_month(month) for b in not_taken.get_column("benefit").unique().sort().to_list()}
    when = pl.DataFrame({"benefit": list(due), "month": list(due.values())}, schema={"benefit": pl.String,
                                                                                    "month": pl.Date})
    take_up = not_taken.join(when, on=["benefit", "month"], how="semi")
    m = pl.read_parquet(truth / "unit_memberships.parquet")
    adults = pl.concat([m.filter((pl.col("unit_kind").cast(pl.String) == "famille") & valid_on(d)
                                 & pl.col("role").cast(pl.String).is_in(["demandeur", "conjoint"]))
                        .select("unit_id", "person_id", pl.lit(d, dtype=pl.Date).alias("month"))
                        for d in sorted(set(due.values()))])
    nirs = pl.read_parquet(truth / "identities.parquet", columns=["person_id", "nir"])
    key = load_agreement(agreement).pseudonym_key()
    pseud = pseudonymise(nirs.rename({"person_id": "truth_person"}), "nir", key, out="ws_person",
                         key_id_column=None, reason_column=None)
    return (take_up.select("unit_id", "month", "benefit").unique()
            .join(adults, on=["unit_id", "month"]).join(pseud, left_on="person_id", right_on="truth_person")
            .select(pl.col("unit_id").cast(pl.String), pl.col("ws_person").alias("person_id"), "benefit"))


def run_ablation(run_folder: str | Path, month: dt.date, *, backend: str = "duckdb", config: Any = None,
                 truth: pl.DataFrame | None = None, agencies: Iterable[str] | None = None,
                 engine_config: dict[str, Any] | None = None,
                 stored: dict[frozenset[str], pl.DataFrame] | None = None,
                 detected: dict[frozenset[str], pl.DataFrame] | None = None) -> pl.DataFrame:
    """``exchange_value`` on a finished run's workspace and detection of ``month`` (see the module docstring).

    ``agencies``: the agencies whose extracts the run ingested (default: those with rows in the workspace);
    ``stored``: scenarios' flags already detected on this workspace (``stored_scenarios``), not recomputed;
    ``detected``: filled with every scenario's flags but the full run's, by agencies kept (for
    ``write_scenarios``).
    """
    run_folder = Path(run_folder)
    ws = run_folder / "workspace"
    det = run_folder / "detection" / f"{month:%Y-%m}" / "flags.parquet"
    if agencies is None:
        from nonrecours.core.workspace import file_agency

        seen = {file_agency(f) for f in ws.glob("*/*.parquet")}
        agencies = [a for a in CONTRIBUTING if a in seen]
    agencies = tuple(agencies)
    full = pl.read_parquet(det) if det.exists() else None
    run = ablation_detection(ws, month, backend=backend, config=config, full_flags=full, agencies=agencies,
                             engine_config=engine_config, stored=stored)

    def recorded(used: set[str]) -> pl.DataFrame:
        flags = run(used)
        if detected is not None and frozenset(used) != frozenset(agencies):
            detected[frozenset(used)] = flags
        return flags

    return exchange_value(recorded, agencies=agencies, truth=truth, hidden_counts=True)


SCENARIOS = "ablation"
"""``detection/YYYY-MM/ablation/``: each scenario's flags as the stage detected them, one Parquet file per
scenario named by the agencies kept (``caf+cnam.parquet``), listed in the manifest like every output."""


def write_scenarios(folder: Path, detected: dict[frozenset[str], pl.DataFrame]) -> list[Path]:
    """Each scenario's flags under ``folder`` (``SCENARIOS``), atomically; files of a former run removed."""
    from nonrecours.atomic import write_parquet

    folder.mkdir(parents=True, exist_ok=True)
    paths = {folder / f"{'+'.join(sorted(used)) or 'aucun'}.parquet": flags for used, flags in detected.items()}
    for old in set(folder.glob("*.parquet")) - set(paths):
        old.unlink()
    return [write_parquet(path, flags) for path, flags in sorted(paths.items())]


def stored_scenarios(run_folder: str | Path, month: dt.date, run_config: Any) -> dict[frozenset[str], pl.DataFrame]:
    """The scenarios' flags the run's ablation stage stored for ``month``, when still those of this workspace:
    the manifest is this configuration's (``RunConfig.digest``) and this package version's, and every workspace
    file, the month's flags and the scenario files are on disk exactly as it records them (size and SHA-256; no
    file added). Anything else, nothing: the command then detects every scenario again. Why: the command on a
    finished run with the stage would otherwise redo the stage's detections, the largest part of its time."""
    from nonrecours import __version__
    from nonrecours.atomic import file_sha256
    from nonrecours.audit.manifest import MANIFEST, read_manifest

    run_folder = Path(run_folder)
    if not (run_folder / MANIFEST).exists():
        return {}
    manifest = read_manifest(run_folder)
    if (manifest.get("config", {}).get("sha256") != run_config.digest()
            or manifest.get("package", {}).get("version") != __version__):
        return {}
    det = f"detection/{month:%Y-%m}/"
    scen = f"{det}{SCENARIOS}/"
    recorded = {o["path"]: o for o in manifest.get("outputs", [])
                if o["path"].startswith(("workspace/", scen)) or o["path"] == f"{det}flags.parquet"}
    on_disk = {str(p.relative_to(run_folder)) for pattern in ("workspace/**/*", f"{scen}*")
               for p in run_folder.glob(pattern) if p.is_file()}
    on_disk.add(f"{det}flags.parquet")
    if not any(k.startswith(scen) for k in recorded) or on_disk != set(recorded):
        return {}
    for path, o in recorded.items():
        f = run_folder / path
        if not f.is_file() or f.stat().st_size != o["size"] or file_sha256(f) != o["sha256"]:
            return {}
    return {frozenset(a for a in Path(path).stem.split("+") if a != "aucun"): pl.read_parquet(run_folder / path)
            for path in recorded if path.startswith(scen)}


def _run_agencies(config: Any) -> tuple[str, ...]:
    """The agencies a run reads, in the code list's order."""
    return tuple(a for a in CONTRIBUTING if a in config.agencies)


def ablation_month(run_folder: str | Path, month: dt.date, run_config: Any, *, backend: str | None = None,
                   truth: str | Path | None = None, stored: dict[frozenset[str], pl.DataFrame] | None = None,
                   detected: dict[frozenset[str], pl.DataFrame] | None = None) -> pl.DataFrame:
    """``exchange_value`` of ``month`` on a run folder, with its ``reference`` column (French: the synthetic
    truth, or the run with every agency): the one computation behind the stage and the command.

    ``run_config``: the run's RunConfig (agencies, agreement, thresholds); ``backend``: of the reruns (default:
    ``[ablation] backend``, else the run's); ``truth``: a synthetic truth folder (default ``[ablation] truth``);
    ``stored``, ``detected``: as ``run_ablation``'s.
    """
    from nonrecours.run import detection_config, engine_config

    settings = run_config.ablation
    backend = backend or settings.backend or run_config.backend
    truth = truth if truth is not None else settings.truth
    ref = truth_non_take_up(truth, month, run_config.exchange) if truth is not None else None
    table = run_ablation(run_folder, month, backend=backend, truth=ref, agencies=_run_agencies(run_config),
                         config=detection_config(run_config),
                         engine_config=engine_config(run_config.model_copy(update={"backend": backend}),
                                                     warn=backend == run_config.backend),
                         stored=stored, detected=detected)
    return table.with_columns(pl.lit(REFERENCES["truth" if ref is not None else "run"]).alias("reference"))


def run_stage(ctx: Any) -> Any:
    """The run's ``ablation`` stage (see the module docstring); ``not asked`` when run.toml does not enable it."""
    from nonrecours.atomic import file_sha256, write_parquet
    from nonrecours.progress import stage
    from nonrecours.run import StageReport

    settings = ctx.config.ablation
    if not settings.enabled:
        return StageReport("ablation", status="not asked",
                           note="answer 1's exchange value not measured: [ablation] enabled = true in run.toml")
    report = StageReport("ablation", rows_out=0)
    backend = settings.backend or ctx.config.backend
    for month in ctx.config.months:
        if not (ctx.out / "detection" / f"{month:%Y-%m}" / "flags.parquet").exists():
            continue
        scenarios = len(_run_agencies(ctx.config)) + 1
        detected: dict[frozenset[str], pl.DataFrame] = {}
        # a rerun on the same workspace (same configuration, same flags: a restart after a crash) reads the
        # scenarios the last run stored instead of detecting them again
        stored = stored_scenarios(ctx.out, month, ctx.config)
        with stage(f"ablation {month:%Y-%m} ({backend}): detection rerun for {scenarios} scenarios"
                   + (" (stored by the last run on this very workspace)" if stored else "")):
            table = ablation_month(ctx.out, month, ctx.config, stored=stored, detected=detected)
        paths = {f"{RAW_EXCHANGE_VALUE}.parquet": write_parquet(
            ctx.out / "detection" / f"{month:%Y-%m}" / f"{RAW_EXCHANGE_VALUE}.parquet", table)}
        report.outputs += paths.values()
        # each scenario's flags, for ``nonrecours ablation`` on this run (stored_scenarios): not detected again
        report.outputs += write_scenarios(ctx.out / "detection" / f"{month:%Y-%m}" / SCENARIOS, detected)
        report.rows_out += table.height
        reference = table.get_column("reference")[0] if table.height else REFERENCES["run"]
        report.counts[f"{month:%Y-%m}"] = {"scenarios": int(table.get_column("scenario").n_unique()),
                                           "reference": reference}
        # which agencies' data was read again, for what, under which agreement: an entry of the audit chain
        ctx.audit.append("ablation", {
            "month": f"{month:%Y-%m}", "agencies": list(_run_agencies(ctx.config)), "backend": backend,
            "scenarios": sorted(table.get_column("scenario").unique().to_list()), "reference": reference,
            "exchange_id": ctx.agreement.exchange_id, "purpose": ctx.agreement.purpose,
            "outputs": {p.name: file_sha256(p) for p in paths.values()}})
    report.note = f"detection rerun on the workspace without each agency ({backend})"
    return report
