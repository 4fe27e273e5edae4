"""Reasons name, fact by fact, the agency and extract month the core's provenance records."""

from __future__ import annotations

import datetime as dt
import re

import polars as pl
import pytest

from nonrecours.detection import DetectionConfig, core_month, detect

from .conftest import MONTH, Territory

RSA_ONLY = DetectionConfig(benefits=("rsa",))


def _known_to_caf_and_france_travail(nationality: str) -> dict[str, pl.DataFrame]:
    t = Territory()
    t.famille("jobseeker", salary=300.0)
    tables = t.tables()
    persons = tables["persons"]
    caf = persons.with_columns(pl.lit(None, dtype=pl.String).alias("nationality_group"))
    ft = persons.with_columns(pl.lit("france_travail").alias("source_agency"),
                              pl.lit(nationality).alias("nationality_group"),
                              pl.lit(12 if nationality == "OTHER" else None, dtype=pl.Int16)
                              .alias("residence_permit_years"),
                              pl.lit(None, dtype=pl.Float64).alias("disability_rate"),
                              pl.lit(None, dtype=pl.Boolean).alias("student"),
                              pl.lit(None, dtype=pl.Boolean).alias("pregnant"),
                              pl.lit(dt.date(2026, 5, 30)).alias("extract_date"))
    tables["persons"] = pl.concat([caf, ft.select(caf.columns)])
    return tables


def test_an_exemption_estimated_from_the_nationality_has_the_nationalitys_agency():
    """A French national needs no residence exemption: that estimate follows from the nationality France
    Travail sent (May), so its provenance is France Travail's, not the CAF's persons row."""
    core = core_month(_known_to_caf_and_france_travail("FR"), MONTH)
    prov = core.provenance.filter((pl.col("id") == "p-jobseeker")
                                  & pl.col("input").is_in(["nationality_group", "residence_condition_exempt",
                                                           "ofpra_protection"]))
    assert prov.height == 3
    assert set(prov.get_column("source_agency")) == {"france_travail"}
    assert set(prov.get_column("source_month")) == {dt.date(2026, 5, 1)}


@pytest.fixture(scope="module")
def foreign():
    """A woman the CAF follows (the CAF sends no nationality for her) whose nationality only France Travail's
    registration gives, in its May extract: the reason must name France Travail for it, not the CAF."""
    tables = _known_to_caf_and_france_travail("OTHER")
    core = core_month(tables, MONTH)
    return tables, core, detect(core, tables, backend="polars", config=RSA_ONLY)


def test_nationality_is_named_with_the_agency_and_month_that_sent_it(foreign):
    """Named on the facts line quoting every fact (the flag's own line quotes the resources first, then cuts)."""
    from nonrecours.detection.reasons import fact_sources, reasons

    _, core, run = foreign
    prov = core.provenance.filter((pl.col("id") == "p-jobseeker") & (pl.col("input") == "nationality_group"))
    assert prov.get_column("source_agency").to_list() == ["france_travail"]
    flag = (run.flags.filter(pl.col("unit_id").str.ends_with(":f-jobseeker")).drop("reasons")
            .with_columns(pl.col("unit_id").alias("famille_id"),
                          pl.lit([], dtype=pl.List(pl.String)).alias("contradicted")))
    sources = fact_sources(core, core.inputs.individu.select("person_id", "famille_id", "menage_id"), MONTH, flag)
    assert run.result is not None
    lines = reasons(flag, run.result, sources, 20, max_facts=100).item(0, "reasons").to_list()
    facts = next(r for r in lines if r.startswith("Données utilisées"))
    assert "nationalité (France Travail 05/2026)" in facts
    assert "âge (CAF 06/2026)" in facts
    assert "état civil" not in facts and "nationalité (CAF" not in facts


def test_no_fact_is_named_with_an_agency_its_provenance_does_not_record(foreign):
    """Every « fact (agency month) » of the reason line is one the provenance holds for the famille, its member or
    their ménage."""
    from nonrecours.detection.reasons import _input_label
    from nonrecours.schemas.codes import AGENCY_LABELS

    _, core, run = foreign
    units = core.inputs.individu.filter(pl.col("person_id") == "p-jobseeker").select("famille_id", "menage_id").row(0)
    prov = core.provenance.filter(pl.col("id").is_in(["p-jobseeker", *units]) & pl.col("source_agency").is_not_null())
    held = {f"{_input_label(i)} ({AGENCY_LABELS.get(a, a)} {m:%m/%Y})"
            for i, a, m in prov.select("input", "source_agency", "source_month").iter_rows()}
    facts = next(r for r in run.flags.get_column("reasons").explode().to_list() if r.startswith("Données utilisées"))
    named = re.sub(r" et \d+ autres?$", "", facts.removeprefix("Données utilisées : ").removesuffix(".")).split(" ; ")
    assert len(named) >= 3 and set(named) <= held


@pytest.fixture(scope="module")
def css_band():
    """A salary no agency sent (a conventional central value): 600 € a month centrally (the free CSS), up to
    1,100 € (the CSS with participation band) at the high end."""
    from nonrecours.core import CoreMonth

    from .conftest import unknown_salary

    t = Territory()
    t.famille("band", salary=1.0)
    t.declare("band", years=(MONTH.year - 2, MONTH.year - 1))  # declared without profit: the salary decides alone
    t.famille("paid")                 # the CAF's extract pays someone: its famille payments are known
    t.pay("paid", "rsa", 640.0)
    tables = t.tables()
    core = core_month(tables, MONTH)
    core = CoreMonth(month=MONTH, inputs=core.inputs, provenance=core.provenance,
                     unknowns=pl.concat([core.unknowns, unknown_salary("p-band", 0.0, 600.0, 1100.0, informed=False)
                                         .cast(core.unknowns.schema)]))
    return detect(core, tables, backend="polars",
                  config=DetectionConfig(benefits=("css_free", "css_participation")))


def test_a_participation_not_due_centrally_says_the_free_css_is(css_band):
    """The CSS with participation flag with a low and high amount but no central one: the central values give
    the free CSS (the two exclude each other), so the reason says that, not « favourable values »."""
    units = {r["benefit"]: r for r in css_band.units.filter(pl.col("unit_id") == "caf:f-band").iter_rows(named=True)}
    part, free = units["css_participation"], units["css_free"]
    assert free["entitled_central"] and not part["entitled_central"] and part["entitled_high"]
    assert part["grade"] == "possible" and part["amount_central"] is None and part["amount_high"] > 0
    reasons = css_band.flags.filter((pl.col("benefit") == "css_participation") & (pl.col("unit_id") == "caf:f-band")
                                    ).item(0, "reasons").to_list()
    assert reasons[0].startswith("Droit estimé à la complémentaire santé solidaire avec participation ; "
                                 "participation de ")
    assert reasons[1].startswith("Sur les valeurs centrales, c'est la complémentaire santé solidaire sans "
                                 "participation qui est due")
    assert not any("favorables" in r for r in reasons)



def test_an_unexplained_payment_to_a_famille_the_core_built_names_its_payer():
    """A famille the core built (no agency's dossier: ``core-famille:``) is paid through a member (the CNAV's
    ASPA to a person): the line of a flag made possible names the CNAV, from the payment rows, and says the
    famille is paid through a member, never « un organisme »; a CAF famille is named from the payments too, and
    from its dossier id when the payment rows name nobody."""
    from nonrecours.detection.reasons import _contradiction_line
    from nonrecours.detection.receipts import payers_by_famille, payment_rows

    individu = pl.DataFrame({"person_id": ["p-a", "p-b", "p-c"],
                             "famille_id": ["core-famille:p-a", "core-famille:p-a", "caf:f-c"]})
    paid = pl.DataFrame({"unit_kind": [None, "famille"], "unit_id": [None, "f-c"], "person_id": ["p-b", None],
                         "benefit": ["aspa", "ppa"], "month": [MONTH, MONTH], "amount": [300.0, 150.0],
                         "source_agency": ["cnav", "caf"], "paying_agency": ["cnav", "caf"]},
                        schema_overrides={"unit_kind": pl.String, "unit_id": pl.String})
    payers = payers_by_famille(paid, individu, MONTH, ("aspa", "ppa"), grace=1).sort("famille_id")
    assert payers.rows() == [("caf:f-c", "ppa", ["caf"]), ("core-famille:p-a", "aspa", ["cnav"])]
    # from the rows detection read once for every benefit and a longer window, a payment months before the
    # grace and a benefit not asked for left out: the same payers
    older = pl.concat([paid, paid.with_columns(pl.lit(dt.date(MONTH.year - 1, MONTH.month, 1)).alias("month"),
                                               pl.lit("msa").alias("paying_agency")),
                       paid.with_columns(pl.lit("rsa").alias("benefit"))])
    rows = payment_rows(older, individu, MONTH, ("aspa", "ppa", "rsa"), window=12, grace=1)
    assert rows is not None and rows.height == 6
    assert payers_by_famille(older, individu, MONTH, ("aspa", "ppa"), grace=1, rows=rows).sort(
        "famille_id").equals(payers)
    flags = pl.DataFrame({"famille_id": ["core-famille:p-a", "caf:f-c", "caf:f-d", "core-famille:p-e", "caf:f-f"],
                          "contradicted": [["aspa"], ["ppa"], ["rsa"], ["rsa"], ["rsa"]],
                          "contradicted_payers": [["cnav"], ["caf"], [], [], []],
                          "contradicted_reporters": [[], [], [], [], ["france_travail"]]})
    lines = flags.select(_contradiction_line(flags.columns).alias("l")).get_column("l").to_list()
    assert lines[0].startswith("Signalement ramené à « possible » : l'Assurance retraite verse l'ASPA à un membre de "
                               "cette famille, qu'aucun organisme ne décrit, que nos données n'expliquent pas")
    assert lines[1].startswith("Signalement ramené à « possible » : la CAF verse la prime d'activité, que nos")
    assert lines[2].startswith("Signalement ramené à « possible » : la CAF verse le RSA, que nos")
    assert "un organisme non identifié verse le RSA à un membre" in lines[3]
    # a receipt without a payer (France Travail's « bénéficiaire du RSA »): the reporter, never a payer
    assert lines[4].startswith("Signalement ramené à « possible » : France Travail signale que cette famille perçoit "
                               "le RSA, qu'aucun organisme payeur ne déclare et que nos données")
    # without the payers' column (an older caller), the dossier's agency still names the payer
    old = flags.drop("contradicted_payers", "contradicted_reporters").select(
        _contradiction_line(["famille_id", "contradicted"]).alias("l")).get_column("l").to_list()
    assert old[1].startswith("Signalement ramené à « possible » : la CAF verse la prime d'activité, que nos")
    assert not any("un organisme verse" in line for line in lines)


def test_a_deciding_unknown_is_named_as_a_person_understands_it():
    """The chèque énergie's flags name the flag input « revenus_n2_renseignes » among the unknowns to check with the
    person: its rules label (« les revenus de l'année N-2 du mois sont fournis (sinon ils sont estimés sur le
    mois) ») described the engine, not a fact the person can confirm."""
    from nonrecours.detection.reasons import input_labels

    labels = input_labels()
    # without the DGFiP it is the unknown that decides (the N-2 incomes it stands for): named, in plain words
    assert labels["revenus_n2_renseignes"] == "déclaration de revenus de l'année N-2 (DGFiP)"
    assert not [n for n, label in labels.items() if "sinon" in label or "estimés sur le mois" in label]
