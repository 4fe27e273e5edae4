"""The French of a flag's reasons: a deciding unknown is asked, never quoted as a fact used; an estimate agrees
with the benefit's name; one amount is not said as a range; a condition says what the rules test."""

from __future__ import annotations

import polars as pl
import pytest

from nonrecours.detection import DetectionConfig, core_month, detect
from nonrecours.detection.reasons import fact_sources, reasons

from .conftest import MONTH, Territory
from .test_second_wave import _children

BENEFITS = DetectionConfig(benefits=("af", "aide_logement", "asf", "css_free", "css_participation"))


@pytest.fixture(scope="module")
def kids():
    """A single mother of two school children without income, and a single worker earning 1,000 € a month (the
    CSS with participation, 14 € a month whatever the unknowns), both tenants the CAF knows."""
    t = Territory()
    t.famille("kids")
    _children(t, "kids", (8, 12))
    t.declare("kids")
    t.famille("band", salary=1000.0)
    t.declare("band", 12000.0)
    tables = t.tables()
    core = core_month(tables, MONTH)
    return core, detect(core, tables, config=BENEFITS)


def _reasons(run, name: str, benefit: str) -> list[str]:
    rows = run.flags.filter(pl.col("unit_id").str.ends_with(f":f-{name}") & (pl.col("benefit") == benefit))
    assert rows.height == 1, (name, benefit)
    return rows.item(0, "reasons").to_list()


def _line(lines: list[str], start: str) -> str:
    return next((r for r in lines if r.startswith(start)), "")


def test_a_deciding_unknown_is_asked_never_quoted_as_a_fact_used(kids):
    """The ASF's alimony received is the CAF's estimate (none, from the mother's age): quoted as a fact used while
    it is not a deciding unknown; once it decides the flag (as on 147 ASF flags of the demo) it is among the
    unknowns to check with the person, and no longer among the facts used (nor named with the CAF's month)."""
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
    assert "pension alimentaire reçue (CAF 06/2026)" in held and "âge (CAF 06/2026)" in held
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
        "aucune couverture enregistrée ce mois.")


def test_the_free_css_condition_says_it_tests_the_right_to_the_rsa(kids):
    """The rules test the RSA due (``rsa > 0``), not an RSA received: the condition says « droit au RSA »."""
    _, run = kids
    held = _line(_reasons(run, "kids", "css_free"), "Conditions remplies")
    assert "droit au RSA" in held
    assert not [r for r in run.flags.get_column("reasons").explode().to_list() if "bénéficiaire du RSA" in r]
