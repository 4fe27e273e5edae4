"""The three answers: data to exchange (static and measured), claim fields held, automation scenarios."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from nonrecours.core.month import PROVENANCE_SCHEMA
from nonrecours.detection.schema import DUE_PROVENANCE_SCHEMA, FLAGS_SCHEMA, UNITS_SCHEMA
from nonrecours.errors import SchemaError
from nonrecours.outputs.answers import (
    agency_columns,
    automation_scenarios,
    claim_fields_held,
    data_to_exchange,
    exchange_value,
    headline,
    unknowns_to_settle,
    write_answers,
)
from nonrecours.outputs.law import claim_fields_frame
from nonrecours.outputs.statistics import StatisticsConfig, build_statistics
from nonrecours.outputs.writers import BOM

from .conftest import FLAG_ROWS, MONTH, flag, pid

# The agencies each fixture flag needs to be found (in FLAG_ROWS order).
NEEDS = [{"caf", "dgfip"}, {"caf", "cnam"}, {"msa"}, {"cnav"}, {"cnav", "cnam"}, {"cnam"}, {"caf", "dgfip"},
         {"caf"}, {"caf"}, {"france_travail"}, {"msa"}]


def fake_detection(agencies: set[str]) -> pl.DataFrame:
    """Stands for the real pipeline: a flag needs its agencies' extracts; without the CNAM's payments, two
    people already covered by the CSS look like non-take-up (false positives)."""
    keep = [row for row, need in zip(FLAG_ROWS, NEEDS, strict=True) if need <= agencies]
    if "cnam" not in agencies and "caf" in agencies:
        keep += [flag("paid1", "css_free", "probable", 0.0), flag("paid2", "css_free", "certain", 0.0)]
    return pl.DataFrame(keep, schema=FLAGS_SCHEMA)


def test_data_to_exchange_reads_rules_and_mappings():
    table = data_to_exchange()
    rsa = {r["input"]: r for r in table.filter(pl.col("benefit") == "rsa").iter_rows(named=True)}
    assert rsa["unemployment"]["agencies"] == ["caf", "drm", "france_travail"]
    assert rsa["rent"]["agencies"] == ["caf"] and rsa["rent"]["columns"] == ["housing.rent"]
    assert "dgfip" in rsa["revenu_activite_imposable_n2"]["agencies"]
    assert rsa["rsdae"]["supplied"] and rsa["rsdae"]["agencies"] == ["caf"]  # MDPH decision, through the CAF
    aspa = set(table.filter(pl.col("benefit") == "aspa").get_column("input"))
    assert "pension_gross" in aspa and "rent" not in aspa  # the IR says ASPA does not read the rent
    carried = agency_columns()
    assert carried.filter((pl.col("agency") == "france_travail") & (pl.col("table") == "resources")
                          & (pl.col("column") == "amount")).get_column("qualifier").to_list() == [
        "unemployment_benefit"]


def test_exchange_value_measures_each_agency():
    table = exchange_value(fake_detection, grades=("certain", "probable", "possible"))
    row = {(r["scenario"], r["benefit"]): r for r in table.iter_rows(named=True)}
    full = row[("toutes", "rsa")]
    assert full["precision"] == 1.0 and full["recall"] == 1.0 and full["lost"] == 0
    assert row[("sans france_travail", "rsa")]["lost"] == 1  # Loïc is known to France Travail only
    assert row[("sans france_travail", "rsa")]["recall"] == pytest.approx(3 / 4)
    no_cnam = row[("sans cnam", "css_free")]
    assert no_cnam["flags"] == 2 and no_cnam["matched"] == 0 and no_cnam["precision"] == 0.0
    # a coverage: no money (its amounts are a participation), null, never 0; the cash benefits' are money
    assert no_cnam["amount_central"] is None and no_cnam["amount_change"] is None
    assert full["amount_central"] > 0 and row[("sans france_travail", "rsa")]["amount_change"] < 0
    assert no_cnam["recall"] == 0.0 and no_cnam["lost"] == 2
    caf = row[("CAF seule", "rsa")]
    assert caf["recall"] == pytest.approx(1 / 4)  # Élodie (needs DGFiP), Jérôme (MSA), Loïc (FT) lost
    assert ("CAF seule", "aspa") not in row or row[("CAF seule", "aspa")]["recall"] == 0.0


def test_exchange_value_against_a_truth():
    truth = pl.DataFrame({"person_id": [pid("loic"), pid("elodie"), pid("nobody")], "benefit": ["rsa"] * 3})
    table = exchange_value(fake_detection, truth=truth)
    full = table.filter((pl.col("scenario") == "toutes") & (pl.col("benefit") == "rsa")).row(0, named=True)
    assert full["recall"] == pytest.approx(2 / 3) and full["lost"] == 1
    assert full["precision"] == pytest.approx(2 / 4)  # Élodie's partner René counts as Élodie's unit


@pytest.fixture
def units() -> pl.DataFrame:
    rows = [(MONTH, "famille", pid("noel/famille"), "rsa", "consistent", "certain", 500.0, 520.0, 540.0, 520.0, None),
            (MONTH, "famille", pid("paid/famille"), "rsa", "consistent", "probable", 300.0, 350.0, 400.0, 350.0, None),
            (MONTH, "famille", pid("elodie/famille"), "rsa", "non_take_up", "certain", 580, 612.5, 640, 0.0, None)]
    base = list(UNITS_SCHEMA)[:11]  # the columns these rows give; detection's extra columns stay null here
    frame = pl.DataFrame(rows, schema={c: UNITS_SCHEMA[c] for c in base}, orient="row")
    frame = frame.with_columns((pl.col("paid") > 0).alias("receiving"))
    return frame.with_columns(pl.lit(None, dtype=UNITS_SCHEMA[c]).alias(c) for c in UNITS_SCHEMA
                              if c not in frame.columns).select(list(UNITS_SCHEMA))


def test_claim_fields_held(flags, provenance, units):
    members = pl.DataFrame({"unit_id": [pid("paid/famille")], "person_id": [pid("paid")]})
    prov = pl.concat([provenance, pl.DataFrame(
        [("individu", pid("paid"), MONTH, "salary_net", "observed", "caf", MONTH)],
        schema=provenance.schema, orient="row")])
    table = claim_fields_held(flags, prov, paid_units=units, members=members)
    rsa = {(r["population"], r["source"]): r for r in table.filter(pl.col("benefit") == "rsa").iter_rows(named=True)}
    # Élodie's unit: birth date (CAF), salaries (DGFiP), unemployment (France Travail), couple (CAF): 4 of 20;
    # Jérôme's: salaries estimated from the DGFiP's annual income: 1 of 20; Loïc's and Anaïs's: none.
    flagged = rsa[("signalés", "toutes")]
    assert flagged["fields"] == 20 and flagged["units"] == 4
    assert flagged["share_held"] == pytest.approx((4 / 20 + 1 / 20) / 4, abs=1e-4)
    assert rsa[("signalés", "caf")]["share_held"] == pytest.approx((2 / 20) / 4, abs=1e-4)
    paid = rsa[("déjà payés", "toutes")]
    assert paid["units"] == 2 and paid["share_held"] == pytest.approx((1 / 20) / 2, abs=1e-4)
    assert set(table.get_column("population")) == {"signalés", "déjà payés"}


def test_fields_held_count_the_menage_and_the_paid_units_adults_like_the_outreach_list():
    """A housing-aid flag's rent and housing status are held on the ménage (the CAF's dossier), not on the
    famille or its adults; a paid unit's salary on its adult. With the month's memberships both are counted,
    as the outreach list quotes them; a child's fact is not (the adults only, as for a flag). Before, answer 2
    read neither: the paid population was measured on the famille id alone (a share 3 times too low on the
    20,000-person demo: RSA 0.25 against 0.72)."""
    flags = pl.DataFrame([flag("zoe", "aide_logement", "probable", 210.0)], schema=FLAGS_SCHEMA)
    members = pl.DataFrame(
        [(pid("zoe"), pid("zoe/famille"), "demandeur"), (pid("zoe"), pid("zoe/menage"), "personne_de_reference"),
         (pid("yann"), pid("yann/famille"), "demandeur"), (pid("yann-child"), pid("yann/famille"), "enfant")],
        schema=["person_id", "unit_id", "role"], orient="row")
    prov = pl.DataFrame(
        [("menage", pid("zoe/menage"), MONTH, "rent", "observed", "caf", MONTH),
         ("menage", pid("zoe/menage"), MONTH, "housing_status", "observed", "caf", MONTH),
         ("individu", pid("yann"), MONTH, "salary_net", "observed", "drm", MONTH),
         ("individu", pid("yann-child"), None, "date_naissance", "observed", "caf", MONTH)],
        schema=PROVENANCE_SCHEMA, orient="row")
    paid = pl.DataFrame([(MONTH, "famille", pid("yann/famille"), "aide_logement", "consistent", "certain", 150.0,
                          160.0, 170.0, 160.0, None)], schema={c: UNITS_SCHEMA[c] for c in list(UNITS_SCHEMA)[:11]},
                        orient="row").with_columns(pl.lit(True).alias("receiving"))
    n = claim_fields_frame().filter(pl.col("benefit") == "aide_logement").get_column("field").n_unique()

    def shares(members):
        table = claim_fields_held(flags, prov, paid_units=paid, members=members)
        return {r["population"]: r["share_held"] for r in table.filter(pl.col("source") == "toutes").iter_rows(
            named=True)}

    with_members = shares(members)
    held = {f for f, i in claim_fields_frame().filter(pl.col("benefit") == "aide_logement")
            .select("field", "input").iter_rows() if i in {"rent", "housing_status"}}
    assert with_members["signalés"] == pytest.approx(len(held) / n, abs=1e-4) and len(held) >= 1
    salaried = {f for f, i in claim_fields_frame().filter(pl.col("benefit") == "aide_logement")
                .select("field", "input").iter_rows() if i == "salary_net"}
    assert with_members["déjà payés"] == pytest.approx(len(salaried) / n, abs=1e-4)  # not the child's birth date
    assert shares(None) == {"signalés": 0.0, "déjà payés": 0.0}
    # answer 3 counts the same fields: every answerable one held (the rent on the ménage) opens a certain flag
    # automatically; without the memberships, its rent looks missing
    certain = pl.DataFrame([flag("zoe", "aide_logement", "certain", 210.0)], schema=FLAGS_SCHEMA)
    inputs = claim_fields_frame().filter(pl.col("benefit") == "aide_logement").get_column("input").drop_nulls()
    on_menage = {"rent", "housing_status"}
    every = pl.DataFrame([("menage" if i in on_menage else "individu",
                           pid("zoe/menage") if i in on_menage else pid("zoe"), MONTH, i, "observed", "caf", MONTH)
                          for i in inputs.unique().sort()], schema=PROVENANCE_SCHEMA, orient="row")

    def scenario(members):
        return automation_scenarios(certain, provenance=every, members=members).item(0, "scenario")

    assert scenario(members) == "ouverture automatique"
    assert scenario(None) == "demande pré-remplie"


AUGUST_2025 = dt.date(2025, 8, 1)


def test_a_yearly_flag_counts_the_fields_held_at_the_month_it_was_judged_at(provenance):
    """In June 2026 the ARS flagged is the one due in August 2025: its claim fields held are that month's facts
    (detection's provenance_due), never June's, like the outreach list's facts already held. June's provenance
    holds the parent's salary at the CAF and unemployment at France Travail; August 2025's, the salary at the DRM
    and the couple at the CAF. The RSA flag of the same month keeps June's facts."""
    ars = flag("ines", "ars", "certain", 35.0, unit="ines/famille")
    rsa = flag("ines", "rsa", "probable", 300.0, unit="ines/famille")
    june = pl.concat([provenance, pl.DataFrame(
        [("individu", pid("ines"), MONTH, "salary_net", "observed", "caf", MONTH),
         ("individu", pid("ines"), MONTH, "unemployment", "observed", "france_travail", MONTH)],
        schema=provenance.schema, orient="row")])
    due = pl.DataFrame(
        [(pid("ines/famille"), "ars", AUGUST_2025, "individu", pid("ines"), AUGUST_2025, "salary_net", "observed",
          "drm", AUGUST_2025),
         (pid("ines/famille"), "ars", AUGUST_2025, "famille", pid("ines/famille"), None, "couple_kind", "observed",
          "caf", AUGUST_2025),
         # a child's fact: the flags of every benefit count the unit's, its adults' and the claimant's only
         (pid("ines/famille"), "ars", AUGUST_2025, "individu", pid("ines-child"), None, "date_naissance", "observed",
          "dgfip", AUGUST_2025),
         # a fact nobody supplied is not held
         (pid("ines/famille"), "ars", AUGUST_2025, "individu", pid("ines"), AUGUST_2025, "pension_net", "unknown",
          None, None)],
        schema=DUE_PROVENANCE_SCHEMA, orient="row")
    flags = pl.DataFrame([ars, rsa], schema=FLAGS_SCHEMA)
    table = claim_fields_held(flags, june, due_provenance=due)
    held = {r["source"]: r for r in table.filter(pl.col("benefit") == "ars").iter_rows(named=True)}
    assert set(held) == {"caf", "drm", "toutes"}  # no France Travail: its unemployment is June's; no child's
    assert held["toutes"]["fields"] == 8 and held["toutes"]["units"] == 1
    assert held["toutes"]["share_held"] == pytest.approx(2 / 8, abs=1e-4)
    assert held["drm"]["share_held"] == pytest.approx(1 / 8, abs=1e-4)  # the salary: the DRM's, not the CAF's
    assert held["caf"]["share_held"] == pytest.approx(1 / 8, abs=1e-4)  # the couple
    rsa_held = {r["source"] for r in table.filter(pl.col("benefit") == "rsa").iter_rows(named=True)}
    assert rsa_held == {"caf", "france_travail", "toutes"}
    with pytest.raises(SchemaError, match="provenance_due"):  # never June's facts quietly instead
        claim_fields_held(flags, june)
    # answer 3 reads the same facts: every data-answerable ARS field held in August 2025 opens it automatically
    full = pl.DataFrame([(pid("ines/famille"), "ars", AUGUST_2025, "individu", pid("ines"), AUGUST_2025, inp,
                          "observed", "drm", AUGUST_2025)
                         for inp in ("date_naissance", "couple_kind", "famille_role", "salary_net", "unemployment",
                                     "pension_net")], schema=DUE_PROVENANCE_SCHEMA, orient="row")
    scen = {r["benefit"]: r["scenario"] for r in automation_scenarios(
        flags, provenance=june, due_provenance=full).iter_rows(named=True)}
    assert scen["ars"] == "ouverture automatique"
    scen = {r["benefit"]: r["scenario"] for r in automation_scenarios(
        flags, provenance=june, due_provenance=due).iter_rows(named=True)}
    assert scen["ars"] == "demande pré-remplie"


def rsa_amounts_are_money(table: pl.DataFrame) -> bool:
    rsa = table.filter(pl.col("benefit") == "rsa")
    return rsa.height > 0 and rsa.get_column("monthly_amount").null_count() == 0 and (
        rsa.get_column("yearly_amount") == rsa.get_column("monthly_amount") * 12).all()


def test_automation_scenarios(flags, provenance, units):
    full = [("individu", pid("noel"), MONTH, inp, "observed", "cnam", MONTH)
            for inp in ("date_naissance", "famille_role", "housing_status", "salary_net", "unemployment",
                        "pension_net", "alimony_received", "af", "revenus_non_salaries_connus")]
    extra = pl.DataFrame(full, schema=provenance.schema, orient="row")
    auto_flag = flag("noel", "css_free", "certain", 0.0, unit="noel/famille")
    table = automation_scenarios(pl.concat([flags, pl.DataFrame([auto_flag], schema=FLAGS_SCHEMA)]), units=units,
                                 provenance=pl.concat([provenance, extra]))
    css = {r["scenario"]: r for r in table.filter(pl.col("benefit") == "css_free").iter_rows(named=True)}
    auto = css["ouverture automatique"]
    # Noël's famille is paid the RSA: his free CSS is opened by it (CSS art. L861-2), his certain flag with every
    # field held and his probable one (a salary unknown) alike; Élodie's, paid no RSA, is a pre-filled claim
    assert auto["flags"] == 2 and auto["basis_exists_for"] == 2 and "L861-2" in auto["legal_basis"]
    # a coverage: no money missing, « sans objet » (null), never 0 nor its participation
    assert auto["error_risk"] == 0.5 and auto["monthly_amount"] is None and auto["yearly_amount"] is None
    participation = {r["scenario"]: r for r in table.filter(pl.col("benefit") == "css_participation")
                     .iter_rows(named=True)}
    assert participation and all(r["monthly_amount"] is None for r in participation.values())
    assert rsa_amounts_are_money(table)
    assert css["demande pré-remplie"]["flags"] == 1 and css["demande pré-remplie"]["error_risk"] == 1.0
    rsa = {r["scenario"]: r for r in table.filter(pl.col("benefit") == "rsa").iter_rows(named=True)}
    assert "ouverture automatique" not in rsa  # no RSA flag has every claim field held
    assert rsa["demande pré-remplie"]["flags"] == 4
    assert "L114-8" in rsa["demande pré-remplie"]["legal_basis"]
    assert table.get_column("flags").sum() == flags.height + 1
    assert (table.get_column("yearly_amount") == table.get_column("monthly_amount") * 12).all()


def test_unknowns_to_settle_counts_the_flags_each_unknown_decides():
    rows = [flag("a", "ppa", "possible", 200.0, unknowns=("nationality_group",)),
            flag("b", "ppa", "possible", 100.0, unknowns=("nationality_group", "student")),
            flag("c", "ppa", "probable", 50.0, unknowns=("salary_net",)),
            flag("d", "ppa", "certain", 300.0),
            flag("e", "rsa", "possible", 500.0, unknowns=("student",)),
            flag("f", "css_participation", "probable", 30.0, unknowns=("salary_net",))]
    table = unknowns_to_settle(pl.DataFrame(rows, schema=FLAGS_SCHEMA))
    # a coverage's amount is its participation, no money the flags estimate missing: « sans objet »
    css = table.filter(pl.col("benefit") == "css_participation").row(0, named=True)
    assert (css["input"], css["flags"], css["monthly_amount"]) == ("salary_net", 1, None)
    ppa = {r["input"]: r for r in table.filter(pl.col("benefit") == "ppa").iter_rows(named=True)}
    nat = ppa["nationality_group"]
    assert (nat["flags"], nat["possible"], nat["probable"], nat["monthly_amount"]) == (2, 2, 0, 300.0)
    assert nat["share_of_uncertain_flags"] == pytest.approx(2 / 3, abs=1e-4)
    assert "france_travail" in nat["agencies"] and "cnam" not in nat["agencies"]
    assert ppa["salary_net"]["probable"] == 1 and "drm" in ppa["salary_net"]["agencies"]
    assert table.filter(pl.col("benefit") == "ppa").get_column("input").to_list()[0] == "nationality_group"
    assert table.filter(pl.col("benefit") == "rsa").get_column("flags").to_list() == [1]


def test_unknowns_to_settle_counts_the_money_missing_and_every_carrier():
    """An under-payment counts what is missing, not its whole amount; a possible flag's money shows at the
    favourable end; an unknown the rules read through another input (the couple's kind) names its carriers."""
    rows = [flag("a", "ppa", "probable", 200.0, status="under_payment", paid=150.0, unknowns=("couple_kind",)),
            flag("b", "ppa", "possible", 0.0, unknowns=("couple_kind",))]
    frame = pl.DataFrame(rows, schema=FLAGS_SCHEMA).with_columns(
        pl.when(pl.col("claimant_id") == pid("b")).then(240.0).otherwise(pl.col("amount_high")).alias("amount_high"))
    row = unknowns_to_settle(frame).row(0, named=True)
    assert row["input"] == "couple_kind" and row["flags"] == 2
    assert row["monthly_amount"] == pytest.approx(50.0)  # 200 due, 150 paid; the possible flag's central: none
    assert row["monthly_amount_high"] == pytest.approx(240.0 + 250.0 - 150.0)
    assert {"caf", "dgfip"} <= set(row["agencies"])  # the memberships that give the couple


def test_write_answers(tmp_path, flags, provenance, units):
    paths = write_answers(tmp_path, flags=flags, units=units, provenance=provenance, run_detection=fake_detection)
    assert {p.name for p in paths.values()} >= {"answer1_data_to_exchange.csv", "answer1_exchange_value.parquet",
                                                 "answer1_unknowns_to_settle.csv",
                                                 "answer3_automation.csv", "answer2_claim_fields_held.parquet"}
    csv = paths["answer3_automation.csv"]
    assert csv.read_bytes().startswith(BOM)
    back = pl.read_csv(csv, separator=";", decimal_comma=True)
    assert back.get_column("scenario").str.contains("é").any()
    assert dt.date.today()  # files are written atomically: no temporary left behind
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_headline_figures(flags, provenance, units):
    profiles = units.select("unit_kind", "unit_id", pl.lit("46042").alias("depcom"),
                            pl.lit("personne seule").alias("household_type"))
    many = pl.concat([units.with_columns(pl.col("unit_id") + pl.lit(str(i))) for i in range(6)])
    prof = pl.concat([profiles.with_columns(pl.col("unit_id") + pl.lit(str(i))) for i in range(6)])
    # secrecy apart (a threshold of one unit: tests/outputs/test_statistics.py): 6 flags of 18 units are published
    stats = build_statistics(many, prof, config=StatisticsConfig(threshold=1))
    auto = automation_scenarios(flags, units=units, provenance=provenance)
    table = headline(stats, auto, exchange_value(fake_detection))
    rsa = table.filter(pl.col("benefit") == "rsa").row(0, named=True)
    assert rsa["units"] == 18 and rsa["non_take_up_rate_low"] == pytest.approx(6 / 18, abs=1e-4)
    assert rsa["yearly_foregone_central"] == pytest.approx(6 * 612.5 * 12)
    assert rsa["flags"] == 4 and rsa["prefilled"] == 4 and rsa["automatic"] == 0
    assert rsa["recall_caf_only"] == pytest.approx(1 / 4)  # only Anaïs of the four RSA flags
    aspa = table.filter(pl.col("benefit") == "aspa").row(0, named=True)
    assert aspa["units"] is None and aspa["flags"] == 2  # flagged but no units table row for it here
    # rated but flagged nowhere: 0 flags in each scenario, a count (it was left empty, as if unknown)
    quiet = headline(stats, auto.filter(pl.col("benefit") != "rsa"), exchange_value(fake_detection))
    rsa = quiet.filter(pl.col("benefit") == "rsa").row(0, named=True)
    assert (rsa["flags"], rsa["automatic"], rsa["prefilled"], rsa["outreach"]) == (0, 0, 0, 0)
