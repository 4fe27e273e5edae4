"""Outreach lists: one row per person, the right lead agency, tokens only the owner opens, sorted by priority."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from nonrecours.cli import app
from nonrecours.errors import ConfigError, PrivacyError
from nonrecours.outputs.outreach import OUTREACH_SCHEMA, OutreachConfig, PayerRule, build_outreach, open_outreach
from nonrecours.outputs.stage import _dossier_members
from nonrecours.outputs.writers import write_french_csv, write_parquet
from nonrecours.privacy import derive_return_key, load_secret, open_return_tokens, write_secret_file
from nonrecours.schemas.codes import AGENCIES, AGENCY_LABELS, CLAIM_ONLY_AGENCIES

from .conftest import EXCHANGE, MONTH, PURPOSE, flag, pid


@pytest.fixture
def lists(flags, records, return_keys, provenance, affiliations):
    return build_outreach(flags, records=records, keys=return_keys, provenance=provenance,
                          affiliations=affiliations)


def test_one_row_per_person_in_exactly_one_list(lists, flags):
    rows = pl.concat(list(lists.values()))
    assert rows.schema == pl.Schema(OUTREACH_SCHEMA)
    assert rows.height == flags.get_column("claimant_id").n_unique() == 8
    assert rows.filter(pl.col("return_token").is_not_null()).get_column("return_token").is_unique().all()


def test_lead_agency_pays_the_largest_missing_benefit(lists):
    rows = pl.concat(list(lists.values()))
    leads = {a: sorted(f.get_column("lead_benefit").to_list())
             for (a,), f in rows.partition_by("claim_agency", as_dict=True).items()}
    assert leads == {"caf": ["ppa", "rsa", "rsa", "rsa"], "cnam": ["css_free"], "cnav": ["aspa"],
                     "msa": ["aspa", "rsa"]}  # Jérôme's RSA and Hélène's ASPA go to the MSA, her members
    anais = lists["caf"].filter(pl.col("benefits") == ["rsa", "ppa"]).row(0, named=True)
    assert anais["lead_benefit"] == "rsa" and anais["grade"] == "probable"
    assert anais["amount_central"] == pytest.approx(270.0)


def test_the_cheque_energie_is_claimed_at_the_asp_and_its_row_sent_by_a_relay(flags, records, return_keys,
                                                                              provenance, affiliations):
    """The chèque énergie is claimed from the ASP (chequeenergie.gouv.fr); the DGFiP sends data but takes no claim
    and contacts nobody. An outside tester's rows (runA, 6 December 2026) said ``claim_agency`` dgfip beside the
    channel « guichet de l'ASP ». Noël, known to the CPAM, misses a chèque énergie and a free CSS: the row goes to
    the CPAM (a relay), the claim to the ASP, the channel is the ASP's."""
    energy = flag("noel", "cheque_energie", "possible", 16.17, unknowns=("revenu_activite_imposable_n2",))
    both = pl.concat([flags, pl.DataFrame([energy], schema=flags.schema)])
    lists = build_outreach(both, records=records, keys=return_keys, provenance=provenance, affiliations=affiliations)
    noel = pl.concat(list(lists.values())).filter(pl.col("lead_benefit") == "cheque_energie").row(0, named=True)
    assert (noel["agency"], noel["claim_agency"], noel["has_record"]) == ("cnam", "asp", True)
    assert any(c.startswith("chèque énergie : demande en ligne sur chequeenergie.gouv.fr (guichet de l'ASP")
               for c in noel["channels"]), noel["channels"]
    assert "dgfip" not in set(pl.concat(list(lists.values())).get_column("claim_agency"))


def test_best_grade_keeps_a_sure_flag_under_a_doubtful_lead(flags, records, return_keys, provenance, affiliations):
    """The lead is the largest missing amount, its grade the row's ``grade``: a certain CSS (no money missing) under
    a possible ASPA read as a possible row, and a team keeping its certain and probable rows lost it (found probing a
    territory written from the docs alone, 5 December 2026). ``best_grade`` is the surest of the row's flags."""
    mine = pl.col("claimant_id") == pid("francoise")
    swapped = flags.with_columns(pl.when(mine & (pl.col("benefit") == "aspa")).then(pl.lit("possible"))
                                 .when(mine).then(pl.lit("certain")).otherwise(pl.col("grade")).alias("grade"))
    rows = pl.concat(list(build_outreach(swapped, records=records, keys=return_keys, provenance=provenance,
                                         affiliations=affiliations).values()))
    francoise = rows.filter(pl.col("benefits").list.contains("aspa") & pl.col("benefits").list.contains(
        "css_participation")).row(0, named=True)
    assert (francoise["lead_benefit"], francoise["grade"], francoise["best_grade"]) == ("aspa", "possible", "certain")
    order = {"certain": 0, "probable": 1, "possible": 2}
    assert all(order[r["best_grade"]] <= order[r["grade"]] for r in rows.iter_rows(named=True))


def test_under_payment_counts_the_missing_part(lists):
    gaelle = lists["caf"].filter(pl.col("lead_benefit") == "ppa").row(0, named=True)
    assert gaelle["amount_central"] == pytest.approx(150.0)  # 250 due, 100 paid
    assert gaelle["priority"] == pytest.approx(150.0)


def test_sorted_by_amount_times_grade_weight(lists):
    caf = lists["caf"]
    assert caf.get_column("priority").to_list() == sorted(caf.get_column("priority").to_list(), reverse=True)
    top = caf.row(0, named=True)  # Élodie: 612.5 certain; her free CSS, a coverage, is no money missing
    assert top["priority"] == pytest.approx(612.5) and top["amount_central"] == pytest.approx(612.5)
    assert top["benefits"] == ["rsa", "css_free"] and top["linked"] == ["css_free"]


def test_row_tells_what_is_known_and_what_to_ask(lists):
    elodie = lists["caf"].row(0, named=True)
    assert "Date de naissance : CAF (05/2026)" in elodie["known_facts"]
    assert "Salaires des derniers mois : DGFiP (04/2026)" in elodie["known_facts"]
    assert "Allocations chômage : France Travail (05/2026)" in elodie["known_facts"]  # her partner's
    assert not any("oyer" in f for f in elodie["known_facts"])  # rent is unknown: asked, not known
    assert elodie["questions"][0].startswith("Quel est votre loyer")  # the deciding unknown comes first
    assert any("neuf mois" in q and "R262-5" in q for q in elodie["questions"])
    assert any("L861-4" in q for q in elodie["questions"])
    assert any("caf.fr" in c for c in elodie["channels"]) and any("ameli.fr" in c for c in elodie["channels"])
    assert elodie["reasons"][0].startswith("revenu de solidarité active (RSA) : ressources du foyer")
    francoise = lists["cnav"].row(0, named=True)
    assert any("R815-22" in q for q in francoise["questions"])


def test_a_row_asks_a_bounded_number_of_questions_deciding_ones_first(flags, records, return_keys, provenance,
                                                                     affiliations):
    """A letter is answered when it is short: a tester's CPAM row asked 25 questions (6 December 2026). At most
    ``max_questions`` (12) by default; asked for two, Élodie's row keeps the deciding unknown first and one more."""
    args = {"records": records, "keys": return_keys, "provenance": provenance, "affiliations": affiliations}
    full = build_outreach(flags, **args)["caf"].row(0, named=True)["questions"]
    assert 2 < len(full) <= OutreachConfig().max_questions
    two = build_outreach(flags, config=OutreachConfig(max_questions=2), **args)["caf"].row(0, named=True)
    assert two["questions"] == full[:2] and two["questions"][0].startswith("Quel est votre loyer")
    with pytest.raises(ValueError, match="max_questions"):
        OutreachConfig(max_questions=0)


def test_a_person_the_claims_agency_does_not_know_is_contacted_by_one_that_does(lists, return_keys, flags,
                                                                                 records, tmp_path):
    """Loïc's RSA goes to the CAF, which holds no record of him: France Travail, which does, contacts him with
    a token only it opens; every row of every list can be opened by its agency."""
    loic = lists["france_travail"].row(0, named=True)
    assert loic["claim_agency"] == "caf" and loic["lead_benefit"] == "rsa" and loic["has_record"]
    assert loic["known_to"] == ["france_travail"]
    opened = open_outreach(write_parquet(lists["france_travail"], tmp_path / "ft.parquet"),
                           return_keys["france_travail"])
    assert opened.get_column("record_id").to_list() == [pid("loic")]
    rows = pl.concat(list(lists.values()))
    assert rows.get_column("has_record").all() and rows.get_column("return_token").null_count() == 0
    # the agency the claim goes to contacts the people it knows itself
    own = rows.filter(pl.col("known_to").list.contains(pl.col("claim_agency")))
    assert own.height == rows.height - 1 and (own.get_column("agency") == own.get_column("claim_agency")).all()
    # a person no agency holds a record of stays with the claim's agency, without a token (counted, not dropped)
    unknown = build_outreach(flags, records=records.filter(pl.col("person_id") != pid("loic")), keys=return_keys)
    nobody = pl.concat(list(unknown.values())).filter(~pl.col("has_record"))
    assert nobody.height == 1 and nobody.row(0, named=True)["agency"] == "caf"
    assert nobody.row(0, named=True)["return_token"] is None and nobody.row(0, named=True)["known_to"] == []
    with pytest.raises(ValueError, match="relay_order"):
        OutreachConfig(relay_order=("cnam", "cpam"))


def test_tokens_open_only_with_the_owning_agency_key(tmp_path, lists, return_keys, flags, records):
    path = write_parquet(lists["caf"], tmp_path / "caf.parquet")
    opened = open_outreach(path, return_keys["caf"])
    tokens = lists["caf"].get_column("return_token")
    assert "return_token" not in opened.columns
    expected = {pid(p) for p in ("elodie", "gaelle", "anais")}
    assert set(opened.get_column("record_id").drop_nulls().to_list()) == expected
    assert tokens.null_count() == 0
    # Another agency's key, or the CAF's secret under another exchange, opens nothing.
    csv = write_french_csv(lists["caf"].with_columns(pl.lit("msa").alias("agency")), tmp_path / "caf.csv")
    with pytest.raises(PrivacyError, match="authentication failed") as err:
        open_outreach(csv, return_keys["msa"])
    assert not any(t in str(err.value) for t in tokens.drop_nulls().to_list())
    with pytest.raises(PrivacyError, match="another agency"):
        open_outreach(path, return_keys["msa"])
    # one token its key did not issue, in the list's second row: the file, its line (or row) and the column
    foreign = next(t for a, f in lists.items() if a != "caf" for t in f.get_column("return_token").drop_nulls())
    forged = lists["caf"].with_columns(
        pl.when(pl.int_range(pl.len()) == 1).then(pl.lit(foreign)).otherwise("return_token").alias("return_token"))
    # it is kept, not opened, with its place and the reason; the other rows open: rows out = rows in
    for name, writer, where in (("forged.csv", write_french_csv, "forged.csv, line 3, column return_token"),
                                ("forged.parquet", write_parquet,
                                 "forged.parquet, row 1 (from 0), column return_token")):
        opened = open_outreach(writer(forged, tmp_path / name), return_keys["caf"])
        assert opened.height == forged.height
        errors = opened.get_column("token_error").to_list()
        assert errors[1].startswith(f"{where}: authentication failed") and foreign not in errors[1]
        assert errors[0] is None and errors[2:] == [None] * (forged.height - 2)
        assert opened.get_column("record_id")[1] is None
        assert opened.get_column("record_id").drop_nulls().len() == forged.height - 1
    # a list none of whose tokens opens (every one replaced by another agency's): refused, the first row named
    alien = lists["caf"].with_columns(pl.lit(foreign).alias("return_token"))
    with pytest.raises(PrivacyError, match=r"forged_all.csv, line 2, column return_token: authentication failed.*"
                                           r"no token of the list opens"):
        open_outreach(write_french_csv(alien, tmp_path / "forged_all.csv"), return_keys["caf"])


def test_a_list_comes_back_from_a_french_spreadsheet(tmp_path, lists, return_keys):
    """Excel saves the list in cp1252 without the BOM; a token starting with « - » went out behind an apostrophe
    (else the spreadsheet reads a formula and saves #NOM?): the list opens as it was issued."""
    caf = lists["caf"].with_columns(pl.lit("Réponse « à compléter »").alias("note"))
    csv = write_french_csv(caf, tmp_path / "caf.csv")
    text = csv.read_bytes().decode("utf-8-sig")
    for token in caf.get_column("return_token").drop_nulls():  # written as text a spreadsheet will not evaluate
        assert (f";'{token};" in text) == token.startswith("-") and (f";{token};" in text) != token.startswith("-")
    resaved = tmp_path / "caf-excel.csv"
    resaved.write_bytes(text.replace("\n", "\r\n").encode("cp1252"))
    opened = open_outreach(resaved, return_keys["caf"])
    assert opened.get_column("token_error").null_count() == opened.height
    assert set(opened.get_column("record_id").drop_nulls()) == set(open_outreach(
        write_parquet(caf, tmp_path / "caf.parquet"), return_keys["caf"]).get_column("record_id").drop_nulls())
    assert opened.get_column("note").unique().to_list() == ["Réponse « à compléter »"]


def test_config_changes_the_lead_and_weights(flags, records, return_keys, affiliations):
    config = OutreachConfig(payers={**OutreachConfig().payers, "aspa": PayerRule(agency="cnav", msa_members=None)},
                            grade_weights={"certain": 1.0, "probable": 0.5, "possible": 0.1})
    lists = build_outreach(flags, records=records, keys=return_keys, affiliations=affiliations, config=config)
    rows = pl.concat(list(lists.values()))
    cnav = rows.filter(pl.col("claim_agency") == "cnav")
    assert sorted(cnav.get_column("lead_benefit").to_list()) == ["aspa", "aspa"]
    # Hélène's ASPA now goes to the CNAV, which holds no record of her: the MSA, which does, contacts her
    assert sorted(cnav.get_column("agency").to_list()) == ["cnav", "msa"]
    with pytest.raises(ValueError, match="grade_weights"):
        OutreachConfig(grade_weights={"certain": 1.0})
    with pytest.raises(ConfigError, match="no return-token key for agency cnam"):
        build_outreach(flags, records=records, keys={a: k for a, k in return_keys.items() if a != "cnam"})


def _keyed_lists(tmp_path, flags, records, affiliations):
    """Each agency's return-token key file, and the outreach lists tokenised under those keys."""
    keyfiles = {a: write_secret_file(tmp_path / f"{a}.key") for a in ("caf", "cnam", "cnav", "msa", "france_travail")}
    keys = {a: derive_return_key(load_secret(p), a, EXCHANGE, PURPOSE) for a, p in keyfiles.items()}
    return keyfiles, build_outreach(flags, records=records, keys=keys, affiliations=affiliations)


def _caf_list(tmp_path, flags, records, affiliations):
    """The key files, and the CAF's list written as ``outreach_caf.parquet``."""
    keyfiles, lists = _keyed_lists(tmp_path, flags, records, affiliations)
    return keyfiles, write_parquet(lists["caf"], tmp_path / "outreach_caf.parquet")


def _desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The agency's own working folder, made the current one: an opened list is written there by default."""
    desk = tmp_path / "desk"
    desk.mkdir()
    monkeypatch.chdir(desk)
    return desk


def test_cli_open_with_own_key_and_refuses_another(tmp_path, flags, records, affiliations, monkeypatch):
    keyfiles, lists = _keyed_lists(tmp_path, flags, records, affiliations)
    run = tmp_path / "run"  # an audited run folder: the list is in its outputs
    (run / "outputs").mkdir(parents=True)
    (run / "manifest.json").write_text("{}")
    caf_csv = write_french_csv(lists["caf"], run / "outputs" / "caf.csv")
    desk = _desk(tmp_path, monkeypatch)
    runner = CliRunner()
    ok = runner.invoke(app, ["outreach", "open", str(caf_csv), "--agency", "caf", "--key", str(keyfiles["caf"])])
    assert ok.exit_code == 0, ok.output
    # written where the agency works, not beside the list, readable by its user only: it holds record numbers
    assert sorted(p.name for p in (run / "outputs").iterdir()) == ["caf.csv"]
    assert (desk / "caf-opened.csv").stat().st_mode & 0o777 == 0o600
    inside = runner.invoke(app, ["outreach", "open", str(caf_csv), "--agency", "caf", "--key", str(keyfiles["caf"]),
                                 "--out", str(run / "outputs" / "opened.csv")])
    assert inside.exit_code == 2 and "inside the run folder" in " ".join(inside.output.split())
    assert sorted(p.name for p in (run / "outputs").iterdir()) == ["caf.csv"]
    opened = pl.read_csv(desk / "caf-opened.csv", separator=";", decimal_comma=True)
    assert set(opened.get_column("record_id").drop_nulls().to_list()) == {pid(p) for p in ("elodie", "gaelle",
                                                                                           "anais")}
    # the count says how many rows opened to a record number, and how many had none to open
    without = opened.get_column("record_id").null_count()
    assert (f"{opened.height} rows for agency caf, 3 record numbers opened ({without} rows without a record "
            "at caf)") in " ".join(ok.output.split())
    assert "é" in opened.get_column("detail").to_list()[0]
    bad = runner.invoke(app, ["outreach", "open", str(caf_csv), "--agency", "caf", "--key", str(keyfiles["msa"]),
                              "--out", str(tmp_path / "nope.csv")])
    assert bad.exit_code == 4 and "authentication failed" in bad.output  # a privacy error (README exit codes)
    assert not (tmp_path / "nope.csv").exists()
    leaked = [t for t in lists["caf"].get_column("return_token").drop_nulls().to_list() if t in bad.output]
    assert not leaked and pid("elodie") not in bad.output
    other = runner.invoke(app, ["outreach", "open", str(caf_csv), "--agency", "msa", "--key", str(keyfiles["msa"]),
                                "--out", str(tmp_path / "nope.csv")])
    assert other.exit_code == 4 and "another agency" in other.output
    unknown = runner.invoke(app, ["outreach", "open", str(caf_csv), "--agency", "kaf", "--key",
                                  str(keyfiles["caf"])])
    assert unknown.exit_code == 2 and "unknown agency kaf; expected one of caf, cnam, france_travail, dgfip" \
        in unknown.output


def test_cli_open_refuses_a_folder_as_out_before_any_work(tmp_path, flags, records, affiliations):
    """``--out`` naming an existing folder failed at the end, exit 2, with « /tmp/.od.partial-3117: Is a directory »:
    a hidden temporary file, not the option (an outside tester, 6 December 2026). It is refused first, naming
    ``--out`` and saying a file path is wanted: before the key is tried (another agency's key would say exit 4),
    and nothing is written in the folder."""
    keyfiles, caf = _caf_list(tmp_path, flags, records, affiliations)
    folder = tmp_path / "od"
    folder.mkdir()
    runner = CliRunner()
    for key in ("caf", "msa"):
        res = runner.invoke(app, ["outreach", "open", str(caf), "--agency", "caf", "--key", str(keyfiles[key]),
                                  "--out", str(folder)])
        said = " ".join(res.output.split())
        assert res.exit_code == 2 and f"--out {folder} is a folder: give the path of the file to write" in said, said
        assert "partial" not in said and str(keyfiles[key]) not in said
    assert list(folder.iterdir()) == []
    res = runner.invoke(app, ["outreach", "open", str(caf), "--agency", "caf", "--key", str(keyfiles["caf"]),
                              "--out", str(folder / "opened.parquet")])
    assert res.exit_code == 0 and [p.name for p in folder.iterdir()] == ["opened.parquet"], res.output


def test_cli_open_refuses_an_existing_opened_list_unless_forced(tmp_path, flags, records, affiliations, monkeypatch):
    """An earlier opened list (record numbers: NIRs for the CNAM) was silently replaced (an outside tester, 6 December
    2026): an existing output is refused, exit 2, before the key is tried and with the file left as it was;
    ``--force`` replaces it."""
    keyfiles, caf = _caf_list(tmp_path, flags, records, affiliations)
    desk = _desk(tmp_path, monkeypatch)
    runner = CliRunner()
    first = runner.invoke(app, ["outreach", "open", str(caf), "--agency", "caf", "--key", str(keyfiles["caf"])])
    assert first.exit_code == 0, first.output
    default = desk / "outreach_caf-opened.parquet"
    default.write_bytes(b"an earlier list")
    other = tmp_path / "mine.parquet"
    other.write_bytes(b"an earlier list")
    for out, key in ((None, "caf"), (other, "caf"), (other, "msa")):
        res = runner.invoke(app, ["outreach", "open", str(caf), "--agency", "caf", "--key", str(keyfiles[key]),
                                  *(["--out", str(out)] if out else [])])
        said = " ".join(res.output.split())
        assert res.exit_code == 2, said
        assert f"{out or default} exists (an earlier opened list?): give another --out, or --force to replace it" \
            in said
    assert default.read_bytes() == other.read_bytes() == b"an earlier list"
    for out in (None, other):
        res = runner.invoke(app, ["outreach", "open", str(caf), "--agency", "caf", "--key", str(keyfiles["caf"]),
                                  "--force", *(["--out", str(out)] if out else [])])
        assert res.exit_code == 0, res.output
    assert pl.read_parquet(default).equals(pl.read_parquet(other))
    assert pl.read_parquet(other).get_column("record_id").drop_nulls().len() > 0


def test_written_lists_carry_no_pseudonym(tmp_path, lists, flags):
    """The lists travel to agencies: no workspace pseudonym (person or unit) may be in them, only tokens."""
    from nonrecours.outputs.writers import write_table
    from nonrecours.privacy import find_leaks

    for agency, frame in lists.items():
        write_table(frame, tmp_path, f"outreach_{agency}")
    ids = set(flags.get_column("claimant_id")) | set(flags.get_column("unit_id")) | {
        a for adults in flags.get_column("adult_ids").to_list() for a in adults}
    assert find_leaks(tmp_path, ids) == []
    planted = write_french_csv(lists["caf"].with_columns(pl.lit(pid("elodie")).alias("known_to")), tmp_path / "x.csv")
    assert find_leaks(planted, ids)  # the scan does find one when it is there


def test_facts_held_on_the_claimants_other_units(flags, records, return_keys, provenance, affiliations):
    """Élodie's ménage's housing status, held on her ménage, is found through her memberships; its rent, which
    decides her CSS flag, stays a question even when held there (never said held and asked on one row)."""
    held = pl.DataFrame([("menage", pid("elodie/menage"), None, i, "observed", "caf", MONTH)
                         for i in ("housing_status", "rent")], schema=provenance.schema, orient="row")
    memberships = pl.DataFrame({"person_id": [pid("elodie")], "unit_id": [pid("elodie/menage")]})
    args = dict(records=records, keys=return_keys, provenance=pl.concat([provenance, held]),
                affiliations=affiliations)
    without = build_outreach(flags, **args)["caf"].row(0, named=True)
    with_units = build_outreach(flags, memberships=memberships, **args)["caf"].row(0, named=True)
    assert not any(f.startswith("Statut d'occupation") for f in without["known_facts"])
    assert "Statut d'occupation du logement : CAF (06/2026)" in with_units["known_facts"]
    assert not any(f.startswith("Loyer") for f in with_units["known_facts"])
    assert with_units["questions"][0].startswith("Quel est votre loyer")


def test_an_unknown_central_amount_is_said_never_dropped_nor_counted_as_zero(tmp_path, flags, records,
                                                                             return_keys):
    """Detection leaves a possible flag's central amount null when the central values do not give it. Its line
    stays in the detail and says so, the person's central total is unknown rather than the other benefits' sum
    (which fell below the low total), and the lead is the benefit whose amount is known."""
    from .conftest import FLAG_ROWS, flag

    unknown = {**flag("anais", "ppa", "possible", 90.0), "amount_low": 0.0, "amount_central": None,
               "amount_high": 144.0}
    rows = [r for r in FLAG_ROWS if not (r["claimant_id"] == pid("anais") and r["benefit"] == "ppa")]
    lists = build_outreach(pl.DataFrame([*rows, unknown], schema=flags.schema), records=records,
                           keys=return_keys)
    anais = lists["caf"].filter(pl.col("lead_benefit") == "rsa").filter(
        pl.col("benefits").list.contains("ppa")).row(0, named=True)
    assert anais["benefits"] == ["rsa", "ppa"]
    assert anais["detail"][1] == ("prime d'activité : pas due sur les valeurs centrales ; 0 € à 144 € par mois "
                                  "selon les données inconnues, possible")
    assert anais["amount_central"] is None and anais["amount_low"] == pytest.approx(round(180.0 * 0.75, 2))
    assert anais["amount_high"] == pytest.approx(round(180.0 * 1.25, 2) + 144.0)
    assert anais["priority"] == pytest.approx(180.0 * 0.6)  # over the amounts known
    back = pl.read_csv(write_french_csv(lists["caf"], tmp_path / "caf.csv"), separator=";", infer_schema=False)
    mine = back.filter(pl.col("benefits").str.contains("ppa") & pl.col("benefits").str.contains("rsa"))
    assert "pas due sur les valeurs centrales" in mine.item(0, "detail")


def test_a_coverage_says_what_it_costs_and_adds_no_money_missing(flags, records, return_keys):
    """A coverage's amounts are what it costs the person (detection's amount of the CSS with participation is the
    participation; the free CSS's is 0), never money missing: its line says « participation de », or that there
    is none, and the person's totals and priority are their cash benefits' alone (seen on the demo: a CSS with
    participation, 42 € at low and high, none at central where the central values give the free CSS, read as
    42 € missing a month and added to the ASPA)."""
    from .conftest import FLAG_ROWS, flag

    unknown = {**flag("francoise", "css_participation", "possible", 42.0), "amount_low": 42.0,
               "amount_central": None, "amount_high": 42.0}
    rows = [r for r in FLAG_ROWS if not (r["claimant_id"] == pid("francoise") and r["benefit"] != "aspa")]
    lists = build_outreach(pl.DataFrame([*rows, unknown], schema=flags.schema), records=records,
                           keys=return_keys)
    francoise = lists["cnav"].filter(pl.col("lead_benefit") == "aspa").row(0, named=True)
    assert francoise["benefits"] == ["aspa", "css_participation"]
    assert francoise["detail"][1] == ("complémentaire santé solidaire avec participation : pas due sur les "
                                      "valeurs centrales ; participation de 42 € par mois selon les données "
                                      "inconnues, possible")  # one amount, not « de 42 € à 42 € »
    assert francoise["amount_central"] == pytest.approx(402.3)
    assert francoise["amount_low"] == pytest.approx(round(402.3 * 0.95, 2))
    assert francoise["priority"] == pytest.approx(402.3)
    both = build_outreach(flags, records=records, keys=return_keys)
    with_css = both["cnav"].filter(pl.col("benefits") == ["aspa", "css_participation"]).row(0, named=True)
    assert with_css["detail"][1] == ("complémentaire santé solidaire avec participation : participation de 25 € par "
                                     "mois (de 0 € à 40 €), possible")
    assert with_css["amount_high"] == pytest.approx(round(402.3 * 1.05, 2))
    noel = pl.concat(list(both.values())).filter(pl.col("benefits") == ["css_free"]).row(0, named=True)
    assert noel["detail"] == ["complémentaire santé solidaire sans participation : sans participation à payer, "
                              "probable"]
    assert (noel["amount_low"], noel["amount_central"], noel["amount_high"], noel["priority"]) == (0.0, 0.0, 0.0, 0.0)


def test_every_row_of_the_demos_lists_reaches_its_person_or_says_nobody_can(demo_run):
    """On the demo's lists every row carries a token its own agency issued, except people no agency holds a
    record of, nor of another member of their unit (counted by the run); the claim's agency contacts the people it
    knows itself."""
    folder = demo_run / "outputs" / MONTH.strftime("%Y-%m")
    rows = pl.concat([pl.read_parquet(p) for p in sorted(folder.glob("outreach_*.parquet"))])
    assert rows.height > 100
    reached = rows.filter(pl.col("has_record"))
    assert reached.get_column("return_token").null_count() == 0
    # by the claimant's own record, or, for a claimant holding none, by another member's of the flagged unit
    own_record = pl.col("known_to").list.contains(pl.col("agency"))
    assert reached.select((own_record | (pl.col("known_to").list.len() == 0)).all()).item()
    nobody = rows.filter(~pl.col("has_record"))
    assert nobody.get_column("return_token").null_count() == nobody.height
    assert (nobody.get_column("known_to").list.len() == 0).all()
    assert (nobody.get_column("agency") == nobody.get_column("claim_agency")).all()
    own = rows.filter(pl.col("known_to").list.contains(pl.col("claim_agency")))
    assert (own.get_column("agency") == own.get_column("claim_agency")).all()
    assert rows.filter(pl.col("agency") != pl.col("claim_agency")).height > 0  # the demo has relays
    manifest = json.loads((demo_run / "manifest.json").read_text(encoding="utf-8"))
    counts = json.dumps(manifest)
    assert f'"{MONTH:%Y-%m} outreach without any record": {nobody.height}' in counts


def test_rows_opening_to_one_dossier_say_which_member_each_is_about(demo_run):
    """A record number is a dossier's: two people of one CAF or MSA dossier flagged in their own familles (a son of
    25 in his mother's dossier) open to one number, so each row says the member's place in that agency's dossier
    and birth year, as the agency sent them; an agency whose record is the person's own (the CNAM's NIR) has no
    dossier place to say."""
    folder = demo_run / "outputs" / MONTH.strftime("%Y-%m")
    rows = pl.concat([pl.read_parquet(p) for p in sorted(folder.glob("outreach_*.parquet"))])
    dossiers = rows.filter(pl.col("has_record") & pl.col("agency").is_in(["caf", "msa", "cnav"]))
    assert dossiers.height > 100
    # a dossier opened by a claim alone (refused, never paid) lists no member of the month: its place is unknown,
    # said empty (21 of the demo's 125 rows)
    assert 0 < dossiers.get_column("record_role").null_count() < dossiers.height / 4
    roles = set(dossiers.get_column("record_role").drop_nulls())
    assert {"demandeur", "conjoint"} <= roles <= {"demandeur", "conjoint", "enfant"}
    assert dossiers.filter(pl.col("record_role").is_not_null()).get_column("birth_year").null_count() == 0
    assert rows.filter(pl.col("agency") == "cnam").get_column("record_role").null_count() == \
        rows.filter(pl.col("agency") == "cnam").height


def test_a_son_in_his_mothers_dossier_is_told_apart_from_her(flags, return_keys):
    """The stage reads each member's place from the agency's own famille memberships of the month (the latest
    one, a closed one not) and the birth year from the agency's own person rows (its latest extract)."""
    may, june = dt.date(2026, 5, 1), MONTH
    members = pl.LazyFrame(
        [("caf", pid("rsa-mother"), "famille", "demandeur", may, None, june),
         ("caf", pid("rsa-son"), "famille", "enfant", may, None, june),
         ("caf", pid("rsa-son"), "famille", "demandeur", dt.date(2026, 1, 1), dt.date(2026, 4, 1), june),
         ("cnav", pid("rsa-mother"), "menage", "personne_de_reference", may, None, june)],
        schema={"source_agency": pl.String, "person_id": pl.String, "unit_kind": pl.String, "role": pl.String,
                "valid_from": pl.Date, "valid_to": pl.Date, "extract_date": pl.Date}, orient="row")
    persons = pl.LazyFrame(
        [("caf", pid("rsa-mother"), dt.date(1975, 3, 1), june), ("caf", pid("rsa-son"), dt.date(2000, 1, 1), may),
         ("caf", pid("rsa-son"), dt.date(2001, 2, 1), june), ("cnam", pid("rsa-son"), dt.date(1999, 1, 1), june)],
        schema={"source_agency": pl.String, "person_id": pl.String, "birth_month": pl.Date,
                "extract_date": pl.Date}, orient="row")
    records = pl.DataFrame({"agency": ["caf", "caf", "cnam"],
                            "person_id": [pid("rsa-mother"), pid("rsa-son"), pid("rsa-son")],
                            "record_id": ["0123456", "0123456", "2010175123456"]})
    told = _dossier_members(records, persons, members, june).sort("agency", "person_id")
    assert told.select("agency", "record_role", "birth_year").rows() == sorted(
        [("caf", "demandeur", 1975), ("caf", "enfant", 2001), ("cnam", None, 1999)],
        key=lambda r: (r[0], pid("rsa-mother") if r[1] == "demandeur" else pid("rsa-son")))
    two = pl.DataFrame([flag("rsa-mother", "ppa", "certain", 120.0), flag("rsa-son", "rsa", "probable", 573.49)],
                       schema=flags.schema)
    rows = build_outreach(two, records=told, keys=return_keys)["caf"]
    assert rows.get_column("return_token").n_unique() == 1  # one dossier, one number, one token
    assert sorted(rows.select("record_role", "birth_year").rows()) == [("demandeur", 1975), ("enfant", 2001)]
    # without the agency's roles the columns are there, empty
    bare = build_outreach(two, records=records, keys=return_keys)["caf"]
    assert bare.get_column("record_role").null_count() == bare.get_column("birth_year").null_count() == 2


def test_rows_with_an_exported_situation_get_an_id_that_is_their_rank(flags, records, return_keys, provenance,
                                                                        affiliations):
    """``situation_id`` is the agency and the row's rank in its list (never a pseudonym), only for the claimants
    whose situation the run exported; ``claimant_id`` is kept only when asked (for the run to link them)."""
    exported = pl.DataFrame({"claimant_id": [pid("elodie"), pid("gaelle"), pid("francoise")]})
    lists = build_outreach(flags, records=records, keys=return_keys, provenance=provenance,
                           affiliations=affiliations, situations=exported, with_claimant=True)
    for agency, frame in lists.items():
        ranks = [f"{agency}-{n:06d}" for n in range(1, frame.height + 1)]
        got = frame.get_column("situation_id").to_list()
        assert got == [r if c in set(exported["claimant_id"]) else None
                       for r, c in zip(ranks, frame["claimant_id"], strict=True)]
    ids = pl.concat([f.drop_nulls("situation_id") for f in lists.values()])
    assert sorted(ids["claimant_id"]) == sorted(exported["claimant_id"])
    plain = build_outreach(flags, records=records, keys=return_keys, affiliations=affiliations)
    assert all(list(f.columns) == list(OUTREACH_SCHEMA) and f["situation_id"].is_null().all() for f in plain.values())


def test_every_agency_is_named_for_people(flags, records, return_keys, provenance, affiliations):
    """A fact held by the DRM (the dispositif de ressources mensuelles the CNAV runs: DSN salaries, PASRAU
    replacement incomes) is quoted by its name like the other agencies', never by its code « drm »."""
    assert set(AGENCY_LABELS) == {*AGENCIES, *CLAIM_ONLY_AGENCIES}  # one name per agency a row can name
    pension = pl.DataFrame([("individu", pid("francoise"), MONTH, "pension_net", "observed", "drm", MONTH)],
                           schema=provenance.schema, orient="row")
    lists = build_outreach(flags, records=records, keys=return_keys, provenance=pl.concat([provenance, pension]),
                           affiliations=affiliations)
    facts = lists["cnav"].row(0, named=True)["known_facts"]
    assert "Pensions de retraite et d'invalidité : DRM de l'Assurance retraite (06/2026)" in facts, facts
    assert not any(": drm " in f for f in pl.concat(list(lists.values())).get_column("known_facts").explode()
                   .drop_nulls())


def test_a_list_cut_short_or_a_token_emptied_is_never_read_as_whole(tmp_path, lists, return_keys):
    """A CSV copied halfway opened, its last row's cells cut off; a row with a record whose token was blanked read
    as « no record » (a caseworker's probe, 5 December 2026): the first is refused, the second is a token error."""
    from nonrecours.errors import SchemaError

    caf = lists["caf"]
    csv = write_french_csv(caf, tmp_path / "caf.csv")
    data = csv.read_bytes()
    cut = tmp_path / "cut.csv"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(SchemaError, match="cut short"):
        open_outreach(cut, return_keys["caf"])
    row = caf.with_row_index("i").filter(pl.col("has_record")).get_column("i")[0]
    blank = caf.with_columns(pl.when(pl.int_range(pl.len()) == row).then(None).otherwise("return_token")
                             .alias("return_token"))
    for name, writer in (("blank.csv", write_french_csv), ("blank.parquet", write_parquet)):
        opened = open_outreach(writer(blank, tmp_path / name), return_keys["caf"])
        assert opened.height == caf.height and "has_record" in opened.get_column("token_error")[row]
        assert opened.get_column("token_error").null_count() == caf.height - 1


def test_amounts_and_questions_read_as_a_letter():
    """A detail line's amount has its thousands apart (« 1 173 € », as the reasons write « 1 173,04 € »); the ASPA
    or AAH paid to the famille is asked in plain words, never by its data-dictionary label."""
    from nonrecours.detection.reasons import french_integer
    from nonrecours.outputs.law import input_question

    shown = pl.select(french_integer(pl.lit(pl.Series([1173, 117, 1234567, -1500, -117, 0])))).to_series()
    assert shown.to_list() == ["1 173", "117", "1 234 567", "-1 500", "-117", "0"]
    for name in ("aspa_versee", "aah_versee"):
        question = input_question(name)
        assert question.startswith("Une personne de votre foyer perçoit-elle") and "sommée" not in question


def test_a_row_writes_the_years_its_texts_mean(flags, records, return_keys):
    """The DGFiP's incomes are « of year N-2 of the month » in the rules' labels: a row of June 2026 asks for
    those of 2024 and quotes them as 2024's, never « l'année N-2 » (a letter's reader has no month to count from)."""
    row = {**flags.row(0, named=True),
           "deciding_unknowns": ["revenu_activite_imposable_n2", "revenus_non_salaries_connus"],
           "reasons": ["Données utilisées : revenus d'activité imposables N-2 (DGFiP 01/2025)"]}
    lists = build_outreach(pl.DataFrame([row], schema=flags.schema), records=records, keys=return_keys)
    (got,) = [f.row(0, named=True) for f in lists.values()]
    texts = " ".join([*got["questions"], *got["reasons"], *got["detail"]])
    assert "N-2" not in texts and "N-1" not in texts
    assert "pour l'année 2024 (votre avis d'impôt" in texts and "imposables 2024 (DGFiP 01/2025)" in texts


def test_a_member_whose_famille_is_a_caf_dossier_claims_there(flags, records, return_keys, provenance, affiliations):
    """Jérôme is an MSA member (its memberships carry no end date), but his famille of the month is a CAF dossier
    (a household that moved from the MSA to the CAF in the window: probe9_msa, H6): his RSA is claimed at the CAF.
    His CSS stays with the MSA, his health insurer; on an MSA dossier the RSA stays at the MSA."""
    jerome = pl.col("claimant_id") == pid("jerome")
    css = flag("jerome", "css_free", "probable", 0.0, unknowns=("rent",))
    with_css = pl.concat([flags, pl.DataFrame([css], schema=flags.schema)])
    for dossier, claim in (("caf:D-jerome", "caf"), ("msa:D-jerome", "msa")):
        moved = with_css.with_columns(pl.when(jerome).then(pl.lit(dossier)).otherwise(pl.col("unit_id"))
                                      .alias("unit_id"))
        rows = pl.concat(list(build_outreach(moved, records=records, keys=return_keys, provenance=provenance,
                                             affiliations=affiliations).values()))
        row = rows.filter(pl.col("benefits").list.contains("css_free") & (pl.col("amount_central") == 310.0)
                          ).row(0, named=True)
        # the MSA alone holds his record here: it relays the row (with the CAF's record, the CAF would)
        assert (row["lead_benefit"], row["claim_agency"], row["agency"]) == ("rsa", claim, "msa"), dossier
        assert any(f"sur {claim}.fr, ou formulaire cerfa n° 15481" in c for c in row["channels"]), row["channels"]
        assert any("cerfa n° 12504 (MSA)" in c for c in row["channels"]), row["channels"]  # the CSS at the MSA


def test_a_famille_on_an_msa_dossier_known_through_a_child_is_the_msas_with_the_childs_record(flags, return_keys):
    """The claimant comes from the DGFiP alone; the MSA holds the famille's dossier through a child. The row was
    the CAF's, without a record (an outside tester, probe18, 7 December 2026): it is the MSA's, opening to the
    dossier's number by the child's record, its role and birth year saying whose record it is."""
    unit, mother, child = "msa:D-blanc", "blanc-mother", "blanc-child"
    two = pl.DataFrame([flag(mother, "ppa", "certain", 180.0), flag(mother, "af", "certain", 140.0)],
                       schema=flags.schema).with_columns(pl.lit(unit).alias("unit_id"))
    members = pl.DataFrame({"person_id": [pid(mother), pid(child)], "unit_id": [unit, unit]})
    records = pl.DataFrame({"agency": ["msa"], "person_id": [pid(child)], "record_id": ["M-0042"],
                            "record_role": ["enfant"], "birth_year": [2009]})
    lists = build_outreach(two, records=records, keys=return_keys, memberships=members)
    assert set(lists) == {"msa"}
    (row,) = lists["msa"].to_dicts()
    assert (row["claim_agency"], row["has_record"], row["record_role"], row["birth_year"]) == ("msa", True, "enfant",
                                                                                              2009)
    assert row["known_to"] == []  # the claimant's own records: none
    opened = open_return_tokens(lists["msa"], "return_token", return_keys["msa"], out="record_id")
    assert opened.get_column("record_id").to_list() == ["M-0042"]
    # without the memberships, nothing says whose dossier it is: no record, as before, but the MSA's list still
    (alone,) = build_outreach(two, records=records, keys=return_keys)["msa"].to_dicts()
    assert not alone["has_record"]
