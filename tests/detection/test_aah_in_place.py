"""The ASPA an AAH already pays. Since loi n° 2016-1917 (art. 87), an AAH holder at 80 % or more past the legal
retirement age need not claim the ASPA (CSS art. L821-1: the ASPA is no longer an old-age benefit the AAH is
subsidiary to), and if he claims it the AAH « s'ajoute à la prestation sans que le total des deux avantages puisse
excéder le montant de l'allocation aux adultes handicapés »: the ASPA takes the place of as much AAH. On the CI demo
(2026-06) three pensioners at 80 % paid about 400 € of AAH were « ASPA certain » for about 400 € a month, a claim that
would have added 0.08 to 0.11 € (and made the allowance recoverable on the estate, CSS art. L815-13). Where what a
claim adds is not clearly more than nothing (the under-payment's thresholds), the flag is possible at most, the net
gain said; a holder whose AAH received is small beside the ASPA due keeps the grade."""

from __future__ import annotations

import polars as pl
import pytest

from nonrecours.detection import DetectionConfig, core_month, detect

from .conftest import FIRST, MONTH, MONTHS, Territory, benefit_row, flag_row


def _territory() -> dict[str, pl.DataFrame]:
    """Singles of 68, tenants, no pension, no ASPA paid: ``full``, 85 %, paid the AAH in full (1,041.59 € from April
    2026, 1,033.32 € before); ``small``, 85 %, paid 100 € of AAH (the CAF's figure, below ours); ``none``, no
    disability, nothing paid; and a pensioner the CNAV pays a pension of 500 € and an ASPA of 300 € a month, so that
    the CNAV's payments are in the run (whoever it pays no ASPA is paid none). The DGFiP declares no income."""
    t = Territory()
    for name, rate in (("full", 0.85), ("small", 0.85), ("none", 0.0)):
        t.famille(name, age=68)
        t.persons[-1]["disability_rate"] = rate
        t.declare(name)
    t.famille("pensioner", age=80, pension=500.0, agency="cnav")
    t.paid += [{"unit_kind": None, "unit_id": None, "person_id": "p-pensioner", "benefit": "aspa", "month": m,
                "amount": 300.0, "source_agency": "cnav"} for m in MONTHS]
    t.pay("full", "aah", 1041.59, [m for m in MONTHS if m >= MONTH.replace(month=4)])
    t.pay("full", "aah", 1033.32, [m for m in MONTHS if m < MONTH.replace(month=4)])
    t.pay("small", "aah", 100.0, MONTHS)
    return t.tables()


@pytest.fixture(scope="module")
def run():  # type: ignore[no-untyped-def]
    tables = _territory()
    return detect(core_month(tables, MONTH), tables, config=FIRST)


def test_the_aspa_of_a_holder_paid_the_aah_in_full_is_possible_with_its_net_gain(run) -> None:  # type: ignore[no-untyped-def]
    """ASPA due 1,043.60 € (12,523.14 € a year, no resources); the AAH received, 1,041.59 €, would fall to 0: a
    gain of 2.01 €, under 20 % of the ASPA and under 20 €."""
    row = benefit_row(run, "full", "aspa")
    assert row["amount_central"] == pytest.approx(1043.60, abs=0.01)
    assert (row["status"], row["grade"]) == ("non_take_up", "possible")
    reasons = " ".join(flag_row(run, "full", "aspa")["reasons"])
    assert "prendrait la place de 1 041,59 € d'AAH perçue" in reasons
    assert "gain net de 2,01 € par mois" in reasons and "L815-13" in reasons
    assert run.summary["downgraded_by_aah_in_place"] == {"aspa": 1}


def test_a_holder_paid_little_aah_and_a_pensioner_without_it_keep_the_grade(run) -> None:  # type: ignore[no-untyped-def]
    """``small``: the ASPA would take the place of the 100 € received only, a gain of 943.60 €: a non-take-up."""
    for name in ("small", "none"):
        row = benefit_row(run, name, "aspa")
        assert row["status"] == "non_take_up" and row["grade"] in ("certain", "probable"), (name, row)
        assert "prendrait la place" not in " ".join(flag_row(run, name, "aspa")["reasons"])


def _asi_territory() -> dict[str, pl.DataFrame]:
    """Invalidity pensioners of 50 at 85 %, tenants, paid no ASI by the CPAM: ``inval``, a pension of 300 € and the
    AAH that tops it up to its amount (741.59 € from April 2026, 733.32 € before), as the CAF pays an AAH holder who
    does not draw the ASI; ``low``, the same pension and 100 € of AAH (the CAF's figure, below ours). The CPAM pays
    another pensioner an ASI of 100 €, so its payments are in the run."""
    t = Territory()
    for name in ("inval", "low", "other"):
        t.famille(name, age=50)
        t.persons[-1]["disability_rate"] = 0.85 if name != "other" else 0.0
        t.declare(name)
        t.resources += [{"person_id": f"p-{name}", "month": m, "kind": "invalidity_pension", "amount": 300.0,
                         "source_agency": "cnam"} for m in MONTHS]
    t.paid += [{"unit_kind": None, "unit_id": None, "person_id": "p-other", "benefit": "asi", "month": m,
                "amount": 100.0, "source_agency": "cnam"} for m in MONTHS]
    t.pay("inval", "aah", 741.59, [m for m in MONTHS if m >= MONTH.replace(month=4)])
    t.pay("inval", "aah", 733.32, [m for m in MONTHS if m < MONTH.replace(month=4)])
    t.pay("low", "aah", 100.0, MONTHS)
    return t.tables()


def test_the_asi_of_an_aah_holder_would_take_the_place_of_the_aah_it_tops_up() -> None:
    """ASI due 614.86 € (the single ceiling, 914.86 € a month, less the pension of 300 €); the AAH tops the
    claimant's own invalidity benefits up to its amount (CSS art. L821-1), so a claim would take 614.86 € of the
    741.59 € of AAH received away (the AAH falls to 126.73 €): a net gain of 0 €, no money foregone, possible at
    most with the gain said (an outside tester's pensioner, flagged « certain » at 614.86 €, 7 December 2026).
    ``low``, paid 100 € of AAH, below the 126.73 € computed with the ASI due: the ASI takes none of it away."""
    tables = _asi_territory()
    run = detect(core_month(tables, MONTH), tables, config=DetectionConfig(benefits=("aah", "asi")))
    row = benefit_row(run, "inval", "asi")
    assert row["amount_central"] == pytest.approx(614.86, abs=0.01)
    assert (row["status"], row["grade"]) == ("non_take_up", "possible")
    reasons = " ".join(flag_row(run, "inval", "asi")["reasons"])
    assert "prendrait la place de 614,86 € d'AAH perçue" in reasons and "gain net de 0,00 € par mois" in reasons
    assert run.summary["downgraded_by_aah_in_place"]["asi"] == 1
    low = benefit_row(run, "low", "asi")
    assert low["status"] == "non_take_up" and low["grade"] in ("certain", "probable"), low
    assert "prendrait la place" not in " ".join(flag_row(run, "low", "asi")["reasons"])
