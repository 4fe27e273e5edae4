"""The French of an outreach row: a fact asked is never said held, agencies by their names, one amount said once,
a yearly benefit's amount for the year, questions in plain words."""

from __future__ import annotations

import datetime as dt
import re

import polars as pl
import pytest

from nonrecours.outputs.outreach import build_outreach

from .conftest import FLAG_ROWS, MONTH, flag, pid


def _rows(flags: pl.DataFrame, records: pl.DataFrame, keys, **kwargs) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    return pl.concat(list(build_outreach(flags, records=records, keys=keys, **kwargs).values()))


def _person(rows: pl.DataFrame, person: str) -> dict:
    """The row of ``person`` (lists built ``with_claimant``)."""
    return rows.filter(pl.col("claimant_id") == pid(person)).row(0, named=True)


def test_a_fact_the_row_asks_is_never_said_held(flags, records, return_keys, provenance, affiliations):
    """Françoise's CSS with participation turns on her alimony (a deciding unknown): the DGFiP's estimate of it
    (none, from her age) is no answer of hers, so the row asks it and does not list it as held (2,820 demo rows
    did both). Élodie's alimony, which decides none of her flags, is held; so is her couple status, until it
    decides one."""
    m = dt.date(2025, 12, 1)
    alimony = pl.DataFrame([("individu", pid(p), None, "alimony_received", "estimated", "dgfip", m)
                            for p in ("francoise", "elodie")], schema=provenance.schema, orient="row")
    args = dict(provenance=pl.concat([provenance, alimony]), affiliations=affiliations, with_claimant=True)
    rows = _rows(flags, records, return_keys, **args)
    francoise = _person(rows, "francoise")
    assert any(q.startswith("Recevez-vous une pension alimentaire") for q in francoise["questions"])
    assert not any(f.startswith("Pensions alimentaires reçues") for f in francoise["known_facts"])
    assert "Date de naissance : Assurance retraite (05/2026)" in francoise["known_facts"]  # what is held stays
    elodie = _person(rows, "elodie")
    assert "Pensions alimentaires reçues : DGFiP (12/2025)" in elodie["known_facts"]
    assert "Situation de couple : CAF (05/2026)" in elodie["known_facts"]
    couple = flags.with_columns(pl.when(pl.col("claimant_id") == pid("elodie"))
                                .then(pl.col("deciding_unknowns").list.concat(pl.lit(["couple_kind"])))
                                .otherwise("deciding_unknowns").alias("deciding_unknowns"))
    elodie = _person(_rows(couple, records, return_keys, **args), "elodie")
    assert any(q.startswith("Vivez-vous en couple") for q in elodie["questions"])
    assert not any(f.startswith("Situation de couple") for f in elodie["known_facts"])
    # on no row a question beside the fact it asks said held
    asked_held = {"Recevez-vous une pension alimentaire": "Pensions alimentaires reçues",
                  "Vivez-vous en couple": "Situation de couple", "Quel est votre loyer": "Loyer"}
    for row in rows.iter_rows(named=True):
        for question, fact in asked_held.items():
            assert not (any(q.startswith(question) for q in row["questions"])
                        and any(f.startswith(fact) for f in row["known_facts"])), row


def test_the_housing_aids_law_question_does_not_ask_a_rent_the_caf_holds(flags, records, return_keys, provenance,
                                                                          affiliations):
    """The housing aid's question on what no data shows asked the rent too, beside the rent the CAF's extract
    holds (120 rows of the demo): it asks the decency only; an unknown rent that decides is still asked."""
    held = pl.DataFrame([("menage", pid("gaelle/famille"), None, "rent", "observed", "caf", dt.date(2026, 5, 1))],
                        schema=provenance.schema, orient="row")
    housing = [flag("gaelle", "aide_logement", "certain", 180.0), flag("anais", "aide_logement", "probable", 150.0,
                                                                       unknowns=("rent",))]
    frame = pl.DataFrame([*FLAG_ROWS, *housing], schema=flags.schema)
    rows = _rows(frame, records, return_keys, provenance=pl.concat([provenance, held]), affiliations=affiliations,
                 with_claimant=True)
    gaelle = _person(rows, "gaelle")
    assert "Loyer ou mensualité d'emprunt : CAF (05/2026)" in gaelle["known_facts"]
    assert not [q for q in gaelle["questions"] if "loyer" in q.lower()], gaelle["questions"]
    assert any(q.startswith("Le logement est-il décent") and "L822-9" in q for q in gaelle["questions"])
    anais = _person(rows, "anais")["questions"]
    assert any(q.startswith("Quel est votre loyer mensuel hors charges (ou") for q in anais), anais


def test_a_fact_several_agencies_report_names_each_of_them(flags, records, return_keys, provenance, affiliations):
    """The payments facts name every payer reporting for the run (« caf,cnam,cnav,msa »): each is named as
    people know it, never by the codes joined (66 % of the demo's rows)."""
    paid = pl.DataFrame([("famille", pid("elodie/famille"), MONTH, "af", "observed", "caf,cnam,cnav,msa", MONTH)],
                        schema=provenance.schema, orient="row")
    rows = _rows(flags, records, return_keys, provenance=pl.concat([provenance, paid]), affiliations=affiliations,
                 with_claimant=True)
    facts = _person(rows, "elodie")["known_facts"]
    assert ("Prestations familiales et aide au logement : CAF, Assurance maladie, Assurance retraite, MSA "
            "(06/2026)") in facts, facts
    assert not [f for f in rows.get_column("known_facts").explode().drop_nulls()
                if re.search(r"\b(caf|cnam|cnav|msa|dgfip|drm|france_travail)\b", f)]


def test_one_amount_is_said_once_and_a_yearly_benefit_for_the_year(flags, records, return_keys):
    """A certain housing aid of 44 € whatever the unknowns is « 44 € par mois », not « de 44 € à 44 € »; the ARS
    (its flags carry the monthly equivalent, 874.69 € / 12) is said for the year, its range too; the row's totals
    stay monthly."""
    ars = {**flag("sabine", "ars", "probable", round(874.69 / 12, 4)), "amount_low": round(700.0 / 12, 4),
           "amount_high": round(874.69 / 12, 4)}
    housing = {**flag("sabine", "aide_logement", "certain", 44.0), "amount_low": 43.8, "amount_high": 44.2}
    sabine = pl.DataFrame([*FLAG_ROWS, ars, housing], schema=flags.schema)
    recs = pl.concat([records, pl.DataFrame({"person_id": [pid("sabine")], "agency": ["caf"],
                                             "record_id": [pid("sabine")]})])
    row = _person(_rows(sabine, recs, return_keys, with_claimant=True), "sabine")
    assert row["detail"] == ["aide personnelle au logement (APL, ALF, ALS) : 44 € par mois, certain",
                             "allocation de rentrée scolaire (ARS) : 875 € pour l'année (de 700 € à 875 €), "
                             "probable"]
    assert row["amount_central"] == pytest.approx(44.0 + 874.69 / 12)
    assert not [d for d in row["detail"] if "par mois" in d and "ARS" in d]


def test_questions_are_asked_in_plain_words_never_from_the_engines_labels(flags, records, return_keys):
    """The inputs a chèque énergie or an ARS turns on (the incomes of year N-2, the birth date, the commune) are
    asked as a person understands them; the engine's flag saying whether the N-2 incomes are given is not asked
    (its incomes are). Seen on the demo: « Pouvez-vous préciser : … imposables de l'année N-2 du mois
    (annuel) ? », « … 1800-01-01: inconnue … ? »."""
    unknowns = ("revenu_activite_imposable_n2", "pensions_imposables_n2", "revenus_n2_renseignes",
                "date_naissance", "age", "zone_apl", "residence_dom")
    rows = [r for r in FLAG_ROWS if r["claimant_id"] != pid("noel")]
    energy = flag("noel", "cheque_energie", "possible", 16.17, unknowns=unknowns)
    frame = pl.DataFrame([*rows, energy], schema=flags.schema)
    questions = _person(_rows(frame, records, return_keys, with_claimant=True), "noel")["questions"]
    assert questions[:4] == [
        "Quels salaires et allocations chômage imposables avez-vous déclarés aux impôts pour l'année 2024 (votre "
        "avis d'impôt les indique) ?",
        "Quelles pensions, retraites, rentes et pensions alimentaires imposables avez-vous déclarées aux impôts "
        "pour l'année 2024 (votre avis d'impôt les indique) ?",
        "Quelle est votre date de naissance ?",
        "Dans quelle commune se trouve votre logement ?"], questions
    assert not [q for q in questions if q.startswith("Pouvez-vous préciser")]


def _n2_unknowns(person: str, months: list[dt.date]) -> pl.DataFrame:
    """The core's unknowns of the DGFiP's N-2 incomes of ``person`` for ``months`` (those of a year it did not send)."""
    from nonrecours.core.month import UNKNOWNS_SCHEMA

    return pl.DataFrame([("individu", pid(person), m, inp, 0.0, 0.0, 30000.0,
                          f"la DGFiP ne transmet pas les revenus de {m.year - 2} pour cette personne", False)
                         for m in months for inp in ("pensions_imposables_n2", "revenu_activite_imposable_n2")],
                        schema=UNKNOWNS_SCHEMA, orient="row")


def test_an_income_of_year_n2_is_asked_for_the_year_missing(flags, records, return_keys):
    """A tester's CPAM row (hh17 K70, June 2026): the DGFiP sent 2024, not 2023, which the CSS reads for March to
    December 2025; the row asked « … pour l'année 2024 », a year already sent. It asks for 2023; a person missing
    both years is asked both, each once; without the unknowns, the evaluated month's N-2 as before."""
    row = {**flags.row(0, named=True), "deciding_unknowns": ["pensions_imposables_n2", "revenu_activite_imposable_n2"]}
    frame = pl.DataFrame([row], schema=flags.schema)
    who = flags.item(0, "claimant_id")
    person = next(n for n in ("anais", "elodie", "jerome", "francoise", "noel", "helene", "gaelle") if pid(n) == who)
    year_2023 = [dt.date(2025, m, 1) for m in range(3, 13)]

    def asked(unknowns: pl.DataFrame | None) -> list[str]:
        (got,) = [f.row(0, named=True) for f in build_outreach(frame, records=records, keys=return_keys,
                                                                 unknowns=unknowns).values()]
        return [q for q in got["questions"] if "impôts" in q]

    only_2023 = asked(_n2_unknowns(person, year_2023))
    assert len(only_2023) == 2 and all("pour l'année 2023 (votre avis" in q for q in only_2023), only_2023
    both = asked(_n2_unknowns(person, [*year_2023, *[dt.date(2026, m, 1) for m in range(1, 7)]]))
    assert all("pour les années 2023 et 2024 (votre avis" in q for q in both), both
    assert all("pour l'année 2024 (votre avis" in q for q in asked(None))
    someone_else = _n2_unknowns("gaelle" if person != "gaelle" else "noel", year_2023)  # not this row's
    assert all("pour l'année 2024 (votre avis" in q for q in asked(someone_else))


def test_a_permit_estimated_from_a_nationality_no_agency_sends_is_not_held(flags, records, return_keys, provenance,
                                                                           affiliations):
    """A tester's CPAM row (hh17 K70): born in France by her NIR, known to the DGFiP alone, which sends no nationality.
    The core estimates her French from the birth place (unknown, informed) and her permit and exemptions from that,
    sourced as the DGFiP's: the row said « Titre de séjour (hors EEE et Suisse) : DGFiP » and asked « Quelle est votre
    nationalité ? ». An estimate following a nationality no agency holds is no fact held; one following the
    nationality the CAF sends is."""
    m = dt.date(2026, 6, 1)
    follows = ("residence_permit_years", "residence_condition_exempt", "ofpra_protection")
    rows = [("individu", pid("anais"), None, "nationality_group", "unknown", None, None),
            *[("individu", pid("anais"), None, i, "estimated", "dgfip", m) for i in follows],
            ("individu", pid("elodie"), None, "nationality_group", "observed", "caf", m),
            *[("individu", pid("elodie"), None, i, "estimated", "caf", m) for i in follows]]
    facts = pl.concat([provenance, pl.DataFrame(rows, schema=provenance.schema, orient="row")])
    asked = flags.with_columns(pl.when(pl.col("claimant_id") == pid("anais"))
                               .then(pl.col("deciding_unknowns").list.concat(pl.lit(["nationality_group"])))
                               .otherwise("deciding_unknowns").alias("deciding_unknowns"))
    rows_out = _rows(asked, records, return_keys, provenance=facts, affiliations=affiliations, with_claimant=True)
    anais = _person(rows_out, "anais")
    assert "Quelle est votre nationalité ?" in anais["questions"]
    assert not [f for f in anais["known_facts"] if f.startswith(("Titre de séjour", "Nationalité"))], anais
    elodie = _person(rows_out, "elodie")
    assert "Nationalité : CAF (06/2026)" in elodie["known_facts"]
    assert "Titre de séjour (hors EEE et Suisse) : CAF (06/2026)" in elodie["known_facts"]
