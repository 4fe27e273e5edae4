"""The French of a flag's reasons: a deciding unknown is asked, never quoted as a fact used; an estimate agrees
with the benefit's name; one amount is not said as a range; a condition says what the rules test."""

from __future__ import annotations

import re

import polars as pl
import pytest

from nonrecours.detection import DetectionConfig, core_month, detect
from nonrecours.detection.reasons import fact_sources, reasons

from .conftest import MONTH, Territory
from .test_second_wave import _children

BENEFITS = DetectionConfig(benefits=("af", "aide_logement", "asf", "css_free", "css_participation"))


def _two_familles(config: DetectionConfig):  # type: ignore[no-untyped-def]
    """A single mother of two school children without income, and a single worker earning 1,000 € a month (the
    CSS with participation, 14 € a month whatever the unknowns), both tenants the CAF knows: core and detection."""
    t = Territory()
    t.famille("kids")
    _children(t, "kids", (8, 12))
    t.declare("kids")
    t.famille("band", salary=1000.0)
    t.declare("band", 12000.0)
    tables = t.tables()
    core = core_month(tables, MONTH)
    return core, detect(core, tables, config=config)


@pytest.fixture(scope="module")
def kids():
    """The two familles judged for the family benefits, the housing aid and the CSS."""
    return _two_familles(BENEFITS)


def _reasons(run, name: str, benefit: str) -> list[str]:
    rows = run.flags.filter(pl.col("unit_id").str.ends_with(f":f-{name}") & (pl.col("benefit") == benefit))
    assert rows.height == 1, (name, benefit)
    return rows.item(0, "reasons").to_list()


def _line(lines: list[str], start: str) -> str:
    return next((r for r in lines if r.startswith(start)), "")


def test_a_deciding_unknown_is_asked_never_quoted_as_a_fact_used(kids):
    """The ASF's alimony received: once it decides the flag (as on 147 ASF flags of the demo) it is among the
    unknowns to check with the person, and never among the facts used (nor named with the CAF's month). Not deciding,
    it is not quoted either: the CAF's 0 is no alimony sent (``fact_sources``: only amounts other than 0)."""
    core, run = kids
    assert run.result is not None
    flag = (run.flags.filter((pl.col("unit_id") == "caf:f-kids") & (pl.col("benefit") == "asf"))
            .drop("reasons").with_columns(pl.col("unit_id").alias("famille_id"),
                                          pl.lit([], dtype=pl.List(pl.String)).alias("contradicted")))
    individu = core.inputs.individu.select("person_id", "famille_id", "menage_id")
    sources = fact_sources(core, individu, MONTH, flag)

    def lines(unknowns: list[str]) -> list[str]:
        flags = flag.with_columns(pl.lit(unknowns, dtype=pl.List(pl.String)).alias("deciding_unknowns"))
        return reasons(flags, run.result, sources, 8).item(0, "reasons").to_list()

    held = _line(lines([]), "Données utilisées")
    assert "pension alimentaire" not in held and "âge (CAF 06/2026)" in held
    decided = lines(["alimony_received"])
    assert "pension alimentaire reçue" in _line(decided, "Données inconnues qui décident")
    used = _line(decided, "Données utilisées")
    assert "pension alimentaire" not in used and "âge (CAF 06/2026)" in used


def test_an_estimate_agrees_with_the_benefits_name_and_says_the_amount_paid(kids):
    """« Allocations familiales estimées », « Aide au logement estimée »; what was paid is « montant versé »
    (« versé » after a feminine benefit read as a mistake)."""
    _, run = kids
    assert _reasons(run, "kids", "af")[0].startswith("Allocations familiales estimées à ")
    housing = _reasons(run, "kids", "aide_logement")[0]
    assert housing.startswith("Aide au logement estimée à ") and housing.endswith(" ; montant versé ce mois : 0,00 €.")
    firsts = run.flags.get_column("reasons").list.first().to_list()
    assert not [r for r in firsts if "; versé" in r or "familiales estimée " in r]


def test_a_participation_the_unknowns_do_not_move_is_one_amount(kids):
    """The worker's participation is 14 € on every value of the unknowns: said once, without « de 14 € à 14 € »
    nor « selon les données inconnues »."""
    _, run = kids
    flag = run.flags.filter((pl.col("unit_id") == "caf:f-band") & (pl.col("benefit") == "css_participation"))
    assert flag.item(0, "amount_low") == flag.item(0, "amount_high") == pytest.approx(14.0)
    assert _reasons(run, "band", "css_participation")[0] == (
        "Droit estimé à la complémentaire santé solidaire avec participation ; participation de 14,00 € par mois ; "
        # the CAF alone lists the famille: no health fund's extract knows it, so its coverage is not observed
        "sa couverture n'est pas observée (aucune caisse dont l'extrait est transmis ne connaît la personne).")


def test_the_free_css_condition_says_it_tests_the_right_to_the_rsa(kids):
    """The rules test the RSA due (``rsa > 0``), not an RSA received: the condition says « droit au RSA »."""
    _, run = kids
    held = _line(_reasons(run, "kids", "css_free"), "Conditions remplies")
    assert "droit au RSA" in held
    assert not [r for r in run.flags.get_column("reasons").explode().to_list() if "bénéficiaire du RSA" in r]


@pytest.fixture(scope="module")
def rsa_kids():
    """The same two familles, judged for the RSA (the mother of two gets it, and the free CSS it brings) and the
    housing aid (both tenants)."""
    return _two_familles(DetectionConfig(benefits=("rsa", "css_free", "aide_logement")))


def _again(rsa_kids, flags: pl.DataFrame, max_lines: int = DetectionConfig().max_reasons,  # type: ignore[no-untyped-def]
           **kwargs) -> list[list[str]]:
    """The reasons of ``flags`` (rows of the run's flags, altered by a test), as detection words them."""
    core, run = rsa_kids
    assert run.result is not None
    flags = flags.drop("reasons").with_columns(pl.col("unit_id").alias("famille_id"),
                                               pl.lit([], dtype=pl.List(pl.String)).alias("contradicted"))
    sources = fact_sources(core, core.inputs.individu.select("person_id", "famille_id", "menage_id"), MONTH, flags)
    return [r.to_list() for r in reasons(flags, run.result, sources, max_lines, **kwargs).get_column("reasons")]


def _flag(rsa_kids, name: str, benefit: str) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    return rsa_kids[1].flags.filter((pl.col("unit_id") == f"caf:f-{name}") & (pl.col("benefit") == benefit))


def test_the_free_css_the_rsa_brings_is_kept_when_the_lines_are_cut(rsa_kids):
    """The link RSA → free CSS was the last line, cut by the 6-line cap on 414 of the demo's 477 RSA flags that
    bring it: it comes right after the estimate and what the grade rests on."""
    flag = _flag(rsa_kids, "kids", "rsa").with_columns(
        pl.lit("possible").alias("grade"), pl.lit(["salary_net", "student"]).alias("deciding_unknowns"))
    assert flag.item(0, "linked").to_list() == ["css_free"]
    lines = _again(rsa_kids, flag)[0]
    assert len(lines) == DetectionConfig().max_reasons
    assert "Ouvre aussi droit à : complémentaire santé solidaire sans participation." in lines
    assert lines.index("Ouvre aussi droit à : complémentaire santé solidaire sans participation.") < next(
        i for i, r in enumerate(lines) if r.startswith("Conditions remplies"))


def test_the_facts_used_quote_the_resources_first_and_say_what_is_left_out(rsa_kids):
    """« Données utilisées » listed the age, nationality, permit, OFPRA and studies first, then cut: none of the
    resources the amount rests on was quoted on 6,668 of the demo's 10,960 flags. The resources come first,
    the identity facts after; a line cut says how many facts it leaves out. (The worker's salary: the mother's
    resources are all 0, none quoted.)"""
    _, run = rsa_kids
    for lines in run.flags.filter(pl.col("unit_id") == "caf:f-band").get_column("reasons").to_list():
        assert _line(lines, "Données utilisées").startswith("Données utilisées : salaire net ("), lines
    every = _line(_again(rsa_kids, _flag(rsa_kids, "band", "aide_logement"), 20, max_facts=100)[0],
                  "Données utilisées")
    assert not re.search(r" et \d+ autres\.$", every)
    assert every.index("salaire net (") < every.index("âge (") < every.index("nationalité (")
    cut = _line(_again(rsa_kids, _flag(rsa_kids, "band", "aide_logement"), 20, max_facts=3)[0], "Données utilisées")
    left = every.count(" ; ") + 1 - 3
    assert cut.count(" ; ") == 2 and cut.endswith(f" et {left} autres."), cut
    assert every.startswith(cut.removesuffix(f" et {left} autres."))


def test_no_condition_is_said_unmet_where_the_central_values_give_the_right(rsa_kids):
    """« Non remplies sur les valeurs centrales » stood on 2,047 demo flags saying « Droit sur les valeurs
    centrales »: a possible flag entitled centrally says none. Where the central values give no right, a side of
    an either/or whose other side holds (a tenant is no « accédant »), the housing aid's income neutralised after
    an RSA (an adjustment) and the conditions of the RSA's single-parent majoration (an increase) are not said
    unmet: what fails is."""
    possible = pl.lit("possible").alias("grade")
    kids = pl.concat([_flag(rsa_kids, "kids", b) for b in ("rsa", "aide_logement")]).with_columns(possible)
    for lines in _again(rsa_kids, kids):
        assert not _line(lines, "Non remplies"), lines
    nothing = pl.lit(0.0).alias("amount_central")
    housing = pl.concat([_flag(rsa_kids, n, "aide_logement") for n in ("kids", "band")]).with_columns(possible, nothing)
    for lines in _again(rsa_kids, housing):
        assert "pas sur les valeurs centrales" in " ".join(lines)
        assert not _line(lines, "Non remplies"), lines  # a tenant: the housing aid's conditions of the right hold
    # the single worker's RSA (none on the central values): the threshold fails, the majoration is no condition
    band = _flag(rsa_kids, "kids", "rsa").with_columns(pl.lit("caf:f-band").alias("unit_id"), possible, nothing,
                                                        pl.lit([], dtype=pl.List(pl.String)).alias("linked"))
    assert _line(_again(rsa_kids, band)[0], "Non remplies") == (
        "Non remplies sur les valeurs centrales : montant au moins égal au seuil de versement.")


def test_a_deciding_income_of_year_n2_names_the_year_missing():
    """The DGFiP declares 2024 only: the CSS's look-back reads 2025's months, whose year N-2 (2023) it did not send.
    The deciding unknowns' line said « pensions imposables N-2 », which a June 2026 letter wrote « 2024 », a year the
    DGFiP had sent (a tester's hh17 K70): it names 2023."""
    t = Territory()
    t.famille("kids")
    _children(t, "kids", (8, 12))
    t.declare("kids", years=(2024,))
    t.famille("band", salary=1000.0)
    t.declare("band", 12000.0, years=(2024,))
    tables = t.tables()
    run = detect(core_month(tables, MONTH), tables, config=BENEFITS)
    css = run.flags.filter(pl.col("benefit").str.starts_with("css")
                           & pl.col("deciding_unknowns").list.contains("pensions_imposables_n2"))
    assert css.height == 2
    for lines in css.get_column("reasons").to_list():
        deciding = _line(lines, "Données inconnues qui décident")
        assert "pensions imposables 2023" in deciding and "revenus d'activité imposables 2023" in deciding, deciding
        assert "déclaration de revenus de l'année 2023 (DGFiP)" in deciding and "N-2" not in deciding, deciding


def test_the_facts_used_are_what_an_agency_sent_for_this_famille(rsa_kids):
    """« Données utilisées » was the same list on every flag (two testers' probes, hh18 L1): « pension de retraite
    brute (CAF …) », which the CAF's layout does not carry, « allocation chômage nette (ARE) (DRM …) », « pension
    d'invalidité (DRM …) », « pension alimentaire reçue (CAF …) » for people with none. A 0 (an ordinary lease)
    is no income or fact sent: the worker's line quotes her salary and rent, the mother's none of the incomes
    she does not have and says so."""
    nothing = ("pension de retraite", "allocation chômage", "pension d'invalidité", "pension alimentaire",
               "indemnités journalières", "colocation", "location d'une chambre", "hébergement gratuit", "prêt",
               "Guadeloupe")
    band = _line(_again(rsa_kids, _flag(rsa_kids, "band", "aide_logement"), 20, max_facts=100)[0],
                 "Données utilisées")
    assert band.startswith("Données utilisées : salaire net (DRM de l'Assurance retraite 06/2026) ; "), band
    assert "loyer mensuel hors charges" in band and not [w for w in nothing if w in band], band
    kids = _again(rsa_kids, _flag(rsa_kids, "kids", "rsa"), 20, max_facts=100)[0]
    assert "Aucun revenu transmis par les organismes pour les mois de référence." in kids
    used = _line(kids, "Données utilisées")
    assert "âge (CAF 06/2026)" in used and not [w for w in (*nothing, "salaire") if w in used], used
