"""A retired couple split across two pension funds, judged as one couple for the ASPA (CSS art. L815-1, D815-1).

Found by an outside tester writing extracts from the docs alone (probe3, t2, 6 December 2026): a retired farmer
alone in his MSA dossier (his pension lines only, 650 € gross) and his wife titulaire of her own CNAV file (500 €
gross), neither paid anything, the DGFiP declaring them DEC1 and DEC2 of one joint declaration in one dwelling,
were two single retirees: an ASPA flagged on each fund's list, 393.60 € (1,043.60 − 650) and 543.60 € (1,043.60 −
500), 937.20 € in all. One couple is due 19,442.21 / 12 − (650 + 500) = 470.18 € a month (the couple's ceiling of
2026, minimum_vieillesse.aspa.montant_maximum_annuel.couples), one flag, on the MSA's list (the DEC1's dossier
stays; its demandeur, an MSA member, is the claimant)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from nonrecours.detection import DetectionConfig, core_month, detect
from nonrecours.schemas.benefits import CATALOGUE

from .conftest import MONTH, Territory

ASPA = DetectionConfig(benefits=tuple(b.code for b in CATALOGUE if b.asked == "aspa"))


def _couple() -> Territory:
    t = Territory()
    t.famille("farmer", age=76, pension=650.0, agency="msa")
    t.famille("wife", age=74, pension=500.0, agency="cnav")
    # the farmer's pension is the MSA's (RETNET/RETBRUT), the wife's the CNAV's
    t.resources = [{**r, "source_agency": "msa"} if r["person_id"] == "p-farmer" else r for r in t.resources]
    # one joint declaration in one dwelling: the farmer DEC1, his wife DEC2
    t.members = [m for m in t.members if m["unit_kind"] != "foyer_fiscal"]
    for pid, role in (("p-farmer", "personne_de_reference"), ("p-wife", "conjoint")):
        t.members += [{"person_id": pid, "unit_kind": "foyer_fiscal", "unit_id": "t-couple", "role": "declarant",
                       "valid_from": dt.date(2025, 1, 1), "valid_to": None, "source_agency": "dgfip"},
                      {"person_id": pid, "unit_kind": "menage", "unit_id": "l-couple", "role": role,
                       "valid_from": dt.date(2025, 1, 1), "valid_to": None, "source_agency": "dgfip"}]
    return t


def test_a_farmer_in_an_msa_dossier_and_his_wife_in_a_cnav_file_get_one_couples_aspa() -> None:
    tables = _couple().tables()
    run = detect(core_month(tables, MONTH), tables, config=ASPA)
    aspa = run.flags.filter(pl.col("benefit") == "aspa")
    assert aspa.height == 1
    flag = aspa.row(0, named=True)
    assert flag["unit_id"] == "msa:f-farmer" and flag["claimant_id"] == "p-farmer"
    assert sorted(flag["adult_ids"]) == ["p-farmer", "p-wife"]
    # probable: a farmer's non-salaried profit no extract here gives decides (the low corner: 0 €), an informed
    # unknown; the invalidity pension the MSA's layout does not carry no longer does, nil from 67 (CSS art.
    # L341-15, L341-16: ``CoreConfig.invalidity_end_age``), and it made each single, then the couple, possible
    assert (flag["status"], flag["grade"]) == ("non_take_up", "probable")
    assert flag["deciding_unknowns"] == ["revenus_non_salaries_connus"]
    assert flag["amount_central"] == pytest.approx(470.18, abs=0.005)
    assert flag["amount_high"] == pytest.approx(470.18, abs=0.005)
    assert run.summary["conflicts"]["couple_joined_across_pension_funds"] == 1
