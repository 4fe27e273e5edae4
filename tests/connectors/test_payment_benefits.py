"""Which benefits' payments an extract carries (``ExtractMapping.payment_benefits``, recorded by ingest in each
extract's report): a CPAM file without its optional ``MONTANT_ASI`` column says nothing of the ASI paid, so the
core and detection read the ASI's payments as unknown for the people it lists, never as 0 (an outside tester's
CPAM file without the column had three ASI holders flagged « certain » and « probable » non-take-up, 7 December
2026); a negative ``MONTANT_ASI`` is a regularisation, kept (the line was quarantined, its invalidity pension
lost with it)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
from tests.connectors.test_handwritten_extracts import ABROAD, CNAM_HEAD, DAD, EXTRACT_DATE, MUM

from nonrecours.connectors import default_mapping, ingest
from nonrecours.core.workspace import recorded_layouts, workspace_core_config
from nonrecours.privacy import ExchangeAgreement

CSS = {"css_free", "css_participation"}


def _cnam(tmp: Path, with_asi: bool) -> Path:
    """Three insured persons of May 2026, one of them paid an ASI of 200 € and a regularisation of −30 € in April."""
    rows = [f"{DAD};DUPONT;Jean;12/05/1980;46042;01;0;05/2026;0,00;0,00;0,00;;;;;;",
            f"{MUM};DUPONT;Hélène;03/11/1982;46042;01;1;05/2026;0,00;0,00;0,00;;;;;;",
            f"{ABROAD};EL AMRANI;Youssef;10/03/1975;46102;01;0;05/2026;0,00;700,00;200,00;;;;;;",
            f"{ABROAD};EL AMRANI;Youssef;10/03/1975;46102;01;0;04/2026;0,00;700,00;-30,00;;;;;;"]
    head = CNAM_HEAD.split(";")
    asi = head.index("MONTANT_ASI")
    lines = [CNAM_HEAD, *rows]
    if not with_asi:
        lines = [";".join(v for i, v in enumerate(line.split(";")) if i != asi) for line in lines]
    path = tmp / ("cnam.csv" if with_asi else "cnam_sans_asi.csv")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_layouts_say_which_benefits_their_payments_carry() -> None:
    cnam = default_mapping("cnam")
    assert cnam.payment_benefits() == {"asi", *CSS}
    head = set(CNAM_HEAD.split(";"))
    assert cnam.payment_benefits(head) == {"asi", *CSS}
    assert cnam.payment_benefits(head - {"MONTANT_ASI"}) == CSS  # an optional amount column absent: not carried
    assert default_mapping("cnav").payment_benefits() == {"aspa"}
    assert {"rsa", "ppa", "af", "aah", "aspa", "asi"} <= default_mapping("msa").payment_benefits()
    caf = default_mapping("caf")  # fixed width: every field is there whatever names are given
    assert caf.payment_benefits(set()) == caf.payment_benefits() and "rsa" in caf.payment_benefits()
    assert default_mapping("france_travail").payment_benefits() <= {"are"}


def test_a_cpam_file_without_the_asi_column_leaves_the_asi_paid_unknown(agreement: ExchangeAgreement,
                                                                         tmp_path: Path) -> None:
    """Ingested with its column, the CPAM's file carries the ASI paid (the regularisation kept, negative); without
    it, the report records the CSS only, the workspace says so, and the core reads the ASI's payments as unknown:
    the CSS then counts the ASI the rules compute, and no famille is read as paid « no ASI »."""
    from nonrecours.core import CoreConfig, build_inputs
    from nonrecours.detection.receipts import payments_known

    with_asi = tmp_path / "with"
    report = ingest(_cnam(tmp_path, True), default_mapping("cnam"), agreement, with_asi, extract_date=EXTRACT_DATE)
    assert report.payment_benefits == sorted({"asi", *CSS})
    assert report.rows_read == report.rows_accepted + report.rows_quarantined and report.rows_quarantined == 0
    paid = pl.read_parquet(report.outputs["benefits_paid"]).filter(pl.col("benefit").cast(pl.String) == "asi")
    assert sorted(paid.get_column("amount").cast(pl.Float64).to_list()) == [-30.0, 200.0]
    assert recorded_layouts(with_asi).payment_benefits.by_agency == {"cnam": tuple(sorted({"asi", *CSS}))}

    without = tmp_path / "without"
    report = ingest(_cnam(tmp_path, False), default_mapping("cnam"), agreement, without, extract_date=EXTRACT_DATE)
    assert report.payment_benefits == sorted(CSS)
    assert recorded_layouts(without).payment_benefits.by_agency == {"cnam": tuple(sorted(CSS))}
    config = workspace_core_config(without)
    assert config.payment_benefits == {"cnam": tuple(sorted(CSS))}

    tables = {t: pl.read_parquet(f) for t in ("persons", "benefits_paid", "resources")
              if (f := next((without / t).glob("*.parquet"), None)) is not None}
    month = dt.date(2026, 5, 1)
    assert payments_known(tables, ("asi", "css_free"), carried=config.payment_benefits) == {"asi": False,
                                                                                          "css_free": True}
    assert payments_known(tables, ("asi", "css_free")) == {"asi": True, "css_free": True}  # the record ignored
    read = build_inputs(tables, month, config=config)
    assert read.famille["asi_versee_connue"].to_list() == [False] * read.famille.height
    blind = build_inputs(tables, month, config=CoreConfig(payment_extracts=("cnam",)))
    assert blind.famille["asi_versee_connue"].to_list() == [True] * blind.famille.height
