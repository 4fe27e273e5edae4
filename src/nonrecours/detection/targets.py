"""What detection looks for and how strict it is: the benefits, how each is read off the engine, and the
run's thresholds (one pydantic model, so a run's configuration is validated and recorded)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["BENEFITS", "ENGINE_TARGETS", "DetectionConfig", "amount_expr", "entitled_expr"]

BENEFITS: tuple[str, ...] = ("rsa", "ppa", "aspa", "css_free", "css_participation")
"""The benefits detection flags. All are computed per famille (the CAF unit): the ASPA of a couple is one
household amount (CSS art. L815-9) and the CSS covers the whole foyer (CSS art. R861-2)."""

ENGINE_TARGETS: tuple[str, ...] = ("rsa", "ppa", "aspa", "css_free", "css_participation",
                                   "css_participation_monthly")
"""Rules evaluated for detection (``css_participation_monthly`` gives the CSS participation amount)."""

AMOUNT_BENEFITS = ("rsa", "ppa", "aspa")
"""Benefits paid as a monthly amount; the CSS is a coverage (an under-payment makes no sense there)."""


def entitled_expr(benefit: str):  # type: ignore[no-untyped-def]
    """Entitlement of a famille from the engine's famille frame. CSS with participation is counted only
    when the free CSS is not due (the two are exclusive; the synthetic truth counts them the same way)."""
    import polars as pl

    if benefit in AMOUNT_BENEFITS:
        return pl.col(benefit).fill_null(0.0) > 0
    if benefit == "css_free":
        return pl.col("css_free").fill_null(False)
    if benefit == "css_participation":
        return pl.col("css_participation").fill_null(False) & ~pl.col("css_free").fill_null(False)
    raise ValueError(f"unknown benefit {benefit!r}")


def amount_expr(benefit: str):  # type: ignore[no-untyped-def]
    """Monthly amount (euros) of a famille: the benefit for RSA/PPA/ASPA, 0 for the free CSS, the monthly
    participation (what the foyer pays) for the CSS with participation; null when not entitled."""
    import polars as pl

    e = entitled_expr(benefit)
    if benefit in AMOUNT_BENEFITS:
        value = pl.col(benefit).cast(pl.Float64)
    elif benefit == "css_free":
        value = pl.lit(0.0)
    else:
        value = pl.col("css_participation_monthly").cast(pl.Float64)
    return pl.when(e).then(value).otherwise(None)


class DetectionConfig(BaseModel):
    """Thresholds of a detection run.

    ``under_payment_share`` / ``under_payment_min``: a paid unit is under-paid when it receives less than
    ``(1 - share)`` of the least favourable estimate AND at least ``min`` euros less (both, so that small
    rounding and reference-period lags do not flag). ``paid_window``: months before the evaluated month whose
    payments are reported (``paid_before``). ``grace_months``: a payment in that many months before the
    evaluated month still counts as receiving the benefit (extracts lag by a month). ``refusal_months`` /
    ``closure_months``: a refusal or closure that recent excludes the unit, per benefit.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    benefits: tuple[str, ...] = BENEFITS
    under_payment_share: float = Field(0.2, ge=0.0, lt=1.0)
    under_payment_min: float = Field(20.0, ge=0.0)
    paid_window: int = Field(3, ge=0, le=24)
    grace_months: int = Field(0, ge=0, le=12)
    refusal_months: dict[str, int] = Field(default_factory=lambda: {b: 6 for b in BENEFITS})
    closure_months: dict[str, int] = Field(default_factory=lambda: {b: 3 for b in BENEFITS})
    max_reasons: int = Field(6, ge=2, le=20)
