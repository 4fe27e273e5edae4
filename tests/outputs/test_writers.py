"""The CSV reads back as a French spreadsheet reads it: `;`, BOM, decimal comma, dd/mm/yyyy, accents intact."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nonrecours.outputs.writers import BOM, read_french_csv, write_french_csv, write_parquet, write_table


@pytest.fixture
def table() -> pl.DataFrame:
    return pl.DataFrame({
        "commune": ["Cahors", "Saint-Cirq-Lapopie", "Bouziès; \"le bas\""],
        "prestation": ["prime d'activité", "complémentaire santé solidaire", "RSA"],
        "montant": [1234.56, 0.5, 612.0],
        "unites": [12, 0, 3],
        "mois": [dt.date(2026, 6, 1), dt.date(2026, 1, 31), None],
        "raisons": [["âge ≥ 65 ans", "ressources < plafond"], [], ["œuvre"]],
        "certain": [True, False, None],
    })


def test_csv_reads_back_as_a_french_spreadsheet(tmp_path, table):
    path = write_french_csv(table, tmp_path / "t.csv")
    raw = path.read_bytes()
    assert raw.startswith(BOM) and raw[3:].startswith(b"commune;prestation;montant;")
    text = raw[3:].decode("utf-8")
    assert "1234,56" in text and "1234.56" not in text
    assert "30/06/2026" not in text and "01/06/2026" in text and "31/01/2026" in text
    back = pl.read_csv(path, separator=";", decimal_comma=True, encoding="utf8")
    assert back.columns == table.columns  # the BOM does not end up in the first header
    assert back.get_column("commune").to_list() == table.get_column("commune").to_list()
    assert back.get_column("prestation").to_list() == table.get_column("prestation").to_list()
    assert back.get_column("montant").to_list() == [1234.56, 0.5, 612.0]
    assert back.get_column("unites").to_list() == [12, 0, 3]
    assert back.get_column("raisons").to_list() == ["âge ≥ 65 ans | ressources < plafond", "", "œuvre"]
    assert back.get_column("certain").to_list() == ["oui", "non", None]


def test_write_is_atomic_and_leaves_no_temporary(tmp_path, table):
    target = tmp_path / "sub" / "t.parquet"
    write_parquet(table, target)
    write_parquet(table.head(1), target)  # replaced, not appended
    assert pl.read_parquet(target).height == 1
    assert sorted(p.name for p in target.parent.iterdir()) == ["t.parquet"]


def test_failed_write_keeps_the_previous_file(tmp_path, table):
    target = tmp_path / "t.csv"
    write_french_csv(table, target)
    before = target.read_bytes()
    with pytest.raises(TypeError):
        write_french_csv(pl.DataFrame({"s": [{"a": 1}]}), target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]


def test_write_table_writes_both(tmp_path, table):
    paths = write_table(table, tmp_path, "stats")
    assert pl.read_parquet(paths["parquet"]).equals(table)
    assert paths["csv"].read_bytes().startswith(BOM)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
                                  min_size=1, max_size=12),
                          st.decimals(min_value=-10**7, max_value=10**7, places=2, allow_nan=False)),
                min_size=1, max_size=20))
def test_any_text_and_amount_round_trip(tmp_path_factory, rows):
    frame = pl.DataFrame({"texte": [r[0] for r in rows], "montant": [float(r[1]) for r in rows]})
    path = write_french_csv(frame, tmp_path_factory.mktemp("h") / "t.csv")
    back = pl.read_csv(path, separator=";", decimal_comma=True, encoding="utf8",
                       schema={"texte": pl.String, "montant": pl.Float64})
    assert back.get_column("montant").to_list() == frame.get_column("montant").to_list()
    # no cell a spreadsheet would evaluate: what starts like a formula went out behind an apostrophe
    assert not back.get_column("texte").str.contains(r"^[=+\-@\t\r]").any()
    # read back as written: a spreadsheet trims nothing inside quotes; Polars reads empty-looking cells as null
    texts = read_french_csv(path).get_column("texte").to_list()
    assert [t or "" for t in texts] == frame.get_column("texte").to_list()


@pytest.mark.parametrize("text", ["-Xa9_b", "=HYPERLINK(\"http://x\")", "+33 6", "@SUM(A1)", "\tcaché",
                                  "'=déjà", "''-deux"])
def test_a_formula_like_cell_goes_out_as_text_and_comes_back(tmp_path, text):
    """A return token « -Xa9… » or an extract's « =HYPERLINK(…) » is text to the spreadsheet (OWASP's apostrophe),
    and comes back as it was, even a cell that started with an apostrophe already."""
    frame = pl.DataFrame({"token": [text, "ordinaire"], "liste": [[text], ["a"]], "montant": [-12.5, 3.0]})
    path = write_french_csv(frame, tmp_path / "t.csv")
    raw = pl.read_csv(path, separator=";", infer_schema=False)
    assert raw.get_column("token").to_list() == ["'" + text, "ordinaire"]
    assert raw.get_column("liste").to_list() == ["'" + text, "a"]
    assert raw.get_column("montant").to_list() == ["-12,5", "3,0"]  # a number stays a number
    back = read_french_csv(path)
    assert back.get_column("token").to_list() == [text, "ordinaire"]
    assert back.get_column("liste").to_list() == [text, "a"]


def _as_spreadsheet_reads(csv_path, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """The CSV as a French spreadsheet reads it: `;`, UTF-8 (its BOM is not a character of the first header),
    decimal comma for the numeric columns, everything else as text."""
    numeric = {n: (pl.Float64 if d.is_float() else pl.Int64) for n, d in schema.items() if d.is_numeric()}
    return pl.read_csv(csv_path, separator=";", decimal_comma=True, encoding="utf8",
                       schema={n: numeric.get(n, pl.String) for n in schema})


def test_the_demos_csvs_read_back_as_their_parquet(demo_run):
    """Every table the demo's outputs stage wrote (outreach lists, statistics, the three answers, the headline)
    reads back from its CSV with the Parquet's text, accents and amounts: numbers to 4 decimals, booleans
    oui/non, dates dd/mm/yyyy, lists joined with « | »."""
    folder = demo_run / "outputs" / "2026-06"
    csvs = sorted(folder.glob("*.csv"))
    stems = {p.stem for p in csvs}
    assert {"statistics", "outreach_caf", "answer1_data_to_exchange", "answer2_claim_fields_held",
            "answer2_non_take_up", "answer3_automation", "headline"} <= stems, stems
    accents = 0
    for csv_path in csvs:
        parquet = pl.read_parquet(csv_path.with_suffix(".parquet"))
        assert csv_path.read_bytes().startswith(BOM), csv_path.name
        back = _as_spreadsheet_reads(csv_path, parquet.schema)
        assert back.columns == parquet.columns and back.height == parquet.height, csv_path.name
        for name, dtype in parquet.schema.items():
            ours, read = parquet.get_column(name), back.get_column(name)
            if dtype.is_float():
                assert ((read - ours.round(4)).abs() < 1e-9).all(), (csv_path.name, name)
                assert read.is_null().to_list() == ours.is_null().to_list(), (csv_path.name, name)
            elif dtype.is_integer():
                assert read.to_list() == ours.to_list(), (csv_path.name, name)
            elif dtype == pl.Boolean:
                assert read.to_list() == [None if v is None else ("oui" if v else "non") for v in ours], name
            elif dtype == pl.Date:
                assert read.to_list() == [None if v is None else f"{v:%d/%m/%Y}" for v in ours], name
            elif isinstance(dtype, pl.List):
                assert [v.split(" | ") if v else [] for v in read] == \
                    [[] if v is None else [str(x) for x in v] for v in ours.to_list()], (csv_path.name, name)
            else:  # a cell a spreadsheet would take for a formula went out behind an apostrophe
                assert [(v or "").removeprefix("'") if (v or "").startswith(("'-", "'=", "'+", "'@")) else v or ""
                        for v in read] == [v or "" for v in ours], (csv_path.name, name)
                accents += sum(any(c in v for c in "éèàçôœ€") for v in ours.drop_nulls())
    assert accents > 100  # French text went through: labels, reasons, questions
