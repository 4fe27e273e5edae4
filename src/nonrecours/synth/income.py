"""Monthly resources and housing over the window, as person × month matrices drawn in bulk.

Activity is drawn per adult (full-time, part-time, unemployment spells, long-term jobseekers, inactive,
invalidity, self-employment, retirement, students with small jobs); each status gives monthly amounts
with realistic variation: a yearly raise at a random month, noise, December bonuses, spells of
unemployment benefit replacing the salary, pensions revalued each January. Generator assumptions, not
law: they are stated here and tested against their targets.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from nonrecours.schemas import HOUSING, HOUSING_STATUSES, RESOURCES
from nonrecours.schemas.codes import NET_TO_TAXABLE
from nonrecours.synth.households import HOUSEHOLD_TYPES, PersonKind
from nonrecours.synth.people import month_date, month_index

__all__ = [
    "ACTIVITY",
    "CATEGORY_B_BELOW",
    "HOUSING_SHARES",
    "JOBSEEKER_CATEGORIES",
    "REGISTRATION_SHARES",
    "TAXABLE_SALARY_RATIO",
    "MonthlyIncome",
    "build_housing",
    "build_resources",
    "to_amount",
]

ACTIVITY = ("none", "full_time", "part_time", "spells", "jobseeker", "inactive", "invalidity",
            "self_employed", "retired", "student")
_SHARES_WORKING_AGE = {"full_time": 0.50, "part_time": 0.14, "spells": 0.10, "jobseeker": 0.08,
                       "inactive": 0.09, "invalidity": 0.03, "self_employed": 0.06}
_SHARES_60_64 = {"full_time": 0.30, "part_time": 0.08, "jobseeker": 0.07, "inactive": 0.07,
                 "invalidity": 0.03, "retired": 0.45}
SMIC_NET_FLOOR = 1400.0
"""Monthly net minimum wage, rounded (about 1,398 EUR in 2024 to 1,443 EUR in 2026)."""
TAXABLE_SALARY_RATIO = NET_TO_TAXABLE["salary_net"]
"""Taxable / net salary (schemas.codes.NET_TO_TAXABLE)."""
PENSION_REVALUATION = {2025: 1.022, 2026: 1.009}
"""January revaluation of basic pensions assumed by the generator."""
JOBSEEKER_CATEGORIES = ("A", "B", "C", "D", "E")
"""France Travail's registration categories (arrêté du 5 février 1992 as amended): A no work at all, B/C reduced
activity (B up to 78 hours in the month, C more), D/E not immediately available (training, sickness; subsidised
job). The generator draws A, B and C."""
REGISTRATION_SHARES = {"jobseeker": 0.85, "part_time": 0.15}
"""Generator assumptions: share of long-term jobseekers registered at France Travail when they draw no ARE (the
others have stopped renewing their registration), and of part-time workers registered to look for more hours
(categories B/C). Every month with ARE is registered (the ARE is paid to registered jobseekers only, Code du
travail art. L5421-1 and L5411-1, 1°)."""
CATEGORY_B_BELOW = 0.5 * 1400.0
"""Net salary below which a registered worker is in category B (up to 78 hours a month, about half a full-time
minimum wage), above it C."""


def to_amount(cents: pl.Expr) -> pl.Expr:
    """Integer cents to exact ``Decimal(12, 2)`` euros (no float rounding in between)."""
    return (cents.cast(pl.Decimal(14, 2)) / 100).cast(pl.Decimal(12, 2))


def _draw_status(rng: np.random.Generator, age: np.ndarray, kind: np.ndarray, student: np.ndarray) -> np.ndarray:
    p = age.shape[0]
    status = np.zeros(p, dtype=np.int64)
    for mask, shares in (((age >= 18) & (age < 60), _SHARES_WORKING_AGE), ((age >= 60) & (age < 65), _SHARES_60_64)):
        codes = np.array([ACTIVITY.index(k) for k in shares])
        draw = codes[rng.choice(codes.shape[0], size=p, p=list(shares.values()))]
        status = np.where(mask, draw, status)
    status = np.where(age >= 65, ACTIVITY.index("retired"), status)
    status = np.where(student & (age >= 18), ACTIVITY.index("student"), status)
    # Children still in their parents' family: under 18 no income; 18+ non-students mostly work or seek.
    status = np.where((kind == PersonKind.CHILD) & (age < 18), 0, status)
    return status


def build_resources(
    rng: np.random.Generator,
    facts: pl.DataFrame,
    *,
    window_start: dt.date,
    months: int,
    provenance: dict[str, object],
) -> tuple[pl.DataFrame, MonthlyIncome, pl.DataFrame]:
    """Return (resources in canonical long form, per-person monthly totals used by the CAF payments, months
    registered at France Travail by the person's own request: ``registrations``)."""
    p = facts.height
    age = facts["age"].to_numpy()
    kind = facts["kind"].to_numpy()
    female = facts["female"].to_numpy()
    start_idx = month_index(window_start)
    m_idx = start_idx + np.arange(months)
    year = m_idx // 12
    status = _draw_status(rng, age, kind, facts["student"].to_numpy())
    is_ = {name: status == ACTIVITY.index(name) for name in ACTIVITY}

    # Salaries: a full-time base, part-time share, yearly raise at a random month, noise, bonuses.
    ft_base = np.maximum(np.exp(rng.normal(np.log(1950), 0.33, p)), SMIC_NET_FLOOR)
    base = np.where(is_["part_time"], ft_base * rng.uniform(0.35, 0.8, p), ft_base)
    base = np.where(is_["student"], rng.uniform(250, 900, p) * (rng.random(p) < 0.35), base)
    raise_month = rng.integers(0, months, p)
    raise_rate = rng.uniform(0.0, 0.05, p)
    grid = np.arange(months)[None, :]
    factor = 1 + raise_rate[:, None] * (grid >= raise_month[:, None])
    noise = 1 + rng.normal(0, 0.025, (p, months))
    december = (m_idx % 12 == 11)[None, :] & (rng.random(p) < 0.3)[:, None]
    salary = base[:, None] * factor * noise * (1 + december * rng.uniform(0.3, 1.0, p)[:, None])
    works = is_["full_time"] | is_["part_time"] | is_["spells"] | is_["student"]
    salary = np.where(works[:, None], salary, 0.0)

    # Unemployment spells replace the salary by ARE (about 72% of the net salary) for 2 to 10 months.
    spell_start = rng.integers(-4, months, p)
    spell_len = rng.integers(2, 11, p)
    in_spell = is_["spells"][:, None] & (grid >= spell_start[:, None]) & (grid < (spell_start + spell_len)[:, None])
    are = np.where(in_spell, base[:, None] * 0.72, 0.0)
    salary = np.where(in_spell, 0.0, salary)
    # Long-term jobseekers: some still draw ARE for a few months, then nothing.
    rights_end = np.where(rng.random(p) < 0.4, rng.integers(1, 13, p), 0)
    are = np.where(is_["jobseeker"][:, None] & (grid < rights_end[:, None]),
                   rng.uniform(900, 1300, p)[:, None], are)

    # Self-employment: irregular months, some at zero.
    self_emp = np.zeros((p, months))
    se = np.flatnonzero(is_["self_employed"])
    self_emp[se] = np.maximum(rng.normal(1300, 700, (se.shape[0], months)), 0) * (
        rng.random((se.shape[0], months)) > 0.15)

    # Pensions: gross by sex, a tail of small pensions (the ASPA population), net after CSG/CRDS/CASA.
    gross = np.exp(rng.normal(np.where(female, np.log(1350), np.log(1750)), 0.42, p))
    gross = np.where(rng.random(p) < 0.07, rng.uniform(250, 950, p), gross)
    reval = np.ones(months)
    for y, rate in PENSION_REVALUATION.items():
        reval = reval * np.where(year >= y, rate, 1.0)
    # Values are those of the window's last year; earlier years are deflated by later revaluations.
    reval = reval / reval[-1]
    retired = is_["retired"]
    pension_gross = np.where(retired[:, None], gross[:, None] * reval[None, :], 0.0)
    net_rate = np.where(pension_gross < 1100, 0.995, np.where(pension_gross < 1650, 0.935, 0.909))
    pension_net = pension_gross * net_rate

    invalidity = np.where(is_["invalidity"][:, None], rng.uniform(450, 1150, p)[:, None], 0.0)
    htype = facts["htype"].to_numpy()
    lone_parent_adult = (htype == HOUSEHOLD_TYPES.index("lone_parent")) & (kind == PersonKind.ADULT1)
    alimony = np.where((lone_parent_adult & (rng.random(p) < 0.35))[:, None],
                       (170.0 * facts["n_children"].to_numpy())[:, None], 0.0)

    # Nobody earns before birth: people born during the window are babies, with no status drawn.
    matrices = {
        "salary_net": salary,
        "salary_taxable": salary * TAXABLE_SALARY_RATIO,
        "unemployment_benefit": are,
        "pension_net": pension_net,
        "pension_gross": pension_gross,
        "invalidity_pension": invalidity,
        "alimony": alimony,
        "self_employment": self_emp,
    }
    cents = np.empty((p, months, len(matrices)), dtype=np.int64)  # already in (person, month, kind) order
    for i, v in enumerate(matrices.values()):
        cents[:, :, i] = np.rint(v * 100)
    flat = cents.ravel()
    keep = np.flatnonzero(flat > 0)
    n_kinds = len(matrices)
    pidx = keep // (months * n_kinds)
    midx = start_idx + (keep // n_kinds) % months
    kidx = keep % n_kinds
    kind_names = list(matrices)
    resources = pl.DataFrame({
        "person_id": facts["person_id"].gather(pidx),
        "month_idx": midx,
        "kind": pl.Series(kind_names, dtype=RESOURCES.schema["kind"]).gather(kidx),
        "cents": flat[keep],
    }).select(
        "person_id", month_date(pl.col("month_idx")).alias("month"), "kind",
        to_amount(pl.col("cents")).alias("amount"),
        *[pl.lit(v, dtype=RESOURCES.schema[k]).alias(k) for k, v in provenance.items()],
    )
    k = {name: i for i, name in enumerate(kind_names)}
    income = (cents[:, :, k["salary_net"]] + cents[:, :, k["unemployment_benefit"]] + cents[:, :, k["pension_net"]]
              + cents[:, :, k["invalidity_pension"]] + cents[:, :, k["self_employment"]]
              + cents[:, :, k["alimony"]]) / 100
    registrations = _registrations(rng, facts["person_id"], is_, cents[:, :, k["unemployment_benefit"]] > 0,
                                   cents[:, :, k["salary_net"]] / 100, start_idx)
    return resources, MonthlyIncome(income=income, alimony=cents[:, :, k["alimony"]] / 100), registrations


def _registrations(rng: np.random.Generator, person_id: pl.Series, is_: dict[str, np.ndarray], are: np.ndarray,
                   salary: np.ndarray, start_idx: int) -> pl.DataFrame:
    """Months each person is registered at France Travail on their own request (Code du travail L5411-1, 1°):
    person_id, month, category (A/B/C from the month's salary) and registered_on (first day of the current
    registration; drawn 1 to 36 months before the window for someone registered at its start).

    Drawn after every other draw of the stream, so the resources do not depend on it.
    """
    p = are.shape[0]
    u = rng.random(p)
    before = rng.integers(1, 37, p)
    day = rng.integers(1, 29, p)
    own = ((is_["jobseeker"] & (u < REGISTRATION_SHARES["jobseeker"]))
           | (is_["part_time"] & (u < REGISTRATION_SHARES["part_time"])))
    registered = are | own[:, None]
    pidx, midx = np.nonzero(registered)
    sal = salary[pidx, midx]
    frame = pl.DataFrame({
        "person_id": person_id.gather(pidx), "p": pidx, "m": midx,
        "category": np.where(sal <= 0, "A", np.where(sal < CATEGORY_B_BELOW, "B", "C")),
        "before": before[pidx], "day": day[pidx],
    })
    # a registration runs over consecutive months: its first month, or before the window if it starts with it
    frame = frame.with_columns((pl.col("m") - pl.int_range(pl.len()).over("p")).alias("run"))
    frame = frame.with_columns(pl.col("m").min().over("p", "run").alias("first"))
    start = pl.when(pl.col("first") == 0).then(start_idx - pl.col("before")).otherwise(start_idx + pl.col("first"))
    return frame.select(
        "person_id", month_date(start_idx + pl.col("m")).alias("month"),
        pl.col("category").cast(pl.Enum(JOBSEEKER_CATEGORIES)),
        month_date(start).dt.offset_by(pl.format("{}d", pl.col("day") - 1)).alias("registered_on"),
    )


@dataclass(frozen=True)
class MonthlyIncome:
    """Per person × month totals (euros) that the CAF payments need."""

    income: np.ndarray
    alimony: np.ndarray


HOUSING_SHARES = {
    # status: (share for households under 65, share for pensioner households)
    "owner": (0.30, 0.68),
    "owner_with_loan": (0.24, 0.04),
    "tenant": (0.27, 0.14),
    "tenant_furnished": (0.04, 0.01),
    "social_tenant": (0.09, 0.08),
    "free": (0.045, 0.04),
    "foyer": (0.01, 0.01),
    "homeless": (0.005, 0.0),
}

SHARED_RENTAL_SHARES = {
    # people living alone who rent privately: (colocation, room) shares, by age and studies of the adult
    "student": (0.30, 0.12),
    "under_30": (0.15, 0.05),
    "30_to_64": (0.04, 0.02),
}
"""Assumed orders of magnitude (no published joint table): students and young adults away from their parents
share flats often and rent rooms (chambres chez l'habitant, chambres de service) sometimes; older adults
rarely. Only private tenants (``tenant``, ``tenant_furnished``) alone in their ménage, as the CAF sees a
colocataire: his own dossier, his share of the rent. A room is let furnished three times in four."""


LOAN_YEARS = 20
"""Loans of accédants still being repaid were signed up to this many years before the window's first month."""
LOAN_RECENCY = 2.0
"""The years since signature are ``LOAN_YEARS * u ** LOAN_RECENCY`` (u uniform): loans being repaid are more
often recent ones (the older have ended, been repaid early or renegotiated; and 2019-2021 were record years of
lending). With the window starting in July 2024 (the demo's), 43 % of them were signed before 2018 (the housing
aid in accession stays open for them: loi de finances pour 2018, art. 126), most after."""


def build_housing(
    rng: np.random.Generator,
    n_households: int,
    household_offset: int,
    pensioner: np.ndarray,
    size: np.ndarray,
    *,
    window_start: dt.date,
    months: int,
    provenance: dict[str, object],
    status_out: np.ndarray,
    rent_out: np.ndarray,
    age: np.ndarray | None = None,
    student: np.ndarray | None = None,
) -> pl.DataFrame:
    """Housing of each ménage for every month: status, rent (loan repayment for owners with a loan), and for
    a private tenant alone whether the rent is a colocataire's share or the dwelling a room
    (``SHARED_RENTAL_SHARES``, by ``age`` and ``student`` of the household's first adult; none without them).

    Rents are revised each January by 3% (IRL order of magnitude); loans are flat. ``status_out``
    (households) and ``rent_out`` (households × months) receive the drawn values for the CAF payments.
    The colocations and rooms are drawn after everything else (the other households' draws are unchanged), then
    the day each accédant's loan was signed (``loan_date``, see ``LOAN_RECENCY``; null for the other statuses).
    """
    names = list(HOUSING_SHARES)
    young_p = np.array([v[0] for v in HOUSING_SHARES.values()])
    old_p = np.array([v[1] for v in HOUSING_SHARES.values()])
    draw_young = rng.choice(len(names), size=n_households, p=young_p / young_p.sum())
    draw_old = rng.choice(len(names), size=n_households, p=old_p / old_p.sum())
    status = np.where(pensioner, draw_old, draw_young)
    # Homeless and foyer only for people alone.
    alone = size == 1
    status = np.where(~alone & np.isin(status, [names.index("homeless"), names.index("foyer")]),
                      names.index("tenant"), status)
    surface = 28 + 17 * (size - 1) + rng.normal(0, 8, n_households)
    per_m2 = np.select(
        [status == names.index("tenant"), status == names.index("tenant_furnished"),
         status == names.index("social_tenant")],
        [rng.uniform(7.0, 10.5, n_households), rng.uniform(11, 15, n_households), rng.uniform(5.0, 6.8, n_households)],
        0.0,
    )
    rent = np.maximum(surface, 15) * per_m2
    rent = np.where(status == names.index("foyer"), rng.uniform(380, 560, n_households), rent)
    rent = np.where(status == names.index("owner_with_loan"), rng.uniform(450, 1250, n_households), rent)
    colocation, chambre = _shared_rentals(rng, names, status, alone, age, student)
    # a room is let furnished three times in four; the rent is the share (colocation) or the room's
    furnish = chambre & (rng.random(n_households) < 0.75)
    status = np.where(furnish, names.index("tenant_furnished"), status)
    shared_m2 = np.where(status == names.index("tenant_furnished"), rng.uniform(11, 15, n_households),
                         rng.uniform(7.0, 10.5, n_households))
    rent = np.where(colocation, rng.uniform(14, 24, n_households) * shared_m2, rent)  # own room + common share
    rent = np.where(chambre, rng.uniform(9, 16, n_households) * shared_m2 * 1.15, rent)  # small: dearer per m²
    days_ago = np.floor(LOAN_YEARS * 365.25 * rng.random(n_households) ** LOAN_RECENCY).astype(np.int64)
    loan_days = (window_start - dt.date(1970, 1, 1)).days - days_ago
    start_idx = month_index(window_start)
    m_idx = start_idx + np.arange(months)
    revision = np.cumprod(np.where((m_idx % 12 == 0) & (np.arange(months) > 0), 1.03, 1.0))
    is_loan = status == names.index("owner_with_loan")
    rent_m = rent[:, None] * np.where(is_loan[:, None], 1.0, revision[None, :])
    cents = np.rint(rent_m * 100).astype(np.int64)
    rent_out[...] = cents / 100
    status_out[...] = np.array([HOUSING_STATUSES.index(n) for n in names])[status]  # canonical codes
    hh = np.repeat(household_offset + np.arange(n_households), months)
    df = pl.DataFrame({
        "hh": hh,
        "month_idx": np.tile(m_idx, n_households),
        "status": np.repeat(status, months),
        "cents": cents.ravel(),
        "colocation": np.repeat(colocation, months),
        "chambre": np.repeat(chambre, months),
        "loan_days": np.repeat(np.where(status == names.index("owner_with_loan"), loan_days, -1), months),
    })
    return df.select(
        (pl.lit("M") + pl.col("hh").cast(pl.String).str.zfill(9)).alias("menage_id"),
        month_date(pl.col("month_idx")).alias("month"),
        pl.col("status").replace_strict(dict(enumerate(names)), return_dtype=pl.String)
        .cast(pl.Enum(HOUSING_STATUSES)).alias("status"),
        to_amount(pl.col("cents")).alias("rent"),
        "colocation",
        "chambre",
        pl.when(pl.col("loan_days") >= 0).then(pl.col("loan_days")).cast(pl.Int32).cast(pl.Date).alias("loan_date"),
        *[pl.lit(v, dtype=HOUSING.schema[k]).alias(k) for k, v in provenance.items()],
    )


def _shared_rentals(rng: np.random.Generator, names: list[str], status: np.ndarray, alone: np.ndarray,
                    age: np.ndarray | None, student: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(colocation, chambre) per household, exclusive: a private tenant alone, by its adult's age and studies."""
    n = status.shape[0]
    u = rng.random(n)
    if age is None or student is None:
        return np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    private = np.isin(status, [names.index("tenant"), names.index("tenant_furnished")]) & alone
    group = np.where(student, 0, np.where(age < 30, 1, np.where(age < 65, 2, -1)))
    shares = np.array(list(SHARED_RENTAL_SHARES.values()))
    p_coloc = np.where(group >= 0, shares[np.maximum(group, 0), 0], 0.0)
    p_room = np.where(group >= 0, shares[np.maximum(group, 0), 1], 0.0)
    colocation = private & (u < p_coloc)
    chambre = private & (u >= p_coloc) & (u < p_coloc + p_room)
    return colocation, chambre
