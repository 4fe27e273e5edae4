"""The agencies' native extracts, written from the synthetic truth with realistic noise.

``write_extracts(truth_dir, out_dir, seed)`` reads the truth (``DIR/truth/*.parquet``, identities included)
and writes, under ``out_dir``: ``caf.dat`` (fixed-width, latin-1), ``cnam.csv`` (``;``, decimal commas,
UTF-8 with BOM), ``france_travail.csv`` (``,``, UTF-8), ``dgfip.parquet``, ``cnav.csv`` (``;``),
``msa.csv`` (``;``, decimal commas, cp1252), ``drm.csv`` (``;``: the monthly resources the DSN and PASRAU
declare for everyone, CAF-known or not) and ``manifest.json`` (the noise injected, counted).

Payments of RSA, PPA, ASPA and the CSS come from entitlements (our rules on the true situations, or
OpenFisca-France's through the oracle: ``entitlements="openfisca"``) and a take-up draw per unit and
benefit (``draw_take_up``): the draw is a stable hash of (seed, unit, benefit), so it is reproducible
and independent of row order; the drawn frame is written to ``truth/take_up.parquet`` so detection can be
scored. Family benefits and housing aid are paid to all who are entitled, as the
truth's ``benefits_paid`` says.

Every random choice (who an agency does not know, NIR typos, missing NIRs, stale months, duplicates, late
updates, which families are farmers at the MSA) is a ``stable_uniform`` draw keyed by seed, purpose and
the entity: the same seed gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import polars as pl

from nonrecours.connectors import default_mapping
from nonrecours.connectors.writer import fixed_width_lines, write_csv, write_parquet
from nonrecours.core.inputs import PAYMENT_INPUTS, RECEIVED_INPUTS
from nonrecours.rules.params import default_parameters
from nonrecours.schemas.benefits import CATALOGUE
from nonrecours.schemas.benefits import benefit as catalogue_row
from nonrecours.schemas.codes import HOUSEHOLDER_ROLES, NET_TO_TAXABLE, PARENT_ROLES
from nonrecours.schemas.tables import valid_on
from nonrecours.synth.income import CATEGORY_B_BELOW

if TYPE_CHECKING:
    from nonrecours.simulation.openfisca_process import Oracle

__all__ = ["TAKE_UP_RATES", "TRUTH_ENGINES", "Noise", "compare_entitlements", "draw_take_up", "engine_record",
           "entitlements_from_openfisca", "entitlements_from_rules", "extract_date", "familles_evaluated",
           "stable_uniform", "take_up_from_rules", "write_extracts"]

TAKE_UP_RATES: dict[str, float] = {
    "rsa": 0.66,
    "ppa": 0.73,
    "aspa": 0.50,
    "css_free": 0.69,
    "css_participation": 0.33,
    "aide_logement": 0.90,
    "aah": 0.85,
    "asi": 0.50,
    "af": 0.97,
    "cf": 0.90,
    "paje_base": 0.95,
    "asf": 0.70,
    "ars": 0.95,
    "cheque_energie": 0.80,
}
"""Take-up rates drawn per benefit. Published (DREES): RSA about 66% of eligible households, prime d'activité
73%, ASPA about 50%, CSS without participation 69%, with participation 33%. Assumed, no national estimate being
published: housing aid 90% (claimed with the lease), AAH 85% (claimed at the MDPH), ASI 50% (like the ASPA, a
recoverable minimum claimed separately), allocations familiales 97% and ARS 95% (paid without a claim to
allocataires), complément familial 90% (paid to allocataires without a form of its own, but on resources of
N-2 and a third child's age the famille's file must show: lower than the AF's), PAJE allocation de base 95%
(claimed with the declaration of pregnancy), ASF 70% (a lone parent must claim it and take steps against the
other parent), chèque énergie 80% (order of the cheques' use rate)."""
_M64 = 0xFFFFFFFFFFFFFFFF
_GOLDEN = 0x9E3779B97F4A7C15


def _u64(v: int) -> pl.Expr:
    return pl.lit(v & _M64, dtype=pl.UInt64)


def stable_uniform(df: pl.DataFrame, cols: list[str], *, seed: int, salt: str) -> pl.Series:
    """A uniform draw in [0, 1) per row from a hash of (seed, salt, values of ``cols``).

    Pure integer arithmetic on the UTF-8 bytes of the key: stable across runs, platforms and Polars
    versions (unlike ``Expr.hash``), and each row's draw depends on that row only.
    """
    key = pl.concat_str([pl.lit(salt), *[pl.col(c).cast(pl.String).fill_null("\x00") for c in cols]],
                        separator="\x1f")
    frame = df.select(key.str.encode("hex").alias("h"))
    n_pieces = max(1, -(-int(frame.get_column("h").str.len_bytes().max() or 0) // 14))
    # materialise the state after every step: reusing an expression would grow the plan exponentially
    start = _mix_steps(pl.Series([(seed + _GOLDEN) & _M64], dtype=pl.UInt64)).item()
    frame = frame.with_columns(pl.lit(start, dtype=pl.UInt64).alias("x"))
    for i in range(n_pieces):
        piece = pl.col("h").str.slice(14 * i, 14)
        val = piece.str.to_integer(base=16, strict=False).cast(pl.UInt64)
        frame = frame.with_columns(pl.when(piece.str.len_bytes() > 0)
                                   .then(pl.col("x").xor(val) + _u64(_GOLDEN)).otherwise(None).alias("y"))
        frame = frame.with_columns(_mix_steps(frame.get_column("y")).alias("y"))
        frame = frame.with_columns(pl.coalesce("y", "x").alias("x"))
    return frame.select(((pl.col("x") // (1 << 11)).cast(pl.Float64) / float(1 << 53)).alias("u")).to_series()


def _mix_steps(y: pl.Series) -> pl.Series:
    """splitmix64 finaliser on a Series, one materialised step at a time."""
    f = pl.DataFrame({"x": y})
    f = f.with_columns((pl.col("x").xor(pl.col("x") // (1 << 30)) * _u64(0xBF58476D1CE4E5B9)).alias("x"))
    f = f.with_columns((pl.col("x").xor(pl.col("x") // (1 << 27)) * _u64(0x94D049BB133111EB)).alias("x"))
    return f.select(pl.col("x").xor(pl.col("x") // (1 << 31))).to_series()


def draw_take_up(entitlements: pl.DataFrame, *, seed: int,
                 rates: dict[str, float] | None = None) -> pl.DataFrame:
    """Add ``u`` and ``take_up`` to a frame of entitlements.

    ``entitlements`` has one row per unit (or person), benefit and month where the rules say the unit is
    entitled: columns ``unit_kind``, ``unit_id``, ``benefit``, ``month``, ``amount``. A unit takes a benefit
    up for every month or for none: the draw is keyed by (seed, unit_kind, unit_id, benefit), not by month,
    so it does not depend on row order or on which months are present.
    """
    rates = rates or TAKE_UP_RATES
    missing = {"unit_kind", "unit_id", "benefit", "month", "amount"} - set(entitlements.columns)
    if missing:
        raise ValueError(f"entitlements lack column {sorted(missing)[0]}")
    unknown = set(entitlements.get_column("benefit").cast(pl.String).unique().to_list()) - set(rates)
    if unknown:
        raise ValueError(f"no take-up rate for benefit {sorted(unknown)[0]}")
    u = stable_uniform(entitlements, ["unit_kind", "unit_id", "benefit"], seed=seed, salt="take_up")
    rate = pl.col("benefit").cast(pl.String).replace_strict(rates, return_dtype=pl.Float64)
    return entitlements.with_columns(u.alias("u")).with_columns((pl.col("u") < rate).alias("take_up"))


TRUTH_ENGINES = ("rules", "openfisca")
OPENFISCA_LABELLED: tuple[str, ...] = ("rsa", "ppa", "aspa", "css_free", "css_participation")
"""Benefits OpenFisca labels in an ``openfisca`` truth (the oracle's label variables); the truth then holds no
entitlement of the others, and their take-up is not drawn (evaluation says so)."""
"""What labels the truth's entitlement: our rules, or OpenFisca-France run by the oracle (so that a score
against the truth also measures the rules)."""
_TRUTH_TABLES = ("persons", "unit_memberships", "resources", "benefits_paid", "housing")
_ENTITLEMENTS_SCHEMA = {"unit_kind": pl.String, "unit_id": pl.String, "benefit": pl.String, "month": pl.Date,
                        "amount": pl.Float64}


def _truth_tables(truth_dir: Path) -> dict[str, pl.LazyFrame]:
    """The truth's tables as the core reads them, with the yearly income of every person and full year the truth
    covers (``annual_income``, :func:`truth_annual_income`): the family benefits' resources are those of year
    N-2 (CSS art. R532-1 and R532-3), a fact of the true situation like any other."""
    tables = {n: pl.scan_parquet(truth_dir / f"{n}.parquet") for n in _TRUTH_TABLES}
    tables["annual_income"] = truth_annual_income(tables["resources"], tables["persons"])
    return tables


_ANNUAL_KIND_OF: dict[str, str] = {"salary_net": "salaries", "unemployment_benefit": "unemployment",
                                   "pension_net": "pensions", "invalidity_pension": "pensions",
                                   "alimony": "alimony", "self_employment": "self_employment"}
"""Monthly resource kind of the truth → the yearly kind the DGFiP declares it under. An invalidity pension is
taxable and declared with the pensions (CGI art. 79; the « pensions, retraites, rentes » of the declaration, as
OpenFisca-France's ``revenu_assimile_pension`` counts ``pensions_invalidite``)."""
_TAXABLE_FACTOR: dict[str, float] = {**NET_TO_TAXABLE, "invalidity_pension": 1.0, "alimony": 1.0,
                                     "self_employment": 1.0}
"""Taxable / monthly amount per kind (the invalidity pension read as the rules read it: its amount)."""


def full_years(resources: pl.LazyFrame | pl.DataFrame) -> list[int]:
    """The calendar years whose twelve months the truth's ``resources`` cover (a foyer declares a whole year)."""
    months = resources.lazy().select(pl.col("month").unique()).collect().to_series()
    return sorted(y for y in months.dt.year().unique().to_list() if months.filter(months.dt.year() == y).len() == 12)


def yearly_taxable(resources: pl.LazyFrame | pl.DataFrame, years: list[int]) -> pl.LazyFrame:
    """(person_id, year, kind, amount): each person's taxable income of each of ``years`` by the DGFiP's yearly
    kinds (salaries, unemployment, pensions, alimony, self_employment), in whole euros: the one source of the
    DGFiP extract's amounts and of the truth's income of year N-2."""
    return (resources.lazy().with_columns(pl.col("month").dt.year().alias("year"))
            .filter(pl.col("year").is_in(years) & pl.col("kind").cast(pl.String).is_in(list(_ANNUAL_KIND_OF)))
            .group_by("person_id", "year", pl.col("kind").cast(pl.String))
            .agg(pl.col("amount").cast(pl.Float64).sum())
            .with_columns(pl.col("amount") * pl.col("kind").replace_strict(_TAXABLE_FACTOR, return_dtype=pl.Float64),
                          pl.col("kind").replace_strict(_ANNUAL_KIND_OF))
            .group_by("person_id", "year", "kind").agg(pl.col("amount").sum().round(0).cast(pl.Int64)))


def truth_annual_income(resources: pl.LazyFrame, persons: pl.LazyFrame) -> pl.LazyFrame:
    """The ``annual_income`` table of the truth: every person's taxable income of every full year the truth
    covers, a zero stated for a kind they had none of (known, not missing: the core would otherwise estimate
    year N-2 from the evaluated month, ``revenu_activite_n2``, and label a family benefit on the wrong year)."""
    years = full_years(resources)
    kinds = sorted(set(_ANNUAL_KIND_OF.values()))
    grid = (persons.select("person_id").unique()
            .join(pl.LazyFrame({"year": years}, schema={"year": pl.Int32}), how="cross")
            .join(pl.LazyFrame({"kind": kinds}), how="cross"))
    amounts = yearly_taxable(resources, years).with_columns(pl.col("year").cast(pl.Int32))
    return grid.join(amounts, on=["person_id", "year", "kind"], how="left").select(
        "person_id", "year", "kind", pl.col("amount").fill_null(0).cast(pl.Float64),
        pl.lit("synth").alias("source_agency"), pl.lit(None, dtype=pl.Date).alias("extract_date"))


def _entitlement_rows(fam: pl.DataFrame, month, rows) -> list[pl.DataFrame]:
    """The long rows of one month from a famille frame (``unit_id`` and the rule columns of the catalogue's
    ``rows``, whichever engine computed them): an amount benefit when > 0, its amount rounded to the cent; a
    coverage when granted (and its exclusive better form is not), with its monthly participation or 0."""
    frames = []
    for b in rows:
        if b.kind == "amount":
            entitled, amount = pl.col(b.rule).fill_null(0.0) > 0, pl.col(b.rule).round(2)
        else:
            entitled = pl.col(b.rule).fill_null(False)
            if b.excludes:
                entitled = entitled & ~pl.col(catalogue_row(b.excludes).rule).fill_null(False)
            amount = pl.col(b.amount_rule).round(2) if b.amount_rule else pl.lit(0.0)
        frames.append(fam.filter(entitled).select(
            "unit_id", pl.lit(b.code).alias("benefit"), pl.lit(month).alias("month"),
            amount.cast(pl.Float64).alias("amount")))
    return frames


def _entitlements(frames: list[pl.DataFrame]) -> pl.DataFrame:
    out = pl.concat(frames) if frames else pl.DataFrame(schema={k: v for k, v in _ENTITLEMENTS_SCHEMA.items()
                                                                 if k != "unit_kind"})
    return out.select(pl.lit("famille").alias("unit_kind"), pl.col("unit_id").cast(pl.String), "benefit", "month",
                      pl.col("amount").cast(pl.Float64)).sort("unit_id", "benefit", "month")
FEEDING: tuple[str, ...] = ("aspa", "aah", *(b.code for b in CATALOGUE
                                             if b.code in PAYMENT_INPUTS and b.code not in ("aspa", "aah", "cf")),
                            "cf", *RECEIVED_INPUTS)
"""Benefits whose payment the other rules read (the AAH, the family benefits and the housing aid are resources of
RSA, PPA, ASPA and CSS, the ASPA of the CSS, the housing aid brings the forfait logement; the RSA received the
month before neutralises the housing aid's resources, CCH art. R822-17): drawn first, so that the truth's other
entitlements are computed on what is really paid, not on what is due (``take_up_from_rules``). The ASPA comes
first: it reads the AAH received of the three months before only (CSS art. R815-22), drawn at the months before;
the AAH next: it is reduced by the ASPA received in its month (CSS art. L821-1), as the CAF reduces it once the
CNAV pays, and the housing aid reads it (CCH art. R822-13 and R822-14); the complément
familial after the PAJE allocation de base, which it is not paid with (CSS art. L532-1: it reads the PAJE paid);
the RSA last: it reads all the others' payments of its month, and the housing aid reads its payment of the month
before only."""


def _month_chunks(tables: dict[str, pl.LazyFrame], months: list) -> Iterator[list[tuple]]:
    """The months' engine inputs on ``tables``, built once per month, in chunks of consecutive months of at
    most the engine's ``STACK_ROWS`` individus in all (one stacked evaluation each; a month alone beyond):
    (month, inputs, population facts) for each month of a chunk."""
    from nonrecours.core import build_month, population_facts
    from nonrecours.engine.evaluate import STACK_ROWS

    chunk: list[tuple] = []
    rows = 0
    for month in months:
        facts = population_facts(tables, month)
        inputs = build_month(tables, month, facts=facts).inputs
        if chunk and rows + inputs.individu.height > STACK_ROWS:
            yield chunk
            chunk, rows = [], 0
        chunk.append((month, inputs, facts))
        rows += inputs.individu.height
    if chunk:
        yield chunk


def _chunk_entitlements(codes: tuple[str, ...], chunk: list[tuple], backend: str) -> pl.DataFrame:
    """Entitlement rows (``entitlements_from_rules``) of ``codes`` for a chunk of months, in one evaluation."""
    from nonrecours.engine.evaluate import evaluate_many

    rows = [catalogue_row(b) for b in codes]
    targets = list(dict.fromkeys(r for b in rows for r in b.rules))
    results = evaluate_many(targets, [inputs for _, inputs, _ in chunk], [month for month, _, _ in chunk],
                            backend=backend)
    frames = []
    for (month, _, _), res in zip(chunk, results, strict=True):
        frames += _entitlement_rows(res["famille"].rename({"famille_id": "unit_id"}), month, rows)
    return _entitlements(frames)


def entitlements_from_rules(truth_dir: str | Path, months: list, *, backend: str = "polars",
                            benefits: tuple[str, ...] | None = None,
                            benefits_paid: pl.LazyFrame | None = None) -> pl.DataFrame:
    """What our rules give each true famille, month by month: the frame ``draw_take_up`` takes.

    One row per famille, benefit of the catalogue (``benefits``, default all) and month where it is entitled,
    with the rule's amount rounded to the cent (a yearly benefit's amount is the year's; 0 for the free CSS,
    the monthly participation for the CSS with participation). Uses ``core.build_month`` (once per month) and
    ``engine.evaluate_many`` (the months stacked in one evaluation, up to ``STACK_ROWS`` individus) on the truth
    tables, with ``benefits_paid`` in place of the truth's own when given.
    """
    codes = benefits or tuple(b.code for b in CATALOGUE)
    tables = _truth_tables(Path(truth_dir))
    if benefits_paid is not None:
        tables["benefits_paid"] = benefits_paid
    return _entitlements([_chunk_entitlements(codes, chunk, backend) for chunk in _month_chunks(tables, months)])


def _zero_months_stated(inputs, month):
    """The truth's monthly resources with a zero row for every month a person earned nothing.

    The truth writes a resource only when it is paid; its income is known for every month of its window, so
    a month without a row is a month at zero (as the rules read it). The exporter, made for situations that
    state only some months, would carry a neighbouring month's amount into such a gap: state the zeros.
    """
    import dataclasses

    from nonrecours.simulation.export_openfisca import _MONEY

    im = inputs.individu_monthly
    if im is None or im.is_empty():
        return inputs
    money = [c for c in _MONEY if c in im.columns]
    first = im.get_column("month").min()
    months = pl.DataFrame({"month": pl.date_range(first, month, "1mo", eager=True)})
    grid = im.select("person_id").unique().join(months, how="cross")
    full = grid.join(im.filter(pl.col("month") <= month), on=["person_id", "month"], how="left").with_columns(
        pl.col(c).fill_null(0.0) for c in money)
    return dataclasses.replace(inputs, individu_monthly=full)


def entitlements_from_openfisca(truth_dir: str | Path, months: list, oracle: Oracle, *,
                                batch_households: int = 5_000, seed: int | None = None) -> pl.DataFrame:
    """What OpenFisca-France gives each true famille, month by month: the frame of :func:`entitlements_from_rules`.

    The same engine inputs as the rules (``core.build_inputs`` on the truth tables), exported as web-API
    situations (``simulation.export_openfisca``: the family benefits and housing aid the truth pays are stated,
    those of the month too, as the rules read them, except those the RSA's subsidiarity counts due, CASF art.
    L262-10: computed for the month, in a pass of their own for the RSA; a month without income stated at zero)
    and computed by ``oracle`` (a
    :class:`~nonrecours.simulation.openfisca_process.OpenFiscaProcess`, or any callable taking situations)
    in batches of ``batch_households`` ménages, each one vectorised simulation.

    With ``seed`` (the extracts' take-up seed), the ASPA is labelled first and its take-up drawn
    (``draw_take_up``: keyed by famille and benefit, the draw the extracts make again); the others are then
    labelled with the ASPA its takers receive stated paid, as the extracts will pay it: the CSS counts the ASPA
    received in the twelve months before (CSS art. R861-5), and labelled before the draw a retiree taking her
    ASPA up was labelled the free CSS that her resources, ASPA included, exceed (the order of
    ``take_up_from_rules``). Without, every benefit is labelled on the truth's payments (the comparison with
    :func:`entitlements_from_rules` on the same payments).

    The housing aid is not labelled (``OPENFISCA_LABELLED``): the RSA and the PPA read the aid the truth pays
    (the generator's, stated as paid), so OpenFisca's own neutralisation after a month of RSA (its
    ``rsa_mois_dernier``, the RSA computed, where CCH art. R822-17 reads the RSA received) plays no part; this
    assumes that aid is what the famille receives, whether or not it takes its RSA up.
    """
    from nonrecours.simulation.export_openfisca import SUBSIDIARY_MONTH

    if batch_households < 1:
        raise ValueError("batch_households must be positive")
    tables = _truth_tables(Path(truth_dir))
    # the RSA with the month's family benefits and housing aid due (its subsidiarity, as our rules read them,
    # ``export_openfisca.SUBSIDIARY_MONTH``), the others with the month's aid as paid (OpenFisca's CSS reads the
    # same aid, where ours reads the aid received)
    rsa_pass = (("rsa",), SUBSIDIARY_MONTH)
    paid = tuple(v for v in SUBSIDIARY_MONTH if v != "aide_logement")
    if seed is None:
        return _entitlements(_openfisca_labels(tables, months, oracle, batch_households, (
            rsa_pass, (("ppa", "aspa", "cmu_c", "css_participation_forfaitaire"), paid)), OPENFISCA_LABELLED))
    aspa = _entitlements(_openfisca_labels(tables, months, oracle, batch_households, ((("aspa",), paid),),
                                           ("aspa",)))
    truth_paid = tables["benefits_paid"]
    tables["benefits_paid"] = pl.concat([truth_paid, _paid_rows(draw_take_up(aspa, seed=seed),
                                                                truth_paid.collect_schema()).lazy()])
    rest = _entitlements(_openfisca_labels(tables, months, oracle, batch_households, (
        rsa_pass, (("ppa", "cmu_c", "css_participation_forfaitaire"), paid)),
        tuple(b for b in OPENFISCA_LABELLED if b != "aspa")))
    return pl.concat([aspa, rest]).sort("unit_id", "benefit", "month")


def _openfisca_labels(tables: dict[str, pl.LazyFrame], months: list, oracle: Oracle, batch_households: int,
                      passes: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...],
                      codes: tuple[str, ...]) -> list[pl.DataFrame]:
    """Entitlement rows of ``codes`` that OpenFisca gives on ``tables``, month by month: each batch of ménages
    exported once per pass (the famille variables it asks, the paid benefits whose month OpenFisca computes)."""
    from nonrecours.core import build_inputs
    from nonrecours.simulation.export_openfisca import export_situations
    from nonrecours.simulation.openfisca_process import famille_values, our_benefits

    frames = []
    for month in months:
        inputs = _zero_months_stated(build_inputs(tables, month), month)
        ind = inputs.individu
        menages = ind.select("menage_id").unique().sort("menage_id").get_column("menage_id")
        values = []
        for start in range(0, menages.len(), batch_households):  # whole ménages: a famille is exported once
            chosen = ind.filter(pl.col("menage_id").is_in(menages.slice(start, batch_households).implode()))
            each = []
            for variables, subsidiary in passes:
                requested = {"familles": variables}
                ex = export_situations(inputs, month, chosen.get_column("famille_id").unique(),
                                       benefits_paid=True, outputs=requested, paid_this_month=True,
                                       subsidiary_month=subsidiary)
                index = ex.index.with_columns(pl.lit(month.strftime("%Y-%m")).alias("period"))
                each.append(famille_values(index, ex.situations, oracle(ex.situations), requested))
            joined = each[0]
            for other in each[1:]:
                joined = joined.join(other, on="famille_id", how="inner", validate="1:1")
            values.append(joined)
        if values:
            base = our_benefits(pl.concat(values)).rename({"famille_id": "unit_id"})
            frames += _entitlement_rows(base, month, [catalogue_row(b) for b in codes])
    return frames


def familles_evaluated(truth_dir: str | Path, months: list) -> int:
    """Famille-months of the truth in ``months`` (every one is labelled, entitled or not)."""
    m = pl.scan_parquet(Path(truth_dir) / "unit_memberships.parquet").filter(
        pl.col("unit_kind").cast(pl.String) == "famille")
    return int(pl.concat([m.filter(valid_on(month))
                          .select("unit_id").unique() for month in months]).select(pl.len()).collect().item())


def compare_entitlements(ours: pl.DataFrame, theirs: pl.DataFrame, *, evaluated: int | None = None,
                         tolerance: float = 1.0) -> dict:
    """Agreement of two labellings (frames of :func:`entitlements_from_rules`) per unit and month.

    A unit-month agrees on a benefit when both find it entitled with amounts within ``tolerance`` euros, or
    neither does; it agrees when it agrees on every benefit. ``rate_entitled``: among the unit-months either
    labelling finds entitled to something; ``rate``: among all ``evaluated`` unit-months (the others agree by
    construction; :func:`familles_evaluated`). ``disagreements`` lists every differing (unit, month, benefit)
    with both amounts (None: not entitled).
    """
    key = ["unit_kind", "unit_id", "month", "benefit"]
    both = ours.select(*key, pl.col("amount").alias("ours")).join(
        theirs.select(*key, pl.col("amount").alias("theirs")), on=key, how="full", coalesce=True)
    both = both.with_columns((pl.col("ours").is_not_null() & pl.col("theirs").is_not_null()
                              & ((pl.col("ours") - pl.col("theirs")).abs() <= tolerance + 1e-9)).alias("agree"))
    units = both.group_by("unit_kind", "unit_id", "month").agg(pl.col("agree").all())
    disagree = units.height - int(units.get_column("agree").sum())
    bad = both.filter(~pl.col("agree")).sort("month", "unit_id", "benefit")
    per_benefit = {b: {"unit_months": g.height, "agree": int(g.get_column("agree").sum())}
                   for (b,), g in both.group_by("benefit", maintain_order=True)}
    out: dict = {"unit_months_entitled": units.height, "disagree": disagree,
                 "rate_entitled": round(1 - disagree / units.height, 6) if units.height else None}
    if evaluated is not None:
        if evaluated < units.height:
            raise ValueError(f"{evaluated} unit-months evaluated, fewer than the {units.height} labelled entitled")
        out.update(unit_months_evaluated=evaluated, rate=round(1 - disagree / evaluated, 6) if evaluated else None)
    out["per_benefit"] = dict(sorted(per_benefit.items()))
    out["disagreements"] = [{**r, "month": r["month"].strftime("%Y-%m")}
                            for r in bad.select("unit_id", "month", "benefit", "ours", "theirs").to_dicts()]
    return out


def _payments_read(code: str) -> set[str]:
    """The famille payment inputs (and flags saying whether one is known) the rules of benefit ``code`` may
    read: none for those that give the same values whatever ``benefits_paid`` holds."""
    from nonrecours.core.inputs import _PAID_KNOWN
    from nonrecours.engine import inputs_read

    payments = set(PAYMENT_INPUTS.values()) | set(RECEIVED_INPUTS.values()) | set(_PAID_KNOWN)
    return set(inputs_read(tuple(catalogue_row(code).rules)) & payments)


def _reads_later_payments() -> bool:
    """Whether a ``FEEDING`` benefit's rules read the payment of itself or of one drawn after it (the housing aid
    reads the RSA received the month before, CCH art. R822-17): its month then needs the month before drawn
    through every step, and the months are taken one at a time."""
    from nonrecours.core.inputs import _INPUT_OF

    return any(_payments_read(c) & {_INPUT_OF[d] for d in FEEDING[i:]} for i, c in enumerate(FEEDING))


def take_up_from_rules(truth_dir: str | Path, months: list, *, seed: int, backend: str = "polars") -> pl.DataFrame:
    """Entitlements from our rules and their take-up draw, benefit after benefit where one feeds the others.

    The truth's own payments of the ``FEEDING`` benefits are set aside; each is then computed on what is paid
    so far and drawn, in ``FEEDING`` order (the AAH, then the housing aid, whose resources are neutralised the
    month after one in which the famille received the RSA, CCH art. R822-17: a famille that does not take its RSA
    up keeps its income counted; ...; then the RSA, whose forfait logement reads the housing aid paid), and its
    takers' payments join ``benefits_paid``; the other benefits are computed last, on those payments (a famille
    that does not take its housing aid up receives none, so its RSA has no forfait logement), and drawn.

    Each month's inputs are built once (``core.build_month``); each step only reads the payments again
    (``core.inputs.with_payments``: every payment drawn so far, those of the month's steps before it and of the
    months before), and the months are evaluated together (``engine.evaluate_many``). The ``FEEDING`` benefits
    whose rules read no payment are computed in one evaluation, first: what is paid does not change them. A
    month's inputs read payments up to that month only, so chunks of months are taken in order. Where a
    ``FEEDING`` benefit reads the payment of one drawn after it (the housing aid of a month reads the RSA drawn
    for the month before: ``_reads_later_payments``), the months of a chunk go through those steps one at a
    time, in order; otherwise the chunk's months go through each step together, with the same values as every
    month through each step in turn (no step reads a payment drawn after it). The other benefits, whose payments
    no step reads, are computed once for the whole chunk, after its last month's steps (each month reading the
    payments up to its own): on 1,500 persons over 13 months, one stacked evaluation of 15 s instead of 13 of
    2.6 s each, the same draw (a third of the take-up's 74 s)."""
    from nonrecours.core.inputs import with_payments

    tables = _truth_tables(Path(truth_dir))
    truth_paid = tables["benefits_paid"]
    schema = truth_paid.collect_schema()
    base = truth_paid.filter(~pl.col("benefit").cast(pl.String).is_in(list(FEEDING)))
    tables["benefits_paid"] = base
    free = tuple(c for c in FEEDING if not _payments_read(c))
    steps: list[tuple[str, ...]] = [(c,) for c in FEEDING if c not in free]
    others = tuple(b.code for b in CATALOGUE if b.code not in FEEDING)  # no step reads their payments
    one_by_one = _reads_later_payments()
    payments: list[pl.DataFrame] = []
    drawn_frames = []

    def draw(codes: tuple[str, ...], part: list[tuple]) -> None:
        drawn = draw_take_up(_chunk_entitlements(codes, part, backend), seed=seed)
        drawn_frames.append(drawn)
        payments.append(_paid_rows(drawn.filter(pl.col("benefit").is_in([c for c in codes if c in FEEDING])),
                                   schema))

    def paid_so_far(part: list[tuple]) -> list[tuple]:
        view = {**tables, "benefits_paid": pl.concat([base, *[f.lazy() for f in payments]])}
        return [(m, with_payments(inputs, view, m, facts), facts) for m, inputs, facts in part]

    for chunk in _month_chunks(tables, months):
        if free:
            draw(free, chunk)
        for part in ([[m] for m in chunk] if one_by_one else [chunk]):
            for codes in steps:
                draw(codes, paid_so_far(part))
        draw(others, paid_so_far(chunk))  # every month of the chunk drawn through the steps: read up to its own
    return pl.concat(drawn_frames).sort("unit_id", "benefit", "month")


def _paid_rows(drawn: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    """The truth's ``benefits_paid`` rows (``schema``) of the takers of a drawn frame (``draw_take_up``): paid by
    the CAF to the famille, as the synthetic truth states a payment (source ``synth``)."""
    return _payments(drawn).select(
        pl.col("unit_kind").cast(schema["unit_kind"]), "unit_id",
        pl.lit(None, dtype=pl.String).alias("person_id"), pl.col("benefit").cast(schema["benefit"]),
        "month", pl.col("amount").cast(schema["amount"]),
        pl.lit("caf").cast(schema["paying_agency"]).alias("paying_agency"),
        pl.lit("synth").cast(schema["source_agency"]).alias("source_agency"),
        *[pl.lit(None, dtype=schema[c]).alias(c) for c in schema.names()
          if c not in ("unit_kind", "unit_id", "person_id", "benefit", "month", "amount", "paying_agency",
                       "source_agency")]).select(schema.names())


def _payments(take_up: pl.DataFrame) -> pl.DataFrame:
    """What the takers are paid: every month for a monthly benefit; a yearly one (ARS, chèque énergie) in its
    payment month only, its year's amount."""
    month_of = {b.code: b.payment_month or 0 for b in CATALOGUE if b.yearly}
    pay_month = pl.col("benefit").cast(pl.String).replace_strict(month_of, default=None, return_dtype=pl.Int64)
    return take_up.filter(pl.col("take_up") & (pl.col("amount") >= 0)
                          & (pay_month.is_null() | (pl.col("month").dt.month() == pay_month)))


@dataclass(frozen=True)
class Noise:
    """Shares of the noise injected in each extract (all draws are seeded and keyed)."""

    unknown: float = 0.03
    """People an agency does not know although it should (not registered, moved in recently)."""
    nir_typo: float = 0.01
    """A digit mistyped in the NIR: the check key no longer matches."""
    nir_missing: float = 0.005
    """NIR left blank by the agency."""
    stale: float = 0.02
    """People whose last ``stale_months`` months are not yet in the extract."""
    stale_months: int = 2
    duplicates: float = 0.01
    """Monthly rows written twice, identically."""
    late_updates: float = 0.01
    """Monthly rows preceded by an earlier version with another amount (the later line is right)."""
    msa_share: float = 0.06
    """Families affiliated to the MSA (farmers, farm workers) rather than the CAF/CNAM/CNAV."""
    months: int = 12
    """Months covered by the monthly extracts, ending at the last month of the truth."""


@dataclass
class AgencyNoise:
    rows: int = 0
    persons: int = 0
    unknown_persons: int = 0
    nir_typos: int = 0
    nir_missing: int = 0
    stale_rows_dropped: int = 0
    duplicates: int = 0
    late_updates: int = 0
    claims: int = 0
    """Claim events (pending, refused, closed) written in the extract."""
    opt_outs: int = 0
    """Objections to contact written in the extract."""


@dataclass
class Manifest:
    seed: int
    reference_month: str
    months: list[str]
    noise: dict[str, float | int]
    take_up: str
    truth_engine: str | None = None
    """What labelled entitlement before the take-up draw (:func:`engine_record`), None without entitlements."""
    agencies: dict[str, AgencyNoise] = field(default_factory=dict)
    claims_drawn: dict[str, int] = field(default_factory=dict)
    """Claim events drawn from the truth by event, and opt-outs (``opt_out``): truth/claims.parquet and
    truth/opt_outs.parquet hold them; each agency's ``claims``/``opt_outs`` count what its extract carries."""


# --- truth access ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Truth:
    persons: pl.DataFrame
    identities: pl.DataFrame
    memberships: pl.DataFrame
    resources: pl.DataFrame
    housing: pl.DataFrame
    benefits: pl.DataFrame
    registrations: pl.DataFrame
    """Months registered at France Travail on the person's own request (``synth.generate``); empty for a truth
    written before the table existed (the months with ARE, always registered, are added by ``_jobseekers``)."""


_REGISTRATIONS_SCHEMA = {"person_id": pl.String, "month": pl.Date, "category": pl.String, "registered_on": pl.Date}


def _read_truth(truth_dir: Path) -> _Truth:
    def rd(name: str) -> pl.DataFrame:
        return pl.read_parquet(truth_dir / f"{name}.parquet")
    reg = (rd("registrations").with_columns(pl.col("category").cast(pl.String))
           if (truth_dir / "registrations.parquet").exists() else pl.DataFrame(schema=_REGISTRATIONS_SCHEMA))
    return _Truth(rd("persons"), rd("identities"), rd("unit_memberships"), rd("resources"), rd("housing"),
                  rd("benefits_paid"), reg)


def extract_date(last_month: dt.date) -> dt.date:
    """The day the synthetic agencies extract their files: the 28th of the last month they cover (every month has
    one). The CAF writes it in its header record; the demo's run.toml states it for the layouts without one."""
    return last_month.replace(day=28)


def _months(truth: _Truth, n: int) -> list:
    last = truth.resources.get_column("month").max()
    if last is None:
        last = truth.benefits.get_column("month").max()
    if last is None:
        raise ValueError("the truth has no month of resources or benefits")
    first = pl.select(pl.lit(last).dt.offset_by(f"-{n - 1}mo")).item()
    return pl.date_range(first, last, "1mo", eager=True).to_list()


def _active(memberships: pl.DataFrame, kind: str, month: pl.Expr) -> pl.Expr:
    return ((pl.col("unit_kind").cast(pl.String) == kind) & valid_on(month))


def _unit_at(truth: _Truth, kind: str, month) -> pl.DataFrame:
    """person_id → unit_id, role of the unit of ``kind`` each person belongs to in ``month``."""
    m = truth.memberships
    return m.filter(_active(m, kind, pl.lit(month))).select(
        "person_id", "unit_id", pl.col("role").cast(pl.String)).unique("person_id", keep="first")


# --- claims, refusals, closures and objections ----------------------------------------------------------

CLAIM_SHARES = {"pending": 0.06, "closed": 0.04, "refused": 0.02, "opt_out": 0.03}
"""Shares drawn: among entitled units that do not take the benefit up, a claim being examined (pending) or a
right closed four months ago (closed); among units not entitled, a refusal two months ago; among the
claimants of non-take-up units, an objection to any contact."""
_CLAIM_BENEFITS = tuple(b.code for b in CATALOGUE if b.claim_layouts)
"""Benefits whose claim events some agency's layout carries (the catalogue's ``claim_layouts``): the chèque
énergie has none (its claims are made to the ASP, which sends no extract), so none are drawn for it."""
_EVENT_BENEFITS = tuple(b for b in _CLAIM_BENEFITS if catalogue_row(b).excludes is None)
"""Benefits a refusal is drawn for among units not entitled (the CSS with participation is refused as the CSS)."""
_CAF_CLAIMS = tuple(b.code for b in CATALOGUE if "caf" in b.claim_layouts)


def _draw_events(truth: _Truth, take_up: pl.DataFrame | None, months: list,
                 seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Claims (person_id of the claimant, benefit, event, event_date) and opt-outs (person_id, since)."""
    claims_schema = {"person_id": pl.String, "benefit": pl.String, "event": pl.String, "event_date": pl.Date}
    if take_up is None or take_up.is_empty():
        return pl.DataFrame(schema=claims_schema), pl.DataFrame(schema={"person_id": pl.String, "since": pl.Date})
    last = months[-1]
    dem = _unit_at(truth, "famille", last).filter(pl.col("role") == "demandeur").select("unit_id", "person_id")
    now = take_up.filter((pl.col("month") == last) & pl.col("benefit").cast(pl.String).is_in(_CLAIM_BENEFITS)).select(
        "unit_id", pl.col("benefit").cast(pl.String), "take_up")
    non = now.filter(~pl.col("take_up")).unique(["unit_id", "benefit"]).sort("unit_id", "benefit")
    u = stable_uniform(non, ["unit_id", "benefit"], seed=seed, salt="claims")
    p, c = CLAIM_SHARES["pending"], CLAIM_SHARES["closed"]
    drawn = non.with_columns(u.alias("u")).with_columns(
        pl.when(pl.col("u") < p).then(pl.lit("pending")).when(pl.col("u") < p + c).then(pl.lit("closed"))
        .otherwise(None).alias("event")).drop_nulls("event").with_columns(
        pl.when(pl.col("event") == "pending").then(pl.lit(last).dt.offset_by("9d"))
        .otherwise(pl.lit(last).dt.offset_by("-4mo")).alias("event_date"))
    entitled = now.select("unit_id", "benefit").unique()
    grid = dem.select("unit_id").join(pl.DataFrame({"benefit": list(_EVENT_BENEFITS)}), how="cross")
    # the ASI tops up an invalidity pension (CSS art. L815-24): only a famille drawing one can be refused it
    pensioned = truth.resources.filter((pl.col("kind").cast(pl.String) == "invalidity_pension")
                                       & (pl.col("month") == last)).select("person_id").join(
        _unit_at(truth, "famille", last), on="person_id").get_column("unit_id")
    grid = grid.filter((pl.col("benefit") != "asi") | pl.col("unit_id").is_in(pensioned.implode()))
    if "css_free" in grid.get_column("benefit").to_list():
        entitled = pl.concat([entitled, entitled.filter(pl.col("benefit") == "css_participation")
                              .with_columns(pl.lit("css_free").alias("benefit"))]).unique()
    not_entitled = grid.join(entitled, on=["unit_id", "benefit"], how="anti").sort("unit_id", "benefit")
    u2 = stable_uniform(not_entitled, ["unit_id", "benefit"], seed=seed, salt="refusals")
    refused = not_entitled.filter(u2 < CLAIM_SHARES["refused"]).with_columns(
        pl.lit("refused").alias("event"), pl.lit(last).dt.offset_by("-2mo").dt.offset_by("14d").alias("event_date"))
    claims = pl.concat([drawn.select("unit_id", "benefit", "event", "event_date"),
                        refused.select("unit_id", "benefit", "event", "event_date")]).join(dem, on="unit_id").select(
        "person_id", "benefit", "event", "event_date").sort("person_id", "benefit", "event")
    people = non.join(dem, on="unit_id").select("person_id").unique().sort("person_id")
    u3 = stable_uniform(people, ["person_id"], seed=seed, salt="opt_out")
    opt_outs = people.filter(u3 < CLAIM_SHARES["opt_out"]).with_columns(pl.lit(months[0]).alias("since"))
    return claims.cast(claims_schema), opt_outs  # type: ignore[arg-type]


# --- noise ----------------------------------------------------------------------------------------------

def _typo(nir: pl.Expr) -> pl.Expr:
    """Change the 8th digit (+1 mod 10): a single-digit error always breaks the mod-97 key."""
    d = nir.str.slice(7, 1).cast(pl.Int64, strict=False)
    return nir.str.slice(0, 7) + ((d + 1) % 10).cast(pl.String) + nir.str.slice(8)


def _person_noise(df: pl.DataFrame, agency: str, seed: int, noise: Noise, stats: AgencyNoise,
                  months: list, monthly: bool) -> pl.DataFrame:
    """Drop unknown people, blank or mistype NIRs, drop stale months; ``df`` has person_id, nir[, month]."""
    people = df.select("person_id").unique().sort("person_id")
    draws = people.with_columns(
        stable_uniform(people, ["person_id"], seed=seed, salt=f"unknown:{agency}").alias("u_unknown"),
        stable_uniform(people, ["person_id"], seed=seed, salt=f"nir:{agency}").alias("u_nir"),
        stable_uniform(people, ["person_id"], seed=seed, salt=f"stale:{agency}").alias("u_stale"),
    )
    df = df.join(draws, on="person_id", how="left")
    stats.unknown_persons += draws.filter(pl.col("u_unknown") < noise.unknown).height
    df = df.filter(pl.col("u_unknown") >= noise.unknown)
    typo = (pl.col("u_nir") < noise.nir_typo) & pl.col("nir").is_not_null()
    blank = (pl.col("u_nir") >= noise.nir_typo) & (pl.col("u_nir") < noise.nir_typo + noise.nir_missing)
    kept = df.select("person_id", "u_nir", "nir").unique("person_id")
    stats.nir_typos += kept.filter(typo).height
    stats.nir_missing += kept.filter(blank & pl.col("nir").is_not_null()).height
    df = df.with_columns(pl.when(typo).then(_typo(pl.col("nir"))).when(blank).then(None)
                         .otherwise(pl.col("nir")).alias("nir"))
    if monthly and noise.stale_months:
        cutoff = months[-noise.stale_months] if noise.stale_months <= len(months) else months[0]
        stale = (pl.col("u_stale") < noise.stale) & (pl.col("month") >= cutoff)
        stats.stale_rows_dropped += df.filter(stale).height
        df = df.filter(~stale)
    stats.persons += df.select(pl.col("person_id").n_unique()).item()
    return df.drop("u_unknown", "u_nir", "u_stale")


def _row_noise(df: pl.DataFrame, key: list[str], amount: str, agency: str, seed: int, noise: Noise,
               stats: AgencyNoise) -> pl.DataFrame:
    """Duplicate some rows exactly and precede others by an outdated version (late update)."""
    u = stable_uniform(df, key, seed=seed, salt=f"rows:{agency}")
    df = df.with_columns(u.alias("__u"), pl.int_range(pl.len()).alias("__order"))
    dup = df.filter(pl.col("__u") < noise.duplicates).with_columns(pl.col("__order") + 0.5)
    late = df.filter((pl.col("__u") >= noise.duplicates) & (pl.col("__u") < noise.duplicates + noise.late_updates))
    old = late.with_columns((pl.col(amount) * 0.9).round(2).alias(amount), pl.col("__order") - 0.5)
    stats.duplicates += dup.height
    stats.late_updates += old.height
    out = pl.concat([df.with_columns(pl.col("__order").cast(pl.Float64)),
                     dup.with_columns(pl.col("__order").cast(pl.Float64)),
                     old.with_columns(pl.col("__order").cast(pl.Float64))])
    out = out.sort("__order").drop("__u", "__order")
    stats.rows += out.height
    return out


# --- formatting helpers ----------------------------------------------------------------------------------

def _write_text(path: Path, lines: pl.Series, encoding: str, bom: bool = False) -> None:
    text = "\n".join(lines.to_list()) + ("\n" if lines.len() else "")
    data = text.encode(encoding, errors="replace")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)


def _people(truth: _Truth) -> pl.DataFrame:
    return truth.persons.select("person_id", "birth_month", pl.col("sex").cast(pl.String),
                                pl.col("nationality_group").cast(pl.String), "residence_permit_years",
                                "disability_rate", "student", "pregnant", "rsdae", "unfit_for_work",
                                "recent_isolation").join(
        truth.identities, on="person_id", how="left")


def _resource(truth: _Truth, kind: str, months: list) -> pl.DataFrame:
    return truth.resources.filter((pl.col("kind").cast(pl.String) == kind) & pl.col("month").is_in(months)
                                  & (pl.col("amount") > 0)).select(
        "person_id", "month", pl.col("amount").cast(pl.Float64).alias(kind))


def _farm_families(truth: _Truth, seed: int, share: float) -> pl.DataFrame:
    """Familles affiliated to the MSA: those the truth says the MSA pays, or whose demandeur is under the
    agricultural scheme (``identities.regime``); a seeded share of familles when the truth has neither."""
    fam = truth.memberships.filter(pl.col("unit_kind").cast(pl.String) == "famille")
    if "regime" in truth.identities.columns:
        agri = truth.identities.filter(pl.col("regime") == "agricole").select("person_id")
        by_regime = fam.filter(pl.col("role").cast(pl.String) == "demandeur").join(agri, on="person_id")
        paid_msa = truth.benefits.filter(pl.col("paying_agency").cast(pl.String) == "msa")
        return pl.concat([by_regime.select("unit_id"), paid_msa.select("unit_id").drop_nulls()]).unique()
    units = fam.select("unit_id").unique()
    return units.filter(stable_uniform(units, ["unit_id"], seed=seed, salt="msa") < share)


def _paid(truth: _Truth, take_up: pl.DataFrame | None, months: list) -> pl.DataFrame:
    """unit_kind, unit_id, person_id, benefit, month, amount paid: the truth's family benefits and the drawn
    take-up. A benefit the draw covers (the housing aid and the allocations familiales when drawn from the
    rules) is paid to its takers only, replacing the truth's own payments of it."""
    cols = ["unit_kind", "unit_id", "person_id", "benefit", "month", "amount"]
    fam = truth.benefits.filter(pl.col("month").is_in(months) & (pl.col("amount") > 0)).select(
        pl.col("unit_kind").cast(pl.String), "unit_id", "person_id", pl.col("benefit").cast(pl.String),
        "month", pl.col("amount").cast(pl.Float64))
    if take_up is None or take_up.is_empty():
        return fam.select(cols)
    covered = take_up.get_column("benefit").cast(pl.String).unique().to_list()
    drawn = _payments(take_up.filter(pl.col("month").is_in(months))).select(
        pl.col("unit_kind").cast(pl.String), pl.col("unit_id"),
        pl.lit(None, dtype=pl.String).alias("person_id"), pl.col("benefit").cast(pl.String), "month",
        pl.col("amount").cast(pl.Float64))
    return pl.concat([fam.filter(~pl.col("benefit").is_in(covered)).select(cols), drawn.select(cols)],
                     how="vertical_relaxed")


def _unit_payments_to_demandeur(paid: pl.DataFrame, truth: _Truth, month_last) -> pl.DataFrame:
    """Payments made to a famille, attached to its demandeur (person-level extracts)."""
    dem = _unit_at(truth, "famille", month_last).filter(pl.col("role") == "demandeur").select(
        pl.col("unit_id"), pl.col("person_id").alias("demandeur"))
    unit = paid.filter(pl.col("unit_id").is_not_null()).join(dem, on="unit_id", how="inner").with_columns(
        pl.col("demandeur").alias("person_id")).drop("demandeur")
    return pl.concat([unit, paid.filter(pl.col("unit_id").is_null())])


def _write_caf(truth: _Truth, paid: pl.DataFrame, farm: pl.DataFrame, months: list, out: Path, seed: int,
               noise: Noise, stats: AgencyNoise, claims: pl.DataFrame, opt_outs: pl.DataFrame,
               farm_people: pl.Series) -> pl.Series:
    """Write caf.dat through its mapping; return the persons of its dossiers (their objections are the CAF's)."""
    layout = default_mapping("caf")

    def lines(frame: pl.DataFrame, record: str) -> pl.DataFrame:
        return pl.DataFrame({"l": fixed_width_lines(frame, layout, record), "matricule": frame.get_column("matricule")})

    last = months[-1]
    caf_benefits = [b.code for b in CATALOGUE if "caf" in b.payers]
    pay = paid.filter((pl.col("unit_kind") == "famille") & pl.col("benefit").is_in(caf_benefits)
                      & ~pl.col("unit_id").is_in(farm.get_column("unit_id").implode()))
    units = pay.select("unit_id").unique().sort("unit_id").with_row_index("rank")
    units = units.with_columns((pl.col("rank") + 1_000_001).cast(pl.String).alias("matricule"))
    m = truth.memberships
    members = m.filter((pl.col("unit_kind").cast(pl.String) == "famille") & pl.col("valid_from").le(last)
                       & (pl.col("valid_to").is_null() | (pl.col("valid_to") >= months[0]))).join(
        units, on="unit_id").select("person_id", "matricule", pl.col("role").cast(pl.String), "valid_from")
    members = members.unique(["person_id", "matricule"], keep="last").join(_people(truth), on="person_id")
    members = _person_noise(members, "caf", seed, noise, stats, months, monthly=False)
    rsdae_rate = default_parameters().bind("prestations_etat_de_sante.aah.taux_incapacite_rsdae", last).value
    # the CAF knows RSDAE from the MDPH decision of an AAH file, which exists from the RSDAE rate (blank, unknown,
    # for the others), and a recent isolation from what its allocataires declare (every member)
    rec20 = lines(members.sort("matricule", "role", "person_id").with_columns(
        pl.col("last_name").str.to_uppercase().alias("nom"), pl.col("first_name").alias("prenom"),
        pl.col("birth_date").alias("birth_month"),
        pl.when(pl.col("disability_rate") >= rsdae_rate).then(pl.col("rsdae")).alias("rsdae")), "membre")
    pay = pay.join(units, on="unit_id").sort("matricule", "month", "benefit")
    pay = _row_noise(pay, ["unit_id", "benefit", "month"], "amount", "caf", seed, noise, stats)
    rec30 = lines(pay.with_columns(pl.col("month").dt.offset_by("1mo").dt.offset_by("4d").alias("paid_on")),
                  "prestation")
    men = m.filter(pl.col("unit_kind").cast(pl.String) == "menage").select(
        "person_id", pl.col("unit_id").alias("menage_id"), pl.col("role").cast(pl.String).alias("menage_role"))
    dem = members.filter(pl.col("role") == "demandeur").select("person_id", "matricule", "address", "postcode")
    house = dem.join(men, on="person_id").unique("matricule", keep="first").join(
        truth.housing.filter(pl.col("month").is_in(months)), on="menage_id")
    # an allocataire living in another's home records no lease of its own: the CAF writes « hébergé à titre
    # gratuit » (the host's lease and rent are the host's, CCH art. L822-1), not the dwelling's tenancy
    hosted = ~pl.col("menage_role").is_in(HOUSEHOLDER_ROLES)
    house = house.with_columns(
        pl.when(hosted).then(pl.lit("free")).otherwise(pl.col("status").cast(pl.String)).alias("status"),
        pl.when(hosted).then(pl.lit(0, dtype=house.schema["rent"])).otherwise(pl.col("rent")).alias("rent"),
        *(pl.when(hosted).then(pl.lit(False)).otherwise(pl.col(c)).alias(c) for c in ("colocation", "chambre")),
        pl.when(hosted).then(pl.lit(None, dtype=pl.Date)).otherwise(pl.col("loan_date")).alias("loan_date"))
    rec40 = lines(house.sort("matricule", "month").with_columns(pl.col("address").alias("adresse")), "logement")
    dossiers = lines(members.filter(pl.col("role") == "demandeur").unique("matricule").with_columns(
        pl.col("valid_from").alias("opened")), "dossier")
    # monthly resources the CAF receives from the DRM (dispositif de ressources mensuelles, fed by the DSN
    # and PASRAU) for the members of its dossiers
    natures = ("salary_net", "unemployment_benefit", "pension_net", "invalidity_pension", "alimony")
    res = truth.resources.filter(pl.col("month").is_in(months) & (pl.col("amount") > 0)
                                 & pl.col("kind").cast(pl.String).is_in(list(natures))).select(
        "person_id", "month", pl.col("kind").cast(pl.String), pl.col("amount").cast(pl.Float64))
    res = members.select("person_id", "matricule", "nir").join(res, on="person_id").sort(
        "matricule", "person_id", "month", "kind")
    res = _row_noise(res, ["person_id", "month", "kind"], "amount", "caf-drm", seed, noise, stats)
    rec50 = lines(res, "ressources")
    # claim events of the benefits the CAF instructs and objections to contact, with the claimant's NIR (the
    # CAF may hold no payment for the dossier: such dossiers get a matricule of their own)
    caf_claims = claims.filter(pl.col("benefit").is_in(list(_CAF_CLAIMS))
                               & ~pl.col("person_id").is_in(farm_people.implode()))
    known = members.select("person_id", "matricule").unique("person_id", keep="first")
    others = caf_claims.select("person_id").unique().join(known, on="person_id", how="anti").sort("person_id")
    others = others.with_row_index("r").select(
        "person_id", (pl.col("r") + 1_000_001 + units.height).cast(pl.String).alias("matricule"))
    who = pl.concat([known, others]).join(truth.identities.select("person_id", "nir"), on="person_id")
    rec60 = lines(caf_claims.join(who, on="person_id"), "demande")
    caf_opt = opt_outs.join(known, on="person_id").join(truth.identities.select("person_id", "nir"), on="person_id")
    rec70 = lines(caf_opt, "opposition")
    stats.claims, stats.opt_outs = rec60.height, rec70.height
    body = pl.concat([dossiers, rec20, rec30, rec40, rec50, rec60, rec70]).with_columns(
        pl.col("l").str.slice(0, 2).alias("t")).with_row_index("i").sort("matricule", "t", "i", maintain_order=True)
    head = fixed_width_lines(pl.DataFrame({"organisme": ["CAF46"], "extract_date": [extract_date(last)]}),
                             layout, "en-tete")
    tail = fixed_width_lines(pl.DataFrame({"record_count": [body.height + 2]}), layout, "fin")
    stats.rows = body.height
    _write_text(out / "caf.dat", pl.concat([head, body.get_column("l"), tail]), "latin-1")
    return known.get_column("person_id")


def _write_cnam(truth: _Truth, paid: pl.DataFrame, farm_people: pl.Series, months: list, out: Path, seed: int,
                noise: Noise, stats: AgencyNoise, claims: pl.DataFrame, opt_outs: pl.DataFrame,
                caf_people: pl.Series) -> None:
    people = _people(truth).filter(~pl.col("person_id").is_in(farm_people.implode()))
    grid = people.select("person_id").join(pl.DataFrame({"month": months}), how="cross")
    fam = pl.concat([_unit_at(truth, "famille", mo).with_columns(pl.lit(mo).alias("month")) for mo in months])
    css = paid.filter(pl.col("benefit").is_in(["css_free", "css_participation"]) & pl.col("unit_id").is_not_null())
    css = fam.join(css.select("unit_id", "month", "benefit", "amount"), on=["unit_id", "month"]).with_columns(
        pl.when(pl.col("role") == "demandeur").then(pl.col("amount")).otherwise(0.0).alias("amount")).select(
        "person_id", "month", "benefit", "amount").unique(["person_id", "month"], keep="first")
    inval = _resource(truth, "invalidity_pension", months)
    # the ASI of a famille is paid with the invalidity pension: to the member who draws one
    asi = paid.filter((pl.col("benefit") == "asi") & pl.col("unit_id").is_not_null()).select(
        "unit_id", "month", pl.col("amount").alias("asi"))
    pensioner = fam.join(inval.select("person_id", "month"), on=["person_id", "month"]).sort("role", "person_id")
    asi = pensioner.join(asi, on=["unit_id", "month"]).unique(["unit_id", "month"], keep="first").select(
        "person_id", "month", "asi")
    df = (grid.join(css, on=["person_id", "month"], how="left").join(inval, on=["person_id", "month"], how="left")
          .join(asi, on=["person_id", "month"], how="left"))
    # the CSS claim event and the objection to contact of a person, on the row of the last month
    last = pl.lit(months[-1])
    css_claims = claims.filter(pl.col("benefit").is_in(["css_free", "css_participation"])).unique(
        "person_id", keep="first").select("person_id", pl.col("benefit").alias("css_benefit"), "event",
                                          "event_date", last.alias("month"))
    # the ASI claim event, instructed by the CPAM with the invalidity pension it tops up (CSS art. L815-24)
    asi_claims = claims.filter(pl.col("benefit") == "asi").unique("person_id", keep="first").select(
        "person_id", pl.col("event").alias("asi_event"), pl.col("event_date").alias("asi_event_date"),
        last.alias("month"))
    objections = opt_outs.join(pl.DataFrame({"person_id": caf_people}), on="person_id", how="anti").select(
        "person_id", "since", last.alias("month"))
    df = (df.join(css_claims, on=["person_id", "month"], how="left")
          .join(asi_claims, on=["person_id", "month"], how="left")
          .join(objections, on=["person_id", "month"], how="left"))
    df = df.join(people, on="person_id")
    df = _person_noise(df, "cnam", seed, noise, stats, months, monthly=True)
    df = df.sort("person_id", "month")
    df = _row_noise(df, ["person_id", "month"], "invalidity_pension", "cnam", seed, noise, stats)
    write_csv(df.select(
        "nir", pl.col("last_name").str.to_uppercase().alias("nom"), pl.col("first_name").alias("prenom"),
        pl.col("birth_date").alias("birth_month"), "depcom", pl.lit("01").alias("regime"),
        pl.col("benefit").fill_null("none").alias("css"), "month",
        pl.col("amount").fill_null(0.0).alias("participation"),
        pl.col("invalidity_pension").fill_null(0.0).alias("invalidity"), pl.col("asi").fill_null(0.0),
        pl.col("event").alias("css_event"),
        "css_benefit", pl.col("event_date").alias("css_event_date"), "asi_event", "asi_event_date",
        pl.col("since").alias("opt_out_since"),
    ), default_mapping("cnam"), out / "cnam.csv", bom=True)
    events = df.filter(pl.col("event").is_not_null()).select("person_id", "css_benefit", "event", "event_date")
    asi_events = df.filter(pl.col("asi_event").is_not_null()).select("person_id", "asi_event", "asi_event_date")
    stats.claims = events.unique().height + asi_events.unique().height
    stats.opt_outs = df.filter(pl.col("since").is_not_null()).select("person_id").n_unique()


RSA_REGISTRATION_FROM = dt.date(2025, 1, 1)
"""Since this date a person who claims the RSA, and their spouse, cohabitant or PACS partner, are registered at
France Travail (Code du travail art. L5411-1, 2°, loi n° 2023-1196 du 18 décembre 2023 pour le plein emploi,
art. 1, in force on that date), unless they have reached the full-rate pension age (see ``_jobseekers``)."""
FULL_RATE_AGE = 67
"""The age of the full-rate pension (CSS art. L351-8, 1°), past which the RSA claimant is not registered."""


def _jobseekers(truth: _Truth, take_up: pl.DataFrame | None, claims: pl.DataFrame, months: list) -> pl.DataFrame:
    """Every registered jobseeker and month: person_id, month, category (A no work, B/C reduced activity, from
    the month's salary), registered_on, basis (``own``: the person's request, L5411-1 1°, with every month with
    ARE; ``rsa``: the RSA claimant and partner, L5411-1 2°, from 2025), rsa_recipient (the registration's
    « bénéficiaire du RSA »: a parent of a famille the truth pays the RSA that month, whatever the basis, from
    2025, when every RSA recipient is registered and the registration records it; false before).

    The RSA claimants are the famille's parents in a month it is paid the RSA (the drawn take-up) or claims it
    (a pending claim); a person drawing a pension or aged 67 or more is left out (the 2° does not apply at the
    full-rate age; a retiree drawing a pension is taken as having it).
    """
    are = _resource(truth, "unemployment_benefit", months).select("person_id", "month")
    own = pl.concat([
        truth.registrations.filter(pl.col("month").is_in(months)).select("person_id", "month", "registered_on"),
        are.join(are.group_by("person_id").agg(pl.col("month").min().alias("registered_on")), on="person_id"),
    ]).group_by("person_id", "month").agg(pl.col("registered_on").min()).with_columns(pl.lit("own").alias("basis"))
    rsa_months = [m for m in months if m >= RSA_REGISTRATION_FROM]
    parents = pl.concat([_unit_at(truth, "famille", m).with_columns(pl.lit(m).alias("month")) for m in rsa_months]
                        ) if rsa_months else pl.DataFrame(schema={"person_id": pl.String, "unit_id": pl.String,
                                                                   "role": pl.String, "month": pl.Date})
    parents = parents.filter(pl.col("role").is_in(list(PARENT_ROLES)))
    paid = (take_up.filter((pl.col("benefit").cast(pl.String) == "rsa") & pl.col("take_up")).select("unit_id", "month")
            if take_up is not None else pl.DataFrame(schema={"unit_id": pl.String, "month": pl.Date}))
    last = months[-1]
    pending = claims.filter((pl.col("benefit") == "rsa") & (pl.col("event") == "pending")).join(
        _unit_at(truth, "famille", last), on="person_id").select("unit_id", pl.lit(last).alias("month"))
    # « bénéficiaire du RSA » of the registration: a parent of a famille the truth pays the RSA that month
    recipient = (parents.join(paid.unique(), on=["unit_id", "month"]).select("person_id", "month").unique()
                 .with_columns(pl.lit(True).alias("rsa_recipient")))
    rsa = parents.join(pl.concat([paid, pending]).unique(), on=["unit_id", "month"]).select("person_id", "month")
    pension = truth.resources.filter(pl.col("kind").cast(pl.String).is_in(["pension_net", "pension_gross"])
                                     & (pl.col("amount") > 0)).select("person_id", "month").unique()
    born = truth.persons.select("person_id", "birth_month")
    rsa = rsa.join(pension, on=["person_id", "month"], how="anti").join(born, on="person_id").filter(
        pl.col("birth_month").dt.offset_by(f"{FULL_RATE_AGE}y") > pl.col("month")).drop("birth_month")
    rsa = rsa.join(own.select("person_id", "month"), on=["person_id", "month"], how="anti")
    rsa = rsa.join(rsa.group_by("person_id").agg(pl.col("month").min().alias("registered_on")), on="person_id")
    out = pl.concat([own, rsa.with_columns(pl.lit("rsa").alias("basis"))], how="vertical_relaxed")
    salary = _resource(truth, "salary_net", months)
    return out.join(salary, on=["person_id", "month"], how="left").with_columns(
        pl.when(pl.col("salary_net").fill_null(0) <= 0).then(pl.lit("A"))
        .when(pl.col("salary_net") < CATEGORY_B_BELOW).then(pl.lit("B")).otherwise(pl.lit("C")).alias("category"),
    ).join(recipient, on=["person_id", "month"], how="left").with_columns(
        pl.col("rsa_recipient").fill_null(False),
    ).select("person_id", "month", "category", "registered_on", "basis", "rsa_recipient").sort("person_id", "month")


def _write_france_travail(truth: _Truth, jobseekers: pl.DataFrame, months: list, out: Path, seed: int,
                          noise: Noise, stats: AgencyNoise) -> None:
    """One row per registered jobseeker and month (categories A to E, with or without ARE), with the nationality
    declared at registration (France Travail checks a non-EEA national's residence and work permit, Code du
    travail L5411-4, R5221-48; it keeps the permit in force, not the years since the first, which stay unknown)."""
    are = _resource(truth, "unemployment_benefit", months)
    df = jobseekers.join(are, on=["person_id", "month"], how="left").with_columns(
        pl.col("unemployment_benefit").fill_null(0.0)).join(_people(truth), on="person_id")
    ids = df.select("person_id").unique().sort("person_id").with_row_index("r").with_columns(
        (pl.lit("FT") + (pl.col("r") + 4_600_001).cast(pl.String)).alias("ft_id"))
    df = df.join(ids, on="person_id")
    df = _person_noise(df, "france_travail", seed, noise, stats, months, monthly=True).sort("person_id", "month")
    df = _row_noise(df, ["person_id", "month"], "unemployment_benefit", "france_travail", seed, noise, stats)
    write_csv(df.select(
        "ft_id", "nir", pl.col("last_name").alias("nom"), pl.col("first_name").alias("prenom"),
        pl.col("birth_date").alias("birth_month"), "postcode", "nationality_group", "depcom", "category",
        "registered_on", "month", pl.col("unemployment_benefit").alias("are"),
        pl.when(pl.col("unemployment_benefit") > 0).then(pl.col("month").dt.month_end().dt.day()).otherwise(0)
        .alias("days_paid"), "rsa_recipient",
    ), default_mapping("france_travail"), out / "france_travail.csv")


def _write_dgfip(truth: _Truth, months: list, out: Path, seed: int, noise: Noise, stats: AgencyNoise) -> None:
    ref_year = months[-1].year
    covered = full_years(truth.resources)  # income years the truth covers in full (a foyer declares a whole year)
    # the DGFiP holds the avis of the last years: N-3 and N-2 (the rules' N-2 of the look-back months) and N-1
    years = [y for y in (ref_year - 3, ref_year - 2, ref_year - 1) if y in covered] or [ref_year - 1]
    col = {"salaries": "salaires_traitements", "unemployment": "allocations_chomage",
           "pensions": "pensions_retraites", "alimony": "pensions_alimentaires_recues",
           "self_employment": "revenus_non_salaries"}
    annual = yearly_taxable(truth.resources, years).collect()
    wide = annual.with_columns(pl.col("kind").replace_strict(col)).pivot(
        on="kind", index=["person_id", "year"], values="amount")
    for c in col.values():
        if c not in wide.columns:
            wide = wide.with_columns(pl.lit(0, dtype=pl.Int64).alias(c))
    frames = []
    for y in years:
        dec = pl.date(y, 12, 1)
        m = truth.memberships
        f = m.filter(_active(m, "foyer_fiscal", dec)).select("person_id", "unit_id", pl.col("role").cast(pl.String))
        frames.append(f.with_columns(pl.lit(y).alias("year")))
    foy = pl.concat(frames).unique(["person_id", "year"], keep="first")
    # the dwelling on 1 January after the income year (the declaration's address): the truth's ménage
    dwell = []
    for y in years:
        m = truth.memberships
        jan = pl.date(y + 1, 1, 1)
        dwell.append(m.filter(_active(m, "menage", jan)).select("person_id", pl.col("unit_id").alias("_men"))
                     .unique("person_id", keep="first").with_columns(pl.lit(y).alias("year")))
    locs = pl.concat(dwell)
    local_ids = locs.select("_men").unique().sort("_men").with_row_index("r").with_columns(
        (pl.col("r") + 4_600_100_000_001).cast(pl.String).alias("identifiant_local"))
    foy = foy.join(locs.join(local_ids, on="_men").select("person_id", "year", "identifiant_local"),
                   on=["person_id", "year"], how="left")
    foy = foy.join(wide, on=["person_id", "year"], how="left").with_columns(
        [pl.col(c).fill_null(0) for c in col.values()])
    rfr = foy.group_by("unit_id", "year").agg(
        (0.9 * (pl.col("salaires_traitements") + pl.col("pensions_retraites") + pl.col("allocations_chomage")).sum()
         + (pl.col("pensions_alimentaires_recues") + pl.col("revenus_non_salaries")).sum()).round(0).cast(pl.Int64)
        .alias("revenu_fiscal_reference"))
    # quotient familial: one part per declarant, a half part for each of the first two dependants and a
    # whole part from the third (CGI art. 194); the single parent's extra half part (case T) is left out
    pac = (pl.col("role") == "personne_a_charge").sum()
    parts = foy.group_by("unit_id", "year").agg(
        ((pl.col("role") == "declarant").sum().clip(1, 2).cast(pl.Float64)
         + pl.min_horizontal(pac, 2).cast(pl.Float64) * 0.5
         + (pac.cast(pl.Int64) - 2).clip(0).cast(pl.Float64)).alias("nombre_parts"))
    foy = foy.join(rfr, on=["unit_id", "year"]).join(parts, on=["unit_id", "year"])
    nums = foy.select("unit_id").unique().sort("unit_id").with_row_index("r").with_columns(
        (pl.col("r") + 4_600_000_000_001).cast(pl.String).alias("numero_foyer"))
    foy = foy.join(nums, on="unit_id").join(_people(truth), on="person_id")
    rank = pl.col("person_id").rank("ordinal").over("unit_id", "year", "role")
    qual = pl.when(pl.col("role") == "personne_a_charge").then(pl.lit("PAC")) \
        .when(rank == 1).then(pl.lit("DEC1")).otherwise(pl.lit("DEC2"))
    foy = foy.with_columns(qual.alias("qualite"))
    # person_id breaks the ties between the dependants (PAC) of one foyer: without it their order, hence the
    # file's bytes, changed from one run to the next
    foy = _person_noise(foy, "dgfip", seed, noise, stats, months, monthly=False).sort("numero_foyer", "year", "qualite",
                                                                                      "person_id")
    stats.rows = foy.height
    write_parquet(foy.select(
        pl.col("numero_foyer").alias("foyer"), pl.col("year").cast(pl.Int32), "nir",
        pl.col("last_name").str.to_uppercase().alias("nom"), pl.col("first_name").alias("prenoms"),
        pl.col("birth_date").alias("birth_month"), pl.col("address").alias("adresse"), "depcom",
        pl.col("identifiant_local").alias("logement"),
        pl.col("qualite").alias("role"), pl.col("qualite").alias("menage_role"),
        pl.col("salaires_traitements").alias("salaries"),
        pl.col("pensions_retraites").alias("pensions"), pl.col("allocations_chomage").alias("unemployment"),
        pl.col("pensions_alimentaires_recues").alias("alimony"),
        pl.col("revenus_non_salaries").alias("self_employment"), pl.col("revenu_fiscal_reference").alias("rfr"),
        pl.col("nombre_parts").alias("nb_parts"),
    ), default_mapping("dgfip"), out / "dgfip.parquet")


def _write_cnav(truth: _Truth, paid: pl.DataFrame, farm_people: pl.Series, months: list, out: Path, seed: int,
                noise: Noise, stats: AgencyNoise, claims: pl.DataFrame) -> None:
    net = _resource(truth, "pension_net", months)
    gross = _resource(truth, "pension_gross", months)
    aspa = _unit_payments_to_demandeur(paid.filter(pl.col("benefit") == "aspa"), truth, months[-1]).group_by(
        "person_id", "month").agg(pl.col("amount").sum().alias("aspa"))
    df = net.join(gross, on=["person_id", "month"], how="full", coalesce=True).join(
        aspa, on=["person_id", "month"], how="full", coalesce=True)
    df = df.with_columns(pl.col("pension_gross").fill_null((pl.col("pension_net") / 0.926).round(2)))
    df = df.filter(~pl.col("person_id").is_in(farm_people.implode())).join(_people(truth), on="person_id")
    # the retiree's household as the CNAV knows it for the ASPA: a dossier shared by a retired couple
    m = truth.memberships
    fam = m.filter(_active(m, "famille", pl.lit(months[-1]))).select(
        "person_id", "unit_id", pl.col("role").cast(pl.String), "valid_from").unique("person_id", keep="first")
    dossiers = fam.select("unit_id").unique().sort("unit_id").with_row_index("r").with_columns(
        (pl.lit("R") + (pl.col("r") + 4_600_001).cast(pl.String)).alias("dossier"))
    df = df.join(fam.join(dossiers, on="unit_id").select("person_id", "dossier", "role", "valid_from"),
                 on="person_id", how="left")
    df = _person_noise(df, "cnav", seed, noise, stats, months, monthly=True).sort("person_id", "month")
    # the ASPA claim event of a retiree, once, on the row of the person's latest month in the extract
    latest = df.group_by("person_id").agg(pl.col("month").max())
    aspa_claims = claims.filter(pl.col("benefit") == "aspa").unique("person_id", keep="first").join(
        latest, on="person_id").select("person_id", "month", "event", "event_date")
    df = df.join(aspa_claims, on=["person_id", "month"], how="left")
    stats.claims = aspa_claims.height
    df = _row_noise(df, ["person_id", "month"], "pension_net", "cnav", seed, noise, stats)
    # INAPTITUDE: the CNAV knows whether it granted the pension for unfitness for work (every retiree)
    write_csv(df.select(
        "nir", pl.col("last_name").str.to_uppercase().alias("nom"), pl.col("first_name").alias("prenoms"),
        pl.col("birth_date").alias("birth_month"), "sex", "nationality_group", "residence_permit_years", "dossier",
        "valid_from", pl.when(pl.col("role") == "conjoint").then(pl.lit("conjoint")).otherwise(pl.lit("demandeur"))
        .alias("role"), "postcode", "depcom", "month",
        pl.col("pension_gross").fill_null(0.0).alias("gross"), pl.col("pension_net").fill_null(0.0).alias("net"),
        pl.col("aspa").fill_null(0.0), pl.col("event").alias("aspa_event"),
        pl.col("event_date").alias("aspa_event_date"), "unfit_for_work",
    ), default_mapping("cnav"), out / "cnav.csv")


def _write_msa(truth: _Truth, paid: pl.DataFrame, farm: pl.DataFrame, months: list, out: Path, seed: int,
               noise: Noise, stats: AgencyNoise, claims: pl.DataFrame, opt_outs: pl.DataFrame) -> None:
    last = months[-1]
    m = truth.memberships
    mem = m.filter(_active(m, "famille", pl.lit(last))).join(farm, on="unit_id").select(
        "person_id", "unit_id", pl.col("role").cast(pl.String), "valid_from")
    dossiers = mem.select("unit_id").unique().sort("unit_id").with_row_index("r").with_columns(
        (pl.lit("M") + (pl.col("r") + 460_001).cast(pl.String)).alias("dossier"))
    mem = mem.join(dossiers, on="unit_id")
    dem = mem.filter(pl.col("role") == "demandeur").select("unit_id", pl.col("person_id").alias("payee"))
    family = [b.code for b in CATALOGUE if "msa" in b.payers]
    pay = paid.filter(pl.col("benefit").is_in(family) & pl.col("unit_id").is_not_null()).join(
        dem, on="unit_id").select(pl.col("payee").alias("person_id"), "benefit", "month", "amount")
    members = mem.select("person_id").unique()
    pens = pl.concat([
        _resource(truth, k, months).rename({k: "amount"}).with_columns(pl.lit(k).alias("benefit"))
        .select("person_id", "benefit", "month", "amount") for k in ("pension_net", "pension_gross", "salary_net")
    ]).join(members, on="person_id")
    ev = pl.concat([
        claims.join(members, on="person_id").select("person_id", "event", "benefit", "event_date"),
        opt_outs.join(members, on="person_id").select("person_id", pl.lit("opt_out").alias("event"),
                                                      pl.lit(None, dtype=pl.String).alias("benefit"),
                                                      pl.col("since").alias("event_date"))])
    stats.claims = ev.filter(pl.col("event") != "opt_out").height
    stats.opt_outs = ev.filter(pl.col("event") == "opt_out").height
    events = ev.select("person_id", pl.col("event").alias("benefit"), pl.lit(last).alias("month"),
                       pl.lit(0.0).alias("amount"), pl.col("benefit").alias("claim_benefit"), "event_date")
    rows = pl.concat([
        mem.select("person_id", pl.lit("member").alias("benefit"), pl.lit(last).alias("month"),
                   pl.lit(0.0).alias("amount")),
        pay, pens, events], how="diagonal_relaxed").join(
        mem.select("person_id", "dossier", "role", "valid_from"), on="person_id").join(_people(truth), on="person_id")
    # the claim's benefit and date break the ties of one person's events of a month (two refusals): the joins
    # above order rows differently from run to run, and the same seed writes the same bytes
    rows = _person_noise(rows, "msa", seed, noise, stats, months, monthly=True).sort(
        "dossier", "person_id", "month", "benefit", "claim_benefit", "event_date", nulls_last=True)
    rows = _row_noise(rows, ["person_id", "month", "benefit"], "amount", "msa", seed, noise, stats)
    # STATUT is the member's own, on each of their lines: a farm's operator (income on their own account in the
    # window), else a farm worker (a salary), a retiree (a pension), a dependant (a child, or none of those)
    own = (truth.resources.filter(pl.col("month").is_in(months) & (pl.col("amount") > 0))
           .select("person_id", pl.col("kind").cast(pl.String)).join(members, on="person_id")
           .group_by("person_id").agg(
               pl.when((pl.col("kind") == "self_employment").any()).then(pl.lit("EXP"))
               .when((pl.col("kind") == "salary_net").any()).then(pl.lit("SAL"))
               .when(pl.col("kind").str.starts_with("pension").any()).then(pl.lit("RET"))
               .otherwise(pl.lit("AD")).alias("_status")))
    rows = rows.join(own, on="person_id", how="left", maintain_order="left")
    status = pl.when(pl.col("role") == "enfant").then(pl.lit("AD")).otherwise(pl.col("_status").fill_null("AD"))
    write_csv(rows.select(
        "dossier", "nir", pl.col("last_name").str.to_uppercase().alias("nom"), pl.col("first_name").alias("prenom"),
        pl.col("birth_date").alias("birth_month"), "sex", "role", status.alias("status"), "nationality_group",
        "residence_permit_years", "disability_rate", "student", "pregnant", "depcom", "valid_from", "month",
        pl.col("benefit").alias("nature"), "amount", "claim_benefit", "event_date",
    ), default_mapping("msa"), out / "msa.csv")


_DRM_NATURES = ("salary_net", "unemployment_benefit", "pension_net", "invalidity_pension", "daily_allowance")
"""Incomes declared monthly to the DRM: salaries through the DSN, replacement incomes through PASRAU."""


def _write_drm(truth: _Truth, months: list, out: Path, seed: int, noise: Noise, stats: AgencyNoise) -> None:
    """Monthly resources of everyone an employer (DSN) or a paying body (PASRAU) declares, CAF-known or not."""
    res = truth.resources.filter(pl.col("month").is_in(months) & (pl.col("amount") > 0)
                                 & pl.col("kind").cast(pl.String).is_in(list(_DRM_NATURES))).select(
        "person_id", "month", pl.col("kind").cast(pl.String), pl.col("amount").cast(pl.Float64))
    df = res.join(truth.identities.select("person_id", "nir"), on="person_id")
    df = _person_noise(df, "drm", seed, noise, stats, months, monthly=True).sort("person_id", "month", "kind")
    df = _row_noise(df, ["person_id", "month", "kind"], "amount", "drm", seed, noise, stats)
    declarant = pl.when(pl.col("kind") == "salary_net").then(pl.lit("dsn")).otherwise(pl.lit("pasrau"))
    write_csv(df.with_columns(declarant.alias("declarant")), default_mapping("drm"), out / "drm.csv")


def engine_record(engine: str) -> str:
    """How a labelling engine is named in the manifests and the evaluation: ``rules`` (nonrecours's own rules),
    ``openfisca-france <version>`` or ``given`` (a frame the caller computed)."""
    if engine == "openfisca":
        from nonrecours.simulation.openfisca_process import OPENFISCA_FRANCE

        return f"openfisca-france {OPENFISCA_FRANCE}"
    return engine


def _record_engine(truth_dir: Path, engine: str, months: list, benefits: list[str]) -> None:
    """The truth's manifest says which engine labelled its take_up.parquet, for which months and benefits."""
    path = truth_dir / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    manifest["entitlements"] = {"engine": engine_record(engine), "months": [m.strftime("%Y-%m") for m in months],
                                "benefits": benefits}
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def write_extracts(truth_dir: str | Path, out_dir: str | Path, *, seed: int,
                   entitlements: pl.DataFrame | Literal["rules", "openfisca"] | None = None,
                   noise: Noise | None = None, oracle: Oracle | None = None,
                   batch_households: int = 5_000) -> dict[str, Path]:
    """Write the six agency extracts and the noise manifest; return their paths by agency.

    ``entitlements`` (unit_kind, unit_id, benefit, month, amount) are the RSA, PPA, ASPA and CSS amounts of
    the true situations: ``"rules"`` computes them here with our rules (``entitlements_from_rules`` over the
    extract months), ``"openfisca"`` with OpenFisca-France through ``oracle`` (an
    :class:`~nonrecours.simulation.openfisca_process.OpenFiscaProcess`; ``entitlements_from_openfisca``), or a
    frame the caller computed. They go through ``draw_take_up`` and the result is kept in
    ``truth/take_up.parquet``; the engine is recorded in both manifests. With None, no RSA, PPA, ASPA or CSS
    payment is written (the manifest says so).
    """
    truth_dir, out = Path(truth_dir), Path(out_dir)
    noise = noise or Noise()
    out.mkdir(parents=True, exist_ok=True)
    truth = _read_truth(truth_dir)
    months = _months(truth, noise.months)
    take_up = None
    engine = None
    if isinstance(entitlements, str):
        if entitlements not in TRUTH_ENGINES:
            raise ValueError(f"entitlements is a frame, one of {TRUTH_ENGINES} or None")
        engine = entitlements
        if entitlements == "openfisca":
            if oracle is None:
                raise ValueError("entitlements='openfisca' needs an oracle (OpenFiscaProcess)")
            take_up = draw_take_up(entitlements_from_openfisca(truth_dir, months, oracle, seed=seed,
                                                               batch_households=batch_households), seed=seed)
        else:
            take_up = take_up_from_rules(truth_dir, months, seed=seed)
    elif entitlements is not None:
        engine = "given"
        take_up = draw_take_up(entitlements, seed=seed)
    if take_up is not None:
        take_up.write_parquet(truth_dir / "take_up.parquet")
        labelled = (OPENFISCA_LABELLED if engine == "openfisca" else
                    tuple(b.code for b in CATALOGUE) if engine == "rules" else
                    tuple(take_up.get_column("benefit").unique().sort()))
        _record_engine(truth_dir, engine, months, list(labelled))
    paid = _paid(truth, take_up, months)
    farm = _farm_families(truth, seed, noise.msa_share)
    farm_people = truth.memberships.filter(pl.col("unit_kind").cast(pl.String) == "famille").join(
        farm, on="unit_id").get_column("person_id").unique()
    manifest = Manifest(seed=seed, reference_month=months[-1].strftime("%Y-%m"),
                        months=[m.strftime("%Y-%m") for m in months],
                        noise={k: v for k, v in asdict(noise).items()},
                        take_up="drawn from entitlements" if take_up is not None
                        else "no entitlements given: no RSA, PPA, ASPA or CSS payment written",
                        truth_engine=engine_record(engine) if engine else None)
    stats = {a: AgencyNoise() for a in ("caf", "cnam", "france_travail", "dgfip", "cnav", "msa", "drm")}
    manifest.agencies = stats
    claims, opt_outs = _draw_events(truth, take_up, months, seed)
    claims.write_parquet(truth_dir / "claims.parquet")
    opt_outs.write_parquet(truth_dir / "opt_outs.parquet")
    manifest.claims_drawn = {**{e: claims.filter(pl.col("event") == e).height for e in ("pending", "refused",
                                                                                         "closed")},
                             "opt_out": opt_outs.height}
    caf_people = _write_caf(truth, paid, farm, months, out, seed, noise, stats["caf"], claims, opt_outs,
                            farm_people)
    _write_cnam(truth, paid, farm_people, months, out, seed, noise, stats["cnam"], claims, opt_outs, caf_people)
    jobseekers = _jobseekers(truth, take_up, claims, months)
    jobseekers.write_parquet(truth_dir / "jobseekers.parquet")
    _write_france_travail(truth, jobseekers, months, out, seed, noise, stats["france_travail"])
    _write_dgfip(truth, months, out, seed, noise, stats["dgfip"])
    _write_cnav(truth, paid, farm_people, months, out, seed, noise, stats["cnav"], claims)
    _write_msa(truth, paid, farm, months, out, seed, noise, stats["msa"], claims, opt_outs)
    _write_drm(truth, months, out, seed, noise, stats["drm"])
    (out / "manifest.json").write_text(json.dumps(asdict(manifest), indent=2, default=str), encoding="utf-8")
    return {"caf": out / "caf.dat", "cnam": out / "cnam.csv", "france_travail": out / "france_travail.csv",
            "dgfip": out / "dgfip.parquet", "cnav": out / "cnav.csv", "msa": out / "msa.csv",
            "drm": out / "drm.csv", "manifest": out / "manifest.json"}
