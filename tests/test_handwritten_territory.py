"""A territory of twelve households, its seven extracts written by hand from docs/connectors/*.md alone (never by
``nonrecours.synth`` nor the connectors' writer), through ``nonrecours run`` as an agency's data team calls it.

Each household's outcome is stated from the law and the facts written, not read from a run: a man without
resources and no RSA, a pensioner of 70 without her ASPA, a low-wage worker without his prime d'activité, a farm
worker's family at the MSA, the households correctly paid, a pending claim, an objection to every contact, a
jobseeker on ARE, a well-paid single. What others will check the project on (extracts written in the documented
layouts, a truth computed by the law) is checked here end to end: ingest, core, rules, detection, outreach lists,
audit, and no identifier in any output.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
from pathlib import Path

import polars as pl
import pytest
from stdnum.fr.nir import calc_check_digits
from typer.testing import CliRunner

from nonrecours.audit import verify_run
from nonrecours.cli import app
from nonrecours.privacy import find_leaks, load_agreement, write_secret_file
from nonrecours.privacy.pseudonyms import pseudonymise

pytestmark = pytest.mark.slow

MONTH = "2026-06"
COM = "46042"  # Cahors
MONTHS = [f"{y}-{m:02d}" for y, m in [(2025, m) for m in range(6, 13)] + [(2026, m) for m in range(1, 7)]]
EXTRACT_DATE = "2026-06-28"

# The law of June 2026 the expected amounts read (../shared/reference/parameters.md)
RSA_BASE = 651.69               # montant forfaitaire from April 2026, décret n° 2026-220 du 30 mars 2026
RSA_FORFAIT_LOGEMENT_1P = 0.12  # housing aid received, one person, CASF art. R262-9 and R262-10
ASPA_SINGLE = 12523.14 / 12     # from January 2026, circulaire Cnav 2025-29


def nir(sex: int, birth: dt.date, order: int) -> str:
    """A NIR of a person born in Cahors, with its key (python-stdnum's, INSEE's rule)."""
    body = f"{sex}{birth.year % 100:02d}{birth.month:02d}46042{order:03d}"
    return body + calc_check_digits(body)


# household → its people: (label, sex, birth, family name, first name)
PEOPLE = {
    "H1": [("P1", 1, "1990-03-15", "MARTIN", "Jérôme")],       # no resources, housing aid, no RSA
    "H2": [("P2", 2, "1956-02-10", "LEFÈVRE", "Hélène")],      # 70, pension 550 € gross, no ASPA
    "H3": [("P3", 1, "1995-07-20", "DUBOIS", "Noël")],         # salary 900 €, no prime d'activité
    "H4": [("P4", 2, "1988-11-05", "BERNARD", "Sophie")],      # RSA and housing aid paid
    "H5": [("P5", 1, "1954-01-12", "ROBERT", "André")],        # ASPA paid
    "H6": [("P6", 1, "1992-04-22", "PETIT", "Loïc")],          # RSA claim pending
    "H7": [("P7", 2, "1997-09-30", "DURAND", "Chloé")],        # low wage, objects to every contact
    "H8": [("P8a", 1, "1982-05-03", "MOREAU", "Julien"), ("P8b", 2, "1984-06-14", "MOREAU", "Émilie"),
           ("P8c", 1, "2014-03-09", "MOREAU", "Hugo"), ("P8d", 2, "2017-08-21", "MOREAU", "Léa")],
    "H9": [("P9a", 1, "1955-10-02", "GARNIER", "François"), ("P9b", 2, "1957-12-25", "GARNIER", "Françoise")],
    "H10": [("P10a", 1, "1980-02-17", "ROUSSEL", "Benoît"), ("P10b", 2, "1983-04-11", "ROUSSEL", "Cécile"),
            ("P10c", 1, "2012-06-06", "ROUSSEL", "Théo"), ("P10d", 2, "2015-09-19", "ROUSSEL", "Inès")],
    "H11": [("P11", 1, "1978-08-08", "FAURE", "Gérard")],      # jobseeker on ARE
    "H12": [("P12", 2, "1991-01-27", "BLANC", "Anaïs")],       # well paid
    "H13": [("P13", 1, "1985-02-02", "COLIN", "Marc")],        # self-employed, 30,000 € a year: DGFiP, CPAM only
}
P = {pid: {"household": h, "sex": sex, "birth": dt.date.fromisoformat(b), "nom": nom, "prenom": prenom,
           "nir": nir(sex, dt.date.fromisoformat(b), order)}
     for order, (h, pid, sex, b, nom, prenom) in enumerate(
         ((h, *p) for h, people in PEOPLE.items() for p in people), start=1)}
DOSSIERS = ["1000001", "1000003", "1000004", "1000006", "1000007", "1000008", "R0000002", "R0000005", "R0000009",
            "M460010", "FT0000001", "FT0000004", "FT0000006", "FT0000011"]


def _fw(*parts: str) -> str:
    """A CAF record: its fields end to end, blank-padded to the layout's 120 characters."""
    line = "".join(parts)
    assert len(line) <= 120, line
    return line.ljust(120)


def _cents(x: float, width: int) -> str:
    return f"{round(x * 100):0{width}d}"


def _next_month_5th(month: str) -> str:
    y, m = int(month[:4]), int(month[5:])
    return dt.date(y + (m == 12), m % 12 + 1, 5).strftime("%Y%m%d")


def write_caf(out: Path) -> None:
    """Fixed width, Latin-1 (docs/connectors/caf.md): dossiers, members, payments, housing, resources, a pending
    claim (H6) and an objection (H7)."""
    dossiers = {  # matricule: (opened, members (person, qualité, entry), housing (status, rent), payments)
        "1000001": ("202001", [("P1", "01", "202001")], ("LO", 450.00), {"ALS": 250.00}),
        "1000003": ("202301", [("P3", "01", "202301")], ("LO", 420.00), {}),
        "1000004": ("201901", [("P4", "01", "201901")], ("LO", 400.00), {"RSA": 575.00, "ALS": 280.00}),
        "1000006": ("202101", [("P6", "01", "202101")], ("LO", 380.00), {"ALS": 260.00}),
        "1000007": ("202401", [("P7", "01", "202401")], ("LO", 400.00), {}),
        "1000008": ("201501", [("P8a", "01", "201501"), ("P8b", "02", "201501"), ("P8c", "03", "201501"),
                               ("P8d", "03", "201708")], ("HL", 750.00), {"AF": 150.00}),
    }
    resources = {"1000003": [("P3", "SAL", 900.00)], "1000007": [("P7", "SAL", 850.00)],
                 "1000008": [("P8a", "SAL", 2000.00), ("P8b", "SAL", 1800.00)]}
    lines = [_fw("00", "CAF46", "20260628")]
    for mat, (opened, members, (status, rent), payments) in dossiers.items():
        lines.append(_fw("10", mat, COM, opened))
        for pid, qualite, entry in members:
            p = P[pid]
            lines.append(_fw("20", mat, qualite, p["nir"], p["nom"].ljust(30), p["prenom"].ljust(20),
                             p["birth"].strftime("%d%m%Y"), str(p["sex"]), "1", "  ", "000", "N", "N", entry, COM,
                             " ", " " if qualite == "03" else "N"))
        for code, amount in payments.items():
            lines += [_fw("30", mat, code.ljust(3), m.replace("-", ""), _cents(amount, 10), _next_month_5th(m))
                      for m in MONTHS]
        lines += [_fw("40", mat, m.replace("-", ""), status, _cents(rent, 9), "12 RUE DE LA BARRE".ljust(30), "46000",
                      "N", "N", " " * 8) for m in MONTHS]
        for pid, nature, amount in resources.get(mat, []):  # a month's resources are known the month after
            lines += [_fw("50", mat, P[pid]["nir"], m.replace("-", ""), nature, _cents(amount, 10))
                      for m in MONTHS[:-1]]
    lines.append(_fw("60", "1000006", P["P6"]["nir"], "RSA", "DEP", "20260520"))
    lines.append(_fw("70", "1000007", P["P7"]["nir"], "   ", "20260301"))
    lines.append(_fw("99", f"{len(lines) + 1:09d}"))
    (out / "caf.dat").write_text("\n".join(lines) + "\n", encoding="latin-1", newline="\n")


def _csv(path: Path, header: list[str], rows: list[list[object]], *, delimiter: str, encoding: str,
         end: str = "\n") -> None:
    with path.open("w", encoding=encoding, newline="") as f:
        w = csv.writer(f, delimiter=delimiter, lineterminator=end)
        w.writerow(header)
        w.writerows(rows)


def write_cnam(out: Path) -> None:
    """CSV ``;``, decimal comma, UTF-8 with a BOM, CRLF: every insured person of the régime général each month;
    H4 has the free CSS, H5 the CSS with a participation of 30 €."""
    css = {"P4": ("1", 0.0), "P5": ("2", 30.0)}
    rows = []
    for pid, p in P.items():
        if p["household"] == "H10":  # the farm worker's family is insured at the MSA
            continue
        top, part = css.get(pid, ("0", 0.0))
        rows += [[p["nir"], p["nom"], p["prenom"], p["birth"].strftime("%d/%m/%Y"), COM, "01", top,
                  f"{m[5:]}/{m[:4]}", f"{part:.2f}".replace(".", ","), "0,00", "0,00", "", "", "", "", "", ""]
                 for m in MONTHS]
    _csv(out / "cnam.csv", ["NIR_BENEFICIAIRE", "NOM_USAGE", "PRENOM", "DATE_NAISSANCE", "CODE_COMMUNE", "CODE_REGIME",
                            "TOP_CSS", "MOIS_DROIT", "MONTANT_PARTICIPATION", "MONTANT_PENSION_INVALIDITE",
                            "MONTANT_ASI", "CSS_EVENEMENT", "CSS_PRESTATION", "CSS_DATE_EVENEMENT", "ASI_EVENEMENT",
                            "ASI_DATE_EVENEMENT", "DATE_OPPOSITION"],
         rows, delimiter=";", encoding="utf-8-sig", end="\r\n")


def write_cnav(out: Path) -> None:
    """CSV ``;``, decimal point: the pensions (gross and net) and the ASPA paid, per person and month."""
    pensions = [("P2", "R0000002", "TI", "202101", 550.00, 500.00, 0.00),
                ("P5", "R0000005", "TI", "201901", 550.00, 500.00, 540.00),
                ("P9a", "R0000009", "TI", "202001", 1650.00, 1500.00, 0.00),
                ("P9b", "R0000009", "CJ", "202001", 1320.00, 1200.00, 0.00)]
    rows = [[P[pid]["nir"], P[pid]["nom"], P[pid]["prenom"], P[pid]["birth"].strftime("%Y%m%d"), P[pid]["sex"], "FR",
             "", "N", dossier, effect, qualite, "46000", COM, m.replace("-", ""), f"{gross:.2f}", f"{net:.2f}",
             f"{aspa:.2f}", "", ""]
            for pid, dossier, qualite, effect, gross, net, aspa in pensions for m in MONTHS]
    _csv(out / "cnav.csv", ["NIR", "NOM_NAISSANCE", "PRENOMS", "DATE_NAISSANCE", "SEXE", "NATIONALITE",
                            "ANNEES_TITRE_SEJOUR", "INAPTITUDE", "NUM_DOSSIER_ASPA", "DATE_EFFET", "QUALITE",
                            "CODE_POSTAL", "CODE_COMMUNE", "MOIS_ECHEANCE", "MONTANT_BRUT", "MONTANT_NET",
                            "MONTANT_ASPA", "ASPA_EVENEMENT", "ASPA_DATE_EVENEMENT"],
         rows, delimiter=";", encoding="utf-8")


def write_france_travail(out: Path) -> None:
    """CSV ``,``: the jobseekers of each month since their registration; H4 is known as an RSA recipient."""
    seekers = [("P1", "FT0000001", "2022-09-01", 0.0, 0, "N"), ("P4", "FT0000004", "2019-02-01", 0.0, 0, "O"),
               ("P6", "FT0000006", "2026-05-20", 0.0, 0, "N"), ("P11", "FT0000011", "2025-03-01", 1200.0, 30, "N")]
    rows = [[fid, P[pid]["nir"], P[pid]["nom"], P[pid]["prenom"], P[pid]["birth"].isoformat(), "46000", "FR", COM, "A",
             since, m, f"{are:.2f}", days, rsa]
            for pid, fid, since, are, days, rsa in seekers for m in MONTHS if m >= since[:7]]
    _csv(out / "france_travail.csv", ["identifiant_local", "nir", "nom", "prenom", "date_naissance", "code_postal",
                                      "nationalite", "code_commune", "categorie", "date_inscription", "mois",
                                      "montant_are", "nb_jours_indemnises", "beneficiaire_rsa"],
         rows, delimiter=",", encoding="utf-8")


def write_drm(out: Path) -> None:
    """The monthly resources declared (DSN for salaries, PASRAU for pensions and unemployment benefit)."""
    declared = [("P3", "SAL", 900.00, "DSN"), ("P7", "SAL", 850.00, "DSN"), ("P8a", "SAL", 2000.00, "DSN"),
                ("P8b", "SAL", 1800.00, "DSN"), ("P10a", "SAL", 1600.00, "DSN"), ("P12", "SAL", 2500.00, "DSN"),
                ("P11", "CHO", 1200.00, "PASRAU"), ("P2", "RET", 500.00, "PASRAU"), ("P5", "RET", 500.00, "PASRAU"),
                ("P9a", "RET", 1500.00, "PASRAU"), ("P9b", "RET", 1200.00, "PASRAU")]
    rows = [[P[pid]["nir"], m.replace("-", ""), nature, f"{amount:.2f}", by]
            for pid, nature, amount, by in declared for m in MONTHS]
    _csv(out / "drm.csv", ["NIR", "MOIS_RATTACHEMENT", "NATURE_REVENU", "MONTANT", "TYPE_DECLARANT"],
         rows, delimiter=";", encoding="utf-8")


def write_msa(out: Path) -> None:
    """CSV ``;``, decimal comma, Windows-1252, CRLF: the farm worker's dossier, his salary and the AF paid."""
    members = [("P10a", "ASS", "SAL"), ("P10b", "CJT", "AD"), ("P10c", "ENF", "AD"), ("P10d", "ENF", "AD")]

    def row(pid: str, lien: str, statut: str, month: str, nature: str, amount: float) -> list[object]:
        p = P[pid]
        return ["M460010", p["nir"], p["nom"], p["prenom"], p["birth"].strftime("%d/%m/%Y"),
                "M" if p["sex"] == 1 else "F", lien, "FR", "", "0", "N", "N", statut, COM, "2010-01", month, nature,
                f"{amount:.2f}".replace(".", ","), "", ""]

    rows = []
    for m in MONTHS:
        rows += [row(pid, lien, statut, m, "MEMBRE", 0.0) for pid, lien, statut in members]
        rows += [row("P10a", "ASS", "SAL", m, "SALAIRE", 1600.00), row("P10a", "ASS", "SAL", m, "AF", 150.00)]
    _csv(out / "msa.csv", ["NUM_DOSSIER", "NIR", "NOM", "PRENOM", "DATE_NAISSANCE", "SEXE", "LIEN", "NATIONALITE",
                           "ANNEES_TITRE_SEJOUR", "TAUX_INCAPACITE", "ETUDIANT", "GROSSESSE", "STATUT",
                           "CODE_COMMUNE", "DATE_AFFILIATION", "PERIODE", "NATURE", "MONTANT", "PRESTATION",
                           "DATE_EVENEMENT"],
         rows, delimiter=";", encoding="cp1252", end="\r\n")


def write_dgfip(out: Path) -> None:
    """Parquet: the 2024 income of each foyer fiscal (the N-2 base of June 2026) and its revenu fiscal de
    référence."""
    foyers = [  # foyer, person, qualité, salaries, pensions, unemployment, RFR, parts
        ("F01", "P1", "DEC1", 0, 0, 0, 0, 1.0), ("F02", "P2", "DEC1", 0, 6000, 0, 5400, 1.0),
        ("F03", "P3", "DEC1", 10800, 0, 0, 9720, 1.0), ("F04", "P4", "DEC1", 0, 0, 0, 0, 1.0),
        ("F05", "P5", "DEC1", 0, 6000, 0, 5400, 1.0), ("F06", "P6", "DEC1", 0, 0, 0, 0, 1.0),
        ("F07", "P7", "DEC1", 10200, 0, 0, 9180, 1.0),
        ("F08", "P8a", "DEC1", 24000, 0, 0, 45360, 3.0), ("F08", "P8b", "DEC2", 21600, 0, 0, 45360, 3.0),
        ("F08", "P8c", "PAC", 0, 0, 0, 45360, 3.0), ("F08", "P8d", "PAC", 0, 0, 0, 45360, 3.0),
        ("F09", "P9a", "DEC1", 0, 18000, 0, 29160, 2.0), ("F09", "P9b", "DEC2", 0, 14400, 0, 29160, 2.0),
        ("F10", "P10a", "DEC1", 19200, 0, 0, 17280, 3.0), ("F10", "P10b", "DEC2", 0, 0, 0, 17280, 3.0),
        ("F10", "P10c", "PAC", 0, 0, 0, 17280, 3.0), ("F10", "P10d", "PAC", 0, 0, 0, 17280, 3.0),
        ("F11", "P11", "DEC1", 0, 0, 14400, 12960, 1.0), ("F12", "P12", "DEC1", 30000, 0, 0, 27000, 1.0),
        ("F13", "P13", "DEC1", 0, 0, 0, 27000, 1.0),
    ]
    non_salaried = {"P13": 30000.0}  # bénéfices industriels et commerciaux, declared for 2024
    pl.DataFrame([{"numero_foyer": "4600" + foyer, "annee_revenus": 2024, "nir": P[pid]["nir"],
                   "nom_naissance": P[pid]["nom"], "prenoms": P[pid]["prenom"], "date_naissance": P[pid]["birth"],
                   "adresse": "12 rue de la Barre 46000 Cahors", "identifiant_local": "046042L" + foyer[1:],
                   "code_commune": COM, "qualite": qualite, "salaires_traitements": float(sal),
                   "pensions_retraites": float(pen), "allocations_chomage": float(cho),
                   "pensions_alimentaires_recues": 0.0, "revenus_non_salaries": non_salaried.get(pid, 0.0),
                   "revenu_fiscal_reference": float(rfr), "nombre_parts": parts}
                  for foyer, pid, qualite, sal, pen, cho, rfr, parts in foyers]
                 ).with_columns(pl.col("annee_revenus").cast(pl.Int32)).write_parquet(out / "dgfip.parquet")


RUN_TOML = f"""\
first_month = "{MONTH}"
benefits = ["rsa", "ppa", "aspa", "css", "aide_logement", "aah", "asi", "af", "cf", "paje_base", "asf", "ars",
            "cheque_energie"]
backend = "duckdb"
memory_limit = "1GB"
spill_dir = "spill"
output = "run"
exchange = "exchange.toml"
audit_key = {{ file = "keys/audit.key" }}
""" + "".join(f"""
[agencies.{agency}]
files = ["extracts/{name}"]
extract_date = {EXTRACT_DATE}
""" for agency, name in [("caf", "caf.dat"), ("cnam", "cnam.csv"), ("france_travail", "france_travail.csv"),
                         ("dgfip", "dgfip.parquet"), ("cnav", "cnav.csv"), ("msa", "msa.csv"), ("drm", "drm.csv")])


@pytest.fixture(scope="module")
def territory(tmp_path_factory) -> Path:
    """The team's folder: the extracts, the exchange agreement of the default mappings with key files, run.toml;
    then ``nonrecours run`` (exit 0) and ``nonrecours audit verify``."""
    from importlib import resources

    root = tmp_path_factory.mktemp("handwritten")
    extracts = root / "extracts"
    extracts.mkdir()
    for write in (write_caf, write_cnam, write_cnav, write_france_travail, write_drm, write_msa, write_dgfip):
        write(extracts)
    keys = root / "keys"
    keys.mkdir(mode=0o700)
    agreement = resources.files("nonrecours.connectors").joinpath("exchange.toml").read_text(encoding="utf-8")
    for name in ("exchange", "audit", *(f"{a}-return" for a in ("caf", "cnam", "france_travail", "cnav", "msa"))):
        write_secret_file(keys / f"{name}.key")
    agreement = agreement.replace('secret = { env = "NONRECOURS_EXCHANGE_SECRET" }',
                                  'secret = { file = "keys/exchange.key" }')
    for agency in ("caf", "cnam", "france_travail", "cnav", "msa"):
        agreement = agreement.replace(f'return_token_key = {{ env = "NONRECOURS_{agency.upper()}_RETURN_SECRET" }}',
                                      f'return_token_key = {{ file = "keys/{agency}-return.key" }}')
    assert "env =" not in agreement
    (root / "exchange.toml").write_text(agreement, encoding="utf-8")
    (root / "run.toml").write_text(RUN_TOML, encoding="utf-8")
    cwd = os.getcwd()
    try:
        os.chdir(root)  # relative paths of run.toml, as a team runs it from its folder
        result = CliRunner().invoke(app, ["run", "run.toml"])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture(scope="module")
def households(territory: Path) -> dict[str, str]:
    """Each person's workspace pseudonym → household (the agreement's key, as the exchange pseudonymises)."""
    key = load_agreement(territory / "exchange.toml").pseudonym_key()
    people = pl.DataFrame({"nir": [p["nir"] for p in P.values()], "household": [p["household"] for p in P.values()]})
    pseud = pseudonymise(people, "nir", key, out="person_id", key_id_column=None, reason_column=None)
    return dict(zip(pseud.get_column("person_id"), pseud.get_column("household"), strict=True))


def _by_household(frame: pl.DataFrame, households: dict[str, str], column: str = "claimant_id") -> pl.DataFrame:
    return frame.with_columns(pl.col(column).replace_strict(households, default=None).alias("household"))


@pytest.fixture(scope="module")
def flags(territory: Path, households: dict[str, str]) -> pl.DataFrame:
    return _by_household(pl.read_parquet(territory / f"run/detection/{MONTH}/flags.parquet"), households)


@pytest.fixture(scope="module")
def units(territory: Path, households: dict[str, str]) -> pl.DataFrame:
    return _by_household(pl.read_parquet(territory / f"run/detection/{MONTH}/units.parquet"), households)


def _one(frame: pl.DataFrame, household: str, benefit: str) -> dict:
    rows = frame.filter((pl.col("household") == household) & (pl.col("benefit") == benefit))
    assert rows.height == 1, (household, benefit, rows)
    return rows.row(0, named=True)


def test_every_record_written_is_accepted_and_every_household_evaluated(territory: Path, units: pl.DataFrame):
    """Rows in = rows accepted (none quarantined: every line follows the documented layouts), and each household
    is a unit of its own whose claimant is one of its people."""
    quarantine = list((territory / "run/workspace/quarantine").rglob("*.parquet"))
    assert sum(pl.read_parquet(q).height for q in quarantine) == 0
    assert set(units.get_column("household").drop_nulls()) == set(PEOPLE)
    assert units.filter(pl.col("household").is_null()).height == 0
    assert units.group_by("household").agg(pl.col("unit_id").n_unique()).get_column("unit_id").max() == 1


def test_the_obvious_non_take_up_is_certain_with_the_amount_the_law_gives(flags: pl.DataFrame):
    rsa = _one(flags, "H1", "rsa")  # no resources; the housing aid received brings the forfait logement
    assert (rsa["status"], rsa["grade"]) == ("non_take_up", "certain")
    assert rsa["amount_low"] == rsa["amount_high"] == pytest.approx(RSA_BASE * (1 - RSA_FORFAIT_LOGEMENT_1P), abs=0.01)
    assert rsa["linked"] == ["css_free"]  # the RSA brings the free CSS, said in the flag
    assert any("Ouvre aussi droit à" in r for r in rsa["reasons"])
    # the letter's conditions met are true of him as written: a childless single man is no « parent isolé »
    assert any("personne isolée" in r for r in rsa["reasons"]), rsa["reasons"]
    assert not any("parent" in r for r in rsa["reasons"]), rsa["reasons"]
    aspa = _one(flags, "H2", "aspa")  # 70, a gross pension of 550 € her only resource
    assert (aspa["status"], aspa["grade"]) == ("non_take_up", "certain")
    assert aspa["amount_central"] == pytest.approx(ASPA_SINGLE - 550.0, abs=0.01)
    # her CSS is read on what she receives (her pension alone, under the free CSS's ceiling), not on the ASPA due
    assert _one(flags, "H2", "css_free")["grade"] == "certain"
    assert flags.filter((pl.col("household") == "H2") & (pl.col("benefit") == "css_participation")).height == 0
    ppa = _one(flags, "H3", "ppa")  # 900 € of salary alone
    assert (ppa["status"], ppa["grade"]) == ("non_take_up", "certain") and ppa["amount_central"] > 0
    assert ppa["deciding_unknowns"] == []
    assert _one(flags, "H10", "ppa")["grade"] == "certain"  # the farm worker's family, 1,600 € for four
    # his dossier (opened 2023, nothing paid) keeps its housing record against his 2024 declaration's dwelling:
    # rent 420 €, the housing aid OpenFisca gives (137 €)
    aid = _one(flags, "H3", "aide_logement")
    assert (aid["grade"], aid["amount_low"], aid["amount_high"]) == ("certain", 137.0, 137.0)


def test_the_households_correctly_paid_the_pending_claim_and_the_objection_are_never_contacts(
        flags: pl.DataFrame, units: pl.DataFrame):
    assert _one(units, "H4", "rsa")["status"] == "consistent"
    assert _one(units, "H5", "aspa")["status"] == "consistent"  # 540 € paid, at least the 493.60 € due
    assert _one(units, "H8", "af")["status"] == "consistent"
    contacts = flags.filter(pl.col("grade").is_in(["certain", "probable"]))
    assert contacts.filter(pl.col("household").is_in(["H4", "H5"])
                           & pl.col("benefit").is_in(["rsa", "aspa", "css_free", "css_participation"])).height == 0
    pending = _one(units, "H6", "rsa")
    assert (pending["status"], pending["excluded"]) == ("non_take_up", "pending_claim")
    assert flags.filter((pl.col("household") == "H6") & (pl.col("benefit") == "rsa")).height == 0
    objected = units.filter((pl.col("household") == "H7") & (pl.col("status") == "non_take_up"))
    assert objected.height > 0 and set(objected.get_column("excluded")) == {"opt_out"}
    assert flags.filter(pl.col("household") == "H7").height == 0
    # nothing for the well paid, the couple of pensioners above the ASPA's ceiling, the jobseeker on ARE
    assert contacts.filter(pl.col("household").is_in(["H9", "H11", "H12"])).height == 0


def test_declared_non_salaried_income_is_counted(flags: pl.DataFrame):
    """H13 earns 30,000 € a year as self-employed (the DGFiP's ``revenus_non_salaries``), which the RSA's, the prime
    d'activité's and the CSS's resources count (the last yearly profit known, a twelfth each month): his zero salary
    gives no RSA, and none of those benefits is flagged (before 5 December 2026 no rule read it, and the RSA his
    zero salary gave was capped at « possible »)."""
    h13 = flags.filter(pl.col("household") == "H13")
    assert h13.filter(pl.col("benefit").is_in(["rsa", "ppa", "css_free", "css_participation"])).height == 0
    assert h13.filter(pl.col("grade").is_in(["certain", "probable"]) & (pl.col("benefit") != "af")).height == 0


def test_a_pregnancy_is_unknown_only_for_a_woman_of_an_age_to_be_pregnant(territory: Path,
                                                                          households: dict[str, str]):
    """The sex of someone whose extracts carry no sex field (the jobseeker H11: France Travail, the CPAM, the
    DGFiP) is the NIR's sex digit; a woman of 70 (H2) is not asked about a pregnancy; a woman of 35 the CAF does not
    know (H12) is."""
    unknowns = _by_household(pl.read_parquet(territory / f"run/detection/{MONTH}/unknowns.parquet")
                             .filter((pl.col("entity") == "individu") & (pl.col("input") == "pregnant")),
                             households, "id")
    assert set(unknowns.get_column("household")) & {"H2", "H11"} == set()
    assert "H12" in set(unknowns.get_column("household"))


def test_the_exclusions_are_counted(territory: Path):
    summary = json.loads((territory / f"run/detection/{MONTH}/summary.json").read_text(encoding="utf-8"))
    assert summary["exclusions"]["pending_claim"] == {"checked": True, "count": 1}
    assert summary["exclusions"]["opt_out"]["count"] >= 1


def test_each_claim_goes_to_the_agency_that_pays_it_the_msa_for_its_members(territory: Path):
    lists = {path.stem.removeprefix("outreach_"): pl.read_parquet(path)
             for path in (territory / f"run/outputs/{MONTH}").glob("outreach_*.parquet")}
    rows = pl.concat([f.select("agency", "claim_agency", "lead_benefit", "has_record") for f in lists.values()])
    lead = {(r["lead_benefit"], r["claim_agency"]) for r in rows.iter_rows(named=True)}
    assert ("rsa", "caf") in lead and ("aspa", "cnav") in lead
    # the farm worker's prime d'activité is claimed at the MSA, which holds his dossier and contacts him
    assert "msa" in lists
    msa = lists["msa"].row(0, named=True)
    assert (msa["lead_benefit"], msa["claim_agency"], msa["has_record"]) == ("ppa", "msa", True)
    assert rows.filter(pl.col("claim_agency") == "msa").height == lists["msa"].height
    assert rows.get_column("has_record").all()  # every person contacted has a record at the contacting agency


def test_no_identifier_leaves_and_the_audit_trail_verifies(territory: Path):
    run = territory / "run"
    names = {w for p in P.values() for w in (p["nom"], p["prenom"])} | set(DOSSIERS) | {"RUE DE LA BARRE"}
    leaks = find_leaks(run, names)
    assert not leaks, leaks[:5]
    raw = {p["nir"] for p in P.values()} | {p["nir"][:13] for p in P.values()}
    for path in run.rglob("*"):
        if path.is_file() and path.suffix in {".json", ".jsonl", ".log", ".csv", ".md", ".html", ".toml"}:
            text = path.read_text(encoding="utf-8", errors="replace")
            assert not any(n in text for n in raw), path.name
    checked = verify_run(run)
    assert checked and all(v >= 0 for v in checked.values()), checked
