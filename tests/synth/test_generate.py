"""The synthetic territory: canonical, reproducible, and shaped like the targets it states."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nonrecours.errors import ConfigError
from nonrecours.schemas import TABLES
from nonrecours.synth import TRUTH_TABLES, generate, load_territory
from nonrecours.synth.households import HOUSEHOLD_SHARES, HOUSEHOLD_TYPES

END = dt.date(2026, 6, 1)


@pytest.fixture(scope="module")
def territory(tmp_path_factory):
    out = tmp_path_factory.mktemp("territory")
    paths = generate(20_000, 3, out)
    return {name: pl.read_parquet(p) for name, p in paths.items() if p.suffix == ".parquet"} | {
        "manifest": json.loads(paths["manifest"].read_text())}


def _age(col: str = "birth_month", at: dt.date = END) -> pl.Expr:
    months = (at.year * 12 + at.month) - (pl.col(col).dt.year().cast(pl.Int32) * 12 + pl.col(col).dt.month())
    return (months // 12).alias("age")


def test_tables_are_canonical_and_complete(territory):
    assert territory["persons"].height == 20_000
    assert territory["manifest"]["persons"] == 20_000
    for name in ("persons", "unit_memberships", "resources", "housing", "benefits_paid"):
        TABLES[name].validate_frame(territory[name])
        assert territory["manifest"]["rows"][name] == territory[name].height
    assert set(TRUTH_TABLES) <= set(territory)


def test_same_seed_is_byte_identical_and_another_seed_differs(tmp_path):
    a, b, c = (generate(3_000, s, tmp_path / name) for name, s in (("a", 11), ("b", 11), ("c", 12)))
    for name in TRUTH_TABLES:
        assert a[name].read_bytes() == b[name].read_bytes(), name
    assert a["resources"].read_bytes() != c["resources"].read_bytes()


def test_output_does_not_depend_on_worker_processes(tmp_path):
    one = generate(2_500, 5, tmp_path / "one", chunk_households=300, workers=1)
    two = generate(2_500, 5, tmp_path / "two", chunk_households=300, workers=2)
    for name in TRUTH_TABLES:
        assert one[name].read_bytes() == two[name].read_bytes(), name


def test_household_type_shares_match_targets(territory):
    shares = territory["households"]["household_type"].value_counts(normalize=True)
    got = dict(zip(shares["household_type"].cast(pl.String), shares["proportion"], strict=True))
    for name, target in zip(HOUSEHOLD_TYPES, HOUSEHOLD_SHARES, strict=True):
        assert abs(got[name] - target) < 0.025, (name, got[name], target)


def test_age_pyramid_matches_targets(territory):
    """Targets: under 20 in 20-27%, 20-64 in 47-56%, 65+ in 21-29% (the Lot is old: INSEE 30% are 65+)."""
    age = territory["persons"].select(_age())["age"]
    assert 0.20 <= (age < 20).mean() <= 0.27
    assert 0.47 <= ((age >= 20) & (age < 65)).mean() <= 0.56
    assert 0.21 <= (age >= 65).mean() <= 0.29
    assert age.min() >= 0 and age.max() <= 105
    assert 2.0 <= territory["households"]["size"].mean() <= 2.3


def test_income_ranges(territory):
    last = territory["resources"].filter(pl.col("month") == END).with_columns(pl.col("amount").cast(pl.Float64))
    med = dict(last.group_by("kind").agg(pl.col("amount").median()).iter_rows())
    assert 1_600 <= med["salary_net"] <= 2_100           # net salary: median of full and part time
    assert 1_050 <= med["pension_net"] <= 1_500           # net pensions (DREES: about 1,500 gross)
    assert 700 <= med["unemployment_benefit"] <= 1_600
    pensions = last.filter(pl.col("kind") == "pension_gross")["amount"]
    assert 0.10 <= (pensions < 1_000).mean() <= 0.28      # the small pensions ASPA is about
    taxable = last.pivot("kind", index="person_id", values="amount").drop_nulls(["salary_net", "salary_taxable"])
    ratio = taxable["salary_taxable"] / taxable["salary_net"]
    assert ratio.min() > 1.035 and ratio.max() < 1.038
    # salaries change over time: a yearly raise, noise, December bonuses.
    per_person = territory["resources"].filter(pl.col("kind") == "salary_net").group_by("person_id").agg(
        pl.col("amount").cast(pl.Float64).n_unique().alias("distinct"))
    assert per_person["distinct"].median() > 12


def test_unemployment_spells_replace_salaries(territory):
    r = territory["resources"].filter(pl.col("kind").is_in(["salary_net", "unemployment_benefit"]))
    both = r.group_by("person_id", "month").agg(pl.col("kind").n_unique().alias("n")).filter(pl.col("n") > 1)
    assert both.height == 0
    switched = r.group_by("person_id").agg(pl.col("kind").n_unique().alias("n")).filter(pl.col("n") == 2)
    assert switched.height > 100


def test_every_person_in_exactly_one_famille_and_menage_each_month(territory):
    _check_units(territory["persons"], territory["unit_memberships"])


def _check_units(persons: pl.DataFrame, memberships: pl.DataFrame) -> None:
    months = pl.date_range(dt.date(2024, 7, 1), END, "1mo", eager=True).alias("month").to_frame()
    alive = persons.select("person_id", "birth_month").join(months, how="cross").with_columns(
        pl.max_horizontal(pl.col("birth_month"), pl.lit(dt.date(2024, 7, 1))).alias("from"))
    alive = alive.filter(pl.col("month") >= pl.col("from"))
    for kind in ("famille", "menage", "foyer_fiscal"):
        m = memberships.filter(pl.col("unit_kind") == kind)
        covered = alive.join(m, on="person_id", how="left").filter(
            (pl.col("month") >= pl.col("valid_from"))
            & (pl.col("valid_to").is_null() | (pl.col("month") <= pl.col("valid_to"))))
        counts = covered.group_by("person_id", "month").len()
        assert counts.height == alive.height, kind
        assert counts["len"].max() == 1, kind


def _check_roles(persons: pl.DataFrame, memberships: pl.DataFrame) -> None:
    ages = persons.select("person_id", _age())
    fam = memberships.filter(pl.col("unit_kind") == "famille").join(ages, on="person_id")
    per_fam = fam.group_by("unit_id").agg(
        (pl.col("role") == "demandeur").sum().alias("demandeurs"),
        (pl.col("role") == "conjoint").sum().alias("conjoints"),
        pl.col("age").filter(pl.col("role") != "enfant").min().alias("youngest_parent"),
        pl.col("age").filter(pl.col("role") == "enfant").max().alias("oldest_child"),
    )
    assert (per_fam["demandeurs"] == 1).all()
    assert per_fam["conjoints"].max() <= 1
    with_children = per_fam.drop_nulls("oldest_child")
    assert (with_children["youngest_parent"] - with_children["oldest_child"] >= 15).all()
    men = memberships.filter(pl.col("unit_kind") == "menage").group_by("unit_id").agg(
        (pl.col("role") == "personne_de_reference").sum().alias("refs"))
    assert (men["refs"] == 1).all()
    foyer = memberships.filter(pl.col("unit_kind") == "foyer_fiscal").group_by("unit_id").agg(
        (pl.col("role") == "declarant").sum().alias("declarants"))
    assert foyer["declarants"].is_between(1, 2).all()


def test_units_have_one_head_and_children_are_younger_than_parents(territory):
    _check_roles(territory["persons"], territory["unit_memberships"])


def test_identities_are_valid_unique_nirs(territory):
    ids = territory["identities"]
    assert ids["nir"].n_unique() == ids.height
    n13 = pl.col("nir").str.slice(0, 13).str.replace("2A", "19").str.replace("2B", "18").cast(pl.Int64)
    ok = ids.select(((97 - n13 % 97) == pl.col("nir").str.slice(13, 2).cast(pl.Int64)).all()).item()
    assert ok
    joined = ids.join(territory["persons"], on="person_id")
    sex_digit = joined.select((pl.col("nir").str.slice(0, 1) == pl.when(pl.col("sex") == "M").then(pl.lit("1"))
                               .otherwise(pl.lit("2"))).all()).item()
    assert sex_digit
    assert joined.select((pl.col("birth_date").dt.truncate("1mo") == pl.col("birth_month")).all()).item()


def test_housing_and_caf_payments(territory):
    housing = territory["housing"]
    assert housing.height == territory["households"].height * 24
    renters = housing.filter(pl.col("status").is_in(["tenant", "social_tenant", "tenant_furnished"]))
    assert (renters["rent"].cast(pl.Float64) > 0).all()
    owners = housing.filter(pl.col("status").is_in(["owner", "free", "homeless"]))
    assert (owners["rent"].cast(pl.Float64) == 0).all()
    paid = territory["benefits_paid"]
    af_2024_11 = paid.filter((pl.col("benefit") == "af") & (pl.col("month") == dt.date(2024, 11, 1)))
    # two children under 20 and none of 14+: 32% of the BMAF (466.44 EUR from 2024-04).
    assert 149.26 in af_2024_11["amount"].cast(pl.Float64).to_list()
    assert set(paid["paying_agency"].cast(pl.String).unique()) == {"caf", "msa"}


def test_territories_use_real_commune_codes():
    cahors = load_territory("cahors")
    assert cahors.height == 59 and "46042" in cahors["depcom"].to_list()
    assert abs(cahors["weight"].sum() - 1) < 1e-9
    france = load_territory("france")
    assert france["departement"].n_unique() == 96
    with pytest.raises(ConfigError):
        load_territory("atlantis")


def test_france_territory_spreads_over_departements(tmp_path):
    paths = generate(4_000, 1, tmp_path, territory="france")
    deps = pl.read_parquet(paths["persons"])["depcom"].str.slice(0, 2).n_unique()
    assert deps > 60


def test_bad_arguments_are_config_errors(tmp_path):
    with pytest.raises(ConfigError):
        generate(0, 1, tmp_path)
    with pytest.raises(ConfigError):
        generate(10, 1, tmp_path, end_month=dt.date(2026, 6, 15))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(persons=st.integers(1, 400), seed=st.integers(0, 2**31), chunk=st.integers(20, 200))
def test_invariants_hold_for_any_size_seed_and_chunking(tmp_path_factory, persons, seed, chunk):
    out = tmp_path_factory.mktemp("h")
    paths = generate(persons, seed, out, chunk_households=chunk, workers=1)
    persons_df = pl.read_parquet(paths["persons"])
    memberships = pl.read_parquet(paths["unit_memberships"])
    assert persons_df.height == persons
    _check_units(persons_df, memberships)
    _check_roles(persons_df, memberships)
    resources = pl.read_parquet(paths["resources"]).join(persons_df, on="person_id")
    assert (resources["month"] >= resources["birth_month"]).all()


def test_registrations_cover_every_are_month_and_follow_the_salary(territory):
    """France Travail registration kept by the truth: every month with ARE is registered (the ARE is paid to
    registered jobseekers only), the category follows the month's salary, the registration date precedes it."""
    from nonrecours.synth.income import CATEGORY_B_BELOW

    reg = territory["registrations"]
    res = territory["resources"]
    are = res.filter(pl.col("kind").cast(pl.String) == "unemployment_benefit").select("person_id", "month")
    assert are.height > 0 and are.join(reg, on=["person_id", "month"], how="anti").is_empty()
    assert reg.height > are.height  # long-term jobseekers without ARE and part-time workers are registered too
    assert reg.filter(pl.col("registered_on") > pl.col("month").dt.month_end()).is_empty()
    sal = res.filter(pl.col("kind").cast(pl.String) == "salary_net").select(
        "person_id", "month", pl.col("amount").cast(pl.Float64))
    cat = reg.join(sal, on=["person_id", "month"], how="left").with_columns(pl.col("amount").fill_null(0.0))
    expected = (pl.when(pl.col("amount") <= 0).then(pl.lit("A")).when(pl.col("amount") < CATEGORY_B_BELOW)
                .then(pl.lit("B")).otherwise(pl.lit("C")))
    assert (cat.get_column("category").cast(pl.String) == cat.select(expected).to_series()).all()
    assert set(reg.get_column("category").cast(pl.String).unique()) == {"A", "B", "C"}


def test_rsdae_and_unfitness_are_drawn_where_they_can_exist(territory):
    """RSDAE only at a 50-79 % rate between 20 and 63, unfitness for work only for retirees of 60 and over: a
    mix of both, in plausible shares (synth.capacity), nobody else."""
    persons = territory["persons"].with_columns(_age())
    retirees = territory["resources"].filter(pl.col("kind").cast(pl.String) == "pension_gross").select(
        "person_id").unique()
    persons = persons.with_columns(pl.col("person_id").is_in(retirees["person_id"].implode()).alias("retired"))
    band = pl.col("disability_rate").is_between(0.5, 0.79) & pl.col("age").is_between(20, 63)
    assert persons.filter(pl.col("rsdae") & ~band).is_empty()
    assert 0.15 <= persons.filter(band)["rsdae"].mean() <= 0.6
    assert persons.filter(pl.col("unfit_for_work") & ~(pl.col("retired") & (pl.col("age") >= 60))).is_empty()
    assert 0.08 <= persons.filter(pl.col("retired") & (pl.col("age") >= 60))["unfit_for_work"].mean() <= 0.25
    assert not persons["recent_isolation"].any()  # not modelled: false, as a fact


def test_the_rules_read_the_drawn_rsdae_and_unfitness(tmp_path):
    """On the truth: AAH eligibility at 50-79 % exactly for those with a RSDAE (CSS art. L821-2); at 64 (the
    legal retirement age) with a rate under 50 %, ASPA eligibility only for those unfit for work (L815-1)."""
    from nonrecours.core import build_inputs
    from nonrecours.engine import evaluate

    paths = generate(5_000, 3, tmp_path)
    tables = {n: pl.scan_parquet(paths[n]) for n in ("persons", "unit_memberships", "resources", "benefits_paid",
                                                     "housing")}
    ind = evaluate(["aah_eligible", "aspa_eligibilite"], build_inputs(tables, END), END)["individu"]
    people = pl.read_parquet(paths["persons"]).with_columns(_age()).join(ind, on="person_id")
    band = people.filter(pl.col("disability_rate").is_between(0.5, 0.79) & pl.col("age").is_between(20, 63))
    assert band["rsdae"].sum() > 0 and (~band["rsdae"]).sum() > 0
    assert band["aah_eligible"].equals(band["rsdae"])
    at_64 = people.filter((pl.col("age") == 64) & (pl.col("disability_rate") < 0.5)
                          & (pl.col("nationality_group").cast(pl.String) == "FR"))
    assert at_64["unfit_for_work"].sum() > 0 and (~at_64["unfit_for_work"]).sum() > 0
    assert at_64["aspa_eligibilite"].equals(at_64["unfit_for_work"])
