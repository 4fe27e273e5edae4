"""The leak scanner finds NIR-shaped strings and names in texts, files and Parquet, and not pseudonyms."""

from __future__ import annotations

import polars as pl
from tests.privacy.test_nir import with_key

from nonrecours.privacy import find_leaks

NIR = with_key("1850578006084")
SPACED = f"{NIR[0]} {NIR[1:3]} {NIR[3:5]} {NIR[5:7]} {NIR[7:10]} {NIR[10:13]} {NIR[13:]}"
CORSE = with_key("253072B073004")


def test_texts_in_every_shape() -> None:
    for text in (NIR, f"nir={NIR};", SPACED, SPACED.replace(" ", "."), CORSE, CORSE.lower(),
                 f'{{"id": "{NIR[:-1]}0"}}'):  # a typo'd key is still a raw identifier
        leaks = find_leaks(text)
        assert [leak.kind for leak in leaks] == ["nir"], text
        assert NIR not in str(leaks[0]) and SPACED not in str(leaks[0])


def test_pseudonyms_and_other_numbers_are_not_leaks() -> None:
    hexy = "ab" + "1850578006084" + "77" + "cd" * 24  # 64 hex chars holding 15 digits in a row
    assert find_leaks([hexy, "row 1234567890", "2026-11-22T06:50:05", "amount 185057800.60"]) == []
    assert find_leaks(with_key("1850578006084"), valid_key_only=True)
    # the fraction digits of a decimal are not a NIR, even 15 of them (a recall 20/73 written in full) ...
    assert find_leaks(['data-value="0.273972602739726"', f"rate {0.1 + int(NIR) / 10**15!r}"]) == []
    # ... but a NIR after a separator or a comma (a comma-separated file) still is
    assert all(find_leaks(t) for t in (f"42,{NIR}", f"x.{NIR}", f"; {NIR}", f"1. {NIR}"))
    assert not find_leaks(NIR[:-2] + ("00" if NIR[-2:] != "00" else "01"), valid_key_only=True)


def test_names_whole_words_case_insensitive() -> None:
    texts = ["Bonjour MARIE-Claire", "Mariette", "jean-pierre est là"]
    leaks = find_leaks(texts, ["Marie", "Jean-Pierre", "Al"])
    assert [(leak.kind, leak.masked) for leak in leaks] == [("name", "MA***"), ("name", "je*********")]


def test_files_folders_and_parquet(tmp_path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "report.json").write_text('{"rows": 3}')
    (tmp_path / "run.log").write_bytes(f"ligne 1\nerreur pour Zoé {SPACED}\n".encode("latin-1"))
    pl.DataFrame({"a": ["ok", f"x {NIR}"], "n": [1, int(NIR)], "who": ["-", "Zoé"]}).write_parquet(
        tmp_path / "out" / "t.parquet")
    leaks = find_leaks([tmp_path], ["Zoé"])
    places = sorted((leak.source.rsplit("/", 1)[-1], leak.kind, leak.column, leak.line) for leak in leaks)
    assert places == [("run.log", "name", None, 2), ("run.log", "nir", None, 2),
                      ("t.parquet", "name", "who", 1), ("t.parquet", "nir", "a", 1),
                      ("t.parquet", "nir", "n", 1)]
    assert find_leaks([tmp_path / "out" / "report.json"], ["Zoé"]) == []


def test_pseudonymised_output_is_clean_but_raw_input_is_not(tmp_path, pseudonym_key, caf_return_key) -> None:
    from nonrecours.privacy import issue_return_tokens, pseudonymise

    nirs = [with_key(f"{s}85057800{i:04d}") for s in (1, 2) for i in range(200)]
    raw = pl.DataFrame({"nir": nirs, "prenom": ["Zoé", "Marius"] * 200, "rec": [f"CAF{i:07d}" for i in range(400)]})
    raw.write_csv(tmp_path / "raw.csv")
    assert len(find_leaks([tmp_path / "raw.csv"], ["Zoé", "Marius"])) == 800
    out = pseudonymise(raw.drop("prenom"), "nir", pseudonym_key, kind_column="nir_kind")
    out = issue_return_tokens(out, "rec", caf_return_key)
    assert out.columns == ["person_id", "person_id_key_id", "nir_reason", "nir_kind", "return_token",
                           "return_key_id"]
    out.write_parquet(tmp_path / "persons.parquet")
    out.write_csv(tmp_path / "persons.csv")
    (tmp_path / "run.log").write_text(f"{out.height} rows, key {pseudonym_key!r}\n{out.head(3)}\n")
    assert find_leaks([tmp_path / "persons.parquet", tmp_path / "persons.csv", tmp_path / "run.log"],
                      ["Zoé", "Marius"]) == []


def test_a_name_spelled_by_a_token_is_chance_but_a_joined_name_is_a_leak(tmp_path) -> None:
    # a return token of a CI run spelled « -RoSe- » between random parts (base64url of AES-SIV output)
    token = "q3Xv9_kP2mZ-RoSe-w8Jt4Lr0aYc7Nf1bUe5Hs"
    assert find_leaks([f"token {token}", token], ["Rose"]) == []
    pl.DataFrame({"return_token": [token, "Rose-Dupont-1985-03-12"]}).write_parquet(tmp_path / "t.parquet")
    leaks = find_leaks([tmp_path / "t.parquet"], ["Rose"])
    assert [(leak.column, leak.line) for leak in leaks] == [("return_token", 1)]
    assert len(find_leaks(["Rose-Dupont-1985-03-12", "ROSE,q3Xv9kP2mZw8Jt4Lr0aYc7Nf1bUe5Hs"], ["Rose"])) == 2


def test_a_pseudonym_looked_for_is_found_even_inside_a_token() -> None:
    pseudonym = "5d1e0c3b9a7f4e2d8c6b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d"
    assert len(find_leaks([f"known_to,{pseudonym}", f"tok-{pseudonym}-x9"], [pseudonym])) == 2
