"""core.resources: an agency that follows a famille (CAF, MSA) answers for its members' resources of the kinds its
extract's layout carries (``ExtractMapping.resource_kinds``, recorded by ingest in each extract's report, read back
by ``core.workspace.follower_kinds`` into ``CoreConfig.follower_kinds``). The MSA's default layout carries salaries
and pensions only (no alimony, no unemployment benefit, no invalidity pension), so its silence on the alimony a
lone parent receives is no zero. Until 30 November 2026 it was: at 100,000 persons 15 of the prime d'activité's 19
MSA false alarms « not entitled in truth » were lone parents receiving 170 to 510 € of alimony a month, which the
DGFiP declares and the core read as the MSA's zero (docs/detection.md, issue 8). The CAF's layout carries alimony
(``PAL``): its zero stays observed. The layout a team actually ingested with decides, not the agency's default."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import polars as pl
import pytest
from pydantic import ValidationError
from tests.core.rows import DAY, MONTHS, M, frame, membership, person, territory

from nonrecours.connectors import AGENCY_MODULES, ExtractMapping, default_mapping
from nonrecours.core import CoreConfig, build_month, scan_workspace
from nonrecours.core.workspace import follower_kinds, run_entitlements, workspace_core_config
from nonrecours.errors import SchemaError
from nonrecours.schemas import ANNUAL_INCOME, PERSONS, RESOURCE_KINDS, RESOURCES
from nonrecours.schemas.codes import NET_TO_TAXABLE

DEFAULT_KINDS = {a: tuple(sorted(default_mapping(a).resource_kinds)) for a in AGENCY_MODULES}
"""What ingest records for each agency read with its default mapping."""


def _tables(agency: str, alimony: float = 4080.0, listed: float = 0.0) -> dict[str, pl.DataFrame]:
    """A lone parent of ``agency``'s dossier F1 with a child, earning 1,500 € a month (the agency's own salary
    lines), declaring ``alimony`` received a year to the DGFiP (none: no row), the agency listing ``listed`` of
    alimony a month (none: no line)."""
    persons = [person("p-par", dt.date(1985, 3, 1), agency), person("p-par", dt.date(1985, 3, 1), "dgfip"),
               person("p-kid", dt.date(2015, 5, 1), agency)]
    mems = [membership("p-par", "famille", "F1", "demandeur", agency),
            membership("p-par", "menage", "F1", "personne_de_reference", agency),
            membership("p-kid", "famille", "F1", "enfant", agency),
            membership("p-kid", "menage", "F1", "enfant", agency),
            membership("p-par", "foyer_fiscal", "FF1", "declarant", "dgfip"),
            membership("p-kid", "foyer_fiscal", "FF1", "personne_a_charge", "dgfip")]
    resources = [["p-par", m, "salary_net", 1500.0, agency, agency, DAY] for m in MONTHS]
    resources += [["p-par", m, "alimony", listed, agency, agency, DAY] for m in MONTHS if listed]
    income = [["p-par", y, kind, amount, "dgfip", "dgfip", DAY]
              for y in (2024, 2025) for kind, amount in (("salaries", 19800.0), ("alimony", alimony)) if amount]
    return territory(persons, mems, resources, income)


def _alimony(core) -> tuple[str, str | None, float]:
    """How the core knows the parent's alimony received (kind, agency) and its value in the evaluated month. The
    follower's answer is ``estimated`` too: the rules read months before its extract's first one, filled with it
    (``core.resources``); the DGFiP's is its yearly amount spread over the months."""
    prov = core.provenance.filter((pl.col("id") == "p-par") & (pl.col("input") == "alimony_received")).row(
        0, named=True)
    monthly = core.inputs.individu_monthly.filter((pl.col("person_id") == "p-par") & (pl.col("month") == M))
    return prov["kind"], prov["source_agency"], float(monthly.get_column("alimony_received").item())


def _workspace(tables: dict[str, pl.DataFrame], folder: Path, kinds: dict[str, list[str] | None]) -> Path:
    """``tables`` written as an ingested workspace (each agency's rows in ``<table>/<agency>-x.parquet``) with each
    agency's ingest report recording the resource kinds of the mapping it was read with (None: a report written
    before ingest recorded them)."""
    for name, table in tables.items():
        (folder / name).mkdir(parents=True)
        for (agency,), rows in table.partition_by("source_agency", as_dict=True).items():
            rows.write_parquet(folder / name / f"{agency}-x.parquet")
    (folder / "reports").mkdir()
    for agency, recorded in kinds.items():
        report = {"agency": agency, "extract_id": "x", "famille_payments_on_member_lines": agency == "msa"}
        if recorded is not None:
            report["resource_kinds"] = recorded
        (folder / "reports" / f"{agency}-x.json").write_text(json.dumps(report))
    return folder


def test_the_layouts_say_which_resources_they_carry():
    assert DEFAULT_KINDS["msa"] == ("pension_gross", "pension_net", "salary_net")
    assert DEFAULT_KINDS["caf"] == ("alimony", "invalidity_pension", "pension_net", "salary_net",
                                    "unemployment_benefit")
    assert DEFAULT_KINDS["cnav"] == ("pension_gross", "pension_net")
    assert DEFAULT_KINDS["dgfip"] == ()  # yearly income, no monthly resource line


def test_a_kind_read_as_written_is_any_kind_unless_the_emit_narrows_it():
    """A team's own layout reading the kind from a plain text field can carry any kind; a ``when`` on that field
    narrows it to the listed ones; a constant kind is that kind alone."""
    own = default_mapping("msa").model_dump()
    record = own["records"][0]
    nature = next(f for f in record["fields"] if f["target"] == "nature")
    record["fields"] = [f for f in record["fields"] if f["target"] != "nature"] + [
        {**nature, "type": "string", "codes": None}]
    emits = [e for e in record["emits"] if e["table"] != "resources"]
    resources = next(e for e in record["emits"] if e["table"] == "resources")
    record["emits"] = [*emits, {**resources, "when": {}}]
    assert ExtractMapping.from_dict(own).resource_kinds == frozenset(RESOURCE_KINDS)
    record["emits"] = [*emits, {**resources, "when": {"nature": ["alimony", "salary_net", "bogus"]}}]
    assert ExtractMapping.from_dict(own).resource_kinds == {"alimony", "salary_net"}
    columns = {k: v for k, v in resources["columns"].items() if k != "kind"}
    record["emits"] = [*emits, {**resources, "columns": columns, "constants": {"kind": "pension_net"}}]
    assert ExtractMapping.from_dict(own).resource_kinds == {"pension_net"}
    record["emits"] = emits
    assert ExtractMapping.from_dict(own).resource_kinds == frozenset()


def test_an_msa_lone_parents_alimony_is_the_dgfips_not_the_msas_zero():
    core = build_month(_tables("msa"), M, config=CoreConfig(follower_kinds=DEFAULT_KINDS))
    kind, agency, amount = _alimony(core)
    assert (kind, agency) == ("estimated", "dgfip")
    assert amount == pytest.approx(4080.0 / 12, rel=0.01)
    # the salary the MSA transmits is still its own
    prov = core.provenance.filter((pl.col("id") == "p-par") & (pl.col("input") == "salary_net"))
    assert prov.get_column("source_agency").to_list() == ["msa"]


def _alimony_unknown(core) -> tuple[float, float, float, bool] | None:
    """The parent's alimony's range (low, central, high, informed), None where it is known."""
    rows = core.unknowns.filter((pl.col("id") == "p-par") & (pl.col("input") == "alimony_received"))
    assert rows.height <= 1
    return None if rows.is_empty() else tuple(rows.row(0, named=True)[c] for c in ("low", "central", "high",
                                                                                   "informed"))


def test_a_caf_lone_parents_alimony_stays_the_cafs_zero_where_the_dgfip_declares_none():
    """The CAF's layout carries alimony (record 50, ``PAL``): a month without a line is none received, where the
    DGFiP's latest year declares none either."""
    core = build_month(_tables("caf", alimony=0.0), M, config=CoreConfig(follower_kinds=DEFAULT_KINDS))
    assert _alimony(core) == ("estimated", "caf", 0.0)
    assert _alimony_unknown(core) is None


def test_the_alimony_the_dgfip_declares_and_the_caf_never_lists_is_estimated_from_the_cafs_zero():
    """The CAF's record holds what its allocataire tells it: 4,080 € of alimony declared to the DGFiP for 2024 and
    2025 that no month of the CAF's lists was its certain zero until 6 December 2026 (a tester's K86: a prime
    d'activité « certain » the alimony brings to 0). Estimated now from the declaration (340 € a month), from the
    CAF's 0 (it may have stopped) to the declared level give or take the estimate's spread, informed; the MSA's
    layout, which carries no alimony, gives the usual estimate's range (± 25 %)."""
    caf = build_month(_tables("caf"), M, config=CoreConfig(follower_kinds=DEFAULT_KINDS))
    assert _alimony(caf) == ("estimated", "dgfip", pytest.approx(340.0, 0.01))
    assert _alimony_unknown(caf) == (0.0, 340.0, 425.0, True)
    msa = build_month(_tables("msa"), M, config=CoreConfig(follower_kinds=DEFAULT_KINDS))
    assert _alimony_unknown(msa) == (255.0, 340.0, 425.0, True)
    # the salary the CAF lists is still its own, no unknown
    prov = caf.provenance.filter((pl.col("id") == "p-par") & (pl.col("input") == "salary_net"))
    assert prov.get_column("source_agency").to_list() == ["caf"]
    assert caf.unknowns.filter((pl.col("id") == "p-par") & (pl.col("input") == "salary_net")).is_empty()


@pytest.mark.parametrize("listed", [340.0, 120.0])
def test_a_caf_listing_the_alimony_answers_for_it_with_no_unknown(listed: float):
    """A CAF line of alimony in the months read is the CAF's answer, whatever the DGFiP declared the year before
    (the same or a lower amount: a change since is the CAF's to know)."""
    core = build_month(_tables("caf", listed=listed), M, config=CoreConfig(follower_kinds=DEFAULT_KINDS))
    assert _alimony(core) == ("estimated", "caf", listed)
    assert _alimony_unknown(core) is None


def test_without_a_record_of_the_layouts_a_follower_answers_for_every_kind():
    """Tables handed to ``build_month`` with no record of their layouts: the follower's silence is a zero, as
    before (the workspace's jobs read the record, below), where the DGFiP declares none (where it declares some,
    a follower's silence is no zero either: above)."""
    assert _alimony(build_month(_tables("msa", alimony=0.0), M)) == ("estimated", "msa", 0.0)
    named_other = CoreConfig(follower_kinds={"caf": DEFAULT_KINDS["caf"]})  # the MSA not named: every kind
    assert _alimony(build_month(_tables("msa", alimony=0.0), M, config=named_other)) == ("estimated", "msa", 0.0)
    assert _alimony(build_month(_tables("msa", alimony=0.0), M, config=CoreConfig(follower_kinds=DEFAULT_KINDS))
                    ) == ("estimated", "dgfip", 0.0)


def test_the_configuration_is_checked_and_sorted():
    config = CoreConfig(follower_kinds={"msa": ["salary_net", "alimony", "salary_net"], "caf": []})
    assert config.follower_kinds == {"caf": (), "msa": ("alimony", "salary_net")}
    assert list(config.follower_kinds) == ["caf", "msa"]
    with pytest.raises(ValidationError, match="unknown agency"):
        CoreConfig(follower_kinds={"mutuelle": ["alimony"]})
    with pytest.raises(ValidationError, match="unknown resource kind"):
        CoreConfig(follower_kinds={"msa": ["pocket_money"]})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):  # a misspelt field, not ignored
        CoreConfig(folower_kinds={"msa": ["alimony"]})


@pytest.mark.parametrize(("caf_kinds", "expected"), [
    (DEFAULT_KINDS["caf"], ("estimated", "caf", 0.0)),
    # a team's own CAF mapping reading no alimony line (its record 50 without PAL): the CAF's silence is no zero
    (("salary_net", "unemployment_benefit", "pension_net"), ("estimated", "dgfip", 0.0)),
])
def test_the_mapping_recorded_in_the_workspace_decides(tmp_path: Path, caf_kinds, expected):
    """(No alimony declared to the DGFiP: its declaration would make the CAF's silence no zero whatever its layout.)"""
    tables = _tables("caf", alimony=0.0)
    ws = _workspace(tables, tmp_path / "ws", {"caf": list(caf_kinds), "dgfip": []})
    assert follower_kinds(ws) == {"caf": tuple(sorted(caf_kinds)), "dgfip": ()}
    config = workspace_core_config(ws)
    assert config.follower_kinds == {"caf": tuple(sorted(caf_kinds)), "dgfip": ()}
    assert _alimony(build_month(scan_workspace(ws), M, config=config)) == expected
    # the entitlements job builds its core the same way
    paths = run_entitlements(ws, M, tmp_path / "out")
    provenance = pl.read_parquet(paths["provenance"]).filter(
        (pl.col("id") == "p-par") & (pl.col("input") == "alimony_received"))
    assert provenance.row(0, named=True)["source_agency"] == expected[1]


def test_a_workspace_ingested_before_the_record_keeps_every_kind_and_says_so(tmp_path: Path,
                                                                               caplog: pytest.LogCaptureFixture):
    ws = _workspace(_tables("msa", alimony=0.0), tmp_path / "ws", {"msa": None, "dgfip": []})
    assert follower_kinds(ws) == {"dgfip": ()}  # the MSA's report does not say
    assert follower_kinds(tmp_path / "nothing") is None  # no report at all
    with caplog.at_level(logging.WARNING, logger="nonrecours.core"):
        config = workspace_core_config(ws)
    assert config.follower_kinds == {"dgfip": ()}  # the MSA not named: it answers for every kind, as before
    assert "re-ingest" in caplog.text and "for msa " in caplog.text
    assert _alimony(build_month(scan_workspace(ws), M, config=config)) == ("estimated", "msa", 0.0)
    # a configuration that names the kinds is kept whatever the workspace says
    assert workspace_core_config(ws, CoreConfig(follower_kinds=DEFAULT_KINDS)).follower_kinds == DEFAULT_KINDS


@pytest.mark.parametrize("msa_report", [True, False])
def test_a_follower_not_recorded_leaves_the_others_records_standing(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                                   msa_report: bool):
    """The MSA's extract ingested before the record existed (a report without it) or with no report at all, the
    CAF's with its own layout reading no alimony: the CAF's record stands (its silence on alimony is no zero, the
    DGFiP's declared alimony counts), the MSA alone answers for every kind, and the warning names the MSA only.
    Until 30 November 2026 one agency without the record made the whole workspace fall back to every kind."""
    tables = _tables("caf")
    msa_person = frame(PERSONS, [person("p-other", dt.date(1970, 1, 1), "msa")])
    tables["persons"] = pl.concat([tables["persons"], msa_person])
    caf_kinds = ["pension_net", "salary_net", "unemployment_benefit"]
    ws = _workspace(tables, tmp_path / "ws", {"caf": caf_kinds, "dgfip": [], **({"msa": None} if msa_report else {})})
    assert (ws / "persons" / "msa-x.parquet").is_file()
    with caplog.at_level(logging.WARNING, logger="nonrecours.core"):
        config = workspace_core_config(ws)
    assert config.follower_kinds == {"caf": tuple(caf_kinds), "dgfip": ()}
    assert "for msa " in caplog.text and "caf" not in caplog.text
    assert _alimony(build_month(scan_workspace(ws), M, config=config)) == ("estimated", "dgfip",
                                                                          pytest.approx(340.0, 0.01))


def test_a_report_naming_an_unknown_kind_is_refused(tmp_path: Path):
    ws = _workspace(_tables("msa"), tmp_path / "ws", {"msa": ["salary_net", "pocket_money"], "dgfip": []})
    with pytest.raises(SchemaError, match="unknown resource kind") as err:
        follower_kinds(ws)
    assert err.value.table == "msa-x.json" and err.value.column == "resource_kinds"


def test_a_follower_declaring_net_pensions_answers_for_the_gross_pension():
    """The CAF's layout carries net pensions (``PEN``), no gross one: the gross pension follows from the net (none
    without one), so the CAF still answers for it where the DGFiP declares none. The MSA's layout carries both.
    Where the DGFiP's latest year declares pensions the CAF never lists, the net and the gross pension are both
    estimated from the declaration (``core.resources._follower_silence``, 6 December 2026: until then the
    CAF's zero stood, as a foreign pension's did in a tester's K50b)."""
    config = CoreConfig(follower_kinds=DEFAULT_KINDS)
    assert config.follower_answers("caf", "pension_gross") and config.follower_answers("msa", "pension_gross")
    assert not config.follower_answers("msa", "alimony_received")
    tables = _tables("caf")
    tables["annual_income"] = frame(ANNUAL_INCOME, [["p-par", 2025, "salaries", 18000.0, "dgfip", "dgfip", DAY]])
    core = build_month(tables, M, config=config)
    prov = core.provenance.filter((pl.col("id") == "p-par") & (pl.col("input") == "pension_gross"))
    assert prov.get_column("source_agency").to_list() == ["caf"]
    monthly = core.inputs.individu_monthly.filter((pl.col("person_id") == "p-par") & (pl.col("month") == M))
    assert monthly.get_column("pension_gross").item() == 0.0
    declared = dict(tables, annual_income=frame(ANNUAL_INCOME, [
        ["p-par", 2025, "pensions", 6000.0, "dgfip", "dgfip", DAY]]))
    core = build_month(declared, M, config=config)
    prov = core.provenance.filter((pl.col("id") == "p-par") & pl.col("input").is_in(["pension_net", "pension_gross"]))
    assert set(prov.select("kind", "source_agency").rows()) == {("estimated", "dgfip")}
    unk = (core.unknowns.filter((pl.col("id") == "p-par") & pl.col("input").is_in(["pension_net", "pension_gross"]))
           .sort("input").select("input", "low", "central"))
    net = round(6000.0 / 12 / NET_TO_TAXABLE["pension_net"], 2)
    assert unk.rows() == [("pension_gross", 0.0, round(6000.0 / 12 / NET_TO_TAXABLE["pension_net"]
                                                          * config.pension_gross_over_net, 2)),
                          ("pension_net", 0.0, net)]
    # with net pension lines, the gross is net × the configured ratio
    months = tables["resources"].get_column("month").to_list()
    tables["resources"] = pl.concat([tables["resources"], frame(RESOURCES, [
        ["p-par", m, "pension_net", 500.0, "caf", "caf", DAY] for m in months])])
    core = build_month(tables, M, config=config)
    monthly = core.inputs.individu_monthly.filter((pl.col("person_id") == "p-par") & (pl.col("month") == M))
    assert monthly.get_column("pension_gross").item() == pytest.approx(500.0 * config.pension_gross_over_net)
