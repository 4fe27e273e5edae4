"""End to end on the demo's pseudonymised workspace: profiles, statistics under secrecy, an outreach list.

Detection is built elsewhere; here a stand-in units table is made from the rules' entitlements and the
payments of the evaluated month (entitled and unpaid = non-take-up, graded certain), only to feed the outputs
with real workspace ids, communes and households.
"""

from __future__ import annotations

import datetime as dt
import secrets
import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from nonrecours.outputs import (
    build_outreach,
    build_statistics,
    open_outreach,
    territory_table,
    unit_profiles,
    write_table,
)
from nonrecours.privacy import Secret, derive_return_key

from .test_statistics import difference_attack

MONTH = dt.date(2026, 6, 1)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(demo_result):  # type: ignore[no-untyped-def]
    """The demo's detection of the month: its units and flags, and the core's reconciled memberships and
    residence (unit ids qualified by agency, as detection writes them). The session's 1,500-person DuckDB demo
    (tests/conftest.py ``demo_result``), read only."""
    out = demo_result.out
    det = out / "detection" / f"{MONTH:%Y-%m}"
    read = {"unit_memberships": pl.read_parquet(det / "memberships.parquet"),
            "persons": pl.read_parquet(det / "residence.parquet"),
            "flags": pl.read_parquet(det / "flags.parquet")}
    return read, pl.read_parquet(det / "units.parquet"), out


@pytest.fixture(scope="module")
def demo_run_folder(demo):
    return demo[2]


def test_statistics_on_the_demo_workspace(demo):
    read, units, _ = demo
    profiles = unit_profiles(read["unit_memberships"], read["persons"], MONTH)
    famille = profiles.filter(pl.col("unit_kind") == "famille")
    assert units.join(famille, on="unit_id", how="anti").height == 0  # every evaluated famille has a profile
    terr = territory_table("cahors")
    # every known commune is a Cahors one; people known only to agencies that give no address have none
    assert famille.drop_nulls("depcom").join(terr, on="depcom", how="anti").height == 0
    table = build_statistics(units, profiles, terr)
    total = table.filter((pl.col("level") == "total") & (pl.col("household_type") == "ensemble"))
    expected = dict(units.group_by("benefit").agg(pl.col("unit_id").n_unique()).iter_rows())
    assert dict(zip(total["benefit"], total["units"], strict=True)) == expected
    assert table.filter(~pl.col("secret")).get_column("units").min() >= 11
    for measure in ("units", "non_take_up_high", "paid"):
        assert difference_attack(table, measure) == set()


def test_outreach_on_the_demo_workspace(demo, tmp_path):
    """Stand-in records (pseudonyms as record numbers), tokenised by build_outreach: one row per person."""
    read, _, _ = demo
    m = read["unit_memberships"].filter(pl.col("unit_kind") == "famille")
    flags = read["flags"].filter(pl.col("benefit").is_in(["rsa", "ppa"]))  # the CAF's list
    assert flags.height > 0
    records = m.select(pl.lit("caf").alias("agency"), "person_id", pl.col("person_id").alias("record_id")).unique()
    keys = {a: derive_return_key(Secret(secrets.token_urlsafe(40).encode()), a, "demo", "outreach")
            for a in ("caf", "cnam", "cnav", "msa")}
    lists = build_outreach(flags, records=records, keys=keys)
    caf = lists["caf"]
    assert caf.height == flags.get_column("claimant_id").n_unique()
    assert caf.get_column("has_record").all()
    paths = write_table(caf, tmp_path, "outreach_caf")
    opened = open_outreach(paths["csv"], keys["caf"])
    assert set(opened.get_column("record_id")) == set(flags.get_column("claimant_id"))
    assert opened.get_column("questions").str.contains("neuf mois").any()


def _caf_matricules(run: Path) -> pl.DataFrame:
    """person pseudonym → CAF matricule, read from the raw CAF extract the way the CAF itself knows them
    (members, type 20, NIR at 12; resources, claims and opt-outs, types 50-70, NIR at 10), pseudonymised
    under the run's exchange key."""
    from nonrecours.privacy import load_agreement, pseudonymise

    lines = pl.read_csv(run / "extracts" / "caf.dat", has_header=False, new_columns=["line"], separator="\x1f",
                        encoding="latin-1", quote_char=None)
    code = pl.col("line").str.slice(0, 2)
    members = lines.filter(code.is_in(["20", "50", "60", "70"])).select(
        pl.col("line").str.slice(2, 7).alias("matricule"),
        pl.when(code == "20").then(pl.col("line").str.slice(11, 15)).otherwise(pl.col("line").str.slice(9, 15))
        .alias("nir"))
    key = load_agreement(run / "exchange.toml").pseudonym_key()
    return pseudonymise(members, "nir", key, key_id_column=None, reason_column=None).drop_nulls().unique()


def _cli(*args: str) -> tuple[int, str]:
    from typer.testing import CliRunner

    from nonrecours.cli import app

    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_the_runs_lists_open_to_the_agencies_own_record_numbers(demo_run_folder, tmp_path):
    """The run's CAF list opens, with the CAF's key file only, to the CAF matricules of the people listed;
    another agency's key fails cleanly (exit 4) and names no token nor record."""
    run = demo_run_folder
    folder = run / "outputs" / f"{MONTH:%Y-%m}"
    listed = pl.read_parquet(folder / "outreach_caf.parquet")
    tokens = pl.read_parquet(run / "workspace" / "return_tokens" / "caf-caf.parquet")
    assert tokens.height > 0 and set(tokens.columns) == {"agency", "person_id", "return_token", "return_key_id",
                                                         "extract_id", "extract_date"}
    raw = _caf_matricules(run)
    # the protected table never holds a raw number: every token differs from every matricule
    assert tokens.join(raw, left_on="return_token", right_on="matricule", how="semi").height == 0
    with_record = listed.filter(pl.col("has_record"))
    assert with_record.height > 0 and with_record.get_column("return_token").is_not_null().all()
    assert listed.filter(~pl.col("has_record")).get_column("return_token").is_null().all()
    out = tmp_path / "opened.csv"
    code, text = _cli("outreach", "open", str(folder / "outreach_caf.csv"), "--agency", "caf",
                      "--key", str(run / "keys" / "caf-return.key"), "--exchange", str(run / "exchange.toml"),
                      "--out", str(out))
    assert code == 0, text
    opened = pl.read_csv(out, separator=";", infer_schema=False)
    assert opened.height == listed.height and "return_token" not in opened.columns
    numbers = opened.get_column("record_id").drop_nulls()
    assert numbers.len() == with_record.height and numbers.str.contains(r"^\d{7}$").all()
    # each number is the matricule of a person the CAF list contacts: the list's claimants, matched through
    # the flags (claimant pseudonyms) to the raw extract
    flags = pl.read_parquet(run / "detection" / f"{MONTH:%Y-%m}" / "flags.parquet")
    claimants = raw.join(flags.select(pl.col("claimant_id").alias("person_id")).unique(), on="person_id")
    assert set(numbers) <= set(claimants.get_column("matricule"))
    assert len(set(numbers)) >= 0.9 * with_record.height  # mostly one dossier per contacted person
    for other in ("cnav", "cnam"):
        code, text = _cli("outreach", "open", str(folder / "outreach_caf.parquet"), "--agency", "caf",
                          "--key", str(run / "keys" / f"{other}-return.key"), "--exchange",
                          str(run / "exchange.toml"), "--out", str(tmp_path / f"{other}.parquet"))
        assert code == 4 and "authentication failed" in text, text
        assert not (tmp_path / f"{other}.parquet").exists()
        assert not any(n in text for n in numbers.to_list())
        assert not any(t in text for t in with_record.get_column("return_token").to_list())
    code, text = _cli("outreach", "open", str(folder / "outreach_caf.parquet"), "--agency", "cnav",
                      "--key", str(run / "keys" / "cnav-return.key"), "--exchange", str(run / "exchange.toml"))
    assert code == 4 and "another agency" in text, text


def test_the_truths_non_take_up_is_keyed_as_the_workspace(demo_run_folder):
    """The truth's non-take-up (the ablation's reference) is keyed as the workspace is: its adults under the
    run's pseudonyms. (That detection on every agency's files gives the run's flags, and what the scenarios
    without each agency give, are tested in tests/outputs/test_ablation.py and on the ablation command below.)"""
    from nonrecours.outputs.ablation import truth_non_take_up

    run = demo_run_folder
    truth = truth_non_take_up(run / "truth", MONTH, run / "exchange.toml")
    assert truth.height > 0 and set(truth.get_column("benefit")) >= {"rsa", "aspa"}
    persons = pl.read_parquet(sorted((run / "workspace" / "persons").glob("*.parquet")), columns=["person_id"])
    assert truth.join(persons, on="person_id", how="semi").height == truth.height  # workspace pseudonyms
    # a yearly benefit's is the payment detection judges, at its due month (as ``nonrecours evaluate`` scores it):
    # the ARS of August 2025 in June 2026, not the ARS the truth draws for June
    from nonrecours.schemas.benefits import benefit as catalogue_row

    take_up = pl.read_parquet(run / "truth" / "take_up.parquet").filter(
        (pl.col("benefit").cast(pl.String) == "ars") & ~pl.col("take_up"))
    due = catalogue_row("ars").due_month(MONTH)
    expected = set(take_up.filter(pl.col("month") == due).get_column("unit_id").cast(pl.String))
    assert expected and set(truth.filter(pl.col("benefit") == "ars").get_column("unit_id")) == expected


def test_the_ablation_command_writes_answer1s_exchange_value(demo_run, tmp_path):
    """On a copy of the session's Polars run (tests/conftest.py ``demo_run``, whose run measured the
    ablation): the command reads the scenarios the stage stored (their flags equal fresh detections:
    tests/outputs/test_ablation.py) and rewrites the stage's table identically (one computation behind both),
    and without the CNAV the ASPA's recall falls (the CNAV holds the pensions and the ASPA paid). Once the
    workspace, the flags or a scenario file differ from the manifest's record, or the configuration is
    another, nothing stored is read."""
    from nonrecours.config import load_config
    from nonrecours.outputs.ablation import stored_scenarios

    run = Path(shutil.copytree(demo_run, tmp_path / "run", symlinks=False))
    cfg = load_config(run / "run.toml")
    stored = stored_scenarios(run, MONTH, cfg)
    every = {"caf", "cnam", "france_travail", "dgfip", "cnav", "msa", "drm"}
    assert set(stored) == {frozenset(every - {a}) for a in every} | {frozenset({"caf"})}
    path = run / "outputs" / f"{MONTH:%Y-%m}" / "answer1_exchange_value.parquet"
    stage_table = pl.read_parquet(path)
    published = pl.read_parquet(run / "outputs" / f"{MONTH:%Y-%m}" / "headline.parquet")
    path.unlink()
    code, text = _cli("ablation", str(run / "run.toml"), "--backend", "polars")
    assert code == 0, text
    table = pl.read_parquet(path)
    assert_frame_equal(table, stage_table)
    # what would make the stored scenarios another workspace's: each one alone turns the reuse off
    other = run / "other.toml"
    other.write_text((run / "run.toml").read_text().replace('backend = "polars"', 'backend = "duckdb"', 1))
    assert load_config(other).digest() != cfg.digest() and stored_scenarios(run, MONTH, load_config(other)) == {}
    scenario = sorted((run / "detection" / f"{MONTH:%Y-%m}" / "ablation").glob("*.parquet"))[0]
    flags = run / "detection" / f"{MONTH:%Y-%m}" / "flags.parquet"
    workspace_file = run / "workspace" / "resources" / "cnav-cnav.parquet"
    for target in (scenario, flags, workspace_file):
        kept = target.read_bytes()
        frame = pl.read_parquet(target)
        frame.head(frame.height - 1).write_parquet(target)
        assert stored_scenarios(run, MONTH, cfg) == {}, target
        target.write_bytes(kept)
        assert len(stored_scenarios(run, MONTH, cfg)) == len(stored)
    shutil.copy2(workspace_file, workspace_file.with_name("cnav-extra.parquet"))  # a file the run did not write
    assert stored_scenarios(run, MONTH, cfg) == {}
    scenarios = set(table.get_column("scenario"))
    assert scenarios == {"toutes", "CAF seule", *(f"sans {a}" for a in ("caf", "cnam", "france_travail", "dgfip",
                                                                          "cnav", "msa", "drm"))}
    assert {"flags_gained", "flags_lost", "precision_change", "recall_change"} <= set(table.columns)
    # the demo's truth is the reference: a recall for every benefit it holds non-take-up of, none elsewhere
    from nonrecours.outputs.ablation import truth_non_take_up

    truth = set(truth_non_take_up(run / "truth", MONTH, run / "exchange.toml").get_column("benefit"))
    # as measured (detection/, never published): the table the command wrote there is the stage's too
    raw = pl.read_parquet(run / "detection" / f"{MONTH:%Y-%m}" / "exchange_value.parquet")
    assert {"_found", "_ref"} <= set(raw.columns) and not {"_found", "_ref"} & set(table.columns)
    full = raw.filter(pl.col("scenario") == "toutes")
    assert len(truth) >= 5 and {"rsa", "aspa"} <= truth
    assert full.filter(pl.col("benefit").is_in(sorted(truth))).get_column("recall").is_not_null().all()
    assert full.filter(~pl.col("benefit").is_in(sorted(truth))).get_column("recall").is_null().all()
    # published: a secret row shows no figure (no count of 1 to 10 flags lost, gained or kept)
    assert table.get_column("secret").any() and not table.filter(~pl.col("secret")).select(
        pl.any_horizontal(pl.col("flags", "flags_lost", "flags_gained").is_between(1, 10))).to_series().any()
    assert table.filter(pl.col("secret")).select(pl.all_horizontal(pl.col(
        "flags", "matched", "lost", "flags_gained", "flags_lost", "precision", "recall")).is_null()).to_series().all()
    assert "reference: truth" in text
    csv = (run / "outputs" / f"{MONTH:%Y-%m}" / "answer1_exchange_value.csv").read_bytes()
    assert csv.startswith(b"\xef\xbb\xbf")
    lead = pl.read_parquet(run / "outputs" / f"{MONTH:%Y-%m}" / "headline.parquet")
    caf_only = table.filter(pl.col("scenario") == "CAF seule").select("benefit", "recall")
    secret = dict(lead.select("benefit", "secret").iter_rows())  # a benefit the statistics keep secret: none
    assert dict(lead.join(caf_only, on="benefit").select("benefit", "recall_caf_only").iter_rows()) == {
        b: None if secret[b] else r for b, r in caf_only.iter_rows()}
    # the headline's other figures stay as the outputs stage published them, under secrecy (summed again from
    # the published answer 3, its hidden scenarios read as 0 flags)
    assert_frame_equal(lead.drop("recall_caf_only"), published.drop("recall_caf_only"))
    aspa = {r["scenario"]: r for r in raw.filter(pl.col("benefit") == "aspa").iter_rows(named=True)}
    assert aspa["toutes"]["flags_gained"] == aspa["toutes"]["flags_lost"] == 0
    assert aspa["toutes"]["recall_change"] == 0
    assert aspa["sans cnav"]["recall"] < aspa["toutes"]["recall"]
    assert aspa["sans cnav"]["flags_lost"] > 0


N2_CONVENTION = {"revenus_n2_renseignes", "revenu_activite_imposable_n2",
                 "pensions_imposables_n2"}
"""Inputs of year N-2 no agency states: the rules then estimate them from the monthly amounts, and the export
states those monthly amounts back to January N-2, so OpenFisca reads the same; not a lack for the replay."""
def test_each_listed_row_finds_one_situation_and_no_identifier_leaves(demo_run_folder):
    """Every row of the demo's lists with a ``situation_id`` has exactly one line in its agency's
    ``openfisca/<agency>.jsonl``, in the list's order, and every line belongs to a row; the situations carry
    neutral keys only: no pseudonym, no NIR-shaped string, no name."""
    import json
    import re

    from nonrecours.audit import read_manifest
    from nonrecours.privacy import find_leaks
    from nonrecours.simulation.export_openfisca import VOCABULARY

    run = demo_run_folder
    out = run / "outputs" / f"{MONTH:%Y-%m}"
    lists = {p.stem.removeprefix("outreach_"): pl.read_parquet(p) for p in sorted(out.glob("outreach_*.parquet"))}
    total = linked = 0
    for agency, frame in lists.items():
        lines = [json.loads(line) for line in (out / "openfisca" / f"{agency}.jsonl").read_text("utf-8").splitlines()]
        ids = frame.get_column("situation_id").drop_nulls().to_list()
        assert [line["situation_id"] for line in lines] == ids and len(set(ids)) == len(ids)
        assert all(re.fullmatch(rf"{agency}-\d{{6}}", i) for i in ids)
        for line in lines:
            sit = line["situation"]
            assert set(sit) == {"individus", "familles", "foyers_fiscaux", "menages"}
            assert line["famille"] in sit["familles"]
            keys = [k for entity in sit.values() for k in entity]
            assert all(re.fullmatch(r"(i|f|ff|m)\d+", k) for k in keys), keys
        total += frame.height
        linked += len(ids)
    assert linked >= 0.95 * total, (linked, total)
    manifest = read_manifest(run)
    (stage,) = [s for s in manifest["stages"] if s["name"] == "outputs"]
    assert stage["counts"][f"{MONTH:%Y-%m} outreach without an OpenFisca situation"] == total - linked
    files = {o["path"] for o in manifest["outputs"]}
    assert {f"outputs/{MONTH:%Y-%m}/openfisca/{a}.jsonl" for a in lists} <= files
    flags = pl.read_parquet(run / "detection" / f"{MONTH:%Y-%m}" / "flags.parquet")
    members = pl.read_parquet(run / "detection" / f"{MONTH:%Y-%m}" / "memberships.parquet")
    pseudonyms = (set(flags["claimant_id"]) | set(members["person_id"]) | set(members["unit_id"])
                  | {u.split(":", 1)[-1] for u in members["unit_id"]})
    people = pl.read_parquet(run / "truth" / "identities.parquet")
    # OpenFisca's own words are no name (« marie », statut_marital, is also a first name)
    names = {n for n in set(people["first_name"]) | set(people["last_name"])
             if len(n) > 3 and n.lower() not in VOCABULARY}
    text = "".join(p.read_text("utf-8") for p in sorted((out / "openfisca").glob("*.jsonl")))
    assert text and not any(p in text for p in pseudonyms)
    assert not find_leaks([out / "openfisca"], names=names)


def test_the_command_prints_a_rows_situation(demo_run_folder, tmp_path):
    """``nonrecours outreach situation LIST SITUATION_ID`` prints the JSON to POST for the row, and fails cleanly
    (exit 3, naming the file) on an id the list does not have."""
    import json

    from typer.testing import CliRunner

    from nonrecours.cli import app

    out = demo_run_folder / "outputs" / f"{MONTH:%Y-%m}"
    first = json.loads((out / "openfisca" / "cnam.jsonl").read_text("utf-8").splitlines()[0])
    row = pl.read_parquet(out / "outreach_cnam.parquet").filter(pl.col("situation_id") == first["situation_id"])
    assert row.height == 1
    runner = CliRunner()
    done = runner.invoke(app, ["outreach", "situation", str(out / "outreach_cnam.csv"), first["situation_id"],
                               "--out", str(tmp_path / "s.json")])
    assert done.exit_code == 0, done.output
    assert json.loads((tmp_path / "s.json").read_text("utf-8")) == first["situation"]
    assert f"familles.{first['famille']}" in done.output
    missing = runner.invoke(app, ["outreach", "situation", str(out / "outreach_cnam.csv"), "cnam-999999"])
    assert missing.exit_code == 3 and "cnam.jsonl" in missing.output


REPLAY_SAMPLE = 40
REPLAY_FLOOR = 0.95
"""Share of the replayed rows (dwelling fully known) whose amounts OpenFisca reproduces within 1 €, per benefit.
Measured on the session's demo (1,500 persons, seed 4, June 2026), through the written files: 34 rows; RSA
34/34, PPA 33/34, ASPA 34/34 (docs/outputs.md; the PPA row: OpenFisca counts a child born on 1 June at charge in
the reference months, docs/oracle_disagreements.md). Earlier, on seed 2 through ``export_situations`` directly: 30/30
each, and RSA 28/30 when OpenFisca computed the month's housing aid instead of reading it (``paid_this_month``)."""


@pytest.mark.xdist_group("oracle")  # with the other OpenFisca tests under pytest -n (one runner)
def test_flagged_units_replay_through_openfisca(demo_run_folder):
    """A sample of the demo's outreach rows, replayed as an agent would: the row's ``situation_id`` finds its
    line in ``openfisca/<agency>.jsonl``, whose situation OpenFisca-France 176.1.8 (the test oracle) computes;
    where the dwelling's inputs are all known, it gets our amounts (the flags' central amounts) within 1 €."""
    import json

    from tests.oracle.environment import OracleUnavailable, ensure_oracle, run_oracle

    from nonrecours.core.workspace import workspace_core_config
    from nonrecours.detection.detect import core_month, read_workspace
    from nonrecours.engine import evaluate, required_inputs

    try:
        python = ensure_oracle()
    except OracleUnavailable as exc:  # a failure, never a skip
        pytest.fail(f"the OpenFisca oracle could not be installed: {exc}")
    run = demo_run_folder
    benefits = ["rsa", "ppa", "aspa"]
    # the core as the run built it: with the resource kinds ingest recorded for each extract's layout
    core = core_month(read_workspace(run / "workspace"), MONTH, workspace_core_config(run / "workspace"))
    det = run / "detection" / f"{MONTH:%Y-%m}"
    flags = pl.read_parquet(det / "flags.parquet")
    ind = core.inputs.individu.select("person_id", "famille_id", "menage_id")
    reads = sorted({i for vs in required_inputs(benefits).values() for i in vs} - N2_CONVENTION)
    unknown = core.unknowns.filter(pl.col("input").is_in(reads))
    by = {e: unknown.filter(pl.col("entity") == e).select(pl.col("id")) for e in ("individu", "famille", "menage")}
    partial = pl.concat([
        ind.join(by["individu"].rename({"id": "person_id"}), on="person_id").select("menage_id"),
        ind.join(by["famille"].rename({"id": "famille_id"}), on="famille_id").select("menage_id"),
        by["menage"].rename({"id": "menage_id"})]).unique()
    flagged = (flags.filter(pl.col("benefit").is_in(benefits) & (pl.col("unit_kind") == "famille"))
               .select(pl.col("unit_id").alias("famille_id"), "claimant_id").unique())
    known = (flagged.join(ind.select("famille_id", "menage_id").unique(), on="famille_id")
             .join(partial, on="menage_id", how="anti"))  # the whole dwelling is exported: all of it known
    # the files an agent reads: each list's rows and its situations, by situation_id
    out = run / "outputs" / f"{MONTH:%Y-%m}"
    rows = pl.concat([pl.read_parquet(p) for p in sorted(out.glob("outreach_*.parquet"))])
    lines = [json.loads(line) for p in sorted((out / "openfisca").glob("*.jsonl"))
             for line in p.read_text(encoding="utf-8").splitlines()]
    by_id = {line["situation_id"]: line for line in lines}
    # which claimant a line is (test side only: through detection's table, by the situation's exact text)
    texts = pl.DataFrame({"situation_id": list(by_id), "famille": [v["famille"] for v in by_id.values()],
                          "situation": [json.dumps(v["situation"], ensure_ascii=False, separators=(",", ":"))
                                        for v in by_id.values()]})
    situations = pl.read_parquet(det / "situations.parquet")
    linked = texts.join(situations, on=["situation", "famille"])
    assert linked.height == texts.height and linked.get_column("claimant_id").is_unique().all()
    sample = (known.join(linked.select("claimant_id", "situation_id"), on="claimant_id")
              .join(rows.select("situation_id", "benefits"), on="situation_id").sort("situation_id")
              .head(REPLAY_SAMPLE))
    assert sample.height >= 20, sample.height
    # the situation as the agent POSTs it to /calculate, read at the line's famille
    ids = sample.get_column("situation_id").to_list()
    results = run_oracle([by_id[i]["situation"] for i in ids], python)
    period = f"{MONTH:%Y-%m}"
    theirs = pl.DataFrame(
        [(i, *(float(r["familles"][by_id[i]["famille"]][b][period]) for b in benefits))
         for i, r in zip(ids, results, strict=True)],
        schema=["situation_id", *[f"of_{b}" for b in benefits]], orient="row")
    ours = evaluate(benefits, core.inputs, MONTH, backend="polars", missing_inputs="error")["famille"]
    both = sample.join(theirs, on="situation_id").join(ours.select("famille_id", *benefits), on="famille_id")
    assert both.height == sample.height
    rates = both.select(*[((pl.col(b) - pl.col(f"of_{b}")).abs() <= 1.0).mean().alias(b) for b in benefits]).row(
        0, named=True)
    assert all(rate >= REPLAY_FLOOR for rate in rates.values()), (rates, both.drop("benefits").to_dicts())
    # the flags' central amounts are these amounts: what the agent reads is what OpenFisca replays, and the row
    # names every benefit flagged
    replayed = flags.join(both.drop("benefits").rename({"famille_id": "unit_id"}), on=["unit_id", "claimant_id"])
    for b in benefits:
        rows_b = replayed.filter(pl.col("benefit") == b)
        assert ((rows_b.get_column("amount_central") - rows_b.get_column(b)).abs() <= 0.01).all(), b
    named = replayed.join(both.select("situation_id", "benefits"), on="situation_id")
    assert named.select(pl.col("benefits").list.contains(pl.col("benefit")).all()).item()
