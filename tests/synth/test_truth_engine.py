"""A synthetic truth whose entitlement OpenFisca-France labels (``synth --truth-engine openfisca``).

The oracle is the test-only environment of the rules (``tests/oracle/environment.py`` installs or finds it);
when it cannot be installed the test FAILS, never skips. A small territory, one extract month (one vectorised
simulation), labelled through the command a user runs; its labels are compared with our rules' on the same
true situations: they agree on at least 99 % of the familles, and every disagreement is listed.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest
from tests.oracle.environment import OracleUnavailable, ensure_oracle
from typer.testing import CliRunner

from nonrecours.cli import app
from nonrecours.detection.evaluate import _truth_engine
from nonrecours.simulation.openfisca_process import OPENFISCA_FRANCE
from nonrecours.synth.extracts import (
    OPENFISCA_LABELLED,
    compare_entitlements,
    entitlements_from_rules,
    familles_evaluated,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("oracle")]  # one OpenFisca runner (pytest -n)

PERSONS = 400
SEED = 11
MONTH = dt.date(2026, 6, 1)
FLOOR = 0.99


@pytest.fixture(scope="module")
def labelled(tmp_path_factory) -> tuple[Path, str]:
    try:
        python = ensure_oracle()
    except OracleUnavailable as exc:  # a failure, never a skip: CI must have its oracle
        pytest.fail(f"the OpenFisca oracle could not be installed: {exc}")
    out = tmp_path_factory.mktemp("openfisca-truth")
    result = CliRunner().invoke(app, ["synth", "--out", str(out), "--persons", str(PERSONS), "--seed", str(SEED),
                                      "--extracts", "--extract-months", "1", "--truth-engine", "openfisca",
                                      "--oracle-python", str(python)])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_the_truth_says_openfisca_labelled_it(labelled) -> None:  # type: ignore[no-untyped-def]
    out, output = labelled
    engine = f"openfisca-france {OPENFISCA_FRANCE}"
    truth = json.loads((out / "truth" / "manifest.json").read_text())
    assert truth["entitlements"] == {"engine": engine, "months": [f"{MONTH:%Y-%m}"],
                                     "benefits": list(OPENFISCA_LABELLED)}
    assert truth["persons"] == PERSONS  # the generator's record is kept beside it
    assert json.loads((out / "extracts" / "manifest.json").read_text())["truth_engine"] == engine
    assert _truth_engine(out / "truth") == engine  # what `nonrecours evaluate` prints above its table
    assert "households/s" in output


def test_openfisca_labels_agree_with_our_rules(labelled) -> None:  # type: ignore[no-untyped-def]
    out, _ = labelled
    truth = out / "truth"
    take_up = pl.read_parquet(truth / "take_up.parquet")
    assert take_up.get_column("month").unique().to_list() == [MONTH]
    theirs = take_up.select("unit_kind", "unit_id", "benefit", "month", "amount")
    ours = entitlements_from_rules(truth, [MONTH], benefits=OPENFISCA_LABELLED)
    score = compare_entitlements(ours, theirs, evaluated=familles_evaluated(truth, [MONTH]))
    for d in score["disagreements"]:
        print("disagreement", d)
        assert d["ours"] is None or d["theirs"] is None or abs(d["ours"] - d["theirs"]) > 1.0
    # not vacuous: the territory has entitled familles for every benefit, and labels were drawn for them
    assert score["unit_months_entitled"] >= 50
    assert {b for b, r in score["per_benefit"].items() if r["agree"]} == {
        "rsa", "ppa", "aspa", "css_free", "css_participation"}
    assert set(take_up.get_column("take_up").unique().to_list()) == {True, False}
    # the CSS participation reads the age of 1 January (arrêté du 21 juin 2019, art. 1), OpenFisca the month's:
    # a famille a member of which changed bracket since then is a documented difference (docs/oracle_disagreements.md),
    # not counted against the floor; any other disagreement is
    crossed = _crossed_a_bracket(truth)
    unexplained = {(d["unit_id"], d["month"]) for d in score["disagreements"]
                   if not (d["benefit"] == "css_participation" and d["unit_id"] in crossed)}
    assert 1 - len(unexplained) / score["unit_months_evaluated"] >= FLOOR, (score, unexplained)
    assert score["disagree"] == len({(d["unit_id"], d["month"]) for d in score["disagreements"]})


def _crossed_a_bracket(truth: Path) -> set[str]:
    """The familles a member of which is in another bracket of the CSS participation (under 30, 30-49, 50-59,
    60-69, 70 and over) on the evaluated month than on 1 January of its year."""
    def bracket(age: pl.Expr) -> pl.Expr:
        return (age >= 30).cast(pl.Int8) + (age >= 50).cast(pl.Int8) + (age >= 60).cast(pl.Int8) \
            + (age >= 70).cast(pl.Int8)

    def age_on(day: dt.date) -> pl.Expr:
        born = pl.col("birth_month")
        before = (born.dt.month() > day.month) | ((born.dt.month() == day.month) & (born.dt.day() > day.day))
        return day.year - born.dt.year() - before.cast(pl.Int32)

    persons = pl.read_parquet(truth / "persons.parquet").filter(pl.col("birth_month").is_not_null())
    moved = persons.filter(bracket(age_on(MONTH.replace(month=1))) != bracket(age_on(MONTH))).select("person_id")
    members = pl.read_parquet(truth / "unit_memberships.parquet").filter(pl.col("unit_kind").cast(pl.String)
                                                                         == "famille")
    return set(members.join(moved, on="person_id").get_column("unit_id").to_list())
