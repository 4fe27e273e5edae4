"""A quarantined member line with an unusable NIR still says its dossier has a member in that role."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from stdnum.fr.nir import calc_check_digits

from nonrecours.connectors import default_mapping, ingest
from nonrecours.privacy import ExchangeAgreement, find_leaks, pseudonymise

_HEADER = ("NUM_DOSSIER;NIR;NOM;PRENOM;DATE_NAISSANCE;SEXE;LIEN;NATIONALITE;ANNEES_TITRE_SEJOUR;TAUX_INCAPACITE;"
           "ETUDIANT;GROSSESSE;STATUT;CODE_COMMUNE;DATE_AFFILIATION;PERIODE;NATURE;MONTANT;PRESTATION;DATE_EVENEMENT")


def _nir(body: str) -> str:
    return body + calc_check_digits(body)


def test_quarantined_conjoint_line_keeps_its_membership_without_the_nir(agreement: ExchangeAgreement,
                                                                        tmp_path: Path) -> None:
    demandeur, conjoint, child = _nir("1590946042001"), _nir("2610346042002"), _nir("1150446042003")
    bad = conjoint[:-2] + f"{(int(conjoint[-2:]) + 1) % 97:02d}"  # a typo in the check key
    lines = [_HEADER,
             f"M1;{demandeur};A;B;05/09/1959;M;ASS;FR;;0;N;N;EXP;46042;2023-01;2025-06;MEMBRE;0;;",
             f"M1;{bad};A;C;05/03/1961;F;CJT;FR;;0;N;N;EXP;46042;2023-01;2025-06;MEMBRE;0;;",
             f"M1;{child};A;D;05/04/2015;M;ENF;FR;;0;N;N;EXP;46042;2023-01;2025-06;MEMBRE;0;;",
             "M2;;E;F;05/04/1980;F;CJT;FR;;0;N;N;EXP;46042;2023-01;2025-06;MEMBRE;0;;",   # missing NIR
             f"M3;{_nir('1800146042004')};G;H;01/01/1980;M;ASS;FR;;0;N;N;EXP;46042;2023-01;2025-06;MEMBRE;0;;",
             "M3;;G;I;01/01/1980;F;XXX;FR;;0;N;N;EXP;46042;2023-01;2025-06;MEMBRE;0;;",  # role unreadable
             "M4;;J;K;31/02/1982;F;CJT;FR;;0;N;N;EXP;46100;2023-01;2025-06;MEMBRE;0;;"]  # no NIR, no such day
    src = tmp_path / "msa.csv"
    src.write_bytes(("\n".join(lines) + "\n").encode("cp1252"))
    report = ingest(src, default_mapping("msa"), agreement, tmp_path / "ws", extract_id="e1")
    # the lines stay quarantined: rows in = accepted + quarantined, unchanged
    assert (report.rows_read, report.rows_accepted, report.rows_quarantined) == (7, 3, 4)
    lost = pl.read_parquet(report.outputs["unidentified_members"])
    # the conjoint of M1 (bad key), M2 and M4 (no NIR), in the famille and the ménage; not M3's unreadable role
    assert report.unidentified_members == lost.height == 6
    assert sorted(lost.get_column("reason").unique()) == ["invalid NIR check key", "missing NIR"]
    assert set(lost.get_column("role").cast(pl.String)) == {"conjoint"}
    assert set(lost.get_column("unit_kind").cast(pl.String)) == {"famille", "menage"}
    # the unit id is the pseudonym the accepted rows of the same dossier carry
    members = pl.read_parquet(tmp_path / "ws" / "unit_memberships" / "msa-e1.parquet")
    m1 = members.filter(pl.col("unit_kind") == "famille").get_column("unit_id").unique().to_list()
    assert lost.filter(pl.col("line") == 3, pl.col("unit_kind") == "famille").get_column("unit_id").to_list()[0] in m1
    assert set(lost.columns) == {"line", "unit_kind", "unit_id", "role", "valid_from", "valid_to", "reason",
                                 "birth_month", "sex", "depcom", "nir_neighbours", "source_agency", "extract_id",
                                 "extract_date"}
    # what the line says of its member besides the NIR: birth month, sex, commune; a value that fails is unknown
    # (null), and the membership stays (M4's 31 February)
    described = {r["line"]: (r["birth_month"], r["sex"], r["depcom"])
                 for r in lost.filter(pl.col("unit_kind") == "famille").to_dicts()}
    assert {k: (v[0].isoformat() if v[0] else None, str(v[1]), v[2]) for k, v in described.items()} == {
        3: ("1961-03-01", "F", "46042"), 5: ("1980-04-01", "F", "46042"), 8: (None, "F", "46100")}
    # the number whose key failed: the conjoint's own is among the valid numbers a slip away, as its pseudonym
    # (what any agency holding her valid number has); a missing number has none
    near = {r["line"]: r["nir_neighbours"] for r in lost.filter(pl.col("unit_kind") == "famille").to_dicts()}
    own = pseudonymise(pl.DataFrame({"nir": [conjoint]}), "nir", agreement.pseudonym_key(),
                       key_id_column=None, reason_column=None).item()
    assert own in near[3] and len(near[3]) <= 4
    assert near[5] == near[8] == []
    # no raw identifier anywhere: neither NIR (the bad one included) nor dossier number
    text = lost.with_columns(pl.col("nir_neighbours").list.join(",")).write_csv()
    for raw in (demandeur, conjoint, bad, child, "M1", "M2"):
        assert raw not in text
    assert not find_leaks(tmp_path / "ws" / "unidentified_members")
