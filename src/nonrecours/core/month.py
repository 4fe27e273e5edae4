"""The join core's product for one evaluated month: engine inputs plus what is known of each value.

Detection needs more than the engine inputs: for every value the rules read it must know whether an agency
observed it (which agency, which month) or whether it is unknown, and then the range it may take. This
module fixes that contract; :func:`nonrecours.core.build_month` fills it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl

from nonrecours.core.resources import CoreConfig
from nonrecours.engine import Inputs
from nonrecours.schemas.zonage import unmodelled_territory

__all__ = ["PROVENANCE_SCHEMA", "UNKNOWNS_SCHEMA", "CoreMonth", "agency_per_row"]

UNKNOWNS_SCHEMA: dict[str, pl.DataType] = {
    "entity": pl.String(),      # individu | famille | foyer_fiscal | menage
    "id": pl.String(),          # the unit or person id (a workspace pseudonym)
    "month": pl.Date(),         # the month of a monthly input; null: a static input, or every month read
    "input": pl.String(),       # the rule input variable (nonrecours.rules.inputs)
    "low": pl.Float64(),        # smallest plausible value (booleans: 0/1; null for a text input or no bound)
    "central": pl.Float64(),    # the value put in ``CoreMonth.inputs``
    "high": pl.Float64(),       # largest plausible value
    "reason": pl.String(),      # why it is unknown, in plain French (no identifier, no value)
    "informed": pl.Boolean(),   # true: the central value is estimated from what an agency sent (a declared
                                # yearly income); false or null: a conventional value no data supports
}
"""One row per input value no agency supplied and that the rules read. The engine inputs carry the central
value; detection evaluates the low and high ends too. A flag may rest on an *informed* central value
(``probable``), never on a conventional one: an uninformed unknown that decides the entitlement makes the flag
``possible`` at most."""

PROVENANCE_SCHEMA: dict[str, pl.DataType] = {
    "entity": pl.String(),
    "id": pl.String(),
    "month": pl.Date(),         # null for a static input
    "input": pl.String(),
    "kind": pl.String(),        # observed | estimated | unknown | setting (core.inputs.SETTING_INPUTS: no data)
    "source_agency": pl.String(),   # null when unknown
    "source_month": pl.Date(),  # the extract month the value comes from, null when unknown
}
"""Where each engine input value comes from: observed in an agency's extract, estimated from another value
(an annual income spread over months, say), or unknown (then it is also in ``unknowns``)."""


def agency_per_row(frame: pl.DataFrame, column: str = "source_agency") -> pl.DataFrame:
    """``frame`` with one agency per row in ``column``: a payments fact names every exhaustive payer of the run in
    one value (« caf,msa »: none of them paid the famille), which a reader quotes agency by agency; rows naming
    none are dropped."""
    return (frame.with_columns(pl.col(column).str.split(",")).explode(column)
            .with_columns(pl.col(column).str.strip_chars()).filter(pl.col(column) != ""))


@dataclass
class CoreMonth:
    """Engine inputs for ``month`` and what is known of them.

    ``conflicts``: one row per kind of source conflict met while reconciling households (columns ``kind``,
    ``count``); ``counts``: row counts of each step, for the run manifest.
    """

    month: dt.date
    inputs: Inputs
    unknowns: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=UNKNOWNS_SCHEMA))
    provenance: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=PROVENANCE_SCHEMA))
    conflicts: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema={"kind": pl.String(), "count": pl.Int64()}))
    counts: dict[str, int] = field(default_factory=dict)
    clusters: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema={"person_id": pl.String(), "cluster_id": pl.String()}))
    """(person_id, cluster_id): people linked by any unit, the partition key (``core.clusters``), built from
    ``inputs.individu``: a copy whose inputs change anyone's units must rebuild it (detection evaluates a corner on
    the households it changes, read here as closed)."""
    months_read: tuple[dt.date, ...] = ()
    """The months the rules read for ``month`` (its look-back and itself): where an unknown given for every month
    is spelled out when no monthly row holds those months (a workspace with no resource row at all)."""
    config: CoreConfig = field(default_factory=CoreConfig, repr=False)
    resource_windows: pl.DataFrame | None = field(default=None, repr=False)
    """(agency, w_from, w_to): the months each agency's resource rows span (``core.resources.resource_windows``),
    of the whole population in a partitioned run (``PopulationFacts``): how far a source's extract reaches is a
    fact of the extract, not of a partition."""
    """The configuration the month was built with (``build_month``'s): another month of the same tables (a yearly
    benefit's payment due, ``detection``) is built with it too."""
    listings_reach: dict[str, dt.date] = field(default_factory=dict, repr=False)
    """The last month each agency's extract lists anyone in (``core.inputs.listings_reach``, of the whole
    population: ``PopulationFacts``): detection reads a person's stop of listing against it."""
    payments_reach: dict[str, dt.date] = field(default_factory=dict, repr=False)
    """The extracts of payments that stop before the month, and their last month (``core.payments_reach``, of the
    whole population: ``PopulationFacts``): detection reads that month as the month's."""
    payment_holes: dict[str, tuple[dt.date, ...]] = field(default_factory=dict, repr=False)
    """The months an extract of payments lost (``core.inputs.payment_holes``, of the whole population): each
    famille's payments of the month before are carried to them."""

    def outside_the_rules(self) -> tuple[pl.DataFrame, int]:
        """The familles (``famille_id``) one of whose members lives, as the core's ménage says, in a territory
        whose law the rules do not model (``schemas.zonage.UNMODELLED_TERRITORIES``: Mayotte's RSA is adapted by
        CASF art. L542-6 and R541-1, Saint-Pierre-et-Miquelon and the collectivities of Constitution art. 74 have
        their own), and how many persons they hold. The mainland's amounts there would be no law's: the rules stage
        and detection leave them out, counted. A commune no agency gives is no evidence either way (evaluated,
        ``residence_dom`` unknown)."""
        individu = self.inputs.individu.select("person_id", "famille_id", "menage_id")
        menage = self.inputs.menage
        if menage is None:
            return pl.DataFrame(schema={"famille_id": individu.schema["famille_id"]}), 0
        away = menage.filter(unmodelled_territory(pl.col("depcom")).fill_null(False)).select("menage_id")
        familles = individu.join(away, on="menage_id", how="semi").select("famille_id").unique().sort("famille_id")
        return familles, individu.join(familles, on="famille_id", how="semi").height

    def __repr__(self) -> str:  # never print data
        return (f"CoreMonth({self.month:%Y-%m}, {self.inputs!r}, unknowns={self.unknowns.height}, "
                f"provenance={self.provenance.height})")
