"""The whole pipeline on synthetic territories: each stage's wall and CPU seconds and peak memory (issue 13).

Run: ``PYTHONPATH=src python benchmarks/pipeline_bench.py [--persons 100000,1000000] [--backends polars,duckdb]
[--territory france] [--workdir DIR] [--keep]`` → ``benchmarks/results/pipeline_<date>.json`` and ``.md``.

For each size, ``synth`` builds the territory as ``nonrecours demo`` does (``synth.generate`` for the truth,
``synth.extracts.write_extracts`` for the seven native extracts, the demo's agreement and key files). Then, for
each backend, the run's own code is driven on those extracts: ``nonrecours.run.run`` with a run.toml written by
``demo.write_run_config`` (no ablation), its registered stages (``run.STAGES``) each wrapped by a meter, and the
functions below them wrapped in place (the same objects the stages call, nothing re-implemented):

=================  ==============================================================================================
ingest/<agency>    ``connectors.ingest``, once per extract (the agency's name)
rules/join         ``core.build_month`` inside the rules stage; ``detection/join`` the same inside detection
                   when it builds the month again (a run in several partitions or months: in one pass, detection
                   takes the month the rules stage built; it joins only the earlier months a yearly benefit is
                   judged at, its payment due); ``join`` in the table is their sum
rules/evaluate     ``engine.evaluate`` (the rules on the chosen backend); ``detection/evaluate`` detection's
                   ``evaluate_many`` (the low, central and high variants stacked)
detection/export   ``export_openfisca.flagged_situations`` (each flagged claimant's OpenFisca situation)
outputs/outreach   ``outputs.stage.build_outreach`` (lead agency, texts, AES-SIV return tokens)
outputs/statistics ``outputs.stage.unit_profiles`` + ``build_statistics`` (every level, secondary suppression)
outputs/writing    ``outputs.stage.write_table``, ``write_situations``, ``write_answers``, ``write_report`` (Parquet,
                   French CSV, JSON Lines, HTML)
finish             the run after its last stage: manifest (every output hashed and counted), audit entry
=================  ==============================================================================================

Measures, per step: wall seconds (``perf_counter``); CPU seconds of every thread of the process
(``process_time``) plus its child processes (synth's chunk workers through ``RUSAGE_CHILDREN``, a live child
such as Spark's JVM through psutil); peak resident memory of the process during that step alone: Linux's
high-water mark ``VmHWM`` is reset when a step starts (``/proc/self/clear_refs``, 5) and read when it ends,
nested steps passing their peak up (elsewhere ``ru_maxrss``, a peak since the process began, said in the JSON);
child processes' memory is sampled every 0.2 s with psutil (``children_peak_rss_mib``); the 1-minute load
average at each step's start and end (the machine may be shared: CPU seconds are the steadier figure).

Each size's synth and each backend's run are a fresh child process (``--in-process`` runs them in this one, for
the smoke test: peaks then include what earlier steps left). ``--reuse DIR[,DIR...]``: territories built before,
one per size. ``--baseline FILE``: an earlier results file of this benchmark on the same territories (another
commit): each stage's figures before and after, and their ratio, under ``comparison``. Every report carries
``extrapolation``: each stage's wall and CPU seconds carried to 1 and 10 million persons, by a line through the
sizes measured (proportional to the persons when one size was), the stage that dominates there and how far
``run`` is from the target. Optional ``--openfisca N``: ``openfisca_speed_bench``'s
comparison on N differential situations in the same run (rates of our ``simulate`` and OpenFisca-France for
rsa, ppa, aspa and css; at most 100,000), its figures under ``openfisca``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import importlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from commits import commit

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
TARGETS = {1_000_000: 60.0, 10_000_000: 600.0}
"""Issue 13: seconds from the raw extracts to the outreach lists, by territory size."""
MEMORY_TARGET_GIB = 16.0
"""Issue 13: peak memory at 10 million persons."""
_MIB = 1024 * 1024
SYNTH_FIGURES = "pipeline_synth.json"
"""The synth step's figures, kept in the territory's folder (``--keep``) for a later ``--reuse``."""


# --- the meter ----------------------------------------------------------------------------------------

def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


class Meter:
    """Wall, CPU and peak memory of named, possibly nested, steps; a step run several times is summed (peak: max).

    Peak memory is the process's high-water mark reset at each step's start (see the module docstring); a step's
    peak is passed up to the steps around it before any reset, so an enclosing step's peak covers its parts.
    """

    def __init__(self) -> None:
        self.steps: dict[str, dict[str, Any]] = {}
        self._open: list[dict[str, float]] = []  # running peaks (KiB) of the open steps, outermost first
        self.resettable = _reset_hwm() and _status_kib("VmHWM") is not None
        self.peak_method = ("VmHWM reset at each step (/proc/self/clear_refs)" if self.resettable
                            else "ru_maxrss (the process's peak so far: an upper bound of the step's)")
        self._children_peak = 0.0
        self._wrapped: list[tuple[Any, str, Any]] = []
        self._stop = threading.Event()
        self._sampler: threading.Thread | None = None
        try:
            import psutil

            self._proc = psutil.Process()
            self._sampler = threading.Thread(target=self._sample, daemon=True)
            self._sampler.start()
        except ImportError:  # children's memory then not sampled (said by a null in the JSON)
            self._proc = None

    def close(self) -> None:
        """Stop sampling; put back every function ``wrap`` replaced (an in-process run leaves nothing behind)."""
        for owner, attr, original in reversed(self._wrapped):
            setattr(owner, attr, original)
        self._wrapped.clear()
        self._stop.set()
        if self._sampler is not None:
            self._sampler.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            total = 0
            for child in self._proc.children(recursive=True):
                try:
                    total += child.memory_info().rss
                except Exception:  # a child that ended between listing and reading
                    continue
            self._children_peak = max(self._children_peak, total / 1024)
            for frame in self._open:
                frame["children_peak"] = max(frame["children_peak"], total / 1024)

    def _children_cpu(self) -> dict[int, float]:
        if self._proc is None:
            return {}
        out = {}
        for child in self._proc.children(recursive=True):
            try:
                t = child.cpu_times()
                out[child.pid] = t.user + t.system
            except Exception:  # likewise
                continue
        return out

    def _hwm(self) -> float:
        if self.resettable:
            return float(_status_kib("VmHWM") or 0)
        return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)

    def _push_peak(self) -> None:
        """The high-water mark since the last reset, into every open step, then reset."""
        hwm = self._hwm()
        for frame in self._open:
            frame["peak"] = max(frame["peak"], hwm)
        if self.resettable:
            _reset_hwm()

    @contextmanager
    def measure(self, name: str) -> Iterator[None]:
        self._push_peak()
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        live = self._children_cpu()
        frame = {"peak": self._hwm(), "children_peak": 0.0}
        self._open.append(frame)
        rss0 = _status_kib("VmRSS")
        load0 = os.getloadavg()[0]
        w0, c0 = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu += (kids1.ru_utime + kids1.ru_stime) - (kids.ru_utime + kids.ru_stime)
            cpu += sum(t - live.get(pid, 0.0) for pid, t in self._children_cpu().items())
            self._push_peak()
            self._open.pop()
            for outer in self._open:
                outer["children_peak"] = max(outer["children_peak"], frame["children_peak"])
            step = self.steps.setdefault(name, {"calls": 0, "wall_s": 0.0, "cpu_s": 0.0, "peak_rss_mib": 0.0,
                                                "children_peak_rss_mib": None if self._proc is None else 0.0,
                                                "rss_at_start_mib": None if rss0 is None else rss0 / 1024,
                                                "load_1min_start": load0})
            step["calls"] += 1
            step["wall_s"] += wall
            step["cpu_s"] += cpu
            step["peak_rss_mib"] = max(step["peak_rss_mib"], frame["peak"] / 1024)
            if step["children_peak_rss_mib"] is not None:
                step["children_peak_rss_mib"] = max(step["children_peak_rss_mib"], frame["children_peak"] / 1024)
            step["load_1min_end"] = os.getloadavg()[0]

    def wrap(self, owner: Any, attr: str, name: Callable[..., str] | str) -> None:
        """Replace ``owner.attr`` by the same function measured as ``name`` (or ``name(*args, **kwargs)``)."""
        original = getattr(owner, attr)

        @functools.wraps(original)
        def measured(*args: Any, **kwargs: Any) -> Any:
            with self.measure(name(*args, **kwargs) if callable(name) else name):
                return original(*args, **kwargs)

        self._wrapped.append((owner, attr, original))
        setattr(owner, attr, measured)

    def report(self) -> dict[str, dict[str, Any]]:
        return {k: {f: (round(v, 3) if isinstance(v, float) else v) for f, v in s.items()}
                for k, s in self.steps.items()}


# --- the steps ----------------------------------------------------------------------------------------

def synth(root: Path, persons: int, seed: int, territory: str) -> dict[str, Any]:
    """The territory under ``root`` as ``nonrecours demo`` builds it: truth, extracts, agreement and keys."""
    from nonrecours.demo import DemoReport, _agreement
    from nonrecours.synth import DEFAULT_END_MONTH, generate, tax_window
    from nonrecours.synth.extracts import Noise, write_extracts

    meter = Meter()
    try:
        with meter.measure("synth"):
            with meter.measure("synth/truth"):
                generate(persons, seed, root, territory=territory, months=tax_window(DEFAULT_END_MONTH))
            with meter.measure("synth/extracts"):
                written = write_extracts(root / "truth", root / "extracts", seed=seed, entitlements="rules",
                                         noise=Noise(months=13))
            _agreement(root, DemoReport(out=root))
    finally:
        meter.close()
    extracts = {a: str(p.relative_to(root)) for a, p in written.items() if p.suffix != ".json"}
    sizes = {a: (root / p).stat().st_size for a, p in extracts.items()}
    result = {"steps": meter.report(), "peak_method": meter.peak_method, "extracts": extracts,
              "extract_mib": {a: round(s / _MIB, 1) for a, s in sizes.items()},
              "month": f"{DEFAULT_END_MONTH:%Y-%m}", "persons": persons, "territory": territory}
    (root / SYNTH_FIGURES).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


def reuse(folder: Path, root: Path) -> dict[str, Any]:
    """A territory built before (truth, extracts, agreement, keys, and run.toml or this benchmark's synth figures)
    copied to ``root``: the synth step is not run again; its figures are those measured when it was built, if
    this benchmark built it, else none."""
    from nonrecours.config import load_config

    folder = folder.resolve()
    if (folder / SYNTH_FIGURES).exists():
        built = json.loads((folder / SYNTH_FIGURES).read_text(encoding="utf-8"))
        for name in ("truth", "extracts", "keys"):
            shutil.copytree(folder / name, root / name)
        shutil.copy2(folder / "exchange.toml", root / "exchange.toml")
        return built | {"reused": str(folder)}
    tomls = [folder / "run.toml"] if (folder / "run.toml").exists() else sorted(folder.glob("run-*.toml"))
    if not tomls:
        raise FileNotFoundError(f"{folder} has no run.toml (nor a run-<backend>.toml of this benchmark)")
    cfg = load_config(tomls[0])
    for name in ("truth", "extracts", "keys"):
        shutil.copytree(folder / name, root / name)
    shutil.copy2(folder / "exchange.toml", root / "exchange.toml")
    extracts = {a: str(Path(f).relative_to(folder)) for a, spec in cfg.agencies.items() for f in spec.files}
    return {"steps": {}, "reused": str(folder), "peak_method": None, "extracts": extracts,
            "extract_mib": {a: round((root / p).stat().st_size / _MIB, 1) for a, p in extracts.items()},
            "month": f"{cfg.months[0]:%Y-%m}"}


def _agency(input: Any, mapping: Any, *args: Any, **kwargs: Any) -> str:
    return f"ingest/{mapping.agency}"


def pipeline(root: Path, backend: str, extracts: dict[str, str], month: str, memory_limit: str) -> dict[str, Any]:
    """``nonrecours run`` on ``root``'s extracts with ``backend``, into ``root/run-<backend>``, every stage metered."""
    import polars as pl

    import nonrecours.core
    import nonrecours.engine
    import nonrecours.outputs.stage as outputs_stage
    import nonrecours.simulation.export_openfisca as export_openfisca
    from nonrecours import connectors
    from nonrecours.config import load_config
    from nonrecours.core.workspace import scan_workspace
    from nonrecours.demo import write_run_config
    from nonrecours.run import STAGES, run

    detect_module = importlib.import_module("nonrecours.detection.detect")  # the package's `detect` hides it
    config = write_run_config(root, {a: root / p for a, p in extracts.items()}, month, backend, ablation=False)
    text = config.read_text(encoding="utf-8")
    for old, new in (('output = "."', f'output = "run-{backend}"'),
                     ('spill_dir = "spill"', f'spill_dir = "spill-{backend}"'),
                     ('memory_limit = "2GB"', f'memory_limit = "{memory_limit}"')):
        if old not in text:
            raise RuntimeError(f"the demo's run.toml no longer holds {old!r}: update pipeline_bench.py")
        text = text.replace(old, new)
    toml = root / f"run-{backend}.toml"
    toml.write_text(text, encoding="utf-8")
    config.unlink()
    out = root / f"run-{backend}"
    shutil.rmtree(out, ignore_errors=True)

    meter = Meter()
    current = {"stage": ""}

    def staged(name: str, fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def measured(ctx: Any) -> Any:
            current["stage"] = name
            with meter.measure(name):
                return fn(ctx)
        return measured

    try:
        meter.wrap(connectors, "ingest", _agency)
        meter.wrap(nonrecours.core, "build_month", lambda *a, **k: f"{current['stage']}/join")
        meter.wrap(nonrecours.engine, "evaluate", lambda *a, **k: f"{current['stage']}/evaluate")
        meter.wrap(detect_module, "evaluate_many", lambda *a, **k: f"{current['stage']}/evaluate")
        meter.wrap(export_openfisca, "flagged_situations", "detection/export")
        meter.wrap(outputs_stage, "build_outreach", "outputs/outreach")
        for attr in ("unit_profiles", "build_statistics"):
            meter.wrap(outputs_stage, attr, "outputs/statistics")
        for attr in ("write_table", "write_situations", "write_answers", "write_report"):
            meter.wrap(outputs_stage, attr, "outputs/writing")
        cfg = load_config(toml)
        with meter.measure("run"):
            report = run(cfg, stages={n: staged(n, f) for n, f in STAGES.items()})
    finally:
        meter.close()
    steps = meter.report()
    staged_wall = sum(steps[n]["wall_s"] for n in STAGES if n in steps)
    staged_cpu = sum(steps[n]["cpu_s"] for n in STAGES if n in steps)
    steps["finish"] = {"calls": 1, "wall_s": round(steps["run"]["wall_s"] - staged_wall, 3),
                       "cpu_s": round(steps["run"]["cpu_s"] - staged_cpu, 3), "peak_rss_mib": None}
    flags = [p for s in report.stages for p in s.outputs if p.name == "flags.parquet"]
    outreach = sum(pl.scan_parquet(p).select(pl.len()).collect().item()
                   for p in (out / "outputs").glob("*/outreach_*.parquet"))
    persons = scan_workspace(out / "workspace")["persons"].select(pl.len()).collect().item()
    return {"backend": backend, "steps": steps, "peak_method": meter.peak_method,
            "stages": {s.name: s.status for s in report.stages},
            "rows": {"ingest_read": next(s.rows_in for s in report.stages if s.name == "ingest"),
                     "workspace_person_rows": persons,
                     "flags": sum(pl.scan_parquet(p).select(pl.len()).collect().item() for p in flags),
                     "outreach_rows": outreach}}


# --- the command --------------------------------------------------------------------------------------

def _child(step: str, payload: dict[str, Any], in_process: bool) -> dict[str, Any]:
    """``step`` (``synth`` or ``pipeline``) with ``payload``, in a fresh process unless ``in_process``."""
    if in_process:
        fn = synth if step == "synth" else pipeline
        args = {k: Path(v) if k == "root" else v for k, v in payload.items()}
        return fn(**args)
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        result_file = Path(fh.name)
    try:
        env = os.environ | {"PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
        subprocess.run([sys.executable, __file__, "--child", step, json.dumps(payload), str(result_file)],
                       check=True, env=env)
        return json.loads(result_file.read_text(encoding="utf-8"))
    finally:
        result_file.unlink(missing_ok=True)


def _summary(persons: int, run: dict[str, Any]) -> dict[str, Any]:
    """The table's row: the stages of the issue, join summed over the stages that build the month."""
    s = run["steps"]

    def get(name: str, field: str) -> float:
        return (s.get(name) or {}).get(field) or 0.0

    joins = [k for k in s if k.endswith("/join")]
    row: dict[str, Any] = {"persons": persons, "backend": run["backend"]}
    for col, names, minus in (
            ("ingest", ["ingest"], []), ("join", joins, []),
            ("rules", ["rules"], ["rules/join"]), ("detection", ["detection"], ["detection/join"]),
            ("outputs", ["outputs"], []), ("finish", ["finish"], []), ("run", ["run"], [])):
        row[col] = {f: round(sum(get(n, f) for n in names) - sum(get(n, f) for n in minus), 2)
                    for f in ("wall_s", "cpu_s")}
        peaks = [get(n, "peak_rss_mib") for n in names]
        row[col]["peak_rss_mib"] = round(max(peaks), 1) if peaks and col != "finish" else None
    row["peak_rss_mib"] = max(v for k, v in ((k, get(k, "peak_rss_mib")) for k in s) if v)
    target = TARGETS.get(persons)
    if target is not None:
        wall = row["run"]["wall_s"]
        row["target"] = {"seconds": target, "wall_s": wall, "met": wall <= target,
                         "ratio_to_target": round(wall / target, 2)}
        if persons == 10_000_000:
            row["target"]["memory_gib"] = MEMORY_TARGET_GIB
            row["target"]["memory_met"] = row["peak_rss_mib"] / 1024 <= MEMORY_TARGET_GIB
    return row


COLUMNS = ("ingest", "join", "rules", "detection", "outputs", "finish", "run")
"""The table's stage columns (``_summary``)."""


def compare(report: dict[str, Any], baseline: dict[str, Any]) -> list[dict[str, Any]]:
    """Each (size, backend) measured in both: every column's wall and CPU seconds before (``baseline``) and
    after (``report``), and before / after (above 1: faster now)."""
    before = {(row["persons"], row["backend"]): row for size in baseline["sizes"] for row in size["summary"]}
    out = []
    for size in report["sizes"]:
        for row in size["summary"]:
            old = before.get((row["persons"], row["backend"]))
            if old is None:
                continue
            cols = {}
            for col in COLUMNS:
                cols[col] = {f: {"before": old[col][f], "after": row[col][f],
                                 "ratio": round(old[col][f] / row[col][f], 2) if row[col][f] else None}
                             for f in ("wall_s", "cpu_s")}
            out.append({"persons": row["persons"], "backend": row["backend"], "baseline_commit": baseline["commit"],
                        "baseline_date": baseline["date"], "columns": cols,
                        "peak_rss_mib": {"before": old["peak_rss_mib"], "after": row["peak_rss_mib"]}})
    return out


def extrapolate(report: dict[str, Any], to: tuple[int, ...] = (1_000_000, 10_000_000)) -> list[dict[str, Any]]:
    """Each backend's columns carried to ``to`` persons: least squares on a line ``a + b × persons`` through the
    sizes measured (several sizes: a fixed part shows as ``a``), else proportional to the persons. Only a
    projection of what was measured on this machine, under its load: said as such in the Markdown."""
    out = []
    backends = dict.fromkeys(row["backend"] for size in report["sizes"] for row in size["summary"])
    for backend in backends:
        rows = [row for size in report["sizes"] for row in size["summary"] if row["backend"] == backend]
        xs = [float(r["persons"]) for r in rows]
        method = "line through the sizes" if len(set(xs)) > 1 else "proportional to the persons"
        for n in to:
            cols: dict[str, dict[str, float]] = {}
            for col in COLUMNS:
                cols[col] = {}
                for f in ("wall_s", "cpu_s"):
                    ys = [float(r[col][f]) for r in rows]
                    if len(set(xs)) > 1:
                        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
                        slope = (sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
                                 / sum((x - mx) ** 2 for x in xs))
                        value = my + slope * (n - mx)
                    else:
                        value = ys[0] * n / xs[0]
                    cols[col][f] = round(max(value, 0.0), 1)
            stages = {c: v for c, v in cols.items() if c not in ("run", "finish")}
            top = max(stages, key=lambda c: stages[c]["cpu_s"])
            entry = {"persons": n, "backend": backend, "method": method, "sizes": sorted({int(x) for x in xs}),
                     "columns": cols, "dominant": top,
                     "dominant_share_cpu": round(stages[top]["cpu_s"] / cols["run"]["cpu_s"], 3)
                     if cols["run"]["cpu_s"] else None}
            target = TARGETS.get(n)
            if target is not None:
                entry["target_s"] = target
                entry["ratio_to_target_wall"] = round(cols["run"]["wall_s"] / target, 1)
                entry["ratio_to_target_cpu_on_2_cores"] = round(cols["run"]["cpu_s"] / 2 / target, 1)
            out.append(entry)
    return out


def markdown(report: dict[str, Any]) -> str:
    lines = [f"# Pipeline benchmark, {report['date']} (commit {report['commit']})", "",
             f"Machine: {report['machine']}; load average (1 min) {report['load_average_1min_start']} at the "
             f"start, {report['load_average_1min_end']} at the end. Territory: {report['territory']}. "
             f"Peak memory: {report['peak_method']}.", "",
             "Each cell: wall s / CPU s / peak RSS MiB of that stage alone (join: `core.build_month`, summed over "
             "the stages that build the month; rules and detection without it). "
             "`run` is `nonrecours run` from the raw extracts to the outreach lists and the manifest.", "",
             "| persons | backend | synth | ingest | join | rules | detection | outputs | finish | run | "
             "target |", "|---|---|---|---|---|---|---|---|---|---|---|"]

    def cell(c: dict[str, Any] | None) -> str:
        if not c:
            return ""
        peak = "" if c.get("peak_rss_mib") is None else f" / {c['peak_rss_mib']:,.0f}"
        return f"{c['wall_s']:.1f} / {c['cpu_s']:.1f}{peak}"

    for size in report["sizes"]:
        sy = size["synth"]["steps"].get("synth")
        synth_cell = "reused" if sy is None else cell(sy) + (" (built before)" if "reused" in size["synth"] else "")
        for row in size["summary"]:
            t = row.get("target")
            target = "" if t is None else (f"{t['seconds']:.0f} s: {'met' if t['met'] else 'missed'} "
                                           f"(×{t['ratio_to_target']})")
            lines.append(f"| {size['persons']:,} | {row['backend']} | {synth_cell} | "
                         + " | ".join(cell(row[c]) for c in ("ingest", "join", "rules", "detection", "outputs",
                                                             "finish", "run")) + f" | {target} |")
    lines += ["", "Steps within stages (wall s / CPU s / peak RSS MiB):", ""]
    for size in report["sizes"]:
        for run in size["runs"]:
            parts = [f"`{k}` {cell(v)}" for k, v in run["steps"].items() if "/" in k]
            lines.append(f"- {size['persons']:,} persons, {run['backend']}: " + "; ".join(parts))
    for c in report.get("comparison", []):
        lines += ["", f"Before (commit {c['baseline_commit']}, {c['baseline_date']}) → after (this run), "
                  f"{c['persons']:,} persons, {c['backend']}: wall s and CPU s, before → after (before / after)", "",
                  "| | " + " | ".join(COLUMNS) + " |", "|---|" + "---|" * len(COLUMNS)]
        for f, label in (("wall_s", "wall s"), ("cpu_s", "CPU s")):
            lines.append(f"| {label} | " + " | ".join(
                f"{c['columns'][col][f]['before']:.1f} → {c['columns'][col][f]['after']:.1f} "
                f"(×{c['columns'][col][f]['ratio']})" for col in COLUMNS) + " |")
        lines.append(f"| peak MiB | {c['peak_rss_mib']['before']:,.0f} → {c['peak_rss_mib']['after']:,.0f} |"
                     + " |" * (len(COLUMNS) - 1))
    if report.get("extrapolation"):
        lines += ["", "Extrapolation (a projection of the figures above, on this shared machine, not a run): each "
                  "column's seconds carried to the size by a line through the sizes measured (proportional to the "
                  "persons from one size). CPU / 2 is the wall time two fully used cores would need.", "",
                  "| persons | backend | from sizes | " + " | ".join(COLUMNS) + " | dominant (share of CPU) | "
                  "target |", "|---|---|---|" + "---|" * len(COLUMNS) + "---|---|"]
        for e in report["extrapolation"]:
            target = "" if "target_s" not in e else (f"{e['target_s']:.0f} s: wall ×{e['ratio_to_target_wall']}, "
                                                     f"CPU/2 ×{e['ratio_to_target_cpu_on_2_cores']}")
            lines.append(f"| {e['persons']:,} | {e['backend']} | {', '.join(f'{n:,}' for n in e['sizes'])} | "
                         + " | ".join(f"{e['columns'][c]['wall_s']:,.0f} / {e['columns'][c]['cpu_s']:,.0f}"
                                      for c in COLUMNS)
                         + f" | {e['dominant']} ({100 * (e['dominant_share_cpu'] or 0):.0f} %) | {target} |")
    if report.get("openfisca"):
        for r in report["openfisca"]["runs"]:
            lines.append(f"- OpenFisca-France beside `simulate` on {r['situations']:,} situations: ours "
                         f"{r['ours']['situations_per_s']:,.0f}/s, OpenFisca "
                         f"{r['openfisca']['situations_per_s']:,.0f}/s, ratio {r['ratio_of_rates']}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--persons", default="100000", help="comma-separated territory sizes")
    ap.add_argument("--backends", default="polars,duckdb", help="comma-separated: polars, duckdb, spark")
    ap.add_argument("--territory", default="france")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--memory-limit", default="8GB", help="run.toml's DuckDB memory_limit")
    ap.add_argument("--workdir", type=Path, help="where territories are built (default: a temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep the territories and run folders")
    ap.add_argument("--in-process", action="store_true", help="no child process per step (the smoke test)")
    ap.add_argument("--openfisca", type=int, default=0,
                    help="also openfisca_speed_bench on this many situations (0: not run; at most 100000)")
    ap.add_argument("--reuse", help="territories already built, comma-separated, one per size (a `nonrecours "
                    "demo` folder or one kept by --keep): copied instead of synthesised, `synth` then not run")
    ap.add_argument("--baseline", type=Path, help="an earlier results JSON of this benchmark on the same "
                    "territories: before/after figures and ratios in the report")
    ap.add_argument("--out", type=Path, help="the JSON written (default results/pipeline_<date>.json)")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        step, payload, result_file = args.child
        result = synth(**{k: Path(v) if k == "root" else v for k, v in json.loads(payload).items()}) \
            if step == "synth" else pipeline(**{k: Path(v) if k == "root" else v
                                                for k, v in json.loads(payload).items()})
        Path(result_file).write_text(json.dumps(result), encoding="utf-8")
        return result
    reused = [Path(f) for f in args.reuse.split(",")] if args.reuse else None
    if reused is not None and len(reused) != len(args.persons.split(",")):
        ap.error("--reuse: one territory per --persons size, in the same order")
    if args.openfisca > 100_000:
        ap.error("--openfisca: at most 100000 situations (OpenFisca-France takes minutes per 100,000)")
    sizes = [int(n) for n in args.persons.split(",")]
    baseline = json.loads(args.baseline.read_text(encoding="utf-8")) if args.baseline else None
    backends = args.backends.split(",")
    today = dt.date.today().isoformat()
    out = args.out or RESULTS / f"pipeline_{today}.json"
    work = args.workdir or Path(tempfile.mkdtemp(prefix="pipeline-bench-"))
    report: dict[str, Any] = {
        "benchmark": "nonrecours run, stage by stage, on synthetic territories (benchmarks/pipeline_bench.py)",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "commit": commit(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average_1min_start": round(os.getloadavg()[0], 2), "territory": args.territory,
        "memory_limit": args.memory_limit, "isolation": "in process" if args.in_process else "a process per step",
        "complete": False, "targets": {"run_seconds_by_persons": {str(k): v for k, v in TARGETS.items()},
                    "peak_gib_at_10M": MEMORY_TARGET_GIB}, "sizes": []}
    try:
        for k, n in enumerate(sizes):
            root = work / f"persons-{n}"
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir(parents=True)
            if reused is None:
                built = _child("synth", {"root": str(root), "persons": n, "seed": args.seed,
                                         "territory": args.territory}, args.in_process)
            else:
                built = reuse(reused[k], root)
            size = {"persons": n, "synth": built, "runs": [], "summary": []}
            report["sizes"].append(size)
            report["peak_method"] = built["peak_method"]
            for b in backends:
                ran = _child("pipeline", {"root": str(root), "backend": b, "extracts": built["extracts"],
                                          "month": built["month"], "memory_limit": args.memory_limit},
                             args.in_process)
                size["runs"].append(ran)
                size["summary"].append(_summary(n, ran))
                report["peak_method"] = ran["peak_method"]
                report["extrapolation"] = extrapolate(report)
                if baseline is not None:
                    report["comparison"] = compare(report, baseline)
                _write(report, out)  # each run's figures kept as soon as measured
            if not args.keep:
                shutil.rmtree(root, ignore_errors=True)
        if args.openfisca:
            sys.path.insert(0, str(ROOT / "benchmarks"))
            import openfisca_speed_bench

            report["openfisca"] = openfisca_speed_bench.main(
                ["--sizes", str(args.openfisca), "--out", str(out.with_name(out.stem + "_openfisca.json"))])
    finally:
        if args.workdir is None and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    report["complete"] = True
    _write(report, out)
    print(markdown(report))
    return report


def _write(report: dict[str, Any], out: Path) -> None:
    """The JSON and its Markdown table (``complete``: false until every size and backend has run)."""
    report.setdefault("complete", False)
    report["load_average_1min_end"] = round(os.getloadavg()[0], 2)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    out.with_suffix(".md").write_text(markdown(report), encoding="utf-8")


if __name__ == "__main__":
    main()
