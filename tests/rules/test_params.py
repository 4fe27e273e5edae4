"""Dated parameter files: validation, binding on the first day of the month, errors naming the file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from nonrecours.errors import ParameterError
from nonrecours.rules.params import ParameterStore

RSA = """
description: Montant forfaitaire du RSA pour une personne seule
unit: currency
reference: "CASF art. L262-2 et R262-1"
values:
  2023-04-01: {value: 607.75, ref: "Décret n° 2023-340 du 4 mai 2023, art. 1"}
  2024-04-01: {value: 635.71, ref: "Décret n° 2024-396 du 29 avril 2024, art. 1"}
  2025-04-01: 646.52
"""


def _write(root: Path, name: str, text: str) -> None:
    path = root / (name.replace(".", "/") + ".yaml")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_name_from_path_and_binding(tmp_path):
    _write(tmp_path, "minima_sociaux.rsa.montant_de_base", RSA)
    store = ParameterStore(tmp_path)
    assert store.names() == ["minima_sociaux.rsa.montant_de_base"]
    b = store.bind("minima_sociaux.rsa.montant_de_base", dt.date(2024, 3, 17))
    assert (b.value, b.start, b.month) == (607.75, dt.date(2023, 4, 1), dt.date(2024, 3, 1))
    assert b.ref == "Décret n° 2023-340 du 4 mai 2023, art. 1" and b.unit == "currency"
    b = store.bind("minima_sociaux.rsa.montant_de_base", dt.date(2024, 4, 1))
    assert b.value == 635.71
    b = store.bind("minima_sociaux.rsa.montant_de_base", dt.date(2026, 6, 1))
    assert b.value == 646.52 and b.ref == "CASF art. L262-2 et R262-1"  # file reference as fallback


def test_before_first_value_and_unknown(tmp_path):
    _write(tmp_path, "a.b", RSA)
    store = ParameterStore(tmp_path)
    with pytest.raises(ParameterError, match="no value in force in 2023-03"):
        store.bind("a.b", dt.date(2023, 3, 1))
    with pytest.raises(ParameterError, match=r"unknown parameter a\.c"):
        store.bind("a.c", dt.date(2024, 3, 1))


def test_a_month_past_the_checked_values_warns_once(tmp_path, caplog):
    """After the month the files were checked through, the last value known is bound (a run of January 2027
    is not refused) but never silently: a revaluation since then is not in the files. The warning is for an
    evaluated month (the plan's), once; a rule reading a later month (June's ARS reads next March's BMAF) binds
    it without one."""
    from nonrecours.engine.plan import build_plan
    from nonrecours.rules.registry import default_registry

    _write(tmp_path, "a.b", RSA)
    store = ParameterStore(tmp_path, checked_through=dt.date(2026, 12, 1))
    with caplog.at_level("WARNING", logger="nonrecours.rules.params"):
        assert store.bind("a.b", dt.date(2027, 5, 1)).value == 646.52
        store.warn_past_checked([dt.date(2026, 12, 1)])
        assert not caplog.records
        store.warn_past_checked([dt.date(2027, 5, 1), dt.date(2026, 6, 1)])
        store.warn_past_checked([dt.date(2027, 5, 1)])
    assert [r.getMessage()[:52] for r in caplog.records] == ["2027-05: the parameters are checked through 2026-12;"]
    caplog.clear()
    real = ParameterStore(checked_through=dt.date(2026, 12, 1))
    with caplog.at_level("WARNING", logger="nonrecours.rules.params"):
        build_plan(["ars_annuelle"], default_registry(), real, dt.date(2026, 6, 1))
        assert not caplog.records
        build_plan(["rsa"], default_registry(), real, dt.date(2027, 1, 1))
    assert [r.getMessage()[:7] for r in caplog.records] == ["2027-01"]


def test_mid_month_change_raises(tmp_path):
    _write(tmp_path, "a.b", "description: d\nunit: rate\nvalues:\n  2024-01-01: 0.1\n  2024-05-15: 0.2\n")
    store = ParameterStore(tmp_path)
    assert store.bind("a.b", dt.date(2024, 4, 1)).value == 0.1
    with pytest.raises(ParameterError, match="2024-05-15, inside 2024-05"):
        store.bind("a.b", dt.date(2024, 5, 1))
    assert store.bind("a.b", dt.date(2024, 6, 1)).value == 0.2


def test_abolished_value(tmp_path):
    _write(tmp_path, "a.b", "description: d\nunit: count\nvalues:\n  2020-01-01: 3\n  2024-01-01: null\n")
    store = ParameterStore(tmp_path)
    assert store.bind("a.b", dt.date(2023, 12, 1)).value == 3
    assert isinstance(store.bind("a.b", dt.date(2023, 12, 1)).value, int)
    with pytest.raises(ParameterError, match="not in force in 2024-02"):
        store.bind("a.b", dt.date(2024, 2, 1))


@pytest.mark.parametrize(("text", "field"), [
    ("description: d\nunit: euros\nvalues:\n  2020-01-01: 1\n", "unit"),
    ("description: d\nunit: rate\nvalues: {}\n", "values"),
    ("description: d\nunit: rate\nvalues:\n  2020-01-01: {valeur: 1}\n", "values.2020-01-01."),
    ("description: d\nunit: rate\nvalues:\n  2020-01-01: true\n", "values.2020-01-01.value"),
    ("description: d\nunit: rate\ntypo: 1\nvalues:\n  2020-01-01: 1\n", "typo"),
    ("unit: rate\nvalues:\n  2020-01-01: 1\n", "description"),
    ("description: d\nunit: rate\nvalues:\n  not-a-date: 1\n", "values.not-a-date"),
    ("description: [unclosed\n", "yaml"),
])
def test_malformed_file_names_file_and_field(tmp_path, text, field):
    _write(tmp_path, "x.bad", text)
    with pytest.raises(ParameterError) as info:
        ParameterStore(tmp_path)
    assert "x/bad.yaml" in str(info.value)
    assert f"field {field}" in str(info.value)


def test_missing_directory(tmp_path):
    with pytest.raises(ParameterError, match="does not exist"):
        ParameterStore(tmp_path / "nope")


@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_paje_full_rate_ceiling_is_the_complement_familial_s(year: int) -> None:
    """CSS art. L531-3: the ceiling of the allocation de base at the full rate is the complément familial's
    (base and the majoration for a two-earner couple or a lone parent), as the yearly instructions print."""
    from nonrecours.rules.params import default_parameters

    store, month = default_parameters(), dt.date(year, 6, 1)
    for cf, paje in (("cf.plafond_base", "paje.taux_plein.plafond_base"),
                     ("cf.majoration_biactifs_isoles", "paje.taux_plein.majoration_biactifs_isoles")):
        a = store.bind(f"prestations_familiales.{cf}", month)
        b = store.bind(f"prestations_familiales.{paje}", month)
        assert (a.value, a.start) == (b.value, b.start), (cf, year)


def test_the_fast_loader_reads_every_parameter_file_as_the_python_safe_loader() -> None:
    """The parameters are parsed by libyaml's safe loader where PyYAML has it (a fixed cost of every simulate):
    on the package's own files it gives the very values, types included, of PyYAML's Python safe loader."""
    import yaml

    from nonrecours.rules.params import _SAFE_LOADER, PARAMETERS_DIR

    assert _SAFE_LOADER is getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    paths = sorted(Path(PARAMETERS_DIR).rglob("*.yaml"))
    assert len(paths) > 300
    for path in paths:
        text = path.read_text(encoding="utf-8")
        fast, slow = yaml.load(text, Loader=_SAFE_LOADER), yaml.safe_load(text)
        assert repr(fast) == repr(slow), path.name
