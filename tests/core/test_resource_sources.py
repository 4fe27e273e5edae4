"""core.resources: the provenance of a monthly resource names the agency whose rows the value is read from
(``_COVER_TIERS``), not the best-ranked exhaustive source that covers the person. The DRM is exhaustive and first for
every input; a tester's hand-written households (K122, K145: a 500 € invalidity pension only the CNAM's extract
carries, 6 December 2026) found the CNAM's pension recorded as the DRM's, and so would be daily allowances the CNAM
sends or an unemployment benefit France Travail sends for a person the DRM lists nothing of. A zero of an exhaustive
source's silence on a person it sent nothing of is observed, with no agency named."""

from __future__ import annotations

import datetime as dt

import polars as pl
from tests.core.rows import DAY, MONTHS, M, membership, person, territory

from nonrecours.core import CoreConfig, build_month

AGENCY_OF = {"inv": "cnam", "ij": "cnam", "cho": "france_travail", "sal": "drm", "nul": "dgfip", "fol": "caf",
             "ret": "drm"}
"""Each person's agency: the CNAM's invalidity pensioner (500 € a month, K122's) and sick worker (daily allowances),
France Travail's job seeker, the DRM's employee, a person only the DGFiP knows, with no income anywhere, and a lone
parent the CAF follows (150 € of alimony a month, no salary), and a retiree of the DRM (700 € net, K131's)."""


def _tables() -> dict[str, pl.DataFrame]:
    persons = [person(p, dt.date(1976, 4, 1), a) for p, a in AGENCY_OF.items()]
    persons += [person(p, dt.date(1976, 4, 1), "dgfip") for p in AGENCY_OF if p != "nul"]
    mems = [membership(p, "foyer_fiscal", f"FF-{p}", "declarant", "dgfip") for p in AGENCY_OF]
    mems += [membership("fol", "famille", "F-fol", "demandeur", "caf"),
             membership("fol", "menage", "F-fol", "personne_de_reference", "caf")]
    resources = [[p, m, kind, amount, agency, agency, DAY] for p, kind, amount, agency in (
        ("inv", "invalidity_pension", 500.0, "cnam"), ("ij", "daily_allowance", 900.0, "cnam"),
        ("cho", "unemployment_benefit", 980.0, "france_travail"), ("sal", "salary_net", 1600.0, "drm"),
        ("fol", "alimony", 150.0, "caf"), ("ret", "pension_net", 700.0, "drm"))
        for m in MONTHS]
    # the invalidity pension is declared among the pensions, taxable (its CSG and CRDS not deductible added back):
    # 12 × 500 € net each year, 6,187.90 € declared
    income = [["inv", y, "pensions", 6187.90, "dgfip", "dgfip", DAY] for y in (2024, 2025)]
    income += [["sal", y, "salaries", 21000.0, "dgfip", "dgfip", DAY] for y in (2024, 2025)]
    income += [["cho", y, "unemployment", 12000.0, "dgfip", "dgfip", DAY] for y in (2024, 2025)]
    income += [["ret", y, "pensions", 9120.0, "dgfip", "dgfip", DAY] for y in (2024, 2025)]  # 12 × 760 € gross
    return territory(persons, mems, resources, income)


def _provenance(core, pid: str, inp: str) -> tuple[str, str | None, dt.date | None]:
    row = core.provenance.filter((pl.col("entity") == "individu") & (pl.col("id") == pid)
                                 & (pl.col("input") == inp)).row(0, named=True)
    return row["kind"], row["source_agency"], row["source_month"]


def test_a_resource_is_the_agency_s_whose_rows_give_it():
    # the rules read June 2025 to June 2026: the months every extract holds
    core = build_month(_tables(), M, config=CoreConfig(lookback_months=12))
    monthly = core.inputs.individu_monthly.filter(pl.col("month") == M)
    assert monthly.filter(pl.col("person_id") == "inv")["invalidity_pension"].item() == 500.0
    assert _provenance(core, "inv", "invalidity_pension") == ("observed", "cnam", M)
    assert _provenance(core, "ij", "indemnites_journalieres") == ("observed", "cnam", M)
    assert _provenance(core, "cho", "unemployment") == ("observed", "france_travail", M)
    assert _provenance(core, "sal", "salary_net") == ("observed", "drm", M)
    # the DRM lists the employee: its silence on her invalidity pension is its zero
    assert _provenance(core, "sal", "invalidity_pension") == ("observed", "drm", M)
    # nobody sent anything of « nul »: the exhaustive sources' zero is observed, but no agency sent it
    assert _provenance(core, "nul", "invalidity_pension") == ("observed", None, None)
    assert _provenance(core, "nul", "salary_net") == ("observed", None, None)
    # the DRM lists nothing of the lone parent either, but the CAF that follows her holds her zero salary
    assert _provenance(core, "fol", "salary_net") == ("observed", "caf", M)
    assert _provenance(core, "fol", "alimony_received") == ("observed", "caf", M)
    assert not core.unknowns.filter(pl.col("id").is_in(["inv", "nul"])).filter(
        pl.col("input").is_in(["invalidity_pension", "salary_net"])).height


def test_months_before_the_extract_of_an_invalidity_pension_the_declaration_confirms_are_no_unknown():
    """Evaluated in April 2026 (the chèque énergie's month), the rules read months before June 2025, the extracts'
    first, within the CSS's rolling year (April and May 2025): they are filled with June's 500 €. The DGFiP
    declares 6,187.90 € of taxable pensions for 2025 (6,000 € net), which the seven months shown (3,500 €) leave
    500 € a month of (the review found a net declaration only confirmed, a taxable one 7.5 % apart): the
    filled value is confirmed, no range (K145's chèque énergie named her invalidity pension a deciding unknown,
    from 375 to 625 €). A declaration that does not confirm the filled value leaves it as before: the rest of a
    retiree's declared pensions is his retirement pension's, not an invalidity pension's."""
    april = dt.date(2026, 4, 1)
    core = build_month(_tables(), april, config=CoreConfig(lookback_months=14))
    assert core.unknowns.filter((pl.col("id") == "inv") & (pl.col("input") == "invalidity_pension")).height == 0
    # a retiree's declared pensions above his net months are no invalidity pension of those months: 0, no range
    assert core.unknowns.filter((pl.col("id") == "ret") & (pl.col("input") == "invalidity_pension")).height == 0
    kind, agency, _ = _provenance(core, "inv", "invalidity_pension")
    assert (kind, agency) == ("estimated", "cnam")  # April and May 2025 are filled, not observed
