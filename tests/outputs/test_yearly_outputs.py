"""The outputs of a yearly benefit judged on the payment already due (the ARS of August 2025, judged in June 2026):
its outreach row quotes the facts of the month that decided it, and its OpenFisca situation is that month's, so
the amount replays. Until this, both were the evaluated month's: the facts of June 2026, and a situation whose
ARS is the coming school year's, not the one flagged."""

from __future__ import annotations

import datetime as dt
import re

import polars as pl
import pytest
from tests.detection.conftest import MONTH
from tests.detection.test_yearly_due import AUGUST_2025, _child, _territory

from nonrecours.detection import DetectionConfig, core_month, detect
from nonrecours.detection.detect import _outputs
from nonrecours.outputs import build_outreach, claim_fields_held

BOTH = DetectionConfig(benefits=("rsa", "ars"))


@pytest.fixture(scope="module")
def judged():
    """The yearly-due territory plus a salaried parent of a child of 13 (an ARS due in August 2025 and never
    paid) and a parent without resources of a child of 11 (the ARS of August 2025 and the RSA of June 2026)."""
    t = _territory()
    t.famille("salaried", salary=1200.0)
    _child(t, "salaried", 0, dt.date(2012, 3, 1))
    t.famille("both")
    _child(t, "both", 0, dt.date(2014, 9, 1))
    tables = t.tables()
    core = core_month(tables, MONTH)
    run = detect(core, tables, config=BOTH)
    return run, _outputs(run, core), core


def _flag(run, name: str, benefit: str) -> dict:
    rows = run.flags.filter(pl.col("unit_id").str.ends_with(f":f-{name}") & (pl.col("benefit") == benefit))
    assert rows.height == 1, (name, benefit, run.flags.select("unit_id", "benefit"))
    return rows.row(0, named=True)


def _lists(run, outputs, core, keys) -> pl.DataFrame:
    records = (run.flags.select(pl.col("claimant_id").alias("person_id")).unique()
               .with_columns(pl.lit("caf").alias("agency"), pl.lit("0000000").alias("record_id")))
    lists = build_outreach(run.flags, records=records, keys=keys, provenance=core.provenance,
                           due_provenance=outputs["provenance_due"], situations=outputs["situations"],
                           with_claimant=True, memberships=outputs["memberships"])
    return pl.concat(list(lists.values()))


def test_an_ars_flag_quotes_the_facts_of_the_month_it_was_judged_at(judged, return_keys):
    run, outputs, core = judged
    flag = _flag(run, "salaried", "ars")
    records = (run.flags.select(pl.col("claimant_id").alias("person_id")).unique()
               .with_columns(pl.lit("caf").alias("agency"), pl.lit("0000000").alias("record_id")))
    rows = pl.concat(list(build_outreach(run.flags, records=records, keys=return_keys, provenance=core.provenance,
                                         due_provenance=outputs["provenance_due"], with_claimant=True).values()))
    facts = rows.filter(pl.col("claimant_id") == flag["claimant_id"]).item(0, "known_facts").to_list()
    salaries = [f for f in facts if f.startswith("Salaires")]
    # the facts of August 2025 decided the ARS, not those of June 2026; its salaries of the months before June 2025
    # (the extracts' first) are estimated and decide: asked, not quoted as held
    # (the child's, which the CAF follows and the DRM knows nothing of, held by the CAF: core.resources._COVER_TIERS)
    assert "Allocations chômage : CAF, DRM de l'Assurance retraite (08/2025)" in facts
    assert salaries == [] and "salary_net" in flag["deciding_unknowns"], facts
    assert flag["amount_central"] > 0
    due = outputs["provenance_due"].filter(pl.col("unit_id") == flag["unit_id"])
    assert set(due.get_column("due_month").to_list()) == {AUGUST_2025} and set(due.get_column("benefit")) == {"ars"}
    # the reasons name the same sources: the DRM's of August 2025, never June 2026's (its salary decides, asked; its
    # other incomes are 0, no income sent, not quoted since « Données utilisées » quotes what was sent)
    said = " ".join(flag["reasons"])
    assert set(re.findall(r"\(DRM de l'Assurance retraite (\d\d/\d{4})\)", said)) <= {"08/2025"}, said
    assert any(r.startswith("Données inconnues qui décident") and "salaire net" in r for r in flag["reasons"])
    # the RSA of a famille flagged for both keeps the evaluated month's facts
    both = rows.filter(pl.col("claimant_id") == _flag(run, "both", "rsa")["claimant_id"]).row(0, named=True)
    assert sorted(both["benefits"]) == ["ars", "rsa"]
    assert "Nationalité : CAF (06/2026)" in both["known_facts"], both["known_facts"]


def test_answer_2_counts_an_ars_flags_fields_held_at_the_month_it_was_judged_at(judged):
    """The experiment's answer 2 (claim fields already held) reads the ARS flags' facts where the outreach list
    does: August 2025's (provenance_due), so June 2026's facts change nothing for them, and the RSA's are June's."""
    run, outputs, core = judged
    due = outputs["provenance_due"]
    table = claim_fields_held(run.flags, core.provenance, due_provenance=due)
    ars = table.filter(pl.col("benefit") == "ars").drop("benefit")
    units = run.flags.filter(pl.col("benefit") == "ars").height
    assert ars.filter(pl.col("source") == "toutes").item(0, "units") == units > 0
    # the salaried parent's salary of 2025 (the DRM's), the composition (the CAF's): the due month's sources
    held = due.filter(pl.col("kind").is_in(["observed", "estimated"])).get_column("source_agency").drop_nulls()
    assert {"caf", "drm", "toutes"} <= set(ars.get_column("source")) <= {"toutes", *held.cast(pl.String)}
    assert ars.filter(pl.col("source") == "toutes").item(0, "share_held") > 0
    without_june = claim_fields_held(run.flags, core.provenance.clear(), due_provenance=due)
    assert without_june.filter(pl.col("benefit") == "ars").drop("benefit").equals(ars)
    rsa = {r["source"]: r["share_held"] for r in table.filter(pl.col("benefit") == "rsa").iter_rows(named=True)}
    assert rsa["toutes"] > 0  # the RSA's facts are June's: none held without them
    assert without_june.filter(pl.col("benefit") == "rsa").select("source", "share_held").rows() == [("toutes", 0.0)]


def test_a_famille_flagged_at_two_months_has_each_months_situation(judged):
    run, outputs, _core = judged
    sit = outputs["situations"]
    salaried = sit.filter(pl.col("claimant_id") == _flag(run, "salaried", "ars")["claimant_id"])
    assert salaried.select("month", "benefits").rows() == [(AUGUST_2025, ["ars"])]
    both = sit.filter(pl.col("claimant_id") == _flag(run, "both", "rsa")["claimant_id"]).sort("month")
    assert both.select("month", "benefits").rows() == [(AUGUST_2025, ["ars"]), (MONTH, ["rsa"])]


def test_the_outreach_line_of_a_famille_flagged_at_two_months_carries_both(judged, tmp_path, return_keys):
    import json

    from nonrecours.outputs.situations import read_situation, write_situations

    run, outputs, core = judged
    rows = _lists(run, outputs, core, return_keys)
    path = write_situations(rows, outputs["situations"], tmp_path / "openfisca" / "caf.jsonl")
    lines = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    assert [line["situation_id"] for line in lines] == rows.get_column("situation_id").drop_nulls().to_list()
    claimant = _flag(run, "both", "rsa")["claimant_id"]
    sid = rows.filter(pl.col("claimant_id") == claimant).item(0, "situation_id")
    (line,) = [ln for ln in lines if ln["situation_id"] == sid]
    assert (line["month"], line["benefits"]) == ("2026-06", ["rsa"])
    assert [(e["month"], e["benefits"]) for e in line["earlier"]] == [("2025-08", ["ars"])]
    rows.drop("claimant_id").write_parquet(tmp_path / "outreach_caf.parquet")
    assert read_situation(tmp_path / "outreach_caf.parquet", sid, "2025-08")[1] == line["earlier"][0]["situation"]
    assert read_situation(tmp_path / "outreach_caf.parquet", sid)[1] == line["situation"]


@pytest.mark.xdist_group("oracle")
def test_an_ars_only_famille_replays_its_ars_through_openfisca(judged):
    """The situation exported for a famille flagged for the ARS alone is August 2025's: OpenFisca-France (the test
    oracle) computes the ARS of 2025 on it, our yearly amount within 1 €."""
    from tests.oracle.environment import OracleUnavailable, ensure_oracle, run_oracle

    try:
        python = ensure_oracle()
    except OracleUnavailable as exc:  # a failure, never a skip
        pytest.fail(f"the OpenFisca oracle could not be installed: {exc}")
    run, outputs, _core = judged
    sit = outputs["situations"]
    names = ("salaried", "last_year", "old_payment")
    flags = [_flag(run, n, "ars") for n in names]
    rows = [sit.filter(pl.col("claimant_id") == f["claimant_id"]).row(0, named=True) for f in flags]
    import json

    results = run_oracle([json.loads(r["situation"]) for r in rows], python)
    for name, f, r, res in zip(names, flags, rows, results, strict=True):
        theirs = float(res["familles"][r["famille"]]["ars"]["2025"])
        assert abs(theirs - 12 * f["amount_central"]) <= 1.0, (name, theirs, 12 * f["amount_central"])


@pytest.mark.xdist_group("oracle")
def test_a_cheque_energie_flag_replays_at_the_month_it_was_sent():
    """The chèque énergie judged in June 2026 is the one sent in April 2026: its situation is April's and
    OpenFisca-France computes the cheque of 2026 on it, our amount within 1 € (measured: 8 of 8 equal). The
    territory has no DGFiP yearly table: the income of reference is the months' estimate on both sides (with an
    income of reference of 0, as before, every household here got the first tranche)."""
    import json

    from tests.oracle.environment import OracleUnavailable, ensure_oracle, run_oracle

    try:
        python = ensure_oracle()
    except OracleUnavailable as exc:  # a failure, never a skip
        pytest.fail(f"the OpenFisca oracle could not be installed: {exc}")
    t = _territory()
    t.famille("lowpay", salary=700.0)
    t.famille("pensioner", age=70, pension=900.0)
    t.famille("mid", salary=1300.0)
    _child(t, "mid", 0, dt.date(2012, 3, 1))
    tables = t.tables()
    core = core_month(tables, MONTH)
    run = detect(core, tables, config=DetectionConfig(benefits=("cheque_energie",)))
    sit = _outputs(run, core)["situations"]
    assert set(sit.get_column("month").to_list()) == {dt.date(2026, 4, 1)}
    rows = sit.join(run.flags.select("claimant_id", "amount_central"), on="claimant_id").to_dicts()
    assert len(rows) >= 6 and len({r["amount_central"] for r in rows}) >= 3  # several tranches
    results = run_oracle([json.loads(r["situation"]) for r in rows], python)
    for r, res in zip(rows, results, strict=True):
        (menage,) = res["menages"].values()
        assert abs(float(menage["cheque_energie"]["2026"]) - 12 * r["amount_central"]) <= 1.0, r["claimant_id"]
