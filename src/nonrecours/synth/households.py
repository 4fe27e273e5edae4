"""Households, persons and their units, drawn in bulk with NumPy (no loop per person).

A chunk of households is drawn at once: household type, composition, ages, sexes, nationality, commune,
housing. Persons are then laid out with ``np.repeat`` so every per-person attribute is a vector.
The shares below are the generator's stated targets; ``tests/synth`` checks the output against them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "ADULT_CHILD",
    "CHILD_COUNT_SHARES",
    "COUPLE_KIND_SHARES",
    "ELDERLY_PARENT",
    "HOUSEHOLD_SHARES",
    "HOUSEHOLD_TYPES",
    "HouseholdChunk",
    "PersonKind",
    "draw_households",
    "take_households",
]

HOUSEHOLD_TYPES: tuple[str, ...] = (
    "single",              # one adult under 65, alone
    "single_pensioner",    # one adult 65 or older, alone
    "couple",              # couple under 65 without children
    "couple_pensioners",   # couple, the reference person 65 or older
    "couple_children",     # couple with 1 to 4 children
    "lone_parent",         # one adult with 1 to 3 children
    "multi_family",        # a main family plus a second CAF family in the same dwelling
)
HOUSEHOLD_SHARES: tuple[float, ...] = (0.17, 0.20, 0.11, 0.15, 0.19, 0.09, 0.09)
"""Targets close to the Lot's household structure (older than France: many pensioners alone)."""

CHILD_COUNT_SHARES: dict[str, tuple[float, ...]] = {
    "couple_children": (0.42, 0.40, 0.14, 0.04),   # 1, 2, 3, 4 children
    "lone_parent": (0.55, 0.33, 0.12),              # 1, 2, 3 children
    "multi_family": (0.55, 0.30, 0.15),             # 0, 1, 2 children in the main family
}
COUPLE_KIND_SHARES: dict[str, float] = {"married": 0.55, "pacs": 0.20, "cohabiting": 0.25}

ADULT_CHILD, ELDERLY_PARENT = 1, 2
"""Kinds of second family in a ``multi_family`` dwelling."""


class PersonKind:
    ADULT1, ADULT2, CHILD, SECOND = 0, 1, 2, 3


@dataclass(frozen=True)
class HouseholdChunk:
    """One chunk: household vectors (length H) and person vectors (length P)."""

    # households
    htype: np.ndarray          # index into HOUSEHOLD_TYPES
    n_adults: np.ndarray       # 1 or 2 in the main family
    n_children: np.ndarray
    second_kind: np.ndarray    # 0 none, ADULT_CHILD, ELDERLY_PARENT
    couple_kind: np.ndarray    # 0 married, 1 pacs, 2 cohabiting (meaningful when n_adults == 2)
    commune: np.ndarray        # index into the territory's communes
    # persons
    hh: np.ndarray             # household index of each person
    kind: np.ndarray           # PersonKind
    age: np.ndarray            # whole years on the first day of the end month
    female: np.ndarray

    @property
    def n_households(self) -> int:
        return int(self.htype.shape[0])

    @property
    def n_persons(self) -> int:
        return int(self.hh.shape[0])


def _ints(rng: np.random.Generator, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Uniform integers in [low, high] element-wise (high >= low assumed, clipped otherwise)."""
    high = np.maximum(high, low)
    return (low + np.floor(rng.random(low.shape[0]) * (high - low + 1))).astype(np.int64)


def draw_households(rng: np.random.Generator, n: int, commune_weights: np.ndarray) -> HouseholdChunk:
    """Draw ``n`` households and lay their members out as person vectors."""
    htype = rng.choice(len(HOUSEHOLD_TYPES), size=n, p=HOUSEHOLD_SHARES)
    t = {name: htype == i for i, name in enumerate(HOUSEHOLD_TYPES)}

    n_adults = np.where(t["single"] | t["single_pensioner"] | t["lone_parent"], 1, 2)
    multi_couple = rng.random(n) < 0.6
    n_adults = np.where(t["multi_family"], np.where(multi_couple, 2, 1), n_adults)

    n_children = np.zeros(n, dtype=np.int64)
    for name, start in (("couple_children", 1), ("lone_parent", 1), ("multi_family", 0)):
        shares = CHILD_COUNT_SHARES[name]
        draw = rng.choice(len(shares), size=n, p=shares) + start
        n_children = np.where(t[name], draw, n_children)

    couple_kind = rng.choice(3, size=n, p=list(COUPLE_KIND_SHARES.values()))
    commune = rng.choice(commune_weights.shape[0], size=n, p=commune_weights)

    # Reference adult's age by household type.
    age1 = np.select(
        [t["single"], t["single_pensioner"], t["couple"], t["couple_pensioners"],
         t["couple_children"], t["lone_parent"], t["multi_family"]],
        [_ints(rng, np.full(n, 18), np.full(n, 64)),
         np.minimum(65 + rng.gamma(2.0, 6.5, n).astype(np.int64), 101),
         _ints(rng, np.full(n, 21), np.full(n, 64)),
         np.minimum(65 + rng.gamma(2.0, 5.0, n).astype(np.int64), 98),
         np.clip(np.rint(rng.normal(41, 8, n)).astype(np.int64), 21, 62),
         np.clip(np.rint(rng.normal(40, 8, n)).astype(np.int64), 18, 62),
         _ints(rng, np.full(n, 30), np.full(n, 70))],
    )
    # Young singles are more often in their twenties; keep the age pyramid realistic.
    young = t["single"] & (rng.random(n) < 0.35)
    age1 = np.where(young, _ints(rng, np.full(n, 18), np.full(n, 30)), age1)
    age2 = np.clip(age1 + np.rint(rng.normal(-2, 3, n)).astype(np.int64), 18, 101)
    age2 = np.where(t["couple_pensioners"], np.maximum(age2, 60), age2)
    age2 = np.where(t["couple"], np.minimum(age2, 66), age2)
    min_parent = np.where(n_adults == 2, np.minimum(age1, age2), age1)
    max_parent = np.where(n_adults == 2, np.maximum(age1, age2), age1)

    second_kind = np.where(
        t["multi_family"], np.where(min_parent >= 40, ADULT_CHILD, ELDERLY_PARENT), 0
    )

    size = n_adults + n_children + (second_kind > 0)
    hh = np.repeat(np.arange(n), size)
    starts = np.cumsum(size) - size
    pos = np.arange(hh.shape[0]) - np.repeat(starts, size)
    na, nc = n_adults[hh], n_children[hh]
    kind = np.where(pos == 0, PersonKind.ADULT1,
                    np.where(pos < na, PersonKind.ADULT2,
                             np.where(pos < na + nc, PersonKind.CHILD, PersonKind.SECOND)))

    p = hh.shape[0]
    mp, xp = min_parent[hh], max_parent[hh]
    child_age = _ints(rng, np.zeros(p, dtype=np.int64), np.minimum(24, mp - 18))
    adult_child_age = _ints(rng, np.full(p, 20), np.minimum(34, mp - 18))
    elderly_age = _ints(rng, np.maximum(70, xp + 18), np.minimum(101, np.maximum(70, xp + 18) + 15))
    second_age = np.where(second_kind[hh] == ADULT_CHILD, adult_child_age, elderly_age)
    age = np.select(
        [kind == PersonKind.ADULT1, kind == PersonKind.ADULT2, kind == PersonKind.CHILD],
        [age1[hh], age2[hh], child_age],
        second_age,
    )

    # Sexes: lone parents mostly women; couples mostly mixed; elderly parents mostly women.
    female1 = np.where(t["lone_parent"][hh], rng.random(p) < 0.84,
                       np.where(t["single_pensioner"][hh], rng.random(p) < 0.68, rng.random(p) < 0.5))
    same_sex = rng.random(n) < 0.03
    female = np.where(kind == PersonKind.ADULT1, female1, rng.random(p) < 0.5)
    a1_female = np.zeros(n, dtype=bool)
    a1_female[hh[kind == PersonKind.ADULT1]] = female[kind == PersonKind.ADULT1]
    female = np.where(kind == PersonKind.ADULT2,
                      np.where(same_sex[hh], a1_female[hh], ~a1_female[hh]), female)
    female = np.where((kind == PersonKind.SECOND) & (second_kind[hh] == ELDERLY_PARENT),
                      rng.random(p) < 0.72, female)

    return HouseholdChunk(
        htype=htype, n_adults=n_adults, n_children=n_children, second_kind=second_kind,
        couple_kind=couple_kind, commune=commune, hh=hh, kind=kind, age=age.astype(np.int64),
        female=female.astype(bool),
    )


def take_households(chunk: HouseholdChunk, keep: np.ndarray) -> HouseholdChunk:
    """The sub-chunk of the households at positions ``keep`` (sorted), persons re-laid accordingly."""
    keep = np.sort(keep)
    new_index = np.full(chunk.n_households, -1, dtype=np.int64)
    new_index[keep] = np.arange(keep.shape[0])
    mask = new_index[chunk.hh] >= 0
    return HouseholdChunk(
        htype=chunk.htype[keep], n_adults=chunk.n_adults[keep], n_children=chunk.n_children[keep],
        second_kind=chunk.second_kind[keep], couple_kind=chunk.couple_kind[keep],
        commune=chunk.commune[keep], hh=new_index[chunk.hh[mask]], kind=chunk.kind[mask],
        age=chunk.age[mask], female=chunk.female[mask],
    )
