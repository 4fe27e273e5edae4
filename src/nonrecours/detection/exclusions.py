"""Who must not be contacted about a benefit, each reason counted.

- ``opt_out``: a member (demandeur or conjoint) objected to contact, for that benefit or for all
  (``opt_outs`` with a null benefit), since on or before the evaluated month;
- ``deceased_or_gone``: the canonical persons table carries a ``death_month`` or ``departure_month`` on or
  before the evaluated month for an adult of the famille. Today no agency layout fills either column; the
  summary then says the check could not be made rather than reporting zero;
- ``pending_claim``: the latest claim event of the famille (or of one of its adults) for that benefit is
  ``pending``;
- ``recent_refusal`` / ``recent_closure``: a refusal or closure dated in the last N months (per benefit).

A claim event of one tier of a right is one of the right, for each of its tiers (``schemas.benefits.TIERS``): the
CSS is claimed on one form (cerfa 12504) and the CPAM decides the tier from the resources (CSS art. L861-1,
L861-5), so a claim pending for the CSS with participation is a claim of the free CSS too, and a refusal of either
tier refuses the CSS (resources above the participation's ceiling, or another condition failed).

The first reason in that order is kept on the unit; every reason that applies is counted.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from nonrecours.core.units import qualified
from nonrecours.detection.targets import DetectionConfig
from nonrecours.engine.plan import add_months
from nonrecours.schemas.benefits import TIERS

__all__ = ["EXCLUSIONS", "exclusions"]

EXCLUSIONS = ("opt_out", "deceased_or_gone", "pending_claim", "recent_refusal", "recent_closure")
_GONE_COLUMNS = ("death_month", "departure_month")
_RIGHT = pl.DataFrame({"benefit": list(TIERS), "_tier": list(TIERS.values())}).explode("_tier")
"""(benefit, _tier): each benefit and every tier of its right, itself included."""


def _lazy(t: pl.DataFrame | pl.LazyFrame | None) -> pl.LazyFrame | None:
    return t.lazy() if isinstance(t, pl.DataFrame) else t


def exclusions(tables: dict, adults: pl.DataFrame, month: dt.date,
               config: DetectionConfig) -> tuple[pl.DataFrame, dict[str, bool]]:
    """Long frame (famille_id, benefit, exclusion), one row per reason that applies, and which checks
    could be made (``{"deceased_or_gone": False}`` when no table carries the columns).

    ``adults``: famille_id, person_id of the famille's demandeur and conjoint."""
    end = add_months(month, 1) - dt.timedelta(days=1)
    benefits = pl.DataFrame({"benefit": list(config.benefits)})
    out: list[pl.DataFrame] = []
    available = {e: True for e in EXCLUSIONS}

    opt = _lazy(tables.get("opt_outs"))
    if opt is not None:
        o = (opt.filter(pl.col("since") <= end)
             .select("person_id", pl.col("benefit").cast(pl.String)).collect()
             .join(adults.lazy().collect(), on="person_id", how="inner"))
        every = o.filter(pl.col("benefit").is_null()).select("famille_id").join(benefits, how="cross")
        one = o.filter(pl.col("benefit").is_in(list(config.benefits))).select("famille_id", "benefit")
        out.append(pl.concat([every, one]).with_columns(pl.lit("opt_out").alias("exclusion")))
    else:
        available["opt_out"] = False

    persons = _lazy(tables.get("persons"))
    gone_cols = [c for c in _GONE_COLUMNS if persons is not None and c in persons.collect_schema().names()]
    if gone_cols:
        gone = (persons.filter(pl.any_horizontal([pl.col(c) <= month for c in gone_cols]))
                .select("person_id").unique().collect().join(adults, on="person_id", how="inner"))
        out.append(gone.select("famille_id").join(benefits, how="cross")
                   .with_columns(pl.lit("deceased_or_gone").alias("exclusion")))
    else:
        available["deceased_or_gone"] = False

    claims = _lazy(tables.get("claims"))
    if claims is not None:
        c = (claims.filter(pl.col("event_date") <= end)
             .select(pl.col("unit_kind").cast(pl.String), qualified("source_agency", "unit_id").alias("unit_id"),
                     "person_id", pl.col("benefit").cast(pl.String), pl.col("event").cast(pl.String), "event_date")
             .collect())
        c = (c.join(adults, on="person_id", how="left")
             .with_columns(pl.when(pl.col("unit_kind") == "famille").then(pl.col("unit_id"))
                           .otherwise(pl.col("famille_id")).alias("famille_id"))
             # an event of one tier is one of the right: read for each of its tiers (``TIERS``)
             .join(_RIGHT, on="benefit", how="left")
             .with_columns(pl.coalesce("_tier", "benefit").alias("benefit")).drop("_tier")
             .filter(pl.col("famille_id").is_not_null() & pl.col("benefit").is_in(list(config.benefits))))
        latest = c.sort("event_date").group_by("famille_id", "benefit").agg(pl.col("event").last())
        pending = latest.filter(pl.col("event") == "pending").select(
            "famille_id", "benefit", pl.lit("pending_claim").alias("exclusion"))
        since = {b: (add_months(month, -config.refusal_months.get(b, 0)),
                     add_months(month, -config.closure_months.get(b, 0))) for b in config.benefits}
        limits = pl.DataFrame({"benefit": list(since), "_refused_from": [v[0] for v in since.values()],
                               "_closed_from": [v[1] for v in since.values()]})
        c = c.join(limits, on="benefit", how="inner")
        refused = c.filter((pl.col("event") == "refused") & (pl.col("event_date") >= pl.col("_refused_from")))
        closed = c.filter((pl.col("event") == "closed") & (pl.col("event_date") >= pl.col("_closed_from")))
        out += [pending,
                refused.select("famille_id", "benefit", pl.lit("recent_refusal").alias("exclusion")),
                closed.select("famille_id", "benefit", pl.lit("recent_closure").alias("exclusion"))]
    else:
        for e in ("pending_claim", "recent_refusal", "recent_closure"):
            available[e] = False
    schema = {"famille_id": pl.String(), "benefit": pl.String(), "exclusion": pl.String()}
    frames = [f.select(pl.col(k).cast(v) for k, v in schema.items()) for f in out]
    found = pl.concat(frames).unique() if frames else pl.DataFrame(schema=schema)
    return found, available
