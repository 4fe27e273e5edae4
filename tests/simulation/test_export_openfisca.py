"""Engine frames → OpenFisca web-API situations (no OpenFisca needed: the JSON shape and conventions)."""

from __future__ import annotations

import datetime as dt
import json
import re

import polars as pl
import pytest

from nonrecours.engine import Inputs
from nonrecours.simulation import load_situations
from nonrecours.simulation.export_openfisca import EXPORTED_OUTPUTS, YEARLY, export_situations

SITS = [
    {"id": "a", "month": "2025-04", "depcom": "75056", "housing": {"status": "tenant", "rent": 600},
     "couple": "married",
     "persons": [{"role": "parent", "age": 40, "monthly": {"salary_net": 1200}},
                 {"role": "parent", "age": 38, "nationality": "MA", "residence_permit_years": 11},
                 {"role": "child", "age": 4},
                 {"role": "parent", "age": 70, "unit": "granny", "monthly": {"pension": 500}}],
     "benefits_paid": {"main": {"af": 0, "paje_base": 0, "asf": 0, "aide_logement": 210}}},
    {"id": "b", "month": "2025-04", "depcom": "97411", "housing": {"status": "owner"},
     "persons": [{"role": "parent", "age": 30, "monthly": {"unemployment": 900}, "pregnant": True}]},
]


@pytest.fixture(scope="module")
def frames() -> dict:
    return load_situations(SITS).frames_for_month(dt.date(2025, 4, 1))


def test_one_situation_per_dwelling_with_roles_and_json_serialisable(frames) -> None:  # type: ignore[no-untyped-def]
    ex = export_situations(frames, dt.date(2025, 4, 1))
    assert len(ex.situations) == 2
    a = ex.situations[0]
    json.dumps(a)
    assert len(a["familles"]) == 2 and len(a["individus"]) == 4
    main = next(f for f in a["familles"].values() if len(f["parents"]) == 2)
    assert len(main["enfants"]) == 1
    assert len(a["foyers_fiscaux"]) == 2  # married couple + child in one return, the grandmother in hers
    statuses = sorted(next(iter(m["statut_occupation_logement"].values())) for m in a["menages"].values())
    assert statuses == ["locataire_vide", "loge_gratuitement"]  # the hosted unit is its own ménage
    loyer = next(m["loyer"] for m in a["menages"].values()
                 if "locataire_vide" in m["statut_occupation_logement"].values())
    assert loyer["2023-01"] == 600 and loyer["2025-04"] == 600 and len(loyer) == 28  # Jan N-2 .. M, monthly
    for v in EXPORTED_OUTPUTS["familles"]:
        assert main[v]["2025" if v in YEARLY else "2025-04"] is None  # yearly variables at the year
    assert all(m["cheque_energie"] == {"2025": None} for m in a["menages"].values())
    assert main["aide_logement"]["2024-04"] == 210 and main["aide_logement"]["2025-03"] == 210
    assert "2024-03" not in main["aide_logement"]  # twelve months of stated payments


def test_the_housing_aid_paid_is_also_the_amount_openfisca_reads_for_the_majoration(frames) -> None:  # type: ignore[no-untyped-def]
    """OpenFisca's majoration pour la vie autonome reads ``aide_logement_montant``: the paid aid is stated there
    too, the same months and amounts, never asked (the evaluated month's aid is OpenFisca's to compute)."""
    ex = export_situations(frames, dt.date(2025, 4, 1))
    main = next(f for f in ex.situations[0]["familles"].values() if len(f["parents"]) == 2)
    stated = {k: v for k, v in main["aide_logement"].items() if v is not None}
    assert main["aide_logement_montant"] == stated and len(stated) == 12 and "2025-04" not in stated
    replay = export_situations(frames, dt.date(2025, 4, 1), paid_this_month=True)
    main = next(f for f in replay.situations[0]["familles"].values() if len(f["parents"]) == 2)
    assert main["aide_logement_montant"] == main["aide_logement"] and main["aide_logement_montant"]["2025-04"] == 210
    unpaid = export_situations(frames, dt.date(2025, 4, 1), benefits_paid=False)
    assert all("aide_logement_montant" not in f for s in unpaid.situations for f in s["familles"].values())
    with pytest.raises(ValueError, match="familles aide_logement_montant is stated as an input"):
        export_situations(frames, dt.date(2025, 4, 1), outputs={"familles": ("aide_logement_montant",)})


def test_person_inputs_follow_the_conventions(frames) -> None:  # type: ignore[no-untyped-def]
    ex = export_situations(frames, dt.date(2025, 4, 1))
    people = list(ex.situations[0]["individus"].values())
    worker = next(p for p in people if "salaire_net" in p)
    assert worker["salaire_net"]["2023-01"] == 1200 and worker["salaire_net"]["2025-04"] == 1200
    assert worker["salaire_imposable"]["2025-04"] == pytest.approx(1200 * 1.036529, abs=0.01)
    assert worker["salaire_de_base"]["2025-04"] == pytest.approx(1200 / 0.78, abs=0.01)
    assert worker["activite"]["2025-04"] == "actif"
    assert worker["statut_marital"] == {"month:2023-01:28": "marie"}
    foreign = next(p for p in people if "ZZ" in p["nationalite"].values())
    assert list(foreign["duree_possession_titre_sejour"].values()) == [11.0]
    retiree = next(p for p in people if p.get("retraite_nette", {}).get("2025-04"))
    assert retiree["retraite_brute"]["2025-04"] == pytest.approx(500 / 0.926, abs=0.01)
    b = ex.situations[1]
    (person,) = b["individus"].values()
    assert list(person["enceinte"].values()) == [True]
    assert person["activite"]["2025-04"] == "chomeur"
    (menage,) = b["menages"].values()
    assert list(menage["depcom"].values()) == ["97411"]


def test_selection_exports_whole_dwellings_and_indexes_familles(frames) -> None:  # type: ignore[no-untyped-def]
    fams = frames["famille"]["famille_id"].to_list()
    ex = export_situations(Inputs(**frames), dt.date(2025, 4, 1), famille_ids=[fams[1]], outputs=False,
                           benefits_paid=False)
    assert len(ex.situations) == 1
    assert ex.index["famille_id"].to_list() == fams[:2]  # the hosted unit's dwelling comes whole
    fam = next(iter(ex.situations[0]["familles"].values()))
    assert "rsa" not in fam and "aide_logement" not in fam


def test_pseudonymous_ids_never_leave_and_unknown_birth_dates_follow_the_age(frames) -> None:  # type: ignore[no-untyped-def]
    import polars as pl

    ids = ("person_id", "famille_id", "foyer_fiscal_id", "menage_id")
    out = {}
    for name, df in frames.items():
        df = df.with_columns(*(("SECRETPSEUDO" + pl.col(c).cast(pl.String)).alias(c) for c in ids if c in df.columns))
        if name == "individu":
            df = df.with_columns(pl.lit(dt.date(1800, 1, 1)).alias("date_naissance"))
        out[name] = df
    ex = export_situations(out, dt.date(2025, 4, 1))
    text = json.dumps(ex.situations)
    assert "SECRETPSEUDO" not in text
    assert ex.index["famille_id"].str.starts_with("SECRETPSEUDO").all()  # the index maps keys back locally
    births = sorted(p["date_naissance"]["ETERNITY"] for s in ex.situations for p in s["individus"].values())
    assert "2020-10-01" in births  # a child of 4 in April 2025: birthday six months before, in October 2020


def test_the_months_paid_benefits_can_be_stated_instead_of_computed(frames) -> None:  # type: ignore[no-untyped-def]
    """A flagged case replays as detection saw it: the housing aid paid in the month is an input, not asked."""
    ex = export_situations(frames, dt.date(2025, 4, 1), paid_this_month=True)
    main = next(f for f in ex.situations[0]["familles"].values() if len(f["parents"]) == 2)
    assert main["aide_logement"]["2025-04"] == 210 and main["aide_logement"]["2024-04"] == 210
    assert main["af"]["2025-04"] == 0 and len(main["aide_logement"]) == 13
    assert main["rsa"]["2025-04"] is None  # the benefits detected are still computed
    default = export_situations(frames, dt.date(2025, 4, 1))
    main = next(f for f in default.situations[0]["familles"].values() if len(f["parents"]) == 2)
    assert main["aide_logement"]["2025-04"] is None


def test_family_benefits_whose_payments_are_unknown_are_left_for_openfisca_to_compute(frames) -> None:  # type: ignore[no-untyped-def]
    """Situation b states no payment: its AF, PAJE and ASF are unknown, which our rules compute. They were stated
    paid 0 for the twelve months before (an OpenFisca replay then read no family benefit where ours counted
    them: a couple with three children, OpenFisca's prime d'activité 777.81 € against 233.95 €); they are asked,
    as its unknown housing aid already was. Situation a's stated payments are still stated."""
    ex = export_situations(frames, dt.date(2025, 4, 1))
    stated = next(f for f in ex.situations[0]["familles"].values() if len(f["parents"]) == 2)
    assert stated["af"]["2024-04"] == 0 and len(stated["af"]) == 13  # twelve months stated, the month asked
    (unknown,) = ex.situations[1]["familles"].values()
    for v in ("af", "paje_base", "asf", "aide_logement"):
        assert unknown[v] == {"2025-04": None}, v


def test_the_aspa_paid_is_stated_where_known_and_its_month_is_always_computed(frames) -> None:  # type: ignore[no-untyped-def]
    """A reference situation's ASPA paid is unknown (no key in the format): OpenFisca computes it, every month. Where
    an ASPA payer's payments are known (an extract's famille) the twelve months before are stated, as the CSS reads
    them (``aspa_percue``), and the month is asked even with the month's payments stated: OpenFisca labels it."""
    month = dt.date(2025, 4, 1)
    plain = export_situations(frames, month, paid_this_month=True)
    main = next(f for f in plain.situations[0]["familles"].values() if len(f["parents"]) == 2)
    assert main["aspa"] == {"2025-04": None}
    fam = frames["famille"].with_columns(pl.lit(True).alias("aspa_versee_connue"))
    fm = frames["famille_monthly"].with_columns(pl.lit(0.0).alias("aspa_versee"))
    for this_month in (False, True):
        known = export_situations({**frames, "famille": fam, "famille_monthly": fm}, month,
                                  paid_this_month=this_month)
        main = next(f for f in known.situations[0]["familles"].values() if len(f["parents"]) == 2)
        assert main["aspa"]["2024-04"] == 0 and main["aspa"]["2025-04"] is None and len(main["aspa"]) == 13


def test_a_known_aah_paid_is_stated_for_the_parent_with_the_higher_disability_rate(frames) -> None:  # type: ignore[no-untyped-def]
    """OpenFisca then counts the AAH received, as our rules do where the CAF's payments are known."""
    import polars as pl

    fam = frames["famille"]
    main = fam["famille_id"].min()  # situation a's main famille (the parents and the child)
    ind = frames["individu"].with_columns(
        pl.when(pl.col("famille_role") == "conjoint").then(0.8).otherwise(pl.col("disability_rate"))
        .alias("disability_rate"))
    fm = frames["famille_monthly"].with_columns(
        pl.when(pl.col("famille_id") == main).then(500.0).otherwise(0.0).alias("aah_versee"))
    known = fam.with_columns((pl.col("famille_id") == main).alias("aah_versee_connue"))
    ex = export_situations({**frames, "individu": ind, "famille": known, "famille_monthly": fm}, dt.date(2025, 4, 1))
    people = ex.situations[0]["individus"]
    f = next(f for f in ex.situations[0]["familles"].values() if len(f["parents"]) == 2)
    demandeur, conjoint = f["parents"]
    assert people[conjoint]["aah"]["2025-03"] == 500 and people[conjoint]["aah"]["2025-04"] is None
    assert people[demandeur]["aah"]["2025-03"] == 0 and people[f["enfants"][0]]["aah"]["2025-03"] == 0
    granny = next(p for k, p in people.items() if k not in (*f["parents"], *f["enfants"]))
    assert set(granny["aah"]) == {"2025-04"}  # her famille's AAH paid is unknown: OpenFisca computes it
    unknown = export_situations(frames, dt.date(2025, 4, 1)).situations[0]["individus"]
    assert set(unknown[conjoint]["aah"]) == {"2025-04"}  # situations carry no AAH paid


def test_a_known_asi_paid_is_stated_for_the_parent_with_the_larger_invalidity_pension(frames) -> None:  # type: ignore[no-untyped-def]
    """OpenFisca's CSS then counts the ASI received over the twelve months before, as ours does where the CPAM's
    and the MSA's payments are known (``asi_percue_individuelle``); the month itself is always asked, as the ASPA's:
    OpenFisca labels the ASI due. A situation states no ASI paid: OpenFisca computes it, as our rules do."""
    fam = frames["famille"]
    main = fam["famille_id"].min()  # situation a's main famille (the parents and the child)
    conjoint_id = frames["individu"].filter((pl.col("famille_id") == main)
                                            & (pl.col("famille_role") == "conjoint"))["person_id"].item()
    im = frames["individu_monthly"]
    pension = (im.filter(pl.col("person_id") == im["person_id"].min())  # the demandeur's months, the conjoint's pension
               .with_columns(pl.lit(conjoint_id, im.schema["person_id"]).alias("person_id"),
                             *(pl.lit(0.0).alias(c) for c, t in im.schema.items()
                               if t == pl.Float64 and c != "invalidity_pension"),
                             pl.lit(450.0).alias("invalidity_pension")))
    im = pl.concat([im, pension])
    fm = frames["famille_monthly"].with_columns(
        pl.when(pl.col("famille_id") == main).then(230.0).otherwise(0.0).alias("asi_versee"))
    known = fam.with_columns((pl.col("famille_id") == main).alias("asi_versee_connue"))
    month = dt.date(2025, 4, 1)
    for this_month in (False, True):
        ex = export_situations({**frames, "individu_monthly": im, "famille": known, "famille_monthly": fm}, month,
                               paid_this_month=this_month)
        people = ex.situations[0]["individus"]
        f = next(f for f in ex.situations[0]["familles"].values() if len(f["parents"]) == 2)
        demandeur, conjoint = f["parents"]
        assert people[conjoint]["asi"]["2024-04"] == 230 and people[conjoint]["asi"]["2025-03"] == 230
        assert people[conjoint]["asi"]["2025-04"] is None and len(people[conjoint]["asi"]) == 13
        assert people[demandeur]["asi"]["2025-03"] == 0 and people[f["enfants"][0]]["asi"]["2025-03"] == 0
        granny = next(p for k, p in people.items() if k not in (*f["parents"], *f["enfants"]))
        assert granny["asi"] == {"2025-04": None}  # her famille's ASI paid is unknown: OpenFisca computes it
    unknown = export_situations(frames, month).situations[0]["individus"]
    assert all(p["asi"] == {"2025-04": None} for p in unknown.values())


def test_a_flagged_claimants_situation_does_not_depend_on_who_else_is_flagged(frames) -> None:  # type: ignore[no-untyped-def]
    """Detection writes each claimant's situation part by part: the text must be the one of a run in one pass."""
    import polars as pl

    from nonrecours.simulation.export_openfisca import SITUATIONS_SCHEMA, flagged_situations

    ind = frames["individu"]
    parents = ind.filter(pl.col("famille_role") == "demandeur").get_column("person_id").to_list()
    together = flagged_situations(frames, dt.date(2025, 4, 1), pl.DataFrame({"claimant_id": parents}))
    assert together.schema == pl.Schema(SITUATIONS_SCHEMA) and together.height == len(parents) == 3
    for p in parents:
        alone = flagged_situations(frames, dt.date(2025, 4, 1), pl.DataFrame({"claimant_id": [p]}))
        assert alone.rows() == together.filter(pl.col("claimant_id") == str(p)).rows()
    jobseeker = json.loads(together.filter(pl.col("famille") == "f0").get_column("situation")[-1])
    assert "SECRET" not in json.dumps(jobseeker) and all(
        "salaire_net" not in p for p in jobseeker["individus"].values() if "chomage_net" in p)
    granny = together.filter(pl.col("famille") == "f1")  # the hosted famille: her own key in the dwelling's JSON
    assert granny.height == 1 and json.loads(granny["situation"][0])["familles"]["f1"]["parents"]


def test_a_dwelling_with_a_famille_without_its_row_is_left_out_not_a_crash(frames) -> None:  # type: ignore[no-untyped-def]
    """A dwelling holding a person whose famille has no row in the famille frame cannot be stated whole (seen on
    a 100,000-person run): its claimants get no situation, the others keep theirs, and no key is named."""
    import polars as pl

    from nonrecours.simulation.export_openfisca import export_situations, flagged_situations

    ind = frames["individu"]
    parents = ind.filter(pl.col("famille_role") == "demandeur").get_column("person_id").to_list()
    granny_famille = ind.filter(pl.col("famille_id") != ind.filter(pl.col("famille_role") == "demandeur")
                                ["famille_id"][0])["famille_id"][0]
    broken = {**frames, "famille": frames["famille"].filter(pl.col("famille_id") != granny_famille)}
    out = flagged_situations(broken, dt.date(2025, 4, 1), pl.DataFrame({"claimant_id": parents}))
    whole = flagged_situations(frames, dt.date(2025, 4, 1), pl.DataFrame({"claimant_id": parents}))
    homes = set(ind.filter(pl.col("famille_id") == granny_famille)["menage_id"].to_list())
    gone = {str(p) for p in ind.filter(pl.col("menage_id").is_in(list(homes)))["person_id"].to_list()}
    assert set(out["claimant_id"].to_list()) == set(whole["claimant_id"].to_list()) - gone
    assert out.height < whole.height
    with pytest.raises(ValueError, match="without a row") as err:
        export_situations(broken, dt.date(2025, 4, 1))
    assert re.fullmatch(r"export_situations: a member of ménage number \d+ belongs to a famille without a row in "
                        r"the famille frame", str(err.value))  # a position, never the famille's key


def test_floats_are_written_as_json_dumps_writes_them() -> None:
    """The texts are built by Polars, not by ``json.dumps``: every float must read back the same and be written as
    Python writes it (shortest digits, an exponent below 1e-4 and from 1e16, two exponent digits)."""
    import random

    import polars as pl

    from nonrecours.simulation.export_openfisca import _num

    rng = random.Random(7)
    values = [0.0, -0.0, 1.0, 0.1, 1e-4, 9.99e-5, 1e-5, 1.5e-7, -3e-9, 5.6e-17, 1e15, 1e16, 1.5e22, 123.45000000000002,
              0.30000000000000004, *(rng.uniform(-1, 1) * 10.0 ** rng.randint(-25, 20) for _ in range(4000)),
              *(round(rng.uniform(0, 5000), 2) for _ in range(1000))]
    written = pl.DataFrame({"x": values}).select(_num(pl.col("x"))).to_series().to_list()
    assert written == [json.dumps(v) for v in values]


def test_the_texts_are_compact_json_with_the_keys_in_the_dicts_order(frames) -> None:  # type: ignore[no-untyped-def]
    """``situations.parquet`` holds the Polars-built texts; ``export_situations`` parses the same texts: writing the
    parsed dicts back with ``json.dumps`` gives the text byte for byte (an odd paid amount included)."""
    import polars as pl

    from nonrecours.simulation.export_openfisca import _situation_texts, flagged_situations

    fm = frames["famille_monthly"].with_columns(pl.lit(1e-05).alias("asf"), (pl.col("af") + 0.1 + 0.2).alias("af"))
    odd = {**frames, "famille_monthly": fm}
    for paid_this_month in (False, True):
        texts, index = _situation_texts(odd, dt.date(2025, 4, 1), None, benefits_paid=True,
                                        requested=EXPORTED_OUTPUTS, paid_this_month=paid_this_month, zero_series=True)
        for text in texts.get_column("situation"):
            assert json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":")) == text
        assert index.get_column("position").max() == texts.height - 1
    flagged = flagged_situations(odd, dt.date(2025, 4, 1), pl.DataFrame({"claimant_id": odd["individu"]["person_id"]}))
    main = json.loads(flagged.filter(pl.col("famille") == "f0")["situation"][0])["familles"]["f0"]
    assert main["asf"]["2025-04"] == 1e-05 and '"asf":{"2024-04":1e-05' in flagged["situation"][0]
    assert main["af"]["2025-04"] == 0.30000000000000004


def test_a_famille_over_two_dwellings_or_without_demandeur_gets_no_situation(frames) -> None:  # type: ignore[no-untyped-def]
    """OpenFisca needs a famille's members and its reference person in one situation: such a claimant is left
    out (and counted by the outputs stage), the others keep theirs."""
    import polars as pl

    from nonrecours.simulation.export_openfisca import flagged_situations

    ind = frames["individu"]
    everyone = pl.DataFrame({"claimant_id": ind["person_id"]})
    whole = flagged_situations(frames, dt.date(2025, 4, 1), everyone)
    child = ind.filter(pl.col("famille_role") == "enfant")
    (moved_famille,) = child["famille_id"].to_list()
    other_home = next(m for m in ind["menage_id"].to_list() if m not in set(child["menage_id"].to_list()))
    split = ind.with_columns(pl.when(pl.col("famille_role") == "enfant").then(pl.lit(other_home))
                             .otherwise(pl.col("menage_id")).alias("menage_id"))
    out = flagged_situations({**frames, "individu": split}, dt.date(2025, 4, 1), everyone)
    gone = set(ind.filter(pl.col("famille_id") == moved_famille)["person_id"].cast(pl.String).to_list())
    assert set(out["claimant_id"].to_list()) == set(whole["claimant_id"].to_list()) - gone
    orphan = ind.with_columns(pl.when(pl.col("famille_id") == moved_famille).then(pl.lit("conjoint"))
                              .otherwise(pl.col("famille_role")).alias("famille_role"))
    out = flagged_situations({**frames, "individu": orphan}, dt.date(2025, 4, 1), everyone)
    assert set(out["claimant_id"].to_list()) == set(whole["claimant_id"].to_list()) - gone


def test_requesting_a_stated_input_is_refused(frames) -> None:  # type: ignore[no-untyped-def]
    """A request would overwrite the input (the loyer, a salary): refused, naming it; a paid benefit is extended."""
    with pytest.raises(ValueError, match="menages loyer is stated as an input"):
        export_situations(frames, dt.date(2025, 4, 1), outputs={"menages": ("loyer",)})
    ex = export_situations(frames, dt.date(2025, 4, 1), outputs={"familles": ("af",)})
    main = next(f for f in ex.situations[0]["familles"].values() if len(f["parents"]) == 2)
    assert len(main["af"]) == 13 and main["af"]["2025-04"] is None


def test_a_core_without_monthly_famille_values_exports_its_situations(frames) -> None:  # type: ignore[no-untyped-def]
    """A core built for the chèque énergie alone (its rules read no month before the one judged) has no monthly
    famille frame: the situations are written without an AAH paid (``_aah_paid`` gave ``{}``, then a crash)."""
    import polars as pl

    from nonrecours.simulation.export_openfisca import flagged_situations

    ind = frames["individu"]
    parents = ind.filter(pl.col("famille_role") == "demandeur").get_column("person_id").to_list()
    out = flagged_situations({**frames, "famille_monthly": None}, dt.date(2025, 4, 1),
                             pl.DataFrame({"claimant_id": parents}))
    assert out.height == len(parents) and all(json.loads(s)["familles"] for s in out.get_column("situation"))


def test_the_last_known_profit_is_openfiscas_profit_of_the_year_before_each_year_read(frames) -> None:  # type: ignore[no-untyped-def]
    """``revenus_non_salaries_connus`` of the months of year Y (the DGFiP's profit of Y-1, else Y-2) is OpenFisca's
    ``rpns_autres_revenus`` of Y-1, stated where above 0; a month whose value is missing (the evaluated month here)
    does not hide its year's."""
    from nonrecours.core.resources import KNOWN_PROFIT

    month = dt.date(2025, 4, 1)
    ind = frames["individu"]
    earner = ind.filter(pl.col("famille_role") == "demandeur").get_column("person_id").to_list()[0]
    monthly = frames["individu_monthly"].with_columns(
        pl.when(pl.col("person_id") != earner).then(pl.lit(0.0))
        .when(pl.col("month") == month).then(pl.lit(None, dtype=pl.Float64))
        .when(pl.col("month").dt.year() == 2025).then(pl.lit(24000.0))
        .otherwise(pl.lit(18000.0)).alias(KNOWN_PROFIT))
    years = sorted(set(monthly.get_column("month").dt.year().to_list()))
    assert years[0] <= 2024 and years[-1] == 2025
    ex = export_situations({**frames, "individu_monthly": monthly}, month)
    stated = [p["rpns_autres_revenus"] for s in ex.situations for p in s["individus"].values()
              if "rpns_autres_revenus" in p]
    assert stated == [{str(y - 1): 24000.0 if y == 2025 else 18000.0 for y in years}]
