"""The reasons of each flag in plain French, computed in bulk for all flags at once.

Each line comes from what the engine already computed: the benefit's labelled legal conditions (one
boolean column each, ``<rule>__<label>``), the estimate range, what was paid, the agencies whose facts the
benefit read for that famille (``<input>__source`` columns of the inputs, or the core's provenance), and the
unknown inputs that decide the grade. No identifier, no per-unit filter: joins and list expressions only.
A flag gets a handful of lines (``DetectionConfig.max_reasons``), short enough for a letter.
"""

from __future__ import annotations

import polars as pl

from nonrecours.core.month import CoreMonth
from nonrecours.core.resources import MONTHLY_INPUTS as RESOURCE_INPUTS
from nonrecours.engine import Result, required_inputs
from nonrecours.engine.explain import closure
from nonrecours.engine.inputs import SOURCE_SUFFIX
from nonrecours.rules.registry import default_registry
from nonrecours.schemas.benefits import CATALOGUE
from nonrecours.schemas.benefits import benefit as catalogue_row

__all__ = ["AGENCY_FR", "BENEFIT_FR", "fact_sources", "reasons"]

AGENCY_FR = {"caf": "CAF", "cnam": "CNAM", "france_travail": "France Travail", "dgfip": "DGFiP",
             "cnav": "CNAV", "msa": "MSA", "synth": "données de test"}
BENEFIT_FR = {b.code: b.short if b.kind == "amount" else b.label for b in CATALOGUE}
"""French name of each benefit in a reason line (the catalogue's, schemas.benefits)."""
_STATIC_SOURCES = {"persons__source": ("individu", "age", "état civil (âge, nationalité, études)")}


def _euros(e: pl.Expr) -> pl.Expr:
    """``1 234,56 €`` from a float expression (French notation, in bulk)."""
    cents = (e.fill_null(0.0) * 100).round(0).cast(pl.Int64)
    units = (cents // 100).cast(pl.String)
    grouped = units.str.reverse().str.replace_all(r"(\d{3})", "$1 ").str.reverse().str.strip_chars(" ")
    return grouped + pl.lit(",") + (cents % 100).cast(pl.String).str.zfill(2) + pl.lit(" €")


def fact_sources(core: CoreMonth, individu: pl.DataFrame, months_from,  # type: ignore[no-untyped-def]
                 familles: pl.DataFrame) -> pl.DataFrame:
    """famille_id, input, agency: which agency supplied each input the core read for the members of
    ``familles`` (famille_id: the flagged ones only, so the work scales with the flags, not the territory),
    from the core's provenance when it has one, else from the ``__source`` columns of the inputs."""
    fam = individu.select("person_id", "famille_id", "menage_id").join(familles.select("famille_id").unique(),
                                                                      on="famille_id", how="semi")
    parts: list[pl.DataFrame] = []
    schema = {"famille_id": pl.String(), "input": pl.String(), "agency": pl.String()}
    if core.provenance.height:
        p = core.provenance.filter(pl.col("source_agency").is_not_null())
        for entity, key in (("individu", "person_id"), ("famille", "famille_id"), ("menage", "menage_id")):
            sel = p.filter(pl.col("entity") == entity).select(pl.col("id").alias(key), "input",
                                                              pl.col("source_agency").alias("agency"))
            link = fam.select(key, "famille_id").unique() if key != "famille_id" else None
            if link is not None:
                sel = sel.join(link, on=key, how="inner")
            parts.append(sel.select(list(schema)))
    else:
        monthly = core.inputs.individu_monthly
        if monthly is not None:
            src_cols = [c for c in monthly.columns if c.endswith(SOURCE_SUFFIX)]
            if src_cols:
                long = (monthly.filter(pl.col("month") >= months_from)
                        .join(fam.select("person_id"), on="person_id", how="semi").select("person_id", *src_cols)
                        .unpivot(index="person_id", variable_name="input", value_name="agency")
                        .filter(pl.col("agency").is_not_null()).unique()
                        .with_columns(pl.col("input").str.replace(f"{SOURCE_SUFFIX}$", "")))
                parts.append(long.join(fam, on="person_id").select(list(schema)))
        ind = core.inputs.individu
        for col, (_entity, name, _label) in _STATIC_SOURCES.items():
            if col in ind.columns:
                parts.append(ind.select("person_id", pl.lit(name).alias("input"), pl.col(col).alias("agency"))
                             .join(fam, on="person_id").select(list(schema)))
        men = core.inputs.menage
        if men is not None and f"rent{SOURCE_SUFFIX}" in men.columns:
            parts.append(men.select("menage_id", pl.lit("rent").alias("input"),
                                    pl.col(f"rent{SOURCE_SUFFIX}").alias("agency"))
                         .join(fam.select("menage_id", "famille_id").unique(), on="menage_id")
                         .select(list(schema)))
    parts = [p.cast(schema).filter(pl.col("agency").is_not_null()) for p in parts]  # type: ignore[arg-type]
    return pl.concat(parts).unique() if parts else pl.DataFrame(schema=schema)


def _conditions(result: Result, benefit: str) -> list[tuple[str, str]]:
    """(column, label) of the famille-level labelled conditions the benefit depends on."""
    cols = set(result["famille"].columns)
    rule = catalogue_row(benefit).rule
    # the benefit's own rule and its eligibility rules, not its dependencies'
    own = {benefit, rule}
    prefixes = (f"{benefit}_", f"{rule}_")
    return [(s.name, s.label or s.name) for s in closure(result, [rule])
            if s.public and s.rule is not None and s.entity == "famille" and s.name in cols
            and (s.rule in own or s.rule.startswith(prefixes))]


def _input_label(name: str) -> str:
    if name == "age":
        return _STATIC_SOURCES["persons__source"][2]
    reg = default_registry()
    var = reg.inputs.get(name)
    return var.label if var is not None else name


def _input_labels() -> dict[str, str]:
    return {name: var.label for name, var in default_registry().inputs.items()}


def reasons(flags: pl.DataFrame, result: Result, sources: pl.DataFrame, max_lines: int,
            payments_unknown: frozenset[str] = frozenset()) -> pl.DataFrame:
    """``flags`` (famille_id, benefit, grade, amounts, paid, deciding_unknowns, linked) with a ``reasons``
    list column added. ``payments_unknown``: benefits whose payments no agency of the run reports (said on the
    flag: what is received is unknown)."""
    if flags.is_empty():
        return flags.with_columns(pl.lit(None, dtype=pl.List(pl.String)).alias("reasons"))
    fam = result["famille"]
    out: list[pl.DataFrame] = []
    labels = pl.DataFrame({"input": sorted(set(sources.get_column("input").to_list()) | {"age"})})
    labels = labels.with_columns(pl.col("input").map_elements(_input_label, return_dtype=pl.String)
                                 .alias("_label"))  # one call per input name, not per unit
    agency = pl.col("agency").replace_strict(AGENCY_FR, default=pl.col("agency"), return_dtype=pl.String)
    src = (sources.join(labels, on="input").with_columns(agency.alias("agency"))
           .group_by("famille_id", "input", "_label").agg(pl.col("agency").unique().sort().str.join(", ")))
    for benefit, part in flags.group_by("benefit"):
        benefit = str(benefit[0])
        conds = _conditions(result, benefit)
        needed = {v for r in catalogue_row(benefit).rules for vs in required_inputs(r).values() for v in vs}
        needed |= {"age"}
        # the sources of this benefit's flagged familles only (src holds those of every flag)
        facts = (src.join(part.select("famille_id").unique(), on="famille_id", how="semi")
                 .filter(pl.col("input").is_in(sorted(needed)))
                 .sort("input").group_by("famille_id")
                 .agg((pl.col("_label") + pl.lit(" (") + pl.col("agency") + pl.lit(")")).alias("_facts"),
                      pl.col("input").is_in(list(RESOURCE_INPUTS.values())).any().alias("_has_resources")))
        part = part.join(fam.select("famille_id", *[c for c, _ in conds]), on="famille_id", how="left")
        part = part.join(facts, on="famille_id", how="left")
        row = catalogue_row(benefit)
        name = BENEFIT_FR[benefit]
        if row.kind == "amount":
            per = 12.0 if row.yearly else 1.0
            ranged = pl.when(pl.col("amount_low") != pl.col("amount_high")).then(
                pl.lit(" (de ") + _euros(pl.col("amount_low") * per) + pl.lit(" à ")
                + _euros(pl.col("amount_high") * per) + pl.lit(" selon les données inconnues)")).otherwise(pl.lit(""))
            word = "estimée" if row.feminine else "estimé"
            period = " pour l'année" if row.yearly else " par mois"
            received = (pl.lit(" ; versé ces douze derniers mois : ") + _euros(pl.col("paid") * per)) if row.yearly \
                else pl.lit(" ; versé ce mois : ") + _euros(pl.col("paid"))
            if benefit in payments_unknown:
                received = pl.lit(" ; versements non transmis par les organismes (à vérifier)")
            estimate = (pl.lit(f"{name[0].upper()}{name[1:]} {word} à ")
                        + _euros(pl.col("amount_central") * per) + pl.lit(period) + ranged + received + pl.lit("."))
        else:
            estimate = pl.lit(f"Droit estimé à la {name} ; aucune couverture enregistrée ce mois.")
        held = [pl.when(pl.col(c).fill_null(False)).then(pl.lit(lbl)) for c, lbl in conds]
        failed = [pl.when(~pl.col(c).fill_null(True)).then(pl.lit(lbl)) for c, lbl in conds]
        held_line = (pl.lit("Conditions remplies (valeurs centrales) : ")
                     + pl.concat_list(held).list.drop_nulls().list.join(" ; ") + pl.lit(".")) if held else None
        failed_list = pl.concat_list(failed).list.drop_nulls() if failed else None
        lines = [estimate]
        # a possible flag says first on which values it rests: the central values may not give the right at all
        central_gives = pl.col("amount_central").fill_null(0.0) > 0
        lines.append(pl.when((pl.col("grade") == "possible") & ~central_gives).then(pl.lit(
            "Droit seulement si les données inconnues sont favorables : pas sur les valeurs centrales."))
            .when(pl.col("grade") == "possible").then(pl.lit(
                "Droit sur les valeurs centrales, mais certaines ne reposent sur aucune donnée transmise.")))
        cap = catalogue_row(benefit).grade_cap
        if cap is not None:  # a condition no data shows: said first, the letter asks it
            lines.append(pl.lit(f"À vérifier auprès de la personne : {cap[1]}."))
        if held_line is not None:
            lines.append(pl.when(pl.concat_list(held).list.drop_nulls().list.len() > 0).then(held_line))
        if failed_list is not None:  # only says why the central values fail, for a ``possible`` flag
            lines.append(pl.when((pl.col("grade") == "possible") & (failed_list.list.len() > 0)).then(
                pl.lit("Non remplies sur les valeurs centrales : ") + failed_list.list.join(" ; ") + pl.lit(".")))
        lines.append(pl.when(pl.col("_facts").list.len() > 0).then(
            pl.lit("Données utilisées : ") + pl.col("_facts").list.head(6).list.join(" ; ") + pl.lit(".")))
        lines.append(pl.when(~pl.col("_has_resources").fill_null(False)).then(
            pl.lit("Aucun revenu transmis par les organismes pour les mois de référence.")))
        lines.append(pl.when(pl.col("deciding_unknowns").list.len() > 0).then(
            pl.lit("Données inconnues qui décident : ") + pl.col("deciding_unknowns").list.eval(
                pl.element().replace_strict(_input_labels(), default=pl.element())).list.join(", ")
            + pl.lit(" (à vérifier auprès de la personne).")))
        lines.append(pl.when(pl.col("linked").list.len() > 0).then(
            pl.lit("Ouvre aussi droit à : ") + pl.col("linked").list.eval(
                pl.element().replace_strict(BENEFIT_FR, default=pl.element())).list.join(", ") + pl.lit(".")))
        part = part.with_columns(pl.concat_list([ln.cast(pl.String) for ln in lines]).list.drop_nulls()
                                 .list.head(max_lines).alias("reasons"))
        out.append(part.select(*flags.columns, "reasons"))
    return pl.concat(out)
