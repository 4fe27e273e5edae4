"""A benefit two agencies pay (the CAF, and the MSA for farmers), in a run where one of them sent no extract: a
famille no payer that sent one has in a dossier this month may be paid by the absent one, so what it receives is
not observed; its flag is possible at most, says why, and its ``paid`` is unknown (null), not 0. A run without the
CAF's extract read every famille the CAF pays as paid nothing, and flagged their family benefits certain, one of
them on the MSA's own outreach list (an outside tester, 7 December 2026)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from nonrecours.detection import DetectionConfig, core_month, detect

from .conftest import MONTH, Territory

AF = DetectionConfig(benefits=("af",))


def _territory(*, with_caf: bool) -> dict[str, pl.DataFrame]:
    """Three familles of two children and the same income: an MSA farmer the MSA pays the AF, one it pays nothing,
    one the MSA does not know (the CNAM lists them); with ``with_caf``, a famille of the CAF too."""
    t = Territory()
    names = [("farmer", "msa"), ("unpaid_farmer", "msa"), ("elsewhere", "cnam")] + ([("cafone", "caf")]
                                                                                     if with_caf else [])
    for name, agency in names:
        t.famille(name, agency=agency, salary=1500.0)
        for k in (1, 2):
            t.child(name, k, dt.date(2016 + k, 3, 1))
            t.persons[-1]["source_agency"] = agency
            for row in t.members[-3:]:
                row["source_agency"] = agency
        t.declare(name, 18000.0)
    t.pay("farmer", "af", 153.0)
    t.paid[-1]["source_agency"] = "msa"
    return t.tables()


@pytest.fixture(scope="module")
def without_caf():
    tables = _territory(with_caf=False)
    return detect(core_month(tables, MONTH), tables, config=AF)


def _unit(run, name: str) -> dict:
    return run.units.filter(pl.col("unit_id").str.ends_with(f":f-{name}")).row(0, named=True)


def test_a_famille_only_the_absent_payer_may_pay_is_possible_with_its_payment_unknown(without_caf):
    unit = _unit(without_caf, "elsewhere")
    assert (unit["status"], unit["grade"]) == ("non_take_up", "possible")
    assert unit["paid"] is None and unit["paid_before"] is None  # unknown, not « paid 0 »
    flag = without_caf.flags.filter(pl.col("unit_id").str.ends_with(":f-elsewhere")).row(0, named=True)
    assert flag["paid"] is None
    why = [r for r in flag["reasons"] if r.startswith("Signalement ramené")]
    assert why and "(la CAF ou la MSA) n'a pas transmis d'extrait" in why[0], flag["reasons"]
    assert without_caf.summary["downgraded_by_payer_absent"] == {"af": 1}


def test_the_present_payers_familles_keep_their_verdicts(without_caf):
    # the MSA reports every payment of its dossiers: one it pays nothing is a non-take-up it observes
    unpaid = _unit(without_caf, "unpaid_farmer")
    assert (unpaid["status"], unpaid["grade"], unpaid["paid"]) == ("non_take_up", "certain", 0.0)
    paid = _unit(without_caf, "farmer")
    assert (paid["status"], paid["paid"]) == ("consistent", 153.0)


def test_with_every_payer_present_a_famille_none_lists_is_paid_nothing():
    """The CAF's extract came: a famille it does not list is not paid by it (every allocataire is in its file)."""
    tables = _territory(with_caf=True)
    run = detect(core_month(tables, MONTH), tables, config=AF)
    unit = _unit(run, "elsewhere")
    assert (unit["status"], unit["grade"], unit["paid"]) == ("non_take_up", "certain", 0.0)
    assert run.summary["downgraded_by_payer_absent"] == {"af": 0}


def test_a_part_of_a_partitioned_run_reads_the_payers_of_the_whole_population():
    """A part holding no CAF dossier (a partitioned run splits the population by household cluster) must not read
    the CAF as absent: it is told which agencies sent an extract over the whole population."""
    from nonrecours.detection.receipts import agencies_sent

    tables = _territory(with_caf=True)
    gone = pl.col("person_id").str.contains("cafone")
    part = {name: (frame.filter(~gone) if "person_id" in frame.columns else frame) for name, frame in tables.items()}
    part["benefits_paid"] = tables["benefits_paid"].filter(~pl.col("unit_id").str.contains("cafone"))
    part["housing"] = tables["housing"].filter(~pl.col("menage_id").str.contains("cafone"))
    whole = frozenset(agencies_sent(tables))
    assert "caf" in whole and "caf" not in agencies_sent(part)
    run = detect(core_month(part, MONTH), part, config=AF, sent=whole)
    assert (_unit(run, "elsewhere")["grade"], _unit(run, "elsewhere")["paid"]) == ("certain", 0.0)
    alone = detect(core_month(part, MONTH), part, config=AF)  # read on the part alone: the CAF looks absent
    assert _unit(alone, "elsewhere")["grade"] == "possible"
