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
