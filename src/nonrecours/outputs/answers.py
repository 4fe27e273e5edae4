"""The experiment's three answers, computed from the rules, the mappings and detection's outputs.

1. Which data to exchange: per benefit, the inputs its rules read (found statically in the IR) and which
   agencies' extracts carry each (read off the default connector mappings); then the value of each agency's
   extract, measured by rerunning detection without it, and with the CAF's alone (today's practice).
2. How many people, how much to simplify: non-take-up rates per benefit and territory (``build_statistics``), and
   per benefit the share of the claim form's fields the administration already holds, for flagged people and
   for people already paid, by source agency.
3. What to automate: per benefit, how many flags fall in each scenario (automatic opening, pre-filled claim to
   confirm, outreach letter or "rendez-vous des droits"), with amounts, error risk and the legal basis each
   needs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import polars as pl

from nonrecours.detection.rates import GRADE_COUNTS_SCHEMA, grade_counts
from nonrecours.detection.targets import cash
from nonrecours.errors import SchemaError
from nonrecours.outputs.law import TARGET_BENEFITS, claim_fields_frame, fact_ids, held_facts, judged_earlier
from nonrecours.outputs.statistics import ALL_TYPES, StatisticsConfig, published_benefits
from nonrecours.outputs.writers import write_table
from nonrecours.schemas.benefits import benefit as catalogue_row
from nonrecours.schemas.codes import AGENCIES, FAMILY_BENEFITS_PAID, PARENT_ROLES

__all__ = ["EXCHANGE_COUNTS", "EXCHANGE_VALUE", "INPUT_COLUMNS", "SCENARIOS", "agency_columns",
           "automation_scenarios", "claim_fields_held", "data_to_exchange", "exchange_value", "flag_grade_pattern",
           "headline", "secret_answers", "summary_grades", "unknowns_to_settle", "with_caf_recall",
           "write_answers"]

CONTRIBUTING: tuple[str, ...] = tuple(a for a in AGENCIES if a != "synth")
"""The agencies whose extract each exchange-value scenario leaves out in turn (schemas/codes.py)."""


def _input_columns() -> dict[str, tuple[tuple[str, str, str | None], ...]]:
    from nonrecours.core.inputs import FAMILY_PAYMENTS, PAYMENT_INPUTS, RECEIVED_INPUTS
    from nonrecours.core.resources import MONTHLY_INPUTS as RESOURCE_INPUTS

    by_input: dict[str, list[tuple[str, str, str | None]]] = {}
    for kind, name in RESOURCE_INPUTS.items():
        by_input.setdefault(name, []).append(("resources", "amount", kind))
    person = {"age": "birth_month", "date_naissance": "birth_month", "student": "student", "pregnant": "pregnant",
              "disability_rate": "disability_rate", "nationality_group": "nationality_group",
              "residence_permit_years": "residence_permit_years", "depcom": "depcom", "residence_dom": "depcom",
              "zone_apl": "depcom"}
    out: dict[str, tuple[tuple[str, str, str | None], ...]] = {k: tuple(v) for k, v in by_input.items()}
    out |= {name: (("persons", col, None),) for name, col in person.items()}
    out |= {PAYMENT_INPUTS[b]: (("benefits_paid", "amount", b),) for b in FAMILY_PAYMENTS}
    # known when the payers' table is shared (a famille absent from it was paid nothing)
    out["prestations_versees_connues"] = (("benefits_paid", "amount", None),)
    out["aide_logement_versee_connue"] = (("benefits_paid", "amount", "aide_logement"),)
    out["aide_logement_du_mois_connue"] = tuple(("benefits_paid", "amount", b)
                                                for b in ("aide_logement", *FAMILY_BENEFITS_PAID))
    out["aah_versee_connue"] = (("benefits_paid", "amount", "aah"),)
    out["aspa_versee_connue"] = (("benefits_paid", "amount", "aspa"),)
    out["asi_versee_connue"] = (("benefits_paid", "amount", "asi"),)
    out["cf_versee_connue"] = (("benefits_paid", "amount", "cf"),)
    # received: a payer's payment, or an agency's report of a recipient without the amount
    out |= {name: (("benefits_paid", "amount", b), ("benefit_receipts", "person_id", b))
            for b, name in RECEIVED_INPUTS.items()}
    out["rsa_percu_connu"] = (("benefits_paid", "amount", "rsa"),)
    out |= {
        "housing_status": (("housing", "status", None),),
        "rent": (("housing", "rent", None),),
        "colocation": (("housing", "colocation", None),), "chambre": (("housing", "chambre", None),),
        "loan_date": (("housing", "loan_date", None),),
        "couple_kind": (("unit_memberships", "role", "famille"), ("unit_memberships", "role", "foyer_fiscal")),
        "hosted_free_of_charge": (("unit_memberships", "role", "menage"),),
        "famille_role": (("unit_memberships", "role", "famille"),),
        # the DGFiP's annual income of the reference year (canonical ``annual_income`` by kind)
        "revenu_activite_imposable_n2": (("annual_income", "amount", "salaries"),
                                         ("annual_income", "amount", "unemployment")),
        "pensions_imposables_n2": (("annual_income", "amount", "pensions"), ("annual_income", "amount", "alimony")),
        "revenus_non_salaries_n2": (("annual_income", "amount", "self_employment"),),
        "revenus_non_salaries_connus": (("annual_income", "amount", "self_employment"),),
        "revenus_n2_renseignes": (("annual_income", "year", None),),
        # carried as nullable persons columns (RSDAE and recent isolation from the CAF, unfitness from the
        # CNAV; blank means unknown: docs/connectors/README.md)
        "rsdae": (("persons", "rsdae", None),), "unfit_for_work": (("persons", "unfit_for_work", None),),
        "recent_isolation": (("persons", "recent_isolation", None),),
        # refugee, protection, statelessness, carte de résident: no extract carries it (docs/connectors/README.md)
        "residence_condition_exempt": (), "ofpra_protection": (),
    }
    return out


INPUT_COLUMNS: dict[str, tuple[tuple[str, str, str | None], ...]] = _input_columns()
"""Rule input → canonical (table, column, qualifier) it is built from; the qualifier is the resource kind,
the benefit paid or the unit kind the column is read for. An empty tuple: no extract carries it."""


def agency_columns() -> pl.DataFrame:
    """What each agency's default mapping emits: agency, table, column, qualifier ('*' = any value)."""
    from nonrecours.connectors import AGENCY_MODULES, default_mapping

    rows = []
    for agency in AGENCY_MODULES:  # six mappings: configuration, not data
        mapping = default_mapping(agency)
        for rec in mapping.records:
            fields = {f.target: f for f in rec.fields}
            for emit in rec.emits:
                qual_col = {"resources": "kind", "benefits_paid": "benefit", "unit_memberships": "unit_kind"}.get(
                    emit.table)
                quals: list[str] = ["*"]
                if qual_col in emit.constants:
                    quals = [str(emit.constants[qual_col])]
                elif qual_col in emit.columns:
                    target = emit.columns[qual_col]
                    if target in emit.when:
                        quals = list(emit.when[target])
                    elif fields.get(target) is not None and fields[target].codes:
                        quals = sorted(set(fields[target].codes.values()))  # type: ignore[union-attr]
                rows += [(agency, emit.table, col, q) for col in emit.canonical_columns for q in quals]
    return pl.DataFrame(rows, schema=["agency", "table", "column", "qualifier"], orient="row").unique().sort(
        "agency", "table", "column", "qualifier")


def data_to_exchange(benefits: Iterable[str] = TARGET_BENEFITS) -> pl.DataFrame:
    """Per benefit and rule input: the canonical columns it comes from and the agencies whose extract carries
    them (``agencies`` empty: no extract does, so the value stays unknown and is asked)."""
    from nonrecours.core.inputs import SETTING_INPUTS
    from nonrecours.engine import required_inputs

    rows = list(dict.fromkeys((b, entity, name) for b in benefits for r in catalogue_row(b).rules
                              for entity, names in required_inputs(r).items() for name in sorted(names)
                              if name not in SETTING_INPUTS))  # a setting of the run, not data to exchange
    needed = pl.DataFrame(rows, schema=["benefit", "entity", "input"], orient="row")
    sources = pl.DataFrame([(name, t, c, q) for name, cols in INPUT_COLUMNS.items() for t, c, q in cols],
                           schema=["input", "table", "column", "qualifier"], orient="row")
    missing = needed.join(sources, on="input", how="anti").get_column("input").unique().to_list()
    missing = [m for m in missing if m not in INPUT_COLUMNS]
    if missing:
        from nonrecours.errors import ConfigError

        raise ConfigError(f"rule input {sorted(missing)[0]} has no entry in INPUT_COLUMNS")
    return (needed.join(_carriers(sources), on="input", how="left")
            .with_columns(pl.col("agencies").fill_null(pl.lit([], dtype=pl.List(pl.String))),
                          pl.col("columns").fill_null(pl.lit([], dtype=pl.List(pl.String))))
            .with_columns((pl.col("agencies").list.len() > 0).alias("supplied"))
            .sort("benefit", "entity", "input"))


def _carriers(sources: pl.DataFrame | None = None) -> pl.DataFrame:
    """input, agencies, columns: the agencies whose default mapping carries each input of ``sources`` (input,
    table, column, qualifier; default every input of ``INPUT_COLUMNS``), and the canonical columns it comes from.
    One reading for answer 1's two tables: a deciding unknown the rules read through another input (the couple's
    kind, which the core builds from the memberships) was « aucun extrait » beside the table of data to exchange."""
    if sources is None:
        sources = pl.DataFrame([(name, t, c, q) for name, cols in INPUT_COLUMNS.items() for t, c, q in cols],
                               schema=["input", "table", "column", "qualifier"], orient="row")
    match = (sources.join(agency_columns(), on=["table", "column"])
             .filter((pl.col("qualifier_right") == "*") | pl.col("qualifier").is_null()
                     | (pl.col("qualifier") == pl.col("qualifier_right"))))
    return match.group_by("input").agg(pl.col("agency").unique().sort().alias("agencies"),
                                       pl.format("{}.{}", "table", "column").unique().sort().alias("columns"))


def _persons(flags: pl.DataFrame, index: str) -> pl.DataFrame:
    """(index, person, benefit) for every adult of every flag: a run with other agencies may name another
    member of the unit as claimant, so flags match on any adult."""
    return (flags.with_row_index(index).select(index, "benefit", pl.concat_list("adult_ids", "claimant_id")
                                               .alias("person")).explode("person").drop_nulls("person").unique())


def exchange_value(run_detection: Callable[[set[str]], pl.DataFrame], *,
                   agencies: Iterable[str] = CONTRIBUTING, truth: pl.DataFrame | None = None,
                   grades: tuple[str, ...] = ("certain", "probable"), hidden_counts: bool = False) -> pl.DataFrame:
    """Detection rerun with every agency, without each one, and with the CAF alone.

    ``run_detection(agencies) -> flags`` is the real pipeline restricted to those agencies' extracts.
    Reference: ``truth`` (person_id, benefit: one row per true non-take-up; with ``unit_id``, one item per
    unit and benefit, matched through any of its persons) when given, else the full run's
    flags. A flag counts when its grade is in ``grades``; a flag and a reference item match when they share a
    person and the benefit. Columns: scenario, benefit, flags, matched (flags that match), lost (reference
    items no flag matches), flags_gained and flags_lost (against the run with every agency), precision,
    recall, amount_central (monthly, summed over the flags in whole cents; null for a coverage, the CSS, whose
    amounts are the participation the foyer would pay: ``detection.targets.cash``), precision_change, recall_change
    and amount_change (against the run with every agency). ``hidden_counts``: also ``_found`` and ``_ref``, the
    reference items found and in all (the recall's terms), which secrecy reads and never publishes
    (``secret_answers``).
    """
    agencies = tuple(agencies)
    full = run_detection(set(agencies))
    scenarios = {"toutes": set(agencies), **{f"sans {a}": set(agencies) - {a} for a in agencies},
                 "CAF seule": {"caf"}}
    if truth is not None and "unit_id" in truth.columns:  # one item per true unit, found through any adult
        ref = (truth.select("unit_id", pl.col("person_id").alias("person"), "benefit").unique()
               .with_columns(pl.struct("unit_id", "benefit").rank("dense").alias("_r")).drop("unit_id"))
    elif truth is not None:
        ref = truth.select(pl.col("person_id").alias("person"), "benefit").unique().with_row_index("_r")
    else:
        ref = _persons(full.filter(pl.col("grade").is_in(grades)), "_r")
    ref_n = ref.group_by("benefit").agg(pl.col("_r").n_unique().alias("_ref"))
    base = _persons(full.filter(pl.col("grade").is_in(grades)), "_b")
    parts = []
    for name, used in scenarios.items():  # a handful of detection runs, each in bulk
        flags = (full if used == set(agencies) else run_detection(used)).filter(pl.col("grade").is_in(grades))
        persons = _persons(flags, "_f")
        correct = (persons.join(ref, on=["person", "benefit"], how="semi").group_by("benefit")
                   .agg(pl.col("_f").n_unique().alias("matched")))
        found = (ref.join(persons, on=["person", "benefit"], how="semi").group_by("benefit")
                 .agg(pl.col("_r").n_unique().alias("_found")))
        # amounts summed in whole cents: an integer sum is exact in any order, so the table is the same bytes
        # however the flags are chunked or the threads scheduled (a float sum is not: the command reading the
        # scenarios the stage stored gave another last bit than the stage's own sum)
        counts = flags.group_by("benefit").agg(
            pl.len().alias("flags"), (pl.col("amount_central") * 100).round(0).cast(pl.Int64).sum().alias("_cents"))
        # against the run with every agency: flags this scenario adds, and the full run's flags it loses
        gained = (persons.join(base, on=["person", "benefit"], how="anti")
                  .join(persons.join(base, on=["person", "benefit"], how="semi").select("_f").unique(), on="_f",
                        how="anti").group_by("benefit").agg(pl.col("_f").n_unique().alias("flags_gained")))
        dropped = (base.join(base.join(persons, on=["person", "benefit"], how="semi").select("_b").unique(),
                             on="_b", how="anti").group_by("benefit").agg(pl.col("_b").n_unique()
                                                                          .alias("flags_lost")))
        per = (counts.join(ref_n, on="benefit", how="full", coalesce=True)
               .join(correct, on="benefit", how="left").join(found, on="benefit", how="left")
               .join(gained, on="benefit", how="left").join(dropped, on="benefit", how="left"))
        parts.append(per.with_columns(pl.lit(name).alias("scenario")))
    out = pl.concat(parts, how="diagonal_relaxed")
    # every scenario has a row for every benefit seen in any (a scenario with no flag and no reference item
    # for a benefit has zero flags there, not no row)
    grid = pl.DataFrame({"scenario": list(scenarios)}).join(out.select("benefit").unique(), how="cross")
    out = grid.join(out, on=["scenario", "benefit"], how="left").with_columns(
        pl.col("flags", "matched", "_found", "_ref", "flags_gained", "flags_lost", "_cents").fill_null(0))
    out = out.select(
        "scenario", "benefit", "flags", "matched", (pl.col("_ref") - pl.col("_found")).alias("lost"),
        "flags_gained", "flags_lost",
        pl.when(pl.col("flags") > 0).then(pl.col("matched") / pl.col("flags")).alias("precision"),
        pl.when(pl.col("_ref") > 0).then(pl.col("_found") / pl.col("_ref")).alias("recall"),
        pl.when(cash()).then(pl.col("_cents") / 100).alias("amount_central"), "_cents", "_found", "_ref")
    ref_row = out.filter(pl.col("scenario") == "toutes").select(
        "benefit", pl.col("precision").alias("_p0"), pl.col("recall").alias("_r0"), pl.col("_cents").alias("_c0"))
    return (out.join(ref_row, on="benefit", how="left")
            .with_columns((pl.col("precision") - pl.col("_p0")).alias("precision_change"),
                          (pl.col("recall") - pl.col("_r0")).alias("recall_change"),
                          pl.when(cash()).then((pl.col("_cents") - pl.col("_c0").fill_null(0)) / 100)
                          .alias("amount_change"))
            .drop("_p0", "_r0", "_c0", "_cents", *([] if hidden_counts else ["_found", "_ref"]))
            .sort("benefit", "scenario"))


def _held(provenance: pl.DataFrame, *keys: str) -> pl.DataFrame:
    """``keys``, input, source: the facts an agency supplied (``law.held_facts``; ``provenance`` held already)."""
    return (provenance
            .select(*keys, "input", pl.col("source_agency").cast(pl.String).alias("source")).unique())


_HOUSEHOLD_UNITS = ("menage", "foyer_fiscal")
"""Provenance entities of the units a flag's people belong to beside the flag's own (``law.fact_ids``)."""


def _due_fields(flags: pl.DataFrame, due_provenance: pl.DataFrame | None, keys: list[str]) -> pl.DataFrame:
    """``keys``, field, source: the claim fields held for the flags of a benefit judged at an earlier month (``flags``:
    those only, with ``keys``, unit_id, benefit, adult_ids and claimant_id), read off that month's facts
    (detection's ``provenance_due.parquet``, ``DUE_PROVENANCE_SCHEMA``: linked to the flag's unit and benefit) on
    the ids the evaluated month's flags are read on (the unit, its adults and the claimant, and the ménage and
    foyer fiscal of that famille then), so that the shares of every benefit count the same facts."""
    if due_provenance is None:
        raise SchemaError("flags of a benefit judged at an earlier month (a yearly benefit's payment due) need the "
                          "facts of that month: pass detection's provenance_due.parquet", table="provenance_due")
    fields = claim_fields_frame().drop_nulls("input").select("benefit", "field", "input")
    key = list(dict.fromkeys([*keys, "unit_id", "benefit"]))
    ids = fact_ids(flags, key)
    held = held_facts(due_provenance, ("unit_id", "benefit", "id"))
    own = ids.join(_held(held.filter(~pl.col("entity").is_in(_HOUSEHOLD_UNITS)), "unit_id", "benefit", "id"),
                   on=["unit_id", "benefit", "id"])
    household = flags.select(key).unique().join(
        _held(held.filter(pl.col("entity").is_in(_HOUSEHOLD_UNITS)), "unit_id", "benefit"), on=["unit_id", "benefit"])
    return (pl.concat([own.select(*key, "input", "source"), household.select(*key, "input", "source")])
            .join(fields, on=["benefit", "input"]).select(*keys, "field", "source").unique())


def _paid_ids(paid_units: pl.DataFrame | pl.LazyFrame, members: pl.DataFrame | None) -> pl.DataFrame:
    """benefit, unit_id, id: the ids the facts of the units paid a benefit hang on, like a flag's (``fact_ids``):
    the unit, its adults (``members``' demandeur and conjoint; every member when ``members`` has no role) and
    their other units of the month. ``paid_units`` may be a lazy scan: only the paid rows' two columns are read."""
    paid = (paid_units.lazy().filter(pl.col("receiving").fill_null(False)).select("benefit", "unit_id").unique()
            .collect(engine="streaming"))
    adults = pl.DataFrame(schema={"unit_id": pl.String, "adult_ids": pl.List(pl.String)})
    if members is not None:
        m = members.filter(pl.col("role").is_in(PARENT_ROLES)) if "role" in members.columns else members
        adults = m.group_by("unit_id").agg(pl.col("person_id").alias("adult_ids"))
    paid = (paid.join(adults, on="unit_id", how="left")
            .with_columns(pl.col("adult_ids").fill_null(pl.lit([], dtype=pl.List(pl.String))),
                          pl.lit(None, dtype=pl.String).alias("claimant_id")))
    return fact_ids(paid, ["benefit", "unit_id"], members)


def claim_fields_held(flags: pl.DataFrame, provenance: pl.DataFrame, *,
                      paid_units: pl.DataFrame | pl.LazyFrame | None = None,
                      members: pl.DataFrame | None = None,
                      due_provenance: pl.DataFrame | None = None, hidden_counts: bool = False) -> pl.DataFrame:
    """Share of the claim form's fields already held, per benefit, population and source.

    ``flags`` give the flagged units and their adults; ``paid_units`` (units table rows paid the benefit) the paid
    population; ``members`` (person_id, unit_id, role of the month, every unit kind: detection's memberships)
    the adults of a paid unit and the ménage and foyer fiscal of each adult. A field is held when an agency
    observed (or estimated) one of the inputs that answer it, for the unit, one of its adults or their ménage or
    foyer fiscal (``law.fact_ids``, as the outreach list's facts already held). Fields no data answers
    (bank details, residence, assets) count as not held. Columns: benefit, population, source (an agency or
    ``toutes``), units, fields, share_held; with ``hidden_counts``, ``_holders``: the units holding a field from
    that source, which secrecy reads and never publishes (``secret_answers``: a share of 1 or 2 holders is theirs).

    A flag of a benefit judged at an earlier month (``law.judged_earlier``: in June 2026 the ARS due last August)
    reads that month's facts, ``due_provenance`` (detection's ``provenance_due.parquet``; an error when such flags
    come without it), never ``provenance``, the evaluated month's, as the outreach list's facts already held do.
    The paid population reads ``provenance``.
    """
    earlier = judged_earlier(flags)
    flagged = fact_ids(flags.filter(~earlier), ["benefit", "unit_id"], members).with_columns(
        pl.lit("signalés").alias("population"))
    pops = [flagged]
    if paid_units is not None:
        pops.append(_paid_ids(paid_units, members).with_columns(pl.lit("déjà payés").alias("population")))
    due_flags = flags.filter(earlier).with_columns(pl.lit("signalés").alias("population"))
    due_found = (_due_fields(due_flags, due_provenance, ["population", "benefit", "unit_id"])
                 if due_flags.height else None)
    ids = pl.concat([p.select("population", "benefit", "unit_id", "id") for p in pops]).unique()
    fields = claim_fields_frame()
    n_fields = fields.group_by("benefit").agg(pl.col("field").n_unique().alias("fields"))
    # every (unit, id) × the benefit's inputs, joined to the facts held: streamed by the query engine, so the
    # product (tens of rows a unit) is never held whole, only the fields found
    found = (ids.lazy().join(fields.drop_nulls("input").select("benefit", "field", "input").lazy(), on="benefit")
             .join(_held(held_facts(provenance), "id").lazy(), on=["id", "input"])
             .select("population", "benefit", "unit_id", "field", "source").unique().collect(engine="streaming"))
    units = ids.select("population", "benefit", "unit_id")
    if due_found is not None:
        found = pl.concat([found, due_found.select(found.columns)])
        units = pl.concat([units, due_flags.select(units.columns)])
    any_source = found.select("population", "benefit", "unit_id", "field").unique().with_columns(
        pl.lit("toutes").alias("source"))
    per_unit = (pl.concat([found, any_source.select(found.columns)])
                .group_by("population", "benefit", "source", "unit_id").agg(pl.len().alias("_held")))
    units = units.unique()
    sources = per_unit.select("population", "benefit", "source").unique()
    grid = units.join(sources, on=["population", "benefit"]).join(
        per_unit, on=["population", "benefit", "source", "unit_id"], how="left").join(n_fields, on="benefit")
    # A population where no field is held at all still gets its "toutes" row, at 0.
    empty = units.join(sources, on=["population", "benefit"], how="anti").select("population", "benefit") \
        .unique().with_columns(pl.lit("toutes").alias("source"))
    grid = pl.concat([grid, units.join(empty, on=["population", "benefit"]).join(n_fields, on="benefit")
                      .with_columns(pl.lit(None, dtype=pl.UInt32).alias("_held"))
                      .select(grid.columns)], how="vertical_relaxed")
    return (grid.group_by("benefit", "population", "source")
            .agg(pl.len().alias("units"), pl.col("fields").first(),
                 (pl.col("_held").fill_null(0) / pl.col("fields")).mean().round(4).alias("share_held"),
                 (pl.col("_held").fill_null(0) > 0).sum().alias("_holders"))
            .sort("benefit", "population", "source").drop([] if hidden_counts else ["_holders"]))


SCENARIOS: dict[str, str] = {
    "ouverture automatique": "droit qui pourrait être ouvert sans demande : certain et aucun champ de la demande "
                             "à compléter par des données manquantes, ou CSS sans participation d'une famille payée "
                             "au RSA (certaine ou probable : le RSA ouvre le droit) ; la règle qui le permet "
                             "n'existe aujourd'hui que pour cette dernière (CSS art. L861-2, colonne de la base "
                             "légale), ailleurs il en faudrait une",
    "demande pré-remplie": "demande pré-remplie à confirmer : certain ou probable, au plus quelques questions",
    "courrier ou rendez-vous des droits": "courrier d'information ou rendez-vous des droits pour le reste",
}

_BASIS = {
    "ouverture automatique": ("une disposition permettant l'attribution sans demande, comme CSS art. L861-2 pour "
                              "la complémentaire santé solidaire des bénéficiaires du RSA"),
    "demande pré-remplie": ("CRPA art. L113-12 et L114-8 (« dites-le nous une fois » : les informations détenues "
                            "par une administration ne sont pas redemandées ; échanges entre administrations)"),
    "courrier ou rendez-vous des droits": ("un traitement autorisé d'échange de données pour repérer le non-recours "
                                           "(expérimentation de la loi n° 2022-217 du 21 février 2022, dite 3DS), "
                                           "avec information des personnes (RGPD art. 14)"),
}


def automation_scenarios(flags: pl.DataFrame, *, units: pl.DataFrame | pl.LazyFrame | None = None,
                         provenance: pl.DataFrame | None = None, max_questions: int = 2,
                         due_provenance: pl.DataFrame | None = None,
                         members: pl.DataFrame | None = None, hidden_counts: bool = False) -> pl.DataFrame:
    """Flags per benefit and scenario, with amounts (monthly and yearly money missing; null for a coverage, the CSS:
    ``detection.targets.cash``), error risk and legal basis.

    Automatic opening: grade certain, no deciding unknown, every data-answerable claim field held; the basis
    exists today only for the CSS without participation of a unit paid the RSA (CSS art. L861-2; needs
    ``units`` to know who is paid the RSA), elsewhere it would need a new rule. Such a flag, certain or probable,
    is an automatic opening whatever the claim fields held: the RSA paid opens the right, the CSS's own claim
    form is not needed (before, 99 certain ones of the 20,000-person demo fell to a pre-filled claim for a field
    of that form, and answer 3 found no legal basis used where docs/outputs.md names one). Pre-filled claim: certain or
    probable with at most ``max_questions`` deciding unknowns. The rest: letter or rendez-vous des droits.
    The fields held are counted as in ``claim_fields_held`` (the same ids with ``members``, the same facts: a flag
    judged at an earlier month, the ARS due last August, reads that month's, ``due_provenance``).
    ``hidden_counts``: also ``_owed``, the flags whose money the amounts sum, which secrecy reads and never
    publishes (``secret_answers``: 30 letters of which one holds money give that household's amount).
    """
    f = flags.with_columns(pl.col("deciding_unknowns").list.len().alias("_unknowns"))
    # Data-answerable fields not held for the flag's unit and adults.
    answerable = claim_fields_frame().drop_nulls("input")
    n_answerable = answerable.group_by("benefit").agg(pl.col("field").n_unique().alias("_answerable"))
    f = f.with_row_index("_flag").join(n_answerable, on="benefit", how="left")
    earlier = judged_earlier(f)  # these read the facts of the month judged (claim_fields_held)
    got = [pl.DataFrame(schema={"_flag": pl.UInt32, "field": pl.String})]
    if provenance is not None and provenance.height:
        # the (id, input) pairs held, whichever agency: one pass over the facts (3 million at 100,000 persons)
        held = held_facts(provenance).select("id", "input").unique()
        got.append(fact_ids(f.filter(~earlier), ["_flag", "benefit"], members).lazy()  # streamed, as in answer 2
                   .join(answerable.select("benefit", "field", "input").lazy(), on="benefit")
                   .join(held.lazy(), on=["id", "input"]).select("_flag", "field").collect(engine="streaming"))
    if f.filter(earlier).height:
        got.append(_due_fields(f.filter(earlier), due_provenance, ["_flag"]).select("_flag", "field"))
    f = f.join(pl.concat(got).group_by("_flag").agg(pl.col("field").n_unique().alias("_held")), on="_flag",
               how="left").with_columns(pl.col("_held").fill_null(0))
    rsa_paid = (units.lazy().filter((pl.col("benefit") == "rsa") & pl.col("receiving").fill_null(False))
                .select("unit_id").unique().with_columns(pl.lit(True).alias("_rsa_paid")).collect(engine="streaming")
                if units is not None else pl.DataFrame(schema={"unit_id": pl.String, "_rsa_paid": pl.Boolean}))
    f = f.join(rsa_paid, on="unit_id", how="left").with_columns(pl.col("_rsa_paid").fill_null(False))
    complete = (pl.col("grade") == "certain") & (pl.col("_unknowns") == 0) & (pl.col("_held") >= pl.col("_answerable"))
    scenario = (pl.when(complete).then(pl.lit("ouverture automatique"))
                .when(pl.col("grade").is_in(["certain", "probable"]) & (pl.col("_unknowns") <= max_questions))
                .then(pl.lit("demande pré-remplie")).otherwise(pl.lit("courrier ou rendez-vous des droits")))
    # the free CSS of a famille paid the RSA: the RSA opens it (CSS art. L861-2), so no claim field need be held
    basis_now = (pl.col("benefit") == "css_free") & pl.col("_rsa_paid")
    scenario = (pl.when(basis_now & pl.col("grade").is_in(["certain", "probable"]))
                .then(pl.lit("ouverture automatique")).otherwise(scenario))
    f = f.with_columns(scenario.alias("scenario"),
                       (pl.col("amount_central") - pl.col("paid").fill_null(0.0)).clip(lower_bound=0.0)
                       .alias("_missing"))
    out = (f.group_by("benefit", "scenario")
           .agg(pl.len().alias("flags"), pl.col("_missing").sum().round(2).alias("monthly_amount"),
                (pl.col("grade") == "certain").mean().round(4).alias("share_certain"),
                (pl.col("grade") != "certain").mean().round(4).alias("error_risk"),
                (basis_now & (pl.col("scenario") == "ouverture automatique")).sum().alias("basis_exists_for"),
                (pl.col("_missing") > 0).sum().alias("_owed"))
           .with_columns(pl.when(cash()).then(pl.col("monthly_amount")).alias("monthly_amount"))
           .with_columns((pl.col("monthly_amount") * 12).round(2).alias("yearly_amount"),
                         pl.col("scenario").replace_strict(SCENARIOS).alias("description"),
                         pl.when((pl.col("scenario") == "ouverture automatique") & (pl.col("basis_exists_for") > 0))
                         .then(pl.lit("CSS art. L861-2 (CSS sans participation des bénéficiaires du RSA), pour "
                                      "les unités payées au RSA ; au-delà : ")).otherwise(pl.lit(""))
                         .add(pl.col("scenario").replace_strict(_BASIS)).alias("legal_basis")))
    order = {s: i for i, s in enumerate(SCENARIOS)}
    return out.sort("benefit", pl.col("scenario").replace_strict(order)).select(
        "benefit", "scenario", "flags", "monthly_amount", "yearly_amount", "share_certain", "error_risk",
        "basis_exists_for", "legal_basis", "description", *(["_owed"] if hidden_counts else []))


def headline(statistics_table: pl.DataFrame, automation: pl.DataFrame,
             exchange: pl.DataFrame | None = None) -> pl.DataFrame:
    """The figures a report leads with, per benefit: non-take-up rate range and amounts foregone over the
    whole extract, flags by scenario, and (when measured) the recall kept with the CAF's extract alone.

    Columns: benefit, units, non_take_up_rate_low/central/high, yearly_foregone_low/central/high, flags,
    automatic, prefilled, outreach, recall_caf_only.
    """
    whole = statistics_table.filter((pl.col("level") == "total") & (pl.col("household_type") == "ensemble"))
    out = whole.select("benefit", "units", "non_take_up_rate_low", "non_take_up_rate_central",
                       "non_take_up_rate_high", "yearly_foregone_low", "yearly_foregone_central",
                       "yearly_foregone_high")
    short = {"ouverture automatique": "automatic", "demande pré-remplie": "prefilled",
             "courrier ou rendez-vous des droits": "outreach"}
    scen = (automation.with_columns(pl.col("scenario").replace_strict(short))
            .pivot("scenario", index="benefit", values="flags", aggregate_function="sum"))
    for col in short.values():
        if col not in scen.columns:
            scen = scen.with_columns(pl.lit(0, dtype=pl.UInt32).alias(col))
    scen = scen.with_columns(*[pl.col(c).fill_null(0) for c in short.values()]).with_columns(
        pl.sum_horizontal(*short.values()).alias("flags"))
    # a benefit the statistics rate and no flag names has 0 flags in every scenario (counted, not unknown)
    out = (out.join(scen.select("benefit", "flags", *short.values()), on="benefit", how="full", coalesce=True)
           .with_columns(pl.col("flags", *short.values()).fill_null(0)))
    return with_caf_recall(out, exchange).sort("benefit")


def with_caf_recall(table: pl.DataFrame, exchange: pl.DataFrame | None) -> pl.DataFrame:
    """The headline ``table`` with its ``recall_caf_only`` read off answer 1's exchange value (null without one);
    a published headline keeps it hidden where its row is secret (``nonrecours ablation`` refreshes only this
    column: the published answer 3 cannot give the flags back)."""
    recall = pl.DataFrame(schema={"benefit": pl.String, "recall_caf_only": pl.Float64, "_told": pl.Boolean})
    if exchange is not None:
        told = pl.col("secret") if "secret" in exchange.columns else pl.lit(False)
        recall = exchange.filter(pl.col("scenario") == "CAF seule").select(
            "benefit", pl.col("recall").alias("recall_caf_only"), told.alias("_told"))
    out = table.drop("recall_caf_only", strict=False).join(recall, on="benefit", how="left")
    if "secret" in table.columns:
        out = out.with_columns(pl.when(~pl.col("secret")).then(pl.col("recall_caf_only")).alias("recall_caf_only"))
    if "secret_measures" in table.columns:  # a published row names the recall answer 1 keeps secret
        told = ~pl.col("secret") & pl.col("_told").fill_null(False)
        named = pl.col("secret_measures").list.contains("recall_caf_only")
        out = out.with_columns(pl.when(told & ~named).then(pl.col("secret_measures").list.concat(
            pl.lit(["recall_caf_only"], dtype=pl.List(pl.String)))).otherwise(pl.col("secret_measures"))
            .alias("secret_measures"))
    return out.select(*(c for c in table.columns if c in out.columns), *(c for c in out.columns
                                                                         if c not in table.columns and c != "_told"))


def unknowns_to_settle(flags: pl.DataFrame, *, hidden_counts: bool = False) -> pl.DataFrame:
    """Per benefit and unknown input: the flags short of ``certain`` that name it among their deciding unknowns
    (one that decides alone when detection found one, ``detection.deciding``), by grade, with the monthly
    amount they estimate (null for a coverage, the CSS: ``detection.targets.cash``), and the agencies whose extract
    can carry it: the data whose exchange would settle the most flags (answer 1, at the level of a field rather
    than of an agency). The amounts are the money missing, as answer 3's and the statistics' (the estimate minus
    what is paid: an under-payment counted at its whole amount was 177,328 € where 176,607 € was missing), at the
    flags' central and favourable ends (``monthly_amount``, ``monthly_amount_high``): a possible flag is often
    nothing at the central values and the whole benefit at the favourable ones. ``hidden_counts``: also
    ``_owed_central`` and ``_owed_high``, the flags each amount sums money of (``secret_answers`` reads them)."""
    paid = pl.col("paid").fill_null(0.0)
    named = (flags.filter(pl.col("grade") != "certain")
             .select("benefit", "grade",
                     *[(pl.col(f"amount_{e}").fill_null(0.0) - paid).clip(lower_bound=0.0).alias(f"_missing_{e}")
                       for e in ("central", "high")],
                     pl.col("deciding_unknowns").alias("input")).explode("input").drop_nulls("input"))
    carried = _carriers().select("input", "agencies")
    totals = flags.filter(pl.col("grade") != "certain").group_by("benefit").len("_not_certain")
    return (named.group_by("benefit", "input").agg(
                pl.len().alias("flags"), (pl.col("grade") == "probable").sum().alias("probable"),
                (pl.col("grade") == "possible").sum().alias("possible"),
                pl.col("_missing_central").sum().round(2).alias("monthly_amount"),
                pl.col("_missing_high").sum().round(2).alias("monthly_amount_high"),
                *[(pl.col(f"_missing_{e}") > 0).sum().alias(f"_owed_{e}") for e in ("central", "high")])
            .with_columns(pl.when(cash()).then(pl.col(c)).alias(c) for c in ("monthly_amount", "monthly_amount_high"))
            .join(totals, on="benefit", how="left")
            .with_columns((pl.col("flags") / pl.col("_not_certain")).round(4).alias("share_of_uncertain_flags"))
            .drop("_not_certain")
            .join(carried, on="input", how="left")
            .with_columns(pl.col("agencies").fill_null(pl.lit([], dtype=pl.List(pl.String))))
            .sort("benefit", "flags", "input", descending=[False, True, False])
            .drop([] if hidden_counts else ["_owed_central", "_owed_high"]))


SECRET_THRESHOLD: int = StatisticsConfig.model_fields["threshold"].default
"""The statistics' default secrecy threshold (``StatisticsConfig.threshold``, one source): counts under it are
secret."""


def _small(count: pl.Expr, threshold: int) -> pl.Expr:
    """A count of 1 to ``threshold`` - 1: secret (0 tells nothing about anyone and is published)."""
    return (count > 0) & (count < threshold)


def _complement(frame: pl.DataFrame, value: str, hidden: str, threshold: int) -> pl.DataFrame:
    """``hidden`` widened within each benefit whose rows sum to a published total (answer 3's scenarios to the
    headline's flags): while its hidden rows holding units sum to fewer than ``threshold``, its smallest published
    row holding units is hidden too, so that differencing the total gives a sum that could be any cell's, never a
    small one (the statistics' secondary suppression, ``statistics.suppress``)."""
    frame = frame.with_row_index("_i")
    held = pl.col(value) > 0
    open_ = ~pl.col(hidden) & held
    need = ((pl.col(hidden) & held).any() & (pl.when(pl.col(hidden)).then(pl.col(value)).otherwise(0).sum()
                                              < threshold)).over("benefit")
    pick = pl.col("_i").filter(open_).sort_by(pl.col(value).filter(open_)).first().over("benefit")
    while True:  # a row a round per benefit: three scenarios at most
        before = frame.get_column(hidden).sum()
        frame = frame.with_columns((pl.col(hidden) | (need & open_ & (pl.col("_i") == pick))).alias(hidden))
        if frame.get_column(hidden).sum() == before:
            return frame.drop("_i")


def flag_grade_pattern(grades: pl.DataFrame, published: set[str], threshold: int) -> pl.DataFrame:
    """Which counts of flags may be published beside the statistics: ``grades`` (``GRADE_COUNTS_SCHEMA``) with
    ``hidden`` (that benefit's count of that grade is secret) and ``total_hidden`` (its whole count of flags is).

    In every benefit and grade, the flags = the non-take-up and under-payment units of the grade less those
    excluded from contact, and the statistics publish the first: beside them, a count of flags gives the
    excluded back (the report's ASI « 3 + 5 + 10 » flags beside 19 non-take-up told one excluded unit: an
    outside tester, 7 December 2026). So a benefit's whole count of flags hides where it or its excluded count
    is 1 to ``threshold`` - 1 (or the statistics keep the benefit secret), and with it every count of its flags;
    a grade's hides where its flags or its excluded are that few, with the smallest other grades until the hidden
    grades' flags and excluded each sum to 0 or at least ``threshold`` (the published total less the published
    grades gives that sum, never a small count)."""
    f = grades.with_columns(
        (~pl.col("benefit").is_in(sorted(published)) | _small(pl.col("flags").sum().over("benefit"), threshold)
         | _small(pl.col("excluded").sum().over("benefit"), threshold)).alias("total_hidden"))
    f = f.with_columns((pl.col("total_hidden") | _small(pl.col("flags"), threshold)
                        | _small(pl.col("excluded"), threshold)).alias("hidden"))
    while True:  # three grades a benefit: a round or two
        before = f.get_column("hidden").sum()
        f = _complement(_complement(f, "flags", "hidden", threshold), "excluded", "hidden", threshold)
        if f.get_column("hidden").sum() == before:
            return f


def _hidden_grades(grades: pl.DataFrame | None, published: set[str], threshold: int) -> pl.DataFrame:
    """Per benefit (``flag_grade_pattern``): ``_total_hidden``, ``_certain_hidden``, ``_cp_hidden`` (the certain
    and probable flags together not known from what is published) and ``_pp_hidden`` (the probable or the
    possible grade hidden); without ``grades`` every benefit's flags are secret (their excluded counts are
    unknown)."""
    schema = {"benefit": pl.String, "_total_hidden": pl.Boolean, "_certain_hidden": pl.Boolean,
              "_cp_hidden": pl.Boolean, "_pp_hidden": pl.Boolean}
    if grades is None:
        return pl.DataFrame(schema=schema)

    def grade(g: str) -> pl.Expr:
        return pl.col("hidden").filter(pl.col("grade") == g).any()

    # the certain and probable flags together (answer 1's exchange value counts them) are known where both
    # grades are published, or the possible one and the total
    known_cp = (~grade("certain") & ~grade("probable")) | (~grade("possible") & ~pl.col("total_hidden").any())
    return (flag_grade_pattern(grades, published, threshold).group_by("benefit")
            .agg(pl.col("total_hidden").any().alias("_total_hidden"), grade("certain").alias("_certain_hidden"),
                 (~known_cp).alias("_cp_hidden"), (grade("probable") | grade("possible")).alias("_pp_hidden")))


def _with_grades(frame: pl.DataFrame, hidden: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with its benefit's ``_total_hidden``, ``_certain_hidden``, ``_cp_hidden`` and ``_pp_hidden``:
    true where not known."""
    return frame.join(hidden, on="benefit", how="left").with_columns(
        pl.col("_total_hidden", "_certain_hidden", "_cp_hidden", "_pp_hidden").fill_null(True))


def summary_grades(summary: dict | None, detection: Path | None = None) -> pl.DataFrame | None:
    """``grade_counts``' table from detection's summary (``flags_by_benefit_grade``,
    ``excluded_flags_by_benefit_grade``). A summary written without the excluded counts (a run of an earlier
    version, which ``nonrecours ablation`` or a report may read again) has them counted from the ``detection``
    folder's flags and units; None where neither says (then no count of flags is published)."""
    if summary is None or "excluded_flags_by_benefit_grade" not in summary:
        if detection is not None and (detection / "flags.parquet").exists() and (detection / "units.parquet").exists():
            return grade_counts(pl.read_parquet(detection / "flags.parquet"),
                                pl.scan_parquet(detection / "units.parquet"))
        return None
    excluded = summary["excluded_flags_by_benefit_grade"]
    rows = [(b, g, int(n), int(excluded.get(b, {}).get(g, 0)))
            for b, gs in summary.get("flags_by_benefit_grade", {}).items() for g, n in gs.items()]
    return pl.DataFrame(rows, schema=GRADE_COUNTS_SCHEMA, orient="row").sort("benefit", "grade")


def _nulled(frame: pl.DataFrame, measures: dict[str, pl.Expr]) -> pl.DataFrame:
    """Each measure nulled where its expression holds; ``secret`` (every measure of the row hidden) and
    ``secret_measures`` (those hidden in a row otherwise published) say so, as the statistics do."""
    row = pl.all_horizontal(*measures.values())
    # a measure null by design (a coverage's amount: « sans objet ») is not told secret
    told = pl.concat_list([pl.when(h & ~row & pl.col(c).is_not_null()).then(pl.lit(c))
                           for c, h in measures.items()]).list.drop_nulls()
    return (frame.with_columns(row.alias("secret"), told.alias("secret_measures"))
            .with_columns(pl.when(h).then(None).otherwise(pl.col(c)).alias(c) for c, h in measures.items()))


def _scenario_pattern(automation: pl.DataFrame, published: set[str], threshold: int,
                      hidden: pl.DataFrame) -> pl.DataFrame:
    """answer 3 with ``_hide``: its scenario rows whose count of flags is secret, the same in the headline. A
    benefit the statistics keep secret, whose count of flags or of units excluded from contact is 1 to
    ``threshold`` - 1 (``flag_grade_pattern``, ``hidden``: ``_hidden_grades``), hides every row."""
    f = _with_grades(automation, hidden)
    benefit_secret = pl.col("_total_hidden") | _small(pl.col("flags").sum().over("benefit"), threshold)
    return _complement(f.with_columns((benefit_secret | _small(pl.col("flags"), threshold)).alias("_hide")),
                       "flags", "_hide", threshold)


def _secret_automation(pattern: pl.DataFrame, columns: list[str], threshold: int) -> pl.DataFrame:
    """answer 3 under secrecy (``pattern``: ``_scenario_pattern``'s, ``columns``: answer 3's): a hidden row has no
    number; in a published one, the shares certain (and the error risk, its complement) hide when they give 1 to
    ``threshold`` - 1 flags certain or not, with the rows' other shares so that the benefit's certain flags give
    none back, and wherever the benefit's count of certain flags is secret (``flag_grade_pattern``); the flags
    with a legal basis when they or the rest are that few."""
    f = pattern.with_columns((pl.col("share_certain") * pl.col("flags")).round(0).cast(pl.Int64).alias("_certain"))
    f = f.with_columns((pl.col("flags") - pl.col("_certain")).alias("_uncertain"))
    f = f.with_columns((pl.col("_hide") | pl.col("_certain_hidden") | _small(pl.col("_certain"), threshold)
                        | _small(pl.col("_uncertain"), threshold)).alias("_share"))
    f = _complement(_complement(f, "_certain", "_share", threshold), "_uncertain", "_share", threshold)
    basis = pl.col("_hide") | _small(pl.col("basis_exists_for"), threshold) | _small(
        pl.col("flags") - pl.col("basis_exists_for"), threshold)
    row = pl.col("_hide")
    money = row | _small(pl.col("_owed"), threshold) if "_owed" in f.columns else row
    return _nulled(f, {"flags": row, "monthly_amount": money, "yearly_amount": money,
                       "share_certain": pl.col("_share"), "error_risk": pl.col("_share"), "basis_exists_for": basis}
                   ).select(*(c for c in columns if not c.startswith("_")), "secret", "secret_measures")


def _secret_headline(table: pl.DataFrame, pattern: pl.DataFrame, statistics_table: pl.DataFrame | None,
                     published: set[str], threshold: int, grades_hidden: pl.DataFrame) -> pl.DataFrame:
    """The headline under secrecy: a benefit the statistics keep secret shows no number; a published one hides
    the flags of a scenario answer 3 hides (``pattern``: ``_scenario_pattern``'s), its total when it or the
    units excluded from contact are 1 to ``threshold`` - 1 (``flag_grade_pattern``, ``grades_hidden``:
    ``_hidden_grades``), and names the statistics' own secret measures it carries."""
    short = {"ouverture automatique": "automatic", "demande pré-remplie": "prefilled",
             "courrier ou rendez-vous des droits": "outreach"}
    hidden = (pattern.filter(pl.col("_hide"))
              .group_by("benefit").agg(pl.col("scenario").replace_strict(short).alias("_hidden")))
    told = pl.DataFrame(schema={"benefit": pl.String, "_told": pl.List(pl.String)})
    if statistics_table is not None and "secret_measures" in statistics_table.columns:
        told = statistics_table.filter((pl.col("level") == "total") & (pl.col("household_type") == "ensemble")) \
            .select("benefit", pl.col("secret_measures").alias("_told"))
    f = _with_grades(table.join(hidden, on="benefit", how="left").join(told, on="benefit", how="left"),
                     grades_hidden).with_columns(
        pl.col("_hidden", "_told").fill_null(pl.lit([], dtype=pl.List(pl.String))))
    benefit = ~pl.col("benefit").is_in(sorted(published))
    flags = benefit | pl.col("_total_hidden") | _small(pl.col("flags"), threshold)
    measures = {c: benefit | (pl.col("_told").list.contains(c) if c in STATISTICS_MEASURES else pl.lit(False))
                for c in table.columns if c != "benefit"}
    measures |= {"flags": flags, "recall_caf_only": benefit,
                 **{c: flags | pl.col("_hidden").list.contains(c) for c in short.values()}}
    # a row the statistics publish stays published (its own secret measures named), the flags hidden or not
    told = pl.concat_list([pl.when(h & (pl.col(c).is_not_null() | pl.col("_told").list.contains(c)))
                           .then(pl.lit(c)) for c, h in measures.items()]).list.drop_nulls()
    return (f.with_columns(benefit.alias("secret"), pl.when(benefit).then(pl.lit([], dtype=pl.List(pl.String)))
                           .otherwise(told).alias("secret_measures"))
            .with_columns(pl.when(h).then(None).otherwise(pl.col(c)).alias(c) for c, h in measures.items())
            .select(*table.columns, "secret", "secret_measures"))


STATISTICS_MEASURES = ("units", "non_take_up_rate_low", "non_take_up_rate_central", "non_take_up_rate_high",
                       "yearly_foregone_low", "yearly_foregone_central", "yearly_foregone_high")
"""The headline's columns read off the statistics' whole-extract cell (their secrecy is the statistics')."""


def _secret_unknowns(settle: pl.DataFrame, published: set[str], threshold: int,
                     hidden: pl.DataFrame) -> pl.DataFrame:
    """answer 1's unknowns under secrecy: a row of 1 to ``threshold`` - 1 flags has no number (its share of the
    flags not certain would give it back); probable and possible, which sum to the flags, hide together. The
    share hides too where the benefit's count of certain flags is secret (``hidden``: ``_hidden_grades``): a
    row's flags over its share are the flags not certain, the headline's total less them the certain."""
    settle = _with_grades(settle, hidden)
    row = ~pl.col("benefit").is_in(sorted(published)) | _small(pl.col("flags"), threshold)
    # a row's probable and possible flags are the benefit's where every flag not certain names its unknown
    grades = (row | _small(pl.col("probable"), threshold) | _small(pl.col("possible"), threshold)
              | pl.col("_pp_hidden"))
    money = {c: row | (_small(pl.col(f"_owed_{e}"), threshold) if f"_owed_{e}" in settle.columns else row)
             for c, e in (("monthly_amount", "central"), ("monthly_amount_high", "high"))}
    return _nulled(settle, {"flags": row, "probable": grades, "possible": grades, **money,
                            "share_of_uncertain_flags": row | pl.col("_certain_hidden")}).select(pl.exclude("^_.*$"))


def _secret_fields(held: pl.DataFrame, published: set[str], threshold: int, hidden: pl.DataFrame,
                   paid_hidden: set[str]) -> pl.DataFrame:
    """answer 2's fields held under secrecy: a population of 1 to ``threshold`` - 1 units has no number (the
    count of the form's fields, the law's, stays). Its populations are counts the other tables hold: the flagged
    units are the benefit's flags (hidden where ``flag_grade_pattern`` hides them: ``hidden``), the units already
    paid are the statistics' whole-file ``paid`` (hidden where the statistics hide it: ``paid_hidden``)."""
    held = _with_grades(held, hidden)
    other = (((pl.col("population") == "signalés") & pl.col("_total_hidden"))
             | ((pl.col("population") == "déjà payés") & pl.col("benefit").is_in(sorted(paid_hidden))))
    row = ~pl.col("benefit").is_in(sorted(published)) | _small(pl.col("units"), threshold) | other
    share = row | _small(pl.col("_holders"), threshold) if "_holders" in held.columns else row
    return _nulled(held, {"units": row, "share_held": share}).select(pl.exclude("^_.*$"))


EXCHANGE_VALUE = "answer1_exchange_value"
"""answer 1's exchange value: the published table's file stem in ``outputs/YYYY-MM/`` (written by
``write_answers``, or by ``nonrecours ablation``)."""
EXCHANGE_COUNTS = ("flags", "matched", "lost", "flags_gained", "flags_lost")
"""answer 1's exchange value: its published counts of flags or reference items."""
RATE_DECIMALS_WITHOUT_COUNTS = 2
"""answer 1's rates beside hidden counts are published to the percent: a fraction is then one of many (at 139
flags, 0.99 holds 137/139, 99/100, 68/69...), where 0.985612 is 137/139 alone."""


def _secret_exchange(value: pl.DataFrame, published: set[str], threshold: int,
                     hidden: pl.DataFrame) -> pl.DataFrame:
    """answer 1's exchange value under secrecy: no count of 1 to ``threshold`` - 1 flags or reference items,
    published or given back by the row's others, and no count of the run's certain and probable flags where
    those are secret.

    A benefit shows no figure where the statistics keep it secret or the « toutes » row's flags are few (every
    other row is measured against it); a row none where its flags are few. Where the run's certain and probable
    flags are secret (``_cp_hidden``: the « toutes » row counts them; beside the headline's flags they would give
    the possible ones, and the units excluded of that grade), every count and amount of the benefit hides and its
    rates stay, to the percent (``RATE_DECIMALS_WITHOUT_COUNTS``: a rate of six decimals gives its fraction back).
    In a row: the matched flags and the precision hide where the flags matched or wrong (flags less matched) are
    few; the reference items lost and the recall where those found (``_found``), lost, or in all (``_ref``) are
    (a rate gives its terms back beside its counts, or by its fraction); the flags gained and lost and the
    amounts (the row's less the full run's is the money of those gained less those lost) where they or the flags
    kept on either side (flags less gained, the full run's less lost) are; a change where the « toutes » row's
    figure it is taken from hides."""
    f = _with_grades(value, hidden)

    def small(expr: pl.Expr) -> pl.Expr:
        return _small(expr, threshold).fill_null(False)

    def toutes(expr: pl.Expr) -> pl.Expr:
        return expr.filter(pl.col("scenario") == "toutes").first().over("benefit")

    found = pl.col("_found") if "_found" in f.columns else pl.lit(None, dtype=pl.Int64)
    ref = (pl.col("_ref") if "_ref" in f.columns else pl.lit(None, dtype=pl.Int64)).max().over("benefit")
    benefit = ~pl.col("benefit").is_in(sorted(published)) | toutes(small(pl.col("flags"))).fill_null(True)
    row = benefit | small(pl.col("flags"))
    counts = row | pl.col("_cp_hidden")
    precision = row | small(pl.col("matched")) | small(pl.col("flags") - pl.col("matched"))
    recall = row | small(found) | small(pl.col("lost")) | small(ref)
    moves = (counts | small(pl.col("flags_gained")) | small(pl.col("flags_lost"))
             | small(pl.col("flags") - pl.col("flags_gained")) | small(toutes(pl.col("flags")) - pl.col("flags_lost")))
    f = f.with_columns(counts.alias("_counts"), precision.alias("_precision"), recall.alias("_recall"),
                       moves.alias("_moves"))
    f = f.with_columns(toutes(pl.col("_precision")).alias("_p0"), toutes(pl.col("_recall")).alias("_r0"))
    by = {"flags": pl.col("_counts"), "amount_central": pl.col("_moves"),
          "matched": pl.col("_precision") | pl.col("_counts"), "precision": pl.col("_precision"),
          "lost": pl.col("_recall") | pl.col("_counts"), "recall": pl.col("_recall"),
          "flags_gained": pl.col("_moves"), "flags_lost": pl.col("_moves"), "amount_change": pl.col("_moves"),
          "precision_change": pl.col("_precision") | pl.col("_p0"), "recall_change": pl.col("_recall") | pl.col("_r0")}
    measures = {c: by.get(c, pl.col("_counts")) for c in value.columns
                if c not in ("scenario", "benefit", "reference") and not c.startswith("_")}
    # a rate of six decimals gives its fraction back (0.627451 is 32/51): beside hidden counts, to the percent
    rates = [c for c in ("precision", "recall", "precision_change", "recall_change") if c in value.columns]
    f = f.with_columns(pl.when(pl.col("_counts")).then(pl.col(c).round(RATE_DECIMALS_WITHOUT_COUNTS))
                       .otherwise(pl.col(c)).alias(c) for c in rates)
    return _nulled(f, measures).select(pl.exclude("^_.*$"))


def _paid_hidden(statistics_table: pl.DataFrame | None) -> set[str]:
    """The benefits whose whole-file count of units paid the statistics do not publish (secret, or unknown)."""
    if statistics_table is None:
        return set()  # no statistics: no benefit is published at all
    whole = statistics_table.filter((pl.col("level") == "total") & (pl.col("household_type") == ALL_TYPES))
    told = (pl.col("secret_measures").list.contains("paid") if "secret_measures" in whole.columns
            else pl.lit(False))
    return set(whole.filter(pl.col("paid").is_null() | told).get_column("benefit"))


def secret_answers(tables: dict[str, pl.DataFrame], statistics_table: pl.DataFrame | None,
                   grades: pl.DataFrame | None, *, threshold: int = SECRET_THRESHOLD) -> dict[str, pl.DataFrame]:
    """The answers' tables as published: the statistics' secrecy applied to every count and what gives one back.

    A benefit whose whole-extract count of flags the statistics keep secret (``statistics.published_benefits``;
    no statistics: every benefit) shows no count, amount or share in any table; in a published one, a row of 1
    to ``threshold`` - 1 flags or units shows none, with the smallest other scenario when the rows sum to the
    headline's flags. The flags beside the statistics must not give back the units excluded from contact
    (``flag_grade_pattern`` of ``grades``, ``rates.grade_counts``' table; None: unknown, so no count of flags is
    published). Each table gains ``secret`` (the row shows no figure) and ``secret_measures`` (the columns
    hidden in a row otherwise published): a null never reads as 0. ``tables`` holds the raw answers
    (``write_answers``' stems); the headline is made secret from answer 3's raw flags."""
    published = published_benefits(statistics_table)
    hidden = _hidden_grades(grades, published, threshold)
    out = dict(tables)
    if "answer3_automation" in tables:
        pattern = _scenario_pattern(tables["answer3_automation"], published, threshold, hidden)
        out["answer3_automation"] = _secret_automation(pattern, tables["answer3_automation"].columns, threshold)
        if "headline" in tables:
            out["headline"] = _secret_headline(tables["headline"], pattern, statistics_table, published, threshold,
                                               hidden)
    if "answer1_unknowns_to_settle" in tables:
        out["answer1_unknowns_to_settle"] = _secret_unknowns(tables["answer1_unknowns_to_settle"], published,
                                                             threshold, hidden)
    if "answer2_claim_fields_held" in tables:
        out["answer2_claim_fields_held"] = _secret_fields(tables["answer2_claim_fields_held"], published, threshold,
                                                          hidden, _paid_hidden(statistics_table))
    if EXCHANGE_VALUE in tables:
        out[EXCHANGE_VALUE] = _secret_exchange(tables[EXCHANGE_VALUE], published, threshold,
                                                         hidden)
        if "headline" in out:  # the recall with the CAF alone, as answer 1 publishes it
            out["headline"] = with_caf_recall(out["headline"], out[EXCHANGE_VALUE])
    return out


def write_answers(out: str | Path, *, flags: pl.DataFrame, units: pl.DataFrame | pl.LazyFrame,
                  provenance: pl.DataFrame,
                  due_provenance: pl.DataFrame | None = None, statistics_table: pl.DataFrame | None = None,
                  members: pl.DataFrame | None = None,
                  run_detection: Callable[[set[str]], pl.DataFrame] | None = None,
                  truth: pl.DataFrame | None = None, exchange: pl.DataFrame | None = None,
                  threshold: int = SECRET_THRESHOLD) -> dict[str, Path]:
    """Write the three answers (Parquet and French CSV) under ``out``, under the statistics' secrecy
    (``secret_answers``, ``threshold``: the run's ``thresholds.suppression``); return every path written.

    ``exchange``: answer 1's exchange value as the ablation stage measured it (``outputs.ablation``, with its
    hidden counts), published here under secrecy; ``run_detection``: measure it here instead.
    ``due_provenance``: detection's ``provenance_due.parquet``, the facts of the flags of a benefit judged at an
    earlier month (answers 2 and 3); ``members``: the month's memberships (person_id, unit_id, role), the ids
    answers 2 and 3 read facts on.
    ``units`` may be a lazy scan of ``units.parquet``: answers 2 and 3 read only its paid rows."""
    out = Path(out)
    # the benefits the run looked for (run.toml's ``benefits``), not the catalogue's fourteen
    looked_for = set(units.lazy().select(pl.col("benefit").cast(pl.String)).unique().collect().get_column("benefit"))
    tables = {
        "answer1_data_to_exchange": data_to_exchange([b for b in TARGET_BENEFITS if b in looked_for]
                                                     or TARGET_BENEFITS),
        "answer1_unknowns_to_settle": unknowns_to_settle(flags, hidden_counts=True),
        "answer2_claim_fields_held": claim_fields_held(flags, provenance, paid_units=units, members=members,
                                                       due_provenance=due_provenance, hidden_counts=True),
        "answer3_automation": automation_scenarios(flags, units=units, provenance=provenance,
                                                   due_provenance=due_provenance, members=members, hidden_counts=True),
    }
    if run_detection is not None:
        exchange = exchange_value(run_detection, truth=truth, hidden_counts=True)
    if exchange is not None:
        tables[EXCHANGE_VALUE] = exchange
    if statistics_table is not None:
        tables["answer2_non_take_up"] = statistics_table.filter(
            pl.col("level").is_in(["total", "departement"]) & (pl.col("household_type") == "ensemble"))
        tables["headline"] = headline(statistics_table, tables["answer3_automation"], exchange)
    written: dict[str, Path] = {}
    grades = grade_counts(flags, units)
    for stem, frame in secret_answers(tables, statistics_table, grades, threshold=threshold).items():
        for kind, path in write_table(frame, out, stem).items():
            written[f"{stem}.{kind}"] = path
    return written

