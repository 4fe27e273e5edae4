"""``detect`` at scale, stage by stage: wall, CPU and peak memory of each step, in parts or whole (issue 8).

Run: ``python benchmarks/detect_scale_bench.py --workspace BIG/workspace --config RUN/run.toml --month 2026-06
--partitions 10 --out-dir BIG/detection --result benchmarks/results/detect_1m.json [--reference DIR --copies K]``

Runs ``run_detect`` (the run's detection stage: run.toml's benefits, thresholds and engine options through
``run.detection_config`` and ``run.engine_config``) in a fresh child process, whole (``--partitions 1``: the join
of the month, then detection) or split as run.toml's ``partitions`` splits it (``core.partition.Partitions``).
``pipeline_bench.Meter`` measures each step of the run's process (peak memory: ``VmHWM`` reset at each step):
``split`` (the link graph and its parts), ``facts`` (what detection reads about the population as a whole); each
part runs in a child process of its own (run.toml's default, ``nonrecours.isolate``) whose figures come from
detection's log record of it: ``partN`` (the child's wall, CPU and peak memory), ``partN/join`` (the month's
core), ``partN/detect`` (the earlier due months' joined inside it), ``partN/outputs`` (sorting, the OpenFisca
situations; a step inside a child has its wall and CPU, no peak of its own); ``--same-process`` runs every part
in the bench's process as before 1 December 2026 (each step metered here, ``partN/detect/join`` apart); then
``merge`` (the parts' files merged into the outputs,
``core.partition.merge_parts``, streamed) and ``write`` (the files written by Polars: the summary; every output
of a run in one pass). ``--keep-parts DIR``: a copy of the parts' files before their merge, for
``detect_merge_bench.py``.

``--reference DIR --copies K``: DIR is a detection of the source of a workspace tiled K times
(``tile_workspace.py``); its ``flags.parquet`` and ``units.parquet``, their ids retagged for each copy as the
tiling does, must equal this run's row for row (a partitioned run at scale writes exactly K times the
source's results). The counts and the verdict go to the result.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from commits import commit  # noqa: E402
from pipeline_bench import Meter  # noqa: E402
from tile_workspace import retag  # noqa: E402

_KEY = ["unit_kind", "unit_id", "benefit"]
_HEX = r"[0-9a-f]{64}"


class _PartRecords(logging.Handler):
    """The figures of each part run in a child process of its own, from detection's log record of the part
    (``isolate.Usage``: the child's wall, CPU and peak; its steps' wall and CPU), written to ``progress`` as
    they come."""

    def __init__(self, progress: Path, meter: Any) -> None:
        super().__init__(logging.INFO)
        self.steps: dict[str, dict[str, Any]] = {}
        self.progress, self.meter = progress, meter

    def emit(self, record: logging.LogRecord) -> None:
        usage = getattr(record, "usage", None)
        if usage is None:
            return
        k = record.part  # type: ignore[attr-defined]

        def fig(u: Any) -> dict[str, Any]:
            return {"calls": 1, "wall_s": u.wall_s, "cpu_s": round(u.cpu_s, 3), "user_s": u.user_s,
                    "system_s": u.system_s, "peak_rss_mib": u.peak_rss_mib}

        self.steps[f"part{k}"] = fig(usage)
        for name, u in record.steps.items():  # type: ignore[attr-defined]
            self.steps[f"part{k}/{name}"] = fig(u)
        self.progress.write_text(json.dumps({"parts_done": sum(1 for n in self.steps if n.count("/") == 0),
                                             "steps": self.meter.report() | self.steps,
                                             "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}),
                                 encoding="utf-8")


def measured_detect(workspace: Path, config: Path, month: str, partitions: int, out: Path,
                    keep_parts: Path | None = None, same_process: bool = False) -> dict[str, Any]:
    """``run_detect`` on ``workspace`` with ``config``'s detection settings, every step metered: each part in a
    child process of its own (run.toml's default; its figures from the part's log record) or, with
    ``same_process``, every part here (metered by wrapping its steps)."""
    import nonrecours.core
    from nonrecours.config import load_config, parse_month
    from nonrecours.core import Partitions
    from nonrecours.core.workspace import scan_workspace
    from nonrecours.run import detection_config, engine_config

    det = importlib.import_module("nonrecours.detection.detect")
    cfg = load_config(config)
    m = parse_month(month)
    meter = Meter()
    part: dict[str, Any] = {"k": 0, "in_detect": False}
    progress = out.parent / (out.name + "-progress.json")

    def tables(self: Any, k: int) -> Any:
        part["k"] = k
        return original_tables(self, k)

    original_tables = Partitions.tables
    try:
        Partitions.tables = tables  # type: ignore[method-assign]
        meter.wrap(Partitions, "_assign", "split")
        for attr in ("population_facts", "payments_known", "history_coverage"):
            if hasattr(det, attr):
                meter.wrap(det, attr, "facts")
        meter.wrap(nonrecours.core, "population_facts", "facts")
        # the month's join; those detection makes of the earlier months a yearly benefit is judged at are
        # inside partN/detect (partN/detect/join)
        meter.wrap(nonrecours.core, "build_month",
                   lambda *a, **k: f"part{part['k']}/detect/join" if part["in_detect"] else f"part{part['k']}/join")
        meter.wrap(det, "detect", lambda *a, **k: f"part{part['k']}/detect")
        measured = det.detect

        def detect(*a: Any, **k: Any) -> Any:
            part["in_detect"] = True
            try:
                return measured(*a, **k)
            finally:
                part["in_detect"] = False

        det.detect = detect
        meter.wrap(det, "_outputs", lambda *a, **k: f"part{part['k']}/outputs")
        outputs = det._outputs

        def outputs_then_progress(*a: Any, **k: Any) -> Any:  # a part done: its figures kept at once
            done = outputs(*a, **k)
            progress.write_text(json.dumps({"parts_done": part["k"] + 1, "steps": meter.report(),
                                            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}),
                                encoding="utf-8")
            return done

        det._outputs = outputs_then_progress
        if hasattr(det, "_merge_outputs"):
            meter.wrap(det, "_merge_outputs", "merge")
        if keep_parts is not None and hasattr(det, "_merge_outputs"):
            merge = det._merge_outputs

            def kept_then_merged(parts: Path, *a: Any, **k: Any) -> Any:  # the copy outside the merge's figures
                shutil.rmtree(keep_parts, ignore_errors=True)
                shutil.copytree(parts, keep_parts)
                return merge(parts, *a, **k)

            det._merge_outputs = kept_then_merged
        meter.wrap(det, "write_parquet", "write")
        meter.wrap(det, "write_json", "write")
        children = _PartRecords(progress, meter)
        logging.getLogger("nonrecours.detection").addHandler(children)
        logging.getLogger("nonrecours.detection").setLevel(logging.INFO)
        with meter.measure("detect_total"):
            parts = Partitions(scan_workspace(workspace), partitions, out.parent / (out.name + "-parts")) \
                if partitions > 1 else None
            run, _ = det.run_detect(workspace, m, out, backend=cfg.backend, config=detection_config(cfg),
                                    engine_config=engine_config(cfg),
                                    **({} if parts is None else {"partitions": parts,
                                                                 "fresh_processes": not same_process}))
        sizes = parts.sizes() if parts is not None else [run.summary["persons"]]
        components = None
        if parts is not None:
            components = pl.scan_parquet(parts.path).select(pl.col("component").n_unique()).collect().item()
    finally:
        Partitions.tables = original_tables  # type: ignore[method-assign]
        logging.getLogger("nonrecours.detection").removeHandler(children)
        meter.close()  # puts back det.detect as it found it (the plain function)
    steps = meter.report() | children.steps
    whole = [s for n, s in steps.items() if n.startswith("part") and "/" not in n]
    for stage in ("join", "detect", "outputs"):  # the parts' sums (a child's peak is its part's: every step's)
        own = [s for n, s in steps.items() if n.startswith("part") and n.count("/") == 1 and n.endswith(f"/{stage}")]
        peaks = [s["peak_rss_mib"] for s in (whole or own) if s["peak_rss_mib"] is not None]
        steps[stage] = {"calls": sum(s["calls"] for s in own), "wall_s": round(sum(s["wall_s"] for s in own), 3),
                        "cpu_s": round(sum(s["cpu_s"] for s in own), 3), "peak_rss_mib": max(peaks, default=None)}
    return {"steps": steps, "peak_method": meter.peak_method, "persons": run.summary["persons"],
            "persons_per_part": sizes, "components": components,
            "flags": run.flags.lazy().select(pl.len()).collect().item(),
            "units": run.units.lazy().select(pl.len()).collect().item(), "backend": cfg.backend}


def retagged(frame: pl.DataFrame | pl.LazyFrame, copy: int) -> Any:
    """``frame``'s ids as copy ``copy`` of a tiled workspace names them: every pseudonym in a text or list
    column (alone, or after a prefix such as ``caf:``) retagged as ``tile_workspace.retag`` does."""
    def one(e: pl.Expr) -> pl.Expr:
        hexa = e.str.extract(f"({_HEX})$", 1)
        return pl.when(hexa.is_not_null()).then(e.str.slice(0, e.str.len_chars() - 64) + retag(hexa, copy)
                                                ).otherwise(e)

    cols = []
    schema = frame.collect_schema() if isinstance(frame, pl.LazyFrame) else frame.schema
    for name, dtype in schema.items():
        if dtype == pl.String:
            cols.append(one(pl.col(name)).alias(name))
        elif dtype == pl.List(pl.String):
            cols.append(pl.col(name).list.eval(one(pl.element())).alias(name))
    return frame.with_columns(cols)


_SEED = 0x74696C65  # fixed: a row's hash is the same on both sides of a comparison


_CHUNK = 2_000_000
"""Rows hashed at a time from a file (a slice of its scan): 10 million persons' units are 77 million rows."""


def _row_hashes(frames: Iterable[pl.LazyFrame]) -> pl.Series:
    """Each row's 64-bit hash over every column, one frame at a time (that frame's rows in memory, never all of
    them: 100 retagged copies of the reference concatenated in one query took 18 GiB and were killed), sorted."""
    parts = [f.select(pl.struct(pl.all()).hash(_SEED).alias("h")).collect().get_column("h") for f in frames]
    return pl.concat(parts).sort() if parts else pl.Series("h", [], dtype=pl.UInt64)


def _slices(files: Iterable[Path]) -> Iterator[pl.LazyFrame]:
    """The rows of ``files``, ``_CHUNK`` at a time."""
    for f in files:
        n = pl.scan_parquet(f).select(pl.len()).collect().item()
        for start in range(0, n, _CHUNK):
            yield pl.scan_parquet(f).slice(start, _CHUNK)


def _same_rows(a: pl.Series, b: pl.Series) -> dict[str, Any]:
    """``identical_to_retagged_copies``: two sides whose sorted row hashes are ``a`` and ``b`` (``_row_hashes``)
    hold the same rows, each as many times, every column equal (two different rows share a 64-bit hash with a
    chance of about one in 2^64 a pair); else how many rows of each side the other lacks. The rows' order is not
    compared: ``merge_parts`` checks that every file it writes is sorted. In the memory of the hashes (8 bytes a
    row) and of one slice."""
    if a.equals(b):
        return {"identical_to_retagged_copies": True}
    ca, cb = (x.value_counts(name="n").cast({"n": pl.Int64}) for x in (a, b))  # differences below zero
    extra = ca.join(cb, on="h", how="left").select((pl.col("n") - pl.col("n_right").fill_null(0)).clip(0).sum())
    missing = cb.join(ca, on="h", how="left").select((pl.col("n") - pl.col("n_right").fill_null(0)).clip(0).sum())
    return {"identical_to_retagged_copies": False, "rows_not_expected": int(extra.item()),
            "expected_rows_missing": int(missing.item())}


def _counts(frame: pl.LazyFrame, by: list[str]) -> pl.DataFrame:
    return frame.group_by(by).len().collect(engine="streaming").sort(by, nulls_last=True)


def compare_copies(reference: Path, got: Path, copies: int) -> dict[str, Any]:
    """This run's flags and units against ``copies`` retagged copies of the reference's, row for row (one copy,
    one slice of this run's file at a time)."""

    out: dict[str, Any] = {}
    for name in ("flags", "units"):
        ref = pl.scan_parquet(reference / f"{name}.parquet")
        new = pl.scan_parquet(got / f"{name}.parquet")
        ref_rows, new_rows = (f.select(pl.len()).collect().item() for f in (ref, new))
        entry: dict[str, Any] = {"reference_rows": ref_rows, "rows": new_rows,
                                 "rows_are_copies_times_reference": new_rows == copies * ref_rows}
        by = ["benefit", "status", "grade"] if "grade" in ref.collect_schema().names() else ["benefit", "status"]
        entry["counts_by_benefit_status_grade_times_copies"] = _counts(ref, by).with_columns(
            pl.col("len") * copies).equals(_counts(new, by))
        entry.update(_same_rows(_row_hashes(_slices([got / f"{name}.parquet"])),
                                _row_hashes(retagged(ref, c) for c in range(copies))))
        out[name] = entry
    return out


def compare_parts(parts: Path, reference: Path, copies: int) -> dict[str, Any]:
    """For a partitioned run stopped before its merge: the flags and units of the parts it finished (its parts
    folder, ``detection-YYYY-MM/<name>/<part>.parquet``) against the retagged copies of the reference's, on the
    same units, row for row (``_same_rows``, one part file and one copy at a time)."""

    out: dict[str, Any] = {}
    for name in ("flags", "units"):
        files = sorted((parts / name).glob("*.parquet"))
        if not files:
            out[name] = {"parts_done": 0}
            continue
        units = pl.concat([f.select(pl.struct(_KEY).hash(_SEED).alias("k")).collect().get_column("k")
                           for f in _slices(files)])
        ref = pl.scan_parquet(reference / f"{name}.parquet")
        keys = units.implode()
        # each retagged copy is read once: its hashes give both the count and the comparison
        expected = _row_hashes(retagged(ref, c).filter(pl.struct(_KEY).hash(_SEED).is_in(keys)) for c in range(copies))
        entry: dict[str, Any] = {"parts_done": [f.stem for f in files], "rows": units.len(),
                                 "expected_rows_of_their_units": expected.len()}
        entry.update(_same_rows(_row_hashes(_slices(files)), expected))
        out[name] = entry
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", type=Path, required=True)
    ap.add_argument("--config", type=Path, required=True, help="the run.toml whose detection settings are used")
    ap.add_argument("--month", default="2026-06")
    ap.add_argument("--partitions", type=int, default=1)
    ap.add_argument("--out-dir", type=Path, required=True, help="where detection writes its files")
    ap.add_argument("--result", type=Path, required=True, help="the results JSON (a .md beside it)")
    ap.add_argument("--label", default="")
    ap.add_argument("--reference", type=Path, help="the source workspace's detection folder (flags, units)")
    ap.add_argument("--copies", type=int, default=1, help="how many times the workspace tiles the reference's")
    ap.add_argument("--note", default="", help="what the population is (written to the result)")
    ap.add_argument("--partial", type=Path, help="a stopped run's parts folder: compare its finished parts with "
                    "--reference (copies times) and print the result, nothing run")
    ap.add_argument("--keep-parts", type=Path, help="copy the parts' files there before their merge")
    ap.add_argument("--same-process", action="store_true",
                    help="every part in the run's own process (run.toml's fresh_process_per_part = false)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.partial is not None:
        res = compare_parts(args.partial, args.reference, args.copies)
        print(json.dumps(res, indent=2))
        return res
    if args.child:
        res = measured_detect(args.workspace, args.config, args.month, args.partitions, args.out_dir,
                              args.keep_parts, args.same_process)
        print("RESULT " + json.dumps(res))
        return res
    report: dict[str, Any] = {
        "benchmark": "detect at scale, stage by stage (benchmarks/detect_scale_bench.py)", "label": args.label,
        "note": args.note, "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": commit(changes_in="src"), "workspace": str(args.workspace),
        "month": args.month, "partitions": args.partitions,
        "parts_in": "the run's process" if args.same_process else "a child process each",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
                   f"Polars {pl.__version__}",
        "load_average_1min_start": round(os.getloadavg()[0], 2)}
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    started = time.perf_counter()
    with tempfile.TemporaryFile(mode="w+") as err:
        done = subprocess.run([sys.executable, __file__, "--child", "--workspace", str(args.workspace), "--config",
                               str(args.config), "--month", args.month, "--partitions", str(args.partitions),
                               "--out-dir", str(args.out_dir), "--result", str(args.result),
                               *(["--keep-parts", str(args.keep_parts)] if args.keep_parts else []),
                               *(["--same-process"] if args.same_process else [])],
                              env=env, stdout=subprocess.PIPE, stderr=err, text=True)
        if done.returncode:
            err.seek(0)
            sys.stderr.write(err.read()[-5000:])
            raise SystemExit(f"the detection child failed ({done.returncode})")
    report["child_wall_s"] = round(time.perf_counter() - started, 1)
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    report |= json.loads(line[len("RESULT "):])
    report["load_average_1min_end"] = round(os.getloadavg()[0], 2)
    if args.reference is not None:
        report["copies"] = args.copies
        report["reference"] = str(args.reference)
        report["comparison"] = compare_copies(args.reference, args.out_dir, args.copies)
    args.result.parent.mkdir(parents=True, exist_ok=True)
    args.result.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    args.result.with_suffix(".md").write_text(markdown(report), encoding="utf-8")
    print(markdown(report))
    return report


def markdown(r: dict[str, Any]) -> str:
    lines = [f"# detect at scale: {r['persons']:,} persons, {r['partitions']} part(s)", "",
             f"{r['date']}, commit {r['commit']}, {r['machine']}, backend {r['backend']}, month {r['month']}. "
             f"Load average (1 min) {r['load_average_1min_start']} at the start, {r['load_average_1min_end']} at "
             f"the end (2 shared cores: compare CPU seconds). Parts run in {r.get('parts_in', 'the run process')}.",
             ""]
    if r.get("note"):
        lines += [r["note"], ""]
    lines += [f"Persons per part: {', '.join(f'{n:,}' for n in r['persons_per_part'])}; flags {r['flags']:,}, "
              f"units {r['units']:,}; peak memory method: {r['peak_method']}.", "",
              "| step | calls | wall s | CPU s | peak RSS MiB | load start → end |", "|---|---:|---:|---:|---:|---|"]
    for name, s in r["steps"].items():
        load = (f"{s['load_1min_start']:.1f} → {s['load_1min_end']:.1f}" if "load_1min_start" in s else "")
        peak = "—" if s["peak_rss_mib"] is None else f"{s['peak_rss_mib']:,.0f}"
        lines.append(f"| {name} | {s['calls']} | {s['wall_s']:,.1f} | {s['cpu_s']:,.1f} | {peak} | {load} |")
    if "comparison" in r:
        lines += ["", f"Against {r['copies']} copies of the reference ({r['reference']}):", ""]
        for name, c in r["comparison"].items():
            lines.append(f"- {name}: {c['rows']:,} rows = {r['copies']} × {c['reference_rows']:,}: "
                         f"{c['rows_are_copies_times_reference']}; counts by benefit, status, grade × "
                         f"{r['copies']}: {c['counts_by_benefit_status_grade_times_copies']}; identical to the "
                         f"retagged copies row for row: {c['identical_to_retagged_copies']}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
