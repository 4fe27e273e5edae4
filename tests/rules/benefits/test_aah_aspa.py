"""The AAH beside the ASPA (CSS art. L821-1 as amended by loi n° 2016-1917 du 29 décembre 2016, art. 87): "lorsque
cet avantage ou le montant mensuel perçu au titre de l'allocation de solidarité aux personnes âgées ... est d'un
montant inférieur à celui de l'allocation aux adultes handicapés, celle-ci s'ajoute à la prestation sans que le
total des deux avantages puisse excéder le montant de l'allocation aux adultes handicapés". So the AAH is at most
its amount less the claimant's old-age benefits received (retirement pension and ASPA), and the two allowances
never add up beyond the AAH amount. A claimant at 80 % or more past the legal retirement age need not claim the
ASPA first (same law): an ASPA known not paid does not reduce the AAH. Situations of an outside tester (probe of
6 December 2026, cases2 ``b01``, cases5 ``g05``); May 2026: AAH amount 1,041.59 EUR (décret n° 2026-229), ASPA
12,523.14 EUR a year for a single person (1,043.595 a month), couple ceiling 19,442.21 EUR (1,620.184 a month).
OpenFisca-France 176.1.8 pays both in full (docs/oracle_disagreements.md, "The AAH beside the ASPA")."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from nonrecours.engine import Inputs, evaluate
from nonrecours.simulation import load_situations, simulate

MONTH = "2026-05"
HOUSING = {"status": "tenant", "rent": 450}
PAID = {"main": {"af": 0.0, "paje_base": 0.0, "asf": 0.0, "aide_logement": 250}}


def _situation(sid: str, persons: list[dict], **extra: object) -> dict:
    return {"id": sid, "month": MONTH, "depcom": "46042", "housing": HOUSING, "persons": persons,
            "benefits_paid": PAID, **extra}


def _records(sit: dict) -> dict:
    (rec,) = simulate([sit]).records()
    return rec


def test_b01_no_pension_the_aspa_leaves_no_aah() -> None:
    """b01: 66, 85 %, no pension. ASPA 1,043.595 (no resources); AAH = max(0, 1,041.59 - 1,043.595) = 0. Before
    the fix: AAH 1,041.59 and ASPA 1,043.60 in the same month (2,085.19 EUR)."""
    rec = _records(_situation("b01", [{"role": "parent", "age": 66, "disability_rate": 0.85}]))
    assert rec["aspa"] == pytest.approx(1043.60, abs=0.01)
    assert rec["aah"] == 0.0


def test_g05_pension_of_400_aah_tops_pension_and_aspa_up_to_its_amount() -> None:
    """g05: 66, 85 %, retirement pension 400 EUR net (431.965 gross, 400 / 0.926). ASPA = 1,043.595 - 431.965 =
    611.63; AAH = min(629.06 (the differential amount), 1,041.59 - 400 - 611.63) = 29.96: pension + ASPA + AAH =
    1,041.59, the AAH amount. Before the fix: AAH 629.06 beside the ASPA (1,640.69 EUR in all)."""
    rec = _records(_situation("g05", [{"role": "parent", "age": 66, "monthly": {"pension": 400},
                                       "disability_rate": 0.85}]))
    assert rec["aspa"] == pytest.approx(611.63, abs=0.01)
    assert rec["aah"] == pytest.approx(29.96, abs=0.01)


def test_couple_the_spouses_aah_counts_in_the_aspa_and_the_aspa_reduces_the_holders_aah() -> None:
    """A claimant of 70 at 85 % without pension, a spouse of 50 at 85 % without resources, whose AAH the ASPA
    counts (the spouse is not entitled to the ASPA): over February to April, (2 x 1,033.32 + 1,041.59) / 3 =
    1,036.077 a month. ASPA (one holder, couple ceiling) = 1,043.595 - (1,036.077 + 1,043.595 - 1,620.184) =
    584.107; the holder's AAH = 1,041.59 - 584.107 = 457.48, the spouse's unchanged (1,041.59). Before the fix:
    1,041.59 each."""
    rec = _records(_situation("couple", [{"role": "parent", "age": 70, "disability_rate": 0.85},
                                         {"role": "parent", "age": 50, "disability_rate": 0.85}],
                              couple="married"))
    assert rec["aspa"] == pytest.approx(584.11, abs=0.01)
    assert rec["aah"] == pytest.approx(457.48 + 1041.59, abs=0.02)


def _evaluate_with_aspa_paid(persons: list[dict], paid: float) -> dict:
    """The rules as detection runs them: the CNAV's ASPA payments known for the month (``paid`` EUR)."""
    batch = load_situations([_situation("s", persons)])
    assert not batch.errors
    month = dt.date(2026, 5, 1)
    frames = batch.frames_for_month(month)
    for name, frame in frames.items():
        if "aspa_versee_connue" in frame.columns:
            frames[name] = frame.with_columns(pl.lit(True).alias("aspa_versee_connue"))
        if "aspa_versee" in frame.columns:
            frames[name] = frames[name].with_columns(pl.lit(paid).alias("aspa_versee"))
    res = evaluate(["aah_famille", "aspa", "aspa_percue"], Inputs(**frames), month, missing_inputs="default")
    return res["famille"].row(0, named=True)


def test_an_aspa_not_taken_up_does_not_reduce_the_aah_at_80_percent() -> None:
    """Known not paid: a claimant at 85 % need not claim the ASPA (L821-1, loi n° 2016-1917 art. 87), the AAH stays
    1,041.59 (the ASPA due, 1,043.60, remains for detection); paid in full, the AAH is 0."""
    person = [{"role": "parent", "age": 66, "disability_rate": 0.85}]
    not_taken = _evaluate_with_aspa_paid(person, 0.0)
    assert not_taken["aspa"] == pytest.approx(1043.595, abs=0.01)
    assert not_taken["aah_famille"] == pytest.approx(1041.59, abs=0.01)
    taken = _evaluate_with_aspa_paid(person, 1043.60)
    assert taken["aah_famille"] == 0.0


def test_below_80_percent_the_aspa_due_reduces_the_aah() -> None:
    """64, 60 % with RSDAE: the AAH runs to the legal retirement age (64 here, L821-2) and the ASPA opens at it for a
    rate of 50 % (L815-1, R815-2). Below 80 % the ASPA is still an old-age benefit to claim first, so the AAH is
    reduced by the ASPA due even when none is paid: max(0, 1,041.59 - 1,043.595) = 0."""
    person = [{"role": "parent", "age": 64, "disability_rate": 0.6, "rsdae": True}]
    row = _evaluate_with_aspa_paid(person, 0.0)
    assert row["aspa"] == pytest.approx(1043.595, abs=0.01)
    assert row["aspa_percue"] == 0.0
    assert row["aah_famille"] == 0.0


def _replaced(persons: list[dict], aah_paid: float | None) -> float:
    """``aah_remplacee_par_aspa`` with the ASPA known not paid and the AAH paid ``aah_paid`` (None: not known, the
    AAH computed stands for the AAH received)."""
    batch = load_situations([_situation("s", persons)])
    month = dt.date(2026, 5, 1)
    frames = batch.frames_for_month(month)
    known = {"aspa_versee_connue": True, "aspa_versee": 0.0}
    if aah_paid is not None:
        known |= {"aah_versee_connue": True, "aah_versee": aah_paid}
    for name, frame in frames.items():
        frames[name] = frame.with_columns(pl.lit(v).alias(c) for c, v in known.items() if c in frame.columns)
    res = evaluate(["aah_remplacee_par_aspa"], Inputs(**frames), month, missing_inputs="default")
    return res["famille"].row(0, named=True)["aah_remplacee_par_aspa"]


def test_the_aah_an_aspa_claim_would_take_the_place_of() -> None:
    """At 85 %, no ASPA paid: b01 (no pension) would see its 1,041.59 of AAH fall to 0 with the ASPA due (1,043.60);
    g05 (pension 400) its 629.06 fall to 29.96, 599.10 replaced by the ASPA's 611.63; an AAH paid 100 € (the
    payer's figure, below ours) is all a claim could replace; no AAH paid, nothing; below 80 % the AAH already
    counts the ASPA due, a claim replaces nothing more."""
    b01 = [{"role": "parent", "age": 66, "disability_rate": 0.85}]
    g05 = [{"role": "parent", "age": 66, "monthly": {"pension": 400}, "disability_rate": 0.85}]
    assert _replaced(b01, None) == pytest.approx(1041.59, abs=0.01)
    assert _replaced(g05, None) == pytest.approx(629.06 - 29.96, abs=0.01)
    assert _replaced(b01, 100.0) == pytest.approx(100.0, abs=0.01)
    assert _replaced(b01, 0.0) == 0.0
    assert _replaced([{"role": "parent", "age": 64, "disability_rate": 0.6, "rsdae": True}], None) == 0.0
