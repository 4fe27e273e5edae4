"""The prime d'activité's foyer is the beneficiary, the partner and the persons at charge (CSS art. L842-3, R842-3):
a grown-up child of the famille who is not at charge (his own earnings above the ceiling) is out of the foyer, so
neither his earnings, nor his other resources, nor his individual bonus count, as he is out of its size (he may
claim the prime in his own right). Probe household K85 (probe_hh18, defect H2)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from nonrecours.engine import Inputs, evaluate
from nonrecours.simulation import load_situations

JUNE = dt.date(2026, 6, 1)
K85 = {"id": "k85", "month": "2026-06", "depcom": "46042", "housing": {"status": "tenant", "rent": 500},
       "couple": "married",
       "persons": [{"role": "parent", "age": 52, "monthly": {"salary_net": 1500}},
                   {"role": "parent", "age": 50},
                   {"role": "child", "age": 22, "monthly": {"salary_net": 1300}}],
       "benefits_paid": {"main": {"af": 0, "paje_base": 0, "asf": 0, "aide_logement": 0}}}
TARGETS = ["ppa", "ppa_nb_enfants", "ppa_revenu_activite", "ppa_base_ressources", "rsa_nb_personnes",
           "rsa_base_ressources"]


@pytest.fixture(scope="module")
def frames() -> dict[str, pl.DataFrame]:
    batch = load_situations([K85])
    assert batch.errors == []
    return batch.frames_for_month(JUNE)


@pytest.fixture(scope="module", params=["polars", "duckdb"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _at(frames: dict[str, pl.DataFrame], month: dt.date, backend: str = "polars") -> dict:
    return evaluate(TARGETS, Inputs(**frames), month, backend=backend)["famille"].row(0, named=True)


def test_a_working_son_not_at_charge_is_out_of_the_foyer_and_so_are_his_earnings(frames, backend) -> None:
    """Couple 52/50, father 1 500 € net, mother nothing, son of 22 earning 1 300 € (above the RSA's ceiling for a
    child at charge, and over 55 % of the SMIC: not at charge), tenant without housing aid, June 2026. The
    reference months are March, April and May 2026 (SMIC 12.02 €/h, bonus threshold 59 h = 709.18 €).

    Foyer = the couple (×1.5): montant forfaitaire 949.815 € in March (base 633.21), 957.42 € from April (638.28);
    earned income 1 500 €, fraction 59.85 % = 897.75 €; resources 1 500 € (> montant forfaitaire).
    Father's bonus: March max round(0.29101 × 633.21) = 184.27 € (1 500 > 120 h = 1 442.40); April and May
    240.63 € × (1 500 − 709.18) / (138 h = 1 658.76 − 709.18) = 200.40 €.
      March 949.815 + 184.27 + 897.75 − 1 500 = 531.84; April = May 957.42 + 200.40 + 897.75 − 1 500 = 555.57;
      mean 547.66 €.
    Before the fix the son was out of the size but his 1 300 € and his bonus (148.48 € in March, 149.72 € from
    April) were in: 949.815 + 332.75 + 0.5985 × 2 800 − 2 800 = 158.37, 957.42 + 350.12 + 1 675.80 − 2 800 =
    183.34 twice, mean 175.01 € (OpenFisca-France 176.1.8 computes the same 175.01: docs/oracle_disagreements.md).
    """
    june = _at(frames, JUNE, backend)
    assert june["ppa_nb_enfants"] == 0
    assert june["ppa"] == pytest.approx(547.66, abs=0.01)
    assert june["ppa"] != pytest.approx(175.01, abs=0.01)
    may = _at(frames, dt.date(2026, 5, 1), backend)
    assert may["ppa_revenu_activite"] == pytest.approx(1500.0)
    assert may["ppa_base_ressources"] == pytest.approx(1500.0)
    # the RSA's foyer has the same two members and the same resources (CASF art. R262-3, R262-6)
    assert (may["rsa_nb_personnes"], may["rsa_base_ressources"]) == (2, pytest.approx(1500.0))


def test_a_son_at_charge_stays_in_the_foyer_with_his_earnings() -> None:
    """The same son earning 150 € (under the increase he brings, 30 % of the RSA base) is at charge: a third
    person (+30 %, D843-1) whose earnings and resources count (L842-3: « revenus professionnels des membres du
    foyer »). His 150 € are under the bonus threshold (no bonus)."""
    son_150 = {**K85, "id": "k85_150", "persons": [*K85["persons"][:2],
                                                    {"role": "child", "age": 22, "monthly": {"salary_net": 150}}]}
    batch = load_situations([son_150])
    assert batch.errors == []
    may = _at(batch.frames_for_month(JUNE), dt.date(2026, 5, 1))
    assert may["ppa_nb_enfants"] == 1
    assert may["ppa_revenu_activite"] == pytest.approx(1650.0)
    assert may["ppa_base_ressources"] == pytest.approx(1650.0)
