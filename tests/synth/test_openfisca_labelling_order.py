"""The OpenFisca-labelled truth labels the CSS after the ASPA's take-up is drawn, as the extracts pay the ASPA.

A stand-in oracle (any callable taking web-API situations, as ``entitlements_from_openfisca`` accepts) plays a
law where every famille is due an ASPA of 500 € and the CSS is free unless the famille received an ASPA in the
months before (then a participation of 30 €): the labels then show what the situations state as paid.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from nonrecours.simulation.openfisca_process import LABEL_VARIABLES
from nonrecours.synth import generate
from nonrecours.synth.extracts import draw_take_up, entitlements_from_openfisca

MONTHS = [dt.date(2026, 4, 1), dt.date(2026, 5, 1), dt.date(2026, 6, 1)]
SEED = 17


def _oracle(situations: Sequence[Mapping[str, Any]]) -> list[dict]:
    """ASPA 500 € for every famille; the CSS free, or with 30 € of participation after an ASPA received."""
    out = []
    for s in situations:
        fams = {}
        for key, f in s["familles"].items():
            asked = [v for v in LABEL_VARIABLES if v in f and None in f[v].values()]
            period = next(p for p, x in f[asked[0]].items() if x is None)
            received = sum(x for p, x in f.get("aspa", {}).items() if x is not None and p < period)
            value = {"rsa": 0.0, "ppa": 0.0, "aspa": 500.0, "cmu_c": received == 0,
                     "css_participation_forfaitaire": 30.0 if received > 0 else 0.0}
            fams[key] = {v: {period: value[v]} for v in asked}
        out.append({"familles": fams, "individus": {}, "menages": {}})
    return out


@pytest.fixture(scope="module")
def truth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("truth")
    generate(300, 5, root)
    return root / "truth"


def _css(labels: pl.DataFrame) -> pl.DataFrame:
    return labels.filter(pl.col("benefit").is_in(["css_free", "css_participation"])).select(
        "unit_id", "month", "benefit", "amount")


def test_the_css_reads_the_aspa_its_takers_receive(truth: Path) -> None:
    labels = entitlements_from_openfisca(truth, MONTHS, _oracle, seed=SEED, batch_households=40)
    aspa = labels.filter(pl.col("benefit") == "aspa")
    assert aspa.get_column("amount").unique().to_list() == [500.0]
    familles = aspa.get_column("unit_id").unique()
    assert aspa.height == familles.len() * len(MONTHS)
    takers = set(draw_take_up(aspa, seed=SEED).filter("take_up").get_column("unit_id").to_list())
    assert 10 <= len(takers) <= familles.len() - 10  # both sides of the draw are there
    css = _css(labels)
    assert css.height == familles.len() * len(MONTHS)  # one CSS label a famille and month
    first = css.filter(pl.col("month") == MONTHS[0])
    assert first.get_column("benefit").unique().to_list() == ["css_free"]  # no ASPA before the window
    later = css.filter(pl.col("month") > MONTHS[0]).with_columns(
        pl.col("unit_id").is_in(list(takers)).alias("taker"))
    assert later.filter("taker").select(pl.col("benefit").unique()).to_series().to_list() == ["css_participation"]
    assert later.filter("taker").get_column("amount").unique().to_list() == [30.0]
    assert later.filter(~pl.col("taker")).get_column("benefit").unique().to_list() == ["css_free"]


def test_without_a_seed_every_benefit_is_labelled_on_the_truths_payments(truth: Path) -> None:
    labels = entitlements_from_openfisca(truth, MONTHS, _oracle, batch_households=40)
    assert _css(labels).get_column("benefit").unique().to_list() == ["css_free"]
    assert set(labels.get_column("benefit").unique().to_list()) == {"aspa", "css_free"}
