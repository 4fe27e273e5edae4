"""Ranges of the unknown inputs → ranges of each benefit → a grade.

The join core puts the central value of every unknown input in the engine inputs and lists the unknowns
(``CoreMonth.unknowns``: entity, id, month, input, low, central, high). Detection evaluates the rules three
times: on the central inputs, on every unknown at its low end (the conditions of the minimum incomes,
``UNFAVOURABLE_LOW``, at their high end: the corner favourable to them), and on every unknown at its high end, each
variant built by one join of the unknowns onto the input frames (no loop over units). Per unit and benefit
the estimate range is the min and max over the three evaluations.

Monotonicity assumption: the extremes of a benefit over the box of its unknown inputs are reached at the
all-low or all-high corner. This holds when the benefit moves in one direction with every unknown input of
the unit (e.g. all unknowns are resources, which lower every minimum income); it fails when a unit has
unknowns pulling in opposite directions (an unknown rent, which lowers the housing forfait, together with an
unknown salary). Such a unit's range may then be too narrow: its grade may read ``certain`` where a mixed
corner would deny the benefit. The core lists few such units (see the unknowns' ``reason``); the deciding
unknowns named on each flag let a caseworker check them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import fields

import polars as pl

from nonrecours.core.inputs import YOUNG_DEPENDANT_MISSING
from nonrecours.core.month import CoreMonth
from nonrecours.engine import Inputs
from nonrecours.engine.inputs import PL_DTYPES
from nonrecours.engine.plan import ID
from nonrecours.errors import SchemaError
from nonrecours.rules.params import default_parameters
from nonrecours.rules.registry import default_registry
from nonrecours.schemas.benefits import benefit as benefit_row
from nonrecours.schemas.codes import UNIT_KINDS

__all__ = ["ALL_VARIANTS", "COMPOSITION_UNKNOWN", "UNINFORMED_AT_HIGH", "VARIANTS", "changed_people",
           "composition_unknown", "dated_unknowns", "grade_expr", "restricted", "with_unknowns_at",
           "young_dependant_caps"]

VARIANTS = ("low", "central", "high")
"""The unknowns at their low end (but those of ``UNFAVOURABLE_LOW``, at their high end: the corner favourable to
the minimum incomes), at their central value, at their high end."""
UNINFORMED_VARIANTS = ("uninformed_unfavourable",)
"""Only the *uninformed* unknowns (a conventional central value, ``informed`` false) at their unfavourable
end, the informed ones (estimated from a declared income) at their central value: a probable flag holds there."""
ALL_VARIANTS = (*VARIANTS, "unfavourable", *UNINFORMED_VARIANTS)

UNFAVOURABLE_LOW = frozenset({"age", "pregnant", "recent_isolation", "residence_permit_years",
                              "residence_condition_exempt", "ofpra_protection"})
"""Inputs whose *low* end lowers the minimum incomes (RSA from 25, ASPA from 65, the majorations of a
pregnancy or a recent isolation, the residence test and its exemptions); every other unknown's high end does
(resources, being housed at no cost, studies, a disability whose AAH is a resource, family benefits)."""
UNFAVOURABLE_TEXT: dict[str, str] = {"nationality_group": "OTHER"}
"""Text inputs (no low/high value) and the value they take at the unfavourable corner: a nationality no agency
gives is taken as non-EEA there, so the residence test (with unknown years of residence at 0) decides."""
UNFAVOURABLE_CENTRAL = frozenset({"rent", "revenus_n2_renseignes", "colocation", "chambre", "loan_date"})
"""Inputs with no end that lowers every benefit: left at their central value in the unfavourable corners. A
colocation or a room lowers the housing aid but raises what RSA, PPA and CSS leave when they count the aid
computed (an unknown housing is not paid, so its aid is computed): like the rent, either end is unfavourable to
some benefit. An accédant's unknown loan date the same way: a loan from before 2018 opens the housing aid, which
lowers them."""
UNINFORMED_AT_HIGH = frozenset({"revenus_n2_renseignes"})
"""Of ``UNFAVOURABLE_CENTRAL``, the inputs moved to their high end in the uninformed corner all the same: a year
N-2 no agency declares (uninformed) is otherwise estimated by the rules from the months, a convention that held
every family benefit's and the ARS's probable flag whatever that year was (France 100,000 built at d8e16c9: 18 of
the ARS's 54 probable flags false, a year's unemployment or salary the months no longer show); at its high end
the year is declared at the upper amounts, which lowers every benefit resting on it."""
COMPOSITION_UNKNOWN = "couple_kind"
"""A famille-level unknown on this input means the extracts may not show a partner (a single tax declarant
the CAF and MSA do not follow, a stale composition). No input value stands for a missing partner (the number
of parents comes from the memberships), and a partner changes every benefit's amount and resources: such a
famille's flags are ``possible`` at most, or ``probable`` at most when the unknown is *informed* (the DGFiP's
dwelling shows nobody who could be the partner: single is an estimate from data, not a convention)."""


def _frame_name(entity: str, monthly: bool) -> str:
    return f"{entity}_monthly" if monthly else entity


def with_unknowns_at(core: CoreMonth, end: str) -> Inputs:
    """The core's inputs with every unknown value set to its ``end`` (``low``/``central``/``high``) value, at
    its unfavourable end (``unfavourable``, see ``UNFAVOURABLE_LOW``), or only the uninformed unknowns at their
    unfavourable end (``uninformed_unfavourable``; ``UNINFORMED_AT_HIGH`` moved there too). ``low`` moves the
    inputs of ``UNFAVOURABLE_LOW`` to their *high* end: the corner favourable to the minimum incomes (no resource,
    their conditions met), the mirror of ``unfavourable``; at their low end there they took the right away whatever
    the resources (a non-EEA jobseeker France Travail alone knows, permit years unknown: no RSA at the all-low
    corner, none at the all-high one, where the unknown disability's AAH and salary are resources; never flagged).

    One pivot and one join per input frame touched; rows absent from a monthly frame are added (their other
    inputs stay null, which the engine reads as the declared default)."""
    if end not in ALL_VARIANTS:
        raise ValueError(f"end must be one of {ALL_VARIANTS}")
    unknowns = core.unknowns
    held_central = UNFAVOURABLE_CENTRAL
    if end in UNINFORMED_VARIANTS:
        informed = (pl.col("informed").fill_null(False) if "informed" in unknowns.columns else pl.lit(False))
        unknowns = unknowns.filter(~informed)
        end = end.removeprefix("uninformed_")
        held_central = UNFAVOURABLE_CENTRAL - UNINFORMED_AT_HIGH
    if end == "unfavourable":
        unknowns = unknowns.filter(~pl.col("input").is_in(list(held_central)))
    if end == "central" or unknowns.is_empty():
        return core.inputs
    reg = default_registry()
    frames = {f.name: getattr(core.inputs, f.name) for f in fields(core.inputs)}
    oriented = pl.col("input").is_in(list(UNFAVOURABLE_LOW))
    value = (pl.when(oriented).then(pl.col("low")).otherwise(pl.col("high")) if end == "unfavourable"
             else pl.when(oriented).then(pl.col("high")).otherwise(pl.col("low")) if end == "low"
             else pl.col(end))
    long = dated_unknowns(unknowns, core.inputs, core.months_read).select(
        "entity", "id", "month", "input", value.alias("value"))
    for (entity, monthly), part in long.group_by(
            pl.col("entity"), pl.col("month").is_not_null().alias("monthly")):
        name = _frame_name(str(entity), bool(monthly))
        if name not in frames:
            raise SchemaError("unknown entity in the core's unknowns", table="unknowns", column="entity")
        idc = ID[str(entity)]
        keys = [idc, "month"] if monthly else [idc]
        wide = part.rename({"id": idc}).pivot("input", index=keys, values="value", aggregate_function="first")
        base = frames[name]
        if base is None:
            base = wide.select(keys) if monthly else None
            if base is None:
                raise SchemaError("unknowns for a frame the core did not build", table=name)
        inputs = [c for c in wide.columns if c not in keys]
        casts = []
        for c in inputs:
            var = reg.inputs.get(c)
            if var is None:
                raise SchemaError("unknown input variable in the core's unknowns", table="unknowns", column="input")
            dtype = PL_DTYPES[var.dtype]
            v = pl.col(c)
            casts.append((v != 0).alias(c) if dtype == pl.Boolean() else v.cast(dtype).alias(c))
        wide = wide.with_columns(casts)
        missing = [pl.lit(None, dtype=wide.schema[c]).alias(c) for c in inputs if c not in base.columns]
        base = base.with_columns(missing)
        if monthly:
            wide = wide.with_columns(pl.col("month").cast(base.schema["month"]))
        frames[name] = _update(base, wide, keys, full=monthly)
    if end == "unfavourable":
        for inp, value in UNFAVOURABLE_TEXT.items():
            var = reg.inputs.get(inp)
            rows = unknowns.filter(pl.col("input") == inp)
            if var is None or rows.is_empty():
                continue
            name, idc = _frame_name(var.entity, False), ID[var.entity]
            ids = rows.get_column("id").unique().implode()
            frames[name] = frames[name].with_columns(
                pl.when(pl.col(idc).is_in(ids)).then(pl.lit(value)).otherwise(pl.col(inp)).alias(inp))
    return Inputs(**frames)




def _update(base: pl.DataFrame, wide: pl.DataFrame, keys: list[str], *, full: bool) -> pl.DataFrame:
    """``base.update(wide, on=keys, how="full" if full else "left")`` for keys unique in ``wide`` (a pivot's index):
    a non-null value of ``wide`` replaces ``base``'s, ``base``'s rows stay in order and, with ``full``, ``wide``'s
    rows ``base`` lacks are appended (in ``wide``'s order; their other columns null).

    The rows are matched by ``_matched`` (a join on a hash of the keys, checked key by key) and ``wide``'s values
    gathered to ``base``'s rows: the joins of the text keys (the left join of ``base``'s and the anti join for the
    rows to append) took 0.6-0.8 s for each variant's 2 million monthly rows at 100,000 persons, this 0.3-0.4 s.
    Matching not so certain (a null key, a key twice, a collision): ``_update_joined``."""
    found = _matched(base, wide, keys)
    if found is None:
        return _update_joined(base, wide, keys, full=full)
    pos, row = found
    cols = [c for c in wide.columns if c not in keys]
    at = pl.repeat(None, base.height, dtype=row.dtype, eager=True).scatter(pos, row)  # wide's row of each base row
    given = wide.select(pl.col(cols).gather(at))
    out = base.with_columns(pl.coalesce(given.get_column(c), base.get_column(c)).cast(base.schema[c]).alias(c)
                            for c in cols)
    if full:
        extra = wide.filter(~pl.repeat(False, wide.height, eager=True).scatter(row, True))
        if extra.height:
            out = pl.concat([out, extra.select(*[(pl.col(c) if c in extra.columns else pl.lit(None))
                                                 .cast(t).alias(c) for c, t in out.schema.items()])])
    return out


def _key_hash(keys: list[str]) -> pl.Expr:
    """The 64-bit hash ``_matched`` joins on (any hash: a match is checked on the keys themselves)."""
    return pl.struct(keys).hash(0x6E72)


def _matched(base: pl.DataFrame, wide: pl.DataFrame, keys: list[str]) -> tuple[pl.Series, pl.Series] | None:
    """(row of ``base``, row of ``wide``) of every pair of rows with equal keys, found by an integer join on a 64-bit
    hash of the keys and checked on the keys themselves; None when a key is null (no match in a join), of another
    type on each side, or a row of ``base`` meets two of ``wide`` (a key twice, or two keys of one hash)."""
    for k in keys:
        if base.schema[k] != wide.schema[k] or base.get_column(k).null_count() or wide.get_column(k).null_count():
            return None

    def hashed(frame: pl.DataFrame, name: str) -> pl.DataFrame:
        return frame.select(_key_hash(keys).alias("__h")).with_row_index(name)

    pairs = hashed(wide, "__row").join(hashed(base, "__pos"), on="__h", how="inner")
    pos, row = pairs.get_column("__pos"), pairs.get_column("__row")
    if pos.is_duplicated().any():
        return None
    if not all((base.get_column(k).gather(pos) == wide.get_column(k).gather(row)).all() for k in keys):
        return None  # two keys of one hash
    return pos, row


def _update_joined(base: pl.DataFrame, wide: pl.DataFrame, keys: list[str], *, full: bool) -> pl.DataFrame:
    """``_update`` by joins of the keys (not of the whole wide frame Polars' ``update`` joins and copies: 100,000
    persons' detection, up to 1.96 million monthly rows updated in 52 calls, peaked 0.5 GiB lower,
    ``benchmarks/results/detect_update_sort_100k_2026-12-02.md``)."""
    cols = [c for c in wide.columns if c not in keys]
    aligned = base.select(keys).join(wide, on=keys, how="left", maintain_order="left")
    if aligned.height != base.height:  # a key twice in ``wide``: not a pivot's; Polars' own semantics
        return base.update(wide, on=keys, how="full" if full else "left")
    given = pl.concat([aligned.select(pl.col(cols).name.suffix("__given")), base.select(cols)], how="horizontal")
    out = base.with_columns(given.select(pl.coalesce(f"{c}__given", c).cast(base.schema[c]).alias(c)
                                         for c in cols).get_columns())
    if full:
        extra = wide.join(base.select(keys), on=keys, how="anti", maintain_order="left")
        if extra.height:
            out = pl.concat([out, extra.select(*[(pl.col(c) if c in extra.columns else pl.lit(None))
                                                 .cast(t).alias(c) for c, t in out.schema.items()])])
    return out


def changed_people(before: Inputs, after: Inputs, inputs: Collection[str], *,
                   by_input: bool = False) -> pl.DataFrame:
    """person_id of the individus whose value of one of ``inputs``, or whose unit's (their famille's, ménage's,
    foyer's), differs between ``before`` and ``after`` (two variants of one core's inputs, ``with_unknowns_at``:
    the same rows but for the monthly rows a variant adds). A monthly row of one of them only counts when it
    carries a value: a row absent and a null value are both the input's default.

    ``by_input``: (input, person_id), who changed by each input: for ``after`` with several inputs moved, each
    input's people are those of ``after`` with that input alone moved (a moved input changes its own column
    only; the monthly rows another one adds hold no value of it)."""
    ind = before.individu
    schema = {"input": pl.String(), "person_id": pl.String()} if by_input else {"person_id": pl.String()}
    out = [pl.DataFrame(schema=schema)]
    for f in fields(before):
        old, new = getattr(before, f.name), getattr(after, f.name)
        held = [x for x in (old, new) if x is not None]
        types = {c: x.schema[c] for x in held for c in inputs if c in x.columns}
        if old is new or not types:
            continue
        entity = f.name.removesuffix("_monthly")
        idc = ID[entity]
        keys = [idc, "month"] if f.name.endswith("_monthly") else [idc]
        key_types = {k: held[0].schema[k] for k in keys}
        ids = _aligned_changes(old, new, keys, types, by_input)
        if ids is None:
            joined = _side(old, "_old_", key_types, types).join(_side(new, "_new_", key_types, types), on=keys,
                                                                how="full", coalesce=True)
            ids = _differing(joined, keys, {c: (pl.col(f"_new_{c}"), pl.col(f"_old_{c}")) for c in types}, by_input)
        got = [idc, "input"] if by_input else [idc]
        ids = ids.select(got).unique()
        person = (ids.cast({idc: pl.String}).rename({idc: "person_id"}) if entity == "individu" else
                  ind.select("person_id", idc).join(ids, on=idc, how="inner"))
        out.append(person.select(*got[1:], pl.col("person_id").cast(pl.String)))
    return pl.concat(out).unique()


def _differing(frame: pl.DataFrame, keys: list[str], pairs: dict[str, tuple[pl.Expr, pl.Expr]],
               by_input: bool) -> pl.DataFrame:
    """The keys of ``frame``'s rows where one of ``pairs``' two expressions differ (by input: the keys and each
    input whose pair differs, one row each)."""
    differs = {c: a.ne_missing(b) for c, (a, b) in pairs.items()}
    changed = frame.filter(pl.any_horizontal(differs.values()))
    if not by_input:
        return changed.select(keys)
    # the lists built on the rows that differ only: over every row, empty lists and all, the unfavourable corner
    # of 100,000 persons' core against its central values took 5 CPU s, this 1
    inputs = pl.concat_list([pl.when(d).then(pl.lit(c)) for c, d in differs.items()]).list.drop_nulls()
    return changed.select(*keys, inputs.alias("input")).explode("input").drop_nulls("input")


def _aligned_changes(old: pl.DataFrame | None, new: pl.DataFrame | None, keys: list[str],
                     types: dict[str, pl.DataType], by_input: bool = False) -> pl.DataFrame | None:
    """The keys of the rows of ``changed_people``'s join that differ, found without the join where the two frames
    are aligned: their first rows hold the same keys, row for row, and the keys are unique in each frame, never null
    (``with_unknowns_at`` keeps a frame's rows in order and appends the monthly rows it adds). About half the join's
    time on the demo's variants. The rows after that common start (those two variants appended, each in its
    own order: the uninformed corner against the unfavourable one) are joined, a few thousand rows instead of the
    2 million monthly rows of 100,000 persons (0.7 CPU s against 1.4).
    A row only one frame holds differs when it carries a value (the join's other side is null). None when the
    frames are not aligned so (the caller joins them). ``by_input``: each key with each input that differs."""
    if old is None or new is None:
        return None
    short, long = (old, new) if old.height <= new.height else (new, old)
    if (any(short.schema[k] != long.schema[k] for k in keys)
            or pl.concat([short.select(keys), long.select(keys)]).null_count().sum_horizontal().item()):
        return None  # a null key matches nothing in the join: left to it
    head = long.head(short.height)
    same = pl.all_horizontal(pl.col(k) == pl.col(f"__s_{k}") for k in keys)
    common = (pl.concat([head.select(keys), short.select(pl.col(keys).name.prefix("__s_"))], how="horizontal")
              .select(same.alias("same")).get_column("same"))
    n = short.height if common.all() else int(common.arg_min() or 0)
    if _duplicated(long.select(keys)) or (n < short.height and _duplicated(short.select(keys))):
        return None

    def col(frame: pl.DataFrame, c: str) -> pl.Expr:
        return pl.col(c) if c in frame.columns else pl.lit(None, dtype=types[c])

    pairs = pl.concat([short.head(n).select(*keys, *[col(short, c).alias(f"_s_{c}") for c in types]),
                       head.head(n).select(*[col(head, c).alias(f"_l_{c}") for c in types])], how="horizontal")
    differ = _differing(pairs, keys, {c: (pl.col(f"_l_{c}"), pl.col(f"_s_{c}")) for c in types}, by_input)
    if n < short.height:  # the rest of each frame joined: a key unique in each is in neither's common start
        key_types = {k: long.schema[k] for k in keys}
        rest = _side(short.slice(n), "_s_", key_types, types).join(_side(long.slice(n), "_l_", key_types, types),
                                                                   on=keys, how="full", coalesce=True)
        added = _differing(rest, keys, {c: (pl.col(f"_l_{c}"), pl.col(f"_s_{c}")) for c in types}, by_input)
    else:  # a row the shorter frame lacks: it differs where it carries a value
        extra = long.slice(short.height).select(*keys, *[col(long, c).alias(c) for c in types])
        added = _differing(extra, keys, {c: (pl.col(c).is_not_null(), pl.lit(False)) for c in types}, by_input)
    return pl.concat([differ.select(differ.columns), added.select(differ.columns)])


def _duplicated(keys: pl.DataFrame) -> bool:
    """Whether a row of ``keys`` occurs twice: first on 64-bit hashes of the rows (distinct hashes, distinct
    rows), the exact test only when two hashes meet (about 1.3 CPU s less on 100,000 persons' variants than
    comparing the text keys themselves)."""
    return bool(keys.hash_rows().is_duplicated().any()) and bool(keys.is_duplicated().any())


def _side(frame: pl.DataFrame | None, tag: str, keys: dict[str, pl.DataType],
          types: dict[str, pl.DataType]) -> pl.DataFrame:
    """``frame``'s keys and columns ``types`` (each prefixed by ``tag``; null where the frame lacks it), for
    ``changed_people``; a frame a variant does not have: no row (every value the default)."""
    if frame is None:
        return pl.DataFrame(schema={**keys, **{f"{tag}{c}": t for c, t in types.items()}})
    return frame.select(*keys, *[(pl.col(c) if c in frame.columns else pl.lit(None, dtype=t)).alias(f"{tag}{c}")
                                 for c, t in types.items()])


def restricted(inputs: Inputs, people: pl.DataFrame, units: dict[str, pl.DataFrame] | None = None) -> Inputs:
    """``inputs`` restricted to the rows of ``people`` (person_id and their unit ids) and of their units (``units``:
    unit ids kept besides theirs, by entity)."""
    ids = {"individu": people.select("person_id").unique()}
    for u in UNIT_KINDS:
        ids[u] = people.select(ID[u]).drop_nulls().unique()
        if units and u in units:
            ids[u] = pl.concat([ids[u], units[u].select(pl.col(ID[u]).cast(ids[u].schema[ID[u]]))]).unique()
    frames: dict[str, pl.DataFrame | None] = {}
    for f in fields(inputs):
        frame = getattr(inputs, f.name)
        entity = f.name.removesuffix("_monthly")
        frames[f.name] = None if frame is None else frame.join(ids[entity], on=ID[entity], how="semi")
    return Inputs(**frames)


def dated_unknowns(unknowns: pl.DataFrame, inputs: Inputs, months_read: tuple[dt.date, ...] = ()) -> pl.DataFrame:
    """``unknowns`` with each monthly input's unknown given once (month null: "every month read") spelled out for
    each month ``inputs`` holds for that entity: left on the static frame the engine would never read it, and a
    part of the core (``detection.deciding``) keeps the months of the whole. An entity with no monthly row (no
    agency sent a resource) takes ``months_read``, the core's months (``CoreMonth.months_read``)."""
    monthly_inputs = [n for n, v in default_registry().inputs.items() if v.monthly]
    every_month = pl.col("month").is_null() & pl.col("input").is_in(monthly_inputs)
    every = unknowns.filter(every_month)
    if every.is_empty():
        return unknowns
    parts = [unknowns.filter(~every_month)]
    for (entity,), part in every.group_by("entity"):
        mframe = getattr(inputs, _frame_name(str(entity), True), None)
        if mframe is not None and not mframe.is_empty():
            months = mframe.select(pl.col("month").cast(unknowns.schema["month"])).unique()
        elif months_read:
            months = pl.DataFrame({"month": list(months_read)}, schema={"month": unknowns.schema["month"]})
        else:
            raise SchemaError("unknowns of a monthly input without the core's monthly frame nor its months",
                              table=f"{entity}_monthly")
        parts.append(part.drop("month").join(months, how="cross").select(unknowns.columns))
    return pl.concat(parts)


def grade_expr(low: str, central: str, high: str, unfavourable: str | None = None,
               uninformed_unfavourable: str | None = None) -> pl.Expr:
    """certain: entitled on the central values and at the unfavourable corner of every unknown (each at the
    end that lowers the benefits); probable: on the central values and at the unfavourable corner of the
    uninformed unknowns (a conventional central value is no evidence); possible: on some variant only (the
    central one included); null: on none. Without the oriented corners: the all-low and all-high ones."""
    lo, ce, hi = pl.col(low), pl.col(central), pl.col(high)
    unf = pl.col(unfavourable) if unfavourable else (lo & hi)
    uunf = pl.col(uninformed_unfavourable) if uninformed_unfavourable else pl.lit(True)
    return (pl.when(ce & unf & lo & hi).then(pl.lit("certain"))
            .when(ce & uunf).then(pl.lit("probable"))
            .when(ce | lo | hi).then(pl.lit("possible"))
            .otherwise(pl.lit(None, dtype=pl.String)))


def composition_unknown(core: CoreMonth) -> pl.DataFrame:
    """famille_id of the familles whose couple is unknown (see ``COMPOSITION_UNKNOWN``), with ``informed``:
    true when every such unknown of the famille is estimated from data (grade capped at ``probable``), false
    when one is a convention (capped at ``possible``); ``young_dependant``: the only unknown is a young adult
    dependant of its declarants that no family agency lists (``core.inputs.YOUNG_DEPENDANT_MISSING``): only the
    benefits that can count such a person are capped (``young_dependant_caps``)."""
    u = core.unknowns
    informed = pl.col("informed").fill_null(False) if "informed" in u.columns else pl.lit(False)
    return (u.filter((pl.col("entity") == "famille") & (pl.col("input") == COMPOSITION_UNKNOWN))
            .group_by(pl.col("id").alias("famille_id"))
            .agg(informed.all().alias("informed"),
                 (pl.col("reason") == YOUNG_DEPENDANT_MISSING).all().alias("young_dependant")))


def young_dependant_caps(core: CoreMonth, benefits: tuple[str, ...],
                         composition: pl.DataFrame | None = None) -> pl.DataFrame:
    """famille_id, benefit: the familles whose only composition unknown is a young adult dependant missing from
    them (``composition_unknown``'s ``young_dependant``), for each benefit whose famille rule can count that
    dependant: one no older than the benefit's age limit (``Benefit.young_dependant_age``, bound on the month).
    The dependants are the DGFiP's of the famille's declarants heading a famille built for them.
    ``composition``: ``composition_unknown(core)`` when the caller already has it."""
    schema = {"famille_id": pl.String(), "benefit": pl.String()}
    comp = (composition_unknown(core) if composition is None else composition).filter(pl.col("young_dependant"))
    limits = {b: row.young_dependant_age for b in benefits if (row := benefit_row(b)).young_dependant_age}
    if comp.is_empty() or not limits:
        return pl.DataFrame(schema=schema)
    ind = core.inputs.individu
    dependants = (ind.filter((pl.col("foyer_fiscal_role") == "personne_a_charge")
                             & (pl.col("famille_role") == "demandeur") & (pl.col("age") >= 18))
                  .select("foyer_fiscal_id", "age"))
    youngest = (ind.filter(pl.col("foyer_fiscal_role") == "declarant").select("famille_id", "foyer_fiscal_id")
                .join(comp.select("famille_id"), on="famille_id", how="semi")
                .join(dependants, on="foyer_fiscal_id", how="inner")
                .group_by("famille_id").agg(pl.col("age").min().alias("_age")))
    params = default_parameters()
    ages = pl.DataFrame({"benefit": list(limits),
                         "_limit": [float(params.bind(p, core.month).value) for p in limits.values()]},
                        schema={"benefit": pl.String, "_limit": pl.Float64})
    return (youngest.join(ages, how="cross").filter(pl.col("_age") <= pl.col("_limit"))
            .select("famille_id", "benefit").cast(schema))  # type: ignore[arg-type]
