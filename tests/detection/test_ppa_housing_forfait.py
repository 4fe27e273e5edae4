"""The prime d'activité counts the housing aid received only (CSS art. R844-3): its flag beside a housing aid due and
not received says how much it would lose once both are claimed (two outside testers, probe10 and probe11, found an
outreach row adding both at full)."""

from __future__ import annotations

import polars as pl

from nonrecours.detection import DetectionConfig, core_month, detect

from .conftest import MONTH, Territory, flag_row


def test_a_ppa_flag_beside_a_housing_aid_due_says_the_forfait_it_would_lose() -> None:
    t = Territory()
    t.famille("worker", salary=900.0)     # tenant, 450 € rent, no housing aid paid: both due
    t.famille("housed", salary=900.0)     # the same, its housing aid paid: nothing more to lose
    t.pay("housed", "aide_logement", 150.0, None)
    tables = t.tables()
    run = detect(core_month(tables, MONTH), tables, config=DetectionConfig(benefits=("ppa", "aide_logement")))
    worker = flag_row(run, "worker", "ppa")
    assert flag_row(run, "worker", "aide_logement")["status"] == "non_take_up"
    line = [r for r in worker["reasons"] if r.startswith("Si l'aide au logement due")]
    assert len(line) == 1 and "baisse de son forfait logement : jusqu'à" in line[0], worker["reasons"]
    assert "CSS art. R844-3" in line[0]
    housed = run.flags.filter(pl.col("unit_id").str.ends_with(":f-housed") & (pl.col("benefit") == "ppa"))
    assert not housed.is_empty()
    assert not any(r.startswith("Si l'aide au logement due") for r in housed.row(0, named=True)["reasons"])


def test_a_ppa_flag_beside_family_benefits_due_says_what_they_would_take() -> None:
    """A couple's worker with two children, its allocations familiales due and unpaid (flagged certain): the prime
    d'activité counts them among its resources once received (CSS art. R844-5), so its flag says it would fall by
    up to their amount (probe14: a family of seven children whose PPA of 1,573.48 € was 446.59 € claiming it all);
    the same famille paid its AF: no such line."""
    import datetime as dt

    from nonrecours.schemas.codes import NET_TO_TAXABLE

    t = Territory()
    for name in ("unpaid", "paid"):
        t.famille(name, salary=1100.0)
        for k, born in enumerate((dt.date(2016, 3, 1), dt.date(2019, 9, 1))):
            t.child(name, k, born, since=dt.date(2020, 1, 1))
        t.declare(name, salaries=round(12 * 1100.0 * NET_TO_TAXABLE["salary_net"]))
    tables = t.tables()
    config = DetectionConfig(benefits=("ppa", "af"))
    first = detect(core_month(tables, MONTH), tables, config=config)
    af_due = flag_row(first, "unpaid", "af")["amount_central"]
    # no family payment in the workspace at all: the rules computed them, the PPA counts them already: no line
    assert not any(r.startswith("Les prestations familiales dues") for r in flag_row(first, "unpaid", "ppa")["reasons"])
    t.pay("paid", "af", af_due)
    tables = t.tables()
    run = detect(core_month(tables, MONTH), tables, config=config)
    af = flag_row(run, "unpaid", "af")
    assert (af["status"], af["grade"]) == ("non_take_up", "certain")
    ppa = flag_row(run, "unpaid", "ppa")
    line = [r for r in ppa["reasons"] if r.startswith("Les prestations familiales dues et non perçues")]
    assert len(line) == 1 and "allocations familiales" in line[0] and "CSS art. R844-5" in line[0], ppa["reasons"]
    paid = run.flags.filter(pl.col("unit_id").str.ends_with(":f-paid") & (pl.col("benefit") == "ppa"))
    assert paid.is_empty() or not any(r.startswith("Les prestations familiales dues")
                                      for r in paid.row(0, named=True)["reasons"])
