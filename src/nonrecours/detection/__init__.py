"""Detection: engine results and payments → graded, explained non-take-up flags, scored against a truth.

    run, paths = run_detect(workspace, dt.date(2026, 6, 1), out_dir, backend="duckdb")
    core, run = detect_workspace(workspace, dt.date(2026, 6, 1))  # the same month in memory, nothing written
    score = evaluate_run(out_dir, truth_dir, agreement_toml)
"""

from nonrecours.detection.detect import (
    DetectedParts,
    Detection,
    RulesAside,
    core_month,
    core_units,
    detect,
    detect_parts,
    detect_workspace,
    run_detect,
    write_detection,
)
from nonrecours.detection.evaluate import evaluate_run, render_markdown, write_evaluation
from nonrecours.detection.schema import FLAGS_SCHEMA, GRADES, STATUSES, UNITS_SCHEMA
from nonrecours.detection.targets import BENEFITS, DetectionConfig

__all__ = ["BENEFITS", "FLAGS_SCHEMA", "GRADES", "STATUSES", "UNITS_SCHEMA", "DetectedParts", "Detection",
           "DetectionConfig", "RulesAside", "core_month", "core_units", "detect", "detect_parts", "detect_workspace",
           "evaluate_run", "render_markdown", "run_detect", "write_detection", "write_evaluation"]
