"""Statuses, grades, exclusions, links and reasons on hand-made familles whose answer is known."""

from __future__ import annotations

import dataclasses
import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from nonrecours.detection import FLAGS_SCHEMA, UNITS_SCHEMA, DetectionConfig, detect
from nonrecours.detection.confidence import with_unknowns_at
from nonrecours.schemas.benefits import benefit

from .conftest import FIRST, MONTH


@pytest.fixture(scope="module")
def run(territory):
    tables, core = territory
    return detect(core, tables, backend="polars", config=FIRST)


def _unit(run, name: str, benefit: str = "rsa") -> dict:
    rows = run.units.filter(pl.col("unit_id").str.ends_with(f":f-{name}") & (pl.col("benefit") == benefit))
    assert rows.height == 1
    return rows.row(0, named=True)


def _flag(run, name: str, benefit: str = "rsa") -> dict | None:
    rows = run.flags.filter(pl.col("unit_id").str.ends_with(f":f-{name}") & (pl.col("benefit") == benefit))
    return rows.row(0, named=True) if rows.height else None


def test_outputs_follow_the_schemas(run):
    assert run.flags.schema == pl.Schema(FLAGS_SCHEMA)
    assert run.units.schema == pl.Schema(UNITS_SCHEMA)
    assert run.units.select("unit_id", "benefit").is_duplicated().sum() == 0


def test_unknowns_move_the_low_and_high_variants_only(territory):
    _, core = territory
    high = with_unknowns_at(core, "high").individu_monthly
    assert high is not None
    salary = high.filter(pl.col("person_id") == "p-probable").get_column("salary_net")
    assert salary.len() == 13 and (salary == 3000.0).all()
    assert with_unknowns_at(core, "central") is core.inputs


def test_non_take_up_certain_with_no_unknown(run):
    u = _unit(run, "nothing")
    assert (u["status"], u["grade"]) == ("non_take_up", "certain")
    f = _flag(run, "nothing")
    assert f is not None and f["amount_low"] == f["amount_central"] == f["amount_high"] > 500
    assert f["paid"] == 0 and f["deciding_unknowns"] == [] and f["claimant_id"] == "p-nothing"
    assert f["adult_ids"] == ["p-nothing"]


def test_probable_when_only_central_values_give_the_right(run):
    f = _flag(run, "probable")
    assert f is not None and f["grade"] == "probable" and f["status"] == "non_take_up"
    assert f["amount_low"] == 0.0 < f["amount_central"] == f["amount_high"]
    assert f["deciding_unknowns"] == ["salary_net"]


def test_possible_when_a_conventional_value_decides(run):
    """An unknown salary whose central value no data supports (no declared income) cannot make a flag
    probable: it is only possible, with the same amounts as the informed case."""
    f = _flag(run, "conventional")
    assert f is not None and f["grade"] == "possible" and f["status"] == "non_take_up"
    assert f["amount_low"] == 0.0 < f["amount_central"] == f["amount_high"]
    assert f["deciding_unknowns"] == ["salary_net"]


def test_possible_when_only_favourable_values_give_the_right(run):
    f = _flag(run, "possible")
    assert f is not None and f["grade"] == "possible"
    assert f["amount_central"] == 0.0 < f["amount_high"]
    assert "salary_net" in f["deciding_unknowns"]
    assert any("salaire net" in r for r in f["reasons"])
    # it says, before anything else the central values hold, that they do not give the right
    assert f["reasons"][1] == ("Droit seulement si les données inconnues sont favorables : "
                               "pas sur les valeurs centrales.")
    conventional = _flag(run, "conventional")
    assert conventional["reasons"][1].startswith("Droit sur les valeurs centrales, mais")
    assert not any(r.startswith("Droit s") for name in ("probable", "nothing") for r in _flag(run, name)["reasons"])


def test_paid_statuses(run):
    assert _unit(run, "paid")["status"] == "consistent"
    assert _flag(run, "paid") is None
    under = _flag(run, "under")
    assert under is not None and under["status"] == "under_payment" and under["paid"] == 100.0
    rich = _unit(run, "rich")
    assert rich["status"] == "paid_not_entitled" and rich["grade"] is None
    assert _flag(run, "rich") is None  # a self-check, never a contact


def test_under_payment_threshold_is_configurable(territory):
    tables, core = territory
    lax = detect(core, tables, config=FIRST.model_copy(update={"under_payment_share": 0.9}))
    assert lax.units.filter((pl.col("unit_id") == "caf:f-under") & (pl.col("benefit") == "rsa"))["status"][0] \
        == "consistent"


@pytest.mark.parametrize(("name", "exclusion"), [
    ("pending", "pending_claim"), ("refused", "recent_refusal"), ("closed", "recent_closure"),
    ("optout_all", "opt_out"), ("optout_rsa", "opt_out"), ("dead", "deceased_or_gone")])
def test_each_exclusion_removes_the_flag_and_is_counted(run, name, exclusion):
    assert _unit(run, name)["excluded"] == exclusion
    assert _flag(run, name) is None
    assert run.summary["exclusions"][exclusion]["checked"]
    assert run.summary["exclusions"][exclusion]["count"] >= 1


def test_exclusions_are_per_benefit_and_dated(run):
    assert _flag(run, "optout_rsa", "css_free") is not None      # objected to RSA contact only
    assert _flag(run, "optout_all", "css_free") is None
    assert _unit(run, "old_refusal")["excluded"] is None           # refused two years ago
    assert _flag(run, "old_refusal") is not None
    counts = run.summary["exclusions"]
    # optout_rsa for the RSA; optout_all for the RSA and the free CSS (the benefits it would be told about)
    assert counts["opt_out"]["count"] == 3 == run.units.filter(pl.col("excluded") == "opt_out").height
    assert counts["pending_claim"]["count"] == 1


def test_refusal_window_is_configurable_per_benefit(territory):
    tables, core = territory
    cfg = FIRST.model_copy(update={"refusal_months": {"rsa": 36}})
    strict = detect(core, tables, config=cfg)
    assert strict.units.filter((pl.col("unit_id") == "caf:f-old_refusal") & (pl.col("benefit") == "rsa"))[
        "excluded"][0] == "recent_refusal"


def test_no_exclusion_table_is_reported_as_not_checked(territory):
    tables, core = territory
    bare = {k: v for k, v in tables.items() if k not in ("claims", "opt_outs")}
    bare["persons"] = bare["persons"].drop("death_month")
    run = detect(core, bare, config=FIRST)
    assert all(not v["checked"] and v["count"] is None for v in run.summary["exclusions"].values())
    assert run.flags.filter(pl.col("unit_id") == "caf:f-pending").height > 0


def test_missing_rsa_also_misses_the_css_it_brings(run):
    f = _flag(run, "nothing")
    assert f is not None and f["linked"] == ["css_free"]
    assert _flag(run, "nothing", "css_free") is not None
    paid = _flag(run, "under")
    assert paid is not None and paid["linked"] == []   # under-payment: the CSS is already there


def test_reasons_are_short_french_and_name_the_agencies(run):
    f = _flag(run, "nothing")
    assert f is not None
    reasons = f["reasons"]
    assert 2 <= len(reasons) <= DetectionConfig().max_reasons
    assert reasons[0].startswith("RSA estimé")
    assert any("Données utilisées" in r and "(CAF)" in r for r in reasons)
    retiree = _flag(run, "retiree", "aspa")
    assert retiree is not None and any("(Assurance retraite)" in r for r in retiree["reasons"])
    for r in run.flags.get_column("reasons").explode().to_list():
        assert "p-" not in r and "f-" not in r  # no identifier in a letter


def test_aspa_non_take_up(run):
    u = _unit(run, "retiree", "aspa")
    assert (u["status"], u["grade"]) == ("non_take_up", "certain")


def test_coherence_rate_in_the_summary(run):
    c = run.summary["coherence"]["rsa"]
    # paid: paid, under (entitled), rich (not entitled)
    assert c["paid_units"] == 3 and c["entitled"] == 2 and c["rate"] == pytest.approx(2 / 3)
    grades = run.summary["flags_by_benefit_grade"]["rsa"]
    assert sum(grades.values()) == run.flags.filter(pl.col("benefit") == "rsa").height


def test_backends_give_the_same_flags(territory, run, tmp_path, monkeypatch):
    """And DuckDB gets the engine settings (run.toml's memory limit and spill folder) at every evaluation."""
    import duckdb

    from nonrecours.engine import sql_backend

    seen: list[dict] = []
    connect = duckdb.connect

    def spy(*args, config=None, **kw):  # type: ignore[no-untyped-def]
        seen.append(dict(config or {}))
        return connect(*args, config=config, **kw)

    monkeypatch.setattr(sql_backend.duckdb, "connect", spy)
    tables, core = territory
    spill = str(tmp_path / "spill")
    other = detect(core, tables, backend="duckdb", config=FIRST,
                   engine_config={"memory_limit": "1GB", "temp_directory": spill})
    assert seen and all(c["memory_limit"] == "1GB" and c["temp_directory"] == spill for c in seen)
    # amounts agree to a millionth of a euro (float sums in another order); everything else exactly
    assert_frame_equal(run.flags, other.flags, check_exact=False, abs_tol=1e-6)
    assert_frame_equal(run.units, other.units, check_exact=False, abs_tol=1e-6)
    assert run.summary["flags_by_benefit_grade"] == other.summary["flags_by_benefit_grade"]


def test_summary_counts_every_person_evaluated(run, territory):
    tables, _ = territory
    assert run.summary["persons"] == run.summary["persons_known"] == tables["persons"].height
    assert run.summary["persons_not_evaluated"] == 0


def test_repr_prints_no_data(run):
    assert "p-" not in repr(run) and "f-" not in repr(run)
    assert dataclasses.is_dataclass(run)


def test_a_flag_names_the_unknowns_that_decide_it_alone():
    """Three unknowns the RSA reads: a salary (0 to 3,000 €) and studies each take the right away alone; an
    alimony of at most 50 € only lowers the amount. The flag names the first two; without the analysis it
    names all three. The summary counts, per benefit, the flags each unknown decides."""
    from nonrecours.core import UNKNOWNS_SCHEMA, CoreMonth
    from nonrecours.detection import core_month

    from .conftest import MONTH, MONTHS, Territory, unknown_salary

    t = Territory()
    t.famille("mixed")
    t.famille("plain")
    tables = t.tables()
    alimony = pl.DataFrame([{"entity": "individu", "id": "p-mixed", "month": m, "input": "alimony_received",
                             "low": 0.0, "central": 0.0, "high": 50.0, "reason": "pension non transmise",
                             "informed": False} for m in MONTHS], schema=UNKNOWNS_SCHEMA)
    student = pl.DataFrame([{"entity": "individu", "id": "p-mixed", "month": None, "input": "student", "low": 0.0,
                             "central": 0.0, "high": 1.0, "reason": "études non transmises", "informed": False}],
                           schema=UNKNOWNS_SCHEMA)
    core = CoreMonth(month=MONTH, inputs=core_month(tables, MONTH).inputs,
                     unknowns=pl.concat([unknown_salary("p-mixed", 0.0, 0.0, 3000.0, informed=False), alimony,
                                         student]))
    on = detect(core, tables, backend="polars", config=FIRST)
    off = detect(core, tables, backend="polars", config=FIRST.model_copy(update={"decisive_unknowns": False}))
    assert _flag(on, "mixed")["grade"] == "possible"
    assert _flag(on, "mixed")["deciding_unknowns"] == ["salary_net", "student"]
    assert _flag(off, "mixed")["deciding_unknowns"] == ["alimony_received", "salary_net", "student"]
    assert on.summary["decided_by_one_unknown"]["rsa"] == {"salary_net": 1, "student": 1}
    assert _flag(on, "plain")["deciding_unknowns"] == [] and _flag(on, "plain")["grade"] == "certain"
    # the analysis changes the names only: every other column of the flags is the same
    assert_frame_equal(on.flags.drop("deciding_unknowns", "reasons"), off.flags.drop("deciding_unknowns", "reasons"))
    assert _flag(on, "mixed")["reasons"][2] == ("Données inconnues qui décident : salaire net, études "
                                                "(à vérifier auprès de la personne).")


def test_the_decisive_unknowns_do_not_depend_on_the_other_benefits_evaluated_beside():
    """``detect`` asks the decisive unknowns of the month's own targets (every benefit's rules: the plan the
    engine keeps for the month), not of the flagged benefits' alone: an unknown the RSA does not read moves no RSA
    flag, so the unknowns named are the same either way. Targets without a flagged benefit's rules are refused
    (the flag's entitlement could not be read)."""
    from nonrecours.core import UNKNOWNS_SCHEMA, CoreMonth
    from nonrecours.detection import core_month
    from nonrecours.detection.deciding import decisive_unknowns
    from nonrecours.detection.detect import _read_unknowns, _targets

    from .conftest import MONTH, MONTHS, Territory, unknown_salary

    t = Territory()
    t.famille("mixed")
    tables = t.tables()
    alimony = pl.DataFrame([{"entity": "individu", "id": "p-mixed", "month": m, "input": "alimony_received",
                             "low": 0.0, "central": 0.0, "high": 50.0, "reason": "pension non transmise",
                             "informed": False} for m in MONTHS], schema=UNKNOWNS_SCHEMA)
    core = CoreMonth(month=MONTH, inputs=core_month(tables, MONTH).inputs,
                     unknowns=pl.concat([unknown_salary("p-mixed", 0.0, 0.0, 3000.0, informed=False), alimony]))
    famille = core.inputs.individu.filter(pl.col("person_id") == "p-mixed").item(0, "famille_id")
    flags = pl.DataFrame({"famille_id": [famille], "benefit": ["rsa"], "grade": ["possible"],
                          "entitled_central": [True], "deciding_unknowns": [["alimony_received", "salary_net"]]})
    alone = decisive_unknowns(_read_unknowns(core, _targets(("rsa",))), flags)
    every = _targets(FIRST.benefits)
    beside = decisive_unknowns(_read_unknowns(core, every), flags, targets=every)
    assert alone.to_dicts() == beside.to_dicts() == [{"famille_id": famille, "benefit": "rsa",
                                                      "decisive": ["salary_net"]}]
    with pytest.raises(ValueError, match="targets without the rules of a flagged benefit"):
        decisive_unknowns(core, flags, targets=_targets(("aspa",)))


def test_a_payment_our_data_do_not_explain_makes_the_familles_flags_possible():
    # the CAF pays a couple's prime d'activité, but the conjoint's row (and earnings) did not reach us: we see a
    # single adult with no income, whom the rules give the RSA and deny the prime d'activité
    from nonrecours.detection import core_month

    from .conftest import MONTH, MONTHS, Territory

    t = Territory()
    t.famille("hidden")
    t.pay("hidden", "ppa", 250.0, months=MONTHS[-4:])
    t.famille("alone")                            # the same person with nothing paid: the RSA stays probable
    t.famille("earner", salary=3000.0)            # a neighbour with a salary
    tables = t.tables()
    core = core_month(tables, MONTH)
    run = detect(core, tables, config=FIRST)
    assert _unit(run, "hidden", "ppa")["status"] == "paid_not_entitled"
    hidden, alone = _flag(run, "hidden"), _flag(run, "alone")
    assert alone["grade"] == "probable" and hidden["grade"] == "possible"
    assert hidden["amount_central"] == alone["amount_central"]    # the estimate is kept, only its grade falls
    line = next(r for r in hidden["reasons"] if "n'expliquent pas" in r)
    assert "la CAF verse la prime d'activité" in line and "composition du foyer" in line
    assert not any(r.startswith("Droit s") for r in hidden["reasons"])
    assert run.summary["downgraded_by_unexplained_payment"]["rsa"] == 1
    assert run.summary["downgraded_by_unexplained_payment"]["css_free"] == (
        1 if (_flag(run, "alone", "css_free") or {}).get("grade") in ("certain", "probable") else 0)
    # the treatment is a setting: without it, the contradicted flag keeps its grade
    kept = detect(core, tables, config=FIRST.model_copy(update={"contradicting_payments": ()}))
    assert _flag(kept, "hidden")["grade"] == "probable"
    assert kept.summary["downgraded_by_unexplained_payment"]["rsa"] == 0


def test_an_rsa_only_france_travail_reports_is_named_as_reported_not_as_paid():
    """France Travail reports a worker earning 1,500 € a month as « bénéficiaire du RSA », which our rules deny on
    every value of the unknowns (paid_not_entitled): the famille's probable prime d'activité falls to possible,
    and its reason names France Travail as reporting the RSA, never the CAF (which pays nothing) as paying it."""
    from nonrecours.detection import core_month

    from .conftest import MONTH, Territory

    t = Territory()
    t.famille("reported", salary=1500.0)
    t.famille("plain", salary=1500.0)     # the same person without the report: the prime d'activité stays probable
    tables = t.tables()
    receipt = pl.DataFrame({"person_id": ["p-reported"], "benefit": ["rsa"], "month": [MONTH],
                            "source_agency": ["france_travail"], "extract_id": ["ft"],
                            "extract_date": [dt.date(2026, 6, 28)]})
    tables = {**tables, "benefit_receipts": receipt}
    run = detect(core_month(tables, MONTH), tables, config=FIRST)
    assert _unit(run, "reported")["status"] == "paid_not_entitled"
    assert _flag(run, "plain", "ppa")["grade"] == "probable"
    reported = _flag(run, "reported", "ppa")
    assert reported["grade"] == "possible"
    line = next(r for r in reported["reasons"] if "n'expliquent pas" in r)
    assert line.startswith("Signalement ramené à « possible » : France Travail signale que cette famille perçoit "
                           "le RSA, qu'aucun organisme payeur ne déclare et que nos données n'expliquent pas")
    assert "verse" not in line and "CAF" not in line


def test_a_workspace_without_any_resource_row_is_detected():
    """No agency sent a single resource (a territory of people without income, or extracts of payments and
    memberships only): the unknowns given for every month read are spelled out on the core's months, not
    refused for want of a monthly row; two persons alone without income are entitled to the RSA, probable (no DGFiP
    declaration: their profit is unknown)."""
    from nonrecours.detection import core_month

    from .conftest import MONTH, Territory

    t = Territory()
    t.famille("alone")
    t.famille("other")
    tables = t.tables()
    assert "resources" not in tables or tables["resources"].height == 0
    core = core_month(tables, MONTH)
    assert len(core.months_read) > 12 and core.months_read[-1] == MONTH
    run = detect(core, tables)
    rsa = run.flags.filter(pl.col("benefit") == "rsa")
    assert rsa.height == 2 and set(rsa.get_column("grade")) == {"probable"}


def test_default_windows_are_those_of_a_run_with_default_thresholds():
    """``nonrecours detect`` (DetectionConfig's defaults) and ``nonrecours run`` without
    ``[thresholds.exclusion_months]`` exclude on the same windows: the catalogue's (on a 5,000-person demo the
    two gave 80 and 77 ASPA flags on the same workspace, three familles closed 4 to 6 months before)."""
    from types import SimpleNamespace

    from nonrecours.config import BENEFITS_ASKED, DetectionOptions, Thresholds
    from nonrecours.run import detection_config

    run_toml = SimpleNamespace(thresholds=Thresholds(), benefits=list(BENEFITS_ASKED), detection=DetectionOptions())
    run_windows = detection_config(run_toml)
    default = DetectionConfig()
    assert default.refusal_months == run_windows.refusal_months
    assert default.closure_months == run_windows.closure_months
    assert default.closure_months["aspa"] == benefit("aspa").exclusion_months == 6
    assert default.refusal_months["rsa"] == benefit("rsa").exclusion_months == 3


def test_a_closure_within_the_catalogue_window_excludes_at_default(territory):
    """An ASPA closed five months before the month: inside the ASPA's 6-month window (the catalogue's), so the
    retiree is excluded at the default configuration; an RSA closed five months before is outside its 3."""
    tables, core = territory
    closed = pl.DataFrame([
        {"unit_kind": "famille", "unit_id": "f-retiree", "person_id": None, "benefit": "aspa", "event": "closed",
         "event_date": dt.date(2026, 1, 5), "source_agency": "cnav"},
        {"unit_kind": "famille", "unit_id": "f-nothing", "person_id": None, "benefit": "rsa", "event": "closed",
         "event_date": dt.date(2026, 1, 5), "source_agency": "caf"}], schema=tables["claims"].schema)
    res = detect(core, {**tables, "claims": pl.concat([tables["claims"], closed])}, backend="polars",
                 config=DetectionConfig(benefits=FIRST.benefits))
    assert _unit(res, "retiree", "aspa")["excluded"] == "recent_closure"
    assert _flag(res, "retiree", "aspa") is None
    assert _unit(res, "nothing")["excluded"] is None
    assert _flag(res, "nothing") is not None


@pytest.mark.slow
def test_france_travail_rsa_recipient_is_received(territory):
    """A famille no payer shows as paid the RSA (the CAF's extract lost it) but one of whose adults France Travail
    reports as « bénéficiaire du RSA » that month receives it: consistent, paid 0 (no payer's amount, not an
    under-payment), never flagged; the same famille without the report is a certain non-take-up."""
    tables, core = territory
    receipt = pl.DataFrame({"person_id": ["p-nothing"], "benefit": ["rsa"], "month": [dt.date(2026, 6, 1)],
                            "source_agency": ["france_travail"], "extract_id": ["ft"],
                            "extract_date": [dt.date(2026, 6, 28)]})
    out = detect(core, {**tables, "benefit_receipts": receipt}, backend="polars", config=FIRST)
    u = _unit(out, "nothing")
    assert (u["status"], u["paid"]) == ("consistent", 0.0)
    assert _flag(out, "nothing") is None
    assert _flag(out, "probable") is not None  # the others keep their flags
    assert out.summary["received_reported_only"]["rsa"] == 1
    without = detect(core, tables, backend="polars", config=FIRST)
    assert _unit(without, "nothing")["status"] == "non_take_up"
    # a report of two months ago: received only within the grace months
    old = receipt.with_columns(pl.lit(dt.date(2026, 4, 1)).alias("month"))
    assert _unit(detect(core, {**tables, "benefit_receipts": old}, backend="polars", config=FIRST),
                 "nothing")["status"] == "non_take_up"
    graced = FIRST.model_copy(update={"grace_months": 2})
    assert _unit(detect(core, {**tables, "benefit_receipts": old}, backend="polars", config=graced),
                 "nothing")["status"] == "consistent"
    # a paid famille keeps the payer's amount
    paid = receipt.with_columns(pl.lit("p-under").alias("person_id"))
    run_paid = detect(core, {**tables, "benefit_receipts": paid}, backend="polars", config=FIRST)
    u = _unit(run_paid, "under")
    assert (u["status"], u["paid"]) == ("under_payment", 100.0)
    assert run_paid.summary["received_reported_only"]["rsa"] == 0  # a payer's row already shows it


def _alimony_territory() -> dict[str, pl.DataFrame]:
    """Two single MSA members earning 1,000 € a month (the DRM's salary lines), on the DGFiP's declarations;
    p-alim declares 4,080 € of alimony received a year, p-plain none. Nobody is paid anything."""
    from .conftest import Territory

    t = Territory()
    for name in ("alim", "plain"):
        t.famille(name, agency="msa", salary=1000.0)
    for m in t.members:
        if m["unit_kind"] == "foyer_fiscal":
            m["source_agency"] = "dgfip"
    tables = t.tables()
    tables["annual_income"] = pl.DataFrame(
        {"person_id": ["p-alim", "p-alim", "p-plain"], "year": [2025] * 3, "kind": ["salaries", "alimony", "salaries"],
         "amount": [12000.0, 4080.0, 12000.0], "source_agency": ["dgfip"] * 3, "extract_id": ["dgfip"] * 3,
         "extract_date": [dt.date(2026, 6, 28)] * 3}, schema_overrides={"year": pl.Int16})
    return tables


@pytest.mark.parametrize(("msa_kinds", "grade"), [
    # the MSA's default layout: salaries and pensions, no alimony; its silence on the alimony is no zero, the
    # DGFiP's 340 € a month is the central value and the prime d'activité is entitled at the low end only
    (["pension_gross", "pension_net", "salary_net"], "possible"),
    # a team's own MSA mapping carrying alimony lines: its silence on the alimony the DGFiP declares is no certain
    # zero either (6 December 2026: it was, the flag « certain »), but its 0 is the low end (the alimony may have
    # stopped): the prime d'activité at the favourable end is p-plain's, who has none, not that of 255 € of alimony
    (["alimony", "pension_gross", "pension_net", "salary_net"], "possible"),
])
@pytest.mark.slow
def test_the_resource_kinds_recorded_at_ingest_decide_a_followers_zero(tmp_path, msa_kinds: list[str], grade: str):
    """``run_detect`` builds the core with the resource kinds each extract's mapping carries, as ingest recorded
    them in the workspace's reports (``core.workspace.follower_kinds``); Polars and DuckDB flag the same."""
    import json

    from nonrecours.detection import run_detect

    tables = _alimony_territory()
    ws = tmp_path / "ws"
    for name, frame in tables.items():
        (ws / name).mkdir(parents=True)
        parts = frame.partition_by("source_agency", as_dict=True) or {("msa",): frame}  # nothing paid: known
        for (agency,), rows in parts.items():
            rows.write_parquet(ws / name / f"{agency}-x.parquet")
    (ws / "reports").mkdir()
    recorded = {"msa": msa_kinds, "drm": ["salary_net"], "dgfip": [], "caf": ["alimony", "salary_net"]}
    for agency, kinds in recorded.items():
        (ws / "reports" / f"{agency}-x.json").write_text(json.dumps(
            {"agency": agency, "extract_id": "x", "famille_payments_on_member_lines": agency == "msa",
             "resource_kinds": kinds}))
    runs = {b: run_detect(ws, MONTH, tmp_path / b, backend=b, config=FIRST)[0] for b in ("polars", "duckdb")}
    assert_frame_equal(runs["polars"].flags, runs["duckdb"].flags)
    flags = runs["polars"].flags.filter(pl.col("benefit") == "ppa")
    grades = dict(flags.select("unit_id", "grade").iter_rows())
    assert grades == {"msa:f-alim": grade, "msa:f-plain": "certain"}
    high = dict(runs["polars"].units.filter(pl.col("benefit") == "ppa").select("unit_id", "amount_high").iter_rows())
    assert (high["msa:f-alim"] == pytest.approx(high["msa:f-plain"])) == ("alimony" in msa_kinds)
    assert runs["polars"].summary["follower_kinds"]["msa"] == tuple(msa_kinds)


def test_amount_range_reaches_the_unfavourable_corner(territory):
    """The least favourable amount is the one at the unknowns' unfavourable ends, even when no one-sided corner
    gives it: a woman living alone whose housing no agency describes (housed at no cost or not: the forfait
    logement, CASF art. R262-9) and whose pregnancy is unknown (the majorated amount, L262-9). All unknowns high
    is pregnant and housed at no cost (the majorated amount less the forfait, above the central value), all low
    is the central value; the forfait alone is the unfavourable corner, and the least favourable RSA. Her dwelling
    is bought on a loan signed after 2018 (no housing aid in accession, no advantage in kind): a tenant would
    be due a housing aid, and the RSA she must claim with it takes the forfait at every corner (L262-10)."""
    tables, core = territory
    fam = core.inputs.individu.filter(pl.col("person_id") == "p-nothing")["famille_id"].item()
    menage = core.inputs.individu.filter(pl.col("person_id") == "p-nothing")["menage_id"].item()
    owner = core.inputs.menage.with_columns(
        pl.when(pl.col("menage_id") == menage).then(pl.lit("owner_with_loan")).otherwise("housing_status")
        .alias("housing_status"))
    core = dataclasses.replace(core, inputs=dataclasses.replace(core.inputs, menage=owner))
    rows = pl.DataFrame({"entity": ["famille", "individu"], "id": [fam, "p-nothing"], "month": [None, None],
                         "input": ["hosted_free_of_charge", "pregnant"], "low": [0.0, 0.0],
                         "central": [0.0, 0.0], "high": [1.0, 1.0], "reason": ["logement", "grossesse"],
                         "informed": [False, False]}, schema=core.unknowns.schema)
    moved = dataclasses.replace(core, unknowns=pl.concat([core.unknowns, rows]))
    u = _unit(detect(moved, tables, backend="polars", config=FIRST), "nothing")
    central = _unit(detect(core, tables, backend="polars", config=FIRST), "nothing")["amount_central"]
    from nonrecours.engine import evaluate

    plein = evaluate(["rsa_forfait_logement_plein"], core.inputs, MONTH)["famille"]
    forfait = plein.filter(pl.col("famille_id") == fam)["rsa_forfait_logement_plein"].item()
    assert u["amount_central"] == central
    assert u["amount_high"] > central
    assert u["amount_low"] == pytest.approx(central - forfait, abs=0.01)


@pytest.mark.parametrize("missing", ["persons", "unit_memberships"])
def test_a_workspace_without_persons_or_memberships_names_the_table(tmp_path, missing):
    """Detection needs both; the error names the absent one (it named the workspace's folder as a table)."""
    from nonrecours.detection.detect import read_workspace
    from nonrecours.errors import SchemaError

    from .conftest import Territory

    t = Territory()
    t.famille("alone")
    for name, frame in t.tables().items():
        if name != missing:
            (tmp_path / "ws" / name).mkdir(parents=True)
            frame.write_parquet(tmp_path / "ws" / name / "caf-x.parquet")
    with pytest.raises(SchemaError, match=rf"^table {missing}: the workspace .*ws has no {missing} table"):
        read_workspace(tmp_path / "ws")


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(st.tuples(st.none() | st.text("abé0 ", max_size=3), st.none() | st.integers(-3, 3),
                               st.none() | st.text("xyÉ", max_size=2)), max_size=25),
       nulls_last=st.booleans())
def test_outputs_sorted_on_ranks_as_on_the_text(rows, nulls_last):
    """The outputs' sort on each text key's rank among its distinct values gives the rows in the order a sort on
    the text gives (nulls first or last as asked, accents and empty strings included)."""
    from nonrecours.detection.detect import _sorted

    frame = pl.DataFrame(rows, schema={"a": pl.String, "n": pl.Int64, "b": pl.String}, orient="row")
    for keys in (["a"], ["a", "n", "b"], ["n", "b"]):
        assert _sorted(frame, keys, nulls_last).equals(frame.sort(keys, nulls_last=nulls_last, maintain_order=True))


def test_duplicated_keys_found_through_hashes_and_exactly():
    from nonrecours.detection.confidence import _duplicated

    keys = pl.DataFrame({"id": ["a", "b", "a"], "month": [1, 1, 2]})
    assert not _duplicated(keys) and _duplicated(pl.concat([keys, keys.head(1)]))
    assert not _duplicated(keys.head(0))
