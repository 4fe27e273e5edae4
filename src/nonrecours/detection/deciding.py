"""Which unknown inputs decide a flag: each one moved alone to the end that changes the entitlement.

A flag is not ``certain`` because some unknown input, at an end the data cannot exclude, takes the right
away (or, for a flag entitled at a corner only, gives it). Naming every unknown the benefit reads sends a
caseworker to ask a dozen questions where one decides, and hides which exchange of data would settle the
most cases (the experiment's first question). Here each candidate input is moved alone, every other unknown
at its central value, on the rows of the flagged familles only (with the ménages and foyers they share),
in one stacked evaluation: an input whose move alone flips the entitlement decides. A flag no single input
flips (several must move together) keeps the whole list of the unknowns it reads.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import polars as pl

from nonrecours.core.month import CoreMonth
from nonrecours.detection.confidence import (
    COMPOSITION_UNKNOWN,
    changed_people,
    dated_unknowns,
    restricted,
    with_unknowns_at,
)
from nonrecours.detection.targets import entitled_expr
from nonrecours.engine import Inputs
from nonrecours.engine.evaluate import evaluate_many
from nonrecours.engine.plan import ID
from nonrecours.schemas.benefits import benefit as catalogue_row
from nonrecours.schemas.codes import UNIT_KINDS

__all__ = ["decisive_unknowns"]

_SCHEMA = {"famille_id": pl.String(), "benefit": pl.String(), "decisive": pl.List(pl.String())}
def _closure(individu: pl.DataFrame, familles: pl.DataFrame) -> pl.DataFrame:
    """The individus of ``familles`` and of every ménage, foyer and famille they share (two hops: a famille's
    benefit may read an aggregate of its ménage or foyer, whose members' values come from their own famille)."""
    members = individu.join(familles, on="famille_id", how="semi").select("person_id")
    return _closure_of(individu, members)


def _closure_of(individu: pl.DataFrame, people: pl.DataFrame) -> pl.DataFrame:
    """The individus within two hops of ``people`` (person_id) through a shared unit: the relation is symmetric,
    so a famille's closure holds one of ``people`` exactly when one of its members is among these. One reach
    over the whole core (to find the flagged familles' subset): :class:`_Hops` would hold the pairs of every person
    of the population to answer it (1.2 s for 280,000 pairs of 100,000 persons, the demo's households repeated,
    against 0.5 s here); it serves the many reaches within the subset."""
    keys = [ID[u] for u in UNIT_KINDS]
    reached = individu.join(people, on="person_id", how="semi")
    for _ in range(2):
        parts = [individu.join(reached.select(k).drop_nulls().unique(), on=k, how="semi") for k in keys]
        reached = pl.concat([reached, *parts]).unique(subset=["person_id"])
    return reached


class _Hops:
    """Who is within two hops of whom among ``individu`` (one row per person; a shared famille, ménage or foyer
    is a hop), found once: a reach is then one join (``closure``), not :func:`_closure_of`'s eight joins, two
    concatenations and their deduplications, and the reaches of every moved input are found together (``by``).
    The same rows as :func:`_closure_of`."""

    def __init__(self, individu: pl.DataFrame) -> None:
        self.rows = individu.with_row_index("_i")
        units = pl.concat([self.rows.select("_i", pl.lit(u).alias("_kind"), pl.col(ID[u]).cast(pl.String)
                                            .alias("_unit")).drop_nulls("_unit") for u in UNIT_KINDS])
        hop = pl.concat([units.join(units.rename({"_i": "_j"}), on=["_kind", "_unit"]).select("_i", "_j"),
                         self.rows.select("_i", pl.col("_i").alias("_j"))]).unique()
        self.pairs = (hop.join(hop.rename({"_i": "_j", "_j": "_l"}), on="_j")
                      .select("_i", pl.col("_l").alias("_j")).unique())
        """(_i, _j): person _j within two hops of person _i (row indices of ``rows``; _i itself included)."""

    def closure(self, people: pl.DataFrame, by: str | None = None) -> pl.DataFrame:
        """The individus within two hops of ``people`` (person_id), as :func:`_closure_of` gives them; ``by``: a
        column of ``people`` grouping them, each group's reach apart (the column kept before the individus')."""
        keys = [by] if by else []
        start = self.rows.select("_i", "person_id").join(people.select(*keys, "person_id"), on="person_id")
        reach = (start.join(self.pairs, on="_i").select(*keys, pl.col("_j").alias("_i")).unique())
        if by is None:
            return self.rows.join(reach, on="_i", how="semi").drop("_i")
        return reach.join(self.rows, on="_i").drop("_i")

    def of_familles(self, familles: pl.DataFrame, by: str | None = None) -> pl.DataFrame:
        """The individus within two hops of the members of ``familles`` (famille_id): :func:`_closure`'s rows;
        ``by``: as in ``closure``."""
        keys = [by] if by else []
        members = self.rows.select("famille_id", "person_id").join(familles.select(*keys, "famille_id"),
                                                                     on="famille_id")
        return self.closure(members, by)


def _part(core: CoreMonth, people: pl.DataFrame, unknowns: pl.DataFrame, inputs: Inputs | None = None) -> CoreMonth:
    """``core`` restricted to the rows of ``people`` (individus with their unit ids) and of their units, with
    those of ``unknowns`` (already dated: a part may hold no monthly row) on these rows only: an unknown of a row
    left out would add that row back to a monthly frame. ``inputs``: ``restricted(core.inputs, people)`` when
    already taken (``_restricted_each``)."""
    ids = {"individu": people.select("person_id").unique()}
    for u in UNIT_KINDS:
        ids[u] = people.select(ID[u]).drop_nulls().unique()
    kept = [unknowns.filter(pl.col("entity") == e).join(ids[e].rename({ids[e].columns[0]: "id"}), on="id",
                                                         how="semi") for e in ids]
    return dataclasses.replace(core, inputs=restricted(core.inputs, people) if inputs is None else inputs,
                               unknowns=pl.concat(kept))


def _restricted_each(inputs: Inputs, people: pl.DataFrame, by: str) -> dict[Any, Inputs]:
    """``restricted(inputs, part)`` for each part of ``people`` by its column ``by`` (the rows of each, in the
    frames' order), one join per frame for all parts: a semi join per part read every frame again, 2 million
    monthly rows for each of the sixty-odd inputs moved on 100,000 persons' flags."""
    keys = people.get_column(by).unique(maintain_order=True).to_list()
    out: dict[Any, dict[str, pl.DataFrame | None]] = {k: {} for k in keys}
    for f in dataclasses.fields(inputs):
        frame = getattr(inputs, f.name)
        if frame is None:
            for k in keys:
                out[k][f.name] = None
            continue
        idc = ID[f.name.removesuffix("_monthly")]
        ids = people.select(by, idc).drop_nulls(idc).unique()
        # each part's row numbers found by one join of the key alone, then its rows gathered in the frame's order
        rows = (frame.select(idc).with_row_index("__row").join(ids, on=idc, how="inner").sort(by, "__row")
                .partition_by(by, as_dict=True, include_key=False))
        for k in keys:
            out[k][f.name] = (frame.select(pl.all().gather(rows[(k,)].get_column("__row"))) if (k,) in rows
                              else frame.clear())
    return {k: Inputs(**frames) for k, frames in out.items()}


def _subset(core: CoreMonth, familles: pl.DataFrame) -> CoreMonth:
    """``core`` restricted to the rows of ``familles``' closure, its unknowns included."""
    u = dated_unknowns(core.unknowns, core.inputs, core.months_read)  # the whole core's months
    return _part(core, _closure(core.inputs.individu, familles), u)


def decisive_unknowns(core: CoreMonth, flags: pl.DataFrame, *, backend: str = "polars",
                      engine_config: dict[str, Any] | None = None,
                      targets: list[str] | None = None) -> pl.DataFrame:
    """famille_id, benefit, decisive: for each flag not ``certain`` with unknowns (``flags``: famille_id,
    benefit, grade, entitled_central, deciding_unknowns), the unknowns that flip its entitlement alone, plus
    those that cap its grade (the catalogue's ``unknown_caps``, an unknown couple). A flag whose subset
    evaluation differs from the whole one, or that no single input flips, is left out (it keeps its list).
    ``targets``: the rules evaluated, those of the flags' benefits among them (default: those alone); a caller
    gives the targets its month was evaluated with, whose plan the engine keeps, rather than plan again."""
    todo = flags.filter((pl.col("grade") != "certain") & (pl.col("deciding_unknowns").list.len() > 0))
    if todo.is_empty():
        return pl.DataFrame(schema=_SCHEMA)
    sub = _subset(core, todo.select("famille_id").unique())
    known_inputs = set(sub.unknowns.get_column("input").unique().to_list())
    pairs = (todo.select("famille_id", "entitled_central", pl.col("deciding_unknowns").alias("input"))
             .explode("input").filter(pl.col("input").is_in(sorted(known_inputs))))
    # each input moved on the familles whose flag reads it only: the unfavourable end for a flag entitled on
    # the central values, either end for one entitled at a corner only
    # A famille none of whose values the move changes (within the rows its benefits read: its closure) keeps its
    # central entitlement: left out of the move (a student's low end is its central value; the unfavourable
    # corner leaves a rent where it is). On the 20,000-person demo half the moved rows changed nothing.
    variants: list[tuple[str, str]] = []
    asked = [sub.inputs]
    hops = _Hops(sub.inputs.individu)
    for end, side in (("unfavourable", pl.col("entitled_central")), ("low", ~pl.col("entitled_central")),
                      ("high", ~pl.col("entitled_central"))):
        chosen = pairs.filter(side)
        names = chosen.get_column("input").unique(maintain_order=True).to_list()
        if not names:
            continue
        # every input of this end moved at once, to find who each one changes (each changes its own column
        # only) and the flagged familles that can reach them, for all inputs in a few joins
        moved = with_unknowns_at(dataclasses.replace(sub, unknowns=sub.unknowns.filter(pl.col("input").is_in(names))),
                                 end)
        reached = hops.closure(changed_people(sub.inputs, moved, names, by_input=True), by="input")
        kept = chosen.select("input", "famille_id").unique().join(
            reached.select("input", "famille_id").drop_nulls().unique(), on=["input", "famille_id"], how="semi")
        reach = hops.of_familles(kept, by="input")
        parts = reach.partition_by("input", as_dict=True, include_key=False)
        frames = _restricted_each(sub.inputs, reach, "input")
        for inp in names:
            if (inp,) not in parts:
                continue
            variants.append((str(inp), end))
            # the input moved alone on its part only: the part's own unknowns of it, set at this end
            mine = _part(sub, parts[(inp,)], sub.unknowns.filter(pl.col("input") == inp), frames[inp])
            asked.append(with_unknowns_at(mine, end))
    benefits = sorted(set(todo.get_column("benefit").to_list()))
    own = list(dict.fromkeys(r for b in benefits for r in catalogue_row(b).rules))
    if targets is None:
        targets = own
    elif not set(own) <= set(targets):
        raise ValueError("decisive_unknowns: targets without the rules of a flagged benefit")
    results = evaluate_many(targets, asked, core.month, backend=backend, missing_inputs="error",
                            duckdb_config=engine_config)
    flips = []
    for benefit in benefits:
        mine = todo.filter(pl.col("benefit") == benefit).select("famille_id", "entitled_central")
        central = results[0]["famille"].select("famille_id", entitled_expr(benefit).fill_null(False).alias("_sub"))
        # the subset must reproduce the whole evaluation, or its verdicts are not this flag's
        mine = mine.join(central, on="famille_id", how="inner").filter(pl.col("_sub") == pl.col("entitled_central"))
        for (inp, end), result in zip(variants, results[1:], strict=True):
            moved = result["famille"].select("famille_id", entitled_expr(benefit).fill_null(False).alias("_e"))
            flip = (~pl.col("_e")) if end == "unfavourable" else pl.col("_e")
            on_side = pl.col("entitled_central") if end == "unfavourable" else ~pl.col("entitled_central")
            flips.append(mine.join(moved, on="famille_id", how="inner").filter(on_side & flip)
                         .select("famille_id", pl.lit(benefit).alias("benefit"), pl.lit(inp).alias("input")))
    found = pl.concat(flips) if flips else pl.DataFrame(schema={"famille_id": pl.String, "benefit": pl.String,
                                                                  "input": pl.String})
    # the unknowns that cap a grade whatever the entitlement: the catalogue's, and a couple the data may not show
    caps = pl.DataFrame([(b, i) for b in benefits for i, _ in catalogue_row(b).unknown_caps]
                        + [(b, COMPOSITION_UNKNOWN) for b in benefits],
                        schema={"benefit": pl.String, "input": pl.String}, orient="row")
    capped = (todo.select("famille_id", "benefit", pl.col("deciding_unknowns").alias("input")).explode("input")
              .join(caps, on=["benefit", "input"], how="semi").join(found.select("famille_id", "benefit").unique(),
                                                                  on=["famille_id", "benefit"], how="semi"))
    return (pl.concat([found, capped]).unique()
            .group_by("famille_id", "benefit").agg(pl.col("input").sort().alias("decisive"))
            .cast(_SCHEMA))  # type: ignore[arg-type]
