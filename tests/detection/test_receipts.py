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
