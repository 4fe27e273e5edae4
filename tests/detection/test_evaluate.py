"""Scoring a detection run against the synthetic truth, on a small territory run end to end."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import polars as pl
import pytest
from typer.testing import CliRunner

from nonrecours.cli import app
from nonrecours.detection import evaluate_run
from nonrecours.detection.evaluate import _truth_to_workspace, render_markdown
from nonrecours.schemas.benefits import benefit

MONTH = dt.date(2026, 6, 1)


@pytest.fixture(scope="module")
def territory(demo_result):  # type: ignore[no-untyped-def]
    """The session's 1,500-person demo run (tests/conftest.py), read only."""
    return demo_result.out


def test_score_is_consistent(territory):
    score = evaluate_run(territory / "detection" / "2026-06", territory / "truth", territory / "exchange.toml")
    assert score["truth_familles_matched"] > 0
    for b, r in score["benefits"].items():
        assert r["true_non_take_up"] <= r["true_entitled"], b
        for g in r["grades"].values():
            assert g["true_positives"] <= g["flags"]
            for k in ("precision", "recall"):
                assert g[k] is None or 0.0 <= g[k] <= 1.0
        cp = r["grades"]["certain+probable"]
        assert cp["flags"] == r["grades"]["certain"]["flags"] + r["grades"]["probable"]["flags"]
        # every true case not recalled is explained by exactly one of the misses' reasons (an excluded unit graded
        # possible was counted twice: the reasons summed past the misses, an outside tester's probe13)
        assert sum(r["misses"].values()) == r["true_non_take_up"] - cp["true_positives"], (b, r["misses"])


def test_a_run_flagging_exactly_the_truth_scores_perfect_precision(territory, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(territory / "detection" / "2026-06", run)
    units = pl.read_parquet(run / "units.parquet")
    flags = pl.read_parquet(run / "flags.parquet")
    # each benefit's true cases of the payment detection judges (a yearly one's last payment due: August 2025)
    take_up = pl.read_parquet(territory / "truth" / "take_up.parquet").filter(~pl.col("take_up"))
    parts = []
    for (code,), rows in take_up.group_by("benefit"):
        due = benefit(str(code)).due_month(MONTH)
        mapping = _truth_to_workspace(territory / "truth", units, due, territory / "exchange.toml")
        parts.append(rows.filter(pl.col("month") == due).join(mapping, left_on="unit_id", right_on="truth_id")
                     .select(pl.col("unit_id_right").alias("unit_id"), "benefit"))
    truth = pl.concat(parts)
    assert truth.height > 0
    template = flags.head(1)
    perfect = truth.join(template.drop("unit_id", "benefit"), how="cross").with_columns(
        pl.lit("non_take_up").alias("status"), pl.lit("certain").alias("grade")).select(flags.columns)
    perfect.write_parquet(run / "flags.parquet")
    score = evaluate_run(run, territory / "truth", territory / "exchange.toml")
    assert score["benefits"]["ars"]["due_month"] == "2025-08"  # scored on the payment detection judges
    for b, r in score["benefits"].items():
        cp = r["grades"]["certain+probable"]
        if r["true_non_take_up"] == 0:
            continue
        assert cp["precision"] == 1.0, b
        assert cp["recall"] == pytest.approx(1 - r["misses"]["not_in_workspace"] / r["true_non_take_up"]), b


def test_cli_detect_and_evaluate(territory, tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["detect", "--workspace", str(territory / "workspace"), "--month", "2026-06",
                              "--out", str(tmp_path / "run")])
    assert res.exit_code == 0, res.output
    assert "rsa: certain" in res.output
    res = runner.invoke(app, ["evaluate", "--run", str(tmp_path / "run"), "--truth", str(territory / "truth")])
    assert res.exit_code == 0, res.output
    assert "| rsa |" in res.output
    score = json.loads((tmp_path / "run" / "evaluation.json").read_text())
    assert score["month"] == "2026-06"
    assert (tmp_path / "run" / "evaluation.md").read_text().startswith("# Detection scored")
    bad = runner.invoke(app, ["detect", "--workspace", str(territory / "workspace"), "--month", "June",
                              "--out", str(tmp_path / "bad")])
    assert bad.exit_code == 2


def test_recall_of_the_contactable_leaves_out_what_the_truths_own_records_exclude(territory, tmp_path):
    run = territory / "detection" / "2026-06"
    truth = tmp_path / "truth"
    shutil.copytree(territory / "truth", truth)
    before = evaluate_run(run, truth, territory / "exchange.toml")
    take_up = pl.read_parquet(truth / "take_up.parquet").filter(~pl.col("take_up") & (pl.col("month") == MONTH))
    members = pl.read_parquet(truth / "unit_memberships.parquet").filter(
        (pl.col("unit_kind").cast(pl.String) == "famille") & (pl.col("role").cast(pl.String) == "demandeur"))
    cases = (take_up.join(members.select("unit_id", "person_id"), on="unit_id")
             .filter(pl.col("benefit").is_in(["rsa", "ppa", "css_free", "css_participation", "aspa"])))
    objecting, claiming = cases.row(0, named=True), cases.filter(pl.col("unit_id") != cases["unit_id"][0]).row(
        0, named=True)
    # the first objects to any contact (every benefit it is a true case of); the second claimed one benefit in May
    pl.concat([pl.read_parquet(truth / "opt_outs.parquet"),
               pl.DataFrame({"person_id": [objecting["person_id"]], "since": [dt.date(2026, 1, 1)]})],
              how="vertical_relaxed").write_parquet(truth / "opt_outs.parquet")
    claims = pl.read_parquet(truth / "claims.parquet")
    pl.concat([claims, pl.DataFrame({"person_id": [claiming["person_id"]], "benefit": [claiming["benefit"]],
                                     "event": ["pending"], "event_date": [dt.date(2026, 5, 12)]},
                                    schema=claims.schema)]).write_parquet(truth / "claims.parquet")
    after = evaluate_run(run, truth, territory / "exchange.toml")
    objected = set(cases.filter(pl.col("unit_id") == objecting["unit_id"]).get_column("benefit"))
    for b, r in after["benefits"].items():
        was = before["benefits"][b]
        assert r["true_non_take_up"] == was["true_non_take_up"], b  # the truth's cases are unchanged
        assert r["grades"]["certain+probable"]["recall"] == was["grades"]["certain+probable"]["recall"], b
        fewer = (b in objected) + (b == claiming["benefit"] and claiming["unit_id"] != objecting["unit_id"])
        assert r["true_non_take_up_contactable"] <= was["true_non_take_up_contactable"] - fewer, b
        assert r["true_non_take_up_contactable"] <= r["true_non_take_up"], b
        rc = r["grades"]["certain+probable"]["recall_contactable"]
        assert rc is None or 0.0 <= rc <= 1.0
    assert "contactable" in render_markdown(after)


def test_a_truth_matching_none_of_the_runs_familles_is_refused(territory, tmp_path):
    """Another territory's truth (or another agreement's key) scored every benefit 0 %, exit 0: no score at all."""
    from nonrecours.errors import ConfigError

    run = tmp_path / "run"
    shutil.copytree(territory / "detection" / "2026-06", run)
    units = pl.read_parquet(run / "units.parquet")
    # the adults' pseudonyms under another key: no famille of the truth is one of the run's
    units.with_columns(pl.col("adult_ids").list.eval(pl.element().str.reverse())).write_parquet(run / "units.parquet")
    with pytest.raises(ConfigError, match="matches none of the run's familles"):
        evaluate_run(run, territory / "truth", territory / "exchange.toml")


def test_the_markdown_gives_precision_and_recall_per_grade(territory):
    """Issue 8 asks precision and recall per benefit and grade in the Markdown too, not only the JSON: a table of
    each grade's flags, precision and recall (an outside tester's probe13 found only certain+probable there)."""
    score = evaluate_run(territory / "detection" / "2026-06", territory / "truth", territory / "exchange.toml")
    md = render_markdown(score)
    rows = {line.split(" | ")[0].removeprefix("| "): line for line in md.split("Per grade:")[1].splitlines()
            if line.startswith("| ") and not line.startswith("| benefit")}
    assert set(rows) == set(score["benefits"])
    for b, r in score["benefits"].items():
        cells = rows[b].strip("| ").split(" | ")[1:]
        assert [int(cells[3 * k]) for k in range(4)] == [r["grades"][g]["flags"] for g in
                                                         ("certain", "probable", "possible", "all")], b


def test_a_folder_given_wrong_is_said_as_such(tmp_path):
    """``evaluate --truth nope``: exit 2 naming the folder and what it lacks (before: Polars' « No such file or
    directory (os error 2): nope/take_up.parquet », an outside tester's probe13)."""
    run = tmp_path / "run"
    run.mkdir()
    for name in ("summary.json", "units.parquet", "flags.parquet"):
        (run / name).write_text("{}", encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(app, ["evaluate", "--run", str(run), "--truth", str(tmp_path / "nope")])
    assert res.exit_code == 2 and "is no synthetic truth folder: take_up.parquet not found there" in res.output
    res = runner.invoke(app, ["evaluate", "--run", str(tmp_path / "norun"), "--truth", str(tmp_path / "nope")])
    assert res.exit_code == 2 and "is no detection run folder: summary.json" in res.output
