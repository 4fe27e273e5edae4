"""Detection as one pipeline stage (the demo's, later the batch job's): detect on the workspace, score
against the synthetic truth when there is one, and say what was written and found."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from nonrecours.detection.detect import run_detect
from nonrecours.detection.evaluate import evaluate_run, render_markdown, write_evaluation

__all__ = ["StageOutput", "detection_stage"]


@dataclass
class StageOutput:
    """Files written (stage name, path) and facts to print (label, text)."""

    paths: list[tuple[str, Path]] = field(default_factory=list)
    facts: list[tuple[str, str]] = field(default_factory=list)


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f} %"


def detection_stage(workspace: Path, month: dt.date, out: Path, *, backend: str = "duckdb",
                    truth: Path | None = None, agreement: Path | None = None) -> StageOutput:
    """Run detection for ``month`` into ``out``; with ``truth`` and ``agreement``, score it there too."""
    stage = StageOutput()
    run, paths = run_detect(workspace, month, out, backend=backend)
    stage.paths += [("detection", p) for p in paths.values()]
    sm = run.summary
    stage.facts.append(("detection coverage", f"{sm['persons']:,} persons in {sm['familles']:,} familles evaluated; "
                        f"{sm['persons_not_evaluated']:,} of the {sm['persons_known']:,} persons the agencies know "
                        "are in no famille and are not evaluated"))
    grades = run.summary["flags_by_benefit_grade"]
    lines = [f"{b}: " + ", ".join(f"{g} {n:,}" for g, n in gs.items()) for b, gs in grades.items()]
    stage.facts.append((f"flags {month:%Y-%m} ({backend}) by benefit and grade", "; ".join(lines)))
    coherence = run.summary["coherence"]
    stage.facts.append(("coherence (paid units our rules find entitled)", "; ".join(
        f"{b} {_pct(c['rate'])} of {c['paid_units']:,}" for b, c in coherence.items())))
    if truth is not None and agreement is not None and (truth / "take_up.parquet").exists():
        score = evaluate_run(out, truth, agreement)
        stage.paths += [("evaluation", p) for p in write_evaluation(score, out).values()]
        stage.facts.append(("evaluation against the synthetic truth", "\n" + render_markdown(score)))
    return stage
