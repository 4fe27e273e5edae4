"""Family benefits and housing aid the CAF (or the MSA for farm households) pays in the truth.

The truth's own payments, before any take-up is drawn: a *stylised* model, stated here. When the extracts
are written from entitlements (``synth.extracts.write_extracts``), a benefit the draw covers (every benefit of
the catalogue with the rules' entitlements) is paid to its takers at the rules' amount instead; these
stylised payments remain for the others (an OpenFisca-labelled truth: RSA, PPA, ASPA and CSS only).
- allocations familiales (CSS art. L521-1, D521-1): 32% of the BMAF for two children under 20,
  73% for three, +41% per further child; +16% per child aged 14 or more (not the eldest of two).
  The income modulation (halved or quartered above ceilings) is not applied.
- PAJE allocation de base (CSS art. L531-3): 41.65% of the BMAF while the youngest child is under 3,
  when the family's monthly income is under 3,000 EUR + 600 EUR per child (stylised ceiling).
- ASF (CSS art. L523-1): 42.20% of the BMAF per child under 20 to a lone parent receiving no alimony.
- complément familial (CSS art. L522-1, D522-1): 41.65% of the BMAF when three children are aged 3 to 20,
  under the PAJE's stylised ceiling (the CF's ceiling is the allocation de base's, CSS art. L531-3), and
  no allocation de base is paid (CSS art. L532-1). The majorated rate and the differential amount are not
  applied.
- aide au logement: a stylised APL for tenants and foyer residents (zone 3 ceilings, order of
  magnitude of the 2024 scale): min(rent, ceiling) + charges - participation, dropped under 10 EUR.
Every family entitled is paid (take-up 100%), as the issue asks for family benefits and housing aid.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from nonrecours.schemas import BENEFITS_PAID, HOUSING_STATUSES
from nonrecours.synth.households import PersonKind
from nonrecours.synth.income import MonthlyIncome, to_amount
from nonrecours.synth.people import month_date

__all__ = ["BMAF", "bmaf_for", "build_family_benefits"]

_RENTING = ("tenant", "tenant_furnished", "social_tenant", "foyer")

BMAF: tuple[tuple[dt.date, float], ...] = (
    (dt.date(2022, 7, 1), 439.17),   # Art. L551-1 CSS
    (dt.date(2023, 4, 1), 445.93),   # Instruction DSS/2B/2023/41 du 24 mars 2023
    (dt.date(2024, 4, 1), 466.44),   # Instruction DSS/2B/2024/43 du 20 mars 2024
    (dt.date(2025, 4, 1), 474.37),   # Instruction DSS/2A/2C/2025/32 du 7 mars 2025
    (dt.date(2026, 4, 1), 478.16),   # Instruction DSS/2A/2026/36 du 26 mars 2026
)
"""Base mensuelle de calcul des allocations familiales."""


def bmaf_for(month_idx: np.ndarray) -> np.ndarray:
    """BMAF in force for each month index (year * 12 + month - 1)."""
    out = np.full(month_idx.shape, np.nan)
    for start, value in BMAF:
        out = np.where(month_idx >= start.year * 12 + start.month - 1, value, out)
    return out


def build_family_benefits(
    fam_local: np.ndarray,
    kind: np.ndarray,
    birth_idx: np.ndarray,
    agricultural: np.ndarray,
    income: MonthlyIncome,
    housing_status: np.ndarray,
    rent: np.ndarray,
    *,
    m_idx: np.ndarray,
    famille_offset: int,
    provenance: dict[str, object],
) -> pl.DataFrame:
    """Monthly af, cf, paje_base, asf and aide_logement per famille, in the canonical benefits_paid shape.

    ``fam_local`` numbers each person's famille within the chunk as 2 × household + (second family);
    sums per famille and month are bincounts over that number (no group_by over person-months).
    """
    n_slots = 2 * housing_status.shape[0]
    months = m_idx.shape[0]
    slot = (fam_local[:, None] * months + np.arange(months)[None, :]).ravel()

    def per_famille(values: np.ndarray) -> np.ndarray:
        return np.bincount(slot, weights=values.ravel().astype(np.float64),
                           minlength=n_slots * months).reshape(n_slots, months)

    age = (m_idx[None, :] - birth_idx[:, None]) // 12
    born = m_idx[None, :] >= birth_idx[:, None]
    is_child = (kind == PersonKind.CHILD)[:, None] & born
    adult = (kind != PersonKind.CHILD)[:, None] & np.ones((1, months), dtype=bool)
    n_af = per_famille(is_child & (age < 20))
    n_14 = per_famille(is_child & (age < 20) & (age >= 14))
    under_3 = per_famille(is_child & (age < 3)) > 0
    n_cf = per_famille(is_child & (age >= 3) & (age < 21))
    n_children = per_famille(is_child & (age < 25))
    adults = per_famille(adult)
    size = per_famille(born)
    fam_income = per_famille(np.where(adult, income.income, 0.0))
    fam_alimony = per_famille(income.alimony)
    second_family = (np.arange(n_slots) % 2 == 1)[:, None]
    agri = per_famille(agricultural[:, None] & np.ones((1, months), dtype=bool)) > 0
    b = bmaf_for(m_idx)[None, :]

    af_rate = np.where(n_af < 2, 0.0, np.where(n_af == 2, 0.32, 0.73 + 0.41 * (n_af - 3)))
    majorations = np.where(n_af < 2, 0, np.where(n_af == 2, np.minimum(n_14, 1), n_14))
    af = np.where(n_af >= 2, b * af_rate + b * 0.16 * majorations, 0.0)
    paje = np.where(under_3 & (fam_income < 3000 + 600 * n_children), b * 0.4165, 0.0)
    cf = np.where((n_cf >= 3) & (paje == 0) & (fam_income < 3000 + 600 * n_children), b * 0.4165, 0.0)
    asf = np.where((adults == 1) & ~second_family & (fam_alimony == 0), b * 0.422 * n_af, 0.0)
    hh_status = np.repeat(housing_status, 2)[:, None]
    renting = np.isin(hh_status, [HOUSING_STATUSES.index(s) for s in _RENTING]) & ~second_family
    hh_rent = np.repeat(rent, 2, axis=0)
    ceiling = 320.0 + 70.0 * (size - 1)
    charges = 57.0 + 13.0 * n_children
    participation = 38.0 + 0.31 * np.maximum(fam_income - (560.0 + 230.0 * (size - 1)), 0)
    al = np.rint(np.minimum(hh_rent, ceiling) + charges - participation)
    al = np.where(renting & (al >= 10), np.minimum(al, hh_rent + charges), 0.0)

    exists = (adults + n_children) > 0
    names = ("af", "cf", "paje_base", "asf", "aide_logement")
    stacked = np.stack([af, cf, paje, asf, al], axis=2) * exists[:, :, None]   # slots × months × benefits
    cents = np.rint(stacked * 100).astype(np.int64).ravel()
    keep = np.flatnonzero(cents > 0)
    slot_no = keep // (months * len(names))
    month_no = (keep // len(names)) % months
    schema = BENEFITS_PAID.schema
    return pl.DataFrame({
        "famille_no": famille_offset + slot_no,
        "month_idx": m_idx[month_no],
        "benefit": pl.Series(names, dtype=schema["benefit"]).gather(keep % len(names)),
        "cents": cents[keep],
        "agri": agri[slot_no, month_no],
    }).select(
        pl.lit("famille", dtype=schema["unit_kind"]).alias("unit_kind"),
        (pl.lit("F") + pl.col("famille_no").cast(pl.String).str.zfill(9)).alias("unit_id"),
        pl.lit(None, dtype=pl.String).alias("person_id"),
        "benefit",
        month_date(pl.col("month_idx")).alias("month"),
        to_amount(pl.col("cents")).alias("amount"),
        pl.when(pl.col("agri")).then(pl.lit("msa")).otherwise(pl.lit("caf"))
        .cast(schema["paying_agency"]).alias("paying_agency"),
        *[pl.lit(v, dtype=schema[k]).alias(k) for k, v in provenance.items()],
    )
