"""Payments the extracts cannot show: a flag there is no evidence of non-take-up, possible at most.

Found tracing the France 100,000 territory's false alarms (docs/detection.md, issue 8):
- an MSA dossier whose allocataire's line the extract lacks shows none of its payments, even those of the months
  before (the MSA carries them on the assuré's line): every false alarm of the allocations familiales and 19 of the
  prime d'activité's 133 « taken up in truth »;
- the CNAV's file of a pensioner missing this month, the ASPA paid until then with the pension: 35 of the ASPA's
  76 « taken up in truth »;
- a pensioner whose pension the DRM reports and whom neither the CNAV nor the MSA knows: the fund paying the
  pension, which serves the ASPA with it, sent no extract (38 of the ASPA's false alarms).
In each case the same famille with the line present (the CAF's dossier, whose payments are on its own record; the
pension still paid without the ASPA; a pension the CNAV pays) stays a non-take-up."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import replace

import polars as pl
import pytest

from nonrecours.connectors import AGENCY_MODULES, default_mapping, member_line_payers
from nonrecours.detection import core_month, detect
from nonrecours.detection.receipts import (
    payee_lines_lost,
    payment_rows,
    pension_fund_unknown,
    unattached_payments,
)

from .conftest import FIRST, MONTH, MONTHS, Territory, flag_row


def _dossier(agency: str, *, allocataire_listed: bool) -> dict[str, pl.DataFrame]:
    """A couple of the ``agency``'s dossier f-d, no income, never paid anything, on a joint declaration of the
    DGFiP (so the core rebuilds the couple whether or not the extract lists the demandeur); unless
    ``allocataire_listed``, the agency lists the conjoint only. A neighbour f-plain of the same agency, listed."""
    t = Territory()
    t.famille("d", agency=agency)
    t.famille("plain", agency=agency)
    t.persons.append({**t.persons[0], "person_id": "p-d-b"})
    for kind, role in (("famille", "conjoint"), ("menage", "conjoint"), ("foyer_fiscal", "declarant")):
        t.members.append({"person_id": "p-d-b", "unit_kind": kind, "unit_id": f"{kind[0]}-d", "role": role,
                          "valid_from": dt.date(2020, 1, 1), "valid_to": None, "source_agency": agency})
    for m in t.members:
        if m["person_id"] in ("p-d", "p-d-b") and m["unit_kind"] == "foyer_fiscal":
            m["source_agency"] = "dgfip"
    if not allocataire_listed:
        t.members = [m for m in t.members if not (m["person_id"] == "p-d" and m["unit_kind"] == "famille")]
    tables = t.tables()
    # the DGFiP's year 2025 for the couple and the neighbour: nothing declared
    tables["annual_income"] = pl.DataFrame(
        {"person_id": ["p-d", "p-d-b", "p-plain"], "year": [2025] * 3, "kind": ["salaries"] * 3,
         "amount": [0.0] * 3, "source_agency": ["dgfip"] * 3, "extract_id": ["dgfip"] * 3,
         "extract_date": [dt.date(2026, 6, 28)] * 3}, schema_overrides={"year": pl.Int16})
    return tables


def _core(tables: dict[str, pl.DataFrame], known: tuple[str, ...] = ("p-d",)):  # type: ignore[no-untyped-def]
    """The month's core, the invalidity pension of a person no health fund knows taken as known (no health fund
    in these territories: the grade would be possible for that alone, which is not the question here)."""
    core = core_month(tables, MONTH)
    return replace(core, unknowns=core.unknowns.filter(
        ~(pl.col("id").is_in(list(known)) & (pl.col("input") == "invalidity_pension"))))


RETIREES = ("p-gone", "p-drm", "p-cnav", "p-none")


@functools.cache
def _polars_run(territory: str):  # type: ignore[no-untyped-def]
    """``(tables, core, run)``: the Polars detection (the first four benefits) of one of the module's territories,
    computed once for the tests that read the same one (each detection is an evaluation of those benefits' rules):
    ``msa-dossier`` (the MSA lists the conjoint only), ``retirees-lost`` (the CNAV's lines of r-gone stop in April),
    ``retirees`` (they go on). Shared, so read only: a test changing the tables builds its own."""
    if territory == "msa-dossier":
        tables, known = _dossier("msa", allocataire_listed=False), ("p-d",)
    else:
        tables, known = _retirees(cnav_lines_in_june=territory == "retirees"), RETIREES
    core = _core(tables, known=known)
    return tables, core, detect(core, tables, config=FIRST)


def test_only_the_msa_layout_carries_a_dossiers_payments_on_its_members_lines():
    assert member_line_payers() == frozenset({"msa"})
    assert {a: default_mapping(a).famille_payments_on_member_lines for a in AGENCY_MODULES} == {
        "caf": False, "cnam": False, "france_travail": False, "dgfip": False, "cnav": False, "msa": True,
        "drm": False}


def test_an_msa_dossier_without_its_allocataires_line_is_possible_at_most():
    run = _polars_run("msa-dossier")[2]
    flag = flag_row(run, "d", "rsa")
    assert flag["grade"] == "possible" and flag["status"] == "non_take_up"
    assert flag["reasons"][1] == (
        "Signalement ramené à « possible » : la MSA porte les versements de ce dossier sur la ligne de son "
        "allocataire, que son extrait ne transmet pas : ce qui lui est versé n'est pas connu, à vérifier avant "
        "tout contact.")
    assert flag_row(run, "plain", "rsa")["grade"] == "certain"
    assert run.summary["downgraded_by_allocataire_line_missing"]["rsa"] == 1
    assert run.summary["downgraded_by_allocataire_row_lost"]["rsa"] == 0


@pytest.mark.parametrize(("agency", "listed"), [("msa", True), ("caf", False)])
def test_the_dossier_stays_a_non_take_up_when_its_payments_are_observed(agency: str, listed: bool):
    """The MSA listing the allocataire, or the CAF, whose payments are on the dossier's record whether or not
    the allocataire's line came: nothing paid is observed, a certain non-take-up."""
    tables = _dossier(agency, allocataire_listed=listed)
    run = detect(_core(tables), tables, config=FIRST)
    assert flag_row(run, "d", "rsa")["grade"] == "certain"
    assert run.summary["downgraded_by_allocataire_line_missing"]["rsa"] == 0


def _workspace(tables: dict[str, pl.DataFrame], folder, on_member_lines: dict[str, bool]):  # type: ignore[no-untyped-def]
    """``tables`` written as an ingested workspace: each agency's rows in ``<table>/<agency>-x.parquet`` (an empty
    table as the first agency's, so that it is there: nothing paid, not unknown) and each agency's ingest
    report, recording whether the mapping it was read with carries payments on members' lines."""
    import json

    for name, frame in tables.items():
        (folder / name).mkdir(parents=True)
        parts = frame.partition_by("source_agency", as_dict=True) or {(next(iter(on_member_lines)),): frame}
        for (agency,), rows in parts.items():
            rows.write_parquet(folder / name / f"{agency}-x.parquet")
    (folder / "reports").mkdir()
    for agency, flag in on_member_lines.items():
        (folder / "reports" / f"{agency}-x.json").write_text(json.dumps(
            {"agency": agency, "extract_id": "x", "famille_payments_on_member_lines": flag}))
    return folder


@pytest.mark.parametrize(("agency", "on_member_lines", "grade"),
                         [("msa", False, "certain"), ("caf", True, "possible")])
def test_the_mapping_the_workspace_was_ingested_with_decides(tmp_path, agency: str, on_member_lines: bool,
                                                             grade: str):
    """A team's own mapping, not the agency's default, says where a dossier's payments are: an MSA extract read
    with a mapping carrying them on a dossier record shows them whether or not the allocataire's line came (a
    non-take-up stays certain); a CAF extract read with one carrying them on the members' lines does not
    (possible at most). ``nonrecours detect --workspace`` reads it from the ingest reports."""
    from nonrecours.detection import run_detect

    tables = _dossier(agency, allocataire_listed=False)
    ws = _workspace(tables, tmp_path / "ws", {agency: on_member_lines, "dgfip": False})
    run, _ = run_detect(ws, MONTH, tmp_path / "out", config=FIRST, core=_core(tables))
    assert flag_row(run, "d", "rsa")["grade"] == grade
    assert flag_row(run, "plain", "rsa")["grade"] == "certain"
    assert run.summary["downgraded_by_allocataire_line_missing"]["rsa"] == (grade == "possible")


@pytest.mark.parametrize("msa_report", [True, False])
def test_an_agency_whose_layout_is_not_recorded_takes_its_default(tmp_path, caplog, msa_report: bool):
    """The MSA's extract ingested before the record existed (a report without it) or with no report at all, the
    DGFiP's recorded: the MSA is taken with its default mapping's layout (payments on the members' lines: possible
    at most), with a warning naming it; the DGFiP's record stands. Until 30 November 2026 an MSA without a report
    counted as recording none, silently (a certain flag)."""
    import json
    import logging

    from nonrecours.detection import run_detect
    from nonrecours.detection.detect import workspace_config

    tables = _dossier("msa", allocataire_listed=False)
    ws = _workspace(tables, tmp_path / "ws", {"dgfip": False})
    if msa_report:
        (ws / "reports" / "msa-x.json").write_text(json.dumps({"agency": "msa", "extract_id": "x"}))
    with caplog.at_level(logging.WARNING, logger="nonrecours.core"):
        assert workspace_config(FIRST, ws).member_line_payers == ("msa",)
    assert "msa (no ingest report" in caplog.text and "dgfip" not in caplog.text
    run, _ = run_detect(ws, MONTH, tmp_path / "out", config=FIRST, core=_core(tables))
    assert flag_row(run, "d", "rsa")["grade"] == "possible"


def test_a_configured_set_of_member_line_payers_is_kept():
    """Tables handed to ``detect`` with the layouts named in the configuration: the CAF's as the MSA's."""
    tables = _dossier("caf", allocataire_listed=False)
    run = detect(_core(tables), tables, config=FIRST.model_copy(update={"member_line_payers": ("caf",)}))
    assert flag_row(run, "d", "rsa")["grade"] == "possible"
    with pytest.raises(ValueError, match="unknown agency"):
        type(FIRST)(member_line_payers=("mutuelle",))
    assert type(FIRST)(member_line_payers=["msa", "caf", "msa"]).member_line_payers == ("caf", "msa")


def _retirees(*, cnav_lines_in_june: bool) -> dict[str, pl.DataFrame]:
    """Retirees of 70 with a 400 € pension (the ASPA tops it up), single:
    - r-gone: the CNAV paid the ASPA with the pension until April; its extract has no line for them since
      (``cnav_lines_in_june``: the pension lines go on, only the ASPA stops);
    - r-drm: the DRM reports the pension (PASRAU), neither the CNAV nor the MSA knows them;
    - r-cnav: the CNAV pays the pension, never the ASPA: a non-take-up;
    - r-none: no pension at all, known to the DGFiP only: nothing says a fund pays them, a non-take-up."""
    t = Territory()
    for name in ("gone", "drm", "cnav", "none"):
        t.famille(name, age=70, pension=0.0 if name == "none" else 400.0,
                  agency="dgfip" if name in ("drm", "none") else "cnav")
    last = dt.date(2026, 4, 1) if not cnav_lines_in_june else MONTH
    t.resources = [r for r in t.resources if not (r["person_id"] == "p-gone" and r["month"] > last)]
    for r in t.resources:
        if r["person_id"] == "p-drm":
            r["source_agency"] = "drm"
    t.resources = [r for r in t.resources if not (r["person_id"] == "p-drm" and r["kind"] == "pension_gross")]
    for m in MONTHS:
        if m <= dt.date(2026, 4, 1):
            t.paid.append({"unit_kind": None, "unit_id": None, "person_id": "p-gone", "benefit": "aspa",
                           "month": m, "amount": 550.0, "source_agency": "cnav"})
    return t.tables()


def test_a_stop_with_the_payers_file_of_the_person_is_possible_at_most():
    tables, core, run = _polars_run("retirees-lost")
    gone = flag_row(run, "gone", "aspa")
    assert gone["grade"] == "possible" and gone["paid_before"] > 0
    assert gone["reasons"][1].startswith(
        "Signalement ramené à « possible » : l'Assurance retraite versait cette prestation les mois précédents et ne "
        "transmet ce mois aucune ligne pour la personne")
    assert run.summary["downgraded_by_payee_lines_lost"]["aspa"] == 1
    individu = core.inputs.individu
    rows = payment_rows(tables["benefits_paid"], individu, MONTH, FIRST.benefits, window=3, grace=0)
    assert payee_lines_lost(tables, rows, MONTH, window=3).select("benefit", "extracts").to_dicts() == [
        {"benefit": "aspa", "extracts": ["cnav"]}]


@pytest.mark.parametrize("lines_in_june", [False, True])
def test_the_extract_that_reported_the_payment_decides_not_the_paying_agency_it_names(lines_in_june: bool):
    """The CNAV's extract reports the ASPA as paid by the MSA (``paying_agency``), which sent nothing on the person:
    whether the stop is observed is the CNAV's extract's to say. Without a line of the person this month, the
    CNAV's file of them is missing (possible at most); with the pension still reported, the stop is a stop."""
    tables = _retirees(cnav_lines_in_june=lines_in_june)
    tables["benefits_paid"] = tables["benefits_paid"].with_columns(
        pl.when(pl.col("person_id") == "p-gone").then(pl.lit("msa")).otherwise(pl.col("paying_agency"))
        .alias("paying_agency"))
    core = _core(tables, known=RETIREES)
    rows = payment_rows(tables["benefits_paid"], core.inputs.individu, MONTH, FIRST.benefits, window=3, grace=0)
    lost = payee_lines_lost(tables, rows, MONTH, window=3)
    assert lost.select("famille_id", "benefit", "extracts").to_dicts() == (
        [] if lines_in_june else [{"famille_id": "cnav:f-gone", "benefit": "aspa", "extracts": ["cnav"]}])
    run = detect(core, tables, config=FIRST)
    assert flag_row(run, "gone", "aspa")["grade"] == ("probable" if lines_in_june else "possible")


def test_the_aspa_stopped_while_the_pension_goes_on_stays_a_non_take_up():
    run = _polars_run("retirees")[2]
    assert flag_row(run, "gone", "aspa")["grade"] == "probable"
    assert run.summary["downgraded_by_payee_lines_lost"]["aspa"] == 0


def test_a_pension_no_aspa_payer_knows_makes_the_aspa_unobserved():
    tables, core, run = _polars_run("retirees")
    drm = flag_row(run, "drm", "aspa")
    assert drm["grade"] == "possible"
    assert drm["reasons"][1] == (
        "Signalement ramené à « possible » : une pension est déclarée pour la personne, mais ni l'Assurance "
        "retraite ni la MSA ne la connaissent ; l'allocation est servie avec la pension par la caisse qui la verse, "
        "dont l'extrait n'est pas transmis (ou qui n'y retrouve pas la personne) : à vérifier avant tout contact.")
    assert flag_row(run, "cnav", "aspa")["grade"] == "probable"       # the CNAV pays the pension, not the ASPA
    assert flag_row(run, "none", "aspa")["grade"] == "probable"       # no pension: no fund to serve it
    assert run.summary["downgraded_by_pension_fund_unknown"] == {"aspa": 1}
    unknown = pension_fund_unknown(tables, core.inputs.individu, ("aspa", "rsa"), MONTH, window=3)
    assert unknown.get_column("famille_id").to_list() == ["dgfip:f-drm"]


def test_a_spouse_drawing_a_pension_no_payer_knows_makes_the_couples_aspa_unobserved():
    """The CNAV knows the demandeur (its pension); the spouse on the couple's joint declaration draws a pension
    the DRM reports and neither the CNAV nor the MSA knows: the spouse's share of the ASPA would be served by the
    fund paying that pension, so what the couple receives is not observed."""
    t = Territory()
    t.famille("mix", age=70, pension=300.0, agency="cnav")
    t.persons.append({**t.persons[0], "person_id": "p-mix-b", "source_agency": "dgfip"})
    t.members.append({"person_id": "p-mix-b", "unit_kind": "foyer_fiscal", "unit_id": "f-mix", "role": "declarant",
                      "valid_from": dt.date(2020, 1, 1), "valid_to": None, "source_agency": "dgfip"})
    for m in t.members:
        if m["person_id"] == "p-mix" and m["unit_kind"] == "foyer_fiscal":
            m["source_agency"] = "dgfip"
    t.resources += [{"person_id": "p-mix-b", "month": m, "kind": "pension_net", "amount": 250.0,
                     "source_agency": "drm"} for m in MONTHS]
    tables = t.tables()
    core = _core(tables, known=("p-mix", "p-mix-b"))
    couple = core.inputs.individu.filter(pl.col("person_id").is_in(["p-mix", "p-mix-b"]))
    assert couple.get_column("famille_id").n_unique() == 1 and couple.height == 2
    unknown = pension_fund_unknown(tables, core.inputs.individu, ("aspa",), MONTH, window=3)
    assert unknown.get_column("famille_id").to_list() == ["cnav:f-mix"]
    # the spouse's pension reported by the CNAV itself: the couple's receipt is observed
    known = {**tables, "resources": tables["resources"].with_columns(
        pl.when(pl.col("person_id") == "p-mix-b").then(pl.lit("cnav")).otherwise(pl.col("source_agency"))
        .alias("source_agency"))}
    assert pension_fund_unknown(known, core.inputs.individu, ("aspa",), MONTH, window=3).is_empty()


def test_payments_on_dossiers_listing_no_adult_are_counted():
    """The CAF pays the prime d'activité on f-ghost, a dossier whose members' lines its extract lost, and on f-kid,
    which lists a child only: no famille we evaluate carries those payments (the summary's bound on the false
    alarms of people the payer does not know)."""
    t = Territory()
    t.famille("a", salary=900.0)
    t.pay("a", "ppa", 150.0)
    t.child("kid", 1, dt.date(2015, 3, 1))
    t.pay("ghost", "ppa", 120.0)
    t.pay("kid", "ppa", 90.0)
    t.pay("ghost", "ppa", 120.0, months=[dt.date(2026, 5, 1)])          # last month's: not this month's
    tables = t.tables()
    core = _core(tables, known=())
    rows = payment_rows(tables["benefits_paid"], core.inputs.individu, MONTH, FIRST.benefits, window=3, grace=0)
    assert unattached_payments(tables, rows, MONTH) == {"ppa": 2}
    run = detect(core, tables, config=FIRST)
    assert run.summary["payments_on_dossiers_without_adults"]["ppa"] == 2
    assert run.summary["payments_on_dossiers_without_adults"]["rsa"] == 0


@pytest.mark.slow
def test_duckdb_caps_the_same_flags():
    """The caps read the workspace tables and the month's payments, never the engine's backend: DuckDB flags what
    Polars flags (the MSA dossier, the CNAV's file lost, the pension no payer knows)."""
    from polars.testing import assert_frame_equal

    for territory in ("msa-dossier", "retirees-lost"):  # Polars' runs: those of the tests above (_polars_run)
        tables, core, polars_run = _polars_run(territory)
        runs = [polars_run, detect(core, tables, backend="duckdb", config=FIRST)]
        assert runs[0].flags.filter(pl.col("grade") == "possible").height > 0
        assert_frame_equal(runs[0].flags, runs[1].flags, check_exact=False, abs_tol=1e-6)
        assert all(runs[0].summary[k] == runs[1].summary[k] for k in runs[0].summary if k.startswith("downgraded"))


def _insured(*, listed_since_april: bool) -> dict[str, pl.DataFrame]:
    """Singles of 40 on 300 € a month (the free CSS is due), whose CPAM granted the free CSS (amount 0: a coverage)
    until April; the CPAM's file lists every insured person every month (``listings``):
    - i-css: listed until April only (``listed_since_april``: listed in May and June too, without a CSS);
    - i-never: listed every month, never a CSS: a non-take-up whatever the file."""
    t = Territory()
    for name in ("css", "never"):
        t.famille(f"i-{name}", salary=300.0)
    for m in MONTHS:
        if m <= dt.date(2026, 4, 1):
            t.paid.append({"unit_kind": None, "unit_id": None, "person_id": "p-i-css", "benefit": "css_free",
                           "month": m, "amount": 0.0, "source_agency": "cnam"})
    # the CPAM's persons rows (every insured person it lists): the insurer knows them both
    t.persons += [{**p, "source_agency": "cnam"} for p in t.persons if p["person_id"] in ("p-i-css", "p-i-never")]
    tables = t.tables()
    listed = [(p, m) for p in ("p-i-css", "p-i-never") for m in MONTHS
              if p == "p-i-never" or listed_since_april or m <= dt.date(2026, 4, 1)]
    tables["listings"] = pl.DataFrame(
        {"person_id": [p for p, _ in listed], "month": [m for _, m in listed], "source_agency": "cnam",
         "extract_id": "cnam", "extract_date": dt.date(2026, 6, 28)})
    return tables


@pytest.mark.parametrize("listed_since_april", [False, True])
def test_a_css_granted_to_an_insured_the_cpam_file_no_longer_lists_is_possible_at_most(listed_since_april: bool):
    """The CPAM lists its insured every month, with or without a CSS. A CSS granted until April to a person its file
    does not list in June: the file of the person is behind (or the person gone to another scheme), the CSS unknown,
    possible at most, though its amount was 0 (a coverage: its rows are the grant). Listed in June without a CSS,
    the CSS stopped: a non-take-up as before. France 100,000: the free CSS's 39 « taken up in truth » were such
    files behind (docs/detection.md)."""
    tables = _insured(listed_since_april=listed_since_april)
    core = core_month(tables, MONTH)
    rows = payment_rows(tables["benefits_paid"], core.inputs.individu, MONTH, FIRST.benefits, window=3, grace=0)
    lost = payee_lines_lost(tables, rows, MONTH, window=3)
    assert lost.select("famille_id", "benefit", "extracts").to_dicts() == (
        [] if listed_since_april else [{"famille_id": "caf:f-i-css", "benefit": "css_free", "extracts": ["cnam"]}])
    run = detect(core, tables, config=FIRST)
    css, never = flag_row(run, "i-css", "css_free"), flag_row(run, "i-never", "css_free")
    assert never["grade"] == "probable" and never["status"] == "non_take_up"
    assert css["status"] == "non_take_up" and css["paid_before"] == 0
    assert css["grade"] == ("probable" if listed_since_april else "possible")
    if not listed_since_april:
        assert css["reasons"][1] == (
            "Signalement ramené à « possible » : l'Assurance maladie accordait cette couverture les mois précédents "
            "et ne transmet ce mois aucune ligne pour la personne (ni la couverture, ni une autre ligne de son "
            "fichier) : l'arrêt peut venir de l'extrait, à vérifier avant tout contact.")
    assert run.summary["downgraded_by_payee_lines_lost"]["css_free"] == (0 if listed_since_april else 1)


def test_the_css_of_a_pensioner_whose_aspa_is_unobserved_is_possible_at_most():
    """The CSS counts the ASPA received (CSS art. R861-5). r-drm's pension is reported by the DRM alone, so what the
    fund paying it serves with it is not observed: a free CSS computed on no ASPA received is possible at most (the
    ASPA would lift her resources over its ceiling). r-cnav, whose ASPA the CNAV would pay and does not, keeps a
    probable free CSS. Both are insured at the CPAM, whose file lists them without a CSS. France 100,000 labelled by
    OpenFisca in the extracts' order: 16 of the free CSS's 33 false alarms were such pensioners, taking their ASPA up
    in truth (docs/detection.md). The ASPA fills resources up to its ceiling, below the CSS with participation's: a
    CSS with participation is not capped for it."""
    tables = _retirees(cnav_lines_in_june=True)
    tables["persons"] = pl.concat([tables["persons"], tables["persons"].filter(
        pl.col("person_id").is_in(["p-drm", "p-cnav"])).with_columns(pl.lit("cnam").alias("source_agency"))])
    tables["listings"] = pl.DataFrame({"person_id": [p for p in ("p-drm", "p-cnav") for _ in MONTHS],
                                       "month": MONTHS * 2, "source_agency": "cnam", "extract_id": "cnam",
                                       "extract_date": dt.date(2026, 6, 28)})
    tables["benefits_paid"] = pl.concat([tables["benefits_paid"], pl.DataFrame(
        {"unit_kind": [None], "unit_id": [None], "person_id": ["p-other"], "benefit": ["css_free"], "month": [MONTH],
         "amount": [0.0], "source_agency": ["cnam"], "paying_agency": ["cnam"], "extract_id": ["cnam"],
         "extract_date": [dt.date(2026, 6, 28)]}, schema=tables["benefits_paid"].schema)])
    run = detect(_core(tables, known=RETIREES), tables, config=FIRST)
    drm, cnav = flag_row(run, "drm", "css_free"), flag_row(run, "cnav", "css_free")
    assert cnav["grade"] == "probable" and cnav["status"] == "non_take_up"  # an informed estimate decides it
    assert drm["status"] == "non_take_up" and drm["grade"] == "possible"
    assert drm["reasons"][1] == (
        "Signalement ramené à « possible » : une pension est déclarée pour une personne du foyer, mais ni "
        "l'Assurance retraite ni la MSA ne la connaissent ; l'ASPA que servirait avec elle la caisse qui la verse, "
        "dont l'extrait n'est pas transmis, compte dans les ressources et n'est pas connue : à vérifier avant tout "
        "contact.")
    assert run.summary["downgraded_by_pension_benefit_unknown"] == {"css_free": 1}
    assert run.summary["downgraded_by_pension_fund_unknown"] == {"aspa": 1}
