"""The six native extracts written from the truth: reproducible, noisy as declared, take-up drawn per unit."""

from __future__ import annotations

import datetime as dt
import importlib
import json
from pathlib import Path

import polars as pl
import pytest
import yaml

from nonrecours.schemas.benefits import CATALOGUE
from nonrecours.synth import extracts, generate
from nonrecours.synth.extracts import TAKE_UP_RATES, Noise, draw_take_up, stable_uniform, write_extracts

FILES = ("caf.dat", "cnam.csv", "france_travail.csv", "dgfip.parquet", "cnav.csv", "msa.csv", "drm.csv",
         "manifest.json")


@pytest.fixture(scope="module")
def truth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("truth")
    generate(600, 5, root)
    return root / "truth"


def _entitlements(truth: Path) -> pl.DataFrame:
    """A hand-made entitlement frame: every famille entitled to RSA and CSS over the last three months."""
    fam = pl.read_parquet(truth / "unit_memberships.parquet").filter(
        pl.col("unit_kind").cast(pl.String) == "famille").select("unit_id").unique()
    last = pl.read_parquet(truth / "resources.parquet").get_column("month").max()
    months = pl.date_range(pl.select(pl.lit(last).dt.offset_by("-2mo")).item(), last, "1mo", eager=True)
    grid = fam.join(pl.DataFrame({"month": months}), how="cross").join(
        pl.DataFrame({"benefit": ["rsa", "css_free"], "amount": [500.0, 0.0]}), how="cross")
    return grid.with_columns(pl.lit("famille").alias("unit_kind"))


def test_same_seed_same_bytes(truth: Path, tmp_path: Path) -> None:
    a = write_extracts(truth, tmp_path / "a", seed=3)
    write_extracts(truth, tmp_path / "b", seed=3)
    c = write_extracts(truth, tmp_path / "c", seed=4)
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert a["cnam"].read_bytes() != c["cnam"].read_bytes()


def test_formats_and_manifest(truth: Path, tmp_path: Path) -> None:
    paths = write_extracts(truth, tmp_path, seed=3)
    caf = paths["caf"].read_bytes().decode("latin-1").split("\n")[:-1]
    assert {len(line) for line in caf} == {120}
    assert caf[0].startswith("00CAF46") and caf[-1] == ("99" + str(len(caf)).zfill(9)).ljust(120)
    assert paths["cnam"].read_bytes().startswith(b"\xef\xbb\xbfNIR_BENEFICIAIRE;")
    assert pl.read_parquet(paths["dgfip"]).schema["date_naissance"] == pl.Date
    paths["msa"].read_bytes().decode("cp1252")
    manifest = json.loads(paths["manifest"].read_text())
    assert len(manifest["months"]) == Noise().months
    for agency, counts in manifest["agencies"].items():
        assert counts["rows"] > 0, agency
        assert counts["nir_typos"] + counts["nir_missing"] <= counts["persons"] + counts["unknown_persons"]
    monthly = [a for a in manifest["agencies"] if a != "dgfip"]
    assert sum(manifest["agencies"][a]["duplicates"] for a in monthly) > 0
    assert sum(manifest["agencies"][a]["late_updates"] for a in monthly) > 0
    assert sum(manifest["agencies"][a]["stale_rows_dropped"] for a in monthly) > 0
    assert "no entitlements" in manifest["take_up"]


def test_nir_noise_matches_manifest(truth: Path, tmp_path: Path) -> None:
    """NIR typos in the CNAV extract break the check key; their count is the manifest's."""
    from stdnum.fr import nir as stdnir

    paths = write_extracts(truth, tmp_path, seed=8, noise=Noise(nir_typo=0.2, nir_missing=0.1))
    df = pl.read_csv(paths["cnav"], separator=";", infer_schema=False)
    per_person = df.select("NIR", "NOM_NAISSANCE", "PRENOMS", "DATE_NAISSANCE").unique()
    bad = [n for n in per_person.get_column("NIR").drop_nulls().to_list() if not stdnir.is_valid(n)]
    counts = json.loads(paths["manifest"].read_text())["agencies"]["cnav"]
    assert len(bad) == counts["nir_typos"] > 0
    assert per_person.get_column("NIR").null_count() == counts["nir_missing"] > 0


def test_take_up_draw_is_per_unit_and_benefit(tmp_path: Path) -> None:
    units = pl.DataFrame({"unit_id": [f"F{i:07d}" for i in range(6000)]})
    months = pl.DataFrame({"month": pl.date_range(pl.date(2026, 1, 1), pl.date(2026, 3, 1), "1mo", eager=True)})
    ent = units.join(months, how="cross").join(pl.DataFrame({"benefit": list(TAKE_UP_RATES)}), how="cross") \
        .with_columns(pl.lit("famille").alias("unit_kind"), pl.lit(100.0).alias("amount"))
    drawn = draw_take_up(ent, seed=1)
    # the same decision for every month of a unit and benefit
    assert drawn.group_by("unit_id", "benefit").agg(pl.col("take_up").n_unique()).get_column("take_up").max() == 1
    rates = drawn.group_by("benefit").agg(pl.col("take_up").mean()).rows()
    for benefit, rate in rates:
        assert abs(rate - TAKE_UP_RATES[benefit]) < 0.025, benefit
    # independent of row order and of the other rows
    shuffled = draw_take_up(ent.sample(fraction=1.0, shuffle=True, seed=9).head(5000), seed=1)
    joined = shuffled.join(drawn, on=["unit_id", "benefit", "month"], suffix="_all")
    assert joined.height == 5000 and (joined["take_up"] == joined["take_up_all"]).all()
    # another seed, other draws; and the frame must be complete
    assert not draw_take_up(ent, seed=2).get_column("take_up").equals(drawn.get_column("take_up"))
    with pytest.raises(ValueError, match="amount"):
        draw_take_up(ent.drop("amount"), seed=1)
    with pytest.raises(ValueError, match="no take-up rate"):
        draw_take_up(ent.with_columns(pl.lit("are").alias("benefit")), seed=1)


def test_stable_uniform_is_pinned() -> None:
    """Pure integer arithmetic: the draws must not change with Polars versions or platforms."""
    df = pl.DataFrame({"a": ["F0000001", "F0000002", "a much longer identifier than fourteen bytes"]})
    u = stable_uniform(df, ["a"], seed=42, salt="take_up").to_list()
    assert u == pytest.approx(PINNED, abs=1e-15)
    assert all(0 <= x < 1 for x in u)


PINNED = [0.518045750517778, 0.10345118416845256, 0.6316397278937996]


def test_entitlements_become_payments_for_takers_only(truth: Path, tmp_path: Path) -> None:
    ent = _entitlements(truth)
    paths = write_extracts(truth, tmp_path / "x", seed=5, entitlements=ent, noise=Noise(duplicates=0,
                                                                                          late_updates=0))
    drawn = pl.read_parquet(truth / "take_up.parquet")
    assert drawn.height == ent.height and {"take_up", "u"} <= set(drawn.columns)
    taken_rsa = drawn.filter((pl.col("benefit") == "rsa") & pl.col("take_up"))
    manifest = json.loads(paths["manifest"].read_text())
    assert manifest["take_up"] == "drawn from entitlements"
    assert manifest["truth_engine"] == "given"  # a frame the caller computed
    assert json.loads((truth / "manifest.json").read_text())["entitlements"]["engine"] == "given"
    caf = pl.Series(paths["caf"].read_bytes().decode("latin-1").split("\n"))
    msa = pl.read_csv(paths["msa"], separator=";", infer_schema=False, encoding="windows-1252")
    rsa_lines = caf.filter(caf.str.starts_with("30") & (caf.str.slice(9, 3) == "RSA")).len()
    # RSA is paid by the CAF to every taker it knows (the MSA pays farmers' family benefits only here)
    assert 0 < rsa_lines <= taken_rsa.height
    assert rsa_lines >= 0.8 * taken_rsa.height
    css = pl.read_csv(paths["cnam"], separator=";", infer_schema=False)
    assert css.filter(pl.col("TOP_CSS") == "1").height > 0
    assert msa.height > 0


@pytest.mark.slow
def test_entitlements_from_our_rules(truth: Path, tmp_path: Path) -> None:
    """Wired to the engine: what the extracts pay is what our rules compute, for takers only."""
    paths = write_extracts(truth, tmp_path, seed=5, entitlements="rules",
                           noise=Noise(months=2, duplicates=0, late_updates=0))
    drawn = pl.read_parquet(truth / "take_up.parquet")
    assert drawn.height > 0
    assert json.loads(paths["manifest"].read_text())["truth_engine"] == "rules"
    months = sorted(f"{m:%Y-%m}" for m in drawn.get_column("month").unique())
    assert json.loads((truth / "manifest.json").read_text())["entitlements"] == {
        "engine": "rules", "months": months, "benefits": [b.code for b in CATALOGUE]}
    assert set(drawn.get_column("benefit").unique()) <= set(TAKE_UP_RATES)
    assert drawn.get_column("take_up").any() and not drawn.get_column("take_up").all()
    caf = pl.Series(paths["caf"].read_bytes().decode("latin-1").split("\n"))
    paid_lines = 0
    for benefit, code in (("rsa", "RSA"), ("ppa", "PPA")):
        taken = drawn.filter((pl.col("benefit") == benefit) & pl.col("take_up"))
        lines = caf.filter(caf.str.starts_with("30") & (caf.str.slice(9, 3) == code))
        cents = set(lines.str.slice(18, 10).cast(pl.Int64).to_list())
        assert cents <= set((taken.get_column("amount") * 100).round(0).cast(pl.Int64).to_list())
        assert lines.len() <= taken.height
        paid_lines += lines.len()
    assert paid_lines > 0  # the rules grant RSA or PPA to some families and the CAF pays the takers
    css_taken = drawn.filter(pl.col("benefit").is_in(["css_free", "css_participation"]) & pl.col("take_up"))
    cnam = pl.read_csv(paths["cnam"], separator=";", infer_schema=False)
    with_css = cnam.filter(pl.col("TOP_CSS") != "0")
    assert (with_css.height > 0) == (css_taken.height > 0)


def test_claims_refusals_closures_and_opt_outs_reach_the_workspace(truth: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Events drawn from the truth (seeded, counted in the manifest) are carried by the extracts and ingested
    into canonical claims and opt_outs."""
    import secrets

    from nonrecours.connectors import ingest_extract
    from nonrecours.connectors.ingest import IngestReport
    from nonrecours.schemas import CLAIMS, OPT_OUTS

    monkeypatch.setenv("NONRECOURS_EXCHANGE_SECRET", secrets.token_urlsafe(40))
    exchange = Path(__file__).resolve().parents[2] / "src" / "nonrecours" / "connectors" / "exchange.toml"
    paths = write_extracts(truth, tmp_path / "x", seed=7, entitlements=_entitlements(truth))
    again = write_extracts(truth, tmp_path / "y", seed=7, entitlements=_entitlements(truth))
    assert paths["caf"].read_bytes() == again["caf"].read_bytes()
    manifest = json.loads(paths["manifest"].read_text())
    drawn = manifest["claims_drawn"]
    assert drawn["pending"] > 0 and drawn["closed"] > 0 and drawn["refused"] > 0 and drawn["opt_out"] > 0
    truth_claims = pl.read_parquet(truth / "claims.parquet")
    assert truth_claims.height == drawn["pending"] + drawn["closed"] + drawn["refused"]
    reports: dict[str, IngestReport] = {a: ingest_extract(a, paths[a], exchange, tmp_path / "ws")
                                        for a in ("caf", "cnam", "cnav", "msa")}
    claims = pl.read_parquet(tmp_path / "ws" / "claims" / "*.parquet")
    CLAIMS.validate_frame(claims)
    written = sum(manifest["agencies"][a]["claims"] for a in reports)
    assert written > 0
    # every claim written is ingested unless the NIR noise of its line quarantined it
    assert 0.9 * written <= claims.height <= written
    assert set(claims.get_column("event").cast(pl.String).unique()) == {"pending", "refused", "closed"}
    by_agency = claims.group_by(pl.col("source_agency").cast(pl.String)).len()
    assert "caf" in by_agency.get_column("source_agency").to_list()
    opt = pl.read_parquet(tmp_path / "ws" / "opt_outs" / "*.parquet")
    OPT_OUTS.validate_frame(opt)
    assert 0 < opt.height <= sum(manifest["agencies"][a]["opt_outs"] for a in reports)
    assert opt.get_column("benefit").is_null().all()  # the drawn objections are to every contact


def test_dgfip_carries_income_years_n2_and_n1_and_the_core_reads_n2_as_observed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The DGFiP holds the income years N-3 to N-1 (avis N-1 on income N-2 and the ones around it): with a truth
    from January of N-3 the extract carries them all (the rules' look-back reads N-2 of months of year N-1),
    each year's salaries the truth's taxable sum, and the core reads
    year N-2 as observed from the DGFiP."""
    import datetime as dt
    import secrets

    from nonrecours.connectors import default_mapping, ingest
    from nonrecours.core import build_month
    from nonrecours.privacy import load_agreement
    from nonrecours.synth import DEFAULT_END_MONTH, tax_window
    from nonrecours.synth.extracts import NET_TO_TAXABLE

    generate(300, 7, tmp_path, months=tax_window(DEFAULT_END_MONTH))
    truth = tmp_path / "truth"
    paths = write_extracts(truth, tmp_path / "x", seed=7, noise=Noise(nir_typo=0.0, nir_missing=0.0))
    dgfip = pl.read_parquet(paths["dgfip"])
    n = DEFAULT_END_MONTH.year
    assert set(dgfip["annee_revenus"].unique().to_list()) == {n - 3, n - 2, n - 1}
    ids = pl.read_parquet(truth / "identities.parquet").select("person_id", "nir")
    sal = (pl.read_parquet(truth / "resources.parquet")
           .filter((pl.col("kind").cast(pl.String) == "salary_net") & (pl.col("month").dt.year() == n - 2))
           .group_by("person_id").agg((pl.col("amount").cast(pl.Float64).sum()
                                       * NET_TO_TAXABLE["salary_net"]).round(0).alias("truth")))
    got = (dgfip.filter(pl.col("annee_revenus") == n - 2).join(ids, on="nir")
           .join(sal, on="person_id").filter(pl.col("truth") > 0))
    assert got.height > 10
    assert (got["salaires_traitements"] - got["truth"]).abs().max() <= 1
    # the quotient familial (CGI art. 194): one part per declarant, a half for each of the first two dependants,
    # a whole one from the third (a foyer with fewer than two dependants read 2**32 - 1 parts: an unsigned count
    # minus 2); the noise drops rows, not parts, so the parts are those of the true foyer: 1 to 2 + its dependants
    assert dgfip["nombre_parts"].is_between(1.0, 8.0).all()
    assert set(dgfip["nombre_parts"].unique().to_list()) >= {1.0, 1.5, 2.0, 2.5, 3.0}
    # through the connector and the core: year N-2 observed from the DGFiP
    monkeypatch.setenv("NONRECOURS_EXCHANGE_SECRET", secrets.token_urlsafe(40))
    agreement = load_agreement(Path(__file__).parents[2] / "src" / "nonrecours" / "connectors" / "exchange.toml")
    report = ingest(paths["dgfip"], default_mapping("dgfip"), agreement, tmp_path / "ws")
    tables = {t: pl.read_parquet(report.outputs[t]) for t in report.tables}
    core = build_month(tables, dt.date(n, 6, 1))
    prov = core.provenance.filter(pl.col("input") == "revenus_n2_renseignes")
    assert prov.filter(pl.col("kind") == "observed").height > 0.9 * prov.height
    observed = prov.filter(pl.col("kind") == "observed")
    assert set(observed["source_agency"].drop_nulls()) == {"dgfip"}
    # with no source: only a person born after year N-2, whose income that year is a known zero (no declaration
    # of a year before one's birth)
    born_after = (core.inputs.individu.filter(pl.col("date_naissance").dt.year() > n - 2)["person_id"].unique())
    assert set(observed.filter(pl.col("source_agency").is_null())["id"]) <= set(born_after)


@pytest.fixture(scope="module")
def tax_truth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A truth from January of N-3 (``tax_window``): the years N-3 to N-1 covered in full."""
    from nonrecours.synth import DEFAULT_END_MONTH, tax_window

    root = tmp_path_factory.mktemp("tax_truth")
    generate(400, 11, root, months=tax_window(DEFAULT_END_MONTH))
    return root / "truth"


def test_the_truth_reads_the_income_of_year_n2_not_the_evaluated_month(tax_truth: Path) -> None:
    """The family benefits' resources are those of year N-2 (CSS art. R532-1, R532-3). The truth has no DGFiP
    extract: its yearly income is its own months' (``truth_annual_income``), so the rules read year N-2 as
    observed. Before, ``revenus_n2_renseignes`` was false for everyone and the truth estimated N-2 as twelve
    times the evaluated month (its ARS of August 2025 came and went with one month's salary)."""
    import datetime as dt

    from nonrecours.core import build_month
    from nonrecours.engine import evaluate

    month = dt.date(2025, 8, 1)
    core = build_month(extracts._truth_tables(tax_truth), month)
    got = evaluate(["revenu_activite_n2", "pensions_n2"], core.inputs, month)["individu"]
    res = pl.read_parquet(tax_truth / "resources.parquet").filter(pl.col("month").dt.year() == 2023)
    factor = {**extracts.NET_TO_TAXABLE, "invalidity_pension": 1.0, "alimony": 1.0}
    taxable = (res.filter(pl.col("kind").cast(pl.String).is_in(list(factor)))
               .with_columns(pl.col("amount").cast(pl.Float64)
                             * pl.col("kind").cast(pl.String).replace_strict(factor, return_dtype=pl.Float64))
               .group_by("person_id").agg(
                   pl.col("amount").filter(pl.col("kind").cast(pl.String).is_in(["salary_net", "unemployment_benefit"]))
                   .sum().alias("activite"),
                   pl.col("amount").filter(pl.col("kind").cast(pl.String).is_in(
                       ["pension_net", "invalidity_pension", "alimony"])).sum().alias("pensions")))
    both = got.join(taxable, on="person_id", how="left").with_columns(pl.col("activite", "pensions").fill_null(0.0))
    assert both.height == core.inputs.individu.height > 300
    assert (both["revenu_activite_n2"] - both["activite"]).abs().max() <= 2
    assert (both["pensions_n2"] - both["pensions"]).abs().max() <= 2
    # persons whose salary of August 2025 is not their 2023 average: the evaluated month no longer decides
    aug = (pl.read_parquet(tax_truth / "resources.parquet")
           .filter((pl.col("month") == month) & (pl.col("kind").cast(pl.String) == "salary_net"))
           .select("person_id", (12 * pl.col("amount").cast(pl.Float64) * extracts.NET_TO_TAXABLE["salary_net"])
                   .alias("twelve_months")))
    moved = both.join(aug, on="person_id").filter((pl.col("twelve_months") - pl.col("activite")).abs() > 1000)
    assert moved.height > 5


def test_dgfip_declares_invalidity_pensions_with_the_pensions(tax_truth: Path, tmp_path: Path) -> None:
    """An invalidity pension is taxable, declared with the pensions (CGI art. 79; OpenFisca-France's
    ``revenu_assimile_pension`` counts ``pensions_invalidite``): the DGFiP extract's pensions carry it."""
    paths = write_extracts(tax_truth, tmp_path / "x", seed=11, noise=Noise(nir_typo=0.0, nir_missing=0.0))
    dgfip = pl.read_parquet(paths["dgfip"])
    ids = pl.read_parquet(tax_truth / "identities.parquet").select("person_id", "nir")
    res = pl.read_parquet(tax_truth / "resources.parquet").filter(pl.col("month").dt.year() == 2024)
    inv = (res.filter(pl.col("kind").cast(pl.String) == "invalidity_pension").group_by("person_id")
           .agg(pl.col("amount").cast(pl.Float64).sum().alias("invalidity")))
    net = (res.filter(pl.col("kind").cast(pl.String) == "pension_net").group_by("person_id")
           .agg((pl.col("amount").cast(pl.Float64).sum() * extracts.NET_TO_TAXABLE["pension_net"]).alias("net")))
    got = (dgfip.filter(pl.col("annee_revenus") == 2024).join(ids, on="nir").join(inv, on="person_id")
           .join(net, on="person_id", how="left").with_columns(pl.col("net").fill_null(0.0)))
    assert got.height >= 3
    assert ((got["pensions_retraites"] - (got["net"] + got["invalidity"]).round(0)).abs() <= 1).all()


@pytest.mark.slow
def test_the_truth_counts_the_aah_received_not_the_aah_due(truth: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The AAH is drawn before the benefits that count it: a famille that does not take its AAH up has RSA,
    PPA and CSS computed without it (CASF art. R262-6; CSS art. R844-1, R861-8), as the rules read a workspace."""
    from nonrecours.synth import extracts

    last = pl.read_parquet(truth / "housing.parquet").get_column("month").max()
    # the RSA and the PPA of the last month read the AAH paid in the months before it (two months keep it short:
    # the AAH paid the month before is a third of the RSA's resources of reference)
    months = [pl.select(pl.lit(last).dt.offset_by("-1mo")).item(), last]
    by_rate = {}
    for rate in (0.0, 1.0):
        monkeypatch.setitem(extracts.TAKE_UP_RATES, "aah", rate)
        by_rate[rate] = extracts.take_up_from_rules(truth, months, seed=5)
    aah = by_rate[1.0].filter(pl.col("benefit") == "aah").get_column("unit_id").unique()
    assert aah.len() > 0 and not by_rate[0.0].filter(pl.col("benefit") == "aah").get_column("take_up").any()
    key = ["unit_id", "benefit", "month"]
    counting = ["rsa", "ppa"]
    due, received = (f.filter(pl.col("unit_id").is_in(aah.implode()) & pl.col("benefit").is_in(counting)
                              & (pl.col("month") == last))
                     .select(*key, "amount") for f in (by_rate[1.0], by_rate[0.0]))
    both = received.join(due, on=key, how="left", suffix="_due")
    # without the AAH received every famille is entitled to at least as much, and some to more
    assert (both.get_column("amount") >= both.get_column("amount_due").fill_null(0.0) - 0.01).all()
    assert received.height > due.height or (both.get_column("amount") > both.get_column("amount_due") + 1).any()
    # the other familles' entitlements do not move
    others = [f.filter(~pl.col("unit_id").is_in(aah.implode()) & (pl.col("benefit") != "aah")).select(*key, "amount")
              .sort(key) for f in (by_rate[0.0], by_rate[1.0])]
    assert others[0].equals(others[1])


def test_france_travail_lists_every_registered_jobseeker_with_its_nationality(truth: Path, tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The extract lists every registered jobseeker and month, with or without ARE (the truth's own
    registrations, the RSA takers' parents from 2025: L5411-1 2°), and its ingest gives their nationality."""
    import datetime as dt
    import secrets

    from nonrecours.connectors import ingest_extract
    from nonrecours.synth.extracts import FULL_RATE_AGE, RSA_REGISTRATION_FROM

    monkeypatch.setenv("NONRECOURS_EXCHANGE_SECRET", secrets.token_urlsafe(40))
    exchange = Path(__file__).resolve().parents[2] / "src" / "nonrecours" / "connectors" / "exchange.toml"
    noise = Noise(unknown=0, nir_typo=0, nir_missing=0, stale=0, duplicates=0, late_updates=0)
    paths = write_extracts(truth, tmp_path / "x", seed=5, entitlements=_entitlements(truth), noise=noise)
    months = [dt.date.fromisoformat(f"{m}-01") for m in json.loads(paths["manifest"].read_text())["months"]]
    seekers = pl.read_parquet(truth / "jobseekers.parquet")
    own = pl.read_parquet(truth / "registrations.parquet").filter(pl.col("month").is_in(months))
    # every registration of the truth is listed, and nothing else but the RSA claimants' from 2025
    assert own.select("person_id", "month").join(seekers, on=["person_id", "month"], how="anti").is_empty()
    rsa = seekers.filter(pl.col("basis") == "rsa")
    assert rsa.height > 0 and rsa.get_column("month").min() >= RSA_REGISTRATION_FROM
    taken = pl.read_parquet(truth / "take_up.parquet").filter((pl.col("benefit") == "rsa") & pl.col("take_up")
                                                              & (pl.col("month") >= RSA_REGISTRATION_FROM))
    fam = pl.read_parquet(truth / "unit_memberships.parquet").filter(pl.col("unit_kind").cast(pl.String) == "famille")
    claimants = rsa.join(fam.select("person_id", "unit_id", "role"), on="person_id").join(
        taken.select("unit_id", "month"), on=["unit_id", "month"])
    assert claimants.get_column("role").cast(pl.String).is_in(["demandeur", "conjoint"]).all()
    born = pl.read_parquet(truth / "persons.parquet").select("person_id", "birth_month")
    assert rsa.join(born, on="person_id").filter(
        pl.col("birth_month").dt.offset_by(f"{FULL_RATE_AGE}y") <= pl.col("month")).is_empty()
    ft = pl.read_csv(paths["france_travail"], infer_schema=False)
    assert ft.height == seekers.height  # no noise: one row per registered person and month
    assert set(ft.get_column("categorie")) <= {"A", "B", "C", "D", "E"}
    no_are = ft.filter(pl.col("montant_are").cast(pl.Float64) == 0)
    assert no_are.height > 0 and (no_are.get_column("nb_jours_indemnises") == "0").all()
    assert no_are.get_column("nationalite").is_not_null().all()
    ingest_extract("france_travail", paths["france_travail"], exchange, tmp_path / "ws")
    persons = pl.read_parquet(tmp_path / "ws" / "persons" / "*.parquet")
    assert persons.height == ft.get_column("nir").n_unique()  # the jobseekers without ARE included
    assert persons.get_column("nationality_group").is_not_null().all()
    # « bénéficiaire du RSA »: exactly the parents of a famille the truth pays the RSA that month, from 2025
    paid_parents = seekers.join(fam.select("person_id", "unit_id", "role", "valid_from", "valid_to"),
                                on="person_id").filter(
        (pl.col("valid_from") <= pl.col("month"))
        & (pl.col("valid_to").is_null() | (pl.col("valid_to") >= pl.col("month")))
        & pl.col("role").cast(pl.String).is_in(["demandeur", "conjoint"])).join(
        taken.select("unit_id", "month"), on=["unit_id", "month"]).select("person_id", "month").unique()
    said = seekers.filter(pl.col("rsa_recipient")).select("person_id", "month")
    assert said.height > 0 and said.sort(said.columns).equals(paid_parents.sort(said.columns))
    assert (ft.get_column("beneficiaire_rsa") == "O").sum() == said.height
    receipts = pl.read_parquet(tmp_path / "ws" / "benefit_receipts" / "*.parquet")
    assert receipts.height == said.height and set(receipts.get_column("benefit").cast(pl.String)) == {"rsa"}


EXCHANGE = Path(__file__).resolve().parents[2] / "src" / "nonrecours" / "connectors" / "exchange.toml"
CAF_MAPPING = EXCHANGE.parent / "mappings" / "caf.yaml"


@pytest.fixture(scope="module")
def larger_truth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 persons: enough for a few RSDAE, unfit retirees and invalidity pensioners."""
    root = tmp_path_factory.mktemp("truth3000")
    generate(3_000, 5, root)
    return root / "truth"



def test_caf_rsdae_and_cnav_unfitness_carry_the_drawn_mix(larger_truth: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The truth draws RSDAE and unfitness for work (synth.capacity): the CAF's RSDAE (given from a 50 % rate,
    blank below) and the CNAV's INAPTITUDE (every retiree) carry both answers through ingest, no more than the
    truth has."""
    import secrets

    from nonrecours.connectors import ingest_extract

    monkeypatch.setenv("NONRECOURS_EXCHANGE_SECRET", secrets.token_urlsafe(40))
    exchange = EXCHANGE
    truth = pl.read_parquet(larger_truth / "persons.parquet")
    paths = write_extracts(larger_truth, tmp_path / "x", seed=5)

    def persons(agency: str) -> pl.DataFrame:
        report = ingest_extract(agency, paths[agency], exchange, tmp_path / "ws")
        return pl.read_parquet(report.outputs["persons"])

    caf = persons("caf")
    given = caf.filter(pl.col("rsdae").is_not_null())
    assert given["rsdae"].sum() > 0 and (~given["rsdae"]).sum() > 0
    assert given["disability_rate"].min() >= 0.5
    assert caf.filter(pl.col("disability_rate") < 0.5)["rsdae"].is_null().all()
    cnav = persons("cnav")
    assert cnav["unfit_for_work"].null_count() == 0
    assert cnav["unfit_for_work"].sum() > 0 and (~cnav["unfit_for_work"]).sum() > 0
    assert given["rsdae"].sum() <= truth["rsdae"].sum()
    assert cnav["unfit_for_work"].sum() <= truth["unfit_for_work"].sum()



def test_asi_claims_go_through_the_cnam_and_msa_layouts_to_the_exclusions(larger_truth: Path, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The ASI's claims, refusals and closures: drawn (refusals only where an invalidity pension is drawn), written
    by the CPAM (ASI_EVENEMENT, with the pension it tops up) and the MSA (PRESTATION ASI), ingested as canonical
    claims, and read by detection's exclusions: pending → pending_claim, a recent refusal or closure → recent_*."""
    import datetime as dt
    import secrets

    from nonrecours.connectors import ingest_extract
    from nonrecours.detection.exclusions import exclusions
    from nonrecours.detection.targets import DetectionConfig

    monkeypatch.setenv("NONRECOURS_EXCHANGE_SECRET", secrets.token_urlsafe(40))
    fam = pl.read_parquet(larger_truth / "unit_memberships.parquet").filter(
        pl.col("unit_kind").cast(pl.String) == "famille").select("unit_id").unique().sort("unit_id")
    last = pl.read_parquet(larger_truth / "resources.parquet").get_column("month").max()
    # every other famille entitled to the ASI (hand-made): its non-takers draw claims, the others refusals
    entitled = fam.gather_every(2).join(pl.DataFrame({"month": [last]}), how="cross").with_columns(
        pl.lit("famille").alias("unit_kind"), pl.lit("asi").alias("benefit"), pl.lit(220.0).alias("amount"))
    from nonrecours.synth import extracts

    monkeypatch.setitem(extracts.CLAIM_SHARES, "refused", 0.5)  # the routing is tested here, not the rate
    paths = write_extracts(larger_truth, tmp_path / "x", seed=5, entitlements=entitled)
    drawn = pl.read_parquet(larger_truth / "claims.parquet").filter(pl.col("benefit") == "asi")
    assert set(drawn.get_column("event")) == {"pending", "closed", "refused"}
    # a refusal of the ASI only where the famille draws an invalidity pension (the ASI tops one up)
    members = pl.read_parquet(larger_truth / "unit_memberships.parquet").filter(
        pl.col("unit_kind").cast(pl.String) == "famille").select("person_id", "unit_id")
    pensioned = pl.read_parquet(larger_truth / "resources.parquet").filter(
        (pl.col("kind").cast(pl.String) == "invalidity_pension") & (pl.col("month") == last)).join(
        members, on="person_id").get_column("unit_id")
    refused = drawn.filter(pl.col("event") == "refused").join(members, on="person_id")
    assert refused.height > 0 and refused.get_column("unit_id").is_in(pensioned.implode()).all()
    manifest = json.loads(paths["manifest"].read_text())
    for agency in ("cnam", "msa"):
        ingest_extract(agency, paths[agency], EXCHANGE, tmp_path / "ws")
    claims = pl.read_parquet(tmp_path / "ws" / "claims" / "*.parquet").filter(pl.col("benefit") == "asi")
    by = dict(claims.group_by(pl.col("source_agency").cast(pl.String)).len().iter_rows())
    assert by.get("cnam", 0) > 0 and by.get("msa", 0) > 0 and set(by) == {"cnam", "msa"}
    assert claims.height <= drawn.height and claims.height <= manifest["agencies"]["cnam"]["claims"] + \
        manifest["agencies"]["msa"]["claims"]
    # detection: each claimant as the adult of a famille of their own
    adults = claims.select(pl.concat_str(pl.lit("f-"), "person_id").alias("famille_id"), "person_id").unique()
    config = DetectionConfig(benefits=("asi",), refusal_months={"asi": 6}, closure_months={"asi": 6})
    found, checked = exclusions({"claims": claims}, adults, last, config)
    assert checked["pending_claim"] and checked["recent_refusal"] and checked["recent_closure"]
    got = {(r["famille_id"], r["exclusion"]) for r in found.filter(pl.col("benefit") == "asi").iter_rows(named=True)}
    expected = {"pending": "pending_claim", "refused": "recent_refusal", "closed": "recent_closure"}
    for r in claims.iter_rows(named=True):
        assert (f"f-{r['person_id']}", expected[r["event"]]) in got, r["event"]
    assert last - dt.timedelta(days=180) < claims.get_column("event_date").min()  # all within the windows
    # with a three-month closure window (the ASI's default is the catalogue's six), a closure four months old no
    # longer excludes
    found, _ = exclusions({"claims": claims}, adults, last, DetectionConfig(benefits=("asi",),
                                                                            closure_months={"asi": 3}))
    assert not found.filter(pl.col("exclusion") == "recent_closure").height
    assert found.filter(pl.col("exclusion") == "pending_claim").height == claims.filter(
        pl.col("event") == "pending").select("person_id").n_unique()



def _paid_rows(drawn: pl.DataFrame, schema: pl.Schema) -> pl.LazyFrame:
    """The takers' payments of ``drawn`` as the truth's ``benefits_paid`` rows (paid by the CAF)."""
    return extracts._payments(drawn).select(
        pl.col("unit_kind").cast(schema["unit_kind"]), "unit_id", pl.lit(None, dtype=pl.String).alias("person_id"),
        pl.col("benefit").cast(schema["benefit"]), "month", pl.col("amount").cast(schema["amount"]),
        pl.lit("caf").cast(schema["paying_agency"]).alias("paying_agency"),
        pl.lit("synth").cast(schema["source_agency"]).alias("source_agency"),
        *[pl.lit(None, dtype=schema[c]).alias(c) for c in schema.names()
          if c not in ("unit_kind", "unit_id", "person_id", "benefit", "month", "amount", "paying_agency",
                       "source_agency")]).select(schema.names()).lazy()


@pytest.mark.slow
def test_take_up_steps_equal_a_fresh_join_per_month_and_benefit(truth: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``take_up_from_rules`` builds each month's inputs once, reads only the payments again at each step and
    evaluates the benefits reading no payment together: the same frame as a fresh join and evaluation per month
    and benefit on what is paid so far, month after month (the housing aid of a month reads the RSA drawn for the
    month before, CCH art. R822-17), also when the months are split into several chunks."""
    from nonrecours.core import build_inputs
    from nonrecours.engine import evaluate
    from nonrecours.synth import extracts

    evaluate_module = importlib.import_module("nonrecours.engine.evaluate")

    last = pl.read_parquet(truth / "housing.parquet").get_column("month").max()
    months = [pl.select(pl.lit(last).dt.offset_by("-1mo")).item(), last]
    tables = extracts._truth_tables(truth)
    truth_paid = tables["benefits_paid"]
    schema = truth_paid.collect_schema()
    paid = truth_paid.filter(~pl.col("benefit").cast(pl.String).is_in(list(extracts.FEEDING)))

    def entitled(codes: tuple[str, ...], benefits_paid: pl.LazyFrame, month: dt.date) -> pl.DataFrame:
        rows = [extracts.catalogue_row(b) for b in codes]
        targets = list(dict.fromkeys(r for b in rows for r in b.rules))
        inputs = build_inputs({**tables, "benefits_paid": benefits_paid}, month)
        fam = evaluate(targets, inputs, month)["famille"].rename({"famille_id": "unit_id"})
        return extracts.draw_take_up(extracts._entitlements(extracts._entitlement_rows(fam, month, rows)), seed=5)

    expected = []
    for month in months:
        for code in extracts.FEEDING:
            drawn = entitled((code,), paid, month)
            expected.append(drawn)
            paid = pl.concat([paid, _paid_rows(drawn, schema)])
        expected.append(entitled(tuple(b.code for b in CATALOGUE if b.code not in extracts.FEEDING), paid, month))
    want = pl.concat(expected).sort("unit_id", "benefit", "month")
    # the housing aid reads the payments (the RSA received among them), so it has a step of its own; the AAH
    # reads the ASPA's (CSS art. L821-1), drawn before it, and its own
    assert "rsa_percu" in extracts._payments_read("aide_logement")
    assert extracts._payments_read("aah") == {"aah_versee", "aah_versee_connue", "aspa_versee", "aspa_versee_connue"}
    assert extracts.FEEDING.index("aspa") < extracts.FEEDING.index("aah")
    assert extracts._reads_later_payments()
    assert want.filter(pl.col("benefit") == "aide_logement").height > 0
    for stack_rows in (evaluate_module.STACK_ROWS, 1):  # all months in one chunk, then one month a chunk
        monkeypatch.setattr(evaluate_module, "STACK_ROWS", stack_rows)
        assert extracts.take_up_from_rules(truth, months, seed=5).equals(want), stack_rows


@pytest.mark.slow
def test_the_truths_housing_aid_reads_the_rsa_received_not_the_rsa_due(larger_truth: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """CCH art. R822-17: the housing aid of a month neutralises the activity income of a famille that received the
    RSA the month before. A famille that does not take its RSA up gets the housing aid of a famille without the
    neutralisation (its resources are ``aide_logement_base_ressources_hors_neutralisation``), as detection reads a
    workspace whose payer paid it no RSA; the same famille taking it up gets the neutralised one."""
    from nonrecours.core import build_inputs
    from nonrecours.engine import evaluate
    from nonrecours.synth import extracts

    truth = larger_truth  # 3,000 persons: RSA familles with earnings to neutralise
    last = pl.read_parquet(truth / "housing.parquet").get_column("month").max()
    before = pl.select(pl.lit(last).dt.offset_by("-1mo")).item()
    tables = extracts._truth_tables(truth)
    schema = tables["benefits_paid"].collect_schema()
    base = tables["benefits_paid"].filter(~pl.col("benefit").cast(pl.String).is_in(list(extracts.FEEDING)))
    aid = {}
    for rate in (0.0, 1.0):
        monkeypatch.setitem(extracts.TAKE_UP_RATES, "rsa", rate)
        drawn = extracts.take_up_from_rules(truth, [before, last], seed=5)
        paid = pl.concat([base, _paid_rows(drawn.filter(pl.col("benefit").is_in(list(extracts.FEEDING))), schema)])
        fam = evaluate(["aide_logement", "aide_logement_base_ressources",
                        "aide_logement_base_ressources_hors_neutralisation", "al_rsa_mois_precedent"],
                       build_inputs({**tables, "benefits_paid": paid}, last), last)["famille"]
        truth_aid = drawn.filter((pl.col("benefit") == "aide_logement") & (pl.col("month") == last)).select(
            pl.col("unit_id").alias("famille_id"), pl.col("amount").alias("truth"))
        aid[rate] = fam.join(truth_aid, on="famille_id", how="left").with_columns(pl.col("truth").fill_null(0.0))
        rsa_before = drawn.filter((pl.col("benefit") == "rsa") & (pl.col("month") == before)).get_column("unit_id")
    rsa = aid[0.0].filter(pl.col("famille_id").is_in(rsa_before.implode()))
    assert rsa.height > 0
    # not received: never neutralised, the housing aid without the neutralisation
    assert not rsa.get_column("al_rsa_mois_precedent").any()
    assert rsa.get_column("aide_logement_base_ressources").equals(
        rsa.get_column("aide_logement_base_ressources_hors_neutralisation"), check_names=False)
    assert (rsa.get_column("truth") - rsa.get_column("aide_logement").round(2)).abs().max() < 0.01
    took = aid[1.0].filter(pl.col("famille_id").is_in(rsa_before.implode()))
    assert took.get_column("al_rsa_mois_precedent").all()
    both = rsa.join(took, on="famille_id", suffix="_took")
    # the neutralisation raises the aid of some, lowers none
    assert (both.get_column("truth_took") >= both.get_column("truth") - 0.01).all()
    assert (both.get_column("truth_took") > both.get_column("truth") + 1).any()
    # the other familles' housing aid does not move
    others = [a.filter(~pl.col("famille_id").is_in(rsa_before.implode())).select("famille_id", "truth")
              .sort("famille_id") for a in (aid[0.0], aid[1.0])]
    assert others[0].equals(others[1])


def test_colocations_and_rooms_reach_the_workspace_through_the_caf_layout(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The truth lets some private tenants alone share a flat or rent a room (synth.income.SHARED_RENTAL_SHARES);
    the CAF's logement record carries both flags (COLOCATION, CHAMBRE: O/N) and ingest reads them back: each
    housing row of the workspace is a truth row of the same month, status, rent and flags, and every flag the
    truth sets for a dossier's ménage arrives."""
    import secrets

    from nonrecours.connectors import ingest_extract

    monkeypatch.setenv("NONRECOURS_EXCHANGE_SECRET", secrets.token_urlsafe(40))
    generate(10_000, 8, tmp_path)  # 19 colocations and 7 rooms a month, some of them CAF allocataires
    larger_truth = tmp_path / "truth"
    truth = pl.read_parquet(larger_truth / "housing.parquet")
    assert truth.filter(pl.col("colocation")).height > 0 and truth.filter(pl.col("chambre")).height > 0
    shared = truth.filter(pl.col("colocation") | pl.col("chambre"))
    assert not (shared["colocation"] & shared["chambre"]).any()
    assert shared["status"].cast(pl.String).is_in(["tenant", "tenant_furnished"]).all()
    paths = write_extracts(larger_truth, tmp_path / "x", seed=5)
    report = ingest_extract("caf", paths["caf"], EXCHANGE, tmp_path / "ws")
    ws = pl.read_parquet(report.outputs["housing"])
    assert ws["colocation"].null_count() == 0 and ws["chambre"].null_count() == 0
    cols = ["month", "status", "rent", "colocation", "chambre", "loan_date"]
    as_text = [pl.col("status").cast(pl.String), pl.col("rent").cast(pl.Float64)]
    got = ws.select(cols).with_columns(as_text)
    want = truth.select(cols).with_columns(as_text).unique()
    assert got.join(want, on=cols, how="anti", nulls_equal=True).is_empty()  # nothing the truth does not hold
    n_coloc, n_room = int(got["colocation"].sum()), int(got["chambre"].sum())
    assert n_coloc > 0 and n_room > 0
    # the truth's shared rows of the extract's months, for the ménages the CAF writes (one logement record per
    # dossier and month): as many flags arrive as the matching truth rows carry
    months = got.get_column("month").unique().implode()
    matching = got.select(cols[:3]).join(truth.filter(pl.col("month").is_in(months)).select(cols)
                                         .with_columns(as_text), on=cols[:3], how="inner")
    assert int(matching["colocation"].sum()) >= n_coloc and int(matching["chambre"].sum()) >= n_room


def test_accedants_loan_dates_reach_the_workspace_through_the_caf_layout(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The truth dates every accédant's loan (synth.income.LOAN_RECENCY: most signed from 2018, so closed to the
    aid in accession) and no other status has one; the CAF's logement record carries it (DATE_PRET, AAAAMMJJ)
    and ingest reads it back as the truth's date; a blank DATE_PRET is read as unknown (null), not as a date."""
    import secrets

    from nonrecours.connectors import ingest_extract

    monkeypatch.setenv("NONRECOURS_EXCHANGE_SECRET", secrets.token_urlsafe(40))
    generate(3_000, 11, tmp_path)
    truth = pl.read_parquet(tmp_path / "truth" / "housing.parquet")
    accedant = pl.col("status").cast(pl.String) == "owner_with_loan"
    assert truth.filter(accedant)["loan_date"].null_count() == 0
    assert truth.filter(~accedant)["loan_date"].null_count() == truth.filter(~accedant).height
    loans = truth.filter(accedant).unique("menage_id")
    old = loans.filter(pl.col("loan_date") < dt.date(2018, 1, 1)).height / loans.height
    assert 0.3 < old < 0.5, old
    assert loans["loan_date"].max() <= truth["month"].min()
    paths = write_extracts(tmp_path / "truth", tmp_path / "x", seed=5)
    report = ingest_extract("caf", paths["caf"], EXCHANGE, tmp_path / "ws")
    ws = pl.read_parquet(report.outputs["housing"])
    got = ws.filter(accedant)
    assert got.height > 0 and got["loan_date"].null_count() == 0
    assert ws.filter(~accedant)["loan_date"].null_count() == ws.filter(~accedant).height
    want = truth.select("month", "status", "loan_date").with_columns(pl.col("status").cast(pl.String)).unique()
    assert got.select("month", pl.col("status").cast(pl.String), "loan_date").join(
        want, on=["month", "status", "loan_date"], how="anti").is_empty()
    # the same extract with DATE_PRET blanked on its logement records: the dates are unknown, every row accepted
    layout = {f["source"]: f for r in yaml.safe_load(CAF_MAPPING.read_text())["records"] if r["name"] == "logement"
              for f in r["fields"]}["DATE_PRET"]
    start, length = layout["start"] - 1, layout["length"]
    raw = Path(paths["caf"]).read_bytes().decode("latin-1").split("\n")
    blanked = [line[:start] + " " * length + line[start + length:] if line[:2] == "40" and len(line) >= start + length
               else line for line in raw]
    blank_path = tmp_path / "caf_blank.dat"
    blank_path.write_bytes("\n".join(blanked).encode("latin-1"))
    again = ingest_extract("caf", blank_path, EXCHANGE, tmp_path / "ws2")
    ws2 = pl.read_parquet(again.outputs["housing"])
    assert ws2.height == ws.height and ws2["loan_date"].null_count() == ws2.height


def test_a_hosted_allocataire_s_caf_record_says_hosted_not_the_host_s_lease(larger_truth: Path, tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A CAF allocataire living in another's home (truth: the ménage's ``autre``, not its reference person or
    partner) has no lease of its own: its logement record says « hébergé à titre gratuit » (GR), rent 0, as the
    truth holds the famille (housed free of charge: no housing aid, the forfait logement). A householder's record
    is its ménage's."""
    import secrets

    from nonrecours.connectors import ingest_extract
    from nonrecours.privacy import load_agreement
    from nonrecours.privacy.pseudonyms import pseudonymise

    monkeypatch.setenv("NONRECOURS_EXCHANGE_SECRET", secrets.token_urlsafe(40))
    # every famille entitled to the RSA: its takers, hosted adults among them, become CAF allocataires
    paths = write_extracts(larger_truth, tmp_path / "x", seed=5, entitlements=_entitlements(larger_truth))
    report = ingest_extract("caf", paths["caf"], EXCHANGE, tmp_path / "ws")
    housing = pl.read_parquet(report.outputs["housing"]).with_columns(pl.col("status").cast(pl.String),
                                                                       pl.col("rent").cast(pl.Float64))
    heads = pl.read_parquet(report.outputs["unit_memberships"]).filter(
        (pl.col("unit_kind").cast(pl.String) == "menage")
        & (pl.col("role").cast(pl.String) == "personne_de_reference")).select("person_id", "unit_id").unique()
    key = load_agreement(EXCHANGE).pseudonym_key()
    ids = pseudonymise(pl.read_parquet(larger_truth / "identities.parquet", columns=["person_id", "nir"]), "nir", key,
                       out="ws_person", key_id_column=None, reason_column=None).select("person_id", "ws_person")
    roles = pl.read_parquet(larger_truth / "unit_memberships.parquet").filter(
        pl.col("unit_kind").cast(pl.String) == "menage").select(
        "person_id", pl.col("unit_id").alias("truth_menage"), pl.col("role").cast(pl.String).alias("truth_role"))
    dossiers = heads.join(ids, left_on="person_id", right_on="ws_person").join(
        roles, left_on="person_id_right", right_on="person_id").select("unit_id", "truth_menage", "truth_role")
    rows = housing.join(dossiers, left_on="menage_id", right_on="unit_id")
    hosted = rows.filter(~pl.col("truth_role").is_in(["personne_de_reference", "conjoint"]))
    assert hosted.select("menage_id").n_unique() >= 3
    assert (hosted["status"] == "free").all() and (hosted["rent"] == 0).all()
    assert not hosted["colocation"].any() and not hosted["chambre"].any() and hosted["loan_date"].is_null().all()
    # a householder's record is its ménage's tenancy, as the truth holds it
    truth = pl.read_parquet(larger_truth / "housing.parquet").select(
        pl.col("menage_id").alias("truth_menage"), "month", pl.col("status").cast(pl.String).alias("want"),
        pl.col("rent").cast(pl.Float64).alias("want_rent"))
    own = rows.filter(pl.col("truth_role") == "personne_de_reference").join(truth, on=["truth_menage", "month"])
    assert own.height > 100 and (own["status"] == own["want"]).all() and (own["rent"] == own["want_rent"]).all()


def test_msa_events_of_one_person_and_month_come_in_the_claims_benefit_order(larger_truth: Path,
                                                                              tmp_path: Path) -> None:
    """Two refusals of one MSA member in one month were written in the order the joins left them, which changes
    from run to run: the same seed wrote other bytes (seen at 100,000 persons). They come in the order of the
    claim's benefit, then its date."""
    paths = write_extracts(larger_truth, tmp_path / "x", seed=5, entitlements=_entitlements(larger_truth))
    msa = pl.read_csv(paths["msa"], separator=";", infer_schema=False, encoding="latin-1").with_row_index("i")
    events = msa.filter(pl.col("PRESTATION").is_not_null()).with_columns(
        pl.col("DATE_EVENEMENT").str.strptime(pl.Date, "%d/%m/%Y"))
    key = ["NUM_DOSSIER", "NIR", "PERIODE", "NATURE"]
    groups = events.group_by(key).agg(pl.col("PRESTATION").sort_by("i"), pl.col("DATE_EVENEMENT").sort_by("i"),
                                      pl.len().alias("n")).filter(pl.col("n") > 1)
    assert groups.height >= 1  # the truth of 3,000 persons has such months
    for written in groups.iter_rows(named=True):
        pairs = list(zip(written["PRESTATION"], written["DATE_EVENEMENT"], strict=True))
        assert pairs == sorted(pairs), written


def test_msa_status_is_the_member_s_own_on_each_of_their_lines(larger_truth: Path, tmp_path: Path) -> None:
    """``STATUT`` said EXP on every adult's member line and RET or SAL on their pension or salary lines: one person,
    several statuses, and a retiree read as a farm operator. It is now the person's: EXP for the truth's
    self-employed, SAL for a salary, RET for a pension, AD otherwise, the same on each of their lines."""
    paths = write_extracts(larger_truth, tmp_path / "x", seed=5)
    msa = pl.read_csv(paths["msa"], separator=";", infer_schema=False, encoding="cp1252")
    per_person = msa.group_by("NIR").agg(pl.col("STATUT").n_unique().alias("n"), pl.col("STATUT").first(),
                                         pl.col("LIEN").first())
    assert per_person["n"].max() == 1
    truth = pl.read_parquet(larger_truth / "persons.parquet").join(
        pl.read_parquet(larger_truth / "identities.parquet").select("person_id", "nir"), on="person_id")
    seen = per_person.join(truth.select(pl.col("nir").alias("NIR"), "self_employed"), on="NIR", how="inner")
    adults = seen.filter(pl.col("LIEN") != "ENF")
    assert adults.height > 50
    assert ((adults["STATUT"] == "EXP") == adults["self_employed"]).all()
    assert {"EXP", "SAL", "RET", "AD"} <= set(seen["STATUT"])
    assert (seen.filter(pl.col("LIEN") == "ENF")["STATUT"] == "AD").all()
