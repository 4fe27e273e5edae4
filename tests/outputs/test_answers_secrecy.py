"""The answers' tables under the statistics' secrecy: no count of 1 to 10 flags or units, and no figure of a
benefit whose whole-file count of flags the statistics keep secret, in any published table, and no differencing
of the headline's flags against answer 3's scenarios gives one back (probe17: the answers published ASI
« flags 7 » and one household's 153.01 € a month where the statistics hid them)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from nonrecours.core.month import PROVENANCE_SCHEMA
from nonrecours.detection.rates import GRADE_COUNTS_SCHEMA, grade_counts
from nonrecours.detection.schema import FLAGS_SCHEMA
from nonrecours.outputs.answers import (
    EXCHANGE_COUNTS,
    SCENARIOS,
    flag_grade_pattern,
    headline,
    secret_answers,
    write_answers,
)
from nonrecours.outputs.report import SECRET_MARK
from nonrecours.outputs.statistics import StatisticsConfig, build_statistics, published_benefits

from .conftest import MONTH, as_units, flag, pid

T = 11
COUNTS = {"answer3_automation": ("flags", "basis_exists_for"),
          "headline": ("flags", "automatic", "prefilled", "outreach"),
          "answer1_unknowns_to_settle": ("flags", "probable", "possible"),
          "answer2_claim_fields_held": ("units",)}
"""The counts of flags or units each answer publishes."""
FIGURES = {"answer3_automation": ("flags", "monthly_amount", "yearly_amount", "share_certain", "error_risk",
                                  "basis_exists_for"),
           "headline": ("units", "non_take_up_rate_low", "non_take_up_rate_central", "non_take_up_rate_high",
                        "yearly_foregone_low", "yearly_foregone_central", "yearly_foregone_high", "flags",
                        "automatic", "prefilled", "outreach", "recall_caf_only"),
           "answer1_unknowns_to_settle": ("flags", "probable", "possible", "monthly_amount", "monthly_amount_high",
                                          "share_of_uncertain_flags"),
           "answer2_claim_fields_held": ("units", "share_held")}
"""Every figure drawn from the flags or units (answer 2's count of the form's fields is the law's)."""


def territory(auto: int = 4, prefilled: int = 20, outreach: int = 30, aspa: int = 3, excluded: int = 0):
    """Flags, units and statistics of a small territory: the free CSS of ``auto`` familles paid the RSA (opened
    automatically), of ``prefilled`` probable ones with one unknown and ``outreach`` possible ones; ``aspa``
    probable ASPA flags; 30 possible prime d'activité flags of which 2 hold money at the central values; 40 units
    paid each benefit; ``excluded`` possible free-CSS non-take-up units excluded from contact (an objection)."""
    rows = [flag(f"rsa{i}", "css_free", "probable", 0.0) for i in range(auto)]
    rows += [flag(f"pre{i}", "css_free", "probable", 0.0, unknowns=("salary_net",)) for i in range(prefilled)]
    rows += [flag(f"out{i}", "css_free", "possible", 0.0, unknowns=("salary_net",)) for i in range(outreach)]
    rows += [flag(f"old{i}", "aspa", "probable", 402.3 + i, unknowns=("pension_gross",)) for i in range(aspa)]
    rows += [flag(f"ppa{i}", "ppa", "possible", 150.0 if i < 2 else 0.0, unknowns=("salary_net",)) for i in range(30)]
    flags = pl.DataFrame(rows, schema=FLAGS_SCHEMA)
    flagged = flags.select("month", "unit_kind", "unit_id", "benefit", "status", "grade", "amount_low",
                           "amount_central", "amount_high", "paid", "claimant_id", "adult_ids",
                           pl.lit(False).alias("receiving"))
    paid = [(MONTH, "individu" if b == "aspa" else "famille", pid(f"paid-{b}{i}"), b, "consistent", "certain",
             amount, amount, amount, amount, True) for b, amount in (("css_free", 0.0), ("aspa", 400.0), ("ppa", 180.0))
            for i in range(40)]
    paid += [(MONTH, "famille", pid(f"rsa{i}/famille"), "rsa", "consistent", "certain", 500.0, 500.0, 500.0,
              500.0, True) for i in range(auto)]
    kept = pl.DataFrame([flag(f"opt{i}", "css_free", "possible", 0.0) for i in range(excluded)], schema=FLAGS_SCHEMA)
    kept = kept.select(flagged.columns[:-1]).with_columns(pl.lit(False).alias("receiving"),
                                                          pl.lit("opt_out").alias("excluded"))
    units = as_units(pl.concat([flagged, kept, pl.DataFrame(
        paid, schema=["month", "unit_kind", "unit_id", "benefit", "status", "grade", "amount_low", "amount_central",
                      "amount_high", "paid", "receiving"], orient="row")], how="diagonal_relaxed"))
    profiles = units.select("unit_kind", "unit_id", pl.lit("46042").alias("depcom"),
                            pl.lit("personne seule").alias("household_type")).unique()
    return flags, units, build_statistics(units, profiles, config=StatisticsConfig(threshold=T))


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    flags, units, stats = territory()
    out = tmp_path_factory.mktemp("answers")
    # the CNAV holds the salary of 3 of the free CSS's flagged familles
    provenance = pl.DataFrame([("individu", pid(f"pre{i}"), MONTH, "salary_net", "observed", "cnav", MONTH)
                               for i in range(3)], schema=PROVENANCE_SCHEMA, orient="row")
    write_answers(out, flags=flags, units=units, provenance=provenance, statistics_table=stats, threshold=T)
    return {stem: pl.read_parquet(out / f"{stem}.parquet") for stem in COUNTS}, stats


def test_a_benefit_whose_count_of_flags_is_secret_has_no_figure_in_any_answer(written):
    tables, stats = written
    assert "aspa" not in published_benefits(stats) and "css_free" in published_benefits(stats)
    for stem, figures in FIGURES.items():
        aspa = tables[stem].filter(pl.col("benefit") == "aspa")
        assert aspa.height, stem
        assert aspa.get_column("secret").all(), stem  # the column says secret: a null is never a 0
        assert aspa.select(pl.all_horizontal(pl.col(*figures).is_null())).to_series().all(), (stem, aspa)


def test_a_scenario_of_few_flags_is_hidden_with_the_smallest_other(written):
    """4 automatic openings of 54 free-CSS flags: hidden, and the 20 pre-filled claims with them, so that the
    headline's 54 less the 30 letters gives 24, two scenarios' sum."""
    tables, _ = written
    auto = {r["scenario"]: r for r in tables["answer3_automation"].filter(pl.col("benefit") == "css_free")
            .iter_rows(named=True)}
    assert auto["ouverture automatique"]["secret"] and auto["ouverture automatique"]["flags"] is None
    assert auto["ouverture automatique"]["basis_exists_for"] is None
    assert auto["demande pré-remplie"]["secret"] and auto["demande pré-remplie"]["flags"] is None
    assert auto["courrier ou rendez-vous des droits"]["flags"] == 30
    head = tables["headline"].filter(pl.col("benefit") == "css_free").row(0, named=True)
    assert head["flags"] == 54 and head["outreach"] == 30 and not head["secret"]
    assert head["automatic"] is None and head["prefilled"] is None
    assert {"automatic", "prefilled"} <= set(head["secret_measures"])


def test_no_published_answer_cell_holds_a_count_of_one_to_ten(written):
    tables, _ = written
    for stem, counts in COUNTS.items():
        for c in counts:
            small = tables[stem].filter(pl.col(c).is_between(1, T - 1))
            assert not small.height, (stem, c, small)
    # answer 1's unknowns: 20 probable and 30 possible name salary_net, published; the ASPA's none
    settle = tables["answer1_unknowns_to_settle"].filter(pl.col("benefit") == "css_free").row(0, named=True)
    assert (settle["flags"], settle["probable"], settle["possible"]) == (50, 20, 30)


def test_an_amount_or_a_share_few_households_make_is_hidden(written):
    """30 letters for the prime d'activité, 2 of them holding money at the central values: the flags are
    published, the amounts (those two households') are not; a share of the free CSS's form held that 3 familles
    make (the CNAV's) is hidden, the units it is a share of are not."""
    tables, stats = written
    assert "ppa" in published_benefits(stats)
    row = tables["answer3_automation"].filter(pl.col("benefit") == "ppa").row(0, named=True)
    assert row["flags"] == 30 and not row["secret"]
    assert row["monthly_amount"] is None and row["yearly_amount"] is None
    assert {"monthly_amount", "yearly_amount"} <= set(row["secret_measures"])
    settle = tables["answer1_unknowns_to_settle"].filter(pl.col("benefit") == "ppa").row(0, named=True)
    assert settle["flags"] == 30 and settle["monthly_amount"] is None and settle["monthly_amount_high"] is None
    held = {r["source"]: r for r in tables["answer2_claim_fields_held"].filter(
        (pl.col("benefit") == "css_free") & (pl.col("population") == "signalés")).iter_rows(named=True)}
    assert held["cnav"]["units"] == 54 and held["cnav"]["share_held"] is None
    assert held["cnav"]["secret_measures"] == ["share_held"]


SHORT = dict(zip(SCENARIOS, ("automatic", "prefilled", "outreach"), strict=True))


def scenario_table(counts: dict[str, tuple[int, int]]) -> pl.DataFrame:
    """answer 3's rows of the free CSS: scenario → (flags, of which certain)."""
    rows = [("css_free", s, n, None, None, round(c / n, 4), round(1 - c / n, 4), 0, "", "")
            for s, (n, c) in counts.items() if n]
    return pl.DataFrame(rows, schema={"benefit": pl.String, "scenario": pl.String, "flags": pl.UInt32,
                                      "monthly_amount": pl.Float64, "yearly_amount": pl.Float64,
                                      "share_certain": pl.Float64, "error_risk": pl.Float64,
                                      "basis_exists_for": pl.UInt32, "legal_basis": pl.String,
                                      "description": pl.String}, orient="row")


STATS = territory()[2]
STATS_RSA = STATS.filter((pl.col("benefit") == "css_free") & (pl.col("level") == "total")
                         & (pl.col("household_type") == "ensemble")).with_columns(pl.lit("rsa").alias("benefit"))
"""A published whole-file RSA row (the free CSS's, renamed): the exchange value's tests read only whether the
statistics publish the benefit."""


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), min_size=3, max_size=3))
def test_differencing_the_headline_against_the_scenarios_reveals_no_small_count(draw):
    counts = {s: (n, min(c, n)) for s, (n, c) in zip(SCENARIOS, draw, strict=True)}
    auto = scenario_table(counts)
    raw = {"answer3_automation": auto, "headline": headline(STATS, auto)}
    certain = sum(c for _, c in counts.values())
    grades = pl.DataFrame([("css_free", "certain", certain, 0), ("css_free", "probable", sum(
        n for n, _ in counts.values()) - certain, 0), ("css_free", "possible", 0, 0)], schema=GRADE_COUNTS_SCHEMA,
        orient="row")
    out = secret_answers(raw, STATS, grades, threshold=T)
    head = out["headline"].filter(pl.col("benefit") == "css_free").row(0, named=True)
    rows = out["answer3_automation"]
    shown = rows.filter(~pl.col("secret"))
    for c in ("flags", "automatic", "prefilled", "outreach"):
        assert head[c] is None or not 0 < head[c] < T, (c, head)
        if head[c] is not None and c != "flags":  # the headline shows what answer 3 shows
            row = rows.filter(pl.col("scenario") == next(s for s, k in SHORT.items() if k == c))
            assert head[c] == (row["flags"][0] if row.height else 0)
    assert not shown.filter(pl.col("flags").is_between(1, T - 1)).height
    if head["flags"] is not None:
        hidden = head["flags"] - int(shown["flags"].sum())
        assert hidden == 0 or hidden >= T  # each hidden row could hold the threshold: none is told small
        assert rows.filter(pl.col("secret")).height != 1 or hidden == 0
    # the shares certain give no count of 1 to 10 certain or uncertain flags
    for r in shown.filter(pl.col("share_certain").is_not_null()).iter_rows(named=True):
        certain = round(r["share_certain"] * r["flags"])
        assert not 0 < certain < T and not 0 < r["flags"] - certain < T, r


def test_the_demo_publishes_no_small_count_and_its_report_marks_each_secret(demo_result):
    """The 1,500-person demo, as the outside tester ran it: the answers beside the report hold no count of 1 to
    10 and no figure of a benefit the statistics keep secret; the report shows each hidden cell as « s »."""
    folder = Path(demo_result.out) / "outputs" / f"{MONTH:%Y-%m}"
    published = published_benefits(pl.read_parquet(folder / "statistics.parquet"))
    tables = {stem: pl.read_parquet(folder / f"{stem}.parquet") for stem in COUNTS}
    assert any(t.get_column("secret").any() for t in tables.values())
    for stem, table in tables.items():
        for c in COUNTS[stem]:
            assert not table.filter(pl.col(c).is_between(1, T - 1)).height, (stem, c)
        hidden = table.filter(~pl.col("benefit").is_in(sorted(published)))
        assert hidden.get_column("secret").all(), stem
        assert hidden.select(pl.all_horizontal(pl.col(*FIGURES[stem]).is_null())).to_series().all(), stem
    page = BeautifulSoup((folder / "report.html").read_text(encoding="utf-8"), "html.parser")
    auto = {(r["benefit"], r["scenario"]): r for r in tables["answer3_automation"].iter_rows(named=True)}
    for tr in page.find("table", id="automatisation").tbody.find_all("tr"):
        r = auto[(tr["data-benefit"], tr["data-scenario"])]
        for td in tr.find_all("td", attrs={"data-col": True}):
            if r[td["data-col"]] is None and r["secret"]:
                assert td.get_text() == SECRET_MARK, (r, td)
    # a published unknown's amount that few households hold: « s », not « — » (undefined)
    settle = {(r["benefit"], r["input"]): r for r in tables["answer1_unknowns_to_settle"].iter_rows(named=True)}
    for tr in page.find("table", id="inconnues").tbody.find_all("tr"):
        r = settle[(tr["data-benefit"], tr["data-input"])]
        for td in tr.find_all("td", attrs={"data-col": True}):
            if {"share": "share_of_uncertain_flags"}.get(td["data-col"], td["data-col"]) in r["secret_measures"]:
                assert td.get_text() == SECRET_MARK, (r, td)
    # the report lists unknowns, each secret measure of its rows shown « s » (since the statistics' tied counts,
    # 7 December 2026, the rows this demo's report lists may hold none; the rendering of a
    # secret measure is tested on the report's own tables, tests/outputs/test_report.py)
    assert page.find("table", id="inconnues").tbody.find_all("tr")


def test_a_summary_without_the_excluded_counts_has_them_from_its_detections_files(demo_result, tmp_path):
    """A run written before the summary held ``excluded_flags_by_benefit_grade`` (read again by ``nonrecours
    ablation`` or a report): its counts come from the detection's flags and units files, the same as the summary
    writes (one count, ``rates.grade_counts``), instead of every count of flags being hidden; with neither, None."""
    import json
    import shutil

    from nonrecours.outputs.answers import summary_grades
    from nonrecours.outputs.report import _flag_secrecy

    det = Path(demo_result.out) / "detection" / f"{MONTH:%Y-%m}"
    summary = json.loads((det / "summary.json").read_text(encoding="utf-8"))
    old = {k: v for k, v in summary.items() if k != "excluded_flags_by_benefit_grade"}
    written = summary_grades(summary)
    assert written is not None and written.get_column("excluded").sum() > 0  # the demo excludes some
    assert_frame_equal(summary_grades(old, det), written)
    stats = pl.read_parquet(Path(demo_result.out) / "outputs" / f"{MONTH:%Y-%m}" / "statistics.parquet")
    published = published_benefits(stats)
    secrecy = _flag_secrecy(summary, published, 3)  # a low threshold: 1,500 persons' flags are all few at 11
    assert _flag_secrecy(old, published, 3, det) == secrecy and not all(secrecy.values())
    bare = tmp_path / "detection"
    bare.mkdir()
    shutil.copy2(det / "flags.parquet", bare / "flags.parquet")  # its units lost: not counted, not guessed
    assert summary_grades(old, bare) is None and summary_grades(old) is None
    assert _flag_secrecy(old, published, T, bare) == {}


def test_the_flags_beside_the_statistics_give_back_no_excluded_count(tmp_path):
    """3 free-CSS units flagged but excluded from contact (an objection): the statistics hide their count, and
    publish the non-take-up of every grade (57); the headline's 54 flags beside them told 3. The flags now hide
    with their scenarios, the rates stay."""
    flags, units, stats = territory(excluded=3)
    whole = stats.filter((pl.col("level") == "total") & (pl.col("household_type") == "ensemble")
                         & (pl.col("benefit") == "css_free")).row(0, named=True)
    assert whole["non_take_up_high"] == 57 and whole["excluded"] is None and "css_free" in published_benefits(stats)
    write_answers(tmp_path, flags=flags, units=units, provenance=pl.DataFrame(schema=PROVENANCE_SCHEMA),
                  statistics_table=stats, threshold=T)
    head = pl.read_parquet(tmp_path / "headline.parquet").filter(pl.col("benefit") == "css_free").row(0, named=True)
    assert not head["secret"] and head["non_take_up_rate_high"] is not None
    assert head["flags"] is None and "flags" in head["secret_measures"]
    auto = pl.read_parquet(tmp_path / "answer3_automation.parquet").filter(pl.col("benefit") == "css_free")
    assert auto.get_column("secret").all() and auto.get_column("flags").is_null().all()
    # the unknowns' share of the flags not certain would give the flags back: hidden with them
    settle = pl.read_parquet(tmp_path / "answer1_unknowns_to_settle.parquet").filter(pl.col("benefit") == "css_free")
    assert settle.get_column("share_of_uncertain_flags").is_null().all()
    # and its probable and possible: where every flag not certain names the unknown, they are the grades'
    assert settle.get_column("flags").to_list() == [50]
    assert settle.get_column("probable").is_null().all() and settle.get_column("possible").is_null().all()
    # answer 2's flagged population is the flags: hidden with them
    held = pl.read_parquet(tmp_path / "answer2_claim_fields_held.parquet").filter(
        (pl.col("benefit") == "css_free") & (pl.col("population") == "signalés"))
    assert held.height and held.get_column("secret").all() and held.get_column("units").is_null().all()
    # 11 excluded: a count the statistics publish, and the flags with it
    flags, units, stats = territory(excluded=11)
    write_answers(tmp_path / "11", flags=flags, units=units, provenance=pl.DataFrame(schema=PROVENANCE_SCHEMA),
                  statistics_table=stats, threshold=T)
    head = pl.read_parquet(tmp_path / "11" / "headline.parquet").filter(pl.col("benefit") == "css_free").row(
        0, named=True)
    assert head["flags"] == 54


def test_grade_counts_counts_the_flags_and_the_excluded_by_grade():
    flags, units, _ = territory(excluded=3)
    grades = {(b, g): (n, x) for b, g, n, x in grade_counts(flags, units).iter_rows()}
    assert grades[("css_free", "probable")] == (24, 0) and grades[("css_free", "possible")] == (30, 3)
    assert grades[("css_free", "certain")] == (0, 0) and grades[("rsa", "certain")] == (0, 0)  # every benefit met


def grade_table(rows: list[tuple[int, int]]) -> pl.DataFrame:
    return pl.DataFrame([("rsa", g, n, x) for g, (n, x) in zip(("certain", "probable", "possible"), rows,
                                                                 strict=True)],
                        schema=GRADE_COUNTS_SCHEMA, orient="row")


def test_a_grade_of_few_excluded_hides_with_another():
    """RSA: 200 certain flags (0 excluded), 40 probable (4 excluded), 60 possible (12 excluded): the probable
    grade hides for its 4, and the possible with it (the total less the certain would give 40 and 4 back)."""
    p = flag_grade_pattern(grade_table([(200, 0), (40, 4), (60, 12)]), {"rsa"}, T)
    assert dict(zip(p["grade"], p["hidden"], strict=True)) == {"certain": False, "probable": True, "possible": True}
    assert not p["total_hidden"].any()
    p = flag_grade_pattern(grade_table([(200, 0), (40, 4), (60, 5)]), {"rsa"}, T)  # 9 excluded in all
    assert p["total_hidden"].all() and p["hidden"].all()
    assert flag_grade_pattern(grade_table([(200, 0), (40, 0), (60, 12)]), set(), T)["hidden"].all()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 15)), min_size=3, max_size=3))
def test_the_published_grades_give_back_no_small_count(draw):
    """Whatever the counts: a published grade's flags and excluded are 0 or at least the threshold, and so are
    the sums the published total less the published grades gives (the hidden grades' flags and excluded)."""
    p = flag_grade_pattern(grade_table(draw), {"rsa"}, T)
    if p["total_hidden"].any():
        assert p["hidden"].all()
        return
    shown, hidden = p.filter(~pl.col("hidden")), p.filter(pl.col("hidden"))
    for c in ("flags", "excluded"):
        assert not shown.filter(pl.col(c).is_between(1, T - 1)).height
        assert not 0 < hidden[c].sum() < T
        assert not 0 < p[c].sum() < T


def test_the_exchange_value_a_run_publishes_holds_no_small_count(demo_run):
    """answer 1's exchange value, published by the outputs stage from the ablation stage's measure (the demo's
    territory run with ``[ablation]``): no count of 1 to 10 flags or reference items, no hidden count, no figure
    of a benefit the statistics keep secret."""
    folder = demo_run / "outputs" / f"{MONTH:%Y-%m}"
    published = published_benefits(pl.read_parquet(folder / "statistics.parquet"))
    value = pl.read_parquet(folder / "answer1_exchange_value.parquet")
    assert not {"_found", "_ref"} & set(value.columns) and value.get_column("secret").any()
    for c in EXCHANGE_COUNTS:
        assert not value.filter(pl.col(c).is_between(1, T - 1)).height, c
    assert value.filter(~pl.col("benefit").is_in(sorted(published))).get_column("secret").all()
    raw = pl.read_parquet(demo_run / "detection" / f"{MONTH:%Y-%m}" / "exchange_value.parquet")
    assert raw.select(pl.any_horizontal(pl.col(*EXCHANGE_COUNTS).is_between(1, T - 1))).to_series().any()


def test_a_scenario_losing_few_flags_hides_its_moves_and_money():
    """RSA, 40 certain and probable flags: without the CNAV 3 are lost (37 flagged): the row publishes its flags,
    not the flags lost and gained nor its amounts (the full run's less its own is those 3 households' money);
    without the DGFiP 5 are flagged: no figure; the CAF alone finds 38 of 40 true cases with 2 wrong: no
    precision, the recall kept."""
    cols = ["scenario", "benefit", "flags", "matched", "lost", "flags_gained", "flags_lost", "precision", "recall",
            "amount_central", "precision_change", "recall_change", "amount_change", "_found", "_ref"]
    rows = [("toutes", "rsa", 40, 40, 20, 0, 0, 1.0, 40 / 60, 20000.0, 0.0, 0.0, 0.0, 40, 60),
            ("sans cnav", "rsa", 37, 37, 23, 0, 3, 1.0, 37 / 60, 18500.0, 0.0, -3 / 60, -1500.0, 37, 60),
            ("sans dgfip", "rsa", 5, 5, 55, 0, 35, 1.0, 5 / 60, 2500.0, 0.0, -35 / 60, -17500.0, 5, 60),
            ("CAF seule", "rsa", 40, 38, 22, 12, 12, 0.95, 38 / 60, 20000.0, -0.05, -2 / 60, 0.0, 38, 60)]
    raw = pl.DataFrame(rows, schema=cols, orient="row")
    grades = grade_table([(28, 11), (12, 0), (20, 0)])
    out = {r["scenario"]: r for r in secret_answers({"answer1_exchange_value": raw}, STATS_RSA, grades,
                                                    threshold=T)["answer1_exchange_value"].iter_rows(named=True)}
    assert out["toutes"]["flags"] == 40 and not out["toutes"]["secret"] and out["toutes"]["precision"] == 1.0
    cnav = out["sans cnav"]
    assert cnav["flags"] == 37 and cnav["flags_lost"] is None and cnav["flags_gained"] is None
    assert cnav["amount_central"] is None and cnav["amount_change"] is None
    assert {"flags_lost", "flags_gained", "amount_central", "amount_change"} <= set(cnav["secret_measures"])
    assert out["sans dgfip"]["secret"] and out["sans dgfip"]["flags"] is None
    caf = out["CAF seule"]
    assert caf["precision"] is None and caf["matched"] is None and caf["recall"] == 38 / 60
    assert caf["flags_gained"] == 12
    # the run's certain and probable flags secret (its probable grade of 10 hides): no count nor amount, the
    # rates stay (a rate without its counts gives none back)
    few = grade_table([(30, 0), (10, 0), (20, 0)])
    shown = secret_answers({"answer1_exchange_value": raw}, STATS_RSA, few, threshold=T)["answer1_exchange_value"]
    counts = ["flags", "matched", "lost", "flags_gained", "flags_lost", "amount_central", "amount_change"]
    assert shown.select(pl.all_horizontal(pl.col(*counts).is_null())).to_series().all()
    rates = {r["scenario"]: r for r in shown.iter_rows(named=True)}
    # to the percent: 0.666667 would say 40/60 (or 2/3 of some multiple), 0.67 holds many fractions
    assert rates["toutes"]["recall"] == 0.67 and rates["sans cnav"]["recall"] == 0.62
    assert rates["toutes"]["precision"] == 1.0 and rates["sans cnav"]["recall_change"] == -0.05
    # 2 wrong of 40: the precision (0.95 is 19/20, a fraction of 38/40's) hides, counts published or not
    assert rates["CAF seule"]["precision"] is None and rates["sans dgfip"]["secret"]


def test_answer2s_paid_population_hides_where_the_statistics_hide_the_units_paid():
    """40 free-CSS familles already paid: answer 2 counts them, as the statistics' whole-file ``paid`` does; where
    the statistics hide that count (a tied pattern), answer 2 hides it too."""
    held = pl.DataFrame([("css_free", "déjà payés", "toutes", 40, 12, 0.5, 40)],
                        schema=["benefit", "population", "source", "units", "fields", "share_held", "_holders"],
                        orient="row", schema_overrides={"units": pl.UInt32, "_holders": pl.UInt32})
    grades = pl.DataFrame([("css_free", g, 30, 0) for g in ("certain", "probable", "possible")],
                          schema=GRADE_COUNTS_SCHEMA, orient="row")
    shown = secret_answers({"answer2_claim_fields_held": held}, STATS, grades, threshold=T)
    assert shown["answer2_claim_fields_held"]["units"].to_list() == [40]
    whole = (pl.col("benefit") == "css_free") & (pl.col("level") == "total") & (pl.col("household_type") == "ensemble")
    hiding = STATS.with_columns(pl.when(whole).then(None).otherwise(pl.col("paid")).alias("paid"),
                                pl.when(whole).then(pl.col("secret_measures").list.concat(pl.lit(["paid"])))
                                .otherwise(pl.col("secret_measures")).alias("secret_measures"))
    shown = secret_answers({"answer2_claim_fields_held": held}, hiding, grades, threshold=T)
    row = shown["answer2_claim_fields_held"].row(0, named=True)
    assert row["units"] is None and row["share_held"] is None and row["secret"]
