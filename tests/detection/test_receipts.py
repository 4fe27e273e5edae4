"""Who receives a benefit paid by the person's own health insurance fund is only observed for people a fund knows."""

from __future__ import annotations

import polars as pl

from nonrecours.detection.receipts import payer_unknown


def test_css_receipt_is_unknown_for_a_famille_no_health_fund_knows():
    individu = pl.DataFrame({"person_id": ["a", "b", "k", "c"], "famille_id": ["F1", "F1", "F1", "F2"],
                             "famille_role": ["demandeur", "conjoint", "enfant", "demandeur"]})
    tables = {
        # the CNAM knows the conjoint of F1 (enough: the famille's CSS rows would name them); nobody knows c
        "persons": pl.LazyFrame({"person_id": ["b", "c"], "source_agency": ["cnam", "caf"]}),
        "benefits_paid": pl.LazyFrame({"person_id": [None, "k"], "source_agency": ["caf", "msa"]},
                                      schema={"person_id": pl.String, "source_agency": pl.String}),
    }
    out = payer_unknown(tables, individu, ("rsa", "css_free", "css_participation"))
    assert sorted(out.rows()) == [("F2", "css_free"), ("F2", "css_participation")]
    # no health fund's extract at all: the receipt is unknown for everyone, never an observed "not paid"
    none = payer_unknown({"persons": pl.LazyFrame({"person_id": ["a"], "source_agency": ["caf"]})}, individu,
                         ("css_free",))
    assert sorted(none["famille_id"]) == ["F1", "F2"]


def test_a_fund_whose_lines_of_a_person_stopped_months_ago_no_longer_knows_her():
    """probe9_msa's H6: a mother paid the RSA by the MSA until January, at the CAF since February; in June the MSA's
    file still holds her January lines, and no health fund lists her since. The MSA does not tell whether she
    receives the CSS in June: her famille's CSS receipt is unknown (possible at most), not an observed « no CSS »
    (which made her free CSS ``certain``). A fund's lately dated line, a dossier of the fund now, or a member row
    with no dated line at all still count."""
    import datetime as dt

    individu = pl.DataFrame({"person_id": ["h6", "farmer", "insured", "member"],
                             "famille_id": ["caf:C6", "msa:M1", "caf:C7", "msa:M2"],
                             "famille_role": ["demandeur"] * 4})
    month = dt.date(2026, 6, 1)
    tables = {
        "persons": pl.LazyFrame({"person_id": ["h6", "farmer", "insured", "member"],
                                 "source_agency": ["msa", "msa", "cnam", "msa"]}),
        "benefits_paid": pl.LazyFrame({"person_id": ["h6", "farmer"], "source_agency": ["msa", "msa"],
                                       "month": [dt.date(2026, 1, 1), dt.date(2025, 7, 1)]}),
        "listings": pl.LazyFrame({"person_id": ["insured"], "source_agency": ["cnam"], "month": [dt.date(2026, 4, 1)]}),
    }
    lately = payer_unknown(tables, individu, ("css_free",), month, sent={"msa", "cnam", "caf"}, lately=3)
    assert lately.rows() == [("caf:C6", "css_free")]
    # a fund's lines of any month, as before: the MSA knows her
    assert payer_unknown(tables, individu, ("css_free",), month, sent={"msa", "cnam", "caf"}).is_empty()
