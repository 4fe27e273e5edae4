"""Every connector reads what `synth --extracts` writes, into valid canonical tables without identifiers."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import polars as pl
import pytest

from nonrecours.connectors import AGENCY_MODULES, default_mapping, ingest
from nonrecours.privacy import PSEUDONYM_PATTERN, ExchangeAgreement, find_leaks, pseudonymise
from nonrecours.schemas import TABLES

from .conftest import Territory

EXPECTED_TABLES = {
    "caf": {"persons", "unit_memberships", "benefits_paid", "housing", "resources"},
    "cnam": {"resources", "listings"},
    "france_travail": {"resources"},
    "dgfip": {"unit_memberships", "annual_income", "tax_households"},
    "cnav": {"persons", "unit_memberships", "resources"},
    "msa": {"persons", "unit_memberships", "benefits_paid", "resources"},
    "drm": {"resources"},
}


def _data_rows(path: Path, agency: str) -> int:
    if path.suffix == ".parquet":
        return pl.scan_parquet(path).select(pl.len()).collect().item()
    lines = path.read_bytes().count(b"\n")
    return lines - (0 if agency == "caf" else 1)  # the CSV header is not a row


@pytest.mark.parametrize("agency", AGENCY_MODULES)
def test_reads_synth_extract(agency: str, territory: Territory, agreement: ExchangeAgreement, tmp_path: Path,
                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="nonrecours")
    src = territory.extracts[agency]
    report = ingest(src, default_mapping(agency), agreement, tmp_path)
    # nothing lost: every line is read, and is accepted or quarantined
    assert report.rows_read == _data_rows(src, agency)
    assert report.rows_read == report.rows_accepted + report.rows_quarantined
    assert report.rows_accepted > 0.9 * report.rows_read
    assert EXPECTED_TABLES[agency] <= set(report.tables)
    q = pl.read_parquet(report.outputs["quarantine"])
    assert q.get_column("line").n_unique() == report.rows_quarantined
    # the noise injected is NIR noise only: every fault is a NIR fault with its column named
    assert set(q.get_column("reason").unique()) <= {"missing NIR", "invalid NIR check key"}
    assert q.get_column("column").str.contains("(?i)nir").all()
    for table in EXPECTED_TABLES[agency]:
        df = pl.read_parquet(report.outputs[table])
        TABLES[table].validate_frame(df)  # canonical dtypes, checks and unique key
        assert df.height == report.tables[table].rows_written > 0
        for col in ("person_id", "unit_id", "menage_id"):
            if col in df.columns:
                ids = df.get_column(col).drop_nulls()
                assert ids.str.contains(PSEUDONYM_PATTERN).all()
        assert (df.get_column("source_agency").cast(pl.String) == agency).all()
    saved = json.loads(Path(report.outputs["report"]).read_text())
    assert saved["rows_read"] == saved["rows_accepted"] + saved["rows_quarantined"]
    # no raw NIR, no name anywhere in the outputs, the report or the logs
    log_text = "\n".join(r.getMessage() for r in caplog.records)
    leaks = find_leaks([tmp_path, log_text], names=territory.names)
    assert not leaks, [str(leak) for leak in leaks]
    # nor the exchange secret
    secret = os.environ["NONRECOURS_EXCHANGE_SECRET"].encode()
    assert secret not in log_text.encode()
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and secret in p.read_bytes()]


def test_noise_is_counted_and_resolved(territory: Territory, agreement: ExchangeAgreement, tmp_path: Path) -> None:
    """Duplicates and late updates of the CAF extract collapse to one row per key, keeping the last line."""
    manifest = json.loads((territory.root / "extracts" / "manifest.json").read_text())
    caf = manifest["agencies"]["caf"]
    report = ingest(territory.extracts["caf"], default_mapping("caf"), agreement, tmp_path)
    paid = report.tables["benefits_paid"]
    assert paid.duplicate_keys_dropped >= 1
    assert paid.duplicate_keys_dropped <= caf["duplicates"] + caf["late_updates"]
    # NIR typos and blanks are quarantined: one member record per person concerned
    q = pl.read_parquet(report.outputs["quarantine"])
    assert q.filter(pl.col("record") == "membre").height == caf["nir_typos"] + caf["nir_missing"]
    assert set(q.get_column("record").unique()) <= {"membre", "ressources"}


def test_complement_familial_payments_are_read_as_cf(territory: Territory, agreement: ExchangeAgreement,
                                                      tmp_path: Path) -> None:
    """The CAF's record 30 code ``CF`` and the MSA's nature ``CF`` are the complément familial: the truth pays it
    (41.65 % of the BMAF, synth.caf) and the CAF extract carries it at that amount; an MSA payment line of
    nature CF becomes a cf payment of the same amount."""
    import datetime as dt
    from decimal import Decimal

    import numpy as np

    from nonrecours.synth.caf import bmaf_for

    truth = pl.read_parquet(territory.root / "truth" / "benefits_paid.parquet").filter(
        (pl.col("benefit").cast(pl.String) == "cf") & (pl.col("paying_agency").cast(pl.String) == "caf"))
    assert truth.height > 0
    caf = ingest(territory.extracts["caf"], default_mapping("caf"), agreement, tmp_path / "caf")
    paid = pl.read_parquet(caf.outputs["benefits_paid"])
    cf = paid.filter(pl.col("benefit").cast(pl.String) == "cf")
    assert cf.height > 0 and cf.get_column("unit_id").n_unique() <= truth.get_column("unit_id").n_unique()
    months = cf.get_column("month").to_list()
    expected = np.round(bmaf_for(np.array([m.year * 12 + m.month - 1 for m in months])) * 0.4165, 2)
    assert [float(a) for a in cf.get_column("amount")] == pytest.approx(expected.tolist(), abs=0.005)
    # the MSA: a payment line of nature AF turned into CF
    lines = territory.extracts["msa"].read_bytes().decode("cp1252").split("\n")
    header = lines[0].split(";")
    nature, amount = header.index("NATURE"), header.index("MONTANT")
    i = next(k for k, line in enumerate(lines) if line.split(";")[nature:nature + 1] == ["AF"])
    cells = lines[i].split(";")
    cells[nature] = "CF"
    lines[i] = ";".join(cells)
    src = tmp_path / "msa.csv"
    src.write_bytes("\n".join(lines).encode("cp1252"))
    msa = ingest(src, default_mapping("msa"), agreement, tmp_path / "msa")
    got = pl.read_parquet(msa.outputs["benefits_paid"]).filter(pl.col("benefit").cast(pl.String) == "cf")
    period = dt.datetime.strptime(cells[header.index("PERIODE")], "%Y-%m").date()
    assert got.height == 1 and got.get_column("month")[0] == period
    assert got.get_column("amount")[0] == Decimal(cells[amount].replace(",", "."))
    assert got.get_column("unit_kind").cast(pl.String)[0] == "famille"


def test_an_msa_dossier_payment_keeps_its_payee_when_the_member_lines_are_lost(
        territory: Territory, agreement: ExchangeAgreement, tmp_path: Path) -> None:
    """The MSA pays a dossier's benefits on its insured person's line (msa.md), which names him: with every member
    line of the dossier quarantined (a blank STATUT), its payments keep the payee's pseudonym beside the dossier, the
    one his member lines gave (probe5_ext: the payee was read as paid nothing, flagged on the MSA's own list)."""
    text = territory.extracts["msa"].read_bytes().decode("cp1252")
    lines = text.split("\n")
    header = lines[0].split(";")
    col = {c: header.index(c) for c in ("NUM_DOSSIER", "NIR", "NATURE", "LIEN", "STATUT")}
    rows = [line.split(";") for line in lines[1:] if line.count(";") == len(header) - 1]
    dossier = next(r[col["NUM_DOSSIER"]] for r in rows if r[col["NATURE"]] in ("AF", "RSA", "PPA", "AL"))
    insured = {r[col["NIR"]] for r in rows if r[col["NUM_DOSSIER"]] == dossier and r[col["LIEN"]] == "ASS"}
    assert len(insured) == 1
    payee = pseudonymise(pl.DataFrame({"nir": list(insured)}), "nir", agreement.pseudonym_key(), key_id_column=None,
                         reason_column=None).to_series().to_list()
    out = [lines[0]]
    for line in lines[1:]:
        cells = line.split(";")
        if len(cells) == len(header) and cells[col["NUM_DOSSIER"]] == dossier and cells[col["NATURE"]] == "MEMBRE":
            cells[col["STATUT"]] = ""
        out.append(";".join(cells))
    src = tmp_path / "msa.csv"
    src.write_bytes("\n".join(out).encode("cp1252"))
    after = ingest(src, default_mapping("msa"), agreement, tmp_path / "after")
    assert pl.read_parquet(after.outputs["unit_memberships"]).filter(pl.col("person_id").is_in(payee)).is_empty()
    paid = pl.read_parquet(after.outputs["benefits_paid"]).filter(
        pl.col("person_id").is_in(payee) & (pl.col("unit_kind").cast(pl.String) == "famille"))
    assert paid.height > 0 and paid.get_column("unit_id").n_unique() == 1


def test_same_person_same_pseudonym_across_agencies(territory: Territory, agreement: ExchangeAgreement,
                                                     tmp_path: Path) -> None:
    """The exchange key makes CAF persons and DGFiP foyer members join on person_id."""
    caf = ingest(territory.extracts["caf"], default_mapping("caf"), agreement, tmp_path / "caf")
    dgfip = ingest(territory.extracts["dgfip"], default_mapping("dgfip"), agreement, tmp_path / "dgfip")
    a = pl.read_parquet(caf.outputs["persons"]).select("person_id")
    b = pl.read_parquet(dgfip.outputs["unit_memberships"]).select("person_id").unique()
    shared = a.join(b, on="person_id")
    assert shared.height > 0.8 * a.height


@pytest.mark.slow
def test_streaming_in_small_batches_gives_the_same_tables(territory: Territory, agreement: ExchangeAgreement,
                                                           tmp_path: Path) -> None:
    for agency in ("caf", "cnam", "dgfip"):
        one = ingest(territory.extracts[agency], default_mapping(agency), agreement, tmp_path / "one")
        many = ingest(territory.extracts[agency], default_mapping(agency), agreement, tmp_path / "many",
                      chunk_bytes=8192, batch_rows=500, spill_rows=0)  # and the DuckDB merge
        assert (one.rows_read, one.rows_quarantined) == (many.rows_read, many.rows_quarantined)
        for table in one.tables:
            a = pl.read_parquet(one.outputs[table])
            b = pl.read_parquet(many.outputs[table])
            assert a.sort(a.columns).equals(b.sort(b.columns)), (agency, table)
        qa = pl.read_parquet(one.outputs["quarantine"])
        qb = pl.read_parquet(many.outputs["quarantine"])
        assert qa.sort(qa.columns).equals(qb.sort(qb.columns))


def test_ingested_workspace_feeds_the_core(territory: Territory, agreement: ExchangeAgreement,
                                          tmp_path: Path) -> None:
    """The six extracts ingested into one workspace give the core units it can evaluate the rules on."""
    import datetime as dt

    from nonrecours.core import build_inputs
    from nonrecours.engine import evaluate

    for agency in AGENCY_MODULES:
        ingest(territory.extracts[agency], default_mapping(agency), agreement, tmp_path)
    tables = {t: pl.scan_parquet(tmp_path / t / "*.parquet")
              for t in ("persons", "unit_memberships", "resources", "benefits_paid", "housing")}
    kinds = set(tables["unit_memberships"].select(pl.col("unit_kind").cast(pl.String).unique()).collect()
                .to_series().to_list())
    assert kinds == {"famille", "foyer_fiscal", "menage"}
    month = pl.read_parquet(tmp_path / "housing" / "caf-caf.parquet").get_column("month").max()
    assert isinstance(month, dt.date)
    result = evaluate(["rsa", "css_free"], build_inputs(tables, month), month)
    fam = result["famille"]
    persons = pl.read_parquet(tmp_path / "persons" / "*.parquet").get_column("person_id").n_unique()
    assert fam.height > 0.3 * persons / 2.5  # CAF and MSA familles (others lack a famille in the extracts)


def test_drm_gives_monthly_resources_of_people_the_caf_does_not_follow(territory: Territory,
                                                                      agreement: ExchangeAgreement,
                                                                      tmp_path: Path) -> None:
    """The DRM carries the salaries of people in no CAF dossier, with the truth's amounts."""
    drm = ingest(territory.extracts["drm"], default_mapping("drm"), agreement, tmp_path)
    caf = ingest(territory.extracts["caf"], default_mapping("caf"), agreement, tmp_path)
    res = pl.read_parquet(drm.outputs["resources"])
    known = pl.read_parquet(caf.outputs["persons"]).select("person_id")
    salaried = res.filter(pl.col("kind") == "salary_net").select("person_id").unique()
    outside = salaried.join(known, on="person_id", how="anti")
    assert outside.height > 0.3 * salaried.height
    assert set(res.get_column("kind").cast(pl.String).unique()) >= {"salary_net", "unemployment_benefit",
                                                                    "pension_net"}
    # the amounts are the truth's: total salaries of the extract months, up to the noise (<5%)
    truth = pl.read_parquet(territory.root / "truth" / "resources.parquet").filter(
        (pl.col("kind").cast(pl.String) == "salary_net") & pl.col("month").is_in(res.get_column("month").unique()
                                                                                  .implode()))
    got = float(res.filter(pl.col("kind") == "salary_net").get_column("amount").cast(pl.Float64).sum())
    want = float(truth.get_column("amount").cast(pl.Float64).sum())
    assert 0.85 * want < got <= 1.01 * want


def test_drm_as_parquet_gives_the_same_resources(territory: Territory, agreement: ExchangeAgreement,
                                                 tmp_path: Path) -> None:
    """The DRM supplied as typed Parquet, read with the example mapping, gives the CSV's rows."""
    from nonrecours.connectors import load_mapping

    from .conftest import REPO

    csv = pl.read_csv(territory.extracts["drm"], separator=";", infer_schema=False)
    csv.with_columns(pl.col("MOIS_RATTACHEMENT").str.to_date("%Y%m"), pl.col("MONTANT").cast(pl.Float64)).write_parquet(
        tmp_path / "drm.parquet")
    example = load_mapping(REPO / "examples" / "mappings" / "drm_parquet.yaml")
    a = ingest(tmp_path / "drm.parquet", example, agreement, tmp_path / "p", extract_id="drm")
    b = ingest(territory.extracts["drm"], default_mapping("drm"), agreement, tmp_path / "c", extract_id="drm")
    ra, rb = (pl.read_parquet(r.outputs["resources"]).drop("extract_date") for r in (a, b))
    assert ra.height > 0 and ra.sort(ra.columns).equals(rb.sort(rb.columns))
    assert (a.rows_read, a.rows_quarantined) == (b.rows_read, b.rows_quarantined)


def test_cnav_leaves_what_it_does_not_hold_null(territory: Territory, agreement: ExchangeAgreement,
                                                 tmp_path: Path) -> None:
    """The CNAV knows neither studies, pregnancy nor disability: its persons rows leave them null (unknown to
    the core) instead of writing false/0 for every retiree."""
    report = ingest(territory.extracts["cnav"], default_mapping("cnav"), agreement, tmp_path)
    persons = pl.read_parquet(report.outputs["persons"])
    assert persons.height > 0
    for col in ("disability_rate", "student", "pregnant"):
        assert persons.get_column(col).is_null().all(), col
    assert persons.get_column("birth_month").is_not_null().all()


def test_france_travail_lists_every_jobseeker_with_or_without_are(territory: Territory, agreement: ExchangeAgreement,
                                                                   tmp_path: Path) -> None:
    """Every accepted line of France Travail's extract is a month of the jobseeker's ARE, 0 included (« montant_are
    0 when none is paid »): an observed zero, and what tells how far the file goes. A jobseeker whose rights ended
    in June, in a file whose only other jobseekers' rows say 0 too, was read as a file behind from June on: July to
    September carried at 1,100 € a month, his RSA of 206.82 € not flagged (an outside tester's probe10, H8)."""
    raw = pl.read_csv(territory.extracts["france_travail"], infer_schema=False)
    assert (raw.get_column("montant_are").cast(pl.Float64) == 0).any()
    report = ingest(territory.extracts["france_travail"], default_mapping("france_travail"), agreement, tmp_path)
    assert report.rows_read == report.rows_accepted + report.rows_quarantined
    are = pl.read_parquet(report.outputs["resources"])
    q = pl.read_parquet(report.outputs["quarantine"]).get_column("line").unique()
    kept = raw.with_row_index("line", offset=2).filter(~pl.col("line").is_in(q.implode()))
    assert are.height == kept.select("nir", "mois").n_unique()
    zeros = kept.filter(pl.col("montant_are").cast(pl.Float64) == 0).select("nir", "mois").n_unique()
    assert are.filter(pl.col("amount") == 0).height == zeros > 0


def test_france_travail_rsa_recipient_is_read_as_a_receipt(territory: Territory, agreement: ExchangeAgreement,
                                                           tmp_path: Path) -> None:
    """« bénéficiaire du RSA » (O/N) of the France Travail extract: a yes is an RSA receipt of that person and
    month (benefit_receipts, no amount: France Travail does not pay it), a no nothing; an extract without the
    column (an older layout) gives none and no fault."""
    raw = pl.read_csv(territory.extracts["france_travail"], infer_schema=False)
    assert set(raw.get_column("beneficiaire_rsa").unique()) <= {"O", "N"}
    # the territory is written without entitlements (nobody paid the RSA): its category A jobseekers of 2026 say yes
    src = tmp_path / "france_travail.csv"
    yes = (pl.col("categorie") == "A") & pl.col("mois").str.starts_with("2026")
    raw.with_columns(pl.when(yes).then(pl.lit("O")).otherwise(pl.lit("N")).alias("beneficiaire_rsa")).write_csv(src)
    report = ingest(src, default_mapping("france_travail"), agreement, tmp_path / "ws")
    assert report.rows_read == report.rows_accepted + report.rows_quarantined
    rec = pl.read_parquet(report.outputs["benefit_receipts"])
    TABLES["benefit_receipts"].validate_frame(rec)
    assert set(rec.get_column("benefit").cast(pl.String)) == {"rsa"} and "amount" not in rec.columns
    assert (rec.get_column("source_agency").cast(pl.String) == "france_travail").all()
    assert rec.get_column("person_id").str.contains(PSEUDONYM_PATTERN).all()
    # one row per person and month the extract says yes for, whose NIR is valid (the others are quarantined)
    q = pl.read_parquet(report.outputs["quarantine"]).get_column("line").unique()
    said = (raw.with_row_index("line", offset=2).filter(yes & ~pl.col("line").is_in(q.implode()))
            .select("nir", "mois").unique())
    assert rec.height == said.height > 0
    assert sorted(rec.get_column("month").dt.strftime("%Y-%m").unique()) == sorted(said.get_column("mois").unique())
    # the same persons as the extract's other rows (its ARE rows, 0 included, share the pseudonym)
    are = pl.read_parquet(report.outputs["resources"])
    both = raw.with_row_index("line", offset=2).filter(yes & ~pl.col("line").is_in(q.implode())).select("nir").unique()
    assert rec.join(are, on=["person_id", "month"]).select("person_id").n_unique() == both.height
    old = tmp_path / "old.csv"
    raw.drop("beneficiaire_rsa").write_csv(old)
    report_old = ingest(old, default_mapping("france_travail"), agreement, tmp_path / "old_ws")
    assert report_old.rows_read == report_old.rows_accepted + report_old.rows_quarantined == raw.height
    assert "benefit_receipts" not in report_old.tables or report_old.tables["benefit_receipts"].rows_written == 0


def test_the_cpam_file_lists_every_insured_person_every_month(territory: Territory, agreement: ExchangeAgreement,
                                                              tmp_path: Path) -> None:
    """Every accepted line of the CNAM's extract, with or without a CSS, is a listing of its person and month: what
    tells a CSS stopped (listed, TOP_CSS 0) from a person the file no longer carries (detection's
    ``payee_lines_lost``)."""
    raw = pl.read_csv(territory.extracts["cnam"], infer_schema=False, separator=";")
    report = ingest(territory.extracts["cnam"], default_mapping("cnam"), agreement, tmp_path)
    listed = pl.read_parquet(report.outputs["listings"])
    TABLES["listings"].validate_frame(listed)
    q = pl.read_parquet(report.outputs["quarantine"]).get_column("line").unique()
    kept = raw.with_row_index("line", offset=2).filter(~pl.col("line").is_in(q.implode()))
    assert listed.height == kept.select("NIR_BENEFICIAIRE", "MOIS_DROIT").n_unique() > 0
    assert kept.filter(pl.col("TOP_CSS") == "0").height > 0  # lines without a CSS are listed
    assert sorted(listed.get_column("month").dt.strftime("%m/%Y").unique()) == sorted(
        kept.get_column("MOIS_DROIT").unique())
    # one pseudonym a person across the extract's tables: every person listed is a person of the extract
    persons = pl.read_parquet(report.outputs["persons"])
    assert listed.select("person_id").unique().join(persons, on="person_id", how="anti").is_empty()


def test_the_report_records_whether_the_mapping_carries_payments_on_members_lines(
        territory: Territory, agreement: ExchangeAgreement, tmp_path: Path) -> None:
    """Ingest records the layout it read each extract with, and the workspace answers from those records: the
    MSA's default layout carries a dossier's payments on its members' lines; a team's own MSA mapping that does
    not emit them there does not, whatever the agency's default says."""
    from nonrecours.connectors import ExtractMapping
    from nonrecours.core.workspace import recorded_member_line_payers

    default = tmp_path / "default"
    for agency in ("msa", "cnav"):
        report = ingest(territory.extracts[agency], default_mapping(agency), agreement, default)
        assert report.famille_payments_on_member_lines is (agency == "msa")
    assert recorded_member_line_payers(default) == frozenset({"msa"})
    own = default_mapping("msa").model_dump()
    emits = own["records"][0]["emits"]
    own["records"][0]["emits"] = [e for e in emits if not (e["table"] == "benefits_paid"
                                                           and e["constants"].get("unit_kind") == "famille")]
    mapping = ExtractMapping.from_dict(own)
    assert not mapping.famille_payments_on_member_lines
    custom = tmp_path / "custom"
    report = ingest(territory.extracts["msa"], mapping, agreement, custom)
    assert json.loads(Path(report.outputs["report"]).read_text())["famille_payments_on_member_lines"] is False
    assert recorded_member_line_payers(custom) == frozenset()
    assert recorded_member_line_payers(tmp_path / "nothing") is None  # no report: the workspace cannot say


def test_the_report_records_the_resource_kinds_the_mapping_carries(
        territory: Territory, agreement: ExchangeAgreement, tmp_path: Path) -> None:
    """Ingest records the resource kinds of the layout it read each extract with, and the workspace answers from
    those records (``core.workspace.follower_kinds``): the MSA's default layout carries salaries and pensions, a
    team's own MSA mapping that leaves the salaries out carries pensions only, whatever the default says."""
    from nonrecours.connectors import ExtractMapping
    from nonrecours.core.workspace import follower_kinds

    default = tmp_path / "default"
    for agency in ("msa", "caf"):
        report = ingest(territory.extracts[agency], default_mapping(agency), agreement, default)
        assert report.resource_kinds == sorted(default_mapping(agency).resource_kinds)
        # every kind the extract wrote is one the layout says it carries
        written = pl.read_parquet(report.outputs["resources"]).get_column("kind").cast(pl.String).unique()
        assert set(written) <= set(report.resource_kinds)
    assert follower_kinds(default) == {
        "caf": ("alimony", "invalidity_pension", "pension_net", "salary_net", "unemployment_benefit"),
        "msa": ("pension_gross", "pension_net", "salary_net")}
    own = default_mapping("msa").model_dump()
    for emit in own["records"][0]["emits"]:
        if emit["table"] == "resources":
            emit["when"] = {"nature": ["pension_net", "pension_gross"]}
    custom = tmp_path / "custom"
    report = ingest(territory.extracts["msa"], ExtractMapping.from_dict(own), agreement, custom)
    assert json.loads(Path(report.outputs["report"]).read_text())["resource_kinds"] == ["pension_gross",
                                                                                       "pension_net"]
    assert follower_kinds(custom) == {"msa": ("pension_gross", "pension_net")}
