"""A person whose agencies send no nationality (the CNAM, the DGFiP) but whose NIR says born in France is estimated
French from data (informed): an entitled person's RSA flag is then probable, no longer possible only. Studies no
agency sends are estimated from the age the same way (``CoreConfig.student_age``)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from nonrecours.core import CoreConfig, build_month
from nonrecours.detection import DetectionConfig, core_month, detect

from .conftest import MONTH, Territory

RSA = DetectionConfig(benefits=("rsa",))


def _cnam_only(t: Territory, name: str, age: int, born: bool | None) -> None:
    """An adult known to the CNAM only (no nationality, studies or disability transmitted), whose NIR gave
    ``born``, with 400 € of salary a month (DRM) and a DGFiP declaration (no alimony declared): as in
    test_dgfip_declared_none, only the unknowns under test can keep the RSA flag possible."""
    t.famille(name, agency="cnam", age=age)
    t.persons[-1].update(nationality_group=None, student=None, disability_rate=None, born_in_france=born)
    t.resources += [{"person_id": f"p-{name}", "month": dt.date(2026, m, 1), "kind": "salary_net",
                     "amount": 400.0, "source_agency": "drm"} for m in range(1, 7)]
    for row in t.members:
        if row["unit_kind"] == "foyer_fiscal" and row["person_id"] == f"p-{name}":
            row.update(source_agency="dgfip", valid_from=dt.date(2025, 1, 1))


@pytest.fixture(scope="module")
def rsa_run():
    t = Territory()
    for name, age, born in (("born_fr", 40, True), ("born_abroad", 40, False), ("place_unknown", 40, None),
                            ("young_fr", 26, True)):
        _cnam_only(t, name, age, born)
    t.famille("caf_fr")  # the CAF transmits nationality and studies (and sends its payments)
    t.pay("caf_fr", "css_free", 0.0)
    tables = t.tables()
    core = core_month(tables, MONTH)
    return core, detect(core, tables, config=RSA)


def _unit(run, name: str) -> dict:
    rows = run.units.filter(pl.col("unit_id").str.ends_with(f":f-{name}") & (pl.col("benefit") == "rsa"))
    assert rows.height == 1
    return rows.row(0, named=True)


def _unknown(core, name: str, inp: str) -> dict | None:
    rows = core.unknowns.filter((pl.col("id") == f"p-{name}") & (pl.col("input") == inp))
    return rows.row(0, named=True) if rows.height else None


def test_born_in_france_is_estimated_french_from_data(rsa_run):
    core, _ = rsa_run
    nat = _unknown(core, "born_fr", "nationality_group")
    assert nat is not None and nat["informed"] is True and "née en France" in nat["reason"]
    # the years of permit and the refugee/resident exemptions follow the estimated nationality: not unknown
    for inp in ("residence_permit_years", "residence_condition_exempt", "ofpra_protection"):
        assert _unknown(core, "born_fr", inp) is None
        kind = core.provenance.filter((pl.col("id") == "p-born_fr") & (pl.col("input") == inp))["kind"]
        assert kind.to_list() == ["estimated"]
    for name in ("born_abroad", "place_unknown"):
        nat = _unknown(core, name, "nationality_group")
        assert nat is not None and nat["informed"] is False
        assert _unknown(core, name, "residence_permit_years") is not None
    assert core.counts["persons_nationality_from_birth_place"] == 2  # born_fr and young_fr


def test_studies_are_estimated_from_the_age(rsa_run):
    core, _ = rsa_run
    grown, young = _unknown(core, "born_fr", "student"), _unknown(core, "young_fr", "student")
    assert grown["informed"] is True and grown["central"] == 0.0 and grown["high"] == 1.0
    assert young["informed"] is False
    assert _unknown(core, "caf_fr", "student") is None  # transmitted: not an unknown at all


def test_an_entitled_person_born_in_france_is_probable_not_possible(rsa_run):
    _, run = rsa_run
    assert _unit(run, "caf_fr")["grade"] == "probable"
    born_fr = _unit(run, "born_fr")
    assert born_fr["status"] == "non_take_up" and born_fr["grade"] == "probable"
    # born abroad or a birth place the NIR cannot tell: the nationality stays a convention, possible only
    assert _unit(run, "born_abroad")["grade"] == "possible"
    assert _unit(run, "place_unknown")["grade"] == "possible"
    # born in France but 26: the studies stay unknown below the configured age, possible only
    assert _unit(run, "young_fr")["grade"] == "possible"


def test_the_student_age_is_configurable(rsa_run):
    t = Territory()
    _cnam_only(t, "young_fr", 26, True)
    core = build_month(t.tables(), MONTH, config=CoreConfig(student_age=25))
    assert _unknown(core, "young_fr", "student")["informed"] is True
