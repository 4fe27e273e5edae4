"""Extracts written by hand from docs/connectors/*.md alone, as another team would: never by ``nonrecours.synth``
nor by the connectors' writer.

Each agency's extract carries what a real writer produces and the layout allows (CRLF or LF line ends, a last line
without line end, a UTF-8 byte-order mark, quoted values holding the separator, blank optional fields, negative
regularisations and deficits, an unknown birth day, NIRs of people born abroad, in Corsica and overseas, a leap
day, records whose trailing blanks a transfer removed) and a few bad rows (a NIR with a wrong key, of the wrong
length or with a letter, an unknown code, a short record, an impossible date). Every valid line must be accepted,
every bad one quarantined with its line and column, and rows read = accepted + quarantined.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from stdnum.fr.nir import calc_check_digits

from nonrecours.connectors import default_mapping, ingest
from nonrecours.connectors.ingest import IngestReport
from nonrecours.errors import EmptyExtractError
from nonrecours.privacy import ExchangeAgreement

EXTRACT_DATE = dt.date(2026, 6, 28)


def nir(body: str) -> str:
    """A 13-character NIR body with its key (python-stdnum: 97 - (N mod 97), 2A read as 19 and 2B as 18)."""
    return body + calc_check_digits(body)


def wrong_key(number: str) -> str:
    return number[:-2] + f"{(int(number[-2:]) + 1) % 100:02d}"


DAD = nir("1800546042123")       # born 05/1980 in Cahors (46042)
MUM = nir("282112A004056")       # born 11/1982 in Ajaccio (2A004)
KID = nir("2120246042017")       # born 29/02/2012
ABROAD = nir("1750399350123")    # born 03/1975 in Morocco (99, country 350)
BASTIA = nir("269072B033011")    # born 07/1969 in Bastia (2B033)
REUNION = nir("1880597411042")   # born 05/1988 in La Réunion (974)
TEMP = nir("7850199135001")      # temporary number of a person born abroad
OLD = nir("1540446042009")       # retiree born 04/1954
OLD2 = nir("2560346042010")      # his wife, born 03/1956
JOB = nir("1990846042077")       # jobseeker born 08/1999


def fw(length: int, *fields: tuple[int, str]) -> str:
    """A fixed-width record: each (1-based position, text) in place, spaces elsewhere."""
    buf = [" "] * length
    for start, text in fields:
        buf[start - 1:start - 1 + len(text)] = list(text)
    return "".join(buf)[:length]


def caf_member(mat: str, qual: str, number: str, nom: str, prenom: str, birth: str, sex: str, nat: str, years: str,
               commune: str, rsdae: str = " ", isolated: str = " ") -> str:
    """Record 20 laid out from docs/connectors/caf.md's table."""
    return fw(120, (1, "20"), (3, mat), (10, qual), (12, number), (27, nom), (57, prenom), (77, birth), (85, sex),
              (86, nat), (87, years), (89, "000"), (92, "N"), (93, "N"), (94, "201901"), (100, commune),
              (105, rsdae), (106, isolated))


def caf(tmp: Path) -> tuple[Path, dict[int, str]]:
    """latin-1, CRLF, no line end after the trailer; some records with their trailing blanks removed."""
    recs = [
        fw(120, (1, "00"), (3, "CAF46"), (8, "20260628")),                                              # 1
        fw(120, (1, "10"), (3, "0012345"), (10, "46042"), (15, "201901")).rstrip(),                     # 2 trimmed
        caf_member("0012345", "01", DAD, "DUPONT", "Jean-Noël", "12051980", "1", "1", "  ", "46042"),   # 3
        caf_member("0012345", "02", MUM, "ÉTIENNE", "Hélène", "03111982", "2", "1", "  ", "2A004").rstrip(),  # 4
        caf_member("0012345", "03", KID, "DUPONT", "Zoé", "29022012", "2", "1", "  ", "46042"),          # 5 leap day
        fw(120, (1, "30"), (3, "0012345"), (10, "AF"), (13, "202605"), (19, "0000014000"), (29, "20260605")),  # 6
        fw(120, (1, "30"), (3, "0012345"), (10, "AF"), (13, "202603"), (19, "-000002500")),             # 7 regul.
        fw(120, (1, "40"), (3, "0012345"), (10, "202605"), (16, "LO"), (18, "000052000"), (27, "12 RUE DU PONT"),
           (57, "46000"), (62, "N"), (63, "N")),                                                        # 8
        fw(120, (1, "50"), (3, "0012345"), (10, DAD), (25, "202605"), (31, "SAL"), (34, "0000123456")),  # 9
        fw(120, (1, "60"), (3, "0012345"), (10, MUM), (25, "RSA"), (28, "DEP"), (31, "20260610")),     # 10
        fw(120, (1, "70"), (3, "0012345"), (10, DAD), (28, "20250101")) + "  ",                         # 11 past 120
        fw(120, (1, "10"), (3, "0099001"), (10, "46102"), (15, "202301")),                              # 12
        caf_member("0099001", "01", ABROAD, "EL AMRANI", "Youssef", "00031975", "1", "3", "12", "46102", "O", "N"),
        fw(120, (1, "40"), (3, "0099001"), (10, "202605"), (16, "AC"), (18, "000061000"), (27, "LES FAURES"),
           (57, "46100"), (64, "20150312")),                                                            # 14
        fw(120, (1, "30"), (3, "0099001"), (10, "AAH"), (13, "202605"), (19, "0000097160")).rstrip(),   # 15 trimmed
        caf_member("0099001", "02", wrong_key(BASTIA), "SANTONI", "Maria", "01071969", "2", "1", "  ", "2B033"),  # 16
        caf_member("0099001", "04", REUNION, "PAYET", "Kévin", "10051988", "1", "1", "  ", "97411"),   # 17 QUALITE
        fw(120, (1, "30"), (3, "0099001"), (10, "RSA"), (13, "202605"), (19, "0000060000"))[:24],      # 18 cut
        caf_member("0099001", "03", REUNION, "PAYET", "Kévin", "31022000", "1", "1", "  ", "97411"),   # 19 date
        fw(120, (1, "80"), (3, "0099001")),                                                             # 20 type
    ]
    recs.append(fw(120, (1, "99"), (3, f"{len(recs) + 1:09d}")).rstrip())                              # 21 trimmed
    path = tmp / "caf.dat"
    path.write_bytes("\r\n".join(recs).encode("latin-1"))
    return path, {16: "NIR (positions 12-26)", 17: "QUALITE (positions 10-11)", 18: "record length",
                  19: "DATE_NAISSANCE (positions 77-84)", 20: "record type (positions 1-2)"}


MSA_HEAD = ("NUM_DOSSIER;NIR;NOM;PRENOM;DATE_NAISSANCE;SEXE;LIEN;NATIONALITE;ANNEES_TITRE_SEJOUR;TAUX_INCAPACITE;"
            "ETUDIANT;GROSSESSE;STATUT;CODE_COMMUNE;DATE_AFFILIATION;PERIODE;NATURE;MONTANT;PRESTATION;DATE_EVENEMENT")


def msa(tmp: Path) -> tuple[Path, dict[int, str]]:
    """cp1252, CRLF, decimal commas (one with a thousands space), a quoted name holding the separator."""
    ass = f"M0001;{BASTIA};SANTONI;Marie;01/07/1969;F;ASS;FR;;0;N;N;EXP;2B033;2010-01"
    rows = [
        MSA_HEAD,                                                                                       # 1
        f'M0001;{BASTIA};"SANTONI; DIT BATTI";Marie-Thérèse;01/07/1969;F;ASS;FR;;0;N;N;EXP;2B033;2010-01;2026-05;'
        "MEMBRE;0;;",                                                                                   # 2
        f"M0001;{KID};SANTONI;Zoé;29/02/2012;F;ENF;FR;;0;N;N;AD;2B033;2012-03;2026-05;MEMBRE;0,00;;",  # 3
        f"{ass};2026-05;AF;141,99;;",                                                                   # 4
        f"{ass};2026-04;AF;-20,50;;",                                                                   # 5 regul.
        f"{ass};2026-05;SALAIRE;1 234,56;;",                                                            # 6
        f"{ass};2026-05;DEMANDE;0;RSA;02/05/2026",                                                      # 7
        f"{ass};2026-05;OPPOSITION;0;;15/01/2026",                                                      # 8
        f"M0002;{TEMP};OKAFOR;Chidi;00/01/1985;M;ASS;ET;7;0;N;N;SAL;46042;2020-01;2026-05;MEMBRE;0;;",  # 9
        f"M0002;{TEMP[:14]};OKAFOR;Chidi;01/01/1985;M;ASS;ET;7;0;N;N;SAL;46042;2020-01;2026-05;MEMBRE;0;;",  # 10
        f"M0002;{TEMP};OKAFOR;Chidi;01/01/1985;M;ASS;ET;7;0;N;N;SAL;46042;2020-01;2026-05;PRIME;10;;",  # 11
        f"M0002;{TEMP};OKAFOR;Chidi;01/13/1985;M;ASS;ET;7;0;N;N;SAL;46042;2020-01;2026-05;MEMBRE;0;;",  # 12
        f"M0002;{TEMP};OKAFOR;Chidi;01/01/1985;M;ASS;ET;7;0;N;N;SAL;46042;2020-01",                    # 13 short
    ]
    path = tmp / "msa.csv"
    path.write_bytes(("\r\n".join(rows) + "\r\n").encode("cp1252"))
    return path, {10: "NIR", 11: "NATURE", 12: "DATE_NAISSANCE", 13: "line"}


CNAV_HEAD = ("NIR;NOM_NAISSANCE;PRENOMS;DATE_NAISSANCE;SEXE;NATIONALITE;ANNEES_TITRE_SEJOUR;INAPTITUDE;"
             "NUM_DOSSIER_ASPA;DATE_EFFET;QUALITE;CODE_POSTAL;CODE_COMMUNE;MOIS_ECHEANCE;MONTANT_BRUT;MONTANT_NET;"
             "MONTANT_ASPA;ASPA_EVENEMENT;ASPA_DATE_EVENEMENT")


def cnav(tmp: Path) -> tuple[Path, dict[int, str]]:
    """UTF-8 with a byte-order mark (a Windows tool), LF, no line end after the last line."""
    pierre = f"{OLD};LAFON;Pierre Émile;19540412;1;FR;;N;A000001;201901;TI;46000;46042"
    rows = [
        CNAV_HEAD,                                                                                      # 1
        f"{pierre};202604;1050.20;960.10;0;;",                                                          # 2
        f"{pierre};202605;1050.20;960.10;0;;",                                                          # 3
        f"{OLD2};LAFON;Jeanne;19560300;2;FR;;;A000001;201901;CJ;46000;46042;202605;410.00;380.00;120.55;"
        "INSTRUCTION;20260415",                                                                         # 4
        f"{ABROAD};EL AMRANI;Youssef;19750300;1;ET;12;O;A000002;202501;TI;46100;46102;202605;800.00;720.00;"
        "-35.10;;",                                                                                     # 5 regul.
        f'{OLD2};"LAFON; née MAS";Jeanne;19560301;2;FR;;;A000001;201901;CJ;46000;46042;202604;410.00;380.00;'
        "120.55;;",                                                                                     # 6
        f"{OLD[:5]}X{OLD[6:]};LAFON;Pierre;19540412;1;FR;;N;A000001;201901;TI;46000;46042;202603;1050.20;960.10;0;;",
        f"{OLD};LAFON;Pierre;19540412;1;FR;;N;A000001;201901;XX;46000;46042;202603;1050.20;960.10;0;;",  # 8
        f"{OLD};LAFON;Pierre;19540431;1;FR;;N;A000001;201901;TI;46000;46042;202602;1050.20;960.10;0;;",  # 9
        f"{OLD};LAFON;Pierre;19540412;1;FR;;N;A000001;201901;TI;46000;46042;202601;-1050.20;960.10;0;;",  # 10
    ]
    path = tmp / "cnav.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(rows).encode("utf-8"))
    return path, {7: "NIR", 8: "QUALITE", 9: "DATE_NAISSANCE", 10: "MONTANT_BRUT"}


CNAM_HEAD = ("NIR_BENEFICIAIRE;NOM_USAGE;PRENOM;DATE_NAISSANCE;CODE_COMMUNE;CODE_REGIME;TOP_CSS;MOIS_DROIT;"
             "MONTANT_PARTICIPATION;MONTANT_PENSION_INVALIDITE;MONTANT_ASI;CSS_EVENEMENT;CSS_PRESTATION;"
             "CSS_DATE_EVENEMENT;ASI_EVENEMENT;ASI_DATE_EVENEMENT;DATE_OPPOSITION")


def cnam(tmp: Path) -> tuple[Path, dict[int, str]]:
    """UTF-8 with a byte-order mark, CRLF, decimal commas, blank optional columns."""
    rows = [
        CNAM_HEAD,                                                                                      # 1
        f"{DAD};DUPONT;Jean-Noël;12/05/1980;46042;01;0;05/2026;0,00;0,00;0,00;;;;;;",                   # 2
        f"{MUM};DUPONT;Hélène;03/11/1982;2A004;01;2;05/2026;30,50;0,00;0,00;INSTRUCTION;2;02/05/2026;;;",  # 3
        f"{ABROAD};EL AMRANI;Youssef;00/03/1975;46102;01;1;05/2026;0;812,40;;;;;INSTRUCTION;10/04/2026;",  # 4
        f'{REUNION};"PAYET; dit KÉVIN";Kévin;10/05/1988;97411;01;0;05/2026;0,00;0,00;0,00;;;;;;01/02/2026',  # 5
        f"{KID};DUPONT;Zoé;29/02/2012;46042;01;0;05/2026;0,00;0,00;;;;;;;",                             # 6
        f"{DAD[:13]};DUPONT;Jean;12/05/1980;46042;01;0;04/2026;0,00;0,00;0,00;;;;;;",                     # 7
        f"{DAD};DUPONT;Jean;12/05/1980;46042;01;3;04/2026;0,00;0,00;0,00;;;;;;",                         # 8
        f"{DAD};DUPONT;Jean;12/05/1980;46042;01;0;13/2026;0,00;0,00;0,00;;;;;;",                         # 9
        f"{DAD};DUPONT;Jean;12/05/1980;46042;01;0;03/2026;0,00;0,00",                                    # 10 short
    ]
    path = tmp / "cnam.csv"
    path.write_bytes(b"\xef\xbb\xbf" + ("\r\n".join(rows) + "\r\n").encode("utf-8"))
    return path, {7: "NIR_BENEFICIAIRE", 8: "TOP_CSS", 9: "MOIS_DROIT", 10: "line"}


FT_HEAD = ("identifiant_local,nir,nom,prenom,date_naissance,code_postal,nationalite,code_commune,categorie,"
           "date_inscription,mois,montant_are,nb_jours_indemnises,beneficiaire_rsa")


def france_travail(tmp: Path) -> tuple[Path, dict[int, str]]:
    """UTF-8, LF, a quoted name holding a comma, optional columns left blank."""
    awa = f"FT00001,{JOB},N'DIAYE,Awa,1999-08-21,46000,FR,46042"
    rows = [
        FT_HEAD,                                                                                        # 1
        f'FT00001,{JOB},"N\'DIAYE, épouse FAURE",Awa,1999-08-21,46000,FR,46042,A,2025-09-01,2026-05,1234.56,31,N',
        f"{awa},A,2025-09-01,2026-04,0,0,",                                                             # 3
        f"FT00002,{MUM},DUPONT,Hélène,1982-11-03,46000,,,B,2026-01-15,2026-05,0,0,O",                  # 4
        f"FT00003,{ABROAD},EL AMRANI,Youssef,1975-03-00,46100,ET,46102,D,2024-02-01,2026-05,0.00,0,N",  # 5
        f"FT00004,{wrong_key(JOB)},X,Y,1999-08-21,46000,FR,46042,A,2025-09-01,2026-05,10.00,1,N",       # 6
        f"{awa},F,2025-09-01,2026-03,0,0,N",                                                            # 7
        f"{awa},A,2025-02-30,2026-02,0,0,N",                                                            # 8
        f"{awa},A,2025-09-01,2026-01,12.345,1,N",                                                       # 9
    ]
    path = tmp / "france_travail.csv"
    path.write_bytes(("\n".join(rows) + "\n").encode("utf-8"))
    return path, {6: "nir", 7: "categorie", 8: "date_inscription", 9: "montant_are"}


def dgfip(tmp: Path) -> tuple[Path, dict[int, str]]:
    """Typed Parquet: a Date birth date, integer euros, a deficit, a foyer without dwelling."""
    frame = pl.DataFrame({
        "numero_foyer": ["F46001", "F46001", "F46001", "F46002", "F46003", "F46004"],
        "annee_revenus": [2024] * 6,
        "nir": [DAD, MUM, KID, ABROAD, None, DAD[:13]],
        "nom_naissance": ["DUPONT", "ÉTIENNE", "DUPONT", "EL AMRANI", "X", "Y"],
        "prenoms": ["Jean Noël", "Hélène", "Zoé", "Youssef", "X", "Y"],
        "date_naissance": [dt.date(1980, 5, 12), dt.date(1982, 11, 3), dt.date(2012, 2, 29), dt.date(1975, 3, 1),
                           dt.date(1990, 1, 1), dt.date(1980, 5, 12)],
        "adresse": ["12 RUE DU PONT, CAHORS"] * 3 + ["LES FAURES", "", ""],
        "identifiant_local": ["0460420012345"] * 3 + [None, None, None],
        "code_commune": ["46042", "46042", "46042", "46102", "46042", "46042"],
        "qualite": ["DEC1", "DEC2", "PAC", "DEC1", "DEC1", "DEC1"],
        "salaires_traitements": [18000, 9500, 0, 0, 0, 0],
        "pensions_retraites": [0] * 6,
        "allocations_chomage": [0, 1200, 0, 0, 0, 0],
        "pensions_alimentaires_recues": [0] * 6,
        "revenus_non_salaries": [-3200, 0, 0, 4100, 0, 0],
        "revenu_fiscal_reference": [24300, 24300, 24300, 4100, 0, 0],
        "nombre_parts": [2.5, 2.5, 2.5, 1.0, 1.0, 1.0],
    })
    path = tmp / "dgfip.parquet"
    frame.write_parquet(path)
    return path, {5: "nir", 6: "nir"}


def drm(tmp: Path) -> tuple[Path, dict[int, str]]:
    """UTF-8, LF, no line end after the last line; a zero amount (no row) and a negative one (documented fault)."""
    rows = [
        "NIR;MOIS_RATTACHEMENT;NATURE_REVENU;MONTANT;TYPE_DECLARANT",                                   # 1
        f"{DAD};202605;SAL;1234.56;DSN",                                                                # 2
        f"{MUM};202605;CHO;845.10;PASRAU",                                                              # 3
        f"{ABROAD};202605;INV;812.40;PASRAU",                                                           # 4
        f"{OLD};202605;RET;960.10;PASRAU",                                                              # 5
        f"{JOB};202605;IJ;300;PASRAU",                                                                  # 6
        f"{BASTIA};202605;AUT;50.00;PASRAU",                                                            # 7
        f"{REUNION};202605;SAL;0.00;DSN",                                                               # 8
        f"{TEMP};202605;SAL;1500.00;DSN",                                                               # 9
        f"{DAD};202604;SAL;-120.00;DSN",                                                                # 10
        f"{DAD};202604;BNC;120.00;DSN",                                                                 # 11
        f"{DAD};202604;SAL;120.00",                                                                     # 12 short
        f"{DAD};202604;SAL;120.00;MSA",                                                                 # 13
    ]
    path = tmp / "drm.csv"
    path.write_bytes("\n".join(rows).encode("utf-8"))
    return path, {10: "MONTANT", 11: "NATURE_REVENU", 12: "line", 13: "TYPE_DECLARANT"}


WRITERS: dict[str, Callable[[Path], tuple[Path, dict[int, str]]]] = {
    "caf": caf, "msa": msa, "cnav": cnav, "cnam": cnam, "france_travail": france_travail, "dgfip": dgfip, "drm": drm}


def _ingest(agency: str, path: Path, agreement: ExchangeAgreement, out: Path, **kw: object) -> IngestReport:
    report = ingest(path, default_mapping(agency), agreement, out, extract_date=EXTRACT_DATE, **kw)  # type: ignore[arg-type]
    assert report.rows_read == report.rows_accepted + report.rows_quarantined
    return report


def _table(report: IngestReport, table: str) -> pl.DataFrame:
    return pl.read_parquet(report.outputs[table])


@pytest.mark.parametrize("agency", list(WRITERS))
def test_every_valid_line_is_accepted_and_every_bad_one_quarantined(agency: str, agreement: ExchangeAgreement,
                                                                    tmp_path: Path) -> None:
    path, bad = WRITERS[agency](tmp_path)
    report = _ingest(agency, path, agreement, tmp_path / "ws")
    q = _table(report, "quarantine")
    found = {line: col or "line" for line, col in q.select("line", "column").unique("line").iter_rows()}
    assert found == bad, q
    assert q.get_column("reason").null_count() == 0 and set(q.get_column("file")) == {path.name}
    lines = {"caf": 21, "msa": 12, "cnav": 9, "cnam": 9, "france_travail": 8, "dgfip": 6, "drm": 12}[agency]
    assert (report.rows_read, report.rows_quarantined) == (lines, len(bad))
    if agency == "caf":
        assert report.control_ok is True and report.declared_records == 21


def test_values_of_the_handwritten_extracts_are_read_with_their_meaning(agreement: ExchangeAgreement,
                                                                          tmp_path: Path) -> None:
    """Corsica, a leap day, an unknown birth day, a NIR of a person born abroad, overseas or temporary, negative
    regularisations and a deficit, blank optional fields: accepted with what the layout says they mean."""
    out = tmp_path / "ws"
    reports = {a: _ingest(a, WRITERS[a](tmp_path)[0], agreement, out) for a in WRITERS}
    persons = pl.concat([_table(r, "persons") for r in reports.values() if "persons" in r.outputs],
                        how="diagonal_relaxed")
    caf_p = persons.filter(pl.col("source_agency") == "caf").sort("birth_month")
    assert caf_p.get_column("birth_month").to_list() == [dt.date(1975, 3, 1), dt.date(1980, 5, 1),
                                                         dt.date(1982, 11, 1), dt.date(2012, 2, 1)]
    assert caf_p.get_column("depcom").to_list() == ["46102", "46042", "2A004", "46042"]
    assert caf_p.get_column("born_in_france").to_list() == [False, True, True, True]
    assert caf_p.get_column("rsdae").to_list() == [True, None, None, None]  # blank: unknown
    msa_p = persons.filter(pl.col("source_agency") == "msa").sort("birth_month")
    assert msa_p.get_column("depcom").to_list() == ["2B033", "46042", "2B033"]
    assert msa_p.get_column("born_in_france").to_list() == [True, False, True]  # a temporary number: abroad
    # the member's STATUT: the farm's operator (EXP) works on her own account, the farm worker (SAL) and the
    # child (AD) do not; the other agencies send no status (unknown)
    assert msa_p.get_column("self_employed").to_list() == [True, False, False]
    assert caf_p.get_column("self_employed").null_count() == caf_p.height
    cnam_p = persons.filter(pl.col("source_agency") == "cnam")
    assert cnam_p.filter(pl.col("depcom") == "97411").get_column("born_in_france").to_list() == [True]
    paid = pl.concat([_table(r, "benefits_paid") for r in reports.values() if "benefits_paid" in r.outputs],
                     how="diagonal_relaxed")
    negative = paid.filter(pl.col("amount") < 0).sort("source_agency")
    assert negative.select("source_agency", "benefit", "amount").rows() == [
        ("caf", "af", Decimal("-25.00")), ("cnav", "aspa", Decimal("-35.10")), ("msa", "af", Decimal("-20.50"))]
    assert paid.filter(pl.col("benefit") == "aah").get_column("amount").to_list() == [Decimal("971.60")]
    housing = _table(reports["caf"], "housing").sort("rent")
    assert housing.select("status", "rent", "colocation", "loan_date").rows() == [
        ("tenant", Decimal("520.00"), False, None), ("owner_with_loan", Decimal("610.00"), None, dt.date(2015, 3, 12))]
    assert _table(reports["caf"], "opt_outs").get_column("benefit").to_list() == [None]  # blank: every benefit
    income = _table(reports["dgfip"], "annual_income")
    assert sorted(income.filter(pl.col("kind") == "self_employment").get_column("amount").to_list()) == [
        Decimal("-3200.00"), Decimal("4100.00")]
    resources = _table(reports["drm"], "resources")
    assert resources.height == 7  # the zero amount is accepted but written nowhere
    msa_r = _table(reports["msa"], "resources")
    assert msa_r.get_column("amount").to_list() == [Decimal("1234.56")]
    receipts = _table(reports["france_travail"], "benefit_receipts")
    assert receipts.height == 1  # the blank nationality and commune keep the line, without a persons row
    ft_persons = _table(reports["france_travail"], "persons")
    assert ft_persons.height == 2


@pytest.mark.parametrize("agency", list(WRITERS))
def test_an_extract_of_only_its_header_is_refused_unless_allowed(agency: str, agreement: ExchangeAgreement,
                                                                 tmp_path: Path) -> None:
    path, _ = WRITERS[agency](tmp_path)
    if agency == "caf":  # header and trailer records only, the trailer counting both
        lines = path.read_bytes().decode("latin-1").split("\r\n")
        path.write_bytes((lines[0] + "\r\n" + fw(120, (1, "99"), (3, "000000002")) + "\r\n").encode("latin-1"))
    elif agency == "dgfip":
        pl.read_parquet(path).head(0).write_parquet(path)
    else:
        raw = path.read_bytes()
        path.write_bytes(raw[:raw.index(b"\n") + 1])
    with pytest.raises(EmptyExtractError):
        _ingest(agency, path, agreement, tmp_path / "ws")
    report = _ingest(agency, path, agreement, tmp_path / "ws", allow_empty=True)
    assert report.empty and report.rows_quarantined == 0
    if agency == "caf":
        assert report.control_ok is True


def test_a_caf_trailer_count_that_differs_fails_the_control(agreement: ExchangeAgreement, tmp_path: Path) -> None:
    path, _ = caf(tmp_path)
    lines = path.read_bytes().decode("latin-1").split("\r\n")
    del lines[8]  # a record lost in transfer: the trailer still counts it
    path.write_bytes("\r\n".join(lines).encode("latin-1"))
    report = _ingest("caf", path, agreement, tmp_path / "ws")
    assert report.control_ok is False and report.declared_records == 21 and report.rows_read == 20
    assert report.controls == ["record count: the trailer declares 21 records, 20 were read (a file cut short?)"]


def test_caf_records_whose_trailing_blanks_were_removed_are_read(agreement: ExchangeAgreement,
                                                                 tmp_path: Path) -> None:
    """A mainframe file sent in text mode loses its records' trailing blanks (z/OS FTP's default): such a record
    ends after a field or inside a name's padding, and is read as the full record; one ending inside an amount,
    a date or a NIR was cut, and stays a fault."""
    path, _ = caf(tmp_path)
    lines = path.read_bytes().decode("latin-1").split("\r\n")
    trimmed = [x.rstrip() for x in lines]
    assert sum(len(x) < 120 for x in trimmed) == 21
    cut = [fw(120, (1, "40"), (3, "0012345"), (10, "202604"), (16, "LO"), (18, "000052000"))[:22],   # in LOYER
           fw(120, (1, "20"), (3, "0012345"), (10, "03"), (12, KID))[:20],                            # in the NIR
           fw(120, (1, "60"), (3, "0012345"), (10, MUM), (25, "RSA"), (28, "DEP"), (31, "20260610"))[:34]]  # date
    body = trimmed[:-1] + cut + [fw(120, (1, "99"), (3, f"{len(trimmed) + len(cut):09d}")).rstrip()]
    path.write_bytes("\n".join(body).encode("latin-1"))
    report = _ingest("caf", path, agreement, tmp_path / "ws")
    q = _table(report, "quarantine")
    found = {line: col for line, col in q.select("line", "column").unique("line").iter_rows()}
    assert found == {16: "NIR (positions 12-26)", 17: "QUALITE (positions 10-11)", 18: "record length",
                     19: "DATE_NAISSANCE (positions 77-84)", 20: "record type (positions 1-2)",
                     21: "record length", 22: "record length", 23: "record length"}
    assert report.control_ok is True and report.rows_accepted == 16
    assert any("trailing blanks" in a for a in report.adaptations)
    (tmp_path / "ref").mkdir()
    reference = _ingest("caf", caf(tmp_path / "ref")[0], agreement, tmp_path / "ws_ref")
    for table in ("persons", "unit_memberships", "benefits_paid", "housing", "resources", "claims", "opt_outs"):
        assert _table(report, table).drop("extract_id").equals(_table(reference, table).drop("extract_id")), table


def test_codes_written_in_lower_case_are_read(agreement: ExchangeAgreement, tmp_path: Path) -> None:
    """The layouts show their codes in capitals but do not say case matters: a hand-edited file's ``o``, ``fr`` or
    ``ass`` cannot be misread, so it is read as ``O``, ``FR``, ``ASS``; a code that is wrong in any case stays a
    fault."""
    path = tmp_path / "msa.csv"
    path.write_bytes((MSA_HEAD + "\r\n"
                      + f"M0003;{OLD};LAFON;Pierre;12/04/1954;m;ass;fr;;0;n;n;ret;46042;2000-01;2026-05;membre;0;;\r\n"
                      + f"M0003;{OLD};LAFON;Pierre;12/04/1954;M;ASS;FR;;0;N;N;RET;46042;2000-01;2026-05;retnet;"
                        "960,10;;\r\n"
                      + f"M0003;{OLD};LAFON;Pierre;12/04/1954;M;ASS;fx;;0;N;N;RET;46042;2000-01;2026-05;MEMBRE;0;;\r\n"
                      ).encode("cp1252"))
    report = _ingest("msa", path, agreement, tmp_path / "ws")
    q = _table(report, "quarantine")
    assert q.select("line", "column", "reason").rows() == [(4, "NATIONALITE", "unknown code")]
    person = _table(report, "persons").row(0, named=True)
    assert (person["sex"], person["nationality_group"], person["student"]) == ("M", "FR", False)
    assert _table(report, "unit_memberships").get_column("role").to_list() == ["demandeur", "personne_de_reference"]
    assert _table(report, "resources").get_column("kind").to_list() == ["pension_net"]
    caf_path, _ = caf(tmp_path)
    text = caf_path.read_bytes().decode("latin-1").replace("\r\n30" + "0012345" + "AF ", "\r\n30" + "0012345" + "af ")
    caf_path.write_bytes(text.encode("latin-1"))
    caf_report = _ingest("caf", caf_path, agreement, tmp_path / "ws_caf")
    assert caf_report.rows_quarantined == 5
    assert _table(caf_report, "benefits_paid").filter(pl.col("benefit") == "af").height == 2


def test_a_parquet_birth_date_written_as_a_timestamp_is_read(agreement: ExchangeAgreement, tmp_path: Path) -> None:
    """A typed Parquet extract written with pandas holds its dates as timestamps (datetime64): the birth date is
    that timestamp's day, in its own time zone (midnight in Paris is 22:00 or 23:00 UTC the day before)."""
    path, _ = dgfip(tmp_path)
    frame = pl.read_parquet(path)
    naive = frame.with_columns(pl.col("date_naissance").cast(pl.Datetime("ns")))
    paris = frame.with_columns(pl.col("date_naissance").cast(pl.Datetime("us")).dt.replace_time_zone("Europe/Paris"))
    # the same Paris midnights stored as instants in UTC, as Spark and pyarrow write a zoned timestamp: read in
    # Paris time (they were read the day before: everyone born on the 1st a month early)
    utc = paris.with_columns(pl.col("date_naissance").dt.convert_time_zone("UTC"))
    assert (utc.get_column("date_naissance").dt.date() != frame.get_column("date_naissance").cast(pl.Date)).any()
    expected = _table(_ingest("dgfip", path, agreement, tmp_path / "ws"), "persons").drop("extract_id")
    for name, typed in (("naive", naive), ("paris", paris), ("utc", utc)):
        typed.write_parquet(tmp_path / f"{name}.parquet")
        report = _ingest("dgfip", tmp_path / f"{name}.parquet", agreement, tmp_path / f"ws_{name}")
        assert report.rows_quarantined == 2, name
        assert _table(report, "persons").drop("extract_id").equals(expected), name


def test_a_blank_line_is_no_record_and_the_trailer_still_matches(agreement: ExchangeAgreement, tmp_path: Path) -> None:
    """An extra line end after the trailer makes a blank line: no record (neither accepted nor quarantined, counted
    in ``blank_lines``), so the trailer's count still matches; a record that became a blank line does not."""
    path, bad = caf(tmp_path)
    raw = path.read_bytes()
    path.write_bytes(raw + b"\r\n\r\n")
    report = _ingest("caf", path, agreement, tmp_path / "ws")
    assert 22 not in set(_table(report, "quarantine").get_column("line"))
    assert (report.rows_read, report.rows_quarantined, report.blank_lines, report.control_ok) == (21, len(bad), 1, True)
    lines = raw.decode("latin-1").split("\r\n")
    lines[8] = " " * 120  # the resources record blanked out
    path.write_bytes("\r\n".join(lines).encode("latin-1"))
    report = _ingest("caf", path, agreement, tmp_path / "ws2")
    assert (report.control_ok, report.rows_read, report.blank_lines) == (False, 20, 1)


def test_a_utf8_file_given_for_a_windows_layout_is_named_as_such(agreement: ExchangeAgreement,
                                                                tmp_path: Path) -> None:
    """The MSA's layout is cp1252 and the CAF's latin-1: a file saved as « CSV UTF-8 » (with a byte-order mark) is
    refused on line 1 as UTF-8, not as a header whose first column was « renamed » to ``ï»¿NUM_DOSSIER``; without
    the mark, the first accented line is named, with its column only when no quoted value can shift the split."""
    from nonrecours.errors import ExtractError

    path, _ = msa(tmp_path)
    text = path.read_bytes().decode("cp1252")
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    with pytest.raises(ExtractError, match="byte-order mark: it looks UTF-8 encoded") as err:
        _ingest("msa", path, agreement, tmp_path / "ws")
    assert err.value.line == 1
    path.write_bytes(text.encode("utf-8"))  # line 2 holds "SANTONI; DIT BATTI" quoted, then Marie-Thérèse
    with pytest.raises(ExtractError, match="it looks UTF-8 encoded") as err:
        _ingest("msa", path, agreement, tmp_path / "ws")
    assert (err.value.line, err.value.column) == (2, None)
    lines = text.split("\r\n")
    path.write_bytes("\r\n".join([lines[0], lines[3], lines[2]]).encode("utf-8"))  # Zoé, no quote: PRENOM
    with pytest.raises(ExtractError) as err:
        _ingest("msa", path, agreement, tmp_path / "ws")
    assert (err.value.line, err.value.column) == (3, "PRENOM")
    # an accented capital's second byte (É: C3 89) is a sign of cp1252's own (« Ã‰ »), not a latin-1 control: the
    # file was accepted, its names misread
    upper = "\r\n".join([lines[0], lines[2].replace("Zoé", "ZOÉ")])
    assert "ZOÉ" in upper
    path.write_bytes(upper.encode("utf-8"))
    with pytest.raises(ExtractError, match="it looks UTF-8 encoded") as err:
        _ingest("msa", path, agreement, tmp_path / "ws")
    assert (err.value.line, err.value.column) == (2, "PRENOM")
    caf_path, _ = caf(tmp_path)
    caf_path.write_bytes(b"\xef\xbb\xbf" + caf_path.read_bytes().decode("latin-1").encode("utf-8"))
    with pytest.raises(ExtractError, match="byte-order mark") as err:
        _ingest("caf", caf_path, agreement, tmp_path / "ws_caf")
    assert err.value.line == 1


def test_an_empty_box_of_a_tax_return_is_nothing_declared_not_a_fault(agreement: ExchangeAgreement,
                                                                     tmp_path: Path) -> None:
    """A tax extract leaves a box nobody filled null (POTE-like exports, a pandas frame with NaN): the income
    amounts are optional. Before, each such line was quarantined (« missing value »): the person, their foyer,
    their dwelling and the boxes they did fill were lost. Now the empty box emits no row, as a 0 does, and every
    other fact of the line is kept; the same extract written with zeros gives the same workspace."""
    path, bad = dgfip(tmp_path)
    frame = pl.read_parquet(path)
    boxes = ["salaires_traitements", "pensions_retraites", "allocations_chomage", "pensions_alimentaires_recues",
             "revenus_non_salaries"]
    empty = tmp_path / "dgfip-empty.parquet"
    frame.with_columns(pl.when(pl.col(c) != 0).then(pl.col(c)).alias(c) for c in boxes).write_parquet(empty)
    assert pl.read_parquet(empty)["pensions_retraites"].null_count() == frame.height
    with_zeros = _ingest("dgfip", path, agreement, tmp_path / "ws0")
    with_nulls = _ingest("dgfip", empty, agreement, tmp_path / "ws1")
    assert with_nulls.rows_quarantined == len(bad) == with_zeros.rows_quarantined
    for table in ("persons", "unit_memberships", "annual_income", "tax_households"):
        a, b = (_table(r, table).drop("extract_id", strict=False) for r in (with_zeros, with_nulls))
        assert a.sort(a.columns).equals(b.sort(b.columns)), table
    income = _table(with_nulls, "annual_income")
    assert sorted(income["kind"].cast(pl.String).unique()) == ["salaries", "self_employment", "unemployment"]


def test_validate_counts_a_sample_s_faults_as_ingest_counts_them(agreement: ExchangeAgreement,
                                                                  tmp_path: Path) -> None:
    """``nonrecours validate`` counted faults, not rows: the DGFiP's ``qualite``, read for the foyer and the ménage,
    was « 2 × qualite: unknown code » on one row, the table said « faulty rows 4 » beside « 3 of the 13 records
    sampled are faulty », and a birth date after the extract (a canonical check) was not seen; ingest quarantined
    3 rows, each fault once (an outside tester, runB, 6 December 2026). Both now count alike."""
    from typer.testing import CliRunner

    from nonrecours.cli import app
    from nonrecours.privacy import write_secret_file
    from nonrecours.run import validate

    from .conftest import EXCHANGE

    path, bad = dgfip(tmp_path)
    frame = pl.read_parquet(path).with_row_index("i")
    frame = frame.with_columns(  # lines 2 and 4 (the mother, the other foyer's declarant) faulty in new ways
        pl.when(pl.col("i") == 1).then(pl.lit("DEC9")).otherwise(pl.col("qualite")).alias("qualite"),
        pl.when(pl.col("i") == 3).then(pl.lit(dt.date(2026, 9, 1))).otherwise(pl.col("date_naissance"))
        .alias("date_naissance")).drop("i")
    (tmp_path / "extracts").mkdir()
    extract = tmp_path / "extracts" / "dgfip.parquet"
    frame.write_parquet(extract)
    (tmp_path / "keys").mkdir()
    write_secret_file(tmp_path / "keys" / "audit.key")
    config = tmp_path / "run.toml"
    config.write_text(f'first_month = "2026-06"\noutput = "out"\nexchange = "{EXCHANGE}"\n'
                      'audit_key = { file = "keys/audit.key" }\nbenefits = ["rsa"]\n[agencies.dgfip]\n'
                      f'files = ["extracts/dgfip.parquet"]\nextract_date = {EXTRACT_DATE.isoformat()}\n',
                      encoding="utf-8")
    report = _ingest("dgfip", extract, agreement, tmp_path / "ws")
    assert report.rows_quarantined == len(bad) + 2 == 4
    assert report.faults["qualite: unknown code"] == 1
    (check,) = validate(config)
    assert check.faults_sampled == report.faults
    assert (check.rows_sampled, check.rows_faulty) == (report.rows_read, report.rows_quarantined)
    out = " ".join(CliRunner().invoke(app, ["validate", str(config)]).output.split())
    assert "1 × qualite: unknown code" in out and "2 × qualite" not in out, out
    assert "1 × date_naissance: birth date after the extract date" in out, out


def test_a_css_claim_event_without_its_tier_is_a_claim_of_the_css_read_for_both_tiers(
        agreement: ExchangeAgreement, tmp_path: Path) -> None:
    """CSS_PRESTATION is optional: a claim under examination has no tier yet (the CPAM decides it from the
    resources, CSS art. L861-1, L861-5), and a refusal or closure may name none. Found by an outside tester
    (probe2_ext runF F04): the line was quarantined (« no value for canonical column benefit »), losing the
    person's listing of the month and the claim. A tier given keeps its one row; an unknown tier is the line's."""
    rows = [
        CNAM_HEAD,                                                                                   # 1
        f"{DAD};DUPONT;Jean;12/05/1980;46042;01;0;06/2026;0,00;0,00;0,00;INSTRUCTION;;01/06/2026;;;",  # 2
        f"{MUM};DUPONT;Hélène;03/11/1982;46042;01;0;06/2026;0,00;0,00;0,00;REJET;;02/05/2026;;;",     # 3
        f"{OLD};LAFON;Pierre;12/04/1954;46042;01;0;06/2026;0,00;0,00;0,00;FIN_DROIT;;15/04/2026;;;",  # 4
        f"{OLD2};LAFON;Anne;03/03/1956;46042;01;0;06/2026;0,00;0,00;0,00;INSTRUCTION;2;03/06/2026;;;",  # 5
        f"{JOB};MARTIN;Luc;10/08/1999;46042;01;0;06/2026;0,00;0,00;0,00;INSTRUCTION;3;03/06/2026;;;",  # 6
    ]
    path = tmp_path / "cnam.csv"
    path.write_bytes(b"\xef\xbb\xbf" + ("\r\n".join(rows) + "\r\n").encode("utf-8"))
    report = _ingest("cnam", path, agreement, tmp_path / "ws")
    assert (report.rows_read, report.rows_accepted, report.rows_quarantined) == (5, 4, 1)
    q = _table(report, "quarantine")
    assert q.select("line", "column").rows() == [(6, "CSS_PRESTATION")]
    assert _table(report, "listings").height == 4      # every accepted line's month listed
    claims = _table(report, "claims").select(pl.col("benefit").cast(pl.String), pl.col("event").cast(pl.String),
                                             "event_date")
    assert sorted(claims.rows()) == sorted([
        ("css_free", "pending", dt.date(2026, 6, 1)), ("css_participation", "pending", dt.date(2026, 6, 1)),
        ("css_free", "refused", dt.date(2026, 5, 2)), ("css_participation", "refused", dt.date(2026, 5, 2)),
        ("css_free", "closed", dt.date(2026, 4, 15)), ("css_participation", "closed", dt.date(2026, 4, 15)),
        ("css_participation", "pending", dt.date(2026, 6, 3))])


def test_a_birth_date_given_as_a_year_alone_is_marked_estimated(agreement: ExchangeAgreement,
                                                                 tmp_path: Path) -> None:
    """« 19610000 », « 19619999 » and « 1961 » give the year only: December is kept (the civil-status convention)
    and ``birth_month_estimated`` says it is no agency's statement, so the core prefers a month another agency
    states; an unknown day alone keeps a stated month (false). The agreement lists ``birth_month``: its qualifier
    goes with it (``schemas.QUALIFIERS``), no agreement needs a new line."""
    births = ["19610000", "19619999", "1961", "19610400", "19610415"]
    people = [nir(f"1610{k + 1}46042{k:03d}") for k in range(len(births))]
    rows = [CNAV_HEAD] + [f"{p};MARTIN;Émile;{b};1;FR;;N;R{k};202001;TI;46100;46102;202605;700.00;640.00;0;;"
                          for k, (p, b) in enumerate(zip(people, births, strict=True))]
    path = tmp_path / "cnav.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert "birth_month_estimated" not in agreement.agencies["cnav"].tables["persons"]
    report = _ingest("cnav", path, agreement, tmp_path / "ws")
    assert report.rows_quarantined == 0
    got = _table(report, "persons").sort("birth_month", "birth_month_estimated")
    assert got.select("birth_month", "birth_month_estimated").rows() == [
        (dt.date(1961, 4, 1), False), (dt.date(1961, 4, 1), False),
        (dt.date(1961, 12, 1), True), (dt.date(1961, 12, 1), True), (dt.date(1961, 12, 1), True)]
