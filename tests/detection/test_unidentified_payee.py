"""A famille no payer knows, and a paid dossier of that payer whose adult's NIR was unusable (mistyped, missing)
with that famille's adult's birth month, sex and commune: the payment may be theirs, which the flag says (a reason
line, a count in the summary), its grade kept (``receipts.unidentified_payee``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import polars as pl

from nonrecours.detection import core_month, detect
from nonrecours.detection.receipts import unidentified_paid, unidentified_payee

from .conftest import FIRST, MONTH, MONTHS, Territory

_LOST = {"birth_month": dt.date(MONTH.year - 41, 1, 1), "sex": "F", "depcom": "46042"}  # the age-40 adults'


def _territory(described: list[dict]) -> dict[str, pl.DataFrame]:
    """Single adults of 40 (born January 1985, women, in 46042), no income, nothing paid:
    - a, b, c: known to the DGFiP (and the DRM, reporting no income) only, the CAF does not know them;
    - known: the CAF's allocataire (dossier f-known), paid nothing.
    ``described``: the CAF's member lines with an unusable NIR, each a dossier's demandeur (its attributes, and the
    benefits the CAF paid that dossier in the last three months)."""
    t = Territory()
    for name in ("a", "b", "c"):
        t.famille(name, agency="dgfip")
        # the DRM reports no income for them: an RSA (probable: no DGFiP year 2024 or 2025, their profit unknown),
        # whoever the CAF knows
        for m in MONTHS:
            t.resources.append({"person_id": f"p-{name}", "month": m, "kind": "salary_net", "amount": 0.0,
                                "source_agency": "drm"})
    t.famille("known", agency="caf")
    for k, d in enumerate(described):
        for benefit in d.get("paid", ()):
            t.paid.append({"unit_kind": "famille", "unit_id": f"dossier-{k}", "person_id": None, "benefit": benefit,
                           "month": MONTHS[-2], "amount": 400.0, "source_agency": "caf"})
    tables = t.tables()
    if not described:
        return tables
    tables["unidentified_members"] = pl.DataFrame(
        [{"line": 10 + k, "unit_kind": "famille", "unit_id": f"dossier-{k}", "role": d.get("role", "demandeur"),
          "valid_from": dt.date(2024, 1, 1), "valid_to": None, "reason": "invalid NIR check key",
          "birth_month": d["birth_month"], "sex": d["sex"], "depcom": d["depcom"],
          "nir_neighbours": d.get("neighbours", []), "source_agency": "caf",
          "extract_id": "caf", "extract_date": dt.date(2026, 6, 28)} for k, d in enumerate(described)],
        schema_overrides={"valid_to": pl.Date, "birth_month": pl.Date, "nir_neighbours": pl.List(pl.String)})
    return tables


def _core(tables: dict[str, pl.DataFrame]):  # type: ignore[no-untyped-def]
    """The month's core, the alimony of the adults the CAF does not know (it reports alimony) taken as known: the
    grade would be possible for that alone, which is not the question here."""
    core = core_month(tables, MONTH)
    return replace(core, unknowns=core.unknowns.filter(pl.col("input") != "alimony_received"))


def _said(tables: dict[str, pl.DataFrame], **kw) -> tuple[dict[str, tuple[str, bool]], object]:
    """Each RSA flag's famille → (grade, whether a reason line says the payment may be theirs), and the run."""
    run = detect(_core(tables), tables, config=FIRST, **kw)
    rsa = run.flags.filter(pl.col("benefit") == "rsa")
    return {r["unit_id"].split(":")[-1]: (r["grade"], any(x.startswith("À vérifier avant tout contact : ni la CAF")
                                                          for x in r["reasons"]))
            for r in rsa.iter_rows(named=True)}, run


def test_a_paid_dossier_whose_allocataire_may_be_the_flagged_adult_is_said_on_the_flag():
    said, run = _said(_territory([{**_LOST, "paid": ["rsa"]}]))
    # every adult here has the lost line's attributes: only those the CAF does not know may be its allocataire;
    # the grades are those without the line (the match is said, not a cap)
    assert said == {"f-a": ("probable", True), "f-b": ("probable", True), "f-c": ("probable", True),
                    "f-known": ("probable", False)}
    flag = run.flags.filter((pl.col("benefit") == "rsa") & pl.col("unit_id").str.ends_with("f-a")).row(0, named=True)
    assert (
        "À vérifier avant tout contact : ni la CAF ni la MSA ne la connaissent, mais la CAF verse cette prestation à "
        "un dossier dont un adulte, au NIR inutilisable (erroné ou absent), a le mois de naissance, le sexe (s'il est "
        "connu) et la commune d'un adulte du foyer : le versement est peut-être le sien.") in flag["reasons"]
    assert run.summary["flags_maybe_paid_to_unidentified_payee"]["rsa"] == 3
    assert run.summary["flags_maybe_paid_to_unidentified_payee"]["ppa"] == 0


def test_a_line_without_a_sex_is_described_by_its_birth_month_and_commune():
    said, _ = _said(_territory([{**_LOST, "sex": None, "paid": ["rsa"]}]))
    assert said["f-a"] == ("probable", True)


def test_another_birth_month_sex_or_commune_or_benefit_or_an_unknown_attribute_matches_nobody():
    others = [{**_LOST, "birth_month": dt.date(MONTH.year - 41, 2, 1), "paid": ["rsa"]},
              {**_LOST, "sex": "M", "paid": ["rsa"]}, {**_LOST, "depcom": "46100", "paid": ["rsa"]},
              {**_LOST, "paid": ["af"]},                      # the dossier is paid another benefit
              {**_LOST, "paid": []},                          # nor anything at all
              {**_LOST, "role": "enfant", "paid": ["rsa"]},   # a child's line is nobody's allocataire
              {**_LOST, "birth_month": None, "paid": ["rsa"]}]  # a birth date that failed: unknown, not a match
    said, run = _said(_territory(others))
    assert set(said.values()) == {("probable", False)}
    assert run.summary["flags_maybe_paid_to_unidentified_payee"]["rsa"] == 0


def test_a_part_of_a_partitioned_run_matches_a_dossier_held_by_another_part():
    """``unidentified``: the whole population's described dossiers, handed to each part (the dossier and the
    famille need not fall in the same part): the same caps as when the part holds the dossier's rows."""
    whole = _territory([{**_LOST, "paid": ["rsa"]}])
    described = unidentified_paid(whole, FIRST.benefits, MONTH, window=FIRST.paid_window)
    assert described.to_dicts() == [{**_LOST, "benefit": "rsa", "payer": "caf", "neighbour": None}]
    part = {k: v for k, v in whole.items() if k != "unidentified_members"}
    part["benefits_paid"] = part["benefits_paid"].filter(~pl.col("unit_id").str.starts_with("dossier-"))
    assert _said(part)[0]["f-a"] == ("probable", False)  # alone, the part cannot see the dossier
    assert _said(part, unidentified=described)[0] == _said(whole)[0]


def test_a_workspace_ingested_before_the_lines_described_their_member_matches_nobody():
    tables = _territory([{**_LOST, "paid": ["rsa"]}])
    tables["unidentified_members"] = tables["unidentified_members"].drop("birth_month", "sex", "depcom",
                                                                         "nir_neighbours")
    core = _core(tables)
    assert unidentified_payee(tables, core.inputs.individu, FIRST.benefits, MONTH, window=3).is_empty()
    assert set(_said(tables)[0].values()) == {("probable", False)}


def test_a_workspace_mixing_files_written_before_and_after_reads_the_older_as_unknown(tmp_path):
    """``core.workspace.scan_workspace``: an older ingest's unidentified members (no birth month, sex, commune)
    beside a newer one's are read together, the older's attributes null (unknown), not a schema error."""
    from nonrecours.core.workspace import scan_workspace

    tables = _territory([{**_LOST, "paid": ["rsa"]}, {**_LOST, "sex": "M", "paid": ["rsa"]}])
    folder = tmp_path / "unidentified_members"
    folder.mkdir()
    lost = tables["unidentified_members"]
    lost.slice(0, 1).drop("birth_month", "sex", "depcom", "nir_neighbours").write_parquet(folder / "caf-1.parquet")
    lost.slice(1, 1).write_parquet(folder / "caf-2.parquet")
    read = scan_workspace(tmp_path)["unidentified_members"].collect().sort("line")  # the older file first
    assert read.height == 2 and read.get_column("sex").to_list() == [None, "M"]


_SLIP = "Signalement ramené à « possible » : ni la CAF ni la MSA ne la connaissent, mais la CAF verse cette prestation"


def test_a_paid_dossier_whose_adult_number_is_a_slip_from_the_flagged_adult_caps_the_flag():
    """The line's number failed its key and the adult's own NIR is a single slip from it (their pseudonym among the
    line's neighbours): the payment is very likely theirs; the flag is possible, said, and counted apart."""
    elsewhere = {**_LOST, "depcom": "75056"}  # moved since: the commune is no evidence against the number
    said, run = _said(_territory([{**elsewhere, "neighbours": ["p-a", "p-nobody"], "paid": ["rsa"]}]))
    assert said == {"f-a": ("possible", False), "f-b": ("probable", False), "f-c": ("probable", False),
                    "f-known": ("probable", False)}
    flag = run.flags.filter((pl.col("benefit") == "rsa") & pl.col("unit_id").str.ends_with("f-a")).row(0, named=True)
    slip = [r for r in flag["reasons"] if r.startswith(_SLIP)]
    assert len(slip) == 1 and "à un chiffre près (une faute de frappe)" in slip[0]
    assert run.summary["downgraded_by_payee_number_slip"]["rsa"] == 1
    assert run.summary["flags_maybe_paid_to_unidentified_payee"]["rsa"] == 0


def test_a_slip_match_needs_no_described_member_but_no_contradicting_birth_month_or_sex():
    # a line whose birth date and commune failed still has its number's neighbours
    unknown = {**_LOST, "birth_month": None, "depcom": None}
    said, _ = _said(_territory([{**unknown, "neighbours": ["p-b"], "paid": ["rsa"]}]))
    assert said["f-b"] == ("possible", False) and said["f-a"] == ("probable", False)
    # the line's birth month is not the adult's: the neighbour is someone else's number
    other = {**_LOST, "birth_month": dt.date(MONTH.year - 41, 2, 1)}
    said, run = _said(_territory([{**other, "neighbours": ["p-b"], "paid": ["rsa"]}]))
    assert set(said.values()) == {("probable", False)}
    assert run.summary["downgraded_by_payee_number_slip"]["rsa"] == 0
    # nor of another sex (a slip on the sex digit gives someone else's number)
    said, _ = _said(_territory([{**_LOST, "sex": "M", "neighbours": ["p-b"], "paid": ["rsa"]}]))
    assert set(said.values()) == {("probable", False)}
    # nor a dossier paid another benefit, nor an adult the CAF knows
    said, _ = _said(_territory([{**_LOST, "neighbours": ["p-b", "p-known"], "paid": ["af"]},
                                {**unknown, "neighbours": ["p-known"], "paid": ["rsa"]}]))
    assert set(said.values()) == {("probable", False)}


def test_a_possible_flag_matched_by_the_number_says_the_number_not_the_facts():
    """A flag already possible (here the alimony of adults the CAF does not know) is not capped further: its line
    says what matched, the number, and it is counted with the flags that may be paid to an unidentified payee."""
    tables = _territory([{**_LOST, "depcom": "75056", "neighbours": ["p-a"], "paid": ["rsa"]}])
    run = detect(core_month(tables, MONTH), tables, config=FIRST)
    flag = run.flags.filter((pl.col("benefit") == "rsa") & pl.col("unit_id").str.ends_with("f-a")).row(0, named=True)
    assert flag["grade"] == "possible"
    said = [r for r in flag["reasons"] if "un dossier dont un adulte" in r]
    assert said == ["À vérifier avant tout contact : ni la CAF ni la MSA ne la connaissent, mais la CAF verse cette "
                    "prestation à un dossier dont un adulte a un NIR erroné qui, à un chiffre près (une faute de "
                    "frappe), est celui d'un adulte du foyer : le versement est très probablement le sien."]
    assert run.summary["flags_maybe_paid_to_unidentified_payee"]["rsa"] == 1
    assert run.summary["downgraded_by_payee_number_slip"]["rsa"] == 0


def test_a_yearly_benefit_reads_the_payments_since_its_due_month():
    """The ARS is paid once, in August, for the school year: judged in June on that payment, ten months back, beyond
    the three months a monthly benefit's payments are read over (``paid_by_famille`` reads it so). A dossier the CAF
    paid the ARS that August describes its lost line for the ARS; one the CAF paid the RSA that August does not
    describe it for the RSA (a stop ten months ago is not this month's payment)."""
    due = dt.date(MONTH.year - 1, 8, 1)
    tables = _territory([{**_LOST, "neighbours": ["p-a"]}, {**_LOST, "sex": "M"}])
    paid = tables["benefits_paid"]
    old = pl.DataFrame([{"unit_kind": "famille", "unit_id": f"dossier-{k}", "person_id": None, "benefit": b,
                         "month": due, "amount": 400.0, "paying_agency": "caf", "source_agency": "caf",
                         "extract_id": "caf", "extract_date": dt.date(2026, 6, 28)}
                        for k, b in ((0, "ars"), (1, "rsa"))]).select(paid.columns).cast(paid.schema)
    tables["benefits_paid"] = pl.concat([paid, old])
    described = unidentified_paid(tables, ("rsa", "ars"), MONTH, window=3)
    assert described.select("benefit", "sex", "neighbour").rows() == [("ars", "F", "p-a")]
    assert unidentified_paid(tables, ("rsa",), MONTH, window=3).is_empty()
    # the adult whose number the line most likely meant: the ARS the dossier was paid is very likely theirs
    core = _core(tables)
    payee = unidentified_payee(tables, core.inputs.individu, ("rsa", "ars"), MONTH, window=3)
    assert payee.filter(pl.col("famille_id").str.ends_with("f-a")).select("benefit", "by_number").rows() == [
        ("ars", True)]
