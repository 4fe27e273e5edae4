"""What detection looks for and how strict it is: the benefits, how each is read off the engine, and the
run's thresholds (one pydantic model, so a run's configuration is validated and recorded)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from nonrecours.schemas.benefits import AMOUNT_BENEFITS as _AMOUNT_BENEFITS
from nonrecours.schemas.benefits import BENEFITS as _BENEFITS
from nonrecours.schemas.benefits import ENGINE_TARGETS as _ENGINE_TARGETS
from nonrecours.schemas.benefits import benefit as catalogue_row
from nonrecours.schemas.codes import AGENCIES as _AGENCIES

__all__ = ["AMOUNT_BENEFITS", "BENEFITS", "ENGINE_TARGETS", "DetectionConfig", "amount_expr", "cash", "entitled_expr"]

BENEFITS: tuple[str, ...] = _BENEFITS
"""The benefits detection flags (the catalogue's codes, schemas.benefits). All are computed per famille (the
CAF unit): the ASPA of a couple is one household amount (CSS art. L815-9), the CSS covers the whole foyer
(CSS art. R861-2), housing aid, AF and ARS are paid to the famille, the AAH and ASI of its members are summed."""

ENGINE_TARGETS: tuple[str, ...] = _ENGINE_TARGETS
"""Rules evaluated for detection (``css_participation_monthly`` gives the CSS participation amount)."""

AMOUNT_BENEFITS: tuple[str, ...] = _AMOUNT_BENEFITS
"""Benefits paid as an amount; the CSS is a coverage (an under-payment makes no sense there)."""


def cash(column: str = "benefit"):  # type: ignore[no-untyped-def]
    """Whether the benefit of each row (``column``) is paid in money (``AMOUNT_BENEFITS``). A coverage's amounts
    (``amount_expr``: the participation the foyer would pay for the CSS with participation, 0 for the free CSS)
    are what it costs the person, not money the person goes without: every sum of money foregone or missing
    (statistics, answers, outreach totals and priorities) counts the cash benefits only, and says « sans objet »
    (null) for a coverage rather than adding its participation, or a 0, as if it were money."""
    import polars as pl

    return pl.col(column).cast(pl.String).is_in(list(AMOUNT_BENEFITS))


def entitled_expr(benefit: str):  # type: ignore[no-untyped-def]
    """Entitlement of a famille from the engine's famille frame: an amount above zero, or the coverage's flag.
    A coverage that another one replaces (CSS with participation when the free CSS is due) is counted only
    when that other one is not due (the two are exclusive; the synthetic truth counts them the same way)."""
    import polars as pl

    b = catalogue_row(benefit)
    if b.kind == "amount":
        return pl.col(b.rule).fill_null(0.0) > 0
    own = pl.col(b.rule).fill_null(False)
    return own & ~pl.col(catalogue_row(b.excludes).rule).fill_null(False) if b.excludes else own


def amount_expr(benefit: str):  # type: ignore[no-untyped-def]
    """Monthly amount (euros) of a famille, null when not entitled: the benefit for an amount (a yearly one,
    the ARS or the chèque énergie, as its monthly equivalent: the year's amount / 12), the monthly
    participation (what the foyer pays) for the CSS with participation, 0 for the free CSS."""
    import polars as pl

    b = catalogue_row(benefit)
    e = entitled_expr(benefit)
    if b.kind == "amount":
        value = pl.col(b.rule).cast(pl.Float64) / (12.0 if b.yearly else 1.0)
    elif b.amount_rule:
        value = pl.col(b.amount_rule).cast(pl.Float64)
    else:
        value = pl.lit(0.0)
    return pl.when(e).then(value).otherwise(None)


def _exclusion_windows() -> dict[str, int]:
    """The catalogue's default exclusion window of each benefit, in months (``Benefit.exclusion_months``)."""
    return {b: catalogue_row(b).exclusion_months for b in BENEFITS}


class DetectionConfig(BaseModel):
    """Thresholds of a detection run.

    ``under_payment_share`` / ``under_payment_min``: a paid unit is under-paid when it receives less than
    ``(1 - share)`` of the least favourable estimate AND at least ``min`` euros less (both, so that small
    rounding and reference-period lags do not flag). ``paid_window``: months before the evaluated month whose
    payments are reported (``paid_before``). ``grace_months``: a payment in that many months before the
    evaluated month still counts as receiving the benefit (extracts lag by a month). ``refusal_months`` /
    ``closure_months``: a refusal or closure that recent excludes the unit, per benefit; by default the
    catalogue's ``exclusion_months`` for both (ASPA, AAH, ASI 6, ARS and chèque énergie 12, the others 3), the
    windows a run takes when run.toml's ``[thresholds.exclusion_months]`` is left out, so that ``nonrecours
    detect`` on a run's workspace flags what the run flagged.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    benefits: tuple[str, ...] = BENEFITS
    under_payment_share: float = Field(0.2, ge=0.0, lt=1.0)
    under_payment_min: float = Field(20.0, ge=0.0)
    paid_window: int = Field(3, ge=0, le=24)
    grace_months: int = Field(0, ge=0, le=12)
    refusal_months: dict[str, int] = Field(default_factory=lambda: _exclusion_windows())
    closure_months: dict[str, int] = Field(default_factory=lambda: _exclusion_windows())
    max_reasons: int = Field(6, ge=2, le=20)
    decisive_unknowns: bool = True
    """Name on each flag the unknowns that decide it alone (``detection.deciding``: one more evaluation, on the
    flagged familles' rows); off, a flag names every unknown its benefit reads."""

    lines_behind_months: int = Field(2, ge=0, le=6)
    """A member whose resource lines at the source declaring every salary (the DRM) stop this many months before
    the month at most, while that source goes on for others and no agency reports them since, may have
    declarations not yet transmitted (an employer's DSN filed late): where the missing months weigh in the
    benefit's reference period, its flags are ``possible`` at most (``detect._lines_behind``). 0: not checked."""
    lines_behind_inputs: tuple[str, ...] = ("salary_net", "invalidity_pension")
    """The monthly inputs whose exhaustive sources (``CoreConfig.exhaustive``: the DRM for salaries, the DRM and the
    CNAM for invalidity pensions) are checked for lines behind (``lines_behind_months``). A salary or an
    invalidity pension does not end without a successor another source reports (unemployment benefit, a
    retirement pension, a salary), so lines stopping with nothing since are more likely late than a stop.
    Unemployment benefit is left out: it ends with the rights (the allocation's duration, Code du travail
    art. L5422-2) with no successor, the very stop a minimum income follows (until 30 November 2026 only the
    salary's sources were checked: a couple whose invalidity pension the CNAM reported until April only was a
    probable prime d'activité)."""
    lines_behind_share: float = Field(1 / 3, gt=0.0, le=1.0)
    """Share of a benefit's reference period (``Benefit.resource_months``) a member's missing resource lines must
    cover for its flags to be ``possible`` at most (``lines_behind_months``, ``detect._lines_behind``): one month of
    a quarter (the RSA, the prime d'activité, the ASPA, the ASI) weighs a third of the resources; one or two months
    of a twelve-month base (the CSS, the housing aid) a twelfth or a sixth, less than the ranges of the estimates
    already carry. Above 0 (0 would cap a famille with no month missing), at most 1 (the whole period)."""

    pension_stop_months: int = Field(3, ge=0, le=12)
    """A member whose retirement pension lines (``CoreConfig.continuing``) stop at least this many months before
    the month, at every source that declared them, while the source goes on for others that long after and no
    agency reports anything of them since (``receipts.pension_lines_stopped``): a pension is paid for life, so its
    stop most likely follows a death or a departure the extracts do not carry; every flag of the famille is
    ``possible`` at most, with a reason saying so (« check before any contact »). Three months: a declaration
    one or two months late (the DRM's lag, a file's last months) is not such a stop; a person whose lines stopped
    that recently is read with the last amount carried (the core's unknowns). 0: not checked."""

    listing_stop_months: int = Field(3, ge=0, le=12)
    """A member whom every file that lists its people each month (``listings``: the CPAM's insured) stops listing at
    least this many months before the month, while the file goes on listing others that long after and no agency
    reports anything of them since (``receipts.listing_stopped``): health insurance covers everyone who works or
    resides in France (CSS art. L160-1), so the stop most likely follows a death, a departure or a move to another
    fund the extracts do not carry; every flag of the famille is ``possible`` at most, with a reason saying so.
    Three months, as ``pension_stop_months``: a file a month or two late is no such stop. 0: not checked. The same
    span tells whether a health fund still knows a person for the CSS it would pay (``receipts.payer_unknown``'s
    ``lately``: a dated line of these months or later, a dossier of its own now); 0: any line of it, of any month."""

    contradicting_payments: tuple[str, ...] = ("rsa", "ppa")
    """Benefits whose payment, where our rules deny it on every value of the unknowns (``paid_not_entitled``),
    shows that our view of the famille's composition or resources is incomplete (e.g. a couple's prime
    d'activité paid while the conjoint's row is missing): the famille's other flags are ``possible`` at most,
    with a reason naming the payment."""

    member_line_payers: tuple[str, ...] | None = None
    """The agencies whose extract layout carries a dossier's payments on its members' lines
    (``ExtractMapping.famille_payments_on_member_lines``: the MSA's default one): such a dossier whose allocataire's
    line is missing shows none of its payments, a flag on it is possible at most. ``run_detect`` fills it from the
    workspace, where ingest recorded the mapping each extract was read with (``workspace_config``); None: the
    agencies' default layouts (``connectors.member_line_payers``), for tables handed to ``detect`` directly. Kept
    sorted and without repeats (the summary records the configuration: the same set, the same bytes)."""

    @field_validator("member_line_payers")
    @classmethod
    def _agencies(cls, v: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if v is None:
            return None
        unknown = sorted(a for a in v if a not in _AGENCIES)
        if unknown:
            raise ValueError(f"unknown agency {unknown[0]!r}; known: {', '.join(_AGENCIES)}")
        return tuple(sorted(set(v)))

    @field_validator("benefits", "contradicting_payments")
    @classmethod
    def _known(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [b for b in v if b not in _BENEFITS]
        if unknown:
            raise ValueError(f"unknown benefit {unknown[0]!r}; known: {', '.join(_BENEFITS)}")
        return v
