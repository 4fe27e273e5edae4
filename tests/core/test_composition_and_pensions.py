"""What the core does not know of a famille's composition, and gross pensions no agency declares: the cases
behind the false alarms measured in docs/detection.md (lost allocataire rows, cohabiting tax declarants,
net-only pension sources)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl

from nonrecours.core import build_month
from nonrecours.schemas import ANNUAL_INCOME, PERSONS, RESOURCES, UNIT_MEMBERSHIPS

M = dt.date(2026, 6, 1)


def _p(agency, day=dt.date(2026, 6, 28)):
    return [agency, f"{agency}-x", day]


def _person(pid, birth, agency="caf"):
    return [pid, birth, "F", "FR", None, "46042", 0.0, False, False, None, None, None, None, None, None, *_p(agency)]


def _mem(pid, kind, uid, role, agency, since=dt.date(2024, 1, 1)):
    return [pid, kind, uid, role, since, None, *_p(agency)]


def _head(pid, fam, men, agency):
    return [_mem(pid, "famille", fam, "demandeur", agency), _mem(pid, "menage", men, "personne_de_reference", agency)]


def _tables(persons, mems, resources=(), annual=()):
    def frame(spec, rows):
        return spec.validate_frame(pl.DataFrame(rows, schema=spec.polars_schema, orient="row"))
    t = {"persons": frame(PERSONS, persons), "unit_memberships": frame(UNIT_MEMBERSHIPS, mems)}
    if resources:
        t["resources"] = frame(RESOURCES, list(resources))
    if annual:
        t["annual_income"] = frame(ANNUAL_INCOME, list(annual))
    return t


def _row(frame, col, value):
    return frame.filter(pl.col(col) == value)


def _couple_unknown(core) -> set[str]:
    u = core.unknowns.filter((pl.col("entity") == "famille") & (pl.col("input") == "couple_kind"))
    assert u.select(pl.col("low").is_null().all() & pl.col("high").is_null().all()).item()  # no fake range
    return set(u["id"])


def test_co_declarant_fills_the_demandeur_a_caf_famille_lost():
    """The CAF lists the conjoint and a child only (the allocataire's row was lost); the DGFiP foyer of the
    conjoint has a second declarant: that person becomes the famille's demandeur, and the couple is known."""
    t = _tables([_person("c", dt.date(1985, 1, 1)), _person("k", dt.date(2015, 1, 1))],
                [_mem("c", "famille", "F1", "conjoint", "caf"), _mem("k", "famille", "F1", "enfant", "caf"),
                 _mem("c", "menage", "F1", "conjoint", "caf"), _mem("k", "menage", "F1", "enfant", "caf"),
                 _mem("c", "foyer_fiscal", "T1", "declarant", "dgfip"),
                 _mem("d", "foyer_fiscal", "T1", "declarant", "dgfip")])
    core = build_month(t, M)
    d = _row(core.inputs.individu, "person_id", "d")
    assert d["famille_id"].item() == "caf:F1" and d["famille_role"].item() == "demandeur"
    assert d["menage_id"].item() == "caf:F1"
    assert "caf:F1" not in _couple_unknown(core)


def _conflicts(core) -> dict[str, int]:
    return dict(core.conflicts.iter_rows())


def test_declarant_becomes_the_parent_of_a_caf_famille_listing_only_children():
    """The CAF lists two children only (the allocataire's row lost, no conjoint): the DGFiP foyer they are
    dependants of has one declarant no family agency lists; that person heads the CAF famille, and a third
    child the CAF does not list joins it as a child, never as a famille of their own."""
    t = _tables([_person("p", dt.date(1982, 3, 1), "dgfip"), *[_person(k, dt.date(y, 1, 1)) for k, y in
                                                                  (("k1", 2010), ("k2", 2012))],
                 _person("k3", dt.date(2014, 1, 1), "dgfip")],
                [_mem("k1", "famille", "F1", "enfant", "caf"), _mem("k2", "famille", "F1", "enfant", "caf"),
                 _mem("k1", "menage", "F1", "enfant", "caf"), _mem("k2", "menage", "F1", "enfant", "caf"),
                 _mem("p", "foyer_fiscal", "T1", "declarant", "dgfip"),
                 *[_mem(k, "foyer_fiscal", "T1", "personne_a_charge", "dgfip") for k in ("k1", "k2", "k3")]])
    core = build_month(t, M)
    ind = core.inputs.individu
    p = _row(ind, "person_id", "p")
    assert p["famille_id"].item() == "caf:F1" and p["famille_role"].item() == "demandeur"
    assert p["menage_id"].item() == "caf:F1" and p["menage_role"].item() == "personne_de_reference"
    k3 = _row(ind, "person_id", "k3")
    assert k3["famille_id"].item() == "caf:F1" and k3["famille_role"].item() == "enfant"
    assert core.inputs.famille["famille_id"].to_list() == ["caf:F1"]
    c = _conflicts(core)
    assert c["parent_added_from_tax_household"] == 1 and c["famille_without_parent"] == 0


def test_minor_dependant_of_a_declarant_no_agency_lists_joins_the_famille_built_for_them():
    t = _tables([_person("p", dt.date(1982, 3, 1), "dgfip"), _person("k", dt.date(2014, 1, 1), "dgfip")],
                [_mem("p", "foyer_fiscal", "T1", "declarant", "dgfip"),
                 _mem("k", "foyer_fiscal", "T1", "personne_a_charge", "dgfip")])
    core = build_month(t, M)
    ind = core.inputs.individu
    assert _row(ind, "person_id", "k")["famille_role"].item() == "enfant"
    assert _row(ind, "person_id", "k")["famille_id"].item() == _row(ind, "person_id", "p")["famille_id"].item()
    assert core.inputs.famille.height == 1


def test_children_whose_parents_no_source_shows_are_counted_not_lost_silently():
    t = _tables([_person("k1", dt.date(2010, 1, 1)), _person("k2", dt.date(2012, 1, 1))],
                [_mem("k1", "famille", "F1", "enfant", "caf"), _mem("k2", "famille", "F1", "enfant", "caf")])
    c = _conflicts(build_month(t, M))
    assert c["famille_without_parent"] == 1 and c["persons_in_famille_without_parent"] == 2
    assert c["parent_added_from_tax_household"] == 0


def test_famille_without_its_demandeur_has_an_unknown_couple():
    t = _tables([_person("c", dt.date(1985, 1, 1))],
                [_mem("c", "famille", "F1", "conjoint", "caf"), _mem("c", "menage", "F1", "conjoint", "caf")])
    core = build_month(t, M)
    assert "caf:F1" in _couple_unknown(core)
    assert core.counts["familles_without_demandeur"] == 1


def test_single_tax_declarant_may_live_in_couple_joint_declarants_do_not():
    t = _tables([_person("a", dt.date(1980, 1, 1))],
                [*_head("a", "F1", "M1", "caf"),
                 _mem("s", "foyer_fiscal", "T1", "declarant", "dgfip"),
                 _mem("x", "foyer_fiscal", "T2", "declarant", "dgfip"),
                 _mem("y", "foyer_fiscal", "T2", "declarant", "dgfip")])
    core = build_month(t, M)
    ind = core.inputs.individu
    single = _row(ind, "person_id", "s")["famille_id"].item()
    pair = _row(ind, "person_id", "x")["famille_id"].item()
    assert pair == _row(ind, "person_id", "y")["famille_id"].item()
    unknown = _couple_unknown(core)
    assert single in unknown and pair not in unknown and "caf:F1" not in unknown
    # both built familles may be housed at no cost: an uninformed hosting unknown
    host = core.unknowns.filter((pl.col("input") == "hosted_free_of_charge") & pl.col("id").is_in([single, pair]))
    assert host.height == 2 and not host["informed"].any()


def test_gross_pension_from_the_observed_net_where_no_fund_gives_it():
    """The DRM declares a net pension; the CNAV knows the retiree but its row for May was lost: April's gross
    is the CNAV's, May's is net × ratio, never 0; a retiree only the DRM knows gets net × ratio every month."""
    drm = "drm"
    t = _tables([_person("r", dt.date(1955, 1, 1), agency="cnav"), _person("q", dt.date(1955, 1, 1))],
                [*_head("r", "R1", "R1", "cnav"), *_head("q", "F2", "M2", "caf")],
                resources=[
                    ["r", dt.date(2026, 4, 1), "pension_net", Decimal("900.00"), *_p(drm)],
                    ["r", dt.date(2026, 5, 1), "pension_net", Decimal("900.00"), *_p(drm)],
                    ["r", dt.date(2026, 4, 1), "pension_gross", Decimal("960.00"), *_p("cnav")],
                    ["q", dt.date(2026, 5, 1), "pension_net", Decimal("700.00"), *_p(drm)]])
    core = build_month(t, M)
    m = core.inputs.individu_monthly
    def gross(p, month):
        return m.filter((pl.col("person_id") == p) & (pl.col("month") == month))["pension_gross"].item()
    assert gross("r", dt.date(2026, 4, 1)) == 960.0
    assert gross("r", dt.date(2026, 5, 1)) == 990.0
    assert gross("q", dt.date(2026, 5, 1)) == 770.0
    prov = core.provenance.filter((pl.col("input") == "pension_gross") & pl.col("id").is_in(["r", "q"]))
    assert set(prov["kind"]) == {"estimated"}


def test_a_net_pension_above_the_funds_gross_brings_the_other_funds_pensions():
    """A widow of 66: the CNAV pays 300 € gross (280 € net); the DRM lists 680 € net, her CNAV pension and a
    survivor's pension of another fund. Her gross is the net × ratio (748 €), not the CNAV's 300 € (her ASPA was
    counted on 300 €, 430 € a month too much, « certain »); a net under the fund's gross leaves the gross alone."""
    drm = "drm"
    t = _tables([_person("w", dt.date(1960, 1, 1), agency="cnav"), _person("v", dt.date(1958, 1, 1), agency="cnav")],
                [*_head("w", "W1", "W1", "cnav"), *_head("v", "V1", "V1", "cnav")],
                resources=[
                    *[["w", mo, "pension_net", Decimal("680.00"), *_p(drm)] for mo in (dt.date(2026, 4, 1),
                                                                                      dt.date(2026, 5, 1))],
                    *[["w", mo, "pension_gross", Decimal("300.00"), *_p("cnav")] for mo in (dt.date(2026, 4, 1),
                                                                                           dt.date(2026, 5, 1))],
                    ["v", dt.date(2026, 5, 1), "pension_net", Decimal("280.00"), *_p(drm)],
                    ["v", dt.date(2026, 5, 1), "pension_gross", Decimal("300.00"), *_p("cnav")]])
    m = build_month(t, M).inputs.individu_monthly
    def gross(p, month):
        return m.filter((pl.col("person_id") == p) & (pl.col("month") == month))["pension_gross"].item()
    assert gross("w", dt.date(2026, 4, 1)) == gross("w", dt.date(2026, 5, 1)) == 748.0
    assert gross("v", dt.date(2026, 5, 1)) == 300.0


def test_the_drm_rules_out_a_gross_pension_where_it_lists_none():
    """The DRM (PASRAU) lists every pension paid: a young worker it covers, with salaries and no pension row, has a
    gross pension of 0 in every month, from the DRM, not unknown; without the DRM extract it is unknown (no
    agency answers for it). A person absent from the DRM while the DGFiP declares pensions is not covered by it:
    their gross pension is not ruled out (estimated from the declared pensions)."""
    people = [_person("y", dt.date(2000, 3, 1), agency="cnam"), _person("d", dt.date(1950, 1, 1), agency="cnam")]
    mems = [*_head("y", "Y1", "Y1", "cnam"), *_head("d", "D1", "D1", "cnam")]
    months = [dt.date(2025, 6 + k, 1) if k < 7 else dt.date(2026, k - 6, 1) for k in range(13)]
    salaries = [["y", mo, "salary_net", Decimal("1500.00"), *_p("drm")] for mo in months]
    annual = [["d", 2025, "pensions", Decimal("12000.00"), *_p("dgfip")],
              ["y", 2025, "salaries", Decimal("18000.00"), *_p("dgfip")]]

    def gross(core, pid):
        m = core.inputs.individu_monthly.filter(pl.col("person_id") == pid)
        prov = core.provenance.filter((pl.col("id") == pid) & (pl.col("input") == "pension_gross"))
        unk = core.unknowns.filter((pl.col("id") == pid) & (pl.col("input") == "pension_gross"))
        return set(m["pension_gross"]), set(prov["source_agency"]), unk.select("central", "high").rows()

    with_drm = build_month(_tables(people, mems, salaries, annual), M)
    assert gross(with_drm, "y") == ({0.0}, {"drm"}, [])
    # d: doubtful for the DRM (no row at all, pensions declared): the gross is the DGFiP's estimate, not 0
    # 12,000 / 12 × 1.10, net of the CSG and CRDS the declaration adds back (÷ 1.031317): 1,066.60 (high × 1.25)
    assert gross(with_drm, "d")[1:] == ({"dgfip"}, [(1066.6, 1333.25)])
    no_drm = [["y", mo, "salary_net", Decimal("1500.00"), *_p("cnam")] for mo in months]
    without = build_month(_tables(people, mems, no_drm), M)
    assert gross(without, "y")[1:] == ({None}, [(0.0, 2800.0)])


def test_truth_payments_join_the_truth_familles():
    """The synthetic truth's payments name their payer (CAF) but carry the truth's own famille ids: the
    famille's family benefits must reach its inputs (they were read as 0, so the truth's RSA ignored them)."""
    from nonrecours.schemas import BENEFITS_PAID

    t = _tables([_person("a", dt.date(1985, 1, 1), agency="synth")], _head("a", "F1", "M1", "synth"))
    t["benefits_paid"] = BENEFITS_PAID.validate_frame(pl.DataFrame(
        [["famille", "F1", None, "af", dt.date(2026, 5, 1), Decimal("150.00"), "caf", *_p("synth")]],
        schema=BENEFITS_PAID.polars_schema, orient="row"))
    core = build_month(t, M)
    fm = core.inputs.famille_monthly
    assert fm.filter((pl.col("famille_id") == "F1") & (pl.col("month") == dt.date(2026, 5, 1)))["af"].item() == 150.0


def test_facts_the_cnav_does_not_hold_are_unknown_not_invented():
    """The CNAV's persons rows carry no studies, pregnancy or disability: for a retiree only the CNAV knows they
    are unknown (with a range), and so are RSDAE and unfitness; a person the CAF also knows takes the CAF's."""
    cnav_only = [*_person("r", dt.date(1955, 1, 1), agency="cnav")]
    cnav_only[6:9] = [None, None, None]
    both_cnav = [*_person("s", dt.date(1956, 1, 1), agency="cnav")]
    both_cnav[6:9] = [None, None, None]
    both_caf = [*_person("s", dt.date(1956, 1, 1))]
    both_caf[6] = 0.5
    t = _tables([cnav_only, both_cnav, both_caf],
                [*_head("r", "R1", "R1", "cnav"), *_head("s", "F2", "M2", "caf")])
    core = build_month(t, M)
    unk = core.unknowns.filter(pl.col("entity") == "individu")
    r_unknown = set(unk.filter(pl.col("id") == "r")["input"])
    assert {"student", "disability_rate", "rsdae", "unfit_for_work"} <= r_unknown
    assert "pregnant" not in r_unknown  # a retiree of 71: no pregnancy to ask about (CoreConfig.pregnancy_ages)
    assert core.counts["persons_not_pregnant_from_age"] == 1
    assert unk.filter((pl.col("id") == "r") & (pl.col("input") == "disability_rate"))["high"].item() == 1.0
    prov = core.provenance.filter((pl.col("entity") == "individu") & pl.col("input").is_in(
        ["student", "pregnant", "disability_rate"]))
    assert set(prov.filter(pl.col("id") == "r")["kind"]) == {"unknown"}
    assert set(prov.filter(pl.col("id") == "s")["kind"]) == {"observed"}
    assert set(prov.filter(pl.col("id") == "s")["source_agency"]) == {"caf"}
    assert not {"student", "pregnant", "disability_rate"} & set(unk.filter(pl.col("id") == "s")["input"])
    ind = core.inputs.individu.filter(pl.col("person_id") == "s")
    assert ind["disability_rate"].item() == 0.5


def test_declared_pensions_hold_the_invalidity_pension_the_months_observe():
    """The DGFiP declares an invalidity pension with the retirement pensions (one box of form 2042); the CNAM
    reports it every month. A person the DRM has no row for and no fund or follower covers: their gross
    retirement pension is estimated from the declared pensions less the invalidity pension (0 for ``v``, whose
    declared pensions are it; 6,000 € a year of retirement pension for ``w``), never the invalidity pension
    counted twice; and the DRM's silence doubts a net pension only up to what is left (none for ``v``)."""
    people = [_person(p, dt.date(1975, 1, 1), agency="cnam") for p in ("v", "w", "s")]
    mems = [*_head("v", "V1", "V1", "cnam"), *_head("w", "W1", "W1", "cnam"), *_head("s", "S1", "S1", "cnam")]
    months = [dt.date(2025, 6 + k, 1) if k < 7 else dt.date(2026, k - 6, 1) for k in range(13)]
    resources = [[p, mo, "invalidity_pension", Decimal(a), *_p("cnam")] for p, a in (("v", "472.23"), ("w", "900.00"))
                 for mo in months]
    resources += [["s", mo, "salary_net", Decimal("1500.00"), *_p("drm")] for mo in months]  # the DRM is present
    # v: 12 × 472.23 = 5,666.76 €, declared to the euro
    annual = [["v", 2025, "pensions", Decimal("5667.00"), *_p("dgfip")],
              ["w", 2025, "pensions", Decimal("16800.00"), *_p("dgfip")]]
    core = build_month(_tables(people, mems, resources, annual), M)
    m = core.inputs.individu_monthly.filter(pl.col("month") == M)

    def value(pid, col):
        return m.filter(pl.col("person_id") == pid)[col].item()

    def unknown(pid, inp):
        return core.unknowns.filter((pl.col("id") == pid) & (pl.col("input") == inp)).select(
            "central", "high").rows()

    assert (value("v", "invalidity_pension"), value("w", "invalidity_pension")) == (472.23, 900.0)
    assert value("v", "pension_gross") == 0.0
    assert value("w", "pension_gross") == 533.3  # 6,000 / 12 ÷ 1.031317 (declared taxable, read net) × 1.10
    assert unknown("w", "pension_gross") == [(533.3, 666.62)]
    # the DRM lists no pension for them: a net pension is doubtful up to the declared retirement pension only
    assert unknown("v", "pension_net") == []
    assert unknown("w", "pension_net") == [(0.0, 625.0)]  # 6,000 / 12 × 1.25


def test_declared_pensions_of_a_year_no_month_observes_the_invalidity_pension_are_a_range():
    """The CNAM reports 900 € of invalidity pension a month from January 2026 only (granted then, or its extract
    starts then), the DGFiP declares 16,800 € of pensions for 2025: whether they hold the invalidity pension the
    declaration cannot tell. The gross retirement pension keeps its central value (the pension taken out: 6,000 €
    a year, 533.30 € a month gross once net of CSG and CRDS) and its range reaches the whole declaration (16,800 /
    12 ÷ 1.031317 × 1.10 × 1.25 = 1,866.55 €),
    with a reason saying so; the DRM's silence doubts a net pension up to the whole declaration (16,800 / 12 ×
    1.25). ``w``, observed in 2025 too, keeps the narrow range (the case above)."""
    people = [_person(p, dt.date(1975, 1, 1), agency="cnam") for p in ("u", "w", "s")]
    mems = [*_head("u", "U1", "U1", "cnam"), *_head("w", "W1", "W1", "cnam"), *_head("s", "S1", "S1", "cnam")]
    months = [dt.date(2025, 6 + k, 1) if k < 7 else dt.date(2026, k - 6, 1) for k in range(13)]
    resources = [[p, mo, "invalidity_pension", Decimal("900.00"), *_p("cnam")] for p in ("u", "w")
                 for mo in months if p == "w" or mo.year == 2026]
    resources += [["s", mo, "salary_net", Decimal("1500.00"), *_p("drm")] for mo in months]  # the DRM is present
    annual = [[p, 2025, "pensions", Decimal("16800.00"), *_p("dgfip")] for p in ("u", "w")]
    core = build_month(_tables(people, mems, resources, annual), M)
    monthly = core.inputs.individu_monthly.filter(pl.col("month") == M)

    def unknown(pid, inp):
        return core.unknowns.filter((pl.col("id") == pid) & (pl.col("input") == inp)).select(
            "low", "central", "high", "reason", "informed").rows()

    # central unchanged (6,000 / 12, net of CSG and CRDS: ÷ 1.031317, × 1.10)
    assert monthly.filter(pl.col("person_id") == "u")["pension_gross"].item() == 533.3
    [(low, central, high, reason, informed)] = unknown("u", "pension_gross")
    assert (low, central, high, informed) == (399.98, 533.3, 1866.55, True)
    assert "jusqu'aux pensions déclarées entières" in reason
    assert [(lo, c, hi, inf) for lo, c, hi, _, inf in unknown("u", "pension_net")] == [(0.0, 0.0, 1750.0, False)]
    [(low, central, high, reason, _)] = unknown("w", "pension_gross")
    assert (low, central, high) == (399.98, 533.3, 666.62) and "entières" not in reason
    assert unknown("w", "pension_net")[0][:3] == (0.0, 0.0, 625.0)


def test_months_after_a_pension_s_last_row_are_unknown_not_zero():
    """The CNAV's extract reaches June 2026 (s's rows), but r's pension rows stop in April: a pension is paid for
    life, so May and June are a late or lost row more likely than a stop. They are unknown, one per month, the last
    amount give or take the estimate's spread, central the last amount (informed), never a silent 0. w's
    salary stops in April while the DRM goes on to June (v's rows): a job ends, May and June are 0 as the DRM says.
    Without the DRM, France Travail answers for the allowances, and its file ends in April: u's allowance paid then
    is unknown after it, as r's pension."""
    months = [dt.date(2025, 6 + k, 1) if k < 7 else dt.date(2026, k - 6, 1) for k in range(13)]
    april = dt.date(2026, 4, 1)
    res = []
    for pid, kind, amount, agency, last in (("r", "pension_net", "900.00", "cnav", april),
                                            ("r", "pension_gross", "960.00", "cnav", april),
                                            ("s", "pension_net", "800.00", "cnav", M),
                                            ("s", "pension_gross", "850.00", "cnav", M),
                                            ("w", "salary_net", "1500.00", "drm", april),
                                            ("v", "salary_net", "1600.00", "drm", M)):
        res += [[pid, mo, kind, Decimal(amount), *_p(agency)] for mo in months if mo <= last]
    people = [_person("r", dt.date(1955, 1, 1), agency="cnav"), _person("s", dt.date(1956, 1, 1), agency="cnav"),
              *[_person(p, dt.date(1985, 1, 1), agency="cnam") for p in ("w", "v")]]
    mems = [*_head("r", "R1", "R1", "cnav"), *_head("s", "S1", "S1", "cnav"),
            *[m for p in ("w", "v") for m in _head(p, f"{p.upper()}1", f"{p.upper()}1", "cnam")]]
    core = build_month(_tables(people, mems, res), M)
    allowance = [["u", mo, "unemployment_benefit", Decimal("1000.00"), *_p("france_travail")]
                 for mo in months if mo <= april]
    lagging = build_month(_tables([_person("u", dt.date(1985, 1, 1), agency="cnam")], _head("u", "U1", "U1", "cnam"),
                                  allowance), M)
    m = pl.concat([core.inputs.individu_monthly, lagging.inputs.individu_monthly], how="diagonal_relaxed")

    def value(pid, inp, month):
        return m.filter((pl.col("person_id") == pid) & (pl.col("month") == month))[inp].item()

    may = dt.date(2026, 5, 1)
    unk = pl.concat([core.unknowns, lagging.unknowns.filter(pl.col("input") == "unemployment")]).filter(
        pl.col("entity") == "individu").filter(
        pl.col("input").is_in(["pension_net", "pension_gross", "salary_net", "unemployment"]))
    # the months the ASPA reads before the extracts' first are estimated (test_months_before_the_extract_...)
    assert unk.filter(pl.col("month") < months[0])["reason"].str.starts_with("mois antérieur").all()
    unk = unk.filter(pl.col("month") >= months[0])
    got = sorted(unk.select("id", "input", "month", "low", "central", "high", "informed").rows())
    assert got == [("r", "pension_gross", may, 720.0, 960.0, 1200.0, True),
                   ("r", "pension_gross", M, 720.0, 960.0, 1200.0, True),
                   ("r", "pension_net", may, 675.0, 900.0, 1125.0, True),
                   ("r", "pension_net", M, 675.0, 900.0, 1125.0, True),
                   ("u", "unemployment", may, 750.0, 1000.0, 1250.0, True),
                   ("u", "unemployment", M, 750.0, 1000.0, 1250.0, True)]
    assert value("r", "pension_net", M) == 900.0 and value("r", "pension_gross", may) == 960.0
    assert value("u", "unemployment", M) == 1000.0
    # no row for w's May and June: the engine reads 0 (the input's default), as the DRM says
    assert m.filter((pl.col("person_id") == "w") & (pl.col("month") >= may))["salary_net"].fill_null(0.0).sum() == 0


def test_months_before_the_extract_are_estimated_not_observed():
    """The DRM's extract runs from July 2025 to June 2026; the CSS reads June 2025 too. j was salaried until June
    2025 and on unemployment benefit from July (the DGFiP declares 8,600 € of salaries and 6,238 € of benefit for
    2025, taxable): June was filled with July's benefit and no salary, as observed, and a « certain » CSS flag
    rested on it. June is now unknown (informed): the salary from 0 to what the declared year, net, leaves to the
    months the extract does not show, the benefit from none (the declared year is all in the months shown) to July's.
    k's salary, the same each month and declared so, stays known; n, whom the DGFiP does not know, gets the filled
    value give or take the estimate's spread."""
    months = [dt.date(2025, 7 + k, 1) if k < 6 else dt.date(2026, k - 5, 1) for k in range(12)]
    res = [["j", mo, "unemployment_benefit", Decimal("1008.00"), *_p("drm")] for mo in months]
    res += [[p, mo, "salary_net", Decimal("1500.00"), *_p("drm")] for p in ("k", "n") for mo in months]
    # taxable amounts, as declared: net × 1.036529 for salaries, × 1.031443 for the benefit (NET_TO_TAXABLE)
    annual = [["j", 2025, "salaries", Decimal("8600.00"), *_p("dgfip")],
              ["j", 2025, "unemployment", Decimal("6238.00"), *_p("dgfip")],
              ["k", 2025, "salaries", Decimal("18658.00"), *_p("dgfip")]]
    people = [_person(p, dt.date(1985, 1, 1), agency="cnam") for p in ("j", "k", "n")]
    mems = [m for p in ("j", "k", "n") for m in _head(p, f"{p.upper()}1", f"{p.upper()}1", "cnam")]
    core = build_month(_tables(people, mems, res, annual), M)
    june = dt.date(2025, 6, 1)
    assert june in core.months_read
    monthly = core.inputs.individu_monthly.filter(pl.col("month") == june)
    assert monthly.filter(pl.col("person_id") == "j").select("salary_net", "unemployment").row(0) == (0.0, 1008.0)

    def unknown(pid, inp):
        return core.unknowns.filter((pl.col("id") == pid) & (pl.col("input") == inp) & (pl.col("month") == june)
                                    ).select("low", "central", "high", "informed").rows()

    assert unknown("j", "salary_net") == [(0.0, 0.0, 1382.82, True)]  # 8,600 / 1.036529 / 6
    assert unknown("j", "unemployment") == [(0.0, 1008.0, 1008.0, True)]
    assert unknown("k", "salary_net") == []
    # a month before the CSS's rolling year is read for earlier months' benefits only: estimated, no range
    may = dt.date(2025, 5, 1)
    assert may in core.months_read
    assert core.inputs.individu_monthly.filter((pl.col("month") == may) & (pl.col("person_id") == "j"))[
        "unemployment"].item() == 1008.0
    assert core.unknowns.filter((pl.col("id") == "j") & (pl.col("month") == may)
                                & pl.col("input").is_in(["salary_net", "unemployment"])).height == 0
    assert unknown("n", "salary_net") == [(1125.0, 1500.0, 1875.0, True)]
    reason = core.unknowns.filter((pl.col("id") == "j") & (pl.col("input") == "salary_net")
                                  & (pl.col("month") == june))["reason"].item()
    assert "premier de l'extrait du DRM de l'Assurance retraite (07/2025)" in reason
    # the months the extract holds are what it says
    assert core.unknowns.filter((pl.col("id") == "j") & (pl.col("month") >= months[0])
                                & pl.col("input").is_in(["salary_net", "unemployment"])).height == 0


def test_a_month_missing_from_the_whole_extract_is_estimated_not_zero():
    """The DRM's extract holds no row of April 2026 (a file lost in transfer) between months it holds: every
    person's April was read as no income (a wife's 450 € salary: the couple's PPA « certain » on a month of
    nothing). It is estimated from the person's rows around it, informed: w's salary as March's and May's, x's net
    pension too (and the gross pension that follows from it), y's salary begun in May from none to May's. The
    months the extract holds are what it says: v's salary stopped in February stays 0 in April."""
    april = dt.date(2026, 4, 1)
    months = [dt.date(2025, 6 + k, 1) if k < 7 else dt.date(2026, k - 6, 1) for k in range(13)]
    held = [mo for mo in months if mo != april]
    res = [["w", mo, "salary_net", Decimal("450.00"), *_p("drm")] for mo in held]
    res += [["x", mo, "pension_net", Decimal("900.00"), *_p("drm")] for mo in held]
    res += [["y", mo, "salary_net", Decimal("1000.00"), *_p("drm")] for mo in held if mo > april]
    res += [["v", mo, "salary_net", Decimal("1200.00"), *_p("drm")] for mo in held if mo < dt.date(2026, 3, 1)]
    # three more earners: the months around April hold five rows or more (``HOLE_MIN_ROWS``)
    res += [[f, mo, "salary_net", Decimal("1500.00"), *_p("drm")] for f in ("f1", "f2", "f3") for mo in held]
    who = ("w", "x", "y", "v", "f1", "f2", "f3")
    people = [_person(p, dt.date(1985 if p != "x" else 1950, 1, 1), agency="cnam") for p in who]
    mems = [m for p in who for m in _head(p, f"{p.upper()}1", f"{p.upper()}1", "cnam")]
    core = build_month(_tables(people, mems, res), M)
    got = core.inputs.individu_monthly.filter(pl.col("month") == april).select(
        "person_id", "salary_net", "pension_net", "pension_gross").filter(
        ~pl.col("person_id").str.starts_with("f")).sort("person_id").rows()
    # v: no income that month (no row, every input 0)
    assert got == [("w", 450.0, 0.0, 0.0), ("x", 0.0, 900.0, 990.0), ("y", 500.0, 0.0, 0.0)]
    unk = core.unknowns.filter((pl.col("month") == april) & ~pl.col("id").str.starts_with("f")).filter(
        pl.col("input").is_in(["salary_net", "pension_net", "pension_gross"]))
    assert sorted(unk.select("id", "input", "low", "central", "high", "informed").rows()) == [
        ("w", "salary_net", 337.5, 450.0, 562.5, True),
        ("x", "pension_gross", 742.5, 990.0, 1237.5, True),
        ("x", "pension_net", 675.0, 900.0, 1125.0, True),
        ("y", "salary_net", 0.0, 500.0, 1250.0, True)]
    assert unk["reason"].str.starts_with("mois absent de tout l'extrait du DRM de l'Assurance retraite (04/2026)").all()
    assert core.unknowns.filter((pl.col("month") == dt.date(2026, 3, 1))
                                & pl.col("input").is_in(["salary_net", "pension_net"])).height == 0


def test_a_month_without_a_row_in_a_small_file_is_no_lost_file():
    """A CAF file of two dossiers whose members earned nothing in July and from November to February: each of those
    months, with no row, was read as a file lost in transfer and estimated from the months around it (1,575 € and
    825 € of salary where the person earned nothing, a housing aid of 217 € read as 78 €: an outside tester's
    probe11, run5). With fewer than ``HOLE_MIN_ROWS`` rows on either side, nobody earning that month is as likely:
    the zeros stay, nothing is estimated, the run says no month is missing."""
    from nonrecours.core.resources import HOLE_MIN_ROWS, months_held

    months = [dt.date(2025, 6 + k, 1) if k < 7 else dt.date(2026, k - 6, 1) for k in range(13)]
    off = {dt.date(2025, 7, 1), dt.date(2025, 11, 1), dt.date(2025, 12, 1), dt.date(2026, 1, 1), dt.date(2026, 2, 1)}
    res = [[p, mo, "salary_net", Decimal(a), *_p("caf")] for p, a in (("e", "1575.00"), ("g", "750.00"))
           for mo in months if mo not in off]
    people = [_person(p, dt.date(1985, 1, 1)) for p in ("e", "g")]
    mems = [m for p in ("e", "g") for m in _head(p, f"{p.upper()}1", f"{p.upper()}1", "caf")]
    core = build_month(_tables(people, mems, res), M)
    monthly = core.inputs.individu_monthly
    assert monthly.filter(pl.col("month") == dt.date(2025, 8, 1)).height == 2  # the months held: their salaries
    assert monthly.filter(pl.col("month").is_in(list(off)) & (pl.col("salary_net") > 0)).is_empty()
    assert core.unknowns.filter(pl.col("reason").str.starts_with("mois absent de tout")).is_empty()
    # the same months in a file of five rows a month around them: lost months
    held = pl.DataFrame({"agency": "caf", "month": [m for m in months if m not in off],
                         "len": HOLE_MIN_ROWS}).with_columns(pl.col("month").cast(pl.Date))
    assert months_held(held)["w_holes"].to_list() == [sorted(off)]
    assert months_held(held.with_columns(pl.lit(HOLE_MIN_ROWS - 1).alias("len")))["w_holes"].to_list() == [[]]


def test_a_minor_no_family_agency_lists_is_nobodys_claimant():
    """A child of 8 and a newborn only the CPAM lists (no family agency, no DGFiP declaration) were each made a
    one-person famille, demandeur, and flagged for housing aid and free CSS: now each is the child of a famille
    without a parent, evaluated in no famille and counted; an adult known to the CPAM alone keeps a famille."""
    t = _tables([_person("a", dt.date(1980, 3, 1)), _person("k", dt.date(2018, 5, 1), "cnam"),
                 _person("b", dt.date(2026, 5, 1), "cnam"), _person("y", dt.date(2008, 5, 1), "cnam")],
                [*_head("a", "F1", "F1", "caf")])
    core = build_month(t, M)
    ind = core.inputs.individu
    assert set(_row(ind, "famille_role", "enfant")["person_id"]) == {"k", "b"}
    assert _row(ind, "person_id", "y")["famille_role"].item() == "demandeur"  # 18 in May 2026: an adult
    c = _conflicts(core)
    assert c["minor_in_no_famille"] == 2 and c["famille_without_parent"] == 2
    from nonrecours.detection import detect

    det = detect(core, t)
    units = set(det.units["unit_id"])
    assert units and not {f"core-famille:{p}" for p in ("k", "b")} & units
    assert "core-famille:y" in units and "caf:F1" in units


def test_a_later_extract_of_the_agency_gives_a_dossiers_composition():
    """Monthly CAF files: February's lists the couple in dossier F1, June's lists the man alone in F1 (still paid
    the RSA) and the woman in her own F2 since March. The February line of the woman in F1 never closes; the paid
    dossier won the precedence and kept her there (the man's single RSA read as an under-payment of the couple's,
    her own famille lost). June is read from the June file; February from February's."""
    from nonrecours.schemas import BENEFITS_PAID

    feb, jun = dt.date(2026, 2, 27), dt.date(2026, 6, 28)

    def mem(pid, kind, uid, role, since, day):
        return [pid, kind, uid, role, since, None, "caf", f"caf-{day:%m}", day]

    old = dt.date(2023, 1, 1)
    # the workspace's rows, one per key (``scan_workspace``: the man's February lines are June's)
    mems = [mem("w", "famille", "F1", "conjoint", old, feb), mem("w", "menage", "F1", "conjoint", old, feb),
            mem("m", "famille", "F1", "demandeur", old, jun),
            mem("m", "menage", "F1", "personne_de_reference", old, jun),
            mem("w", "famille", "F2", "demandeur", dt.date(2026, 3, 1), jun),
            mem("w", "menage", "F2", "personne_de_reference", dt.date(2026, 3, 1), jun)]
    t = _tables([_person("m", dt.date(1980, 1, 1)), _person("w", dt.date(1982, 1, 1))], mems)
    t["benefits_paid"] = BENEFITS_PAID.validate_frame(pl.DataFrame(
        [["famille", "F1", None, "rsa", mo, Decimal("573.49"), "caf", "caf", "caf-06", jun]
         for mo in (dt.date(2026, k, 1) for k in range(1, 7))],
        schema=BENEFITS_PAID.polars_schema, orient="row"))
    june = build_month(t, M)
    fam = dict(june.inputs.individu.select("person_id", "famille_id").iter_rows())
    assert fam == {"m": "caf:F1", "w": "caf:F2"}
    assert _conflicts(june)["membership_superseded_by_later_extract"] == 2  # her famille and ménage lines
    february = build_month(t, dt.date(2026, 2, 1))
    assert dict(february.inputs.individu.select("person_id", "famille_id").iter_rows()) == {"m": "caf:F1",
                                                                                           "w": "caf:F1"}
    assert _conflicts(february)["membership_superseded_by_later_extract"] == 0


def test_facts_two_agencies_give_differently_are_counted():
    """The CAF says French, France Travail non-EEA (a naturalisation one has not seen), and the CPAM another commune:
    the preferred agency's value is read, as documented, and each disagreement counted for the data team (before:
    no count, the flag certain over a contradiction nobody saw)."""
    caf, ft, cnam = _person("a", dt.date(1980, 3, 1)), _person("a", dt.date(1980, 3, 1), "france_travail"), \
        _person("a", dt.date(1980, 3, 1), "cnam")
    ft[3], cnam[5] = "OTHER", "46102"
    t = _tables([caf, ft, cnam, _person("b", dt.date(1990, 1, 1))], [*_head("a", "F1", "F1", "caf")])
    core = build_month(t, M)
    assert {k: core.counts[k] for k in ("persons_nationality_differs", "persons_sex_differs",
                                        "persons_birth_month_differs", "persons_commune_differs")} == {
        "persons_nationality_differs": 1, "persons_sex_differs": 0, "persons_birth_month_differs": 0,
        "persons_commune_differs": 1}
    assert _row(core.inputs.individu, "person_id", "a")["nationality_group"].item() == "FR"


def test_a_child_in_two_dossiers_of_one_agency_is_evaluated_once_and_counted():
    """Separated parents each with a CAF dossier, their son listed in both (alternating custody: no layout field
    says it; an outside tester's probe10, H7): the son is in one famille, the same one on every run, and the core
    counts the person listed twice; each parent keeps a famille of their own."""
    people = [_person("f", dt.date(1988, 1, 1)), _person("m", dt.date(1990, 1, 1)), _person("k", dt.date(2016, 1, 1))]
    mems = [*_head("f", "F7", "F7", "caf"), *_head("m", "M7", "M7", "caf"),
            _mem("k", "famille", "F7", "enfant", "caf"), _mem("k", "menage", "F7", "enfant", "caf"),
            # in the mother's dossier since a later month (one agency's two lines of one start are one canonical key:
            # ingest keeps one, and counts it, ``IngestReport.units_listing_a_person_twice``)
            _mem("k", "famille", "M7", "enfant", "caf", since=dt.date(2024, 3, 1)),
            _mem("k", "menage", "M7", "enfant", "caf", since=dt.date(2024, 3, 1))]
    runs = [build_month(_tables(people, mems), M) for _ in range(3)]
    fams = [_row(core.inputs.individu, "person_id", "k")["famille_id"].to_list() for core in runs]
    assert fams == [["caf:M7"]] * 3  # the later start
    ind = runs[0].inputs.individu
    assert set(_row(ind, "famille_role", "demandeur")["famille_id"]) == {"caf:F7", "caf:M7"}
    assert _conflicts(runs[0])["famille_in_two_dossiers"] == 1
